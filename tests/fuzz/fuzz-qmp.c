/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the QMP reply parser (ctl/qmp.c). The input is a byte
 * stream as a QMP socket would deliver it. It goes through
 *   - qmp_parse_reply() as one message, and
 *   - the incremental qmp_parser_feed() twice: all at once, and in small
 *     pieces whose sizes come from the input's length,
 * and the two streaming runs must agree message by message (a reply split
 * across reads must parse exactly as if it came in one piece). Every message
 * that comes out is touched field by field so ASan sees any dangling borrow.
 * The cap is small (4 KiB) so the -EMSGSIZE paths run too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "qmp.h"

#define FUZZ_MAX 4096
#define KINDS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch(const QmpMsg *m) {
        size_t n = strlen(m->error.error_class) + strlen(m->error.desc);
        if (m->event)
                n += strlen(m->event);
        if (m->id)
                n += strlen(m->id);
        if (m->value)
                n += strlen(json_object_to_json_string(m->value));
        return n;
}

/* Feed the stream in pieces of at most `piece` bytes (0: all at once); record
 * the kinds of the messages and return the final status. */
static int run(const char *buf, size_t len, size_t piece, int *kinds, size_t *n_kinds) {
        QmpParser *p = NULL;
        size_t off = 0, step = 0;
        int r = 0;

        if (qmp_parser_new(FUZZ_MAX, &p) < 0)
                abort();
        *n_kinds = 0;
        while (off < len) {
                size_t chunk = piece ? 1 + (step++ * 7 + len) % piece : len - off, end;
                if (chunk > len - off)
                        chunk = len - off;
                end = off + chunk;
                while (off < end) {
                        QmpMsg m;
                        size_t used = 0;
                        r = qmp_parser_feed(p, buf + off, end - off, &used, &m);
                        if (r < 0)
                                goto out;
                        if (used > end - off)
                                abort();
                        off += used;
                        if (r == 1) {
                                (void) touch(&m);
                                if (*n_kinds < KINDS_MAX)
                                        kinds[(*n_kinds)++] = (int) m.kind;
                                qmp_msg_done(&m);
                        }
                }
        }
        r = 0;
out:
        qmp_parser_free(p);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data;
        int kinds_a[KINDS_MAX], kinds_b[KINDS_MAX], ra, rb;
        size_t na, nb;
        QmpMsg m;

        if (qmp_parse_reply(buf, size, &m) == 0) {
                (void) touch(&m);
                qmp_msg_done(&m);
        }

        ra = run(buf, size, 0, kinds_a, &na);
        rb = run(buf, size, 1 + size % 13, kinds_b, &nb);
        if (ra != rb || na != nb || memcmp(kinds_a, kinds_b, na * sizeof(int)) != 0)
                abort();
        return 0;
}
