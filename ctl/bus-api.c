/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bus-api: the org.tenantd1.Manager object. Each method checks the caller,
 * reads its arguments, calls the manager and maps EngineStatus to a D-Bus
 * error. See bus-api.h for the interface.
 */
#include <grp.h>

#include "bus-api.h"
#include "config.h"
#include "log.h"

static int reply_status(sd_bus_message *msg, EngineStatus st, const char *text, sd_bus_error *error) {
        static const char *const names[] = {
                [ENGINE_FAILED] = TENANTD_ERROR_FAILED,
                [ENGINE_INVALID] = TENANTD_ERROR_INVALID,
                [ENGINE_REFUSED] = TENANTD_ERROR_REFUSED,
        };

        if (st == ENGINE_OK)
                return sd_bus_reply_method_return(msg, "s", text ? text : "");
        return sd_bus_error_set(error, names[st], text && *text ? text : "failed");
}

/* Root may do everything; only root changes anything. */
static int check_caller(sd_bus_message *msg, Manager *m, bool change, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *group = manager_read_group(m);
        const gid_t *gids = NULL;
        uid_t euid;
        gid_t egid;
        struct group *gr;
        int n, r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                                                   SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return r;
        if (euid == 0)
                return 0;
        if (change)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "only root may change tenants (caller uid %u)", (unsigned) euid);
        gr = group && *group ? getgrnam(group) : NULL;
        if (gr) {
                if (sd_bus_creds_get_egid(creds, &egid) >= 0 && egid == gr->gr_gid)
                        return 0;
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                for (int i = 0; i < n; i++)
                        if (gids[i] == gr->gr_gid)
                                return 0;
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "uid %u is neither root nor in group '%s' ([api] read_group)", (unsigned) euid,
                                 group && *group ? group : "(none)");
}

#define CHECK(change)                                                   \
        do {                                                            \
                int _r = check_caller(msg, m, change, error);           \
                if (_r < 0)                                             \
                        return _r;                                      \
        } while (0)

static int method_list(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(tenant_rows_done) TenantRows rows = {0};
        Manager *m = userdata;
        int r;

        CHECK(false);
        r = manager_rows(m, NULL, &rows);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', TENANT_ROW_SIG);
        for (size_t i = 0; r >= 0 && i < rows.n; i++)
                r = tenant_row_append(reply, &rows.v[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *json = NULL;
        Manager *m = userdata;
        const char *id;
        int r;

        CHECK(false);
        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        r = manager_tenant_json(m, id, &json);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, TENANTD_ERROR_INVALID, "no tenant '%s'", id);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", json);
}

static int event_append(sd_bus_message *m, const TenantEvent *ev) {
        return sd_bus_message_append(m, TENANTD_EVENT_SIG, ev->seq, ev->mono_usec, ev->real_usec, ev->tenant,
                                     ev->klass, ev->action, ev->reason, ev->detail);
}

static int method_events(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const EventLog *log = manager_events(m);
        uint64_t after;
        int r;

        CHECK(false);
        r = sd_bus_message_read(msg, "t", &after);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', TENANTD_EVENT_SIG);
        for (size_t i = 0; r >= 0 && i < log->n; i++) {
                const TenantEvent *ev = event_log_at(log, i);
                if (ev->seq > after)
                        r = event_append(reply, ev);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_apply(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        Manager *m = userdata;
        const char *dir;
        EngineStatus st;
        int r;

        CHECK(true);
        r = sd_bus_message_read(msg, "s", &dir);
        if (r < 0)
                return r;
        if (*dir && dir[0] != '/')
                return sd_bus_error_setf(error, TENANTD_ERROR_INVALID, "policy directory must be absolute: '%s'", dir);
        st = manager_apply(m, *dir ? dir : NULL, "tenantctl apply", &text);
        return reply_status(msg, st, text, error);
}

static int method_reassign(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(strv_freep) char **keys = NULL, **values = NULL;
        Manager *m = userdata;
        const char *id, *k, *v;
        size_t n = 0;
        EngineStatus st;
        int r;

        CHECK(true);
        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(msg, "(ss)", &k, &v)) > 0) {
                char **nk = realloc(keys, (n + 2) * sizeof(char *)), **nv;

                if (!nk)
                        return -ENOMEM;
                keys = nk;
                nv = realloc(values, (n + 2) * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                values = nv;
                keys[n] = strdup(k);
                values[n] = strdup(v);
                keys[n + 1] = values[n + 1] = NULL;
                n++;
                if (!keys[n - 1] || !values[n - 1])
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        st = manager_reassign(m, id, keys, values, n, &text);
        return reply_status(msg, st, text, error);
}

static int method_start_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error, bool start) {
        _cleanup_free_ char *text = NULL;
        Manager *m = userdata;
        const char *id;
        EngineStatus st;
        int r;

        CHECK(true);
        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        st = start ? manager_start(m, id, &text) : manager_stop(m, id, &text);
        return reply_status(msg, st, text, error);
}

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_start_stop(msg, userdata, error, true);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_start_stop(msg, userdata, error, false);
}

static int method_adopt(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        Manager *m = userdata;
        const char *id;
        const void *pids;
        size_t size;
        EngineStatus st;
        int r;

        CHECK(true);
        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(msg, 'u', &pids, &size);
        if (r < 0)
                return r;
        if (size == 0)
                return sd_bus_error_setf(error, TENANTD_ERROR_INVALID, "no PIDs given");
        for (size_t i = 0; i < size / sizeof(uint32_t); i++)
                if (((const uint32_t *) pids)[i] == 0 || ((const uint32_t *) pids)[i] > INT32_MAX)
                        return sd_bus_error_setf(error, TENANTD_ERROR_INVALID, "not a PID: %u",
                                                 ((const uint32_t *) pids)[i]);
        st = manager_adopt(m, id, (const pid_t *) pids, size / sizeof(uint32_t), &text);
        return reply_status(msg, st, text, error);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const EngineRun *run = manager_run(m);

        if (streq(property, "Version"))
                return sd_bus_message_append(reply, "s", TENANTD_VERSION);
        if (streq(property, "Backend"))
                return sd_bus_message_append(reply, "s", run ? backend_name(run->backend) : "");
        if (streq(property, "PolicyDirectory"))
                return sd_bus_message_append(reply, "s", manager_policy_dir(m));
        return sd_bus_message_append(reply, "u", run ? (uint32_t) run->set.n_tenants : 0);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Backend", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("PolicyDirectory", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Tenants", "u", property_get, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListTenants", SD_BUS_NO_ARGS, SD_BUS_RESULT("a" TENANT_ROW_SIG, tenants),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetTenant", SD_BUS_ARGS("s", id), SD_BUS_RESULT("s", json), method_get,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetEvents", SD_BUS_ARGS("t", after), SD_BUS_RESULT("a" TENANTD_EVENT_SIG, events),
                                method_events, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Apply", SD_BUS_ARGS("s", dir), SD_BUS_RESULT("s", result), method_apply,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reassign", SD_BUS_ARGS("s", id, "a(ss)", changes), SD_BUS_RESULT("s", result),
                                method_reassign, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_ARGS("s", id), SD_BUS_RESULT("s", result), method_start,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", id), SD_BUS_RESULT("s", result), method_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Adopt", SD_BUS_ARGS("s", id, "au", pids), SD_BUS_RESULT("s", result),
                                method_adopt, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Event",
                                SD_BUS_ARGS("t", seq, "t", monotonic_usec, "t", realtime_usec, "s", tenant, "s",
                                            class, "s", action, "s", reason, "s", detail),
                                0),
        SD_BUS_VTABLE_END,
};

int bus_api_register(sd_bus *bus, Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_request_name(bus, TENANTD_BUS_NAME, 0);
}

void bus_api_emit_event(Manager *m, const TenantEvent *ev, void *userdata) {
        sd_bus *bus = userdata;
        int r;

        if (!bus)
                return;
        r = sd_bus_emit_signal(bus, TENANTD_BUS_PATH, TENANTD_BUS_INTERFACE, "Event", "tttsssss",
                               ev->seq, ev->mono_usec, ev->real_usec, ev->tenant, ev->klass, ev->action, ev->reason,
                               ev->detail);
        if (r < 0)
                log_debug("cannot emit Event signal: %s", strerror(-r));
}
