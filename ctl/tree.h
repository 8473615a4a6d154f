/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree: read the tenant hierarchy back from the kernel and print it, as
 * `tenantctl tree` shows it. Owns nothing but reading and formatting.
 */
#pragma once

#include "cgfs.h"

/* Print <root>/<top> and everything below it: memory.min/low/high/max,
 * memory.current, cpuset, hugetlb limits and the number of processes, all as
 * the kernel reports them now. Returns 0, -ENOENT when top does not exist. */
int tree_print(Cgfs *c, const char *top, FILE *f);
int tree_print_json(Cgfs *c, const char *top, FILE *f);
