/* config.h: the MUXFIX_* environment, read and validated once per process.
 *
 *   MUXFIX_PATH        colon-separated ControlPath patterns (pattern.h);
 *                      default MUXFIX_DEFAULT_PATH
 *   MUXFIX_TIMEOUT_MS  how long a master may take to say hello (default
 *                      3000; 0 disables the wedged-master check)
 *   MUXFIX_WAIT_MS     how long a would-be client waits for another ssh
 *                      that is becoming the master (default 10000; 0 off)
 *   MUXFIX_VERBOSE     0 silent, 1 a line per repair or refusal, 2 every
 *                      decision
 *   MUXFIX_LOG         append log lines to this file instead of stderr: a
 *                      regular file of ours, no symbolic link anywhere in
 *                      its path (logfile.h)
 *   MUXFIX_DISABLE     1 makes the library inert
 *   MUXFIX_REPLAY      0 turns off following a client's mux handshake and
 *                      replaying it to a new master (follow.h); default 1
 *   MUXFIX_REPLY_TIMEOUT_MS  how long a master may take to answer a
 *                      request that waits for the server (a session, ssh -W,
 *                      ssh -R) before it counts as stalled (stall.h);
 *                      default MUXFIX_DEFAULT_REPLY_TIMEOUT_MS, 0 off. What
 *                      the master answers by itself (hello, alive check,
 *                      -L, -D) gets MUXFIX_TIMEOUT_MS.
 *   MUXFIX_SLOT_WAIT_MS  how long a client whose session the server refused
 *                      (its MaxSessions reached) keeps asking the master
 *                      again before ssh sees the refusal (follow.h);
 *                      default MUXFIX_DEFAULT_SLOT_WAIT_MS, 0 off
 *
 * A bad value is reported in one line on stderr and its default used. */
#ifndef MUXFIX_CONFIG_H
#define MUXFIX_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define MUXFIX_DEFAULT_PATH                                                  \
    "~/.ssh/sockets/*:~/.ssh/cm-*:~/.ssh/cm/*:~/.ssh/master-*:"              \
    "~/.ssh/controlmasters/*:~/.ssh/control/*:~/.ansible/cp/*:"              \
    "/tmp/ssh_control_*/*"

#define MUXFIX_DEFAULT_TIMEOUT_MS 3000
/* A master is usually up in well under a second on a LAN; ten seconds covers
 * a slow WAN login without leaving a crowd waiting on one that hung. */
#define MUXFIX_DEFAULT_WAIT_MS 10000
/* Measured (README, "Many ssh at once"): 128 `echo` at once through one
 * master on a stock sshd (MaxSessions 10) wait 0.5 s at most for a slot,
 * 48 commands of 1 s each 4.3 s; past this, sessions that hold every slot
 * for long make the excess log in by itself instead of queueing. */
#define MUXFIX_DEFAULT_SLOT_WAIT_MS 5000
/* README "Masters that stall": one round trip on the slowest links
 * (satellite 0.6 s, a congested mobile link a few seconds) and three lost
 * packets' retransmissions (1 + 2 + 4 s) stay under it; while the server
 * is sending to the master, the wait goes on past it. */
#define MUXFIX_DEFAULT_REPLY_TIMEOUT_MS 10000
/* Longest accepted MUXFIX_TIMEOUT_MS: ten minutes is already a hang. */
#define MUXFIX_MAX_TIMEOUT_MS 600000
/* Bounds that keep the configuration in static storage (no allocation). */
#define MUXFIX_MAX_PATTERNS 128
#define MUXFIX_PATTERN_ARENA 16384

struct muxfix_config {
    bool disabled;
    int verbose;
    int timeout_ms;
    int wait_ms;
    bool replay; /* MUXFIX_REPLAY */
    int slot_wait_ms; /* MUXFIX_SLOT_WAIT_MS */
    int reply_timeout_ms; /* MUXFIX_REPLY_TIMEOUT_MS */
    bool log_to_file;
    char log_path[PATH_MAX];
    size_t npatterns;
    const char *patterns[MUXFIX_MAX_PATTERNS];
    size_t literal_prefix[MUXFIX_MAX_PATTERNS]; /* see pattern.h */
    char auth_sock[PATH_MAX]; /* $SSH_AUTH_SOCK: never managed */
    char arena[MUXFIX_PATTERN_ARENA];
};

/* The configuration, reading it on first use. NULL while another thread (or
 * an interrupted caller on this one) is still reading it: callers then pass
 * through. Never blocks. */
const struct muxfix_config *config_get(void);

/* Parse a MUXFIX_PATH value into CFG's patterns, expanding '~' with HOME
 * (NULL: patterns starting with '~' are dropped). Returns NULL on success or
 * a short reason. Exposed for the unit tests. */
const char *config_parse_patterns(struct muxfix_config *cfg, const char *value,
                                  const char *home);

#endif
