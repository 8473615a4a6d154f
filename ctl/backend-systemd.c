/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The systemd backend (see backend.h): slices and tenant units through sd-bus,
 * values as unit properties, and the exceptions systemd cannot express written
 * to cgroupfs below the unit's ControlGroup.
 *
 * One apply is: read every unit's state and properties; check what can be
 * checked (no processes in slices, no tenant running in another class slice,
 * the command lines, the hugetlb controller) before changing anything; then,
 * parents first, start what is missing (StartTransientUnit with every
 * property, so a service's first instruction already runs under its limits)
 * and set, one SetUnitProperties(runtime) call per property, what differs
 * from the desired value, either in systemd's property or in the kernel's
 * file (a value changed behind systemd's back is put back the same way);
 * read the kernel's files back, because systemd logs a value the kernel
 * refuses and carries on; write the exceptions. Tenant units whose policy is
 * gone are stopped before all that, once the checks passed, so what they hold
 * no longer counts against lowered limits. Every change is journaled and
 * undone in reverse when a later step fails (a stopped stale tenant stays
 * stopped).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "backend-internal.h"
#include "launch.h"
#include "sdbus.h"

typedef struct SystemdBackend {
        Backend base;
        Sdbus *bus;
        UnitCaps caps;
} SystemdBackend;

typedef enum SdUndoType {
        SD_UNDO_STARTED,   /* a unit this apply started: stop it */
        SD_UNDO_PROP,      /* a property this apply changed: set the old value */
        SD_UNDO_FILE,      /* a cgroupfs exception this apply wrote */
        SD_UNDO_MOVED,     /* an adopted process: move it back */
} SdUndoType;

typedef struct SdUndo {
        SdUndoType type;
        char *unit;
        const char *prop;
        UnitValue old;
        char *path;        /* FILE: cgroup relative to the root; MOVED: the process's old cgroup */
        char attr[48];
        char *old_text;
        pid_t pid;
} SdUndo;

typedef struct Ctx {
        SystemdBackend *b;
        Cgfs *c;
        const Plan *p;
        const PolicySet *s;
        const ApplyOptions *o;
        ApplyReport *rep;
        UnitState *st;          /* per plan node */
        bool *known;            /* systemd has the unit loaded */
        char ***argv;           /* per plan node: what a tenant service runs, NULL for scopes */
        SdUndo *undo;
        size_t n_undo;
        unsigned writes;        /* properties set */
        bool need_hugetlb;
        uint64_t since;         /* CLOCK_REALTIME at the start, for journal lookups */
} Ctx;

static const char *who(const Ctx *x, const PlanNode *n, char *buf, size_t size) {
        if (n->tenant >= 0 && (size_t) n->tenant < x->s->n_tenants)
                snprintf(buf, size, "tenant '%s' (%s)", x->s->tenants[n->tenant].id, n->unit);
        else
                snprintf(buf, size, "%s", n->unit);
        return buf;
}
#define WHO(x, n) who(x, n, (char[TENANT_ID_MAX * 5 + 64]) { 0 }, TENANT_ID_MAX * 5 + 64)

static bool unit_is_service(const char *unit) {
        size_t n = strlen(unit);
        return n > 8 && streq(unit + n - 8, ".service");
}

/* ControlGroup "/tenants.slice/x" -> "tenants.slice/x"; NULL without a cgroup */
static const char *rel_cgroup(const UnitState *st) {
        if (!st->control_group || st->control_group[0] != '/' || st->control_group[1] == '\0')
                return NULL;
        return st->control_group + 1;
}

/* ---- the journal of this apply ------------------------------------------------ */

static SdUndo *undo_push(Ctx *x, SdUndoType type) {
        SdUndo *nv = reallocarray(x->undo, x->n_undo + 1, sizeof(SdUndo));

        if (!nv)
                return NULL;
        x->undo = nv;
        nv[x->n_undo] = (SdUndo) { .type = type };
        return &nv[x->n_undo++];
}

static void undo_free(Ctx *x) {
        for (size_t i = 0; i < x->n_undo; i++) {
                free(x->undo[i].unit);
                free(x->undo[i].path);
                free(x->undo[i].old_text);
        }
        free(x->undo);
        x->undo = NULL;
        x->n_undo = 0;
}

static unsigned rollback(Ctx *x) {
        uint64_t timeout = x->o->kill_timeout_usec + x->o->job_timeout_usec;
        unsigned undone = 0;

        for (size_t i = x->n_undo; i-- > 0;) {
                SdUndo *u = &x->undo[i];
                int r = 0;

                switch (u->type) {
                case SD_UNDO_STARTED:
                        r = sdbus_stop_unit(x->b->bus, u->unit, timeout, NULL);
                        (void) sdbus_reset_failed(x->b->bus, u->unit);
                        break;
                case SD_UNDO_PROP:
                        r = sdbus_set_property(x->b->bus, u->unit, u->prop, &u->old);
                        break;
                case SD_UNDO_FILE:
                        r = cgfs_write(x->c, u->path, u->attr, u->old_text);
                        break;
                case SD_UNDO_MOVED:
                        r = move_pid_to_cgroup(u->pid, u->path);
                        break;
                }
                if (r >= 0)
                        undone++;
        }
        return undone;
}

/* ---- state and preflight ----------------------------------------------------------- */

static int read_state(Ctx *x, size_t i) {
        const PlanNode *n = &x->p->nodes[i];
        int r;

        if (x->known[i])
                unit_state_done(&x->st[i]);
        x->known[i] = false;
        r = sdbus_unit_state(x->b->bus, n->unit, &x->st[i]);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return apply_fail(x->rep, r, "%s: cannot read the unit's state: %s", n->unit,
                                  sdbus_last_error(x->b->bus));
        x->known[i] = true;
        return 0;
}

static bool running(const Ctx *x, size_t i) {
        return x->known[i] && unit_state_is_running(&x->st[i]);
}

/* argv[0] as systemd will run it: absolute, found in PATH like execvp(). */
static int find_exec(const char *name, char **ret) {
        const char *path = getenv("PATH");

        if (strchr(name, '/')) {
                if (name[0] != '/')
                        return -EINVAL;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        if (!path || !*path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *cand = strdup_printf("%.*s/%s", (int) n, p, name);
                struct stat st;

                if (!cand)
                        return -ENOMEM;
                if (n > 0 && p[0] == '/' && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                        *ret = TAKE_PTR(cand);
                        return 0;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

static int prepare_argv(Ctx *x, size_t i) {
        const PlanNode *n = &x->p->nodes[i];
        const TenantPolicy *t = &x->s->tenants[n->tenant];
        _cleanup_free_ char *exe = NULL;
        int r;

        if (!unit_is_service(n->unit))
                return 0; /* a scope: processes are adopted */
        r = tenant_argv(t, n, &x->argv[i]);
        if (r < 0)
                return apply_fail(x->rep, r == -ENOENT ? -EINVAL : r,
                                  "%s: exec = '%s': cannot build the command line: %s", WHO(x, n),
                                  t->exec ? t->exec : "(VM)",
                                  r == -EINVAL ? "unbalanced quotes or an empty command" : strerror(-r));
        /* systemd 252 expands $VAR in a command it gets over D-Bus (there is no
         * ExecStartEx no-env-expand it can write back), but writes the command into
         * the transient unit with '$' escaped: after a daemon-reload a restart runs
         * different argv. No '$', then, rather than a tenant that changes. */
        for (char **a = x->argv[i]; *a; a++)
                if (strchr(*a, '$'))
                        return apply_fail(x->rep, -EINVAL,
                                          "%s: exec = '%s': '$' in a command line: systemd 252 expands $VAR in a command it gets over D-Bus but not once it has re-read the unit after a daemon-reload; put the command into a script",
                                          WHO(x, n), t->exec ? t->exec : "(VM)");
        r = find_exec(x->argv[i][0], &exe);
        if (r < 0)
                return apply_fail(x->rep, r, "%s: '%s': %s", WHO(x, n), x->argv[i][0],
                                  r == -EINVAL ? "a relative path; give an absolute path or a name in PATH"
                                  : r == -ENOENT ? "not found in PATH"
                                                 : strerror(-r));
        return 0;
}

static int preflight(Ctx *x) {
        int r;

        if (x->need_hugetlb) {
                _cleanup_free_ char *missing = NULL;

                r = cgfs_has_controllers(x->c, "", "hugetlb", &missing);
                if (r < 0)
                        return apply_fail(x->rep, r, "%s: cannot read cgroup.controllers: %s", cgfs_root(x->c),
                                          strerror(-r));
                if (r == 0)
                        return apply_fail(x->rep, -EOPNOTSUPP,
                                          "%s: controllers not available: %s (hugetlb limits are written to cgroupfs; the kernel must offer the controller)",
                                          cgfs_root(x->c), missing);
        }
        for (size_t i = 0; i < x->p->n_nodes; i++) {
                const PlanNode *n = &x->p->nodes[i];
                const UnitState *st = &x->st[i];

                if (n->type != PLAN_TENANT) {
                        _cleanup_free_ pid_t *pids = NULL;
                        const char *cg = running(x, i) ? rel_cgroup(st) : NULL;
                        size_t np = 0;

                        /* systemd never puts processes into a slice, but root can */
                        if (!cg || cgfs_pids(x->c, cg, &pids, &np) < 0 || np == 0)
                                continue;
                        return apply_fail(x->rep, -EBUSY,
                                          "%s/%s holds processes (PID %d): cgroup v2 allows processes only in leaves; move them into a tenant first",
                                          cgfs_root(x->c), cg, (int) pids[0]);
                }
                if (running(x, i)) {
                        const char *want = x->p->nodes[n->parent].unit;

                        if (!streq(st->slice, want))
                                return apply_fail(x->rep, -EBUSY,
                                                  "%s runs in %s, its policy puts it in %s: systemd cannot move a running unit to another slice; stop it (systemctl stop '%s') and apply again",
                                                  WHO(x, n), st->slice, want, n->unit);
                        continue;
                }
                r = prepare_argv(x, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- starting units ------------------------------------------------------------------ */

typedef struct StartArgs {
        Ctx *x;
        size_t i;
        const UnitPlan *up;
        const pid_t *pids;
        size_t n_pids;
        const char *exe;
} StartArgs;

static int append_start(sd_bus_message *m, void *userdata) {
        const StartArgs *a = userdata;
        const Ctx *x = a->x;
        const PlanNode *n = &x->p->nodes[a->i];
        _cleanup_free_ char *desc = NULL;
        int r;

        if (n->type == PLAN_ROOT_SLICE)
                desc = strdup("tenantd: all tenants");
        else if (n->type == PLAN_CLASS_SLICE)
                desc = strdup_printf("tenantd: class %s", n->klass ? n->klass->name : "?");
        else {
                const TenantPolicy *t = &x->s->tenants[n->tenant];
                desc = t->description ? strdup_printf("tenantd tenant %s: %s", t->id, t->description)
                                      : strdup_printf("tenantd tenant %s", t->id);
        }
        if (!desc)
                return -ENOMEM;
        r = sd_bus_message_append(m, "(sv)", "Description", "s", desc);
        if (r < 0)
                return r;

        if (n->type == PLAN_TENANT) {
                r = sd_bus_message_append(m, "(sv)(sv)", "Slice", "s", x->p->nodes[n->parent].unit,
                                          "TimeoutStopUSec", "t", x->o->kill_timeout_usec);
                if (r < 0)
                        return r;
        }
        if (a->exe) {
                /* Type=exec: the start job fails when the command cannot be executed.
                 * ExecStart, not ExecStartEx: systemd 252 writes ExecStartEx= into the
                 * transient unit file, cannot parse it back, and after a daemon-reload
                 * the service has no command ("Refusing"). argv has no '$' (preflight). */
                r = sd_bus_message_append(m, "(sv)", "Type", "s", "exec");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "ExecStart");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "a(sasb)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(sasb)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'r', "sasb");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", a->exe);
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, x->argv[a->i]);
                if (r >= 0)
                        r = sd_bus_message_append(m, "b", 0);
                for (int k = 0; k < 4 && r >= 0; k++)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        if (a->n_pids > 0) {
                _cleanup_free_ uint32_t *v = calloc(a->n_pids, sizeof(uint32_t));

                if (!v)
                        return -ENOMEM;
                for (size_t k = 0; k < a->n_pids; k++)
                        v[k] = (uint32_t) a->pids[k];
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "PIDs");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "au");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'u', v, a->n_pids * sizeof(uint32_t));
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < a->up->n_props; k++) {
                r = sdbus_append_value(m, a->up->props[k].name, &a->up->props[k].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A VM's QMP socket lives in a directory that must exist, and a socket left by
 * a VM that is gone would make QEMU fail to bind. */
/* A loaded unit that is not running (failed, or inactive and not yet
 * collected) cannot be created again: reset it and give systemd a moment to
 * drop it. One it keeps (a unit file, a reference) is left to
 * StartTransientUnit, whose refusal names the reason. */
static int clear_dead_unit(Ctx *x, size_t i) {
        const PlanNode *n = &x->p->nodes[i];
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 2000000;
        int r;

        if (!x->known[i])
                return 0;
        r = sdbus_reset_failed(x->b->bus, n->unit);
        if (r < 0)
                return apply_fail(x->rep, r, "%s: cannot reset the failed unit: %s", WHO(x, n),
                                  sdbus_last_error(x->b->bus));
        for (;;) {
                r = read_state(x, i);
                if (r < 0)
                        return r;
                if (!x->known[i])
                        return 0;
                if (running(x, i))
                        return 0; /* someone started it meanwhile: reconcile it instead */
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return 0;
                (void) poll(NULL, 0, 50);
        }
}

/* What systemd's own exit statuses of a service's process mean (systemd.exec(5),
 * "Process Exit Codes"), for the ones a tenant runs into. */
static const char *exit_status_meaning(int status) {
        switch (status) {
        case 203:
                return ": the command could not be executed";
        case 219:
                return ": systemd could not put it into its cgroup (see PID 1's journal)";
        default:
                return "";
        }
}

/* A slice with a unit file (units/tenants*.slice, installed): StartUnit and
 * wait for its job. 1: started, without tenantd's properties yet. */
static int start_file_slice(Ctx *x, size_t i) {
        const PlanNode *n = &x->p->nodes[i];
        _cleanup_free_ char *result = NULL;
        SdUndo *u;
        int r;

        r = sdbus_start_unit(x->b->bus, n->unit, x->o->job_timeout_usec, &result);
        if (r < 0 && !result && r != -ETIMEDOUT)
                return apply_fail(x->rep, r, "%s: cannot start: %s", WHO(x, n), sdbus_last_error(x->b->bus));
        u = undo_push(x, SD_UNDO_STARTED);
        if (!u || !(u->unit = strdup(n->unit)))
                return -ENOMEM;
        if (r < 0)
                return apply_fail(x->rep, r, "%s: start job %s", WHO(x, n), result ? result : "did not finish in time");
        x->rep->created++;
        r = read_state(x, i);
        if (r < 0)
                return r;
        if (!running(x, i))
                return apply_fail(x->rep, -ESRCH, "%s: started, but the unit is %s now", WHO(x, n),
                                  x->known[i] ? x->st[i].active_state : "gone");
        return 1;
}

/* Create and start the unit with every property. 0: started (the caller
 * reads the kernel's files back), 1: it was running already, or is a slice
 * started from its unit file (reconcile it). */
static int start_unit(Ctx *x, size_t i, const UnitPlan *up, const pid_t *pids, size_t n_pids) {
        const PlanNode *n = &x->p->nodes[i];
        _cleanup_free_ char *exe = NULL, *result = NULL;
        StartArgs a = { .x = x, .i = i, .up = up, .pids = pids, .n_pids = n_pids };
        SdUndo *u;
        int r;

        r = clear_dead_unit(x, i);
        if (r < 0)
                return r;
        if (running(x, i))
                return 1;
        if (n->type != PLAN_TENANT) {
                /* the slices tenantd ships (units/) have unit files: start those,
                 * the caller sets their properties at runtime like a running one's */
                r = sdbus_unit_has_file(x->b->bus, n->unit);
                if (r < 0)
                        return apply_fail(x->rep, r, "%s: cannot load the unit: %s", WHO(x, n),
                                          sdbus_last_error(x->b->bus));
                if (r > 0)
                        return start_file_slice(x, i);
        }
        if (x->argv[i]) {
                r = find_exec(x->argv[i][0], &exe);
                if (r < 0)
                        return apply_fail(x->rep, r, "%s: '%s': not found", WHO(x, n), x->argv[i][0]);
                a.exe = exe;
                r = launch_prepare_qmp(&x->s->tenants[n->tenant]);
                if (r < 0)
                        return apply_fail(x->rep, r, "%s: cannot prepare the QMP socket directory: %s", WHO(x, n),
                                          strerror(-r));
        }

        r = sdbus_start_transient(x->b->bus, n->unit, append_start, &a, x->o->job_timeout_usec, &result);
        if (r < 0 && !result && r != -ETIMEDOUT)
                /* refused by systemd: nothing was created */
                return apply_fail(x->rep, r, "%s: cannot start: %s", WHO(x, n), sdbus_last_error(x->b->bus));

        /* a job ran (or runs): the unit exists now and belongs to this apply */
        u = undo_push(x, SD_UNDO_STARTED);
        if (!u || !(u->unit = strdup(n->unit)))
                return -ENOMEM;
        if (r == -EIO && streq_ptr(result, "unknown")) {
                /* the job vanished without a JobRemoved we saw: judge by the unit */
                r = read_state(x, i);
                if (r < 0)
                        return r;
                r = running(x, i) ? 0 : -EIO;
        }
        if (r < 0) {
                UnitState st = { .load_state = NULL };
                bool have = sdbus_unit_state(x->b->bus, n->unit, &st) >= 0;

                if (r == -ETIMEDOUT)
                        apply_fail(x->rep, r, "%s: the start job did not finish within %" PRIu64 " s", WHO(x, n),
                                   x->o->job_timeout_usec / 1000000);
                else if (have && st.result && !streq(st.result, "success") && unit_is_service(n->unit))
                        apply_fail(x->rep, r, "%s: start job %s: the unit's result is '%s' (main process status %d%s)",
                                   WHO(x, n), result, st.result, st.exec_main_status, exit_status_meaning(st.exec_main_status));
                else
                        apply_fail(x->rep, r, "%s: start job %s%s%s", WHO(x, n), result ? result : "failed",
                                   have ? ", the unit is " : "", have ? st.active_state : "");
                if (have)
                        unit_state_done(&st);
                return r;
        }

        x->rep->created++;
        x->writes += (unsigned) up->n_props;
        if (x->argv[i])
                x->rep->started++;
        r = read_state(x, i);
        if (r < 0)
                return r;
        if (!running(x, i))
                return apply_fail(x->rep, -ESRCH, "%s: started, but the unit is %s now (%s)", WHO(x, n),
                                  x->known[i] ? x->st[i].active_state : "gone",
                                  x->argv[i] ? "the command exited at once" : "no process left");
        return 0;
}

/* ---- properties ------------------------------------------------------------------------- */

static int read_kernel(Ctx *x, size_t i, const char *attr, char **ret) {
        const char *cg = rel_cgroup(&x->st[i]);

        if (!cg)
                return -ENXIO;
        return cgfs_read(x->c, cg, attr, ret);
}

/* systemd writes the cgroup after replying and only logs what the kernel
 * refuses: read every changed file back. */
static int verify_kernel(Ctx *x, size_t i, const UnitPlan *up, const bool *check) {
        const PlanNode *n = &x->p->nodes[i];
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 2000000;

        for (;;) {
                size_t bad = SIZE_MAX;
                _cleanup_free_ char *got = NULL;
                int r = 0;

                (void) sdbus_sync(x->b->bus);
                for (size_t k = 0; k < up->n_props && bad == SIZE_MAX; k++) {
                        free(got);
                        got = NULL;
                        if (!check[k])
                                continue;
                        r = read_kernel(x, i, up->props[k].attr.name, &got);
                        if (!cgfs_value_is(r, got, up->props[k].attr.value))
                                bad = k;
                }
                if (bad == SIZE_MAX)
                        return 0;
                if (now_usec(CLOCK_MONOTONIC) < deadline) {
                        (void) poll(NULL, 0, 50);
                        continue;
                }

                const UnitProp *pr = &up->props[bad];
                char v[4096];
                unit_value_format(&pr->value, v, sizeof(v));
                if (r == -ENOENT)
                        return apply_fail(x->rep, -ENOENT,
                                          "%s: %s = %s: systemd accepted it, but %s%s/%s does not exist: not supported by this kernel (file missing)",
                                          WHO(x, n), pr->name, v, cgfs_root(x->c), x->st[i].control_group,
                                          pr->attr.name);
                if (r < 0)
                        return apply_fail(x->rep, r, "%s: cannot read back %s%s/%s: %s", WHO(x, n), cgfs_root(x->c),
                                          x->st[i].control_group, pr->attr.name, strerror(-r));
                r = sdbus_journal_cgroup_errno(n->unit, pr->attr.name, x->since, 1000000);
                return apply_fail(x->rep, r > 0 ? -r : -EIO,
                                  "%s: %s = %s: systemd accepted it, but the kernel refused it: %s%s/%s reads '%s', not '%s': %s",
                                  WHO(x, n), pr->name, v, cgfs_root(x->c), x->st[i].control_group, pr->attr.name, got,
                                  pr->attr.value,
                                  r > 0 ? strerror(r) : "no error logged by systemd (see its journal)");
        }
}

static int verify_all(Ctx *x, size_t i, const UnitPlan *up) {
        bool all[UNIT_PROPS_MAX];

        for (size_t k = 0; k < UNIT_PROPS_MAX; k++)
                all[k] = true;
        return verify_kernel(x, i, up, all);
}

static int reconcile_props(Ctx *x, size_t i, const UnitPlan *up) {
        const PlanNode *n = &x->p->nodes[i];
        bool changed[UNIT_PROPS_MAX] = { false }, any = false;
        int r;

        for (size_t k = 0; k < up->n_props; k++) {
                const UnitProp *pr = &up->props[k];
                const UnitValue *cur = unit_state_value(&x->st[i], pr->name);
                bool differs = !cur || !unit_value_equal(cur, &pr->value);

                if (!differs) {
                        /* systemd's property is right; is the kernel's file? */
                        _cleanup_free_ char *got = NULL;
                        r = read_kernel(x, i, pr->attr.name, &got);
                        differs = !cgfs_value_is(r, got, pr->attr.value);
                }
                if (!differs)
                        continue;
                if (cur) {
                        SdUndo *u = undo_push(x, SD_UNDO_PROP);
                        if (!u || !(u->unit = strdup(n->unit)))
                                return -ENOMEM;
                        u->prop = pr->name;
                        u->old = *cur;
                }
                r = sdbus_set_property(x->b->bus, n->unit, pr->name, &pr->value);
                if (r < 0) {
                        char v[4096];
                        if (cur)
                                x->n_undo--; /* nothing changed */
                        return apply_fail(x->rep, r, "%s: %s = %s: %s", WHO(x, n), pr->name,
                                          unit_value_format(&pr->value, v, sizeof(v)), sdbus_last_error(x->b->bus));
                }
                x->writes++;
                changed[k] = any = true;
        }
        return any ? verify_kernel(x, i, up, changed) : 0;
}

/* ---- the cgroupfs exceptions ------------------------------------------------------------ */

static int write_files(Ctx *x, size_t i, const UnitPlan *up) {
        const PlanNode *n = &x->p->nodes[i];
        const char *cg = rel_cgroup(&x->st[i]);
        int r;

        if (!cg)
                return apply_fail(x->rep, -ENXIO, "%s: the unit has no cgroup (ControlGroup is empty)", WHO(x, n));
        /* hugetlb is not a controller systemd 252 knows: it never adds it to (or
         * removes it from) cgroup.subtree_control, so tenantd enables it top-down */
        if (n->type != PLAN_TENANT && x->need_hugetlb) {
                r = cgfs_enable_controllers(x->c, cg, "hugetlb");
                if (r < 0)
                        return apply_fail(x->rep, r, "%s/%s: cannot enable controllers 'hugetlb': %s", cgfs_root(x->c),
                                          cg, strerror(-r));
        }
        for (size_t k = 0; k < up->n_files; k++) {
                const AttrValue *f = &up->files[k];
                char *old = NULL;
                SdUndo *u;

                r = cgfs_set(x->c, cg, f->name, f->value, &old);
                if (r == -ENOENT)
                        return apply_fail(x->rep, r, "%s %s/%s: %s = %s: not supported by this kernel (file missing)",
                                          WHO(x, n), cgfs_root(x->c), cg, f->name, f->value);
                if (r < 0)
                        return apply_fail(x->rep, r, "%s %s/%s: %s = %s: %s", WHO(x, n), cgfs_root(x->c), cg, f->name,
                                          f->value, strerror(-r));
                if (r == 0)
                        continue;
                u = undo_push(x, SD_UNDO_FILE);
                if (!u || !(u->path = strdup(cg))) {
                        free(old);
                        return -ENOMEM;
                }
                snprintf(u->attr, sizeof(u->attr), "%s", f->name);
                u->old_text = old;
        }
        return 0;
}

/* ---- apply ---------------------------------------------------------------------------------- */

static int apply_node(Ctx *x, size_t i) {
        const PlanNode *n = &x->p->nodes[i];
        UnitPlan up;
        int r;

        unit_plan_from_node(n, &x->b->caps, &up);
        if (!running(x, i)) {
                for (char *const *k = x->o->no_start; n->type == PLAN_TENANT && k && *k; k++)
                        if (streq(*k, x->s->tenants[n->tenant].id))
                                return 0; /* stopped by the operator: created again by start */
                if (n->type == PLAN_TENANT && !x->argv[i]) {
                        /* a scope needs processes: adopt creates it */
                        char **nv = reallocarray(x->rep->pending_ids, x->rep->pending + 2, sizeof(char *));
                        if (!nv)
                                return -ENOMEM;
                        x->rep->pending_ids = nv;
                        nv[x->rep->pending] = strdup(x->s->tenants[n->tenant].id);
                        if (!nv[x->rep->pending])
                                return -ENOMEM;
                        nv[++x->rep->pending] = NULL;
                        return 0;
                }
                r = start_unit(x, i, &up, NULL, 0);
                if (r < 0)
                        return r;
                r = r > 0 ? reconcile_props(x, i, &up) /* it came back by itself */
                          : verify_all(x, i, &up);
        } else
                r = reconcile_props(x, i, &up);
        if (r < 0)
                return r;
        return write_files(x, i, &up);
}

static bool is_tenants_slice(const char *slice) {
        size_t n = strlen(slice);
        return streq(slice, "tenants.slice") || (strncmp(slice, "tenants-", 8) == 0 && n > 6 && streq(slice + n - 6, ".slice"));
}

static bool plan_has_unit(const Plan *p, const char *unit) {
        for (size_t i = 0; i < p->n_nodes; i++)
                if (streq(p->nodes[i].unit, unit))
                        return true;
        return false;
}

static int remove_stale(Ctx *x) {
        static const char *const patterns[] = { "tenant-*.service", "tenant-*.scope", NULL };
        _cleanup_(strv_freep) char **units = NULL;
        int r;

        r = sdbus_list_units(x->b->bus, patterns, &units);
        if (r < 0)
                return apply_fail(x->rep, r, "cannot list tenant units: %s", sdbus_last_error(x->b->bus));
        for (char **u = units; *u; u++) {
                UnitState st;
                bool run, failed, ours;

                if (plan_has_unit(x->p, *u))
                        continue;
                if (sdbus_unit_state(x->b->bus, *u, &st) < 0)
                        continue;
                run = unit_state_is_running(&st);
                failed = streq(st.active_state, "failed");
                ours = is_tenants_slice(st.slice);
                unit_state_done(&st);
                if (!ours || (!run && !failed))
                        continue; /* not ours, or nothing left of it */
                if (run) {
                        r = sdbus_stop_unit(x->b->bus, *u, x->o->kill_timeout_usec + x->o->job_timeout_usec, NULL);
                        if (r < 0)
                                return apply_fail(x->rep, r, "%s: cannot stop stale tenant unit: %s", *u,
                                                  sdbus_last_error(x->b->bus));
                }
                (void) sdbus_reset_failed(x->b->bus, *u);
                x->rep->removed++;
        }
        return 0;
}

static int ctx_init(Ctx *x, SystemdBackend *b, const Plan *p, const PolicySet *s, const ApplyOptions *o,
                    ApplyReport *rep) {
        *x = (Ctx) { .b = b, .c = b->base.cgfs, .p = p, .s = s, .o = o, .rep = rep };
        x->st = calloc(p->n_nodes ? p->n_nodes : 1, sizeof(UnitState));
        x->known = calloc(p->n_nodes ? p->n_nodes : 1, sizeof(bool));
        x->argv = calloc(p->n_nodes ? p->n_nodes : 1, sizeof(char **));
        if (!x->st || !x->known || !x->argv)
                return -ENOMEM;
        x->since = now_usec(CLOCK_REALTIME);
        for (size_t i = 0; i < p->n_nodes; i++) {
                UnitPlan up;
                unit_plan_from_node(&p->nodes[i], &b->caps, &up);
                for (size_t k = 0; k < up.n_files; k++)
                        x->need_hugetlb |= strncmp(up.files[k].name, "hugetlb.", 8) == 0;
        }
        return 0;
}

static void ctx_done(Ctx *x) {
        for (size_t i = 0; x->p && i < x->p->n_nodes; i++) {
                if (x->known && x->known[i])
                        unit_state_done(&x->st[i]);
                if (x->argv)
                        strv_free(x->argv[i]);
        }
        free(x->st);
        free(x->known);
        free(x->argv);
        undo_free(x);
}

static int check_plan(const Plan *p, const PolicySet *s, ApplyReport *rep) {
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];

                if (!n->unit || strchr(n->unit, '/') ||
                    (n->type == PLAN_TENANT && (n->tenant < 0 || (size_t) n->tenant >= s->n_tenants)) ||
                    (n->type != PLAN_ROOT_SLICE && (n->parent < 0 || (size_t) n->parent >= i)))
                        return apply_fail(rep, -EINVAL, "refusing plan node '%s'", n->unit ? n->unit : "(null)");
        }
        return 0;
}

static int systemd_apply(Backend *base, const Plan *p, const PolicySet *s, const ApplyOptions *o,
                         ApplyReport *rep) {
        SystemdBackend *b = (SystemdBackend *) base;
        unsigned w0 = cgfs_writes(base->cgfs);
        Ctx x;
        int r;

        *rep = (ApplyReport) { .created = 0 };
        r = check_plan(p, s, rep);
        if (r < 0)
                return r;
        r = ctx_init(&x, b, p, s, o, rep);
        if (r < 0)
                goto finish;
        for (size_t i = 0; i < p->n_nodes && r >= 0; i++)
                r = read_state(&x, i);
        if (r >= 0)
                r = preflight(&x);
        if (r < 0)
                goto finish; /* nothing changed yet */

        /* Stale tenants go first: what they still hold counts against the
         * limits this apply may lower (the kernel refuses a hugetlb.*.max below
         * the pages a VM being removed still has: EBUSY). Their policy is gone,
         * so a rollback does not bring them back. */
        if (o->remove_stale)
                r = remove_stale(&x);
        for (size_t i = 0; i < p->n_nodes && r >= 0; i++)
                r = apply_node(&x, i);
        if (r < 0) {
                if (!rep->error)
                        apply_fail(rep, r, "apply failed: %s", strerror(-r));
                rep->rolled_back = rollback(&x);
        }
finish:
        rep->writes = x.writes + (cgfs_writes(base->cgfs) - w0);
        ctx_done(&x);
        return r < 0 ? r : 0;
}

/* ---- adopt -------------------------------------------------------------------------------- */

static int systemd_adopt(Backend *base, const Plan *p, const PolicySet *s, const char *id, const pid_t *pids,
                         size_t n_pids, ApplyReport *rep) {
        SystemdBackend *b = (SystemdBackend *) base;
        const ApplyOptions o = { .kill_timeout_usec = 5000000, .job_timeout_usec = 60000000 };
        unsigned w0 = cgfs_writes(base->cgfs);
        const PlanNode *n;
        _cleanup_(strv_freep) char **old = NULL;
        size_t i, parent;
        pid_t missing = 0;
        UnitPlan up;
        Ctx x;
        int r;

        *rep = (ApplyReport) { .created = 0 };
        r = check_plan(p, s, rep);
        if (r < 0)
                return r;
        n = plan_find_tenant(p, s, id);
        if (!n)
                return apply_fail(rep, -ENOENT, "no tenant '%s' in the policies", id);
        if (n_pids == 0)
                return apply_fail(rep, -EINVAL, "tenant '%s': no PIDs to adopt", id);
        if (pids_exist(pids, n_pids, &missing) < 0)
                return apply_fail(rep, -ESRCH, "tenant '%s': no such process: PID %d", id, (int) missing);
        i = (size_t) (n - p->nodes);
        parent = (size_t) n->parent;

        old = calloc(n_pids + 1, sizeof(char *));
        if (!old)
                return -ENOMEM;
        for (size_t k = 0; k < n_pids; k++) {
                r = proc_pid_cgroup(pids[k], &old[k]);
                if (r < 0)
                        return apply_fail(rep, r, "tenant '%s': cannot read the cgroup of PID %d: %s", id, (int) pids[k],
                                          strerror(-r));
        }

        r = ctx_init(&x, b, p, s, &o, rep);
        if (r >= 0)
                r = read_state(&x, parent);
        if (r >= 0)
                r = read_state(&x, i);
        if (r < 0)
                goto finish;
        if (!running(&x, parent)) {
                r = apply_fail(rep, -ENOENT, "tenant '%s': its class slice %s is not running: apply the policies first",
                               id, p->nodes[parent].unit);
                goto finish;
        }
        if (running(&x, i) && !streq(x.st[i].slice, p->nodes[parent].unit)) {
                r = apply_fail(rep, -EBUSY, "%s runs in %s, its policy puts it in %s: stop it and adopt again",
                               WHO(&x, n), x.st[i].slice, p->nodes[parent].unit);
                goto finish;
        }

        unit_plan_from_node(n, &b->caps, &up);
        if (running(&x, i)) {
                /* journaled first: systemd moves them one by one and may stop halfway */
                for (size_t k = 0; k < n_pids; k++) {
                        SdUndo *u = undo_push(&x, SD_UNDO_MOVED);
                        if (!u || !(u->path = strdup(old[k]))) {
                                r = -ENOMEM;
                                goto rollback;
                        }
                        u->pid = pids[k];
                }
                r = sdbus_attach_pids(b->bus, n->unit, pids, n_pids);
                if (r < 0 && rel_cgroup(&x.st[i])) {
                        /* systemd 252 attaches processes only to units with
                         * Delegate=yes ("Process migration not available on
                         * non-delegated units"): move them into the unit's
                         * ControlGroup ourselves, which is all it would do */
                        r = 0;
                        for (size_t k = 0; k < n_pids && r >= 0; k++)
                                r = cgfs_attach(base->cgfs, rel_cgroup(&x.st[i]), pids[k]);
                        if (r < 0) {
                                r = apply_fail(rep, r, "%s: cannot attach the processes: %s (%s)", WHO(&x, n),
                                               strerror(-r), sdbus_last_error(b->bus));
                                goto rollback;
                        }
                } else if (r < 0) {
                        r = apply_fail(rep, r, "%s: cannot attach the processes: %s", WHO(&x, n),
                                       sdbus_last_error(b->bus));
                        goto rollback;
                }
                r = 1;
        } else if (unit_is_service(n->unit)) {
                r = apply_fail(rep, -ENXIO,
                               "%s is a service that is not running: apply starts it; processes can be adopted into it while it runs",
                               WHO(&x, n));
                goto finish;
        } else {
                size_t before = x.n_undo;
                int k;

                r = start_unit(&x, i, &up, pids, n_pids);
                if (r > 0) {
                        k = sdbus_attach_pids(b->bus, n->unit, pids, n_pids);
                        if (k < 0)
                                r = apply_fail(rep, k, "%s: cannot attach the processes: %s", WHO(&x, n),
                                               sdbus_last_error(b->bus));
                }
                /* a scope was created: the processes must leave it before it is
                 * stopped, so their way back is journaled after it, even when the
                 * start job failed halfway */
                if (x.n_undo == before && r < 0)
                        goto rollback;
                for (size_t j = 0; j < n_pids; j++) {
                        SdUndo *u = undo_push(&x, SD_UNDO_MOVED);
                        if (!u || !(u->path = strdup(old[j]))) {
                                r = -ENOMEM;
                                goto rollback;
                        }
                        u->pid = pids[j];
                }
                if (r < 0)
                        goto rollback;
        }
        rep->writes += (unsigned) n_pids;
        r = r > 0 ? reconcile_props(&x, i, &up) : verify_all(&x, i, &up);
        if (r >= 0)
                r = write_files(&x, i, &up);
        if (r >= 0)
                goto finish;
rollback:
        if (!rep->error)
                apply_fail(rep, r, "adopt failed: %s", strerror(-r));
        rep->rolled_back = rollback(&x);
finish:
        rep->writes += x.writes + (cgfs_writes(base->cgfs) - w0);
        ctx_done(&x);
        return r < 0 ? r : 0;
}

/* ---- the rest of the vtable ----------------------------------------------------------------- */

static int systemd_cgroup_path(Backend *base, const PlanNode *n, char **ret) {
        SystemdBackend *b = (SystemdBackend *) base;
        UnitState st;
        int r;

        r = sdbus_unit_state(b->bus, n->unit, &st);
        if (r == -ENOENT)
                return -ENXIO;
        if (r < 0)
                return r;
        if (!unit_state_is_running(&st) || !rel_cgroup(&st))
                r = -ENXIO;
        else {
                *ret = strdup(rel_cgroup(&st));
                r = *ret ? 0 : -ENOMEM;
        }
        unit_state_done(&st);
        return r;
}

static int systemd_stop(Backend *base, const PlanNode *n, uint64_t timeout_usec, char **ret_error) {
        SystemdBackend *b = (SystemdBackend *) base;
        _cleanup_free_ char *result = NULL;
        int r;

        r = sdbus_stop_unit(b->bus, n->unit, timeout_usec, &result);
        if (r < 0 && ret_error)
                *ret_error = strdup_printf("cannot stop %s: %s", n->unit,
                                           result ? result : sdbus_last_error(b->bus) ? sdbus_last_error(b->bus) : strerror(-r));
        return r;
}

static int systemd_set_memory_high(Backend *base, const PlanNode *n, uint64_t bytes) {
        SystemdBackend *b = (SystemdBackend *) base;

        return sdbus_set_memory_high(b->bus, n->unit, bytes);
}

static void systemd_free(Backend *base) {
        SystemdBackend *b = (SystemdBackend *) base;

        sdbus_free(b->bus);
        cgfs_free(base->cgfs);
        free(b);
}

static const BackendOps systemd_ops = {
        .name = "systemd",
        .starts_tenants = true,
        .apply = systemd_apply,
        .adopt = systemd_adopt,
        .cgroup_path = systemd_cgroup_path,
        .stop = systemd_stop,
        .set_memory_high = systemd_set_memory_high,
        .free = systemd_free,
};

int backend_systemd_open(const char *cgroup_root, Backend **ret, char **ret_error) {
        SystemdBackend *b;
        int r;

        if (sd_booted() <= 0) {
                if (ret_error)
                        *ret_error = strdup("systemd backend: systemd is not the init system on this host");
                return -EHOSTDOWN;
        }
        if (!cgroup_root_is_hierarchy_root(cgroup_root)) {
                if (ret_error)
                        *ret_error = strdup_printf(
                                "systemd backend: '%s' is not the root of the cgroup2 hierarchy; systemd manages the whole hierarchy (use the cgroupfs backend for a subtree)",
                                cgroup_root);
                return -EXDEV;
        }
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->base.ops = &systemd_ops;
        b->base.own_cgfs = true;
        r = cgfs_open(cgroup_root, NULL, &b->base.cgfs);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup_printf("cannot open cgroup root '%s': %s", cgroup_root, cgfs_open_strerror(r));
                free(b);
                return r;
        }
        r = sdbus_open(&b->bus, ret_error);
        if (r < 0) {
                cgfs_free(b->base.cgfs);
                free(b);
                return r;
        }
        unit_caps_from_version(sdbus_systemd_version(b->bus), &b->caps);
        *ret = &b->base;
        return 0;
}
