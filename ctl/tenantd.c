/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tenantd: the daemon. An sd-event loop around the manager (manager.h):
 * SIGTERM/SIGINT exit cleanly, SIGHUP re-applies, changes in the policy
 * directory re-apply after a quiet period (inotify, debounced), the D-Bus API
 * (bus-api.h) serves tenantctl, and sd_notify reports READY/RELOADING/
 * STOPPING/STATUS and pets the watchdog. Without systemd it runs in the
 * foreground and logs to stderr.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus-api.h"
#include "config.h"
#include "log.h"
#include "manager.h"

#define DEBOUNCE_USEC (500 * UINT64_C(1000))

typedef struct Daemon {
        sd_event *event;
        sd_bus *bus;
        Manager *manager;
        const char *policy_dir;
        int inotify_fd;
        sd_event_source *inotify_source, *debounce;
        uint64_t debounce_usec;
} Daemon;

static void notify_status(Daemon *d) {
        const EngineRun *run = manager_run(d->manager);

        if (run)
                sd_notifyf(false, "STATUS=%zu tenants applied (%s)", run->set.n_tenants, backend_name(run->backend));
        else
                sd_notify(false, "STATUS=no policy applied (see the journal)");
}

static void reapply(Daemon *d, const char *origin) {
        sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec(CLOCK_MONOTONIC));
        /* a failed apply was rolled back: the previous state stays in force */
        (void) manager_apply(d->manager, NULL, origin, NULL);
        notify_status(d);
        sd_notify(false, "READY=1");
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        reapply(userdata, "SIGHUP");
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sd_notify(false, "STOPPING=1");
        log_info("stopping; tenants keep running with their limits");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        reapply(userdata, "policy directory changed");
        return 0;
}

/* Watch DIR and DIR/tenants; editors write a temporary file and rename it,
 * so a change shows as a burst of events: wait until it has been quiet. */
static int watch_add(Daemon *d) {
        _cleanup_free_ char *tenants = strdup_printf("%s/tenants", d->policy_dir);
        const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB;

        if (!tenants)
                return -ENOMEM;
        if (inotify_add_watch(d->inotify_fd, d->policy_dir, mask) < 0)
                return -errno;
        /* tenants/ may appear later; the top watch sees it being created */
        (void) inotify_add_watch(d->inotify_fd, tenants, mask);
        return 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        int r;

        for (;;) {
                n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
        }
        (void) watch_add(d); /* re-arm: tenants/ may have been created or replaced */
        r = sd_event_source_set_time_relative(d->debounce, d->debounce_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->debounce, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error("cannot arm the re-apply timer: %s", strerror(-r));
        return 0;
}

static int setup_inotify(Daemon *d) {
        int r;

        d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->inotify_fd < 0)
                return -errno;
        r = watch_add(d);
        if (r < 0)
                return r;
        r = sd_event_add_io(d->event, &d->inotify_source, d->inotify_fd, EPOLLIN, on_inotify, d);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(d->event, &d->debounce, CLOCK_MONOTONIC, d->debounce_usec, 10000, on_debounce, d);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(d->debounce, SD_EVENT_OFF);
}

static int setup_bus(Daemon *d) {
        int r;

        r = sd_bus_open_system(&d->bus);
        if (r < 0)
                return r;
        r = bus_api_register(d->bus, d->manager);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(d->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        manager_set_event_handler(d->manager, bus_api_emit_event, d->bus);
        return 0;
}

static void usage(void) {
        printf("Usage: tenantd [OPTIONS]\n\n"
               "  -p, --policy-dir DIR    policy directory (default %s)\n"
               "  -r, --root PATH         cgroup root (default: [cgroup] root of tenantd.conf)\n"
               "  -b, --backend NAME      auto, systemd or cgroupfs (default: tenantd.conf)\n"
               "  -s, --state-dir DIR     runtime state (default /run/tenantd)\n"
               "      --no-bus            do not serve the D-Bus API\n"
               "      --no-react          apply only: no PSI reactions\n"
               "      --debounce TIME     quiet time before a policy change is applied (default 500ms)\n"
               "      --once              apply once and exit (exit status as tenantctl apply)\n"
               "  -h, --help              this help\n",
               TENANTD_POLICY_DIR);
}

int main(int argc, char **argv) {
        enum { OPT_NO_BUS = 0x100, OPT_ONCE, OPT_DEBOUNCE, OPT_NO_REACT };
        static const struct option opts[] = {
                { "policy-dir", required_argument, NULL, 'p' },
                { "root", required_argument, NULL, 'r' },
                { "backend", required_argument, NULL, 'b' },
                { "state-dir", required_argument, NULL, 's' },
                { "no-bus", no_argument, NULL, OPT_NO_BUS },
                { "no-react", no_argument, NULL, OPT_NO_REACT },
                { "once", no_argument, NULL, OPT_ONCE },
                { "debounce", required_argument, NULL, OPT_DEBOUNCE },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {0},
        };
        ManagerOptions mo = { .policy_dir = TENANTD_POLICY_DIR };
        Daemon d = { .inotify_fd = -1, .debounce_usec = DEBOUNCE_USEC };
        bool no_bus = false, once = false, no_react = false;
        EngineStatus st;
        sigset_t mask;
        int r, opt;

        while ((opt = getopt_long(argc, argv, "p:r:b:s:hV", opts, NULL)) >= 0) {
                switch (opt) {
                case 'p':
                        mo.policy_dir = optarg;
                        break;
                case 'r':
                        mo.cgroup_root = optarg;
                        break;
                case 'b':
                        if (backend_kind_from_string(optarg, &mo.backend) < 0) {
                                fprintf(stderr, "tenantd: --backend: expected auto, systemd or cgroupfs, got '%s'\n", optarg);
                                return 2;
                        }
                        mo.has_backend = true;
                        break;
                case 's':
                        mo.state_dir = optarg;
                        break;
                case OPT_NO_BUS:
                        no_bus = true;
                        break;
                case OPT_NO_REACT:
                        no_react = true;
                        break;
                case OPT_ONCE:
                        once = true;
                        break;
                case OPT_DEBOUNCE:
                        if (duration_parse(optarg, &d.debounce_usec) < 0) {
                                fprintf(stderr, "tenantd: --debounce: expected a duration such as 500ms, got '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage();
                        return 0;
                case 'V':
                        printf("tenantd %s\n", TENANTD_VERSION);
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "tenantd: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        d.policy_dir = mo.policy_dir;
        log_open("tenantd");
        {
                /* one PSI trigger fd per watched cgroup: raise the soft limit to the hard one */
                struct rlimit rl;

                if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                        rl.rlim_cur = rl.rlim_max;
                        (void) setrlimit(RLIMIT_NOFILE, &rl);
                }
        }

        r = manager_new(&mo, &d.manager);
        if (r < 0) {
                log_error("cannot start: %s", strerror(-r));
                return 1;
        }
        if (no_react || once)
                manager_disable_reactions(d.manager);
        if (once) {
                _cleanup_free_ char *text = NULL;

                st = manager_apply(d.manager, NULL, "--once", &text);
                manager_free(d.manager);
                return (int) st;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&d.event);
        if (r < 0) {
                log_error("cannot create the event loop: %s", strerror(-r));
                return 1;
        }
        if ((r = sd_event_add_signal(d.event, NULL, SIGHUP, on_sighup, &d)) < 0 ||
            (r = sd_event_add_signal(d.event, NULL, SIGTERM, on_sigterm, &d)) < 0 ||
            (r = sd_event_add_signal(d.event, NULL, SIGINT, on_sigterm, &d)) < 0 ||
            (r = sd_event_set_watchdog(d.event, true)) < 0) {
                log_error("cannot set up signals and the watchdog: %s", strerror(-r));
                return 1;
        }
        r = setup_inotify(&d);
        if (r < 0)
                log_warning("cannot watch %s (%s): re-apply with SIGHUP or tenantctl apply", d.policy_dir, strerror(-r));
        if (!no_bus) {
                r = setup_bus(&d);
                if (r < 0) {
                        log_error("cannot serve the D-Bus API as %s: %s", TENANTD_BUS_NAME, strerror(-r));
                        return 1;
                }
        }

        r = manager_attach_event(d.manager, d.event);
        if (r < 0)
                log_error("cannot arm the reaction ladder: %s", strerror(-r));

        /* Re-adopt what a previous run left: apply changes only what differs
         * and starts only tenants whose leaf is empty. */
        st = manager_apply(d.manager, NULL, "start", NULL);
        if (st != ENGINE_OK) {
                const char *root = mo.cgroup_root ? mo.cgroup_root : "/sys/fs/cgroup";
                struct statfs sfs;

                /* no policy edit fixes the host: do not wait for one */
                if (statfs(root, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
                        log_error("%s is not a cgroup2 file system (a cgroup v1 or hybrid host?): tenantd needs the "
                                  "unified hierarchy", root);
                        return 1;
                }
                log_error("the policy in %s was not applied; fix it and tenantd re-applies on the next change", d.policy_dir);
        }
        notify_status(&d);
        sd_notify(false, "READY=1");

        r = sd_event_loop(d.event);
        sd_event_source_unref(d.debounce);
        sd_event_source_unref(d.inotify_source);
        if (d.inotify_fd >= 0)
                close(d.inotify_fd);
        sd_bus_flush_close_unref(d.bus);
        sd_event_unref(d.event);
        manager_free(d.manager);
        return r < 0 ? 1 : 0;
}
