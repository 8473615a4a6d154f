/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "sdbus.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_JOB "org.freedesktop.systemd1.Job"

/* JobRemoved signals seen and not yet claimed; a small ring is enough because
 * tenantd waits for one job at a time. */
#define DONE_JOBS_MAX 64

typedef struct DoneJob {
        char *path;
        char *result;
} DoneJob;

struct Sdbus {
        sd_bus *bus;
        sd_bus_slot *job_removed;
        unsigned version;
        char *error;
        DoneJob done[DONE_JOBS_MAX];
        size_t next_done;
};

static void bus_messagep(sd_bus_message **m) {
        sd_bus_message_unref(*m);
}
#define _cleanup_bus_message_ _cleanup_(bus_messagep)

static void bus_errorp(sd_bus_error *e) {
        sd_bus_error_free(e);
}
#define _cleanup_bus_error_ _cleanup_(bus_errorp)

static int set_error(Sdbus *b, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(Sdbus *b, int r, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        free(b->error);
        b->error = msg;
        return r;
}

/* Record a bus error as "name: message" and turn it into a -errno. */
static int bus_error(Sdbus *b, const sd_bus_error *e, int r) {
        if (e && sd_bus_error_is_set(e)) {
                set_error(b, 0, "%s: %s", e->name, e->message ? e->message : "(no message)");
                r = sd_bus_error_get_errno(e);
                return r > 0 ? -r : -EIO;
        }
        set_error(b, 0, "%s", strerror(r < 0 ? -r : EIO));
        return r < 0 ? r : -EIO;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Sdbus *b = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        DoneJob *d;

        (void) ret_error;
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        d = &b->done[b->next_done++ % DONE_JOBS_MAX];
        free(d->path);
        free(d->result);
        d->path = strdup(path);
        d->result = strdup(result);
        return 0;
}

/* As systemctl does for root: systemd's private socket works even without a
 * bus daemon. */
static int open_private(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int sdbus_open(Sdbus **ret, char **ret_error) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        Sdbus *b;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        r = sd_bus_open_system(&b->bus);
        if (r < 0 && geteuid() == 0)
                r = open_private(&b->bus);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup_printf("cannot connect to the system bus: %s", strerror(-r));
                sdbus_free(b);
                return -ECONNREFUSED;
        }
        r = sd_bus_get_property_string(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &version);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup_printf("systemd does not answer on the system bus: %s",
                                                   sd_bus_error_is_set(&e) ? e.message : strerror(-r));
                sdbus_free(b);
                return -ECONNREFUSED;
        }
        /* "252.39-1~deb12u2", "v255" */
        b->version = (unsigned) strtoul(version + strspn(version, "v"), NULL, 10);

        /* The match goes in before any job exists, so no JobRemoved is missed. */
        r = sd_bus_match_signal(b->bus, &b->job_removed, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                on_job_removed, b);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup_printf("cannot subscribe to systemd's JobRemoved signal: %s",
                                                   strerror(-r));
                sdbus_free(b);
                return r;
        }
        /* systemd sends job signals on the bus to subscribers (and to whoever
         * queued the job); on the private socket always. Best effort. */
        sd_bus_error_free(&e);
        (void) sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, NULL);
        *ret = b;
        return 0;
}

Sdbus *sdbus_free(Sdbus *b) {
        if (!b)
                return NULL;
        sd_bus_slot_unref(b->job_removed);
        sd_bus_flush_close_unref(b->bus);
        for (size_t i = 0; i < DONE_JOBS_MAX; i++) {
                free(b->done[i].path);
                free(b->done[i].result);
        }
        free(b->error);
        free(b);
        return NULL;
}

unsigned sdbus_systemd_version(const Sdbus *b) {
        return b->version;
}

const char *sdbus_last_error(const Sdbus *b) {
        return b->error ? b->error : "unknown error";
}

/* ---- unit state -------------------------------------------------------------- */

void unit_state_done(UnitState *s) {
        free(s->load_state);
        free(s->active_state);
        free(s->sub_state);
        free(s->result);
        free(s->control_group);
        free(s->slice);
        *s = (UnitState) { .load_state = NULL };
}

const UnitValue *unit_state_value(const UnitState *s, const char *prop) {
        for (size_t i = 0; i < s->n_props; i++)
                if (streq(s->props[i].name, prop))
                        return &s->props[i].value;
        return NULL;
}

bool unit_state_is_running(const UnitState *s) {
        static const char *const running[] = { "active", "activating", "reloading", "deactivating" };

        for (size_t i = 0; i < ELEMENTSOF(running); i++)
                if (streq_ptr(s->active_state, running[i]))
                        return true;
        return false;
}

/* The static name of a managed property (so UnitPropValue needs no copy). */
static const char *managed_prop_name(const char *name) {
        static const char *const names[] = { "AllowedCPUs", "AllowedMemoryNodes", "CPUWeight", "MemoryMin",
                                             "MemoryLow", "MemoryHigh", "MemoryMax", "MemorySwapMax",
                                             "MemoryZSwapMax" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(names[i], name))
                        return names[i];
        return NULL;
}

static int read_string_prop(sd_bus_message *m, char **dst) {
        const char *s;
        int r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        free(*dst);
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

static int read_one_prop(sd_bus_message *m, const char *name, UnitState *st) {
        static const struct {
                const char *name;
                size_t offset;
        } strings[] = {
                { "LoadState", offsetof(UnitState, load_state) },
                { "ActiveState", offsetof(UnitState, active_state) },
                { "SubState", offsetof(UnitState, sub_state) },
                { "Result", offsetof(UnitState, result) },
                { "ControlGroup", offsetof(UnitState, control_group) },
                { "Slice", offsetof(UnitState, slice) },
        };
        const char *contents = NULL, *prop;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v' || !contents)
                return -EBADMSG;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (streq(name, strings[i].name) && streq(contents, "s"))
                        return read_string_prop(m, (char **) ((uint8_t *) st + strings[i].offset));
        if (streq(name, "Transient") && streq(contents, "b")) {
                int v;
                r = sd_bus_message_read(m, "v", "b", &v);
                st->transient = v;
                return r;
        }
        if (streq(name, "ExecMainStatus") && streq(contents, "i"))
                return sd_bus_message_read(m, "v", "i", &st->exec_main_status);

        prop = managed_prop_name(name);
        if (prop && st->n_props < UNIT_PROPS_MAX) {
                UnitPropValue *pv = &st->props[st->n_props];
                UnitValueType vt;

                if (unit_prop_type(prop, &vt) < 0)
                        return sd_bus_message_skip(m, "v");
                pv->name = prop;
                pv->value = (UnitValue) { .type = vt };
                if (vt == UNIT_VALUE_U64 && streq(contents, "t")) {
                        r = sd_bus_message_read(m, "v", "t", &pv->value.u64);
                        if (r >= 0)
                                st->n_props++;
                        return r;
                }
                if (vt != UNIT_VALUE_U64 && streq(contents, "ay")) {
                        const void *bytes;
                        size_t n;

                        r = sd_bus_message_enter_container(m, 'v', "ay");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(m, 'y', &bytes, &n);
                        if (r < 0)
                                return r;
                        r = unit_mask_from_bytes(bytes, n, vt == UNIT_VALUE_NODES ? NODESET_MAX : CPUSET_MAX,
                                                 &pv->value.mask);
                        if (r >= 0)
                                st->n_props++;
                        return sd_bus_message_exit_container(m);
                }
        }
        return sd_bus_message_skip(m, "v");
}

int sdbus_unit_state(Sdbus *b, const char *unit, UnitState *ret) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL, *all = NULL;
        UnitState st = { .exec_main_status = 0 };
        const char *path;
        int r;

        r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
        if (r < 0) {
                if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
                        return -ENOENT;
                return bus_error(b, &e, r);
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return bus_error(b, NULL, r);
        /* "" = every interface in one call, as systemctl show does */
        r = sd_bus_call_method(b->bus, SD_DEST, path, "org.freedesktop.DBus.Properties", "GetAll", &e, &all, "s",
                               "");
        if (r < 0)
                return bus_error(b, &e, r);

        r = sd_bus_message_enter_container(all, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(all, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(all, "s", &name);
                if (r >= 0)
                        r = read_one_prop(all, name, &st);
                if (r >= 0)
                        r = sd_bus_message_exit_container(all);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(all);
        if (r < 0) {
                unit_state_done(&st);
                return set_error(b, r, "cannot parse the properties of %s: %s", unit, strerror(-r));
        }
        if (!st.load_state || !st.active_state || !st.control_group || !st.slice) {
                /* fill what the unit type does not have, so callers need no NULL checks */
                if ((!st.load_state && !(st.load_state = strdup(""))) ||
                    (!st.active_state && !(st.active_state = strdup(""))) ||
                    (!st.control_group && !(st.control_group = strdup(""))) ||
                    (!st.slice && !(st.slice = strdup("")))) {
                        unit_state_done(&st);
                        return -ENOMEM;
                }
        }
        if (streq(st.load_state, "not-found")) {
                unit_state_done(&st);
                return -ENOENT;
        }
        *ret = st;
        return 0;
}

/* ---- jobs ------------------------------------------------------------------------- */

/* 1 and *ret_result when the job's JobRemoved was seen, 0 otherwise. */
static int claim_done(Sdbus *b, const char *job, char **ret_result) {
        for (size_t i = 0; i < DONE_JOBS_MAX; i++)
                if (b->done[i].path && streq(b->done[i].path, job)) {
                        *ret_result = b->done[i].result;
                        b->done[i].result = NULL;
                        free(b->done[i].path);
                        b->done[i].path = NULL;
                        return 1;
                }
        return 0;
}

/* Is the job object still there? A job that finished without us seeing the
 * signal (it should not happen, but a lost signal must not hang apply). */
static bool job_exists(Sdbus *b, const char *job) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL;
        int r = sd_bus_get_property_string(b->bus, SD_DEST, job, SD_JOB, "State", &e, &state);

        return r >= 0 || !(sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.UnknownObject") ||
                           sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchJob") ||
                           sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.UnknownMethod"));
}

/* 0 done; -EIO other result; -ETIMEDOUT. *ret_result: the result string. */
static int wait_job(Sdbus *b, const char *job, uint64_t timeout_usec, char **ret_result) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec, next_poll;
        _cleanup_free_ char *result = NULL;
        int r;

        next_poll = now_usec(CLOCK_MONOTONIC) + 1000000;
        for (;;) {
                uint64_t now;

                if (claim_done(b, job, &result))
                        break;
                r = sd_bus_process(b->bus, NULL);
                if (r < 0)
                        return set_error(b, r, "lost the bus connection waiting for job %s: %s", job, strerror(-r));
                if (r > 0)
                        continue;
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return set_error(b, -ETIMEDOUT, "job %s did not finish within %llu s", job,
                                         (unsigned long long) (timeout_usec / 1000000));
                if (now >= next_poll) {
                        if (!job_exists(b, job)) {
                                /* drain what arrived meanwhile, then give up on the signal */
                                while (sd_bus_process(b->bus, NULL) > 0)
                                        ;
                                if (!claim_done(b, job, &result))
                                        result = strdup("unknown");
                                break;
                        }
                        next_poll = now + 1000000;
                }
                r = sd_bus_wait(b->bus, 200000);
                if (r < 0 && r != -EINTR)
                        return set_error(b, r, "cannot wait on the bus: %s", strerror(-r));
        }
        if (!result)
                return -ENOMEM;
        if (!streq(result, "done")) {
                set_error(b, -EIO, "job result '%s'", result);
                if (ret_result)
                        *ret_result = TAKE_PTR(result);
                return -EIO;
        }
        if (ret_result)
                *ret_result = TAKE_PTR(result);
        return 0;
}

/* Call a method that returns a job, and wait for the job. */
static int call_job(Sdbus *b, sd_bus_message *m, uint64_t timeout_usec, char **ret_result) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *job;
        int r;

        r = sd_bus_call(b->bus, m, 0, &e, &reply);
        if (r < 0)
                return bus_error(b, &e, r);
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_error(b, NULL, r);
        return wait_job(b, job, timeout_usec ? timeout_usec : 60 * 1000000ULL, ret_result);
}

int sdbus_append_value(sd_bus_message *m, const char *name, const UnitValue *v) {
        uint8_t bytes[CPUSET_MAX / 8];
        size_t n;
        int r;

        if (v->type == UNIT_VALUE_U64)
                return sd_bus_message_append(m, "(sv)", name, "t", v->u64);
        n = unit_mask_to_bytes(&v->mask, bytes);
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', bytes, n);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int sdbus_start_transient(Sdbus *b, const char *unit, SdbusAppend append, void *userdata,
                          uint64_t timeout_usec, char **ret_result) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0 && append)
                r = append(m, userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return set_error(b, r, "cannot build StartTransientUnit for %s: %s", unit, strerror(-r));
        return call_job(b, m, timeout_usec, ret_result);
}

static int simple_job(Sdbus *b, const char *method, const char *unit, const char *mode, uint64_t timeout_usec,
                      char **ret_result) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, mode);
        if (r < 0)
                return set_error(b, r, "cannot build %s: %s", method, strerror(-r));
        return call_job(b, m, timeout_usec, ret_result);
}

int sdbus_start_unit(Sdbus *b, const char *unit, uint64_t timeout_usec, char **ret_result) {
        return simple_job(b, "StartUnit", unit, "replace", timeout_usec, ret_result);
}

int sdbus_unit_has_file(Sdbus *b, const char *unit) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *fragment = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &e, &reply, "s", unit);
        if (r < 0)
                return bus_error(b, &e, r);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return bus_error(b, NULL, r);
        r = sd_bus_get_property_string(b->bus, SD_DEST, path, "org.freedesktop.systemd1.Unit", "FragmentPath", &e,
                                       &fragment);
        if (r < 0)
                return bus_error(b, &e, r);
        return fragment && fragment[0] ? 1 : 0;
}

int sdbus_stop_unit(Sdbus *b, const char *unit, uint64_t timeout_usec, char **ret_result) {
        int r = simple_job(b, "StopUnit", unit, "replace", timeout_usec, ret_result);

        /* GetUnit said it exists, but a transient unit may be collected meanwhile */
        if (r < 0 && b->error && strstr(b->error, "org.freedesktop.systemd1.NoSuchUnit"))
                return 0;
        return r;
}

int sdbus_set_property(Sdbus *b, const char *unit, const char *name, const UnitValue *v) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", unit, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sdbus_append_value(m, name, v);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return set_error(b, r, "cannot build SetUnitProperties: %s", strerror(-r));
        r = sd_bus_call(b->bus, m, 0, &e, &reply);
        return r < 0 ? bus_error(b, &e, r) : 0;
}

int sdbus_set_memory_high(Sdbus *b, const char *unit, uint64_t bytes) {
        UnitValue v = { .type = UNIT_VALUE_U64, .u64 = bytes == SIZE_INFINITY ? UINT64_MAX : bytes };

        return sdbus_set_property(b, unit, "MemoryHigh", &v);
}

int sdbus_reset_failed(Sdbus *b, const char *unit) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &e, NULL, "s", unit);
        if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
                return 0;
        return r < 0 ? bus_error(b, &e, r) : 0;
}

int sdbus_attach_pids(Sdbus *b, const char *unit, const pid_t *pids, size_t n) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ uint32_t *v = calloc(n ? n : 1, sizeof(uint32_t));
        int r;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                v[i] = (uint32_t) pids[i];
        r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "AttachProcessesToUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'u', v, n * sizeof(uint32_t));
        if (r < 0)
                return set_error(b, r, "cannot build AttachProcessesToUnit: %s", strerror(-r));
        r = sd_bus_call(b->bus, m, 0, &e, &reply);
        return r < 0 ? bus_error(b, &e, r) : 0;
}

int sdbus_list_units(Sdbus *b, const char *const *patterns, char ***ret) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        char **v = NULL;
        size_t n = 0;
        const char *name;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, NULL);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) patterns);
        if (r < 0)
                return set_error(b, r, "cannot build ListUnitsByPatterns: %s", strerror(-r));
        r = sd_bus_call(b->bus, m, 0, &e, &reply);
        if (r < 0)
                return bus_error(b, &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return bus_error(b, NULL, r);
        v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                        NULL, NULL)) > 0) {
                char **nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv) {
                        strv_free(v);
                        return -ENOMEM;
                }
                v = nv;
                v[n] = strdup(name);
                if (!v[n]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                v[++n] = NULL;
        }
        if (r < 0) {
                strv_free(v);
                return bus_error(b, NULL, r);
        }
        *ret = v;
        return 0;
}

int sdbus_sync(Sdbus *b) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        r = sd_bus_get_property_string(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &version);
        return r < 0 ? bus_error(b, &e, r) : 0;
}

/* ---- the journal ---------------------------------------------------------------- */

static void journal_closep(sd_journal **j) {
        if (*j)
                sd_journal_close(*j);
}

static int journal_field(sd_journal *j, const char *field, char **ret) {
        const void *data;
        size_t len, flen = strlen(field);
        int r;

        r = sd_journal_get_data(j, field, &data, &len);
        if (r < 0)
                return r;
        if (len <= flen + 1)
                return -ENODATA;
        *ret = strndup((const char *) data + flen + 1, len - flen - 1);
        return *ret ? 0 : -ENOMEM;
}

int sdbus_journal_cgroup_errno(const char *unit, const char *attr, uint64_t since_realtime_usec,
                               uint64_t wait_usec) {
        _cleanup_(journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *match_unit = NULL, *needle = NULL;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + wait_usec;

        match_unit = strdup_printf("UNIT=%s", unit);
        needle = strdup_printf("Failed to set '%s' attribute", attr);
        if (!match_unit || !needle)
                return 0;
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
                return 0;
        if (sd_journal_add_match(j, "_PID=1", 0) < 0 || sd_journal_add_match(j, match_unit, 0) < 0)
                return 0;
        if (sd_journal_seek_realtime_usec(j, since_realtime_usec) < 0)
                return 0;
        for (;;) {
                while (sd_journal_next(j) > 0) {
                        _cleanup_free_ char *msg = NULL, *err = NULL;

                        if (journal_field(j, "MESSAGE", &msg) < 0 || !strstr(msg, needle))
                                continue;
                        if (journal_field(j, "ERRNO", &err) == 0) {
                                int e = atoi(err);
                                if (e > 0)
                                        return e;
                        }
                }
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return 0;
                (void) sd_journal_wait(j, 100000);
        }
}
