/* classify.c: see classify.h. */
#include "classify.h"

#include <string.h>

const char *classify_sockaddr_place(const struct sockaddr *addr, socklen_t len,
                                    size_t *max)
{
    const size_t off = offsetof(struct sockaddr_un, sun_path);

    if (!classify_is_unix(addr, len) || len <= off)
        return NULL;
    const char *src = (const char *)addr + off;
    *max = len - off;
    if (*max > MUXFIX_SUN_PATH_SIZE)
        *max = MUXFIX_SUN_PATH_SIZE;
    if (src[0] == '\0') /* abstract namespace: there is no file to repair */
        return NULL;
    return src;
}

const char *classify_sockaddr_view(const struct sockaddr *addr, socklen_t len,
                                   size_t *n)
{
    size_t max;
    const char *src = classify_sockaddr_place(addr, len, &max);
    if (src != NULL)
        *n = strnlen(src, max);
    return src;
}

/* Is PATH (N bytes) $SSH_AUTH_SOCK? */
static bool is_auth_sock(const struct muxfix_config *cfg, const char *path, size_t n)
{
    return cfg->auth_sock[0] != '\0' && strncmp(path, cfg->auth_sock, n) == 0 &&
           cfg->auth_sock[n] == '\0';
}

bool classify_sockaddr_is_managed(const struct muxfix_config *cfg,
                                  const struct sockaddr *addr, socklen_t len)
{
    size_t max;
    const char *src = classify_sockaddr_place(addr, len, &max);
    /* The patterns first: most addresses that get here are not managed. */
    return src != NULL && pattern_set_match_max(&cfg->set, src, max) &&
           !cfg->disabled && !is_auth_sock(cfg, src, strnlen(src, max));
}

bool classify_sockaddr_path(const struct sockaddr *addr, socklen_t len,
                            char out[MUXFIX_SOCK_PATH_BUF])
{
    size_t n;
    const char *src = classify_sockaddr_view(addr, len, &n);
    if (src == NULL)
        return false;
    memcpy(out, src, n);
    out[n] = '\0';
    return true;
}

bool classify_is_managed_n(const struct muxfix_config *cfg, const char *path,
                           size_t n)
{
    return !cfg->disabled && n != 0 && pattern_set_match(&cfg->set, path, n) &&
           !is_auth_sock(cfg, path, n);
}

bool classify_path_is_managed(const struct muxfix_config *cfg, const char *path)
{
    return classify_is_managed_n(cfg, path, strlen(path));
}
