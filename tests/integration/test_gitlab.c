/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the GitLab connector against tests/emulators/gitlab_emulator.py: exact requests,
 * owned fields, state changes, paging beyond 10,000 issues, faults, and the markdown body. */
#include "connectors/connector.h"
#include "connectors/gitlab_internal.h"
#include "helpers/gitlab_util.h"
#include "helpers/testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKER "threatsync-0123456789abcdef"
#define PROJECT "security/widgets"
#define TOKEN "emu-token"

/* ---- fixture ---- */

struct fx {
	struct gu_emu emu;
	uv_loop_t loop;
	struct http_client *client;
	struct config_connector cfg;
	char *cfg_labels[3];
	void *conn;
	int closed;
};

static const struct connector_ops *ops = &gitlab_connector_ops;

static void fx_config(struct fx *fx, const char *token, const char *extra_label)
{
	memset(&fx->cfg, 0, sizeof(fx->cfg));
	fx->cfg.name = "gl-test";
	fx->cfg.line = 7;
	fx->cfg.type = CONFIG_CONNECTOR_GITLAB;
	fx->cfg.base_url = fx->emu.base;
	fx->cfg.token.value = (char *)token;
	fx->cfg.concurrency = 4;
	fx->cfg.rate_per_second = 1000;
	fx->cfg.burst = 1000;
	fx->cfg.max_attempts = 3;
	fx->cfg.connect_timeout_ms = 5000;
	fx->cfg.request_timeout_ms = 20000;
	fx->cfg_labels[0] = "team-sec";
	fx->cfg_labels[1] = (char *)extra_label;
	fx->cfg_labels[2] = NULL;
	fx->cfg.labels = fx->cfg_labels;
}

static void fx_open(struct fx *fx)
{
	struct ts_err err;
	ts_err_clear(&err);
	int r = ops->open(fx->client, &fx->cfg, &fx->conn, &err);
	if (r < 0)
		fail_msg("open: %s", err.msg);
}

static int setup(void **state)
{
	struct fx *fx = ts_calloc(1, sizeof(*fx));
	gu_emu_start(&fx->emu, NULL);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	assert_int_equal(http_client_new(&fx->loop, &fx->client), 0);
	http_client_set_seed(fx->client, 7);
	fx_config(fx, TOKEN, NULL);
	fx_open(fx);
	*state = fx;
	return 0;
}

static void closed_cb(void *ud)
{
	((struct fx *)ud)->closed++;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	ops->close(fx->conn);
	http_client_close(fx->client, closed_cb, fx);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(fx->closed, 1);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	gu_emu_stop(&fx->emu);
	free(fx);
	return 0;
}

/* ---- running operations ---- */

struct cap {
	bool starting; /* the call that started the operation has not returned */
	int done;
	struct connector_result r; /* deep copy */
};

static char *dup_or_null(const char *s)
{
	return s ? ts_strdup(s) : NULL;
}

static void issue_copy(struct remote_issue *to, const struct remote_issue *from)
{
	to->key = dup_or_null(from->key);
	to->id = dup_or_null(from->id);
	to->url = dup_or_null(from->url);
	to->marker = dup_or_null(from->marker);
	to->status = dup_or_null(from->status);
	to->status_category = dup_or_null(from->status_category);
	to->resolution = dup_or_null(from->resolution);
	to->updated = dup_or_null(from->updated);
	to->actor = dup_or_null(from->actor);
	to->content_hash = dup_or_null(from->content_hash);
}

static void cap_cb(void *ud, const struct connector_result *r)
{
	struct cap *c = ud;
	assert_false(c->starting);
	c->done++;
	connector_result_clear(&c->r);
	c->r.status = r->status;
	c->r.http_status = r->http_status;
	c->r.retry_after_ms = r->retry_after_ms;
	memcpy(c->r.error, r->error, sizeof(c->r.error));
	c->r.found = r->found;
	issue_copy(&c->r.issue, &r->issue);
	c->r.n_issues = r->n_issues;
	c->r.issues = ts_calloc(r->n_issues + 1, sizeof(*c->r.issues));
	for (size_t i = 0; i < r->n_issues; i++)
		issue_copy(&c->r.issues[i], &r->issues[i]);
	c->r.next_page = dup_or_null(r->next_page);
	c->r.cursor = dup_or_null(r->cursor);
}

static void cap_wait(struct fx *fx, struct cap *c)
{
	c->starting = false;
	while (!c->done)
		uv_run(&fx->loop, UV_RUN_ONCE);
	assert_int_equal(c->done, 1);
}

static void cap_free(struct cap *c)
{
	connector_result_clear(&c->r);
	memset(c, 0, sizeof(*c));
}

static void expect(const struct cap *c, enum connector_status st)
{
	if (c->r.status != st)
		fail_msg("status %d, wanted %d (http %ld): %s", (int)c->r.status, (int)st,
		         c->r.http_status, c->r.error);
}

/* ---- the ticket ---- */

static json_t *sample_body(void)
{
	json_error_t jerr;
	json_t *b = json_loads(
	    "{\"requirement\": \"Encode all output for its context. Ask @admin about #12 "
	    "<script> & [links].\\n\\nSecond paragraph.\","
	    "\"how_to\": [{\"stack\": \"node\", \"text\": \"res.send(escapeHtml(name));\"},"
	    "{\"stack\": \"java\", \"text\": \"// a fence inside: ```\\nString s = enc(x);\"}],"
	    "\"acceptance_test\": \"Send <script>alert(1)</script>; it comes back encoded.\","
	    "\"training\": [{\"title\": \"OWASP XSS (cheat sheet)\", \"url\": "
	    "\"https://cheatsheetseries.owasp.org/xss_(a).html\"}],"
	    "\"compliance\": {\"PCI-DSS\": [\"6.2.4\"], \"ASVS\": [\"V5.3.3\", \"V5.3.4\"]},"
	    "\"threats\": [{\"uid\": \"T-XSS@web\", \"title\": \"Cross-site scripting\","
	    "\"cwe\": [79, 116], \"severity\": \"high\"}],"
	    "\"component\": {\"id\": \"web\", \"name\": \"Web shop\", \"type\": \"web_app\"}}",
	    0, &jerr);
	assert_non_null(b);
	return b;
}

struct ticket {
	struct ticket_spec t;
	json_t *body;
	json_t *names;
};

static const char *const ticket_labels[] = {"from-project", NULL};

static void ticket_init(struct ticket *tk, const char *marker, const char *summary)
{
	memset(tk, 0, sizeof(*tk));
	tk->body = sample_body();
	tk->names =
	    json_pack("{s:s}", "79", "Improper Neutralization of Input During Web Page Generation");
	tk->t.tracker_project = PROJECT;
	tk->t.marker = marker;
	tk->t.summary = summary;
	tk->t.body = tk->body;
	tk->t.cwe_names = tk->names;
	tk->t.project_slug = "shop";
	tk->t.cm_uid = "C-OUTPUT-ENCODING@web";
	tk->t.model_version = 3;
	tk->t.priority = 1;
	tk->t.severity = "high";
	tk->t.due_date = "2030-06-30";
	tk->t.link_back = "https://threatsync.example/p/shop/C-OUTPUT-ENCODING@web";
	tk->t.labels = ticket_labels;
}

static void ticket_free(struct ticket *tk)
{
	json_decref(tk->body);
	json_decref(tk->names);
}

static void do_create(struct fx *fx, const struct ticket_spec *t, struct cap *c)
{
	c->starting = true;
	ops->create(fx->conn, t, cap_cb, c);
	cap_wait(fx, c);
}

static void do_get(struct fx *fx, const char *key, struct cap *c)
{
	c->starting = true;
	ops->get(fx->conn, key, cap_cb, c);
	cap_wait(fx, c);
}

static void do_set_state(struct fx *fx, const char *key, enum connector_state want,
                         const char *reason, struct cap *c)
{
	c->starting = true;
	ops->set_state(fx->conn, key, want, reason, cap_cb, c);
	cap_wait(fx, c);
}

static void do_poll(struct fx *fx, const char *since, const char *page, struct cap *c)
{
	c->starting = true;
	ops->poll(fx->conn, PROJECT, since, page, cap_cb, c);
	cap_wait(fx, c);
}

/* Creates the sample ticket and returns its key (caller frees). */
static char *create_sample(struct fx *fx, const char *marker)
{
	struct ticket tk;
	ticket_init(&tk, marker, "Encode output in Web shop");
	struct cap c = {0};
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_OK);
	char *key = ts_strdup(c.r.issue.key);
	cap_free(&c);
	ticket_free(&tk);
	return key;
}

/* ---- recorded requests ---- */

static json_t *requests(struct fx *fx)
{
	return gu_ctl(&fx->emu, "GET", "/_emu/requests", NULL);
}

static void forget_requests(struct fx *fx)
{
	json_decref(gu_ctl(&fx->emu, "DELETE", "/_emu/requests", NULL));
}

static const char *rq(const json_t *r, const char *key)
{
	return json_string_value(json_object_get(r, key));
}

/* The method and path of every recorded request, one "METHOD PATH" line each. */
static char *request_lines(const json_t *reqs)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	size_t i;
	const json_t *r;
	json_array_foreach (reqs, i, r) {
		ts_buf_printf(&b, "%s %s\n", rq(r, "method"), rq(r, "path"));
	}
	return ts_buf_steal(&b);
}

static void assert_requests(struct fx *fx, const char *want)
{
	json_t *reqs = requests(fx);
	char *got = request_lines(reqs);
	assert_string_equal(got, want);
	free(got);
	json_decref(reqs);
}

static json_t *emu_issue(struct fx *fx, int iid)
{
	char *path = ts_asprintf("/_emu/issues/1/%d", iid);
	json_t *o = gu_ctl(&fx->emu, "GET", path, NULL);
	free(path);
	return o;
}

static bool has_label(const json_t *issue, const char *label)
{
	size_t i;
	const json_t *l;
	json_array_foreach (json_object_get(issue, "labels"), i, l) {
		if (strcmp(json_string_value(l), label) == 0)
			return true;
	}
	return false;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("'%s' not found in:\n%s", needle, hay ? hay : "(null)");
}

/* ---- pure helpers ---- */

/* The body of a recorded answer in tests/data/contract: the lines after the
 * leading "#" notes, and after the status line and headers when the file
 * holds them. Borrowed from txt. */
static const char *recorded_body(const char *txt)
{
	const char *p = txt;
	while (*p == '#') {
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	if (strncmp(p, "HTTP/", 5) == 0) {
		const char *blank = strstr(p, "\n\n");
		assert_non_null(blank);
		p = blank + 2;
	}
	return p;
}

static void test_helpers(void **state)
{
	char *s = gitlab_project_segment("security/widgets");
	assert_string_equal(s, "security%2Fwidgets");
	free(s);
	s = gitlab_project_segment("42");
	assert_string_equal(s, "42");
	free(s);
	assert_null(gitlab_project_segment(""));

	char *p = NULL;
	long iid = 0;
	assert_int_equal(gitlab_parse_key("grp/sub/proj#12", NULL, &p, &iid), 0);
	assert_string_equal(p, "grp/sub/proj");
	assert_int_equal(iid, 12);
	free(p);
	assert_int_equal(gitlab_parse_key("7", "1", &p, &iid), 0);
	assert_string_equal(p, "1");
	assert_int_equal(iid, 7);
	free(p);
	assert_int_equal(gitlab_parse_key("7", NULL, &p, &iid), -EINVAL);
	assert_int_equal(gitlab_parse_key("#7", NULL, &p, &iid), -EINVAL);
	assert_int_equal(gitlab_parse_key("a#x", NULL, &p, &iid), -EINVAL);
	assert_int_equal(gitlab_parse_key("a#0", NULL, &p, &iid), -EINVAL);

	char msg[256];
	const char *b1 =
	    "{\"message\":{\"title\":[\"can't be blank\"],\"labels\":[\"is invalid\"]}}";
	gitlab_error_text(b1, strlen(b1), msg, sizeof(msg));
	assert_string_equal(msg, "title can't be blank; labels is invalid");
	const char *b2 = "{\"error\":\"due_date is invalid\"}";
	gitlab_error_text(b2, strlen(b2), msg, sizeof(msg));
	assert_string_equal(msg, "due_date is invalid");
	const char *b3 = "{\"message\":\"404 Project Not Found\"}";
	gitlab_error_text(b3, strlen(b3), msg, sizeof(msg));
	assert_string_equal(msg, "404 Project Not Found");
	const char *b4 = "{\"message\":{\"error\":\"This endpoint has been requested too many "
	                 "times. Try again later.\"}}";
	gitlab_error_text(b4, strlen(b4), msg, sizeof(msg));
	assert_string_equal(msg,
	                    "This endpoint has been requested too many times. Try again later.");
	const char *b5 = "<html><head><title>502 Bad Gateway</title></head>\n<body>x</body></html>";
	gitlab_error_text(b5, strlen(b5), msg, sizeof(msg));
	assert_string_equal(msg, "502 Bad Gateway x");
	gitlab_error_text("Retry later\n", 12, msg, sizeof(msg));
	assert_string_equal(msg, "Retry later");
	gitlab_error_text("", 0, msg, sizeof(msg));
	assert_string_equal(msg, "(empty body)");

	/* The status is said once: GitLab's messages that start with it are
	 * kept as they are, the others get it in front. */
	const char *b6 = "{\"message\":\"401 Unauthorized\"}";
	gitlab_status_text(401, b6, strlen(b6), msg, sizeof(msg));
	assert_string_equal(msg, "401 Unauthorized");
	gitlab_status_text(404, b3, strlen(b3), msg, sizeof(msg));
	assert_string_equal(msg, "404 Project Not Found");
	gitlab_status_text(502, b5, strlen(b5), msg, sizeof(msg));
	assert_string_equal(msg, "502 Bad Gateway x");
	gitlab_status_text(400, b2, strlen(b2), msg, sizeof(msg));
	assert_string_equal(msg, "400 due_date is invalid");
	const char *b7 = "{\"message\":\"4010 is not a status\"}";
	gitlab_status_text(401, b7, strlen(b7), msg, sizeof(msg));
	assert_string_equal(msg, "401 4010 is not a status");
	gitlab_status_text(500, "", 0, msg, sizeof(msg));
	assert_string_equal(msg, "500 (empty body)");
	/* The recorded bodies of tests/data/contract/gitlab/errors. */
	static const struct {
		const char *file;
		const char *want;
	} rec[] = {
	    {"429_app_ratelimit_project_export.txt",
	     "429 This endpoint has been requested too many times. Try again later."},
	    {"429_rack_attack_throttle.txt", "429 Retry later"},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(rec); i++) {
		char *path = ts_asprintf("%s/tests/data/contract/gitlab/errors/%s",
		                         tu_env("TS_SOURCE_DIR"), rec[i].file);
		char *txt = tu_read_file(path);
		assert_non_null(txt);
		const char *body = recorded_body(txt);
		gitlab_status_text(429, body, strlen(body), msg, sizeof(msg));
		assert_string_equal(msg, rec[i].want);
		free(txt);
		free(path);
	}

	json_t *l = json_pack("[s,s]", "threatsync", "threatsync::in-progress");
	assert_string_equal(gitlab_status_category("opened", l), "indeterminate");
	assert_string_equal(gitlab_status_category("closed", l), "done");
	json_decref(l);
	l = json_pack("[s,s]", "Workflow::Doing", "x");
	assert_string_equal(gitlab_status_category("opened", l), "indeterminate");
	json_decref(l);
	l = json_pack("[s,s]", "threatsync::todo", "in-progress");
	assert_string_equal(gitlab_status_category("opened", l), "new");
	json_decref(l);

	/* Webhook bodies carry labels as objects: the same mapping reads them. */
	l = json_pack("[{s:s},{s:s}]", "title", "threatsync", "title", "workflow::In Progress");
	assert_string_equal(gitlab_status_category("opened", l), "indeterminate");
	json_decref(l);

	/* The marker is the label marker_valid accepts, in either shape; a short
	 * or upper-case one is not a marker. */
	l = json_pack("[s,s,s,s,s]", "threatsync::todo", "threatsync-ignore", "threatsync",
	              "threatsync-00ff", MARKER);
	assert_string_equal(gitlab_labels_marker(l), MARKER);
	json_decref(l);
	l = json_pack("[{s:s},{s:s}]", "title", "threatsync-0123456789ABCDEF", "title", MARKER);
	assert_string_equal(gitlab_labels_marker(l), MARKER);
	json_decref(l);
	l = json_pack("[s]", "threatsync-0123456789abcdef0");
	assert_null(gitlab_labels_marker(l));
	json_decref(l);
	assert_int_equal(gitlab_weight(1), 4);
	assert_int_equal(gitlab_weight(4), 1);
	assert_int_equal(gitlab_weight(0), -1);
	char iso[32];
	gitlab_format_iso(1767225600123LL, iso);
	assert_string_equal(iso, "2026-01-01T00:00:00.123Z");
}

/* The description of a small ticket, whole: the ticket document as Markdown
 * (its renderer is tested in test_render), library text escaped, the marker
 * comment last. */
static void test_markdown(void **state)
{
	(void)state;
	json_error_t jerr;
	json_t *body = json_loads("{\"requirement\": \"Ask @bob about #12 and ~bug: <b>x</b> "
	                          "&amp; a_b *c*\\n\\n/close\", \"component\": {\"id\": \"web\"}}",
	                          0, &jerr);
	assert_non_null(body);
	struct ticket_spec t = {
	    .marker = MARKER,
	    .summary = "S",
	    .body = body,
	    .project_slug = "shop",
	    .cm_uid = "C-X@web",
	    .model_version = 2,
	    .link_back = "threatsync task C-X@web of project shop",
	};
	char *d = gitlab_description(&t);
	assert_string_equal(d, "## Requirement\n"
	                       "\n"
	                       "Ask \\@bob about \\#12 and \\~bug: \\<b\\>x\\</b\\> \\&amp; "
	                       "a\\_b \\*c\\*\n"
	                       "\n"
	                       "\\/close\n"
	                       "\n"
	                       "## Component\n"
	                       "\n"
	                       "web, component `web`, model version 2, project `shop`.\n"
	                       "\n"
	                       "## Managed by threatsync\n"
	                       "\n"
	                       "This ticket tracks countermeasure `C-X@web`. threatsync keeps the "
	                       "summary, this description and its labels up to date; do not "
	                       "remove the label `" MARKER "`.\n"
	                       "\n"
	                       "threatsync task C-X\\@web of project shop\n"
	                       "\n"
	                       "<!-- threatsync:marker=" MARKER " -->\n");
	free(d);
	json_decref(body);
}

/* ---- create ---- */

static void test_create_request(void **state)
{
	struct fx *fx = *state;
	struct ticket tk;
	ticket_init(&tk, MARKER, "Encode output in Web shop\nsecond line");
	struct cap c = {0};
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_OK);
	assert_int_equal(c.r.http_status, 201);
	assert_string_equal(c.r.issue.key, PROJECT "#1");
	assert_string_equal(c.r.issue.status, "opened");
	assert_string_equal(c.r.issue.status_category, "new");
	assert_string_equal(c.r.issue.marker, MARKER);
	assert_non_null(c.r.issue.id);
	assert_int_equal(strlen(c.r.issue.content_hash), 64);
	assert_contains(c.r.issue.url, "/security/widgets/-/issues/1");

	json_t *reqs = requests(fx);
	assert_int_equal(json_array_size(reqs), 1);
	json_t *r = json_array_get(reqs, 0);
	assert_string_equal(rq(r, "method"), "POST");
	assert_string_equal(rq(r, "path"), "/api/v4/projects/security%2Fwidgets/issues");
	assert_string_equal(rq(r, "query"), "");
	json_t *h = json_object_get(r, "headers");
	assert_string_equal(json_string_value(json_object_get(h, "PRIVATE-TOKEN")), "[redacted]");
	assert_string_equal(json_string_value(json_object_get(h, "Content-Type")),
	                    "application/json");
	assert_null(json_object_get(h, "Authorization"));
	char *all = json_dumps(reqs, 0);
	assert_null(strstr(all, TOKEN));
	free(all);

	json_error_t jerr;
	json_t *body = json_loads(rq(r, "body"), 0, &jerr);
	assert_non_null(body);
	assert_string_equal(rq(body, "title"), "Encode output in Web shop second line");
	assert_string_equal(rq(body, "labels"),
	                    "threatsync," MARKER ",team-sec,from-project,threatsync::todo");
	assert_string_equal(rq(body, "due_date"), "2030-06-30");
	assert_int_equal(json_integer_value(json_object_get(body, "weight")), 4);
	assert_null(json_object_get(body, "confidential"));
	const char *d = rq(body, "description");
	/* The ticket document as Markdown: library markdown (code spans,
	 * fences, links) is rendered, everything else in it escaped. */
	const char *sections[] = {
	    "## Requirement\n\nEncode all output for its context. Ask \\@admin about \\#12 "
	    "\\<script\\> & \\[links\\].\n\nSecond paragraph.\n\n",
	    "## How to\n\n### node\n\nres.send(escapeHtml(name));\n\n",
	    "### java\n\n\\// a fence inside: \\`\\`\\` String s = enc(x);\n\n",
	    "## Acceptance test\n\nSend \\<script\\>alert(1)\\</script\\>; it comes back "
	    "encoded.\n\n",
	    "## Training\n\n- [OWASP XSS (cheat sheet)](https://cheatsheetseries.owasp.org/"
	    "xss_%28a%29.html)\n\n",
	    "## Threats\n\n- Cross-site scripting (`T-XSS@web`) **Severity:** high; "
	    "[CWE-79](https://cwe.mitre.org/data/definitions/79.html) Improper "
	    "Neutralization of Input During Web Page Generation, "
	    "[CWE-116](https://cwe.mitre.org/data/definitions/116.html)\n\n",
	    "## Compliance controls\n\n- **ASVS**: V5.3.3, V5.3.4\n- **PCI-DSS**: 6.2.4\n\n",
	    "## Component\n\nWeb shop (web\\_app), component `web`, model version 3, project "
	    "`shop`.\n\n",
	    "## Managed by threatsync\n\nThis ticket tracks countermeasure "
	    "`C-OUTPUT-ENCODING@web`. threatsync keeps the summary, this description and its "
	    "labels up to date; do not remove the label `" MARKER "`.\n\n",
	    "Details: [https://threatsync.example/p/shop/"
	    "C-OUTPUT-ENCODING\\@web](https://threatsync.example/p/shop/C-OUTPUT-ENCODING@web)\n",
	    "\n<!-- threatsync:marker=" MARKER " -->\n",
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(sections); i++)
		assert_contains(d, sections[i]);
	json_decref(body);
	json_decref(reqs);

	json_t *iss = emu_issue(fx, 1);
	assert_true(has_label(iss, MARKER));
	assert_true(has_label(iss, "threatsync::todo"));
	assert_false(json_is_true(json_object_get(iss, "confidential")));
	json_decref(iss);
	cap_free(&c);
	ticket_free(&tk);
}

static void test_create_validation(void **state)
{
	struct fx *fx = *state;
	/* The connector refuses what it cannot send, without a request. */
	struct ticket tk;
	ticket_init(&tk, "not-a-marker", "x");
	struct cap c = {0};
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_FAILED);
	assert_contains(c.r.error, "marker 'not-a-marker'");
	cap_free(&c);
	tk.t.marker = MARKER;
	tk.t.due_date = "30.06.2030";
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_FAILED);
	assert_contains(c.r.error, "due date '30.06.2030' is not YYYY-MM-DD");
	cap_free(&c);
	assert_requests(fx, "");

	/* GitLab refuses a label above 255 characters: its message object comes back. */
	char long_label[301];
	memset(long_label, 'a', 300);
	long_label[300] = '\0';
	const char *labels[] = {long_label, NULL};
	tk.t.due_date = NULL;
	tk.t.labels = labels;
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_FAILED);
	assert_int_equal(c.r.http_status, 400);
	assert_contains(c.r.error, "gitlab connector 'gl-test'");
	assert_contains(c.r.error, "400 labels is invalid");
	cap_free(&c);

	/* A project that does not exist. */
	tk.t.labels = NULL;
	tk.t.tracker_project = "nope/missing";
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_NO_SCOPE);
	assert_int_equal(c.r.http_status, 404);
	assert_contains(c.r.error, "project nope/missing not found or token lacks access");
	cap_free(&c);
	ticket_free(&tk);
}

/* ---- update ---- */

static void test_update_keeps_human_fields(void **state)
{
	struct fx *fx = *state;
	char *key = create_sample(fx, MARKER);
	/* A human adds a label, sets the issue in progress and re-plans it. */
	json_decref(
	    gu_ctl(&fx->emu, "POST", "/_emu/issues/1/1/edit",
	           "{\"fields\": {\"add_labels\": \"customer-facing,threatsync::in-progress\","
	           "\"remove_labels\": \"threatsync::todo\", \"due_date\": \"2031-01-31\","
	           "\"weight\": 9}, \"actor\": \"bob\"}"));
	forget_requests(fx);

	struct ticket tk;
	ticket_init(&tk, MARKER, "Encode every output in Web shop");
	json_object_set_new(tk.body, "requirement", json_string("Changed requirement."));
	tk.t.due_date = "2030-01-01";
	tk.t.priority = 4;
	struct cap c = {0};
	c.starting = true;
	ops->update(fx->conn, key, &tk.t, cap_cb, &c);
	cap_wait(fx, &c);
	expect(&c, CONNECTOR_OK);
	assert_string_equal(c.r.issue.key, key);
	assert_string_equal(c.r.issue.status_category, "indeterminate");

	json_t *reqs = requests(fx);
	assert_int_equal(json_array_size(reqs), 1);
	json_t *r = json_array_get(reqs, 0);
	assert_string_equal(rq(r, "method"), "PUT");
	assert_string_equal(rq(r, "path"), "/api/v4/projects/security%2Fwidgets/issues/1");
	json_error_t jerr;
	json_t *body = json_loads(rq(r, "body"), 0, &jerr);
	assert_non_null(body);
	assert_string_equal(rq(body, "title"), "Encode every output in Web shop");
	assert_contains(rq(body, "description"), "## Requirement\n\nChanged requirement.\n");
	assert_string_equal(rq(body, "add_labels"), "threatsync," MARKER ",team-sec,from-project");
	/* Never labels= (it would drop the human's labels), never the planning fields. */
	assert_int_equal(json_object_size(body), 3);
	json_decref(body);
	json_decref(reqs);

	json_t *iss = emu_issue(fx, 1);
	assert_true(has_label(iss, "customer-facing"));
	assert_true(has_label(iss, "threatsync::in-progress"));
	assert_false(has_label(iss, "threatsync::todo"));
	assert_true(has_label(iss, MARKER));
	assert_string_equal(rq(iss, "due_date"), "2031-01-31");
	assert_int_equal(json_integer_value(json_object_get(iss, "weight")), 9);
	assert_string_equal(rq(iss, "title"), "Encode every output in Web shop");
	json_decref(iss);
	cap_free(&c);
	ticket_free(&tk);
	free(key);
}

/* ---- set_state and comment ---- */

static void test_set_state(void **state)
{
	struct fx *fx = *state;
	char *key = create_sample(fx, MARKER);
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/1/edit",
	                   "{\"fields\": {\"add_labels\": \"threatsync::in-progress\"}}"));
	forget_requests(fx);

	struct cap c = {0};
	do_set_state(fx, key, CONNECTOR_STATE_CLOSED, "The threat no longer applies.", &c);
	expect(&c, CONNECTOR_OK);
	assert_string_equal(c.r.issue.status, "closed");
	assert_string_equal(c.r.issue.status_category, "done");
	assert_string_equal(c.r.issue.actor, "threatsync-bot");
	cap_free(&c);
	json_t *reqs = requests(fx);
	char *lines = request_lines(reqs);
	assert_string_equal(lines, "GET /api/v4/projects/security%2Fwidgets/issues/1\n"
	                           "PUT /api/v4/projects/security%2Fwidgets/issues/1\n"
	                           "POST /api/v4/projects/security%2Fwidgets/issues/1/notes\n");
	free(lines);
	json_error_t jerr;
	json_t *put = json_loads(rq(json_array_get(reqs, 1), "body"), 0, &jerr);
	assert_string_equal(rq(put, "state_event"), "close");
	assert_string_equal(rq(put, "add_labels"), "threatsync::done");
	assert_string_equal(rq(put, "remove_labels"), "threatsync::in-progress,threatsync::todo");
	assert_int_equal(json_object_size(put), 3);
	json_decref(put);
	json_t *note = json_loads(rq(json_array_get(reqs, 2), "body"), 0, &jerr);
	assert_string_equal(rq(note, "body"), "The threat no longer applies.");
	json_decref(note);
	json_decref(reqs);
	json_t *iss = emu_issue(fx, 1);
	assert_string_equal(rq(iss, "state"), "closed");
	assert_true(has_label(iss, "threatsync::done"));
	assert_false(has_label(iss, "threatsync::todo"));
	assert_false(has_label(iss, "threatsync::in-progress"));
	assert_int_equal(json_array_size(json_object_get(iss, "notes")), 1);
	json_decref(iss);

	/* Already closed, reason already noted (a retry): reads only. */
	forget_requests(fx);
	do_set_state(fx, key, CONNECTOR_STATE_CLOSED, "The threat no longer applies.", &c);
	expect(&c, CONNECTOR_OK);
	cap_free(&c);
	assert_requests(fx, "GET /api/v4/projects/security%2Fwidgets/issues/1\n"
	                    "GET /api/v4/projects/security%2Fwidgets/issues/1/notes\n");

	/* Reopen without a reason: one PUT, no note. */
	forget_requests(fx);
	do_set_state(fx, key, CONNECTOR_STATE_OPEN, NULL, &c);
	expect(&c, CONNECTOR_OK);
	assert_string_equal(c.r.issue.status, "opened");
	assert_string_equal(c.r.issue.status_category, "new");
	cap_free(&c);
	reqs = requests(fx);
	lines = request_lines(reqs);
	assert_string_equal(lines, "GET /api/v4/projects/security%2Fwidgets/issues/1\n"
	                           "PUT /api/v4/projects/security%2Fwidgets/issues/1\n");
	free(lines);
	put = json_loads(rq(json_array_get(reqs, 1), "body"), 0, &jerr);
	assert_string_equal(rq(put, "state_event"), "reopen");
	assert_string_equal(rq(put, "add_labels"), "threatsync::todo");
	assert_string_equal(rq(put, "remove_labels"), "threatsync::done");
	json_decref(put);
	json_decref(reqs);

	/* A human closed it: closing again writes nothing. */
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/1/transition",
	                   "{\"to\": \"closed\", \"actor\": \"alice\"}"));
	forget_requests(fx);
	do_set_state(fx, key, CONNECTOR_STATE_CLOSED, NULL, &c);
	expect(&c, CONNECTOR_OK);
	assert_string_equal(c.r.issue.actor, "alice");
	cap_free(&c);
	assert_requests(fx, "GET /api/v4/projects/security%2Fwidgets/issues/1\n");

	/* A comment is one note. */
	forget_requests(fx);
	c.starting = true;
	ops->comment(fx->conn, key, "Verification failed: CWE-79 found by semgrep.", cap_cb, &c);
	cap_wait(fx, &c);
	expect(&c, CONNECTOR_OK);
	cap_free(&c);
	assert_requests(fx, "POST /api/v4/projects/security%2Fwidgets/issues/1/notes\n");

	/* A missing issue: get says not found, set_state fails naming it. */
	do_get(fx, PROJECT "#99", &c);
	expect(&c, CONNECTOR_OK);
	assert_false(c.r.found);
	cap_free(&c);
	do_set_state(fx, PROJECT "#99", CONNECTOR_STATE_CLOSED, NULL, &c);
	expect(&c, CONNECTOR_FAILED);
	assert_contains(c.r.error, "issue security/widgets#99 not found");
	cap_free(&c);
	do_get(fx, "no-key", &c);
	expect(&c, CONNECTOR_FAILED);
	assert_contains(c.r.error, "ticket key 'no-key' is not PROJECT#IID");
	cap_free(&c);
	free(key);
}

/* ---- poll ---- */

/* Walks every page from since; records the iids seen in seen[] (counts) and
 * returns the final cursor (caller frees). Fails on out-of-order items. */
static char *poll_all(struct fx *fx, const char *since, int *seen, int max_iid, size_t *ret_pages,
                      void (*between_cb)(struct fx *fx, size_t page))
{
	char *page = NULL, *cursor = NULL;
	size_t pages = 0;
	for (;;) {
		struct cap c = {0};
		do_poll(fx, since, page, &c);
		expect(&c, CONNECTOR_OK);
		pages++;
		for (size_t i = 0; i < c.r.n_issues; i++) {
			const char *hash = strrchr(c.r.issues[i].key, '#');
			assert_non_null(hash);
			int iid = atoi(hash + 1);
			assert_in_range(iid, 1, max_iid);
			seen[iid]++;
			if (i > 0)
				assert_true(
				    strcmp(c.r.issues[i - 1].updated, c.r.issues[i].updated) <= 0);
		}
		free(page);
		page = dup_or_null(c.r.next_page);
		if (!page) {
			cursor = dup_or_null(c.r.cursor);
			cap_free(&c);
			break;
		}
		assert_null(c.r.cursor);
		cap_free(&c);
		if (between_cb)
			between_cb(fx, pages);
		assert_true(pages < 1000);
	}
	*ret_pages = pages;
	return cursor;
}

static void test_poll_beyond_10000(void **state)
{
	struct fx *fx = *state;
	enum { N = 10050 };
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/seed",
	                   "{\"count\": 10050, \"labels\": [\"threatsync\", \"threatsync::todo\"],"
	                   " \"project\": 1}"));
	/* The setup is what it claims: GitLab leaves X-Total out above 10,000. */
	char *hdrs = gu_get_headers(
	    &fx->emu, "/api/v4/projects/1/issues?labels=threatsync&per_page=100", TOKEN);
	assert_contains(hdrs, "x-next-page: 2");
	assert_null(strstr(hdrs, "x-total"));
	free(hdrs);
	forget_requests(fx);

	int *seen = ts_calloc(N + 1, sizeof(*seen));
	size_t pages = 0;
	char *cursor = poll_all(fx, NULL, seen, N, &pages, NULL);
	for (int i = 1; i <= N; i++)
		if (seen[i] < 1)
			fail_msg("issue %d never came back", i);
	/* One item per page is seen twice (the walk restarts at the newest time). */
	assert_in_range(pages, N / 100 + 1, N / 99 + 2);
	json_t *last = emu_issue(fx, N);
	assert_string_equal(cursor, rq(last, "updated_at"));
	json_decref(last);

	json_t *reqs = requests(fx);
	assert_int_equal(json_array_size(reqs), pages);
	size_t i;
	const json_t *r;
	json_array_foreach (reqs, i, r) {
		assert_string_equal(rq(r, "path"), "/api/v4/projects/security%2Fwidgets/issues");
		assert_contains(rq(r, "query"), "labels=threatsync&state=all");
		assert_contains(rq(r, "query"), "&order_by=updated_at&sort=asc&per_page=100&page=");
	}
	assert_null(strstr(rq(json_array_get(reqs, 0), "query"), "updated_after"));
	assert_contains(rq(json_array_get(reqs, 1), "query"), "updated_after=");
	json_decref(reqs);
	free(cursor);
	free(seen);
}

static void edit_during_walk(struct fx *fx, size_t page)
{
	/* After page 1: issue 50 (already read) changes and moves to the end. With
	 * plain page numbers the first unread issue would slide onto page 1. */
	if (page == 1)
		json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/50/edit",
		                   "{\"fields\": {\"description\": \"edited by a human\"}}"));
}

static void test_poll_update_during_walk(void **state)
{
	struct fx *fx = *state;
	enum { N = 250 };
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/seed",
	                   "{\"count\": 250, \"labels\": [\"threatsync\"], \"project\": 1}"));
	int seen[N + 1] = {0};
	size_t pages = 0;
	char *cursor = poll_all(fx, NULL, seen, N, &pages, edit_during_walk);
	for (int i = 1; i <= N; i++)
		if (seen[i] < 1)
			fail_msg("issue %d was skipped", i);
	assert_int_equal(seen[50], 2);
	json_t *moved = emu_issue(fx, 50);
	assert_string_equal(cursor, rq(moved, "updated_at"));
	json_decref(moved);
	free(cursor);
}

static void test_poll_updated_after(void **state)
{
	struct fx *fx = *state;
	/* Twenty issues changed an hour ago, three recent ones of another tool. */
	int64_t hour_ago = ts_now_ms() - 3600 * 1000;
	char *seed =
	    ts_asprintf("{\"count\": 20, \"labels\": [\"threatsync\", \"threatsync::todo\"],"
	                " \"project\": 1, \"updated_start_ms\": %lld, "
	                "\"updated_step_ms\": 5000}",
	                (long long)hour_ago);
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/seed", seed));
	free(seed);
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/seed",
	                   "{\"count\": 3, \"labels\": [\"other-tool\"], \"project\": 1}"));
	int seen[24] = {0};
	size_t pages = 0;
	char *cursor = poll_all(fx, NULL, seen, 23, &pages, NULL);
	assert_int_equal(pages, 1);
	for (int i = 1; i <= 20; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(seen[21] + seen[22] + seen[23], 0);
	json_t *i20 = emu_issue(fx, 20);
	assert_string_equal(cursor, rq(i20, "updated_at"));
	json_decref(i20);

	/* Humans change four of them. */
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/3/edit",
	                   "{\"fields\": {\"description\": \"more detail\"}, \"actor\": \"bob\"}"));
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/5/transition",
	                   "{\"to\": \"closed\", \"actor\": \"alice\"}"));
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/7/edit",
	                   "{\"fields\": {\"add_labels\": \"threatsync::in-progress\"}}"));
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/issues/1/9/edit",
	                   "{\"fields\": {\"add_labels\": \"workflow::doing\"}}"));
	forget_requests(fx);

	struct cap c = {0};
	do_poll(fx, cursor, NULL, &c);
	expect(&c, CONNECTOR_OK);
	/* Issue 20 again (it lies inside the one-second overlap), then the four. */
	assert_int_equal(c.r.n_issues, 5);
	assert_null(c.r.next_page);
	const char *want_keys[] = {PROJECT "#20", PROJECT "#3", PROJECT "#5", PROJECT "#7",
	                           PROJECT "#9"};
	const char *want_cat[] = {"new", "new", "done", "indeterminate", "indeterminate"};
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(c.r.issues[i].key, want_keys[i]);
		assert_string_equal(c.r.issues[i].status_category, want_cat[i]);
		assert_null(c.r.issues[i].marker);
	}
	assert_string_equal(c.r.issues[2].status, "closed");
	assert_string_equal(c.r.issues[2].actor, "alice");
	assert_null(c.r.issues[1].actor);
	assert_string_equal(c.r.cursor, c.r.issues[4].updated);

	/* The request: updated_after is the cursor minus one second. */
	int64_t ms = 0;
	assert_int_equal(http_iso8601_parse(cursor, &ms), 0);
	char iso[32];
	gitlab_format_iso(ms - 1000, iso);
	char *enc = gitlab_project_segment(iso);
	char *want = ts_asprintf("labels=threatsync&state=all&updated_after=%s&order_by=updated_at"
	                         "&sort=asc&per_page=100&page=1",
	                         enc);
	json_t *reqs = requests(fx);
	assert_int_equal(json_array_size(reqs), 1);
	assert_string_equal(rq(json_array_get(reqs, 0), "query"), want);
	json_decref(reqs);
	free(want);
	free(enc);

	/* Nothing changed since: no issue, the cursor stays. */
	char *cursor2 = ts_strdup(c.r.cursor);
	cap_free(&c);
	do_poll(fx, cursor2, NULL, &c);
	expect(&c, CONNECTOR_OK);
	/* Only what lies inside the one-second overlap comes back again. */
	assert_in_range(c.r.n_issues, 1, 4);
	assert_string_equal(c.r.issues[c.r.n_issues - 1].key, PROJECT "#9");
	assert_string_equal(c.r.cursor, cursor2);
	cap_free(&c);
	do_poll(fx, "yesterday", NULL, &c);
	expect(&c, CONNECTOR_FAILED);
	assert_contains(c.r.error, "'yesterday' is not an ISO 8601 time");
	cap_free(&c);
	free(cursor2);
	free(cursor);
}

/* ---- faults ---- */

static void test_429_retry_after(void **state)
{
	struct fx *fx = *state;
	char *key = create_sample(fx, MARKER);
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/faults",
	                   "{\"script\": [{\"match\": \"GET /api/v4/projects/*/issues/*\","
	                   " \"fault\": \"429\", \"times\": 1, \"retry_after\": \"2\"}]}"));
	forget_requests(fx);
	struct cap c = {0};
	do_get(fx, key, &c);
	expect(&c, CONNECTOR_OK);
	assert_true(c.r.found);
	assert_string_equal(c.r.issue.key, key);
	cap_free(&c);
	json_t *reqs = requests(fx);
	assert_int_equal(json_array_size(reqs), 2);
	json_t *a = json_array_get(reqs, 0), *b = json_array_get(reqs, 1);
	assert_int_equal(json_integer_value(json_object_get(a, "status")), 429);
	assert_int_equal(json_integer_value(json_object_get(b, "status")), 200);
	json_int_t gap = json_integer_value(json_object_get(b, "ts_ms")) -
	                 json_integer_value(json_object_get(a, "ts_ms"));
	if (gap < 2000 || gap > 6000)
		fail_msg("second request %lld ms after the 429 (Retry-After: 2)", (long long)gap);
	json_decref(reqs);
	free(key);
}

static void test_reset_after_commit(void **state)
{
	struct fx *fx = *state;
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/faults",
	                   "{\"script\": [{\"match\": \"POST /api/v4/projects/*/issues\","
	                   " \"fault\": \"reset_after_commit\", \"times\": 1}]}"));
	struct ticket tk;
	ticket_init(&tk, MARKER, "Encode output in Web shop");
	struct cap c = {0};
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_UNKNOWN);
	assert_null(strstr(c.r.error, TOKEN));
	cap_free(&c);
	/* Never re-sent by the HTTP layer: one POST. */
	assert_requests(fx, "POST /api/v4/projects/security%2Fwidgets/issues\n");

	c.starting = true;
	ops->find_marker(fx->conn, PROJECT, MARKER, cap_cb, &c);
	cap_wait(fx, &c);
	expect(&c, CONNECTOR_OK);
	assert_true(c.r.found);
	assert_string_equal(c.r.issue.key, PROJECT "#1");
	assert_string_equal(c.r.issue.marker, MARKER);
	cap_free(&c);
	json_t *reqs = requests(fx);
	assert_string_equal(rq(json_array_get(reqs, 1), "query"),
	                    "labels=" MARKER "&state=all&order_by=created_at&sort=asc&per_page=2");
	json_decref(reqs);

	/* A marker nobody used: absent. */
	c.starting = true;
	ops->find_marker(fx->conn, PROJECT, "threatsync-ffffffffffffffff", cap_cb, &c);
	cap_wait(fx, &c);
	expect(&c, CONNECTOR_OK);
	assert_false(c.r.found);
	cap_free(&c);

	/* A 500 on a create may have written too. */
	json_decref(gu_ctl(&fx->emu, "POST", "/_emu/faults",
	                   "{\"script\": [{\"match\": \"POST /api/v4/projects/*/issues\","
	                   " \"fault\": \"500\", \"times\": 1}]}"));
	do_create(fx, &tk.t, &c);
	expect(&c, CONNECTOR_UNKNOWN);
	assert_int_equal(c.r.http_status, 500);
	assert_contains(c.r.error, "500 Internal Server Error");
	cap_free(&c);
	json_t *all = gu_ctl(&fx->emu, "GET", "/_emu/issues?project=1", NULL);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
	ticket_free(&tk);
}

static void test_wrong_token(void **state)
{
	struct fx *fx = *state;
	ops->close(fx->conn);
	fx_config(fx, "glpat-Wr0ngT0kenValue", NULL);
	fx_open(fx);
	struct cap c = {0};
	do_get(fx, PROJECT "#1", &c);
	expect(&c, CONNECTOR_DENIED);
	assert_int_equal(c.r.http_status, 401);
	assert_contains(c.r.error, "gitlab connector 'gl-test'");
	/* GitLab's own words, the status once. */
	assert_contains(c.r.error, ": 401 Unauthorized: GitLab refused the token");
	assert_null(strstr(c.r.error, "401 401"));
	assert_null(strstr(c.r.error, "Wr0ngT0ken"));
	cap_free(&c);
	json_t *reqs = requests(fx);
	char *all = json_dumps(reqs, 0);
	assert_null(strstr(all, "Wr0ngT0ken"));
	free(all);
	json_decref(reqs);
}

/* Closing the connector with an operation in flight answers it CANCELLED. */
static void test_close_cancels(void **state)
{
	struct fx *fx = *state;
	struct cap c = {0};
	c.starting = true;
	ops->get(fx->conn, PROJECT "#1", cap_cb, &c);
	c.starting = false;
	ops->close(fx->conn);
	assert_int_equal(c.done, 1);
	expect(&c, CONNECTOR_CANCELLED);
	cap_free(&c);
	/* A fresh one for the teardown. */
	fx_open(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_markdown),
	    cmocka_unit_test_setup_teardown(test_create_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_keeps_human_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_beyond_10000, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_update_during_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_updated_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_after_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_token, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_cancels, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
