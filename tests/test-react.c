/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the reaction ladder (ctl/react.c) and its cgroupfs
 * actuators (ctl/react-act.c) on a fixture tree: the order across and within
 * classes, never acting at or above the class under pressure, evictability,
 * pacing, recovery in reverse order with its hold time, the state file, the
 * polling fallback, and the exact bytes written to the cgroup files. Pressure
 * comes from memory.pressure files the test writes; time from a fake clock.
 * The kernel's side: tests/testbed/test-react.c; a real VM's balloon:
 * tests/qemu/test-react-vm.c.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "fake-cgroupfs.h"
#include "plan.h"
#include "react.h"

#define MiB (UINT64_C(1) << 20)
#define SEC (UINT64_C(1000000))

static FakeCg fake;
static PolicySet set;
static Plan plan;
static Reactor *r;
static uint64_t clock_now;
static char host_file[128];
static char state_file[128];
static char meminfo_file[128];
static uint64_t totals[16];   /* stall total per group, grown by pressure() */

/* what the reactor did, as "action tenant" words joined by ';' */
static char log_buf[4096];
static ReactEvent last;       /* its strings point into last_strings */
static char last_strings[4][256];
static unsigned n_events, n_notices;

static uint64_t fake_clock(void *userdata) {
        return clock_now;
}

static void on_event(const ReactEvent *ev, void *userdata) {
        size_t l = strlen(log_buf);

        n_events++;
        last = *ev;
        /* the event's strings are only valid during the call */
        last.tenant = strcpy(last_strings[0], ev->tenant);
        last.reason = strcpy(last_strings[1], ev->reason);
        last.group = strcpy(last_strings[2], ev->group);
        last.detail = strcpy(last_strings[3], ev->detail);
        if (ev->action == REACT_NOTICE) {
                n_notices++;
                return;
        }
        snprintf(log_buf + l, sizeof(log_buf) - l, "%s%s %s%s", l ? ";" : "", react_action_to_string(ev->action),
                 ev->tenant, ev->error ? "!" : "");
}

static const char *events(void) {
        static char copy[sizeof(log_buf)];
        memcpy(copy, log_buf, sizeof(copy));
        log_buf[0] = '\0';
        return copy;
}

/* ---- fixture ------------------------------------------------------------------ */

static const char *const topology_text =
        "[host]\nmemory = 16G\npage_size = 4096\nhugepage_sizes = 2M\nswap_accounting = yes\n"
        "[node0]\nmemory = 16G\ncpus = 0-3\ndistances = 10\nhugepages_2M = 0\n";

typedef struct TenantText {
        const char *id;
        const char *text;
} TenantText;

static void add_tenant(const char *id, const char *text) {
        PolicyErrors errs = {0};
        TenantPolicy *t;

        set.tenants = realloc(set.tenants, (set.n_tenants + 1) * sizeof(TenantPolicy));
        cr_assert_not_null(set.tenants);
        t = &set.tenants[set.n_tenants++];
        cr_assert_eq(tenant_parse(text, strlen(text), id, id, t, &errs), 0, "%s: %s", id,
                     errs.n ? errs.v[0].problem : "");
        policy_errors_clear(&errs);
}

static int cmp_tenant(const void *a, const void *b) {
        return strcmp(((const TenantPolicy *) a)->id, ((const TenantPolicy *) b)->id);
}

static const char *psi_text(uint32_t avg10_bp, uint64_t total) {
        static char buf[256];
        snprintf(buf, sizeof(buf),
                 "some avg10=%u.%02u avg60=0.00 avg300=0.00 total=%" PRIu64 "\n"
                 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                 avg10_bp / 100, avg10_bp % 100, total);
        return buf;
}

static void write_meminfo(uint64_t available) {
        FILE *f = fopen(meminfo_file, "we");
        cr_assert_not_null(f);
        fprintf(f, "MemTotal:       16777216 kB\nMemFree:         1000 kB\nMemAvailable:   %" PRIu64 " kB\n",
                available / 1024);
        fclose(f);
}

static void write_host_psi(uint32_t avg10_bp, uint64_t total) {
        FILE *f = fopen(host_file, "we");
        cr_assert_not_null(f);
        fputs(psi_text(avg10_bp, total), f);
        fclose(f);
}

static const PlanNode *node_of(const char *id) {
        for (size_t i = 0; i < plan.n_nodes; i++)
                if (plan.nodes[i].tenant >= 0 && streq(set.tenants[plan.nodes[i].tenant].id, id))
                        return &plan.nodes[i];
        cr_assert_fail("no plan node for %s", id);
        return NULL;
}

static const char *cg_of(const char *id) {
        return node_of(id)->path;
}

static const char *class_path(const char *klass) {
        static char buf[128];
        snprintf(buf, sizeof(buf), "tenants.slice/tenants-%s.slice", klass);
        return buf;
}

static void set_current(const char *id, uint64_t bytes) {
        char v[32];
        snprintf(v, sizeof(v), "%" PRIu64, bytes);
        fake_cg_write(&fake, cg_of(id), "memory.current", v);
}

static void set_events(const char *id, bool populated, bool frozen) {
        char v[64];
        snprintf(v, sizeof(v), "populated %d\nfrozen %d", populated, frozen);
        fake_cg_write(&fake, cg_of(id), "cgroup.events", v);
}

/* Build the plan, create its cgroups with the planned memory.high, and a reactor on them. */
static void start(const ReactOps *ops, const ReactTuning *tun) {
        HostTopology host;
        PolicyErrors errs = {0};
        CgfsHooks h = fake_cg_hooks(&fake);
        Cgfs *cg = NULL;
        char *err = NULL;

        qsort(set.tenants, set.n_tenants, sizeof(TenantPolicy), cmp_tenant);
        cr_assert_eq(topology_parse(topology_text, strlen(topology_text), &host, &err), 0, "%s", err);
        cr_assert_eq(plan_build(&set, &host, &plan, &errs), 0, "%s", errs.n ? errs.v[0].problem : "");
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);
        for (size_t i = 0; i < plan.n_nodes; i++) {
                const PlanNode *n = &plan.nodes[i];
                char v[32];

                cr_assert_eq(cgfs_create(cg, n->path, NULL), 0, "%s", n->path);
                if (n->memory_high == SIZE_INFINITY)
                        snprintf(v, sizeof(v), "max");
                else
                        snprintf(v, sizeof(v), "%" PRIu64, n->memory_high);
                fake_cg_write(&fake, n->path, "memory.high", v);
                fake_cg_write(&fake, n->path, "memory.pressure", psi_text(0, 0));
                fake_cg_write(&fake, n->path, "memory.reclaim", "");
                fake_cg_write(&fake, n->path, "cgroup.freeze", "0");
                fake_cg_write(&fake, n->path, "cgroup.events", "populated 1\nfrozen 0");
                if (n->tenant >= 0)
                        fake_cg_write(&fake, n->path, "memory.current", "104857600");
        }
        cgfs_free(cg);
        write_host_psi(0, 0);

        ReactorConfig cfg = {
                .cgroup_root = fake.root,
                .hooks = &h,
                .host_pressure = host_file,
                .state_file = state_file,
                .meminfo = meminfo_file,
                .tuning = tun,
                .ops = ops,
                .clock = fake_clock,
        };
        cr_assert_eq(reactor_new(&cfg, &r), 0);
        reactor_set_event_handler(r, on_event, NULL);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        log_buf[0] = '\0';
        n_events = n_notices = 0;
}

static void setup(void) {
        fake_cg_setup(&fake);
        snprintf(host_file, sizeof(host_file), "%s/host.pressure", fake.root);
        snprintf(state_file, sizeof(state_file), "%s/react.state", fake.root);
        snprintf(meminfo_file, sizeof(meminfo_file), "%s/meminfo", fake.root);
        write_meminfo(8192 * MiB);
        set = (PolicySet) {0};
        policy_classes_default(&set.classes);
        host_config_default(&set.config);
        /* these tests drive the host group with "some" totals, like the classes */
        set.config.host_pressure.stall_usec = UINT64_MAX;
        plan = (Plan) {0};
        r = NULL;
        clock_now = 1000 * SEC;
        memset(totals, 0, sizeof(totals));
}

static void teardown(void) {
        r = reactor_free(r);
        plan_done(&plan);
        policy_set_done(&set);
        fake_cg_teardown(&fake);
}

TestSuite(react, .init = setup, .fini = teardown);

/* A trigger event in `group` one window after the previous one, with 500 ms of
 * new stall at avg10 40%. Returns reactor_pressure()'s result. */
static int pressure(const char *group) {
        unsigned slot = 0;
        const char *colon = strchr(group, ':');

        for (const char *p = group; *p; p++)
                slot = (slot * 31 + (unsigned char) *p) % ELEMENTSOF(totals);
        totals[slot] += 500 * 1000;
        clock_now += 2 * SEC;
        if (streq(group, "host"))
                write_host_psi(4000, totals[slot]);
        else if (strncmp(group, "class:", 6) == 0)
                fake_cg_write(&fake, class_path(colon + 1), "memory.pressure", psi_text(4000, totals[slot]));
        else
                fake_cg_write(&fake, cg_of(colon + 1), "memory.pressure", psi_text(4000, totals[slot]));
        return reactor_pressure(r, group, NULL, clock_now);
}

/* n trigger events in group, each taking a step; what they did */
static const char *steps(const char *group, int n) {
        for (int i = 0; i < n; i++)
                cr_assert_eq(pressure(group), 1, "%s, event %d: no step (so far: %s)", group, i, log_buf);
        return events();
}

/* Every watched pressure file down to avg10 = bp (totals unchanged). */
static void calm(uint32_t bp) {
        for (size_t i = 0; i < plan.n_nodes; i++)
                if (plan.nodes[i].type != PLAN_ROOT_SLICE)
                        fake_cg_write(&fake, plan.nodes[i].path, "memory.pressure", psi_text(bp, 0));
        write_host_psi(bp, 0);
}

static const char *critical_db = "[tenant]\nclass = critical\n[memory]\nrequest = 128M\nlimit = 192M\n";
static const char *low_hog = "[tenant]\nclass = low\n[memory]\nrequest = 16M\nlimit = 1G\n";

/* ---- the ladder ------------------------------------------------------------------ */

/* every write the reactor makes outside tenants.slice */
static char outside[1024];

static void note_outside(const char *path, const char *attr, const char *value, void *userdata) {
        size_t l = strlen(outside);

        if (strncmp(path, "tenants.slice/", 14) != 0)
                snprintf(outside + l, sizeof(outside) - l, "%s/%s = %s\n", path, attr, value);
}

Test(react, one_tenant_goes_through_every_step_in_order) {
        const char *hog;

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, NULL);
        outside[0] = '\0';
        fake.on_write = note_outside;
        hog = cg_of("hog");
        set_current("hog", 400 * MiB);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "1073741824");

        /* throttle: first down to memory.current, then 25% lower per step */
        cr_assert_eq(pressure("tenant:db"), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "419430400");
        cr_assert_eq(last.previous, 1024 * MiB);
        cr_assert_str_eq(last.reason, "pressure in tenant db");
        cr_assert_str_eq(last.group, "tenant:db");
        cr_assert_eq(last.some_avg10, 4000);
        cr_assert_eq(last.stall_delta_usec, 500 * 1000);
        cr_assert_eq(pressure("class:critical"), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "314572800");
        cr_assert_eq(pressure("host"), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "235929600");
        cr_assert_str_eq(last.reason, "host pressure");
        /* reclaim a quarter of memory.current */
        cr_assert_eq(pressure("tenant:db"), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.reclaim"), "104857600");
        /* freeze: written, then pending until cgroup.events says frozen */
        cr_assert_eq(pressure("tenant:db"), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "cgroup.freeze"), "1");
        ReactTenantState st[2];
        cr_assert_eq(reactor_state(r, st, 2), 2);
        cr_assert_str_eq(st[1].id, "hog");
        cr_assert(st[1].pending && st[1].frozen);
        cr_assert_eq(pressure("tenant:db"), 0, "nothing else is done while the freeze is pending");
        set_events("hog", true, true);
        clock_now += 100 * 1000;
        reactor_tick(r);
        reactor_state(r, st, 2);
        cr_assert(!st[1].pending);
        /* evict */
        cr_assert_eq(pressure("tenant:db"), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "cgroup.kill"), "1");
        cr_assert_str_eq(events(), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog;evict hog");
        /* nothing is left below critical; db itself is never touched */
        cr_assert_eq(pressure("tenant:db"), 0);
        cr_assert_eq(pressure("host"), 1, "the host ranks above critical");
        cr_assert_str_eq(events(), "throttle db");
        reactor_state(r, st, 2);
        cr_assert(st[1].evicted);
        cr_assert_eq(st[1].step, REACT_EVICT);
        cr_assert_eq(st[0].step, REACT_THROTTLE);
        cr_assert_str_eq(outside, "", "written outside tenants.slice:\n%s", outside);
        fake.on_write = NULL;
}

/* A thrashing task freezes only when it gets back from reclaim: the stall a
 * trigger reports right after "frozen 1" is mostly from before it. The freeze
 * gets a window of its own, counted from when it took effect. */
Test(react, a_freeze_gets_a_window_from_when_it_took_effect) {
        PsiStats st = { .some = { .avg10 = 5000, .total_usec = 100 * SEC }, .has_full = true };

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        cr_assert_str_eq(steps("tenant:db", 5), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog");
        /* frozen 3 s after the request (more than a window) */
        set_events("hog", true, true);
        clock_now += 3 * SEC;
        reactor_tick(r);
        /* half a window later: the freeze is left to work */
        clock_now += 500 * 1000;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &st, clock_now), 0, "%s", log_buf);
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "cgroup.kill"), "");
        /* still stalling a whole window after it took effect: evict */
        clock_now += 1500 * 1000;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &st, clock_now), 1);
        cr_assert_str_eq(events(), "evict hog");
}

Test(react, never_acts_at_or_above_the_class_under_pressure) {
        add_tenant("db", critical_db);
        add_tenant("web", "[tenant]\nclass = normal\n[memory]\nrequest = 64M\nlimit = 256M\n");
        add_tenant("hog", low_hog);
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        set_current("web", 200 * MiB);

        set_events("hog", true, true);

        /* pressure in normal: only the low class is below it */
        cr_assert_str_eq(steps("class:normal", 5), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog");
        cr_assert_str_eq(steps("class:normal", 1), "evict hog");
        /* the hog is gone: pressure in normal finds nothing below it */
        for (int i = 0; i < 3; i++)
                cr_assert_eq(pressure("class:normal"), 0);
        cr_assert_str_eq(events(), "");
        /* pressure in critical: normal is below it now */
        cr_assert_str_eq(steps("class:critical", 1), "throttle web");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("db"), "memory.high"), "max");
}

Test(react, the_lowest_class_goes_first) {
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        add_tenant("be", "[tenant]\nclass = besteffort\n[memory]\nrequest = 16M\nlimit = 512M\n");
        start(NULL, NULL);
        set_current("hog", 600 * MiB);   /* larger, but in a higher class */
        set_current("be", 100 * MiB);
        set_events("be", true, true);     /* an idle cgroup freezes at once */

        cr_assert_str_eq(steps("class:critical", 6),
                         "throttle be;throttle be;throttle be;reclaim be;freeze be;evict be");
        cr_assert_str_eq(steps("class:critical", 1), "throttle hog");
        /* pressure in low acts on besteffort only, and that one is done */
        cr_assert_eq(pressure("class:low"), 0);
}

Test(react, tenants_without_processes_are_skipped) {
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        add_tenant("be", "[tenant]\nclass = besteffort\n[memory]\nrequest = 16M\nlimit = 512M\n");
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        set_events("be", false, false);   /* nothing runs there (yet) */

        cr_assert_str_eq(steps("class:critical", 1), "throttle hog");
        /* it has processes again: it goes first */
        set_events("be", true, false);
        cr_assert_str_eq(steps("class:critical", 1), "throttle be");
}

/* Within a class the largest goes first, even when it is not the first in
 * order that has processes. */
Test(react, the_largest_with_processes_goes_first) {
        add_tenant("db", critical_db);
        add_tenant("a", low_hog);
        add_tenant("b", low_hog);
        add_tenant("c", low_hog);
        start(NULL, NULL);
        set_current("a", 500 * MiB);
        set_current("b", 300 * MiB);
        set_current("c", 200 * MiB);
        set_events("a", false, false);
        cr_assert_str_eq(steps("tenant:db", 1), "throttle b");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("a"), "memory.high"), "1073741824");
}

/* A decision reads every candidate's memory.current; under building pressure
 * the tick has read them already, and a decision within that tick reuses
 * them. While all is calm the tick reads no tenant's file. */
Test(react, the_tick_reads_the_order_ahead_under_building_pressure) {
        PsiStats st = { .some = { .avg10 = 5000, .total_usec = 100 * SEC }, .has_full = true };

        add_tenant("db", critical_db);
        add_tenant("a", low_hog);
        add_tenant("b", low_hog);
        start(NULL, NULL);
        set_current("a", 100 * MiB);
        set_current("b", 300 * MiB);

        /* calm: the tick reads nothing of a or b */
        cr_assert_eq(reactor_tick(r), 0);
        set_current("a", 500 * MiB);
        clock_now += 500 * 1000;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &st, clock_now), 1);
        cr_assert_str_eq(events(), "throttle a", "the decision read memory.current itself");

        /* pressure building in class critical (avg10 above its recover mark) */
        fake_cg_write(&fake, class_path("critical"), "memory.pressure", psi_text(4000, 0));
        clock_now += 3 * SEC;
        set_current("b", 800 * MiB);
        cr_assert_eq(reactor_tick(r), 0);
        set_current("b", 100 * MiB);   /* after the tick: not seen yet */
        clock_now += 500 * 1000;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &st, clock_now), 1);
        cr_assert_str_eq(events(), "throttle b", "ordered by what the tick read half a second ago");
        cr_assert_eq(last.value, 100 * MiB, "the step itself reads the tenant it acts on");

        /* a tick later the values are read again */
        clock_now += 2 * SEC;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &st, clock_now), 1);
        cr_assert_str_eq(events(), "throttle a");
}

Test(react, within_a_class_gentle_steps_first_then_the_largest) {
        add_tenant("db", critical_db);
        add_tenant("big", low_hog);
        add_tenant("small", low_hog);
        add_tenant("keep", "[tenant]\nclass = low\n[memory]\nrequest = 16M\nlimit = 1G\n[pressure]\nevictable = no\n");
        start(NULL, NULL);
        set_current("big", 500 * MiB);
        set_current("small", 100 * MiB);
        set_current("keep", 900 * MiB);

        /* keep is the largest but never evictable: last at each step */
        cr_assert_str_eq(steps("host", 12),
                         "throttle big;throttle big;throttle big;throttle small;throttle small;throttle small;"
                         "throttle keep;throttle keep;throttle keep;reclaim big;reclaim small;reclaim keep");
        set_events("big", true, true);
        set_events("small", true, true);
        cr_assert_str_eq(steps("host", 4), "freeze big;freeze small;evict big;evict small");
        /* keep is never frozen or evicted: the host's pressure moves on to critical */
        cr_assert_str_eq(steps("host", 1), "throttle db");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("keep"), "cgroup.freeze"), "0");
}

Test(react, classes_that_never_evict_are_only_throttled) {
        add_tenant("db", critical_db);
        add_tenant("api", "[tenant]\nclass = high\n[memory]\nrequest = 64M\nlimit = 256M\n");
        start(NULL, NULL);
        set_current("api", 80 * MiB);
        set_current("db", 150 * MiB);

        for (int i = 0; i < 3; i++)
                cr_assert_eq(pressure("class:critical"), 1);
        cr_assert_eq(pressure("class:critical"), 0, "high: evict = never");
        /* the third throttle step would go below the floor: skipped */
        cr_assert_str_eq(events(), "throttle api;throttle api;reclaim api");
        /* memory.high never below the tenant's guarantee (memory.min = request) */
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("api"), "memory.high"), "67108864");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("api"), "cgroup.freeze"), "0");
}

/* db (critical) and two low tenants, a larger than b */
static void start_db_a_b(void) {
        add_tenant("db", critical_db);
        add_tenant("a", low_hog);
        add_tenant("b", low_hog);
        start(NULL, NULL);
        set_current("a", 400 * MiB);
        set_current("b", 300 * MiB);
}

Test(react, pacing_one_step_per_window_and_late_events) {
        PsiStats st = { .some = { .avg10 = 5000, .total_usec = 10 * SEC }, .has_full = true };

        start_db_a_b();

        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        /* 300 ms later other groups fire, with new stall: one step per window */
        clock_now += 300 * 1000;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "class:critical", &st, clock_now), 0);
        cr_assert_eq(reactor_pressure(r, "tenant:db", &st, clock_now), 0);
        /* a window later: the next step */
        clock_now += SEC;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        /* an event whose stall since the previous one is below the trigger's
         * (150 ms): the kernel's late delivery, ignored */
        clock_now += 2 * SEC;
        st.some.total_usec += 149 * 1000;
        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 0);
        st.some.total_usec += 150 * 1000;
        clock_now += 2 * SEC;
        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        cr_assert_str_eq(events(), "throttle a;throttle a;throttle a");
        cr_assert_eq(reactor_pressure(r, "nope", &st, clock_now), -ENOENT);
}

/* ---- recovery --------------------------------------------------------------------- */

static int tick_at(uint64_t t0, uint64_t sec) {
        clock_now = t0 + sec * SEC;
        return reactor_tick(r);
}

Test(react, recovery_undoes_in_reverse_after_the_hold) {
        const char *hog;
        uint64_t t0;

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        set.config.pressure.hold_usec = 40 * SEC;   /* the host's; critical holds 30 s */
        start(NULL, NULL);
        hog = cg_of("hog");
        set_current("hog", 400 * MiB);
        set_events("hog", true, true);
        cr_assert_str_eq(steps("tenant:db", 5), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog");
        t0 = clock_now;

        /* still under pressure: nothing is undone */
        cr_assert_eq(tick_at(t0, 100), 0);
        t0 = clock_now;
        calm(100);
        cr_assert_eq(tick_at(t0, 1), 0);
        cr_assert_eq(tick_at(t0, 35), 0, "the host's hold is 40 s");
        cr_assert_eq(tick_at(t0, 42), 1);
        cr_assert_str_eq(events(), "thaw hog");
        cr_assert_str_eq(last.reason, "recovered");
        cr_assert_str_eq(fake_cg_read(&fake, hog, "cgroup.freeze"), "0");
        cr_assert_eq(tick_at(t0, 43), 0, "one undo per hold");
        /* a blip above the mark restarts the host's hold */
        write_host_psi(3000, 0);
        cr_assert_eq(tick_at(t0, 50), 0);
        write_host_psi(100, 0);
        cr_assert_eq(tick_at(t0, 51), 0);
        cr_assert_eq(tick_at(t0, 83), 0, "40 s since the blip have not passed");
        cr_assert_eq(tick_at(t0, 92), 1);
        /* memory.high goes back step by step to the value each step came from */
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "314572800");
        cr_assert_eq(tick_at(t0, 120), 0);
        cr_assert_eq(tick_at(t0, 133), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "419430400");
        cr_assert_eq(tick_at(t0, 174), 1);
        cr_assert_str_eq(fake_cg_read(&fake, hog, "memory.high"), "1073741824");
        cr_assert_eq(tick_at(t0, 300), 0, "nothing left");
        cr_assert_str_eq(events(), "unthrottle hog;unthrottle hog;unthrottle hog");

        ReactTenantState st[2];
        reactor_state(r, st, 2);
        cr_assert_eq(st[1].depth, 0);
        cr_assert_eq(st[1].step, REACT_NONE);
        /* the ladder starts over */
        cr_assert_str_eq(steps("tenant:db", 1), "throttle hog");
}

Test(react, headroom_squeezes_the_unprotected_classes_before_anything_stalls) {
        uint64_t t0;

        add_tenant("db", critical_db);
        add_tenant("web", "[tenant]\nclass = normal\n[memory]\nrequest = 64M\nlimit = 256M\n");
        add_tenant("hog", low_hog);
        set.config.headroom = (SizeSpec) { .bytes = 1024 * MiB };
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        set_current("web", 200 * MiB);
        set_events("hog", true, true);   /* a freeze takes effect at once */
        t0 = clock_now;

        cr_assert_eq(tick_at(t0, 1), 0, "8G available: nothing to do");
        write_meminfo(900 * MiB);
        cr_assert_eq(tick_at(t0, 2), 0);
        cr_assert_str_eq(events(), "throttle hog", "no pressure anywhere, yet the hog is stopped");
        cr_assert_str_eq(last.reason, "low headroom: MemAvailable 900M < 1G");
        cr_assert_str_eq(last.group, "host");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "419430400");
        clock_now = t0 + 2 * SEC + SEC / 2;
        cr_assert_eq(reactor_tick(r), 0);
        cr_assert_str_eq(events(), "", "one step per tick");
        for (unsigned s = 3; s <= 7; s++)
                (void) tick_at(t0, s);
        /* web (normal) is protected (memory.low): the headroom stops below it */
        cr_assert_str_eq(events(), "throttle hog;throttle hog;reclaim hog;freeze hog;evict hog");
        set_events("hog", false, false);   /* cgroup.kill did its work */
        for (unsigned s = 8; s <= 12; s++)
                (void) tick_at(t0, s);
        cr_assert_str_eq(events(), "", "nothing else below web");

        /* back in the hysteresis band (1G .. 1.25G): not acted on, nothing undone */
        write_meminfo(1100 * MiB);
        cr_assert_eq(tick_at(t0, 100), 0);
        cr_assert_str_eq(events(), "");
}

Test(react, headroom_recovery_waits_for_the_resume_mark_and_the_hold) {
        uint64_t t0;

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        set.config.headroom = (SizeSpec) { .percent_bp = 625 };   /* 1G of 16G */
        set.config.pressure.hold_usec = 20 * SEC;
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        t0 = clock_now;
        write_meminfo(900 * MiB);
        cr_assert_eq(tick_at(t0, 1), 0);
        cr_assert_eq(tick_at(t0, 2), 0);
        cr_assert_str_eq(events(), "throttle hog;throttle hog");
        /* above the headroom but below its resume mark (1.25G): no step, no undo */
        write_meminfo(1200 * MiB);
        cr_assert_eq(tick_at(t0, 60), 0);
        cr_assert_str_eq(events(), "");
        /* above the resume mark: one undo per hold */
        write_meminfo(2048 * MiB);
        cr_assert_eq(tick_at(t0, 61), 0);
        cr_assert_eq(tick_at(t0, 80), 0, "the hold (20 s) has not passed");
        cr_assert_eq(tick_at(t0, 82), 1);
        cr_assert_str_eq(events(), "unthrottle hog");
        cr_assert_eq(tick_at(t0, 100), 0, "class critical's hold (30 s) counts from the last undo");
        cr_assert_eq(tick_at(t0, 113), 1);
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "1073741824");
        /* below the headroom again: the ladder starts over */
        write_meminfo(600 * MiB);
        cr_assert_eq(tick_at(t0, 114), 0);
        cr_assert_str_eq(events(), "unthrottle hog;throttle hog");
}

Test(react, no_tenant_changes_twice_within_a_window) {
        PsiStats st = { .some = { .avg10 = 5000, .total_usec = 10 * SEC }, .has_full = true };
        uint64_t t0;

        start_db_a_b();

        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        t0 = clock_now;
        calm(0);
        cr_assert_eq(tick_at(t0, 1), 0);
        cr_assert_eq(tick_at(t0, 32), 1);
        /* pressure half a window after a's undo: a is not changed again yet */
        clock_now += 500 * 1000;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        cr_assert_str_eq(events(), "throttle a;unthrottle a;throttle b");
}

/* Lowering memory.high makes the kernel reclaim in the writer's context: a
 * write can take longer than a window. The trigger event that queued up
 * meanwhile comes right after the write and must not count as a new window. */
/* ---- crash safety --------------------------------------------------------------------- */

static ReactOps evict_ops;
static char state_at_evict[1024];

static int recording_evict(const ReactTarget *t, bool force) {
        FILE *f = fopen(state_file, "re");
        size_t n = 0;

        if (f) {
                n = fread(state_at_evict, 1, sizeof(state_at_evict) - 1, f);
                fclose(f);
        }
        state_at_evict[n] = '\0';
        return react_kernel_ops.evict(t, force);
}

Test(react, an_eviction_is_recorded_before_the_kill) {
        evict_ops = react_kernel_ops;
        evict_ops.evict = recording_evict;
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(&evict_ops, NULL);
        set_current("hog", 400 * MiB);
        set_events("hog", true, true);
        cr_assert_str_eq(steps("tenant:db", 6), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog;evict hog");
        /* what a daemon killed during cgroup.kill finds when it starts again */
        cr_assert(strstr(state_at_evict, "tenant hog frozen=1 evicted=1 "), "%s", state_at_evict);
}

static ReactOps slow_ops;

static int slow_set_high(const ReactTarget *t, uint64_t bytes) {
        clock_now += 3 * SEC;
        return react_kernel_ops.set_high(t, bytes);
}

Test(react, a_slow_write_does_not_open_a_new_window) {
        PsiStats st = { .some = { .avg10 = 5000, .total_usec = 10 * SEC }, .has_full = true };

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        slow_ops = react_kernel_ops;
        slow_ops.set_high = slow_set_high;
        start(&slow_ops, NULL);
        set_current("hog", 400 * MiB);

        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        /* the event the kernel queued during the write, handled at once */
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 0, "%s", log_buf);
        cr_assert_str_eq(events(), "throttle hog");
        /* a window after the write returned, the next step */
        clock_now += 2 * SEC;
        st.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "host", &st, clock_now), 1);
        cr_assert_str_eq(events(), "throttle hog");
}

Test(react, frozen_again_soon_after_a_thaw_means_evicted) {
        ReactTuning tun = react_tuning_default();
        uint64_t t0;

        tun.throttle_steps = 0;
        tun.reclaim_steps = 0;
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, &tun);
        set_events("hog", true, true);

        cr_assert_str_eq(steps("tenant:db", 1), "freeze hog");
        t0 = clock_now;
        calm(0);
        tick_at(t0, 1);
        cr_assert_eq(tick_at(t0, 32), 1);
        cr_assert_str_eq(events(), "thaw hog");
        /* its pressure is back at once: freezing it again would only pause it */
        cr_assert_str_eq(steps("tenant:db", 1), "evict hog");
}

/* ---- VMs: the balloon comes first (recording ops for QMP) -------------------------- */

static uint64_t vm_balloon;
static bool vm_paused;
static unsigned vm_powerdowns;
static ReactOps vm_ops;

static int fake_balloon(const ReactTarget *t, uint64_t bytes, uint64_t *ret_actual) {
        cr_assert(t->vm);
        cr_assert_str_eq(t->qmp, "/run/tenantd/qmp/dev.sock");
        if (bytes)
                vm_balloon = bytes;
        if (ret_actual)
                *ret_actual = vm_balloon;
        return 0;
}

static int fake_freeze(const ReactTarget *t, bool freeze) {
        if (!t->vm)
                return react_kernel_ops.freeze(t, freeze);
        vm_paused = freeze;
        return 1;
}

static int fake_frozen(const ReactTarget *t) {
        return t->vm ? vm_paused : react_kernel_ops.frozen(t);
}

static int fake_evict(const ReactTarget *t, bool force) {
        if (t->vm && !force) {
                vm_powerdowns++;
                return 0;
        }
        return react_kernel_ops.evict(t, force);
}

static const ReactOps *vm_fake_ops(void) {
        vm_ops = react_kernel_ops;
        vm_ops.balloon = fake_balloon;
        vm_ops.freeze = fake_freeze;
        vm_ops.frozen = fake_frozen;
        vm_ops.evict = fake_evict;
        vm_balloon = 1024 * MiB;
        vm_paused = false;
        vm_powerdowns = 0;
        return &vm_ops;
}

Test(react, vm_is_ballooned_before_anything_is_frozen_and_deflated_last) {
        uint64_t t0;

        add_tenant("db", critical_db);
        add_tenant("dev", "[tenant]\nkind = vm\nclass = besteffort\n[vm]\nmemory = 1G\n");
        add_tenant("ci", "[tenant]\nclass = besteffort\n[memory]\nrequest = 16M\nlimit = 512M\n");
        start(vm_fake_ops(), NULL);
        set_current("ci", 300 * MiB);
        set_current("dev", 900 * MiB);
        set_events("ci", true, true);

        /* 1G -> 768M -> 512M -> 256M (the floor, a quarter of guest RAM) */
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(pressure("class:critical"), 1);
                cr_assert_eq(vm_balloon, (uint64_t) (3 - i) * 256 * MiB);
                cr_assert_eq(last.value, vm_balloon);
                cr_assert_str_eq(last.detail, i == 0 ? "actual 768M" : i == 1 ? "actual 512M" : "actual 256M");
        }
        cr_assert_str_eq(steps("class:critical", 10),
                         "balloon dev;balloon dev;balloon dev;throttle dev;throttle dev;throttle dev;"
                         "throttle ci;throttle ci;throttle ci;reclaim dev;reclaim ci;freeze dev;freeze ci");
        cr_assert(vm_paused, "a VM is frozen through QMP stop");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("dev"), "cgroup.freeze"), "0", "not through its cgroup");

        /* recovery: the newest first, the balloon last */
        t0 = clock_now;
        calm(0);
        tick_at(t0, 1);
        for (unsigned i = 1; i <= 9; i++)
                cr_assert_eq(tick_at(t0, 1 + 31 * i), 1, "undo %u", i);
        cr_assert_str_eq(events(),
                         "thaw ci;thaw dev;unthrottle ci;unthrottle ci;unthrottle ci;unthrottle dev;unthrottle dev;"
                         "unthrottle dev;deflate dev");
        cr_assert(!vm_paused);
        cr_assert_eq(vm_balloon, 512 * MiB);
        tick_at(t0, 1 + 31 * 10);
        tick_at(t0, 1 + 31 * 11);
        cr_assert_eq(vm_balloon, 1024 * MiB);
        cr_assert_eq(last.previous, 768 * MiB);
        cr_assert_str_eq(events(), "deflate dev;deflate dev");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("ci"), "memory.high"), "536870912");
}

Test(react, vm_without_its_qmp_socket_is_throttled_instead) {
        ReactTuning tun = react_tuning_default();

        tun.qmp_timeout_usec = 100 * 1000;
        add_tenant("db", critical_db);
        add_tenant("dev", "[tenant]\nkind = vm\nclass = besteffort\n[vm]\nmemory = 1G\n"
                          "qmp = /nonexistent/tenantd-test/dev.sock\n");
        start(NULL, &tun);
        set_current("dev", 900 * MiB);

        /* the real QMP actuator: no socket, the balloon fails, the cgroup is still there */
        cr_assert_str_eq(steps("host", 1), "balloon dev!;throttle dev");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("dev"), "memory.high"), "943718400");
}

Test(react, vm_eviction_powers_down_then_kills) {
        ReactTuning tun = react_tuning_default();

        tun.throttle_steps = 0;
        tun.reclaim_steps = 0;
        tun.evict_timeout_usec = 5 * SEC;
        add_tenant("db", critical_db);
        add_tenant("dev", "[tenant]\nkind = vm\nclass = besteffort\n[vm]\nmemory = 1G\nballoon = no\n");
        start(vm_fake_ops(), &tun);

        cr_assert_eq(pressure("host"), 1);
        cr_assert(vm_paused);
        cr_assert_str_eq(steps("host", 1), "freeze dev;evict dev");
        cr_assert(!vm_paused, "continued so that the guest sees the power button");
        cr_assert_eq(vm_powerdowns, 1);
        cr_assert_str_eq(last.detail, "system_powerdown, cgroup.kill in 5s");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("dev"), "cgroup.kill"), "");
        /* QEMU still there after the timeout: killed */
        clock_now += 6 * SEC;
        reactor_tick(r);
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("dev"), "cgroup.kill"), "1");
        cr_assert_str_eq(events(), "evict dev");
        cr_assert_str_eq(last.reason, "did not power off in time");
}

/* ---- runtime state -------------------------------------------------------------------- */

Test(react, state_survives_a_restart) {
        ReactTenantState st[2], st2[2];
        uint64_t t0;
        FILE *f;

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        cr_assert_str_eq(steps("class:critical", 5), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog");
        reactor_state(r, st, 2);
        cr_assert(st[1].pending, "the fixture does not say frozen 1 yet");
        cr_assert_eq(st[1].high, 235929600);

        /* a new reactor on the same plan reads it back */
        r = reactor_free(r);
        ReactorConfig cfg = {
                .cgroup_root = fake.root, .host_pressure = host_file, .state_file = state_file, .clock = fake_clock,
        };
        CgfsHooks h = fake_cg_hooks(&fake);
        cfg.hooks = &h;
        /* the daemon's order: load, then the plan */
        cr_assert_eq(reactor_new(&cfg, &r), 0);
        reactor_set_event_handler(r, on_event, NULL);
        cr_assert_eq(reactor_load(r), 0);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        cr_assert_eq(reactor_state(r, st2, 2), 2);
        cr_assert_eq(st2[1].depth, 5);
        cr_assert_eq(st2[1].step, REACT_FREEZE);
        cr_assert(st2[1].frozen && st2[1].pending);
        cr_assert_eq(st2[1].high, 235929600);
        cr_assert_eq(st2[1].high_orig, 1024 * MiB);
        cr_assert_eq(st2[1].last_change_usec, st[1].last_change_usec);
        cr_assert_eq(st2[0].depth, 0);
        /* the other order reads the same */
        Reactor *r2 = NULL;
        cr_assert_eq(reactor_new(&cfg, &r2), 0);
        cr_assert_eq(reactor_set_plan(r2, &plan, &set), 0);
        cr_assert_eq(reactor_load(r2), 0);
        reactor_state(r2, st, 2);
        cr_assert_eq(st[1].depth, 5);
        cr_assert_eq(st[1].high, 235929600);
        reactor_free(r2);

        /* and undoes exactly what its predecessor did */
        set_events("hog", true, true);
        t0 = clock_now;
        calm(0);
        tick_at(t0, 1);
        cr_assert_eq(tick_at(t0, 40), 1);
        cr_assert_eq(tick_at(t0, 80), 1);
        cr_assert_eq(tick_at(t0, 120), 1);
        cr_assert_eq(tick_at(t0, 160), 1);
        cr_assert_str_eq(events(), "thaw hog;unthrottle hog;unthrottle hog;unthrottle hog");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "1073741824");

        /* no file: nothing to restore; not a state file: refused */
        unlink(state_file);
        cr_assert_eq(reactor_load(r), 0);
        f = fopen(state_file, "we");
        fputs("tenant hog frozen=1\n", f);
        fclose(f);
        cr_assert_eq(reactor_load(r), -EBADMSG);
        f = fopen(state_file, "we");
        fputs("# tenantd reaction state\nversion 1\nseq 9\n"
              "tenant gone frozen=1 evicted=0 pending=none deadline=0 changed=5 thawed=0\n"
              "step gone freeze 0 1 9\n"
              "tenant hog frozen=0 evicted=0 pending=none deadline=0 changed=5 thawed=0\n"
              "step hog bogus 0 1 9\n",
              f);
        fclose(f);
        cr_assert_eq(reactor_load(r), -EBADMSG, "an unknown step");
        reactor_state(r, st2, 2);
        cr_assert_eq(st2[1].depth, 0, "nothing taken from a bad file");
}

Test(react, set_plan_keeps_state_and_holds_memory_high) {
        ReactTenantState st[2];

        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, NULL);
        set_current("hog", 400 * MiB);
        set_events("hog", true, true);
        cr_assert_eq(pressure("host"), 1);
        cr_assert_eq(pressure("host"), 1);
        /* an apply writes the planned value back; the next plan holds ours again */
        fake_cg_write(&fake, cg_of("hog"), "memory.high", "1073741824");
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "314572800");
        reactor_state(r, st, 2);
        cr_assert_eq(st[1].depth, 2);

        /* evicted, then started again by the daemon: it starts from scratch */
        cr_assert_str_eq(steps("host", 4), "throttle hog;throttle hog;throttle hog;reclaim hog;freeze hog;evict hog");
        set_events("hog", false, false);
        reactor_tick(r);
        reactor_state(r, st, 2);
        cr_assert(st[1].evicted && !st[1].pending);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        reactor_state(r, st, 2);
        cr_assert(st[1].evicted, "still empty: still evicted");
        set_events("hog", true, false);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        reactor_state(r, st, 2);
        cr_assert(!st[1].evicted);
        cr_assert_eq(st[1].depth, 0);
        cr_assert_eq(reactor_reset_tenant(r, "nope"), -ENOENT);
        cr_assert_eq(reactor_reset_tenant(r, "hog"), 0);
}

/* ---- actuators on the fixture ---------------------------------------------------------- */

Test(react, kernel_actuators_write_the_cgroup_files) {
        CgfsHooks h;
        Cgfs *cg = NULL;
        uint64_t cur = 0, high = 0, actual;

        add_tenant("hog", low_hog);
        start(NULL, NULL);
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);
        ReactTarget t = { .id = "hog", .path = cg_of("hog"), .cgfs = cg };
        const ReactOps *k = &react_kernel_ops;

        set_current("hog", 123456789);
        cr_assert_eq(k->read_memory(&t, &cur, &high), 0);
        cr_assert_eq(cur, 123456789);
        cr_assert_eq(high, 1024 * MiB);
        cr_assert_eq(k->set_high(&t, 503808), 0);
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "memory.high"), "503808");
        cr_assert_eq(k->set_high(&t, SIZE_INFINITY), 0);
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "memory.high"), "max");
        cr_assert_eq(k->read_memory(&t, &cur, &high), 0);
        cr_assert_eq(high, SIZE_INFINITY);
        cr_assert_eq(k->reclaim(&t, MiB), 0);
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "memory.reclaim"), "1048576");

        /* freeze: 0 until cgroup.events says "frozen 1" */
        set_events("hog", true, false);
        cr_assert_eq(k->freeze(&t, true), 0);
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "cgroup.freeze"), "1");
        cr_assert_eq(k->frozen(&t), 0);
        set_events("hog", true, true);
        cr_assert_eq(k->frozen(&t), 1);
        cr_assert_eq(k->freeze(&t, false), 1);
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "cgroup.freeze"), "0");

        /* evict: cgroup.kill, and thawed so a restart does not begin frozen */
        fake_cg_write(&fake, t.path, "cgroup.freeze", "1");
        cr_assert_eq(k->populated(&t), 1);
        cr_assert_eq(k->evict(&t, true), 0, "processes left: pending");
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "cgroup.kill"), "1");
        cr_assert_str_eq(fake_cg_read(&fake, t.path, "cgroup.freeze"), "0");
        set_events("hog", false, false);
        cr_assert_eq(k->evict(&t, true), 1);
        cr_assert_eq(k->populated(&t), 0);

        /* the kernel's errors come back as they are */
        fake.fail_attr = "memory.reclaim";
        fake.fail_errno = EAGAIN;
        cr_assert_eq(k->reclaim(&t, MiB), -EAGAIN);
        fake.fail_attr = NULL;
        t.path = "tenants.slice/nope";
        cr_assert_eq(k->set_high(&t, MiB), -ENOENT);
        cr_assert_eq(k->frozen(&t), -ENOENT);
        /* a VM without a QMP socket cannot be ballooned */
        cr_assert_eq(k->balloon(&t, MiB, &actual), -ENOTCONN);
        cgfs_free(cg);
}

Test(react, reclaim_eagain_is_not_a_failure_and_errors_skip_the_step) {
        ReactTuning tun = react_tuning_default();

        tun.throttle_steps = 1;
        tun.reclaim_steps = 2;
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, &tun);
        set_current("hog", 400 * MiB);
        set_events("hog", true, true);

        fake.fail_attr = "memory.high";
        fake.fail_errno = EBUSY;
        cr_assert_eq(pressure("host"), 1);
        /* throttling failed (an event says so), reclaim is the step taken instead */
        cr_assert_str_eq(events(), "throttle hog!;reclaim hog");
        fake.fail_attr = "memory.reclaim";
        fake.fail_errno = EAGAIN;
        cr_assert_str_eq(steps("host", 1), "reclaim hog");
        cr_assert_eq(last.error, 0);
        cr_assert_str_eq(last.detail, "the kernel reclaimed less");
        fake.fail_attr = NULL;
        cr_assert_str_eq(steps("host", 1), "freeze hog");
}

Test(react, event_format) {
        ReactEvent ev = {
                .tenant = "hog", .klass = "low", .action = REACT_THROTTLE, .reason = "pressure in class critical",
                .group = "class:critical", .trigger_usec = 1, .some_avg10 = 4210, .full_avg10 = 300,
                .stall_delta_usec = 350000, .value = 150 * MiB, .previous = 2048 * MiB, .detail = "",
        };
        char *s = react_event_format(&ev);

        cr_assert_str_eq(s, "hog: throttle memory.high 2G -> 150M (pressure in class critical: some 42.10% full "
                            "3.00%, stall +350ms)");
        free(s);
        ev = (ReactEvent) { .tenant = "dev", .action = REACT_DEFLATE, .reason = "recovered", .value = 1024 * MiB,
                            .previous = 768 * MiB, .detail = "" };
        s = react_event_format(&ev);
        cr_assert_str_eq(s, "dev: deflate 768M -> 1G (recovered)");
        free(s);
        ev = (ReactEvent) { .tenant = "", .action = REACT_NOTICE, .reason = "", .group = "host",
                            .detail = "PSI triggers unavailable", .error = -EOPNOTSUPP };
        s = react_event_format(&ev);
        cr_assert_str_eq(s, "notice: PSI triggers unavailable (Operation not supported)");
        free(s);
        ev = (ReactEvent) { .tenant = "hog", .action = REACT_FREEZE, .reason = "", .group = "",
                            .detail = "cgroup.freeze", .error = -EBUSY };
        s = react_event_format(&ev);
        cr_assert_str_eq(s, "hog: freeze, cgroup.freeze: Device or resource busy");
        free(s);
        cr_assert_str_eq(react_action_to_string(REACT_UNTHROTTLE), "unthrottle");
        cr_assert_null(react_action_to_string(_REACT_ACTION_MAX));
}

/* ---- the event loop: no PSI -> polling ------------------------------------------------- */

Test(react, without_psi_it_says_so_once_and_polls) {
        ReactTuning tun = react_tuning_default();
        sd_event *e = NULL;

        tun.tick_usec = 20 * 1000;
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(NULL, &tun);
        set_current("hog", 400 * MiB);

        /* fixture pressure files are plain files: a trigger cannot be polled */
        cr_assert_eq(sd_event_new(&e), 0);
        cr_assert_eq(reactor_attach(r, e, 0), 0);
        cr_assert_eq(reactor_attach(r, e, 0), 0, "attaching twice to one loop is harmless");
        cr_assert(reactor_polling(r));
        cr_assert_eq(n_notices, 1, "said once, not per group");
        cr_assert(strstr(last.detail, "polling"), "%s", last.detail);

        /* the trigger text went into the fixture file: put the averages back */
        fake_cg_write(&fake, cg_of("db"), "memory.pressure", psi_text(0, 0));
        for (int i = 0; i < 5; i++) {
                clock_now += 1100 * 1000;
                cr_assert_geq(sd_event_run(e, 100 * 1000), 0);
        }
        cr_assert_str_eq(events(), "");
        fake_cg_write(&fake, cg_of("db"), "memory.pressure", psi_text(3000, 400 * 1000));
        for (int i = 0; i < 5 && !log_buf[0]; i++) {
                clock_now += 1100 * 1000;
                cr_assert_geq(sd_event_run(e, 100 * 1000), 0);
        }
        cr_assert_str_eq(events(), "throttle hog");
        cr_assert_str_eq(last.group, "tenant:db");
        cr_assert_eq(last.stall_delta_usec, 400 * 1000);
        reactor_detach(r);
        sd_event_unref(e);
}

Test(react, host_trigger_is_full_by_default_and_configurable) {
        PolicyErrors e = {0};
        HostConfig c;
        static const char text[] = "[pressure]\nhost_trigger = some 200ms 2s\n";

        host_config_default(&c);
        cr_assert(c.host_pressure.full);
        cr_assert_eq(c.host_pressure.stall_usec, 100000);
        host_config_done(&c);
        cr_assert_eq(host_config_parse(text, strlen(text), "tenantd.conf", &c, &e), 0);
        cr_assert(!c.host_pressure.full);
        cr_assert_eq(c.host_pressure.stall_usec, 200000);
        cr_assert_eq(c.host_pressure.window_usec, 2000000);
        host_config_done(&c);
}

/* ---- the worker thread: slow writes off the loop ------------------------------------- */

/* A set_high that runs where the reactor calls it and waits for the test to
 * open the gate, as a write reclaiming for seconds would. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, in_write;
static int gate_result;
static pthread_t write_thread;
static void *write_worker;
static int worker_token, worker_closed;
static ReactOps gated_ops;

static int gated_set_high(const ReactTarget *t, uint64_t bytes) {
        pthread_mutex_lock(&gate_lock);
        write_thread = pthread_self();
        write_worker = t->worker;
        in_write = true;
        pthread_cond_broadcast(&gate_cond);
        while (!gate_open && t->worker)
                pthread_cond_wait(&gate_cond, &gate_lock);
        in_write = false;
        pthread_mutex_unlock(&gate_lock);
        return gate_result ? gate_result : react_kernel_ops.set_high(t, bytes);
}

static void *gated_worker_open(void *userdata) {
        return &worker_token;
}

static void gated_worker_close(void *worker) {
        cr_assert_eq(worker, &worker_token);
        worker_closed++;
}

static void gate_set(bool open) {
        pthread_mutex_lock(&gate_lock);
        gate_open = open;
        pthread_cond_broadcast(&gate_cond);
        pthread_mutex_unlock(&gate_lock);
}

/* until the worker is inside the write (at most 2 s) */
static void wait_in_write(void) {
        struct timespec until;
        bool ok;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_mutex_lock(&gate_lock);
        while (!in_write && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
                ;
        ok = in_write;
        pthread_mutex_unlock(&gate_lock);
        cr_assert(ok, "no write on the worker within 2 s");
}

/* attach to a fresh loop with the gated ops */
static sd_event *start_gated(void) {
        sd_event *e = NULL;

        gate_open = in_write = false;
        gate_result = 0;
        write_worker = NULL;
        worker_closed = 0;
        gated_ops = react_kernel_ops;
        gated_ops.set_high = gated_set_high;
        gated_ops.worker_open = gated_worker_open;
        gated_ops.worker_close = gated_worker_close;
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(&gated_ops, NULL);
        set_current("hog", 400 * MiB);
        cr_assert_eq(sd_event_new(&e), 0);
        cr_assert_eq(reactor_attach(r, e, 0), 0);
        return e;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

/* Run the loop until an event arrives (at most 2 s). */
static void run_until_event(sd_event *e) {
        unsigned before = n_events;

        for (int i = 0; i < 200 && n_events == before; i++)
                cr_assert_geq(sd_event_run(e, 10 * 1000), 0);
        cr_assert_gt(n_events, before, "no event within 2 s");
}

Test(react, a_slow_write_runs_on_the_worker_while_the_loop_goes_on) {
        sd_event *e = start_gated();
        sd_event_source *timer = NULL;
        unsigned fired = 0;
        ReactTenantState st[2];

        cr_assert_eq(pressure("tenant:db"), 1, "the step is handed to the worker");
        wait_in_write();
        cr_assert(!pthread_equal(write_thread, pthread_self()), "memory.high is written on another thread");
        cr_assert_eq(write_worker, &worker_token, "with what worker_open returned on that thread");

        /* while the write runs, the loop serves its other sources */
        cr_assert_eq(sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 1000, 0, on_timer, &fired), 0);
        for (int i = 0; i < 20 && !fired; i++)
                cr_assert_geq(sd_event_run(e, 10 * 1000), 0);
        cr_assert_eq(fired, 1, "a timer on the loop fired during the write");
        cr_assert_str_eq(events(), "", "the step is recorded when its write returns");
        cr_assert_eq(pressure("tenant:db"), 0, "no second step while one is being written");
        cr_assert_eq(reactor_tick(r), 0);
        reactor_state(r, st, 2);
        cr_assert_str_eq(st[1].id, "hog");
        cr_assert_eq(st[1].step, REACT_NONE);

        /* the write returns 3 s later: the event comes, the window starts then */
        clock_now += 3 * SEC;
        gate_set(true);
        run_until_event(e);
        cr_assert_str_eq(events(), "throttle hog");
        cr_assert_str_eq(last.reason, "pressure in tenant db");
        cr_assert_eq(last.value, 400 * MiB);
        cr_assert_eq(last.previous, 1024 * MiB);
        cr_assert_eq(last.usec, clock_now, "the event has the time the write returned");
        cr_assert_lt(last.act_usec, last.usec);
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "419430400");
        reactor_state(r, st, 2);
        cr_assert_eq(st[1].step, REACT_THROTTLE);
        cr_assert_eq(st[1].high, 400 * MiB);

        /* half a window after the write returned: too early; a window after: the next step */
        PsiStats ps = { .some = { .avg10 = 5000, .total_usec = 100 * SEC }, .has_full = true };
        clock_now += 500 * 1000;
        ps.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &ps, clock_now), 0);
        clock_now += 600 * 1000;
        ps.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &ps, clock_now), 1);
        run_until_event(e);
        cr_assert_str_eq(events(), "throttle hog");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "314572800");

        sd_event_source_unref(timer);
        reactor_detach(r);
        cr_assert_eq(worker_closed, 1, "worker_close when the worker ends");
        sd_event_unref(e);
}

Test(react, a_failed_write_on_the_worker_is_reported_and_gives_the_window_back) {
        sd_event *e = start_gated();
        PsiStats ps = { .some = { .avg10 = 5000, .total_usec = 100 * SEC }, .has_full = true };

        gate_result = -EBUSY;
        gate_set(true);
        cr_assert_eq(reactor_pressure(r, "tenant:db", &ps, clock_now), 1);
        run_until_event(e);
        cr_assert_str_eq(events(), "throttle hog!");
        cr_assert_eq(last.error, -EBUSY);
        cr_assert_eq(last.value, 400 * MiB);
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "1073741824", "nothing written");
        /* the same window: throttling is off for hog, its next step goes at once */
        ps.some.total_usec += SEC;
        cr_assert_eq(reactor_pressure(r, "tenant:db", &ps, clock_now), 1);
        run_until_event(e);
        cr_assert_str_eq(events(), "reclaim hog");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.reclaim"), "104857600");
        reactor_detach(r);
        sd_event_unref(e);
}

static void *open_gate_later(void *userdata) {
        (void) usleep(100 * 1000);
        gate_set(true);
        return NULL;
}

/* An apply during the write: the write is recorded first, so the value the
 * reactor holds (and writes back over the apply's) is the kernel's. */
Test(react, a_new_plan_waits_for_the_write_in_flight) {
        sd_event *e = start_gated();
        pthread_t th;

        cr_assert_eq(pressure("tenant:db"), 1);
        wait_in_write();
        /* the apply writes the planned memory.high back */
        fake_cg_write(&fake, cg_of("hog"), "memory.high", "1073741824");
        cr_assert_eq(pthread_create(&th, NULL, open_gate_later, NULL), 0);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);
        cr_assert_str_eq(events(), "throttle hog", "recorded before the new plan took over");
        cr_assert_str_eq(fake_cg_read(&fake, cg_of("hog"), "memory.high"), "419430400");
        pthread_join(th, NULL);
        reactor_detach(r);
        sd_event_unref(e);
}

Test(react, sync_writes_keeps_every_write_on_the_loop) {
        ReactTuning tun = react_tuning_default();
        sd_event *e = NULL;

        tun.sync_writes = true;
        gated_ops = react_kernel_ops;
        gated_ops.set_high = gated_set_high;
        gated_ops.worker_open = gated_worker_open;
        add_tenant("db", critical_db);
        add_tenant("hog", low_hog);
        start(&gated_ops, &tun);
        set_current("hog", 400 * MiB);
        cr_assert_eq(sd_event_new(&e), 0);
        cr_assert_eq(reactor_attach(r, e, 0), 0);
        cr_assert_eq(pressure("tenant:db"), 1);
        cr_assert(pthread_equal(write_thread, pthread_self()));
        cr_assert_null(write_worker);
        cr_assert_str_eq(events(), "throttle hog", "recorded before pressure() returned");
        reactor_detach(r);
        sd_event_unref(e);
}
