/* state.h: the one rule for state shared by every thread of a process.
 *
 * No code here: every module that keeps process-wide state follows it, and
 * says which kind its state is.
 *
 * 1. Published once: written before a release store makes it visible, read
 *    after an acquire load sees it, never changed again (the configuration,
 *    config.c, and the filter of the pass-through, which moves once from the
 *    one that lets every path through to the configuration's own; the real
 *    libc symbols, real.c; the slot counts of publish.c, which only grow;
 *    the socket given a private second name, keep.c).
 *    Whoever writes such state first claims it (2.), with its pid rather
 *    than a flag where a fork() child must be able to take over what its
 *    parent was in the middle of (config.c).
 * 2. Claimed: owned by one caller at a time through an atomic flag or
 *    descriptor taken with an exchange or compare-and-swap; a caller that
 *    cannot claim it passes through as if the library were not there (the
 *    followed connection, follow.c; the would-be master's lock, crowd.c).
 *
 * Nothing takes a lock (a mutex could deadlock in a signal handler or in
 * the child of a fork), and nothing allocates.
 *
 * Async-signal-safety is promised for the pass-through path only: an
 * interposed call that repairs nothing (interpose.c, classify.c,
 * pattern.c, real.c, the follow_wants() check), the first such call
 * included (reading the environment, config.c; resolving libc's call,
 * real.c). Not the passwd lookup for '~', made only for a path that could
 * match a '~' pattern (or, in ssh with the default patterns, for any Unix
 * path: learn.h), on the repair side. The repair path formats
 * log lines, may spawn `ssh -G` (sshopts.c) and sleeps while it waits; it
 * is safe after fork and in threads, but a repair started from a signal
 * handler that interrupted the same process's own repair passes through
 * (config and the claims above), it does not wait. */
#ifndef MUXFIX_STATE_H
#define MUXFIX_STATE_H

/* For the few zero-initialised variables every process writes on its first
 * Unix-socket call (the configuration's state, the libc pointers): .data,
 * on the page the library's .data and .got.plt take anyway, rather than
 * the bss, where each would dirty a page of its own (make bench, row 7). */
#define STATE_FIRST_USE __attribute__((section(".data.muxfix_first_use")))

#endif
