/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * react: the reaction ladder. Watches memory pressure (PSI) and, when a
 * class, a protected tenant or the host is under pressure, degrades the
 * least important tenants one step at a time; undoes the steps when the
 * pressure is gone.
 *
 * Owns: which cgroups are watched and with which thresholds, the decision
 * which tenant gets which step and when, the runtime state of every tenant
 * on the ladder (and its file, so it survives a restart), and the reaction
 * events. Does not own: the kernel's trigger rules (psi.h), the QMP protocol
 * (qmp.h), the planned values (plan.h), logging, D-Bus or the journal (the
 * daemon turns ReactEvents into those). react.c decides; react-act.c holds
 * the actuators that touch cgroupfs and QMP (react_kernel_ops), behind
 * ReactOps so that the daemon can route a step elsewhere and tests can
 * record the calls.
 *
 * THE LADDER
 *
 *   Watched groups: the host (/proc/pressure/memory), every class slice
 *   with tenants ranked below it, and every protected tenant (class
 *   protect=min or low). Each has a kernel trigger "some|full STALL WINDOW"
 *   from its [pressure] settings (tenant over class over tenantd.conf), and
 *   a low-water mark and hold time for recovery. The host ranks above every
 *   class; a tenant ranks with its class. The host's "some" stall also counts
 *   tenants stalling against their own memory.high, the reactor's throttling
 *   included: a host trigger wants "full" or a larger stall than the classes'.
 *
 *   Pressure in group G of rank C: take the lowest-ranked class strictly
 *   below C that still has a tenant with a step left (classes at or above C
 *   are never touched; a tenant without processes has nothing to give), and
 *   give one of its tenants one step. Within the class the gentlest step
 *   goes first: no tenant of the class is frozen while another could still
 *   be ballooned or throttled. Among tenants at the same step: evict=first
 *   before yes before last-resort before never, then the largest
 *   memory.current. A tenant's steps, in order:
 *
 *     balloon   VM with balloon=yes and a QMP socket: QMP balloon down by
 *               balloon_step_bp of guest RAM, not below balloon_floor_bp
 *               (query-balloon reads `actual` back for the event);
 *     throttle  memory.high: first down to memory.current (growth stops),
 *               then throttle_step_bp lower each step, throttle_steps in
 *               all, never below the tenant's memory.min/low nor high_floor;
 *     reclaim   memory.reclaim of reclaim_bp of memory.current (EAGAIN, the
 *               kernel reclaiming less, is fine);
 *     freeze    cgroup.freeze=1, done when cgroup.events says "frozen 1"
 *               (VMs: QMP stop);
 *     evict     cgroup.kill=1 (VMs: QMP system_powerdown, cgroup.kill after
 *               evict_timeout_usec).
 *
 *   Tenants whose class has evict=never, or with evictable=no, are never
 *   frozen or evicted. A tenant that needs freezing again within
 *   refreeze_usec of being thawed is evicted instead: freezing it only
 *   paused the pressure it makes.
 *
 *   Pacing: one step per trigger window across the whole reactor, and no
 *   tenant changed twice within a window. A trigger event whose stall since
 *   the group's previous event is below the trigger's stall is not acted on:
 *   the kernel delivers a breach seen during its once-per-window rate limit
 *   one window late, after the pressure may have gone (at worst, pressure
 *   right at the threshold is acted on a window later).
 *
 *   Recovery: every tick_usec the averages of the watched groups are read.
 *   A tenant's steps can be undone once every group ranked above its class
 *   has had its avg10 (some or full, as its trigger) below its recover mark
 *   for its hold time, counted from the later of "went below" and the
 *   reactor's last change. Then one step is undone, the most recent first,
 *   across all tenants: thaw, memory.high back to the value it had before
 *   that throttle step, balloon back to its previous size (reclaim has
 *   nothing to undo). So each undo waits a whole hold, and nothing
 *   oscillates faster than that. An evicted tenant is not restored here:
 *   its state stays until the daemon starts it again (reactor_set_plan()
 *   sees its cgroup populated) or calls reactor_reset_tenant().
 *
 *   Headroom (tenantd.conf [pressure] headroom, off by default): every tick
 *   MemAvailable is read from /proc/meminfo; below the headroom, the classes
 *   without a guarantee (ranked below the lowest class with a protected
 *   tenant) get one step per tick, as if their superior were under
 *   pressure. This acts before anything stalls: a tenant that only grows is
 *   stopped while the host still has memory, before kswapd and reclaim slow
 *   everyone down. Their steps are undone only after MemAvailable has been
 *   above headroom + 1/4 for the default hold.
 *
 *   Without PSI (no /proc/pressure: the host is then not watched; a trigger
 *   write failing with EOPNOTSUPP; a pressure file that cannot be polled),
 *   the reactor says so once (a REACT_NOTICE event) and polls instead: every
 *   window it reads the group's memory.pressure totals, or, when those do
 *   not exist either, the high/max/oom counters of memory.events, and treats
 *   a stall of at least the trigger's (or a counter that grew) as a trigger
 *   event.
 *
 * Runtime state (the steps in force with the values they replaced) is
 * written to state_file (tmp + rename) after every change, so a restarted
 * daemon undoes exactly what its predecessor did.
 *
 * Slow writes run off the event loop: writing memory.high below usage, and
 * memory.reclaim, make the kernel reclaim in the writer's context before
 * the write returns (up to seconds; the new memory.high is in force from
 * the start). A reactor attached to an event loop hands those two writes to
 * a worker thread of its own and goes on serving its loop; the step is
 * recorded, its event emitted and its window started when the write
 * returns. While one runs, no other step is taken or undone. Detached (or
 * with ReactTuning.sync_writes), every write is made on the caller's thread.
 */
#pragma once

#include <systemd/sd-event.h>

#include "cgfs.h"
#include "plan.h"
#include "policy.h"
#include "psi.h"

#define REACT_STATE_PATH "/run/tenantd/react.state"
#define REACT_HOST_PRESSURE "/proc/pressure/memory"

typedef enum ReactAction {
        REACT_NONE,
        REACT_BALLOON,          /* the escalation steps, gentlest first */
        REACT_THROTTLE,
        REACT_RECLAIM,
        REACT_FREEZE,
        REACT_EVICT,
        REACT_THAW,             /* their undo */
        REACT_UNTHROTTLE,
        REACT_DEFLATE,
        REACT_NOTICE,           /* not a step: PSI unavailable, a watched cgroup gone, a save failed */
        _REACT_ACTION_MAX,
} ReactAction;

/* "balloon", "throttle", ..., "notice"; NULL when out of range. */
const char *react_action_to_string(ReactAction a);

typedef struct ReactEvent {
        uint64_t usec;               /* CLOCK_MONOTONIC when the write returned */
        uint64_t act_usec;           /* when the actuator was called (usec - act_usec: the
                                        write itself, including reclaim the kernel does in it) */
        uint64_t trigger_usec;       /* when the pressure event was seen (the event loop's
                                        wakeup); 0 for timer-driven steps */
        const char *tenant;          /* "" for notices not about a tenant */
        const char *klass;           /* the tenant's class, "" */
        ReactAction action;
        const char *reason;          /* "pressure in class critical", "host pressure",
                                        "pressure in tenant db", "recovered", ... */
        const char *group;           /* the watched group: "host", "class:critical", "tenant:db", "" */
        uint32_t some_avg10;         /* the group's averages, basis points */
        uint32_t full_avg10;
        uint64_t stall_delta_usec;   /* stall (some or full, as the trigger) since the group's
                                        previous event */
        uint64_t value;              /* written: bytes (balloon, throttle, reclaim and their undo;
                                        SIZE_INFINITY is "max"), 1/0 for freeze/thaw, 1 for evict */
        uint64_t previous;           /* the value it replaced; SIZE_UNSET when none */
        int error;                   /* 0, or -errno: the step failed and was skipped */
        const char *detail;          /* "actual 192M", "system_powerdown, cgroup.kill in 30s", ... or "" */
} ReactEvent;

typedef void (*ReactEventFn)(const ReactEvent *ev, void *userdata);

/* One line for logs and event details:
 * "hog: throttle memory.high 2G -> 150M (pressure in class critical: some 42.10% full 3.00%, stall +350ms)",
 * "hog: freeze, cgroup.freeze (...): Device or resource busy" for a failed step,
 * "notice: PSI triggers unavailable (...)". malloc'ed, NULL when out of memory. */
char *react_event_format(const ReactEvent *ev);

/* ---- actuators ------------------------------------------------------------ */

/* What an actuator acts on. */
typedef struct ReactTarget {
        const char *id;
        const char *path;            /* the tenant's cgroup, relative to the root */
        const char *unit;            /* its unit name (plan), for a backend that wants it */
        const char *qmp;             /* QMP socket; NULL when the tenant has none */
        bool vm;                     /* a VM with a QMP socket: freeze/evict through QMP */
        Cgfs *cgfs;                  /* the reactor's handle on the cgroup root (on the worker
                                        thread: the worker's own) */
        uint64_t qmp_timeout_usec;
        void *userdata;              /* ReactorConfig.ops_userdata */
        void *worker;                /* on the worker thread: what ops->worker_open returned;
                                        NULL on the loop's thread */
} ReactTarget;

/* Every function returns >= 0 or -errno. */
typedef struct ReactOps {
        /* memory.current and memory.high (SIZE_INFINITY for "max"); ret_high NULL: only memory.current */
        int (*read_memory)(const ReactTarget *t, uint64_t *ret_current, uint64_t *ret_high);
        int (*set_high)(const ReactTarget *t, uint64_t bytes);
        /* -EAGAIN: the kernel reclaimed less than asked (not a failure) */
        int (*reclaim)(const ReactTarget *t, uint64_t bytes);
        /* Ask the guest for `bytes` of RAM (0: only query); *ret_actual: query-balloon's
         * `actual` afterwards. */
        int (*balloon)(const ReactTarget *t, uint64_t bytes, uint64_t *ret_actual);
        /* 1: in effect now; 0: asked, poll frozen() */
        int (*freeze)(const ReactTarget *t, bool freeze);
        /* 1 frozen, 0 not yet */
        int (*frozen)(const ReactTarget *t);
        /* force=false: the graceful way (VM: system_powerdown); force=true: cgroup.kill.
         * 1: nothing left running; 0: asked, poll populated() */
        int (*evict)(const ReactTarget *t, bool force);
        /* 1 processes left, 0 empty */
        int (*populated)(const ReactTarget *t);

        /* Optional. set_high (lowering) and reclaim run on the reactor's worker
         * thread when it is attached to a loop: there they must not touch what
         * the loop's thread uses, only the ReactTarget (and t->worker).
         * worker_open is called on the worker thread when it starts (with
         * ops_userdata) and worker_close when it ends; with worker_open given,
         * a NULL result fails the worker's calls with -ENOTCONN. */
        void *(*worker_open)(void *userdata);
        void (*worker_close)(void *worker);
} ReactOps;

/* cgroupfs through t->cgfs and QMP on t->qmp (react-act.c). */
extern const ReactOps react_kernel_ops;

/* ---- the reactor ---------------------------------------------------------- */

typedef struct ReactTuning {
        uint32_t balloon_step_bp;    /* share of guest RAM per balloon step; default 2500 */
        uint32_t balloon_floor_bp;   /* never below this share of guest RAM; default 2500 */
        unsigned throttle_steps;     /* default 3 (the first down to memory.current) */
        uint32_t throttle_step_bp;   /* each later step lowers memory.high by this share; 2500 */
        uint64_t high_floor;         /* bytes; default 32M */
        unsigned reclaim_steps;      /* default 1 */
        uint32_t reclaim_bp;         /* share of memory.current per memory.reclaim; 2500 */
        uint64_t freeze_timeout_usec;/* waiting for "frozen 1"; default 2 s */
        uint64_t evict_timeout_usec; /* VM: system_powerdown to cgroup.kill; default 30 s */
        uint64_t refreeze_usec;      /* frozen again this soon after a thaw: evict; 60 s */
        uint64_t tick_usec;          /* recovery sampling; default 1 s */
        uint64_t qmp_timeout_usec;   /* default 2 s */
        bool poll_only;              /* never arm kernel triggers, always poll */
        bool sync_writes;            /* no worker thread: slow writes on the loop too */
} ReactTuning;

ReactTuning react_tuning_default(void);

typedef struct ReactorConfig {
        const char *cgroup_root;     /* required: the root tenants.slice is under */
        const CgfsHooks *hooks;      /* fixture seam (tests); NULL on a real kernel */
        const char *host_pressure;   /* NULL: REACT_HOST_PRESSURE; "": do not watch the host */
        const char *state_file;      /* NULL: nothing persisted; the daemon: REACT_STATE_PATH
                                        (its directory must exist) */
        const char *meminfo;         /* NULL: /proc/meminfo (MemAvailable, for [pressure] headroom) */
        const ReactTuning *tuning;   /* NULL: react_tuning_default() */
        const ReactOps *ops;         /* NULL: react_kernel_ops */
        void *ops_userdata;
        uint64_t (*clock)(void *userdata);   /* NULL: CLOCK_MONOTONIC */
        void *clock_userdata;
} ReactorConfig;

typedef struct Reactor Reactor;

/* Opens the cgroup root; nothing is watched until reactor_set_plan(). */
int reactor_new(const ReactorConfig *cfg, Reactor **ret);
Reactor *reactor_free(Reactor *r);
static inline void reactor_freep(Reactor **r) {
        reactor_free(*r);
}
#define _cleanup_reactor_ _cleanup_(reactor_freep)

/* Called for every step and notice, from within the reactor: the handler must
 * not call reactor_set_plan(), reactor_detach() or reactor_free(). */
void reactor_set_event_handler(Reactor *r, ReactEventFn fn, void *userdata);

/* (Re)build the watched groups and the tenants from a plan and the policy set
 * it was built from (neither is referenced afterwards). Tenants that are still
 * in the plan keep their runtime state; the first throttle step's "from" value
 * becomes the new planned memory.high, and the memory.high the reactor holds
 * is written again (an apply writes the planned value back). An evicted
 * tenant whose cgroup has processes again (the daemon restarted it) starts
 * from scratch. When attached, the new triggers are armed at once. Trigger
 * errors are not fatal (see the polling fallback); returns 0 or -ENOMEM. */
int reactor_set_plan(Reactor *r, const Plan *p, const PolicySet *s);

/* Arm the triggers as EPOLLPRI io sources, the recovery tick and the timers on
 * e. Attaching again to the same loop does nothing; to another: -EBUSY. */
int reactor_attach(Reactor *r, sd_event *e, int64_t priority);
void reactor_detach(Reactor *r);

/* The entry points the event sources use, public so tests (and a daemon
 * without sd-event) can drive the ladder. group: "host", "class:NAME",
 * "tenant:ID". seen: the group's averages at the event, NULL to read them
 * now. Returns 1 when a step was taken (or handed to the worker), 0 when
 * none (paced, nothing below, a late event, a write still running), -ENOENT
 * for an unknown group. */
int reactor_pressure(Reactor *r, const char *group, const PsiStats *seen, uint64_t trigger_usec);
/* Sample the groups, finish pending freezes and evictions, undo a step when
 * recovery allows. Returns 1 when a step was undone, else 0. */
int reactor_tick(Reactor *r);

typedef struct ReactTenantState {
        const char *id;
        const char *klass;
        ReactAction step;            /* the hardest step in force, REACT_NONE */
        unsigned depth;              /* steps in force (each throttle step counts) */
        bool frozen, evicted;
        bool pending;                /* waiting for "frozen 1" or for a VM to power down */
        uint64_t high;               /* memory.high the reactor holds; SIZE_UNSET: not throttled */
        uint64_t high_orig;          /* memory.high before the first throttle step */
        uint64_t balloon;            /* balloon target; SIZE_UNSET: not ballooned */
        uint64_t balloon_orig;       /* guest RAM before the first balloon step */
        uint64_t last_change_usec;
} ReactTenantState;

/* The tenants in plan order. Fills up to n entries (strings owned by r, valid
 * until the next reactor_set_plan()), returns how many tenants there are. */
size_t reactor_state(const Reactor *r, ReactTenantState *ret, size_t n);
/* True while some watched group has to be polled (no PSI trigger). */
bool reactor_polling(const Reactor *r);

/* Forget the runtime state of a tenant (the daemon restarted it). -ENOENT. */
int reactor_reset_tenant(Reactor *r, const char *id);

/* Write the runtime state to the state file (tmp + rename), or read it back.
 * reactor_load() before the first reactor_set_plan() keeps the records for it;
 * after, it applies them at once. Records of tenants not in the plan are
 * dropped. reactor_load(): 0 also when the file does not exist, -EBADMSG for
 * a file that is not a state file (nothing is taken from it). The reactor
 * saves by itself after every change; -EINVAL without a state file. */
int reactor_save(Reactor *r);
int reactor_load(Reactor *r);
