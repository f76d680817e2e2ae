/* pattern_fuzz: libFuzzer target for the ControlPath pattern matcher.
 *
 * The input is split at its first NUL byte into a pattern and a path (no
 * NUL: the whole input is both), each copied into its own exactly-sized heap
 * buffer so AddressSanitizer catches a read one byte past either string.
 * Also checks the literal-prefix prefilter and runs ssh's temporary-suffix
 * stripper on the path, with the properties the callers rely on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

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
