/* interpose.c: the exported entry points.
 *
 * Each one makes the real call first and returns its result untouched (no
 * lock, no allocation, errno as libc left it) unless the outcome is one a
 * repair is for: connect() refused or succeeded on a Unix socket, bind()
 * EADDRINUSE or ENOENT, link() EEXIST. Only then is the path examined. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "classify.h"
#include "compat.h"
#include "real.h"
#include "repair.h"

MUXFIX_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int ret = muxfix_real_connect(fd, addr, len);
    bool interesting = ret == 0 ? muxfix_is_unix(addr, len)
                                : errno == ECONNREFUSED && muxfix_is_unix(addr, len);
    if (!interesting)
        return ret;
    return repair_after_connect(fd, addr, len, ret);
}

MUXFIX_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int ret = muxfix_real_bind(fd, addr, len);
    if (ret == 0 || (errno != EADDRINUSE && errno != ENOENT) ||
        !muxfix_is_unix(addr, len))
        return ret;
    return repair_after_bind(fd, addr, len, ret);
}

MUXFIX_EXPORT int link(const char *oldpath, const char *newpath)
{
    int ret = muxfix_real_link(oldpath, newpath);
    if (ret == 0 || errno != EEXIST)
        return ret;
    return repair_after_link(oldpath, newpath, ret);
}
