/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan-place: NUMA placement and per-node admission (part of the planner).
 *
 * Node capacity = node MemTotal - the node's share of the host reserve
 * (reserve * node memory / MemTotal, rounded up to a page). Hugepage pools are
 * carved out of node memory, so hugepage bytes always count against the node
 * whose pool provides them.
 *
 * What counts against a node:
 *  - strict tenants ([numa] mode = strict; explicit nodes or auto): their whole
 *    guarantee (memory.min + memory.low + hugepages). These are "hard" charges:
 *    a tenant that does not fit is refused.
 *  - preferred tenants: only their hugepages are hard; their protected memory is
 *    a "soft" charge. cgroup v2 has no preferred memory policy, so for them
 *    cpuset.cpus is pinned and cpuset.mems left unmanaged: the kernel's
 *    first-touch allocation keeps memory local and may spill to other nodes.
 *    Soft charges only steer later preferred tenants away from busy nodes.
 *  - tenants without [numa] but with hugepages: the pages are hard on the node
 *    chosen for their pool (best fit); CPUs and mems stay unmanaged.
 *  - tenants without [numa] and without hugepages: nothing; they only count in
 *    host admission (plan.c). They get no cpuset, except that an explicit
 *    `cpus = 4-7` list is always honoured as cpuset.cpus.
 * Strict (and pool-only) tenants are placed before preferred ones, so a soft
 * placement can never push a hard one off a node.
 *
 * CPUs are shared, not handed out: a node "has enough CPUs" when it has at least
 * cpu_count (or the size of the explicit list) CPUs, however many tenants use
 * them already. cpu.weight arbitrates between tenants on the same CPUs. An
 * auto-placed tenant with a CPU count gets all CPUs of its node(s).
 *
 * Auto placement ([numa] nodes = auto, or [numa] without nodes=):
 *  1. one node: the node that fits the guarantee and has enough CPUs and leaves
 *     the least memory free after placement (best fit); ties: lower id;
 *  2. else (not for hugepage tenants, which need exactly one node): start at
 *     the node with the most free memory and add the nearest node by SLIT
 *     distance from it (ties: more free memory, then lower id) until memory
 *     and CPUs fit;
 *  3. else refuse, with the numbers.
 * An explicit CPU list with nodes = auto fixes the nodes: those owning the CPUs.
 * A tenant spread over several nodes is charged to each in proportion to its
 * free memory: with CPUs on all of them, first-touch allocation spreads it too.
 *
 * Order: class rank descending, then guarantee descending, then id; so the
 * important and the big tenants choose first, deterministically.
 */
#include <inttypes.h>

#include "plan-internal.h"

typedef struct PlaceNode {
        const HostNode *h;
        uint64_t capacity;
        uint64_t hard_used;
        uint64_t soft_used;
        unsigned n_cpus;
} PlaceNode;

typedef struct Place {
        const HostTopology *host;
        PlaceNode nodes[NODESET_MAX];   /* same order as host->nodes */
        unsigned n;
} Place;

static uint64_t hard_free(const PlaceNode *n) {
        return size_sub(n->capacity, n->hard_used);
}

static uint64_t node_free(const PlaceNode *n, bool soft) {
        return soft ? size_sub(hard_free(n), n->soft_used) : hard_free(n);
}

static void nodes_cpus(const HostTopology *host, const NodeSet *set, CpuSet *ret) {
        *ret = (CpuSet) { .bits = { 0 } };
        for (unsigned i = 0; i < host->n_nodes; i++)
                if (nodeset_has(set, host->nodes[i].id))
                        cpuset_union(ret, &host->nodes[i].cpus);
}

static NodeSet cpu_owners(const HostTopology *host, const CpuSet *cpus) {
        NodeSet set = { 0 };

        for (unsigned i = 0; i < host->n_nodes; i++)
                for (size_t w = 0; w < ELEMENTSOF(cpus->bits); w++)
                        if (cpus->bits[w] & host->nodes[i].cpus.bits[w]) {
                                nodeset_add(&set, host->nodes[i].id);
                                break;
                        }
        return set;
}

static NodeSet host_nodes(const HostTopology *host) {
        NodeSet set = { 0 };

        for (unsigned i = 0; i < host->n_nodes; i++)
                nodeset_add(&set, host->nodes[i].id);
        return set;
}

static bool tenant_nodes_auto(const TenantPolicy *t) {
        return t->has_nodes && (t->nodes_auto || t->nodes.bits == 0);
}

static unsigned tenant_cpu_need(const TenantPolicy *t) {
        return t->has_cpu_list ? cpuset_count(&t->cpu_list) : t->cpu_count;
}

int plan_place_validate(const HostTopology *host, TenantCalc *c, PolicyErrors *errs) {
        const TenantPolicy *t = c->t;
        char v[CPUSET_MAX * 4], a[CPUSET_MAX * 4], b[CPUSET_MAX * 4];
        CpuSet all = { .bits = { 0 } };
        int r = 0;

        for (unsigned i = 0; i < host->n_nodes; i++)
                cpuset_union(&all, &host->nodes[i].cpus);

        if (t->has_cpu_list && !cpuset_is_subset(&t->cpu_list, &all)) {
                CpuSet stray = t->cpu_list;

                for (size_t w = 0; w < ELEMENTSOF(stray.bits); w++)
                        stray.bits[w] &= ~all.bits[w];
                plan_error(t, errs, EINVAL, "cpu.cpus", t->line_cpus, cpulist_format(&t->cpu_list, v, sizeof(v)),
                           "cpus %s do not exist on this host (its cpus: %s)", cpulist_format(&stray, b, sizeof(b)),
                           cpulist_format(&all, a, sizeof(a)));
                return -EINVAL;
        }
        if (!t->has_cpu_list && t->cpu_count > host->n_cpus) {
                snprintf(v, sizeof(v), "%u", t->cpu_count);
                plan_error(t, errs, EINVAL, "cpu.cpus", t->line_cpus, v, "needs %u cpus, this host has %u",
                           t->cpu_count, host->n_cpus);
                r = -EINVAL;
        }

        if (t->has_nodes && !tenant_nodes_auto(t)) {
                NodeSet have = host_nodes(host), stray = { t->nodes.bits & ~have.bits };

                if (stray.bits != 0) {
                        plan_error(t, errs, EINVAL, "numa.nodes", t->line_nodes,
                                   nodelist_format(&t->nodes, v, sizeof(v)),
                                   "nodes %s do not exist on this host (its nodes: %s)",
                                   nodelist_format(&stray, b, sizeof(b)), nodelist_format(&have, a, sizeof(a)));
                        return -EINVAL;
                }
                if (c->huge_idx >= 0 && nodeset_count(&t->nodes) > 1) {
                        plan_error(t, errs, EINVAL, "numa.nodes", t->line_nodes,
                                   nodelist_format(&t->nodes, v, sizeof(v)),
                                   "a tenant with hugepages must be on exactly one NUMA node");
                        r = -EINVAL;
                }
                if (t->numa_mode == NUMA_STRICT && t->has_cpu_list) {
                        CpuSet on;

                        nodes_cpus(host, &t->nodes, &on);
                        if (!cpuset_is_subset(&t->cpu_list, &on)) {
                                CpuSet stray_cpus = t->cpu_list;

                                for (size_t w = 0; w < ELEMENTSOF(stray_cpus.bits); w++)
                                        stray_cpus.bits[w] &= ~on.bits[w];
                                plan_error(t, errs, EINVAL, "cpu.cpus", t->line_cpus,
                                           cpulist_format(&t->cpu_list, v, sizeof(v)),
                                           "cpus %s are not on nodes %s (mode = strict)",
                                           cpulist_format(&stray_cpus, b, sizeof(b)),
                                           nodelist_format(&t->nodes, a, sizeof(a)));
                                r = -EINVAL;
                        }
                }
        } else if (t->has_nodes && t->has_cpu_list && c->huge_idx >= 0) {
                NodeSet owners = cpu_owners(host, &t->cpu_list);

                if (nodeset_count(&owners) > 1) {
                        plan_error(t, errs, EINVAL, "cpu.cpus", t->line_cpus,
                                   cpulist_format(&t->cpu_list, v, sizeof(v)),
                                   "a tenant with hugepages must be on one NUMA node, but these cpus are on nodes %s",
                                   nodelist_format(&owners, b, sizeof(b)));
                        r = -EINVAL;
                }
        }
        return r;
}

/* ---- choosing nodes ------------------------------------------------------ */

/* Best fit: the node that leaves the least free after placement; ties keep the
 * lower id because nodes are scanned in id order. */
static int choose_single(const Place *pl, uint64_t need, unsigned cpus, bool soft) {
        int best = -1;
        uint64_t best_after = 0;

        for (unsigned i = 0; i < pl->n; i++) {
                const PlaceNode *n = &pl->nodes[i];
                uint64_t f = node_free(n, soft);

                if (f < need || n->n_cpus < cpus)
                        continue;
                if (best < 0 || f - need < best_after) {
                        best = (int) i;
                        best_after = f - need;
                }
        }
        return best;
}

/* The node with the most free memory among those with enough CPUs whose hard
 * free memory holds hard_need; ties: lower id. */
static int most_free(const Place *pl, unsigned cpus, bool soft, uint64_t hard_need) {
        int best = -1;

        for (unsigned i = 0; i < pl->n; i++) {
                const PlaceNode *n = &pl->nodes[i];

                if (n->n_cpus < cpus || hard_free(n) < hard_need)
                        continue;
                if (best < 0 || node_free(n, soft) > node_free(&pl->nodes[best], soft))
                        best = (int) i;
        }
        return best;
}

/* Greedy closest set: from the node with the most free memory, add the nearest
 * node (SLIT distance from the start; ties: more free, lower id) until both
 * memory and CPUs fit. */
static bool choose_greedy(const Place *pl, uint64_t need, unsigned cpus, bool soft, NodeSet *ret,
                          unsigned *ret_start) {
        int start = most_free(pl, 0, soft, 0);
        NodeSet set = { 0 };
        uint64_t have = 0;
        unsigned have_cpus = 0;

        if (start < 0)
                return false;
        for (int next = start; next >= 0;) {
                const PlaceNode *n = &pl->nodes[next];
                const unsigned *dist = pl->nodes[start].h->distance;

                nodeset_add(&set, n->h->id);
                have = size_add(have, node_free(n, soft));
                have_cpus += n->n_cpus;
                if (have >= need && have_cpus >= cpus) {
                        *ret = set;
                        *ret_start = pl->nodes[start].h->id;
                        return true;
                }

                next = -1;
                for (unsigned i = 0; i < pl->n; i++) {
                        const PlaceNode *c = &pl->nodes[i], *b;

                        if (nodeset_has(&set, c->h->id))
                                continue;
                        if (next < 0) {
                                next = (int) i;
                                continue;
                        }
                        b = &pl->nodes[next];
                        if (dist[c->h->id] < dist[b->h->id] ||
                            (dist[c->h->id] == dist[b->h->id] && node_free(c, soft) > node_free(b, soft)))
                                next = (int) i;
                }
        }
        return false;
}

static uint64_t set_free(const Place *pl, const NodeSet *set, bool soft) {
        uint64_t f = 0;

        for (unsigned i = 0; i < pl->n; i++)
                if (nodeset_has(set, pl->nodes[i].h->id))
                        f = size_add(f, node_free(&pl->nodes[i], soft));
        return f;
}

static unsigned set_cpus(const Place *pl, const NodeSet *set) {
        unsigned c = 0;

        for (unsigned i = 0; i < pl->n; i++)
                if (nodeset_has(set, pl->nodes[i].h->id))
                        c += pl->nodes[i].n_cpus;
        return c;
}

/* Charges amount to the nodes of set in proportion to their free memory, so
 * what stays free is spread the same way; the rounding remainder, and what
 * does not fit at all (only possible for soft charges), go to the node with the
 * most free memory (ties: lower id). */
static void spread(Place *pl, const NodeSet *set, uint64_t amount, bool soft) {
        uint64_t total = set_free(pl, set, soft), part = amount < total ? amount : total, charged = 0;
        uint64_t before[NODESET_MAX];
        int most = -1;

        for (unsigned i = 0; i < pl->n; i++) {
                before[i] = node_free(&pl->nodes[i], soft);
                if (nodeset_has(set, pl->nodes[i].h->id) && (most < 0 || before[i] > before[most]))
                        most = (int) i;
        }
        for (unsigned i = 0; i < pl->n; i++) {
                PlaceNode *n = &pl->nodes[i];
                uint64_t share;

                if (!nodeset_has(set, n->h->id))
                        continue;
                share = total > 0 ? muldiv_u64(part, before[i], total) : 0;
                if (soft)
                        n->soft_used = size_add(n->soft_used, share);
                else
                        n->hard_used = size_add(n->hard_used, share);
                charged += share;
        }
        if (most < 0 || charged >= amount)
                return;
        if (soft)
                pl->nodes[most].soft_used = size_add(pl->nodes[most].soft_used, amount - charged);
        else
                pl->nodes[most].hard_used = size_add(pl->nodes[most].hard_used, amount - charged);
}

static const char *node_word(const NodeSet *set) {
        return nodeset_count(set) == 1 ? "node" : "nodes";
}

/* ---- placing one tenant ------------------------------------------------------ */

static int place_pool_only(Place *pl, TenantCalc *c, PolicyErrors *errs) {
        char a[SIZE_STR_MAX], b[SIZE_STR_MAX], m[SIZE_STR_MAX], nb[16];
        int pos = choose_single(pl, c->huge_bytes, 0, false);
        NodeSet set = { 0 };
        PlaceNode *n;

        if (pos < 0) {
                pos = most_free(pl, 0, false, 0);
                if (pos < 0)
                        return -ENODEV;   /* a topology without nodes */
                n = &pl->nodes[pos];
                plan_refuse(c, errs, REFUSE_HUGEPAGES,
                            "does not fit on any single node (hugepages come from one node): needs %s, "
                            "%s free on node %u (most free), %s missing",
                            plan_size_str(c->huge_bytes, a), plan_size_str(hard_free(n), b), n->h->id,
                            plan_size_str(c->huge_bytes - hard_free(n), m));
                return -ENOSPC;
        }
        n = &pl->nodes[pos];
        nodeset_add(&set, n->h->id);
        spread(pl, &set, c->huge_bytes, false);
        c->has_pool_node = true;
        c->pool_node = n->h->id;
        if (c->t->has_cpu_list)
                c->cpus = c->t->cpu_list;
        c->placement = strdup_printf("none: not NUMA-bound; hugepages from node %s "
                                     "(best fit: %s of %s free after placement)",
                                     nodelist_format(&set, nb, sizeof(nb)), plan_size_human(hard_free(n), a),
                                     plan_size_human(n->capacity, b));
        return c->placement ? 0 : -ENOMEM;
}

/* A tenant whose nodes are fixed (explicit list, or the owners of its CPUs):
 * check CPUs and memory, no choice to make. */
static int place_fixed(Place *pl, TenantCalc *c, const NodeSet *set, uint64_t hard, bool strict,
                       PolicyErrors *errs) {
        const TenantPolicy *t = c->t;
        char a[SIZE_STR_MAX], b[SIZE_STR_MAX], m[SIZE_STR_MAX], nb[NODESET_MAX * 4];
        unsigned need_cpus = tenant_cpu_need(t), have_cpus = set_cpus(pl, set);
        uint64_t f = set_free(pl, set, false);

        nodelist_format(set, nb, sizeof(nb));
        if (!t->has_cpu_list && need_cpus > have_cpus) {
                plan_refuse(c, errs, REFUSE_CPUS, "does not fit on %s %s: needs %u cpus, %s %u",
                            node_word(set), nb, need_cpus, nodeset_count(set) == 1 ? "the node has" : "they have",
                            have_cpus);
                return -ENOSPC;
        }
        if (hard > f) {
                plan_refuse(c, errs, strict && c->mem_guarantee > 0 ? REFUSE_MEMORY : REFUSE_HUGEPAGES,
                            "does not fit on %s %s: needs %s, %s free, %s missing", node_word(set), nb,
                            plan_size_str(hard, a), plan_size_str(f, b), plan_size_str(hard - f, m));
                return -ENOSPC;
        }
        return 0;
}

static int place_numa(Place *pl, TenantCalc *c, PolicyErrors *errs) {
        const TenantPolicy *t = c->t;
        bool strict = t->numa_mode == NUMA_STRICT, soft = !strict, huge = c->huge_idx >= 0;
        uint64_t hard = size_add(c->huge_bytes, strict ? c->mem_guarantee : 0);
        uint64_t want = size_add(c->huge_bytes, c->mem_guarantee);
        unsigned need_cpus = tenant_cpu_need(t);
        const char *mode = soft ? " (preferred)" : "", *tail = soft ? "; memory not bound" : "";
        char h1[SIZE_STR_MAX], h2[SIZE_STR_MAX];
        char a[SIZE_STR_MAX], b[SIZE_STR_MAX], m[SIZE_STR_MAX], nb[NODESET_MAX * 4], cb[CPUSET_MAX * 4];
        _cleanup_free_ char *reason = NULL;
        NodeSet set = { 0 };
        int pos, r;

        if (!tenant_nodes_auto(t)) {
                set = t->nodes;
                r = place_fixed(pl, c, &set, hard, strict, errs);
                if (r < 0)
                        return r;
                reason = strdup_printf("explicit: nodes %s%s", nodelist_format(&set, nb, sizeof(nb)),
                                       soft ? " (preferred: memory not bound)" : "");
        } else if (t->has_cpu_list) {
                set = cpu_owners(pl->host, &t->cpu_list);
                r = place_fixed(pl, c, &set, hard, strict, errs);
                if (r < 0)
                        return r;
                reason = strdup_printf("auto%s: %s %s (owns cpus %s%s)", mode, node_word(&set),
                                       nodelist_format(&set, nb, sizeof(nb)),
                                       cpulist_format(&t->cpu_list, cb, sizeof(cb)), tail);
        } else if ((pos = choose_single(pl, want, need_cpus, soft)) >= 0) {
                const PlaceNode *n = &pl->nodes[pos];

                nodeset_add(&set, n->h->id);
                reason = strdup_printf("auto%s: node %u (best fit: %s of %s free after placement%s)", mode, n->h->id,
                                       plan_size_human(node_free(n, soft) - want, h1),
                                       plan_size_human(n->capacity, h2), tail);
        } else {
                unsigned start;

                if (!huge && choose_greedy(pl, want, need_cpus, soft, &set, &start)) {
                        char what[SIZE_STR_MAX + DECIMAL_STR_MAX(unsigned) + 16];

                        if (need_cpus == 0)
                                snprintf(what, sizeof(what), "%s", plan_size_human(want, h1));
                        else if (want == 0)
                                snprintf(what, sizeof(what), "%u cpus", need_cpus);
                        else
                                snprintf(what, sizeof(what), "%s and %u cpus", plan_size_human(want, h1), need_cpus);
                        reason = strdup_printf("auto%s: nodes %s (no single node fits %s; "
                                               "node %u has the most free, nearest nodes added%s)",
                                               mode, nodelist_format(&set, nb, sizeof(nb)), what, start, tail);
                } else if (soft && (pos = most_free(pl, need_cpus, true, hard)) >= 0) {
                        /* Preferred: memory is not bound, so not fitting is not fatal;
                         * only the hugepages (hard) must be there. */
                        const PlaceNode *n = &pl->nodes[pos];

                        nodeset_add(&set, n->h->id);
                        reason = strdup_printf("auto (preferred): node %u (most free: %s, less than the %s "
                                               "guaranteed; memory not bound)",
                                               n->h->id, plan_size_human(node_free(n, true), h1),
                                               plan_size_human(want, h2));
                } else if (soft && !huge && choose_greedy(pl, 0, need_cpus, true, &set, &start))
                        reason = strdup_printf("auto (preferred): nodes %s (for %u cpus; memory not bound)",
                                               nodelist_format(&set, nb, sizeof(nb)), need_cpus);
                else if (huge) {
                        const PlaceNode *n;

                        pos = most_free(pl, need_cpus, false, 0);
                        if (pos < 0) {
                                unsigned largest = 0;

                                for (unsigned i = 0; i < pl->n; i++)
                                        if (pl->nodes[i].n_cpus > largest)
                                                largest = pl->nodes[i].n_cpus;
                                plan_refuse(c, errs, REFUSE_CPUS,
                                            "does not fit on any single node (hugepages come from one node): "
                                            "needs %u cpus, the largest node has %u", need_cpus, largest);
                                return -ENOSPC;
                        }
                        n = &pl->nodes[pos];
                        plan_refuse(c, errs, strict && c->mem_guarantee > 0 ? REFUSE_MEMORY : REFUSE_HUGEPAGES,
                                    "does not fit on any single node (hugepages come from one node): needs %s, "
                                    "%s free on node %u (most free), %s missing",
                                    plan_size_str(hard, a), plan_size_str(hard_free(n), b), n->h->id,
                                    plan_size_str(size_sub(hard, hard_free(n)), m));
                        return -ENOSPC;
                } else {
                        NodeSet all = host_nodes(pl->host);
                        uint64_t f = set_free(pl, &all, false);

                        plan_refuse(c, errs, REFUSE_MEMORY,
                                    "does not fit on any NUMA node: needs %s, %s free on all nodes together, "
                                    "%s missing",
                                    plan_size_str(want, a), plan_size_str(f, b), plan_size_str(size_sub(want, f), m));
                        return -ENOSPC;
                }
        }
        if (!reason)
                return -ENOMEM;

        spread(pl, &set, hard, false);
        if (soft)
                spread(pl, &set, c->mem_guarantee, true);
        if (t->has_cpu_list)
                c->cpus = t->cpu_list;
        else
                nodes_cpus(pl->host, &set, &c->cpus);
        c->mems = strict ? set : (NodeSet) { 0 };
        if (huge) {
                c->has_pool_node = true;
                c->pool_node = (unsigned) __builtin_ctzll(set.bits);
        }
        c->placement = TAKE_PTR(reason);
        return 0;
}

/* ---- all tenants ------------------------------------------------------------ */

static int cmp_placement(const void *a, const void *b) {
        const TenantCalc *x = *(TenantCalc *const *) a, *y = *(TenantCalc *const *) b;

        if (x->klass->rank != y->klass->rank)
                return x->klass->rank > y->klass->rank ? -1 : 1;
        if (x->guarantee != y->guarantee)
                return x->guarantee > y->guarantee ? -1 : 1;
        return strcmp(x->t->id, y->t->id);
}

int plan_place(const HostTopology *host, uint64_t reserve, TenantCalc *calcs, size_t n, PolicyErrors *errs) {
        _cleanup_free_ TenantCalc **order = NULL;
        uint64_t page = host->page_size != 0 ? host->page_size : 4096;
        Place pl = { .host = host, .n = host->n_nodes };
        bool refused = false;

        for (unsigned i = 0; i < host->n_nodes; i++) {
                const HostNode *h = &host->nodes[i];
                uint64_t share = host->mem_total > 0 ? muldiv_u64(reserve, h->mem_total, host->mem_total) : 0;

                pl.nodes[i] = (PlaceNode) {
                        .h = h,
                        .capacity = size_sub(h->mem_total, page_round_up(share, page)),
                        .n_cpus = cpuset_count(&h->cpus),
                };
        }

        order = calloc(n > 0 ? n : 1, sizeof(TenantCalc *));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                order[i] = &calcs[i];
        qsort(order, n, sizeof(order[0]), cmp_placement);

        /* Pass 1: hard placements (strict, and hugepage pools of unbound tenants);
         * pass 2: preferred; pass 3: the rest, which only get their reason. */
        for (int pass = 1; pass <= 3; pass++)
                for (size_t i = 0; i < n; i++) {
                        TenantCalc *c = order[i];
                        const TenantPolicy *t = c->t;
                        int r = 0;

                        if (c->refused)
                                continue;
                        if (t->has_nodes) {
                                if (pass != (t->numa_mode == NUMA_STRICT ? 1 : 2))
                                        continue;
                                r = place_numa(&pl, c, errs);
                        } else if (c->huge_idx >= 0) {
                                if (pass != 1)
                                        continue;
                                r = place_pool_only(&pl, c, errs);
                        } else {
                                if (pass != 3)
                                        continue;
                                if (t->has_cpu_list)
                                        c->cpus = t->cpu_list;
                                c->placement = strdup(t->has_cpu_list ? "none: not NUMA-bound (cpus pinned by list)"
                                                                      : "none: not NUMA-bound");
                                if (!c->placement)
                                        r = -ENOMEM;
                        }
                        if (r == -ENOSPC)
                                refused = true;
                        else if (r < 0)
                                return r;
                }
        return refused ? -ENOSPC : 0;
}
