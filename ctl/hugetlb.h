/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hugetlb: the kernel's hugepage pools, one per NUMA node and page size
 * (<sysfs>/devices/system/node/nodeN/hugepages/hugepages-<kB>kB/nr_hugepages).
 *
 * Owns: sizing those pools for the tenants of a Plan (PlanPool: pages needed
 * per node and size), reading back what the kernel really assembled, retrying
 * to a deadline, reporting shortages with exact numbers and naming the tenants
 * that cannot be served (PITFALLS 6), undoing a reservation, and returning
 * pages that tenants no longer need. Does not own: the per-tenant hugetlb.*
 * limits (plan.h computes them, the apply engine writes them) or deciding
 * what to do with a refused tenant (the caller).
 *
 * Whose pages are they? The kernel has one pool per node and size, shared by
 * tenants and by anything else on the host (pages reserved at boot with
 * hugepages=, an admin's echo into nr_hugepages, a DPDK process...). tenantd
 * never takes pages from those other users:
 *
 *   others  = pages of the pool in use (nr_hugepages - free_hugepages) that are
 *             not charged to tenants; tenants' pages are read from
 *             <usage_cgroup>/hugetlb.<size>.numa_stat (tenants.slice);
 *   added   = pages tenantd itself added to the pool, recorded per node and
 *             size in a state file (default /run/tenantd/hugepages: /run is
 *             empty after a reboot, exactly like runtime-allocated pools);
 *   base    = nr_hugepages - added: the pool as the host would have it without
 *             tenantd.
 *
 *   hugetlb_reserve()  grows a pool to  needed + others  when it is smaller
 *                      (tenants may use the free pages of the base pool; the
 *                      pool is never shrunk here) and adds the growth to
 *                      `added`;
 *   hugetlb_release()  after a successful apply, shrinks a pool to
 *                      max(needed + others, base): only pages tenantd added
 *                      are returned, never the host's own;
 *   hugetlb_restore()  undoes a reservation (refusal, or a failed apply).
 *
 * Without a state file (state_path NULL) nothing is ever returned. Free pages
 * of the base pool that another program reserved (mmap without touching:
 * HugePages_Rsvd is global, sysfs has no per-node count) look free to tenantd.
 * Callers serialise: only one tenantd or tenantctl changes pools at a time.
 *
 * Writing nr_hugepages succeeds even when the kernel assembles fewer pages, so
 * every write is read back. A pool that is short is written again (after
 * asking the node to compact, <sysfs>/devices/system/node/nodeN/compact) until
 * the timeout; what is still missing then is reported exactly:
 *     node 1: 2M pages: wanted 512, got 230 (282 short)
 *     tenant 'db' refused: needs 96 x 2M on node 1, pool has 40 free
 * Tenants of a short pool are served in the pool's user order (admission order);
 * the first that does not fit and every later one that does not fit are refused.
 *
 * sysfs_root is "/sys" on a real host and a fixture directory in unit tests,
 * whose HugetlbHooks play the kernel's part (see tests/test-hugetlb.c).
 */
#pragma once

#include "plan.h"

#define HUGETLB_STATE_PATH "/run/tenantd/hugepages"
/* How long tenantctl/tenantd retry a short pool. */
#define HUGETLB_TIMEOUT_USEC (5 * UINT64_C(1000000))

/* Test seam, like CgfsHooks. `write` is called before every write below
 * sysfs_root (path is the full path): a negative errno fails the write, 1 means
 * the hook performed it (fixture emulation), 0 lets it through. */
typedef struct HugetlbHooks {
        int (*write)(const char *path, const char *value, void *userdata);
        void *userdata;
} HugetlbHooks;

typedef struct HugetlbOptions {
        const char *state_path;     /* what tenantd added; NULL: nothing is ever returned */
        const char *usage_cgroup;   /* absolute path of the cgroup whose hugetlb.<size>.numa_stat
                                       counts every tenant's pages (<root>/tenants.slice); NULL or
                                       missing: no tenant holds pages */
        uint64_t timeout_usec;      /* keep retrying a short pool this long; 0: one attempt */
        uint64_t retry_usec;        /* pause between attempts; 0: 200 ms */
        const HugetlbHooks *hooks;
} HugetlbOptions;

typedef struct HugetlbPoolResult {
        unsigned node;
        uint64_t page_size;
        uint64_t needed;            /* pages tenants need (PlanPool.pages) */
        uint64_t others;            /* pages in use by non-tenants */
        uint64_t before;            /* nr_hugepages found */
        uint64_t wanted;            /* nr_hugepages written (== before when nothing was written) */
        uint64_t got;               /* nr_hugepages read back last */
        uint64_t added_before;      /* the state file's count before this call */
        uint64_t added_after;
        unsigned attempts;          /* writes of nr_hugepages */
} HugetlbPoolResult;

typedef struct HugetlbReport {
        HugetlbPoolResult *pools;   /* every pool looked at, in PlanPool (or state) order */
        size_t n_pools;
        char **lines;               /* for people, one per pool changed, then refusals; strv */
        char **refused;             /* ids of tenants a short pool cannot serve; strv, may be NULL */
        char *error;                /* on an error other than -ENOMEM: path, value and strerror */
        uint64_t elapsed_usec;
} HugetlbReport;

/* Grow every pool to what its tenants need (never shrinks). Returns 0 when all
 * pools hold enough; -ENOMEM when some are short (lines and refused say which;
 * the pools keep what the kernel assembled: hugetlb_restore() undoes it); another
 * -errno on I/O errors (error says what; pools changed so far are in pools[]).
 * *ret is filled in every case and must be freed with hugetlb_report_done(). */
int hugetlb_reserve(const char *sysfs_root, const PlanPool *pools, size_t n, const HugetlbOptions *o,
                    HugetlbReport *ret);

/* Put every pool a hugetlb_reserve() changed back to its `before` size and the
 * state file back to `added_before`. Appends "restored" lines to r->lines.
 * Returns 0 or the first -errno (best effort: continues with the next pool). */
int hugetlb_restore(const char *sysfs_root, HugetlbReport *r, const HugetlbOptions *o);

/* Return pages tenants no longer need: every pool in the state file shrinks to
 * max(needed + others, base), needed from pools (0 for a pool not listed).
 * Returns 0 or -errno; *ret as for hugetlb_reserve(). */
int hugetlb_release(const char *sysfs_root, const PlanPool *pools, size_t n, const HugetlbOptions *o,
                    HugetlbReport *ret);

void hugetlb_report_done(HugetlbReport *r);

/* "hugepages-2048kB": the sysfs directory name of a page size. */
/* The cgroup file infix of a page size, as the kernel names it: 2 MiB -> "2MB",
 * 1 GiB -> "1GB" (hugetlb.2MB.max). */
const char *hugetlb_size_name(uint64_t page_size, char *buf, size_t size);
const char *hugetlb_sysfs_name(uint64_t page_size, char *buf, size_t size);
