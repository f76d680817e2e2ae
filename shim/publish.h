/* publish.h: what a process may unlink: a master removes only the socket
 * it published, and nobody removes another user's socket muxfix refused.
 *
 * At exit, on -O stop and in fatal cleanup an OpenSSH master unlink()s its
 * ControlPath by name, without checking that the path still holds its own
 * socket: a master whose path was taken over by a newer master deletes the
 * newer one's socket. muxfix remembers the inode each process published with
 * link() on a managed path and skips an unlink() of that path once it holds
 * another inode. Processes that published nothing pay one atomic load
 * (publish_any). */
#ifndef MUXFIX_PUBLISH_H
#define MUXFIX_PUBLISH_H

#include <stdbool.h>

/* link() just published PATH (a managed path) in this process. */
void publish_record(const char *path);

/* unlink(PATH) succeeded in this process: if PATH was the temporary name a
 * published socket was linked from, refresh what is remembered of it. */
void publish_after_unlink(const char *path);

/* FD got connected to the managed PATH, whose listener runs as UID, not as
 * us: log it, turn FD back into an unconnected socket, and remember the
 * socket so that this process never unlinks it (ssh with ControlMaster=auto
 * unlinks a path that refused it). Keeps errno. */
void publish_refuse_foreign(int fd, const char *path, unsigned uid);

/* Has this process published or refused any socket? Set once, the first
 * time (state.h); until then unlink() is the libc call and one load. */
extern __attribute__((visibility("hidden"))) int muxfix_publish_any;

static inline bool publish_any(void)
{
    return __atomic_load_n(&muxfix_publish_any, __ATOMIC_ACQUIRE) != 0;
}

enum publish_unlink {
    PUBLISH_UNLINK_GO,     /* unlink it */
    PUBLISH_UNLINK_SKIP,   /* a path this process published now holds a
                              newer master's socket: skip, report success */
    PUBLISH_UNLINK_REFUSE, /* another user's socket this process refused:
                              skip, fail with EPERM */
};

/* What unlink(PATH) should do in this process. Keeps errno. Processes that
 * published and refused nothing pay two atomic loads. */
enum publish_unlink publish_unlink_check(const char *path);

#endif
