/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * topology: the host snapshot the planner works on (see topology.h).
 *
 * Two sources with the same result type:
 *  - topology_parse(): a fixture INI, no I/O, so placement can be tested on
 *    machines we do not have (1..8 nodes, asymmetric sizes, odd distances);
 *  - topology_read(): the running kernel. libnuma for nodes, CPUs, sizes and
 *    SLIT distances (it always reads the real /sys), sysfs under sysfs_root for
 *    hugepage pools, /proc/meminfo for MemTotal, and a probe of cgroup_root for
 *    swap accounting.
 * Does not own: any decision about what to do with the numbers (plan.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <numa.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "policy.h"
#include "topology.h"

int topology_huge_index(const HostTopology *t, uint64_t size) {
        if (size == 0)
                return -ENOENT;
        for (int i = 0; i < HUGE_SIZES_MAX; i++)
                if (t->huge_sizes[i] == size)
                        return i;
        return -ENOENT;
}

const HostNode *topology_node(const HostTopology *t, unsigned id) {
        for (unsigned i = 0; i < t->n_nodes; i++)
                if (t->nodes[i].id == id)
                        return &t->nodes[i];
        return NULL;
}

static bool is_power_of_two(uint64_t v) {
        return v != 0 && (v & (v - 1)) == 0;
}

/* Sort ascending and drop zeros, so huge_sizes[] is stable across sources. */
static void huge_sizes_normalize(uint64_t sizes[static HUGE_SIZES_MAX]) {
        for (int i = 0; i < HUGE_SIZES_MAX; i++)
                for (int j = i + 1; j < HUGE_SIZES_MAX; j++)
                        if ((sizes[i] == 0 && sizes[j] != 0) ||
                            (sizes[j] != 0 && sizes[j] < sizes[i])) {
                                uint64_t tmp = sizes[i];
                                sizes[i] = sizes[j];
                                sizes[j] = tmp;
                        }
}

/* ---- fixture parser ------------------------------------------------------ */

#define FIXTURE_HUGE_MAX 4   /* hugepages_<size> keys remembered per node before mapping */

typedef struct FixtureHuge {
        uint64_t size;
        uint64_t total;
        uint64_t free;
        bool has_total, has_free;
} FixtureHuge;

typedef struct FixtureNode {
        bool present;
        bool has_memory;
        uint64_t memory;
        CpuSet cpus;
        unsigned distances[NODESET_MAX];
        unsigned n_distances;
        bool has_distances;
        FixtureHuge huge[FIXTURE_HUGE_MAX];
        unsigned n_huge;
} FixtureNode;

typedef struct FixtureParse {
        uint64_t memory;
        uint64_t page_size;
        uint64_t huge_sizes[HUGE_SIZES_MAX];
        bool has_huge_sizes;
        bool swap_accounting, zswap_accounting;
        FixtureNode nodes[NODESET_MAX];
        char *error;   /* first error only; inih reports its line */
} FixtureParse;

static int fixture_fail(FixtureParse *p, const char *fmt, ...) _printf_(2, 3);
static int fixture_fail(FixtureParse *p, const char *fmt, ...) {
        va_list ap;

        if (p->error)
                return 0;
        va_start(ap, fmt);
        if (vasprintf(&p->error, fmt, ap) < 0)
                p->error = NULL;
        va_end(ap);
        return 0;
}

static int parse_bool(const char *v, bool *ret) {
        if (streq(v, "yes") || streq(v, "true") || streq(v, "on") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "no") || streq(v, "false") || streq(v, "off") || streq(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static int parse_bytes(const char *v, uint64_t *ret) {
        SizeSpec s;

        if (size_parse(v, false, &s) < 0 || s.bytes == SIZE_INFINITY || s.bytes == SIZE_UNSET)
                return -EINVAL;
        *ret = s.bytes;
        return 0;
}

static int parse_uint(const char *v, uint64_t *ret) {
        char *end;
        unsigned long long u;

        if (*v < '0' || *v > '9')
                return -EINVAL;
        errno = 0;
        u = strtoull(v, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = u;
        return 0;
}

static FixtureHuge *fixture_huge(FixtureNode *n, uint64_t size) {
        for (unsigned i = 0; i < n->n_huge; i++)
                if (n->huge[i].size == size)
                        return &n->huge[i];
        if (n->n_huge >= FIXTURE_HUGE_MAX)
                return NULL;
        n->huge[n->n_huge] = (FixtureHuge) { .size = size };
        return &n->huge[n->n_huge++];
}

static int fixture_host_key(FixtureParse *p, const char *name, const char *value) {
        if (streq(name, "memory")) {
                if (parse_bytes(value, &p->memory) < 0)
                        return fixture_fail(p, "[host] memory: invalid size '%s'", value);
        } else if (streq(name, "page_size")) {
                if (parse_bytes(value, &p->page_size) < 0 || !is_power_of_two(p->page_size))
                        return fixture_fail(p, "[host] page_size: not a power of two '%s'", value);
        } else if (streq(name, "hugepage_sizes")) {
                _cleanup_free_ char *copy = strdup(value);
                char *save = NULL;
                unsigned n = 0;

                if (!copy)
                        return fixture_fail(p, "out of memory");
                memset(p->huge_sizes, 0, sizeof(p->huge_sizes));
                for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
                        uint64_t sz;

                        if (parse_bytes(tok, &sz) < 0 || !is_power_of_two(sz))
                                return fixture_fail(p, "[host] hugepage_sizes: invalid size '%s'", tok);
                        if (n >= HUGE_SIZES_MAX)
                                return fixture_fail(p, "[host] hugepage_sizes: more than %d sizes",
                                                    HUGE_SIZES_MAX);
                        p->huge_sizes[n++] = sz;
                }
                p->has_huge_sizes = true;
        } else if (streq(name, "swap_accounting")) {
                if (parse_bool(value, &p->swap_accounting) < 0)
                        return fixture_fail(p, "[host] swap_accounting: not a boolean '%s'", value);
        } else if (streq(name, "zswap_accounting")) {
                if (parse_bool(value, &p->zswap_accounting) < 0)
                        return fixture_fail(p, "[host] zswap_accounting: not a boolean '%s'", value);
        } else
                return fixture_fail(p, "[host] unknown key '%s'", name);
        return 1;
}

static int fixture_node_key(FixtureParse *p, unsigned id, const char *name, const char *value) {
        FixtureNode *n = &p->nodes[id];

        n->present = true;
        if (streq(name, "memory")) {
                if (parse_bytes(value, &n->memory) < 0)
                        return fixture_fail(p, "[node%u] memory: invalid size '%s'", id, value);
                n->has_memory = true;
        } else if (streq(name, "cpus")) {
                if (cpulist_parse(value, &n->cpus) < 0)
                        return fixture_fail(p, "[node%u] cpus: invalid cpu list '%s'", id, value);
        } else if (streq(name, "distances")) {
                _cleanup_free_ char *copy = strdup(value);
                char *save = NULL;

                if (!copy)
                        return fixture_fail(p, "out of memory");
                n->n_distances = 0;
                for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
                        uint64_t d;

                        if (parse_uint(tok, &d) < 0 || d == 0 || d > 255)
                                return fixture_fail(p, "[node%u] distances: invalid distance '%s'", id, tok);
                        if (n->n_distances >= NODESET_MAX)
                                return fixture_fail(p, "[node%u] distances: too many values", id);
                        n->distances[n->n_distances++] = (unsigned) d;
                }
                n->has_distances = true;
        } else if (strncmp(name, "hugepages_", 10) == 0) {
                /* hugepages_2M = total pages, hugepages_2M_free = free pages (default: total) */
                _cleanup_free_ char *sz = strdup(name + 10);
                bool is_free = false;
                uint64_t size, count;
                FixtureHuge *h;
                char *suffix;

                if (!sz)
                        return fixture_fail(p, "out of memory");
                suffix = strchr(sz, '_');
                if (suffix) {
                        if (!streq(suffix, "_free"))
                                return fixture_fail(p, "[node%u] unknown key '%s'", id, name);
                        *suffix = '\0';
                        is_free = true;
                }
                if (parse_bytes(sz, &size) < 0 || !is_power_of_two(size))
                        return fixture_fail(p, "[node%u] %s: invalid hugepage size '%s'", id, name, sz);
                if (parse_uint(value, &count) < 0)
                        return fixture_fail(p, "[node%u] %s: invalid page count '%s'", id, name, value);
                h = fixture_huge(n, size);
                if (!h)
                        return fixture_fail(p, "[node%u] %s: too many hugepage sizes", id, name);
                if (is_free) {
                        h->free = count;
                        h->has_free = true;
                } else {
                        h->total = count;
                        h->has_total = true;
                }
        } else
                return fixture_fail(p, "[node%u] unknown key '%s'", id, name);
        return 1;
}

static int fixture_handler(void *user, const char *section, const char *name, const char *value) {
        FixtureParse *p = user;

        if (p->error)
                return 1;   /* keep only the first error; inih returns its line */
        if (streq(section, "host"))
                return fixture_host_key(p, name, value);
        if (strncmp(section, "node", 4) == 0) {
                uint64_t id;

                if (parse_uint(section + 4, &id) < 0)
                        return fixture_fail(p, "unknown section [%s]", section);
                if (id >= NODESET_MAX)
                        return fixture_fail(p, "[%s]: node id >= %d", section, NODESET_MAX);
                return fixture_node_key(p, (unsigned) id, name, value);
        }
        return fixture_fail(p, "unknown section [%s]", section);
}

static int finish_fail(FixtureParse *p, const char *fmt, ...) _printf_(2, 3);
static int finish_fail(FixtureParse *p, const char *fmt, ...) {
        va_list ap;

        free(p->error);
        va_start(ap, fmt);
        if (vasprintf(&p->error, fmt, ap) < 0)
                p->error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* Cross-section checks once every key is known; fills *t. */
static int fixture_finish(FixtureParse *p, HostTopology *t) {
        unsigned ids[NODESET_MAX];
        CpuSet all = { .bits = { 0 } };
        uint64_t sum = 0;

        t->page_size = p->page_size != 0 ? p->page_size : 4096;
        if (p->has_huge_sizes)
                memcpy(t->huge_sizes, p->huge_sizes, sizeof(t->huge_sizes));
        else {
                t->huge_sizes[0] = UINT64_C(2) << 20;
                t->huge_sizes[1] = UINT64_C(1) << 30;
        }
        huge_sizes_normalize(t->huge_sizes);
        for (int i = 0; i < HUGE_SIZES_MAX; i++)
                if (t->huge_sizes[i] != 0 && t->huge_sizes[i] % t->page_size != 0)
                        return finish_fail(p, "[host] hugepage_sizes: not a multiple of page_size");
        t->swap_accounting = p->swap_accounting;
        t->zswap_accounting = p->zswap_accounting;

        for (unsigned id = 0; id < NODESET_MAX; id++)
                if (p->nodes[id].present)
                        ids[t->n_nodes++] = id;
        if (t->n_nodes == 0)
                return finish_fail(p, "no [nodeN] section");

        for (unsigned i = 0; i < t->n_nodes; i++) {
                FixtureNode *f = &p->nodes[ids[i]];
                HostNode *n = &t->nodes[i];

                n->id = ids[i];
                if (!f->has_memory)
                        return finish_fail(p, "[node%u] memory: missing", n->id);
                n->mem_total = f->memory;
                sum += f->memory;

                for (size_t w = 0; w < ELEMENTSOF(all.bits); w++)
                        if (all.bits[w] & f->cpus.bits[w])
                                return finish_fail(p, "[node%u] cpus: overlap with another node", n->id);
                cpuset_union(&all, &f->cpus);
                n->cpus = f->cpus;

                /* distances list one value per node in ascending id order, as
                 * /sys/devices/system/node/nodeN/distance does. */
                if (f->has_distances) {
                        if (f->n_distances != t->n_nodes)
                                return finish_fail(p, "[node%u] distances: %u values for %u nodes", n->id,
                                                    f->n_distances, t->n_nodes);
                        for (unsigned j = 0; j < t->n_nodes; j++)
                                n->distance[ids[j]] = f->distances[j];
                } else
                        for (unsigned j = 0; j < t->n_nodes; j++)
                                n->distance[ids[j]] = ids[j] == n->id ? 10 : 20;

                for (unsigned h = 0; h < f->n_huge; h++) {
                        FixtureHuge *fh = &f->huge[h];
                        int idx = topology_huge_index(t, fh->size);

                        if (idx < 0)
                                return finish_fail(p, "[node%u] hugepages: size %" PRIu64
                                                    " not in [host] hugepage_sizes", n->id, fh->size);
                        n->huge_total[idx] = fh->total;
                        n->huge_free[idx] = fh->has_free ? fh->free : fh->total;
                        if (n->huge_free[idx] > n->huge_total[idx])
                                return finish_fail(p, "[node%u] hugepages: more free pages than total", n->id);
                }
        }

        t->mem_total = p->memory != 0 ? p->memory : sum;
        t->n_cpus = cpuset_count(&all);
        return 0;
}

int topology_parse(const char *text, size_t len, HostTopology *ret, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ FixtureParse *p = NULL;
        _cleanup_free_ HostTopology *t = NULL;
        int line, r;

        buf = strndup(text, len);
        p = calloc(1, sizeof(*p));
        t = calloc(1, sizeof(*t));
        if (!buf || !p || !t)
                return -ENOMEM;

        line = ini_parse_string(buf, fixture_handler, p);
        if (line != 0 || p->error) {
                if (ret_error) {
                        if (line > 0)
                                *ret_error = strdup_printf("line %d: %s", line, p->error ? p->error : "syntax error");
                        else
                                *ret_error = strdup(p->error ? p->error : "parse error");
                }
                free(p->error);
                return line == -2 ? -ENOMEM : -EINVAL;
        }

        r = fixture_finish(p, t);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(p->error);
                free(p->error);
                return r;
        }

        *ret = *t;
        return 0;
}

/* ---- the running kernel -------------------------------------------------- */

/* Reads an unsigned decimal attribute; a missing file reads as 0 (a size the
 * node does not offer, or a fixture tree that only has some nodes). */
static int read_u64_at(int dirfd, const char *name, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        char *end;
        int r;

        r = read_attr_at(dirfd, name, &s);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        if (errno != 0 || end == s || (*end != '\0' && *end != '\n'))
                return -EINVAL;
        return 0;
}

/* Supported sizes from <sysfs>/kernel/mm/hugepages/hugepages-<kB>kB. When there
 * are more than HUGE_SIZES_MAX (arm64 has four), the smallest ones are kept. */
static int read_huge_sizes(const char *sysfs_root, HostTopology *t) {
        _cleanup_free_ char *path = NULL;
        uint64_t found[32];
        unsigned n = 0;
        DIR *d;
        struct dirent *de;

        path = strdup_printf("%s/kernel/mm/hugepages", sysfs_root);
        if (!path)
                return -ENOMEM;
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d)) && n < ELEMENTSOF(found)) {
                unsigned long long kb;
                char tail;

                if (sscanf(de->d_name, "hugepages-%llukB%c", &kb, &tail) == 1 && kb > 0)
                        found[n++] = (uint64_t) kb * 1024;
        }
        closedir(d);

        for (unsigned i = 0; i < n; i++)
                for (unsigned j = i + 1; j < n; j++)
                        if (found[j] < found[i]) {
                                uint64_t tmp = found[i];
                                found[i] = found[j];
                                found[j] = tmp;
                        }
        for (unsigned i = 0; i < n && i < HUGE_SIZES_MAX; i++)
                t->huge_sizes[i] = found[i];
        return 0;
}

static int read_node_hugepages(const char *sysfs_root, HostTopology *t, HostNode *n) {
        for (int i = 0; i < HUGE_SIZES_MAX; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -1;
                int r;

                if (t->huge_sizes[i] == 0)
                        continue;
                path = strdup_printf("%s/devices/system/node/node%u/hugepages/hugepages-%" PRIu64 "kB",
                                     sysfs_root, n->id, t->huge_sizes[i] / 1024);
                if (!path)
                        return -ENOMEM;
                fd = open(path, O_DIRECTORY | O_PATH | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;   /* size not offered on this node */
                        return -errno;
                }
                r = read_u64_at(fd, "nr_hugepages", &n->huge_total[i]);
                if (r < 0)
                        return r;
                r = read_u64_at(fd, "free_hugepages", &n->huge_free[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Swap accounting shows as memory.swap.max in non-root cgroups only (PITFALLS 7):
 * look in cgroup_root itself (when it is not the root) and one level below. */
static bool cgroup_has_attr(const char *cgroup_root, const char *attr) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;
        bool found = false;

        fd = open(cgroup_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        if (faccessat(fd, attr, F_OK, 0) == 0)
                return true;

        d = fdopendir(TAKE_FD(fd));
        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                _cleanup_close_ int sub = -1;

                if (de->d_name[0] == '.')
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                sub = openat(dirfd(d), de->d_name, O_DIRECTORY | O_PATH | O_CLOEXEC);
                if (sub < 0)
                        continue;
                found = faccessat(sub, attr, F_OK, 0) == 0;
        }
        closedir(d);
        return found;
}

/* Some child of cgroup_root (or cgroup_root itself) shows memory.* files. */
static bool memcg_children_exist(const char *cgroup_root) {
        return cgroup_has_attr(cgroup_root, "memory.max");
}

static bool memcg_enabled(const char *cgroup_root) {
        _cleanup_close_ int fd = open(cgroup_root, O_DIRECTORY | O_PATH | O_CLOEXEC);
        _cleanup_free_ char *s = NULL;

        if (fd < 0 || read_attr_at(fd, "cgroup.controllers", &s) < 0)
                return false;
        for (char *p = s; (p = strstr(p, "memory")); p += 6)
                if ((p == s || p[-1] == ' ') && (p[6] == '\0' || p[6] == ' '))
                        return true;
        return false;
}

static bool swapaccount_disabled(void) {
        _cleanup_close_ int fd = open("/proc", O_DIRECTORY | O_PATH | O_CLOEXEC);
        _cleanup_free_ char *cmdline = NULL;

        if (fd < 0 || read_attr_at(fd, "cmdline", &cmdline) < 0)
                return false;
        return strstr(cmdline, "swapaccount=0") || strstr(cmdline, "cgroup.memory=noswap");
}

static int read_cpu_online(const char *sysfs_root, CpuSet *ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *path = NULL, *s = NULL;
        int r;

        path = strdup_printf("%s/devices/system/cpu", sysfs_root);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = read_attr_at(fd, "online", &s);
        if (r < 0)
                return r;
        return cpulist_parse(s, ret);
}

int topology_read(const char *sysfs_root, const char *cgroup_root, HostTopology *ret) {
        _cleanup_free_ HostTopology *t = NULL;
        long ps;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;

        ps = sysconf(_SC_PAGESIZE);
        t->page_size = ps > 0 ? (uint64_t) ps : 4096;
        r = meminfo_read("/proc/meminfo", &t->mem_total, NULL);
        if (r < 0)
                return r;
        r = read_huge_sizes(sysfs_root, t);
        if (r < 0)
                return r;

        if (numa_available() < 0) {
                /* No NUMA support in the kernel: one node holding everything. */
                HostNode *n = &t->nodes[0];

                n->id = 0;
                n->mem_total = t->mem_total;
                n->distance[0] = 10;
                r = read_cpu_online(sysfs_root, &n->cpus);
                if (r < 0)
                        return r;
                t->n_nodes = 1;
        } else {
                struct bitmask *mask = numa_allocate_cpumask();
                int max = numa_max_node();

                if (!mask)
                        return -ENOMEM;
                for (int id = 0; id <= max && id < NODESET_MAX; id++) {
                        HostNode *n = &t->nodes[t->n_nodes];
                        long long size;

                        if (numa_nodes_ptr && !numa_bitmask_isbitset(numa_nodes_ptr, (unsigned) id))
                                continue;
                        size = numa_node_size64(id, NULL);
                        if (size < 0)
                                continue;   /* hole in the node numbering */
                        n->id = (unsigned) id;
                        n->mem_total = (uint64_t) size;
                        if (numa_node_to_cpus(id, mask) == 0)
                                for (unsigned c = 0; c < mask->size && c < CPUSET_MAX; c++)
                                        if (numa_bitmask_isbitset(mask, c))
                                                cpuset_add(&n->cpus, c);
                        t->n_nodes++;
                }
                numa_bitmask_free(mask);

                for (unsigned i = 0; i < t->n_nodes; i++)
                        for (unsigned j = 0; j < t->n_nodes; j++) {
                                HostNode *a = &t->nodes[i];
                                unsigned b = t->nodes[j].id;
                                int d = numa_distance((int) a->id, (int) b);

                                a->distance[b] = d > 0 ? (unsigned) d : (a->id == b ? 10 : 20);
                        }
        }
        if (t->n_nodes == 0)
                return -ENODEV;

        for (unsigned i = 0; i < t->n_nodes; i++) {
                CpuSet *c = &t->nodes[i].cpus;

                t->n_cpus += cpuset_count(c);
                r = read_node_hugepages(sysfs_root, t, &t->nodes[i]);
                if (r < 0)
                        return r;
        }

        if (memcg_children_exist(cgroup_root)) {
                t->swap_accounting = cgroup_has_attr(cgroup_root, "memory.swap.max");
                t->zswap_accounting = cgroup_has_attr(cgroup_root, "memory.zswap.max");
        } else {
                /* A fresh hierarchy has no child with the memory controller to
                 * look at. Debian's kernels account swap unless told not to on
                 * the command line; should the files still be missing, apply
                 * fails loudly with "not supported by this kernel". */
                t->swap_accounting = t->zswap_accounting = memcg_enabled(cgroup_root) && !swapaccount_disabled();
        }

        *ret = *t;
        return 0;
}
