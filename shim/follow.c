/* follow.c: see follow.h. */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
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
#include "muxrec.h"
#include "real.h"
#include "sock.h"

/* A master that keeps dying under us: give up after this many. */
#define REPLAYS_MAX 3
/* Bytes read at a time when dropping replies the client has already seen;
 * holds a whole MUXREC_PARTIAL_MAX. */
#define DROP_CHUNK 512

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
    int replays;
    struct muxrec rec;
} followed;

int muxfix_follow_fd = -1;

#define MS_PER_S 1000
#define US_PER_MS 1000L

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
 * or an interrupted call has it, or when FD is no longer the socket that was
 * followed (ssh closed it and the number was reused). */
static bool claim(int fd)
{
    if (__atomic_exchange_n(&followed.busy, 1, __ATOMIC_ACQUIRE) != 0) {
        /* Another thread or an interrupted call has it: this call goes
         * through unrecorded, so the record no longer matches the stream. */
        stop_following();
        return false;
    }
    struct stat sb;
    int saved = errno;
    bool same = follow_wants(fd) && fstat(fd, &sb) == 0 &&
                sb.st_dev == followed.dev && sb.st_ino == followed.ino;
    errno = saved;
    if (!same) {
        if (follow_wants(fd))
            stop_following();
        release();
    }
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
                  const char *path, follow_reconnect_fn *reconnect)
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
        followed.replays = 0;
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

/* Send (OUT) or receive all N bytes at P on FD. */
static bool transfer_all(int fd, unsigned char *p, size_t n, bool out)
{
    while (n > 0) {
        ssize_t k = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool send_fd(int sock, const struct muxrec_fd *pf)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    unsigned char byte = pf->byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf};
    memset(&ctl, 0, sizeof ctl);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pf->fd, sizeof(int));
    ssize_t w;
    do
        w = real_sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == 1;
}

/* Send what the client sent in sent[FROM, TO), descriptors where they
 * went. */
static bool resend(int sock, size_t from, size_t to)
{
    struct muxrec *rec = &followed.rec;
    size_t at = from;
    for (unsigned i = 0; i < rec->nfds; i++) {
        if (rec->fds[i].at < from || rec->fds[i].at > to)
            continue;
        if (!transfer_all(sock, rec->sent + at, rec->fds[i].at - at, true) ||
            !send_fd(sock, &rec->fds[i]))
            return false;
        at = rec->fds[i].at;
    }
    return transfer_all(sock, rec->sent + at, to - at, true);
}

/* Read and drop the replies the client has already read from the old
 * master, and check the one it is in the middle of starts the same. */
static bool drop_seen_replies(int sock)
{
    const struct muxrec *rec = &followed.rec;
    unsigned char buf[DROP_CHUNK];
    for (unsigned i = 0; i < rec->replies; i++) {
        if (!transfer_all(sock, buf, MUXREC_LEN_SIZE, false))
            return false;
        uint32_t len = muxrec_be32(buf);
        if (!muxrec_seen_reply_len_ok(len))
            return false;
        for (size_t left = len; left > 0;) {
            size_t take = left < sizeof buf ? left : sizeof buf;
            if (!transfer_all(sock, buf, take, false))
                return false;
            left -= take;
        }
    }
    size_t part = rec->part_len;
    if (part == 0)
        return true;
    return part <= MUXREC_PARTIAL_MAX && transfer_all(sock, buf, part, false) &&
           muxrec_partial_matches(rec, buf, part);
}

static void set_timeouts(int sock, int ms)
{
    struct timeval tv = {.tv_sec = ms / MS_PER_S,
                         .tv_usec = (ms % MS_PER_S) * US_PER_MS};
    (void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Put SOCK, connected to the new master and brought to where the client
 * was, in place of FD with FD's flags. */
static bool take_place(int sock, int fd)
{
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    struct stat sb;

    set_timeouts(sock, 0);
    if (fl < 0 || fdfl < 0 || fcntl(sock, F_SETFL, fl) != 0 ||
        fstat(sock, &sb) != 0 ||
        dup3(sock, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
        return false;
    followed.dev = sb.st_dev;
    followed.ino = sb.st_ino;
    return true;
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

/* FD's master went away: connect to the one at the path now (or the one
 * being started), replay, and put that connection in FD's place. */
static bool replay(int fd)
{
    const struct muxfix_config *cfg = config_get();
    int ms = cfg != NULL && cfg->timeout_ms > 0 ? cfg->timeout_ms
                                                : MUXFIX_DEFAULT_TIMEOUT_MS;
    const struct sockaddr *addr = (const struct sockaddr *)&followed.addr;
    const struct muxrec *rec = &followed.rec;
    size_t split = muxrec_session_start(rec);

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
        int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
            return false;
        /* A listener with a full backlog would block connect() for good. */
        set_timeouts(sock, ms);
        int ret = real_connect(sock, addr, followed.addrlen);
        if (followed.reconnect(sock, addr, followed.addrlen, ret) != 0 ||
            !master_is_ours(sock)) {
            close(sock);
            return false;
        }
        set_timeouts(sock, ms);
        /* Two steps: the requests before the session, and their replies,
         * then the session request and its descriptors. A master that got
         * those may have opened the session: they go to one new master at
         * most, and only once it has answered everything before them. */
        bool ready = resend(sock, 0, split) && drop_seen_replies(sock);
        bool placed = ready && resend(sock, split, rec->sent_len) &&
                      take_place(sock, fd);
        close(sock);
        if (!placed && ready && rec->session_req >= 0)
            return false;
        if (placed) {
            log_msg(MUXFIX_LOG_REPAIR,
                       "the master of %s went away during the mux handshake; "
                       "replayed %u request(s) to the master there now",
                       followed.path, rec->requests);
            return true;
        }
    }
    return false;
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
            break;
        }
        if (r == 0 || n == 0 || !peer_went_away(errno))
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

/* The client passed descriptor PASSED with the byte at BYTE: record it. */
static void note_fd(int passed, const void *byte)
{
    unsigned char b;
    if (!copy_from_caller(&b, byte, 1))
        stop_following();
    else if (!muxrec_fd_passed(&followed.rec, passed, b))
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

ssize_t follow_read(int fd, void *buf, size_t n)
{
    if (!claim(fd))
        return real_read(fd, buf, n);
    int entry = errno;
    ssize_t r;
    for (;;) {
        r = real_read(fd, buf, n);
        if (r > 0) {
            if (muxrec_reply(&followed.rec, buf, (size_t)r) ==
                MUXREC_SESSION_ANSWERED)
                stop_following();
            break;
        }
        if (n == 0 || (r < 0 && !peer_went_away(errno)))
            break;
        /* End of file or reset: plain ssh says "master hello exchange
         * failed", "master alive request failed" or "read from master
         * failed" and opens a connection of its own. */
        int err = errno;
        if (connection_gone(fd))
            continue;
        stop_following();
        errno = err;
        break;
    }
    return finish(r, r > 0, entry);
}
