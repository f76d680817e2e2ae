/* util.h: small helpers every module shares: the monotonic clock, bounded
 * pauses, and telling whether two stats are the same file.
 *
 * No allocation; async-signal-safe calls only (clock_gettime, nanosleep,
 * write), but they serve the repair path, which is not (state.h). */
#ifndef MUXFIX_UTIL_H
#define MUXFIX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define UTIL_NS_PER_MS 1000000L
#define UTIL_MS_PER_S 1000L

/* Milliseconds on CLOCK_MONOTONIC. */
long util_now_ms(void);

/* Sleep about MS milliseconds (less than a second). */
void util_pause_ms(long ms);

/* Same inode of the same filesystem, same owner, and B is a socket. Inode
 * numbers are reused at once, so this alone does not tell a removed socket
 * from a new one at the same name: see util_same_socket. */
bool util_same_inode(const struct stat *a, const struct stat *b);

/* util_same_inode and the same change time to the nanosecond: the link()
 * that publishes a socket sets it, so a new master's socket that got a
 * reused inode number still differs. */
bool util_same_socket(const struct stat *a, const struct stat *b);

/* Write all LEN bytes of BUF to FD through the real write() (never the
 * library's own), restarting after signals; gives up silently on an error.
 * Changes errno. */
void util_write_all(int fd, const void *buf, size_t len);

#endif
