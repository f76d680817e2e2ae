/* real.h: the libc functions that muxfix interposes, resolved with
 * dlsym(RTLD_NEXT) once (constructor), or on first use when a constructor of
 * another library calls in before ours ran. The library calls these, never
 * its own wrappers, so it does not recurse. If a symbol cannot be found the
 * call fails with ENOSYS. */
#ifndef MUXFIX_REAL_H
#define MUXFIX_REAL_H

#include <sys/socket.h>
#include <sys/types.h>

int real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int real_link(const char *oldpath, const char *newpath);
int real_unlink(const char *path);
ssize_t real_read(int fd, void *buf, size_t n);
ssize_t real_write(int fd, const void *buf, size_t n);
ssize_t real_sendmsg(int fd, const struct msghdr *msg, int flags);

#endif
