/* pattern.c: ControlPath-style pattern matching (see pattern.h).
 *
 * The matcher walks the pattern and the path once, with the classic
 * single-backtrack glob loop: no wildcard crosses a '/', so a star is
 * forgotten at every '/' the two share, and a star that would have to swallow
 * a '/' ends the match. A segment's end is the next '/' or the end of the
 * pattern, read in place (nothing is split or copied). Linear in practice and
 * never recursive: a hostile MUXFIX_PATH cannot blow the stack. */
#include "pattern.h"

#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Does the segment end at P (a '/' or the end of the pattern)? */
static inline bool at_segment_end(const char *p)
{
    return *p == '/' || *p == '\0';
}

/* The tokens ssh expands in ControlPath (ssh_config(5), "TOKENS"):
 * r h p C n u l L i k d. */
static inline bool is_ssh_token(char c)
{
    switch (c) {
    case 'r': case 'h': case 'p': case 'C': case 'n': case 'u':
    case 'l': case 'L': case 'i': case 'k': case 'd':
        return true;
    default:
        return false;
    }
}

/* Length of the wildcard at P (1 for '*', 2 for a %-token), or 0. */
static inline size_t wildcard_len(const char *p)
{
    if (*p == '*')
        return 1;
    if (*p == '%' && !at_segment_end(p + 1) && is_ssh_token(p[1]))
        return 2;
    return 0;
}

/* Could the pattern character C stand for something other than itself? */
static inline bool is_special(char c)
{
    return c == '*' || c == '?' || c == '[' || c == '%';
}

/* Match C (not '/') against the bracket expression starting at P ('[').
 * Sets *used to the pattern bytes it spans. An unclosed bracket (no ']'
 * before the segment ends) is a literal '['. */
static bool match_bracket(const char *p, unsigned char c, size_t *used)
{
    const char *q = p + 1;
    bool negate = false, hit = false;

    if (!at_segment_end(q) && (*q == '!' || *q == '^')) {
        negate = true;
        q++;
    }
    const char *first = q;
    while (!at_segment_end(q) && (*q != ']' || q == first)) {
        if (!at_segment_end(q + 1) && q[1] == '-' && !at_segment_end(q + 2) &&
            q[2] != ']') {
            if (c >= (unsigned char)q[0] && c <= (unsigned char)q[2])
                hit = true;
            q += 3;
        } else {
            if (c == (unsigned char)*q)
                hit = true;
            q++;
        }
    }
    if (at_segment_end(q)) {
        *used = 1;
        return c == '[';
    }
    *used = (size_t)(q - p) + 1;
    return hit != negate;
}

/* Match one path character C against the pattern item at P (not a
 * wildcard, not the end). Nothing but a literal '/' matches '/'. */
static inline bool match_item(const char *p, unsigned char c, size_t *used)
{
    *used = 1;
    if (c == '/' || *p == '/')
        return c == (unsigned char)*p;
    if (*p == '?')
        return true;
    if (*p == '[')
        return match_bracket(p, c, used);
    if (*p == '%' && !at_segment_end(p + 1) && p[1] == '%') {
        *used = 2;
        return c == '%';
    }
    return c == (unsigned char)*p;
}

/* Is I past the end of the path at S: MAX bytes, or up to a NUL? */
static inline bool at_end(const char *s, size_t i, size_t max)
{
    return i >= max || s[i] == '\0';
}

/* A star before NEXT (the pattern after it) swallows every path byte from
 * I that cannot start what follows: all but a '/' when the segment ends
 * after it, all but NEXT or a '/' before a literal NEXT. */
static inline size_t star_skip(char next, const char *s, size_t i, size_t max)
{
    if (next == '/' || next == '\0') {
        while (!at_end(s, i, max) && s[i] != '/')
            i++;
    } else if (!is_special(next)) {
        while (!at_end(s, i, max) && s[i] != next && s[i] != '/')
            i++;
    }
    return i;
}

/* Does the path at S (MAX bytes, or up to a NUL) match PATTERN as a whole?
 * *SEEN: how many of its first bytes the answer rests on (every other path
 * that starts with them gets the same answer), or, when the path ended
 * before the answer, its length with *ENDED set. */
static bool match_z(const char *pattern, const char *s, size_t max, size_t *seen,
                    bool *ended)
{
    const char *p = pattern, *star_p = NULL;
    size_t i = 0, star_i = 0, used, far = 0;

    while (!at_end(s, i, max)) {
        if (*p != '\0') {
            used = wildcard_len(p);
            if (used != 0) {
                p += used;
                star_p = p;
                i = star_i = star_skip(*p, s, i, max);
                continue;
            }
            unsigned char c = (unsigned char)s[i];
            if (match_item(p, c, &used)) {
                if (c == '/')
                    star_p = NULL; /* a new segment: no star reaches back */
                p += used;
                i++;
                continue;
            }
        }
        /* The last star takes one more byte, never a '/'. */
        far = i > far ? i : far;
        if (star_p == NULL || s[star_i] == '/') {
            *seen = far + 1;
            *ended = false;
            return false;
        }
        p = star_p;
        i = star_i = star_skip(*p, s, star_i + 1, max);
    }
    *seen = i;
    *ended = true;
    while ((used = wildcard_len(p)) != 0)
        p += used;
    return *p == '\0';
}

bool pattern_match_n(const char *pattern, const char *s, size_t n)
{
    size_t seen;
    bool ended;
    return match_z(pattern, s, n, &seen, &ended);
}

bool pattern_match(const char *pattern, const char *path)
{
    return pattern_match_n(pattern, path, strlen(path));
}

/* A loop, not strcspn: libc's strcspn lies in a 64 KiB stretch of libc a
 * process that manages nothing would not page in otherwise (make bench,
 * row 7); patterns are read once. */
size_t pattern_literal_prefix(const char *pattern)
{
    size_t n = 0;
    for (char c; (c = pattern[n]) != '\0' && c != '*' && c != '?' && c != '[' && c != '%';)
        n++;
    return n;
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

/* ---- pattern sets ---- */

#define WORD_BYTES sizeof(uint64_t)
/* The filter's word: the family, then this many bytes of the path. */
#define SA_FAMILY_BYTES sizeof(sa_family_t)
#define SA_PATH_BYTES (WORD_BYTES - SA_FAMILY_BYTES)
_Static_assert(offsetof(struct sockaddr_un, sun_path) == SA_FAMILY_BYTES,
               "sun_path right after the family");

/* No group (a chain's end in BUCKET and GROUP_NEXT). */
#define NO_GROUP 0

const struct pattern_filter pattern_filter_all = {
    .bitmap = ~0ULL, .bitmap2 = {~0ULL, ~0ULL, ~0ULL, ~0ULL}};

/* A word whose first K (<= 8) bytes are all ones, in memory order. */
static inline uint64_t byte_mask(size_t k)
{
    if (k >= WORD_BYTES)
        return ~0ULL;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (1ULL << (k * CHAR_BIT)) - 1;
#else
    return k == 0 ? 0 : ~0ULL << ((WORD_BYTES - k) * CHAR_BIT);
#endif
}

/* The first word of the N bytes at P, zeros after them (a short string:
 * byte by byte, never past its end). */
static uint64_t word_of(const char *p, size_t n)
{
    unsigned char b[WORD_BYTES] = {0};
    uint64_t w;
    for (size_t i = 0; i < n && i < WORD_BYTES; i++)
        b[i] = (unsigned char)p[i];
    memcpy(&w, b, sizeof w);
    return w;
}

#define HOT static inline __attribute__((always_inline))

/* The word at AT of PATH (N bytes), zeros past its end (pattern.h). */
HOT uint64_t path_word(const char *path, size_t n, size_t at)
{
    return pattern_path_word(path, n, at);
}

void pattern_set_init(struct pattern_set *set)
{
    set->n = 0;
    set->overflow = false;
    set->filter = pattern_filter_all;
    set->ngroups = 0;
    set->nanchors = 0;
    set->key_mask = 0;
    memset(set->bucket, 0, sizeof set->bucket);
}

/* The byte a path must hold right after a '/' to match TAIL somewhere: the
 * one after its first '/', when that is a literal; 0 when there is none to
 * look for. */
static unsigned char tail_anchor(const char *tail)
{
    if (tail[0] != '/' || tail[1] == '\0' || tail[1] == '/' || is_special(tail[1]))
        return 0;
    return (unsigned char)tail[1];
}

bool pattern_set_add(struct pattern_set *set, const char *text, bool tail)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->entry[i].tail == tail && strcmp(set->entry[i].text, text) == 0)
            return true; /* already there (a MUXFIX_PATH that repeats a default) */
    if (set->n == PATTERN_SET_MAX) {
        set->overflow = true;
        return false;
    }
    struct pattern_entry *e = &set->entry[set->n++];
    e->text = text;
    e->nlit = pattern_literal_prefix(text);
    e->npre = 0;
    for (size_t k = 0; k < e->nlit && e->npre < PATTERN_PREFIX_WORDS; k += WORD_BYTES)
        e->pre[e->npre++] = word_of(text + k, e->nlit - k);
    e->pre_mask = e->npre == 0 ? 0 : byte_mask(e->nlit - (e->npre - 1) * WORD_BYTES);
    if (e->npre > 0)
        e->pre[e->npre - 1] &= e->pre_mask;
    e->nslash = 0;
    for (const char *q = text + e->nlit; (q = strchr(q, '/')) != NULL; q++) {
        if (e->nslash < PATTERN_HEADS) {
            size_t k = pattern_literal_prefix(q + 1);
            k = k < WORD_BYTES ? k : WORD_BYTES;
            /* Only up to the next '/': a head never spans a segment. */
            const char *next = memchr(q + 1, '/', k);
            if (next != NULL)
                k = (size_t)(next - (q + 1));
            e->head[e->nslash].mask = byte_mask(k);
            e->head[e->nslash].word = word_of(q + 1, k) & e->head[e->nslash].mask;
        }
        e->nslash++;
    }
    e->tail = tail;
    e->anchor = tail ? tail_anchor(text) : 0;
    return true;
}

/* Entry E's first word: the first of its prefix words, under its mask. */
static struct pattern_word first_word(const struct pattern_entry *e)
{
    struct pattern_word pw = {0, 0};
    if (e->npre > 0) {
        pw.word = e->pre[0];
        pw.mask = e->npre == 1 ? e->pre_mask : ~0ULL;
    }
    return pw;
}

static void add_anchor(struct pattern_set *set, unsigned char a)
{
    if (set->nanchors == PATTERN_ANCHORS_ANY)
        return;
    if (a == 0) {
        set->nanchors = PATTERN_ANCHORS_ANY;
        return;
    }
    for (unsigned i = 0; i < set->nanchors; i++)
        if (set->anchor[i] == a)
            return;
    if (set->nanchors == PATTERN_SET_ANCHORS)
        set->nanchors = PATTERN_ANCHORS_ANY;
    else
        set->anchor[set->nanchors++] = a;
}

/* The group number of PW in SET, added (and chained in its bucket) if new. */
static unsigned group_of(struct pattern_set *set, struct pattern_word pw)
{
    for (unsigned g = 0; g < set->ngroups; g++)
        if (set->group[g].word == pw.word && set->group[g].mask == pw.mask)
            return g;
    unsigned g = set->ngroups++;
    unsigned b = pattern_bucket(pw.word & set->key_mask);
    set->group[g] = pw;
    set->group_next[g] = set->bucket[b];
    set->bucket[b] = (unsigned char)(g + 1);
    return g;
}

/* The filter's first word of entry E: the family, then the first bytes of
 * the path (those of the literal prefix, SA_PATH_BYTES at most), as a
 * sockaddr_un starts. */
static uint64_t sockaddr_word(const struct pattern_entry *e)
{
    unsigned char b[WORD_BYTES] = {0};
    sa_family_t family = AF_UNIX;
    uint64_t w;
    memcpy(b, &family, sizeof family);
    memcpy(b + SA_FAMILY_BYTES, e->text, e->nlit < SA_PATH_BYTES ? e->nlit : SA_PATH_BYTES);
    memcpy(&w, b, sizeof w);
    return w;
}

/* Second words from here on at most: a path longer than this has told its
 * patterns apart long before. */
#define SECOND_OFF_MAX 64

/* Where the second word of the filter's bucket B starts, and its mask:
 * the offset past the first word at which the literal prefixes of the
 * bucket's patterns (ENTRY[I] with WHICH[I] == B) are most often told apart,
 * within the shortest of them. */
static void choose_second(struct pattern_set *set, const unsigned char *which, unsigned b)
{
    size_t shortest = SIZE_MAX;
    for (size_t i = 0; i < set->n; i++)
        if (!set->entry[i].tail && which[i] == b && set->entry[i].nlit < shortest)
            shortest = set->entry[i].nlit;
    set->filter.off[b] = 0;
    set->filter.mask2[b] = 0; /* no bytes to look at: every path passes */
    unsigned best = 0;
    for (size_t off = SA_PATH_BYTES; off < shortest && off <= SECOND_OFF_MAX; off++) {
        uint64_t mask = byte_mask(shortest - off);
        unsigned distinct = 0;
        for (size_t i = 0; i < set->n; i++) {
            const struct pattern_entry *e = &set->entry[i];
            if (e->tail || which[i] != b)
                continue;
            uint64_t w = word_of(e->text + off, e->nlit - off) & mask;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++) {
                const struct pattern_entry *f = &set->entry[j];
                seen = !f->tail && which[j] == b &&
                       (word_of(f->text + off, f->nlit - off) & mask) == w;
            }
            distinct += !seen;
        }
        if (distinct > best) {
            best = distinct;
            set->filter.off[b] = (unsigned char)off;
            set->filter.mask2[b] = mask;
        }
    }
}

/* The third test of each bucket that holds one pattern (not a tail) whose
 * literal prefix is followed by a segment and then one that starts with
 * literal bytes (struct pattern_filter). */
static void choose_third(struct pattern_set *set, const unsigned char *which)
{
    struct pattern_filter *f = &set->filter;
    unsigned count[PATTERN_BUCKETS] = {0};
    for (size_t i = 0; i < set->n; i++)
        if (!set->entry[i].tail)
            count[which[i]]++;
    for (size_t i = 0; i < set->n; i++) {
        const struct pattern_entry *e = &set->entry[i];
        unsigned b = which[i];
        if (e->tail || count[b] != 1 || e->nslash == 0 || e->head[0].mask == 0 ||
            e->nlit > UCHAR_MAX)
            continue;
        f->from[b] = (unsigned char)e->nlit;
        f->head[b] = e->head[0].word;
        f->head_mask[b] = e->head[0].mask;
    }
}

/* The filter of the addresses SET's patterns (not tails) can match. */
static void build_filter(struct pattern_set *set, size_t shortest)
{
    struct pattern_filter *f = &set->filter;
    unsigned char which[PATTERN_SET_MAX] = {0};

    memset(f, 0, sizeof *f);
    f->key_mask = byte_mask(SA_FAMILY_BYTES + (shortest < SA_PATH_BYTES ? shortest : SA_PATH_BYTES));
    for (size_t i = 0; i < set->n; i++) {
        if (set->entry[i].tail)
            continue;
        unsigned b = pattern_bucket(sockaddr_word(&set->entry[i]) & f->key_mask);
        which[i] = (unsigned char)b;
        f->bitmap |= 1ULL << b;
    }
    for (unsigned b = 0; b < PATTERN_BUCKETS; b++)
        if (((f->bitmap >> b) & 1) != 0)
            choose_second(set, which, b);
    choose_third(set, which);
    for (size_t i = 0; i < set->n; i++) {
        const struct pattern_entry *e = &set->entry[i];
        if (e->tail)
            continue;
        unsigned b = which[i];
        size_t off = f->off[b];
        uint64_t w2 = off < e->nlit ? word_of(e->text + off, e->nlit - off) : 0;
        unsigned k = pattern_bucket2((w2 & f->mask2[b]) ^ (uint64_t)b * PATTERN_SALT);
        f->bitmap2[k / PATTERN_WORD_BITS] |= 1ULL << (k % PATTERN_WORD_BITS);
    }
}

void pattern_set_build(struct pattern_set *set)
{
    unsigned char grp[PATTERN_SET_MAX] = {0};
    unsigned count[PATTERN_SET_MAX + 2] = {0};
    size_t shortest = WORD_BYTES;     /* the shortest literal prefix, up to here */
    size_t shortest_all = WORD_BYTES; /* the same, tails included */

    for (size_t i = 0; i < set->n; i++) {
        size_t k = set->entry[i].nlit;
        if (!set->entry[i].tail && k < shortest)
            shortest = k;
        if (k < shortest_all)
            shortest_all = k;
    }
    set->key_mask = byte_mask(shortest_all);
    set->ngroups = 0;
    set->nanchors = 0;
    memset(set->bucket, 0, sizeof set->bucket);
    for (size_t i = 0; i < set->n; i++) {
        const struct pattern_entry *e = &set->entry[i];
        /* A tail is grouped by its own first word: found from where it
         * would start in a path (tails_match_at). */
        grp[i] = (unsigned char)group_of(set, first_word(e));
        if (e->tail)
            add_anchor(set, e->anchor);
    }
    build_filter(set, shortest);
    /* Counting sort: the entries of each group together. */
    for (size_t i = 0; i < set->n; i++)
        count[grp[i] + 1]++;
    for (unsigned g = 0; g < set->ngroups; g++)
        count[g + 1] += count[g];
    for (unsigned g = 0; g <= set->ngroups; g++)
        set->gfirst[g] = (unsigned char)count[g];
    for (size_t i = 0; i < set->n; i++)
        set->order[count[grp[i]]++] = (unsigned char)i;
    /* A set too full lets every address through. (A set with tails filters
     * its other patterns only: pattern_set_may_match looks for the tails.) */
    if (set->overflow)
        set->filter = pattern_filter_all;
}

/* The path the full test is given: at most MAX bytes at PATH, up to the
 * first NUL; its length N only once something needed it. */
struct subject {
    const char *path;
    size_t max;
    uint64_t first; /* its first word (zeros past MAX) */
    size_t n;       /* its length, or SIZE_MAX: not yet */
    bool nul;       /* a NUL ends it within MAX: str* functions may run */
};

/* The next '/' of the path of S at or after P, or NULL where it ends first. */
HOT const char *next_slash(const struct subject *s, const char *p)
{
    if (s->n != SIZE_MAX)
        return memchr(p, '/', (size_t)(s->path + s->n - p));
    if (s->nul) {
        const char *q = strchrnul(p, '/');
        return *q == '/' ? q : NULL;
    }
    const char *end = s->path + s->max;
    for (; p < end && *p != '\0'; p++)
        if (*p == '/')
            return p;
    return NULL;
}

/* Does the path of S start with E's literal prefix? Word by word within
 * MAX: a NUL in the path differs from every byte of a prefix, so its length
 * is not needed for this. A path that shares "~/.ssh/" with a pattern
 * differs from it a word or two in. */
HOT bool prefix_match(const struct pattern_entry *e, const struct subject *s)
{
    if (s->max < e->nlit)
        return false;
    if (e->npre == 0)
        return true;
    if (((s->first ^ e->pre[0]) & (e->npre == 1 ? e->pre_mask : ~0ULL)) != 0)
        return false;
    if (__builtin_expect(s->max >= e->npre * WORD_BYTES, 1)) {
        /* Whole words, the last masked (E's words are masked already). */
        for (unsigned i = 1; i + 1 < e->npre; i++) {
            uint64_t w;
            memcpy(&w, s->path + i * WORD_BYTES, sizeof w);
            if (w != e->pre[i])
                return false;
        }
        if (e->npre > 1) {
            uint64_t w;
            memcpy(&w, s->path + (e->npre - 1) * WORD_BYTES, sizeof w);
            if ((w & e->pre_mask) != e->pre[e->npre - 1])
                return false;
        }
    } else {
        for (unsigned i = 1; i < e->npre; i++) {
            uint64_t mask = i + 1 == e->npre ? e->pre_mask : ~0ULL;
            if (((path_word(s->path, s->max, i * WORD_BYTES) ^ e->pre[i]) & mask) != 0)
                return false;
        }
    }
    size_t done = e->npre * WORD_BYTES;
    return done >= e->nlit || memcmp(s->path + done, e->text + done, e->nlit - done) == 0;
}

/* ssh's temporary name of a path P is P and this many bytes. */
#define TMP_SUFFIX_LEN (SSH_TMP_SUFFIX_RANDOM + 1)

/* The path of S without ssh's temporary suffix, when that could answer
 * differently from the whole path: the answer for the whole one rested on
 * its first SEEN bytes, so only a suffix that starts before them matters,
 * and only a path that ends within TMP_SUFFIX_LEN bytes of there can have
 * one. SIZE_MAX: none that matters. */
HOT size_t tmp_base(struct subject *s, size_t seen)
{
    if (s->n == SIZE_MAX && seen >= s->max) {
        s->n = strnlen(s->path, s->max);
    } else if (s->n == SIZE_MAX) {
        size_t window = s->max - seen < TMP_SUFFIX_LEN ? s->max - seen : TMP_SUFFIX_LEN;
        const char *nul = memchr(s->path + seen, '\0', window);
        if (nul == NULL && window == TMP_SUFFIX_LEN)
            return SIZE_MAX;
        s->n = nul != NULL ? (size_t)(nul - s->path) : s->max;
    }
    size_t base = pattern_strip_tmp_suffix(s->path, s->n);
    return base != s->n && base < seen ? base : SIZE_MAX;
}

/* Does the entry E match the path of S, itself or without ssh's temporary
 * suffix? Its literal prefix first, then the rest, read only as far as it
 * needs (a path with the pattern's prefix in a sibling directory or beside
 * the sockets differs a few bytes on). */
HOT bool entry_match(const struct pattern_entry *e, struct subject *s)
{
    size_t seen, base;
    bool ended;

    if (!prefix_match(e, s))
        return false;
    /* The segments: as many '/', each next segment starting right. A path
     * that fails here fails without ssh's temporary suffix too: the suffix
     * holds no '/', and a segment it shortens is too short for the head. */
    const char *p = s->path + e->nlit;
    for (unsigned k = 0; k < e->nslash; k++) {
        const char *q = next_slash(s, p);
        if (q == NULL)
            return false;
        p = q + 1;
        if (k < PATTERN_HEADS &&
            ((path_word(s->path, s->n != SIZE_MAX ? s->n : s->max, (size_t)(p - s->path)) ^
              e->head[k].word) & e->head[k].mask) != 0)
            return false;
    }
    const char *rest = e->text + e->nlit;
    size_t limit = s->n != SIZE_MAX ? s->n : s->max;
    if (match_z(rest, s->path + e->nlit, limit - e->nlit, &seen, &ended))
        return true;
    if (ended)
        s->n = e->nlit + seen;
    base = tmp_base(s, e->nlit + seen + (ended ? 1 : 0));
    return base != SIZE_MAX && base >= e->nlit &&
           pattern_match_n(rest, s->path + e->nlit, base - e->nlit);
}

/* Does a pattern (not a tail) of SET match the path of S? Only the groups
 * in the bucket of its first word are tried, and only their entries. */
HOT bool subject_match(const struct pattern_set *set, struct subject *s)
{
    unsigned g = set->bucket[pattern_bucket(s->first & set->key_mask)];
    for (; g != NO_GROUP; g = set->group_next[g - 1]) {
        const struct pattern_word *pw = &set->group[g - 1];
        if (((s->first ^ pw->word) & pw->mask) != 0)
            continue;
        for (unsigned i = set->gfirst[g - 1]; i < set->gfirst[g]; i++) {
            const struct pattern_entry *e = &set->entry[set->order[i]];
            if (!e->tail && entry_match(e, s))
                return true;
        }
    }
    return false;
}

bool pattern_set_match(const struct pattern_set *set, const char *path, size_t n)
{
    struct subject s = {.path = path, .max = n, .first = path_word(path, n, 0),
                        .n = n, .nul = false};
    return !set->overflow && subject_match(set, &s);
}

/* The full test of one entry for a path that passed the quick ones below. */
__attribute__((noinline)) static bool entry_match_max(const struct pattern_entry *e,
                                                      const char *path, size_t max)
{
    struct subject s = {.path = path, .max = max, .first = path_word(path, max, 0),
                        .n = SIZE_MAX, .nul = true};
    return entry_match(e, &s);
}

/* Could the path at PATH (NUL-terminated within MAX >= 8 bytes) match E?
 * The literal prefix, word by word, and the literal start of the segment
 * after the first '/' that follows it: everything a path that shares a
 * pattern's prefix but not its shape fails on, with nothing else live. */
HOT bool entry_quick(const struct pattern_entry *e, const char *path, size_t max)
{
    if (max < e->npre * WORD_BYTES || max <= e->nlit)
        return true; /* too near the end for whole words: the full test */
    for (unsigned i = 1; i < e->npre; i++) {
        uint64_t w;
        memcpy(&w, path + i * WORD_BYTES, sizeof w);
        if (i + 1 == e->npre)
            w &= e->pre_mask;
        if (w != e->pre[i])
            return false;
    }
    if (e->npre * WORD_BYTES < e->nlit &&
        memcmp(path + e->npre * WORD_BYTES, e->text + e->npre * WORD_BYTES,
               e->nlit - e->npre * WORD_BYTES) != 0)
        return false;
    if (e->nslash == 0 || e->head[0].mask == 0)
        return true;
    const char *q = strchrnul(path + e->nlit, '/');
    if (*q == '\0')
        return false; /* fewer segments (ssh's temporary suffix has no '/') */
    size_t at = (size_t)(q + 1 - path);
    /* A head mismatch holds without the temporary suffix too: it holds no
     * '/', and a segment it shortens is too short for the head. */
    return ((path_word(path, max, at) ^ e->head[0].word) & e->head[0].mask) == 0;
}

bool pattern_set_match_max(const struct pattern_set *set, const char *path,
                           size_t max)
{
    if (set->overflow)
        return false;
    if (__builtin_expect(max < WORD_BYTES || path[max - 1] != '\0', 0)) {
        struct subject s = {.path = path, .max = max, .first = path_word(path, max, 0),
                            .n = SIZE_MAX, .nul = false};
        return subject_match(set, &s);
    }
    uint64_t first;
    memcpy(&first, path, sizeof first);
    unsigned g = set->bucket[pattern_bucket(first & set->key_mask)];
    for (; g != NO_GROUP; g = set->group_next[g - 1]) {
        const struct pattern_word *pw = &set->group[g - 1];
        if (((first ^ pw->word) & pw->mask) != 0)
            continue;
        for (unsigned i = set->gfirst[g - 1]; i < set->gfirst[g]; i++) {
            const struct pattern_entry *e = &set->entry[set->order[i]];
            if (!e->tail && entry_quick(e, path, max) && entry_match_max(e, path, max))
                return true;
        }
    }
    return false;
}

/* Does a tail of SET match PATH (N bytes) from the '/' at AT on? Only the
 * tails whose first word is the one there are tried. */
static bool tails_match_at(const struct pattern_set *set, const char *path,
                           size_t n, size_t at)
{
    struct subject s = {.path = path + at, .max = n - at,
                        .first = path_word(path + at, n - at, 0), .n = n - at,
                        .nul = false};
    unsigned g = set->bucket[pattern_bucket(s.first & set->key_mask)];
    for (; g != NO_GROUP; g = set->group_next[g - 1]) {
        const struct pattern_word *pw = &set->group[g - 1];
        if (((s.first ^ pw->word) & pw->mask) != 0)
            continue;
        for (unsigned i = set->gfirst[g - 1]; i < set->gfirst[g]; i++) {
            const struct pattern_entry *e = &set->entry[set->order[i]];
            if (e->tail && entry_match(e, &s))
                return true;
        }
    }
    return false;
}

/* Does a tail of SET match an end of PATH (N bytes) that starts at a '/'? A
 * tail with an anchor can start only at a '/' followed by it; with a tail
 * without one, every '/' is tried. */
static bool tails_match(const struct pattern_set *set, const char *path, size_t n)
{
    const char *end = path + n;

    if (set->nanchors == PATTERN_ANCHORS_ANY) {
        for (size_t i = 0; i < set->n; i++)
            if (set->entry[i].tail && set->entry[i].text[0] == '\0')
                return true; /* "~" alone: the home itself */
        for (const char *p = path; (p = memchr(p, '/', (size_t)(end - p))) != NULL; p++)
            if (tails_match_at(set, path, n, (size_t)(p - path)))
                return true;
        return false;
    }
    for (unsigned k = 0; k < set->nanchors; k++) {
        unsigned char a = set->anchor[k];
        for (const char *p = path; (p = memchr(p, a, (size_t)(end - p))) != NULL; p++)
            if (p != path && p[-1] == '/' &&
                tails_match_at(set, path, n, (size_t)(p - 1 - path)))
                return true;
    }
    return false;
}

/* Could PATH (N bytes readable, at least SA_PATH_BYTES) be managed under
 * SET's filter, as the path of a sockaddr_un? */
static bool path_filter(const struct pattern_set *set, const char *path, size_t n)
{
    unsigned char b[WORD_BYTES];
    sa_family_t family = AF_UNIX;
    uint64_t w;
    memcpy(b, &family, sizeof family);
    memcpy(b + SA_FAMILY_BYTES, path, SA_PATH_BYTES);
    memcpy(&w, b, sizeof w);
    int k = pattern_filter_first(&set->filter, w);
    return k >= 0 && pattern_filter_second(&set->filter, k, path, n);
}

bool pattern_set_may_match(const struct pattern_set *set, const char *path,
                           size_t n)
{
    if (set->overflow)
        return true;
    /* The patterns first, behind the filter of the pass-through. */
    if ((n < SA_PATH_BYTES || path_filter(set, path, n)) && pattern_set_match(set, path, n))
        return true;
    /* The tails (entry_match tries ssh's temporary name too). */
    return set->nanchors != 0 && tails_match(set, path, n);
}

bool pattern_set_may_match_max(const struct pattern_set *set, const char *path,
                               size_t max)
{
    if (set->overflow || max < SA_PATH_BYTES || path[max - 1] != '\0' ||
        set->nanchors == PATTERN_ANCHORS_ANY)
        return pattern_set_may_match(set, path, strnlen(path, max));
    if (path_filter(set, path, max) && pattern_set_match_max(set, path, max))
        return true;
    /* A tail can start only at a '/' followed by its anchor. */
    size_t n = strlen(path); /* a NUL ends it within MAX (checked above) */
    const char *end = path + n;
    for (unsigned k = 0; k < set->nanchors; k++)
        for (const char *p = path + 1; (p = memchr(p, set->anchor[k], (size_t)(end - p))) != NULL; p++)
            if (p[-1] == '/' && tails_match_at(set, path, n, (size_t)(p - 1 - path)))
                return true;
    return false;
}
