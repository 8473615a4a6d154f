/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QMP client (ctl/qmp.c) against a real QEMU: a tiny TCG guest booted
 * directly on the host by tests/qemu/tiny-vm (installed Debian kernel, busybox
 * initramfs that loads virtio_balloon), 256 MiB of RAM. Shows `actual`
 * shrinking after a balloon request, stop/cont in query-status, the guest
 * powering off on system_powerdown, quit, and QEMU's DeviceNotActive error.
 * SKIPs, saying why, when qemu, the kernel, its modules or busybox are missing.
 *
 * Suite 'qemu' (meson test --suite qemu): it boots VMs, so it is not a unit
 * test, and it runs on the host, not in the testbed (nested TCG is ~40x slower).
 *
 * The last test drives the reaction ladder (ctl/react.c) with this real VM as
 * a besteffort tenant beside a container tenant: pressure (simulated: the
 * host has no cgroup2 memory controller) balloons the VM down before anything
 * is frozen, freezes it with QMP stop, and recovery continues it and deflates
 * it again; eviction presses its power button. The containers' cgroups are a
 * fixture tree (tests/fake-cgroupfs.c).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fake-cgroupfs.h"
#include "plan.h"
#include "qmp.h"
#include "react.h"

#define MiB (UINT64_C(1) << 20)
#define SEC (UINT64_C(1000000))

static const char *tiny_vm(void) {
        return SOURCE_ROOT "/tests/qemu/tiny-vm";
}

/* SKIP unless tiny-vm finds qemu, a kernel with modules, and busybox. */
static void require_qemu(void) {
        char cmd[1024], out[1024] = "";
        size_t n;
        FILE *p;
        int st;

        snprintf(cmd, sizeof(cmd), "'%s' --check 2>&1", tiny_vm());
        p = popen(cmd, "r");
        cr_assert_not_null(p);
        n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = '\0';
        while (n > 0 && out[n - 1] == '\n')
                out[--n] = '\0';
        st = pclose(p);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                cr_skip_test("cannot boot a QEMU guest here: %s", out[0] ? out : "tiny-vm --check failed");
}

typedef struct Vm {
        pid_t pid;
        char dir[64];
        char sock[128];
        char console[128];
        char log[128];
        uint64_t started;
} Vm;

static void vm_start(Vm *vm, bool balloon) {
        snprintf(vm->dir, sizeof(vm->dir), "/tmp/tenantd-qmp.XXXXXX");
        cr_assert_not_null(mkdtemp(vm->dir));
        snprintf(vm->sock, sizeof(vm->sock), "%s/qmp.sock", vm->dir);
        snprintf(vm->console, sizeof(vm->console), "%s/console.log", vm->dir);
        snprintf(vm->log, sizeof(vm->log), "%s/qemu.log", vm->dir);
        vm->started = now_usec(CLOCK_MONOTONIC);
        vm->pid = fork();
        cr_assert_geq(vm->pid, 0);
        if (vm->pid == 0) {
                int fd = open(vm->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                /* qemu must not outlive a failed test */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (fd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                const char *argv[] = {
                        tiny_vm(), "--qmp", vm->sock, "--mem", "256", "--console", vm->console,
                        "--cache", BUILD_ROOT "/tests/qemu/cache", balloon ? NULL : "--no-balloon", NULL,
                };
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
}

static const char *file_text(const char *path) {
        static char buf[16384];
        size_t n = 0;
        FILE *f = fopen(path, "re");

        buf[0] = '\0';
        if (f) {
                n = fread(buf, 1, sizeof(buf) - 1, f);
                fclose(f);
        }
        buf[n] = '\0';
        return buf;
}

/* Exit status of the VM process if it ends within seconds, else -1. */
static int vm_wait_exit(Vm *vm, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 20; i++) {
                int st;
                pid_t r = waitpid(vm->pid, &st, WNOHANG);
                if (r == vm->pid) {
                        vm->pid = 0;
                        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
                usleep(50000);
        }
        return -1;
}

static void vm_cleanup(Vm *vm) {
        if (vm->pid > 0) {
                kill(vm->pid, SIGKILL);
                waitpid(vm->pid, NULL, 0);
                vm->pid = 0;
        }
        unlink(vm->sock);
        unlink(vm->console);
        unlink(vm->log);
        rmdir(vm->dir);
        vm->dir[0] = '\0';
}

/* The VM of the running test: .fini cleans up after a failed assertion too. */
static Vm the_vm;

static void vm_fini(void) {
        if (the_vm.dir[0])
                vm_cleanup(&the_vm);
}

static Qmp *vm_connect(Vm *vm) {
        Qmp *q = NULL;
        /* the first run builds the initramfs (a few seconds) before qemu starts */
        int r = qmp_connect(vm->sock, 90 * SEC, &q);
        cr_assert_eq(r, 0, "QMP connect to %s: %s\nqemu: %s", vm->sock, strerror(-r), file_text(vm->log));
        return q;
}

static bool console_has(Vm *vm, const char *marker, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 10; i++) {
                if (strstr(file_text(vm->console), marker))
                        return true;
                usleep(100000);
        }
        return false;
}

Test(qemu, balloon_stop_cont_powerdown, .timeout = 240, .fini = vm_fini) {
        _cleanup_free_ char *status = NULL;
        uint64_t actual = 0, before, t0, t_boot, elapsed = 0, lowest = UINT64_MAX;
        unsigned changes = 0;
        bool running = false;
        QmpMsg m;
        int r;

        require_qemu();
        vm_start(&the_vm, true);
        Qmp *q = vm_connect(&the_vm);
        qmp_set_timeout(q, 10 * SEC);

        /* the balloon driver is bound once the guest says so (virtio device id 5: balloon) */
        cr_assert(console_has(&the_vm, "tiny-vm: ready", 150), "the guest did not come up in 150 s; console:\n%s",
                  file_text(the_vm.console));
        t_boot = now_usec(CLOCK_MONOTONIC) - the_vm.started;
        cr_assert(strstr(file_text(the_vm.console), "balloon driver bound to device 0x0005"),
                  "virtio_balloon not bound:\n%s", file_text(the_vm.console));

        cr_assert_eq(qmp_query_balloon(q, &before), 0, "%s", qmp_last_error(q)->desc);
        cr_assert_eq(before, 256 * MiB);

        cr_assert_eq(qmp_balloon(q, 128 * MiB), 0, "balloon: %s", qmp_last_error(q)->desc);
        t0 = now_usec(CLOCK_MONOTONIC);
        while (now_usec(CLOCK_MONOTONIC) - t0 < 30 * SEC) {
                r = qmp_query_balloon(q, &actual);
                cr_assert_eq(r, 0, "query-balloon: %s", strerror(-r));
                if (actual < lowest)
                        lowest = actual;
                if (actual <= 140 * MiB) {
                        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
                        break;
                }
                usleep(100000);
        }
        /* and where it settles */
        for (unsigned i = 0; elapsed && i < 50 && actual > 128 * MiB; i++) {
                usleep(100000);
                cr_assert_eq(qmp_query_balloon(q, &actual), 0);
        }
        while (qmp_next_event(q, &m) > 0) {
                if (streq(m.event, "BALLOON_CHANGE"))
                        changes++;
                qmp_msg_done(&m);
        }
        fprintf(stderr,
                "qmp-balloon: guest up after %.1f s; balloon 256M -> 128M: actual %llu MiB -> %llu MiB in %.2f s, "
                "settled at %llu MiB (%u BALLOON_CHANGE events)\n",
                (double) t_boot / SEC, (unsigned long long) (before / MiB), (unsigned long long) (lowest / MiB),
                (double) (elapsed ? elapsed : now_usec(CLOCK_MONOTONIC) - t0) / SEC, (unsigned long long) (actual / MiB), changes);
        cr_assert_leq(lowest, 140 * MiB, "actual still %llu MiB after 30 s", (unsigned long long) (lowest / MiB));
        cr_assert_gt(changes, 0, "QEMU announces balloon moves with BALLOON_CHANGE events");

        /* stop -> paused, cont -> running */
        cr_assert_eq(qmp_stop(q), 0);
        cr_assert_eq(qmp_query_status(q, &running, &status), 0);
        cr_assert_str_eq(status, "paused");
        cr_assert(!running);
        cr_assert_eq(qmp_wait_event(q, "STOP", 5 * SEC, NULL), 0);
        free(status);
        status = NULL;
        cr_assert_eq(qmp_cont(q), 0);
        cr_assert_eq(qmp_query_status(q, &running, &status), 0);
        cr_assert_str_eq(status, "running");
        cr_assert(running);
        cr_assert_eq(qmp_wait_event(q, "RESUME", 5 * SEC, NULL), 0);

        /* the ACPI power button: the guest powers itself off, QEMU exits */
        t0 = now_usec(CLOCK_MONOTONIC);
        cr_assert_eq(qmp_system_powerdown(q), 0);
        r = qmp_wait_event(q, "SHUTDOWN", 30 * SEC, &m);
        cr_assert_eq(r, 0, "no SHUTDOWN event: %s; console:\n%s", strerror(-r), file_text(the_vm.console));
        json_object *guest;
        cr_assert(json_object_object_get_ex(m.value, "guest", &guest) && json_object_get_boolean(guest),
                  "the guest itself shut down");
        qmp_msg_done(&m);
        r = vm_wait_exit(&the_vm, 30);
        fprintf(stderr, "qmp-balloon: system_powerdown -> qemu exited (status %d) after %.2f s\n", r,
                (double) (now_usec(CLOCK_MONOTONIC) - t0) / SEC);
        cr_assert_eq(r, 0, "qemu did not exit cleanly after the guest powered off");
        r = qmp_query_status(q, &running, NULL);
        cr_assert_eq(r, -ECONNRESET, "the socket closed with QEMU: %s", strerror(-r));
        cr_assert_eq(qmp_query_status(q, &running, NULL), -ENOTCONN);
        qmp_free(q);
        vm_cleanup(&the_vm);
}

Test(qemu, no_balloon_device_then_quit, .timeout = 120, .fini = vm_fini) {
        uint64_t actual = 7;
        json_object *v, *qemu, *major;

        require_qemu();
        vm_start(&the_vm, false);
        Qmp *q = vm_connect(&the_vm);

        /* the greeting names QEMU's version */
        cr_assert(json_object_object_get_ex(qmp_greeting(q), "version", &v) &&
                  json_object_object_get_ex(v, "qemu", &qemu) && json_object_object_get_ex(qemu, "major", &major));
        cr_assert_geq(json_object_get_int(major), 5);

        /* QEMU's own error class and text come through */
        cr_assert_eq(qmp_query_balloon(q, &actual), -ENODEV);
        cr_assert_eq(actual, 7);
        cr_assert_str_eq(qmp_last_error(q)->error_class, "DeviceNotActive");
        cr_assert_str_eq(qmp_last_error(q)->desc, "No balloon device has been activated");
        cr_assert_eq(qmp_execute(q, "no-such-command", NULL, 5 * SEC, NULL), -EOPNOTSUPP);
        cr_assert_str_eq(qmp_last_error(q)->error_class, "CommandNotFound");

        cr_assert_eq(qmp_quit(q), 0);
        cr_assert_eq(vm_wait_exit(&the_vm, 20), 0, "qemu did not exit after quit");
        qmp_free(q);
        vm_cleanup(&the_vm);
}

/* ---- the reaction ladder with a real VM ------------------------------------------------ */

static uint64_t fake_now;
static char react_log[1024];

static uint64_t fake_clock(void *userdata) {
        return fake_now;
}

static void on_react(const ReactEvent *ev, void *userdata) {
        _cleanup_free_ char *line = react_event_format(ev);
        size_t l = strlen(react_log);

        fprintf(stderr, "qmp-react: %s\n", line ? line : "?");
        if (ev->action != REACT_NOTICE)
                snprintf(react_log + l, sizeof(react_log) - l, "%s%s %s%s", l ? ";" : "",
                         react_action_to_string(ev->action), ev->tenant, ev->error ? "!" : "");
}

static const char *react_steps(void) {
        static char copy[sizeof(react_log)];
        memcpy(copy, react_log, sizeof(copy));
        react_log[0] = '\0';
        return copy;
}

static void add_policy(PolicySet *s, const char *id, const char *text) {
        PolicyErrors errs = {0};

        s->tenants = realloc(s->tenants, (s->n_tenants + 1) * sizeof(TenantPolicy));
        cr_assert_not_null(s->tenants);
        cr_assert_eq(tenant_parse(text, strlen(text), id, id, &s->tenants[s->n_tenants++], &errs), 0, "%s: %s", id,
                     errs.n ? errs.v[0].problem : "");
        policy_errors_clear(&errs);
}

/* One step on pressure in class critical, a window after the previous one. */
static int critical_pressure(Reactor *r, PsiStats *st) {
        fake_now += 2 * SEC;
        st->some.total_usec += 500 * 1000;
        return reactor_pressure(r, "class:critical", st, fake_now);
}

/* query-balloon until actual is within 8M of want (the guest moves it). */
static uint64_t balloon_settles(Vm *vm, uint64_t want) {
        uint64_t actual = 0;
        Qmp *q = vm_connect(vm);

        for (int i = 0; i < 300; i++) {
                cr_assert_eq(qmp_query_balloon(q, &actual), 0);
                if (actual <= want + 8 * MiB && actual + 8 * MiB >= want)
                        break;
                usleep(100000);
        }
        qmp_free(q); /* QEMU serves one QMP client at a time: the reactor needs the socket */
        return actual;
}

static bool vm_running(Vm *vm) {
        bool running = false;
        Qmp *q = vm_connect(vm);
        cr_assert_eq(qmp_query_status(q, &running, NULL), 0);
        qmp_free(q);
        return running;
}

Test(qemu, reactor_balloons_the_vm_first_freezes_it_and_gives_it_back, .timeout = 300, .fini = vm_fini) {
        static const char *topo = "[host]\nmemory = 16G\npage_size = 4096\n[node0]\nmemory = 16G\ncpus = 0-3\n"
                                  "distances = 10\n";
        PolicySet set = {0};
        PolicyErrors errs = {0};
        HostTopology host;
        Plan plan = {0};
        FakeCg fake;
        CgfsHooks h;
        Cgfs *cg = NULL;
        Reactor *r = NULL;
        ReactTuning tun = react_tuning_default();
        PsiStats st = { .some = { .avg10 = 4000 }, .has_full = true };
        char *err = NULL, text[512];
        uint64_t t0;

        require_qemu();
        vm_start(&the_vm, true);
        qmp_free(vm_connect(&the_vm));
        cr_assert(console_has(&the_vm, "tiny-vm: ready", 150), "the guest did not come up:\n%s",
                  file_text(the_vm.console));

        /* db (critical) is under pressure; below it, in besteffort: the VM and a container */
        fake_cg_setup(&fake);
        policy_classes_default(&set.classes);
        host_config_default(&set.config);
        add_policy(&set, "ci", "[tenant]\nclass = besteffort\n[memory]\nrequest = 16M\nlimit = 512M\n");
        add_policy(&set, "db", "[tenant]\nclass = critical\n[memory]\nrequest = 128M\nlimit = 192M\n");
        snprintf(text, sizeof(text), "[tenant]\nkind = vm\nclass = besteffort\n[vm]\nmemory = 256M\nqmp = %s\n",
                 the_vm.sock);
        add_policy(&set, "dev", text);
        cr_assert_eq(topology_parse(topo, strlen(topo), &host, &err), 0, "%s", err);
        cr_assert_eq(plan_build(&set, &host, &plan, &errs), 0, "%s", errs.n ? errs.v[0].problem : "");
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);
        for (size_t i = 0; i < plan.n_nodes; i++) {
                cr_assert_eq(cgfs_create(cg, plan.nodes[i].path, NULL), 0);
                fake_cg_write(&fake, plan.nodes[i].path, "cgroup.events", "populated 1\nfrozen 1");
                fake_cg_write(&fake, plan.nodes[i].path, "cgroup.freeze", "0");
                fake_cg_write(&fake, plan.nodes[i].path, "memory.current",
                              plan.nodes[i].tenant >= 0 && streq(set.tenants[plan.nodes[i].tenant].id, "dev")
                                      ? "314572800" : "104857600");
        }
        cgfs_free(cg);

        /* balloon, then straight to freezing: throttling is covered elsewhere */
        tun.throttle_steps = 0;
        tun.reclaim_steps = 0;
        tun.balloon_floor_bp = 4000;
        tun.evict_timeout_usec = 60 * SEC;
        fake_now = 1000 * SEC;
        ReactorConfig cfg = { .cgroup_root = fake.root, .hooks = &h, .host_pressure = "", .tuning = &tun,
                              .clock = fake_clock };
        cr_assert_eq(reactor_new(&cfg, &r), 0);
        reactor_set_event_handler(r, on_react, NULL);
        cr_assert_eq(reactor_set_plan(r, &plan, &set), 0);

        /* 256M -> 192M -> 128M -> 102M (the floor, 40% of guest RAM: this guest
         * cannot give much more than that); the guest follows */
        for (int i = 0; i < 3; i++) {
                uint64_t want = i == 0 ? 192 * MiB : i == 1 ? 128 * MiB : 102 * MiB;
                cr_assert_eq(critical_pressure(r, &st), 1);
                t0 = now_usec(CLOCK_MONOTONIC);
                uint64_t actual = balloon_settles(&the_vm, want);
                fprintf(stderr, "qmp-react: balloon to %llu MiB: actual %llu MiB after %.2f s\n",
                        (unsigned long long) (want / MiB), (unsigned long long) (actual / MiB),
                        (double) (now_usec(CLOCK_MONOTONIC) - t0) / SEC);
                cr_assert_leq(actual, want + 8 * MiB);
        }
        /* then freezing: the VM (larger) with QMP stop, the container with cgroup.freeze */
        cr_assert_eq(critical_pressure(r, &st), 1);
        cr_assert_eq(critical_pressure(r, &st), 1);
        cr_assert_str_eq(react_steps(), "balloon dev;balloon dev;balloon dev;freeze dev;freeze ci");
        cr_assert(!vm_running(&the_vm), "QMP stop paused the guest");
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice/tenants-besteffort.slice/tenant-dev.service",
                                      "cgroup.freeze"),
                         "0", "a VM is not frozen through its cgroup");

        /* pressure gone: thaw, continue, deflate step by step back to 256M */
        t0 = fake_now;
        for (size_t i = 1; i < plan.n_nodes; i++)
                fake_cg_write(&fake, plan.nodes[i].path, "memory.pressure",
                              "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                              "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        fake_now = t0 + SEC;
        reactor_tick(r);
        for (unsigned i = 1; i <= 5; i++) {
                fake_now = t0 + SEC + i * 31 * SEC;
                cr_assert_eq(reactor_tick(r), 1, "undo %u", i);
        }
        cr_assert_str_eq(react_steps(), "thaw ci;thaw dev;deflate dev;deflate dev;deflate dev");
        cr_assert(vm_running(&the_vm), "QMP cont");
        cr_assert_geq(balloon_settles(&the_vm, 256 * MiB), 248 * MiB);

        /* the ladder again, to the end: a VM is evicted with its power button */
        for (int i = 0; i < 5; i++)
                cr_assert_eq(critical_pressure(r, &st), 1);
        cr_assert_str_eq(react_steps(), "balloon dev;balloon dev;balloon dev;freeze dev;freeze ci");
        cr_assert_eq(critical_pressure(r, &st), 1);
        cr_assert_eq(critical_pressure(r, &st), 1);
        cr_assert_str_eq(react_steps(), "evict dev;evict ci");
        cr_assert_eq(vm_wait_exit(&the_vm, 60), 0, "the guest did not power off after system_powerdown:\n%s",
                     file_text(the_vm.console));

        reactor_free(r);
        plan_done(&plan);
        policy_set_done(&set);
        fake_cg_teardown(&fake);
        vm_cleanup(&the_vm);
}
