/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * psi: pressure stall information — kernel triggers and averages.
 *
 * Owns: the trigger text and the kernel's rules for it, arming a trigger on a
 * pressure file (<cgroup>/memory.pressure, /proc/pressure/memory, ...),
 * telling a trigger event from the removal of its cgroup, and parsing the
 * "some avg10=... total=..." lines. Does not own: what to do about pressure
 * (react), the event loop, or the configuration syntax "some 150ms 1s"
 * (policy.h: pressure_trigger_parse()).
 *
 * Kernel facts this module is built on (PITFALLS 2; each one has a test in
 * tests/testbed/test-psi.c):
 *
 *  - One trigger per open file. A second write on the same fd fails with
 *    EBUSY; to change or re-arm a trigger, close the fd and open a new one.
 *  - The trigger is "some|full STALL_US WINDOW_US". The kernel requires
 *    500 ms <= window <= 10 s and 0 < stall <= window (EINVAL otherwise);
 *    psi_trigger_format() refuses the same values before any syscall, with a
 *    message naming the bad value.
 *  - The write must include the terminating NUL (strlen + 1 bytes). The
 *    /proc/pressure/<res> handler copies the buffer and overwrites its LAST
 *    byte with NUL, so "some 150000 1000000" written with strlen() bytes is
 *    parsed as "some 150000 100000" (a 100 ms window: EINVAL on 6.1), and
 *    "some 150000 10000000" silently becomes a 1 s window. The cgroup
 *    *.pressure files (kernfs) terminate the buffer themselves and take either
 *    length. With the NUL both read the string as written.
 *  - A trigger event is POLLPRI (EPOLLPRI), at most one per window. When the
 *    cgroup is removed while a trigger is armed, a poll() blocked on the fd
 *    wakes at once (inside the rmdir()) with POLLERR|POLLPRI, and epoll
 *    reports EPOLLERR|EPOLLPRI, for ever after: check for POLLERR/POLLHUP
 *    FIRST — psi_revents() does — then close the fd and deregister the
 *    source; it will never fire again.
 *
 * Files are opened O_RDWR so the same fd can also be read for the averages
 * (psi_read_avg_fd()) when the trigger fires.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define PSI_WINDOW_MIN_USEC (500 * UINT64_C(1000))
#define PSI_WINDOW_MAX_USEC (10 * UINT64_C(1000000))
/* "some 10000000 10000000" and its NUL; the kernel reads at most 32 bytes */
#define PSI_TRIGGER_STR_MAX 32

typedef struct PsiTrigger {
        bool full;              /* "full" (all non-idle tasks stalled) rather than "some" */
        uint64_t stall_usec;    /* 0 < stall <= window */
        uint64_t window_usec;   /* PSI_WINDOW_MIN_USEC .. PSI_WINDOW_MAX_USEC */
} PsiTrigger;

/* Check the kernel's rules. Returns 0, or -EINVAL with *ret_error (malloc'ed,
 * may be NULL) naming the bad value, e.g.
 *   "PSI trigger window 100ms (100000us) is below the kernel's minimum of 500ms". */
int psi_trigger_validate(const PsiTrigger *t, char **ret_error);

/* Validate and format the kernel's trigger text ("some 150000 1000000") into
 * buf (at least PSI_TRIGGER_STR_MAX bytes). Returns strlen(buf), or -EINVAL
 * (*ret_error as above), -ENOBUFS when size is too small. */
int psi_trigger_format(const PsiTrigger *t, char *buf, size_t size, char **ret_error);

/* Arm a trigger: validate, open `file` relative to dirfd (AT_FDCWD or a cgroup
 * directory fd; file e.g. "memory.pressure" or "/proc/pressure/memory") with
 * O_RDWR|O_NONBLOCK|O_CLOEXEC and write the trigger text with its NUL.
 * Returns 0 and the armed fd in *ret_fd (poll it for POLLPRI), or -errno:
 * -EINVAL from validation (with *ret_error) — no syscall was made —, the
 * open's error (-ENOENT: no such cgroup, or no PSI in this kernel), the
 * kernel's write error (-EINVAL, -EOPNOTSUPP when PSI is disabled at boot,
 * -EPERM without CAP_SYS_RESOURCE on newer kernels), -EIO on a short write.
 * ret_error may be NULL; it is only set for validation errors. */
int psi_trigger_open(int dirfd, const char *file, const PsiTrigger *t, int *ret_fd, char **ret_error);

/* What poll()/epoll revents on an armed trigger fd mean. */
typedef enum PsiEvent {
        PSI_EVENT_NONE,         /* nothing (spurious wakeup) */
        PSI_EVENT_PRESSURE,     /* the trigger fired */
        PSI_EVENT_GONE,         /* the cgroup was removed (or the fd has no trigger):
                                   close the fd and deregister, it will not fire again */
} PsiEvent;

/* revents: POLL* bits from poll() or EPOLL* bits from epoll (same values for
 * ERR/HUP/PRI). POLLERR/POLLHUP win over POLLPRI, which removal also sets. */
PsiEvent psi_revents(uint32_t revents);

/* ---- averages -------------------------------------------------------------------- */

typedef struct PsiAvg {
        uint32_t avg10, avg60, avg300;  /* basis points (hundredths of a percent): 12.34% = 1234 */
        uint64_t total_usec;            /* cumulative stall time */
} PsiAvg;

typedef struct PsiStats {
        PsiAvg some;
        PsiAvg full;
        bool has_full;                  /* /proc/pressure/cpu before 5.13 has no "full" line */
} PsiStats;

/* Parse the text of a pressure file:
 *   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=5678
 * Pure; text need not be NUL-terminated. A "some" line is required, "full" is
 * optional, unknown lines and unknown key=value fields are ignored (newer
 * kernels may add some). Returns 0, -EINVAL (syntax, a missing or repeated
 * field or line), -ERANGE (a number too large). */
int psi_parse_avg(const char *text, size_t len, PsiStats *ret);

/* Read and parse `file` relative to dirfd (AT_FDCWD or a cgroup directory). */
int psi_read_avg(int dirfd, const char *file, PsiStats *ret);
/* Read and parse from an open pressure file (e.g. an armed trigger fd), from offset 0. */
int psi_read_avg_fd(int fd, PsiStats *ret);
