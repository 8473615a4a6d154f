/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util: small helpers shared by every module: cleanup attributes, sentinels,
 * bit sets for CPUs and NUMA nodes, and whole-file reads. No policy here.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define DECIMAL_STR_MAX(type) (2 + (sizeof(type) <= 1 ? 3 : sizeof(type) <= 2 ? 5 : sizeof(type) <= 4 ? 10 : 20))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                     \
        __extension__ ({                                \
                __typeof__(p) _taken = (p);             \
                (p) = NULL;                             \
                _taken;                                 \
        })
#define TAKE_FD(fd)                                     \
        __extension__ ({                                \
                int _taken = (fd);                      \
                (fd) = -1;                              \
                _taken;                                 \
        })

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* Sizes are bytes in a uint64_t. Two values are reserved:
 *   SIZE_INFINITY  "max"/"infinity": no limit (written to the kernel as "max");
 *   SIZE_UNSET     not given: use the default, or leave the kernel value alone. */
#define SIZE_INFINITY UINT64_MAX
#define SIZE_UNSET (UINT64_MAX - 1)

static inline bool size_is_set(uint64_t v) {
        return v != SIZE_UNSET;
}

/* Fixed-size bit sets. 1024 CPUs and 64 NUMA nodes cover every machine we target;
 * parsers refuse anything larger with ERANGE. */
#define CPUSET_MAX 1024
#define NODESET_MAX 64

typedef struct CpuSet {
        uint64_t bits[CPUSET_MAX / 64];
} CpuSet;

typedef struct NodeSet {
        uint64_t bits;
} NodeSet;

static inline void cpuset_add(CpuSet *s, unsigned cpu) {
        s->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}
static inline bool cpuset_has(const CpuSet *s, unsigned cpu) {
        return cpu < CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}
unsigned cpuset_count(const CpuSet *s);
bool cpuset_is_empty(const CpuSet *s);
bool cpuset_is_subset(const CpuSet *sub, const CpuSet *super);
void cpuset_union(CpuSet *dst, const CpuSet *src);

static inline void nodeset_add(NodeSet *s, unsigned node) {
        s->bits |= UINT64_C(1) << node;
}
static inline bool nodeset_has(const NodeSet *s, unsigned node) {
        return node < NODESET_MAX && (s->bits >> node) & 1;
}
static inline unsigned nodeset_count(const NodeSet *s) {
        return (unsigned) __builtin_popcountll(s->bits);
}

/* Parse a kernel-style list "0-3,8,10-11". Returns 0, -EINVAL on syntax errors,
 * -ERANGE when an element is >= max. Empty string gives an empty set. */
int cpulist_parse(const char *s, CpuSet *ret);
int nodelist_parse(const char *s, NodeSet *ret);

/* Format as the kernel prints it ("0-3,8"); empty set gives "". Returns buf. */
char *cpulist_format(const CpuSet *s, char *buf, size_t size);
char *nodelist_format(const NodeSet *s, char *buf, size_t size);

/* Read a whole small file (sysfs/cgroupfs attribute) relative to dirfd, strip
 * the trailing newline. *ret is malloc'ed. Returns 0 or -errno. */
int read_attr_at(int dirfd, const char *name, char **ret);

/* Write value to an attribute relative to dirfd: one write(2) call, no O_CREAT,
 * O_CLOEXEC. Returns 0 or -errno (the kernel's error). */
int write_attr_at(int dirfd, const char *name, const char *value);

/* qsort comparator for arrays of char* */
int strcmp_ptr(const char *const *a, const char *const *b);

/* NULL-terminated string vectors */
void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
size_t strv_length(char *const *v);

/* MemTotal and MemAvailable of a /proc/meminfo file, in bytes (either pointer
 * may be NULL). 0, -errno, or -ENODATA when a wanted line is missing. */
int meminfo_read(const char *path, uint64_t *ret_total, uint64_t *ret_available);

/* Microseconds of `clock` (CLOCK_MONOTONIC for deadlines). */
uint64_t now_usec(clockid_t clock);
/* mkdir -p: every missing component with mode. 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
/* Replace path atomically: fill() writes the new content to f (returns 0 or
 * -errno), then the temporary file is synced, given mode and renamed over path.
 * A reader sees the old file or the new one, never a part. 0 or -errno. */
int write_file_atomic(const char *path, mode_t mode, int (*fill)(FILE *f, void *userdata), void *userdata);

/* asprintf that returns NULL on failure instead of leaving the pointer undefined. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
char *strdup_vprintf(const char *fmt, va_list ap) _printf_(1, 0);
