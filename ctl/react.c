/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reaction ladder: watched groups, the choice of tenant and step, pacing,
 * recovery, the state file and the sd-event glue. The ladder itself is
 * described in react.h; the writes are react-act.c's. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "react.h"

#define STEPS_MAX 32
#define HOST_RANK UINT_MAX
#define PAGE UINT64_C(4096)
#define PENDING_POLL_USEC (10 * UINT64_C(1000))

typedef struct Step {
        ReactAction action;      /* REACT_BALLOON .. REACT_EVICT */
        uint64_t from, to;       /* balloon: bytes; throttle: memory.high; reclaim: current, amount */
        uint64_t seq;            /* reactor-wide order: undo goes newest first */
} Step;

typedef enum Pending {
        PENDING_NONE,
        PENDING_FREEZE,          /* waiting for "frozen 1" */
        PENDING_POWERDOWN,       /* VM asked to power off; cgroup.kill at the deadline */
        PENDING_KILL,            /* cgroup.kill written; waiting for the cgroup to empty */
} Pending;

typedef struct Tenant {
        char *id, *klass, *path, *qmp, *unit;
        unsigned rank;
        EvictPolicy evict;       /* evictable=no folded in: EVICT_NEVER */
        bool vm, balloon;
        uint64_t vm_memory;      /* guest RAM; SIZE_UNSET if not a VM */
        uint64_t planned_high;
        uint64_t floor;          /* memory.min/low: never throttled below */

        /* runtime; steps is malloc'ed when the first step is taken (most
         * tenants never get one, and the daemon may hold thousands) */
        Step *steps;
        unsigned n_steps;
        bool frozen, evicted;
        bool balloon_off, throttle_off, reclaim_off, freeze_off; /* no progress or failed */
        bool absent;             /* its cgroup is missing; until the next plan */
        /* memory.current and cgroup.events' populated as last read, and when:
         * a decision reuses them for up to a tick (a class may hold thousands
         * of tenants, and the decision must not read them all every time) */
        uint64_t usage, usage_at;
        bool populated;
        uint64_t populated_at;
        Pending pending;
        uint64_t pending_deadline;
        uint64_t last_change, thaw_usec;
} Tenant;

typedef struct Group {
        Reactor *reactor;
        char *name;              /* "host", "class:normal", "tenant:db" */
        char *reason;            /* "host pressure", "pressure in class normal" */
        char *file;              /* the pressure file, absolute */
        char *path;              /* the cgroup relative to the root; NULL for the host */
        unsigned rank;
        PsiTrigger trig;
        uint32_t recover_bp;
        uint64_t hold_usec;

        bool tenant;             /* a protected tenant's group ("tenant:ID") */
        uint64_t warm_total, warm_at; /* stall total at the last tick, and when (warm()) */
        int fd;                  /* the armed trigger, -1 */
        sd_event_source *io;
        bool polling;            /* no trigger: read the totals every window */
        bool gone;               /* cgroup removed or nothing to read: not watched */
        bool absent;             /* cgroup does not exist yet: armed by a later tick */
        bool have_total;
        uint64_t last_total;     /* stall total at the previous event */
        uint64_t poll_total;     /* polling: stall total (or memory.events sum) at the last poll */
        bool have_poll;
        uint64_t last_poll;
        uint64_t below_since;    /* avg10 below the recover mark since; 0: above or unknown */
        uint64_t events_sum;     /* memory.events high+max+oom at the last sample */
        bool have_events;
        PsiStats last;
} Group;

struct Reactor {
        Cgfs *cg;
        char *host_pressure;
        char *state_file;
        ReactTuning tun;
        const ReactOps *ops;
        void *ops_userdata;
        uint64_t (*clock)(void *userdata);
        void *clock_userdata;
        ReactEventFn handler;
        void *handler_userdata;

        Tenant *tenants;
        size_t n_tenants;
        struct Candidate *cand;   /* scratch for a decision, n_tenants long */
        Group *groups;
        size_t n_groups;
        uint64_t default_hold;

        uint64_t seq;
        uint64_t act_usec;        /* when the current actuator call started */
        uint64_t last_escalation; /* last step taken on pressure */
        uint64_t last_change;     /* last step taken or undone */

        /* [pressure] headroom: checked every tick (headroom_check()) */
        char *meminfo;            /* /proc/meminfo, or a test's file */
        SizeSpec headroom;        /* bytes 0 and percent 0: off */
        unsigned headroom_rank;   /* acts on the classes ranked below this */
        uint64_t headroom_ok_since; /* MemAvailable above the resume mark since; 0: not */
        char headroom_reason[96];

        sd_event *event;
        int64_t priority;
        sd_event_source *tick_src;
        sd_event_source *pending_src;
        bool told_polling;
        int save_error;
        struct Loaded *loaded;    /* state file records waiting for reactor_set_plan() */
        size_t n_loaded;
        bool planned;

        /* The worker thread for the slow writes (see react.h), while attached.
         * One job at a time; nothing escalates or recovers while it runs. */
        char *cgroup_root;
        const CgfsHooks *hooks;
        bool worker_started;
        pthread_t worker;
        pthread_mutex_t lock;
        pthread_cond_t work;      /* the worker waits: a job was queued, or stop */
        pthread_cond_t done;      /* the loop waits: the job finished */
        bool worker_stop;
        struct Job *job;          /* queued or running; NULL: none */
        int job_fd;               /* eventfd: the worker finished a job */
        sd_event_source *job_src;
        Cgfs *worker_cg;          /* the worker's own handle on the root */
};

typedef enum JobState {
        JOB_QUEUED,
        JOB_RUNNING,
        JOB_DONE,
} JobState;

/* A slow write handed to the worker: throttle (memory.high down) or reclaim.
 * Everything the worker reads is copied in, so a new plan may replace the
 * tenants while it runs. */
typedef struct Job {
        ReactAction action;
        char *id, *path, *unit;
        uint64_t value;           /* what is written */
        uint64_t previous;        /* throttle: memory.high before; reclaim: memory.current */
        uint64_t at;              /* the trigger's time, for pacing */
        uint64_t prev_escalation; /* Reactor.last_escalation before: a failed write gives the window back */
        uint64_t act_usec;        /* when it was handed over */
        char *reason, *group;     /* the Why, copied */
        uint64_t trigger_usec;
        uint32_t some_avg10, full_avg10;
        uint64_t stall_delta_usec;
        JobState state;           /* under Reactor.lock */
        int result;               /* the op's, once JOB_DONE */
} Job;

/* A tenant's record from the state file. */
typedef struct Loaded {
        char id[TENANT_ID_MAX + 1];
        Tenant t;                 /* only the runtime fields are set */
} Loaded;

static void loaded_free(Loaded *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].t.steps);
        free(v);
}

/* What made the reactor act, for the event. */
typedef struct Why {
        const char *reason;
        const char *group;
        uint64_t trigger_usec;
        uint32_t some_avg10, full_avg10;
        uint64_t stall_delta_usec;
} Why;

static const char *const action_names[_REACT_ACTION_MAX] = {
        [REACT_NONE] = "none",
        [REACT_BALLOON] = "balloon",
        [REACT_THROTTLE] = "throttle",
        [REACT_RECLAIM] = "reclaim",
        [REACT_FREEZE] = "freeze",
        [REACT_EVICT] = "evict",
        [REACT_THAW] = "thaw",
        [REACT_UNTHROTTLE] = "unthrottle",
        [REACT_DEFLATE] = "deflate",
        [REACT_NOTICE] = "notice",
};

const char *react_action_to_string(ReactAction a) {
        if ((unsigned) a >= _REACT_ACTION_MAX)
                return NULL;
        return action_names[a];
}

ReactTuning react_tuning_default(void) {
        return (ReactTuning) {
                .balloon_step_bp = 2500,
                .balloon_floor_bp = 2500,
                .throttle_steps = 3,
                .throttle_step_bp = 2500,
                .high_floor = 32 << 20,
                .reclaim_steps = 1,
                .reclaim_bp = 2500,
                .freeze_timeout_usec = 2 * UINT64_C(1000000),
                .evict_timeout_usec = 30 * UINT64_C(1000000),
                .refreeze_usec = 60 * UINT64_C(1000000),
                .tick_usec = UINT64_C(1000000),
                .qmp_timeout_usec = 2 * UINT64_C(1000000),
        };
}

static uint64_t now(const Reactor *r) {
        return r->clock ? r->clock(r->clock_userdata) : now_usec(CLOCK_MONOTONIC);
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

static bool headroom_on(const Reactor *r) {
        return r->headroom.bytes > 0 || r->headroom.percent_bp > 0;
}

static uint64_t bp_of(uint64_t v, uint32_t bp) {
        return v / 10000 * bp + v % 10000 * bp / 10000;
}

/* ---- events ------------------------------------------------------------------- */

static const char *bytes_str(uint64_t v, char *buf, size_t size) {
        if (v == SIZE_UNSET)
                snprintf(buf, size, "?");
        else
                size_format(v, buf, size);
        return buf;
}

char *react_event_format(const ReactEvent *ev) {
        char a[32], b[32], what[160] = "", why[256] = "", err[128] = "";
        const char *name = react_action_to_string(ev->action);

        switch (ev->action) {
        case REACT_BALLOON:
        case REACT_DEFLATE:
                snprintf(what, sizeof(what), "%s %s -> %s", name, bytes_str(ev->previous, a, sizeof(a)),
                         bytes_str(ev->value, b, sizeof(b)));
                break;
        case REACT_THROTTLE:
        case REACT_UNTHROTTLE:
                snprintf(what, sizeof(what), "%s memory.high %s -> %s", name, bytes_str(ev->previous, a, sizeof(a)),
                         bytes_str(ev->value, b, sizeof(b)));
                break;
        case REACT_RECLAIM:
                snprintf(what, sizeof(what), "%s %s", name, bytes_str(ev->value, a, sizeof(a)));
                break;
        default:
                snprintf(what, sizeof(what), "%s", name ? name : "?");
                break;
        }
        if (ev->action != REACT_NOTICE && ev->trigger_usec && ev->group && ev->group[0])
                snprintf(why, sizeof(why), " (%s: some %u.%02u%% full %u.%02u%%, stall +%" PRIu64 "ms)", ev->reason,
                         ev->some_avg10 / 100, ev->some_avg10 % 100, ev->full_avg10 / 100, ev->full_avg10 % 100,
                         ev->stall_delta_usec / 1000);
        else if (ev->action != REACT_NOTICE && ev->reason && ev->reason[0])
                snprintf(why, sizeof(why), " (%s)", ev->reason);
        if (ev->error)
                snprintf(err, sizeof(err), "%s%s", ev->action == REACT_NOTICE ? " (" : ": ", strerror(-ev->error));
        return strdup_printf("%s%s%s%s%s%s%s%s", ev->tenant && ev->tenant[0] ? ev->tenant : "",
                             ev->tenant && ev->tenant[0] ? ": " : "", what,
                             ev->detail && ev->detail[0] ? (ev->action == REACT_NOTICE ? ": " : ", ") : "",
                             ev->detail ? ev->detail : "", why, err,
                             ev->error && ev->action == REACT_NOTICE ? ")" : "");
}

static void emit(Reactor *r, const Tenant *t, ReactAction a, const Why *why, uint64_t value, uint64_t previous,
                 int error, const char *detail) {
        ReactEvent ev = {
                .usec = now(r),
                .act_usec = r->act_usec,
                .trigger_usec = why ? why->trigger_usec : 0,
                .tenant = t ? t->id : "",
                .klass = t ? t->klass : "",
                .action = a,
                .reason = why && why->reason ? why->reason : "",
                .group = why && why->group ? why->group : "",
                .some_avg10 = why ? why->some_avg10 : 0,
                .full_avg10 = why ? why->full_avg10 : 0,
                .stall_delta_usec = why ? why->stall_delta_usec : 0,
                .value = value,
                .previous = previous,
                .error = error,
                .detail = detail ? detail : "",
        };
        if (r->handler)
                r->handler(&ev, r->handler_userdata);
}

static void notice(Reactor *r, const Group *g, int error, const char *fmt, ...) _printf_(4, 5);
static void notice(Reactor *r, const Group *g, int error, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        Why why = { .reason = "", .group = g ? g->name : "" };
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        r->act_usec = now(r);
        emit(r, NULL, REACT_NOTICE, &why, 0, SIZE_UNSET, error, msg ? msg : "");
}

/* ---- tenants and their steps ---------------------------------------------------- */

static ReactTarget target(const Reactor *r, const Tenant *t) {
        return (ReactTarget) {
                .id = t->id,
                .path = t->path,
                .unit = t->unit,
                .qmp = t->qmp,
                .vm = t->vm && t->qmp,
                .cgfs = r->cg,
                .qmp_timeout_usec = r->tun.qmp_timeout_usec,
                .userdata = r->ops_userdata,
        };
}

static unsigned count_steps(const Tenant *t, ReactAction a) {
        unsigned n = 0;
        for (unsigned i = 0; i < t->n_steps; i++)
                n += t->steps[i].action == a;
        return n;
}

/* The hardest step in force. */
static ReactAction top_action(const Tenant *t) {
        ReactAction a = REACT_NONE;
        for (unsigned i = 0; i < t->n_steps; i++)
                if (t->steps[i].action > a)
                        a = t->steps[i].action;
        return a;
}

static const Step *last_step(const Tenant *t, ReactAction a) {
        for (unsigned i = t->n_steps; i > 0; i--)
                if (t->steps[i - 1].action == a)
                        return &t->steps[i - 1];
        return NULL;
}

static void clear_off(Tenant *t) {
        t->balloon_off = t->throttle_off = t->reclaim_off = t->freeze_off = false;
}

static void reset_runtime(Tenant *t) {
        free(t->steps);
        t->steps = NULL;
        t->n_steps = 0;
        t->frozen = t->evicted = false;
        clear_off(t);
        t->pending = PENDING_NONE;
        t->pending_deadline = 0;
        t->last_change = t->thaw_usec = 0;
}

/* The next escalation step of a tenant, or REACT_NONE when it has none left. */
static ReactAction next_step(const Reactor *r, const Tenant *t, uint64_t at) {
        ReactAction top = top_action(t);

        if (t->evicted || t->absent)
                return REACT_NONE;
        if (t->n_steps + 2 >= STEPS_MAX)
                goto harder; /* keep room for freeze and evict */
        if (t->vm && t->balloon && t->qmp && size_is_set(t->vm_memory) && !t->balloon_off && top <= REACT_BALLOON)
                return REACT_BALLOON;
        if (!t->throttle_off && count_steps(t, REACT_THROTTLE) < r->tun.throttle_steps && top <= REACT_THROTTLE)
                return REACT_THROTTLE;
        if (!t->reclaim_off && count_steps(t, REACT_RECLAIM) < r->tun.reclaim_steps && top <= REACT_RECLAIM)
                return REACT_RECLAIM;
harder:
        if (t->evict == EVICT_NEVER)
                return REACT_NONE;
        if (!t->frozen && !t->freeze_off && !(t->thaw_usec && at - t->thaw_usec < r->tun.refreeze_usec))
                return REACT_FREEZE;
        return REACT_EVICT;
}

static void save_auto(Reactor *r);

/* A step is taken when its write returned: lowering memory.high makes the
 * kernel reclaim in the writer's context, which can take longer than a
 * window, and the trigger events queued meanwhile must not count that time
 * as a calm window. */
static int step_append(Tenant *t, Step s) {
        Step *v;

        if (t->n_steps >= STEPS_MAX)
                return -E2BIG;
        v = realloc(t->steps, (t->n_steps + 1) * sizeof(Step));
        if (!v)
                return -ENOMEM;
        t->steps = v;
        t->steps[t->n_steps++] = s;
        return 0;
}

static void push(Reactor *r, Tenant *t, ReactAction a, uint64_t from, uint64_t to, uint64_t at) {
        uint64_t done = max_u64(at, now(r));

        /* out of memory: the step is in force but not recorded (so never
         * undone); there is nothing better to do without memory */
        (void) step_append(t, (Step) { .action = a, .from = from, .to = to, .seq = ++r->seq });
        t->last_change = done;
        r->last_change = done;
}

static void pending_arm(Reactor *r);

static void set_pending(Reactor *r, Tenant *t, Pending p, uint64_t deadline) {
        t->pending = p;
        t->pending_deadline = deadline;
        if (p != PENDING_NONE)
                pending_arm(r);
}

/* A failed cgroupfs actuator: -ENOENT means the cgroup went away (from QMP
 * it means the socket is missing, which is no news about the cgroup). */
static void step_failed(Tenant *t, int error) {
        if (error == -ENOENT)
                t->absent = true;
}

/* The steps: 1 when something changed, 0 when the step has nothing left to
 * give (it is switched off for this tenant), -errno when it failed (an event
 * says so; also switched off). */

static int step_error(Reactor *r, Tenant *t, bool *off, ReactAction a, const Why *why, uint64_t value,
                      uint64_t previous, int error, const char *detail) {
        *off = true;
        emit(r, t, a, why, value, previous, error, detail);
        return error;
}

/* ---- the worker thread: slow writes off the event loop ------------------------------ */

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        free(j->id);
        free(j->path);
        free(j->unit);
        free(j->reason);
        free(j->group);
        free(j);
        return NULL;
}

static Tenant *tenant_find(Reactor *r, const char *id) {
        for (size_t i = 0; i < r->n_tenants; i++)
                if (streq(r->tenants[i].id, id))
                        return &r->tenants[i];
        return NULL;
}

/* Hand a throttle or reclaim write to the worker. 1: queued, the step is
 * recorded when it returns (job_finish); 0: no worker (or no memory for
 * the job), the caller writes it itself. */
static int job_queue(Reactor *r, Tenant *t, ReactAction a, uint64_t value, uint64_t previous, const Why *why,
                     uint64_t at) {
        Job *j;

        if (!r->worker_started || r->job)
                return 0;
        j = calloc(1, sizeof(*j));
        if (!j)
                return 0;
        *j = (Job) {
                .action = a,
                .id = strdup(t->id),
                .path = strdup(t->path),
                .unit = t->unit ? strdup(t->unit) : NULL,
                .value = value,
                .previous = previous,
                .at = at,
                .prev_escalation = r->last_escalation,
                .act_usec = r->act_usec,
                .reason = strdup(why->reason ? why->reason : ""),
                .group = strdup(why->group ? why->group : ""),
                .trigger_usec = why->trigger_usec,
                .some_avg10 = why->some_avg10,
                .full_avg10 = why->full_avg10,
                .stall_delta_usec = why->stall_delta_usec,
                .state = JOB_QUEUED,
        };
        if (!j->id || !j->path || (t->unit && !j->unit) || !j->reason || !j->group) {
                job_free(j);
                return 0;
        }
        pthread_mutex_lock(&r->lock);
        r->job = j;
        pthread_cond_signal(&r->work);
        pthread_mutex_unlock(&r->lock);
        return 1;
}

/* On the loop thread, once the job is done: record the step (or its
 * failure) as the synchronous path would have, with the time it returned. */
static void job_finish(Reactor *r) {
        Job *j;
        Tenant *t;
        bool ok;

        pthread_mutex_lock(&r->lock);
        j = r->job;
        if (!j || j->state != JOB_DONE) {
                pthread_mutex_unlock(&r->lock);
                return;
        }
        r->job = NULL;
        pthread_mutex_unlock(&r->lock);

        t = tenant_find(r, j->id);
        if (t) {
                Why why = {
                        .reason = j->reason,
                        .group = j->group,
                        .trigger_usec = j->trigger_usec,
                        .some_avg10 = j->some_avg10,
                        .full_avg10 = j->full_avg10,
                        .stall_delta_usec = j->stall_delta_usec,
                };
                bool *off = j->action == REACT_THROTTLE ? &t->throttle_off : &t->reclaim_off;

                r->act_usec = j->act_usec;
                ok = j->result >= 0 || (j->action == REACT_RECLAIM && j->result == -EAGAIN);
                if (ok) {
                        push(r, t, j->action, j->previous, j->value, j->at);
                        emit(r, t, j->action, &why, j->value, j->previous, 0,
                             j->result == -EAGAIN ? "the kernel reclaimed less" : "");
                        r->last_escalation = max_u64(r->last_escalation, t->last_change);
                } else {
                        /* as on the loop: the step is off, nothing changed, and
                         * the next trigger may take another step at once */
                        step_failed(t, j->result);
                        (void) step_error(r, t, off, j->action, &why, j->value, j->previous, j->result, "");
                        r->last_escalation = j->prev_escalation;
                }
                save_auto(r);
        }
        /* else: the tenant left the plan while its write ran; nothing to record */
        job_free(j);
}

/* Block until the job in flight (if any) is done and record it: before the
 * tenants are replaced or the worker goes. */
static void job_wait(Reactor *r) {
        if (!r->job)
                return;
        pthread_mutex_lock(&r->lock);
        while (r->job && r->job->state != JOB_DONE)
                pthread_cond_wait(&r->done, &r->lock);
        pthread_mutex_unlock(&r->lock);
        job_finish(r);
}

static void *worker_main(void *userdata) {
        Reactor *r = userdata;
        void *ctx = NULL;

        if (r->ops->worker_open)
                ctx = r->ops->worker_open(r->ops_userdata);
        pthread_mutex_lock(&r->lock);
        for (;;) {
                Job *j;
                ReactTarget tg;
                int k;

                while (!r->worker_stop && !(r->job && r->job->state == JOB_QUEUED))
                        pthread_cond_wait(&r->work, &r->lock);
                if (r->worker_stop)
                        break;
                j = r->job;
                j->state = JOB_RUNNING;
                pthread_mutex_unlock(&r->lock);

                tg = (ReactTarget) {
                        .id = j->id,
                        .path = j->path,
                        .unit = j->unit,
                        .cgfs = r->worker_cg,
                        .qmp_timeout_usec = r->tun.qmp_timeout_usec,
                        .userdata = r->ops_userdata,
                        .worker = ctx,
                };
                if (r->ops->worker_open && !ctx)
                        k = -ENOTCONN; /* worker_open failed: its calls cannot be made here */
                else if (j->action == REACT_THROTTLE)
                        k = r->ops->set_high(&tg, j->value);
                else
                        k = r->ops->reclaim(&tg, j->value);

                pthread_mutex_lock(&r->lock);
                j->result = k;
                j->state = JOB_DONE;
                pthread_cond_broadcast(&r->done);
                (void) eventfd_write(r->job_fd, 1);
        }
        pthread_mutex_unlock(&r->lock);
        if (ctx && r->ops->worker_close)
                r->ops->worker_close(ctx);
        return NULL;
}

static int on_job_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Reactor *r = userdata;
        eventfd_t v;

        (void) eventfd_read(fd, &v);
        job_finish(r);
        return 0;
}

static void worker_stop(Reactor *r) {
        if (!r->worker_started)
                return;
        job_wait(r);
        pthread_mutex_lock(&r->lock);
        r->worker_stop = true;
        pthread_cond_signal(&r->work);
        pthread_mutex_unlock(&r->lock);
        (void) pthread_join(r->worker, NULL);
        r->worker_started = false;
        r->worker_stop = false;
        r->job_src = sd_event_source_disable_unref(r->job_src);
        if (r->job_fd >= 0)
                close(r->job_fd);
        r->job_fd = -1;
        r->worker_cg = cgfs_free(r->worker_cg);
}

/* Start the worker; on failure every write stays on the loop (a notice says so). */
static void worker_start(Reactor *r) {
        int k;

        if (r->worker_started || r->tun.sync_writes)
                return;
        k = cgfs_open(r->cgroup_root, r->hooks, &r->worker_cg);
        if (k >= 0) {
                r->job_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                k = r->job_fd < 0 ? -errno : 0;
        }
        if (k >= 0)
                k = sd_event_add_io(r->event, &r->job_src, r->job_fd, EPOLLIN, on_job_done, r);
        if (k >= 0)
                k = sd_event_source_set_priority(r->job_src, r->priority);
        if (k >= 0) {
                /* signals are the loop's (signalfd): none for the worker */
                sigset_t all, old;

                sigfillset(&all);
                pthread_sigmask(SIG_SETMASK, &all, &old);
                k = -pthread_create(&r->worker, NULL, worker_main, r);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        if (k < 0) {
                r->job_src = sd_event_source_disable_unref(r->job_src);
                if (r->job_fd >= 0)
                        close(r->job_fd);
                r->job_fd = -1;
                r->worker_cg = cgfs_free(r->worker_cg);
                notice(r, NULL, k, "no worker thread: memory.high and memory.reclaim are written on the event loop");
                return;
        }
        r->worker_started = true;
}

static int do_balloon(Reactor *r, Tenant *t, const Why *why, uint64_t at) {
        ReactTarget tg = target(r, t);
        const Step *prev = last_step(t, REACT_BALLOON);
        uint64_t cur, step, floor, want, actual = SIZE_UNSET;
        char detail[64];
        int k;

        if (prev)
                cur = prev->to;
        else {
                k = r->ops->balloon(&tg, 0, &cur);
                if (k < 0)
                        return step_error(r, t, &t->balloon_off, REACT_BALLOON, why, SIZE_UNSET, SIZE_UNSET, k,
                                          "query-balloon");
        }
        step = bp_of(t->vm_memory, r->tun.balloon_step_bp);
        floor = bp_of(t->vm_memory, r->tun.balloon_floor_bp);
        want = cur > floor + step ? cur - step : floor;
        want -= want % (UINT64_C(1) << 20);
        if (step == 0 || want >= cur) {
                t->balloon_off = true;
                return 0;
        }
        k = r->ops->balloon(&tg, want, &actual);
        if (k < 0)
                return step_error(r, t, &t->balloon_off, REACT_BALLOON, why, want, cur, k, "");
        push(r, t, REACT_BALLOON, cur, want, at);
        snprintf(detail, sizeof(detail), "actual %s", bytes_str(actual, (char[32]) { 0 }, 32));
        emit(r, t, REACT_BALLOON, why, want, cur, 0, detail);
        return 1;
}

static int read_memory(Reactor *r, Tenant *t, uint64_t *ret_current, uint64_t *ret_high) {
        ReactTarget tg = target(r, t);
        int k = r->ops->read_memory(&tg, ret_current, ret_high);
        if (k < 0)
                step_failed(t, k);
        else {
                t->usage = *ret_current;
                t->usage_at = now(r);
        }
        return k;
}

/* How long a tenant's memory.current and populated, as read, stand for the
 * order of a decision: one tick (the tick refreshes them under pressure). */
static bool fresh(const Reactor *r, uint64_t read_at, uint64_t at) {
        return read_at && at >= read_at && at - read_at < r->tun.tick_usec;
}

static int tenant_usage(Reactor *r, Tenant *t, uint64_t at, uint64_t *ret) {
        if (!fresh(r, t->usage_at, at)) {
                ReactTarget tg = target(r, t);
                uint64_t cur;
                int k = r->ops->read_memory(&tg, &cur, NULL);

                if (k < 0) {
                        step_failed(t, k);
                        return k;
                }
                t->usage = cur;
                t->usage_at = at ? at : 1;
        }
        *ret = t->usage;
        return 0;
}

/* 1 when the tenant has processes (something to give), 0 when not */
static int tenant_populated(Reactor *r, Tenant *t, uint64_t at) {
        if (!fresh(r, t->populated_at, at)) {
                ReactTarget tg = target(r, t);
                int k = r->ops->populated(&tg);

                /* an error is not "empty": the step finds out */
                t->populated = k != 0;
                t->populated_at = at ? at : 1;
        }
        return t->populated;
}

static int do_throttle(Reactor *r, Tenant *t, const Why *why, uint64_t at) {
        ReactTarget tg = target(r, t);
        uint64_t cur, high, want, floor;
        int k;

        k = read_memory(r, t, &cur, &high);
        if (k < 0)
                return step_error(r, t, &t->throttle_off, REACT_THROTTLE, why, SIZE_UNSET, SIZE_UNSET, k,
                                  "memory.current");
        /* first down to what it uses (growth stops), then a share lower each step */
        want = cur < high ? cur : high;
        if (count_steps(t, REACT_THROTTLE) > 0 || cur >= high)
                want -= bp_of(want, r->tun.throttle_step_bp);
        want -= want % PAGE;
        floor = max_u64(r->tun.high_floor, t->floor);
        floor = (floor + PAGE - 1) / PAGE * PAGE;
        if (want < floor)
                want = floor;
        if (want >= high) {
                t->throttle_off = true;
                return 0;
        }
        if (job_queue(r, t, REACT_THROTTLE, want, high, why, at) > 0)
                return 1;
        k = r->ops->set_high(&tg, want);
        if (k < 0) {
                step_failed(t, k);
                return step_error(r, t, &t->throttle_off, REACT_THROTTLE, why, want, high, k, "");
        }
        push(r, t, REACT_THROTTLE, high, want, at);
        emit(r, t, REACT_THROTTLE, why, want, high, 0, "");
        return 1;
}

static int do_reclaim(Reactor *r, Tenant *t, const Why *why, uint64_t at) {
        ReactTarget tg = target(r, t);
        uint64_t cur, high, amount;
        int k;

        k = read_memory(r, t, &cur, &high);
        if (k < 0)
                return step_error(r, t, &t->reclaim_off, REACT_RECLAIM, why, SIZE_UNSET, SIZE_UNSET, k,
                                  "memory.current");
        amount = bp_of(cur, r->tun.reclaim_bp);
        amount -= amount % PAGE;
        if (amount == 0) {
                t->reclaim_off = true;
                return 0;
        }
        if (job_queue(r, t, REACT_RECLAIM, amount, cur, why, at) > 0)
                return 1;
        k = r->ops->reclaim(&tg, amount);
        if (k < 0 && k != -EAGAIN)
                /* -ENOENT here: no memory.reclaim (before 5.19), the cgroup was just read */
                return step_error(r, t, &t->reclaim_off, REACT_RECLAIM, why, amount, cur, k, "");
        push(r, t, REACT_RECLAIM, cur, amount, at);
        emit(r, t, REACT_RECLAIM, why, amount, cur, 0, k == -EAGAIN ? "the kernel reclaimed less" : "");
        return 1;
}

static int do_freeze(Reactor *r, Tenant *t, const Why *why, uint64_t at) {
        ReactTarget tg = target(r, t);
        int k;

        k = r->ops->freeze(&tg, true);
        if (k < 0) {
                if (!tg.vm)
                        step_failed(t, k);
                return step_error(r, t, &t->freeze_off, REACT_FREEZE, why, 1, 0, k,
                                  tg.vm ? "QMP stop" : "cgroup.freeze");
        }
        t->frozen = true;
        push(r, t, REACT_FREEZE, 0, 1, at);
        if (k == 0)
                set_pending(r, t, PENDING_FREEZE, at + r->tun.freeze_timeout_usec);
        emit(r, t, REACT_FREEZE, why, 1, 0, 0, tg.vm ? "QMP stop" : "cgroup.freeze");
        return 1;
}

static int do_evict(Reactor *r, Tenant *t, const Why *why, uint64_t at) {
        ReactTarget tg = target(r, t);
        char detail[96];
        bool graceful = tg.vm;
        int k;

        /* recorded before the kill: a daemon killed between the two must not
         * come back to an eviction it does not know about */
        t->evicted = true;
        save_auto(r);
        /* a paused guest cannot see the power button */
        if (tg.vm && t->frozen)
                (void) r->ops->freeze(&tg, false);
        k = r->ops->evict(&tg, !graceful);
        if (k < 0 && graceful) {
                graceful = false;
                k = r->ops->evict(&tg, true);
        }
        if (k < 0) {
                t->evicted = false;
                save_auto(r);
                step_failed(t, k);
                emit(r, t, REACT_EVICT, why, 1, 0, k, "cgroup.kill");
                if (k == -ENOENT)
                        return k;
                /* nothing harder exists: try again in the next window */
                t->last_change = at;
                return k;
        }
        push(r, t, REACT_EVICT, 0, 1, at);
        if (graceful) {
                set_pending(r, t, PENDING_POWERDOWN, at + r->tun.evict_timeout_usec);
                snprintf(detail, sizeof(detail), "system_powerdown, cgroup.kill in %" PRIu64 "s",
                         r->tun.evict_timeout_usec / 1000000);
        } else {
                if (k == 0)
                        set_pending(r, t, PENDING_KILL, at + r->tun.freeze_timeout_usec);
                snprintf(detail, sizeof(detail), "cgroup.kill");
        }
        emit(r, t, REACT_EVICT, why, 1, 0, 0, detail);
        return 1;
}

static int do_step(Reactor *r, Tenant *t, ReactAction a, const Why *why, uint64_t at) {
        r->act_usec = now(r);
        switch (a) {
        case REACT_BALLOON:
                return do_balloon(r, t, why, at);
        case REACT_THROTTLE:
                return do_throttle(r, t, why, at);
        case REACT_RECLAIM:
                return do_reclaim(r, t, why, at);
        case REACT_FREEZE:
                return do_freeze(r, t, why, at);
        case REACT_EVICT:
                return do_evict(r, t, why, at);
        default:
                return 0;
        }
}

/* ---- escalation ----------------------------------------------------------------- */

typedef struct Candidate {
        Tenant *t;
        ReactAction step;
        uint64_t current;
} Candidate;

static int candidate_cmp(const void *a, const void *b) {
        const Candidate *x = a, *y = b;

        if (x->step != y->step)
                return x->step < y->step ? -1 : 1;            /* the gentlest step first */
        if (x->t->evict != y->t->evict)
                return x->t->evict > y->t->evict ? -1 : 1;    /* first, yes, last-resort, never */
        if (x->current != y->current)
                return x->current > y->current ? -1 : 1;      /* the largest first */
        return strcmp(x->t->id, y->t->id);
}

/* The next rank above `above` (exclusive) and below `below` that has tenants. */
static bool next_rank(const Reactor *r, unsigned above, bool first, unsigned below, unsigned *ret) {
        bool found = false;

        for (size_t i = 0; i < r->n_tenants; i++) {
                unsigned k = r->tenants[i].rank;
                if (k >= below || (!first && k <= above) || (found && k >= *ret))
                        continue;
                *ret = k;
                found = true;
        }
        return found;
}

/* The tenant of one class to give a step now, and the step; NULL when none
 * may change now. *ret_has_steps tells whether the class has steps left at
 * all (also those of tenants that must wait). A tenant without processes has
 * nothing to give. The order needs every candidate's memory.current, which
 * is read at most once per tick (tenant_usage()); whether it has processes
 * is read only for the tenant chosen, in order, until one has. */
static Tenant *class_pick(Reactor *r, unsigned rank, uint64_t window, uint64_t at, ReactAction *ret_step,
                          bool *ret_has_steps) {
        Candidate *c = r->cand;
        size_t n = 0, best = 0;

        *ret_has_steps = false;
        for (size_t i = 0; i < r->n_tenants; i++) {
                Tenant *t = &r->tenants[i];
                ReactAction s;
                uint64_t cur = 0;

                if (t->rank != rank || (s = next_step(r, t, at)) == REACT_NONE)
                        continue;
                if (fresh(r, t->populated_at, at) && !t->populated)
                        continue;
                if (t->pending != PENDING_NONE || (t->last_change && at - t->last_change < window)) {
                        /* it has steps, but not now (no tenant changes twice within a window) */
                        if (!*ret_has_steps && tenant_populated(r, t, at))
                                *ret_has_steps = true;
                        continue;
                }
                if (tenant_usage(r, t, at, &cur) < 0 && t->absent)
                        continue;
                c[n] = (Candidate) { .t = t, .step = s, .current = cur };
                if (n > 0 && candidate_cmp(&c[n], &c[best]) < 0)
                        best = n;
                n++;
        }
        if (n == 0)
                return NULL;
        if (!tenant_populated(r, c[best].t, at)) {
                /* rarely needed: the rest in order, to the first with processes */
                c[best] = c[--n];
                qsort(c, n, sizeof(Candidate), candidate_cmp);
                for (best = 0; best < n && !tenant_populated(r, c[best].t, at); best++)
                        ;
                if (best == n)
                        return NULL;
        }
        *ret_has_steps = true;
        *ret_step = c[best].step;
        return c[best].t;
}

static int escalate(Reactor *r, const Group *g, const Why *why, uint64_t at) {
        if (!r->cand)
                return -ENOMEM;
        /* Every pass either acts, stops, or switches a step off for some tenant. */
        for (size_t pass = 0; pass < (r->n_tenants + 1) * (_REACT_ACTION_MAX + 1); pass++) {
                unsigned rank = 0;
                bool first = true, has_steps = false;
                ReactAction step = REACT_NONE;
                Tenant *t = NULL;

                /* the lowest class below the group that still has a step left */
                while (next_rank(r, rank, first, g->rank, &rank)) {
                        first = false;
                        t = class_pick(r, rank, g->trig.window_usec, at, &step, &has_steps);
                        if (has_steps)
                                break;
                }
                if (!has_steps || !t)
                        return 0; /* nothing below; or the class has steps left, but not now: wait, do not go up */
                if (do_step(r, t, step, why, at) > 0) {
                        r->last_escalation = max_u64(at, t->last_change);
                        save_auto(r);
                        return 1;
                }
                /* that step had nothing to give or failed (and is off now):
                 * its tenant's next step may order differently, plan again */
        }
        return 0;
}

static Group *group_find(Reactor *r, const char *name) {
        for (size_t i = 0; i < r->n_groups; i++)
                if (streq(r->groups[i].name, name))
                        return &r->groups[i];
        return NULL;
}

static uint64_t stall_total(const Group *g, const PsiStats *st) {
        return g->trig.full ? st->full.total_usec : st->some.total_usec;
}

static int group_read(const Group *g, PsiStats *ret) {
        if (g->fd >= 0 && psi_read_avg_fd(g->fd, ret) >= 0)
                return 0;
        return psi_read_avg(AT_FDCWD, g->file, ret);
}

/* debounce: skip an event whose stall since the group's previous one is below
 * the trigger's (false when the signal is not a stall, see group_poll()) */
static int pressure_seen(Reactor *r, Group *g, const PsiStats *st, uint64_t trigger_usec, bool debounce) {
        uint64_t at = now(r), total = stall_total(g, st), delta;
        bool late;
        Why why;

        delta = g->have_total && total >= g->last_total ? total - g->last_total : total;
        late = debounce && g->have_total && delta < g->trig.stall_usec;
        g->last_total = total;
        g->have_total = true;
        g->last = *st;
        g->below_since = 0;
        if (late)
                return 0;
        if (r->last_escalation && at - r->last_escalation < g->trig.window_usec)
                return 0; /* one step per window, reactor-wide */
        if (r->job)
                return 0; /* a step is being written: it counts from when it returns */
        why = (Why) {
                .reason = g->reason,
                .group = g->name,
                .trigger_usec = trigger_usec ? trigger_usec : at,
                .some_avg10 = st->some.avg10,
                .full_avg10 = st->has_full ? st->full.avg10 : 0,
                .stall_delta_usec = delta,
        };
        return escalate(r, g, &why, at);
}

int reactor_pressure(Reactor *r, const char *group, const PsiStats *seen, uint64_t trigger_usec) {
        Group *g = group_find(r, group);
        PsiStats st = { .has_full = false };

        if (!g)
                return -ENOENT;
        if (seen)
                st = *seen;
        else
                (void) group_read(g, &st);
        return pressure_seen(r, g, &st, trigger_usec, true);
}

/* ---- recovery -------------------------------------------------------------------- */

static bool events_sum(Reactor *r, const Group *g, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        uint64_t sum = 0;

        if (!g->path || cgfs_read(r->cg, g->path, "memory.events", &text) < 0)
                return false;
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                unsigned long long v;
                char key[32];

                if (nl)
                        *nl = '\0';
                if (sscanf(line, "%31s %llu", key, &v) == 2 &&
                    (streq(key, "high") || streq(key, "max") || streq(key, "oom")))
                        sum += v;
                line = nl ? nl + 1 : NULL;
        }
        *ret = sum;
        return true;
}

/* Update below_since from the averages (or, without them, memory.events). */
static void group_sample(Reactor *r, Group *g, uint64_t at) {
        PsiStats st;
        uint64_t sum;
        bool below;

        if (g->gone || g->absent)
                return;
        if (group_read(g, &st) >= 0) {
                g->last = st;
                below = (g->trig.full ? st.full.avg10 : st.some.avg10) < g->recover_bp;
        } else if (events_sum(r, g, &sum)) {
                below = g->have_events && sum == g->events_sum;
                g->events_sum = sum;
                g->have_events = true;
        } else
                return;
        if (!below)
                g->below_since = 0;
        else if (!g->below_since)
                g->below_since = at;
}

static bool group_watched(const Group *g) {
        return !g->gone && !g->absent;
}

/* Every group above the tenant's class has been calm for its hold, counted
 * from the later of "went below" and the reactor's last change. */
static bool may_undo(const Reactor *r, const Tenant *t, uint64_t at) {
        bool any = false;

        if (headroom_on(r) && t->rank < r->headroom_rank &&
            (!r->headroom_ok_since || at - max_u64(r->headroom_ok_since, r->last_change) < r->default_hold))
                return false;

        for (size_t i = 0; i < r->n_groups; i++) {
                const Group *g = &r->groups[i];

                if (g->rank <= t->rank || !group_watched(g))
                        continue;
                any = true;
                if (!g->below_since || at - max_u64(g->below_since, r->last_change) < g->hold_usec)
                        return false;
                if (at - t->last_change < g->trig.window_usec)
                        return false;
        }
        return any || at - r->last_change >= r->default_hold;
}

/* The averages of the most pressured group above the tenant, for the event. */
static Why recovery_why(const Reactor *r, const Tenant *t) {
        Why why = { .reason = "recovered" };
        for (size_t i = 0; i < r->n_groups; i++) {
                const Group *g = &r->groups[i];
                if (g->rank <= t->rank || !group_watched(g) || g->last.some.avg10 < why.some_avg10)
                        continue;
                why.group = g->name;
                why.some_avg10 = g->last.some.avg10;
                why.full_avg10 = g->last.has_full ? g->last.full.avg10 : 0;
        }
        return why;
}

static int undo_top(Reactor *r, Tenant *t, uint64_t at) {
        ReactTarget tg = target(r, t);
        Why why = recovery_why(r, t);

        r->act_usec = now(r);
        while (t->n_steps > 0) {
                Step *s = &t->steps[t->n_steps - 1];
                ReactAction undo;
                int k;

                switch (s->action) {
                case REACT_RECLAIM:
                        t->n_steps--; /* nothing to give back */
                        continue;
                case REACT_FREEZE:
                        undo = REACT_THAW;
                        k = r->ops->freeze(&tg, false);
                        break;
                case REACT_THROTTLE:
                        undo = REACT_UNTHROTTLE;
                        k = r->ops->set_high(&tg, s->from);
                        break;
                case REACT_BALLOON:
                        undo = REACT_DEFLATE;
                        k = r->ops->balloon(&tg, s->from, NULL);
                        break;
                default:
                        return 0; /* evicted: not ours to restore */
                }
                if (k < 0) {
                        if (s->action == REACT_THROTTLE || (s->action == REACT_FREEZE && !tg.vm))
                                step_failed(t, k);
                        emit(r, t, undo, &why, s->action == REACT_FREEZE ? 0 : s->from,
                             s->action == REACT_FREEZE ? 1 : s->to, k, "");
                        t->last_change = at; /* try again after a window */
                        return 0;
                }
                if (s->action == REACT_FREEZE) {
                        t->frozen = false;
                        t->thaw_usec = at;
                        t->freeze_off = false;
                        if (t->pending == PENDING_FREEZE)
                                t->pending = PENDING_NONE;
                        emit(r, t, undo, &why, 0, 1, 0, tg.vm ? "QMP cont" : "cgroup.freeze");
                } else {
                        if (s->action == REACT_THROTTLE)
                                t->throttle_off = false;
                        else
                                t->balloon_off = false;
                        emit(r, t, undo, &why, s->from, s->to, 0, "");
                }
                t->n_steps--;
                t->last_change = at;
                r->last_change = at;
                if (t->n_steps == 0)
                        clear_off(t);
                save_auto(r);
                return 1;
        }
        clear_off(t);
        return 0;
}

/* The seq of the newest step that has something to undo (reclaim has not);
 * 0 when only reclaim records are left. */
static uint64_t undo_seq(const Tenant *t) {
        for (unsigned i = t->n_steps; i > 0; i--)
                if (t->steps[i - 1].action != REACT_RECLAIM)
                        return t->steps[i - 1].seq;
        return 0;
}

static int recover(Reactor *r, uint64_t at) {
        Tenant *best = NULL;
        uint64_t best_seq = 0;

        /* the newest step first, across tenants */
        for (size_t i = 0; i < r->n_tenants; i++) {
                Tenant *t = &r->tenants[i];
                uint64_t seq;

                if (t->n_steps == 0 || t->evicted || t->absent || t->pending != PENDING_NONE)
                        continue;
                seq = undo_seq(t);
                if (seq == 0) {
                        t->n_steps = 0; /* only reclaim records: nothing to give back */
                        clear_off(t);
                        continue;
                }
                if (seq > best_seq && may_undo(r, t, at)) {
                        best = t;
                        best_seq = seq;
                }
        }
        return best ? undo_top(r, best, at) : 0;
}

static void service_pending(Reactor *r, uint64_t at) {
        r->act_usec = at;
        for (size_t i = 0; i < r->n_tenants; i++) {
                Tenant *t = &r->tenants[i];
                ReactTarget tg = target(r, t);
                int k;

                switch (t->pending) {
                case PENDING_FREEZE:
                        k = r->ops->frozen(&tg);
                        if (k > 0) {
                                /* a task in reclaim or swap-in freezes only when
                                 * it gets back: give the freeze a whole window
                                 * of its own before anything harder */
                                t->pending = PENDING_NONE;
                                t->last_change = max_u64(t->last_change, at);
                                r->last_change = max_u64(r->last_change, at);
                        } else if (k == -ENOENT)
                                t->pending = PENDING_NONE;
                        else if (at >= t->pending_deadline) {
                                t->pending = PENDING_NONE;
                                emit(r, t, REACT_FREEZE, NULL, 1, 0, -ETIMEDOUT, "not frozen in time");
                        }
                        break;
                case PENDING_POWERDOWN:
                        k = r->ops->populated(&tg);
                        if (k == 0 || k == -ENOENT)
                                t->pending = PENDING_NONE;
                        else if (at >= t->pending_deadline) {
                                Why why = { .reason = "did not power off in time" };
                                k = r->ops->evict(&tg, true);
                                emit(r, t, REACT_EVICT, &why, 1, 0, k < 0 ? k : 0, "cgroup.kill");
                                set_pending(r, t, k == 0 ? PENDING_KILL : PENDING_NONE,
                                            at + r->tun.freeze_timeout_usec);
                        }
                        break;
                case PENDING_KILL:
                        k = r->ops->populated(&tg);
                        if (k == 0 || k == -ENOENT)
                                t->pending = PENDING_NONE;
                        else if (at >= t->pending_deadline) {
                                t->pending = PENDING_NONE;
                                emit(r, t, REACT_EVICT, NULL, 1, 0, -ETIMEDOUT, "processes left after cgroup.kill");
                        }
                        break;
                case PENDING_NONE:
                        break;
                }
        }
}

static bool any_pending(const Reactor *r) {
        for (size_t i = 0; i < r->n_tenants; i++)
                if (r->tenants[i].pending != PENDING_NONE)
                        return true;
        return false;
}

static void group_poll(Reactor *r, Group *g, uint64_t at);
static void group_arm(Reactor *r, Group *g);

/* Pressure building up in the host or a class slice (its stall over the
 * last tick, or its avg10, above its recover mark): read memory.current of
 * the tenants below it now, so that the decision a trigger asks for finds
 * them fresh. A tenant's pressure shows in its class slice too, so the host
 * and the class slices are the only files read while all is calm. */
static void warm(Reactor *r, uint64_t at) {
        unsigned above = 0;
        bool any = false;

        for (size_t i = 0; i < r->n_groups; i++) {
                Group *g = &r->groups[i];
                uint64_t total, since;
                bool building;

                if (g->tenant || !group_watched(g))
                        continue;
                group_sample(r, g, at);
                total = stall_total(g, &g->last);
                since = g->warm_at && at > g->warm_at ? at - g->warm_at : 0;
                building = !g->below_since ||
                           (since && total > g->warm_total && (total - g->warm_total) * 10000 >= since * g->recover_bp);
                g->warm_total = total;
                g->warm_at = at;
                if (building && (!any || g->rank > above)) {
                        above = g->rank;
                        any = true;
                }
        }
        if (!any)
                return;
        for (size_t i = 0; i < r->n_tenants; i++) {
                Tenant *t = &r->tenants[i];
                uint64_t cur;

                if (t->rank < above && next_step(r, t, at) != REACT_NONE)
                        (void) tenant_usage(r, t, at, &cur);
        }
}

/* Headroom: MemAvailable below it is treated as pressure from above every
 * unprotected class, one step per tick; recovery of those classes waits until
 * MemAvailable has been above headroom + 1/4 (the resume mark, so that an undo
 * does not immediately take the host below again) for a hold. */
static void headroom_check(Reactor *r, uint64_t at) {
        uint64_t total, avail, want;
        char a[32], w[32];
        Group g;
        Why why;

        if (!headroom_on(r) || meminfo_read(r->meminfo, &total, &avail) < 0)
                return;
        want = size_resolve(r->headroom, total);
        if (avail >= want + want / 4) {
                if (!r->headroom_ok_since)
                        r->headroom_ok_since = at;
                return;
        }
        r->headroom_ok_since = 0;
        if (avail >= want || r->job || (r->last_escalation && at - r->last_escalation < r->tun.tick_usec))
                return;
        snprintf(r->headroom_reason, sizeof(r->headroom_reason), "low headroom: MemAvailable %s < %s",
                 bytes_str(avail, a, sizeof(a)), bytes_str(want, w, sizeof(w)));
        g = (Group) { .name = (char *) "host", .rank = r->headroom_rank, .trig.window_usec = r->tun.tick_usec };
        why = (Why) { .reason = r->headroom_reason, .group = "host", .trigger_usec = at };
        (void) escalate(r, &g, &why, at);
}

int reactor_tick(Reactor *r) {
        uint64_t at = now(r);
        bool undoable = false;

        service_pending(r, at);
        warm(r, at);
        headroom_check(r, at);
        for (size_t i = 0; i < r->n_groups; i++) {
                Group *g = &r->groups[i];
                if (g->absent && r->event)
                        group_arm(r, g);
                if (g->polling && !g->gone && at - g->last_poll >= g->trig.window_usec)
                        group_poll(r, g, at);
        }
        for (size_t i = 0; i < r->n_tenants; i++)
                if (r->tenants[i].n_steps > 0 && !r->tenants[i].evicted)
                        undoable = true;
        if (!undoable)
                return 0;
        for (size_t i = 0; i < r->n_groups; i++)
                group_sample(r, &r->groups[i], at);
        if (r->job)
                return 0; /* undo waits for the step being written */
        return recover(r, at);
}

/* ---- watched groups: triggers and polling ------------------------------------ */

static void group_disarm(Group *g) {
        g->io = sd_event_source_disable_unref(g->io);
        if (g->fd >= 0)
                close(g->fd);
        g->fd = -1;
}

static void tell_polling(Reactor *r, const Group *g, int error) {
        if (r->told_polling)
                return;
        r->told_polling = true;
        notice(r, g, error, "PSI triggers unavailable (%s: %s): polling the pressure averages every window",
               g->file, strerror(-error));
}

static void group_start_polling(Reactor *r, Group *g, int error) {
        group_disarm(g);
        g->polling = true;
        if (!r->tun.poll_only)
                tell_polling(r, g, error);
}

static int on_trigger(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Group *g = userdata;
        Reactor *r = g->reactor;
        uint64_t t0 = 0;
        PsiStats st = { .has_full = false };

        (void) sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &t0);
        switch (psi_revents(revents)) {
        case PSI_EVENT_GONE:
                group_disarm(g);
                g->gone = true;
                for (size_t i = 0; i < r->n_tenants; i++)
                        if (g->path && streq(r->tenants[i].path, g->path))
                                r->tenants[i].absent = true;
                notice(r, g, 0, "%s: cgroup removed, its trigger is dropped", g->name);
                return 0;
        case PSI_EVENT_PRESSURE:
                if (psi_read_avg_fd(fd, &st) < 0)
                        (void) psi_read_avg(AT_FDCWD, g->file, &st);
                (void) pressure_seen(r, g, &st, t0, true);
                return 0;
        case PSI_EVENT_NONE:
                break;
        }
        return 0;
}

static void group_arm(Reactor *r, Group *g) {
        _cleanup_free_ char *err = NULL;
        PsiStats st;
        int fd = -1, k;

        if (g->fd >= 0 || g->gone || g->polling)
                return;
        g->absent = g->path && !cgfs_exists(r->cg, g->path);
        if (g->absent)
                return; /* not created yet: a later tick tries again */
        if (!g->have_total && psi_read_avg(AT_FDCWD, g->file, &st) >= 0) {
                g->last_total = stall_total(g, &st);
                g->have_total = true;
        }
        if (r->tun.poll_only) {
                group_start_polling(r, g, 0);
                return;
        }
        k = psi_trigger_open(AT_FDCWD, g->file, &g->trig, &fd, &err);
        if (k == -ENOENT && !g->path) {
                /* no /proc/pressure: nothing to poll for the host either */
                g->gone = true;
                notice(r, g, k, "no PSI (%s): the host's pressure is not watched", g->file);
                return;
        }
        if (k < 0) {
                group_start_polling(r, g, k);
                return;
        }
        g->fd = fd;
        k = sd_event_add_io(r->event, &g->io, fd, EPOLLPRI, on_trigger, g);
        if (k >= 0)
                k = sd_event_source_set_priority(g->io, r->priority);
        if (k < 0)
                group_start_polling(r, g, k); /* e.g. -EPERM: a plain file cannot be polled */
}

static void group_poll(Reactor *r, Group *g, uint64_t at) {
        PsiStats st = { .has_full = false };
        uint64_t total, need;
        bool psi;

        g->last_poll = at;
        psi = psi_read_avg(AT_FDCWD, g->file, &st) >= 0;
        if (psi) {
                total = stall_total(g, &st);
                need = g->trig.stall_usec;
        } else if (events_sum(r, g, &total))
                need = 1; /* no PSI at all: any new high/max/oom event counts */
        else {
                g->gone = !g->path || !cgfs_exists(r->cg, g->path);
                return;
        }
        if (g->have_poll && total >= g->poll_total + need) {
                g->poll_total = total;
                (void) pressure_seen(r, g, &st, at, psi);
                return;
        }
        g->poll_total = total;
        g->have_poll = true;
}

bool reactor_polling(const Reactor *r) {
        for (size_t i = 0; i < r->n_groups; i++)
                if (r->groups[i].polling && !r->groups[i].gone)
                        return true;
        return false;
}

/* ---- sd-event --------------------------------------------------------------------- */

static uint64_t tick_interval(const Reactor *r) {
        uint64_t usec = r->tun.tick_usec;
        for (size_t i = 0; i < r->n_groups; i++)
                if (r->groups[i].polling && r->groups[i].trig.window_usec < usec)
                        usec = r->groups[i].trig.window_usec;
        return usec ? usec : UINT64_C(1000000);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Reactor *r = userdata;

        (void) reactor_tick(r);
        (void) sd_event_source_set_time_relative(s, tick_interval(r));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_pending(sd_event_source *s, uint64_t usec, void *userdata) {
        Reactor *r = userdata;

        service_pending(r, now(r));
        if (any_pending(r)) {
                (void) sd_event_source_set_time_relative(s, PENDING_POLL_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void pending_arm(Reactor *r) {
        if (!r->event)
                return;
        if (!r->pending_src) {
                if (sd_event_add_time_relative(r->event, &r->pending_src, CLOCK_MONOTONIC, PENDING_POLL_USEC, 1000,
                                               on_pending, r) < 0)
                        return;
                (void) sd_event_source_set_priority(r->pending_src, r->priority);
                return;
        }
        (void) sd_event_source_set_time_relative(r->pending_src, PENDING_POLL_USEC);
        (void) sd_event_source_set_enabled(r->pending_src, SD_EVENT_ONESHOT);
}

int reactor_attach(Reactor *r, sd_event *e, int64_t priority) {
        int k;

        if (r->event)
                return r->event == e ? 0 : -EBUSY;
        r->event = sd_event_ref(e);
        r->priority = priority;
        worker_start(r);
        for (size_t i = 0; i < r->n_groups; i++)
                group_arm(r, &r->groups[i]);
        k = sd_event_add_time_relative(e, &r->tick_src, CLOCK_MONOTONIC, tick_interval(r), 10000, on_tick, r);
        if (k < 0) {
                reactor_detach(r);
                return k;
        }
        (void) sd_event_source_set_priority(r->tick_src, priority);
        if (any_pending(r))
                pending_arm(r);
        return 0;
}

void reactor_detach(Reactor *r) {
        worker_stop(r);
        for (size_t i = 0; i < r->n_groups; i++)
                group_disarm(&r->groups[i]);
        r->tick_src = sd_event_source_disable_unref(r->tick_src);
        r->pending_src = sd_event_source_disable_unref(r->pending_src);
        r->event = sd_event_unref(r->event);
}

/* ---- plan ---------------------------------------------------------------------------- */

static PressureSpec pressure_merge(PressureSpec over, PressureSpec base) {
        if (over.stall_usec == UINT64_MAX || over.window_usec == UINT64_MAX) {
                over.full = base.full;
                over.stall_usec = base.stall_usec;
                over.window_usec = base.window_usec;
        }
        if (over.recover_bp == UINT32_MAX)
                over.recover_bp = base.recover_bp;
        if (over.hold_usec == UINT64_MAX)
                over.hold_usec = base.hold_usec;
        return over;
}

/* tenantd.conf's built-in [pressure], for a policy set that has none */
static PressureSpec pressure_fallback(void) {
        return (PressureSpec) { .stall_usec = 150000, .window_usec = 1000000, .recover_bp = 500,
                                .hold_usec = 10 * UINT64_C(1000000) };
}

static void tenant_done(Tenant *t) {
        free(t->steps);
        free(t->id);
        free(t->klass);
        free(t->path);
        free(t->qmp);
        free(t->unit);
}

static void group_done(Group *g) {
        group_disarm(g);
        free(g->name);
        free(g->reason);
        free(g->file);
        free(g->path);
}

static void tenants_free(Tenant *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                tenant_done(&v[i]);
        free(v);
}

static void groups_free(Group *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                group_done(&v[i]);
        free(v);
}

static int group_init(Reactor *r, Group *g, const char *name, const char *reason, const char *path, unsigned rank,
                      PressureSpec spec) {
        spec = pressure_merge(spec, pressure_fallback());
        *g = (Group) {
                .reactor = r,
                .name = strdup(name),
                .reason = strdup(reason),
                .path = path ? strdup(path) : NULL,
                .file = path ? strdup_printf("%s/%s/memory.pressure", cgfs_root(r->cg), path)
                             : strdup(r->host_pressure),
                .rank = rank,
                .trig = { .full = spec.full, .stall_usec = spec.stall_usec, .window_usec = spec.window_usec },
                .recover_bp = spec.recover_bp,
                .hold_usec = spec.hold_usec,
                .tenant = strncmp(name, "tenant:", 7) == 0,
                .fd = -1,
        };
        if (!g->name || !g->reason || !g->file || (path && !g->path))
                return -ENOMEM;
        return 0;
}

static bool class_has_tenants_below(const Plan *p, unsigned rank) {
        for (size_t i = 0; i < p->n_nodes; i++)
                if (p->nodes[i].type == PLAN_TENANT && p->nodes[i].klass && p->nodes[i].klass->rank < rank)
                        return true;
        return false;
}

static int tenant_init(Tenant *t, const PlanNode *n, const TenantPolicy *tp) {
        const PolicyClass *k = n->klass;

        *t = (Tenant) {
                .id = strdup(tp->id),
                .klass = strdup(k ? k->name : ""),
                .path = strdup(n->path),
                .unit = n->unit ? strdup(n->unit) : NULL,
                .qmp = tp->vm_qmp ? strdup(tp->vm_qmp) : NULL,
                .rank = k ? k->rank : 0,
                .evict = (tp->has_evictable && !tp->evictable) || !k ? EVICT_NEVER : k->evict,
                .vm = tp->kind == TENANT_VM,
                .balloon = tp->kind == TENANT_VM && tp->vm_balloon,
                .vm_memory = tp->kind == TENANT_VM ? tp->vm_memory : SIZE_UNSET,
                .planned_high = n->memory_high,
                .floor = 0,
        };
        if (size_is_set(n->memory_min) && n->memory_min != SIZE_INFINITY)
                t->floor = n->memory_min;
        if (size_is_set(n->memory_low) && n->memory_low != SIZE_INFINITY && n->memory_low > t->floor)
                t->floor = n->memory_low;
        if (!t->id || !t->klass || !t->path || (n->unit && !t->unit) || (tp->vm_qmp && !t->qmp))
                return -ENOMEM;
        return 0;
}

static Tenant *old_tenant(Tenant *v, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].id, id))
                        return &v[i];
        return NULL;
}

/* Move a tenant's runtime state into its new entry (old is dropped after).
 * Returns true when the state was dropped instead (an evicted tenant that
 * runs again). */
static bool tenant_carry(Reactor *r, Tenant *t, Tenant *old) {
        ReactTarget tg;

        free(t->steps);
        t->steps = TAKE_PTR(old->steps);
        t->n_steps = old->n_steps;
        old->n_steps = 0;
        t->frozen = old->frozen;
        t->evicted = old->evicted;
        t->balloon_off = old->balloon_off;
        t->throttle_off = old->throttle_off;
        t->reclaim_off = old->reclaim_off;
        t->freeze_off = old->freeze_off;
        t->pending = old->pending;
        t->pending_deadline = old->pending_deadline;
        t->last_change = old->last_change;
        t->thaw_usec = old->thaw_usec;

        tg = target(r, t);
        if (t->evicted && t->pending == PENDING_NONE && r->ops->populated(&tg) > 0) {
                reset_runtime(t); /* started again by the daemon */
                return true;
        }
        for (unsigned i = 0; i < t->n_steps; i++)
                if (t->steps[i].action == REACT_THROTTLE) {
                        t->steps[i].from = t->planned_high;
                        break;
                }
        return false;
}

static bool has_state(const Tenant *t) {
        return t->n_steps > 0 || t->evicted || t->thaw_usec;
}

/* An apply writes the planned memory.high back: hold the throttled value. */
static void reassert(Reactor *r, Tenant *t) {
        const Step *s = last_step(t, REACT_THROTTLE);
        ReactTarget tg = target(r, t);
        uint64_t cur, high;

        if (!s || t->evicted || r->ops->read_memory(&tg, &cur, &high) < 0 || high == s->to)
                return;
        (void) r->ops->set_high(&tg, s->to);
}

int reactor_set_plan(Reactor *r, const Plan *p, const PolicySet *s) {
        Tenant *tenants = NULL;
        Group *groups = NULL;
        Candidate *cand = NULL;
        size_t nt = 0, ng = 0, max_groups = 1;
        bool changed = false;
        int k = -ENOMEM;

        /* the write in flight refers to a tenant by id: record it first, so that
         * what reassert() holds is what the kernel has */
        job_wait(r);
        for (size_t i = 0; i < p->n_nodes; i++)
                max_groups += p->nodes[i].type != PLAN_ROOT_SLICE;
        tenants = calloc(p->n_nodes ? p->n_nodes : 1, sizeof(Tenant));
        groups = calloc(max_groups, sizeof(Group));
        cand = calloc(p->n_nodes ? p->n_nodes : 1, sizeof(Candidate));
        if (!tenants || !groups || !cand)
                goto fail;

        if (r->host_pressure[0]) {
                PressureSpec hp = s->config.host_pressure;

                if (hp.stall_usec == UINT64_MAX)
                        hp = s->config.pressure;
                if (hp.recover_bp == UINT32_MAX)
                        hp.recover_bp = s->config.pressure.recover_bp;
                if (hp.hold_usec == UINT64_MAX)
                        hp.hold_usec = s->config.pressure.hold_usec;
                k = group_init(r, &groups[ng++], "host", "host pressure", NULL, HOST_RANK, hp);
                if (k < 0)
                        goto fail;
        }
        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                _cleanup_free_ char *name = NULL, *reason = NULL;
                const TenantPolicy *tp;
                PressureSpec spec;

                if (!n->klass)
                        continue;
                spec = pressure_merge(n->klass->pressure, s->config.pressure);
                if (n->type == PLAN_CLASS_SLICE) {
                        if (!class_has_tenants_below(p, n->klass->rank))
                                continue;
                        name = strdup_printf("class:%s", n->klass->name);
                        reason = strdup_printf("pressure in class %s", n->klass->name);
                } else if (n->type == PLAN_TENANT && n->tenant >= 0 && (size_t) n->tenant < s->n_tenants) {
                        tp = &s->tenants[n->tenant];
                        k = tenant_init(&tenants[nt++], n, tp);
                        if (k < 0)
                                goto fail;
                        if (n->klass->protect == PROTECT_NONE)
                                continue;
                        spec = pressure_merge(tp->pressure, spec);
                        name = strdup_printf("tenant:%s", tp->id);
                        reason = strdup_printf("pressure in tenant %s", tp->id);
                } else
                        continue;
                k = -ENOMEM;
                if (!name || !reason)
                        goto fail;
                k = group_init(r, &groups[ng++], name, reason, n->path, n->klass->rank, spec);
                if (k < 0)
                        goto fail;
        }

        /* carry the runtime state of what is still there (or was loaded) */
        for (size_t i = 0; i < nt; i++) {
                Tenant *old = old_tenant(r->tenants, r->n_tenants, tenants[i].id);
                for (size_t j = 0; !old && j < r->n_loaded; j++)
                        if (streq(r->loaded[j].id, tenants[i].id))
                                old = &r->loaded[j].t;
                if (old && tenant_carry(r, &tenants[i], old))
                        changed = true;
        }
        for (size_t i = 0; i < r->n_tenants; i++)
                if (has_state(&r->tenants[i]) && !old_tenant(tenants, nt, r->tenants[i].id))
                        changed = true; /* its record goes */
        loaded_free(r->loaded, r->n_loaded);
        r->loaded = NULL;
        r->n_loaded = 0;
        r->planned = true;
        for (size_t i = 0; i < ng; i++) {
                Group *old = group_find(r, groups[i].name);
                if (!old)
                        continue;
                groups[i].have_total = old->have_total;
                groups[i].last_total = old->last_total;
                groups[i].below_since = old->below_since;
                groups[i].last = old->last;
        }
        r->default_hold = pressure_merge(s->config.pressure, pressure_fallback()).hold_usec;
        /* headroom is kept by the classes without a guarantee: those below the
         * lowest class with a protected tenant */
        r->headroom = s->config.headroom;
        r->headroom_rank = HOST_RANK;
        for (size_t i = 0; i < nt; i++)
                if (tenants[i].floor > 0 && tenants[i].rank < r->headroom_rank)
                        r->headroom_rank = tenants[i].rank;

        tenants_free(r->tenants, r->n_tenants);
        groups_free(r->groups, r->n_groups);
        r->tenants = tenants;
        r->n_tenants = nt;
        free(r->cand);
        r->cand = cand;
        r->groups = groups;
        r->n_groups = ng;
        for (size_t i = 0; i < nt; i++)
                reassert(r, &r->tenants[i]);
        if (r->event) {
                for (size_t i = 0; i < ng; i++)
                        group_arm(r, &r->groups[i]);
                (void) sd_event_source_set_time_relative(r->tick_src, tick_interval(r));
                (void) sd_event_source_set_enabled(r->tick_src, SD_EVENT_ONESHOT);
        }
        for (size_t i = 0; i < nt; i++)
                if (r->tenants[i].pending != PENDING_NONE)
                        pending_arm(r);
        if (changed)
                save_auto(r);
        return 0;

fail:
        tenants_free(tenants, nt);
        groups_free(groups, ng);
        free(cand);
        return k;
}

int reactor_reset_tenant(Reactor *r, const char *id) {
        job_wait(r);
        for (size_t i = 0; i < r->n_tenants; i++)
                if (streq(r->tenants[i].id, id)) {
                        reset_runtime(&r->tenants[i]);
                        r->tenants[i].absent = false;
                        save_auto(r);
                        return 0;
                }
        return -ENOENT;
}

size_t reactor_state(const Reactor *r, ReactTenantState *ret, size_t n) {
        for (size_t i = 0; i < r->n_tenants && i < n; i++) {
                const Tenant *t = &r->tenants[i];
                const Step *th = last_step(t, REACT_THROTTLE), *b = last_step(t, REACT_BALLOON);
                const Step *th0 = NULL, *b0 = NULL;

                for (unsigned j = 0; j < t->n_steps; j++) {
                        if (!th0 && t->steps[j].action == REACT_THROTTLE)
                                th0 = &t->steps[j];
                        if (!b0 && t->steps[j].action == REACT_BALLOON)
                                b0 = &t->steps[j];
                }
                ret[i] = (ReactTenantState) {
                        .id = t->id,
                        .klass = t->klass,
                        .step = top_action(t),
                        .depth = t->n_steps,
                        .frozen = t->frozen,
                        .evicted = t->evicted,
                        .pending = t->pending != PENDING_NONE,
                        .high = th ? th->to : SIZE_UNSET,
                        .high_orig = th0 ? th0->from : SIZE_UNSET,
                        .balloon = b ? b->to : SIZE_UNSET,
                        .balloon_orig = b0 ? b0->from : SIZE_UNSET,
                        .last_change_usec = t->last_change,
                };
        }
        return r->n_tenants;
}

/* ---- state file ---------------------------------------------------------------------- */

#define STATE_MAGIC "# tenantd reaction state"

static const char *pending_names[] = {
        [PENDING_NONE] = "none",
        [PENDING_FREEZE] = "freeze",
        [PENDING_POWERDOWN] = "powerdown",
        [PENDING_KILL] = "kill",
};

static int state_write(FILE *f, void *userdata) {
        const Reactor *r = userdata;

        fprintf(f, STATE_MAGIC " (monotonic usec; written by tenantd, do not edit)\nversion 1\nseq %" PRIu64 "\n",
                r->seq);
        for (size_t i = 0; i < r->n_tenants; i++) {
                const Tenant *t = &r->tenants[i];
                if (!has_state(t))
                        continue;
                fprintf(f, "tenant %s frozen=%d evicted=%d pending=%s deadline=%" PRIu64 " changed=%" PRIu64
                        " thawed=%" PRIu64 "\n",
                        t->id, t->frozen, t->evicted, pending_names[t->pending], t->pending_deadline, t->last_change,
                        t->thaw_usec);
                for (unsigned j = 0; j < t->n_steps; j++)
                        fprintf(f, "step %s %s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", t->id,
                                react_action_to_string(t->steps[j].action), t->steps[j].from, t->steps[j].to,
                                t->steps[j].seq);
        }
        return ferror(f) ? -EIO : 0;
}

int reactor_save(Reactor *r) {
        if (!r->state_file)
                return -EINVAL;
        return write_file_atomic(r->state_file, 0644, state_write, r);
}

static void save_auto(Reactor *r) {
        int k;

        if (!r->state_file)
                return;
        k = reactor_save(r);
        if (k < 0 && k != r->save_error)
                notice(r, NULL, k, "cannot write the reaction state to %s: %s", r->state_file, strerror(-k));
        r->save_error = k;
}

static ReactAction action_from_string(const char *s) {
        for (ReactAction a = REACT_BALLOON; a <= REACT_EVICT; a++)
                if (streq(s, action_names[a]))
                        return a;
        return REACT_NONE;
}

static int pending_from_string(const char *s, Pending *ret) {
        for (size_t i = 0; i < ELEMENTSOF(pending_names); i++)
                if (streq(s, pending_names[i])) {
                        *ret = (Pending) i;
                        return 0;
                }
        return -EBADMSG;
}

/* One tenant's record, into a scratch entry (applied only when the whole file parses). */
static int parse_tenant_line(const char *line, Tenant *t, char *id, size_t id_size) {
        char idbuf[TENANT_ID_MAX + 2], pend[16];
        int frozen, evicted;
        uint64_t deadline, changed, thawed;

        if (sscanf(line, "tenant %49s frozen=%d evicted=%d pending=%15s deadline=%" SCNu64 " changed=%" SCNu64
                   " thawed=%" SCNu64,
                   idbuf, &frozen, &evicted, pend, &deadline, &changed, &thawed) != 7)
                return -EBADMSG;
        if (!tenant_id_is_valid(idbuf) || strlen(idbuf) >= id_size || pending_from_string(pend, &t->pending) < 0)
                return -EBADMSG;
        memcpy(id, idbuf, strlen(idbuf) + 1);
        t->frozen = frozen != 0;
        t->evicted = evicted != 0;
        t->pending_deadline = deadline;
        t->last_change = changed;
        t->thaw_usec = thawed;
        return 0;
}

typedef struct LoadedVec {
        Loaded *v;
        size_t n;
} LoadedVec;

static void loaded_vec_done(LoadedVec *l) {
        loaded_free(l->v, l->n);
}

int reactor_load(Reactor *r) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_(loaded_vec_done) LoadedVec lv = { 0 };
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, len = 0;
        uint64_t seq = 0, at = now(r);
        bool magic = false, version = false;

        if (!r->state_file)
                return -EINVAL;
        f = fopen(r->state_file, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (getline(&line, &len, f) >= 0) {
                char id[TENANT_ID_MAX + 2], act[16];
                uint64_t from, to, s;

                line[strcspn(line, "\n")] = '\0';
                if (!magic) {
                        if (strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)) != 0)
                                return -EBADMSG;
                        magic = true;
                } else if (streq(line, "version 1"))
                        version = true;
                else if (sscanf(line, "seq %" SCNu64, &s) == 1)
                        seq = s;
                else if (strncmp(line, "tenant ", 7) == 0) {
                        Loaded *l;

                        if (lv.n == cap) {
                                Loaded *nv = realloc(lv.v, (cap = cap ? cap * 2 : 8) * sizeof(Loaded));
                                if (!nv)
                                        return -ENOMEM;
                                lv.v = nv;
                        }
                        l = &lv.v[lv.n++];
                        *l = (Loaded) { .t.pending = PENDING_NONE };
                        if (parse_tenant_line(line, &l->t, l->id, sizeof(l->id)) < 0)
                                return -EBADMSG;
                } else if (sscanf(line, "step %49s %15s %" SCNu64 " %" SCNu64 " %" SCNu64, id, act, &from, &to,
                                  &s) == 5) {
                        Tenant *t = lv.n > 0 && streq(lv.v[lv.n - 1].id, id) ? &lv.v[lv.n - 1].t : NULL;
                        ReactAction a = action_from_string(act);
                        int k;

                        if (!t || a == REACT_NONE)
                                return -EBADMSG;
                        k = step_append(t, (Step) { .action = a, .from = from, .to = to, .seq = s });
                        if (k < 0)
                                return k == -E2BIG ? -EBADMSG : k;
                } else if (line[0] != '\0' && line[0] != '#')
                        return -EBADMSG;
        }
        if (!magic || !version)
                return -EBADMSG;

        for (size_t i = 0; i < lv.n; i++) {
                Tenant *lt = &lv.v[i].t;

                /* a state file from before a reboot cannot be in the future */
                lt->last_change = lt->last_change > at ? at : lt->last_change;
                lt->thaw_usec = lt->thaw_usec > at ? at : lt->thaw_usec;
                if (lt->pending != PENDING_NONE)
                        lt->pending_deadline = at + (lt->pending == PENDING_POWERDOWN ? r->tun.evict_timeout_usec
                                                                                     : r->tun.freeze_timeout_usec);
                r->last_change = max_u64(r->last_change, lt->last_change);
                r->last_escalation = max_u64(r->last_escalation, lt->last_change);
        }
        if (seq > r->seq)
                r->seq = seq;
        job_wait(r);
        if (!r->planned) {
                /* reactor_set_plan() takes them */
                loaded_free(r->loaded, r->n_loaded);
                r->loaded = TAKE_PTR(lv.v);
                r->n_loaded = lv.n;
                lv.n = 0;
                return 0;
        }
        for (size_t i = 0; i < lv.n; i++)
                for (size_t j = 0; j < r->n_tenants; j++)
                        if (streq(r->tenants[j].id, lv.v[i].id)) {
                                (void) tenant_carry(r, &r->tenants[j], &lv.v[i].t);
                                if (r->tenants[j].pending != PENDING_NONE)
                                        pending_arm(r);
                        }
        return 0;
}

/* ---- lifetime ------------------------------------------------------------------------ */

int reactor_new(const ReactorConfig *cfg, Reactor **ret) {
        _cleanup_reactor_ Reactor *r = NULL;
        int k;

        if (!cfg || !cfg->cgroup_root)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->tun = cfg->tuning ? *cfg->tuning : react_tuning_default();
        r->ops = cfg->ops ? cfg->ops : &react_kernel_ops;
        r->ops_userdata = cfg->ops_userdata;
        r->clock = cfg->clock;
        r->clock_userdata = cfg->clock_userdata;
        r->default_hold = pressure_fallback().hold_usec;
        r->job_fd = -1;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->work, NULL);
        pthread_cond_init(&r->done, NULL);
        r->hooks = cfg->hooks;
        r->cgroup_root = strdup(cfg->cgroup_root);
        r->host_pressure = strdup(cfg->host_pressure ? cfg->host_pressure : REACT_HOST_PRESSURE);
        r->meminfo = strdup(cfg->meminfo ? cfg->meminfo : "/proc/meminfo");
        if (!r->host_pressure || !r->cgroup_root || !r->meminfo)
                return -ENOMEM;
        if (cfg->state_file) {
                r->state_file = strdup(cfg->state_file);
                if (!r->state_file)
                        return -ENOMEM;
        }
        k = cgfs_open(cfg->cgroup_root, cfg->hooks, &r->cg);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

void reactor_set_event_handler(Reactor *r, ReactEventFn fn, void *userdata) {
        r->handler = fn;
        r->handler_userdata = userdata;
}

Reactor *reactor_free(Reactor *r) {
        if (!r)
                return NULL;
        reactor_detach(r);
        tenants_free(r->tenants, r->n_tenants);
        free(r->cand);
        groups_free(r->groups, r->n_groups);
        loaded_free(r->loaded, r->n_loaded);
        cgfs_free(r->cg);
        free(r->cgroup_root);
        free(r->host_pressure);
        free(r->meminfo);
        free(r->state_file);
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->work);
        pthread_cond_destroy(&r->done);
        free(r);
        return NULL;
}
