/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hugetlb: sizing the kernel's per-node hugepage pools; see hugetlb.h for the
 * rules (whose pages are whose, what is returned, how shortages are reported).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "hugetlb.h"
#include "policy.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define RETRY_USEC_DEFAULT (200 * UINT64_C(1000))
#define SIZE_NAME_MAX 32

/* ---- small helpers ------------------------------------------------------------ */

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / USEC_PER_SEC),
                               .tv_nsec = (long) (usec % USEC_PER_SEC) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static uint64_t sub0(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

const char *hugetlb_sysfs_name(uint64_t page_size, char *buf, size_t size) {
        snprintf(buf, size, "hugepages-%" PRIu64 "kB", page_size >> 10);
        return buf;
}

const char *hugetlb_size_name(uint64_t page_size, char *buf, size_t size) {
        if (page_size >= (UINT64_C(1) << 30) && page_size % (UINT64_C(1) << 30) == 0)
                snprintf(buf, size, "%" PRIu64 "GB", page_size >> 30);
        else if (page_size >= (UINT64_C(1) << 20) && page_size % (UINT64_C(1) << 20) == 0)
                snprintf(buf, size, "%" PRIu64 "MB", page_size >> 20);
        else
                snprintf(buf, size, "%" PRIu64 "KB", page_size >> 10);
        return buf;
}

/* "2M", "1G": as tenant.ini(5) writes sizes. */
static const char *size_name(uint64_t page_size, char buf[static SIZE_NAME_MAX]) {
        return size_format(page_size, buf, SIZE_NAME_MAX);
}

static int strv_push(char ***v, char *s) {
        size_t n = strv_length(*v);
        char **nv;

        if (!s)
                return -ENOMEM;
        nv = reallocarray(*v, n + 2, sizeof(char *));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

static int line(HugetlbReport *r, const char *fmt, ...) _printf_(2, 3);
static int line(HugetlbReport *r, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return strv_push(&r->lines, s);
}

static int fail(HugetlbReport *r, int err, const char *fmt, ...) _printf_(3, 4);
static int fail(HugetlbReport *r, int err, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!r->error)
                r->error = s;
        else
                free(s);
        return err;
}

static char *pool_dir(const char *sysfs_root, unsigned node, uint64_t page_size) {
        char name[64];

        return strdup_printf("%s/devices/system/node/node%u/hugepages/%s", sysfs_root, node,
                             hugetlb_sysfs_name(page_size, name, sizeof(name)));
}

static int read_u64_file(const char *dir, const char *attr, uint64_t *ret) {
        _cleanup_close_ int fd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
        _cleanup_free_ char *s = NULL;
        unsigned long long v;
        char *end;
        int r;

        if (fd < 0)
                return -errno;
        r = read_attr_at(fd, attr, &s);
        if (r < 0)
                return r;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int sys_write(const HugetlbOptions *o, const char *path, const char *value) {
        if (o->hooks && o->hooks->write) {
                int r = o->hooks->write(path, value, o->hooks->userdata);

                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return write_attr_at(AT_FDCWD, path, value);
}

static int write_nr(const HugetlbOptions *o, const char *dir, uint64_t pages) {
        _cleanup_free_ char *path = strdup_printf("%s/nr_hugepages", dir);
        char v[DECIMAL_STR_MAX(uint64_t)];

        if (!path)
                return -ENOMEM;
        snprintf(v, sizeof(v), "%" PRIu64, pages);
        return sys_write(o, path, v);
}

/* Ask the node to compact so the next attempt finds contiguous memory. Not
 * every kernel has the file (CONFIG_COMPACTION): errors are ignored. */
static void compact_node(const char *sysfs_root, const HugetlbOptions *o, unsigned node) {
        _cleanup_free_ char *path = strdup_printf("%s/devices/system/node/node%u/compact", sysfs_root, node);

        if (path)
                (void) sys_write(o, path, "1");
}

/* Pages of this node and size charged to tenants now: the N<node>= field of
 * the hierarchical line of <usage_cgroup>/hugetlb.<size>.numa_stat (bytes).
 * cgroup v2 prints "total=B N0=B N1=B"; v1 adds a "hierarchical_total=" line. */
static uint64_t tenants_in_use(const HugetlbOptions *o, unsigned node, uint64_t page_size) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        char attr[64], sz[32], key[DECIMAL_STR_MAX(unsigned) + 3];
        const char *l, *p, *eol;

        if (!o->usage_cgroup)
                return 0;
        fd = open(o->usage_cgroup, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (fd < 0)
                return 0;
        snprintf(attr, sizeof(attr), "hugetlb.%s.numa_stat", hugetlb_size_name(page_size, sz, sizeof(sz)));
        if (read_attr_at(fd, attr, &text) < 0)
                return 0;
        l = strstr(text, "hierarchical_total=");
        if (!l)
                l = text;
        eol = strchr(l, '\n');
        snprintf(key, sizeof(key), " N%u=", node);
        p = strstr(l, key);
        if (!p || (eol && p > eol))
                return 0;
        return strtoull(p + strlen(key), NULL, 10) / page_size;
}

/* ---- the state file: pages tenantd added, per node and size ------------------- */

typedef struct StateEntry {
        unsigned node;
        uint64_t page_size;
        uint64_t added;
} StateEntry;

typedef struct State {
        StateEntry *v;
        size_t n;
} State;

static void state_done(State *s) {
        free(s->v);
        *s = (State) { .v = NULL };
}

static StateEntry *state_find(State *s, unsigned node, uint64_t page_size) {
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].node == node && s->v[i].page_size == page_size)
                        return &s->v[i];
        return NULL;
}

static uint64_t state_get(State *s, unsigned node, uint64_t page_size) {
        StateEntry *e = state_find(s, node, page_size);

        return e ? e->added : 0;
}

static int state_set(State *s, unsigned node, uint64_t page_size, uint64_t added) {
        StateEntry *e = state_find(s, node, page_size), *nv;

        if (e) {
                e->added = added;
                return 0;
        }
        if (added == 0)
                return 0;
        nv = reallocarray(s->v, s->n + 1, sizeof(StateEntry));
        if (!nv)
                return -ENOMEM;
        s->v = nv;
        s->v[s->n++] = (StateEntry) { .node = node, .page_size = page_size, .added = added };
        return 0;
}

/* Lines "NODE PAGE_SIZE ADDED"; '#' comments. A line that does not parse is
 * reported and skipped: forgetting pages only means they are never returned. */
static int state_load(const char *path, State *s, HugetlbReport *r) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        unsigned lineno = 0;

        *s = (State) { .v = NULL };
        if (!path)
                return 0;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : fail(r, -errno, "%s: cannot open: %s", path, strerror(errno));
        while (getline(&buf, &size, f) >= 0) {
                unsigned node;
                unsigned long long page_size, added;
                char extra;
                int k;

                lineno++;
                buf[strcspn(buf, "\n")] = '\0';
                if (buf[strspn(buf, " \t")] == '\0' || buf[strspn(buf, " \t")] == '#')
                        continue;
                if (sscanf(buf, "%u %llu %llu %c", &node, &page_size, &added, &extra) != 3 ||
                    node >= NODESET_MAX || page_size == 0 || state_find(s, node, page_size)) {
                        k = line(r, "%s:%u: cannot parse '%s', ignoring", path, lineno, buf);
                        if (k < 0)
                                return k;
                        continue;
                }
                k = state_set(s, node, page_size, added);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Atomically: write PATH.tmp, rename. The parent directory is created. */
static int state_save(const char *path, const State *s, HugetlbReport *r) {
        _cleanup_free_ char *tmp = NULL, *dir = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *slash;

        if (!path)
                return 0;
        dir = strdup(path);
        tmp = strdup_printf("%s.tmp", path);
        if (!dir || !tmp)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return fail(r, -errno, "%s: cannot create: %s", dir, strerror(errno));
        }
        f = fopen(tmp, "we");
        if (!f)
                return fail(r, -errno, "%s: cannot create: %s", tmp, strerror(errno));
        fputs("# tenantd: hugepages it added to the kernel's pools (hugetlb.h)\n"
              "# node page_size_bytes pages_added\n", f);
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].added > 0)
                        fprintf(f, "%u %" PRIu64 " %" PRIu64 "\n", s->v[i].node, s->v[i].page_size, s->v[i].added);
        if (fflush(f) != 0 || ferror(f)) {
                int e = errno ? errno : EIO;
                unlink(tmp);
                return fail(r, -e, "%s: cannot write: %s", tmp, strerror(e));
        }
        if (rename(tmp, path) < 0) {
                int e = errno;
                unlink(tmp);
                return fail(r, -e, "%s: cannot rename to %s: %s", tmp, path, strerror(e));
        }
        return 0;
}

/* ---- reading one pool ------------------------------------------------------------- */

static HugetlbPoolResult *result_add(HugetlbReport *r, unsigned node, uint64_t page_size) {
        HugetlbPoolResult *nv = reallocarray(r->pools, r->n_pools + 1, sizeof(HugetlbPoolResult));

        if (!nv)
                return NULL;
        r->pools = nv;
        nv = &r->pools[r->n_pools++];
        *nv = (HugetlbPoolResult) { .node = node, .page_size = page_size };
        return nv;
}

/* Fills before/got/wanted (all = nr_hugepages now) and others. */
static int pool_read(const HugetlbOptions *o, const char *dir, HugetlbPoolResult *res, HugetlbReport *r) {
        char sz[SIZE_NAME_MAX];
        uint64_t nr, free_;
        int k;

        k = read_u64_file(dir, "nr_hugepages", &nr);
        if (k >= 0)
                k = read_u64_file(dir, "free_hugepages", &free_);
        if (k < 0)
                return fail(r, k, "node %u: %s pages: cannot read %s: %s", res->node,
                            size_name(res->page_size, sz), dir,
                            k == -ENOENT ? "no such node or page size" : strerror(-k));
        res->before = res->wanted = res->got = nr;
        res->others = sub0(sub0(nr, free_), tenants_in_use(o, res->node, res->page_size));
        return 0;
}

/* Write target and read back; retries until got >= target or the deadline
 * (a shrink is written once: the kernel frees what is free at once). */
static int pool_write(const char *sysfs_root, const HugetlbOptions *o, const char *dir, uint64_t target,
                      uint64_t deadline, HugetlbPoolResult *res, HugetlbReport *r) {
        uint64_t retry = o->retry_usec != 0 ? o->retry_usec : RETRY_USEC_DEFAULT;
        char sz[SIZE_NAME_MAX];
        bool grow = target > res->got;
        int k;

        res->wanted = target;
        for (;;) {
                k = write_nr(o, dir, target);
                res->attempts++;
                if (k < 0)
                        return fail(r, k, "node %u: %s pages: cannot write %s/nr_hugepages = %" PRIu64 ": %s",
                                    res->node, size_name(res->page_size, sz), dir, target, strerror(-k));
                k = read_u64_file(dir, "nr_hugepages", &res->got);
                if (k < 0)
                        return fail(r, k, "node %u: %s pages: cannot read back %s/nr_hugepages: %s", res->node,
                                    size_name(res->page_size, sz), dir, strerror(-k));
                if (!grow || res->got >= target || now_usec(CLOCK_MONOTONIC) >= deadline)
                        return 0;
                compact_node(sysfs_root, o, res->node);
                sleep_usec(retry);
        }
}

static const char *others_note(const HugetlbPoolResult *res, char *buf, size_t size) {
        if (res->others == 0)
                return "";
        snprintf(buf, size, ", others use %" PRIu64, res->others);
        return buf;
}

/* Hands a short pool out in user order; refuses who does not fit. */
static int refuse_users(const PlanPool *pool, const HugetlbPoolResult *res, HugetlbReport *r) {
        uint64_t left = sub0(res->got, res->others);
        char sz[SIZE_NAME_MAX];
        int k;

        for (size_t u = 0; u < pool->n_users; u++) {
                const PlanPoolUser *user = &pool->users[u];

                if (user->pages <= left) {
                        left -= user->pages;
                        continue;
                }
                k = line(r, "tenant '%s' refused: needs %" PRIu64 " x %s on node %u, pool has %" PRIu64 " free",
                         user->id, user->pages, size_name(res->page_size, sz), res->node, left);
                if (k >= 0)
                        k = strv_push(&r->refused, strdup(user->id));
                if (k < 0)
                        return k;
        }
        return 0;
}

/* ---- public ------------------------------------------------------------------------ */

int hugetlb_reserve(const char *sysfs_root, const PlanPool *pools, size_t n, const HugetlbOptions *o,
                    HugetlbReport *ret) {
        static const HugetlbOptions defaults = { .state_path = NULL };
        uint64_t start = now_usec(CLOCK_MONOTONIC), deadline;
        bool short_ = false, dirty = false;
        State st = { .v = NULL };
        int k = 0;

        if (!o)
                o = &defaults;
        *ret = (HugetlbReport) { .pools = NULL };
        deadline = start + o->timeout_usec;
        k = state_load(o->state_path, &st, ret);
        if (k < 0)
                goto finish;

        for (size_t i = 0; i < n; i++) {
                const PlanPool *pool = &pools[i];
                _cleanup_free_ char *dir = pool_dir(sysfs_root, pool->node, pool->page_size);
                HugetlbPoolResult *res = result_add(ret, pool->node, pool->page_size);
                char sz[SIZE_NAME_MAX], note[64];
                uint64_t target;

                if (!dir || !res) {
                        k = -ENOMEM;
                        goto finish;
                }
                res->needed = pool->pages;
                res->added_before = res->added_after = state_get(&st, pool->node, pool->page_size);
                k = pool_read(o, dir, res, ret);
                if (k < 0)
                        goto finish;
                target = pool->pages + res->others;
                if (res->before >= target)
                        continue;

                k = pool_write(sysfs_root, o, dir, target, deadline, res, ret);
                if (res->got > res->before) {
                        /* Record growth right away, even after an error: pages tenantd added
                         * are tenantd's to return or restore. */
                        res->added_after = res->added_before + (res->got - res->before);
                        if (state_set(&st, pool->node, pool->page_size, res->added_after) < 0 && k >= 0)
                                k = -ENOMEM;
                        dirty = true;
                }
                if (k < 0)
                        goto finish;
                size_name(pool->page_size, sz);
                if (res->got >= target) {
                        k = line(ret, "node %u: %s pages: %" PRIu64 " -> %" PRIu64 " (added %" PRIu64
                                      "; tenants need %" PRIu64 "%s)",
                                 pool->node, sz, res->before, res->got, res->got - res->before, pool->pages,
                                 others_note(res, note, sizeof(note)));
                } else {
                        short_ = true;
                        if (res->others > 0)
                                k = line(ret, "node %u: %s pages: wanted %" PRIu64 " (%" PRIu64 " for tenants + %" PRIu64
                                              " in use by others), got %" PRIu64 " (%" PRIu64 " short)",
                                         pool->node, sz, target, pool->pages, res->others, res->got,
                                         target - res->got);
                        else
                                k = line(ret, "node %u: %s pages: wanted %" PRIu64 ", got %" PRIu64 " (%" PRIu64
                                              " short)",
                                         pool->node, sz, target, res->got, target - res->got);
                        if (k >= 0)
                                k = refuse_users(pool, res, ret);
                }
                if (k < 0)
                        goto finish;
        }
        k = short_ ? -ENOMEM : 0;

finish:
        if (dirty) {
                int q = state_save(o->state_path, &st, ret);

                if (q < 0 && k >= 0)
                        k = q;
        }
        state_done(&st);
        ret->elapsed_usec = now_usec(CLOCK_MONOTONIC) - start;
        return k;
}

int hugetlb_restore(const char *sysfs_root, HugetlbReport *r, const HugetlbOptions *o) {
        static const HugetlbOptions defaults = { .state_path = NULL };
        State st = { .v = NULL };
        bool any = false;
        int k, first = 0;

        if (!o)
                o = &defaults;
        for (size_t i = 0; i < r->n_pools; i++)
                any = any || r->pools[i].got != r->pools[i].before;
        if (!any)
                return 0;

        /* State first: lowering `added` before the pages are gone is the safe
         * order (a crash in between leaves pages nobody returns, never returns
         * someone else's). */
        k = state_load(o->state_path, &st, r);
        if (k < 0)
                return k;
        for (size_t i = 0; i < r->n_pools; i++) {
                HugetlbPoolResult *res = &r->pools[i];

                if (res->got != res->before && state_set(&st, res->node, res->page_size, res->added_before) < 0) {
                        state_done(&st);
                        return -ENOMEM;
                }
        }
        k = state_save(o->state_path, &st, r);
        if (k < 0) {
                state_done(&st);
                return k;
        }

        for (size_t i = 0; i < r->n_pools; i++) {
                HugetlbPoolResult *res = &r->pools[i];
                _cleanup_free_ char *dir = NULL;
                char sz[SIZE_NAME_MAX];
                uint64_t was = res->got;

                if (res->got == res->before)
                        continue;
                dir = pool_dir(sysfs_root, res->node, res->page_size);
                if (!dir) {
                        if (first == 0)
                                first = -ENOMEM;
                        continue;
                }
                k = pool_write(sysfs_root, o, dir, res->before, 0, res, r);
                if (k < 0) {
                        if (first == 0)
                                first = k;
                        continue;
                }
                if (res->got > res->before) {
                        /* the kernel kept some (in use already): still ours */
                        res->added_after = res->added_before + (res->got - res->before);
                        (void) state_set(&st, res->node, res->page_size, res->added_after);
                        (void) state_save(o->state_path, &st, r);
                } else
                        res->added_after = res->added_before;
                (void) line(r, "node %u: %s pages: %" PRIu64 " -> %" PRIu64 " (restored)", res->node,
                            size_name(res->page_size, sz), was, res->got);
        }
        state_done(&st);
        return first;
}

int hugetlb_release(const char *sysfs_root, const PlanPool *pools, size_t n, const HugetlbOptions *o,
                    HugetlbReport *ret) {
        static const HugetlbOptions defaults = { .state_path = NULL };
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        State st = { .v = NULL };
        int k;

        if (!o)
                o = &defaults;
        *ret = (HugetlbReport) { .pools = NULL };
        k = state_load(o->state_path, &st, ret);
        if (k < 0)
                goto finish;

        for (size_t i = 0; i < st.n; i++) {
                StateEntry *e = &st.v[i];
                _cleanup_free_ char *dir = pool_dir(sysfs_root, e->node, e->page_size);
                HugetlbPoolResult *res;
                char sz[SIZE_NAME_MAX], note[64];
                uint64_t base, target;

                if (e->added == 0)
                        continue;
                res = result_add(ret, e->node, e->page_size);
                if (!dir || !res) {
                        k = -ENOMEM;
                        goto finish;
                }
                for (size_t j = 0; j < n; j++)
                        if (pools[j].node == e->node && pools[j].page_size == e->page_size)
                                res->needed = pools[j].pages;
                res->added_before = e->added;
                k = pool_read(o, dir, res, ret);
                if (k == -ENOENT) {
                        /* the node or size is gone (offlined): nothing to return */
                        free(ret->error);
                        ret->error = NULL;
                        e->added = 0;
                        k = state_save(o->state_path, &st, ret);
                        if (k < 0)
                                goto finish;
                        continue;
                }
                if (k < 0)
                        goto finish;
                /* Someone shrank the pool behind our back: what is left of ours is at most all of it. */
                if (e->added > res->before)
                        e->added = res->before;
                base = res->before - e->added;
                target = res->needed + res->others;
                if (target < base)
                        target = base;
                if (target >= res->before) {
                        res->added_after = e->added;
                        if (res->added_after != res->added_before) {
                                k = state_save(o->state_path, &st, ret);
                                if (k < 0)
                                        goto finish;
                        }
                        continue;
                }

                /* State first (see hugetlb_restore) */
                e->added -= res->before - target;
                k = state_save(o->state_path, &st, ret);
                if (k < 0)
                        goto finish;
                k = pool_write(sysfs_root, o, dir, target, 0, res, ret);
                if (k < 0)
                        goto finish;
                if (res->got > target) {
                        /* the kernel kept pages (still in use or reserved): still ours */
                        e->added += res->got - target;
                        k = state_save(o->state_path, &st, ret);
                        if (k < 0)
                                goto finish;
                }
                res->added_after = e->added;
                if (res->got < res->before)
                        k = line(ret, "node %u: %s pages: %" PRIu64 " -> %" PRIu64 " (returned %" PRIu64
                                      "; tenants need %" PRIu64 "%s)",
                                 e->node, size_name(e->page_size, sz), res->before, res->got,
                                 res->before - res->got, res->needed, others_note(res, note, sizeof(note)));
                if (k < 0)
                        goto finish;
        }
        k = 0;

finish:
        state_done(&st);
        ret->elapsed_usec = now_usec(CLOCK_MONOTONIC) - start;
        return k;
}

void hugetlb_report_done(HugetlbReport *r) {
        if (!r)
                return;
        free(r->pools);
        strv_free(r->lines);
        strv_free(r->refused);
        free(r->error);
        *r = (HugetlbReport) { .pools = NULL };
}
