/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine: the whole pipeline in one call, as tenantctl (--direct) and tenantd
 * both run it:
 *
 *   load the policy directory -> runtime overrides (reassign) -> plan ->
 *   reserve hugepage pools -> backend apply (transactional) -> return pages no
 *   longer needed -> start tenants the backend does not start itself.
 *
 * Nothing touches the kernel before the policies and the plan are valid. A
 * failed apply is rolled back by the backend and the pools are restored, so a
 * failed run leaves the host as it found it. The result keeps the policy set,
 * the plan and the open backend: the daemon holds on to the last good run as
 * its view of the world (start, stop, adopt, the reactor and the API use it).
 */
#pragma once

#include "apply.h"
#include "backend.h"
#include "override.h"
#include "plan.h"
#include "policy.h"
#include "topology.h"

/* Mirrors tenantctl's exit status. */
typedef enum EngineStatus {
        ENGINE_OK = 0,
        ENGINE_FAILED = 1,   /* the kernel, systemd or the host refused; rolled back */
        ENGINE_INVALID = 2,  /* policy or request invalid; nothing touched */
        ENGINE_REFUSED = 3,  /* admission control; nothing touched */
} EngineStatus;

typedef struct EngineOptions {
        const char *policy_dir;
        const char *cgroup_root;        /* NULL: [cgroup] root of tenantd.conf */
        BackendKind backend;            /* used when has_backend, else tenantd.conf's */
        bool has_backend;
        const HostTopology *topology;   /* NULL: read the running host */
        const char *sysfs;              /* NULL: "/sys" */
        const Overrides *overrides;     /* runtime changes from reassign; may be NULL */
        bool keep_stale;                /* do not remove tenants whose policy is gone */
        bool no_launch;                 /* do not start exec=/VM tenants (cgroupfs backend) */
        char *const *no_start;          /* ids not to start: stopped by the operator (strv) */
        const char *hugetlb_state;      /* NULL: HUGETLB_STATE_PATH */
        Backend *reuse_backend;         /* an open backend to use (the daemon's); not owned */
} EngineOptions;

/* Plan nodes point into the run's own policy set: keep a run where it was
 * filled (allocate it when it must outlive a scope) and never copy it by value. */
typedef struct EngineRun {
        PolicySet set;
        Plan plan;
        bool planned;
        char *root;                     /* the cgroup root applied under */
        Backend *backend;               /* owned unless it was EngineOptions.reuse_backend */
        bool backend_owned;
        ApplyReport report;
        int started;                    /* tenants started by launch (or by systemd) */
        PolicyErrors errors;            /* policy and admission errors, file:line */
        char **lines;                   /* informational lines (hugepage pools ...) */
        char **error_lines;             /* what failed and what was restored */
} EngineRun;

/* Load and plan only; the kernel is not touched (validate, plan, status). */
EngineStatus engine_plan(const EngineOptions *o, EngineRun *run);
/* The whole pipeline. */
EngineStatus engine_apply(const EngineOptions *o, EngineRun *run);
/* Print run->errors and run->error_lines to f, each line prefixed with `who: `
 * where it is not a file:line error. */
void engine_print_errors(const EngineRun *run, const char *who, FILE *f);
void engine_run_done(EngineRun *run);
static inline void engine_run_donep(EngineRun *r) {
        engine_run_done(r);
}
#define _cleanup_engine_run_ _cleanup_(engine_run_donep)

/* The plan node and policy of tenant `id` in a planned run; NULL if none. */
const PlanNode *engine_find_tenant(const EngineRun *run, const char *id, const TenantPolicy **ret_policy);
