/* muxrec.h: the record of a mux client's handshake, kept so that it can be
 * replayed to another master (follow.h), and the rules for what may be.
 *
 * Pure bookkeeping over a struct muxrec the caller owns: it is fed the bytes
 * the client wrote, the descriptors it passed and the bytes it read, and says
 * whether the exchange can still be replayed. No I/O, no globals, no locks;
 * the unit tests and the fuzz target feed it byte streams directly.
 *
 * The protocol (OpenSSH's PROTOCOL.mux, mux.c): every packet is a big-endian
 * u32 length and that many bytes, starting with a u32 message type. The
 * master speaks first (its hello); each client packet is answered by one
 * reply packet, in order, so the Nth reply the client reads answers its Nth
 * packet (the hello answers the hello). A session or stdio forwarding request
 * is followed by the descriptors it passes (SCM_RIGHTS, one data byte each),
 * and its reply comes once the master has asked the server to start it. */
#ifndef MUXFIX_MUXREC_H
#define MUXFIX_MUXREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The message types a client sends (PROTOCOL.mux; mux_master_handlers[] in
 * mux.c). */
#define MUX_MSG_HELLO 0x00000001U
#define MUX_C_NEW_SESSION 0x10000002U
#define MUX_C_ALIVE_CHECK 0x10000004U
#define MUX_C_TERMINATE 0x10000005U
#define MUX_C_OPEN_FWD 0x10000006U
#define MUX_C_CLOSE_FWD 0x10000007U
#define MUX_C_NEW_STDIO_FWD 0x10000008U
#define MUX_C_STOP_LISTENING 0x10000009U
#define MUX_C_PROXY 0x1000000fU
/* OpenSSH 10.3+: -O conninfo and -O channels (the "info" extension). */
#define MUX_C_EXT_INFO 0x20000001U

/* The replies a master sends that the record looks at. */
#define MUX_S_FAILURE 0x80000003U
#define MUX_S_ALIVE 0x80000005U
#define MUX_S_SESSION_OPENED 0x80000006U
/* The text of the MUX_S_FAILURE a master sends when the server refused the
 * session's channel (mux_session_confirm() in mux.c): sshd's MaxSessions
 * ("no more sessions" in its log), or any other refusal of the channel
 * open. The server opened nothing, so nothing ran. */
#define MUXREC_REFUSED_TEXT "Session open refused by peer"

/* MUX_C_OPEN_FWD's forwarding type for ssh -R: the server answers it. */
#define MUX_FWD_REMOTE 2

/* A packet's length field, and its length and type fields together. */
#define MUXREC_LEN_SIZE 4
#define MUXREC_HDR_SIZE 8
/* What a client writes before its session reply: a hello, an alive check,
 * its forwardings (a few dozen bytes each) and the session request with the
 * command and the environment it sends. A longer exchange is not kept. */
#define MUXREC_SENT_MAX 65536
/* ssh passes three descriptors with a session request, two with stdio
 * forwarding. */
#define MUXREC_FDS_MAX 4
/* The start of the reply the client is in the middle of reading (ssh reads
 * the length, then the body), kept to check a new master's starts the same.
 * Replies before the session are a few dozen bytes. */
#define MUXREC_PARTIAL_MAX 256

/* When a request may be repeated to a new master. */
enum muxrec_when {
    MUXREC_NEVER,          /* it acts on the master or its connection */
    MUXREC_FIRST,          /* only as the first packet: the client hello */
    MUXREC_BEFORE_SESSION, /* anywhere after the hello, up to the session */
};

/* One row of muxrec_types[]. */
struct muxrec_type {
    uint32_t type;
    const char *name;
    enum muxrec_when when;
    bool starts_session; /* its reply means the command may be running */
};

/* Every client message OpenSSH knows, ended by a row with a NULL name. */
extern const struct muxrec_type muxrec_types[];

/* The row of TYPE; NULL when it is none OpenSSH sends. */
const struct muxrec_type *muxrec_type_of(uint32_t type);

/* Why a record stopped being replayable (muxrec_sent or muxrec_fd_passed
 * said false). */
enum muxrec_stop {
    MUXREC_REPLAYABLE,
    MUXREC_NOT_HELLO,       /* the first packet is not a client hello */
    MUXREC_NOT_REPLAYED,    /* a request that is not safe to repeat */
    MUXREC_AFTER_SESSION,   /* a packet after the session request */
    MUXREC_SHORT_PACKET,    /* a length too short to hold a type */
    MUXREC_TOO_LONG,        /* beyond MUXREC_SENT_MAX bytes */
    MUXREC_FD_OUT_OF_PLACE, /* a descriptor not passed with the session */
};

/* A few words for the log, e.g. "a request that is not replayed". */
const char *muxrec_stop_reason(enum muxrec_stop stop);

/* A descriptor the client passed, and where. */
struct muxrec_fd {
    size_t at; /* offset in sent[] where it went: between two packets */
    int fd;
    unsigned char byte; /* the data byte that carried it */
};

struct muxrec {
    size_t sent_len;   /* bytes kept in sent[] */
    size_t pkt_at;     /* where the packet being written starts */
    unsigned requests; /* packets written whole, the hello included */
    int session_req;   /* index of the session request; -1 before it */
    size_t session_at; /* its offset in sent[] */
    struct muxrec_fd fds[MUXREC_FDS_MAX];
    unsigned nfds;
    unsigned replies; /* reply packets the client has read whole */
    size_t part_len;  /* bytes it has read of the next one */
    enum muxrec_stop stop;
    uint32_t stop_type; /* the packet's type, for the stops that have one */
    uint32_t master_pid; /* from the master's alive reply; 0 before it */
    unsigned char part[MUXREC_PARTIAL_MAX];
    unsigned char sent[MUXREC_SENT_MAX];
};

/* An empty record, for a client that has just connected. */
void muxrec_init(struct muxrec *rec);

/* The client wrote BUF (N bytes, accepted by the kernel). False: what it
 * sends is no longer replayable (rec->stop says stop); stop recording. */
bool muxrec_sent(struct muxrec *rec, const void *buf, size_t n);

/* May the client pass a descriptor now: right after its session request,
 * between packets, and not more than MUXREC_FDS_MAX? */
bool muxrec_fd_may_pass(const struct muxrec *rec);

/* The client passed descriptor FD with the data byte BYTE (accepted by the
 * kernel). False as muxrec_sent. */
bool muxrec_fd_passed(struct muxrec *rec, int fd, unsigned char byte);

enum muxrec_verdict {
    MUXREC_GO_ON,            /* keep recording */
    MUXREC_SESSION_ANSWERED, /* the session may be running: stop */
};

/* The client read BUF (N bytes) from the master. */
enum muxrec_verdict muxrec_reply(struct muxrec *rec, const void *buf,
                                 size_t n);

/* A write of N bytes failed because the master went away; HDR holds its
 * first MUXREC_HDR_SIZE bytes (NULL when they could not be read, or N is
 * shorter). Is what the client was sending part of a replayable exchange? */
bool muxrec_failed_write_replayable(const struct muxrec *rec,
                                    const unsigned char *hdr, size_t n);

/* Where the session request starts in sent[] (sent_len before there is
 * one): a replay sends what is before it, reads the replies, then the rest. */
size_t muxrec_session_start(const struct muxrec *rec);

/* Can the exchange be replayed at all? Not when the client is in the middle
 * of reading the session reply: that could only be checked after sending the
 * session again (never the case with ssh, which reads a reply the master
 * wrote whole). */
bool muxrec_may_replay(const struct muxrec *rec);

/* Is a reply of LEN bytes (its length field) one a replay may read and drop:
 * one of the replies before the session, which are short? */
bool muxrec_seen_reply_len_ok(uint32_t len);

/* Do the N bytes at BUF, read from a new master, start the reply the client
 * is in the middle of reading as it did on the old one? */
bool muxrec_partial_matches(const struct muxrec *rec, const unsigned char *buf,
                            size_t n);

/* Is the client waiting for the answer to its session request, with
 * nothing of it read yet: the request sent whole, every reply before it
 * read? */
bool muxrec_awaits_session_reply(const struct muxrec *rec);

/* What a reply the client has not read yet says, judged from its first N
 * bytes at BUF (looked at, not consumed). */
enum muxrec_answer {
    MUXREC_ANSWER_INCOMPLETE,  /* fewer bytes than the packet holds */
    MUXREC_ANSWER_SLOT_REFUSED, /* the server refused the session channel
                                   (MUXREC_REFUSED_TEXT, to a
                                   MUX_C_NEW_SESSION): nothing ran, it may be
                                   asked again */
    MUXREC_ANSWER_OTHER,       /* anything else: the answer stands */
};

/* What the reply at BUF (N bytes) to the session request says. Only a
 * MUX_C_NEW_SESSION's refusal counts: a refused stdio forwarding (ssh -W)
 * is the target refusing the connection (sshd's MaxSessions does not count
 * direct-tcpip channels), and asking again would only delay the failure. */
enum muxrec_answer muxrec_session_answer(const struct muxrec *rec,
                                         const unsigned char *buf, size_t n);

/* The type of the request whose reply the client reads next
 * (MUX_MSG_HELLO: the master's hello, which comes first); 0 when it has
 * not sent it whole yet. */
uint32_t muxrec_awaited_type(const struct muxrec *rec);

/* Does the reply the client reads next wait for the server (a session, a
 * stdio forwarding, a remote forwarding), not only for the master? */
bool muxrec_awaits_server(const struct muxrec *rec);

/* The big-endian u32 at P. */
uint32_t muxrec_be32(const unsigned char *p);

#endif
