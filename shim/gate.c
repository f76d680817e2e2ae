/* gate.c: see gate.h. */
#include "gate.h"

#include "classify.h"

const struct muxfix_config *gate_path(const char *path, size_t n)
{
    const struct muxfix_config *cfg = config_get();
    if (cfg == NULL || cfg->disabled ||
        (!cfg->learns && !config_may_manage(cfg, path, n)) ||
        (cfg = config_get_resolved()) == NULL)
        return NULL;
    return cfg->learns || classify_is_managed_n(cfg, path, n) ? cfg : NULL;
}

const struct muxfix_config *gate_sockaddr(const struct sockaddr *addr, socklen_t len)
{
    const struct muxfix_config *cfg = config_get_complete();
    size_t max;
    if (__builtin_expect(cfg != NULL, 1)) {
        if (classify_sockaddr_is_managed(cfg, addr, len))
            return cfg;
        return cfg->learns && classify_sockaddr_place(addr, len, &max) != NULL
                   ? cfg
                   : NULL;
    }
    /* First use, or '~' not expanded yet. */
    const char *src = classify_sockaddr_place(addr, len, &max);
    if (src == NULL || (cfg = config_get()) == NULL || cfg->disabled ||
        (!cfg->learns && !config_may_manage_max(cfg, src, max)) ||
        (cfg = config_get_resolved()) == NULL)
        return NULL;
    return cfg->learns || classify_sockaddr_is_managed(cfg, addr, len) ? cfg : NULL;
}
