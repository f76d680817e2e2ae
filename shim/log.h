/* log.h: "muxfix: " lines on stderr or in MUXFIX_LOG (opened for each line
 * through logfile.h, which refuses a file that is not ours). Every function
 * keeps errno as it found it; a line is formatted on the stack and written
 * with one write(2) (the real one, not our wrapper), so lines from parallel
 * processes do not interleave. */
#ifndef MUXFIX_LOG_H
#define MUXFIX_LOG_H

/* Levels of MUXFIX_VERBOSE. */
#define MUXFIX_LOG_REPAIR 1   /* a repair made or refused */
#define MUXFIX_LOG_DECISION 2 /* every decision on a managed path */

/* Log a line (without its trailing newline, and without the "muxfix: "
 * prefix) when MUXFIX_VERBOSE is at least LEVEL. */
void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
