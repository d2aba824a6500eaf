/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the Jira connector against tests/emulators/jira_emulator.py (Cloud
 * and Data Center): the exact requests sent, ADF and wiki bodies, ownership of
 * fields, transitions, index lag, paging, time zones and faults.
 * Timing-bound cases (Retry-After, index lag): TS_NO_VALGRIND. */
#include "connectors/jira.h"
#include "connectors/jira_internal.h"
#include "connectors/render.h"
#include "connectors/ticket_doc.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MARKER "threatsync-0123456789abcdef"

static const char sample_body[] =
    "{\"requirement\": \"As a developer I encode output. See [the cheat "
    "sheet](https://example.org/xss) or https://example.org/more.\","
    " \"how_to\": [{\"stack\": \"aspnetcore\", \"text\": \"Razor encodes `@value` by "
    "default:\\n\\n```csharp\\nvar clean = new HtmlSanitizer().Sanitize(input);\\n```\"},"
    " {\"stack\": \"generic\", \"text\": \"- Encode for HTML\\n- Encode for JS\"}],"
    " \"acceptance_test\": \"Submit `<svg onload=alert(1)>` and check it is shown literally.\","
    " \"training\": [{\"title\": \"OWASP XSS Cheat Sheet\", \"url\": "
    "\"https://cheatsheetseries.owasp.org/x.html\"}],"
    " \"compliance\": {\"owasp-asvs\": [\"5.3.1\", \"5.3.3\"], \"nist-800-53\": [\"SI-10\"]},"
    " \"threats\": [{\"uid\": \"T-XSS@web\", \"title\": \"Cross-site scripting\", \"cwe\": [79, "
    "80], \"severity\": \"high\"}],"
    " \"component\": {\"id\": \"web\", \"name\": \"Web frontend\", \"type\": \"web_app\"}}";

struct sample {
	json_t *body;
	json_t *cwe_names;
	const char *labels[3];
	struct ticket_spec t;
};

static void sample_init(struct sample *s, const char *marker)
{
	json_error_t jerr;
	s->body = json_loads(sample_body, 0, &jerr);
	assert_non_null(s->body);
	s->cwe_names =
	    json_pack("{s:s}", "79", "Improper Neutralization of Input During Web Page Generation");
	s->labels[0] = "project label";
	s->labels[1] = "threatsync";
	s->labels[2] = NULL;
	struct ticket_spec t = {
	    .tracker_project = "SEC",
	    .marker = marker,
	    .summary = "Encode output\nfor its context",
	    .body = s->body,
	    .cwe_names = s->cwe_names,
	    .project_slug = "widgets",
	    .cm_uid = "C-OUTPUT-ENCODING@web",
	    .model_version = 3,
	    .priority = 1,
	    .severity = "high",
	    .due_date = "2026-12-31",
	    .link_back = "https://threatsync.example/p/widgets/C-OUTPUT-ENCODING",
	    .labels = s->labels,
	};
	s->t = t;
}

static void sample_free(struct sample *s)
{
	json_decref(s->body);
	json_decref(s->cwe_names);
}

/* ---- small JSON helpers ---- */

static json_t *rec_body(json_t *rec)
{
	json_error_t jerr;
	json_t *b = json_loads(json_string_value(json_object_get(rec, "body")), 0, &jerr);
	assert_non_null(b);
	return b;
}

static const char *rec_header(json_t *rec, const char *name)
{
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(rec, "headers"), k, v) {
		if (strcasecmp(k, name) == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* Concatenated text of every ADF text node under node. */
static void adf_text(const json_t *node, struct ts_buf *out)
{
	const char *t = json_string_value(json_object_get(node, "text"));
	if (t)
		ts_buf_puts(out, t);
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(node, "content"), i, c)
		adf_text(c, out);
}

/* Number of nodes of type under node; *ret_first gets the first one. */
static int adf_count(const json_t *node, const char *type, const json_t **ret_first)
{
	int n = 0;
	const char *t = json_string_value(json_object_get(node, "type"));
	if (t && strcmp(t, type) == 0) {
		n++;
		if (ret_first && !*ret_first)
			*ret_first = node;
	}
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(node, "content"), i, c)
		n += adf_count(c, type, ret_first);
	return n;
}

/* Whether some text node under node has a mark of type (and href when given). */
static bool adf_has_mark(const json_t *node, const char *type, const char *href)
{
	size_t i;
	json_t *m, *c;
	json_array_foreach (json_object_get(node, "marks"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "type")), type) == 0 &&
		    (!href ||
		     strcmp(json_string_value(json_object_get(json_object_get(m, "attrs"), "href")),
		            href) == 0))
			return true;
	}
	json_array_foreach (json_object_get(node, "content"), i, c)
		if (adf_has_mark(c, type, href))
			return true;
	return false;
}

static bool json_array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v)
		if (json_string_value(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static json_t *emu_issue(struct ju_emu *e, const char *key)
{
	char *path = ts_asprintf("/_emu/issues/%s", key);
	long st;
	json_t *j = ju_emu_call(e, "GET", path, NULL, &st);
	assert_int_equal(st, 200);
	free(path);
	return j;
}

static void emu_post(struct ju_emu *e, const char *path, const char *body)
{
	long st;
	json_t *j = ju_emu_call(e, "POST", path, body, &st);
	if (st < 200 || st >= 300)
		fail_msg("POST %s: HTTP %ld", path, st);
	json_decref(j);
}

/* Runs create and expects OK; returns the key (caller frees). */
static char *do_create(struct ju_ctx *x, const struct ticket_spec *t)
{
	struct ju_result res = {0};
	jira_connector_ops.create(x->conn, t, ju_cb, &res);
	ju_wait(x, &res, 20000);
	if (res.r.status != CONNECTOR_OK)
		fail_msg("create: status %d: %s", res.r.status, res.r.error);
	char *key = ts_strdup(res.r.issue.key);
	assert_non_null(key);
	ju_result_clear(&res);
	return key;
}

/* ---- rendering, without network ---- */

/* The reference ADF of one block, built as a tree (the oracle for the
 * text writer in connectors/render_adf.c). */
static json_t *ref_inline(const struct ticket_block *k)
{
	static const char *const mark[] = {NULL, "code", "link", "strong"};
	json_t *content = json_array();
	for (size_t i = 0; i < k->n_spans; i++) {
		const struct ticket_span *sp = &k->spans[i];
		if (!sp->text[0])
			continue;
		json_t *n = json_pack("{s:s, s:s}", "type", "text", "text", sp->text);
		if (sp->kind == TICKET_SPAN_LINK)
			json_object_set_new(n, "marks",
			                    json_pack("[{s:s, s:{s:s}}]", "type", "link", "attrs",
			                              "href", sp->href));
		else if (mark[sp->kind])
			json_object_set_new(n, "marks",
			                    json_pack("[{s:s}]", "type", mark[sp->kind]));
		json_array_append_new(content, n);
	}
	return content;
}

static json_t *ref_adf(const struct ticket_doc *d)
{
	json_t *content = json_array(), *list = NULL;
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct ticket_block *k = &d->blocks[i];
		json_t *para =
		    json_pack("{s:s, s:o}", "type", "paragraph", "content", ref_inline(k));
		if (k->kind == TICKET_BLOCK_BULLET) {
			if (!list) {
				json_t *bl =
				    json_pack("{s:s, s:[]}", "type", "bulletList", "content");
				list = json_object_get(bl, "content");
				json_array_append_new(content, bl);
			}
			json_array_append_new(
			    list, json_pack("{s:s, s:[o]}", "type", "listItem", "content", para));
			continue;
		}
		list = NULL;
		json_t *n = para;
		if (k->kind == TICKET_BLOCK_HEADING) {
			json_decref(para);
			n = json_pack("{s:s, s:{s:i}, s:o}", "type", "heading", "attrs", "level",
			              k->level, "content", ref_inline(k));
		} else if (k->kind == TICKET_BLOCK_CODE) {
			json_decref(para);
			n = json_pack("{s:s, s:[]}", "type", "codeBlock", "content");
			if (k->code && k->code[0])
				json_array_append_new(
				    json_object_get(n, "content"),
				    json_pack("{s:s, s:s}", "type", "text", "text", k->code));
			if (k->lang)
				json_object_set_new(n, "attrs",
				                    json_pack("{s:s}", "language", k->lang));
		}
		json_array_append_new(content, n);
	}
	return json_pack("{s:s, s:i, s:o}", "type", "doc", "version", 1, "content", content);
}

/* The ADF writer gives, byte for byte, jansson's sorted compact dump of the
 * same document, escapes included: the content hash depends on it. */
static void test_adf_writer(void **state)
{
	(void)state;
	char ctl[40];
	for (int i = 1; i < 32; i++)
		ctl[i - 1] = (char)i;
	ctl[31] = '\0';
	struct ticket_span spans[] = {
	    {TICKET_SPAN_TEXT, "plain \"quoted\" back\\slash /slash", NULL},
	    {TICKET_SPAN_BOLD, "Severity:", NULL},
	    {TICKET_SPAN_CODE, ctl, NULL},
	    {TICKET_SPAN_TEXT, "", NULL},
	    {TICKET_SPAN_LINK, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92 \x7f",
	     "https://example.com/?a=1&b=\"2\""},
	};
	struct ticket_span one[] = {{TICKET_SPAN_TEXT, "item", NULL}};
	struct ticket_block blocks[] = {
	    {TICKET_BLOCK_BULLET, 0, NULL, NULL, one, 1},
	    {TICKET_BLOCK_HEADING, 3, NULL, NULL, spans, 2},
	    {TICKET_BLOCK_PARAGRAPH, 0, NULL, NULL, spans, TS_ARRAY_SIZE(spans)},
	    {TICKET_BLOCK_BULLET, 0, NULL, NULL, spans, 3},
	    {TICKET_BLOCK_BULLET, 0, NULL, NULL, one, 1},
	    {TICKET_BLOCK_CODE, 0, "c#", "if (a < b)\n\tx = \"\\n\";\n", NULL, 0},
	    {TICKET_BLOCK_CODE, 0, NULL, "", NULL, 0},
	    {TICKET_BLOCK_PARAGRAPH, 0, NULL, NULL, NULL, 0},
	    {TICKET_BLOCK_BULLET, 0, NULL, NULL, one, 1},
	};
	struct ticket_doc d = {blocks, TS_ARRAY_SIZE(blocks)};
	json_t *ref = ref_adf(&d);
	char *want = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS);
	char *got = render_adf(&d);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(ref);

	struct ticket_doc empty = {NULL, 0};
	got = render_adf(&empty);
	assert_string_equal(got, "{\"content\":[],\"type\":\"doc\",\"version\":1}");
	free(got);
	/* A byte that is not UTF-8 becomes U+FFFD; the document stays valid. */
	struct ticket_span bad[] = {{TICKET_SPAN_TEXT, "a\xff\xc3(b", NULL}};
	struct ticket_block bb = {TICKET_BLOCK_PARAGRAPH, 0, NULL, NULL, bad, 1};
	struct ticket_doc bd = {&bb, 1};
	json_t *parsed = render_adf_json(&bd);
	assert_non_null(parsed);
	char *dump = json_dumps(parsed, JSON_COMPACT);
	assert_non_null(strstr(dump, "a\xef\xbf\xbd\xef\xbf\xbd(b"));
	free(dump);
	json_decref(parsed);
}

static void test_render(void **state)
{
	struct sample s;
	sample_init(&s, MARKER);
	struct ticket_doc d = {0};
	ticket_doc_build(&d, &s.t);
	json_t *adf = render_adf_json(&d);
	/* Keys are inserted in sorted order: the plain dump is the canonical
	 * one the content hash needs (connectors/jira.c dumps it once). */
	char *plain = json_dumps(adf, JSON_COMPACT);
	char *sorted = json_dumps(adf, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(plain, sorted);
	free(plain);
	free(sorted);
	assert_true(adf_has_mark(adf, "link", NULL));
	const json_t *code = NULL;
	assert_int_equal(adf_count(adf, "codeBlock", &code), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(code, "attrs"), "language")),
	    "csharp");
	struct ts_buf txt = {0};
	adf_text(code, &txt);
	assert_string_equal(txt.data, "var clean = new HtmlSanitizer().Sanitize(input);");
	ts_buf_free(&txt);
	assert_true(adf_count(adf, "heading", NULL) >= 8);
	assert_int_equal(adf_count(adf, "bulletList", NULL), 4);
	assert_true(adf_has_mark(adf, "code", NULL));
	assert_true(adf_has_mark(adf, "link", "https://example.org/xss"));
	assert_true(adf_has_mark(adf, "link", "https://example.org/more"));
	assert_true(adf_has_mark(adf, "link", "https://cwe.mitre.org/data/definitions/79.html"));
	adf_text(adf, &txt);
	assert_non_null(strstr(txt.data, "Improper Neutralization of Input"));
	assert_non_null(strstr(txt.data, "owasp-asvs: 5.3.1, 5.3.3"));
	assert_non_null(strstr(txt.data, "model version 3"));
	assert_null(strstr(txt.data, "```"));
	ts_buf_free(&txt);
	json_decref(adf);

	char *wiki = render_wiki(&d);
	assert_non_null(strstr(wiki, "h3. Requirement\n"));
	assert_non_null(strstr(wiki, "h4. aspnetcore\n"));
	assert_non_null(strstr(wiki, "{code:csharp}\nvar clean = new "
	                             "HtmlSanitizer().Sanitize(input);\n{code}"));
	assert_non_null(strstr(wiki, "{{@value}}"));
	assert_non_null(strstr(wiki, "[the cheat sheet|https://example.org/xss]"));
	assert_non_null(strstr(wiki, "* Encode for HTML\n* Encode for JS"));
	assert_non_null(strstr(wiki, "[CWE-79|https://cwe.mitre.org/data/definitions/79.html]"));
	free(wiki);
	ticket_doc_clear(&d);
	sample_free(&s);

	char *q = jira_jql_quote("a \"b\" \\c");
	assert_string_equal(q, "\"a \\\"b\\\" \\\\c\"");
	free(q);
	q = jira_url_escape("labels = \"x y\"&");
	assert_string_equal(q, "labels%20%3D%20%22x%20y%22%26");
	free(q);
}

static void test_timezones(void **state)
{
	struct jira_tz *tz = NULL;
	char out[32];
	/* 2026-07-01T12:34:56Z and 2026-01-15T23:59:00Z */
	const int64_t summer = 1782909296000LL, winter = 1768521540000LL;
	assert_int_equal(jira_tz_load("Etc/GMT-1", &tz), 0);
	assert_int_equal(jira_tz_offset(tz, summer / 1000), 3600);
	jira_jql_time(tz, winter, out);
	assert_string_equal(out, "2026-01-16 00:59");
	jira_tz_free(tz);
	assert_int_equal(jira_tz_load("Europe/Berlin", &tz), 0);
	assert_int_equal(jira_tz_offset(tz, summer / 1000), 7200);
	assert_int_equal(jira_tz_offset(tz, winter / 1000), 3600);
	jira_tz_free(tz);
	assert_int_equal(jira_tz_load("GMT+05:30", &tz), 0);
	jira_jql_time(tz, summer, out);
	assert_string_equal(out, "2026-07-01 18:04");
	jira_tz_free(tz);
	assert_int_equal(jira_tz_load("UTC", &tz), 0);
	jira_jql_time(tz, summer, out);
	assert_string_equal(out, "2026-07-01 12:34");
	jira_tz_free(tz);
	jira_jql_time(NULL, summer, out);
	assert_string_equal(out, "2026-07-01 12:34");
	assert_int_equal(jira_tz_load("../etc/passwd", &tz), -EINVAL);
	assert_int_equal(jira_tz_load("No/Such_Zone", &tz), -ENOENT);
}

/* ---- create ---- */

static void test_create_cloud(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	struct ju_result res = {0};
	jira_connector_ops.create(x.conn, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_string_equal(res.r.error, "");
	assert_string_equal(res.r.issue.key, "SEC-1");
	assert_non_null(res.r.issue.id);
	char *url = ts_asprintf("%s/browse/SEC-1", e.base);
	assert_string_equal(res.r.issue.url, url);
	free(url);
	assert_string_equal(res.r.issue.marker, MARKER);
	assert_non_null(res.r.issue.content_hash);

	/* One request: the issue property travels in the create body. */
	json_t *reqs = ju_requests(&e);
	assert_int_equal(json_array_size(reqs), 1);
	json_t *post = json_array_get(reqs, 0);
	assert_string_equal(json_string_value(json_object_get(post, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(post, "path")), "/rest/api/3/issue");
	assert_string_equal(rec_header(post, "Authorization"), "Basic");
	assert_int_equal(json_integer_value(json_object_get(post, "status")), 201);
	json_t *b = rec_body(post);
	json_t *f = json_object_get(b, "fields");
	assert_int_equal(json_object_size(b), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "project"), "key")), "SEC");
	assert_string_equal(json_string_value(json_object_get(f, "summary")),
	                    "Encode output for its context");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "issuetype"), "name")), "Task");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "priority"), "name")), "Highest");
	assert_string_equal(json_string_value(json_object_get(f, "duedate")), "2026-12-31");
	json_t *labels = json_object_get(f, "labels");
	assert_int_equal(json_array_size(labels), 5);
	assert_string_equal(json_string_value(json_array_get(labels, 0)), "threatsync");
	assert_string_equal(json_string_value(json_array_get(labels, 1)), MARKER);
	assert_true(json_array_has(labels, "team-sec"));
	assert_true(json_array_has(labels, "appsec"));
	assert_true(json_array_has(labels, "project-label"));
	json_t *desc = json_object_get(f, "description");
	assert_string_equal(json_string_value(json_object_get(desc, "type")), "doc");
	assert_int_equal(json_integer_value(json_object_get(desc, "version")), 1);
	struct ts_buf txt = {0};
	adf_text(desc, &txt);
	const char *sections[] = {"Requirement",
	                          "How to",
	                          "aspnetcore",
	                          "Acceptance test",
	                          "Training",
	                          "Threats",
	                          "Compliance controls",
	                          "Component",
	                          "Cross-site scripting",
	                          "CWE-79",
	                          "Improper Neutralization",
	                          "SI-10",
	                          "Web frontend",
	                          MARKER,
	                          "https://threatsync.example/p/widgets/C-OUTPUT-ENCODING"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(sections); i++)
		if (!strstr(txt.data, sections[i]))
			fail_msg("description lacks '%s'", sections[i]);
	ts_buf_free(&txt);
	assert_int_equal(adf_count(desc, "codeBlock", NULL), 1);
	/* The content hash is over {"description", "summary"}, compact with
	 * sorted keys: what reconciliation compares with. */
	json_t *hashed =
	    json_pack("{s:O, s:O}", "summary", json_object_get(f, "summary"), "description", desc);
	char *canon = json_dumps(hashed, JSON_COMPACT | JSON_SORT_KEYS);
	char want[65];
	ts_sha256_hex(canon, strlen(canon), want);
	assert_string_equal(res.r.issue.content_hash, want);
	free(canon);
	json_decref(hashed);
	json_t *props = json_object_get(b, "properties");
	assert_int_equal(json_array_size(props), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(props, 0), "key")),
	                    "threatsync");
	json_t *pv = json_object_get(json_array_get(props, 0), "value");
	assert_string_equal(json_string_value(json_object_get(pv, "marker")), MARKER);
	assert_string_equal(json_string_value(json_object_get(pv, "cm_uid")),
	                    "C-OUTPUT-ENCODING@web");
	assert_string_equal(json_string_value(json_object_get(pv, "content_hash")),
	                    res.r.issue.content_hash);
	json_decref(b);
	json_decref(reqs);

	/* The emulator stored it as Jira does: readable at /properties/threatsync. */
	json_t *iss = emu_issue(&e, "SEC-1");
	assert_true(json_array_has(json_object_get(iss, "labels"), MARKER));
	json_t *stored = json_object_get(json_object_get(iss, "properties"), "threatsync");
	assert_string_equal(json_string_value(json_object_get(stored, "marker")), MARKER);
	assert_string_equal(json_string_value(json_object_get(stored, "content_hash")),
	                    res.r.issue.content_hash);
	json_decref(iss);
	ju_result_clear(&res);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

static void test_create_datacenter(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "datacenter", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_DATACENTER, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	s.t.priority = 3;
	s.t.due_date = NULL;
	char *key = do_create(&x, &s.t);
	assert_string_equal(key, "SEC-1");
	json_t *posts = ju_requests_for(&e, "POST", "/rest/api/");
	assert_int_equal(json_array_size(posts), 1);
	json_t *post = json_array_get(posts, 0);
	assert_string_equal(json_string_value(json_object_get(post, "path")), "/rest/api/2/issue");
	assert_string_equal(rec_header(post, "Authorization"), "Bearer");
	json_t *b = rec_body(post);
	json_t *f = json_object_get(b, "fields");
	const char *desc = json_string_value(json_object_get(f, "description"));
	assert_non_null(desc);
	assert_non_null(strstr(desc, "h3. Requirement"));
	assert_non_null(strstr(desc, "{code:csharp}"));
	assert_non_null(strstr(desc, "* Encode for HTML"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f, "priority"), "name")), "Medium");
	assert_null(json_object_get(f, "duedate"));
	json_decref(b);
	json_decref(posts);
	json_t *none = ju_requests_for(&e, NULL, "/rest/api/3/");
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

static void test_create_errors(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	s.t.tracker_project = "NOPE";
	struct ju_result res = {0};
	jira_connector_ops.create(x.conn, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_NO_SCOPE);
	assert_int_equal(res.r.http_status, 400);
	assert_non_null(strstr(res.r.error, "project: Specify a valid project ID or key"));
	assert_non_null(strstr(res.r.error, "jira-test"));
	ju_result_clear(&res);
	ju_close(&x);

	/* A wrong token: DENIED, a message about the token, never the token. */
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, "not-the-token-s3cr3t");
	s.t.tracker_project = "SEC";
	jira_connector_ops.create(x.conn, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_DENIED);
	assert_int_equal(res.r.http_status, 401);
	assert_non_null(strstr(res.r.error, "token"));
	assert_null(strstr(res.r.error, "s3cr3t"));
	ju_result_clear(&res);
	json_t *all = ju_requests(&e);
	char *dump = json_dumps(all, 0);
	assert_null(strstr(dump, "s3cr3t"));
	assert_null(strstr(dump, "emu-token"));
	free(dump);
	json_decref(all);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* ---- update ---- */

static void test_update_keeps_human_fields(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	char *key = do_create(&x, &s.t);
	emu_post(&e, "/_emu/issues/SEC-1/edit",
	         "{\"fields\": {\"labels\": [\"threatsync\", \"" MARKER "\", \"human-label\"],"
	         " \"priority\": {\"name\": \"Low\"}, \"duedate\": \"2027-03-01\"},"
	         " \"actor\": \"bob\"}");
	ju_emu_call(&e, "DELETE", "/_emu/requests", NULL, NULL);

	s.t.summary = "Encode all output";
	json_object_set_new(s.body, "requirement", json_string("New requirement text."));
	struct ju_result res = {0};
	jira_connector_ops.update(x.conn, key, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_string_equal(res.r.issue.key, "SEC-1");
	char *hash = ts_strdup(res.r.issue.content_hash);
	ju_result_clear(&res);

	json_t *puts = ju_requests_for(&e, "PUT", "/rest/api/3/issue/SEC-1");
	assert_int_equal(json_array_size(puts), 1);
	json_t *put = json_array_get(puts, 0);
	assert_string_equal(json_string_value(json_object_get(put, "path")),
	                    "/rest/api/3/issue/SEC-1");
	json_t *b = rec_body(put);
	json_t *f = json_object_get(b, "fields");
	assert_int_equal(json_object_size(f), 2);
	assert_non_null(json_object_get(f, "summary"));
	assert_non_null(json_object_get(f, "description"));
	json_t *uprops = json_object_get(b, "properties");
	assert_int_equal(json_array_size(uprops), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(json_array_get(uprops, 0), "value"),
	                                      "content_hash")),
	    hash);
	free(hash);
	json_t *ops = json_object_get(json_object_get(b, "update"), "labels");
	assert_true(json_array_size(ops) >= 2);
	size_t i;
	json_t *op;
	json_array_foreach (ops, i, op) {
		assert_int_equal(json_object_size(op), 1);
		assert_non_null(json_object_get(op, "add"));
	}
	json_decref(b);
	json_decref(puts);

	json_t *iss = emu_issue(&e, "SEC-1");
	char *dump = json_dumps(iss, 0);
	assert_non_null(strstr(dump, "human-label"));
	assert_non_null(strstr(dump, "team-sec"));
	assert_non_null(strstr(dump, "Encode all output"));
	assert_non_null(strstr(dump, "New requirement text."));
	assert_non_null(strstr(dump, "2027-03-01"));
	free(dump);
	json_decref(iss);
	/* The priority a human set survives (GET through the API: names). */
	long st;
	json_t *got = ju_emu_call(&e, "GET", "/_emu/issues/SEC-1", NULL, &st);
	json_t *pr = json_object_get(got, "priority");
	const char *prname = json_is_object(pr) ? json_string_value(json_object_get(pr, "name"))
	                                        : json_string_value(pr);
	assert_non_null(prname);
	assert_true(strcmp(prname, "Low") == 0 || strcmp(prname, "4") == 0);
	json_decref(got);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* ---- set_state and comment ---- */

static void set_state(struct ju_ctx *x, const char *key, enum connector_state want,
                      const char *reason, struct ju_result *res)
{
	jira_connector_ops.set_state(x->conn, key, want, reason, ju_cb, res);
	ju_wait(x, res, 20000);
}

static void test_set_state(void **state)
{
	const char *flavors[] = {"cloud", "datacenter"};
	for (int fl = 0; fl < 2; fl++) {
		bool cloud = fl == 0;
		struct ju_emu e;
		ju_emu_start(&e, flavors[fl], NULL);
		struct ju_ctx x;
		ju_open(&x, &e, cloud ? CONFIG_JIRA_CLOUD : CONFIG_JIRA_DATACENTER, NULL);
		struct sample s;
		sample_init(&s, MARKER);
		char *key = do_create(&x, &s.t);
		const char *tpath = cloud ? "/rest/api/3/issue/SEC-1/transitions"
		                          : "/rest/api/2/issue/SEC-1/transitions";

		struct ju_result res = {0};
		set_state(&x, key, CONNECTOR_STATE_CLOSED, "The threat no longer applies.", &res);
		assert_int_equal(res.r.status, CONNECTOR_OK);
		assert_string_equal(res.r.issue.status, "Done");
		assert_string_equal(res.r.issue.status_category, "done");
		ju_result_clear(&res);
		json_t *posts = ju_requests_for(&e, "POST", tpath);
		assert_int_equal(json_array_size(posts), 1);
		json_t *b = rec_body(json_array_get(posts, 0));
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(b, "transition"), "id")),
		    "31");
		json_t *cbody = json_object_get(
		    json_object_get(
		        json_array_get(json_object_get(json_object_get(b, "update"), "comment"), 0),
		        "add"),
		    "body");
		if (cloud)
			assert_string_equal(json_string_value(json_object_get(cbody, "type")),
			                    "doc");
		else
			assert_string_equal(json_string_value(cbody),
			                    "The threat no longer applies.");
		json_decref(b);
		json_decref(posts);
		json_t *iss = emu_issue(&e, "SEC-1");
		char *dump = json_dumps(iss, 0);
		assert_non_null(strstr(dump, "The threat no longer applies."));
		free(dump);
		json_decref(iss);

		/* Already done: no write. */
		set_state(&x, key, CONNECTOR_STATE_CLOSED, NULL, &res);
		assert_int_equal(res.r.status, CONNECTOR_OK);
		ju_result_clear(&res);
		posts = ju_requests_for(&e, "POST", tpath);
		assert_int_equal(json_array_size(posts), 1);
		json_decref(posts);

		set_state(&x, key, CONNECTOR_STATE_OPEN, "Verification failed: CWE-79 found again.",
		          &res);
		assert_int_equal(res.r.status, CONNECTOR_OK);
		assert_string_equal(res.r.issue.status, "To Do");
		assert_string_equal(res.r.issue.status_category, "new");
		ju_result_clear(&res);
		posts = ju_requests_for(&e, "POST", tpath);
		assert_int_equal(json_array_size(posts), 2);
		b = rec_body(json_array_get(posts, 1));
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(b, "transition"), "id")),
		    "11");
		json_decref(b);
		json_decref(posts);

		/* A human moved it to In Progress: reopening is a no-op. */
		emu_post(&e, "/_emu/issues/SEC-1/transition", "{\"to\": \"In Progress\"}");
		set_state(&x, key, CONNECTOR_STATE_OPEN, NULL, &res);
		assert_int_equal(res.r.status, CONNECTOR_OK);
		assert_string_equal(res.r.issue.status_category, "indeterminate");
		ju_result_clear(&res);
		posts = ju_requests_for(&e, "POST", tpath);
		assert_int_equal(json_array_size(posts), 2);
		json_decref(posts);

		/* Comment: ADF on Cloud, a string on Data Center. */
		jira_connector_ops.comment(x.conn, key, "Verified by `semgrep`: passed.", ju_cb,
		                           &res);
		ju_wait(&x, &res, 20000);
		assert_int_equal(res.r.status, CONNECTOR_OK);
		ju_result_clear(&res);
		posts = ju_requests_for(&e, "POST",
		                        cloud ? "/rest/api/3/issue/SEC-1/comment"
		                              : "/rest/api/2/issue/SEC-1/comment");
		assert_int_equal(json_array_size(posts), 1);
		b = rec_body(json_array_get(posts, 0));
		json_t *body = json_object_get(b, "body");
		if (cloud) {
			assert_string_equal(json_string_value(json_object_get(body, "type")),
			                    "doc");
			assert_true(adf_has_mark(body, "code", NULL));
		} else {
			assert_string_equal(json_string_value(body),
			                    "Verified by {{semgrep}}: passed.");
		}
		json_decref(b);
		json_decref(posts);
		free(key);
		sample_free(&s);
		ju_close(&x);
		ju_emu_stop(&e);
	}
}

static void test_transition_requires_field(void **state)
{
	struct ju_emu e;
	const char *args[] = {"--transition-requires", "31:resolution", NULL};
	ju_emu_start(&e, "cloud", args);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	char *key = do_create(&x, &s.t);
	struct ju_result res = {0};
	set_state(&x, key, CONNECTOR_STATE_CLOSED, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_FAILED);
	assert_int_equal(res.r.http_status, 400);
	assert_non_null(strstr(res.r.error, "resolution: Resolution is required."));
	ju_result_clear(&res);

	/* No transition leads to the configured reopen status: the one into
	 * its category (new) is taken. */
	free(x.cfg.reopen_status);
	x.cfg.reopen_status = ts_strdup("Backlog");
	emu_post(&e, "/_emu/issues/SEC-1/transition", "{\"to\": \"Done\"}");
	emu_post(&e, "/_emu/issues/SEC-1/transition", "{\"to\": \"Won't Do\"}");
	set_state(&x, key, CONNECTOR_STATE_OPEN, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_string_equal(res.r.issue.status, "To Do");
	ju_result_clear(&res);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* The workflow offers the API user no transition into a done status (a
 * condition, a missing permission): closing fails with a message naming the
 * transitions there are, and nothing is posted. */
static void test_no_transition_to_done(void **state)
{
	struct ju_emu e;
	const char *args[] = {"--hidden-transitions", "31,41", NULL};
	ju_emu_start(&e, "cloud", args);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	char *key = do_create(&x, &s.t);
	ju_emu_call(&e, "DELETE", "/_emu/requests", NULL, NULL);
	struct ju_result res = {0};
	set_state(&x, key, CONNECTOR_STATE_CLOSED, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_FAILED);
	assert_non_null(strstr(res.r.error, "no transition of SEC-1 leads to status"));
	assert_non_null(strstr(res.r.error, "category 'done'"));
	assert_non_null(strstr(res.r.error, "available: 21 'In Progress' -> In Progress"));
	ju_result_clear(&res);
	json_t *posts = ju_requests_for(&e, "POST", "/rest/api/3/issue/SEC-1/transitions");
	assert_int_equal(json_array_size(posts), 0);
	json_decref(posts);
	json_t *iss = emu_issue(&e, "SEC-1");
	assert_string_equal(json_string_value(json_object_get(iss, "status")), "To Do");
	json_decref(iss);
	/* Reopening is still possible where a transition exists. */
	set_state(&x, key, CONNECTOR_STATE_OPEN, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	ju_result_clear(&res);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* ---- HTTPS and proxies ---- */

static void tls_emu_start(struct ju_emu *e)
{
	char *cert = ju_tls_file("server.pem"), *key = ju_tls_file("server.key");
	const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
	ju_emu_start(e, "cloud", args);
	free(cert);
	free(key);
	assert_int_equal(strncmp(e->base, "https://", 8), 0);
}

/* Creates the sample through a connector with ca_bundle and proxy; returns
 * the result (cleared by the caller). */
static void create_via(struct ju_emu *e, const char *ca_bundle, const char *proxy,
                       struct ju_result *res)
{
	struct ju_ctx x;
	ju_open_via(&x, e, ca_bundle, proxy);
	struct sample s;
	sample_init(&s, MARKER);
	jira_connector_ops.create(x.conn, &s.t, ju_cb, res);
	ju_wait(&x, res, 20000);
	sample_free(&s);
	ju_close(&x);
}

/* TLS verification is always on: the emulator's certificate is trusted
 * through the configured CA bundle only; with the system CAs or another CA
 * the connection is refused before anything is sent, with a message that
 * says why. */
static void test_https(void **state)
{
	struct ju_emu e;
	tls_emu_start(&e);
	char *ca = ju_tls_file("ca.pem"), *other = ju_tls_file("other-ca.pem");
	struct ju_result res = {0};
	create_via(&e, ca, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_string_equal(res.r.issue.key, "SEC-1");
	ju_result_clear(&res);

	const char *untrusted[] = {NULL, other};
	for (size_t i = 0; i < TS_ARRAY_SIZE(untrusted); i++) {
		create_via(&e, untrusted[i], NULL, &res);
		/* Nothing was sent: a plain retry, after at least the floor every
		 * retry waits (connector_classify; Jira used to answer 0 ms). */
		assert_int_equal(res.r.status, CONNECTOR_RETRY);
		assert_int_equal(res.r.retry_after_ms, CONNECTOR_RETRY_MIN_MS);
		if (!strstr(res.r.error, "certificate") && !strstr(res.r.error, "SSL"))
			fail_msg("no certificate error: %s", res.r.error);
		ju_result_clear(&res);
	}
	json_t *posts = ju_requests_for(&e, "POST", "/rest/api/3/issue");
	assert_int_equal(json_array_size(posts), 1);
	json_decref(posts);
	free(ca);
	free(other);
	ju_emu_stop(&e);
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0;
	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return n;
}

/* Proxies: the connector's proxy key, the standard environment variables
 * when it is unset, CONNECT tunnels for HTTPS, and proxy credentials in the
 * URL. */
static void test_proxy(void **state)
{
	struct ju_emu plain, tls;
	ju_emu_start(&plain, "cloud", NULL);
	tls_emu_start(&tls);
	struct ju_proxy px;
	ju_proxy_start(&px, NULL);
	char *ca = ju_tls_file("ca.pem");
	struct ju_result res = {0};

	/* HTTP through the configured proxy: absolute-form requests. */
	create_via(&plain, NULL, px.url, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	ju_result_clear(&res);
	char *log = ju_proxy_log(&px);
	char *want = ts_asprintf("POST %s/rest/api/3/issue 201", plain.base);
	if (!strstr(log, want))
		fail_msg("proxy log lacks '%s':\n%s", want, log);
	free(want);
	free(log);

	/* HTTPS through it: a CONNECT tunnel, the certificate still checked
	 * end to end. */
	create_via(&tls, ca, px.url, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	ju_result_clear(&res);
	log = ju_proxy_log(&px);
	want = ts_asprintf("CONNECT %s 200", tls.base + strlen("https://"));
	if (!strstr(log, want))
		fail_msg("proxy log lacks '%s':\n%s", want, log);
	free(want);
	free(log);

	/* No proxy key: http_proxy from the environment is used ... */
	setenv("http_proxy", px.url, 1);
	create_via(&plain, NULL, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	ju_result_clear(&res);
	log = ju_proxy_log(&px);
	assert_int_equal(count_lines(log, "POST "), 2);
	free(log);
	/* ... and no_proxy exempts a host from it. */
	setenv("no_proxy", "127.0.0.1", 1);
	create_via(&plain, NULL, NULL, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	ju_result_clear(&res);
	log = ju_proxy_log(&px);
	assert_int_equal(count_lines(log, "POST "), 2);
	free(log);
	unsetenv("no_proxy");
	unsetenv("http_proxy");
	ju_proxy_stop(&px);

	/* A proxy that wants credentials: refused without them (407, nothing
	 * reaches the tracker), accepted with user:password in the URL. */
	ju_proxy_start(&px, "tsuser:s3cret");
	json_t *before = ju_requests_for(&plain, "POST", "/rest/api/3/issue");
	create_via(&plain, NULL, px.url, &res);
	assert_int_not_equal(res.r.status, CONNECTOR_OK);
	assert_int_equal(res.r.http_status, 407);
	ju_result_clear(&res);
	char *authed = ts_asprintf("http://tsuser:s3cret@%s", px.url + strlen("http://"));
	create_via(&plain, NULL, authed, &res);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	ju_result_clear(&res);
	json_t *after = ju_requests_for(&plain, "POST", "/rest/api/3/issue");
	assert_int_equal(json_array_size(after), json_array_size(before) + 1);
	json_decref(before);
	json_decref(after);
	free(authed);
	ju_proxy_stop(&px);
	free(ca);
	ju_emu_stop(&tls);
	ju_emu_stop(&plain);
}

/* ---- find_marker ---- */

static void test_find_marker_index_lag(void **state)
{
	struct ju_emu e;
	const char *args[] = {"--index-lag-ms", "1200", NULL};
	ju_emu_start(&e, "cloud", args);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	char *key = do_create(&x, &s.t);
	ju_emu_call(&e, "DELETE", "/_emu/requests", NULL, NULL);

	jira_set_lookup_retry(x.conn, 4, 600);
	struct ju_result res = {0};
	jira_connector_ops.find_marker(x.conn, "SEC", MARKER, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_true(res.r.found);
	assert_string_equal(res.r.issue.key, key);
	assert_string_equal(res.r.issue.marker, MARKER);
	assert_string_equal(res.r.issue.status_category, "new");
	ju_result_clear(&res);
	json_t *lookups = ju_requests_for(&e, "GET", "/rest/api/3/search/jql");
	assert_true(json_array_size(lookups) >= 2);
	json_t *first = json_array_get(lookups, 0);
	const char *q = json_string_value(json_object_get(first, "query"));
	assert_non_null(strstr(q, "jql=labels%20%3D%20%22" MARKER "%22"));
	assert_non_null(strstr(q, "fields=summary,status,labels,updated,resolution"));
	json_decref(lookups);

	/* Absent: every attempt made, then found=false. */
	jira_set_lookup_retry(x.conn, 3, 50);
	ju_emu_call(&e, "DELETE", "/_emu/requests", NULL, NULL);
	jira_connector_ops.find_marker(x.conn, "SEC", "threatsync-ffffffffffffffff", ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_false(res.r.found);
	ju_result_clear(&res);
	lookups = ju_requests_for(&e, "GET", "/rest/api/");
	assert_int_equal(json_array_size(lookups), 3);
	json_decref(lookups);
	json_t *removed = ju_requests_for(&e, NULL, "/rest/api/3/search");
	size_t i;
	json_t *r;
	json_array_foreach (removed, i, r)
		assert_string_equal(json_string_value(json_object_get(r, "path")),
		                    "/rest/api/3/search/jql");
	json_decref(removed);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* ---- poll ---- */

/* Seeds 250 issues one minute apart, then polls everything (three pages,
 * newest first; the cursor says the newest and the bottom of the first page),
 * has two edited by a human, and polls from the cursor: only those two come
 * back, first, plus the ones inside the overlap. */
static void poll_case(const char *flavor, const char *user_tz)
{
	bool cloud = strcmp(flavor, "cloud") == 0;
	struct ju_emu e;
	const char *args[] = {"--user-tz", user_tz, NULL};
	ju_emu_start(&e, flavor, args);
	struct ju_ctx x;
	ju_open(&x, &e, cloud ? CONFIG_JIRA_CLOUD : CONFIG_JIRA_DATACENTER, NULL);
	int64_t start = (ts_now_ms() / 60000) * 60000 - 400LL * 60000 + 30000;
	char *seed = ts_asprintf("{\"count\": 250, \"labels\": [\"threatsync\"], \"project\": "
	                         "\"SEC\", \"updated_start_ms\": %lld, \"updated_step_ms\": 60000}",
	                         (long long)start);
	emu_post(&e, "/_emu/seed", seed);
	free(seed);
	emu_post(&e, "/_emu/seed", "{\"count\": 5, \"labels\": [\"other\"], \"project\": \"SEC\"}");

	char *page = NULL, *cursor = NULL;
	size_t total = 0, pages = 0;
	char first_key[32] = "", last_key[32] = "";
	do {
		struct ju_result res = {0};
		jira_connector_ops.poll(x.conn, "SEC", NULL, page, ju_cb, &res);
		ju_wait(&x, &res, 20000);
		if (res.r.status != CONNECTOR_OK)
			fail_msg("poll: %s", res.r.error);
		pages++;
		total += res.r.n_issues;
		for (size_t i = 0; i < res.r.n_issues; i++) {
			assert_string_equal(res.r.issues[i].status_category, "new");
			assert_non_null(res.r.issues[i].updated);
		}
		if (res.r.n_issues && !first_key[0])
			snprintf(first_key, sizeof(first_key), "%s", res.r.issues[0].key);
		if (res.r.n_issues)
			snprintf(last_key, sizeof(last_key), "%s",
			         res.r.issues[res.r.n_issues - 1].key);
		free(page);
		page = ts_strdup(res.r.next_page);
		if (!page) {
			assert_non_null(res.r.cursor);
			cursor = ts_strdup(res.r.cursor);
		} else {
			assert_null(res.r.cursor);
			assert_int_equal(res.r.n_issues, 100);
		}
		ju_result_clear(&res);
	} while (page && pages < 10);
	assert_int_equal(pages, 3);
	assert_int_equal(total, 250);
	assert_string_equal(first_key, "SEC-250");
	assert_string_equal(last_key, "SEC-1");
	/* "NEWEST/FLOOR": SEC-250's time and SEC-151's, the bottom of page 1. */
	int64_t cur_ms, floor_ms, last_ms = start + 249LL * 60000;
	char *slash = strchr(cursor, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_int_equal(http_iso8601_parse(cursor, &cur_ms), 0);
	assert_int_equal(http_iso8601_parse(slash + 1, &floor_ms), 0);
	*slash = '/';
	assert_true(cur_ms == last_ms);
	assert_true(floor_ms == start + 150LL * 60000);

	/* Every search asked for explicit fields and 100 a page; Cloud never
	 * called the removed /search. */
	json_t *searches =
	    ju_requests_for(&e, "GET", cloud ? "/rest/api/3/search" : "/rest/api/2/search");
	assert_int_equal(json_array_size(searches), 3);
	size_t i;
	json_t *r;
	json_array_foreach (searches, i, r) {
		const char *path = json_string_value(json_object_get(r, "path"));
		const char *q = json_string_value(json_object_get(r, "query"));
		assert_string_equal(path, cloud ? "/rest/api/3/search/jql" : "/rest/api/2/search");
		assert_non_null(strstr(q, "maxResults=100"));
		assert_non_null(strstr(q, "fields=summary,status,labels,updated,resolution"));
		assert_non_null(strstr(q, "expand=changelog"));
		assert_non_null(strstr(q, "ORDER%20BY%20updated%20DESC%2C%20key%20DESC"));
		assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
		if (i > 0 && !strstr(q, cloud ? "nextPageToken=" : "startAt="))
			fail_msg("page %zu: %s", i, q);
	}
	json_decref(searches);
	json_t *myself = ju_requests_for(&e, "GET", "/rest/api/");
	assert_string_equal(json_string_value(json_object_get(json_array_get(myself, 0), "path")),
	                    cloud ? "/rest/api/3/myself" : "/rest/api/2/myself");
	json_decref(myself);

	emu_post(&e, "/_emu/issues/SEC-10/edit",
	         "{\"fields\": {\"summary\": \"edited\"}, \"actor\": \"dave\"}");
	emu_post(&e, "/_emu/issues/SEC-20/transition",
	         "{\"to\": \"In Progress\", \"actor\": \"bob\"}");
	emu_post(&e, "/_emu/issues/SEC-20/edit",
	         "{\"fields\": {\"summary\": \"renamed\"}, \"actor\": \"dave\"}");
	emu_post(&e, "/_emu/issues/SEC-20/transition", "{\"to\": \"Done\", \"actor\": \"carol\"}");
	ju_emu_call(&e, "DELETE", "/_emu/requests", NULL, NULL);
	struct ju_result res = {0};
	jira_connector_ops.poll(x.conn, "SEC", cursor, NULL, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_null(res.r.next_page);
	/* The overlap returns SEC-248..250 again; the caller de-duplicates. */
	assert_int_equal(res.r.n_issues, 5);
	bool seen10 = false, seen20 = false;
	for (size_t k = 0; k < res.r.n_issues; k++) {
		if (strcmp(res.r.issues[k].key, "SEC-10") == 0) {
			seen10 = true;
			/* An edit is no status change: no actor for it. */
			assert_null(res.r.issues[k].actor);
		}
		if (strcmp(res.r.issues[k].key, "SEC-20") == 0) {
			seen20 = true;
			/* Who made the last status change (the changelog). */
			assert_string_equal(res.r.issues[k].actor, "carol@example.com");
			assert_string_equal(res.r.issues[k].status_category, "done");
			assert_string_equal(res.r.issues[k].resolution, "Done");
		}
	}
	assert_true(seen10 && seen20);
	assert_string_equal(res.r.issues[0].key, "SEC-20");
	/* One page: the newest alone is the cursor. */
	assert_string_equal(res.r.cursor, res.r.issues[0].updated);
	ju_result_clear(&res);
	json_t *reqs = ju_requests(&e);
	assert_int_equal(json_array_size(reqs), 1); /* /myself is cached */
	json_decref(reqs);

	/* A project where nothing changed: no issues, the cursor stays. */
	jira_connector_ops.poll(x.conn, "WRU", cursor, NULL, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_int_equal(res.r.n_issues, 0);
	assert_null(res.r.next_page);
	assert_string_equal(res.r.cursor, cursor);
	ju_result_clear(&res);
	free(cursor);
	free(page);
	ju_close(&x);
	ju_emu_stop(&e);
}

static void test_poll_cloud(void **state)
{
	poll_case("cloud", "+0100");
}

static void test_poll_datacenter(void **state)
{
	poll_case("datacenter", "+0530");
}

/* ---- faults ---- */

static void script(struct ju_emu *e, const char *json)
{
	emu_post(e, "/_emu/faults", json);
}

static void test_fault_429(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	script(&e, "{\"script\": [{\"match\": \"POST /rest/api/3/issue\", \"fault\": \"429\", "
	           "\"times\": 1, \"retry_after\": \"1\"}]}");
	struct ju_result res = {0}, res2 = {0};
	jira_connector_ops.create(x.conn, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	/* Issue a read right after: it must wait for the gate too. */
	jira_connector_ops.get(x.conn, res.r.issue.key, ju_cb, &res2);
	ju_wait(&x, &res2, 20000);
	assert_int_equal(res2.r.status, CONNECTOR_OK);
	assert_true(res2.r.found);
	ju_result_clear(&res);
	ju_result_clear(&res2);

	json_t *reqs = ju_requests(&e);
	json_t *first = json_array_get(reqs, 0);
	assert_int_equal(json_integer_value(json_object_get(first, "status")), 429);
	int64_t t429 = json_integer_value(json_object_get(first, "ts_ms"));
	assert_true(json_array_size(reqs) >= 3);
	for (size_t i = 1; i < json_array_size(reqs); i++) {
		int64_t t = json_integer_value(json_object_get(json_array_get(reqs, i), "ts_ms"));
		if (t < t429 + 1000)
			fail_msg("request %zu sent %lld ms after the 429 (Retry-After: 1)", i,
			         (long long)(t - t429));
	}
	assert_int_equal(json_integer_value(json_object_get(json_array_get(reqs, 1), "status")),
	                 201);
	json_decref(reqs);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

static void test_fault_500_get_retried(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	char *key = do_create(&x, &s.t);
	script(&e, "{\"script\": [{\"match\": \"GET /rest/api/3/issue/*\", \"fault\": \"500\", "
	           "\"times\": 2}]}");
	ju_emu_call(&e, "DELETE", "/_emu/requests", NULL, NULL);
	struct ju_result res = {0};
	jira_connector_ops.get(x.conn, key, ju_cb, &res);
	ju_wait(&x, &res, 30000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_true(res.r.found);
	assert_string_equal(res.r.issue.status, "To Do");
	assert_string_equal(res.r.issue.marker, MARKER);
	ju_result_clear(&res);
	json_t *gets = ju_requests_for(&e, "GET", "/rest/api/3/issue/SEC-1");
	if (json_array_size(gets) != 3) {
		char *d = json_dumps(gets, JSON_INDENT(1));
		fail_msg("%s", d);
	}
	json_decref(gets);

	/* 500 on the create POST: not retried, the outcome is unknown. */
	script(&e, "{\"script\": [{\"match\": \"POST /rest/api/3/issue\", \"fault\": \"500\", "
	           "\"times\": 1}]}");
	jira_connector_ops.create(x.conn, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_UNKNOWN);
	assert_int_equal(res.r.http_status, 500);
	ju_result_clear(&res);

	/* A missing issue is found=false, not an error. */
	jira_connector_ops.get(x.conn, "SEC-999", ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_false(res.r.found);
	ju_result_clear(&res);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

static void test_fault_reset_after_commit(void **state)
{
	struct ju_emu e;
	const char *args[] = {"--index-lag-ms", "500", NULL};
	ju_emu_start(&e, "cloud", args);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	jira_set_lookup_retry(x.conn, 5, 300);
	struct sample s;
	sample_init(&s, MARKER);
	script(&e, "{\"script\": [{\"match\": \"POST /rest/api/3/issue\", \"fault\": "
	           "\"reset_after_commit\", \"times\": 1}]}");
	struct ju_result res = {0};
	jira_connector_ops.create(x.conn, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_UNKNOWN);
	ju_result_clear(&res);
	jira_connector_ops.find_marker(x.conn, "SEC", MARKER, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	assert_int_equal(res.r.status, CONNECTOR_OK);
	assert_true(res.r.found);
	assert_string_equal(res.r.issue.key, "SEC-1");
	ju_result_clear(&res);
	long st;
	json_t *all = ju_emu_call(&e, "GET", "/_emu/issues?label=" MARKER, NULL, &st);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
	json_t *posts = ju_requests_for(&e, "POST", "/rest/api/3/issue");
	assert_int_equal(json_array_size(posts), 1);
	json_decref(posts);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* Closing with an operation waiting between two lookups: it ends CANCELLED. */
static void test_close_cancels(void **state)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	jira_set_lookup_retry(x.conn, 3, 60000);
	struct ju_result res = {0};
	jira_connector_ops.find_marker(x.conn, "SEC", MARKER, ju_cb, &res);
	/* Run until the first (empty) lookup is answered and the delay armed. */
	for (int i = 0; i < 2000; i++) {
		json_t *r = ju_requests(&e);
		size_t n = json_array_size(r);
		json_decref(r);
		if (n >= 1)
			break;
		uv_run(&x.loop, UV_RUN_NOWAIT);
		usleep(2000);
	}
	for (int i = 0; i < 50; i++)
		uv_run(&x.loop, UV_RUN_NOWAIT);
	assert_false(res.done);
	jira_connector_ops.close(x.conn);
	x.conn = NULL;
	assert_true(res.done);
	assert_int_equal(res.r.status, CONNECTOR_CANCELLED);
	ju_result_clear(&res);
	ju_close(&x);
	ju_emu_stop(&e);
}

/* ---- the request bodies for the OpenAPI check (tests/jira_openapi.py) ---- */

static int dump_requests(const char *out_path)
{
	struct ju_emu e;
	ju_emu_start(&e, "cloud", NULL);
	struct ju_ctx x;
	ju_open(&x, &e, CONFIG_JIRA_CLOUD, NULL);
	struct sample s;
	sample_init(&s, MARKER);
	char *key = do_create(&x, &s.t);
	struct ju_result res = {0};
	jira_connector_ops.update(x.conn, key, &s.t, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	ju_result_clear(&res);
	set_state(&x, key, CONNECTOR_STATE_CLOSED, "Closed: no longer applies.", &res);
	ju_result_clear(&res);
	jira_connector_ops.comment(x.conn, key, "See `semgrep` run https://ci.example/1.", ju_cb,
	                           &res);
	ju_wait(&x, &res, 20000);
	ju_result_clear(&res);
	jira_connector_ops.find_marker(x.conn, "SEC", MARKER, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	ju_result_clear(&res);
	jira_connector_ops.poll(x.conn, "SEC", "2026-01-01T00:00:00.000+0000", NULL, ju_cb, &res);
	ju_wait(&x, &res, 20000);
	ju_result_clear(&res);
	json_t *reqs = ju_requests(&e);
	int rc = json_dump_file(reqs, out_path, JSON_INDENT(1));
	json_decref(reqs);
	free(key);
	sample_free(&s);
	ju_close(&x);
	ju_emu_stop(&e);
	return rc == 0 ? 0 : 1;
}

static int teardown(void **state)
{
	ju_emu_stop_all();
	return 0;
}

int main(void)
{
	const char *dump = getenv("TS_JIRA_DUMP");
	if (dump && *dump)
		return dump_requests(dump);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_adf_writer),
	    cmocka_unit_test_teardown(test_render, teardown),
	    cmocka_unit_test_teardown(test_timezones, teardown),
	    cmocka_unit_test_teardown(test_create_cloud, teardown),
	    cmocka_unit_test_teardown(test_create_datacenter, teardown),
	    cmocka_unit_test_teardown(test_create_errors, teardown),
	    cmocka_unit_test_teardown(test_update_keeps_human_fields, teardown),
	    cmocka_unit_test_teardown(test_set_state, teardown),
	    cmocka_unit_test_teardown(test_transition_requires_field, teardown),
	    cmocka_unit_test_teardown(test_no_transition_to_done, teardown),
	    cmocka_unit_test_teardown(test_https, teardown),
	    cmocka_unit_test_teardown(test_proxy, teardown),
	    cmocka_unit_test_teardown(test_find_marker_index_lag, teardown),
	    cmocka_unit_test_teardown(test_poll_cloud, teardown),
	    cmocka_unit_test_teardown(test_poll_datacenter, teardown),
	    cmocka_unit_test_teardown(test_fault_429, teardown),
	    cmocka_unit_test_teardown(test_fault_500_get_retried, teardown),
	    cmocka_unit_test_teardown(test_fault_reset_after_commit, teardown),
	    cmocka_unit_test_teardown(test_close_cancels, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
