/* peer.c: see peer.h. */
#include "peer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/rtnetlink.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "real.h"

/* Sockets of one process looked at: an ssh master holds a few (its TCP
 * connection, its listener, one per mux client and forwarding). */
#define PEER_SOCKETS_MAX 512
/* One netlink answer: a dump comes in parts of a page or two. */
#define DIAG_BUF 16384
/* "/proc/4294967295/fd/4294967295" and "socket:[18446744073709551615]". */
#define PROC_PATH_MAX 64
#define LINK_MAX_LEN 64
/* /proc/PID/stat: "PID (comm) S ...": the state follows the last ')'. */
#define STAT_BUF 512
#define DECIMAL 10

/* The inode of a socket descriptor's link text "socket:[N]". */
static bool socket_link_inode(const char *link, unsigned long *ino)
{
    static const char prefix[] = "socket:[";
    char *end;
    if (strncmp(link, prefix, sizeof prefix - 1) != 0)
        return false;
    errno = 0;
    *ino = strtoul(link + sizeof prefix - 1, &end, DECIMAL);
    return errno == 0 && end != link + sizeof prefix - 1 && end[0] == ']' &&
           end[1] == '\0';
}

/* The socket inodes PID holds, into INOS (at most MAX); their number, or
 * -1 when its descriptors cannot be read (gone, another uid). */
static int socket_inodes(pid_t pid, unsigned long *inos, int max)
{
    char path[PROC_PATH_MAX];
    (void)snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d)) != NULL) {
        char link[LINK_MAX_LEN];
        ssize_t len = readlinkat(dfd, e->d_name, link, sizeof link - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        unsigned long ino;
        if (socket_link_inode(link, &ino))
            inos[n++] = ino;
    }
    closedir(d);
    return n;
}

static bool owned_by_us(pid_t pid)
{
    char path[PROC_PATH_MAX];
    struct stat st;
    (void)snprintf(path, sizeof path, "/proc/%d", (int)pid);
    return stat(path, &st) == 0 && st.st_uid == geteuid();
}

bool peer_holds(pid_t pid, unsigned long ino)
{
    int saved = errno;
    unsigned long inos[PEER_SOCKETS_MAX];
    bool found = false;
    int n = pid > 0 && owned_by_us(pid)
                ? socket_inodes(pid, inos, PEER_SOCKETS_MAX) : -1;
    for (int i = 0; i < n && !found; i++)
        found = inos[i] == ino;
    errno = saved;
    return found;
}

pid_t peer_find_holder(unsigned long ino, pid_t hint)
{
    if (ino == 0)
        return 0;
    if (hint > 0 && peer_holds(hint, ino))
        return hint;
    int saved = errno;
    DIR *d = opendir("/proc");
    pid_t found = 0;
    struct dirent *e;
    while (d != NULL && found == 0 && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && pid != hint && peer_holds((pid_t)pid, ino))
            found = (pid_t)pid;
    }
    if (d != NULL)
        closedir(d);
    errno = saved;
    return found;
}

bool peer_is_stopped(pid_t pid)
{
    int saved = errno;
    char path[PROC_PATH_MAX], buf[STAT_BUF];
    (void)snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? real_read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    errno = saved;
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren != NULL && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}

/* ---- sock_diag ---- */

/* Send REQ (LEN bytes) on a new NETLINK_SOCK_DIAG socket; the socket, or
 * -1. */
static int diag_ask(const void *req, size_t len)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(nl, req, len, 0, (struct sockaddr *)&sa, sizeof sa) !=
        (ssize_t)len) {
        close(nl);
        return -1;
    }
    return nl;
}

/* Called for each answer message of a sock_diag request; false stops. */
typedef bool diag_fn(const struct nlmsghdr *h, void *ctx);

/* Read every answer to the request on NL, handing each to FN. */
static void diag_read(int nl, diag_fn *fn, void *ctx)
{
    /* Netlink answers are aligned for their headers. On the stack: this
     * runs only for a master that stopped answering. */
    long buf[DIAG_BUF / sizeof(long)];
    for (;;) {
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        if (n <= 0)
            return;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR ||
                !fn(h, ctx))
                return;
        }
    }
}

struct unix_answer {
    unsigned long peer;
    unsigned vfs_ino, vfs_dev;
    bool listening, have_vfs;
};

static bool read_unix(const struct nlmsghdr *h, void *ctx)
{
    struct unix_answer *a = ctx;
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
        return false;
    a->listening = m->udiag_state == TCP_LISTEN;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    for (struct rtattr *at = (struct rtattr *)(m + 1); RTA_OK(at, len);
         at = RTA_NEXT(at, len)) {
        if (at->rta_type == UNIX_DIAG_PEER &&
            RTA_PAYLOAD(at) >= sizeof(uint32_t)) {
            uint32_t peer;
            memcpy(&peer, RTA_DATA(at), sizeof peer);
            a->peer = peer;
        } else if (at->rta_type == UNIX_DIAG_VFS &&
                   RTA_PAYLOAD(at) >= sizeof(struct unix_diag_vfs)) {
            struct unix_diag_vfs v;
            memcpy(&v, RTA_DATA(at), sizeof v);
            a->vfs_ino = v.udiag_vfs_ino;
            a->vfs_dev = v.udiag_vfs_dev;
            a->have_vfs = true;
        }
    }
    return false; /* one socket asked: one answer */
}

/* Ask unix_diag about socket inode INO, showing SHOW. */
static bool unix_ask(unsigned long ino, unsigned show, struct unix_answer *a)
{
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req r;
    } req;
    memset(&req, 0, sizeof req);
    memset(a, 0, sizeof *a);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.r.sdiag_family = AF_UNIX;
    req.r.udiag_states = ~0U;
    req.r.udiag_ino = (unsigned)ino;
    req.r.udiag_show = show;
    req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
    int nl = diag_ask(&req, sizeof req);
    if (nl < 0)
        return false;
    diag_read(nl, read_unix, a);
    close(nl);
    return true;
}

unsigned long peer_inode(int fd)
{
    int saved = errno;
    struct stat st;
    struct unix_answer a;
    unsigned long peer = 0;
    if (fstat(fd, &st) == 0 && unix_ask(st.st_ino, UDIAG_SHOW_PEER, &a))
        peer = a.peer;
    errno = saved;
    return peer;
}

/* The kernel's dev_t (MAJOR << 20 | MINOR), as userspace encodes it. */
#define KDEV_MINOR_BITS 20
#define KDEV_MINOR_MASK ((1U << KDEV_MINOR_BITS) - 1)

bool peer_listens_at(pid_t pid, dev_t dev, ino_t ino)
{
    int saved = errno;
    unsigned long inos[PEER_SOCKETS_MAX];
    bool found = false;
    int n = owned_by_us(pid) ? socket_inodes(pid, inos, PEER_SOCKETS_MAX) : -1;
    for (int i = 0; i < n && !found; i++) {
        struct unix_answer a;
        if (!unix_ask(inos[i], UDIAG_SHOW_VFS, &a) || !a.listening ||
            !a.have_vfs)
            continue;
        dev_t vdev = makedev(a.vfs_dev >> KDEV_MINOR_BITS,
                             a.vfs_dev & KDEV_MINOR_MASK);
        found = a.vfs_ino == ino && vdev == dev;
    }
    errno = saved;
    return found;
}

struct tcp_quiet {
    const unsigned long *inos;
    int n;
    long least;   /* ms since the last data received, -1 none yet */
    long waiting; /* ms of the longest unanswered send, -1 none yet */
};

/* glibc's struct tcp_info stops at tcpi_total_retrans; the kernel's goes
 * on (linux/tcp.h, which cannot be included beside netinet/tcp.h). Fields
 * a kernel does not send stay 0. */
/* The offset of tcpi_notsent_bytes in the kernel's struct tcp_info, past
 * four 64-bit and two 32-bit fields after glibc's end. */
#define KERNEL_NOTSENT_OFFSET 144
struct tcp_info_ext {
    struct tcp_info base;
    unsigned char skipped[KERNEL_NOTSENT_OFFSET - sizeof(struct tcp_info)]; /* cppcheck-suppress unusedStructMember */
    uint32_t notsent_bytes; /* written, not yet sent */
};
_Static_assert(offsetof(struct tcp_info_ext, notsent_bytes) == KERNEL_NOTSENT_OFFSET,
               "struct tcp_info_ext follows the kernel's struct tcp_info");

/* How long the connection of TI has had data the other end did not take:
 * the time since the last acknowledgement it received (tcp_info's times
 * are milliseconds ago) while data is unacknowledged or waits to be sent
 * (a local firewall's drop leaves it unsent); 0 when none is. A server
 * whose kernel still acknowledges (its process frozen) is not told apart
 * from an idle one here. */
static long tcp_waiting(const struct tcp_info_ext *ti)
{
    if (ti->base.tcpi_unacked == 0 && ti->notsent_bytes == 0)
        return 0;
    return (long)ti->base.tcpi_last_ack_recv;
}

static bool read_tcp(const struct nlmsghdr *h, void *ctx)
{
    struct tcp_quiet *q = ctx;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
        return true;
    bool ours = false;
    for (int i = 0; i < q->n && !ours; i++)
        ours = q->inos[i] == m->idiag_inode;
    if (!ours)
        return true;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    for (struct rtattr *at = (struct rtattr *)(m + 1); RTA_OK(at, len);
         at = RTA_NEXT(at, len)) {
        if (at->rta_type != INET_DIAG_INFO ||
            RTA_PAYLOAD(at) < offsetof(struct tcp_info, tcpi_last_ack_recv))
            continue;
        struct tcp_info_ext ti;
        memset(&ti, 0, sizeof ti);
        size_t take = RTA_PAYLOAD(at) < sizeof ti ? RTA_PAYLOAD(at) : sizeof ti;
        memcpy(&ti, RTA_DATA(at), take);
        if (q->least < 0 || (long)ti.base.tcpi_last_data_recv < q->least)
            q->least = ti.base.tcpi_last_data_recv;
        long w = tcp_waiting(&ti);
        if (w > q->waiting)
            q->waiting = w;
    }
    return true;
}

/* What the kernel says of PID's established TCP connections, into *Q. */
static void tcp_state(pid_t pid, struct tcp_quiet *q)
{
    int saved = errno;
    unsigned long inos[PEER_SOCKETS_MAX];
    int n = owned_by_us(pid) ? socket_inodes(pid, inos, PEER_SOCKETS_MAX) : -1;
    *q = (struct tcp_quiet){.inos = inos, .n = n, .least = -1, .waiting = -1};
    static const int families[] = {AF_INET, AF_INET6};
    for (size_t f = 0; n > 0 && f < sizeof families / sizeof families[0]; f++) {
        struct {
            struct nlmsghdr nlh;
            struct inet_diag_req_v2 r;
        } req;
        memset(&req, 0, sizeof req);
        req.nlh.nlmsg_len = sizeof req;
        req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.r.sdiag_family = (unsigned char)families[f];
        req.r.sdiag_protocol = IPPROTO_TCP;
        req.r.idiag_states = 1U << TCP_ESTABLISHED;
        req.r.idiag_ext = 1U << (INET_DIAG_INFO - 1);
        int nl = diag_ask(&req, sizeof req);
        if (nl < 0)
            continue;
        diag_read(nl, read_tcp, q);
        close(nl);
    }
    q->inos = NULL;
    errno = saved;
}

long peer_tcp_quiet_ms(pid_t pid)
{
    struct tcp_quiet q;
    tcp_state(pid, &q);
    return q.least;
}

long peer_tcp_waiting_ms(pid_t pid)
{
    struct tcp_quiet q;
    tcp_state(pid, &q);
    return q.least < 0 ? -1 : q.waiting;
}
