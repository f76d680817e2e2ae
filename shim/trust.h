/* trust.h: the library's use of ctldir.h, with a log line for every
 * refusal: open the directory of a managed socket when it is trusted,
 * create a missing one. */
#ifndef MUXFIX_TRUST_H
#define MUXFIX_TRUST_H

#include <stdbool.h>

#include "ctldir.h"

/* Split SOCKPATH and open its directory if it is trusted. On refusal, logs
 * why (MUXFIX_VERBOSE=1) and returns false. */
bool trust_open_dir(const char *sockpath, struct ctl_dir *dir);

/* bind() said ENOENT for SOCKPATH: create its missing directory (mode 0700)
 * when the directory's parent exists and is trusted. True when the directory
 * now exists and a retry may succeed. Never changes an existing directory.
 * Keeps errno. */
bool trust_create_missing_dir(const char *sockpath);

#endif
