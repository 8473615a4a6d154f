/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The backend front (ctl/backend.c) and the cgroupfs backend through the
 * vtable, on a fixture tree: selection, apply, adopt as a transaction, the
 * cgroup path. The systemd backend needs systemd as PID 1: tests/testbed.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>

#include "backend.h"
#include "fake-cgroupfs.h"

static FakeCg fake;
static Cgfs *cg;
static Backend *be;
static PolicySet set;
static Plan plan;
static PlanNode nodes[3];
static TenantPolicy tenants[1];

#define MiB (UINT64_C(1) << 20)

static const char *const leaf = "tenants.slice/tenants-low.slice/tenant-job.scope";

static void setup(void) {
        CgfsHooks h;

        fake_cg_setup(&fake);
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);
        cr_assert_eq(backend_cgfs_new(cg, &be), 0);

        memset(tenants, 0, sizeof(tenants));
        snprintf(tenants[0].id, sizeof(tenants[0].id), "job");
        set = (PolicySet) { .tenants = tenants, .n_tenants = 1 };
        for (int i = 0; i < 3; i++)
                nodes[i] = (PlanNode) {
                        .type = i == 0 ? PLAN_ROOT_SLICE : i == 1 ? PLAN_CLASS_SLICE : PLAN_TENANT,
                        .parent = i - 1, .tenant = i == 2 ? 0 : -1,
                        .memory_min = 0, .memory_low = 32 * MiB, .memory_high = SIZE_INFINITY,
                        .memory_max = i == 2 ? 64 * MiB : SIZE_INFINITY, .swap_max = SIZE_UNSET,
                        .zswap_max = SIZE_UNSET,
                };
        nodes[0].unit = nodes[0].path = "tenants.slice";
        nodes[1].unit = "tenants-low.slice";
        nodes[1].path = "tenants.slice/tenants-low.slice";
        nodes[2].unit = "tenant-job.scope";
        nodes[2].path = (char *) leaf;
        plan = (Plan) { .nodes = nodes, .n_nodes = 3 };
}

static void teardown(void) {
        be = backend_free(be);
        cg = cgfs_free(cg);
        fake_cg_teardown(&fake);
}

TestSuite(backend, .init = setup, .fini = teardown);

Test(backend, kind_names) {
        BackendKind k;

        cr_assert_eq(backend_kind_from_string("systemd", &k), 0);
        cr_assert_eq(k, BACKEND_SYSTEMD);
        cr_assert_eq(backend_kind_from_string("cgroupfs", &k), 0);
        cr_assert_eq(k, BACKEND_CGROUPFS);
        cr_assert_eq(backend_kind_from_string("auto", &k), 0);
        cr_assert_eq(k, BACKEND_AUTO);
        cr_assert_eq(backend_kind_from_string("libcgroup", &k), -EINVAL);
        cr_assert_str_eq(backend_kind_to_string(BACKEND_CGROUPFS), "cgroupfs");
}

Test(backend, auto_is_cgroupfs_below_a_plain_directory) {
        const char *why = NULL;

        /* a fixture directory is never systemd's hierarchy, whatever PID 1 is */
        cr_assert_eq(backend_detect(fake.root, &why), BACKEND_CGROUPFS);
        cr_assert_not_null(why);
}

Test(backend, systemd_refuses_a_subtree_or_a_host_without_it) {
        Backend *b = NULL;
        char *error = NULL;
        int r;

        r = backend_open(BACKEND_SYSTEMD, fake.root, &b, &error);
        cr_assert(r == -EHOSTDOWN || r == -EXDEV, "got %d", r);
        cr_assert_not_null(error);
        cr_assert(strstr(error, "systemd backend: ") == error, "%s", error);
        cr_assert_null(b);
        free(error);
}

Test(backend, cgroupfs_apply_through_the_vtable) {
        ApplyReport rep;
        char *path = NULL;

        cr_assert_str_eq(backend_name(be), "cgroupfs");
        cr_assert(!backend_starts_tenants(be));
        cr_assert_eq(backend_cgroup_path(be, &nodes[2], &path), -ENXIO, "not applied yet");
        cr_assert_eq(backend_apply(be, &plan, &set, NULL, &rep), 0, "%s", rep.error);
        cr_assert_eq(rep.created, 3);
        cr_assert_eq(rep.pending, 0);
        cr_assert_str_eq(fake_cg_read(&fake, leaf, "memory.max"), "67108864");
        apply_report_done(&rep);
        cr_assert_eq(backend_apply(be, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(rep.writes, 0);
        cr_assert_eq(backend_cgroup_path(be, &nodes[2], &path), 0);
        cr_assert_str_eq(path, leaf);
        free(path);
}

Test(backend, cgroupfs_adopt) {
        ApplyReport rep;
        pid_t child;
        char want[32];

        /* before apply there is no leaf */
        cr_assert_eq(backend_adopt(be, &plan, &set, "job", (pid_t[]) { getpid() }, 1, &rep), -ENOENT);
        cr_assert(strstr(rep.error, "tenant 'job' is not applied yet") == rep.error, "%s", rep.error);
        apply_report_done(&rep);

        cr_assert_eq(backend_apply(be, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(backend_adopt(be, &plan, &set, "nobody", (pid_t[]) { getpid() }, 1, &rep), -ENOENT);
        cr_assert_str_eq(rep.error, "no tenant 'nobody' in the policies");
        apply_report_done(&rep);

        /* a PID that is gone */
        child = fork();
        if (child == 0)
                _exit(0);
        waitpid(child, NULL, 0);
        cr_assert_eq(backend_adopt(be, &plan, &set, "job", (pid_t[]) { getpid(), child }, 2, &rep), -ESRCH);
        snprintf(want, sizeof(want), "PID %d", (int) child);
        cr_assert(strstr(rep.error, want) != NULL, "%s", rep.error);
        cr_assert_str_eq(fake_cg_read(&fake, leaf, "cgroup.procs"), "", "nothing moves when one PID is bad");
        apply_report_done(&rep);

        /* the fixture's cgroup.procs records the move */
        cr_assert_eq(backend_adopt(be, &plan, &set, "job", (pid_t[]) { getpid() }, 1, &rep), 0, "%s", rep.error);
        snprintf(want, sizeof(want), "%d", (int) getpid());
        cr_assert_str_eq(fake_cg_read(&fake, leaf, "cgroup.procs"), want);
        apply_report_done(&rep);
}
