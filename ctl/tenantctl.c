/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tenantctl: the command-line tool. A verb table; each verb parses its own
 * arguments, calls the library, prints, and returns an exit status:
 *   0 success, 1 operation failed (kernel or system error), 2 invalid input
 *   (usage or policy), 3 refused by admission control.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <inttypes.h>

#include "apply.h"
#include "backend.h"
#include "tenantctl.h"
#include "engine.h"
#include "config.h"
#include "launch.h"
#include "plan.h"
#include "policy-load.h"
#include "policy.h"
#include "topology.h"
#include "tree.h"

/* Global options, before the verb. */
bool arg_json = false;
const char *arg_root = NULL;             /* cgroup root override */
static const char *arg_topology = NULL;  /* fixture instead of the running host */
static const char *arg_backend = NULL;   /* auto|systemd|cgroupfs, overrides tenantd.conf */
static BackendKind arg_backend_kind;     /* arg_backend, parsed once in main() */

/* The backend of apply and adopt: --backend, else [cgroup] backend of tenantd.conf. */
static int open_backend(const PolicySet *s, const char *root, Backend **ret) {
        _cleanup_free_ char *error = NULL;
        BackendKind kind = s->config.backend;
        int r;

        if (arg_backend)
                kind = arg_backend_kind;
        r = backend_open(kind, root, ret, &error);
        if (r < 0) {
                fprintf(stderr, "tenantctl: %s\n", error ? error : strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

typedef struct Verb {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *args;
        const char *help;
} Verb;

static const char *default_policy_dir(void) {
        const char *e = getenv("TENANTD_POLICY_DIR");
        return e && *e ? e : TENANTD_POLICY_DIR;
}

/* Policy or admission errors: as text on stderr; with --json also as
 * {"valid":false,"errors":[{"file","line","key","value","problem"}]} on stdout. */
static void print_policy_errors(const PolicyErrors *errs, const char *fallback) {
        json_object *o, *v;

        if (errs->n > 0)
                policy_errors_print(errs, stderr);
        else
                fprintf(stderr, "tenantctl: %s\n", fallback);
        if (!arg_json)
                return;
        o = json_object_new_object();
        v = json_object_new_array();
        json_object_object_add(o, "valid", json_object_new_boolean(false));
        for (size_t i = 0; i < errs->n; i++) {
                const PolicyError *e = &errs->v[i];
                json_object *x = json_object_new_object();

                json_object_object_add(x, "file", json_object_new_string(e->file ? e->file : ""));
                json_object_object_add(x, "line", json_object_new_int64(e->line));
                json_object_object_add(x, "key", json_object_new_string(e->key ? e->key : ""));
                json_object_object_add(x, "value", e->value ? json_object_new_string(e->value) : NULL);
                json_object_object_add(x, "problem", json_object_new_string(e->problem ? e->problem : ""));
                json_object_array_add(v, x);
        }
        if (errs->n == 0) {
                json_object *x = json_object_new_object();
                json_object_object_add(x, "problem", json_object_new_string(fallback));
                json_object_array_add(v, x);
        }
        json_object_object_add(o, "errors", v);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

/* Load DIR as a whole; print errors as file:line: key: problem (value). */
static int load_dir_or_print(const char *dir, PolicySet *ret) {
        PolicyErrors errs = {0};
        int r;

        r = policy_load_dir(dir, ret, &errs);
        if (r < 0) {
                _cleanup_free_ char *why = strdup_printf("cannot load policy directory '%s': %s", dir, strerror(-r));
                print_policy_errors(&errs, why ? why : strerror(-r));
                policy_errors_clear(&errs);
                return EXIT_INVALID;
        }
        policy_errors_clear(&errs);
        return EXIT_OK;
}

static int load_topology_fixture(HostTopology *ret) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_fclose_ FILE *f = fopen(arg_topology, "re");
        size_t len = 0;
        int r;

        if (!f) {
                fprintf(stderr, "tenantctl: cannot open topology '%s': %s\n", arg_topology, strerror(errno));
                return EXIT_INVALID;
        }
        text = malloc(1 << 20);
        if (!text)
                return EXIT_FAILED;
        len = fread(text, 1, (1 << 20) - 1, f);
        text[len] = '\0';
        r = topology_parse(text, len, ret, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", arg_topology, err ? err : strerror(-r));
                return EXIT_INVALID;
        }
        return EXIT_OK;
}

static int load_topology(const PolicySet *s, HostTopology *ret) {
        int r;

        if (arg_topology)
                return load_topology_fixture(ret);
        r = topology_read("/sys", arg_root ? arg_root : s->config.cgroup_root, ret);
        if (r < 0) {
                fprintf(stderr, "tenantctl: cannot read the host topology: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

/* policies -> plan; prints policy or admission errors. */
static int build_plan(const PolicySet *s, Plan *ret) {
        HostTopology host = {0};
        PolicyErrors errs = {0};
        int r;

        r = load_topology(s, &host);
        if (r != EXIT_OK)
                return r;
        r = plan_build(s, &host, ret, &errs);
        if (r < 0) {
                _cleanup_free_ char *why = strdup_printf("planning failed: %s", strerror(-r));
                print_policy_errors(&errs, why ? why : strerror(-r));
                policy_errors_clear(&errs);
                return r == -ENOSPC ? EXIT_REFUSED : EXIT_INVALID;
        }
        policy_errors_clear(&errs);
        return EXIT_OK;
}

static int verb_validate(int argc, char **argv) {
        PolicySet s = {0};
        PolicyErrors errs = {0};
        int r;

        /* None: the default directory. One directory: validated as a whole.
         * Otherwise each argument is a file. */
        if (argc < 2)
                r = policy_load_dir(default_policy_dir(), &s, &errs);
        else if (argc == 2) {
                struct stat st;
                if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode))
                        r = policy_load_dir(argv[1], &s, &errs);
                else
                        r = policy_load_paths(argv + 1, (size_t) argc - 1, &s, &errs);
        } else {
                for (int i = 1; i < argc; i++) {
                        struct stat st;
                        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
                                fprintf(stderr, "tenantctl validate: '%s' is a directory: give one directory, "
                                                "or files\n", argv[i]);
                                return EXIT_INVALID;
                        }
                }
                r = policy_load_paths(argv + 1, (size_t) argc - 1, &s, &errs);
        }

        if (r < 0) {
                print_policy_errors(&errs, strerror(-r));
                policy_errors_clear(&errs);
                policy_set_done(&s);
                return EXIT_INVALID;
        }
        if (arg_json)
                printf("{\"valid\":true,\"tenants\":%zu}\n", s.n_tenants);
        else
                printf("%zu tenant%s valid\n", s.n_tenants, s.n_tenants == 1 ? "" : "s");
        policy_errors_clear(&errs);
        policy_set_done(&s);
        return EXIT_OK;
}

static int verb_plan(int argc, char **argv) {
        PolicySet s = {0};
        Plan p = {0};
        int r;

        if (argc > 2) {
                fprintf(stderr, "tenantctl plan: expected at most one DIR\n");
                return EXIT_INVALID;
        }
        r = load_dir_or_print(argc == 2 ? argv[1] : default_policy_dir(), &s);
        if (r != EXIT_OK)
                return r;
        r = build_plan(&s, &p);
        if (r == EXIT_OK) {
                if (arg_json)
                        r = plan_print_json(&p, &s, stdout) < 0 ? EXIT_FAILED : EXIT_OK;
                else
                        plan_print_table(&p, &s, stdout);
        }
        plan_done(&p);
        policy_set_done(&s);
        return r;
}

/* tenantctl apply --direct: the engine, in this process. */
static int apply_direct(const char *dir, bool keep) {
        _cleanup_engine_run_ EngineRun run = {0};
        HostTopology fixture = {0};
        EngineOptions o = { .policy_dir = dir, .cgroup_root = arg_root, .keep_stale = keep };
        EngineStatus st;
        int r;

        o.backend = arg_backend_kind;
        o.has_backend = arg_backend != NULL;
        if (arg_topology) {
                r = load_topology_fixture(&fixture);
                if (r != EXIT_OK)
                        return r;
                o.topology = &fixture;
        }
        st = engine_apply(&o, &run);
        if (!arg_json || st != ENGINE_OK)
                for (char **l = run.lines; l && *l; l++)
                        printf("%s\n", *l);
        if (st != ENGINE_OK) {
                engine_print_errors(&run, "tenantctl", stderr);
                return (int) st;
        }
        if (arg_json) {
                printf("{\"created\":%u,\"writes\":%u,\"removed\":%u,\"started\":%d", run.report.created,
                       run.report.writes, run.report.removed, run.started);
                /* systemd: scope tenants waiting for processes to adopt (only when there are some) */
                for (size_t i = 0; i < run.report.pending; i++)
                        printf("%s\"%s\"", i == 0 ? ",\"pending\":[" : ",", run.report.pending_ids[i]);
                printf("%s}\n", run.report.pending > 0 ? "]" : "");
                return EXIT_OK;
        }
        printf("applied %zu tenant%s under %s (%s): %u %s created, %u write%s, %u removed, %d started\n",
               run.set.n_tenants, run.set.n_tenants == 1 ? "" : "s", run.root, backend_name(run.backend),
               run.report.created,
               backend_starts_tenants(run.backend) ? (run.report.created == 1 ? "unit" : "units")
                                                   : (run.report.created == 1 ? "cgroup" : "cgroups"),
               run.report.writes, run.report.writes == 1 ? "" : "s", run.report.removed, run.started);
        for (size_t i = 0; i < run.report.pending; i++)
                printf("%s%s", i == 0 ? "pending (no processes yet, adopt creates the scope): " : ", ",
                       run.report.pending_ids[i]);
        if (run.report.pending > 0)
                printf("\n");
        return EXIT_OK;
}

static int verb_apply(int argc, char **argv) {
        static const struct option opts[] = {
                { "direct", no_argument, NULL, 'd' },
                { "keep-stale", no_argument, NULL, 'k' },
                {0},
        };
        bool direct = false, keep = false;
        int opt;

        optind = 0; /* re-initialise getopt for the verb's own argv */
        while ((opt = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
                if (opt == 'd')
                        direct = true;
                else if (opt == 'k')
                        keep = true;
                else
                        return EXIT_INVALID;
        }
        if (argc - optind > 1) {
                fprintf(stderr, "tenantctl apply: expected at most one DIR\n");
                return EXIT_INVALID;
        }
        if (direct)
                return apply_direct(optind < argc ? argv[optind] : default_policy_dir(), keep);
        if (keep) {
                fprintf(stderr, "tenantctl apply: --keep-stale needs --direct\n");
                return EXIT_INVALID;
        }
        return apply_via_daemon(optind < argc ? argv[optind] : NULL);
}

static int verb_adopt(int argc, char **argv) {
        static const struct option opts[] = {
                { "direct", no_argument, NULL, 'd' },
                { "policies", required_argument, NULL, 'p' },
                { 0 },
        };
        const char *dir = default_policy_dir(), *id, *root;
        _cleanup_backend_ Backend *b = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *path = NULL;
        ApplyReport rep = { 0 };
        size_t n_pids = 0;
        bool direct = false;
        PolicySet s = { 0 };
        Plan p = { 0 };
        const PlanNode *leaf = NULL;
        int r, opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
                if (opt == 'd')
                        direct = true;
                else if (opt == 'p')
                        dir = optarg;
                else
                        return EXIT_INVALID;
        }
        if (argc - optind < 2) {
                fprintf(stderr, "tenantctl adopt: expected NAME PID...\n");
                return EXIT_INVALID;
        }
        id = argv[optind];
        /* every PID is checked before the first one moves */
        for (int i = optind + 1; i < argc; i++) {
                char *end;
                long v = strtol(argv[i], &end, 10);
                if (*argv[i] == '\0' || *end != '\0' || v <= 0 || v > INT32_MAX) {
                        fprintf(stderr, "tenantctl adopt: not a PID: '%s'\n", argv[i]);
                        return EXIT_INVALID;
                }
                if (kill((pid_t) v, 0) < 0 && errno == ESRCH) {
                        fprintf(stderr, "tenantctl adopt: no such process: %ld\n", v);
                        return EXIT_INVALID;
                }
        }
        if (!direct)
                return adopt_via_daemon(id, argv + optind + 1, argc - optind - 1);

        r = load_dir_or_print(dir, &s);
        if (r != EXIT_OK)
                return r;
        r = build_plan(&s, &p);
        if (r != EXIT_OK)
                goto out;
        for (size_t i = 0; i < p.n_nodes; i++)
                if (p.nodes[i].type == PLAN_TENANT && streq(s.tenants[p.nodes[i].tenant].id, id))
                        leaf = &p.nodes[i];
        if (!leaf) {
                fprintf(stderr, "tenantctl adopt: no tenant '%s' in %s\n", id, dir);
                r = EXIT_INVALID;
                goto out;
        }
        root = arg_root ? arg_root : s.config.cgroup_root;
        r = open_backend(&s, root, &b);
        if (r != EXIT_OK)
                goto out;
        pids = calloc((size_t) (argc - optind), sizeof(pid_t));
        if (!pids) {
                r = EXIT_FAILED;
                goto out;
        }
        for (int i = optind + 1; i < argc; i++)
                pids[n_pids++] = (pid_t) strtol(argv[i], NULL, 10);
        /* one transaction: every PID moves, or none stays moved */
        r = backend_adopt(b, &p, &s, id, pids, n_pids, &rep);
        if (r < 0) {
                fprintf(stderr, "tenantctl adopt: %s\n", rep.error ? rep.error : strerror(-r));
                r = EXIT_FAILED;
        } else {
                if (!arg_json && backend_cgroup_path(b, leaf, &path) >= 0)
                        for (size_t i = 0; i < n_pids; i++)
                                printf("PID %d -> %s\n", (int) pids[i], path);
                r = EXIT_OK;
        }
        apply_report_done(&rep);
out:
        plan_done(&p);
        policy_set_done(&s);
        return r;
}

static int verb_tree(int argc, char **argv) {
        _cleanup_cgfs_ Cgfs *c = NULL;
        HostConfig conf;
        const char *root;
        int r;

        if (argc > 1) {
                fprintf(stderr, "tenantctl tree: unexpected argument '%s'\n", argv[1]);
                return EXIT_INVALID;
        }
        host_config_default(&conf);
        root = arg_root ? arg_root : conf.cgroup_root;
        r = cgfs_open(root, NULL, &c);
        if (r < 0) {
                fprintf(stderr, "tenantctl: cannot open cgroup root '%s': %s\n", root, cgfs_open_strerror(r));
                host_config_done(&conf);
                return EXIT_FAILED;
        }
        if (!cgfs_is_kernel(c)) {
                fprintf(stderr, "tenantctl: %s is not on a cgroup2 file system (a cgroup v1 or hybrid host?)\n", root);
                host_config_done(&conf);
                return EXIT_FAILED;
        }
        r = arg_json ? tree_print_json(c, "tenants.slice", stdout) : tree_print(c, "tenants.slice", stdout);
        if (r == -ENOENT)
                fprintf(stderr, "tenantctl: %s/tenants.slice does not exist: nothing applied yet\n", root);
        host_config_done(&conf);
        return r < 0 ? EXIT_FAILED : EXIT_OK;
}

static int verb_help(int argc, char **argv);

static const Verb verbs[] = {
        { "list", verb_list, "", "tenants with usage, limits, pressure and state" },
        { "status", verb_status, "NAME", "one tenant in detail (--json: policy, plan and live values)" },
        { "tree", verb_tree, "", "the tenant hierarchy with values read from the kernel" },
        { "top", verb_top, "[--interval T] [--iterations N]", "refreshing view of usage, limits and pressure" },
        { "events", verb_events, "[--follow] [--after N]", "what tenantd did (reactions, applies, operator actions)" },
        { "reassign", verb_reassign, "NAME [--class C] [--nodes N] [--cpus L] [--request S] [--limit S]",
          "change a tenant at runtime (kept until reboot; \"\" restores the file's value)" },
        { "apply", verb_apply, "[--direct [--keep-stale]] [DIR]", "apply the policy directory (through tenantd, or directly)" },
        { "start", verb_start, "NAME", "start a stopped tenant" },
        { "stop", verb_stop, "NAME", "stop a tenant's processes; its limits stay" },
        { "adopt", verb_adopt, "[--direct [--policies DIR]] NAME PID...", "move running processes into a tenant's leaf" },
        { "validate", verb_validate, "[DIR | FILE...]", "check policy files; print file:line: key: problem (value)" },
        { "plan", verb_plan, "[DIR]", "print the desired state without touching the kernel" },
        { "help", verb_help, "", "show this help" },
};

static int verb_help(int argc, char **argv) {
        printf("Usage: tenantctl [--json] [--root CGROUP_ROOT] [--topology FILE] [--backend auto|systemd|cgroupfs]\n"
               "                 VERB [ARGS]\n"
               "       tenantctl --help | --version\n\nVerbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %s%s%s\n  %-9s   %s\n", verbs[i].name, verbs[i].args[0] ? " " : "", verbs[i].args, "",
                       verbs[i].help);
        printf("\nExit status: 0 ok, 1 failed, 2 invalid input, 3 refused by admission control,\n"
               "4 not permitted, 5 tenantd not running (for verbs that need it).\n"
               "Policy directory default: %s (or $TENANTD_POLICY_DIR)\n", default_policy_dir());
        return EXIT_OK;
}

/* The global options are often typed after the verb ("tenantctl list --json"):
 * take them out of the verb's arguments (up to "--"). Returns the new count,
 * or -1 when one lacks its value. */
static int hoist_global_options(int argc, char **argv) {
        static const struct {
                const char *name;
                const char **arg;       /* NULL: a flag (--json) */
        } global[] = {
                { "--json", NULL }, { "-j", NULL },
                { "--root", &arg_root }, { "--topology", &arg_topology }, { "--backend", &arg_backend },
        };

        for (int k = 1; k < argc && !streq(argv[k], "--");) {
                int take = 0;

                for (size_t g = 0; g < ELEMENTSOF(global) && !take; g++) {
                        size_t l = strlen(global[g].name);

                        if (!global[g].arg) {
                                if (streq(argv[k], global[g].name)) {
                                        arg_json = true;
                                        take = 1;
                                }
                        } else if (streq(argv[k], global[g].name)) {
                                if (k + 1 >= argc) {
                                        fprintf(stderr, "tenantctl: %s needs a value\n", global[g].name);
                                        return -1;
                                }
                                *global[g].arg = argv[k + 1];
                                take = 2;
                        } else if (strncmp(argv[k], global[g].name, l) == 0 && argv[k][l] == '=') {
                                *global[g].arg = argv[k] + l + 1;
                                take = 1;
                        }
                }
                if (!take) {
                        k++;
                        continue;
                }
                memmove(argv + k, argv + k + take, (size_t) (argc - k - take + 1) * sizeof(char *));
                argc -= take;
        }
        return argc;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "root", required_argument, NULL, 'r' },
                { "topology", required_argument, NULL, 't' },
                { "backend", required_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {0},
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "+hj", opts, NULL)) >= 0) {
                switch (opt) {
                case 'j':
                        arg_json = true;
                        break;
                case 'r':
                        arg_root = optarg;
                        break;
                case 't':
                        arg_topology = optarg;
                        break;
                case 'b':
                        arg_backend = optarg;
                        break;
                case 'h':
                        return verb_help(0, NULL);
                case 'V':
                        printf("tenantctl %s\n", TENANTD_VERSION);
                        return EXIT_OK;
                default:
                        return EXIT_INVALID;
                }
        }
        if (optind >= argc)
                return verb_help(0, NULL), EXIT_INVALID;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind])) {
                        char **vargv = argv + optind;
                        int vargc = argc - optind;

                        vargc = hoist_global_options(vargc, vargv);
                        if (vargc < 0)
                                return EXIT_INVALID;
                        /* a verb whose usage names no option takes none */
                        for (int k = 1; !strstr(verbs[i].args, "--") && k < vargc && !streq(vargv[k], "--"); k++)
                                if (vargv[k][0] == '-' && vargv[k][1] != '\0') {
                                        fprintf(stderr, "tenantctl %s: unknown option '%s' (try 'tenantctl help')\n",
                                                vargv[0], vargv[k]);
                                        return EXIT_INVALID;
                                }
                        if (arg_root && arg_root[0] != '/') {
                                fprintf(stderr, "tenantctl: --root: must be an absolute path (%s)\n", arg_root);
                                return EXIT_INVALID;
                        }
                        if (arg_backend && backend_kind_from_string(arg_backend, &arg_backend_kind) < 0) {
                                fprintf(stderr, "tenantctl: --backend: expected auto, systemd or cgroupfs, got '%s'\n",
                                        arg_backend);
                                return EXIT_INVALID;
                        }
                        if (arg_topology && !arg_root && (streq(vargv[0], "apply") || streq(vargv[0], "adopt"))) {
                                fprintf(stderr, "tenantctl %s: --topology plans for another machine: only with --root "
                                                "(a test tree), never on the running host's hierarchy\n", vargv[0]);
                                return EXIT_INVALID;
                        }
                        return verbs[i].fn(vargc, vargv);
                }
        fprintf(stderr, "tenantctl: unknown verb '%s' (try 'tenantctl help')\n", argv[optind]);
        return EXIT_INVALID;
}
