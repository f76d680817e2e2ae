/*
 * conntime - how long connect() to an AF_UNIX PATH takes, as ssh's mux
 * client calls it (blocking stream socket).
 *
 *   conntime [-w] PATH N
 *
 * Connects N times, timing connect() alone with CLOCK_MONOTONIC. With -w,
 * after each connect that succeeded it waits (untimed, up to 10 s) until the
 * peer's first bytes are readable, as ssh does for the master's hello, before
 * closing: with and without muxfix the master sees the same traffic, and the
 * difference in connect() time is muxfix's hello check.
 * Prints "MEDIAN_NS RESULT" where RESULT is "ok" or the errno name (strerror)
 * of the first call; exit status 0 unless a call fails unexpectedly.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int wait_hello = 0, argi = 1;
    if (argc > 1 && strcmp(argv[1], "-w") == 0) {
        wait_hello = 1;
        argi++;
    }
    if (argc - argi != 2) {
        fprintf(stderr, "usage: conntime [-w] PATH N\n");
        return 2;
    }
    const char *path = argv[argi];
    long n = atol(argv[argi + 1]);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (n <= 0 || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "conntime: bad arguments\n");
        return 2;
    }
    strcpy(sun.sun_path, path);

    long long *t = calloc((size_t)n, sizeof *t);
    if (t == NULL)
        return 1;
    int first_err = -1;
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            perror("conntime: socket");
            return 1;
        }
        long long t0 = now_ns();
        int rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
        long long t1 = now_ns();
        int err = rc == 0 ? 0 : errno;
        if (first_err < 0)
            first_err = err;
        else if (err != first_err) {
            fprintf(stderr, "conntime: call %ld: %s, first call: %s\n", i,
                    err ? strerror(err) : "ok",
                    first_err ? strerror(first_err) : "ok");
            return 1;
        }
        if (rc == 0 && wait_hello) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 10000) != 1) {
                fprintf(stderr, "conntime: no hello from %s within 10 s\n", path);
                return 1;
            }
        }
        close(fd);
        t[i] = t1 - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    long long med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    printf("%lld %s\n", med, first_err ? strerror(first_err) : "ok");
    return 0;
}
