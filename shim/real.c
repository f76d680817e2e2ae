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

/* The slow path, taken only while a pointer is still NULL (a constructor of
 * another library called in before ours ran): racing threads resolve the
 * same address; the atomic store only makes its publication well defined. */
__attribute__((noinline, cold)) static void *resolve(void **slot,
                                                    const char *name)
{
    int saved = errno;
    void *fn = dlsym(RTLD_NEXT, name);
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    errno = saved;
    return fn;
}

/* Call the real NAME through SLOT (of function type TYPE) with the
 * arguments that follow: one load and a call on the fast path; ENOSYS if
 * the symbol cannot be found. */
#define REAL_CALL(type, slot, name, ...)                                     \
    do {                                                                     \
        type fn_ = __atomic_load_n(&(slot), __ATOMIC_ACQUIRE);               \
        if (__builtin_expect(fn_ == NULL, 0) &&                              \
            (fn_ = (type)resolve((void **)&(slot), name)) == NULL) {         \
            errno = ENOSYS;                                                  \
            return -1;                                                       \
        }                                                                    \
        return fn_(__VA_ARGS__);                                             \
    } while (0)

int muxfix_real_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    REAL_CALL(sockaddr_fn, real_connect, "connect", fd, addr, len);
}

int muxfix_real_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    REAL_CALL(sockaddr_fn, real_bind, "bind", fd, addr, len);
}

int muxfix_real_link(const char *oldpath, const char *newpath)
{
    REAL_CALL(link_fn, real_link, "link", oldpath, newpath);
}

int muxfix_real_unlink(const char *path)
{
    REAL_CALL(unlink_fn, real_unlink, "unlink", path);
}

ssize_t muxfix_real_read(int fd, void *buf, size_t n)
{
    REAL_CALL(read_fn, real_read, "read", fd, buf, n);
}

ssize_t muxfix_real_write(int fd, const void *buf, size_t n)
{
    REAL_CALL(write_fn, real_write, "write", fd, buf, n);
}

ssize_t muxfix_real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL_CALL(sendmsg_fn, real_sendmsg, "sendmsg", fd, msg, flags);
}

__attribute__((constructor)) static void muxfix_real_init(void)
{
    static void **const slots[] = {
        (void **)&real_connect, (void **)&real_bind,  (void **)&real_link,
        (void **)&real_unlink,  (void **)&real_read,  (void **)&real_write,
        (void **)&real_sendmsg,
    };
    static const char *const names[] = {"connect", "bind",  "link",   "unlink",
                                        "read",    "write", "sendmsg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        (void)resolve(slots[i], names[i]);
}
