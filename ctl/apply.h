/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * apply: reconcile the kernel with a Plan through the cgroupfs backend, and
 * the types every backend shares (options, report, the attribute list of a
 * plan node). Callers normally go through backend.h, which picks systemd or
 * cgroupfs; apply_plan() is the cgroupfs implementation.
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
        bool remove_stale;       /* kill and remove tenant cgroups (stop tenant units) not in the plan */
        uint64_t kill_timeout_usec;
        uint64_t job_timeout_usec;  /* systemd: wait this long for a start/stop job; 0 = 60 s */
        char *const *no_start;   /* ids of tenants stopped by the operator: their limits are
                                    applied but they are not started (strv, may be NULL) */
} ApplyOptions;

typedef struct ApplyReport {
        unsigned created;        /* cgroups created (systemd: units started, slices included) */
        unsigned writes;         /* attribute writes; systemd: properties set plus cgroupfs
                                    writes (0 on a second, unchanged apply) */
        unsigned removed;        /* stale tenants removed (cgroups killed, units stopped) */
        unsigned started;        /* systemd: tenant services started (processes launched) */
        unsigned pending;        /* systemd: scope tenants without processes yet (see backend.h) */
        char **pending_ids;      /* their ids; strv, NULL when none */
        unsigned rolled_back;    /* journal entries undone after a failure */
        char *error;             /* on failure: "tenant 'db' (path): memory.max = 268435456: <strerror>" */
} ApplyReport;

/* Returns 0, or a negative errno (the kernel's, or EBUSY/EOPNOTSUPP from the
 * preflight) with report->error set and every change of this apply undone. */
int apply_plan(Cgfs *c, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *report);
void apply_report_done(ApplyReport *r);

/* For backends: set report->error from a format (replacing an earlier one) and
 * return r. */
int apply_fail(ApplyReport *rep, int r, const char *fmt, ...) _printf_(3, 4);
/* Space-separated controllers a plan needs below its slices ("memory cpu cpuset hugetlb"). */
const char *apply_needed_controllers(const Plan *p, char *buf, size_t size);


/* One desired attribute of a plan node: file name and the exact text the kernel
 * reads back. Returns the number of attributes filled (at most max). */
typedef struct AttrValue {
        char name[48];
        char value[4096];   /* a cpu list of 1024 CPUs fits */
} AttrValue;
#define APPLY_ATTRS_MAX (12 + 2 * HUGE_SIZES_MAX)
size_t plan_node_attrs(const PlanNode *n, AttrValue *ret, size_t max);
