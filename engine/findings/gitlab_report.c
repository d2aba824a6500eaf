/* SPDX-License-Identifier: Apache-2.0 */
/* GitLab security reports (SAST, DAST, secret detection, dependency and
 * container scanning; schemas 2.x to 15.x): vulnerabilities[] streamed one at
 * a time. The scan object (scanner, type) may come after the vulnerabilities
 * (keys are not ordered), so a first pass reads the document without them. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings_internal.h"
#include "engine/findings/jstream.h"

/* What a callback builds beside the borrowed strings; freed after it. */
#define GL_OWNED 8

struct gl_ctx {
	const struct findings_input *in;
	finding_cb cb;
	void *ud;
	struct findings_report *rep;
	/* from the first pass, borrowed from its document */
	const char *scan_type;
	const char *scanner_name;
	const char *scanner_version;
};

static const char *jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : NULL;
}

static int jline(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		return 0;
	json_int_t n = json_integer_value(v);
	return n > 0 && n <= INT_MAX ? (int)n : 0;
}

/* A new string kept in owned[] until the callback returns. */
static const char *keep(char **owned, size_t *n_owned, char *s)
{
	if (!s)
		return NULL;
	if (*n_owned >= GL_OWNED) {
		free(s);
		return NULL;
	}
	owned[(*n_owned)++] = s;
	return s;
}

static bool is_cwe_type(const json_t *ident)
{
	const char *type = json_string_value(json_object_get(ident, "type"));
	return type && strcasecmp(type, "cwe") == 0;
}

/* A cwe identifier's id: the value ("79" or 79), else the name ("CWE-943"). */
static int identifier_cwe(const json_t *ident)
{
	const json_t *value = json_object_get(ident, "value");
	if (json_is_integer(value)) {
		json_int_t n = json_integer_value(value);
		if (n > 0 && n < 100000)
			return (int)n;
	}
	int id = finding_cwe_parse(json_string_value(value), true);
	if (id > 0)
		return id;
	return finding_cwe_parse(json_string_value(json_object_get(ident, "name")), true);
}

/* An identifier's value as text (a string or an integer); NULL otherwise. */
static char *identifier_value(const json_t *ident)
{
	const json_t *value = json_object_get(ident, "value");
	if (json_is_integer(value))
		return ts_asprintf("%lld", (long long)json_integer_value(value));
	const char *s = json_string_value(value);
	return s && *s ? ts_strdup(s) : NULL;
}

/* Does some identifier have the value s? An old report's cve that is only a
 * rule's id (ZAP's plugin id in DAST reports) names no single result. */
static bool cve_is_identifier(const json_t *idents, const char *cve)
{
	size_t i;
	const json_t *ident;
	json_array_foreach (idents, i, ident) {
		char *v = identifier_value(ident);
		bool same = v && strcmp(v, cve) == 0;
		free(v);
		if (same)
			return true;
	}
	return false;
}

static int on_vulnerability(void *ud, json_t *v, const char *doc_path, const size_t *idx,
                            size_t n_idx, struct ts_err *err)
{
	(void)idx;
	(void)n_idx;
	struct gl_ctx *c = ud;
	if (!json_is_object(v))
		return ts_err_set(err, TS_E_INVALID, "%s: %s: a vulnerability is not a JSON object",
		                  c->in->name, doc_path);
	char *owned[GL_OWNED];
	size_t n_owned = 0;
	struct finding f = {0};
	const json_t *scanner = json_object_get(v, "scanner");
	f.tool = jstr(scanner, "name");
	if (!f.tool)
		f.tool = c->scanner_name ? c->scanner_name : "gitlab";
	f.tool_version = c->scanner_version;
	f.category = c->scan_type ? c->scan_type : jstr(v, "category");

	const json_t *idents = json_object_get(v, "identifiers");
	if (!json_is_array(idents))
		idents = NULL;
	const json_t *first = NULL;
	size_t i;
	const json_t *ident;
	json_array_foreach (idents, i, ident) {
		if (!json_is_object(ident))
			continue;
		if (is_cwe_type(ident))
			finding_add_cwe(&f, identifier_cwe(ident));
		else if (!first)
			first = ident;
	}
	const char *name = jstr(v, "name");
	const char *short_message = jstr(v, "message");
	const char *description = jstr(v, "description");
	if (first) {
		char *value = identifier_value(first);
		const char *type = jstr(first, "type");
		if (value && type)
			f.rule_id = keep(owned, &n_owned, ts_asprintf("%s:%s", type, value));
		else if (value)
			f.rule_id = keep(owned, &n_owned, ts_strdup(value));
		free(value);
	}
	if (!f.rule_id)
		f.rule_id = name;
	f.rule_name = name ? name : first ? jstr(first, "name") : NULL;
	const char *title = name ? name : short_message;
	if (title && description)
		f.message = keep(owned, &n_owned, ts_asprintf("%s\n\n%s", title, description));
	else
		f.message = title ? title : description;
	f.severity = finding_severity_word(jstr(v, "severity"));
	const char *confidence = jstr(v, "confidence");
	if (confidence)
		f.confidence = keep(owned, &n_owned, finding_lower(ts_strdup(confidence)));

	const json_t *loc = json_object_get(v, "location");
	if (json_is_object(loc)) {
		f.path = keep(owned, &n_owned, finding_path_normalise(NULL, jstr(loc, "file")));
		f.line = jline(loc, "start_line");
		f.end_line = jline(loc, "end_line");
		const char *host = jstr(loc, "hostname");
		const char *upath = jstr(loc, "path");
		if (host)
			f.url =
			    keep(owned, &n_owned, ts_asprintf("%s%s", host, upath ? upath : ""));
		const char *method = jstr(loc, "method");
		/* SAST reports name the enclosing function "method": only DAST's is HTTP */
		if (method && host) {
			char *m = ts_strdup(method);
			for (char *p = m; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			f.method = keep(owned, &n_owned, m);
		}
		f.param = jstr(loc, "param");
		const json_t *dep = json_object_get(loc, "dependency");
		const char *pkg = jstr(json_object_get(dep, "package"), "name");
		const char *pkg_version = jstr(dep, "version");
		if (pkg && pkg_version)
			f.package = keep(owned, &n_owned, ts_asprintf("%s@%s", pkg, pkg_version));
		else
			f.package = pkg;
		f.image = jstr(loc, "image");
	}
	const char *cve = jstr(v, "cve");
	if (cve && !cve_is_identifier(idents, cve))
		f.fingerprint = cve;
	else
		f.fingerprint = jstr(v, "id");
	if (f.fingerprint)
		f.fingerprint_kind = "gitlab";
	f.doc_path = doc_path;

	c->rep->results++;
	int rc = c->cb(c->ud, &f, err);
	for (size_t k = 0; k < n_owned; k++)
		free(owned[k]);
	return rc < 0 ? rc : 0;
}

/* The first pass: the document without its vulnerabilities and the large
 * arrays beside them. */
static int read_head(const struct findings_input *in, struct jstream *head, struct ts_err *err)
{
	/* read and dropped one at a time rather than skipped, so an error
	 * inside one is named with its index */
	jstream_emit(head, "$.vulnerabilities[*]", NULL, NULL);
	jstream_skip(head, "$.remediations");
	jstream_skip(head, "$.dependency_files");
	jstream_skip(head, "$.site"); /* DAST 13.x embeds ZAP's own report */
	jstream_skip(head, "$.spider");
	jstream_skip(head, "$.scan.scanned_resources");
	jstream_skip(head, "$.scan.messages");
	int rc = findings_jstream_run(head, in, err);
	if (rc)
		return rc;
	if (!json_is_object(jstream_root(head)))
		return ts_err_set(err, TS_E_INVALID,
		                  "%s: $: not a JSON object: not a GitLab security report",
		                  in->name);
	return 0;
}

int gitlab_report_parse(const struct findings_input *in, finding_cb cb, void *ud,
                        struct findings_report *rep, struct ts_err *err)
{
	rep->format = FINDINGS_FORMAT_GITLAB;
	snprintf(rep->detail, sizeof(rep->detail), "gitlab");
	struct jstream *head = jstream_new(in->name);
	struct jstream *body = NULL;
	int rc = read_head(in, head, err);
	if (rc)
		goto out;
	const json_t *root = jstream_root(head);
	const json_t *scan = json_object_get(root, "scan");
	const json_t *scanner = json_object_get(scan, "scanner");
	struct gl_ctx c = {
	    .in = in,
	    .cb = cb,
	    .ud = ud,
	    .rep = rep,
	    .scan_type = jstr(scan, "type"),
	    .scanner_name = jstr(scanner, "name"),
	    .scanner_version = jstr(scanner, "version"),
	};
	const char *version = jstr(root, "version");
	snprintf(rep->detail, sizeof(rep->detail), "gitlab%s%.20s%s%.20s", c.scan_type ? " " : "",
	         c.scan_type ? c.scan_type : "", version ? " " : "", version ? version : "");

	body = jstream_new(in->name);
	jstream_emit(body, "$.vulnerabilities[*]", on_vulnerability, &c);
	jstream_skip(body, "$.remediations");
	jstream_skip(body, "$.dependency_files");
	jstream_skip(body, "$.site");
	jstream_skip(body, "$.spider");
	jstream_skip(body, "$.scan");
	rc = findings_jstream_run(body, in, err);
	if (rc)
		goto out;
	const json_t *vulns = json_object_get(jstream_root(body), "vulnerabilities");
	if (!vulns)
		rc = ts_err_set(err, TS_E_INVALID,
		                "%s: $: no vulnerabilities array: not a GitLab security report",
		                in->name);
	else if (!json_is_array(vulns))
		rc = ts_err_set(err, TS_E_INVALID, "%s: $.vulnerabilities: not an array", in->name);
	else /* the report's scanner scanned, with findings or without */
		findings_report_tool(rep, c.scanner_name ? c.scanner_name : "gitlab",
		                     c.scanner_version);
out:
	jstream_free(body);
	jstream_free(head);
	return rc;
}
