/* repair.h: what happens after a managed call failed (or, for connect,
 * succeeded). Each function gets the real call's result RET with errno as
 * the real call left it, and returns what the caller should see: the same
 * result and errno when nothing was repaired, otherwise the retry's. */
#ifndef MUXFIX_REPAIR_H
#define MUXFIX_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

int repair_after_connect(int fd, const struct sockaddr *addr, socklen_t len,
                         int ret);
/* FD, a fresh socket, was connected to the managed control socket ADDR with
 * result RET, for a client whose master went away (follow.h): the same
 * repairs as repair_after_connect, without following FD. 0 when FD is
 * connected to a master that said hello. */
int repair_reconnect(int fd, const struct sockaddr *addr, socklen_t len,
                     int ret);
int repair_after_bind(int fd, const struct sockaddr *addr, socklen_t len,
                      int ret);
int repair_after_link(const char *oldpath, const char *newpath, int ret);

#endif
