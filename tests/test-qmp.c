/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for ctl/qmp.c: the pure parser, and the client against a fake
 * QMP peer in a thread on the other end of a socketpair. The peer follows a
 * script of steps (send this, expect that command, sleep, close) and records
 * what it received, so each test states the conversation it is about.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "qmp.h"

#define MSEC (UINT64_C(1000))
#define SEC (UINT64_C(1000000))

/* ---- the fake peer ---------------------------------------------------------------- */

typedef enum StepKind {
        SEND,           /* write text; "$ID" becomes the id of the last expected command */
        SEND_SLOW,      /* the same, one byte per write, 1 ms apart */
        SEND_BIG,       /* a reply with a string of `ms` KiB */
        EXPECT,         /* read one command, which must be `text` */
        SLEEP,          /* ms */
        CLOSE,
        END,
} StepKind;

typedef struct Step {
        StepKind kind;
        const char *text;
        unsigned ms;
} Step;

typedef struct Peer {
        int fd;
        const Step *steps;
        pthread_t thread;
        char last_id[128];
        char last_args[4096];
        unsigned commands;
        char failure[512];
} Peer;

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define HANDSHAKE { SEND, GREETING, 0 }, { EXPECT, "qmp_capabilities", 0 }, { SEND, "{\"return\": {}, \"id\": $ID}\r\n", 0 }

static int peer_write(Peer *p, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

static char *expand_id(const Peer *p, const char *text) {
        const char *at = strstr(text, "$ID");
        if (!at)
                return strdup(text);
        return strdup_printf("%.*s%s%s", (int) (at - text), text, p->last_id, at + 3);
}

static int peer_expect(Peer *p, const char *command) {
        json_tokener *tok = json_tokener_new();
        json_object *obj = NULL, *v;
        char c;

        for (;;) {
                ssize_t n = read(p->fd, &c, 1);
                if (n <= 0) {
                        snprintf(p->failure, sizeof(p->failure), "peer: EOF while expecting '%s'", command);
                        json_tokener_free(tok);
                        return -1;
                }
                obj = json_tokener_parse_ex(tok, &c, 1);
                if (obj)
                        break;
                if (json_tokener_get_error(tok) != json_tokener_continue) {
                        snprintf(p->failure, sizeof(p->failure), "peer: bad JSON while expecting '%s'", command);
                        json_tokener_free(tok);
                        return -1;
                }
        }
        json_tokener_free(tok);
        p->commands++;
        if (!json_object_object_get_ex(obj, "execute", &v) || !streq(json_object_get_string(v), command)) {
                snprintf(p->failure, sizeof(p->failure), "peer: expected '%s', got %s", command,
                         json_object_to_json_string(obj));
                json_object_put(obj);
                return -1;
        }
        snprintf(p->last_id, sizeof(p->last_id), "%s",
                 json_object_object_get_ex(obj, "id", &v) ? json_object_to_json_string(v) : "null");
        snprintf(p->last_args, sizeof(p->last_args), "%s",
                 json_object_object_get_ex(obj, "arguments", &v)
                         ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                         : "");
        json_object_put(obj);
        return 0;
}

static void *peer_main(void *arg) {
        Peer *p = arg;
        char c;

        for (const Step *s = p->steps; s->kind != END; s++) {
                _cleanup_free_ char *text = NULL;
                int r = 0;

                switch (s->kind) {
                case SEND:
                        text = expand_id(p, s->text);
                        r = peer_write(p, text, strlen(text));
                        break;
                case SEND_SLOW:
                        text = expand_id(p, s->text);
                        for (size_t i = 0; text[i] && r == 0; i++) {
                                r = peer_write(p, text + i, 1);
                                usleep(1000);
                        }
                        break;
                case SEND_BIG: {
                        size_t n = (size_t) s->ms << 10;
                        char *big = malloc(n + 64);
                        int len = sprintf(big, "{\"return\": \"");
                        memset(big + len, 'a', n);
                        strcpy(big + len + n, "\"}\r\n");
                        r = peer_write(p, big, strlen(big));
                        free(big);
                        break;
                }
                case EXPECT:
                        r = peer_expect(p, s->text);
                        break;
                case SLEEP:
                        usleep(s->ms * 1000);
                        break;
                case CLOSE:
                        close(p->fd);
                        p->fd = -1;
                        return NULL;
                case END:
                        break;
                }
                if (r < 0)
                        break;
        }
        /* keep the connection open until the client goes away */
        while (read(p->fd, &c, 1) > 0)
                ;
        return NULL;
}

static Peer *peer_start(const Step *steps, int *ret_client_fd) {
        int sv[2];
        Peer *p = calloc(1, sizeof(Peer));

        cr_assert(p);
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        p->fd = sv[1];
        p->steps = steps;
        cr_assert_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
        *ret_client_fd = sv[0];
        return p;
}

/* Join the peer (the client must be closed first) and fail on its complaints. */
static void peer_finish(Peer *p) {
        pthread_join(p->thread, NULL);
        if (p->fd >= 0)
                close(p->fd);
        cr_expect_str_empty(p->failure, "%s", p->failure);
        free(p);
}

static Qmp *connect_peer(const Step *steps, Peer **ret_peer) {
        Qmp *q = NULL;
        int fd, r;

        *ret_peer = peer_start(steps, &fd);
        r = qmp_connect_fd(fd, 2 * SEC, &q);
        cr_assert_eq(r, 0, "connect: %s (peer: %s)", strerror(-r), (*ret_peer)->failure);
        return q;
}

/* ---- the pure parser --------------------------------------------------------------- */

static int parse(const char *s, QmpMsg *m) {
        return qmp_parse_reply(s, strlen(s), m);
}

Test(qmp, parse_greeting) {
        QmpMsg m;
        json_object *v, *qemu, *major;

        cr_assert_eq(parse(GREETING, &m), 0);
        cr_assert_eq(m.kind, QMP_MSG_GREETING);
        cr_assert(json_object_object_get_ex(m.value, "version", &v));
        cr_assert(json_object_object_get_ex(v, "qemu", &qemu));
        cr_assert(json_object_object_get_ex(qemu, "major", &major));
        cr_assert_eq(json_object_get_int(major), 7);
        cr_assert(!m.has_id);
        qmp_msg_done(&m);
}

Test(qmp, parse_return_with_id) {
        QmpMsg m;
        json_object *actual;

        cr_assert_eq(parse("{\"return\": {\"actual\": 268435456}, \"id\": \"tenantd-7\"}", &m), 0);
        cr_assert_eq(m.kind, QMP_MSG_RETURN);
        cr_assert_str_eq(m.id, "tenantd-7");
        cr_assert(json_object_object_get_ex(m.value, "actual", &actual));
        cr_assert_eq(json_object_get_int64(actual), 268435456);
        qmp_msg_done(&m);

        /* an id that is not a string is still an id: it does not match ours */
        cr_assert_eq(parse("{\"return\": {}, \"id\": 5}", &m), 0);
        cr_assert(m.has_id);
        cr_assert_null(m.id);
        qmp_msg_done(&m);
        /* "return": null is a value */
        cr_assert_eq(parse("{\"return\": null}", &m), 0);
        cr_assert_eq(m.kind, QMP_MSG_RETURN);
        cr_assert_null(m.value);
        qmp_msg_done(&m);
}

Test(qmp, parse_error) {
        QmpMsg m;

        cr_assert_eq(parse("{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been "
                           "activated\"}, \"id\": \"tenantd-3\"}",
                           &m),
                     0);
        cr_assert_eq(m.kind, QMP_MSG_ERROR);
        cr_assert_str_eq(m.error.error_class, "DeviceNotActive");
        cr_assert_str_eq(m.error.desc, "No balloon device has been activated");
        qmp_msg_done(&m);
        /* error must be an object; class/desc of the wrong type read as "" */
        cr_assert_eq(parse("{\"error\": \"x\"}", &m), -EBADMSG);
        cr_assert_eq(parse("{\"error\": {\"class\": 1}}", &m), 0);
        cr_assert_str_empty(m.error.error_class);
        qmp_msg_done(&m);
}

Test(qmp, parse_event) {
        QmpMsg m;
        json_object *actual;

        cr_assert_eq(parse("{\"timestamp\": {\"seconds\": 1796317642, \"microseconds\": 864323}, \"event\": "
                           "\"BALLOON_CHANGE\", \"data\": {\"actual\": 267386880}}\r\n",
                           &m),
                     0);
        cr_assert_eq(m.kind, QMP_MSG_EVENT);
        cr_assert_str_eq(m.event, "BALLOON_CHANGE");
        cr_assert_eq(m.timestamp_usec, UINT64_C(1796317642864323));
        cr_assert(json_object_object_get_ex(m.value, "actual", &actual));
        cr_assert_eq(json_object_get_int64(actual), 267386880);
        qmp_msg_done(&m);

        /* no data, QEMU's "no clock" timestamp */
        cr_assert_eq(parse("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": -1, \"microseconds\": -1}}", &m), 0);
        cr_assert_null(m.value);
        cr_assert_eq(m.timestamp_usec, 0);
        qmp_msg_done(&m);
}

Test(qmp, parse_rejects) {
        static const char *const bad[] = {
                "null ", "[1, 2]", "42 ", "\"return\"", "{}", "{\"foo\": 1}", "{\"event\": 5}",
                "{\"QMP\": []}", "{\"return\": {}} x", "{\"return\": {}}{\"return\": {}}",
                "{\"return\": {},}",    /* strict JSON: no trailing comma */
                "{\"return\": [1,]}",
        };
        QmpMsg m;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_expect_eq(parse(bad[i], &m), -EBADMSG, "%s", bad[i]);
        /* an embedded NUL is junk, not the end of the input */
        cr_expect_eq(qmp_parse_reply("{\"return\": {}}\0", 15, &m), -EBADMSG);
        cr_expect_eq(qmp_parse_reply("{\"return\"\0: {}}", 15, &m), -EBADMSG);
        /* junk is known at its first byte: every QMP message is an object */
        cr_expect_eq(parse("null", &m), -EBADMSG);
        cr_expect_eq(parse("x", &m), -EBADMSG);
        /* incomplete or empty: no message yet */
        cr_expect_eq(parse("", &m), -ENODATA);
        cr_expect_eq(parse(" \r\n", &m), -ENODATA);
        cr_expect_eq(parse("{\"return\": {", &m), -ENODATA);
        cr_expect_eq(parse("{\"return\": \"}\\\"}\"", &m), -ENODATA, "braces and quotes in strings do not count");
        /* a bracket that closes the wrong thing */
        cr_expect_eq(parse("{\"return\": [}", &m), -ENODATA);
        cr_expect_eq(parse("{\"return\": [}]", &m), -EBADMSG);
}

Test(qmp, parse_depth_and_size) {
        char deep[1024] = "{\"return\": ";
        size_t n = strlen(deep);
        char *big;

        /* 100 nested arrays: json-c's depth limit, an error, not a crash */
        for (int i = 0; i < 100; i++)
                deep[n++] = '[';
        for (int i = 0; i < 100; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        QmpMsg m;
        cr_assert_eq(parse(deep, &m), -EBADMSG);

        big = malloc(QMP_MESSAGE_MAX + 2);
        memset(big, ' ', QMP_MESSAGE_MAX + 1);
        big[QMP_MESSAGE_MAX + 1] = '\0';
        cr_assert_eq(qmp_parse_reply(big, QMP_MESSAGE_MAX + 1, &m), -EMSGSIZE);
        free(big);
}

/* The same stream, split at every possible point, gives the same messages. */
Test(qmp, parser_any_split) {
        const char stream[] = GREETING "{\"event\": \"STOP\"}{\"return\": {}, \"id\": \"a\"}\n"
                                       "  {\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}";
        static const QmpMsgKind want[] = { QMP_MSG_GREETING, QMP_MSG_EVENT, QMP_MSG_RETURN, QMP_MSG_ERROR };
        size_t len = strlen(stream);

        for (size_t split = 0; split <= len; split++) {
                _cleanup_(qmp_parser_freep) QmpParser *p = NULL;
                size_t pieces[2] = { split, len - split }, off = 0, got = 0;

                cr_assert_eq(qmp_parser_new(QMP_MESSAGE_MAX, &p), 0);
                for (int piece = 0; piece < 2; piece++) {
                        size_t left = pieces[piece];
                        while (left > 0) {
                                QmpMsg m;
                                size_t used = 0;
                                int r = qmp_parser_feed(p, stream + off, left, &used, &m);
                                cr_assert_geq(r, 0, "split %zu: %s", split, strerror(-r));
                                off += used;
                                left -= used;
                                if (r == 1) {
                                        cr_assert_lt(got, ELEMENTSOF(want));
                                        cr_assert_eq(m.kind, want[got], "split %zu, message %zu", split, got);
                                        got++;
                                        qmp_msg_done(&m);
                                }
                        }
                }
                cr_assert_eq(got, ELEMENTSOF(want), "split %zu: %zu messages", split, got);
        }
}

/* json-c 0.16's incremental mode parses "[9-1311]" as [9] when a read ends
 * after the '9' (and refuses it whole): found by fuzz-qmp. */
Test(qmp, parser_split_does_not_change_meaning) {
        const char msg[] = "{\"return\": [9-1311]}";

        for (size_t split = 1; split < sizeof(msg) - 1; split++) {
                _cleanup_(qmp_parser_freep) QmpParser *p = NULL;
                size_t used;
                QmpMsg m;
                int r;

                cr_assert_eq(qmp_parser_new(QMP_MESSAGE_MAX, &p), 0);
                cr_assert_eq(qmp_parser_feed(p, msg, split, &used, &m), 0);
                r = qmp_parser_feed(p, msg + split, sizeof(msg) - 1 - split, &used, &m);
                cr_assert_eq(r, -EBADMSG, "split at %zu: %d", split, r);
        }
}

Test(qmp, parser_size_cap_is_sticky) {
        _cleanup_(qmp_parser_freep) QmpParser *p = NULL;
        char msg[64];
        size_t used;
        QmpMsg m;

        /* exactly 32 bytes fit a 32-byte cap; whitespace between messages is not counted */
        snprintf(msg, sizeof(msg), "{\"return\": \"%018d\"}", 0);
        cr_assert_eq(strlen(msg), 32);
        cr_assert_eq(qmp_parser_new(32, &p), 0);
        cr_assert_eq(qmp_parser_feed(p, msg, 32, &used, &m), 1);
        cr_assert_eq(used, 32);
        qmp_msg_done(&m);
        cr_assert_eq(qmp_parser_feed(p, "\r\n \r\n", 5, &used, &m), 0);
        cr_assert_eq(used, 5);
        cr_assert_eq(qmp_parser_feed(p, msg, 32, &used, &m), 1);
        qmp_msg_done(&m);
        /* 33 bytes, in two pieces: the 33rd is one too many */
        snprintf(msg, sizeof(msg), "{\"return\": \"%019d\"}", 0);
        cr_assert_eq(qmp_parser_feed(p, msg, 20, &used, &m), 0);
        cr_assert_eq(used, 20);
        cr_assert_eq(qmp_parser_feed(p, msg + 20, 13, &used, &m), -EMSGSIZE);
        cr_assert_eq(qmp_parser_feed(p, "{}", 2, &used, &m), -EMSGSIZE);
}

/* ---- the client against the fake peer ------------------------------------------- */

Test(qmp, connect_negotiates_capabilities) {
        static const Step steps[] = { HANDSHAKE, { END, NULL, 0 } };
        json_object *v;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert(json_object_object_get_ex(qmp_greeting(q), "capabilities", &v));
        cr_assert_geq(qmp_fd(q), 0);
        qmp_free(q);
        cr_assert_eq(p->commands, 1);
        cr_assert_str_eq(p->last_id, "\"tenantd-1\"");
        peer_finish(p);
}

Test(qmp, balloon_sends_bytes) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "balloon", 0 },
                { SEND, "{\"return\": {}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_balloon(q, UINT64_C(128) << 20), 0);
        cr_assert_str_eq(p->last_args, "{\"value\":134217728}");
        cr_assert_eq(qmp_balloon(q, 0), -ERANGE);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, query_helpers) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "query-balloon", 0 },
                { SEND, "{\"return\": {\"actual\": 268435456}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "query-status", 0 },
                { SEND, "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "query-balloon", 0 },
                { SEND, "{\"return\": {\"actual\": \"lots\"}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "query-status", 0 },
                { SEND, "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        _cleanup_free_ char *status = NULL;
        uint64_t actual = 0;
        bool running = true;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_query_balloon(q, &actual), 0);
        cr_assert_eq(actual, UINT64_C(256) << 20);
        cr_assert_eq(qmp_query_status(q, &running, &status), 0);
        cr_assert(!running);
        cr_assert_str_eq(status, "paused");
        /* a reply of the wrong shape is refused, and leaves the output alone */
        cr_assert_eq(qmp_query_balloon(q, &actual), -EBADMSG);
        cr_assert_eq(actual, UINT64_C(256) << 20);
        /* ... but the connection is still fine */
        cr_assert_eq(qmp_query_status(q, &running, NULL), 0);
        cr_assert(running);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, events_before_reply_are_queued) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "stop", 0 },
                { SEND, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n", 0 },
                { SEND, "{\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 1048576}}\r\n", 0 },
                { SEND, "{\"return\": {}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        QmpMsg m;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_stop(q), 0);
        cr_assert_eq(qmp_next_event(q, &m), 1);
        cr_assert_str_eq(m.event, "STOP");
        cr_assert_eq(m.timestamp_usec, 1000002);
        qmp_msg_done(&m);
        cr_assert_eq(qmp_next_event(q, &m), 1);
        cr_assert_str_eq(m.event, "BALLOON_CHANGE");
        qmp_msg_done(&m);
        cr_assert_eq(qmp_next_event(q, &m), 0);
        qmp_free(q);
        peer_finish(p);
}

/* Events in the same write as the reply, after it: queued by the time the
 * command returns (an event loop polling the fd would never see them). */
Test(qmp, events_after_reply_are_not_left_in_the_buffer) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "cont", 0 },
                { SEND, "{\"return\": {}, \"id\": $ID}\r\n{\"event\": \"RESUME\"}\r\n{\"event\": \"BAL", 0 },
                { END, NULL, 0 },
        };
        QmpMsg m;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_cont(q), 0);
        cr_assert_eq(qmp_next_event(q, &m), 1);
        cr_assert_str_eq(m.event, "RESUME");
        qmp_msg_done(&m);
        cr_assert_eq(qmp_next_event(q, &m), 0);
        qmp_free(q);
        peer_finish(p);
}

typedef struct Seen {
        char names[8][32];
        unsigned n;
        int nested;
} Seen;

static void on_event(Qmp *q, const QmpMsg *e, void *userdata) {
        Seen *s = userdata;
        if (s->n < 8)
                snprintf(s->names[s->n++], 32, "%s", e->event);
        /* commands from inside the handler are refused */
        s->nested = qmp_execute(q, "query-status", NULL, SEC, NULL);
}

Test(qmp, events_go_to_the_handler) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "cont", 0 },
                { SEND, "{\"event\": \"RESUME\"}\r\n", 0 },
                { SEND, "{\"return\": {}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        Seen seen = { .n = 0 };
        QmpMsg m;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        qmp_set_event_handler(q, on_event, &seen);
        cr_assert_eq(qmp_cont(q), 0);
        cr_assert_eq(seen.n, 1);
        cr_assert_str_eq(seen.names[0], "RESUME");
        cr_assert_eq(seen.nested, -EBUSY);
        cr_assert_eq(qmp_next_event(q, &m), 0, "handled events are not queued as well");
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, event_queue_drops_the_oldest) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "cont", 0 },
                { SEND, NULL, 0 }, /* filled in below */
                { SEND, "{\"return\": {}, \"id\": $ID}", 0 },
                { END, NULL, 0 },
        };
        Step s[ELEMENTSOF(steps)];
        char *many = malloc((QMP_EVENTS_MAX + 10) * 64), *w = many;
        QmpMsg m;
        Peer *p;
        Qmp *q;

        for (int i = 0; i < QMP_EVENTS_MAX + 10; i++)
                w += sprintf(w, "{\"event\": \"E%d\"}", i);
        memcpy(s, steps, sizeof(s));
        s[4].text = many;
        q = connect_peer(s, &p);
        cr_assert_eq(qmp_cont(q), 0);
        cr_assert_eq(qmp_events_dropped(q), 10);
        cr_assert_eq(qmp_next_event(q, &m), 1);
        cr_assert_str_eq(m.event, "E10");
        qmp_msg_done(&m);
        qmp_free(q);
        peer_finish(p);
        free(many);
}

Test(qmp, wait_event_skips_others) {
        static const Step steps[] = {
                HANDSHAKE,
                { SEND, "{\"event\": \"POWERDOWN\"}\r\n", 0 },
                { SLEEP, NULL, 50 },
                { SEND, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n", 0 },
                { END, NULL, 0 },
        };
        json_object *reason;
        QmpMsg m;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_wait_event(q, "SHUTDOWN", 2 * SEC, &m), 0);
        cr_assert(json_object_object_get_ex(m.value, "reason", &reason));
        cr_assert_str_eq(json_object_get_string(reason), "guest-shutdown");
        qmp_msg_done(&m);
        /* the other one was kept */
        cr_assert_eq(qmp_wait_event(q, NULL, 0, &m), 0);
        cr_assert_str_eq(m.event, "POWERDOWN");
        qmp_msg_done(&m);
        cr_assert_eq(qmp_wait_event(q, "SHUTDOWN", 50 * MSEC, NULL), -ETIMEDOUT);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, process_reads_without_blocking) {
        static const Step steps[] = {
                HANDSHAKE,
                { SLEEP, NULL, 50 }, /* not in the same read() as the handshake */
                { SEND, "{\"event\": \"STOP\"}\r\n{\"event\": \"RESUME\"}\r\n{\"event\": \"ST", 0 },
                { END, NULL, 0 },
        };
        struct pollfd pfd;
        QmpMsg m;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);
        uint64_t t0;

        pfd = (struct pollfd) { .fd = qmp_fd(q), .events = POLLIN };
        cr_assert_eq(poll(&pfd, 1, 2000), 1);
        usleep(20000); /* all three pieces are in */
        cr_assert_eq(qmp_process(q), 2);
        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(qmp_process(q), 0, "half an event is not an event");
        cr_assert_lt(now_usec(CLOCK_MONOTONIC) - t0, 500 * MSEC, "qmp_process() must not wait");
        cr_assert_eq(qmp_next_event(q, &m), 1);
        cr_assert_str_eq(m.event, "STOP");
        qmp_msg_done(&m);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, split_reply_and_no_newlines) {
        static const Step steps[] = {
                { SEND_SLOW, GREETING, 0 },
                { EXPECT, "qmp_capabilities", 0 },
                { SEND_SLOW, "{\"return\"  :\r\n {}, \"id\": $ID}", 0 },
                { EXPECT, "query-balloon", 0 },
                /* an event and the reply in one write, no separators at all */
                { SEND, "{\"event\":\"BALLOON_CHANGE\",\"data\":{\"actual\":1}}{\"return\":{\"actual\":42},\"id\":$ID}", 0 },
                { END, NULL, 0 },
        };
        uint64_t actual = 0;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_query_balloon(q, &actual), 0);
        cr_assert_eq(actual, 42);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, error_replies_map_to_errno) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "balloon", 0 },
                { SEND, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'value' expects a size\"}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "query-balloon", 0 },
                { SEND, "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "frobnicate", 0 },
                { SEND, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command frobnicate has not been found\"}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "stop", 0 },
                { SEND, "{\"return\": {}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        uint64_t actual = 7;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_balloon(q, 1 << 20), -EIO);
        cr_assert_str_eq(qmp_last_error(q)->error_class, "GenericError");
        cr_assert_str_eq(qmp_last_error(q)->desc, "Parameter 'value' expects a size");
        cr_assert_eq(qmp_query_balloon(q, &actual), -ENODEV);
        cr_assert_eq(actual, 7);
        cr_assert_str_eq(qmp_last_error(q)->desc, "No balloon device has been activated");
        cr_assert_eq(qmp_execute(q, "frobnicate", NULL, SEC, NULL), -EOPNOTSUPP);
        /* an error reply is an answer: the connection goes on */
        cr_assert_eq(qmp_stop(q), 0);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, junk_breaks_the_connection) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "stop", 0 },
                { SEND, "{\"event\": \"STOP\"}\r\nthis is not json\r\n", 0 },
                { END, NULL, 0 },
        };
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_stop(q), -EBADMSG);
        cr_assert_eq(qmp_cont(q), -ENOTCONN);
        cr_assert_eq(qmp_process(q), -ENOTCONN);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, valid_json_that_is_not_qmp) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "stop", 0 },
                { SEND, "[\"return\", {}]\r\n", 0 },
                { END, NULL, 0 },
        };
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_stop(q), -EBADMSG);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, oversized_reply) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "query-qmp-schema", 0 },
                { SEND_BIG, NULL, 1100 }, /* KiB */
                { END, NULL, 0 },
        };
        json_object *ret = NULL;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_execute(q, "query-qmp-schema", NULL, 5 * SEC, &ret), -EMSGSIZE);
        cr_assert_null(ret);
        cr_assert_eq(qmp_stop(q), -ENOTCONN);
        qmp_free(q); /* the peer's pending write fails with EPIPE */
        peer_finish(p);
}

Test(qmp, large_reply_below_the_cap) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "query-qmp-schema", 0 },
                { SEND_BIG, NULL, 900 },
                { END, NULL, 0 },
        };
        json_object *ret = NULL;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_execute(q, "query-qmp-schema", NULL, 5 * SEC, &ret), 0);
        cr_assert_eq(json_object_get_string_len(ret), 900 * 1024);
        json_object_put(ret);
        qmp_free(q);
        peer_finish(p);
}

/* A peer that does not answer in time: -ETIMEDOUT, and its late reply, when it
 * comes, is not taken for the answer to the next command. */
Test(qmp, timeout_then_late_reply_is_dropped) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "query-status", 0 },
                { SLEEP, NULL, 300 },
                { SEND, "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": $ID}\r\n", 0 },
                { EXPECT, "query-status", 0 },
                { SEND, "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        _cleanup_free_ char *status = NULL;
        bool running = true;
        uint64_t t0, elapsed;
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        qmp_set_timeout(q, 100 * MSEC);
        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(qmp_query_status(q, &running, &status), -ETIMEDOUT);
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        cr_assert_geq(elapsed, 100 * MSEC);
        cr_assert_lt(elapsed, 1 * SEC, "the deadline was not kept: %llu us", (unsigned long long) elapsed);
        cr_assert_null(status);

        qmp_set_timeout(q, 2 * SEC);
        cr_assert_eq(qmp_query_status(q, &running, &status), 0);
        cr_assert_str_eq(status, "paused", "the stale reply was taken for the new one");
        cr_assert(!running);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, peer_closes) {
        static const Step steps[] = {
                HANDSHAKE,
                { EXPECT, "system_powerdown", 0 },
                { CLOSE, NULL, 0 },
                { END, NULL, 0 },
        };
        Peer *p;
        Qmp *q = connect_peer(steps, &p);

        cr_assert_eq(qmp_system_powerdown(q), -ECONNRESET);
        cr_assert_eq(qmp_cont(q), -ENOTCONN);
        qmp_free(q);
        peer_finish(p);
}

Test(qmp, quit_with_or_without_reply) {
        static const Step with_reply[] = {
                HANDSHAKE,
                { EXPECT, "quit", 0 },
                { SEND, "{\"return\": {}, \"id\": $ID}\r\n", 0 },
                { CLOSE, NULL, 0 },
                { END, NULL, 0 },
        };
        static const Step without[] = {
                HANDSHAKE,
                { EXPECT, "quit", 0 },
                { CLOSE, NULL, 0 },
                { END, NULL, 0 },
        };
        Peer *p;
        Qmp *q = connect_peer(with_reply, &p);

        cr_assert_eq(qmp_quit(q), 0);
        qmp_free(q);
        peer_finish(p);
        q = connect_peer(without, &p);
        cr_assert_eq(qmp_quit(q), 0);
        qmp_free(q);
        peer_finish(p);
}

static int connect_steps(const Step *steps, uint64_t timeout, Peer **ret_peer) {
        Qmp *q = NULL;
        int fd, r;

        *ret_peer = peer_start(steps, &fd);
        r = qmp_connect_fd(fd, timeout, &q);
        cr_assert_null(q);
        return r;
}

Test(qmp, connect_failures) {
        static const Step no_greeting[] = { { SLEEP, NULL, 1 }, { END, NULL, 0 } };
        static const Step event_first[] = { { SEND, "{\"event\": \"STOP\"}\r\n", 0 }, { END, NULL, 0 } };
        static const Step caps_refused[] = {
                { SEND, GREETING, 0 },
                { EXPECT, "qmp_capabilities", 0 },
                { SEND, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already complete\"}, \"id\": $ID}\r\n", 0 },
                { END, NULL, 0 },
        };
        static const Step caps_silent[] = { { SEND, GREETING, 0 }, { EXPECT, "qmp_capabilities", 0 }, { END, NULL, 0 } };
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        Peer *p;

        cr_assert_eq(connect_steps(no_greeting, 100 * MSEC, &p), -ETIMEDOUT);
        cr_assert_geq(now_usec(CLOCK_MONOTONIC) - t0, 100 * MSEC);
        peer_finish(p);
        cr_assert_eq(connect_steps(event_first, SEC, &p), -EPROTO);
        peer_finish(p);
        cr_assert_eq(connect_steps(caps_refused, SEC, &p), -EOPNOTSUPP);
        peer_finish(p);
        cr_assert_eq(connect_steps(caps_silent, 100 * MSEC, &p), -ETIMEDOUT);
        peer_finish(p);
}

/* ---- qmp_connect() on a path ---------------------------------------------------- */

typedef struct Listener {
        char path[108];
        unsigned delay_ms;
        Step steps[4];
} Listener;

static void *listener_main(void *arg) {
        Listener *l = arg;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Peer p = { .fd = -1 };
        int s;

        usleep(l->delay_ms * 1000);
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memcpy(sa.sun_path, l->path, strlen(l->path));
        if (bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
                return NULL;
        p.fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        close(s);
        p.steps = l->steps;
        peer_main(&p);
        close(p.fd);
        return NULL;
}

static char *tmp_dir(void) {
        char *d = strdup("/tmp/test-qmp.XXXXXX");
        cr_assert_not_null(mkdtemp(d));
        return d;
}

Test(qmp, connect_waits_for_the_socket) {
        _cleanup_free_ char *dir = tmp_dir();
        Listener l = { .delay_ms = 150, .steps = { HANDSHAKE, { END, NULL, 0 } } };
        pthread_t t;
        Qmp *q = NULL;
        uint64_t t0;

        snprintf(l.path, sizeof(l.path), "%s/qmp.sock", dir);
        cr_assert_eq(pthread_create(&t, NULL, listener_main, &l), 0);
        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(qmp_connect(l.path, 5 * SEC, &q), 0);
        cr_assert_geq(now_usec(CLOCK_MONOTONIC) - t0, 150 * MSEC, "connected before the socket existed?");
        qmp_free(q);
        pthread_join(t, NULL);
        unlink(l.path);
        rmdir(dir);
}

Test(qmp, connect_errors) {
        _cleanup_free_ char *dir = tmp_dir();
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char path[256], longpath[200];
        uint64_t t0;
        Qmp *q = NULL;
        int s;

        /* nothing there, for the whole timeout */
        snprintf(path, sizeof(path), "%s/none.sock", dir);
        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(qmp_connect(path, 120 * MSEC, &q), -ENOENT);
        cr_assert_geq(now_usec(CLOCK_MONOTONIC) - t0, 120 * MSEC);
        cr_assert_eq(qmp_connect(path, 0, &q), -ENOENT);

        /* a stale socket file (QEMU died): refused */
        snprintf(path, sizeof(path), "%s/stale.sock", dir);
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memcpy(sa.sun_path, path, strlen(path));
        cr_assert_eq(bind(s, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(s);
        cr_assert_eq(qmp_connect(path, 60 * MSEC, &q), -ECONNREFUSED);
        unlink(path);

        memset(longpath, 'x', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        cr_assert_eq(qmp_connect(longpath, SEC, &q), -ENAMETOOLONG);
        cr_assert_null(q);
        rmdir(dir);
}
