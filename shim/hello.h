/* hello.h: is the master at the other end of a fresh connection alive?
 *
 * An OpenSSH master speaks first: right after accept() it queues its
 * MUX_MSG_HELLO. Before OpenSSH 9.4 the client waits for it with no timeout,
 * so a stopped master (SIGSTOP, Ctrl-Z on a foreground `ssh -M`) hangs every
 * client forever; since 9.4 ssh waits ConnectTimeout when it has one, then
 * says "master hello exchange failed" and goes on without the master. A
 * master that accepts and closes at once (ControlPersist expiring, `-O exit`
 * racing) makes ssh print "master hello exchange failed" and go on without
 * multiplexing.
 *
 * The deadline is ssh's own: its effective ConnectTimeout when it has one
 * (sshopts.h), MUXFIX_TIMEOUT_MS only when it has none. A healthy master
 * answers within the first HELLO_QUICK_MS, before anything is learnt, so
 * the ConnectTimeout (maybe an `ssh -G`) is looked up only for a master
 * that is slow. */
#ifndef MUXFIX_HELLO_H
#define MUXFIX_HELLO_H

#include "config.h"

enum hello_result {
    HELLO_OK,     /* the master spoke (nothing was read), or not applicable */
    HELLO_WEDGED, /* silent until the deadline */
    HELLO_CLOSED, /* it closed the connection before saying anything */
    /* Silent for ssh's own ConnectTimeout, in an ssh that times out the
     * hello itself (9.4+): FD was reset, so ssh's hello write fails at once
     * and ssh says its own "master hello exchange failed" (the time it
     * waited was its ConnectTimeout, spent here). */
    HELLO_LEFT_TO_SSH,
};

/* FD just connected to the managed SOCKPATH: wait up to the deadline for
 * the master's first byte without consuming it. On WEDGED, CLOSED and
 * LEFT_TO_SSH, FD has been turned back into an unconnected socket of the
 * same type and flags. Keeps errno. */
enum hello_result hello_check(const struct muxfix_config *cfg, int fd,
                              const char *sockpath);

#endif
