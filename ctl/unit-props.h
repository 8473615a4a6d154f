/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit-props: a PlanNode in systemd's terms, as pure functions.
 *
 * Owns: which plan values systemd expresses as unit properties (MemoryMin,
 * MemoryLow, MemoryHigh, MemoryMax, MemorySwapMax, MemoryZSwapMax from 253 on,
 * CPUWeight, AllowedCPUs, AllowedMemoryNodes) and which it cannot and so go
 * to cgroupfs (hugetlb.*, and memory.zswap.max before 253); the D-Bus value
 * of each (sizes as "t" with UINT64_MAX for infinity, CPU and node sets as
 * "ay" bitmasks the way systemd encodes them), comparing desired with current
 * values, and formatting values for messages. Does no I/O: sdbus.c talks to
 * systemd, backend-systemd.c decides what to do.
 */
#pragma once

#include "apply.h"

/* What the running systemd can express; from its version. */
typedef struct UnitCaps {
        bool zswap;                     /* MemoryZSwapMax= (systemd >= 253) */
} UnitCaps;

void unit_caps_from_version(unsigned version, UnitCaps *ret);

typedef enum UnitValueType {
        UNIT_VALUE_U64,                 /* "t": bytes or a weight; UINT64_MAX = infinity/unset */
        UNIT_VALUE_CPUS,                /* "ay": AllowedCPUs */
        UNIT_VALUE_NODES,               /* "ay": AllowedMemoryNodes */
} UnitValueType;

typedef struct UnitValue {
        UnitValueType type;
        uint64_t u64;
        CpuSet mask;                    /* CPUs, or nodes (then only bits[0] is used) */
} UnitValue;

/* One property tenantd manages on a unit: the D-Bus name, its value, and the
 * cgroup file systemd writes it to, with the text the kernel must read back. */
typedef struct UnitProp {
        const char *name;               /* "MemoryMax"; static */
        UnitValue value;
        AttrValue attr;                 /* "memory.max" = "67108864" */
} UnitProp;

#define UNIT_PROPS_MAX 9
#define UNIT_FILES_MAX (2 + 2 * HUGE_SIZES_MAX)

/* A node split into what goes through systemd and what cannot. */
typedef struct UnitPlan {
        UnitProp props[UNIT_PROPS_MAX];
        size_t n_props;
        AttrValue files[UNIT_FILES_MAX];   /* written through cgroupfs (the exceptions) */
        size_t n_files;
} UnitPlan;

void unit_plan_from_node(const PlanNode *n, const UnitCaps *caps, UnitPlan *ret);

/* The property that controls a cgroup file, or NULL ("hugetlb.2MB.max"). */
const char *unit_prop_for_attr(const char *attr, const UnitCaps *caps);
/* The D-Bus type of a managed property ("MemoryMax" -> UNIT_VALUE_U64);
 * -ENOENT for a property tenantd does not manage. */
int unit_prop_type(const char *name, UnitValueType *ret);

bool unit_value_equal(const UnitValue *a, const UnitValue *b);

/* systemd's "ay" encoding of a CPU or node set: bit (i % 8) of byte (i / 8)
 * is CPU i; the shortest array that holds the highest member (0 bytes for
 * the empty set). Returns the length; buf must hold CPUSET_MAX / 8 bytes. */
size_t unit_mask_to_bytes(const CpuSet *s, uint8_t *buf);
/* The reverse; trailing zero bytes are fine (systemd pads to 8 bytes).
 * -ERANGE when a bit at or above `max` (CPUSET_MAX or NODESET_MAX) is set. */
int unit_mask_from_bytes(const uint8_t *b, size_t n, unsigned max, CpuSet *ret);

/* For messages: "67108864", "infinity", "0-3", "1" ("" for an empty set). */
char *unit_value_format(const UnitValue *v, char *buf, size_t size);
