/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fake-cgroupfs.h"

static const char *const files[][2] = {
        { "cgroup.controllers", "cpuset cpu io memory hugetlb pids" },
        { "cgroup.subtree_control", "" },
        { "cgroup.procs", "" },
        { "cgroup.events", "populated 0\nfrozen 0" },
        { "cgroup.kill", "" },
        { "memory.min", "0" },
        { "memory.low", "0" },
        { "memory.high", "max" },
        { "memory.max", "max" },
        { "memory.swap.max", "max" },
        { "memory.zswap.max", "max" },
        { "memory.current", "0" },
        { "cpu.weight", "100" },
        { "cpuset.cpus", "" },
        { "cpuset.mems", "" },
        { "hugetlb.2MB.max", "max" },
        { "hugetlb.2MB.rsvd.max", "max" },
        { "hugetlb.1GB.max", "max" },
        { "hugetlb.1GB.rsvd.max", "max" },
};

static void put(int dirfd, const char *name, const char *value) {
        int fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
                abort();
        if (write(fd, value, strlen(value)) < 0)
                abort();
        close(fd);
}

static int populate(int dirfd, const char *path, void *userdata) {
        (void) path;
        (void) userdata;
        /* the dirfd handed to hooks is O_PATH; reopen for *at() writes */
        int fd = openat(dirfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                put(fd, files[i][0], files[i][1]);
        close(fd);
        return 0;
}

/* "+memory +cpu" on top of "cpu" -> "cpu memory", as the kernel shows it */
static void merge_subtree(FakeCg *f, const char *path, const char *value) {
        static const char *const order[] = { "cpuset", "cpu", "io", "memory", "hugetlb", "pids" };
        char cur[256], out[256] = "";

        snprintf(cur, sizeof(cur), " %s ", fake_cg_read(f, path, "cgroup.subtree_control"));
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                char plus[32], minus[32], word[32];
                snprintf(plus, sizeof(plus), "+%s", order[i]);
                snprintf(minus, sizeof(minus), "-%s", order[i]);
                snprintf(word, sizeof(word), " %s ", order[i]);
                bool on = strstr(cur, word) != NULL;
                /* exact token match for "+cpu" vs "+cpuset" */
                for (const char *p = value; (p = strstr(p, plus)); p++)
                        if (p[strlen(plus)] == '\0' || p[strlen(plus)] == ' ')
                                on = true;
                for (const char *p = value; (p = strstr(p, minus)); p++)
                        if (p[strlen(minus)] == '\0' || p[strlen(minus)] == ' ')
                                on = false;
                if (on) {
                        size_t off = strlen(out);
                        snprintf(out + off, sizeof(out) - off, "%s%s", off ? " " : "", order[i]);
                }
        }
        fake_cg_write(f, path, "cgroup.subtree_control", out);
}

static int hook(const char *path, const char *attr, const char *value, void *userdata) {
        FakeCg *f = userdata;

        if (f->on_write)
                f->on_write(path, attr, value, f->on_write_userdata);
        f->seen++;
        if (f->fail_nth && f->seen == f->fail_nth) {
                f->faults++;
                return -f->fail_errno;
        }
        if (f->fail_attr && streq(attr, f->fail_attr) && (!f->fail_path || strstr(path, f->fail_path))) {
                f->faults++;
                return -f->fail_errno;
        }
        if (streq(attr, "cgroup.subtree_control"))
                merge_subtree(f, path, value);
        else
                fake_cg_write(f, path, attr, value); /* a cgroup file is replaced, not overwritten in place */
        return 1;
}

void fake_cg_setup(FakeCg *f) {
        int fd;

        *f = (FakeCg) {0};
        snprintf(f->root, sizeof(f->root), "/tmp/tenantd-fakecg-XXXXXX");
        if (!mkdtemp(f->root))
                abort();
        fd = open(f->root, O_DIRECTORY | O_PATH | O_CLOEXEC);
        populate(fd, "", NULL);
        close(fd);
}

void fake_cg_teardown(FakeCg *f) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", f->root);
}

CgfsHooks fake_cg_hooks(FakeCg *f) {
        return (CgfsHooks) { .created = populate, .fault = hook, .userdata = f };
}

const char *fake_cg_read(FakeCg *f, const char *path, const char *attr) {
        static char buf[4096];
        char p[512];
        FILE *fp;
        size_t n;

        snprintf(p, sizeof(p), "%s/%s%s%s", f->root, path, path[0] ? "/" : "", attr);
        buf[0] = '\0';
        fp = fopen(p, "re");
        if (!fp)
                return buf;
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        return buf;
}

void fake_cg_write(FakeCg *f, const char *path, const char *attr, const char *value) {
        char p[512];
        int fd;

        snprintf(p, sizeof(p), "%s/%s", f->root, path);
        fd = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                abort();
        put(fd, attr, value);
        close(fd);
}

/* ---- snapshots --------------------------------------------------------------- */

static struct {
        size_t root_len;
        char **v;
        size_t n;
} snap;

static void snap_add(char *line) {
        char **nv = realloc(snap.v, (snap.n + 1) * sizeof(char *));

        if (!line || !nv)
                abort();
        snap.v = nv;
        snap.v[snap.n++] = line;
}

static int snap_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        const char *rel = path + snap.root_len;
        char *buf = NULL;
        size_t len = 0;
        FILE *out;

        (void) ftw;
        if (*rel == '/')
                rel++;
        if (*rel == '\0')
                rel = ".";
        if (type == FTW_D || type == FTW_DP) {
                snap_add(strdup_printf("%s/ (%04o)", rel, (unsigned) (st->st_mode & 07777)));
                return 0;
        }
        if (type == FTW_SL) {
                char target[4096];
                ssize_t n = readlink(path, target, sizeof(target) - 1);

                target[n < 0 ? 0 : n] = '\0';
                snap_add(strdup_printf("%s -> %s", rel, target));
                return 0;
        }
        out = open_memstream(&buf, &len);
        if (!out)
                abort();
        fprintf(out, "%s (%04o) = ", rel, (unsigned) (st->st_mode & 07777));
        if (S_ISREG(st->st_mode)) {
                FILE *in = fopen(path, "re");
                int c;

                while (in && (c = fgetc(in)) != EOF) {
                        if (c == '\n')
                                fputs("\\n", out);
                        else
                                fputc(c, out);
                }
                if (in)
                        fclose(in);
        } else
                fputs("(not a regular file)", out);
        fclose(out);
        snap_add(buf);
        return 0;
}

char *fake_tree_snapshot(const char *dir) {
        char *buf = NULL;
        size_t len = 0;
        FILE *out;

        snap.root_len = strlen(dir);
        snap.v = NULL;
        snap.n = 0;
        if (nftw(dir, snap_one, 16, FTW_PHYS) < 0)
                abort();
        qsort(snap.v, snap.n, sizeof(char *), (int (*)(const void *, const void *)) strcmp_ptr);
        out = open_memstream(&buf, &len);
        if (!out)
                abort();
        for (size_t i = 0; i < snap.n; i++) {
                fprintf(out, "%s\n", snap.v[i]);
                free(snap.v[i]);
        }
        free(snap.v);
        fclose(out);
        return buf;
}
