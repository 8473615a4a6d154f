/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-set: the rules that need more than one file: a tenant's class must
 * exist in classes.ini, and tenant ids are unique across files (the file
 * name is only the default id, two files can claim one id with name =).
 * Owns nothing per file; that is tenant_parse()'s.
 */
#include "policy-internal.h"

/* "file:line", or "file" when the id came from the file name. */
static char *location(const TenantPolicy *t) {
        if (t->line_id > 0)
                return strdup_printf("%s:%u", t->file ? t->file : "<input>", t->line_id);
        return strdup(t->file ? t->file : "<input>");
}

int policy_set_validate(const PolicySet *s, PolicyErrors *errs) {
        char known[CLASSES_MAX * (CLASS_NAME_MAX + 2) + 1] = "";
        size_t before = errs->n;

        for (size_t i = 0; i < s->classes.n; i++) {
                size_t l = strlen(known);
                snprintf(known + l, sizeof(known) - l, "%s%s", i ? ", " : "", s->classes.v[i].name);
        }

        for (size_t i = 0; i < s->n_tenants; i++) {
                const TenantPolicy *t = &s->tenants[i];

                if (t->class_name[0] && !policy_classes_find(&s->classes, t->class_name))
                        policy_errors_add(errs, t->file, t->line_class, "tenant.class", t->class_name,
                                          ENOENT, known[0] ? "unknown class, known: %s"
                                                           : "unknown class: no class is defined (see classes.ini)%s",
                                          known);

                /* report both places, each naming the other: either file may be
                 * the one to fix */
                for (size_t j = 0; j < s->n_tenants; j++) {
                        _cleanup_free_ char *other = NULL;

                        if (j == i || !streq(t->id, s->tenants[j].id) || !t->id[0])
                                continue;
                        other = location(&s->tenants[j]);
                        policy_errors_add(errs, t->file, t->line_id, "tenant.name", t->id, EEXIST,
                                          "duplicate tenant id, also defined in %s",
                                          other ? other : "another file");
                }
        }
        return errs->n > before ? -EINVAL : 0;
}

void policy_set_done(PolicySet *s) {
        for (size_t i = 0; i < s->n_tenants; i++)
                tenant_policy_done(&s->tenants[i]);
        free(s->tenants);
        s->tenants = NULL;
        s->n_tenants = 0;
        policy_classes_done(&s->classes);
        host_config_done(&s->config);
}
