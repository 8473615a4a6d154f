/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctl/hugetlb.c against a fixture sysfs tree. The write hook plays the kernel:
 * a pool grows only up to what its node can assemble (`cap`, which compaction
 * may raise by `assemble` per call), never shrinks below the pages in use, and
 * free_hugepages follows. The real kernel is in tests/testbed/test-numa.c.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "hugetlb.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)

typedef struct FakePool {
        unsigned node;
        uint64_t page_size;
        uint64_t nr, used, cap;
        uint64_t assemble;   /* cap grows by this much per compaction */
} FakePool;

static char root[64];
static char state[128];
static char usage[128];
static FakePool pools[4];
static size_t n_pools;
static unsigned writes, compactions;
static int fail_errno;   /* fail nr_hugepages writes with -fail_errno */

static void put(const char *path, const char *fmt, ...) _printf_(2, 3);
static void put(const char *path, const char *fmt, ...) {
        FILE *f = fopen(path, "we");
        va_list ap;

        cr_assert_not_null(f, "%s", path);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fclose(f);
}

/* Whole file into a static buffer; "<missing>" when it does not exist. */
static const char *slurp(const char *path) {
        static char buf[4096];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return "<missing>";
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static char *pool_path(const FakePool *p, const char *attr) {
        char name[64];

        return strdup_printf("%s/devices/system/node/node%u/hugepages/%s/%s", root, p->node,
                             hugetlb_sysfs_name(p->page_size, name, sizeof(name)), attr);
}

static void sync_files(const FakePool *p) {
        char *nr = pool_path(p, "nr_hugepages"), *fr = pool_path(p, "free_hugepages");

        put(nr, "%" PRIu64 "\n", p->nr);
        put(fr, "%" PRIu64 "\n", p->nr - p->used);
        free(nr);
        free(fr);
}

static FakePool *add_pool(unsigned node, uint64_t page_size, uint64_t nr, uint64_t used, uint64_t cap) {
        FakePool *p = &pools[n_pools++];
        char *dir, *cmd;

        *p = (FakePool) { .node = node, .page_size = page_size, .nr = nr, .used = used, .cap = cap };
        dir = pool_path(p, "");
        cmd = strdup_printf("mkdir -p '%s'", dir);
        cr_assert_eq(system(cmd), 0);
        free(cmd);
        free(dir);
        sync_files(p);
        return p;
}

static FakePool *find_pool(const char *path) {
        for (size_t i = 0; i < n_pools; i++) {
                char *want = pool_path(&pools[i], "nr_hugepages");
                bool eq = streq(want, path);

                free(want);
                if (eq)
                        return &pools[i];
        }
        return NULL;
}

/* The kernel's side of a write below sysfs_root. */
static int fake_write(const char *path, const char *value, void *userdata) {
        FakePool *p;
        uint64_t v;

        (void) userdata;
        cr_assert(strncmp(path, root, strlen(root)) == 0, "write outside the fixture: %s", path);
        if (strstr(path, "/compact")) {
                compactions++;
                unsigned node = (unsigned) atoi(strstr(path, "/node/node") + strlen("/node/node"));

                for (size_t i = 0; i < n_pools; i++)
                        if (pools[i].node == node)
                                pools[i].cap += pools[i].assemble;
                return 1;
        }
        p = find_pool(path);
        cr_assert_not_null(p, "write to an unknown file: %s", path);
        writes++;
        if (fail_errno)
                return -fail_errno;
        v = strtoull(value, NULL, 10);
        if (v > p->nr)
                p->nr = v < p->cap ? v : (p->cap > p->nr ? p->cap : p->nr);
        else
                p->nr = v > p->used ? v : p->used;
        sync_files(p);
        return 1;
}

static const HugetlbHooks hooks = { .write = fake_write };

static HugetlbOptions opts(void) {
        return (HugetlbOptions) {
                .state_path = state,
                .usage_cgroup = usage,
                .timeout_usec = 0,
                .retry_usec = 1000,
                .hooks = &hooks,
        };
}

static void setup(void) {
        char *cmd;

        snprintf(root, sizeof(root), "/tmp/test-hugetlb.XXXXXX");
        cr_assert_not_null(mkdtemp(root));
        snprintf(state, sizeof(state), "%s/run/tenantd/hugepages", root);
        snprintf(usage, sizeof(usage), "%s/cgroup/tenants.slice", root);
        cmd = strdup_printf("mkdir -p '%s/run/tenantd' '%s'", root, usage);
        cr_assert_eq(system(cmd), 0);
        free(cmd);
        n_pools = 0;
        writes = compactions = 0;
        fail_errno = 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static void teardown(void) {
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(hugetlb, .init = setup, .fini = teardown);

static char *joined(char **v) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        for (char **l = v; l && *l; l++)
                fprintf(f, "%s\n", *l);
        fclose(f);
        return out;
}

static void assert_lines(const HugetlbReport *r, const char *want) {
        char *got = joined(r->lines);

        cr_assert_str_eq(got, want);
        free(got);
}

static void assert_state(const char *want_body) {
        const char *got = slurp(state);
        char *want = strdup_printf("# tenantd: hugepages it added to the kernel's pools (hugetlb.h)\n"
                                   "# node page_size_bytes pages_added\n%s",
                                   want_body);

        cr_assert_str_eq(got, want);
        free(want);
}

/* ---- reserve -------------------------------------------------------------------------- */

Test(hugetlb, sysfs_names) {
        char buf[64];

        cr_assert_str_eq(hugetlb_sysfs_name(2 * M, buf, sizeof(buf)), "hugepages-2048kB");
        cr_assert_str_eq(hugetlb_sysfs_name(G, buf, sizeof(buf)), "hugepages-1048576kB");
}

Test(hugetlb, reserve_grows_to_exactly_what_tenants_need) {
        PlanPoolUser users[] = { { "db", 96 } };
        PlanPool want[] = { { .node = 1, .page_size = 2 * M, .pages = 96, .users = users, .n_users = 1 } };
        FakePool *p0 = add_pool(0, 2 * M, 16, 0, 1000), *p1 = add_pool(1, 2 * M, 32, 0, 1000);
        HugetlbOptions o = opts();
        HugetlbReport r;

        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0, "%s", r.error);
        cr_assert_eq(p1->nr, 96, "the boot pages count: 32 + 64 added");
        cr_assert_eq(p0->nr, 16, "another node is not touched");
        cr_assert_eq(writes, 1);
        assert_lines(&r, "node 1: 2M pages: 32 -> 96 (added 64; tenants need 96)\n");
        cr_assert_null(r.refused);
        cr_assert_eq(r.n_pools, 1);
        cr_assert_eq(r.pools[0].before, 32);
        cr_assert_eq(r.pools[0].got, 96);
        cr_assert_eq(r.pools[0].added_after, 64);
        assert_state("1 2097152 64\n");
        hugetlb_report_done(&r);

        /* a second reserve finds enough: no write, no line */
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        cr_assert_eq(writes, 1);
        cr_assert_null(r.lines);
        assert_state("1 2097152 64\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, reserve_uses_free_base_pages_first) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 10 } };
        HugetlbOptions o = opts();
        HugetlbReport r;

        add_pool(0, 2 * M, 16, 0, 1000);
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        cr_assert_eq(writes, 0, "16 free pages hold 10");
        cr_assert_null(r.lines);
        cr_assert_str_eq(slurp(state), "<missing>", "nothing added, nothing recorded");
        hugetlb_report_done(&r);
}

Test(hugetlb, reserve_leaves_pages_of_others_alone) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 10 } };
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 16, 12, 1000);   /* someone uses 12 of the 16 */
        HugetlbReport r;

        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        cr_assert_eq(p->nr, 22);
        cr_assert_eq(r.pools[0].others, 12);
        assert_lines(&r, "node 0: 2M pages: 16 -> 22 (added 6; tenants need 10, others use 12)\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, reserve_does_not_count_tenants_pages_as_others) {
        PlanPool want[] = { { .node = 1, .page_size = 2 * M, .pages = 32 } };
        HugetlbOptions o = opts();
        FakePool *p = add_pool(1, 2 * M, 40, 36, 1000);   /* 30 pages are tenants', 6 others' */
        char *f = strdup_printf("%s/hugetlb.2MB.numa_stat", usage);
        HugetlbReport r;

        put(f, "total=%" PRIu64 " N0=0 N1=%" PRIu64 "\n", 30 * 2 * M, 30 * 2 * M);
        free(f);
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        cr_assert_eq(r.pools[0].others, 6);
        cr_assert_eq(p->nr, 40, "32 for tenants + 6 others fit in 40");
        cr_assert_eq(writes, 0);
        hugetlb_report_done(&r);
}

Test(hugetlb, short_pool_reports_exact_numbers_and_refuses) {
        PlanPoolUser users[] = { { "web", 20 }, { "db", 96 }, { "ci", 8 } };
        PlanPool want[] = { { .node = 1, .page_size = 2 * M, .pages = 124, .users = users, .n_users = 3 } };
        HugetlbOptions o = opts();
        FakePool *p = add_pool(1, 2 * M, 32, 0, 60);
        HugetlbReport r;

        o.timeout_usec = 20000;
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), -ENOMEM);
        cr_assert_eq(p->nr, 60);
        cr_assert_gt(writes, 1, "a short pool is written again until the deadline");
        cr_assert_eq(compactions, writes - 1, "the node is compacted before each retry");
        cr_assert_geq(r.elapsed_usec, 20000);
        /* web takes 20 of 60; db (96) does not fit in the 40 left; ci (8) does */
        assert_lines(&r, "node 1: 2M pages: wanted 124, got 60 (64 short)\n"
                         "tenant 'db' refused: needs 96 x 2M on node 1, pool has 40 free\n");
        cr_assert_str_eq(r.refused[0], "db");
        cr_assert_null(r.refused[1]);
        assert_state("1 2097152 28\n");

        /* all or nothing: put it back */
        cr_assert_eq(hugetlb_restore(root, &r, &o), 0);
        cr_assert_eq(p->nr, 32);
        assert_lines(&r, "node 1: 2M pages: wanted 124, got 60 (64 short)\n"
                         "tenant 'db' refused: needs 96 x 2M on node 1, pool has 40 free\n"
                         "node 1: 2M pages: 60 -> 32 (restored)\n");
        assert_state("");
        hugetlb_report_done(&r);
}

Test(hugetlb, short_pool_with_others) {
        PlanPoolUser users[] = { { "db", 20 } };
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 20, .users = users, .n_users = 1 } };
        HugetlbOptions o = opts();
        HugetlbReport r;

        add_pool(0, 2 * M, 10, 4, 18);
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), -ENOMEM);
        cr_assert_eq(writes, 1, "timeout 0: one attempt");
        assert_lines(&r, "node 0: 2M pages: wanted 24 (20 for tenants + 4 in use by others), got 18 (6 short)\n"
                         "tenant 'db' refused: needs 20 x 2M on node 0, pool has 14 free\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, retry_succeeds_after_compaction) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 100 } };
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 0, 0, 70);
        HugetlbReport r;

        p->assemble = 10;   /* each compaction frees room for 10 more pages */
        o.timeout_usec = 10 * 1000 * 1000;
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        cr_assert_eq(p->nr, 100);
        cr_assert_eq(r.pools[0].attempts, 4, "70, 80, 90, 100");
        assert_lines(&r, "node 0: 2M pages: 0 -> 100 (added 100; tenants need 100)\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, two_sizes_and_nodes) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 8 }, { .node = 1, .page_size = G, .pages = 2 } };
        HugetlbOptions o = opts();
        FakePool *a = add_pool(0, 2 * M, 0, 0, 1000), *b = add_pool(1, G, 1, 0, 4);
        HugetlbReport r;

        cr_assert_eq(hugetlb_reserve(root, want, 2, &o, &r), 0);
        cr_assert_eq(a->nr, 8);
        cr_assert_eq(b->nr, 2);
        assert_lines(&r, "node 0: 2M pages: 0 -> 8 (added 8; tenants need 8)\n"
                         "node 1: 1G pages: 1 -> 2 (added 1; tenants need 2)\n");
        assert_state("0 2097152 8\n1 1073741824 1\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, write_error_is_reported_and_nothing_recorded) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 8 } };
        HugetlbOptions o = opts();
        HugetlbReport r;
        char *want_err;

        add_pool(0, 2 * M, 0, 0, 1000);
        fail_errno = EACCES;
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), -EACCES);
        want_err = strdup_printf("node 0: 2M pages: cannot write %s/devices/system/node/node0/hugepages/"
                                 "hugepages-2048kB/nr_hugepages = 8: Permission denied", root);
        cr_assert_str_eq(r.error, want_err);
        cr_assert_str_eq(slurp(state), "<missing>");
        free(want_err);
        hugetlb_report_done(&r);
}

Test(hugetlb, missing_node_or_size) {
        PlanPool want[] = { { .node = 3, .page_size = 2 * M, .pages = 8 } };
        HugetlbOptions o = opts();
        HugetlbReport r;
        char *want_err;

        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), -ENOENT);
        want_err = strdup_printf("node 3: 2M pages: cannot read %s/devices/system/node/node3/hugepages/"
                                 "hugepages-2048kB: no such node or page size", root);
        cr_assert_str_eq(r.error, want_err);
        free(want_err);
        hugetlb_report_done(&r);
}

/* ---- release: pages no longer needed ------------------------------------------------ */

Test(hugetlb, release_returns_only_what_tenantd_added) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 40 } };
        PlanPool less[] = { { .node = 0, .page_size = 2 * M, .pages = 30 } };
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 16, 0, 1000);   /* 16 boot pages: the host's */
        HugetlbReport r;

        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        cr_assert_eq(p->nr, 40);
        assert_state("0 2097152 24\n");
        hugetlb_report_done(&r);

        /* still needed: nothing returned */
        cr_assert_eq(hugetlb_release(root, want, 1, &o, &r), 0);
        cr_assert_eq(p->nr, 40);
        cr_assert_null(r.lines);
        hugetlb_report_done(&r);

        cr_assert_eq(hugetlb_release(root, less, 1, &o, &r), 0);
        cr_assert_eq(p->nr, 30);
        assert_lines(&r, "node 0: 2M pages: 40 -> 30 (returned 10; tenants need 30)\n");
        assert_state("0 2097152 14\n");
        hugetlb_report_done(&r);

        /* no tenant needs any: back to the host's 16, not below */
        cr_assert_eq(hugetlb_release(root, NULL, 0, &o, &r), 0);
        cr_assert_eq(p->nr, 16);
        assert_lines(&r, "node 0: 2M pages: 30 -> 16 (returned 14; tenants need 0)\n");
        assert_state("");
        hugetlb_report_done(&r);

        /* nothing of ours left: never shrinks the host's pool */
        cr_assert_eq(hugetlb_release(root, NULL, 0, &o, &r), 0);
        cr_assert_eq(p->nr, 16);
        cr_assert_eq(r.n_pools, 0);
        hugetlb_report_done(&r);
}

Test(hugetlb, release_keeps_pages_others_use) {
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 40, 0, 1000);
        HugetlbReport r;

        put(state, "0 2097152 30\n");   /* we added 30 of the 40 */
        p->used = 25;                   /* and others took 25 meanwhile */
        sync_files(p);
        cr_assert_eq(hugetlb_release(root, NULL, 0, &o, &r), 0);
        cr_assert_eq(p->nr, 25);
        assert_lines(&r, "node 0: 2M pages: 40 -> 25 (returned 15; tenants need 0, others use 25)\n");
        assert_state("0 2097152 15\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, release_after_admin_shrank_the_pool) {
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 5, 0, 1000);
        HugetlbReport r;

        put(state, "0 2097152 30\n");   /* the admin wrote 5 behind our back */
        cr_assert_eq(hugetlb_release(root, NULL, 0, &o, &r), 0);
        cr_assert_eq(p->nr, 0);
        assert_lines(&r, "node 0: 2M pages: 5 -> 0 (returned 5; tenants need 0)\n");
        assert_state("");
        hugetlb_report_done(&r);
}

Test(hugetlb, release_when_kernel_keeps_pages) {
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 40, 0, 1000);
        HugetlbReport r;

        put(state, "0 2097152 40\n");
        char *stat = strdup_printf("%s/hugetlb.2MB.numa_stat", usage);

        p->used = 10;   /* tenants' pages the plan no longer counts (still mapped) */
        sync_files(p);
        put(stat, "total=20971520 N0=20971520\n");
        free(stat);
        cr_assert_eq(hugetlb_release(root, NULL, 0, &o, &r), 0);
        cr_assert_eq(p->nr, 10, "the kernel keeps pages in use");
        assert_lines(&r, "node 0: 2M pages: 40 -> 10 (returned 30; tenants need 0)\n");
        assert_state("0 2097152 10\n");
        hugetlb_report_done(&r);
}

Test(hugetlb, bad_state_lines_are_ignored) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 4 } };
        HugetlbOptions o = opts();
        HugetlbReport r;
        char *want_lines;

        add_pool(0, 2 * M, 0, 0, 1000);
        put(state, "# comment\n\nnonsense\n0 2097152 3 extra\n1 2097152 7\n");
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        want_lines = strdup_printf("%s:3: cannot parse 'nonsense', ignoring\n"
                                   "%s:4: cannot parse '0 2097152 3 extra', ignoring\n"
                                   "node 0: 2M pages: 0 -> 4 (added 4; tenants need 4)\n",
                                   state, state);
        assert_lines(&r, want_lines);
        assert_state("1 2097152 7\n0 2097152 4\n");
        free(want_lines);
        hugetlb_report_done(&r);
}

Test(hugetlb, no_state_file_means_never_return) {
        PlanPool want[] = { { .node = 0, .page_size = 2 * M, .pages = 8 } };
        HugetlbOptions o = opts();
        FakePool *p = add_pool(0, 2 * M, 0, 0, 1000);
        HugetlbReport r;

        o.state_path = NULL;
        cr_assert_eq(hugetlb_reserve(root, want, 1, &o, &r), 0);
        hugetlb_report_done(&r);
        cr_assert_eq(hugetlb_release(root, NULL, 0, &o, &r), 0);
        cr_assert_eq(p->nr, 8);
        hugetlb_report_done(&r);
}
