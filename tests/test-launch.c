/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <sys/wait.h>

#include "fake-cgroupfs.h"
#include "launch.h"

static char *join(char **v) {
        static char buf[1024];
        size_t off = 0;

        buf[0] = '\0';
        for (; *v; v++)
                off += (size_t) snprintf(buf + off, sizeof(buf) - off, "%s[%s]", off ? " " : "", *v);
        return buf;
}

Test(launch, split_plain_and_quoted) {
        char **v = NULL;

        cr_assert_eq(exec_split("  /usr/bin/crun run --bundle /b web-01 ", &v), 0);
        cr_assert_str_eq(join(v), "[/usr/bin/crun] [run] [--bundle] [/b] [web-01]");
        strv_free(v);
        cr_assert_eq(exec_split("sh -c 'a ; b' \"x \\\"y\\\"\" z\\ w", &v), 0);
        cr_assert_str_eq(join(v), "[sh] [-c] [a ; b] [x \"y\"] [z w]");
        strv_free(v);
        cr_assert_eq(exec_split("a''b \"\"", &v), 0);
        cr_assert_str_eq(join(v), "[ab] []");
        strv_free(v);
}

Test(launch, split_errors) {
        char **v = NULL;

        cr_assert_eq(exec_split("sh -c 'unterminated", &v), -EINVAL);
        cr_assert_eq(exec_split("echo \"open", &v), -EINVAL);
        cr_assert_eq(exec_split("trailing\\", &v), -EINVAL);
        cr_assert_eq(exec_split("   ", &v), -EINVAL);
}

Test(launch, vm_command_line) {
        TenantPolicy t = { .id = "dev-vm", .kind = TENANT_VM, .vm_memory = 128u << 20, .vm_vcpus = 2,
                           .vm_qmp = "/run/tenantd/qmp/dev-vm.sock", .vm_balloon = true };
        PlanNode n = { .huge_node = -1 };
        char **v = NULL;

        cr_assert_eq(tenant_argv(&t, &n, &v), 0);
        cr_assert_str_eq(join(v), "[qemu-system-x86_64] [-name] [guest=dev-vm] [-no-user-config] [-nodefaults] "
                                  "[-display] [none] [-accel] [kvm] [-accel] [tcg] [-m] [128M] [-smp] [2] [-qmp] "
                                  "[unix:/run/tenantd/qmp/dev-vm.sock,server=on,wait=off] [-device] "
                                  "[virtio-balloon-pci,id=balloon0]");
        strv_free(v);
}

Test(launch, vm_direct_kernel_boot) {
        TenantPolicy t = { .id = "dev-vm", .kind = TENANT_VM, .vm_memory = 128u << 20, .vm_vcpus = 1,
                           .vm_qmp = "/q.sock", .vm_kernel = "/boot/vmlinuz", .vm_initrd = "/srv/initrd.img",
                           .vm_append = "console=ttyS0 quiet" };
        PlanNode n = { .huge_node = -1 };
        char **v = NULL;

        cr_assert_eq(tenant_argv(&t, &n, &v), 0);
        cr_assert(strstr(join(v), "[-kernel] [/boot/vmlinuz] [-initrd] [/srv/initrd.img] [-append] [console=ttyS0 quiet]"),
                  "%s", join(v));
        strv_free(v);
}

Test(launch, vm_on_hugepages_is_bound_to_its_node) {
        TenantPolicy t = { .id = "db", .kind = TENANT_VM, .vm_memory = 192u << 20, .vm_vcpus = 1,
                           .vm_qmp = "/run/q/db.sock", .huge_size = 2u << 20, .huge_count = 96 };
        PlanNode n = { .huge_node = 1 };
        char **v = NULL;

        cr_assert_eq(tenant_argv(&t, &n, &v), 0);
        cr_assert(strstr(join(v), "[-object] [memory-backend-file,id=ram0,size=192M,mem-path=/dev/hugepages,"
                                  "prealloc=on,share=on,host-nodes=1,policy=bind] [-machine] [memory-backend=ram0]"),
                  "%s", join(v));
        cr_assert(!strstr(join(v), "balloon"));
        strv_free(v);
}

Test(launch, exec_wins_and_adopted_have_nothing) {
        TenantPolicy t = { .id = "x", .kind = TENANT_VM, .exec = "/bin/true", .vm_memory = 1u << 20 };
        TenantPolicy u = { .id = "y", .kind = TENANT_CONTAINER };
        PlanNode n = { .huge_node = -1 };
        char **v = NULL;

        cr_assert_eq(tenant_argv(&t, &n, &v), 0);
        cr_assert_str_eq(join(v), "[/bin/true]");
        strv_free(v);
        cr_assert_eq(tenant_argv(&u, &n, &v), -ENOENT);
}

Test(launch, exec_failure_is_reported) {
        FakeCg fake;
        Cgfs *c = NULL;
        CgfsHooks h;
        char *argv[] = { "/nonexistent/tenant-binary", NULL };
        pid_t pid = 0;

        fake_cg_setup(&fake);
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &c), 0);
        cr_assert_eq(cgfs_create(c, "leaf", NULL), 0);
        cr_assert_eq(launch_in_cgroup(c, "leaf", argv, NULL, &pid), -ENOENT);
        /* the child wrote itself into the leaf before exec (fixture: cgroup.procs holds it) */
        cr_assert_neq(fake_cg_read(&fake, "leaf", "cgroup.procs")[0], '\0');
        cgfs_free(c);
        fake_cg_teardown(&fake);
}

Test(launch, starts_in_leaf) {
        FakeCg fake;
        Cgfs *c = NULL;
        CgfsHooks h;
        char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
        char want[32];
        pid_t pid = 0;

        fake_cg_setup(&fake);
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &c), 0);
        cr_assert_eq(cgfs_create(c, "leaf", NULL), 0);
        cr_assert_eq(launch_in_cgroup(c, "leaf", argv, NULL, &pid), 0);
        cr_assert_gt(pid, 0);
        snprintf(want, sizeof(want), "%d", (int) pid);
        cr_assert_str_eq(fake_cg_read(&fake, "leaf", "cgroup.procs"), want);
        cgfs_free(c);
        fake_cg_teardown(&fake);
}
