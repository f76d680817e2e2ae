/* sock.h: the client end of a control-socket connection: who listens at
 * the other end, and starting over on the same descriptor.
 *
 * muxfix never lets a client talk to a master of another uid: every
 * connection it makes or lets through to a managed path is checked with
 * SO_PEERCRED (the credentials the listener had at listen()). */
#ifndef MUXFIX_SOCK_H
#define MUXFIX_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Is the listener FD is connected to running as our effective uid? False
 * too when that cannot be told; *UID gets its uid (or -1). Keeps errno. */
bool sock_peer_is_ours(int fd, uid_t *uid);

/* connect() FD to ADDR without ever blocking: a listener whose backlog is
 * full answers EAGAIN instead of holding the caller for good (a Unix stream
 * connect() has no timeout, and another user can bind a listener and fill
 * its backlog). For muxfix's own extra connects, never ssh's first one.
 * FD's file status flags are restored; errno is the connect's. */
int sock_connect_nowait(int fd, const struct sockaddr *addr, socklen_t len);

/* Replace FD, in place and atomically, with a fresh unconnected socket of
 * the same type, protocol, O_NONBLOCK, FD_CLOEXEC and send timeout. Keeps
 * errno. */
void sock_reset(int fd);

#endif
