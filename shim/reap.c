/* reap.c: see reap.h. */
#include "reap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "classify.h"
#include "config.h"
#include "judge.h"
#include "log.h"
#include "trust.h"

/* getdents64 buffer: entries are read in batches of this size, on the stack
 * (readdir would allocate). */
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

/* Log why the entry FULL, judged V, stays (LEVEL: REPAIR for the socket
 * the caller met, DECISION in a sweep). */
static void log_kept(const char *full, const struct judge_verdict *v, int level)
{
    switch (v->kind) {
    case VERDICT_SYMLINK:
    case VERDICT_NOTSOCKET:
    case VERDICT_FOREIGN:
        log_msg(level,
                   "left %s alone: %s; remove it yourself if it is stale, "
                   "or use a ControlPath of your own", full,
                   v->kind == VERDICT_SYMLINK     ? "it is a symbolic link; "
                                                    "muxfix never follows one"
                   : v->kind == VERDICT_NOTSOCKET ? "it is not a socket"
                                                  : "it belongs to another user");
        break;
    case VERDICT_LIVE:
        log_msg(level, "left %s alone: a master is listening there", full);
        break;
    case VERDICT_UNKNOWN:
        log_msg(v->err == EAGAIN ? level : MUXFIX_LOG_REPAIR,
                   "left %s alone: %s", full,
                   v->err == EAGAIN ? "a master is listening there"
                                    : strerror(v->err));
        break;
    case VERDICT_LOCKED:
        log_msg(MUXFIX_LOG_REPAIR,
                   "left dead socket %s alone: %s", full,
                   v->detail != NULL && strcmp(v->detail, "held") == 0
                       ? "the directory's removal lock stayed taken for 2 s"
                       : "the directory's removal lock file is not a private "
                         "file of yours (another user made it?)");
        break;
    case VERDICT_CHANGED:
        if (v->left_at[0] != '\0')
            log_msg(MUXFIX_LOG_REPAIR,
                       "moved %s aside to %s and could not put it back "
                       "(something new took its place): nothing was deleted",
                       full, v->left_at);
        break;
    default:
        break;
    }
}

/* Judge NAME in DIR and remove it if dead. FULL is its whole path. True
 * when it is no longer there: we removed it (*REMOVED), or another remover
 * was quicker. */
static bool reap_entry(const struct ctl_dir *dir, const char *name,
                       const char *full, int level, bool *removed)
{
    const struct judging how = {.mode = JUDGE_REMOVE_IF_DEAD, .tmp_grace = false};
    struct judge_verdict v;

    judge_entry(dir->fd, name, &how, &v);
    *removed = v.kind == VERDICT_REMOVED;
    if (*removed)
        return true;
    log_kept(full, &v, level);
    return v.kind == VERDICT_ABSENT ||
           (v.kind == VERDICT_CHANGED && v.err == ENOENT);
}

static bool is_young_tmp_socket(int dfd, const char *name)
{
    struct stat st;

    if (!judge_is_tmp_name(name))
        return false;
    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
           judge_is_young(&st, false);
}

/* Examine one directory entry during a sweep. */
static void sweep_entry(const struct muxfix_config *cfg,
                        const struct ctl_dir *dir,
                        const struct linux_dirent64 *ent)
{
    char full[MUXFIX_SOCK_PATH_BUF];
    const char *name = ent->d_name;
    bool removed;

    if (ent->d_type != DT_SOCK && ent->d_type != DT_UNKNOWN)
        return;
    if (strcmp(name, dir->base) == 0 || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return;
    int n = snprintf(full, sizeof full, "%s%s%s", dir->path,
                     strcmp(dir->path, "/") == 0 ? "" : "/", name);
    if (n < 0 || (size_t)n >= MUXFIX_SUN_PATH_SIZE)
        return;
    if (!classify_path_is_managed(cfg, full) || is_young_tmp_socket(dir->fd, name))
        return;
    (void)reap_entry(dir, name, full, MUXFIX_LOG_DECISION, &removed);
    if (removed)
        log_msg(MUXFIX_LOG_REPAIR,
                   "removed dead control socket %s (no master listening; "
                   "found beside %s)", full, dir->base);
}

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

bool reap_dead_socket(const char *sockpath, const char *met_by)
{
    /* A repair starts from a managed path: the patterns are complete. */
    const struct muxfix_config *cfg = config_get_resolved();
    struct ctl_dir dir;
    int saved = errno;
    bool gone = false, removed = false;

    if (cfg == NULL)
        return false;
    if (trust_open_dir(sockpath, &dir)) {
        gone = reap_entry(&dir, dir.base, sockpath, MUXFIX_LOG_REPAIR, &removed);
        if (removed) {
            log_msg(MUXFIX_LOG_REPAIR,
                       "removed dead control socket %s (no master listening; "
                       "%s)", sockpath, met_by);
            sweep_directory(cfg, &dir);
        }
        ctl_dir_close(&dir);
    }
    errno = saved;
    return gone;
}
