/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client: D-Bus connection and error mapping for tenantctl. See client.h.
 */
#include "bus-api.h"
#include "client.h"
#include "config.h"
#include "util.h"

int client_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        *ret = NULL;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int has = 0;

                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", NULL, &reply, "s", TENANTD_BUS_NAME);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &has);
                if (r >= 0 && has) {
                        *ret = bus;
                        return 1;
                }
        }
        sd_bus_flush_close_unref(bus);
        return r < 0 ? r : 0;
}

int client_error(const sd_bus_error *e, int r) {
        const char *msg = e && e->message ? e->message : strerror(-r);

        if (e && e->name && streq(e->name, SD_BUS_ERROR_ACCESS_DENIED) && !strstr(msg, "only root") &&
            !strstr(msg, "read_group"))
                /* refused by the bus policy before tenantd saw the call */
                fprintf(stderr, "tenantctl: permission denied: only root may change tenants (%s)\n", msg);
        else
                fprintf(stderr, "tenantctl: %s\n", msg);
        if (!e || !e->name)
                return EXIT_FAILED;
        if (streq(e->name, TENANTD_ERROR_INVALID))
                return EXIT_INVALID;
        if (streq(e->name, TENANTD_ERROR_REFUSED))
                return EXIT_REFUSED;
        if (streq(e->name, SD_BUS_ERROR_ACCESS_DENIED))
                return EXIT_DENIED;
        return EXIT_FAILED;
}
