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

/* bind() said ENOENT for SOCKPATH: create its missing directory (mode 0700)
 * when the directory's parent exists and is trusted. True when the directory
 * now exists and a retry may succeed. Never changes an existing directory. */
bool ctl_dir_create_missing(const char *sockpath);

#endif
