/*
 * muxfix-probe - the liveness probe and safe removal behind `muxfix doctor`
 * and `muxfix clean`, installed beside the library.
 *
 *   muxfix-probe PATH
 *       prints one word for PATH and exits 0:
 *         live           a socket of ours, and a connect() succeeded
 *         dead           a socket of ours, and connect() got ECONNREFUSED
 *         absent         nothing at PATH
 *         notsocket      something that is not a socket
 *         symlink        a symbolic link (never followed)
 *         foreign        a socket owned by another user (not probed)
 *         unknown:ENAME  a socket of ours, connect() failed with ENAME
 *                        (EAGAIN: full backlog, a master is there but busy)
 *         locked:WHY     dead, but the directory's removal lock could not
 *                        be had: "held" (for 2 s) or "foreign-lock"
 *
 *   muxfix-probe --remove-if-dead PATH
 *       removes PATH only when it is a confirmed-dead socket of ours in a
 *       directory nobody else can change, moved aside and checked again
 *       before it is unlinked. Prints "removed", or why it was kept: one of
 *       the words above, "untrusted-dir:REASON", "young-temp" or "changed".
 *       Exits 0.
 *
 *   muxfix-probe --check-removable PATH
 *       the same checks without the removal (`muxfix clean --dry-run`):
 *       prints "dead" where --remove-if-dead would print "removed".
 *
 * Exit 2 on a usage error, 1 when the answer could not be printed.
 *
 * The judgement is the library's own (shim/reap.c judge_path(), with
 * shim/ctldir.c for the directory), linked in from the same source files:
 * the probe and the library cannot drift apart. MUXFIX_PATH does not apply:
 * the probe judges whatever path it is given and sweeps nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <stdio.h>
#include <string.h>

#include "judge.h"

#define EXIT_USAGE 2
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
    if (v->left_at[0] != '\0')
        (void)fprintf(stderr, "muxfix-probe: left the entry at %s (its name was "
                      "taken meanwhile)\n", v->left_at);
    rc = detail != NULL ? printf("%s:%s\n", word, detail) : printf("%s\n", word);
    if (rc < 0 || fflush(stdout) != 0)
        return EXIT_OUTPUT;
    return 0;
}

static int judge(const char *path, enum judge_mode mode)
{
    struct judge_verdict v;
    judge_path(path, mode, &v);
    return report(&v);
}

static int usage(void)
{
    (void)fprintf(stderr, "usage: muxfix-probe [--remove-if-dead|--check-removable] PATH\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
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
