/*
 * coldpages - which of the preloaded library's code pages a process has
 * mapped after its calls (tests/memory.bats): the library's code is linked
 * in two segments (shim/hot.ld), the pass-through's and the repair's, and a
 * process that manages nothing must map no page of the second.
 *
 *   coldpages DIR PATH...
 *
 * In DIR (created by the caller, empty) a listening socket "live" and a
 * file "file" are made first; then, for each PATH, a connect() and a
 * bind() of a new Unix socket to it, a link() of DIR/file to it and an
 * unlink() of it; then one connect() to "live", one TCP connect() (to a
 * closed port of 127.0.0.1), a read(), a write() and a sendmsg() of a
 * socket pair. Prints "hot N cold N": the pages present
 * (/proc/self/pagemap) of the library's first executable segment and of
 * its second. Exit 2 when the library (a file named libmuxfix*.so) is not
 * loaded or has not two.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define PAGE_PRESENT (1ULL << 63)
#define CLOSED_PORT 1

struct range {
    uintptr_t lo, hi;
};

struct segments {
    int found;
    int nexec;
    struct range exec[2];
};

static void unix_addr(struct sockaddr_un *sun, const char *path)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun->sun_path) {
        fprintf(stderr, "coldpages: path too long: %s\n", path);
        exit(2);
    }
    memcpy(sun->sun_path, path, strlen(path) + 1);
}

/* Connect and bind a new socket to PATH, link DIR/file there, unlink it:
 * every result is ignored (the library's pass-through is what is run). */
static void calls_on(const char *path, const char *file)
{
    struct sockaddr_un sun;
    unix_addr(&sun, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&sun, sizeof sun);
        close(fd);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        (void)bind(fd, (struct sockaddr *)&sun, sizeof sun);
        close(fd);
    }
    int linked = link(file, path);
    (void)linked;
    (void)unlink(path);
}

static int find(struct dl_phdr_info *info, size_t size, void *data)
{
    struct segments *seg = data;
    (void)size;
    const char *slash = strrchr(info->dlpi_name, '/');
    const char *base = slash != NULL ? slash + 1 : info->dlpi_name;
    if (strncmp(base, "libmuxfix", 9) != 0)
        return 0;
    seg->found = 1;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        struct range r = {info->dlpi_addr + ph->p_vaddr,
                          info->dlpi_addr + ph->p_vaddr + ph->p_memsz};
        if ((ph->p_flags & PF_X) != 0 && seg->nexec++ < 2)
            seg->exec[seg->nexec - 1] = r;
    }
    return 1;
}

/* Pages of R present in memory. */
static long present(int pagemap, struct range r)
{
    long page = sysconf(_SC_PAGESIZE), n = 0;
    for (uintptr_t a = r.lo & ~(uintptr_t)(page - 1); a < r.hi; a += (uintptr_t)page) {
        uint64_t entry;
        off_t at = (off_t)(a / (uintptr_t)page * sizeof entry);
        if (pread(pagemap, &entry, sizeof entry, at) != (ssize_t)sizeof entry) {
            perror("coldpages: /proc/self/pagemap");
            exit(2);
        }
        n += (entry & PAGE_PRESENT) != 0;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: coldpages DIR PATH...\n");
        return 2;
    }
    char live[sizeof ((struct sockaddr_un *)0)->sun_path], file[PATH_MAX];
    if (snprintf(live, sizeof live, "%s/live", argv[1]) >= (int)sizeof live ||
        snprintf(file, sizeof file, "%s/file", argv[1]) >= (int)sizeof file) {
        fprintf(stderr, "coldpages: directory name too long\n");
        return 2;
    }
    struct sockaddr_un sun;
    unix_addr(&sun, live);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ffd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
        listen(lfd, 1) != 0 || ffd < 0) {
        perror("coldpages: setup");
        return 2;
    }
    close(ffd);
    for (int i = 2; i < argc; i++)
        calls_on(argv[i], file);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&sun, sizeof sun);
        close(fd);
    }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(CLOSED_PORT);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&sin, sizeof sin);
        close(fd);
    }
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
        char c = 'x';
        struct iovec iov = {&c, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (write(sp[0], &c, 1) != 1 || sendmsg(sp[0], &msg, 0) != 1 ||
            read(sp[1], &c, 1) != 1)
            perror("coldpages: socket pair");
        close(sp[0]);
        close(sp[1]);
    }

    struct segments seg = {0};
    dl_iterate_phdr(find, &seg);
    if (!seg.found || seg.nexec != 2) {
        fprintf(stderr, "coldpages: no libmuxfix*.so with two code segments "
                        "(%d, %d)\n", seg.found, seg.nexec);
        return 2;
    }
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) {
        perror("coldpages: /proc/self/pagemap");
        return 2;
    }
    printf("hot %ld cold %ld\n", present(pagemap, seg.exec[0]),
           present(pagemap, seg.exec[1]));
    close(pagemap);
    close(lfd);
    unlink(live);
    unlink(file);
    return 0;
}
