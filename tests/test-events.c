/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's event ring (events.h). */
#include <criterion/criterion.h>

#include "events.h"

Test(events, ring_keeps_the_newest_with_increasing_numbers) {
        EventLog l;

        cr_assert_eq(event_log_init(&l, 3), 0);
        for (unsigned i = 0; i < 5; i++) {
                char detail[16];

                snprintf(detail, sizeof(detail), "n=%u", i);
                cr_assert_not_null(event_log_add(&l, 1000 + i, "web", "normal", "throttle", "pressure", detail));
        }
        cr_assert_eq(l.n, 3);
        cr_assert_eq(event_log_at(&l, 0)->seq, 3);
        cr_assert_str_eq(event_log_at(&l, 0)->detail, "n=2");
        cr_assert_eq(event_log_at(&l, 2)->seq, 5);
        cr_assert_eq(event_log_at(&l, 2)->mono_usec, 1004);
        cr_assert_null(event_log_at(&l, 3));
        event_log_done(&l);
}

Test(events, strings_are_valid_utf8_and_never_null) {
        EventLog l;
        const TenantEvent *e;

        cr_assert_eq(event_log_init(&l, 4), 0);
        e = event_log_add(&l, 1, NULL, NULL, "notice", "bad \xff byte, cut \xc3", "µs ok");
        cr_assert_not_null(e);
        cr_assert_str_eq(e->tenant, "");
        cr_assert_str_eq(e->klass, "");
        cr_assert_str_eq(e->reason, "bad ? byte, cut ?");
        cr_assert_str_eq(e->detail, "µs ok");
        event_log_done(&l);
}
