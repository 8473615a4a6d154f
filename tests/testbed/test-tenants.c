/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real tenants under the cgroupfs backend, in the testbed guest: a QEMU VM
 * that tenantd launches from its [vm] section, a crun container whose root is
 * the host's (read-only), and plain processes adopted by PID. Each must sit in
 * its own leaf with the policy's limits in force, and go away cleanly.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include "testbed-util.h"

#define MiB (UINT64_C(1) << 20)

static const char *const vm = "tenants.slice/tenants-besteffort.slice/tenant-vm\\x2d1.service";
static const char *const web = "tenants.slice/tenants-normal.slice/tenant-web\\x2d1.service";
static const char *const batch = "tenants.slice/tenants-low.slice/tenant-batch\\x2djob.scope";

/* First PID in the cgroup whose /proc/PID/comm starts with prefix, waiting up to seconds. */
static pid_t wait_comm(const char *root, const char *path, const char *prefix, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 10; i++) {
                char procs[4096];
                snprintf(procs, sizeof(procs), "%s", tb_cg_read(root, path, "cgroup.procs"));
                for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        char p[64], comm[64] = "";
                        snprintf(p, sizeof(p), "/proc/%s/comm", l);
                        FILE *f = fopen(p, "re");
                        if (!f)
                                continue;
                        if (fgets(comm, sizeof(comm), f) && strncmp(comm, prefix, strlen(prefix)) == 0) {
                                fclose(f);
                                return (pid_t) atoi(l);
                        }
                        fclose(f);
                }
                usleep(100000);
        }
        return -1;
}

/* /proc/PID/cgroup of a cgroup2-only system: "0::/path" */
static const char *proc_cgroup(pid_t pid) {
        static char buf[512];
        char p[64];
        FILE *f;

        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        buf[0] = '\0';
        f = fopen(p, "re");
        if (f) {
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = '\0';
                fclose(f);
        }
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

static void setup(const char *name, char *root, size_t size) {
        char cmd[1024];

        tb_require_guest();
        snprintf(root, size, "/sys/fs/cgroup/tb-%s", name);
        tb_cgroup_reset(root);
        snprintf(cmd, sizeof(cmd), "%s/tests/testbed/oci-bundle /run/tenantd/bundles/web-1 web-1 /bin/sleep 3600",
                 SOURCE_ROOT);
        cr_assert_eq(system(cmd), 0, "cannot make the OCI bundle");
}

Test(tenants, vm_container_and_adopted_each_in_own_leaf, .timeout = 300) {
        char root[256], want[512], *out = NULL;
        pid_t qemu, sleeper, container, adopted;

        setup("tenants", root, sizeof(root));
        cr_assert_eq(tb_tenantctl(&out, "--root %s apply --direct %s", root, tb_policies("tenants")), 0, "%s", out);
        cr_assert(strstr(out, ", 2 started") != NULL, "VM and container must be started: %s", out);
        free(out);

        /* the VM: QEMU in its leaf, with its QMP socket */
        qemu = wait_comm(root, vm, "qemu-system", 60);
        cr_assert_gt(qemu, 0, "no QEMU process in %s", vm);
        snprintf(want, sizeof(want), "0::/tb-tenants/%s", vm);
        cr_assert_str_eq(proc_cgroup(qemu), want);
        struct stat st;
        for (int i = 0; i < 100 && stat("/run/tenantd/qmp/vm-1.sock", &st) < 0; i++)
                usleep(100000);
        cr_assert(stat("/run/tenantd/qmp/vm-1.sock", &st) == 0 && S_ISSOCK(st.st_mode), "no QMP socket");
        /* 64M guest + overhead: 64M/512 + 128M fixed + 1 x 8M, no video */
        cr_assert_eq(tb_cg_u64(root, vm, "memory.max"), 64 * MiB + 128 * 1024 + 128 * MiB + 8 * MiB);

        /* the container: crun's sleep, in the leaf, in its own pid namespace */
        container = wait_comm(root, web, "sleep", 60);
        cr_assert_gt(container, 0, "no container process in %s", web);
        snprintf(want, sizeof(want), "0::/tb-tenants/%s", web);
        cr_assert_str_eq(proc_cgroup(container), want);
        cr_assert_str_eq(tb_cg_read(root, web, "memory.max"), "67108864");
        cr_assert_str_eq(tb_cg_read(root, web, "memory.low"), "16777216");
        char self_ns[64] = "", its_ns[64] = "", p[64];
        snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int) container);
        cr_assert_gt(readlink("/proc/self/ns/pid", self_ns, sizeof(self_ns) - 1), 0);
        cr_assert_gt(readlink(p, its_ns, sizeof(its_ns) - 1), 0);
        cr_assert_str_neq(self_ns, its_ns, "the container must have its own pid namespace");

        /* adopted: a process started elsewhere, moved by PID */
        sleeper = tb_spawn_in("/sys/fs/cgroup", "", "sleep", "600"); /* the root may hold processes */
        cr_assert_gt(sleeper, 0);
        cr_assert_eq(tb_tenantctl(&out, "--root %s adopt --direct --policies %s batch-job %d", root,
                                  tb_policies("tenants"), (int) sleeper),
                     0, "%s", out);
        free(out);
        snprintf(want, sizeof(want), "0::/tb-tenants/%s", batch);
        cr_assert_str_eq(proc_cgroup(sleeper), want);

        /* every file tenantd manages, on every cgroup, as planned: the limits are in force */
        unsigned checked = 0, missing = 0;
        cr_assert_eq(tb_check_plan_files(root, tb_policies("tenants"), &checked, &missing), 0,
                     "a kernel file differs from the plan (see stderr)");
        cr_assert_eq(missing, 0, "every tenant and slice has its cgroup");
        cr_assert_geq(checked, 40, "only %u files compared", checked);
        /* by hand: the adopted tenant (low: high = limit, no protection) */
        cr_assert_eq(tb_cg_u64(root, batch, "memory.max"), 128 * MiB);
        cr_assert_eq(tb_cg_u64(root, batch, "memory.high"), 128 * MiB);
        cr_assert_eq(tb_cg_u64(root, batch, "memory.min"), 0);
        cr_assert_eq(tb_cg_u64(root, vm, "memory.high"), tb_cg_u64(root, vm, "memory.max"));

        /* every tenant process sits in a leaf: no process in any slice */
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice", "cgroup.procs"), "");
        cr_assert_str_eq(tb_cg_read(root, "tenants.slice/tenants-low.slice", "cgroup.procs"), "");

        /* a second apply starts nothing again and writes nothing */
        cr_assert_eq(tb_tenantctl(&out, "--root %s --json apply --direct %s", root, tb_policies("tenants")), 0, "%s",
                     out);
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":0,\"removed\":0,\"started\":0}\n");
        free(out);
        adopted = sleeper;

        /* clean removal: with no tenants left, every process is killed and every leaf removed */
        cr_assert_eq(tb_tenantctl(&out, "--root %s --json apply --direct %s", root, tb_policies("empty")), 0, "%s",
                     out);
        /* 5 writes: the sums of memory.low on two slices drop to 0, and three cgroup.kill */
        cr_assert_str_eq(out, "{\"created\":0,\"writes\":5,\"removed\":3,\"started\":0}\n");
        free(out);
        cr_assert(!tb_cg_exists(root, vm));
        cr_assert(!tb_cg_exists(root, web));
        cr_assert(!tb_cg_exists(root, batch));
        cr_assert_eq(tb_reap(adopted), SIGKILL);
        cr_assert_eq(kill(qemu, 0), -1, "QEMU must be gone");
        cr_assert_eq(kill(container, 0), -1, "the container must be gone");
}

Test(tenants, adopt_errors) {
        char root[256], *out = NULL;

        setup("adopt", root, sizeof(root));
        cr_assert_eq(tb_tenantctl(&out, "--root %s adopt --direct --policies %s batch-job 12x", root,
                                  tb_policies("tenants")),
                     2);
        cr_assert_str_eq(out, "tenantctl adopt: not a PID: '12x'\n");
        free(out);
        cr_assert_eq(tb_tenantctl(&out, "--root %s adopt --direct --policies %s nobody 1", root,
                                  tb_policies("tenants")),
                     2);
        cr_assert(strstr(out, "tenantctl adopt: no tenant 'nobody' in ") != NULL, "%s", out);
        free(out);
        cr_assert_eq(tb_tenantctl(&out, "--root %s adopt --direct --policies %s batch-job 1", root,
                                  tb_policies("tenants")),
                     1);
        cr_assert(strstr(out, "is not applied yet") != NULL, "%s", out);
        free(out);
}
