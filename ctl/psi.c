/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>

#include "psi.h"

/* "1s", "150ms", "1500us": the largest unit that divides the value. */
static const char *usec_str(uint64_t usec, char *buf, size_t size) {
        if (usec > 0 && usec % 1000000 == 0)
                snprintf(buf, size, "%" PRIu64 "s", usec / 1000000);
        else if (usec > 0 && usec % 1000 == 0)
                snprintf(buf, size, "%" PRIu64 "ms", usec / 1000);
        else
                snprintf(buf, size, "%" PRIu64 "us", usec);
        return buf;
}

/* "100ms (100000us)": the readable form plus the number the kernel gets */
static const char *usec_both(uint64_t usec, char *buf, size_t size) {
        char a[32];
        usec_str(usec, a, sizeof(a));
        if (usec >= 1000 && usec % 1000 == 0)
                snprintf(buf, size, "%s (%" PRIu64 "us)", a, usec);
        else
                snprintf(buf, size, "%s", a);
        return buf;
}

static int fail(char **ret_error, char *msg) {
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
        return -EINVAL;
}

int psi_trigger_validate(const PsiTrigger *t, char **ret_error) {
        char a[64], b[64];

        if (t->window_usec < PSI_WINDOW_MIN_USEC)
                return fail(ret_error, strdup_printf("PSI trigger window %s is below the kernel's minimum of 500ms",
                                                     usec_both(t->window_usec, a, sizeof(a))));
        if (t->window_usec > PSI_WINDOW_MAX_USEC)
                return fail(ret_error, strdup_printf("PSI trigger window %s is above the kernel's maximum of 10s",
                                                     usec_both(t->window_usec, a, sizeof(a))));
        if (t->stall_usec == 0)
                return fail(ret_error, strdup_printf("PSI trigger stall 0 must be greater than 0"));
        if (t->stall_usec > t->window_usec)
                return fail(ret_error, strdup_printf("PSI trigger stall %s exceeds its window %s",
                                                     usec_both(t->stall_usec, a, sizeof(a)),
                                                     usec_both(t->window_usec, b, sizeof(b))));
        return 0;
}

int psi_trigger_format(const PsiTrigger *t, char *buf, size_t size, char **ret_error) {
        int r, n;

        r = psi_trigger_validate(t, ret_error);
        if (r < 0)
                return r;
        n = snprintf(buf, size, "%s %" PRIu64 " %" PRIu64, t->full ? "full" : "some", t->stall_usec,
                     t->window_usec);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int psi_trigger_open(int dirfd, const char *file, const PsiTrigger *t, int *ret_fd, char **ret_error) {
        char text[PSI_TRIGGER_STR_MAX];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        int len;

        len = psi_trigger_format(t, text, sizeof(text), ret_error);
        if (len < 0)
                return len;
        fd = openat(dirfd, file, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* With the NUL: /proc/pressure/<res> overwrites the last byte written with one. */
        n = write(fd, text, (size_t) len + 1);
        if (n < 0)
                return -errno;
        if (n != len + 1)
                return -EIO;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

PsiEvent psi_revents(uint32_t revents) {
        if (revents & (POLLERR | POLLHUP | POLLNVAL))
                return PSI_EVENT_GONE;
        if (revents & POLLPRI)
                return PSI_EVENT_PRESSURE;
        return PSI_EVENT_NONE;
}

/* ---- averages -------------------------------------------------------------------- */

static int parse_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (s[i] - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

/* "12.34" -> 1234 basis points; the kernel prints "%lu.%02lu" */
static int parse_bp(const char *s, size_t len, uint32_t *ret) {
        const char *dot = memchr(s, '.', len);
        uint64_t whole, frac;
        int r;

        if (!dot || (size_t) (s + len - dot) != 3)
                return -EINVAL;
        r = parse_u64(s, (size_t) (dot - s), &whole);
        if (r < 0)
                return r;
        r = parse_u64(dot + 1, 2, &frac);
        if (r < 0)
                return r;
        if (whole > (UINT32_MAX - frac) / 100)
                return -ERANGE;
        *ret = (uint32_t) (whole * 100 + frac);
        return 0;
}

static bool word_is(const char *w, size_t n, const char *lit) {
        return n == strlen(lit) && memcmp(w, lit, n) == 0;
}

/* One line after its "some"/"full" word: " avg10=.. avg60=.. avg300=.. total=.." */
static int parse_fields(const char *s, size_t len, PsiAvg *ret) {
        PsiAvg a = { 0 };
        unsigned seen = 0;
        size_t i = 0;

        while (i < len) {
                size_t start, end, eq;
                unsigned bit;
                int r;

                while (i < len && s[i] == ' ')
                        i++;
                if (i >= len)
                        break;
                start = i;
                while (i < len && s[i] != ' ')
                        i++;
                end = i;
                for (eq = start; eq < end && s[eq] != '='; eq++)
                        ;
                if (eq == end)
                        return -EINVAL;

                const char *key = s + start, *val = s + eq + 1;
                size_t klen = eq - start, vlen = end - eq - 1;

                if (word_is(key, klen, "avg10")) {
                        bit = 1;
                        r = parse_bp(val, vlen, &a.avg10);
                } else if (word_is(key, klen, "avg60")) {
                        bit = 2;
                        r = parse_bp(val, vlen, &a.avg60);
                } else if (word_is(key, klen, "avg300")) {
                        bit = 4;
                        r = parse_bp(val, vlen, &a.avg300);
                } else if (word_is(key, klen, "total")) {
                        bit = 8;
                        r = parse_u64(val, vlen, &a.total_usec);
                } else
                        continue; /* a field a newer kernel added */
                if (r < 0)
                        return r;
                if (seen & bit)
                        return -EINVAL;
                seen |= bit;
        }
        if (seen != 15)
                return -EINVAL;
        *ret = a;
        return 0;
}

int psi_parse_avg(const char *text, size_t len, PsiStats *ret) {
        PsiStats st = { .has_full = false };
        bool has_some = false;
        size_t i = 0;

        while (i < len) {
                const char *line = text + i, *nl = memchr(line, '\n', len - i);
                size_t n = nl ? (size_t) (nl - line) : len - i, w;
                int r;

                i += n + (nl ? 1 : 0);
                for (w = 0; w < n && line[w] != ' '; w++)
                        ;
                if (word_is(line, w, "some")) {
                        if (has_some)
                                return -EINVAL;
                        r = parse_fields(line + w, n - w, &st.some);
                        has_some = true;
                } else if (word_is(line, w, "full")) {
                        if (st.has_full)
                                return -EINVAL;
                        r = parse_fields(line + w, n - w, &st.full);
                        st.has_full = true;
                } else
                        continue; /* empty or unknown line */
                if (r < 0)
                        return r;
        }
        if (!has_some)
                return -EINVAL;
        *ret = st;
        return 0;
}

int psi_read_avg(int dirfd, const char *file, PsiStats *ret) {
        _cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return psi_read_avg_fd(fd, ret);
}

int psi_read_avg_fd(int fd, PsiStats *ret) {
        char buf[512];
        size_t len = 0;

        /* pread from 0: the fd may be a trigger fd that was read before */
        while (len < sizeof(buf)) {
                ssize_t n = pread(fd, buf + len, sizeof(buf) - len, (off_t) len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len == sizeof(buf))
                return -EFBIG;
        return psi_parse_avg(buf, len, ret);
}
