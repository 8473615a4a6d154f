/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include <libcgroup.h>

#include "cgfs.h"

struct Cgfs {
        char *root;
        int root_fd;
        bool kernel;          /* root is on a cgroup2 mount */
        char *mount_rel;      /* root relative to the cgroup2 mount, for libcgroup ("" or "a/b") */
        unsigned writes;
        CgfsHooks hooks;
};

static bool component_ok(const char *s, size_t n) {
        if (n == 0 || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '\n' || (unsigned char) s[i] < 0x20)
                        return false;
        return true;
}

bool cgfs_path_is_valid(const char *path) {
        const char *p = path;

        if (!path)
                return false;
        if (*p == '\0')
                return true;
        if (strlen(path) >= 4096)
                return false;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                if (!component_ok(p, n))
                        return false;
                if (!slash)
                        return true;
                p = slash + 1;
        }
}

/* Attribute names are single components such as "memory.max". */
static bool attr_is_valid(const char *attr) {
        return attr && !strchr(attr, '/') && component_ok(attr, strlen(attr));
}

/* Find the cgroup2 mount point containing `root` through libcgroup, so the
 * structural calls can name cgroups relative to it. */
static int find_mount_rel(const char *root, char **ret) {
        _cleanup_free_ char *mnt = NULL;
        size_t n;
        int r;

        r = cgroup_init();
        if (r != 0)
                return -ENOMEDIUM;
        r = cgroup_get_subsys_mount_point("memory", &mnt);
        if (r != 0 || !mnt)
                return -ENOMEDIUM;
        n = strlen(mnt);
        while (n > 1 && mnt[n - 1] == '/')
                n--;
        if (strncmp(root, mnt, n) != 0 || (root[n] != '\0' && root[n] != '/'))
                return -EXDEV;
        *ret = strdup(root[n] == '/' ? root + n + 1 : root + n);
        return *ret ? 0 : -ENOMEM;
}

const char *cgfs_open_strerror(int r) {
        switch (r) {
        case -ENOMEDIUM:
                return "no cgroup2 memory controller found by libcgroup";
        case -EXDEV:
                return "the memory controller is not on this cgroup2 hierarchy (a cgroup v1 or hybrid host?)";
        default:
                return strerror(-r);
        }
}

int cgfs_open(const char *root, const CgfsHooks *hooks, Cgfs **ret) {
        _cleanup_close_ int fd = -1;
        struct statfs sfs;
        Cgfs *c;

        if (!root || root[0] != '/')
                return -EINVAL;
        fd = open(root, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0)
                return -errno;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->root = strdup(root);
        if (!c->root) {
                free(c);
                return -ENOMEM;
        }
        /* strip trailing slashes so joined paths print cleanly */
        for (size_t n = strlen(c->root); n > 1 && c->root[n - 1] == '/'; n--)
                c->root[n - 1] = '\0';
        c->kernel = sfs.f_type == CGROUP2_SUPER_MAGIC;
        if (c->kernel) {
                int r = find_mount_rel(c->root, &c->mount_rel);
                if (r < 0) {
                        /* libcgroup cannot map this root (e.g. no memory controller
                         * mounted): refuse rather than half-work */
                        cgfs_free(c);
                        return r;
                }
        }
        if (hooks)
                c->hooks = *hooks;
        c->root_fd = TAKE_FD(fd);
        *ret = c;
        return 0;
}

Cgfs *cgfs_free(Cgfs *c) {
        if (!c)
                return NULL;
        if (c->root_fd >= 0)
                close(c->root_fd);
        free(c->root);
        free(c->mount_rel);
        free(c);
        return NULL;
}

const char *cgfs_root(const Cgfs *c) {
        return c->root;
}

bool cgfs_is_kernel(const Cgfs *c) {
        return c->kernel;
}

unsigned cgfs_writes(const Cgfs *c) {
        return c->writes;
}

static int open_cgroup(Cgfs *c, const char *path) {
        int fd;

        if (!cgfs_path_is_valid(path))
                return -EINVAL;
        if (path[0] == '\0')
                fd = openat(c->root_fd, ".", O_DIRECTORY | O_PATH | O_CLOEXEC);
        else
                fd = openat(c->root_fd, path, O_DIRECTORY | O_PATH | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

/* Name of `path` for libcgroup: relative to the cgroup2 mount. */
static char *libcg_name(Cgfs *c, const char *path) {
        if (c->mount_rel[0] == '\0')
                return strdup(path);
        if (path[0] == '\0')
                return strdup(c->mount_rel);
        return strdup_printf("%s/%s", c->mount_rel, path);
}

bool cgfs_exists(Cgfs *c, const char *path) {
        _cleanup_close_ int fd = open_cgroup(c, path);
        return fd >= 0;
}

/* "path/attr" relative to the root, into buf (PATH_MAX + a component): one
 * openat() of the attribute instead of opening the cgroup first, which halves
 * the path walks of an apply (each costs a 4 KiB name buffer in the kernel). */
static const char *attr_path(const char *path, const char *attr, char *buf, size_t size) {
        if (!cgfs_path_is_valid(path) || !attr_is_valid(attr))
                return NULL;
        snprintf(buf, size, "%s%s%s", path, path[0] ? "/" : "", attr);
        return buf;
}
#define ATTR_PATH_MAX (4096 + 256)

int cgfs_read(Cgfs *c, const char *path, const char *attr, char **ret) {
        char buf[ATTR_PATH_MAX];
        const char *p = attr_path(path, attr, buf, sizeof(buf));

        if (!p)
                return -EINVAL;
        return read_attr_at(c->root_fd, p, ret);
}

int cgfs_read_u64(Cgfs *c, const char *path, const char *attr, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        char *end;
        unsigned long long v;
        int r;

        r = cgfs_read(c, path, attr, &s);
        if (r < 0)
                return r;
        if (streq(s, "max")) {
                *ret = SIZE_INFINITY;
                return 0;
        }
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return -EBADMSG;
        *ret = v;
        return 0;
}

int cgfs_write(Cgfs *c, const char *path, const char *attr, const char *value) {
        char buf[ATTR_PATH_MAX];
        const char *p = attr_path(path, attr, buf, sizeof(buf));
        int r;

        if (!p)
                return -EINVAL;
        if (c->hooks.fault) {
                /* the emulated write still needs the cgroup, as the kernel's would */
                if (!cgfs_exists(c, path))
                        return -ENOENT;
                r = c->hooks.fault(path, attr, value, c->hooks.userdata);
                if (r < 0)
                        return r;
                if (r > 0) {
                        c->writes++;
                        return 0;
                }
        }
        c->writes++;
        return write_attr_at(c->root_fd, p, value);
}

bool cgfs_value_is(int r, const char *got, const char *want) {
        return r >= 0 ? streq(got, want) : r == -ENOENT && want[0] == '\0';
}

int cgfs_set(Cgfs *c, const char *path, const char *attr, const char *value, char **ret_old) {
        _cleanup_free_ char *old = NULL;
        int r;

        r = cgfs_read(c, path, attr, &old);
        if (cgfs_value_is(r, old, value))
                return 0;
        if (r < 0)
                return r;
        r = cgfs_write(c, path, attr, value);
        if (r < 0)
                return r;
        if (ret_old)
                *ret_old = TAKE_PTR(old);
        return 1;
}

int cgfs_create(Cgfs *c, const char *path, bool *ret_created) {
        int r;

        if (!cgfs_path_is_valid(path) || path[0] == '\0')
                return -EINVAL;
        /* mkdirat(2) on the root's fd, on the kernel as on a fixture: the kernel
         * makes the cgroup with its files and the controllers its parent
         * delegates. libcgroup's cgroup_create_cgroup() did the same mkdir with
         * a lot of bookkeeping around it (bench/README.md); the callers enable
         * controllers explicitly, top-down, anyway. */
        if (mkdirat(c->root_fd, path, 0755) < 0) {
                r = -errno;
                if (r == -EEXIST && cgfs_exists(c, path)) {
                        if (ret_created)
                                *ret_created = false;
                        return 0;
                }
                return r == -EEXIST ? -ENOTDIR : r;
        }
        if (!c->kernel && c->hooks.created) {
                _cleanup_close_ int fd = open_cgroup(c, path);
                if (fd < 0)
                        return fd;
                r = c->hooks.created(fd, path, c->hooks.userdata);
                if (r < 0)
                        return r;
        }
        if (ret_created)
                *ret_created = true;
        return 0;
}

/* fixture trees hold regular files the kernel would not have; empty them out */
static int remove_fixture_dir(Cgfs *c, const char *path) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;

        fd = openat(c->root_fd, path, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1;
        while ((de = readdir(d))) {
                if (de->d_type == DT_REG)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
        return unlinkat(c->root_fd, path, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int cgfs_remove(Cgfs *c, const char *path) {
        if (!cgfs_path_is_valid(path) || path[0] == '\0')
                return -EINVAL;
        if (!c->kernel)
                return remove_fixture_dir(c, path);
        /* rmdir(2) itself: the kernel refuses with EBUSY while the cgroup has
         * processes or children, which is exactly the contract we want (no
         * migration of tasks to the parent as libcgroup's delete would do). */
        if (unlinkat(c->root_fd, path, AT_REMOVEDIR) < 0)
                return -errno;
        return 0;
}

static int populated(Cgfs *c, const char *path) {
        _cleanup_free_ char *ev = NULL;
        const char *p;
        int r;

        r = cgfs_read(c, path, "cgroup.events", &ev);
        if (r < 0)
                return r;
        p = strstr(ev, "populated ");
        if (!p)
                return -EBADMSG;
        return p[10] == '1';
}

int cgfs_kill_and_remove(Cgfs *c, const char *path, uint64_t timeout_usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;
        int r;

        if (!cgfs_path_is_valid(path) || path[0] == '\0')
                return -EINVAL;
        if (!cgfs_exists(c, path))
                return 0;
        r = populated(c, path);
        if (r > 0) {
                r = cgfs_write(c, path, "cgroup.kill", "1");
                if (r < 0)
                        return r;
                while ((r = populated(c, path)) > 0) {
                        if (now_usec(CLOCK_MONOTONIC) > deadline)
                                return -ETIMEDOUT;
                        (void) poll(NULL, 0, 10);
                }
        }
        if (r < 0 && r != -ENOENT)
                return r;
        return cgfs_remove(c, path);
}

int cgfs_children(Cgfs *c, const char *path, char ***ret) {
        _cleanup_close_ int fd = -1;
        char **v = NULL;
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        if (!cgfs_path_is_valid(path))
                return -EINVAL;
        fd = openat(c->root_fd, path[0] ? path : ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1;
        while ((de = readdir(d))) {
                char **nv;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv)
                        goto oom;
                v = nv;
                v[n] = strdup(de->d_name);
                if (!v[n])
                        goto oom;
                v[++n] = NULL;
        }
        closedir(d);
        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return -ENOMEM;
        }
        qsort(v, n, sizeof(char *), (int (*)(const void *, const void *)) strcmp_ptr);
        *ret = v;
        return 0;
oom:
        closedir(d);
        strv_free(v);
        return -ENOMEM;
}

int cgfs_pids(Cgfs *c, const char *path, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *s = NULL;
        _cleanup_free_ pid_t *v = NULL;
        size_t n = 0, alloc = 0;
        char *p, *save = NULL;
        int r;

        r = cgfs_read(c, path, "cgroup.procs", &s);
        if (r < 0)
                return r;
        for (p = strtok_r(s, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
                if (n == alloc) {
                        alloc = alloc ? alloc * 2 : 16;
                        pid_t *nv = realloc(v, alloc * sizeof(pid_t));
                        if (!nv)
                                return -ENOMEM;
                        v = nv;
                }
                v[n++] = (pid_t) strtol(p, NULL, 10);
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static bool pid_in(Cgfs *c, const char *path, pid_t pid) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;

        if (cgfs_pids(c, path, &pids, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

int cgfs_attach(Cgfs *c, const char *path, pid_t pid) {
        _cleanup_(strv_freep) char **kids = NULL;
        char buf[DECIMAL_STR_MAX(pid_t)];
        int r;

        if (pid <= 0 || path[0] == '\0')
                return -EINVAL;
        r = cgfs_children(c, path, &kids);
        if (r < 0)
                return r;
        if (kids[0])
                return -EISDIR; /* no internal processes: refuse before the kernel's EBUSY */

        if (c->kernel) {
                _cleanup_free_ char *name = libcg_name(c, path);
                struct cgroup *cg;

                if (!name)
                        return -ENOMEM;
                cg = cgroup_new_cgroup(name);
                if (!cg)
                        return -ENOMEM;
                /* libcgroup acts once per attached controller; on the unified
                 * hierarchy one is enough to move the process */
                if (!cgroup_add_controller(cg, "memory")) {
                        cgroup_free(&cg);
                        return -ENOMEM;
                }
                r = cgroup_attach_task_pid(cg, pid);
                cgroup_free(&cg);
                if (r != 0) {
                        int e = cgroup_get_last_errno();
                        return -(e > 0 ? e : EIO);
                }
                /* trust, but verify: a libcgroup call with nothing to do returns 0 too */
                return pid_in(c, path, pid) ? 0 : -EIO;
        }
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        return cgfs_write(c, path, "cgroup.procs", buf);
}

static bool word_in(const char *list, const char *word, size_t wlen) {
        const char *p = list;

        while (*p) {
                size_t n;
                while (*p == ' ' || *p == '\n')
                        p++;
                n = strcspn(p, " \n");
                if (n == wlen && strncmp(p, word, n) == 0)
                        return true;
                p += n;
        }
        return false;
}

/* Append to buf each word of `want` that `have` lacks, each preceded by
 * `prefix` ("" or "+"), separated by blanks. */
static void missing_words(const char *have, const char *want, const char *prefix, char *buf, size_t size) {
        const char *p = want;

        buf[0] = '\0';
        while (*p) {
                size_t n;
                while (*p == ' ')
                        p++;
                n = strcspn(p, " ");
                if (n > 0 && !word_in(have, p, n)) {
                        size_t off = strlen(buf);
                        snprintf(buf + off, size - off, "%s%s%.*s", off ? " " : "", prefix, (int) n, p);
                }
                p += n;
        }
}

int cgfs_has_controllers(Cgfs *c, const char *path, const char *want, char **ret_missing) {
        _cleanup_free_ char *have = NULL;
        char missing[256];
        int r;

        r = cgfs_read(c, path, "cgroup.controllers", &have);
        if (r < 0)
                return r;
        missing_words(have, want, "", missing, sizeof(missing));
        if (missing[0] == '\0')
                return 1;
        if (ret_missing) {
                *ret_missing = strdup(missing);
                if (!*ret_missing)
                        return -ENOMEM;
        }
        return 0;
}

/* Enable on one cgroup whatever of `controllers` is not yet in its subtree_control. */
static int enable_at(Cgfs *c, const char *path, const char *controllers) {
        _cleanup_free_ char *have = NULL;
        char buf[256];
        int r;

        r = cgfs_read(c, path, "cgroup.subtree_control", &have);
        if (r < 0)
                return r;
        missing_words(have, controllers, "+", buf, sizeof(buf));
        if (buf[0] == '\0')
                return 0;
        r = cgfs_write(c, path, "cgroup.subtree_control", buf);
        return r < 0 ? r : 1;
}

int cgfs_restore_controllers(Cgfs *c, const char *path, const char *old) {
        _cleanup_free_ char *have = NULL;
        char buf[256];
        int r;

        r = cgfs_read(c, path, "cgroup.subtree_control", &have);
        if (r < 0)
                return r;
        missing_words(old, have, "-", buf, sizeof(buf));
        if (buf[0] == '\0')
                return 0;
        r = cgfs_write(c, path, "cgroup.subtree_control", buf);
        return r < 0 ? r : 1;
}

/* Does the cgroup at path hold processes? The mount root always may. */
static int holds_processes(Cgfs *c, const char *path) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        r = cgfs_pids(c, path, &pids, &n);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        return n > 0;
}

int cgfs_enable_controllers(Cgfs *c, const char *path, const char *controllers) {
        _cleanup_free_ char *buf = NULL;
        char *p;
        int r, writes = 0;

        if (!cgfs_path_is_valid(path))
                return -EINVAL;
        buf = strdup(path);
        if (!buf)
                return -ENOMEM;

        /* Check first, write second: a cgroup with processes cannot delegate
         * domain controllers (the kernel answers EBUSY halfway down). */
        for (p = buf;; p++) {
                char saved = *p;
                if (saved == '/' || saved == '\0') {
                        *p = '\0';
                        bool is_mount_root = buf[0] == '\0' && c->kernel && c->mount_rel[0] == '\0';
                        if (!is_mount_root && buf[0] != '\0') {
                                r = holds_processes(c, buf);
                                if (r < 0)
                                        return r;
                                if (r > 0)
                                        return -EBUSY;
                        }
                        *p = saved;
                }
                if (saved == '\0')
                        break;
        }

        /* The root itself first, then each component down to path. */
        r = enable_at(c, "", controllers);
        if (r < 0)
                return r;
        writes += r;
        if (buf[0] == '\0')
                return writes;
        for (p = buf;; p++) {
                char saved = *p;
                if (saved == '/' || saved == '\0') {
                        *p = '\0';
                        r = enable_at(c, buf, controllers);
                        if (r < 0)
                                return r;
                        writes += r;
                        *p = saved;
                }
                if (saved == '\0')
                        break;
        }
        return writes;
}
