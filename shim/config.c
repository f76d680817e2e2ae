/* config.c: read the MUXFIX_* environment once, on first use (see config.h). */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "logfile.h"
#include "real.h"
#include "state.h"
#include "util.h"

/* Shared state (state.h), claimed then published once: CONFIG_UNREAD, the
 * pid of the process reading (or completing) it, or CONFIG_READY. A pid
 * rather than a flag: a fork() child of a process that was in the middle
 * of it finds its parent's pid there, and nobody in the child will ever
 * finish; the child starts over. */
enum { CONFIG_UNREAD = 0, CONFIG_READY = -1 };

/* config's alignment: a page (4 KiB on most Linux ports; on one with larger
 * pages it only spreads less). */
#define CONFIG_PAGE 4096

/* On a page of its own: what a process that manages nothing writes of it
 * (its first fields, the filter, one entry) stays on the first (config.h). */
static struct muxfix_config config __attribute__((aligned(CONFIG_PAGE)));
STATE_FIRST_USE static int config_state = CONFIG_UNREAD;   /* the environment read */
STATE_FIRST_USE static int patterns_state = CONFIG_UNREAD; /* config.patterns complete */

const struct pattern_filter *muxfix_config_filter = &pattern_filter_all;
STATE_FIRST_USE const struct muxfix_config *muxfix_config_complete;

/* getpwuid_r's scratch space; NSS entries are far smaller. */
#define PASSWD_BUF_SIZE 4096
/* A configuration warning quotes at most 200 bytes of the bad value. */
#define WARN_LINE_MAX 512
/* The MUXFIX_PATH warning quotes its first 80 bytes. */
#define PATH_QUOTE 80
/* Longest "~user" name accepted (Linux user names are at most 32 bytes). */
#define USER_NAME_MAX 256
/* "owned by another user (uid 4294967295)" and the like. */
#define LOG_REASON_MAX 64
/* MUXFIX_PATH as written, until its '~' is expanded: expanded it must fit
 * MUXFIX_PATTERN_ARENA, and "~user" is at most USER_NAME_MAX + 1 bytes
 * longer than any home, so this holds every value that can be valid, with
 * the defaults beside it. */
#define PENDING_TEXT                                                         \
    (MUXFIX_PATTERN_ARENA + MUXFIX_MAX_PATTERNS * (USER_NAME_MAX + 1) +       \
     sizeof MUXFIX_DEFAULT_PATH)

/* MUXFIX_PATH before '~' is expanded, published with the configuration:
 * its patterns as written (or the defaults'), and the set a path must match
 * for the home directories to be worth looking up. */
static struct {
    char value_head[PATH_QUOTE + 1]; /* for the warning, if expanding fails */
    const char *value[MUXFIX_MAX_PATTERNS];
    const char *dflt[MUXFIX_MAX_PATTERNS]; /* kept for the set only */
    struct pattern_set set;
    char text[PENDING_TEXT];
    char hint[PATH_MAX];
} pending;
/* Its counts, written by every process that reads the configuration: in
 * .data (state.h), not on a page of the bss of their own. */
STATE_FIRST_USE static struct {
    bool value_ok; /* MUXFIX_PATH set, valid as far as it can be without homes */
    bool has_hint; /* MUXFIX_HOME gave our home: only "~user" is looked up */
    size_t nvalue, ndefault, used;
} pending_n;

/* A disabled library's filter: rejects every path. */
static const struct pattern_filter reject_all;

__attribute__((format(printf, 1, 2))) static void config_warn(const char *fmt,
                                                              ...)
{
    char line[WARN_LINE_MAX];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        util_write_all(STDERR_FILENO, line, strnlen(line, sizeof line));
    errno = saved;
}

/* STATE was seen as SEEN (not CONFIG_READY): take it for this process.
 * False while this process is at it (another thread, or a signal handler
 * that interrupted the caller that is): the caller passes through. */
/* NOLINTNEXTLINE(readability-non-const-parameter): the compare-and-swap writes it */
static bool claim(int *state, int seen)
{
    int me = (int)util_getpid();
    if (seen == me)
        return false;
    return __atomic_compare_exchange_n(state, &seen, me, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* ssh expands '~' with the passwd entry of the real uid, not $HOME. */
static bool home_of(const char *user, char *out, size_t size)
{
    struct passwd pw, *res = NULL;
    char buf[PASSWD_BUF_SIZE];
    int rc = user != NULL ? getpwnam_r(user, &pw, buf, sizeof buf, &res)
                          : getpwuid_r(util_getuid(), &pw, buf, sizeof buf, &res);
    if (rc != 0 || res == NULL || pw.pw_dir == NULL)
        return false;
    size_t len = strlen(pw.pw_dir);
    if (len == 0 || len >= size)
        return false;
    memcpy(out, pw.pw_dir, len + 1);
    return true;
}

/* Length of the user name after a leading '~' of PAT (LEN bytes). */
static size_t tilde_user_len(const char *pat, size_t len)
{
    const char *slash = memchr(pat, '/', len);
    return (slash != NULL ? (size_t)(slash - pat) : len) - 1;
}

/* memcpy of N bytes its caller has just checked fit: the pattern copies
 * every process that makes a Unix-socket call runs once. Not memcpy, which
 * _FORTIFY_SOURCE makes __memcpy_chk there, and that lies in a 64 KiB
 * stretch of libc nothing else such a process runs (make bench, row 7:
 * 16 more pages). */
static inline void copy_checked(char *dst, const char *src, size_t n)
{
    __builtin_memcpy(dst, src, n);
}

/* Expand a leading "~" or "~user" of PAT (length LEN) into OUT. */
static const char *expand_tilde(const char *pat, size_t len, const char *home,
                                char *out, size_t size)
{
    char user_home[PATH_MAX];
    const char *rest = pat, *prefix = "";

    if (len > 0 && pat[0] == '~') {
        size_t ulen = tilde_user_len(pat, len);
        rest = pat + 1 + ulen;
        if (ulen == 0) {
            if (home == NULL)
                return "'~' but no home directory in the passwd database";
            prefix = home;
        } else {
            char user[USER_NAME_MAX];
            if (ulen >= sizeof user)
                return "user name after '~' is too long";
            memcpy(user, pat + 1, ulen);
            user[ulen] = '\0';
            if (!home_of(user, user_home, sizeof user_home))
                return "unknown user after '~'";
            prefix = user_home;
        }
    }
    size_t plen = strlen(prefix), rlen = len - (size_t)(rest - pat);
    if (plen + rlen >= size)
        return "pattern too long";
    copy_checked(out, prefix, plen);
    copy_checked(out + plen, rest, rlen);
    out[plen + rlen] = '\0';
    return NULL;
}

/* Add the pattern PAT (LEN bytes) to CFG, '~' expanded; *USED: the arena's
 * bytes taken so far. */
static const char *add_pattern(struct muxfix_config *cfg, const char *pat,
                               size_t len, const char *home, size_t *used)
{
    char expanded[PATH_MAX];

    if (len == 0)
        return "empty pattern";
    if (len >= PATH_MAX)
        return "pattern too long";
    if (cfg->npatterns == MUXFIX_MAX_PATTERNS)
        return "too many patterns";
    const char *reason = expand_tilde(pat, len, home, expanded, sizeof expanded);
    if (reason != NULL)
        return reason;
    size_t elen = strlen(expanded);
    if (elen >= MUXFIX_PATTERN_ARENA - *used)
        return "patterns too long in total";
    char *at = cfg->arena + *used;
    copy_checked(at, expanded, elen + 1);
    cfg->patterns[cfg->npatterns++] = at;
    (void)pattern_set_add(&cfg->set, at, false);
    *used += elen + 1;
    return NULL;
}

static void clear_patterns(struct muxfix_config *cfg)
{
    cfg->npatterns = 0;
    pattern_set_init(&cfg->set);
}

const char *config_parse_patterns(struct muxfix_config *cfg, const char *value,
                                  const char *home)
{
    size_t used = 0;
    const char *p = value;

    clear_patterns(cfg);
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *reason = add_pattern(cfg, p, len, home, &used);
        if (reason != NULL)
            return reason;
        if (end == NULL) {
            pattern_set_build(&cfg->set);
            return NULL;
        }
        p = end + 1;
    }
}

/* The patterns PATS (N, as written) into CFG, '~' expanded with HOME. */
static const char *parse_list(struct muxfix_config *cfg, const char *const *pats,
                              size_t n, const char *home)
{
    size_t used = 0;

    clear_patterns(cfg);
    for (size_t i = 0; i < n; i++) {
        const char *reason = add_pattern(cfg, pats[i], strlen(pats[i]), home, &used);
        if (reason != NULL)
            return reason;
    }
    pattern_set_build(&cfg->set);
    return NULL;
}

/* The default list skips a '~' pattern when there is no home directory. */
static void load_default_patterns(struct muxfix_config *cfg, const char *home)
{
    if (config_parse_patterns(cfg, MUXFIX_DEFAULT_PATH, home) == NULL)
        return;
    (void)config_parse_patterns(cfg, "/tmp/ssh_control_*/*", home);
}

/* Keep VALUE's patterns as written in LIST (*N), and in the pending set (a
 * '~' pattern as its tail). Checks what can be checked without a home
 * directory; the rest (unknown user, too long once expanded) is found when
 * the patterns are completed. */
static const char *keep_pending(const char *value, const char **list, size_t *n)
{
    for (const char *p = value;;) {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (len == 0)
            return "empty pattern";
        if (len >= PATH_MAX)
            return "pattern too long";
        if (*n == MUXFIX_MAX_PATTERNS)
            return "too many patterns";
        size_t ulen = p[0] == '~' ? tilde_user_len(p, len) : 0;
        if (ulen >= USER_NAME_MAX)
            return "user name after '~' is too long";
        if (len >= sizeof pending.text - pending_n.used)
            return "patterns too long in total";
        char *at = pending.text + pending_n.used;
        memcpy(at, p, len);
        at[len] = '\0';
        pending_n.used += len + 1;
        list[(*n)++] = at;
        if (p[0] == '~')
            (void)pattern_set_add(&pending.set, at + 1 + ulen, true);
        else
            (void)pattern_set_add(&pending.set, at, false);
        if (end == NULL)
            return NULL;
        p = end + 1;
    }
}

/* What VALUE's patterns need to be expanded. */
enum tilde_need { TILDE_NONE, TILDE_OWN, TILDE_USER };

static enum tilde_need tilde_need(const char *value)
{
    enum tilde_need need = TILDE_NONE;
    for (const char *p = value; p != NULL; p = strchr(p, ':')) {
        if (*p == ':')
            p++;
        if (p[0] != '~')
            continue;
        if (p[1] != '/' && p[1] != ':' && p[1] != '\0')
            return TILDE_USER;
        need = TILDE_OWN;
    }
    return need;
}

/* MUXFIX_HOME, "UID:DIR": the muxfix command puts the passwd entry's home
 * directory there, so that the processes it starts expand '~' without a
 * lookup of their own. Into OUT when UID is this process's real uid; NULL
 * otherwise (another user's, after su or setpriv: looked up). */
static const char *read_home_hint(char *out, size_t size)
{
    const char *value = getenv("MUXFIX_HOME");
    char *end;
    if (value == NULL)
        return NULL;
    errno = 0;
    unsigned long uid = strtoul(value, &end, 10);
    size_t len = *end == ':' ? strlen(end + 1) : 0;
    if (errno != 0 || end == value || *end != ':' || end[1] != '/' || len >= size) {
        config_warn("muxfix: ignoring MUXFIX_HOME='%.40s' (%s); looking the "
                    "home directory up\n", value, "not UID:/DIRECTORY");
        return NULL;
    }
    if (uid != (unsigned long)util_getuid())
        return NULL;
    memcpy(out, end + 1, len + 1);
    return out;
}

/* Read MUXFIX_PATH: complete at once when no pattern needs a lookup (no
 * '~', or '~' alone and MUXFIX_HOME); otherwise keep it pending, with the
 * defaults it falls back to if a '~' cannot be expanded. */
static void read_patterns(struct muxfix_config *cfg)
{
    const char *value = getenv("MUXFIX_PATH");
    char hintbuf[PATH_MAX];
    const char *hint = read_home_hint(hintbuf, sizeof hintbuf);
    const char *reason = NULL;

    /* The pending part is written only when it is used: a process that
     * needs no lookup never touches its pages. */
    if (hint != NULL && (value == NULL || tilde_need(value) == TILDE_USER))
        memcpy(pending.hint, hint, strlen(hint) + 1);
    pending_n.has_hint = hint != NULL;
    pending_n.value_ok = false;
    pending_n.nvalue = pending_n.ndefault = pending_n.used = 0;
    clear_patterns(cfg);
    __atomic_store_n(&patterns_state, CONFIG_READY, __ATOMIC_RELAXED);
    if (value != NULL) {
        enum tilde_need need = tilde_need(value);
        if (need == TILDE_NONE || (need == TILDE_OWN && hint != NULL)) {
            reason = config_parse_patterns(cfg, value, hint);
        } else {
            pattern_set_init(&pending.set);
            if ((reason = keep_pending(value, pending.value, &pending_n.nvalue)) == NULL)
                pending_n.value_ok = true;
        }
        if (reason == NULL && !pending_n.value_ok)
            return;
        if (reason != NULL) {
            config_warn("muxfix: ignoring MUXFIX_PATH='%.80s' (%s); using the "
                        "default patterns\n", value, reason);
            pending_n.nvalue = pending_n.used = 0;
            pattern_set_init(&pending.set);
        } else {
            (void)snprintf(pending.value_head, sizeof pending.value_head, "%s", value);
        }
    }
    if (!pending_n.value_ok && hint != NULL) {
        load_default_patterns(cfg, hint);
        return;
    }
    if (!pending_n.value_ok)
        pattern_set_init(&pending.set);
    (void)keep_pending(MUXFIX_DEFAULT_PATH, pending.dflt, &pending_n.ndefault);
    pattern_set_build(&pending.set);
    __atomic_store_n(&patterns_state, CONFIG_UNREAD, __ATOMIC_RELAXED);
}

/* Expand '~' (the lookups happen here) and build the final set. */
static void resolve_patterns(struct muxfix_config *cfg)
{
    char homebuf[PATH_MAX];
    const char *home = pending_n.has_hint ? pending.hint
                       : home_of(NULL, homebuf, sizeof homebuf) ? homebuf
                                                                : NULL;

    if (pending_n.value_ok) {
        const char *reason = parse_list(cfg, pending.value, pending_n.nvalue, home);
        if (reason == NULL)
            return;
        config_warn("muxfix: ignoring MUXFIX_PATH='%s' (%s); using the "
                    "default patterns\n", pending.value_head, reason);
    }
    load_default_patterns(cfg, home);
}

static bool parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int read_int(const char *name, long min, long max, int dflt,
                    const char *what)
{
    const char *value = getenv(name);
    long v;
    if (value == NULL)
        return dflt;
    if (parse_int(value, min, max, &v))
        return (int)v;
    config_warn("muxfix: ignoring %s='%.40s' (%s); using %d\n", name, value,
                what, dflt);
    return dflt;
}

static bool word_in(const char *value, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strcasecmp(value, *words) == 0)
            return true;
    return false;
}

/* MUXFIX_DISABLE: an unrecognised value still disables, since whoever set it
 * meant to turn the library off. */
static bool read_disable(void)
{
    static const char *const off[] = {"", "0", "no", "false", "off", NULL};
    static const char *const on[] = {"1", "yes", "true", "on", NULL};
    const char *value = getenv("MUXFIX_DISABLE");

    if (value == NULL || word_in(value, off))
        return false;
    if (!word_in(value, on))
        config_warn("muxfix: MUXFIX_DISABLE='%.40s' %s; taking it as 1 "
                    "(disabled)\n", value, "is not 0 or 1");
    return true;
}

static void read_log(struct muxfix_config *cfg)
{
    const char *value = getenv("MUXFIX_LOG");
    cfg->log_to_file = false;
    if (value == NULL || *value == '\0')
        return;
    size_t len = strlen(value);
    if (len >= sizeof cfg->log_path) {
        config_warn("muxfix: ignoring MUXFIX_LOG='%.40s...' (%s); logging to "
                    "stderr\n", value, "path too long");
        return;
    }
    /* Checked once here so that an unusable file gets its one line; each
     * log line opens it again with the same checks (log.c). */
    struct muxfix_logfile_verdict verdict;
    int fd = logfile_open(value, &verdict);
    if (fd < 0) {
        char reason[LOG_REASON_MAX];
        config_warn("muxfix: cannot log to MUXFIX_LOG='%.200s' (%s); logging "
                    "to stderr\n", value,
                    logfile_reason(&verdict, reason, sizeof reason));
        return;
    }
    close(fd);
    memcpy(cfg->log_path, value, len + 1);
    cfg->log_to_file = true;
}

/* Empty PATH, without writing to its page when it is empty already: a
 * process without the variable never touches it (config.h). */
static void clear_path(char *path)
{
    /* The test is the point: an unconditional store would dirty the page. */
    if (path[0] != '\0') /* cppcheck-suppress duplicateConditionalAssign */
        path[0] = '\0';
}

static void read_auth_sock(struct muxfix_config *cfg)
{
    const char *value = getenv("SSH_AUTH_SOCK");
    if (value != NULL && strlen(value) < sizeof cfg->auth_sock)
        strcpy(cfg->auth_sock, value);
    else
        clear_path(cfg->auth_sock);
}

/* Every field is set here: a fork() child may start over on what its parent
 * left half written. */
static void read_config(struct muxfix_config *cfg)
{
    int saved = errno;

    cfg->disabled = false;
    cfg->verbose = 0;
    cfg->timeout_ms = MUXFIX_DEFAULT_TIMEOUT_MS;
    cfg->wait_ms = 0;
    cfg->replay = false;
    cfg->log_to_file = false;
    clear_path(cfg->auth_sock);
    clear_patterns(cfg);
    /* A secure-execution process (setuid, capabilities) must not be steered
     * by its caller's environment; ld.so normally refuses the preload. */
    if (getauxval(AT_SECURE) != 0 || read_disable()) {
        cfg->disabled = true;
        __atomic_store_n(&patterns_state, CONFIG_READY, __ATOMIC_RELAXED);
        errno = saved;
        return;
    }
    cfg->verbose = read_int("MUXFIX_VERBOSE", 0, 2, 0, "not 0, 1 or 2");
    cfg->timeout_ms = read_int("MUXFIX_TIMEOUT_MS", 0, MUXFIX_MAX_TIMEOUT_MS,
                               MUXFIX_DEFAULT_TIMEOUT_MS,
                               "not a number of milliseconds up to 600000");
    cfg->wait_ms = read_int("MUXFIX_WAIT_MS", 0, MUXFIX_MAX_TIMEOUT_MS,
                            MUXFIX_DEFAULT_WAIT_MS,
                            "not a number of milliseconds up to 600000");
    cfg->replay = read_int("MUXFIX_REPLAY", 0, 1, 1, "not 0 or 1") != 0;
    cfg->reply_timeout_ms = read_int("MUXFIX_REPLY_TIMEOUT_MS", 0,
                                     MUXFIX_MAX_TIMEOUT_MS,
                                     MUXFIX_DEFAULT_REPLY_TIMEOUT_MS,
                                     "not a number of milliseconds up to 600000");
    cfg->slot_wait_ms = read_int("MUXFIX_SLOT_WAIT_MS", 0, MUXFIX_MAX_TIMEOUT_MS,
                                 MUXFIX_DEFAULT_SLOT_WAIT_MS,
                                 "not a number of milliseconds up to 600000");
    read_log(cfg);
    read_auth_sock(cfg);
    read_patterns(cfg);
    /* learn.h: ssh's own ControlPath is managed with no configuration
     * (ssh: the test of sshopts_is_ssh(), glibc's basename of argv[0]). */
    cfg->learns = getenv("MUXFIX_PATH") == NULL &&
                  strcmp(program_invocation_short_name, "ssh") == 0;
    errno = saved;
}

/* The filter the pass-through uses from now on: while the patterns wait
 * for a home directory every Unix address goes on to the full test (which
 * looks for the tails, pattern_set_may_match), so only a complete (or
 * disabled) configuration changes it. */
static void publish_filter(const struct muxfix_config *cfg)
{
    if (__atomic_load_n(&patterns_state, __ATOMIC_ACQUIRE) != CONFIG_READY)
        return;
    __atomic_store_n(&muxfix_config_complete, cfg, __ATOMIC_RELEASE);
    __atomic_store_n(&muxfix_config_filter,
                     cfg->disabled ? &reject_all
                     : cfg->learns ? &pattern_filter_all
                                   : &cfg->set.filter,
                     __ATOMIC_RELEASE);
}

/* The first use: read the environment, unless this process is at it. */
__attribute__((noinline, cold)) static const struct muxfix_config *config_read(void)
{
    int state = __atomic_load_n(&config_state, __ATOMIC_ACQUIRE);
    if (state == CONFIG_READY)
        return &config;
    if (!claim(&config_state, state))
        return NULL;
    read_config(&config);
    __atomic_store_n(&config_state, CONFIG_READY, __ATOMIC_RELEASE);
    publish_filter(&config);
    return &config;
}

const struct muxfix_config *config_get(void)
{
    if (__builtin_expect(__atomic_load_n(&config_state, __ATOMIC_ACQUIRE) == CONFIG_READY, 1))
        return &config;
    return config_read();
}

/* Complete the patterns, unless this process is at it. */
__attribute__((noinline, cold)) static const struct muxfix_config *config_resolve(void)
{
    int state = __atomic_load_n(&patterns_state, __ATOMIC_ACQUIRE);
    if (state == CONFIG_READY)
        return &config;
    if (!claim(&patterns_state, state))
        return NULL;
    int saved = errno;
    resolve_patterns(&config);
    errno = saved;
    __atomic_store_n(&patterns_state, CONFIG_READY, __ATOMIC_RELEASE);
    publish_filter(&config);
    return &config;
}

const struct muxfix_config *config_get_resolved(void)
{
    if (config_get() == NULL)
        return NULL;
    if (__builtin_expect(__atomic_load_n(&patterns_state, __ATOMIC_ACQUIRE) == CONFIG_READY, 1))
        return &config;
    return config_resolve();
}

bool config_may_manage_max(const struct muxfix_config *cfg, const char *path,
                           size_t max)
{
    if (__atomic_load_n(&patterns_state, __ATOMIC_ACQUIRE) == CONFIG_READY)
        return pattern_set_match_max(&cfg->set, path, max);
    return pattern_set_may_match_max(&pending.set, path, max);
}

bool config_may_manage(const struct muxfix_config *cfg, const char *path,
                       size_t n)
{
    if (__atomic_load_n(&patterns_state, __ATOMIC_ACQUIRE) == CONFIG_READY)
        return pattern_set_match(&cfg->set, path, n);
    return pattern_set_may_match(&pending.set, path, n);
}
