/* follow.c: see follow.h. */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "compat.h"
#include "config.h"
#include "trust.h"
#include "log.h"
#include "real.h"
#include "repair.h"

/* The mux message types (OpenSSH's PROTOCOL.mux) a replay may repeat. */
#define MUX_MSG_HELLO 0x00000001U
#define MUX_C_NEW_SESSION 0x10000002U
#define MUX_C_ALIVE_CHECK 0x10000004U
#define MUX_C_OPEN_FWD 0x10000006U
#define MUX_C_NEW_STDIO_FWD 0x10000008U

/* A packet is a big-endian u32 length, then that many bytes starting with a
 * u32 type. The client's hello carries its type and version: 8 bytes. */
#define LEN_SIZE 4
#define TYPE_END 8
#define HELLO_LEN 8

/* What a client writes before its session reply: a hello, an alive check,
 * its forwardings (a few dozen bytes each) and the session request with the
 * command and the environment it sends. A longer exchange is not followed. */
#define SENT_MAX 65536
/* ssh passes three descriptors with a session request, two with stdio
 * forwarding. */
#define FDS_MAX 4
/* The reply the client is in the middle of reading (it reads a length, then
 * the body) must start the same on the new master; the bytes kept to check
 * that. Replies before the session are a few dozen bytes. */
#define PARTIAL_MAX 256
/* A master that keeps dying under us: give up after this many. */
#define REPLAYS_MAX 3
/* Bytes read at a time when dropping replies the client has already seen. */
#define DROP_CHUNK 512

struct passed_fd {
    size_t at; /* offset in sent[] where it went: between two packets */
    int fd;
    unsigned char byte; /* the data byte that carried it */
};

static struct {
    int busy; /* claimed by the call working on it (atomic) */
    dev_t dev;
    ino_t ino;
    struct sockaddr_un addr;
    socklen_t addrlen;
    char path[MUXFIX_SOCK_PATH_BUF];
    bool broken; /* no master to go to: ssh is to fall back */
    int replays;
    size_t sent_len;
    size_t pkt_at;     /* where the packet being written starts */
    unsigned requests; /* packets written whole, the hello included */
    int session_req;   /* index of the session request; -1 before it */
    size_t session_at; /* its offset in sent[] */
    struct passed_fd fds[FDS_MAX];
    unsigned nfds;
    unsigned replies;  /* reply packets the client has read whole */
    size_t part_len;   /* bytes it has read of the next one */
    unsigned char part[PARTIAL_MAX];
    unsigned char sent[SENT_MAX];
} st;

int muxfix_follow_fd = -1;

#define MS_PER_S 1000
#define US_PER_MS 1000L

static uint32_t be32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < LEN_SIZE; i++)
        v = v << CHAR_BIT | p[i];
    return v;
}

static void stop_following(void)
{
    __atomic_store_n(&muxfix_follow_fd, -1, __ATOMIC_RELAXED);
}

static void release(void)
{
    __atomic_store_n(&st.busy, 0, __ATOMIC_RELEASE);
}

/* Take the state for a call on FD: false (pass through) while another thread
 * or an interrupted call has it, or when FD is no longer the socket that was
 * followed (ssh closed it and the number was reused). */
static bool claim(int fd)
{
    if (__atomic_exchange_n(&st.busy, 1, __ATOMIC_ACQUIRE) != 0) {
        /* Another thread or an interrupted call has it: this call goes
         * through unrecorded, so the record no longer matches the stream. */
        stop_following();
        return false;
    }
    struct stat sb;
    int saved = errno;
    bool same = follow_wants(fd) && fstat(fd, &sb) == 0 &&
                sb.st_dev == st.dev && sb.st_ino == st.ino;
    errno = saved;
    if (!same) {
        if (follow_wants(fd))
            stop_following();
        release();
    }
    return same;
}

void follow_start(int fd, const struct sockaddr *addr, socklen_t len,
                  const char *path)
{
    struct stat sb;
    int type = 0;
    socklen_t tlen = sizeof type;

    if (len > sizeof st.addr ||
        __atomic_exchange_n(&st.busy, 1, __ATOMIC_ACQUIRE) != 0)
        return;
    stop_following();
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
        type == SOCK_STREAM && fstat(fd, &sb) == 0) {
        st.dev = sb.st_dev;
        st.ino = sb.st_ino;
        memset(&st.addr, 0, sizeof st.addr);
        memcpy(&st.addr, addr, len);
        st.addrlen = len;
        strcpy(st.path, path);
        st.broken = false;
        st.replays = 0;
        st.sent_len = st.pkt_at = 0;
        st.requests = st.nfds = st.replies = 0;
        st.session_req = -1;
        st.part_len = 0;
        __atomic_store_n(&muxfix_follow_fd, fd, __ATOMIC_RELAXED);
    }
    release();
}

/* May the packet of type TYPE and length LEN, the INDEXth the client sends,
 * be replayed? */
static bool replayable(unsigned index, uint32_t len, uint32_t type)
{
    if (len < LEN_SIZE || len > SENT_MAX - LEN_SIZE)
        return false;
    if (index == 0)
        return type == MUX_MSG_HELLO && len == HELLO_LEN;
    if (st.session_req >= 0)
        return false; /* nothing is sent between the session and its reply */
    return type == MUX_C_ALIVE_CHECK || type == MUX_C_OPEN_FWD ||
           type == MUX_C_NEW_SESSION || type == MUX_C_NEW_STDIO_FWD;
}

/* Walk the packets in sent[] from pkt_at. False when one is not to be
 * followed. */
static bool parse_sent(void)
{
    for (;;) {
        size_t avail = st.sent_len - st.pkt_at;
        if (avail < TYPE_END)
            return true;
        const unsigned char *p = st.sent + st.pkt_at;
        uint32_t len = be32(p), type = be32(p + LEN_SIZE);
        if (!replayable(st.requests, len, type) ||
            st.pkt_at + LEN_SIZE + len > SENT_MAX)
            return false;
        if (avail < LEN_SIZE + (size_t)len)
            return true;
        if (type == MUX_C_NEW_SESSION || type == MUX_C_NEW_STDIO_FWD) {
            st.session_req = (int)st.requests;
            st.session_at = st.pkt_at;
        }
        st.requests++;
        st.pkt_at += LEN_SIZE + len;
    }
}

/* The client wrote BUF (N bytes, read by the kernel just now). */
static void saw_sent(const void *buf, size_t n)
{
    if (n > SENT_MAX - st.sent_len) {
        stop_following();
        return;
    }
    memcpy(st.sent + st.sent_len, buf, n);
    st.sent_len += n;
    if (!parse_sent())
        stop_following();
}

/* The client read BUF (N bytes) from the master. */
static void saw_reply(const unsigned char *buf, size_t n)
{
    while (n > 0) {
        size_t want = LEN_SIZE - st.part_len;
        if (st.part_len >= LEN_SIZE)
            want = LEN_SIZE + (size_t)be32(st.part) - st.part_len;
        size_t take = n < want ? n : want;
        if (st.part_len < PARTIAL_MAX) {
            size_t keep = PARTIAL_MAX - st.part_len;
            memcpy(st.part + st.part_len, buf, take < keep ? take : keep);
        }
        st.part_len += take;
        buf += take;
        n -= take;
        if (st.part_len >= LEN_SIZE &&
            st.part_len == LEN_SIZE + (size_t)be32(st.part)) {
            st.replies++;
            st.part_len = 0;
        }
    }
    /* Once the client has its session reply, the session may be running:
     * nothing after this point is replayed. */
    if (st.session_req >= 0 && st.replies > (unsigned)st.session_req)
        stop_following();
}

/* The errors of a connection whose other end went away. */
static bool connection_gone(int err)
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
    unsigned char hdr[TYPE_END];
    if (st.pkt_at < st.sent_len) /* the packet's start was already judged */
        return st.sent_len - st.pkt_at >= TYPE_END;
    if (n < TYPE_END || !copy_from_caller(hdr, buf, sizeof hdr))
        return false;
    uint32_t len = be32(hdr);
    return n <= LEN_SIZE + (size_t)len &&
           replayable(st.requests, len, be32(hdr + LEN_SIZE)) &&
           st.pkt_at + LEN_SIZE + len <= SENT_MAX;
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

static bool send_fd(int sock, const struct passed_fd *pf)
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
        w = muxfix_real_sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == 1;
}

/* Send what the client sent in sent[FROM, TO), descriptors where they
 * went. */
static bool resend(int sock, size_t from, size_t to)
{
    size_t at = from;
    for (unsigned i = 0; i < st.nfds; i++) {
        if (st.fds[i].at < from || st.fds[i].at > to)
            continue;
        if (!transfer_all(sock, st.sent + at, st.fds[i].at - at, true) ||
            !send_fd(sock, &st.fds[i]))
            return false;
        at = st.fds[i].at;
    }
    return transfer_all(sock, st.sent + at, to - at, true);
}

/* Read and drop the replies the client has already read from the old
 * master, and check the one it is in the middle of starts the same. */
static bool drop_seen_replies(int sock)
{
    unsigned char buf[DROP_CHUNK];
    for (unsigned i = 0; i < st.replies; i++) {
        if (!transfer_all(sock, buf, LEN_SIZE, false))
            return false;
        size_t left = be32(buf);
        if (left > SENT_MAX)
            return false;
        while (left > 0) {
            size_t take = left < sizeof buf ? left : sizeof buf;
            if (!transfer_all(sock, buf, take, false))
                return false;
            left -= take;
        }
    }
    if (st.part_len == 0)
        return true;
    return st.part_len <= PARTIAL_MAX && transfer_all(sock, buf, st.part_len, false) &&
           memcmp(buf, st.part, st.part_len) == 0;
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
    st.dev = sb.st_dev;
    st.ino = sb.st_ino;
    return true;
}

/* What the client sent, its descriptors included, goes only to a master of
 * ours in a directory nobody else can change: a socket of another user there
 * could only have been put by root. */
static bool master_is_ours(int sock)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
           cred.uid == geteuid();
}

static bool dir_is_trusted(void)
{
    struct ctl_dir dir;
    if (!trust_open_dir(st.path, &dir))
        return false;
    ctl_dir_close(&dir);
    return true;
}

/* FD's master went away: connect to the one at the path now (or the one
 * being started), replay, and put that connection in FD's place. */
static bool replay(int fd)
{
    const struct muxfix_config *cfg = muxfix_config();
    int ms = cfg != NULL && cfg->timeout_ms > 0 ? cfg->timeout_ms
                                                : MUXFIX_DEFAULT_TIMEOUT_MS;
    const struct sockaddr *addr = (const struct sockaddr *)&st.addr;

    size_t split = st.session_req >= 0 ? st.session_at : st.sent_len;
    /* A half-read session reply could only be checked after sending the
     * session again; it is never the case with ssh, which reads a reply
     * the master wrote whole. */
    if (st.session_req >= 0 && st.part_len > 0 &&
        st.replies == (unsigned)st.session_req)
        return false;
    if (!dir_is_trusted()) {
        muxfix_log(MUXFIX_LOG_REPAIR,
                   "the master of %s went away during the mux handshake; not "
                   "replaying it: the directory is not trusted", st.path);
        return false;
    }
    while (st.replays < REPLAYS_MAX) {
        st.replays++;
        int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
            return false;
        /* A listener with a full backlog would block connect() for good. */
        set_timeouts(sock, ms);
        int ret = muxfix_real_connect(sock, addr, st.addrlen);
        if (repair_reconnect(sock, addr, st.addrlen, ret) != 0 ||
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
        bool placed = ready && resend(sock, split, st.sent_len) &&
                      take_place(sock, fd);
        close(sock);
        if (!placed && ready && st.session_req >= 0)
            return false;
        if (placed) {
            muxfix_log(MUXFIX_LOG_REPAIR,
                       "the master of %s went away during the mux handshake; "
                       "replayed %u request(s) to the master there now",
                       st.path, st.requests);
            return true;
        }
    }
    return false;
}

/* No master to go on with: ssh is to meet the closed connection at its next
 * read and fall back to a direct connection. */
static void give_up(void)
{
    st.broken = true;
    muxfix_log(MUXFIX_LOG_REPAIR,
               "the master of %s went away during the mux handshake and there "
               "is none to go on with; ssh opens its own connection", st.path);
}

ssize_t follow_write(int fd, const void *buf, size_t n)
{
    if (!claim(fd))
        return muxfix_real_write(fd, buf, n);
    int entry = errno;
    ssize_t r;
    for (;;) {
        r = muxfix_real_write(fd, buf, n);
        if (r > 0) {
            if (!st.broken)
                saw_sent(buf, (size_t)r);
            break;
        }
        if (r == 0 || n == 0 || !connection_gone(errno))
            break;
        int err = errno;
        if (!st.broken && !failed_write_replayable(buf, n)) {
            stop_following();
            errno = err;
            break;
        }
        /* ssh 9.2 makes a failed write fatal ("write packet: Broken pipe",
         * exit 255) even where a failed read would fall back. */
        if (st.broken || !replay(fd)) {
            if (!st.broken)
                give_up();
            r = (ssize_t)n;
            errno = entry;
            break;
        }
    }
    int saved = r >= 0 ? entry : errno;
    release();
    errno = saved;
    return r;
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

/* The client passed a descriptor: only after its session request, between
 * packets. */
static bool note_fd(int passed, const void *byte)
{
    if (st.session_req < 0 || st.pkt_at != st.sent_len || st.nfds == FDS_MAX ||
        !copy_from_caller(&st.fds[st.nfds].byte, byte, 1))
        return false;
    st.fds[st.nfds].at = st.sent_len;
    st.fds[st.nfds].fd = passed;
    st.nfds++;
    return true;
}

ssize_t follow_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!claim(fd))
        return muxfix_real_sendmsg(fd, msg, flags);
    int entry = errno;
    ssize_t r;
    for (;;) {
        r = muxfix_real_sendmsg(fd, msg, flags);
        if (r < 0 && !connection_gone(errno))
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
            if (!st.broken && (r != 1 || !note_fd(passed, byte)))
                stop_following();
            break;
        }
        if (!st.broken && (st.session_req < 0 || st.pkt_at != st.sent_len ||
                           st.nfds == FDS_MAX)) {
            stop_following();
            break;
        }
        if (st.broken || !replay(fd)) {
            if (!st.broken)
                give_up();
            r = 1;
            errno = entry;
            break;
        }
    }
    int saved = r >= 0 ? entry : errno;
    release();
    errno = saved;
    return r;
}

ssize_t follow_read(int fd, void *buf, size_t n)
{
    if (!claim(fd))
        return muxfix_real_read(fd, buf, n);
    int entry = errno;
    ssize_t r;
    for (;;) {
        r = muxfix_real_read(fd, buf, n);
        if (r > 0) {
            saw_reply(buf, (size_t)r);
            break;
        }
        if (n == 0 || (r < 0 && !connection_gone(errno)))
            break;
        /* End of file or reset: plain ssh says "master hello exchange
         * failed", "master alive request failed" or "read from master
         * failed" and opens a connection of its own. */
        int err = errno;
        if (st.broken || !replay(fd)) {
            if (!st.broken)
                give_up();
            stop_following();
            errno = err;
            break;
        }
    }
    int saved = r > 0 ? entry : errno;
    release();
    errno = saved;
    return r;
}
