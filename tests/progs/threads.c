/* threads MODE DIR SECONDS ROUNDS
 *
 * 32 threads connect() at once (a barrier per round), round after round, to a
 * mix of managed and unmanaged Unix socket paths, while signal handlers and a
 * forked child do the same. Run it under the library with
 * MUXFIX_PATH='DIR/m/<star>:DIR/s/<star>' and MUXFIX_TIMEOUT_MS=0 (the live listeners
 * here send no hello) as MODE "mux", and without it as MODE "plain".
 *
 * DIR (ours, mode 0700) gets
 *   DIR/m/dead0..3  managed dead sockets; a thread that connected to one
 *                   re-creates it right after (bind + close)
 *   DIR/m/live      managed live listener (an acceptor thread accepts and
 *                   closes)
 *   DIR/u/dead0..1  unmanaged dead sockets, never re-created
 *   DIR/u/live      unmanaged live listener
 *   DIR/s/sig       managed dead socket used by the signal handler only
 * The signal handler (SIGALRM from setitimer every 2 ms, SIGUSR1 sent by a
 * worker to a random worker every round) saves errno, connects to DIR/s/sig,
 * re-creates it, connects to DIR/u/dead0 and restores errno. Thread 0 forks
 * every 8th round; the child connects to DIR/m/dead0 and _exit()s with 0 if
 * the result was expected. Every worker sets errno to its own value before a
 * busy loop and checks it afterwards (a handler that ran there must have left
 * it alone), and sets errno to a sentinel before each connect() that then
 * succeeds (libc leaves errno alone on success; so must the library).
 *
 * Expected connect() results:
 *   live (m/live, u/live)   0; EAGAIN allowed (full backlog)
 *   unmanaged dead          ECONNREFUSED
 *   managed dead, plain     ECONNREFUSED
 *   managed dead, mux       ENOENT (the library removed the dead socket and
 *                           retried) or ECONNREFUSED (another thread's
 *                           bind() re-created a socket between the library's
 *                           removal and its retry, or a remover holding the
 *                           directory lock made this one keep the file);
 *                           ENOENT must be seen at least once
 * re-creating bind(): 0 or EADDRINUSE (plain: always EADDRINUSE after the
 * first round; mux: the library removes the dead socket in the way).
 *
 * At the end m/live, u/live and u/dead* must be the same inodes as at the
 * start. Prints one summary line; exits 0 if everything was as expected, 1
 * otherwise, 2 on a setup error. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 32
#define NMDEAD 4
#define NUDEAD 2
/* Thread 0 forks in the first round and every FORK_EVERY rounds after it:
 * a run that a loaded machine (or valgrind) slows to one round still forks. */
#define FORK_EVERY 8
#define ERRNO_SENTINEL 7777
#define SPIN 20000

enum target_kind { T_MDEAD, T_LIVE, T_UDEAD };
struct target {
    enum target_kind kind;
    struct sockaddr_un sun;
};
/* The rotation each thread walks through: 4 managed dead, 2 live, 2
 * unmanaged dead. */
#define NTARGETS (NMDEAD + 2 + NUDEAD)
static struct target targets[NTARGETS];
static struct sockaddr_un sig_managed, sig_unmanaged;

static int mux_mode;
static pthread_barrier_t barrier;
static volatile int stop_flag;

/* Counters: only __atomic builtins (lock-free, fine in a signal handler). */
static long n_connects, n_enoent, n_refused_mdead, n_live_ok, n_eagain;
static long n_unexpected, n_errno_lost, n_errno_clobbered, n_bind_fail;
static long n_handler, n_handler_enoent, n_handler_refused, n_handler_bad;
static long n_forks, n_fork_bad, max_connect_us, max_handler_us, max_fork_us;

#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

static long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000L;
}

static void note_max(long *max, long v)
{
    long prev = __atomic_load_n(max, __ATOMIC_RELAXED);
    while (v > prev && !__atomic_compare_exchange_n(max, &prev, v, false, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED))
        ;
}

static void setup_addr(struct sockaddr_un *sun, const char *dir, const char *name)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if ((size_t)snprintf(sun->sun_path, sizeof sun->sun_path, "%s/%s", dir, name) >=
        sizeof sun->sun_path) {
        fprintf(stderr, "threads: path too long: %s/%s\n", dir, name);
        exit(2);
    }
}

static void unexpected(const char *who, const char *path, int rc, int err)
{
    if (INC(n_unexpected) <= 10) {
        /* snprintf + write: also used from the signal handler in practice
         * only for handler failures, which are reported as counts there. */
        fprintf(stderr, "threads: unexpected: %s connect(%s) = %d (%s)\n", who,
                path, rc, rc == 0 ? "ok" : strerror(err));
    }
}

/* Re-create a dead socket at SUN: bind, never listen, close. */
static int recreate(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = bind(fd, (const struct sockaddr *)sun, sizeof *sun);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    long t0 = now_us();
    INC(n_handler);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        errno = ERRNO_SENTINEL;
        int rc = connect(fd, (struct sockaddr *)&sig_managed, sizeof sig_managed);
        if (rc == 0)
            INC(n_handler_bad);
        else if (errno == ENOENT && mux_mode)
            INC(n_handler_enoent);
        else if (errno == ECONNREFUSED)
            INC(n_handler_refused);
        else
            INC(n_handler_bad);
        close(fd);
    }
    if (recreate(&sig_managed) != 0 && errno != EADDRINUSE)
        INC(n_handler_bad);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int rc = connect(fd, (struct sockaddr *)&sig_unmanaged, sizeof sig_unmanaged);
        if (rc == 0 || errno != ECONNREFUSED)
            INC(n_handler_bad);
        close(fd);
    }
    note_max(&max_handler_us, now_us() - t0);
    errno = saved;
}

/* One connect to T; true if the result is one T allows. */
static bool connect_once(const struct target *t, int *err_out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    long t0 = now_us();
    errno = ERRNO_SENTINEL;
    int rc = connect(fd, (const struct sockaddr *)&t->sun, sizeof t->sun);
    int err = errno;
    long dt = now_us() - t0;
    close(fd);
    note_max(&max_connect_us, dt);
    INC(n_connects);
    *err_out = err;
    if (rc == 0 && err != ERRNO_SENTINEL)
        INC(n_errno_clobbered);
    switch (t->kind) {
    case T_LIVE:
        if (rc == 0) {
            INC(n_live_ok);
            return true;
        }
        if (err == EAGAIN) {
            INC(n_eagain);
            return true;
        }
        return false;
    case T_UDEAD:
        return rc != 0 && err == ECONNREFUSED;
    case T_MDEAD:
        if (rc == 0)
            return false;
        if (err == ECONNREFUSED) {
            INC(n_refused_mdead);
            return true;
        }
        if (err == ENOENT && mux_mode) {
            INC(n_enoent);
            return true;
        }
        return false;
    }
    return false;
}

static void fork_child(void)
{
    long t0 = now_us();
    pid_t pid = fork();
    if (pid < 0) {
        INC(n_fork_bad);
        return;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls here: the parent has 32 threads. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            _exit(3);
        int rc = connect(fd, (struct sockaddr *)&targets[0].sun, sizeof targets[0].sun);
        int ok = rc != 0 && (errno == ECONNREFUSED || (errno == ENOENT && mux_mode));
        _exit(ok ? 0 : 1);
    }
    INC(n_forks);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            INC(n_fork_bad);
            return;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        INC(n_fork_bad);
    note_max(&max_fork_us, now_us() - t0);
}

struct worker {
    int id;
    pthread_t thread;
};
static struct worker workers[NTHREADS];
static double run_seconds;
static long max_rounds, rounds_done;
static long start_us;

static void *work(void *arg)
{
    struct worker *w = arg;
    /* Every thread id is known before anyone sends SIGUSR1. */
    w->thread = pthread_self();
    pthread_barrier_wait(&barrier);
    unsigned seed = (unsigned)w->id * 2654435761u;
    for (long r = 0;; r++) {
        const struct target *t = &targets[(w->id + r) % NTARGETS];
        int err = 0;
        if (!connect_once(t, &err))
            unexpected("worker", t->sun.sun_path, err == ERRNO_SENTINEL ? 0 : -1, err);
        if (t->kind == T_MDEAD && recreate(&t->sun) != 0 && errno != EADDRINUSE)
            INC(n_bind_fail);
        if (w->id == 0 && r % FORK_EVERY == 0)
            fork_child();
        if (w->id == 1)
            pthread_kill(workers[rand_r(&seed) % NTHREADS].thread, SIGUSR1);

        /* errno across whatever signal handler runs on this thread now */
        errno = 1000 + w->id;
        for (volatile int i = 0; i < SPIN; i++)
            ;
        if (errno != 1000 + w->id)
            INC(n_errno_lost);

        if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
            rounds_done = r + 1;
            if (r + 1 >= max_rounds || now_us() - start_us > (long)(run_seconds * 1e6))
                stop_flag = 1;
        }
        pthread_barrier_wait(&barrier);
        if (stop_flag)
            break;
    }
    return NULL;
}

static int listen_fds[2];

static void *acceptor(void *arg)
{
    (void)arg;
    struct pollfd pfd[2] = {{.fd = listen_fds[0], .events = POLLIN},
                            {.fd = listen_fds[1], .events = POLLIN}};
    while (!stop_flag) {
        int n = poll(pfd, 2, 50);
        if (n <= 0)
            continue;
        for (int i = 0; i < 2; i++)
            if (pfd[i].revents & POLLIN) {
                int c = accept4(listen_fds[i], NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0)
                    close(c);
            }
    }
    return NULL;
}

static int make_listener(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (const struct sockaddr *)sun, sizeof *sun) != 0 ||
        listen(fd, 4096) != 0) {
        fprintf(stderr, "threads: listen %s: %s\n", sun->sun_path, strerror(errno));
        exit(2);
    }
    return fd;
}

static ino_t inode_of(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 ? st.st_ino : 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "mux") != 0 && strcmp(argv[1], "plain") != 0)) {
        fprintf(stderr, "usage: threads mux|plain DIR SECONDS ROUNDS\n");
        return 2;
    }
    mux_mode = strcmp(argv[1], "mux") == 0;
    const char *dir = argv[2];
    run_seconds = atof(argv[3]);
    max_rounds = atol(argv[4]);
    char m[PATH_MAX], u[PATH_MAX], s[PATH_MAX];
    snprintf(m, sizeof m, "%s/m", dir);
    snprintf(u, sizeof u, "%s/u", dir);
    snprintf(s, sizeof s, "%s/s", dir);
    if ((mkdir(m, 0700) != 0 && errno != EEXIST) || (mkdir(u, 0700) != 0 && errno != EEXIST) ||
        (mkdir(s, 0700) != 0 && errno != EEXIST)) {
        perror("threads: mkdir");
        return 2;
    }
    char name[32];
    int ti = 0;
    for (int i = 0; i < NMDEAD; i++, ti++) {
        snprintf(name, sizeof name, "dead%d", i);
        targets[ti].kind = T_MDEAD;
        setup_addr(&targets[ti].sun, m, name);
    }
    targets[ti].kind = T_LIVE;
    setup_addr(&targets[ti++].sun, m, "live");
    targets[ti].kind = T_LIVE;
    setup_addr(&targets[ti++].sun, u, "live");
    for (int i = 0; i < NUDEAD; i++, ti++) {
        snprintf(name, sizeof name, "dead%d", i);
        targets[ti].kind = T_UDEAD;
        setup_addr(&targets[ti].sun, u, name);
    }
    setup_addr(&sig_managed, s, "sig");
    setup_addr(&sig_unmanaged, u, "dead0");

    ino_t keep[NTARGETS] = {0};
    int nl = 0;
    for (int i = 0; i < NTARGETS; i++) {
        if (targets[i].kind == T_LIVE)
            listen_fds[nl++] = make_listener(&targets[i].sun);
        else if (recreate(&targets[i].sun) != 0) {
            fprintf(stderr, "threads: bind %s: %s\n", targets[i].sun.sun_path,
                    strerror(errno));
            return 2;
        }
        if (targets[i].kind != T_MDEAD)
            keep[i] = inode_of(targets[i].sun.sun_path);
    }
    if (recreate(&sig_managed) != 0) {
        perror("threads: bind sig");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGALRM); /* handlers never nest */
    sigaddset(&sa.sa_mask, SIGUSR1);
    if (sigaction(SIGALRM, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0) {
        perror("threads: sigaction");
        return 2;
    }

    pthread_barrier_init(&barrier, NULL, NTHREADS);
    start_us = now_us();
    pthread_t acc;
    if (pthread_create(&acc, NULL, acceptor, NULL) != 0) {
        fprintf(stderr, "threads: pthread_create failed\n");
        return 2;
    }
    struct itimerval it = {.it_interval = {.tv_usec = 2000}, .it_value = {.tv_usec = 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    pthread_t joins[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        workers[i].id = i;
        if (pthread_create(&joins[i], NULL, work, &workers[i]) != 0) {
            fprintf(stderr, "threads: pthread_create failed\n");
            return 2;
        }
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(joins[i], NULL);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    pthread_join(acc, NULL);
    long elapsed_ms = (now_us() - start_us) / 1000;

    long lost_files = 0;
    for (int i = 0; i < NTARGETS; i++)
        if (targets[i].kind != T_MDEAD && inode_of(targets[i].sun.sun_path) != keep[i]) {
            lost_files++;
            fprintf(stderr, "threads: %s was removed or replaced\n", targets[i].sun.sun_path);
        }

    printf("rounds=%ld connects=%ld ms=%ld max_connect_ms=%ld max_handler_ms=%ld "
           "max_fork_ms=%ld live_ok=%ld eagain=%ld "
           "mdead_enoent=%ld mdead_refused=%ld handler=%ld handler_enoent=%ld "
           "handler_refused=%ld forks=%ld | unexpected=%ld errno_lost=%ld "
           "errno_clobbered=%ld bind_fail=%ld handler_bad=%ld fork_bad=%ld lost_files=%ld\n",
           rounds_done, n_connects, elapsed_ms, max_connect_us / 1000,
           max_handler_us / 1000, max_fork_us / 1000, n_live_ok, n_eagain,
           n_enoent, n_refused_mdead, n_handler, n_handler_enoent, n_handler_refused,
           n_forks, n_unexpected, n_errno_lost, n_errno_clobbered, n_bind_fail,
           n_handler_bad, n_fork_bad, lost_files);
    int bad = n_unexpected || n_errno_lost || n_errno_clobbered || n_bind_fail ||
              n_handler_bad || n_fork_bad || lost_files || n_handler == 0 || n_forks == 0;
    if (mux_mode && (n_enoent == 0 || n_handler_enoent == 0)) {
        fprintf(stderr, "threads: the library never repaired (no ENOENT seen)\n");
        bad = 1;
    }
    return bad ? 1 : 0;
}
