/* real.h: the libc functions that muxfix interposes, resolved with
 * dlsym(RTLD_NEXT) once (constructor), or on first use when a constructor of
 * another library calls in before ours ran. The library calls these, never
 * its own wrappers, so it does not recurse. If a symbol cannot be found the
 * call fails with ENOSYS. */
#ifndef MUXFIX_REAL_H
#define MUXFIX_REAL_H

#include <sys/socket.h>
#include <sys/types.h>

int muxfix_real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int muxfix_real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int muxfix_real_link(const char *oldpath, const char *newpath);
int muxfix_real_unlink(const char *path);
ssize_t muxfix_real_read(int fd, void *buf, size_t n);
ssize_t muxfix_real_write(int fd, const void *buf, size_t n);
ssize_t muxfix_real_sendmsg(int fd, const struct msghdr *msg, int flags);

#endif
