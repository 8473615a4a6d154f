/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults in the whole pipeline (engine_apply, as tenantctl --direct and tenantd
 * run it) with the cgroupfs backend on a fixture tree: a write that fails with
 * EBUSY, ENOSPC, EINVAL or EACCES at the first, a middle or the last write of
 * an apply, on a first apply and on a re-apply with reassign overrides; a
 * hugepage pool that cannot be grown, and a grown pool whose apply then fails.
 * Each run either completes or leaves every file of the cgroup and sysfs
 * fixtures exactly as it found them, with a message naming the tenant, the
 * file, the value and the errno text; and the next apply works.
 *
 * Not here: pools that come up short. EngineOptions has no HugetlbHooks seam
 * and a fixture file reads back what was written, so shortages are covered
 * by tests/test-hugetlb.c (hugetlb_reserve/restore with hooks) and the
 * numa-pool-short testbed scenario. The manager (manager.h) cannot run on a
 * fixture either: it opens its backend with backend_open(), which refuses a
 * root that is not cgroup2, and reads the running host's topology; the tests
 * at the end show that refusal and the manager's checks before the engine.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "engine.h"
#include "fake-cgroupfs.h"
#include "manager.h"

#define MiB (UINT64_C(1) << 20)

static const char topology_text[] = "[host]\n"
                                    "memory = 8G\n"
                                    "page_size = 4096\n"
                                    "hugepage_sizes = 2M\n"
                                    "swap_accounting = yes\n"
                                    "zswap_accounting = yes\n"
                                    "[node0]\n"
                                    "memory = 4G\n"
                                    "cpus = 0-3\n"
                                    "distances = 10,21\n"
                                    "hugepages_2M = 16\n"
                                    "hugepages_2M_free = 16\n"
                                    "[node1]\n"
                                    "memory = 4G\n"
                                    "cpus = 4-7\n"
                                    "distances = 21,10\n";

/* db: critical, 24 x 2M hugepages on node 0 (the pool has 16: it grows to 24) */
static const char db_ini[] = "[tenant]\nclass = critical\n[memory]\nrequest = 96M\nlimit = 128M\n"
                             "[numa]\nnodes = 0\n[hugepages]\nsize = 2M\ncount = 24\n";
static const char web_ini[] = "[tenant]\nkind = container\nclass = normal\n[memory]\nrequest = 32M\nlimit = 64M\n"
                              "[cpu]\nweight = 200\n";
static const char batch_ini[] = "[tenant]\nclass = low\n[memory]\nrequest = 16M\nlimit = 48M\n";

static FakeCg fake;
static Cgfs *cg;
static Backend *backend;
static HostTopology host;
static char tmp[64], policy[128], sysfs[128], state[128], pool0[256];

static void write_text(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        cr_assert(fd >= 0, "cannot create %s", path);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        cr_assert_eq(fchmod(fd, 0644), 0);
        close(fd);
}

static void sh(const char *fmt, ...) _printf_(1, 2);
static void sh(const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;

        va_start(ap, fmt);
        cmd = strdup_vprintf(fmt, ap);
        va_end(ap);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void tenant_file(const char *name, const char *text) {
        _cleanup_free_ char *p = strdup_printf("%s/tenants/%s", policy, name);

        write_text(p, text);
}

static void setup(void) {
        CgfsHooks h;
        char *err = NULL;

        fake_cg_setup(&fake);
        /* as on the testbed: the mount root hands every controller down (see
         * controllers_enabled_by_a_failed_apply for a root that does not) */
        fake_cg_write(&fake, "", "cgroup.subtree_control", "cpuset cpu io memory hugetlb pids");
        h = fake_cg_hooks(&fake);
        cr_assert_eq(cgfs_open(fake.root, &h, &cg), 0);
        cr_assert_eq(backend_cgfs_new(cg, &backend), 0);
        cr_assert_eq(topology_parse(topology_text, strlen(topology_text), &host, &err), 0, "%s", err);

        snprintf(tmp, sizeof(tmp), "/tmp/test-faults-XXXXXX");
        cr_assert_not_null(mkdtemp(tmp));
        cr_assert_eq(chmod(tmp, 0755), 0);
        snprintf(policy, sizeof(policy), "%s/policy", tmp);
        snprintf(sysfs, sizeof(sysfs), "%s/sys", tmp);
        snprintf(state, sizeof(state), "%s/run/hugepages", tmp);
        snprintf(pool0, sizeof(pool0), "%s/devices/system/node/node0/hugepages/hugepages-2048kB", sysfs);
        sh("mkdir -p '%s/tenants' '%s/run' '%s'", policy, tmp, pool0);
        tenant_file("db.ini", db_ini);
        tenant_file("web.ini", web_ini);
        tenant_file("batch.ini", batch_ini);
        {
                /* no trailing newline: the kernel's files are rewritten in place, and
                 * "24" over "16" must read "24", then "16" again */
                _cleanup_free_ char *nr = strdup_printf("%s/nr_hugepages", pool0);
                _cleanup_free_ char *fr = strdup_printf("%s/free_hugepages", pool0);
                write_text(nr, "16");
                write_text(fr, "16");
        }
}

static void teardown(void) {
        backend = backend_free(backend);
        cg = cgfs_free(cg);
        fake_cg_teardown(&fake);
        if (tmp[0])
                sh("rm -rf '%s'", tmp);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 60);

static EngineOptions options(const Overrides *ov) {
        return (EngineOptions) {
                .policy_dir = policy,
                .cgroup_root = fake.root,
                .topology = &host,
                .sysfs = sysfs,
                .overrides = ov,
                .no_launch = true,
                .hugetlb_state = state,
                .reuse_backend = backend,
        };
}

/* The entries of the hugepage state file (its comments aside: a file with no
 * entries means the same as no file). */
static char *state_entries(void) {
        _cleanup_fclose_ FILE *f = fopen(state, "re");
        char line[256], *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);

        cr_assert_not_null(out);
        while (f && fgets(line, sizeof(line), f))
                if (line[0] != '#')
                        fputs(line, out);
        fclose(out);
        return buf;
}

/* Everything a run may change: the cgroup fixture, the sysfs fixture and what
 * the state file says tenantd added to the pools. */
static char *snapshot(void) {
        _cleanup_free_ char *a = fake_tree_snapshot(fake.root);
        _cleanup_free_ char *b = fake_tree_snapshot(sysfs);
        _cleanup_free_ char *c = state_entries();

        return strdup_printf("%s--\n%s--\nadded:\n%s", a, b, c);
}

static char *run_errors(const EngineRun *run) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        cr_assert_not_null(f);
        engine_print_errors(run, "t", f);
        fclose(f);
        return buf;
}

/* A good apply. The pool's new pages are free until a tenant maps them, as
 * the kernel would show it. */
static EngineStatus apply(const Overrides *ov) {
        EngineOptions o = options(ov);
        _cleanup_engine_run_ EngineRun run = {0};
        EngineStatus st = engine_apply(&o, &run);
        _cleanup_free_ char *nr = strdup_printf("%s/nr_hugepages", pool0);
        _cleanup_free_ char *fr = strdup_printf("%s/free_hugepages", pool0);
        char pages[32] = "";
        FILE *f;

        if (st != ENGINE_OK) {
                _cleanup_free_ char *e = run_errors(&run);
                cr_log_info("apply: %s", e);
                return st;
        }
        f = fopen(nr, "re");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(pages, sizeof(pages), f));
        fclose(f);
        write_text(fr, pages);
        return st;
}

static const char *const db_cg = "tenants.slice/tenants-critical.slice/tenant-db.scope";
static const char *const web_cg = "tenants.slice/tenants-normal.slice/tenant-web.scope";

/* One write of an apply: the n-th the fixture saw, and the line the engine
 * must print when exactly that write fails. */
typedef struct Fault {
        const char *where;
        unsigned nth;
        const char *message;    /* with %1$s = the fixture root, %2$s = strerror */
} Fault;

static const int errnos[] = { EBUSY, ENOSPC, EINVAL, EACCES };

/* The engine's lines for a failed backend apply; `pools` when the run grew
 * node 0's pool first (a first apply), which is then given back. */
static char *expected(const Fault *f, int e, unsigned rolled_back, bool pools) {
        _cleanup_free_ char *first = NULL;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        first = strdup_printf(f->message, fake.root, strerror(e));
#pragma GCC diagnostic pop
        return strdup_printf("t: apply failed: %s\n"
                             "t: rolled back %u change%s; nothing of this apply remains\n%s",
                             first, rolled_back, rolled_back == 1 ? "" : "s",
                             pools ? "t: node 0: 2M pages: 24 -> 16 (restored)\n" : "");
}

/* Run the apply with write f->nth failing with e; the run must fail with the
 * exact message and leave every file as it was. */
static void check_fault(const Overrides *ov, const Fault *f, int e, unsigned rolled_back) {
        _cleanup_free_ char *before = snapshot(), *after = NULL, *got = NULL, *want = NULL;
        _cleanup_engine_run_ EngineRun run = {0};
        EngineOptions o = options(ov);
        EngineStatus st;

        fake.seen = 0;
        fake.faults = 0;
        fake.fail_nth = f->nth;
        fake.fail_errno = e;
        st = engine_apply(&o, &run);
        fake.fail_nth = 0;
        got = run_errors(&run);
        cr_assert_eq(st, ENGINE_FAILED, "%s write %u (%s): %s", f->where, f->nth, strerror(e), got);
        cr_assert_eq(fake.faults, 1);
        want = expected(f, e, rolled_back, ov == NULL);
        cr_assert_str_eq(got, want, "%s write %u (%s):\n%s", f->where, f->nth, strerror(e), got);
        after = snapshot();
        cr_assert_str_eq(after, before, "%s write %u (%s) left changes behind", f->where, f->nth, strerror(e));
}

/* Apply for real (no fault) and count the writes it made. */
static unsigned count_writes(const Overrides *ov) {
        fake.seen = 0;
        cr_assert_eq(apply(ov), ENGINE_OK);
        return fake.seen;
}

Test(faults, first_apply_write_fails_anywhere) {
        /* a first apply makes 46 writes (count_writes() below keeps this table
         * honest): the first, one in the middle and the last fail in turn */
        static const Fault faults[] = {
                { "first", 1,
                  "%1$s/tenants.slice: cannot enable controllers 'memory cpu cpuset hugetlb': %2$s" },
                { "middle", 31,
                  "tenant 'db' %1$s/tenants.slice/tenants-critical.slice/tenant-db.scope: memory.max = 134217728: %2$s" },
                { "last", 46,
                  "tenant 'batch' %1$s/tenants.slice/tenants-low.slice/tenant-batch.scope: hugetlb.2MB.rsvd.max = 0: %2$s" },
        };
        static const unsigned rolled_back[] = { 1, 31, 48 };

        for (size_t i = 0; i < ELEMENTSOF(faults); i++)
                for (size_t k = 0; k < ELEMENTSOF(errnos); k++)
                        check_fault(NULL, &faults[i], errnos[k], rolled_back[i]);

        /* and then it works, with the values of the plan */
        cr_assert_eq(count_writes(NULL), 46, "the fault table above is out of date");
        cr_assert_str_eq(fake_cg_read(&fake, db_cg, "memory.min"), "100663296");
        cr_assert_str_eq(fake_cg_read(&fake, web_cg, "memory.max"), "67108864");
}


/* reassign: web request 48M and limit 96M, db limit 160M, batch to besteffort */
static void reassign_overrides(Overrides *ov) {
        *ov = (Overrides) {0};
        cr_assert_eq(overrides_set(ov, "web", OVERRIDE_REQUEST, "48M"), 0);
        cr_assert_eq(overrides_set(ov, "web", OVERRIDE_LIMIT, "96M"), 0);
        cr_assert_eq(overrides_set(ov, "db", OVERRIDE_LIMIT, "160M"), 0);
        cr_assert_eq(overrides_set(ov, "batch", OVERRIDE_CLASS, "besteffort"), 0);
}

Test(faults, reassign_write_fails_anywhere) {
        /* after a good apply, only what differs is written: the sums on two
         * slices, db's limit, web's three values, and batch's new leaf */
        static const Fault faults[] = {
                { "first", 1, "%1$s/tenants.slice: memory.low = 50331648: %2$s" },
                { "middle", 6,
                  "tenant 'web' %1$s/tenants.slice/tenants-normal.slice/tenant-web.scope: memory.max = 100663296: %2$s" },
                { "last", 11,
                  "tenant 'batch' %1$s/tenants.slice/tenants-besteffort.slice/tenant-batch.scope: hugetlb.2MB.rsvd.max = 0: %2$s" },
        };
        static const unsigned rolled_back[] = { 0, 5, 11 };
        _cleanup_(overrides_done) Overrides ov;

        cr_assert_eq(apply(NULL), ENGINE_OK);
        reassign_overrides(&ov);
        for (size_t i = 0; i < ELEMENTSOF(faults); i++)
                for (size_t k = 0; k < ELEMENTSOF(errnos); k++)
                        check_fault(&ov, &faults[i], errnos[k], rolled_back[i]);
        cr_assert_str_eq(fake_cg_read(&fake, web_cg, "memory.max"), "67108864", "the policy's value is still in force");

        cr_assert_eq(count_writes(&ov), 11, "the fault table above is out of date");
        cr_assert_str_eq(fake_cg_read(&fake, web_cg, "memory.max"), "100663296");
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice/tenants-besteffort.slice/tenant-batch.scope", "memory.max"),
                         "50331648");
        cr_assert_str_eq(fake_cg_read(&fake, "tenants.slice/tenants-low.slice/tenant-batch.scope", "memory.max"), "",
                         "the old leaf is gone");
}

/* The last step of an apply, removing batch's old leaf (it holds a process),
 * fails: everything before it is undone. */
Test(faults, stale_removal_fails) {
        _cleanup_(overrides_done) Overrides ov;
        _cleanup_free_ char *before = NULL, *after = NULL, *got = NULL, *want = NULL;
        _cleanup_engine_run_ EngineRun run = {0};
        EngineOptions o;
        static const Fault f = {
                "stale", 0, "%1$s/tenants.slice/tenants-low.slice/tenant-batch.scope: cannot remove stale tenant: %2$s"
        };

        cr_assert_eq(apply(NULL), ENGINE_OK);
        fake_cg_write(&fake, "tenants.slice/tenants-low.slice/tenant-batch.scope", "cgroup.events", "populated 1\nfrozen 0");
        fake_cg_write(&fake, "tenants.slice/tenants-low.slice/tenant-batch.scope", "cgroup.procs", "4242");
        reassign_overrides(&ov);
        before = snapshot();
        fake.fail_attr = "cgroup.kill";
        fake.fail_errno = EACCES;
        o = options(&ov);
        cr_assert_eq(engine_apply(&o, &run), ENGINE_FAILED);
        got = run_errors(&run);
        want = expected(&f, EACCES, 12, false);
        cr_assert_str_eq(got, want);
        after = snapshot();
        cr_assert_str_eq(after, before);
}

/* ---- hugepage pools ----------------------------------------------------------------- */

/* Node 0's pool refuses the write, as a read-only kernel file does (a
 * read-only sysctl that reads 65536: EACCES even for root): nothing is applied. */
Test(faults, pool_write_fails) {
        static const char ro[] = "/proc/sys/kernel/ngroups_max";
        _cleanup_free_ char *nr = strdup_printf("%s/nr_hugepages", pool0);
        _cleanup_free_ char *before = NULL, *after = NULL, *got = NULL, *want = NULL;
        _cleanup_engine_run_ EngineRun run = {0};
        EngineOptions o = options(NULL);
        int fd, e;

        fd = open(ro, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                cr_skip_test("%s is writable here", ro);
        }
        e = errno;
        cr_assert_eq(unlink(nr), 0);
        cr_assert_eq(symlink(ro, nr), 0);
        before = snapshot();
        cr_assert_eq(engine_apply(&o, &run), ENGINE_FAILED);
        got = run_errors(&run);
        /* 65536 in the pool, 16 free: 65520 are someone else's, so the pool needs 65544 */
        want = strdup_printf("t: cannot reserve hugepages: node 0: 2M pages: cannot write %s/nr_hugepages = 65544: %s\n"
                             "t: hugepage pools restored; nothing applied\n",
                             pool0, strerror(e));
        cr_assert_str_eq(got, want);
        cr_assert_eq(fake.seen, 0, "a cgroup file was written");
        after = snapshot();
        cr_assert_str_eq(after, before);
}

/* The pool grew (16 -> 24 pages) and then the cgroup apply failed: the pool
 * and the state file are back where they were, then a clean apply keeps them. */
Test(faults, grown_pool_is_given_back) {
        _cleanup_free_ char *nr = strdup_printf("%s/nr_hugepages", pool0);
        _cleanup_free_ char *added = NULL, *pool = NULL;
        static const Fault f = {
                "db's hugetlb limit", 34,
                "tenant 'db' %1$s/tenants.slice/tenants-critical.slice/tenant-db.scope: hugetlb.2MB.max = 50331648: %2$s"
        };

        check_fault(NULL, &f, ENOMEM, 34);
        cr_assert_eq(count_writes(NULL), 46);
        pool = fake_tree_snapshot(pool0);
        cr_assert_str_eq(pool, "./ (0755)\nfree_hugepages (0644) = 24\nnr_hugepages (0644) = 24\n");
        added = state_entries();
        cr_assert_str_eq(added, "0 2097152 8\n");
}

/* ---- controllers ------------------------------------------------------------------- */

/* A root that does not hand hugetlb down yet (systemd never enables it):
 * the apply enables it there, and a failed apply must disable it again,
 * after the slices below that handed it on are gone. */
Test(faults, controllers_enabled_by_a_failed_apply) {
        static const Fault f = {
                "db's memory.max", 32,
                "tenant 'db' %1$s/tenants.slice/tenants-critical.slice/tenant-db.scope: memory.max = 134217728: %2$s"
        };

        fake_cg_write(&fake, "", "cgroup.subtree_control", "cpuset cpu io memory pids");
        check_fault(NULL, &f, EBUSY, 32);
}

/* ---- the manager ------------------------------------------------------------------- */

/* manager_new() takes a cgroup root but no fixture seams: its engine opens
 * the backend with backend_open(), which refuses a root that is not cgroup2
 * before anything is written, and plans against the running host. What it
 * does check before the engine is tested here: unknown and escaping ids. */
Test(faults, manager_refuses_a_fixture_root_and_unknown_ids) {
        _cleanup_free_ char *db = strdup_printf("%s/tenants/db.ini", policy), *dir = strdup_printf("%s/run/tenantd", tmp);
        _cleanup_free_ char *before = NULL, *after = NULL, *text = NULL, *want = NULL, *ovpath = NULL;
        static const char *const ids[] = { "web", "../x", "/", ".hidden", "memory.max", "cgroup.procs", "w\xc3\xa9" "b" };
        ManagerOptions mo = {
                .policy_dir = policy,
                .cgroup_root = fake.root,
                .backend = BACKEND_CGROUPFS,
                .has_backend = true,
                .state_dir = dir,
        };
        _cleanup_manager_ Manager *m = NULL;
        char *keys[] = { "limit" }, *values[] = { "1G" };
        pid_t self = getpid();

        cr_assert_eq(unlink(db), 0, "no hugepages: the running host's pools do not matter");
        cr_assert_eq(manager_new(&mo, &m), 0);
        manager_disable_reactions(m);
        before = snapshot();
        cr_assert_eq(manager_apply(m, NULL, "test", &text), ENGINE_FAILED, "%s", text);
        want = strdup_printf("cannot use cgroup root '%s': not on a cgroup2 file system "
                             "(a cgroup v1 or hybrid host? tenantd needs the unified hierarchy)",
                             fake.root);
        cr_assert_str_eq(text, want);
        cr_assert_null(manager_run(m));

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                _cleanup_free_ char *r = NULL, *s = NULL, *a = NULL, *w = NULL;

                w = strdup_printf("no tenant '%s' (nothing applied yet)", ids[i]);
                cr_assert_eq(manager_reassign(m, ids[i], keys, values, 1, &r), ENGINE_INVALID);
                cr_assert_str_eq(r, w);
                cr_assert_eq(manager_stop(m, ids[i], &s), ENGINE_INVALID);
                cr_assert_str_eq(s, w);
                cr_assert_eq(manager_adopt(m, ids[i], &self, 1, &a), ENGINE_INVALID);
                cr_assert_str_eq(a, w);
        }
        after = snapshot();
        cr_assert_str_eq(after, before);
        ovpath = strdup_printf("%s/overrides", dir);
        cr_assert_neq(access(ovpath, F_OK), 0, "overrides were saved");
}

/* A policy file whose name is not UTF-8 (a surrogate, an overlong form, a
 * code point past U+10FFFF) makes the apply fail; the event that says so
 * quotes the name and must still be UTF-8 as D-Bus counts it, or GetEvents
 * and the Event signal fail for everyone until the event leaves the ring. */
Test(faults, manager_events_stay_valid_utf8) {
        _cleanup_free_ char *dir = strdup_printf("%s/run/tenantd", tmp), *bad = NULL, *text = NULL, *want = NULL;
        ManagerOptions mo = { .policy_dir = policy, .cgroup_root = fake.root, .state_dir = dir };
        _cleanup_manager_ Manager *m = NULL;
        const EventLog *log;
        const TenantEvent *ev;

        bad = strdup_printf("%s/tenants/x\xed\xa0\x80y\xe0\x80\x80z\xf4\x90\x80\x80.ini", policy);
        write_text(bad, web_ini);
        cr_assert_eq(manager_new(&mo, &m), 0);
        manager_disable_reactions(m);
        cr_assert_eq(manager_apply(m, NULL, "test", &text), ENGINE_INVALID, "%s", text);
        log = manager_events(m);
        cr_assert_eq(log->n, 1);
        ev = event_log_at(log, 0);
        cr_assert_str_eq(ev->action, "apply-failed");
        /* every byte that is not part of a character becomes '?' */
        static const char mangled[] = "x?" "??y?" "??z?" "???";
        want = strdup_printf("%s/tenants/%s.ini: tenant.name: invalid tenant id from the file name, set "
                             "tenant.name: non-ASCII character, use [A-Za-z0-9_.-] (%s)",
                             policy, mangled, mangled);
        cr_assert_str_eq(ev->detail, want);
}

/* ---- nothing outside tenants.slice is written -------------------------------- */

static char outside[4096];

static bool under_tenants_slice(const char *path) {
        return strncmp(path, "tenants.slice", 13) == 0 && (path[13] == '\0' || path[13] == '/');
}

static void note_outside(const char *path, const char *attr, const char *value, void *userdata) {
        size_t l = strlen(outside);

        if (under_tenants_slice(path))
                return;
        snprintf(outside + l, sizeof(outside) - l, "%s/%s = %s\n", path, attr, value);
}

/* The cgroup tree without tenants.slice, as a snapshot. */
static char *outside_snapshot(void) {
        _cleanup_free_ char *all = fake_tree_snapshot(fake.root);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        cr_assert_not_null(f);
        for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"))
                if (!under_tenants_slice(line))
                        fprintf(f, "%s\n", line);
        fclose(f);
        return buf;
}

/* A first apply, a re-apply with reassign overrides (batch moves class), a
 * tenant whose policy is gone: the only write outside tenants.slice is the
 * root's cgroup.subtree_control, handing the controllers down, and only when
 * they are not enabled there yet. */
Test(faults, nothing_outside_tenants_slice_is_written) {
        _cleanup_(overrides_done) Overrides ov;
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_free_ char *rm = strdup_printf("%s/tenants/web.ini", policy);

        outside[0] = '\0';
        fake.on_write = note_outside;
        before = outside_snapshot();
        cr_assert_eq(apply(NULL), ENGINE_OK);
        reassign_overrides(&ov);
        cr_assert_eq(apply(&ov), ENGINE_OK);
        cr_assert_eq(unlink(rm), 0);
        cr_assert_eq(apply(&ov), ENGINE_OK);
        cr_assert_str_eq(outside, "", "written outside tenants.slice:\n%s", outside);
        after = outside_snapshot();
        cr_assert_str_eq(after, before);

        /* a root without the controllers: they are handed down there, nothing else */
        fake_cg_write(&fake, "", "cgroup.subtree_control", "");
        cr_assert_eq(apply(&ov), ENGINE_OK);
        cr_assert_str_eq(outside, "/cgroup.subtree_control = +memory +cpu +cpuset +hugetlb\n", "%s", outside);
        fake.on_write = NULL;
}
