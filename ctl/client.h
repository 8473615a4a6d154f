/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client: tenantctl's side of the D-Bus API (bus-api.h): connect, call,
 * and turn D-Bus errors into tenantctl's exit status and a message.
 */
#pragma once

#include <systemd/sd-bus.h>

/* Exit statuses, shared with the engine's EngineStatus (0..3). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_INVALID = 2,
        EXIT_REFUSED = 3,
        EXIT_DENIED = 4,        /* the caller may not do this (D-Bus AccessDenied) */
        EXIT_NO_DAEMON = 5,     /* the verb needs tenantd and it is not running */
};

/* Connect to the system bus and check tenantd owns its name. Returns 1 when
 * tenantd is there, 0 when it is not running (*ret is NULL), -errno when the
 * bus itself cannot be reached (also *ret NULL). */
int client_open(sd_bus **ret);

/* Print "tenantctl: <message>" for a failed call and return the exit status
 * its error name means. */
int client_error(const sd_bus_error *e, int r);

/* How long mutating calls may take (an apply starts VMs and waits for jobs). */
#define CLIENT_CALL_TIMEOUT_USEC (300 * UINT64_C(1000000))
