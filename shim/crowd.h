/* crowd.h: one master per ControlPath when many ssh start at once.
 *
 * An ssh that finds no master on a managed path and is going to become one
 * (intent.h) takes an exclusive flock on "DIR/.NAME.muxfix-lock" and holds
 * it until it publishes its socket (link) or exits: the kernel releases a
 * flock when its holder dies, so a would-be master that crashes, fails to
 * log in or never publishes releases the others at once. Every other ssh
 * that finds no master while the lock is held waits (MUXFIX_WAIT_MS at most)
 * for the socket to accept, then attaches as an ordinary mux client. When
 * nobody holds the lock nobody waits. The lock file's existence means
 * nothing; it is never removed. */
#ifndef MUXFIX_CROWD_H
#define MUXFIX_CROWD_H

#include <sys/socket.h>

#include "config.h"

/* connect(FD, ADDR) to the managed PATH found no master (ENOENT). Returns
 * 0 when FD got connected to a master that was waited for (its hello is
 * still to be checked), else -1 with errno ENOENT (ssh then connects directly, and becomes the
 * master if it is the one holding the lock). */
int crowd_no_master(const struct muxfix_config *cfg, int fd,
                    const struct sockaddr *addr, socklen_t len,
                    const char *path);

/* The master at PATH is wedged (FD was reset by hello_check). When another
 * ssh is already taking over, wait for it (MUXFIX_WAIT_MS) and connect FD
 * again: 0 when connected (check its hello), -1 with errno otherwise.
 * Otherwise -1 with ECONNREFUSED: ssh goes on without the master, and one
 * with ControlMaster=auto, holding the lock, replaces it. */
int crowd_wedged(const struct muxfix_config *cfg, int fd,
                 const struct sockaddr *addr, socklen_t len, const char *path);

/* PATH was published or given up on by this process (link returned): let
 * the waiting crowd go. */
void crowd_release(const char *path);

#endif
