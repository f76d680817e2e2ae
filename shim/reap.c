/* reap.c: see reap.h. */
#include "reap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

enum liveness { SOCKET_DEAD, SOCKET_LIVE, SOCKET_UNKNOWN };

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

/* Probe PATH with a fresh non-blocking socket (a full backlog answers EAGAIN
 * instead of blocking). A live master sees a client that leaves at once. */
static enum liveness probe_socket(const char *path, int *err)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sun.sun_path) {
        *err = ENAMETOOLONG;
        return SOCKET_UNKNOWN;
    }
    memcpy(sun.sun_path, path, len + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return SOCKET_UNKNOWN;
    }
    int rc = muxfix_real_connect(fd, (struct sockaddr *)&sun, sizeof sun);
    *err = rc == 0 ? 0 : errno;
    close(fd);
    if (rc == 0 || *err == EAGAIN)
        return SOCKET_LIVE;
    return *err == ECONNREFUSED ? SOCKET_DEAD : SOCKET_UNKNOWN;
}

/* Why NAME in DIR, with status ST, is not ours to judge, or NULL. */
static const char *not_ours_reason(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return "it is a symbolic link; muxfix never follows one";
    if (!S_ISSOCK(st->st_mode))
        return "it is not a socket";
    if (st->st_uid != geteuid())
        return "it belongs to another user";
    return NULL;
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

static bool lock_directory(int dfd)
{
    const struct timespec pause = {.tv_nsec = DIR_LOCK_PAUSE_NS};
    for (int i = 0; i < DIR_LOCK_TRIES; i++) {
        if (flock(dfd, LOCK_EX | LOCK_NB) == 0)
            return true;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return false;
        nanosleep(&pause, NULL);
    }
    return false;
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
 * rename anything onto it between our rename and our check. */
static void aside_name(const char *name, char *out, size_t size)
{
    uint64_t r = 0;
    struct timespec ts;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << ASIDE_PID_SHIFT);
    }
    (void)snprintf(out, size, ".%s.muxfix-dead.%016llx", name, (unsigned long long)r);
}

/* Move NAME to ASIDE if it still is SEEN. Returns REAP_REMOVED when it was
 * moved (the caller decides what becomes of it), otherwise the result. */
static enum reap_result move_aside_if_same(int dfd, const char *name,
                                           const char *aside,
                                           const struct stat *seen)
{
    struct stat now;
    bool present = fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0;

    if (present && !same_file(seen, &now))
        return REAP_KEPT; /* a new socket took its place */
    if (!present || renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE) != 0)
        return errno == ENOENT ? REAP_GONE : REAP_KEPT;
    return REAP_REMOVED;
}

static enum reap_result remove_if_same_inode(int dfd, const char *name,
                                             const struct stat *seen)
{
    char aside[MUXFIX_SOCK_PATH_BUF * 2];
    struct stat now;

    if (!lock_directory(dfd))
        return REAP_KEPT;
    aside_name(name, aside, sizeof aside);
    enum reap_result res = move_aside_if_same(dfd, name, aside, seen);
    if (res == REAP_REMOVED) {
        bool ours = fstatat(dfd, aside, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                    same_inode(seen, &now);
        if (!ours || unlinkat(dfd, aside, 0) != 0) {
            res = REAP_KEPT;
            if (renameat2(dfd, aside, dfd, name, RENAME_NOREPLACE) != 0)
                muxfix_log(MUXFIX_LOG_REPAIR,
                           "moved %s aside to %s and could not put it back "
                           "(something new took its place): nothing was "
                           "deleted", name, aside);
        }
    }
    flock(dfd, LOCK_UN);
    return res;
}

/* Judge NAME in DIR and remove it if dead. FULL is its whole path. */
static enum reap_result reap_entry(const struct ctl_dir *dir, const char *name,
                                   const char *full, bool report_refusal)
{
    struct stat st;
    int err;

    if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? REAP_GONE : REAP_KEPT;
    const char *why = not_ours_reason(&st);
    if (why != NULL) {
        muxfix_log(report_refusal ? MUXFIX_LOG_REPAIR : MUXFIX_LOG_DECISION,
                   "left %s alone: %s; remove it yourself if it is stale, "
                   "or use a ControlPath of your own", full, why);
        return REAP_KEPT;
    }
    enum liveness state = probe_socket(full, &err);
    if (state == SOCKET_UNKNOWN && err == ENOENT)
        return REAP_GONE; /* another remover was quicker */
    if (state != SOCKET_DEAD) {
        bool notable = report_refusal || state == SOCKET_UNKNOWN;
        muxfix_log(notable ? MUXFIX_LOG_REPAIR : MUXFIX_LOG_DECISION,
                   "left %s alone: %s", full,
                   state == SOCKET_LIVE
                       ? "a master is listening there"
                       : strerror(err));
        return REAP_KEPT;
    }
    return remove_if_same_inode(dir->fd, name, &st);
}

static bool is_young_tmp_socket(int dfd, const char *name)
{
    size_t len = strlen(name);
    struct stat st;
    struct timespec now;

    if (muxfix_strip_tmp_suffix(name, len) == len)
        return false;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        clock_gettime(CLOCK_REALTIME, &now) != 0)
        return true;
    return now.tv_sec - st.st_ctim.tv_sec < TMP_SOCKET_GRACE_SECONDS;
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
