/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan: policies + host topology + host config -> desired state (plan.h).
 *
 * This file owns the attribute values, the hierarchy and host-wide admission;
 * NUMA placement and per-node admission live in plan-place.c, naming in
 * unit-name.c, output in plan-print.c. Pure: no I/O, no logging.
 *
 * Memory values of a tenant (every byte value is a multiple of the host page
 * size; request and limit are rounded UP, so the kernel, which rounds writes
 * down to pages, never holds less than what was asked for):
 *
 *   request   [memory] request, resolved against MemTotal (a VM without one
 *             defaults to vm.memory)
 *   limit     [memory] limit; default = request; for VMs never below vm.memory
 *   overhead  VMs only: ceil_page(vm.memory / pagetable_divisor + fixed +
 *             vcpus * per_vcpu + video), parameters from tenantd.conf
 *   memory.min   = request + overhead   when the class protects with min
 *   memory.low   = request + overhead   when the class protects with low
 *   memory.max   = limit + overhead
 *   memory.high  = base + high_bp/10000 * (memory.max - base), base = request +
 *                  overhead, rounded down to a page and never above memory.max;
 *                  "max" when the class says so (or memory.max is "max").
 *
 * Hugepages. Pages from the hugetlb pool are charged to the hugetlb controller,
 * never to memcg. So for a VM whose guest RAM is backed by hugepages (count *
 * size >= vm.memory) memory.* cover only QEMU's own overhead; a VM that is
 * backed only partly has the uncovered part of its request/limit in memcg. A
 * container with [hugepages] keeps its memcg request/limit as written and gets
 * the pages on top. Every tenant gets hugetlb.<size>.max = .rsvd.max = count *
 * size for its own size and 0 for every other size the host supports (also
 * tenants without [hugepages]): the pools are sized for the tenants that asked,
 * and a tenant must not drain pages reserved for another. Setting rsvd.max too
 * makes an over-quota mmap fail with ENOMEM instead of SIGBUS (PITFALLS 5).
 * Slices carry the sums of their children, so tenants.slice caps exactly the
 * pages the pools hold.
 *
 * Swap. Tenant swap/zswap if set, else the class default; SIZE_UNSET when
 * neither is given. Without swap accounting (no memory.swap.max in non-root
 * cgroups, PITFALLS 7) a finite cap written in the tenant file is an error, a
 * class default is dropped (left unmanaged): the class ladder must stay usable
 * on such kernels, a tenant that asked for a cap must not silently lose it.
 *
 * Ancestors (PITFALLS 3). The kernel caps a child's effective protection by its
 * parent's, so a class slice gets memory.min/low = sums of its tenants', and
 * tenants.slice the sums over classes. Slices have memory.high/max "max",
 * cpu.weight of a class slice is the class weight, tenants.slice's is not
 * managed. Every class gets a slice, with or without tenants, so the tree does
 * not change shape when a tenant comes or goes.
 *
 * Admission. A tenant's guarantee is memory.min + memory.low + hugepage bytes.
 *  1. host: capacity = MemTotal - reserve; tenants in class rank order
 *     (descending), then id, take their guarantee; one that does not fit in
 *     what is left is refused and takes nothing (so a smaller one after it may
 *     still fit);
 *  2. NUMA nodes: see plan-place.c;
 *  3. overcommit: the sum of finite memory.max plus hugepage bytes must stay
 *     <= capacity * overcommit_bp / 10000, same order, the tenant that crosses
 *     the line is refused. Tenants with memory.max = "max" are not counted.
 *     overcommit_bp = 0 (not configured) means 1.0.
 * Each refused tenant gets exactly one error; plan_build then fails with -ENOSPC
 * and leaves *ret untouched. Input that cannot be planned at all (unknown
 * class, nodes or CPUs the host does not have, a hugepage size without a pool,
 * a swap cap without swap accounting) fails with -EINVAL before any admission.
 */
#include <inttypes.h>
#include <stdarg.h>

#include "plan-internal.h"

const char *plan_size_str(uint64_t bytes, char buf[static SIZE_STR_MAX]) {
        return size_format(bytes, buf, SIZE_STR_MAX);
}

/* "1.5G", "512M", "4096", "max", "-": one decimal, rounded to nearest. */
const char *plan_size_human(uint64_t v, char buf[static SIZE_STR_MAX]) {
        static const char units[] = "KMGTPE";
        __extension__ typedef unsigned __int128 u128;
        uint64_t unit = 1;
        int u = -1;
        u128 tenths;

        if (v == SIZE_INFINITY)
                return "max";
        if (v == SIZE_UNSET)
                return "-";
        if (v < 1024) {
                snprintf(buf, SIZE_STR_MAX, "%" PRIu64, v);
                return buf;
        }
        while (u < 5 && v / unit >= 1024) {
                unit *= 1024;
                u++;
        }
        tenths = ((u128) v * 10 + unit / 2) / unit;
        if (tenths >= 10240 && u < 5) {
                unit *= 1024;
                u++;
                tenths = ((u128) v * 10 + unit / 2) / unit;
        }
        if (tenths % 10 == 0)
                snprintf(buf, SIZE_STR_MAX, "%" PRIu64 "%c", (uint64_t) (tenths / 10), units[u]);
        else
                snprintf(buf, SIZE_STR_MAX, "%" PRIu64 ".%u%c", (uint64_t) (tenths / 10), (unsigned) (tenths % 10),
                         units[u]);
        return buf;
}

static bool spec_is_set(SizeSpec s) {
        return s.percent_bp != 0 || s.bytes != SIZE_UNSET;
}

/* The size as the user wrote it: "25%" or "2G". */
static const char *spec_str(SizeSpec s, char buf[static SIZE_STR_MAX]) {
        if (s.percent_bp != 0) {
                if (s.percent_bp % 100 == 0)
                        snprintf(buf, SIZE_STR_MAX, "%u%%", s.percent_bp / 100);
                else
                        snprintf(buf, SIZE_STR_MAX, "%u.%02u%%", s.percent_bp / 100, s.percent_bp % 100);
                return buf;
        }
        return plan_size_str(s.bytes, buf);
}

void plan_error(const TenantPolicy *t, PolicyErrors *errs, int errnum, const char *key, unsigned line,
                const char *value, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        policy_errors_add(errs, t->file, line, key, value, errnum, "%s", msg ? msg : "out of memory");
}

void plan_refuse(TenantCalc *c, PolicyErrors *errs, RefuseWhat what, const char *fmt, ...) {
        const TenantPolicy *t = c->t;
        _cleanup_free_ char *msg = NULL;
        char vbuf[SIZE_STR_MAX + DECIMAL_STR_MAX(uint64_t) + 4];
        const char *key, *value = NULL;
        unsigned line;
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);

        switch (what) {
        case REFUSE_HUGEPAGES: {
                char sbuf[SIZE_STR_MAX];

                key = "hugepages.count";
                line = t->line_huge;
                snprintf(vbuf, sizeof(vbuf), "%" PRIu64 " x %s", t->huge_count,
                         plan_size_str(t->huge_size, sbuf));
                value = vbuf;
                break;
        }
        case REFUSE_CPUS:
                key = "cpu.cpus";
                line = t->line_cpus;
                if (t->has_cpu_list)
                        value = cpulist_format(&t->cpu_list, vbuf, sizeof(vbuf));
                else {
                        snprintf(vbuf, sizeof(vbuf), "%u", t->cpu_count);
                        value = vbuf;
                }
                break;
        case REFUSE_LIMIT:
                if (spec_is_set(t->limit) && t->line_limit != 0) {
                        key = "memory.limit";
                        line = t->line_limit;
                        value = spec_str(t->limit, vbuf);
                        break;
                }
                /* The default limit follows vm.memory for VMs, the request otherwise. */
                if (t->kind == TENANT_VM) {
                        key = "vm.memory";
                        line = t->line_vm_memory;
                        value = plan_size_str(t->vm_memory, vbuf);
                        break;
                }
                key = "memory.request";
                line = t->line_request;
                value = spec_str(t->request, vbuf);
                break;
        case REFUSE_MEMORY:
        default:
                if (!spec_is_set(t->request) && t->kind == TENANT_VM) {
                        key = "vm.memory";
                        line = t->line_vm_memory;
                        value = plan_size_str(t->vm_memory, vbuf);
                } else {
                        key = "memory.request";
                        line = t->line_request;
                        value = spec_str(t->request, vbuf);
                }
                break;
        }

        c->refused = true;
        /* name the tenant: its id need not be its file's name */
        policy_errors_add(errs, t->file, line != 0 ? line : t->line, key, value, ENOSPC, "tenant '%s' %s", t->id,
                          msg ? msg : "out of memory");
}

/* ---- per-tenant values ------------------------------------------------------ */

static uint64_t vm_overhead(const HostConfig *cfg, const TenantPolicy *t, uint64_t page) {
        unsigned divisor = cfg->vm_pagetable_divisor != 0 ? cfg->vm_pagetable_divisor : 512;
        uint64_t vcpus = t->vm_vcpus != 0 ? t->vm_vcpus : 1;
        uint64_t video = t->vm_video != SIZE_UNSET ? t->vm_video : cfg->vm_video_default;
        uint64_t o;

        if (video == SIZE_UNSET || video == SIZE_INFINITY)
                video = 0;
        o = t->vm_memory / divisor;
        o = size_add(o, cfg->vm_overhead_fixed == SIZE_UNSET ? 0 : cfg->vm_overhead_fixed);
        o = size_add(o, vcpus * (cfg->vm_overhead_per_vcpu == SIZE_UNSET ? 0 : cfg->vm_overhead_per_vcpu));
        o = size_add(o, video);
        return page_round_up(o, page);
}

/* request + bp/10000 * (max - request), without overflow; bp <= 10000. */
static uint64_t interpolate(uint64_t base, uint64_t top, uint32_t bp) {
        uint64_t span = size_sub(top, base);

        return base + span / 10000 * bp + span % 10000 * bp / 10000;
}

/* Resolves a swap/zswap setting: tenant value, else class default. */
static int calc_swap(const TenantPolicy *t, PolicyErrors *errs, const char *key, SizeSpec tenant_spec,
                     uint64_t class_default, bool accounting, uint64_t total, uint64_t page,
                     uint64_t *ret) {
        bool explicit = spec_is_set(tenant_spec);
        uint64_t v = explicit ? size_resolve(tenant_spec, total) : class_default;

        v = page_round_up(v, page);
        if (!accounting && v != SIZE_UNSET) {
                char buf[SIZE_STR_MAX];

                if (explicit && v != SIZE_INFINITY) {
                        plan_error(t, errs, EINVAL, key, streq(key, "memory.swap") ? t->line_swap : t->line_zswap,
                                   spec_str(tenant_spec, buf),
                                   "this kernel has no %s.max in cgroups (no swap accounting), "
                                   "the cap cannot be enforced", key);
                        return -EINVAL;
                }
                v = SIZE_UNSET;
        }
        *ret = v;
        return 0;
}

static int calc_tenant(const PolicySet *s, const HostTopology *host, TenantCalc *c, PolicyErrors *errs) {
        const TenantPolicy *t = c->t;
        const HostConfig *cfg = &s->config;
        uint64_t page = host->page_size != 0 ? host->page_size : 4096, total = host->mem_total;
        uint64_t request, limit, cover = 0, base;
        char buf[SIZE_STR_MAX], buf2[SIZE_STR_MAX];
        bool vm = t->kind == TENANT_VM;
        int r = 0;

        c->huge_idx = -1;
        c->klass = policy_classes_find(&s->classes, t->class_name);
        if (!c->klass) {
                plan_error(t, errs, EINVAL, "tenant.class", t->line_class != 0 ? t->line_class : t->line, t->class_name,
                           "unknown class");
                r = -EINVAL;
        }

        if (t->huge_size != 0 && t->huge_count != 0) {
                int idx = topology_huge_index(host, t->huge_size);

                if (idx < 0) {
                        plan_error(t, errs, EINVAL, "hugepages.size", t->line_huge, plan_size_str(t->huge_size, buf),
                                   "this host has no pool for %s pages", buf);
                        r = -EINVAL;
                } else if (t->huge_count > SIZE_UNSET / 2 / t->huge_size) {
                        plan_error(t, errs, ERANGE, "hugepages.count", t->line_huge, NULL,
                                   "%" PRIu64 " pages of %s overflow", t->huge_count,
                                   plan_size_str(t->huge_size, buf));
                        r = -EINVAL;
                } else {
                        c->huge_idx = idx;
                        c->huge_bytes = t->huge_count * t->huge_size;
                }
        }

        if (vm) {
                if (t->vm_memory == SIZE_UNSET || t->vm_memory == SIZE_INFINITY || t->vm_memory == 0) {
                        plan_error(t, errs, EINVAL, "vm.memory",
                                   t->line_vm_memory != 0 ? t->line_vm_memory : t->line, NULL,
                                   "a VM needs its guest RAM size");
                        return -EINVAL;
                }
                c->overhead = vm_overhead(cfg, t, page);
                cover = c->huge_bytes < t->vm_memory ? c->huge_bytes : t->vm_memory;
        }

        if (spec_is_set(t->request))
                request = size_resolve(t->request, total);
        else if (vm)
                request = t->vm_memory;
        else {
                plan_error(t, errs, EINVAL, "memory.request", t->line, NULL, "missing");
                return -EINVAL;
        }
        if (request == SIZE_INFINITY || request == SIZE_UNSET) {
                plan_error(t, errs, EINVAL, "memory.request", t->line_request, spec_str(t->request, buf),
                           "must be a finite size");
                return -EINVAL;
        }
        request = page_round_up(request, page);

        if (spec_is_set(t->limit))
                limit = size_resolve(t->limit, total);
        else
                limit = vm ? t->vm_memory : request;
        /* A guest owns all of its RAM once it has touched it: a VM's limit is never
         * below vm.memory (tenant_parse() defaults the limit to the request, which
         * for a VM with request < vm.memory would cap the guest below its size). */
        if (vm && limit != SIZE_INFINITY && limit < t->vm_memory)
                limit = t->vm_memory;
        limit = page_round_up(limit, page);
        if (limit < request) {
                if (spec_is_set(t->limit))
                        plan_error(t, errs, EINVAL, "memory.limit", t->line_limit, spec_str(t->limit, buf),
                                   "smaller than memory.request (%s)", spec_str(t->request, buf2));
                else
                        plan_error(t, errs, EINVAL, "memory.request", t->line_request, spec_str(t->request, buf),
                                   "larger than the guest RAM (vm.memory = %s)", plan_size_str(t->vm_memory, buf2));
                return -EINVAL;
        }

        /* Only the part of the guest not backed by hugepages is charged to memcg. */
        c->request = page_round_up(request - (cover < request ? cover : request), page);
        c->limit = limit == SIZE_INFINITY ? SIZE_INFINITY : page_round_up(size_sub(limit, cover), page);

        base = size_add(c->request, c->overhead);
        if (c->klass) {
                switch (c->klass->protect) {
                case PROTECT_MIN:
                        c->memory_min = base;
                        break;
                case PROTECT_LOW:
                        c->memory_low = base;
                        break;
                case PROTECT_NONE:
                default:
                        break;
                }
        }
        c->memory_max = c->limit == SIZE_INFINITY ? SIZE_INFINITY : size_add(c->limit, c->overhead);
        if (!c->klass || c->klass->high_bp == HIGH_BP_MAX || c->memory_max == SIZE_INFINITY)
                c->memory_high = SIZE_INFINITY;
        else {
                uint32_t bp = c->klass->high_bp > 10000 ? 10000 : c->klass->high_bp;

                c->memory_high = page_round_down(interpolate(base, c->memory_max, bp), page);
                if (c->memory_high > c->memory_max)
                        c->memory_high = c->memory_max;
        }

        if (c->klass) {
                if (calc_swap(t, errs, "memory.swap", t->swap, c->klass->swap_max, host->swap_accounting, total,
                              page, &c->swap_max) < 0)
                        r = -EINVAL;
                if (calc_swap(t, errs, "memory.zswap", t->zswap, c->klass->zswap_max, host->zswap_accounting,
                              total, page, &c->zswap_max) < 0)
                        r = -EINVAL;
                c->cpu_weight = t->cpu_weight != 0 ? t->cpu_weight : c->klass->cpu_weight;
        }

        c->mem_guarantee = size_add(c->memory_min, c->memory_low);
        c->guarantee = size_add(c->mem_guarantee, c->huge_bytes);

        if (plan_place_validate(host, c, errs) < 0)
                r = -EINVAL;
        return r;
}

/* ---- admission --------------------------------------------------------------- */

/* Class rank descending, then id: who is admitted first when the host is full. */
static int cmp_admission(const void *a, const void *b) {
        const TenantCalc *x = *(TenantCalc *const *) a, *y = *(TenantCalc *const *) b;

        if (x->klass->rank != y->klass->rank)
                return x->klass->rank > y->klass->rank ? -1 : 1;
        return strcmp(x->t->id, y->t->id);
}

static void admit_host(TenantCalc **order, size_t n, uint64_t capacity, PolicyErrors *errs) {
        uint64_t used = 0;

        for (size_t i = 0; i < n; i++) {
                TenantCalc *c = order[i];
                uint64_t free_ = capacity - used;
                char a[SIZE_STR_MAX], b[SIZE_STR_MAX], m[SIZE_STR_MAX];

                if (c->refused)
                        continue;
                if (c->guarantee <= free_) {
                        used += c->guarantee;
                        continue;
                }
                /* blame the larger part of the guarantee */
                plan_refuse(c, errs, c->huge_bytes > c->mem_guarantee ? REFUSE_HUGEPAGES : REFUSE_MEMORY,
                            "does not fit on host: needs %s, %s free, %s missing", plan_size_str(c->guarantee, a),
                            plan_size_str(free_, b), plan_size_str(c->guarantee - free_, m));
        }
}

static uint64_t tenant_limit_bytes(const TenantCalc *c) {
        return size_add(c->memory_max == SIZE_INFINITY ? 0 : c->memory_max, c->huge_bytes);
}

static void admit_limits(TenantCalc **order, size_t n, uint64_t capacity, uint64_t limit_capacity,
                         uint32_t overcommit_bp, PolicyErrors *errs) {
        uint64_t used = 0;

        for (size_t i = 0; i < n; i++) {
                TenantCalc *c = order[i];
                uint64_t l = tenant_limit_bytes(c), left = limit_capacity - used;
                char a[SIZE_STR_MAX], b[SIZE_STR_MAX], m[SIZE_STR_MAX], lc[SIZE_STR_MAX], cap[SIZE_STR_MAX];

                if (c->refused)
                        continue;
                if (l <= left) {
                        used += l;
                        continue;
                }
                plan_refuse(c, errs, REFUSE_LIMIT,
                            "limits exceed the overcommit ratio: needs %s, %s of %s left (%s capacity x %u.%02u), "
                            "%s missing",
                            plan_size_str(l, a), plan_size_str(left, b), plan_size_str(limit_capacity, lc),
                            plan_size_str(capacity, cap), overcommit_bp / 10000, overcommit_bp % 10000 / 100,
                            plan_size_str(l - left, m));
        }
}

/* ---- assembling the Plan ---------------------------------------------------- */

static void plan_node_init(PlanNode *n, const HostTopology *host) {
        *n = (PlanNode) {
                .parent = -1,
                .tenant = -1,
                .memory_min = 0,
                .memory_low = 0,
                .memory_high = SIZE_INFINITY,
                .memory_max = SIZE_INFINITY,
                .swap_max = SIZE_UNSET,
                .zswap_max = SIZE_UNSET,
                .huge_node = -1,
        };
        for (int i = 0; i < HUGE_SIZES_MAX; i++)
                n->hugetlb[i].page_size = host->huge_sizes[i];
}

static void hugetlb_add(PlanNode *dst, const PlanNode *src) {
        for (int i = 0; i < HUGE_SIZES_MAX; i++) {
                dst->hugetlb[i].max = size_add(dst->hugetlb[i].max, src->hugetlb[i].max);
                dst->hugetlb[i].rsvd_max = size_add(dst->hugetlb[i].rsvd_max, src->hugetlb[i].rsvd_max);
        }
}

static int cmp_class_rank(const void *a, const void *b) {
        const PolicyClass *x = *(const PolicyClass *const *) a, *y = *(const PolicyClass *const *) b;

        if (x->rank != y->rank)
                return x->rank > y->rank ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int assemble(const PolicySet *s, const HostTopology *host, TenantCalc **order, size_t n_tenants,
                    Plan *p) {
        const PolicyClass *classes[CLASSES_MAX];
        size_t n_classes = s->classes.n, k = 0;
        PlanNode *root;

        for (size_t i = 0; i < n_classes; i++)
                classes[i] = &s->classes.v[i];
        qsort(classes, n_classes, sizeof(classes[0]), cmp_class_rank);

        p->n_nodes = 1 + n_classes + n_tenants;
        p->nodes = calloc(p->n_nodes, sizeof(PlanNode));
        if (!p->nodes)
                return -ENOMEM;

        root = &p->nodes[k++];
        plan_node_init(root, host);
        root->type = PLAN_ROOT_SLICE;
        root->unit = strdup("tenants.slice");
        root->path = strdup("tenants.slice");
        if (!root->unit || !root->path)
                return -ENOMEM;

        for (size_t i = 0; i < n_classes; i++) {
                PlanNode *cn = &p->nodes[k++];
                _cleanup_free_ char *esc = unit_name_escape(classes[i]->name);

                plan_node_init(cn, host);
                cn->type = PLAN_CLASS_SLICE;
                cn->parent = 0;
                cn->klass = classes[i];
                cn->cpu_weight = classes[i]->cpu_weight;
                if (!esc)
                        return -ENOMEM;
                cn->unit = strdup_printf("tenants-%s.slice", esc);
                if (!cn->unit)
                        return -ENOMEM;
                cn->path = strdup_printf("tenants.slice/%s", cn->unit);
                if (!cn->path)
                        return -ENOMEM;
        }

        /* order[] is by rank, then id: exactly the order plan.h promises. */
        for (size_t i = 0; i < n_tenants; i++) {
                TenantCalc *c = order[i];
                PlanNode *tn = &p->nodes[k++], *cn = NULL;
                size_t ci;

                for (ci = 0; ci < n_classes; ci++)
                        if (classes[ci] == c->klass)
                                break;
                cn = &p->nodes[1 + ci];

                plan_node_init(tn, host);
                tn->type = PLAN_TENANT;
                tn->parent = (int) (1 + ci);
                tn->tenant = (int) c->index;
                tn->klass = c->klass;
                tn->unit = tenant_unit_name(c->t);
                if (!tn->unit)
                        return -ENOMEM;
                tn->path = strdup_printf("%s/%s", cn->path, tn->unit);
                if (!tn->path)
                        return -ENOMEM;
                tn->memory_min = c->memory_min;
                tn->memory_low = c->memory_low;
                tn->memory_high = c->memory_high;
                tn->memory_max = c->memory_max;
                tn->swap_max = c->swap_max;
                tn->zswap_max = c->zswap_max;
                tn->cpu_weight = c->cpu_weight;
                tn->cpus = c->cpus;
                tn->mems = c->mems;
                for (int h = 0; h < HUGE_SIZES_MAX; h++)
                        if (h == c->huge_idx)
                                tn->hugetlb[h].max = tn->hugetlb[h].rsvd_max = c->huge_bytes;
                tn->vm_overhead = c->overhead;
                tn->guarantee = c->guarantee;
                tn->placement = TAKE_PTR(c->placement);

                cn->memory_min = size_add(cn->memory_min, tn->memory_min);
                cn->memory_low = size_add(cn->memory_low, tn->memory_low);
                hugetlb_add(cn, tn);

                p->guaranteed = size_add(p->guaranteed, c->guarantee);
                p->limits = size_add(p->limits, tenant_limit_bytes(c));

                if (c->huge_idx >= 0 && c->has_pool_node) {
                        PlanPool *pool = NULL;
                        PlanPoolUser *nu;

                        for (size_t j = 0; j < p->n_pools; j++)
                                if (p->pools[j].node == c->pool_node &&
                                    p->pools[j].page_size == host->huge_sizes[c->huge_idx])
                                        pool = &p->pools[j];
                        if (!pool) {
                                PlanPool *np = reallocarray(p->pools, p->n_pools + 1, sizeof(PlanPool));

                                if (!np)
                                        return -ENOMEM;
                                p->pools = np;
                                pool = &p->pools[p->n_pools++];
                                *pool = (PlanPool) { .node = c->pool_node,
                                                     .page_size = host->huge_sizes[c->huge_idx] };
                        }
                        pool->pages += c->t->huge_count;
                        nu = reallocarray(pool->users, pool->n_users + 1, sizeof(PlanPoolUser));
                        if (!nu)
                                return -ENOMEM;
                        pool->users = nu;
                        pool->users[pool->n_users++] = (PlanPoolUser) { .id = c->t->id,
                                                                         .pages = c->t->huge_count };
                        tn->huge_node = (int) c->pool_node;
                }
        }

        for (size_t i = 0; i < n_classes; i++) {
                PlanNode *cn = &p->nodes[1 + i];

                root->memory_min = size_add(root->memory_min, cn->memory_min);
                root->memory_low = size_add(root->memory_low, cn->memory_low);
                hugetlb_add(root, cn);
        }

        /* Pools sorted by node, then page size, for stable output. */
        for (size_t i = 0; i < p->n_pools; i++)
                for (size_t j = i + 1; j < p->n_pools; j++)
                        if (p->pools[j].node < p->pools[i].node ||
                            (p->pools[j].node == p->pools[i].node &&
                             p->pools[j].page_size < p->pools[i].page_size)) {
                                PlanPool tmp = p->pools[i];
                                p->pools[i] = p->pools[j];
                                p->pools[j] = tmp;
                        }
        return 0;
}

int plan_build(const PolicySet *policies, const HostTopology *host, Plan *ret, PolicyErrors *errs) {
        _cleanup_free_ TenantCalc *calcs = NULL;
        _cleanup_free_ TenantCalc **order = NULL;
        size_t n = policies->n_tenants;
        uint64_t reserve, capacity, limit_capacity;
        uint32_t overcommit_bp;
        bool refused = false;
        Plan p = { .nodes = NULL };
        int r = 0;

        calcs = calloc(n > 0 ? n : 1, sizeof(TenantCalc));
        order = calloc(n > 0 ? n : 1, sizeof(TenantCalc *));
        if (!calcs || !order)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                calcs[i].t = &policies->tenants[i];
                calcs[i].index = i;
                order[i] = &calcs[i];
                if (calc_tenant(policies, host, &calcs[i], errs) < 0)
                        r = -EINVAL;
        }
        if (r < 0)
                goto finish;

        reserve = size_resolve(policies->config.reserve, host->mem_total);
        if (reserve == SIZE_UNSET)
                reserve = 0;
        capacity = size_sub(host->mem_total, reserve);
        /* 0 means "not configured": no overcommit. */
        overcommit_bp = policies->config.overcommit_bp != 0 ? policies->config.overcommit_bp : 10000;
        limit_capacity = muldiv_u64(capacity, overcommit_bp, 10000);

        qsort(order, n, sizeof(order[0]), cmp_admission);
        admit_host(order, n, capacity, errs);
        r = plan_place(host, reserve, calcs, n, errs);
        if (r < 0 && r != -ENOSPC)
                goto finish;
        admit_limits(order, n, capacity, limit_capacity, overcommit_bp, errs);

        for (size_t i = 0; i < n; i++)
                refused = refused || calcs[i].refused;
        if (refused) {
                r = -ENOSPC;
                goto finish;
        }

        p.capacity = capacity;
        p.limit_capacity = limit_capacity;
        r = assemble(policies, host, order, n, &p);
        if (r < 0) {
                plan_done(&p);
                goto finish;
        }
        *ret = p;
        r = 0;

finish:
        for (size_t i = 0; i < n; i++)
                free(calcs[i].placement);
        return r;
}

void plan_done(Plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_nodes; i++) {
                free(p->nodes[i].unit);
                free(p->nodes[i].path);
                free(p->nodes[i].placement);
        }
        free(p->nodes);
        for (size_t i = 0; i < p->n_pools; i++)
                free(p->pools[i].users);
        free(p->pools);
        *p = (Plan) { .nodes = NULL };
}
