/* SPDX-License-Identifier: Apache-2.0 */
/* The Jira connector: Cloud (REST v3, ADF descriptions, Basic e-mail:token) and
 * Server/Data Center (REST v2, wiki markup, Bearer PAT) on the shared HTTP client. */
#include "connectors/jira.h"
#include "connectors/jira_internal.h"
#include "connectors/render.h"
#include "connectors/ticket_doc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/tracking/fieldmap.h"
#include "engine/tracking/marker.h"

/* Fields every read asks for (statusCategory comes inside status). */
#define JIRA_FIELDS "summary,status,labels,updated,resolution"

/* The issue property threatsync writes with every create and update (the
 * second marker; the label is the primary one). */
#define JIRA_PROPERTY "threatsync"

struct jira_op;
typedef void (*jira_step_fn)(struct jira_op *op, const struct http_response *r);

struct jira_conn {
	const struct config_connector *cfg; /* borrowed, outlives the connector */
	struct http_endpoint *ep;
	uv_loop_t *loop;
	bool cloud;
	char *api;  /* base_url + "/rest/api/3" or "/rest/api/2" */
	char *auth; /* the whole Authorization header line: secret, wiped on free */
	int lookup_attempts;
	int lookup_delay_ms;
	bool tz_known; /* the API user's zone was fetched (tz NULL then means UTC) */
	struct jira_tz *tz;
	/* Told when a lookup waits on its timer and when it resumes
	 * (connector_ops.set_wait_cb), or NULL. */
	void (*wait_cb)(void *ud, bool waiting);
	struct jira_op *ops; /* in progress, doubly linked */
	size_t n_ops;
	bool closing;
	bool in_close;
};

struct jira_op {
	struct jira_conn *c;
	struct jira_op *prev, *next;
	connector_cb cb;
	void *ud;
	struct connector_result res;
	jira_step_fn step;  /* what handles the answer of the request in flight */
	char what[160];     /* "METHOD /rest/api/N/path" of that request, for messages */
	bool nonidempotent; /* that request is a POST */
	uv_timer_t timer;   /* lookup delays and deferred results */
	bool timer_init;
	void (*timer_fn)(struct jira_op *op);
	char *key;
	char *marker;
	char *project;
	char *text;       /* comment text / transition reason / poll page token */
	char *since;      /* poll */
	char *new_cursor; /* poll: the cursor it stores, from its first page */
	enum connector_state want;
	int lookups;
	int start_at; /* find_notice: the next page of comments starts here */
	int scanned;  /* find_notice: comments read so far */
};

/* ---- connector lifetime ---- */

static void conn_free(struct jira_conn *c)
{
	if (c->auth) {
		explicit_bzero(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c->api);
	jira_tz_free(c->tz);
	free(c);
}

static void op_timer_closed_cb(uv_handle_t *h)
{
	free(h->data);
}

static void op_free(struct jira_op *op)
{
	connector_result_clear(&op->res);
	free(op->key);
	free(op->marker);
	free(op->project);
	free(op->text);
	free(op->since);
	free(op->new_cursor);
	if (op->timer_init) {
		/* The memory outlives the handle: freed in its close callback. */
		op->timer.data = op;
		uv_close((uv_handle_t *)&op->timer, op_timer_closed_cb);
	} else {
		free(op);
	}
}

/* Delivers op's result (exactly once) and releases op; frees a closing
 * connector after its last delivery. */
static void op_finish(struct jira_op *op)
{
	struct jira_conn *c = op->c;
	if (op->prev)
		op->prev->next = op->next;
	else
		c->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->cb(op->ud, &op->res);
	op_free(op);
	c->n_ops--;
	if (c->closing && !c->in_close && c->n_ops == 0)
		conn_free(c);
}

static struct jira_op *op_new(struct jira_conn *c, connector_cb cb, void *ud)
{
	struct jira_op *op = ts_calloc(1, sizeof(*op));
	op->c = c;
	op->cb = cb;
	op->ud = ud;
	op->next = c->ops;
	if (c->ops)
		c->ops->prev = op;
	c->ops = op;
	c->n_ops++;
	return op;
}

static void op_timer_cb(uv_timer_t *t)
{
	struct jira_op *op = t->data;
	op->timer_fn(op);
}

/* Runs fn(op) after delay_ms on the loop. */
static void op_later(struct jira_op *op, uint64_t delay_ms, void (*fn)(struct jira_op *op))
{
	if (!op->timer_init) {
		uv_timer_init(op->c->loop, &op->timer);
		op->timer_init = true;
	}
	op->timer.data = op;
	op->timer_fn = fn;
	uv_timer_start(&op->timer, op_timer_cb, delay_ms, 0);
}

/* Delivers op's result from the loop, never from inside the caller's call. */
static void op_finish_later(struct jira_op *op)
{
	op_later(op, 0, op_finish);
}

static void op_fail(struct jira_op *op, enum connector_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void op_fail(struct jira_op *op, enum connector_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->res.error, sizeof(op->res.error), fmt, ap);
	va_end(ap);
	op->res.status = st;
}

/* ---- requests ---- */

static void on_http(const struct http_response *r, void *ud)
{
	struct jira_op *op = ud;
	op->step(op, r);
}

/* Sends METHOD api+path (path may carry a query) with body (stolen, may be
 * NULL); step handles the answer. A request that cannot be queued ends op. */
/* Sends METHOD path with the JSON text (NULL: no body); takes path and
 * text. */
static void op_send_text(struct jira_op *op, const char *method, char *path, char *text,
                         jira_step_fn step)
{
	struct jira_conn *c = op->c;
	if (c->closing) {
		op_fail(op, CONNECTOR_CANCELLED, "jira '%s': connector closing", c->cfg->name);
		op_finish_later(op);
		free(path);
		free(text);
		return;
	}
	char *url = ts_asprintf("%s%s", c->api, path);
	const char *hdr_json[] = {"Accept: application/json",
	                          "Content-Type: application/json; charset=utf-8", NULL};
	const char *hdr_get[] = {"Accept: application/json", NULL};
	size_t plen = strcspn(path, "?");
	const char *v = c->cloud ? "3" : "2";
	snprintf(op->what, sizeof(op->what), "%s /rest/api/%s%.*s", method, v, (int)plen, path);
	op->nonidempotent = strcmp(method, "POST") == 0;
	op->step = step;
	struct http_request req = {
	    .method = method,
	    .url = url,
	    .headers = text ? hdr_json : hdr_get,
	    .body = text,
	    .body_len = text ? strlen(text) : 0,
	    .auth_header = c->auth,
	};
	int rc = http_submit(c->ep, &req, on_http, op);
	if (rc < 0) {
		op_fail(op, connector_classify_submit(rc, &op->res.retry_after_ms),
		        "jira '%s': %s: cannot queue the request (%s)", c->cfg->name, op->what,
		        strerror(-rc));
		op_finish_later(op);
	}
	free(text);
	free(url);
	free(path);
}

/* The same with a JSON body (NULL: none), which it takes. */
static void op_send(struct jira_op *op, const char *method, char *path, json_t *body,
                    jira_step_fn step)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	op_send_text(op, method, path, text, step);
}

/* The tracker's own message: errorMessages joined, then errors as "field:
 * message", or Data Center's "message"; a short text body as is; nothing
 * from an HTML page. */
static void tracker_message(const struct http_response *r, char *out, size_t cap)
{
	out[0] = '\0';
	json_error_t jerr;
	json_t *j = json_loadb(r->body, r->body_len, 0, &jerr);
	struct ts_buf b = {0};
	if (json_is_object(j)) {
		size_t i;
		json_t *v;
		json_array_foreach (json_object_get(j, "errorMessages"), i, v) {
			if (json_string_value(v))
				ts_buf_printf(&b, "%s%s", b.len ? "; " : "", json_string_value(v));
		}
		const char *k;
		json_object_foreach (json_object_get(j, "errors"), k, v) {
			if (json_string_value(v))
				ts_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", k,
				              json_string_value(v));
		}
		const char *m = json_string_value(json_object_get(j, "message"));
		if (!b.len && m)
			ts_buf_puts(&b, m);
	} else if (r->body_len > 0 && r->body[0] != '<' && !strstr(r->body, "<html") &&
	           !strstr(r->body, "<HTML")) {
		for (size_t i = 0; i < r->body_len && b.len < 300; i++) {
			char ch = r->body[i];
			ts_buf_append(
			    &b, ch == '\n' || ch == '\r' || ch == '\t' || ch == '\0' ? " " : &ch,
			    1);
		}
	}
	json_decref(j);
	if (b.data)
		snprintf(out, cap, "%s", b.data);
	ts_buf_free(&b);
}

void jira_tracker_message_for_fuzzing(const char *body, size_t body_len, char *out, size_t cap)
{
	struct http_response r = {.outcome = HTTP_OK, .body = (char *)body, .body_len = body_len};
	tracker_message(&r, out, cap);
}

/* Whether r is a 2xx answer; else op->res says how the operation ended
 * (connector_classify), with the tracker's own words. */
static bool op_ok(struct jira_op *op, const struct http_response *r)
{
	const char *name = op->c->cfg->name;
	op->res.http_status = r->status;
	op->res.status = connector_classify(r, op->nonidempotent, true, ts_now_ms(),
	                                    &op->res.retry_after_ms);
	if (op->res.status == CONNECTOR_OK)
		return true;
	switch (r->outcome) {
	case HTTP_CANCELLED:
		snprintf(op->res.error, sizeof(op->res.error), "jira '%s': %s: cancelled", name,
		         op->what);
		return false;
	case HTTP_FAILED:
		snprintf(op->res.error, sizeof(op->res.error), "jira '%s': %s: %s", name, op->what,
		         r->error);
		return false;
	case HTTP_OUTCOME_UNKNOWN:
		snprintf(op->res.error, sizeof(op->res.error),
		         "jira '%s': %s: no complete answer (%s)", name, op->what, r->error);
		return false;
	case HTTP_OK:
		break;
	}
	char msg[700];
	tracker_message(r, msg, sizeof(msg));
	const char *sep = msg[0] ? ": " : "";
	if (r->status == 401 || r->status == 403)
		snprintf(op->res.error, sizeof(op->res.error),
		         "jira '%s': %s: HTTP %ld: the API token was refused or its user lacks "
		         "permission (check the connector's %s and the user's project "
		         "permissions)%s%s",
		         name, op->what, r->status,
		         op->c->cloud ? "e-mail and API token" : "personal access token", sep, msg);
	else if (r->status == 429)
		snprintf(op->res.error, sizeof(op->res.error), "jira '%s': %s: HTTP 429: rate limited",
		         name, op->what);
	else
		snprintf(op->res.error, sizeof(op->res.error), "jira '%s': %s: HTTP %ld%s%s", name,
		         op->what, r->status, sep, msg);
	return false;
}

/* The JSON body of a 2xx answer, or NULL with op->res set by
 * connector_classify (a malformed body after a write means its outcome is
 * unknown; after a read it is transient). New reference. */
static json_t *op_json(struct jira_op *op, const struct http_response *r)
{
	json_error_t jerr;
	json_t *j = json_loadb(r->body, r->body_len, 0, &jerr);
	if (json_is_object(j))
		return j;
	json_decref(j);
	op->res.status = connector_classify(r, op->nonidempotent, false, ts_now_ms(),
	                                    &op->res.retry_after_ms);
	snprintf(op->res.error, sizeof(op->res.error),
	         "jira '%s': %s: HTTP %ld with an unreadable JSON body (%s)", op->c->cfg->name,
	         op->what, r->status, jerr.text);
	return NULL;
}

/* The JSON object of a successful answer (new reference); otherwise the
 * failure is recorded, op finished, and NULL returned. */
static json_t *op_answer(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_ok(op, r) ? op_json(op, r) : NULL;
	if (!j)
		op_finish(op);
	return j;
}

/* ---- issues ---- */

static char *jdup(const json_t *o, const char *key)
{
	return ts_strdup(json_string_value(json_object_get(o, key)));
}

char *jira_user_name(const json_t *user)
{
	const char *names[] = {"emailAddress", "name", "displayName", "accountId"};
	for (size_t n = 0; n < TS_ARRAY_SIZE(names); n++) {
		const char *v = json_string_value(json_object_get(user, names[n]));
		if (v && *v)
			return ts_strdup(v);
	}
	return NULL;
}

/* Who made the issue's last status change, from its changelog (present
 * when the issue was read with expand=changelog): the author of the latest
 * history holding a status item. New string or NULL. */
static char *status_actor(const json_t *issue)
{
	const json_t *best = NULL;
	const char *best_at = NULL;
	size_t i, k;
	json_t *h, *it;
	json_array_foreach (json_object_get(json_object_get(issue, "changelog"), "histories"), i,
	                    h) {
		const char *at = json_string_value(json_object_get(h, "created"));
		bool status = false;
		json_array_foreach (json_object_get(h, "items"), k, it) {
			const char *f = json_string_value(json_object_get(it, "field"));
			status |= f && strcmp(f, "status") == 0;
		}
		/* Jira timestamps of one zone compare as text; a tie goes to the
		 * later entry (the list is oldest first). */
		if (status && at && (!best_at || strcmp(at, best_at) >= 0)) {
			best = h;
			best_at = at;
		}
	}
	return jira_user_name(json_object_get(best, "author"));
}

/* A string or an integer as text (ids are either, depending on the
 * deployment and the payload). New string or NULL. */
static char *jid(const json_t *v)
{
	if (json_is_string(v))
		return ts_strdup(json_string_value(v));
	if (json_is_integer(v))
		return ts_asprintf("%lld", (long long)json_integer_value(v));
	return NULL;
}

void jira_issue_read(const struct config_connector *cfg, const json_t *j, struct remote_issue *ri)
{
	remote_issue_clear(ri);
	ri->key = jdup(j, "key");
	ri->id = jid(json_object_get(j, "id"));
	if (ri->key)
		ri->url = ts_asprintf("%s/browse/%s", cfg->base_url, ri->key);
	const json_t *f = json_object_get(j, "fields");
	const json_t *st = json_object_get(f, "status");
	ri->status = jdup(st, "name");
	ri->status_category = jdup(json_object_get(st, "statusCategory"), "key");
	ri->resolution = jdup(json_object_get(f, "resolution"), "name");
	ri->updated = jdup(f, "updated");
	ri->actor = status_actor(j);
	size_t i;
	json_t *l;
	json_array_foreach (json_object_get(f, "labels"), i, l) {
		if (marker_valid(json_string_value(l))) {
			ri->marker = ts_strdup(json_string_value(l));
			break;
		}
	}
}

/* A label Jira accepts: whitespace replaced by '-', at most 255 bytes. NULL
 * for an empty one. New string. */
static char *label_clean(const char *s)
{
	if (!s || !*s)
		return NULL;
	size_t n = strlen(s);
	if (n > 255) {
		n = 255;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	char *out = ts_strndup(s, n);
	for (char *p = out; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
			*p = '-';
	return out;
}

static void label_add(json_t *labels, const char *raw)
{
	char *l = label_clean(raw);
	if (!l)
		return;
	size_t i;
	json_t *v;
	json_array_foreach (labels, i, v) {
		if (strcmp(json_string_value(v), l) == 0) {
			free(l);
			return;
		}
	}
	json_array_append_new(labels, json_string(l));
	free(l);
}

/* The labels threatsync owns on a ticket: the common one, the marker, the
 * connector's and the project's configured labels. New reference. */
static json_t *owned_labels(const struct jira_conn *c, const struct ticket_spec *t)
{
	json_t *labels = json_array();
	label_add(labels, CONNECTOR_COMMON_LABEL);
	label_add(labels, t->marker);
	for (char **l = c->cfg->labels; l && *l; l++)
		label_add(labels, *l);
	for (const char *const *l = t->labels; l && *l; l++)
		label_add(labels, *l);
	return labels;
}

/* One line of at most 255 bytes, cut on a UTF-8 character boundary. */
static char *summary_clean(const char *s)
{
	char *out = ts_strdup(s ? s : "");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(out);
	if (n > 255) {
		n = 255;
		while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
			n--;
		out[n] = '\0';
	}
	return out;
}

static char *description(const struct jira_conn *c, const struct ticket_spec *t)
{
	struct ticket_doc d = {0};
	ticket_doc_build(&d, t);
	char *out;
	if (c->cloud) {
		out = render_adf(&d);
	} else {
		char *wiki = render_wiki(&d);
		json_t *j = json_string(wiki);
		out = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		free(wiki);
	}
	ticket_doc_clear(&d);
	return out;
}

/* A comment body, its markdown read as a ticket document: ADF on Cloud,
 * wiki markup on Data Center. New reference. */
static json_t *comment_body(const struct jira_conn *c, const char *text)
{
	struct ticket_doc d = {0};
	ticket_doc_markdown(&d, text);
	json_t *out;
	if (c->cloud) {
		out = render_adf_json(&d);
	} else {
		char *wiki = render_wiki(&d);
		out = json_string(wiki);
		free(wiki);
	}
	ticket_doc_clear(&d);
	return out;
}

/* A write's description, serialised once: the text is hashed with the
 * summary and spliced into the request body, so the ADF tree of a ticket is
 * dumped once, not once for the hash and again for the body. */
struct written {
	char *description; /* JSON text, keys sorted */
	char hash[65];     /* hex SHA-256 of what threatsync wrote: summary and description */
};

/* The content hash is the SHA-256 of {"description": D, "summary": S} in
 * compact JSON with sorted keys (what reconciliation compares with). */
static void written_init(struct written *w, const struct jira_conn *c, const struct ticket_spec *t,
                         const char *summary)
{
	w->description = description(c, t);
	json_t *sj = json_string(summary);
	char *st = sj ? json_dumps(sj, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(sj);
	struct ts_buf h = {0};
	ts_buf_puts(&h, "{\"description\":");
	ts_buf_puts(&h, w->description ? w->description : "null");
	ts_buf_puts(&h, ",\"summary\":");
	ts_buf_puts(&h, st ? st : "null");
	ts_buf_puts(&h, "}");
	ts_sha256_hex(h.data, h.len, w->hash);
	ts_buf_free(&h);
	free(st);
}

/* {"fields": FIELDS with "description" first, then EXTRA's members}: the
 * request body, new string. FIELDS does not hold the description; EXTRA is
 * a non-empty object. Takes neither. */
static char *written_body(const struct written *w, const json_t *fields, const json_t *extra)
{
	char *f = json_dumps(fields, JSON_COMPACT);
	char *x = json_dumps(extra, JSON_COMPACT);
	bool more = f && strcmp(f, "{}") != 0;
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"fields\":{\"description\":");
	ts_buf_puts(&b, w->description ? w->description : "null");
	ts_buf_puts(&b, more ? "," : "");
	ts_buf_puts(&b, more ? f + 1 : "}");
	ts_buf_puts(&b, ",");
	ts_buf_puts(&b, x ? x + 1 : "}");
	free(f);
	free(x);
	return ts_buf_steal(&b);
}

/* A custom field's JSON value from its rendered text. New reference. */
static json_t *custom_value(enum fieldmap_kind kind, const char *text)
{
	switch (kind) {
	case FIELDMAP_NUMBER: {
		char *end = NULL;
		double d = strtod(text, &end);
		if (*text && end && !*end) {
			long long ll = (long long)d;
			return (double)ll == d ? json_integer(ll) : json_real(d);
		}
		return json_string(text);
	}
	case FIELDMAP_OPTION:
		return json_pack("{s:s}", "value", text);
	case FIELDMAP_ARRAY: {
		json_t *a = json_array();
		const char *p = text;
		while (*p) {
			size_t n = strcspn(p, ",");
			const char *b = p, *e = p + n;
			while (b < e && (*b == ' ' || *b == '\t'))
				b++;
			while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > b) {
				char *item = ts_strndup(b, (size_t)(e - b));
				json_array_append_new(a, json_string(item));
				free(item);
			}
			p += n;
			if (*p == ',')
				p++;
		}
		return a;
	}
	case FIELDMAP_STRING:
	default:
		return json_string(text);
	}
}

/* Sets the configured custom fields of t in fields: every one on a create,
 * only those configured with owned = true on an update. */
static void custom_fields(const struct jira_conn *c, const struct ticket_spec *t, json_t *fields,
                          bool update)
{
	const struct fieldmap *fm = c->cfg->fieldmap;
	if (!fm || fm->n_custom == 0)
		return;
	struct template_task tt = {
	    .severity = t->severity,
	    .priority = t->priority,
	    .body = t->body,
	    .cwe_names = t->cwe_names,
	    .due_date = t->due_date,
	    .project = t->project_slug,
	    .task = t->cm_uid,
	    .model_version = t->model_version,
	};
	for (size_t i = 0; i < fm->n_custom; i++) {
		const struct fieldmap_custom *f = &fm->custom[i];
		if (update && !f->owned)
			continue;
		char *text = template_render(f->value, &tt);
		json_object_set_new(fields, f->field, custom_value(f->kind, text));
		free(text);
	}
}

static char *issue_path(const char *key, const char *suffix)
{
	char *k = jira_url_escape(key);
	char *p = ts_asprintf("/issue/%s%s", k, suffix ? suffix : "");
	free(k);
	return p;
}

/* ---- open / close ---- */

static char *basic_auth(const char *email, const char *token)
{
	size_t n = strlen(email) + 1 + strlen(token);
	char *plain = ts_malloc(n + 1);
	snprintf(plain, n + 1, "%s:%s", email, token);
	size_t enc_cap = 4 * ((n + 2) / 3) + 1;
	unsigned char *enc = ts_malloc(enc_cap);
	EVP_EncodeBlock(enc, (const unsigned char *)plain, (int)n);
	char *line = ts_asprintf("Authorization: Basic %s", (char *)enc);
	explicit_bzero(plain, n);
	explicit_bzero(enc, enc_cap);
	free(plain);
	free(enc);
	return line;
}

static int jira_open(struct http_client *client, const struct config_connector *cfg,
                     void **ret_conn, struct ts_err *err)
{
	const char *name = cfg->name ? cfg->name : "?";
	if (cfg->type != CONFIG_CONNECTOR_JIRA)
		return ts_err_set(err, TS_E_CONFIG, "connector '%s' (line %d): not a Jira connector",
		                  name, cfg->line);
	if (!cfg->base_url || !*cfg->base_url)
		return ts_err_set(err, TS_E_CONFIG, "connector '%s' (line %d): base_url is required",
		                  name, cfg->line);
	if (!cfg->token.value || !*cfg->token.value)
		return ts_err_set(err, TS_E_CONFIG,
		                  "connector '%s' (line %d): token_file is required (%s)", name,
		                  cfg->line,
		                  cfg->flavor == CONFIG_JIRA_CLOUD ? "a Jira Cloud API token"
		                                                   : "a personal access token");
	if (cfg->flavor == CONFIG_JIRA_CLOUD && (!cfg->email || !*cfg->email))
		return ts_err_set(err, TS_E_CONFIG,
		                  "connector '%s' (line %d): email is required for Jira Cloud "
		                  "(the API token's user)",
		                  name, cfg->line);
	if (cfg->flavor == CONFIG_JIRA_CLOUD && strchr(cfg->email, ':'))
		return ts_err_set(err, TS_E_CONFIG,
		                  "connector '%s' (line %d): email must not contain ':'", name,
		                  cfg->line);
	struct http_endpoint_opts o = {
	    .name = name,
	    .label = cfg->name,
	    .concurrency = cfg->concurrency,
	    .rate_per_second = cfg->rate_per_second,
	    .burst = cfg->burst,
	    .connect_timeout_ms = cfg->connect_timeout_ms,
	    .request_timeout_ms = cfg->request_timeout_ms,
	    .ca_bundle = cfg->ca_bundle,
	    .proxy = cfg->proxy,
	    .max_attempts = cfg->max_attempts,
	};
	struct ts_err herr = {0};
	if (http_endpoint_opts_check(&o, &herr) < 0)
		return ts_err_set(err, TS_E_CONFIG, "connector '%s' (line %d): %s", name, cfg->line,
		                  herr.msg);
	struct jira_conn *c = ts_calloc(1, sizeof(*c));
	int rc = http_endpoint_new(client, &o, &c->ep);
	if (rc < 0) {
		free(c);
		return ts_err_set(err, rc == -ECANCELED ? TS_E_BUSY : TS_E_CONFIG,
		                  "connector '%s' (line %d): cannot create its HTTP endpoint: %s",
		                  name, cfg->line, strerror(-rc));
	}
	c->cfg = cfg;
	c->loop = http_client_loop(client);
	c->cloud = cfg->flavor == CONFIG_JIRA_CLOUD;
	c->api = ts_asprintf("%s/rest/api/%s", cfg->base_url, c->cloud ? "3" : "2");
	c->auth = c->cloud ? basic_auth(cfg->email, cfg->token.value)
	                   : ts_asprintf("Authorization: Bearer %s", cfg->token.value);
	c->lookup_attempts = JIRA_LOOKUP_ATTEMPTS;
	c->lookup_delay_ms = JIRA_LOOKUP_DELAY_MS;
	ts_err_clear(err);
	*ret_conn = c;
	return 0;
}

static void jira_close(void *conn)
{
	struct jira_conn *c = conn;
	if (!c)
		return;
	c->closing = true;
	c->in_close = true;
	/* Ops waiting on a timer end now; those with a request in flight end
	 * when freeing the endpoint cancels it. */
	struct jira_op *op = c->ops;
	while (op) {
		struct jira_op *next = op->next;
		if (op->timer_init && uv_is_active((uv_handle_t *)&op->timer)) {
			uv_timer_stop(&op->timer);
			/* A result already decided (a deferred delivery) stands. */
			if (op->timer_fn != op_finish)
				op_fail(op, CONNECTOR_CANCELLED, "jira '%s': connector closing",
				        c->cfg->name);
			op_finish(op);
		}
		op = next;
	}
	http_endpoint_free(c->ep);
	c->ep = NULL;
	c->in_close = false;
	if (c->n_ops == 0)
		conn_free(c);
}

static int jira_rebind(void *conn, const struct config_connector *cfg)
{
	struct jira_conn *c = conn;
	if (!connector_same_connection(c->cfg, cfg))
		return -EINVAL;
	c->cfg = cfg;
	return 0;
}

static void jira_set_wait_cb(void *conn, void (*wait_cb)(void *ud, bool waiting))
{
	struct jira_conn *c = conn;
	c->wait_cb = wait_cb;
}

void jira_set_lookup_retry(void *conn, int attempts, int delay_ms)
{
	struct jira_conn *c = conn;
	c->lookup_attempts = attempts < 1 ? 1 : attempts > 20 ? 20 : attempts;
	c->lookup_delay_ms = delay_ms < 0 ? 0 : delay_ms > 600000 ? 600000 : delay_ms;
}

/* ---- create ---- */

static void create_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	if (!json_string_value(json_object_get(j, "key"))) {
		op_fail(op,
		        connector_classify(r, op->nonidempotent, false, ts_now_ms(),
		                           &op->res.retry_after_ms),
		        "jira '%s': %s: HTTP %ld without an issue key",
		        op->c->cfg->name, op->what, r->status);
		json_decref(j);
		op_finish(op);
		return;
	}
	struct remote_issue *ri = &op->res.issue;
	ri->key = jdup(j, "key");
	ri->id = jdup(j, "id");
	ri->url = ts_asprintf("%s/browse/%s", op->c->cfg->base_url, ri->key);
	ri->marker = ts_strdup(op->marker);
	op->res.found = true;
	op->res.status = CONNECTOR_OK;
	json_decref(j);
	op_finish(op);
}

/* The body's "properties" list (IssueUpdateDetails, create and edit alike):
 * the threatsync issue property travels with the write itself, so a ticket
 * never exists without it and a create costs one request. */
static json_t *property_list(const struct ticket_spec *t, const char *hash)
{
	return json_pack("[{s:s, s:{s:s, s:s?, s:s?, s:s, s:i}}]", "key", JIRA_PROPERTY, "value",
	                 "marker", t->marker, "cm_uid", t->cm_uid, "project", t->project_slug,
	                 "content_hash", hash, "model_version", t->model_version);
}

static void jira_create(void *conn, const struct ticket_spec *t, connector_cb cb, void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->marker = ts_strdup(t->marker);
	char *summary = summary_clean(t->summary);
	struct written w;
	written_init(&w, c, t, summary);
	json_t *fields = json_pack(
	    "{s:{s:s}, s:s, s:{s:s}, s:o}", "project", "key",
	    t->tracker_project ? t->tracker_project : "", "summary", summary, "issuetype", "name",
	    c->cfg->issue_type ? c->cfg->issue_type : "Task", "labels", owned_labels(c, t));
	free(summary);
	const char *prio = fieldmap_priority(c->cfg->fieldmap, t->priority);
	if (prio)
		json_object_set_new(fields, "priority", json_pack("{s:s}", "name", prio));
	if (t->due_date && *t->due_date)
		json_object_set_new(fields, "duedate", json_string(t->due_date));
	custom_fields(c, t, fields, false);
	op->res.issue.content_hash = ts_strdup(w.hash);
	json_t *extra = json_pack("{s:o}", "properties", property_list(t, w.hash));
	char *body = written_body(&w, fields, extra);
	json_decref(extra);
	json_decref(fields);
	free(w.description);
	op_send_text(op, "POST", ts_strdup("/issue"), body, create_done);
}

/* ---- find_marker ---- */

static void find_lookup(struct jira_op *op);

static void find_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	json_t *issues = json_object_get(j, "issues");
	if (json_array_size(issues) > 0) {
		jira_issue_read(op->c->cfg, json_array_get(issues, 0), &op->res.issue);
		op->res.found = true;
		op->res.status = CONNECTOR_OK;
		json_decref(j);
		op_finish(op);
		return;
	}
	json_decref(j);
	if (op->lookups < op->c->lookup_attempts) {
		/* The search index may not show a recent create yet. The wait
		 * is a timer, not a request: the caller may use the slot. */
		op_later(op, (uint64_t)op->c->lookup_delay_ms, find_lookup);
		if (op->c->wait_cb)
			op->c->wait_cb(op->ud, true);
		return;
	}
	op->res.found = false;
	op->res.status = CONNECTOR_OK;
	op_finish(op);
}

/* The search request for jql; with changelog, each issue comes with its
 * changelog (the poll: who changed the status). */
static char *search_path(const struct jira_conn *c, const char *jql, int max, const char *page,
                         bool changelog)
{
	char *q = jira_url_escape(jql);
	char *tok = page ? jira_url_escape(page) : NULL;
	char *p;
	if (c->cloud)
		p = ts_asprintf("/search/jql?jql=%s&fields=" JIRA_FIELDS "&maxResults=%d%s%s%s", q,
		                max, tok ? "&nextPageToken=" : "", tok ? tok : "",
		                changelog ? "&expand=changelog" : "");
	else
		p = ts_asprintf("/search?jql=%s&fields=" JIRA_FIELDS "&maxResults=%d&startAt=%s%s",
		                q, max, tok ? tok : "0", changelog ? "&expand=changelog" : "");
	free(q);
	free(tok);
	return p;
}

static void find_lookup(struct jira_op *op)
{
	/* Back from a wait for the index: a request goes out again. */
	if (op->lookups > 0 && op->c->wait_cb)
		op->c->wait_cb(op->ud, false);
	op->lookups++;
	char *m = jira_jql_quote(op->marker);
	char *jql = ts_asprintf("labels = %s ORDER BY created ASC", m);
	op_send(op, "GET", search_path(op->c, jql, 10, NULL, false), NULL, find_done);
	free(jql);
	free(m);
}

static void jira_find_marker(void *conn, const char *tracker_project, const char *marker,
                             connector_cb cb, void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->project = ts_strdup(tracker_project);
	op->marker = ts_strdup(marker);
	if (!marker_valid(marker)) {
		op_fail(op, CONNECTOR_FAILED,
		        "jira '%s': find_marker: '%s' is not a threatsync marker", c->cfg->name,
		        marker ? marker : "(null)");
		op_finish_later(op);
		return;
	}
	find_lookup(op);
}

/* ---- update ---- */

static void update_done(struct jira_op *op, const struct http_response *r)
{
	if (!op_ok(op, r)) {
		op_finish(op);
		return;
	}
	op->res.status = CONNECTOR_OK;
	op->res.found = true;
	op_finish(op);
}

static void jira_update(void *conn, const char *key, const struct ticket_spec *t, connector_cb cb,
                        void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->key = ts_strdup(key);
	op->marker = ts_strdup(t->marker);
	char *summary = summary_clean(t->summary);
	struct written w;
	written_init(&w, c, t, summary);
	json_t *fields = json_pack("{s:s}", "summary", summary);
	free(summary);
	custom_fields(c, t, fields, true);
	/* Labels through the "add" verb: labels humans added stay. Priority and
	 * due date are left alone after the create: people re-prioritise. */
	json_t *adds = json_array();
	json_t *labels = owned_labels(c, t);
	size_t i;
	json_t *l;
	json_array_foreach (labels, i, l)
		json_array_append_new(adds, json_pack("{s:O}", "add", l));
	json_decref(labels);
	op->res.issue.key = ts_strdup(key);
	op->res.issue.url = ts_asprintf("%s/browse/%s", c->cfg->base_url, key);
	op->res.issue.marker = ts_strdup(t->marker);
	op->res.issue.content_hash = ts_strdup(w.hash);
	json_t *extra = json_pack("{s:{s:o}, s:o}", "update", "labels", adds, "properties",
	                          property_list(t, w.hash));
	char *body = written_body(&w, fields, extra);
	json_decref(extra);
	json_decref(fields);
	free(w.description);
	op_send_text(op, "PUT", issue_path(key, NULL), body, update_done);
}

/* ---- set_state ---- */

static bool want_reached(enum connector_state want, const char *category)
{
	bool done = category && strcmp(category, "done") == 0;
	return want == CONNECTOR_STATE_CLOSED ? done : !done;
}

static void transition_done(struct jira_op *op, const struct http_response *r)
{
	if (!op_ok(op, r)) {
		op_finish(op);
		return;
	}
	op->res.status = CONNECTOR_OK;
	op_finish(op);
}

/* Adds the transition_fields configured for the status pick leads to, as
 * far as its screen has them ("fields", present when the transitions were
 * read with expand=transitions.fields): Jira refuses fields off the screen.
 * -1 with *missing set when the screen requires a field not configured. */
static int transition_fields(const struct config_connector *cfg, const json_t *pick, json_t *body,
                             char *missing, size_t cap)
{
	const struct fieldmap *fm = cfg->fieldmap;
	const json_t *screen = json_object_get(pick, "fields");
	if (!fm || fm->n_transitions == 0 || !json_is_object(screen))
		return 0;
	const char *to = json_string_value(json_object_get(json_object_get(pick, "to"), "name"));
	json_t *set = json_object();
	for (size_t i = 0; to && i < fm->n_transitions; i++) {
		const struct fieldmap_transition *f = &fm->transitions[i];
		if (strcasecmp(f->to, to) != 0 || !json_object_get(screen, f->field))
			continue;
		bool named = strcmp(f->field, "resolution") == 0 ||
		             strcmp(f->field, "priority") == 0 || strcmp(f->field, "assignee") == 0;
		json_object_set_new(set, f->field,
		                    named ? json_pack("{s:s}", "name", f->value)
		                          : json_string(f->value));
	}
	const char *name;
	json_t *desc;
	json_object_foreach ((json_t *)screen, name, desc) {
		if (json_is_true(json_object_get(desc, "required")) &&
		    !json_is_true(json_object_get(desc, "hasDefaultValue")) &&
		    !json_object_get(set, name)) {
			snprintf(missing, cap, "%s", name);
			json_decref(set);
			return -1;
		}
	}
	if (json_object_size(set) > 0)
		json_object_set_new(body, "fields", set);
	else
		json_decref(set);
	return 0;
}

static void transitions_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	const struct config_connector *cfg = op->c->cfg;
	bool closing = op->want == CONNECTOR_STATE_CLOSED;
	const char *status = closing ? cfg->done_status : cfg->reopen_status;
	const char *category = closing ? "done" : "new";
	json_t *ts = json_object_get(j, "transitions");
	json_t *by_name = NULL, *by_cat = NULL, *t;
	size_t i;
	json_array_foreach (ts, i, t) {
		json_t *to = json_object_get(t, "to");
		const char *to_name = json_string_value(json_object_get(to, "name"));
		const char *to_cat = json_string_value(
		    json_object_get(json_object_get(to, "statusCategory"), "key"));
		if (!by_name && status && to_name && strcasecmp(to_name, status) == 0)
			by_name = t;
		if (!by_cat && to_cat && strcmp(to_cat, category) == 0)
			by_cat = t;
	}
	json_t *pick = by_name ? by_name : by_cat;
	const char *id = json_string_value(json_object_get(pick, "id"));
	if (!id) {
		struct ts_buf avail = {0};
		json_array_foreach (ts, i, t) {
			const char *tid = json_string_value(json_object_get(t, "id"));
			const char *tname = json_string_value(json_object_get(t, "name"));
			const char *to =
			    json_string_value(json_object_get(json_object_get(t, "to"), "name"));
			ts_buf_printf(&avail, "%s%s '%s' -> %s", avail.len ? ", " : "",
			              tid ? tid : "?", tname ? tname : "?", to ? to : "?");
		}
		op_fail(op, CONNECTOR_FAILED,
		        "jira '%s': %s: no transition of %s leads to status '%s' or category '%s'; "
		        "available: %s",
		        cfg->name, op->what, op->key, status ? status : "(not set)", category,
		        avail.len ? avail.data : "none");
		ts_buf_free(&avail);
		json_decref(j);
		op_finish(op);
		return;
	}
	json_t *to = json_object_get(pick, "to");
	struct remote_issue *ri = &op->res.issue;
	free(ri->status);
	free(ri->status_category);
	ri->status = jdup(to, "name");
	ri->status_category = jdup(json_object_get(to, "statusCategory"), "key");
	free(ri->resolution);
	ri->resolution = NULL;
	json_t *body = json_pack("{s:{s:s}}", "transition", "id", id);
	char missing[256];
	if (transition_fields(cfg, pick, body, missing, sizeof(missing)) < 0) {
		op_fail(op, CONNECTOR_FAILED,
		        "jira '%s': transition '%s' of %s requires the field '%s': set it with "
		        "transition_fields in the connector's configuration "
		        "(docs/field-mapping.md)",
		        cfg->name, json_string_value(json_object_get(pick, "name")), op->key,
		        missing);
		json_decref(body);
		json_decref(j);
		op_finish(op);
		return;
	}
	if (op->text && *op->text)
		json_object_set_new(body, "update",
		                    json_pack("{s:[{s:{s:o}}]}", "comment", "add", "body",
		                              comment_body(op->c, op->text)));
	json_decref(j);
	op_send(op, "POST", issue_path(op->key, "/transitions"), body, transition_done);
}

static void state_read(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	jira_issue_read(op->c->cfg, j, &op->res.issue);
	op->res.found = true;
	json_decref(j);
	if (want_reached(op->want, op->res.issue.status_category)) {
		op->res.status = CONNECTOR_OK;
		op_finish(op);
		return;
	}
	/* With transition_fields configured, read what each screen requires. */
	const struct fieldmap *fm = op->c->cfg->fieldmap;
	bool expand = fm && fm->n_transitions > 0;
	op_send(
	    op, "GET",
	    issue_path(op->key, expand ? "/transitions?expand=transitions.fields" : "/transitions"),
	    NULL, transitions_done);
}

static void jira_set_state(void *conn, const char *key, enum connector_state want,
                           const char *reason, connector_cb cb, void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->key = ts_strdup(key);
	op->want = want;
	op->text = ts_strdup(reason);
	op_send(op, "GET", issue_path(key, "?fields=" JIRA_FIELDS), NULL, state_read);
}

/* ---- comment ---- */

static void comment_done(struct jira_op *op, const struct http_response *r)
{
	if (op_ok(op, r))
		op->res.status = CONNECTOR_OK;
	op_finish(op);
}

static void jira_comment(void *conn, const char *key, const char *text, connector_cb cb, void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->key = ts_strdup(key);
	if (!text || !*text) {
		op_fail(op, CONNECTOR_FAILED, "jira '%s': comment on %s: empty text", c->cfg->name,
		        key);
		op_finish_later(op);
		return;
	}
	json_t *body = json_pack("{s:o}", "body", comment_body(c, text));
	op_send(op, "POST", issue_path(key, "/comment"), body, comment_done);
}

/* ---- notices ---- */

/* The notice's marker as Jira keeps it: a plain last line, the same in ADF,
 * in wiki markup and in either API version's rendering of the other. */
#define JIRA_NOTICE_PREFIX "threatsync notice "

static char *jira_notice_text(const char *text, const char *notice)
{
	if (!text || !*text)
		return ts_asprintf(JIRA_NOTICE_PREFIX "%s", notice);
	return ts_asprintf("%s\n\n" JIRA_NOTICE_PREFIX "%s", text, notice);
}

/* The text of an ADF node and its children, in document order. */
static void adf_text(const json_t *node, struct ts_buf *b, int depth)
{
	if (depth > 64 || !json_is_object(node))
		return;
	const char *t = json_string_value(json_object_get(node, "text"));
	if (t)
		ts_buf_puts(b, t);
	size_t i;
	const json_t *c;
	json_array_foreach (json_object_get(node, "content"), i, c)
		adf_text(c, b, depth + 1);
	ts_buf_puts(b, "\n");
}

/* Whether a comment's body (v3: ADF; v2: text) carries the marker. */
static bool comment_has(const json_t *body, const char *marker)
{
	if (json_is_string(body))
		return strstr(json_string_value(body), marker) != NULL;
	struct ts_buf b = {0};
	adf_text(body, &b, 0);
	bool found = b.data && strstr(b.data, marker);
	ts_buf_free(&b);
	return found;
}

static void notice_page(struct jira_op *op);

static void notice_comments_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	char marker[64];
	snprintf(marker, sizeof(marker), JIRA_NOTICE_PREFIX "%s", op->text);
	const json_t *cs = json_object_get(j, "comments");
	size_t i;
	const json_t *c;
	json_array_foreach (cs, i, c) {
		if (op->scanned >= CONNECTOR_NOTICE_SCAN)
			break;
		op->scanned++;
		if (comment_has(json_object_get(c, "body"), marker)) {
			op->res.notice_present = true;
			break;
		}
	}
	json_int_t total = json_integer_value(json_object_get(j, "total"));
	op->start_at += (int)json_array_size(cs);
	bool more = json_array_size(cs) > 0 && op->start_at < total;
	json_decref(j);
	if (!op->res.notice_present && more && op->scanned < CONNECTOR_NOTICE_SCAN) {
		notice_page(op);
		return;
	}
	op->res.status = CONNECTOR_OK;
	op_finish(op);
}

/* One page of the comments, newest first. */
static void notice_page(struct jira_op *op)
{
	int want = CONNECTOR_NOTICE_SCAN - op->scanned;
	char q[96];
	snprintf(q, sizeof(q), "/comment?orderBy=-created&startAt=%d&maxResults=%d", op->start_at,
	         want);
	op_send(op, "GET", issue_path(op->key, q), NULL, notice_comments_done);
}

static void notice_issue_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	jira_issue_read(op->c->cfg, j, &op->res.issue);
	op->res.found = true;
	json_decref(j);
	notice_page(op);
}

static void jira_find_notice(void *conn, const char *key, const char *notice, connector_cb cb,
                             void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->key = ts_strdup(key);
	if (!connector_notice_valid(notice)) {
		op_fail(op, CONNECTOR_FAILED,
		        "jira '%s': notice on %s: not %d lowercase hex digits", c->cfg->name, key,
		        CONNECTOR_NOTICE_LEN);
		op_finish_later(op);
		return;
	}
	op->text = ts_strdup(notice);
	op_send(op, "GET", issue_path(key, "?fields=" JIRA_FIELDS), NULL, notice_issue_done);
}

/* ---- poll ---- */

/*
 * The query reaches JIRA_POLL_OVERLAP_MS behind the newest `updated` seen
 * (JQL dates have minute precision, in the API user's zone), newest first.
 * The cursor is "NEWEST" or "NEWEST/FLOOR": NEWEST the newest `updated` of
 * the last complete poll, FLOOR the oldest `updated` on its first page when
 * more pages followed, i.e. the bottom of the newest JIRA_PAGE_SIZE issues it
 * read. A poll reads pages until one reaches FLOOR (issues below it were read
 * by an earlier poll), so a poll with nothing changed costs one request
 * however many tickets share the overlap, and a few changes (which come
 * first) at most two. Issues at or above FLOOR are read again, so one the
 * search index showed late is still found; the engine skips the ones it has
 * applied (same key and `updated`: outbox_apply_remote). Page tokens handed
 * to the caller are "<the cursor this poll will store>|<Jira's token>".
 */

struct poll_cursor {
	char *newest;     /* Jira's text, new; NULL when none */
	int64_t newest_ms;
	int64_t floor_ms; /* INT64_MIN when none */
};

static void poll_cursor_clear(struct poll_cursor *pc)
{
	free(pc->newest);
	*pc = (struct poll_cursor){.floor_ms = INT64_MIN};
}

/* Reads "NEWEST" or "NEWEST/FLOOR" (s may be NULL: no cursor). -EINVAL for
 * anything else, pc left empty. */
static int poll_cursor_parse(const char *s, struct poll_cursor *pc)
{
	*pc = (struct poll_cursor){.floor_ms = INT64_MIN};
	if (!s || !*s)
		return 0;
	const char *slash = strchr(s, '/');
	char *newest = slash ? ts_strndup(s, (size_t)(slash - s)) : ts_strdup(s);
	int64_t ms, floor_ms = INT64_MIN;
	if (http_iso8601_parse(newest, &ms) < 0 ||
	    (slash && http_iso8601_parse(slash + 1, &floor_ms) < 0)) {
		free(newest);
		return -EINVAL;
	}
	pc->newest = newest;
	pc->newest_ms = ms;
	pc->floor_ms = floor_ms;
	return 0;
}

static void poll_send(struct jira_op *op, const char *jira_page);

/* The cursor this poll stores, from its first page (issues newest first):
 * the newest `updated` and, when more pages follow, the oldest on the page.
 * An empty page keeps the caller's cursor. New string or NULL. */
static char *first_page_cursor(const struct jira_op *op, bool more)
{
	const char *newest = NULL, *oldest = NULL;
	int64_t newest_ms = INT64_MIN, oldest_ms = INT64_MAX;
	for (size_t i = 0; i < op->res.n_issues; i++) {
		const char *u = op->res.issues[i].updated;
		int64_t ms;
		if (!u || http_iso8601_parse(u, &ms) < 0)
			continue;
		if (ms > newest_ms) {
			newest_ms = ms;
			newest = u;
		}
		if (ms < oldest_ms) {
			oldest_ms = ms;
			oldest = u;
		}
	}
	if (!newest)
		return ts_strdup(op->since);
	return more ? ts_asprintf("%s/%s", newest, oldest) : ts_strdup(newest);
}

/* Whether the page read reaches the floor of the caller's cursor: its
 * oldest issue is at or below it. */
static bool page_reaches_floor(const struct jira_op *op, int64_t floor_ms)
{
	if (floor_ms == INT64_MIN)
		return false;
	for (size_t i = 0; i < op->res.n_issues; i++) {
		int64_t ms;
		const char *u = op->res.issues[i].updated;
		if (u && http_iso8601_parse(u, &ms) == 0 && ms <= floor_ms)
			return true;
	}
	return false;
}

int64_t jira_next_start(int64_t start, size_t n, int64_t total)
{
	if (n == 0 || start < 0 || total <= start || (uint64_t)(total - start) <= n)
		return -1;
	return start + (int64_t)n;
}

static void poll_page_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	struct jira_conn *c = op->c;
	json_t *issues = json_object_get(j, "issues");
	size_t n = json_array_size(issues);
	op->res.issues = ts_calloc(n ? n : 1, sizeof(*op->res.issues));
	for (size_t i = 0; i < n; i++)
		jira_issue_read(c->cfg, json_array_get(issues, i),
		                &op->res.issues[op->res.n_issues++]);
	char *next = NULL;
	if (c->cloud) {
		const char *tok = json_string_value(json_object_get(j, "nextPageToken"));
		bool last = json_is_true(json_object_get(j, "isLast")) || !tok;
		if (!last)
			next = ts_strdup(tok);
	} else {
		int64_t start = jira_next_start(json_integer_value(json_object_get(j, "startAt")),
		                                n, json_integer_value(json_object_get(j, "total")));
		if (start >= 0)
			next = ts_asprintf("%lld", (long long)start);
	}
	json_decref(j);
	/* op->new_cursor: the cursor to store, decided by the first page. */
	if (!op->text)
		op->new_cursor = first_page_cursor(op, next != NULL);
	struct poll_cursor since;
	poll_cursor_parse(op->since, &since); /* checked in jira_poll */
	if (next && !page_reaches_floor(op, since.floor_ms))
		op->res.next_page =
		    ts_asprintf("%s|%s", op->new_cursor ? op->new_cursor : "-", next);
	else
		op->res.cursor = ts_strdup(op->new_cursor);
	poll_cursor_clear(&since);
	free(next);
	op->res.status = CONNECTOR_OK;
	op_finish(op);
}

static void poll_send(struct jira_op *op, const char *jira_page)
{
	struct jira_conn *c = op->c;
	char *proj = jira_jql_quote(op->project);
	struct ts_buf jql = {0};
	ts_buf_printf(&jql, "project = %s AND labels = \"%s\"", proj, CONNECTOR_COMMON_LABEL);
	struct poll_cursor since;
	poll_cursor_parse(op->since, &since);
	if (since.newest) {
		char when[32];
		jira_jql_time(c->tz, since.newest_ms - JIRA_POLL_OVERLAP_MS, when);
		ts_buf_printf(&jql, " AND updated >= \"%s\"", when);
	}
	poll_cursor_clear(&since);
	ts_buf_puts(&jql, " ORDER BY updated DESC, key DESC");
	op_send(op, "GET", search_path(c, jql.data, JIRA_PAGE_SIZE, jira_page, true), NULL,
	        poll_page_done);
	ts_buf_free(&jql);
	free(proj);
}

/* Continues a poll once the API user's zone is known; page is ours. */
static void poll_start(struct jira_op *op)
{
	const char *page = op->text;
	const char *jira_page = NULL;
	if (page) {
		const char *bar = strchr(page, '|');
		if (!bar || !bar[1]) {
			op_fail(op, CONNECTOR_FAILED, "jira '%s': poll: malformed page token '%s'",
			        op->c->cfg->name, page);
			op_finish_later(op);
			return;
		}
		if (!(bar - page == 1 && page[0] == '-'))
			op->new_cursor = ts_strndup(page, (size_t)(bar - page));
		jira_page = bar + 1;
	}
	poll_send(op, jira_page);
}

static void myself_done(struct jira_op *op, const struct http_response *r)
{
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	struct jira_conn *c = op->c;
	const char *zone = json_string_value(json_object_get(j, "timeZone"));
	struct jira_tz *tz = NULL;
	/* An unknown zone falls back to UTC: the overlap still covers an
	 * offset of up to its length; wider offsets only cost re-reads. */
	if (zone && jira_tz_load(zone, &tz) == 0) {
		jira_tz_free(c->tz);
		c->tz = tz;
	}
	c->tz_known = true;
	json_decref(j);
	poll_start(op);
}

static void jira_poll(void *conn, const char *tracker_project, const char *since, const char *page,
                      connector_cb cb, void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->project = ts_strdup(tracker_project ? tracker_project : "");
	op->since = ts_strdup(since);
	op->text = ts_strdup(page);
	if (!tracker_project || !*tracker_project) {
		op_fail(op, CONNECTOR_FAILED, "jira '%s': poll: no tracker project", c->cfg->name);
		op_finish_later(op);
		return;
	}
	struct poll_cursor pc;
	if (poll_cursor_parse(since, &pc) < 0) {
		op_fail(op, CONNECTOR_FAILED,
		        "jira '%s': poll: cursor '%.80s' is not NEWEST or NEWEST/FLOOR (ISO 8601 "
		        "times)",
		        c->cfg->name, since);
		op_finish_later(op);
		return;
	}
	poll_cursor_clear(&pc);
	if (!c->tz_known) {
		op_send(op, "GET", ts_strdup("/myself"), NULL, myself_done);
		return;
	}
	poll_start(op);
}

/* ---- get ---- */

static void get_done(struct jira_op *op, const struct http_response *r)
{
	if (r->outcome == HTTP_OK && r->status == 404) {
		op->res.http_status = 404;
		op->res.found = false;
		op->res.status = CONNECTOR_OK;
		op_finish(op);
		return;
	}
	json_t *j = op_answer(op, r);
	if (!j)
		return;
	jira_issue_read(op->c->cfg, j, &op->res.issue);
	op->res.found = true;
	op->res.status = CONNECTOR_OK;
	json_decref(j);
	op_finish(op);
}

static void jira_get(void *conn, const char *key, connector_cb cb, void *ud)
{
	struct jira_conn *c = conn;
	struct jira_op *op = op_new(c, cb, ud);
	op->key = ts_strdup(key);
	op_send(op, "GET", issue_path(key, "?fields=" JIRA_FIELDS), NULL, get_done);
}

const struct connector_ops jira_connector_ops = {
    .type = "jira",
    .open = jira_open,
    .close = jira_close,
    .rebind = jira_rebind,
    .set_wait_cb = jira_set_wait_cb,
    .create = jira_create,
    .find_marker = jira_find_marker,
    .update = jira_update,
    .set_state = jira_set_state,
    .comment = jira_comment,
    .notice_text = jira_notice_text,
    .find_notice = jira_find_notice,
    .poll = jira_poll,
    .get = jira_get,
    .parse_webhook = jira_parse_webhook,
};
