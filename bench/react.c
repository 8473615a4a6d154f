/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-react: how fast the reaction ladder reacts, beside systemd-oomd.
 *
 * The scenario of issue 7, run in the systemd testbed (bench/run-react) with
 * the policies of bench/policies/react applied through tenantd's library on
 * the systemd backend: a critical tenant db holds 96M, a low-class hog grows
 * without bound until tenants.slice (MemoryHigh=320M, playing the host's
 * memory) is full and pushes itself into zram swap, then db needs 128M more
 * and stalls until memory comes back. A run ends when the hog is gone, or
 * (tenantd) 3 s after db got its memory.
 *
 *  - tenantd: the library's reactor on an sd-event loop in this process, as
 *    the daemon runs it (the host's /proc/pressure/memory is not watched: the
 *    "host" here is tenants.slice, and the whole guest is the bench's). Every
 *    step records the trigger wakeup, the actuator call and the write's
 *    return (ReactEvent trigger_usec, act_usec, usec).
 *  - systemd-oomd: the same tenants with ManagedOOMMemoryPressure=kill and
 *    ManagedOOMMemoryPressureLimit=L on tenants-low.slice, for each L of
 *    --oomd-limits (default 50%, the limit Debian gives user services, and
 *    20%), with the packaged DefaultMemoryPressureDurationSec=20s. A run where
 *    oomd has not acted 120 s after db asked for memory counts as "none".
 *
 * Swap (zram, 512M by default) is on for both: without it the hog's memory is
 * anonymous and unreclaimable, the kernel scans nothing, and systemd-oomd,
 * which only kills when its slice also shows reclaim activity (pgscan), may
 * never act.
 *
 * Stall onset: the first moment db's memory.pressure "some" total grows after
 * the hog started, from samples every 2 ms, back-dated by the stall the
 * sample saw. Prints a latency table for tenantd and a side-by-side table.
 *
 *   bench-react [--runs N] [--oomd-runs N] [--oomd-limits PCT,...] [--zram MIB]
 *               [--policies DIR] [--wss PATH]
 */
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "bench-util.h"
#include "engine.h"
#include "policy-load.h"
#include "react.h"

#define TS "tenants.slice"
#define LOW "tenants.slice/tenants-low.slice"
#define DB "tenants.slice/tenants-critical.slice/tenant-db.service"
#define HOG "tenants.slice/tenants-low.slice/tenant-hog.service"
#define DB_HOLD 96
#define DB_EXTRA 128
#define RUN_TIMEOUT_USEC (120 * USEC_PER_SEC)

static unsigned arg_runs = 5, arg_oomd_runs = 2, arg_zram = 512;
static const char *arg_oomd_limits = "50,20";
static const char *arg_policies = SOURCE_ROOT "/bench/policies/react";
static const char *arg_wss = BUILD_ROOT "/bench/bench-wss";

typedef struct Step {
        ReactAction action;
        char tenant[16];
        uint64_t trigger, act, done;   /* CLOCK_MONOTONIC usec; trigger 0: timer-driven */
        int error;
} Step;

typedef struct Run {
        unsigned oomd;                  /* 0: tenantd; else systemd-oomd's limit, percent */
        uint64_t t_hog, t_extra, t_onset, t_served, t_first, t_first_trigger, t_hog_gone;
        char first[32];                 /* what the first action was */
        char steps[256];                /* the hog's and db's steps, in order */
} Run;

static Step steps[1024];
static size_t n_steps;
static Run runs[64];
static size_t n_runs;

/* ---- stall onset and "db got its memory", sampled in a thread ------------- */

static struct {
        pthread_t thread;
        atomic_bool stop;
        uint64_t start_stall;
        _Atomic uint64_t onset, served;
} sampler;

static void *sampler_main(void *userdata) {
        uint64_t prev = now_usec(CLOCK_MONOTONIC);

        (void) userdata;
        while (!atomic_load(&sampler.stop) && !atomic_load(&sampler.served)) {
                uint64_t t = now_usec(CLOCK_MONOTONIC);

                if (!sampler.onset) {
                        uint64_t s = bench_cg_stall_usec(DB);
                        if (s > sampler.start_stall) {
                                /* stalled for s - start within (prev, t]: it began at t - that */
                                uint64_t d = s - sampler.start_stall;
                                sampler.onset = t - d > prev ? t - d : prev;
                        }
                        prev = t;
                        usleep(2000);
                } else {
                        if (bench_cg_u64(DB, "memory.current") >= (DB_HOLD + DB_EXTRA - 8) * MiB)
                                sampler.served = t;
                        usleep(20000);
                }
        }
        return NULL;
}

static void sampler_start(void) {
        sampler.start_stall = bench_cg_stall_usec(DB);
        atomic_store(&sampler.onset, 0);
        atomic_store(&sampler.served, 0);
        atomic_store(&sampler.stop, false);
        if (pthread_create(&sampler.thread, NULL, sampler_main, NULL) != 0) {
                perror("bench-react: pthread_create");
                exit(1);
        }
}

static void sampler_stop(Run *run) {
        atomic_store(&sampler.stop, true);
        pthread_join(sampler.thread, NULL);
        run->t_onset = atomic_load(&sampler.onset);
        run->t_served = atomic_load(&sampler.served);
}

/* ---- tenants ---------------------------------------------------------------- */

static void teardown(void) {
        (void) bench_sh(NULL, "systemctl stop tenants.slice; systemctl reset-failed");
}

/* Apply the policies through the library (systemd backend) and give
 * tenants.slice its "host" memory. */
static int setup(EngineRun *run, unsigned oomd) {
        EngineOptions o = { .policy_dir = arg_policies, .backend = BACKEND_SYSTEMD, .has_backend = true };
        _cleanup_free_ char *out = NULL;

        teardown();
        if (engine_apply(&o, run) != ENGINE_OK) {
                engine_print_errors(run, "bench-react", stderr);
                return -1;
        }
        if (bench_sh(&out, "systemctl set-property --runtime " TS " MemoryHigh=320M MemoryMax=640M") != 0) {
                fprintf(stderr, "bench-react: set-property: %s\n", out);
                return -1;
        }
        if (oomd) {
                free(out);
                out = NULL;
                if (bench_sh(&out, "systemctl set-property --runtime tenants-low.slice ManagedOOMMemoryPressure=kill "
                                   "ManagedOOMMemoryPressureLimit=%u%%", oomd) != 0) {
                        fprintf(stderr, "bench-react: set-property: %s\n", out);
                        return -1;
                }
                for (int i = 0; bench_sh(NULL, "oomctl | grep -q '/tenants.slice/tenants-low.slice'") != 0; i++) {
                        if (i > 100) {
                                fprintf(stderr, "bench-react: systemd-oomd does not monitor %s\n", LOW);
                                return -1;
                        }
                        usleep(100000);
                }
        }
        return 0;
}

/* ---- one run ------------------------------------------------------------------- */

static void on_event(const ReactEvent *ev, void *userdata) {
        Run *run = userdata;
        Step *s;

        if (ev->action == REACT_NOTICE || n_steps >= ELEMENTSOF(steps))
                return;
        s = &steps[n_steps++];
        *s = (Step) { .action = ev->action, .trigger = ev->trigger_usec, .act = ev->act_usec, .done = ev->usec,
                      .error = ev->error };
        snprintf(s->tenant, sizeof(s->tenant), "%s", ev->tenant);
        if (!run->t_first) {
                run->t_first = ev->usec;
                run->t_first_trigger = ev->trigger_usec;
                snprintf(run->first, sizeof(run->first), "%s %s", react_action_to_string(ev->action), ev->tenant);
        }
        size_t l = strlen(run->steps);
        snprintf(run->steps + l, sizeof(run->steps) - l, "%s%s %s", l ? ", " : "", react_action_to_string(ev->action),
                 ev->tenant);
}

/* Run the event loop (tenantd) or sleep (oomd) until cond() or the deadline. */
static bool wait_loop(sd_event *e, bool (*cond)(const Run *), const Run *run, uint64_t deadline) {
        while (!cond(run)) {
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return false;
                if (e) {
                        if (sd_event_run(e, 50 * 1000) < 0)
                                return false;
                } else
                        usleep(20000);
        }
        return true;
}

static bool ts_full(const Run *run) {
        (void) run;
        return bench_cg_u64(TS, "memory.current") >= 300 * MiB;
}

static pid_t hog_pid;
static int hog_fd = -1;

static bool hog_gone(const Run *run) {
        struct pollfd p = { .fd = hog_fd, .events = POLLIN };

        (void) run;
        return poll(&p, 1, 0) > 0;
}

/* tenantd: the hog is gone, or db got its memory 3 s ago after a first step */
static bool settled(const Run *run) {
        uint64_t served = atomic_load(&sampler.served);

        return hog_gone(run) ||
               (run->t_first && served && now_usec(CLOCK_MONOTONIC) > served + 3 * USEC_PER_SEC);
}

static const char *controller(const Run *run) {
        static char buf[32];

        if (!run->oomd)
                return "tenantd";
        snprintf(buf, sizeof(buf), "systemd-oomd %u%%", run->oomd);
        return buf;
}

static int one_run(unsigned oomd, unsigned idx) {
        _cleanup_(engine_run_donep) EngineRun er = {0};
        _cleanup_reactor_ Reactor *r = NULL;
        sd_event *e = NULL;
        Run *run = &runs[n_runs];
        pid_t db = -1, extra = -1;
        char wss[512];
        unsigned kills0 = oomd ? bench_oomd_kills() : 0;
        int ret = -1;

        *run = (Run) { .oomd = oomd };
        snprintf(wss, sizeof(wss), "%s", arg_wss);
        if (setup(&er, oomd) < 0)
                return -1;
        if (!oomd) {
                ReactorConfig rc = { .cgroup_root = er.root, .host_pressure = "" };

                if (reactor_new(&rc, &r) < 0 || sd_event_new(&e) < 0)
                        goto finish;
                reactor_set_event_handler(r, on_event, run);
                if (reactor_set_plan(r, &er.plan, &er.set) < 0 || reactor_attach(r, e, 0) < 0)
                        goto finish;
                if (reactor_polling(r)) {
                        fprintf(stderr, "bench-react: no PSI triggers: the reactor polls\n");
                        goto finish;
                }
        }
        db = bench_spawn_in(DB, wss, "hold", "96");
        if (db < 0 || bench_wait_current(DB, (DB_HOLD - 6) * MiB, 60) < 0) {
                fprintf(stderr, "bench-react: db did not get its %d MiB\n", DB_HOLD);
                goto finish;
        }
        sampler_start();
        run->t_hog = now_usec(CLOCK_MONOTONIC);
        hog_pid = bench_spawn_in(HOG, wss, "grow", "32", "64");
        hog_fd = hog_pid > 0 ? bench_pidfd(hog_pid) : -1;
        if (hog_fd < 0)
                goto stop;
        /* the hog fills tenants.slice (unless tenantd already acted on it) */
        (void) wait_loop(e, ts_full, run, run->t_hog + 120 * USEC_PER_SEC);
        run->t_extra = now_usec(CLOCK_MONOTONIC);
        extra = bench_spawn_in(DB, wss, "hold", "128");
        if (!wait_loop(e, oomd ? hog_gone : settled, run, run->t_extra + RUN_TIMEOUT_USEC)) {
                _cleanup_free_ char *out = NULL;

                if (oomd)
                        (void) bench_sh(&out, "oomctl | sed -n '/Memory Pressure Monitored/,$p'");
                fprintf(stderr, "bench-react: %s run %u: the hog is still there after %" PRIu64 " s\n%s\n",
                        controller(run), idx, RUN_TIMEOUT_USEC / USEC_PER_SEC, out ? out : "");
                snprintf(run->first, sizeof(run->first), "none in %" PRIu64 " s", RUN_TIMEOUT_USEC / USEC_PER_SEC);
                ret = 0;
                goto stop;
        }
        if (hog_gone(run))
                run->t_hog_gone = now_usec(CLOCK_MONOTONIC);
        /* let db take what it asked for (the sampler notes when) */
        (void) bench_wait_current(DB, (DB_HOLD + DB_EXTRA - 8) * MiB, 30);
        usleep(50000);
        if (oomd) {
                run->t_first = run->t_hog_gone;
                snprintf(run->first, sizeof(run->first), "%s", bench_oomd_kills() > kills0 ? "kill hog" : "hog died");
        }
        ret = 0;
stop:
        sampler_stop(run);
        if (!run->steps[0])
                memcpy(run->steps, run->first, sizeof(run->first));
finish:
        bench_kill(extra);
        bench_kill(db);
        bench_kill(hog_pid);
        if (hog_fd >= 0)
                close(hog_fd);
        hog_fd = -1;
        hog_pid = -1;
        r = reactor_free(r);
        sd_event_unref(e);
        teardown();
        if (ret == 0)
                n_runs++;
        fprintf(stderr, "bench-react: %s run %u: %s\n", controller(run), idx, ret == 0 ? run->steps : "failed");
        return ret;
}

/* ---- tables -------------------------------------------------------------------- */

static double ms(uint64_t from, uint64_t to) {
        return from && to >= from ? (double) (to - from) / 1000.0 : -1;
}

static void latency_row(const char *what, int which, ReactAction only) {
        double v[ELEMENTSOF(steps)];
        size_t n = 0;

        for (size_t i = 0; i < n_steps; i++) {
                const Step *s = &steps[i];
                if (!s->trigger || s->error || (only != REACT_NONE && s->action != only))
                        continue;
                v[n++] = (double) (which == 0 ? s->act - s->trigger : which == 1 ? s->done - s->trigger : s->done - s->act);
        }
        if (n == 0)
                return;
        double p50 = bench_percentile(v, n, 50), p99 = bench_percentile(v, n, 99);
        printf("| %s | %zu | %.0f | %.0f | %.0f |\n", what, n, p50, p99, v[n - 1]);
}

static void print_latency(void) {
        static const ReactAction acts[] = { REACT_THROTTLE, REACT_RECLAIM, REACT_FREEZE, REACT_EVICT };
        char what[64];

        printf("tenantd's own latency, every step taken on a trigger (usec)\n\n");
        printf("| from the trigger's wakeup to | steps | p50 | p99 | max |\n|---|---|---|---|---|\n");
        latency_row("the actuator call (decision)", 0, REACT_NONE);
        latency_row("the write returned", 1, REACT_NONE);
        for (size_t i = 0; i < ELEMENTSOF(acts); i++) {
                snprintf(what, sizeof(what), "the write returned: %s", react_action_to_string(acts[i]));
                latency_row(what, 1, acts[i]);
        }
        printf("\n");
}

typedef struct Col {
        double v[ELEMENTSOF(runs)];
        size_t n;
} Col;

static void col_add(Col *c, double x) {
        if (x >= 0)
                c->v[c->n++] = x;
}

static void cell(Col *c, double div) {
        if (c->n == 0)
                printf(" - |");
        else {
                double p50 = bench_percentile(c->v, c->n, 50);
                printf(" %.*f (%.*f-%.*f) |", div > 1 ? 1 : 0, p50 / div, div > 1 ? 1 : 0, c->v[0] / div,
                       div > 1 ? 1 : 0, c->v[c->n - 1] / div);
        }
}

static void print_side_by_side(uint64_t window_usec) {
        printf("From stall onset to the first action, per controller: median (min-max) over the runs; target for "
               "tenantd: onset -> first action <= window/10 + 5 ms = %" PRIu64 " ms\n\n",
               window_usec / 10000 + 5);
        printf("| controller | runs | hog start -> onset ms | onset -> trigger wakeup ms | onset -> first action ms | "
               "first action | onset -> hog gone s | 128M asked -> db has it s |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
        for (size_t k = 0; k < n_runs; k++) {
                Col a = {0}, b = {0}, c = {0}, d = {0}, f = {0};
                char first[96] = "";
                size_t n = 0;
                bool seen = false;

                /* one row per controller, in the order of their first run */
                for (size_t i = 0; i < k && !seen; i++)
                        seen = runs[i].oomd == runs[k].oomd;
                if (seen)
                        continue;
                for (size_t i = k; i < n_runs; i++) {
                        const Run *x = &runs[i];
                        if (x->oomd != runs[k].oomd)
                                continue;
                        n++;
                        if (!strstr(first, x->first)) {
                                size_t l = strlen(first);
                                snprintf(first + l, sizeof(first) - l, "%s%s", l ? ", " : "", x->first);
                        }
                        col_add(&a, ms(x->t_hog, x->t_onset));
                        col_add(&b, ms(x->t_onset, x->t_first_trigger));
                        col_add(&c, ms(x->t_onset, x->t_first));
                        col_add(&d, ms(x->t_onset, x->t_hog_gone));
                        col_add(&f, ms(x->t_extra, x->t_served));
                }
                printf("| %s | %zu |", controller(&runs[k]), n);
                cell(&a, 1);
                cell(&b, 1);
                cell(&c, 1);
                printf(" %s |", first);
                cell(&d, 1000);
                cell(&f, 1000);
                printf("\n");
        }
        printf("\nThe runs' steps:\n");
        for (size_t i = 0; i < n_runs; i++)
                printf("  %s: %s\n", controller(&runs[i]), runs[i].steps);
}

/* What a syscall costs here: the mean time of one read of a cgroup file, usec. */
static double read_cost(const char *attr) {
        uint64_t t = now_usec(CLOCK_MONOTONIC);

        for (unsigned i = 0; i < 1000; i++)
                (void) bench_cg_read(TS, attr);
        return (double) (now_usec(CLOCK_MONOTONIC) - t) / 1000.0;
}

static uint64_t critical_window(void) {
        PolicySet s = {0};
        PolicyErrors errs = {0};
        uint64_t w = USEC_PER_SEC;

        if (policy_load_dir(arg_policies, &s, &errs) == 0) {
                const PolicyClass *c = policy_classes_find(&s.classes, "critical");
                if (c && c->pressure.window_usec != UINT64_MAX)
                        w = c->pressure.window_usec;
                else if (s.config.pressure.window_usec != UINT64_MAX)
                        w = s.config.pressure.window_usec;
        }
        policy_set_done(&s);
        policy_errors_clear(&errs);
        return w;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "runs", required_argument, NULL, 'r' },
                { "oomd-runs", required_argument, NULL, 'o' },
                { "oomd-limits", required_argument, NULL, 'l' },
                { "policies", required_argument, NULL, 'p' },
                { "wss", required_argument, NULL, 'w' },
                { "zram", required_argument, NULL, 'z' },
                {0},
        };
        unsigned limits[8], n_limits = 0, n_oomd;
        double cost_current, cost_pressure;
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 'r':
                        arg_runs = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'o':
                        arg_oomd_runs = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'l':
                        arg_oomd_limits = optarg;
                        break;
                case 'p':
                        arg_policies = optarg;
                        break;
                case 'w':
                        arg_wss = optarg;
                        break;
                case 'z':
                        arg_zram = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: bench-react [--runs N] [--oomd-runs N] [--oomd-limits PCT,...] [--zram MIB] "
                                        "[--policies DIR] [--wss PATH]\n");
                        return 2;
                }
        }
        for (const char *p = arg_oomd_limits; *p && n_limits < ELEMENTSOF(limits);) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);

                if (end == p || v == 0 || v > 99) {
                        fprintf(stderr, "bench-react: --oomd-limits: expected percentages 1..99, got '%s'\n", arg_oomd_limits);
                        return 2;
                }
                limits[n_limits++] = (unsigned) v;
                p = end + (*end == ',' || *end == '%');
                p += *p == ',';
        }
        n_oomd = arg_oomd_runs * n_limits;
        if (arg_runs + n_oomd > ELEMENTSOF(runs)) {
                fprintf(stderr, "bench-react: at most %zu runs\n", ELEMENTSOF(runs));
                return 2;
        }
        if (arg_zram && bench_zram_on(arg_zram) < 0)
                return 1;
        if (n_oomd && bench_oomd_start() < 0)
                n_oomd = 0;
        cost_current = read_cost("memory.current");
        cost_pressure = read_cost("memory.pressure");
        for (unsigned i = 0; i < arg_runs; i++)
                (void) one_run(0, i + 1);
        for (unsigned l = 0; n_oomd && l < n_limits; l++)
                for (unsigned i = 0; i < arg_oomd_runs; i++)
                        (void) one_run(limits[l], i + 1);

        printf("\nbench-react: %u tenantd runs, %u systemd-oomd runs, %u MiB zram swap (systemd testbed, %s)\n\n",
               arg_runs, n_oomd, arg_zram, getenv("TESTBED") ? "QEMU TCG guest" : "this host");
        printf("Scale: one read of memory.current costs %.0f us here, of memory.pressure %.0f us.\n\n", cost_current,
               cost_pressure);
        print_latency();
        print_side_by_side(critical_window());
        return n_runs == arg_runs + n_oomd ? 0 : 1;
}
