/* stall.c: see stall.h. */
#include "stall.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "judge.h"
#include "keep.h"
#include "log.h"
#include "muxrec.h"
#include "peer.h"
#include "real.h"
#include "sock.h"
#include "sockpath.h"
#include "trust.h"
#include "util.h"

/* A SIGSTOP takes effect at once, SIGKILL within a scheduling round; a
 * process that takes longer is left as it is. */
#define STOP_WAIT_MS 1000
#define EXIT_WAIT_MS 2000
#define STATE_POLL_MS 2
/* Bound on the connection that tells the master to stop listening: it is
 * stuck, nothing is waited for. */
#define TELL_TIMEOUT_MS 200

static int pidfd_of(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static bool signal_pidfd(int pfd, int sig)
{
    return syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) == 0;
}

static bool wait_stopped(pid_t pid)
{
    long deadline = util_now_ms() + STOP_WAIT_MS;
    while (!peer_is_stopped(pid)) {
        if (util_now_ms() >= deadline)
            return false;
        util_pause_ms(STATE_POLL_MS);
    }
    return true;
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

/* Did the TCP connection of PID receive data in the last SINCE_MS? */
static bool server_spoke(pid_t pid, long since_ms)
{
    long quiet = peer_tcp_quiet_ms(pid);
    return quiet >= 0 && quiet < since_ms;
}

/* A session or stdio forwarding is pending on PID, the master (PFD its
 * pidfd): make sure it never runs, or find that it is under way. */
static enum stall_verdict end_master(int fd, const char *path, pid_t pid,
                                     int pfd, long waited_ms, long since_ms)
{
    bool was_stopped = peer_is_stopped(pid);
    if (!was_stopped && server_spoke(pid, since_ms)) {
        log_msg(MUXFIX_LOG_DECISION,
                "the master at %s (pid %d) has not answered the session "
                "request for %ld ms, but the server is sending to it: waiting "
                "on", path, (int)pid, waited_ms);
        return STALL_PROGRESS;
    }
    if (!was_stopped && (!signal_pidfd(pfd, SIGSTOP) || !wait_stopped(pid))) {
        (void)signal_pidfd(pfd, SIGCONT);
        return STALL_UNSURE;
    }
    /* Frozen: it can send nothing more. An answer that came meanwhile, or
     * data from the server since the request (the channel may be open),
     * and it goes on. */
    bool answered = readable(fd);
    if (answered || (!was_stopped && server_spoke(pid, since_ms))) {
        if (!was_stopped)
            (void)signal_pidfd(pfd, SIGCONT);
        return answered ? STALL_ANSWERED : STALL_PROGRESS;
    }
    if (!signal_pidfd(pfd, SIGKILL))
        return STALL_UNSURE;
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    (void)poll(&p, 1, EXIT_WAIT_MS);
    log_msg(MUXFIX_LOG_REPAIR,
            "the master at %s (pid %d) did not answer the session request "
            "within %ld ms %s; ended it so that the request can never run, "
            "and ssh goes on without it", path, (int)pid, waited_ms,
            was_stopped ? "(it is stopped)"
                        : "and its connection to the server received nothing "
                          "in that time (a stalled network or server)");
    return STALL_ENDED;
}

/* The mux protocol version a client's hello gives (PROTOCOL.mux). */
#define SSHMUX_VER 4
#define US_PER_MS 1000L

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    for (int i = MUXREC_LEN_SIZE - 1; i >= 0; i--, v >>= CHAR_BIT)
        p[i] = (unsigned char)v;
    return p + MUXREC_LEN_SIZE;
}

/* Ask the master at PATH to stop listening (ssh -O stop): a new connection,
 * a hello and MUX_C_STOP_LISTENING (request id 0), nothing read back. A
 * stopped master does it when it runs again. */
static void tell_stop(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    unsigned char msg[2 * (MUXREC_HDR_SIZE + MUXREC_LEN_SIZE)];
    unsigned char *p = msg;
    uid_t uid;

    if (strlen(path) >= sizeof sa.sun_path)
        return;
    strcpy(sa.sun_path, path);
    p = put32(put32(put32(p, MUXREC_HDR_SIZE), MUX_MSG_HELLO), SSHMUX_VER);
    (void)put32(put32(put32(p, MUXREC_HDR_SIZE), MUX_C_STOP_LISTENING), 0);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    struct timeval tv = {.tv_usec = TELL_TIMEOUT_MS * US_PER_MS};
    (void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (real_connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        sock_peer_is_ours(s, &uid))
        (void)send(s, msg, sizeof msg, MSG_NOSIGNAL);
    close(s);
}

/* Remove PATH's name if PID still listens there. */
static bool remove_name(const char *path, pid_t pid)
{
    struct ctl_dir dir;
    struct stat st;
    struct judge_verdict v = {.kind = VERDICT_UNKNOWN};

    if (!trust_open_dir(path, &dir))
        return false;
    if (fstatat(dir.fd, dir.base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISSOCK(st.st_mode) && peer_listens_at(pid, st.st_dev, st.st_ino))
        judge_remove_stuck(dir.fd, dir.base, &st, &v);
    ctl_dir_close(&dir);
    /* Its private name would only bring it back (keep.h). */
    if (v.kind == VERDICT_REMOVED)
        keep_drop(path, &st);
    return v.kind == VERDICT_REMOVED;
}

enum stall_verdict stall_handle(int fd, const char *path, bool pending,
                                pid_t pid_hint, long waited_ms, long since_ms)
{
    int saved = errno;
    unsigned long ino = peer_inode(fd);
    pid_t pid = peer_find_holder(ino, pid_hint);
    int pfd = pid > 0 ? pidfd_of(pid) : -1;
    enum stall_verdict verdict = STALL_UNSURE;

    /* The pidfd pins the process: checked again after it was opened, a pid
     * reused meanwhile is never signalled. */
    if (pfd >= 0 && !peer_holds(pid, ino)) {
        close(pfd);
        pfd = -1;
    }
    if (pfd < 0) {
        log_msg(MUXFIX_LOG_REPAIR,
                "the master at %s did not answer within %ld ms, and it cannot "
                "be found to make sure it runs nothing more; waiting on, as "
                "plain ssh does", path, waited_ms);
    } else if (pending) {
        verdict = end_master(fd, path, pid, pfd, waited_ms, since_ms);
    } else {
        tell_stop(path);
        bool removed = remove_name(path, pid);
        log_msg(MUXFIX_LOG_REPAIR,
                "the master at %s (pid %d%s) did not answer within %ld ms; "
                "told it to stop listening%s, and ssh goes on without it",
                path, (int)pid, peer_is_stopped(pid) ? ", stopped" : "",
                waited_ms, removed ? " and removed its socket" : "");
        verdict = STALL_ENDED;
    }
    if (pfd >= 0)
        close(pfd);
    errno = saved;
    return verdict;
}
