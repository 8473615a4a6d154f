/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-daemon: the daemon's footprint with many tenants. For each N it
 * writes a policy directory with N tenants, starts tenantd on it (no D-Bus
 * API), and prints: time until the first apply finished and the CPU tenantd
 * used for it, RSS after it (VmRSS, VmHWM), the CPU tenantd used while idle
 * for a sampling period, the PSI triggers it holds open, and the tasks and
 * memory in tenants.slice. Run it as root on a cgroup2 host or in the
 * testbed (bench/run-daemon, bench/run-scale). Removes its tenants afterwards.
 *
 *   bench-daemon [--tenantd PATH] [--root CGROUP_ROOT] [--idle SECONDS]
 *                [--backend cgroupfs|systemd] [--classes NAME,...]
 *                [--exec COMMAND] [--markdown] [--keep-last] N...
 *
 * The tenants take the classes in turn (default besteffort,low: no
 * guarantees, no PSI triggers of their own); protected classes (critical,
 * high, normal) get a trigger each. Without --exec the tenants have no
 * processes (and under systemd stay pending scopes): the daemon's own cost.
 * With --exec every tenant runs COMMAND, started by tenantd in its leaf
 * (cgroupfs) or as a transient service (systemd). --markdown prints the
 * rows as a markdown table with the backend in the first column.
 * --keep-last leaves the tenants of the last N in place (removing 10,000
 * takes minutes in the testbed, which throws the guest away anyway).
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"

#define CLASSES_MAX 16

static const char *arg_tenantd = "tenantd";
static const char *arg_root = "/sys/fs/cgroup";
static const char *arg_backend = "cgroupfs";
static const char *arg_exec = NULL;
static const char *arg_classes[CLASSES_MAX] = { "besteffort", "low" };
static size_t arg_n_classes = 2;
static bool arg_markdown = false, arg_keep_last = false;
static unsigned arg_idle = 10;

/* One row of the table. */
typedef struct Sample {
        unsigned tenants;
        double apply_s, apply_cpu_s, rss_mib, hwm_mib, idle_cpu_pct, slice_mib;
        uint64_t tasks;
        unsigned psi_fds;
} Sample;

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "bench-daemon: cannot write %s: %s\n", path, strerror(errno));
                exit(1);
        }
}

/* N tenants, the classes in turn. A request of 64K: admission takes 10,000
 * protected tenants in a small guest. */
static void make_policies(const char *dir, unsigned n) {
        char path[512], text[1024];

        snprintf(path, sizeof(path), "rm -rf %s && mkdir -p %s/tenants", dir, dir);
        if (system(path) != 0)
                exit(1);
        snprintf(path, sizeof(path), "%s/tenantd.conf", dir);
        snprintf(text, sizeof(text), "[host]\nreserve = 64M\novercommit = 100\n[cgroup]\nbackend = %s\n", arg_backend);
        write_text(path, text);
        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/tenants/t%05u.ini", dir, i);
                snprintf(text, sizeof(text), "[tenant]\nclass = %s\n%s%s%s\n[memory]\nrequest = 64K\nlimit = 8M\n",
                         arg_classes[i % arg_n_classes], arg_exec ? "exec = " : "", arg_exec ? arg_exec : "",
                         arg_exec ? "\n" : "");
                write_text(path, text);
        }
}

/* fn for every entry of /proc/PID/SUB (but "." and ".."): the sum of what it returns. */
static uint64_t sum_proc_dir(pid_t pid, const char *sub, uint64_t (*fn)(const char *path)) {
        char dir[64], path[384];
        uint64_t sum = 0;
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "/proc/%d/%s", (int) pid, sub);
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                sum += fn(path);
        }
        closedir(d);
        return sum;
}

/* usec a thread ran: the first field of its schedstat, exact where
 * /proc/PID/stat counts clock ticks */
static uint64_t thread_cpu_usec(const char *task) {
        _cleanup_free_ char *path = strdup_printf("%s/schedstat", task), *s = NULL;

        if (!path || read_attr_at(AT_FDCWD, path, &s) < 0)
                return 0;
        return strtoull(s, NULL, 10) / 1000;
}

/* 1 for an fd open on a pressure file: an armed PSI trigger */
static uint64_t is_trigger(const char *fd) {
        char target[512];
        ssize_t l = readlink(fd, target, sizeof(target) - 1);

        if (l <= 0)
                return 0;
        target[l] = '\0';
        return strstr(target, "pressure") != NULL;
}

/* CPU time of all threads of pid so far, usec */
static uint64_t proc_cpu_usec(pid_t pid) {
        return sum_proc_dir(pid, "task", thread_cpu_usec);
}

static unsigned count_triggers(pid_t pid) {
        return (unsigned) sum_proc_dir(pid, "fd", is_trigger);
}

static uint64_t proc_status_kib(pid_t pid, const char *key) {
        char path[64], line[256];
        uint64_t v = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
                        v = strtoull(line + strlen(key) + 1, NULL, 10);
        fclose(f);
        return v;
}

/* A number from <root>/tenants.slice/<attr>; 0 when it cannot be read. */
static uint64_t slice_u64(const char *attr) {
        _cleanup_free_ char *path = strdup_printf("%s/tenants.slice/%s", arg_root, attr), *s = NULL;

        if (!path || read_attr_at(AT_FDCWD, path, &s) < 0)
                return 0;
        return strtoull(s, NULL, 10);
}

/* tenantd on dir, its stderr into *ret_log. Returns its pid or -errno. */
static pid_t start_tenantd(const char *dir, const char *state, FILE **ret_log) {
        int out[2];
        pid_t pid;

        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(out[1], STDERR_FILENO);
                execlp(arg_tenantd, arg_tenantd, "--no-bus", "--backend", arg_backend, "--root", arg_root,
                       "--policy-dir", dir, "--state-dir", state, (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        *ret_log = fdopen(out[0], "r");
        return pid;
}

/* Read the log until the first apply: true when it succeeded. */
static bool wait_applied(FILE *log) {
        char line[1024];

        while (log && fgets(line, sizeof(line), log)) {
                if (strstr(line, ": apply-failed")) {
                        fprintf(stderr, "bench-daemon: tenantd refused the policies: %s", line);
                        return false;
                }
                if (strstr(line, ": apply, start"))
                        return true;
        }
        return false;
}

/* Keep reading the log in a child so that tenantd never blocks on a full
 * pipe while it is sampled or while it stops. Returns the child's pid. */
static pid_t drain(FILE *log) {
        char line[1024];
        pid_t pid = fork();

        if (pid == 0) {
                while (fgets(line, sizeof(line), log))
                        ;
                _exit(0);
        }
        return pid;
}

static void sample_idle(pid_t pid, Sample *s) {
        uint64_t c0, c1;

        /* let the first recovery ticks and averages settle, then sample */
        sleep(2);
        c0 = proc_cpu_usec(pid);
        sleep(arg_idle);
        c1 = proc_cpu_usec(pid);
        s->idle_cpu_pct = 100.0 * (double) (c1 - c0) / 1e6 / arg_idle;
        s->rss_mib = (double) proc_status_kib(pid, "VmRSS") / 1024.0;
        s->hwm_mib = (double) proc_status_kib(pid, "VmHWM") / 1024.0;
        s->psi_fds = count_triggers(pid);
        s->tasks = slice_u64("pids.current");
        s->slice_mib = (double) slice_u64("memory.current") / 1048576.0;
}

static void print_header(void) {
        if (arg_markdown) {
                printf("| backend | tenants | tasks | tenants MiB | apply s | apply cpu s | rss MiB | hwm MiB "
                       "| idle cpu %% | psi fds |\n|---|---|---|---|---|---|---|---|---|---|\n");
                return;
        }
        printf("tenantd footprint, %s backend, idle CPU sampled over %u s\n\n", arg_backend, arg_idle);
        printf("%8s %8s %11s %10s %11s %10s %10s %12s %10s\n", "tenants", "tasks", "tenants_MiB", "apply_s", "apply_cpu_s",
               "rss_MiB", "hwm_MiB", "idle_cpu_%", "psi_fds");
}

static void print_sample(const Sample *s) {
        if (arg_markdown)
                printf("| %s | %u | %" PRIu64 " | %.1f | %.2f | %.2f | %.1f | %.1f | %.3f | %u |\n", arg_backend,
                       s->tenants, s->tasks, s->slice_mib, s->apply_s, s->apply_cpu_s, s->rss_mib, s->hwm_mib,
                       s->idle_cpu_pct, s->psi_fds);
        else
                printf("%8u %8" PRIu64 " %11.1f %10.2f %11.2f %10.1f %10.1f %12.3f %10u\n", s->tenants, s->tasks,
                       s->slice_mib, s->apply_s, s->apply_cpu_s, s->rss_mib, s->hwm_mib, s->idle_cpu_pct, s->psi_fds);
        fflush(stdout);
}

/* Remove the tenants: an empty tenants/ applied once. */
static void cleanup(unsigned n, const char *dir, const char *state) {
        char cmd[1024];

        snprintf(cmd, sizeof(cmd),
                 "rm -f %s/tenants/*.ini && %s --once --no-bus --backend %s --root %s --policy-dir %s --state-dir %s "
                 ">/dev/null 2>&1; rm -rf %s %s",
                 dir, arg_tenantd, arg_backend, arg_root, dir, state, dir, state);
        if (system(cmd) != 0)
                fprintf(stderr, "bench-daemon: cleaning up %u tenants failed\n", n);
}

static int run_one(unsigned n, bool last) {
        char dir[64], state[64];
        Sample s = { .tenants = n };
        pid_t pid, drainer = -1;
        FILE *log = NULL;
        uint64_t t0;
        bool applied;

        snprintf(dir, sizeof(dir), "/tmp/bench-daemon-%u", n);
        snprintf(state, sizeof(state), "/tmp/bench-daemon-state-%u", n);
        make_policies(dir, n);
        t0 = now_usec(CLOCK_MONOTONIC);
        pid = start_tenantd(dir, state, &log);
        if (pid < 0)
                return pid;
        applied = wait_applied(log);
        if (applied) {
                s.apply_s = (double) (now_usec(CLOCK_MONOTONIC) - t0) / 1e6;
                s.apply_cpu_s = (double) proc_cpu_usec(pid) / 1e6;
                drainer = drain(log);
                sample_idle(pid, &s);
                print_sample(&s);
        }
        kill(pid, SIGTERM);
        (void) waitpid(pid, NULL, 0);
        if (drainer > 0)
                (void) waitpid(drainer, NULL, 0);
        if (log)
                fclose(log);
        if (!(last && arg_keep_last))
                cleanup(n, dir, state);
        return applied ? 0 : -EIO;
}

/* "a,b,c" into arg_classes */
static int parse_classes(char *list) {
        arg_n_classes = 0;
        for (char *c = strtok(list, ","); c; c = strtok(NULL, ",")) {
                if (arg_n_classes == CLASSES_MAX)
                        return -E2BIG;
                arg_classes[arg_n_classes++] = c;
        }
        return arg_n_classes ? 0 : -EINVAL;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "tenantd", required_argument, NULL, 't' },
                { "root", required_argument, NULL, 'r' },
                { "idle", required_argument, NULL, 'i' },
                { "backend", required_argument, NULL, 'b' },
                { "classes", required_argument, NULL, 'c' },
                { "exec", required_argument, NULL, 'e' },
                { "markdown", no_argument, NULL, 'm' },
                { "keep-last", no_argument, NULL, 'k' },
                {0},
        };
        int opt, failed = 0;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 't':
                        arg_tenantd = optarg;
                        break;
                case 'r':
                        arg_root = optarg;
                        break;
                case 'i':
                        arg_idle = (unsigned) strtoul(optarg, NULL, 10);
                        if (arg_idle == 0)
                                arg_idle = 1;
                        break;
                case 'b':
                        arg_backend = optarg;
                        break;
                case 'c':
                        if (parse_classes(optarg) < 0) {
                                fprintf(stderr, "bench-daemon: --classes: 1 to %d names separated by commas\n",
                                        CLASSES_MAX);
                                return 2;
                        }
                        break;
                case 'e':
                        arg_exec = optarg;
                        break;
                case 'm':
                        arg_markdown = true;
                        break;
                case 'k':
                        arg_keep_last = true;
                        break;
                default:
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: bench-daemon [--tenantd PATH] [--root CGROUP_ROOT] [--idle SECONDS]\n"
                                "                    [--backend cgroupfs|systemd] [--classes NAME,...] [--exec COMMAND]\n"
                                "                    [--markdown] [--keep-last] N...\n");
                return 2;
        }
        print_header();
        for (int i = optind; i < argc; i++)
                if (run_one((unsigned) strtoul(argv[i], NULL, 10), i == argc - 1) < 0)
                        failed = 1;
        return failed;
}
