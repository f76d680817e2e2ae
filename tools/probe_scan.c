/* probe_scan.c: see probe_scan.h. */
#include "probe_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify.h"
#include "ctldir.h"
#include "probe_out.h"
#include "sockpath.h"

/* The file name of muxfix's locks: the removal lock is ".muxfix-lock" or
 * ".muxfix-lock-UID" (judge.c), a ControlPath's crowd lock
 * ".NAME.muxfix-lock" (crowd.c). Regular files of no interest to anyone. */
#define LOCK_NAME MUXFIX_LOCK_NAME
#define LOCK_NAME_LEN (sizeof LOCK_NAME - 1)

/* A directory entry's path: the directory, '/', a name of at most NAME_MAX. */
#define FULL_PATH_BUF (PATH_MAX + NAME_MAX + 2)

struct dir_seen {
    int fd;       /* the descriptor to list and judge through, or -1 */
    bool trusted; /* FD came from ctl_dir_open_trusted() */
    const char *word;
    char detail[PATH_MAX];
    long uid, mode;
};

static const char *errno_word(int err)
{
    const char *name = strerrorname_np(err);
    return name != NULL ? name : "EUNKNOWN";
}

static void set_detail(char *detail, size_t size, const char *s)
{
    (void)snprintf(detail, size, "%s", s);
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool is_muxfix_lock(const char *name, const struct stat *st)
{
    size_t len = strlen(name);

    if (!S_ISREG(st->st_mode) || name[0] != '.')
        return false;
    if (strncmp(name, LOCK_NAME, LOCK_NAME_LEN) == 0 &&
        (name[LOCK_NAME_LEN] == '\0' ||
         (name[LOCK_NAME_LEN] == '-' && all_digits(name + LOCK_NAME_LEN + 1))))
        return true;
    return len > LOCK_NAME_LEN + 1 &&
           strcmp(name + len - LOCK_NAME_LEN, LOCK_NAME) == 0;
}

/* What `stat -c %F` says of a file, for "not a socket (...)". */
static const char *type_text(const struct stat *st)
{
    if (S_ISREG(st->st_mode))
        return st->st_size == 0 ? "regular empty file" : "regular file";
    if (S_ISDIR(st->st_mode))
        return "directory";
    if (S_ISFIFO(st->st_mode))
        return "fifo";
    if (S_ISCHR(st->st_mode))
        return "character special file";
    if (S_ISBLK(st->st_mode))
        return "block special file";
    if (S_ISLNK(st->st_mode))
        return "symbolic link";
    return S_ISSOCK(st->st_mode) ? "socket" : "unknown type";
}

/* The target of the symbolic link NAME in DFD into DETAIL. */
static void link_target(int dfd, const char *name, char *detail, size_t size)
{
    ssize_t n = readlinkat(dfd, name, detail, size - 1);
    detail[n > 0 ? (size_t)n : 0] = '\0';
}

/* Our own directory that others can write to is still listed, read only,
 * so that its sockets are reported: nothing is removed from it. */
static int open_own_for_listing(const char *dir)
{
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Why ctl_dir_open_trusted() could not open DIR (ERR: its errno), into DS;
 * DS->mode is lstat()'s when DS->uid is set. */
static void refused_dir(const char *dir, enum ctl_dir_refusal why, int err,
                        struct dir_seen *ds)
{
    switch (why) {
    case CTL_DIR_FOREIGN_OWNER:
        ds->word = "foreign-owner";
        return;
    case CTL_DIR_OTHERS_CAN_WRITE:
        ds->word = "writable-by-others";
        ds->fd = open_own_for_listing(dir);
        return;
    case CTL_DIR_UNSAFE_PATH:
        ds->word = "unsafe-path";
        return;
    case CTL_DIR_CANNOT_STAT:
        ds->word = "unknown";
        set_detail(ds->detail, sizeof ds->detail, errno_word(err));
        return;
    default:
        break;
    }
    if (ds->uid != PROBE_NO_UID && S_ISLNK((mode_t)ds->mode)) {
        ds->word = "symlink";
        link_target(AT_FDCWD, dir, ds->detail, sizeof ds->detail);
    } else if (err == ENOENT) {
        ds->word = "absent";
        ds->uid = PROBE_NO_UID;
        ds->mode = -1;
    } else if (err == ENOTDIR) {
        ds->word = "notdir";
    } else {
        ds->word = "unknown";
        set_detail(ds->detail, sizeof ds->detail, errno_word(err));
    }
}

/* Open DIR by the library's rule and describe it. */
static void see_dir(const char *dir, struct dir_seen *ds)
{
    enum ctl_dir_refusal why;
    struct stat st;

    ds->fd = -1;
    ds->trusted = false;
    ds->detail[0] = '\0';
    ds->uid = PROBE_NO_UID;
    ds->mode = -1;
    int fd = ctl_dir_open_trusted(dir, &why);
    int err = errno;
    if (fd >= 0 ? fstat(fd, &st) == 0 : lstat(dir, &st) == 0) {
        ds->uid = (long)st.st_uid;
        ds->mode = (long)st.st_mode;
    }
    if (fd < 0) {
        refused_dir(dir, why, err, ds);
        return;
    }
    ds->fd = fd;
    ds->trusted = true;
    ds->word = "trusted";
}

/* A verdict on a socket of ours (the kinds an untrusted directory hides). */
static bool is_our_socket(enum judge_verdict_kind kind)
{
    return kind == VERDICT_LIVE || kind == VERDICT_DEAD ||
           kind == VERDICT_UNKNOWN || kind == VERDICT_YOUNG_TEMP;
}

/* Print the record of NAME in DFD (path FULL, status ST) judged V. */
static void put_entry(FILE *out, int dfd, const char *name, const char *full,
                      const struct stat *st, const struct judge_verdict *v)
{
    char detail[PATH_MAX] = "";

    switch (v->kind) {
    case VERDICT_UNKNOWN:
        set_detail(detail, sizeof detail, errno_word(v->err));
        break;
    case VERDICT_NOTSOCKET:
        set_detail(detail, sizeof detail, type_text(st));
        break;
    case VERDICT_SYMLINK:
        link_target(dfd, name, detail, sizeof detail);
        break;
    case VERDICT_LOCKED:
        set_detail(detail, sizeof detail, v->detail != NULL ? v->detail : "");
        break;
    default:
        break;
    }
    if (v->left_at[0] != '\0') {
        (void)fputs("muxfix-probe: left the entry at ", stderr);
        probe_put_shown(stderr, v->left_at);
        (void)fputs(" (its name was taken meanwhile)\n", stderr);
    }
    const struct probe_record r = {
        .kind = "entry",
        .word = judge_verdict_word(v->kind),
        .detail = detail,
        .uid = (long)st->st_uid,
        .mode = (long)st->st_mode,
        .path = full,
    };
    probe_put_record(out, &r);
}

static bool chosen(const struct scan_how *how, const char *full,
                   const struct stat *st)
{
    bool managed = classify_path_is_managed(how->cfg, full);

    switch (how->filter) {
    case SCAN_MANAGED:
        return managed;
    case SCAN_SOCKETS:
        return managed || S_ISSOCK(st->st_mode) || S_ISLNK(st->st_mode);
    default:
        return managed || !S_ISDIR(st->st_mode);
    }
}

/* The path of NAME in DIR, into FULL; false when it does not fit. */
static bool join(char *full, size_t size, const char *dir, const char *name)
{
    size_t len = strlen(dir);
    bool slash = len > 0 && dir[len - 1] == '/';
    int n = snprintf(full, size, "%s%s%s", dir, slash ? "" : "/", name);
    return n >= 0 && (size_t)n < size;
}

/* Is NAME a private second name, ".BASE.muxfix-keep" (keep.h)? BASE into
 * BASE (SIZE bytes); false when it is not, or BASE does not fit. */
static bool keep_base(const char *name, char *base, size_t size)
{
    size_t len = strlen(name), slen = sizeof MUXFIX_KEEP_SUFFIX - 1;
    if (name[0] != '.' || len <= 1 + slen ||
        strcmp(name + len - slen, MUXFIX_KEEP_SUFFIX) != 0 ||
        len - 1 - slen >= size)
        return false;
    memcpy(base, name + 1, len - 1 - slen);
    base[len - 1 - slen] = '\0';
    return true;
}

/* muxfix clean: NAME in DS (trusted) is the live private second name of a
 * master whose socket's name is gone (rm, find -delete, an old master's
 * exit: keep.h). Link it back, never over anything (linkat fails when the
 * name came back meanwhile), and say so: WORD "relinked", or "orphan" when
 * HOW only checks (--dry-run). */
static void relink_orphan(FILE *out, const char *dir, const struct dir_seen *ds,
                          const char *name, const struct stat *st,
                          const struct scan_how *how)
{
    char base[NAME_MAX + 1], full[FULL_PATH_BUF];
    struct stat now;
    if (!keep_base(name, base, sizeof base) || !join(full, sizeof full, dir, base) ||
        fstatat(ds->fd, base, &now, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
        return;
    bool relink = how->mode == JUDGE_REMOVE_IF_DEAD;
    if (relink && linkat(ds->fd, name, ds->fd, base, 0) != 0)
        return;
    const struct probe_record r = {
        .kind = "entry",
        .word = relink ? "relinked" : "orphan",
        .detail = name,
        .uid = (long)st->st_uid,
        .mode = (long)st->st_mode,
        .path = full,
    };
    probe_put_record(out, &r);
}

/* Judge the entry NAME of the directory DS (path DIR) as HOW says. */
static void scan_entry(FILE *out, const char *dir, const struct dir_seen *ds,
                       const char *name, const struct scan_how *how)
{
    char full[FULL_PATH_BUF];
    struct stat st;
    struct judge_verdict v;
    /* Nothing is removed from a directory the library does not trust. */
    const struct judging judging = {
        .mode = ds->trusted ? how->mode : JUDGE_PROBE_ONLY,
        .tmp_grace = true,
    };

    if (fstatat(ds->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        is_muxfix_lock(name, &st) || !join(full, sizeof full, dir, name) ||
        !chosen(how, full, &st))
        return;
    judge_entry(ds->fd, name, &judging, &v);
    if (v.kind == VERDICT_ABSENT) /* gone since it was listed */
        return;
    if (!ds->trusted && how->mode != JUDGE_PROBE_ONLY && is_our_socket(v.kind)) {
        const struct probe_record r = {
            .kind = "entry",
            .word = "untrusted-dir",
            .detail = ds->word,
            .uid = (long)st.st_uid,
            .mode = (long)st.st_mode,
            .path = full,
        };
        probe_put_record(out, &r);
        return;
    }
    put_entry(out, ds->fd, name, full, &st, &v);
    if (ds->trusted && how->mode != JUDGE_PROBE_ONLY && v.kind == VERDICT_LIVE)
        relink_orphan(out, dir, ds, name, &st, how);
}

/* Every entry of DS, read from its descriptor. */
static void scan_entries(FILE *out, const char *dir, const struct dir_seen *ds,
                         const struct scan_how *how)
{
    int lfd = openat(ds->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lfd < 0)
        return;
    DIR *d = fdopendir(lfd);
    if (d == NULL) {
        close(lfd);
        return;
    }
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            scan_entry(out, dir, ds, e->d_name, how);
    }
    closedir(d);
}

void probe_scan_dir(FILE *out, const char *dir, const struct scan_how *how)
{
    struct dir_seen ds;

    see_dir(dir, &ds);
    const struct probe_record r = {
        .kind = "dir",
        .word = ds.word,
        .detail = ds.detail,
        .uid = ds.uid,
        .mode = ds.mode,
        .path = dir,
    };
    probe_put_record(out, &r);
    if (how->entries && ds.fd >= 0)
        scan_entries(out, dir, &ds, how);
    if (ds.fd >= 0)
        close(ds.fd);
}

/* The record of PATH when it cannot be judged: absent, or unknown (ERR). */
static void put_unjudged(FILE *out, const char *path, int err)
{
    const struct probe_record r = {
        .kind = "entry",
        .word = err == ENOENT || err == ENOTDIR ? "absent" : "unknown",
        .detail = err == ENOENT || err == ENOTDIR ? "" : errno_word(err),
        .uid = PROBE_NO_UID,
        .mode = -1,
        .path = path,
    };
    probe_put_record(out, &r);
}

void probe_scan_entry(FILE *out, const char *path)
{
    char dir[PATH_MAX];
    struct stat st;
    struct judge_verdict v;
    const struct judging judging = {.mode = JUDGE_PROBE_ONLY, .tmp_grace = false};

    /* Like `muxfix-probe PATH`: the directory part is resolved as any path
     * is, the entry itself never followed. */
    const char *name = ctl_dir_split(path, dir, sizeof dir);
    if (name == NULL) {
        put_unjudged(out, path, EINVAL);
        return;
    }
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        put_unjudged(out, path, errno);
        return;
    }
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        put_unjudged(out, path, errno);
        close(dfd);
        return;
    }
    judge_entry(dfd, name, &judging, &v);
    if (v.kind == VERDICT_ABSENT)
        put_unjudged(out, path, ENOENT);
    else
        put_entry(out, dfd, name, path, &st, &v);
    close(dfd);
}
