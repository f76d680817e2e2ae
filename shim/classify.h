/* classify.h: which socket paths muxfix manages.
 *
 * A path is managed when it is a filesystem Unix-socket path (not abstract,
 * not unnamed), matches a MUXFIX_PATH pattern (or is ssh's temporary
 * "pattern-match.XXXXXXXXXXXXXXXX" name), and is not $SSH_AUTH_SOCK.
 * No allocation, no locks, async-signal-safe: the pass-through path
 * (state.h). */
#ifndef MUXFIX_CLASSIFY_H
#define MUXFIX_CLASSIFY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "sockpath.h"
#include "config.h"

/* Copy the filesystem path of a Unix sockaddr (parsed within LEN) into OUT,
 * NUL-terminated. False for other families, abstract and unnamed addresses.
 * Call only after the kernel accepted ADDR (the call did not fail EFAULT). */
bool classify_sockaddr_path(const struct sockaddr *addr, socklen_t len,
                          char out[MUXFIX_SOCK_PATH_BUF]);

/* Is PATH a path muxfix may repair? */
bool classify_path_is_managed(const struct muxfix_config *cfg, const char *path);

/* Is ADDR (LEN bytes) an AF_UNIX address? The cheap first test; whether
 * it names a file is classify_sockaddr_path's. */
bool classify_is_unix(const struct sockaddr *addr, socklen_t len);

#endif
