/* real.h: the libc functions that muxfix interposes, resolved with
 * dlsym(RTLD_NEXT) on the first call of each (not at load: real.c says why).
 * The library calls these, never its own wrappers, so it does not recurse.
 * If a symbol cannot be found the call fails with ENOSYS.
 *
 * Each call is inline: one load of the resolved pointer and the call, the
 * caller's frame untouched; the resolving is a separate cold function. */
#ifndef MUXFIX_REAL_H
#define MUXFIX_REAL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef int real_sockaddr_fn(int, const struct sockaddr *, socklen_t);
typedef int real_link_fn(const char *, const char *);
typedef int real_unlink_fn(const char *);
typedef ssize_t real_read_fn(int, void *, size_t);
typedef ssize_t real_write_fn(int, const void *, size_t);
typedef ssize_t real_sendmsg_fn(int, const struct msghdr *, int);

/* The resolved functions (state.h: published once; NULL until then).
 * Hidden, so that the library reaches them without its GOT. */
#define REAL_HIDDEN __attribute__((visibility("hidden")))
extern REAL_HIDDEN real_sockaddr_fn *real_slot_connect, *real_slot_bind;
extern REAL_HIDDEN real_link_fn *real_slot_link;
extern REAL_HIDDEN real_unlink_fn *real_slot_unlink;
extern REAL_HIDDEN real_read_fn *real_slot_read;
extern REAL_HIDDEN real_write_fn *real_slot_write;
extern REAL_HIDDEN real_sendmsg_fn *real_slot_sendmsg;

/* The cold paths: resolve, then call (or fail with ENOSYS). */
int real_connect_resolve(int fd, const struct sockaddr *addr, socklen_t len);
int real_bind_resolve(int fd, const struct sockaddr *addr, socklen_t len);
int real_link_resolve(const char *oldpath, const char *newpath);
int real_unlink_resolve(const char *path);
ssize_t real_read_resolve(int fd, void *buf, size_t n);
ssize_t real_write_resolve(int fd, const void *buf, size_t n);
ssize_t real_sendmsg_resolve(int fd, const struct msghdr *msg, int flags);

/* Call the function in SLOT with the arguments that follow, or COLD. */
#define REAL_CALL(slot, cold, ...)                                           \
    do {                                                                     \
        __typeof__(slot) fn_ = __atomic_load_n(&(slot), __ATOMIC_ACQUIRE);  \
        if (__builtin_expect(fn_ == NULL, 0))                                \
            return cold(__VA_ARGS__);                                        \
        return fn_(__VA_ARGS__);                                             \
    } while (0)

static inline int real_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    REAL_CALL(real_slot_connect, real_connect_resolve, fd, addr, len);
}

static inline int real_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    REAL_CALL(real_slot_bind, real_bind_resolve, fd, addr, len);
}

static inline int real_link(const char *oldpath, const char *newpath)
{
    REAL_CALL(real_slot_link, real_link_resolve, oldpath, newpath);
}

static inline int real_unlink(const char *path)
{
    REAL_CALL(real_slot_unlink, real_unlink_resolve, path);
}

static inline ssize_t real_read(int fd, void *buf, size_t n)
{
    REAL_CALL(real_slot_read, real_read_resolve, fd, buf, n);
}

static inline ssize_t real_write(int fd, const void *buf, size_t n)
{
    REAL_CALL(real_slot_write, real_write_resolve, fd, buf, n);
}

static inline ssize_t real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL_CALL(real_slot_sendmsg, real_sendmsg_resolve, fd, msg, flags);
}

#undef REAL_CALL

#endif
