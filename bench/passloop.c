/*
 * passloop - pass-through cost of connect(): time connect()+close() on
 * sockets muxfix does not manage, in one process, with or without
 * LD_PRELOAD (the caller runs both, alternating).
 *
 *   passloop unix PATH ITER   live AF_UNIX listener at PATH (made here)
 *   passloop tcp ITER         live TCP listener on 127.0.0.1 (made here)
 *   passloop refused PATH ITER  a dead AF_UNIX socket at PATH (made here):
 *                             connect() gets ECONNREFUSED
 *   passloop rw ITER          write() of one byte and read() of it back on
 *                             a socketpair (ITER batches of 32 pairs): the
 *                             cost muxfix adds to read and write on
 *                             descriptors it does not follow
 *
 * Each iteration: socket() and, for TCP, SO_LINGER 0 (no TIME_WAIT, so the
 * ports do not run out) untimed; connect() + close() timed with
 * CLOCK_MONOTONIC; then the listener's queue drained with accept4 (untimed).
 * After ITER/20 untimed warm-up iterations, prints the median ns of one
 * connect()+close() over ITER iterations (the median: a preempted
 * iteration on this shared machine does not move it).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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

static void die(const char *what)
{
    fprintf(stderr, "passloop: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void drain(int lfd)
{
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
            return;
        close(c);
    }
}

static void print_median(long long *t, long iters)
{
    qsort(t, (size_t)iters, sizeof *t, cmp_ll);
    double med = iters % 2 ? (double)t[iters / 2]
                           : (double)(t[iters / 2 - 1] + t[iters / 2]) / 2.0;
    printf("%.1f\n", med);
}

#define RW_BATCH 32

static int rw_loop(long iters)
{
    int sv[2];
    char c = 'x';
    if (iters <= 0)
        iters = 20000;
    long long *t = calloc((size_t)iters, sizeof *t);
    if (t == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair");
    /* A pair takes about a microsecond, near the clock's own cost and
     * granularity: time batches and report the mean pair of the median batch. */
    for (long i = -(iters / 20); i < iters; i++) {
        long long t0 = now_ns();
        for (int j = 0; j < RW_BATCH; j++)
            if (write(sv[0], &c, 1) != 1 || read(sv[1], &c, 1) != 1)
                die("write/read");
        long long t1 = now_ns();
        if (i >= 0)
            t[i] = (t1 - t0) / RW_BATCH;
    }
    print_median(t, iters);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    int family, lfd = -1, expect_refused = 0;
    long iters;

    memset(&ss, 0, sizeof ss);
    if (argc == 3 && strcmp(argv[1], "rw") == 0)
        return rw_loop(atol(argv[2]));
    if (argc == 4 && (strcmp(argv[1], "unix") == 0 || strcmp(argv[1], "refused") == 0)) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        if (strlen(argv[2]) >= sizeof sun->sun_path) {
            fprintf(stderr, "passloop: path too long\n");
            return 1;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, argv[2]);
        slen = sizeof *sun;
        family = AF_UNIX;
        iters = atol(argv[3]);
        unlink(argv[2]);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, slen) != 0)
            die("bind");
        if (strcmp(argv[1], "refused") == 0) {
            close(lfd);
            lfd = -1;
            expect_refused = 1;
        } else if (listen(lfd, 4096) != 0) {
            die("listen");
        }
    } else if (argc == 3 && strcmp(argv[1], "tcp") == 0) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        slen = sizeof *sin;
        family = AF_INET;
        iters = atol(argv[2]);
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, slen) != 0 ||
            listen(lfd, 4096) != 0 ||
            getsockname(lfd, (struct sockaddr *)&ss, &slen) != 0)
            die("tcp listener");
    } else {
        fprintf(stderr, "usage: passloop unix|refused PATH ITER | passloop tcp|rw ITER\n");
        return 2;
    }
    if (iters <= 0)
        iters = 20000;

    long long *t = calloc((size_t)iters, sizeof *t);
    if (t == NULL)
        die("calloc");
    long warm = iters / 20;
    for (long i = -warm; i < iters; i++) {
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket");
        if (family == AF_INET) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        long long t0 = now_ns();
        int rc = connect(fd, (struct sockaddr *)&ss, slen);
        int err = errno;
        close(fd);
        long long t1 = now_ns();
        if (expect_refused ? !(rc < 0 && err == ECONNREFUSED) : rc != 0) {
            errno = err;
            die(expect_refused ? "connect (expected ECONNREFUSED)" : "connect");
        }
        if (i >= 0)
            t[i] = t1 - t0;
        if (lfd >= 0)
            drain(lfd);
    }
    if (family == AF_UNIX)
        unlink(((struct sockaddr_un *)&ss)->sun_path);
    print_median(t, iters);
    return 0;
}
