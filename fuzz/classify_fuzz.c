/* classify_fuzz: libFuzzer target for sockaddr parsing and managed-path
 * classification. The answer is held to the reference matcher
 * (pattern_ref.h, applied pattern by pattern, ssh's temporary name too):
 * in place and on a copy alike; the pass-through's filter never turns a
 * managed address down; and the set kept before '~' is expanded (tails)
 * never turns down a path that is managed once it is.
 *
 * Input layout: byte 0 and 1 pick addrlen (little endian, reduced to at most
 * the remaining input size), the rest is the sockaddr as the caller of
 * connect()/bind() would pass it. The sockaddr is copied into an
 * exactly-sized heap buffer so AddressSanitizer catches any read past
 * addrlen. A path that comes out is classified against a configuration
 * parsed once from a fixed pattern list (the defaults plus tokens, brackets
 * and literal names). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "config.h"
#include "pattern_ref.h"

#define FUZZ_PATTERNS                                                        \
    MUXFIX_DEFAULT_PATH ":~/.ssh/%r@%h:%p:/run/user/[0-9]*/ssh-%C:"          \
    "/k/cm:/s/100%%-?x:/s/[!a-c]*/[abc"

static struct muxfix_config cfg;

/* FUZZ_PATTERNS before '~' is expanded: the '~' patterns as tails. */
static struct pattern_set pending;
static char pending_text[sizeof FUZZ_PATTERNS];

static void build_pending(void)
{
    memcpy(pending_text, FUZZ_PATTERNS, sizeof FUZZ_PATTERNS);
    pattern_set_init(&pending);
    for (char *p = pending_text, *end; p != NULL; p = end) {
        end = strchr(p, ':');
        if (end != NULL)
            *end++ = '\0';
        if (p[0] == '~') {
            char *slash = strchr(p, '/');
            (void)pattern_set_add(&pending, slash != NULL ? slash : p + strlen(p), true);
        } else {
            (void)pattern_set_add(&pending, p, false);
        }
    }
    pattern_set_build(&pending);
}

/* The reference answer for PATH under CFG. */
static bool ref_managed(const char *path)
{
    size_t n = strlen(path), base = pattern_strip_tmp_suffix(path, n);
    char stripped[MUXFIX_SOCK_PATH_BUF];
    if (n == 0 || strcmp(path, cfg.auth_sock) == 0)
        return false;
    memcpy(stripped, path, base);
    stripped[base] = '\0';
    for (size_t i = 0; i < cfg.npatterns; i++)
        if (ref_pattern_match(cfg.patterns[i], path) ||
            (base != n && ref_pattern_match(cfg.patterns[i], stripped)))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (config_parse_patterns(&cfg, FUZZ_PATTERNS, "/home/u") != NULL)
            abort();
        strcpy(cfg.auth_sock, "/home/u/.ssh/sockets/agent");
        build_pending();
        ready = 1;
    }
    if (size < 2)
        return 0;
    size_t avail = size - 2;
    size_t len = ((size_t)data[0] | (size_t)data[1] << 8) % (avail + 1);

    /* At least one byte, so a zero addrlen still has a valid pointer. */
    void *addr = malloc(len != 0 ? len : 1);
    if (addr == NULL)
        abort();
    memcpy(addr, data + 2, len);

    char path[MUXFIX_SOCK_PATH_BUF];
    memset(path, 'X', sizeof path);
    bool in_place = classify_sockaddr_is_managed(&cfg, addr, (socklen_t)len);
    bool managed = false;
    if (classify_sockaddr_path(addr, (socklen_t)len, path)) {
        size_t plen = strnlen(path, sizeof path);
        if (plen >= sizeof path || plen == 0 || plen > MUXFIX_SUN_PATH_SIZE)
            abort();
        managed = classify_path_is_managed(&cfg, path);
        if (managed != ref_managed(path))
            abort();
        /* Managed once '~' is /home/u: the tails must have said "may". */
        size_t max;
        const char *src = classify_sockaddr_place(addr, (socklen_t)len, &max);
        if (managed && (src == NULL || !pattern_set_may_match(&pending, path, plen) ||
                        !pattern_set_may_match_max(&pending, src, max)))
            abort();
    }
    if (in_place != managed)
        abort();
    if (managed && !pattern_filter_sockaddr(&cfg.set.filter, addr, len))
        abort();
    free(addr);
    return 0;
}
