/* race PATH ROUNDS REAPERS: a publisher keeps creating live sockets at PATH
 * the way OpenSSH does (bind a temporary name, listen, link() it into place)
 * and letting them die, while REAPERS processes keep connecting to PATH.
 * Run with the library preloaded (MUXFIX_TIMEOUT_MS=0: these listeners never
 * say hello), every refused connect and every link() onto a dead socket is a
 * repair racing the others. The publisher checks after each link() that PATH
 * still holds its live socket's inode. Prints
 * "rounds=R lost=L unpublished=U" and exits 1 if a live socket was lost. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_REAPERS 16
#define CHECKS_PER_ROUND 20

static socklen_t addr_of(struct sockaddr_un *sun, const char *path)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    snprintf(sun->sun_path, sizeof sun->sun_path, "%s", path);
    return sizeof *sun;
}

static void reaper(const char *path)
{
    struct sockaddr_un sun;
    socklen_t len = addr_of(&sun, path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0)
            _exit(2);
        (void)connect(fd, (struct sockaddr *)&sun, len);
        close(fd);
    }
}

/* One live socket published at PATH; returns its inode or 0. */
static ino_t publish(const char *path, int *fd_out, unsigned round)
{
    static const char alnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct sockaddr_un sun;
    struct stat st;
    int n = snprintf(tmp, sizeof tmp, "%s.", path);
    for (int i = 0; i < 16 && n + i + 1 < (int)sizeof tmp; i++)
        tmp[n + i] = alnum[(unsigned)rand() % (sizeof alnum - 1)];
    tmp[n + 16] = '\0';
    (void)round;

    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t len = addr_of(&sun, tmp);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) != 0 || listen(fd, 64) != 0) {
        perror("publish");
        exit(2);
    }
    ino_t ino = lstat(tmp, &st) == 0 ? st.st_ino : 0;
    int rc = link(tmp, path);
    unlink(tmp);
    *fd_out = fd;
    return rc == 0 ? ino : 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: race PATH ROUNDS REAPERS\n");
        return 2;
    }
    const char *path = argv[1];
    long rounds = atol(argv[2]);
    int nreapers = atoi(argv[3]);
    pid_t pids[MAX_REAPERS];
    long lost = 0, unpublished = 0;

    if (nreapers < 0 || nreapers > MAX_REAPERS || rounds <= 0) {
        fprintf(stderr, "race: bad arguments\n");
        return 2;
    }
    srand((unsigned)getpid());
    for (int i = 0; i < nreapers; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            reaper(path);
    }
    for (long r = 0; r < rounds; r++) {
        int fd;
        ino_t ino = publish(path, &fd, (unsigned)r);
        if (ino == 0) {
            unpublished++;
        } else {
            for (int c = 0; c < CHECKS_PER_ROUND; c++) {
                struct stat st;
                if (lstat(path, &st) != 0 || st.st_ino != ino) {
                    lost++;
                    break;
                }
            }
        }
        close(fd); /* the master dies: a dead socket stays at PATH */
    }
    for (int i = 0; i < nreapers; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    printf("rounds=%ld lost=%ld unpublished=%ld\n", rounds, lost, unpublished);
    return lost != 0;
}
