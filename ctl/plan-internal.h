/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan-internal: what plan.c (values, hierarchy, admission) and plan-place.c
 * (NUMA placement) share while a plan is being built. Not part of the API.
 */
#pragma once

#include "plan.h"

/* Everything the planner derives for one tenant before the Plan is assembled. */
typedef struct TenantCalc {
        const TenantPolicy *t;
        const PolicyClass *klass;
        size_t index;              /* into PolicySet.tenants */

        uint64_t request;          /* memcg share of the request, page-rounded */
        uint64_t limit;            /* memcg share of the limit (SIZE_INFINITY allowed) */
        uint64_t overhead;         /* VM overhead, 0 for others */
        uint64_t memory_min, memory_low, memory_high, memory_max;
        uint64_t swap_max, zswap_max;
        unsigned cpu_weight;

        int huge_idx;              /* index into HostTopology.huge_sizes, -1: none */
        uint64_t huge_bytes;       /* count * size */

        uint64_t mem_guarantee;    /* memory_min + memory_low */
        uint64_t guarantee;        /* mem_guarantee + huge_bytes: what admission counts */

        /* placement results */
        bool refused;
        bool has_pool_node;
        unsigned pool_node;        /* node whose pool provides the hugepages */
        CpuSet cpus;               /* empty: cpuset.cpus not managed */
        NodeSet mems;              /* empty: cpuset.mems not managed */
        char *placement;
} TenantCalc;

static inline uint64_t page_round_up(uint64_t v, uint64_t page) {
        if (v == SIZE_INFINITY || v == SIZE_UNSET)
                return v;
        if (v > SIZE_INFINITY - 2 * page)   /* would reach the sentinels */
                return SIZE_INFINITY;
        return (v + page - 1) / page * page;
}

static inline uint64_t page_round_down(uint64_t v, uint64_t page) {
        if (v == SIZE_INFINITY || v == SIZE_UNSET)
                return v;
        return v / page * page;
}

/* Saturating arithmetic: sentinels and overflow both end at SIZE_INFINITY. */
static inline uint64_t size_add(uint64_t a, uint64_t b) {
        if (a == SIZE_INFINITY || b == SIZE_INFINITY || a > SIZE_UNSET - 1 - b)
                return SIZE_INFINITY;
        return a + b;
}
static inline uint64_t size_sub(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

/* a * b / c without intermediate overflow, rounded down; c > 0. */
static inline uint64_t muldiv_u64(uint64_t a, uint64_t b, uint64_t c) {
        __extension__ typedef unsigned __int128 u128;
        u128 r = (u128) a * b / c;
        return r > UINT64_MAX ? UINT64_MAX : (uint64_t) r;
}

/* "1G", "1536M": size_format() into a caller buffer. */
#define SIZE_STR_MAX 32
const char *plan_size_str(uint64_t bytes, char buf[static SIZE_STR_MAX]);
/* "1.5G", "512M", "max", "-" (unset): one decimal, for people (table, placement reasons). */
const char *plan_size_human(uint64_t bytes, char buf[static SIZE_STR_MAX]);

/* Validates [numa]/[cpu]/[hugepages] against the host (nodes and CPUs exist,
 * one node for hugepages, CPU lists on the tenant's nodes). Appends -EINVAL errors. */
int plan_place_validate(const HostTopology *host, TenantCalc *c, PolicyErrors *errs);

/* Places every tenant not yet refused and checks per-node admission; sets cpus,
 * mems, placement and pool_node. Appends -ENOSPC errors and marks refusals.
 * Returns 0 or -ENOSPC (or -ENOMEM). */
int plan_place(const HostTopology *host, uint64_t reserve, TenantCalc *calcs, size_t n,
               PolicyErrors *errs);

/* Appends an error about tenant t ("file:line: key: problem (value)"). */
void plan_error(const TenantPolicy *t, PolicyErrors *errs, int errnum, const char *key, unsigned line,
                const char *value, const char *fmt, ...) _printf_(7, 8);

/* What part of a tenant did not fit; picks the key, line and value of the error. */
typedef enum RefuseWhat {
        REFUSE_MEMORY,      /* memory.request */
        REFUSE_HUGEPAGES,   /* hugepages.count */
        REFUSE_CPUS,        /* cpu.cpus */
        REFUSE_LIMIT,       /* memory.limit (overcommit) */
} RefuseWhat;

/* Marks c refused and appends an -ENOSPC admission error. */
void plan_refuse(TenantCalc *c, PolicyErrors *errs, RefuseWhat what, const char *fmt, ...)
        _printf_(4, 5);
