/* probe_scan.h: a socket directory and its entries, judged by the
 * library's own code (judge.h, ctldir.h), printed as probe_out.h records:
 * `muxfix-probe trust`, `scan`, `entry` and `clean`.
 *
 * The directory is opened once (ctl_dir_open_trusted: O_NOFOLLOW, the
 * library's trust rule), its entries are read from that descriptor, and
 * each one is judged, and removed, through it with judge_entry(): no name
 * is resolved again from a path, so an entry whose name holds a newline,
 * or one swapped for a symbolic link meanwhile, is only ever that entry.
 * muxfix's own lock files in the directory are not reported. */
#ifndef MUXFIX_PROBE_SCAN_H
#define MUXFIX_PROBE_SCAN_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "judge.h"

enum scan_filter {
    SCAN_MANAGED,      /* entries whose whole path is managed (MUXFIX_PATH) */
    SCAN_SOCKETS,      /* sockets, symbolic links, and managed entries */
    SCAN_ALL_BUT_DIRS, /* every entry but a directory that is not managed */
};

struct scan_how {
    const struct muxfix_config *cfg;
    enum scan_filter filter;
    enum judge_mode mode; /* JUDGE_PROBE_ONLY: report; JUDGE_CHECK_ONLY,
                             JUDGE_REMOVE_IF_DEAD: clean */
    bool entries;         /* false: the directory's record only */
};

/* Print the record of directory DIR (KIND "dir"), then, when HOW->entries,
 * one record (KIND "entry") per entry HOW->filter chooses. The entries are
 * listed only in a directory the library trusts, or in one of ours that
 * others can write to (judged without removal: their WORD is
 * "untrusted-dir" with the directory's refusal as DETAIL when HOW->mode
 * would have removed). */
void probe_scan_dir(FILE *out, const char *dir, const struct scan_how *how);

/* Print the record of PATH (KIND "entry"), judged as `muxfix-probe PATH`
 * judges it (JUDGE_PROBE_ONLY); WORD "absent" when it or its directory is
 * not there. */
void probe_scan_entry(FILE *out, const char *path);

#endif
