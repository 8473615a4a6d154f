/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The apply engine against a fixture tree: reconcile, idempotence, rollback,
 * preflight refusals, stale removal. Values on a real kernel: tests/testbed. */
#include <criterion/criterion.h>

#include "apply.h"
#include "fake-cgroupfs.h"
#include "hugetlb.h"

static FakeCg fake;
static Cgfs *cg;
static PolicySet set;
static Plan plan;
static PlanNode nodes[4];

#define MiB (UINT64_C(1) << 20)

static PlanNode slice(const char *unit, const char *path, int parent, uint64_t min) {
        PlanNode n = {
                .type = parent < 0 ? PLAN_ROOT_SLICE : PLAN_CLASS_SLICE,
                .unit = (char *) unit, .path = (char *) path, .parent = parent, .tenant = -1,
                .memory_min = min, .memory_low = 0, .memory_high = SIZE_INFINITY,
                .memory_max = SIZE_INFINITY, .swap_max = SIZE_UNSET, .zswap_max = SIZE_UNSET,
        };
        return n;
}

static void setup(void) {
        CgfsHooks h;
        static TenantPolicy tenants[1];

        fake_cg_setup(&fake);
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);

        memset(tenants, 0, sizeof(tenants));
        snprintf(tenants[0].id, sizeof(tenants[0].id), "db");
        set = (PolicySet) { .tenants = tenants, .n_tenants = 1 };

        nodes[0] = slice("tenants.slice", "tenants.slice", -1, 256 * MiB);
        nodes[1] = slice("tenants-critical.slice", "tenants.slice/tenants-critical.slice", 0, 256 * MiB);
        nodes[2] = (PlanNode) {
                .type = PLAN_TENANT, .unit = "tenant-db.scope",
                .path = "tenants.slice/tenants-critical.slice/tenant-db.scope", .parent = 1, .tenant = 0,
                .memory_min = 256 * MiB, .memory_low = 0, .memory_high = SIZE_INFINITY,
                .memory_max = 384 * MiB, .swap_max = 0, .zswap_max = SIZE_UNSET, .cpu_weight = 1000,
        };
        cpulist_parse("1", &nodes[2].cpus);
        nodelist_parse("1", &nodes[2].mems);
        nodes[2].hugetlb[0] = (PlanHugetlb) { .page_size = 2 * MiB, .max = 64 * MiB, .rsvd_max = 64 * MiB };
        plan = (Plan) { .nodes = nodes, .n_nodes = 3 };
}

static void teardown(void) {
        cg = cgfs_free(cg);
        fake_cg_teardown(&fake);
}

TestSuite(apply, .init = setup, .fini = teardown);

static const char *const db = "tenants.slice/tenants-critical.slice/tenant-db.scope";

Test(apply, writes_values_then_nothing) {
        ApplyReport rep;

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0, "%s", rep.error);
        cr_assert_eq(rep.created, 3);
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.min"), "268435456");
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.max"), "402653184");
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.high"), "max");
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.swap.max"), "0");
        cr_assert_str_eq(fake_cg_read(&fake, db, "cpu.weight"), "1000");
        cr_assert_str_eq(fake_cg_read(&fake, db, "cpuset.cpus"), "1");
        cr_assert_str_eq(fake_cg_read(&fake, db, "cpuset.mems"), "1");
        cr_assert_str_eq(fake_cg_read(&fake, db, "hugetlb.2MB.max"), "67108864");
        cr_assert_str_eq(fake_cg_read(&fake, db, "hugetlb.2MB.rsvd.max"), "67108864");
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice", "memory.min"), "268435456");
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice/tenants-critical.slice", "memory.min"), "268435456");
        /* controllers handed down to the class slice's children */
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice/tenants-critical.slice", "cgroup.subtree_control"),
                         "cpuset cpu memory hugetlb");
        /* memory.zswap.max is SIZE_UNSET: left alone */
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.zswap.max"), "max");
        apply_report_done(&rep);

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(rep.writes, 0, "a second apply must not write (wrote %u)", rep.writes);
        cr_assert_eq(rep.created, 0);
}

Test(apply, only_differences_are_written) {
        ApplyReport rep;

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        nodes[2].memory_max = 512 * MiB;
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(rep.writes, 1);
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.max"), "536870912");
}

Test(apply, failure_rolls_back_everything) {
        ApplyReport rep;
        char want[512];

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        /* raise three guarantees, then the tenant's memory.max fails like a kernel EBUSY */
        nodes[0].memory_min = nodes[1].memory_min = nodes[2].memory_min = 300 * MiB;
        nodes[2].memory_max = 400 * MiB;
        fake.fail_attr = "memory.max";
        fake.fail_path = "tenant-db";
        fake.fail_errno = EBUSY;
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), -EBUSY);
        snprintf(want, sizeof(want), "tenant 'db' %s/%s: memory.max = 419430400: Device or resource busy", fake.root,
                 db);
        cr_assert_str_eq(rep.error, want);
        cr_assert_eq(rep.rolled_back, 3);
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice", "memory.min"), "268435456");
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice/tenants-critical.slice", "memory.min"), "268435456");
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.min"), "268435456");
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.max"), "402653184");
        apply_report_done(&rep);
}

Test(apply, failed_first_apply_removes_what_it_created) {
        ApplyReport rep;

        fake.fail_attr = "cpuset.mems";
        fake.fail_errno = EINVAL;
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), -EINVAL);
        cr_assert(!cgfs_exists(cg, "tenants.slice"), "created cgroups must be removed on rollback");
        apply_report_done(&rep);
}

Test(apply, missing_file_is_unsupported) {
        ApplyReport rep;
        char want[512];

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        /* a kernel without swap accounting has no memory.swap.max */
        char p[512];
        snprintf(p, sizeof(p), "%s/%s/memory.swap.max", fake.root, db);
        unlink(p);
        nodes[2].memory_max = 400 * MiB;
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), -ENOENT);
        snprintf(want, sizeof(want), "tenant 'db' %s/%s: memory.swap.max = 0: not supported by this kernel (file missing)",
                 fake.root, db);
        cr_assert_str_eq(rep.error, want);
        cr_assert_str_eq(fake_cg_read(&fake, db, "memory.max"), "402653184");
        apply_report_done(&rep);
}

Test(apply, refuses_processes_in_interior_before_writing) {
        ApplyReport rep;
        char want[512];
        unsigned w;

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        fake_cg_write(&fake, "tenants.slice/tenants-critical.slice", "cgroup.procs", "777\n");
        nodes[2].memory_max = 400 * MiB;
        w = cgfs_writes(cg);
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), -EBUSY);
        snprintf(want, sizeof(want),
                 "%s/tenants.slice/tenants-critical.slice holds processes (PID 777): cgroup v2 allows processes only in leaves; move them into a tenant first",
                 fake.root);
        cr_assert_str_eq(rep.error, want);
        cr_assert_eq(cgfs_writes(cg), w);
        apply_report_done(&rep);
}

Test(apply, refuses_missing_controllers) {
        ApplyReport rep;
        char want[512];

        fake_cg_write(&fake, "", "cgroup.controllers", "cpu memory pids");
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), -EOPNOTSUPP);
        snprintf(want, sizeof(want),
                 "%s: controllers not available: cpuset hugetlb (enable them in the parent's cgroup.subtree_control)",
                 fake.root);
        cr_assert_str_eq(rep.error, want);
        cr_assert(!cgfs_exists(cg, "tenants.slice"));
        apply_report_done(&rep);
}

Test(apply, removes_stale_tenants_only) {
        ApplyReport rep;

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(cgfs_create(cg, "tenants.slice/tenants-critical.slice/tenant-old.scope", NULL), 0);
        cr_assert_eq(cgfs_create(cg, "tenants.slice/tenants-critical.slice/not-ours", NULL), 0);
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(rep.removed, 1);
        cr_assert(!cgfs_exists(cg, "tenants.slice/tenants-critical.slice/tenant-old.scope"));
        cr_assert(cgfs_exists(cg, "tenants.slice/tenants-critical.slice/not-ours"));
        cr_assert(cgfs_exists(cg, db));
}

Test(apply, a_pin_taken_away_is_written_back_to_empty) {
        ApplyReport rep;
        char path[512];

        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0, "%s", rep.error);
        nodes[2].cpus = (CpuSet) { 0 };
        nodes[2].mems = (NodeSet) { 0 };
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0, "%s", rep.error);
        cr_assert_eq(rep.writes, 2, "wrote %u", rep.writes);
        cr_assert_str_eq(fake_cg_read(&fake, db, "cpuset.cpus"), "");
        cr_assert_str_eq(fake_cg_read(&fake, db, "cpuset.mems"), "");
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0);
        cr_assert_eq(rep.writes, 0, "an unpinned leaf is rewritten (%u writes)", rep.writes);

        /* with the cpuset controller off above it the leaf has no cpuset
         * files: that already is "not pinned" */
        snprintf(path, sizeof(path), "%s/%s/cpuset.cpus", fake.root, db);
        cr_assert_eq(unlink(path), 0);
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0, "%s", rep.error);
        cr_assert_eq(rep.writes, 0);
}

Test(apply, attrs_of_slices_and_leaves) {
        AttrValue v[16];
        size_t n;

        /* a slice without a cpuset leaves the files alone ... */
        n = plan_node_attrs(&nodes[1], v, 16);
        for (size_t i = 0; i < n; i++)
                cr_assert(strncmp(v[i].name, "cpuset.", 7) != 0, "%s on a slice", v[i].name);
        /* ... a tenant's leaf is always set, to "" when it is not pinned */
        nodes[2].cpus = (CpuSet) { 0 };
        nodes[2].mems = (NodeSet) { 0 };
        n = plan_node_attrs(&nodes[2], v, 16);
        cr_assert_geq(n, 2);
        cr_assert_str_eq(v[0].name, "cpuset.cpus");
        cr_assert_str_eq(v[0].value, "");
        cr_assert_str_eq(v[1].name, "cpuset.mems");
        cr_assert_str_eq(v[1].value, "");
}

Test(apply, attrs_format) {
        AttrValue v[16];
        size_t n = plan_node_attrs(&nodes[2], v, 16);
        char buf[16];

        cr_assert_eq(n, 10);
        cr_assert_str_eq(v[0].name, "cpuset.cpus");
        cr_assert_str_eq(v[n - 1].name, "hugetlb.2MB.rsvd.max");
        cr_assert_str_eq(hugetlb_size_name(UINT64_C(1) << 30, buf, sizeof(buf)), "1GB");
        cr_assert_str_eq(hugetlb_size_name(64 << 10, buf, sizeof(buf)), "64KB");
}
