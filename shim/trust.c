/* trust.c: see trust.h. */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Open DIRPATH (PARENT: it may be a symbolic link) if trusted; log refusal not,
 * naming WHAT_FOR, the path the directory was wanted for. */
static int open_logged(const char *dirpath, bool parent, const char *what_for)
{
    enum ctl_dir_refusal refusal;
    int fd = parent ? ctl_dir_open_trusted_parent(dirpath, &refusal)
                    : ctl_dir_open_trusted(dirpath, &refusal);
    if (fd >= 0)
        return fd;
    int err = errno;
    if (refusal == CTL_DIR_CANNOT_OPEN) {
        /* O_NOFOLLOW|O_DIRECTORY on a symbolic link fails ENOTDIR or
         * ELOOP; lstat only picks the words of the log line. */
        struct stat lst;
        bool is_link = !parent && (err == ELOOP || err == ENOTDIR) &&
                       lstat(dirpath, &lst) == 0 && S_ISLNK(lst.st_mode);
        log_msg(is_link || err == ENOTDIR ? MUXFIX_LOG_REPAIR
                                             : MUXFIX_LOG_DECISION,
                   "left %s alone: cannot open directory %s (%s)", what_for,
                   dirpath, is_link ? "it is a symbolic link" : strerror(err));
        return -1;
    }
    log_msg(MUXFIX_LOG_REPAIR,
               "left %s alone: its directory %s is not safe to change (%s); "
               "use a directory of your own with mode 0700", what_for,
               dirpath, ctl_dir_refusal_text(refusal, err));
    return -1;
}

bool trust_open_dir(const char *sockpath, struct ctl_dir *dir)
{
    if (!ctl_dir_split_path(sockpath, dir->path, dir->base))
        return false;
    dir->fd = open_logged(dir->path, false, sockpath);
    return dir->fd >= 0;
}

bool trust_create_missing_dir(const char *sockpath)
{
    char dir[MUXFIX_SOCK_PATH_BUF], base[MUXFIX_SOCK_PATH_BUF];
    char parent[MUXFIX_SOCK_PATH_BUF], leaf[MUXFIX_SOCK_PATH_BUF];
    int saved = errno;

    if (!ctl_dir_split_path(sockpath, dir, base) ||
        !ctl_dir_split_path(dir, parent, leaf) || strcmp(leaf, ".") == 0 ||
        strcmp(leaf, "..") == 0)
        return false;
    int pfd = open_logged(parent, true, dir);
    if (pfd < 0) {
        errno = saved;
        return false;
    }
    enum ctl_dir_made made = ctl_dir_make_at(pfd, leaf);
    if (made == CTL_DIR_MADE)
        log_msg(MUXFIX_LOG_REPAIR,
                   "created missing control directory %s (mode 0700) for %s",
                   dir, sockpath);
    else if (made == CTL_DIR_NOT_MADE)
        log_msg(MUXFIX_LOG_REPAIR, "could not create directory %s: %s",
                   dir, strerror(errno));
    close(pfd);
    /* What is there now (made by us, by a concurrent ssh, or planted by
     * someone in the same instant) must itself be a trusted directory. */
    int dfd = made == CTL_DIR_NOT_MADE ? -1 : open_logged(dir, false, sockpath);
    if (dfd >= 0)
        close(dfd);
    errno = saved;
    return dfd >= 0;
}
