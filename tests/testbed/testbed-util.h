/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the real-kernel tests: run binaries like a user, read and write
 * cgroup files directly (independently of the code under test), start
 * processes inside cgroups, and set up zram swap. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* SKIP the current test unless we run inside the testbed guest. */
void tb_require_guest(void);

/* <source>/tests/testbed/policies/<name>, <build>/tests/testbed/<name> */
const char *tb_policies(const char *name);
const char *tb_bin(const char *name);

/* Run <build>/ctl/tenantctl with the formatted arguments; stdout+stderr go to
 * *ret_out as printed (newlines kept); returns the exit status (or -1). */
int tb_tenantctl(char **ret_out, const char *fmt, ...) _printf_(2, 3);
/* Run a shell command (stderr joined to stdout) into *ret_out (may be NULL),
 * trailing newlines stripped; returns its exit status (or -1). */
int tb_sh(char **ret_out, const char *fmt, ...) _printf_(2, 3);

/* Kill everything under root, remove it, create it empty. */
void tb_cgroup_reset(const char *root);
void tb_cg_mkdir(const char *root, const char *path);
bool tb_cg_exists(const char *root, const char *path);
/* Value of the file, trailing newline stripped; static buffer, "<missing>" */
const char *tb_cg_read(const char *root, const char *path, const char *attr);
/* got (from tb_cg_read) is what the plan wants: equal, or missing where "" is wanted. */
bool tb_attr_matches(const char *got, const char *want);
uint64_t tb_cg_u64(const char *root, const char *path, const char *attr);
void tb_cg_write(const char *root, const char *path, const char *attr, const char *value);
/* 0 when every parent's attr >= the sum of its children's, below top. */
int tb_check_ancestor_sums(const char *root, const char *top, const char *attr);
/* The plan of policy directory dir on this host (as tenantctl --root root
 * computes it), compared file by file with the kernel's files below root:
 * every attribute of every plan node whose cgroup exists (missing cgroups are
 * counted in *ret_missing, may be NULL). Prints each difference on stderr;
 * returns how many differ, *ret_checked how many files were compared. */
unsigned tb_check_plan_files(const char *root, const char *dir, unsigned *ret_checked, unsigned *ret_missing);
/* Every writable file of /sys/fs/cgroup outside <top>/tenants.slice (but
 * <top>/cgroup.subtree_control, which hands the controllers down), one
 * "path = content" line each, for a before/after comparison; malloc'ed.
 * Files that change by themselves or cannot be read back (cgroup.procs and
 * .threads, cgroup.kill, memory.reclaim, the pressure files) are left out. */
char *tb_outside_files(const char *top);
/* Wait until memory.current >= bytes. */
int tb_wait_current(const char *root, const char *path, uint64_t bytes, unsigned seconds);

/* fork, move the child into root/path, exec argv. Returns the pid. */
pid_t tb_spawn_argv(const char *root, const char *path, const char *const argv[]);
#define tb_spawn_in(root, path, ...) tb_spawn_argv(root, path, (const char *const[]) { __VA_ARGS__, NULL })
/* waitpid: the signal that killed it, or 0 for a normal exit */
int tb_reap(pid_t pid);

int tb_swap_on(unsigned mib);
void tb_swap_off(void);
