/* follow.c: see follow.h. */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockpath.h"
#include "config.h"
#include "trust.h"
#include "log.h"
#include "muxio.h"
#include "muxrec.h"
#include "real.h"
#include "sock.h"
#include "stall.h"
#include "util.h"

/* A master that keeps dying under us: give up after this many. */
#define REPLAYS_MAX 3
/* A refused session is asked for again after a pause that starts here and
 * doubles up to the maximum, each drawn at random between half and all of
 * it so that a crowd of waiters spreads out. A short command holds its slot
 * for tens of milliseconds (README, "Many ssh at once"). */
#define SLOT_PAUSE_MIN_MS 10
#define SLOT_PAUSE_MAX_MS 250
/* Knuth's multiplicative hash constant: spreads consecutive pids over the
 * pause's range. */
#define JITTER_MIX 2654435761U
/* Enough of a reply to judge the answer to a session request: a refusal is
 * 44 bytes. */
#define ANSWER_PEEK_MAX 64

/* The one connection being followed: the socket it is (to notice the number
 * reused), where it went, and the record of its handshake. */
static struct {
    int busy; /* claimed by the call working on it (atomic) */
    dev_t dev;
    ino_t ino;
    struct sockaddr_un addr;
    socklen_t addrlen;
    char path[MUXFIX_SOCK_PATH_BUF];
    follow_reconnect_fn *reconnect;
    bool broken; /* no master to go to: ssh is to fall back */
    bool after_wait; /* connected once a master being started was up */
    int replays;
    int slot_retries; /* the session asked for again after a refusal */
    long slot_pause; /* the next pause before asking again (ms) */
    long slot_wait_from; /* when the first refusal was seen (ms) */
    long session_sent_at; /* when the session request went whole (ms) */
    long reply_deadline_at; /* when that wait ends (ms), -1: never */
    long reply_wait_from; /* when the client began to wait for the reply it
                             waits for (ms), -1 when it is not waiting */
    struct muxrec rec;
} followed;

int muxfix_follow_fd = -1;


static void stop_following(void)
{
    __atomic_store_n(&muxfix_follow_fd, -1, __ATOMIC_RELAXED);
}

/* The record says the exchange is no longer replayable: stop, and say why. */
static void stop_recording(void)
{
    const struct muxrec *rec = &followed.rec;
    const struct muxrec_type *t = muxrec_type_of(rec->stop_type);

    stop_following();
    if (rec->stop == MUXREC_NOT_REPLAYED || rec->stop == MUXREC_AFTER_SESSION ||
        rec->stop == MUXREC_NOT_HELLO)
        log_msg(MUXFIX_LOG_DECISION,
                   "not following the mux client of %s: %s (%s, 0x%08x)",
                   followed.path, muxrec_stop_reason(rec->stop),
                   t != NULL ? t->name : "unknown type", rec->stop_type);
    else
        log_msg(MUXFIX_LOG_DECISION, "not following the mux client of %s: %s",
                   followed.path, muxrec_stop_reason(rec->stop));
}

static void release(void)
{
    __atomic_store_n(&followed.busy, 0, __ATOMIC_RELEASE);
}

/* Take the state for a call on FD: false (pass through) while another thread
 * or an interrupted call has it. Whether FD is still the socket that was
 * followed (ssh may have closed it and had the number reused) is asked only
 * where the answer changes what the caller sees: still_followed(). */
static bool claim(int fd)
{
    if (__atomic_exchange_n(&followed.busy, 1, __ATOMIC_ACQUIRE) != 0) {
        /* Another thread or an interrupted call has it: this call goes
         * through unrecorded, so the record no longer matches the stream. */
        stop_following();
        return false;
    }
    if (!follow_wants(fd)) {
        release();
        return false;
    }
    return true;
}

/* Is FD still the socket that was followed? Asked, with an fstat, before
 * the library acts on a broken connection (replays it, or reports a failed
 * write as done): what was recorded from a descriptor number reused since
 * is never acted on. A call that finds it is not stops the following and
 * returns the real result. Keeps errno. */
static bool still_followed(int fd)
{
    struct stat sb;
    int saved = errno;
    bool same = fstat(fd, &sb) == 0 && sb.st_dev == followed.dev &&
                sb.st_ino == followed.ino;
    errno = saved;
    if (!same)
        stop_following();
    return same;
}

/* End a call on the followed descriptor: RET to the caller, with errno
 * ENTRY (what it was on entry) when the call is to look successful. */
static ssize_t finish(ssize_t ret, bool success, int entry)
{
    int saved = success ? entry : errno;
    release();
    errno = saved;
    return ret;
}

void follow_start(int fd, const struct sockaddr *addr, socklen_t len,
                  const char *path, follow_reconnect_fn *reconnect,
                  bool after_wait)
{
    const struct muxfix_config *cfg = config_get();
    struct stat sb;
    int type = 0;
    socklen_t tlen = sizeof type;

    if (cfg == NULL || !cfg->replay || reconnect == NULL ||
        len > sizeof followed.addr ||
        __atomic_exchange_n(&followed.busy, 1, __ATOMIC_ACQUIRE) != 0)
        return;
    stop_following();
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
        type == SOCK_STREAM && fstat(fd, &sb) == 0) {
        followed.dev = sb.st_dev;
        followed.ino = sb.st_ino;
        memset(&followed.addr, 0, sizeof followed.addr);
        memcpy(&followed.addr, addr, len);
        followed.addrlen = len;
        strcpy(followed.path, path);
        followed.reconnect = reconnect;
        followed.broken = false;
        followed.after_wait = after_wait;
        followed.replays = 0;
        followed.slot_retries = 0;
        followed.slot_pause = SLOT_PAUSE_MIN_MS;
        followed.slot_wait_from = -1;
        followed.session_sent_at = -1;
        followed.reply_wait_from = -1;
        followed.reply_deadline_at = -1;
        muxrec_init(&followed.rec);
        __atomic_store_n(&muxfix_follow_fd, fd, __ATOMIC_RELAXED);
    }
    release();
}

/* The errors of a connection whose other end went away. */
static bool peer_went_away(int err)
{
    return err == EPIPE || err == ECONNRESET || err == ENOTCONN;
}

/* Read N bytes of the caller's BUF without trusting it: the kernel may have
 * refused the call before looking at the memory. */
static bool copy_from_caller(void *dst, const void *buf, size_t n)
{
    struct iovec local = {.iov_base = dst, .iov_len = n};
    struct iovec remote = {.iov_len = n};
    memcpy(&remote.iov_base, &buf, sizeof buf); /* const is dropped: only read */
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* The write of BUF (N bytes) failed because the master went away: is what
 * the client was sending part of a replayable exchange? */
static bool failed_write_replayable(const void *buf, size_t n)
{
    unsigned char hdr[MUXREC_HDR_SIZE];
    bool have = n >= sizeof hdr && copy_from_caller(hdr, buf, sizeof hdr);
    return muxrec_failed_write_replayable(&followed.rec, have ? hdr : NULL, n);
}

/* What the client sent, its descriptors included, goes only to a master of
 * ours (the reconnect checks it too: sock.h) in a directory nobody else can
 * change. */
static bool master_is_ours(int sock)
{
    uid_t uid;
    return sock_peer_is_ours(sock, &uid);
}

static bool dir_is_trusted(void)
{
    struct ctl_dir dir;
    if (!trust_open_dir(followed.path, &dir))
        return false;
    ctl_dir_close(&dir);
    return true;
}

/* Put SOCK in place of FD: FD then is the new connection, with FDFL, FD's
 * descriptor flags. */
static bool take_place(int sock, int fd, int fdfl)
{
    struct stat sb;
    int rc;

    if (fstat(sock, &sb) != 0)
        return false;
    do
        rc = dup3(sock, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
    while (rc < 0 && (errno == EINTR || errno == EBUSY));
    if (rc < 0)
        return false;
    followed.dev = sb.st_dev;
    followed.ino = sb.st_ino;
    return true;
}

/* connect() SOCK, which has a send timeout of MS, to ADDR. A connect
 * that waits for room in a listener's backlog fails with EINTR when a
 * signal handler runs, SA_RESTART or not, leaving SOCK unconnected: it is
 * made again, with what is left of MS. */
static int connect_bounded(int sock, const struct sockaddr *addr,
                           socklen_t len, int ms)
{
    long deadline = util_now_ms() + ms;
    for (;;) {
        int ret = real_connect(sock, addr, len);
        long left = deadline - util_now_ms();
        if (ret == 0 || errno != EINTR || left <= 0)
            return ret;
        muxio_set_timeouts(sock, (int)left);
    }
}

enum replay_result {
    REPLAY_PLACED,    /* FD is a new connection the handshake was replayed on */
    REPLAY_NO_MASTER, /* no master of ours to connect to */
    REPLAY_FAILED,    /* the new master failed before the session request */
};

/* Connect to the master at the path now (or the one being started), replay
 * what the client sent up to its session request, read the replies it has
 * already seen, put the connection in FD's place and send the session
 * request and its descriptors on it. A session request reaches a new master
 * only once that master has answered everything before it, and is never
 * sent on a connection that is not in FD's place: if it fails on the way,
 * the client meets the broken connection at its next call. MS bounds each
 * send and receive. */
static enum replay_result replay_once(int fd, int ms)
{
    const struct sockaddr *addr = (const struct sockaddr *)&followed.addr;
    const struct muxrec *rec = &followed.rec;
    size_t split = muxrec_session_start(rec);
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || fl < 0 || fdfl < 0) {
        if (sock >= 0)
            close(sock);
        return REPLAY_NO_MASTER;
    }
    /* A listener with a full backlog would block connect() for good. */
    muxio_set_timeouts(sock, ms);
    int ret = connect_bounded(sock, addr, followed.addrlen, ms);
    if (followed.reconnect(sock, addr, followed.addrlen, ret) != 0 ||
        !master_is_ours(sock)) {
        close(sock);
        return REPLAY_NO_MASTER;
    }
    muxio_set_timeouts(sock, ms);
    if (!muxio_resend(sock, rec, 0, split) ||
        !muxio_drop_seen_replies(sock, rec) || !take_place(sock, fd, fdfl)) {
        close(sock);
        return REPLAY_FAILED;
    }
    (void)muxio_resend(sock, rec, split, rec->sent_len);
    muxio_set_timeouts(sock, 0);
    (void)fcntl(sock, F_SETFL, fl);
    close(sock);
    return REPLAY_PLACED;
}

/* FD's master went away: connect to the one at the path now (or the one
 * being started), replay, and put that connection in FD's place. */
static bool replay(int fd)
{
    const struct muxfix_config *cfg = config_get();
    int ms = cfg != NULL && cfg->timeout_ms > 0 ? cfg->timeout_ms
                                                : MUXFIX_DEFAULT_TIMEOUT_MS;
    const struct muxrec *rec = &followed.rec;

    if (!muxrec_may_replay(rec))
        return false;
    if (!dir_is_trusted()) {
        log_msg(MUXFIX_LOG_REPAIR,
                   "the master of %s went away during the mux handshake; not "
                   "replaying it: the directory is not trusted", followed.path);
        return false;
    }
    while (followed.replays < REPLAYS_MAX) {
        followed.replays++;
        switch (replay_once(fd, ms)) {
        case REPLAY_PLACED:
            log_msg(MUXFIX_LOG_REPAIR,
                       "the master of %s went away during the mux handshake; "
                       "replayed %u request(s) to the master there now",
                       followed.path, rec->requests);
            return true;
        case REPLAY_NO_MASTER:
            return false;
        case REPLAY_FAILED:
            break;
        }
    }
    return false;
}

/* A pause before asking for a session again: between half and all of
 * *PAUSE (which then doubles, up to SLOT_PAUSE_MAX_MS), and not past
 * DEADLINE. */
static void slot_pause(long *pause, long deadline)
{
    unsigned seed = (unsigned)getpid() * JITTER_MIX ^
                    (unsigned)util_now_ms() ^ (unsigned)followed.slot_retries;
    long ms = *pause / 2 + (long)(seed % (unsigned)(*pause / 2 + 1));
    long left = deadline - util_now_ms();
    util_pause_ms(ms < left ? ms : left);
    *pause = *pause * 2 < SLOT_PAUSE_MAX_MS ? *pause * 2 : SLOT_PAUSE_MAX_MS;
}

/* The answer at BUF (N bytes) to the session request on FD is not a
 * refused slot: say so when the client got here by waiting. */
static void note_answer(const unsigned char *buf, size_t n)
{
    bool opened = n >= MUXREC_HDR_SIZE &&
                  muxrec_be32(buf + MUXREC_LEN_SIZE) == MUX_S_SESSION_OPENED;
    long waited = followed.slot_wait_from < 0
                      ? 0 : util_now_ms() - followed.slot_wait_from;
    if (opened && followed.slot_retries > 0)
        log_msg(MUXFIX_LOG_REPAIR,
                "attached to the master at %s: a session slot came free after "
                "%ld ms (%d more request(s))", followed.path, waited,
                followed.slot_retries);
    else if (opened && followed.after_wait)
        log_msg(MUXFIX_LOG_REPAIR,
                "attached to the new master at %s: session accepted",
                followed.path);
    else if (opened)
        log_msg(MUXFIX_LOG_DECISION, "session accepted by the master at %s",
                followed.path);
    else if (followed.slot_retries > 0)
        log_msg(MUXFIX_LOG_REPAIR,
                "the master at %s answered the session request asked again "
                "with something other than a refused slot; ssh reads it",
                followed.path);
}

/* How long the master may take over the reply the client waits for: what
 * waits for the server gets MUXFIX_REPLY_TIMEOUT_MS, what the master
 * answers by itself MUXFIX_TIMEOUT_MS. -1: no bound. */
static long reply_budget_ms(void)
{
    const struct muxfix_config *cfg = config_get();
    if (cfg == NULL)
        return -1;
    int ms = muxrec_awaits_server(&followed.rec) ? cfg->reply_timeout_ms
                                                 : cfg->timeout_ms;
    return ms > 0 ? ms : -1;
}

/* The deadline of the wait for the reply the client waits for: set as its
 * first wait for it begins, moved on by master_stalled(). A signal that
 * ends one wait leaves it to the next. -1: no bound. */
static long reply_deadline(void)
{
    if (followed.reply_wait_from < 0) {
        long budget = reply_budget_ms();
        followed.reply_wait_from = util_now_ms();
        followed.reply_deadline_at =
            budget < 0 ? -1 : followed.reply_wait_from + budget;
    }
    return followed.reply_deadline_at;
}

/* The master at FD's other end has not answered by the deadline: true when
 * it was ended or told to stop (stall.h), and ssh is to go on without it;
 * otherwise the deadline is moved to the next one (-1: none). */
static bool master_stalled(int fd)
{
    const struct muxrec *rec = &followed.rec;
    long now = util_now_ms();
    long waited = now - followed.reply_wait_from;
    bool pending = rec->session_req >= 0 &&
                   rec->replies == (unsigned)rec->session_req;
    long since = followed.session_sent_at >= 0 ? now - followed.session_sent_at
                                               : waited;
    long budget = reply_budget_ms();

    switch (stall_handle(fd, followed.path, pending, (pid_t)rec->master_pid,
                         waited, since)) {
    case STALL_ENDED:
        return true;
    case STALL_ANSWERED:
    case STALL_PROGRESS:
        followed.reply_deadline_at = budget < 0 ? -1 : now + budget;
        return false;
    case STALL_UNSURE:
        break;
    }
    followed.reply_deadline_at = -1;
    return false;
}

enum wait_end {
    WAIT_READ,          /* ssh reads what is there */
    WAIT_SIGNAL,        /* a signal handler ran: ssh's read returns EINTR */
    WAIT_MASTER_ENDED,  /* the master stalled and was ended (or told to
                           stop): ssh is to go on without it */
};

/* The client waits for a reply and none is there: wait for it, at most
 * until its deadline. */
static enum wait_end await_reply(int fd)
{
    for (;;) {
        long deadline = reply_deadline();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long left = deadline < 0 ? -1 : deadline - util_now_ms();
        int rc = poll(&p, 1, deadline < 0 ? -1 : left > 0 ? (int)left : 0);
        if (rc < 0 && errno == EINTR)
            return WAIT_SIGNAL;
        if (rc != 0)
            return WAIT_READ; /* readable, closed, or poll failed: ssh's
                                 read sees */
        if (master_stalled(fd))
            return WAIT_MASTER_ENDED;
    }
}

/* The client is about to read the answer to its session request: look at
 * it first. When the server refused the session's channel (its
 * MaxSessions: every slot of the shared connection is taken), nothing ran;
 * the refusal is held back and the master asked again, on a new connection
 * that replays the handshake, after a growing pause, until it accepts or
 * MUXFIX_SLOT_WAIT_MS have passed. ssh then reads whatever answer is
 * there: an accepted session, or the last refusal (then it logs in by
 * itself, as it would have at once). No answer by MUXFIX_REPLY_TIMEOUT_MS:
 * the master is stalled (stall.h). A signal handler that runs while an
 * answer is waited for ends the wait as it ends ssh's own: WAIT_SIGNAL,
 * nothing read, and the next read goes on where this one was. */
static enum wait_end session_gate(int fd)
{
    const struct muxfix_config *cfg = config_get();
    int wait_ms = cfg != NULL ? cfg->slot_wait_ms : 0;
    int ms = cfg != NULL && cfg->timeout_ms > 0 ? cfg->timeout_ms
                                                : MUXFIX_DEFAULT_TIMEOUT_MS;
    unsigned char buf[ANSWER_PEEK_MAX];

    for (;;) {
        size_t got;
        enum muxio_peek pk =
            muxio_peek_packet(fd, buf, sizeof buf, &got, reply_deadline());
        if (pk == MUXIO_PEEK_TIMEOUT) {
            if (master_stalled(fd))
                return WAIT_MASTER_ENDED;
            continue;
        }
        if (pk == MUXIO_PEEK_SIGNAL)
            return WAIT_SIGNAL;
        if (pk != MUXIO_PEEK_WHOLE)
            return WAIT_READ; /* ssh meets what is there */
        if (muxrec_session_answer(&followed.rec, buf, got) !=
            MUXREC_ANSWER_SLOT_REFUSED) {
            note_answer(buf, got);
            return WAIT_READ;
        }
        long now = util_now_ms();
        if (followed.slot_wait_from < 0) {
            if (wait_ms == 0 || !dir_is_trusted())
                return WAIT_READ;
            followed.slot_wait_from = now;
            log_msg(MUXFIX_LOG_REPAIR,
                    "session refused by the server's MaxSessions (every "
                    "session of the master at %s is taken); waiting for a "
                    "slot, at most %d ms", followed.path, wait_ms);
        }
        long slot_deadline = followed.slot_wait_from + wait_ms;
        if (now >= slot_deadline) {
            log_msg(MUXFIX_LOG_REPAIR,
                    "no session slot came free at %s: gave up after %ld ms, "
                    "ssh logs in itself", followed.path,
                    now - followed.slot_wait_from);
            return WAIT_READ;
        }
        slot_pause(&followed.slot_pause, slot_deadline);
        followed.slot_retries++;
        if (replay_once(fd, ms) != REPLAY_PLACED) {
            log_msg(MUXFIX_LOG_REPAIR,
                    "the master at %s went away while a session slot was "
                    "waited for; ssh sees the refusal and logs in itself",
                    followed.path);
            return WAIT_READ;
        }
        /* A new request: its answer gets the whole reply timeout. */
        followed.reply_wait_from = -1;
        (void)reply_deadline();
        followed.session_sent_at = followed.reply_wait_from;
        log_msg(MUXFIX_LOG_DECISION,
                "asked the master at %s for a session again (%d), %ld ms "
                "after the first refusal", followed.path,
                followed.slot_retries,
                followed.session_sent_at - followed.slot_wait_from);
    }
}

/* The connection broke under a call that is part of a replayable exchange:
 * the one place that decides what happens then, for read, write and sendmsg
 * alike. True: it was replayed onto FD, retry the call. False: there is no
 * master to go on with (now or from an earlier call); ssh is to meet the
 * closed connection at its next read and fall back to a direct connection,
 * so the caller reports a write as done and a read as failed. */
static bool connection_gone(int fd)
{
    if (followed.broken)
        return false;
    if (replay(fd))
        return true;
    followed.broken = true;
    log_msg(MUXFIX_LOG_REPAIR,
               "the master of %s went away during the mux handshake and there "
               "is none to go on with; ssh opens its own connection",
               followed.path);
    return false;
}

ssize_t follow_write(int fd, const void *buf, size_t n)
{
    if (!claim(fd))
        return real_write(fd, buf, n);
    int entry = errno;
    ssize_t r;
    for (;;) {
        /* OpenSSH before 9.2 (seen: 8.9p1) ignores SIGPIPE only after its
         * mux client: a write to a master that died would kill it (exit
         * 141) before the replay could begin. The followed descriptor is
         * a connected socket: send() is write() without the signal. */
        r = send(fd, buf, n, MSG_NOSIGNAL);
        if (r > 0) {
            if (!followed.broken && !muxrec_sent(&followed.rec, buf, (size_t)r))
                stop_recording();
            else if (followed.rec.session_req >= 0 && followed.session_sent_at < 0)
                followed.session_sent_at = util_now_ms();
            break;
        }
        if (r == 0 || n == 0 || !peer_went_away(errno) || !still_followed(fd))
            break;
        int err = errno;
        if (!followed.broken && !failed_write_replayable(buf, n)) {
            stop_following();
            errno = err;
            break;
        }
        if (connection_gone(fd))
            continue;
        /* ssh 9.2 makes a failed write fatal ("write packet: Broken pipe",
         * exit 255) even where a failed read would fall back. */
        r = (ssize_t)n;
        errno = entry;
        break;
    }
    return finish(r, r >= 0, entry);
}

/* Is MSG (accepted by the kernel) one descriptor passed with one byte? */
static bool passes_one_fd(const struct msghdr *msg, int *fd, const void **byte)
{
    if (msg->msg_iovlen != 1 || msg->msg_iov[0].iov_len != 1 ||
        msg->msg_controllen < CMSG_LEN(sizeof(int)))
        return false;
    const struct cmsghdr *c = CMSG_FIRSTHDR(msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int)) ||
        CMSG_NXTHDR((struct msghdr *)msg, (struct cmsghdr *)c) != NULL)
        return false;
    memcpy(fd, CMSG_DATA(c), sizeof(int));
    *byte = msg->msg_iov[0].iov_base;
    return true;
}

/* The client passed descriptor PASSED with the byte at BYTE, which the
 * kernel has just read (sendmsg succeeded): record it. */
static void note_fd(int passed, const void *byte)
{
    if (!muxrec_fd_passed(&followed.rec, passed, *(const unsigned char *)byte))
        stop_recording();
}

ssize_t follow_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!claim(fd))
        return real_sendmsg(fd, msg, flags);
    int entry = errno;
    ssize_t r;
    for (;;) {
        r = real_sendmsg(fd, msg, flags | MSG_NOSIGNAL); /* as in follow_write */
        if (r < 0 && !peer_went_away(errno))
            break;
        /* The kernel read MSG (it got as far as the socket), and the
         * descriptor numbers in it. */
        int passed;
        const void *byte;
        if (!passes_one_fd(msg, &passed, &byte)) {
            stop_following();
            break;
        }
        if (r >= 0) {
            if (!followed.broken && r != 1)
                stop_following();
            else if (!followed.broken)
                note_fd(passed, byte);
            break;
        }
        if (!still_followed(fd))
            break;
        if (!followed.broken && !muxrec_fd_may_pass(&followed.rec)) {
            stop_following();
            break;
        }
        if (connection_gone(fd))
            continue;
        /* ssh 9.2: "mux_client_request_session: send fds failed", exit
         * 255. */
        r = 1;
        errno = entry;
        break;
    }
    return finish(r, r >= 0, entry);
}

/* The client's read on FD: the real read, and when nothing is there yet a
 * bounded wait for it. *ENDED: the master stalled and was ended (or told
 * to stop); nothing was read. -1 with EINTR: a signal handler ran during
 * the wait (as ssh's own wait, it reads again and the wait goes on). */
static ssize_t read_reply(int fd, void *buf, size_t n, bool *ended)
{
    for (;;) {
        ssize_t r = real_read(fd, buf, n);
        if (r > 0) {
            followed.reply_wait_from = -1;
            if (muxrec_reply(&followed.rec, buf, (size_t)r) ==
                MUXREC_SESSION_ANSWERED)
                stop_following();
            return r;
        }
        if (r < 0 && errno == EAGAIN && n > 0 && !followed.broken) {
            switch (await_reply(fd)) {
            case WAIT_READ:
                continue;
            case WAIT_SIGNAL:
                errno = EINTR;
                break;
            case WAIT_MASTER_ENDED:
                *ended = true;
                break;
            }
        }
        return r;
    }
}

ssize_t follow_read(int fd, void *buf, size_t n)
{
    if (!claim(fd))
        return real_read(fd, buf, n);
    int entry = errno;
    ssize_t r = -1;
    enum wait_end gate = WAIT_READ;
    if (!followed.broken && n > 0 &&
        muxrec_awaits_session_reply(&followed.rec))
        gate = session_gate(fd);
    if (gate == WAIT_SIGNAL) {
        /* ssh's own wait for the answer ends so too; it reads again, and
         * the wait for a slot goes on where it was. */
        errno = EINTR;
        return finish(-1, false, entry);
    }
    /* A master that stalled and was ended (or told to stop): the client
     * meets a closed connection, as if it had died. */
    bool ended = gate == WAIT_MASTER_ENDED;
    errno = entry;
    for (;;) {
        if (!ended)
            r = read_reply(fd, buf, n, &ended);
        if (r > 0)
            break;
        if (ended) {
            /* The stuck master may still hold its end: the client reads
             * nothing more from it. */
            (void)shutdown(fd, SHUT_RDWR);
            ended = false;
            followed.reply_wait_from = -1;
            r = 0;
        }
        if (n == 0 || (r < 0 && !peer_went_away(errno)))
            break;
        /* End of file or reset: plain ssh says "master hello exchange
         * failed", "master alive request failed" or "read from master
         * failed" and opens a connection of its own. */
        int err = errno;
        if (!still_followed(fd))
            break;
        if (connection_gone(fd))
            continue;
        stop_following();
        errno = err;
        break;
    }
    return finish(r, r > 0, entry);
}
