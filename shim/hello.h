/* hello.h: is the master at the other end of a fresh connection alive?
 *
 * An OpenSSH master speaks first: right after accept() it queues its
 * MUX_MSG_HELLO. Before OpenSSH 9.4 the client waits for it with no timeout,
 * so a stopped master (SIGSTOP, Ctrl-Z on a foreground `ssh -M`) hangs every
 * client forever. A master that accepts and closes at once (ControlPersist
 * expiring, `-O exit` racing) makes ssh print "master hello exchange failed"
 * and go on without multiplexing. */
#ifndef MUXFIX_HELLO_H
#define MUXFIX_HELLO_H

#include "config.h"

enum hello_result {
    HELLO_OK,     /* the master spoke (nothing was read), or not applicable */
    HELLO_WEDGED, /* silent for MUXFIX_TIMEOUT_MS */
    HELLO_CLOSED, /* it closed the connection before saying anything */
};

/* FD just connected to the managed SOCKPATH: wait up to the configured
 * timeout for the master's first byte without consuming it. On WEDGED or
 * CLOSED, FD has been turned back into an unconnected socket of the same
 * type and flags, ready for another connect(). Keeps errno. */
enum hello_result hello_check(const struct muxfix_config *cfg, int fd,
                              const char *sockpath);

#endif
