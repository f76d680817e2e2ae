/* errno_table DIR: makes a table of socket calls that muxfix must pass
 * through untouched, and prints each call's return value and errno, then the
 * state of the files involved. The suite runs it with and without the
 * library (MUXFIX_PATH set to DIR/m/ and a star) and requires identical output.
 *
 * DIR/m is a managed directory, DIR/u an unmanaged one. No case connects to
 * a live managed socket: there the library waits for an ssh master's hello,
 * which a plain listener never sends. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];
/* valgrind (rightly) reports the NULL-pointer and unterminated-path cases:
 * it runs without them. */
static int with_bad_pointers = 1;

static void report(const char *name, int ret, int err)
{
    printf("%-28s ret=%d errno=%s\n", name, ret, ret == 0 ? "-" : strerrorname_np(err));
}

/* Run EXPR with errno cleared and report what it returned and left. */
#define CALL(name, expr)                                                      \
    do {                                                                      \
        errno = 0;                                                            \
        int ret_ = (expr);                                                    \
        report(name, ret_, errno);                                            \
    } while (0)

static socklen_t unix_addr(struct sockaddr_un *sun, const char *rel)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    snprintf(sun->sun_path, sizeof sun->sun_path, "%s/%s", dir, rel);
    return sizeof *sun;
}

static int unix_socket(int type)
{
    int fd = socket(AF_UNIX, type, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    return fd;
}

static void try_connect(const char *name, const char *rel, int type)
{
    struct sockaddr_un sun;
    socklen_t len = unix_addr(&sun, rel);
    int fd = unix_socket(type);
    CALL(name, connect(fd, (struct sockaddr *)&sun, len));
    close(fd);
}

static void try_bind(const char *name, const char *rel)
{
    struct sockaddr_un sun;
    socklen_t len = unix_addr(&sun, rel);
    int fd = unix_socket(SOCK_STREAM);
    CALL(name, bind(fd, (struct sockaddr *)&sun, len));
    close(fd);
}

static void try_link(const char *name, const char *from, const char *to)
{
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", dir, from);
    snprintf(b, sizeof b, "%s/%s", dir, to);
    CALL(name, link(a, b));
}

/* A socket file at REL: listening (live) or not (dead). Returns the fd. */
static int make_socket(const char *rel, int listening)
{
    struct sockaddr_un sun;
    socklen_t len = unix_addr(&sun, rel);
    int fd = unix_socket(SOCK_STREAM);
    if (bind(fd, (struct sockaddr *)&sun, len) != 0 ||
        (listening && listen(fd, 8) != 0)) {
        perror(rel);
        exit(2);
    }
    if (!listening) {
        close(fd);
        return -1;
    }
    return fd;
}

static void make_file(const char *rel)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        perror(p);
        exit(2);
    }
    close(fd);
}

static void make_dir(const char *rel)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (mkdir(p, 0700) != 0) {
        perror(p);
        exit(2);
    }
}

static void make_symlink(const char *target_rel, const char *rel)
{
    char t[4200], p[4200];
    snprintf(t, sizeof t, "%s/%s", dir, target_rel);
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (symlink(t, p) != 0) {
        perror(p);
        exit(2);
    }
}

static void tcp_cases(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int held = socket(AF_INET, SOCK_STREAM, 0);
    /* A bound, not listening port on 127.0.0.1 refuses connections. */
    if (bind(held, (struct sockaddr *)&sin, len) != 0 ||
        getsockname(held, (struct sockaddr *)&sin, &len) != 0) {
        perror("tcp");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CALL("connect_tcp_refused", connect(fd, (struct sockaddr *)&sin, len));
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CALL("bind_tcp_in_use", bind(fd, (struct sockaddr *)&sin, len));
    close(fd);
    close(held);
}

static void odd_address_cases(void)
{
    struct sockaddr_un sun;
    int fd = unix_socket(SOCK_STREAM);

    unix_addr(&sun, "m/nope");
    CALL("connect_short_addrlen", connect(fd, (struct sockaddr *)&sun, 1));
    CALL("connect_family_only", connect(fd, (struct sockaddr *)&sun, sizeof(sa_family_t)));
    if (with_bad_pointers)
        CALL("connect_null_addr", connect(fd, NULL, sizeof sun));
    /* Abstract namespace: no file, never managed. */
    memset(sun.sun_path, 0, sizeof sun.sun_path);
    snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "muxfix-errno-table-%d", (int)getpid());
    CALL("connect_abstract", connect(fd, (struct sockaddr *)&sun, sizeof sun));
    /* sun_path filled to the last byte, no NUL (valgrind reads on past it
     * as a C string, so it is one of the cases it skips). */
    memset(sun.sun_path, 'x', sizeof sun.sun_path);
    sun.sun_path[0] = '/';
    if (with_bad_pointers)
        CALL("connect_unterminated", connect(fd, (struct sockaddr *)&sun, sizeof sun));
    close(fd);

    unix_addr(&sun, "m/nope");
    int devnull = open("/dev/null", O_RDONLY);
    CALL("connect_not_a_socket_fd", connect(devnull, (struct sockaddr *)&sun, sizeof sun));
    close(devnull);
    CALL("connect_bad_fd", connect(-1, (struct sockaddr *)&sun, sizeof sun));
    CALL("bind_null_addr", bind(-1, NULL, sizeof sun));
    /* A NULL path, called through a pointer so that neither the compiler's
     * nonnull check nor UBSan's stops the call from reaching the library. */
    const char *volatile nothing = NULL;
    int (*volatile link_fn)(const char *, const char *) = link;
    if (with_bad_pointers)
        CALL("link_null_path", link_fn(nothing, nothing));
}

static void file_state(const char *rel)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    const char *what = lstat(p, &st) != 0 ? "absent"
                       : S_ISSOCK(st.st_mode) ? "socket"
                       : S_ISLNK(st.st_mode)  ? "symlink"
                       : S_ISREG(st.st_mode)  ? "file"
                                              : "other";
    printf("state %-22s %s\n", rel, what);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "--no-bad-pointers") == 0) {
        with_bad_pointers = 0;
        argc--;
    }
    if (argc != 2 || strlen(argv[1]) > 40) {
        fprintf(stderr, "usage: errno_table DIR [--no-bad-pointers]\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    if (mkdir(dir, 0700) != 0) {
        perror(dir);
        return 2;
    }
    make_dir("m");
    make_dir("u");
    make_file("m/file");
    make_file("m/file2");
    make_socket("u/dead", 0);
    int live_u = make_socket("u/live", 1);
    int live_m = make_socket("m/live", 1);
    make_symlink("u/dead", "m/link");

    try_connect("connect_enoent", "m/nope", SOCK_STREAM);
    try_connect("connect_enoent_dgram", "m/nope", SOCK_DGRAM);
    try_connect("connect_regular_file", "m/file", SOCK_STREAM);
    try_connect("connect_symlink_to_dead", "m/link", SOCK_STREAM);
    try_connect("connect_dead_unmanaged", "u/dead", SOCK_STREAM);
    try_connect("connect_live_unmanaged", "u/live", SOCK_STREAM);
    try_connect("connect_dgram_to_stream", "u/live", SOCK_DGRAM);
    try_connect("connect_missing_dir", "m/nodir/x", SOCK_STREAM);
    try_bind("bind_regular_file", "m/file");
    try_bind("bind_live_managed", "m/live");
    try_bind("bind_symlink", "m/link");
    try_bind("bind_missing_two_levels", "m/a/b/c");
    try_link("link_onto_file", "m/file2", "m/file");
    try_link("link_onto_live", "m/file2", "m/live");
    try_link("link_onto_symlink", "m/file2", "m/link");
    try_link("link_missing_source", "m/none", "m/x");
    tcp_cases();
    odd_address_cases();

    file_state("m/file");
    file_state("m/live");
    file_state("m/link");
    file_state("u/dead");
    file_state("u/live");
    close(live_u);
    close(live_m);
    return 0;
}
