/* muxrec.c: see muxrec.h. Only memcpy and memcmp from libc: this file runs
 * inside the interposed read, write and sendmsg, and in the fuzz target. */
#include "muxrec.h"

#include <limits.h>
#include <string.h>

/* The client's hello is its type and its protocol version, no extensions
 * (ssh sends none): a first packet of any other length is not ssh's. */
#define HELLO_LEN 8

const struct muxrec_type muxrec_types[] = {
    {MUX_MSG_HELLO, "MUX_MSG_HELLO", MUXREC_FIRST, false},
    {MUX_C_NEW_SESSION, "MUX_C_NEW_SESSION", MUXREC_BEFORE_SESSION, true},
    {MUX_C_ALIVE_CHECK, "MUX_C_ALIVE_CHECK", MUXREC_BEFORE_SESSION, false},
    /* -O exit: a replay would stop the new master. */
    {MUX_C_TERMINATE, "MUX_C_TERMINATE", MUXREC_NEVER, false},
    /* Forwardings are requested before the session (muxclient()): a new
     * master sets them up again, as a fresh ssh would. */
    {MUX_C_OPEN_FWD, "MUX_C_OPEN_FWD", MUXREC_BEFORE_SESSION, false},
    /* -O cancel: it would cancel what the new master has, not ours. */
    {MUX_C_CLOSE_FWD, "MUX_C_CLOSE_FWD", MUXREC_NEVER, false},
    /* ssh -W: the stdio forwarding is its session. */
    {MUX_C_NEW_STDIO_FWD, "MUX_C_NEW_STDIO_FWD", MUXREC_BEFORE_SESSION, true},
    /* -O stop: a replay would make the new master stop listening. */
    {MUX_C_STOP_LISTENING, "MUX_C_STOP_LISTENING", MUXREC_NEVER, false},
    /* -O proxy: the connection becomes a raw SSH channel after the reply. */
    {MUX_C_PROXY, "MUX_C_PROXY", MUXREC_NEVER, false},
    /* -O conninfo, -O channels (10.3+): they ask about one master's
     * connection; another master's answer would not be about it. */
    {MUX_C_EXT_INFO, "MUX_C_EXT_INFO", MUXREC_NEVER, false},
    {0, NULL, MUXREC_NEVER, false},
};

const struct muxrec_type *muxrec_type_of(uint32_t type)
{
    for (const struct muxrec_type *t = muxrec_types; t->name != NULL; t++)
        if (t->type == type)
            return t;
    return NULL;
}

const char *muxrec_stop_reason(enum muxrec_stop stop)
{
    switch (stop) {
    case MUXREC_REPLAYABLE:
        return "replayable";
    case MUXREC_NOT_HELLO:
        return "its first packet is not a mux hello";
    case MUXREC_NOT_REPLAYED:
        return "a request that is not replayed";
    case MUXREC_AFTER_SESSION:
        return "a packet after the session request";
    case MUXREC_SHORT_PACKET:
        return "a packet too short to hold its type";
    case MUXREC_TOO_LONG:
        return "beyond the 64 KiB kept until the session reply";
    case MUXREC_FD_OUT_OF_PLACE:
        return "a descriptor passed other than with the session request";
    }
    return "unknown";
}

uint32_t muxrec_be32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < MUXREC_LEN_SIZE; i++)
        v = v << CHAR_BIT | p[i];
    return v;
}

void muxrec_init(struct muxrec *rec)
{
    rec->sent_len = rec->pkt_at = 0;
    rec->requests = rec->nfds = rec->replies = 0;
    rec->session_req = -1;
    rec->session_at = 0;
    rec->part_len = 0;
    rec->stop = MUXREC_REPLAYABLE;
    rec->stop_type = 0;
    rec->master_pid = 0;
}

/* May the packet of length LEN and type TYPE, starting at pkt_at, be
 * replayed as the next one the client sends? */
static enum muxrec_stop judge(const struct muxrec *rec, uint32_t len,
                              uint32_t type)
{
    const struct muxrec_type *t = muxrec_type_of(type);
    /* Anything else first is not an ssh mux client (a hello fits). */
    if (rec->requests == 0)
        return t != NULL && t->when == MUXREC_FIRST && len == HELLO_LEN
                   ? MUXREC_REPLAYABLE
                   : MUXREC_NOT_HELLO;
    if (len < MUXREC_LEN_SIZE)
        return MUXREC_SHORT_PACKET;
    if (len > MUXREC_SENT_MAX - MUXREC_LEN_SIZE ||
        rec->pkt_at + MUXREC_LEN_SIZE + len > MUXREC_SENT_MAX)
        return MUXREC_TOO_LONG;
    /* ssh sends nothing between the session request and its reply. */
    if (rec->session_req >= 0)
        return MUXREC_AFTER_SESSION;
    return t != NULL && t->when == MUXREC_BEFORE_SESSION ? MUXREC_REPLAYABLE
                                                         : MUXREC_NOT_REPLAYED;
}

static bool stopped(struct muxrec *rec, enum muxrec_stop stop, uint32_t type)
{
    rec->stop = stop;
    rec->stop_type = type;
    return false;
}

/* Walk the packets in sent[] from pkt_at: each is judged as soon as its
 * length and type are there, and counted once it is whole. */
static bool parse_sent(struct muxrec *rec)
{
    for (;;) {
        size_t avail = rec->sent_len - rec->pkt_at;
        if (avail < MUXREC_HDR_SIZE)
            return true;
        const unsigned char *p = rec->sent + rec->pkt_at;
        uint32_t len = muxrec_be32(p), type = muxrec_be32(p + MUXREC_LEN_SIZE);
        enum muxrec_stop stop = judge(rec, len, type);
        if (stop != MUXREC_REPLAYABLE)
            return stopped(rec, stop, type);
        if (avail < MUXREC_LEN_SIZE + (size_t)len)
            return true;
        const struct muxrec_type *t = muxrec_type_of(type);
        if (t != NULL && t->starts_session) {
            rec->session_req = (int)rec->requests;
            rec->session_at = rec->pkt_at;
        }
        rec->requests++;
        rec->pkt_at += MUXREC_LEN_SIZE + len;
    }
}

bool muxrec_sent(struct muxrec *rec, const void *buf, size_t n)
{
    if (rec->stop != MUXREC_REPLAYABLE)
        return false;
    if (n > MUXREC_SENT_MAX - rec->sent_len)
        return stopped(rec, MUXREC_TOO_LONG, 0);
    memcpy(rec->sent + rec->sent_len, buf, n);
    rec->sent_len += n;
    return parse_sent(rec);
}

bool muxrec_fd_may_pass(const struct muxrec *rec)
{
    return rec->session_req >= 0 && rec->pkt_at == rec->sent_len &&
           rec->nfds < MUXREC_FDS_MAX;
}

bool muxrec_fd_passed(struct muxrec *rec, int fd, unsigned char byte)
{
    if (rec->stop != MUXREC_REPLAYABLE)
        return false;
    if (!muxrec_fd_may_pass(rec))
        return stopped(rec, MUXREC_FD_OUT_OF_PLACE, 0);
    rec->fds[rec->nfds].at = rec->sent_len;
    rec->fds[rec->nfds].fd = fd;
    rec->fds[rec->nfds].byte = byte;
    rec->nfds++;
    return true;
}

/* The reply in part[] is whole: an alive reply (type, request id, the
 * master's pid) says which process the master is. */
#define ALIVE_LEN ((size_t)3 * MUXREC_LEN_SIZE)
static void note_alive(struct muxrec *rec)
{
    if (muxrec_be32(rec->part) == ALIVE_LEN &&
        muxrec_be32(rec->part + MUXREC_LEN_SIZE) == MUX_S_ALIVE)
        rec->master_pid = muxrec_be32(rec->part + ALIVE_LEN);
}

enum muxrec_verdict muxrec_reply(struct muxrec *rec, const void *buf, size_t n)
{
    const unsigned char *in = buf;
    while (n > 0) {
        size_t want = MUXREC_LEN_SIZE - rec->part_len;
        if (rec->part_len >= MUXREC_LEN_SIZE)
            want = MUXREC_LEN_SIZE + (size_t)muxrec_be32(rec->part) -
                   rec->part_len;
        size_t take = n < want ? n : want;
        if (rec->part_len < MUXREC_PARTIAL_MAX) {
            size_t keep = MUXREC_PARTIAL_MAX - rec->part_len;
            memcpy(rec->part + rec->part_len, in, take < keep ? take : keep);
        }
        rec->part_len += take;
        in += take;
        n -= take;
        if (rec->part_len >= MUXREC_LEN_SIZE &&
            rec->part_len == MUXREC_LEN_SIZE + (size_t)muxrec_be32(rec->part)) {
            note_alive(rec);
            rec->replies++;
            rec->part_len = 0;
        }
    }
    /* Once the client has its session reply, the session may be running:
     * nothing after this point is replayed. */
    if (rec->session_req >= 0 && rec->replies > (unsigned)rec->session_req)
        return MUXREC_SESSION_ANSWERED;
    return MUXREC_GO_ON;
}

bool muxrec_failed_write_replayable(const struct muxrec *rec,
                                    const unsigned char *hdr, size_t n)
{
    /* The packet's start was already recorded and judged. */
    if (rec->pkt_at < rec->sent_len)
        return rec->sent_len - rec->pkt_at >= MUXREC_HDR_SIZE;
    if (n < MUXREC_HDR_SIZE || hdr == NULL)
        return false;
    uint32_t len = muxrec_be32(hdr);
    return n <= MUXREC_LEN_SIZE + (size_t)len &&
           judge(rec, len, muxrec_be32(hdr + MUXREC_LEN_SIZE)) ==
               MUXREC_REPLAYABLE;
}

size_t muxrec_session_start(const struct muxrec *rec)
{
    return rec->session_req >= 0 ? rec->session_at : rec->sent_len;
}

bool muxrec_may_replay(const struct muxrec *rec)
{
    return !(rec->session_req >= 0 && rec->part_len > 0 &&
             rec->replies == (unsigned)rec->session_req);
}

bool muxrec_seen_reply_len_ok(uint32_t len)
{
    return len <= MUXREC_SENT_MAX;
}

bool muxrec_partial_matches(const struct muxrec *rec, const unsigned char *buf,
                            size_t n)
{
    return n == rec->part_len && n <= MUXREC_PARTIAL_MAX &&
           memcmp(buf, rec->part, n) == 0;
}

bool muxrec_awaits_session_reply(const struct muxrec *rec)
{
    return rec->stop == MUXREC_REPLAYABLE && rec->session_req >= 0 &&
           rec->pkt_at == rec->sent_len && rec->part_len == 0 &&
           rec->replies == (unsigned)rec->session_req;
}

/* A reply's fields after its length: type, request id, then (for a
 * failure) a string's length and bytes. */
#define REPLY_TYPE_AT MUXREC_LEN_SIZE
#define REPLY_RID_AT (REPLY_TYPE_AT + MUXREC_LEN_SIZE)
#define REPLY_TEXT_LEN_AT (REPLY_RID_AT + MUXREC_LEN_SIZE)
#define REPLY_TEXT_AT (REPLY_TEXT_LEN_AT + MUXREC_LEN_SIZE)

enum muxrec_answer muxrec_session_answer(const struct muxrec *rec,
                                         const unsigned char *buf, size_t n)
{
    static const char refused[] = MUXREC_REFUSED_TEXT;
    const size_t text_len = sizeof refused - 1;

    if (n < MUXREC_LEN_SIZE)
        return MUXREC_ANSWER_INCOMPLETE;
    /* A refusal has exactly this length: any other is judged at once. */
    if (!muxrec_awaits_session_reply(rec) ||
        muxrec_be32(buf) != REPLY_TEXT_AT - MUXREC_LEN_SIZE + text_len)
        return MUXREC_ANSWER_OTHER;
    if (n < REPLY_TEXT_AT + text_len)
        return MUXREC_ANSWER_INCOMPLETE;
    const unsigned char *req = rec->sent + rec->session_at;
    if (rec->sent_len - rec->session_at < MUXREC_HDR_SIZE + MUXREC_LEN_SIZE ||
        muxrec_be32(req + MUXREC_LEN_SIZE) != MUX_C_NEW_SESSION ||
        muxrec_be32(buf + REPLY_TYPE_AT) != MUX_S_FAILURE ||
        memcmp(buf + REPLY_RID_AT, req + MUXREC_HDR_SIZE, MUXREC_LEN_SIZE) != 0 ||
        muxrec_be32(buf + REPLY_TEXT_LEN_AT) != text_len ||
        memcmp(buf + REPLY_TEXT_AT, refused, text_len) != 0)
        return MUXREC_ANSWER_OTHER;
    return MUXREC_ANSWER_SLOT_REFUSED;
}

/* Where the request whose reply the client reads next starts in sent[]:
 * false when it is not there whole yet (or it is the master's hello). */
static bool awaited_at(const struct muxrec *rec, size_t *at)
{
    *at = 0;
    if (rec->replies == 0)
        return false;
    for (unsigned i = 0; i < rec->replies; i++) {
        if (rec->pkt_at - *at < MUXREC_HDR_SIZE)
            return false;
        *at += MUXREC_LEN_SIZE + (size_t)muxrec_be32(rec->sent + *at);
    }
    return *at < rec->pkt_at && rec->pkt_at - *at >= MUXREC_HDR_SIZE;
}

uint32_t muxrec_awaited_type(const struct muxrec *rec)
{
    size_t at;
    /* The master's hello comes first, whatever the client has sent. */
    if (rec->replies == 0)
        return MUX_MSG_HELLO;
    return awaited_at(rec, &at) ? muxrec_be32(rec->sent + at + MUXREC_LEN_SIZE)
                                : 0;
}

/* MUX_C_OPEN_FWD: length, type, request id, then the forwarding type. */
#define FWD_TYPE_AT (MUXREC_HDR_SIZE + MUXREC_LEN_SIZE)

bool muxrec_awaits_server(const struct muxrec *rec)
{
    size_t at;
    if (!awaited_at(rec, &at))
        return false;
    uint32_t type = muxrec_be32(rec->sent + at + MUXREC_LEN_SIZE);
    if (type == MUX_C_NEW_SESSION || type == MUX_C_NEW_STDIO_FWD)
        return true;
    /* ssh -R waits for the server's answer; -L and -D only for the
     * master's. */
    return type == MUX_C_OPEN_FWD &&
           rec->pkt_at - at >= FWD_TYPE_AT + MUXREC_LEN_SIZE &&
           muxrec_be32(rec->sent + at + FWD_TYPE_AT) == MUX_FWD_REMOTE;
}
