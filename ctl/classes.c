/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * classes: classes.ini, the priority ladder, and its built-in default.
 *
 * One [class.NAME] section per class. The "class." prefix keeps the namespace
 * open for other sections later and makes a typo like [critcal] an error
 * rather than a new class. Owns the values; what they turn into (memory.min,
 * memory.high, reaction order) is the planner's and the reactor's.
 */
#include "policy-internal.h"

enum {
        KC_RANK,
        KC_PROTECT,
        KC_HIGH,
        KC_SWAP,
        KC_ZSWAP,
        KC_EVICT,
        KC_CPU_WEIGHT,
        KC_TRIGGER,
        KC_RECOVER,
        KC_HOLD,
        _KC_MAX,
};

static const IniKey class_keys[_KC_MAX] = {
        [KC_RANK] = { "class", "rank" },
        [KC_PROTECT] = { "class", "protect" },
        [KC_HIGH] = { "class", "high" },
        [KC_SWAP] = { "class", "swap" },
        [KC_ZSWAP] = { "class", "zswap" },
        [KC_EVICT] = { "class", "evict" },
        [KC_CPU_WEIGHT] = { "class", "cpu_weight" },
        [KC_TRIGGER] = { "class", "trigger" },
        [KC_RECOVER] = { "class", "recover" },
        [KC_HOLD] = { "class", "hold" },
};

static const char *const protect_names[] = {
        [PROTECT_NONE] = "none", [PROTECT_LOW] = "low", [PROTECT_MIN] = "min", NULL,
};
static const char *const evict_names[] = {
        [EVICT_NEVER] = "never", [EVICT_LAST_RESORT] = "last-resort", [EVICT_YES] = "yes",
        [EVICT_FIRST] = "first", NULL,
};

#define RANK_MAX 1000
#define CLASS_PREFIX "class."

#define MSEC(n) ((uint64_t) (n) * 1000)
#define SEC(n) ((uint64_t) (n) * 1000000)

/* A class section that sets nothing but its rank: no protection, memory.high
 * at the limit, swap allowed, evictable, the kernel's default cpu.weight. */
static PolicyClass class_blank(const char *name) {
        PolicyClass c = {
                .protect = PROTECT_NONE,
                .high_bp = 10000,
                .swap_max = SIZE_INFINITY,
                .zswap_max = SIZE_INFINITY,
                .evict = EVICT_YES,
                .cpu_weight = 100,
                .pressure = PRESSURE_SPEC_UNSET,
        };
        snprintf(c.name, sizeof(c.name), "%s", name);
        return c;
}

static PressureSpec pressure(uint64_t stall, uint64_t window, uint32_t recover_bp, uint64_t hold) {
        return (PressureSpec) {
                .stall_usec = stall,
                .window_usec = window,
                .recover_bp = recover_bp,
                .hold_usec = hold,
        };
}

void policy_classes_default(PolicyClasses *ret) {
        PolicyClasses c = { .n = 5 };

        /* DESIGN.md "Classes". Higher classes get more sensitive triggers: they
         * are the ones whose stalls make tenantd act on the classes below.
         * besteffort has nothing below it and keeps tenantd.conf's defaults. */
        c.v[0] = class_blank("critical");
        c.v[0].rank = 50;
        c.v[0].protect = PROTECT_MIN;
        c.v[0].high_bp = HIGH_BP_MAX;
        c.v[0].swap_max = 0;
        c.v[0].zswap_max = 0;
        c.v[0].evict = EVICT_NEVER;
        c.v[0].cpu_weight = 1000;
        c.v[0].pressure = pressure(MSEC(50), SEC(1), 200, SEC(30));

        c.v[1] = class_blank("high");
        c.v[1].rank = 40;
        c.v[1].protect = PROTECT_MIN;
        c.v[1].high_bp = 10000;
        c.v[1].swap_max = 0;
        c.v[1].zswap_max = 0;
        c.v[1].evict = EVICT_NEVER;
        c.v[1].cpu_weight = 500;
        c.v[1].pressure = pressure(MSEC(100), SEC(1), 500, SEC(20));

        c.v[2] = class_blank("normal");
        c.v[2].rank = 30;
        c.v[2].protect = PROTECT_LOW;
        c.v[2].high_bp = 9000;
        c.v[2].evict = EVICT_LAST_RESORT;
        c.v[2].cpu_weight = 100;
        c.v[2].pressure = pressure(MSEC(150), SEC(1), 500, SEC(10));

        c.v[3] = class_blank("low");
        c.v[3].rank = 20;
        c.v[3].evict = EVICT_YES;
        c.v[3].cpu_weight = 50;
        c.v[3].pressure = pressure(MSEC(300), SEC(2), 1000, SEC(10));

        c.v[4] = class_blank("besteffort");
        c.v[4].rank = 10;
        c.v[4].evict = EVICT_FIRST;
        c.v[4].cpu_weight = 10;

        *ret = c;
}

const PolicyClass *policy_classes_find(const PolicyClasses *c, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->v[i].name, name))
                        return &c->v[i];
        return NULL;
}

void policy_classes_done(PolicyClasses *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->v[i].file);
                c->v[i].file = NULL;
        }
}

typedef struct ClassesParser {
        IniParser ini;
        PolicyClasses *c;
        int cur;                                 /* class being read, -1: none */
        unsigned key_line[CLASSES_MAX][_KC_MAX];
        bool rank_ok[CLASSES_MAX];
} ClassesParser;

static bool classes_section(IniParser *p, const char *name) {
        ClassesParser *cp = p->userdata;
        PolicyClasses *c = cp->c;
        _cleanup_free_ char *key = strdup_printf("[%s]", name);
        const char *cname, *problem;

        cp->cur = -1;
        if (strncmp(name, CLASS_PREFIX, strlen(CLASS_PREFIX)) != 0) {
                if (!class_name_problem(name))
                        sink_error(&p->sink, p->line, key, NULL, EINVAL,
                                   "unknown section, did you mean 'class.%s'?", name);
                else
                        sink_error(&p->sink, p->line, key, NULL, EINVAL,
                                   "unknown section, expected [class.NAME]");
                return false;
        }
        cname = name + strlen(CLASS_PREFIX);
        problem = class_name_problem(cname);
        if (problem) {
                sink_error(&p->sink, p->line, key, NULL, EINVAL, "%s", problem);
                return false;
        }
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->v[i].name, cname)) {
                        sink_error(&p->sink, p->line, key, NULL, EEXIST,
                                   "duplicate section, first on line %u", c->v[i].line);
                        return false;
                }
        if (c->n >= CLASSES_MAX) {
                sink_error(&p->sink, p->line, key, NULL, ENOSPC, "too many classes, at most %d",
                           CLASSES_MAX);
                return false;
        }
        c->v[c->n] = class_blank(cname);
        c->v[c->n].file = strdup(p->sink.file ? p->sink.file : "<input>");
        c->v[c->n].line = p->line;
        cp->cur = (int) c->n++;
        return true;
}

static void classes_assign(IniParser *p, const char *key, const char *fullkey, const char *value) {
        ClassesParser *cp = p->userdata;
        PolicyClass *k;
        ErrSink *s = &p->sink;
        unsigned line = p->line;
        uint64_t u;
        int idx, e;

        if (cp->cur < 0)
                return;
        k = &cp->c->v[cp->cur];
        idx = ini_key_lookup(p, class_keys, _KC_MAX, cp->key_line[cp->cur], "class", key, fullkey, value);
        if (idx < 0)
                return;

        switch (idx) {
        case KC_RANK:
                if (value_uint(s, line, fullkey, value, 0, RANK_MAX, &u)) {
                        k->rank = (unsigned) u;
                        cp->rank_ok[cp->cur] = true;
                }
                break;
        case KC_PROTECT:
                if (value_enum(s, line, fullkey, value, protect_names, &e))
                        k->protect = (ProtectKind) e;
                break;
        case KC_HIGH:
                if (streq(value, "max"))
                        k->high_bp = HIGH_BP_MAX;
                else if (streq(value, "limit"))
                        k->high_bp = 10000;
                else if (!strchr(value, '%'))
                        sink_error(s, line, fullkey, value, EINVAL,
                                   "expected max, limit or a percentage, e.g. 90%%");
                else
                        value_percent(s, line, fullkey, value, &k->high_bp);
                break;
        case KC_SWAP:
                value_bytes(s, line, fullkey, value, true, &k->swap_max);
                break;
        case KC_ZSWAP:
                value_bytes(s, line, fullkey, value, true, &k->zswap_max);
                break;
        case KC_EVICT:
                if (value_enum(s, line, fullkey, value, evict_names, &e))
                        k->evict = (EvictPolicy) e;
                break;
        case KC_CPU_WEIGHT:
                if (value_uint(s, line, fullkey, value, 1, 10000, &u))
                        k->cpu_weight = (unsigned) u;
                break;
        default:
                pressure_key(s, line, key, fullkey, value, &k->pressure);
                break;
        }
}

int classes_parse(const char *text, size_t len, const char *file, PolicyClasses *ret,
                  PolicyErrors *errs) {
        ClassesParser cp = {
                .ini = {
                        .sink = { .file = file, .errs = errs },
                        .on_section = classes_section,
                        .on_assign = classes_assign,
                },
                .c = ret,
                .cur = -1,
        };
        ErrSink *s = &cp.ini.sink;
        int r;

        cp.ini.userdata = &cp;
        *ret = (PolicyClasses) { .n = 0 };

        r = ini_run(&cp.ini, text, len);
        ini_parser_done(&cp.ini);
        if (r < 0)
                return r;
        if (s->gave_up || cp.ini.refused)
                return -EINVAL;

        if (!cp.ini.any_content && s->n == 0)
                sink_error(s, 0, "", NULL, ENODATA, "empty policy");

        for (size_t i = 0; i < ret->n; i++) {
                PolicyClass *k = &ret->v[i];
                _cleanup_free_ char *key = strdup_printf("class.%s.rank", k->name);
                unsigned rank_line = cp.key_line[i][KC_RANK];

                if (!rank_line) {
                        sink_error(s, k->line, key, NULL, EINVAL, "required key is missing");
                        continue;
                }
                /* the ladder is ordered by rank: two classes at one rank would
                 * make "lower than" undefined between them */
                for (size_t j = 0; j < i; j++)
                        if (cp.rank_ok[i] && cp.rank_ok[j] && ret->v[j].rank == k->rank) {
                                char v[16];
                                snprintf(v, sizeof(v), "%u", k->rank);
                                sink_error(s, rank_line, key, v, EEXIST,
                                           "duplicate rank, also used by class '%s'", ret->v[j].name);
                                break;
                        }
        }
        return s->n > 0 ? -EINVAL : 0;
}
