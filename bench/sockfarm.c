/*
 * sockfarm - many AF_UNIX sockets in one directory, from one process.
 *
 *   sockfarm dead DIR PREFIX N   bind N sockets DIR/PREFIXnnnnnn and close
 *                                them: N dead sockets; exits.
 *   sockfarm live DIR PREFIX N   bind+listen N sockets, print "ready", then
 *                                serve until killed: every connection is
 *                                accepted, sent an OpenSSH mux hello
 *                                (length 8, MUX_MSG_HELLO, version 4) and
 *                                closed, so a probe or a hello check sees a
 *                                live, talking master and no backlog grows.
 *
 * Raises RLIMIT_NOFILE's soft limit to the hard limit (the caller raises
 * the hard one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int mk(const char *dir, const char *prefix, long i, int do_listen)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    int n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s%06ld", dir,
                     prefix, i);
    if (n < 0 || (size_t)n >= sizeof sun.sun_path) {
        fprintf(stderr, "sockfarm: path too long\n");
        exit(1);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
        (do_listen && listen(fd, 128) != 0)) {
        fprintf(stderr, "sockfarm: %s: %s\n", sun.sun_path, strerror(errno));
        exit(1);
    }
    if (!do_listen) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "dead") != 0 && strcmp(argv[1], "live") != 0)) {
        fprintf(stderr, "usage: sockfarm dead|live DIR PREFIX N\n");
        return 2;
    }
    int live = strcmp(argv[1], "live") == 0;
    long n = atol(argv[4]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!live) {
        for (long i = 0; i < n; i++)
            mk(argv[2], argv[3], i, 0);
        return 0;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("sockfarm: epoll_create1");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        int fd = mk(argv[2], argv[3], i, 1);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("sockfarm: epoll_ctl");
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    static const unsigned char hello[12] = {0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4};
    struct epoll_event evs[64];
    for (;;) {
        int k = epoll_wait(ep, evs, 64, -1);
        if (k < 0 && errno != EINTR)
            return 1;
        for (int j = 0; j < k; j++) {
            for (;;) {
                int c = accept4(evs[j].data.fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                    break;
                ssize_t w = send(c, hello, sizeof hello, MSG_NOSIGNAL | MSG_DONTWAIT);
                (void)w;
                close(c);
            }
        }
    }
}
