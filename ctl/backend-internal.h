/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What backend.c and backend-systemd.c share; not for other modules. */
#pragma once

#include "backend.h"

int backend_systemd_open(const char *cgroup_root, Backend **ret, char **ret_error);

/* The cgroup root is the root of a cgroup2 hierarchy (not a cgroup below it). */
bool cgroup_root_is_hierarchy_root(const char *root);

/* The plan node of a tenant, or NULL. */
const PlanNode *plan_find_tenant(const Plan *p, const PolicySet *s, const char *id);

/* The process's cgroup in the unified hierarchy as /proc/PID/cgroup shows it
 * ("/system.slice/foo.service"). -ESRCH when there is no such process. */
int proc_pid_cgroup(pid_t pid, char **ret);
/* Move a process into `cgroup` (as proc_pid_cgroup() gives it) on the cgroup2
 * mount: undoing an adopt. */
int move_pid_to_cgroup(pid_t pid, const char *cgroup);
/* 0 when every PID exists, else -ESRCH with the first missing one in *ret_missing. */
int pids_exist(const pid_t *pids, size_t n, pid_t *ret_missing);
