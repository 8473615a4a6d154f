/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * log: journal with structured fields, or stderr. See log.h.
 */
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_ident = "tenantd";
static bool journal = false;
static int max_level = LOG_INFO;

/* systemd's rule: stderr goes to the journal when $JOURNAL_STREAM names the
 * device and inode stderr is connected to. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_open(const char *ident) {
        log_ident = ident;
        journal = stderr_is_journal();
}

bool log_to_journal(void) {
        return journal;
}

void log_set_max_level(int prio) {
        max_level = prio;
}

void log_struct(int prio, const char *tenant, const char *klass, const char *action, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *m = NULL, *p = NULL, *t = NULL, *c = NULL, *a = NULL, *id = NULL;
        struct iovec iov[6];
        size_t n = 0;
        va_list ap;

        if (prio > max_level)
                return;
        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return;
        if (!journal) {
                fprintf(stderr, "%s: %s\n", log_ident, msg);
                return;
        }
#define FIELD(var, ...)                                                         \
        do {                                                                    \
                var = strdup_printf(__VA_ARGS__);                               \
                if (var)                                                        \
                        iov[n++] = (struct iovec) { .iov_base = var, .iov_len = strlen(var) }; \
        } while (0)
        FIELD(m, "MESSAGE=%s", msg);
        FIELD(p, "PRIORITY=%d", prio);
        FIELD(id, "SYSLOG_IDENTIFIER=%s", log_ident);
        if (tenant)
                FIELD(t, "TENANT=%s", tenant);
        if (klass)
                FIELD(c, "CLASS=%s", klass);
        if (action)
                FIELD(a, "ACTION=%s", action);
#undef FIELD
        if (sd_journal_sendv(iov, (int) n) < 0)
                fprintf(stderr, "%s: %s\n", log_ident, msg);
}
