/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * override: runtime policy changes (reassign), their file under /run/tenantd,
 * and applying them on top of a loaded policy set. See override.h.
 */
#include <ini.h>

#include "override.h"

static const char *const override_keys[_OVERRIDE_MAX] = {
        [OVERRIDE_CLASS] = "class",
        [OVERRIDE_NODES] = "nodes",
        [OVERRIDE_CPUS] = "cpus",
        [OVERRIDE_REQUEST] = "request",
        [OVERRIDE_LIMIT] = "limit",
};

const char *override_key_to_string(OverrideKey k) {
        return k < _OVERRIDE_MAX ? override_keys[k] : NULL;
}

int override_key_from_string(const char *s, OverrideKey *ret) {
        for (unsigned k = 0; k < _OVERRIDE_MAX; k++)
                if (streq(s, override_keys[k])) {
                        *ret = (OverrideKey) k;
                        return 0;
                }
        return -EINVAL;
}

const Override *overrides_find(const Overrides *o, const char *id) {
        for (size_t i = 0; i < o->n; i++)
                if (streq(o->v[i].id, id))
                        return &o->v[i];
        return NULL;
}

static void override_clear(Override *ov) {
        for (unsigned k = 0; k < _OVERRIDE_MAX; k++) {
                free(ov->value[k]);
                ov->value[k] = NULL;
        }
}

void overrides_forget(Overrides *o, const char *id) {
        for (size_t i = 0; i < o->n; i++)
                if (streq(o->v[i].id, id)) {
                        override_clear(&o->v[i]);
                        memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof(Override));
                        o->n--;
                        return;
                }
}

int overrides_set(Overrides *o, const char *id, OverrideKey k, const char *value) {
        Override *ov = (Override *) overrides_find(o, id);
        char *copy = NULL;

        if (k >= _OVERRIDE_MAX || !tenant_id_is_valid(id))
                return -EINVAL;
        /* one line of the file, as a policy line could hold it */
        if (value && (strlen(value) == 0 || strlen(value) > POLICY_LINE_MAX))
                return -EINVAL;
        for (const char *c = value; c && *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f || *c == '[' || *c == ';' || *c == '#')
                        return -EINVAL;
        if (value && !(copy = strdup(value)))
                return -ENOMEM;
        if (!ov) {
                Override *v;

                if (!copy)
                        return 0;
                v = realloc(o->v, (o->n + 1) * sizeof(Override));
                if (!v) {
                        free(copy);
                        return -ENOMEM;
                }
                o->v = v;
                ov = &o->v[o->n++];
                *ov = (Override) {0};
                snprintf(ov->id, sizeof(ov->id), "%s", id);
        }
        free(ov->value[k]);
        ov->value[k] = copy;

        for (unsigned i = 0; i < _OVERRIDE_MAX; i++)
                if (ov->value[i])
                        return 0;
        overrides_forget(o, id); /* nothing left */
        return 0;
}

void overrides_done(Overrides *o) {
        for (size_t i = 0; i < o->n; i++)
                override_clear(&o->v[i]);
        free(o->v);
        *o = (Overrides) {0};
}

/* ---- applying ------------------------------------------------------------ */

typedef struct Ctx {
        const char *source;
        const PolicySet *set;
        PolicyErrors *errs;
        size_t before;
} Ctx;

static void bad(Ctx *c, const TenantPolicy *t, OverrideKey k, const char *value, int errnum, const char *problem) {
        _cleanup_free_ char *key = strdup_printf("%s.%s", t->id, override_keys[k]);

        policy_errors_add(c->errs, c->source, 0, key ? key : override_keys[k], value, errnum, "%s", problem);
}

static void apply_class(Ctx *c, TenantPolicy *t, const char *v) {
        char known[CLASSES_MAX * (CLASS_NAME_MAX + 2) + 1] = "";
        _cleanup_free_ char *problem = NULL;

        if (strlen(v) <= CLASS_NAME_MAX && policy_classes_find(&c->set->classes, v)) {
                snprintf(t->class_name, sizeof(t->class_name), "%s", v);
                return;
        }
        for (size_t i = 0; i < c->set->classes.n; i++) {
                size_t l = strlen(known);
                snprintf(known + l, sizeof(known) - l, "%s%s", i ? ", " : "", c->set->classes.v[i].name);
        }
        problem = strdup_printf("unknown class, known: %s", known);
        bad(c, t, OVERRIDE_CLASS, v, ENOENT, problem ? problem : "unknown class");
}

static void apply_nodes(Ctx *c, TenantPolicy *t, const char *v) {
        NodeSet set;

        t->has_nodes = true;
        if (streq(v, "auto")) {
                t->nodes_auto = true;
                t->nodes = (NodeSet) {0};
                return;
        }
        if (nodelist_parse(v, &set) < 0 || nodeset_count(&set) == 0) {
                bad(c, t, OVERRIDE_NODES, v, EINVAL, "expected auto or a node list, e.g. 1 or 0,1");
                return;
        }
        t->nodes_auto = false;
        t->nodes = set;
}

/* As in tenant.ini: a value with '-' or ',' is a CPU list, a plain number a count. */
static void apply_cpus(Ctx *c, TenantPolicy *t, const char *v) {
        if (strpbrk(v, "-,")) {
                CpuSet set;

                if (cpulist_parse(v, &set) < 0 || cpuset_is_empty(&set)) {
                        bad(c, t, OVERRIDE_CPUS, v, EINVAL, "invalid CPU list, e.g. 4-7,9 or 3-3");
                        return;
                }
                t->cpu_list = set;
                t->has_cpu_list = true;
                t->cpu_count = 0;
        } else {
                char *end;
                unsigned long n;

                errno = 0;
                n = strtoul(v, &end, 10);
                if (!*v || *end || errno || n == 0 || n > CPUSET_MAX) {
                        bad(c, t, OVERRIDE_CPUS, v, EINVAL, "expected a CPU count (1..1024) or a list, e.g. 2 or 4-7");
                        return;
                }
                t->cpu_count = (unsigned) n;
                t->has_cpu_list = false;
                t->cpu_list = (CpuSet) {0};
        }
}

static void apply_size(Ctx *c, TenantPolicy *t, OverrideKey k, const char *v) {
        SizeSpec spec;

        if (size_parse(v, true, &spec) < 0) {
                bad(c, t, k, v, EINVAL, "expected a size, e.g. 512M, 2G, 25% or max");
                return;
        }
        if (k == OVERRIDE_REQUEST && spec.bytes == SIZE_INFINITY && spec.percent_bp == 0) {
                bad(c, t, k, v, EINVAL, "a request must be finite");
                return;
        }
        if (k == OVERRIDE_REQUEST)
                t->request = spec;
        else
                t->limit = spec;
}

int overrides_apply(const Overrides *o, PolicySet *s, const char *source, PolicyErrors *errs) {
        Ctx c = { .source = source, .set = s, .errs = errs, .before = errs->n };

        for (size_t i = 0; o && i < o->n; i++) {
                const Override *ov = &o->v[i];
                TenantPolicy *t = NULL;

                for (size_t j = 0; j < s->n_tenants; j++)
                        if (streq(s->tenants[j].id, ov->id))
                                t = &s->tenants[j];
                if (!t)
                        continue;
                if (ov->value[OVERRIDE_CLASS])
                        apply_class(&c, t, ov->value[OVERRIDE_CLASS]);
                if (ov->value[OVERRIDE_NODES])
                        apply_nodes(&c, t, ov->value[OVERRIDE_NODES]);
                if (ov->value[OVERRIDE_CPUS])
                        apply_cpus(&c, t, ov->value[OVERRIDE_CPUS]);
                if (ov->value[OVERRIDE_REQUEST])
                        apply_size(&c, t, OVERRIDE_REQUEST, ov->value[OVERRIDE_REQUEST]);
                if (ov->value[OVERRIDE_LIMIT])
                        apply_size(&c, t, OVERRIDE_LIMIT, ov->value[OVERRIDE_LIMIT]);
                /* the relations (request <= limit, VM rules) as tenant.ini has them */
                if (errs->n == c.before)
                        (void) tenant_policy_check(t, errs);
        }
        return errs->n > c.before ? -EINVAL : 0;
}

/* ---- the file ------------------------------------------------------------ */

typedef struct LoadCtx {
        Overrides *o;
        const char *path;
        PolicyErrors *errs;
        unsigned line;
} LoadCtx;

static int load_handler(void *userdata, const char *section, const char *name, const char *value
#if INI_HANDLER_LINENO
                        , int lineno
#endif
) {
        LoadCtx *c = userdata;
        OverrideKey k;
        int r;

        if (!name)
                return 1; /* a section header alone */
        if (!tenant_id_is_valid(section)) {
                policy_errors_add(c->errs, c->path, 0, section, NULL, EINVAL, "invalid tenant id");
                return 1;
        }
        if (override_key_from_string(name, &k) < 0) {
                policy_errors_add(c->errs, c->path, 0, name, value, EINVAL,
                                  "unknown key, expected class, nodes, cpus, request or limit");
                return 1;
        }
        r = overrides_set(c->o, section, k, value);
        return r < 0 ? 0 : 1;
}

int overrides_load(const char *path, Overrides *ret, PolicyErrors *errs) {
        LoadCtx c = { .o = ret, .path = path, .errs = errs };
        size_t before = errs->n;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        int r;

        *ret = (Overrides) {0};
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        r = ini_parse_file(f, load_handler, &c);
        if (r != 0 && errs->n == before)
                policy_errors_add(errs, path, r > 0 ? (unsigned) r : 0, "", NULL, EINVAL,
                                  r > 0 ? "syntax error" : "cannot read");
        if (errs->n > before) {
                overrides_done(ret);
                return -EINVAL;
        }
        return 0;
}

static int overrides_write(FILE *f, void *userdata) {
        const Overrides *o = userdata;

        fputs("# runtime overrides set by tenantctl reassign; rewritten by tenantd\n", f);
        for (size_t i = 0; i < o->n; i++) {
                fprintf(f, "[%s]\n", o->v[i].id);
                for (unsigned k = 0; k < _OVERRIDE_MAX; k++)
                        if (o->v[i].value[k])
                                fprintf(f, "%s = %s\n", override_keys[k], o->v[i].value[k]);
        }
        return 0;
}

int overrides_save(const Overrides *o, const char *path) {
        return write_file_atomic(path, 0644, overrides_write, (void *) o);
}

int overrides_copy(const Overrides *from, Overrides *ret) {
        *ret = (Overrides) {0};
        for (size_t i = 0; i < from->n; i++)
                for (unsigned k = 0; k < _OVERRIDE_MAX; k++)
                        if (from->v[i].value[k] && overrides_set(ret, from->v[i].id, (OverrideKey) k, from->v[i].value[k]) < 0) {
                                overrides_done(ret);
                                return -ENOMEM;
                        }
        return 0;
}
