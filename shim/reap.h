/* reap.h: telling a dead control socket from a live one, and removing only
 * the dead one.
 *
 * Dead means: lstat (no symlink followed) shows a socket owned by our euid,
 * and a probe connect() on a fresh socket gets ECONNREFUSED. Anything else
 * (timeout, EAGAIN from a full backlog, EACCES, EMFILE, ENOMEM, ...) is
 * inconclusive and the file stays. Removal happens only in a trusted
 * directory (ctldir.h), under an exclusive flock on it: the name is moved
 * aside with renameat2(RENAME_NOREPLACE) to ".NAME.muxfix-dead.<random>"
 * if it still holds the inode that was probed (same change time), and what
 * moved is unlinked only if it is that socket; otherwise it is put back. */
#ifndef MUXFIX_REAP_H
#define MUXFIX_REAP_H

#include <stdbool.h>

#include "compat.h"

/* SOCKPATH (a managed path) was refused: if it is a dead socket of ours,
 * remove it, and every other dead socket of ours at a managed path in the
 * same directory. True when the dead socket is no longer there (we removed
 * it, or another remover did first), so retrying the call makes sense. WHY
 * names the call that met the socket, for the log. Keeps errno. */
bool reap_dead_socket(const char *sockpath, const char *why);

/* ---- one path, judged on its own (muxfix-probe) ----
 * No MUXFIX_PATH check, no sweep of the directory, nothing logged. */

enum reap_mode {
    REAP_PROBE_ONLY,     /* lstat and connect; no directory check */
    REAP_CHECK_ONLY,     /* every check of REAP_REMOVE_IF_DEAD but the act */
    REAP_REMOVE_IF_DEAD, /* remove PATH if it is a dead socket of ours in a
                            trusted directory */
};

enum reap_verdict_kind {
    VERDICT_LIVE,          /* a socket of ours, and connect() succeeded */
    VERDICT_DEAD,          /* a socket of ours, connect() got ECONNREFUSED */
    VERDICT_REMOVED,       /* ... and it was removed */
    VERDICT_ABSENT,        /* nothing at PATH (or its directory is missing) */
    VERDICT_NOTSOCKET,     /* something that is not a socket */
    VERDICT_SYMLINK,       /* a symbolic link (never followed) */
    VERDICT_FOREIGN,       /* a socket owned by another user (not probed) */
    VERDICT_UNKNOWN,       /* cannot tell: ERR says why (EAGAIN: a master is
                              there but its backlog is full) */
    VERDICT_UNTRUSTED_DIR, /* the directory is not safe to change: WHY, or
                              ERR when it could not be opened */
    VERDICT_YOUNG_TEMP,    /* ssh's temporary name, under 10 s old */
    VERDICT_CHANGED,       /* the name no longer held the probed socket */
};

/* Room for ".NAME.muxfix-dead.<16 hex digits>" of any removable NAME. */
#define REAP_ASIDE_BUF (MUXFIX_SOCK_PATH_BUF * 2)

struct reap_verdict {
    enum reap_verdict_kind kind;
    int err;         /* the errno: VERDICT_UNKNOWN; VERDICT_UNTRUSTED_DIR
                        without WHY; VERDICT_CHANGED when the name could
                        not be looked up again (ENOENT: it went); else 0 */
    const char *why; /* VERDICT_UNTRUSTED_DIR: "symlink", "foreign-owner" or
                        "writable-by-others"; otherwise NULL */
    char left_at[REAP_ASIDE_BUF]; /* VERDICT_CHANGED: the name the entry
                        stayed at when it could not be put back, else "" */
};

/* Judge PATH (any length; relative to the working directory) in MODE. The
 * directory is checked and the socket removed only in REAP_CHECK_ONLY and
 * REAP_REMOVE_IF_DEAD, where a young ssh temporary name is not judged. */
void reap_judge_path(const char *path, enum reap_mode mode,
                     struct reap_verdict *verdict);

/* The word for KIND: "live", "dead", "removed", "absent", "notsocket",
 * "symlink", "foreign", "unknown", "untrusted-dir", "young-temp",
 * "changed". */
const char *reap_verdict_word(enum reap_verdict_kind kind);

#endif
