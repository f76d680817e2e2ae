/* sshver.h: which OpenSSH this process is, read from its own binary.
 *
 * OpenSSH 9.4 and later apply ConnectTimeout to the mux hello themselves
 * (mux.c, mux_client_hello_exchange(sock, timeout_ms)): their own
 * "master hello exchange failed" should stand. Earlier ones wait forever.
 * The version is the literal SSH_RELEASE ("OpenSSH_10.5p1",
 * "OpenSSH_9.2p1 Debian-2+deb12u10") in the program's read-only data:
 * found there once, without running anything, and only on the path of a
 * master that is slow to say hello. */
#ifndef MUXFIX_SSHVER_H
#define MUXFIX_SSHVER_H

#include <stdbool.h>

/* MAJOR * 100 + MINOR (904 for 9.4), or 0 when not found. */
int sshver_get(void);

/* Does this ssh time out the mux hello itself with ConnectTimeout? */
bool sshver_times_out_hello(void);

#endif
