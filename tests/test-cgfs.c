/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <sys/stat.h>

#include "cgfs.h"
#include "fake-cgroupfs.h"

static FakeCg fake;
static Cgfs *cg;

static void setup(void) {
        CgfsHooks h;

        fake_cg_setup(&fake);
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);
        cr_assert(!cgfs_is_kernel(cg));
}

static void teardown(void) {
        cg = cgfs_free(cg);
        fake_cg_teardown(&fake);
}

TestSuite(cgfs, .init = setup, .fini = teardown);

Test(cgfs, path_validation) {
        cr_assert(cgfs_path_is_valid(""));
        cr_assert(cgfs_path_is_valid("tenants.slice/tenants-low.slice"));
        cr_assert(!cgfs_path_is_valid("../etc"));
        cr_assert(!cgfs_path_is_valid("tenants.slice/../.."));
        cr_assert(!cgfs_path_is_valid("/sys/fs/cgroup"));
        cr_assert(!cgfs_path_is_valid("a//b"));
        cr_assert(!cgfs_path_is_valid("a/"));
        cr_assert(!cgfs_path_is_valid("a/.hidden"));
        cr_assert(!cgfs_path_is_valid("a\nb"));
        /* refused before any syscall, with EINVAL */
        cr_assert_eq(cgfs_create(cg, "../escape", NULL), -EINVAL);
        cr_assert_eq(cgfs_write(cg, "", "../memory.max", "1"), -EINVAL);
}

Test(cgfs, open_missing_root) {
        Cgfs *c = NULL;
        cr_assert_eq(cgfs_open("/nonexistent/tenantd-root", NULL, &c), -ENOENT);
        cr_assert_eq(cgfs_open("relative/root", NULL, &c), -EINVAL);
}

Test(cgfs, create_set_counts_only_changes) {
        bool created = false;
        char *old = NULL;

        cr_assert_eq(cgfs_create(cg, "a.slice", &created), 0);
        cr_assert(created);
        cr_assert_eq(cgfs_create(cg, "a.slice", &created), 0);
        cr_assert(!created);
        cr_assert_str_eq(fake_cg_read(&fake, "a.slice", "memory.max"), "max");

        cr_assert_eq(cgfs_set(cg, "a.slice", "memory.max", "1048576", &old), 1);
        cr_assert_str_eq(old, "max");
        free(old);
        cr_assert_str_eq(fake_cg_read(&fake, "a.slice", "memory.max"), "1048576");
        cr_assert_eq(cgfs_writes(cg), 1);
        cr_assert_eq(cgfs_set(cg, "a.slice", "memory.max", "1048576", NULL), 0);
        cr_assert_eq(cgfs_writes(cg), 1);
}

Test(cgfs, enable_controllers_top_down) {
        cr_assert_eq(cgfs_create(cg, "a.slice", NULL), 0);
        cr_assert_eq(cgfs_create(cg, "a.slice/b.slice", NULL), 0);
        cr_assert_eq(cgfs_enable_controllers(cg, "a.slice/b.slice", "memory cpu"), 3);
        cr_assert_str_eq(fake_cg_read(&fake, "", "cgroup.subtree_control"), "cpu memory");
        cr_assert_str_eq(fake_cg_read(&fake, "a.slice", "cgroup.subtree_control"), "cpu memory");
        cr_assert_str_eq(fake_cg_read(&fake, "a.slice/b.slice", "cgroup.subtree_control"), "cpu memory");
        /* already enabled everywhere: no writes */
        cr_assert_eq(cgfs_enable_controllers(cg, "a.slice/b.slice", "memory cpu"), 0);
}

Test(cgfs, enable_refused_when_interior_has_processes) {
        unsigned w;

        cr_assert_eq(cgfs_create(cg, "a.slice", NULL), 0);
        cr_assert_eq(cgfs_create(cg, "a.slice/b.slice", NULL), 0);
        fake_cg_write(&fake, "a.slice", "cgroup.procs", "4242\n");
        w = cgfs_writes(cg);
        cr_assert_eq(cgfs_enable_controllers(cg, "a.slice/b.slice", "memory"), -EBUSY);
        cr_assert_eq(cgfs_writes(cg), w, "nothing may be written before the refusal");
        cr_assert_str_eq(fake_cg_read(&fake, "", "cgroup.subtree_control"), "");
}

Test(cgfs, attach_refuses_interior) {
        cr_assert_eq(cgfs_create(cg, "a.slice", NULL), 0);
        cr_assert_eq(cgfs_create(cg, "a.slice/leaf", NULL), 0);
        cr_assert_eq(cgfs_attach(cg, "a.slice", getpid()), -EISDIR);
        cr_assert_eq(cgfs_attach(cg, "a.slice/leaf", getpid()), 0);
}

Test(cgfs, has_controllers_reports_missing) {
        char *missing = NULL;

        cr_assert_eq(cgfs_has_controllers(cg, "", "memory cpu", NULL), 1);
        cr_assert_eq(cgfs_has_controllers(cg, "", "memory rdma misc", &missing), 0);
        cr_assert_str_eq(missing, "rdma misc");
        free(missing);
}

Test(cgfs, children_sorted_and_remove) {
        char **kids = NULL;

        cgfs_create(cg, "b", NULL);
        cgfs_create(cg, "a", NULL);
        cr_assert_eq(cgfs_children(cg, "", &kids), 0);
        cr_assert_str_eq(kids[0], "a");
        cr_assert_str_eq(kids[1], "b");
        cr_assert_null(kids[2]);
        strv_free(kids);
        cr_assert_eq(cgfs_remove(cg, "a"), 0);
        cr_assert(!cgfs_exists(cg, "a"));
}

Test(cgfs, write_fault_is_the_error) {
        cgfs_create(cg, "a", NULL);
        fake.fail_attr = "memory.max";
        fake.fail_errno = EBUSY;
        cr_assert_eq(cgfs_write(cg, "a", "memory.max", "1"), -EBUSY);
        cr_assert_str_eq(fake_cg_read(&fake, "a", "memory.max"), "max");
}

Test(cgfs, create_refuses_a_file_with_the_name) {
        bool created = true;

        cr_assert_eq(cgfs_create(cg, "a.slice", &created), 0);
        cr_assert(created);
        /* an attribute file is not a cgroup that exists already */
        cr_assert_eq(cgfs_create(cg, "a.slice/memory.max", &created), -ENOTDIR);
        /* nor is a missing parent created on the way */
        cr_assert_eq(cgfs_create(cg, "b.slice/leaf", &created), -ENOENT);
        cr_assert(!cgfs_exists(cg, "b.slice"));
}

Test(cgfs, write_to_a_missing_cgroup_fails_uncounted) {
        cr_assert_eq(cgfs_write(cg, "gone.slice", "memory.max", "1"), -ENOENT);
        cr_assert_eq(cgfs_set(cg, "gone.slice", "memory.max", "1", NULL), -ENOENT);
        cr_assert_eq(cgfs_writes(cg), 0);
        cr_assert(!cgfs_exists(cg, "gone.slice"));
}
