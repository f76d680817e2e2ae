/* log.c: see log.h. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "logfile.h"
#include "real.h"
#include "util.h"

/* One line of log; longer messages are cut, never split. */
#define LOG_LINE_MAX 1024

/* Paths in a line may hold any byte another user chose for a file name:
 * control characters (a newline that forges a second "muxfix:" line, a
 * terminal escape) are written as \xNN. IN (LEN bytes) into OUT (SIZE);
 * returns the length, cut at a whole character. */
#define FIRST_PRINTABLE 0x20 /* ' ' */
#define DEL 0x7f
#define ESCAPED_LEN 4 /* "\xNN" */
#define NIBBLE_BITS 4
#define NIBBLE_MASK 0xfU

static size_t escape_controls(const char *in, size_t len, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool control = c < FIRST_PRINTABLE || c == DEL;
        if (o + (control ? ESCAPED_LEN : 1) > size)
            break;
        if (!control) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> NIBBLE_BITS];
        out[o++] = hex[c & NIBBLE_MASK];
    }
    return o;
}

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
    char out[LOG_LINE_MAX];
    len = escape_controls(line, len, out, sizeof out - 1);
    out[len++] = '\n';

    /* The file is opened for each line: hosts such as ssh close every fd they
     * did not open themselves (closefrom), and a cached fd could by then be
     * one of theirs. Each open checks the file again (logfile.h): one
     * swapped in by another user since the configuration was read is
     * refused, and the line goes to stderr without a word, never to it. */
    int fd = cfg->log_to_file ? logfile_open(cfg->log_path, NULL) : -1;
    util_write_all(fd >= 0 ? fd : STDERR_FILENO, out, len);
    if (fd >= 0)
        close(fd);
    errno = saved;
}
