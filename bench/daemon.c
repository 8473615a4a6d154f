/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-daemon: the daemon's footprint with many tenants. For each N it
 * writes a policy directory with N tenants, starts tenantd on it (cgroupfs
 * backend, no D-Bus), and prints: time until the first apply finished, RSS
 * after it (VmRSS, VmHWM), the CPU tenantd used while idle for a sampling
 * period, and the PSI triggers it holds open. Run it as root on a cgroup2
 * host or in the testbed (bench/run-daemon). Removes its tenants afterwards.
 *
 *   bench-daemon [--tenantd PATH] [--root CGROUP_ROOT] [--idle SECONDS] N...
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"

static const char *arg_tenantd = "tenantd";
static const char *arg_root = "/sys/fs/cgroup";
static unsigned arg_idle = 10;

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "bench-daemon: cannot write %s: %s\n", path, strerror(errno));
                exit(1);
        }
}

/* N tenants, alternating low and besteffort (no guarantees: admission takes
 * any number), no processes: the daemon's own cost, not the tenants'. */
static void make_policies(const char *dir, unsigned n) {
        char path[512], text[256];

        snprintf(path, sizeof(path), "rm -rf %s && mkdir -p %s/tenants", dir, dir);
        if (system(path) != 0)
                exit(1);
        snprintf(path, sizeof(path), "%s/tenantd.conf", dir);
        write_text(path, "[host]\nreserve = 64M\novercommit = 100\n[cgroup]\nbackend = cgroupfs\n");
        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/tenants/t%05u.ini", dir, i);
                snprintf(text, sizeof(text), "[tenant]\nclass = %s\n\n[memory]\nrequest = 4M\nlimit = 8M\n",
                         i % 2 ? "low" : "besteffort");
                write_text(path, text);
        }
}

static uint64_t proc_cpu_ticks(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long utime = 0, stime = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f)) {
                if (f)
                        fclose(f);
                return 0;
        }
        fclose(f);
        p = strrchr(buf, ')');
        /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
                return utime + stime;
        return 0;
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

/* fds open on a pressure file: the armed PSI triggers */
static unsigned count_triggers(pid_t pid) {
        char dir[64], link[600], target[512];
        unsigned n = 0;
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                ssize_t l;

                snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
                l = readlink(link, target, sizeof(target) - 1);
                if (l <= 0)
                        continue;
                target[l] = '\0';
                if (strstr(target, "pressure"))
                        n++;
        }
        closedir(d);
        return n;
}

static int run_one(unsigned n) {
        char dir[64], state[64], line[1024];
        int out[2];
        pid_t pid;
        FILE *f;
        uint64_t t0, t_apply = 0, c0, c1, hz = (uint64_t) sysconf(_SC_CLK_TCK);
        bool applied = false;

        snprintf(dir, sizeof(dir), "/tmp/bench-daemon-%u", n);
        snprintf(state, sizeof(state), "/tmp/bench-daemon-state-%u", n);
        make_policies(dir, n);
        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        t0 = now_usec(CLOCK_MONOTONIC);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(out[1], STDERR_FILENO);
                execlp(arg_tenantd, arg_tenantd, "--no-bus", "--backend", "cgroupfs", "--root", arg_root,
                       "--policy-dir", dir, "--state-dir", state, (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        f = fdopen(out[0], "r");
        while (f && fgets(line, sizeof(line), f)) {
                if (strstr(line, ": apply-failed")) {
                        fprintf(stderr, "bench-daemon: tenantd refused the policies: %s", line);
                        break;
                }
                if (strstr(line, ": apply, start")) {
                        t_apply = now_usec(CLOCK_MONOTONIC) - t0;
                        applied = true;
                        break;
                }
        }
        if (applied) {
                uint64_t rss, hwm;
                unsigned triggers;

                /* let the first recovery ticks and averages settle, then sample */
                sleep(2);
                c0 = proc_cpu_ticks(pid);
                sleep(arg_idle);
                c1 = proc_cpu_ticks(pid);
                rss = proc_status_kib(pid, "VmRSS");
                hwm = proc_status_kib(pid, "VmHWM");
                triggers = count_triggers(pid);
                printf("%8u %12.2f %10.1f %10.1f %12.3f %10u\n", n, t_apply / 1e6, rss / 1024.0, hwm / 1024.0,
                       100.0 * (double) (c1 - c0) / (double) hz / arg_idle, triggers);
                fflush(stdout);
        }
        kill(pid, SIGTERM);
        (void) waitpid(pid, NULL, 0);
        if (f)
                fclose(f);
        /* remove the tenants: an empty tenants/ applied once */
        snprintf(line, sizeof(line),
                 "rm -f %s/tenants/*.ini && %s --once --no-bus --backend cgroupfs --root %s --policy-dir %s --state-dir %s "
                 ">/dev/null 2>&1; rm -rf %s %s",
                 dir, arg_tenantd, arg_root, dir, state, dir, state);
        if (system(line) != 0)
                fprintf(stderr, "bench-daemon: cleaning up %u tenants failed\n", n);
        return applied ? 0 : -EIO;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "tenantd", required_argument, NULL, 't' },
                { "root", required_argument, NULL, 'r' },
                { "idle", required_argument, NULL, 'i' },
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
                default:
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: bench-daemon [--tenantd PATH] [--root CGROUP_ROOT] [--idle SECONDS] N...\n");
                return 2;
        }
        printf("tenantd footprint, cgroupfs backend, idle CPU sampled over %u s\n\n", arg_idle);
        printf("%8s %12s %10s %10s %12s %10s\n", "tenants", "apply_s", "rss_MiB", "hwm_MiB", "idle_cpu_%", "psi_fds");
        for (int i = optind; i < argc; i++)
                if (run_one((unsigned) strtoul(argv[i], NULL, 10)) < 0)
                        failed = 1;
        return failed;
}
