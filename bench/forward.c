/* forward.c - build/bench-forward.so: the least an interposer can be. It
 * exports the calls muxfix interposes and forwards each to libc through a
 * pointer resolved once with dlsym(RTLD_NEXT) in a constructor, looking at
 * nothing. scripts/instr counts the instructions of each call under it, to
 * tell what any interposer costs from what muxfix's own checks cost. */
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))

static int (*next_connect)(int, const struct sockaddr *, socklen_t);
static int (*next_bind)(int, const struct sockaddr *, socklen_t);
static int (*next_link)(const char *, const char *);
static int (*next_unlink)(const char *);
static ssize_t (*next_read)(int, void *, size_t);
static ssize_t (*next_write)(int, const void *, size_t);
static ssize_t (*next_sendmsg)(int, const struct msghdr *, int);

__attribute__((constructor)) static void forward_init(void)
{
    *(void **)&next_connect = dlsym(RTLD_NEXT, "connect");
    *(void **)&next_bind = dlsym(RTLD_NEXT, "bind");
    *(void **)&next_link = dlsym(RTLD_NEXT, "link");
    *(void **)&next_unlink = dlsym(RTLD_NEXT, "unlink");
    *(void **)&next_read = dlsym(RTLD_NEXT, "read");
    *(void **)&next_write = dlsym(RTLD_NEXT, "write");
    *(void **)&next_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    return next_connect(fd, addr, len);
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    return next_bind(fd, addr, len);
}

EXPORT int link(const char *oldpath, const char *newpath)
{
    return next_link(oldpath, newpath);
}

EXPORT int unlink(const char *path)
{
    return next_unlink(path);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    return next_read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    return next_write(fd, buf, n);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    return next_sendmsg(fd, msg, flags);
}
