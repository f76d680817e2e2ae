/* hello.c: see hello.h. */
#include "hello.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
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

/* poll() for POLLIN (data, EOF or error all count: the master is not wedged),
 * restarting after signals with the time that is left. True if it came. */
static bool master_spoke(int fd, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    for (;;) {
        long left = deadline - now_ms();
        int rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (rc > 0)
            return true;
        if (rc == 0)
            return false;
        if (errno != EINTR)
            return true; /* cannot tell: leave the connection as it is */
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

int hello_check(const struct muxfix_config *cfg, int fd, const char *sockpath)
{
    int saved = errno, type = 0;
    socklen_t len = sizeof type;

    if (cfg->timeout_ms == 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        type != SOCK_STREAM || master_spoke(fd, cfg->timeout_ms)) {
        errno = saved;
        return 0;
    }
    reset_socket(fd);
    muxfix_log(MUXFIX_LOG_REPAIR,
               "master at %s sent no hello within %d ms (stopped or not "
               "accepting); reporting connection refused so ssh goes on "
               "without it", sockpath, cfg->timeout_ms);
    errno = ECONNREFUSED;
    return -1;
}
