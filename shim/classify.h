/* classify.h: which socket paths muxfix manages.
 *
 * A path is managed when it is a filesystem Unix-socket path (not abstract,
 * not unnamed), matches a MUXFIX_PATH pattern (or is ssh's temporary
 * "pattern-match.XXXXXXXXXXXXXXXX" name), and is not $SSH_AUTH_SOCK.
 * No allocation, no locks, async-signal-safe: the pass-through path
 * (state.h). The first tests (classify_*_may_be_managed) read nothing but
 * the address and the filter they are given, and copy nothing. */
#ifndef MUXFIX_CLASSIFY_H
#define MUXFIX_CLASSIFY_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sockpath.h"
#include "config.h"
#include "pattern.h"

/* Is ADDR (LEN bytes) an AF_UNIX address? */
static inline bool classify_is_unix(const struct sockaddr *addr, socklen_t len)
{
    return addr != NULL && len >= sizeof(sa_family_t) &&
           addr->sa_family == AF_UNIX;
}

/* The pass-through's test of a connect() or bind() address the kernel
 * accepted: false when ADDR cannot be a managed path under the filter F
 * (its first word: family and the start of the path, pattern.h). True
 * leads to the full test (classify_sockaddr_view, classify_is_managed_n). */
static inline bool classify_sockaddr_may_be_managed(const struct pattern_filter *f,
                                                    const struct sockaddr *addr,
                                                    socklen_t len)
{
    return addr != NULL && pattern_filter_sockaddr(f, addr, len);
}

/* The bytes of a path the filter's first word holds (a sockaddr's first 8
 * bytes: the family and these). */
#define CLASSIFY_FIRST_BYTES (sizeof(uint64_t) - sizeof(sa_family_t))

/* Does the name at PATH hold CLASSIFY_FIRST_BYTES bytes before its NUL?
 * (strnlen's answer without a call into libc: six bytes, unrolled.) */
static inline bool classify_has_first_bytes(const char *path)
{
#pragma GCC unroll 8
    for (size_t i = 0; i < CLASSIFY_FIRST_BYTES; i++)
        if (path[i] == '\0')
            return false;
    return true;
}

/* The filter's first test for PATH, a name with at least
 * CLASSIFY_FIRST_BYTES bytes, as the path of a sockaddr_un: its bucket, or
 * -1 when it cannot be managed (pattern_filter_first). */
static inline int classify_path_first(const struct pattern_filter *f, const char *path)
{
    uint32_t a; /* the path's bytes 0-3 */
    uint16_t c; /* 4-5 */
    memcpy(&a, path, sizeof a);
    memcpy(&c, path + sizeof a, sizeof c);
    /* Where the family, the path's bytes 0-3 and 4-5 sit in the word. */
    const unsigned fam_bits = sizeof(sa_family_t) * CHAR_BIT;
    const unsigned c_bits = (sizeof(sa_family_t) + sizeof a) * CHAR_BIT;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w = (uint64_t)AF_UNIX | (uint64_t)a << fam_bits | (uint64_t)c << c_bits;
#else
    uint64_t w = (uint64_t)AF_UNIX << c_bits | (uint64_t)a << (sizeof c * CHAR_BIT) | c;
#endif
    return pattern_filter_first(f, w);
}

/* The filesystem path of a Unix sockaddr, in place (parsed within LEN): its
 * first byte, and how many bytes it may span in *MAX (it ends at a NUL
 * before that, or there). NULL for other families, abstract and unnamed
 * addresses. */
const char *classify_sockaddr_place(const struct sockaddr *addr, socklen_t len,
                                    size_t *max);

/* The filesystem path of a Unix sockaddr, in place (parsed within LEN): its
 * first byte, and its length in *N (not NUL-terminated there). NULL for
 * other families, abstract and unnamed addresses. Call only after the kernel
 * accepted ADDR (the call did not fail EFAULT). */
const char *classify_sockaddr_view(const struct sockaddr *addr, socklen_t len,
                                   size_t *n);

/* Copy the filesystem path of a Unix sockaddr (parsed within LEN) into OUT,
 * NUL-terminated. False for other families, abstract and unnamed addresses.
 * Call only after the kernel accepted ADDR (the call did not fail EFAULT). */
bool classify_sockaddr_path(const struct sockaddr *addr, socklen_t len,
                            char out[MUXFIX_SOCK_PATH_BUF]);

/* Is ADDR (LEN bytes, accepted by the kernel) a path muxfix may repair
 * under CFG, whose patterns are complete? Copies nothing. */
bool classify_sockaddr_is_managed(const struct muxfix_config *cfg,
                                  const struct sockaddr *addr, socklen_t len);

/* Is PATH (N bytes) a path muxfix may repair under CFG, whose patterns are
 * complete (config_get_resolved, config_parse_patterns)? */
bool classify_is_managed_n(const struct muxfix_config *cfg, const char *path,
                           size_t n);

/* The same for a NUL-terminated PATH. */
bool classify_path_is_managed(const struct muxfix_config *cfg, const char *path);

#endif
