/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf: tenantd.conf(5), the host configuration: how much memory the host
 * keeps, how far limits may overcommit, which backend and cgroup root to use,
 * the VM overhead formula's parts and the reaction defaults.
 *
 * Every key has a default, so an empty or missing file is a valid
 * configuration. Does not own what the numbers mean (plan.c, the reactor).
 */
#include "config.h"
#include "policy-internal.h"

enum {
        SC_HOST,
        SC_CGROUP,
        SC_POLICY,
        SC_VM,
        SC_PRESSURE,
        SC_API,
        _SC_MAX,
};

static const char *const conf_sections[_SC_MAX] = {
        [SC_HOST] = "host", [SC_CGROUP] = "cgroup", [SC_POLICY] = "policy",
        [SC_VM] = "vm",     [SC_PRESSURE] = "pressure", [SC_API] = "api",
};

enum {
        KH_RESERVE,
        KH_OVERCOMMIT,
        KH_BACKEND,
        KH_ROOT,
        KH_DIR,
        KH_OVERHEAD_FIXED,
        KH_OVERHEAD_PER_VCPU,
        KH_VIDEO,
        KH_PAGETABLE_DIVISOR,
        KH_TRIGGER,
        KH_RECOVER,
        KH_HOLD,
        KH_READ_GROUP,
        KH_HOST_TRIGGER,
        KH_HEADROOM,
        _KH_MAX,
};

static const IniKey conf_keys[_KH_MAX] = {
        [KH_RESERVE] = { "host", "reserve" },
        [KH_OVERCOMMIT] = { "host", "overcommit" },
        [KH_BACKEND] = { "cgroup", "backend" },
        [KH_ROOT] = { "cgroup", "root" },
        [KH_DIR] = { "policy", "dir" },
        [KH_OVERHEAD_FIXED] = { "vm", "overhead_fixed" },
        [KH_OVERHEAD_PER_VCPU] = { "vm", "overhead_per_vcpu" },
        [KH_VIDEO] = { "vm", "video" },
        [KH_PAGETABLE_DIVISOR] = { "vm", "pagetable_divisor" },
        [KH_TRIGGER] = { "pressure", "trigger" },
        [KH_RECOVER] = { "pressure", "recover" },
        [KH_HOLD] = { "pressure", "hold" },
        [KH_READ_GROUP] = { "api", "read_group" },
        [KH_HOST_TRIGGER] = { "pressure", "host_trigger" },
        [KH_HEADROOM] = { "pressure", "headroom" },
};

static const char *const backend_names[] = {
        [BACKEND_AUTO] = "auto", [BACKEND_SYSTEMD] = "systemd", [BACKEND_CGROUPFS] = "cgroupfs", NULL,
};

#define MIB (UINT64_C(1) << 20)
#define OVERCOMMIT_MAX_BP 1000000   /* 100.0: beyond that "overcommit" means "no limit" */

void host_config_default(HostConfig *ret) {
        *ret = (HostConfig) {
                .reserve = { .percent_bp = 1000 },
                .overcommit_bp = 15000,
                .backend = BACKEND_AUTO,
                .cgroup_root = strdup("/sys/fs/cgroup"),
                .policy_dir = strdup(TENANTD_POLICY_DIR),
                .read_group = strdup(TENANTD_READ_GROUP),
                .vm_overhead_fixed = 128 * MIB,
                .vm_overhead_per_vcpu = 8 * MIB,
                .vm_video_default = 16 * MIB,
                .vm_pagetable_divisor = 512,
                .pressure = {
                        .full = false,
                        .stall_usec = 150 * 1000,
                        .window_usec = 1000 * 1000,
                        .recover_bp = 500,
                        .hold_usec = 10 * 1000 * 1000,
                },
                /* "full": the host's "some" also counts tenants stalling against
                 * their own memory.high, tenantd's throttling included */
                .host_pressure = {
                        .full = true,
                        .stall_usec = 100 * 1000,
                        .window_usec = 1000 * 1000,
                        .recover_bp = UINT32_MAX,
                        .hold_usec = UINT64_MAX,
                },
        };
}

void host_config_done(HostConfig *c) {
        free(c->cgroup_root);
        free(c->policy_dir);
        free(c->file);
        free(c->read_group);
        c->cgroup_root = c->policy_dir = c->file = c->read_group = NULL;
}

/* "1.5" -> 15000: a ratio with up to four decimals. */
static int ratio_parse(const char *s, uint32_t *ret_bp) {
        uint64_t whole = 0, frac = 0, scale = 10000;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                whole = whole * 10 + (uint64_t) (*p - '0');
                if (whole > OVERCOMMIT_MAX_BP)
                        return -ERANGE;
        }
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (scale == 1)
                                return -EINVAL;   /* finer than the basis points we keep */
                        scale /= 10;
                        frac += (uint64_t) (*p - '0') * scale;
                }
        }
        if (*p != '\0')
                return -EINVAL;
        if (whole * 10000 + frac > OVERCOMMIT_MAX_BP)
                return -ERANGE;
        *ret_bp = (uint32_t) (whole * 10000 + frac);
        return 0;
}

typedef struct ConfParser {
        IniParser ini;
        HostConfig *c;
        unsigned key_line[_KH_MAX];
        unsigned section_line[_SC_MAX];
} ConfParser;

static bool conf_section(IniParser *p, const char *name) {
        ConfParser *cp = p->userdata;

        return ini_section_lookup(p, conf_sections, _SC_MAX, cp->section_line, name) >= 0;
}

static void conf_assign(IniParser *p, const char *key, const char *fullkey, const char *value) {
        ConfParser *cp = p->userdata;
        HostConfig *c = cp->c;
        ErrSink *s = &p->sink;
        unsigned line = p->line;
        uint64_t u;
        char *path;
        int k, e, r;

        k = ini_key_lookup(p, conf_keys, _KH_MAX, cp->key_line, p->section, key, fullkey, value);
        if (k < 0)
                return;

        switch (k) {
        case KH_RESERVE:
                value_size(s, line, fullkey, value, true, false, &c->reserve);
                break;
        case KH_OVERCOMMIT: {
                uint32_t bp;

                if (value[0] == '-') {
                        sink_error(s, line, fullkey, value, ERANGE, "must not be negative");
                        break;
                }
                r = ratio_parse(value, &bp);
                if (r == -EINVAL)
                        sink_error(s, line, fullkey, value, EINVAL, "expected a ratio with at most four decimals, e.g. 1.5");
                else if (r < 0 || bp < 10000)
                        sink_error(s, line, fullkey, value, ERANGE, "must be between 1.0 and 100");
                else
                        c->overcommit_bp = bp;
                break;
        }
        case KH_BACKEND:
                if (value_enum(s, line, fullkey, value, backend_names, &e))
                        c->backend = (BackendKind) e;
                break;
        case KH_ROOT:
        case KH_DIR:
                if (!value_path(s, line, fullkey, value, &path))
                        break;
                if (k == KH_ROOT) {
                        free(c->cgroup_root);
                        c->cgroup_root = path;
                } else {
                        free(c->policy_dir);
                        c->policy_dir = path;
                }
                break;
        case KH_OVERHEAD_FIXED:
                value_bytes(s, line, fullkey, value, false, &c->vm_overhead_fixed);
                break;
        case KH_OVERHEAD_PER_VCPU:
                value_bytes(s, line, fullkey, value, false, &c->vm_overhead_per_vcpu);
                break;
        case KH_VIDEO:
                value_bytes(s, line, fullkey, value, false, &c->vm_video_default);
                break;
        case KH_READ_GROUP: {
                /* a group name as useradd(8) accepts it; "" turns read access off */
                bool ok = strlen(value) <= 32 && strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(value) &&
                          value[0] != '-';

                if (!ok) {
                        sink_error(s, line, fullkey, value, EINVAL, "expected a group name ([a-z0-9_-], at most 32) or nothing");
                        break;
                }
                free(c->read_group);
                c->read_group = strdup(value);
                break;
        }
        case KH_HOST_TRIGGER:
                pressure_key(s, line, "trigger", fullkey, value, &c->host_pressure);
                break;
        case KH_HEADROOM:
                value_size(s, line, fullkey, value, true, false, &c->headroom);
                break;
        case KH_PAGETABLE_DIVISOR:
                if (value_uint(s, line, fullkey, value, 1, 65536, &u))
                        c->vm_pagetable_divisor = (unsigned) u;
                break;
        default:
                pressure_key(s, line, key, fullkey, value, &c->pressure);
                break;
        }
}

int host_config_parse(const char *text, size_t len, const char *file, HostConfig *ret,
                      PolicyErrors *errs) {
        ConfParser cp = {
                .ini = {
                        .sink = { .file = file, .errs = errs },
                        .on_section = conf_section,
                        .on_assign = conf_assign,
                },
                .c = ret,
        };
        int r;

        cp.ini.userdata = &cp;
        host_config_default(ret);
        ret->file = strdup(file ? file : "<input>");
        if (!ret->file || !ret->cgroup_root || !ret->policy_dir || !ret->read_group)
                return -ENOMEM;

        r = ini_run(&cp.ini, text, len);
        ini_parser_done(&cp.ini);
        if (r < 0)
                return r;
        return cp.ini.sink.n > 0 ? -EINVAL : 0;
}
