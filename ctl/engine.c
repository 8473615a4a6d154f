/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine: load -> overrides -> plan -> hugepage pools -> apply -> release ->
 * launch, shared by tenantctl and tenantd. See engine.h.
 */
#include "engine.h"
#include "hugetlb.h"
#include "launch.h"
#include "policy-load.h"

static void line_add(char ***v, const char *fmt, ...) _printf_(2, 3);
static void line_add(char ***v, const char *fmt, ...) {
        size_t n = strv_length(*v);
        char **nv, *s;
        va_list ap;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s)
                return;
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
}

static void lines_append(char ***dst, char **src, size_t from) {
        for (size_t i = from; src && src[i]; i++)
                line_add(dst, "%s", src[i]);
}

EngineStatus engine_plan(const EngineOptions *o, EngineRun *run) {
        HostTopology host = {0};
        const char *sysfs = o->sysfs ? o->sysfs : "/sys";
        int r;

        *run = (EngineRun) {0};
        r = policy_load_dir(o->policy_dir, &run->set, &run->errors);
        if (r < 0) {
                if (run->errors.n == 0)
                        line_add(&run->error_lines, "cannot load policy directory '%s': %s", o->policy_dir,
                                 strerror(-r));
                return ENGINE_INVALID;
        }
        if (o->overrides && overrides_apply(o->overrides, &run->set, "reassign", &run->errors) < 0)
                return ENGINE_INVALID;

        run->root = strdup(o->cgroup_root ? o->cgroup_root : run->set.config.cgroup_root);
        if (!run->root)
                return ENGINE_FAILED;
        if (o->topology)
                host = *o->topology;
        else {
                r = topology_read(sysfs, run->root, &host);
                if (r < 0) {
                        line_add(&run->error_lines, "cannot read the host topology: %s", strerror(-r));
                        return ENGINE_FAILED;
                }
        }
        r = plan_build(&run->set, &host, &run->plan, &run->errors);
        if (r < 0) {
                if (run->errors.n == 0)
                        line_add(&run->error_lines, "planning failed: %s", strerror(-r));
                return r == -ENOSPC ? ENGINE_REFUSED : ENGINE_INVALID;
        }
        run->planned = true;
        return ENGINE_OK;
}

static EngineStatus open_backend(const EngineOptions *o, EngineRun *run) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (o->reuse_backend) {
                run->backend = o->reuse_backend;
                return ENGINE_OK;
        }
        r = backend_open(o->has_backend ? o->backend : run->set.config.backend, run->root, &run->backend, &error);
        if (r < 0) {
                line_add(&run->error_lines, "%s", error ? error : strerror(-r));
                return ENGINE_FAILED;
        }
        run->backend_owned = true;
        return ENGINE_OK;
}

EngineStatus engine_apply(const EngineOptions *o, EngineRun *run) {
        const char *sysfs = o->sysfs ? o->sysfs : "/sys";
        _cleanup_free_ char *usage = NULL, *launch_error = NULL;
        HugetlbOptions ho = {
                .state_path = o->hugetlb_state ? o->hugetlb_state : HUGETLB_STATE_PATH,
                .timeout_usec = HUGETLB_TIMEOUT_USEC,
        };
        ApplyOptions ao = { .remove_stale = !o->keep_stale, .kill_timeout_usec = 5000000, .no_start = o->no_start };
        HugetlbReport hr = {0}, rel = {0};
        EngineStatus st;
        int r;

        /* Everything is validated and planned before the kernel is touched. */
        st = engine_plan(o, run);
        if (st != ENGINE_OK)
                return st;
        st = open_backend(o, run);
        if (st != ENGINE_OK)
                return st;

        /* Hugepage pools before any cgroup: a tenant whose pages the kernel
         * cannot assemble is refused and nothing is applied (PITFALLS 6). */
        usage = strdup_printf("%s/tenants.slice", run->root);
        if (!usage)
                return ENGINE_FAILED;
        ho.usage_cgroup = usage;
        r = hugetlb_reserve(sysfs, run->plan.pools, run->plan.n_pools, &ho, &hr);
        if (r < 0) {
                (void) hugetlb_restore(sysfs, &hr, &ho);
                lines_append(&run->error_lines, hr.lines, 0);
                if (r != -ENOMEM)
                        line_add(&run->error_lines, "cannot reserve hugepages: %s", hr.error ? hr.error : strerror(-r));
                line_add(&run->error_lines, "hugepage pools restored; nothing applied");
                hugetlb_report_done(&hr);
                return ENGINE_FAILED;
        }
        lines_append(&run->lines, hr.lines, 0);

        r = backend_apply(run->backend, &run->plan, &run->set, &ao, &run->report);
        if (r < 0) {
                size_t n0 = strv_length(hr.lines);

                line_add(&run->error_lines, "apply failed: %s", run->report.error ? run->report.error : strerror(-r));
                line_add(&run->error_lines, "rolled back %u change%s; nothing of this apply remains",
                         run->report.rolled_back, run->report.rolled_back == 1 ? "" : "s");
                (void) hugetlb_restore(sysfs, &hr, &ho);
                lines_append(&run->error_lines, hr.lines, n0);
                hugetlb_report_done(&hr);
                return ENGINE_FAILED;
        }
        hugetlb_report_done(&hr);

        /* pages tenants no longer need go back (only those tenantd added) */
        if (hugetlb_release(sysfs, run->plan.pools, run->plan.n_pools, &ho, &rel) < 0)
                line_add(&run->lines, "cannot return hugepages: %s, ignoring", rel.error ? rel.error : "out of memory");
        lines_append(&run->lines, rel.lines, 0);
        hugetlb_report_done(&rel);

        /* exec= tenants and VMs whose leaf is empty are started now; under
         * cgroupfs nobody supervises them afterwards (see launch.h) */
        if (backend_starts_tenants(run->backend))
                run->started = (int) run->report.started;
        else if (!o->no_launch) {
                r = launch_tenants(backend_cgfs(run->backend), &run->plan, &run->set, NULL, o->no_start,
                                   &launch_error);
                if (r < 0) {
                        /* the limits are in force; only starting a process failed */
                        line_add(&run->error_lines, "%s", launch_error ? launch_error : strerror(-r));
                        return ENGINE_FAILED;
                }
                run->started = r;
        }
        return ENGINE_OK;
}

void engine_print_errors(const EngineRun *run, const char *who, FILE *f) {
        policy_errors_print(&run->errors, f);
        for (char **l = run->error_lines; l && *l; l++)
                fprintf(f, "%s: %s\n", who, *l);
}

const PlanNode *engine_find_tenant(const EngineRun *run, const char *id, const TenantPolicy **ret_policy) {
        if (!run->planned)
                return NULL;
        for (size_t i = 0; i < run->plan.n_nodes; i++) {
                const PlanNode *n = &run->plan.nodes[i];

                if (n->type == PLAN_TENANT && streq(run->set.tenants[n->tenant].id, id)) {
                        if (ret_policy)
                                *ret_policy = &run->set.tenants[n->tenant];
                        return n;
                }
        }
        return NULL;
}

void engine_run_done(EngineRun *run) {
        if (run->backend_owned)
                backend_freep(&run->backend);
        apply_report_done(&run->report);
        plan_done(&run->plan);
        policy_set_done(&run->set);
        policy_errors_clear(&run->errors);
        strv_free(run->lines);
        strv_free(run->error_lines);
        free(run->root);
        *run = (EngineRun) {0};
}
