/* muxrec_test: unit tests of the mux handshake record (shim/muxrec.h), fed
 * byte streams as ssh writes and reads them, without sockets. Prints one line
 * per failure and a final "N passed, N failed" line; exits 1 on any failure.
 *
 * The packets are built as OpenSSH 9.2's mux client and master build them
 * (mux.c: mux_client_hello_exchange, mux_client_request_alive,
 * mux_client_forward, mux_client_request_session,
 * mux_client_request_stdio_fwd, mux_client_request_terminate, ...). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "muxrec.h"

static int passed, failed;

__attribute__((format(printf, 2, 3))) static void check(bool ok,
                                                        const char *fmt, ...)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* ---- packets ---- */

#define MUX_S_OK 0x80000001U
#define MUX_S_FAILURE 0x80000003U
#define MUX_S_ALIVE 0x80000005U
#define MUX_S_SESSION_OPENED 0x80000006U
#define MUX_S_REMOTE_PORT 0x80000007U
#define SSHMUX_VER 4
#define MUX_FWD_LOCAL 1
#define MUX_FWD_REMOTE 2
#define NO_ESCAPE 0xffffffffU
#define MASTER_PID 4242
#define PKT_MAX 70000

struct packet {
    size_t len;
    unsigned char bytes[PKT_MAX];
};

enum pkt {
    /* client */
    HELLO,
    HELLO_V3,
    HELLO_EXT,
    ALIVE0,
    ALIVE1,
    FWD_LOCAL0,
    FWD_REMOTE1,
    SESSION1,
    SESSION3,
    SESSION_ENV,
    STDIO1,
    TERMINATE0,
    CLOSE_FWD0,
    STOP0,
    PROXY0,
    CONNINFO0,
    CHANNELS0,
    UNKNOWN0,
    REPLY_AS_REQUEST,
    EMPTY,
    SHORT3,
    HUGE,
    BANNER,
    HELLO_THEN_ALIVE,
    SHORT_HDR,
    /* master */
    R_HELLO,
    R_ALIVE0,
    R_ALIVE1,
    R_OK0,
    R_PORT1,
    R_SESSION1,
    R_SESSION3,
    R_FAILURE1,
    R_REFUSED1,
    R_REFUSED3,
    R_REFUSED1_OTHER,
    R_EMPTY,
    NPKT
};

static struct packet packets[NPKT];

static void put32(struct packet *p, unsigned v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        p->bytes[p->len++] = (unsigned char)(v >> shift);
}

/* Build packet ID from FMT: 'u' a u32, 's' a string (u32 length, bytes),
 * 'z' a string of that many 'x' (a size_t argument). The length field is
 * filled in last, as sshbuf_put_stringb does. */
static void build(enum pkt id, const char *fmt, ...)
{
    struct packet *p = &packets[id];
    va_list ap;
    p->len = 4;
    va_start(ap, fmt);
    for (; *fmt != '\0'; fmt++) {
        if (*fmt == 'u') {
            put32(p, va_arg(ap, unsigned));
        } else if (*fmt == 's') {
            const char *s = va_arg(ap, const char *);
            put32(p, (unsigned)strlen(s));
            memcpy(p->bytes + p->len, s, strlen(s));
            p->len += strlen(s);
        } else {
            size_t n = va_arg(ap, size_t);
            put32(p, (unsigned)n);
            memset(p->bytes + p->len, 'x', n);
            p->len += n;
        }
    }
    va_end(ap);
    size_t body = p->len - 4;
    p->len = 0;
    put32(p, (unsigned)body);
    p->len = body + 4;
}

static void raw(enum pkt id, const void *bytes, size_t len)
{
    memcpy(packets[id].bytes, bytes, len);
    packets[id].len = len;
}

static void build_packets(void)
{
    build(HELLO, "uu", MUX_MSG_HELLO, SSHMUX_VER);
    build(HELLO_V3, "uu", MUX_MSG_HELLO, 3);
    build(HELLO_EXT, "uuss", MUX_MSG_HELLO, SSHMUX_VER, "ext", "v");
    build(ALIVE0, "uu", MUX_C_ALIVE_CHECK, 0);
    build(ALIVE1, "uu", MUX_C_ALIVE_CHECK, 1);
    /* ssh -L 8080:localhost:80: ftype, listen host, port, connect host, port */
    build(FWD_LOCAL0, "uuususu", MUX_C_OPEN_FWD, 0, MUX_FWD_LOCAL, "", 8080,
          "localhost", 80);
    build(FWD_REMOTE1, "uuususu", MUX_C_OPEN_FWD, 1, MUX_FWD_REMOTE, "", 0,
          "localhost", 22);
    /* reserved, tty, X11, agent, subsystem, escape char, TERM, command */
    build(SESSION1, "uusuuuuuss", MUX_C_NEW_SESSION, 1, "", 0, 0, 0, 0,
          NO_ESCAPE, "xterm", "echo ok");
    build(SESSION3, "uusuuuuuss", MUX_C_NEW_SESSION, 3, "", 1, 0, 0, 0, '~',
          "xterm-256color", "");
    build(SESSION_ENV, "uusuuuuussss", MUX_C_NEW_SESSION, 1, "", 0, 0, 0, 0,
          NO_ESCAPE, "", "env", "LANG=C.UTF-8", "LC_ALL=C");
    /* ssh -W host:22: reserved, host, port */
    build(STDIO1, "uussu", MUX_C_NEW_STDIO_FWD, 1, "", "target", 22);
    build(TERMINATE0, "uu", MUX_C_TERMINATE, 0);
    build(CLOSE_FWD0, "uuususu", MUX_C_CLOSE_FWD, 0, MUX_FWD_LOCAL, "", 8080,
          "localhost", 80);
    build(STOP0, "uu", MUX_C_STOP_LISTENING, 0);
    build(PROXY0, "uu", MUX_C_PROXY, 0);
    /* OpenSSH 10.3+ -O conninfo / -O channels: type, request id, name */
    build(CONNINFO0, "uus", MUX_C_EXT_INFO, 0, "connection");
    build(CHANNELS0, "uus", MUX_C_EXT_INFO, 0, "channels");
    build(UNKNOWN0, "uu", 0x1000000aU, 0);
    build(REPLY_AS_REQUEST, "uu", MUX_S_OK, 0);
    /* Judged once 8 bytes are in: a length and what would be a type. */
    raw(EMPTY, "\0\0\0\0\0\0\0\1", 8);
    raw(SHORT3, "\0\0\0\3\x10\0\0\4", 8);
    raw(HUGE, "\xff\xff\xff\xff\0\0\0\1", 8);
    raw(BANNER, "SSH-2.0-OpenSSH_9.2p1\r\n", 23);
    raw(HELLO_THEN_ALIVE, packets[HELLO].bytes, packets[HELLO].len);
    memcpy(packets[HELLO_THEN_ALIVE].bytes + packets[HELLO].len,
           packets[ALIVE0].bytes, packets[ALIVE0].len);
    packets[HELLO_THEN_ALIVE].len += packets[ALIVE0].len;
    raw(SHORT_HDR, packets[ALIVE0].bytes, MUXREC_HDR_SIZE - 1);
    build(R_HELLO, "uu", MUX_MSG_HELLO, SSHMUX_VER);
    build(R_ALIVE0, "uuu", MUX_S_ALIVE, 0, MASTER_PID);
    build(R_ALIVE1, "uuu", MUX_S_ALIVE, 1, MASTER_PID);
    build(R_OK0, "uu", MUX_S_OK, 0);
    build(R_PORT1, "uuu", MUX_S_REMOTE_PORT, 1, 40000);
    build(R_SESSION1, "uuu", MUX_S_SESSION_OPENED, 1, 7);
    build(R_SESSION3, "uuu", MUX_S_SESSION_OPENED, 3, 7);
    build(R_FAILURE1, "uus", MUX_S_FAILURE, 1, "did not receive file descriptors");
    /* mux_session_confirm() when the server refused the channel */
    build(R_REFUSED1, "uus", MUX_S_FAILURE, 1, "Session open refused by peer");
    build(R_REFUSED3, "uus", MUX_S_FAILURE, 3, "Session open refused by peer");
    build(R_REFUSED1_OTHER, "uus", MUX_S_FAILURE, 1, "Session open refused by pear");
    raw(R_EMPTY, "\0\0\0\0", 4);
}

/* ---- the table ---- */

enum op { END, SEND, PART, FD, REPLY, FAILED };

struct step {
    enum op op;
    enum pkt pkt;
    size_t chunk; /* SEND, REPLY: bytes per call, 0 all at once; PART: the
                     first CHUNK bytes of the packet in one call */
    bool ok;      /* SEND, FD, FAILED: the result; REPLY: still MUXREC_GO_ON */
};

#define SENT(p) {SEND, p, 0, true}
#define SENT_IN(p, c) {SEND, p, c, true}
#define SENT_FIRST(p, n) {PART, p, n, true}
#define REFUSED(p) {SEND, p, 0, false}
#define REFUSED_IN(p, c) {SEND, p, c, false}
#define PASSED {FD, HELLO, 0, true}
#define FD_REFUSED {FD, HELLO, 0, false}
#define READ(p) {REPLY, p, 0, true}
#define READ_IN(p, c) {REPLY, p, c, true}
#define ANSWERED(p) {REPLY, p, 0, false}
#define ANSWERED_IN(p, c) {REPLY, p, c, false}
/* A write of packet P failed: replayable (FAIL_OK) or not (FAIL_NO). */
#define FAIL_OK(p) {FAILED, p, 0, true}
#define FAIL_NO(p) {FAILED, p, 0, false}
#define STEPS_MAX 16

struct row {
    const char *name;
    struct step steps[STEPS_MAX];
    unsigned requests;
    int session_req;
    unsigned nfds;
    unsigned replies;
    size_t part_len;
    enum muxrec_stop stop;
};

static const struct row rows[] = {
    {"hello only", {SENT(HELLO), READ(R_HELLO)}, 1, -1, 0, 1, 0,
     MUXREC_REPLAYABLE},
    {"hello before the master's hello was read", {SENT(HELLO)}, 1, -1, 0, 0, 0,
     MUXREC_REPLAYABLE},
    {"ssh host cmd: hello, alive, session, 3 fds, session reply",
     {SENT(HELLO), READ(R_HELLO), SENT(ALIVE0), READ(R_ALIVE0), SENT(SESSION1),
      PASSED, PASSED, PASSED, ANSWERED(R_SESSION1)},
     3, 2, 3, 3, 0, MUXREC_REPLAYABLE},
    {"ssh host cmd, session reply not read yet",
     {SENT(HELLO), READ(R_HELLO), SENT(ALIVE0), READ(R_ALIVE0), SENT(SESSION1),
      PASSED, PASSED, PASSED},
     3, 2, 3, 2, 0, MUXREC_REPLAYABLE},
    {"session with SendEnv/SetEnv strings",
     {SENT(HELLO), READ(R_HELLO), SENT(ALIVE0), READ(R_ALIVE0),
      SENT(SESSION_ENV), PASSED, PASSED, PASSED},
     3, 2, 3, 2, 0, MUXREC_REPLAYABLE},
    {"ssh -L -R: two forwardings before alive and session",
     {SENT(HELLO), READ(R_HELLO), SENT(FWD_LOCAL0), READ(R_OK0),
      SENT(FWD_REMOTE1), READ(R_PORT1), SENT(ALIVE1), READ(R_ALIVE1),
      SENT(SESSION3), PASSED, PASSED, PASSED, ANSWERED(R_SESSION3)},
     5, 4, 3, 5, 0, MUXREC_REPLAYABLE},
    {"ssh -W: stdio forwarding, 2 fds, its reply",
     {SENT(HELLO), READ(R_HELLO), SENT(ALIVE0), READ(R_ALIVE0), SENT(STDIO1),
      PASSED, PASSED, ANSWERED(R_SESSION1)},
     3, 2, 2, 3, 0, MUXREC_REPLAYABLE},
    {"session refused (MUX_S_FAILURE) still answers it",
     {SENT(HELLO), READ(R_HELLO), SENT(ALIVE0), READ(R_ALIVE0), SENT(SESSION1),
      PASSED, PASSED, PASSED, ANSWERED(R_FAILURE1)},
     3, 2, 3, 3, 0, MUXREC_REPLAYABLE},
    {"ssh -O check: hello and alive",
     {SENT(HELLO), READ(R_HELLO), SENT(ALIVE0), READ(R_ALIVE0)}, 2, -1, 0, 2,
     0, MUXREC_REPLAYABLE},
    {"ssh -O exit: terminate is not replayable",
     {SENT(HELLO), READ(R_HELLO), REFUSED(TERMINATE0)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"ssh -O exit, terminate written a byte at a time",
     {SENT(HELLO), READ(R_HELLO), REFUSED_IN(TERMINATE0, 1)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"ssh -O cancel: close forwarding is not replayable",
     {SENT(HELLO), READ(R_HELLO), REFUSED(CLOSE_FWD0)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"ssh -O stop: stop listening is not replayable",
     {SENT(HELLO), READ(R_HELLO), REFUSED(STOP0)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"ssh -O proxy: proxy is not replayable",
     {SENT(HELLO), READ(R_HELLO), REFUSED(PROXY0)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"ssh -O conninfo (10.3+): the info request is not replayable",
     {SENT(HELLO), READ(R_HELLO), REFUSED(CONNINFO0)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"ssh -O channels (10.3+), written a byte at a time",
     {SENT(HELLO), READ(R_HELLO), REFUSED_IN(CHANNELS0, 1)}, 1, -1, 0, 1, 0,
     MUXREC_NOT_REPLAYED},
    {"unknown request type", {SENT(HELLO), REFUSED(UNKNOWN0)}, 1, -1, 0, 0, 0,
     MUXREC_NOT_REPLAYED},
    {"a master's message type sent by the client",
     {SENT(HELLO), REFUSED(REPLY_AS_REQUEST)}, 1, -1, 0, 0, 0,
     MUXREC_NOT_REPLAYED},
    {"a second hello", {SENT(HELLO), REFUSED(HELLO)}, 1, -1, 0, 0, 0,
     MUXREC_NOT_REPLAYED},
    {"first packet not a hello", {REFUSED(ALIVE0)}, 0, -1, 0, 0, 0,
     MUXREC_NOT_HELLO},
    {"hello of another version is still a hello", {SENT(HELLO_V3)}, 1, -1, 0,
     0, 0, MUXREC_REPLAYABLE},
    {"hello with extensions (ssh sends none)", {REFUSED(HELLO_EXT)}, 0, -1, 0,
     0, 0, MUXREC_NOT_HELLO},
    {"SSH banner on a managed path (length 'SSH-')", {REFUSED(BANNER)}, 0, -1,
     0, 0, 0, MUXREC_NOT_HELLO},
    {"zero length first", {REFUSED(EMPTY)}, 0, -1, 0, 0, 0, MUXREC_NOT_HELLO},
    {"zero length after the hello", {SENT(HELLO), REFUSED(EMPTY)}, 1, -1, 0, 0,
     0, MUXREC_SHORT_PACKET},
    {"length 0xffffffff first", {REFUSED(HUGE)}, 0, -1, 0, 0, 0,
     MUXREC_NOT_HELLO},
    {"length 3 after the hello", {SENT(HELLO), REFUSED(SHORT3)}, 1, -1, 0, 0,
     0, MUXREC_SHORT_PACKET},
    {"length 0xffffffff after the hello", {SENT(HELLO), REFUSED(HUGE)}, 1, -1,
     0, 0, 0, MUXREC_TOO_LONG},
    {"a packet after the session request",
     {SENT(HELLO), SENT(ALIVE0), SENT(SESSION1), PASSED, REFUSED(ALIVE1)}, 3,
     2, 1, 0, 0, MUXREC_AFTER_SESSION},
    {"a descriptor before the session request",
     {SENT(HELLO), SENT(ALIVE0), FD_REFUSED}, 2, -1, 0, 0, 0,
     MUXREC_FD_OUT_OF_PLACE},
    {"a descriptor in the middle of the session request",
     {SENT(HELLO), SENT(ALIVE0), SENT_FIRST(SESSION1, 40), FD_REFUSED}, 2, -1, 0,
     0, 0, MUXREC_FD_OUT_OF_PLACE},
    {"a fifth descriptor",
     {SENT(HELLO), SENT(SESSION1), PASSED, PASSED, PASSED, PASSED, FD_REFUSED},
     2, 1, 4, 0, 0, MUXREC_FD_OUT_OF_PLACE},
    {"packets written a byte at a time",
     {SENT_IN(HELLO, 1), SENT_IN(ALIVE0, 1), SENT_IN(SESSION1, 1), PASSED},
     3, 2, 1, 0, 0, MUXREC_REPLAYABLE},
    {"replies read as ssh does: length, then body",
     {SENT(HELLO), READ_IN(R_HELLO, 4), SENT(ALIVE0), READ_IN(R_ALIVE0, 4),
      SENT(SESSION1), PASSED, PASSED, PASSED, ANSWERED_IN(R_SESSION1, 4)},
     3, 2, 3, 3, 0, MUXREC_REPLAYABLE},
    {"replies read a byte at a time",
     {SENT(HELLO), READ_IN(R_HELLO, 1), SENT(SESSION1), PASSED, PASSED, PASSED,
      ANSWERED_IN(R_SESSION1, 1)},
     2, 1, 3, 2, 0, MUXREC_REPLAYABLE},
    {"a zero-length reply counts as one",
     {SENT(HELLO), SENT(ALIVE0), READ(R_EMPTY), READ(R_EMPTY)}, 2, -1, 0, 2, 0,
     MUXREC_REPLAYABLE},
    {"failed write of the alive check: replayable",
     {SENT(HELLO), READ(R_HELLO), FAIL_OK(ALIVE0)}, 1, -1, 0, 1, 0,
     MUXREC_REPLAYABLE},
    {"failed write of the session request: replayable",
     {SENT(HELLO), SENT(ALIVE0), FAIL_OK(SESSION1)}, 2, -1, 0, 0, 0,
     MUXREC_REPLAYABLE},
    {"failed write of the hello: replayable", {FAIL_OK(HELLO)}, 0, -1, 0, 0, 0,
     MUXREC_REPLAYABLE},
    {"failed write of -O exit: not replayable",
     {SENT(HELLO), FAIL_NO(TERMINATE0)}, 1, -1, 0, 0, 0, MUXREC_REPLAYABLE},
    {"failed write of a non-mux first packet: not replayable",
     {FAIL_NO(BANNER)}, 0, -1, 0, 0, 0, MUXREC_REPLAYABLE},
    {"failed write of the rest of a judged packet: replayable",
     {SENT(HELLO), SENT_FIRST(SESSION1, 20), FAIL_OK(HELLO)}, 1, -1, 0, 0, 0,
     MUXREC_REPLAYABLE},
    {"failed write after a header written in part: not replayable",
     {SENT(HELLO), SENT_FIRST(SESSION1, 5), FAIL_NO(HELLO)}, 1, -1, 0, 0, 0,
     MUXREC_REPLAYABLE},
    {"failed write of two packets at once: not replayable",
     {FAIL_NO(HELLO_THEN_ALIVE)}, 0, -1, 0, 0, 0, MUXREC_REPLAYABLE},
    {"failed write of a header cut short: not replayable",
     {SENT(HELLO), FAIL_NO(SHORT_HDR)}, 1, -1, 0, 0, 0, MUXREC_REPLAYABLE},
};

/* Feed STEP to REC; false when its outcome differs from the table's. Sets
 * *STOP when the step ended the following. */
static bool run_step(struct muxrec *rec, const struct step *s, bool *stop)
{
    const struct packet *p = &packets[s->pkt];
    size_t chunk = s->chunk != 0 ? s->chunk : p->len;
    bool ok = true;

    switch (s->op) {
    case SEND:
        for (size_t at = 0; at < p->len && ok; at += chunk)
            ok = muxrec_sent(rec, p->bytes + at,
                             p->len - at < chunk ? p->len - at : chunk);
        break;
    case PART:
        ok = muxrec_sent(rec, p->bytes, s->chunk);
        break;
    case FD:
        ok = muxrec_fd_passed(rec, (int)rec->nfds, 'x');
        break;
    case REPLY:
        for (size_t at = 0; at < p->len && ok; at += chunk) {
            size_t n = p->len - at < chunk ? p->len - at : chunk;
            ok = muxrec_reply(rec, p->bytes + at, n) == MUXREC_GO_ON;
            /* Only the last byte of the session reply answers it. */
            if (!ok && at + n < p->len)
                return false;
        }
        break;
    case FAILED:
        return muxrec_failed_write_replayable(rec, p->bytes, p->len) == s->ok;
    case END:
        break;
    }
    *stop = !ok;
    return ok == s->ok;
}

static void test_rows(void)
{
    static struct muxrec rec;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        muxrec_init(&rec);
        bool stop = false;
        for (const struct step *s = r->steps; s->op != END && !stop; s++)
            check(run_step(&rec, s, &stop), "%s: step %d", r->name,
                  (int)(s - r->steps));
        check(rec.requests == r->requests && rec.session_req == r->session_req &&
                  rec.nfds == r->nfds && rec.replies == r->replies &&
                  rec.part_len == r->part_len && rec.stop == r->stop,
              "%s: requests %u session %d fds %u replies %u part %zu stop %d",
              r->name, rec.requests, rec.session_req, rec.nfds, rec.replies,
              rec.part_len, (int)rec.stop);
        check(rec.pkt_at <= rec.sent_len && rec.sent_len <= MUXREC_SENT_MAX,
              "%s: offsets", r->name);
    }
}

/* ---- streams split everywhere ---- */

/* ssh -L ... host cmd as ssh writes it, and as the master answers. */
static const enum pkt client_stream[] = {HELLO, FWD_LOCAL0, ALIVE1, SESSION3};
static const enum pkt master_stream[] = {R_HELLO, R_OK0, R_ALIVE1, R_SESSION3};
#define NSTREAM (sizeof client_stream / sizeof client_stream[0])

static size_t concat(const enum pkt *ids, size_t n, unsigned char *out,
                     size_t *ends)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + len, packets[ids[i]].bytes, packets[ids[i]].len);
        len += packets[ids[i]].len;
        ends[i] = len;
    }
    return len;
}

/* The record of the client stream in one write, in two at every offset and
 * in writes of every size is the same. */
static void test_split_writes(void)
{
    static struct muxrec whole, split;
    unsigned char buf[1024];
    size_t ends[NSTREAM];
    size_t len = concat(client_stream, NSTREAM, buf, ends);

    muxrec_init(&whole);
    check(muxrec_sent(&whole, buf, len) && whole.requests == NSTREAM &&
              whole.session_req == (int)NSTREAM - 1 &&
              whole.session_at == ends[NSTREAM - 2] && whole.pkt_at == len,
          "whole stream: requests %u session %d at %zu", whole.requests,
          whole.session_req, whole.session_at);
    int bad_split = 0, bad_chunk = 0;
    for (size_t k = 0; k <= len; k++) {
        muxrec_init(&split);
        bool ok = muxrec_sent(&split, buf, k);
        /* Every packet is counted once it is whole, not before. */
        unsigned whole_before = 0;
        while (whole_before < NSTREAM && ends[whole_before] <= k)
            whole_before++;
        ok = ok && split.requests == whole_before;
        ok = ok && muxrec_sent(&split, buf + k, len - k);
        if (!ok || split.requests != whole.requests ||
            split.session_req != whole.session_req ||
            split.session_at != whole.session_at || split.pkt_at != whole.pkt_at ||
            memcmp(split.sent, whole.sent, len) != 0)
            bad_split++;
    }
    check(bad_split == 0, "split in two at every offset: %d differ", bad_split);
    for (size_t c = 1; c <= len; c++) {
        muxrec_init(&split);
        bool ok = true;
        for (size_t at = 0; at < len && ok; at += c)
            ok = muxrec_sent(&split, buf + at, len - at < c ? len - at : c);
        if (!ok || split.requests != whole.requests ||
            split.session_at != whole.session_at || split.pkt_at != whole.pkt_at)
            bad_chunk++;
    }
    check(bad_chunk == 0, "writes of every size: %d differ", bad_chunk);
    /* -O exit split at every offset: refused as soon as its type is in. */
    int bad_exit = 0;
    const struct packet *t = &packets[TERMINATE0];
    for (size_t k = 1; k < t->len; k++) {
        muxrec_init(&split);
        bool first = muxrec_sent(&split, packets[HELLO].bytes,
                                 packets[HELLO].len) &&
                     muxrec_sent(&split, t->bytes, k);
        bool second = muxrec_sent(&split, t->bytes + k, t->len - k);
        if (first != (k < MUXREC_HDR_SIZE) || second ||
            split.stop != MUXREC_NOT_REPLAYED || split.requests != 1)
            bad_exit++;
    }
    check(bad_exit == 0, "-O exit split at every offset: %d wrong", bad_exit);
}

/* The replies read a byte at a time: each is counted at its last byte, and
 * the session is answered exactly at the last byte of its reply. */
static void test_split_replies(void)
{
    static struct muxrec rec;
    unsigned char out[1024], in[256];
    size_t oends[NSTREAM], iends[NSTREAM];
    size_t olen = concat(client_stream, NSTREAM, out, oends);
    size_t ilen = concat(master_stream, NSTREAM, in, iends);
    int bad = 0;

    muxrec_init(&rec);
    check(muxrec_sent(&rec, out, olen), "stream for replies");
    for (int i = 0; i < 3; i++)
        check(muxrec_fd_passed(&rec, i, 'x'), "fd %d", i);
    size_t next = 0;
    for (size_t k = 0; k < ilen; k++) {
        enum muxrec_verdict v = muxrec_reply(&rec, in + k, 1);
        if (k + 1 == iends[next])
            next++;
        bool last = k + 1 == ilen;
        if (rec.replies != next || (v == MUXREC_SESSION_ANSWERED) != last)
            bad++;
        if (!last && rec.part_len != k + 1 - (next > 0 ? iends[next - 1] : 0))
            bad++;
        /* A replay could only go on where it can check the half-read reply
         * of a new master; never in the middle of the session's. */
        if (muxrec_may_replay(&rec) != (next < NSTREAM - 1 || rec.part_len == 0))
            bad++;
    }
    check(bad == 0, "replies a byte at a time: %d wrong", bad);

    /* Split in two at every offset: the same count. */
    bad = 0;
    for (size_t k = 0; k <= ilen; k++) {
        struct muxrec *r = &rec;
        muxrec_init(r);
        (void)muxrec_sent(r, out, olen);
        (void)muxrec_reply(r, in, k);
        if (muxrec_reply(r, in + k, ilen - k) != MUXREC_SESSION_ANSWERED ||
            r->replies != NSTREAM || r->part_len != 0)
            bad++;
    }
    check(bad == 0, "replies split in two at every offset: %d wrong", bad);
}

/* ---- bounds ---- */

static void test_bounds(void)
{
    static struct muxrec rec;
    static unsigned char big[MUXREC_SENT_MAX + 16];
    const struct packet *h = &packets[HELLO];

    /* A session request filling the record exactly is kept; one byte more
     * is not. */
    size_t body = MUXREC_SENT_MAX - h->len - MUXREC_LEN_SIZE;
    memset(big, 0, sizeof big);
    big[0] = (unsigned char)(body >> 24);
    big[1] = (unsigned char)(body >> 16);
    big[2] = (unsigned char)(body >> 8);
    big[3] = (unsigned char)body;
    big[4] = 0x10, big[7] = 0x02; /* MUX_C_NEW_SESSION */
    muxrec_init(&rec);
    check(muxrec_sent(&rec, h->bytes, h->len) &&
              muxrec_sent(&rec, big, MUXREC_SENT_MAX - h->len) &&
              rec.requests == 2 && rec.sent_len == MUXREC_SENT_MAX,
          "exactly 64 KiB kept: requests %u len %zu", rec.requests,
          rec.sent_len);
    check(muxrec_fd_passed(&rec, 0, 'x'), "fd after a 64 KiB session");
    check(!muxrec_sent(&rec, "x", 1) && rec.stop == MUXREC_TOO_LONG,
          "one byte more is refused");
    check(!muxrec_sent(&rec, "x", 0) && !muxrec_fd_passed(&rec, 1, 'x'),
          "a stopped record stays stopped");

    body++;
    big[3] = (unsigned char)body;
    muxrec_init(&rec);
    check(muxrec_sent(&rec, h->bytes, h->len) &&
              !muxrec_sent(&rec, big, MUXREC_HDR_SIZE) &&
              rec.stop == MUXREC_TOO_LONG,
          "a length one past the end is refused from its header");

    muxrec_init(&rec);
    check(!muxrec_sent(&rec, big, sizeof big) && rec.sent_len == 0 &&
              rec.stop == MUXREC_TOO_LONG,
          "a write longer than the record is refused whole");

    /* Replies: a long one (an error message) is counted, only its start is
     * kept, and a replay refuses to drop a reply longer than 64 KiB. */
    static unsigned char reply[2 * MUXREC_PARTIAL_MAX];
    memset(reply, 'e', sizeof reply);
    reply[0] = reply[1] = 0;
    reply[2] = (unsigned char)((sizeof reply - 4) >> 8);
    reply[3] = (unsigned char)(sizeof reply - 4);
    muxrec_init(&rec);
    (void)muxrec_sent(&rec, h->bytes, h->len);
    check(muxrec_reply(&rec, reply, sizeof reply - 1) == MUXREC_GO_ON &&
              rec.part_len == sizeof reply - 1 && rec.replies == 0,
          "long reply, all but a byte");
    check(memcmp(rec.sent, h->bytes, h->len) == 0 && rec.sent_len == h->len,
          "a long reply leaves the record of what was sent alone");
    check(!muxrec_partial_matches(&rec, reply, rec.part_len),
          "a half-read reply longer than what is kept cannot be checked");
    check(muxrec_reply(&rec, reply, 1) == MUXREC_GO_ON && rec.replies == 1 &&
              rec.part_len == 0,
          "long reply, last byte");
    check(muxrec_seen_reply_len_ok(MUXREC_SENT_MAX) &&
              !muxrec_seen_reply_len_ok(MUXREC_SENT_MAX + 1) &&
              !muxrec_seen_reply_len_ok(0xffffffffU),
          "reply lengths a replay drops");

    muxrec_init(&rec);
    (void)muxrec_reply(&rec, packets[R_ALIVE0].bytes, 6);
    check(muxrec_partial_matches(&rec, packets[R_ALIVE0].bytes, 6) &&
              !muxrec_partial_matches(&rec, packets[R_ALIVE1].bytes, 5) &&
              !muxrec_partial_matches(&rec, packets[R_OK0].bytes, 6),
          "a half-read reply matches only the same start");
}

/* ---- the replay's view ---- */

static void test_replay_view(void)
{
    static struct muxrec rec;
    muxrec_init(&rec);
    check(muxrec_session_start(&rec) == 0 && muxrec_may_replay(&rec),
          "empty record");
    (void)muxrec_sent(&rec, packets[HELLO].bytes, packets[HELLO].len);
    (void)muxrec_sent(&rec, packets[ALIVE0].bytes, packets[ALIVE0].len);
    check(muxrec_session_start(&rec) == rec.sent_len, "no session yet");
    size_t at = rec.sent_len;
    (void)muxrec_sent(&rec, packets[SESSION1].bytes, packets[SESSION1].len);
    check(muxrec_session_start(&rec) == at && muxrec_fd_may_pass(&rec),
          "session starts at %zu", at);
    check(muxrec_fd_passed(&rec, 0, 'a') &&
              rec.fds[0].at == rec.sent_len && rec.fds[0].byte == 'a',
          "descriptor recorded after the session request");
    (void)muxrec_reply(&rec, packets[R_HELLO].bytes, packets[R_HELLO].len);
    (void)muxrec_reply(&rec, packets[R_ALIVE0].bytes, 4);
    check(muxrec_may_replay(&rec), "half-read alive reply: replayable");
    (void)muxrec_reply(&rec, packets[R_ALIVE0].bytes + 4,
                       packets[R_ALIVE0].len - 4);
    check(muxrec_may_replay(&rec), "before the session reply: replayable");
    (void)muxrec_reply(&rec, packets[R_SESSION1].bytes, 4);
    check(!muxrec_may_replay(&rec), "half-read session reply: not replayable");
}

/* ---- the answer to a session request, looked at before ssh reads it ---- */

/* REC: hello, alive check and SESSION sent (three descriptors), the hello
 * and alive replies read. */
static void up_to_session(struct muxrec *rec, enum pkt session)
{
    muxrec_init(rec);
    (void)muxrec_sent(rec, packets[HELLO].bytes, packets[HELLO].len);
    (void)muxrec_sent(rec, packets[ALIVE0].bytes, packets[ALIVE0].len);
    (void)muxrec_reply(rec, packets[R_HELLO].bytes, packets[R_HELLO].len);
    (void)muxrec_reply(rec, packets[R_ALIVE0].bytes, packets[R_ALIVE0].len);
    (void)muxrec_sent(rec, packets[session].bytes, packets[session].len);
}

static enum muxrec_answer answer(const struct muxrec *rec, enum pkt p, size_t n)
{
    return muxrec_session_answer(rec, packets[p].bytes,
                                 n != 0 ? n : packets[p].len);
}

static void test_session_answer(void)
{
    static struct muxrec rec;
    const struct packet *refused = &packets[R_REFUSED1];

    up_to_session(&rec, SESSION1);
    check(muxrec_awaits_session_reply(&rec), "awaits the session reply");
    check(answer(&rec, R_REFUSED1, 0) == MUXREC_ANSWER_SLOT_REFUSED,
          "the server refused the session: a slot to wait for");
    check(refused->len == 44, "a refusal is %zu bytes", refused->len);
    for (size_t n = 0; n < refused->len; n++)
        check(answer(&rec, R_REFUSED1, n == 0 ? 1 : n) ==
                  MUXREC_ANSWER_INCOMPLETE,
              "refusal seen in part (%zu bytes): incomplete", n == 0 ? 1 : n);
    check(answer(&rec, R_SESSION1, 0) == MUXREC_ANSWER_OTHER &&
              answer(&rec, R_SESSION1, 4) == MUXREC_ANSWER_OTHER,
          "session opened: judged from its length alone");
    check(answer(&rec, R_FAILURE1, 0) == MUXREC_ANSWER_OTHER,
          "another failure is not waited on");
    check(answer(&rec, R_REFUSED1_OTHER, 0) == MUXREC_ANSWER_OTHER,
          "the exact text only");
    check(answer(&rec, R_REFUSED3, 0) == MUXREC_ANSWER_OTHER,
          "a refusal of another request id");
    check(answer(&rec, R_EMPTY, 0) == MUXREC_ANSWER_OTHER,
          "an empty packet");

    up_to_session(&rec, STDIO1);
    check(answer(&rec, R_REFUSED1, 0) == MUXREC_ANSWER_OTHER,
          "ssh -W refused: the target refused it, not a slot");

    up_to_session(&rec, SESSION1);
    (void)muxrec_reply(&rec, refused->bytes, 4);
    check(!muxrec_awaits_session_reply(&rec) &&
              answer(&rec, R_REFUSED1, 0) == MUXREC_ANSWER_OTHER,
          "once ssh has read part of it, the answer stands");
    up_to_session(&rec, SESSION1);
    (void)muxrec_sent(&rec, packets[SESSION1].bytes, 6);
    check(!muxrec_awaits_session_reply(&rec),
          "a packet after the session request: not awaiting its reply");
    muxrec_init(&rec);
    (void)muxrec_sent(&rec, packets[HELLO].bytes, packets[HELLO].len);
    check(!muxrec_awaits_session_reply(&rec) &&
              answer(&rec, R_REFUSED1, 0) == MUXREC_ANSWER_OTHER,
          "no session request: nothing to wait for");
    muxrec_init(&rec);
    (void)muxrec_sent(&rec, packets[HELLO].bytes, packets[HELLO].len);
    (void)muxrec_reply(&rec, packets[R_HELLO].bytes, packets[R_HELLO].len);
    (void)muxrec_sent(&rec, packets[SESSION1].bytes, packets[SESSION1].len - 1);
    check(!muxrec_awaits_session_reply(&rec),
          "session request not whole yet");
}

/* ---- which reply the client waits for, and who the master is ---- */

static void test_awaited(void)
{
    static struct muxrec rec;
    muxrec_init(&rec);
    check(muxrec_awaited_type(&rec) == MUX_MSG_HELLO && !muxrec_awaits_server(&rec),
          "first the master's hello");
    (void)muxrec_sent(&rec, packets[HELLO].bytes, packets[HELLO].len);
    (void)muxrec_reply(&rec, packets[R_HELLO].bytes, packets[R_HELLO].len);
    check(muxrec_awaited_type(&rec) == 0, "nothing sent after the hello");
    (void)muxrec_sent(&rec, packets[FWD_LOCAL0].bytes, packets[FWD_LOCAL0].len);
    check(muxrec_awaited_type(&rec) == MUX_C_OPEN_FWD && !muxrec_awaits_server(&rec),
          "ssh -L: the master answers it");
    (void)muxrec_reply(&rec, packets[R_OK0].bytes, packets[R_OK0].len);
    (void)muxrec_sent(&rec, packets[FWD_REMOTE1].bytes, 10);
    check(muxrec_awaited_type(&rec) == 0 && !muxrec_awaits_server(&rec),
          "ssh -R in part: not sent whole yet");
    (void)muxrec_sent(&rec, packets[FWD_REMOTE1].bytes + 10,
                      packets[FWD_REMOTE1].len - 10);
    check(muxrec_awaits_server(&rec), "ssh -R: the server answers it");
    (void)muxrec_reply(&rec, packets[R_PORT1].bytes, packets[R_PORT1].len);
    (void)muxrec_sent(&rec, packets[ALIVE1].bytes, packets[ALIVE1].len);
    check(muxrec_awaited_type(&rec) == MUX_C_ALIVE_CHECK &&
              !muxrec_awaits_server(&rec) && rec.master_pid == 0,
          "alive check: the master answers it");
    (void)muxrec_reply(&rec, packets[R_ALIVE1].bytes, 9);
    check(rec.master_pid == 0, "alive reply in part: no pid yet");
    (void)muxrec_reply(&rec, packets[R_ALIVE1].bytes + 9, packets[R_ALIVE1].len - 9);
    check(rec.master_pid == MASTER_PID, "the master's pid from its alive reply");
    (void)muxrec_sent(&rec, packets[SESSION3].bytes, packets[SESSION3].len);
    check(muxrec_awaited_type(&rec) == MUX_C_NEW_SESSION && muxrec_awaits_server(&rec),
          "session: the server answers it");
    up_to_session(&rec, STDIO1);
    check(muxrec_awaits_server(&rec) && rec.master_pid == MASTER_PID,
          "ssh -W: the server answers it");
}

/* ---- the table of message types ---- */

static void test_types(void)
{
    static const uint32_t replayable[] = {MUX_C_ALIVE_CHECK, MUX_C_OPEN_FWD,
                                          MUX_C_NEW_SESSION,
                                          MUX_C_NEW_STDIO_FWD};
    size_t n = 0, sessions = 0;
    for (const struct muxrec_type *t = muxrec_types; t->name != NULL; t++) {
        n++;
        check(muxrec_type_of(t->type) == t, "%s found", t->name);
        sessions += t->starts_session;
    }
    check(n == 10, "%zu message types", n);
    check(sessions == 2, "%zu of them start a session", sessions);
    for (size_t i = 0; i < sizeof replayable / sizeof replayable[0]; i++) {
        const struct muxrec_type *t = muxrec_type_of(replayable[i]);
        check(t != NULL && t->when == MUXREC_BEFORE_SESSION,
              "0x%08x replayable", (unsigned)replayable[i]);
    }
    check(muxrec_type_of(MUX_MSG_HELLO)->when == MUXREC_FIRST, "hello first");
    check(muxrec_type_of(MUX_C_TERMINATE)->when == MUXREC_NEVER &&
              strcmp(muxrec_type_of(MUX_C_TERMINATE)->name, "MUX_C_TERMINATE") == 0,
          "terminate never");
    check(muxrec_type_of(MUX_C_EXT_INFO) != NULL &&
              muxrec_type_of(MUX_C_EXT_INFO)->when == MUXREC_NEVER &&
              strcmp(muxrec_type_of(MUX_C_EXT_INFO)->name, "MUX_C_EXT_INFO") == 0,
          "conninfo/channels (ext info) never");
    check(muxrec_type_of(0) == NULL && muxrec_type_of(MUX_S_OK) == NULL &&
              muxrec_type_of(0x1000000aU) == NULL,
          "unknown types");
    for (int why = MUXREC_REPLAYABLE; why <= MUXREC_FD_OUT_OF_PLACE; why++)
        check(strcmp(muxrec_stop_reason((enum muxrec_stop)why), "unknown") != 0,
              "reason %d", why);
}

int main(void)
{
    build_packets();
    test_types();
    test_rows();
    test_split_writes();
    test_split_replies();
    test_bounds();
    test_replay_view();
    test_session_answer();
    test_awaited();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
