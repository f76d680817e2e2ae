/*
 * rss - the memory of this process: prints "VmRSS_kB Pss_kB Private_kB".
 *
 *   rss PATH   first connect() once to PATH (an unmanaged path with no
 *              listener: ECONNREFUSED), so that a preloaded muxfix has read
 *              its configuration, then read /proc/self/status and
 *              /proc/self/smaps_rollup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rss PATH\n");
        return 2;
    }
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strncpy(sun.sun_path, argv[1], sizeof sun.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&sun, sizeof sun);
        close(fd);
    }
    long rss = field("/proc/self/status", "VmRSS");
    long pss = field("/proc/self/smaps_rollup", "Pss");
    long pc = field("/proc/self/smaps_rollup", "Private_Clean");
    long pd = field("/proc/self/smaps_rollup", "Private_Dirty");
    printf("%ld %ld %ld\n", rss, pss, pc + pd);
    return 0;
}
