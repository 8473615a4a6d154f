/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan: the planner, a pure function
 *     (policies + host topology + host config) -> desired state | admission errors.
 *
 * Owns: unit names and cgroup paths, every attribute value, VM overhead,
 * admission control, NUMA placement and its reasons, hugepage pools per node,
 * and the protection sums of ancestors. Does no I/O: the apply engine turns a
 * Plan into kernel writes, `tenantctl plan` prints it.
 */
#pragma once

#include "policy.h"
#include "topology.h"

typedef enum PlanNodeType {
        PLAN_ROOT_SLICE,   /* tenants.slice */
        PLAN_CLASS_SLICE,  /* tenants-<class>.slice */
        PLAN_TENANT,       /* tenant-<escaped id>.service | .scope */
} PlanNodeType;

typedef struct PlanHugetlb {
        uint64_t page_size;    /* bytes; 0 = entry unused */
        uint64_t max;          /* hugetlb.<size>.max, bytes */
        uint64_t rsvd_max;     /* hugetlb.<size>.rsvd.max, bytes */
} PlanHugetlb;

typedef struct PlanNode {
        PlanNodeType type;
        char *unit;            /* "tenants-normal.slice", "tenant-web\x2d01.scope" */
        char *path;            /* relative to the cgroup root:
                                  "tenants.slice/tenants-normal.slice/tenant-web\x2d01.scope" */
        int parent;            /* index into Plan.nodes, -1 for tenants.slice */
        int tenant;            /* index into PolicySet.tenants, -1 for slices */
        const PolicyClass *klass;   /* NULL for tenants.slice */

        /* Desired attribute values. SIZE_INFINITY is written as "max";
         * SIZE_UNSET means "tenantd does not manage this file here". All byte
         * values are multiples of the host page size (what the kernel reads back). */
        uint64_t memory_min;
        uint64_t memory_low;
        uint64_t memory_high;
        uint64_t memory_max;
        uint64_t swap_max;
        uint64_t zswap_max;
        unsigned cpu_weight;   /* 0 = not managed */
        CpuSet cpus;           /* cpuset.cpus; empty: unmanaged on a slice,
                                  unpinned ("") on a tenant's leaf */
        NodeSet mems;          /* cpuset.mems; the same */
        PlanHugetlb hugetlb[HUGE_SIZES_MAX];

        /* Tenants only */
        int huge_node;         /* NUMA node whose pool provides the tenant's hugepages
                                  (a VM's memory-backend host-nodes); -1: none */
        uint64_t vm_overhead;  /* bytes included in memory_max/guarantee for VMs */
        uint64_t guarantee;    /* bytes counted by admission (protection + overhead) */
        char *placement;       /* human reason: "auto: node 1 best fit (3.2G free, 4 cpus free)" */
} PlanNode;

/* A tenant drawing on a pool. */
typedef struct PlanPoolUser {
        const char *id;        /* tenant id; points into the PolicySet */
        uint64_t pages;
} PlanPoolUser;

typedef struct PlanPool {
        unsigned node;
        uint64_t page_size;
        uint64_t pages;        /* pages tenants on this node need */
        PlanPoolUser *users;   /* who needs them, in admission order (class rank,
                                  then id): the order in which a short pool is
                                  handed out (hugetlb.h) */
        size_t n_users;
} PlanPool;

typedef struct Plan {
        PlanNode *nodes;       /* parents before children: tenants.slice, classes by rank
                                  descending, then tenants by class and id */
        size_t n_nodes;
        PlanPool *pools;       /* one entry per (node, size) with pages > 0 */
        size_t n_pools;
        uint64_t capacity;     /* host memory - reserve */
        uint64_t guaranteed;   /* sum of guarantees */
        uint64_t limits;       /* sum of tenant memory_max (finite ones) + hugetlb bytes */
        uint64_t limit_capacity;  /* capacity * overcommit */
} Plan;

/* Build the desired state. On admission failure returns -ENOSPC and appends one
 * error per refusal naming the tenant, the node (or "host") and the missing
 * bytes, e.g. "db.ini:5: memory.request: does not fit on node 1: needs 8G,
 * 6.5G free, 1.5G missing (8G)". Policy errors (-EINVAL) likewise. The policy
 * set must outlive the plan (klass pointers). */
int plan_build(const PolicySet *policies, const HostTopology *host, Plan *ret,
               PolicyErrors *errs);
void plan_done(Plan *p);

/* systemd-style escaping of a tenant id for a unit name: '-' -> "\x2d", and every
 * byte outside [A-Za-z0-9:_.] likewise; a leading '.' too. Returns malloc'ed string. */
char *unit_name_escape(const char *id);
/* "tenant-<escaped>.service" when tenantd starts it (exec= given, or a VM, which
 * tenantd launches from [vm]), else ".scope" (processes adopted by PID). */
char *tenant_unit_name(const TenantPolicy *t);
/* The tenant id of a unit name tenant_unit_name() made ("tenant-web\x2d01.scope"
 * -> "web-01"); NULL when unit is not one (or not a valid id). */
char *tenant_id_from_unit(const char *unit);

/* Output for `tenantctl plan`: a table, or JSON (json-c). */
void plan_print_table(const Plan *p, const PolicySet *s, FILE *f);
int plan_print_json(const Plan *p, const PolicySet *s, FILE *f);
/* One node as plan_print_json() shows it (a json_object; the caller owns it). */
struct json_object *plan_node_json(const Plan *p, const PolicySet *s, const PlanNode *n);
