/* judge.c: see judge.h. */
#include "judge.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctldir.h"
#include "pattern.h"
#include "real.h"
#include "util.h"

/* ssh binds its temporary name, listens on it a moment later, and link()s
 * it into place: between bind and listen a live master's temporary socket
 * refuses. A dead-looking temporary socket is left alone for this long. */
#define TMP_SOCKET_GRACE_SECONDS 10

/* The probe reaches the entry's inode through its O_PATH descriptor. */
#define PROC_FD_FMT "/proc/self/fd/%d"

/* Probe the socket open as the O_PATH descriptor PFD with a fresh
 * non-blocking socket (a full backlog answers EAGAIN instead of blocking).
 * Connecting through /proc/self/fd/N reaches that inode and no other,
 * whatever has been renamed since it was opened. A live master sees a
 * client that leaves at once. Returns 0 when connected, else the errno;
 * EOPNOTSUPP when /proc cannot be used (inconclusive, like any error). */
static int probe_inode(int pfd)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    (void)snprintf(sun.sun_path, sizeof sun.sun_path, PROC_FD_FMT, pfd);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int err = real_connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0
                  ? 0
                  : errno;
    close(fd);
    /* ENOENT cannot come from the inode we hold open: /proc is missing. */
    return err == ENOENT || err == ENOTDIR ? EOPNOTSUPP : err;
}

/* VERDICT_SYMLINK, VERDICT_NOTSOCKET or VERDICT_FOREIGN when an entry with
 * status ST is not ours to judge; VERDICT_UNKNOWN when it is a socket of
 * ours, still to be probed. */
static enum judge_verdict_kind ownership(const struct stat *st)
{
    if (!S_ISSOCK(st->st_mode))
        return S_ISLNK(st->st_mode) ? VERDICT_SYMLINK : VERDICT_NOTSOCKET;
    return st->st_uid != geteuid() ? VERDICT_FOREIGN : VERDICT_UNKNOWN;
}

bool judge_is_tmp_name(const char *name)
{
    size_t len = strlen(name);
    return pattern_strip_tmp_suffix(name, len) != len;
}

bool judge_is_young(const struct stat *st, bool mtime_too)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return true;
    if (mtime_too && now.tv_sec - st->st_mtim.tv_sec >= TMP_SOCKET_GRACE_SECONDS)
        return false;
    return now.tv_sec - st->st_ctim.tv_sec < TMP_SOCKET_GRACE_SECONDS;
}

/* ---- the removal lock ----
 * Removers of one user in one directory take turns: a 0600 regular file of
 * ours in it, ".muxfix-lock" where only we can create files, and
 * ".muxfix-lock-UID" in a directory others may create files in (sticky, like
 * /tmp). Nobody else can open it, so nobody else can hold it; a file of that
 * name that is not ours (created there first by another user) is reported
 * and nothing is removed. */
#define LOCK_NAME MUXFIX_LOCK_NAME
#define LOCK_NAME_BUF (sizeof LOCK_NAME + 16)
#define LOCK_FILE_MODE (S_IRUSR | S_IWUSR)
/* Another remover holds the lock for microseconds; one that keeps it
 * longer (stopped with SIGSTOP) is given up on and the file stays. */
#define LOCK_TRIES 2000
#define LOCK_PAUSE_MS 1

static void lock_name(int dfd, char out[LOCK_NAME_BUF])
{
    struct stat st;
    uid_t euid = geteuid();
    bool private_dir = fstat(dfd, &st) == 0 && st.st_uid == euid &&
                       (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
    if (private_dir)
        (void)snprintf(out, LOCK_NAME_BUF, "%s", LOCK_NAME);
    else
        (void)snprintf(out, LOCK_NAME_BUF, "%s-%u", LOCK_NAME, (unsigned)euid);
}

/* The removal lock of DFD, taken: its fd, or -1 with *V set. */
static int lock_for_removal(int dfd, struct judge_verdict *v)
{
    char name[LOCK_NAME_BUF];
    struct stat st;

    lock_name(dfd, name);
    int fd = openat(dfd, name,
                    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                        O_NOCTTY,
                    LOCK_FILE_MODE);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid() || st.st_nlink != 1 ||
        (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        v->kind = VERDICT_LOCKED;
        v->detail = "foreign-lock";
        v->err = fd < 0 ? errno : EPERM;
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (int i = 0; i < LOCK_TRIES; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR)
            break;
        util_pause_ms(LOCK_PAUSE_MS);
    }
    v->kind = VERDICT_LOCKED;
    v->detail = "held";
    v->err = errno == EINTR ? EWOULDBLOCK : errno;
    close(fd);
    return -1;
}

/* Let go of the lock. flock() locks belong to the open file description: a
 * child forked meanwhile by another thread shares it, so unlock first. */
static void unlock_removal(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

/* Where the pid goes in the fallback name when getrandom() is unavailable. */
#define ASIDE_PID_SHIFT 32

/* A private name for an entry moved aside: unpredictable, so nobody can
 * rename anything onto it between our rename and our check. False when it
 * does not fit in OUT. */
static bool aside_name(const char *name, char *out, size_t size)
{
    uint64_t r = 0;
    struct timespec ts;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << ASIDE_PID_SHIFT);
    }
    int n = snprintf(out, size, ".%s.muxfix-dead.%016llx", name,
                     (unsigned long long)r);
    return n >= 0 && (size_t)n < size;
}

static void verdict_init(struct judge_verdict *v)
{
    v->kind = VERDICT_UNKNOWN;
    v->err = 0;
    v->detail = NULL;
    v->owner = 0;
    v->left_at[0] = '\0';
}

/* A lookup or rename of the entry failed with ERR. */
static void verdict_from_errno(struct judge_verdict *v, int err)
{
    v->kind = err == ENOENT ? VERDICT_ABSENT : VERDICT_UNKNOWN;
    v->err = err == ENOENT ? 0 : err;
}

/* Move NAME to ASIDE if it still is SEEN. True when it was moved (the
 * caller decides what becomes of it); otherwise *V says why not. */
static bool move_aside_if_same(int dfd, const char *name, const char *aside,
                               const struct stat *seen, struct judge_verdict *v)
{
    struct stat now;

    if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0) {
        v->kind = VERDICT_CHANGED; /* gone (ENOENT), or cannot tell */
        v->err = errno;
        return false;
    }
    if (!util_same_socket(seen, &now)) {
        v->kind = VERDICT_CHANGED; /* a new socket took its place */
        return false;
    }
    if (renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE) != 0) {
        verdict_from_errno(v, errno);
        return false;
    }
    return true;
}

/* NAME in DFD was probed dead with status SEEN: under the removal lock,
 * move it aside, unlink it if what moved is SEEN, else put it back. */
static void remove_if_same_inode(int dfd, const char *name,
                                 const struct stat *seen,
                                 struct judge_verdict *v)
{
    char aside[JUDGE_ASIDE_BUF];
    struct stat now;

    if (!aside_name(name, aside, sizeof aside)) {
        verdict_from_errno(v, ENAMETOOLONG);
        return;
    }
    int lockfd = lock_for_removal(dfd, v);
    if (lockfd < 0)
        return;
    if (move_aside_if_same(dfd, name, aside, seen, v)) {
        /* The rename changed the change time: only the inode and type can
         * be compared now (the change time was checked right before). */
        bool ours = fstatat(dfd, aside, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                    util_same_inode(seen, &now);
        v->kind = ours && unlinkat(dfd, aside, 0) == 0 ? VERDICT_REMOVED
                                                        : VERDICT_CHANGED;
        if (v->kind == VERDICT_CHANGED &&
            renameat2(dfd, aside, dfd, name, RENAME_NOREPLACE) != 0)
            memcpy(v->left_at, aside, sizeof aside);
    }
    unlock_removal(lockfd);
}

void judge_entry(int dfd, const char *name, const struct judging *how,
                 struct judge_verdict *v)
{
    struct stat st;

    verdict_init(v);
    /* One descriptor of the entry itself: its status and the probe both
     * come from this inode, whatever is renamed meanwhile. */
    int pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0) {
        verdict_from_errno(v, errno);
        return;
    }
    if (fstat(pfd, &st) != 0) {
        verdict_from_errno(v, errno);
        close(pfd);
        return;
    }
    v->kind = ownership(&st);
    v->owner = (unsigned)st.st_uid;
    if (v->kind != VERDICT_UNKNOWN) {
        close(pfd);
        return;
    }
    if (how->tmp_grace && judge_is_tmp_name(name) && judge_is_young(&st, true)) {
        v->kind = VERDICT_YOUNG_TEMP;
        close(pfd);
        return;
    }
    int err = probe_inode(pfd);
    close(pfd);
    if (err != ECONNREFUSED) {
        v->kind = err == 0 ? VERDICT_LIVE : VERDICT_UNKNOWN;
        v->err = err;
        return;
    }
    v->kind = VERDICT_DEAD;
    if (how->mode == JUDGE_REMOVE_IF_DEAD)
        remove_if_same_inode(dfd, name, &st, v);
}

void judge_remove_stuck(int dfd, const char *name, const struct stat *seen,
                        struct judge_verdict *v)
{
    verdict_init(v);
    v->kind = ownership(seen);
    v->owner = (unsigned)seen->st_uid;
    if (v->kind != VERDICT_UNKNOWN)
        return;
    remove_if_same_inode(dfd, name, seen, v);
}

/* The verdict for a directory ctl_dir_open_trusted() refused (ERR: errno). */
static void refused_dir_verdict(enum ctl_dir_refusal refusal, int err,
                                struct judge_verdict *v)
{
    if (refusal == CTL_DIR_CANNOT_STAT) {
        v->kind = VERDICT_UNKNOWN;
        v->err = err;
        return;
    }
    v->kind = VERDICT_UNTRUSTED_DIR;
    if (refusal == CTL_DIR_FOREIGN_OWNER)
        v->detail = "foreign-owner";
    else if (refusal == CTL_DIR_OTHERS_CAN_WRITE)
        v->detail = "writable-by-others";
    else if (refusal == CTL_DIR_UNSAFE_PATH)
        v->detail = "unsafe-path";
    else if (err == ELOOP)
        v->detail = "symlink";
    else if (err == ENOENT)
        v->kind = VERDICT_ABSENT;
    else
        v->err = err;
}

void judge_path(const char *path, enum judge_mode mode, struct judge_verdict *v)
{
    const struct judging how = {
        .mode = mode,
        .tmp_grace = mode != JUDGE_PROBE_ONLY,
    };
    char dirpath[PATH_MAX];
    enum ctl_dir_refusal refusal;

    verdict_init(v);
    if (mode == JUDGE_PROBE_ONLY) {
        judge_entry(AT_FDCWD, path, &how, v);
        return;
    }
    /* The directory is opened once, without following a symbolic link, and
     * every later step is relative to it: no path is resolved twice. */
    const char *name = ctl_dir_split(path, dirpath, sizeof dirpath);
    if (name == NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        verdict_from_errno(v, EINVAL);
        return;
    }
    int dfd = ctl_dir_open_trusted(dirpath, &refusal);
    if (dfd < 0) {
        refused_dir_verdict(refusal, errno, v);
        return;
    }
    judge_entry(dfd, name, &how, v);
    close(dfd);
}

const char *judge_verdict_word(enum judge_verdict_kind kind)
{
    /* In the order of enum judge_verdict_kind. */
    static const char *const words[] = {
        "live",    "dead",    "removed",       "absent",     "notsocket", "symlink",
        "foreign", "unknown", "untrusted-dir", "young-temp", "changed",   "locked",
    };
    _Static_assert(sizeof words / sizeof words[0] == VERDICT_LOCKED + 1,
                   "one word per verdict");
    size_t i = (size_t)kind;
    return i < sizeof words / sizeof words[0] ? words[i] : "unknown";
}
