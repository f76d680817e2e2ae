/* hello.c: see hello.h. */
#include "hello.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "log.h"
#include "sock.h"
#include "sshopts.h"
#include "sshver.h"
#include "util.h"

/* A master that is running answers within microseconds (make bench, 2b:
 * 26-43 us); only one still silent after this long makes muxfix look up
 * ssh's ConnectTimeout, which may cost an `ssh -G` of a few milliseconds. */
#define HELLO_QUICK_MS 100

/* What await_hello saw before its deadline. */
enum seen { SEEN_HELLO, SEEN_NOTHING, SEEN_CLOSE };

/* Wait until DEADLINE (util_now_ms) for the master's first byte, restarting
 * after signals; look at it with MSG_PEEK so ssh still reads the whole
 * hello. */
static enum seen await_hello(int fd, long deadline)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char byte;

    for (;;) {
        long left = deadline - util_now_ms();
        int rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (rc == 0)
            return SEEN_NOTHING;
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return SEEN_HELLO; /* cannot tell: leave the connection as it is */
        }
        ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0)
            return SEEN_HELLO;
        if (n == 0 || errno == ECONNRESET)
            return SEEN_CLOSE;
        if (errno != EAGAIN && errno != EINTR)
            return SEEN_HELLO;
    }
}

/* How long the master may take: ssh's ConnectTimeout when it has one. */
struct deadline {
    int ms;
    bool from_ssh;
};

static struct deadline hello_deadline(const struct muxfix_config *cfg)
{
    int ct = sshopts_connect_timeout_ms();
    if (ct > 0)
        return (struct deadline){.ms = ct, .from_ssh = true};
    return (struct deadline){.ms = cfg->timeout_ms, .from_ssh = false};
}

static bool is_stream(int fd)
{
    int type = 0;
    socklen_t len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
           type == SOCK_STREAM;
}

/* Silent past DL: whose message does the user see? */
static enum hello_result wedged(int fd, const char *sockpath, struct deadline dl)
{
    sock_reset(fd);
    if (dl.from_ssh && sshver_times_out_hello() && !sshopts_is_control_command()) {
        log_msg(MUXFIX_LOG_REPAIR,
                "master at %s sent no hello within ssh's ConnectTimeout "
                "(%d ms); ssh goes on without it, with its own message",
                sockpath, dl.ms);
        return HELLO_LEFT_TO_SSH;
    }
    log_msg(MUXFIX_LOG_REPAIR,
            "master at %s sent no hello within %d ms (%s; stopped or not "
            "accepting); %s", sockpath, dl.ms,
            dl.from_ssh ? "ssh's ConnectTimeout" : "MUXFIX_TIMEOUT_MS",
            sshopts_is_control_command()
                ? "reporting a timeout: the control command fails"
                : "reporting connection refused so ssh goes on without it");
    return HELLO_WEDGED;
}

enum hello_result hello_check(const struct muxfix_config *cfg, int fd,
                              const char *sockpath)
{
    int saved = errno;
    enum hello_result res = HELLO_OK;

    if (cfg->timeout_ms == 0 || !is_stream(fd)) {
        errno = saved;
        return HELLO_OK;
    }
    long start = util_now_ms();
    int quick = cfg->timeout_ms < HELLO_QUICK_MS ? cfg->timeout_ms : HELLO_QUICK_MS;
    enum seen seen = await_hello(fd, start + quick);
    if (seen == SEEN_NOTHING) {
        struct deadline dl = hello_deadline(cfg);
        log_msg(MUXFIX_LOG_DECISION,
                "master at %s: no hello after %d ms; waiting up to %d ms (%s)",
                sockpath, quick, dl.ms,
                dl.from_ssh ? "ssh's ConnectTimeout" : "MUXFIX_TIMEOUT_MS");
        seen = await_hello(fd, start + dl.ms);
        if (seen == SEEN_NOTHING)
            res = wedged(fd, sockpath, dl);
    }
    if (seen == SEEN_CLOSE) {
        sock_reset(fd);
        log_msg(MUXFIX_LOG_DECISION,
                "master at %s closed the connection before its hello; "
                "connecting again", sockpath);
        res = HELLO_CLOSED;
    }
    errno = saved;
    return res;
}
