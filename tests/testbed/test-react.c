/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reaction ladder (ctl/react.c) on the real kernel, inside the testbed
 * guest, driven by real PSI triggers in an sd-event loop as the daemon will
 * run it. Each scenario applies tests/testbed/policies/react under its own
 * root /sys/fs/cgroup/tb-react-<name>, whose memory.high plays the host's
 * memory (320M), and runs memhog loads without swap, so memory only comes
 * back when the reactor takes it:
 *
 *  - a protected critical tenant (db) stalls on memory while a besteffort
 *    tenant and a growing low-class hog hold it: the besteffort tenant goes
 *    first, then the hog is throttled, reclaimed, frozen and evicted, in that
 *    order, checked in the kernel's files at every step; db keeps its memory;
 *  - the pressure goes away after the freeze: thaw, then memory.high back to
 *    each value it came from, one step per hold, nothing more;
 *  - the protected tenant's cgroup is removed: its trigger reports POLLERR and
 *    is dropped;
 *  - with a headroom (tenantd.conf [pressure] headroom) a growing hog is
 *    throttled once the guest's MemAvailable falls below it, before anything
 *    stalls (the host's pressure is not watched here, so group "host" on the
 *    step can only be the headroom), and the step is undone once it is gone.
 *
 * The host's /proc/pressure/memory is not watched here: the whole guest is
 * the test's, and a tenant stalling against its own memory.high counts in the
 * host's "some" pressure. The time from the trigger's wakeup to each write is
 * printed. Outside the guest every test SKIPs.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "apply.h"
#include "launch.h"
#include "policy-load.h"
#include "react.h"
#include "testbed-util.h"
#include "topology.h"

#define MiB (UINT64_C(1) << 20)
#define S (UINT64_C(1000000))

static const char *const db = "tenants.slice/tenants-critical.slice/tenant-db.scope";
static const char *const hog = "tenants.slice/tenants-low.slice/tenant-hog.scope";
static const char *const be = "tenants.slice/tenants-besteffort.slice/tenant-be.scope";

typedef struct Rec {
        ReactAction action;
        char tenant[32];
        char group[48];
        uint64_t value, previous;
        uint64_t usec, act_usec;        /* write returned, actuator called */
        uint64_t latency;               /* trigger wakeup -> write returned; 0: timer-driven */
        uint64_t to_write;              /* trigger wakeup -> actuator called */
        int error;
        char high[32];                  /* the tenant's memory.high right after */
        bool frozen_seen;               /* freeze: cgroup.events said "frozen 1" */
} Rec;

static char root[256];
static PolicySet set;
static Plan plan;
static Reactor *r;
static sd_event *e;
static Rec recs[128];
static size_t n_recs;
static pid_t db_extra = -1;
static bool release_at_freeze;      /* kill db_extra when the hog is frozen */
static uint64_t db_lowest;

static const char *path_of(const char *tenant) {
        return streq(tenant, "db") ? db : streq(tenant, "hog") ? hog : be;
}

static bool frozen_within(const char *path, unsigned ms) {
        for (unsigned i = 0; i < ms / 10; i++) {
                if (strstr(tb_cg_read(root, path, "cgroup.events"), "frozen 1"))
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

static void on_event(const ReactEvent *ev, void *userdata) {
        Rec *x;
        _cleanup_free_ char *line = react_event_format(ev);

        fprintf(stderr, "react: %s%s\n", line ? line : "?",
                ev->trigger_usec ? "" : " [timer]");
        if (n_recs >= ELEMENTSOF(recs))
                return;
        x = &recs[n_recs++];
        *x = (Rec) { .action = ev->action, .value = ev->value, .previous = ev->previous, .usec = ev->usec,
                     .act_usec = ev->act_usec, .error = ev->error };
        snprintf(x->tenant, sizeof(x->tenant), "%s", ev->tenant);
        snprintf(x->group, sizeof(x->group), "%s", ev->group);
        if (ev->trigger_usec && ev->usec >= ev->trigger_usec && ev->act_usec >= ev->trigger_usec) {
                x->latency = ev->usec - ev->trigger_usec;
                x->to_write = ev->act_usec - ev->trigger_usec;
        }
        if (!ev->tenant[0])
                return;
        snprintf(x->high, sizeof(x->high), "%s", tb_cg_read(root, path_of(ev->tenant), "memory.high"));
        if (ev->action == REACT_FREEZE && streq(ev->tenant, "hog") && release_at_freeze && db_extra > 0) {
                kill(db_extra, SIGKILL); /* the pressure goes away at once */
                tb_reap(db_extra);
                db_extra = -1;
        }
        if (ev->action == REACT_FREEZE)
                x->frozen_seen = frozen_within(path_of(ev->tenant), 3000);
}

/* Apply the policies under a fresh root, start what they run (VMs), give
 * the root 320M of "host" memory, and attach a reactor to an event loop. */
static void scenario_start_with(const char *name, const char *policies) {
        PolicyErrors errs = {0};
        HostTopology host;
        ApplyReport rep = {0};
        Cgfs *cg = NULL;
        char *err = NULL;

        tb_require_guest();
        snprintf(root, sizeof(root), "/sys/fs/cgroup/tb-react-%s", name);
        tb_cgroup_reset(root);
        cr_assert_eq(policy_load_dir(tb_policies(policies), &set, &errs), 0);
        cr_assert_eq(topology_read("/sys", root, &host), 0);
        cr_assert_eq(plan_build(&set, &host, &plan, &errs), 0, "%s", errs.n ? errs.v[0].problem : "");
        cr_assert_eq(cgfs_open(root, NULL, &cg), 0);
        cr_assert_eq(apply_plan(cg, &plan, &set, NULL, &rep), 0, "%s", rep.error);
        apply_report_done(&rep);
        cr_assert_geq(launch_tenants(cg, &plan, &set, NULL, NULL, &err), 0, "%s", err);
        cgfs_free(cg);
        cr_assert_str_eq(tb_cg_read(root, db, "memory.min"), "100663296");
        cr_assert_str_eq(tb_cg_read(root, hog, "memory.high"), "1073741824");
        tb_cg_write(root, NULL, "memory.high", "335544320");
        tb_cg_write(root, NULL, "memory.max", "671088640"); /* a safety net, never reached */

        ReactorConfig cfg = { .cgroup_root = root, .host_pressure = "", .state_file = "/tmp/tb-react.state" };
        cr_assert_eq(reactor_new(&cfg, &r), 0);
        reactor_set_event_handler(r, on_event, NULL);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        cr_assert_eq(sd_event_new(&e), 0);
        cr_assert_eq(reactor_attach(r, e, 0), 0);
        cr_assert(!reactor_polling(r), "PSI triggers must work in the guest");
        n_recs = 0;
        db_extra = -1;
        release_at_freeze = false;
        db_lowest = UINT64_MAX;
}

static void scenario_start(const char *name) {
        scenario_start_with(name, "react");
}

static void scenario_end(pid_t *pids, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (pids[i] > 0) {
                        kill(pids[i], SIGKILL);
                        tb_reap(pids[i]);
                }
        if (db_extra > 0) {
                kill(db_extra, SIGKILL);
                tb_reap(db_extra);
        }
        r = reactor_free(r);
        e = sd_event_unref(e);
        plan_done(&plan);
        policy_set_done(&set);
        unlink("/tmp/tb-react.state");
}

/* A memhog of mib MiB in a tenant, once it holds (nearly) all of it. */
static pid_t hold(const char *path, unsigned mib) {
        char arg[16];
        pid_t pid;

        snprintf(arg, sizeof(arg), "%u", mib);
        pid = tb_spawn_in(root, path, tb_bin("memhog"), arg);
        cr_assert_gt(pid, 0);
        cr_assert_eq(tb_wait_current(root, path, (mib - 6) * MiB, 60), 0, "%s holds only %s", path,
                     tb_cg_read(root, path, "memory.current"));
        return pid;
}

static void sample(void) {
        uint64_t cur = tb_cg_u64(root, db, "memory.current");
        if (cur < db_lowest)
                db_lowest = cur;
}

/* Run the loop until cond() or the time is up; samples db on the way. */
static bool run_until(bool (*cond)(void), unsigned seconds) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + seconds * S;

        while (!cond()) {
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return false;
                cr_assert_geq(sd_event_run(e, 200 * 1000), 0);
                sample();
        }
        return true;
}

static const Rec *find(const char *tenant, ReactAction a, size_t from) {
        for (size_t i = from; i < n_recs; i++)
                if (streq(recs[i].tenant, tenant) && recs[i].action == a)
                        return &recs[i];
        return NULL;
}

static bool hog_evicted(void) {
        return find("hog", REACT_EVICT, 0) != NULL;
}

/* "throttle hog;reclaim hog;..." of the steps (not notices) */
static const char *sequence(const char *tenant) {
        static char buf[2048];
        size_t l = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n_recs; i++) {
                if (recs[i].action == REACT_NOTICE || (tenant && !streq(recs[i].tenant, tenant)))
                        continue;
                l += (size_t) snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? ";" : "",
                                       react_action_to_string(recs[i].action));
                if (l >= sizeof(buf))
                        break;
        }
        return buf;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* min / median / max of one of the two latencies over the steps taken on a trigger */
static void print_latency(const char *scenario, const char *what, bool to_write) {
        uint64_t v[ELEMENTSOF(recs)];
        size_t n = 0;

        for (size_t i = 0; i < n_recs; i++)
                if (recs[i].latency && recs[i].action != REACT_NOTICE)
                        v[n++] = to_write ? recs[i].to_write : recs[i].latency;
        if (n == 0)
                return;
        qsort(v, n, sizeof(v[0]), cmp_u64);
        fprintf(stderr, "react: %s: %s, %zu steps: min %llu us, median %llu us, max %llu us\n", scenario, what, n,
                (unsigned long long) v[0], (unsigned long long) v[n / 2], (unsigned long long) v[n - 1]);
}

static void print_latencies(const char *scenario) {
        print_latency(scenario, "trigger wakeup -> actuator called", true);
        print_latency(scenario, "trigger wakeup -> write returned", false);
}

/* Throttle steps as the kernel shows them: each memory.high is the value written. */
static void assert_throttles_in_kernel(const char *tenant) {
        char want[32];
        unsigned n = 0;

        for (size_t i = 0; i < n_recs; i++) {
                if (!streq(recs[i].tenant, tenant) || recs[i].action != REACT_THROTTLE)
                        continue;
                snprintf(want, sizeof(want), "%llu", (unsigned long long) recs[i].value);
                cr_assert_eq(recs[i].error, 0);
                cr_assert_str_eq(recs[i].high, want, "%s: throttle %u", tenant, n);
                cr_assert_lt(recs[i].value, recs[i].previous);
                n++;
        }
        cr_assert_geq(n, 1, "%s was never throttled", tenant);
}

Test(react, lowest_class_first_then_the_hog_is_throttled_reclaimed_frozen_evicted, .timeout = 600) {
        pid_t pdb, pbe, phog;
        size_t first_hog = SIZE_MAX, last_be = 0;
        const Rec *ev;
        char *outside, *after;
        int sig;

        scenario_start("ladder");
        outside = tb_outside_files("tb-react-ladder");
        pdb = hold(db, 96);
        pbe = hold(be, 64);
        /* the hog grows until the root's memory.high holds it */
        phog = tb_spawn_in(root, hog, tb_bin("memhog"), "32", "--grow");
        cr_assert_eq(tb_wait_current(root, NULL, 300 * MiB, 120), 0, "root at %s",
                     tb_cg_read(root, NULL, "memory.current"));
        /* now the protected tenant needs 128M more: it stalls until the reactor
         * has taken that memory from the tenants below it */
        db_extra = tb_spawn_in(root, db, tb_bin("memhog"), "128");
        cr_assert(run_until(hog_evicted, 300), "the hog was not evicted; steps: %s", sequence(NULL));

        /* the besteffort tenant went all the way first */
        cr_assert_str_eq(sequence("be"), "throttle;throttle;throttle;reclaim;freeze;evict");
        for (size_t i = 0; i < n_recs; i++) {
                if (streq(recs[i].tenant, "hog") && first_hog == SIZE_MAX)
                        first_hog = i;
                if (streq(recs[i].tenant, "be"))
                        last_be = i;
                cr_assert(!streq(recs[i].tenant, "db"), "the protected tenant was acted on");
        }
        cr_assert_lt(last_be, first_hog, "the low class was touched before besteffort was done: %s",
                     sequence(NULL));
        /* then the hog: throttled, reclaimed, frozen, evicted, in that order */
        cr_assert_str_eq(sequence("hog"), "throttle;throttle;throttle;reclaim;freeze;evict");
        assert_throttles_in_kernel("be");
        assert_throttles_in_kernel("hog");
        ev = find("hog", REACT_FREEZE, 0);
        cr_assert(ev->frozen_seen, "cgroup.events never said frozen 1");
        sig = tb_reap(phog);
        phog = -1;
        cr_assert_eq(sig, SIGKILL, "the hog ended with signal %d, not by cgroup.kill", sig);
        cr_assert_eq(tb_reap(pbe), SIGKILL);
        pbe = -1;
        cr_assert_str_eq(tb_cg_read(root, hog, "cgroup.procs"), "");
        cr_assert_str_eq(tb_cg_read(root, hog, "cgroup.freeze"), "0", "an evicted cgroup is not left frozen");

        /* the protected tenant got what it asked for, and never fell below its guarantee */
        cr_assert_eq(tb_wait_current(root, db, 200 * MiB, 120), 0, "db at %s after the eviction",
                     tb_cg_read(root, db, "memory.current"));
        sample();
        cr_assert_geq(db_lowest, tb_cg_u64(root, db, "memory.min"), "db fell to %llu",
                      (unsigned long long) db_lowest);
        print_latencies("ladder");
        /* every step was written below tenants.slice, nothing outside */
        after = tb_outside_files("tb-react-ladder");
        cr_assert_str_eq(after, outside, "a file outside tenants.slice changed");
        free(after);
        free(outside);
        pid_t pids[] = { pdb, pbe, phog };
        scenario_end(pids, ELEMENTSOF(pids));
}

/* ---- headroom: acting before anything stalls ----------------------------------------- */

static bool hog_throttled(void) {
        return find("hog", REACT_THROTTLE, 0) != NULL;
}

static bool hog_unthrottled(void) {
        return find("hog", REACT_UNTHROTTLE, 0) != NULL;
}

static uint64_t mem_available(void) {
        uint64_t v = 0;
        cr_assert_eq(meminfo_read("/proc/meminfo", NULL, &v), 0);
        return v;
}

Test(react, headroom_stops_a_growing_hog_before_anything_stalls, .timeout = 600) {
        const Rec *ev;
        pid_t phog;
        uint64_t avail0, want;
        char expect[64];

        tb_require_guest();
        /* half the guest's MemAvailable now: the hog crosses it well before
         * the root's limits (raised to 640M here), and once it is gone the
         * guest is back above headroom + 1/4 */
        avail0 = mem_available();
        want = avail0 / 2 / MiB * MiB;
        scenario_start("headroom");
        tb_cg_write(root, NULL, "memory.high", "671088640");
        set.config.headroom = (SizeSpec) { .bytes = want };
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);

        phog = tb_spawn_in(root, hog, tb_bin("memhog"), "16", "--grow");
        cr_assert(run_until(hog_throttled, 120), "the hog was not throttled (MemAvailable %llu, headroom %llu)",
                  (unsigned long long) mem_available(), (unsigned long long) want);
        ev = find("hog", REACT_THROTTLE, 0);
        cr_assert_str_eq(ev->group, "host");
        cr_assert_eq(ev->error, 0);
        /* the first step of all, and in the kernel: growth stops at memory.current */
        cr_assert_str_eq(sequence(NULL), "throttle", "something else came first");
        snprintf(expect, sizeof(expect), "%llu", (unsigned long long) ev->value);
        cr_assert_str_eq(ev->high, expect);
        cr_assert_lt(ev->value, UINT64_C(640) << 20, "it acted only at the root's limit");
        /* no pressure made it act: the protected tenant never stalled */
        cr_assert_eq(find("db", REACT_THROTTLE, 0), NULL);

        /* the hog ends before the next tick: MemAvailable goes back above
         * headroom + 1/4, and after the hold (3 s) the throttle is undone */
        kill(phog, SIGKILL);
        tb_reap(phog);
        phog = -1;
        cr_assert(run_until(hog_unthrottled, 120), "not undone (MemAvailable %llu); steps: %s",
                  (unsigned long long) mem_available(), sequence(NULL));
        cr_assert_str_eq(tb_cg_read(root, hog, "memory.high"), "1073741824");
        pid_t pids[] = { phog };
        scenario_end(pids, ELEMENTSOF(pids));
}

static bool hog_recovered(void) {
        const Rec *f = find("hog", REACT_FREEZE, 0);
        size_t n = 0;

        if (!f)
                return false;
        for (size_t i = (size_t) (f - recs); i < n_recs; i++)
                n += streq(recs[i].tenant, "hog") && recs[i].action == REACT_UNTHROTTLE;
        return n >= 3;
}

static bool never(void) {
        return false;
}

static bool db_gone_noticed(void) {
        for (size_t i = 0; i < n_recs; i++)
                if (recs[i].action == REACT_NOTICE && streq(recs[i].group, "tenant:db"))
                        return true;
        return false;
}

Test(react, pressure_gone_steps_undone_in_reverse, .timeout = 600) {
        char want[32];
        pid_t pdb, phog;
        const Rec *thaw;
        size_t n;

        scenario_start("recover");
        pdb = hold(db, 96);
        phog = hold(hog, 192);
        release_at_freeze = true;
        db_extra = tb_spawn_in(root, db, tb_bin("memhog"), "128");
        cr_assert(run_until(hog_recovered, 300), "no recovery; steps: %s", sequence(NULL));
        /* and nothing after it: run on for a few holds */
        n = n_recs;
        run_until(never, 10);
        cr_assert_eq(n_recs, n, "oscillation: %s", sequence(NULL));

        cr_assert_str_eq(sequence("hog"),
                         "throttle;throttle;throttle;reclaim;freeze;thaw;unthrottle;unthrottle;unthrottle");
        cr_assert(find("hog", REACT_FREEZE, 0)->frozen_seen);
        assert_throttles_in_kernel("hog");
        /* each memory.high back to what the matching throttle step replaced */
        thaw = find("hog", REACT_THAW, 0);
        cr_assert_eq(thaw->error, 0);
        for (size_t i = (size_t) (thaw - recs), k = 0; i < n_recs; i++) {
                const Rec *u = &recs[i], *t;
                size_t nth = 0;

                if (u->action != REACT_UNTHROTTLE)
                        continue;
                /* the k-th undo matches the (3 - k)-th throttle */
                for (t = recs; t < recs + n_recs; t++)
                        if (streq(t->tenant, "hog") && t->action == REACT_THROTTLE && ++nth == 3 - k)
                                break;
                cr_assert_eq(u->value, t->previous, "undo %zu", k);
                cr_assert_eq(u->previous, t->value, "undo %zu", k);
                snprintf(want, sizeof(want), "%llu", (unsigned long long) u->value);
                cr_assert_str_eq(u->high, want);
                /* one undo per hold (3 s), counted from the previous change; the
                 * recovery tick is 1 s, and a busy emulator may delay a stamp */
                cr_assert_geq(u->act_usec - recs[i - 1].act_usec, 3 * S - 500 * 1000,
                              "undo %zu came %llu ms after the previous change", k,
                              (unsigned long long) ((u->act_usec - recs[i - 1].act_usec) / 1000));
                k++;
        }
        cr_assert_str_eq(tb_cg_read(root, hog, "memory.high"), "1073741824");
        cr_assert_str_eq(tb_cg_read(root, hog, "cgroup.freeze"), "0");
        cr_assert(strstr(tb_cg_read(root, hog, "cgroup.events"), "frozen 0"));
        cr_assert_eq(kill(phog, 0), 0, "the hog must still run: it was not evicted");
        print_latencies("recover");

        /* the protected tenant's cgroup goes: its trigger says POLLERR and is dropped */
        kill(pdb, SIGKILL);
        tb_reap(pdb);
        pdb = -1;
        {
                char p[512];
                snprintf(p, sizeof(p), "%s/%s", root, db);
                for (int i = 0; i < 300 && rmdir(p) < 0 && errno == EBUSY; i++)
                        usleep(10 * 1000);
                cr_assert(!tb_cg_exists(root, db), "rmdir %s: %s", p, strerror(errno));
        }
        cr_assert(run_until(db_gone_noticed, 10), "no notice for the removed cgroup");
        pid_t pids[] = { pdb, phog };
        scenario_end(pids, ELEMENTSOF(pids));
}

/* ---- a besteffort VM: the balloon first -------------------------------------- */

static const char *const vm = "tenants.slice/tenants-besteffort.slice/tenant-vm.service";

static bool hog_touched(void) {
        for (size_t i = 0; i < n_recs; i++)
                if (streq(recs[i].tenant, "hog") && recs[i].action != REACT_NOTICE)
                        return true;
        return false;
}

/* The QEMU process of the VM tenant (tenantd launched it into its leaf). */
static pid_t vm_pid(void) {
        return (pid_t) atoi(tb_cg_read(root, vm, "cgroup.procs"));
}

Test(react, a_besteffort_vm_is_ballooned_before_anything_is_frozen, .timeout = 600) {
        size_t last_balloon = 0, first_freeze = SIZE_MAX;
        uint64_t target = 128 * MiB;
        pid_t pdb, phog, qemu;
        unsigned balloons = 0;

        scenario_start_with("vm", "react-vm");
        qemu = vm_pid();
        cr_assert_gt(qemu, 0, "no QEMU in %s", vm);
        pdb = hold(db, 96);
        phog = tb_spawn_in(root, hog, tb_bin("memhog"), "32", "--grow");
        cr_assert_eq(tb_wait_current(root, NULL, 300 * MiB, 120), 0, "root at %s",
                     tb_cg_read(root, NULL, "memory.current"));
        db_extra = tb_spawn_in(root, db, tb_bin("memhog"), "128");
        cr_assert(run_until(hog_touched, 300), "the ladder never reached the hog; steps: %s", sequence(NULL));

        /* the VM: ballooned down to its floor (a quarter of 128M) in steps of a
         * quarter, through QMP, before its cgroup is throttled */
        cr_assert(strncmp(sequence("vm"), "balloon;balloon;balloon;throttle", 32) == 0, "vm: %s", sequence("vm"));
        for (size_t i = 0; i < n_recs; i++) {
                const Rec *x = &recs[i];

                if (x->action == REACT_BALLOON) {
                        cr_assert_str_eq(x->tenant, "vm");
                        cr_assert_eq(x->error, 0, "balloon %u failed: %s", balloons, strerror(-x->error));
                        cr_assert_eq(x->previous, target);
                        target -= 32 * MiB;
                        cr_assert_eq(x->value, target);
                        balloons++;
                        last_balloon = i;
                }
                if (x->action == REACT_FREEZE && first_freeze == SIZE_MAX)
                        first_freeze = i;
                cr_assert(!streq(x->tenant, "db"), "the protected tenant was acted on");
        }
        cr_assert_eq(balloons, 3);
        cr_assert_lt(last_balloon, first_freeze, "something was frozen before the balloon was done: %s",
                     sequence(NULL));
        pid_t pids[] = { pdb, phog, qemu };
        scenario_end(pids, ELEMENTSOF(pids));
}
