/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host topology (ctl/topology.c): the fixture parser on the shipped fixtures
 * and on broken input, and topology_read() on a fake sysfs/cgroup tree (for
 * the parts that honour sysfs_root) plus the real machine (sanity only: its
 * shape is not known in advance).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "topology.h"

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)

static char *slurp(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        cr_assert_not_null(f, "open %s", path);
        cr_assert_eq(getdelim(&buf, &len, '\0', f) > 0, true);
        *ret_len = strlen(buf);
        fclose(f);
        return buf;
}

static HostTopology load(const char *name) {
        _cleanup_free_ char *path = strdup_printf("%s/tests/fixtures/topology/%s", SOURCE_ROOT, name);
        _cleanup_free_ char *text = NULL, *err = NULL;
        HostTopology t;
        size_t len;
        int r;

        text = slurp(path, &len);
        r = topology_parse(text, len, &t, &err);
        cr_assert_eq(r, 0, "%s: %s", name, err ? err : "?");
        return t;
}

static char *parse_error(const char *text) {
        HostTopology t;
        char *err = NULL;

        cr_assert_eq(topology_parse(text, strlen(text), &t, &err), -EINVAL, "accepted: %s", text);
        cr_assert_not_null(err);
        return err;
}

Test(topology, one_node) {
        HostTopology t = load("1node.ini");
        char buf[64];

        cr_assert_eq(t.n_nodes, 1);
        cr_assert_eq(t.mem_total, 8 * G);
        cr_assert_eq(t.n_cpus, 4);
        cr_assert_eq(t.page_size, 4096);
        cr_assert_eq(t.huge_sizes[0], 2 * M);
        cr_assert_eq(t.huge_sizes[1], G);
        cr_assert(t.swap_accounting);
        cr_assert(t.zswap_accounting);
        cr_assert_eq(t.nodes[0].id, 0);
        cr_assert_eq(t.nodes[0].mem_total, 8 * G);
        cr_assert_str_eq(cpulist_format(&t.nodes[0].cpus, buf, sizeof(buf)), "0-3");
        cr_assert_eq(t.nodes[0].distance[0], 10);
}

Test(topology, two_nodes_hugepages_and_distances) {
        HostTopology t = load("2node.ini");
        char buf[64];

        cr_assert_eq(t.n_nodes, 2);
        cr_assert_eq(t.mem_total, 32 * G);
        cr_assert_eq(t.n_cpus, 16);
        cr_assert_str_eq(cpulist_format(&t.nodes[1].cpus, buf, sizeof(buf)), "8-15");
        cr_assert_eq(t.nodes[0].distance[1], 21);
        cr_assert_eq(t.nodes[1].distance[0], 21);
        cr_assert_eq(t.nodes[1].distance[1], 10);
        /* 2M is index 0, 1G index 1 */
        cr_assert_eq(topology_huge_index(&t, 2 * M), 0);
        cr_assert_eq(topology_huge_index(&t, G), 1);
        cr_assert_eq(topology_huge_index(&t, 4096), -ENOENT);
        cr_assert_eq(t.nodes[0].huge_total[0], 512);
        cr_assert_eq(t.nodes[0].huge_free[0], 500);
        cr_assert_eq(t.nodes[1].huge_total[1], 2);
        cr_assert_eq(t.nodes[1].huge_free[1], 2, "free defaults to total");
        cr_assert_eq(t.nodes[1].huge_total[0], 0);
}

Test(topology, asymmetric_and_no_swap_accounting) {
        HostTopology t = load("2node-asym.ini");

        cr_assert_eq(t.nodes[0].mem_total, 6 * G);
        cr_assert_eq(t.nodes[1].mem_total, 2 * G);
        cr_assert_eq(t.n_cpus, 8);
        cr_assert_eq(t.huge_sizes[0], 2 * M);
        cr_assert_eq(t.huge_sizes[1], 0);
        cr_assert(!t.swap_accounting);
        cr_assert(!t.zswap_accounting);
}

Test(topology, four_nodes_distance_matrix) {
        HostTopology t = load("4node.ini");

        cr_assert_eq(t.n_nodes, 4);
        cr_assert_eq(t.nodes[0].distance[3], 16);
        cr_assert_eq(t.nodes[0].distance[2], 21);
        cr_assert_eq(t.nodes[0].distance[1], 31);
        cr_assert_eq(t.nodes[2].distance[1], 16);
        for (unsigned i = 0; i < 4; i++)
                for (unsigned j = 0; j < 4; j++)
                        cr_assert_eq(t.nodes[i].distance[j], t.nodes[j].distance[i], "symmetric %u,%u", i, j);
}

Test(topology, eight_nodes_memory_from_nodes) {
        HostTopology t = load("8node.ini");

        cr_assert_eq(t.n_nodes, 8);
        cr_assert_eq(t.mem_total, 48 * G, "no [host] memory: sum of nodes");
        cr_assert_eq(t.n_cpus, 16);
        cr_assert_eq(t.nodes[4].distance[0], 32);
        cr_assert_eq(t.nodes[4].distance[7], 12);
        cr_assert_not_null(topology_node(&t, 7));
        cr_assert_eq(topology_node(&t, 7)->mem_total, 8 * G);
        cr_assert_null(topology_node(&t, 8));
}

Test(topology, sparse_node_ids) {
        static const char text[] = "[node0]\nmemory = 1G\ncpus = 0\ndistances = 10,20\n"
                                   "[node2]\nmemory = 2G\ncpus = 1\ndistances = 20,10\n";
        HostTopology t;
        char *err = NULL;

        cr_assert_eq(topology_parse(text, strlen(text), &t, &err), 0, "%s", err ? err : "");
        cr_assert_eq(t.n_nodes, 2);
        cr_assert_eq(t.nodes[1].id, 2);
        cr_assert_eq(t.nodes[0].distance[2], 20);
        cr_assert_eq(t.nodes[1].distance[2], 10);
        cr_assert_eq(t.mem_total, 3 * G);
        cr_assert_eq(t.page_size, 4096, "default page size");
        cr_assert_eq(t.huge_sizes[0], 2 * M, "default sizes 2M,1G");
        cr_assert_eq(t.huge_sizes[1], G);
}

Test(topology, errors_name_line_and_key) {
        char *e;

        e = parse_error("[host]\nmemory = 8G\nfoo = 1\n[node0]\nmemory = 8G\n");
        cr_assert_str_eq(e, "line 3: [host] unknown key 'foo'");
        free(e);

        e = parse_error("[node0]\nmemory = lots\n");
        cr_assert_str_eq(e, "line 2: [node0] memory: invalid size 'lots'");
        free(e);

        e = parse_error("[nodeX]\nmemory = 1G\n");
        cr_assert_str_eq(e, "line 2: unknown section [nodeX]");
        free(e);

        e = parse_error("[host]\nmemory = 8G\n");
        cr_assert_str_eq(e, "no [nodeN] section");
        free(e);

        e = parse_error("[node0]\ncpus = 0-3\n");
        cr_assert_str_eq(e, "[node0] memory: missing");
        free(e);

        e = parse_error("[node0]\nmemory = 1G\ncpus = 0-3\n[node1]\nmemory = 1G\ncpus = 3-4\n");
        cr_assert_str_eq(e, "[node1] cpus: overlap with another node");
        free(e);

        e = parse_error("[node0]\nmemory = 1G\ndistances = 10,20\n");
        cr_assert_str_eq(e, "[node0] distances: 2 values for 1 nodes");
        free(e);

        e = parse_error("[host]\nhugepage_sizes = 2M\n[node0]\nmemory = 1G\nhugepages_1G = 1\n");
        cr_assert_str_eq(e, "[node0] hugepages: size 1073741824 not in [host] hugepage_sizes");
        free(e);

        e = parse_error("[node0]\nmemory = 1G\nhugepages_2M = 1\nhugepages_2M_free = 2\n");
        cr_assert_str_eq(e, "[node0] hugepages: more free pages than total");
        free(e);

        e = parse_error("[node0]\nmemory = 1G\n[node64]\nmemory = 1G\n");
        cr_assert_str_eq(e, "line 4: [node64]: node id >= 64");
        free(e);

        e = parse_error("[host]\nswap_accounting = maybe\n[node0]\nmemory = 1G\n");
        cr_assert_str_eq(e, "line 2: [host] swap_accounting: not a boolean 'maybe'");
        free(e);
}

/* ---- topology_read ------------------------------------------------------------ */

static void write_file(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, rel);
        FILE *f;

        /* create parents */
        for (char *p = strchr(path + strlen(dir) + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
        if (!content) {
                cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
                return;
        }
        f = fopen(path, "we");
        cr_assert_not_null(f, "%s", path);
        fputs(content, f);
        fclose(f);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

Test(topology, read_fake_sysfs_and_cgroup) {
        char tmpl[] = "/tmp/tenantd-topo-XXXXXX";
        char *root = mkdtemp(tmpl);
        _cleanup_free_ char *sys = NULL, *cg = NULL, *cg2 = NULL;
        HostTopology t;

        cr_assert_not_null(root);
        sys = strdup_printf("%s/sys", root);
        cg = strdup_printf("%s/cg", root);
        cg2 = strdup_printf("%s/cg2", root);
        write_file(root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "3\n");
        write_file(root, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
        write_file(root, "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "3\n");
        write_file(root, "sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", "2\n");
        write_file(root, "sys/devices/system/cpu/online", "0\n");
        /* swap accounting only shows in a child cgroup */
        write_file(root, "cg/cgroup.controllers", "memory\n");
        write_file(root, "cg/system.slice/memory.max", "max\n");
        write_file(root, "cg/system.slice/memory.swap.max", "max\n");
        /* a fresh hierarchy: memory available, no child to look at yet */
        write_file(root, "cg3/cgroup.controllers", "cpu memory\n");
        write_file(root, "cg4/cgroup.controllers", "cpu\n");
        write_file(root, "cg2/cgroup.controllers", "memory\n");
        write_file(root, "cg2/system.slice/memory.max", "max\n");
        write_file(root, "cg2/system.slice/memory.zswap.max", "max\n");

        cr_assert_eq(topology_read(sys, cg, &t), 0);
        cr_assert_geq(t.n_nodes, 1);
        cr_assert_eq(t.nodes[0].id, 0);
        cr_assert_eq(t.huge_sizes[0], 2 * M);
        cr_assert_eq(t.huge_sizes[1], G);
        cr_assert_eq(t.nodes[0].huge_total[0], 3);
        cr_assert_eq(t.nodes[0].huge_free[0], 2);
        cr_assert_eq(t.nodes[0].huge_total[1], 0, "size without a node directory reads 0");
        cr_assert(t.swap_accounting);
        cr_assert(!t.zswap_accounting);
        cr_assert_eq(t.page_size, (uint64_t) sysconf(_SC_PAGESIZE));

        cr_assert_eq(topology_read(sys, cg2, &t), 0);
        cr_assert(!t.swap_accounting);
        cr_assert(t.zswap_accounting);

        /* fresh hierarchy: assumed on (apply still fails loudly if the files are missing) */
        free(cg);
        cg = strdup_printf("%s/cg3", root);
        cr_assert_eq(topology_read(sys, cg, &t), 0);
        cr_assert(t.swap_accounting);
        free(cg);
        cg = strdup_printf("%s/cg4", root);
        cr_assert_eq(topology_read(sys, cg, &t), 0);
        cr_assert(!t.swap_accounting, "no memory controller, no swap accounting");

        nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

Test(topology, read_running_kernel) {
        HostTopology t;
        uint64_t sum = 0;
        unsigned cpus = 0;

        cr_assert_eq(topology_read("/sys", "/sys/fs/cgroup", &t), 0);
        cr_assert_geq(t.n_nodes, 1);
        cr_assert_gt(t.mem_total, 0);
        cr_assert_geq(t.n_cpus, 1);
        for (unsigned i = 0; i < t.n_nodes; i++) {
                sum += t.nodes[i].mem_total;
                cpus += cpuset_count(&t.nodes[i].cpus);
                cr_assert_eq(t.nodes[i].distance[t.nodes[i].id], 10);
                if (i > 0)
                        cr_assert_gt(t.nodes[i].id, t.nodes[i - 1].id, "sorted by id");
        }
        cr_assert_gt(sum, 0);
        cr_assert_eq(cpus, t.n_cpus);
}
