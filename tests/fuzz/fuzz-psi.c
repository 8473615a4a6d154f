/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the pressure-file parser psi_parse_avg() (ctl/psi.c),
 * on a buffer without a NUL terminator so ASan catches reads past the end.
 */
#include <stdint.h>
#include <stdlib.h>

#include "psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PsiStats st = { .some.avg10 = 12345 }, before = st;

        if (psi_parse_avg((const char *) data, size, &st) < 0) {
                /* failures leave the output alone */
                if (memcmp(&st, &before, sizeof(st)) != 0)
                        abort();
                return 0;
        }
        if (!st.has_full && (st.full.avg10 | st.full.avg60 | st.full.avg300 | st.full.total_usec))
                abort();
        return 0;
}
