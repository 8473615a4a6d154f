/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * events: the ring of recent events. See events.h.
 */
#include "events.h"

int event_log_init(EventLog *l, size_t cap) {
        *l = (EventLog) { .next_seq = 1, .cap = cap };
        l->v = calloc(cap, sizeof(TenantEvent));
        return l->v ? 0 : -ENOMEM;
}

static void event_clear(TenantEvent *e) {
        free(e->tenant);
        free(e->klass);
        free(e->action);
        free(e->reason);
        free(e->detail);
        *e = (TenantEvent) {0};
}

/* The length of the UTF-8 character at p, 0 when it is not one as D-Bus
 * counts them: overlong forms, UTF-16 surrogates and code points past
 * U+10FFFF are refused like broken sequences. */
static size_t utf8_char_len(const unsigned char *p) {
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = *p & (0x7Fu >> len);

        if (len <= 1)
                return len;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3F);
        }
        return cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : len;
}

/* A copy that is valid UTF-8 (D-Bus refuses anything else): bytes that do not
 * form a character become '?'. */
static char *utf8_dup(const char *s) {
        const unsigned char *p = (const unsigned char *) (s ? s : "");
        size_t n = strlen((const char *) p);
        char *ret = malloc(n + 1), *t = ret;

        if (!ret)
                return NULL;
        while (*p) {
                size_t len = utf8_char_len(p);

                if (len == 0) {
                        *t++ = '?';
                        p++;
                        continue;
                }
                memcpy(t, p, len);
                t += len;
                p += len;
        }
        *t = '\0';
        return ret;
}

const TenantEvent *event_log_add(EventLog *l, uint64_t mono_usec, const char *tenant, const char *klass,
                                 const char *action, const char *reason, const char *detail) {
        TenantEvent *e;

        if (l->cap == 0)
                return NULL;
        if (l->n == l->cap) {
                event_clear(&l->v[l->first]);
                l->first = (l->first + 1) % l->cap;
                l->n--;
        }
        e = &l->v[(l->first + l->n) % l->cap];
        *e = (TenantEvent) {
                .seq = l->next_seq,
                .mono_usec = mono_usec,
                .real_usec = now_usec(CLOCK_REALTIME),
                .tenant = utf8_dup(tenant),
                .klass = utf8_dup(klass),
                .action = utf8_dup(action),
                .reason = utf8_dup(reason),
                .detail = utf8_dup(detail),
        };
        if (!e->tenant || !e->klass || !e->action || !e->reason || !e->detail) {
                event_clear(e);
                return NULL;
        }
        l->next_seq++;
        l->n++;
        return e;
}

const TenantEvent *event_log_at(const EventLog *l, size_t i) {
        return i < l->n ? &l->v[(l->first + i) % l->cap] : NULL;
}

void event_log_done(EventLog *l) {
        for (size_t i = 0; i < l->n; i++)
                event_clear(&l->v[(l->first + i) % l->cap]);
        free(l->v);
        *l = (EventLog) {0};
}
