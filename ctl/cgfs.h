/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgfs: the cgroup v2 filesystem under one root directory.
 *
 * Owns: creating and removing cgroups, enabling controllers top-down, reading
 * and writing attribute files, moving processes into leaves, and counting the
 * writes it makes. Cgroups are made and removed with mkdirat()/unlinkat() on
 * the root's directory fd and attribute values written with openat(), so every
 * error is the kernel's own errno; on a real cgroup2 mount processes are moved
 * through libcgroup, which also finds the mount the root sits on.
 * Does not own: deciding values (plan.h) or ordering/rollback (apply.h).
 *
 * Paths are relative to the root ("tenants.slice/tenants-low.slice"); "" is the
 * root itself. Paths containing "..", "//", a leading '/' or a '.'-leading
 * component are refused with -EINVAL before any syscall, so nothing outside the
 * root is ever touched.
 */
#pragma once

#include <sys/types.h>

#include "util.h"

typedef struct Cgfs Cgfs;

/* Test seams: a fixture tree is a plain directory, so the test supplies what the
 * kernel would do. Both may be NULL. */
typedef struct CgfsHooks {
        /* called after a directory was created in fixture mode, to populate it */
        int (*created)(int dirfd, const char *path, void *userdata);
        /* called before every attribute write: a negative errno fails the write,
         * 1 means the hook performed it (fixture emulation), 0 lets it through */
        int (*fault)(const char *path, const char *attr, const char *value, void *userdata);
        void *userdata;
} CgfsHooks;

/* Open the root. It must exist. Returns -ENOENT, -ENOTDIR, or 0. */
int cgfs_open(const char *root, const CgfsHooks *hooks, Cgfs **ret);
Cgfs *cgfs_free(Cgfs *c);
static inline void cgfs_freep(Cgfs **c) {
        cgfs_free(*c);
}
#define _cleanup_cgfs_ _cleanup_(cgfs_freep)

const char *cgfs_root(const Cgfs *c);
/* true when the root sits on a real cgroup2 mount (statfs magic) */
bool cgfs_is_kernel(const Cgfs *c);
/* number of attribute writes made through this handle */
unsigned cgfs_writes(const Cgfs *c);

bool cgfs_path_is_valid(const char *path);
bool cgfs_exists(Cgfs *c, const char *path);

/* Create one cgroup (the parent must exist). *ret_created tells whether it was
 * new; -ENOTDIR when something that is not a directory has the name. */
int cgfs_create(Cgfs *c, const char *path, bool *ret_created);
/* Remove an empty cgroup; -EBUSY while it has processes or children. */
int cgfs_remove(Cgfs *c, const char *path);
/* cgroup.kill, then wait up to timeout_usec for "populated 0", then remove. */
int cgfs_kill_and_remove(Cgfs *c, const char *path, uint64_t timeout_usec);

/* What a cgfs_open() error means for a user: its -ENOMEDIUM and -EXDEV are
 * libcgroup's view of the memory controller. */
const char *cgfs_open_strerror(int r);

int cgfs_read(Cgfs *c, const char *path, const char *attr, char **ret);
int cgfs_read_u64(Cgfs *c, const char *path, const char *attr, uint64_t *ret);
/* Write only when the value differs from what the file reads now: returns 1 when
 * written, 0 when it already matched. *ret_old (may be NULL) gets the old value.
 * An empty value matches a missing file (the controller is off there). */
int cgfs_set(Cgfs *c, const char *path, const char *attr, const char *value, char **ret_old);
/* Whether a cgfs_read() that returned r (and got) shows the value want: equal,
 * or want is empty and the file is missing (its controller is off there, which
 * is as good as empty: an unpinned cpuset). */
bool cgfs_value_is(int r, const char *got, const char *want);
/* Unconditional write (counted). */
int cgfs_write(Cgfs *c, const char *path, const char *attr, const char *value);

/* Make `controllers` (space separated, e.g. "memory cpu") available to children of
 * `path`, enabling them in cgroup.subtree_control of every cgroup from the root
 * down to `path`. Refuses with -EBUSY, before writing, when a cgroup on the way
 * (other than the mount root) holds processes. Returns the number of writes. */
int cgfs_enable_controllers(Cgfs *c, const char *path, const char *controllers);
/* Disable in path's cgroup.subtree_control what is enabled now but not in
 * `old` (a subtree_control read earlier): the undo of an enable. Children
 * first, as the kernel refuses to take back what a child still hands down.
 * Returns the number of writes. */
int cgfs_restore_controllers(Cgfs *c, const char *path, const char *old);

/* Move a process into a leaf. Refused with -EISDIR, before any syscall, when the
 * cgroup has child cgroups (no internal processes). */
int cgfs_attach(Cgfs *c, const char *path, pid_t pid);

/* PIDs in cgroup.procs; *ret_n may be 0. */
int cgfs_pids(Cgfs *c, const char *path, pid_t **ret, size_t *ret_n);
/* Names of child cgroups (directories), sorted. NULL-terminated. */
int cgfs_children(Cgfs *c, const char *path, char ***ret);

/* The controller list of cgroup.controllers contains every word of `want`. */
int cgfs_has_controllers(Cgfs *c, const char *path, const char *want, char **ret_missing);
