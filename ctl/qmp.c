/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "qmp.h"

/* json-c's default nesting limit is 32; QEMU's deepest replies (query-qmp-schema,
 * query-block) stay well below 64. */
#define QMP_JSON_DEPTH 64

static uint64_t deadline_after(uint64_t timeout_usec) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        return timeout_usec > UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
}

/* ---- messages ------------------------------------------------------------------ */

void qmp_msg_done(QmpMsg *m) {
        if (!m)
                return;
        json_object_put(m->root);
        *m = (QmpMsg) { .root = NULL };
}

static void copy_str(char *dst, size_t size, json_object *o) {
        const char *s = json_object_is_type(o, json_type_string) ? json_object_get_string(o) : "";
        snprintf(dst, size, "%s", s ? s : "");
}

int qmp_msg_classify(json_object *obj, QmpMsg *ret) {
        QmpMsg m = { .root = NULL };
        json_object *v, *sec, *usec;

        if (!json_object_is_type(obj, json_type_object))
                return -EBADMSG;

        if (json_object_object_get_ex(obj, "id", &v)) {
                m.has_id = true;
                if (json_object_is_type(v, json_type_string))
                        m.id = json_object_get_string(v);
        }

        if (json_object_object_get_ex(obj, "return", &v)) {
                m.kind = QMP_MSG_RETURN;
                m.value = v;
        } else if (json_object_object_get_ex(obj, "error", &v)) {
                json_object *c, *d;
                if (!json_object_is_type(v, json_type_object))
                        return -EBADMSG;
                m.kind = QMP_MSG_ERROR;
                if (json_object_object_get_ex(v, "class", &c))
                        copy_str(m.error.error_class, sizeof(m.error.error_class), c);
                if (json_object_object_get_ex(v, "desc", &d))
                        copy_str(m.error.desc, sizeof(m.error.desc), d);
        } else if (json_object_object_get_ex(obj, "event", &v)) {
                if (!json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                m.kind = QMP_MSG_EVENT;
                m.event = json_object_get_string(v);
                if (json_object_object_get_ex(obj, "data", &v))
                        m.value = v;
                if (json_object_object_get_ex(obj, "timestamp", &v) &&
                    json_object_object_get_ex(v, "seconds", &sec) &&
                    json_object_object_get_ex(v, "microseconds", &usec) &&
                    json_object_is_type(sec, json_type_int) && json_object_is_type(usec, json_type_int)) {
                        int64_t s = json_object_get_int64(sec), us = json_object_get_int64(usec);
                        /* QEMU writes -1/-1 when it has no clock */
                        if (s >= 0 && us >= 0 && us < 1000000 && (uint64_t) s < UINT64_MAX / 1000000)
                                m.timestamp_usec = (uint64_t) s * 1000000 + (uint64_t) us;
                }
        } else if (json_object_object_get_ex(obj, "QMP", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        return -EBADMSG;
                m.kind = QMP_MSG_GREETING;
                m.value = v;
        } else
                return -EBADMSG;

        m.root = json_object_get(obj);
        *ret = m;
        return 0;
}

/* ---- stream parser ------------------------------------------------------------- */

/*
 * Message boundaries are found by a small scanner (strings, escapes, bracket
 * depth), and json-c then parses each complete message in one call. json-c's
 * own incremental mode is not used: in 0.16 its result depends on where the
 * input is split (fuzz-qmp found "[9-1311]" parsed as [9] when a read ended
 * after the '9', and refused as a whole), and a reply must not mean something
 * else because it arrived in two pieces.
 */
struct QmpParser {
        json_tokener *tok;
        size_t max;             /* bytes one message may take */
        char *buf;              /* the message in progress */
        size_t len, alloc;
        unsigned depth;
        bool in_string, escape;
        int error;              /* sticky: the stream cannot be resynchronised */
};

int qmp_parser_new(size_t max_message, QmpParser **ret) {
        QmpParser *p;

        if (max_message == 0 || max_message > INT_MAX)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->tok = json_tokener_new_ex(QMP_JSON_DEPTH);
        if (!p->tok) {
                free(p);
                return -ENOMEM;
        }
        json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT);
        p->max = max_message;
        *ret = p;
        return 0;
}

QmpParser *qmp_parser_free(QmpParser *p) {
        if (p) {
                json_tokener_free(p->tok);
                free(p->buf);
                free(p);
        }
        return NULL;
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int append(QmpParser *p, const char *data, size_t n) {
        if (p->len + n > p->alloc) {
                size_t a = p->alloc ? p->alloc : 4096;
                while (a < p->len + n)
                        a *= 2;
                char *b = realloc(p->buf, a);
                if (!b)
                        return -ENOMEM;
                p->buf = b;
                p->alloc = a;
        }
        memcpy(p->buf + p->len, data, n);
        p->len += n;
        return 0;
}

/* One complete message of len bytes, from '{' to its matching '}'. */
static int parse_complete(QmpParser *p, const char *msg, size_t len, QmpMsg *ret) {
        json_object *obj;
        int r;

        json_tokener_reset(p->tok);
        obj = json_tokener_parse_ex(p->tok, msg, (int) len);
        if (!obj || json_tokener_get_error(p->tok) != json_tokener_success ||
            json_tokener_get_parse_end(p->tok) != len) {
                json_object_put(obj);
                return -EBADMSG;
        }
        r = qmp_msg_classify(obj, ret);
        json_object_put(obj);
        return r;
}

int qmp_parser_feed(QmpParser *p, const char *buf, size_t len, size_t *ret_consumed, QmpMsg *ret_msg) {
        size_t i = 0, start;
        int r;

        if (p->error)
                return p->error;

        /* Between messages: skip whitespace (not counted against the cap; it
         * costs no memory and deadlines end a peer that sends only that). Every
         * QMP message is an object: anything else is junk, known at once. */
        if (p->len == 0) {
                while (i < len && is_ws(buf[i]))
                        i++;
                if (i == len) {
                        *ret_consumed = len;
                        return 0;
                }
                if (buf[i] != '{')
                        return (p->error = -EBADMSG);
        }

        start = i;
        for (; i < len; i++) {
                char c = buf[i];

                if (p->len + (i - start) >= p->max)
                        return (p->error = -EMSGSIZE);
                if (p->in_string) {
                        if (p->escape)
                                p->escape = false;
                        else if (c == '\\')
                                p->escape = true;
                        else if (c == '"')
                                p->in_string = false;
                        continue;
                }
                if (c == '"')
                        p->in_string = true;
                else if (c == '{' || c == '[') {
                        if (++p->depth > QMP_JSON_DEPTH)
                                return (p->error = -EBADMSG);
                } else if (c == '}' || c == ']') {
                        if (--p->depth == 0)
                                break;
                } else if (c == '\0')
                        return (p->error = -EBADMSG);
        }

        if (i == len) {
                /* incomplete: keep it */
                r = append(p, buf + start, len - start);
                if (r < 0)
                        return (p->error = r);
                *ret_consumed = len;
                return 0;
        }

        /* complete at buf[i] */
        if (p->len == 0)
                r = parse_complete(p, buf + start, i + 1 - start, ret_msg);
        else {
                r = append(p, buf + start, i + 1 - start);
                if (r >= 0)
                        r = parse_complete(p, p->buf, p->len, ret_msg);
        }
        if (r < 0)
                return (p->error = r == -ENOMEM ? r : -EBADMSG);
        p->len = 0;
        p->depth = 0;
        if (p->alloc > 64 * 1024) {
                /* do not keep a megabyte around after one large reply */
                free(p->buf);
                p->buf = NULL;
                p->alloc = 0;
        }
        *ret_consumed = i + 1;
        return 1;
}

int qmp_parse_reply(const char *buf, size_t len, QmpMsg *ret) {
        _cleanup_(qmp_parser_freep) QmpParser *p = NULL;
        QmpMsg m;
        size_t consumed;
        int r;

        if (len > QMP_MESSAGE_MAX)
                return -EMSGSIZE;
        r = qmp_parser_new(QMP_MESSAGE_MAX, &p);
        if (r < 0)
                return r;
        r = qmp_parser_feed(p, buf, len, &consumed, &m);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENODATA;
        for (size_t i = consumed; i < len; i++)
                if (!strchr(" \t\r\n", buf[i]) || buf[i] == '\0') {
                        qmp_msg_done(&m);
                        return -EBADMSG;
                }
        *ret = m;
        return 0;
}

/* ---- client -------------------------------------------------------------------- */

struct Qmp {
        int fd;
        QmpParser *parser;
        char rbuf[64 * 1024];
        size_t rpos, rlen;

        uint64_t next_id;
        uint64_t timeout_usec;
        json_object *greeting_root;
        json_object *greeting;
        QmpError last_error;
        bool broken;
        bool in_handler;

        QmpEventFn event_fn;
        void *event_userdata;
        QmpMsg *events;         /* ring of QMP_EVENTS_MAX */
        size_t ev_head, ev_count, ev_dropped;
};

Qmp *qmp_free(Qmp *q) {
        if (!q)
                return NULL;
        if (q->fd >= 0)
                close(q->fd);
        qmp_parser_free(q->parser);
        json_object_put(q->greeting_root);
        if (q->events)
                for (size_t i = 0; i < q->ev_count; i++)
                        qmp_msg_done(&q->events[(q->ev_head + i) % QMP_EVENTS_MAX]);
        free(q->events);
        free(q);
        return NULL;
}

int qmp_fd(const Qmp *q) {
        return q->fd;
}

json_object *qmp_greeting(const Qmp *q) {
        return q->greeting;
}

const QmpError *qmp_last_error(const Qmp *q) {
        return &q->last_error;
}

void qmp_set_timeout(Qmp *q, uint64_t timeout_usec) {
        q->timeout_usec = timeout_usec;
}

void qmp_set_event_handler(Qmp *q, QmpEventFn fn, void *userdata) {
        q->event_fn = fn;
        q->event_userdata = userdata;
}

size_t qmp_events_dropped(const Qmp *q) {
        return q->ev_dropped;
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = events };
                uint64_t now = now_usec(CLOCK_MONOTONIC), left;
                struct timespec ts;
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                left = deadline - now;
                ts.tv_sec = (time_t) (left / 1000000 > INT_MAX ? INT_MAX : left / 1000000);
                ts.tv_nsec = (long) (left % 1000000) * 1000;
                r = ppoll(&pfd, 1, &ts, NULL);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

typedef enum ReadMode {
        READ_WAIT,      /* poll() until a message is complete or the deadline */
        READ_NOWAIT,    /* read what the socket has, never wait */
        READ_BUFFERED,  /* only what was read already: no syscall */
} ReadMode;

/* Next message. Returns 1 with *ret, 0 when none is complete and the mode
 * does not wait, or -errno. */
static int read_message(Qmp *q, ReadMode mode, uint64_t deadline, QmpMsg *ret) {
        for (;;) {
                while (q->rpos < q->rlen) {
                        size_t consumed = 0;
                        int r = qmp_parser_feed(q->parser, q->rbuf + q->rpos, q->rlen - q->rpos, &consumed, ret);
                        if (r < 0) {
                                q->broken = true;
                                return r;
                        }
                        q->rpos += consumed;
                        if (r > 0)
                                return 1;
                }
                q->rpos = q->rlen = 0;
                if (mode == READ_BUFFERED)
                        return 0;

                ssize_t n = read(q->fd, q->rbuf, sizeof(q->rbuf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                if (mode == READ_NOWAIT)
                                        return 0;
                                int r = wait_fd(q->fd, POLLIN, deadline);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        q->broken = true;
                        return -errno;
                }
                if (n == 0) {
                        q->broken = true;
                        return -ECONNRESET;
                }
                q->rlen = (size_t) n;
        }
}

static int send_all(Qmp *q, const char *buf, size_t len, uint64_t deadline) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = send(q->fd, buf + done, len - done, MSG_NOSIGNAL);
                if (n < 0) {
                        int r = -errno;
                        if (r == -EINTR)
                                continue;
                        if (r == -EAGAIN)
                                r = wait_fd(q->fd, POLLOUT, deadline);
                        if (r == 0)
                                continue;
                        if (r == -EPIPE)
                                r = -ECONNRESET; /* the same news as EOF on read */
                        /* half a command on the wire: QEMU would read the next one as its tail */
                        if (done > 0 || r != -ETIMEDOUT)
                                q->broken = true;
                        return r;
                }
                done += (size_t) n;
        }
        return 0;
}

/* Takes ownership of *m. */
static void dispatch_event(Qmp *q, QmpMsg *m) {
        if (q->event_fn) {
                q->in_handler = true;
                q->event_fn(q, m, q->event_userdata);
                q->in_handler = false;
                qmp_msg_done(m);
                return;
        }
        if (!q->events) {
                q->events = calloc(QMP_EVENTS_MAX, sizeof(QmpMsg));
                if (!q->events) {
                        q->ev_dropped++;
                        qmp_msg_done(m);
                        return;
                }
        }
        if (q->ev_count == QMP_EVENTS_MAX) {
                qmp_msg_done(&q->events[q->ev_head]);
                q->ev_head = (q->ev_head + 1) % QMP_EVENTS_MAX;
                q->ev_count--;
                q->ev_dropped++;
        }
        q->events[(q->ev_head + q->ev_count) % QMP_EVENTS_MAX] = *m;
        q->ev_count++;
        *m = (QmpMsg) { .root = NULL };
}

/* Events that came in the same read() as a reply would otherwise sit in the
 * buffer, where an event loop polling the fd cannot see them: hand them out
 * now. A broken stream shows at the next call. */
static void dispatch_buffered(Qmp *q) {
        QmpMsg m;

        while (read_message(q, READ_BUFFERED, 0, &m) > 0) {
                if (m.kind == QMP_MSG_EVENT)
                        dispatch_event(q, &m);
                else
                        qmp_msg_done(&m);
        }
}

static int error_to_errno(const char *error_class) {
        if (streq(error_class, "CommandNotFound") || streq(error_class, "KVMMissingCap"))
                return -EOPNOTSUPP;
        if (streq(error_class, "DeviceNotActive") || streq(error_class, "DeviceNotFound"))
                return -ENODEV;
        return -EIO;
}

static int execute_until(Qmp *q, const char *command, json_object *args, uint64_t deadline,
                         json_object **ret_return) {
        _cleanup_free_ char *wire = NULL;
        char id[32];
        json_object *cmd;
        int r;

        if (!q || !command)
                return -EINVAL;
        if (q->in_handler)
                return -EBUSY;
        if (q->broken)
                return -ENOTCONN;

        snprintf(id, sizeof(id), "tenantd-%" PRIu64, ++q->next_id);
        cmd = json_object_new_object();
        if (!cmd)
                return -ENOMEM;
        if (json_object_object_add(cmd, "execute", json_object_new_string(command)) < 0 ||
            (args && json_object_object_add(cmd, "arguments", json_object_get(args)) < 0) ||
            json_object_object_add(cmd, "id", json_object_new_string(id)) < 0) {
                json_object_put(cmd);
                return -ENOMEM;
        }
        wire = strdup_printf("%s\n", json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN));
        json_object_put(cmd);
        if (!wire)
                return -ENOMEM;

        r = send_all(q, wire, strlen(wire), deadline);
        if (r < 0)
                return r;

        for (;;) {
                QmpMsg m;

                r = read_message(q, READ_WAIT, deadline, &m);
                if (r < 0)
                        return r;
                if (m.kind == QMP_MSG_EVENT) {
                        dispatch_event(q, &m);
                        continue;
                }
                /* a stray greeting, or the late reply to a command that timed out */
                if (m.kind == QMP_MSG_GREETING || (m.has_id && !streq_ptr(m.id, id))) {
                        qmp_msg_done(&m);
                        continue;
                }
                if (m.kind == QMP_MSG_ERROR) {
                        q->last_error = m.error;
                        r = error_to_errno(m.error.error_class);
                } else {
                        if (ret_return)
                                *ret_return = json_object_get(m.value);
                        r = 0;
                }
                qmp_msg_done(&m);
                dispatch_buffered(q);
                return r;
        }
}

int qmp_execute(Qmp *q, const char *command, json_object *args, uint64_t timeout_usec, json_object **ret_return) {
        return execute_until(q, command, args, deadline_after(timeout_usec), ret_return);
}

int qmp_connect_fd(int fd, uint64_t timeout_usec, Qmp **ret) {
        _cleanup_qmp_ Qmp *q = NULL;
        uint64_t deadline = deadline_after(timeout_usec);
        QmpMsg m;
        int r, flags;

        if (fd < 0)
                return -EBADF;
        q = calloc(1, sizeof(*q));
        if (!q) {
                close(fd);
                return -ENOMEM;
        }
        q->fd = fd;
        q->timeout_usec = QMP_TIMEOUT_USEC;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;
        r = qmp_parser_new(QMP_MESSAGE_MAX, &q->parser);
        if (r < 0)
                return r;

        r = read_message(q, READ_WAIT, deadline, &m);
        if (r < 0)
                return r;
        if (m.kind != QMP_MSG_GREETING) {
                qmp_msg_done(&m);
                return -EPROTO;
        }
        q->greeting_root = TAKE_PTR(m.root);
        q->greeting = m.value;

        r = execute_until(q, "qmp_capabilities", NULL, deadline, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int qmp_connect(const char *path, uint64_t timeout_usec, Qmp **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t deadline = deadline_after(timeout_usec);
        int fd, r;

        if (!path || !path[0])
                return -EINVAL;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));

        for (;;) {
                uint64_t now;

                /* non-blocking: a full backlog (QEMU stopped) gives EAGAIN, not a hang */
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        break;
                r = -errno;
                close(fd);
                if (r != -ENOENT && r != -ECONNREFUSED && r != -EAGAIN && r != -EINTR)
                        return r;
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return r;
                usleep((useconds_t) (deadline - now < 50000 ? deadline - now : 50000));
        }

        uint64_t now = now_usec(CLOCK_MONOTONIC);
        return qmp_connect_fd(fd, deadline > now ? deadline - now : 0, ret);
}

int qmp_process(Qmp *q) {
        int n = 0;

        if (q->in_handler)
                return -EBUSY;
        if (q->broken)
                return -ENOTCONN;
        for (;;) {
                QmpMsg m;
                int r = read_message(q, READ_NOWAIT, 0, &m);
                if (r < 0)
                        return r;
                if (r == 0)
                        return n;
                if (m.kind == QMP_MSG_EVENT) {
                        dispatch_event(q, &m);
                        n++;
                } else
                        qmp_msg_done(&m);
        }
}

int qmp_next_event(Qmp *q, QmpMsg *ret) {
        if (q->ev_count == 0)
                return 0;
        *ret = q->events[q->ev_head];
        q->events[q->ev_head] = (QmpMsg) { .root = NULL };
        q->ev_head = (q->ev_head + 1) % QMP_EVENTS_MAX;
        q->ev_count--;
        return 1;
}

/* Remove the first queued event named name (NULL: any). */
static bool take_queued(Qmp *q, const char *name, QmpMsg *ret) {
        for (size_t i = 0; i < q->ev_count; i++) {
                size_t at = (q->ev_head + i) % QMP_EVENTS_MAX;
                if (name && !streq(q->events[at].event, name))
                        continue;
                QmpMsg m = q->events[at];
                /* close the gap, keeping the order */
                for (size_t j = i; j + 1 < q->ev_count; j++)
                        q->events[(q->ev_head + j) % QMP_EVENTS_MAX] =
                                q->events[(q->ev_head + j + 1) % QMP_EVENTS_MAX];
                q->ev_count--;
                q->events[(q->ev_head + q->ev_count) % QMP_EVENTS_MAX] = (QmpMsg) { .root = NULL };
                if (ret)
                        *ret = m;
                else
                        qmp_msg_done(&m);
                return true;
        }
        return false;
}

int qmp_wait_event(Qmp *q, const char *name, uint64_t timeout_usec, QmpMsg *ret) {
        uint64_t deadline = deadline_after(timeout_usec);

        if (q->in_handler)
                return -EBUSY;
        if (take_queued(q, name, ret))
                return 0;
        if (q->broken)
                return -ENOTCONN;
        for (;;) {
                QmpMsg m;
                int r = read_message(q, READ_WAIT, deadline, &m);
                if (r < 0)
                        return r;
                if (m.kind != QMP_MSG_EVENT) {
                        qmp_msg_done(&m);
                        continue;
                }
                if (!name || streq(m.event, name)) {
                        if (q->event_fn) {
                                /* the handler sees every event; the caller gets it too */
                                q->in_handler = true;
                                q->event_fn(q, &m, q->event_userdata);
                                q->in_handler = false;
                        }
                        if (ret)
                                *ret = m;
                        else
                                qmp_msg_done(&m);
                        return 0;
                }
                dispatch_event(q, &m);
        }
}

/* ---- commands ------------------------------------------------------------------ */

static int simple(Qmp *q, const char *command) {
        return qmp_execute(q, command, NULL, q->timeout_usec, NULL);
}

int qmp_balloon(Qmp *q, uint64_t bytes) {
        json_object *args;
        int r;

        if (bytes == 0 || bytes > INT64_MAX)
                return -ERANGE;
        args = json_object_new_object();
        if (!args)
                return -ENOMEM;
        if (json_object_object_add(args, "value", json_object_new_int64((int64_t) bytes)) < 0) {
                json_object_put(args);
                return -ENOMEM;
        }
        r = qmp_execute(q, "balloon", args, q->timeout_usec, NULL);
        json_object_put(args);
        return r;
}

int qmp_query_balloon(Qmp *q, uint64_t *ret_actual) {
        json_object *reply = NULL, *actual;
        int64_t v;
        int r;

        r = qmp_execute(q, "query-balloon", NULL, q->timeout_usec, &reply);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(reply, "actual", &actual) || !json_object_is_type(actual, json_type_int) ||
            (v = json_object_get_int64(actual)) < 0) {
                json_object_put(reply);
                return -EBADMSG;
        }
        json_object_put(reply);
        *ret_actual = (uint64_t) v;
        return 0;
}

int qmp_stop(Qmp *q) {
        return simple(q, "stop");
}

int qmp_cont(Qmp *q) {
        return simple(q, "cont");
}

int qmp_system_powerdown(Qmp *q) {
        return simple(q, "system_powerdown");
}

int qmp_quit(Qmp *q) {
        int r = simple(q, "quit");
        /* QEMU may close the socket before its reply leaves: gone either way */
        return r == -ECONNRESET ? 0 : r;
}

int qmp_query_status(Qmp *q, bool *ret_running, char **ret_status) {
        json_object *reply = NULL, *running, *status;
        char *s = NULL;
        int r;

        r = qmp_execute(q, "query-status", NULL, q->timeout_usec, &reply);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(reply, "running", &running) ||
            !json_object_is_type(running, json_type_boolean) ||
            !json_object_object_get_ex(reply, "status", &status) || !json_object_is_type(status, json_type_string)) {
                json_object_put(reply);
                return -EBADMSG;
        }
        if (ret_status) {
                s = strdup(json_object_get_string(status));
                if (!s) {
                        json_object_put(reply);
                        return -ENOMEM;
                }
                *ret_status = s;
        }
        *ret_running = json_object_get_boolean(running);
        json_object_put(reply);
        return 0;
}
