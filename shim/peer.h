/* peer.h: the process at the other end of a control connection, and what
 * the kernel says of its sockets: which process holds a socket, whether it
 * is stopped, whether it listens at a given file, and when its TCP
 * connection last received data. For a master that stops answering
 * (stall.h): only the user's own processes are looked at.
 *
 * Mechanism only: no configuration, no log. Reads /proc and asks the
 * kernel through NETLINK_SOCK_DIAG (unix_diag, inet_diag), which an
 * unprivileged process may do for sockets it can see. */
#ifndef MUXFIX_PEER_H
#define MUXFIX_PEER_H

#include <stdbool.h>
#include <sys/types.h>

/* The inode of the socket at the other end of the Unix connection FD: for a
 * mux client, the master's accepted socket. 0 when it cannot be told (it is
 * not accepted yet, no sock_diag). Keeps errno. */
unsigned long peer_inode(int fd);

/* Does process PID, of our effective uid, hold a descriptor of socket inode
 * INO? Keeps errno. */
bool peer_holds(pid_t pid, unsigned long ino);

/* The process of our effective uid holding socket inode INO: HINT (when
 * not 0) first, then every process in /proc. 0 when none is found. Keeps
 * errno. */
pid_t peer_find_holder(unsigned long ino, pid_t hint);

/* Is PID stopped (SIGSTOP, Ctrl-Z, a debugger)? Keeps errno. */
bool peer_is_stopped(pid_t pid);

/* Does PID hold a listening Unix socket bound to the file DEV, INO (what
 * lstat() says of the ControlPath)? Keeps errno. */
bool peer_listens_at(pid_t pid, dev_t dev, ino_t ino);

/* Milliseconds since any TCP connection of PID last received data (the
 * least over its TCP sockets); -1 when it holds none, or it cannot be told.
 * Keeps errno. */
long peer_tcp_quiet_ms(pid_t pid);

/* Milliseconds the TCP connections of PID have had data the other end did
 * not take (a network that stopped carrying anything): the longest over
 * those with data unacknowledged or unsent, since their last
 * acknowledgement. 0 when nothing waits; -1 when it holds none, or it
 * cannot be told. A connection that was idle and just sent looks as old as
 * its last acknowledgement for one round trip: ask again before acting.
 * Keeps errno. */
long peer_tcp_waiting_ms(pid_t pid);

#endif
