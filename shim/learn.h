/* learn.h: ssh's own ControlPath, managed with no configuration.
 *
 * With MUXFIX_PATH unset, a path outside the default patterns is managed
 * once this ssh process shows that it is its ControlPath:
 *   - it publishes a master there: bind() of PATH.XXXXXXXXXXXXXXXX, or
 *     link() from that name to PATH (muxserver_listen()'s scheme: nothing
 *     else in ssh names a socket so);
 *   - its mux client's connect() to PATH is refused or finds nothing, and
 *     `ssh -G` with its own arguments names PATH as its controlpath
 *     (sshopts.h). The mux client's socket is the only blocking one without
 *     close-on-exec that ssh connects: the agent's has FD_CLOEXEC, glibc's
 *     nscd and ssh's forwarded Unix streams are non-blocking, so those
 *     never cost an `ssh -G`.
 * Only on those failing or publishing calls, and only in ssh: the
 * pass-through path looks at one atomic counter. A healthy connect to a
 * path that was not learnt in this process is passed through as before
 * (learning it would cost every ssh through a master an `ssh -G`).
 * $SSH_AUTH_SOCK is never learnt. With MUXFIX_PATH set, only its patterns
 * are managed (it narrows things down), and nothing is learnt.
 * Shared state (state.h): published once, the count only grows. */
#ifndef MUXFIX_LEARN_H
#define MUXFIX_LEARN_H

#include <stdbool.h>

#include "config.h"

/* Was PATH (or PATH without ssh's temporary suffix) learnt? */
bool learn_is_learnt(const char *path);

/* connect(FD, PATH) in this process was refused or found nothing, and PATH
 * is not otherwise managed: is it ssh's ControlPath? Learns it if so. */
bool learn_from_connect(const struct muxfix_config *cfg, int fd,
                        const char *path);

/* bind() of PATH failed, or link(OLDPATH, PATH) was called (OLDPATH NULL
 * for bind): is it ssh publishing a master at PATH (or at PATH without its
 * temporary suffix)? Learns it if so. */
bool learn_from_publish(const struct muxfix_config *cfg, const char *oldpath,
                        const char *path);

#endif
