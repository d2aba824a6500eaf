/* SPDX-License-Identifier: Apache-2.0 */
/* The GitLab connector: project issues over REST v4 with a PRIVATE-TOKEN, driven by the shared
 * HTTP client (docs/gitlab.md says which fields threatsync owns). */
#include "connectors/gitlab_internal.h"
#include "connectors/render.h"
#include "connectors/ticket_doc.h"
#include "engine/tracking/marker.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct gitlab {
	const struct config_connector *cfg; /* borrowed; outlives the connector */
	uv_loop_t *loop;
	struct http_endpoint *ep; /* NULL once closing */
	char *api;                /* "<base_url>/api/v4" */
	char *auth;               /* "PRIVATE-TOKEN: <token>": secret, wiped on free */
	unsigned pending;         /* operations whose callback has not returned */
	bool closing;
	bool in_close; /* inside gitlab_close: it frees, not the last operation */
};

enum gl_kind {
	GL_CREATE,
	GL_FIND,
	GL_UPDATE,
	GL_SET_STATE,
	GL_COMMENT,
	GL_POLL,
	GL_GET,
	GL_NOTICE,
};

/* Steps of set_state: read the issue, change the state, look for the reason
 * note (when the state was already right), post the reason note. */
enum gl_step { GL_STEP_MAIN, GL_STEP_WRITE, GL_STEP_NOTES, GL_STEP_NOTE };

struct gl_op {
	struct gitlab *gl;
	enum gl_kind kind;
	enum gl_step step;
	connector_cb cb;
	void *ud;
	char *project; /* as configured or taken from the key */
	char *seg;     /* its :id path segment */
	long iid;
	enum connector_state want;
	char *reason;
	char *since;      /* poll: the caller's cursor, NULL for all */
	char *page_after; /* poll: the updated_after of this page, NULL for none */
	long page_no;     /* poll: the page at page_after; find_notice: the page of notes */
	int scanned;      /* find_notice: notes read so far */
	bool from_token;  /* poll: page_after came from a page token */
	char what[192];   /* "GET /projects/x/issues/3" for messages */
	bool in_http_cb;  /* an HTTP answer is being handled: no deferral needed */
	uv_timer_t timer; /* defers an answer given before anything was sent */
	struct connector_result res;
};

/* ------------------------------------------------------------------ helpers */

char *gitlab_project_segment(const char *project)
{
	if (!project || !*project)
		return NULL;
	struct ts_buf b = {0};
	for (const unsigned char *p = (const unsigned char *)project; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			ts_buf_append(&b, (const char *)p, 1);
		else
			ts_buf_printf(&b, "%%%02X", *p);
	}
	return ts_buf_steal(&b);
}

static bool gl_all_digits(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

int gitlab_parse_key(const char *key, const char *fallback_project, char **ret_project,
                     long *ret_iid)
{
	if (!key || !*key)
		return -EINVAL;
	const char *hash = strrchr(key, '#');
	const char *num = hash ? hash + 1 : key;
	if (!gl_all_digits(num) || strlen(num) > 12)
		return -EINVAL;
	if (hash && hash == key)
		return -EINVAL;
	if (!hash && (!fallback_project || !*fallback_project))
		return -EINVAL;
	long iid = strtol(num, NULL, 10);
	if (iid <= 0)
		return -EINVAL;
	*ret_project = hash ? ts_strndup(key, (size_t)(hash - key)) : ts_strdup(fallback_project);
	*ret_iid = iid;
	return 0;
}

/* Appends text with HTML tags dropped and runs of blanks collapsed. */
static void gl_plain_text(struct ts_buf *b, const char *s, size_t len)
{
	bool in_tag = false, space = false;
	for (size_t i = 0; i < len && b->len < 300; i++) {
		char c = s[i];
		if (c == '<') {
			in_tag = true;
			space = b->len > 0;
			continue;
		}
		if (in_tag) {
			in_tag = c != '>';
			continue;
		}
		if (isspace((unsigned char)c) || (unsigned char)c < 0x20) {
			space = b->len > 0;
			continue;
		}
		if (space)
			ts_buf_puts(b, " ");
		space = false;
		ts_buf_append(b, &c, 1);
	}
}

static void gl_message_value(struct ts_buf *b, const char *field, const json_t *v)
{
	if (json_is_string(v)) {
		if (b->len)
			ts_buf_puts(b, "; ");
		if (field && strcmp(field, "error") != 0 && strcmp(field, "base") != 0)
			ts_buf_printf(b, "%s ", field);
		ts_buf_puts(b, json_string_value(v));
	} else if (json_is_array(v)) {
		size_t i;
		const json_t *x;
		json_array_foreach (v, i, x)
			gl_message_value(b, field, x);
	} else if (json_is_object(v)) {
		const char *k;
		const json_t *x;
		json_object_foreach ((json_t *)v, k, x)
			gl_message_value(b, k, x);
	}
}

void gitlab_error_text(const char *body, size_t len, char *out, size_t cap)
{
	struct ts_buf b = {0};
	json_error_t jerr;
	json_t *doc = body && len ? json_loadb(body, len, 0, &jerr) : NULL;
	if (json_is_object(doc)) {
		const json_t *m = json_object_get(doc, "message");
		if (!m)
			m = json_object_get(doc, "error");
		if (!m)
			m = json_object_get(doc, "error_description");
		gl_message_value(&b, NULL, m);
	} else if (json_is_string(doc)) {
		ts_buf_puts(&b, json_string_value(doc));
	}
	json_decref(doc);
	if (b.len == 0 && body)
		gl_plain_text(&b, body, len);
	snprintf(out, cap, "%s", b.len ? b.data : "(empty body)");
	ts_buf_free(&b);
}

void gitlab_status_text(long status, const char *body, size_t len, char *out, size_t cap)
{
	char msg[400];
	char code[24];
	gitlab_error_text(body, len, msg, sizeof(msg));
	int n = snprintf(code, sizeof(code), "%ld", status);
	size_t cl = n > 0 ? (size_t)n : 0;
	if (strncmp(msg, code, cl) == 0 && (msg[cl] == ' ' || msg[cl] == '\0'))
		snprintf(out, cap, "%s", msg);
	else
		snprintf(out, cap, "%s %s", code, msg);
}

const char *gitlab_label_name(const json_t *label)
{
	if (json_is_object(label))
		return json_string_value(json_object_get(label, "title"));
	return json_string_value(label);
}

const char *gitlab_status_category(const char *state, const json_t *labels)
{
	if (state && strcmp(state, "closed") == 0)
		return "done";
	static const char *const doing[] = {"in-progress", "in progress", "in_progress", "doing",
	                                    "wip"};
	size_t i;
	const json_t *l;
	json_array_foreach (labels, i, l) {
		const char *name = gitlab_label_name(l);
		const char *scope = name ? strstr(name, "::") : NULL;
		if (!scope)
			continue;
		/* GitLab's scope is everything up to the last "::". */
		const char *value = scope + 2;
		for (const char *p = strstr(value, "::"); p; p = strstr(value, "::"))
			value = p + 2;
		for (size_t k = 0; k < TS_ARRAY_SIZE(doing); k++)
			if (strcasecmp(value, doing[k]) == 0)
				return "indeterminate";
	}
	return "new";
}

const char *gitlab_labels_marker(const json_t *labels)
{
	size_t i;
	const json_t *l;
	json_array_foreach (labels, i, l) {
		if (marker_valid(gitlab_label_name(l)))
			return gitlab_label_name(l);
	}
	return NULL;
}

static char *gl_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? ts_strdup(s) : NULL;
}

int gitlab_issue_parse(const json_t *o, const char *project, struct remote_issue *ret)
{
	const json_t *iid = json_object_get(o, "iid");
	if (!json_is_object(o) || !json_is_integer(iid))
		return -EINVAL;
	const char *full =
	    json_string_value(json_object_get(json_object_get(o, "references"), "full"));
	if (full && strchr(full, '#'))
		ret->key = ts_strdup(full);
	else
		ret->key = ts_asprintf("%s#%lld", project ? project : "",
		                       (long long)json_integer_value(iid));
	const json_t *id = json_object_get(o, "id");
	if (json_is_integer(id))
		ret->id = ts_asprintf("%lld", (long long)json_integer_value(id));
	ret->url = gl_str(o, "web_url");
	ret->status = gl_str(o, "state");
	const json_t *labels = json_object_get(o, "labels");
	ret->status_category = ts_strdup(gitlab_status_category(ret->status, labels));
	ret->marker = ts_strdup(gitlab_labels_marker(labels));
	ret->updated = gl_str(o, "updated_at");
	/* The issue entity names who closed it, not who made the last change:
	 * only a closed issue has a known actor. */
	if (ret->status && strcmp(ret->status, "closed") == 0)
		ret->actor = gl_str(json_object_get(o, "closed_by"), "username");
	const char *title = json_string_value(json_object_get(o, "title"));
	const char *desc = json_string_value(json_object_get(o, "description"));
	char *text = ts_asprintf("%s\n%s", title ? title : "", desc ? desc : "");
	char hex[65];
	ts_sha256_hex(text, strlen(text), hex);
	free(text);
	ret->content_hash = ts_strdup(hex);
	return 0;
}

char *gitlab_description(const struct ticket_spec *t)
{
	struct ticket_doc d = {0};
	ticket_doc_build(&d, t);
	char *md = render_markdown(&d);
	ticket_doc_clear(&d);
	char *out = ts_asprintf("%s\n<!-- threatsync:marker=%s -->\n", md, t->marker);
	free(md);
	return out;
}

int gitlab_weight(int priority)
{
	return priority >= 1 && priority <= 4 ? 5 - priority : -1;
}

void gitlab_format_iso(int64_t unix_ms, char out[32])
{
	time_t secs = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
	int ms = (int)(unix_ms - (int64_t)secs * 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char day[24];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", day, ms);
}

/* A title GitLab accepts: one line, at most GITLAB_TITLE_MAX characters (cut
 * on a UTF-8 boundary). New string. */
static char *gl_title(const char *summary)
{
	char *t = ts_strdup(summary ? summary : "");
	for (char *p = t; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t chars = 0, i = 0;
	for (; t[i]; i++) {
		if (((unsigned char)t[i] & 0xC0) != 0x80) {
			if (chars == GITLAB_TITLE_MAX)
				break;
			chars++;
		}
	}
	t[i] = '\0';
	return t;
}

/* A label is sent inside a comma-separated list: it must not hold a comma. */
static bool gl_label_ok(const char *l)
{
	return l && *l && !strchr(l, ',') && !strchr(l, '\n');
}

static bool gl_date_ok(const char *d)
{
	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)d[i]))
			return false;
	return true;
}

/* ----------------------------------------------------------- op lifecycle */

static void gl_free(struct gitlab *gl)
{
	http_endpoint_free(gl->ep);
	if (gl->auth) {
		explicit_bzero(gl->auth, strlen(gl->auth));
		free(gl->auth);
	}
	free(gl->api);
	free(gl);
}

static struct gl_op *gl_op_new(struct gitlab *gl, enum gl_kind kind, connector_cb cb, void *ud)
{
	struct gl_op *op = ts_calloc(1, sizeof(*op));
	op->gl = gl;
	op->kind = kind;
	op->cb = cb;
	op->ud = ud;
	gl->pending++;
	return op;
}

/* Replaces every occurrence of the token in msg: no message may carry it,
 * whatever a server chose to echo back. */
static void gl_scrub(const struct gitlab *gl, char *msg)
{
	const char *tok = gl->cfg->token.value;
	size_t n = tok ? strlen(tok) : 0;
	if (n < 4)
		return;
	for (char *p = strstr(msg, tok); p; p = strstr(p, tok)) {
		static const char red[] = "[redacted]";
		size_t rest = strlen(p + n);
		if (n >= sizeof(red) - 1) {
			memcpy(p, red, sizeof(red) - 1);
			memmove(p + sizeof(red) - 1, p + n, rest + 1);
		} else {
			memset(p, '*', n);
		}
	}
}

/* Runs the callback once and releases the operation; frees the connector
 * when it was closed meanwhile and this was its last operation. */
static void gl_op_deliver(struct gl_op *op)
{
	struct gitlab *gl = op->gl;
	if (op->res.status != CONNECTOR_OK && op->res.error[0] == '\0')
		snprintf(op->res.error, sizeof(op->res.error), "gitlab connector '%s': %s failed",
		         gl->cfg->name, op->what);
	gl_scrub(gl, op->res.error);
	op->cb(op->ud, &op->res);
	connector_result_clear(&op->res);
	free(op->project);
	free(op->seg);
	free(op->reason);
	free(op->since);
	free(op->page_after);
	gl->pending--;
	if (gl->closing && gl->pending == 0 && !gl->in_close)
		gl_free(gl);
}

static void gl_deferred_closed_cb(uv_handle_t *h)
{
	free(h->data);
}

static void gl_deferred_cb(uv_timer_t *t)
{
	struct gl_op *op = t->data;
	gl_op_deliver(op);
	uv_close((uv_handle_t *)&op->timer, gl_deferred_closed_cb);
}

/* Runs the callback once and releases the operation; frees the connector
 * when it was closed meanwhile and this was its last operation. An operation
 * that ends before anything was sent (bad input, queue full) answers on the
 * next loop iteration, never from inside the call that started it. */
static void gl_op_finish(struct gl_op *op)
{
	if (op->in_http_cb) {
		gl_op_deliver(op);
		free(op);
		return;
	}
	uv_timer_init(op->gl->loop, &op->timer);
	op->timer.data = op;
	uv_timer_start(&op->timer, gl_deferred_cb, 0, 0);
}

static void gl_fail(struct gl_op *op, enum connector_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void gl_fail(struct gl_op *op, enum connector_status st, const char *fmt, ...)
{
	int n = snprintf(op->res.error, sizeof(op->res.error),
	                 "gitlab connector '%s': ", op->gl->cfg->name);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(op->res.error))
		vsnprintf(op->res.error + n, sizeof(op->res.error) - (size_t)n, fmt, ap);
	va_end(ap);
	op->res.status = st;
	gl_op_finish(op);
}

static void gl_http_cb(const struct http_response *resp, void *ud);

/* Sends one request of op: path is below the API base (with its query);
 * body (may be NULL) is sent as JSON. Finishes op when it cannot be queued. */
static void gl_send(struct gl_op *op, const char *method, const char *path, const json_t *body)
{
	struct gitlab *gl = op->gl;
	const char *q = strchr(path, '?');
	snprintf(op->what, sizeof(op->what), "%s %.*s", method,
	         (int)(q ? q - path : (long)strlen(path)), path);
	if (gl->closing || !gl->ep) {
		gl_fail(op, CONNECTOR_CANCELLED, "%s: the connector is closing", op->what);
		return;
	}
	char *url = ts_asprintf("%s%s", gl->api, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	const char *headers[] = {"Accept: application/json",
	                         body ? "Content-Type: application/json" : NULL, NULL};
	struct http_request req = {.method = method,
	                           .url = url,
	                           .headers = headers,
	                           .body = text,
	                           .body_len = text ? strlen(text) : 0,
	                           .auth_header = gl->auth};
	int r = http_submit(gl->ep, &req, gl_http_cb, op);
	free(url);
	free(text);
	if (r >= 0)
		return;
	enum connector_status st = connector_classify_submit(r, &op->res.retry_after_ms);
	if (r == -ECANCELED)
		gl_fail(op, st, "%s: the HTTP client is closing", op->what);
	else if (r == -ENOBUFS)
		gl_fail(op, st, "%s: request queue full", op->what);
	else
		gl_fail(op, st, "%s: request refused by the HTTP client (%s)", op->what,
		        strerror(-r));
}

/* Whether a 404 names the project rather than the issue. */
static bool gl_project_missing(const char *msg)
{
	return strstr(msg, "Project") != NULL || strstr(msg, "project") != NULL;
}

/* Whether op's request is unsafe to send twice: a create or a comment. A
 * note of set_state is safe to retry: the retry reads the notes before
 * posting again. */
static bool gl_unsafe(const struct gl_op *op)
{
	return op->kind == GL_CREATE || op->kind == GL_COMMENT;
}

/*
 * Maps a response that is not a success (connector_classify) and finishes op
 * with GitLab's own words. unsafe: the request was a non-idempotent POST
 * (create, note). Returns true when it finished op; false on 2xx.
 */
static bool gl_check(struct gl_op *op, const struct http_response *resp, bool unsafe)
{
	op->res.http_status = resp->status;
	enum connector_status cs =
	    connector_classify(resp, unsafe, true, ts_now_ms(), &op->res.retry_after_ms);
	if (cs == CONNECTOR_OK)
		return false;
	switch (resp->outcome) {
	case HTTP_OK:
		break;
	case HTTP_CANCELLED:
		gl_fail(op, cs, "%s: cancelled", op->what);
		return true;
	case HTTP_FAILED:
	case HTTP_OUTCOME_UNKNOWN:
		gl_fail(op, cs, "%s: %s", op->what, resp->error);
		return true;
	}
	long st = resp->status;
	char msg[512];
	/* msg is "<status> <GitLab's words>", the status said once. */
	gitlab_status_text(st, resp->body, resp->body_len, msg, sizeof(msg));
	if (st == 429) {
		gl_fail(op, cs, "%s: rate limited: %s", op->what, msg);
	} else if (st >= 500) {
		gl_fail(op, cs, "%s: %s", op->what, msg);
	} else if (st == 401) {
		gl_fail(
		    op, cs,
		    "%s: %s: GitLab refused the token (check that it is valid, not expired, "
		    "and has the api scope)",
		    op->what, msg);
	} else if (st == 403) {
		gl_fail(
		    op, cs,
		    "%s: %s: the token's user may not do this in project %s (it needs the api "
		    "scope and at least the Reporter role, Planner or Developer to edit issues)",
		    op->what, msg, op->project);
	} else if (st == 404 && (op->iid == 0 || gl_project_missing(msg))) {
		gl_fail(op, cs, "project %s not found or token lacks access (%s: %s)", op->project,
		        op->what, msg);
	} else if (st == 404) {
		gl_fail(op, cs, "issue %s#%ld not found (%s: %s)", op->project, op->iid, op->what,
		        msg);
	} else {
		gl_fail(op, cs, "%s: %s", op->what, msg);
	}
	return true;
}

/* Parses a JSON body; when it is not JSON of the wanted type (an object, or
 * an array when want_array) finishes op as connector_classify says for a
 * garbled 2xx answer. */
static json_t *gl_body(struct gl_op *op, const struct http_response *resp, bool want_array)
{
	json_error_t jerr;
	json_t *doc = json_loadb(resp->body, resp->body_len, 0, &jerr);
	if (!doc || (want_array ? !json_is_array(doc) : !json_is_object(doc))) {
		json_decref(doc);
		enum connector_status st = connector_classify(resp, gl_unsafe(op), false,
		                                              ts_now_ms(), &op->res.retry_after_ms);
		gl_fail(op, st, "%s: %ld answer is not a JSON %s (line %d: %s)", op->what,
		        resp->status, want_array ? "array" : "object", jerr.line, jerr.text);
		return NULL;
	}
	return doc;
}

/* Fills op->res.issue from an issue object of the answer resp; finishes op
 * (a garbled answer, connector_classify) when it is not one. */
static bool gl_take_issue(struct gl_op *op, const struct http_response *resp, const json_t *o)
{
	remote_issue_clear(&op->res.issue);
	if (gitlab_issue_parse(o, op->project, &op->res.issue) < 0) {
		enum connector_status st = connector_classify(resp, gl_unsafe(op), false,
		                                              ts_now_ms(), &op->res.retry_after_ms);
		gl_fail(op, st, "%s: the answer is not an issue (no iid)", op->what);
		return false;
	}
	return true;
}

/* Starts an operation on a key; finishes it when the key is bad. */
static bool gl_op_key(struct gl_op *op, const char *key, const char *fallback_project)
{
	if (gitlab_parse_key(key, fallback_project, &op->project, &op->iid) < 0) {
		snprintf(op->what, sizeof(op->what), "key");
		gl_fail(op, CONNECTOR_FAILED, "ticket key '%.100s' is not PROJECT#IID",
		        key ? key : "(null)");
		return false;
	}
	op->seg = gitlab_project_segment(op->project);
	return true;
}

static bool gl_op_project(struct gl_op *op, const char *project)
{
	op->seg = gitlab_project_segment(project);
	if (!op->seg) {
		snprintf(op->what, sizeof(op->what), "project");
		gl_fail(op, CONNECTOR_FAILED, "no GitLab project given (tracker_project)");
		return false;
	}
	op->project = ts_strdup(project);
	return true;
}

/* ------------------------------------------------------------ operations */

/* The labels of a new issue: common label, marker, configured labels (the
 * connector's, then the ticket's), then the scoped status label. Returns a
 * comma-separated string, or NULL when a label cannot be sent (*ret_bad says
 * which; borrowed). */
static char *gl_labels(const struct gitlab *gl, const struct ticket_spec *t, bool status,
                       const char **ret_bad)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, CONNECTOR_COMMON_LABEL ",");
	ts_buf_puts(&b, t->marker);
	const char *const *lists[] = {(const char *const *)gl->cfg->labels, t->labels};
	for (size_t k = 0; k < TS_ARRAY_SIZE(lists); k++) {
		for (const char *const *l = lists[k]; l && *l; l++) {
			if (!gl_label_ok(*l)) {
				*ret_bad = *l;
				ts_buf_free(&b);
				return NULL;
			}
			ts_buf_printf(&b, ",%s", *l);
		}
	}
	if (status)
		ts_buf_puts(&b, "," GITLAB_LABEL_TODO);
	return ts_buf_steal(&b);
}

/* Checks what create and update send; finishes op and returns NULL on a
 * problem, else the JSON body with title, description and the label field
 * (labels on create, add_labels on update). New reference. */
static json_t *gl_content(struct gl_op *op, const struct ticket_spec *t, bool create)
{
	if (!t->marker || !marker_valid(t->marker)) {
		gl_fail(op, CONNECTOR_FAILED, "marker '%.80s' is not threatsync-<hex>",
		        t->marker ? t->marker : "(null)");
		return NULL;
	}
	if (t->due_date && !gl_date_ok(t->due_date)) {
		gl_fail(op, CONNECTOR_FAILED, "due date '%.40s' is not YYYY-MM-DD", t->due_date);
		return NULL;
	}
	const char *bad = NULL;
	char *labels = gl_labels(op->gl, t, create, &bad);
	if (!labels) {
		gl_fail(op, CONNECTOR_FAILED, "label '%.100s' is empty or holds a comma", bad);
		return NULL;
	}
	char *desc = gitlab_description(t);
	if (strlen(desc) > GITLAB_DESCRIPTION_MAX) {
		gl_fail(op, CONNECTOR_FAILED, "description of %s is %zu bytes, above GitLab's %d",
		        t->marker, strlen(desc), GITLAB_DESCRIPTION_MAX);
		free(desc);
		free(labels);
		return NULL;
	}
	char *title = gl_title(t->summary);
	json_t *body = json_object();
	json_object_set_new(body, "title", json_string(title));
	json_object_set_new(body, "description", json_string(desc));
	json_object_set_new(body, create ? "labels" : "add_labels", json_string(labels));
	free(title);
	free(desc);
	free(labels);
	return body;
}

static void gitlab_create(void *conn, const struct ticket_spec *t, connector_cb cb, void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_CREATE, cb, ud);
	snprintf(op->what, sizeof(op->what), "create");
	if (!gl_op_project(op, t->tracker_project))
		return;
	json_t *body = gl_content(op, t, true);
	if (!body)
		return;
	/* Planning fields are set once: humans re-plan them afterwards. */
	if (t->due_date)
		json_object_set_new(body, "due_date", json_string(t->due_date));
	if (gitlab_weight(t->priority) > 0)
		json_object_set_new(body, "weight", json_integer(gitlab_weight(t->priority)));
	char *path = ts_asprintf("/projects/%s/issues", op->seg);
	gl_send(op, "POST", path, body);
	free(path);
	json_decref(body);
}

static void gitlab_update(void *conn, const char *key, const struct ticket_spec *t, connector_cb cb,
                          void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_UPDATE, cb, ud);
	if (!gl_op_key(op, key, t->tracker_project))
		return;
	json_t *body = gl_content(op, t, false);
	if (!body)
		return;
	char *path = ts_asprintf("/projects/%s/issues/%ld", op->seg, op->iid);
	gl_send(op, "PUT", path, body);
	free(path);
	json_decref(body);
}

static void gitlab_find_marker(void *conn, const char *tracker_project, const char *marker,
                               connector_cb cb, void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_FIND, cb, ud);
	snprintf(op->what, sizeof(op->what), "find_marker");
	if (!gl_op_project(op, tracker_project))
		return;
	if (!marker_valid(marker)) {
		gl_fail(op, CONNECTOR_FAILED, "marker '%.80s' is not threatsync-<hex>",
		        marker ? marker : "(null)");
		return;
	}
	/* Oldest first: should a duplicate ever exist, the first one wins. */
	char *path = ts_asprintf("/projects/%s/issues?labels=%s&state=all&order_by=created_at"
	                         "&sort=asc&per_page=2",
	                         op->seg, marker);
	gl_send(op, "GET", path, NULL);
	free(path);
}

static void gitlab_get(void *conn, const char *key, connector_cb cb, void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_GET, cb, ud);
	if (!gl_op_key(op, key, NULL))
		return;
	char *path = ts_asprintf("/projects/%s/issues/%ld", op->seg, op->iid);
	gl_send(op, "GET", path, NULL);
	free(path);
}

static void gitlab_set_state(void *conn, const char *key, enum connector_state want,
                             const char *reason, connector_cb cb, void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_SET_STATE, cb, ud);
	op->want = want;
	op->reason = reason && *reason ? ts_strdup(reason) : NULL;
	if (!gl_op_key(op, key, NULL))
		return;
	char *path = ts_asprintf("/projects/%s/issues/%ld", op->seg, op->iid);
	gl_send(op, "GET", path, NULL);
	free(path);
}

static void gl_post_note(struct gl_op *op, const char *text)
{
	json_t *body = json_pack("{s:s}", "body", text);
	char *path = ts_asprintf("/projects/%s/issues/%ld/notes", op->seg, op->iid);
	gl_send(op, "POST", path, body);
	free(path);
	json_decref(body);
}

static void gitlab_comment(void *conn, const char *key, const char *text, connector_cb cb, void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_COMMENT, cb, ud);
	if (!gl_op_key(op, key, NULL))
		return;
	if (!text || !*text) {
		snprintf(op->what, sizeof(op->what), "comment");
		gl_fail(op, CONNECTOR_FAILED, "empty comment for %s", key);
		return;
	}
	op->step = GL_STEP_NOTE;
	gl_post_note(op, text);
}

/* The notice's marker: an HTML comment, kept in the note's Markdown source
 * and not shown. */
static char *gitlab_notice_text(const char *text, const char *notice)
{
	if (!text || !*text)
		return ts_asprintf("<!-- threatsync-notice:%s -->", notice);
	return ts_asprintf("%s\n\n<!-- threatsync-notice:%s -->", text, notice);
}

/* One page of the issue's notes, newest first. */
static void gl_notice_page(struct gl_op *op)
{
	int want = CONNECTOR_NOTICE_SCAN - op->scanned;
	char *path = ts_asprintf("/projects/%s/issues/%ld/notes?order_by=created_at&sort=desc"
	                         "&per_page=%d&page=%ld",
	                         op->seg, op->iid, want > 100 ? 100 : want, op->page_no);
	gl_send(op, "GET", path, NULL);
	free(path);
}

static void gitlab_find_notice(void *conn, const char *key, const char *notice, connector_cb cb,
                               void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_NOTICE, cb, ud);
	if (!gl_op_key(op, key, NULL))
		return;
	if (!connector_notice_valid(notice)) {
		snprintf(op->what, sizeof(op->what), "notice");
		gl_fail(op, CONNECTOR_FAILED, "notice on %s: not %d lowercase hex digits", key,
		        CONNECTOR_NOTICE_LEN);
		return;
	}
	op->reason = ts_asprintf("<!-- threatsync-notice:%s -->", notice);
	op->step = GL_STEP_MAIN;
	char *path = ts_asprintf("/projects/%s/issues/%ld", op->seg, op->iid);
	gl_send(op, "GET", path, NULL);
	free(path);
}

/* A poll page token: "<updated_after>|<page>". The walk moves updated_after
 * forward to the newest updated_at seen and restarts at page 1, so an issue
 * updated during the walk (it moves to the end of the order) cannot shift an
 * unread one onto a page already read; only issues sharing one timestamp are
 * walked by page number. */
static int gl_parse_page(const char *page, char **ret_after, long *ret_no)
{
	const char *bar = strrchr(page, '|');
	if (!bar || bar == page || !gl_all_digits(bar + 1) || strlen(bar + 1) > 9)
		return -EINVAL;
	int64_t ms;
	char *after = ts_strndup(page, (size_t)(bar - page));
	if (http_iso8601_parse(after, &ms) < 0) {
		free(after);
		return -EINVAL;
	}
	*ret_after = after;
	*ret_no = strtol(bar + 1, NULL, 10);
	return *ret_no >= 1 ? 0 : (free(after), -EINVAL);
}

static void gitlab_poll(void *conn, const char *tracker_project, const char *since,
                        const char *page, connector_cb cb, void *ud)
{
	struct gl_op *op = gl_op_new(conn, GL_POLL, cb, ud);
	snprintf(op->what, sizeof(op->what), "poll");
	if (!gl_op_project(op, tracker_project))
		return;
	op->since = ts_strdup(since);
	op->page_no = 1;
	if (page) {
		op->from_token = true;
		if (gl_parse_page(page, &op->page_after, &op->page_no) < 0) {
			gl_fail(op, CONNECTOR_FAILED, "poll page token '%.80s' is not AFTER|PAGE",
			        page);
			return;
		}
	} else if (since) {
		int64_t ms;
		if (http_iso8601_parse(since, &ms) < 0) {
			gl_fail(op, CONNECTOR_FAILED, "poll cursor '%.80s' is not an ISO 8601 time",
			        since);
			return;
		}
		char iso[32];
		gitlab_format_iso(ms - GITLAB_POLL_OVERLAP_MS, iso);
		op->page_after = ts_strdup(iso);
	}
	struct ts_buf b = {0};
	ts_buf_printf(&b, "/projects/%s/issues?labels=%s&state=all", op->seg,
	              CONNECTOR_COMMON_LABEL);
	if (op->page_after) {
		char *enc = gitlab_project_segment(op->page_after);
		ts_buf_printf(&b, "&updated_after=%s", enc);
		free(enc);
	}
	ts_buf_printf(&b, "&order_by=updated_at&sort=asc&per_page=%d&page=%ld", GITLAB_PER_PAGE,
	              op->page_no);
	gl_send(op, "GET", b.data, NULL);
	ts_buf_free(&b);
}

/* --------------------------------------------------------- the answers */

static bool gl_has_next(const struct http_response *resp)
{
	const char *next = http_response_header(resp, "X-Next-Page");
	if (next && *next)
		return true;
	const char *link = http_response_header(resp, "Link");
	return link && strstr(link, "rel=\"next\"") != NULL;
}

static int64_t gl_ms(const char *iso)
{
	int64_t ms;
	return iso && http_iso8601_parse(iso, &ms) == 0 ? ms : INT64_MIN;
}

static void gl_poll_done(struct gl_op *op, const struct http_response *resp)
{
	json_t *doc = gl_body(op, resp, true);
	if (!doc)
		return;
	size_t n = json_array_size(doc);
	op->res.issues = ts_calloc(n ? n : 1, sizeof(*op->res.issues));
	const char *newest = NULL;
	int64_t newest_ms = INT64_MIN;
	size_t i;
	json_t *o;
	json_array_foreach (doc, i, o) {
		struct remote_issue *ri = &op->res.issues[op->res.n_issues];
		if (gitlab_issue_parse(o, op->project, ri) < 0)
			continue;
		op->res.n_issues++;
		int64_t ms = gl_ms(ri->updated);
		if (ms != INT64_MIN && ms >= newest_ms) {
			newest_ms = ms;
			newest = ri->updated;
		}
	}
	int64_t after_ms = gl_ms(op->page_after);
	if (gl_has_next(resp)) {
		if (newest && newest_ms > after_ms)
			op->res.next_page = ts_asprintf("%s|1", newest);
		else if (op->page_after)
			op->res.next_page = ts_asprintf("%s|%ld", op->page_after, op->page_no + 1);
		else
			op->res.next_page =
			    ts_asprintf("1970-01-01T00:00:00.000Z|%ld", op->page_no + 1);
	} else {
		/* Last page: the items are in updated_at order, so the newest of
		 * the walk is on it, else it is the time the token carried (an
		 * issue that moved on meanwhile), else the caller's cursor. */
		const char *best = op->since;
		int64_t best_ms = gl_ms(op->since);
		if (op->from_token && after_ms > best_ms) {
			best = op->page_after;
			best_ms = after_ms;
		}
		if (newest && newest_ms > best_ms)
			best = newest;
		op->res.cursor = ts_strdup(best);
	}
	json_decref(doc);
	op->res.status = CONNECTOR_OK;
	gl_op_finish(op);
}

static void gl_find_done(struct gl_op *op, const struct http_response *resp)
{
	json_t *doc = gl_body(op, resp, true);
	if (!doc)
		return;
	if (json_array_size(doc) > 0) {
		if (!gl_take_issue(op, resp, json_array_get(doc, 0))) {
			json_decref(doc);
			return;
		}
		op->res.found = true;
		if (json_array_size(doc) > 1)
			snprintf(
			    op->res.error, sizeof(op->res.error),
			    "more than one issue of project %s carries %s: using the oldest, %s",
			    op->project, op->res.issue.marker ? op->res.issue.marker : "the marker",
			    op->res.issue.key);
	}
	json_decref(doc);
	op->res.status = CONNECTOR_OK;
	gl_op_finish(op);
}

/* Whether a note with exactly this body is among the notes listed. */
static bool gl_note_present(const json_t *notes, const char *text)
{
	size_t i;
	const json_t *n;
	json_array_foreach (notes, i, n) {
		const char *b = json_string_value(json_object_get(n, "body"));
		if (b && strcmp(b, text) == 0)
			return true;
	}
	return false;
}

/* set_state after the read: done, or one PUT with state_event and the swap of
 * the scoped status label (the other threatsync:: labels removed, as GitLab's
 * exclusive scoped labels would do). */
static void gl_state_read(struct gl_op *op, const json_t *issue)
{
	const char *state = json_string_value(json_object_get(issue, "state"));
	bool closed = state && strcmp(state, "closed") == 0;
	bool want_closed = op->want == CONNECTOR_STATE_CLOSED;
	if (closed == want_closed) {
		if (!op->reason) {
			op->res.status = CONNECTOR_OK;
			gl_op_finish(op);
			return;
		}
		/* A retry after the state changed but the note was lost: post
		 * the reason unless it is already there. */
		op->step = GL_STEP_NOTES;
		char *path = ts_asprintf("/projects/%s/issues/%ld/notes?order_by=created_at&sort="
		                         "desc&per_page=100",
		                         op->seg, op->iid);
		gl_send(op, "GET", path, NULL);
		free(path);
		return;
	}
	const char *add = want_closed ? GITLAB_LABEL_DONE : GITLAB_LABEL_TODO;
	struct ts_buf rm = {0};
	size_t i;
	const json_t *l;
	json_array_foreach (json_object_get(issue, "labels"), i, l) {
		const char *name = json_string_value(l);
		if (name && strncmp(name, GITLAB_LABEL_SCOPE, strlen(GITLAB_LABEL_SCOPE)) == 0 &&
		    !strstr(name + strlen(GITLAB_LABEL_SCOPE), "::") && strcmp(name, add) != 0 &&
		    gl_label_ok(name))
			ts_buf_printf(&rm, "%s%s", rm.len ? "," : "", name);
	}
	json_t *body = json_pack("{s:s, s:s}", "state_event", want_closed ? "close" : "reopen",
	                         "add_labels", add);
	if (rm.len)
		json_object_set_new(body, "remove_labels", json_string(rm.data));
	ts_buf_free(&rm);
	op->step = GL_STEP_WRITE;
	char *path = ts_asprintf("/projects/%s/issues/%ld", op->seg, op->iid);
	gl_send(op, "PUT", path, body);
	free(path);
	json_decref(body);
}

static void gl_set_state_done(struct gl_op *op, const struct http_response *resp)
{
	switch (op->step) {
	case GL_STEP_MAIN:
	case GL_STEP_WRITE: {
		json_t *doc = gl_body(op, resp, false);
		if (!doc)
			return;
		if (!gl_take_issue(op, resp, doc)) {
			json_decref(doc);
			return;
		}
		if (op->step == GL_STEP_MAIN) {
			gl_state_read(op, doc);
		} else if (op->reason) {
			op->step = GL_STEP_NOTE;
			gl_post_note(op, op->reason);
		} else {
			op->res.status = CONNECTOR_OK;
			gl_op_finish(op);
		}
		json_decref(doc);
		return;
	}
	case GL_STEP_NOTES: {
		json_t *doc = gl_body(op, resp, true);
		if (!doc)
			return;
		bool present = gl_note_present(doc, op->reason);
		json_decref(doc);
		if (present) {
			op->res.status = CONNECTOR_OK;
			gl_op_finish(op);
		} else {
			op->step = GL_STEP_NOTE;
			gl_post_note(op, op->reason);
		}
		return;
	}
	case GL_STEP_NOTE:
		op->res.status = CONNECTOR_OK;
		gl_op_finish(op);
		return;
	}
}

/* find_notice: the issue read, then its notes page by page until the
 * marker, the last page or CONNECTOR_NOTICE_SCAN notes. */
static void gl_notice_done(struct gl_op *op, const struct http_response *resp)
{
	if (op->step == GL_STEP_MAIN) {
		json_t *doc = gl_body(op, resp, false);
		if (!doc)
			return;
		bool ok = gl_take_issue(op, resp, doc);
		json_decref(doc);
		if (!ok)
			return;
		op->res.found = true;
		op->step = GL_STEP_NOTES;
		op->page_no = 1;
		gl_notice_page(op);
		return;
	}
	json_t *doc = gl_body(op, resp, true);
	if (!doc)
		return;
	size_t i;
	const json_t *n;
	json_array_foreach (doc, i, n) {
		if (op->scanned >= CONNECTOR_NOTICE_SCAN)
			break;
		op->scanned++;
		const char *b = json_string_value(json_object_get(n, "body"));
		if (b && strstr(b, op->reason)) {
			op->res.notice_present = true;
			break;
		}
	}
	bool more = json_array_size(doc) > 0 && gl_has_next(resp);
	json_decref(doc);
	if (!op->res.notice_present && more && op->scanned < CONNECTOR_NOTICE_SCAN) {
		op->page_no++;
		gl_notice_page(op);
		return;
	}
	op->res.status = CONNECTOR_OK;
	gl_op_finish(op);
}

static void gl_http_cb(const struct http_response *resp, void *ud)
{
	struct gl_op *op = ud;
	op->in_http_cb = true;
	if (op->kind == GL_GET && resp->outcome == HTTP_OK && resp->status == 404) {
		char msg[256];
		gitlab_error_text(resp->body, resp->body_len, msg, sizeof(msg));
		if (!gl_project_missing(msg)) {
			op->res.http_status = 404;
			op->res.status = CONNECTOR_OK;
			op->res.found = false;
			gl_op_finish(op);
			return;
		}
	}
	if (gl_check(op, resp, gl_unsafe(op)))
		return;
	switch (op->kind) {
	case GL_CREATE:
	case GL_UPDATE:
	case GL_GET: {
		json_t *doc = gl_body(op, resp, false);
		if (!doc)
			return;
		bool ok = gl_take_issue(op, resp, doc);
		json_decref(doc);
		if (!ok)
			return;
		op->res.found = true;
		op->res.status = CONNECTOR_OK;
		gl_op_finish(op);
		return;
	}
	case GL_FIND:
		gl_find_done(op, resp);
		return;
	case GL_POLL:
		gl_poll_done(op, resp);
		return;
	case GL_SET_STATE:
		gl_set_state_done(op, resp);
		return;
	case GL_COMMENT:
		op->res.status = CONNECTOR_OK;
		gl_op_finish(op);
		return;
	case GL_NOTICE:
		gl_notice_done(op, resp);
		return;
	}
}

/* ------------------------------------------------------- open and close */

static int gitlab_open(struct http_client *client, const struct config_connector *cfg,
                       void **ret_conn, struct ts_err *err)
{
	if (cfg->type != CONFIG_CONNECTOR_GITLAB)
		return ts_err_set(err, TS_E_INTERNAL, "connector '%s' (line %d) is not a GitLab one",
		                  cfg->name, cfg->line);
	if (!cfg->base_url || !*cfg->base_url)
		return ts_err_set(err, TS_E_CONFIG, "connector '%s' (line %d): base_url is required",
		                  cfg->name, cfg->line);
	if (!cfg->token.value || strchr(cfg->token.value, '\n') || strchr(cfg->token.value, '\r'))
		return ts_err_set(err, TS_E_CONFIG,
		                  "connector '%s' (line %d): token_file must hold one GitLab "
		                  "personal, group or project access token",
		                  cfg->name, cfg->line);
	struct gitlab *gl = ts_calloc(1, sizeof(*gl));
	gl->cfg = cfg;
	gl->loop = http_client_loop(client);
	char *name = ts_asprintf("gitlab %s", cfg->name);
	struct http_endpoint_opts o = {.name = name,
	                               .label = cfg->name,
	                               .concurrency = cfg->concurrency,
	                               .rate_per_second = cfg->rate_per_second,
	                               .burst = cfg->burst,
	                               .connect_timeout_ms = cfg->connect_timeout_ms,
	                               .request_timeout_ms = cfg->request_timeout_ms,
	                               .ca_bundle = cfg->ca_bundle,
	                               .proxy = cfg->proxy,
	                               .max_attempts = cfg->max_attempts};
	struct ts_err e;
	ts_err_clear(&e);
	int r = http_endpoint_opts_check(&o, &e);
	if (r == 0)
		r = http_endpoint_new(client, &o, &gl->ep);
	free(name);
	if (r < 0) {
		free(gl);
		if (r == -ECANCELED) {
			ts_err_set(err, TS_E_INTERNAL, "connector '%s': the HTTP client is closing",
			           cfg->name);
			return -ECANCELED;
		}
		return ts_err_set(err, TS_E_CONFIG, "connector '%s' (line %d): %s", cfg->name,
		                  cfg->line, e.msg[0] ? e.msg : "bad HTTP options");
	}
	gl->api = ts_asprintf("%s/api/v4", cfg->base_url);
	gl->auth = ts_asprintf("PRIVATE-TOKEN: %s", cfg->token.value);
	*ret_conn = gl;
	return 0;
}

static void gitlab_close(void *conn)
{
	struct gitlab *gl = conn;
	if (!gl || gl->closing)
		return;
	gl->closing = true;
	gl->in_close = true;
	/* Cancels what is queued or in flight: their callbacks run now. */
	struct http_endpoint *ep = gl->ep;
	gl->ep = NULL;
	http_endpoint_free(ep);
	gl->in_close = false;
	if (gl->pending == 0)
		gl_free(gl);
}

static int gitlab_rebind(void *conn, const struct config_connector *cfg)
{
	struct gitlab *gl = conn;
	if (!connector_same_connection(gl->cfg, cfg))
		return -EINVAL;
	gl->cfg = cfg;
	return 0;
}

const struct connector_ops gitlab_connector_ops = {
    .type = "gitlab",
    .open = gitlab_open,
    .close = gitlab_close,
    .rebind = gitlab_rebind,
    .create = gitlab_create,
    .find_marker = gitlab_find_marker,
    .update = gitlab_update,
    .set_state = gitlab_set_state,
    .comment = gitlab_comment,
    .notice_text = gitlab_notice_text,
    .find_notice = gitlab_find_notice,
    .poll = gitlab_poll,
    .get = gitlab_get,
    .parse_webhook = gitlab_parse_webhook,
};
