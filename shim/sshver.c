/* sshver.c: see sshver.h. */
#include "sshver.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

/* OpenSSH 9.4 added the ConnectTimeout to the hello (release notes, mux.c). */
#define SSHVER_HELLO_TIMEOUT 904
#define SSHVER_MINOR_BASE 100
#define SSHVER_PREFIX "OpenSSH_"

enum { VERSION_UNREAD = -1 };

/* Shared state (state.h): published once; two threads may both compute the
 * same answer, which is harmless. */
static int version = VERSION_UNREAD;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "10.5" followed by 'p', ' ', ',' or NUL at P (within END): MAJOR*100+MINOR.
 * ssh's compatibility patterns ("OpenSSH_7.4*", "OpenSSH_2.*,...") are
 * followed by something else and are skipped. */
static int parse_release(const char *p, const char *end)
{
    int major = 0, minor = 0;
    if (p >= end || !is_digit(*p))
        return 0;
    while (p < end && is_digit(*p))
        major = major * 10 + (*p++ - '0');
    if (p >= end || *p++ != '.' || p >= end || !is_digit(*p))
        return 0;
    while (p < end && is_digit(*p))
        minor = minor * 10 + (*p++ - '0');
    if (p < end && *p != 'p' && *p != ' ' && *p != ',' && *p != '\0')
        return 0;
    if (major > SSHVER_MINOR_BASE || minor >= SSHVER_MINOR_BASE)
        return 0;
    return major * SSHVER_MINOR_BASE + minor;
}

static int scan(const char *p, const char *end)
{
    const size_t plen = sizeof SSHVER_PREFIX - 1;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), SSHVER_PREFIX, plen);
        if (hit == NULL)
            return 0;
        int v = parse_release(hit + plen, end);
        if (v != 0)
            return v;
        p = hit + plen;
    }
    return 0;
}

/* The main program is the first object dl_iterate_phdr reports: scan its
 * read-only loaded segments (only the bytes backed by the file). */
static int scan_main_program(struct dl_phdr_info *info, size_t size, void *data)
{
    int *found = data;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum && *found == 0; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) != 0)
            continue;
        /* The loader gives the segment's address as an integer. */
        uintptr_t addr = (uintptr_t)info->dlpi_addr + (uintptr_t)ph->p_vaddr;
        const char *start;
        memcpy(&start, &addr, sizeof start);
        *found = scan(start, start + ph->p_filesz);
    }
    return 1; /* stop after the main program */
}

int sshver_get(void)
{
    int v = __atomic_load_n(&version, __ATOMIC_ACQUIRE);
    if (v != VERSION_UNREAD)
        return v;
    v = 0;
    dl_iterate_phdr(scan_main_program, &v);
    __atomic_store_n(&version, v, __ATOMIC_RELEASE);
    return v;
}

bool sshver_times_out_hello(void)
{
    return sshver_get() >= SSHVER_HELLO_TIMEOUT;
}
