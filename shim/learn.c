/* learn.c: see learn.h. */
#include "learn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "pattern.h"
#include "sockpath.h"
#include "sshopts.h"

/* ssh has one ControlPath; ControlPersist's parent and child share it. */
#define LEARN_SLOTS 4

static char learnt[LEARN_SLOTS][MUXFIX_SOCK_PATH_BUF];
static int nlearnt;    /* published once per slot; only grows */
static int writing;    /* claimed by the one caller adding a slot */

static bool is_learnt_exactly(const char *path, size_t len)
{
    int n = __atomic_load_n(&nlearnt, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (strncmp(learnt[i], path, len) == 0 && learnt[i][len] == '\0')
            return true;
    return false;
}

bool learn_is_learnt(const char *path)
{
    if (__atomic_load_n(&nlearnt, __ATOMIC_ACQUIRE) == 0)
        return false;
    size_t len = strnlen(path, MUXFIX_SOCK_PATH_BUF);
    if (len >= MUXFIX_SOCK_PATH_BUF)
        return false;
    return is_learnt_exactly(path, len) ||
           is_learnt_exactly(path, pattern_strip_tmp_suffix(path, len));
}

/* Learning is for ssh with the default patterns, and never the agent's. */
static bool may_learn(const struct muxfix_config *cfg, const char *path)
{
    return sshopts_is_ssh() && getenv("MUXFIX_PATH") == NULL &&
           path[0] == '/' &&
           (cfg->auth_sock[0] == '\0' || strcmp(path, cfg->auth_sock) != 0);
}

static void remember(const char *path, size_t len, const char *how)
{
    if (len == 0 || len >= MUXFIX_SOCK_PATH_BUF || is_learnt_exactly(path, len))
        return;
    if (__atomic_exchange_n(&writing, 1, __ATOMIC_ACQUIRE) != 0)
        return; /* another thread is adding one: this call passes through */
    int n = __atomic_load_n(&nlearnt, __ATOMIC_ACQUIRE);
    if (n < LEARN_SLOTS) {
        memcpy(learnt[n], path, len);
        learnt[n][len] = '\0';
        __atomic_store_n(&nlearnt, n + 1, __ATOMIC_RELEASE);
        log_msg(MUXFIX_LOG_DECISION, "%s is ssh's ControlPath (%s): managed",
                learnt[n], how);
    }
    __atomic_store_n(&writing, 0, __ATOMIC_RELEASE);
}

/* ssh's mux client: socket(AF_UNIX, SOCK_STREAM, 0), blocking, inheritable
 * (mux.c muxclient()). */
static bool looks_like_mux_client(int fd)
{
    int type = 0;
    socklen_t len = sizeof type;
    int fdflags = fcntl(fd, F_GETFD);
    int flflags = fcntl(fd, F_GETFL);
    return fdflags >= 0 && (fdflags & FD_CLOEXEC) == 0 && flflags >= 0 &&
           (flflags & O_NONBLOCK) == 0 &&
           getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
           type == SOCK_STREAM;
}

bool learn_from_connect(const struct muxfix_config *cfg, int fd,
                        const char *path)
{
    int saved = errno;
    bool yes = false;
    if (may_learn(cfg, path) && looks_like_mux_client(fd)) {
        const struct sshopts_effective *e = sshopts_effective();
        yes = e != NULL && strcmp(e->controlpath, path) == 0;
        if (yes)
            remember(path, strlen(path), "ssh -G");
    }
    errno = saved;
    return yes;
}

bool learn_from_publish(const struct muxfix_config *cfg, const char *oldpath,
                        const char *path)
{
    size_t len = strnlen(path, MUXFIX_SOCK_PATH_BUF);
    if (len >= MUXFIX_SUN_PATH_SIZE || !may_learn(cfg, path))
        return false;
    int saved = errno;
    bool yes = false;
    if (oldpath == NULL) {
        /* bind(PATH.XXXXXXXXXXXXXXXX): the master's temporary name. */
        size_t base = pattern_strip_tmp_suffix(path, len);
        yes = base != len;
        if (yes)
            remember(path, base, "it binds ssh's temporary name beside it");
    } else {
        /* link(PATH.XXXXXXXXXXXXXXXX, PATH): the master publishing. */
        size_t olen = strnlen(oldpath, MUXFIX_SOCK_PATH_BUF);
        yes = olen < MUXFIX_SOCK_PATH_BUF &&
              pattern_strip_tmp_suffix(oldpath, olen) == len &&
              olen != len && strncmp(oldpath, path, len) == 0;
        if (yes)
            remember(path, len, "it links its master socket there");
    }
    errno = saved;
    return yes;
}
