/*
 * spawn - what a preloaded library costs a program: run PROG ROUNDS times
 * under each LD_PRELOAD given, in shuffled rounds, and time each run from
 * posix_spawn() to waitpid() (PROG's standard output goes to /dev/null).
 *
 *   spawn ROUNDS PROG LIB... [-- ARG...]   LIB "-": no LD_PRELOAD at all
 *
 * PROG runs with the ARGs after "--" (none without it) and must exit 0.
 * The environment is this process's, with LD_PRELOAD set (or removed) per
 * run. Each round runs every LIB once, in an order shuffled anew per round
 * (no LIB always follows the same other one).
 *
 * Prints two lines: the median microseconds of each LIB, in order; then,
 * for each LIB after the first, the median over the rounds of its time
 * divided by the first LIB's time in the same round. The paired ratio is
 * the steadier measure: a round's runs are close in time and share the
 * machine's state, which moves the medians of the whole run. A LIB given
 * twice is timed twice: "- -" shows what a ratio reads when nothing differs.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Longest LD_PRELOAD value accepted (a path or two). */
#define PRELOAD_MAX 4096
/* Most variants compared in one run. */
#define VARIANTS_MAX 8

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of V's N values (sorts V). */
static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A fixed sequence (xorshift64): the same orders in every run. */
static unsigned next_random(void)
{
    static unsigned long long x = 0x9e3779b97f4a7c15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (unsigned)(x >> 32);
}

/* ENVIRON without LD_PRELOAD, plus PRELOAD (NULL: none), in ENV. */
static char **env_with(const char *preload, char *slot)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (env == NULL)
        exit(1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            env[k++] = environ[i];
    if (preload != NULL) {
        snprintf(slot, PRELOAD_MAX, "LD_PRELOAD=%s", preload);
        env[k++] = slot;
    }
    env[k] = NULL;
    return env;
}

int main(int argc, char **argv)
{
    int nv = 0;
    while (3 + nv < argc && strcmp(argv[3 + nv], "--") != 0)
        nv++;
    if (nv < 1 || nv > VARIANTS_MAX) {
        fprintf(stderr, "usage: spawn ROUNDS PROG LIB... [-- ARG...] (LIB '-': none)\n");
        return 2;
    }
    long rounds = atol(argv[1]);
    if (rounds <= 0)
        return 2;
    static char slots[VARIANTS_MAX][PRELOAD_MAX];
    char **envs[VARIANTS_MAX];
    double *t[VARIANTS_MAX];
    for (int v = 0; v < nv; v++) {
        const char *lib = argv[3 + v];
        envs[v] = env_with(strcmp(lib, "-") == 0 ? NULL : lib, slots[v]);
        t[v] = calloc((size_t)rounds, sizeof *t[v]);
        if (t[v] == NULL)
            return 1;
    }
    /* PROG's output is not this program's: its own two lines are parsed. */
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) != 0)
        return 1;
    /* PROG's argv: PROG, then what follows "--" (argv ends with NULL). */
    char *no_args[] = {argv[2], NULL};
    char **child_argv = no_args;
    if (3 + nv < argc) {
        child_argv = &argv[3 + nv];
        child_argv[0] = argv[2];
    }
    int order[VARIANTS_MAX];
    for (int i = 0; i < nv; i++)
        order[i] = i;
    for (long r = 0; r < rounds; r++) {
        for (int i = nv - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(next_random() % (unsigned)(i + 1));
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (int i = 0; i < nv; i++) {
            int v = order[i];
            pid_t pid;
            double t0 = now_us();
            if (posix_spawn(&pid, argv[2], &fa, NULL, child_argv, envs[v]) != 0) {
                perror("spawn: posix_spawn");
                return 1;
            }
            int st;
            if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "spawn: %s failed under %s\n", argv[2], argv[3 + v]);
                return 1;
            }
            t[v][r] = now_us() - t0;
        }
    }
    double *ratio = calloc((size_t)rounds, sizeof *ratio);
    if (ratio == NULL)
        return 1;
    double paired[VARIANTS_MAX] = {0};
    for (int v = 1; v < nv; v++) {
        for (long r = 0; r < rounds; r++)
            ratio[r] = t[v][r] / t[0][r];
        paired[v] = median(ratio, rounds);
    }
    for (int v = 0; v < nv; v++)
        printf("%s%.1f", v ? " " : "", median(t[v], rounds));
    printf("\n");
    for (int v = 1; v < nv; v++)
        printf("%s%.4f", v > 1 ? " " : "", paired[v]);
    printf("\n");
    posix_spawn_file_actions_destroy(&fa);
    return 0;
}
