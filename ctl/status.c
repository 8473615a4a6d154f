/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * status: tenant rows from the kernel, printed and sent over D-Bus. See status.h.
 */
#include <inttypes.h>

#include "plan.h"
#include "policy.h"
#include "psi.h"
#include "status.h"

static uint64_t read_size(Cgfs *c, const char *path, const char *attr) {
        _cleanup_free_ char *raw = NULL;
        uint64_t v;

        if (cgfs_read(c, path, attr, &raw) < 0)
                return SIZE_UNSET;
        if (streq(raw, "max"))
                return SIZE_INFINITY;
        return cgfs_read_u64(c, path, attr, &v) < 0 ? SIZE_UNSET : v;
}

static bool is_frozen(Cgfs *c, const char *path) {
        _cleanup_free_ char *ev = NULL;

        return cgfs_read(c, path, "cgroup.events", &ev) >= 0 && strstr(ev, "frozen 1");
}

int tenant_row_read(Cgfs *c, const char *path, TenantRow *row) {
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *pressure = NULL;
        size_t np = 0;

        if (!row->path && !(row->path = strdup(path)))
                return -ENOMEM;
        row->current = row->min = row->low = row->high = row->max = row->swap_current = SIZE_UNSET;
        if (!cgfs_exists(c, path)) {
                free(row->state);
                row->state = strdup("missing");
                return row->state ? 0 : -ENOMEM;
        }
        row->current = read_size(c, path, "memory.current");
        row->min = read_size(c, path, "memory.min");
        row->low = read_size(c, path, "memory.low");
        row->high = read_size(c, path, "memory.high");
        row->max = read_size(c, path, "memory.max");
        row->swap_current = read_size(c, path, "memory.swap.current");
        (void) cgfs_read(c, path, "cpuset.cpus", &row->cpus);
        (void) cgfs_read(c, path, "cpuset.mems", &row->mems);
        if (cgfs_pids(c, path, &pids, &np) >= 0)
                row->nprocs = np;
        if (cgfs_read(c, path, "memory.pressure", &pressure) >= 0) {
                PsiStats st;

                if (psi_parse_avg(pressure, strlen(pressure), &st) >= 0) {
                        row->some_avg10 = st.some.avg10;
                        row->full_avg10 = st.full.avg10;
                }
        }
        if (!row->state || streq(row->state, "missing")) {
                free(row->state);
                row->state = strdup(is_frozen(c, path) ? "frozen" : np > 0 ? "running" : "empty");
        }
        return row->state ? 0 : -ENOMEM;
}

TenantRow *tenant_rows_add(TenantRows *r) {
        TenantRow *v = realloc(r->v, (r->n + 1) * sizeof(TenantRow));

        if (!v)
                return NULL;
        r->v = v;
        v[r->n] = (TenantRow) {0};
        return &v[r->n++];
}

const TenantRow *tenant_rows_find(const TenantRows *r, const char *id) {
        for (size_t i = 0; i < r->n; i++)
                if (streq_ptr(r->v[i].id, id))
                        return &r->v[i];
        return NULL;
}

/* "tenants-normal.slice" -> "normal" */
static char *class_of_slice(const char *slice) {
        size_t l = strlen(slice);

        if (strncmp(slice, "tenants-", 8) != 0 || l < 8 + 6 || !streq(slice + l - 6, ".slice"))
                return NULL;
        return strndup(slice + 8, l - 8 - 6);
}

int tenant_rows_from_tree(Cgfs *c, TenantRows *ret) {
        _cleanup_(strv_freep) char **slices = NULL;
        int r;

        *ret = (TenantRows) {0};
        r = cgfs_children(c, "tenants.slice", &slices);
        if (r < 0)
                return r;
        for (size_t i = 0; slices[i]; i++) {
                _cleanup_(strv_freep) char **leaves = NULL;
                _cleanup_free_ char *klass = class_of_slice(slices[i]);
                _cleanup_free_ char *sp = strdup_printf("tenants.slice/%s", slices[i]);

                if (!klass || !sp || cgfs_children(c, sp, &leaves) < 0)
                        continue;
                for (size_t j = 0; leaves[j]; j++) {
                        _cleanup_free_ char *path = strdup_printf("%s/%s", sp, leaves[j]);
                        char *id = tenant_id_from_unit(leaves[j]);
                        TenantRow *row;

                        if (!id || !path) {
                                free(id);
                                continue;
                        }
                        row = tenant_rows_add(ret);
                        if (!row) {
                                free(id);
                                return -ENOMEM;
                        }
                        row->id = id;
                        row->klass = strdup(klass);
                        row->kind = strdup("-");
                        row->unit = strdup(leaves[j]);
                        row->step = strdup("");
                        r = tenant_row_read(c, path, row);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static const char *fmt_size(uint64_t v, char *buf, size_t size) {
        if (v == SIZE_UNSET)
                return "-";
        if (v == SIZE_INFINITY)
                return "max";
        return size_format(v, buf, size);
}

static const char *fmt_pct(uint32_t bp, char *buf, size_t size) {
        snprintf(buf, size, "%u.%02u%%", bp / 100, bp % 100);
        return buf;
}

void tenant_rows_print(const TenantRows *r, FILE *f) {
        fprintf(f, "%-16s %-10s %-9s %-8s %8s %8s %8s %8s %8s %5s %7s %-8s %s\n", "TENANT", "CLASS", "KIND",
                "STATE", "CURRENT", "MIN", "LOW", "HIGH", "MAX", "PROCS", "PSI10", "CPUS", "STEP");
        for (size_t i = 0; i < r->n; i++) {
                const TenantRow *w = &r->v[i];
                char b[6][32];

                fprintf(f, "%-16s %-10s %-9s %-8s %8s %8s %8s %8s %8s %5" PRIu64 " %7s %-8s %s\n", w->id,
                        w->klass ? w->klass : "-", w->kind ? w->kind : "-", w->state ? w->state : "-",
                        fmt_size(w->current, b[0], 32), fmt_size(w->min, b[1], 32), fmt_size(w->low, b[2], 32),
                        fmt_size(w->high, b[3], 32), fmt_size(w->max, b[4], 32), w->nprocs,
                        fmt_pct(w->some_avg10, b[5], 32), w->cpus && w->cpus[0] ? w->cpus : "-",
                        w->step && w->step[0] ? w->step : "-");
        }
}

void tenant_row_print_long(const TenantRow *w, FILE *f) {
        char b[8][32];

        fprintf(f, "%s (%s, class %s)\n", w->id, w->kind ? w->kind : "-", w->klass ? w->klass : "-");
        fprintf(f, "  unit:      %s\n", w->unit ? w->unit : "-");
        fprintf(f, "  cgroup:    %s\n", w->path ? w->path : "-");
        fprintf(f, "  state:     %s, %" PRIu64 " process%s\n", w->state ? w->state : "-", w->nprocs,
                w->nprocs == 1 ? "" : "es");
        fprintf(f, "  memory:    current %s, min %s, low %s, high %s, max %s, swap %s\n",
                fmt_size(w->current, b[0], 32), fmt_size(w->min, b[1], 32), fmt_size(w->low, b[2], 32),
                fmt_size(w->high, b[3], 32), fmt_size(w->max, b[4], 32), fmt_size(w->swap_current, b[5], 32));
        fprintf(f, "  pressure:  some avg10 %s, full avg10 %s\n", fmt_pct(w->some_avg10, b[6], 32),
                fmt_pct(w->full_avg10, b[7], 32));
        fprintf(f, "  placement: cpus %s, mems %s\n", w->cpus && w->cpus[0] ? w->cpus : "all",
                w->mems && w->mems[0] ? w->mems : "all");
        fprintf(f, "  reaction:  %s\n", w->step && w->step[0] ? w->step : "none");
}

static json_object *size_json(uint64_t v) {
        if (v == SIZE_UNSET)
                return NULL;
        if (v == SIZE_INFINITY)
                return json_object_new_string("max");
        return json_object_new_uint64(v);
}

json_object *tenant_row_json(const TenantRow *w) {
        json_object *o = json_object_new_object();
        const struct {
                const char *key;
                const char *v;
        } strs[] = {
                { "id", w->id },         { "class", w->klass }, { "kind", w->kind }, { "unit", w->unit },
                { "cgroup", w->path },   { "state", w->state }, { "step", w->step }, { "cpus", w->cpus },
                { "mems", w->mems },
        };
        const struct {
                const char *key;
                uint64_t v;
        } sizes[] = {
                { "memory.current", w->current }, { "memory.min", w->min }, { "memory.low", w->low },
                { "memory.high", w->high },       { "memory.max", w->max }, { "memory.swap.current", w->swap_current },
        };

        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                json_object_object_add(o, strs[i].key, strs[i].v ? json_object_new_string(strs[i].v) : NULL);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                json_object_object_add(o, sizes[i].key, size_json(sizes[i].v));
        json_object_object_add(o, "processes", json_object_new_uint64(w->nprocs));
        json_object_object_add(o, "pressure.some.avg10", json_object_new_double(w->some_avg10 / 100.0));
        json_object_object_add(o, "pressure.full.avg10", json_object_new_double(w->full_avg10 / 100.0));
        return o;
}

#define S(x) ((x) ? (x) : "")

int tenant_row_append(sd_bus_message *m, const TenantRow *w) {
        return sd_bus_message_append(m, TENANT_ROW_SIG, S(w->id), S(w->klass), S(w->kind), S(w->unit),
                                     S(w->path), S(w->state), S(w->step), S(w->cpus), S(w->mems), w->current,
                                     w->min, w->low, w->high, w->max, w->swap_current, (uint32_t) w->nprocs,
                                     w->some_avg10, w->full_avg10);
}

int tenant_row_read_message(sd_bus_message *m, TenantRow *w) {
        const char *s[9];
        uint32_t np;
        int r;

        r = sd_bus_message_read(m, TENANT_ROW_SIG, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7], &s[8],
                                &w->current, &w->min, &w->low, &w->high, &w->max, &w->swap_current, &np,
                                &w->some_avg10, &w->full_avg10);
        if (r <= 0)
                return r;
        w->nprocs = np;
        w->id = strdup(s[0]);
        w->klass = strdup(s[1]);
        w->kind = strdup(s[2]);
        w->unit = strdup(s[3]);
        w->path = strdup(s[4]);
        w->state = strdup(s[5]);
        w->step = strdup(s[6]);
        w->cpus = strdup(s[7]);
        w->mems = strdup(s[8]);
        return 1;
}

void tenant_row_done(TenantRow *w) {
        free(w->id);
        free(w->klass);
        free(w->kind);
        free(w->unit);
        free(w->path);
        free(w->state);
        free(w->step);
        free(w->cpus);
        free(w->mems);
        *w = (TenantRow) {0};
}

void tenant_rows_done(TenantRows *r) {
        for (size_t i = 0; i < r->n; i++)
                tenant_row_done(&r->v[i]);
        free(r->v);
        *r = (TenantRows) {0};
}
