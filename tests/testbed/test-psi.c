/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PSI triggers on the real kernel (PITFALLS 2), inside the testbed guest:
 * what the kernel does with a trigger written without its NUL, one trigger
 * per fd, the kernel's window rules against psi_trigger_validate(), a
 * trigger firing under a real memory stall (with the latency printed), and
 * what a trigger fd reports when its cgroup is removed, to poll() and epoll.
 * Outside the guest every test SKIPs.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>

#include "psi.h"
#include "testbed-util.h"

#define MS (UINT64_C(1000))
#define S (UINT64_C(1000000))

/* Write len bytes of text to a fresh fd of path, as a trigger; 0 or -errno.
 * The fd is closed again (which removes the trigger). */
static int raw_trigger(const char *path, const char *text, size_t len) {
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC), r = 0;
        ssize_t n;

        cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
        n = write(fd, text, len);
        if (n < 0)
                r = -errno;
        else
                cr_assert_eq((size_t) n, len, "short write");
        close(fd);
        return r;
}

static const char *errstr(int r) {
        return r == 0 ? "accepted" : strerror(-r);
}

static char cg[256];

static void setup_cgroup(const char *name) {
        tb_require_guest();
        snprintf(cg, sizeof(cg), "/sys/fs/cgroup/tb-%s", name);
        tb_cgroup_reset(cg);
}

static const char *cg_file(const char *attr) {
        static char p[512];
        snprintf(p, sizeof(p), "%s/%s", cg, attr);
        return p;
}

/* ---- (1) the trigger's bytes: strlen() vs strlen() + 1 ---------------------------- */

Test(psi, trigger_bytes_proc_file_eats_last_byte) {
        const char *proc = "/proc/pressure/memory";
        const char *ok = "some 150000 1000000";      /* valid: 150 ms per 1 s */
        const char *bad = "some 150000 10000001";    /* invalid: window 10.000001 s > 10 s */
        int r;

        tb_require_guest();

        /* with the NUL: read as written */
        cr_assert_eq(raw_trigger(proc, ok, strlen(ok) + 1), 0);
        cr_assert_eq(raw_trigger(proc, bad, strlen(bad) + 1), -EINVAL);

        /* without: the kernel overwrites the last '0'/'1' with NUL and parses
         * "some 150000 100000" (a 100 ms window: refused) ... */
        r = raw_trigger(proc, ok, strlen(ok));
        fprintf(stderr, "psi: %s, '%s' with strlen bytes: %s (read as 'some 150000 100000')\n", proc, ok, errstr(r));
        cr_assert_eq(r, -EINVAL, "a valid trigger written with strlen() bytes must be misread on 6.1");
        /* ... and "some 150000 1000000": an invalid trigger is accepted, with a 1 s window */
        r = raw_trigger(proc, bad, strlen(bad));
        fprintf(stderr, "psi: %s, '%s' with strlen bytes: %s (read as 'some 150000 1000000')\n", proc, bad,
                errstr(r));
        cr_assert_eq(r, 0, "an out-of-range window written with strlen() bytes is silently read as another one");
}

Test(psi, trigger_bytes_cgroup_file_terminates_itself) {
        const char *ok = "some 150000 1000000", *bad = "some 150000 10000001";
        int r1, r2;

        setup_cgroup("psi-bytes");
        /* kernfs copies exactly what was written and adds the NUL itself */
        r1 = raw_trigger(cg_file("memory.pressure"), ok, strlen(ok));
        r2 = raw_trigger(cg_file("memory.pressure"), bad, strlen(bad));
        fprintf(stderr, "psi: cgroup memory.pressure with strlen bytes: '%s' %s, '%s' %s\n", ok, errstr(r1), bad,
                errstr(r2));
        cr_assert_eq(r1, 0);
        cr_assert_eq(r2, -EINVAL);
        /* and with strlen + 1, as psi_trigger_open() writes, both files agree */
        cr_assert_eq(raw_trigger(cg_file("memory.pressure"), ok, strlen(ok) + 1), 0);
        cr_assert_eq(raw_trigger(cg_file("memory.pressure"), bad, strlen(bad) + 1), -EINVAL);
        rmdir(cg);
}

/* ---- (2) one trigger per fd ----------------------------------------------------- */

Test(psi, second_trigger_on_same_fd_is_ebusy) {
        PsiTrigger t = { .stall_usec = 150 * MS, .window_usec = 1 * S };
        const char *again = "full 100000 2000000";
        int fd = -1, fd2 = -1, dfd;

        setup_cgroup("psi-busy");
        dfd = open(cg, O_DIRECTORY | O_PATH | O_CLOEXEC);
        cr_assert_geq(dfd, 0);
        cr_assert_eq(psi_trigger_open(dfd, "memory.pressure", &t, &fd, NULL), 0);
        cr_assert_eq(write(fd, again, strlen(again) + 1), -1);
        cr_assert_eq(errno, EBUSY, "a second trigger on one fd: %s", strerror(errno));
        /* re-arming means a new fd; the old one keeps its trigger meanwhile */
        cr_assert_eq(psi_trigger_open(dfd, "memory.pressure", &t, &fd2, NULL), 0);
        close(fd);
        close(fd2);

        /* the same on the system-wide file */
        cr_assert_eq(psi_trigger_open(AT_FDCWD, "/proc/pressure/memory", &t, &fd, NULL), 0);
        cr_assert_eq(write(fd, again, strlen(again) + 1), -1);
        cr_assert_eq(errno, EBUSY);
        close(fd);
        close(dfd);
        rmdir(cg);
}

/* ---- (3) the window rules: psi_ refuses exactly what the kernel refuses ----------- */

Test(psi, validation_matches_the_kernel) {
        static const struct {
                bool full;
                uint64_t stall, window;
        } cases[] = {
                { false, 100 * MS, 100 * MS },  /* window below 500 ms */
                { false, 100 * MS, 499999 },
                { false, 100 * MS, 500 * MS },  /* the bounds */
                { false, 1, 10 * S },
                { false, 100 * MS, 10 * S + 1 },
                { false, 1 * S, 20 * S },
                { false, 0, 1 * S },            /* no stall */
                { true, 1 * S, 1 * S },         /* stall = window */
                { true, 1 * S + 1, 1 * S },     /* stall > window */
        };
        setup_cgroup("psi-rules");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PsiTrigger t = { .full = cases[i].full, .stall_usec = cases[i].stall, .window_usec = cases[i].window };
                char text[64], *err = NULL;
                int ours, kernel, fd = -1;

                snprintf(text, sizeof(text), "%s %llu %llu", t.full ? "full" : "some",
                         (unsigned long long) t.stall_usec, (unsigned long long) t.window_usec);
                kernel = raw_trigger(cg_file("memory.pressure"), text, strlen(text) + 1);
                ours = psi_trigger_open(AT_FDCWD, cg_file("memory.pressure"), &t, &fd, &err);
                cr_expect_eq(ours, kernel, "'%s': kernel %s, psi_trigger_open %s (%s)", text, errstr(kernel),
                             errstr(ours), err ? err : "");
                if (ours == -EINVAL)
                        cr_expect_not_null(err, "'%s': refused without a message", text);
                if (fd >= 0)
                        close(fd);
                free(err);
        }
        rmdir(cg);
}

/* An invalid window never reaches the kernel: psi_ says EINVAL, with the value,
 * even for a file that cannot be opened. */
Test(psi, invalid_window_refused_before_the_kernel) {
        PsiTrigger t = { .stall_usec = 50 * MS, .window_usec = 100 * MS };
        char *err = NULL;
        int fd = -1;

        setup_cgroup("psi-early");
        cr_assert_eq(psi_trigger_open(AT_FDCWD, cg_file("memory.pressure"), &t, &fd, &err), -EINVAL);
        cr_assert_eq(fd, -1);
        cr_assert_str_eq(err, "PSI trigger window 100ms (100000us) is below the kernel's minimum of 500ms");
        free(err);
        err = NULL;
        cr_assert_eq(psi_trigger_open(AT_FDCWD, "/sys/fs/cgroup/tb-no-such-cgroup/memory.pressure", &t, &fd, &err),
                     -EINVAL);
        cr_assert_not_null(err);
        free(err);
        rmdir(cg);
}

/* ---- (4) the trigger fires under a real stall ---------------------------------------- */

Test(psi, trigger_fires_under_memory_high_stall, .timeout = 300) {
        PsiTrigger t = { .stall_usec = 150 * MS, .window_usec = 1 * S };
        struct pollfd pfd;
        PsiStats before, at;
        uint64_t t0, latency;
        int fd = -1, r;
        pid_t hog;

        setup_cgroup("psi-fire");
        cr_assert_eq(tb_swap_on(256), 0, "zram swap: so the hog's pages can be pushed out at all");
        tb_cg_write(cg, NULL, "memory.high", "33554432"); /* 32M, the hog wants 64M */
        cr_assert_eq(psi_trigger_open(AT_FDCWD, cg_file("memory.pressure"), &t, &fd, NULL), 0);
        cr_assert_eq(psi_read_avg_fd(fd, &before), 0, "the trigger fd reads the averages too");

        /* no pressure yet: nothing to report */
        pfd = (struct pollfd) { .fd = fd, .events = POLLPRI };
        cr_assert_eq(poll(&pfd, 1, 0), 0, "revents %#x before any load", pfd.revents);

        t0 = now_usec(CLOCK_MONOTONIC);
        hog = tb_spawn_in(cg, NULL, tb_bin("memhog"), "64");
        cr_assert_gt(hog, 0);
        r = poll(&pfd, 1, 60 * 1000);
        latency = now_usec(CLOCK_MONOTONIC) - t0;
        cr_assert_eq(psi_read_avg_fd(fd, &at), 0);
        fprintf(stderr,
                "psi: trigger 'some 150000 1000000' on memory.high=32M with a 64M hog: POLLPRI %.2f s after the "
                "hog started (revents %#x); some avg10 %u.%02u%%, stall total %llu us -> %llu us\n",
                (double) latency / S, pfd.revents, at.some.avg10 / 100, at.some.avg10 % 100,
                (unsigned long long) before.some.total_usec, (unsigned long long) at.some.total_usec);
        kill(hog, SIGKILL);
        tb_reap(hog);
        tb_swap_off();

        cr_assert_eq(r, 1, "no PSI event within 60 s (memory.current %s, memory.swap.current %s)",
                     tb_cg_read(cg, NULL, "memory.current"), tb_cg_read(cg, NULL, "memory.swap.current"));
        cr_assert_eq(psi_revents(pfd.revents), PSI_EVENT_PRESSURE, "revents %#x", pfd.revents);
        /* The kernel's trigger window and the file's counters are sampled at
         * different moments (the trigger also weighs in part of the previous
         * window), so only require that there was a stall at all. */
        cr_assert_gt(at.some.total_usec, before.some.total_usec, "the event came without any stall (total %llu us)",
                     (unsigned long long) at.some.total_usec);
        close(fd);
        rmdir(cg);
}

/* ---- (5) the cgroup goes away while a trigger is armed --------------------------------- */

typedef struct Poller {
        int fd;
        short revents;
        uint64_t returned;
} Poller;

static void *poller_main(void *arg) {
        Poller *p = arg;
        struct pollfd pfd = { .fd = p->fd, .events = POLLPRI };
        if (poll(&pfd, 1, 20 * 1000) > 0)
                p->revents = pfd.revents;
        p->returned = now_usec(CLOCK_MONOTONIC);
        return NULL;
}

Test(psi, removed_cgroup_reports_pollerr) {
        PsiTrigger t = { .stall_usec = 150 * MS, .window_usec = 1 * S };
        struct epoll_event ev = { .events = EPOLLPRI }, got[2];
        Poller p = { .fd = -1 };
        pthread_t thread;
        uint64_t removed;
        int fd = -1, efd, n;

        setup_cgroup("psi-gone");
        cr_assert_eq(psi_trigger_open(AT_FDCWD, cg_file("memory.pressure"), &t, &fd, NULL), 0);
        efd = epoll_create1(EPOLL_CLOEXEC);
        ev.data.fd = fd;
        cr_assert_eq(epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev), 0);
        cr_assert_eq(epoll_wait(efd, got, 2, 0), 0, "nothing to report before the removal");

        /* a poller blocked in poll() when the cgroup goes away */
        p.fd = fd;
        cr_assert_eq(pthread_create(&thread, NULL, poller_main, &p), 0);
        usleep(200 * 1000);
        cr_assert_eq(p.returned, 0, "poll() returned before the removal, revents %#x", p.revents);
        removed = now_usec(CLOCK_MONOTONIC); /* the wakeup happens inside rmdir() */
        cr_assert_eq(rmdir(cg), 0, "rmdir %s: %s", cg, strerror(errno));
        pthread_join(thread, NULL);

        n = epoll_wait(efd, got, 2, 5000);
        fprintf(stderr, "psi: cgroup removed under an armed trigger: blocked poll() woke after %.3f s with revents "
                "%#x; epoll: %d event(s), events %#x\n",
                (double) (p.returned - removed) / S, p.revents, n, n > 0 ? got[0].events : 0);
        cr_assert(p.revents & POLLERR, "poll() revents %#x without POLLERR", p.revents);
        cr_assert_lt(p.returned - removed, 5 * S, "the blocked poll() was not woken by the removal");
        cr_assert_eq(psi_revents((uint32_t) p.revents), PSI_EVENT_GONE);
        cr_assert_eq(n, 1, "epoll reports nothing after the removal");
        cr_assert_eq(psi_revents(got[0].events), PSI_EVENT_GONE, "epoll events %#x", got[0].events);

        /* it stays that way: a level, not an edge */
        struct pollfd pfd = { .fd = fd, .events = POLLPRI };
        cr_assert_eq(poll(&pfd, 1, 0), 1);
        cr_assert_eq(psi_revents((uint32_t) pfd.revents), PSI_EVENT_GONE);
        close(efd);
        close(fd);
}

/* ---- averages from the real files ---------------------------------------------------- */

Test(psi, averages_parse_on_real_files) {
        PsiStats st;
        static const char *const res[] = { "cpu", "memory", "io" };

        tb_require_guest();
        for (size_t i = 0; i < ELEMENTSOF(res); i++) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/pressure/%s", res[i]);
                cr_assert_eq(psi_read_avg(AT_FDCWD, path, &st), 0, "%s", path);
                cr_assert(st.has_full, "%s: 6.1 has a full line for every resource", path);
                cr_assert_leq(st.some.avg10, 10000);
        }
        setup_cgroup("psi-avg");
        cr_assert_eq(psi_read_avg(AT_FDCWD, cg_file("memory.pressure"), &st), 0);
        cr_assert_eq(st.some.total_usec, 0, "a new, empty cgroup has no stall yet");
        rmdir(cg);
}
