/* pattern.h: matching socket paths against ControlPath-style patterns.
 *
 * A pattern is an already ~-expanded path in which
 *   - each ssh token %r %h %p %C %n %u %l %L %i %k %d matches any run of
 *     characters without '/', and %% matches a literal '%';
 *   - shell globs work: '*' (any run without '/'), '?' (one character other
 *     than '/'), '[...]' ('!' or '^' negates, ranges a-z; an unclosed '['
 *     is a literal '[').
 * Pure functions: no allocation, no locks, async-signal-safe: the
 * pass-through path (state.h). */
#ifndef MUXFIX_PATTERN_H
#define MUXFIX_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* Does PATH match PATTERN as a whole? */
bool pattern_match(const char *pattern, const char *path);

/* Length of PATTERN's leading run without any wildcard or '%': every path
 * it matches starts with exactly those bytes (a cheap first test). */
size_t pattern_literal_prefix(const char *pattern);

/* OpenSSH publishes its master socket by binding "ControlPath.XXXXXXXXXXXXXXXX"
 * (16 random [A-Za-z0-9]) and link()ing it into place. Returns the length of
 * PATH without that suffix, or LEN when PATH has no such suffix. */
size_t pattern_strip_tmp_suffix(const char *path, size_t len);

#endif
