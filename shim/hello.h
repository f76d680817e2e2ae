/* hello.h: the wedged-master check.
 *
 * An OpenSSH master speaks first: right after accept() it queues its
 * MUX_MSG_HELLO. Before OpenSSH 9.4 the client waits for it with no timeout,
 * so a stopped master (SIGSTOP, Ctrl-Z on a foreground `ssh -M`) hangs every
 * client forever. */
#ifndef MUXFIX_HELLO_H
#define MUXFIX_HELLO_H

#include "config.h"

/* FD just connected to the managed SOCKPATH. Wait up to the configured
 * timeout for the master's first byte without reading it. Returns 0 when it
 * came (or when the check does not apply); otherwise turns FD back into an
 * unconnected socket of the same type and flags and fails with ECONNREFUSED,
 * so ssh falls back as it does for a dead master. */
int hello_check(const struct muxfix_config *cfg, int fd, const char *sockpath);

#endif
