/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tenantd: the daemon. This first version applies the policy directory through
 * the cgroupfs backend at start and on SIGHUP, and exits cleanly on SIGTERM or
 * SIGINT, reporting its state to systemd with sd_notify. The D-Bus API, inotify
 * and the PSI reactions come in later modules.
 */
#include <getopt.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "apply.h"
#include "backend.h"
#include "config.h"
#include "plan.h"
#include "policy-load.h"
#include "policy.h"
#include "topology.h"

static const char *arg_policy_dir = NULL;
static const char *arg_root = NULL;
static bool arg_once = false;

/* Load, plan, apply. Logs once, at this boundary. Returns 0 or -errno. */
static int reconcile(void) {
        _cleanup_backend_ Backend *b = NULL;
        _cleanup_free_ char *error = NULL;
        PolicyErrors errs = {0};
        PolicySet s = {0};
        HostTopology host = {0};
        Plan p = {0};
        ApplyReport rep = {0};
        const char *root;
        int r;

        r = policy_load_dir(arg_policy_dir, &s, &errs);
        if (r < 0) {
                fprintf(stderr, "tenantd: policy directory '%s' is invalid, nothing applied:\n", arg_policy_dir);
                policy_errors_print(&errs, stderr);
                goto out;
        }
        root = arg_root ? arg_root : s.config.cgroup_root;
        r = topology_read("/sys", root, &host);
        if (r < 0) {
                fprintf(stderr, "tenantd: cannot read host topology: %s\n", strerror(-r));
                goto out;
        }
        r = plan_build(&s, &host, &p, &errs);
        if (r < 0) {
                fprintf(stderr, "tenantd: planning refused, nothing applied:\n");
                policy_errors_print(&errs, stderr);
                goto out;
        }
        r = backend_open(s.config.backend, root, &b, &error);
        if (r < 0) {
                fprintf(stderr, "tenantd: %s\n", error ? error : strerror(-r));
                goto out;
        }
        r = backend_apply(b, &p, &s, NULL, &rep);
        if (r < 0)
                fprintf(stderr, "tenantd: apply failed and was rolled back: %s\n", rep.error);
        else {
                fprintf(stderr, "tenantd: applied %zu tenants (%s): %u created, %u writes, %u removed, %u pending\n",
                        s.n_tenants, backend_name(b), rep.created, rep.writes, rep.removed, rep.pending);
                sd_notifyf(false, "STATUS=%zu tenants applied", s.n_tenants);
        }
        apply_report_done(&rep);
out:
        plan_done(&p);
        policy_set_done(&s);
        policy_errors_clear(&errs);
        return r;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sd_notify(false, "RELOADING=1");
        (void) reconcile(); /* a failed reload keeps the previous state: the apply rolled back */
        sd_notify(false, "READY=1");
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sd_notify(false, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "policy-dir", required_argument, NULL, 'p' },
                { "root", required_argument, NULL, 'r' },
                { "once", no_argument, NULL, '1' },
                { "help", no_argument, NULL, 'h' },
                {0},
        };
        sd_event *e = NULL;
        sigset_t mask;
        int r, opt;

        while ((opt = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (opt) {
                case 'p':
                        arg_policy_dir = optarg;
                        break;
                case 'r':
                        arg_root = optarg;
                        break;
                case '1':
                        arg_once = true;
                        break;
                case 'h':
                        printf("Usage: tenantd [--policy-dir DIR] [--root CGROUP_ROOT] [--once]\n");
                        return 0;
                default:
                        return 2;
                }
        }
        if (!arg_policy_dir)
                arg_policy_dir = TENANTD_POLICY_DIR;

        r = reconcile();
        if (arg_once)
                return r < 0 ? 1 : 0;

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&e);
        if (r < 0) {
                fprintf(stderr, "tenantd: cannot create event loop: %s\n", strerror(-r));
                return 1;
        }
        (void) sd_event_add_signal(e, NULL, SIGHUP, on_sighup, NULL);
        (void) sd_event_add_signal(e, NULL, SIGTERM, on_sigterm, NULL);
        (void) sd_event_add_signal(e, NULL, SIGINT, on_sigterm, NULL);
        sd_notify(false, "READY=1");
        r = sd_event_loop(e);
        sd_event_unref(e);
        return r < 0 ? 1 : 0;
}
