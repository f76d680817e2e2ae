/* hello.c: see hello.h. */
#include "hello.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "log.h"
#include "sock.h"
#include "util.h"

/* Wait for the master's first byte, restarting after signals with the time
 * that is left; look at it with MSG_PEEK so ssh still reads the whole hello. */
static enum hello_result await_hello(int fd, int timeout_ms)
{
    long deadline = util_now_ms() + timeout_ms;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char byte;

    for (;;) {
        long left = deadline - util_now_ms();
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
        sock_reset(fd);
    if (res == HELLO_WEDGED)
        log_msg(MUXFIX_LOG_REPAIR,
                   "master at %s sent no hello within %d ms (stopped or not "
                   "accepting); reporting connection refused so ssh goes on "
                   "without it", sockpath, cfg->timeout_ms);
    if (res == HELLO_CLOSED)
        log_msg(MUXFIX_LOG_DECISION,
                   "master at %s closed the connection before its hello; "
                   "connecting again", sockpath);
    errno = saved;
    return res;
}
