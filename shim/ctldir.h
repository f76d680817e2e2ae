/* ctldir.h: the directory that holds a control socket.
 *
 * Every file operation muxfix makes goes through a directory fd opened with
 * O_DIRECTORY|O_NOFOLLOW and *at() calls with AT_SYMLINK_NOFOLLOW, so no
 * path is resolved twice between a check and the act. A directory is trusted
 * only when nobody else can replace its entries: owned by us and not writable
 * by group or others, or sticky (like /tmp) and owned by us or root. */
#ifndef MUXFIX_CTLDIR_H
#define MUXFIX_CTLDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct ctl_dir {
    int fd;                              /* the open directory */
    char path[MUXFIX_SOCK_PATH_BUF];     /* its path, "." or "/" included */
    char base[MUXFIX_SOCK_PATH_BUF];     /* the socket's name inside it */
};

/* Split SOCKPATH and open its directory if it is trusted. On refusal, logs
 * why (MUXFIX_VERBOSE=1) and returns false. */
bool ctl_dir_open(const char *sockpath, struct ctl_dir *dir);
void ctl_dir_close(struct ctl_dir *dir);

/* Split PATH into its directory, written to DIR (DIRSIZE bytes; "." when
 * PATH has no '/', "/" for an entry of the root), and its last component,
 * returned as a pointer into PATH. NULL when PATH ends in '/' or the
 * directory does not fit. */
const char *ctl_dir_split(const char *path, char *dir, size_t dirsize);

/* Why a directory was not opened as trusted. */
enum ctl_dir_refusal {
    CTL_DIR_TRUSTED,          /* not refused */
    CTL_DIR_CANNOT_OPEN,      /* open() failed (ELOOP: a symbolic link) */
    CTL_DIR_CANNOT_STAT,      /* fstat() failed */
    CTL_DIR_FOREIGN_OWNER,    /* another user's, and not a sticky root one */
    CTL_DIR_OTHERS_CAN_WRITE, /* ours, but group or others may write */
};

/* Open the directory DIRPATH (O_NOFOLLOW) if it is trusted, without
 * logging anything. Returns the fd, or -1 with *WHY set (and errno, for
 * CTL_DIR_CANNOT_OPEN and CTL_DIR_CANNOT_STAT). */
int ctl_dir_open_trusted(const char *dirpath, enum ctl_dir_refusal *why);

/* bind() said ENOENT for SOCKPATH: create its missing directory (mode 0700)
 * when the directory's parent exists and is trusted. True when the directory
 * now exists and a retry may succeed. Never changes an existing directory. */
bool ctl_dir_create_missing(const char *sockpath);

#endif
