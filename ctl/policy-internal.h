/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-internal: what the three policy parsers (tenant.ini in policy.c,
 * classes.ini in classes.c, tenantd.conf in conf.c) share: the INI front end
 * around inih, error reporting with a per-file cap, and value parsers that
 * report fixed-text problems. Not part of the API other modules use.
 */
#pragma once

#include "policy.h"

/* Where errors of one file go; stops accepting them after POLICY_FILE_ERRORS_MAX. */
typedef struct ErrSink {
        const char *file;
        PolicyErrors *errs;
        unsigned n;
        bool gave_up;
} ErrSink;

void sink_error(ErrSink *s, unsigned line, const char *key, const char *value, int errnum,
                const char *fmt, ...) _printf_(6, 7);

typedef struct IniParser IniParser;

struct IniParser {
        ErrSink sink;

        /* Called at each well-formed section header. Returns false when the
         * section is unknown or refused (after reporting it): keys under it are
         * then skipped, so one typo gives one error, not one per key. */
        bool (*on_section)(IniParser *p, const char *name);
        /* Called for each "key = value" in an accepted section. fullkey is
         * "section.key", the form errors use. value may be empty: the key
         * lookup reports that as "missing value". */
        void (*on_assign)(IniParser *p, const char *key, const char *fullkey, const char *value);
        void *userdata;

        /* Valid inside the callbacks. */
        unsigned line;              /* physical line, 1-based */
        char *section;              /* as written; NULL before the first header */
        unsigned section_line;
        bool section_ok;
        bool any_content;           /* saw a section header or a key line */
        bool refused;               /* not a text file: nothing was parsed */

        /* the line being parsed; inih's copies are not used (see policy-ini.c) */
        char key[POLICY_LINE_MAX + 1];
        char value[POLICY_LINE_MAX + 1];

        /* reader state */
        const char *text;
        size_t len, pos;
};

/* Runs inih over text (any bytes, not NUL-terminated), calling p->on_section and
 * p->on_assign. Every malformed line is reported (inih itself only returns the
 * first). Returns 0 or -ENOMEM; problems are in p->sink. */
int ini_run(IniParser *p, const char *text, size_t len);
void ini_parser_done(IniParser *p);

/* A key table row; rows of one section are contiguous. */
typedef struct IniKey {
        const char *section;
        const char *name;
} IniKey;

/* Index of `name` among the sections, or -1 after reporting "unknown section"
 * (with a suggestion). seen[] holds header lines, for "duplicate section". */
int ini_section_lookup(IniParser *p, const char *const *sections, size_t n, unsigned *seen,
                       const char *name);
/* Index of key in table (rows whose section is `section`), or -1 after reporting
 * "unknown key" (with a suggestion) or "duplicate key". seen[] has one line per row. */
int ini_key_lookup(IniParser *p, const IniKey *table, size_t n, unsigned *seen,
                   const char *section, const char *key, const char *fullkey, const char *value);

/* The candidate closest to s by edit distance (transpositions count as one edit),
 * or NULL when none is close enough to be a plausible typo. */
const char *closest_name(const char *s, const char *const *cands, size_t n);

/* Value parsers: on failure they report to the sink (key and value quoted) and
 * return false; *ret is then untouched. */
bool value_size(ErrSink *s, unsigned line, const char *key, const char *value, bool allow_percent,
                bool allow_infinity, SizeSpec *ret);
bool value_bytes(ErrSink *s, unsigned line, const char *key, const char *value, bool allow_infinity,
                 uint64_t *ret);
bool value_uint(ErrSink *s, unsigned line, const char *key, const char *value, uint64_t min,
                uint64_t max, uint64_t *ret);
bool value_bool(ErrSink *s, unsigned line, const char *key, const char *value, bool *ret);
/* names[] is terminated by NULL; ret is the index. */
bool value_enum(ErrSink *s, unsigned line, const char *key, const char *value,
                const char *const *names, int *ret);
bool value_percent(ErrSink *s, unsigned line, const char *key, const char *value, uint32_t *ret_bp);
/* min/max are checked after parsing and printed with the unit they were given in. */
bool value_duration(ErrSink *s, unsigned line, const char *key, const char *value,
                    uint64_t min_usec, uint64_t max_usec, uint64_t *ret_usec);
/* Absolute, no "..", normalised ("//" and "/./" collapsed, no trailing '/'). */
bool value_path(ErrSink *s, unsigned line, const char *key, const char *value, char **ret);

/* trigger / recover / hold, shared by [pressure] of all three files and by
 * classes. key is the bare key name; returns false if it is not one of them. */
bool pressure_key(ErrSink *s, unsigned line, const char *key, const char *fullkey,
                  const char *value, PressureSpec *p);

/* NULL or why `name` cannot be a class name (it becomes "tenants-NAME.slice"). */
const char *class_name_problem(const char *name);

/* Percent with up to two decimals, "5%", "2.5%", "100%", to basis points.
 * -EINVAL syntax, -ERANGE over 100%. */
int percent_parse(const char *s, uint32_t *ret_bp);
