/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the policy parsers. The same bytes go to all three:
 * tenant_parse(), classes_parse() and host_config_parse(), without a NUL
 * terminator (libFuzzer's buffer is exactly `size` long, so ASan catches any
 * read past the end), then the cross-file checks and the error printer run on
 * whatever came out. Build and run with tests/fuzz/run.sh.
 */
#include <stdint.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static FILE *devnull;
        const char *text = (const char *) data;
        PolicyErrors errs = { 0 };
        PolicySet set = { .n_tenants = 0 };
        TenantPolicy t;
        PolicyClasses classes;
        HostConfig config;

        if (!devnull)
                devnull = fopen("/dev/null", "we");

        if (classes_parse(text, size, "fuzz.classes", &classes, &errs) == 0)
                set.classes = classes;
        else {
                policy_classes_done(&classes);
                policy_classes_default(&set.classes);
        }
        if (host_config_parse(text, size, "fuzz.conf", &config, &errs) == 0)
                set.config = config;
        else {
                host_config_done(&config);
                host_config_default(&set.config);
        }
        if (tenant_parse(text, size, "fuzz.ini", "fuzz", &t, &errs) == 0) {
                /* twice, so the duplicate-id path runs too */
                set.tenants = calloc(2, sizeof(TenantPolicy));
                if (set.tenants) {
                        set.tenants[0] = t;
                        set.tenants[1] = t;
                        set.tenants[1].file = t.file ? strdup(t.file) : NULL;
                        set.tenants[1].exec = t.exec ? strdup(t.exec) : NULL;
                        set.tenants[1].description = t.description ? strdup(t.description) : NULL;
                        set.tenants[1].vm_qmp = t.vm_qmp ? strdup(t.vm_qmp) : NULL;
                        set.n_tenants = 2;
                        (void) tenant_policy_check(&set.tenants[0], &errs);
                        (void) policy_set_validate(&set, &errs);
                } else
                        tenant_policy_done(&t);
        } else
                tenant_policy_done(&t);

        if (devnull)
                policy_errors_print(&errs, devnull);
        policy_errors_clear(&errs);
        policy_set_done(&set);
        return 0;
}
