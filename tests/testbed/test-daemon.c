/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The installed daemon in the systemd testbed: `meson install` into the
 * guest's root, `systemctl start tenantd`, and then every tenantctl verb
 * against it, as an operator would use them. Checks what the kernel's files
 * say, what systemd reports, exit codes and error texts; a kill -9 restart
 * that leaves tenants alone; access for a non-root reader and a stranger; the
 * journal's structured fields. The tests share one daemon and build on each
 * other, so they are numbered: Criterion runs a suite in name order.
 * Outside a systemd guest every test SKIPs.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "testbed-util.h"

#define CG "/sys/fs/cgroup"
#define ETC "/usr/local/etc/tenantd"
#define CTL "/usr/local/bin/tenantctl"

static const char *const web_cg = "tenants.slice/tenants-normal.slice/tenant-web.service";
static const char *const db_cg = "tenants.slice/tenants-critical.slice/tenant-db.service";
static const char *const batch_cg = "tenants.slice/tenants-low.slice/tenant-batch.scope";

static void require_systemd(void) {
        const char *tb = getenv("TESTBED");

        tb_require_guest();
        if (!tb || !streq(tb, "systemd"))
                cr_skip_test("needs systemd as PID 1: tests/testbed/run --mode systemd");
}

static int wait_for(const char *what, int seconds, const char *fmt, ...) _printf_(3, 4);
/* Re-run a shell condition until it succeeds. */
static int wait_for(const char *what, int seconds, const char *fmt, ...) {
        char cmd[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        for (int i = 0; i < seconds * 10; i++) {
                if (tb_sh(NULL, "%s", cmd) == 0)
                        return 0;
                usleep(100000);
        }
        cr_log_error("timed out waiting for %s", what);
        return -1;
}

/* The daemon's last words, for failure messages (static buffer). */
static const char *journal_tail(void) {
        static char buf[8192];
        char *out = NULL;

        tb_sh(&out, "journalctl -u tenantd --no-pager -o cat | tail -25");
        snprintf(buf, sizeof(buf), "%s", out ? out : "");
        free(out);
        return buf;
}

static const char *main_pid(void) {
        static char buf[32];
        char *out = NULL;

        tb_sh(&out, "systemctl show -p MainPID --value tenantd.service");
        snprintf(buf, sizeof(buf), "%s", out);
        free(out);
        return buf;
}

/* Install once per boot and (re)start the daemon with the test policies. */
static void setup(void) {
        char *out = NULL;

        require_systemd();
        /* each test runs in its own process: the marker lives in the guest */
        if (access("/run/test-daemon.installed", F_OK) == 0)
                return;
        cr_assert_eq(tb_sh(&out, "meson install -C %s --no-rebuild --quiet", BUILD_ROOT), 0, "install: %s", out);
        free(out);
        cr_assert_eq(tb_sh(&out, "rm -rf %s && mkdir -p %s && cp -r %s/. %s && chown -R root:root %s && chmod -R go-w %s",
                           ETC, ETC, tb_policies("daemon"), ETC, ETC, ETC),
                     0, "%s", out);
        free(out);
        cr_assert_eq(tb_sh(&out, "systemctl daemon-reload && systemd-tmpfiles --create tenantd.conf && "
                                 "busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig"),
                     0, "%s", out);
        free(out);
        (void) tb_sh(NULL, "systemctl stop tenants.slice; systemctl reset-failed 'tenant*'; rm -rf /run/tenantd/overrides /run/tenantd/stopped");
        cr_assert_eq(tb_sh(&out, "systemctl start tenantd.service"), 0, "start: %s\n%s", out,
                     (tb_sh(&out, "journalctl -u tenantd --no-pager | tail -20"), out));
        cr_assert_eq(tb_sh(NULL, "touch /run/test-daemon.installed"), 0);
}

Test(daemon, t01_starts_and_applies, .init = setup, .timeout = 240) {
        char *out = NULL;

        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd.service"), 0, "%s", out);
        cr_assert_str_eq(out, "active");
        /* Type=notify: STATUS= says what was applied */
        tb_sh(&out, "systemctl show -p StatusText --value tenantd.service");
        cr_assert(strstr(out, "3 tenants applied (systemd)"), "status text: %s", out);
        /* limits in the kernel's files */
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), 64u << 20);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.low"), 32u << 20);
        cr_assert_eq(tb_cg_u64(CG, db_cg, "memory.min"), 96u << 20);
        cr_assert_eq(tb_cg_u64(CG, db_cg, "memory.max"), 128u << 20);
        /* the daemon's own protection from the unit file */
        cr_assert_eq(tb_cg_u64(CG, "system.slice/tenantd.service", "memory.min"), 64u << 20);
        tb_sh(&out, "cat /proc/%s/oom_score_adj", main_pid());
        cr_assert_str_eq(out, "-900");
        /* the slices are the installed unit files (units/), started by tenantd,
         * with its sums as runtime properties */
        tb_sh(&out, "systemctl show -p FragmentPath --value tenants.slice tenants-critical.slice tenants-low.slice");
        cr_assert(strstr(out, "/tenants.slice\n") && strstr(out, "/tenants-critical.slice\n") &&
                          strstr(out, "/tenants-low.slice"),
                  "%s", out);
        tb_sh(&out, "systemctl show -p MemoryMin --value tenants.slice");
        cr_assert_str_eq(out, "100663296");
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice", "memory.min"), 96u << 20);
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice/tenants-normal.slice", "memory.low"), 32u << 20);
}

/* COMPREPLY of the installed bash completion for the words given. */
static const char *complete_words(const char *words, int cword) {
        static char buf[1024];
        char *out = NULL;

        tb_sh(&out, "bash -c 'source /usr/local/share/bash-completion/completions/tenantctl; PATH=/usr/local/bin:$PATH; "
                    "COMP_WORDS=(%s); COMP_CWORD=%d; _tenantctl; echo \"${COMPREPLY[*]}\"'",
              words, cword);
        snprintf(buf, sizeof(buf), "%s", out);
        free(out);
        return buf;
}

Test(daemon, t02_bash_completion_knows_verbs_tenants_and_nodes, .init = setup, .timeout = 60) {
        cr_assert_str_eq(complete_words("tenantctl re", 1), "reassign");
        cr_assert_str_eq(complete_words("tenantctl status w", 2), "web");
        /* the tenants in the order of tenantctl list (the plan's, class by class) */
        cr_assert_str_eq(complete_words("tenantctl stop ''", 2), "db web batch");
        cr_assert_str_eq(complete_words("tenantctl reassign web --class l", 4), "low");
        cr_assert_str_eq(complete_words("tenantctl reassign web --nodes ''", 4), "auto 0 1");
        cr_assert_str_eq(complete_words("tenantctl --backend s", 2), "systemd");
}

/* WatchdogSec=30s: tenantd pets the watchdog (every 15 s), so systemd's
 * timestamp of the last ping moves on. */
Test(daemon, t01_watchdog_is_petted, .init = setup, .timeout = 120) {
        char *a = NULL, *b = NULL;

        tb_sh(&a, "systemctl show -p WatchdogUSec --value tenantd");
        cr_assert_str_eq(a, "30s");
        tb_sh(&a, "systemctl show -p WatchdogTimestampMonotonic --value tenantd");
        cr_assert_neq(strtoull(a, NULL, 10), 0, "no WATCHDOG=1 yet");
        cr_assert_eq(wait_for("a newer watchdog ping", 40,
                              "test \"$(systemctl show -p WatchdogTimestampMonotonic --value tenantd)\" != %s", a),
                     0);
        tb_sh(&b, "systemctl show -p NRestarts --value tenantd");
        cr_assert_str_eq(b, "0", "tenantd was restarted (by the watchdog?)");
}

Test(daemon, t02_list_status_tree_top, .init = setup, .timeout = 120) {
        char *out = NULL;

        cr_assert_eq(tb_sh(&out, CTL " list"), 0, "%s", out);
        cr_assert(strstr(out, "TENANT") && strstr(out, "web") && strstr(out, "db") && strstr(out, "batch"), "%s", out);
        cr_assert_null(strstr(out, "not running"), "%s", out);
        cr_assert(strstr(out, "64M"), "web's memory.max in the list: %s", out);

        cr_assert_eq(tb_sh(&out, CTL " --json list"), 0, "%s", out);
        cr_assert(strstr(out, "\"id\":\"db\"") && strstr(out, "\"memory.min\":100663296"), "%s", out);

        cr_assert_eq(tb_sh(&out, CTL " status web"), 0, "%s", out);
        cr_assert(strstr(out, "tenant-web.service") && strstr(out, "state:     running"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " --json status db"), 0, "%s", out);
        cr_assert(strstr(out, "\"plan\"") && strstr(out, "\"live\"") && strstr(out, "\"memory_min\":100663296"), "%s", out);

        cr_assert_eq(tb_sh(&out, CTL " status nosuch"), 2, "%s", out);
        cr_assert(strstr(out, "no tenant 'nosuch'"), "%s", out);

        cr_assert_eq(tb_sh(&out, CTL " tree"), 0, "%s", out);
        cr_assert(strstr(out, "tenant-db.service") && strstr(out, "min=96M"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " --json tree"), 0, "%s", out);
        cr_assert(strstr(out, "\"name\":\"tenants.slice\"") && strstr(out, "\"name\":\"tenant-db.service\"") &&
                          strstr(out, "\"memory.min\":100663296"),
                  "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " --json top --iterations 1"), 0, "%s", out);
        cr_assert(out[0] == '[' && strstr(out, "\"id\":\"web\"") && strstr(out, "\"pressure.some.avg10\""), "%s", out);

        cr_assert_eq(tb_sh(&out, CTL " top --iterations 2 --interval 200ms"), 0, "%s", out);
        cr_assert(strstr(out, "tenantctl top") && strstr(out, "web"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " top --interval 1ms"), 2, "%s", out);
        cr_assert(strstr(out, "--interval: expected a duration of at least 100ms, got '1ms'"), "%s", out);
}

Test(daemon, t03_reassign_changes_kernel_and_refuses_bad_input, .init = setup, .timeout = 180) {
        char *out = NULL;

        cr_assert_eq(tb_sh(&out, CTL " reassign web --limit 80M"), 0, "%s", out);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), 80u << 20);
        cr_assert_eq(tb_sh(&out, CTL " reassign db --request 112M"), 0, "%s", out);
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice", "memory.min"), 112u << 20, "the sum follows a reassign");
        cr_assert_eq(tb_check_ancestor_sums(CG, "tenants.slice", "memory.min"), 0);
        cr_assert_eq(tb_sh(&out, CTL " reassign db --request ''"), 0, "%s", out);
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice", "memory.min"), 96u << 20);
        /* persisted for a restart */
        tb_sh(&out, "cat /run/tenantd/overrides");
        cr_assert(strstr(out, "[web]") && strstr(out, "limit = 80M"), "%s", out);

        /* invalid: nothing changes, exit 2, the bad value quoted */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --class gold"), 2, "%s", out);
        cr_assert(strstr(out, "web.class: unknown class, known: critical, high, normal, low, besteffort (gold)"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " reassign web --request 100M"), 2, "%s", out);
        cr_assert(strstr(out, "request") && strstr(out, "limit"), "request above the limit: %s", out);
        cr_assert_eq(tb_sh(&out, CTL " reassign web --limit lots"), 2, "%s", out);
        cr_assert(strstr(out, "web.limit: expected a size, e.g. 512M, 2G, 25% or max (lots)"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " reassign web"), 2, "%s", out);
        cr_assert(strstr(out, "nothing to change"), "%s", out);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), 80u << 20, "a refused reassign changed the kernel");
        /* admission: a request that cannot be guaranteed is refused with exit 3 */
        cr_assert_eq(tb_sh(&out, CTL " reassign db --request 4G --limit 4G"), 3, "%s", out);
        cr_assert(strstr(out, "db"), "%s", out);
        cr_assert_eq(tb_cg_u64(CG, db_cg, "memory.min"), 96u << 20);

        /* "" goes back to the file's value */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --limit ''"), 0, "%s", out);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), 64u << 20);

        /* CPUs and nodes: a count needs NUMA placement (web has no [numa]), a
         * list pins, nodes bind the memory (strict) */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --cpus 1"), 2, "%s", out);
        cr_assert(strstr(out, "cpu.cpus: a count of CPUs is placed on the tenant's NUMA nodes") && strstr(out, "(1)"),
                  "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " reassign web --cpus 1-1"), 0, "%s", out);
        cr_assert_str_eq(tb_cg_read(CG, web_cg, "cpuset.cpus"), "1");
        tb_sh(&out, "systemctl show -p AllowedCPUs --value tenant-web.service");
        cr_assert_str_eq(out, "1");
        cr_assert_eq(tb_sh(&out, CTL " reassign web --nodes 1"), 0, "%s", out);
        cr_assert_str_eq(tb_cg_read(CG, web_cg, "cpuset.mems"), "1");
        /* nodes the host does not have: invalid input (2), named */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --nodes 7"), 2, "%s", out);
        cr_assert(strstr(out, "numa.nodes: nodes 7 do not exist on this host (its nodes: 0-1)"), "%s", out);
        cr_assert_str_eq(tb_cg_read(CG, web_cg, "cpuset.mems"), "1", "a refused reassign changed the kernel");
        /* taken away, the pin is gone from the unit and from the kernel */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --cpus '' --nodes ''"), 0, "%s", out);
        tb_sh(&out, "systemctl show -p AllowedCPUs -p AllowedMemoryNodes tenant-web.service");
        cr_assert_str_eq(out, "AllowedCPUs=\nAllowedMemoryNodes=");
        cr_assert(tb_attr_matches(tb_cg_read(CG, web_cg, "cpuset.cpus"), ""), "cpuset.cpus = '%s'",
                  tb_cg_read(CG, web_cg, "cpuset.cpus"));
        cr_assert(tb_attr_matches(tb_cg_read(CG, web_cg, "cpuset.mems"), ""), "cpuset.mems = '%s'",
                  tb_cg_read(CG, web_cg, "cpuset.mems"));
        cr_assert_eq(tb_sh(&out, "grep -q '^Cpus_allowed_list:.*0-1$' /proc/$(systemctl show -p MainPID --value tenant-web.service)/status"),
                     0, "web still runs on one CPU only");

        /* a class: not while the unit runs (systemd cannot move it); stopped, it moves */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --class low"), 1, "%s", out);
        cr_assert(strstr(out, "systemd cannot move a running unit to another slice"), "%s", out);
        cr_assert(tb_cg_exists(CG, web_cg));
        cr_assert_eq(tb_sh(&out, CTL " stop web && " CTL " reassign web --class low && " CTL " start web"), 0, "%s",
                     out);
        cr_assert_eq(wait_for("web in the low slice", 20, "systemctl is-active -q tenant-web.service"), 0);
        tb_sh(&out, "systemctl show -p Slice --value tenant-web.service");
        cr_assert_str_eq(out, "tenants-low.slice");
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice/tenants-low.slice/tenant-web.service", "memory.low"), 0,
                     "class low protects nothing");
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice/tenants-normal.slice", "memory.low"), 0, "the old slice's sum");
        /* PITFALLS 3 after a reassign: every parent still covers its children */
        cr_assert_eq(tb_check_ancestor_sums(CG, "tenants.slice", "memory.min"), 0);
        cr_assert_eq(tb_check_ancestor_sums(CG, "tenants.slice", "memory.low"), 0);
        cr_assert_eq(tb_sh(&out, CTL " stop web && " CTL " reassign web --class '' && " CTL " start web"), 0, "%s",
                     out);
        cr_assert_eq(wait_for("web back in normal", 20, "systemctl is-active -q tenant-web.service"), 0);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.low"), 32u << 20);
        cr_assert(tb_attr_matches(tb_cg_read(CG, web_cg, "cpuset.cpus"), ""), "the pin came back with the unit");

        /* apply with a directory */
        cr_assert_eq(tb_sh(&out, CTL " apply " ETC), 0, "%s", out);
        cr_assert(strstr(out, "3 tenants (systemd)"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " apply /nonexistent"), 2, "%s", out);
        cr_assert_str_eq(out, "tenantctl apply: cannot use '/nonexistent': No such file or directory");
        /* the value the next test expects */
        cr_assert_eq(tb_sh(&out, CTL " reassign web --limit 72M"), 0, "%s", out);
}

Test(daemon, t04_stop_start_adopt, .init = setup, .timeout = 180) {
        char *out = NULL;
        pid_t pid;

        cr_assert_eq(tb_sh(&out, CTL " stop web"), 0, "%s", out);
        cr_assert_eq(wait_for("web stopped", 20, "! systemctl is-active -q tenant-web.service"), 0);
        cr_assert_eq(tb_sh(&out, CTL " status web"), 0, "%s", out);
        cr_assert(strstr(out, "stopped"), "%s", out);
        /* a re-apply does not bring a stopped tenant back */
        cr_assert_eq(tb_sh(&out, CTL " apply"), 0, "%s", out);
        cr_assert_neq(tb_sh(NULL, "systemctl is-active -q tenant-web.service"), 0, "apply restarted a stopped tenant");

        cr_assert_eq(tb_sh(&out, CTL " start web"), 0, "%s", out);
        cr_assert_eq(wait_for("web running", 20, "systemctl is-active -q tenant-web.service"), 0);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), 72u << 20, "the reassigned limit is back with the unit");
        /* the start event names web's class (the apply before it replaced the plan) */
        cr_assert_eq(tb_sh(&out, CTL " --json events | grep '\"action\":\"start\"' | tail -n 1"), 0, "%s", out);
        cr_assert(strstr(out, "\"tenant\":\"web\",\"class\":\"normal\",\"action\":\"start\""), "%s", out);

        cr_assert_eq(tb_sh(&out, CTL " start batch"), 2, "%s", out);
        cr_assert(strstr(out, "nothing to start"), "%s", out);

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                execlp("sleep", "sleep", "600", (char *) NULL);
                _exit(127);
        }
        cr_assert_eq(tb_sh(&out, CTL " adopt batch %d", (int) pid), 0, "%s", out);
        tb_sh(&out, "cat /proc/%d/cgroup", (int) pid);
        cr_assert(strstr(out, batch_cg), "adopted pid in %s", out);
        cr_assert_eq(tb_cg_u64(CG, batch_cg, "memory.max"), 48u << 20);
        cr_assert_eq(tb_sh(&out, CTL " adopt batch 999999"), 2, "%s", out);
        cr_assert(strstr(out, "no such process: 999999"), "%s", out);
}

Test(daemon, t05_events_and_journal_fields, .init = setup, .timeout = 120) {
        char *out = NULL;

        cr_assert_eq(tb_sh(&out, CTL " events"), 0, "%s\njournal:\n%s", out, journal_tail());
        cr_assert(strstr(out, "apply") && strstr(out, "reassign") && strstr(out, "limit=80M"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " --json events"), 0, "%s", out);
        cr_assert(strstr(out, "\"action\":\"stop\"") && strstr(out, "\"tenant\":\"web\""), "%s", out);
        /* --follow sees an event that happens while it runs */
        tb_sh(&out, "(timeout 15 " CTL " events --follow > /tmp/follow.out &) ; sleep 2; " CTL " reassign web --limit 76M; sleep 2; cat /tmp/follow.out");
        cr_assert(strstr(out, "operator: limit=76M"), "follow: %s", out);
        /* the journal has the structured fields */
        cr_assert_eq(wait_for("journal entry", 10, "journalctl -u tenantd TENANT=web ACTION=reassign --no-pager -q | grep -q web"),
                     0);
}

Test(daemon, t06_policy_edit_is_applied_by_inotify_and_sighup, .init = setup, .timeout = 120) {
        char *out = NULL;

        tb_sh(NULL, CTL " reassign web --limit ''");
        cr_assert_eq(tb_sh(&out, "sed -i 's/^limit = 48M/limit = 40M/' %s/tenants/batch.ini", ETC), 0, "%s", out);
        cr_assert_eq(wait_for("batch memory.max 40M", 15, "test $(cat %s/%s/memory.max) = %u", CG, batch_cg, 40u << 20), 0);
        /* a broken edit is refused and the previous state stays */
        tb_sh(NULL, "echo 'limit = lots' >> %s/tenants/batch.ini", ETC);
        sleep(3);
        cr_assert_eq(tb_cg_u64(CG, batch_cg, "memory.max"), 40u << 20);
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd"), 0, "the daemon died on a bad edit: %s", out);
        tb_sh(&out, CTL " events");
        cr_assert(strstr(out, "apply-failed"), "%s", out);
        tb_sh(NULL, "sed -i '$d' %s/tenants/batch.ini", ETC);
        /* systemctl reload = SIGHUP */
        cr_assert_eq(tb_sh(&out, "systemctl reload tenantd"), 0, "%s", out);
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd"), 0, "%s", out);
}

Test(daemon, t07_kill9_restart_leaves_tenants_alone, .init = setup, .timeout = 180) {
        char *before_pids = NULL, *after_pids = NULL, *out = NULL, *old = NULL;
        uint64_t web_max, db_min;

        cr_assert_eq(tb_sh(&out, CTL " reassign web --limit 70M"), 0, "%s\njournal:\n%s", out, journal_tail());
        web_max = tb_cg_u64(CG, web_cg, "memory.max");
        db_min = tb_cg_u64(CG, db_cg, "memory.min");
        cr_assert_eq(web_max, 70u << 20);
        tb_sh(&before_pids, "cat %s/%s/cgroup.procs %s/%s/cgroup.procs %s/%s/cgroup.procs", CG, web_cg, CG, db_cg, CG,
              batch_cg);
        old = strdup(main_pid());
        cr_assert_eq(tb_sh(&out, "kill -9 %s", old), 0, "%s", out);
        cr_assert_eq(wait_for("tenantd restarted", 30,
                              "test \"$(systemctl show -p MainPID --value tenantd)\" != %s && "
                              "test \"$(systemctl show -p MainPID --value tenantd)\" != 0 && systemctl is-active -q tenantd",
                              old),
                     0);
        cr_assert_eq(wait_for("tenantd ready", 30, CTL " list >/dev/null 2>&1"), 0);
        tb_sh(&after_pids, "cat %s/%s/cgroup.procs %s/%s/cgroup.procs %s/%s/cgroup.procs", CG, web_cg, CG, db_cg, CG,
              batch_cg);
        cr_assert_str_eq(after_pids, before_pids, "tenant processes changed across the restart");
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), web_max, "the override was lost");
        cr_assert_eq(tb_cg_u64(CG, db_cg, "memory.min"), db_min);
        /* the restart applied and changed nothing */
        tb_sh(&out, CTL " events");
        cr_assert(strstr(out, "0 created, 0 writes, 0 removed, 0 started"), "the restart changed something: %s", out);
        free(old);
}

Test(daemon, t08_readers_read_strangers_and_readers_cannot_change, .init = setup, .timeout = 120) {
        char *out = NULL;

        cr_assert_eq(tb_sh(&out, "getent group tenantd >/dev/null || groupadd -r tenantd; "
                                 "id reader >/dev/null 2>&1 || useradd -M -G tenantd reader; "
                                 "id stranger >/dev/null 2>&1 || useradd -M stranger"),
                     0, "%s", out);
        cr_assert_eq(tb_sh(&out, "runuser -u reader -- " CTL " list"), 0, "%s", out);
        cr_assert(strstr(out, "web") && !strstr(out, "not running"), "%s", out);
        cr_assert_eq(tb_sh(&out, "runuser -u reader -- " CTL " status db"), 0, "%s", out);

        cr_assert_eq(tb_sh(&out, "runuser -u reader -- " CTL " stop web"), 4, "%s", out);
        cr_assert(strstr(out, "denied") || strstr(out, "only root"), "%s", out);
        cr_assert_eq(tb_sh(&out, "runuser -u reader -- " CTL " reassign web --limit 1G"), 4, "%s", out);
        cr_assert_eq(tb_sh(&out, "runuser -u reader -- " CTL " apply"), 4, "%s", out);
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), 70u << 20);
        cr_assert_eq(tb_sh(NULL, "systemctl is-active -q tenant-web.service"), 0, "a reader stopped a tenant");

        cr_assert_eq(tb_sh(&out, "runuser -u stranger -- " CTL " list"), 4, "%s", out);
        cr_assert(strstr(out, "neither root nor in group 'tenantd'"), "%s", out);
        cr_assert_eq(tb_sh(&out, "runuser -u stranger -- " CTL " stop db"), 4, "%s", out);
}

Test(daemon, t09_stop_daemon_keeps_tenants_and_fallback_reads, .init = setup, .timeout = 120) {
        char *out = NULL, *pids = NULL;

        tb_sh(&pids, "cat %s/%s/cgroup.procs", CG, db_cg);
        cr_assert_eq(tb_sh(&out, "systemctl stop tenantd"), 0, "%s", out);
        tb_sh(&out, "cat %s/%s/cgroup.procs", CG, db_cg);
        cr_assert_str_eq(out, pids, "stopping tenantd stopped a tenant");
        /* read-only verbs fall back to the hierarchy and say so */
        cr_assert_eq(tb_sh(&out, CTL " list"), 0, "%s", out);
        cr_assert(strstr(out, "tenantd is not running; read from /sys/fs/cgroup/tenants.slice directly"), "%s", out);
        cr_assert(strstr(out, "db") && strstr(out, "critical"), "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " stop db"), 5, "%s", out);
        cr_assert(strstr(out, "tenantd is not running"), "%s", out);
        cr_assert_eq(tb_sh(&out, "systemctl start tenantd"), 0, "%s", out);
}

/* ---- robustness and access (issue 9) ------------------------------------------------------ */

static const char *const web_leaf_attrs[] = { "memory.min", "memory.low", "memory.high", "memory.max", "cpu.weight" };

/* A tenant's own leaf is no channel into tenantd. As root (more than a tenant
 * process may do): overwrite the tenant's limits in its leaf, try to enable
 * controllers there, nest a cgroup named like a tenant in it and set xattrs
 * on it; then apply. tenantd writes its planned values back, lists no new
 * tenant and reads nothing of what was planted. */
Test(daemon, t10_tenant_leaf_cannot_steer_tenantd, .init = setup, .timeout = 180) {
        static const char *const planted[] = { "268435456", "536870912", "max", "max", "10000" };
        static const char *const xattrs[][2] = {
                { "user.tenantd.class", "critical" },
                { "user.tenantd.limit", "max" },
                { "trusted.tenantd.request", "1G" },
                { "user.delegate", "1" },
        };
        char want[ELEMENTSOF(web_leaf_attrs)][64], leaf[512], nested[512];
        char *out = NULL;
        bool xattrs_ok = true;

        cr_assert_eq(wait_for("tenantd ready", 30, CTL " list >/dev/null 2>&1"), 0);
        snprintf(leaf, sizeof(leaf), "%s/%s", CG, web_cg);
        snprintf(nested, sizeof(nested), "%s/tenant-evil.scope", web_cg);
        for (size_t i = 0; i < ELEMENTSOF(web_leaf_attrs); i++) {
                snprintf(want[i], sizeof(want[i]), "%s", tb_cg_read(CG, web_cg, web_leaf_attrs[i]));
                cr_assert_str_neq(want[i], planted[i], "pick another value to plant for %s", web_leaf_attrs[i]);
                tb_cg_write(CG, web_cg, web_leaf_attrs[i], planted[i]);
                cr_assert_str_eq(tb_cg_read(CG, web_cg, web_leaf_attrs[i]), planted[i]);
        }
        /* the leaf holds the service's processes: the kernel refuses, tenantd never tries */
        cr_assert_neq(tb_sh(&out, "echo +memory > %s/cgroup.subtree_control", leaf), 0, "%s", out);
        tb_cg_mkdir(CG, nested);
        for (size_t i = 0; i < ELEMENTSOF(xattrs) && xattrs_ok; i++)
                if (setxattr(leaf, xattrs[i][0], xattrs[i][1], strlen(xattrs[i][1]), 0) < 0) {
                        cr_log_warn("setxattr %s on %s: %s; the xattr part is skipped", xattrs[i][0], leaf, strerror(errno));
                        xattrs_ok = false;
                }

        cr_assert_eq(tb_sh(&out, CTL " apply"), 0, "%s", out);
        for (size_t i = 0; i < ELEMENTSOF(web_leaf_attrs); i++)
                cr_assert_str_eq(tb_cg_read(CG, web_cg, web_leaf_attrs[i]), want[i], "%s was not put back",
                                 web_leaf_attrs[i]);
        cr_assert_eq(tb_sh(&out, CTL " --json list"), 0, "%s", out);
        cr_assert_null(strstr(out, "evil"), "a cgroup nested in a leaf became a tenant: %s", out);
        cr_assert_eq(tb_sh(&out, CTL " --json status web"), 0, "%s", out);
        cr_assert(strstr(out, "\"class\":\"normal\""), "%s", out);
        cr_assert_null(strstr(out, "critical"), "an xattr changed web's class: %s", out);
        /* the tenant's own subtree is its business: left as it is */
        cr_assert(tb_cg_exists(CG, nested), "tenantd removed a cgroup inside a tenant's leaf");
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd tenant-web.service"), 0, "%s", out);

        /* a second apply finds nothing to do: nothing planted is read back as a change */
        cr_assert_eq(tb_sh(&out, CTL " apply"), 0, "%s", out);
        cr_assert(strstr(out, " 0 writes"), "%s", out);

        for (size_t i = 0; i < ELEMENTSOF(xattrs) && xattrs_ok; i++)
                (void) removexattr(leaf, xattrs[i][0]);
        cr_assert_eq(tb_sh(&out, "rmdir %s/%s", CG, nested), 0, "%s", out);
}

static pid_t spawn_sleep(void) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                execlp("sleep", "sleep", "600", (char *) NULL);
                _exit(127);
        }
        return pid;
}

/* A mutating call as busctl and dbus-send write it (dbus-send cannot write
 * Reassign's a(ss): NULL). */
typedef struct BusCall {
        char busctl[128];
        char dbus_send[128];
} BusCall;

/* Each call made by user fails: busctl exits 1 with "Access denied", which
 * it prints for the error org.freedesktop.DBus.Error.AccessDenied only;
 * dbus-send shows that name and the message: the bus policy's "Rejected send
 * message", or (by_tenantd) tenantd's own check, which names the caller. */
static void assert_calls_refused(const char *user, const BusCall *calls, size_t n, bool by_tenantd) {
        char *out = NULL, *uid = NULL, want[160];

        tb_sh(&uid, "id -u %s", user);
        snprintf(want, sizeof(want), "Error org.freedesktop.DBus.Error.AccessDenied: %s%s%s",
                 by_tenantd ? "only root may change tenants (caller uid " : "Rejected send message",
                 by_tenantd ? uid : "", by_tenantd ? ")" : "");
        for (size_t c = 0; c < n; c++) {
                cr_assert_eq(tb_sh(&out, "runuser -u %s -- busctl call org.tenantd1 /org/tenantd1 org.tenantd1.Manager %s",
                                   user, calls[c].busctl),
                             1, "%s %s: %s", user, calls[c].busctl, out);
                cr_assert(strstr(out, "Call failed: Access denied"), "%s %s: %s", user, calls[c].busctl, out);
                if (!calls[c].dbus_send[0])
                        continue;
                cr_assert_neq(tb_sh(&out, "runuser -u %s -- dbus-send --system --print-reply --dest=org.tenantd1 /org/tenantd1 "
                                          "org.tenantd1.Manager.%s",
                                    user, calls[c].dbus_send),
                              0, "%s", out);
                cr_assert(strstr(out, want), "%s %s: %s", user, calls[c].dbus_send, out);
        }
        free(uid);
}

/* Every mutating D-Bus method, called directly with busctl by a member of the
 * read group and by a stranger: refused by the bus policy, and refused by
 * tenantd itself when the bus lets the call through. Nothing changes. */
Test(daemon, t11_mutating_methods_refuse_readers_and_strangers, .init = setup, .timeout = 240) {
        static const char *const users[] = { "reader", "stranger" };
        static const char open_policy[] = "/etc/dbus-1/system.d/zz-test-daemon-open.conf";
        BusCall calls[5] = {
                { "Apply s ''", "Apply string:" },
                { "Reassign 'sa(ss)' web 1 limit 1G", "" },
                { "Start s web", "Start string:web" },
                { "Stop s web", "Stop string:web" },
        };
        char *out = NULL, *before = NULL, *after = NULL;
        pid_t victim = spawn_sleep();
        uint64_t web_max;

        cr_assert_eq(wait_for("tenantd ready", 30, CTL " list >/dev/null 2>&1"), 0);
        cr_assert_eq(tb_sh(&out, "getent group tenantd >/dev/null || groupadd -r tenantd; "
                                 "id reader >/dev/null 2>&1 || useradd -M -G tenantd reader; "
                                 "id stranger >/dev/null 2>&1 || useradd -M stranger"),
                     0, "%s", out);
        snprintf(calls[4].busctl, sizeof(calls[4].busctl), "Adopt sau batch 1 %d", (int) victim);
        snprintf(calls[4].dbus_send, sizeof(calls[4].dbus_send), "Adopt string:batch array:uint32:%d", (int) victim);
        web_max = tb_cg_u64(CG, web_cg, "memory.max");
        tb_sh(&before, CTL " --json events");

        /* the bus policy (org.tenantd1.conf) */
        for (size_t u = 0; u < ELEMENTSOF(users); u++)
                assert_calls_refused(users[u], calls, ELEMENTSOF(calls), false);
        /* tenantd's own check: let everyone through the bus for a moment */
        cr_assert_eq(tb_sh(&out, "printf '%%s\\n' '<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"' "
                                 "'\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">' "
                                 "'<busconfig><policy context=\"default\"><allow send_destination=\"org.tenantd1\"/></policy></busconfig>' "
                                 "> %s && busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig",
                           open_policy),
                     0, "%s", out);
        for (size_t u = 0; u < ELEMENTSOF(users); u++)
                assert_calls_refused(users[u], calls, ELEMENTSOF(calls), true);
        cr_assert_eq(tb_sh(&out, "rm -f %s && busctl call org.freedesktop.DBus /org/freedesktop/DBus "
                                 "org.freedesktop.DBus ReloadConfig",
                           open_policy),
                     0, "%s", out);

        /* nothing happened */
        cr_assert_eq(tb_cg_u64(CG, web_cg, "memory.max"), web_max);
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd tenant-web.service"), 0, "%s", out);
        tb_sh(&out, "cat /proc/%d/cgroup", (int) victim);
        cr_assert_null(strstr(out, "tenant-batch"), "a refused Adopt moved the process: %s", out);
        tb_sh(&after, CTL " --json events");
        cr_assert_str_eq(after, before, "a refused call left an event");
        kill(victim, SIGKILL);
        tb_reap(victim);
}

/* Names that try to leave the hierarchy, through the daemon: every verb fails
 * cleanly with exit 2 and the name quoted, and no cgroup appears anywhere. */
Test(daemon, t12_escaping_names_fail_cleanly, .init = setup, .timeout = 240) {
        static const char *const ids[] = {
                "../web", "..", "/", "/sys/fs/cgroup", ".hidden", "memory.max", "cgroup.procs", "tenants.slice",
                "web/../db", "w\xc3\xa9" "b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        };
        char *out = NULL, *before = NULL, *after = NULL;
        pid_t victim = spawn_sleep();

        cr_assert_eq(wait_for("tenantd ready", 30, CTL " list >/dev/null 2>&1"), 0);
        tb_sh(&before, "find %s/tenants.slice -type d | sort; ls -a %s", CG, CG);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                char want[256];

                snprintf(want, sizeof(want), "no tenant '%s'", ids[i]);
                cr_assert_eq(tb_sh(&out, CTL " status '%s'", ids[i]), 2, "status %s: %s", ids[i], out);
                cr_assert(strstr(out, want), "status %s: %s", ids[i], out);
                cr_assert_eq(tb_sh(&out, CTL " adopt '%s' %d", ids[i], (int) victim), 2, "adopt %s: %s", ids[i], out);
                cr_assert(strstr(out, want), "adopt %s: %s", ids[i], out);
                cr_assert_eq(tb_sh(&out, CTL " reassign '%s' --limit 1G", ids[i]), 2, "reassign %s: %s", ids[i], out);
                cr_assert(strstr(out, want), "reassign %s: %s", ids[i], out);
                cr_assert_eq(tb_sh(&out, CTL " stop '%s'", ids[i]), 2, "stop %s: %s", ids[i], out);
                cr_assert(strstr(out, want), "stop %s: %s", ids[i], out);
                cr_assert_eq(tb_sh(&out, CTL " start '%s'", ids[i]), 2, "start %s: %s", ids[i], out);
                cr_assert(strstr(out, want), "start %s: %s", ids[i], out);
                cr_assert_eq(tb_sh(&out, CTL " --json status '%s'", ids[i]), 2, "status --json %s: %s", ids[i], out);
        }
        tb_sh(&after, "find %s/tenants.slice -type d | sort; ls -a %s", CG, CG);
        cr_assert_str_eq(after, before, "a cgroup was created or removed");
        tb_sh(&out, "cat /proc/%d/cgroup", (int) victim);
        cr_assert_null(strstr(out, "tenants.slice"), "%s", out);
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd"), 0, "%s", out);
        kill(victim, SIGKILL);
        tb_reap(victim);
}

/* A policy file whose name is not UTF-8 as D-Bus counts it (a UTF-16
 * surrogate) is refused, and the event that quotes its name must not break
 * GetEvents: D-Bus refuses a reply with such a string. */
Test(daemon, t13_events_survive_a_file_name_that_is_not_utf8, .init = setup, .timeout = 120) {
        char path[256], *out = NULL;
        FILE *f;

        cr_assert_eq(wait_for("tenantd ready", 30, CTL " list >/dev/null 2>&1"), 0);
        snprintf(path, sizeof(path), "%s/tenants/x\xed\xa0\x80.ini", ETC);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        fputs("[tenant]\nclass = low\n[memory]\nrequest = 16M\n", f);
        fclose(f);
        /* picked up by inotify; the event names the file with '?' for each byte */
        cr_assert_eq(wait_for("the apply-failed event", 20, CTL " events | grep -q 'x???\\.ini'"), 0);
        cr_assert_eq(tb_sh(&out, CTL " --json events"), 0, "%s", out);
        cr_assert_eq(tb_sh(&out, CTL " list"), 0, "%s", out);
        cr_assert_eq(unlink(path), 0);
        cr_assert_eq(tb_sh(&out, CTL " apply"), 0, "%s", out);
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd"), 0, "%s", out);
}

/* A kernel refusal in the middle of an apply, through the daemon: with
 * tenants.slice's cgroup.max.descendants reached, systemd cannot create the
 * new tenant's cgroup (the service fails with status 219). The apply is
 * rolled back with that reason, the daemon keeps running, the other tenants
 * are untouched, and once the limit is lifted the same apply goes through. */
Test(daemon, t14_kernel_refusal_rolls_back_and_the_daemon_goes_on, .init = setup, .timeout = 180) {
        char *out = NULL, *pids = NULL, *pids_after = NULL, nr[32];
        const char *stat;

        tb_sh(&pids, "cat %s/%s/cgroup.procs %s/%s/cgroup.procs", CG, web_cg, CG, db_cg);
        stat = tb_cg_read(CG, "tenants.slice", "cgroup.stat");
        cr_assert_eq(sscanf(strstr(stat, "nr_descendants"), "nr_descendants %31s", nr), 1);
        tb_cg_write(CG, "tenants.slice", "cgroup.max.descendants", nr);
        cr_assert_eq(tb_sh(&out, "printf '[tenant]\\nclass = low\\nexec = /bin/sleep 3600\\n[memory]\\nrequest = 8M\\n"
                                 "limit = 16M\\n' > %s/tenants/extra.ini",
                           ETC),
                     0, "%s", out);
        /* inotify applies it (and fails) on its own; tenantctl apply says why */
        sleep(3);
        cr_assert_eq(tb_sh(&out, CTL " apply"), 1, "%s", out);
        cr_assert(strstr(out, "tenant 'extra' (tenant-extra.service): start job failed: the unit's result is "
                              "'exit-code' (main process status 219: systemd could not put it into its cgroup"),
                  "%s", out);
        cr_assert(strstr(out, "rolled back"), "%s", out);
        cr_assert_eq(tb_sh(&out, "systemctl is-active tenantd"), 0, "the daemon stopped: %s", out);
        cr_assert_neq(tb_sh(NULL, "systemctl is-active -q tenant-extra.service"), 0);
        tb_sh(&pids_after, "cat %s/%s/cgroup.procs %s/%s/cgroup.procs", CG, web_cg, CG, db_cg);
        cr_assert_str_eq(pids_after, pids, "the other tenants were disturbed");
        tb_sh(&out, CTL " events");
        cr_assert(strstr(out, "apply-failed") && strstr(out, "status 219"), "%s", out);

        tb_cg_write(CG, "tenants.slice", "cgroup.max.descendants", "max");
        cr_assert_eq(tb_sh(&out, CTL " apply"), 0, "%s", out);
        cr_assert_eq(wait_for("extra running", 20, "systemctl is-active -q tenant-extra.service"), 0);
        cr_assert_eq(tb_cg_u64(CG, "tenants.slice/tenants-low.slice/tenant-extra.service", "memory.max"), 16u << 20);
        /* and away again */
        cr_assert_eq(tb_sh(&out, "rm %s/tenants/extra.ini && " CTL " apply", ETC), 0, "%s", out);
        cr_assert_eq(wait_for("extra gone", 20, "! systemctl is-active -q tenant-extra.service"), 0);
}
