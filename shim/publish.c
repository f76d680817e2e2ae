/* publish.c: see publish.h. */
#include "publish.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "compat.h"
#include "log.h"

/* ssh publishes one ControlPath per process; a few slots leave room for
 * programs that publish more. Further paths are simply not guarded. */
#define PUBLISH_SLOTS 4

struct published {
    dev_t dev;
    ino_t ino;
    char path[MUXFIX_SOCK_PATH_BUF];
};

static struct published slots[PUBLISH_SLOTS];
static int nslots;

void publish_record(const char *path)
{
    struct stat st;
    int saved = errno;
    int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);

    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        int i = 0;
        while (i < n && strcmp(slots[i].path, path) != 0)
            i++;
        if (i < PUBLISH_SLOTS) {
            slots[i].dev = st.st_dev;
            slots[i].ino = st.st_ino;
            strcpy(slots[i].path, path);
            if (i == n)
                __atomic_store_n(&nslots, n + 1, __ATOMIC_RELEASE);
        }
    }
    errno = saved;
}

bool publish_unlink_is_foreign(const char *path)
{
    int n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);
    if (n == 0 || path == NULL)
        return false;

    int saved = errno;
    bool foreign = false;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(slots[i].path, path) != 0)
            continue;
        foreign = lstat(path, &st) == 0 &&
                  (st.st_dev != slots[i].dev || st.st_ino != slots[i].ino);
        if (foreign)
            muxfix_log(MUXFIX_LOG_REPAIR,
                       "did not remove %s at exit: it is no longer the socket "
                       "this master published (a newer master owns it)", path);
        break;
    }
    errno = saved;
    return foreign;
}
