/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-wss: the loads of bench-react and bench-protect.
 *
 *   bench-wss ops SIZE_MIB    a latency-sensitive workload: a fixed working set
 *                             of SIZE_MIB, touched at random pages as fast as
 *                             it goes; prints the operations of each second
 *                             ("ops N") on stdout
 *   bench-wss hold SIZE_MIB   allocates SIZE_MIB and keeps it hot (re-touched
 *                             every 50 ms), as a tenant that uses what it has
 *   bench-wss spin            only uses a CPU, no memory: keeps the other
 *                             vCPU busy while the workload runs alone
 *   bench-wss grow SIZE_MIB [MIB_PER_S]
 *                             starts with SIZE_MIB and grows in 16 MiB steps
 *                             without bound (MIB_PER_S, default 64), touching
 *                             all it holds in every cycle: a runaway tenant
 *                             whose whole heap is live
 *
 * Every page gets 2 KiB of pseudo-random bytes and 2 KiB of zeros, so that
 * zram swap compresses it about 2:1 as it would real data (a page of zeros
 * costs zram nothing and creates no contention). Prints "ready" on stderr
 * once the first SIZE_MIB are resident.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define STEP (16 * MiB)

static uint64_t rng = 0x9e3779b97f4a7c15u;
static volatile uint64_t spin_sink;

static uint64_t next(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static unsigned char *fill(uint64_t len) {
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
                perror("bench-wss: mmap");
                exit(1);
        }
        for (uint64_t off = 0; off < len; off += 4096)
                for (unsigned i = 0; i < 2048; i += 8) {
                        uint64_t v = next();
                        memcpy(p + off + i, &v, sizeof(v));
                }
        return p;
}

static void touch(unsigned char *p, uint64_t len) {
        for (uint64_t off = 0; off < len; off += 4096)
                p[off + (next() & 0x7f8)]++;
}

static _Noreturn void ops(uint64_t size) {
        unsigned char *p = fill(size);
        uint64_t pages = size / 4096, n = 0, t0;

        fprintf(stderr, "ready\n");
        setvbuf(stdout, NULL, _IOLBF, 0);
        t0 = mono_usec();
        for (;;) {
                for (unsigned i = 0; i < 1024; i++) {
                        uint64_t r = next();
                        p[(r % pages) * 4096 + ((r >> 40) & 0xff8)]++;
                }
                n += 1024;
                uint64_t t = mono_usec();
                if (t - t0 >= 1000000) {
                        /* ops per second of this interval, scaled to exactly one second */
                        printf("ops %llu\n", (unsigned long long) (n * 1000000 / (t - t0)));
                        n = 0;
                        t0 = t;
                }
        }
}

static _Noreturn void hold(uint64_t size) {
        unsigned char *p = fill(size);

        fprintf(stderr, "ready\n");
        for (;;) {
                touch(p, size);
                usleep(50000);
        }
}

static _Noreturn void grow(uint64_t size, uint64_t rate) {
        unsigned char **chunks = NULL;
        size_t n = 0;
        uint64_t t0 = mono_usec(), grown = 0;

        chunks = malloc(sizeof(*chunks));
        chunks[n++] = fill(size);
        fprintf(stderr, "ready\n");
        for (;;) {
                /* grow as fast as the rate allows, then touch everything once */
                if ((grown + STEP) * 1000000 / rate <= (mono_usec() - t0) * MiB) {
                        unsigned char **c = realloc(chunks, (n + 1) * sizeof(*chunks));
                        if (c) {
                                chunks = c;
                                chunks[n++] = fill(STEP);
                                grown += STEP;
                        }
                }
                touch(chunks[0], size);
                for (size_t i = 1; i < n; i++)
                        touch(chunks[i], STEP);
                usleep(10000);
        }
}

int main(int argc, char **argv) {
        uint64_t size;

        if (argc >= 2 && strcmp(argv[1], "spin") == 0)
                for (;;)
                        spin_sink = next();
        if (argc < 3 || (size = strtoull(argv[2], NULL, 10) * MiB) == 0) {
                fprintf(stderr, "usage: bench-wss ops|hold SIZE_MIB | bench-wss grow SIZE_MIB [MIB_PER_S] | bench-wss spin\n");
                return 2;
        }
        rng ^= (uint64_t) getpid() << 32;
        if (strcmp(argv[1], "ops") == 0)
                ops(size);
        if (strcmp(argv[1], "hold") == 0)
                hold(size);
        if (strcmp(argv[1], "grow") == 0) {
                uint64_t rate = argc > 3 ? strtoull(argv[3], NULL, 10) : 64;
                grow(size, rate ? rate : 64);
        }
        fprintf(stderr, "bench-wss: unknown mode '%s'\n", argv[1]);
        return 2;
}
