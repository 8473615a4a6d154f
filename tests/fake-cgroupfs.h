/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fixture cgroup tree for unit tests: a temporary directory whose cgroups are
 * populated with the attribute files a cgroup2 kernel shows, and a write hook
 * that emulates cgroup.subtree_control's "+ctrl" syntax and injects faults.
 * It proves logic only; the testbed suite runs the same code on a real kernel.
 */
#pragma once

#include "cgfs.h"

typedef struct FakeCg {
        char root[64];
        /* fault injection: fail writes of `fail_attr` (optionally only under a
         * path containing `fail_path`) with -fail_errno */
        const char *fail_attr;
        const char *fail_path;
        int fail_errno;
        unsigned faults;
        /* fault injection by position: fail only the fail_nth write the hook
         * sees (1-based; 0: off) with -fail_errno; `seen` counts every write */
        unsigned fail_nth;
        unsigned seen;
        /* called for every attribute write the hook sees (path relative to
         * the root, "" for the root itself), before any fault */
        void (*on_write)(const char *path, const char *attr, const char *value, void *userdata);
        void *on_write_userdata;
} FakeCg;

/* Creates the root with the files of a cgroup2 mount root. */
void fake_cg_setup(FakeCg *f);
void fake_cg_teardown(FakeCg *f);
CgfsHooks fake_cg_hooks(FakeCg *f);
/* Read <root>/<path>/<attr> into a static buffer ("" when missing). */
const char *fake_cg_read(FakeCg *f, const char *path, const char *attr);
void fake_cg_write(FakeCg *f, const char *path, const char *attr, const char *value);

/* Every directory and file below dir, one sorted line each: "path/" for a
 * directory, "path = content" for a file (newlines shown as \n); to compare a
 * fixture tree before and after. malloc'ed. */
char *fake_tree_snapshot(const char *dir);
