/* sshopts.c: see sshopts.h. */
#include "sshopts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "real.h"
#include "util.h"

/* /proc/self/cmdline is read into this much stack; a longer command line is
 * not analysed (nothing is known of it). */
#define CMDLINE_MAX 8192
#define ARGS_MAX 256
/* `ssh -G` reads only configuration; a Match exec in ssh_config could still
 * run something slow, so its answer is awaited this long at most. */
#define SSH_G_TIMEOUT_MS 3000
#define SSH_G_OUTPUT_MAX 16384
/* ConnectTimeout is an int of seconds in ssh (readconf.c); more than this
 * many milliseconds would not fit an int. */
#define CONNECT_TIMEOUT_MAX_S (INT_MAX / 1000)

enum { UNREAD, READING, READY, FAILED };
/* The two sources, each with its state. */
enum source { CMDLINE, EFFECTIVE, NSOURCES };

/* Shared state (state.h): claimed by the first caller, published once. */
static struct sshopts_cmdline cmdline;
static struct sshopts_effective effective;
static int state[NSOURCES]; /* UNREAD (0) at first */

/* ssh's getopt string (ssh.c): letters followed by ':' take an argument. */
static const char ssh_optstring[] =
    "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy";

bool sshopts_is_ssh(void)
{
    /* glibc's basename of argv[0], set before any constructor runs. */
    return strcmp(program_invocation_short_name, "ssh") == 0;
}

/* Claim SRC for reading (true), or say in *NOW what its state is. */
static bool claim(enum source src, int *now)
{
    int expected = UNREAD;
    *now = __atomic_load_n(&state[src], __ATOMIC_ACQUIRE);
    if (*now != UNREAD)
        return false;
    if (__atomic_compare_exchange_n(&state[src], &expected, READING, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return true;
    *now = expected;
    return false;
}

static void publish(enum source src, bool ok)
{
    __atomic_store_n(&state[src], ok ? READY : FAILED, __ATOMIC_RELEASE);
}

static int read_cmdline(char *buf, size_t size, char **argv)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len < size && (n = real_read(fd, buf + len, size - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (len == 0 || len >= size)
        return -1;
    int argc = 0;
    for (size_t i = 0; i < len && argc < ARGS_MAX - 1; i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    argv[argc] = NULL;
    return argc;
}

/* The value of "-o KEY=V" (or "KEY V"), if OPT sets KEY. */
static const char *option_value(const char *opt, const char *key)
{
    size_t klen = strlen(key);
    if (strncasecmp(opt, key, klen) != 0)
        return NULL;
    opt += klen;
    if (*opt != '=' && *opt != ' ' && *opt != '\t')
        return NULL;
    while (*opt == '=' || *opt == ' ' || *opt == '\t')
        opt++;
    return opt;
}

/* Plain decimal seconds; anything else (ssh's "1m30s") is not parsed here. */
static bool parse_seconds(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < 0 ||
        v > CONNECT_TIMEOUT_MAX_S)
        return false;
    *out = (int)v;
    return true;
}

static void note_option(struct sshopts_cmdline *c, const char *val)
{
    const char *v;
    if (c->controlmaster[0] == '\0' &&
        (v = option_value(val, "controlmaster")) != NULL &&
        strlen(v) < sizeof c->controlmaster)
        strcpy(c->controlmaster, v);
    if (!c->connect_timeout_given &&
        (v = option_value(val, "connecttimeout")) != NULL) {
        int s;
        c->connect_timeout_given = true;
        /* ssh takes 0 as no timeout, as it does "none". */
        if (parse_seconds(v, &s))
            c->connect_timeout_s = s > 0 ? s : SSHOPTS_NO_TIMEOUT;
        else
            c->connect_timeout_given = false; /* ask ssh -G */
    }
}

/* One option cluster ARG (after '-'); NEXT is the following argument.
 * Returns whether the cluster's last option consumed NEXT. */
static bool note_cluster(struct sshopts_cmdline *c, const char *arg,
                         const char *next)
{
    for (const char *p = arg; *p != '\0'; p++) {
        if (*p == 'O')
            c->control_command = true;
        if (*p == 'M')
            c->master_only = true;
        const char *o = strchr(ssh_optstring, *p);
        if (o == NULL || o[1] != ':')
            continue;
        const char *val = p[1] != '\0' ? p + 1 : next;
        if (*p == 'o' && val != NULL)
            note_option(c, val);
        return p[1] == '\0';
    }
    return false;
}

/* ssh parses options before and right after the destination. */
static void parse_cmdline(struct sshopts_cmdline *c, int argc, char **argv)
{
    bool seen_host = false;
    c->connect_timeout_s = SSHOPTS_NO_TIMEOUT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] != '-' || a[1] == '\0') {
            if (seen_host)
                break;
            seen_host = true;
            continue;
        }
        if (note_cluster(c, a + 1, argv[i + 1]))
            i++;
    }
}

const struct sshopts_cmdline *sshopts_cmdline(void)
{
    int now;
    if (!sshopts_is_ssh())
        return NULL;
    if (!claim(CMDLINE, &now))
        return now == READY ? &cmdline : NULL;

    int saved = errno;
    char buf[CMDLINE_MAX];
    char *argv[ARGS_MAX];
    int argc = read_cmdline(buf, sizeof buf, argv);
    if (argc >= 1)
        parse_cmdline(&cmdline, argc, argv);
    publish(CMDLINE, argc >= 1);
    errno = saved;
    return argc >= 1 ? &cmdline : NULL;
}

/* Read the child's output into BUF until EOF or the deadline. */
static size_t read_bounded(int fd, char *buf, size_t size)
{
    long deadline = util_now_ms() + SSH_G_TIMEOUT_MS;
    size_t len = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    while (len < size - 1) {
        long left = deadline - util_now_ms();
        if (left <= 0)
            break;
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue; /* a handler of ssh's ran: the deadline still holds */
        if (rc <= 0)
            break;
        ssize_t n = real_read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* Run `ssh -G ARGS` (the same binary, the same arguments) into OUT. */
static bool run_ssh_g(int argc, char **argv, char *out, size_t size)
{
    char *gargv[ARGS_MAX + 1];
    int pipefd[2];
    posix_spawn_file_actions_t fa;
    pid_t pid;

    if (argc + 1 > ARGS_MAX || pipe2(pipefd, O_CLOEXEC) != 0)
        return false;
    gargv[0] = argv[0];
    gargv[1] = "-G";
    memcpy(gargv + 2, argv + 1, sizeof(char *) * (size_t)argc);

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, gargv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return false;
    }
    read_bounded(pipefd[0], out, size);
    close(pipefd[0]);
    kill(pid, SIGKILL); /* done or too slow: either way, no lingering child */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return true;
}

/* The value of ssh -G's line "KEY VALUE" into VALUE; false when absent or
 * too long. */
static bool g_value(const char *out, const char *key, char *value, size_t size)
{
    size_t klen = strlen(key);
    for (const char *line = out; *line != '\0';) {
        size_t n = strcspn(line, "\n");
        if (n > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            n -= klen + 1;
            if (n >= size)
                return false;
            memcpy(value, line + klen + 1, n);
            value[n] = '\0';
            return true;
        }
        line += n + (line[n] == '\n');
    }
    return false;
}

static void parse_effective(struct sshopts_effective *e, const char *out)
{
    char timeout[SSHOPTS_VALUE_MAX];
    int s;

    if (!g_value(out, "controlmaster", e->controlmaster, sizeof e->controlmaster))
        e->controlmaster[0] = '\0';
    if (!g_value(out, "controlpath", e->controlpath, sizeof e->controlpath) ||
        strcmp(e->controlpath, "none") == 0)
        e->controlpath[0] = '\0';
    e->connect_timeout_s = SSHOPTS_NO_TIMEOUT;
    if (g_value(out, "connecttimeout", timeout, sizeof timeout) &&
        parse_seconds(timeout, &s) && s > 0)
        e->connect_timeout_s = s;
}

const struct sshopts_effective *sshopts_effective(void)
{
    int now;
    if (!sshopts_is_ssh())
        return NULL;
    if (!claim(EFFECTIVE, &now))
        return now == READY ? &effective : NULL;

    int saved = errno;
    char buf[CMDLINE_MAX], out[SSH_G_OUTPUT_MAX];
    char *argv[ARGS_MAX];
    int argc = read_cmdline(buf, sizeof buf, argv);
    long started = util_now_ms();
    bool ok = argc >= 1 && run_ssh_g(argc, argv, out, sizeof out) &&
              strstr(out, "\ncontrolmaster ") != NULL;
    if (ok) {
        parse_effective(&effective, out);
        log_msg(MUXFIX_LOG_DECISION,
                "ssh -G (%ld ms) says controlmaster %s, controlpath %s, "
                "connecttimeout %d", util_now_ms() - started,
                effective.controlmaster,
                effective.controlpath[0] != '\0' ? effective.controlpath : "none",
                effective.connect_timeout_s);
    }
    publish(EFFECTIVE, ok);
    errno = saved;
    return ok ? &effective : NULL;
}

int sshopts_connect_timeout_ms(void)
{
    const struct sshopts_cmdline *c = sshopts_cmdline();
    if (c == NULL)
        return SSHOPTS_NO_TIMEOUT;
    int s = c->connect_timeout_s;
    if (!c->connect_timeout_given) {
        const struct sshopts_effective *e = sshopts_effective();
        s = e != NULL ? e->connect_timeout_s : SSHOPTS_NO_TIMEOUT;
    }
    return s > 0 ? s * (int)UTIL_MS_PER_S : SSHOPTS_NO_TIMEOUT;
}

bool sshopts_is_control_command(void)
{
    const struct sshopts_cmdline *c = sshopts_cmdline();
    return c != NULL && c->control_command;
}
