/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "util.h"

unsigned cpuset_count(const CpuSet *s) {
        unsigned n = 0;
        for (size_t i = 0; i < ELEMENTSOF(s->bits); i++)
                n += (unsigned) __builtin_popcountll(s->bits[i]);
        return n;
}

bool cpuset_is_empty(const CpuSet *s) {
        return cpuset_count(s) == 0;
}

bool cpuset_is_subset(const CpuSet *sub, const CpuSet *super) {
        for (size_t i = 0; i < ELEMENTSOF(sub->bits); i++)
                if (sub->bits[i] & ~super->bits[i])
                        return false;
        return true;
}

void cpuset_union(CpuSet *dst, const CpuSet *src) {
        for (size_t i = 0; i < ELEMENTSOF(dst->bits); i++)
                dst->bits[i] |= src->bits[i];
}

/* Shared by CPU and node lists: calls add(ctx, n) for every member. */
static int list_parse(const char *s, unsigned max, void (*add)(void *ctx, unsigned n), void *ctx) {
        const char *p = s;

        if (*p == '\0')
                return 0;
        for (;;) {
                char *end;
                unsigned long a, b;

                if (*p < '0' || *p > '9')
                        return -EINVAL;
                errno = 0;
                a = strtoul(p, &end, 10);
                if (errno != 0 || a >= max)
                        return -ERANGE;
                b = a;
                p = end;
                if (*p == '-') {
                        p++;
                        if (*p < '0' || *p > '9')
                                return -EINVAL;
                        errno = 0;
                        b = strtoul(p, &end, 10);
                        if (errno != 0 || b >= max)
                                return -ERANGE;
                        if (b < a)
                                return -EINVAL;
                        p = end;
                }
                for (unsigned long i = a; i <= b; i++)
                        add(ctx, (unsigned) i);
                if (*p == '\0')
                        return 0;
                if (*p != ',')
                        return -EINVAL;
                p++;
        }
}

static void cpu_add_cb(void *ctx, unsigned n) {
        cpuset_add(ctx, n);
}
static void node_add_cb(void *ctx, unsigned n) {
        nodeset_add(ctx, n);
}

int cpulist_parse(const char *s, CpuSet *ret) {
        CpuSet set = {0};
        int r = list_parse(s, CPUSET_MAX, cpu_add_cb, &set);
        if (r < 0)
                return r;
        *ret = set;
        return 0;
}

int nodelist_parse(const char *s, NodeSet *ret) {
        NodeSet set = {0};
        int r = list_parse(s, NODESET_MAX, node_add_cb, &set);
        if (r < 0)
                return r;
        *ret = set;
        return 0;
}

static char *list_format(bool (*has)(const void *set, unsigned n), const void *set, unsigned max,
                         char *buf, size_t size) {
        size_t off = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < max; i++) {
                unsigned j;
                int k;

                if (!has(set, i))
                        continue;
                for (j = i; j + 1 < max && has(set, j + 1); j++)
                        ;
                if (j == i)
                        k = snprintf(buf + off, size - off, "%s%u", off ? "," : "", i);
                else
                        k = snprintf(buf + off, size - off, "%s%u-%u", off ? "," : "", i, j);
                if (k < 0 || (size_t) k >= size - off)
                        break; /* truncated: callers size buffers for the worst case */
                off += (size_t) k;
                i = j;
        }
        return buf;
}

static bool cpu_has_cb(const void *set, unsigned n) {
        return cpuset_has(set, n);
}
static bool node_has_cb(const void *set, unsigned n) {
        return nodeset_has(set, n);
}

char *cpulist_format(const CpuSet *s, char *buf, size_t size) {
        return list_format(cpu_has_cb, s, CPUSET_MAX, buf, size);
}

char *nodelist_format(const NodeSet *s, char *buf, size_t size) {
        return list_format(node_has_cb, s, NODESET_MAX, buf, size);
}

int read_attr_at(int dirfd, const char *name, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;

                if (alloc - len < 4096) {
                        /* attribute files are small; cap at 4 MiB to stay safe on junk */
                        if (alloc >= 4u << 20)
                                return -EFBIG;
                        alloc = alloc ? alloc * 2 : 4096;
                        char *p = realloc(buf, alloc + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                n = read(fd, buf + len, alloc - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return -ENOMEM;
        }
        while (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';
        /* callers keep values (an apply's undo journal holds every old value):
         * a few bytes each, not the 8 KiB the read loop allocated */
        {
                char *p = realloc(buf, len + 1);
                if (p)
                        buf = p;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

int write_attr_at(int dirfd, const char *name, const char *value) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;

        /* an empty value is written as a newline: a write of 0 bytes may not
         * reach the kernel's handler at all */
        if (len == 0) {
                value = "\n";
                len = 1;
        }
        fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int meminfo_read(const char *path, uint64_t *ret_total, uint64_t *ret_available) {
        _cleanup_fclose_ FILE *f = NULL;
        bool have_total = !ret_total, have_avail = !ret_available;
        char line[256];

        f = fopen(path, "re");
        if (!f)
                return -errno;
        while ((!have_total || !have_avail) && fgets(line, sizeof(line), f)) {
                unsigned long long kb;

                if (!have_total && sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
                        *ret_total = (uint64_t) kb * 1024;
                        have_total = true;
                } else if (!have_avail && sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                        *ret_available = (uint64_t) kb * 1024;
                        have_avail = true;
                }
        }
        return have_total && have_avail ? 0 : -ENODATA;
}

char *strdup_vprintf(const char *fmt, va_list ap) {
        char *s;
        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int strcmp_ptr(const char *const *a, const char *const *b) {
        return strcmp(*a, *b);
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int write_file_atomic(const char *path, mode_t mode, int (*fill)(FILE *f, void *userdata), void *userdata) {
        _cleanup_free_ char *tmp = strdup_printf("%s.XXXXXX", path);
        FILE *f;
        int fd, r = 0;

        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                (void) unlink(tmp);
                return r;
        }
        r = fill(f, userdata);
        if (r >= 0 && (fflush(f) != 0 || fsync(fileno(f)) < 0 || fchmod(fileno(f), mode) < 0))
                r = -errno;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r < 0 ? r : 0;
}
