/* reap.c: see reap.h. */
#include "reap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "config.h"
#include "ctldir.h"
#include "log.h"
#include "pattern.h"
#include "real.h"

/* ssh binds its temporary name, listens on it a moment later, and link()s
 * it into place: between bind and listen a live master's temporary socket
 * refuses. A dead-looking temporary socket is left alone for this long. */
#define TMP_SOCKET_GRACE_SECONDS 10
/* getdents64 buffer: entries are read in batches of this size, on the stack
 * (readdir would allocate, and the repair may run in a signal handler). */
#define DIRENT_BUF_SIZE 8192
/* Upper bound on entries examined by one sweep, so a huge directory cannot
 * turn a connect() into minutes of work. */
#define SWEEP_MAX_ENTRIES 100000

/* The kernel's record layout for getdents64(2): every member must be there
 * for d_reclen and d_name to sit at the right offsets, used or not. */
struct linux_dirent64 {
    uint64_t d_ino; /* cppcheck-suppress unusedStructMember */
    int64_t d_off;  /* cppcheck-suppress unusedStructMember */
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* How one entry is judged. The library's repair logs its decisions; a
 * single path judged for muxfix-probe logs nothing, and gives ssh's young
 * temporary names their grace (the sweep checks those before judging). */
struct judging {
    enum reap_mode mode;
    bool tmp_grace; /* a young ssh temporary name is not judged */
    int log_level;  /* 0: silent; else the level of a refusal: REPAIR for
                       the socket the caller met, DECISION in a sweep */
};

/* Probe PATH with a fresh non-blocking socket (a full backlog answers EAGAIN
 * instead of blocking). A live master sees a client that leaves at once.
 * Returns 0 when connected, else the errno. */
static int probe_socket(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sun.sun_path)
        return ENAMETOOLONG;
    memcpy(sun.sun_path, path, len + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int err = muxfix_real_connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0
                  ? 0
                  : errno;
    close(fd);
    return err;
}

/* VERDICT_SYMLINK, VERDICT_NOTSOCKET or VERDICT_FOREIGN when an entry with
 * status ST is not ours to judge; VERDICT_UNKNOWN when it is a socket of
 * ours, still to be probed. */
static enum reap_verdict_kind ownership(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return VERDICT_SYMLINK;
    if (!S_ISSOCK(st->st_mode))
        return VERDICT_NOTSOCKET;
    if (st->st_uid != geteuid())
        return VERDICT_FOREIGN;
    return VERDICT_UNKNOWN;
}

/* The log's words for what ownership() found. */
static const char *not_ours_reason(enum reap_verdict_kind kind)
{
    if (kind == VERDICT_SYMLINK)
        return "it is a symbolic link; muxfix never follows one";
    if (kind == VERDICT_NOTSOCKET)
        return "it is not a socket";
    return "it belongs to another user";
}

/* Is NAME ssh's temporary name ("ControlPath.XXXXXXXXXXXXXXXX")? */
static bool is_tmp_name(const char *name)
{
    size_t len = strlen(name);
    return muxfix_strip_tmp_suffix(name, len) != len;
}

/* Is an entry with status ST young enough that a live master may still be
 * between bind() and listen() on it? The sweep goes by the change time
 * (bind, and the link() that publishes the socket, set it); a single path
 * also needs a recent modification time (MTIME_TOO), so a socket aged with
 * touch -d is judged. When the clock cannot tell: young. */
static bool is_young(const struct stat *st, bool mtime_too)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return true;
    if (mtime_too && now.tv_sec - st->st_mtim.tv_sec >= TMP_SOCKET_GRACE_SECONDS)
        return false;
    return now.tv_sec - st->st_ctim.tv_sec < TMP_SOCKET_GRACE_SECONDS;
}

/* Inode numbers are reused at once: a socket removed by someone else and a
 * new master's socket can share st_ino. The change time (set by the link()
 * that published it, to the nanosecond) tells the two apart. */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_uid == b->st_uid && S_ISSOCK(b->st_mode) &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Another remover holds the directory lock for a few microseconds; a lock
 * that stays taken longer (a remover stopped with SIGSTOP) is given up on
 * rather than waited for: the file then simply stays. */
#define DIR_LOCK_TRIES 2000
#define DIR_LOCK_PAUSE_NS 1000000L

/* 0 once DFD is locked, else the errno (EWOULDBLOCK: it stayed taken). */
static int lock_directory(int dfd)
{
    const struct timespec pause = {.tv_nsec = DIR_LOCK_PAUSE_NS};
    for (int i = 0; i < DIR_LOCK_TRIES; i++) {
        if (flock(dfd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return errno;
        nanosleep(&pause, NULL);
    }
    return EWOULDBLOCK;
}

enum reap_result {
    REAP_KEPT,    /* not ours, not dead, or a new socket took its place */
    REAP_REMOVED, /* we removed the dead socket */
    REAP_GONE,    /* someone else removed it first: the way is clear */
};

/* The rename itself changes the change time: after the move only the inode
 * and type can be compared (the change time was checked right before). */
static bool same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_uid == b->st_uid && S_ISSOCK(b->st_mode);
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

static void verdict_init(struct reap_verdict *v)
{
    v->kind = VERDICT_UNKNOWN;
    v->err = 0;
    v->why = NULL;
    v->left_at[0] = '\0';
}

/* A lookup or rename of the entry failed with ERR. */
static void verdict_from_errno(struct reap_verdict *v, int err)
{
    v->kind = err == ENOENT ? VERDICT_ABSENT : VERDICT_UNKNOWN;
    v->err = err == ENOENT ? 0 : err;
}

/* Move NAME to ASIDE if it still is SEEN. True when it was moved (the
 * caller decides what becomes of it); otherwise *V says why not. */
static bool move_aside_if_same(int dfd, const char *name, const char *aside,
                               const struct stat *seen, struct reap_verdict *v)
{
    struct stat now;

    if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0) {
        v->kind = VERDICT_CHANGED; /* gone (ENOENT), or cannot tell */
        v->err = errno;
        return false;
    }
    if (!same_file(seen, &now)) {
        v->kind = VERDICT_CHANGED; /* a new socket took its place */
        return false;
    }
    if (renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE) != 0) {
        verdict_from_errno(v, errno);
        return false;
    }
    return true;
}

/* NAME in DFD was probed dead with status SEEN: under the directory lock,
 * move it aside, unlink it if what moved is SEEN, else put it back. */
static void remove_if_same_inode(int dfd, const char *name,
                                 const struct stat *seen, bool log,
                                 struct reap_verdict *v)
{
    char aside[REAP_ASIDE_BUF];
    struct stat now;

    if (!aside_name(name, aside, sizeof aside)) {
        verdict_from_errno(v, ENAMETOOLONG);
        return;
    }
    int err = lock_directory(dfd);
    if (err != 0) {
        verdict_from_errno(v, err);
        return;
    }
    if (move_aside_if_same(dfd, name, aside, seen, v)) {
        bool ours = fstatat(dfd, aside, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                    same_inode(seen, &now);
        v->kind = ours && unlinkat(dfd, aside, 0) == 0 ? VERDICT_REMOVED
                                                        : VERDICT_CHANGED;
        if (v->kind == VERDICT_CHANGED &&
            renameat2(dfd, aside, dfd, name, RENAME_NOREPLACE) != 0) {
            memcpy(v->left_at, aside, sizeof aside);
            if (log)
                muxfix_log(MUXFIX_LOG_REPAIR,
                           "moved %s aside to %s and could not put it back "
                           "(something new took its place): nothing was "
                           "deleted", name, aside);
        }
    }
    flock(dfd, LOCK_UN);
}

/* Log why a socket of ours that connect() did not find dead (ERR) stays.
 * ENOENT: another remover was quicker, nothing to say. */
static void log_not_dead(const char *full, int err, int level)
{
    bool listening = err == 0 || err == EAGAIN;

    if (level == 0 || err == ENOENT)
        return;
    muxfix_log(listening ? level : MUXFIX_LOG_REPAIR, "left %s alone: %s", full,
               listening ? "a master is listening there" : strerror(err));
}

/* Judge NAME in the directory DFD (AT_FDCWD: NAME is a path), FULL being
 * its whole path, as HOW says; remove it if dead and HOW->mode says so. */
static void judge_entry(int dfd, const char *name, const char *full,
                        const struct judging *how, struct reap_verdict *v)
{
    struct stat st;

    verdict_init(v);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        verdict_from_errno(v, errno);
        return;
    }
    v->kind = ownership(&st);
    if (v->kind != VERDICT_UNKNOWN) {
        if (how->log_level != 0)
            muxfix_log(how->log_level,
                       "left %s alone: %s; remove it yourself if it is stale, "
                       "or use a ControlPath of your own", full,
                       not_ours_reason(v->kind));
        return;
    }
    if (how->tmp_grace && is_tmp_name(name) && is_young(&st, true)) {
        v->kind = VERDICT_YOUNG_TEMP;
        return;
    }
    int err = probe_socket(full);
    if (err != ECONNREFUSED) {
        v->kind = err == 0 ? VERDICT_LIVE : VERDICT_UNKNOWN;
        v->err = err;
        log_not_dead(full, err, how->log_level);
        return;
    }
    v->kind = VERDICT_DEAD;
    if (how->mode == REAP_REMOVE_IF_DEAD)
        remove_if_same_inode(dfd, name, &st, how->log_level != 0, v);
}

/* Judge NAME in DIR and remove it if dead. FULL is its whole path. */
static enum reap_result reap_entry(const struct ctl_dir *dir, const char *name,
                                   const char *full, bool report_refusal)
{
    const struct judging how = {
        .mode = REAP_REMOVE_IF_DEAD,
        .tmp_grace = false,
        .log_level = report_refusal ? MUXFIX_LOG_REPAIR : MUXFIX_LOG_DECISION,
    };
    struct reap_verdict v;

    judge_entry(dir->fd, name, full, &how, &v);
    if (v.kind == VERDICT_REMOVED)
        return REAP_REMOVED;
    /* Absent, refused with ENOENT, or gone before the move: another
     * remover was quicker. */
    bool gone = v.kind == VERDICT_ABSENT ||
                ((v.kind == VERDICT_UNKNOWN || v.kind == VERDICT_CHANGED) &&
                 v.err == ENOENT);
    return gone ? REAP_GONE : REAP_KEPT;
}

static bool is_young_tmp_socket(int dfd, const char *name)
{
    struct stat st;

    if (!is_tmp_name(name))
        return false;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
           is_young(&st, false);
}

/* Examine one directory entry during a sweep. */
static void sweep_entry(const struct muxfix_config *cfg,
                        const struct ctl_dir *dir,
                        const struct linux_dirent64 *ent)
{
    char full[MUXFIX_SOCK_PATH_BUF];
    const char *name = ent->d_name;

    if (ent->d_type != DT_SOCK && ent->d_type != DT_UNKNOWN)
        return;
    if (strcmp(name, dir->base) == 0 || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return;
    int n = snprintf(full, sizeof full, "%s%s%s", dir->path,
                     strcmp(dir->path, "/") == 0 ? "" : "/", name);
    if (n < 0 || (size_t)n >= MUXFIX_SUN_PATH_SIZE)
        return;
    if (!muxfix_path_is_managed(cfg, full) || is_young_tmp_socket(dir->fd, name))
        return;
    if (reap_entry(dir, name, full, false) == REAP_REMOVED)
        muxfix_log(MUXFIX_LOG_REPAIR,
                   "removed dead control socket %s (no master listening; "
                   "found beside %s)", full, dir->base);
}

/* The seeds clean the whole directory; we get the same effect by removing
 * every confirmed-dead socket of ours at a managed path, and nothing else. */
static void sweep_directory(const struct muxfix_config *cfg,
                            const struct ctl_dir *dir)
{
    char buf[DIRENT_BUF_SIZE]
        __attribute__((aligned(__alignof__(struct linux_dirent64))));
    int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long seen = 0;

    if (fd < 0)
        return;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n && seen < SWEEP_MAX_ENTRIES; seen++) {
            const struct linux_dirent64 *ent = (void *)(buf + off);
            sweep_entry(cfg, dir, ent);
            off += ent->d_reclen;
        }
        if (seen >= SWEEP_MAX_ENTRIES)
            break;
    }
    close(fd);
}

bool reap_dead_socket(const char *sockpath, const char *why)
{
    const struct muxfix_config *cfg = muxfix_config();
    struct ctl_dir dir;
    int saved = errno;
    enum reap_result res = REAP_KEPT;

    if (cfg == NULL)
        return false;
    if (ctl_dir_open(sockpath, &dir)) {
        res = reap_entry(&dir, dir.base, sockpath, true);
        if (res == REAP_REMOVED) {
            muxfix_log(MUXFIX_LOG_REPAIR,
                       "removed dead control socket %s (no master listening; "
                       "%s)", sockpath, why);
            sweep_directory(cfg, &dir);
        }
        ctl_dir_close(&dir);
    }
    errno = saved;
    return res != REAP_KEPT;
}

/* The verdict for a directory ctl_dir_open_trusted() refused (ERR: errno). */
static void refused_dir_verdict(enum ctl_dir_refusal refusal, int err,
                                struct reap_verdict *v)
{
    if (refusal == CTL_DIR_CANNOT_STAT) {
        v->kind = VERDICT_UNKNOWN;
        v->err = err;
        return;
    }
    v->kind = VERDICT_UNTRUSTED_DIR;
    if (refusal == CTL_DIR_FOREIGN_OWNER)
        v->why = "foreign-owner";
    else if (refusal == CTL_DIR_OTHERS_CAN_WRITE)
        v->why = "writable-by-others";
    else if (err == ELOOP)
        v->why = "symlink";
    else if (err == ENOENT)
        v->kind = VERDICT_ABSENT;
    else
        v->err = err;
}

void reap_judge_path(const char *path, enum reap_mode mode,
                     struct reap_verdict *verdict)
{
    const struct judging how = {
        .mode = mode,
        .tmp_grace = mode != REAP_PROBE_ONLY,
        .log_level = 0,
    };
    char dirpath[PATH_MAX];
    enum ctl_dir_refusal refusal;

    verdict_init(verdict);
    if (mode == REAP_PROBE_ONLY) {
        judge_entry(AT_FDCWD, path, path, &how, verdict);
        return;
    }
    /* The directory is opened once, without following a symbolic link, and
     * every later step is relative to it: no path is resolved twice. */
    const char *name = ctl_dir_split(path, dirpath, sizeof dirpath);
    if (name == NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        verdict_from_errno(verdict, EINVAL);
        return;
    }
    int dfd = ctl_dir_open_trusted(dirpath, &refusal);
    if (dfd < 0) {
        refused_dir_verdict(refusal, errno, verdict);
        return;
    }
    judge_entry(dfd, name, path, &how, verdict);
    close(dfd);
}

const char *reap_verdict_word(enum reap_verdict_kind kind)
{
    static const char *const words[] = {
        [VERDICT_LIVE] = "live",
        [VERDICT_DEAD] = "dead",
        [VERDICT_REMOVED] = "removed",
        [VERDICT_ABSENT] = "absent",
        [VERDICT_NOTSOCKET] = "notsocket",
        [VERDICT_SYMLINK] = "symlink",
        [VERDICT_FOREIGN] = "foreign",
        [VERDICT_UNKNOWN] = "unknown",
        [VERDICT_UNTRUSTED_DIR] = "untrusted-dir",
        [VERDICT_YOUNG_TEMP] = "young-temp",
        [VERDICT_CHANGED] = "changed",
    };
    size_t i = (size_t)kind;
    return i < sizeof words / sizeof words[0] && words[i] != NULL ? words[i]
                                                                  : "unknown";
}
