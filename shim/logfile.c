/* logfile.c: see logfile.h. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* MUXFIX_LOGFILE_WALK_ONLY: build without openat2, so the tests can run the
 * component walk that older kernels get. */
#if defined(SYS_openat2) && !defined(MUXFIX_LOGFILE_WALK_ONLY)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif

/* Private to the user, like ssh's own files. */
#define LOG_FILE_MODE (S_IRUSR | S_IWUSR)
/* O_NOFOLLOW: the file itself may not be a link either. O_NONBLOCK: a FIFO
 * without a reader fails (ENXIO) instead of hanging ssh. */
#define LOG_OPEN_FLAGS                                                       \
    (O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |     \
     O_CLOEXEC)
/* A directory on the way, opened only to look names up in it: O_PATH needs
 * no read permission, only search, as the kernel's own path walk does. */
#define DIR_WALK_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Split PATH into its directory, written to DIR ("." when PATH has no '/',
 * "/" for a file in the root), and the file's name, returned as a pointer
 * into PATH. NULL with errno set when there is no file name. */
static const char *split_log_path(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *leaf = slash != NULL ? slash + 1 : path;
    const char *src = slash != NULL ? path : ".";
    size_t len = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

    if (*leaf == '\0') {
        errno = *path == '\0' ? ENOENT : EISDIR;
        return NULL;
    }
    if (len >= size) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(dir, src, len);
    dir[len] = '\0';
    return leaf;
}

static bool is_symlink_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISLNK(st.st_mode);
}

/* Open the component NAME of the directory DIRFD as a directory, refusing a
 * symbolic link with ELOOP (O_DIRECTORY|O_NOFOLLOW on one says ENOTDIR). */
static int open_component(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, DIR_WALK_FLAGS);
    if (fd < 0 && errno == ENOTDIR && is_symlink_at(dirfd, name))
        errno = ELOOP;
    return fd;
}

/* Without openat2: one component at a time from "/" or the working
 * directory, each opened with O_NOFOLLOW relative to the one before. */
static int walk_to_dir(const char *dir)
{
    int fd = openat(AT_FDCWD, *dir == '/' ? "/" : ".", DIR_WALK_FLAGS);
    const char *p = dir;

    while (fd >= 0) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            return fd;
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        char name[NAME_MAX + 1];
        int next = -1;
        if (len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            next = open_component(fd, name);
        } else {
            errno = ENAMETOOLONG;
        }
        int err = errno;
        close(fd);
        errno = err;
        fd = next;
        p = end;
    }
    return -1;
}

#ifdef HAVE_OPENAT2
/* Set once openat2 is found missing: ENOSYS from a kernel before 5.6, or
 * EPERM from the seccomp filters of older container runtimes, which answer
 * every syscall they do not know with it. The walk is as strict. */
static int openat2_missing;
#endif

/* The directory DIR, resolved without following any symbolic link: a link
 * there fails with ELOOP. */
static int open_dir_no_symlinks(const char *dir)
{
#ifdef HAVE_OPENAT2
    if (!__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) {
        /* Without O_NOFOLLOW, which would turn a final link into ENOTDIR:
         * RESOLVE_NO_SYMLINKS refuses every link, the last one too, with
         * ELOOP. */
        struct open_how how = {.flags = DIR_WALK_FLAGS & ~O_NOFOLLOW,
                               .resolve = RESOLVE_NO_SYMLINKS};
        long fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof how);
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
            return (int)fd;
        __atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
    }
#endif
    return walk_to_dir(dir);
}

/* Whether the file ST describes may receive our log lines. */
static enum muxfix_logfile_refusal judge(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return MUXFIX_LOGFILE_SYMLINK;
    if (!S_ISREG(st->st_mode))
        return MUXFIX_LOGFILE_NOT_REGULAR;
    /* Another user's file: they can read it, whatever its mode says now. */
    if (st->st_uid != geteuid())
        return MUXFIX_LOGFILE_FOREIGN_OWNER;
    /* A second name may sit where another user can read or swap it. */
    if (st->st_nlink != 1)
        return MUXFIX_LOGFILE_HARD_LINKED;
    return MUXFIX_LOGFILE_OPENED;
}

/* Can only we and root rename files in the directory DIRFD? Owned by one of
 * us and not writable by others, or sticky (others may add files, but not
 * rename ours). Elsewhere another user could rename any file of ours into
 * the log's name and read what we append. */
static bool dir_is_private(int dirfd)
{
    struct stat st;
    if (fstat(dirfd, &st) != 0)
        return false;
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return false;
    return (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st.st_mode & S_ISVTX) != 0;
}

static int errno_of(enum muxfix_logfile_refusal refusal)
{
    switch (refusal) {
    case MUXFIX_LOGFILE_SHARED_DIR:
        return EACCES;
    case MUXFIX_LOGFILE_SYMLINK:
        return ELOOP;
    case MUXFIX_LOGFILE_FOREIGN_OWNER:
        return EPERM;
    case MUXFIX_LOGFILE_HARD_LINKED:
        return EMLINK;
    default:
        return EINVAL;
    }
}

/* Record the refusal in VERDICT (if any), set errno, return -1. */
static int refuse(struct muxfix_logfile_verdict *verdict,
                  enum muxfix_logfile_refusal refusal, int error,
                  const struct stat *st)
{
    if (verdict != NULL) {
        verdict->refusal = refusal;
        verdict->error = error;
        verdict->owner = st != NULL ? st->st_uid : (uid_t)-1;
    }
    errno = error;
    return -1;
}

/* The open of LEAF in DIRFD failed with ERROR: say verdict in the terms of
 * judge() when what is there explains it (EACCES on another user's file). */
static int refuse_failed_open(int dirfd, const char *leaf, int error,
                              struct muxfix_logfile_verdict *verdict)
{
    struct stat st;
    if (error == ELOOP)
        return refuse(verdict, MUXFIX_LOGFILE_SYMLINK, error, NULL);
    if (verdict != NULL && fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        enum muxfix_logfile_refusal refusal = judge(&st);
        if (refusal != MUXFIX_LOGFILE_OPENED)
            return refuse(verdict, refusal, error, &st);
    }
    return refuse(verdict, MUXFIX_LOGFILE_OPEN_FAILED, error, NULL);
}

int logfile_open(const char *path, struct muxfix_logfile_verdict *verdict)
{
    int saved = errno;
    char dir[PATH_MAX];
    const char *leaf = split_log_path(path, dir, sizeof dir);
    if (leaf == NULL)
        return refuse(verdict, MUXFIX_LOGFILE_OPEN_FAILED, errno, NULL);

    int dirfd = open_dir_no_symlinks(dir);
    if (dirfd < 0)
        return refuse(verdict, errno == ELOOP ? MUXFIX_LOGFILE_SYMLINK
                                          : MUXFIX_LOGFILE_OPEN_FAILED,
                      errno, NULL);
    if (!dir_is_private(dirfd)) {
        close(dirfd);
        return refuse(verdict, MUXFIX_LOGFILE_SHARED_DIR, EACCES, NULL);
    }
    int fd = openat(dirfd, leaf, LOG_OPEN_FLAGS, LOG_FILE_MODE);
    if (fd < 0) {
        int rc = refuse_failed_open(dirfd, leaf, errno, verdict);
        int err = errno;
        close(dirfd);
        errno = err;
        return rc;
    }
    close(dirfd);

    /* Judged on the open fd: whatever is swapped in at the name after this
     * does not receive the line. */
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return refuse(verdict, MUXFIX_LOGFILE_OPEN_FAILED, err, NULL);
    }
    enum muxfix_logfile_refusal refusal = judge(&st);
    if (refusal != MUXFIX_LOGFILE_OPENED) {
        close(fd);
        return refuse(verdict, refusal, errno_of(refusal), &st);
    }
    if (verdict != NULL)
        verdict->refusal = MUXFIX_LOGFILE_OPENED;
    errno = saved;
    return fd;
}

const char *logfile_reason(const struct muxfix_logfile_verdict *verdict,
                                  char *buf, size_t size)
{
    switch (verdict->refusal) {
    case MUXFIX_LOGFILE_OPENED:
        return "usable";
    case MUXFIX_LOGFILE_SYMLINK:
        return "a symbolic link in its path";
    case MUXFIX_LOGFILE_NOT_REGULAR:
        return "not a regular file";
    case MUXFIX_LOGFILE_FOREIGN_OWNER:
        (void)snprintf(buf, size, "owned by another user (uid %lu)",
                       (unsigned long)verdict->owner);
        return buf;
    case MUXFIX_LOGFILE_HARD_LINKED:
        return "it has other hard links";
    case MUXFIX_LOGFILE_SHARED_DIR:
        return "its directory lets other users rename files in it";
    case MUXFIX_LOGFILE_OPEN_FAILED:
        break;
    }
    return strerror(verdict->error);
}
