/* keep.h: a live master keeps its name.
 *
 * Anything may remove a live master's socket: rm, `find ... -type s
 * -delete` (a troubleshooting guide's own advice), tmpfiles cleaning, a
 * stuck master's removal (stall.h), and an older master that exits: ssh
 * unlinks its ControlPath by name at exit whatever socket is there by then,
 * so an old plain-ssh master that was replaced deletes the new master's
 * name when it finally leaves. The master then runs on, unreachable, and
 * every later ssh logs in again.
 *
 * A master that publishes its socket under muxfix (link() on a managed
 * path) gets a second hard link to the same socket, ".NAME.muxfix-keep" in
 * the same (trusted) directory. A client whose connect() finds no socket at
 * NAME, and a live socket of its own uid under the private name, links it
 * back to NAME and connects. The master removes the private name with its
 * own (at exit, on -O stop) while it still is its socket; a master that
 * died leaves it dead, and it goes as any dead socket does. */
#ifndef MUXFIX_KEEP_H
#define MUXFIX_KEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* The private name of the control socket NAME (its last component), into
 * OUT (SIZE bytes); false when it does not fit. */
bool keep_name(const char *name, char *out, size_t size);

/* This process just published a socket at the managed PATH (its link()
 * returned 0): give it its private second name. Keeps errno. */
void keep_publish(const char *path);

/* This process, which published PATH, removed that name (or found a newer
 * master's socket there at exit): remove the private name too while it is
 * still this process's socket. Keeps errno. */
void keep_forget(const char *path);

/* connect() to the managed PATH found nothing there: when the private name
 * holds a live socket of ours, link it back to PATH. True when PATH holds
 * a socket again (put back here, or by someone else meanwhile). Keeps
 * errno. */
bool keep_restore(const char *path);

/* The socket of status ST lost its name at PATH because its master is
 * stuck (stall.h): remove its private name too, if it is that socket.
 * Keeps errno. */
void keep_drop(const char *path, const struct stat *st);

#endif
