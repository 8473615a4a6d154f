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
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "qmp.h"

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
