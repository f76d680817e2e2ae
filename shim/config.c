/* config.c: read the MUXFIX_* environment once (see config.h). */
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
#include "pattern.h"
#include "real.h"
#include "util.h"

enum { CONFIG_UNREAD, CONFIG_READING, CONFIG_READY };

static struct muxfix_config config;
static int config_state = CONFIG_UNREAD;

/* getpwuid_r's scratch space; NSS entries are far smaller. */
#define PASSWD_BUF_SIZE 4096
/* A configuration warning quotes at most 200 bytes of the bad value. */
#define WARN_LINE_MAX 512
/* Longest "~user" name accepted (Linux user names are at most 32 bytes). */
#define USER_NAME_MAX 256
/* "owned by another user (uid 4294967295)" and the like. */
#define LOG_REASON_MAX 64

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

/* ssh expands '~' with the passwd entry of the real uid, not $HOME. */
static bool home_of(const char *user, char *out, size_t size)
{
    struct passwd pw, *res = NULL;
    char buf[PASSWD_BUF_SIZE];
    int rc = user != NULL ? getpwnam_r(user, &pw, buf, sizeof buf, &res)
                          : getpwuid_r(getuid(), &pw, buf, sizeof buf, &res);
    if (rc != 0 || res == NULL || pw.pw_dir == NULL)
        return false;
    size_t len = strlen(pw.pw_dir);
    if (len == 0 || len >= size)
        return false;
    memcpy(out, pw.pw_dir, len + 1);
    return true;
}

/* Expand a leading "~" or "~user" of PAT (length LEN) into OUT. */
static const char *expand_tilde(const char *pat, size_t len, const char *home,
                                char *out, size_t size)
{
    char user_home[PATH_MAX];
    const char *rest = pat, *prefix = "";

    if (len > 0 && pat[0] == '~') {
        const char *slash = memchr(pat, '/', len);
        size_t ulen = (slash != NULL ? (size_t)(slash - pat) : len) - 1;
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
    memcpy(out, prefix, plen);
    memcpy(out + plen, rest, rlen);
    out[plen + rlen] = '\0';
    return NULL;
}

const char *config_parse_patterns(struct muxfix_config *cfg, const char *value,
                                  const char *home)
{
    size_t used = 0;
    const char *p = value;

    cfg->npatterns = 0;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char expanded[PATH_MAX];

        if (len == 0)
            return "empty pattern";
        if (len >= PATH_MAX)
            return "pattern too long";
        if (cfg->npatterns == MUXFIX_MAX_PATTERNS)
            return "too many patterns";
        const char *reason = expand_tilde(p, len, home, expanded, sizeof expanded);
        if (reason != NULL)
            return reason;
        size_t elen = strlen(expanded);
        if (elen >= MUXFIX_PATTERN_ARENA - used)
            return "patterns too long in total";
        memcpy(cfg->arena + used, expanded, elen + 1);
        cfg->patterns[cfg->npatterns] = cfg->arena + used;
        cfg->literal_prefix[cfg->npatterns++] =
            pattern_literal_prefix(cfg->arena + used);
        used += elen + 1;
        if (end == NULL)
            return NULL;
        p = end + 1;
    }
}

/* The default list skips a '~' pattern when there is no home directory. */
static void load_default_patterns(struct muxfix_config *cfg, const char *home)
{
    if (config_parse_patterns(cfg, MUXFIX_DEFAULT_PATH, home) == NULL)
        return;
    (void)config_parse_patterns(cfg, "/tmp/ssh_control_*/*", home);
}

static void read_patterns(struct muxfix_config *cfg)
{
    char homebuf[PATH_MAX];
    const char *home = home_of(NULL, homebuf, sizeof homebuf) ? homebuf : NULL;
    const char *value = getenv("MUXFIX_PATH");

    if (value != NULL) {
        const char *reason = config_parse_patterns(cfg, value, home);
        if (reason == NULL)
            return;
        config_warn("muxfix: ignoring MUXFIX_PATH='%.80s' (%s); using the "
                    "default patterns\n", value, reason);
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

static void read_auth_sock(struct muxfix_config *cfg)
{
    const char *value = getenv("SSH_AUTH_SOCK");
    if (value != NULL && strlen(value) < sizeof cfg->auth_sock)
        strcpy(cfg->auth_sock, value);
}

static void read_config(struct muxfix_config *cfg)
{
    int saved = errno;

    cfg->timeout_ms = MUXFIX_DEFAULT_TIMEOUT_MS;
    /* A secure-execution process (setuid, capabilities) must not be steered
     * by its caller's environment; ld.so normally refuses the preload. */
    if (getauxval(AT_SECURE) != 0 || read_disable()) {
        cfg->disabled = true;
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
    errno = saved;
}

const struct muxfix_config *config_get(void)
{
    int state = __atomic_load_n(&config_state, __ATOMIC_ACQUIRE);
    if (state == CONFIG_READY)
        return &config;
    int expected = CONFIG_UNREAD;
    if (state != CONFIG_UNREAD ||
        !__atomic_compare_exchange_n(&config_state, &expected, CONFIG_READING,
                                     false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return NULL;
    read_config(&config);
    __atomic_store_n(&config_state, CONFIG_READY, __ATOMIC_RELEASE);
    return &config;
}

__attribute__((constructor)) static void muxfix_config_init(void)
{
    (void)config_get();
}
