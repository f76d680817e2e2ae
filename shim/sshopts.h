/* sshopts.h: what this ssh process was told, so that muxfix follows ssh's
 * own settings: will it become a master (intent.c), how long may a master
 * take to say hello (its ConnectTimeout, hello.c), which path is its
 * ControlPath (learn.c).
 *
 * Two sources, each read at most once per process and only on a repair
 * path, never on the pass-through path:
 *   - its command line (/proc/self/cmdline): -O, -M and the first
 *     `-o ControlMaster=`/`-o ConnectTimeout=` (the first value ssh is
 *     given wins, and the command line comes before ssh_config);
 *   - when that does not say, `ssh -G` with the same arguments, run from
 *     the same binary: the effective controlmaster, controlpath (expanded,
 *     as ssh connects to it) and connecttimeout. It costs a process start
 *     and a configuration parse, 2-5 ms (README, "Any ControlPath").
 * Shared state (state.h): each source is claimed by its first caller and
 * published once; a caller that finds it being read gets NULL (unknown). */
#ifndef MUXFIX_SSHOPTS_H
#define MUXFIX_SSHOPTS_H

#include <stdbool.h>

#include "sockpath.h"

/* ssh -G prints any ControlMaster value ("autoask" is the longest). */
#define SSHOPTS_VALUE_MAX 32
/* A ConnectTimeout that was not given (or "none", or 0: no timeout). */
#define SSHOPTS_NO_TIMEOUT (-1)

struct sshopts_cmdline {
    bool control_command;  /* -O check|exit|stop|forward|cancel|proxy|... */
    bool master_only;      /* -M: a master that never connects as a client */
    char controlmaster[SSHOPTS_VALUE_MAX]; /* first -o ControlMaster, or "" */
    /* First -o ConnectTimeout in plain seconds; SSHOPTS_NO_TIMEOUT when
     * absent; another spelling ("1m") is left to ssh -G. */
    int connect_timeout_s;
    bool connect_timeout_given;
};

struct sshopts_effective {
    char controlmaster[SSHOPTS_VALUE_MAX];
    char controlpath[MUXFIX_SOCK_PATH_BUF]; /* "" when none or too long */
    int connect_timeout_s;                  /* SSHOPTS_NO_TIMEOUT for none */
};

/* Is this process ssh (its argv[0] named "ssh")? No system call. */
bool sshopts_is_ssh(void);

/* This ssh's command line, read once; NULL when not ssh or unreadable. */
const struct sshopts_cmdline *sshopts_cmdline(void);

/* `ssh -G` with this process's arguments, run once; NULL when not ssh or
 * when it failed. Keeps errno. */
const struct sshopts_effective *sshopts_effective(void);

/* ssh's effective ConnectTimeout in milliseconds (command line first, then
 * ssh -G), or SSHOPTS_NO_TIMEOUT when it has none or is not ssh. */
int sshopts_connect_timeout_ms(void);

/* Is this an `ssh -O ...` control command? */
bool sshopts_is_control_command(void);

#endif
