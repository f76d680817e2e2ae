/*
 * muxfix-probe - the liveness probe and safe removal behind `muxfix doctor`
 * and `muxfix clean`, installed beside the library.
 *
 *   muxfix-probe PATH
 *       prints one word for PATH and exits 0:
 *         live           a socket of ours, and a connect() succeeded
 *         dead           a socket of ours, and connect() got ECONNREFUSED
 *         absent         nothing at PATH
 *         notsocket      something that is not a socket
 *         symlink        a symbolic link (never followed)
 *         foreign        a socket owned by another user (not probed)
 *         unknown:ENAME  a socket of ours, connect() failed with ENAME
 *                        (EAGAIN: full backlog, a master is there but busy)
 *
 *   muxfix-probe --remove-if-dead PATH
 *       removes PATH only when it is a confirmed-dead socket of ours in a
 *       directory nobody else can change, with the inode re-checked right
 *       before unlinkat(). Prints "removed", or why it was kept: one of the
 *       words above, "untrusted-dir:REASON", "young-temp" or "changed".
 *       Exits 0.
 *
 *   muxfix-probe --check-removable PATH
 *       the same checks without the removal (`muxfix clean --dry-run`):
 *       prints "dead" where --remove-if-dead would print "removed".
 *
 * Exit 2 on a usage error, 1 when the answer could not be printed.
 * The same rules as the library's shim/reap.c, rewritten for a standalone
 * program (the library exports nothing we could call).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_OUTPUT 1
/* OpenSSH binds "ControlPath.XXXXXXXXXXXXXXXX" (16 random [A-Za-z0-9]),
 * listens a moment later and link()s it into place: between bind and listen
 * a live master's temporary socket refuses. Such a name younger than this is
 * never judged dead (the library uses the same grace). */
#define TMP_SUFFIX_LEN 16
#define TMP_SOCKET_GRACE_SECONDS 10

static const char *errno_word(int err)
{
    const char *name = strerrorname_np(err);
    return name != NULL ? name : "EUNKNOWN";
}

static int say(const char *word, const char *detail)
{
    int rc = detail != NULL ? printf("%s:%s\n", word, detail)
                            : printf("%s\n", word);
    if (rc < 0 || fflush(stdout) != 0)
        return EXIT_OUTPUT;
    return 0;
}

/* Probe PATH with a fresh non-blocking socket: a full backlog answers EAGAIN
 * instead of blocking. Returns 0 when connected, else the errno. */
static int probe_connect(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sun.sun_path)
        return ENAMETOOLONG;
    memcpy(sun.sun_path, path, len + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int err = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 ? 0 : errno;
    close(fd);
    return err;
}

/* The word for an entry with status ST (from lstat) that is not a socket of
 * ours, or NULL when it is one. */
static const char *not_ours_word(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return "symlink";
    if (!S_ISSOCK(st->st_mode))
        return "notsocket";
    if (st->st_uid != geteuid())
        return "foreign";
    return NULL;
}

/* Classify PATH whose lstat is ST. Sets *err to the connect errno when the
 * answer is "unknown". */
static const char *judge(const char *path, const struct stat *st, int *err)
{
    const char *word = not_ours_word(st);
    if (word != NULL)
        return word;
    *err = probe_connect(path);
    if (*err == 0)
        return "live";
    return *err == ECONNREFUSED ? "dead" : "unknown";
}

static int report(const char *word, int err)
{
    return say(word, strcmp(word, "unknown") == 0 ? errno_word(err) : NULL);
}

static int probe_only(const char *path)
{
    struct stat st;
    int err = 0;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? say("absent", NULL)
                               : say("unknown", errno_word(errno));
    return report(judge(path, &st, &err), err);
}

/* NULL when nobody but us (and root) can replace entries of a directory with
 * status ST; otherwise why not (a word, for scripts). */
static const char *untrusted_reason(const struct stat *st)
{
    uid_t euid = geteuid();
    bool sticky = (st->st_mode & S_ISVTX) != 0;

    if (sticky && (st->st_uid == euid || st->st_uid == 0))
        return NULL;
    if (st->st_uid != euid)
        return "foreign-owner";
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "writable-by-others";
    return NULL;
}

static bool is_tmp_name(const char *name)
{
    size_t len = strlen(name);
    if (len < TMP_SUFFIX_LEN + 2 || name[len - TMP_SUFFIX_LEN - 1] != '.')
        return false;
    for (size_t i = len - TMP_SUFFIX_LEN; i < len; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');
        if (!alnum)
            return false;
    }
    return true;
}

static bool is_young(const struct stat *st)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return true; /* cannot tell: do not judge */
    return now.tv_sec - st->st_mtim.tv_sec < TMP_SOCKET_GRACE_SECONDS &&
           now.tv_sec - st->st_ctim.tv_sec < TMP_SOCKET_GRACE_SECONDS;
}

/* Split PATH into its directory (into DIR) and its last component. */
static const char *split_path(const char *path, char *dir, size_t dirsize)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, dirsize, ".");
        return path;
    }
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= dirsize)
        return NULL;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return slash + 1;
}

static bool same_dead_socket(const struct stat *a, const struct stat *b)
{
    /* Inode numbers are reused at once; the change time tells them apart. */
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_uid == b->st_uid && S_ISSOCK(b->st_mode) &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The library's removal protocol (shim/reap.c): under an exclusive flock on
 * the directory, move NAME aside atomically to a private name, unlink it
 * only if what moved is the probed socket, else put it back. */
static int remove_moved_aside(int dfd, const char *name, const struct stat *seen)
{
    char aside[PATH_MAX];
    struct stat now;
    int rc;

    if (flock(dfd, LOCK_EX) != 0)
        return say("unknown", errno_word(errno));
    (void)snprintf(aside, sizeof aside, ".%s.muxfix-dead.%ld.%ld", name,
                   (long)getpid(), (long)time(NULL));
    if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
        !same_dead_socket(seen, &now)) {
        rc = say("changed", NULL);
    } else if (renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE) != 0) {
        int err = errno;
        rc = err == ENOENT ? say("absent", NULL) : say("unknown", errno_word(err));
    } else if (fstatat(dfd, aside, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
               now.st_dev == seen->st_dev && now.st_ino == seen->st_ino &&
               S_ISSOCK(now.st_mode) && unlinkat(dfd, aside, 0) == 0) {
        /* (the rename changed the change time: inode and type only) */
        rc = say("removed", NULL);
    } else {
        if (renameat2(dfd, aside, dfd, name, RENAME_NOREPLACE) != 0)
            fprintf(stderr, "muxfix-probe: left the entry at %s (its name was "
                    "taken meanwhile)\n", aside);
        rc = say("changed", NULL);
    }
    flock(dfd, LOCK_UN);
    return rc;
}

/* With DRY_RUN, everything but the removal: prints "dead" where a real
 * run would have removed the socket. */
static int remove_if_dead(const char *path, bool dry_run)
{
    char dirpath[PATH_MAX];
    const char *name = split_path(path, dirpath, sizeof dirpath);
    if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return say("unknown", errno_word(EINVAL));

    /* The directory is opened once, without following a symlink, and every
     * later step is relative to it: no path is resolved twice. */
    int dfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        int err = errno;
        if (err == ENOENT)
            return say("absent", NULL);
        return say("untrusted-dir", err == ELOOP ? "symlink" : errno_word(err));
    }
    struct stat dst;
    if (fstat(dfd, &dst) != 0) {
        int err = errno;
        close(dfd);
        return say("unknown", errno_word(err));
    }
    const char *why = untrusted_reason(&dst);
    if (why != NULL) {
        close(dfd);
        return say("untrusted-dir", why);
    }

    struct stat seen;
    int err = 0, rc;
    if (fstatat(dfd, name, &seen, AT_SYMLINK_NOFOLLOW) != 0) {
        err = errno;
        close(dfd);
        return err == ENOENT ? say("absent", NULL) : say("unknown", errno_word(err));
    }
    if (not_ours_word(&seen) == NULL && is_tmp_name(name) && is_young(&seen)) {
        close(dfd);
        return say("young-temp", NULL);
    }
    const char *word = judge(path, &seen, &err);
    if (strcmp(word, "dead") != 0) {
        close(dfd);
        return report(word, err);
    }
    if (dry_run) {
        close(dfd);
        return say("dead", NULL);
    }
    rc = remove_moved_aside(dfd, name, &seen);
    close(dfd);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: muxfix-probe [--remove-if-dead|--check-removable] PATH\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc == 2 && argv[1][0] != '-')
        return probe_only(argv[1]);
    if (argc == 3 && strcmp(argv[1], "--remove-if-dead") == 0)
        return remove_if_dead(argv[2], false);
    if (argc == 3 && strcmp(argv[1], "--check-removable") == 0)
        return remove_if_dead(argv[2], true);
    if (argc == 3 && strcmp(argv[1], "--") == 0)
        return probe_only(argv[2]);
    return usage();
}
