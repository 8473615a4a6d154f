/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tenantctl verbs that talk to tenantd over D-Bus (bus-api.h). Read-only
 * verbs (list, status, top) fall back to reading the hierarchy directly when
 * the daemon is not running, and say so on stderr.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "bus-api.h"
#include "cgfs.h"
#include "policy.h"
#include "status.h"
#include "tenantctl.h"

static int need_daemon(sd_bus **ret, const char *verb) {
        int r = client_open(ret);

        if (r > 0)
                return EXIT_OK;
        if (r == 0)
                fprintf(stderr, "tenantctl %s: tenantd is not running (start tenantd.service, or use --direct where offered)\n", verb);
        else
                fprintf(stderr, "tenantctl %s: cannot reach the system bus: %s\n", verb, strerror(-r));
        return EXIT_NO_DAEMON;
}

/* Rows from the daemon, or from the hierarchy when it is not running. */
/* A directory with the files of a cgroup (a test fixture, say), though not
 * on a cgroup2 mount. */
static bool cgroup_dir_has_files(const char *root) {
        _cleanup_free_ char *p = strdup_printf("%s/cgroup.controllers", root);

        return p && access(p, F_OK) == 0;
}

static int fetch_rows(TenantRows *rows, bool *ret_direct) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        *rows = (TenantRows) {0};
        r = client_open(&bus);
        if (r <= 0) {
                _cleanup_cgfs_ Cgfs *c = NULL;
                HostConfig conf;
                const char *root;

                host_config_default(&conf);
                root = arg_root ? arg_root : conf.cgroup_root;
                *ret_direct = true;
                r = cgfs_open(root, NULL, &c);
                if (r < 0) {
                        fprintf(stderr, "tenantctl: tenantd is not running and cgroup root '%s' cannot be opened: %s\n",
                                root, cgfs_open_strerror(r));
                        host_config_done(&conf);
                        return EXIT_FAILED;
                }
                /* a v1 or hybrid host's /sys/fs/cgroup has no tenants.slice
                 * either: say why instead of listing nothing */
                if (!cgfs_is_kernel(c) && !cgroup_dir_has_files(root)) {
                        fprintf(stderr, "tenantctl: tenantd is not running and %s is not on a cgroup2 file system "
                                        "(a cgroup v1 or hybrid host?)\n", root);
                        host_config_done(&conf);
                        return EXIT_FAILED;
                }
                r = tenant_rows_from_tree(c, rows);
                if (r == -ENOENT) {
                        r = 0;  /* nothing applied yet: no rows */
                }
                if (r < 0)
                        fprintf(stderr, "tenantctl: tenantd is not running and %s/tenants.slice cannot be read: %s\n", root,
                                strerror(-r));
                else
                        fprintf(stderr, "tenantctl: tenantd is not running; read from %s/tenants.slice directly\n", root);
                host_config_done(&conf);
                return r < 0 ? EXIT_FAILED : EXIT_OK;
        }
        *ret_direct = false;
        r = sd_bus_call_method(bus, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "ListTenants", &e,
                               &reply, "");
        if (r < 0) {
                r = client_error(&e, r);
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', TENANT_ROW_SIG);
        while (r >= 0) {
                TenantRow *row = tenant_rows_add(rows);

                if (!row)
                        return EXIT_FAILED;
                r = tenant_row_read_message(reply, row);
                if (r <= 0) {
                        rows->n--;
                        break;
                }
        }
        if (r < 0) {
                fprintf(stderr, "tenantctl: bad reply from tenantd: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

static void rows_print_json(const TenantRows *rows) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < rows->n; i++)
                json_object_array_add(a, tenant_row_json(&rows->v[i]));
        printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(a);
}

int verb_list(int argc, char **argv) {
        _cleanup_(tenant_rows_done) TenantRows rows = {0};
        bool direct;
        int r;

        if (argc > 1) {
                fprintf(stderr, "tenantctl list: unexpected argument '%s'\n", argv[1]);
                return EXIT_INVALID;
        }
        r = fetch_rows(&rows, &direct);
        if (r != EXIT_OK)
                return r;
        if (arg_json)
                rows_print_json(&rows);
        else
                tenant_rows_print(&rows, stdout);
        return EXIT_OK;
}

int verb_status(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(tenant_rows_done) TenantRows rows = {0};
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const TenantRow *row;
        const char *json;
        bool direct;
        int r;

        if (argc != 2) {
                fprintf(stderr, "tenantctl status: expected NAME\n");
                return EXIT_INVALID;
        }
        if (arg_json && client_open(&bus) > 0) {
                r = sd_bus_call_method(bus, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "GetTenant", &e,
                                       &reply, "s", argv[1]);
                if (r < 0) {
                        r = client_error(&e, r);
                        sd_bus_error_free(&e);
                        return r;
                }
                r = sd_bus_message_read(reply, "s", &json);
                if (r < 0)
                        return EXIT_FAILED;
                printf("%s\n", json);
                return EXIT_OK;
        }
        r = fetch_rows(&rows, &direct);
        if (r != EXIT_OK)
                return r;
        row = tenant_rows_find(&rows, argv[1]);
        if (!row) {
                fprintf(stderr, "tenantctl status: no tenant '%s'%s\n", argv[1],
                        direct ? " in the hierarchy" : "");
                return EXIT_INVALID;
        }
        if (arg_json) {
                json_object *o = tenant_row_json(row);
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else
                tenant_row_print_long(row, stdout);
        return EXIT_OK;
}

static volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int sig) {
        interrupted = 1;
}

static void catch_interrupt(void) {
        struct sigaction sa = { .sa_handler = on_interrupt };

        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

int verb_top(int argc, char **argv) {
        static const struct option opts[] = {
                { "interval", required_argument, NULL, 'i' },
                { "iterations", required_argument, NULL, 'n' },
                {0},
        };
        uint64_t interval = 2000000;
        long iterations = -1;
        bool tty = isatty(STDOUT_FILENO);
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, "+i:n:", opts, NULL)) >= 0) {
                char *end;

                if (opt == 'i') {
                        if (duration_parse(optarg, &interval) < 0 || interval < 100000) {
                                fprintf(stderr, "tenantctl top: --interval: expected a duration of at least 100ms, got '%s'\n", optarg);
                                return EXIT_INVALID;
                        }
                } else if (opt == 'n') {
                        iterations = strtol(optarg, &end, 10);
                        if (*end || iterations <= 0) {
                                fprintf(stderr, "tenantctl top: --iterations: expected a positive number, got '%s'\n", optarg);
                                return EXIT_INVALID;
                        }
                } else
                        return EXIT_INVALID;
        }
        catch_interrupt();
        for (long i = 0; !interrupted && (iterations < 0 || i < iterations); i++) {
                _cleanup_(tenant_rows_done) TenantRows rows = {0};
                bool direct;
                char when[32];
                time_t now = time(NULL);
                int r;

                r = fetch_rows(&rows, &direct);
                if (r != EXIT_OK)
                        return r;
                strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
                if (arg_json) {
                        rows_print_json(&rows);
                } else {
                        if (tty)
                                fputs("\033[H\033[2J", stdout);
                        printf("tenantctl top — %s — %zu tenant%s%s\n\n", when, rows.n, rows.n == 1 ? "" : "s",
                               direct ? " (tenantd not running: read from the hierarchy)" : "");
                        tenant_rows_print(&rows, stdout);
                        if (!tty)
                                printf("\n");
                }
                fflush(stdout);
                if (iterations < 0 || i + 1 < iterations)
                        (void) poll(NULL, 0, (int) (interval / 1000));
        }
        return EXIT_OK;
}

static void event_print(uint64_t seq, uint64_t mono, uint64_t real, const char *tenant, const char *klass,
                        const char *action, const char *reason, const char *detail) {
        if (arg_json) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "seq", json_object_new_uint64(seq));
                json_object_object_add(o, "monotonic_usec", json_object_new_uint64(mono));
                json_object_object_add(o, "realtime_usec", json_object_new_uint64(real));
                json_object_object_add(o, "tenant", json_object_new_string(tenant));
                json_object_object_add(o, "class", json_object_new_string(klass));
                json_object_object_add(o, "action", json_object_new_string(action));
                json_object_object_add(o, "reason", json_object_new_string(reason));
                json_object_object_add(o, "detail", json_object_new_string(detail));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else {
                char when[32];
                time_t t = (time_t) (real / 1000000);

                strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
                printf("%5" PRIu64 " %s.%03u %-14s %-10s %-12s %s%s%s\n", seq, when, (unsigned) (real % 1000000 / 1000),
                       *tenant ? tenant : "(host)", *klass ? klass : "-", action, reason, *reason && *detail ? ": " : "",
                       detail);
        }
        fflush(stdout);
}

static int read_event(sd_bus_message *m, uint64_t *seq) {
        uint64_t mono, real;
        const char *tenant, *klass, *action, *reason, *detail;
        int r;

        r = sd_bus_message_read(m, "tttsssss", seq, &mono, &real, &tenant, &klass, &action, &reason, &detail);
        if (r > 0)
                event_print(*seq, mono, real, tenant, klass, action, reason, detail);
        return r;
}

static uint64_t last_seq = 0;

static int on_event_signal(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        uint64_t seq;

        /* signals can arrive for events GetEvents already printed */
        if (sd_bus_message_peek_type(m, NULL, NULL) >= 0) {
                uint64_t s;
                if (sd_bus_message_read(m, "t", &s) > 0 && s <= last_seq)
                        return 0;
                sd_bus_message_rewind(m, true);
        }
        if (read_event(m, &seq) > 0)
                last_seq = seq;
        return 0;
}

int verb_events(int argc, char **argv) {
        static const struct option opts[] = {
                { "follow", no_argument, NULL, 'f' },
                { "after", required_argument, NULL, 'a' },
                {0},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        bool follow = false;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, "+fa:", opts, NULL)) >= 0) {
                char *end;

                if (opt == 'f')
                        follow = true;
                else if (opt == 'a') {
                        last_seq = strtoull(optarg, &end, 10);
                        if (*end || !*optarg) {
                                fprintf(stderr, "tenantctl events: --after: expected an event number, got '%s'\n", optarg);
                                return EXIT_INVALID;
                        }
                } else
                        return EXIT_INVALID;
        }
        if (optind < argc) {
                fprintf(stderr, "tenantctl events: unexpected argument '%s'\n", argv[optind]);
                return EXIT_INVALID;
        }
        r = need_daemon(&bus, "events");
        if (r != EXIT_OK) {
                fprintf(stderr, "tenantctl events: earlier events are in the journal: journalctl -u tenantd ACTION=...\n");
                return r;
        }
        if (follow) {
                /* subscribe first, then fetch: nothing falls between */
                r = sd_bus_match_signal(bus, NULL, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "Event",
                                        on_event_signal, NULL);
                if (r < 0) {
                        fprintf(stderr, "tenantctl events: cannot subscribe: %s\n", strerror(-r));
                        return EXIT_FAILED;
                }
        }
        r = sd_bus_call_method(bus, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "GetEvents", &e, &reply,
                               "t", last_seq);
        if (r < 0) {
                r = client_error(&e, r);
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', TENANTD_EVENT_SIG);
        while (r >= 0) {
                uint64_t seq;

                r = sd_bus_message_enter_container(reply, 'r', "tttsssss");
                if (r <= 0)
                        break;
                r = read_event(reply, &seq);
                if (r > 0)
                        last_seq = seq;
                sd_bus_message_exit_container(reply);
        }
        if (!follow)
                return EXIT_OK;
        catch_interrupt();
        while (!interrupted) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "tenantctl events: lost the bus: %s\n", strerror(-r));
                        return EXIT_FAILED;
                }
                if (r == 0)
                        (void) sd_bus_wait(bus, 500000);
        }
        return EXIT_OK;
}

/* A mutating call: prints the daemon's answer, returns the exit status. */
static int call_simple(const char *verb, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *text;
        va_list ap;
        int r;

        r = need_daemon(&bus, verb);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, method);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return EXIT_FAILED;
        r = sd_bus_call(bus, m, CLIENT_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0) {
                r = client_error(&e, r);
                sd_bus_error_free(&e);
                return r;
        }
        if (sd_bus_message_read(reply, "s", &text) > 0 && *text)
                printf("%s\n", text);
        return EXIT_OK;
}

int apply_via_daemon(const char *dir) {
        _cleanup_free_ char *abs = NULL;

        if (dir) {
                abs = realpath(dir, NULL);
                if (!abs) {
                        fprintf(stderr, "tenantctl apply: cannot use '%s': %s\n", dir, strerror(errno));
                        return EXIT_INVALID;
                }
        }
        return call_simple("apply", "Apply", "s", abs ? abs : "");
}

int verb_start(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "tenantctl start: expected NAME\n");
                return EXIT_INVALID;
        }
        return call_simple("start", "Start", "s", argv[1]);
}

int verb_stop(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "tenantctl stop: expected NAME\n");
                return EXIT_INVALID;
        }
        return call_simple("stop", "Stop", "s", argv[1]);
}

int verb_reassign(int argc, char **argv) {
        static const struct option opts[] = {
                { "class", required_argument, NULL, 'c' },
                { "nodes", required_argument, NULL, 'n' },
                { "cpus", required_argument, NULL, 'C' },
                { "request", required_argument, NULL, 'r' },
                { "limit", required_argument, NULL, 'l' },
                {0},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *keys[8], *values[8], *text;
        size_t n = 0;
        int opt, r;

        optind = 0; /* options may come before or after NAME */
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                const char *key = opt == 'c' ? "class" : opt == 'n' ? "nodes" : opt == 'C' ? "cpus" : opt == 'r' ? "request" : opt == 'l' ? "limit" : NULL;

                if (!key || n >= ELEMENTSOF(keys))
                        return EXIT_INVALID;
                keys[n] = key;
                values[n++] = optarg;
        }
        if (argc - optind != 1) {
                fprintf(stderr, "tenantctl reassign: expected NAME and at least one of --class, --nodes, --cpus, --request, --limit\n");
                return EXIT_INVALID;
        }
        if (n == 0) {
                fprintf(stderr, "tenantctl reassign: nothing to change: give --class, --nodes, --cpus, --request or --limit\n");
                return EXIT_INVALID;
        }
        r = need_daemon(&bus, "reassign");
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "Reassign");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[optind]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(m, "(ss)", keys[i], values[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return EXIT_FAILED;
        r = sd_bus_call(bus, m, CLIENT_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0) {
                r = client_error(&e, r);
                sd_bus_error_free(&e);
                return r;
        }
        if (sd_bus_message_read(reply, "s", &text) > 0 && *text)
                printf("%s\n", text);
        return EXIT_OK;
}

int adopt_via_daemon(const char *id, char *const *pid_args, int n) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint32_t pids[256];
        const char *text;
        int r;

        if (n > (int) ELEMENTSOF(pids)) {
                fprintf(stderr, "tenantctl adopt: at most %zu PIDs at once\n", ELEMENTSOF(pids));
                return EXIT_INVALID;
        }
        for (int i = 0; i < n; i++)
                pids[i] = (uint32_t) strtoul(pid_args[i], NULL, 10); /* checked by the caller */
        r = need_daemon(&bus, "adopt");
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TENANTD_BUS_NAME, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "Adopt");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", id);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'u', pids, (size_t) n * sizeof(uint32_t));
        if (r < 0)
                return EXIT_FAILED;
        r = sd_bus_call(bus, m, CLIENT_CALL_TIMEOUT_USEC, &e, &reply);
        if (r < 0) {
                r = client_error(&e, r);
                sd_bus_error_free(&e);
                return r;
        }
        if (sd_bus_message_read(reply, "s", &text) > 0 && *text)
                printf("%s\n", text);
        return EXIT_OK;
}
