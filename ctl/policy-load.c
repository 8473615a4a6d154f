/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-load: reading policy files and directories (see policy-load.h).
 * The only module of the policy language that does I/O.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "policy-load.h"

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static char *path_join(const char *dir, const char *name) {
        size_t l = strlen(dir);

        if (streq(dir, "."))
                return strdup(name);
        return strdup_printf("%s%s%s", dir, l > 0 && dir[l - 1] == '/' ? "" : "/", name);
}

static bool endswith(const char *s, const char *suffix) {
        size_t l = strlen(s), ls = strlen(suffix);

        return l >= ls && streq(s + l - ls, suffix);
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* The sudoers rule: a file or directory that tells tenantd what to do must
 * belong to root (or to the user running tenantctl) and must not be writable
 * by group or others. Adds an error for each violation; true when secure. */
static bool policy_stat_secure(const struct stat *st, const char *name, PolicyErrors *errs) {
        const char *what = S_ISDIR(st->st_mode) ? "insecure directory" : "insecure";
        bool secure = true;
        char v[32];

        if (st->st_uid != 0 && st->st_uid != geteuid()) {
                snprintf(v, sizeof(v), "uid %u", (unsigned) st->st_uid);
                policy_errors_add(errs, name, 0, "", v, EPERM, "%s, not owned by root or the current user",
                                  what);
                secure = false;
        }
        if (st->st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(v, sizeof(v), "mode %04o", (unsigned) (st->st_mode & 07777));
                policy_errors_add(errs, name, 0, "", v, EPERM, "%s, writable by group or others", what);
                secure = false;
        }
        return secure;
}

/* The same for an open directory. -EPERM when insecure. */
static int policy_dir_secure(int fd, const char *name, PolicyErrors *errs) {
        struct stat st;

        if (fstat(fd, &st) < 0) {
                int e = errno;

                policy_errors_add(errs, name, 0, "", NULL, e, "cannot stat: %s", strerror(e));
                return -e;
        }
        return policy_stat_secure(&st, name, errs) ? 0 : -EPERM;
}

int policy_read_file(int dirfd, const char *path, const char *label, bool missing_ok,
                     char **ret_text, size_t *ret_len, PolicyErrors *errs) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        const char *name = label ? label : path;
        struct stat st;
        size_t len = 0, cap;

        /* O_NONBLOCK: a FIFO planted in the policy directory must not hang the
         * daemon in open(); it is refused below as not a regular file */
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;

                if (e == ENOENT && missing_ok)
                        return -ENOENT;
                policy_errors_add(errs, name, 0, "", NULL, e, "cannot open: %s", strerror(e));
                return -e;
        }
        if (fstat(fd, &st) < 0) {
                int e = errno;

                policy_errors_add(errs, name, 0, "", NULL, e, "cannot stat: %s", strerror(e));
                return -e;
        }
        if (!S_ISREG(st.st_mode)) {
                policy_errors_add(errs, name, 0, "", NULL, EINVAL, "not a regular file");
                return -EINVAL;
        }
        if (!policy_stat_secure(&st, name, errs))
                return -EPERM;
        if (st.st_size > POLICY_FILE_SIZE_MAX)
                goto too_large;

        /* sized by fstat(), grown when the file grew since; reads up to one
         * byte more than allowed to notice a file that became too large */
        cap = (size_t) st.st_size + 2 < 4096 ? 4096 : (size_t) st.st_size + 2;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len + 1 >= cap) {
                        size_t ncap = cap * 2 > POLICY_FILE_SIZE_MAX + 2 ? POLICY_FILE_SIZE_MAX + 2 : cap * 2;
                        char *nbuf;

                        if (ncap <= cap)
                                goto too_large;
                        nbuf = realloc(buf, ncap);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - 1 - len);

                if (n < 0) {
                        int e = errno;

                        if (e == EINTR)
                                continue;
                        policy_errors_add(errs, name, 0, "", NULL, e, "cannot read: %s", strerror(e));
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > POLICY_FILE_SIZE_MAX)
                        goto too_large;
        }
        buf[len] = '\0';
        *ret_text = TAKE_PTR(buf);
        *ret_len = len;
        return 0;

too_large:
        policy_errors_add(errs, name, 0, "", NULL, EFBIG, "too large, at most 1 MiB");
        return -EFBIG;
}

int policy_load_config(const char *path, HostConfig *ret, PolicyErrors *errs) {
        _cleanup_free_ char *text = NULL;
        HostConfig c;
        size_t len;
        int r;

        r = policy_read_file(AT_FDCWD, path, path, true, &text, &len, errs);
        if (r < 0)
                return r;
        r = host_config_parse(text, len, path, &c, errs);
        if (r < 0) {
                host_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

/* Reads and parses one tenant file; a valid one is appended to s. Returns 0
 * (also when the file is invalid: errs says so) or -ENOMEM. */
static int load_tenant(int dirfd, const char *path, const char *label, PolicySet *s,
                       PolicyErrors *errs) {
        _cleanup_free_ char *text = NULL, *stem = NULL;
        const char *base = base_name(path);
        TenantPolicy t, *v;
        size_t len;
        int r;

        r = policy_read_file(dirfd, path, label, false, &text, &len, errs);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;

        /* the file stem is the default id: tenants/web-01.ini is "web-01" */
        stem = endswith(base, ".ini") ? strndup(base, strlen(base) - 4) : strdup(base);
        if (!stem)
                return -ENOMEM;
        r = tenant_parse(text, len, label, stem, &t, errs);
        if (r < 0) {
                tenant_policy_done(&t);
                return r == -ENOMEM ? r : 0;
        }
        v = reallocarray(s->tenants, s->n_tenants + 1, sizeof(TenantPolicy));
        if (!v) {
                tenant_policy_done(&t);
                return -ENOMEM;
        }
        s->tenants = v;
        s->tenants[s->n_tenants++] = t;
        return 0;
}

/* Reads classes from dirfd/path into s; -ENOENT (no error) when missing and
 * missing_ok. */
static int load_classes(int dirfd, const char *path, const char *label, bool missing_ok,
                        PolicySet *s, PolicyErrors *errs) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = policy_read_file(dirfd, path, label, missing_ok, &text, &len, errs);
        if (r < 0)
                return r;
        policy_classes_done(&s->classes);
        r = classes_parse(text, len, label, &s->classes, errs);
        return r == -ENOMEM ? r : 0;
}

static int load_conf(int dirfd, const char *path, const char *label, bool missing_ok,
                     PolicySet *s, PolicyErrors *errs) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = policy_read_file(dirfd, path, label, missing_ok, &text, &len, errs);
        if (r < 0)
                return r;
        host_config_done(&s->config);
        r = host_config_parse(text, len, label, &s->config, errs);
        return r == -ENOMEM ? r : 0;
}

static int tenant_cmp(const void *a, const void *b) {
        const TenantPolicy *x = a, *y = b;
        int c = strcmp(x->id, y->id);

        return c != 0 ? c : strcmp(x->file, y->file);
}

static int string_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorts, runs the cross-file checks, and hands the set out if nothing at all
 * went wrong since `before` errors. */
static int finish(PolicySet *s, size_t before, PolicySet *ret, PolicyErrors *errs) {
        if (s->n_tenants > 1)
                qsort(s->tenants, s->n_tenants, sizeof(TenantPolicy), tenant_cmp);
        (void) policy_set_validate(s, errs);
        if (errs->n > before)
                return -EINVAL;
        *ret = *s;
        *s = (PolicySet) { .tenants = NULL };
        return 0;
}

static void free_strv(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The *.ini names in DIR/tenants, sorted; none when tenants/ does not exist. */
static int list_tenant_files(int dfd, const char *dir, char ***ret, size_t *ret_n,
                             PolicyErrors *errs) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **v = NULL;
        size_t n = 0;
        struct dirent *de;
        int fd;

        fd = openat(dfd, "tenants", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                _cleanup_free_ char *label = path_join(dir, "tenants");

                /* A policy directory without tenants/ is almost certainly the wrong
                 * directory (the tenants/ directory itself, or a typo). Treating it as
                 * "no tenants" would make apply remove every tenant, so it is an error;
                 * an empty tenants/ directory is how to say "no tenants". */
                if (e == ENOENT) {
                        policy_errors_add(errs, label ? label : "tenants", 0, "", NULL, e,
                                          "missing: a policy directory holds tenants/*.ini (an empty tenants/ means no tenants)");
                        return -e;
                }
                policy_errors_add(errs, label ? label : "tenants", 0, "", NULL, e, "cannot open: %s",
                                  strerror(e));
                return -e;
        }
        {
                _cleanup_free_ char *label = path_join(dir, "tenants");
                int r = policy_dir_secure(fd, label ? label : "tenants", errs);

                if (r < 0) {
                        close(fd);
                        return r;
                }
        }
        d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return -e;
        }
        while ((errno = 0, de = readdir(d))) {
                char **nv;

                /* editors leave ".web.ini.swp" and "web.ini~" behind: only
                 * visible *.ini files are policies */
                if (de->d_name[0] == '.' || !endswith(de->d_name, ".ini"))
                        continue;
                nv = reallocarray(v, n + 1, sizeof(char *));
                if (!nv)
                        goto oom;
                v = nv;
                v[n] = strdup(de->d_name);
                if (!v[n])
                        goto oom;
                n++;
        }
        if (n > 1)
                qsort(v, n, sizeof(char *), string_cmp);
        *ret = v;
        *ret_n = n;
        return 0;

oom:
        free_strv(v, n);
        return -ENOMEM;
}

int policy_load_dir(const char *dir, PolicySet *ret, PolicyErrors *errs) {
        _cleanup_(policy_set_done) PolicySet set = { .tenants = NULL };
        _cleanup_close_ int dfd = -1, tfd = -1;
        _cleanup_free_ char *conf_label = NULL, *classes_label = NULL;
        char **names = NULL;
        size_t n_names = 0, before = errs->n;
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int e = errno;

                policy_errors_add(errs, dir, 0, "", NULL, e, "cannot open policy directory: %s",
                                  strerror(e));
                return -e;
        }
        /* whoever may create files here could plant a symlink to any file
         * root can read: nothing is read from an insecure directory */
        r = policy_dir_secure(dfd, dir, errs);
        if (r < 0)
                return r;

        host_config_default(&set.config);
        policy_classes_default(&set.classes);

        conf_label = path_join(dir, "tenantd.conf");
        classes_label = path_join(dir, "classes.ini");
        if (!conf_label || !classes_label)
                return -ENOMEM;

        r = load_conf(dfd, "tenantd.conf", conf_label, true, &set, errs);
        if (r == -ENOMEM)
                return r;
        r = load_classes(dfd, "classes.ini", classes_label, true, &set, errs);
        if (r == -ENOMEM)
                return r;

        r = list_tenant_files(dfd, dir, &names, &n_names, errs);
        if (r == -ENOMEM)
                return r;
        if (n_names > 0) {
                tfd = openat(dfd, "tenants", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tfd < 0)
                        policy_errors_add(errs, dir, 0, "", NULL, errno, "cannot open tenants: %s",
                                          strerror(errno));
        }
        for (size_t i = 0; i < n_names && tfd >= 0; i++) {
                _cleanup_free_ char *rel = strdup_printf("tenants/%s", names[i]);
                _cleanup_free_ char *label = rel ? path_join(dir, rel) : NULL;

                if (!label) {
                        r = -ENOMEM;
                        break;
                }
                r = load_tenant(tfd, names[i], label, &set, errs);
                if (r < 0)
                        break;
        }
        free_strv(names, n_names);
        if (r == -ENOMEM)
                return r;

        return finish(&set, before, ret, errs);
}

/* Directory part of path, "." when there is none. */
static char *dir_name(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t) (slash - path));
}

int policy_load_paths(char *const *paths, size_t n, PolicySet *ret, PolicyErrors *errs) {
        _cleanup_(policy_set_done) PolicySet set = { .tenants = NULL };
        const char *classes_path = NULL, *conf_path = NULL, *first_tenant = NULL;
        size_t before = errs->n;
        int r;

        host_config_default(&set.config);
        policy_classes_default(&set.classes);

        for (size_t i = 0; i < n; i++) {
                const char *base = base_name(paths[i]);

                if (streq(base, "classes.ini")) {
                        if (classes_path)
                                policy_errors_add(errs, paths[i], 0, "", NULL, EINVAL,
                                                  "more than one classes.ini given, first %s",
                                                  classes_path);
                        else
                                classes_path = paths[i];
                } else if (endswith(base, ".conf")) {
                        if (conf_path)
                                policy_errors_add(errs, paths[i], 0, "", NULL, EINVAL,
                                                  "more than one host configuration given, first %s",
                                                  conf_path);
                        else
                                conf_path = paths[i];
                } else if (!first_tenant)
                        first_tenant = paths[i];
        }

        if (conf_path) {
                r = load_conf(AT_FDCWD, conf_path, conf_path, false, &set, errs);
                if (r == -ENOMEM)
                        return r;
        }

        if (classes_path) {
                r = load_classes(AT_FDCWD, classes_path, classes_path, false, &set, errs);
                if (r == -ENOMEM)
                        return r;
        } else if (first_tenant) {
                /* next to the file, then one up: DIR/tenants/x.ini finds DIR/classes.ini */
                _cleanup_free_ char *dir = dir_name(first_tenant);
                _cleanup_free_ char *here = dir ? path_join(dir, "classes.ini") : NULL;
                _cleanup_free_ char *up = dir ? path_join(dir, "../classes.ini") : NULL;

                if (!here || !up)
                        return -ENOMEM;
                r = load_classes(AT_FDCWD, here, here, true, &set, errs);
                if (r == -ENOENT)
                        r = load_classes(AT_FDCWD, up, up, true, &set, errs);
                if (r == -ENOMEM)
                        return r;
        }

        for (size_t i = 0; i < n; i++) {
                const char *base = base_name(paths[i]);

                if (streq(base, "classes.ini") || endswith(base, ".conf"))
                        continue;
                r = load_tenant(AT_FDCWD, paths[i], paths[i], &set, errs);
                if (r < 0)
                        return r;
        }

        return finish(&set, before, ret, errs);
}
