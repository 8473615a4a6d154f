/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * log: the daemon's messages. Under systemd (stderr connected to the journal,
 * $JOURNAL_STREAM) each message goes to the journal with structured fields
 * TENANT=, CLASS=, ACTION= so `journalctl TENANT=db` finds a tenant's history;
 * otherwise it is one line on stderr, "tenantd: message".
 */
#pragma once

#include <syslog.h>

#include "util.h"

/* Decide once where messages go; ident names the program in stderr lines. */
void log_open(const char *ident);
bool log_to_journal(void);
/* Messages above this priority (LOG_DEBUG > LOG_INFO) are dropped; default LOG_INFO. */
void log_set_max_level(int prio);

/* tenant, klass, action may be NULL (field omitted). */
void log_struct(int prio, const char *tenant, const char *klass, const char *action, const char *fmt, ...)
        _printf_(5, 6);

#define log_error(...) log_struct(LOG_ERR, NULL, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_struct(LOG_WARNING, NULL, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_struct(LOG_INFO, NULL, NULL, NULL, __VA_ARGS__)
#define log_debug(...) log_struct(LOG_DEBUG, NULL, NULL, NULL, __VA_ARGS__)
