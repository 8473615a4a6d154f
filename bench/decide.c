/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-decide: the reaction ladder's own cost per decision on this machine's
 * real CPU, for a class of N tenants. The testbed (bench/run-react) measures
 * the whole path on a real kernel, but under TCG, where every syscall costs
 * tens of times what it costs on hardware; this bench runs the same decision
 * code natively, against a fixture tree of cgroup files in a temporary
 * directory (tmpfs where there is one), so it needs neither root nor cgroup
 * v2.
 *
 * The tenants: a critical tenant `db` (protected, so it has a trigger) and N
 * low tenants of 100 MiB each, one class, so every decision looks at all N.
 * Each decision is one trigger event on `tenant:db`: the time from calling
 * reactor_pressure() (the daemon calls it from the trigger's wakeup, after
 * reading the pressure file) to the actuator being called with the value to
 * write. The actuator writes nothing, so that every decision is a throttle
 * like the first; the fake clock moves two windows between decisions.
 *
 * Two cases per N:
 *   cold  the first trigger after a calm spell: the decision reads every
 *         candidate's memory.current itself;
 *   warm  pressure built up first: the reactor's tick (every second while
 *         the host or a class slice is above its recover mark) read them
 *         half a second before the trigger, and the decision reuses them.
 *
 *   bench-decide [--decisions N] [--dir DIR] [TENANTS...]   (default 10 100 1000 10000)
 *
 * Prints, per N and case: the decisions timed, p50/p99/max in usec, and the
 * reads of tenant cgroup files per decision (the tick's not counted).
 */
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "plan.h"
#include "react.h"
#include "topology.h"

#define MiB (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)

static unsigned arg_decisions = 200;
static const char *arg_dir = NULL;

static uint64_t fake_now;
static uint64_t t_called;   /* when set_high was called */
static unsigned reads;      /* tenant file reads through the ops */

static uint64_t fake_clock(void *userdata) {
        return fake_now;
}

static uint64_t mono_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

static int counted_read_memory(const ReactTarget *t, uint64_t *ret_current, uint64_t *ret_high) {
        reads += ret_high ? 2 : 1;
        return react_kernel_ops.read_memory(t, ret_current, ret_high);
}

static int counted_populated(const ReactTarget *t) {
        reads++;
        return react_kernel_ops.populated(t);
}

static int timed_set_high(const ReactTarget *t, uint64_t bytes) {
        t_called = mono_nsec();
        return 0;
}

static void write_file(const char *dir, const char *path, const char *attr, const char *text) {
        char p[1024];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s/%s", dir, path, attr);
        f = fopen(p, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "bench-decide: cannot write %s: %s\n", p, strerror(errno));
                exit(1);
        }
}

static void make_dirs(const char *dir, const char *path) {
        char p[1024];

        snprintf(p, sizeof(p), "%s/%s", dir, path);
        for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
                *s = '\0';
                (void) mkdir(p, 0755);
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "bench-decide: mkdir %s: %s\n", p, strerror(errno));
                exit(1);
        }
}

static void add_tenant(PolicySet *s, const char *id, const char *text) {
        PolicyErrors errs = { 0 };

        s->tenants = realloc(s->tenants, (s->n_tenants + 1) * sizeof(TenantPolicy));
        if (!s->tenants || tenant_parse(text, strlen(text), id, id, &s->tenants[s->n_tenants++], &errs) < 0) {
                fprintf(stderr, "bench-decide: tenant %s: %s\n", id, errs.n ? errs.v[0].problem : "out of memory");
                exit(1);
        }
        policy_errors_clear(&errs);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static const char *psi_text(uint64_t total) {
        static char buf[256];

        snprintf(buf, sizeof(buf),
                 "some avg10=40.00 avg60=10.00 avg300=2.00 total=%" PRIu64 "\n"
                 "full avg10=20.00 avg60=5.00 avg300=1.00 total=%" PRIu64 "\n",
                 total, total / 2);
        return buf;
}

static int run(const char *dir, unsigned n, bool warm) {
        static const char topo[] = "[host]\nmemory = 4T\npage_size = 4096\nhugepage_sizes = 2M\nswap_accounting = yes\n"
                                   "[node0]\nmemory = 4T\ncpus = 0-63\ndistances = 10\nhugepages_2M = 0\n";
        PolicySet set = { 0 };
        HostTopology host;
        PolicyErrors errs = { 0 };
        Plan plan = { 0 };
        Reactor *r = NULL;
        ReactOps ops = react_kernel_ops;
        ReactTuning tun = react_tuning_default();
        char *err = NULL, id[32], *db = NULL;
        uint64_t *lat, total = 0;
        unsigned n_lat = 0, reads_total = 0;

        policy_classes_default(&set.classes);
        host_config_default(&set.config);
        set.config.overcommit_bp = 100000 * 100;
        add_tenant(&set, "db", "[tenant]\nclass = critical\n[memory]\nrequest = 128M\nlimit = 192M\n");
        for (unsigned i = 0; i < n; i++) {
                snprintf(id, sizeof(id), "t%05u", i);
                add_tenant(&set, id, "[tenant]\nclass = low\n[memory]\nrequest = 16M\nlimit = 1G\n");
        }
        if (topology_parse(topo, strlen(topo), &host, &err) < 0 || plan_build(&set, &host, &plan, &errs) < 0) {
                fprintf(stderr, "bench-decide: plan: %s\n", err ? err : errs.n ? errs.v[0].problem : "?");
                return -EINVAL;
        }
        for (size_t i = 0; i < plan.n_nodes; i++) {
                const PlanNode *nd = &plan.nodes[i];

                make_dirs(dir, nd->path);
                write_file(dir, nd->path, "memory.pressure", psi_text(0));
                write_file(dir, nd->path, "memory.high", "1073741824\n");
                write_file(dir, nd->path, "cgroup.events", "populated 1\nfrozen 0\n");
                write_file(dir, nd->path, "memory.current", "104857600\n");
                if (nd->tenant >= 0 && streq(set.tenants[nd->tenant].id, "db"))
                        db = nd->path;
        }

        ops.read_memory = counted_read_memory;
        ops.populated = counted_populated;
        ops.set_high = timed_set_high;
        tun.throttle_steps = 1000;  /* a throttle every time (the actuator writes nothing) */
        tun.sync_writes = true;
        fake_now = 1000 * SEC;
        ReactorConfig cfg = { .cgroup_root = dir, .host_pressure = "", .tuning = &tun, .ops = &ops,
                              .clock = fake_clock };
        if (reactor_new(&cfg, &r) < 0 || reactor_set_plan(r, &plan, &set) < 0) {
                fprintf(stderr, "bench-decide: cannot start the reactor\n");
                return -EIO;
        }
        lat = calloc(arg_decisions, sizeof(uint64_t));
        if (!lat)
                return -ENOMEM;
        for (unsigned i = 0; i < arg_decisions; i++) {
                uint64_t t0;
                int k;

                if (warm) {
                        fake_now += 1500 * 1000;
                        (void) reactor_tick(r);
                        fake_now += 500 * 1000;
                } else
                        fake_now += 2 * SEC;
                total += 500 * 1000;
                write_file(dir, db, "memory.pressure", psi_text(total));
                reads = 0;
                t_called = 0;
                t0 = mono_nsec();
                k = reactor_pressure(r, "tenant:db", NULL, fake_now);
                if (k != 1 || !t_called) {
                        fprintf(stderr, "bench-decide: decision %u took no step (%d)\n", i, k);
                        break;
                }
                lat[n_lat++] = (t_called - t0) / 1000;
                reads_total += reads;
        }
        qsort(lat, n_lat, sizeof(uint64_t), cmp_u64);
        if (n_lat)
                printf("%8u %6s %10u %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %16.1f\n", n, warm ? "warm" : "cold",
                       n_lat, lat[n_lat / 2],
                       lat[(n_lat * 99) / 100 < n_lat ? (n_lat * 99) / 100 : n_lat - 1], lat[n_lat - 1],
                       (double) reads_total / n_lat);
        free(lat);
        reactor_free(r);
        plan_done(&plan);
        policy_set_done(&set);
        free(err);
        return n_lat == arg_decisions ? 0 : -EIO;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "decisions", required_argument, NULL, 'd' },
                { "dir", required_argument, NULL, 'D' },
                {0},
        };
        static const unsigned sizes[] = { 10, 100, 1000, 10000 };
        char tmpl[256];
        int opt, failed = 0;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (opt) {
                case 'd':
                        arg_decisions = (unsigned) strtoul(optarg, NULL, 10);
                        if (arg_decisions == 0)
                                arg_decisions = 1;
                        break;
                case 'D':
                        arg_dir = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: bench-decide [--decisions N] [--dir DIR] [TENANTS...]\n");
                        return 2;
                }
        if (!arg_dir)
                arg_dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        printf("reaction decision on this CPU, fixture cgroup files in %s, one class of N tenants\n\n", arg_dir);
        printf("%8s %6s %10s %9s %9s %9s %16s\n", "tenants", "cache", "decisions", "p50_us", "p99_us", "max_us",
               "reads/decision");
        for (int i = optind; i < argc || (optind == argc && i < optind + (int) ELEMENTSOF(sizes)); i++) {
                unsigned n = optind < argc ? (unsigned) strtoul(argv[i], NULL, 10) : sizes[i - optind];
                char cmd[512];

                for (int warm = 0; warm <= 1; warm++) {
                        snprintf(tmpl, sizeof(tmpl), "%s/bench-decide-XXXXXX", arg_dir);
                        if (!mkdtemp(tmpl)) {
                                fprintf(stderr, "bench-decide: mkdtemp in %s: %s\n", arg_dir, strerror(errno));
                                return 1;
                        }
                        if (run(tmpl, n, warm) < 0)
                                failed = 1;
                        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
                        if (system(cmd) != 0)
                                failed = 1;
                }
        }
        return failed;
}
