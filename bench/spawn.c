/*
 * spawn - what a preloaded library costs every process at start: run PROG
 * (no arguments) ROUNDS times under each LD_PRELOAD given, interleaved
 * (A B C A B C ...), and time each run from posix_spawn() to waitpid().
 *
 *   spawn ROUNDS PROG LIB...      LIB "-": no LD_PRELOAD at all
 *
 * Prints the median microseconds of each LIB, in order, on one line. The
 * environment is this process's, with LD_PRELOAD set (or removed) per run.
 */
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
    if (argc < 4 || argc - 3 > VARIANTS_MAX) {
        fprintf(stderr, "usage: spawn ROUNDS PROG LIB... (LIB '-': none)\n");
        return 2;
    }
    long rounds = atol(argv[1]);
    int nv = argc - 3;
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
    char *child_argv[] = {argv[2], NULL};
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < nv; i++) {
            int v = (int)((r + i) % nv); /* rotate who goes first */
            pid_t pid;
            double t0 = now_us();
            if (posix_spawn(&pid, argv[2], NULL, NULL, child_argv, envs[v]) != 0) {
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
    for (int v = 0; v < nv; v++) {
        qsort(t[v], (size_t)rounds, sizeof *t[v], cmp_double);
        double med = rounds % 2 ? t[v][rounds / 2]
                                : (t[v][rounds / 2 - 1] + t[v][rounds / 2]) / 2;
        printf("%s%.1f", v ? " " : "", med);
    }
    printf("\n");
    return 0;
}
