/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-load: the I/O half of the policy language. Finds and reads policy
 * files (securely, like sudoers) and hands their text to the pure parsers
 * in policy.h, then runs the cross-file checks.
 *
 * Owns: which files make up a policy, the checks on the files themselves
 * (owner, mode, type, size) and the names files have in error messages.
 * Does not own: what is in them (policy.h).
 *
 * Like sudoers, a file is refused when it is not a regular file, not owned by
 * root or the effective uid, writable by group or others, or larger than
 * POLICY_FILE_SIZE_MAX: whoever can write a policy can change what tenantd
 * does as root. Symlinks are followed, and the checks run on the opened file
 * (fstat), so they apply to the target actually read. Refusals are errors like
 * "tenants/web.ini: insecure, writable by group or others (mode 0664)".
 *
 * Error file names are the paths as opened: DIR "/" relative name, with no
 * "./" prefix when DIR is ".".
 */
#pragma once

#include "policy.h"

/* Load a policy directory as a whole: DIR/tenantd.conf (optional, defaults
 * otherwise), DIR/classes.ini (optional, built-in ladder otherwise),
 * DIR/tenants/\*.ini (sorted by file name; names starting with '.' and
 * files not ending in ".ini" are ignored; a missing tenants/ means no tenants).
 * All-or-nothing: returns 0 and fills *ret, or -EINVAL with every problem of
 * every file in errs (ret untouched). -errno (and an error) when DIR itself
 * cannot be opened, -ENOMEM. */
int policy_load_dir(const char *dir, PolicySet *ret, PolicyErrors *errs);

/* Load individual files: each path is a tenant file, or classes.ini / *.conf by
 * base name. Classes come from a classes.ini among paths, else from a
 * classes.ini next to the first tenant file or in its parent directory
 * (DIR/tenants/x.ini -> DIR/classes.ini), else the built-in ladder. The host
 * config comes from a *.conf among paths, else defaults. At most one of each.
 * Same returns as policy_load_dir(). */
int policy_load_paths(char *const *paths, size_t n, PolicySet *ret, PolicyErrors *errs);

/* tenantd.conf alone, for the daemon's start (TENANTD_CONF names the file, its
 * [policy] dir names the directory to load). Returns 0, -ENOENT without an
 * error in errs when the file does not exist (use host_config_default()),
 * -EINVAL with errors. */
int policy_load_config(const char *path, HostConfig *ret, PolicyErrors *errs);

/* Open and read one policy file with the checks above. *ret_text is
 * NUL-terminated for convenience, but may contain NUL bytes: use *ret_len.
 * Returns 0, or -errno with an error in errs (-ENOENT without one when
 * missing_ok, so callers can fall back to defaults). */
int policy_read_file(int dirfd, const char *path, const char *label, bool missing_ok,
                     char **ret_text, size_t *ret_len, PolicyErrors *errs);
