/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy: error lists, the value grammars every policy file shares (sizes,
 * durations, percentages, PSI triggers, tenant ids), and tenant.ini(5).
 *
 * Does not own: the INI front end (policy-ini.c), classes.ini (classes.c),
 * tenantd.conf (conf.c), cross-file rules (policy-set.c) or any file I/O
 * (policy-load.c). Nothing here touches the file system.
 */
#include <inttypes.h>
#include <stdarg.h>

#include "policy-internal.h"

/* ---- errors ---------------------------------------------------------------- */

void policy_errors_add(PolicyErrors *e, const char *file, unsigned line, const char *key,
                       const char *value, int errnum, const char *fmt, ...) {
        PolicyError *v, *err;
        va_list ap;
        char *problem;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&problem, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;

        v = reallocarray(e->v, e->n + 1, sizeof(PolicyError));
        if (!v) {
                free(problem);
                return;
        }
        e->v = v;
        err = &e->v[e->n];
        *err = (PolicyError) {
                .file = strdup(file ? file : "<input>"),
                .line = line,
                .key = strdup(key ? key : ""),
                .problem = problem,
                .value = value ? strdup(value) : NULL,
                .errnum = errnum,
        };
        /* An error we cannot describe is still an error: keep the entry so the
         * caller's count (and its refusal) stays right even when out of memory. */
        e->n++;
}

void policy_errors_print(const PolicyErrors *e, FILE *f) {
        for (size_t i = 0; i < e->n; i++) {
                const PolicyError *err = &e->v[i];

                fputs(err->file ? err->file : "<input>", f);
                if (err->line > 0)
                        fprintf(f, ":%u", err->line);
                fputs(": ", f);
                if (err->key && err->key[0])
                        fprintf(f, "%s: ", err->key);
                fputs(err->problem ? err->problem : "out of memory", f);
                if (err->value)
                        fprintf(f, " (%s)", err->value);
                fputc('\n', f);
        }
}

void policy_errors_clear(PolicyErrors *e) {
        for (size_t i = 0; i < e->n; i++) {
                free(e->v[i].file);
                free(e->v[i].key);
                free(e->v[i].problem);
                free(e->v[i].value);
        }
        free(e->v);
        e->v = NULL;
        e->n = 0;
}

void sink_error(ErrSink *s, unsigned line, const char *key, const char *value, int errnum,
                const char *fmt, ...) {
        _cleanup_free_ char *problem = NULL;
        va_list ap;
        int r;

        if (s->gave_up)
                return;
        if (s->n >= POLICY_FILE_ERRORS_MAX) {
                policy_errors_add(s->errs, s->file, line, "", NULL, errnum,
                                  "too many errors, giving up on this file");
                s->gave_up = true;
                return;
        }
        va_start(ap, fmt);
        r = vasprintf(&problem, fmt, ap);
        va_end(ap);
        if (r < 0)
                problem = NULL;
        policy_errors_add(s->errs, s->file, line, key, value, errnum, "%s",
                          problem ? problem : "out of memory");
        s->n++;
}

/* ---- numbers --------------------------------------------------------------- */

/* A decimal number with an optional fraction, as written: "1", "1.5", "0.25".
 * frac holds the fraction digits as an integer, frac_scale is 10^digits.
 * Returns the first byte after it, or NULL when s does not start with a digit
 * or the integer part overflows (*overflow then true). */
typedef struct Decimal {
        uint64_t whole;
        uint64_t frac;
        uint64_t frac_scale;
        unsigned frac_digits;
} Decimal;

static const char *decimal_parse(const char *s, Decimal *ret, bool *overflow) {
        Decimal d = { .frac_scale = 1 };

        *overflow = false;
        if (*s < '0' || *s > '9')
                return NULL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (d.whole > (UINT64_MAX - (uint64_t) (*s - '0')) / 10) {
                        *overflow = true;
                        return NULL;
                }
                d.whole = d.whole * 10 + (uint64_t) (*s - '0');
        }
        if (*s == '.') {
                s++;
                if (*s < '0' || *s > '9')
                        return NULL;
                for (; *s >= '0' && *s <= '9'; s++) {
                        /* digits beyond 10^-18 cannot change any result we compute */
                        if (d.frac_digits >= 18)
                                continue;
                        d.frac = d.frac * 10 + (uint64_t) (*s - '0');
                        d.frac_scale *= 10;
                        d.frac_digits++;
                }
        }
        *ret = d;
        return s;
}

__extension__ typedef unsigned __int128 u128;

/* whole * mult + frac * mult / scale; -ERANGE beyond limit. When exact, a
 * fraction that does not land on a whole unit is -EINVAL. */
static int decimal_scale(const Decimal *d, uint64_t mult, uint64_t limit, bool exact, uint64_t *ret) {
        u128 v = (u128) d->whole * mult;
        u128 f = (u128) d->frac * mult;

        if (exact && f % d->frac_scale != 0)
                return -EINVAL;
        v += f / d->frac_scale;
        if (v > limit)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

int percent_parse(const char *s, uint32_t *ret_bp) {
        Decimal d;
        bool overflow;
        const char *e;
        uint64_t bp;
        int r;

        e = decimal_parse(s, &d, &overflow);
        if (!e)
                return overflow ? -ERANGE : -EINVAL;
        if (!streq(e, "%"))
                return -EINVAL;
        /* basis points are the resolution: "12.345%" would silently lose a digit */
        r = decimal_scale(&d, 100, 10000, true, &bp);
        if (r < 0)
                return r;
        *ret_bp = (uint32_t) bp;
        return 0;
}

/* ---- sizes ----------------------------------------------------------------- */

/* Bytes above 8E are refused: the kernel clamps page counters at LONG_MAX
 * anyway, and the cap keeps the sentinels at the top of uint64_t (and sums of
 * a few sizes) far away. */
#define SIZE_BYTES_MAX (UINT64_C(1) << 63)

int size_parse(const char *s, bool allow_percent, SizeSpec *ret) {
        static const char units[] = "KMGTPE";
        Decimal d;
        bool overflow;
        const char *e, *u;
        uint64_t mult = 1, bytes;
        int r;

        if (streq(s, "max") || streq(s, "infinity")) {
                *ret = (SizeSpec) { .bytes = SIZE_INFINITY };
                return 0;
        }

        e = decimal_parse(s, &d, &overflow);
        if (!e)
                return overflow ? -ERANGE : -EINVAL;

        if (*e == '%') {
                uint32_t bp;

                if (!allow_percent)
                        return -EINVAL;
                r = percent_parse(s, &bp);
                if (r < 0)
                        return r;
                /* 0% is simply zero bytes: percent_bp == 0 means "bytes". bytes is
                 * 0, not SIZE_UNSET, so a percentage never looks unset. */
                *ret = (SizeSpec) { .bytes = 0, .percent_bp = bp };
                return 0;
        }

        if (*e != '\0' && (u = strchr(units, *e >= 'a' && *e <= 'z' ? *e - 'a' + 'A' : *e))) {
                mult = UINT64_C(1) << (10 * (u - units + 1));
                e++;
                /* "4K", "4KB", "4KiB" all mean 4096 */
                if (*e == 'i' && e[1] == 'B')
                        e += 2;
                else if (*e == 'B')
                        e++;
        } else if (*e == 'B')
                e++;
        if (*e != '\0')
                return -EINVAL;
        /* fractions of a byte are meaningless; "1.5" without a unit is a typo */
        if (mult == 1 && d.frac_digits > 0)
                return -EINVAL;

        /* "1.3G" is not a whole number of bytes; round down (the planner rounds
         * to pages anyway) rather than refuse a reasonable spelling */
        r = decimal_scale(&d, mult, SIZE_BYTES_MAX, false, &bytes);
        if (r < 0)
                return r;
        *ret = (SizeSpec) { .bytes = bytes };
        return 0;
}

uint64_t size_resolve(SizeSpec s, uint64_t host_total) {
        uint64_t v;

        if (s.percent_bp == 0)
                return s.bytes;
        v = (uint64_t) ((u128) host_total * s.percent_bp / 10000);
        return v / 4096 * 4096;
}

char *size_format(uint64_t bytes, char *buf, size_t size) {
        static const char units[] = "KMGTPE";
        int shift;

        if (bytes == SIZE_INFINITY)
                snprintf(buf, size, "max");
        else if (bytes == SIZE_UNSET)
                snprintf(buf, size, "unset");
        else if (bytes == 0)
                snprintf(buf, size, "0");
        else {
                for (shift = 6; shift > 0; shift--)
                        if (bytes % (UINT64_C(1) << (10 * shift)) == 0)
                                break;
                if (shift == 0)
                        snprintf(buf, size, "%" PRIu64, bytes);
                else
                        snprintf(buf, size, "%" PRIu64 "%c", bytes >> (10 * shift), units[shift - 1]);
        }
        return buf;
}

/* ---- durations ------------------------------------------------------------- */

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

/* A year: longer durations in a reaction policy are typos, and the cap keeps
 * every sum of them far from overflow. */
#define DURATION_MAX (UINT64_C(366) * 24 * 3600 * USEC_PER_SEC)

int duration_parse(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "us", 1 },
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        Decimal d;
        bool overflow;
        const char *e;

        e = decimal_parse(s, &d, &overflow);
        if (!e)
                return overflow ? -ERANGE : -EINVAL;
        /* a bare number would be ambiguous (seconds? microseconds?), so a unit
         * is required */
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(e, units[i].suffix))
                        return decimal_scale(&d, units[i].usec, DURATION_MAX, true, ret_usec);
        return -EINVAL;
}

/* Prints a duration the way it is most naturally written: "150ms", "10s", "1h". */
static char *duration_format(uint64_t usec, char *buf, size_t size) {
        if (usec != 0 && usec % (3600 * USEC_PER_SEC) == 0)
                snprintf(buf, size, "%" PRIu64 "h", usec / (3600 * USEC_PER_SEC));
        else if (usec != 0 && usec % (60 * USEC_PER_SEC) == 0)
                snprintf(buf, size, "%" PRIu64 "min", usec / (60 * USEC_PER_SEC));
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, size, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else if (usec % USEC_PER_MSEC == 0)
                snprintf(buf, size, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        else
                snprintf(buf, size, "%" PRIu64 "us", usec);
        return buf;
}

/* The kernel's limits for a PSI trigger (kernel/sched/psi.c, psi_trigger_create). */
#define PSI_WINDOW_MIN (500 * USEC_PER_MSEC)
#define PSI_WINDOW_MAX (10 * USEC_PER_SEC)

/* Fixed problem texts, shared with the value reporter below. */
#define TRIGGER_SYNTAX "expected 'some|full STALL WINDOW', e.g. 'some 150ms 1s'"
#define TRIGGER_WINDOW "window must be between 500ms and 10s"
#define TRIGGER_STALL "stall must be greater than 0 and at most the window"

static int trigger_parse(const char *s, PressureSpec *ret, const char **ret_problem) {
        char words[3][32];
        uint64_t stall, window;
        size_t n = 0;
        bool full;

        for (const char *p = s;;) {
                size_t l;

                p += strspn(p, " \t");
                if (*p == '\0')
                        break;
                l = strcspn(p, " \t");
                if (n >= ELEMENTSOF(words) || l >= sizeof(words[0]))
                        goto syntax;
                memcpy(words[n], p, l);
                words[n++][l] = '\0';
                p += l;
        }
        if (n != 3)
                goto syntax;
        if (streq(words[0], "some"))
                full = false;
        else if (streq(words[0], "full"))
                full = true;
        else
                goto syntax;
        if (duration_parse(words[1], &stall) < 0 || duration_parse(words[2], &window) < 0)
                goto syntax;
        if (window < PSI_WINDOW_MIN || window > PSI_WINDOW_MAX) {
                *ret_problem = TRIGGER_WINDOW;
                return -ERANGE;
        }
        if (stall == 0 || stall > window) {
                *ret_problem = TRIGGER_STALL;
                return -ERANGE;
        }
        ret->full = full;
        ret->stall_usec = stall;
        ret->window_usec = window;
        return 0;

syntax:
        *ret_problem = TRIGGER_SYNTAX;
        return -EINVAL;
}

int pressure_trigger_parse(const char *s, PressureSpec *ret) {
        const char *problem;

        return trigger_parse(s, ret, &problem);
}

/* ---- value reporters --------------------------------------------------------- */

static bool is_negative(const char *v) {
        return v[0] == '-' && v[1] >= '0' && v[1] <= '9';
}

bool value_size(ErrSink *s, unsigned line, const char *key, const char *value, bool allow_percent,
                bool allow_infinity, SizeSpec *ret) {
        SizeSpec spec;
        int r;

        if (is_negative(value)) {
                sink_error(s, line, key, value, ERANGE, "must not be negative");
                return false;
        }
        if (!allow_percent && strchr(value, '%')) {
                sink_error(s, line, key, value, EINVAL, "a percentage is not allowed here");
                return false;
        }
        r = size_parse(value, allow_percent, &spec);
        if (r == -ERANGE) {
                if (strchr(value, '%'))
                        sink_error(s, line, key, value, ERANGE, "must be at most 100%%");
                else
                        sink_error(s, line, key, value, ERANGE, "too large, at most 8E");
                return false;
        }
        if (r < 0) {
                if (strchr(value, '%'))
                        sink_error(s, line, key, value, EINVAL,
                                   "invalid percentage, use e.g. 25%% or 12.5%%");
                else
                        sink_error(s, line, key, value, EINVAL,
                                   "invalid size, use bytes or K, M, G, T, P, E, e.g. 512M or 1.5G");
                return false;
        }
        if (!allow_infinity && spec.bytes == SIZE_INFINITY) {
                sink_error(s, line, key, value, EINVAL, "must be a finite size");
                return false;
        }
        *ret = spec;
        return true;
}

bool value_bytes(ErrSink *s, unsigned line, const char *key, const char *value, bool allow_infinity,
                 uint64_t *ret) {
        SizeSpec spec;

        if (!value_size(s, line, key, value, false, allow_infinity, &spec))
                return false;
        *ret = spec.bytes;
        return true;
}

bool value_uint(ErrSink *s, unsigned line, const char *key, const char *value, uint64_t min,
                uint64_t max, uint64_t *ret) {
        uint64_t v = 0;
        const char *p;

        if (is_negative(value)) {
                sink_error(s, line, key, value, ERANGE, "must not be negative");
                return false;
        }
        for (p = value; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10) {
                        v = UINT64_MAX;
                        break;
                }
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (p == value || (*p != '\0' && v != UINT64_MAX)) {
                sink_error(s, line, key, value, EINVAL, "expected a whole number");
                return false;
        }
        if (v < min || v > max) {
                sink_error(s, line, key, value, ERANGE, "must be between %" PRIu64 " and %" PRIu64,
                           min, max);
                return false;
        }
        *ret = v;
        return true;
}

bool value_bool(ErrSink *s, unsigned line, const char *key, const char *value, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(value, yes[i])) {
                        *ret = true;
                        return true;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(value, no[i])) {
                        *ret = false;
                        return true;
                }
        sink_error(s, line, key, value, EINVAL, "expected yes or no (or true/false, on/off, 1/0)");
        return false;
}

bool value_enum(ErrSink *s, unsigned line, const char *key, const char *value,
                const char *const *names, int *ret) {
        char list[256] = "";
        size_t n;

        for (n = 0; names[n]; n++)
                if (streq(value, names[n])) {
                        *ret = (int) n;
                        return true;
                }
        /* "expected a, b or c" */
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof(list) - l, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                         names[i]);
        }
        sink_error(s, line, key, value, EINVAL, "expected %s", list);
        return false;
}

bool value_percent(ErrSink *s, unsigned line, const char *key, const char *value, uint32_t *ret_bp) {
        int r;

        if (is_negative(value)) {
                sink_error(s, line, key, value, ERANGE, "must not be negative");
                return false;
        }
        r = percent_parse(value, ret_bp);
        if (r == -ERANGE)
                sink_error(s, line, key, value, ERANGE, "must be at most 100%%");
        else if (r < 0)
                sink_error(s, line, key, value, EINVAL, "invalid percentage, use e.g. 5%% or 2.5%%");
        return r >= 0;
}

bool value_duration(ErrSink *s, unsigned line, const char *key, const char *value,
                    uint64_t min_usec, uint64_t max_usec, uint64_t *ret_usec) {
        uint64_t v;
        int r;

        if (is_negative(value)) {
                sink_error(s, line, key, value, ERANGE, "must not be negative");
                return false;
        }
        r = duration_parse(value, &v);
        if (r == -ERANGE || (r >= 0 && (v < min_usec || v > max_usec))) {
                char a[32], b[32];
                sink_error(s, line, key, value, ERANGE, "must be between %s and %s",
                           duration_format(min_usec, a, sizeof(a)),
                           duration_format(max_usec, b, sizeof(b)));
                return false;
        }
        if (r < 0) {
                if (value[strspn(value, "0123456789.")] == '\0')
                        sink_error(s, line, key, value, EINVAL, "missing unit, use us, ms, s, min or h");
                else
                        sink_error(s, line, key, value, EINVAL, "invalid duration, use e.g. 150ms, 2.5s or 1min");
                return false;
        }
        *ret_usec = v;
        return true;
}

bool value_path(ErrSink *s, unsigned line, const char *key, const char *value, char **ret) {
        _cleanup_free_ char *norm = NULL;
        size_t n = 0;

        if (value[0] != '/') {
                sink_error(s, line, key, value, EINVAL, "must be an absolute path");
                return false;
        }
        norm = malloc(strlen(value) + 2);
        if (!norm) {
                sink_error(s, line, key, value, ENOMEM, "out of memory");
                return false;
        }
        for (const char *p = value; *p;) {
                size_t l;

                p += strspn(p, "/");
                l = strcspn(p, "/");
                if (l == 0)
                        break;
                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        sink_error(s, line, key, value, EINVAL, "must not contain '..'");
                        return false;
                }
                if (!(l == 1 && p[0] == '.')) {
                        norm[n++] = '/';
                        memcpy(norm + n, p, l);
                        n += l;
                }
                p += l;
        }
        if (n == 0)
                norm[n++] = '/';
        norm[n] = '\0';
        *ret = TAKE_PTR(norm);
        return true;
}

bool pressure_key(ErrSink *s, unsigned line, const char *key, const char *fullkey,
                  const char *value, PressureSpec *p) {
        if (streq(key, "trigger")) {
                const char *problem = NULL;

                if (trigger_parse(value, p, &problem) < 0)
                        sink_error(s, line, fullkey, value, EINVAL, "%s", problem);
        } else if (streq(key, "recover")) {
                uint32_t bp;

                if (value_percent(s, line, fullkey, value, &bp)) {
                        if (bp == 0)
                                sink_error(s, line, fullkey, value, ERANGE, "must be greater than 0%%");
                        else
                                p->recover_bp = bp;
                }
        } else if (streq(key, "hold")) {
                uint64_t v;

                if (value_duration(s, line, fullkey, value, USEC_PER_SEC, 3600 * USEC_PER_SEC, &v))
                        p->hold_usec = v;
        } else
                return false;
        return true;
}

/* ---- names ------------------------------------------------------------------- */

/* Controllers whose interface files sit in every cgroup directory as
 * "<controller>.<name>"; a tenant named like one would collide in cgroupfs. */
static const char *const cgroup_file_prefixes[] = {
        "cgroup", "memory", "cpu", "cpuset", "io", "pids", "hugetlb", "rdma", "misc",
};

const char *tenant_id_problem(const char *id) {
        size_t l = strlen(id);

        if (l == 0)
                return "must not be empty";
        for (const char *p = id; *p; p++)
                if ((unsigned char) *p >= 0x80)
                        return "non-ASCII character, use [A-Za-z0-9_.-]";
        for (const char *p = id; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                        return "invalid character, use [A-Za-z0-9_.-]";
        if (l > TENANT_ID_MAX)
                return "too long, at most 48 characters";
        if (streq(id, ".") || streq(id, ".."))
                return "'.' and '..' are reserved";
        if (id[0] == '.' || id[0] == '-')
                return "must not start with '.' or '-'";
        for (size_t i = 0; i < ELEMENTSOF(cgroup_file_prefixes); i++) {
                size_t pl = strlen(cgroup_file_prefixes[i]);
                if (strncmp(id, cgroup_file_prefixes[i], pl) == 0 && id[pl] == '.')
                        return "clashes with cgroup interface files (<controller>.<name>)";
        }
        return NULL;
}

bool tenant_id_is_valid(const char *id) {
        return tenant_id_problem(id) == NULL;
}

const char *class_name_problem(const char *name) {
        if (name[0] == '\0')
                return "must not be empty";
        if (!(name[0] >= 'a' && name[0] <= 'z'))
                return "invalid class name, use [a-z][a-z0-9_]*";
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return "invalid class name, use [a-z][a-z0-9_]*";
        if (strlen(name) > CLASS_NAME_MAX)
                return "too long, at most 32 characters";
        return NULL;
}

/* ---- tenant.ini ---------------------------------------------------------------- */

enum {
        S_TENANT,
        S_MEMORY,
        S_CPU,
        S_NUMA,
        S_HUGEPAGES,
        S_VM,
        S_PRESSURE,
        _S_TENANT_MAX,
};

static const char *const tenant_sections[_S_TENANT_MAX] = {
        [S_TENANT] = "tenant",       [S_MEMORY] = "memory", [S_CPU] = "cpu",
        [S_NUMA] = "numa",           [S_HUGEPAGES] = "hugepages", [S_VM] = "vm",
        [S_PRESSURE] = "pressure",
};

enum {
        K_TENANT_NAME,
        K_TENANT_KIND,
        K_TENANT_CLASS,
        K_TENANT_EXEC,
        K_TENANT_DESCRIPTION,
        K_MEMORY_REQUEST,
        K_MEMORY_LIMIT,
        K_MEMORY_SWAP,
        K_MEMORY_ZSWAP,
        K_CPU_CPUS,
        K_CPU_CPU_LIST,
        K_CPU_WEIGHT,
        K_NUMA_NODES,
        K_NUMA_MODE,
        K_HUGE_SIZE,
        K_HUGE_COUNT,
        K_VM_MEMORY,
        K_VM_VCPUS,
        K_VM_QMP,
        K_VM_BALLOON,
        K_VM_VIDEO,
        K_VM_KERNEL,
        K_VM_INITRD,
        K_VM_APPEND,
        K_PRESSURE_TRIGGER,
        K_PRESSURE_RECOVER,
        K_PRESSURE_HOLD,
        K_PRESSURE_EVICTABLE,
        _K_TENANT_MAX,
};

static const IniKey tenant_keys[_K_TENANT_MAX] = {
        [K_TENANT_NAME] = { "tenant", "name" },
        [K_TENANT_KIND] = { "tenant", "kind" },
        [K_TENANT_CLASS] = { "tenant", "class" },
        [K_TENANT_EXEC] = { "tenant", "exec" },
        [K_TENANT_DESCRIPTION] = { "tenant", "description" },
        [K_MEMORY_REQUEST] = { "memory", "request" },
        [K_MEMORY_LIMIT] = { "memory", "limit" },
        [K_MEMORY_SWAP] = { "memory", "swap" },
        [K_MEMORY_ZSWAP] = { "memory", "zswap" },
        [K_CPU_CPUS] = { "cpu", "cpus" },
        [K_CPU_CPU_LIST] = { "cpu", "cpu_list" },
        [K_CPU_WEIGHT] = { "cpu", "weight" },
        [K_NUMA_NODES] = { "numa", "nodes" },
        [K_NUMA_MODE] = { "numa", "mode" },
        [K_HUGE_SIZE] = { "hugepages", "size" },
        [K_HUGE_COUNT] = { "hugepages", "count" },
        [K_VM_MEMORY] = { "vm", "memory" },
        [K_VM_VCPUS] = { "vm", "vcpus" },
        [K_VM_QMP] = { "vm", "qmp" },
        [K_VM_BALLOON] = { "vm", "balloon" },
        [K_VM_VIDEO] = { "vm", "video" },
        [K_VM_KERNEL] = { "vm", "kernel" },
        [K_VM_INITRD] = { "vm", "initrd" },
        [K_VM_APPEND] = { "vm", "append" },
        [K_PRESSURE_TRIGGER] = { "pressure", "trigger" },
        [K_PRESSURE_RECOVER] = { "pressure", "recover" },
        [K_PRESSURE_HOLD] = { "pressure", "hold" },
        [K_PRESSURE_EVICTABLE] = { "pressure", "evictable" },
};

static const char *const tenant_kinds[] = {
        [TENANT_PROCESS] = "process", [TENANT_CONTAINER] = "container", [TENANT_VM] = "vm", NULL,
};
static const char *const numa_modes[] = {
        [NUMA_STRICT] = "strict", [NUMA_PREFERRED] = "preferred", NULL,
};

#define HUGE_2M (UINT64_C(2) << 20)
#define HUGE_1G (UINT64_C(1) << 30)
#define VCPUS_MAX 1024
/* sizeof(struct sockaddr_un.sun_path) - 1 */
#define SOCKET_PATH_MAX 107

typedef struct TenantParser {
        IniParser ini;
        TenantPolicy *t;
        unsigned key_line[_K_TENANT_MAX];
        unsigned section_line[_S_TENANT_MAX];
        char *raw[_K_TENANT_MAX];   /* values as written, for later messages */
        bool kind_bad;
} TenantParser;

static void tenant_policy_init(TenantPolicy *t) {
        *t = (TenantPolicy) {
                .kind = TENANT_PROCESS,
                .request = SIZE_SPEC_UNSET,
                .limit = SIZE_SPEC_UNSET,
                .swap = SIZE_SPEC_UNSET,
                .zswap = SIZE_SPEC_UNSET,
                .numa_mode = NUMA_STRICT,
                .vm_memory = SIZE_UNSET,
                .vm_video = SIZE_UNSET,
                .vm_balloon = true,
                .pressure = PRESSURE_SPEC_UNSET,
                .evictable = true,
        };
}

void tenant_policy_done(TenantPolicy *t) {
        free(t->file);
        free(t->exec);
        free(t->description);
        free(t->vm_qmp);
        free(t->vm_kernel);
        free(t->vm_initrd);
        free(t->vm_append);
        t->file = t->exec = t->description = t->vm_qmp = t->vm_kernel = t->vm_initrd = t->vm_append = NULL;
}

static bool tenant_section(IniParser *p, const char *name) {
        TenantParser *tp = p->userdata;

        return ini_section_lookup(p, tenant_sections, _S_TENANT_MAX, tp->section_line, name) >= 0;
}

/* Copies value without blanks, so "4-7, 9" reads like the kernel's "4-7,9". */
static void strip_blanks(const char *value, char *buf, size_t size) {
        size_t n = 0;

        for (; *value && n + 1 < size; value++)
                if (*value != ' ' && *value != '\t')
                        buf[n++] = *value;
        buf[n] = '\0';
}

static void tenant_cpu_list(ErrSink *s, unsigned line, const char *fullkey, const char *value,
                            TenantPolicy *t) {
        char buf[POLICY_LINE_MAX + 1];
        CpuSet set;
        int r;

        strip_blanks(value, buf, sizeof(buf));
        r = cpulist_parse(buf, &set);
        if (r == -ERANGE)
                sink_error(s, line, fullkey, value, ERANGE, "CPU number too large, at most %u",
                           CPUSET_MAX - 1);
        else if (r < 0 || cpuset_is_empty(&set))
                sink_error(s, line, fullkey, value, EINVAL, "invalid CPU list, e.g. 4-7,9 or 3-3");
        else {
                t->cpu_list = set;
                t->has_cpu_list = true;
                t->line_cpus = line;
        }
}

static void tenant_assign(IniParser *p, const char *key, const char *fullkey, const char *value) {
        TenantParser *tp = p->userdata;
        TenantPolicy *t = tp->t;
        ErrSink *s = &p->sink;
        unsigned line = p->line;
        const char *problem;
        uint64_t u;
        int k, e;

        k = ini_key_lookup(p, tenant_keys, _K_TENANT_MAX, tp->key_line, p->section, key, fullkey, value);
        if (k < 0) {
                if (streq(fullkey, "tenant.kind"))
                        tp->kind_bad = true;
                return;
        }
        tp->raw[k] = strdup(value);

        switch (k) {
        case K_TENANT_NAME:
                problem = tenant_id_problem(value);
                if (problem)
                        sink_error(s, line, fullkey, value, EINVAL, "invalid tenant id: %s", problem);
                else {
                        snprintf(t->id, sizeof(t->id), "%s", value);
                        t->line_id = line;
                }
                break;
        case K_TENANT_KIND:
                t->line_kind = line;
                if (value_enum(s, line, fullkey, value, tenant_kinds, &e))
                        t->kind = (TenantKind) e;
                else
                        tp->kind_bad = true;
                break;
        case K_TENANT_CLASS:
                problem = class_name_problem(value);
                if (problem)
                        sink_error(s, line, fullkey, value, EINVAL, "%s", problem);
                else {
                        snprintf(t->class_name, sizeof(t->class_name), "%s", value);
                        t->line_class = line;
                }
                break;
        case K_TENANT_EXEC:
                free(t->exec);
                t->exec = strdup(value);
                break;
        case K_TENANT_DESCRIPTION:
                free(t->description);
                t->description = strdup(value);
                break;
        case K_MEMORY_REQUEST:
                t->line_request = line;
                value_size(s, line, fullkey, value, true, false, &t->request);
                break;
        case K_MEMORY_LIMIT: {
                SizeSpec v;

                t->line_limit = line;
                if (!value_size(s, line, fullkey, value, true, true, &v))
                        break;
                if (v.bytes == 0 && v.percent_bp == 0)
                        sink_error(s, line, fullkey, value, ERANGE, "must be greater than 0");
                else
                        t->limit = v;
                break;
        }
        case K_MEMORY_SWAP:
                t->line_swap = line;
                value_size(s, line, fullkey, value, false, true, &t->swap);
                break;
        case K_MEMORY_ZSWAP:
                t->line_zswap = line;
                value_size(s, line, fullkey, value, false, true, &t->zswap);
                break;
        case K_CPU_CPUS:
        case K_CPU_CPU_LIST: {
                int other = k == K_CPU_CPUS ? K_CPU_CPU_LIST : K_CPU_CPUS;

                if (tp->key_line[other]) {
                        sink_error(s, line, fullkey, value, EINVAL, "conflicts with cpu.%s on line %u",
                                   tenant_keys[other].name, tp->key_line[other]);
                        break;
                }
                if (is_negative(value))
                        sink_error(s, line, fullkey, value, ERANGE, "must not be negative");
                /* the rule that tells a count from a list: a list has '-' or ',' */
                else if (k == K_CPU_CPU_LIST || strpbrk(value, "-,"))
                        tenant_cpu_list(s, line, fullkey, value, t);
                else if (value_uint(s, line, fullkey, value, 1, CPUSET_MAX, &u)) {
                        t->cpu_count = (unsigned) u;
                        t->line_cpus = line;
                }
                break;
        }
        case K_CPU_WEIGHT:
                t->line_cpu_weight = line;
                if (value_uint(s, line, fullkey, value, 1, 10000, &u))
                        t->cpu_weight = (unsigned) u;
                break;
        case K_NUMA_NODES: {
                char buf[POLICY_LINE_MAX + 1];
                NodeSet set;
                int r;

                t->line_nodes = line;
                if (streq(value, "auto")) {
                        t->nodes_auto = true;
                        break;
                }
                strip_blanks(value, buf, sizeof(buf));
                r = nodelist_parse(buf, &set);
                if (r == -ERANGE)
                        sink_error(s, line, fullkey, value, ERANGE, "node number too large, at most %u",
                                   NODESET_MAX - 1);
                else if (r < 0 || nodeset_count(&set) == 0)
                        sink_error(s, line, fullkey, value, EINVAL, "expected auto or a node list, e.g. 1 or 0,1");
                else
                        t->nodes = set;
                break;
        }
        case K_NUMA_MODE:
                if (value_enum(s, line, fullkey, value, numa_modes, &e))
                        t->numa_mode = (NumaMode) e;
                break;
        case K_HUGE_SIZE:
                if (!value_bytes(s, line, fullkey, value, false, &u))
                        break;
                if (u != HUGE_2M && u != HUGE_1G)
                        sink_error(s, line, fullkey, value, EINVAL, "unsupported hugepage size, use 2M or 1G");
                else
                        t->huge_size = u;
                break;
        case K_HUGE_COUNT:
                t->line_huge = line;
                if (value_uint(s, line, fullkey, value, 0, UINT32_MAX, &u))
                        t->huge_count = u;
                break;
        case K_VM_MEMORY:
                t->line_vm_memory = line;
                if (!value_bytes(s, line, fullkey, value, false, &u))
                        break;
                if (u == 0)
                        sink_error(s, line, fullkey, value, ERANGE, "must be greater than 0");
                else
                        t->vm_memory = u;
                break;
        case K_VM_VCPUS:
                if (value_uint(s, line, fullkey, value, 1, VCPUS_MAX, &u))
                        t->vm_vcpus = (unsigned) u;
                break;
        case K_VM_QMP: {
                char *path;

                if (!value_path(s, line, fullkey, value, &path))
                        break;
                if (strlen(path) > SOCKET_PATH_MAX) {
                        sink_error(s, line, fullkey, value, ENAMETOOLONG,
                                   "too long for a socket path, at most 107 bytes");
                        free(path);
                        break;
                }
                free(t->vm_qmp);
                t->vm_qmp = path;
                break;
        }
        case K_VM_BALLOON:
                value_bool(s, line, fullkey, value, &t->vm_balloon);
                break;
        case K_VM_VIDEO:
                value_bytes(s, line, fullkey, value, false, &t->vm_video);
                break;
        case K_VM_KERNEL:
        case K_VM_INITRD: {
                char *path, **dst = k == K_VM_KERNEL ? &t->vm_kernel : &t->vm_initrd;

                if (!value_path(s, line, fullkey, value, &path))
                        break;
                free(*dst);
                *dst = path;
                break;
        }
        case K_VM_APPEND: {
                char *copy = strdup(value);

                if (!copy)
                        break;
                free(t->vm_append);
                t->vm_append = copy;
                break;
        }
        case K_PRESSURE_TRIGGER:
        case K_PRESSURE_RECOVER:
        case K_PRESSURE_HOLD:
                if (!t->line_pressure)
                        t->line_pressure = line;
                pressure_key(s, line, key, fullkey, value, &t->pressure);
                break;
        case K_PRESSURE_EVICTABLE:
                if (value_bool(s, line, fullkey, value, &t->evictable))
                        t->has_evictable = true;
                break;
        }
}

/* As written when we have it, else formatted (tenant_policy_check() on a
 * policy built in memory). */
static const char *size_text(SizeSpec v, const char *raw, char *buf, size_t size) {
        if (raw)
                return raw;
        if (v.percent_bp != 0) {
                snprintf(buf, size, "%u.%02u%%", v.percent_bp / 100, v.percent_bp % 100);
                return buf;
        }
        return size_format(v.bytes, buf, size);
}

static bool spec_is_set(SizeSpec v) {
        return v.percent_bp != 0 || size_is_set(v.bytes);
}

/* Relations between values that are each valid; raw[] may be NULL. */
static void tenant_check_relations(const TenantPolicy *t, ErrSink *s, char *const *raw) {
        char buf[32], buf2[32];
        const char *rl = raw ? raw[K_MEMORY_LIMIT] : NULL;
        const char *rr = raw ? raw[K_MEMORY_REQUEST] : NULL;
        const char *rv = raw ? raw[K_VM_MEMORY] : NULL;
        const char *rc = raw ? raw[K_HUGE_COUNT] : NULL;

        /* percentages and bytes only compare once host memory is known: that
         * mix is the planner's to check */
        /* a VM's defaulted limit (or request) is vm.memory: the other one is
         * compared with vm.memory below, once */
        if (spec_is_set(t->request) && spec_is_set(t->limit) && t->limit.bytes != SIZE_INFINITY &&
            (t->request.percent_bp != 0) == (t->limit.percent_bp != 0) &&
            !(t->kind == TENANT_VM && (t->line_limit == 0 || t->line_request == 0))) {
                bool less = t->limit.percent_bp != 0 ? t->limit.percent_bp < t->request.percent_bp
                                                     : t->limit.bytes < t->request.bytes;
                if (less)
                        sink_error(s, t->line_limit, "memory.limit", size_text(t->limit, rl, buf, sizeof(buf)),
                                   EINVAL, "must be >= memory.request");
        }

        if (t->kind == TENANT_VM && size_is_set(t->vm_memory)) {
                if (t->request.percent_bp == 0 && size_is_set(t->request.bytes) &&
                    t->request.bytes > t->vm_memory && t->line_request)
                        sink_error(s, t->line_request, "memory.request",
                                   size_text(t->request, rr, buf, sizeof(buf)), EINVAL,
                                   "must be <= vm.memory");
                if (t->limit.percent_bp == 0 && size_is_set(t->limit.bytes) &&
                    t->limit.bytes < t->vm_memory && t->line_limit)
                        sink_error(s, t->line_limit, "memory.limit", size_text(t->limit, rl, buf, sizeof(buf)),
                                   EINVAL, "must be >= vm.memory");
        }

        /* a count is placed on the tenant's nodes: without [numa] it would pin nothing */
        if (!t->has_cpu_list && t->cpu_count > 0 && !t->has_nodes) {
                snprintf(buf, sizeof(buf), "%u", t->cpu_count);
                sink_error(s, t->line_cpus, "cpu.cpus", buf, EINVAL,
                           "a count of CPUs is placed on the tenant's NUMA nodes: add [numa] (nodes = auto lets "
                           "tenantd choose them), or pin CPUs with a list (cpus = %u-%u pins CPU %u)",
                           t->cpu_count, t->cpu_count, t->cpu_count);
        }

        if (t->huge_size != 0) {
                if (t->huge_count > SIZE_BYTES_MAX / t->huge_size) {
                        snprintf(buf, sizeof(buf), "%" PRIu64, t->huge_count);
                        sink_error(s, t->line_huge, "hugepages.count", rc ? rc : buf, ERANGE, "too large");
                } else if (t->kind == TENANT_VM && size_is_set(t->vm_memory)) {
                        /* guest RAM lives in the hugetlbfs backend as a whole */
                        uint64_t need = (t->vm_memory + t->huge_size - 1) / t->huge_size;

                        if (t->vm_memory % t->huge_size != 0)
                                sink_error(s, t->line_vm_memory, "vm.memory",
                                           rv ? rv : size_format(t->vm_memory, buf, sizeof(buf)), EINVAL,
                                           "must be a multiple of hugepages.size, %s",
                                           size_format(t->huge_size, buf2, sizeof(buf2)));
                        else if (t->huge_count < need) {
                                snprintf(buf, sizeof(buf), "%" PRIu64, t->huge_count);
                                sink_error(s, t->line_huge, "hugepages.count", rc ? rc : buf, EINVAL,
                                           "too few to back vm.memory, needs at least %" PRIu64, need);
                        }
                }
        }
}

int tenant_policy_check(const TenantPolicy *t, PolicyErrors *errs) {
        ErrSink s = { .file = t->file, .errs = errs };
        const char *problem;

        problem = tenant_id_problem(t->id);
        if (problem)
                sink_error(&s, t->line_id, "tenant.name", t->id, EINVAL, "invalid tenant id: %s", problem);
        if (t->class_name[0] == '\0')
                sink_error(&s, t->line, "tenant.class", NULL, EINVAL, "required key is missing");
        if (t->kind == TENANT_VM && !size_is_set(t->vm_memory))
                sink_error(&s, t->line_kind, "vm.memory", NULL, EINVAL, "a VM needs vm.memory");
        else if (!spec_is_set(t->request))
                sink_error(&s, t->line, "memory.request", NULL, EINVAL, "required key is missing");
        tenant_check_relations(t, &s, NULL);
        return s.n > 0 ? -EINVAL : 0;
}

/* Defaults that depend on other keys, and keys that need each other. */
static void tenant_finish(TenantParser *tp, const char *default_id) {
        TenantPolicy *t = tp->t;
        ErrSink *s = &tp->ini.sink;
        const unsigned *kl = tp->key_line, *sl = tp->section_line;
        const char *problem;

        t->line = sl[S_TENANT];

        if (!kl[K_TENANT_NAME]) {
                if (!default_id)
                        sink_error(s, t->line, "tenant.name", NULL, EINVAL, "required key is missing");
                else if ((problem = tenant_id_problem(default_id)))
                        sink_error(s, 0, "tenant.name", default_id, EINVAL,
                                   "invalid tenant id from the file name, set tenant.name: %s", problem);
                else {
                        snprintf(t->id, sizeof(t->id), "%s", default_id);
                        t->line_id = t->line;
                }
        }
        if (!kl[K_TENANT_CLASS])
                sink_error(s, t->line, "tenant.class", NULL, EINVAL, "required key is missing");

        if (!tp->kind_bad && t->kind != TENANT_VM && sl[S_VM])
                sink_error(s, sl[S_VM], "[vm]", NULL, EINVAL, "only valid with tenant.kind = vm");

        if (t->kind == TENANT_VM) {
                if (!kl[K_VM_MEMORY])
                        sink_error(s, sl[S_VM] ? sl[S_VM] : t->line_kind, "vm.memory", NULL, EINVAL,
                                   "a VM needs vm.memory");
                if (!kl[K_MEMORY_REQUEST] && size_is_set(t->vm_memory))
                        t->request = (SizeSpec) { .bytes = t->vm_memory };
                if (t->vm_vcpus == 0)
                        t->vm_vcpus = 1;
                if (!t->vm_qmp && t->id[0])
                        t->vm_qmp = strdup_printf("/run/tenantd/qmp/%s.sock", t->id);
        } else if (!kl[K_MEMORY_REQUEST] && !tp->kind_bad)
                sink_error(s, sl[S_MEMORY] ? sl[S_MEMORY] : t->line, "memory.request", NULL, EINVAL,
                           "required key is missing");

        if (!kl[K_MEMORY_LIMIT] && t->kind == TENANT_VM && size_is_set(t->vm_memory))
                /* not the request: a guest owns all of its RAM once it touched
                 * it, a lower request only lowers the guarantee */
                t->limit = (SizeSpec) { .bytes = t->vm_memory };
        else if (!kl[K_MEMORY_LIMIT] && spec_is_set(t->request)) {
                if (t->request.bytes == 0 && t->request.percent_bp == 0)
                        sink_error(s, t->line_request, "memory.limit", NULL, EINVAL,
                                   "required when memory.request is 0");
                else
                        t->limit = t->request;
        }

        if ((kl[K_VM_INITRD] || kl[K_VM_APPEND]) && !kl[K_VM_KERNEL])
                sink_error(s, kl[K_VM_INITRD] ? kl[K_VM_INITRD] : kl[K_VM_APPEND],
                           kl[K_VM_INITRD] ? "vm.initrd" : "vm.append", NULL, EINVAL, "needs vm.kernel");

        if (kl[K_HUGE_SIZE] && !kl[K_HUGE_COUNT])
                sink_error(s, sl[S_HUGEPAGES], "hugepages.count", NULL, EINVAL, "required key is missing");
        if (kl[K_HUGE_COUNT] && !kl[K_HUGE_SIZE])
                t->huge_size = HUGE_2M;
        if (t->huge_count == 0)
                t->huge_size = 0;

        if (sl[S_NUMA]) {
                t->has_nodes = true;
                if (!kl[K_NUMA_NODES])
                        t->nodes_auto = true;
        }

        tenant_check_relations(t, s, tp->raw);
}

int tenant_parse(const char *text, size_t len, const char *file, const char *default_id,
                 TenantPolicy *ret, PolicyErrors *errs) {
        TenantParser tp = {
                .ini = {
                        .sink = { .file = file, .errs = errs },
                        .on_section = tenant_section,
                        .on_assign = tenant_assign,
                },
                .t = ret,
        };
        int r;

        tp.ini.userdata = &tp;
        tenant_policy_init(ret);
        ret->file = strdup(file ? file : "<input>");
        if (!ret->file)
                return -ENOMEM;

        r = ini_run(&tp.ini, text, len);
        /* a refused or abandoned file would only add "missing" noise */
        if (r >= 0 && !tp.ini.sink.gave_up && !tp.ini.refused) {
                if (!tp.ini.any_content && tp.ini.sink.n == 0)
                        sink_error(&tp.ini.sink, 0, "", NULL, ENODATA, "empty policy");
                else
                        tenant_finish(&tp, default_id);
        }

        ini_parser_done(&tp.ini);
        for (size_t i = 0; i < _K_TENANT_MAX; i++)
                free(tp.raw[i]);
        if (r < 0)
                return r;
        return tp.ini.sink.n > 0 ? -EINVAL : 0;
}
