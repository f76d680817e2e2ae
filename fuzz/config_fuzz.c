/* config_fuzz: libFuzzer target for the MUXFIX_PATH parser.
 *
 * The input becomes a NUL-terminated value in an exactly-sized heap buffer
 * (it ends at its first NUL byte, as an environment string does) and is
 * parsed twice: with a home directory and with none (no passwd entry). On
 * success every pattern must be a NUL-terminated string inside the arena,
 * and the set built from them must hold each once, measured. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pattern.h"

static struct muxfix_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_patterns(const struct muxfix_config *c)
{
    if (c->npatterns == 0 || c->npatterns > MUXFIX_MAX_PATTERNS)
        abort();
    for (size_t i = 0; i < c->npatterns; i++) {
        const char *p = c->patterns[i];
        if (p < c->arena || p >= c->arena + sizeof c->arena)
            abort();
        size_t room = (size_t)(c->arena + sizeof c->arena - p);
        if (strnlen(p, room) == room)
            abort();
    }
    /* The set holds each distinct pattern once, in the arena, measured. */
    if (c->set.n == 0 || c->set.n > c->npatterns)
        abort();
    for (size_t i = 0; i < c->set.n; i++) {
        const struct pattern_entry *e = &c->set.entry[i];
        if (e->text < c->arena || e->text >= c->arena + sizeof c->arena || e->tail ||
            e->nlit != pattern_literal_prefix(e->text))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1);
    if (value == NULL)
        abort();
    memcpy(value, data, size);
    value[size] = '\0';

    if (config_parse_patterns(&cfg, value, "/home/u") == NULL)
        check_patterns(&cfg);
    if (config_parse_patterns(&cfg, value, NULL) == NULL)
        check_patterns(&cfg);

    free(value);
    return 0;
}
