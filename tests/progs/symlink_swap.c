/* symlink_swap PATH FOREIGN TARGET SECONDS ROUNDS CONNECTORS
 *
 * An attacker (or an unlucky user) keeps swapping what sits at the managed
 * ControlPath PATH while CONNECTORS child processes keep connect()ing to it.
 * Run under the library (MUXFIX_TIMEOUT_MS=0, MUXFIX_PATH covering PATH but
 * not the staging name PATH's directory + "/stage"): every refused connect is
 * a repair racing the swap. Each round prepares, under the unmanaged staging
 * name in PATH's directory, one of
 *   a  a fresh dead socket of ours (bind + close)
 *   b  a symlink to FOREIGN (another user's dead socket, mode 0777)
 *   c  a symlink to TARGET (a regular file of ours)
 *   d  a regular file of ours holding "precious\n"
 * and exchanges it with PATH atomically (renameat2 RENAME_EXCHANGE, the
 * rename() that also hands back what was there). What comes back must be the
 * entry placed the round before, unchanged (same inode, same link target or
 * content). PATH being empty means the library removed the previous entry:
 * allowed only for (a), counted as "reaped", a violation for b, c and d.
 * Stops after ROUNDS rounds or SECONDS seconds, whichever is first; at the end
 * FOREIGN and TARGET must be the same inodes with the same content.
 *
 * Prints "rounds=R reaped=N removed_other=V displaced=D changed=C refused=F
 * enoent=E other=O": removed_other counts b, c or d entries deleted,
 * displaced those the library moved aside (intact, under
 * ".NAME.muxfix-dead.*") because a swap took PATH while it examined them,
 * changed anything altered in place (an entry exchanged back out that is not
 * the one placed, FOREIGN or TARGET touched), refused/enoent/other the
 * connectors' connect() results (other: anything but ECONNREFUSED/ENOENT).
 * Exits 1 if removed_other, changed or other is not 0, 2 on a setup error.
 * Whether reaped must be > 0 (the library was active) is for the caller. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTORS 8
#define PRECIOUS "precious\n"

enum kind { DEAD_SOCK, LINK_FOREIGN, LINK_TARGET, REG_FILE, NKINDS };
static const char *const kind_name[NKINDS] = {
    "dead socket", "symlink to another user's socket",
    "symlink to our regular file", "regular file"};

struct counts { /* shared with the connectors (MAP_SHARED) */
    long refused, enoent, other, ok;
};

static const char *path, *foreign, *target;
static char dir[PATH_MAX], base[PATH_MAX], stage[PATH_MAX + 8];
static long violations; /* b, c or d removed from PATH */
static long changed;    /* anything altered in place, FOREIGN or TARGET touched */
static long displaced;  /* b, c or d moved aside by the library, not deleted */

/* The library moves an entry aside before judging it; if a swap took PATH
 * meanwhile it cannot put the entry back and leaves it, intact, under
 * ".NAME.muxfix-dead.*". Find the entry with inode INO there (and tidy it
 * away): displaced, not deleted. */
static bool find_displaced(int dfd, ino_t ino)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    bool found = false;
    if (d == NULL)
        return false;
    rewinddir(d);
    while (!found && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strstr(e->d_name, ".muxfix-dead.") != NULL &&
            fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == ino) {
            found = true;
            (void)unlinkat(dfd, e->d_name, 0);
        }
    }
    closedir(d);
    return found;
}

/* The library puts back what it moved aside and found not to be a dead
 * socket; seen as PATH being empty for that moment. */
#define PUT_BACK_TRIES 3

static bool is_at_path(int dfd, ino_t ino)
{
    struct stat st;
    return fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == ino;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "symlink_swap: %s: %s\n", what, strerror(errno));
    exit(2);
}

static socklen_t addr_of(struct sockaddr_un *sun, const char *p)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (strlen(p) >= sizeof sun->sun_path) {
        fprintf(stderr, "symlink_swap: path too long: %s\n", p);
        exit(2);
    }
    strcpy(sun->sun_path, p);
    return sizeof *sun;
}

static void connector(struct counts *c, int slot)
{
    struct sockaddr_un sun;
    socklen_t len = addr_of(&sun, path);
    long refused = 0, enoent = 0, other = 0, ok = 0;
    for (long i = 0;; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0)
            _exit(2);
        if (connect(fd, (struct sockaddr *)&sun, len) == 0)
            ok++;
        else if (errno == ECONNREFUSED)
            refused++;
        else if (errno == ENOENT)
            enoent++;
        else
            other++;
        close(fd);
        if ((i & 63) == 0) { /* publish progress; the parent SIGKILLs us */
            __atomic_store_n(&c[slot].refused, refused, __ATOMIC_RELAXED);
            __atomic_store_n(&c[slot].enoent, enoent, __ATOMIC_RELAXED);
            __atomic_store_n(&c[slot].other, other, __ATOMIC_RELAXED);
            __atomic_store_n(&c[slot].ok, ok, __ATOMIC_RELAXED);
        }
    }
}

/* Make the staging entry of kind K; returns its inode. */
static ino_t prepare(enum kind k)
{
    struct stat st;
    if (unlink(stage) != 0 && errno != ENOENT)
        die("unlink stage");
    switch (k) {
    case DEAD_SOCK: {
        struct sockaddr_un sun;
        socklen_t len = addr_of(&sun, stage);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) != 0)
            die("bind stage");
        close(fd); /* never listened: connect() is refused */
        break;
    }
    case LINK_FOREIGN:
        if (symlink(foreign, stage) != 0)
            die("symlink stage");
        break;
    case LINK_TARGET:
        if (symlink(target, stage) != 0)
            die("symlink stage");
        break;
    case REG_FILE: {
        int fd = open(stage, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, PRECIOUS, strlen(PRECIOUS)) != (ssize_t)strlen(PRECIOUS))
            die("write stage");
        close(fd);
        break;
    }
    default:
        abort();
    }
    if (lstat(stage, &st) != 0)
        die("lstat stage");
    return st.st_ino;
}

/* The entry exchanged out of PATH (now at the staging name) must be the one
 * placed there: kind K, inode INO, unchanged. */
static void check_returned(enum kind k, ino_t ino, long round)
{
    struct stat st;
    char buf[PATH_MAX];
    const char *bad = NULL;

    if (lstat(stage, &st) != 0)
        bad = "gone from the staging name";
    else if (st.st_ino != ino)
        bad = "replaced by another inode";
    else if (k == DEAD_SOCK && !S_ISSOCK(st.st_mode))
        bad = "no longer a socket";
    else if (k == LINK_FOREIGN || k == LINK_TARGET) {
        ssize_t n = readlink(stage, buf, sizeof buf - 1);
        const char *want = k == LINK_FOREIGN ? foreign : target;
        if (!S_ISLNK(st.st_mode) || n < 0 || (buf[n] = '\0', strcmp(buf, want) != 0))
            bad = "symlink changed";
    } else if (k == REG_FILE) {
        int fd = open(stage, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (!S_ISREG(st.st_mode) || n != (ssize_t)strlen(PRECIOUS) ||
            memcmp(buf, PRECIOUS, strlen(PRECIOUS)) != 0)
            bad = "regular file changed";
    }
    if (bad != NULL) {
        if (changed++ < 10)
            fprintf(stderr, "symlink_swap: round %ld: %s at %s: %s\n", round,
                    kind_name[k], path, bad);
    }
}

static void fingerprint(const char *p, struct stat *st, char *content, size_t size)
{
    if (lstat(p, st) != 0)
        die(p);
    content[0] = '\0';
    if (S_ISREG(st->st_mode)) {
        int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, content, size - 1) : -1;
        if (fd >= 0)
            close(fd);
        content[n > 0 ? n : 0] = '\0';
    }
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: symlink_swap PATH FOREIGN TARGET SECONDS ROUNDS CONNECTORS\n");
        return 2;
    }
    path = argv[1];
    foreign = argv[2];
    target = argv[3];
    double seconds = atof(argv[4]);
    long rounds = atol(argv[5]);
    int nconn = atoi(argv[6]);
    if (nconn < 1 || nconn > MAX_CONNECTORS || rounds < 1 || seconds <= 0) {
        fprintf(stderr, "symlink_swap: bad arguments\n");
        return 2;
    }
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path || strlen(path) >= sizeof dir)
        die("PATH must be absolute with a directory");
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    strcpy(base, slash + 1);
    snprintf(stage, sizeof stage, "%s/stage", dir);

    struct stat f0, t0, f1, t1;
    char fc0[64], tc0[256], fc1[64], tc1[256];
    fingerprint(foreign, &f0, fc0, sizeof fc0);
    fingerprint(target, &t0, tc0, sizeof tc0);

    struct counts *c = mmap(NULL, sizeof *c * MAX_CONNECTORS, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        die("mmap");
    pid_t pids[MAX_CONNECTORS];
    for (int i = 0; i < nconn; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork");
        if (pids[i] == 0)
            connector(c, i);
    }

    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        die("open dir");
    double end = now_s() + seconds;
    long r, reaped = 0;
    enum kind placed = NKINDS; /* nothing at PATH yet */
    ino_t placed_ino = 0;
    unsigned seed = (unsigned)getpid();
    for (r = 0; r < rounds && now_s() < end; r++) {
        /* Every other round a dead socket (so the library has something to
         * repair), in between b, c or d at random. */
        enum kind k = (r % 2 == 0) ? DEAD_SOCK : (enum kind)(1 + rand_r(&seed) % 3);
        ino_t ino = prepare(k);
        int put_back = 0;
    exchange:
        if (renameat2(dfd, "stage", dfd, base, RENAME_EXCHANGE) == 0) {
            if (placed == NKINDS) {
                if (changed++ < 10)
                    fprintf(stderr, "symlink_swap: %s existed before round 0\n", path);
            } else {
                check_returned(placed, placed_ino, r);
            }
        } else if (errno == ENOENT) {
            /* PATH was empty: the library removed what we had placed. */
            if (placed == DEAD_SOCK)
                reaped++;
            else if (placed != NKINDS && find_displaced(dfd, placed_ino))
                displaced++;
            else if (placed != NKINDS && put_back++ < PUT_BACK_TRIES &&
                     is_at_path(dfd, placed_ino))
                /* It was only moved aside while the library examined it, and
                 * is back: exchange again (a rename() now would delete it). */
                goto exchange;
            else if (placed != NKINDS && violations++ < 10)
                fprintf(stderr, "symlink_swap: round %ld: %s at %s was removed\n",
                        r, kind_name[placed], path);
            if (renameat(dfd, "stage", dfd, base) != 0)
                die("rename into place");
        } else {
            die("renameat2 RENAME_EXCHANGE");
        }
        placed = k;
        placed_ino = ino;
        /* Give the connectors a moment with this entry in place. */
        const struct timespec pause = {.tv_nsec = 20000};
        nanosleep(&pause, NULL);
    }
    for (int i = 0; i < nconn; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    /* The last entry: still there unless it was a dead socket. */
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (placed == DEAD_SOCK)
            reaped++;
        else if (find_displaced(dfd, placed_ino))
            displaced++;
        else if (violations++ < 10)
            fprintf(stderr, "symlink_swap: final %s at %s was removed\n",
                    kind_name[placed], path);
    } else if (st.st_ino != placed_ino && changed++ < 10) {
        fprintf(stderr, "symlink_swap: final entry at %s replaced\n", path);
    }
    fingerprint(foreign, &f1, fc1, sizeof fc1);
    fingerprint(target, &t1, tc1, sizeof tc1);
    if (f1.st_ino != f0.st_ino || f1.st_uid != f0.st_uid || !S_ISSOCK(f1.st_mode) ||
        f1.st_ctim.tv_sec != f0.st_ctim.tv_sec || f1.st_ctim.tv_nsec != f0.st_ctim.tv_nsec) {
        changed++;
        fprintf(stderr, "symlink_swap: %s changed\n", foreign);
    }
    if (t1.st_ino != t0.st_ino || strcmp(tc0, tc1) != 0 ||
        t1.st_mtim.tv_nsec != t0.st_mtim.tv_nsec || t1.st_mtim.tv_sec != t0.st_mtim.tv_sec) {
        changed++;
        fprintf(stderr, "symlink_swap: %s changed\n", target);
    }
    long refused = 0, enoent = 0, other = 0;
    for (int i = 0; i < nconn; i++) {
        refused += c[i].refused;
        enoent += c[i].enoent;
        other += c[i].other + c[i].ok; /* nothing there ever listens */
    }
    printf("rounds=%ld reaped=%ld removed_other=%ld displaced=%ld changed=%ld refused=%ld "
           "enoent=%ld other=%ld\n", r, reaped, violations, displaced, changed, refused,
           enoent, other);
    return violations != 0 || changed != 0 || other != 0;
}
