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

#endif
