/* ctldir.c: see ctldir.h. */
#include "ctldir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* What ssh's users are told to use for a socket directory. */
#define CTL_DIR_MODE 0700

const char *ctl_dir_split(const char *path, char *dir, size_t dirsize)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash != NULL ? slash + 1 : path;
    const char *from = slash == NULL ? "." : slash == path ? "/" : path;
    size_t len = slash == NULL || slash == path ? 1 : (size_t)(slash - path);

    if (*name == '\0' || len >= dirsize)
        return NULL;
    memcpy(dir, from, len);
    dir[len] = '\0';
    return name;
}

bool ctl_dir_split_path(const char *path, char *dir, char *base)
{
    const char *name = ctl_dir_split(path, dir, MUXFIX_SOCK_PATH_BUF);

    if (name == NULL || strlen(name) >= MUXFIX_SOCK_PATH_BUF)
        return false;
    strcpy(base, name);
    return true;
}

/* CTL_DIR_TRUSTED when nobody but us (and root) can replace entries of a
 * directory with status ST; otherwise why not. */
static enum ctl_dir_refusal untrusted_reason(const struct stat *st)
{
    uid_t euid = geteuid();
    bool sticky = (st->st_mode & S_ISVTX) != 0;

    if (sticky && (st->st_uid == euid || st->st_uid == 0))
        return CTL_DIR_TRUSTED;
    if (st->st_uid != euid)
        return CTL_DIR_FOREIGN_OWNER;
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return CTL_DIR_OTHERS_CAN_WRITE;
    return CTL_DIR_TRUSTED;
}

/* May a name be looked up in the directory with status ST on the way to a
 * control directory? Only if nobody but us and root can rename or replace
 * its entries: owned by us or root, and not writable by group or others
 * unless sticky (others may then add entries, but not move ours). A
 * directory above the control directory that another user can write lets
 * him swap what the path leads to, even with no symlink at the end. */
static bool lookup_is_safe(const struct stat *st)
{
    uid_t euid = geteuid();
    if (st->st_uid != euid && st->st_uid != 0)
        return false;
    return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
           (st->st_mode & S_ISVTX) != 0;
}

/* Is the directory CUR safe to look a name up in? Sets *REFUSAL if not. */
static bool step_is_safe(int cur, enum ctl_dir_refusal *refusal)
{
    struct stat st;
    if (fstat(cur, &st) != 0) {
        *refusal = CTL_DIR_CANNOT_STAT;
        return false;
    }
    if (!lookup_is_safe(&st)) {
        *refusal = CTL_DIR_UNSAFE_PATH;
        errno = EPERM;
        return false;
    }
    return true;
}

/* Open DIRPATH one component at a time, each looked up in a directory that
 * is safe (lookup_is_safe); symbolic links are followed only in such a
 * directory (whoever made them was us or root), and the last component only
 * when FOLLOW_LAST. Then check the directory itself is trusted. -1 with
 * *REFUSAL (and errno) set otherwise. Logs nothing. */
static int open_checked(const char *dirpath, bool follow_last,
                        enum ctl_dir_refusal *refusal)
{
    char buf[PATH_MAX];
    size_t len = strlen(dirpath);

    *refusal = CTL_DIR_CANNOT_OPEN;
    if (len == 0 || len >= sizeof buf) {
        errno = len == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, dirpath, len + 1);
    int cur = open(buf[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return -1;
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c != NULL;) {
        char *next = strtok_r(NULL, "/", &save);
        if (strcmp(c, ".") != 0) {
            int flags = DIR_OPEN_FLAGS & ~O_NOFOLLOW;
            if (next == NULL && !follow_last)
                flags |= O_NOFOLLOW;
            int nfd = step_is_safe(cur, refusal) ? openat(cur, c, flags) : -1;
            int err = errno;
            close(cur);
            if (nfd < 0) {
                errno = err;
                return -1;
            }
            cur = nfd;
        }
        c = next;
    }
    struct stat st;
    *refusal = fstat(cur, &st) != 0 ? CTL_DIR_CANNOT_STAT : untrusted_reason(&st);
    if (*refusal != CTL_DIR_TRUSTED) {
        int err = errno;
        close(cur);
        errno = err;
        return -1;
    }
    return cur;
}

int ctl_dir_open_trusted(const char *dirpath, enum ctl_dir_refusal *refusal)
{
    return open_checked(dirpath, false, refusal);
}

int ctl_dir_open_trusted_parent(const char *dirpath, enum ctl_dir_refusal *refusal)
{
    return open_checked(dirpath, true, refusal);
}

void ctl_dir_close(struct ctl_dir *dir)
{
    if (dir->fd >= 0)
        close(dir->fd);
    dir->fd = -1;
}

const char *ctl_dir_refusal_text(enum ctl_dir_refusal refusal, int err)
{
    switch (refusal) {
    case CTL_DIR_FOREIGN_OWNER:
        return "it belongs to another user";
    case CTL_DIR_OTHERS_CAN_WRITE:
        return "others can write to it";
    case CTL_DIR_UNSAFE_PATH:
        return "another user can rename entries of a directory above it";
    default:
        return strerror(err);
    }
}

/* We just made LEAF in PARENT_FD: give it CTL_DIR_MODE whatever the umask
 * (ssh binds under umask 0177, which would leave a directory nobody can
 * enter). Checked through an O_NOFOLLOW fd so only our new directory is
 * changed. */
static void fix_new_dir_mode(int parent_fd, const char *leaf)
{
    int fd = openat(parent_fd, leaf, DIR_OPEN_FLAGS);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid())
        (void)fchmod(fd, CTL_DIR_MODE);
    close(fd);
}

enum ctl_dir_made ctl_dir_make_at(int pfd, const char *leaf)
{
    struct stat st;

    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = ENOTDIR;
        return S_ISDIR(st.st_mode) ? CTL_DIR_WAS_THERE : CTL_DIR_NOT_MADE;
    }
    if (mkdirat(pfd, leaf, CTL_DIR_MODE) == 0) {
        fix_new_dir_mode(pfd, leaf);
        return CTL_DIR_MADE;
    }
    /* EEXIST: a concurrent ssh made it first. */
    return errno == EEXIST ? CTL_DIR_WAS_THERE : CTL_DIR_NOT_MADE;
}

