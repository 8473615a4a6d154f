/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * topology: a snapshot of the host's NUMA nodes, CPUs, memory and hugepages,
 * as the planner sees it. Read from libnuma and sysfs (topology_read), or from
 * a fixture file so placement can be tested on invented machines
 * (topology_parse). Owns nothing else.
 */
#pragma once

#include "util.h"

#define HUGE_SIZES_MAX 2   /* 2 MiB and 1 GiB on x86_64 */

typedef struct HostNode {
        unsigned id;
        uint64_t mem_total;                      /* bytes */
        CpuSet cpus;
        unsigned distance[NODESET_MAX];          /* SLIT distances, 10 = local */
        uint64_t huge_total[HUGE_SIZES_MAX];     /* pages in the pool now (nr_hugepages) */
        uint64_t huge_free[HUGE_SIZES_MAX];
} HostNode;

typedef struct HostTopology {
        HostNode nodes[NODESET_MAX];
        unsigned n_nodes;                        /* nodes[] is dense, sorted by id */
        uint64_t mem_total;                      /* MemTotal, bytes */
        unsigned n_cpus;
        uint64_t page_size;                      /* 4096 */
        uint64_t huge_sizes[HUGE_SIZES_MAX];     /* supported hugepage sizes, bytes; 0 = none */
        bool swap_accounting;                    /* memory.swap.max exists in non-root cgroups */
        bool zswap_accounting;                   /* memory.zswap.max exists */
} HostTopology;

/* Returns the index into huge_sizes[] or -ENOENT. */
int topology_huge_index(const HostTopology *t, uint64_t size);
const HostNode *topology_node(const HostTopology *t, unsigned id);

/* Fixture format (INI), see tests/fixtures/topology/:
 *   [host]   memory = 64G   page_size = 4096   hugepage_sizes = 2M,1G   swap_accounting = yes
 *   [node0]  memory = 32G   cpus = 0-7   distances = 10,21   hugepages_2M = 0
 * Returns 0 or -EINVAL with a message in *ret_error (malloc'ed). No I/O. */
int topology_parse(const char *text, size_t len, HostTopology *ret, char **ret_error);

/* From the running kernel: libnuma for nodes/cpus/memory/distances, sysfs under
 * sysfs_root (normally "/sys") for hugepages, cgroup_root for swap accounting. */
int topology_read(const char *sysfs_root, const char *cgroup_root, HostTopology *ret);
