/* logfile.h: open MUXFIX_LOG for one append, or refuse it.
 *
 * MUXFIX_LOG may name a file in a directory other users can write (/tmp).
 * Another user could then pre-create the file (mode 0666: our log lines are
 * theirs to read), plant a symbolic link as the file or as any directory on
 * the way to it (our lines land in a directory of theirs), or swap the file
 * after we checked it. So every open
 *   - resolves the path without following a symbolic link in any component
 *     (openat2 RESOLVE_NO_SYMLINKS; a walk with O_NOFOLLOW where the kernel
 *     lacks openat2),
 *   - never blocks (O_NONBLOCK: a FIFO without a reader) and never acquires
 *     a controlling terminal,
 *   - keeps the file only if it is a regular file owned by the effective uid
 *     with no other hard link (checked on the open fd, so not racy).
 *
 * A leaf: no configuration, no logging, no allocation (stack buffers only),
 * and errno is set only on failure. */
#ifndef MUXFIX_LOGFILE_H
#define MUXFIX_LOGFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Why logfile_open refused a path. */
enum muxfix_logfile_refusal {
    MUXFIX_LOGFILE_OPENED,        /* not refused */
    MUXFIX_LOGFILE_SYMLINK,       /* a symbolic link in the path (ELOOP) */
    MUXFIX_LOGFILE_NOT_REGULAR,   /* a directory, FIFO, socket or device */
    MUXFIX_LOGFILE_FOREIGN_OWNER, /* another uid's file (EPERM) */
    MUXFIX_LOGFILE_HARD_LINKED,   /* more than one hard link (EMLINK) */
    MUXFIX_LOGFILE_SHARED_DIR,    /* its directory lets another user rename
                                     files into its name (EACCES) */
    MUXFIX_LOGFILE_OPEN_FAILED,   /* the open failed: see error */
};

struct muxfix_logfile_verdict {
    enum muxfix_logfile_refusal refusal;
    int error;   /* errno of the failure */
    uid_t owner; /* the file's owner, for MUXFIX_LOGFILE_FOREIGN_OWNER */
};

/* Open PATH for appending (creating it with mode 0600), as described above.
 * Returns the fd, or -1 with errno set. With VERDICT non-NULL, a failed open
 * also looks at what is there, so that VERDICT says, e.g., that an unwritable
 * file is another user's rather than just EACCES. */
int logfile_open(const char *path, struct muxfix_logfile_verdict *verdict);

/* VERDICT in words for a warning line ("owned by another user (uid 1001)"),
 * written to BUF (SIZE bytes) when it needs formatting. */
const char *logfile_reason(const struct muxfix_logfile_verdict *verdict,
                                  char *buf, size_t size);

#endif
