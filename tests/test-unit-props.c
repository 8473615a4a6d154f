/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plan node in systemd's terms (ctl/unit-props.c): which values become unit
 * properties and which go to cgroupfs, the "ay" bitmasks of AllowedCPUs and
 * AllowedMemoryNodes (bytes as `busctl get-property ... AllowedCPUs` prints
 * them on systemd 252), and comparing values. On systemd itself: tests/testbed.
 */
#include <criterion/criterion.h>

#include "unit-props.h"

#define MiB (UINT64_C(1) << 20)

static PlanNode tenant(void) {
        PlanNode n = {
                .type = PLAN_TENANT, .unit = "tenant-db.service", .path = "tenants.slice/tenants-critical.slice/tenant-db.service",
                .parent = 1, .tenant = 0,
                .memory_min = 256 * MiB, .memory_low = 0, .memory_high = SIZE_INFINITY, .memory_max = 384 * MiB,
                .swap_max = 0, .zswap_max = 16 * MiB, .cpu_weight = 1000,
        };
        cpulist_parse("1,3", &n.cpus);
        nodelist_parse("1", &n.mems);
        n.hugetlb[0] = (PlanHugetlb) { .page_size = 2 * MiB, .max = 64 * MiB, .rsvd_max = 64 * MiB };
        return n;
}

static const UnitProp *find(const UnitPlan *up, const char *name) {
        for (size_t i = 0; i < up->n_props; i++)
                if (streq(up->props[i].name, name))
                        return &up->props[i];
        return NULL;
}

Test(unit_props, systemd_252_props_and_exceptions) {
        PlanNode n = tenant();
        UnitCaps caps;
        UnitPlan up;
        const UnitProp *p;

        unit_caps_from_version(252, &caps);
        cr_assert(!caps.zswap, "systemd 252 has no MemoryZSwapMax=");
        unit_plan_from_node(&n, &caps, &up);

        cr_assert_eq(up.n_props, 8);
        cr_assert_str_eq(up.props[0].name, "AllowedCPUs");
        p = find(&up, "AllowedCPUs");
        cr_assert_str_eq(p->attr.name, "cpuset.cpus");
        cr_assert_str_eq(p->attr.value, "1,3");
        cr_assert(cpuset_has(&p->value.mask, 1) && cpuset_has(&p->value.mask, 3) && cpuset_count(&p->value.mask) == 2);
        p = find(&up, "AllowedMemoryNodes");
        cr_assert_eq(p->value.type, UNIT_VALUE_NODES);
        cr_assert_eq(p->value.mask.bits[0], 2);
        p = find(&up, "MemoryHigh");
        cr_assert_eq(p->value.u64, UINT64_MAX, "SIZE_INFINITY is infinity on the bus");
        cr_assert_str_eq(p->attr.value, "max", "and 'max' in the kernel");
        cr_assert_eq(find(&up, "MemoryMax")->value.u64, 384 * MiB);
        cr_assert_eq(find(&up, "MemorySwapMax")->value.u64, 0);
        cr_assert_eq(find(&up, "CPUWeight")->value.u64, 1000);
        cr_assert_null(find(&up, "MemoryZSwapMax"));

        /* what systemd 252 cannot express goes to cgroupfs */
        cr_assert_eq(up.n_files, 3);
        cr_assert_str_eq(up.files[0].name, "memory.zswap.max");
        cr_assert_str_eq(up.files[0].value, "16777216");
        cr_assert_str_eq(up.files[1].name, "hugetlb.2MB.max");
        cr_assert_str_eq(up.files[2].name, "hugetlb.2MB.rsvd.max");
        cr_assert_str_eq(up.files[2].value, "67108864");
}

Test(unit_props, systemd_253_sets_zswap_as_a_property) {
        PlanNode n = tenant();
        UnitCaps caps;
        UnitPlan up;

        unit_caps_from_version(253, &caps);
        unit_plan_from_node(&n, &caps, &up);
        cr_assert_eq(up.n_props, 9);
        cr_assert_eq(find(&up, "MemoryZSwapMax")->value.u64, 16 * MiB);
        cr_assert_eq(up.n_files, 2);
        cr_assert_str_eq(up.files[0].name, "hugetlb.2MB.max");
}

Test(unit_props, unset_values_are_not_managed) {
        PlanNode n = {
                .type = PLAN_ROOT_SLICE, .unit = "tenants.slice", .path = "tenants.slice", .parent = -1, .tenant = -1,
                .memory_min = 128 * MiB, .memory_low = 0, .memory_high = SIZE_UNSET, .memory_max = SIZE_UNSET,
                .swap_max = SIZE_UNSET, .zswap_max = SIZE_UNSET,
        };
        UnitCaps caps;
        UnitPlan up;

        unit_caps_from_version(252, &caps);
        unit_plan_from_node(&n, &caps, &up);
        cr_assert_eq(up.n_props, 2);
        cr_assert_str_eq(up.props[0].name, "MemoryMin");
        cr_assert_str_eq(up.props[1].name, "MemoryLow");
        cr_assert_eq(up.n_files, 0);
        cr_assert_null(unit_prop_for_attr("hugetlb.1GB.max", &caps));
        cr_assert_str_eq(unit_prop_for_attr("memory.swap.max", &caps), "MemorySwapMax");
}

Test(unit_props, mask_bytes_as_systemd_encodes_them) {
        uint8_t b[CPUSET_MAX / 8];
        CpuSet s = { { 0 } }, back;

        cr_assert_eq(unit_mask_to_bytes(&s, b), 0, "the empty set is an empty array");
        cpulist_parse("1", &s);
        cr_assert_eq(unit_mask_to_bytes(&s, b), 1);
        cr_assert_eq(b[0], 0x02);
        cpulist_parse("0-3,8", &s);
        cr_assert_eq(unit_mask_to_bytes(&s, b), 2);
        cr_assert_eq(b[0], 0x0f);
        cr_assert_eq(b[1], 0x01);
        cpulist_parse("1023", &s);
        cr_assert_eq(unit_mask_to_bytes(&s, b), 128);
        cr_assert_eq(b[127], 0x80);
        cr_assert_eq(unit_mask_from_bytes(b, 128, CPUSET_MAX, &back), 0);
        cr_assert(memcmp(&back, &s, sizeof(s)) == 0);

        /* `busctl get-property` on systemd 252 for AllowedCPUs=1: ay 8 2 0 0 0 0 0 0 0 */
        static const uint8_t padded[8] = { 2, 0, 0, 0, 0, 0, 0, 0 };
        cr_assert_eq(unit_mask_from_bytes(padded, 8, CPUSET_MAX, &back), 0);
        cr_assert_eq(cpuset_count(&back), 1);
        cr_assert(cpuset_has(&back, 1));

        /* a node mask with node 64 set does not fit a NodeSet */
        uint8_t nine[9] = { 0 };
        nine[8] = 1;
        cr_assert_eq(unit_mask_from_bytes(nine, 9, NODESET_MAX, &back), -ERANGE);
        cr_assert_eq(unit_mask_from_bytes(nine, 9, CPUSET_MAX, &back), 0);
}

Test(unit_props, compare_and_format) {
        UnitValue a = { .type = UNIT_VALUE_U64, .u64 = UINT64_MAX }, b = a, c = { .type = UNIT_VALUE_CPUS };
        char buf[64];

        cr_assert(unit_value_equal(&a, &b));
        b.u64 = 0;
        cr_assert(!unit_value_equal(&a, &b));
        cr_assert(!unit_value_equal(&a, &c), "different types never compare equal");
        cr_assert_str_eq(unit_value_format(&a, buf, sizeof(buf)), "infinity");
        cr_assert_str_eq(unit_value_format(&b, buf, sizeof(buf)), "0");
        cpulist_parse("0-2,5", &c.mask);
        cr_assert_str_eq(unit_value_format(&c, buf, sizeof(buf)), "0-2,5");
        c.type = UNIT_VALUE_NODES;
        c.mask = (CpuSet) { { 0 } };
        c.mask.bits[0] = 1 | 4;
        cr_assert_str_eq(unit_value_format(&c, buf, sizeof(buf)), "0,2");

        UnitValueType t;
        cr_assert_eq(unit_prop_type("AllowedMemoryNodes", &t), 0);
        cr_assert_eq(t, UNIT_VALUE_NODES);
        cr_assert_eq(unit_prop_type("MemoryLimit", &t), -ENOENT);
}
