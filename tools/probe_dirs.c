/* probe_dirs.c: see probe_dirs.h. */
#include "probe_dirs.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctldir.h"
#include "pattern.h"

/* Names examined over the whole walk, and directories found: a pattern
 * with several '*' segments near the root could otherwise list the whole
 * filesystem. A real configuration finds a handful. */
#define DIRS_MAX_EXAMINED 200000
#define DIRS_MAX_FOUND 4096

struct walk {
    char path[PATH_MAX]; /* the directory reached so far */
    long examined;
    bool stopped;
    char **found;
    size_t nfound;
};

/* Append SEG to the path of length LEN; false when it does not fit. */
static bool append(struct walk *w, size_t len, const char *seg, size_t *newlen)
{
    bool at_root = len == 1 && w->path[0] == '/';
    int n = snprintf(w->path + len, sizeof w->path - len, "%s%s",
                     at_root ? "" : "/", seg);
    if (n < 0 || (size_t)n >= sizeof w->path - len) {
        w->path[len] = '\0';
        return false;
    }
    *newlen = len + (size_t)n;
    return true;
}

static bool already_found(const struct walk *w, const char *path)
{
    for (size_t i = 0; i < w->nfound; i++)
        if (strcmp(w->found[i], path) == 0)
            return true;
    return false;
}

/* The walk reached the end of a pattern's directory part: keep the path if
 * it is a directory or a symbolic link to one. */
static void found(struct walk *w)
{
    struct stat st;

    if (lstat(w->path, &st) != 0)
        return;
    if (S_ISLNK(st.st_mode) && (stat(w->path, &st) != 0 || !S_ISDIR(st.st_mode)))
        return;
    if (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode))
        return;
    if (already_found(w, w->path))
        return;
    if (w->nfound == DIRS_MAX_FOUND) {
        w->stopped = true;
        return;
    }
    char *copy = strdup(w->path);
    if (copy == NULL) {
        w->stopped = true;
        return;
    }
    w->found[w->nfound++] = copy;
}

static bool is_literal(const char *seg)
{
    return seg[pattern_literal_prefix(seg)] == '\0';
}

/* A directory being listed for a wildcard segment. */
struct frame {
    DIR *d;
    size_t seg; /* the segment its names are matched against */
    size_t len; /* the path's length at that directory */
};

/* Append SEGS[I], SEGS[I+1] ... to the path (of length *LEN) while they are
 * literal. Returns the first wildcard segment's index, N when the path is
 * complete, N + 1 when it did not fit. */
static size_t take_literals(struct walk *w, size_t *len, char **segs,
                            size_t i, size_t n)
{
    for (; i < n && is_literal(segs[i]); i++)
        if (!append(w, *len, segs[i], len))
            return n + 1;
    return i;
}

/* Go on from the path of length LEN at segment I: keep it if complete,
 * else push a frame listing it for the next wildcard segment. */
static void descend(struct walk *w, struct frame *stack, size_t *depth,
                    char **segs, size_t i, size_t n, size_t len)
{
    i = take_literals(w, &len, segs, i, n);
    if (i == n) {
        found(w);
        return;
    }
    if (i > n)
        return;
    DIR *d = opendir(w->path);
    if (d == NULL)
        return;
    stack[*depth].d = d;
    stack[*depth].seg = i;
    stack[*depth].len = len;
    (*depth)++;
}

/* Walk the N segments SEGS from "/", depth first, without recursion: one
 * frame per wildcard segment at most. */
static void walk_segments(struct walk *w, char **segs, size_t n)
{
    struct frame *stack = calloc(n + 1, sizeof *stack);
    size_t depth = 0, len;

    if (stack == NULL)
        return;
    strcpy(w->path, "/");
    descend(w, stack, &depth, segs, 0, n, 1);
    while (depth > 0) {
        const struct frame *f = &stack[depth - 1];
        w->path[f->len] = '\0';
        const struct dirent *e = w->stopped ? NULL : readdir(f->d);
        if (e == NULL) {
            closedir(f->d);
            depth--;
            continue;
        }
        if (++w->examined > DIRS_MAX_EXAMINED) {
            w->stopped = true;
            continue;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            !pattern_match(segs[f->seg], e->d_name) ||
            !append(w, f->len, e->d_name, &len))
            continue;
        descend(w, stack, &depth, segs, f->seg + 1, n, len);
    }
    free((void *)stack);
}

/* Walk the directory part of the absolute PATTERN. */
static void walk_pattern(struct walk *w, const char *pattern)
{
    char dir[PATH_MAX];

    if (pattern[0] != '/' || ctl_dir_split(pattern, dir, sizeof dir) == NULL)
        return;
    /* The segments after the leading '/', each NUL-terminated in place. */
    size_t nseg = 0, cap = 1;
    for (const char *p = dir + 1; *p != '\0'; p++)
        cap += *p == '/';
    char **segs = calloc(cap, sizeof *segs);
    if (segs == NULL)
        return;
    if (dir[1] != '\0') {
        char *p = dir + 1;
        segs[nseg++] = p;
        while ((p = strchr(p, '/')) != NULL) {
            *p++ = '\0';
            segs[nseg++] = p;
        }
    }
    walk_segments(w, segs, nseg);
    free((void *)segs);
}

bool probe_managed_dirs(const struct muxfix_config *cfg, probe_dir_fn fn,
                        void *arg)
{
    struct walk *w = calloc(1, sizeof *w);
    bool complete = false;

    if (w == NULL)
        return false;
    w->found = calloc(DIRS_MAX_FOUND, sizeof *w->found);
    if (w->found != NULL) {
        for (size_t i = 0; i < cfg->npatterns && !w->stopped; i++)
            walk_pattern(w, cfg->patterns[i]);
        complete = !w->stopped;
        if (!complete)
            (void)fprintf(stderr, "muxfix-probe: stopped looking for managed "
                          "directories after %ld names (%zu found): a "
                          "MUXFIX_PATH pattern matches too much\n",
                          w->examined, w->nfound);
        for (size_t i = 0; i < w->nfound; i++) {
            fn(w->found[i], arg);
            free(w->found[i]);
        }
        free((void *)w->found);
    }
    free(w);
    return complete;
}
