/* stall.h: a master that does not answer a client in time.
 *
 * A master process that is fine while its connection to the server is not
 * (laptop suspend, Wi-Fi or VPN switch, NAT timeout, a frozen server)
 * answers the hello and the alive check itself, then holds the session
 * request until the server answers: by default forever (ServerAliveInterval
 * is off), and ssh 9.2 waits with poll(-1). A master stopped after its
 * hello (SIGSTOP, Ctrl-Z on a foreground ssh -M) answers nothing at all.
 *
 * Giving up is not enough: measured with OpenSSH 9.2, a session request
 * waiting on a stalled master is not cancelled when its client goes; when
 * the server resumes, the master opens the session and runs the command.
 * A client that falls back to its own login would run it twice. So before
 * ssh goes on without the master, the request is made sure never to run:
 *
 * - A session or stdio forwarding request is pending: the master is the
 *   process holding the other end of the client's connection (unix_diag),
 *   of our uid. If its TCP connection received data since the request was
 *   sent (tcp_info's last_data_recv), the server is alive and only slow:
 *   wait on. Otherwise it is frozen (SIGSTOP), the client's connection and
 *   its TCP connection are looked at again (an answer, or data received
 *   since the request, and it is let go on), and it is ended (SIGKILL): the
 *   command is sent to the server only by the master, after the server
 *   opened the channel, which it could not have seen. Its other sessions
 *   were stalled too; its socket is left dead and removed as any dead one.
 * - Nothing that could run is pending (the hello, alive check or a
 *   forwarding): the master is told to stop listening (ssh -O stop: it
 *   finishes its own sessions and leaves, once it runs again), and its name
 *   is removed if it still listens there, so that a new master can take
 *   the ControlPath. The process itself is left alone.
 *
 * A master that cannot be found (not of our uid, no /proc, no sock_diag)
 * is never signalled: the client then waits on, as plain ssh does. */
#ifndef MUXFIX_STALL_H
#define MUXFIX_STALL_H

#include <stdbool.h>
#include <sys/types.h>

enum stall_verdict {
    STALL_ANSWERED, /* an answer is there now: ssh reads it */
    STALL_PROGRESS, /* the server is sending: wait another period */
    STALL_ENDED,    /* the master will neither answer nor run what is
                       pending: ssh goes on without it */
    STALL_UNSURE,   /* what is pending could not be made sure never to run:
                       wait on, as plain ssh does */
};

/* The master at PATH has not answered on FD, a mux client's connection,
 * within WAITED_MS. PENDING: a session or stdio forwarding request is
 * unanswered, sent SINCE_MS ago. PID_HINT: the master's pid from its alive
 * reply, 0 if none. Logs what it found and did. Keeps errno. */
enum stall_verdict stall_handle(int fd, const char *path, bool pending,
                                pid_t pid_hint, long waited_ms, long since_ms);

#endif
