/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * status: one row per tenant with what the kernel says now (usage, limits,
 * processes, pressure, placement), as `tenantctl list/status/top` show it.
 * The daemon fills rows from its plan; without the daemon tenantctl fills them
 * by walking tenants.slice directly. Rows travel over D-Bus as TENANT_ROW_SIG.
 */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "cgfs.h"

typedef struct TenantRow {
        char *id, *klass, *kind, *unit, *path;
        char *state;            /* running | empty | frozen | stopped | missing */
        char *step;             /* reaction step in force ("" none) */
        char *cpus, *mems;      /* cpuset.cpus / cpuset.mems as the kernel has them */
        uint64_t current, min, low, high, max, swap_current; /* SIZE_UNSET: unreadable, SIZE_INFINITY: max */
        uint64_t nprocs;
        uint32_t some_avg10, full_avg10;  /* memory pressure, basis points */
} TenantRow;

typedef struct TenantRows {
        TenantRow *v;
        size_t n;
} TenantRows;

#define TENANT_ROW_SIG "(sssssssssttttttuuu)"

/* Live values of the cgroup `path` (relative to the Cgfs root); the strings
 * id/klass/kind/unit are the caller's. A missing cgroup gives state "missing". */
int tenant_row_read(Cgfs *c, const char *path, TenantRow *row);
/* Without the daemon: every leaf under tenants.slice/tenants-CLASS.slice/. */
int tenant_rows_from_tree(Cgfs *c, TenantRows *ret);
TenantRow *tenant_rows_add(TenantRows *r);
const TenantRow *tenant_rows_find(const TenantRows *r, const char *id);

void tenant_rows_print(const TenantRows *r, FILE *f);
void tenant_row_print_long(const TenantRow *row, FILE *f);
json_object *tenant_row_json(const TenantRow *row);

int tenant_row_append(sd_bus_message *m, const TenantRow *row);
/* 1 when a row was read, 0 at the end of the array, -errno. */
int tenant_row_read_message(sd_bus_message *m, TenantRow *row);

void tenant_row_done(TenantRow *row);
void tenant_rows_done(TenantRows *r);
