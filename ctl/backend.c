/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The backend front (selection, the vtable calls) and the cgroupfs
 * implementation, which is apply_plan() (apply.c) plus adopt.
 */
#include <inttypes.h>
#include <poll.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <systemd/sd-daemon.h>

#include <libcgroup.h>

#include "backend-internal.h"
#include "sdbus.h"

static const ApplyOptions default_options = {
        .remove_stale = true,
        .kill_timeout_usec = 5000000,
        .job_timeout_usec = 60000000,
};

/* ---- helpers shared with backend-systemd.c ------------------------------------ */

bool cgroup_root_is_hierarchy_root(const char *root) {
        _cleanup_close_ int fd = -1;
        struct statfs sfs;

        fd = open(root, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return false;
        /* every cgroup but the root of the hierarchy has cgroup.type */
        return faccessat(fd, "cgroup.controllers", F_OK, 0) == 0 && faccessat(fd, "cgroup.type", F_OK, 0) < 0 &&
               errno == ENOENT;
}

const PlanNode *plan_find_tenant(const Plan *p, const PolicySet *s, const char *id) {
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                if (n->type == PLAN_TENANT && n->tenant >= 0 && (size_t) n->tenant < s->n_tenants &&
                    streq(s->tenants[n->tenant].id, id))
                        return n;
        }
        return NULL;
}

int proc_pid_cgroup(pid_t pid, char **ret) {
        char path[64], line[4096];
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        while (fgets(line, sizeof(line), f)) {
                size_t n = strlen(line);

                if (strncmp(line, "0::", 3) != 0)
                        continue;
                while (n > 0 && line[n - 1] == '\n')
                        line[--n] = '\0';
                *ret = strdup(line + 3);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENODATA;
}

int move_pid_to_cgroup(pid_t pid, const char *cgroup) {
        _cleanup_free_ char *mnt = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        char buf[DECIMAL_STR_MAX(pid_t)];

        if (cgroup_init() != 0 || cgroup_get_subsys_mount_point("memory", &mnt) != 0 || !mnt)
                return -ENOMEDIUM;
        path = strdup_printf("%s%s", mnt, cgroup);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        return write_attr_at(fd, "cgroup.procs", buf);
}

int pids_exist(const pid_t *pids, size_t n, pid_t *ret_missing) {
        for (size_t i = 0; i < n; i++)
                if (pids[i] <= 0 || (kill(pids[i], 0) < 0 && errno == ESRCH)) {
                        if (ret_missing)
                                *ret_missing = pids[i];
                        return -ESRCH;
                }
        return 0;
}

/* ---- the cgroupfs backend ------------------------------------------------------- */

static int cgfs_apply(Backend *b, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *rep) {
        return apply_plan(b->cgfs, p, s, o, rep);
}

static int cgfs_adopt(Backend *b, const Plan *p, const PolicySet *s, const char *id, const pid_t *pids,
                      size_t n_pids, ApplyReport *rep) {
        Cgfs *c = b->cgfs;
        const PlanNode *n;
        _cleanup_(strv_freep) char **old = NULL;
        size_t moved = 0;
        pid_t missing = 0;
        int r;

        *rep = (ApplyReport) { .created = 0 };
        n = plan_find_tenant(p, s, id);
        if (!n)
                return apply_fail(rep, -ENOENT, "no tenant '%s' in the policies", id);
        if (n_pids == 0)
                return apply_fail(rep, -EINVAL, "tenant '%s': no PIDs to adopt", id);
        if (pids_exist(pids, n_pids, &missing) < 0)
                return apply_fail(rep, -ESRCH, "tenant '%s': no such process: PID %d", id, (int) missing);
        if (!cgfs_exists(c, n->path))
                return apply_fail(rep, -ENOENT, "tenant '%s' is not applied yet (%s/%s missing): apply the policies first",
                                  id, cgfs_root(c), n->path);

        /* where each process was, to move it back if a later one fails */
        old = calloc(n_pids + 1, sizeof(char *));
        if (!old)
                return -ENOMEM;
        for (size_t i = 0; i < n_pids && cgfs_is_kernel(c); i++) {
                r = proc_pid_cgroup(pids[i], &old[i]);
                if (r < 0)
                        return apply_fail(rep, r, "tenant '%s': cannot read the cgroup of PID %d: %s", id,
                                          (int) pids[i], strerror(-r));
        }
        for (; moved < n_pids; moved++) {
                r = cgfs_attach(c, n->path, pids[moved]);
                if (r < 0) {
                        apply_fail(rep, r, "tenant '%s' %s/%s: cannot move PID %d: %s", id, cgfs_root(c), n->path,
                                   (int) pids[moved], strerror(-r));
                        for (size_t k = moved; k-- > 0;)
                                if (old[k] && move_pid_to_cgroup(pids[k], old[k]) >= 0)
                                        rep->rolled_back++;
                        return r;
                }
                rep->writes++;
        }
        return 0;
}

static int cgfs_cgroup_path(Backend *b, const PlanNode *n, char **ret) {
        if (!cgfs_exists(b->cgfs, n->path))
                return -ENXIO;
        *ret = strdup(n->path);
        return *ret ? 0 : -ENOMEM;
}

static void cgfs_backend_free(Backend *b) {
        if (b->own_cgfs)
                cgfs_free(b->cgfs);
        free(b);
}

static const BackendOps cgfs_ops = {
        .name = "cgroupfs",
        .starts_tenants = false,
        .apply = cgfs_apply,
        .adopt = cgfs_adopt,
        .cgroup_path = cgfs_cgroup_path,
        .free = cgfs_backend_free,
};

int backend_cgfs_new(Cgfs *c, Backend **ret) {
        Backend *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        *b = (Backend) { .ops = &cgfs_ops, .cgfs = c };
        *ret = b;
        return 0;
}

/* ---- selection ------------------------------------------------------------------ */

static bool pid1_is_systemd(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/1/comm", "re");
        char comm[64] = "";

        if (!f || !fgets(comm, sizeof(comm), f))
                return false;
        comm[strcspn(comm, "\n")] = '\0';
        return streq(comm, "systemd");
}

BackendKind backend_detect(const char *cgroup_root, const char **ret_reason) {
        Sdbus *bus = NULL;
        const char *why;
        BackendKind k = BACKEND_CGROUPFS;

        if (sd_booted() <= 0)
                why = "systemd is not the init system (no /run/systemd/system)";
        else if (!pid1_is_systemd())
                why = "PID 1 is not systemd";
        else if (!cgroup_root_is_hierarchy_root(cgroup_root))
                why = "the cgroup root is not the root of the cgroup2 hierarchy systemd manages";
        else if (sdbus_open(&bus, NULL) < 0)
                why = "systemd does not answer on the system bus";
        else {
                why = "systemd is PID 1 and answers on D-Bus";
                k = BACKEND_SYSTEMD;
        }
        sdbus_free(bus);
        if (ret_reason)
                *ret_reason = why;
        return k;
}

int backend_open(BackendKind kind, const char *cgroup_root, Backend **ret, char **ret_error) {
        Cgfs *c = NULL;
        Backend *b;
        int r;

        if (!cgroup_root)
                cgroup_root = "/sys/fs/cgroup";
        if (kind == BACKEND_AUTO)
                kind = backend_detect(cgroup_root, NULL);
        if (kind == BACKEND_SYSTEMD)
                return backend_systemd_open(cgroup_root, ret, ret_error);

        r = cgfs_open(cgroup_root, NULL, &c);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup_printf("cannot open cgroup root '%s': %s", cgroup_root,
                                                   cgfs_open_strerror(r));
                return r;
        }
        if (!cgfs_is_kernel(c)) {
                /* a plain directory (or a cgroup v1 / hybrid host's tmpfs): refuse to
                 * write cgroup files into something that is not a cgroup2 hierarchy */
                if (ret_error)
                        *ret_error = strdup_printf("cannot use cgroup root '%s': not on a cgroup2 file system "
                                                   "(a cgroup v1 or hybrid host? tenantd needs the unified hierarchy)",
                                                   cgroup_root);
                cgfs_free(c);
                return -EMEDIUMTYPE;
        }
        r = backend_cgfs_new(c, &b);
        if (r < 0) {
                cgfs_free(c);
                return r;
        }
        b->own_cgfs = true;
        *ret = b;
        return 0;
}

Backend *backend_free(Backend *b) {
        if (b)
                b->ops->free(b);
        return NULL;
}

const char *backend_name(const Backend *b) {
        return b->ops->name;
}

int backend_apply(Backend *b, const Plan *p, const PolicySet *s, const ApplyOptions *o, ApplyReport *rep) {
        ApplyOptions opts = o ? *o : default_options;

        if (opts.job_timeout_usec == 0)
                opts.job_timeout_usec = default_options.job_timeout_usec;
        return b->ops->apply(b, p, s, &opts, rep);
}

int backend_adopt(Backend *b, const Plan *p, const PolicySet *s, const char *tenant_id, const pid_t *pids,
                  size_t n_pids, ApplyReport *rep) {
        return b->ops->adopt(b, p, s, tenant_id, pids, n_pids, rep);
}

int backend_cgroup_path(Backend *b, const PlanNode *n, char **ret) {
        return b->ops->cgroup_path(b, n, ret);
}

int backend_stop(Backend *b, const PlanNode *n, uint64_t timeout_usec, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        int r;

        if (b->ops->stop)
                return b->ops->stop(b, n, timeout_usec, ret_error);
        r = backend_cgroup_path(b, n, &path);
        if (r < 0)
                goto fail;
        if (!cgfs_exists(b->cgfs, path))
                return 0;
        r = cgfs_write(b->cgfs, path, "cgroup.kill", "1");
        if (r < 0)
                goto fail;
        for (;;) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t np = 0;

                r = cgfs_pids(b->cgfs, path, &pids, &np);
                if (r < 0)
                        goto fail;
                if (np == 0)
                        return 0;
                if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        r = -ETIMEDOUT;
                        goto fail;
                }
                (void) poll(NULL, 0, 10);
        }
fail:
        if (ret_error)
                *ret_error = strdup_printf("cannot stop %s: %s", n->unit, strerror(-r));
        return r;
}

int backend_set_memory_high(Backend *b, const PlanNode *n, uint64_t bytes) {
        _cleanup_free_ char *path = NULL;
        char value[32];
        int r;

        if (b->ops->set_memory_high)
                return b->ops->set_memory_high(b, n, bytes);
        r = backend_cgroup_path(b, n, &path);
        if (r < 0)
                return r;
        if (bytes == SIZE_INFINITY)
                snprintf(value, sizeof(value), "max");
        else
                snprintf(value, sizeof(value), "%" PRIu64, bytes);
        return cgfs_write(b->cgfs, path, "memory.high", value);
}

static const char *const kind_names[] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_SYSTEMD] = "systemd",
        [BACKEND_CGROUPFS] = "cgroupfs",
};

const char *backend_kind_to_string(BackendKind k) {
        return (size_t) k < ELEMENTSOF(kind_names) ? kind_names[k] : NULL;
}

int backend_kind_from_string(const char *s, BackendKind *ret) {
        for (size_t i = 0; i < ELEMENTSOF(kind_names); i++)
                if (s && streq(s, kind_names[i])) {
                        *ret = (BackendKind) i;
                        return 0;
                }
        return -EINVAL;
}
