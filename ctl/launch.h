/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * launch: the command line of a tenant and starting it inside its leaf.
 *
 * Owns: splitting exec= into argv (shell-like quoting, no expansion), the QEMU
 * command line of a VM tenant built from its [vm] and [hugepages] sections,
 * and, for the cgroupfs backend, forking the tenant into its leaf cgroup
 * before it runs a single instruction of its own. Does not own: supervision
 * (under systemd the service unit does that; under cgroupfs a tenant that
 * exits stays gone until the next apply starts it again).
 */
#pragma once

#include <sys/types.h>

#include "cgfs.h"
#include "plan.h"

/* Split a command line: words separated by blanks; '...' keeps everything
 * literally; "..." keeps blanks and honours \" and \\; a backslash outside
 * quotes escapes the next character. No variables, globs or operators.
 * Returns 0, -EINVAL for unbalanced quotes or an empty command. */
int exec_split(const char *s, char ***ret_argv);

/* The argv a tenant runs: exec= when given; for a VM without exec=, a QEMU
 * command line from [vm]: -m, -smp, a QMP socket, a balloon device when
 * balloon = yes, and guest RAM from hugetlbfs bound to the tenant's node when
 * it has hugepages. Returns -ENOENT for a tenant with nothing to run
 * (processes are adopted instead). */
int tenant_argv(const TenantPolicy *t, const PlanNode *n, char ***ret_argv);

/* Start argv inside the leaf `path` (relative to the Cgfs root): the child
 * moves itself into the leaf, starts a new session, sends stdout/stderr to
 * log_path (or /dev/null) and execs. The process is detached (reparented to
 * init). *ret_pid is the tenant's PID once it runs argv[0]; failing to exec is
 * reported as -errno from the child through a CLOEXEC pipe. */
int launch_in_cgroup(Cgfs *c, const char *path, char *const argv[], const char *log_path, pid_t *ret_pid);

/* For a VM tenantd launches: create the QMP socket's directory and remove a
 * socket a VM that is gone left behind (QEMU would fail to bind). No-op for
 * other tenants. Returns 0 or -errno. */
int launch_prepare_qmp(const TenantPolicy *t);

/* Start one tenant when it has something to run and its leaf holds no
 * process yet. Directories for QMP sockets and logs are created
 * (/run/tenantd/qmp, /run/tenantd/log, or under run_dir). Returns 1 when
 * started, 0 when there was nothing to do, or -errno with *ret_error naming
 * the tenant and the reason. */
int launch_tenant(Cgfs *c, const PlanNode *n, const TenantPolicy *t, const char *run_dir, char **ret_error);
/* launch_tenant() for every tenant of the plan except the ids in skip (a
 * strv, may be NULL: tenants stopped by the operator). Returns the number
 * started or the first error. */
int launch_tenants(Cgfs *c, const Plan *p, const PolicySet *s, const char *run_dir, char *const *skip,
                   char **ret_error);
