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

static sockaddr_fn slot_connect;
static sockaddr_fn slot_bind;
static link_fn slot_link;
static unlink_fn slot_unlink;
static read_fn slot_read;
static write_fn slot_write;
static sendmsg_fn slot_sendmsg;

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

int real_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    REAL_CALL(sockaddr_fn, slot_connect, "connect", fd, addr, len);
}

int real_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    REAL_CALL(sockaddr_fn, slot_bind, "bind", fd, addr, len);
}

int real_link(const char *oldpath, const char *newpath)
{
    REAL_CALL(link_fn, slot_link, "link", oldpath, newpath);
}

int real_unlink(const char *path)
{
    REAL_CALL(unlink_fn, slot_unlink, "unlink", path);
}

ssize_t real_read(int fd, void *buf, size_t n)
{
    REAL_CALL(read_fn, slot_read, "read", fd, buf, n);
}

ssize_t real_write(int fd, const void *buf, size_t n)
{
    REAL_CALL(write_fn, slot_write, "write", fd, buf, n);
}

ssize_t real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL_CALL(sendmsg_fn, slot_sendmsg, "sendmsg", fd, msg, flags);
}

__attribute__((constructor)) static void real_init(void)
{
    static void **const slots[] = {
        (void **)&slot_connect, (void **)&slot_bind,  (void **)&slot_link,
        (void **)&slot_unlink,  (void **)&slot_read,  (void **)&slot_write,
        (void **)&slot_sendmsg,
    };
    static const char *const names[] = {"connect", "bind",  "link",   "unlink",
                                        "read",    "write", "sendmsg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        (void)resolve(slots[i], names[i]);
}
