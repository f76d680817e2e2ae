/*
 * rss - the memory of this process: prints "VmRSS_kB Pss_kB Private_kB",
 * then, with -v, the same three for each part of it.
 *
 *   rss [-v] PATH   first connect() once to PATH (an unmanaged path with no
 *                   listener: ECONNREFUSED), so that a preloaded muxfix has
 *                   read its configuration, then read /proc/self/status and
 *                   /proc/self/smaps.
 *
 * Parts (-v): the preloaded library's file pages ("lib": libmuxfix.so or
 * bench-empty.so) and the anonymous mapping right after them (its "bss");
 * libc; the loader (ld.so); the heap; the stack; the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum part { LIB, BSS, LIBC, LDSO, HEAP, STACK, REST, NPARTS };
static const char *const part_name[NPARTS] = {"lib", "lib-bss", "libc", "ld.so",
                                              "heap", "stack", "rest"};

struct sum {
    long rss, pss, priv;
};

static long field(const char *file, const char *name)
{
    FILE *f = fopen(file, "r");
    char line[256];
    long v = -1;
    size_t len = strlen(name);
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = atol(line + len + 1);
            break;
        }
    fclose(f);
    return v;
}

/* Which part a mapping named NAME is (PREV: the part of the one before). */
static enum part part_of(const char *name, enum part prev)
{
    if (strstr(name, "libmuxfix") != NULL || strstr(name, "bench-empty") != NULL)
        return LIB;
    if (strstr(name, "/libc.so") != NULL)
        return LIBC;
    if (strstr(name, "/ld-linux") != NULL)
        return LDSO;
    if (strstr(name, "[heap]") != NULL)
        return HEAP;
    if (strstr(name, "[stack]") != NULL)
        return STACK;
    if (name[0] == '\0' && prev == LIB)
        return BSS;
    return REST;
}

static void parts(struct sum out[NPARTS])
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    enum part cur = REST;
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char name[400] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %399[^\n]", &lo, &hi, name) >= 2) {
            cur = part_of(name, cur);
            continue;
        }
        long v;
        if (sscanf(line, "Rss: %ld", &v) == 1)
            out[cur].rss += v;
        else if (sscanf(line, "Pss: %ld", &v) == 1)
            out[cur].pss += v;
        else if (sscanf(line, "Private_Clean: %ld", &v) == 1 ||
                 sscanf(line, "Private_Dirty: %ld", &v) == 1)
            out[cur].priv += v;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    int verbose = argc == 3 && strcmp(argv[1], "-v") == 0;
    if (argc != 2 + verbose) {
        fprintf(stderr, "usage: rss [-v] PATH\n");
        return 2;
    }
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strncpy(sun.sun_path, argv[1 + verbose], sizeof sun.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&sun, sizeof sun);
        close(fd);
    }
    /* The totals first (what reading smaps line by line pulls in must not
     * count), then the parts; both before any output (stdio's buffer). */
    long rss = field("/proc/self/status", "VmRSS");
    long pss = field("/proc/self/smaps_rollup", "Pss");
    long pc = field("/proc/self/smaps_rollup", "Private_Clean");
    long pd = field("/proc/self/smaps_rollup", "Private_Dirty");
    static struct sum by[NPARTS];
    if (verbose)
        parts(by);
    printf("%ld %ld %ld\n", rss, pss, pc + pd);
    for (int i = 0; verbose && i < NPARTS; i++)
        printf("%s %ld %ld %ld\n", part_name[i], by[i].rss, by[i].pss, by[i].priv);
    return 0;
}
