/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for reassign overrides (override.h) as a way into the hierarchy:
 * tenant ids that try to escape it (../, /, leading dots, names of kernel
 * files, very long or non-ASCII names) and values that try to smuggle lines
 * into the overrides file are refused by overrides_set(), by overrides_load()
 * and never reach a policy through overrides_apply(); and tenantctl status and
 * adopt --direct fail cleanly (exit 2) for such names without touching the
 * cgroup tree. The loader's side is the bad corpus (tests/corpus/bad/\*-id.ini,
 * run through the loader and the engine by tests/test-policy.c).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "fake-cgroupfs.h"
#include "override.h"
#include "policy.h"

/* Each tries to name something outside tenants.slice or a kernel file. */
static const char *const bad_ids[] = {
        "../x", "..", ".", "/", "/etc", "a/b", "a/../../b", "../../../../sys/fs/cgroup",
        ".hidden", "-x", "memory.max", "cgroup.procs", "cgroup.subtree_control", "cpuset.cpus",
        "hugetlb.2MB.max", "w\xc3\xa9" "b", "web\\x2d01", "a b", "a\nb", "a;b", "$(id)", "",
        "1234567890123456789012345678901234567890123456789",
};

static char *long_id(size_t n) {
        char *s = malloc(n + 1);

        cr_assert_not_null(s);
        memset(s, 'a', n);
        s[n] = '\0';
        return s;
}

/* The one error in e, field by field (NULL: no such field). */
static void assert_one_error(const PolicyErrors *e, const char *file, const char *key, const char *problem,
                             const char *value, int errnum) {
        cr_assert_eq(e->n, 1, "%zu errors", e->n);
        cr_assert_str_eq(e->v[0].file, file);
        cr_assert_str_eq(e->v[0].key ? e->v[0].key : "", key ? key : "");
        cr_assert_str_eq(e->v[0].problem, problem);
        if (value)
                cr_assert_str_eq(e->v[0].value, value);
        else
                cr_assert_null(e->v[0].value);
        cr_assert_eq(e->v[0].errnum, errnum);
}

Test(override, set_refuses_escaping_ids) {
        Overrides o = {0};
        _cleanup_free_ char *huge = long_id(4096);

        for (size_t i = 0; i < ELEMENTSOF(bad_ids); i++)
                for (unsigned k = 0; k < _OVERRIDE_MAX; k++) {
                        cr_assert_eq(overrides_set(&o, bad_ids[i], (OverrideKey) k, "1"), -EINVAL, "'%s'", bad_ids[i]);
                        cr_assert_eq(o.n, 0, "'%s' was stored", bad_ids[i]);
                }
        cr_assert_eq(overrides_set(&o, huge, OVERRIDE_LIMIT, "1G"), -EINVAL);
        cr_assert_eq(o.n, 0);
        /* the longest valid id is fine */
        _cleanup_free_ char *longest = long_id(TENANT_ID_MAX);
        cr_assert_eq(overrides_set(&o, longest, OVERRIDE_LIMIT, "1G"), 0);
        cr_assert_str_eq(overrides_find(&o, longest)->value[OVERRIDE_LIMIT], "1G");
        overrides_done(&o);
}

/* A value becomes one line of /run/tenantd/overrides: nothing that would start
 * a new line, a section or a comment is stored. */
Test(override, set_refuses_values_that_inject_lines) {
        static const char *const bad[] = {
                "1G\n[db]\nclass = besteffort", "1G\r", "[db]", "1G ; comment", "1G # comment", "\x1b[31m", "a\x7f", "",
        };
        Overrides o = {0};

        cr_assert_eq(overrides_set(&o, "web", OVERRIDE_CLASS, "normal"), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cr_assert_eq(overrides_set(&o, "web", OVERRIDE_LIMIT, bad[i]), -EINVAL, "'%s'", bad[i]);
                cr_assert_eq(overrides_set(&o, "db", OVERRIDE_CLASS, bad[i]), -EINVAL, "'%s'", bad[i]);
        }
        /* what was there is unchanged, nothing else appeared */
        cr_assert_eq(o.n, 1);
        cr_assert_str_eq(o.v[0].id, "web");
        cr_assert_str_eq(o.v[0].value[OVERRIDE_CLASS], "normal");
        cr_assert_null(o.v[0].value[OVERRIDE_LIMIT]);
        overrides_done(&o);
}

static char tmp[64];

static void tmp_setup(void) {
        snprintf(tmp, sizeof(tmp), "/tmp/test-override-XXXXXX");
        cr_assert_not_null(mkdtemp(tmp));
}

static void tmp_teardown(void) {
        _cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", tmp);

        cr_assert_eq(system(cmd), 0);
}

static char *tmp_file(const char *name, const char *text) {
        char *p = strdup_printf("%s/%s", tmp, name);
        FILE *f = fopen(p, "we");

        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
        return p;
}

/* The file under /run/tenantd is tenantd's own, but it is read back at every
 * start: a section that is not a valid id throws the whole file away (the
 * daemon logs it and runs on the policy files alone). */
Test(override, load_refuses_escaping_sections, .init = tmp_setup, .fini = tmp_teardown) {
        static const struct {
                const char *text, *key, *problem, *value;
        } cases[] = {
                { "[../x]\nlimit = 1G\n", "../x", "invalid tenant id", NULL },
                { "[/etc]\nclass = low\n", "/etc", "invalid tenant id", NULL },
                { "[.hidden]\nlimit = 1G\n", ".hidden", "invalid tenant id", NULL },
                { "[memory.max]\nlimit = 1G\n", "memory.max", "invalid tenant id", NULL },
                { "[cgroup.procs]\nrequest = 1G\n", "cgroup.procs", "invalid tenant id", NULL },
                { "[w\xc3\xa9" "b]\nlimit = 1G\n", "w\xc3\xa9" "b", "invalid tenant id", NULL },
                { "[1234567890123456789012345678901234567890123456789]\nlimit = 1G\n",
                  "1234567890123456789012345678901234567890123456789", "invalid tenant id", NULL },
                { "limit = 1G\n", "", "invalid tenant id", NULL },
                { "[web]\nlimit = 1G\n[db]\npath = ../../etc\n", "path",
                  "unknown key, expected class, nodes, cpus, request or limit", "../../etc" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = tmp_file("overrides", cases[i].text);
                PolicyErrors e = {0};
                Overrides o = { .n = 4242 };

                cr_assert_eq(overrides_load(p, &o, &e), -EINVAL, "%s", cases[i].text);
                cr_assert_eq(o.n, 0);
                cr_assert_null(o.v);
                assert_one_error(&e, p, cases[i].key, cases[i].problem, cases[i].value, EINVAL);
                policy_errors_clear(&e);
        }
}

/* What overrides_set() accepted is written and read back as it was. */
Test(override, save_load_round_trip, .init = tmp_setup, .fini = tmp_teardown) {
        _cleanup_free_ char *p = strdup_printf("%s/overrides", tmp);
        _cleanup_free_ char *longest = long_id(TENANT_ID_MAX);
        Overrides o = {0}, back = {0};
        PolicyErrors e = {0};

        cr_assert_eq(overrides_set(&o, "web-01", OVERRIDE_LIMIT, "1.5G"), 0);
        cr_assert_eq(overrides_set(&o, "web-01", OVERRIDE_CPUS, "4-7,9"), 0);
        cr_assert_eq(overrides_set(&o, "a.b_c", OVERRIDE_CLASS, "besteffort"), 0);
        cr_assert_eq(overrides_set(&o, longest, OVERRIDE_NODES, "0,1"), 0);
        cr_assert_eq(overrides_save(&o, p), 0);
        cr_assert_eq(overrides_load(p, &back, &e), 0);
        cr_assert_eq(e.n, 0);
        cr_assert_eq(back.n, 3);
        cr_assert_str_eq(overrides_find(&back, "web-01")->value[OVERRIDE_LIMIT], "1.5G");
        cr_assert_str_eq(overrides_find(&back, "web-01")->value[OVERRIDE_CPUS], "4-7,9");
        cr_assert_str_eq(overrides_find(&back, "a.b_c")->value[OVERRIDE_CLASS], "besteffort");
        cr_assert_str_eq(overrides_find(&back, longest)->value[OVERRIDE_NODES], "0,1");
        overrides_done(&o);
        overrides_done(&back);
}

static void one_tenant_set(PolicySet *s, TenantPolicy *t) {
        PolicyErrors e = {0};
        static const char text[] = "[tenant]\nclass = normal\n[memory]\nrequest = 64M\nlimit = 128M\n";

        cr_assert_eq(tenant_parse(text, strlen(text), "web.ini", "web", t, &e), 0);
        *s = (PolicySet) { .tenants = t, .n_tenants = 1 };
        policy_classes_default(&s->classes);
}

/* An override for an id that is not a tenant creates nothing: overrides only
 * ever change tenants the policy files define. */
Test(override, apply_ignores_unknown_and_escaping_ids) {
        Override v[ELEMENTSOF(bad_ids)];
        Overrides o = { .v = v, .n = ELEMENTSOF(bad_ids) };
        PolicySet s;
        TenantPolicy t;
        PolicyErrors e = {0};

        /* built by hand: overrides_set() would refuse every one of them */
        memset(v, 0, sizeof(v));
        for (size_t i = 0; i < ELEMENTSOF(bad_ids); i++) {
                snprintf(v[i].id, sizeof(v[i].id), "%s", bad_ids[i]);
                v[i].value[OVERRIDE_CLASS] = (char *) "critical";
        }
        one_tenant_set(&s, &t);
        cr_assert_eq(overrides_apply(&o, &s, "reassign", &e), 0);
        cr_assert_eq(e.n, 0);
        cr_assert_eq(s.n_tenants, 1);
        cr_assert_str_eq(s.tenants[0].id, "web");
        cr_assert_str_eq(s.tenants[0].class_name, "normal");
        tenant_policy_done(&t);
        policy_classes_done(&s.classes);
}

/* Values that name paths are refused with the reassign error, not used. */
Test(override, apply_refuses_path_values) {
        static const char classes[] = "unknown class, known: critical, high, normal, low, besteffort";
        static const struct {
                OverrideKey k;
                const char *value, *key, *problem;
        } cases[] = {
                { OVERRIDE_CLASS, "../critical", "web.class", classes },
                { OVERRIDE_CLASS, "critical/../../x", "web.class", classes },
                { OVERRIDE_NODES, "../0", "web.nodes", "expected auto or a node list, e.g. 1 or 0,1" },
                { OVERRIDE_CPUS, "/sys/fs/cgroup", "web.cpus", "expected a CPU count (1..1024) or a list, e.g. 2 or 4-7" },
                { OVERRIDE_LIMIT, "../../memory.max", "web.limit", "expected a size, e.g. 512M, 2G, 25% or max" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Overrides o = {0};
                PolicyErrors e = {0};
                PolicySet s;
                TenantPolicy t;

                one_tenant_set(&s, &t);
                cr_assert_eq(overrides_set(&o, "web", cases[i].k, cases[i].value), 0);
                cr_assert_eq(overrides_apply(&o, &s, "reassign", &e), -EINVAL, "%s", cases[i].value);
                assert_one_error(&e, "reassign", cases[i].key, cases[i].problem, cases[i].value,
                                 cases[i].k == OVERRIDE_CLASS ? ENOENT : EINVAL);
                cr_assert_str_eq(t.class_name, "normal");
                policy_errors_clear(&e);
                overrides_done(&o);
                tenant_policy_done(&t);
                policy_classes_done(&s.classes);
        }
}

/* ---- tenantctl with such names ---------------------------------------------------- */

/* Runs build/ctl/tenantctl ARGS...; returns the exit status, output in *ret. */
static int tenantctl(char **ret, char *const *args) {
        _cleanup_free_ char *bin = strdup_printf("%s/ctl/tenantctl", BUILD_ROOT);
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        int pipefd[2], status;
        char chunk[4096];
        ssize_t n;
        pid_t pid;

        cr_assert_not_null(out);
        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char *argv[16] = { bin };
                size_t i;

                for (i = 0; args[i] && i < ELEMENTSOF(argv) - 2; i++)
                        argv[i + 1] = args[i];
                argv[i + 1] = NULL;
                dup2(pipefd[1], STDOUT_FILENO);
                dup2(pipefd[1], STDERR_FILENO);
                /* no daemon: the read-only verbs read the fixture directly */
                setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent", 1);
                execv(bin, argv);
                _exit(127);
        }
        close(pipefd[1]);
        while ((n = read(pipefd[0], chunk, sizeof(chunk))) > 0)
                fwrite(chunk, 1, (size_t) n, out);
        close(pipefd[0]);
        fclose(out);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        *ret = buf;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(override, tenantctl_status_and_adopt_refuse_escaping_names, .init = tmp_setup, .fini = tmp_teardown) {
        _cleanup_free_ char *pol = strdup_printf("%s/policy", tmp), *topo = NULL, *huge = long_id(5000);
        _cleanup_free_ char *before = NULL, *after = NULL, *self = NULL;
        FakeCg f;

        fake_cg_setup(&f);
        {
                _cleanup_free_ char *cmd = strdup_printf("mkdir -p '%s/tenants' '%s/tenants.slice/tenants-normal.slice/tenant-web.scope'",
                                                         pol, f.root);
                cr_assert_eq(system(cmd), 0);
                free(tmp_file("policy/tenants/web.ini", "[tenant]\nclass = normal\n[memory]\nrequest = 64M\n"));
        }
        topo = strdup_printf("%s/tests/fixtures/topology/2node.ini", SOURCE_ROOT);
        self = strdup_printf("%d", (int) getpid());
        before = fake_tree_snapshot(f.root);

        for (size_t i = 0; i <= ELEMENTSOF(bad_ids); i++) {
                const char *id = i < ELEMENTSOF(bad_ids) ? bad_ids[i] : huge;
                _cleanup_free_ char *out = NULL, *want = NULL;
                char *status[] = { "--root", f.root, "status", (char *) id, NULL };
                char *adopt[] = { "--root", f.root, "--topology", topo, "adopt", "--direct", "--policies", pol, "--",
                                  (char *) id, self, NULL };

                cr_assert_eq(tenantctl(&out, status), 2, "status '%s': %s", id, out);
                if (id[0] == '-' && id[1] != '\0')
                        want = strdup_printf("tenantctl status: unknown option '%s' (try 'tenantctl help')\n", id);
                else
                        want = strdup_printf("tenantctl status: no tenant '%s' in the hierarchy\n", id);
                cr_assert(strstr(out, want), "status '%s': %s", id, out);
                free(out);
                free(want);
                cr_assert_eq(tenantctl(&out, adopt), 2, "adopt '%s': %s", id, out);
                want = strdup_printf("tenantctl adopt: no tenant '%s' in %s\n", id, pol);
                cr_assert(strstr(out, want), "adopt '%s': %s", id, out);
        }
        after = fake_tree_snapshot(f.root);
        cr_assert_str_eq(after, before, "tenantctl wrote to the cgroup tree");
        fake_cg_teardown(&f);
}

/* Without the daemon, list and status read the hierarchy directly; a root
 * that is missing or not a cgroup2 hierarchy (a v1 host) is an error, not an
 * empty list. */
Test(override, tenantctl_fallback_refuses_what_is_not_a_hierarchy, .init = tmp_setup, .fini = tmp_teardown) {
        _cleanup_free_ char *out = NULL, *out2 = NULL, *out3 = NULL, *want = NULL;
        char *missing[] = { "--root", "/nonexistent", "list", NULL };
        char *plain[] = { "--root", tmp, "--json", "list", NULL };
        char *status[] = { "--root", tmp, "status", "web", NULL };

        cr_assert_eq(tenantctl(&out, missing), 1, "%s", out);
        cr_assert(strstr(out, "tenantctl: tenantd is not running and cgroup root '/nonexistent' cannot be opened: "
                              "No such file or directory\n"),
                  "%s", out);
        want = strdup_printf("tenantctl: tenantd is not running and %s is not on a cgroup2 file system "
                             "(a cgroup v1 or hybrid host?)\n", tmp);
        cr_assert_eq(tenantctl(&out2, plain), 1, "%s", out2);
        cr_assert_str_eq(out2, want);
        cr_assert_eq(tenantctl(&out3, status), 1, "%s", out3);
        cr_assert_str_eq(out3, want);
}

/* A hybrid host's cgroup2 mount (memory is on v1): the reason, not EXDEV */
Test(override, tenantctl_on_a_hybrid_hosts_cgroup2_mount) {
        static const char unified[] = "/sys/fs/cgroup/unified";
        _cleanup_free_ char *out = NULL, *controllers = NULL;
        char *tree[] = { "--root", (char *) unified, "tree", NULL };
        struct statfs sfs;

        if (statfs(unified, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                cr_skip_test("%s is not a cgroup2 mount here (not a hybrid host)", unified);
        if (read_attr_at(AT_FDCWD, "/sys/fs/cgroup/unified/cgroup.controllers", &controllers) >= 0 &&
            strstr(controllers, "memory"))
                cr_skip_test("%s has the memory controller here", unified);
        cr_assert_eq(tenantctl(&out, tree), 1, "%s", out);
        cr_assert_str_eq(out, "tenantctl: cannot open cgroup root '/sys/fs/cgroup/unified': the memory controller is not "
                              "on this cgroup2 hierarchy (a cgroup v1 or hybrid host?)\n");
}

Test(override, tenantctl_global_options, .init = tmp_setup, .fini = tmp_teardown) {
        _cleanup_free_ char *out = NULL, *out2 = NULL, *dir = strdup_printf("%s/tenants", tmp);
        _cleanup_free_ char *file = NULL;
        char *relative[] = { "--root", "sys/fs/cgroup", "list", NULL };
        /* --json after the verb is the global option, not a policy file */
        char *json_after[] = { "validate", "--json", tmp, NULL };

        cr_assert_eq(mkdir(dir, 0755), 0);
        file = tmp_file("tenants/web.ini", "[tenant]\nclass = normal\n[memory]\nrequest = 64M\n");

        char *after_verb[] = { "list", "--root=sys/fs/cgroup", NULL };
        char *unknown[] = { "plan", "--foo", tmp, NULL };
        char *backend[] = { "--backend", "docker", "validate", tmp, NULL };
        char *topology[] = { "--topology", "host.ini", "apply", "--direct", tmp, NULL };
        _cleanup_free_ char *o3 = NULL, *o4 = NULL, *o5 = NULL, *o6 = NULL;

        cr_assert_eq(tenantctl(&out, relative), 2, "%s", out);
        cr_assert_str_eq(out, "tenantctl: --root: must be an absolute path (sys/fs/cgroup)\n");
        cr_assert_eq(tenantctl(&o3, after_verb), 2, "%s", o3);
        cr_assert_str_eq(o3, "tenantctl: --root: must be an absolute path (sys/fs/cgroup)\n");
        cr_assert_eq(tenantctl(&o4, unknown), 2, "%s", o4);
        cr_assert_str_eq(o4, "tenantctl plan: unknown option '--foo' (try 'tenantctl help')\n");
        cr_assert_eq(tenantctl(&o5, backend), 2, "%s", o5);
        cr_assert_str_eq(o5, "tenantctl: --backend: expected auto, systemd or cgroupfs, got 'docker'\n");
        /* errors with --json: the text on stderr, and JSON */
        {
                _cleanup_free_ char *o7 = NULL, *bad = NULL, *want = NULL;
                char *json_bad[] = { "--json", "validate", tmp, NULL };

                bad = tmp_file("tenants/bad.ini", "[tenant]\nclass = normal\n[memory]\nrequest = lots\n");
                cr_assert_eq(tenantctl(&o7, json_bad), 2, "%s", o7);
                want = strdup_printf("%s/tenants/bad.ini:4: memory.request: invalid size, use bytes or K, M, G, T, P, E, "
                                     "e.g. 512M or 1.5G (lots)\n"
                                     "{\"valid\":false,\"errors\":[{\"file\":\"%s/tenants/bad.ini\",\"line\":4,"
                                     "\"key\":\"memory.request\",\"value\":\"lots\",\"problem\":\"invalid size, use "
                                     "bytes or K, M, G, T, P, E, e.g. 512M or 1.5G\"}]}\n",
                                     tmp, tmp);
                cr_assert_str_eq(o7, want);
                cr_assert_eq(unlink(bad), 0);
        }
        {
                _cleanup_free_ char *o8 = NULL;
                char *two_dirs[] = { "validate", tmp, tmp, NULL };

                cr_assert_eq(tenantctl(&o8, two_dirs), 2, "%s", o8);
                _cleanup_free_ char *want = strdup_printf(
                        "tenantctl validate: '%s' is a directory: give one directory, or files\n", tmp);
                cr_assert_str_eq(o8, want);
        }
        cr_assert_eq(tenantctl(&o6, topology), 2, "%s", o6);
        cr_assert_str_eq(o6, "tenantctl apply: --topology plans for another machine: only with --root (a test tree), "
                             "never on the running host's hierarchy\n");
        (void) tenantctl(&out2, json_after);
        cr_assert_str_eq(out2, "{\"valid\":true,\"tenants\":1}\n");
}
