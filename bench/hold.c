/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-hold: the process of an idle tenant (bench-daemon --exec, bench/run-scale).
 * Touches SIZE_KIB of its own memory once (default 64), then sleeps until a
 * signal ends it: a tenant that holds a little memory and uses no CPU.
 * Nothing else: thousands of these run at once, so it stays small.
 *
 *   bench-hold [SIZE_KIB]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
        size_t size = (argc > 1 ? strtoul(argv[1], NULL, 10) : 64) * 1024;
        char *p = malloc(size ? size : 1);

        if (!p) {
                perror("bench-hold: malloc");
                return 1;
        }
        /* not zeros: a page of zeros may be left unbacked or merged */
        memset(p, 0x5a, size);
        for (;;)
                pause();
}
