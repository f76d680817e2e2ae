/*
 * mksock - make an AF_UNIX stream socket file for tests.
 *
 *   mksock PATH      bind a socket at PATH and exit: leaves a dead socket
 *                    (connect() to it gets ECONNREFUSED).
 *   mksock -l PATH   bind and listen at PATH, print "ready\n" and wait until
 *                    killed: a live socket that accepts connections (they
 *                    are never accept()ed, they sit in the backlog).
 *   mksock -f PATH   bind and listen with a backlog that one pending
 *                    connection of its own fills (mode 0777, so anyone can
 *                    try), print "ready\n" and wait: a blocking connect()
 *                    of anyone else waits for good (another user's trap).
 *   mksock -1 PATH   bind and listen, print "ready\n", accept one connection,
 *                    close it without a word and exit: a master that dies
 *                    right after accept() (ControlPersist expiring, -O exit
 *                    racing), leaving a dead socket behind.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "mksock: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int listen_mode = 0, connect_mode = 0, once_mode = 0, full_mode = 0;
	const char *path;
	struct sockaddr_un sa;
	int fd;

	if (argc == 3 && strcmp(argv[1], "-l") == 0) {
		listen_mode = 1;
		path = argv[2];
	} else if (argc == 3 && strcmp(argv[1], "-1") == 0) {
		listen_mode = once_mode = 1;
		path = argv[2];
	} else if (argc == 3 && strcmp(argv[1], "-f") == 0) {
		listen_mode = full_mode = 1;
		path = argv[2];
	} else if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		connect_mode = 1;
		path = argv[2];
	} else if (argc == 2 && argv[1][0] != '-') {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: mksock [-l|-1|-f|-c] PATH\n");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mksock: path too long (max %zu bytes): %s\n",
		        sizeof(sa.sun_path) - 1, path);
		return 1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket for", path);
	if (connect_mode) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			return fail("cannot connect to", path);
		return 0;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return fail("cannot bind", path);
	if (!listen_mode)
		return close(fd) == 0 ? 0 : fail("close", path);
	if (listen(fd, full_mode ? 0 : 64) != 0)
		return fail("cannot listen on", path);
	if (full_mode) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (chmod(path, 0777) != 0 || c < 0 ||
		    connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			return fail("cannot fill the backlog of", path);
	}
	if (printf("ready\n") < 0 || fflush(stdout) != 0)
		return fail("cannot write ready for", path);
	if (once_mode) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			return fail("cannot accept on", path);
		close(c);
		return close(fd) == 0 ? 0 : fail("close", path);
	}
	for (;;)
		pause();
}
