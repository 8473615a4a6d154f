/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * override: runtime changes to a tenant's policy made by `tenantctl reassign`
 * (class, NUMA nodes, CPUs, memory request and limit), like
 * `systemctl set-property --runtime`: the policy files stay as the operator
 * wrote them; the daemon keeps the overrides in /run/tenantd/overrides (so
 * they survive a daemon restart, not a reboot) and applies them on top of the
 * files at every load. Values are kept as text and checked with the same
 * rules as tenant.ini(5) when applied.
 */
#pragma once

#include "policy.h"

typedef enum OverrideKey {
        OVERRIDE_CLASS,
        OVERRIDE_NODES,
        OVERRIDE_CPUS,
        OVERRIDE_REQUEST,
        OVERRIDE_LIMIT,
        _OVERRIDE_MAX,
} OverrideKey;

typedef struct Override {
        char id[TENANT_ID_MAX + 1];
        char *value[_OVERRIDE_MAX];     /* NULL: unchanged */
} Override;

typedef struct Overrides {
        Override *v;
        size_t n;
} Overrides;

const char *override_key_to_string(OverrideKey k);
int override_key_from_string(const char *s, OverrideKey *ret);

/* Set (value != NULL) or clear one key of tenant id. 0 or -ENOMEM/-EINVAL. */
int overrides_set(Overrides *o, const char *id, OverrideKey k, const char *value);
const Override *overrides_find(const Overrides *o, const char *id);
/* Drop every override of tenant id (its policy file is gone). */
void overrides_forget(Overrides *o, const char *id);

/* Apply to the tenants of s. Errors name `source` (the overrides file or
 * "reassign") and the key: "reassign: db: class: unknown class 'gold', known:
 * critical, high, ..." (value). Overrides of tenants not in s are ignored.
 * Returns 0 or -EINVAL (s is then partly changed: discard it). */
int overrides_apply(const Overrides *o, PolicySet *s, const char *source, PolicyErrors *errs);

/* A missing file is an empty set. The file is INI: one [ID] section per
 * tenant with class=, nodes=, cpus=, request=, limit=. */
int overrides_load(const char *path, Overrides *ret, PolicyErrors *errs);
/* Written atomically (temporary file, fsync, rename). */
int overrides_save(const Overrides *o, const char *path);
int overrides_copy(const Overrides *from, Overrides *ret);
void overrides_done(Overrides *o);
