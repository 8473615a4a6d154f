/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "apply.h"
#include "plan.h"
#include "policy-load.h"
#include "testbed-util.h"
#include "topology.h"

void tb_require_guest(void) {
        if (!getenv("TESTBED"))
                cr_skip_test("needs the real cgroup2 kernel of the testbed guest: run tests/testbed/run or meson test --suite testbed");
        if (geteuid() != 0)
                cr_skip_test("needs root inside the testbed guest");
}

const char *tb_policies(const char *name) {
        static char buf[4][512];
        static unsigned i;
        char *b = buf[i++ % 4];
        snprintf(b, 512, "%s/tests/testbed/policies/%s", SOURCE_ROOT, name);
        return b;
}

const char *tb_bin(const char *name) {
        static char buf[4][512];
        static unsigned i;
        char *b = buf[i++ % 4];
        snprintf(b, 512, "%s/tests/testbed/%s", BUILD_ROOT, name);
        return b;
}

/* popen(cmd 2>&1), everything it prints into *ret_out (trailing newlines
 * stripped when strip), its exit status */
static int run_capture(const char *cmd, char **ret_out, bool strip) {
        char *out = NULL, buf[4096];
        size_t len = 0, n;
        FILE *p, *m;
        int st;

        p = popen(cmd, "r");
        if (!p)
                return -1;
        m = open_memstream(&out, &len);
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                fwrite(buf, 1, n, m);
        fclose(m);
        st = pclose(p);
        while (strip && len > 0 && out[len - 1] == '\n')
                out[--len] = '\0';
        if (ret_out)
                *ret_out = out;
        else
                free(out);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tb_sh(char **ret_out, const char *fmt, ...) {
        char cmd[8192];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
        va_end(ap);
        strcat(cmd, " 2>&1");
        return run_capture(cmd, ret_out, true);
}

int tb_tenantctl(char **ret_out, const char *fmt, ...) {
        char args[2048], cmd[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(args, sizeof(args), fmt, ap);
        va_end(ap);
        snprintf(cmd, sizeof(cmd), "%s/ctl/tenantctl %s 2>&1", BUILD_ROOT, args);
        return run_capture(cmd, ret_out, false); /* tests compare whole lines */
}

static void path_of(char *buf, size_t size, const char *root, const char *path, const char *attr) {
        snprintf(buf, size, "%s%s%s%s%s", root, path && path[0] ? "/" : "", path ? path : "", attr ? "/" : "",
                 attr ? attr : "");
}

/* depth first: kill, wait for empty, rmdir */
static void nuke(const char *dir) {
        char p[1024];
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                        nuke(p);
                }
        closedir(d);
        snprintf(p, sizeof(p), "%s/cgroup.kill", dir);
        int fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !write(fd, "1", 1);
                close(fd);
        }
        for (int i = 0; i < 500 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

void tb_cgroup_reset(const char *root) {
        nuke(root);
        if (mkdir(root, 0755) < 0)
                cr_assert_fail("mkdir %s: %s", root, strerror(errno));
}

void tb_cg_mkdir(const char *root, const char *path) {
        char p[1024];
        path_of(p, sizeof(p), root, path, NULL);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                cr_assert_fail("mkdir %s: %s", p, strerror(errno));
}

bool tb_cg_exists(const char *root, const char *path) {
        char p[1024];
        struct stat st;
        path_of(p, sizeof(p), root, path, NULL);
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tb_cg_read(const char *root, const char *path, const char *attr) {
        static char buf[8][4096];
        static unsigned i;
        char *b = buf[i++ % 8], p[1024];
        FILE *f;
        size_t n;

        path_of(p, sizeof(p), root, path, attr);
        f = fopen(p, "re");
        if (!f)
                return "<missing>";
        n = fread(b, 1, 4095, f);
        fclose(f);
        b[n] = '\0';
        while (n > 0 && b[n - 1] == '\n')
                b[--n] = '\0';
        return b;
}

bool tb_attr_matches(const char *got, const char *want) {
        /* an unpinned leaf whose parent has cpuset off has no cpuset files */
        return streq(got, want) || (streq(got, "<missing>") && want[0] == '\0');
}

uint64_t tb_cg_u64(const char *root, const char *path, const char *attr) {
        const char *s = tb_cg_read(root, path, attr);
        if (streq(s, "max"))
                return UINT64_MAX;
        return strtoull(s, NULL, 10);
}

void tb_cg_write(const char *root, const char *path, const char *attr, const char *value) {
        char p[1024];
        int fd;

        path_of(p, sizeof(p), root, path, attr);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, value, strlen(value)) < 0)
                cr_assert_fail("write %s = %s: %s", p, value, strerror(errno));
        close(fd);
}

int tb_check_ancestor_sums(const char *root, const char *top, const char *attr) {
        char dir[1024], child[1024];
        uint64_t sum = 0, mine;
        DIR *d;
        struct dirent *de;
        int r = 0;

        path_of(dir, sizeof(dir), root, top, NULL);
        mine = tb_cg_u64(root, top, attr);
        d = opendir(dir);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                        snprintf(child, sizeof(child), "%s/%s", top, de->d_name);
                        sum += tb_cg_u64(root, child, attr);
                        if (tb_check_ancestor_sums(root, child, attr) < 0)
                                r = -1;
                }
        closedir(d);
        if (sum > mine) {
                fprintf(stderr, "%s/%s: %s = %" PRIu64 " < children's sum %" PRIu64 "\n", root, top, attr, mine, sum);
                r = -1;
        }
        return r;
}

int tb_wait_current(const char *root, const char *path, uint64_t bytes, unsigned seconds) {
        for (unsigned i = 0; i < seconds * 10; i++) {
                if (tb_cg_u64(root, path, "memory.current") >= bytes)
                        return 0;
                usleep(100000);
        }
        return -ETIMEDOUT;
}

pid_t tb_spawn_argv(const char *root, const char *path, const char *const argv[]) {
        char p[1024];
        pid_t pid;

        path_of(p, sizeof(p), root, path, "cgroup.procs");
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd = open(p, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) < 0) {
                        fprintf(stderr, "cannot join %s: %s\n", p, strerror(errno));
                        _exit(126);
                }
                close(fd);
                int devnull = open("/dev/null", O_WRONLY);
                dup2(devnull, STDOUT_FILENO);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        /* wait until the child has joined, so callers see it in the cgroup */
        for (int i = 0; i < 200; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%d", (int) pid);
                if (strstr(tb_cg_read(root, path, "cgroup.procs"), buf))
                        break;
                usleep(10000);
        }
        return pid;
}

int tb_reap(pid_t pid) {
        int st;
        if (waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

int tb_swap_on(unsigned mib) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd),
                 "modprobe zram num_devices=1 && echo %uM > /sys/block/zram0/disksize && "
                 "mkswap /dev/zram0 >/dev/null && swapon /dev/zram0",
                 mib);
        return system(cmd) == 0 ? 0 : -1;
}

void tb_swap_off(void) {
        (void) !system("swapoff /dev/zram0; echo 1 > /sys/block/zram0/reset");
}

unsigned tb_check_plan_files(const char *root, const char *dir, unsigned *ret_checked, unsigned *ret_missing) {
        PolicySet set = { 0 };
        PolicyErrors errs = { 0 };
        HostTopology host = { 0 };
        Plan plan = { 0 };
        unsigned bad = 0, checked = 0, missing = 0;
        AttrValue *attrs = calloc(APPLY_ATTRS_MAX, sizeof(AttrValue));

        cr_assert_not_null(attrs);
        cr_assert_eq(policy_load_dir(dir, &set, &errs), 0, "%s", errs.n ? errs.v[0].problem : "");
        cr_assert_eq(topology_read("/sys", root, &host), 0);
        cr_assert_eq(plan_build(&set, &host, &plan, &errs), 0, "%s", errs.n ? errs.v[0].problem : "");
        for (size_t i = 0; i < plan.n_nodes; i++) {
                const PlanNode *n = &plan.nodes[i];
                size_t k = plan_node_attrs(n, attrs, APPLY_ATTRS_MAX);

                if (!tb_cg_exists(root, n->path)) {
                        missing++;
                        continue;
                }
                for (size_t a = 0; a < k; a++) {
                        const char *got = tb_cg_read(root, n->path, attrs[a].name);

                        checked++;
                        if (!tb_attr_matches(got, attrs[a].value)) {
                                fprintf(stderr, "%s/%s/%s = '%s', the plan says '%s'\n", root, n->path, attrs[a].name,
                                        got, attrs[a].value);
                                bad++;
                        }
                }
        }
        free(attrs);
        plan_done(&plan);
        policy_set_done(&set);
        policy_errors_clear(&errs);
        if (ret_checked)
                *ret_checked = checked;
        if (ret_missing)
                *ret_missing = missing;
        return bad;
}

/* tb_outside_files(): one "path = content" line per file, collected by nftw() */
static struct {
        char skip_dir[512], skip_file[512];
        char **lines;
        size_t n, cap;
} outside;

static bool outside_ignored(const char *name) {
        static const char *const names[] = { "cgroup.procs", "cgroup.threads", "cgroup.kill", "memory.reclaim" };
        size_t l = strlen(name);

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(name, names[i]))
                        return true;
        return l > 9 && streq(name + l - 9, ".pressure");
}

static int outside_visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        char buf[4096];
        ssize_t n = -1;
        int fd;

        if (type == FTW_D && streq(path, outside.skip_dir))
                return FTW_SKIP_SUBTREE;
        if (type != FTW_F || !(st->st_mode & S_IWUSR) || outside_ignored(path + ftw->base) ||
            streq(path, outside.skip_file))
                return FTW_CONTINUE;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
        }
        if (n < 0)
                n = snprintf(buf, sizeof(buf), "<%s>", strerror(errno));
        buf[n] = '\0';
        for (char *c = buf; *c; c++)
                if (*c == '\n')
                        *c = ' ';
        if (outside.n == outside.cap) {
                outside.cap = outside.cap ? outside.cap * 2 : 1024;
                outside.lines = realloc(outside.lines, outside.cap * sizeof(char *));
                cr_assert_not_null(outside.lines);
        }
        cr_assert_neq(asprintf(&outside.lines[outside.n++], "%s = %s", path, buf), -1);
        return FTW_CONTINUE;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char *tb_outside_files(const char *top) {
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        snprintf(outside.skip_dir, sizeof(outside.skip_dir), "/sys/fs/cgroup/%s/tenants.slice", top);
        snprintf(outside.skip_file, sizeof(outside.skip_file), "/sys/fs/cgroup/%s/cgroup.subtree_control", top);
        outside.n = 0;
        cr_assert_eq(nftw("/sys/fs/cgroup", outside_visit, 32, FTW_PHYS | FTW_ACTIONRETVAL), 0,
                     "walking /sys/fs/cgroup: %s", strerror(errno));
        qsort(outside.lines, outside.n, sizeof(char *), cmp_str);
        f = open_memstream(&out, &len);
        cr_assert_not_null(f);
        for (size_t i = 0; i < outside.n; i++) {
                fprintf(f, "%s\n", outside.lines[i]);
                free(outside.lines[i]);
        }
        fclose(f);
        return out;
}
