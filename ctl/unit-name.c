/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit-name: systemd unit names for tenants and class slices.
 *
 * Escaping follows systemd's unit_name_escape() (what `systemd-escape` prints):
 * '/' becomes '-', every byte outside [A-Za-z0-9:_.] (including '-' and '\')
 * becomes "\xNN" in lower-case hex, and a leading '.' is escaped too. The '-'
 * rule is the one that matters: in a slice name '-' means nesting, so a naive
 * "tenant-web-01" would read as a child of "tenant-web" (PITFALLS 8).
 * Owns naming only; cgroup paths at runtime come from the unit's ControlGroup.
 */
#include <stdio.h>

#include "plan.h"

static bool unit_char_is_valid(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.';
}

char *unit_name_escape(const char *id) {
        static const char hex[] = "0123456789abcdef";
        char *ret, *t;

        if (!id)
                return NULL;
        /* Worst case every byte becomes "\xNN". */
        ret = malloc(strlen(id) * 4 + 1);
        if (!ret)
                return NULL;

        t = ret;
        for (const char *f = id; *f; f++) {
                unsigned char c = (unsigned char) *f;

                if (c == '/')
                        *t++ = '-';
                else if ((f == id && c == '.') || !unit_char_is_valid((char) c)) {
                        *t++ = '\\';
                        *t++ = 'x';
                        *t++ = hex[c >> 4];
                        *t++ = hex[c & 15];
                } else
                        *t++ = (char) c;
        }
        *t = '\0';
        return ret;
}

char *tenant_unit_name(const TenantPolicy *t) {
        _cleanup_free_ char *e = NULL;

        e = unit_name_escape(t->id);
        if (!e)
                return NULL;
        return strdup_printf("tenant-%s.%s", e, t->exec || t->kind == TENANT_VM ? "service" : "scope");
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

char *tenant_id_from_unit(const char *unit) {
        const char *dot = strrchr(unit, '.'), *s;
        char *ret, *t;

        if (strncmp(unit, "tenant-", 7) != 0 || !dot || (!streq(dot, ".service") && !streq(dot, ".scope")))
                return NULL;
        ret = malloc((size_t) (dot - unit) + 1);
        if (!ret)
                return NULL;
        for (s = unit + 7, t = ret; s < dot; s++) {
                if (s[0] == '\\' && s[1] == 'x' && s + 3 < dot + 1 && unhex(s[2]) >= 0 && unhex(s[3]) >= 0) {
                        *t++ = (char) (unhex(s[2]) << 4 | unhex(s[3]));
                        s += 3;
                } else
                        *t++ = *s == '-' ? '/' : *s;
        }
        *t = '\0';
        if (!tenant_id_is_valid(ret)) {
                free(ret);
                return NULL;
        }
        return ret;
}
