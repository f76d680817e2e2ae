/* repair.c: see repair.h. */
#include "repair.h"

#include <errno.h>
#include <string.h>

#include "classify.h"
#include "config.h"
#include "crowd.h"
#include "ctldir.h"
#include "hello.h"
#include "log.h"
#include "publish.h"
#include "real.h"
#include "reap.h"

/* The managed path of ADDR, into PATH; NULL config when not managed. */
static const struct muxfix_config *managed(const struct sockaddr *addr,
                                           socklen_t len, char *path)
{
    const struct muxfix_config *cfg = muxfix_config();
    if (cfg == NULL || cfg->disabled || !muxfix_sockaddr_path(addr, len, path) ||
        !muxfix_path_is_managed(cfg, path))
        return NULL;
    return cfg;
}

int repair_after_connect(int fd, const struct sockaddr *addr, socklen_t len,
                         int ret)
{
    int saved = errno;
    char path[MUXFIX_SOCK_PATH_BUF];
    const struct muxfix_config *cfg = managed(addr, len, path);

    if (cfg == NULL) {
        errno = saved;
        return ret;
    }
    if (ret == 0)
        return hello_check(cfg, fd, path);

    if (saved == ECONNREFUSED) {
        muxfix_log(MUXFIX_LOG_DECISION,
                   "connect(%s): connection refused; probing", path);
        /* Plain ssh with ControlMaster=no says "Control socket connect(P):
         * Connection refused" and leaves the file forever; -O check exits
         * 255. */
        if (!reap_dead_socket(path, "connect was refused")) {
            errno = saved;
            return ret;
        }
        ret = muxfix_real_connect(fd, addr, len);
        if (ret == 0 || errno != ENOENT)
            return ret;
    }
    /* No master: if another ssh is becoming it, wait and attach instead of
     * opening one more connection (and losing the race to publish). */
    return crowd_no_master(cfg, fd, addr, len, path);
}

int repair_after_bind(int fd, const struct sockaddr *addr, socklen_t len,
                      int ret)
{
    int saved = errno;
    char path[MUXFIX_SOCK_PATH_BUF];
    bool retry = false;

    if (managed(addr, len, path) == NULL) {
        errno = saved;
        return ret;
    }
    muxfix_log(MUXFIX_LOG_DECISION, "bind(%s): %s", path, strerror(saved));
    if (saved == EADDRINUSE)
        retry = reap_dead_socket(path, "bind found it in the way");
    else if (saved == ENOENT)
        /* Plain ssh: "unix_listener: cannot bind to path P: No such file or
         * directory", exit 255. */
        retry = ctl_dir_create_missing(path);
    if (!retry) {
        errno = saved;
        return ret;
    }
    return muxfix_real_bind(fd, addr, len);
}

int repair_after_link(const char *oldpath, const char *newpath, int ret)
{
    int saved = errno;
    const struct muxfix_config *cfg = muxfix_config();

    /* Only a path that fits sun_path can be a control socket. */
    if (cfg == NULL || cfg->disabled ||
        strnlen(newpath, MUXFIX_SUN_PATH_SIZE) >= MUXFIX_SUN_PATH_SIZE ||
        !muxfix_path_is_managed(cfg, newpath)) {
        errno = saved;
        return ret;
    }
    if (ret != 0) {
        muxfix_log(MUXFIX_LOG_DECISION, "link(%s): file exists; probing",
                   newpath);
        /* Plain ssh: "ControlSocket P already exists, disabling
         * multiplexing". */
        if (reap_dead_socket(newpath, "it blocked a new master"))
            ret = muxfix_real_link(oldpath, newpath);
        else
            errno = saved;
    }
    saved = errno;
    if (ret == 0)
        publish_record(newpath);
    crowd_release(newpath);
    errno = saved;
    return ret;
}
