/* util.h: small helpers every module shares: the monotonic clock, bounded
 * pauses, and telling whether two stats are the same file.
 *
 * No allocation; async-signal-safe calls only (clock_gettime, nanosleep,
 * write), but they serve the repair path, which is not (state.h). */
#ifndef MUXFIX_UTIL_H
#define MUXFIX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define UTIL_NS_PER_MS 1000000L
#define UTIL_MS_PER_S 1000L

/* Milliseconds on CLOCK_MONOTONIC. */
long util_now_ms(void);

/* Sleep about MS milliseconds (less than a second). */
void util_pause_ms(long ms);

/* Same inode of the same filesystem, same owner, and B is a socket. Inode
 * numbers are reused at once, so this alone does not tell a removed socket
 * from a new one at the same name: see util_same_socket. */
bool util_same_inode(const struct stat *a, const struct stat *b);

/* util_same_inode and the same change time to the nanosecond: the link()
 * that publishes a socket sets it, so a new master's socket that got a
 * reused inode number still differs. */
bool util_same_socket(const struct stat *a, const struct stat *b);

/* Write all LEN bytes of BUF to FD through the real write() (never the
 * library's own), restarting after signals; gives up silently on an error.
 * Changes errno. */
void util_write_all(int fd, const void *buf, size_t len);

/* getpid() and getuid() as the system calls themselves, where this file
 * knows how to make one (x86-64, AArch64): the configuration is read in
 * every process that makes a Unix-socket call, and libc's getpid and getuid
 * sit in a 64 KiB stretch of libc that most programs never run, so calling
 * them pages in 16 more pages of libc (make bench, row 7). Neither call can
 * fail, neither touches errno, and glibc caches neither (since 2.25). */
#if defined(__x86_64__)
static inline long util_syscall0(long nr)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "0"(nr) : "rcx", "r11", "memory");
    return ret;
}
#define UTIL_RAW_SYSCALL 1
#elif defined(__aarch64__)
static inline long util_syscall0(long nr)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0");
    __asm__ volatile("svc 0" : "=r"(x0) : "r"(x8) : "memory");
    return x0;
}
#define UTIL_RAW_SYSCALL 1
#endif

static inline pid_t util_getpid(void)
{
#ifdef UTIL_RAW_SYSCALL
    return (pid_t)util_syscall0(SYS_getpid);
#else
    return getpid();
#endif
}

static inline uid_t util_getuid(void)
{
#ifdef UTIL_RAW_SYSCALL
    return (uid_t)util_syscall0(SYS_getuid);
#else
    return getuid();
#endif
}

#endif
