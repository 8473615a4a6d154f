/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy: the policy language as plain structs, and its parsers.
 *
 * Owns: tenant.ini(5), classes.ini and tenantd.conf(5) parsing (inih) and
 * validation, producing exact "file:line: key: problem (value)" errors.
 * Does not own: reading directories or files (policy-load.c), host facts
 * (topology.h), or any derived numbers (plan.h). The parse functions take text
 * and do no I/O, so they can be fuzzed directly.
 */
#pragma once

#include "util.h"

#define TENANT_ID_MAX 48   /* keeps "tenant-<escaped id>.service" well below NAME_MAX */
#define CLASS_NAME_MAX 32
#define CLASSES_MAX 16

/* A parser stops reporting after this many errors in one file (and says so),
 * so a binary file does not bury the useful messages. */
#define POLICY_FILE_ERRORS_MAX 50
/* Policy files larger than this are refused by the loader (policy-load.h). */
#define POLICY_FILE_SIZE_MAX (1024 * 1024)
/* Longest line, not counting indentation and trailing blanks (comment lines
 * are not limited). inih reads lines into a fixed buffer (INI_MAX_LINE, 200
 * bytes in Debian's build) that must also hold the newline and a NUL; longer
 * lines are errors, never truncated or split. */
#define POLICY_LINE_MAX 198

/* ---- errors ------------------------------------------------------------ */

typedef struct PolicyError {
        char *file;      /* as given by the caller (path or "<stdin>") */
        unsigned line;   /* 1-based; 0 when the problem is about the file as a whole */
        char *key;       /* "section.key", "[section]" or "" */
        char *problem;   /* "unknown key, did you mean 'request'?" */
        char *value;     /* the offending text as written, may be NULL */
        int errnum;      /* EINVAL, ERANGE, ENOENT, EEXIST, ENOSPC ... */
} PolicyError;

typedef struct PolicyErrors {
        PolicyError *v;
        size_t n;
} PolicyErrors;

void policy_errors_add(PolicyErrors *e, const char *file, unsigned line, const char *key,
                       const char *value, int errnum, const char *fmt, ...) _printf_(7, 8);
/* "file:line: key: problem (value)"; " (value)" omitted when value is NULL,
 * ":line" when line is 0, "key: " when key is "". One error per line. */
void policy_errors_print(const PolicyErrors *e, FILE *f);
void policy_errors_clear(PolicyErrors *e);

/* ---- sizes --------------------------------------------------------------- */

/* A size as written: absolute bytes (or SIZE_INFINITY / SIZE_UNSET), or a share of
 * host memory in basis points (1% == 100) when percent_bp != 0 (bytes is then 0;
 * "0%" is stored as 0 bytes). Resolve with size_resolve(). */
typedef struct SizeSpec {
        uint64_t bytes;
        uint32_t percent_bp;
} SizeSpec;

#define SIZE_SPEC_UNSET ((SizeSpec) { .bytes = SIZE_UNSET })

/* Parse "0", "512", "4K", "1.5G", "2T", "max", "infinity", and "25%" when
 * allow_percent. Suffixes K M G T P E are binary (K = 1024), either case, with
 * an optional "B" or "iB"; fractions need a suffix and round down to a byte;
 * at most 8E. Percentages have at most two decimals. Returns 0, -EINVAL
 * (syntax, including a sign), -ERANGE (overflow, > 100%). */
int size_parse(const char *s, bool allow_percent, SizeSpec *ret);
/* Resolve against host memory; percentages round down to 4 KiB pages. */
uint64_t size_resolve(SizeSpec s, uint64_t host_total);
/* "2G", "1536M", "4K", "4097", "max": exact, largest binary suffix that
 * divides. SIZE_UNSET gives "unset". 32 bytes always suffice. */
char *size_format(uint64_t bytes, char *buf, size_t size);

/* Durations need a unit: "500us", "150ms", "1s", "2.5s", "1min". Returns 0,
 * -EINVAL (syntax, missing unit, not a whole number of microseconds), -ERANGE. */
int duration_parse(const char *s, uint64_t *ret_usec);

/* ---- reaction thresholds --------------------------------------------------- */

typedef struct PressureSpec {
        bool full;               /* "full" rather than "some" stall */
        uint64_t stall_usec;     /* trigger: stall per window; UINT64_MAX unset */
        uint64_t window_usec;    /* 500ms..10s per kernel rules; UINT64_MAX unset */
        uint32_t recover_bp;     /* low-water mark, avg10 in basis points; UINT32_MAX unset */
        uint64_t hold_usec;      /* time below low water before undoing a step */
} PressureSpec;

#define PRESSURE_SPEC_UNSET                                                              \
        ((PressureSpec) { .stall_usec = UINT64_MAX, .window_usec = UINT64_MAX,          \
                          .recover_bp = UINT32_MAX, .hold_usec = UINT64_MAX })

/* PSI trigger "some|full STALL WINDOW", e.g. "some 150ms 1s". Checks the kernel's
 * rules: 500ms <= window <= 10s, 0 < stall <= window (-ERANGE otherwise).
 * Sets full, stall_usec and window_usec of *ret, leaves the other fields. */
int pressure_trigger_parse(const char *s, PressureSpec *ret);

/* ---- classes.ini --------------------------------------------------------- */

typedef enum ProtectKind {
        PROTECT_NONE,
        PROTECT_LOW,  /* memory.low = request */
        PROTECT_MIN,  /* memory.min = request */
} ProtectKind;

typedef enum EvictPolicy {
        EVICT_NEVER,
        EVICT_LAST_RESORT,
        EVICT_YES,
        EVICT_FIRST,
} EvictPolicy;

/* memory.high = request + high_bp/10000 * (limit - request); HIGH_BP_MAX means "max". */
#define HIGH_BP_MAX UINT32_MAX

typedef struct PolicyClass {
        char name[CLASS_NAME_MAX + 1];
        unsigned rank;           /* larger = more important; unique */
        ProtectKind protect;
        uint32_t high_bp;        /* 10000 = limit, 9000 = request + 0.9 (limit - request) */
        uint64_t swap_max;       /* default for tenants: 0, SIZE_INFINITY, or bytes */
        uint64_t zswap_max;
        EvictPolicy evict;
        unsigned cpu_weight;     /* default cpu.weight, 1..10000 */
        PressureSpec pressure;   /* unset fields: tenantd.conf [pressure] */
        char *file;              /* NULL for the built-in ladder */
        unsigned line;           /* line of the [class.NAME] header */
} PolicyClass;

typedef struct PolicyClasses {
        PolicyClass v[CLASSES_MAX];
        size_t n;
} PolicyClasses;

/* The built-in ladder (critical, high, normal, low, besteffort) used when a
 * policy directory has no classes.ini; identical to the shipped file. */
void policy_classes_default(PolicyClasses *ret);
const PolicyClass *policy_classes_find(const PolicyClasses *c, const char *name);
/* Frees the file names; the array itself is by value. */
void policy_classes_done(PolicyClasses *c);

/* ---- tenant.ini ---------------------------------------------------------- */

typedef enum TenantKind {
        TENANT_PROCESS,    /* plain processes (exec= or adopted) */
        TENANT_CONTAINER,
        TENANT_VM,
} TenantKind;

typedef enum NumaMode {
        NUMA_STRICT,       /* cpuset.mems = nodes */
        NUMA_PREFERRED,    /* cpus pinned, memory not bound */
} NumaMode;

typedef struct TenantPolicy {
        char id[TENANT_ID_MAX + 1];
        char *file;
        unsigned line;                  /* line of [tenant] */
        TenantKind kind;
        char class_name[CLASS_NAME_MAX + 1];
        char *exec;                     /* NULL: adopted / started elsewhere */
        char *description;

        /* [memory] After a successful tenant_parse() request and limit are
         * always set (defaults applied). For VMs both are guest RAM only (both
         * default to vm.memory; limit >= vm.memory >= request is checked): the
         * planner adds the VM overhead to the guarantee and to memory.max. */
        SizeSpec request;               /* guarantee; required (VMs: default vm.memory) */
        SizeSpec limit;                 /* hard cap; default = request (VMs: guest RAM + overhead) */
        SizeSpec swap;                  /* memory.swap.max (swap only, not memory+swap);
                                           unset = class default; 0 = no swap */
        SizeSpec zswap;

        /* [cpu] "cpus = 2" is a count; a value with '-' or ',' ("4-7", "3-3") is a
         * list, and "cpu_list = 3" is always a list. At most one of the two. */
        unsigned cpu_count;             /* "cpus = 2": count, auto-placed; 0 unset */
        CpuSet cpu_list;                /* "cpus = 4-7": explicit list */
        bool has_cpu_list;
        unsigned cpu_weight;            /* 0 = class default */

        /* [numa] */
        bool nodes_auto;                /* "nodes = auto" */
        NodeSet nodes;                  /* explicit nodes */
        bool has_nodes;                 /* [numa] given at all (then nodes_auto or nodes
                                           is set: [numa] without nodes= means auto) */
        NumaMode numa_mode;

        /* [hugepages] For a VM they back all of its guest RAM (the parser checks
         * count * size >= vm.memory), so memory.* only has to cover the overhead. */
        uint64_t huge_size;             /* bytes: 2 MiB or 1 GiB; 0 = none (then count 0) */
        uint64_t huge_count;

        /* [vm] */
        uint64_t vm_memory;             /* guest RAM bytes; SIZE_UNSET if not a VM */
        unsigned vm_vcpus;              /* default 1; 0 if not a VM */
        char *vm_qmp;                   /* default /run/tenantd/qmp/<id>.sock; NULL if not a VM */
        bool vm_balloon;                /* default yes */
        uint64_t vm_video;              /* video memory bytes; SIZE_UNSET = tenantd.conf default */
        char *vm_kernel;                /* direct kernel boot (-kernel); NULL: firmware boot */
        char *vm_initrd;                /* -initrd; NULL none */
        char *vm_append;                /* -append; NULL none */

        /* [pressure] per-tenant overrides */
        PressureSpec pressure;
        bool evictable;                 /* false forces never-evict even in an evictable class;
                                           default true (follow the class) */
        bool has_evictable;

        /* line of every key as given, for later (semantic) errors; 0 if absent */
        unsigned line_request, line_limit, line_class, line_cpus, line_nodes, line_huge,
                line_vm_memory, line_id;
        /* line_id: of `name =`, else of [tenant], else 0 (id from the file name);
         * line_huge: of hugepages.count */
        unsigned line_kind, line_swap, line_zswap, line_cpu_weight, line_pressure;
} TenantPolicy;

/* Parse one tenant file's text. `file` is only used in messages; `default_id` is
 * the id when [tenant] has no `name =` (the caller passes the file stem).
 * Errors go to errs; returns 0 when the text is valid on its own, -EINVAL
 * otherwise (ret is then filled as far as possible and must still be freed). */
int tenant_parse(const char *text, size_t len, const char *file, const char *default_id,
                 TenantPolicy *ret, PolicyErrors *errs);
/* The checks tenant_parse() ends with, on their own (request <= limit, VM rules,
 * hugepages): for a policy changed after parsing (reassign). 0 or -EINVAL. */
int tenant_policy_check(const TenantPolicy *t, PolicyErrors *errs);
void tenant_policy_done(TenantPolicy *t);

/* Tenant ids: [A-Za-z0-9_.-], 1..TENANT_ID_MAX, no leading '.' or '-', not "." or "..",
 * not a cgroup attribute name ("cgroup.procs", "memory.max", ...). */
bool tenant_id_is_valid(const char *id);
/* NULL when valid, else why not, as fixed text ("must not start with '.' or '-'"). */
const char *tenant_id_problem(const char *id);

/* Sections are [class.NAME] (NAME: [a-z][a-z0-9_]*, it becomes part of a slice
 * name, so no '-'). Like tenant_parse(), *ret must be freed even on -EINVAL. */
int classes_parse(const char *text, size_t len, const char *file, PolicyClasses *ret,
                  PolicyErrors *errs);

/* ---- tenantd.conf -------------------------------------------------------- */

typedef enum BackendKind {
        BACKEND_AUTO,
        BACKEND_SYSTEMD,
        BACKEND_CGROUPFS,
} BackendKind;

typedef struct HostConfig {
        SizeSpec reserve;               /* kept for the host; default 10% */
        uint32_t overcommit_bp;         /* sum(limits) <= ratio * (total - reserve); 15000 = 1.5 */
        BackendKind backend;
        char *cgroup_root;              /* cgroup2 mount + parent; default /sys/fs/cgroup */
        char *policy_dir;               /* default /etc/tenantd */
        /* VM overhead added to guest RAM for memory.max and admission */
        uint64_t vm_overhead_fixed;     /* QEMU process; default 128M */
        uint64_t vm_overhead_per_vcpu;  /* default 8M */
        uint64_t vm_video_default;      /* default 16M */
        /* guest RAM / vm_pagetable_divisor for page tables; default 512 */
        unsigned vm_pagetable_divisor;
        PressureSpec pressure;          /* defaults for classes that give none */
        PressureSpec host_pressure;     /* [pressure] host_trigger, on /proc/pressure/memory;
                                           recover and hold come from `pressure` */
        SizeSpec headroom;              /* [pressure] headroom: MemAvailable the unprotected
                                           classes must leave; bytes 0 = off (the default) */
        char *read_group;               /* [api] read_group: may use tenantd's read-only
                                           D-Bus methods; "" = root only */
        char *file;
} HostConfig;

/* Strings are malloc'ed (NULL only when out of memory). */
void host_config_default(HostConfig *ret);
/* Starts from host_config_default(); *ret must be freed even on -EINVAL.
 * An empty file is valid (all defaults). */
int host_config_parse(const char *text, size_t len, const char *file, HostConfig *ret,
                      PolicyErrors *errs);
void host_config_done(HostConfig *c);

/* ---- a policy set: everything loaded from one directory ------------------ */

typedef struct PolicySet {
        PolicyClasses classes;
        TenantPolicy *tenants;          /* sorted by id */
        size_t n_tenants;
        HostConfig config;
} PolicySet;

/* Cross-file checks: unknown class (the error lists the known ones), duplicate
 * ids (one error at each location). The per-file checks (request > limit, VM
 * without vm.memory, ...) are tenant_parse()'s and tenant_policy_check()'s.
 * Appends to errs; returns 0 or -EINVAL. */
int policy_set_validate(const PolicySet *s, PolicyErrors *errs);
void policy_set_done(PolicySet *s);
