/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "launch.h"

/* Where QEMU finds hugetlbfs: systemd mounts it here, and so does the testbed. */
#define HUGETLBFS_PATH "/dev/hugepages"
#define QEMU_BINARY "qemu-system-x86_64"

typedef struct Argv {
        char **v;
        size_t n;
} Argv;

static int argv_add(Argv *a, char *word /* takes */) {
        char **nv;

        if (!word)
                return -ENOMEM;
        nv = realloc(a->v, (a->n + 2) * sizeof(char *));
        if (!nv) {
                free(word);
                return -ENOMEM;
        }
        a->v = nv;
        a->v[a->n++] = word;
        a->v[a->n] = NULL;
        return 0;
}

static void argv_done(Argv *a) {
        strv_free(a->v);
        *a = (Argv) { 0 };
}

int exec_split(const char *s, char ***ret_argv) {
        Argv a = { 0 };
        size_t len = strlen(s);
        _cleanup_free_ char *word = malloc(len + 1);
        const char *p = s;
        int r;

        if (!word)
                return -ENOMEM;
        for (;;) {
                size_t w = 0;
                bool have = false;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0')
                        break;
                while (*p && *p != ' ' && *p != '\t') {
                        have = true;
                        if (*p == '\'') {
                                const char *end = strchr(p + 1, '\'');
                                if (!end)
                                        goto unbalanced;
                                memcpy(word + w, p + 1, (size_t) (end - p - 1));
                                w += (size_t) (end - p - 1);
                                p = end + 1;
                        } else if (*p == '"') {
                                p++;
                                while (*p && *p != '"') {
                                        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                                p++;
                                        word[w++] = *p++;
                                }
                                if (*p != '"')
                                        goto unbalanced;
                                p++;
                        } else if (*p == '\\') {
                                if (p[1] == '\0')
                                        goto unbalanced;
                                word[w++] = p[1];
                                p += 2;
                        } else
                                word[w++] = *p++;
                }
                if (have) {
                        word[w] = '\0';
                        r = argv_add(&a, strdup(word));
                        if (r < 0) {
                                argv_done(&a);
                                return r;
                        }
                }
        }
        if (a.n == 0)
                return -EINVAL;
        *ret_argv = a.v;
        return 0;

unbalanced:
        argv_done(&a);
        return -EINVAL;
}

static int vm_argv(const TenantPolicy *t, const PlanNode *n, char ***ret_argv) {
        Argv a = { 0 };
        uint64_t mib = t->vm_memory >> 20;
        int r = 0;

        if (t->vm_memory == SIZE_UNSET || mib == 0 || !t->vm_qmp)
                return -EINVAL;

        r |= argv_add(&a, strdup(QEMU_BINARY));
        r |= argv_add(&a, strdup("-name"));
        r |= argv_add(&a, strdup_printf("guest=%s", t->id));
        r |= argv_add(&a, strdup("-no-user-config"));
        r |= argv_add(&a, strdup("-nodefaults"));
        r |= argv_add(&a, strdup("-display"));
        r |= argv_add(&a, strdup("none"));
        /* KVM where it works, TCG otherwise: QEMU tries the accelerators in order */
        r |= argv_add(&a, strdup("-accel"));
        r |= argv_add(&a, strdup("kvm"));
        r |= argv_add(&a, strdup("-accel"));
        r |= argv_add(&a, strdup("tcg"));
        r |= argv_add(&a, strdup("-m"));
        r |= argv_add(&a, strdup_printf("%" PRIu64 "M", mib));
        r |= argv_add(&a, strdup("-smp"));
        r |= argv_add(&a, strdup_printf("%u", t->vm_vcpus ? t->vm_vcpus : 1));
        r |= argv_add(&a, strdup("-qmp"));
        r |= argv_add(&a, strdup_printf("unix:%s,server=on,wait=off", t->vm_qmp));
        if (t->vm_balloon) {
                r |= argv_add(&a, strdup("-device"));
                r |= argv_add(&a, strdup("virtio-balloon-pci,id=balloon0"));
        }
        if (t->vm_kernel) {
                /* direct kernel boot: no disk needed */
                r |= argv_add(&a, strdup("-kernel"));
                r |= argv_add(&a, strdup(t->vm_kernel));
                if (t->vm_initrd) {
                        r |= argv_add(&a, strdup("-initrd"));
                        r |= argv_add(&a, strdup(t->vm_initrd));
                }
                if (t->vm_append) {
                        r |= argv_add(&a, strdup("-append"));
                        r |= argv_add(&a, strdup(t->vm_append));
                }
        }
        if (t->huge_count > 0 && t->huge_size > 0) {
                /* Guest RAM from the tenant's hugepage pool, bound to its node, allocated
                 * up front so a missing page fails at start, not as SIGBUS later. */
                char nodebuf[64] = "";

                if (n->huge_node >= 0)
                        snprintf(nodebuf, sizeof(nodebuf), ",host-nodes=%d,policy=bind", n->huge_node);
                r |= argv_add(&a, strdup("-object"));
                r |= argv_add(&a, strdup_printf("memory-backend-file,id=ram0,size=%" PRIu64
                                                "M,mem-path=" HUGETLBFS_PATH ",prealloc=on,share=on%s",
                                                mib, nodebuf));
                r |= argv_add(&a, strdup("-machine"));
                r |= argv_add(&a, strdup("memory-backend=ram0"));
        }
        if (r != 0) {
                argv_done(&a);
                return -ENOMEM;
        }
        *ret_argv = a.v;
        return 0;
}

int tenant_argv(const TenantPolicy *t, const PlanNode *n, char ***ret_argv) {
        if (t->exec)
                return exec_split(t->exec, ret_argv);
        if (t->kind == TENANT_VM)
                return vm_argv(t, n, ret_argv);
        return -ENOENT;
}

typedef struct LaunchMsg {
        int kind;  /* 0: pid of the tenant, 1: errno of a failed step */
        int value;
} LaunchMsg;

static void child_fail(int fd, int err) {
        LaunchMsg m = { 1, err };
        (void) !write(fd, &m, sizeof(m));
        _exit(127);
}

int launch_in_cgroup(Cgfs *c, const char *path, char *const argv[], const char *log_path, pid_t *ret_pid) {
        int pipefd[2];
        pid_t mid;
        LaunchMsg m;
        pid_t tenant = 0;
        int status, err = 0;
        ssize_t n;

        if (!argv || !argv[0])
                return -EINVAL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;

        mid = fork();
        if (mid < 0) {
                err = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return err;
        }
        if (mid == 0) {
                /* intermediate: new session, fork the tenant, report its pid, exit so
                 * the tenant is reparented to init and never waits on us */
                pid_t t;

                close(pipefd[0]);
                if (setsid() < 0)
                        child_fail(pipefd[1], errno);
                t = fork();
                if (t < 0)
                        child_fail(pipefd[1], errno);
                if (t > 0) {
                        LaunchMsg pm = { 0, (int) t };
                        (void) !write(pipefd[1], &pm, sizeof(pm));
                        _exit(0);
                }

                /* the tenant: into its leaf first, then stdio, then exec */
                int r = cgfs_attach(c, path, getpid());
                if (r < 0)
                        child_fail(pipefd[1], -r);
                int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int out = log_path ? open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)
                                   : open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (in < 0 || out < 0)
                        child_fail(pipefd[1], errno);
                if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
                        child_fail(pipefd[1], errno);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execvp(argv[0], argv);
                child_fail(pipefd[1], errno);
        }

        close(pipefd[1]);
        /* read until EOF: the pid message, and an errno message if the tenant failed */
        while ((n = read(pipefd[0], &m, sizeof(m))) == (ssize_t) sizeof(m)) {
                if (m.kind == 0)
                        tenant = (pid_t) m.value;
                else
                        err = -m.value;
        }
        close(pipefd[0]);
        (void) waitpid(mid, &status, 0);
        if (err < 0)
                return err;
        if (tenant <= 0)
                return -ECHILD;
        if (ret_pid)
                *ret_pid = tenant;
        return 0;
}

int launch_prepare_qmp(const TenantPolicy *t) {
        _cleanup_free_ char *dir = NULL;
        char *slash;
        int r;

        if (t->kind != TENANT_VM || t->exec || !t->vm_qmp)
                return 0;
        dir = strdup(t->vm_qmp);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                r = mkdir_p(dir, 0750);
                if (r < 0)
                        return r;
        }
        /* a socket left by a VM that is gone would make QEMU fail to bind */
        if (unlink(t->vm_qmp) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int launch_tenant(Cgfs *c, const PlanNode *n, const TenantPolicy *t, const char *run_dir, char **ret_error) {
        _cleanup_(strv_freep) char **argv = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *log = NULL, *logdir = NULL;
        size_t np = 0;
        int r;

        r = tenant_argv(t, n, &argv);
        if (r == -ENOENT)
                return 0; /* adopted processes, nothing to start */
        if (r < 0)
                goto fail;
        r = cgfs_pids(c, n->path, &pids, &np);
        if (r < 0)
                goto fail;
        if (np > 0)
                return 0; /* already running */
        logdir = strdup_printf("%s/log", run_dir ? run_dir : "/run/tenantd");
        if (!logdir)
                return -ENOMEM;
        r = mkdir_p(logdir, 0750);
        if (r < 0)
                goto fail;
        r = launch_prepare_qmp(t);
        if (r < 0)
                goto fail;
        log = strdup_printf("%s/%s.log", logdir, t->id);
        if (!log)
                return -ENOMEM;
        r = launch_in_cgroup(c, n->path, argv, log, NULL);
        if (r < 0)
                goto fail;
        return 1;
fail:
        if (ret_error)
                *ret_error = strdup_printf("tenant '%s': cannot start '%s': %s", t->id,
                                           argv && argv[0] ? argv[0] : (t->exec ? t->exec : "?"), strerror(-r));
        return r;
}

int launch_tenants(Cgfs *c, const Plan *p, const PolicySet *s, const char *run_dir, char *const *skip,
                   char **ret_error) {
        int started = 0, r;

        for (size_t i = 0; i < p->n_nodes; i++) {
                const PlanNode *n = &p->nodes[i];
                bool skipped = false;

                if (n->type != PLAN_TENANT)
                        continue;
                for (char *const *k = skip; k && *k; k++)
                        skipped = skipped || streq(*k, s->tenants[n->tenant].id);
                if (skipped)
                        continue;
                r = launch_tenant(c, n, &s->tenants[n->tenant], run_dir, ret_error);
                if (r < 0)
                        return r;
                started += r;
        }
        return started;
}
