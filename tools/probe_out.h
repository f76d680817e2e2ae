/* probe_out.h: what muxfix-probe prints for the muxfix command.
 *
 * A file name may hold any byte but '/' and NUL, a newline included, so no
 * name is ever printed on a line of its own: every answer that carries a
 * name is a sequence of NUL-terminated fields (bash reads each with
 * `read -r -d ''`), and every name meant for the terminal comes escaped.
 *
 * An entry record (muxfix-probe scan, entry, trust, clean, masters) is nine
 * fields, always in this order:
 *
 *   KIND    "dir", "entry", "master"
 *   WORD    the verdict (judge.h words; for a directory: trusted,
 *           foreign-owner, writable-by-others, unsafe-path, symlink,
 *           absent, notdir,
 *           unknown)
 *   DETAIL  more on the verdict, escaped for the terminal: an errno name
 *           (unknown), the file type (notsocket), the link's target
 *           (symlink), the lock's state (locked), the directory's refusal
 *           (untrusted-dir), the master's pid (master); else ""
 *   UID     the owner's uid, or "-"
 *   OWNER   the owner's user name (escaped), or the uid, or "-"
 *   MODE    the permission bits as four octal digits, or "-"
 *   PATH    the path, raw: for acting on, never for printing
 *   SHOWN   the path escaped for the terminal (probe_put_shown)
 *   QUOTED  the path as one bash word, also safe to print
 *           (probe_put_shell_word) */
#ifndef MUXFIX_PROBE_OUT_H
#define MUXFIX_PROBE_OUT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

/* "No owner, no mode": an absent entry. */
#define PROBE_NO_UID (-1L)

struct probe_record {
    const char *kind;
    const char *word;
    const char *detail; /* NULL: "" */
    long uid;           /* PROBE_NO_UID: "-" for UID and OWNER */
    long mode;          /* < 0: "-" */
    const char *path;
};

/* Read the terminal's character set from the environment (LC_CTYPE): which
 * multibyte characters are printable. In the C locale every byte outside
 * printable ASCII is escaped. */
void probe_out_init(void);

/* S with every byte that is not a printable character escaped C-style:
 * \\ for a backslash, \n \t \r, \xNN for any other byte. Printable
 * characters of the locale stay, except the invisible format characters
 * (bidirectional overrides, zero-width spaces) that could make one name
 * look like another. */
void probe_put_shown(FILE *out, const char *s);

/* S as one bash word: 'S' when every character is printable, else $'...'
 * with the escapes of probe_put_shown (and \'). Safe to print. */
void probe_put_shell_word(FILE *out, const char *s);

/* One NUL-terminated field. */
void probe_put_field(FILE *out, const char *s);

/* One record of the nine fields above. */
void probe_put_record(FILE *out, const struct probe_record *r);

/* Flush stdout: 0, or 1 when the answer could not be written. */
int probe_out_done(void);

#endif
