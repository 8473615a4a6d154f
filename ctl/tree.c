/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <json-c/json.h>

#include "policy.h"
#include "tree.h"

static const char *const tree_attrs[] = {
        "memory.min", "memory.low", "memory.high", "memory.max", "memory.current",
};

/* "268435456" -> "256M"; leaves "max" and unparsable text as they are */
static void human(const char *raw, char *buf, size_t size) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(raw, &end, 10);
        if (errno != 0 || end == raw || *end != '\0') {
                snprintf(buf, size, "%s", raw);
                return;
        }
        size_format(v, buf, size);
}

/* Pad to `width` columns: the tree glyphs are multi-byte UTF-8, one column each. */
static void label_print(FILE *f, const char *label, size_t width) {
        size_t cols = 0;

        for (const char *p = label; *p; p++)
                if (((unsigned char) *p & 0xC0) != 0x80)
                        cols++;
        fputs(label, f);
        for (; cols < width; cols++)
                fputc(' ', f);
}

static void print_node(Cgfs *c, const char *path, const char *name, const char *prefix, bool last, bool top,
                       FILE *f) {
        _cleanup_(strv_freep) char **kids = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *cpus = NULL, *mems = NULL, *label = NULL, *subprefix = NULL;
        size_t np = 0;
        char vals[256] = "";

        for (size_t i = 0; i < ELEMENTSOF(tree_attrs); i++) {
                _cleanup_free_ char *raw = NULL;
                char h[32];
                size_t off = strlen(vals);
                const char *key = tree_attrs[i] + strlen("memory.");

                if (cgfs_read(c, path, tree_attrs[i], &raw) < 0)
                        continue;
                human(raw, h, sizeof(h));
                snprintf(vals + off, sizeof(vals) - off, "%s%s=%s", off ? " " : "", key, h);
        }
        if (cgfs_read(c, path, "cpuset.cpus", &cpus) >= 0 && cpus[0]) {
                size_t off = strlen(vals);
                snprintf(vals + off, sizeof(vals) - off, " cpus=%s", cpus);
        }
        if (cgfs_read(c, path, "cpuset.mems", &mems) >= 0 && mems[0]) {
                size_t off = strlen(vals);
                snprintf(vals + off, sizeof(vals) - off, " mems=%s", mems);
        }
        if (cgfs_pids(c, path, &pids, &np) >= 0 && np > 0) {
                size_t off = strlen(vals);
                snprintf(vals + off, sizeof(vals) - off, " procs=%zu", np);
        }

        label = top ? strdup(name) : strdup_printf("%s%s%s", prefix, last ? "└─" : "├─", name);
        label_print(f, label ? label : name, 48);
        fprintf(f, " %s\n", vals);

        subprefix = top ? strdup("") : strdup_printf("%s%s", prefix, last ? "  " : "│ ");
        if (cgfs_children(c, path, &kids) < 0)
                return;
        for (size_t i = 0; kids[i]; i++) {
                _cleanup_free_ char *child = strdup_printf("%s/%s", path, kids[i]);
                if (child)
                        print_node(c, child, kids[i], subprefix ? subprefix : "", kids[i + 1] == NULL, false, f);
        }
}

int tree_print(Cgfs *c, const char *top, FILE *f) {
        if (!cgfs_exists(c, top))
                return -ENOENT;
        print_node(c, top, top, "", true, true, f);
        return 0;
}

static json_object *node_json(Cgfs *c, const char *path, const char *name) {
        _cleanup_(strv_freep) char **kids = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t np = 0;
        json_object *o = json_object_new_object(), *children = json_object_new_array();
        static const char *const extra[] = { "cpuset.cpus", "cpuset.mems" };

        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "path", json_object_new_string(path));
        for (size_t i = 0; i < ELEMENTSOF(tree_attrs); i++) {
                _cleanup_free_ char *raw = NULL;
                char *end;
                unsigned long long v;

                if (cgfs_read(c, path, tree_attrs[i], &raw) < 0)
                        continue;
                errno = 0;
                v = strtoull(raw, &end, 10);
                if (errno == 0 && end != raw && *end == '\0')
                        json_object_object_add(o, tree_attrs[i], json_object_new_uint64(v));
                else
                        json_object_object_add(o, tree_attrs[i], json_object_new_string(raw));
        }
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                _cleanup_free_ char *raw = NULL;
                if (cgfs_read(c, path, extra[i], &raw) >= 0)
                        json_object_object_add(o, extra[i], json_object_new_string(raw));
        }
        if (cgfs_pids(c, path, &pids, &np) >= 0) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < np; i++)
                        json_object_array_add(a, json_object_new_int(pids[i]));
                json_object_object_add(o, "pids", a);
        }
        if (cgfs_children(c, path, &kids) >= 0)
                for (size_t i = 0; kids[i]; i++) {
                        _cleanup_free_ char *child = strdup_printf("%s/%s", path, kids[i]);
                        if (child)
                                json_object_array_add(children, node_json(c, child, kids[i]));
                }
        json_object_object_add(o, "children", children);
        return o;
}

int tree_print_json(Cgfs *c, const char *top, FILE *f) {
        json_object *o;

        if (!cgfs_exists(c, top))
                return -ENOENT;
        o = node_json(c, top, top);
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return 0;
}
