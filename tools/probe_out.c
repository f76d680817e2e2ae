/* probe_out.c: see probe_out.h. */
#include "probe_out.h"

#include <locale.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

/* getpwuid_r's scratch space; NSS entries are far smaller. */
#define PASSWD_BUF_SIZE 4096
/* The printable ASCII range: space to tilde. */
#define ASCII_FIRST_PRINTABLE 0x20
#define ASCII_LAST_PRINTABLE 0x7e
#define ASCII_LAST 0x7f

/* Format characters the locale calls printable but that print as nothing
 * or reorder what follows: a name made of them can pass for another one. */
static const struct {
    wint_t first, last;
} invisible[] = {
    {0x00ad, 0x00ad}, /* soft hyphen */
    {0x061c, 0x061c}, /* arabic letter mark */
    {0x180e, 0x180e}, /* mongolian vowel separator */
    {0x200b, 0x200f}, /* zero-width space ... right-to-left mark */
    {0x2028, 0x202e}, /* line, paragraph separators; bidi embeddings */
    {0x2060, 0x206f}, /* word joiner ... bidi isolates */
    {0xfeff, 0xfeff}, /* zero-width no-break space */
    {0xfff9, 0xfffb}, /* interlinear annotation */
};

/* Write errors are not checked call by call: probe_out_done() looks at the
 * stream's error flag once, at the end. */
static void put_str(const char *s, FILE *out)
{
    (void)fputs(s, out);
}

static void put_byte(char c, FILE *out)
{
    (void)fputc(c, out);
}

void probe_out_init(void)
{
    (void)setlocale(LC_CTYPE, "");
}

static bool is_invisible(wint_t wc)
{
    for (size_t i = 0; i < sizeof invisible / sizeof invisible[0]; i++)
        if (wc >= invisible[i].first && wc <= invisible[i].last)
            return true;
    return false;
}

/* Length in bytes of the printable character at S (LEFT bytes remain), or 0
 * when it is not one: a control byte, an invalid or incomplete sequence, a
 * character the locale cannot print, an invisible one. */
static size_t printable_len(const char *s, size_t left)
{
    unsigned char c = (unsigned char)*s;
    if (c >= ASCII_FIRST_PRINTABLE && c <= ASCII_LAST_PRINTABLE)
        return 1;
    if (c <= ASCII_LAST || MB_CUR_MAX == 1)
        return 0;
    mbstate_t st;
    wchar_t wc;
    memset(&st, 0, sizeof st);
    size_t n = mbrtowc(&wc, s, left, &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
        return 0;
    return iswprint((wint_t)wc) && !is_invisible((wint_t)wc) ? n : 0;
}

/* The escape for byte C, which is not (part of) a printable character. */
static void put_escape(FILE *out, unsigned char c)
{
    if (c == '\n')
        put_str("\\n", out);
    else if (c == '\t')
        put_str("\\t", out);
    else if (c == '\r')
        put_str("\\r", out);
    else
        (void)fprintf(out, "\\x%02x", c);
}

/* Write S escaped; QUOTE_TOO: escape "'" as well (inside $'...'). */
static void put_escaped(FILE *out, const char *s, bool quote_too)
{
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = printable_len(s, left);
        if (n == 0) {
            put_escape(out, (unsigned char)*s);
            n = 1;
        } else if (*s == '\\' || (quote_too && *s == '\'')) {
            put_byte('\\', out);
            put_byte(*s, out);
        } else {
            (void)fwrite(s, 1, n, out);
        }
        s += n;
        left -= n;
    }
}

static bool all_printable(const char *s)
{
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = printable_len(s, left);
        if (n == 0)
            return false;
        s += n;
        left -= n;
    }
    return true;
}

void probe_put_shown(FILE *out, const char *s)
{
    put_escaped(out, s, false);
}

void probe_put_shell_word(FILE *out, const char *s)
{
    if (!all_printable(s)) {
        put_str("$'", out);
        put_escaped(out, s, true);
        put_byte('\'', out);
        return;
    }
    put_byte('\'', out);
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            put_str("'\\''", out);
        else
            put_byte(*s, out);
    }
    put_byte('\'', out);
}

void probe_put_field(FILE *out, const char *s)
{
    put_str(s, out);
    put_byte('\0', out);
}

/* The owner's name for the terminal, or the uid when it has none. */
static void put_owner(FILE *out, long uid)
{
    struct passwd pw, *res = NULL;
    char buf[PASSWD_BUF_SIZE];

    if (uid == PROBE_NO_UID) {
        put_byte('-', out);
        return;
    }
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL &&
        pw.pw_name != NULL && pw.pw_name[0] != '\0')
        probe_put_shown(out, pw.pw_name);
    else
        (void)fprintf(out, "%ld", uid);
}

void probe_put_record(FILE *out, const struct probe_record *r)
{
    probe_put_field(out, r->kind);
    probe_put_field(out, r->word);
    probe_put_shown(out, r->detail != NULL ? r->detail : "");
    put_byte('\0', out);
    if (r->uid == PROBE_NO_UID)
        put_byte('-', out);
    else
        (void)fprintf(out, "%ld", r->uid);
    put_byte('\0', out);
    put_owner(out, r->uid);
    put_byte('\0', out);
    if (r->mode < 0)
        put_byte('-', out);
    else
        (void)fprintf(out, "%04lo", (unsigned long)r->mode & ALLPERMS);
    put_byte('\0', out);
    probe_put_field(out, r->path);
    probe_put_shown(out, r->path);
    put_byte('\0', out);
    probe_put_shell_word(out, r->path);
    put_byte('\0', out);
}

int probe_out_done(void)
{
    return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}
