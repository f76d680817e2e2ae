/* pattern_fuzz: libFuzzer target for the ControlPath pattern matcher.
 *
 * The input is split at its first NUL byte into a pattern and a path (no
 * NUL: the whole input is both), each copied into its own exactly-sized heap
 * buffer so AddressSanitizer catches a read one byte past either string.
 * The matcher must agree with the reference (pattern_ref.h, the segment-wise
 * one the library had before), also on the path given by length without a
 * NUL after it; a one-pattern set must agree too, and its filter must let
 * every path it matches through. Also checks the literal-prefix prefilter
 * and runs ssh's temporary-suffix stripper on the path, with the properties
 * the callers rely on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "pattern_ref.h"

static char *dup_bytes(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t plen = nul != NULL ? (size_t)(nul - data) : size;
    const uint8_t *rest = nul != NULL ? nul + 1 : data;
    size_t rlen = nul != NULL ? size - plen - 1 : size;

    char *pattern = dup_bytes(data, plen);
    char *path = dup_bytes(rest, rlen);
    size_t len = strlen(path); /* the path ends at its own first NUL */

    bool m = pattern_match(pattern, path);
    if (m != ref_pattern_match(pattern, path))
        abort();
    /* The path by length, in a buffer with no NUL after it. */
    char *bare = malloc(len != 0 ? len : 1);
    if (bare == NULL)
        abort();
    memcpy(bare, path, len);
    if (pattern_match_n(pattern, bare, len) != m)
        abort();
    free(bare);
    /* As the one pattern of a set: the same answer (the temporary name
     * aside), and the filter never turns a match down. */
    static struct pattern_set set;
    pattern_set_init(&set);
    (void)pattern_set_add(&set, pattern, false);
    pattern_set_build(&set);
    bool sm = pattern_set_match(&set, path, len);
    size_t stripped = pattern_strip_tmp_suffix(path, len);
    if (m && !sm)
        abort();
    if (sm && !m) { /* only as ssh's temporary name of a match */
        char *base = dup_bytes((const uint8_t *)path, stripped);
        if (stripped == len || !ref_pattern_match(pattern, base))
            abort();
        free(base);
    }
    /* The filter, for the path itself and for ssh's temporary name of a
     * match alike: by its length (link), and with its NUL counted (a
     * sockaddr's length may hold it). */
    if ((m || sm) && len >= 6) {
        uint64_t w;
        unsigned char sa[sizeof w];
        const unsigned short family = 1; /* AF_UNIX */
        memcpy(sa, &family, sizeof family);
        memcpy(sa + sizeof family, path, sizeof w - sizeof family);
        memcpy(&w, sa, sizeof w);
        int b = pattern_filter_first(&set.filter, w);
        if (b < 0 || !pattern_filter_second(&set.filter, b, path, len) ||
            !pattern_filter_second(&set.filter, b, path, len + 1))
            abort();
    }
    /* classify.c skips the matcher when the literal prefix differs: sound
     * only if every matching path starts with that prefix. */
    size_t lit = pattern_literal_prefix(pattern);
    if (m && strncmp(path, pattern, lit) != 0)
        abort();
    /* A path matches itself when it has no pattern metacharacters. */
    if (strpbrk(path, "*?[%") == NULL && !pattern_match(path, path))
        abort();

    size_t base = pattern_strip_tmp_suffix(path, len);
    if (base > len)
        abort();
    if (base != len && path[base] != '.')
        abort();

    free(pattern);
    free(path);
    return 0;
}
