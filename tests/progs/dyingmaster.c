/* dyingmaster: a mux master that dies at a chosen point of a client's
 * handshake, for tests of the replay (shim/follow.h).
 *
 *   dyingmaster PATH STAGE NEXT
 *
 * Listens at PATH (published with rename, so it never refuses), accepts one
 * client, speaks the mux protocol as an OpenSSH master does up to STAGE,
 * then "dies": first NEXT is put in place (a path: that socket is hard-linked
 * over PATH, as a new master publishing; "-": PATH is left behind as a dead
 * socket, as after SIGKILL), then the connection is closed. STAGE:
 *
 *   hello-write     shut its reading side before the hello: the client's
 *                   hello write fails ("master hello exchange failed")
 *   after-hello     read the client's hello; the client's next write (its
 *                   alive check) fails with EPIPE: fatal in ssh 9.2
 *   alive-read      read the alive check, close without replying: ssh's
 *                   read fails ("master alive request failed")
 *   session-write   reply to the alive check, its reader side already shut:
 *                   the session request write fails with EPIPE (fatal)
 *   session-read    read the session request and its three descriptors,
 *                   close without replying ("read from master failed")
 *   stop-after-hello  say hello, read the client's, then stop (SIGSTOP
 *                   itself, as Ctrl-Z on a foreground ssh -M): the client's
 *                   alive check waits. Once continued, read what the
 *                   client left until it closed: for each session request
 *                   (a command a master would run now) append "ran" to the
 *                   file NEXT; then print "resumed, N session request(s)"
 *                   and exit. PATH is left as it is.
 *
 * Prints "died at STAGE" on stdout and exits 0; 1 with a message when the
 * client did not behave like an ssh mux client. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MUX_MSG_HELLO 0x00000001U
#define MUX_C_NEW_SESSION 0x10000002U
#define MUX_C_ALIVE_CHECK 0x10000004U
#define MUX_S_ALIVE 0x80000005U
#define SSHMUX_VER 4U
#define PACKET_MAX 65536
#define SESSION_FDS 3

static void die(const char *what)
{
    fprintf(stderr, "dyingmaster: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void read_exact(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r == 0)
            errno = EPIPE;
        if (r <= 0)
            die("read");
        p += r;
        n -= (size_t)r;
    }
}

/* Read one packet; returns its type and request id (0 if it has none). */
static uint32_t read_packet(int fd, uint32_t *rid)
{
    static unsigned char body[PACKET_MAX];
    unsigned char hdr[4];
    read_exact(fd, hdr, sizeof hdr);
    uint32_t len = get32(hdr);
    if (len < 4 || len > sizeof body) {
        errno = EPROTO;
        die("packet length");
    }
    read_exact(fd, body, len);
    *rid = len >= 8 ? get32(body + 4) : 0;
    return get32(body);
}

static void expect(int fd, uint32_t type, uint32_t *rid)
{
    if (read_packet(fd, rid) != type) {
        errno = EPROTO;
        die("unexpected packet type");
    }
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    if (write(fd, p, n) != (ssize_t)n)
        die("write");
}

static void receive_fd(int fd)
{
    char byte;
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf};
    if (recvmsg(fd, &msg, 0) != 1)
        die("recvmsg");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS) {
        errno = EPROTO;
        die("no descriptor passed");
    }
    int passed;
    memcpy(&passed, CMSG_DATA(c), sizeof passed);
    close(passed);
}

/* The master goes: NEXT takes its place at PATH, or PATH stays dead. */
static void succeed(const char *path, const char *next)
{
    char tmp[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
    if (strcmp(next, "-") == 0)
        return;
    snprintf(tmp, sizeof tmp, "%s.next", path);
    if (link(next, tmp) != 0 || rename(tmp, path) != 0)
        die("publish the next master");
}

/* Continued after stop-after-hello: what the client left on FD, each
 * session request counted into the file RAN. */
static int resumed(int fd, const char *ran)
{
    static unsigned char body[PACKET_MAX];
    unsigned char hdr[4];
    int sessions = 0;
    for (;;) {
        ssize_t r = read(fd, hdr, sizeof hdr);
        if (r != (ssize_t)sizeof hdr)
            break;
        uint32_t len = get32(hdr);
        if (len < 4 || len > sizeof body)
            break;
        read_exact(fd, body, len);
        if (get32(body) == MUX_C_NEW_SESSION) {
            FILE *f = fopen(ran, "a");
            if (f != NULL) {
                fputs("ran\n", f);
                fclose(f);
            }
            sessions++;
        }
    }
    printf("resumed, %d session request(s)\n", sessions);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dyingmaster PATH STAGE NEXT|-\n");
        return 2;
    }
    const char *path = argv[1], *stage = argv[2], *next = argv[3];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char tmp[sizeof sa.sun_path];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "dyingmaster: path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, tmp);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, 8) != 0 || rename(tmp, path) != 0)
        die("listen");
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        die("accept");

    unsigned char hello[12];
    put32(hello, 8);
    put32(hello + 4, MUX_MSG_HELLO);
    put32(hello + 8, SSHMUX_VER);
    uint32_t rid;

    if (strcmp(stage, "hello-write") == 0) {
        succeed(path, next);
        shutdown(fd, SHUT_RD);
        write_all(fd, hello, sizeof hello);
    } else if (strcmp(stage, "after-hello") == 0) {
        /* One byte first (a master speaks first; muxfix waits for it), the
         * rest once the client's hello is in and nothing more can come. */
        write_all(fd, hello, 1);
        expect(fd, MUX_MSG_HELLO, &rid);
        succeed(path, next);
        shutdown(fd, SHUT_RD);
        write_all(fd, hello + 1, sizeof hello - 1);
    } else if (strcmp(stage, "stop-after-hello") == 0) {
        write_all(fd, hello, sizeof hello);
        expect(fd, MUX_MSG_HELLO, &rid);
        raise(SIGSTOP);
        return resumed(fd, next);
    } else {
        write_all(fd, hello, sizeof hello);
        expect(fd, MUX_MSG_HELLO, &rid);
        expect(fd, MUX_C_ALIVE_CHECK, &rid);
        unsigned char alive[16];
        put32(alive, 12);
        put32(alive + 4, MUX_S_ALIVE);
        put32(alive + 8, rid);
        put32(alive + 12, (uint32_t)getpid());
        if (strcmp(stage, "alive-read") == 0) {
            succeed(path, next);
        } else if (strcmp(stage, "session-write") == 0) {
            succeed(path, next);
            shutdown(fd, SHUT_RD);
            write_all(fd, alive, sizeof alive);
        } else if (strcmp(stage, "session-read") == 0) {
            write_all(fd, alive, sizeof alive);
            expect(fd, MUX_C_NEW_SESSION, &rid);
            for (int i = 0; i < SESSION_FDS; i++)
                receive_fd(fd);
            succeed(path, next);
        } else {
            fprintf(stderr, "dyingmaster: unknown stage %s\n", stage);
            return 2;
        }
    }
    close(fd);
    close(lfd);
    printf("died at %s\n", stage);
    return 0;
}
