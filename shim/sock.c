/* sock.c: see sock.h. */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "real.h"

bool sock_peer_is_ours(int fd, uid_t *uid)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    int saved = errno;
    bool ok = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
              len == sizeof cred;

    *uid = ok ? cred.uid : (uid_t)-1;
    errno = saved;
    return ok && cred.uid == geteuid();
}

int sock_connect_nowait(int fd, const struct sockaddr *addr, socklen_t len)
{
    int fl = fcntl(fd, F_GETFL);
    bool toggle = fl >= 0 && (fl & O_NONBLOCK) == 0;

    if (toggle && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        toggle = false;
    int ret = real_connect(fd, addr, len);
    int err = errno;
    if (toggle)
        (void)fcntl(fd, F_SETFL, fl);
    errno = err;
    return ret;
}

void sock_reset(int fd)
{
    int saved = errno;
    int type = SOCK_STREAM, proto = 0;
    socklen_t len = sizeof type;
    (void)getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof proto;
    (void)getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    int flags = SOCK_CLOEXEC | (fl >= 0 && (fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0);

    int nfd = socket(AF_UNIX, type | flags, proto);
    struct timeval sndtimeo = {0};
    socklen_t tlen = sizeof sndtimeo;
    /* Keep a bound on connect() the caller set (the replay's). */
    if (nfd >= 0 &&
        getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, &tlen) == 0 &&
        (sndtimeo.tv_sec != 0 || sndtimeo.tv_usec != 0))
        (void)setsockopt(nfd, SOL_SOCKET, SO_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    if (nfd >= 0 &&
        dup3(nfd, fd, fdfl >= 0 && (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) >= 0) {
        close(nfd);
        errno = saved;
        return;
    }
    if (nfd >= 0)
        close(nfd);
    /* No fd to spare: at least make sure nothing is said to that listener. */
    (void)shutdown(fd, SHUT_RDWR);
    errno = saved;
}
