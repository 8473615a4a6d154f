/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reaction ladder through the installed daemon (systemd testbed, after
 * the daemon suite of test-daemon.c, which leaves tenantd.service running on
 * tests/testbed/policies/daemon). A hog in the normal tenant `web`, swapping
 * to zram, makes web (a protected tenant) stall; tenantd must throttle the
 * low tenant `batch` first (evictable = no keeps it from being frozen or
 * evicted, so the test can look at it), through the unit property, so that a
 * daemon-reload keeps it, and report it in `tenantctl events` and the
 * journal. The daemon is then killed with kill -9: the restarted daemon
 * keeps the step. The host's pressure may move the ladder on to web itself,
 * whose eviction ends the hog; once the hog is gone, the restarted daemon
 * undoes batch's steps after the hold.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>

#include "testbed-util.h"

#define CG "/sys/fs/cgroup"
#define CTL "/usr/local/bin/tenantctl"

static const char *const batch_cg = "tenants.slice/tenants-low.slice/tenant-batch.scope";

static void require_daemon(void) {
        const char *tb = getenv("TESTBED");

        tb_require_guest();
        if (!tb || !streq(tb, "systemd"))
                cr_skip_test("needs systemd as PID 1: tests/testbed/run --mode systemd");
        if (tb_sh(NULL, "systemctl is-active -q tenantd") != 0)
                cr_skip_test("tenantd.service is not running (the daemon suite starts it)");
}

static pid_t spawn(const char *const argv[]) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        return pid;
}

Test(reaction, pressure_in_normal_throttles_low_through_systemd_and_recovers, .init = require_daemon,
     .timeout = 400) {
        char *out = NULL, *events = NULL, *prop = NULL, *old_pid = NULL, *new_pid = NULL;
        char hog[512];
        pid_t sleeper, hogpid;
        uint64_t high = 0, before, kept;
        int i;

        /* batch needs processes to have a step left */
        sleeper = spawn((const char *const[]) { "/bin/sleep", "3600", NULL });
        cr_assert_eq(tb_sh(&out, CTL " adopt batch %d", (int) sleeper), 0, "%s", out);
        before = tb_cg_u64(CG, batch_cg, "memory.high");

        cr_assert_eq(tb_swap_on(512), 0, "zram swap");
        snprintf(hog, sizeof(hog), "%s/tests/testbed/memhog", BUILD_ROOT);
        hogpid = spawn((const char *const[]) { hog, "160", "300", NULL });
        cr_assert_eq(tb_sh(&out, CTL " adopt web %d", (int) hogpid), 0, "%s", out);

        for (i = 0; i < 120; i++) {
                high = tb_cg_u64(CG, batch_cg, "memory.high");
                if (high != before)
                        break;
                sleep(1);
        }
        /* the step went through systemd: the unit property says the same */
        tb_sh(&prop, "systemctl show -p MemoryHigh --value tenant-batch.scope");
        tb_sh(&events, CTL " events");
        cr_assert_neq(high, before, "batch was never throttled in 120 s; events:\n%s", events);
        cr_assert(strstr(events, "batch") && strstr(events, "throttle"), "%s", events);
        /* web's own trigger, its class's, or the host's (the guest is the host:
         * web's stall is the host's too, and the host ranks above every class) */
        cr_assert(strstr(events, "pressure in tenant web") || strstr(events, "pressure in class") ||
                          strstr(events, "host pressure"),
                  "%s", events);
        /* never web's class or above */
        cr_assert_null(strstr(events, "db: "), "%s", events);

        cr_assert_eq(strtoull(prop, NULL, 10), high, "MemoryHigh=%s, memory.high=%llu; events:\n%s", prop,
                     (unsigned long long) high, events);
        /* a daemon-reload keeps whatever step is in force (systemd rewrites
         * memory.high from the unit's MemoryHigh) */
        tb_sh(&prop, "systemctl show -p MemoryHigh --value tenant-batch.scope");
        cr_assert_eq(tb_sh(&out, "systemctl daemon-reload"), 0, "%s", out);
        sleep(1);
        cr_assert_eq(tb_cg_u64(CG, batch_cg, "memory.high"), strtoull(prop, NULL, 10),
                     "daemon-reload changed memory.high away from MemoryHigh=%s", prop);
        cr_assert_eq(tb_sh(&out, "journalctl -u tenantd TENANT=batch ACTION=throttle -q --no-pager | grep -c batch"), 0,
                     "no journal entry with TENANT=batch ACTION=throttle: %s", out);

        /* kill -9 while batch is throttled: systemd restarts the daemon, which
         * keeps the step in force (its record in /run/tenantd/react.state) and
         * undoes it later like its predecessor would have */
        tb_sh(&old_pid, "systemctl show -p MainPID --value tenantd");
        cr_assert_eq(tb_sh(&out, "kill -9 %s", old_pid), 0, "%s", out);
        for (i = 0; i < 60; i++) {
                tb_sh(&new_pid, "systemctl show -p MainPID --value tenantd");
                if (!streq(new_pid, old_pid) && !streq(new_pid, "0") &&
                    tb_sh(NULL, "systemctl is-active -q tenantd && " CTL " list >/dev/null") == 0)
                        break;
                sleep(1);
        }
        cr_assert_neq(i, 60, "tenantd did not come back after kill -9 (MainPID %s)", new_pid);
        kept = tb_cg_u64(CG, batch_cg, "memory.high");
        cr_assert_lt(kept, before, "the restart undid batch's throttle at once (memory.high %llu)",
                     (unsigned long long) kept);
        cr_assert_leq(kept, high, "memory.high went up across the restart");
        tb_sh(&out, "cat /run/tenantd/react.state");
        cr_assert(strstr(out, "step batch throttle"), "the step is not in the state file:\n%s", out);

        /* pressure gone: steps undone, memory.high back where it was */
        kill(hogpid, SIGKILL);
        tb_reap(hogpid);
        for (i = 0; i < 240; i++) {
                if (tb_cg_u64(CG, batch_cg, "memory.high") == before)
                        break;
                sleep(1);
        }
        tb_sh(&events, CTL " events");
        cr_assert_eq(tb_cg_u64(CG, batch_cg, "memory.high"), before, "not recovered in 240 s; events:\n%s", events);
        cr_assert(strstr(events, "unthrottle"), "the restarted daemon undid the step: %s", events);
        kill(sleeper, SIGKILL);
        tb_reap(sleeper);
        tb_swap_off();
}
