/* dirswap: the attacker who can rename entries in the parent of the
 * victim's control directory (a shared team directory), and the victim's
 * side of the race (tests/hostile_user.bats).
 *
 *   dirswap swap PARENT A B SECONDS
 *       exchange PARENT/A and PARENT/B (renameat2 RENAME_EXCHANGE) in a
 *       tight loop for SECONDS; leaves them as found; prints "swaps=N".
 *   dirswap connect PATH SECONDS
 *       connect() a fresh socket to PATH in a loop for SECONDS (run under
 *       the library: each refused connect is a repair racing the swaps);
 *       prints "rounds=N ok=N refused=N enoent=N other=N".
 *   dirswap probe PROBE PATH SECONDS
 *       run "PROBE --remove-if-dead PATH" (muxfix-probe, what muxfix clean
 *       runs) in a loop for SECONDS; prints "rounds=N removed=N".
 *   dirswap judge PATH SECONDS
 *       the same judgement in process, in a tight loop (judge_path() of
 *       shim/judge.c, linked in as muxfix-probe links it): thousands of
 *       rounds where exec'ing the probe makes hundreds.
 * Exits 2 on a usage or setup error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "judge.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_swap(const char *parent, const char *a, const char *b, double secs)
{
    int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long n = 0;
    if (dfd < 0) {
        perror(parent);
        return 2;
    }
    double end = now() + secs;
    while (now() < end) {
        for (int i = 0; i < 64; i++) {
            if (renameat2(dfd, a, dfd, b, RENAME_EXCHANGE) != 0) {
                perror("renameat2");
                return 2;
            }
            n++;
        }
    }
    if (n % 2 != 0 && renameat2(dfd, a, dfd, b, RENAME_EXCHANGE) == 0)
        n++;
    printf("swaps=%ld\n", n);
    return 0;
}

static int do_connect(const char *path, double secs)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    long rounds = 0, ok = 0, refused = 0, enoent = 0, other = 0;

    if (strlen(path) >= sizeof sun.sun_path)
        return 2;
    strcpy(sun.sun_path, path);
    double end = now() + secs;
    while (now() < end) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 2;
        int r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
        if (r == 0)
            ok++;
        else if (errno == ECONNREFUSED)
            refused++;
        else if (errno == ENOENT)
            enoent++;
        else
            other++;
        close(fd);
        rounds++;
    }
    printf("rounds=%ld ok=%ld refused=%ld enoent=%ld other=%ld\n", rounds, ok,
           refused, enoent, other);
    return 0;
}

static int do_probe(const char *probe, const char *path, double secs)
{
    long rounds = 0, removed = 0;
    double end = now() + secs;
    while (now() < end) {
        int p[2];
        char out[64] = "";
        if (pipe(p) != 0)
            return 2;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(p[1], 1);
            execl(probe, probe, "--remove-if-dead", path, (char *)NULL);
            _exit(127);
        }
        close(p[1]);
        ssize_t k = read(p[0], out, sizeof out - 1);
        close(p[0]);
        waitpid(pid, NULL, 0);
        if (k > 0 && strncmp(out, "removed", 7) == 0)
            removed++;
        rounds++;
    }
    printf("rounds=%ld removed=%ld\n", rounds, removed);
    return 0;
}

static int do_judge(const char *path, double secs)
{
    long rounds = 0, removed = 0;
    double end = now() + secs;
    while (now() < end) {
        struct judge_verdict v;
        judge_path(path, JUDGE_REMOVE_IF_DEAD, &v);
        if (v.kind == VERDICT_REMOVED)
            removed++;
        rounds++;
    }
    printf("rounds=%ld removed=%ld\n", rounds, removed);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "swap") == 0)
        return do_swap(argv[2], argv[3], argv[4], atof(argv[5]));
    if (argc == 4 && strcmp(argv[1], "connect") == 0)
        return do_connect(argv[2], atof(argv[3]));
    if (argc == 4 && strcmp(argv[1], "judge") == 0)
        return do_judge(argv[2], atof(argv[3]));
    if (argc == 5 && strcmp(argv[1], "probe") == 0)
        return do_probe(argv[2], argv[3], atof(argv[4]));
    fprintf(stderr, "usage: dirswap swap PARENT A B SECONDS | connect PATH "
                    "SECONDS | probe PROBE PATH SECONDS | judge PATH SECONDS\n");
    return 2;
}
