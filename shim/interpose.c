/* interpose.c: the exported entry points.
 *
 * Each one makes the real call first and returns its result untouched (no
 * lock, no allocation, errno as libc left it) unless the outcome is one a
 * repair is for: connect() refused, absent or succeeded on a Unix socket,
 * bind() EADDRINUSE or ENOENT, link() on a managed path. Even then the path
 * is first tested where the kernel left it, against the configuration's
 * filter (a word or two compared, classify.h): only a path that may be
 * managed goes on to the repair code. unlink() is looked at only in a
 * process that published a control socket; read(), write() and sendmsg()
 * only on a mux client's connection during its handshake. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "config.h"
#include "follow.h"
#include "gate.h"
#include "publish.h"
#include "real.h"
#include "repair.h"

/* Only the interposed entry points are visible outside the library. */
#define MUXFIX_EXPORT __attribute__((visibility("default")))

/* May the address a connect() or bind() just used be a managed path?
 * Until the configuration is read (and while '~' waits for its home
 * directory) the filter lets every address through to the full test. */
static inline bool may_be_managed(const struct sockaddr *addr, socklen_t len)
{
    return classify_sockaddr_may_be_managed(config_filter(), addr, len);
}

/* Is it one? The full test, out of line; the gate (gate.h) reads the
 * configuration when this is its first use. In ssh with the default
 * patterns any Unix path may be its ControlPath (learn.h): the repair code
 * decides. */
static inline bool is_managed(const struct sockaddr *addr, socklen_t len)
{
    const struct muxfix_config *cfg = config_get_complete();
    return __builtin_expect(cfg != NULL, 1)
               ? classify_sockaddr_is_managed(cfg, addr, len) || cfg->learns
               : gate_sockaddr(addr, len) != NULL;
}

MUXFIX_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int ret = real_connect(fd, addr, len);
    /* Only once the kernel accepted ADDR is it read. */
    if ((ret != 0 && errno != ECONNREFUSED && errno != ENOENT) ||
        __builtin_expect(!may_be_managed(addr, len), 1) || !is_managed(addr, len))
        return ret;
    return repair_after_connect(fd, addr, len, ret);
}

MUXFIX_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int ret = real_bind(fd, addr, len);
    if (ret == 0 || (errno != EADDRINUSE && errno != ENOENT) ||
        __builtin_expect(!may_be_managed(addr, len), 1) || !is_managed(addr, len))
        return ret;
    return repair_after_bind(fd, addr, len, ret);
}

/* link() of NEWPATH returned RET (0 or EEXIST) and the first test of
 * filter F did not turn NEWPATH down (B: its bucket, or -1 for a name too
 * short for it): the rest, out of line (the pass-through keeps a small
 * frame). */
__attribute__((noinline)) static int link_checked(const char *oldpath,
                                                  const char *newpath, int ret,
                                                  const struct pattern_filter *f, int b)
{
    /* Only a path that fits sun_path can be a control socket. */
    size_t n = strnlen(newpath, MUXFIX_SUN_PATH_SIZE);
    const struct muxfix_config *cfg = config_get_complete();
    if (n == 0 || n == MUXFIX_SUN_PATH_SIZE)
        return ret;
    if (b >= 0 && !pattern_filter_second(f, b, newpath, n))
        return ret;
    if (!(cfg != NULL ? classify_is_managed_n(cfg, newpath, n) || cfg->learns
                      : gate_path(newpath, n) != NULL))
        return ret;
    return repair_after_link(oldpath, newpath, ret);
}

MUXFIX_EXPORT int link(const char *oldpath, const char *newpath)
{
    int ret = real_link(oldpath, newpath);
    if (ret != 0 && errno != EEXIST)
        return ret;
    /* The filter's first word holds a name's first 6 bytes, as a sockaddr
     * holds them: a name that long is tested before its length is known. */
    const struct pattern_filter *f = config_filter();
    int b = -1;
    if (__builtin_expect(classify_has_first_bytes(newpath) &&
                             (b = classify_path_first(f, newpath)) < 0,
                         1))
        return ret;
    return link_checked(oldpath, newpath, ret, f, b);
}

MUXFIX_EXPORT int unlink(const char *path)
{
    if (__builtin_expect(!publish_any(), 1))
        return real_unlink(path);
    switch (publish_unlink_check(path)) {
    case PUBLISH_UNLINK_SKIP:
        return 0;
    case PUBLISH_UNLINK_REFUSE:
        errno = EPERM;
        return -1;
    case PUBLISH_UNLINK_GO:
        break;
    }
    int ret = real_unlink(path);
    if (ret == 0)
        publish_after_unlink(path);
    return ret;
}

/* read, write and sendmsg matter only on the one descriptor of a mux client
 * in its handshake (follow.h); everywhere else they cost one atomic load. */
MUXFIX_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    if (__builtin_expect(follow_wants(fd), 0))
        return follow_read(fd, buf, n);
    return real_read(fd, buf, n);
}

MUXFIX_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (__builtin_expect(follow_wants(fd), 0))
        return follow_write(fd, buf, n);
    return real_write(fd, buf, n);
}

MUXFIX_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (__builtin_expect(follow_wants(fd), 0))
        return follow_sendmsg(fd, msg, flags);
    return real_sendmsg(fd, msg, flags);
}
