/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hugemmap: a test load for hugetlb limits (PITFALLS 5). Maps PAGES 2 MiB
 * hugepages with mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB), touches every
 * page, and exits (or, with --hold, waits for SIGTERM and then exits 0).
 *
 * Exit status: 0 mapped and touched; 2 mmap failed with ENOMEM (the
 * reservation was refused: hugetlb.<size>.rsvd.max, or the pool); 3 mmap
 * failed otherwise; 4 usage. Dying of SIGBUS means the mapping succeeded but a
 * page could not be faulted in (hugetlb.<size>.max without rsvd.max).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_2M (2UL << 20)

static volatile sig_atomic_t done;

static void on_term(int sig) {
        (void) sig;
        done = 1;
}

int main(int argc, char **argv) {
        unsigned long pages;
        sigset_t term, old;
        char *end, *p;
        int hold;

        if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--hold") != 0)) {
                fprintf(stderr, "usage: hugemmap PAGES [--hold]\n");
                return 4;
        }
        pages = strtoul(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0' || pages == 0) {
                fprintf(stderr, "hugemmap: bad page count '%s'\n", argv[1]);
                return 4;
        }
        hold = argc == 3;
        /* SIGTERM stays blocked except inside sigsuspend(): no lost wakeup */
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, &old);
        signal(SIGTERM, on_term);

        p = mmap(NULL, pages * HUGE_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p == MAP_FAILED) {
                int e = errno;

                printf("mmap %lu x 2M: %s\n", pages, strerror(e));
                return e == ENOMEM ? 2 : 3;
        }
        for (unsigned long i = 0; i < pages; i++)
                p[i * HUGE_2M] = 1;   /* SIGBUS here if a page cannot be charged */
        printf("mapped and touched %lu x 2M\n", pages);
        fflush(stdout);
        while (hold && !done)
                sigsuspend(&old);
        return 0;
}
