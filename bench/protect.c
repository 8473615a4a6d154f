/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-protect: does a latency-sensitive tenant keep its speed while a
 * low-class tenant's memory grows without bound? resctl-bench's protection
 * idea on the testbed's scale, run in the systemd testbed (bench/run-protect).
 *
 * The workload, `bench-wss ops`, touches random pages of a fixed working set
 * (128M) and prints its operations per second, on vCPU 0. The hog,
 * `bench-wss grow`, grows by 64 MiB/s and touches everything it holds in
 * every cycle, on vCPU 1. zram swap makes the contention real in the 1 GiB
 * guest. For each setup: the workload runs alone for --solo seconds (with a
 * CPU-only spinner on vCPU 1, so that both vCPUs are busy in both phases:
 * under TCG a busy vCPU slows the other one through the host's cores), then
 * with the hog for --hog seconds. Setups, in one boot:
 *
 *   none      plain cgroups below the root, no limits, no controller;
 *   oomd      transient scopes in bench-high.slice and bench-low.slice,
 *             systemd-oomd as Debian configures it (ManagedOOMSwap=kill on
 *             -.slice, SwapUsedLimit=90%, DefaultMemoryPressureDurationSec=20s)
 *             plus ManagedOOMMemoryPressure=kill with a 50% limit on
 *             bench-low.slice (the limit Debian gives user services);
 *   tenantd   the installed tenantd.service with bench/policies/protect
 *             (prot: class high, hog: class low), the loads adopted into
 *             their tenants with tenantctl adopt;
 *   tenantd-numa      the same with both tenants NUMA-placed
 *             (bench/policies/protect-numa);
 *   tenantd-headroom  the same with [pressure] headroom = 20%
 *             (bench/policies/protect-headroom): the hog is squeezed once
 *             MemAvailable drops below a fifth of the guest's memory, before
 *             anything stalls.
 *
 * Per setup: the mean and the 1st percentile of (ops/s with the hog) /
 * (ops/s alone: the median of the seconds alone, as the first ones can be
 * slow under TCG while the working set and the translated code warm up),
 * OOM kills in the protected tenant (memory.events
 * oom_kill), and the first corrective action after the hog started: the
 * kernel's OOM kill, systemd-oomd's kill or tenantd's first reaction event.
 *
 *   bench-protect [--solo S] [--hog S] [--rounds N] [--setups none,oomd,tenantd]
 *                 [--wss PATH] [--tenantctl PATH] [--policies DIR] [--build DIR]
 */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include "bench-util.h"

#define WSS_MIB "128"
#define MAX_SECONDS 600
#define ETC "/usr/local/etc/tenantd"

static unsigned arg_solo = 20, arg_hog = 60, arg_rounds = 1, arg_zram = 1024;
static const char *arg_setups = "none,oomd,tenantd,tenantd-numa,tenantd-headroom";
static const char *arg_wss = BUILD_ROOT "/bench/bench-wss";
static const char *arg_tenantctl = "/usr/local/bin/tenantctl";
static const char *arg_policies = SOURCE_ROOT "/bench/policies/protect";
static const char *arg_build = BUILD_ROOT;

typedef enum Setup {
        SETUP_NONE,
        SETUP_OOMD,
        SETUP_TENANTD,
        SETUP_TENANTD_NUMA,
        SETUP_TENANTD_HEADROOM,
        _SETUP_MAX,
} Setup;
static const char *const setup_name[] = { "none", "oomd", "tenantd", "tenantd-numa", "tenantd-headroom" };
static const char *const setup_title[] = { "no controller", "systemd-oomd", "tenantd", "tenantd, NUMA-placed",
                                           "tenantd, headroom 20%" };
/* tenantd's setups: the policy directory is --policies with this suffix */
static const char *const setup_policies[] = { [SETUP_TENANTD] = "", [SETUP_TENANTD_NUMA] = "-numa",
                                              [SETUP_TENANTD_HEADROOM] = "-headroom" };

static bool is_tenantd(Setup s) {
        return s == SETUP_TENANTD || s == SETUP_TENANTD_NUMA || s == SETUP_TENANTD_HEADROOM;
}

typedef struct Result {
        Setup setup;
        double solo[MAX_SECONDS], hog[MAX_SECONDS];
        size_t n_solo, n_hog;
        uint64_t prot_oom_kills;
        bool prot_died;
        double first_action_s;          /* after the hog started; < 0: none */
        char first_action[64];
        uint64_t hog_peak;              /* memory.current + memory.swap.current */
        bool ok;
} Result;

static Result results[16];
static size_t n_results;

/* Where the two loads live in a setup: cgroups below BENCH_CG. */
typedef struct Place {
        const char *prot, *hog;
} Place;

static const Place places[] = {
        [SETUP_NONE] = { "bench-prot", "bench-hog" },
        [SETUP_OOMD] = { "bench.slice/bench-high.slice/bench-prot.scope", "bench.slice/bench-low.slice/bench-hog.scope" },
        [SETUP_TENANTD] = { "tenants.slice/tenants-high.slice/tenant-prot.scope",
                            "tenants.slice/tenants-low.slice/tenant-hog.scope" },
        [SETUP_TENANTD_NUMA] = { "tenants.slice/tenants-high.slice/tenant-prot.scope",
                                 "tenants.slice/tenants-low.slice/tenant-hog.scope" },
        [SETUP_TENANTD_HEADROOM] = { "tenants.slice/tenants-high.slice/tenant-prot.scope",
                                     "tenants.slice/tenants-low.slice/tenant-hog.scope" },
};

static int sh_ok(const char *what, const char *cmd) {
        _cleanup_free_ char *out = NULL;

        if (bench_sh(&out, "%s", cmd) == 0)
                return 0;
        fprintf(stderr, "bench-protect: %s failed: %s\n%s\n", what, cmd, out ? out : "");
        return -1;
}

/* ---- the setups --------------------------------------------------------------- */

static bool tenantd_installed;

/* Install the build once, put the setup's policies in place, start tenantd.service. */
static int tenantd_start(Setup s) {
        _cleanup_free_ char *install = NULL, *policies = NULL;

        if (!tenantd_installed) {
                install = strdup_printf("meson install -C %s --no-rebuild --quiet && systemctl daemon-reload && "
                                        "systemd-tmpfiles --create tenantd.conf && busctl call org.freedesktop.DBus "
                                        "/org/freedesktop/DBus org.freedesktop.DBus ReloadConfig",
                                        arg_build);
                if (!install || sh_ok("installing tenantd", install) < 0)
                        return -1;
                tenantd_installed = true;
        }
        policies = strdup_printf("rm -rf " ETC " && mkdir -p " ETC " && cp -r %s%s/. " ETC, arg_policies,
                                 setup_policies[s]);
        if (!policies || sh_ok("copying the policies", policies) < 0)
                return -1;
        return sh_ok("starting tenantd", "systemctl start tenantd.service");
}

static int setup_begin(Setup s) {
        switch (s) {
        case SETUP_NONE:
                for (size_t i = 0; i < 2; i++) {
                        char p[256];
                        snprintf(p, sizeof(p), "%s/%s", BENCH_CG, i ? places[s].hog : places[s].prot);
                        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                                fprintf(stderr, "bench-protect: mkdir %s: %s\n", p, strerror(errno));
                                return -1;
                        }
                }
                return 0;
        case SETUP_OOMD:
                return bench_oomd_start();
        case SETUP_TENANTD:
        case SETUP_TENANTD_NUMA:
        case SETUP_TENANTD_HEADROOM:
                return tenantd_start(s);
        default:
                return -1;
        }
}

static void setup_end(Setup s) {
        switch (s) {
        case SETUP_NONE:
                for (size_t i = 0; i < 2; i++) {
                        char p[256];
                        snprintf(p, sizeof(p), "%s/%s", BENCH_CG, i ? places[s].hog : places[s].prot);
                        for (int k = 0; k < 100 && rmdir(p) < 0 && errno == EBUSY; k++)
                                usleep(20000);
                }
                break;
        case SETUP_OOMD:
                (void) bench_sh(NULL, "systemctl stop bench.slice systemd-oomd.service systemd-oomd.socket; "
                                      "systemctl reset-failed");
                break;
        case SETUP_TENANTD:
        case SETUP_TENANTD_NUMA:
        case SETUP_TENANTD_HEADROOM:
                (void) bench_sh(NULL, "systemctl stop tenantd.service tenants.slice; systemctl reset-failed; "
                                      "rm -f /run/tenantd/react.state");
                break;
        default:
                break;
        }
}

/* Start one load in its place: the workload (stdout piped) or the hog/spinner. */
static pid_t start_load(Setup s, bool prot, char *const argv[], int *ret_stdout) {
        int cpu = prot ? 0 : 1, gate = -1;
        pid_t pid;

        switch (s) {
        case SETUP_NONE:
                return bench_spawn(prot ? places[s].prot : places[s].hog, cpu, ret_stdout, NULL, argv);
        case SETUP_OOMD: {
                /* systemd-run --scope execs the load in a new scope of the slice */
                char *full[16] = { (char *) "systemd-run", (char *) "--scope", (char *) "--quiet",
                                   (char *) (prot ? "--slice=bench-high.slice" : "--slice=bench-low.slice"),
                                   (char *) (prot ? "--unit=bench-prot" : "--unit=bench-hog"),
                                   (char *) "--property=MemoryAccounting=yes", (char *) "--" };
                size_t n = 7;
                for (size_t i = 0; argv[i] && n < ELEMENTSOF(full) - 1; i++)
                        full[n++] = argv[i];
                full[n] = NULL;
                if (!prot && sh_ok("systemd-oomd setup",
                                   "systemctl set-property --runtime bench-low.slice ManagedOOMMemoryPressure=kill "
                                   "ManagedOOMMemoryPressureLimit=50%") < 0)
                        return -1;
                return bench_spawn(NULL, cpu, ret_stdout, NULL, full);
        }
        case SETUP_TENANTD:
        case SETUP_TENANTD_NUMA:
        case SETUP_TENANTD_HEADROOM: {
                _cleanup_free_ char *cmd = NULL;

                pid = bench_spawn(NULL, cpu, ret_stdout, &gate, argv);
                if (pid < 0)
                        return pid;
                cmd = strdup_printf("%s adopt %s %d", arg_tenantctl, prot ? "prot" : "hog", (int) pid);
                if (!cmd || sh_ok("tenantctl adopt", cmd) < 0) {
                        close(gate);
                        bench_kill(pid);
                        return -1;
                }
                close(gate);
                return pid;
        }
        default:
                return -1;
        }
}

/* ---- measuring -------------------------------------------------------------------- */

/* The kernel's OOM kills since boot (/proc/vmstat oom_kill). */
static uint64_t vmstat_oom_kills(void) {
        _cleanup_free_ char *out = NULL;

        if (bench_sh(&out, "awk '$1 == \"oom_kill\" { print $2 }' /proc/vmstat") != 0 || !out)
                return 0;
        return strtoull(out, NULL, 10);
}

/* The first reaction tenantd logged at or after `since` (CLOCK_MONOTONIC usec):
 * its time, and "throttle hog" into what. 0 when none. */
static uint64_t tenantd_first_reaction(uint64_t since, char *what, size_t size) {
        static const char *const steps[] = { "balloon", "throttle", "reclaim", "freeze", "evict" };
        _cleanup_free_ char *out = NULL;
        uint64_t best = 0;
        char *line, *save = NULL;

        if (bench_sh(&out, "%s --json events", arg_tenantctl) != 0 || !out)
                return 0;
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_object *o = json_tokener_parse(line), *v;
                const char *action = "", *tenant = "";
                uint64_t t = 0;

                if (!o)
                        continue;
                if (json_object_object_get_ex(o, "monotonic_usec", &v))
                        t = json_object_get_uint64(v);
                if (json_object_object_get_ex(o, "action", &v))
                        action = json_object_get_string(v);
                if (json_object_object_get_ex(o, "tenant", &v))
                        tenant = json_object_get_string(v);
                for (size_t i = 0; i < ELEMENTSOF(steps); i++)
                        if (streq(action, steps[i]) && t >= since && (!best || t < best)) {
                                best = t;
                                snprintf(what, size, "tenantd %s %s", action, tenant);
                        }
                json_object_put(o);
        }
        return best;
}

/* Read whole "ops N" lines from fd into v (up to max); -1 at EOF. */
static int read_ops(int fd, char *buf, size_t *len, size_t cap, double *v, size_t *n, size_t max) {
        ssize_t k = read(fd, buf + *len, cap - *len - 1);
        char *nl;

        if (k <= 0)
                return k == 0 ? -1 : 0;
        *len += (size_t) k;
        buf[*len] = '\0';
        while ((nl = strchr(buf, '\n'))) {
                *nl = '\0';
                if (strncmp(buf, "ops ", 4) == 0 && *n < max)
                        v[(*n)++] = strtod(buf + 4, NULL);
                *len -= (size_t) (nl + 1 - buf);
                memmove(buf, nl + 1, *len + 1);
        }
        return 0;
}

/* the raw numbers, in thousands of ops/s, for the log */
static void print_series(const char *what, const double *v, size_t n) {
        fprintf(stderr, "  %s (kops/s):", what);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, " %.0f", v[i] / 1000);
        fprintf(stderr, "\n");
}

static void round_setup(Setup s, Result *res) {
        const Place *pl = &places[s];
        char mib[] = WSS_MIB, ops[] = "ops", grow[] = "grow", start[] = "32", rate[] = "64", spin[] = "spin";
        char *wss_argv[] = { (char *) arg_wss, ops, mib, NULL };
        char *hog_argv[] = { (char *) arg_wss, grow, start, rate, NULL };
        char *spin_argv[] = { (char *) arg_wss, spin, NULL };
        pid_t prot = -1, hog = -1, spinner = -1;
        _cleanup_close_ int prot_out = -1, hog_fd = -1;
        char buf[4096];
        size_t len = 0, skip = 10;
        uint64_t t0, t_hog = 0, t_end, hog_gone = 0;
        unsigned kills0 = bench_oomd_kills();
        uint64_t ooms0 = vmstat_oom_kills();
        bool in_hog = false;
        double *dst;
        size_t *ndst, seen = 0;

        *res = (Result) { .setup = s, .first_action_s = -1 };
        snprintf(res->first_action, sizeof(res->first_action), "none");
        if (setup_begin(s) < 0)
                goto out;
        prot = start_load(s, true, wss_argv, &prot_out);
        spinner = start_load(s, false, spin_argv, NULL);
        if (prot < 0 || spinner < 0)
                goto out;
        t0 = now_usec(CLOCK_MONOTONIC);
        t_end = t0 + (uint64_t) (skip + arg_solo + arg_hog + 30) * USEC_PER_SEC;
        dst = res->solo;
        ndst = &res->n_solo;
        for (;;) {
                struct pollfd p[2] = { { .fd = prot_out, .events = POLLIN }, { .fd = hog_fd, .events = POLLIN } };
                uint64_t now;
                int r;

                if (poll(p, 2, 200) < 0 && errno != EINTR)
                        break;
                now = now_usec(CLOCK_MONOTONIC);
                if (p[0].revents) {
                        double tmp[8];
                        size_t nt = 0;

                        r = read_ops(prot_out, buf, &len, sizeof(buf), tmp, &nt, ELEMENTSOF(tmp));
                        for (size_t i = 0; i < nt; i++, seen++)
                                if (seen >= skip && *ndst < MAX_SECONDS)
                                        dst[(*ndst)++] = tmp[i];
                        if (r < 0) {
                                res->prot_died = true;
                                break;
                        }
                }
                if (hog_fd >= 0 && p[1].revents && !hog_gone)
                        hog_gone = now;
                if (in_hog) {
                        uint64_t h = bench_cg_u64(pl->hog, "memory.current") + bench_cg_u64(pl->hog, "memory.swap.current");
                        if (!hog_gone && h > res->hog_peak)
                                res->hog_peak = h;
                        uint64_t k = bench_cg_key(pl->prot, "memory.events", "oom_kill");
                        if (k > res->prot_oom_kills)
                                res->prot_oom_kills = k;
                }
                if (!in_hog && res->n_solo >= arg_solo) {
                        /* the hog takes the spinner's place */
                        bench_kill(spinner);
                        spinner = -1;
                        t_hog = now_usec(CLOCK_MONOTONIC);
                        hog = start_load(s, false, hog_argv, NULL);
                        if (hog < 0)
                                goto out;
                        hog_fd = bench_pidfd(hog);
                        in_hog = true;
                        dst = res->hog;
                        ndst = &res->n_hog;
                }
                if ((in_hog && res->n_hog >= arg_hog) || now > t_end)
                        break;
        }
        if (is_tenantd(s)) {
                char what[64] = "";
                uint64_t t = tenantd_first_reaction(t_hog, what, sizeof(what));
                if (t) {
                        res->first_action_s = (double) (t - t_hog) / 1e6;
                        snprintf(res->first_action, sizeof(res->first_action), "%s", what);
                }
        }
        if (hog_gone && (res->first_action_s < 0 || (double) (hog_gone - t_hog) / 1e6 < res->first_action_s)) {
                res->first_action_s = (double) (hog_gone - t_hog) / 1e6;
                snprintf(res->first_action, sizeof(res->first_action), "%s",
                         s == SETUP_OOMD && bench_oomd_kills() > kills0 ? "systemd-oomd kill hog"
                         : vmstat_oom_kills() > ooms0                   ? "kernel OOM kill hog"
                                                                        : "hog killed");
        }
        if (res->prot_died) {
                if (bench_kill(prot) == SIGKILL && vmstat_oom_kills() > ooms0 && !res->prot_oom_kills)
                        res->prot_oom_kills = 1; /* its cgroup went with it */
                prot = -1;
        }
        res->ok = res->n_solo > 0 && (res->prot_died || res->n_hog >= arg_hog);
out:
        bench_kill(hog);
        bench_kill(spinner);
        bench_kill(prot);
        setup_end(s);
        fprintf(stderr, "bench-protect: %s: %zu s alone, %zu s with the hog%s, first action: %s\n", setup_name[s],
                res->n_solo, res->n_hog, res->prot_died ? " (the workload died)" : "", res->first_action);
        print_series("alone", res->solo, res->n_solo);
        print_series("with the hog", res->hog, res->n_hog);
}

/* ---- the table ---------------------------------------------------------------------- */

static void print_row(const Result *r) {
        double sorted[MAX_SECONDS], solo, ratio[MAX_SECONDS], noise[MAX_SECONDS];
        char first[32] = "-";

        memcpy(sorted, r->solo, r->n_solo * sizeof(double));
        solo = bench_percentile(sorted, r->n_solo, 50);

        for (size_t i = 0; i < r->n_hog; i++)
                ratio[i] = r->hog[i] / solo;
        for (size_t i = 0; i < r->n_solo; i++)
                noise[i] = r->solo[i] / solo;
        if (r->first_action_s >= 0)
                snprintf(first, sizeof(first), "%.1f s", r->first_action_s);
        printf("| %s | %.0f | %.1f%% | %.1f%% | %.1f%% | %" PRIu64 "%s | %s | %s | %.0f |\n", setup_title[r->setup], solo,
               100 * bench_mean(ratio, r->n_hog), 100 * bench_percentile(ratio, r->n_hog, 1),
               100 * bench_percentile(noise, r->n_solo, 1), r->prot_oom_kills, r->prot_died ? " (died)" : "", first,
               r->first_action, (double) r->hog_peak / (double) MiB);
}

static bool setup_wanted(Setup s) {
        const char *p = arg_setups;
        size_t l = strlen(setup_name[s]);

        while ((p = strstr(p, setup_name[s]))) {
                if ((p == arg_setups || p[-1] == ',') && (p[l] == ',' || p[l] == '\0'))
                        return true;
                p += l;
        }
        return false;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "solo", required_argument, NULL, 's' },   { "hog", required_argument, NULL, 'h' },
                { "rounds", required_argument, NULL, 'r' }, { "setups", required_argument, NULL, 'S' },
                { "wss", required_argument, NULL, 'w' },    { "tenantctl", required_argument, NULL, 't' },
                { "policies", required_argument, NULL, 'p' }, { "build", required_argument, NULL, 'b' },
                { "zram", required_argument, NULL, 'z' },   {0},
        };
        bool all_ok = true;
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 's':
                        arg_solo = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'h':
                        arg_hog = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'r':
                        arg_rounds = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'S':
                        arg_setups = optarg;
                        break;
                case 'w':
                        arg_wss = optarg;
                        break;
                case 't':
                        arg_tenantctl = optarg;
                        break;
                case 'p':
                        arg_policies = optarg;
                        break;
                case 'b':
                        arg_build = optarg;
                        break;
                case 'z':
                        arg_zram = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: bench-protect [--solo S] [--hog S] [--rounds N] [--setups none,oomd,tenantd] "
                                        "[--zram MIB] [--wss PATH] [--tenantctl PATH] [--policies DIR] [--build DIR]\n");
                        return 2;
                }
        }
        if (arg_solo == 0 || arg_hog == 0 || arg_solo > MAX_SECONDS - 8 || arg_hog > MAX_SECONDS - 8 ||
            arg_rounds * _SETUP_MAX > ELEMENTSOF(results)) {
                fprintf(stderr, "bench-protect: --solo and --hog: 1..%d seconds, --rounds: at most %zu\n", MAX_SECONDS - 8,
                        ELEMENTSOF(results) / _SETUP_MAX);
                return 2;
        }
        if (bench_zram_on(arg_zram) < 0)
                return 1;
        for (unsigned round = 0; round < arg_rounds; round++)
                for (Setup s = 0; s < _SETUP_MAX; s++)
                        if (setup_wanted(s)) {
                                round_setup(s, &results[n_results]);
                                all_ok = all_ok && results[n_results].ok;
                                n_results++;
                        }

        printf("\nbench-protect: %s MiB working set on vCPU 0 (class high under tenantd), a hog growing by 64 MiB/s on "
               "vCPU 1 (class low), %u MiB zram swap; %u s alone, then %u s with the hog (%s)\n\n",
               WSS_MIB, arg_zram, arg_solo, arg_hog, getenv("TESTBED") ? "systemd testbed, QEMU TCG guest" : "this host");
        printf("| setup | ops/s alone | mean with hog / alone | p01 | p01 alone / alone (noise) | protected OOM kills | "
               "first corrective action | by | hog peak MiB (RAM+swap) |\n");
        printf("|---|---|---|---|---|---|---|---|---|\n");
        for (size_t i = 0; i < n_results; i++)
                print_row(&results[i]);
        return all_ok ? 0 : 1;
}
