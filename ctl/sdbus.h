/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sdbus: the few calls tenantd makes to systemd (org.freedesktop.systemd1)
 * over sd-bus, each one synchronous and each job waited for.
 *
 * Owns: the connection, reading a unit's state and the properties tenantd
 * manages, StartTransientUnit / StartUnit / StopUnit with waiting for the job
 * (JobRemoved, with a poll of the job object as a fallback), SetUnitProperties
 * (runtime), ResetFailedUnit, AttachProcessesToUnit, ListUnitsByPatterns, and
 * finding the kernel's error for a cgroup write systemd made in its journal
 * (systemd logs a failed write and carries on, so the caller only sees a
 * value that did not take). Every failed call leaves "bus-error-name: message"
 * in sdbus_last_error(). Does not own: what to create or change
 * (backend-systemd.c), or the values (unit-props.h).
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "unit-props.h"

typedef struct Sdbus Sdbus;

/* Connect to the system bus and ask systemd for its version. -ECONNREFUSED
 * (or the bus's own -errno) when it does not answer; *ret_error says why. */
int sdbus_open(Sdbus **ret, char **ret_error);
Sdbus *sdbus_free(Sdbus *b);
static inline void sdbus_freep(Sdbus **b) {
        sdbus_free(*b);
}

/* 252 for "252.39-1~deb12u2" */
unsigned sdbus_systemd_version(const Sdbus *b);
/* "org.freedesktop.DBus.Error.InvalidArgs: Value specified in CPUWeight is out of range",
 * or a description of the last local failure (timeout, job result). */
const char *sdbus_last_error(const Sdbus *b);

typedef struct UnitPropValue {
        const char *name;               /* static, from unit-props.c's table */
        UnitValue value;
} UnitPropValue;

typedef struct UnitState {
        char *load_state;               /* "loaded", "not-found", ... */
        char *active_state;             /* "active", "inactive", "failed", ... */
        char *sub_state;
        char *result;                   /* services and scopes: "success", "exit-code", ... */
        char *control_group;            /* "/tenants.slice/..." or "" */
        char *slice;                    /* "tenants-normal.slice"; "" for -.slice */
        bool transient;
        int exec_main_status;           /* services: exit status of the main process */
        UnitPropValue props[UNIT_PROPS_MAX];
        size_t n_props;
} UnitState;

/* -ENOENT when systemd has no such unit loaded (GetUnit: NoSuchUnit). */
int sdbus_unit_state(Sdbus *b, const char *unit, UnitState *ret);
void unit_state_done(UnitState *s);
const UnitValue *unit_state_value(const UnitState *s, const char *prop);
/* active, activating, reloading or deactivating: the unit has a cgroup */
bool unit_state_is_running(const UnitState *s);

/* Appends (sv) entries to the open a(sv) container of StartTransientUnit. */
typedef int (*SdbusAppend)(sd_bus_message *m, void *userdata);
int sdbus_append_value(sd_bus_message *m, const char *name, const UnitValue *v);

/* Create and start a transient unit (mode "fail") and wait for its start job.
 * 0: job done. -EIO: the job ended with another result (*ret_result gets it,
 * "failed", "dependency", ...). -ETIMEDOUT. Or the bus error's -errno. */
int sdbus_start_transient(Sdbus *b, const char *unit, SdbusAppend append, void *userdata,
                          uint64_t timeout_usec, char **ret_result);
int sdbus_start_unit(Sdbus *b, const char *unit, uint64_t timeout_usec, char **ret_result);
/* Load the unit from disk if it is not loaded yet (LoadUnit). 1 when it has a
 * unit file (FragmentPath), 0 when not (transient, or no file: then only
 * StartTransientUnit can create it). */
int sdbus_unit_has_file(Sdbus *b, const char *unit);
/* Stop and wait. A unit systemd does not know counts as stopped (0). */
int sdbus_stop_unit(Sdbus *b, const char *unit, uint64_t timeout_usec, char **ret_result);
/* SetUnitProperties(unit, runtime=true, [(name, value)]) */
int sdbus_set_property(Sdbus *b, const char *unit, const char *name, const UnitValue *v);
/* MemoryHigh, runtime: bytes, SIZE_INFINITY for "max" */
int sdbus_set_memory_high(Sdbus *b, const char *unit, uint64_t bytes);
/* A unit systemd does not know, or one that did not fail, counts as done (0). */
int sdbus_reset_failed(Sdbus *b, const char *unit);
int sdbus_attach_pids(Sdbus *b, const char *unit, const pid_t *pids, size_t n);
/* Names of loaded units matching any of the glob patterns (strv). */
int sdbus_list_units(Sdbus *b, const char *const *patterns, char ***ret);
/* One round trip through systemd's main loop: cgroup changes queued by earlier
 * calls (SetUnitProperties realizes them after replying) are written when it
 * returns. */
int sdbus_sync(Sdbus *b);

/* systemd's journal entry "Failed to set '<attr>' attribute on '<cgroup>' ..."
 * for this unit since `since_realtime_usec`, waiting up to wait_usec for
 * journald to store it: returns the kernel's errno (> 0), or 0 if none was
 * found (or the journal cannot be read). */
int sdbus_journal_cgroup_errno(const char *unit, const char *attr, uint64_t since_realtime_usec,
                               uint64_t wait_usec);
