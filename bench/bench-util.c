/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bench-util.h"
#include "psi.h"

static void cg_path(char *buf, size_t size, const char *cg, const char *attr) {
        snprintf(buf, size, "%s/%s/%s", BENCH_CG, cg, attr);
}

const char *bench_cg_read(const char *cg, const char *attr) {
        static char ring[8][4096];
        static unsigned i;
        char *b = ring[i++ % 8], path[512];
        _cleanup_free_ char *s = NULL;

        cg_path(path, sizeof(path), cg, attr);
        b[0] = '\0';
        if (read_attr_at(AT_FDCWD, path, &s) >= 0)
                snprintf(b, sizeof(ring[0]), "%s", s);
        return b;
}

uint64_t bench_cg_u64(const char *cg, const char *attr) {
        const char *s = bench_cg_read(cg, attr);

        return streq(s, "max") ? UINT64_MAX : strtoull(s, NULL, 10);
}

uint64_t bench_cg_key(const char *cg, const char *attr, const char *key) {
        const char *s = bench_cg_read(cg, attr);
        size_t l = strlen(key);

        while (*s) {
                if (strncmp(s, key, l) == 0 && s[l] == ' ')
                        return strtoull(s + l + 1, NULL, 10);
                s = strchrnul(s, '\n');
                if (*s)
                        s++;
        }
        return 0;
}

int bench_cg_write(const char *cg, const char *attr, const char *value) {
        char path[512];

        cg_path(path, sizeof(path), cg, attr);
        return write_attr_at(AT_FDCWD, path, value);
}

uint64_t bench_cg_stall_usec(const char *cg) {
        char path[512];
        PsiStats st;

        cg_path(path, sizeof(path), cg, "memory.pressure");
        return psi_read_avg(AT_FDCWD, path, &st) < 0 ? 0 : st.some.total_usec;
}

int bench_wait_current(const char *cg, uint64_t bytes, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 20; i++) {
                if (bench_cg_u64(cg, "memory.current") >= bytes)
                        return 0;
                usleep(50000);
        }
        return -ETIMEDOUT;
}

pid_t bench_spawn(const char *cg, int cpu, int *ret_stdout, int *ret_gate, char *const argv[]) {
        int out[2] = { -1, -1 }, gate[2] = { -1, -1 };
        pid_t pid;

        if (ret_stdout && pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        if (ret_gate && pipe2(gate, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char path[512], c;

                if (ret_gate) {
                        close(gate[1]);
                        (void) !read(gate[0], &c, 1);
                }

                if (cg) {
                        cg_path(path, sizeof(path), cg, "cgroup.procs");
                        if (write_attr_at(AT_FDCWD, path, "0") < 0) {
                                fprintf(stderr, "bench: cannot join %s: %s\n", path, strerror(errno));
                                _exit(126);
                        }
                }
                if (cpu >= 0) {
                        cpu_set_t set;
                        CPU_ZERO(&set);
                        CPU_SET(cpu, &set);
                        (void) sched_setaffinity(0, sizeof(set), &set);
                }
                if (ret_stdout)
                        dup2(out[1], STDOUT_FILENO);
                else {
                        int devnull = open("/dev/null", O_WRONLY);
                        dup2(devnull, STDOUT_FILENO);
                }
                execvp(argv[0], argv);
                fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        if (ret_stdout) {
                close(out[1]);
                *ret_stdout = out[0];
        }
        if (ret_gate) {
                close(gate[0]);
                *ret_gate = gate[1];
        }
        return pid;
}

int bench_pidfd(pid_t pid) {
        long fd = syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : (int) fd;
}

int bench_kill(pid_t pid) {
        int st;

        if (pid <= 0)
                return 0;
        kill(pid, SIGKILL);
        if (waitpid(pid, &st, 0) < 0)
                return 0;
        return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

uint64_t bench_wait_exit(pid_t pid, uint64_t timeout_usec) {
        _cleanup_close_ int fd = bench_pidfd(pid);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t t;

        if (fd < 0)
                return now_usec(CLOCK_MONOTONIC);
        if (poll(&p, 1, (int) (timeout_usec / 1000)) <= 0)
                return 0;
        t = now_usec(CLOCK_MONOTONIC);
        (void) waitpid(pid, NULL, WNOHANG);
        return t;
}

int bench_sh(char **ret_out, const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL, *full = NULL, *out = NULL;
        size_t len = 0, n;
        char buf[4096];
        va_list ap;
        FILE *p, *m;
        int st;

        va_start(ap, fmt);
        cmd = strdup_vprintf(fmt, ap);
        va_end(ap);
        full = cmd ? strdup_printf("%s 2>&1", cmd) : NULL;
        p = full ? popen(full, "r") : NULL;
        if (!p)
                return -1;
        m = open_memstream(&out, &len);
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                fwrite(buf, 1, n, m);
        fclose(m);
        st = pclose(p);
        while (len > 0 && out[len - 1] == '\n')
                out[--len] = '\0';
        if (ret_out)
                *ret_out = TAKE_PTR(out);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int bench_zram_on(unsigned mib) {
        _cleanup_free_ char *out = NULL;

        if (bench_sh(&out, "modprobe zram num_devices=1 && echo %uM > /sys/block/zram0/disksize && "
                           "mkswap /dev/zram0 >/dev/null && swapon /dev/zram0", mib) != 0) {
                fprintf(stderr, "bench: cannot set up zram swap: %s\n", out ? out : "");
                return -1;
        }
        return 0;
}

int bench_oomd_start(void) {
        _cleanup_free_ char *out = NULL;

        /* the testbed masks units the host enabled with empty files */
        if (bench_sh(&out, "rm -f /etc/systemd/system/systemd-oomd.service /etc/systemd/system/systemd-oomd.socket && "
                           "systemctl daemon-reload && systemctl start systemd-oomd.socket systemd-oomd.service && "
                           "oomctl >/dev/null") != 0) {
                fprintf(stderr, "bench: cannot start systemd-oomd: %s\n", out ? out : "");
                return -1;
        }
        return 0;
}

unsigned bench_oomd_kills(void) {
        _cleanup_free_ char *out = NULL;

        if (bench_sh(&out, "journalctl -b -o cat -u systemd-oomd --no-pager | grep -c '^Killed '") < 0 || !out)
                return 0;
        return (unsigned) strtoul(out, NULL, 10);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p) {
        size_t rank;

        if (n == 0)
                return 0;
        qsort(v, n, sizeof(v[0]), cmp_double);
        rank = (size_t) ceil(p / 100.0 * (double) n);
        return v[rank ? rank - 1 : 0];
}

double bench_mean(const double *v, size_t n) {
        double s = 0;

        for (size_t i = 0; i < n; i++)
                s += v[i];
        return n ? s / (double) n : 0;
}
