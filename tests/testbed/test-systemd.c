/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The systemd backend against systemd 252 as PID 1, in the testbed guest
 * (tests/testbed/run --mode systemd). The tests drive tenantctl like a user,
 * and check both what systemd reports (`systemctl show`) and what the kernel's
 * files say. They share the guest's one hierarchy, so each starts by stopping
 * tenants.slice (which stops every tenant unit below it). Outside a systemd
 * guest every test SKIPs.
 *
 * The real_tenants tests run what test-tenants.c runs under cgroupfs, as
 * systemd units: a QEMU VM and a crun container that systemd starts as
 * transient services, and a process adopted into a scope.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "backend.h"
#include "policy-load.h"
#include "qmp.h"
#include "testbed-util.h"
#include "unit-props.h"

#define MiB (UINT64_C(1) << 20)
#define CG "/sys/fs/cgroup"

static const char *const web1 = "tenant-web\\x2d01.service";
static const char *const web2 = "tenant-web\\x2d02.service";
static const char *const db = "tenant-db\\x2dmain.service";
static const char *const web1_cg = "tenants.slice/tenants-normal.slice/tenant-web\\x2d01.service";
static const char *const web2_cg = "tenants.slice/tenants-normal.slice/tenant-web\\x2d02.service";
static const char *const db_cg = "tenants.slice/tenants-critical.slice/tenant-db\\x2dmain.service";
static const char *const batch_cg = "tenants.slice/tenants-low.slice/tenant-batch.scope";

/* `systemctl show -p PROP --value UNIT`, in a static buffer */
static const char *show(const char *unit, const char *prop) {
        static char buf[8][512];
        static unsigned i;
        char *b = buf[i++ % 8], *out = NULL;

        tb_sh(&out, "systemctl show -p %s --value '%s'", prop, unit);
        snprintf(b, 512, "%s", out);
        free(out);
        return b;
}

static void require_systemd(void) {
        const char *tb = getenv("TESTBED");

        tb_require_guest();
        if (!tb || !streq(tb, "systemd"))
                cr_skip_test("needs systemd as PID 1: tests/testbed/run --mode systemd");
}

/* A clean slate: no tenant units, no tenants.slice. */
static void reset(void) {
        char *out = NULL;

        require_systemd();
        (void) tb_sh(NULL, "systemctl stop tenants.slice; systemctl reset-failed 'tenant-*' 'tenants*'");
        for (int i = 0; i < 100 && tb_cg_exists(CG, "tenants.slice"); i++)
                usleep(100000);
        if (tb_cg_exists(CG, "tenants.slice")) {
                (void) tb_sh(&out, "systemctl list-units --all --no-pager 'tenant*'");
                cr_assert_fail("tenants.slice survived the reset:\n%s", out);
        }
}

static void apply_ok(const char *dir, char **ret_out) {
        char *out = NULL;
        int r = tb_tenantctl(&out, "--backend systemd apply --direct %s", dir);

        cr_assert_eq(r, 0, "apply failed: %s", out);
        if (ret_out)
                *ret_out = out;
        else
                free(out);
}

/* A scratch copy of tests/testbed/policies/<src>, to edit. */
static char *copy_policies(const char *src, const char *name) {
        char *dir = strdup_printf("/tmp/tb-sd-%s", name);

        cr_assert_eq(tb_sh(NULL, "rm -rf %s && cp -r %s %s", dir, tb_policies(src), dir), 0);
        return dir;
}

/* Remove the policies of the tenants `ids` (blank separated) from the scratch
 * copy `dir`, apply it, and return tenantctl's JSON report. */
static char *apply_without(const char *dir, const char *ids) {
        char *out = NULL;

        cr_assert_eq(tb_sh(&out, "cd %s/tenants && for t in %s; do rm \"$t.ini\" || exit; done", dir, ids), 0, "%s",
                     out);
        free(out);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", dir), 0, "%s", out);
        return out;
}

static pid_t spawn_sleep(void) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(fd, STDOUT_FILENO);
                execlp("sleep", "sleep", "600", (char *) NULL);
                _exit(127);
        }
        return pid;
}

static const char *proc_cgroup(pid_t pid) {
        static char buf[512];
        char p[64];
        FILE *f;

        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        buf[0] = '\0';
        f = fopen(p, "re");
        if (!f)
                return "<gone>";
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

/* The plan of a policy directory, as tenantctl computes it here. */
static void load_plan(const char *dir, PolicySet *s, Plan *p) {
        PolicyErrors errs = { 0 };
        HostTopology host = { 0 };

        cr_assert_eq(policy_load_dir(dir, s, &errs), 0);
        cr_assert_eq(topology_read("/sys", CG, &host), 0);
        cr_assert_eq(plan_build(s, &host, p, &errs), 0);
        policy_errors_clear(&errs);
}

/* Every file tenantd manages (properties and cgroupfs exceptions) of every
 * running unit of the plan, read from the kernel: the number that differ. */
static unsigned check_all_files(const Plan *p, unsigned *ret_checked) {
        UnitCaps caps;
        unsigned bad = 0, checked = 0;

        unit_caps_from_version(252, &caps);
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                const char *cg = show(n->unit, "ControlGroup");
                UnitPlan up;

                if (cg[0] != '/')
                        continue; /* not running (a pending scope) */
                unit_plan_from_node(n, &caps, &up);
                for (size_t k = 0; k < up.n_props + up.n_files; k++) {
                        const AttrValue *a = k < up.n_props ? &up.props[k].attr : &up.files[k - up.n_props];
                        const char *got = tb_cg_read(CG, cg + 1, a->name);

                        checked++;
                        if (!tb_attr_matches(got, a->value)) {
                                fprintf(stderr, "%s/%s: %s = '%s', policy says '%s'\n", CG, cg + 1, a->name, got,
                                        a->value);
                                bad++;
                        }
                }
        }
        if (ret_checked)
                *ret_checked = checked;
        return bad;
}

/* ---- detection ------------------------------------------------------------------ */

Test(systemd, auto_detection_picks_systemd) {
        const char *why = NULL;
        char *out = NULL;

        require_systemd();
        cr_assert_eq(backend_detect(CG, &why), BACKEND_SYSTEMD, "%s", why);
        cr_assert_str_eq(why, "systemd is PID 1 and answers on D-Bus");
        /* a subtree cannot be driven through systemd */
        cr_assert_eq(backend_detect(CG "/system.slice", &why), BACKEND_CGROUPFS);
        cr_assert_str_eq(why, "the cgroup root is not the root of the cgroup2 hierarchy systemd manages");

        /* tenantctl without --backend: tenantd.conf says auto */
        reset();
        cr_assert_eq(tb_tenantctl(&out, "apply --direct %s", tb_policies("systemd")), 0, "%s", out);
        cr_assert(strstr(out, "applied 4 tenants under /sys/fs/cgroup (systemd): ") != NULL, "%s", out);
        free(out);
        /* and --backend systemd on a subtree says why not */
        cr_assert_eq(tb_tenantctl(&out, "--root %s/system.slice --backend systemd apply --direct %s", CG,
                                  tb_policies("systemd")),
                     1);
        cr_assert(strstr(out, "systemd backend: '/sys/fs/cgroup/system.slice' is not the root of the cgroup2 hierarchy") != NULL,
                  "%s", out);
        free(out);
}

/* ---- apply ------------------------------------------------------------------------ */

Test(systemd, apply_sets_properties_and_kernel_values, .timeout = 300) {
        char *out = NULL, want[256];
        pid_t main_pid;

        reset();
        apply_ok(tb_policies("systemd"), &out);
        /* tenants.slice, 5 class slices, 3 services; the scope waits for processes */
        cr_assert(strstr(out, "(systemd): 9 units created, ") != NULL, "%s", out);
        cr_assert(strstr(out, ", 3 started\npending (no processes yet, adopt creates the scope): batch") != NULL, "%s",
                  out);
        free(out);

        /* critical: memory.min = request, no swap, pinned to node 1 */
        cr_assert_str_eq(show(db, "ActiveState"), "active");
        cr_assert_str_eq(show(db, "MemoryMin"), "134217728");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "memory.min"), "134217728");
        cr_assert_str_eq(show(db, "MemoryMax"), "201326592");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "memory.max"), "201326592");
        cr_assert_str_eq(show(db, "MemoryHigh"), "infinity");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "memory.high"), "max");
        cr_assert_str_eq(show(db, "MemorySwapMax"), "0");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "memory.swap.max"), "0");
        cr_assert_str_eq(show(db, "AllowedMemoryNodes"), "1");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "cpuset.mems"), "1");
        cr_assert_str_eq(show(db, "AllowedCPUs"), "1");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "cpuset.cpus"), "1");
        /* what systemd 252 cannot express, through cgroupfs */
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "hugetlb.2MB.max"), "16777216");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "hugetlb.2MB.rsvd.max"), "16777216");
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "memory.zswap.max"), "8388608");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice", "hugetlb.2MB.max"), "16777216");
        cr_assert(strstr(tb_cg_read(CG, "tenants.slice/tenants-critical.slice", "cgroup.subtree_control"), "hugetlb"));

        /* normal: memory.low = request, memory.high between, weight and CPU */
        cr_assert_str_eq(show(web1, "MemoryLow"), "33554432");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "memory.low"), "33554432");
        cr_assert_str_eq(show(web1, "MemoryHigh"), "63750144");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "memory.high"), "63750144");
        cr_assert_str_eq(show(web1, "CPUWeight"), "200");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "cpu.weight"), "200");
        cr_assert_str_eq(show(web1, "AllowedCPUs"), "1");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "cpuset.cpus"), "1");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "hugetlb.2MB.max"), "0");

        /* the slices carry the sums (PITFALLS 3) */
        cr_assert_str_eq(show("tenants.slice", "MemoryMin"), "134217728");
        cr_assert_str_eq(show("tenants.slice", "MemoryLow"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice", "memory.low"), "67108864");
        cr_assert_str_eq(show("tenants-normal.slice", "MemoryLow"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice/tenants-normal.slice", "cpu.weight"), "100");
        cr_assert_eq(tb_check_ancestor_sums(CG, "tenants.slice", "memory.min"), 0);
        cr_assert_eq(tb_check_ancestor_sums(CG, "tenants.slice", "memory.low"), 0);

        /* the process runs in its unit, with argv as split from exec= */
        main_pid = (pid_t) atoi(show(web2, "MainPID"));
        cr_assert_gt(main_pid, 0);
        snprintf(want, sizeof(want), "0::/%s", web2_cg);
        cr_assert_str_eq(proc_cgroup(main_pid), want);
        /* argv as split from exec = "/bin/sleep" '3600' */
        cr_assert_eq(tb_sh(&out, "tr '\\0' '|' </proc/%d/cmdline", (int) main_pid), 0);
        cr_assert_str_eq(out, "/bin/sleep|3600|");
        free(out);
        cr_assert_str_eq(show(web2, "Type"), "exec");
        cr_assert_str_eq(show(web2, "Slice"), "tenants-normal.slice");
}

Test(systemd, pitfall8_dashes_make_siblings) {
        reset();
        apply_ok(tb_policies("systemd"), NULL);
        cr_assert_str_eq(show(web1, "ControlGroup"), "/tenants.slice/tenants-normal.slice/tenant-web\\x2d01.service");
        cr_assert_str_eq(show(web2, "ControlGroup"), "/tenants.slice/tenants-normal.slice/tenant-web\\x2d02.service");
        cr_assert_str_eq(show(web1, "Slice"), "tenants-normal.slice");
        cr_assert_str_eq(show(web2, "Slice"), "tenants-normal.slice");
        /* (a slice name always loads, so ask whether it runs) */
        cr_assert_str_eq(show("tenants-normal-web.slice", "ActiveState"), "inactive");
        cr_assert(!tb_cg_exists(CG, "tenants.slice/tenants-normal.slice/tenants-normal-web.slice"));
        cr_assert(tb_cg_exists(CG, web1_cg));
        cr_assert(tb_cg_exists(CG, web2_cg));
}

Test(systemd, second_apply_changes_nothing) {
        char *out = NULL;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd")), 0, "%s",
                     out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0,\"pending\":[\"batch\"]}\n");
        free(out);
}

Test(systemd, value_changed_behind_systemds_back_is_put_back) {
        char *out = NULL;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        tb_cg_write(CG, web1_cg, "memory.max", "104857600");
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd")), 0, "%s",
                     out);
        /* the property was right, the kernel's file was not: set once more */
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":1,\"removed\":0,\"started\":0,\"pending\":[\"batch\"]}\n");
        free(out);
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "memory.max"), "67108864");
        /* and an exception file likewise, through cgroupfs */
        tb_cg_write(CG, db_cg, "hugetlb.2MB.max", "0");
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd")), 0, "%s",
                     out);
        cr_assert(strstr(out, "\"writes\":1,") != NULL, "%s", out);
        free(out);
        cr_assert_str_eq(tb_cg_read(CG, db_cg, "hugetlb.2MB.max"), "16777216");
}

/* ---- adopt ------------------------------------------------------------------------- */

Test(systemd, adopt_creates_the_scope, .timeout = 120) {
        char *out = NULL, want[256];
        pid_t pid;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        cr_assert_str_eq(show("tenant-batch.scope", "LoadState"), "not-found", "a scope needs processes");
        pid = spawn_sleep();
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd adopt --direct --policies %s batch %d",
                                  tb_policies("systemd"), (int) pid),
                     0, "%s", out);
        snprintf(want, sizeof(want), "PID %d -> %s\n", (int) pid, batch_cg);
        cr_assert_str_eq(out, want);
        free(out);
        snprintf(want, sizeof(want), "0::/%s", batch_cg);
        cr_assert_str_eq(proc_cgroup(pid), want);
        cr_assert_str_eq(show("tenant-batch.scope", "ActiveState"), "active");
        cr_assert_str_eq(show("tenant-batch.scope", "MemoryMax"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, batch_cg, "memory.max"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, batch_cg, "memory.high"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, batch_cg, "hugetlb.2MB.max"), "0");

        /* nothing pending any more, nothing to change */
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd")), 0, "%s",
                     out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);
        kill(pid, SIGKILL);
        tb_reap(pid);
}

Test(systemd, adopt_errors) {
        char *out = NULL;
        pid_t pid;

        reset();
        pid = spawn_sleep();
        /* before apply, the class slice is not there */
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd adopt --direct --policies %s batch %d",
                                  tb_policies("systemd"), (int) pid),
                     1);
        cr_assert_str_eq(out, "tenantctl adopt: tenant 'batch': its class slice tenants-low.slice is not running: apply the policies first\n");
        free(out);
        apply_ok(tb_policies("systemd"), NULL);
        /* a service runs what its policy says; it does not take strangers while stopped */
        (void) tb_sh(NULL, "systemctl stop '%s'", web1);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd adopt --direct --policies %s web-01 %d",
                                  tb_policies("systemd"), (int) pid),
                     1);
        cr_assert(strstr(out, "tenant 'web-01' (tenant-web\\x2d01.service) is a service that is not running") != NULL,
                  "%s", out);
        free(out);
        cr_assert_str_eq(proc_cgroup(pid), "0::/system.slice/testbed.service");
        kill(pid, SIGKILL);
        tb_reap(pid);
}

Test(systemd, failed_adopt_moves_the_processes_back, .timeout = 120) {
        Backend *b = NULL;
        PolicySet s = { 0 };
        Plan p = { 0 };
        ApplyReport rep;
        char *error = NULL, *before = NULL, want[1024];
        pid_t pid;
        int r;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        pid = spawn_sleep();
        before = strdup(proc_cgroup(pid));
        load_plan(tb_policies("systemd"), &s, &p);
        /* the scope is created with the process in it, then the kernel refuses a value */
        for (size_t i = 0; i < p.n_nodes; i++)
                if (streq(p.nodes[i].unit, "tenant-batch.scope"))
                        nodeset_add(&p.nodes[i].mems, 5);
        cr_assert_eq(backend_open(BACKEND_SYSTEMD, CG, &b, &error), 0, "%s", error);
        r = backend_adopt(b, &p, &s, "batch", &pid, 1, &rep);
        cr_assert_eq(r, -EINVAL, "%d: %s", r, rep.error);
        snprintf(want, sizeof(want),
                 "tenant 'batch' (tenant-batch.scope): AllowedMemoryNodes = 5: systemd accepted it, but the kernel refused it: %s/%s/cpuset.mems reads '', not '5': Invalid argument",
                 CG, batch_cg);
        cr_assert_str_eq(rep.error, want);
        cr_assert_eq(rep.rolled_back, 2, "the move and the scope");
        apply_report_done(&rep);
        /* the process lives on where it was, and the scope is gone */
        cr_assert_eq(kill(pid, 0), 0, "the adopted process must survive a failed adopt");
        cr_assert_str_eq(proc_cgroup(pid), before);
        cr_assert_str_eq(show("tenant-batch.scope", "LoadState"), "not-found");
        backend_free(b);
        plan_done(&p);
        policy_set_done(&s);
        free(before);
        kill(pid, SIGKILL);
        tb_reap(pid);
}

/* ---- PITFALLS 4: systemd owns unit cgroups ---------------------------------------------- */

Test(systemd, pitfall4_daemon_reload_keeps_every_value, .timeout = 180) {
        PolicySet s = { 0 };
        Plan p = { 0 };
        unsigned checked = 0;
        char *out = NULL;
        pid_t pid;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        pid = spawn_sleep();
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd adopt --direct --policies %s batch %d",
                                  tb_policies("systemd"), (int) pid),
                     0, "%s", out);
        free(out);
        load_plan(tb_policies("systemd"), &s, &p);
        cr_assert_eq(check_all_files(&p, &checked), 0, "a value is wrong right after apply");
        cr_assert_geq(checked, 50, "checked only %u files", checked);

        cr_assert_eq(tb_sh(&out, "systemctl daemon-reload"), 0, "%s", out);
        free(out);
        sleep(1);
        (void) show("tenants.slice", "ActiveState"); /* a round trip through systemd's loop */
        cr_assert_eq(check_all_files(&p, NULL), 0, "daemon-reload changed a tenant file (see above)");
        /* the controller systemd does not know stays enabled */
        cr_assert(strstr(tb_cg_read(CG, "tenants.slice", "cgroup.subtree_control"), "hugetlb"));
        cr_assert(strstr(tb_cg_read(CG, "tenants.slice/tenants-critical.slice", "cgroup.subtree_control"), "hugetlb"));
        /* the runtime properties are systemd's own now: a reload re-applied them, unchanged */
        cr_assert_str_eq(show(web1, "MemoryHigh"), "63750144");
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd")), 0, "%s",
                     out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);

        /* the services still know their command (systemd 252 cannot read back an
         * ExecStartEx= it wrote itself): restarted, web-02 runs the same argv */
        cr_assert_eq(tb_sh(&out, "systemctl restart '%s'", web2), 0, "%s", out);
        free(out);
        cr_assert_eq(tb_sh(&out, "tr '\\0' '|' </proc/%s/cmdline", show(web2, "MainPID")), 0);
        cr_assert_str_eq(out, "/bin/sleep|3600|");
        free(out);
        /* a restart makes a new cgroup: systemd puts its properties back, the
         * cgroupfs exceptions come back with the next apply */
        cr_assert_str_eq(tb_cg_read(CG, web2_cg, "memory.max"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, web2_cg, "hugetlb.2MB.max"), "max");
        /* one write per hugetlb file: .max and .rsvd.max of every page size */
        unsigned huge = 0;
        char want[128];
        for (size_t i = 0; i < p.n_nodes; i++)
                if (streq(p.nodes[i].unit, web2))
                        for (size_t k = 0; k < HUGE_SIZES_MAX; k++)
                                huge += p.nodes[i].hugetlb[k].page_size > 0 ? 2 : 0;
        cr_assert_geq(huge, 2);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd")), 0, "%s",
                     out);
        snprintf(want, sizeof(want), "{\"created\":0,\"writes\":%u,\"removed\":0,\"started\":0}\n", huge);
        cr_assert_str_eq(out, want);
        free(out);
        cr_assert_str_eq(tb_cg_read(CG, web2_cg, "hugetlb.2MB.max"), "0");
        plan_done(&p);
        policy_set_done(&s);
        kill(pid, SIGKILL);
        tb_reap(pid);
}

/* ---- the transaction ---------------------------------------------------------------------- */

Test(systemd, property_systemd_rejects_rolls_back, .timeout = 120) {
        Backend *b = NULL;
        PolicySet s = { 0 };
        Plan p = { 0 };
        ApplyReport rep;
        char *error = NULL;
        int r;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        load_plan(tb_policies("systemd"), &s, &p);
        /* raise the guarantees on the way down, then a weight systemd refuses */
        p.nodes[0].memory_min += 4 * MiB;
        for (size_t i = 0; i < p.n_nodes; i++)
                if (streq(p.nodes[i].unit, web2))
                        p.nodes[i].cpu_weight = 20000;
                else if (streq(p.nodes[i].unit, "tenants-critical.slice"))
                        p.nodes[i].memory_min += 4 * MiB;

        cr_assert_eq(backend_open(BACKEND_SYSTEMD, CG, &b, &error), 0, "%s", error);
        r = backend_apply(b, &p, &s, NULL, &rep);
        cr_assert_eq(r, -EINVAL, "%d: %s", r, rep.error);
        cr_assert_str_eq(rep.error,
                         "tenant 'web-02' (tenant-web\\x2d02.service): CPUWeight = 20000: org.freedesktop.DBus.Error.InvalidArgs: Value specified in CPUWeight is out of range");
        cr_assert_eq(rep.rolled_back, 2);
        apply_report_done(&rep);
        cr_assert_str_eq(show("tenants.slice", "MemoryMin"), "134217728");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice", "memory.min"), "134217728");
        cr_assert_str_eq(show("tenants-critical.slice", "MemoryMin"), "134217728");
        cr_assert_str_eq(show(web2, "CPUWeight"), "100");
        backend_free(b);
        plan_done(&p);
        policy_set_done(&s);
}

Test(systemd, value_the_kernel_refuses_rolls_back, .timeout = 120) {
        Backend *b = NULL;
        PolicySet s = { 0 };
        Plan p = { 0 };
        ApplyReport rep;
        char *error = NULL, want[1024];
        int r;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        load_plan(tb_policies("systemd"), &s, &p);
        /* systemd takes AllowedMemoryNodes=5, the kernel (nodes 0-1) answers EINVAL,
         * and systemd only logs it: tenantd reads the file back and fails */
        for (size_t i = 0; i < p.n_nodes; i++)
                if (streq(p.nodes[i].unit, web1)) {
                        p.nodes[i].memory_max = 96 * MiB;
                        nodeset_add(&p.nodes[i].mems, 5);
                }
        cr_assert_eq(backend_open(BACKEND_SYSTEMD, CG, &b, &error), 0, "%s", error);
        r = backend_apply(b, &p, &s, NULL, &rep);
        cr_assert_eq(r, -EINVAL, "%d: %s", r, rep.error);
        snprintf(want, sizeof(want),
                 "tenant 'web-01' (tenant-web\\x2d01.service): AllowedMemoryNodes = 5: systemd accepted it, but the kernel refused it: %s/%s/cpuset.mems reads '', not '5': Invalid argument",
                 CG, web1_cg);
        cr_assert_str_eq(rep.error, want);
        apply_report_done(&rep);
        /* both changes of this apply are undone */
        cr_assert_str_eq(show(web1, "AllowedMemoryNodes"), "");
        cr_assert_str_eq(show(web1, "MemoryMax"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "memory.max"), "67108864");
        backend_free(b);
        plan_done(&p);
        policy_set_done(&s);
}

Test(systemd, failed_start_rolls_back, .timeout = 120) {
        char *dir, *out = NULL;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        dir = copy_policies("systemd", "broken");
        /* change web-01, and add a tenant whose command cannot be executed (the
         * script's interpreter does not exist: execve fails, status 203) */
        cr_assert_eq(tb_sh(NULL, "sed -i 's/^limit = 64M/limit = 96M/' %s/tenants/web-01.ini && "
                              "printf '#!/nonexistent/sh\\n' >/tmp/tb-sd-bad.sh && chmod +x /tmp/tb-sd-bad.sh && "
                              "printf '[tenant]\\nclass = low\\nexec = /tmp/tb-sd-bad.sh\\n[memory]\\nrequest = 8M\\n' >%s/tenants/broken.ini",
                        dir, dir),
                     0);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd apply --direct %s", dir), 1, "%s", out);
        cr_assert(strstr(out, "tenantctl: apply failed: tenant 'broken' (tenant-broken.service): start job failed: the unit's result is 'exit-code' (main process status 203: the command could not be executed)\n") !=
                          NULL,
                  "%s", out);
        cr_assert(strstr(out, "tenantctl: rolled back ") != NULL, "%s", out);
        free(out);
        cr_assert_str_eq(show("tenant-broken.service", "LoadState"), "not-found");
        cr_assert_str_eq(show(web1, "MemoryMax"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, web1_cg, "memory.max"), "67108864");

        /* a command that is not there at all is refused before anything changes */
        cr_assert_eq(tb_sh(NULL, "sed -i 's|^exec = .*|exec = no-such-program --flag|' %s/tenants/broken.ini", dir), 0);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd apply --direct %s", dir), 1, "%s", out);
        cr_assert(strstr(out, "tenant 'broken' (tenant-broken.service): 'no-such-program': not found in PATH\n") != NULL,
                  "%s", out);
        cr_assert(strstr(out, "rolled back 0 changes") != NULL, "%s", out);
        free(out);
        cr_assert_str_eq(show(web1, "MemoryMax"), "67108864");

        /* so is a '$' (systemd 252 would expand it now, and not after a daemon-reload) */
        cr_assert_eq(tb_sh(NULL, "sed -i 's|^exec = .*|exec = /bin/sh -c \"echo $HOME\"|' %s/tenants/broken.ini", dir), 0);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd apply --direct %s", dir), 1, "%s", out);
        cr_assert(strstr(out, "tenant 'broken' (tenant-broken.service): exec = '/bin/sh -c \"echo $HOME\"': '$' in a command line: ") !=
                          NULL,
                  "%s", out);
        free(out);
        free(dir);
}

/* ---- removal ---------------------------------------------------------------------------------- */

Test(systemd, removed_policy_stops_the_unit, .timeout = 120) {
        char *dir, *out = NULL;
        pid_t pid, adopted;

        reset();
        apply_ok(tb_policies("systemd"), NULL);
        pid = (pid_t) atoi(show(web2, "MainPID"));
        cr_assert_gt(pid, 0);
        adopted = spawn_sleep();
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd adopt --direct --policies %s batch %d",
                                  tb_policies("systemd"), (int) adopted),
                     0, "%s", out);
        free(out);

        dir = copy_policies("systemd", "remove");
        out = apply_without(dir, "web-02 batch");
        /* writes: the sums of memory.low on tenants-normal.slice and tenants.slice */
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":2,\"removed\":2,\"started\":0}\n");
        free(out);
        cr_assert_str_eq(show(web2, "LoadState"), "not-found");
        cr_assert_str_eq(show("tenant-batch.scope", "LoadState"), "not-found");
        cr_assert(!tb_cg_exists(CG, web2_cg));
        cr_assert(!tb_cg_exists(CG, batch_cg));
        for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
                usleep(50000);
        cr_assert_eq(kill(pid, 0), -1, "web-02's process must be gone");
        cr_assert_eq(tb_reap(adopted), SIGTERM, "the adopted process is stopped with its scope");
        cr_assert_str_eq(show(web1, "ActiveState"), "active", "the others stay");
        free(dir);
}

/* ---- real tenants: a QEMU VM, a crun container, adopted processes ------------------------- */

static const char *const vm_unit = "tenant-vm\\x2d1.service";
static const char *const ct_unit = "tenant-web\\x2d1.service";
static const char *const job_unit = "tenant-batch\\x2djob.scope";
static const char *const vm_sock = "/run/tenantd/qmp/vm-1.sock";

typedef struct RealTenants {
        pid_t qemu;        /* the VM service's main process */
        pid_t crun;        /* the container service's main process */
        pid_t container;   /* the container's init, in its own pid namespace */
        pid_t adopted;     /* a sleep adopted into the scope */
} RealTenants;

/* The unit's cgroup relative to CG, from its ControlGroup property. */
static const char *unit_cgroup(const char *unit) {
        const char *cg = show(unit, "ControlGroup");

        cr_assert(cg[0] == '/' && cg[1] != '\0', "%s has no cgroup (ControlGroup '%s')", unit, cg);
        return cg + 1;
}

/* The unit's cgroup is a leaf and every process in it says so in
 * /proc/PID/cgroup. Returns the number of processes. */
static unsigned leaf_processes(const char *unit) {
        const char *cg = unit_cgroup(unit);
        char path[512], procs[4096], want[512];
        unsigned n = 0;
        struct dirent *de;
        DIR *d;

        snprintf(path, sizeof(path), "%s/%s", CG, cg);
        d = opendir(path);
        cr_assert_not_null(d, "%s: %s", path, strerror(errno));
        while ((de = readdir(d)))
                cr_assert(de->d_type != DT_DIR || de->d_name[0] == '.', "%s is not a leaf: it has %s", path,
                          de->d_name);
        closedir(d);
        snprintf(want, sizeof(want), "0::/%s", cg);
        snprintf(procs, sizeof(procs), "%s", tb_cg_read(CG, cg, "cgroup.procs"));
        for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                const char *got = proc_cgroup((pid_t) atoi(l));

                if (!streq(got, "<gone>"))
                        cr_assert_str_eq(got, want, "PID %s of %s", l, unit);
                n++;
        }
        return n;
}

static bool same_pid_ns(pid_t pid) {
        char self[64] = "", its[64] = "", p[64];

        snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int) pid);
        if (readlink("/proc/self/ns/pid", self, sizeof(self) - 1) <= 0 || readlink(p, its, sizeof(its) - 1) <= 0)
                return true;
        return streq(self, its);
}

/* The container's init: the process of the unit's leaf that lives in another
 * pid namespace (crun itself stays in ours). */
static pid_t container_init(const char *unit, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 10; i++) {
                char procs[4096];

                snprintf(procs, sizeof(procs), "%s", tb_cg_read(CG, unit_cgroup(unit), "cgroup.procs"));
                for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        pid_t pid = (pid_t) atoi(l);

                        if (!same_pid_ns(pid) && streq(tb_cg_read("/proc", l, "comm"), "sh"))
                                return pid;
                }
                usleep(100000);
        }
        return -1;
}

/* The VM answers on its QMP socket, and runs. */
static void qmp_says_running(void) {
        Qmp *q = NULL;
        bool running = false;
        char *status = NULL;
        int r;

        r = qmp_connect(vm_sock, 120 * 1000000ULL, &q);
        cr_assert_eq(r, 0, "QMP %s: %s", vm_sock, strerror(-r));
        r = qmp_query_status(q, &running, &status);
        cr_assert_eq(r, 0, "query-status: %s", strerror(-r));
        cr_assert_str_eq(status, "running");
        cr_assert(running);
        free(status);
        qmp_free(q);
}

/* The argv systemd keeps for a service: "argv[]=... ;" of ExecStart. */
static char *exec_argv(const char *unit) {
        const char *e = show(unit, "ExecStart"), *a = strstr(e, "argv[]="), *end = a ? strstr(a, " ;") : NULL;

        cr_assert(a && end, "%s: ExecStart = '%s'", unit, e);
        return strndup(a, (size_t) (end - a));
}

/* Apply tests/testbed/policies/systemd-tenants from a clean slate and adopt a
 * sleep into the scope; wait until QEMU's guest RAM and the container run. */
static void start_real_tenants(RealTenants *rt) {
        char *out = NULL, want[128];

        reset();
        (void) tb_sh(NULL, "crun delete -f web-1");
        cr_assert_eq(tb_sh(&out, "%s/tests/testbed/oci-bundle /run/tenantd/bundles/web-1 web-1 "
                              "/bin/sh -c 'trap \"exit 0\" TERM; sleep 3600 & wait'",
                        SOURCE_ROOT),
                     0, "cannot make the OCI bundle: %s", out);
        free(out);

        apply_ok(tb_policies("systemd-tenants"), &out);
        /* tenants.slice, 5 class slices, 2 services; the scope waits for processes */
        cr_assert(strstr(out, "applied 3 tenants under /sys/fs/cgroup (systemd): 8 units created, ") != NULL, "%s", out);
        cr_assert(strstr(out, ", 2 started\npending (no processes yet, adopt creates the scope): batch-job") != NULL,
                  "%s", out);
        free(out);

        cr_assert_str_eq(show(vm_unit, "ActiveState"), "active");
        rt->qemu = (pid_t) atoi(show(vm_unit, "MainPID"));
        cr_assert_gt(rt->qemu, 0);
        cr_assert_str_eq(show(ct_unit, "ActiveState"), "active");
        rt->crun = (pid_t) atoi(show(ct_unit, "MainPID"));
        cr_assert_gt(rt->crun, 0);
        rt->container = container_init(ct_unit, 120);
        cr_assert_gt(rt->container, 0, "no container init in %s: %s", ct_unit,
                     tb_cg_read(CG, unit_cgroup(ct_unit), "cgroup.procs"));

        rt->adopted = spawn_sleep();
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd adopt --direct --policies %s batch-job %d",
                                  tb_policies("systemd-tenants"), (int) rt->adopted),
                     0, "%s", out);
        free(out);
        cr_assert_str_eq(show(job_unit, "ActiveState"), "active");

        /* QEMU preallocates its guest RAM from the node's hugepage pool */
        snprintf(want, sizeof(want), "%llu", 32ULL * MiB);
        for (int i = 0; i < 1200 && !streq(tb_cg_read(CG, unit_cgroup(vm_unit), "hugetlb.2MB.current"), want); i++)
                usleep(100000);
        cr_assert_str_eq(tb_cg_read(CG, unit_cgroup(vm_unit), "hugetlb.2MB.current"), want,
                         "QEMU's guest RAM is not charged to its leaf's hugetlb");
}

static void stop_real_tenants(RealTenants *rt) {
        if (rt->adopted > 0) {
                kill(rt->adopted, SIGKILL);
                tb_reap(rt->adopted);
        }
        reset();
        (void) tb_sh(NULL, "crun delete -f web-1");
}

/* Every value the policy sets, as the kernel reads it in each unit's cgroup. */
static void real_tenant_values_in_force(void) {
        PolicySet s = { 0 };
        Plan p = { 0 };
        unsigned checked = 0;

        load_plan(tb_policies("systemd-tenants"), &s, &p);
        cr_assert_eq(check_all_files(&p, &checked), 0, "a kernel file differs from the policy (see above)");
        cr_assert_geq(checked, 50, "checked only %u files", checked);
        plan_done(&p);
        policy_set_done(&s);
}

Test(systemd, real_tenants_each_in_its_own_leaf, .timeout = 600) {
        RealTenants rt;
        char want[512], *out = NULL;
        const char *vm_cg, *ct_cg, *job_cg;

        start_real_tenants(&rt);
        vm_cg = strdupa(unit_cgroup(vm_unit));
        ct_cg = strdupa(unit_cgroup(ct_unit));
        job_cg = strdupa(unit_cgroup(job_unit));
        /* ids with '-' are escaped; the class picks the slice */
        cr_assert_str_eq(vm_cg, "tenants.slice/tenants-high.slice/tenant-vm\\x2d1.service");
        cr_assert_str_eq(ct_cg, "tenants.slice/tenants-normal.slice/tenant-web\\x2d1.service");
        cr_assert_str_eq(job_cg, "tenants.slice/tenants-low.slice/tenant-batch\\x2djob.scope");

        /* the VM: systemd runs QEMU, with the command line built from [vm] */
        snprintf(want, sizeof(want), "0::/%s", vm_cg);
        cr_assert_str_eq(proc_cgroup(rt.qemu), want);
        cr_assert_eq(tb_sh(&out, "tr '\\0' ' ' </proc/%d/cmdline", (int) rt.qemu), 0);
        cr_assert(strncmp(out, "qemu-system-x86_64 -name guest=vm-1 ", 36) == 0, "%s", out);
        cr_assert(strstr(out, " -m 32M -smp 1 -qmp unix:/run/tenantd/qmp/vm-1.sock,server=on,wait=off ") != NULL, "%s",
                  out);
        cr_assert(strstr(out, " -device virtio-balloon-pci,id=balloon0 ") != NULL, "%s", out);
        cr_assert(strstr(out, "mem-path=/dev/hugepages,prealloc=on,share=on,host-nodes=1,policy=bind ") != NULL, "%s",
                  out);
        free(out);
        qmp_says_running();
        /* 32M of guest RAM in hugepages; memory.max = overhead: 32M/512 + 128M + 1 x 8M */
        cr_assert_eq(tb_cg_u64(CG, vm_cg, "memory.max"), 64 * 1024 + 128 * MiB + 8 * MiB);
        cr_assert_eq(tb_cg_u64(CG, vm_cg, "memory.min"), 64 * 1024 + 128 * MiB + 8 * MiB);
        cr_assert_str_eq(tb_cg_read(CG, vm_cg, "memory.swap.max"), "0");
        cr_assert_str_eq(tb_cg_read(CG, vm_cg, "cpuset.mems"), "1");
        cr_assert_eq(tb_cg_u64(CG, vm_cg, "hugetlb.2MB.max"), 32 * MiB);
        cr_assert_eq(tb_cg_u64(CG, vm_cg, "hugetlb.2MB.rsvd.max"), 32 * MiB);
        cr_assert_str_eq(show(vm_unit, "MemoryMax"), "142671872");

        /* the container: crun and the container's processes in the service's leaf */
        snprintf(want, sizeof(want), "0::/%s", ct_cg);
        cr_assert_str_eq(proc_cgroup(rt.crun), want);
        cr_assert_str_eq(proc_cgroup(rt.container), want);
        cr_assert(!same_pid_ns(rt.container), "the container must have its own pid namespace");
        cr_assert_str_eq(tb_cg_read(CG, ct_cg, "memory.max"), "67108864");
        cr_assert_str_eq(tb_cg_read(CG, ct_cg, "memory.low"), "16777216");
        cr_assert_str_eq(show(ct_unit, "MemoryLow"), "16777216");

        /* adopted: the scope holds the process */
        snprintf(want, sizeof(want), "0::/%s", job_cg);
        cr_assert_str_eq(proc_cgroup(rt.adopted), want);
        cr_assert_str_eq(tb_cg_read(CG, job_cg, "memory.max"), "134217728");

        /* one leaf each; the slices hold no process */
        cr_assert_eq(leaf_processes(vm_unit), 1, "QEMU alone: %s", tb_cg_read(CG, vm_cg, "cgroup.procs"));
        cr_assert_geq(leaf_processes(ct_unit), 3, "crun, sh and sleep: %s", tb_cg_read(CG, ct_cg, "cgroup.procs"));
        cr_assert_eq(leaf_processes(job_unit), 1);
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice", "cgroup.procs"), "");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice/tenants-high.slice", "cgroup.procs"), "");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice/tenants-normal.slice", "cgroup.procs"), "");
        cr_assert_str_eq(tb_cg_read(CG, "tenants.slice/tenants-low.slice", "cgroup.procs"), "");
        real_tenant_values_in_force();
        cr_assert_eq(tb_check_ancestor_sums(CG, "tenants.slice", "memory.min"), 0);

        /* a second apply starts nothing again and writes nothing */
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd-tenants")), 0,
                     "%s", out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);
        cr_assert_eq((pid_t) atoi(show(vm_unit, "MainPID")), rt.qemu);
        stop_real_tenants(&rt);
}

Test(systemd, real_tenants_survive_daemon_reload, .timeout = 600) {
        RealTenants rt;
        char *vm_argv, *ct_argv, *out = NULL;

        start_real_tenants(&rt);
        real_tenant_values_in_force();
        vm_argv = exec_argv(vm_unit);
        ct_argv = exec_argv(ct_unit);

        cr_assert_eq(tb_sh(&out, "systemctl daemon-reload"), 0, "%s", out);
        free(out);
        sleep(1);
        (void) show("tenants.slice", "ActiveState"); /* a round trip through systemd's loop */

        /* the same processes, in the same leaves, under the same limits */
        cr_assert_str_eq(show(vm_unit, "ActiveState"), "active");
        cr_assert_str_eq(show(ct_unit, "ActiveState"), "active");
        cr_assert_str_eq(show(job_unit, "ActiveState"), "active");
        cr_assert_eq((pid_t) atoi(show(vm_unit, "MainPID")), rt.qemu);
        cr_assert_eq((pid_t) atoi(show(ct_unit, "MainPID")), rt.crun);
        cr_assert_eq(kill(rt.container, 0), 0, "the container must survive a daemon-reload");
        cr_assert_eq(leaf_processes(vm_unit), 1);
        cr_assert_geq(leaf_processes(ct_unit), 3);
        cr_assert_eq(leaf_processes(job_unit), 1);
        real_tenant_values_in_force();
        cr_assert_eq(tb_cg_u64(CG, unit_cgroup(vm_unit), "hugetlb.2MB.current"), 32 * MiB);
        qmp_says_running();
        /* systemd re-read the transient units: the command lines came back intact */
        cr_assert_str_eq(exec_argv(vm_unit), vm_argv);
        cr_assert_str_eq(exec_argv(ct_unit), ct_argv);
        free(vm_argv);
        free(ct_argv);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", tb_policies("systemd-tenants")), 0,
                     "%s", out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);
        stop_real_tenants(&rt);
}

Test(systemd, real_tenants_removed_with_their_policy, .timeout = 600) {
        RealTenants rt;
        char *dir, *out = NULL, *vm_cg, *ct_cg, *job_cg;

        start_real_tenants(&rt);
        vm_cg = strdup(unit_cgroup(vm_unit));
        ct_cg = strdup(unit_cgroup(ct_unit));
        job_cg = strdup(unit_cgroup(job_unit));

        /* the VM's and the container's policies go */
        dir = copy_policies("systemd-tenants", "real-remove");
        out = apply_without(dir, "vm-1 web-1");
        /* the sums drop on the slices: memory.min of tenants.slice and
         * tenants-high.slice, memory.low of tenants.slice and
         * tenants-normal.slice, hugetlb.2MB.max and .rsvd.max of tenants.slice
         * and tenants-high.slice; which the kernel takes only once the VM and
         * its hugepages are gone */
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":8,\"removed\":2,\"started\":0}\n");
        free(out);
        cr_assert_str_eq(show(vm_unit, "LoadState"), "not-found");
        cr_assert_str_eq(show(ct_unit, "LoadState"), "not-found");
        cr_assert(!tb_cg_exists(CG, vm_cg), "%s is still there", vm_cg);
        cr_assert(!tb_cg_exists(CG, ct_cg), "%s is still there", ct_cg);
        for (int i = 0; i < 100 && (kill(rt.qemu, 0) == 0 || kill(rt.container, 0) == 0 || kill(rt.crun, 0) == 0); i++)
                usleep(100000);
        cr_assert_eq(kill(rt.qemu, 0), -1, "QEMU must be gone");
        cr_assert_eq(kill(rt.crun, 0), -1, "crun must be gone");
        cr_assert_eq(kill(rt.container, 0), -1, "the container must be gone");
        /* the container stopped cleanly: crun removed its state on the way out */
        cr_assert_neq(tb_sh(&out, "crun state web-1"), 0, "crun still knows web-1: %s", out);
        free(out);
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice", "memory.min"), 0);
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice", "hugetlb.2MB.max"), 0);
        /* the adopted process and its scope stay */
        cr_assert_str_eq(show(job_unit, "ActiveState"), "active");
        cr_assert_eq(kill(rt.adopted, 0), 0);
        cr_assert_eq(tb_tenantctl(&out, "--backend systemd --json apply --direct %s", dir), 0, "%s", out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);

        /* then the scope's */
        out = apply_without(dir, "batch-job");
        cr_assert(strstr(out, ",\"removed\":1,\"started\":0}") != NULL, "%s", out);
        free(out);
        cr_assert_str_eq(show(job_unit, "LoadState"), "not-found");
        cr_assert(!tb_cg_exists(CG, job_cg), "%s is still there", job_cg);
        cr_assert_eq(tb_reap(rt.adopted), SIGTERM, "the adopted process is stopped with its scope");
        rt.adopted = 0;
        free(vm_cg);
        free(ct_cg);
        free(job_cg);
        free(dir);
        stop_real_tenants(&rt);
}
