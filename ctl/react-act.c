/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reactor's actuators on the real thing: cgroupfs attribute files through
 * the reactor's Cgfs handle, and QMP for VMs (one short connection per call:
 * QEMU serves one QMP client at a time, so none is held). Every function
 * returns the kernel's or QEMU's error as -errno. */
#include <inttypes.h>

#include "qmp.h"
#include "react.h"

static int write_u64(const ReactTarget *t, const char *attr, uint64_t v) {
        char buf[DECIMAL_STR_MAX(uint64_t)];

        if (v == SIZE_INFINITY)
                snprintf(buf, sizeof(buf), "max");
        else
                snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cgfs_write(t->cgfs, t->path, attr, buf);
}

/* "key 1" in a flat keyed file such as cgroup.events: 1, 0, or -errno */
static int keyed_flag(const ReactTarget *t, const char *file, const char *key) {
        _cleanup_free_ char *text = NULL;
        size_t n = strlen(key);
        int k;

        k = cgfs_read(t->cgfs, t->path, file, &text);
        if (k < 0)
                return k;
        for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, n) == 0 && p[n] == ' ')
                        return p[n + 1] == '1';
        return -EBADMSG;
}

static int act_read_memory(const ReactTarget *t, uint64_t *ret_current, uint64_t *ret_high) {
        uint64_t cur, high;
        int k;

        k = cgfs_read_u64(t->cgfs, t->path, "memory.current", &cur);
        if (k < 0)
                return k;
        if (ret_high) {
                k = cgfs_read_u64(t->cgfs, t->path, "memory.high", &high);
                if (k < 0)
                        return k;
                *ret_high = high;
        }
        *ret_current = cur;
        return 0;
}

static int act_set_high(const ReactTarget *t, uint64_t bytes) {
        return write_u64(t, "memory.high", bytes);
}

static int act_reclaim(const ReactTarget *t, uint64_t bytes) {
        return write_u64(t, "memory.reclaim", bytes);
}

static int qmp_open(const ReactTarget *t, Qmp **ret) {
        int k;

        if (!t->qmp)
                return -ENOTCONN;
        k = qmp_connect(t->qmp, t->qmp_timeout_usec, ret);
        if (k < 0)
                return k;
        qmp_set_timeout(*ret, t->qmp_timeout_usec);
        return 0;
}

static int act_balloon(const ReactTarget *t, uint64_t bytes, uint64_t *ret_actual) {
        _cleanup_qmp_ Qmp *q = NULL;
        uint64_t actual;
        int k;

        k = qmp_open(t, &q);
        if (k < 0)
                return k;
        if (bytes > 0) {
                k = qmp_balloon(q, bytes);
                if (k < 0)
                        return k;
        }
        if (!ret_actual)
                return 0;
        k = qmp_query_balloon(q, &actual);
        if (k < 0)
                return k;
        *ret_actual = actual;
        return 0;
}

static int act_frozen(const ReactTarget *t) {
        if (t->vm) {
                _cleanup_qmp_ Qmp *q = NULL;
                bool running;
                int k = qmp_open(t, &q);
                if (k >= 0)
                        k = qmp_query_status(q, &running, NULL);
                return k < 0 ? k : !running;
        }
        return keyed_flag(t, "cgroup.events", "frozen");
}

static int act_freeze(const ReactTarget *t, bool freeze) {
        int k;

        if (t->vm) {
                /* freezing QEMU's cgroup would also freeze its QMP monitor */
                _cleanup_qmp_ Qmp *q = NULL;
                k = qmp_open(t, &q);
                if (k < 0)
                        return k;
                k = freeze ? qmp_stop(q) : qmp_cont(q);
                return k < 0 ? k : 1;
        }
        k = cgfs_write(t->cgfs, t->path, "cgroup.freeze", freeze ? "1" : "0");
        if (k < 0)
                return k;
        if (!freeze)
                return 1;
        /* an idle cgroup is frozen at once; a busy one once every task stopped */
        k = keyed_flag(t, "cgroup.events", "frozen");
        return k < 0 ? 0 : k;
}

static int act_populated(const ReactTarget *t) {
        return keyed_flag(t, "cgroup.events", "populated");
}

static int act_evict(const ReactTarget *t, bool force) {
        int k;

        if (!force && t->vm) {
                _cleanup_qmp_ Qmp *q = NULL;
                k = qmp_open(t, &q);
                if (k >= 0)
                        k = qmp_system_powerdown(q);
                return k < 0 ? k : 0;
        }
        k = cgfs_write(t->cgfs, t->path, "cgroup.kill", "1");
        if (k < 0)
                return k;
        /* SIGKILL reaches frozen tasks; thaw so that whatever the daemon starts
         * here next does not begin frozen */
        (void) cgfs_write(t->cgfs, t->path, "cgroup.freeze", "0");
        k = act_populated(t);
        return k < 0 ? 0 : !k;
}

const ReactOps react_kernel_ops = {
        .read_memory = act_read_memory,
        .set_high = act_set_high,
        .reclaim = act_reclaim,
        .balloon = act_balloon,
        .freeze = act_freeze,
        .frozen = act_frozen,
        .evict = act_evict,
        .populated = act_populated,
};
