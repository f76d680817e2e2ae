/* util.c: see util.h. */
#include "util.h"

#include <errno.h>
#include <time.h>

#include "real.h"

long util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * UTIL_MS_PER_S + ts.tv_nsec / UTIL_NS_PER_MS;
}

void util_pause_ms(long ms)
{
    const struct timespec pause = {.tv_sec = ms / UTIL_MS_PER_S,
                                   .tv_nsec = (ms % UTIL_MS_PER_S) * UTIL_NS_PER_MS};
    nanosleep(&pause, NULL);
}

bool util_same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_uid == b->st_uid && S_ISSOCK(b->st_mode);
}

bool util_same_socket(const struct stat *a, const struct stat *b)
{
    return util_same_inode(a, b) && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void util_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = real_write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}
