/* classify.c: see classify.h. */
#include "classify.h"

#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "pattern.h"

bool classify_is_unix(const struct sockaddr *addr, socklen_t len)
{
    return addr != NULL && len >= sizeof(sa_family_t) &&
           addr->sa_family == AF_UNIX;
}

bool classify_sockaddr_path(const struct sockaddr *addr, socklen_t len,
                          char out[MUXFIX_SOCK_PATH_BUF])
{
    const size_t off = offsetof(struct sockaddr_un, sun_path);

    if (!classify_is_unix(addr, len) || len <= off)
        return false;
    const char *src = (const char *)addr + off;
    size_t n = len - off;
    if (n > MUXFIX_SUN_PATH_SIZE)
        n = MUXFIX_SUN_PATH_SIZE;
    if (src[0] == '\0') /* abstract namespace: there is no file to repair */
        return false;
    const char *nul = memchr(src, '\0', n);
    if (nul != NULL)
        n = (size_t)(nul - src);
    memcpy(out, src, n);
    out[n] = '\0';
    return true;
}

static bool matches_any(const struct muxfix_config *cfg, const char *path)
{
    /* Most Unix sockets a process meets (nscd, D-Bus, the agent) differ from
     * every pattern within a few bytes: compare the literal prefix first. */
    for (size_t i = 0; i < cfg->npatterns; i++)
        if (strncmp(path, cfg->patterns[i], cfg->literal_prefix[i]) == 0 &&
            pattern_match(cfg->patterns[i], path))
            return true;
    return false;
}

bool classify_path_is_managed(const struct muxfix_config *cfg, const char *path)
{
    if (cfg->disabled || path[0] == '\0')
        return false;
    if (cfg->auth_sock[0] != '\0' && strcmp(path, cfg->auth_sock) == 0)
        return false;
    if (matches_any(cfg, path))
        return true;

    size_t len = strlen(path);
    size_t base = pattern_strip_tmp_suffix(path, len);
    if (base == len || base >= MUXFIX_SOCK_PATH_BUF)
        return false;
    char stripped[MUXFIX_SOCK_PATH_BUF];
    memcpy(stripped, path, base);
    stripped[base] = '\0';
    return matches_any(cfg, stripped);
}
