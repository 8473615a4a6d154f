/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real-kernel tests for the cgroupfs backend, run inside the testbed guest
 * (tests/testbed/run). Each test works under its own cgroup root
 * /sys/fs/cgroup/tb-<name>, drives the installed binaries like a user would,
 * and asserts what the kernel's files say. Outside the guest every test SKIPs.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "apply.h"
#include "backend.h"
#include "cgfs.h"
#include "testbed-util.h"
#include "topology.h"

#define MiB (UINT64_C(1) << 20)

static char root[256];

static void setup_root(const char *name) {
        tb_require_guest();
        snprintf(root, sizeof(root), "/sys/fs/cgroup/tb-%s", name);
        tb_cgroup_reset(root);
}

/* ---- apply through tenantctl ---------------------------------------------- */

Test(kernel, apply_writes_policy_values) {
        char *out = NULL;
        const char *web = "tenants.slice/tenants-normal.slice/tenant-web\\x2d01.scope";
        const char *db = "tenants.slice/tenants-critical.slice/tenant-db\\x2dmain.scope";

        setup_root("apply");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);

        /* critical: memory.min = request, memory.high = max, memory.max = limit, no swap */
        cr_assert_str_eq(tb_cg_read(root, db, "memory.min"), "134217728");
        cr_assert_str_eq(tb_cg_read(root, db, "memory.low"), "0");
        cr_assert_str_eq(tb_cg_read(root, db, "memory.high"), "max");
        cr_assert_str_eq(tb_cg_read(root, db, "memory.max"), "201326592");
        cr_assert_str_eq(tb_cg_read(root, db, "memory.swap.max"), "0");
        /* normal: memory.low = request, memory.high = request + 0.9 x (limit - request), page aligned */
        cr_assert_str_eq(tb_cg_read(root, web, "memory.min"), "0");
        cr_assert_str_eq(tb_cg_read(root, web, "memory.low"), "33554432");
        cr_assert_str_eq(tb_cg_read(root, web, "memory.high"), "63750144");
        cr_assert_str_eq(tb_cg_read(root, web, "memory.max"), "67108864");
        /* ancestors carry the sums (PITFALLS 3) */
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice/tenants-critical.slice", "memory.min"), "134217728");
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice/tenants-normal.slice", "memory.low"), "67108864");
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice", "memory.min"), "134217728");
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice", "memory.low"), "67108864");
        /* '-' in ids escaped as systemd does: web-01 and web-02 are siblings */
        cr_assert(tb_cg_exists(root, "tenants.slice/tenants-normal.slice/tenant-web\\x2d02.scope"));
        cr_assert(!tb_cg_exists(root, "tenants.slice/tenants-normal.slice/tenant-web.slice"));
}

/* PITFALLS 7: swap accounting is detected in a non-root cgroup (the root
 * never has memory.swap.* files), and swap = 0 reads 0 (above). */
Test(kernel, swap_accounting_detected_below_the_root) {
        HostTopology host = { 0 };

        setup_root("swapacct");
        cr_assert_eq(access("/sys/fs/cgroup/memory.swap.max", F_OK), -1, "the root has no memory.swap.max");
        cr_assert_eq(topology_read("/sys", root, &host), 0);
        cr_assert(host.swap_accounting, "memory.swap.max exists below %s, yet not detected", root);
}

Test(kernel, second_apply_writes_nothing) {
        char *out = NULL;

        setup_root("idem");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);
        cr_assert_eq(tb_tenantctl(&out, "--root %s --json apply --direct %s", root, tb_policies("basic")), 0, "%s",
                     out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);
}

Test(kernel, ancestors_cover_children) {
        char *out = NULL;
        static const char *const attrs[] = { "memory.min", "memory.low" };

        setup_root("anc");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);
        for (size_t a = 0; a < ELEMENTSOF(attrs); a++)
                cr_assert_eq(tb_check_ancestor_sums(root, "tenants.slice", attrs[a]), 0,
                             "%s of a parent is below the sum of its children", attrs[a]);
}

Test(kernel, tree_reads_back_kernel_values) {
        char *out = NULL;

        setup_root("tree");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);
        /* change a value behind tenantd's back: tree must show the kernel's value */
        tb_cg_write(root, "tenants.slice/tenants-low.slice/tenant-hog.scope", "memory.max", "104857600");
        cr_assert_eq(tb_tenantctl(&out, "--root %s tree", root), 0, "%s", out);
        cr_assert(strstr(out, "tenant-hog.scope") != NULL, "%s", out);
        cr_assert(strstr(out, "max=100M") != NULL, "%s", out);
        cr_assert(strstr(out, "tenant-web\\x2d01.scope") != NULL, "%s", out);
        free(out);
        /* and the next apply puts the policy value back, with exactly one write */
        cr_assert_eq(tb_tenantctl(&out, "--root %s --json apply --direct %s", root, tb_policies("basic")), 0, "%s",
                     out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":1,\"removed\":0,\"started\":0}\n");
        free(out);
}

Test(kernel, removed_policy_kills_and_removes_tenant) {
        char *out = NULL;
        const char *hog = "tenants.slice/tenants-low.slice/tenant-hog.scope";
        pid_t pid;

        setup_root("remove");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);
        pid = tb_spawn_in(root, hog, "sleep", "600");
        cr_assert_gt(pid, 0);
        cr_assert_eq(tb_tenantctl(&out, "--root %s --json apply --direct %s", root, tb_policies("basic-nohog")), 0,
                     "%s", out);
        cr_assert(strstr(out, "\"removed\":1") != NULL, "%s", out);
        free(out);
        cr_assert(!tb_cg_exists(root, hog));
        cr_assert_eq(tb_reap(pid), SIGKILL, "the tenant's process must have been killed");
}

/* ---- PITFALLS 1: no internal processes ------------------------------------- */

Test(kernel, pitfall1_kernel_refuses_internal_process) {
        char *out = NULL;
        char path[512];
        int fd;

        setup_root("p1kernel");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);
        /* the rule is real: the kernel answers EBUSY for a PID in a slice that delegates memory */
        snprintf(path, sizeof(path), "%s/tenants.slice/tenants-low.slice/cgroup.procs", root);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, "0", 1), -1);
        cr_assert_eq(errno, EBUSY);
        close(fd);

        /* and tenantd refuses before any syscall */
        Cgfs *c = NULL;
        cr_assert_eq(cgfs_open(root, NULL, &c), 0);
        cr_assert(cgfs_is_kernel(c));
        cr_assert_eq(cgfs_attach(c, "tenants.slice/tenants-low.slice", getpid()), -EISDIR);
        cgfs_free(c);
}

Test(kernel, pitfall1_apply_refuses_process_in_interior) {
        char *out = NULL;
        char want[512];
        pid_t pid;

        setup_root("p1apply");
        /* someone put a process where tenants.slice must be interior */
        tb_cg_mkdir(root, "tenants.slice");
        pid = tb_spawn_in(root, "tenants.slice", "sleep", "600");
        cr_assert_gt(pid, 0);
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 1, "%s", out);
        snprintf(want, sizeof(want),
                 "tenantctl: apply failed: %s/tenants.slice holds processes (PID %d): cgroup v2 allows processes only in leaves; move them into a tenant first\n",
                 root, (int) pid);
        cr_assert(strstr(out, want) != NULL, "got: %s", out);
        free(out);
        /* nothing changed */
        cr_assert(!tb_cg_exists(root, "tenants.slice/tenants-low.slice"));
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice", "cgroup.subtree_control"), "");
        kill(pid, SIGKILL);
        tb_reap(pid);
}

/* ---- rollback on a real kernel error ------------------------------------------ */

Test(kernel, kernel_error_rolls_back) {
        Cgfs *c = NULL;
        PolicySet set = { 0 };
        TenantPolicy t = { .id = "x" };
        PlanNode nodes[3];
        Plan p = { .nodes = nodes, .n_nodes = 3 };
        ApplyReport rep;
        char want[512];

        setup_root("rollback");
        set.tenants = &t;
        set.n_tenants = 1;
        for (size_t i = 0; i < 3; i++)
                nodes[i] = (PlanNode) { .type = i == 0 ? PLAN_ROOT_SLICE : i == 1 ? PLAN_CLASS_SLICE : PLAN_TENANT,
                                        .parent = (int) i - 1, .tenant = i == 2 ? 0 : -1,
                                        .memory_min = 8 * MiB, .memory_low = SIZE_UNSET,
                                        .memory_high = SIZE_UNSET, .memory_max = SIZE_UNSET,
                                        .swap_max = SIZE_UNSET, .zswap_max = SIZE_UNSET };
        nodes[0].path = "tenants.slice";
        nodes[1].path = "tenants.slice/tenants-low.slice";
        nodes[2].path = "tenants.slice/tenants-low.slice/tenant-x.scope";
        nodelist_parse("5", &nodes[2].mems); /* the guest has nodes 0-1: the kernel says EINVAL */

        cr_assert_eq(cgfs_open(root, NULL, &c), 0);
        cr_assert_eq(apply_plan(c, &p, &set, NULL, &rep), -EINVAL);
        snprintf(want, sizeof(want), "tenant 'x' %s/%s: cpuset.mems = 5: Invalid argument", root, nodes[2].path);
        cr_assert_str_eq(rep.error, want);
        cr_assert(!tb_cg_exists(root, "tenants.slice"), "the half-done apply must be undone");
        apply_report_done(&rep);
        cgfs_free(c);
}

/* A limit the kernel enforces in the middle of an apply: with
 * tenants.slice's cgroup.max.descendants reached, mkdir(2) of a new tenant's
 * leaf fails with EAGAIN. The apply names the tenant and the error, undoes
 * what it changed, and the next apply (with the limit lifted) works. */
Test(kernel, kernel_refusal_mid_apply_rolls_back, .timeout = 120) {
        const char *extra = "tenants.slice/tenants-low.slice/tenant-extra.scope";
        const char *db = "tenants.slice/tenants-critical.slice/tenant-db\\x2dmain.scope";
        const char *dir = "/tmp/tb-refusal-policies";
        char *out = NULL, nr[32], before[4096];

        setup_root("refusal");
        cr_assert_eq(tb_sh(&out, "rm -rf %s && cp -r %s %s", dir, tb_policies("basic"), dir), 0, "%s", out);
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, dir), 0, "%s", out);
        snprintf(before, sizeof(before), "%s", tb_cg_read(root, "tenants.slice", "cgroup.stat"));
        cr_assert_eq(sscanf(strstr(before, "nr_descendants"), "nr_descendants %31s", nr), 1);
        tb_cg_write(root, "tenants.slice", "cgroup.max.descendants", nr);

        /* a new tenant, and a changed one ordered before it */
        cr_assert_eq(tb_sh(&out, "printf '[tenant]\\nclass = low\\n[memory]\\nrequest = 8M\\nlimit = 32M\\n' > %s/tenants/extra.ini && "
                                 "sed -i 's/^request = 128M/request = 112M/' %s/tenants/db-main.ini", dir, dir),
                     0, "%s", out);
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, dir), 1, "%s", out);
        cr_assert(strstr(out, "tenant 'extra'") && strstr(out, "Resource temporarily unavailable"), "%s", out);
        cr_assert(strstr(out, "rolled back"), "%s", out);
        cr_assert(!tb_cg_exists(root, extra));
        cr_assert_eq(tb_cg_u64(root, db, "memory.min"), 128 * MiB, "db's new guarantee was rolled back");
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice", "cgroup.stat"), before);

        tb_cg_write(root, "tenants.slice", "cgroup.max.descendants", "max");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, dir), 0, "%s", out);
        cr_assert(tb_cg_exists(root, extra));
        cr_assert_eq(tb_cg_u64(root, db, "memory.min"), 112 * MiB);
        free(out);
}

/* What tenantctl writes outside tenants.slice, on the real kernel: nothing
 * (but the test root's cgroup.subtree_control), through a first apply, a
 * re-apply with a change and a removal. The reaction ladder's steps on a
 * real stall: tests/testbed/test-react.c. */
Test(kernel, nothing_outside_tenants_slice_is_written, .timeout = 300) {
        char *out = NULL, *before, *after;
        const char *dir = "/tmp/tb-writes-policies";

        setup_root("writes");
        cr_assert_eq(tb_sh(&out, "rm -rf %s && cp -r %s %s", dir, tb_policies("basic"), dir), 0, "%s", out);
        before = tb_outside_files("tb-writes");
        cr_assert_gt(strlen(before), 1000, "too few files compared: %s", before);
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, dir), 0, "%s", out);
        cr_assert_eq(tb_sh(&out, "sed -i 's/^limit = 64M/limit = 56M/' %s/tenants/web-01.ini && rm %s/tenants/web-02.ini",
                           dir, dir),
                     0, "%s", out);
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, dir), 0, "%s", out);
        after = tb_outside_files("tb-writes");
        cr_assert_str_eq(after, before, "a file outside tenants.slice changed");
        free(before);
        free(after);
        free(out);
}

/* ---- PITFALLS 3: protection needs ancestors; a real hog fills memory ------------- */

Test(kernel, pitfall3_protected_tenant_keeps_memory_min, .timeout = 400) {
        char *out = NULL;
        const char *db = "tenants.slice/tenants-critical.slice/tenant-db\\x2dmain.scope";
        const char *hog = "tenants.slice/tenants-low.slice/tenant-hog.scope";
        char events[512];
        uint64_t min, lowest = UINT64_MAX, hog_swap = 0, hog_peak = 0;
        pid_t pdb, phog;

        setup_root("protect");
        cr_assert_eq(tb_swap_on(1024), 0, "zram swap is needed so anonymous memory can be reclaimed at all");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        free(out);
        min = tb_cg_u64(root, db, "memory.min");
        cr_assert_eq(min, 128 * MiB);

        /* the protected tenant holds 160M hot, more than its guarantee */
        pdb = tb_spawn_in(root, db, tb_bin("memhog"), "160");
        cr_assert_gt(pdb, 0);
        cr_assert_eq(tb_wait_current(root, db, 150 * MiB, 60), 0, "protected tenant never got its working set");
        /* a low-class hog grows without bound */
        phog = tb_spawn_in(root, hog, tb_bin("memhog"), "64", "--grow");
        cr_assert_gt(phog, 0);

        /* sample for at least 30 s, and until the hog has been pushed well into swap
         * (how fast it grows depends on how busy the emulating host is), at most 150 s */
        for (int i = 0; i < 750; i++) {
                uint64_t cur = tb_cg_u64(root, db, "memory.current");
                if (cur < lowest)
                        lowest = cur;
                hog_swap = tb_cg_u64(root, hog, "memory.swap.current");
                if (hog_swap > hog_peak)
                        hog_peak = hog_swap;
                if (i >= 150 && hog_swap > 64 * MiB)
                        break;
                usleep(200 * 1000);
        }
        snprintf(events, sizeof(events), "%s", tb_cg_read(root, hog, "memory.events"));
        kill(phog, SIGKILL);
        kill(pdb, SIGKILL);
        tb_reap(phog);
        tb_reap(pdb);
        tb_swap_off();

        /* the host really was under pressure: the hog was pushed to swap */
        cr_assert_gt(hog_peak, 64 * MiB,
                     "no pressure happened (hog swap at most %llu, hog memory.events: %s): the test proves nothing",
                     (unsigned long long) hog_peak, events);
        cr_assert_geq(lowest, min, "protected memory.current fell to %llu, below memory.min %llu",
                      (unsigned long long) lowest, (unsigned long long) min);
}

/* ---- backend selection (the systemd backend itself: test-systemd.c) -------------- */

Test(kernel, auto_backend_is_cgroupfs_without_systemd) {
        const char *why = NULL;
        char *out = NULL;

        setup_root("auto");
        if (streq(getenv("TESTBED"), "systemd"))
                cr_skip_test("systemd is PID 1 here: see test-systemd.c");
        cr_assert_eq(backend_detect("/sys/fs/cgroup", &why), BACKEND_CGROUPFS);
        cr_assert_str_eq(why, "systemd is not the init system (no /run/systemd/system)");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("basic")), 0, "%s", out);
        cr_assert(strstr(out, " (cgroupfs): 10 cgroups created, ") != NULL, "%s", out);
        free(out);
        /* asking for systemd where there is none fails before anything changes */
        cr_assert_eq(tb_tenantctl(&out, "--root /sys/fs/cgroup --backend systemd apply --direct %s", tb_policies("basic")),
                     1);
        cr_assert_str_eq(out, "tenantctl: systemd backend: systemd is not the init system on this host\n");
        free(out);
}
