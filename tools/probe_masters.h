/* probe_masters.h: the running OpenSSH mux masters of the caller
 * (`muxfix-probe masters`), read from /proc without parsing any listing by
 * lines: a master's title "ssh: PATH [mux]" is the first NUL-terminated
 * string of its /proc/PID/cmdline, and PATH may hold any byte but NUL. */
#ifndef MUXFIX_PROBE_MASTERS_H
#define MUXFIX_PROBE_MASTERS_H

#include <stdio.h>

/* One probe_out.h record per master process whose effective uid is ours:
 * KIND "master", WORD the verdict on its PATH as `muxfix-probe PATH`
 * prints it ("live", "absent", "unknown:EACCES" ...), DETAIL its pid. */
void probe_masters(FILE *out);

#endif
