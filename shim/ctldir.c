/* ctldir.c: see ctldir.h. */
#include "ctldir.h"

#include <errno.h>
#include <fcntl.h>
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

/* Open DIRPATH with FLAGS if it is trusted; -1 with *REFUSAL (and errno) set
 * otherwise. Logs nothing. */
static int open_checked(const char *dirpath, int flags,
                        enum ctl_dir_refusal *refusal)
{
    int fd = open(dirpath, flags);
    if (fd < 0) {
        *refusal = CTL_DIR_CANNOT_OPEN;
        return -1;
    }
    struct stat st;
    *refusal = fstat(fd, &st) != 0 ? CTL_DIR_CANNOT_STAT : untrusted_reason(&st);
    if (*refusal != CTL_DIR_TRUSTED) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int ctl_dir_open_trusted(const char *dirpath, enum ctl_dir_refusal *refusal)
{
    return open_checked(dirpath, DIR_OPEN_FLAGS, refusal);
}

int ctl_dir_open_trusted_parent(const char *dirpath, enum ctl_dir_refusal *refusal)
{
    return open_checked(dirpath, DIR_OPEN_FLAGS & ~O_NOFOLLOW, refusal);
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

