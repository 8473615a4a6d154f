/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-util: what bench-react and bench-protect share. Cgroup files by path
 * below /sys/fs/cgroup, loads started inside a cgroup, shell commands,
 * systemd-oomd in the testbed guest, and percentiles. Independent of the
 * code under test: a bench reads the kernel's own files.
 */
#pragma once

#include <sys/types.h>

#include "util.h"

#define BENCH_CG "/sys/fs/cgroup"
#define MiB (UINT64_C(1) << 20)
#define USEC_PER_SEC UINT64_C(1000000)

/* <BENCH_CG>/<cg>/<attr> as text, trailing newline stripped; "" when it
 * cannot be read. Static buffer (a ring of 8). */
const char *bench_cg_read(const char *cg, const char *attr);
/* The same as a number; UINT64_MAX for "max", 0 when unreadable. */
uint64_t bench_cg_u64(const char *cg, const char *attr);
/* The value of `key` in a flat keyed file (memory.events, memory.stat). */
uint64_t bench_cg_key(const char *cg, const char *attr, const char *key);
/* 0 or -errno */
int bench_cg_write(const char *cg, const char *attr, const char *value);
/* The cumulative "some" stall of the cgroup's memory.pressure, usec. */
uint64_t bench_cg_stall_usec(const char *cg);
/* Wait until memory.current of cg reaches bytes: 0, or -ETIMEDOUT. */
int bench_wait_current(const char *cg, uint64_t bytes, unsigned seconds);

/* fork and exec argv. cg != NULL: the child joins that cgroup first. cpu >= 0:
 * it runs on that CPU only. ret_stdout != NULL: a pipe from its stdout (else
 * /dev/null). ret_gate != NULL: the child waits before exec until the caller
 * closes *ret_gate (so that it can be moved into a cgroup before it allocates
 * anything). Returns the pid or -errno. */
pid_t bench_spawn(const char *cg, int cpu, int *ret_stdout, int *ret_gate, char *const argv[]);
#define bench_spawn_in(cg, ...) bench_spawn(cg, -1, NULL, NULL, (char *const[]) { __VA_ARGS__, NULL })
/* A pidfd (poll: readable when the process ended), or -errno. */
int bench_pidfd(pid_t pid);
/* SIGKILL and reap; nothing for pid <= 0. Returns the signal it died of, 0. */
int bench_kill(pid_t pid);
/* Wait until the process is gone or the timeout: its end (CLOCK_MONOTONIC
 * usec), 0 on timeout. Reaps it when it is a child. */
uint64_t bench_wait_exit(pid_t pid, uint64_t timeout_usec);

/* Run a shell command (stderr joined), output into *ret_out (may be NULL),
 * trailing newlines stripped. Returns its exit status or -1. */
int bench_sh(char **ret_out, const char *fmt, ...) _printf_(2, 3);

/* zram swap of mib MiB (compressed in RAM, like a host's zram or zswap). 0 or -1. */
int bench_zram_on(unsigned mib);

/* Undo the testbed's mask of systemd-oomd, start it, and wait until it
 * answers. 0 or -1 (with a message on stderr). */
int bench_oomd_start(void);
/* "Killed ..." lines systemd-oomd logged so far. */
unsigned bench_oomd_kills(void);

/* Sorts v; the p-th percentile (0..100, nearest rank); 0 for n == 0. */
double bench_percentile(double *v, size_t n, double p);
double bench_mean(const double *v, size_t n);
