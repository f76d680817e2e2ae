/* ctldir.c: see ctldir.h. */
#include "ctldir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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

/* Split PATH into its directory and last component, both into buffers of
 * MUXFIX_SOCK_PATH_BUF bytes. False when PATH has no last component (ends
 * in '/') or a part does not fit. */
static bool split_path(const char *path, char *dir, char *base)
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

/* Open DIRPATH with FLAGS if it is trusted; -1 with *WHY (and errno) set
 * otherwise. Logs nothing. */
static int open_checked(const char *dirpath, int flags,
                        enum ctl_dir_refusal *why)
{
    int fd = open(dirpath, flags);
    if (fd < 0) {
        *why = CTL_DIR_CANNOT_OPEN;
        return -1;
    }
    struct stat st;
    *why = fstat(fd, &st) != 0 ? CTL_DIR_CANNOT_STAT : untrusted_reason(&st);
    if (*why != CTL_DIR_TRUSTED) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int ctl_dir_open_trusted(const char *dirpath, enum ctl_dir_refusal *why)
{
    return open_checked(dirpath, DIR_OPEN_FLAGS, why);
}

/* The log's words for a refusal other than CTL_DIR_CANNOT_OPEN. */
static const char *refusal_text(enum ctl_dir_refusal why, int err)
{
    switch (why) {
    case CTL_DIR_FOREIGN_OWNER:
        return "it belongs to another user";
    case CTL_DIR_OTHERS_CAN_WRITE:
        return "others can write to it";
    default:
        return strerror(err);
    }
}

static int open_trusted(const char *dirpath, int flags, const char *what_for)
{
    enum ctl_dir_refusal why;
    int fd = open_checked(dirpath, flags, &why);
    if (fd >= 0)
        return fd;
    int err = errno;
    if (why == CTL_DIR_CANNOT_OPEN) {
        struct stat lst;
        bool is_link = lstat(dirpath, &lst) == 0 && S_ISLNK(lst.st_mode);
        muxfix_log(is_link || err == ENOTDIR ? MUXFIX_LOG_REPAIR
                                             : MUXFIX_LOG_DECISION,
                   "left %s alone: cannot open directory %s (%s)", what_for,
                   dirpath, is_link ? "it is a symbolic link" : strerror(err));
        return -1;
    }
    muxfix_log(MUXFIX_LOG_REPAIR,
               "left %s alone: its directory %s is not safe to change (%s); "
               "use a directory of your own with mode 0700", what_for,
               dirpath, refusal_text(why, err));
    return -1;
}

bool ctl_dir_open(const char *sockpath, struct ctl_dir *dir)
{
    if (!split_path(sockpath, dir->path, dir->base))
        return false;
    dir->fd = open_trusted(dir->path, DIR_OPEN_FLAGS, sockpath);
    return dir->fd >= 0;
}

void ctl_dir_close(struct ctl_dir *dir)
{
    if (dir->fd >= 0)
        close(dir->fd);
    dir->fd = -1;
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

bool ctl_dir_create_missing(const char *sockpath)
{
    char dir[MUXFIX_SOCK_PATH_BUF], base[MUXFIX_SOCK_PATH_BUF];
    char parent[MUXFIX_SOCK_PATH_BUF], leaf[MUXFIX_SOCK_PATH_BUF];
    struct stat st;
    int saved = errno;
    bool ok = false;

    if (!split_path(sockpath, dir, base) || !split_path(dir, parent, leaf) ||
        strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0)
        return false;
    /* The parent may be reached through a symbolic link (a ~/.ssh kept in a
     * dotfiles repository): creating a directory in it deletes nothing, and
     * the directory it resolves to must still be trusted. */
    int pfd = open_trusted(parent, DIR_OPEN_FLAGS & ~O_NOFOLLOW, dir);
    if (pfd < 0) {
        errno = saved;
        return false;
    }
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        /* The directory is there (or something else is): ENOENT came from
         * elsewhere, nothing for us to create. */
        ok = S_ISDIR(st.st_mode);
    } else if (mkdirat(pfd, leaf, CTL_DIR_MODE) == 0) {
        fix_new_dir_mode(pfd, leaf);
        muxfix_log(MUXFIX_LOG_REPAIR,
                   "created missing control directory %s (mode 0700) for %s",
                   dir, sockpath);
        ok = true;
    } else {
        ok = errno == EEXIST; /* a concurrent ssh made it first */
        if (!ok)
            muxfix_log(MUXFIX_LOG_REPAIR, "could not create directory %s: %s",
                       dir, strerror(errno));
    }
    close(pfd);
    errno = saved;
    return ok;
}
