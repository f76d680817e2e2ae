/* talk PATH MESSAGE...: connect to the Unix socket PATH, read the 12 bytes
 * an ssh mux master says first (a hello), then write each
 * MESSAGE in turn (the word "hello" stands for an ssh mux client's hello
 * packet), printing what each write() returned and its errno. SIGPIPE is
 * ignored, as ssh does. For checking that muxfix leaves a connection that
 * does not speak the mux protocol alone. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const unsigned char hello[] = {0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (argc < 3 || strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "usage: talk PATH MESSAGE...\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        printf("connect errno=%s\n", strerrorname_np(errno));
        return 1;
    }
    unsigned char greeting[sizeof hello];
    size_t got = 0;
    while (got < sizeof greeting) {
        ssize_t r = read(fd, greeting + got, sizeof greeting - got);
        if (r <= 0) {
            printf("read ret=%zd\n", r);
            return 1;
        }
        got += (size_t)r;
    }
    for (int i = 2; i < argc; i++) {
        const void *p = argv[i];
        size_t n = strlen(argv[i]);
        if (strcmp(argv[i], "hello") == 0) {
            p = hello;
            n = sizeof hello;
        }
        errno = 0;
        ssize_t r = write(fd, p, n);
        printf("write %s ret=%zd errno=%s\n", argv[i], r,
               r < 0 ? strerrorname_np(errno) : "-");
    }
    return 0;
}
