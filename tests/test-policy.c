/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for the policy language (policy.h, policy-load.h): every rule, with the
 * exact error text a user sees, plus the corpus under tests/corpus/ (good files
 * must parse clean, each bad file must print exactly its NAME.expected).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "engine.h"
#include "fake-cgroupfs.h"
#include "policy-load.h"
#include "policy.h"

/* ---- helpers -------------------------------------------------------------- */

static char *errors_text(const PolicyErrors *e) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        cr_assert(f);
        policy_errors_print(e, f);
        fclose(f);
        return buf;
}

/* Parses text as tenant file "t.ini" (default id "t"); returns the printed
 * errors ("" when valid) and leaves the policy in *t when t is not NULL. */
static char *tenant_errors_len(const char *text, size_t len, TenantPolicy *t) {
        PolicyErrors e = { 0 };
        TenantPolicy tmp;
        char *out;
        int r;

        r = tenant_parse(text, len, "t.ini", "t", &tmp, &e);
        out = errors_text(&e);
        /* the return value and the error list must agree */
        cr_assert_eq(r < 0, e.n > 0, "r=%d but %zu errors:\n%s", r, e.n, out);
        policy_errors_clear(&e);
        if (t)
                *t = tmp;
        else
                tenant_policy_done(&tmp);
        return out;
}

static char *tenant_errors(const char *text, TenantPolicy *t) {
        return tenant_errors_len(text, strlen(text), t);
}

#define assert_tenant(text, expected)                                   \
        do {                                                            \
                _cleanup_free_ char *_out = tenant_errors(text, NULL);  \
                cr_assert_str_eq(_out, expected);                       \
        } while (0)

/* A valid tenant, to which a test appends its section. */
#define T_HEAD "[tenant]\nclass = normal\n[memory]\nrequest = 1G\n"

static char *classes_errors(const char *text, PolicyClasses *c) {
        PolicyErrors e = { 0 };
        PolicyClasses tmp;
        char *out;
        int r;

        r = classes_parse(text, strlen(text), "classes.ini", &tmp, &e);
        out = errors_text(&e);
        cr_assert_eq(r < 0, e.n > 0);
        policy_errors_clear(&e);
        if (c)
                *c = tmp;
        else
                policy_classes_done(&tmp);
        return out;
}

#define assert_classes(text, expected)                                  \
        do {                                                            \
                _cleanup_free_ char *_out = classes_errors(text, NULL); \
                cr_assert_str_eq(_out, expected);                       \
        } while (0)

static char *conf_errors(const char *text, HostConfig *c) {
        PolicyErrors e = { 0 };
        HostConfig tmp;
        char *out;
        int r;

        r = host_config_parse(text, strlen(text), "tenantd.conf", &tmp, &e);
        out = errors_text(&e);
        cr_assert_eq(r < 0, e.n > 0);
        policy_errors_clear(&e);
        if (c)
                *c = tmp;
        else
                host_config_done(&tmp);
        return out;
}

#define assert_conf(text, expected)                                     \
        do {                                                            \
                _cleanup_free_ char *_out = conf_errors(text, NULL);    \
                cr_assert_str_eq(_out, expected);                       \
        } while (0)

static char *read_all(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        cr_assert(f, "cannot open %s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t) n + 1);
        cr_assert(buf);
        cr_assert_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
        buf[n] = '\0';
        fclose(f);
        *ret_len = (size_t) n;
        return buf;
}

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        cr_assert(fd >= 0, "cannot create %s", path);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        cr_assert_eq(fchmod(fd, mode), 0);
        close(fd);
}

/* A fresh directory under $TMPDIR; removed by rm_rf at the end of the test. */
static char *make_tmpdir(void) {
        const char *t = getenv("TMPDIR");
        char *dir = strdup_printf("%s/test-policy-XXXXXX", t ? t : "/tmp");

        cr_assert(dir && mkdtemp(dir), "mkdtemp");
        /* a umask of 002 would make the files below group-writable */
        cr_assert_eq(chmod(dir, 0755), 0);
        return dir;
}

static void rm_rf(const char *dir) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
        cr_assert_eq(system(cmd), 0);
}

static char *pjoin(const char *a, const char *b) {
        return strdup_printf("%s/%s", a, b);
}

/* ---- sizes ------------------------------------------------------------------ */

Test(size, parse_good) {
        static const struct {
                const char *s;
                uint64_t bytes;
        } ok[] = {
                { "0", 0 },
                { "512", 512 },
                { "512B", 512 },
                { "4K", 4096 },
                { "4k", 4096 },
                { "4KB", 4096 },
                { "4KiB", 4096 },
                { "1M", UINT64_C(1) << 20 },
                { "1.5G", UINT64_C(3) << 29 },
                { "0.5K", 512 },
                { "2T", UINT64_C(2) << 40 },
                { "1P", UINT64_C(1) << 50 },
                { "7E", UINT64_C(7) << 60 },
                { "max", SIZE_INFINITY },
                { "infinity", SIZE_INFINITY },
        };
        SizeSpec s;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                cr_assert_eq(size_parse(ok[i].s, false, &s), 0, "%s", ok[i].s);
                cr_assert_eq(s.bytes, ok[i].bytes, "%s", ok[i].s);
                cr_assert_eq(s.percent_bp, 0);
        }
        /* rounds down to a whole byte */
        cr_assert_eq(size_parse("1.3K", false, &s), 0);
        cr_assert_eq(s.bytes, 1331);
}

Test(size, parse_percent) {
        SizeSpec s;

        cr_assert_eq(size_parse("25%", true, &s), 0);
        cr_assert_eq(s.percent_bp, 2500);
        cr_assert_eq(s.bytes, 0);
        cr_assert_eq(size_parse("0.5%", true, &s), 0);
        cr_assert_eq(s.percent_bp, 50);
        cr_assert_eq(size_parse("100%", true, &s), 0);
        cr_assert_eq(s.percent_bp, 10000);
        /* 0% is zero bytes, not "a percentage of 0" */
        cr_assert_eq(size_parse("0%", true, &s), 0);
        cr_assert_eq(s.percent_bp, 0);
        cr_assert_eq(s.bytes, 0);
        cr_assert_eq(size_parse("25%", false, &s), -EINVAL);
        cr_assert_eq(size_parse("100.01%", true, &s), -ERANGE);
        cr_assert_eq(size_parse("12.345%", true, &s), -EINVAL);
}

Test(size, parse_bad) {
        static const char *const einval[] = {
                "", "G", "1.5", "1..5G", "1 G", "1X", "1GG", "-1G", "+1G", ".5G", "1.G", "0x10", "1e3",
                "MAX", "1iB",
        };
        static const char *const erange[] = {
                "18446744073709551616", "99999999999999999999999999", "8.001E", "16E", "9223372036854775809",
        };
        SizeSpec s = { .bytes = 42 };

        for (size_t i = 0; i < ELEMENTSOF(einval); i++)
                cr_assert_eq(size_parse(einval[i], true, &s), -EINVAL, "'%s'", einval[i]);
        for (size_t i = 0; i < ELEMENTSOF(erange); i++)
                cr_assert_eq(size_parse(erange[i], true, &s), -ERANGE, "'%s'", erange[i]);
        cr_assert_eq(s.bytes, 42, "untouched on failure");
        cr_assert_eq(size_parse("9223372036854775808", false, &s), 0);
        cr_assert_eq(size_parse("8E", false, &s), 0);
        cr_assert_eq(s.bytes, UINT64_C(1) << 63);
}

Test(size, format_and_resolve) {
        char buf[32];

        cr_assert_str_eq(size_format(UINT64_C(2) << 30, buf, sizeof(buf)), "2G");
        cr_assert_str_eq(size_format(UINT64_C(1536) << 20, buf, sizeof(buf)), "1536M");
        cr_assert_str_eq(size_format(4096, buf, sizeof(buf)), "4K");
        cr_assert_str_eq(size_format(4097, buf, sizeof(buf)), "4097");
        cr_assert_str_eq(size_format(0, buf, sizeof(buf)), "0");
        cr_assert_str_eq(size_format(SIZE_INFINITY, buf, sizeof(buf)), "max");
        cr_assert_str_eq(size_format(SIZE_UNSET, buf, sizeof(buf)), "unset");
        cr_assert_str_eq(size_format(UINT64_C(7) << 60, buf, sizeof(buf)), "7E");

        cr_assert_eq(size_resolve((SizeSpec) { .percent_bp = 2500 }, UINT64_C(8) << 30), UINT64_C(2) << 30);
        /* 10% of 1000000 is 100000, rounded down to 4 KiB pages */
        cr_assert_eq(size_resolve((SizeSpec) { .percent_bp = 1000 }, 1000000), 98304);
        cr_assert_eq(size_resolve((SizeSpec) { .bytes = 12345 }, 1000000), 12345);
}

/* ---- durations and triggers ------------------------------------------------------ */

Test(duration, parse) {
        uint64_t u = 7;

        cr_assert_eq(duration_parse("150ms", &u), 0);
        cr_assert_eq(u, 150000);
        cr_assert_eq(duration_parse("1s", &u), 0);
        cr_assert_eq(u, 1000000);
        cr_assert_eq(duration_parse("2.5s", &u), 0);
        cr_assert_eq(u, 2500000);
        cr_assert_eq(duration_parse("500us", &u), 0);
        cr_assert_eq(u, 500);
        cr_assert_eq(duration_parse("1min", &u), 0);
        cr_assert_eq(u, 60000000);
        cr_assert_eq(duration_parse("1h", &u), 0);
        cr_assert_eq(u, UINT64_C(3600000000));
        cr_assert_eq(duration_parse("0.001ms", &u), 0);
        cr_assert_eq(u, 1);

        u = 7;
        cr_assert_eq(duration_parse("150", &u), -EINVAL, "a unit is required");
        cr_assert_eq(duration_parse("1.5us", &u), -EINVAL, "not a whole microsecond");
        cr_assert_eq(duration_parse("s", &u), -EINVAL);
        cr_assert_eq(duration_parse("1 s", &u), -EINVAL);
        cr_assert_eq(duration_parse("1m", &u), -EINVAL, "m is neither ms nor min");
        cr_assert_eq(duration_parse("-1s", &u), -EINVAL);
        cr_assert_eq(duration_parse("9000h", &u), -ERANGE);
        cr_assert_eq(duration_parse("99999999999999999999999s", &u), -ERANGE);
        cr_assert_eq(u, 7);
}

Test(pressure, trigger) {
        PressureSpec p = PRESSURE_SPEC_UNSET;

        cr_assert_eq(pressure_trigger_parse("some 150ms 1s", &p), 0);
        cr_assert(!p.full);
        cr_assert_eq(p.stall_usec, 150000);
        cr_assert_eq(p.window_usec, 1000000);
        cr_assert_eq(p.recover_bp, UINT32_MAX, "untouched");
        cr_assert_eq(pressure_trigger_parse("  full\t100ms   10s ", &p), 0);
        cr_assert(p.full);
        cr_assert_eq(pressure_trigger_parse("some 500ms 500ms", &p), 0);

        cr_assert_eq(pressure_trigger_parse("some 0ms 1s", &p), -ERANGE);
        cr_assert_eq(pressure_trigger_parse("some 2s 1s", &p), -ERANGE);
        cr_assert_eq(pressure_trigger_parse("some 100ms 400ms", &p), -ERANGE);
        cr_assert_eq(pressure_trigger_parse("some 1s 11s", &p), -ERANGE);
        cr_assert_eq(pressure_trigger_parse("partial 1s 1s", &p), -EINVAL);
        cr_assert_eq(pressure_trigger_parse("some 1s", &p), -EINVAL);
        cr_assert_eq(pressure_trigger_parse("some 150 1000", &p), -EINVAL);
        cr_assert_eq(pressure_trigger_parse("some 1s 1s 1s", &p), -EINVAL);
        cr_assert_eq(pressure_trigger_parse("", &p), -EINVAL);
}

/* ---- ids ------------------------------------------------------------------------ */

Test(ids, valid) {
        static const char *const good[] = {
                "db", "web-01", "a.b", "A_1", "x", "memoryhog", "cpu-1", "io_x", "iox.y", "0",
                "123456789012345678901234567890123456789012345678",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                cr_assert(tenant_id_is_valid(good[i]), "%s", good[i]);
}

Test(ids, invalid) {
        static const struct {
                const char *id, *problem;
        } bad[] = {
                { "", "must not be empty" },
                { ".", "'.' and '..' are reserved" },
                { "..", "'.' and '..' are reserved" },
                { ".hidden", "must not start with '.' or '-'" },
                { "-x", "must not start with '.' or '-'" },
                { "memory.max", "clashes with cgroup interface files (<controller>.<name>)" },
                { "cgroup.procs", "clashes with cgroup interface files (<controller>.<name>)" },
                { "cpu.weight", "clashes with cgroup interface files (<controller>.<name>)" },
                { "cpuset.cpus", "clashes with cgroup interface files (<controller>.<name>)" },
                { "io.anything", "clashes with cgroup interface files (<controller>.<name>)" },
                { "pids.max", "clashes with cgroup interface files (<controller>.<name>)" },
                { "hugetlb.2MB.max", "clashes with cgroup interface files (<controller>.<name>)" },
                { "rdma.max", "clashes with cgroup interface files (<controller>.<name>)" },
                { "misc.x", "clashes with cgroup interface files (<controller>.<name>)" },
                { "w\xc3\xa9" "b", "non-ASCII character, use [A-Za-z0-9_.-]" },
                { "a b", "invalid character, use [A-Za-z0-9_.-]" },
                { "a/b", "invalid character, use [A-Za-z0-9_.-]" },
                { "a\\x2d", "invalid character, use [A-Za-z0-9_.-]" },
                { "1234567890123456789012345678901234567890123456789", "too long, at most 48 characters" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cr_assert(!tenant_id_is_valid(bad[i].id), "'%s'", bad[i].id);
                cr_assert_str_eq(tenant_id_problem(bad[i].id), bad[i].problem, "'%s'", bad[i].id);
        }
}

/* ---- tenant.ini: values -------------------------------------------------------- */

Test(tenant, minimal_defaults) {
        TenantPolicy t;
        _cleanup_free_ char *out = tenant_errors("[tenant]\nclass = normal\n[memory]\nrequest = 64M\n", &t);

        cr_assert_str_eq(out, "");
        cr_assert_str_eq(t.id, "t");
        cr_assert_str_eq(t.file, "t.ini");
        cr_assert_eq(t.line, 1);
        cr_assert_eq(t.line_id, 1);
        cr_assert_eq(t.kind, TENANT_PROCESS);
        cr_assert_str_eq(t.class_name, "normal");
        cr_assert_eq(t.line_class, 2);
        cr_assert_eq(t.request.bytes, UINT64_C(64) << 20);
        cr_assert_eq(t.line_request, 4);
        cr_assert_eq(t.limit.bytes, UINT64_C(64) << 20, "limit defaults to request");
        cr_assert_eq(t.line_limit, 0);
        cr_assert_eq(t.swap.bytes, SIZE_UNSET, "class default");
        cr_assert_eq(t.zswap.bytes, SIZE_UNSET);
        cr_assert_eq(t.cpu_count, 0);
        cr_assert(!t.has_cpu_list);
        cr_assert_eq(t.cpu_weight, 0);
        cr_assert(!t.has_nodes);
        cr_assert(!t.nodes_auto);
        cr_assert_eq(t.numa_mode, NUMA_STRICT);
        cr_assert_eq(t.huge_size, 0);
        cr_assert_eq(t.huge_count, 0);
        cr_assert_eq(t.vm_memory, SIZE_UNSET);
        cr_assert_eq(t.vm_vcpus, 0);
        cr_assert_null(t.vm_qmp);
        cr_assert_null(t.exec);
        cr_assert_eq(t.pressure.stall_usec, UINT64_MAX);
        cr_assert(t.evictable);
        cr_assert(!t.has_evictable);
        tenant_policy_done(&t);
}

Test(tenant, everything) {
        TenantPolicy t;
        char buf[64];
        _cleanup_free_ char *out = tenant_errors(
                "[tenant]\n"                                   /* 1 */
                "name = web-01\n"                              /* 2 */
                "kind = container\n"                           /* 3 */
                "class = normal\n"                             /* 4 */
                "exec = /bin/sh -c 'a ; b' # not a comment\n"  /* 5 */
                "description = nginx #1\n"                     /* 6 */
                "[memory]\n"                                   /* 7 */
                "request = 64M\n"                              /* 8 */
                "limit = 128M\n"                               /* 9 */
                "swap = 0\n"                                   /* 10 */
                "zswap = max\n"                                /* 11 */
                "[cpu]\n"                                      /* 12 */
                "cpus = 4-7, 9\n"                              /* 13 */
                "weight = 10000\n"                             /* 14 */
                "[numa]\n"                                     /* 15 */
                "nodes = 0,1\n"                                /* 16 */
                "mode = preferred\n"                           /* 17 */
                "[hugepages]\n"                                /* 18 */
                "size = 1G\n"                                  /* 19 */
                "count = 2\n"                                  /* 20 */
                "[pressure]\n"                                 /* 21 */
                "trigger = full 100ms 2s\n"                    /* 22 */
                "recover = 2.5%\n"                             /* 23 */
                "hold = 1min\n"                                /* 24 */
                "evictable = no\n",                            /* 25 */
                &t);

        cr_assert_str_eq(out, "");
        cr_assert_str_eq(t.id, "web-01");
        cr_assert_eq(t.line_id, 2);
        cr_assert_eq(t.kind, TENANT_CONTAINER);
        cr_assert_str_eq(t.exec, "/bin/sh -c 'a ; b' # not a comment");
        cr_assert_str_eq(t.description, "nginx #1");
        cr_assert_eq(t.limit.bytes, UINT64_C(128) << 20);
        cr_assert_eq(t.line_limit, 9);
        cr_assert_eq(t.swap.bytes, 0);
        cr_assert_eq(t.line_swap, 10);
        cr_assert_eq(t.zswap.bytes, SIZE_INFINITY);
        cr_assert(t.has_cpu_list);
        cr_assert_eq(t.cpu_count, 0);
        cr_assert_str_eq(cpulist_format(&t.cpu_list, buf, sizeof(buf)), "4-7,9");
        cr_assert_eq(t.line_cpus, 13);
        cr_assert_eq(t.cpu_weight, 10000);
        cr_assert(t.has_nodes);
        cr_assert(!t.nodes_auto);
        cr_assert_str_eq(nodelist_format(&t.nodes, buf, sizeof(buf)), "0-1");
        cr_assert_eq(t.numa_mode, NUMA_PREFERRED);
        cr_assert_eq(t.huge_size, UINT64_C(1) << 30);
        cr_assert_eq(t.huge_count, 2);
        cr_assert_eq(t.line_huge, 20);
        cr_assert(t.pressure.full);
        cr_assert_eq(t.pressure.stall_usec, 100000);
        cr_assert_eq(t.pressure.window_usec, 2000000);
        cr_assert_eq(t.pressure.recover_bp, 250);
        cr_assert_eq(t.pressure.hold_usec, 60000000);
        cr_assert(!t.evictable);
        cr_assert(t.has_evictable);
        tenant_policy_done(&t);
}

Test(tenant, vm_defaults) {
        TenantPolicy t;
        _cleanup_free_ char *out = tenant_errors(
                "[tenant]\nname = dev\nkind = vm\nclass = besteffort\n[vm]\nmemory = 128M\n", &t);

        cr_assert_str_eq(out, "");
        cr_assert_eq(t.kind, TENANT_VM);
        cr_assert_eq(t.vm_memory, UINT64_C(128) << 20);
        cr_assert_eq(t.line_vm_memory, 6);
        cr_assert_eq(t.request.bytes, UINT64_C(128) << 20, "request defaults to vm.memory");
        cr_assert_eq(t.limit.bytes, UINT64_C(128) << 20, "limit to vm.memory; the planner adds overhead");
        cr_assert_eq(t.vm_vcpus, 1);
        cr_assert_str_eq(t.vm_qmp, "/run/tenantd/qmp/dev.sock");
        cr_assert(t.vm_balloon);
        cr_assert_eq(t.vm_video, SIZE_UNSET, "tenantd.conf default");
        tenant_policy_done(&t);
}

Test(tenant, vm_hugepages) {
        TenantPolicy t;
        _cleanup_free_ char *out = tenant_errors(
                "[tenant]\nkind = vm\nclass = critical\n"
                "[vm]\nmemory = 192M\nvcpus = 2\nqmp = /run//q/./db.sock\nballoon = no\nvideo = 0\n"
                "[hugepages]\ncount = 96\n",
                &t);

        cr_assert_str_eq(out, "");
        cr_assert_eq(t.huge_size, UINT64_C(2) << 20, "size defaults to 2M");
        cr_assert_eq(t.huge_count, 96);
        cr_assert_eq(t.vm_vcpus, 2);
        cr_assert_str_eq(t.vm_qmp, "/run/q/db.sock");
        cr_assert(!t.vm_balloon);
        cr_assert_eq(t.vm_video, 0);
        tenant_policy_done(&t);
}

Test(tenant, cpus_count_or_list) {
        TenantPolicy t;
        char buf[64];
        _cleanup_free_ char *a = tenant_errors(T_HEAD "[cpu]\ncpus = 3\n[numa]\nnodes = auto\n", &t);

        cr_assert_str_eq(a, "");
        cr_assert_eq(t.cpu_count, 3);
        cr_assert(!t.has_cpu_list);
        tenant_policy_done(&t);

        _cleanup_free_ char *b = tenant_errors(T_HEAD "[cpu]\ncpus = 3-3\n", &t);
        cr_assert_str_eq(b, "");
        cr_assert_eq(t.cpu_count, 0);
        cr_assert(t.has_cpu_list);
        cr_assert_str_eq(cpulist_format(&t.cpu_list, buf, sizeof(buf)), "3");
        tenant_policy_done(&t);

        _cleanup_free_ char *c = tenant_errors(T_HEAD "[cpu]\ncpu_list = 3\n", &t);
        cr_assert_str_eq(c, "");
        cr_assert(t.has_cpu_list);
        cr_assert_str_eq(cpulist_format(&t.cpu_list, buf, sizeof(buf)), "3");
        tenant_policy_done(&t);

        _cleanup_free_ char *d = tenant_errors(T_HEAD "[cpu]\ncpus = 1,5\n", &t);
        cr_assert_str_eq(d, "");
        cr_assert_str_eq(cpulist_format(&t.cpu_list, buf, sizeof(buf)), "1,5");
        tenant_policy_done(&t);

        _cleanup_free_ char *e = tenant_errors(T_HEAD "[numa]\nmode = preferred\n", &t);
        cr_assert_str_eq(e, "");
        cr_assert(t.has_nodes);
        cr_assert(t.nodes_auto, "[numa] without nodes = means auto");
        tenant_policy_done(&t);
}

Test(tenant, percent_request_and_limit) {
        TenantPolicy t;
        _cleanup_free_ char *out = tenant_errors("[tenant]\nclass = low\n[memory]\nrequest = 10%\nlimit = 2G\n", &t);

        /* percent against bytes is the planner's to compare */
        cr_assert_str_eq(out, "");
        cr_assert_eq(t.request.percent_bp, 1000);
        cr_assert_eq(t.limit.bytes, UINT64_C(2) << 30);
        tenant_policy_done(&t);

        assert_tenant("[tenant]\nclass = low\n[memory]\nrequest = 20%\nlimit = 10%\n",
                      "t.ini:5: memory.limit: must be >= memory.request (10%)\n");
}

Test(tenant, verbatim_values_and_layout) {
        TenantPolicy t;
        /* indentation is not a continuation, CRLF and a BOM are fine, comments
         * are whole lines only */
        _cleanup_free_ char *out = tenant_errors(
                "\xef\xbb\xbf# comment\r\n"
                "; another\r\n"
                "[tenant]\r\n"
                "    class = normal\r\n"
                "\tdescription =   spaced   out   \r\n"
                "  [memory]\r\n"
                "  request=1G\r\n"
                "  limit  =  2G\r\n",
                &t);

        cr_assert_str_eq(out, "");
        cr_assert_str_eq(t.description, "spaced   out");
        cr_assert_eq(t.limit.bytes, UINT64_C(2) << 30);
        cr_assert_eq(t.line_limit, 8);
        tenant_policy_done(&t);
}

/* ---- tenant.ini: errors ------------------------------------------------------------ */

Test(tenant_errors, unknown_key_and_section) {
        assert_tenant("[tenant]\nname = web\nclas = normal\n[memory]\nrequest = 1G\n",
                      "t.ini:3: tenant.clas: unknown key, did you mean 'class'? (clas)\n"
                      "t.ini:1: tenant.class: required key is missing\n");
        assert_tenant(T_HEAD "[memroy]\nlimit = 2G\n",
                      "t.ini:5: [memroy]: unknown section, did you mean 'memory'?\n");
        assert_tenant(T_HEAD "[frobnicate]\nx = 1\n", "t.ini:5: [frobnicate]: unknown section\n");
        assert_tenant(T_HEAD "colour = blue\n", "t.ini:5: memory.colour: unknown key (colour)\n");
        assert_tenant(T_HEAD "reqest = 2G\n",
                      "t.ini:5: memory.reqest: unknown key, did you mean 'request'? (reqest)\n");
        /* the suggestion comes from the section the key is in */
        assert_tenant(T_HEAD "[cpu]\nweigth = 10\ncpu = 2\n",
                      "t.ini:6: cpu.weigth: unknown key, did you mean 'weight'? (weigth)\n"
                      "t.ini:7: cpu.cpu: unknown key, did you mean 'cpus'? (cpu)\n");
        /* keys are case-sensitive */
        assert_tenant(T_HEAD "Limit = 2G\n",
                      "t.ini:5: memory.Limit: unknown key, did you mean 'limit'? (Limit)\n");
}

Test(tenant_errors, duplicates) {
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = 1G\nrequest = 2G\n",
                      "t.ini:5: memory.request: duplicate key, first set on line 4 (2G)\n");
        assert_tenant(T_HEAD "[memory]\nlimit = 2G\n",
                      "t.ini:5: [memory]: duplicate section, first on line 3\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = 2\ncpu_list = 1-2\n[numa]\nnodes = 0\n",
                      "t.ini:7: cpu.cpu_list: conflicts with cpu.cpus on line 6 (1-2)\n");
}

/* A count is placed on the tenant's nodes: without [numa] it would pin
 * nothing, silently. A list pins without [numa]. */
Test(tenant_errors, cpu_count_needs_numa) {
        assert_tenant(T_HEAD "[cpu]\ncpus = 2\n",
                      "t.ini:6: cpu.cpus: a count of CPUs is placed on the tenant's NUMA nodes: add [numa] (nodes = "
                      "auto lets tenantd choose them), or pin CPUs with a list (cpus = 2-2 pins CPU 2) (2)\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = 2-2\n", "");
        assert_tenant(T_HEAD "[cpu]\ncpu_list = 2\n", "");
        assert_tenant(T_HEAD "[cpu]\ncpus = 2\n[numa]\nnodes = auto\n", "");
        assert_tenant(T_HEAD "[cpu]\ncpus = 2\n[numa]\nnodes = 0\nmode = preferred\n", "");
}

Test(tenant_errors, required) {
        assert_tenant("[tenant]\nkind = container\n",
                      "t.ini:1: tenant.class: required key is missing\n"
                      "t.ini:1: memory.request: required key is missing\n");
        assert_tenant("[tenant]\nclass = low\n[memory]\nlimit = 1G\n",
                      "t.ini:3: memory.request: required key is missing\n");
        assert_tenant("[memory]\nrequest = 1G\n", "t.ini: tenant.class: required key is missing\n");
        assert_tenant("[tenant]\nclass = low\n[memory]\nrequest = 0\n",
                      "t.ini:4: memory.limit: required when memory.request is 0\n");
        assert_tenant("[tenant]\nclass = low\n[memory]\nrequest = 0\nlimit = 1G\n", "");
        /* an empty value is one error, not also "missing" */
        assert_tenant("[tenant]\nclass =\n[memory]\nrequest = 1G\n", "t.ini:2: tenant.class: missing value\n");
}

Test(tenant_errors, request_limit) {
        assert_tenant("[tenant]\nclass = normal\n[memory]\n\n\nrequest = 2G\nlimit = 1G\n",
                      "t.ini:7: memory.limit: must be >= memory.request (1G)\n");
        assert_tenant(T_HEAD "limit = 0\n", "t.ini:5: memory.limit: must be greater than 0 (0)\n");
        assert_tenant(T_HEAD "limit = max\n", "");
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = max\n",
                      "t.ini:4: memory.request: must be a finite size (max)\n");
}

Test(tenant_errors, bad_sizes) {
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = -1G\n",
                      "t.ini:4: memory.request: must not be negative (-1G)\n");
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = 18446744073709551616\n",
                      "t.ini:4: memory.request: too large, at most 8E (18446744073709551616)\n");
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = 1 G\n",
                      "t.ini:4: memory.request: invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G (1 G)\n");
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = 1G ; one gig\n",
                      "t.ini:4: memory.request: invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G (1G ; one gig)\n");
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = 150%\n",
                      "t.ini:4: memory.request: must be at most 100% (150%)\n");
        assert_tenant("[tenant]\nclass = normal\n[memory]\nrequest = 1.234%\n",
                      "t.ini:4: memory.request: invalid percentage, use e.g. 25% or 12.5% (1.234%)\n");
        assert_tenant(T_HEAD "swap = 10%\n", "t.ini:5: memory.swap: a percentage is not allowed here (10%)\n");
        assert_tenant(T_HEAD "zswap = lots\n",
                      "t.ini:5: memory.zswap: invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G (lots)\n");
}

Test(tenant_errors, enums_and_numbers) {
        assert_tenant("[tenant]\nkind = qemu\nclass = low\n[memory]\nrequest = 1G\n",
                      "t.ini:2: tenant.kind: expected process, container or vm (qemu)\n");
        assert_tenant(T_HEAD "[cpu]\nweight = 0\n", "t.ini:6: cpu.weight: must be between 1 and 10000 (0)\n");
        assert_tenant(T_HEAD "[cpu]\nweight = 10001\n",
                      "t.ini:6: cpu.weight: must be between 1 and 10000 (10001)\n");
        assert_tenant(T_HEAD "[cpu]\nweight = 1e3\n", "t.ini:6: cpu.weight: expected a whole number (1e3)\n");
        assert_tenant(T_HEAD "[cpu]\nweight = 99999999999999999999999\n",
                      "t.ini:6: cpu.weight: must be between 1 and 10000 (99999999999999999999999)\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = 0\n", "t.ini:6: cpu.cpus: must be between 1 and 1024 (0)\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = -2\n", "t.ini:6: cpu.cpus: must not be negative (-2)\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = 1024-1025\n",
                      "t.ini:6: cpu.cpus: CPU number too large, at most 1023 (1024-1025)\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = 7-4\n", "t.ini:6: cpu.cpus: invalid CPU list, e.g. 4-7,9 or 3-3 (7-4)\n");
        assert_tenant(T_HEAD "[cpu]\ncpus = two\n", "t.ini:6: cpu.cpus: expected a whole number (two)\n");
        assert_tenant(T_HEAD "[numa]\nnodes = 64\n", "t.ini:6: numa.nodes: node number too large, at most 63 (64)\n");
        assert_tenant(T_HEAD "[numa]\nnodes = any\n",
                      "t.ini:6: numa.nodes: expected auto or a node list, e.g. 1 or 0,1 (any)\n");
        assert_tenant(T_HEAD "[numa]\nmode = loose\n", "t.ini:6: numa.mode: expected strict or preferred (loose)\n");
        assert_tenant(T_HEAD "[pressure]\nevictable = maybe\n",
                      "t.ini:6: pressure.evictable: expected yes or no (or true/false, on/off, 1/0) (maybe)\n");
}

Test(tenant_errors, pressure) {
        assert_tenant(T_HEAD "[pressure]\ntrigger = some 150ms\n",
                      "t.ini:6: pressure.trigger: expected 'some|full STALL WINDOW', e.g. 'some 150ms 1s' (some 150ms)\n");
        assert_tenant(T_HEAD "[pressure]\ntrigger = some 150 1000\n",
                      "t.ini:6: pressure.trigger: expected 'some|full STALL WINDOW', e.g. 'some 150ms 1s' (some 150 1000)\n");
        assert_tenant(T_HEAD "[pressure]\ntrigger = some 100ms 200ms\n",
                      "t.ini:6: pressure.trigger: window must be between 500ms and 10s (some 100ms 200ms)\n");
        assert_tenant(T_HEAD "[pressure]\ntrigger = full 20s 20s\n",
                      "t.ini:6: pressure.trigger: window must be between 500ms and 10s (full 20s 20s)\n");
        assert_tenant(T_HEAD "[pressure]\ntrigger = some 0s 1s\n",
                      "t.ini:6: pressure.trigger: stall must be greater than 0 and at most the window (some 0s 1s)\n");
        assert_tenant(T_HEAD "[pressure]\ntrigger = some 2s 1s\n",
                      "t.ini:6: pressure.trigger: stall must be greater than 0 and at most the window (some 2s 1s)\n");
        assert_tenant(T_HEAD "[pressure]\nrecover = 0%\n", "t.ini:6: pressure.recover: must be greater than 0% (0%)\n");
        assert_tenant(T_HEAD "[pressure]\nrecover = 5\n",
                      "t.ini:6: pressure.recover: invalid percentage, use e.g. 5% or 2.5% (5)\n");
        assert_tenant(T_HEAD "[pressure]\nhold = 10\n",
                      "t.ini:6: pressure.hold: missing unit, use us, ms, s, min or h (10)\n");
        assert_tenant(T_HEAD "[pressure]\nhold = 500ms\n", "t.ini:6: pressure.hold: must be between 1s and 1h (500ms)\n");
        assert_tenant(T_HEAD "[pressure]\nhold = 2h\n", "t.ini:6: pressure.hold: must be between 1s and 1h (2h)\n");
        assert_tenant(T_HEAD "[pressure]\nhold = soon\n",
                      "t.ini:6: pressure.hold: invalid duration, use e.g. 150ms, 2.5s or 1min (soon)\n");
}

Test(tenant_errors, vm) {
        assert_tenant("[tenant]\nkind = vm\nclass = high\n",
                      "t.ini:2: vm.memory: a VM needs vm.memory\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nvcpus = 2\n",
                      "t.ini:4: vm.memory: a VM needs vm.memory\n");
        assert_tenant(T_HEAD "[vm]\nmemory = 1G\n", "t.ini:5: [vm]: only valid with tenant.kind = vm\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nmemory = 0\n",
                      "t.ini:5: vm.memory: must be greater than 0 (0)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nmemory = 1G\nvcpus = 0\n",
                      "t.ini:6: vm.vcpus: must be between 1 and 1024 (0)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nmemory = 1G\nqmp = run/db.sock\n",
                      "t.ini:6: vm.qmp: must be an absolute path (run/db.sock)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nmemory = 1G\nqmp = /run/../etc/x\n",
                      "t.ini:6: vm.qmp: must not contain '..' (/run/../etc/x)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nmemory = 1G\n"
                      "qmp = /run/tenantd/qmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
                      "t.ini:6: vm.qmp: too long for a socket path, at most 107 bytes "
                      "(/run/tenantd/qmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[vm]\nmemory = 1G\nballoon = sometimes\n",
                      "t.ini:6: vm.balloon: expected yes or no (or true/false, on/off, 1/0) (sometimes)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[memory]\nrequest = 2G\n[vm]\nmemory = 1G\n",
                      "t.ini:5: memory.request: must be <= vm.memory (2G)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[memory]\nrequest = 256M\nlimit = 512M\n[vm]\nmemory = 1G\n",
                      "t.ini:6: memory.limit: must be >= vm.memory (512M)\n");
        /* without a request (it defaults to vm.memory): the same one error */
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[memory]\nlimit = 512M\n[vm]\nmemory = 1G\n",
                      "t.ini:5: memory.limit: must be >= vm.memory (512M)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = high\n[memory]\nrequest = 512M\nlimit = 2G\n[vm]\nmemory = 1G\n", "");

        /* a lower request lowers the guarantee, never the cap below guest RAM */
        TenantPolicy t;
        _cleanup_free_ char *out = tenant_errors(
                "[tenant]\nkind = vm\nclass = normal\n[memory]\nrequest = 256M\n[vm]\nmemory = 1G\n", &t);
        cr_assert_str_eq(out, "");
        cr_assert_eq(t.request.bytes, UINT64_C(256) << 20);
        cr_assert_eq(t.limit.bytes, UINT64_C(1) << 30);
        tenant_policy_done(&t);
}

Test(tenant_errors, hugepages) {
        assert_tenant(T_HEAD "[hugepages]\nsize = 4M\ncount = 2\n",
                      "t.ini:6: hugepages.size: unsupported hugepage size, use 2M or 1G (4M)\n");
        assert_tenant(T_HEAD "[hugepages]\nsize = 2M\n", "t.ini:5: hugepages.count: required key is missing\n");
        assert_tenant(T_HEAD "[hugepages]\nsize = 1G\ncount = 4294967295\n", "");
        assert_tenant(T_HEAD "[hugepages]\ncount = 4294967296\n",
                      "t.ini:6: hugepages.count: must be between 0 and 4294967295 (4294967296)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = critical\n[vm]\nmemory = 192M\n[hugepages]\nsize = 2M\ncount = 64\n",
                      "t.ini:8: hugepages.count: too few to back vm.memory, needs at least 96 (64)\n");
        assert_tenant("[tenant]\nkind = vm\nclass = critical\n[vm]\nmemory = 1536M\n[hugepages]\nsize = 1G\ncount = 2\n",
                      "t.ini:5: vm.memory: must be a multiple of hugepages.size, 1G (1536M)\n");
        /* count = 0 is "no hugepages" */
        TenantPolicy t;
        _cleanup_free_ char *out = tenant_errors(T_HEAD "[hugepages]\nsize = 1G\ncount = 0\n", &t);
        cr_assert_str_eq(out, "");
        cr_assert_eq(t.huge_size, 0);
        tenant_policy_done(&t);
}

Test(tenant_errors, ids) {
        assert_tenant("[tenant]\nname = memory.max\nclass = low\n[memory]\nrequest = 1G\n",
                      "t.ini:2: tenant.name: invalid tenant id: clashes with cgroup interface files (<controller>.<name>) (memory.max)\n");
        assert_tenant("[tenant]\nname = w\xc3\xa9" "b\nclass = low\n[memory]\nrequest = 1G\n",
                      "t.ini:2: tenant.name: invalid tenant id: non-ASCII character, use [A-Za-z0-9_.-] (w\xc3\xa9" "b)\n");
        assert_tenant("[tenant]\nname = .hidden\nclass = low\n[memory]\nrequest = 1G\n",
                      "t.ini:2: tenant.name: invalid tenant id: must not start with '.' or '-' (.hidden)\n");

        /* the default id is the file stem, checked the same way */
        PolicyErrors e = { 0 };
        TenantPolicy t;
        const char *text = "[tenant]\nclass = low\n[memory]\nrequest = 1G\n";
        cr_assert_eq(tenant_parse(text, strlen(text), "tenants/cgroup.procs.ini", "cgroup.procs", &t, &e), -EINVAL);
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out, "tenants/cgroup.procs.ini: tenant.name: invalid tenant id from the file name, "
                              "set tenant.name: clashes with cgroup interface files (<controller>.<name>) (cgroup.procs)\n");
        tenant_policy_done(&t);
        policy_errors_clear(&e);

        /* ... and name = fixes it */
        text = "[tenant]\nname = ok\nclass = low\n[memory]\nrequest = 1G\n";
        cr_assert_eq(tenant_parse(text, strlen(text), "x.ini", "cgroup.procs", &t, &e), 0);
        cr_assert_str_eq(t.id, "ok");
        tenant_policy_done(&t);
        cr_assert_eq(e.n, 0);

        /* class names become slice names */
        assert_tenant("[tenant]\nclass = best-effort\n[memory]\nrequest = 1G\n",
                      "t.ini:2: tenant.class: invalid class name, use [a-z][a-z0-9_]* (best-effort)\n");
}

Test(tenant_errors, syntax) {
        assert_tenant("request = 1G\n[tenant]\nclass = low\n[memory]\nrequest = 1G\n",
                      "t.ini:1: request: key outside of any section\n");
        assert_tenant(T_HEAD "just some words\n", "t.ini:5: expected 'key = value' (just some words)\n");
        assert_tenant(T_HEAD "= 5\n", "t.ini:5: expected 'key = value', the key is missing\n");
        assert_tenant(T_HEAD "my key = 5\n", "t.ini:5: invalid key name, use [A-Za-z0-9_.-] (my key)\n");
        assert_tenant(T_HEAD "a:b = 5\n", "t.ini:5: invalid key name, use [A-Za-z0-9_.-] (a:b)\n");
        /* keys after a broken header are skipped, not put into the previous section */
        assert_tenant(T_HEAD "[cpu\nlimit = 5G\n", "t.ini:5: invalid section header, expected [name] ([cpu)\n");
        assert_tenant(T_HEAD "[cpu] ; comment\n", "t.ini:5: invalid section header, expected [name] ([cpu] ; comment)\n");
        assert_tenant(T_HEAD "[c p u]\n", "t.ini:5: invalid section name, use [A-Za-z0-9_.-] (c p u)\n");
        assert_tenant(T_HEAD "[]\n", "t.ini:5: invalid section name, use [A-Za-z0-9_.-] ()\n");
        assert_tenant("[tenant\nclass = low\n[memory]\nrequest = 1G\n",
                      "t.ini:1: invalid section header, expected [name] ([tenant)\n"
                      "t.ini: tenant.class: required key is missing\n");
}

Test(tenant_errors, empty) {
        assert_tenant("", "t.ini: empty policy\n");
        assert_tenant("\n\n   \n", "t.ini: empty policy\n");
        assert_tenant("# only\n; comments\n", "t.ini: empty policy\n");
        assert_tenant("\xef\xbb\xbf", "t.ini: empty policy\n");
}

Test(tenant_errors, binary) {
        _cleanup_free_ char *a = tenant_errors_len("[tenant]\nclass = low\0junk\n", 22, NULL);
        cr_assert_str_eq(a, "t.ini:2: contains a NUL byte, not a text file\n");
        _cleanup_free_ char *b = tenant_errors_len("\0", 1, NULL);
        cr_assert_str_eq(b, "t.ini:1: contains a NUL byte, not a text file\n");

        assert_tenant(T_HEAD "description = caf\xe9\n", "t.ini:5: invalid UTF-8\n");
        assert_tenant(T_HEAD "description = \xc0\xaf\n", "t.ini:5: invalid UTF-8\n");       /* overlong '/' */
        assert_tenant(T_HEAD "description = \xed\xa0\x80\n", "t.ini:5: invalid UTF-8\n");   /* surrogate */
        assert_tenant(T_HEAD "description = \xf4\x90\x80\x80\n", "t.ini:5: invalid UTF-8\n"); /* > U+10FFFF */
        assert_tenant(T_HEAD "description = \xe2\x82\n", "t.ini:5: invalid UTF-8\n");       /* truncated */
        assert_tenant(T_HEAD "description = a\x1b[31mred\n", "t.ini:5: contains a control character\n");
        assert_tenant(T_HEAD "description = a\rb\n", "t.ini:5: contains a control character\n");
        assert_tenant("[tenant]\nclass = low\ndescription = \xe2\x82\xac 5, caf\xc3\xa9\n[memory]\nrequest = 1G\n", "");
}

Test(tenant_errors, line_length) {
        char line[POLICY_LINE_MAX + 2];
        _cleanup_free_ char *ok = NULL, *bad = NULL, *comment = NULL, *indented = NULL;

#define HEAD "[tenant]\nclass = normal\n"
#define TAIL "[memory]\nrequest = 1G\n"
        /* exactly POLICY_LINE_MAX is fine, one more is an error, never a split */
        memset(line, 'x', sizeof(line));
        memcpy(line, "description = ", 14);
        line[POLICY_LINE_MAX] = '\0';
        ok = strdup_printf(HEAD "%s\n" TAIL, line);
        _cleanup_free_ char *out0 = tenant_errors(ok, NULL);
        cr_assert_str_eq(out0, "");

        line[POLICY_LINE_MAX] = 'x';
        line[POLICY_LINE_MAX + 1] = '\0';
        bad = strdup_printf(HEAD "%s\n" TAIL, line);
        _cleanup_free_ char *out = tenant_errors(bad, NULL);
        cr_assert_str_eq(out, "t.ini:3: line too long: 199 bytes, at most 198\n");

        /* indentation and trailing blanks do not count; comments can be long */
        indented = strdup_printf(HEAD "        %.*s        \n" TAIL, POLICY_LINE_MAX, line);
        _cleanup_free_ char *out2 = tenant_errors(indented, NULL);
        cr_assert_str_eq(out2, "");
        comment = strdup_printf(HEAD "# %s%s%s\n" TAIL, line, line, line);
        _cleanup_free_ char *out3 = tenant_errors(comment, NULL);
        cr_assert_str_eq(out3, "");
#undef HEAD
#undef TAIL
}

Test(tenant_errors, long_line_does_not_leak_into_next) {
        /* a 10 KB line: one error, and the lines after it still parse */
        size_t n = 10240;
        _cleanup_free_ char *big = malloc(n + 1), *text = NULL;
        memset(big, 'a', n);
        memcpy(big, "exec = ", 7);
        big[n] = '\0';
        text = strdup_printf("[tenant]\nclass = low\n%s\n[memory]\nrequest = 1G\nlimit = 512M\n", big);
        assert_tenant(text, "t.ini:3: line too long: 10240 bytes, at most 198\n"
                            "t.ini:6: memory.limit: must be >= memory.request (512M)\n");
}

Test(tenant_errors, all_errors_reported_and_capped) {
        /* every bad line is reported, not only the first */
        assert_tenant("[tenant]\nclass = low\nkind = x\n[memory]\nrequest = y\nlimit = z\n[cpu]\nweight = w\n",
                      "t.ini:3: tenant.kind: expected process, container or vm (x)\n"
                      "t.ini:5: memory.request: invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G (y)\n"
                      "t.ini:6: memory.limit: invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G (z)\n"
                      "t.ini:8: cpu.weight: expected a whole number (w)\n");

        /* ... up to POLICY_FILE_ERRORS_MAX */
        char *text = strdup("");
        for (int i = 0; i < 80; i++) {
                char *n = strdup_printf("%sgarbage line %d\n", text, i);
                free(text);
                text = n;
        }
        PolicyErrors e = { 0 };
        TenantPolicy t;
        cr_assert_eq(tenant_parse(text, strlen(text), "t.ini", "t", &t, &e), -EINVAL);
        cr_assert_eq(e.n, POLICY_FILE_ERRORS_MAX + 1);
        cr_assert_str_eq(e.v[0].problem, "expected 'key = value'");
        cr_assert_str_eq(e.v[POLICY_FILE_ERRORS_MAX].problem, "too many errors, giving up on this file");
        cr_assert_eq(e.v[POLICY_FILE_ERRORS_MAX].line, 51);
        tenant_policy_done(&t);
        policy_errors_clear(&e);
        free(text);
}

Test(tenant_errors, check_after_change) {
        /* tenant_policy_check() on a policy changed in memory (reassign) */
        TenantPolicy t;
        PolicyErrors e = { 0 };
        _cleanup_free_ char *out = tenant_errors("[tenant]\nclass = low\n[memory]\nrequest = 1G\nlimit = 2G\n", &t);
        cr_assert_str_eq(out, "");
        cr_assert_eq(tenant_policy_check(&t, &e), 0);
        t.limit.bytes = UINT64_C(512) << 20;
        t.class_name[0] = '\0';
        cr_assert_eq(tenant_policy_check(&t, &e), -EINVAL);
        _cleanup_free_ char *out2 = errors_text(&e);
        cr_assert_str_eq(out2, "t.ini:1: tenant.class: required key is missing\n"
                               "t.ini:5: memory.limit: must be >= memory.request (512M)\n");
        policy_errors_clear(&e);
        tenant_policy_done(&t);
}

/* ---- classes.ini ------------------------------------------------------------------- */

Test(classes, default_ladder) {
        PolicyClasses c;
        const PolicyClass *k;

        policy_classes_default(&c);
        cr_assert_eq(c.n, 5);
        cr_assert_str_eq(c.v[0].name, "critical");
        cr_assert_str_eq(c.v[4].name, "besteffort");
        for (size_t i = 1; i < c.n; i++)
                cr_assert_gt(c.v[i - 1].rank, c.v[i].rank, "ranks descend");

        k = policy_classes_find(&c, "critical");
        cr_assert_eq(k->protect, PROTECT_MIN);
        cr_assert_eq(k->high_bp, HIGH_BP_MAX);
        cr_assert_eq(k->evict, EVICT_NEVER);
        cr_assert_eq(k->swap_max, 0);
        k = policy_classes_find(&c, "high");
        cr_assert_eq(k->protect, PROTECT_MIN);
        cr_assert_eq(k->high_bp, 10000);
        cr_assert_eq(k->evict, EVICT_NEVER);
        cr_assert_eq(k->swap_max, 0);
        k = policy_classes_find(&c, "normal");
        cr_assert_eq(k->protect, PROTECT_LOW);
        cr_assert_eq(k->high_bp, 9000);
        cr_assert_eq(k->evict, EVICT_LAST_RESORT);
        cr_assert_eq(k->swap_max, SIZE_INFINITY);
        k = policy_classes_find(&c, "low");
        cr_assert_eq(k->protect, PROTECT_NONE);
        cr_assert_eq(k->high_bp, 10000);
        cr_assert_eq(k->evict, EVICT_YES);
        cr_assert_eq(k->swap_max, SIZE_INFINITY);
        k = policy_classes_find(&c, "besteffort");
        cr_assert_eq(k->protect, PROTECT_NONE);
        cr_assert_eq(k->high_bp, 10000);
        cr_assert_eq(k->evict, EVICT_FIRST);
        cr_assert_eq(k->swap_max, SIZE_INFINITY);
        cr_assert_eq(k->pressure.stall_usec, UINT64_MAX, "inherits tenantd.conf");
        cr_assert_null(k->file);
        cr_assert_null(policy_classes_find(&c, "gold"));
}

static void assert_class_eq(const PolicyClass *a, const PolicyClass *b) {
        cr_assert_str_eq(a->name, b->name);
        cr_assert_eq(a->rank, b->rank, "%s", a->name);
        cr_assert_eq(a->protect, b->protect, "%s", a->name);
        cr_assert_eq(a->high_bp, b->high_bp, "%s", a->name);
        cr_assert_eq(a->swap_max, b->swap_max, "%s", a->name);
        cr_assert_eq(a->zswap_max, b->zswap_max, "%s", a->name);
        cr_assert_eq(a->evict, b->evict, "%s", a->name);
        cr_assert_eq(a->cpu_weight, b->cpu_weight, "%s", a->name);
        cr_assert_eq(a->pressure.full, b->pressure.full, "%s", a->name);
        cr_assert_eq(a->pressure.stall_usec, b->pressure.stall_usec, "%s", a->name);
        cr_assert_eq(a->pressure.window_usec, b->pressure.window_usec, "%s", a->name);
        cr_assert_eq(a->pressure.recover_bp, b->pressure.recover_bp, "%s", a->name);
        cr_assert_eq(a->pressure.hold_usec, b->pressure.hold_usec, "%s", a->name);
}

Test(classes, shipped_file_equals_builtin) {
        _cleanup_free_ char *path = pjoin(SOURCE_ROOT, "policies/classes.ini");
        PolicyErrors e = { 0 };
        PolicyClasses parsed, builtin;
        size_t len;
        _cleanup_free_ char *text = read_all(path, &len);

        cr_assert_eq(classes_parse(text, len, "classes.ini", &parsed, &e), 0);
        policy_classes_default(&builtin);
        cr_assert_eq(parsed.n, builtin.n);
        for (size_t i = 0; i < parsed.n; i++)
                assert_class_eq(&parsed.v[i], &builtin.v[i]);
        cr_assert_str_eq(parsed.v[0].file, "classes.ini");
        policy_classes_done(&parsed);
}

Test(classes, parse) {
        PolicyClasses c;
        _cleanup_free_ char *out = classes_errors(
                "[class.gold]\nrank = 3\nprotect = min\nhigh = max\nswap = 0\nevict = never\ncpu_weight = 800\n"
                "trigger = full 50ms 1s\nrecover = 1%\nhold = 1min\n"
                "[class.silver]\nrank = 2\nhigh = 75%\nswap = 256M\nzswap = 64M\nevict = last-resort\n"
                "[class.bronze]\nrank = 1\n",
                &c);

        cr_assert_str_eq(out, "");
        cr_assert_eq(c.n, 3);
        cr_assert_str_eq(c.v[0].name, "gold");
        cr_assert_eq(c.v[0].line, 1);
        cr_assert_eq(c.v[0].high_bp, HIGH_BP_MAX);
        cr_assert(c.v[0].pressure.full);
        cr_assert_eq(c.v[0].pressure.hold_usec, 60000000);
        cr_assert_eq(c.v[1].high_bp, 7500);
        cr_assert_eq(c.v[1].swap_max, UINT64_C(256) << 20);
        cr_assert_eq(c.v[1].zswap_max, UINT64_C(64) << 20);
        cr_assert_eq(c.v[1].evict, EVICT_LAST_RESORT);
        /* defaults of a class that only has a rank */
        cr_assert_eq(c.v[2].protect, PROTECT_NONE);
        cr_assert_eq(c.v[2].high_bp, 10000);
        cr_assert_eq(c.v[2].swap_max, SIZE_INFINITY);
        cr_assert_eq(c.v[2].evict, EVICT_YES);
        cr_assert_eq(c.v[2].cpu_weight, 100);
        cr_assert_eq(c.v[2].pressure.window_usec, UINT64_MAX);
        policy_classes_done(&c);
}

Test(classes, errors) {
        assert_classes("[critical]\nrank = 1\n", "classes.ini:1: [critical]: unknown section, did you mean 'class.critical'?\n");
        assert_classes("[Class-A]\nrank = 1\n", "classes.ini:1: [Class-A]: unknown section, expected [class.NAME]\n");
        assert_classes("[class.best-effort]\nrank = 1\n",
                       "classes.ini:1: [class.best-effort]: invalid class name, use [a-z][a-z0-9_]*\n");
        assert_classes("[class.a]\nrank = 1\n[class.a]\nrank = 2\n",
                       "classes.ini:3: [class.a]: duplicate section, first on line 1\n");
        assert_classes("[class.a]\nrank = 1\n[class.b]\nrank = 1\n",
                       "classes.ini:4: class.b.rank: duplicate rank, also used by class 'a' (1)\n");
        assert_classes("[class.a]\nprotect = min\n", "classes.ini:1: class.a.rank: required key is missing\n");
        assert_classes("[class.a]\nrank = 1\nprotect = max\n",
                       "classes.ini:3: class.a.protect: expected none, low or min (max)\n");
        assert_classes("[class.a]\nrank = 1\nhigh = 90\n",
                       "classes.ini:3: class.a.high: expected max, limit or a percentage, e.g. 90% (90)\n");
        assert_classes("[class.a]\nrank = 1\nhigh = 190%\n", "classes.ini:3: class.a.high: must be at most 100% (190%)\n");
        assert_classes("[class.a]\nrank = 1\nevict = sometimes\n",
                       "classes.ini:3: class.a.evict: expected never, last-resort, yes or first (sometimes)\n");
        assert_classes("[class.a]\nrank = 1\nrnak = 2\n",
                       "classes.ini:3: class.a.rnak: unknown key, did you mean 'rank'? (rnak)\n");
        assert_classes("[class.a]\nrank = 1001\n", "classes.ini:2: class.a.rank: must be between 0 and 1000 (1001)\n");
        assert_classes("[class.a]\nrank = 1\ncpu_weight = 0\n",
                       "classes.ini:3: class.a.cpu_weight: must be between 1 and 10000 (0)\n");
        assert_classes("[class.a]\nrank = 1\ntrigger = some 1s 20s\n",
                       "classes.ini:3: class.a.trigger: window must be between 500ms and 10s (some 1s 20s)\n");
        assert_classes("", "classes.ini: empty policy\n");
        assert_classes("# nothing\n", "classes.ini: empty policy\n");
        assert_classes("[class.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nrank = 1\n",
                       "classes.ini:1: [class.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]: too long, at most 32 characters\n");
}

Test(classes, too_many) {
        char *text = strdup("");
        for (int i = 0; i < CLASSES_MAX + 1; i++) {
                char *n = strdup_printf("%s[class.c%d]\nrank = %d\n", text, i, i);
                free(text);
                text = n;
        }
        assert_classes(text, "classes.ini:33: [class.c16]: too many classes, at most 16\n");
        free(text);
}

/* ---- tenantd.conf ------------------------------------------------------------------- */

Test(conf, defaults) {
        HostConfig c;
        _cleanup_free_ char *out = conf_errors("", &c);

        cr_assert_str_eq(out, "", "an empty file is all defaults");
        cr_assert_eq(c.reserve.percent_bp, 1000);
        cr_assert_eq(c.overcommit_bp, 15000);
        cr_assert_eq(c.backend, BACKEND_AUTO);
        cr_assert_str_eq(c.cgroup_root, "/sys/fs/cgroup");
        cr_assert_eq(c.vm_overhead_fixed, UINT64_C(128) << 20);
        cr_assert_eq(c.vm_overhead_per_vcpu, UINT64_C(8) << 20);
        cr_assert_eq(c.vm_video_default, UINT64_C(16) << 20);
        cr_assert_eq(c.vm_pagetable_divisor, 512);
        cr_assert(!c.pressure.full);
        cr_assert_eq(c.pressure.stall_usec, 150000);
        cr_assert_eq(c.pressure.window_usec, 1000000);
        cr_assert_eq(c.pressure.recover_bp, 500);
        cr_assert_eq(c.pressure.hold_usec, 10000000);
        cr_assert_eq(c.headroom.bytes, 0, "headroom is off by default");
        cr_assert_eq(c.headroom.percent_bp, 0);
        cr_assert_str_eq(c.file, "tenantd.conf");
        host_config_done(&c);
}

Test(conf, parse) {
        HostConfig c;
        _cleanup_free_ char *out = conf_errors(
                "[host]\nreserve = 512M\novercommit = 2.25\n"
                "[cgroup]\nbackend = cgroupfs\nroot = /sys/fs/cgroup//tenantd/./\n"
                "[policy]\ndir = /srv/tenantd/\n"
                "[vm]\noverhead_fixed = 96M\noverhead_per_vcpu = 4M\nvideo = 0\npagetable_divisor = 256\n"
                "[pressure]\ntrigger = full 200ms 2s\nrecover = 10%\nhold = 15s\nheadroom = 12.5%\n",
                &c);

        cr_assert_str_eq(out, "");
        cr_assert_eq(c.reserve.bytes, UINT64_C(512) << 20);
        cr_assert_eq(c.reserve.percent_bp, 0);
        cr_assert_eq(c.overcommit_bp, 22500);
        cr_assert_eq(c.backend, BACKEND_CGROUPFS);
        cr_assert_str_eq(c.cgroup_root, "/sys/fs/cgroup/tenantd");
        cr_assert_str_eq(c.policy_dir, "/srv/tenantd");
        cr_assert_eq(c.vm_overhead_fixed, UINT64_C(96) << 20);
        cr_assert_eq(c.vm_video_default, 0);
        cr_assert_eq(c.vm_pagetable_divisor, 256);
        cr_assert(c.pressure.full);
        cr_assert_eq(c.pressure.recover_bp, 1000);
        cr_assert_eq(c.headroom.percent_bp, 1250);
        host_config_done(&c);
}

Test(conf, errors) {
        assert_conf("[pressure]\nheadroom = max\n", "tenantd.conf:2: pressure.headroom: must be a finite size (max)\n");
        assert_conf("[pressure]\nheadroom = 1X\n",
                    "tenantd.conf:2: pressure.headroom: invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G (1X)\n");
        assert_conf("[host]\novercommit = 0.9\n", "tenantd.conf:2: host.overcommit: must be between 1.0 and 100 (0.9)\n");
        assert_conf("[host]\novercommit = 101\n", "tenantd.conf:2: host.overcommit: must be between 1.0 and 100 (101)\n");
        assert_conf("[host]\novercommit = 1.5x\n", "tenantd.conf:2: host.overcommit: expected a ratio with at most four decimals, e.g. 1.5 (1.5x)\n");
        assert_conf("[host]\novercommit = 1.00001\n",
                    "tenantd.conf:2: host.overcommit: expected a ratio with at most four decimals, e.g. 1.5 (1.00001)\n");
        assert_conf("[host]\novercommit = -2\n", "tenantd.conf:2: host.overcommit: must not be negative (-2)\n");
        assert_conf("[host]\nreserve = max\n", "tenantd.conf:2: host.reserve: must be a finite size (max)\n");
        assert_conf("[host]\nreserve = 120%\n", "tenantd.conf:2: host.reserve: must be at most 100% (120%)\n");
        assert_conf("[cgroup]\nroot = sys/fs/cgroup\n",
                    "tenantd.conf:2: cgroup.root: must be an absolute path (sys/fs/cgroup)\n");
        assert_conf("[cgroup]\nroot = /sys/fs/cgroup/../..\n",
                    "tenantd.conf:2: cgroup.root: must not contain '..' (/sys/fs/cgroup/../..)\n");
        assert_conf("[cgroup]\nbackend = lxc\n", "tenantd.conf:2: cgroup.backend: expected auto, systemd or cgroupfs (lxc)\n");
        assert_conf("[vm]\npagetable_divisor = 0\n",
                    "tenantd.conf:2: vm.pagetable_divisor: must be between 1 and 65536 (0)\n");
        assert_conf("[vm]\noverhead_fixed = 10%\n",
                    "tenantd.conf:2: vm.overhead_fixed: a percentage is not allowed here (10%)\n");
        assert_conf("[hosts]\nreserve = 1G\n", "tenantd.conf:1: [hosts]: unknown section, did you mean 'host'?\n");
        assert_conf("[host]\nreserv = 1G\n",
                    "tenantd.conf:2: host.reserv: unknown key, did you mean 'reserve'? (reserv)\n");
        assert_conf("[pressure]\ntrigger = some 1ms 100ms\n",
                    "tenantd.conf:2: pressure.trigger: window must be between 500ms and 10s (some 1ms 100ms)\n");

        HostConfig c;
        _cleanup_free_ char *out = conf_errors("[cgroup]\nroot = /\n", &c);
        cr_assert_str_eq(out, "");
        cr_assert_str_eq(c.cgroup_root, "/");
        host_config_done(&c);
}

/* ---- cross-file ----------------------------------------------------------------------- */

static TenantPolicy parse_ok(const char *text, const char *file, const char *id) {
        PolicyErrors e = { 0 };
        TenantPolicy t;

        cr_assert_eq(tenant_parse(text, strlen(text), file, id, &t, &e), 0);
        return t;
}

Test(set, unknown_class_and_duplicate_ids) {
        PolicySet s = { .n_tenants = 3 };
        PolicyErrors e = { 0 };

        policy_classes_default(&s.classes);
        host_config_default(&s.config);
        s.tenants = calloc(3, sizeof(TenantPolicy));
        s.tenants[0] = parse_ok("[tenant]\nclass = gold\n[memory]\nrequest = 1G\n", "tenants/a.ini", "a");
        s.tenants[1] = parse_ok("[tenant]\nname = web\nclass = low\n[memory]\nrequest = 1G\n", "tenants/b.ini", "b");
        s.tenants[2] = parse_ok("\n[tenant]\nclass = low\n[memory]\nrequest = 1G\n", "tenants/web.ini", "web");

        cr_assert_eq(policy_set_validate(&s, &e), -EINVAL);
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out,
                         "tenants/a.ini:2: tenant.class: unknown class, known: critical, high, normal, low, besteffort (gold)\n"
                         "tenants/b.ini:2: tenant.name: duplicate tenant id, also defined in tenants/web.ini:2 (web)\n"
                         "tenants/web.ini:2: tenant.name: duplicate tenant id, also defined in tenants/b.ini:2 (web)\n");
        cr_assert_eq(e.v[0].errnum, ENOENT);
        cr_assert_eq(e.v[1].errnum, EEXIST);
        policy_errors_clear(&e);
        policy_set_done(&s);
}

/* ---- loading files ------------------------------------------------------------------------ */

static const char good_tenant[] = "[tenant]\nclass = normal\n[memory]\nrequest = 64M\n";

Test(load, dir) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *t = pjoin(d, "tenants");
        PolicySet s;
        PolicyErrors e = { 0 };

        cr_assert_eq(mkdir(t, 0755), 0);
        {
                _cleanup_free_ char *p1 = pjoin(t, "zeta.ini"), *p2 = pjoin(t, "alpha.ini"), *p3 = pjoin(t, "notes.txt"),
                                    *p4 = pjoin(t, ".hidden.ini"), *p5 = pjoin(t, "web.ini~"), *c = pjoin(d, "tenantd.conf"),
                                    *k = pjoin(d, "classes.ini");
                write_file(p1, good_tenant, 0644);
                write_file(p2, "[tenant]\nclass = gold\n[memory]\nrequest = 64M\n", 0600);
                write_file(p3, "not a policy", 0644);
                write_file(p4, "junk", 0644);
                write_file(p5, "junk", 0644);
                write_file(c, "[host]\nreserve = 64M\n", 0644);
                write_file(k, "[class.gold]\nrank = 2\n[class.normal]\nrank = 1\n", 0644);
        }

        cr_assert_eq(policy_load_dir(d, &s, &e), 0);
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out, "");
        cr_assert_eq(s.n_tenants, 2);
        cr_assert_str_eq(s.tenants[0].id, "alpha");
        cr_assert_str_eq(s.tenants[1].id, "zeta");
        _cleanup_free_ char *label = pjoin(d, "tenants/zeta.ini");
        cr_assert_str_eq(s.tenants[1].file, label);
        cr_assert_eq(s.classes.n, 2);
        cr_assert_eq(s.config.reserve.bytes, UINT64_C(64) << 20);
        policy_set_done(&s);
        rm_rf(d);
}

Test(load, dir_defaults_and_missing) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *nope = pjoin(d, "nope");
        PolicySet s;
        PolicyErrors e = { 0 };

        /* no tenants/ at all: the wrong directory, refused (apply would remove everything) */
        {
                cr_assert_lt(policy_load_dir(d, &s, &e), 0);
                _cleanup_free_ char *got = errors_text(&e);
                _cleanup_free_ char *exp = strdup_printf(
                        "%s/tenants: missing: a policy directory holds tenants/*.ini (an empty tenants/ means no tenants)\n", d);
                cr_assert_str_eq(got, exp);
                policy_errors_clear(&e);
        }

        /* an empty tenants/: defaults, no tenants */
        _cleanup_free_ char *t = pjoin(d, "tenants");
        cr_assert_eq(mkdir(t, 0755), 0);
        cr_assert_eq(policy_load_dir(d, &s, &e), 0);
        cr_assert_eq(e.n, 0);
        cr_assert_eq(s.n_tenants, 0);
        cr_assert_eq(s.classes.n, 5);
        cr_assert_eq(s.config.overcommit_bp, 15000);
        policy_set_done(&s);

        cr_assert_eq(policy_load_dir(nope, &s, &e), -ENOENT);
        _cleanup_free_ char *out = errors_text(&e);
        _cleanup_free_ char *want = strdup_printf("%s: cannot open policy directory: No such file or directory\n", nope);
        cr_assert_str_eq(out, want);
        policy_errors_clear(&e);
        rm_rf(d);
}

Test(load, all_or_nothing_and_duplicates) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *t = pjoin(d, "tenants");
        PolicySet s = { .n_tenants = 4242 };
        PolicyErrors e = { 0 };

        cr_assert_eq(mkdir(t, 0755), 0);
        {
                _cleanup_free_ char *a = pjoin(t, "a.ini"), *b = pjoin(t, "b.ini"), *c = pjoin(t, "c.ini");
                write_file(a, "[tenant]\nname = web\nclass = low\n[memory]\nrequest = 1G\n", 0644);
                write_file(b, "[tenant]\nname = web\nclass = low\n[memory]\nrequest = 1G\n", 0644);
                write_file(c, "[tenant]\nclass = low\n[memory]\nrequest = 2G\nlimit = 1G\n", 0644);
        }
        cr_assert_eq(chdir(d), 0);
        cr_assert_eq(policy_load_dir(".", &s, &e), -EINVAL);
        cr_assert_eq(s.n_tenants, 4242, "untouched on failure");
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out, "tenants/c.ini:5: memory.limit: must be >= memory.request (1G)\n"
                              "tenants/a.ini:2: tenant.name: duplicate tenant id, also defined in tenants/b.ini:2 (web)\n"
                              "tenants/b.ini:2: tenant.name: duplicate tenant id, also defined in tenants/a.ini:2 (web)\n");
        policy_errors_clear(&e);
        rm_rf(d);
}

Test(load, insecure_files) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *t = pjoin(d, "tenants");
        PolicySet s;
        PolicyErrors e = { 0 };

        cr_assert_eq(mkdir(t, 0755), 0);
        cr_assert_eq(chdir(d), 0);
        write_file("tenants/open.ini", good_tenant, 0666);
        write_file("tenants/group.ini", good_tenant, 0664);
        write_file("tenants/ok.ini", good_tenant, 0400);
        /* symlinks are followed, the target is what is checked */
        write_file("target-open", good_tenant, 0646);
        write_file("target-ok", good_tenant, 0644);
        cr_assert_eq(symlink("../target-open", "tenants/link-open.ini"), 0);
        cr_assert_eq(symlink("../target-ok", "tenants/link-ok.ini"), 0);
        cr_assert_eq(symlink("../missing", "tenants/link-dangling.ini"), 0);
        cr_assert_eq(symlink("..", "tenants/link-dir.ini"), 0);
        cr_assert_eq(mkfifo("tenants/fifo.ini", 0644), 0);

        cr_assert_eq(policy_load_dir(".", &s, &e), -EINVAL);
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out,
                         "tenants/fifo.ini: not a regular file\n"
                         "tenants/group.ini: insecure, writable by group or others (mode 0664)\n"
                         "tenants/link-dangling.ini: cannot open: No such file or directory\n"
                         "tenants/link-dir.ini: not a regular file\n"
                         "tenants/link-open.ini: insecure, writable by group or others (mode 0646)\n"
                         "tenants/open.ini: insecure, writable by group or others (mode 0666)\n");
        for (size_t i = 0; i < e.n; i++)
                if (strstr(e.v[i].problem, "insecure"))
                        cr_assert_eq(e.v[i].errnum, EPERM);
        policy_errors_clear(&e);

        /* the files that passed load fine on their own */
        char *ok[] = { "tenants/ok.ini", "tenants/link-ok.ini" };
        cr_assert_eq(policy_load_paths(ok, 2, &s, &e), 0);
        cr_assert_eq(e.n, 0);
        cr_assert_eq(s.n_tenants, 2);
        cr_assert_str_eq(s.tenants[0].id, "link-ok");
        policy_set_done(&s);
        rm_rf(d);
}

Test(load, foreign_owner) {
        if (geteuid() != 0)
                cr_skip_test("needs root to chown a file to another user");
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *p = pjoin(d, "x.ini");
        PolicySet s;
        PolicyErrors e = { 0 };
        char *paths[] = { p };

        write_file(p, good_tenant, 0644);
        cr_assert_eq(chown(p, 1234, 1234), 0);
        cr_assert_eq(policy_load_paths(paths, 1, &s, &e), -EINVAL);
        _cleanup_free_ char *out = errors_text(&e);
        _cleanup_free_ char *want = strdup_printf("%s: insecure, not owned by root or the current user (uid 1234)\n", p);
        cr_assert_str_eq(out, want);
        policy_errors_clear(&e);
        rm_rf(d);
}

/* policy_load_dir(dir) must return r and report exactly "<path>: <problem>\n". */
static void assert_load_dir_error(const char *dir, int r, const char *path, const char *problem) {
        _cleanup_free_ char *out = NULL, *want = strdup_printf("%s: %s\n", path, problem);
        PolicySet s;
        PolicyErrors e = { 0 };

        cr_assert_eq(policy_load_dir(dir, &s, &e), r);
        out = errors_text(&e);
        cr_assert_str_eq(out, want);
        policy_errors_clear(&e);
}

/* Whoever may create files in the policy directory or in tenants/ could plant
 * a symlink to any file root can read (its lines would be quoted in the
 * errors): such directories are refused before anything is read. */
Test(load, insecure_directories) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *t = pjoin(d, "tenants"), *f = pjoin(t, "a.ini");
        PolicySet s;
        PolicyErrors e = { 0 };

        cr_assert_eq(mkdir(t, 0755), 0);
        write_file(f, good_tenant, 0644);
        cr_assert_eq(chmod(t, 0777), 0);
        assert_load_dir_error(d, -EINVAL, t, "insecure directory, writable by group or others (mode 0777)");

        cr_assert_eq(chmod(t, 0755), 0);
        cr_assert_eq(chmod(d, 0775), 0);
        assert_load_dir_error(d, -EPERM, d, "insecure directory, writable by group or others (mode 0775)");

        cr_assert_eq(chmod(d, 0755), 0);
        cr_assert_eq(policy_load_dir(d, &s, &e), 0);
        cr_assert_eq(s.n_tenants, 1);
        policy_set_done(&s);
        if (geteuid() == 0) {
                cr_assert_eq(chown(t, 1234, 1234), 0);
                assert_load_dir_error(d, -EINVAL, t,
                                      "insecure directory, not owned by root or the current user (uid 1234)");
        }
        rm_rf(d);
}

Test(load, too_large) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *p = pjoin(d, "big.ini");
        PolicySet s;
        PolicyErrors e = { 0 };
        char *paths[] = { p };
        int fd;

        write_file(p, good_tenant, 0644);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        cr_assert_eq(ftruncate(fd, POLICY_FILE_SIZE_MAX + 1), 0);
        close(fd);
        cr_assert_eq(policy_load_paths(paths, 1, &s, &e), -EINVAL);
        _cleanup_free_ char *out = errors_text(&e);
        _cleanup_free_ char *want = strdup_printf("%s: too large, at most 1 MiB\n", p);
        cr_assert_str_eq(out, want);
        policy_errors_clear(&e);
        rm_rf(d);
}

Test(load, paths_find_classes) {
        _cleanup_free_ char *d = make_tmpdir();
        PolicySet s;
        PolicyErrors e = { 0 };

        cr_assert_eq(chdir(d), 0);
        cr_assert_eq(mkdir("tenants", 0755), 0);
        write_file("classes.ini", "[class.gold]\nrank = 1\n", 0644);
        write_file("tenants/a.ini", "[tenant]\nclass = gold\n[memory]\nrequest = 1G\n", 0644);
        write_file("tenants/b.ini", "[tenant]\nclass = normal\n[memory]\nrequest = 1G\n", 0644);
        write_file("other.ini", "[class.normal]\nrank = 1\n", 0644);
        write_file("host.conf", "[host]\novercommit = 3\n", 0644);

        /* DIR/tenants/a.ini finds DIR/classes.ini */
        char *p1[] = { "tenants/a.ini" };
        cr_assert_eq(policy_load_paths(p1, 1, &s, &e), 0);
        cr_assert_eq(s.classes.n, 1);
        cr_assert_str_eq(s.classes.v[0].file, "tenants/../classes.ini");
        policy_set_done(&s);

        /* ... so b.ini's class is unknown there */
        char *p2[] = { "tenants/b.ini" };
        cr_assert_eq(policy_load_paths(p2, 1, &s, &e), -EINVAL);
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out, "tenants/b.ini:2: tenant.class: unknown class, known: gold (normal)\n");
        policy_errors_clear(&e);

        /* a file next to the tenant wins over the parent */
        write_file("tenants/classes.ini", "[class.normal]\nrank = 1\n", 0644);
        cr_assert_eq(policy_load_paths(p2, 1, &s, &e), 0);
        cr_assert_str_eq(s.classes.v[0].file, "tenants/classes.ini");
        policy_set_done(&s);
        cr_assert_eq(unlink("tenants/classes.ini"), 0);

        /* an explicit classes.ini and .conf among the paths */
        cr_assert_eq(rename("other.ini", "tenants/x"), 0);
        cr_assert_eq(mkdir("alt", 0755), 0);
        cr_assert_eq(rename("tenants/x", "alt/classes.ini"), 0);
        char *p3[] = { "tenants/b.ini", "alt/classes.ini", "host.conf" };
        cr_assert_eq(policy_load_paths(p3, 3, &s, &e), 0);
        cr_assert_eq(s.config.overcommit_bp, 30000);
        cr_assert_str_eq(s.classes.v[0].name, "normal");
        policy_set_done(&s);

        /* nothing to find: the built-in ladder */
        cr_assert_eq(unlink("classes.ini"), 0);
        cr_assert_eq(policy_load_paths(p2, 1, &s, &e), 0);
        cr_assert_eq(s.classes.n, 5);
        policy_set_done(&s);

        /* at most one of each */
        char *p4[] = { "alt/classes.ini", "alt/classes.ini" };
        cr_assert_eq(policy_load_paths(p4, 2, &s, &e), -EINVAL);
        _cleanup_free_ char *out2 = errors_text(&e);
        cr_assert_str_eq(out2, "alt/classes.ini: more than one classes.ini given, first alt/classes.ini\n");
        policy_errors_clear(&e);
        rm_rf(d);
}

Test(load, config) {
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_free_ char *p = pjoin(d, "tenantd.conf"), *missing = pjoin(d, "nope.conf");
        HostConfig c;
        PolicyErrors e = { 0 };

        cr_assert_eq(policy_load_config(missing, &c, &e), -ENOENT);
        cr_assert_eq(e.n, 0, "a missing config is not an error, the caller uses defaults");
        write_file(p, "[policy]\ndir = /srv/p\n", 0644);
        cr_assert_eq(policy_load_config(p, &c, &e), 0);
        cr_assert_str_eq(c.policy_dir, "/srv/p");
        host_config_done(&c);
        write_file(p, "[policy]\ndir = srv\n", 0644);
        cr_assert_eq(policy_load_config(p, &c, &e), -EINVAL);
        cr_assert_eq(e.n, 1);
        policy_errors_clear(&e);
        rm_rf(d);
}

Test(load, shipped_policies) {
        _cleanup_free_ char *dir = pjoin(SOURCE_ROOT, "policies");
        _cleanup_free_ char *probe = pjoin(dir, "tenants/db.ini");
        PolicySet s;
        PolicyErrors e = { 0 };
        struct stat st;

        cr_assert_eq(stat(probe, &st), 0);
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
                cr_skip_test("checkout not owned by this user or group-writable: the loader would refuse it");

        cr_assert_eq(policy_load_dir(dir, &s, &e), 0);
        _cleanup_free_ char *out = errors_text(&e);
        cr_assert_str_eq(out, "");
        cr_assert_eq(s.n_tenants, 5);
        const char *ids[] = { "ci-runner", "db", "dev-vm", "web-01", "web-02" };
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                cr_assert_str_eq(s.tenants[i].id, ids[i]);
        const TenantPolicy *db = &s.tenants[1];
        cr_assert_eq(db->kind, TENANT_VM);
        cr_assert_str_eq(db->class_name, "critical");
        cr_assert_eq(db->huge_size, UINT64_C(2) << 20);
        cr_assert_eq(db->huge_count * db->huge_size, db->vm_memory);
        cr_assert(nodeset_has(&db->nodes, 1));
        cr_assert(!db->vm_balloon);
        cr_assert(s.tenants[2].vm_balloon);
        cr_assert_str_eq(s.tenants[2].class_name, "besteffort");
        cr_assert_str_eq(s.tenants[0].class_name, "low");
        cr_assert_str_eq(s.tenants[3].class_name, "normal");
        cr_assert_eq(s.config.vm_overhead_fixed, UINT64_C(128) << 20);
        policy_set_done(&s);
}

/* ---- corpus ---------------------------------------------------------------------------- */

/* Parses one corpus file by its extension: .ini tenant (then checked against
 * the built-in classes), .classes classes.ini, .conf tenantd.conf. */
static char *corpus_errors(const char *dir, const char *name) {
        _cleanup_free_ char *path = pjoin(dir, name);
        _cleanup_free_ char *stem = strndup(name, strcspn(name, "."));
        PolicyErrors e = { 0 };
        size_t len;
        _cleanup_free_ char *text = read_all(path, &len);
        char *out;

        if (strstr(name, ".classes")) {
                PolicyClasses c;
                classes_parse(text, len, name, &c, &e);
                policy_classes_done(&c);
        } else if (strstr(name, ".conf")) {
                HostConfig c;
                host_config_parse(text, len, name, &c, &e);
                host_config_done(&c);
        } else {
                PolicySet s = { .n_tenants = 1 };

                s.tenants = calloc(1, sizeof(TenantPolicy));
                policy_classes_default(&s.classes);
                host_config_default(&s.config);
                if (tenant_parse(text, len, name, stem, &s.tenants[0], &e) == 0)
                        policy_set_validate(&s, &e);
                policy_set_done(&s);
        }
        out = errors_text(&e);
        policy_errors_clear(&e);
        return out;
}

static bool is_corpus_input(const char *name) {
        return name[0] != '.' && !strstr(name, ".expected");
}

/* Copies text into dir/name, mode 0644 (the checkout's own mode and owner
 * must not decide what the loader says). */
static void corpus_copy(const char *dir, const char *name, const char *text, size_t len) {
        _cleanup_free_ char *p = pjoin(dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        cr_assert(fd >= 0, "cannot create %s", p);
        cr_assert_eq(write(fd, text, len), (ssize_t) len);
        cr_assert_eq(fchmod(fd, 0644), 0);
        close(fd);
}

/* Runs engine_apply on a policy directory with the cgroupfs backend on a fresh
 * fixture tree: a policy the loader refuses must end the run as invalid
 * before the first write, with every fixture file as it was. */
static void assert_nothing_applied(const char *policy_dir, const char *what) {
        _cleanup_free_ char *topo_path = pjoin(SOURCE_ROOT, "tests/fixtures/topology/2node.ini");
        _cleanup_free_ char *topo = NULL, *err = NULL, *before = NULL, *after = NULL, *state = NULL;
        _cleanup_engine_run_ EngineRun run = {0};
        _cleanup_backend_ Backend *b = NULL;
        _cleanup_cgfs_ Cgfs *c = NULL;
        HostTopology host;
        EngineOptions o;
        CgfsHooks h;
        FakeCg f;
        size_t len;

        topo = read_all(topo_path, &len);
        cr_assert_eq(topology_parse(topo, len, &host, &err), 0, "%s", err);
        fake_cg_setup(&f);
        h = fake_cg_hooks(&f);
        cr_assert_eq(cgfs_open(f.root, &h, &c), 0);
        cr_assert_eq(backend_cgfs_new(c, &b), 0);
        state = pjoin(f.root, "hugepages.state");
        o = (EngineOptions) {
                .policy_dir = policy_dir,
                .cgroup_root = f.root,
                .topology = &host,
                .sysfs = f.root,
                .no_launch = true,
                .hugetlb_state = state,
                .reuse_backend = b,
        };
        before = fake_tree_snapshot(f.root);
        cr_expect_eq(engine_apply(&o, &run), ENGINE_INVALID, "%s: the engine did not refuse it", what);
        cr_expect_eq(run.errors.n > 0, true, "%s: no error", what);
        cr_expect_eq(f.seen, 0, "%s: %u cgroup writes", what, f.seen);
        after = fake_tree_snapshot(f.root);
        cr_expect_str_eq(after, before, "%s: the fixture changed", what);
        fake_cg_teardown(&f);
}

/* "dup-rank.classes:5: ..." for what the loader printed as "classes.ini:5: ..." */
static char *relabel(const char *text, const char *from, const char *to) {
        char *buf = NULL;
        size_t len = 0, fl = strlen(from);
        FILE *f = open_memstream(&buf, &len);

        cr_assert(f);
        for (const char *l = text; *l;) {
                const char *eol = strchrnul(l, '\n');

                if (strncmp(l, from, fl) == 0 && (l[fl] == ':' || l[fl] == ' ')) {
                        fputs(to, f);
                        l += fl;
                }
                fprintf(f, "%.*s%s", (int) (eol - l), l, *eol ? "\n" : "");
                l = *eol ? eol + 1 : eol;
        }
        fclose(f);
        return buf;
}

/* The same corpus file as tenantd meets it: alone in a directory, through
 * the loader (policy_load_paths) and the whole engine. The loader must print
 * exactly NAME.expected and hand out no PolicySet; the engine must apply
 * nothing. .classes files are loaded as classes.ini, .conf files as they are,
 * each next to an empty tenants/. */
static void corpus_check_loader(const char *dir, const char *name, const char *expected) {
        _cleanup_free_ char *tmp = make_tmpdir();
        _cleanup_free_ char *src = pjoin(dir, name), *text = NULL, *got = NULL, *want = NULL;
        _cleanup_free_ char *pol = pjoin(tmp, "policy"), *tenants = pjoin(pol, "tenants");
        bool classes = strstr(name, ".classes") != NULL, conf = strstr(name, ".conf") != NULL;
        const char *as = classes ? "classes.ini" : conf ? "tenantd.conf" : name;
        char *paths[] = { (char *) (classes ? "classes.ini" : name) };
        PolicySet s = { .n_tenants = 4242 };
        PolicyErrors e = { 0 };
        size_t len;
        int r;

        text = read_all(src, &len);
        corpus_copy(tmp, paths[0], text, len);
        cr_assert_eq(chdir(tmp), 0);
        r = policy_load_paths(paths, 1, &s, &e);
        cr_expect_eq(r, -EINVAL, "%s: loader returned %d", name, r);
        cr_expect_eq(s.n_tenants, 4242, "%s: a PolicySet was handed out", name);
        got = errors_text(&e);
        policy_errors_clear(&e);
        want = classes ? relabel(expected, name, "classes.ini") : strdup(expected);
        cr_expect_str_eq(got, want, "%s through the loader", name);

        cr_assert_eq(mkdir(pol, 0755), 0);
        cr_assert_eq(mkdir(tenants, 0755), 0);
        corpus_copy(classes || conf ? pol : tenants, as, text, len);
        assert_nothing_applied(pol, name);
        rm_rf(tmp);
}

Test(corpus, good) {
        _cleanup_free_ char *dir = pjoin(SOURCE_ROOT, "tests/corpus/good");
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        cr_assert(d, "%s", dir);
        while ((de = readdir(d))) {
                if (!is_corpus_input(de->d_name))
                        continue;
                _cleanup_free_ char *out = corpus_errors(dir, de->d_name);
                cr_expect_str_eq(out, "", "%s should be valid", de->d_name);
                n++;
        }
        closedir(d);
        cr_assert_geq(n, 8, "corpus found");
}

Test(corpus, bad) {
        _cleanup_free_ char *dir = pjoin(SOURCE_ROOT, "tests/corpus/bad");
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        cr_assert(d, "%s", dir);
        while ((de = readdir(d))) {
                if (!is_corpus_input(de->d_name))
                        continue;
                _cleanup_free_ char *stem = strndup(de->d_name, strcspn(de->d_name, "."));
                _cleanup_free_ char *exp_name = strdup_printf("%s.expected", stem);
                _cleanup_free_ char *exp_path = pjoin(dir, exp_name);
                size_t len;
                _cleanup_free_ char *expected = read_all(exp_path, &len);
                _cleanup_free_ char *out = corpus_errors(dir, de->d_name);

                cr_expect_str_eq(out, expected, "%s", de->d_name);
                cr_expect_str_neq(out, "", "%s must have errors", de->d_name);
                corpus_check_loader(dir, de->d_name, expected);
                n++;
        }
        closedir(d);
        cr_assert_geq(n, 40, "corpus found");
}

/* Bad files that cannot live in git (symlinks, modes, owners): made here, in
 * tenants/ of a policy directory, each alone; the loader prints exactly the
 * line below and the engine applies nothing. */
Test(corpus, bad_on_disk) {
        static const struct {
                const char *name;
                const char *link;       /* a symlink to this, else a file */
                mode_t mode;
                uid_t owner;            /* (uid_t) -1: ours */
                const char *expected;
        } cases[] = {
                { "link-loop.ini", "link-loop.ini", 0, (uid_t) -1,
                  "tenants/link-loop.ini: cannot open: Too many levels of symbolic links\n" },
                { "link-device.ini", "/dev/null", 0, (uid_t) -1, "tenants/link-device.ini: not a regular file\n" },
                /* the target's problems are reported under the name that was read */
                { "link-bad.ini", "../slash-id.ini", 0, (uid_t) -1,
                  "tenants/link-bad.ini:3: tenant.name: invalid tenant id: invalid character, use [A-Za-z0-9_.-] (../../etc)\n" },
                { "link-open.ini", "../open-target.ini", 0, (uid_t) -1,
                  "tenants/link-open.ini: insecure, writable by group or others (mode 0666)\n" },
                { "group-writable.ini", NULL, 0620, (uid_t) -1,
                  "tenants/group-writable.ini: insecure, writable by group or others (mode 0620)\n" },
                { "other-writable.ini", NULL, 0602, (uid_t) -1,
                  "tenants/other-writable.ini: insecure, writable by group or others (mode 0602)\n" },
                { "foreign-owner.ini", NULL, 0644, 65534,
                  "tenants/foreign-owner.ini: insecure, not owned by root or the current user (uid 65534)\n" },
        };
        _cleanup_free_ char *corpus = pjoin(SOURCE_ROOT, "tests/corpus/bad/slash-id.ini");
        size_t len;
        _cleanup_free_ char *slash_id = read_all(corpus, &len);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *d = make_tmpdir(), *got = NULL, *tenants = pjoin(d, "tenants");
                _cleanup_free_ char *path = pjoin(tenants, cases[i].name);
                PolicySet s = { .n_tenants = 4242 };
                PolicyErrors e = { 0 };

                if (cases[i].owner != (uid_t) -1 && geteuid() != 0) {
                        cr_log_warn("%s: needs root to chown, skipped", cases[i].name);
                        rm_rf(d);
                        continue;
                }
                cr_assert_eq(mkdir(tenants, 0755), 0);
                cr_assert_eq(chdir(d), 0);
                corpus_copy(d, "slash-id.ini", slash_id, len);
                write_file("open-target.ini", good_tenant, 0666);
                if (cases[i].link)
                        cr_assert_eq(symlink(cases[i].link, path), 0);
                else {
                        write_file(path, good_tenant, cases[i].mode);
                        if (cases[i].owner != (uid_t) -1)
                                cr_assert_eq(chown(path, cases[i].owner, (gid_t) -1), 0);
                }
                cr_expect_eq(policy_load_dir(".", &s, &e), -EINVAL, "%s", cases[i].name);
                cr_expect_eq(s.n_tenants, 4242, "%s: a PolicySet was handed out", cases[i].name);
                got = errors_text(&e);
                policy_errors_clear(&e);
                cr_expect_str_eq(got, cases[i].expected, "%s", cases[i].name);
                assert_nothing_applied(d, cases[i].name);
                rm_rf(d);
        }
}

/* ---- direct kernel boot of a VM ----------------------------------------------------------------- */

Test(tenant, vm_kernel_initrd_append) {
        static const char text[] = "[tenant]\nkind = vm\nclass = low\n[vm]\nmemory = 128M\n"
                                   "kernel = /boot/vmlinuz\ninitrd = /srv/initrd.img\nappend = console=ttyS0 quiet\n";
        PolicyErrors e = { 0 };
        TenantPolicy t;

        cr_assert_eq(tenant_parse(text, strlen(text), "vm.ini", "vm", &t, &e), 0, "%s", errors_text(&e));
        cr_assert_str_eq(t.vm_kernel, "/boot/vmlinuz");
        cr_assert_str_eq(t.vm_initrd, "/srv/initrd.img");
        cr_assert_str_eq(t.vm_append, "console=ttyS0 quiet");
        tenant_policy_done(&t);
}

Test(tenant, vm_initrd_needs_kernel_and_paths_are_absolute) {
        static const char text[] = "[tenant]\nkind = vm\nclass = low\n[vm]\nmemory = 128M\ninitrd = /srv/initrd.img\n";
        static const char rel[] = "[tenant]\nkind = vm\nclass = low\n[vm]\nmemory = 128M\nkernel = vmlinuz\n";
        PolicyErrors e = { 0 };
        TenantPolicy t;

        cr_assert_eq(tenant_parse(text, strlen(text), "vm.ini", "vm", &t, &e), -EINVAL);
        cr_assert_str_eq(errors_text(&e), "vm.ini:6: vm.initrd: needs vm.kernel\n");
        tenant_policy_done(&t);
        policy_errors_clear(&e);
        cr_assert_eq(tenant_parse(rel, strlen(rel), "vm.ini", "vm", &t, &e), -EINVAL);
        cr_assert(strstr(errors_text(&e), "vm.ini:6: vm.kernel: "), "%s", errors_text(&e));
        tenant_policy_done(&t);
        policy_errors_clear(&e);
}
