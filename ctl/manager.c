/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manager: the daemon's operations on its state. See manager.h.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <malloc.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "react.h"
#include "sdbus.h"

#define EVENTS_KEPT 4096
#define STOP_TIMEOUT_USEC (10 * UINT64_C(1000000))

struct Manager {
        char *policy_dir;
        char *cgroup_root;
        BackendKind backend_kind;
        bool has_backend;
        char *state_dir;

        Backend *backend;       /* opened by the first good run, kept */
        EngineRun *run;         /* last good run */
        Overrides overrides;
        char **stopped;         /* ids stopped by the operator (strv) */
        EventLog events;

        ManagerEventFn on_event;
        void *on_event_userdata;

        Reactor *reactor;       /* the PSI reaction ladder, from the first good run on */
        sd_event *event;
        bool no_react;
};

/* ---- runtime state files ---------------------------------------------------- */

static char *state_path(const Manager *m, const char *name) {
        return strdup_printf("%s/%s", m->state_dir, name);
}

static int stopped_write(FILE *f, void *userdata) {
        const Manager *m = userdata;

        for (char **s = m->stopped; s && *s; s++)
                fprintf(f, "%s\n", *s);
        return 0;
}

static int stopped_save(const Manager *m) {
        _cleanup_free_ char *path = state_path(m, "stopped");

        return path ? write_file_atomic(path, 0644, stopped_write, (void *) m) : -ENOMEM;
}

static int strv_add(char ***v, const char *s) {
        size_t n = strv_length(*v);
        char **nv = realloc(*v, (n + 2) * sizeof(char *));

        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[n] = strdup(s);
        nv[n + 1] = NULL;
        return nv[n] ? 0 : -ENOMEM;
}

static void strv_remove(char **v, const char *s) {
        size_t n = strv_length(v);

        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s)) {
                        free(v[i]);
                        memmove(&v[i], &v[i + 1], (n - i) * sizeof(char *));
                        return;
                }
}

static int stopped_load(Manager *m) {
        _cleanup_free_ char *path = state_path(m, "stopped");
        _cleanup_fclose_ FILE *f = NULL;
        char line[TENANT_ID_MAX + 3];

        if (!path)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                if (tenant_id_is_valid(line) && strv_add(&m->stopped, line) < 0)
                        return -ENOMEM;
        }
        return 0;
}

bool manager_is_stopped(const Manager *m, const char *id) {
        for (char **s = m->stopped; s && *s; s++)
                if (streq(*s, id))
                        return true;
        return false;
}

/* ---- lifecycle ------------------------------------------------------------- */

int manager_new(const ManagerOptions *o, Manager **ret) {
        _cleanup_manager_ Manager *m = calloc(1, sizeof(Manager));
        _cleanup_free_ char *ovpath = NULL;
        PolicyErrors errs = {0};
        int r;

        if (!m)
                return -ENOMEM;
        m->policy_dir = strdup(o->policy_dir);
        m->cgroup_root = o->cgroup_root ? strdup(o->cgroup_root) : NULL;
        m->state_dir = strdup(o->state_dir ? o->state_dir : "/run/tenantd");
        m->backend_kind = o->backend;
        m->has_backend = o->has_backend;
        if (!m->policy_dir || !m->state_dir || (o->cgroup_root && !m->cgroup_root))
                return -ENOMEM;
        r = event_log_init(&m->events, EVENTS_KEPT);
        if (r < 0)
                return r;
        r = mkdir_p(m->state_dir, 0755);
        if (r < 0) {
                log_error("cannot create state directory %s: %s", m->state_dir, strerror(-r));
                return r;
        }
        ovpath = state_path(m, "overrides");
        if (!ovpath)
                return -ENOMEM;
        r = overrides_load(ovpath, &m->overrides, &errs);
        if (r < 0) {
                /* the file is ours; a broken one is reported and set aside, not fatal */
                for (size_t i = 0; i < errs.n; i++)
                        log_warning("%s: %s (%s), ignoring the runtime overrides", ovpath, errs.v[i].problem,
                                    errs.v[i].value ? errs.v[i].value : "");
                policy_errors_clear(&errs);
        }
        r = stopped_load(m);
        if (r < 0)
                log_warning("cannot read %s/stopped: %s, ignoring", m->state_dir, strerror(-r));
        *ret = m;
        m = NULL;
        return 0;
}

static void run_free(EngineRun *run) {
        if (!run)
                return;
        engine_run_done(run);
        free(run);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        reactor_free(m->reactor);
        sd_event_unref(m->event);
        run_free(m->run);
        backend_freep(&m->backend);
        overrides_done(&m->overrides);
        strv_free(m->stopped);
        event_log_done(&m->events);
        free(m->policy_dir);
        free(m->cgroup_root);
        free(m->state_dir);
        free(m);
        return NULL;
}

void manager_set_event_handler(Manager *m, ManagerEventFn fn, void *userdata) {
        m->on_event = fn;
        m->on_event_userdata = userdata;
}

const EventLog *manager_events(const Manager *m) {
        return &m->events;
}

const char *manager_policy_dir(const Manager *m) {
        return m->policy_dir;
}

const char *manager_read_group(const Manager *m) {
        return m->run && m->run->set.config.read_group ? m->run->set.config.read_group : TENANTD_READ_GROUP;
}

const EngineRun *manager_run(const Manager *m) {
        return m->run;
}

void manager_event(Manager *m, const char *tenant, const char *klass, const char *action, const char *reason,
                   const char *detail_fmt, ...) {
        _cleanup_free_ char *detail = NULL;
        const TenantEvent *ev;
        va_list ap;

        va_start(ap, detail_fmt);
        detail = strdup_vprintf(detail_fmt, ap);
        va_end(ap);
        ev = event_log_add(&m->events, now_usec(CLOCK_MONOTONIC), tenant, klass, action, reason, detail);
        log_struct(LOG_INFO, tenant && *tenant ? tenant : NULL, klass && *klass ? klass : NULL, action, "%s%s%s: %s%s%s",
                   tenant && *tenant ? tenant : "host", klass && *klass ? " " : "", klass ? klass : "", action,
                   reason && *reason ? ", " : "", reason ? reason : "");
        if (ev && m->on_event)
                m->on_event(m, ev, m->on_event_userdata);
}

/* ---- the reactor ------------------------------------------------------------ */

static void on_react_event(const ReactEvent *ev, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *line = react_event_format(ev);
        const char *detail = line ? line : "";

        /* the action column says "notice" already */
        if (ev->action == REACT_NOTICE && strncmp(detail, "notice: ", 8) == 0)
                detail += 8;
        manager_event(m, ev->tenant, ev->klass, react_action_to_string(ev->action), ev->reason, "%s", detail);
}

/* memory.high through the backend: under systemd a unit property (runtime),
 * which a daemon-reload keeps; the other steps are the kernel's files. On
 * the reactor's worker thread (t->worker: a bus connection of its own)
 * nothing of the manager is touched. */
static int react_set_high(const ReactTarget *t, uint64_t bytes) {
        Manager *m = t->userdata;
        const PlanNode *n;

        if (t->worker)
                return t->unit ? sdbus_set_memory_high(t->worker, t->unit, bytes) : -EINVAL;
        n = m->run ? engine_find_tenant(m->run, t->id, NULL) : NULL;
        if (!n || !m->backend)
                return react_kernel_ops.set_high(t, bytes);
        return backend_set_memory_high(m->backend, n, bytes);
}

/* the worker's own connection to systemd (sd-bus objects stay on one thread) */
static void *react_worker_open(void *userdata) {
        Sdbus *b = NULL;

        return sdbus_open(&b, NULL) < 0 ? NULL : b;
}

static void react_worker_close(void *worker) {
        sdbus_free(worker);
}

static ReactOps manager_react_ops;

/* Watch what the new run planned; the first run creates the reactor and reads
 * back the steps a previous daemon left in force. */
static void react_update(Manager *m) {
        int r;

        if (m->no_react)
                return;
        if (!m->reactor) {
                _cleanup_free_ char *state = state_path(m, "react.state");
                ReactorConfig rc = { .cgroup_root = m->run->root, .state_file = state, .ops = &manager_react_ops,
                                     .ops_userdata = m };

                manager_react_ops = react_kernel_ops;
                if (m->backend && m->backend->ops->set_memory_high) {
                        /* the backend routes memory.high (systemd: MemoryHigh) */
                        manager_react_ops.set_high = react_set_high;
                        manager_react_ops.worker_open = react_worker_open;
                        manager_react_ops.worker_close = react_worker_close;
                }

                r = reactor_new(&rc, &m->reactor);
                if (r < 0) {
                        log_error("cannot start the reaction ladder: %s; tenants get no PSI reactions", strerror(-r));
                        return;
                }
                reactor_set_event_handler(m->reactor, on_react_event, m);
                r = reactor_load(m->reactor);
                if (r < 0)
                        log_warning("cannot read %s: %s; starting the ladder from scratch", state ? state : "react.state",
                                    strerror(-r));
                if (m->event) {
                        r = reactor_attach(m->reactor, m->event, 0);
                        if (r < 0)
                                log_error("cannot arm the PSI triggers: %s", strerror(-r));
                }
        }
        r = reactor_set_plan(m->reactor, &m->run->plan, &m->run->set);
        if (r < 0)
                log_error("cannot watch the new plan's pressure: %s", strerror(-r));
}

int manager_attach_event(Manager *m, sd_event *e) {
        m->event = sd_event_ref(e);
        return m->reactor ? reactor_attach(m->reactor, e, 0) : 0;
}

void manager_disable_reactions(Manager *m) {
        m->no_react = true;
}

/* ---- operations ------------------------------------------------------------ */

static void text_add_lines(char **text, char **lines) {
        for (char **l = lines; l && *l; l++) {
                char *t = strdup_printf("%s%s%s", *text ? *text : "", *text ? "\n" : "", *l);

                if (t) {
                        free(*text);
                        *text = t;
                }
        }
}

static void text_add_errors(char **text, const EngineRun *run) {
        for (size_t i = 0; i < run->errors.n; i++) {
                const PolicyError *e = &run->errors.v[i];
                _cleanup_free_ char *line = NULL;
                char lineno[16] = "";

                if (e->line > 0)
                        snprintf(lineno, sizeof(lineno), ":%u", e->line);
                line = strdup_printf("%s%s: %s%s%s%s%s%s", e->file ? e->file : "<input>", lineno, e->key ? e->key : "",
                                     e->key && e->key[0] ? ": " : "", e->problem ? e->problem : "out of memory",
                                     e->value ? " (" : "", e->value ? e->value : "", e->value ? ")" : "");
                if (line) {
                        char *lines[] = { line, NULL };
                        text_add_lines(text, lines);
                }
        }
        text_add_lines(text, run->error_lines);
}

/* Run the engine with the given overrides; on success the run replaces the current one. */
static EngineStatus run_engine(Manager *m, const char *dir, const Overrides *ov, EngineRun **ret_run, char **ret_text) {
        EngineOptions o = {
                .policy_dir = dir ? dir : m->policy_dir,
                .cgroup_root = m->cgroup_root,
                .backend = m->backend_kind,
                .has_backend = m->has_backend,
                .overrides = ov,
                .no_start = m->stopped,
                .reuse_backend = m->backend,
        };
        _cleanup_free_ char *path = NULL;
        EngineRun *run = calloc(1, sizeof(EngineRun));
        EngineStatus st;

        if (!run)
                return ENGINE_FAILED;
        path = strdup_printf("%s/hugepages", m->state_dir);
        o.hugetlb_state = path;
        st = engine_apply(&o, run);
        if (ret_text) {
                text_add_lines(ret_text, run->lines);
                if (st != ENGINE_OK)
                        text_add_errors(ret_text, run);
        }
        if (st != ENGINE_OK) {
                run_free(run);
                return st;
        }
        if (!m->backend && run->backend_owned) {
                m->backend = run->backend;
                run->backend_owned = false;
        }
        run_free(m->run);
        m->run = run;
        react_update(m);
        /* loading and applying thousands of files leaves freed heap behind;
         * give it back: the daemon idles for hours after an apply */
        (void) malloc_trim(0);
        if (ret_run)
                *ret_run = run;
        return ENGINE_OK;
}

EngineStatus manager_apply(Manager *m, const char *dir, const char *origin, char **ret_text) {
        _cleanup_free_ char *text = NULL;
        EngineRun *run = NULL;
        EngineStatus st;

        st = run_engine(m, dir, &m->overrides, &run, &text);
        if (st != ENGINE_OK) {
                manager_event(m, NULL, NULL, "apply-failed", origin, "%s", text ? text : "");
                log_error("%s", text ? text : "apply failed");
        } else {
                char summary[256];

                snprintf(summary, sizeof(summary), "%zu tenants (%s): %u created, %u writes, %u removed, %d started",
                         run->set.n_tenants, backend_name(run->backend), run->report.created, run->report.writes,
                         run->report.removed, run->started);
                manager_event(m, NULL, NULL, "apply", origin, "%s", summary);
                free(text);
                text = strdup(summary);
        }
        if (ret_text) {
                *ret_text = text;
                text = NULL;
        }
        return st;
}

static const PlanNode *find(Manager *m, const char *id, const TenantPolicy **ret_t, char **ret_text) {
        const PlanNode *n = m->run ? engine_find_tenant(m->run, id, ret_t) : NULL;

        if (!n && ret_text)
                *ret_text = strdup_printf("no tenant '%s'%s", id, m->run ? "" : " (nothing applied yet)");
        return n;
}

EngineStatus manager_reassign(Manager *m, const char *id, char *const *keys, char *const *values, size_t n,
                              char **ret_text) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        Overrides ov = {0};
        const TenantPolicy *t;
        EngineStatus st;
        int r;

        if (!find(m, id, &t, ret_text))
                return ENGINE_INVALID;
        if (n == 0) {
                if (ret_text)
                        *ret_text = strdup("nothing to change: give --class, --nodes, --cpus, --request or --limit");
                return ENGINE_INVALID;
        }
        if (overrides_copy(&m->overrides, &ov) < 0)
                return ENGINE_FAILED;
        for (size_t i = 0; i < n; i++) {
                OverrideKey k;

                if (override_key_from_string(keys[i], &k) < 0) {
                        if (ret_text)
                                *ret_text = strdup_printf("unknown setting '%s', expected class, nodes, cpus, request or limit",
                                                          keys[i]);
                        overrides_done(&ov);
                        return ENGINE_INVALID;
                }
                r = overrides_set(&ov, id, k, values[i][0] ? values[i] : NULL);
                if (r < 0) {
                        if (ret_text)
                                *ret_text = strdup_printf("%s: invalid value '%s'", keys[i], values[i]);
                        overrides_done(&ov);
                        return ENGINE_INVALID;
                }
        }
        st = run_engine(m, NULL, &ov, NULL, &text);
        if (st != ENGINE_OK) {
                overrides_done(&ov);
                if (ret_text) {
                        *ret_text = text;
                        text = NULL;
                }
                return st;
        }
        overrides_done(&m->overrides);
        m->overrides = ov;
        path = state_path(m, "overrides");
        r = path ? overrides_save(&m->overrides, path) : -ENOMEM;
        if (r < 0)
                log_error("cannot save %s: %s; the change is in force until tenantd restarts", path ? path : "overrides",
                          strerror(-r));
        {
                const PlanNode *node = find(m, id, &t, NULL);
                char buf[512] = "";

                for (size_t i = 0; i < n; i++) {
                        size_t l = strlen(buf);
                        snprintf(buf + l, sizeof(buf) - l, "%s%s=%s", i ? " " : "", keys[i], values[i][0] ? values[i] : "(policy)");
                }
                manager_event(m, id, node && node->klass ? node->klass->name : NULL, "reassign", "operator", "%s", buf);
                if (ret_text)
                        *ret_text = strdup_printf("%s: %s", id, buf);
        }
        return ENGINE_OK;
}

EngineStatus manager_stop(Manager *m, const char *id, char **ret_text) {
        _cleanup_free_ char *error = NULL;
        const TenantPolicy *t;
        const PlanNode *n = find(m, id, &t, ret_text);
        int r;

        if (!n)
                return ENGINE_INVALID;
        if (!manager_is_stopped(m, id)) {
                if (strv_add(&m->stopped, id) < 0)
                        return ENGINE_FAILED;
                r = stopped_save(m);
                if (r < 0)
                        log_error("cannot save %s/stopped: %s", m->state_dir, strerror(-r));
        }
        r = backend_stop(m->backend, n, STOP_TIMEOUT_USEC, &error);
        if (r < 0) {
                if (ret_text)
                        *ret_text = strdup_printf("%s", error ? error : strerror(-r));
                manager_event(m, id, n->klass->name, "stop-failed", "operator", "%s", error ? error : strerror(-r));
                return ENGINE_FAILED;
        }
        manager_event(m, id, n->klass->name, "stop", "operator", "%s stopped; limits kept", n->unit);
        if (ret_text)
                *ret_text = strdup_printf("%s stopped", id);
        return ENGINE_OK;
}

EngineStatus manager_start(Manager *m, const char *id, char **ret_text) {
        const TenantPolicy *t;
        const PlanNode *n = find(m, id, &t, ret_text);
        EngineStatus st;
        int r;

        if (!n)
                return ENGINE_INVALID;
        if (!t->exec && t->kind != TENANT_VM) {
                if (ret_text)
                        *ret_text = strdup_printf("%s has nothing to start (no exec=); adopt its processes instead", id);
                return ENGINE_INVALID;
        }
        strv_remove(m->stopped, id);
        r = stopped_save(m);
        if (r < 0)
                log_error("cannot save %s/stopped: %s", m->state_dir, strerror(-r));
        st = manager_apply(m, NULL, "start", NULL);
        if (st == ENGINE_OK) {
                /* the apply replaced the plan: n and t are gone, find the tenant again */
                n = find(m, id, &t, NULL);
                manager_event(m, id, n ? n->klass->name : NULL, "start", "operator", "started");
                if (ret_text)
                        *ret_text = strdup_printf("%s started", id);
        } else if (ret_text)
                *ret_text = strdup_printf("cannot start %s: the apply failed, see the events", id);
        return st;
}

EngineStatus manager_adopt(Manager *m, const char *id, const pid_t *pids, size_t n, char **ret_text) {
        ApplyReport rep = {0};
        const TenantPolicy *t;
        const PlanNode *node = find(m, id, &t, ret_text);
        int r;

        if (!node)
                return ENGINE_INVALID;
        r = backend_adopt(m->backend, &m->run->plan, &m->run->set, id, pids, n, &rep);
        if (r < 0) {
                if (ret_text)
                        *ret_text = strdup_printf("%s", rep.error ? rep.error : strerror(-r));
                apply_report_done(&rep);
                return r == -ESRCH || r == -EINVAL ? ENGINE_INVALID : ENGINE_FAILED;
        }
        apply_report_done(&rep);
        manager_event(m, id, node->klass->name, "adopt", "operator", "%zu process%s", n, n == 1 ? "" : "es");
        if (ret_text)
                *ret_text = strdup_printf("%zu process%s moved into %s", n, n == 1 ? "" : "es", node->unit);
        return ENGINE_OK;
}

/* ---- reading ------------------------------------------------------------- */

static int row_fill(Manager *m, const PlanNode *n, TenantRow *row) {
        const TenantPolicy *t = &m->run->set.tenants[n->tenant];
        static const char *const kinds[] = { [TENANT_PROCESS] = "process", [TENANT_CONTAINER] = "container",
                                             [TENANT_VM] = "vm" };
        _cleanup_free_ char *path = NULL;
        int r;

        row->id = strdup(t->id);
        row->klass = strdup(n->klass->name);
        row->kind = strdup(kinds[t->kind]);
        row->unit = strdup(n->unit);
        row->step = strdup("");
        if (!row->id || !row->klass || !row->kind || !row->unit || !row->step)
                return -ENOMEM;
        r = backend_cgroup_path(m->backend, n, &path);
        if (r < 0)
                path = strdup(n->path);
        if (!path)
                return -ENOMEM;
        r = tenant_row_read(backend_cgfs(m->backend), path, row);
        if (r < 0)
                return r;
        if (m->reactor) {
                size_t n_all = reactor_state(m->reactor, NULL, 0);
                _cleanup_free_ ReactTenantState *st = calloc(n_all ? n_all : 1, sizeof(ReactTenantState));

                if (st) {
                        reactor_state(m->reactor, st, n_all);
                        for (size_t i = 0; i < n_all; i++)
                                if (streq(st[i].id, t->id) && st[i].step != REACT_NONE) {
                                        free(row->step);
                                        row->step = strdup_printf("%s%s", react_action_to_string(st[i].step),
                                                                  st[i].pending ? " (pending)" : "");
                                }
                }
        }
        if (manager_is_stopped(m, t->id) && (streq(row->state, "empty") || streq(row->state, "missing"))) {
                free(row->state);
                row->state = strdup("stopped");
        }
        return row->state ? 0 : -ENOMEM;
}

int manager_rows(Manager *m, const char *id, TenantRows *ret) {
        int r;

        *ret = (TenantRows) {0};
        if (!m->run)
                return id ? -ENOENT : 0;
        for (size_t i = 0; i < m->run->plan.n_nodes; i++) {
                const PlanNode *n = &m->run->plan.nodes[i];
                TenantRow *row;

                if (n->type != PLAN_TENANT || (id && !streq(m->run->set.tenants[n->tenant].id, id)))
                        continue;
                row = tenant_rows_add(ret);
                if (!row)
                        return -ENOMEM;
                r = row_fill(m, n, row);
                if (r < 0)
                        return r;
        }
        return id && ret->n == 0 ? -ENOENT : 0;
}

int manager_tenant_json(Manager *m, const char *id, char **ret) {
        _cleanup_(tenant_rows_done) TenantRows rows = {0};
        const TenantPolicy *t;
        const PlanNode *n = find(m, id, &t, NULL);
        const Override *ov;
        json_object *o, *pol, *ovj;
        int r;

        if (!n)
                return -ENOENT;
        r = manager_rows(m, id, &rows);
        if (r < 0)
                return r;
        o = json_object_new_object();
        pol = json_object_new_object();
        json_object_object_add(pol, "file", json_object_new_string(t->file ? t->file : ""));
        json_object_object_add(pol, "class", json_object_new_string(t->class_name));
        json_object_object_add(pol, "exec", t->exec ? json_object_new_string(t->exec) : NULL);
        json_object_object_add(pol, "qmp", t->vm_qmp ? json_object_new_string(t->vm_qmp) : NULL);
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "policy", pol);
        json_object_object_add(o, "plan", plan_node_json(&m->run->plan, &m->run->set, n));
        json_object_object_add(o, "live", tenant_row_json(&rows.v[0]));
        ovj = json_object_new_object();
        ov = overrides_find(&m->overrides, id);
        for (unsigned k = 0; ov && k < _OVERRIDE_MAX; k++)
                if (ov->value[k])
                        json_object_object_add(ovj, override_key_to_string((OverrideKey) k),
                                               json_object_new_string(ov->value[k]));
        json_object_object_add(o, "overrides", ovj);
        json_object_object_add(o, "stopped", json_object_new_boolean(manager_is_stopped(m, id)));
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}
