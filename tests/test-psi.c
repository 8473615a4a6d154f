/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for ctl/psi.c: trigger validation and formatting, the averages
 * parser on fixture text, the revents rule, and arming on plain files (the
 * exact bytes written). The kernel's side is tests/testbed/test-psi.c.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "psi.h"

#define MS (UINT64_C(1000))
#define S (UINT64_C(1000000))

static PsiTrigger trig(bool full, uint64_t stall, uint64_t window) {
        return (PsiTrigger) { .full = full, .stall_usec = stall, .window_usec = window };
}

Test(psi, format_valid) {
        char buf[PSI_TRIGGER_STR_MAX];
        PsiTrigger t = trig(false, 150 * MS, 1 * S);

        cr_assert_eq(psi_trigger_format(&t, buf, sizeof(buf), NULL), 19);
        cr_assert_str_eq(buf, "some 150000 1000000");
        t = trig(true, 10 * S, 10 * S);
        cr_assert_eq(psi_trigger_format(&t, buf, sizeof(buf), NULL), 22);
        cr_assert_str_eq(buf, "full 10000000 10000000");
        /* the bounds themselves are valid */
        t = trig(false, 1, 500 * MS);
        cr_assert_eq(psi_trigger_format(&t, buf, sizeof(buf), NULL), 13);
        cr_assert_str_eq(buf, "some 1 500000");
        cr_assert_eq(psi_trigger_format(&t, buf, 10, NULL), -ENOBUFS);
}

static void expect_invalid(PsiTrigger t, const char *want) {
        char buf[PSI_TRIGGER_STR_MAX] = "untouched";
        char *err = NULL;

        cr_expect_eq(psi_trigger_format(&t, buf, sizeof(buf), &err), -EINVAL, "%s", want);
        cr_expect_str_eq(buf, "untouched");
        cr_assert_not_null(err);
        cr_expect_str_eq(err, want);
        free(err);
        /* and without a place for the message */
        cr_expect_eq(psi_trigger_validate(&t, NULL), -EINVAL);
}

Test(psi, validation_names_the_bad_value) {
        expect_invalid(trig(false, 50 * MS, 100 * MS),
                       "PSI trigger window 100ms (100000us) is below the kernel's minimum of 500ms");
        expect_invalid(trig(false, 50 * MS, 499999),
                       "PSI trigger window 499999us is below the kernel's minimum of 500ms");
        expect_invalid(trig(true, 1 * S, 20 * S),
                       "PSI trigger window 20s (20000000us) is above the kernel's maximum of 10s");
        expect_invalid(trig(false, 0, 1 * S), "PSI trigger stall 0 must be greater than 0");
        expect_invalid(trig(false, 1500 * MS, 1 * S),
                       "PSI trigger stall 1500ms (1500000us) exceeds its window 1s (1000000us)");
        expect_invalid(trig(false, UINT64_MAX, UINT64_MAX),
                       "PSI trigger window 18446744073709551615us is above the kernel's maximum of 10s");
}

/* Arming on a regular file shows the bytes psi_trigger_open() writes: the
 * text and its NUL, in one write. */
Test(psi, open_writes_text_and_nul) {
        char path[] = "/tmp/test-psi.XXXXXX", buf[64];
        PsiTrigger t = trig(false, 150 * MS, 1 * S);
        int fd, tfd = -1, dfd;
        ssize_t n;

        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(psi_trigger_open(AT_FDCWD, path, &t, &tfd, NULL), 0);
        cr_assert_geq(tfd, 0);
        cr_assert(fcntl(tfd, F_GETFD) & FD_CLOEXEC);
        cr_assert(fcntl(tfd, F_GETFL) & O_NONBLOCK);
        cr_assert_eq(fcntl(tfd, F_GETFL) & O_ACCMODE, O_RDWR);
        close(tfd);

        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = read(fd, buf, sizeof(buf));
        close(fd);
        cr_assert_eq(n, 20);
        cr_assert_eq(memcmp(buf, "some 150000 1000000\0", 20), 0);

        /* relative to a directory fd */
        dfd = open("/tmp", O_DIRECTORY | O_PATH | O_CLOEXEC);
        cr_assert_eq(psi_trigger_open(dfd, path + 5, &t, &tfd, NULL), 0);
        close(tfd);
        close(dfd);
        unlink(path);
}

Test(psi, open_validates_before_any_syscall) {
        PsiTrigger t = trig(false, 150 * MS, 100 * MS);
        char *err = NULL;
        int fd = -7;

        /* the file does not exist: validation must fail first, not the open */
        cr_assert_eq(psi_trigger_open(AT_FDCWD, "/nonexistent/memory.pressure", &t, &fd, &err), -EINVAL);
        cr_assert_eq(fd, -7);
        cr_assert_not_null(err);
        cr_assert(strstr(err, "100ms") != NULL, "%s", err);
        free(err);
        t.window_usec = 1 * S;
        err = NULL;
        cr_assert_eq(psi_trigger_open(AT_FDCWD, "/nonexistent/memory.pressure", &t, &fd, &err), -ENOENT);
        cr_assert_null(err);
        cr_assert_eq(fd, -7);
}

Test(psi, revents_gone_wins_over_pri) {
        cr_assert_eq(psi_revents(0), PSI_EVENT_NONE);
        cr_assert_eq(psi_revents(POLLIN | POLLOUT), PSI_EVENT_NONE);
        cr_assert_eq(psi_revents(POLLPRI), PSI_EVENT_PRESSURE);
        /* what a removed cgroup gives poll(): POLLERR together with POLLPRI */
        cr_assert_eq(psi_revents(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLERR | POLLPRI), PSI_EVENT_GONE);
        cr_assert_eq(psi_revents(EPOLLHUP | EPOLLPRI), PSI_EVENT_GONE);
        cr_assert_eq(psi_revents(EPOLLERR), PSI_EVENT_GONE);
}

/* ---- averages --------------------------------------------------------------------- */

static int parse(const char *s, PsiStats *st) {
        return psi_parse_avg(s, strlen(s), st);
}

Test(psi, parse_cgroup_memory_pressure) {
        PsiStats st;

        cr_assert_eq(parse("some avg10=12.34 avg60=5.06 avg300=0.00 total=123456789\n"
                           "full avg10=100.00 avg60=0.01 avg300=0.10 total=42\n",
                           &st),
                     0);
        cr_assert_eq(st.some.avg10, 1234);
        cr_assert_eq(st.some.avg60, 506);
        cr_assert_eq(st.some.avg300, 0);
        cr_assert_eq(st.some.total_usec, 123456789);
        cr_assert(st.has_full);
        cr_assert_eq(st.full.avg10, 10000);
        cr_assert_eq(st.full.avg60, 1);
        cr_assert_eq(st.full.avg300, 10);
        cr_assert_eq(st.full.total_usec, 42);
}

Test(psi, parse_tolerates_what_kernels_vary) {
        PsiStats st;

        /* no "full" line (cpu before 5.13), no final newline */
        cr_assert_eq(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0", &st), 0);
        cr_assert(!st.has_full);
        /* fields in another order, a field and a line a newer kernel might add */
        cr_assert_eq(parse("\nsome total=7 avg300=0.03 avg60=0.02 avg10=0.01 avg1=9.99\nboth avg10=x\n", &st), 0);
        cr_assert_eq(st.some.avg10, 1);
        cr_assert_eq(st.some.avg300, 3);
        cr_assert_eq(st.some.total_usec, 7);
        /* not NUL-terminated: len rules */
        cr_assert_eq(psi_parse_avg("some avg10=1.00 avg60=0.00 avg300=0.00 total=5XXXX", 46, &st), 0);
        cr_assert_eq(st.some.total_usec, 5);
}

Test(psi, parse_rejects) {
        static const char *const bad[] = {
                "",
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",             /* no some */
                "some avg10=0.00 avg60=0.00 avg300=0.00\n",                      /* no total */
                "some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",  /* twice */
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
                "some avg10=0.0 avg60=0.00 avg300=0.00 total=1\n",               /* one decimal */
                "some avg10=1 avg60=0.00 avg300=0.00 total=1\n",
                "some avg10=-1.00 avg60=0.00 avg300=0.00 total=1\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1x\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=\n",
                "some avg10 avg60=0.00 avg300=0.00 total=1\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00\n",
        };
        PsiStats st = { .some.avg10 = 77 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_expect_eq(parse(bad[i], &st), -EINVAL, "%s", bad[i]);
        cr_expect_eq(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n", &st), -ERANGE);
        cr_expect_eq(parse("some avg10=99999999.00 avg60=0.00 avg300=0.00 total=1\n", &st), -ERANGE);
        cr_expect_eq(st.some.avg10, 77, "output touched on failure");
        /* the largest values that fit */
        cr_expect_eq(parse("some avg10=42949672.95 avg60=0.00 avg300=0.00 total=18446744073709551615\n", &st), 0);
        cr_expect_eq(st.some.avg10, UINT32_MAX);
        cr_expect_eq(st.some.total_usec, UINT64_MAX);
}

Test(psi, read_avg_from_file_and_fd) {
        char dir[] = "/tmp/test-psi.XXXXXX", path[64];
        const char *text = "some avg10=1.50 avg60=0.25 avg300=0.00 total=999\n"
                           "full avg10=0.50 avg60=0.00 avg300=0.00 total=333\n";
        PsiStats st;
        int dfd, fd;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/memory.pressure", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);

        dfd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
        cr_assert_eq(psi_read_avg(dfd, "memory.pressure", &st), 0);
        cr_assert_eq(st.some.avg10, 150);
        cr_assert_eq(st.full.total_usec, 333);
        cr_assert_eq(psi_read_avg(dfd, "cpu.pressure", &st), -ENOENT);
        close(dfd);

        /* from an fd that was already read to the end: starts at 0 again */
        fd = open(path, O_RDONLY | O_CLOEXEC);
        char sink[256];
        cr_assert_gt(read(fd, sink, sizeof(sink)), 0);
        st = (PsiStats) { .has_full = false };
        cr_assert_eq(psi_read_avg_fd(fd, &st), 0);
        cr_assert_eq(st.some.avg60, 25);
        close(fd);
        unlink(path);
        rmdir(dir);
}
