/* hello.c: see hello.h. */
#include "hello.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NS_PER_MS 1000000L
#define MS_PER_S 1000L

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS;
}

/* Wait for the master's first byte, restarting after signals with the time
 * that is left; look at it with MSG_PEEK so ssh still reads the whole hello. */
static enum hello_result await_hello(int fd, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char byte;

    for (;;) {
        long left = deadline - now_ms();
        int rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (rc == 0)
            return HELLO_WEDGED;
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return HELLO_OK; /* cannot tell: leave the connection as it is */
        }
        ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0)
            return HELLO_OK;
        if (n == 0 || errno == ECONNRESET)
            return HELLO_CLOSED;
        if (errno != EAGAIN && errno != EINTR)
            return HELLO_OK;
    }
}

/* Replace FD, in place and atomically, with a fresh unconnected socket of the
 * same type, protocol, O_NONBLOCK and FD_CLOEXEC. */
static void reset_socket(int fd)
{
    int type = SOCK_STREAM, proto = 0;
    socklen_t len = sizeof type;
    (void)getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof proto;
    (void)getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    int flags = SOCK_CLOEXEC | (fl >= 0 && (fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0);

    int nfd = socket(AF_UNIX, type | flags, proto);
    struct timeval sndtimeo = {0};
    socklen_t tlen = sizeof sndtimeo;
    /* Keep a bound on connect() the caller set (follow.c's replay). */
    if (nfd >= 0 &&
        getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, &tlen) == 0 &&
        (sndtimeo.tv_sec != 0 || sndtimeo.tv_usec != 0))
        (void)setsockopt(nfd, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    if (nfd >= 0 &&
        dup3(nfd, fd, fdfl >= 0 && (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) >= 0) {
        close(nfd);
        return;
    }
    if (nfd >= 0)
        close(nfd);
    /* No fd to spare: at least make sure nothing waits on the master. */
    (void)shutdown(fd, SHUT_RDWR);
}

enum hello_result hello_check(const struct muxfix_config *cfg, int fd,
                              const char *sockpath)
{
    int saved = errno, type = 0;
    socklen_t len = sizeof type;
    enum hello_result res = HELLO_OK;

    if (cfg->timeout_ms != 0 &&
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
        type == SOCK_STREAM)
        res = await_hello(fd, cfg->timeout_ms);
    if (res != HELLO_OK)
        reset_socket(fd);
    if (res == HELLO_WEDGED)
        muxfix_log(MUXFIX_LOG_REPAIR,
                   "master at %s sent no hello within %d ms (stopped or not "
                   "accepting); reporting connection refused so ssh goes on "
                   "without it", sockpath, cfg->timeout_ms);
    if (res == HELLO_CLOSED)
        muxfix_log(MUXFIX_LOG_DECISION,
                   "master at %s closed the connection before its hello; "
                   "connecting again", sockpath);
    errno = saved;
    return res;
}
