/* connect_steps GO PATH...: connect a fresh Unix stream socket to each PATH
 * in turn, printing "N errno" after the Nth ("N ok" when it connected), and
 * before each but the first wait (at most 10 s) until the file GO exists:
 * a test can change files between two calls of one process, after the
 * library read its configuration on the first (hostile_log.bats swaps the
 * log file there). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long to wait for GO, in steps of STEP_MS. */
#define WAIT_STEPS 200
#define STEP_MS 50

static void wait_for(const char *go)
{
    const struct timespec step = {.tv_sec = 0, .tv_nsec = STEP_MS * 1000000L};
    for (int i = 0; i < WAIT_STEPS && access(go, F_OK) != 0; i++)
        nanosleep(&step, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: connect_steps GO PATH...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(argv[i]) >= sizeof sa.sun_path) {
            fprintf(stderr, "connect_steps: path too long\n");
            return 2;
        }
        strcpy(sa.sun_path, argv[i]);
        if (i > 2)
            wait_for(argv[1]);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof sa);
        printf("%d %s\n", i - 1, rc == 0 ? "ok" : strerrorname_np(errno));
        fflush(stdout);
        if (fd >= 0)
            close(fd);
    }
    return 0;
}
