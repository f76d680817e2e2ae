/* muxio.h: the socket calls a replay makes on a connection to a master:
 * sending back what a client sent (its packets and the descriptors it
 * passed), reading and dropping the replies it has already read, and
 * waiting for a whole reply without consuming it.
 *
 * Mechanism only: no configuration, no log. Every call here is libc's (or
 * the real one from real.h), never the library's own wrappers. */
#ifndef MUXFIX_MUXIO_H
#define MUXFIX_MUXIO_H

#include <stdbool.h>
#include <stddef.h>

#include "muxrec.h"

/* Send what the client sent in rec->sent[FROM, TO) on SOCK, each descriptor
 * it passed where it went. */
bool muxio_resend(int sock, const struct muxrec *rec, size_t from, size_t to);

/* Read and drop on SOCK the replies the client has already read, and check
 * that the one it is in the middle of starts the same. */
bool muxio_drop_seen_replies(int sock, const struct muxrec *rec);

/* Bound every send and receive on SOCK to MS milliseconds (0: no bound). */
void muxio_set_timeouts(int sock, int ms);

enum muxio_peek {
    MUXIO_PEEK_WHOLE,   /* a whole packet is there (BUF holds its start) */
    MUXIO_PEEK_CLOSED,  /* the master closed or reset the connection first */
    MUXIO_PEEK_TIMEOUT, /* nothing whole by the deadline */
    MUXIO_PEEK_SIGNAL,  /* a signal handler ran while nothing was there */
    MUXIO_PEEK_ERROR,   /* poll or recv failed otherwise: errno */
};

/* Wait until FD holds a whole packet or DEADLINE (util_now_ms() clock; -1:
 * none) passes, without consuming anything: its first bytes, up to CAP, are
 * copied to BUF and their number to *GOT (the packet may be longer). A
 * signal handler that runs while nothing is there ends the wait with
 * MUXIO_PEEK_SIGNAL (one that runs while a packet comes in pieces only
 * shortens a pause). Keeps errno but on MUXIO_PEEK_ERROR. */
enum muxio_peek muxio_peek_packet(int fd, unsigned char *buf, size_t cap,
                                  size_t *got, long deadline);

#endif
