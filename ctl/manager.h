/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager: the daemon's state and its operations, independent of how they
 * are asked for (D-Bus, signals, inotify). Holds the last good run (policy
 * set + plan + open backend), the runtime overrides (reassign), the tenants
 * the operator stopped, and the event log. Every mutation goes through the
 * engine, so it is validated in full before the kernel is touched and rolled
 * back when a step fails; a failed operation leaves the previous state in force.
 *
 * Runtime state lives in state_dir (/run/tenantd): `overrides` and `stopped`,
 * written atomically after each change and read at start, so a restarted
 * daemon re-adopts the tenants it finds and changes nothing that matches.
 */
#pragma once

#include <systemd/sd-event.h>

#include "engine.h"
#include "events.h"
#include "override.h"
#include "status.h"

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *policy_dir;
        const char *cgroup_root;        /* NULL: tenantd.conf's */
        BackendKind backend;
        bool has_backend;
        const char *state_dir;          /* NULL: /run/tenantd */
} ManagerOptions;

/* Called for every event after it is logged and stored (the D-Bus signal). */
typedef void (*ManagerEventFn)(Manager *m, const TenantEvent *ev, void *userdata);

int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}
#define _cleanup_manager_ _cleanup_(manager_freep)

void manager_set_event_handler(Manager *m, ManagerEventFn fn, void *userdata);
/* Arm the reaction ladder's PSI triggers and timers on e (now, or when the
 * first apply succeeds). Without it the manager applies but never reacts. */
int manager_attach_event(Manager *m, sd_event *e);
/* Never start the reaction ladder (--no-react). */
void manager_disable_reactions(Manager *m);
const EventLog *manager_events(const Manager *m);
/* Record an event: event log, journal (TENANT=, CLASS=, ACTION=), handler. */
void manager_event(Manager *m, const char *tenant, const char *klass, const char *action, const char *reason,
                   const char *detail_fmt, ...) _printf_(6, 7);

const char *manager_policy_dir(const Manager *m);
/* [api] read_group of the policy in force (the built-in default before the first apply). */
const char *manager_read_group(const Manager *m);
/* The current run (NULL before the first successful apply). */
const EngineRun *manager_run(const Manager *m);

/* Each returns an EngineStatus; *ret_text (may be NULL) gets what happened or
 * why not, one line per problem, for the caller to show. */
EngineStatus manager_apply(Manager *m, const char *dir, const char *origin, char **ret_text);
/* keys/values: n pairs, keys as override_key_from_string() reads them; a value
 * of "" clears that override. */
EngineStatus manager_reassign(Manager *m, const char *id, char *const *keys, char *const *values, size_t n,
                              char **ret_text);
EngineStatus manager_start(Manager *m, const char *id, char **ret_text);
EngineStatus manager_stop(Manager *m, const char *id, char **ret_text);
EngineStatus manager_adopt(Manager *m, const char *id, const pid_t *pids, size_t n, char **ret_text);

/* Rows of every tenant (id NULL) or of one (-ENOENT if unknown). */
int manager_rows(Manager *m, const char *id, TenantRows *ret);
/* One tenant as a JSON document: policy, plan, live values, overrides, stopped. */
int manager_tenant_json(Manager *m, const char *id, char **ret);
bool manager_is_stopped(const Manager *m, const char *id);
