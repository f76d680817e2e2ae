/* logfile_check: logfile_open (shim/logfile.c) on each PATH argument.
 * Prints "PATH: opened" (after appending a line to it) or "PATH: refused
 * (REASON)", one line per path, the reason as the MUXFIX_LOG warning gives
 * it. Built twice: with openat2, and as logfile_check_walk with
 * -DMUXFIX_LOGFILE_WALK_ONLY (the component walk of kernels before 5.6),
 * so the tests can show both refuse the same paths. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "logfile.h"

/* Room for "owned by another user (uid N)". */
#define REASON_MAX 64

int main(int argc, char **argv)
{
    static const char line[] = "logfile_check\n";

    for (int i = 1; i < argc; i++) {
        struct muxfix_logfile_verdict why;
        int fd = logfile_open(argv[i], &why);
        if (fd < 0) {
            char reason[REASON_MAX];
            printf("%s: refused (%s)\n", argv[i],
                   logfile_reason(&why, reason, sizeof reason));
            continue;
        }
        ssize_t n = write(fd, line, strlen(line));
        close(fd);
        printf("%s: %s\n", argv[i], n == (ssize_t)strlen(line)
                                        ? "opened" : "opened, write failed");
    }
    return 0;
}
