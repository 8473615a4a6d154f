/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>

#include "apply.h"
#include "hugetlb.h"

static void fmt_bytes(uint64_t v, char *buf, size_t size) {
        if (v == SIZE_INFINITY)
                snprintf(buf, size, "max");
        else
                snprintf(buf, size, "%" PRIu64, v);
}

static bool add_size(AttrValue *v, size_t *n, size_t max, const char *name, uint64_t bytes) {
        if (bytes == SIZE_UNSET || *n >= max)
                return false;
        snprintf(v[*n].name, sizeof(v[*n].name), "%s", name);
        fmt_bytes(bytes, v[*n].value, sizeof(v[*n].value));
        (*n)++;
        return true;
}

size_t plan_node_attrs(const PlanNode *node, AttrValue *v, size_t max) {
        size_t n = 0;

        /* cpuset first: a process moved in later lands on the right CPUs/nodes.
         * A tenant's leaf always has both: empty means "not pinned", which the
         * kernel reads back as "" (or as a missing file while the controller is
         * off), so a pin taken away by a reassign is written back to "". */
        bool leaf = node->type == PLAN_TENANT;

        if ((leaf || !cpuset_is_empty(&node->cpus)) && n < max) {
                snprintf(v[n].name, sizeof(v[n].name), "cpuset.cpus");
                cpulist_format(&node->cpus, v[n].value, sizeof(v[n].value));
                n++;
        }
        if ((leaf || nodeset_count(&node->mems) > 0) && n < max) {
                snprintf(v[n].name, sizeof(v[n].name), "cpuset.mems");
                nodelist_format(&node->mems, v[n].value, sizeof(v[n].value));
                n++;
        }
        if (node->cpu_weight > 0 && n < max) {
                snprintf(v[n].name, sizeof(v[n].name), "cpu.weight");
                snprintf(v[n].value, sizeof(v[n].value), "%u", node->cpu_weight);
                n++;
        }
        add_size(v, &n, max, "memory.min", node->memory_min);
        add_size(v, &n, max, "memory.low", node->memory_low);
        add_size(v, &n, max, "memory.high", node->memory_high);
        add_size(v, &n, max, "memory.max", node->memory_max);
        add_size(v, &n, max, "memory.swap.max", node->swap_max);
        add_size(v, &n, max, "memory.zswap.max", node->zswap_max);
        for (size_t i = 0; i < HUGE_SIZES_MAX; i++) {
                const PlanHugetlb *h = &node->hugetlb[i];
                char sz[16], name[48];

                if (h->page_size == 0)
                        continue;
                hugetlb_size_name(h->page_size, sz, sizeof(sz));
                snprintf(name, sizeof(name), "hugetlb.%s.max", sz);
                add_size(v, &n, max, name, h->max);
                snprintf(name, sizeof(name), "hugetlb.%s.rsvd.max", sz);
                add_size(v, &n, max, name, h->rsvd_max);
        }
        return n;
}

/* ---- the transaction journal ------------------------------------------- */

typedef enum { UNDO_CREATED, UNDO_WROTE, UNDO_CONTROLLERS } UndoType;

typedef struct Undo {
        UndoType type;
        const char *path;        /* points into the plan */
        char attr[48];
        char *old;
} Undo;

typedef struct Journal {
        Undo *v;
        size_t n, alloc;
} Journal;

static int journal_push(Journal *j, UndoType type, const char *path, const char *attr, char *old) {
        if (j->n == j->alloc) {
                size_t na = j->alloc ? j->alloc * 2 : 64;
                Undo *nv = realloc(j->v, na * sizeof(Undo));
                if (!nv)
                        return -ENOMEM;
                j->v = nv;
                j->alloc = na;
        }
        j->v[j->n++] = (Undo) { .type = type, .path = path, .old = old };
        if (attr)
                snprintf(j->v[j->n - 1].attr, sizeof(j->v[0].attr), "%s", attr);
        return 0;
}

static void journal_done(Journal *j) {
        for (size_t i = 0; i < j->n; i++)
                free(j->v[i].old);
        free(j->v);
        *j = (Journal) {0};
}

/* Undo in reverse. Best effort: a failing undo step is counted, not fatal. */
static unsigned journal_rollback(Cgfs *c, Journal *j) {
        unsigned undone = 0;

        for (size_t i = j->n; i-- > 0;) {
                Undo *u = &j->v[i];
                int r = u->type == UNDO_WROTE         ? cgfs_write(c, u->path, u->attr, u->old)
                        : u->type == UNDO_CONTROLLERS ? cgfs_restore_controllers(c, u->path, u->old)
                                                      : cgfs_remove(c, u->path);
                if (r >= 0)
                        undone++;
        }
        return undone;
}

/* Enable the controllers from the root down to path, and journal the
 * subtree_control of path when it was there before this apply (the slices
 * above it were journaled when the apply passed them; the root is restored
 * after the rollback, once its children are gone): a rollback takes back what
 * was enabled. Journals even what a failed enable did halfway. */
static int enable_journaled(Cgfs *c, Journal *j, const char *path, bool created, const char *ctrls) {
        _cleanup_free_ char *old = NULL, *now = NULL;
        int r, k;

        if (!created) {
                r = cgfs_read(c, path, "cgroup.subtree_control", &old);
                if (r < 0)
                        return r;
        }
        r = cgfs_enable_controllers(c, path, ctrls);
        if (!old)
                return r;
        k = cgfs_read(c, path, "cgroup.subtree_control", &now);
        if (k >= 0 && !streq(now, old)) {
                k = journal_push(j, UNDO_CONTROLLERS, path, NULL, old);
                if (k >= 0)
                        old = NULL;
        }
        return r < 0 ? r : k < 0 ? k : r;
}

/* ---- preflight ------------------------------------------------------------ */

const char *apply_needed_controllers(const Plan *p, char *buf, size_t size) {
        bool cpu = false, cpuset = false, hugetlb = false;

        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                cpu |= n->cpu_weight > 0;
                cpuset |= !cpuset_is_empty(&n->cpus) || nodeset_count(&n->mems) > 0;
                for (size_t k = 0; k < HUGE_SIZES_MAX; k++)
                        hugetlb |= n->hugetlb[k].page_size > 0;
        }
        snprintf(buf, size, "memory%s%s%s", cpu ? " cpu" : "", cpuset ? " cpuset" : "",
                 hugetlb ? " hugetlb" : "");
        return buf;
}

static const char *tenant_name(const Plan *p, const PolicySet *s, const PlanNode *n) {
        (void) p;
        if (n->tenant >= 0 && (size_t) n->tenant < s->n_tenants)
                return s->tenants[n->tenant].id;
        return NULL;
}

int apply_fail(ApplyReport *rep, int r, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        free(rep->error);
        rep->error = msg;
        return r;
}

static int preflight(Cgfs *c, const Plan *p, ApplyReport *rep) {
        _cleanup_free_ char *missing = NULL;
        char want[64];
        int r;

        apply_needed_controllers(p, want, sizeof(want));
        r = cgfs_has_controllers(c, "", want, &missing);
        if (r < 0)
                return apply_fail(rep, r, "%s: cannot read cgroup.controllers: %s", cgfs_root(c), strerror(-r));
        if (r == 0)
                return apply_fail(rep, -EOPNOTSUPP,
                                  "%s: controllers not available: %s (enable them in the parent's cgroup.subtree_control)",
                                  cgfs_root(c), missing);

        /* Interior cgroups (the slices) must not hold processes: refuse before
         * the kernel answers EBUSY halfway through. */
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                _cleanup_free_ pid_t *pids = NULL;
                size_t np = 0;

                if (n->type == PLAN_TENANT || !cgfs_exists(c, n->path))
                        continue;
                r = cgfs_pids(c, n->path, &pids, &np);
                if (r < 0)
                        return apply_fail(rep, r, "%s/%s: cannot read cgroup.procs: %s", cgfs_root(c), n->path,
                                          strerror(-r));
                if (np > 0)
                        return apply_fail(rep, -EBUSY,
                                          "%s/%s holds processes (PID %d): cgroup v2 allows processes only in leaves; move them into a tenant first",
                                          cgfs_root(c), n->path, (int) pids[0]);
        }
        return 0;
}

/* ---- stale tenants -------------------------------------------------------- */

static bool plan_has_path(const Plan *p, const char *path) {
        for (size_t i = 0; i < p->n_nodes; i++)
                if (streq(p->nodes[i].path, path))
                        return true;
        return false;
}

static int remove_stale(Cgfs *c, const Plan *p, const ApplyOptions *o, ApplyReport *rep) {
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                _cleanup_(strv_freep) char **kids = NULL;
                int r;

                if (n->type != PLAN_CLASS_SLICE)
                        continue;
                r = cgfs_children(c, n->path, &kids);
                if (r < 0)
                        continue;
                for (char **k = kids; *k; k++) {
                        _cleanup_free_ char *path = NULL;

                        if (strncmp(*k, "tenant-", 7) != 0)
                                continue; /* not ours: leave it alone */
                        path = strdup_printf("%s/%s", n->path, *k);
                        if (!path)
                                return -ENOMEM;
                        if (plan_has_path(p, path))
                                continue;
                        r = cgfs_kill_and_remove(c, path, o->kill_timeout_usec);
                        if (r < 0)
                                return apply_fail(rep, r, "%s/%s: cannot remove stale tenant: %s", cgfs_root(c), path,
                                                  strerror(-r));
                        rep->removed++;
                }
        }
        return 0;
}

/* ---- apply ------------------------------------------------------------------ */

int apply_plan(Cgfs *c, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *rep) {
        static const ApplyOptions defaults = { .remove_stale = true, .kill_timeout_usec = 5000000 };
        Journal j = {0};
        unsigned writes0 = cgfs_writes(c);
        _cleanup_free_ char *root_controllers = NULL;
        char ctrls[64];
        int r;

        if (!o)
                o = &defaults;
        *rep = (ApplyReport) {0};

        for (size_t i = 0; i < p->n_nodes; i++)
                if (!cgfs_path_is_valid(p->nodes[i].path) || p->nodes[i].path[0] == '\0')
                        return apply_fail(rep, -EINVAL, "refusing cgroup path '%s'", p->nodes[i].path);

        r = preflight(c, p, rep);
        if (r < 0)
                return r;
        apply_needed_controllers(p, ctrls, sizeof(ctrls));
        r = cgfs_read(c, "", "cgroup.subtree_control", &root_controllers);
        if (r < 0)
                return apply_fail(rep, r, "%s: cannot read cgroup.subtree_control: %s", cgfs_root(c), strerror(-r));

        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                const char *who = tenant_name(p, s, n);
                AttrValue attrs[APPLY_ATTRS_MAX];
                size_t na;
                bool created = false;

                r = cgfs_create(c, n->path, &created);
                if (r < 0) {
                        apply_fail(rep, r, "%s%s%s%s/%s: cannot create cgroup: %s", who ? "tenant '" : "", who ? who : "",
                                   who ? "' " : "", cgfs_root(c), n->path, strerror(-r));
                        goto rollback;
                }
                if (created) {
                        rep->created++;
                        r = journal_push(&j, UNDO_CREATED, n->path, NULL, NULL);
                        if (r < 0)
                                goto rollback;
                }
                /* slices are interior: hand the controllers down to their children */
                if (n->type != PLAN_TENANT) {
                        r = enable_journaled(c, &j, n->path, created, ctrls);
                        if (r < 0) {
                                apply_fail(rep, r, "%s/%s: cannot enable controllers '%s': %s", cgfs_root(c), n->path,
                                           ctrls, strerror(-r));
                                goto rollback;
                        }
                }

                na = plan_node_attrs(n, attrs, ELEMENTSOF(attrs));
                for (size_t k = 0; k < na; k++) {
                        char *old = NULL;

                        r = cgfs_set(c, n->path, attrs[k].name, attrs[k].value, &old);
                        if (r < 0) {
                                if (r == -ENOENT)
                                        apply_fail(rep, r, "%s%s%s%s/%s: %s = %s: not supported by this kernel (file missing)",
                                                   who ? "tenant '" : "", who ? who : "", who ? "' " : "", cgfs_root(c),
                                                   n->path, attrs[k].name, attrs[k].value);
                                else
                                        apply_fail(rep, r, "%s%s%s%s/%s: %s = %s: %s", who ? "tenant '" : "", who ? who : "",
                                                   who ? "' " : "", cgfs_root(c), n->path, attrs[k].name, attrs[k].value,
                                                   strerror(-r));
                                goto rollback;
                        }
                        if (r > 0) {
                                r = journal_push(&j, UNDO_WROTE, n->path, attrs[k].name, old);
                                if (r < 0) {
                                        free(old);
                                        goto rollback;
                                }
                        }
                }
        }

        if (o->remove_stale) {
                r = remove_stale(c, p, o, rep);
                if (r < 0)
                        goto rollback;
        }
        rep->writes = cgfs_writes(c) - writes0;
        journal_done(&j);
        return 0;

rollback:
        if (!rep->error)
                apply_fail(rep, r, "apply failed: %s", strerror(-r));
        rep->rolled_back = journal_rollback(c, &j);
        if (cgfs_restore_controllers(c, "", root_controllers) > 0)
                rep->rolled_back++;
        rep->writes = cgfs_writes(c) - writes0;
        journal_done(&j);
        return r;
}

void apply_report_done(ApplyReport *r) {
        free(r->error);
        r->error = NULL;
        strv_free(r->pending_ids);
        r->pending_ids = NULL;
}
