/* fakemaster: a listener that answers like an OpenSSH mux master's first
 * packet and records what each client sends it: another local user posing
 * as the victim's master (tests/hostile_user.bats), or a harmless live
 * master that accepts and hangs up.
 *
 *   fakemaster PATH REPORT
 *
 * Binds and listens at PATH (mode 0777, so any user may connect), prints
 * "ready", then for every connection: sends the master's hello (length 8,
 * MUX_MSG_HELLO, version 4), reads what the client sends for up to one
 * second (stopping at end of file), closes any descriptor passed to it, and
 * appends "conn bytes=N fds=M" to REPORT (a path, or /dev/null). Runs until
 * killed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_WINDOW_MS 1000
#define BACKLOG 64
#define MAX_FDS 8

static const unsigned char hello[] = {0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4};

/* Read from C until EOF or a quiet second; count bytes and passed fds. */
static void drain(int c, long *bytes, int *fds)
{
    unsigned char buf[4096];
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    } ctl;
    struct pollfd p = {.fd = c, .events = POLLIN};

    while (poll(&p, 1, READ_WINDOW_MS) > 0) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof ctl.buf};
        ssize_t n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            return;
        *bytes += n;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h != NULL;
             h = CMSG_NXTHDR(&msg, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                continue;
            int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
                close(fd);
                (*fds)++;
            }
        }
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    if (argc != 3 || strlen(argv[1]) >= sizeof sun.sun_path) {
        fprintf(stderr, "usage: fakemaster PATH REPORT\n");
        return 2;
    }
    strcpy(sun.sun_path, argv[1]);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof sun) != 0 ||
        chmod(argv[1], 0777) != 0 || listen(s, BACKLOG) != 0) {
        fprintf(stderr, "fakemaster: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return 1;
        }
        long bytes = 0;
        int fds = 0;
        if (send(c, hello, sizeof hello, MSG_NOSIGNAL) == (ssize_t)sizeof hello)
            drain(c, &bytes, &fds);
        close(c);
        int r = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (r >= 0) {
            dprintf(r, "conn bytes=%ld fds=%d\n", bytes, fds);
            close(r);
        }
    }
}
