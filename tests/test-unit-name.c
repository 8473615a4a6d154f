/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit names (ctl/unit-name.c). Expected strings are what `systemd-escape`
 * (systemd 252) prints for the same input.
 */
#include <criterion/criterion.h>

#include "plan.h"

static void assert_escape(const char *in, const char *expected) {
        char *s = unit_name_escape(in);

        cr_assert_not_null(s);
        cr_assert_str_eq(s, expected, "escape(\"%s\")", in);
        free(s);
}

Test(unit_name, systemd_escape_outputs) {
        assert_escape("web-01", "web\\x2d01");
        assert_escape("a-b-c", "a\\x2db\\x2dc");
        assert_escape("a.b_c", "a.b_c");
        assert_escape("Ab9:x", "Ab9:x");
        assert_escape(".hidden", "\\x2ehidden");
        assert_escape("x y/z", "x\\x20y-z");
        assert_escape("back\\slash", "back\\x5cslash");
        assert_escape("\xc3\xa9", "\\xc3\\xa9");
        assert_escape("", "");
}

Test(unit_name, only_leading_dot_is_escaped) {
        assert_escape("db.v2", "db.v2");
        assert_escape("..", "\\x2e.");
}

Test(unit_name, tenant_unit_scope_and_service) {
        TenantPolicy t = { .exec = NULL };
        char *s;

        strcpy(t.id, "web-01");
        s = tenant_unit_name(&t);
        cr_assert_str_eq(s, "tenant-web\\x2d01.scope");
        free(s);

        t.exec = (char[]) { "/usr/bin/true" };
        s = tenant_unit_name(&t);
        cr_assert_str_eq(s, "tenant-web\\x2d01.service");
        free(s);
}
