/* repair.h: what happens after a managed call failed (or, for connect,
 * succeeded). Each function gets the real call's result RET with errno as
 * the real call left it, and returns what the caller should see: the same
 * result and errno when nothing was repaired, otherwise the retry's. */
#ifndef MUXFIX_REPAIR_H
#define MUXFIX_REPAIR_H

#include <sys/socket.h>

int repair_after_connect(int fd, const struct sockaddr *addr, socklen_t len,
                         int ret);
int repair_after_bind(int fd, const struct sockaddr *addr, socklen_t len,
                      int ret);
int repair_after_link(const char *oldpath, const char *newpath, int ret);

#endif
