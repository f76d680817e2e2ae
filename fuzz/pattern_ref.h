/* pattern_ref.h: the ControlPath matcher as the library had it before the
 * single-pass one (shim/pattern.c), kept as the reference the fuzz targets
 * hold the new one to: each '/'-separated segment of the pattern matched
 * against the path's, with strchr, the classic single-backtrack glob loop.
 * Only for fuzz/: static functions, include once. */
#ifndef MUXFIX_PATTERN_REF_H
#define MUXFIX_PATTERN_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static const char ref_ssh_tokens[] = "rhpCnulLidk";

/* Length of the wildcard at P (1 for '*', 2 for a %-token), or 0. */
static size_t wildcard_len(const char *p, const char *pe)
{
    if (*p == '*')
        return 1;
    if (*p == '%' && p + 1 < pe && p[1] != '\0' && strchr(ref_ssh_tokens, p[1]))
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

static bool ref_pattern_match(const char *pattern, const char *path)
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

#endif
