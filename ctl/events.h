/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * events: what tenantd did, in order. A bounded ring in memory (the journal
 * keeps the long history); each event has a sequence number so a client can
 * ask for "everything after N" and follow without gaps or repeats.
 */
#pragma once

#include "util.h"

typedef struct TenantEvent {
        uint64_t seq;            /* 1, 2, ...: never reused during one daemon run */
        uint64_t mono_usec;      /* CLOCK_MONOTONIC */
        uint64_t real_usec;      /* CLOCK_REALTIME, for people */
        char *tenant;            /* "" for host-wide events */
        char *klass;             /* "" when none */
        char *action;            /* apply, reassign, start, stop, adopt, throttle, ... */
        char *reason;            /* why */
        char *detail;            /* values seen or written, free text */
} TenantEvent;

typedef struct EventLog {
        TenantEvent *v;
        size_t cap, first, n;    /* ring: v[(first + i) % cap] for i < n */
        uint64_t next_seq;
} EventLog;

int event_log_init(EventLog *l, size_t cap);
/* Appends (dropping the oldest when full); returns the stored event or NULL
 * when out of memory. NULL strings are stored as "". */
const TenantEvent *event_log_add(EventLog *l, uint64_t mono_usec, const char *tenant, const char *klass,
                                 const char *action, const char *reason, const char *detail);
/* The i-th oldest event still held, i < l->n. */
const TenantEvent *event_log_at(const EventLog *l, size_t i);
void event_log_done(EventLog *l);
