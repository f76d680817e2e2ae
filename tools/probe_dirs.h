/* probe_dirs.h: the directories the managed patterns can put sockets in
 * (`muxfix-probe dirs`, and `muxfix clean` without a directory).
 *
 * The directory part of each absolute MUXFIX_PATH pattern is expanded
 * against the filesystem one '/'-separated segment at a time with the
 * library's own matcher (pattern.h): a segment without '*', '?', '[' or '%'
 * is taken as written; any other is matched against the names in the
 * directory reached so far, so %-tokens and '*' match any name and %% a
 * '%' exactly as the library matches a socket path ("." and ".." are never
 * matched). A relative pattern names a different directory in every
 * process: it is skipped. */
#ifndef MUXFIX_PROBE_DIRS_H
#define MUXFIX_PROBE_DIRS_H

#include <stdbool.h>

#include "config.h"

typedef void (*probe_dir_fn)(const char *dir, void *arg);

/* Call FN for every existing directory (or symbolic link to one) that the
 * patterns of CFG can put a socket in, each path once, in the order of the
 * patterns, after the whole walk. False when the walk stopped at its bound
 * (a pattern such as "/ * / * / * /x" on a large tree), after a line on
 * stderr; FN has still been called for what was found. */
bool probe_managed_dirs(const struct muxfix_config *cfg, probe_dir_fn fn,
                        void *arg);

#endif
