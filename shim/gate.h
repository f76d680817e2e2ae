/* gate.h: the gate between the pass-through and the repair: is an address
 * (or link()'s new name) one the repair code should see? Policy (it reads
 * the configuration), and in the code every process runs on its
 * Unix-socket calls (the Makefile's HOT_SRC, shim/hot.ld): only past it
 * does a call reach repair.c. */
#ifndef MUXFIX_GATE_H
#define MUXFIX_GATE_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

/* The configuration, its patterns complete, when ADDR (LEN bytes, accepted
 * by the kernel and let through by the pass-through's filter) is a managed
 * path or, in a process that learns ssh's ControlPath (learn.h), a Unix
 * path; NULL when it is not, or while the configuration is being read
 * (pass through). Reads the configuration on first use; the home
 * directories behind '~' are looked up only for a path that could match a
 * '~' pattern whatever they are, or in a process that learns. Copies
 * nothing (the repair copies the path); keeps errno. Only then is
 * repair_after_* called. */
const struct muxfix_config *gate_sockaddr(const struct sockaddr *addr, socklen_t len);

/* The same for PATH, N bytes (link()'s new name). */
const struct muxfix_config *gate_path(const char *path, size_t n);

#endif
