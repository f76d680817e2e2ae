/* real.c: see real.h. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "state.h"

STATE_FIRST_USE real_sockaddr_fn *real_slot_connect;
STATE_FIRST_USE real_sockaddr_fn *real_slot_bind;
STATE_FIRST_USE real_link_fn *real_slot_link;
STATE_FIRST_USE real_unlink_fn *real_slot_unlink;
STATE_FIRST_USE real_read_fn *real_slot_read;
STATE_FIRST_USE real_write_fn *real_slot_write;
STATE_FIRST_USE real_sendmsg_fn *real_slot_sendmsg;

/* Each pointer is resolved on the first call that needs it: a constructor
 * resolving all seven would cost every process 8,000 instructions at start,
 * whether it ever calls them or not. dlsym(RTLD_NEXT) of a symbol that
 * exists takes no lock and allocates nothing (glibc 2.34+: a scope lookup
 * from the caller's object), so the first call may come from a signal
 * handler. Racing threads resolve the same address; the atomic store only
 * makes its publication well defined. Keeps errno. */
static void *resolve(void **slot, const char *name)
{
    int saved = errno;
    void *fn = dlsym(RTLD_NEXT, name);
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    errno = saved;
    return fn;
}

/* The slow path of a call through SLOT (type TYPE): taken once, while the
 * pointer is still NULL. */
#define RESOLVE_AND_CALL(type, slot, name, ...)                              \
    do {                                                                     \
        type *fn_ = (type *)resolve((void **)&(slot), name);                 \
        if (fn_ == NULL) {                                                   \
            errno = ENOSYS;                                                  \
            return -1;                                                       \
        }                                                                    \
        return fn_(__VA_ARGS__);                                             \
    } while (0)

__attribute__((cold)) int real_connect_resolve(int fd, const struct sockaddr *addr,
                                               socklen_t len)
{
    RESOLVE_AND_CALL(real_sockaddr_fn, real_slot_connect, "connect", fd, addr, len);
}

__attribute__((cold)) int real_bind_resolve(int fd, const struct sockaddr *addr,
                                            socklen_t len)
{
    RESOLVE_AND_CALL(real_sockaddr_fn, real_slot_bind, "bind", fd, addr, len);
}

__attribute__((cold)) int real_link_resolve(const char *oldpath, const char *newpath)
{
    RESOLVE_AND_CALL(real_link_fn, real_slot_link, "link", oldpath, newpath);
}

__attribute__((cold)) int real_unlink_resolve(const char *path)
{
    RESOLVE_AND_CALL(real_unlink_fn, real_slot_unlink, "unlink", path);
}

__attribute__((cold)) ssize_t real_read_resolve(int fd, void *buf, size_t n)
{
    RESOLVE_AND_CALL(real_read_fn, real_slot_read, "read", fd, buf, n);
}

__attribute__((cold)) ssize_t real_write_resolve(int fd, const void *buf, size_t n)
{
    RESOLVE_AND_CALL(real_write_fn, real_slot_write, "write", fd, buf, n);
}

__attribute__((cold)) ssize_t real_sendmsg_resolve(int fd, const struct msghdr *msg,
                                                   int flags)
{
    RESOLVE_AND_CALL(real_sendmsg_fn, real_slot_sendmsg, "sendmsg", fd, msg, flags);
}
