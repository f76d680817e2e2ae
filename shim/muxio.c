/* muxio.c: see muxio.h. */
#include "muxio.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "real.h"
#include "util.h"

/* Bytes read at a time when dropping replies the client has already seen;
 * holds a whole MUXREC_PARTIAL_MAX. */
#define DROP_CHUNK 512
#define US_PER_MS 1000L
/* A master writes each reply in one call; a packet seen in pieces is looked
 * at again after this pause rather than in a busy loop. */
#define PEEK_PIECES_PAUSE_MS 1

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

bool muxio_resend(int sock, const struct muxrec *rec, size_t from, size_t to)
{
    /* transfer_all only reads from the buffer when sending. */
    unsigned char *sent = (unsigned char *)rec->sent;
    size_t at = from;
    for (unsigned i = 0; i < rec->nfds; i++) {
        if (rec->fds[i].at < from || rec->fds[i].at > to)
            continue;
        if (!transfer_all(sock, sent + at, rec->fds[i].at - at, true) ||
            !send_fd(sock, &rec->fds[i]))
            return false;
        at = rec->fds[i].at;
    }
    return transfer_all(sock, sent + at, to - at, true);
}

bool muxio_drop_seen_replies(int sock, const struct muxrec *rec)
{
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

void muxio_set_timeouts(int sock, int ms)
{
    struct timeval tv = {.tv_sec = ms / UTIL_MS_PER_S,
                         .tv_usec = (ms % UTIL_MS_PER_S) * US_PER_MS};
    (void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Bytes waiting to be read on FD, -1 when that cannot be told. */
static long bytes_waiting(int fd)
{
    int n = 0;
    return ioctl(fd, SIOCINQ, &n) == 0 ? n : -1;
}

/* Wait for FD to be readable until DEADLINE (-1: none): 1 readable, 0 the
 * deadline passed, -1 poll failed (errno). */
static int await_readable(int fd, long deadline)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    long left = deadline < 0 ? -1 : deadline - util_now_ms();
    if (deadline >= 0 && left < 0)
        left = 0;
    int rc = poll(&pfd, 1, (int)left);
    return rc > 0 ? 1 : rc;
}

static bool peer_hung_up(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0;
}

/* Look once at what FD holds: MUXIO_PEEK_WHOLE, CLOSED or ERROR, or
 * MUXIO_PEEK_TIMEOUT for "not whole yet" (*GOT says how much is there). */
static enum muxio_peek peek_once(int fd, unsigned char *buf, size_t cap,
                                 size_t *got)
{
    ssize_t n = recv(fd, buf, cap, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return MUXIO_PEEK_CLOSED;
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? MUXIO_PEEK_TIMEOUT
                                                 : MUXIO_PEEK_ERROR;
    *got = (size_t)n;
    long avail = bytes_waiting(fd);
    bool whole = *got >= MUXREC_LEN_SIZE && avail >= MUXREC_LEN_SIZE &&
                 (size_t)avail - MUXREC_LEN_SIZE >= (size_t)muxrec_be32(buf);
    return whole ? MUXIO_PEEK_WHOLE : MUXIO_PEEK_TIMEOUT;
}

enum muxio_peek muxio_peek_packet(int fd, unsigned char *buf, size_t cap,
                                  size_t *got, long deadline)
{
    int saved = errno;
    enum muxio_peek res = MUXIO_PEEK_TIMEOUT;

    *got = 0;
    for (;;) {
        if (*got > 0) {
            util_pause_ms(PEEK_PIECES_PAUSE_MS);
            /* The rest of a packet never comes once the master hung up. */
            if (peer_hung_up(fd)) {
                res = MUXIO_PEEK_CLOSED;
                break;
            }
        } else {
            int rc = await_readable(fd, deadline);
            if (rc < 0 && errno == EINTR) {
                res = MUXIO_PEEK_SIGNAL;
                break;
            }
            if (rc < 0)
                return MUXIO_PEEK_ERROR;
            if (rc == 0)
                break;
        }
        res = peek_once(fd, buf, cap, got);
        if (res == MUXIO_PEEK_ERROR)
            return res;
        if (res != MUXIO_PEEK_TIMEOUT ||
            (deadline >= 0 && util_now_ms() >= deadline))
            break;
    }
    errno = saved;
    return res;
}
