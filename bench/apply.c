/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-apply: how long applying N tenants takes, and that a second apply of
 * the same policies writes nothing. Writes N tenant files (the five classes in
 * turn, small guarantees and limits) into a scratch policy directory, then
 * measures load+plan, the first apply, a no-op second apply and the removal
 * of everything, on the backend given. Prints one table row per N.
 *
 *   bench-apply [--backend cgroupfs|systemd] [--root CGROUP_ROOT] [--dir SCRATCH] N...
 *
 * Under systemd a tenant without a command is only a pending scope (a scope
 * needs processes), so there every tenant runs "sleep infinity" and becomes a
 * transient service that systemd starts. Most of that apply's work is done by
 * systemd and the D-Bus daemon, not by this process: the "init+bus" column is
 * the CPU time of init.scope (PID 1) and dbus.service during the first apply,
 * from their cgroups' cpu.stat.
 *
 * Run it in the testbed (bench/run-apply): it needs a real cgroup2 hierarchy.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "plan.h"
#include "policy-load.h"
#include "topology.h"

static const char *const classes[] = { "critical", "high", "normal", "low", "besteffort" };

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* CPU time the processes of a cgroup spent so far (usage_usec of its cpu.stat),
 * in ms; 0 without that cgroup. */
static double cgroup_cpu_ms(Cgfs *c, const char *cg) {
        _cleanup_free_ char *stat = NULL;
        const char *p;

        if (cgfs_read(c, cg, "cpu.stat", &stat) < 0 || !(p = strstr(stat, "usage_usec ")))
                return 0;
        return strtod(p + 11, NULL) / 1000.0;
}

/* PID 1 and the system bus: who does most of the work of a systemd apply. */
static double init_and_bus_cpu_ms(Backend *b) {
        return cgroup_cpu_ms(backend_cgfs(b), "init.scope") + cgroup_cpu_ms(backend_cgfs(b), "system.slice/dbus.service");
}

static int write_policies(const char *dir, unsigned n, bool services) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "mkdir -p '%s/tenants' && rm -f '%s'/tenants/*.ini", dir, dir);
        if (system(path) != 0)
                return -EIO;
        snprintf(path, sizeof(path), "%s/tenantd.conf", dir);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fprintf(f, "[host]\nreserve = 64M\novercommit = 100\n");
        fclose(f);
        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/tenants/t-%05u.ini", dir, i);
                f = fopen(path, "we");
                if (!f)
                        return -errno;
                fprintf(f, "[tenant]\nclass = %s\n%s\n[memory]\nrequest = 64K\nlimit = 8M\n",
                        classes[i % ELEMENTSOF(classes)], services ? "exec = sleep infinity\n" : "");
                fclose(f);
        }
        return 0;
}

static int load_and_plan(const char *dir, const char *root, PolicySet *s, Plan *p) {
        PolicyErrors errs = { 0 };
        HostTopology host;
        int r;

        r = policy_load_dir(dir, s, &errs);
        if (r >= 0)
                r = topology_read("/sys", root, &host);
        if (r >= 0)
                r = plan_build(s, &host, p, &errs);
        if (r < 0)
                policy_errors_print(&errs, stderr);
        policy_errors_clear(&errs);
        return r;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "backend", required_argument, NULL, 'b' },
                { "root", required_argument, NULL, 'r' },
                { "dir", required_argument, NULL, 'd' },
                { 0 },
        };
        const char *root = "/sys/fs/cgroup", *dir = "/run/tenantd-bench";
        BackendKind kind = BACKEND_CGROUPFS;
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                if (opt == 'b')
                        kind = streq(optarg, "systemd") ? BACKEND_SYSTEMD : BACKEND_CGROUPFS;
                else if (opt == 'r')
                        root = optarg;
                else if (opt == 'd')
                        dir = optarg;
                else
                        return 2;
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: bench-apply [--backend cgroupfs|systemd] [--root R] [--dir D] N...\n");
                return 2;
        }

        printf("%-9s %8s %9s %10s %10s %10s %14s %14s %10s %9s %10s\n", "backend", "tenants", "plan ms", "apply ms",
               "ms/tenant", "apply cpu", "cpu/tenant us", "init+bus us/t", "2nd writes", "2nd ms", "remove ms");
        for (int i = optind; i < argc; i++) {
                unsigned n = (unsigned) strtoul(argv[i], NULL, 10);
                _cleanup_free_ char *err = NULL;
                Backend *b = NULL;
                PolicySet s = { 0 }, s0 = { 0 };
                Plan p = { 0 }, p0 = { 0 };
                ApplyReport rep = { 0 };
                double t0, t1, c0, c1, o0, t_plan, t_apply, c_apply, o_apply, t_second, t_remove;
                unsigned writes2;
                int r;

                if (write_policies(dir, n, kind == BACKEND_SYSTEMD) < 0) {
                        fprintf(stderr, "cannot write policies to %s\n", dir);
                        return 1;
                }
                r = backend_open(kind, root, &b, &err);
                if (r < 0) {
                        fprintf(stderr, "backend: %s\n", err ? err : strerror(-r));
                        return 1;
                }

                t0 = now_ms();
                if (load_and_plan(dir, root, &s, &p) < 0)
                        return 1;
                t_plan = now_ms() - t0;

                t0 = now_ms();
                c0 = cpu_ms();
                o0 = init_and_bus_cpu_ms(b);
                r = backend_apply(b, &p, &s, NULL, &rep);
                o_apply = init_and_bus_cpu_ms(b) - o0;
                c1 = cpu_ms();
                t1 = now_ms();
                if (r < 0) {
                        fprintf(stderr, "apply: %s\n", rep.error);
                        return 1;
                }
                t_apply = t1 - t0;
                c_apply = c1 - c0;
                apply_report_done(&rep);

                t0 = now_ms();
                r = backend_apply(b, &p, &s, NULL, &rep);
                t_second = now_ms() - t0;
                writes2 = rep.writes;
                apply_report_done(&rep);
                if (r < 0)
                        return 1;

                /* remove everything: apply an empty directory */
                write_policies(dir, 0, false);
                if (load_and_plan(dir, root, &s0, &p0) < 0)
                        return 1;
                t0 = now_ms();
                r = backend_apply(b, &p0, &s0, NULL, &rep);
                t_remove = now_ms() - t0;
                apply_report_done(&rep);
                if (r < 0)
                        return 1;

                printf("%-9s %8u %9.1f %10.1f %10.2f %10.1f %14.1f %14.1f %10u %9.1f %10.1f\n", backend_name(b), n, t_plan,
                       t_apply, t_apply / n, c_apply, c_apply * 1000.0 / n, o_apply * 1000.0 / n, writes2, t_second,
                       t_remove);
                fflush(stdout);
                plan_done(&p);
                plan_done(&p0);
                policy_set_done(&s);
                policy_set_done(&s0);
                backend_free(b);
        }
        return 0;
}
