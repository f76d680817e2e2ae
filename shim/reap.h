/* reap.h: the library's removal policy. A managed control socket that was
 * refused is removed when judge.h finds it dead, and so is every other dead
 * socket of ours at a managed path in the same directory (the seeds' "clean
 * the whole directory", without ever touching a live socket). Every
 * decision is logged. */
#ifndef MUXFIX_REAP_H
#define MUXFIX_REAP_H

#include <stdbool.h>

/* SOCKPATH (a managed path) was refused: if it is a dead socket of ours,
 * remove it, and every other dead socket of ours at a managed path in the
 * same directory. True when the dead socket is no longer there (we removed
 * it, or another remover did first), so retrying the call makes sense.
 * MET_BY says what met the socket, for the log ("connect was refused"). Keeps errno. */
bool reap_dead_socket(const char *sockpath, const char *met_by);

#endif
