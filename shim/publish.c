/* publish.c: see publish.h. */
#include "publish.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sockpath.h"
#include "keep.h"
#include "log.h"
#include "pattern.h"
#include "sock.h"
#include "util.h"

/* ssh publishes one ControlPath per process; a few slots leave room for
 * programs that publish more. Further paths are simply not guarded. */
#define PUBLISH_SLOTS 4

struct published {
    dev_t dev;
    ino_t ino;
    struct timespec ctime;
    char path[MUXFIX_SOCK_PATH_BUF];
};

/* Shared state (state.h): published once; the counts only grow, and
 * muxfix_publish_any is set after either first grows. */
static struct published slots[PUBLISH_SLOTS];
static int nslots;
int muxfix_publish_any;

static void remember(struct published *slot, const struct stat *st)
{
    slot->dev = st->st_dev;
    slot->ino = st->st_ino;
    slot->ctime = st->st_ctim;
}

/* Inode numbers are reused as soon as a file is gone, so a newer master's
 * socket may carry the number ours had; the change time, to the nanosecond,
 * tells them apart. */
static bool is_remembered(const struct published *slot, const struct stat *st)
{
    return st->st_dev == slot->dev && st->st_ino == slot->ino &&
           st->st_ctim.tv_sec == slot->ctime.tv_sec &&
           st->st_ctim.tv_nsec == slot->ctime.tv_nsec;
}

void publish_record(const char *path)
{
    struct stat st;
    int saved = errno;
    int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);

    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        int i = 0;
        while (i < n && strcmp(slots[i].path, path) != 0)
            i++;
        if (i < PUBLISH_SLOTS) {
            remember(&slots[i], &st);
            strcpy(slots[i].path, path);
            if (i == n) {
                __atomic_store_n(&nslots, n + 1, __ATOMIC_RELEASE);
                __atomic_store_n(&muxfix_publish_any, 1, __ATOMIC_RELEASE);
            }
        }
    }
    errno = saved;
}

void publish_after_unlink(const char *path)
{
    int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
    if (n == 0 || path == NULL)
        return;
    /* A master removing its own name (exit, -O stop) takes the private
     * one with it. */
    keep_forget(path);

    /* ssh unlinks its temporary name right after link(): that changes the
     * published inode's change time, which is what we compare at exit. */
    int saved = errno;
    size_t len = strnlen(path, MUXFIX_SOCK_PATH_BUF);
    size_t base = pattern_strip_tmp_suffix(path, len);
    for (int i = 0; i < n && base != len; i++) {
        struct stat st;
        if (strlen(slots[i].path) == base &&
            strncmp(slots[i].path, path, base) == 0 &&
            lstat(slots[i].path, &st) == 0 && st.st_dev == slots[i].dev &&
            st.st_ino == slots[i].ino)
            remember(&slots[i], &st);
    }
    errno = saved;
}

/* Sockets of other users this process refused to talk to: ssh with
 * ControlMaster=auto unlinks a refused ControlPath ("Stale control socket,
 * unlinking"); in a directory where it could, it must not remove another
 * user's socket because muxfix called it refused. */
#define REFUSED_SLOTS 4

static struct published refused[REFUSED_SLOTS];
static int nrefused;

void publish_refuse_foreign(int fd, const char *path, unsigned uid)
{
    int saved = errno;
    struct stat st;
    int n = __atomic_load_n(&nrefused, __ATOMIC_ACQUIRE);

    sock_reset(fd);
    log_msg(MUXFIX_LOG_REPAIR,
               "refused the control socket %s: its master runs as uid %u, not "
               "as you (uid %u); ssh goes on without it", path, uid,
               (unsigned)geteuid());
    if (n < REFUSED_SLOTS && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_uid != geteuid()) {
        remember(&refused[n], &st);
        strcpy(refused[n].path, path);
        __atomic_store_n(&nrefused, n + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&muxfix_publish_any, 1, __ATOMIC_RELEASE);
    }
    errno = saved;
}

/* Is PATH a refused socket of another user, still in place? */
static bool is_refused(const char *path)
{
    int n = __atomic_load_n(&nrefused, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(refused[i].path, path) == 0 && lstat(path, &st) == 0 &&
            is_remembered(&refused[i], &st))
            return true;
    }
    return false;
}

enum publish_unlink publish_unlink_check(const char *path)
{
    int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
    if (path == NULL || (n == 0 && __atomic_load_n(&nrefused, __ATOMIC_ACQUIRE) == 0))
        return PUBLISH_UNLINK_GO;

    int saved = errno;
    enum publish_unlink verdict = PUBLISH_UNLINK_GO;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(slots[i].path, path) != 0)
            continue;
        if (lstat(path, &st) == 0 && !is_remembered(&slots[i], &st)) {
            verdict = PUBLISH_UNLINK_SKIP;
            keep_forget(path);
            log_msg(MUXFIX_LOG_REPAIR,
                       "did not remove %s at exit: it is no longer the socket "
                       "this master published (a newer master owns it)", path);
        }
        break;
    }
    if (verdict == PUBLISH_UNLINK_GO && is_refused(path)) {
        verdict = PUBLISH_UNLINK_REFUSE;
        log_msg(MUXFIX_LOG_DECISION,
                   "did not let ssh remove %s: it is another user's socket",
                   path);
    }
    errno = saved;
    return verdict;
}
