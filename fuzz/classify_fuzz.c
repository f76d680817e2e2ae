/* classify_fuzz: libFuzzer target for sockaddr parsing and managed-path
 * classification.
 *
 * Input layout: byte 0 and 1 pick addrlen (little endian, reduced to at most
 * the remaining input size), the rest is the sockaddr as the caller of
 * connect()/bind() would pass it. The sockaddr is copied into an
 * exactly-sized heap buffer so AddressSanitizer catches any read past
 * addrlen. A path that comes out is classified against a configuration
 * parsed once from a fixed pattern list (the defaults plus tokens, brackets
 * and literal names). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "config.h"

#define FUZZ_PATTERNS                                                        \
    MUXFIX_DEFAULT_PATH ":~/.ssh/%r@%h:%p:/run/user/[0-9]*/ssh-%C:"          \
    "/k/cm:/s/100%%-?x:/s/[!a-c]*/[abc"

static struct muxfix_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (config_parse_patterns(&cfg, FUZZ_PATTERNS, "/home/u") != NULL)
            abort();
        strcpy(cfg.auth_sock, "/home/u/.ssh/sockets/agent");
        ready = 1;
    }
    if (size < 2)
        return 0;
    size_t avail = size - 2;
    size_t len = ((size_t)data[0] | (size_t)data[1] << 8) % (avail + 1);

    /* At least one byte, so a zero addrlen still has a valid pointer. */
    void *addr = malloc(len != 0 ? len : 1);
    if (addr == NULL)
        abort();
    memcpy(addr, data + 2, len);

    char path[MUXFIX_SOCK_PATH_BUF];
    memset(path, 'X', sizeof path);
    if (classify_sockaddr_path(addr, (socklen_t)len, path)) {
        size_t plen = strnlen(path, sizeof path);
        if (plen >= sizeof path || plen == 0 || plen > MUXFIX_SUN_PATH_SIZE)
            abort();
        (void)classify_path_is_managed(&cfg, path);
    }
    free(addr);
    return 0;
}
