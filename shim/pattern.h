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
/* Buckets of the first words (a bit each in a 64-bit bitmap). */
#define PATTERN_BUCKETS 64

/* The pass-through's test: four words. It looks at the first 16 bytes of a
 * sockaddr as the kernel got it: the family and, for AF_UNIX, the first 14
 * bytes of the path. An address can be managed only if its first word
 * (family and 6 path bytes) under KEY_MASK falls in a bucket of BITMAP, and
 * its second word (path bytes 6 to 13) under KEY_MASK2 in one of BITMAP2:
 * a Unix path outside every pattern's first bytes is out after one test, a
 * path that shares "~/.ssh/" with the patterns after the second. The full
 * test (pattern_set_*) decides the rest. */
struct pattern_filter {
    uint64_t bitmap;    /* buckets of the patterns' first words */
    uint64_t key_mask;  /* bytes that choose the bucket: the family and the
                           shortest literal prefix, 6 bytes at most */
    uint64_t bitmap2;   /* buckets of their second words */
    uint64_t key_mask2; /* the bytes of the shortest literal prefix past 6 */
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
     * '/' for a tail to match. The small arrays first, then the groups and
     * the entries: a set of a few patterns is a few pages of memory, not
     * the whole of it. */
    uint64_t key_mask;
    unsigned ngroups;
    unsigned nanchors; /* 0: no tails; PATTERN_ANCHORS_ANY: any path */
    unsigned char anchor[PATTERN_SET_ANCHORS];
    unsigned char bucket[PATTERN_BUCKETS];
    unsigned char group_next[PATTERN_SET_MAX];
    unsigned char gfirst[PATTERN_SET_MAX + 1];
    unsigned char order[PATTERN_SET_MAX];
    struct pattern_word group[PATTERN_SET_MAX];
    struct pattern_entry entry[PATTERN_SET_MAX];
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

/* Could a sockaddr whose first 16 bytes are W and W2 be managed under F?
 * Other families are out at once (their port or address would fall in any
 * bucket). */
static inline bool pattern_filter_words(const struct pattern_filter *f,
                                        uint64_t w, uint64_t w2)
{
    sa_family_t family;
    memcpy(&family, &w, sizeof family);
    return family == AF_UNIX &&
           ((f->bitmap >> pattern_bucket(w & f->key_mask)) & 1) != 0 &&
           ((f->bitmap2 >> pattern_bucket(w2 & f->key_mask2)) & 1) != 0;
}

/* The pass-through's test of an address the kernel accepted (LEN bytes at
 * ADDR): false when it cannot be a managed path under F. No call, no copy:
 * an address too short for the words goes on to the full test. */
static inline bool pattern_filter_sockaddr(const struct pattern_filter *f,
                                           const void *addr, size_t len)
{
    uint64_t w[2];
    if (__builtin_expect(len < sizeof w, 0))
        return true;
    memcpy(w, addr, sizeof w);
    return pattern_filter_words(f, w[0], w[1]);
}

#endif
