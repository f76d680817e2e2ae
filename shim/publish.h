/* publish.h: a master removes only the socket it published.
 *
 * At exit, on -O stop and in fatal cleanup an OpenSSH master unlink()s its
 * ControlPath by name, without checking that the path still holds its own
 * socket: a master whose path was taken over by a newer master deletes the
 * newer one's socket. muxfix remembers the inode each process published with
 * link() on a managed path and skips an unlink() of that path once it holds
 * another inode. Processes that published nothing pay one atomic load. */
#ifndef MUXFIX_PUBLISH_H
#define MUXFIX_PUBLISH_H

#include <stdbool.h>

/* link() just published PATH (a managed path) in this process. */
void publish_record(const char *path);

/* unlink(PATH) succeeded in this process: if PATH was the temporary name a
 * published socket was linked from, refresh what is remembered of it. */
void publish_after_unlink(const char *path);

/* Should unlink(PATH) be skipped because PATH now holds someone else's
 * socket? Only true for a path this process published. Keeps errno. */
bool publish_unlink_is_foreign(const char *path);

#endif
