/* intent.c: see intent.h. */
#include "intent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "real.h"

/* /proc/self/cmdline is read into this much stack; a longer command line is
 * not analysed (the process is then taken not to become a master). */
#define CMDLINE_MAX 8192
#define ARGS_MAX 256
/* `ssh -G` reads only configuration; a Match exec in ssh_config could still
 * run something slow, so its answer is awaited this long at most. */
#define SSH_G_TIMEOUT_MS 3000
#define SSH_G_OUTPUT_MAX 16384
/* Holds any ControlMaster value ssh -G prints ("autoask" is the longest). */
#define CONTROLMASTER_VALUE_MAX 32

enum { INTENT_UNKNOWN, INTENT_MASTER, INTENT_NOT_MASTER };
static int intent_cache = INTENT_UNKNOWN;

/* ssh's getopt string (ssh.c): letters followed by ':' take an argument. */
static const char ssh_optstring[] =
    "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy";

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

static bool is_ssh(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    return strcmp(slash != NULL ? slash + 1 : argv0, "ssh") == 0;
}

/* What the command line alone says. */
enum cmdline_says { SAYS_NOTHING, SAYS_MASTER, SAYS_NOT_MASTER };

/* The value of "-o ControlMaster=V" (or "ControlMaster V"), if OPT is one. */
static const char *controlmaster_value(const char *opt)
{
    static const char key[] = "controlmaster";
    size_t klen = sizeof key - 1;
    if (strncasecmp(opt, key, klen) != 0)
        return NULL;
    opt += klen;
    if (*opt != '=' && *opt != ' ' && *opt != '\t')
        return NULL;
    while (*opt == '=' || *opt == ' ' || *opt == '\t')
        opt++;
    return opt;
}

/* Judge one option cluster ARG (after '-'); NEXT is the following argument.
 * Sets *used_next when the cluster's last option consumed NEXT. */
static enum cmdline_says judge_cluster(const char *arg, const char *next,
                                       bool *used_next, bool *decided)
{
    *used_next = false;
    for (const char *c = arg; *c != '\0'; c++) {
        const char *o = strchr(ssh_optstring, *c);
        if (*c == 'O') { /* -O check|exit|stop...: a control command */
            *decided = true;
            return SAYS_NOT_MASTER;
        }
        if (*c == 'M') { /* -M: a master that never connects as a client */
            *decided = true;
            return SAYS_NOT_MASTER;
        }
        if (o == NULL || o[1] != ':')
            continue;
        const char *val = c[1] != '\0' ? c + 1 : next;
        *used_next = c[1] == '\0';
        const char *cm = *c == 'o' && val != NULL ? controlmaster_value(val) : NULL;
        if (cm != NULL) {
            /* ssh keeps the first value it is given for an option. */
            *decided = true;
            return strcasecmp(cm, "auto") == 0 || strcasecmp(cm, "autoask") == 0
                       ? SAYS_MASTER
                       : SAYS_NOT_MASTER;
        }
        return SAYS_NOTHING;
    }
    return SAYS_NOTHING;
}

/* ssh parses options before and right after the destination; the first
 * ControlMaster given with -o wins over the configuration files. */
static enum cmdline_says judge_cmdline(int argc, char **argv)
{
    bool seen_host = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool used_next, decided = false;
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] != '-' || a[1] == '\0') {
            if (seen_host)
                break;
            seen_host = true;
            continue;
        }
        enum cmdline_says says = judge_cluster(a + 1, argv[i + 1], &used_next, &decided);
        if (decided)
            return says;
        if (used_next)
            i++;
    }
    return SAYS_NOTHING;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Read the child's output into BUF until EOF or the deadline. */
static size_t read_bounded(int fd, char *buf, size_t size)
{
    long deadline = now_ms() + SSH_G_TIMEOUT_MS;
    size_t len = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    while (len < size - 1) {
        long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
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

/* Run `ssh -G ARGS` (the same binary, the same arguments) and return the
 * value of its "controlmaster" line into VALUE. */
static bool effective_controlmaster(int argc, char **argv, char *value,
                                    size_t size)
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
    char out[SSH_G_OUTPUT_MAX];
    read_bounded(pipefd[0], out, sizeof out);
    close(pipefd[0]);
    kill(pid, SIGKILL); /* done or too slow: either way, no lingering child */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    const char *line = strstr(out, "\ncontrolmaster ");
    if (line == NULL)
        return false;
    line += strlen("\ncontrolmaster ");
    size_t n = strcspn(line, "\n");
    if (n >= size)
        return false;
    memcpy(value, line, n);
    value[n] = '\0';
    return true;
}

static int compute_intent(void)
{
    char buf[CMDLINE_MAX], value[CONTROLMASTER_VALUE_MAX];
    char *argv[ARGS_MAX];
    int argc = read_cmdline(buf, sizeof buf, argv);

    if (argc < 1 || !is_ssh(argv[0]))
        return INTENT_NOT_MASTER;
    switch (judge_cmdline(argc, argv)) {
    case SAYS_MASTER:
        return INTENT_MASTER;
    case SAYS_NOT_MASTER:
        return INTENT_NOT_MASTER;
    case SAYS_NOTHING:
        break;
    }
    if (!effective_controlmaster(argc, argv, value, sizeof value))
        return INTENT_NOT_MASTER;
    log_msg(MUXFIX_LOG_DECISION, "ssh -G says controlmaster %s", value);
    return strcmp(value, "auto") == 0 || strcmp(value, "autoask") == 0
               ? INTENT_MASTER
               : INTENT_NOT_MASTER;
}

bool intent_will_become_master(void)
{
    int v = __atomic_load_n(&intent_cache, __ATOMIC_ACQUIRE);
    if (v == INTENT_UNKNOWN) {
        int saved = errno;
        v = compute_intent();
        __atomic_store_n(&intent_cache, v, __ATOMIC_RELEASE);
        errno = saved;
    }
    return v == INTENT_MASTER;
}
