/* ctldir.h: the directory that holds a control socket. Mechanism only: no
 * configuration, no log (trust.h is the library's logging use of it).
 *
 * Every file operation muxfix makes goes through a directory fd opened with
 * O_DIRECTORY|O_NOFOLLOW and *at() calls with AT_SYMLINK_NOFOLLOW, so no
 * path is resolved twice between a check and the act. A directory is trusted
 * only when nobody else can replace its entries: owned by us and not writable
 * by group or others, or sticky (like /tmp) and owned by us or root; and it
 * is reached only through directories nobody else can rename entries of
 * (owned by us or root, not writable by others unless sticky). */
#ifndef MUXFIX_CTLDIR_H
#define MUXFIX_CTLDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "sockpath.h"

struct ctl_dir {
    int fd;                              /* the open directory */
    char path[MUXFIX_SOCK_PATH_BUF];     /* its path, "." or "/" included */
    char base[MUXFIX_SOCK_PATH_BUF];     /* the socket's name inside it */
};

void ctl_dir_close(struct ctl_dir *dir);

/* Split PATH into its directory, written to DIR (DIRSIZE bytes; "." when
 * PATH has no '/', "/" for an entry of the root), and its last component,
 * returned as a pointer into PATH. NULL when PATH ends in '/' or the
 * directory does not fit. */
const char *ctl_dir_split(const char *path, char *dir, size_t dirsize);

/* The same into two buffers of MUXFIX_SOCK_PATH_BUF bytes. False when PATH
 * has no last component (ends in '/') or a part does not fit. */
bool ctl_dir_split_path(const char *path, char *dir, char *base);

/* Why a directory was not opened as trusted. */
enum ctl_dir_refusal {
    CTL_DIR_TRUSTED,          /* not refused */
    CTL_DIR_CANNOT_OPEN,      /* open() failed (ELOOP: a symbolic link) */
    CTL_DIR_CANNOT_STAT,      /* fstat() failed */
    CTL_DIR_FOREIGN_OWNER,    /* another user's, and not a sticky root one */
    CTL_DIR_OTHERS_CAN_WRITE, /* ours, but group or others may write */
    CTL_DIR_UNSAFE_PATH,      /* a directory on the way to it may be changed
                                 by another user (errno EPERM) */
};

/* Open the directory DIRPATH (O_NOFOLLOW) if it is trusted. Returns the fd,
 * or -1 with *REFUSAL set (and errno, for CTL_DIR_CANNOT_OPEN and
 * CTL_DIR_CANNOT_STAT). */
int ctl_dir_open_trusted(const char *dirpath, enum ctl_dir_refusal *refusal);

/* The same, but DIRPATH itself may be a symbolic link (the parent of a
 * directory to create: a ~/.ssh kept in a dotfiles repository); the
 * directory it resolves to must still be trusted. */
int ctl_dir_open_trusted_parent(const char *dirpath, enum ctl_dir_refusal *refusal);

/* Words for a refusal other than CTL_DIR_CANNOT_OPEN (ERR: errno). */
const char *ctl_dir_refusal_text(enum ctl_dir_refusal refusal, int err);

enum ctl_dir_made {
    CTL_DIR_MADE,      /* created, mode 0700 whatever the umask */
    CTL_DIR_WAS_THERE, /* a directory is there already */
    CTL_DIR_NOT_MADE,  /* something else is there, or mkdir failed (errno) */
};

/* Create the directory LEAF in the trusted directory PFD. */
enum ctl_dir_made ctl_dir_make_at(int pfd, const char *leaf);

#endif
