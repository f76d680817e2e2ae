/* config.h: the MUXFIX_* environment, read and validated once per process,
 * on first use (never at load: a process that makes no Unix-socket call the
 * library looks at never reads it).
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
 * A bad value is reported in one line on stderr and its default used.
 *
 * '~' in a pattern is the passwd entry's home directory (as ssh expands it),
 * and looking it up is NSS: files, nscd, maybe LDAP, with malloc and locks,
 * not async-signal-safe. So the lookup waits until a path needs it: reading
 * the environment (config_get) keeps the '~' patterns as tails (pattern.h),
 * and only a path that could match one of them, whatever the home,
 * completes the patterns (config_get_resolved). Until then the pass-through
 * filter (config_filter) is the one built without the homes. */
#ifndef MUXFIX_CONFIG_H
#define MUXFIX_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "pattern.h"

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
#define MUXFIX_MAX_PATTERNS PATTERN_SET_MAX
#define MUXFIX_PATTERN_ARENA 16384

/* The order is for memory: what every process writes on its first
 * Unix-socket call (the scalars, the patterns' pointers, the set's filter
 * and first entries: six of them) on the first page (config.c aligns it),
 * then the set's groups and the arena; the paths, written only when set,
 * last. */
struct muxfix_config {
    bool disabled;
    int verbose;
    int timeout_ms;
    int wait_ms;
    bool replay; /* MUXFIX_REPLAY */
    int slot_wait_ms; /* MUXFIX_SLOT_WAIT_MS */
    int reply_timeout_ms; /* MUXFIX_REPLY_TIMEOUT_MS */
    bool log_to_file;
    /* ssh with MUXFIX_PATH unset: its own ControlPath is learnt (learn.h),
     * so every Unix address goes on to the repair code's test. */
    bool learns;
    /* MUXFIX_PATH with '~' expanded, and the set made of it: complete in
     * what config_get_resolved() returns (and after config_parse_patterns). */
    size_t npatterns;
    const char *patterns[MUXFIX_MAX_PATTERNS];
    struct pattern_set set;
    char arena[MUXFIX_PATTERN_ARENA];
    char auth_sock[PATH_MAX]; /* $SSH_AUTH_SOCK: never managed */
    char log_path[PATH_MAX];
};

/* The configuration, reading the environment on first use. NULL while
 * another thread (or an interrupted caller on this one) is still reading
 * it: callers then pass through. Never blocks, no passwd lookup, no
 * allocation. Its patterns may be incomplete (see above). */
const struct muxfix_config *config_get(void);

/* The configuration with its patterns complete: the first call that needs
 * a home directory looks it up (getpwuid_r/getpwnam_r). NULL while another
 * caller reads or completes it: callers pass through. */
const struct muxfix_config *config_get_resolved(void);

/* The configuration when it is read and its patterns are complete; NULL
 * otherwise (nothing is read, nothing looked up). Published once. */
extern __attribute__((visibility("hidden"))) const struct muxfix_config
    *muxfix_config_complete;

static inline const struct muxfix_config *config_get_complete(void)
{
    return __atomic_load_n(&muxfix_config_complete, __ATOMIC_ACQUIRE);
}

/* The same for the path of a sockaddr, at most MAX bytes at PATH, ending at
 * a NUL if shorter. */
bool config_may_manage_max(const struct muxfix_config *cfg, const char *path,
                           size_t max);

/* Could PATH (N bytes) be managed once the patterns are complete? Exact for
 * patterns without '~'; for the others it looks at PATH's end only (no
 * lookup). Exact when the patterns are complete already. */
bool config_may_manage(const struct muxfix_config *cfg, const char *path,
                       size_t n);

/* The filter of the pass-through (pattern.h): pattern_filter_all (every
 * address goes on to the full test) until the environment is read and the
 * patterns are complete, then theirs (state.h: published once). */
extern __attribute__((visibility("hidden"))) const struct pattern_filter
    *muxfix_config_filter;

static inline const struct pattern_filter *config_filter(void)
{
    return __atomic_load_n(&muxfix_config_filter, __ATOMIC_ACQUIRE);
}

/* Parse a MUXFIX_PATH value into CFG's patterns and set, expanding '~' with
 * HOME (NULL: patterns starting with '~' are refused). Returns NULL on
 * success or a short reason. Exposed for the unit tests and the fuzzers. */
const char *config_parse_patterns(struct muxfix_config *cfg, const char *value,
                                  const char *home);

#endif
