/* keep.c: see keep.h. */
#include "keep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "judge.h"
#include "log.h"
#include "sockpath.h"
#include "trust.h"
#include "util.h"

#define KEEP_SUFFIX MUXFIX_KEEP_SUFFIX
/* Room for ".NAME.muxfix-keep" and a temporary ".NAME.muxfix-keep.<hex>". */
#define KEEP_BUF (MUXFIX_SOCK_PATH_BUF + sizeof KEEP_SUFFIX + 24)

/* The socket this process published and named twice (an ssh master
 * publishes one ControlPath). Shared state (state.h): published once; FLAG
 * is the claim, the rest is written before it is set. */
static struct {
    int flag; /* 0 free, 1 being written, 2 published */
    dev_t dev;
    ino_t ino;
    char path[MUXFIX_SOCK_PATH_BUF];
} kept;

bool keep_name(const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, ".%s%s", name, KEEP_SUFFIX);
    return n > 0 && (size_t)n < size;
}

/* Link NAME to a fresh temporary name, then rename it over KEEP: the
 * private name never stops existing while it moves to the new socket. */
static bool link_as(int dfd, const char *name, const char *keep)
{
    char tmp[KEEP_BUF];
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (unsigned long long)util_now_ms() ^ (unsigned long long)getpid();
    int n = snprintf(tmp, sizeof tmp, "%s.%016llx", keep, r);
    if (n <= 0 || (size_t)n >= sizeof tmp ||
        linkat(dfd, name, dfd, tmp, 0) != 0)
        return false;
    if (renameat(dfd, tmp, dfd, keep) == 0)
        return true;
    (void)unlinkat(dfd, tmp, 0);
    return false;
}

void keep_publish(const char *path)
{
    int saved = errno;
    struct ctl_dir dir;
    struct stat st;
    char keep[KEEP_BUF];
    int expected = 0;

    if (!__atomic_compare_exchange_n(&kept.flag, &expected, 1, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    if (!trust_open_dir(path, &dir)) {
        __atomic_store_n(&kept.flag, 0, __ATOMIC_RELEASE);
        errno = saved;
        return;
    }
    bool ok = fstatat(dir.fd, dir.base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              S_ISSOCK(st.st_mode) && st.st_uid == geteuid() &&
              keep_name(dir.base, keep, sizeof keep) &&
              link_as(dir.fd, dir.base, keep);
    ctl_dir_close(&dir);
    if (ok) {
        kept.dev = st.st_dev;
        kept.ino = st.st_ino;
        strcpy(kept.path, path);
        log_msg(MUXFIX_LOG_DECISION,
                "the master at %s also has the private name %s, to get its "
                "name back if something removes it", path, keep);
    }
    __atomic_store_n(&kept.flag, ok ? 2 : 0, __ATOMIC_RELEASE);
    errno = saved;
}

/* Remove the private name of DIR's socket while it is DEV, INO. */
static void unlink_keep_if(const struct ctl_dir *dir, dev_t dev, ino_t ino)
{
    char keep[KEEP_BUF];
    struct stat st;
    if (keep_name(dir->base, keep, sizeof keep) &&
        fstatat(dir->fd, keep, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino)
        (void)unlinkat(dir->fd, keep, 0);
}

void keep_forget(const char *path)
{
    struct ctl_dir dir;
    if (__atomic_load_n(&kept.flag, __ATOMIC_ACQUIRE) != 2 || path == NULL ||
        strcmp(kept.path, path) != 0)
        return;
    int saved = errno;
    if (trust_open_dir(path, &dir)) {
        unlink_keep_if(&dir, kept.dev, kept.ino);
        ctl_dir_close(&dir);
    }
    errno = saved;
}

void keep_drop(const char *path, const struct stat *st)
{
    int saved = errno;
    struct ctl_dir dir;
    if (trust_open_dir(path, &dir)) {
        unlink_keep_if(&dir, st->st_dev, st->st_ino);
        ctl_dir_close(&dir);
    }
    errno = saved;
}

bool keep_restore(const char *path)
{
    int saved = errno;
    struct ctl_dir dir;
    struct stat st;
    char keep[KEEP_BUF];
    struct judge_verdict v = {.kind = VERDICT_UNKNOWN};
    const struct judging probe = {.mode = JUDGE_PROBE_ONLY};
    const struct judging reap = {.mode = JUDGE_REMOVE_IF_DEAD};
    bool back = false;

    if (!trust_open_dir(path, &dir)) {
        errno = saved;
        return false;
    }
    if (fstatat(dir.fd, dir.base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        back = true; /* something is there again */
    } else if (keep_name(dir.base, keep, sizeof keep)) {
        judge_entry(dir.fd, keep, &probe, &v);
        if (v.kind == VERDICT_LIVE) {
            back = linkat(dir.fd, keep, dir.fd, dir.base, 0) == 0 ||
                   errno == EEXIST;
            if (back)
                log_msg(MUXFIX_LOG_REPAIR,
                        "put back the name of the live master at %s (its "
                        "socket had been removed; it was kept as %s/%s)",
                        path, dir.path, keep);
        } else if (v.kind == VERDICT_DEAD) {
            judge_entry(dir.fd, keep, &reap, &v);
        }
    }
    ctl_dir_close(&dir);
    errno = saved;
    return back;
}
