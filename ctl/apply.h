/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * apply: reconcile the kernel with a Plan through the cgroupfs backend.
 *
 * Owns: the order of operations, "change only what differs", the transaction
 * (a journal of what this apply created or changed, undone in reverse when a
 * step fails), and removal of tenants whose policy is gone. Checks everything
 * it can (controllers available, no processes in interior cgroups) before the
 * first write. Does not own: the values (plan.h) or the file access (cgfs.h).
 */
#pragma once

#include "cgfs.h"
#include "plan.h"

typedef struct ApplyOptions {
        bool remove_stale;       /* kill and remove tenant cgroups not in the plan */
        uint64_t kill_timeout_usec;
} ApplyOptions;

typedef struct ApplyReport {
        unsigned created;        /* cgroups created */
        unsigned writes;         /* attribute writes (0 on a second, unchanged apply) */
        unsigned removed;        /* stale tenant cgroups removed */
        unsigned rolled_back;    /* journal entries undone after a failure */
        char *error;             /* on failure: "tenant 'db' (path): memory.max = 268435456: <strerror>" */
} ApplyReport;

/* Returns 0, or a negative errno (the kernel's, or EBUSY/EOPNOTSUPP from the
 * preflight) with report->error set and every change of this apply undone. */
int apply_plan(Cgfs *c, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *report);
void apply_report_done(ApplyReport *r);

/* The attribute name of a hugetlb page size: 2 MiB -> "2MB", 1 GiB -> "1GB". */
const char *hugetlb_size_name(uint64_t page_size, char *buf, size_t size);

/* One desired attribute of a plan node: file name and the exact text the kernel
 * reads back. Returns the number of attributes filled (at most max). */
typedef struct AttrValue {
        char name[48];
        char value[4096];   /* a cpu list of 1024 CPUs fits */
} AttrValue;
size_t plan_node_attrs(const PlanNode *n, AttrValue *ret, size_t max);
