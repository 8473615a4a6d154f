/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "util.h"

Test(util, cpulist_roundtrip) {
        CpuSet s;
        char buf[256];

        cr_assert_eq(cpulist_parse("0-3,8,10-11", &s), 0);
        cr_assert_eq(cpuset_count(&s), 7);
        cr_assert(cpuset_has(&s, 8));
        cr_assert(!cpuset_has(&s, 9));
        cr_assert_str_eq(cpulist_format(&s, buf, sizeof(buf)), "0-3,8,10-11");
}

Test(util, cpulist_empty_and_single) {
        CpuSet s;
        char buf[64];

        cr_assert_eq(cpulist_parse("", &s), 0);
        cr_assert(cpuset_is_empty(&s));
        cr_assert_str_eq(cpulist_format(&s, buf, sizeof(buf)), "");
        cr_assert_eq(cpulist_parse("5", &s), 0);
        cr_assert_str_eq(cpulist_format(&s, buf, sizeof(buf)), "5");
}

Test(util, cpulist_errors) {
        CpuSet s;

        cr_assert_eq(cpulist_parse("3-1", &s), -EINVAL);
        cr_assert_eq(cpulist_parse("1,,2", &s), -EINVAL);
        cr_assert_eq(cpulist_parse("a", &s), -EINVAL);
        cr_assert_eq(cpulist_parse("1-", &s), -EINVAL);
        cr_assert_eq(cpulist_parse("1024", &s), -ERANGE);
        cr_assert_eq(cpulist_parse("99999999999999999999999", &s), -ERANGE);
}

Test(util, nodelist) {
        NodeSet n;
        char buf[64];

        cr_assert_eq(nodelist_parse("0,1", &n), 0);
        cr_assert_eq(nodeset_count(&n), 2);
        cr_assert_str_eq(nodelist_format(&n, buf, sizeof(buf)), "0-1");
        cr_assert_eq(nodelist_parse("64", &n), -ERANGE);
}

Test(util, subset_union) {
        CpuSet a, b;

        cpulist_parse("0-1", &a);
        cpulist_parse("0-3", &b);
        cr_assert(cpuset_is_subset(&a, &b));
        cr_assert(!cpuset_is_subset(&b, &a));
        cpulist_parse("100", &a);
        cpuset_union(&b, &a);
        cr_assert_eq(cpuset_count(&b), 5);
}

Test(util, attr_roundtrip) {
        char dir[] = "/tmp/tenantd-util-XXXXXX";
        char *v = NULL;
        int fd;

        cr_assert_not_null(mkdtemp(dir));
        fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        /* no O_CREAT: writing a missing attribute is the kernel's ENOENT */
        cr_assert_eq(write_attr_at(fd, "memory.max", "max"), -ENOENT);
        close(openat(fd, "memory.max", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        cr_assert_eq(write_attr_at(fd, "memory.max", "1048576\n"), 0);
        cr_assert_eq(read_attr_at(fd, "memory.max", &v), 0);
        cr_assert_str_eq(v, "1048576");
        free(v);
        unlinkat(fd, "memory.max", 0);
        close(fd);
        rmdir(dir);
}
