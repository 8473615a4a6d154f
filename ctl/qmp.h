/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmp: a client for the QEMU Machine Protocol on a unix socket.
 *
 * Owns: connecting (with retries until the socket exists, within a timeout),
 * the greeting and capabilities negotiation, executing one command at a time
 * with a per-call deadline, matching the reply to the command by "id",
 * keeping or dispatching asynchronous events, and the few commands tenantd's
 * reaction ladder uses (balloon, stop/cont, system_powerdown, quit, status).
 * Does not own: deciding when to use them (react), starting QEMU (launch.h),
 * or the socket path (the tenant's [vm] qmp = policy key).
 *
 * The wire format is a byte stream of JSON objects (QEMU ends each with
 * "\r\n", but the parser does not rely on it), delivered in whatever pieces
 * the socket gives. qmp_parser_feed() finds where each object ends with a
 * small incremental scanner and has json-c parse the complete object, so the
 * result never depends on how the stream was split (json-c 0.16's own
 * incremental mode does: see qmp.c). Anything that does not start with '{'
 * is junk at once. Splitting and classifying are pure functions without I/O
 * (qmp_parser_feed(), qmp_parse_reply()), fuzzed by tests/fuzz/fuzz-qmp.c,
 * which checks that a stream fed whole and fed in pieces agree.
 *
 * Every command carries an "id" ("tenantd-<n>"); a reply with another id is
 * the late answer to an earlier command that timed out and is dropped, so a
 * timeout does not desynchronise the connection. A reply without an id
 * (QEMU's answer to a request it could not parse) counts as the answer to the
 * pending command.
 *
 * Errors are -errno:
 *   -ETIMEDOUT     no reply before the deadline (the connection stays usable);
 *   -EIO           QEMU answered with an "error" (class GenericError and any
 *                  class not listed below); qmp_last_error() has the class and
 *                  the description to show. More specific classes:
 *                  CommandNotFound -> -EOPNOTSUPP, DeviceNotActive and
 *                  DeviceNotFound -> -ENODEV (e.g. "No balloon device has
 *                  been activated"), KVMMissingCap -> -EOPNOTSUPP;
 *   -ECONNRESET    the peer closed the connection (also after "quit");
 *   -EBADMSG       the peer sent something that is not a QMP message (this
 *                  breaks the connection), or a helper below got a reply of
 *                  the wrong shape (this does not);
 *   -EMSGSIZE      a message larger than QMP_MESSAGE_MAX;
 *   -EPROTO        the first message was not a greeting;
 *   -ENOTCONN      the connection broke earlier (-ECONNRESET, a stream
 *                  -EBADMSG, -EMSGSIZE, a send error or a half-written
 *                  command): free it and connect again.
 *
 * Non-blocking use (the daemon's sd-event loop): the socket is non-blocking
 * and qmp_fd() exposes it; when it becomes readable, qmp_process() reads what
 * is there and dispatches events without waiting. Commands still wait for
 * their reply with poll() up to their deadline (QEMU answers the commands
 * used here in milliseconds); events that arrive meanwhile, and complete
 * events that came in the same read() as the reply, are queued or passed to
 * the handler before the command returns, so nothing is left in a buffer
 * that polling the fd would not reveal.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define QMP_MESSAGE_MAX (UINT64_C(1) << 20)      /* bytes of one incoming message */
#define QMP_EVENTS_MAX 256                         /* queued events; older ones are dropped */
#define QMP_TIMEOUT_USEC (5 * UINT64_C(1000000))   /* default per-command deadline */

typedef struct QmpError {
        char error_class[64];   /* "GenericError", "CommandNotFound", ... or "" */
        char desc[512];         /* QEMU's human-readable description */
} QmpError;

typedef enum QmpMsgKind {
        QMP_MSG_GREETING,       /* {"QMP": {"version": ..., "capabilities": [...]}} */
        QMP_MSG_RETURN,         /* {"return": VALUE, "id": ...} */
        QMP_MSG_ERROR,          /* {"error": {"class": ..., "desc": ...}, "id": ...} */
        QMP_MSG_EVENT,          /* {"event": NAME, "data": {...}, "timestamp": {...}} */
} QmpMsgKind;

typedef struct QmpMsg {
        QmpMsgKind kind;
        json_object *root;      /* the whole message (owned) */
        json_object *value;     /* borrowed from root: greeting's "QMP" object, the
                                   "return" value, the event's "data" (NULL if absent) */
        const char *event;      /* event name */
        const char *id;         /* the "id" when it is a string, else NULL */
        bool has_id;            /* an "id" member of any type is present */
        uint64_t timestamp_usec;/* event timestamp (CLOCK_REALTIME in QEMU), 0 if absent */
        QmpError error;         /* QMP_MSG_ERROR */
} QmpMsg;

void qmp_msg_done(QmpMsg *m);

/* Classify one parsed JSON value as a QMP message. Takes a new reference on
 * obj. Returns 0, or -EBADMSG when obj is not a QMP message (not an object,
 * none of QMP/return/error/event, or members of the wrong type). */
int qmp_msg_classify(json_object *obj, QmpMsg *ret);

/* Parse exactly one message from buf (no NUL needed; whitespace around it
 * allowed). Pure. Returns 0, -ENODATA when buf holds no complete message,
 * -EBADMSG for bad JSON, trailing bytes or a non-QMP value, -EMSGSIZE when
 * len > QMP_MESSAGE_MAX. A top-level value that is not an object is -EBADMSG
 * at its first byte. */
int qmp_parse_reply(const char *buf, size_t len, QmpMsg *ret);

/* Incremental splitter for the byte stream. Pure (no I/O). */
typedef struct QmpParser QmpParser;

int qmp_parser_new(size_t max_message, QmpParser **ret);
QmpParser *qmp_parser_free(QmpParser *p);
static inline void qmp_parser_freep(QmpParser **p) {
        qmp_parser_free(*p);
}
/* Feed up to len bytes; stops right after the first message that completes.
 * *ret_consumed: bytes used (feed the rest again). Returns 1 with *ret_msg
 * set when a message completed, 0 when every byte was used and more are
 * needed, or -EBADMSG / -EMSGSIZE / -ENOMEM (then the stream cannot be
 * resynchronised: the parser keeps returning that error). max_message counts
 * the bytes of one message from its '{' to its '}'; whitespace between
 * messages is skipped and not counted. */
int qmp_parser_feed(QmpParser *p, const char *buf, size_t len, size_t *ret_consumed, QmpMsg *ret_msg);

/* ---- client ------------------------------------------------------------------ */

typedef struct Qmp Qmp;

/* Called for each event as it arrives (from qmp_execute(), qmp_process(),
 * qmp_wait_event()). The message is only valid during the call. The handler
 * must not execute commands on q (they fail with -EBUSY). */
typedef void (*QmpEventFn)(Qmp *q, const QmpMsg *event, void *userdata);

/* Connect to the socket at path, read the greeting and negotiate capabilities,
 * all within timeout_usec. While the socket does not exist or refuses
 * connections (QEMU still starting) it retries every 50 ms; when the time is up
 * that error is returned (-ENOENT, -ECONNREFUSED), or -ETIMEDOUT when the
 * greeting or the capabilities reply did not come. -ENAMETOOLONG for a path
 * that does not fit sockaddr_un. QEMU serves one QMP client per socket: while
 * another is connected, connect() succeeds but no greeting comes until that
 * one leaves (-ETIMEDOUT here). */
int qmp_connect(const char *path, uint64_t timeout_usec, Qmp **ret);
/* The same on a connected stream socket; takes ownership of fd (also on failure). */
int qmp_connect_fd(int fd, uint64_t timeout_usec, Qmp **ret);

Qmp *qmp_free(Qmp *q);
static inline void qmp_freep(Qmp **q) {
        qmp_free(*q);
}
#define _cleanup_qmp_ _cleanup_(qmp_freep)

int qmp_fd(const Qmp *q);
/* The greeting's "QMP" object ({"version": {...}, "capabilities": [...]}), borrowed. */
json_object *qmp_greeting(const Qmp *q);
/* The error of the last command that failed with a QMP error reply. */
const QmpError *qmp_last_error(const Qmp *q);
/* Deadline of the helpers below (qmp_balloon() ...); default QMP_TIMEOUT_USEC. */
void qmp_set_timeout(Qmp *q, uint64_t timeout_usec);
/* With a handler, events go to it; without, they are queued (at most
 * QMP_EVENTS_MAX, the oldest dropped first; qmp_events_dropped() counts them). */
void qmp_set_event_handler(Qmp *q, QmpEventFn fn, void *userdata);
size_t qmp_events_dropped(const Qmp *q);

/* Execute a command. args (borrowed, may be NULL) become "arguments". Waits
 * up to timeout_usec for the reply. On success *ret_return (may be NULL) gets a
 * new reference to the "return" value. See the header for the errors. */
int qmp_execute(Qmp *q, const char *command, json_object *args, uint64_t timeout_usec, json_object **ret_return);

/* Read whatever the socket has now, without blocking, and dispatch or queue
 * the events in it. Returns the number of events seen, or -errno. A reply
 * that arrives here (the late answer to a command that timed out) is dropped. */
int qmp_process(Qmp *q);
/* Pop the oldest queued event: 1 and *ret, or 0 when the queue is empty. */
int qmp_next_event(Qmp *q, QmpMsg *ret);
/* Wait until an event named name (NULL: any) arrives, or is already queued;
 * removes it from the queue. Other events are queued (or handled) as usual.
 * Returns 0 with *ret (may be NULL), -ETIMEDOUT, -errno. */
int qmp_wait_event(Qmp *q, const char *name, uint64_t timeout_usec, QmpMsg *ret);

/* ---- commands (deadline: qmp_set_timeout()) -------------------------------- */

/* balloon: ask the guest to shrink or grow to bytes of RAM. Returns when QEMU
 * accepted the request; the guest driver moves `actual` afterwards. */
int qmp_balloon(Qmp *q, uint64_t bytes);
/* query-balloon: the guest's RAM as the balloon leaves it. -ENODEV without a
 * balloon device. */
int qmp_query_balloon(Qmp *q, uint64_t *ret_actual);
int qmp_stop(Qmp *q);
int qmp_cont(Qmp *q);
/* Presses the ACPI power button: the guest decides whether and when to go. */
int qmp_system_powerdown(Qmp *q);
/* quit: QEMU exits at once; the connection is closed after the reply. */
int qmp_quit(Qmp *q);
/* query-status: running (true/false); *ret_status (may be NULL) gets the
 * RunState ("running", "paused", "shutdown", ...), malloc'ed. */
int qmp_query_status(Qmp *q, bool *ret_running, char **ret_status);
