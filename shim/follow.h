/* follow.h: carry a mux client over to a new master when its master dies
 * during the handshake.
 *
 * After connect() an OpenSSH mux client (muxclient() in mux.c) exchanges
 * hellos, asks the master whether it is alive, requests its forwardings and
 * then its session, passing stdin, stdout and stderr with SCM_RIGHTS. A
 * master that dies in between (SIGKILL, OOM, ControlPersist expiring, a
 * racing -O exit) makes 9.2 fail in one of three ways: a failed write is
 * fatal ("mux_client_request_alive: write packet: Broken pipe", "send fds
 * failed", exit 255); a failed read prints "master alive request failed" or
 * "read from master failed" and falls back to a direct connection (one more
 * login, no multiplexing).
 *
 * Until the client has read the reply to its session request nothing has
 * been started for it, so the exchange can be replayed: the library keeps
 * what the client wrote on a successfully connected managed path (packets
 * and the descriptors it passed), and when the connection breaks it
 * connects again (dead socket removed, waiting for whoever is becoming the
 * new master, crowd.h), sends the same requests to the new master, reads
 * and drops the replies the client has already seen, and puts the new
 * connection in place of the old one with dup3(). The client's call is then
 * retried on it. The master's reply to a session request is sent only after
 * it asked the server to run the command; a master that dies after that but
 * before the client read the reply may have started it. Plain ssh runs the
 * command a second time in that case too (its fallback); the replay does the
 * same, through the new master instead of a new login.
 *
 * A session request the server refused for want of a slot (sshd's
 * MaxSessions, 10 by default: the master answers MUX_S_FAILURE "Session
 * open refused by peer", and closes the connection) started nothing. The
 * answer to a session request is looked at before ssh reads any of it; such
 * a refusal is held back and the master asked again after a growing pause:
 * a new connection, the handshake replayed on it, put in place of the old
 * one before the session request goes out on it, until the master accepts
 * or MUXFIX_SLOT_WAIT_MS pass. ssh then reads whatever answer is there (the
 * last refusal: it logs in by itself, as it would have at once).
 *
 * ssh 9.2 waits for every reply with poll(-1) after a read() that said
 * EAGAIN; the read on the followed connection waits instead, bounded:
 * MUXFIX_TIMEOUT_MS for what the master answers by itself (hello, alive
 * check, -L, -D), MUXFIX_REPLY_TIMEOUT_MS for what waits for the server
 * (session, -W, -R). A master that does not answer by then is made unable
 * to run what is pending (stall.h), and the client meets a closed
 * connection, as if the master had died. A signal handler that runs while
 * the read waits for an answer (the reply, or the answer to a session
 * request asked for again) ends the read with EINTR, nothing read, as it
 * ends ssh's own poll; ssh reads again and the wait goes on where it was,
 * to the same deadline. One that runs during a pause between requests, or
 * a replay, only shortens the pause (the replay's calls are made again).
 * (The ssh that starts a master with ControlPersist forks it into the
 * background and attaches to it as a client: the SIGCHLD of that fork may
 * come while its session waits for a slot.)
 *
 * When there is no master to go to and none coming, a failed write is
 * reported as done so that ssh meets the closed connection at its next read
 * and falls back to a direct connection (becoming the new master, holding
 * the crowd lock, when it may) instead of exiting 255.
 *
 * Only connections whose first packet is a mux hello are followed, only up
 * to the session reply, and only for requests that are safe to repeat
 * (hello, alive check, forwardings, session, stdio forwarding): -O exit,
 * -O stop, -O proxy and anything unknown end the following at once and go
 * through untouched. A call on any other descriptor costs one atomic load.
 * What is recorded and what may be replayed is decided in muxrec.h; this
 * file does the calls. MUXFIX_REPLAY=0 turns all of it off: the calls on a
 * client's connection are then never looked at, as without the library. */
#ifndef MUXFIX_FOLLOW_H
#define MUXFIX_FOLLOW_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The descriptor being followed, -1 when none. Read with follow_wants(). */
extern int muxfix_follow_fd;

static inline bool follow_wants(int fd)
{
    return __atomic_load_n(&muxfix_follow_fd, __ATOMIC_RELAXED) == fd && fd >= 0;
}

/* Connect FD, a fresh socket, to the managed control socket ADDR, after the
 * real connect returned RET, with the repairs a client's connect gets (dead
 * socket removed, waiting for a master being started) but without following
 * FD. 0 when FD is connected to a master that said hello. The replay gets it
 * from its caller (repair_reconnect) instead of calling up into repair.c. */
typedef int follow_reconnect_fn(int fd, const struct sockaddr *addr,
                                socklen_t len, int ret);

/* FD just connected to the managed control socket PATH (ADDR, LEN), and the
 * master said hello: follow it, reconnecting with RECONNECT if its master
 * goes away. AFTER_WAIT: the master was waited for while another ssh
 * started it (crowd.h), which the log says once the session is accepted.
 * Does nothing when MUXFIX_REPLAY=0. */
void follow_start(int fd, const struct sockaddr *addr, socklen_t len,
                  const char *path, follow_reconnect_fn *reconnect,
                  bool after_wait);

/* The calls on the followed descriptor. Each behaves as the real call unless
 * the connection broke under a replayable exchange. */
ssize_t follow_read(int fd, void *buf, size_t n);
ssize_t follow_write(int fd, const void *buf, size_t n);
ssize_t follow_sendmsg(int fd, const struct msghdr *msg, int flags);

#endif
