/*
 * muxfix-probe - the muxfix command's questions, answered by the library's
 * own code (linked from shim/: judge.c, ctldir.c, config.c, pattern.c,
 * classify.c), so that the command and the library cannot disagree.
 * Installed beside the library; the muxfix command (bash) keeps only the
 * user interface.
 *
 * One word for a path (exit 0):
 *
 *   muxfix-probe PATH  |  muxfix-probe -- PATH
 *       live           a socket of ours, and a connect() succeeded
 *       dead           a socket of ours, and connect() got ECONNREFUSED
 *       absent         nothing at PATH
 *       notsocket      something that is not a socket
 *       symlink        a symbolic link (never followed)
 *       foreign        a socket owned by another user (not probed)
 *       unknown:ENAME  a socket of ours, connect() failed with ENAME
 *                      (EAGAIN: full backlog, a master is there but busy)
 *       locked:WHY     dead, but the directory's removal lock could not
 *                      be had: "held" (for 2 s) or "foreign-lock"
 *
 *   muxfix-probe --remove-if-dead PATH
 *       removes PATH only when it is a confirmed-dead socket of ours in a
 *       directory nobody else can change, moved aside and checked again
 *       before it is unlinked. Prints "removed", or why it was kept: one of
 *       the words above, "untrusted-dir:REASON", "young-temp" or "changed".
 *
 *   muxfix-probe --check-removable PATH
 *       the same checks without the removal: "dead" where --remove-if-dead
 *       would print "removed".
 *
 * The configuration (MUXFIX_PATH read by config.c, as the library reads it):
 *
 *   muxfix-probe defaults       the built-in MUXFIX_PATH, as written
 *   muxfix-probe patterns       the effective patterns, '~' expanded
 *   muxfix-probe quote PATH     a pattern that matches the literal PATH
 *   muxfix-probe managed PATH   "yes" or "no": does the library manage it?
 *   muxfix-probe dirs           the existing directories the patterns can
 *                               put sockets in (probe_dirs.h)
 *
 * Directories and entries (probe_scan.h), as records of probe_out.h:
 *
 *   muxfix-probe trust DIR              DIR's record: the library's trust
 *   muxfix-probe scan [--managed] DIR   DIR's record, then one per socket,
 *                                       symbolic link or managed entry
 *                                       (--managed: managed entries only)
 *   muxfix-probe entry PATH             PATH's record (judged as PATH)
 *   muxfix-probe clean [--dry-run] [--] [DIR...]
 *       removes the dead sockets of ours in each DIR (every entry but a
 *       subdirectory is reported), or in the managed directories (entries
 *       whose path is managed): a "dir" record per directory, an "entry"
 *       record per entry, WORD "removed" (or "dead" with --dry-run) or why
 *       it stays
 *   muxfix-probe masters                the caller's running mux masters
 *   muxfix-probe waiting PID            how many milliseconds the TCP
 *                                       connection of the caller's process
 *                                       PID has waited for an answer (0: it
 *                                       does not; -1: none, or not ours)
 *
 * Every answer that carries a file name is made of NUL-terminated fields;
 * "yes"/"no" and the one-word answers carry none and end in a newline. A
 * PATH that is also a subcommand's name is given as ./NAME or after --.
 * Exit 2 on a usage error, 1 when the answer could not be written.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "config.h"
#include "judge.h"
#include "pattern.h"
#include "peer.h"
#include "probe_dirs.h"
#include "probe_masters.h"
#include "probe_out.h"
#include "probe_scan.h"

#define EXIT_USAGE 2
#define DECIMAL_BASE 10
/* muxfix-probe waiting: the second look, 200 ms after the first. */
#define WAITING_AGAIN_NS 200000000L
#define EXIT_OUTPUT 1

static const char *errno_word(int err)
{
    const char *name = strerrorname_np(err);
    return name != NULL ? name : "EUNKNOWN";
}

static int report(const struct judge_verdict *v)
{
    const char *word = judge_verdict_word(v->kind);
    const char *detail = NULL;
    int rc;

    if (v->kind == VERDICT_UNKNOWN)
        detail = errno_word(v->err);
    else if (v->kind == VERDICT_UNTRUSTED_DIR)
        detail = v->detail != NULL ? v->detail : errno_word(v->err);
    else if (v->kind == VERDICT_LOCKED)
        detail = v->detail;
    if (v->left_at[0] != '\0') {
        (void)fputs("muxfix-probe: left the entry at ", stderr);
        probe_put_shown(stderr, v->left_at);
        (void)fputs(" (its name was taken meanwhile)\n", stderr);
    }
    rc = detail != NULL ? printf("%s:%s\n", word, detail) : printf("%s\n", word);
    return rc < 0 ? EXIT_OUTPUT : probe_out_done();
}

static int judge(const char *path, enum judge_mode mode)
{
    struct judge_verdict v;
    judge_path(path, mode, &v);
    return report(&v);
}

static int usage(void)
{
    (void)fprintf(stderr,
                  "usage: muxfix-probe [--remove-if-dead|--check-removable] PATH\n"
                  "       muxfix-probe defaults | patterns | dirs | masters\n"
                  "       muxfix-probe quote PATH | managed PATH | entry PATH\n"
                  "       muxfix-probe waiting PID\n"
                  "       muxfix-probe trust DIR | scan [--managed] DIR\n"
                  "       muxfix-probe clean [--dry-run] [--] [DIR...]\n");
    return EXIT_USAGE;
}

/* The configuration as the library reads it, or NULL after a line why. */
static const struct muxfix_config *config(void)
{
    const struct muxfix_config *cfg = config_get_resolved();
    if (cfg == NULL) {
        (void)fputs("muxfix-probe: the configuration could not be read\n", stderr);
        return NULL;
    }
    if (cfg->disabled)
        (void)fputs("muxfix-probe: MUXFIX_DISABLE is set: the library "
                    "manages no path\n", stderr);
    return cfg;
}

static int cmd_patterns(void)
{
    const struct muxfix_config *cfg = config();
    if (cfg == NULL)
        return EXIT_OUTPUT;
    for (size_t i = 0; i < cfg->npatterns; i++)
        probe_put_field(stdout, cfg->patterns[i]);
    return probe_out_done();
}

static int cmd_managed(const char *path)
{
    const struct muxfix_config *cfg = config();
    if (cfg == NULL)
        return EXIT_OUTPUT;
    (void)puts(classify_path_is_managed(cfg, path) ? "yes" : "no");
    return probe_out_done();
}

/* What the byte at P of a literal path becomes in a MUXFIX_PATH pattern
 * (FIRST: it starts the path), or NULL when it stands for itself. */
static const char *quoted_char(const char *p, bool first)
{
    switch (*p) {
    case '%':
        return "%%";
    case '[':
        return "[[]";
    case '*':
        return "[*]";
    case '?':
        return "[?]";
    case ':': /* separates patterns: any one character but '/' instead */
        return "?";
    case '~': /* a leading '~' would be a home directory */
        return first ? "[~]" : NULL;
    default:
        return NULL;
    }
}

/* A literal path as a MUXFIX_PATH pattern that matches it (and, where it
 * holds a ':', the same path with any other character there). */
static int cmd_quote(const char *path)
{
    char pattern[PATH_MAX * 3 + 1];
    size_t n = 0;

    for (const char *p = path; *p != '\0'; p++) {
        const char *put = quoted_char(p, p == path);
        size_t len = put != NULL ? strlen(put) : 1;
        if (n + len >= sizeof pattern) {
            (void)fputs("muxfix-probe: quote: path too long\n", stderr);
            return EXIT_USAGE;
        }
        memcpy(pattern + n, put != NULL ? put : p, len);
        n += len;
    }
    pattern[n] = '\0';
    /* The library's matcher must agree, or the pattern is of no use. */
    if (!pattern_match(pattern, path)) {
        (void)fputs("muxfix-probe: quote: no pattern matches this path\n", stderr);
        return EXIT_OUTPUT;
    }
    probe_put_field(stdout, pattern);
    return probe_out_done();
}

static void put_dir(const char *dir, void *arg)
{
    (void)arg;
    probe_put_field(stdout, dir);
}

static int cmd_dirs(void)
{
    const struct muxfix_config *cfg = config();
    if (cfg == NULL)
        return EXIT_OUTPUT;
    (void)probe_managed_dirs(cfg, put_dir, NULL);
    return probe_out_done();
}

static int cmd_scan(int argc, char **argv, bool entries)
{
    struct scan_how how = {.filter = SCAN_SOCKETS, .mode = JUDGE_PROBE_ONLY,
                           .entries = entries};
    int i = 0;

    if (entries && argc == 2 && strcmp(argv[0], "--managed") == 0) {
        how.filter = SCAN_MANAGED;
        i = 1;
    }
    if (argc - i != 1)
        return usage();
    how.cfg = config_get_resolved();
    if (how.cfg == NULL)
        return EXIT_OUTPUT;
    probe_scan_dir(stdout, argv[i], &how);
    return probe_out_done();
}

static void clean_dir(const char *dir, void *arg)
{
    probe_scan_dir(stdout, dir, arg);
}

static int cmd_clean(int argc, char **argv)
{
    struct scan_how how = {.filter = SCAN_ALL_BUT_DIRS,
                           .mode = JUDGE_REMOVE_IF_DEAD, .entries = true};
    int i = 0;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--dry-run") != 0)
            return usage();
        how.mode = JUDGE_CHECK_ONLY;
    }
    how.cfg = i < argc ? config_get_resolved() : config();
    if (how.cfg == NULL)
        return EXIT_OUTPUT;
    if (i == argc) {
        how.filter = SCAN_MANAGED;
        (void)probe_managed_dirs(how.cfg, clean_dir, &how);
    }
    for (; i < argc; i++)
        probe_scan_dir(stdout, argv[i], &how);
    return probe_out_done();
}

/* muxfix-probe waiting PID: peer_tcp_waiting_ms(PID), or a usage error
 * for a PID that is not a decimal number. */
static int cmd_waiting(const char *arg)
{
    char *end;
    errno = 0;
    long pid = strtol(arg, &end, DECIMAL_BASE);
    if (errno != 0 || end == arg || *end != '\0' || pid <= 0 || pid > INT_MAX) {
        (void)fprintf(stderr, "muxfix-probe: waiting: not a process id: %s\n", arg);
        return EXIT_USAGE;
    }
    long waited = peer_tcp_waiting_ms((pid_t)pid);
    if (waited > 0) {
        /* An idle connection that just sent looks as old as its last
         * acknowledgement until the answer comes: asked again after a
         * while, it no longer waits. */
        const struct timespec again = {.tv_sec = 0, .tv_nsec = WAITING_AGAIN_NS};
        (void)nanosleep(&again, NULL);
        long now = peer_tcp_waiting_ms((pid_t)pid);
        waited = now > 0 ? now : 0;
    }
    (void)printf("%ld\n", waited);
    return probe_out_done();
}

/* The subcommands; a first argument that is none of them is a PATH. */
static int subcommand(int argc, char **argv, bool *done)
{
    const char *cmd = argv[0];
    *done = true;
    if (strcmp(cmd, "defaults") == 0 && argc == 1) {
        probe_put_field(stdout, MUXFIX_DEFAULT_PATH);
        return probe_out_done();
    }
    if (strcmp(cmd, "patterns") == 0 && argc == 1)
        return cmd_patterns();
    if (strcmp(cmd, "dirs") == 0 && argc == 1)
        return cmd_dirs();
    if (strcmp(cmd, "masters") == 0 && argc == 1) {
        probe_masters(stdout);
        return probe_out_done();
    }
    if (strcmp(cmd, "waiting") == 0 && argc == 2)
        return cmd_waiting(argv[1]);
    if (strcmp(cmd, "quote") == 0 && argc == 2)
        return cmd_quote(argv[1]);
    if (strcmp(cmd, "managed") == 0 && argc == 2)
        return cmd_managed(argv[1]);
    if (strcmp(cmd, "entry") == 0 && argc == 2) {
        probe_scan_entry(stdout, argv[1]);
        return probe_out_done();
    }
    if (strcmp(cmd, "trust") == 0)
        return cmd_scan(argc - 1, argv + 1, false);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1, true);
    if (strcmp(cmd, "clean") == 0)
        return cmd_clean(argc - 1, argv + 1);
    static const char *const names[] = {"defaults", "patterns", "dirs",
                                        "masters", "quote", "managed",
                                        "entry", "waiting", NULL};
    for (const char *const *n = names; *n != NULL; n++)
        if (strcmp(cmd, *n) == 0)
            return usage();
    *done = false;
    return 0;
}

int main(int argc, char **argv)
{
    bool done;

    probe_out_init();
    if (argc < 2)
        return usage();
    int rc = subcommand(argc - 1, argv + 1, &done);
    if (done)
        return rc;
    if (argc == 2 && argv[1][0] != '-')
        return judge(argv[1], JUDGE_PROBE_ONLY);
    if (argc == 3 && strcmp(argv[1], "--remove-if-dead") == 0)
        return judge(argv[2], JUDGE_REMOVE_IF_DEAD);
    if (argc == 3 && strcmp(argv[1], "--check-removable") == 0)
        return judge(argv[2], JUDGE_CHECK_ONLY);
    if (argc == 3 && strcmp(argv[1], "--") == 0)
        return judge(argv[2], JUDGE_PROBE_ONLY);
    return usage();
}
