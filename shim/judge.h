/* judge.h: telling a dead control socket from a live one, and removing only
 * the dead one. Mechanism only: no configuration, no log (the library's
 * policy is in reap.h; muxfix-probe links this directly).
 *
 * Every step goes through one directory descriptor, opened without
 * following a symbolic link, and through one O_PATH descriptor of the entry
 * itself: its status is read from that descriptor, and the liveness probe
 * connects through /proc/self/fd/N to that very inode. A rename race on the
 * name or on any directory of the path cannot make the probe see one socket
 * and the removal act on another.
 *
 * Dead means: the entry is a socket owned by our euid, and a probe connect()
 * on a fresh socket gets ECONNREFUSED. Anything else (timeout, EAGAIN from a
 * full backlog, EACCES, EMFILE, no /proc, ...) is inconclusive and the file
 * stays. Removal happens only in a trusted directory (ctldir.h), under the
 * user's removal lock of that directory (a 0600 file of ours, never the
 * directory itself, which anyone who can open it could lock): the name is
 * moved aside with renameat2(RENAME_NOREPLACE) to ".NAME.muxfix-dead.<rnd>"
 * if it still holds the inode that was probed (same change time), and what
 * moved is unlinked only if it is that socket; otherwise it is put back. */
#ifndef MUXFIX_JUDGE_H
#define MUXFIX_JUDGE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "sockpath.h"

enum judge_mode {
    JUDGE_PROBE_ONLY,     /* status and probe; no directory check */
    JUDGE_CHECK_ONLY,     /* every check of JUDGE_REMOVE_IF_DEAD but the act */
    JUDGE_REMOVE_IF_DEAD, /* remove it if it is a dead socket of ours in a
                             trusted directory */
};

enum judge_verdict_kind {
    VERDICT_LIVE,          /* a socket of ours, and connect() succeeded */
    VERDICT_DEAD,          /* a socket of ours, connect() got ECONNREFUSED */
    VERDICT_REMOVED,       /* ... and it was removed */
    VERDICT_ABSENT,        /* nothing at PATH (or its directory is missing) */
    VERDICT_NOTSOCKET,     /* something that is not a socket */
    VERDICT_SYMLINK,       /* a symbolic link (never followed) */
    VERDICT_FOREIGN,       /* a socket owned by another user (not probed) */
    VERDICT_UNKNOWN,       /* cannot tell: ERR says why (EAGAIN: a master is
                              there but its backlog is full) */
    VERDICT_UNTRUSTED_DIR, /* the directory is not safe to change: DETAIL,
                              or ERR when it could not be opened */
    VERDICT_YOUNG_TEMP,    /* ssh's temporary name, under 10 s old */
    VERDICT_CHANGED,       /* the name no longer held the probed socket */
    VERDICT_LOCKED,        /* dead, but the removal lock could not be had:
                              DETAIL says why, ERR the errno */
};

/* Room for ".NAME.muxfix-dead.<16 hex digits>" of any removable NAME. */
#define JUDGE_ASIDE_BUF (MUXFIX_SOCK_PATH_BUF * 2)

struct judge_verdict {
    enum judge_verdict_kind kind;
    int err;            /* the errno: VERDICT_UNKNOWN, VERDICT_LOCKED;
                           VERDICT_UNTRUSTED_DIR without DETAIL;
                           VERDICT_CHANGED when the name could not be looked
                           up again (ENOENT: it went); else 0 */
    const char *detail; /* VERDICT_UNTRUSTED_DIR: "symlink", "foreign-owner",
                           "writable-by-others" or "unsafe-path" (a
                           directory above it others can change); VERDICT_LOCKED:
                           "held" (taken for 2 s) or "foreign-lock" (the
                           lock file is not a private file of ours) */
    unsigned owner;     /* VERDICT_FOREIGN: the socket's uid */
    char left_at[JUDGE_ASIDE_BUF]; /* VERDICT_CHANGED: the name the entry
                           stayed at when it could not be put back, else "" */
};

/* How an entry is judged. */
struct judging {
    enum judge_mode mode;
    bool tmp_grace; /* a young ssh temporary name is not judged */
};

/* Judge NAME in the directory DFD (AT_FDCWD: NAME is a path, and only
 * JUDGE_PROBE_ONLY makes sense) as HOW says. For the other modes DFD must be
 * a directory opened with ctl_dir_open_trusted(). */
void judge_entry(int dfd, const char *name, const struct judging *how,
                 struct judge_verdict *v);

/* Remove NAME in DFD (opened with ctl_dir_open_trusted()) if it still is
 * the socket of ours whose status was SEEN (inode and change time), without
 * a probe: the name of a live master that the caller found stuck and told
 * to stop listening, having checked by its own means that this master
 * listens there (stall.h). The same removal as for a dead socket: under the
 * removal lock, moved aside, checked, unlinked or put back. VERDICT_REMOVED
 * when it went. */
void judge_remove_stuck(int dfd, const char *name, const struct stat *seen,
                        struct judge_verdict *v);

/* Judge PATH (any length; relative to the working directory) in MODE. The
 * directory is checked and the socket removed only in JUDGE_CHECK_ONLY and
 * JUDGE_REMOVE_IF_DEAD, where a young ssh temporary name is not judged. */
void judge_path(const char *path, enum judge_mode mode, struct judge_verdict *v);

/* The word for KIND: "live", "dead", "removed", "absent", "notsocket",
 * "symlink", "foreign", "unknown", "untrusted-dir", "young-temp",
 * "changed", "locked". */
const char *judge_verdict_word(enum judge_verdict_kind kind);

/* Is NAME ssh's temporary name ("ControlPath.XXXXXXXXXXXXXXXX")? */
bool judge_is_tmp_name(const char *name);

/* Is an entry with status ST young enough that a live master may still be
 * between bind() and listen() on it? By change time; MTIME_TOO also needs a
 * recent modification time, so a socket aged with touch -d is judged. */
bool judge_is_young(const struct stat *st, bool mtime_too);

#endif
