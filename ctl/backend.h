/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend: who turns a Plan into kernel state. A small vtable with two
 * implementations, picked by backend_open():
 *
 *   systemd   (backend-systemd.c) slices and tenant units through systemd's
 *             D-Bus API: transient slice units, a transient .service for a
 *             tenant with something to run (exec= or a VM), a transient .scope
 *             for adopted processes; values as unit properties
 *             (StartTransientUnit, then SetUnitProperties runtime=true). What
 *             systemd cannot express (hugetlb.*, and memory.zswap.max before
 *             systemd 253) is written to cgroupfs below the unit's
 *             ControlGroup. Services are started and supervised by systemd.
 *   cgroupfs  (apply.c) the same tree as plain directories under a
 *             configurable root. Processes are started by launch.h.
 *
 * Both reconcile (only what differs is changed; a second apply changes
 * nothing), work as a transaction (a failing step undoes everything this
 * apply changed, and the report names the tenant, the attribute, the value
 * and the kernel's or systemd's error), and remove tenants whose policy is
 * gone (stop the unit, or kill and remove the cgroup).
 *
 * Scopes under systemd: a scope cannot exist without processes (systemd 252:
 * "Scope has no PIDs. Refusing."), so apply leaves a tenant without exec= and
 * without a running scope "pending" (ApplyReport.pending, pending_ids): its
 * guarantee is already part of its class slice's sums; adopt creates the
 * scope with the given PIDs and the tenant's properties.
 *
 * Does not own: the values (plan.h), cgroupfs access (cgfs.h), D-Bus plumbing
 * (sdbus.h), the command line of a tenant (launch.h).
 */
#pragma once

#include <sys/types.h>

#include "apply.h"
#include "policy.h"

typedef struct Backend Backend;

typedef struct BackendOps {
        const char *name;   /* "systemd" | "cgroupfs" */
        /* true when apply starts the tenants that have something to run (and
         * something else keeps them running); false: the caller launches them */
        bool starts_tenants;
        int (*apply)(Backend *b, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *rep);
        int (*adopt)(Backend *b, const Plan *p, const PolicySet *s, const char *tenant_id, const pid_t *pids,
                     size_t n_pids, ApplyReport *rep);
        int (*cgroup_path)(Backend *b, const PlanNode *n, char **ret);
        /* stop a tenant's processes and keep its limits; NULL: cgroup.kill on its leaf */
        int (*stop)(Backend *b, const PlanNode *n, uint64_t timeout_usec, char **ret_error);
        /* memory.high at runtime (the reaction ladder); NULL: write the file */
        int (*set_memory_high)(Backend *b, const PlanNode *n, uint64_t bytes);
        void (*free)(Backend *b);
} BackendOps;

/* Every implementation starts with this. */
struct Backend {
        const BackendOps *ops;
        Cgfs *cgfs;         /* the cgroup root; systemd: the cgroup2 mount, for the exceptions */
        bool own_cgfs;
};

/* What BACKEND_AUTO resolves to here: systemd when PID 1 is systemd (sd_booted()
 * and /proc/1/comm), the system bus answers, and cgroup_root is the cgroup2
 * mount point systemd manages (a subdirectory such as /sys/fs/cgroup/test can
 * only be driven through cgroupfs); cgroupfs otherwise. *ret_reason (may be
 * NULL) gets a static explanation. */
BackendKind backend_detect(const char *cgroup_root, const char **ret_reason);

/* Open the backend of `kind` (BACKEND_AUTO: backend_detect()) on cgroup_root.
 * Returns 0, or -errno with *ret_error (malloc'ed, may be NULL) saying why:
 * -EHOSTDOWN systemd is not PID 1, -ECONNREFUSED the system bus or systemd
 * does not answer, -EXDEV cgroup_root is not the cgroup2 mount systemd manages
 * (systemd backend) or not on cgroup2 below libcgroup's mount (cgroupfs),
 * -ENOMEDIUM no cgroup2 memory controller, -ENOENT no such root. */
int backend_open(BackendKind kind, const char *cgroup_root, Backend **ret, char **ret_error);
/* The cgroupfs backend on an already open Cgfs (a fixture tree in unit tests);
 * the Cgfs is borrowed and must outlive the backend. */
int backend_cgfs_new(Cgfs *c, Backend **ret);
Backend *backend_free(Backend *b);
static inline void backend_freep(Backend **b) {
        backend_free(*b);
}
#define _cleanup_backend_ _cleanup_(backend_freep)

const char *backend_name(const Backend *b);
static inline Cgfs *backend_cgfs(const Backend *b) {
        return b->cgfs;
}
static inline bool backend_starts_tenants(const Backend *b) {
        return b->ops->starts_tenants;
}

/* Reconcile with the plan (see above and apply.h). o may be NULL (defaults:
 * remove stale tenants, 5 s kill timeout, 60 s job timeout). */
int backend_apply(Backend *b, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *rep);

/* Move running processes into a tenant, as one transaction: systemd creates
 * the tenant's scope with these PIDs and its properties (or attaches them to
 * the running unit); cgroupfs moves them into the existing leaf (apply first).
 * On failure every process is moved back where it was and a scope created
 * here is stopped. -ENOENT: no such tenant in the plan, or (cgroupfs, systemd)
 * its class slice is not there yet; -ESRCH: a PID does not exist. */
int backend_adopt(Backend *b, const Plan *p, const PolicySet *s, const char *tenant_id, const pid_t *pids,
                  size_t n_pids, ApplyReport *rep);

/* The node's cgroup relative to the cgroup root ("tenants.slice/.../tenant-db.scope"):
 * cgroupfs from the plan, systemd from the unit's ControlGroup property.
 * -ENXIO when the unit is not running (a pending scope). */
int backend_cgroup_path(Backend *b, const PlanNode *n, char **ret);

/* Stop a tenant's processes (systemd: stop the unit; cgroupfs: cgroup.kill and
 * wait until the leaf is empty). The leaf and its limits stay under cgroupfs.
 * Returns 0 or -errno with *ret_error saying what failed. */
int backend_stop(Backend *b, const PlanNode *n, uint64_t timeout_usec, char **ret_error);

/* Change a tenant's memory.high at runtime, the way its backend owns it:
 * systemd: SetUnitProperties(MemoryHigh, runtime) so that a daemon-reload
 * keeps it; cgroupfs: the file. SIZE_INFINITY is "max". 0 or -errno. */
int backend_set_memory_high(Backend *b, const PlanNode *n, uint64_t bytes);

/* "auto", "systemd", "cgroupfs" and back; -EINVAL for anything else. */
const char *backend_kind_to_string(BackendKind k);
int backend_kind_from_string(const char *s, BackendKind *ret);
