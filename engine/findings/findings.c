/* SPDX-License-Identifier: Apache-2.0 */
/* Report formats: names, detection from the content, dispatch to the parsers,
 * and the normalisation they share (findings_internal.h). */
#include "engine/findings/findings.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "engine/findings/findings_internal.h"
#include "engine/findings/jstream.h"

static const char *const format_names[] = {"auto", "sarif", "zap", "gitlab", "semgrep"};

const char *findings_format_name(enum findings_format f)
{
	if ((size_t)f >= sizeof(format_names) / sizeof(format_names[0]))
		return "?";
	return format_names[f];
}

int findings_format_parse(const char *name, enum findings_format *ret, struct ts_err *err)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (name && strcmp(name, format_names[i]) == 0) {
			*ret = (enum findings_format)i;
			return 0;
		}
	}
	return ts_err_set(err, TS_E_USAGE,
	                  "unknown report format '%s' (accepted: auto, sarif, zap, gitlab, semgrep)",
	                  name ? name : "");
}

/* ---- detection ---------------------------------------------------------- */

#define DETECT_KEYS 6

/* Top-level keys of a JSON object, read until one names the format. */
struct detect {
	int depth;
	enum findings_format found;
	bool is_object;
	bool want_schema; /* the next top-level string is $schema's value */
	char keys[DETECT_KEYS][32];
	size_t n_keys;
	size_t n_more;
	bool gitlab_hint; /* a key of GitLab's reports seen (scan, remediations) */
	bool saw_site;    /* site seen after such a key */
};

static int d_key(void *ctx, const unsigned char *s, size_t len)
{
	struct detect *d = ctx;
	if (d->depth != 1)
		return 1;
	static const struct {
		const char *key;
		enum findings_format f;
	} decisive[] = {
		{"runs", FINDINGS_FORMAT_SARIF},
		{"vulnerabilities", FINDINGS_FORMAT_GITLAB},
		{"site", FINDINGS_FORMAT_ZAP},
		{"results", FINDINGS_FORMAT_SEMGREP},
	};
	for (size_t i = 0; i < sizeof(decisive) / sizeof(decisive[0]); i++) {
		if (len != strlen(decisive[i].key) || memcmp(s, decisive[i].key, len) != 0)
			continue;
		/* GitLab's DAST reports of 13.x embed ZAP's report (site, spider)
		 * beside their own scan and vulnerabilities, keys in alphabetical
		 * order: after a GitLab key, site decides nothing yet */
		if (decisive[i].f == FINDINGS_FORMAT_ZAP && d->gitlab_hint) {
			d->saw_site = true;
			return 1;
		}
		d->found = decisive[i].f;
		return 0;
	}
	if ((len == 4 && memcmp(s, "scan", 4) == 0) ||
	    (len == 12 && memcmp(s, "remediations", 12) == 0))
		d->gitlab_hint = true;
	d->want_schema = len == 7 && memcmp(s, "$schema", 7) == 0;
	if (d->n_keys < DETECT_KEYS) {
		snprintf(d->keys[d->n_keys++], sizeof(d->keys[0]), "%.*s",
		         (int)(len < 31 ? len : 31), (const char *)s);
	} else {
		d->n_more++;
	}
	return 1;
}

static int d_string(void *ctx, const unsigned char *s, size_t len)
{
	struct detect *d = ctx;
	if (d->depth == 1 && d->want_schema) {
		d->want_schema = false;
		for (size_t i = 0; i + 5 <= len; i++) {
			if (strncasecmp((const char *)s + i, "sarif", 5) == 0) {
				d->found = FINDINGS_FORMAT_SARIF;
				return 0;
			}
		}
	}
	return 1;
}

static int d_scalar(void *ctx)
{
	((struct detect *)ctx)->want_schema = false;
	return 1;
}
static int d_bool(void *ctx, int b)
{
	(void)b;
	return d_scalar(ctx);
}
static int d_number(void *ctx, const char *s, size_t l)
{
	(void)s;
	(void)l;
	return d_scalar(ctx);
}
static int d_start_map(void *ctx)
{
	struct detect *d = ctx;
	if (d->depth == 0)
		d->is_object = true;
	d->want_schema = false;
	d->depth++;
	return d->depth <= FINDINGS_DEPTH_MAX;
}
static int d_start_array(void *ctx)
{
	struct detect *d = ctx;
	d->want_schema = false;
	d->depth++;
	return d->depth <= FINDINGS_DEPTH_MAX;
}
static int d_end(void *ctx)
{
	((struct detect *)ctx)->depth--;
	return 1;
}

static const yajl_callbacks detect_callbacks = {
	.yajl_null = d_scalar,
	.yajl_boolean = d_bool,
	.yajl_number = d_number,
	.yajl_string = d_string,
	.yajl_start_map = d_start_map,
	.yajl_map_key = d_key,
	.yajl_end_map = d_end,
	.yajl_start_array = d_start_array,
	.yajl_end_array = d_end,
};

/* The first bytes of the input after a UTF-8 byte order mark and space. */
static int first_byte(const struct findings_input *in, int *ret, struct ts_err *err)
{
	*ret = EOF;
	if (!in->path) {
		for (size_t i = 0; i < in->len; i++) {
			unsigned char c = (unsigned char)in->data[i];
			if (i < 3 && in->len >= 3 && memcmp(in->data, "\xEF\xBB\xBF", 3) == 0)
				continue;
			if (!isspace(c)) {
				*ret = c;
				break;
			}
		}
		return 0;
	}
	FILE *f = fopen(in->path, "rb");
	if (!f)
		return ts_err_set(err, TS_E_IO, "%s: %s", in->name, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return ts_err_set(err, TS_E_IO, "%s: is a directory", in->name);
	}
	int c;
	size_t i = 0;
	while ((c = fgetc(f)) != EOF) {
		if (i++ < 3 && (c == 0xEF || c == 0xBB || c == 0xBF))
			continue;
		if (!isspace(c))
			break;
	}
	fclose(f);
	*ret = c;
	return 0;
}

/* Runs the key scan over the input; stops at the first decisive key. */
static int detect_json(const struct findings_input *in, struct detect *d, struct ts_err *err)
{
	yajl_handle h = yajl_alloc(&detect_callbacks, NULL, d);
	yajl_config(h, yajl_dont_validate_strings, 1);
	int fd = -1;
	char *buf = NULL;
	if (in->path) {
		fd = open(in->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			yajl_free(h);
			return ts_err_set(err, TS_E_IO, "%s: %s", in->name, strerror(errno));
		}
		buf = ts_malloc(64 * 1024);
	}
	size_t off = 0;
	yajl_status st = yajl_status_ok;
	for (;;) {
		const unsigned char *chunk;
		size_t n;
		if (fd >= 0) {
			ssize_t r = read(fd, buf, 64 * 1024);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			chunk = (const unsigned char *)buf;
			n = (size_t)r;
		} else {
			if (off >= in->len)
				break;
			chunk = (const unsigned char *)in->data + off;
			n = in->len - off < 65536 ? in->len - off : 65536;
			off += n;
		}
		st = yajl_parse(h, chunk, n);
		if (st != yajl_status_ok)
			break;
	}
	if (st == yajl_status_ok)
		yajl_complete_parse(h);
	yajl_free(h);
	if (fd >= 0)
		close(fd);
	free(buf);
	return 0;
}

static int detect_input(const struct findings_input *in, enum findings_format *ret,
                        struct ts_err *err)
{
	int c;
	int rc = first_byte(in, &c, err);
	if (rc)
		return rc;
	if (c == EOF)
		return ts_err_set(err, TS_E_INVALID, "%s: the file is empty", in->name);
	if (c == '<') {
		/* XML: only ZAP's report is read; zap_parse names another root. */
		*ret = FINDINGS_FORMAT_ZAP;
		return 0;
	}
	if (c != '{' && c != '[')
		return ts_err_set(err, TS_E_INVALID,
		                  "%s: neither JSON nor XML (first character '%c'): not a SARIF "
		                  "log, ZAP, GitLab or Semgrep report",
		                  in->name, isprint(c) ? c : '?');
	struct detect d = {0};
	rc = detect_json(in, &d, err);
	if (rc)
		return rc;
	if (d.found == FINDINGS_FORMAT_AUTO && d.saw_site)
		d.found = FINDINGS_FORMAT_ZAP;
	if (d.found != FINDINGS_FORMAT_AUTO) {
		*ret = d.found;
		return 0;
	}
	if (!d.is_object)
		return ts_err_set(err, TS_E_INVALID,
		                  "%s: $: a JSON array: not a SARIF log, ZAP, GitLab or Semgrep "
		                  "report (each is a JSON object)",
		                  in->name);
	struct ts_buf keys = {0};
	for (size_t i = 0; i < d.n_keys; i++) {
		ts_buf_puts(&keys, i ? ", " : "");
		ts_buf_puts(&keys, d.keys[i]);
	}
	if (d.n_more)
		ts_buf_printf(&keys, " and %zu more", d.n_more);
	rc = ts_err_set(err, TS_E_INVALID,
	                "%s: $: a JSON object with %s%s: not a SARIF log (runs), ZAP report "
	                "(site), GitLab report (vulnerabilities) or Semgrep report (results)",
	                in->name, d.n_keys ? "keys " : "no keys", keys.data ? keys.data : "");
	ts_buf_free(&keys);
	return rc;
}

int findings_detect(const char *path, enum findings_format *ret, struct ts_err *err)
{
	struct findings_input in = {.path = path, .name = path};
	return detect_input(&in, ret, err);
}

static int parse_input(const struct findings_input *in, enum findings_format fmt, finding_cb cb,
                       void *ud, struct findings_report *report, struct ts_err *err)
{
	struct findings_report local;
	if (!report)
		report = &local;
	memset(report, 0, sizeof(*report));
	if (fmt == FINDINGS_FORMAT_AUTO) {
		int rc = detect_input(in, &fmt, err);
		if (rc)
			return rc;
	}
	report->format = fmt;
	snprintf(report->detail, sizeof(report->detail), "%s", findings_format_name(fmt));
	switch (fmt) {
	case FINDINGS_FORMAT_SARIF:
		return sarif_parse(in, cb, ud, report, err);
	case FINDINGS_FORMAT_ZAP:
		return zap_parse(in, cb, ud, report, err);
	case FINDINGS_FORMAT_GITLAB:
		return gitlab_report_parse(in, cb, ud, report, err);
	case FINDINGS_FORMAT_SEMGREP:
		return semgrep_parse(in, cb, ud, report, err);
	case FINDINGS_FORMAT_AUTO:
	default:
		break;
	}
	return ts_err_set(err, TS_E_USAGE, "%s: no parser for format %d", in->name, (int)fmt);
}

int findings_parse(const char *path, const char *name, enum findings_format fmt, finding_cb cb,
                   void *ud, struct findings_report *report, struct ts_err *err)
{
	struct findings_input in = {.path = path, .name = name ? name : path};
	return parse_input(&in, fmt, cb, ud, report, err);
}

int findings_parse_buffer(const char *data, size_t len, const char *name,
                          enum findings_format fmt, finding_cb cb, void *ud,
                          struct findings_report *report, struct ts_err *err)
{
	struct findings_input in = {.data = data, .len = len, .name = name ? name : "-"};
	return parse_input(&in, fmt, cb, ud, report, err);
}

int findings_jstream_run(struct jstream *js, const struct findings_input *in, struct ts_err *err)
{
	if (in->path)
		return jstream_run(js, in->path, err);
	return jstream_run_buffer(js, in->data, in->len, err);
}

void findings_report_tool(struct findings_report *rep, const char *name, const char *version)
{
	if (!name || !*name || rep->n_tools >= FINDINGS_TOOLS_MAX)
		return;
	for (size_t i = 0; i < rep->n_tools; i++)
		if (strncmp(rep->tools[i].name, name, sizeof(rep->tools[i].name) - 1) == 0)
			return;
	snprintf(rep->tools[rep->n_tools].name, sizeof(rep->tools[0].name), "%s", name);
	snprintf(rep->tools[rep->n_tools].version, sizeof(rep->tools[0].version), "%s",
	         version ? version : "");
	rep->n_tools++;
}

/* ---- normalisation ------------------------------------------------------ */

char *finding_lower(char *s)
{
	for (char *p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static int parse_digits(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return 0;
	long v = 0;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v > 100000)
			return 0;
		s++;
	}
	/* what follows the number must end it: nothing, ':', space, ')' ... */
	if (isalnum((unsigned char)*s) || *s == '_')
		return 0;
	return (int)v;
}

int finding_cwe_parse(const char *s, bool bare_ok)
{
	if (!s)
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	if (strncasecmp(s, "external/cwe/", 13) == 0)
		s += 13;
	if (strncasecmp(s, "cwe", 3) == 0) {
		s += 3;
		if (*s == '-' || *s == ':' || *s == ' ' || *s == '_')
			s++;
		return parse_digits(s);
	}
	return bare_ok ? parse_digits(s) : 0;
}

void finding_add_cwe(struct finding *f, int id)
{
	if (id <= 0)
		return;
	for (size_t i = 0; i < f->n_cwe; i++)
		if (f->cwe[i] == id)
			return;
	if (f->n_cwe < FINDINGS_CWE_MAX)
		f->cwe[f->n_cwe++] = id;
}

void finding_add_cwe_json(struct finding *f, const json_t *v, bool bare_ok)
{
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach (v, i, e)
			finding_add_cwe_json(f, e, bare_ok);
	} else if (json_is_string(v)) {
		finding_add_cwe(f, finding_cwe_parse(json_string_value(v), bare_ok));
	} else if (json_is_integer(v) && bare_ok) {
		json_int_t n = json_integer_value(v);
		if (n > 0 && n < 100000)
			finding_add_cwe(f, (int)n);
	}
}

const char *finding_severity_word(const char *s)
{
	static const struct {
		const char *word;
		const char *severity;
	} words[] = {
		{"critical", "critical"}, {"blocker", "critical"}, {"high", "high"},
		{"error", "high"},        {"major", "high"},       {"medium", "medium"},
		{"moderate", "medium"},   {"warning", "medium"},   {"low", "low"},
		{"minor", "low"},         {"note", "low"},         {"info", "info"},
		{"informational", "info"}, {"information", "info"}, {"none", "info"},
		{"unknown", NULL},
	};
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i].word) == 0)
			return words[i].severity;
	return NULL;
}

const char *finding_severity_score(double score)
{
	if (score >= 9.0)
		return "critical";
	if (score >= 7.0)
		return "high";
	if (score >= 4.0)
		return "medium";
	if (score > 0.0)
		return "low";
	return "info";
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *finding_path_normalise(const char *base, const char *uri)
{
	if (!uri || !*uri)
		return NULL;
	struct ts_buf raw = {0};
	bool absolute = strncasecmp(uri, "file:", 5) == 0 || uri[0] == '/';
	if (base && *base && !absolute && !strstr(uri, "://")) {
		ts_buf_puts(&raw, base);
		ts_buf_puts(&raw, "/");
	}
	ts_buf_puts(&raw, uri);
	char *s = ts_buf_steal(&raw);
	/* drop a file: scheme (file:///a, file:/a, file://host/a) */
	char *p = s;
	if (strncasecmp(p, "file://", 7) == 0) {
		p += 7;
		if (*p != '/') {
			char *slash = strchr(p, '/');
			p = slash ? slash : p + strlen(p);
		}
	} else if (strncasecmp(p, "file:", 5) == 0) {
		p += 5;
	}
	/* percent-decoding, in place */
	char *out = s;
	for (char *q = p; *q; q++) {
		if (*q == '%' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
			char c = (char)(hexval(q[1]) * 16 + hexval(q[2]));
			if (c == '\0')
				c = '_';
			*out++ = c;
			q += 2;
		} else {
			*out++ = *q == '\\' ? '/' : *q;
		}
	}
	*out = '\0';
	/* segments: drop "" and ".", resolve "..", keep the leading '/' of an
	 * absolute path */
	bool lead = s[0] == '/';
	char *segs[256];
	size_t n = 0;
	char *save = NULL;
	for (char *seg = strtok_r(s, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (n > 0 && strcmp(segs[n - 1], "..") != 0)
				n--;
			else if (!lead && n < 256)
				segs[n++] = seg;
			continue;
		}
		if (n < 256)
			segs[n++] = seg;
	}
	struct ts_buf b = {0};
	if (lead)
		ts_buf_puts(&b, "/");
	for (size_t i = 0; i < n; i++) {
		if (i)
			ts_buf_puts(&b, "/");
		ts_buf_puts(&b, segs[i]);
	}
	free(s);
	char *r = ts_buf_steal(&b);
	if (!r || !*r) {
		free(r);
		return NULL;
	}
	return r;
}
