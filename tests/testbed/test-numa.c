/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real-kernel tests for NUMA pinning, page migration and hugepage pools
 * (issue 5; PITFALLS 5 and 6), run inside the two-node testbed guest
 * (tests/testbed/run ... --cpus 2 --node-mem 512 --hugepages-per-node 16,32).
 * Each test has its own cgroup root /sys/fs/cgroup/tb-<name>, drives tenantctl
 * like a user with a policy directory under tests/testbed/policies/numa-*, and
 * asserts what the kernel's files say. Tests that change hugepage pools put
 * them back (through tenantctl, and directly in .fini should a test fail), so
 * the other tests of the same boot see the pools the guest booted with.
 * Outside the guest every test SKIPs.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "hugetlb.h"
#include "testbed-util.h"

#define MiB (UINT64_C(1) << 20)
#define PAGE_2M (2 * MiB)

static char root[256];
static uint64_t boot_nr[2];    /* nr_hugepages per node when the test started */
static bool pools_saved;

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static const char *sys_read(const char *fmt, ...) _printf_(1, 2);
static const char *sys_read(const char *fmt, ...) {
        char path[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        return tb_cg_read(path, NULL, NULL);
}

/* nr_hugepages / free_hugepages of a node's 2M pool */
static uint64_t huge(unsigned node, const char *attr) {
        const char *s = sys_read("/sys/devices/system/node/node%u/hugepages/hugepages-2048kB/%s", node, attr);

        cr_assert(strcmp(s, "<missing>") != 0, "node %u has no 2M pool", node);
        return strtoull(s, NULL, 10);
}

static void huge_set(unsigned node, uint64_t pages) {
        char path[256], v[32];

        snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/hugepages/hugepages-2048kB/nr_hugepages", node);
        snprintf(v, sizeof(v), "%" PRIu64, pages);
        tb_cg_write(path, NULL, NULL, v);
}

/* "anon N0=123 N1=456" of memory.numa_stat */
static uint64_t numa_stat(const char *path, const char *item, unsigned node) {
        const char *s = tb_cg_read(root, path, "memory.numa_stat");
        char key[64];
        const char *l, *p, *eol;

        snprintf(key, sizeof(key), "%s ", item);
        for (l = s; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, strlen(key)) == 0)
                        break;
        cr_assert_not_null(l, "no '%s' in memory.numa_stat: %s", item, s);
        eol = strchr(l, '\n');
        snprintf(key, sizeof(key), " N%u=", node);
        p = strstr(l, key);
        cr_assert(p && (!eol || p < eol), "no N%u in '%s'", node, l);
        return strtoull(p + strlen(key), NULL, 10);
}

/* A field of /proc/PID/status ("Cpus_allowed_list"), static buffer */
static const char *proc_status(pid_t pid, const char *field) {
        static char buf[256];
        char path[64], line[512];
        size_t n = strlen(field);
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        buf[0] = '\0';
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, field, n) == 0 && line[n] == ':') {
                        snprintf(buf, sizeof(buf), "%s", line + n + 1 + strspn(line + n + 1, " \t"));
                        buf[strcspn(buf, "\n")] = '\0';
                }
        fclose(f);
        return buf;
}

/* Exit status of pid, or 128 + the signal that killed it. */
static int wait_exit(pid_t pid) {
        int st;

        if (waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static bool wait_u64(const char *path, const char *attr, uint64_t want, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 10; i++) {
                if (tb_cg_u64(root, path, attr) == want)
                        return true;
                usleep(100000);
        }
        return false;
}

/* The entries of tenantd's hugepage state file (comments dropped), static buffer. */
static const char *state_entries(void) {
        static char buf[1024];
        char line[256];
        size_t n = 0;
        FILE *f = fopen(HUGETLB_STATE_PATH, "re");

        buf[0] = '\0';
        if (!f)
                return buf;
        while (fgets(line, sizeof(line), f))
                if (line[0] != '#' && n + strlen(line) < sizeof(buf)) {
                        strcpy(buf + n, line);
                        n += strlen(line);
                }
        fclose(f);
        return buf;
}

static void setup_root(const char *name) {
        tb_require_guest();
        snprintf(root, sizeof(root), "/sys/fs/cgroup/tb-%s", name);
        tb_cgroup_reset(root);
}

/* For the tests that change pools: remember them, start without tenantd state. */
static void save_pools(void) {
        boot_nr[0] = huge(0, "nr_hugepages");
        boot_nr[1] = huge(1, "nr_hugepages");
        pools_saved = true;
        unlink(HUGETLB_STATE_PATH);
}

/* .fini: whatever happened, no process of the test holds pages any more and the
 * pools are what the test found. */
static void restore_pools(void) {
        if (!pools_saved || !getenv("TESTBED"))
                return;
        pools_saved = false;
        tb_cgroup_reset(root);
        rmdir(root);
        for (unsigned n = 0; n < 2; n++)
                if (huge(n, "nr_hugepages") != boot_nr[n])
                        huge_set(n, boot_nr[n]);
        unlink(HUGETLB_STATE_PATH);
}

static void cleanup_root(void) {
        if (getenv("TESTBED") && root[0]) {
                tb_cgroup_reset(root);
                rmdir(root);
        }
}

/* ---- pinning: cpuset.cpus and cpuset.mems -------------------------------------------- */

Test(numa, pinning, .fini = cleanup_root) {
        const char *pinned = "tenants.slice/tenants-normal.slice/tenant-pinned.scope";
        const char *pref = "tenants.slice/tenants-normal.slice/tenant-pref.scope";
        char cpus0[64], cpus1[64], *out = NULL;
        pid_t a, b;

        setup_root("numa-pin");
        snprintf(cpus0, sizeof(cpus0), "%s", sys_read("/sys/devices/system/node/node0/cpulist"));
        snprintf(cpus1, sizeof(cpus1), "%s", sys_read("/sys/devices/system/node/node1/cpulist"));
        cr_assert(cpus0[0] && cpus1[0] && strcmp(cpus0, cpus1) != 0, "the guest needs CPUs on both nodes");

        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-pin")), 0, "%s", out);
        free(out);

        /* strict, nodes = 1: node 1's CPUs and memory only */
        cr_assert_str_eq(tb_cg_read(root, pinned, "cpuset.cpus"), cpus1);
        cr_assert_str_eq(tb_cg_read(root, pinned, "cpuset.mems"), "1");
        cr_assert_str_eq(tb_cg_read(root, pinned, "cpuset.cpus.effective"), cpus1);
        cr_assert_str_eq(tb_cg_read(root, pinned, "cpuset.mems.effective"), "1");
        /* preferred, nodes = 0: CPUs pinned, memory not bound (v2 has no preferred policy) */
        cr_assert_str_eq(tb_cg_read(root, pref, "cpuset.cpus"), cpus0);
        cr_assert_str_eq(tb_cg_read(root, pref, "cpuset.mems"), "");
        cr_assert_str_eq(tb_cg_read(root, pref, "cpuset.mems.effective"), "0-1");

        /* and what a process inside is allowed */
        a = tb_spawn_in(root, pinned, "sleep", "600");
        b = tb_spawn_in(root, pref, "sleep", "600");
        cr_assert_gt(a, 0);
        cr_assert_gt(b, 0);
        cr_assert_str_eq(proc_status(a, "Cpus_allowed_list"), cpus1);
        cr_assert_str_eq(proc_status(a, "Mems_allowed_list"), "1");
        cr_assert_str_eq(proc_status(b, "Cpus_allowed_list"), cpus0);
        cr_assert_str_eq(proc_status(b, "Mems_allowed_list"), "0-1");
        kill(a, SIGKILL);
        kill(b, SIGKILL);
        tb_reap(a);
        tb_reap(b);
}

/* ---- migration: a new cpuset.mems moves the tenant's pages ------------------------------ */

Test(numa, migration_on_reassign, .timeout = 240, .fini = cleanup_root) {
        const char *mover = "tenants.slice/tenants-high.slice/tenant-mover.scope";
        uint64_t n0, n1, before, t0, took, applied;
        char *out = NULL;
        pid_t pid;

        setup_root("numa-move");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-move-0")), 0, "%s",
                     out);
        free(out);
        cr_assert_str_eq(tb_cg_read(root, mover, "cpuset.mems"), "0");

        pid = tb_spawn_in(root, mover, tb_bin("memhog"), "64");
        cr_assert_gt(pid, 0);
        cr_assert_eq(tb_wait_current(root, mover, 64 * MiB, 60), 0, "memhog never got its 64M");
        n0 = numa_stat(mover, "anon", 0);
        n1 = numa_stat(mover, "anon", 1);
        cr_assert_geq(n0, 63 * MiB, "anon on node 0 is %" PRIu64 ", not ~64M", n0);
        cr_assert_lt(n1, 2 * MiB, "anon on node 1 is %" PRIu64 " while bound to node 0", n1);
        before = n0;

        /* the same tenant, now on node 1 */
        t0 = now_ms();
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-move-1")), 0, "%s",
                     out);
        free(out);
        applied = now_ms() - t0;
        cr_assert_str_eq(tb_cg_read(root, mover, "cpuset.mems"), "1");
        cr_assert_str_eq(proc_status(pid, "Mems_allowed_list"), "1");
        for (int i = 0; i < 300 && numa_stat(mover, "anon", 1) < before / 10 * 9; i++)
                usleep(100000);
        took = now_ms() - t0;
        n0 = numa_stat(mover, "anon", 0);
        n1 = numa_stat(mover, "anon", 1);
        cr_log_info("numa: apply took %" PRIu64 " ms; 90%% of 64M anon on node 1 after %" PRIu64 " ms (N0=%" PRIu64
                    " N1=%" PRIu64 ")",
                    applied, took, n0, n1);
        cr_assert_geq(n1, before / 10 * 9, "only %" PRIu64 " of %" PRIu64 " bytes moved to node 1", n1, before);
        cr_assert_lt(n0, before / 10, "%" PRIu64 " bytes stayed on node 0", n0);
        kill(pid, SIGKILL);
        cr_assert_eq(tb_reap(pid), SIGKILL, "memhog must have lived through the move");
}

/* ---- pools: reserved exactly, returned, refused when short ---------------------------------- */

Test(numa, pool_reserved_and_returned, .timeout = 240, .fini = restore_pools) {
        const char *pool = "tenants.slice/tenants-normal.slice/tenant-pool.scope";
        char *out = NULL, want[256];
        uint64_t nr0, nr1;

        setup_root("numa-pool");
        save_pools();
        nr0 = boot_nr[0];
        nr1 = boot_nr[1];
        cr_assert_eq(huge(0, "free_hugepages"), nr0, "nobody may use node 0's pages for this test");
        cr_assert_lt(nr0, 40, "node 0 must start with fewer than the 40 pages the tenant needs");

        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-pool")), 0, "%s", out);
        /* the report equals sysfs: 40 exactly, the host's pages included, not on top */
        snprintf(want, sizeof(want), "node 0: 2M pages: %" PRIu64 " -> 40 (added %" PRIu64 "; tenants need 40)",
                 nr0, 40 - nr0);
        cr_assert(strstr(out, want), "want '%s' in: %s", want, out);
        free(out);
        cr_assert_eq(huge(0, "nr_hugepages"), 40);
        cr_assert_eq(huge(0, "free_hugepages"), 40);
        cr_assert_eq(huge(1, "nr_hugepages"), nr1, "node 1 is not touched");
        cr_assert_eq(tb_cg_u64(root, pool, "hugetlb.2MB.max"), 40 * PAGE_2M);
        cr_assert_eq(tb_cg_u64(root, pool, "hugetlb.2MB.rsvd.max"), 40 * PAGE_2M);
        cr_assert_eq(tb_cg_u64(root, "tenants.slice", "hugetlb.2MB.max"), 40 * PAGE_2M);
        /* what tenantd added, and only that, is recorded as its own */
        snprintf(want, sizeof(want), "0 2097152 %" PRIu64 "\n", 40 - nr0);
        cr_assert_str_eq(state_entries(), want);

        /* idempotent: no pool line, nothing written */
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-pool")), 0, "%s", out);
        cr_assert_null(strstr(out, "2M pages"), "%s", out);
        free(out);
        cr_assert_eq(huge(0, "nr_hugepages"), 40);

        /* the tenant is gone: tenantd returns what it added, and only that */
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-empty")), 0, "%s",
                     out);
        snprintf(want, sizeof(want), "node 0: 2M pages: 40 -> %" PRIu64 " (returned %" PRIu64 "; tenants need 0)",
                 nr0, 40 - nr0);
        cr_assert(strstr(out, want), "want '%s' in: %s", want, out);
        free(out);
        cr_assert_eq(huge(0, "nr_hugepages"), nr0, "the host's own pages stay");
        cr_assert_eq(huge(1, "nr_hugepages"), nr1);
        cr_assert(!tb_cg_exists(root, pool));
        cr_assert_str_eq(state_entries(), "", "nothing of tenantd's left in the pools");
}

Test(numa, pool_short_refuses_and_restores, .timeout = 240, .fini = restore_pools) {
        char *out = NULL, want[256], state_before[1024];
        const char *l;
        unsigned wanted = 0, got = 0, missing = 0, free_ = 0;
        uint64_t t0;
        int st;

        setup_root("numa-short");
        save_pools();
        cr_assert_eq(huge(0, "free_hugepages"), boot_nr[0], "nobody may use node 0's pages for this test");
        snprintf(state_before, sizeof(state_before), "%s", state_entries());

        t0 = now_ms();
        st = tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-pool-short"));
        cr_log_info("numa: short pool refused after %" PRIu64 " ms", now_ms() - t0);
        cr_assert_eq(st, 1, "exit %d: %s", st, out);

        /* exact numbers: what the kernel assembled, what is missing */
        l = strstr(out, "tenantctl: node 0: 2M pages: wanted ");
        cr_assert_not_null(l, "%s", out);
        cr_assert_eq(sscanf(l, "tenantctl: node 0: 2M pages: wanted %u, got %u (%u short)\n", &wanted, &got,
                            &missing),
                     3, "%s", out);
        cr_assert_eq(wanted, 220);
        cr_assert_lt(got, 220, "a 512M node cannot hold 220 x 2M");
        cr_assert_gt(got, boot_nr[0], "the kernel assembles some pages");
        cr_assert_eq(got + missing, 220);
        cr_log_info("numa: node 0 (512M) assembled %u of 220 2M pages", got);

        l = strstr(out, "tenantctl: tenant 'big' refused: ");
        cr_assert_not_null(l, "%s", out);
        cr_assert_eq(sscanf(l, "tenantctl: tenant 'big' refused: needs 220 x 2M on node 0, pool has %u free\n", &free_),
                     1, "%s", out);
        cr_assert_eq(free_, got);

        snprintf(want, sizeof(want), "tenantctl: node 0: 2M pages: %u -> %" PRIu64 " (restored)\n", got, boot_nr[0]);
        cr_assert(strstr(out, want), "want '%s' in: %s", want, out);
        cr_assert(strstr(out, "tenantctl: hugepage pools restored; nothing applied\n"), "%s", out);
        free(out);

        /* nothing applied, pools and state as before */
        cr_assert(!tb_cg_exists(root, "tenants.slice"), "the refused apply created cgroups");
        cr_assert_eq(huge(0, "nr_hugepages"), boot_nr[0]);
        cr_assert_eq(huge(1, "nr_hugepages"), boot_nr[1]);
        cr_assert_str_eq(state_entries(), state_before, "tenantd's record of its pages changed");
}

/* ---- PITFALLS 5: rsvd.max makes an over-quota mmap fail, never SIGBUS ------------------------ */

Test(numa, rsvd_limit_enomem_not_sigbus, .timeout = 120, .fini = restore_pools) {
        const char *t = "tenants.slice/tenants-normal.slice/tenant-rsvd.scope";
        uint64_t free1;
        char *out = NULL;
        pid_t pid;

        setup_root("numa-rsvd");
        save_pools();
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-rsvd")), 0, "%s", out);
        free(out);
        cr_assert_eq(tb_cg_u64(root, t, "hugetlb.2MB.max"), 4 * PAGE_2M);
        cr_assert_eq(tb_cg_u64(root, t, "hugetlb.2MB.rsvd.max"), 4 * PAGE_2M);
        free1 = huge(1, "free_hugepages");
        cr_assert_geq(free1, 8, "node 1 needs free pages for this test");

        /* 8 pages over a quota of 4: the mmap itself fails with ENOMEM */
        pid = tb_spawn_in(root, t, tb_bin("hugemmap"), "8");
        cr_assert_gt(pid, 0);
        cr_assert_eq(wait_exit(pid), 2, "hugemmap 8 must fail its mmap with ENOMEM (2), not die of SIGBUS (%d)",
                     128 + SIGBUS);
        cr_assert_eq(tb_cg_u64(root, t, "hugetlb.2MB.rsvd.current"), 0);
        cr_assert_eq(tb_cg_u64(root, t, "hugetlb.2MB.current"), 0);

        /* 4 pages: mapped and touched, charged to the tenant, taken from node 1 */
        pid = tb_spawn_in(root, t, tb_bin("hugemmap"), "4", "--hold");
        cr_assert_gt(pid, 0);
        cr_assert(wait_u64(t, "hugetlb.2MB.current", 4 * PAGE_2M, 60), "hugetlb.2MB.current = %s",
                  tb_cg_read(root, t, "hugetlb.2MB.current"));
        cr_assert_eq(tb_cg_u64(root, t, "hugetlb.2MB.rsvd.current"), 4 * PAGE_2M);
        cr_assert_eq(huge(1, "free_hugepages"), free1 - 4, "the pages come from node 1");
        kill(pid, SIGTERM);
        cr_assert_eq(wait_exit(pid), 0, "hugemmap 4 must map, touch and exit cleanly");

        /* the contrast that makes this test able to fail: without rsvd.max the same
         * mmap succeeds and the process dies of SIGBUS when it touches page 5 (the
         * slices above carry the sums, so they get "max" too) */
        tb_cg_write(root, t, "hugetlb.2MB.rsvd.max", "max");
        tb_cg_write(root, "tenants.slice/tenants-normal.slice", "hugetlb.2MB.rsvd.max", "max");
        tb_cg_write(root, "tenants.slice", "hugetlb.2MB.rsvd.max", "max");
        pid = tb_spawn_in(root, t, tb_bin("hugemmap"), "8");
        cr_assert_gt(pid, 0);
        cr_assert_eq(wait_exit(pid), 128 + SIGBUS, "without rsvd.max: SIGBUS expected");
        /* and the next apply puts rsvd.max back */
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-rsvd")), 0, "%s", out);
        free(out);
        cr_assert_eq(tb_cg_u64(root, t, "hugetlb.2MB.rsvd.max"), 4 * PAGE_2M);
}

/* ---- a VM with its guest RAM in hugepages of its node ------------------------------------------ */

Test(numa, vm_hugepages_on_its_node, .timeout = 300, .fini = restore_pools) {
        const char *vm = "tenants.slice/tenants-high.slice/tenant-vm.service";   /* launched: a service */
        uint64_t free0, free1, nr1, t0;
        char *out = NULL, path[64], line[1024];
        pid_t pid = 0;
        bool found = false;
        FILE *f;

        setup_root("numa-vm");
        save_pools();
        cr_assert(strstr(sys_read("/proc/mounts"), "hugetlbfs /dev/hugepages hugetlbfs"),
                  "the guest must mount hugetlbfs at /dev/hugepages");
        free0 = huge(0, "free_hugepages");
        free1 = huge(1, "free_hugepages");

        /* tenantctl starts the VM (launch.h): QEMU with a memory-backend-file on
         * hugetlbfs, host-nodes = the tenant's node, policy=bind, prealloc */
        t0 = now_ms();
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-vm")), 0, "%s", out);
        free(out);
        cr_assert_str_eq(tb_cg_read(root, vm, "cpuset.mems"), "1");
        cr_assert_eq(tb_cg_u64(root, vm, "hugetlb.2MB.max"), 32 * PAGE_2M);
        /* Should this tenantctl not launch VMs, start the same QEMU the way the launcher does. */
        usleep(500000);
        if (tb_cg_read(root, vm, "cgroup.procs")[0] == '\0') {
                char *backend = strdup_printf("memory-backend-file,id=ram0,size=64M,mem-path=/dev/hugepages,"
                                              "host-nodes=1,policy=bind,prealloc=on,share=on");

                cr_log_info("numa: tenantctl started no VM; starting QEMU in the leaf");
                pid = tb_spawn_in(root, vm, "qemu-system-x86_64", "-S", "-nodefaults", "-display", "none", "-accel",
                                  "tcg", "-m", "64M", "-object", backend, "-machine", "memory-backend=ram0");
                free(backend);
                cr_assert_gt(pid, 0);
        }

        cr_assert(wait_u64(vm, "hugetlb.2MB.current", 64 * MiB, 240), "the VM's 64M never showed in hugetlb: %s",
                  tb_cg_read(root, vm, "hugetlb.2MB.current"));
        cr_log_info("numa: VM guest RAM (32 x 2M) allocated %" PRIu64 " ms after the apply", now_ms() - t0);
        cr_assert_eq(huge(1, "free_hugepages"), free1 - 32, "the 32 pages come from node 1");
        cr_assert_eq(huge(0, "free_hugepages"), free0, "node 0's pool is not touched");
        cr_assert_eq(tb_cg_u64(root, vm, "hugetlb.2MB.current"), 64 * MiB);

        /* a second apply must see the VM's pages as a tenant's (hugetlb numa_stat of
         * tenants.slice), not as pages others use: the pool is not grown again */
        nr1 = huge(1, "nr_hugepages");
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("numa-vm")), 0, "%s", out);
        cr_assert_null(strstr(out, "2M pages"), "%s", out);
        free(out);
        cr_assert_eq(huge(1, "nr_hugepages"), nr1);

        /* and QEMU's own view: its hugepage mapping lives on node 1 */
        if (pid == 0)
                pid = (pid_t) strtol(tb_cg_read(root, vm, "cgroup.procs"), NULL, 10);
        snprintf(path, sizeof(path), "/proc/%d/numa_maps", (int) pid);
        f = fopen(path, "re");
        cr_assert_not_null(f, "%s", path);
        while (fgets(line, sizeof(line), f))
                if (strstr(line, " huge ") && strstr(line, "kernelpagesize_kB=2048")) {
                        cr_assert(strstr(line, " N1=32 "), "QEMU's hugepages are not all on node 1: %s", line);
                        cr_assert_null(strstr(line, " N0="), "%s", line);
                        cr_assert(strstr(line, "bind:1"), "the mapping is not bound to node 1: %s", line);
                        found = true;
                }
        fclose(f);
        cr_assert(found, "no hugepage mapping in %s", path);
}
