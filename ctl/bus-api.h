/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bus-api: tenantd's D-Bus API on the system bus, and the names both ends use.
 *
 *   name org.tenantd1, object /org/tenantd1, interface org.tenantd1.Manager
 *
 *   ListTenants() -> a(sssssssssttttttuuu)      rows as status.h defines them
 *   GetTenant(s id) -> s                        one tenant as a JSON document
 *   GetEvents(t after) -> a(tttsssss)           seq, monotonic usec, realtime usec,
 *                                               tenant, class, action, reason, detail
 *   Apply(s dir) -> s                           "" = the configured directory
 *   Reassign(s id, a(ss) changes) -> s          keys class|nodes|cpus|request|limit,
 *                                               value "" = back to the policy file
 *   Start(s id) -> s, Stop(s id) -> s, Adopt(s id, au pids) -> s
 *   signal Event(tttsssss)                      every event, as GetEvents gives it
 *   properties Version, Backend, PolicyDirectory (s), Tenants (u)
 *
 * Access: root may call everything; members of [api] read_group (tenantd.conf)
 * may call ListTenants, GetTenant, GetEvents and read properties; everyone
 * else is refused with org.freedesktop.DBus.Error.AccessDenied. The D-Bus
 * policy file enforces the same at the bus; tenantd checks again itself.
 * Failures carry org.tenantd1.Error.{Invalid,Refused,Failed} and the reason.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "config.h"
#include "manager.h"

#define TENANTD_BUS_PATH "/org/tenantd1"
#define TENANTD_BUS_INTERFACE "org.tenantd1.Manager"
#define TENANTD_ERROR_INVALID "org.tenantd1.Error.Invalid"
#define TENANTD_ERROR_REFUSED "org.tenantd1.Error.Refused"
#define TENANTD_ERROR_FAILED "org.tenantd1.Error.Failed"
#define TENANTD_EVENT_SIG "(tttsssss)"

/* Register the object on bus and request the well-known name. */
int bus_api_register(sd_bus *bus, Manager *m);
/* Emit the Event signal (a ManagerEventFn; userdata is the bus). */
void bus_api_emit_event(Manager *m, const TenantEvent *ev, void *userdata);
