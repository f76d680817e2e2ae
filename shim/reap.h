/* reap.h: telling a dead control socket from a live one, and removing only
 * the dead one.
 *
 * Dead means: lstat (no symlink followed) shows a socket owned by our euid,
 * and a probe connect() on a fresh socket gets ECONNREFUSED. Anything else
 * (timeout, EAGAIN from a full backlog, EACCES, EMFILE, ENOMEM, ...) is
 * inconclusive and the file stays. Right before unlinkat() the name must
 * still hold the inode that was probed. */
#ifndef MUXFIX_REAP_H
#define MUXFIX_REAP_H

#include <stdbool.h>

/* SOCKPATH (a managed path) was refused: if it is a dead socket of ours,
 * remove it, and every other dead socket of ours at a managed path in the
 * same directory. True when the dead socket is no longer there (we removed
 * it, or another remover did first), so retrying the call makes sense. WHY
 * names the call that met the socket, for the log. Keeps errno. */
bool reap_dead_socket(const char *sockpath, const char *why);

#endif
