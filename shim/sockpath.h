/* sockpath.h: how long a Unix socket path can be. */
#ifndef MUXFIX_SOCKPATH_H
#define MUXFIX_SOCKPATH_H

#include <sys/un.h>

/* sun_path holds 108 bytes on Linux; ssh refuses a ControlPath that does not
 * fit with its terminating NUL ("ControlPath too long"), so a managed path is
 * at most 107 bytes. */
#define MUXFIX_SUN_PATH_SIZE (sizeof(((struct sockaddr_un *)0)->sun_path))

/* A NUL-terminated copy of a socket path fits in this. */
#define MUXFIX_SOCK_PATH_BUF (MUXFIX_SUN_PATH_SIZE + 1)

/* The lock files muxfix keeps beside control sockets: the removal lock of a
 * directory (judge.c: ".muxfix-lock", or ".muxfix-lock-UID" in a shared
 * sticky one) and the crowd's lock of one ControlPath (crowd.c:
 * ".NAME.muxfix-lock"). Both end in this; muxfix-probe hides them. */
#define MUXFIX_LOCK_NAME ".muxfix-lock"

/* The private second name of a live master's socket NAME is ".NAME" and
 * this (keep.h); `muxfix clean` links it back when NAME is gone. */
#define MUXFIX_KEEP_SUFFIX ".muxfix-keep"

#endif
