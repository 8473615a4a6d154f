/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner (ctl/plan.c, plan-place.c, plan-print.c). Policies are built as
 * structs here, not parsed, so every number below follows from the planner's
 * rules alone; hosts come from tests/fixtures/topology/.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>

#include "plan.h"

#define K UINT64_C(1024)
#define M (K * K)
#define G (M * K)

static PolicySet set;
static TenantPolicy tenants[16];
static char files[16][64];
static HostTopology host;
static Plan plan;
static PolicyErrors errs;

static void add_class(const char *name, unsigned rank, ProtectKind protect, uint32_t high_bp, uint64_t swap,
                      uint64_t zswap, unsigned weight) {
        PolicyClass *c = &set.classes.v[set.classes.n++];

        *c = (PolicyClass) {
                .rank = rank,
                .protect = protect,
                .high_bp = high_bp,
                .swap_max = swap,
                .zswap_max = zswap,
                .cpu_weight = weight,
                .pressure = PRESSURE_SPEC_UNSET,
        };
        strcpy(c->name, name);
}

static void load_host(const char *name) {
        char *path = strdup_printf("%s/tests/fixtures/topology/%s", SOURCE_ROOT, name), *text = NULL, *err = NULL;
        FILE *f = fopen(path, "re");
        size_t n = 0;

        cr_assert_not_null(f, "%s", path);
        cr_assert_gt(getdelim(&text, &n, '\0', f), 0);
        fclose(f);
        cr_assert_eq(topology_parse(text, strlen(text), &host, &err), 0, "%s: %s", name, err ? err : "");
        free(text);
        free(path);
}

static void init(void) {
        /* Not the shipped ladder on purpose: every number here is chosen by the test. */
        add_class("critical", 50, PROTECT_MIN, HIGH_BP_MAX, 0, 0, 400);
        add_class("high", 40, PROTECT_MIN, 10000, 0, SIZE_UNSET, 200);
        add_class("normal", 30, PROTECT_LOW, 9000, SIZE_INFINITY, SIZE_UNSET, 100);
        add_class("low", 20, PROTECT_NONE, 10000, SIZE_INFINITY, SIZE_UNSET, 50);
        add_class("besteffort", 10, PROTECT_NONE, 10000, SIZE_INFINITY, SIZE_UNSET, 10);
        set.config = (HostConfig) {
                .reserve = { .bytes = 0 },
                .overcommit_bp = 15000,
                .vm_overhead_fixed = 192 * M,
                .vm_overhead_per_vcpu = 8 * M,
                .vm_video_default = 16 * M,
                .vm_pagetable_divisor = 512,
                .pressure = PRESSURE_SPEC_UNSET,
        };
        set.tenants = tenants;
        load_host("1node.ini");
}

static void fini(void) {
        plan_done(&plan);
        policy_errors_clear(&errs);
}

TestSuite(plan, .init = init, .fini = fini);

/* A container with the given request; everything else unset. Add in id order. */
static TenantPolicy *add(const char *id, const char *klass, uint64_t request) {
        size_t i = set.n_tenants++;
        TenantPolicy *t = &tenants[i];

        snprintf(files[i], sizeof(files[i]), "%s.ini", id);
        *t = (TenantPolicy) {
                .file = files[i],
                .line = 1,
                .kind = TENANT_CONTAINER,
                .request = { .bytes = request },
                .limit = SIZE_SPEC_UNSET,
                .swap = SIZE_SPEC_UNSET,
                .zswap = SIZE_SPEC_UNSET,
                .vm_memory = SIZE_UNSET,
                .vm_video = SIZE_UNSET,
                .pressure = PRESSURE_SPEC_UNSET,
                .numa_mode = NUMA_STRICT,
                .line_class = 3,
                .line_request = 5,
                .line_limit = 6,
                .line_swap = 7,
                .line_cpus = 9,
                .line_nodes = 12,
                .line_huge = 15,
                .line_vm_memory = 18,
        };
        strcpy(t->id, id);
        strcpy(t->class_name, klass);
        return t;
}

static TenantPolicy *add_vm(const char *id, const char *klass, uint64_t memory, unsigned vcpus) {
        TenantPolicy *t = add(id, klass, 0);

        t->kind = TENANT_VM;
        t->request = SIZE_SPEC_UNSET;
        t->vm_memory = memory;
        t->vm_vcpus = vcpus;
        return t;
}

static TenantPolicy *numa_auto(TenantPolicy *t) {
        t->has_nodes = true;
        t->nodes_auto = true;
        return t;
}

static TenantPolicy *numa_nodes(TenantPolicy *t, const char *list) {
        t->has_nodes = true;
        cr_assert_eq(nodelist_parse(list, &t->nodes), 0);
        return t;
}

static TenantPolicy *cpu_list(TenantPolicy *t, const char *list) {
        t->has_cpu_list = true;
        cr_assert_eq(cpulist_parse(list, &t->cpu_list), 0);
        return t;
}

static TenantPolicy *hugepages(TenantPolicy *t, uint64_t size, uint64_t count) {
        t->huge_size = size;
        t->huge_count = count;
        return t;
}

static char *errors_str(void) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        policy_errors_print(&errs, f);
        fclose(f);
        return buf;
}

static void build_ok(void) {
        int r = plan_build(&set, &host, &plan, &errs);

        if (r < 0) {
                char *e = errors_str();

                cr_assert_fail("plan_build: %s\n%s", strerror(-r), e);
        }
        cr_assert_eq(errs.n, 0);
}

/* Builds expecting failure r; returns the printed errors (caller frees). */
static char *build_fails(int expected) {
        int r = plan_build(&set, &host, &plan, &errs);

        cr_assert_eq(r, expected, "plan_build returned %d, expected %d", r, expected);
        cr_assert_eq(plan.n_nodes, 0, "plan untouched on failure");
        cr_assert_null(plan.nodes);
        return errors_str();
}

static const PlanNode *tenant_node(const char *id) {
        for (size_t i = 0; i < plan.n_nodes; i++)
                if (plan.nodes[i].tenant >= 0 && streq(set.tenants[plan.nodes[i].tenant].id, id))
                        return &plan.nodes[i];
        cr_assert_fail("no plan node for tenant %s", id);
        return NULL;
}

static const PlanNode *unit_node(const char *unit) {
        for (size_t i = 0; i < plan.n_nodes; i++)
                if (streq(plan.nodes[i].unit, unit))
                        return &plan.nodes[i];
        cr_assert_fail("no plan node %s", unit);
        return NULL;
}

static const char *cpus_of(const PlanNode *n) {
        static char buf[256];
        return cpulist_format(&n->cpus, buf, sizeof(buf));
}

static const char *mems_of(const PlanNode *n) {
        static char buf[256];
        return nodelist_format(&n->mems, buf, sizeof(buf));
}

/* ---- hierarchy and names -------------------------------------------------------- */

Test(plan, hierarchy_order_units_paths) {
        add("db", "critical", G)->exec = (char[]) { "/usr/bin/db" };
        add("web-01", "normal", G);
        add("web-02", "normal", G);
        add("zz", "besteffort", 0);
        build_ok();

        cr_assert_eq(plan.n_nodes, 1 + 5 + 4);
        cr_assert_eq(plan.nodes[0].type, PLAN_ROOT_SLICE);
        cr_assert_str_eq(plan.nodes[0].unit, "tenants.slice");
        cr_assert_str_eq(plan.nodes[0].path, "tenants.slice");
        cr_assert_eq(plan.nodes[0].parent, -1);
        cr_assert_null(plan.nodes[0].klass);

        static const char *const classes[] = { "critical", "high", "normal", "low", "besteffort" };
        for (int i = 0; i < 5; i++) {
                char *unit = strdup_printf("tenants-%s.slice", classes[i]);
                char *path = strdup_printf("tenants.slice/%s", unit);
                const PlanNode *n = &plan.nodes[1 + i];

                cr_assert_eq(n->type, PLAN_CLASS_SLICE);
                cr_assert_str_eq(n->unit, unit);
                cr_assert_str_eq(n->path, path);
                cr_assert_eq(n->parent, 0);
                cr_assert_eq(n->tenant, -1);
                cr_assert_str_eq(n->klass->name, classes[i]);
                free(unit);
                free(path);
        }

        cr_assert_str_eq(plan.nodes[6].unit, "tenant-db.service");
        cr_assert_str_eq(plan.nodes[6].path, "tenants.slice/tenants-critical.slice/tenant-db.service");
        cr_assert_eq(plan.nodes[6].parent, 1);
        cr_assert_str_eq(plan.nodes[7].unit, "tenant-web\\x2d01.scope");
        cr_assert_str_eq(plan.nodes[7].path, "tenants.slice/tenants-normal.slice/tenant-web\\x2d01.scope");
        cr_assert_str_eq(plan.nodes[8].unit, "tenant-web\\x2d02.scope");
        /* PITFALLS 8: siblings in their class slice, no shared "web" parent */
        cr_assert_eq(plan.nodes[7].parent, 3);
        cr_assert_eq(plan.nodes[8].parent, 3);
        cr_assert_str_eq(plan.nodes[9].unit, "tenant-zz.scope");
        cr_assert_eq(plan.nodes[9].parent, 5);
        cr_assert_eq(plan.nodes[9].tenant, 3);
}

/* ---- values per class ------------------------------------------------------------- */

Test(plan, class_values) {
        add("a", "critical", G);
        add("b", "high", G)->limit.bytes = 2 * G;
        add("c", "normal", G)->limit.bytes = 2 * G;
        add("d", "low", 512 * M)->limit.bytes = G;
        add("e", "besteffort", 0)->limit.bytes = 256 * M;
        build_ok();

        const PlanNode *a = tenant_node("a"), *b = tenant_node("b"), *c = tenant_node("c"),
                       *d = tenant_node("d"), *e = tenant_node("e");

        /* critical: min = request, high "max" */
        cr_assert_eq(a->memory_min, G);
        cr_assert_eq(a->memory_low, 0);
        cr_assert_eq(a->memory_high, SIZE_INFINITY);
        cr_assert_eq(a->memory_max, G);
        cr_assert_eq(a->swap_max, 0);
        cr_assert_eq(a->zswap_max, 0);
        cr_assert_eq(a->cpu_weight, 400);
        cr_assert_eq(a->guarantee, G);

        /* high: min = request, high = limit */
        cr_assert_eq(b->memory_min, G);
        cr_assert_eq(b->memory_low, 0);
        cr_assert_eq(b->memory_high, 2 * G);
        cr_assert_eq(b->memory_max, 2 * G);
        cr_assert_eq(b->swap_max, 0);
        cr_assert_eq(b->zswap_max, SIZE_UNSET);

        /* normal: low = request, high = 1G + 0.9 * 1G rounded down to a page */
        cr_assert_eq(c->memory_min, 0);
        cr_assert_eq(c->memory_low, G);
        cr_assert_eq(c->memory_high, UINT64_C(2040107008));
        cr_assert_eq(c->memory_high % 4096, 0);
        cr_assert_eq(c->memory_max, 2 * G);
        cr_assert_eq(c->swap_max, SIZE_INFINITY);
        cr_assert_eq(c->cpu_weight, 100);
        cr_assert_eq(c->guarantee, G);

        /* low and besteffort: no protection */
        cr_assert_eq(d->memory_min, 0);
        cr_assert_eq(d->memory_low, 0);
        cr_assert_eq(d->memory_high, G);
        cr_assert_eq(d->memory_max, G);
        cr_assert_eq(d->guarantee, 0);
        cr_assert_eq(e->memory_high, 256 * M);
        cr_assert_eq(e->memory_max, 256 * M);
        cr_assert_eq(e->cpu_weight, 10);

        /* no [numa]: no cpuset */
        cr_assert(cpuset_is_empty(&a->cpus));
        cr_assert_eq(a->mems.bits, 0);
        cr_assert_str_eq(a->placement, "none: not NUMA-bound");

        cr_assert_eq(plan.guaranteed, 3 * G);
        cr_assert_eq(plan.limits, G + 2 * G + 2 * G + G + 256 * M);
        cr_assert_eq(plan.capacity, 8 * G);
        cr_assert_eq(plan.limit_capacity, 12 * G);
}

Test(plan, tenant_overrides) {
        TenantPolicy *t = add("a", "normal", G);

        t->limit.bytes = 2 * G;
        t->cpu_weight = 300;
        t->swap = (SizeSpec) { .bytes = 512 * M };
        t->zswap = (SizeSpec) { .percent_bp = 1000 };   /* 10% of 8G, rounded down to 4K */
        build_ok();

        const PlanNode *n = tenant_node("a");
        cr_assert_eq(n->cpu_weight, 300);
        cr_assert_eq(n->swap_max, 512 * M);
        cr_assert_eq(n->zswap_max, UINT64_C(858992640));
}

Test(plan, percent_request_and_max_limit) {
        TenantPolicy *t = add("a", "normal", 0);

        t->request = (SizeSpec) { .percent_bp = 2500 };
        t->limit = (SizeSpec) { .bytes = SIZE_INFINITY };
        build_ok();

        const PlanNode *n = tenant_node("a");
        cr_assert_eq(n->memory_low, 2 * G);
        cr_assert_eq(n->memory_max, SIZE_INFINITY);
        cr_assert_eq(n->memory_high, SIZE_INFINITY, "no finite limit to interpolate to");
        cr_assert_eq(plan.limits, 0, "memory.max = max is not counted");
}

Test(plan, sizes_round_up_to_pages) {
        add("a", "critical", 1000000)->limit.bytes = 2000000;
        add("b", "normal", 1000000)->limit.bytes = 2000000;
        build_ok();

        cr_assert_eq(tenant_node("a")->memory_min, 1003520);
        cr_assert_eq(tenant_node("a")->memory_max, 2002944);
        /* 1003520 + 0.9 * 999424 = 1903001, down to a page */
        cr_assert_eq(tenant_node("b")->memory_high, 1900544);
}

/* ---- VMs ------------------------------------------------------------------------- */

Test(plan, vm_overhead) {
        TenantPolicy *t;

        /* 4G/512 + 192M + 4 * 8M + 16M = 248M */
        add_vm("vm1", "high", 4 * G, 4);
        /* 2G/512 + 192M + 2 * 8M + 0 video = 212M; request 1G of 2G */
        t = add_vm("vm2", "normal", 2 * G, 2);
        t->request = (SizeSpec) { .bytes = G };
        t->limit = t->request;   /* what tenant_parse() defaults to: memory.max still covers the guest */
        t->vm_video = 0;
        build_ok();

        const PlanNode *a = tenant_node("vm1"), *b = tenant_node("vm2");
        cr_assert_eq(a->vm_overhead, 248 * M);
        cr_assert_eq(a->memory_min, 4 * G + 248 * M);
        cr_assert_eq(a->memory_max, 4 * G + 248 * M);
        cr_assert_eq(a->memory_high, 4 * G + 248 * M);
        cr_assert_eq(a->guarantee, 4 * G + 248 * M);

        cr_assert_eq(b->vm_overhead, 212 * M);
        cr_assert_eq(b->memory_low, G + 212 * M);
        cr_assert_eq(b->memory_max, 2 * G + 212 * M);
        /* (1G + 212M) + 0.9 * 1G, down to a page */
        cr_assert_eq(b->memory_high, UINT64_C(2262405120));
}

Test(plan, vm_overhead_rounds_up_to_a_page) {
        set.config.vm_overhead_fixed = 100000000;
        set.config.vm_overhead_per_vcpu = 1000000;
        set.config.vm_video_default = 0;
        set.config.vm_pagetable_divisor = 1000;
        add_vm("vm", "critical", 3 * G, 3);
        build_ok();

        /* 3221225 + 100000000 + 3000000 = 106221225 -> 25933 pages */
        cr_assert_eq(tenant_node("vm")->vm_overhead, UINT64_C(106221568));
        cr_assert_eq(tenant_node("vm")->memory_min, 3 * G + UINT64_C(106221568));
}

Test(plan, hugepage_backed_vm) {
        TenantPolicy *t = add_vm("hv", "critical", 4 * G, 2);

        hugepages(t, 2 * M, 2048);
        build_ok();

        const PlanNode *n = tenant_node("hv");
        /* guest RAM is in hugetlb; memcg only holds QEMU: 8M + 192M + 16M + 16M */
        cr_assert_eq(n->vm_overhead, 232 * M);
        cr_assert_eq(n->memory_min, 232 * M);
        cr_assert_eq(n->memory_max, 232 * M);
        cr_assert_eq(n->hugetlb[0].page_size, 2 * M);
        cr_assert_eq(n->hugetlb[0].max, 4 * G);
        cr_assert_eq(n->hugetlb[0].rsvd_max, 4 * G);
        cr_assert_eq(n->hugetlb[1].page_size, G);
        cr_assert_eq(n->hugetlb[1].max, 0, "no pages of a size it did not ask for");
        cr_assert_eq(n->hugetlb[1].rsvd_max, 0);
        cr_assert_eq(n->guarantee, 4 * G + 232 * M);
        cr_assert_str_eq(n->placement, "none: not NUMA-bound; hugepages from node 0 "
                                       "(best fit: 4G of 8G free after placement)");

        cr_assert_eq(plan.n_pools, 1);
        cr_assert_eq(plan.pools[0].node, 0);
        cr_assert_eq(plan.pools[0].page_size, 2 * M);
        cr_assert_eq(plan.pools[0].pages, 2048);

        cr_assert_eq(unit_node("tenants-critical.slice")->hugetlb[0].max, 4 * G);
        cr_assert_eq(unit_node("tenants-critical.slice")->hugetlb[0].rsvd_max, 4 * G);
        cr_assert_eq(unit_node("tenants.slice")->hugetlb[0].max, 4 * G);
        cr_assert_eq(unit_node("tenants-normal.slice")->hugetlb[0].max, 0);
        cr_assert_eq(plan.limits, 232 * M + 4 * G);
}

Test(plan, partly_hugepage_backed_vm) {
        TenantPolicy *t = add_vm("pv", "high", 4 * G, 1);

        hugepages(t, G, 1);
        build_ok();

        const PlanNode *n = tenant_node("pv");
        /* 3G of the guest in memcg + 8M + 192M + 8M + 16M */
        cr_assert_eq(n->memory_min, 3 * G + 224 * M);
        cr_assert_eq(n->memory_max, 3 * G + 224 * M);
        cr_assert_eq(n->hugetlb[1].max, G);
        cr_assert_eq(n->hugetlb[0].max, 0);
}

Test(plan, container_with_hugepages) {
        TenantPolicy *t = add("dpdk", "normal", G);

        t->limit.bytes = 2 * G;
        hugepages(t, 2 * M, 512);
        add("plain", "low", G);
        build_ok();

        const PlanNode *n = tenant_node("dpdk"), *p = tenant_node("plain");
        cr_assert_eq(n->memory_low, G);
        cr_assert_eq(n->memory_max, 2 * G);
        cr_assert_eq(n->hugetlb[0].max, G);
        cr_assert_eq(n->guarantee, 2 * G);
        cr_assert_eq(p->hugetlb[0].page_size, 2 * M);
        cr_assert_eq(p->hugetlb[0].max, 0);
        cr_assert_eq(p->hugetlb[0].rsvd_max, 0);
        cr_assert_eq(plan.limits, 2 * G + G + G);
}

/* ---- ancestors ---------------------------------------------------------------------- */

Test(plan, ancestors_carry_sums) {
        add("a", "critical", G);
        add("a2", "critical", 256 * M);
        add("b", "high", 512 * M);
        add("c", "normal", 256 * M);
        add("d", "low", 2 * G);
        build_ok();

        const PlanNode *root = unit_node("tenants.slice"), *crit = unit_node("tenants-critical.slice"),
                       *high = unit_node("tenants-high.slice"), *norm = unit_node("tenants-normal.slice"),
                       *low = unit_node("tenants-low.slice"), *be = unit_node("tenants-besteffort.slice");

        cr_assert_eq(crit->memory_min, G + 256 * M);
        cr_assert_eq(crit->memory_low, 0);
        cr_assert_eq(high->memory_min, 512 * M);
        cr_assert_eq(norm->memory_min, 0);
        cr_assert_eq(norm->memory_low, 256 * M);
        cr_assert_eq(low->memory_min, 0);
        cr_assert_eq(low->memory_low, 0);
        cr_assert_eq(be->memory_min, 0);
        cr_assert_eq(root->memory_min, G + 256 * M + 512 * M);
        cr_assert_eq(root->memory_low, 256 * M);

        for (size_t i = 0; i < 6; i++) {
                const PlanNode *s = &plan.nodes[i];

                cr_assert_eq(s->memory_high, SIZE_INFINITY, "%s", s->unit);
                cr_assert_eq(s->memory_max, SIZE_INFINITY, "%s", s->unit);
                cr_assert_eq(s->swap_max, SIZE_UNSET, "%s", s->unit);
                cr_assert(cpuset_is_empty(&s->cpus));
                cr_assert_null(s->placement);
        }
        cr_assert_eq(root->cpu_weight, 0);
        cr_assert_eq(crit->cpu_weight, 400);
        cr_assert_eq(be->cpu_weight, 10);
}

/* ---- admission ----------------------------------------------------------------------- */

Test(plan, admission_exactly_full) {
        set.config.reserve = (SizeSpec) { .bytes = G };
        add("a", "critical", 4 * G);
        add("b", "high", 3 * G);
        build_ok();

        cr_assert_eq(plan.capacity, 7 * G);
        cr_assert_eq(plan.guaranteed, 7 * G);
}

Test(plan, admission_one_byte_over) {
        char *e;

        set.config.reserve = (SizeSpec) { .bytes = G + 1 };
        add("a", "critical", 4 * G);
        add("b", "high", 3 * G);
        add("c", "normal", 2 * G);   /* still fits after b is refused: b takes nothing */
        e = build_fails(-ENOSPC);

        cr_assert_str_eq(e, "b.ini:5: memory.request: tenant 'b' does not fit on host: needs 3G, 3221225471 free, "
                            "1 missing (3G)\n");
        cr_assert_eq(errs.n, 1);
        cr_assert_eq(errs.v[0].errnum, ENOSPC);
        free(e);
}

Test(plan, admission_order_is_class_rank_then_id) {
        char *e;

        /* ids sort the other way round: the critical tenant still goes first */
        add("a", "low", G)->limit.bytes = G;
        add("b", "normal", 5 * G);
        add("c", "normal", 3 * G);
        add("z", "critical", 4 * G);
        e = build_fails(-ENOSPC);

        /* z 4G, b 5G > 4G left: refused, c 3G fits */
        cr_assert_str_eq(e, "b.ini:5: memory.request: tenant 'b' does not fit on host: needs 5G, 4G free, 1G missing (5G)\n");
        free(e);
}

Test(plan, admission_counts_vm_overhead_and_hugepages) {
        char *e;

        add_vm("vm", "critical", 6 * G, 1);   /* 6G + 12M + 192M + 8M + 16M = 6G + 228M */
        hugepages(add("x", "high", G), 2 * M, 512);   /* 1G + 1G */
        e = build_fails(-ENOSPC);

        cr_assert_str_eq(e, "x.ini:5: memory.request: tenant 'x' does not fit on host: needs 2G, 1820M free, "
                            "228M missing (1G)\n");
        free(e);
}

Test(plan, admission_blames_the_larger_part_of_the_guarantee) {
        TenantPolicy *vm;
        char *e;

        add("a", "critical", 7 * G);
        hugepages(add("x", "high", 64 * M), 2 * M, 1024);   /* 64M + 2G: the pages are refused */
        vm = add_vm("v", "low", 6 * G, 1);                   /* no guarantee; its limit comes from vm.memory */
        vm->limit = (SizeSpec) { .bytes = 7 * G };
        vm->line_limit = 0;
        e = build_fails(-ENOSPC);

        cr_assert(strstr(e, "x.ini:15: hugepages.count: tenant 'x' does not fit on host: "), "%s", e);
        cr_assert(strstr(e, "v.ini:18: vm.memory: tenant 'v' limits exceed the overcommit ratio"), "%s", e);
        free(e);
}

Test(plan, admission_percent_reserve) {
        set.config.reserve = (SizeSpec) { .percent_bp = 1000 };
        add("a", "critical", G);
        build_ok();

        cr_assert_eq(plan.capacity, 8 * G - UINT64_C(858992640));
}

Test(plan, overcommit_boundary) {
        add("a", "low", G)->limit.bytes = 6 * G;
        add("b", "low", G)->limit.bytes = 6 * G;
        add("c", "besteffort", 0)->limit.bytes = SIZE_INFINITY;
        build_ok();

        cr_assert_eq(plan.limits, 12 * G);
        cr_assert_eq(plan.limit_capacity, 12 * G);
}

Test(plan, overcommit_one_page_over) {
        char *e;

        add("a", "low", G)->limit.bytes = 6 * G;
        add("b", "low", G)->limit.bytes = 6 * G + 4096;
        e = build_fails(-ENOSPC);

        cr_assert_str_eq(e, "b.ini:6: memory.limit: tenant 'b' limits exceed the overcommit ratio: needs 6291460K, "
                            "6G of 12G left (8G capacity x 1.50), 4K missing (6291460K)\n");
        free(e);
}

/* ---- placement --------------------------------------------------------------------------- */

Test(plan, place_one_node) {
        numa_auto(add("a", "critical", G));
        build_ok();

        const PlanNode *n = tenant_node("a");
        cr_assert_str_eq(cpus_of(n), "0-3");
        cr_assert_str_eq(mems_of(n), "0");
        cr_assert_str_eq(n->placement, "auto: node 0 (best fit: 7G of 8G free after placement)");
}

Test(plan, place_two_nodes_best_fit_and_ties) {
        load_host("2node.ini");
        numa_nodes(add("a", "critical", 10 * G), "0");
        numa_auto(add("b", "high", 4 * G));
        numa_auto(add("c", "normal", G));
        numa_auto(add("d", "low", 0));   /* no guarantee: still best fit, the fullest node */
        build_ok();

        cr_assert_str_eq(tenant_node("a")->placement, "explicit: nodes 0");
        cr_assert_str_eq(cpus_of(tenant_node("a")), "0-7");
        cr_assert_str_eq(mems_of(tenant_node("a")), "0");

        cr_assert_str_eq(tenant_node("b")->placement, "auto: node 0 (best fit: 2G of 16G free after placement)");
        cr_assert_str_eq(tenant_node("c")->placement, "auto: node 0 (best fit: 1G of 16G free after placement)");
        cr_assert_str_eq(mems_of(tenant_node("c")), "0");
        /* the least free after placement is node 0's 1G */
        cr_assert_str_eq(tenant_node("d")->placement, "auto: node 0 (best fit: 1G of 16G free after placement)");
}

Test(plan, place_tie_goes_to_lower_id) {
        load_host("2node.ini");
        numa_auto(add("a", "critical", G));
        build_ok();

        cr_assert_str_eq(tenant_node("a")->placement, "auto: node 0 (best fit: 15G of 16G free after placement)");
}

Test(plan, place_asymmetric_nodes) {
        load_host("2node-asym.ini");
        numa_auto(add("big", "critical", 1536 * M));
        numa_auto(add("cpu", "high", G))->cpu_count = 4;
        build_ok();

        cr_assert_str_eq(tenant_node("big")->placement,
                         "auto: node 1 (best fit: 512M of 2G free after placement)");
        cr_assert_str_eq(cpus_of(tenant_node("big")), "6-7");
        /* node 1 has 512M left but only two CPUs */
        cr_assert_str_eq(tenant_node("cpu")->placement, "auto: node 0 (best fit: 5G of 6G free after placement)");
        cr_assert_str_eq(cpus_of(tenant_node("cpu")), "0-5");
        /* no swap accounting on this host: the class default (0) is left unmanaged */
        cr_assert_eq(tenant_node("big")->swap_max, SIZE_UNSET);
}

Test(plan, place_closest_set_by_distance) {
        load_host("4node.ini");
        numa_auto(add("a", "critical", 12 * G));
        numa_auto(add("b", "high", 6 * G));
        numa_auto(add("c", "normal", 5 * G));
        build_ok();

        /* from node 0 the nearest is node 3 (16), not node 1 (31) */
        cr_assert_str_eq(tenant_node("a")->placement,
                         "auto: nodes 0,3 (no single node fits 12G; node 0 has the most free, nearest nodes added)");
        cr_assert_str_eq(mems_of(tenant_node("a")), "0,3");
        cr_assert_str_eq(cpus_of(tenant_node("a")), "0-3,12-15");
        /* a took all of node 0 and 4G of node 3: b best-fits node 1 (tie with 2), c node 2 */
        cr_assert_str_eq(tenant_node("b")->placement, "auto: node 1 (best fit: 2G of 8G free after placement)");
        cr_assert_str_eq(tenant_node("c")->placement, "auto: node 2 (best fit: 3G of 8G free after placement)");
}

Test(plan, place_eight_nodes_cpus) {
        load_host("8node.ini");
        numa_auto(add("a", "low", 0))->cpu_count = 6;
        numa_auto(add("b", "critical", 2 * G));
        build_ok();

        /* best fit is one of the 4G nodes */
        cr_assert_str_eq(tenant_node("b")->placement, "auto: node 0 (best fit: 2G of 4G free after placement)");
        /* a needs 6 CPUs, nodes have 2: from node 4 (most free) its socket neighbours */
        cr_assert_str_eq(tenant_node("a")->placement,
                         "auto: nodes 4-6 (no single node fits 6 cpus; node 4 has the most free, "
                         "nearest nodes added)");
        cr_assert_str_eq(cpus_of(tenant_node("a")), "8-13");
        cr_assert_str_eq(mems_of(tenant_node("a")), "4-6");
}

Test(plan, place_eight_nodes_equal_distance_prefers_free) {
        load_host("8node.ini");
        numa_nodes(add("x", "critical", 2 * G), "5");
        numa_auto(add("c", "normal", 20 * G));
        build_ok();

        /* from node 4, nodes 5-7 are all at 12: 6 and 7 (8G free) before 5 (6G) */
        cr_assert_str_eq(tenant_node("c")->placement,
                         "auto: nodes 4,6-7 (no single node fits 20G; node 4 has the most free, "
                         "nearest nodes added)");
        cr_assert_str_eq(mems_of(tenant_node("c")), "4,6-7");
        cr_assert_str_eq(cpus_of(tenant_node("c")), "8-9,12-15");
}

Test(plan, place_spread_charges_in_proportion) {
        char *e;

        load_host("2node.ini");
        numa_nodes(add("a", "critical", 20 * G), "0-1");
        numa_nodes(add("b", "high", 10 * G), "0");
        e = build_fails(-ENOSPC);

        /* a takes 10G of each node, so node 0 has 6G left */
        cr_assert_str_eq(e, "b.ini:5: memory.request: tenant 'b' does not fit on node 0: needs 10G, 6G free, 4G missing (10G)\n");
        free(e);
}

Test(plan, place_per_node_overflow) {
        char *e;

        load_host("2node.ini");
        set.config.reserve = (SizeSpec) { .bytes = 2 * G };   /* 1G per node */
        numa_nodes(add("a", "critical", 10 * G), "1");
        numa_nodes(add("b", "high", 7 * G), "1");
        e = build_fails(-ENOSPC);

        cr_assert_str_eq(e, "b.ini:5: memory.request: tenant 'b' does not fit on node 1: needs 7G, 5G free, 2G missing (7G)\n");
        free(e);
}

Test(plan, place_hugepages_count_against_node) {
        TenantPolicy *t;
        char *e;

        load_host("2node.ini");
        numa_nodes(add("a", "critical", 12 * G), "0");
        t = add("b", "high", 0);
        numa_nodes(t, "0");
        hugepages(t, G, 5);
        e = build_fails(-ENOSPC);

        cr_assert_str_eq(e, "b.ini:15: hugepages.count: tenant 'b' does not fit on node 0: needs 5G, 4G free, "
                            "1G missing (5 x 1G)\n");
        free(e);
}

Test(plan, place_refused_when_no_single_node_fits) {
        TenantPolicy *t;
        char *e;

        load_host("2node.ini");
        t = add("h", "critical", 4 * G);
        numa_auto(t);
        hugepages(t, G, 14);
        t = add("h2", "high", G);
        numa_auto(t);
        hugepages(t, 2 * M, 1);
        t->cpu_count = 10;
        t = add("h3", "high", G);
        numa_nodes(t, "1");
        t->cpu_count = 12;
        e = build_fails(-ENOSPC);

        cr_assert_str_eq(e,
                         "h.ini:5: memory.request: tenant 'h' does not fit on any single node (hugepages come from one node): "
                         "needs 18G, 16G free on node 0 (most free), 2G missing (4G)\n"
                         "h2.ini:9: cpu.cpus: tenant 'h2' does not fit on any single node (hugepages come from one node): "
                         "needs 10 cpus, the largest node has 8 (10)\n"
                         "h3.ini:9: cpu.cpus: tenant 'h3' does not fit on node 1: needs 12 cpus, the node has 8 (12)\n");
        free(e);
}

Test(plan, place_explicit_and_preferred) {
        load_host("2node.ini");
        numa_nodes(add("a", "critical", 2 * G), "1");
        numa_nodes(add("b", "high", 2 * G), "0")->numa_mode = NUMA_PREFERRED;
        build_ok();

        cr_assert_str_eq(tenant_node("a")->placement, "explicit: nodes 1");
        cr_assert_str_eq(cpus_of(tenant_node("a")), "8-15");
        cr_assert_str_eq(mems_of(tenant_node("a")), "1");
        cr_assert_str_eq(tenant_node("b")->placement, "explicit: nodes 0 (preferred: memory not bound)");
        cr_assert_str_eq(cpus_of(tenant_node("b")), "0-7");
        cr_assert_eq(tenant_node("b")->mems.bits, 0, "cgroup v2 has no preferred: mems unmanaged");
}

Test(plan, place_preferred_spreads_and_strict_goes_first) {
        load_host("2node.ini");
        numa_auto(add("p1", "critical", 10 * G))->numa_mode = NUMA_PREFERRED;
        numa_auto(add("p2", "high", 10 * G))->numa_mode = NUMA_PREFERRED;
        numa_auto(add("s", "normal", 8 * G));
        build_ok();

        /* s is strict: placed before the preferred ones despite its lower class */
        cr_assert_str_eq(tenant_node("s")->placement, "auto: node 0 (best fit: 8G of 16G free after placement)");
        cr_assert_str_eq(tenant_node("p1")->placement,
                         "auto (preferred): node 1 (best fit: 6G of 16G free after placement; memory not bound)");
        /* node 1 softly holds p1 now: no single node has 10G, both together do */
        cr_assert_str_eq(tenant_node("p2")->placement,
                         "auto (preferred): nodes 0-1 (no single node fits 10G; node 0 has the most free, "
                         "nearest nodes added; memory not bound)");
        cr_assert_eq(tenant_node("p2")->mems.bits, 0);
        cr_assert_str_eq(cpus_of(tenant_node("p2")), "0-15");
}

Test(plan, place_auto_with_cpu_list_uses_owner_node) {
        load_host("2node.ini");
        cpu_list(numa_auto(add("a", "critical", G)), "10-11");
        build_ok();

        cr_assert_str_eq(tenant_node("a")->placement, "auto: node 1 (owns cpus 10-11)");
        cr_assert_str_eq(cpus_of(tenant_node("a")), "10-11");
        cr_assert_str_eq(mems_of(tenant_node("a")), "1");
}

Test(plan, unbound_tenant_with_cpu_list) {
        cpu_list(add("a", "normal", G), "1-2");
        build_ok();

        cr_assert_str_eq(cpus_of(tenant_node("a")), "1-2");
        cr_assert_eq(tenant_node("a")->mems.bits, 0);
        cr_assert_str_eq(tenant_node("a")->placement, "none: not NUMA-bound (cpus pinned by list)");
}

Test(plan, pools_per_node_and_size) {
        TenantPolicy *t;

        load_host("2node.ini");
        t = add("p1", "critical", G);
        numa_nodes(t, "0");
        hugepages(t, 2 * M, 512);
        t = add("p2", "high", G);
        numa_nodes(t, "1");
        hugepages(t, G, 2);
        t = add("p3", "normal", G);
        numa_nodes(t, "0");
        hugepages(t, 2 * M, 256);
        build_ok();

        cr_assert_eq(plan.n_pools, 2);
        cr_assert_eq(plan.pools[0].node, 0);
        cr_assert_eq(plan.pools[0].page_size, 2 * M);
        cr_assert_eq(plan.pools[0].pages, 768);
        cr_assert_eq(plan.pools[1].node, 1);
        cr_assert_eq(plan.pools[1].page_size, G);
        cr_assert_eq(plan.pools[1].pages, 2);
        cr_assert_eq(unit_node("tenants.slice")->hugetlb[0].max, 1536 * M);
        cr_assert_eq(unit_node("tenants.slice")->hugetlb[1].max, 2 * G);
        /* who draws on each pool, in admission order: a short pool is handed out that way */
        cr_assert_eq(plan.pools[0].n_users, 2);
        cr_assert_str_eq(plan.pools[0].users[0].id, "p1");
        cr_assert_eq(plan.pools[0].users[0].pages, 512);
        cr_assert_str_eq(plan.pools[0].users[1].id, "p3");
        cr_assert_eq(plan.pools[0].users[1].pages, 256);
        cr_assert_eq(plan.pools[1].n_users, 1);
        cr_assert_str_eq(plan.pools[1].users[0].id, "p2");
        cr_assert_eq(tenant_node("p1")->huge_node, 0);
        cr_assert_eq(tenant_node("p2")->huge_node, 1);
}

Test(plan, pool_node_of_unbound_and_plain_tenants) {
        TenantPolicy *t;

        load_host("2node.ini");
        numa_nodes(add("big", "critical", 14 * G), "0");
        t = add("free", "normal", G);      /* no [numa]: pages from the best-fit node */
        hugepages(t, 2 * M, 64);
        add("plain", "normal", G);
        build_ok();

        cr_assert_eq(tenant_node("free")->huge_node, 0, "best fit: node 0 has the least left");
        cr_assert_eq(tenant_node("free")->mems.bits, 0, "not NUMA-bound");
        cr_assert_eq(tenant_node("plain")->huge_node, -1);
        cr_assert_eq(tenant_node("big")->huge_node, -1);
        cr_assert_eq(unit_node("tenants.slice")->huge_node, -1);
        cr_assert_eq(plan.n_pools, 1);
        cr_assert_eq(plan.pools[0].node, 0);
        cr_assert_eq(plan.pools[0].pages, 64);
}

/* ---- invalid input ---------------------------------------------------------------------- */

Test(plan, invalid_against_host) {
        TenantPolicy *t;
        char *e;

        load_host("2node.ini");
        numa_nodes(add("a", "normal", G), "3");
        t = add("b", "normal", G);
        numa_nodes(t, "1");
        cpu_list(t, "4-9");
        t = add("c", "normal", G);
        numa_nodes(t, "0-1");
        hugepages(t, 2 * M, 1);
        cpu_list(add("d", "normal", G), "16-17");
        hugepages(add("e", "normal", G), 4 * M, 1);
        add("f", "nosuch", G);
        add("g", "normal", 2 * G)->limit.bytes = G;
        add("h", "normal", G)->cpu_count = 17;
        e = build_fails(-EINVAL);

        cr_assert_str_eq(e,
                         "a.ini:12: numa.nodes: nodes 3 do not exist on this host (its nodes: 0-1) (3)\n"
                         "b.ini:9: cpu.cpus: cpus 4-7 are not on nodes 1 (mode = strict) (4-9)\n"
                         "c.ini:12: numa.nodes: a tenant with hugepages must be on exactly one NUMA node (0-1)\n"
                         "d.ini:9: cpu.cpus: cpus 16-17 do not exist on this host (its cpus: 0-15) (16-17)\n"
                         "e.ini:15: hugepages.size: this host has no pool for 4M pages (4M)\n"
                         "f.ini:3: tenant.class: unknown class (nosuch)\n"
                         "g.ini:6: memory.limit: smaller than memory.request (2G) (1G)\n"
                         "h.ini:9: cpu.cpus: needs 17 cpus, this host has 16 (17)\n");
        cr_assert_eq(errs.v[0].errnum, EINVAL);
        free(e);
}

Test(plan, swap_cap_needs_accounting) {
        char *e;

        load_host("2node-asym.ini");
        add("a", "normal", G)->swap = (SizeSpec) { .bytes = G };
        add("b", "normal", G)->swap = (SizeSpec) { .bytes = SIZE_INFINITY };
        e = build_fails(-EINVAL);

        cr_assert_str_eq(e, "a.ini:7: memory.swap: this kernel has no memory.swap.max in cgroups "
                            "(no swap accounting), the cap cannot be enforced (1G)\n");
        free(e);
}

Test(plan, swap_max_without_accounting_is_unmanaged) {
        load_host("2node-asym.ini");
        add("b", "normal", G)->swap = (SizeSpec) { .bytes = SIZE_INFINITY };
        build_ok();

        cr_assert_eq(tenant_node("b")->swap_max, SIZE_UNSET);
}

/* ---- output ------------------------------------------------------------------------------- */

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        cr_assert(json_object_object_get_ex(o, key, &v), "missing key %s", key);
        return v;
}

Test(plan, json_parses_back) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f;
        json_object *root, *nodes, *web, *slice, *huge;

        set.config.reserve = (SizeSpec) { .percent_bp = 1000 };
        add("db", "critical", 2 * G)->exec = (char[]) { "/usr/bin/db" };
        numa_auto(add("web-01", "normal", G))->limit.bytes = 2 * G;
        build_ok();

        f = open_memstream(&buf, &n);
        cr_assert_eq(plan_print_json(&plan, &set, f), 0);
        fclose(f);

        root = json_tokener_parse(buf);
        cr_assert_not_null(root, "not JSON:\n%s", buf);
        cr_assert_eq(json_object_get_uint64(get(root, "capacity")), UINT64_C(7730941952));
        cr_assert_eq(json_object_get_uint64(get(root, "guaranteed")), 3 * G);
        cr_assert_eq(json_object_get_uint64(get(root, "limits")), 4 * G);
        cr_assert_eq(json_object_get_uint64(get(root, "limit_capacity")), UINT64_C(11596412928));
        cr_assert_float_eq(json_object_get_double(get(root, "overcommit")), 1.5, 1e-9);

        nodes = get(root, "nodes");
        cr_assert_eq(json_object_array_length(nodes), 8);
        slice = json_object_array_get_idx(nodes, 0);
        cr_assert_str_eq(json_object_get_string(get(slice, "unit")), "tenants.slice");
        cr_assert_str_eq(json_object_get_string(get(slice, "type")), "root");
        cr_assert_null(get(slice, "parent"));
        cr_assert_str_eq(json_object_get_string(get(slice, "memory_high")), "max");
        cr_assert_null(get(slice, "swap_max"), "not managed: null");
        cr_assert_null(get(slice, "cpu_weight"));
        cr_assert_eq(json_object_get_uint64(get(slice, "memory_min")), 2 * G);
        cr_assert_eq(json_object_get_uint64(get(slice, "memory_low")), G);

        web = json_object_array_get_idx(nodes, 7);
        cr_assert_str_eq(json_object_get_string(get(web, "unit")), "tenant-web\\x2d01.scope");
        cr_assert_str_eq(json_object_get_string(get(web, "path")),
                         "tenants.slice/tenants-normal.slice/tenant-web\\x2d01.scope");
        cr_assert_str_eq(json_object_get_string(get(web, "parent")), "tenants.slice/tenants-normal.slice");
        cr_assert_str_eq(json_object_get_string(get(web, "type")), "tenant");
        cr_assert_str_eq(json_object_get_string(get(web, "class")), "normal");
        cr_assert_str_eq(json_object_get_string(get(web, "tenant")), "web-01");
        cr_assert_eq(json_object_get_uint64(get(web, "memory_min")), 0);
        cr_assert_eq(json_object_get_uint64(get(web, "memory_low")), G);
        cr_assert_eq(json_object_get_uint64(get(web, "memory_high")), UINT64_C(2040107008));
        cr_assert_eq(json_object_get_uint64(get(web, "memory_max")), 2 * G);
        cr_assert_str_eq(json_object_get_string(get(web, "swap_max")), "max");
        cr_assert_null(get(web, "zswap_max"));
        cr_assert_eq(json_object_get_int64(get(web, "cpu_weight")), 100);
        cr_assert_str_eq(json_object_get_string(get(web, "cpus")), "0-3");
        cr_assert_str_eq(json_object_get_string(get(web, "mems")), "0");
        cr_assert_eq(json_object_get_uint64(get(web, "guarantee")), G);
        cr_assert_eq(json_object_get_uint64(get(web, "vm_overhead")), 0);
        cr_assert_str_eq(json_object_get_string(get(web, "placement")),
                         "auto: node 0 (best fit: 6.2G of 7.2G free after placement)");
        huge = get(web, "hugetlb");
        cr_assert_eq(json_object_array_length(huge), 2);
        cr_assert_eq(json_object_get_uint64(get(json_object_array_get_idx(huge, 0), "page_size")), 2 * M);
        cr_assert_eq(json_object_get_uint64(get(json_object_array_get_idx(huge, 0), "max")), 0);
        cr_assert_eq(json_object_get_uint64(get(json_object_array_get_idx(huge, 1), "page_size")), G);

        cr_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(nodes, 6), "unit")),
                         "tenant-db.service");
        cr_assert_eq(json_object_array_length(get(root, "pools")), 0);

        json_object_put(root);
        free(buf);
}

Test(plan, json_pools) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f;
        json_object *root, *pool;

        hugepages(add("a", "critical", G), 2 * M, 100);
        build_ok();
        f = open_memstream(&buf, &n);
        cr_assert_eq(plan_print_json(&plan, &set, f), 0);
        fclose(f);

        root = json_tokener_parse(buf);
        cr_assert_not_null(root);
        cr_assert_eq(json_object_array_length(get(root, "pools")), 1);
        pool = json_object_array_get_idx(get(root, "pools"), 0);
        cr_assert_eq(json_object_get_uint64(get(pool, "node")), 0);
        cr_assert_eq(json_object_get_uint64(get(pool, "page_size")), 2 * M);
        cr_assert_eq(json_object_get_uint64(get(pool, "pages")), 100);
        cr_assert_eq(json_object_get_uint64(get(pool, "bytes")), 200 * M);
        json_object_put(root);
        free(buf);
}

Test(plan, table) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f;

        set.config.reserve = (SizeSpec) { .percent_bp = 1000 };
        hugepages(add("db", "critical", 2 * G), 2 * M, 256)->exec = (char[]) { "/usr/bin/db" };
        numa_auto(add("web-01", "normal", G))->limit.bytes = 2 * G;
        build_ok();

        f = open_memstream(&buf, &n);
        plan_print_table(&plan, &set, f);
        fclose(f);

        cr_assert_str_eq(buf,
"UNIT                        CLASS       MIN  LOW  HIGH  MAX  SWAP  WEIGHT  CPUS  MEMS  HUGE    PLACEMENT\n"
"tenants.slice               -           2G   1G   max   max  -     -       -     -     256x2M\n"
"  tenants-critical.slice    critical    2G   0    max   max  -     400     -     -     256x2M\n"
"    tenant-db.service       critical    2G   0    max   2G   0     400     -     -     256x2M  none: not NUMA-bound; hugepages from node 0 (best fit: 6.7G of 7.2G free after placement)\n"
"  tenants-high.slice        high        0    0    max   max  -     200     -     -     -\n"
"  tenants-normal.slice      normal      0    1G   max   max  -     100     -     -     -\n"
"    tenant-web\\x2d01.scope  normal      0    1G   1.9G  2G   max   100     0-3   0     -       auto: node 0 (best fit: 5.7G of 7.2G free after placement)\n"
"  tenants-low.slice         low         0    0    max   max  -     50      -     -     -\n"
"  tenants-besteffort.slice  besteffort  0    0    max   max  -     10      -     -     -\n"
"\n"
"hugepage pools:\n"
"  node 0  2M pages  256 (512M)\n"
"guaranteed 3.5G of 7.2G capacity; limits 4.5G of 10.8G (overcommit 1.5)\n");
        free(buf);
}
