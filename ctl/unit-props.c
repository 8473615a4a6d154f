/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "unit-props.h"

static const struct {
        const char *attr;
        const char *prop;
        UnitValueType type;
} prop_table[] = {
        { "cpuset.cpus", "AllowedCPUs", UNIT_VALUE_CPUS },
        { "cpuset.mems", "AllowedMemoryNodes", UNIT_VALUE_NODES },
        { "cpu.weight", "CPUWeight", UNIT_VALUE_U64 },
        { "memory.min", "MemoryMin", UNIT_VALUE_U64 },
        { "memory.low", "MemoryLow", UNIT_VALUE_U64 },
        { "memory.high", "MemoryHigh", UNIT_VALUE_U64 },
        { "memory.max", "MemoryMax", UNIT_VALUE_U64 },
        { "memory.swap.max", "MemorySwapMax", UNIT_VALUE_U64 },
        /* systemd 253 added MemoryZSwapMax=; 252 neither knows nor touches the file */
        { "memory.zswap.max", "MemoryZSwapMax", UNIT_VALUE_U64 },
};

void unit_caps_from_version(unsigned version, UnitCaps *ret) {
        *ret = (UnitCaps) { .zswap = version >= 253 };
}

const char *unit_prop_for_attr(const char *attr, const UnitCaps *caps) {
        for (size_t i = 0; i < ELEMENTSOF(prop_table); i++)
                if (streq(prop_table[i].attr, attr)) {
                        if (streq(attr, "memory.zswap.max") && !caps->zswap)
                                return NULL;
                        return prop_table[i].prop;
                }
        return NULL;
}

int unit_prop_type(const char *name, UnitValueType *ret) {
        for (size_t i = 0; i < ELEMENTSOF(prop_table); i++)
                if (streq(prop_table[i].prop, name)) {
                        *ret = prop_table[i].type;
                        return 0;
                }
        return -ENOENT;
}

/* The attribute text is plan_node_attrs()'s, so there is one source of truth
 * for what the kernel must read back; the D-Bus value is derived from it. */
static int value_from_text(UnitValueType type, const char *text, UnitValue *ret) {
        *ret = (UnitValue) { .type = type };
        if (type == UNIT_VALUE_U64) {
                char *end;

                if (streq(text, "max")) {
                        ret->u64 = UINT64_MAX;
                        return 0;
                }
                errno = 0;
                ret->u64 = strtoull(text, &end, 10);
                return errno != 0 || end == text || *end != '\0' ? -EINVAL : 0;
        }
        if (type == UNIT_VALUE_NODES) {
                NodeSet ns = { 0 };
                int r = nodelist_parse(text, &ns);
                ret->mask.bits[0] = ns.bits;
                return r;
        }
        return cpulist_parse(text, &ret->mask);
}

void unit_plan_from_node(const PlanNode *n, const UnitCaps *caps, UnitPlan *ret) {
        AttrValue attrs[APPLY_ATTRS_MAX];
        size_t na = plan_node_attrs(n, attrs, ELEMENTSOF(attrs));

        ret->n_props = ret->n_files = 0;
        for (size_t i = 0; i < na; i++) {
                const char *prop = unit_prop_for_attr(attrs[i].name, caps);
                UnitValueType type;

                if (prop && unit_prop_type(prop, &type) == 0 && ret->n_props < UNIT_PROPS_MAX) {
                        UnitProp *p = &ret->props[ret->n_props];

                        p->name = prop;
                        p->attr = attrs[i];
                        if (value_from_text(type, attrs[i].value, &p->value) == 0)
                                ret->n_props++;
                } else if (!prop && ret->n_files < UNIT_FILES_MAX)
                        ret->files[ret->n_files++] = attrs[i];
        }
}

bool unit_value_equal(const UnitValue *a, const UnitValue *b) {
        if (a->type != b->type)
                return false;
        if (a->type == UNIT_VALUE_U64)
                return a->u64 == b->u64;
        return memcmp(&a->mask, &b->mask, sizeof(a->mask)) == 0;
}

size_t unit_mask_to_bytes(const CpuSet *s, uint8_t *buf) {
        size_t len = 0;

        memset(buf, 0, CPUSET_MAX / 8);
        for (unsigned i = 0; i < CPUSET_MAX; i++)
                if (cpuset_has(s, i)) {
                        buf[i / 8] |= (uint8_t) (1u << (i % 8));
                        len = i / 8 + 1;
                }
        return len;
}

int unit_mask_from_bytes(const uint8_t *b, size_t n, unsigned max, CpuSet *ret) {
        CpuSet s = { 0 };

        for (size_t i = 0; i < n; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        uint64_t cpu = (uint64_t) i * 8 + bit;

                        if (!(b[i] & (1u << bit)))
                                continue;
                        if (cpu >= max)
                                return -ERANGE;
                        cpuset_add(&s, (unsigned) cpu);
                }
        *ret = s;
        return 0;
}

char *unit_value_format(const UnitValue *v, char *buf, size_t size) {
        if (v->type == UNIT_VALUE_U64) {
                if (v->u64 == UINT64_MAX)
                        snprintf(buf, size, "infinity");
                else
                        snprintf(buf, size, "%" PRIu64, v->u64);
        } else if (v->type == UNIT_VALUE_NODES) {
                NodeSet ns = { .bits = v->mask.bits[0] };
                nodelist_format(&ns, buf, size);
        } else
                cpulist_format(&v->mask, buf, size);
        return buf;
}
