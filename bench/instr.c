/*
 * instr - the interposed calls on their pass-through paths, each in a loop
 * of its own, for callgrind to count (scripts/instr): with muxfix preloaded,
 * with a forwarding-only interposer (bench/forward.c) and with none.
 *
 *   instr U D AGENT N
 *
 * U: a directory whose path shares no literal prefix with any managed
 * pattern; D: a directory whose paths start with a pattern's literal prefix
 * ("D/ * /cm*", the shape of `make bench`'s row 1 paths) without matching it;
 * AGENT: a path under ~/.ssh that no default pattern matches
 * (~/.ssh/agent.sock: shares "~/.ssh/" with six of them); N calls per kind.
 *
 * Each kind runs once untimed through warm_KIND (first-use work: symbol
 * binding, the library's configuration) and then N times through
 * measure_KIND, whose inclusive cost the script divides by N. Everything in
 * a measured loop besides the call itself (socket(), close(), accept4() for
 * the live listener) is the same with and without a library, so the
 * differences are the interposers' own.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_un run_none, live_u, dead_u, live_d, dead_d, agent;
static struct sockaddr_in tcp_closed, udp_sink;
static char file_u[108], link_u[108], file_d[108], link_d[108], none_u[108];
static int fd_unix, fd_tcp, fd_udp, fd_null, fd_zero, lfd_u, lfd_d;

static void die(const char *what)
{
    fprintf(stderr, "instr: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void unix_addr(struct sockaddr_un *sun, const char *dir, const char *name)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if ((size_t)snprintf(sun->sun_path, sizeof sun->sun_path, "%s%s%s", dir,
                         name[0] != '\0' ? "/" : "", name) >= sizeof sun->sun_path)
        die("path too long");
}

/* A socket at ADDR: listening (LISTENING) or dead (bound, closed). */
static int make_socket(const struct sockaddr_un *addr, int listening)
{
    unlink(addr->sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0)
        die(addr->sun_path);
    if (listening) {
        if (listen(fd, 4096) != 0)
            die("listen");
        return fd;
    }
    close(fd);
    return -1;
}

static void make_file(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        die(path);
    close(fd);
}

static void setup(const char *u, const char *d, const char *agent_path)
{
    char sub[96];
    unix_addr(&run_none, u, "none/x"); /* ENOENT: no such directory */
    unix_addr(&live_u, u, "x-live");
    unix_addr(&dead_u, u, "x-dead");
    if ((size_t)snprintf(sub, sizeof sub, "%s/pass", d) >= sizeof sub)
        die("D too long");
    if (mkdir(sub, 0700) != 0 && errno != EEXIST)
        die(sub);
    unix_addr(&live_d, sub, "x-live");
    unix_addr(&dead_d, sub, "x-dead");
    unix_addr(&agent, agent_path, "");
    lfd_u = make_socket(&live_u, 1);
    lfd_d = make_socket(&live_d, 1);
    make_socket(&dead_u, 0);
    make_socket(&dead_d, 0);
    snprintf(file_u, sizeof file_u, "%s/x-file", u);
    snprintf(link_u, sizeof link_u, "%s/x-link", u);
    snprintf(file_d, sizeof file_d, "%s/x-file", sub);
    snprintf(link_d, sizeof link_d, "%s/x-link", sub);
    snprintf(none_u, sizeof none_u, "%s/x-none", u);
    make_file(file_u);
    make_file(file_d);
    unlink(link_u);
    unlink(link_d);
    if (link(file_u, link_u) != 0 || link(file_d, link_d) != 0)
        die("link");

    /* A closed TCP port: bind an ephemeral one, note it, close it. */
    memset(&tcp_closed, 0, sizeof tcp_closed);
    tcp_closed.sin_family = AF_INET;
    tcp_closed.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof tcp_closed;
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t < 0 || bind(t, (struct sockaddr *)&tcp_closed, sl) != 0 ||
        getsockname(t, (struct sockaddr *)&tcp_closed, &sl) != 0)
        die("tcp port");
    close(t);
    udp_sink = tcp_closed;
    fd_tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fd_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    fd_unix = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fd_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fd_zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd_tcp < 0 || fd_udp < 0 || fd_unix < 0 || fd_null < 0 || fd_zero < 0)
        die("descriptors");
}

static int expect_fail(int ret, int err, const char *what)
{
    if (ret == 0 || errno != err) {
        fprintf(stderr, "instr: %s: expected %s, got %d (%s)\n", what,
                strerror(err), ret, strerror(errno));
        exit(1);
    }
    return 0;
}

/* One connect of a fresh socket to a live listener, the listener drained. */
static inline __attribute__((always_inline)) void
connect_live(const struct sockaddr_un *addr, int lfd)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0)
        die("connect live");
    close(fd);
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0)
        close(c);
}

static char byte;
static struct iovec one_iov = {.iov_base = &byte, .iov_len = 1};

/* One byte to a UDP port nobody listens on (no reader to drain). */
static inline __attribute__((always_inline)) void send_one(void)
{
    struct msghdr m = {.msg_name = &udp_sink, .msg_namelen = sizeof udp_sink,
                       .msg_iov = &one_iov, .msg_iovlen = 1};
    if (sendmsg(fd_udp, &m, 0) != 1)
        die("sendmsg");
}

/* KIND: the name the script looks for; BODY: one call, checked. */
#define KINDS(X)                                                              \
    X(connect_inet, expect_fail(connect(fd_tcp, (struct sockaddr *)&tcp_closed, \
                                        sizeof tcp_closed),                   \
                                ECONNREFUSED, "connect tcp"))                 \
    X(connect_enoent, expect_fail(connect(fd_unix, (struct sockaddr *)&run_none, \
                                          sizeof run_none),                   \
                                  ENOENT, "connect enoent"))                  \
    X(connect_refused, expect_fail(connect(fd_unix, (struct sockaddr *)&dead_u, \
                                           sizeof dead_u),                    \
                                   ECONNREFUSED, "connect refused"))          \
    X(connect_live, connect_live(&live_u, lfd_u))                            \
    X(connect_agent, expect_fail(connect(fd_unix, (struct sockaddr *)&agent,  \
                                         sizeof agent),                       \
                                 ENOENT, "connect agent"))                    \
    X(connect_prefix_refused,                                                 \
      expect_fail(connect(fd_unix, (struct sockaddr *)&dead_d, sizeof dead_d), \
                  ECONNREFUSED, "connect prefix refused"))                    \
    X(connect_prefix_live, connect_live(&live_d, lfd_d))                     \
    X(bind_inuse, expect_fail(bind(fd_unix, (struct sockaddr *)&live_u,       \
                                   sizeof live_u),                            \
                              EADDRINUSE, "bind in use"))                     \
    X(bind_prefix_inuse, expect_fail(bind(fd_unix, (struct sockaddr *)&live_d, \
                                          sizeof live_d),                     \
                                     EADDRINUSE, "bind prefix in use"))       \
    X(link_exists, expect_fail(link(file_u, link_u), EEXIST, "link"))         \
    X(link_prefix_exists, expect_fail(link(file_d, link_d), EEXIST, "link prefix")) \
    X(unlink_enoent, expect_fail(unlink(none_u), ENOENT, "unlink"))           \
    X(read, (void)(read(fd_zero, &byte, 1) == 1 || (die("read"), 0)))         \
    X(write, (void)(write(fd_null, &byte, 1) == 1 || (die("write"), 0)))      \
    X(sendmsg, send_one())

#define DEFINE(kind, body)                                                    \
    static inline __attribute__((always_inline)) void run_##kind(long n)      \
    {                                                                         \
        for (long i = 0; i < n; i++) {                                        \
            body;                                                             \
        }                                                                     \
    }                                                                         \
    __attribute__((noinline)) void warm_##kind(long n);                       \
    __attribute__((noinline)) void warm_##kind(long n) { run_##kind(n); }     \
    __attribute__((noinline)) void measure_##kind(long n);                    \
    __attribute__((noinline)) void measure_##kind(long n) { run_##kind(n); }
KINDS(DEFINE)

/* Calls before the measured ones: lazy binding and first use. */
#define WARM_CALLS 4

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: instr U D AGENT N\n");
        return 2;
    }
    long n = atol(argv[4]);
    if (n <= 0)
        return 2;
    setup(argv[1], argv[2], argv[3]);
#define RUN(kind, body) warm_##kind(WARM_CALLS), measure_##kind(n);
    KINDS(RUN)
    printf("N %ld\n", n);
    return 0;
}
