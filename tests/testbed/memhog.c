/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memhog: a test load. Allocates SIZE of anonymous memory, touches every page,
 * then keeps re-touching it (so it stays hot) until killed or for SECONDS.
 * With --grow it allocates in 16 MiB steps without bound, as a runaway tenant
 * would. Prints "ready" once the working set is resident.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t parse_mib(const char *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || (*end != '\0' && *end != 'M'))
                return 0;
        return (uint64_t) v << 20;
}

static void touch(unsigned char *p, uint64_t len, long pg) {
        for (uint64_t off = 0; off < len; off += (uint64_t) pg)
                p[off]++;
}

int main(int argc, char **argv) {
        long pg = sysconf(_SC_PAGESIZE);
        bool grow = false;
        uint64_t size, seconds = 0;
        unsigned char *p;
        time_t start = time(NULL);

        if (argc < 2) {
                fprintf(stderr, "usage: memhog SIZE_MIB [SECONDS] [--grow]\n");
                return 2;
        }
        size = parse_mib(argv[1]);
        if (argc > 2 && strcmp(argv[2], "--grow") != 0)
                seconds = strtoull(argv[2], NULL, 10);
        for (int i = 2; i < argc; i++)
                if (strcmp(argv[i], "--grow") == 0)
                        grow = true;
        if (size == 0) {
                fprintf(stderr, "memhog: bad size '%s'\n", argv[1]);
                return 2;
        }

        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                fprintf(stderr, "memhog: mmap %llu: %s\n", (unsigned long long) size, strerror(errno));
                return 1;
        }
        touch(p, size, pg);
        printf("ready\n");
        fflush(stdout);

        for (;;) {
                if (seconds && (uint64_t) (time(NULL) - start) >= seconds)
                        return 0;
                if (grow) {
                        uint64_t step = 16u << 20;
                        unsigned char *q = mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (q != MAP_FAILED)
                                touch(q, step, pg);
                }
                touch(p, size, pg);
                usleep(grow ? 20000 : 50000);
        }
}
