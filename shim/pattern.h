/* pattern.h: matching socket paths against ControlPath-style patterns.
 *
 * A pattern is an already ~-expanded path in which
 *   - each ssh token %r %h %p %C %n %u %l %L %i %k %d matches any run of
 *     characters without '/', and %% matches a literal '%';
 *   - shell globs work: '*' (any run without '/'), '?' (one character other
 *     than '/'), '[...]' ('!' or '^' negates, ranges a-z; an unclosed '['
 *     is a literal '['; a '/' ends the bracket as it ends every segment).
 *
 * A pattern set (struct pattern_set) is a list of patterns made ready for
 * the pass-through: each pattern's literal prefix measured once, and a
 * filter (struct pattern_filter) that rejects a path from its first eight
 * bytes, behind a 64-bucket bitmap, before anything is copied or matched.
 * A set may also hold '~' patterns whose home directory is not known yet
 * ("tails", below): for those it answers only "could match".
 *
 * Pure functions: no allocation, no locks, async-signal-safe: the
 * pass-through path (state.h). */
#ifndef MUXFIX_PATTERN_H
#define MUXFIX_PATTERN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* Does PATH match PATTERN as a whole? */
bool pattern_match(const char *pattern, const char *path);

/* The same for the N bytes at PATH (no NUL among them, none needed after). */
bool pattern_match_n(const char *pattern, const char *path, size_t n);

/* Length of PATTERN's leading run without any wildcard or '%': every path
 * it matches starts with exactly those bytes (a cheap first test). */
size_t pattern_literal_prefix(const char *pattern);

/* OpenSSH publishes its master socket by binding "ControlPath.XXXXXXXXXXXXXXXX"
 * (16 random [A-Za-z0-9]) and link()ing it into place. Returns the length of
 * PATH without that suffix, or LEN when PATH has no such suffix. */
size_t pattern_strip_tmp_suffix(const char *path, size_t len);

/* How many patterns a set holds (MUXFIX_PATH is bounded to keep the
 * configuration in static storage). */
#define PATTERN_SET_MAX 128
/* Bytes that mark a path worth a look for '~' patterns (below). */
#define PATTERN_SET_ANCHORS 2
/* nanchors value: every path is worth a look (a '~' pattern without a
 * literal byte to look for). */
#define PATTERN_ANCHORS_ANY (PATTERN_SET_ANCHORS + 1)
/* Words of a literal prefix compared as words (a longer one: memcmp). */
#define PATTERN_PREFIX_WORDS 4
/* Segments after the literal prefix whose literal start is kept as a word
 * (the first test of the rest of a path, before the full match). */
#define PATTERN_HEADS 3
/* Bits in a bitmap word. */
#define PATTERN_WORD_BITS 64
/* Buckets of the second words: four times as many (a path that shares the
 * first bytes of the patterns is the one to tell apart). */
#define PATTERN_BUCKETS2 256
/* Buckets of the first words (a bit each in a 64-bit bitmap). */
#define PATTERN_BUCKETS 64

/* The pass-through's test. It looks at a sockaddr as the kernel got it.
 * First word: the family and, for AF_UNIX, the first 6 bytes of the path;
 * it can be managed only if that word, under KEY_MASK, falls in a bucket of
 * BITMAP. Second word: 8 path bytes from OFF[b] on, where b is that bucket,
 * under MASK2[b]: OFF[b] is where the patterns of bucket b tell each other
 * apart best (right after "~/" for the default ones, whatever the length of
 * the home directory), and the word, salted with b, must fall in a bucket
 * of BITMAP2. A Unix path outside every pattern's first bytes is out after
 * the first test, a path that shares "~/.ssh/" with them after the second.
 * The full test (pattern_set_*) decides the rest. */
struct pattern_filter {
    uint64_t bitmap;   /* buckets of the patterns' first words */
    uint64_t key_mask; /* bytes that choose the bucket: the family and the
                          shortest literal prefix, 6 bytes at most */
    uint64_t bitmap2[PATTERN_BUCKETS2 / PATTERN_WORD_BITS]; /* buckets of their second
                                                words, salted */
    unsigned char off[PATTERN_BUCKETS];  /* where the second word starts */
    uint64_t mask2[PATTERN_BUCKETS];     /* its bytes that count */
    /* The third test, for a bucket of one pattern with a segment after its
     * literal prefix that starts with literal bytes (D/ * /cm* against
     * D/pass/x-1, `make bench`'s row 1): the path's next '/' looked for
     * from FROM[b] (the prefix's length), and the segment after it must
     * start with HEAD[b] under HEAD_MASK[b] (0: no third test). */
    unsigned char from[PATTERN_BUCKETS];
    uint64_t head[PATTERN_BUCKETS];
    uint64_t head_mask[PATTERN_BUCKETS];
};

/* A filter every Unix address passes (before the configuration is read, and
 * while '~' patterns wait for their homes: the full test decides). */
extern const struct pattern_filter pattern_filter_all;

/* A first word (8 bytes in memory order) and the bytes of it that count. */
struct pattern_word {
    uint64_t word, mask;
};

/* A pattern of a set. A tail is what follows "~" or "~user" in a pattern
 * whose home directory has not been looked up: it starts with '/' (or is
 * empty), and a path can match the whole pattern, whatever the home, only if
 * it ends with a part that matches the tail and starts at a '/' (wildcards
 * never match '/', so the tail's segments line up with the path's last
 * ones). */
struct pattern_entry {
    const char *text; /* the pattern, or the tail */
    size_t nlit;      /* literal prefix of TEXT */
    /* The literal prefix as words: PRE[0..NPRE), the last under PRE_MASK. */
    uint64_t pre[PATTERN_PREFIX_WORDS];
    uint64_t pre_mask;
    unsigned npre;
    /* The '/' in TEXT after the literal prefix, and the literal start of
     * the segment after each of the first PATTERN_HEADS of them (mask 0:
     * none): a path that has a pattern's prefix but not its segments is
     * turned down from these (ssh's bench, a sibling directory). */
    unsigned nslash;
    struct pattern_word head[PATTERN_HEADS];
    bool tail;
    unsigned char anchor; /* a tail's byte after its first '/', or 0 */
};

struct pattern_set {
    struct pattern_filter filter; /* for addresses (pattern_filter_sockaddr) */
    size_t n;
    bool overflow; /* a pattern did not fit: every path may match */
    /* Built with the filter, for the full test: the distinct first words
     * (groups) of the patterns, found through the bucket of a path's first
     * word under KEY_MASK (BUCKET[b] and GROUP_NEXT[g]: a group number + 1,
     * 0 ends the chain); the entries (indexes) of group G at
     * ORDER[GFIRST[G], GFIRST[G + 1]); the bytes a path must hold after a
     * '/' for a tail to match. The small arrays first, then the entries and
     * the groups: a set of a few patterns is a few pages of memory, not
     * the whole of it, and the filter and the first entry share one. */
    uint64_t key_mask;
    unsigned ngroups;
    unsigned nanchors; /* 0: no tails; PATTERN_ANCHORS_ANY: any path */
    unsigned char anchor[PATTERN_SET_ANCHORS];
    unsigned char bucket[PATTERN_BUCKETS];
    unsigned char group_next[PATTERN_SET_MAX];
    unsigned char gfirst[PATTERN_SET_MAX + 1];
    unsigned char order[PATTERN_SET_MAX];
    struct pattern_entry entry[PATTERN_SET_MAX];
    struct pattern_word group[PATTERN_SET_MAX];
};

/* Empty SET. */
void pattern_set_init(struct pattern_set *set);

/* Add TEXT (a pattern; TAIL: a tail, see above) to SET; TEXT must stay in
 * place as long as SET is used. False when SET is full: it then lets every
 * path through. */
bool pattern_set_add(struct pattern_set *set, const char *text, bool tail);

/* Build SET's filter and groups from its patterns: once, after the last add. */
void pattern_set_build(struct pattern_set *set);

/* Does PATH (N bytes) match a pattern of SET (tails ignored), itself or
 * without ssh's temporary suffix? */
bool pattern_set_match(const struct pattern_set *set, const char *path, size_t n);

/* The same for a path of at most MAX bytes at PATH, NUL-terminated if
 * shorter (the path of a sockaddr_un as the kernel got it): its length is
 * looked for only when a pattern's literal prefix fits. */
bool pattern_set_match_max(const struct pattern_set *set, const char *path,
                           size_t max);

/* Could PATH (N bytes) match SET's patterns once the tails' home
 * directories are known? (pattern_set_match, or a tail matches an end of
 * PATH that starts at a '/'.) */
bool pattern_set_may_match(const struct pattern_set *set, const char *path,
                           size_t n);

/* The same for a path of at most MAX bytes (as pattern_set_match_max). */
bool pattern_set_may_match_max(const struct pattern_set *set, const char *path,
                               size_t max);

/* The multiplier of the bucket hash (Fibonacci hashing: the top 6 bits of
 * the product spread any key over the 64 buckets). */
#define PATTERN_BUCKET_MUL 0x9E3779B97F4A7C15ULL
#define PATTERN_BUCKET_SHIFT 58

static inline unsigned pattern_bucket(uint64_t key)
{
    return (unsigned)((key * PATTERN_BUCKET_MUL) >> PATTERN_BUCKET_SHIFT);
}

/* The same over PATTERN_BUCKETS2 (the top 8 bits). */
#define PATTERN_BUCKET2_SHIFT 56

static inline unsigned pattern_bucket2(uint64_t key)
{
    return (unsigned)((key * PATTERN_BUCKET_MUL) >> PATTERN_BUCKET2_SHIFT);
}

/* Salts the second word with the first word's bucket: two buckets' second
 * words do not share a bit of BITMAP2 by being equal. */
#define PATTERN_SALT 0x100000001B3ULL

/* The bucket of a sockaddr whose first 8 bytes are W, when it may be
 * managed under F; -1 when it cannot (another family, or no pattern starts
 * with those bytes). */
static inline int pattern_filter_first(const struct pattern_filter *f, uint64_t w)
{
    sa_family_t family;
    memcpy(&family, &w, sizeof family);
    unsigned b = pattern_bucket(w & f->key_mask);
    return family == AF_UNIX && ((f->bitmap >> b) & 1) != 0 ? (int)b : -1;
}

/* The word at AT of PATH (N bytes readable), zeros past its end. Nothing
 * past the end is read: when fewer than 8 bytes are left, the last 8 of
 * PATH are read and shifted into place. */
static inline uint64_t pattern_path_word(const char *path, size_t n, size_t at)
{
    uint64_t w;
    if (__builtin_expect(at + sizeof w <= n, 1)) {
        memcpy(&w, path + at, sizeof w);
        return w;
    }
    if (n < sizeof w) {
        unsigned char b[sizeof w] = {0};
        for (size_t i = at; i < n; i++)
            b[i - at] = (unsigned char)path[i];
        memcpy(&w, b, sizeof w);
        return w;
    }
    memcpy(&w, path + n - sizeof w, sizeof w);
    size_t drop = (at + sizeof w - n) * CHAR_BIT;
    if (drop >= sizeof w * CHAR_BIT)
        return 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return w >> drop;
#else
    return w << drop;
#endif
}

/* The third test (struct pattern_filter), for a path that passed the
 * second: false when the segment after the one that follows the bucket's
 * literal prefix cannot start as the pattern's does, or there is none. It
 * holds for ssh's temporary name too: the suffix holds no '/', and a
 * segment it shortens is too short for the head. */
static inline bool pattern_filter_third(const struct pattern_filter *f, int b,
                                        const char *path, size_t n)
{
    uint64_t mask = f->head_mask[b];
    size_t i = f->from[b];
    if (mask == 0 || i >= n)
        return true;
    /* A NUL is not looked for: a path that ends there has no more '/',
     * and cannot match whatever follows it. */
    while (i < n && path[i] != '/')
        i++;
    if (i >= n)
        return false; /* the path ends first: fewer segments */
    /* Zeros past the end differ from every byte of a head. */
    return ((pattern_path_word(path, n, i + 1) ^ f->head[b]) & mask) == 0;
}

/* The second test, for a path in bucket B (pattern_filter_first) with N
 * bytes readable at PATH: false when it cannot be managed. (The third
 * follows it.) */
static inline bool pattern_filter_second(const struct pattern_filter *f, int b,
                                         const char *path, size_t n)
{
    uint64_t w2;
    size_t off = f->off[b];
    if (__builtin_expect(off + sizeof w2 > n, 0))
        return true; /* too near the end for a word: the full test */
    memcpy(&w2, path + off, sizeof w2);
    unsigned k = pattern_bucket2((w2 & f->mask2[b]) ^ (uint64_t)b * PATTERN_SALT);
    return ((f->bitmap2[k / PATTERN_WORD_BITS] >> (k % PATTERN_WORD_BITS)) & 1) != 0 &&
           pattern_filter_third(f, b, path, n);
}

/* The pass-through's test of an address the kernel accepted (LEN bytes at
 * ADDR, the path from its third byte on): false when it cannot be a managed
 * path under F. No call, no copy: an address too short for a word goes on
 * to the full test. */
static inline bool pattern_filter_sockaddr(const struct pattern_filter *f,
                                           const void *addr, size_t len)
{
    uint64_t w;
    if (__builtin_expect(len < sizeof w, 0))
        return true;
    memcpy(&w, addr, sizeof w);
    int b = pattern_filter_first(f, w);
    return b >= 0 && pattern_filter_second(f, b, (const char *)addr + sizeof(sa_family_t),
                                           len - sizeof(sa_family_t));
}

#endif
