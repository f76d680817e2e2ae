/* real.c: see real.h. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

typedef int (*sockaddr_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*link_fn)(const char *, const char *);
typedef int (*unlink_fn)(const char *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

static sockaddr_fn real_connect;
static sockaddr_fn real_bind;
static link_fn real_link;
static unlink_fn real_unlink;
static read_fn real_read;
static write_fn real_write;
static sendmsg_fn real_sendmsg;

/* Racing threads resolve the same address; the atomic store only makes the
 * pointer's publication well defined. */
static void *resolve(void **slot, const char *name)
{
    void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        int saved = errno;
        fn = dlsym(RTLD_NEXT, name);
        __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
        errno = saved;
    }
    return fn;
}

#define RESOLVE(var, type, name) ((type)resolve((void **)&(var), name))

int muxfix_real_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    sockaddr_fn fn = RESOLVE(real_connect, sockaddr_fn, "connect");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, addr, len);
}

int muxfix_real_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    sockaddr_fn fn = RESOLVE(real_bind, sockaddr_fn, "bind");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, addr, len);
}

int muxfix_real_link(const char *oldpath, const char *newpath)
{
    link_fn fn = RESOLVE(real_link, link_fn, "link");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(oldpath, newpath);
}

int muxfix_real_unlink(const char *path)
{
    unlink_fn fn = RESOLVE(real_unlink, unlink_fn, "unlink");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(path);
}

ssize_t muxfix_real_read(int fd, void *buf, size_t n)
{
    read_fn fn = RESOLVE(real_read, read_fn, "read");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, buf, n);
}

ssize_t muxfix_real_write(int fd, const void *buf, size_t n)
{
    write_fn fn = RESOLVE(real_write, write_fn, "write");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, buf, n);
}

ssize_t muxfix_real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    sendmsg_fn fn = RESOLVE(real_sendmsg, sendmsg_fn, "sendmsg");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, msg, flags);
}

__attribute__((constructor)) static void muxfix_real_init(void)
{
    (void)RESOLVE(real_connect, sockaddr_fn, "connect");
    (void)RESOLVE(real_bind, sockaddr_fn, "bind");
    (void)RESOLVE(real_link, link_fn, "link");
    (void)RESOLVE(real_unlink, unlink_fn, "unlink");
    (void)RESOLVE(real_read, read_fn, "read");
    (void)RESOLVE(real_write, write_fn, "write");
    (void)RESOLVE(real_sendmsg, sendmsg_fn, "sendmsg");
}
