/* log.c: see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "logfile.h"
#include "real.h"
#include "util.h"

/* One line of log; longer messages are cut, never split. */
#define LOG_LINE_MAX 1024

void log_msg(int level, const char *fmt, ...)
{
    const struct muxfix_config *cfg = config_get();
    if (cfg == NULL || cfg->verbose < level)
        return;

    int saved = errno;
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "muxfix: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? (size_t)n
                 : (size_t)n + (size_t)m >= sizeof line - 1 ? sizeof line - 2
                                                             : (size_t)(n + m);
    line[len++] = '\n';

    /* The file is opened for each line: hosts such as ssh close every fd they
     * did not open themselves (closefrom), and a cached fd could by then be
     * one of theirs. Each open checks the file again (logfile.h): one
     * swapped in by another user since the configuration was read is
     * refused, and the line goes to stderr without a word, never to it. */
    int fd = cfg->log_to_file ? logfile_open(cfg->log_path, NULL) : -1;
    util_write_all(fd >= 0 ? fd : STDERR_FILENO, line, len);
    if (fd >= 0)
        close(fd);
    errno = saved;
}
