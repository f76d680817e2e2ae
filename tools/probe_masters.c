/* probe_masters.c: see probe_masters.h. */
#include "probe_masters.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "judge.h"
#include "probe_out.h"

/* OpenSSH's mux master sets its title with setproctitle("%s [mux]",
 * control_path), which prefixes "ssh: ". */
#define TITLE_PREFIX "ssh: "
#define TITLE_SUFFIX " [mux]"
/* The title and a ControlPath of at most PATH_MAX bytes. */
#define CMDLINE_BUF (PATH_MAX + sizeof TITLE_PREFIX + sizeof TITLE_SUFFIX)
/* /proc/PID/status is a few KiB; the Uid: line is among its first lines. */
#define STATUS_BUF 4096
#define PROC_PATH_BUF 64
#define DECIMAL 10

/* Read at most SIZE - 1 bytes of the /proc file of PID named WHAT into BUF,
 * NUL-terminated; returns the length, or -1. */
static ssize_t read_proc(const char *pid, const char *what, char *buf,
                         size_t size)
{
    char path[PROC_PATH_BUF];
    size_t len = 0;

    (void)snprintf(path, sizeof path, "/proc/%s/%s", pid, what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (len < size - 1) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Do the real and effective uids of process PID both equal our effective
 * uid? ("Uid:\treal\teffective..."). A setuid program of another user's
 * that calls itself "ssh: P [mux]" is not our master. */
static bool runs_as_us(const char *pid)
{
    char status[STATUS_BUF];

    if (read_proc(pid, "status", status, sizeof status) < 0)
        return false;
    const char *line = strstr(status, "\nUid:");
    if (line == NULL)
        return false;
    char *end;
    unsigned long ruid = strtoul(line + sizeof "\nUid:" - 1, &end, DECIMAL);
    unsigned long euid = strtoul(end, &end, DECIMAL);
    return ruid == (unsigned long)geteuid() && euid == (unsigned long)geteuid();
}

/* The ControlPath in process PID's title, into PATH; false if it is not a
 * mux master's. */
static bool master_path(const char *pid, char *path, size_t size)
{
    char cmdline[CMDLINE_BUF];
    size_t plen = sizeof TITLE_PREFIX - 1, slen = sizeof TITLE_SUFFIX - 1;

    if (read_proc(pid, "cmdline", cmdline, sizeof cmdline) <= 0)
        return false;
    size_t len = strlen(cmdline); /* the first string: the title */
    if (len <= plen + slen || strncmp(cmdline, TITLE_PREFIX, plen) != 0 ||
        strcmp(cmdline + len - slen, TITLE_SUFFIX) != 0 ||
        len - plen - slen >= size)
        return false;
    memcpy(path, cmdline + plen, len - plen - slen);
    path[len - plen - slen] = '\0';
    return true;
}

static void put_master(FILE *out, const char *pid, const char *path)
{
    struct judge_verdict v;
    char word[PROC_PATH_BUF];

    judge_path(path, JUDGE_PROBE_ONLY, &v);
    const char *w = judge_verdict_word(v.kind);
    if (v.kind == VERDICT_UNKNOWN) {
        const char *name = strerrorname_np(v.err);
        (void)snprintf(word, sizeof word, "%s:%s", w,
                       name != NULL ? name : "EUNKNOWN");
        w = word;
    }
    const struct probe_record r = {
        .kind = "master",
        .word = w,
        .detail = pid,
        .uid = (long)geteuid(),
        .mode = -1,
        .path = path,
    };
    probe_put_record(out, &r);
}

void probe_masters(FILE *out)
{
    char path[PATH_MAX];
    DIR *proc = opendir("/proc");

    if (proc == NULL)
        return;
    const struct dirent *e;
    while ((e = readdir(proc)) != NULL) {
        const char *pid = e->d_name;
        if (pid[0] < '1' || pid[0] > '9' || strspn(pid, "0123456789") != strlen(pid))
            continue;
        if (runs_as_us(pid) && master_path(pid, path, sizeof path))
            put_master(out, pid, path);
    }
    closedir(proc);
}
