/* pattern.c: ControlPath-style pattern matching (see pattern.h).
 *
 * The pattern and the path are compared one '/'-separated segment at a time:
 * no wildcard crosses a '/', so segments are independent and each one is
 * matched with the classic single-backtrack glob loop, linear in practice and
 * never recursive (a hostile MUXFIX_PATH cannot blow the stack). */
#include "pattern.h"

#include <string.h>

/* The tokens ssh expands in ControlPath (ssh_config(5), "TOKENS"). */
static const char ssh_tokens[] = "rhpCnulLidk";

/* Length of the wildcard at P (1 for '*', 2 for a %-token), or 0. */
static size_t wildcard_len(const char *p, const char *pe)
{
    if (*p == '*')
        return 1;
    if (*p == '%' && p + 1 < pe && p[1] != '\0' && strchr(ssh_tokens, p[1]))
        return 2;
    return 0;
}

/* Match C against the bracket expression starting at P ('['). Sets *used to
 * the pattern bytes it spans. An unclosed bracket is a literal '['. */
static bool match_bracket(const char *p, const char *pe, char c, size_t *used)
{
    const char *q = p + 1;
    bool negate = false, hit = false;

    if (q < pe && (*q == '!' || *q == '^')) {
        negate = true;
        q++;
    }
    const char *first = q;
    while (q < pe && (*q != ']' || q == first)) {
        if (q + 2 < pe && q[1] == '-' && q[2] != ']') {
            if ((unsigned char)c >= (unsigned char)q[0] &&
                (unsigned char)c <= (unsigned char)q[2])
                hit = true;
            q += 3;
        } else {
            if (c == *q)
                hit = true;
            q++;
        }
    }
    if (q >= pe) {
        *used = 1;
        return c == '[';
    }
    *used = (size_t)(q - p) + 1;
    return hit != negate;
}

/* Match one character C against the pattern item at P. */
static bool match_item(const char *p, const char *pe, char c, size_t *used)
{
    if (*p == '?') {
        *used = 1;
        return true;
    }
    if (*p == '[')
        return match_bracket(p, pe, c, used);
    if (*p == '%' && p + 1 < pe && p[1] == '%') {
        *used = 2;
        return c == '%';
    }
    *used = 1;
    return c == *p;
}

static bool match_segment(const char *p, const char *pe, const char *s,
                          const char *se)
{
    const char *star_p = NULL, *star_s = NULL;
    size_t n;

    while (s < se) {
        if (p < pe) {
            n = wildcard_len(p, pe);
            if (n != 0) {
                p += n;
                star_p = p;
                star_s = s;
                continue;
            }
            if (match_item(p, pe, *s, &n)) {
                p += n;
                s++;
                continue;
            }
        }
        if (star_p == NULL)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (p < pe && (n = wildcard_len(p, pe)) != 0)
        p += n;
    return p == pe;
}

static const char *segment_end(const char *s)
{
    const char *e = strchr(s, '/');
    return e != NULL ? e : s + strlen(s);
}

bool pattern_match(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;

    for (;;) {
        const char *pe = segment_end(p), *se = segment_end(s);
        if (!match_segment(p, pe, s, se))
            return false;
        if (*pe == '\0' || *se == '\0')
            return *pe == '\0' && *se == '\0';
        p = pe + 1;
        s = se + 1;
    }
}

size_t pattern_literal_prefix(const char *pattern)
{
    return strcspn(pattern, "*?[%");
}

/* ssh's temporary name: '.' and this many characters from [A-Za-z0-9]. */
#define SSH_TMP_SUFFIX_RANDOM 16

static bool is_alnum_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

size_t pattern_strip_tmp_suffix(const char *path, size_t len)
{
    if (len <= SSH_TMP_SUFFIX_RANDOM + 1)
        return len;
    size_t dot = len - SSH_TMP_SUFFIX_RANDOM - 1;
    if (path[dot] != '.')
        return len;
    for (size_t i = dot + 1; i < len; i++)
        if (!is_alnum_ascii(path[i]))
            return len;
    return dot;
}
