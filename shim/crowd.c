/* crowd.c: see crowd.h. */
#include "crowd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intent.h"
#include "log.h"
#include "publish.h"
#include "real.h"
#include "reap.h"
#include "sock.h"
#include "sockpath.h"
#include "trust.h"
#include "util.h"

/* How often a waiter looks for the master's socket and the lock. */
#define WAIT_POLL_MS 10
#define LOCK_SUFFIX MUXFIX_LOCK_NAME

/* The lock this process holds as the would-be master (ssh makes one master
 * at most), identified by inode so a recycled fd number is never touched.
 * Shared state (state.h): FD is the claim; the rest is written before FD is
 * published and read after it is seen. */
static struct {
    int fd; /* atomic: -1, or the held lock */
    dev_t dev;
    ino_t ino;
    char path[MUXFIX_SOCK_PATH_BUF];
} held = {.fd = -1};

/* Open the lock file of PATH in its trusted directory. Only the would-be
 * master (CREATE) creates it, and a missing directory first: an ssh that
 * never becomes a master (-O check, ControlMaster=no) leaves no file
 * behind, and finding none it knows nobody is becoming the master. */
static int open_lock(const char *path, bool create)
{
    struct ctl_dir dir;
    char name[MUXFIX_SOCK_PATH_BUF + sizeof LOCK_SUFFIX + 1];
    struct stat st;

    if (!trust_open_dir(path, &dir)) {
        if (!create || !trust_create_missing_dir(path) ||
            !trust_open_dir(path, &dir))
            return -1;
    }
    /* NAME is sized for the longest base: never truncated. */
    (void)snprintf(name, sizeof name, ".%s%s", dir.base, LOCK_SUFFIX);
    int fd = openat(dir.fd, name,
                    O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC |
                        O_NONBLOCK | O_NOCTTY,
                    S_IRUSR | S_IWUSR);
    ctl_dir_close(&dir);
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
                    st.st_uid != geteuid() || st.st_nlink != 1 ||
                    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)) {
        /* Another user made a file of that name first (in a sticky
         * directory he can): the crowd goes without its lock, as plain ssh
         * would. */
        log_msg(MUXFIX_LOG_REPAIR,
                   "cannot use the lock file %s/%s: it is not a private file "
                   "of yours; many ssh at once may each log in", dir.path, name);
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Let go of a lock file. flock() locks belong to the open file description:
 * if another thread forked while we held it, the child shares it and a
 * plain close() would leave the crowd waiting on that child. */
static void drop_lock(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

static void hold_lock(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    int expected = -1;
    if (__atomic_load_n(&held.fd, __ATOMIC_ACQUIRE) != -1) {
        drop_lock(fd); /* another thread became the would-be master */
        return;
    }
    held.dev = st.st_dev;
    held.ino = st.st_ino;
    strcpy(held.path, path);
    if (!__atomic_compare_exchange_n(&held.fd, &expected, fd, false,
                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        drop_lock(fd);
}

static bool holding(void)
{
    return __atomic_load_n(&held.fd, __ATOMIC_ACQUIRE) >= 0;
}

void crowd_release(const char *path)
{
    struct stat st;
    int saved = errno;

    int fd = __atomic_load_n(&held.fd, __ATOMIC_ACQUIRE);
    if (fd < 0 || strcmp(held.path, path) != 0 ||
        !__atomic_compare_exchange_n(&held.fd, &fd, -1, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    if (fstat(fd, &st) == 0 && st.st_dev == held.dev && st.st_ino == held.ino) {
        drop_lock(fd);
        log_msg(MUXFIX_LOG_DECISION, "released the master lock of %s", path);
    }
    errno = saved;
}

/* try_connect() found a listener of another user at the path. */
#define CONNECTED_FOREIGN (-2)

/* Connect FD to the master at PATH: 0 when connected to a master of ours;
 * -1 with errno when the connect failed; CONNECTED_FOREIGN, with FD reset
 * and errno ECONNREFUSED, when another user listens there: muxfix never
 * lets a client talk to a master of another uid. */
static int try_connect(int fd, const struct sockaddr *addr, socklen_t len,
                       const char *path)
{
    uid_t uid;

    if (sock_connect_nowait(fd, addr, len) != 0)
        return -1;
    if (sock_peer_is_ours(fd, &uid))
        return 0;
    publish_refuse_foreign(fd, path, (unsigned)uid);
    errno = ECONNREFUSED;
    return CONNECTED_FOREIGN;
}

/* We hold the lock: a master may have published since our ENOENT. */
static int as_lock_holder(int fd, int lockfd,
                          const struct sockaddr *addr, socklen_t len,
                          const char *path)
{
    int rc = try_connect(fd, addr, len, path);
    if (rc == 0 || rc == CONNECTED_FOREIGN) {
        drop_lock(lockfd);
        return rc == 0 ? 0 : -1;
    }
    if (intent_will_become_master()) {
        log_msg(MUXFIX_LOG_DECISION,
                   "no master at %s: this ssh becomes it; others wait", path);
        hold_lock(lockfd, path);
    } else {
        drop_lock(lockfd);
    }
    errno = ENOENT;
    return -1;
}

/* Wait until LOCKFD's lock is free (whoever held it published a master, or
 * gave up, or died). True if it came free before the deadline; the lock is
 * then released again at once. */
static bool wait_for_lock(int lockfd, int wait_ms)
{
    long deadline = util_now_ms() + wait_ms;
    while (util_now_ms() < deadline) {
        util_pause_ms(WAIT_POLL_MS);
        if (flock(lockfd, LOCK_EX | LOCK_NB) == 0) {
            flock(lockfd, LOCK_UN);
            return true;
        }
    }
    return false;
}

int crowd_wedged(const struct muxfix_config *cfg, int fd,
                 const struct sockaddr *addr, socklen_t len, const char *path)
{
    int lockfd = cfg->wait_ms == 0 || holding() ? -1 : open_lock(path, false);
    if (lockfd < 0 && cfg->wait_ms != 0 && !holding() &&
        intent_will_become_master())
        lockfd = open_lock(path, true);
    if (lockfd < 0) {
        errno = ECONNREFUSED;
        return -1;
    }
    if (flock(lockfd, LOCK_EX | LOCK_NB) == 0) {
        /* We report the wedged master refused; an ssh with ControlMaster=auto
         * then unlinks its socket and becomes the master: others wait. */
        if (intent_will_become_master())
            hold_lock(lockfd, path);
        else
            drop_lock(lockfd);
        errno = ECONNREFUSED;
        return -1;
    }
    log_msg(MUXFIX_LOG_DECISION,
               "another ssh is replacing the wedged master of %s; waiting", path);
    bool freed = wait_for_lock(lockfd, cfg->wait_ms);
    drop_lock(lockfd);
    if (!freed) {
        errno = ECONNREFUSED;
        return -1;
    }
    return try_connect(fd, addr, len, path) == 0 ? 0 : -1;
}

int crowd_no_master(const struct muxfix_config *cfg, int fd,
                    const struct sockaddr *addr, socklen_t len,
                    const char *path)
{
    if (cfg->wait_ms == 0 || holding()) {
        errno = ENOENT;
        return -1;
    }
    int lockfd = open_lock(path, false);
    if (lockfd < 0 && intent_will_become_master())
        lockfd = open_lock(path, true);
    if (lockfd < 0) {
        errno = ENOENT;
        return -1;
    }
    if (flock(lockfd, LOCK_EX | LOCK_NB) == 0)
        return as_lock_holder(fd, lockfd, addr, len, path);

    log_msg(MUXFIX_LOG_DECISION,
               "another ssh is becoming the master of %s; waiting", path);
    long deadline = util_now_ms() + cfg->wait_ms;
    while (util_now_ms() < deadline) {
        util_pause_ms(WAIT_POLL_MS);
        int rc = try_connect(fd, addr, len, path);
        if (rc == CONNECTED_FOREIGN) {
            drop_lock(lockfd);
            return -1;
        }
        if (rc == 0) {
            drop_lock(lockfd);
            /* "attached" is said once the master accepted the session
             * (follow.c): the server may still refuse it. */
            log_msg(MUXFIX_LOG_DECISION,
                       "waited for the new master at %s; connected to it",
                       path);
            return 0;
        }
        if (errno == ECONNREFUSED)
            (void)reap_dead_socket(path, "left by a master that died");
        if (flock(lockfd, LOCK_EX | LOCK_NB) == 0)
            return as_lock_holder(fd, lockfd, addr, len, path);
    }
    drop_lock(lockfd);
    log_msg(MUXFIX_LOG_REPAIR,
               "no master appeared at %s within %d ms; going on without it",
               path, cfg->wait_ms);
    errno = ENOENT;
    return -1;
}
