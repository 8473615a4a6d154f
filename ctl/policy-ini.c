/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-ini: the INI front end of the policy parsers, around inih.
 *
 * inih (Debian 12 ships r55) is fed through ini_parse_stream() by a reader
 * that hands it one physical line per call. The reader is where the rules
 * inih does not enforce live, because inih only reports the first bad line,
 * splits a line longer than its buffer into two, takes an indented line as
 * the continuation of the previous value, and cuts values at " ;":
 *   - a NUL byte anywhere: the file is refused as a whole (binary);
 *   - every line must be valid UTF-8 without control characters (tab allowed);
 *   - leading blanks are dropped, so indentation never continues a value;
 *   - a comment is a whole line starting with '#' or ';'. There are no inline
 *     comments: values are taken verbatim from our copy of the line, so
 *     "exec = sh -c 'a ; b'" keeps its ';', and "limit = 1G ; cap" is an
 *     error instead of a silently shortened value;
 *   - lines longer than POLICY_LINE_MAX are errors, never split;
 *   - "[name]" and "key = value" are checked here, and every malformed line is
 *     reported with its number. inih then only sees lines it parses the same way.
 * The section name is tracked here as written (inih truncates long ones).
 *
 * Owns nothing about what sections and keys mean: that is the parsers'.
 */
#include <ini.h>

#include "policy-internal.h"

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
}

static bool is_name(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!is_name_char(*s))
                        return false;
        return true;
}

/* NULL when s[0..n) is valid UTF-8 without control characters other than tab. */
static const char *line_bytes_problem(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) s[i];
                uint32_t cp, min;
                size_t more;

                if (c < 0x80) {
                        if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return "contains a control character";
                        i++;
                        continue;
                }
                if ((c & 0xe0) == 0xc0) {
                        more = 1, cp = c & 0x1f, min = 0x80;
                } else if ((c & 0xf0) == 0xe0) {
                        more = 2, cp = c & 0x0f, min = 0x800;
                } else if ((c & 0xf8) == 0xf0) {
                        more = 3, cp = c & 0x07, min = 0x10000;
                } else
                        return "invalid UTF-8";
                if (n - i - 1 < more)
                        return "invalid UTF-8";
                for (size_t k = 1; k <= more; k++) {
                        unsigned char cc = (unsigned char) s[i + k];
                        if ((cc & 0xc0) != 0x80)
                                return "invalid UTF-8";
                        cp = (cp << 6) | (cc & 0x3f);
                }
                /* overlong forms, UTF-16 surrogates and beyond U+10FFFF are not UTF-8 */
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return "invalid UTF-8";
                i += more + 1;
        }
        return NULL;
}

static char *trim(char *s) {
        char *e;

        while (is_blank(*s))
                s++;
        e = s + strlen(s);
        while (e > s && is_blank(e[-1]))
                *--e = '\0';
        return s;
}

/* After a header we could not read, the keys that follow belong to no
 * section we know: skip them quietly (the header's error explains them)
 * rather than file them under the previous section or as "outside". */
static void lose_section(IniParser *p) {
        free(p->section);
        p->section = strdup("");
        p->section_ok = false;
}

/* Checks one physical line and writes what inih should see into buf ("" to
 * make inih skip it). */
static void ini_line(IniParser *p, const char *raw, size_t n, char *buf, size_t bufsize) {
        char line[POLICY_LINE_MAX + 1];
        const char *problem;
        char *eq, *key, *value;
        size_t max;

        buf[0] = '\0';
        /* inih must never see a full buffer: a realloc-enabled build would then
         * read on and glue the next line to this one */
        max = bufsize >= 2 && bufsize - 2 < POLICY_LINE_MAX ? bufsize - 2 : POLICY_LINE_MAX;

        if (n > 0 && raw[n - 1] == '\r')
                n--;
        problem = line_bytes_problem(raw, n);
        if (problem) {
                sink_error(&p->sink, p->line, "", NULL, EINVAL, "%s", problem);
                return;
        }
        while (n > 0 && is_blank(*raw))
                raw++, n--;
        if (n == 0 || *raw == '#' || *raw == ';')
                return;
        while (n > 0 && is_blank(raw[n - 1]))
                n--;

        p->any_content = true;
        if (n > max) {
                sink_error(&p->sink, p->line, "", NULL, EINVAL, "line too long: %zu bytes, at most %zu",
                           n, max);
                if (raw[0] == '[')
                        lose_section(p);
                return;
        }
        memcpy(line, raw, n);
        line[n] = '\0';

        if (line[0] == '[') {
                char *close = strchr(line, ']'), *name;

                if (!close || close[1] != '\0') {
                        sink_error(&p->sink, p->line, "", line, EINVAL,
                                   "invalid section header, expected [name]");
                        lose_section(p);
                        return;
                }
                *close = '\0';
                name = trim(line + 1);
                if (!is_name(name)) {
                        sink_error(&p->sink, p->line, "", name, EINVAL,
                                   "invalid section name, use [A-Za-z0-9_.-]");
                        lose_section(p);
                        return;
                }
                free(p->section);
                p->section = strdup(name);
                if (!p->section) {
                        sink_error(&p->sink, p->line, "", NULL, ENOMEM, "out of memory");
                        lose_section(p);
                        return;
                }
                p->section_line = p->line;
                p->section_ok = p->on_section(p, name);
                snprintf(buf, bufsize, "[%s]", name);
                return;
        }

        eq = strchr(line, '=');
        if (!eq) {
                sink_error(&p->sink, p->line, "", line, EINVAL, "expected 'key = value'");
                return;
        }
        *eq = '\0';
        key = trim(line);
        value = trim(eq + 1);
        if (!*key) {
                sink_error(&p->sink, p->line, "", NULL, EINVAL, "expected 'key = value', the key is missing");
                return;
        }
        if (!is_name(key)) {
                sink_error(&p->sink, p->line, "", key, EINVAL, "invalid key name, use [A-Za-z0-9_.-]");
                return;
        }
        if (!p->section) {
                sink_error(&p->sink, p->line, key, NULL, EINVAL, "key outside of any section");
                return;
        }
        if (!p->section_ok)
                return;
        snprintf(p->key, sizeof(p->key), "%s", key);
        snprintf(p->value, sizeof(p->value), "%s", value);
        snprintf(buf, bufsize, "%s=%s", key, value);
}

static char *line_reader(char *buf, int num, void *userdata) {
        IniParser *p = userdata;
        const char *start, *nl;
        size_t n;

        if (p->sink.gave_up || p->pos >= p->len || num < 1)
                return NULL;
        start = p->text + p->pos;
        nl = memchr(start, '\n', p->len - p->pos);
        n = nl ? (size_t) (nl - start) : p->len - p->pos;
        p->pos += n + (nl ? 1 : 0);
        /* one call per physical line keeps inih's line numbers equal to ours */
        p->line++;
        ini_line(p, start, n, buf, (size_t) num);
        return buf;
}

static int key_handler(void *userdata, const char *section, const char *name, const char *value) {
        IniParser *p = userdata;
        _cleanup_free_ char *fullkey = NULL;

        /* inih's section may be truncated and its value cut at " ;": use the
         * section and value ini_line() checked for this very line */
        if (!streq(name, p->key)) {
                sink_error(&p->sink, p->line, "", NULL, EINVAL, "syntax error");
                return 1;
        }
        fullkey = strdup_printf("%s.%s", p->section, name);
        if (!fullkey) {
                sink_error(&p->sink, p->line, name, NULL, ENOMEM, "out of memory");
                return 1;
        }
        /* an empty value is passed on too: the key lookup reports it as
         * "missing value" and marks the key seen, so a second, misleading
         * "required key is missing" does not follow */
        p->on_assign(p, name, fullkey, p->value);
        return 1;
}

int ini_run(IniParser *p, const char *text, size_t len) {
        const char *nul;
        int r;

        nul = memchr(text, '\0', len);
        if (nul) {
                unsigned line = 1;
                for (const char *c = text; c < nul; c++)
                        line += *c == '\n';
                sink_error(&p->sink, line, "", NULL, EINVAL, "contains a NUL byte, not a text file");
                p->refused = true;
                return 0;
        }
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                text += 3, len -= 3;

        p->text = text;
        p->len = len;
        p->pos = 0;
        p->line = 0;
        r = ini_parse_stream(line_reader, p, key_handler, p);
        if (r == -2)
                return -ENOMEM;
        if (r > 0)
                /* not expected: every line inih saw was checked by ini_line() */
                sink_error(&p->sink, (unsigned) r, "", NULL, EINVAL, "syntax error");
        return 0;
}

void ini_parser_done(IniParser *p) {
        free(p->section);
        p->section = NULL;
}

/* ---- names and suggestions ------------------------------------------------------ */

#define SUGGEST_LEN_MAX 64

/* Optimal string alignment distance: Levenshtein plus adjacent transposition,
 * so "memroy" is one edit from "memory". */
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        size_t d[SUGGEST_LEN_MAX + 1][SUGGEST_LEN_MAX + 1];

        if (la > SUGGEST_LEN_MAX || lb > SUGGEST_LEN_MAX)
                return SIZE_MAX;
        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t v = d[i - 1][j] + 1;

                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (d[i - 1][j - 1] + cost < v)
                                v = d[i - 1][j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

const char *closest_name(const char *s, const char *const *cands, size_t n) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, len = strlen(s), limit;

        /* short names are all close to each other: allow fewer edits */
        limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
        for (size_t i = 0; i < n; i++) {
                size_t d = edit_distance(s, cands[i]);
                if (d < best_d) {
                        best_d = d;
                        best = cands[i];
                }
        }
        return best_d <= limit ? best : NULL;
}

int ini_section_lookup(IniParser *p, const char *const *sections, size_t n, unsigned *seen,
                       const char *name) {
        _cleanup_free_ char *key = strdup_printf("[%s]", name);
        const char *sugg;

        for (size_t i = 0; i < n; i++)
                if (streq(sections[i], name)) {
                        if (seen[i]) {
                                sink_error(&p->sink, p->line, key, NULL, EEXIST,
                                           "duplicate section, first on line %u", seen[i]);
                                return -1;
                        }
                        seen[i] = p->line;
                        return (int) i;
                }
        sugg = closest_name(name, sections, n);
        if (sugg)
                sink_error(&p->sink, p->line, key, NULL, EINVAL,
                           "unknown section, did you mean '%s'?", sugg);
        else
                sink_error(&p->sink, p->line, key, NULL, EINVAL, "unknown section");
        return -1;
}

int ini_key_lookup(IniParser *p, const IniKey *table, size_t n, unsigned *seen,
                   const char *section, const char *key, const char *fullkey, const char *value) {
        const char *cands[32];
        size_t nc = 0;
        const char *sugg;

        for (size_t i = 0; i < n; i++) {
                if (!streq(table[i].section, section))
                        continue;
                if (streq(table[i].name, key)) {
                        if (seen[i]) {
                                sink_error(&p->sink, p->line, fullkey, value, EEXIST,
                                           "duplicate key, first set on line %u", seen[i]);
                                return -1;
                        }
                        seen[i] = p->line;
                        if (!*value) {
                                sink_error(&p->sink, p->line, fullkey, NULL, EINVAL, "missing value");
                                return -1;
                        }
                        return (int) i;
                }
                if (nc < ELEMENTSOF(cands))
                        cands[nc++] = table[i].name;
        }
        sugg = closest_name(key, cands, nc);
        if (sugg)
                sink_error(&p->sink, p->line, fullkey, key, EINVAL, "unknown key, did you mean '%s'?",
                           sugg);
        else
                sink_error(&p->sink, p->line, fullkey, key, EINVAL, "unknown key");
        return -1;
}
