/* repair.c: see repair.h. */
#include "repair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "config.h"
#include "crowd.h"
#include "follow.h"
#include "gate.h"
#include "hello.h"
#include "keep.h"
#include "learn.h"
#include "log.h"
#include "publish.h"
#include "real.h"
#include "reap.h"
#include "sock.h"
#include "sshopts.h"
#include "trust.h"
#include "util.h"

/* Managed: it matches a pattern, or it is ssh's ControlPath learnt in this
 * process (learn.h). */
static bool is_managed(const struct muxfix_config *cfg, const char *path)
{
    return classify_path_is_managed(cfg, path) || learn_is_learnt(path);
}

/* MUXFIX_VERBOSE=2: say why a connect is looked at, so that a user can see
 * a path is managed on a healthy connection too. */
static void log_classified(const struct muxfix_config *cfg, const char *path,
                           int ret, int err)
{
    if (cfg->verbose < MUXFIX_LOG_DECISION)
        return;
    log_msg(MUXFIX_LOG_DECISION, "connect(%s): %s; managed (%s)", path,
            ret == 0 ? "connected" : strerror(err),
            classify_path_is_managed(cfg, path)
                ? (getenv("MUXFIX_PATH") != NULL ? "matches MUXFIX_PATH"
                                                 : "matches a default pattern")
                : "ssh's ControlPath, learnt in this process");
}

/* An ssh's control command (-O) whose master does not answer: the command
 * fails with a timeout (ssh: "Control socket connect(P): Connection timed
 * out", exit 255). Plain ssh 9.4+ with ConnectTimeout instead falls through
 * to a login and runs a shell on its stdin; before 9.4 it hangs. Anything
 * else gets "refused": ssh goes on directly, and with ControlMaster=auto it
 * unlinks the silent master's socket and becomes the master itself. */
static int wedged_errno(void)
{
    return sshopts_is_control_command() ? ETIMEDOUT : ECONNREFUSED;
}

/* A master that closes on us before its hello is going away; a new one (or
 * none, and a clean path) is usually a few milliseconds behind. */
#define HELLO_CLOSED_RETRIES 3
#define HELLO_CLOSED_PAUSE_MS 20

/* The connect to PATH failed with errno ECONNREFUSED or ENOENT: remove a
 * dead socket, retry, and if no master is there, see whether one is coming. */
static int connect_again(const struct muxfix_config *cfg, int fd,
                         const struct sockaddr *addr, socklen_t len,
                         const char *path, bool *waited)
{
    if (errno == ECONNREFUSED) {
        log_msg(MUXFIX_LOG_DECISION,
                   "connect(%s): connection refused; probing", path);
        /* Plain ssh with ControlMaster=no says "Control socket connect(P):
         * Connection refused" and leaves the file forever; -O check exits
         * 255. */
        if (!reap_dead_socket(path, "connect was refused")) {
            errno = ECONNREFUSED;
            return -1;
        }
        /* muxfix's own connects never block: a listener another user put
         * there with a full backlog would hold a blocking connect for good. */
        int ret = sock_connect_nowait(fd, addr, len);
        if (ret == 0 || errno != ENOENT)
            return ret;
    }
    if (errno != ENOENT)
        return -1;
    /* No socket: its live master's private name may still be there
     * (keep.h). */
    if (keep_restore(path)) {
        int ret = real_connect(fd, addr, len);
        if (ret == 0 || errno != ENOENT)
            return ret;
    }
    /* No master: if another ssh is becoming it, wait and attach instead of
     * opening one more connection (and losing the race to publish). */
    int ret = crowd_no_master(cfg, fd, addr, len, path);
    *waited = ret == 0;
    return ret;
}

/* The connect of FD to the managed PATH returned RET: repair what can be,
 * and check the master says hello. *WAITED: FD got its master by waiting
 * for another ssh to start it. *FOLLOW is cleared when FD was left for ssh
 * to find the master silent itself (HELLO_LEFT_TO_SSH). */
static int connect_managed(const struct muxfix_config *cfg, int fd,
                           const struct sockaddr *addr, socklen_t len,
                           const char *path, int ret, bool *waited,
                           bool *follow)
{
    bool was_wedged = false;
    for (int round = 0;; round++) {
        if (ret != 0 && (errno == ECONNREFUSED || errno == ENOENT))
            ret = connect_again(cfg, fd, addr, len, path, waited);
        if (ret != 0)
            return ret;
        /* Plain ssh talks to whoever listens at its ControlPath: in a
         * sticky /tmp another user can be there first, and would get the
         * command, its stdin, stdout and stderr. */
        uid_t uid;
        if (!sock_peer_is_ours(fd, &uid)) {
            publish_refuse_foreign(fd, path, (unsigned)uid);
            errno = ECONNREFUSED;
            return -1;
        }
        switch (hello_check(cfg, fd, path)) {
        case HELLO_OK:
            return 0;
        case HELLO_LEFT_TO_SSH:
            *follow = false;
            return 0;
        case HELLO_WEDGED:
            if (was_wedged) {
                errno = wedged_errno();
                return -1;
            }
            was_wedged = true;
            /* Every client of a stopped master times out at once; let one
             * replace it and the others attach to the replacement. */
            if (crowd_wedged(cfg, fd, addr, len, path) != 0) {
                if (errno == ECONNREFUSED)
                    errno = wedged_errno();
                return -1;
            }
            continue;
        case HELLO_CLOSED:
            break;
        }
        if (round == HELLO_CLOSED_RETRIES) {
            errno = ECONNREFUSED;
            return -1;
        }
        util_pause_ms(HELLO_CLOSED_PAUSE_MS);
        ret = sock_connect_nowait(fd, addr, len);
    }
}

/* A connect of FD to the managed ADDR returned RET: repair and check the
 * master; FOLLOW: follow the connection's handshake (follow.h). UNMANAGED
 * is what a path turns out not to be managed returns (in a process that
 * learns, gate_sockaddr() lets every Unix path through). */
__attribute__((noinline)) static int
connect_repair(const struct muxfix_config *cfg, int fd,
               const struct sockaddr *addr, socklen_t len, int ret, bool follow,
               int unmanaged)
{
    int saved = errno;
    char path[MUXFIX_SOCK_PATH_BUF];

    (void)classify_sockaddr_path(addr, len, path);
    /* In ssh, a refused or absent path may be its own ControlPath: learnt
     * only then, never on a healthy connect (learn.h). */
    if (cfg->learns && !is_managed(cfg, path) &&
        (ret == 0 || !learn_from_connect(cfg, fd, path))) {
        errno = saved;
        return unmanaged;
    }
    log_classified(cfg, path, ret, saved);
    errno = saved;
    bool waited = false;
    ret = connect_managed(cfg, fd, addr, len, path, ret, &waited, &follow);
    if (ret == 0 && follow) {
        follow_start(fd, addr, len, path, repair_reconnect, waited);
        errno = saved;
    }
    return ret;
}

/* A connect of FD to ADDR returned RET: when ADDR is managed, repair (as
 * above). UNMANAGED is what an unmanaged address returns. */
static int connect_checked(int fd, const struct sockaddr *addr, socklen_t len,
                           int ret, bool follow, int unmanaged)
{
    const struct muxfix_config *cfg = gate_sockaddr(addr, len);
    if (cfg == NULL)
        return unmanaged;
    return connect_repair(cfg, fd, addr, len, ret, follow, unmanaged);
}

int repair_after_connect(int fd, const struct sockaddr *addr, socklen_t len,
                         int ret)
{
    return connect_checked(fd, addr, len, ret, true, ret);
}

int repair_reconnect(int fd, const struct sockaddr *addr, socklen_t len,
                     int ret)
{
    return connect_checked(fd, addr, len, ret, false, -1);
}

/* The bind of FD to the managed ADDR failed (RET) with errno SAVED. */
__attribute__((noinline)) static int
bind_repair(const struct muxfix_config *cfg, int fd, const struct sockaddr *addr,
            socklen_t len, int ret, int saved)
{
    char path[MUXFIX_SOCK_PATH_BUF];
    bool retry = false;

    (void)classify_sockaddr_path(addr, len, path);
    if (cfg->learns && !is_managed(cfg, path) &&
        !learn_from_publish(cfg, NULL, path)) {
        errno = saved;
        return ret;
    }
    log_msg(MUXFIX_LOG_DECISION, "bind(%s): %s", path, strerror(saved));
    if (saved == EADDRINUSE)
        retry = reap_dead_socket(path, "bind found it in the way");
    else if (saved == ENOENT)
        /* Plain ssh: "unix_listener: cannot bind to path P: No such file or
         * directory", exit 255. */
        retry = trust_create_missing_dir(path);
    if (!retry) {
        errno = saved;
        return ret;
    }
    return real_bind(fd, addr, len);
}

int repair_after_bind(int fd, const struct sockaddr *addr, socklen_t len,
                      int ret)
{
    int saved = errno;

    const struct muxfix_config *cfg = gate_sockaddr(addr, len);
    if (cfg == NULL)
        return ret;
    return bind_repair(cfg, fd, addr, len, ret, saved);
}

int repair_after_link(const char *oldpath, const char *newpath, int ret)
{
    int saved = errno;
    /* Only a path that fits sun_path can be a control socket. */
    size_t n = strnlen(newpath, MUXFIX_SUN_PATH_SIZE);
    const struct muxfix_config *cfg =
        n < MUXFIX_SUN_PATH_SIZE ? gate_path(newpath, n) : NULL;

    if (cfg == NULL || (cfg->learns && !is_managed(cfg, newpath) &&
                        !learn_from_publish(cfg, oldpath, newpath))) {
        errno = saved;
        return ret;
    }
    if (ret != 0) {
        log_msg(MUXFIX_LOG_DECISION, "link(%s): file exists; probing",
                   newpath);
        /* Plain ssh: "ControlSocket P already exists, disabling
         * multiplexing". */
        if (reap_dead_socket(newpath, "it blocked a new master"))
            ret = real_link(oldpath, newpath);
        else
            errno = saved;
    }
    saved = errno;
    if (ret == 0) {
        publish_record(newpath);
        keep_publish(newpath);
    }
    crowd_release(newpath);
    errno = saved;
    return ret;
}
