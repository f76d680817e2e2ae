/* muxrec_fuzz: libFuzzer target for the mux handshake record (shim/muxrec.h).
 *
 * The input is a script of what a mux client does on its connection, as
 * follow.c reports it to the record; each step starts with a byte whose
 * value modulo 5 says what:
 *
 *   0 SEND    u16 length, then that many bytes: the client wrote them
 *   1 REPLY   u16 length, then that many bytes: the client read them
 *   2 FD      one byte: the client passed a descriptor with it
 *   3 FAILED  u16 n, then 8 bytes: a write of n bytes starting with those
 *             failed (fewer than 8 left: their header could not be read)
 *   4 FILL    u24 count, one byte: the client wrote count copies of it
 *             (reaches the 64 KiB limit with a short input)
 *
 * (lengths big-endian, cut short at the end of the input). Each chunk is
 * copied into an exactly-sized heap buffer so AddressSanitizer sees a read
 * past it. The script stops where follow.c stops following (the record
 * refuses, or the session is answered). After every step the record's
 * invariants are checked; at the end, the bytes it kept are fed again in one
 * write to a fresh record, which must reach the same state.
 *
 * Seeds (fuzz/corpus/muxrec_fuzz/): ssh92_* are what OpenSSH 9.2p1 clients
 * wrote, passed and read on their control socket (strace of ssh host cmd,
 * with SetEnv, with -L and -R, -W, -O check, -O exit against a live master),
 * in this encoding; failed_alive and fill_64k are made by hand (the alive
 * check's write failing; a session request filling the record exactly). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "muxrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { OP_SEND, OP_REPLY, OP_FD, OP_FAILED, OP_FILL, OPS };

/* Longest FILL: past the record's limit, not much further. */
#define FILL_MAX (2 * MUXREC_SENT_MAX)

static struct muxrec rec, again;

struct input {
    const uint8_t *p;
    size_t left;
};

static size_t take_uint(struct input *in, int bytes)
{
    size_t v = 0;
    for (int i = 0; i < bytes && in->left > 0; i++, in->p++, in->left--)
        v = v << 8 | *in->p;
    return v;
}

/* The next N bytes (fewer at the end) in a heap buffer of their size. */
static uint8_t *take_bytes(struct input *in, size_t *n)
{
    if (*n > in->left)
        *n = in->left;
    uint8_t *b = malloc(*n != 0 ? *n : 1);
    if (b == NULL)
        abort();
    memcpy(b, in->p, *n);
    in->p += *n;
    in->left -= *n;
    return b;
}

static void check(int ok)
{
    if (!ok)
        abort();
}

static void check_invariants(const struct muxrec *r, size_t replied)
{
    check(r->sent_len <= MUXREC_SENT_MAX && r->pkt_at <= r->sent_len);
    /* Every packet whole is at least a length and a type. */
    check((size_t)r->requests * MUXREC_HDR_SIZE <= r->pkt_at);
    if (r->session_req >= 0)
        check((unsigned)r->session_req < r->requests &&
              r->session_at + MUXREC_HDR_SIZE <= r->pkt_at);
    check(r->nfds <= MUXREC_FDS_MAX);
    for (unsigned i = 0; i < r->nfds; i++) {
        check(r->session_req >= 0 && r->fds[i].at > r->session_at &&
              r->fds[i].at <= r->sent_len);
        check(i == 0 || r->fds[i].at >= r->fds[i - 1].at);
    }
    check(muxrec_session_start(r) <= r->sent_len);
    /* A reply is never left whole in part[]; each took 4 bytes at least. */
    if (r->part_len >= MUXREC_LEN_SIZE)
        check(r->part_len < MUXREC_LEN_SIZE + (size_t)muxrec_be32(r->part));
    check((size_t)r->replies * MUXREC_LEN_SIZE + r->part_len <= replied);
    check(muxrec_partial_matches(r, r->part, r->part_len) ==
          (r->part_len <= MUXREC_PARTIAL_MAX));
}

/* Run one step; false when follow.c would stop following. */
static bool step(struct input *in, size_t *replied)
{
    int op = take_uint(in, 1) % OPS;
    size_t n;
    uint8_t *b;
    bool go_on = true;

    switch (op) {
    case OP_SEND:
    case OP_FILL:
        if (op == OP_SEND) {
            n = take_uint(in, 2);
            b = take_bytes(in, &n);
        } else {
            n = take_uint(in, 3) % (FILL_MAX + 1);
            b = malloc(n != 0 ? n : 1);
            if (b == NULL)
                abort();
            memset(b, (int)take_uint(in, 1), n);
        }
        go_on = muxrec_sent(&rec, b, n);
        check(go_on == (rec.stop == MUXREC_REPLAYABLE));
        free(b);
        break;
    case OP_REPLY:
        n = take_uint(in, 2);
        b = take_bytes(in, &n);
        *replied += n;
        /* follow.c looks at the answer to a session request before ssh
         * reads it: whatever the bytes, the verdict reads only N of them,
         * and a slot refusal is only ever the answer to a session. */
        if (muxrec_session_answer(&rec, b, n) == MUXREC_ANSWER_SLOT_REFUSED)
            check(muxrec_awaits_session_reply(&rec) && n >= MUXREC_HDR_SIZE);
        go_on = muxrec_reply(&rec, b, n) == MUXREC_GO_ON;
        if (!go_on)
            check(rec.session_req >= 0 &&
                  rec.replies > (unsigned)rec.session_req);
        free(b);
        break;
    case OP_FD: {
        bool may = muxrec_fd_may_pass(&rec);
        go_on = muxrec_fd_passed(&rec, (int)rec.nfds, (unsigned char)take_uint(in, 1));
        check(go_on == may);
        break;
    }
    case OP_FAILED:
        n = take_uint(in, 2);
        size_t h = MUXREC_HDR_SIZE;
        b = take_bytes(in, &h);
        (void)muxrec_failed_write_replayable(
            &rec, h == MUXREC_HDR_SIZE ? b : NULL, n);
        free(b);
        break;
    default:
        abort();
    }
    check_invariants(&rec, *replied);
    return go_on;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    size_t replied = 0;

    muxrec_init(&rec);
    check_invariants(&rec, 0);
    while (in.left > 0 && step(&in, &replied))
        ;
    if (rec.stop != MUXREC_REPLAYABLE) {
        /* Stopped stays stopped. */
        check(!muxrec_sent(&rec, "", 0) && !muxrec_fd_passed(&rec, 0, 0));
        return 0;
    }
    /* What was kept, written at once, is recorded the same way. */
    muxrec_init(&again);
    check(muxrec_sent(&again, rec.sent, rec.sent_len));
    check(again.requests == rec.requests && again.pkt_at == rec.pkt_at &&
          again.session_req == rec.session_req &&
          (rec.session_req < 0 || again.session_at == rec.session_at));
    return 0;
}
