/* pattern_test: unit tests of the ControlPath pattern matcher and of the
 * MUXFIX_PATH parser. Prints one line per failure and a final
 * "N passed, N failed" line; exits 1 on any failure. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "config.h"
#include "pattern.h"

static int passed, failed;

static void check(bool ok, const char *what, const char *a, const char *b)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s: '%s' vs '%s'\n", what, a, b);
}

struct match_case {
    const char *pattern, *path;
    bool expect;
};

static const struct match_case match_cases[] = {
    /* literal */
    {"/home/u/.ssh/cm", "/home/u/.ssh/cm", true},
    {"/home/u/.ssh/cm", "/home/u/.ssh/cm2", false},
    {"/home/u/.ssh/cm", "/home/u/.ssh/c", false},
    {"", "", true},
    /* '*' stays within a segment */
    {"/s/*", "/s/host", true},
    {"/s/*", "/s/", true},
    {"/s/*", "/s/a/b", false},
    {"/s/*", "/s", false},
    {"/tmp/ssh_control_*/*", "/tmp/ssh_control_x/deb_1.2.3.4_22", true},
    {"/tmp/ssh_control_*/*", "/tmp/ssh_control_x", false},
    {"/tmp/ssh_control_*/*", "/tmp/other/x", false},
    {"/a/*b*c", "/a/xxbyyc", true},
    {"/a/*b*c", "/a/xxbyyd", false},
    {"/a/**", "/a/anything", true},
    {"/a/*x", "/a/xxxx", true},
    /* ssh tokens */
    {"/s/%r@%h-%p", "/s/deploy@web1-22", true},
    {"/s/%r@%h-%p", "/s/deploy@web1", false},
    {"/s/%r@%h:%p", "/s/u@h:22", true},
    {"/s/%C", "/s/0123456789abcdef", true},
    {"/s/%C", "/s/a/b", false},
    {"/s/100%%", "/s/100%", true},
    {"/s/100%%", "/s/100x", false},
    {"/s/%n-%u-%l-%L-%i-%k-%d", "/s/n-u-l-L-1000-k-d", true},
    {"/s/%z", "/s/%z", true},   /* not an ssh token: literal */
    {"/s/%z", "/s/zz", false},
    {"/s/x%", "/s/x%", true},   /* trailing '%' is literal */
    /* '?' */
    {"/s/a?c", "/s/abc", true},
    {"/s/a?c", "/s/a/c", false},
    {"/s/a?c", "/s/ac", false},
    /* brackets */
    {"/s/[abc]x", "/s/bx", true},
    {"/s/[abc]x", "/s/dx", false},
    {"/s/[!abc]x", "/s/dx", true},
    {"/s/[^abc]x", "/s/ax", false},
    {"/s/[a-c]x", "/s/bx", true},
    {"/s/[a-c]x", "/s/-x", false},
    {"/s/[]a]x", "/s/]x", true},
    {"/s/[a-]x", "/s/-x", true},
    {"/s/[abc", "/s/[abc", true},   /* unclosed: literal '[' */
    {"/s/[abc", "/s/a", false},
    {"/s/[", "/s/[", true},
    {"/s/*[", "/s/xx[", true},
    /* slashes */
    {"/a/b/c", "/a/b/c", true},
    {"/a/*/c", "/a/b/c", true},
    {"/a/*/c", "/a/b/d/c", false},
    {"/a/b/", "/a/b/", true},
    {"/a/b", "/a/b/", false},
    {"rel/*", "rel/x", true},
};

static void test_match(void)
{
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const struct match_case *c = &match_cases[i];
        check(pattern_match(c->pattern, c->path) == c->expect,
              c->expect ? "should match" : "should not match", c->pattern,
              c->path);
    }
}

static void test_tmp_suffix(void)
{
    const char *p = "/s/cm.AbCdEfGh12345678";
    check(pattern_strip_tmp_suffix(p, strlen(p)) == 5, "tmp suffix", p, "5");
    p = "/s/cm.AbCdEfGh1234567";    /* 15 random characters */
    check(pattern_strip_tmp_suffix(p, strlen(p)) == strlen(p), "short suffix",
          p, "unchanged");
    p = "/s/cm.AbCdEfGh1234567_";   /* not alphanumeric */
    check(pattern_strip_tmp_suffix(p, strlen(p)) == strlen(p), "bad suffix", p,
          "unchanged");
    p = ".AbCdEfGh12345678";
    check(pattern_strip_tmp_suffix(p, strlen(p)) == strlen(p), "bare suffix", p,
          "unchanged");
}

static struct muxfix_config cfg;

static void test_parse(void)
{
    const char *why = config_parse_patterns(&cfg, "~/.ssh/cm-*:/tmp/x/*", "/home/u");
    check(why == NULL && cfg.npatterns == 2, "parse two", "~/.ssh/cm-*:/tmp/x/*",
          why ? why : "ok");
    if (cfg.npatterns == 2) {
        check(strcmp(cfg.patterns[0], "/home/u/.ssh/cm-*") == 0, "tilde",
              cfg.patterns[0], "/home/u/.ssh/cm-*");
        check(strcmp(cfg.patterns[1], "/tmp/x/*") == 0, "plain", cfg.patterns[1],
              "/tmp/x/*");
    }
    check(config_parse_patterns(&cfg, "", "/h") != NULL, "empty rejected", "", "");
    check(config_parse_patterns(&cfg, "/a::/b", "/h") != NULL, "empty item",
          "/a::/b", "");
    check(config_parse_patterns(&cfg, "/a:", "/h") != NULL, "trailing colon",
          "/a:", "");
    check(config_parse_patterns(&cfg, "~/x", NULL) != NULL, "no home",
          "~/x", "");
    check(config_parse_patterns(&cfg, "~nosuchuser-muxfix/x", "/h") != NULL,
          "unknown user", "~nosuchuser-muxfix/x", "");
    check(config_parse_patterns(&cfg, "~root/x", "/h") == NULL &&
              strcmp(cfg.patterns[0], "/root/x") == 0,
          "~root", "~root/x", cfg.patterns[0]);

    static char big[70000];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    check(config_parse_patterns(&cfg, big, "/h") != NULL, "64 KiB pattern",
          "aaa...", "");
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        big[i] = '/', big[i + 1] = ':';
    big[sizeof big - 2] = 'x';
    check(config_parse_patterns(&cfg, big + 2, "/h") != NULL,
          "thousands of patterns", "/:/:...", "");
    check(config_parse_patterns(&cfg, MUXFIX_DEFAULT_PATH, "/home/u") == NULL,
          "default parses", MUXFIX_DEFAULT_PATH, "");
}

static void test_managed(void)
{
    (void)config_parse_patterns(&cfg, "/s/*:/c/%r@%h:/k/cm", "/h");
    strcpy(cfg.auth_sock, "/s/agent");
    check(classify_path_is_managed(&cfg, "/s/host"), "managed", "/s/host", "");
    check(!classify_path_is_managed(&cfg, "/s/agent"), "agent never", "/s/agent", "");
    check(classify_path_is_managed(&cfg, "/c/u@h.0123456789abcdef"), "tmp name",
          "/c/u@h.0123456789abcdef", "");
    check(classify_path_is_managed(&cfg, "/k/cm.0123456789abcdef"), "tmp of literal",
          "/k/cm.0123456789abcdef", "");
    check(!classify_path_is_managed(&cfg, "/k/cm.012345"), "not tmp",
          "/k/cm.012345", "");
    check(!classify_path_is_managed(&cfg, "/other/x"), "unmanaged", "/other/x", "");
    check(!classify_path_is_managed(&cfg, ""), "empty", "", "");
    cfg.disabled = true;
    check(!classify_path_is_managed(&cfg, "/s/host"), "disabled", "/s/host", "");
}

/* A set of PATS (TAILS: '~' patterns' ends, homes unknown). */
static void make_set(struct pattern_set *set, const char *const *pats, size_t n,
                     bool tails)
{
    pattern_set_init(set);
    for (size_t i = 0; i < n; i++)
        (void)pattern_set_add(set, pats[i], tails);
    pattern_set_build(set);
}

/* PATH as a sockaddr_un's path of MAX bytes (zeros after it), and with no
 * NUL at all (MAX = its length): pattern_set_match_max. */
static bool match_max(const struct pattern_set *set, const char *path, bool padded)
{
    char buf[108] = {0};
    size_t n = strlen(path);
    memcpy(buf, path, n);
    return pattern_set_match_max(set, buf, padded ? sizeof buf : n);
}

static void test_set(void)
{
    static struct pattern_set set;
    static const char *const pats[] = {
        "/d/*/cm*", "/h/.ssh/cm-*", "/h/.ssh/sockets/*", "/k/cm", "/t/ssh_control_*/*",
        "/a1/x", "/a2/x", "/a3/x", "/a4/x", "/a5/x", "/a6/x", "/a7/x", "/a8/x", "/a9/x",
    };
    make_set(&set, pats, sizeof pats / sizeof pats[0], false);
    static const struct {
        const char *path;
        bool expect;
    } cases[] = {
        {"/d/pass/cm1", true},
        {"/d/pass/x-live", false},          /* the prefix, not the segment after */
        {"/d/pass/cm1.0123456789abcdef", true}, /* ssh's temporary name */
        {"/d/pass", false},                 /* a segment short */
        {"/d/a/b/cm", false},               /* a segment over */
        {"/h/.ssh/cm-host", true},
        {"/h/.ssh/agent.sock", false},
        {"/h/.ssh/sockets/x", true},
        {"/k/cm", true},
        {"/k/cm.0123456789abcdef", true},
        {"/k/cm.012345", false},
        {"/a9/x", true},                    /* past the filter's 8 groups */
        {"/a9/y", false},
        {"/t/ssh_control_1/deb", true},
        {"/run/user/1000/bus", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = cases[i].path;
        bool e = cases[i].expect;
        check(pattern_set_match(&set, p, strlen(p)) == e, "set", p, e ? "match" : "none");
        check(match_max(&set, p, true) == e, "set, padded sockaddr", p, e ? "match" : "none");
        check(match_max(&set, p, false) == e, "set, no NUL", p, e ? "match" : "none");
    }

    /* Before '~' is expanded: the tails of "~/.ssh/cm-" and "~/.ssh/sockets/"
     * followed by a star. */
    static struct pattern_set pending;
    static const char *const tails[] = {"/.ssh/cm-*", "/.ssh/sockets/*"};
    make_set(&pending, tails, 2, true);
    static const struct {
        const char *path;
        bool expect;
    } maybe[] = {
        {"/home/x/.ssh/cm-host", true},
        {"/.ssh/cm-host", true},
        {"/home/x/.ssh/cm-host.0123456789abcdef", true},
        {"/home/x/.ssh/sockets/a", true},
        {"/home/x/.ssh/agent.sock", false},
        {"/home/x/.ssh/sockets/a/b", false},
        {"/run/dbus/system_bus_socket", false},
        {"/tmp/.X11-unix/X0", false},
    };
    for (size_t i = 0; i < sizeof maybe / sizeof maybe[0]; i++) {
        const char *p = maybe[i].path;
        char buf[108] = {0};
        memcpy(buf, p, strlen(p));
        check(pattern_set_may_match(&pending, p, strlen(p)) == maybe[i].expect, "tails", p,
              maybe[i].expect ? "may" : "cannot");
        check(pattern_set_may_match_max(&pending, buf, sizeof buf) == maybe[i].expect,
              "tails, sockaddr", p, maybe[i].expect ? "may" : "cannot");
    }
}

/* The pass-through's filter (pattern_filter_sockaddr) of PATH as a
 * sockaddr_un: its exact length (no NUL), and the whole struct (NUL and
 * zeros after it). */
static bool filter_passes(const struct pattern_set *set, const char *path, bool padded)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    memcpy(sa.sun_path, path, n);
    size_t len = padded ? sizeof sa : offsetof(struct sockaddr_un, sun_path) + n;
    return pattern_filter_sockaddr(&set->filter, &sa, len);
}

/* A bucket of one pattern with a segment after its literal prefix: the
 * filter turns down a path that has the prefix but not the segment after
 * the next '/' (the third test), never one that matches. */
static void test_filter(void)
{
    static struct pattern_set set;
    static const char *const pats[] = {"/srv/mux/*/cm*", "/h/.ssh/cm-*"};
    make_set(&set, pats, sizeof pats / sizeof pats[0], false);
    static const struct {
        const char *path;
        bool passes;
    } cases[] = {
        {"/srv/mux/host/cm", true},
        {"/srv/mux/host/cm-a", true},
        {"/srv/mux/host/cm-a.0123456789abcdef", true}, /* ssh's temporary name */
        {"/srv/mux/pass/x-live", false},
        {"/srv/mux/pass/c", false},   /* too short for the segment's start */
        {"/srv/mux/abcd/", false},
        {"/srv/mux/passwd", false},   /* no segment after */
        {"/h/.ssh/agent.sock", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = cases[i].path;
        bool e = cases[i].passes;
        check(filter_passes(&set, p, false) == e, "filter", p, e ? "passes" : "turned down");
        check(filter_passes(&set, p, true) == e, "filter, padded sockaddr", p,
              e ? "passes" : "turned down");
        /* Never a match turned down. */
        check(!pattern_set_match(&set, p, strlen(p)) || filter_passes(&set, p, false),
              "filter lets every match through", p, "");
    }
}

int main(void)
{
    test_match();
    test_set();
    test_filter();
    test_tmp_suffix();
    test_parse();
    test_managed();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
