/* SPDX-License-Identifier: Apache-2.0 */
/* Semgrep's JSON output (semgrep --json): results[] streamed one at a time.
 * The top-level version may follow the results, so a first pass reads the
 * document without them. errors[] are the scan's own problems, not findings. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings_internal.h"
#include "engine/findings/jstream.h"

/* What Semgrep writes for fingerprint and lines when not logged in. */
#define SEMGREP_NO_LOGIN "requires login"

struct sg_ctx {
	const struct findings_input *in;
	finding_cb cb;
	void *ud;
	struct findings_report *rep;
	const char *version; /* borrowed from the first pass's document */
};

static const char *jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : NULL;
}

/* A string that Semgrep may replace by "requires login": absent then. */
static const char *jstr_login(const json_t *obj, const char *key)
{
	const char *s = jstr(obj, key);
	return s && strcmp(s, SEMGREP_NO_LOGIN) != 0 ? s : NULL;
}

static int jline(const json_t *pos)
{
	const json_t *v = json_object_get(pos, "line");
	if (!json_is_integer(v))
		return 0;
	json_int_t n = json_integer_value(v);
	return n > 0 && n <= INT_MAX ? (int)n : 0;
}

/* ERROR, WARNING, INFO (INFO is a finding of low severity, not a note), and
 * the newer CRITICAL, HIGH, MEDIUM, LOW. */
static const char *severity_of(const char *s)
{
	if (s && strcasecmp(s, "info") == 0)
		return "low";
	return finding_severity_word(s);
}

static int on_result(void *ud, json_t *r, const char *doc_path, const size_t *idx, size_t n_idx,
                     struct ts_err *err)
{
	(void)idx;
	(void)n_idx;
	struct sg_ctx *c = ud;
	if (!json_is_object(r))
		return ts_err_set(err, TS_E_INVALID, "%s: %s: a result is not a JSON object",
		                  c->in->name, doc_path);
	const json_t *extra = json_object_get(r, "extra");
	const json_t *meta = json_object_get(extra, "metadata");
	struct finding f = {0};
	f.tool = "semgrep";
	f.tool_version = c->version;
	f.category = "sast";
	f.rule_id = jstr(r, "check_id");
	if (f.rule_id) {
		/* the rule's own name: the last part of its dotted id */
		const char *dot = strrchr(f.rule_id, '.');
		f.rule_name = dot && dot[1] ? dot + 1 : f.rule_id;
	}
	f.message = jstr(extra, "message");
	finding_add_cwe_json(&f, json_object_get(meta, "cwe"), false);
	f.severity = severity_of(jstr(extra, "severity"));
	char *confidence = ts_strdup(jstr(meta, "confidence"));
	f.confidence = finding_lower(confidence);
	char *path = finding_path_normalise(NULL, jstr(r, "path"));
	f.path = path;
	f.line = jline(json_object_get(r, "start"));
	f.end_line = jline(json_object_get(r, "end"));
	f.snippet = jstr_login(extra, "lines");
	f.fingerprint = jstr_login(extra, "fingerprint");
	if (f.fingerprint)
		f.fingerprint_kind = "semgrep";
	f.doc_path = doc_path;
	c->rep->results++;
	int rc = c->cb(c->ud, &f, err);
	free(path);
	free(confidence);
	return rc < 0 ? rc : 0;
}

int semgrep_parse(const struct findings_input *in, finding_cb cb, void *ud,
                  struct findings_report *rep, struct ts_err *err)
{
	rep->format = FINDINGS_FORMAT_SEMGREP;
	snprintf(rep->detail, sizeof(rep->detail), "semgrep");
	struct jstream *head = jstream_new(in->name);
	struct jstream *body = NULL;
	/* results are read and dropped one at a time rather than skipped, so an
	 * error inside one is named with its index */
	jstream_emit(head, "$.results[*]", NULL, NULL);
	jstream_skip(head, "$.errors");
	jstream_skip(head, "$.paths");
	jstream_skip(head, "$.skipped_rules");
	int rc = findings_jstream_run(head, in, err);
	if (rc)
		goto out;
	const json_t *root = jstream_root(head);
	if (!json_is_object(root)) {
		rc = ts_err_set(err, TS_E_INVALID, "%s: $: not a JSON object: not a Semgrep report",
		                in->name);
		goto out;
	}
	struct sg_ctx c = {
	    .in = in, .cb = cb, .ud = ud, .rep = rep, .version = jstr(root, "version")};
	if (c.version)
		snprintf(rep->detail, sizeof(rep->detail), "semgrep %.40s", c.version);

	body = jstream_new(in->name);
	jstream_emit(body, "$.results[*]", on_result, &c);
	jstream_skip(body, "$.errors");
	jstream_skip(body, "$.paths");
	jstream_skip(body, "$.skipped_rules");
	rc = findings_jstream_run(body, in, err);
	if (rc)
		goto out;
	const json_t *results = json_object_get(jstream_root(body), "results");
	if (!results)
		rc = ts_err_set(err, TS_E_INVALID, "%s: $: no results array: not a Semgrep report",
		                in->name);
	else if (!json_is_array(results))
		rc = ts_err_set(err, TS_E_INVALID, "%s: $.results: not an array", in->name);
out:
	jstream_free(body);
	jstream_free(head);
	return rc;
}
