/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan-print: `tenantctl plan` output. A table for people (sizes rounded to one
 * decimal, tree order) and JSON for scripts (exact bytes). No decisions here.
 *
 * JSON shape:
 *   { "capacity": N, "guaranteed": N, "limits": N, "limit_capacity": N,
 *     "overcommit": 1.5,
 *     "nodes": [ { "unit", "path", "type": "root"|"class"|"tenant", "parent": path|null,
 *                  "class": name|null, "tenant": id|null,
 *                  "memory_min", "memory_low", "memory_high", "memory_max",
 *                  "swap_max", "zswap_max":   bytes | "max" | null (not managed),
 *                  "cpu_weight": N|null, "cpus": "0-3"|null, "mems": "1"|null,
 *                  "hugetlb": [ { "page_size", "max", "rsvd_max" } ],
 *                  tenants only: "vm_overhead", "guarantee", "placement" } ],
 *     "pools": [ { "node", "page_size", "pages", "bytes" } ] }
 */
#include <inttypes.h>
#include <json-c/json.h>

#include "plan-internal.h"

/* ---- table ------------------------------------------------------------------- */

/* "1.5", "2", "1.25" */
static void ratio_str(uint32_t bp, char *buf, size_t size) {
        if (bp % 10000 == 0)
                snprintf(buf, size, "%u", bp / 10000);
        else if (bp % 1000 == 0)
                snprintf(buf, size, "%u.%u", bp / 10000, bp % 10000 / 1000);
        else
                snprintf(buf, size, "%u.%02u", bp / 10000, bp % 10000 / 100);
}

enum {
        COL_UNIT,
        COL_CLASS,
        COL_MIN,
        COL_LOW,
        COL_HIGH,
        COL_MAX,
        COL_SWAP,
        COL_WEIGHT,
        COL_CPUS,
        COL_MEMS,
        COL_HUGE,
        COL_PLACEMENT,
        N_COLS,
};

static const char *const headers[N_COLS] = {
        "UNIT", "CLASS", "MIN", "LOW", "HIGH", "MAX", "SWAP", "WEIGHT", "CPUS", "MEMS", "HUGE", "PLACEMENT",
};

typedef char *Row[N_COLS];

static void row_free(Row row) {
        for (int i = 0; i < N_COLS; i++)
                free(row[i]);
}

static char *huge_str(const PlanNode *n) {
        char *s = NULL;

        for (int i = 0; i < HUGE_SIZES_MAX; i++) {
                const PlanHugetlb *h = &n->hugetlb[i];
                char b[SIZE_STR_MAX];
                char *next;

                if (h->page_size == 0 || h->max == 0 || h->max == SIZE_INFINITY || h->max == SIZE_UNSET)
                        continue;
                next = strdup_printf("%s%s%" PRIu64 "x%s", s ? s : "", s ? "," : "", h->max / h->page_size,
                                     plan_size_str(h->page_size, b));
                free(s);
                s = next;
                if (!s)
                        return NULL;
        }
        return s ? s : strdup("-");
}

static int row_fill(Row row, const PlanNode *n, unsigned depth) {
        char b[CPUSET_MAX * 4];

        row[COL_UNIT] = strdup_printf("%*s%s", (int) depth * 2, "", n->unit);
        row[COL_CLASS] = strdup(n->klass ? n->klass->name : "-");
        row[COL_MIN] = strdup(plan_size_human(n->memory_min, b));
        row[COL_LOW] = strdup(plan_size_human(n->memory_low, b));
        row[COL_HIGH] = strdup(plan_size_human(n->memory_high, b));
        row[COL_MAX] = strdup(plan_size_human(n->memory_max, b));
        row[COL_SWAP] = strdup(plan_size_human(n->swap_max, b));
        if (n->cpu_weight)
                row[COL_WEIGHT] = strdup_printf("%u", n->cpu_weight);
        else
                row[COL_WEIGHT] = strdup("-");
        row[COL_CPUS] = strdup(cpuset_is_empty(&n->cpus) ? "-" : cpulist_format(&n->cpus, b, sizeof(b)));
        row[COL_MEMS] = strdup(n->mems.bits == 0 ? "-" : nodelist_format(&n->mems, b, sizeof(b)));
        row[COL_HUGE] = huge_str(n);
        row[COL_PLACEMENT] = strdup(n->placement ? n->placement : "");
        for (int i = 0; i < N_COLS; i++)
                if (!row[i])
                        return -ENOMEM;
        return 0;
}

/* Columns padded to width, two spaces apart, no trailing blanks. */
static void print_row(FILE *f, const char *const *cells, const size_t *width) {
        size_t pending = 0;

        for (int col = 0; col < N_COLS; col++) {
                size_t len = strlen(cells[col]);

                if (len > 0) {
                        fprintf(f, "%*s%s", (int) pending, "", cells[col]);
                        pending = 0;
                }
                pending += width[col] - len + 2;
        }
        fputc('\n', f);
}

void plan_print_table(const Plan *p, const PolicySet *s, FILE *f) {
        _cleanup_free_ Row *rows = NULL;
        size_t n_rows = 0, width[N_COLS];
        char a[SIZE_STR_MAX], b[SIZE_STR_MAX], c[SIZE_STR_MAX], d[SIZE_STR_MAX], r[16];

        rows = calloc(p->n_nodes > 0 ? p->n_nodes : 1, sizeof(Row));
        if (!rows) {
                fputs("out of memory\n", f);
                return;
        }

        /* Tree order: each class slice followed by its tenants. */
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];

                if (n->type == PLAN_TENANT)
                        continue;
                if (row_fill(rows[n_rows++], n, n->type == PLAN_ROOT_SLICE ? 0 : 1) < 0)
                        goto oom;
                for (size_t j = 0; j < p->n_nodes; j++)
                        if (p->nodes[j].type == PLAN_TENANT && p->nodes[j].parent == (int) i &&
                            row_fill(rows[n_rows++], &p->nodes[j], 2) < 0)
                                goto oom;
        }

        for (int col = 0; col < N_COLS; col++) {
                width[col] = strlen(headers[col]);
                for (size_t i = 0; i < n_rows; i++)
                        if (strlen(rows[i][col]) > width[col])
                                width[col] = strlen(rows[i][col]);
        }
        print_row(f, headers, width);
        for (size_t i = 0; i < n_rows; i++)
                print_row(f, (const char *const *) rows[i], width);

        fputc('\n', f);
        if (p->n_pools == 0)
                fputs("hugepage pools: none\n", f);
        else {
                fputs("hugepage pools:\n", f);
                for (size_t i = 0; i < p->n_pools; i++) {
                        const PlanPool *pool = &p->pools[i];

                        fprintf(f, "  node %u  %s pages  %" PRIu64 " (%s)\n", pool->node,
                                plan_size_str(pool->page_size, a), pool->pages,
                                plan_size_human(pool->pages * pool->page_size, b));
                }
        }

        ratio_str(s->config.overcommit_bp != 0 ? s->config.overcommit_bp : 10000, r, sizeof(r));
        fprintf(f, "guaranteed %s of %s capacity; limits %s of %s (overcommit %s)\n", plan_size_human(p->guaranteed, a),
                plan_size_human(p->capacity, b), plan_size_human(p->limits, c),
                plan_size_human(p->limit_capacity, d), r);

        for (size_t i = 0; i < n_rows; i++)
                row_free(rows[i]);
        return;
oom:
        for (size_t i = 0; i < n_rows; i++)
                row_free(rows[i]);
        fputs("out of memory\n", f);
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_put(json_object *o, const char *key, json_object *v) {
        json_object_object_add(o, key, v);
}

/* bytes, "max", or null for "not managed" */
static json_object *json_size(uint64_t v) {
        if (v == SIZE_INFINITY)
                return json_object_new_string("max");
        if (v == SIZE_UNSET)
                return NULL;
        return json_object_new_uint64(v);
}

static json_object *json_str_or_null(const char *s) {
        return s && *s ? json_object_new_string(s) : NULL;
}

static const char *type_str(PlanNodeType t) {
        switch (t) {
        case PLAN_ROOT_SLICE:
                return "root";
        case PLAN_CLASS_SLICE:
                return "class";
        case PLAN_TENANT:
        default:
                return "tenant";
        }
}

json_object *plan_node_json(const Plan *p, const PolicySet *s, const PlanNode *n) {
        json_object *o = json_object_new_object(), *huge = json_object_new_array();
        char b[CPUSET_MAX * 4];

        if (!o || !huge) {
                json_object_put(o);
                json_object_put(huge);
                return NULL;
        }
        json_put(o, "unit", json_object_new_string(n->unit));
        json_put(o, "path", json_object_new_string(n->path));
        json_put(o, "type", json_object_new_string(type_str(n->type)));
        json_put(o, "parent", n->parent >= 0 ? json_object_new_string(p->nodes[n->parent].path) : NULL);
        json_put(o, "class", n->klass ? json_object_new_string(n->klass->name) : NULL);
        json_put(o, "tenant", n->tenant >= 0 ? json_object_new_string(s->tenants[n->tenant].id) : NULL);
        json_put(o, "memory_min", json_size(n->memory_min));
        json_put(o, "memory_low", json_size(n->memory_low));
        json_put(o, "memory_high", json_size(n->memory_high));
        json_put(o, "memory_max", json_size(n->memory_max));
        json_put(o, "swap_max", json_size(n->swap_max));
        json_put(o, "zswap_max", json_size(n->zswap_max));
        json_put(o, "cpu_weight", n->cpu_weight ? json_object_new_int64(n->cpu_weight) : NULL);
        json_put(o, "cpus", json_str_or_null(cpulist_format(&n->cpus, b, sizeof(b))));
        json_put(o, "mems", json_str_or_null(nodelist_format(&n->mems, b, sizeof(b))));
        for (int i = 0; i < HUGE_SIZES_MAX; i++) {
                json_object *h;

                if (n->hugetlb[i].page_size == 0)
                        continue;
                h = json_object_new_object();
                if (!h)
                        break;
                json_put(h, "page_size", json_object_new_uint64(n->hugetlb[i].page_size));
                json_put(h, "max", json_size(n->hugetlb[i].max));
                json_put(h, "rsvd_max", json_size(n->hugetlb[i].rsvd_max));
                json_object_array_add(huge, h);
        }
        json_put(o, "hugetlb", huge);
        if (n->type == PLAN_TENANT) {
                json_put(o, "vm_overhead", json_object_new_uint64(n->vm_overhead));
                json_put(o, "guarantee", json_object_new_uint64(n->guarantee));
                json_put(o, "placement", json_str_or_null(n->placement));
        }
        return o;
}

int plan_print_json(const Plan *p, const PolicySet *s, FILE *f) {
        json_object *root = json_object_new_object(), *nodes = json_object_new_array(),
                    *pools = json_object_new_array();
        uint32_t overcommit_bp = s->config.overcommit_bp != 0 ? s->config.overcommit_bp : 10000;
        const char *text;
        int r = 0;

        if (!root || !nodes || !pools) {
                json_object_put(root);
                json_object_put(nodes);
                json_object_put(pools);
                return -ENOMEM;
        }
        json_put(root, "capacity", json_object_new_uint64(p->capacity));
        json_put(root, "guaranteed", json_object_new_uint64(p->guaranteed));
        json_put(root, "limits", json_object_new_uint64(p->limits));
        json_put(root, "limit_capacity", json_object_new_uint64(p->limit_capacity));
        json_put(root, "overcommit", json_object_new_double(overcommit_bp / 10000.0));

        for (size_t i = 0; i < p->n_nodes; i++) {
                json_object *o = plan_node_json(p, s, &p->nodes[i]);

                if (!o) {
                        r = -ENOMEM;
                        goto finish;
                }
                json_object_array_add(nodes, o);
        }
        json_put(root, "nodes", nodes);
        nodes = NULL;

        for (size_t i = 0; i < p->n_pools; i++) {
                json_object *o = json_object_new_object();

                if (!o) {
                        r = -ENOMEM;
                        goto finish;
                }
                json_put(o, "node", json_object_new_uint64(p->pools[i].node));
                json_put(o, "page_size", json_object_new_uint64(p->pools[i].page_size));
                json_put(o, "pages", json_object_new_uint64(p->pools[i].pages));
                json_put(o, "bytes", json_object_new_uint64(p->pools[i].pages * p->pools[i].page_size));
                json_object_array_add(pools, o);
        }
        json_put(root, "pools", pools);
        pools = NULL;

        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text) {
                r = -ENOMEM;
                goto finish;
        }
        if (fputs(text, f) < 0 || fputc('\n', f) == EOF || fflush(f) != 0)
                r = -EIO;

finish:
        json_object_put(nodes);
        json_object_put(pools);
        json_object_put(root);
        return r;
}
