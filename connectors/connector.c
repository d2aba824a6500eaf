/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connectors: the table of tracker types, the one
 * classifier of HTTP outcomes, freeing what a result owns, whether a
 * reloaded configuration keeps a connection. */
#include "connectors/connector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tracking/webhook.h"
#include "engine/util.h"

bool connector_notice_valid(const char *s)
{
	if (!s)
		return false;
	size_t n = 0;
	for (; s[n]; n++) {
		if (n >= CONNECTOR_NOTICE_LEN ||
		    !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	}
	return n == CONNECTOR_NOTICE_LEN;
}

void remote_issue_clear(struct remote_issue *i)
{
	if (!i)
		return;
	free(i->key);
	free(i->id);
	free(i->url);
	free(i->marker);
	free(i->status);
	free(i->status_category);
	free(i->resolution);
	free(i->updated);
	free(i->actor);
	free(i->content_hash);
	memset(i, 0, sizeof(*i));
}

void remote_issue_copy(struct remote_issue *dst, const struct remote_issue *src)
{
	dst->key = ts_strdup(src->key);
	dst->id = ts_strdup(src->id);
	dst->url = ts_strdup(src->url);
	dst->marker = ts_strdup(src->marker);
	dst->status = ts_strdup(src->status);
	dst->status_category = ts_strdup(src->status_category);
	dst->resolution = ts_strdup(src->resolution);
	dst->updated = ts_strdup(src->updated);
	dst->actor = ts_strdup(src->actor);
	dst->content_hash = ts_strdup(src->content_hash);
}

void connector_result_clear(struct connector_result *r)
{
	if (!r)
		return;
	remote_issue_clear(&r->issue);
	for (size_t k = 0; k < r->n_issues; k++)
		remote_issue_clear(&r->issues[k]);
	free(r->issues);
	free(r->next_page);
	free(r->cursor);
	memset(r, 0, sizeof(*r));
}

void connector_webhook_clear(struct connector_webhook *w)
{
	if (!w)
		return;
	free(w->event);
	free(w->comment);
	remote_issue_clear(&w->issue);
	memset(w, 0, sizeof(*w));
}

int connector_webhook_json(const char *body, size_t body_len, json_t **ret_root, struct ts_err *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(body ? body : "", body_len, 0, &jerr);
	if (!root)
		return ts_err_set(err, TS_E_INVALID, "webhook body: line %d column %d: %s",
		                  jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return ts_err_set(err, TS_E_INVALID, "webhook body: $: not a JSON object");
	}
	*ret_root = root;
	return 0;
}

int connector_webhook_missing(struct ts_err *err, const char *path, const char *what)
{
	return ts_err_set(err, TS_E_INVALID, "webhook body: %s: missing or not %s", path, what);
}

struct outbox_remote remote_issue_view(const char *connector, const struct remote_issue *i)
{
	return (struct outbox_remote){
	    .connector = connector,
	    .key = i->key,
	    .id = i->id,
	    .url = i->url,
	    .marker = i->marker,
	    .status = i->status,
	    .status_category = i->status_category,
	    .resolution = i->resolution,
	    .updated = i->updated,
	    .actor = i->actor,
	};
}

int connector_webhook_event(const struct config_connector *c, const struct webhook_request *req,
                            struct webhook_event **ret_ev, struct ts_err *err)
{
	const struct connector_ops *ops = connector_ops_for(c->type);
	if (!ops || !ops->parse_webhook)
		return ts_err_set(err, TS_E_INVALID, "connector '%s' takes no webhooks", c->name);
	struct connector_webhook w = {0};
	int rc = ops->parse_webhook(c, req->body, req->body_len, &w, err);
	if (rc < 0)
		return rc;
	struct webhook_facts facts = {.event = w.event,
	                              .relevant = w.relevant,
	                              .self_actor = w.self_actor,
	                              .remote = remote_issue_view(c->name, &w.issue)};
	facts.remote.comment = w.comment;
	*ret_ev = webhook_event_new(c, req, &facts);
	connector_webhook_clear(&w);
	return 0;
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool connector_same_connection(const struct config_connector *a, const struct config_connector *b)
{
	return a->type == b->type && a->flavor == b->flavor && str_same(a->name, b->name) &&
	       str_same(a->base_url, b->base_url) && str_same(a->email, b->email) &&
	       str_same(a->token.value, b->token.value) && str_same(a->ca_bundle, b->ca_bundle) &&
	       str_same(a->proxy, b->proxy) && a->concurrency == b->concurrency &&
	       a->rate_per_second == b->rate_per_second && a->burst == b->burst &&
	       a->max_attempts == b->max_attempts &&
	       a->connect_timeout_ms == b->connect_timeout_ms &&
	       a->request_timeout_ms == b->request_timeout_ms;
}

const struct connector_ops *connector_ops_for(enum config_connector_type type)
{
	switch (type) {
	case CONFIG_CONNECTOR_JIRA:
		return &jira_connector_ops;
	case CONFIG_CONNECTOR_GITLAB:
		return &gitlab_connector_ops;
	}
	return NULL;
}

/* Retry-After, else (for a 429) the rate-limit reset, never below the floor. */
static int64_t retry_wait_ms(const struct http_response *r, int64_t now_ms)
{
	int64_t ms = 0;
	if (http_retry_after_ms(http_response_header(r, "Retry-After"), now_ms, &ms) == 0)
		return ms < CONNECTOR_RETRY_MIN_MS ? CONNECTOR_RETRY_MIN_MS : ms;
	int64_t reset;
	if (r->status == 429 &&
	    (http_ratelimit_reset_ms(http_response_header(r, "X-RateLimit-Reset"), now_ms,
	                             &reset) == 0 ||
	     http_ratelimit_reset_ms(http_response_header(r, "RateLimit-Reset"), now_ms, &reset) ==
	         0) &&
	    reset - now_ms > CONNECTOR_RETRY_MIN_MS)
		return reset - now_ms;
	return CONNECTOR_RETRY_MIN_MS;
}

/* Whether a refusal's body says the tracker project is missing or not
 * visible (note 6 of the table in connector.h). */
static bool project_missing(const struct http_response *r)
{
	if ((r->status != 400 && r->status != 404) || !r->body || r->body_len == 0)
		return false;
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	bool missing = false;
	if (json_is_object(j) && r->status == 404) {
		const char *m = json_string_value(json_object_get(j, "message"));
		missing = m && strstr(m, "Project Not Found") != NULL;
	} else if (json_is_object(j)) {
		missing = json_object_get(json_object_get(j, "errors"), "project") != NULL;
		size_t i;
		json_t *v;
		json_array_foreach (json_object_get(j, "errorMessages"), i, v) {
			const char *m = json_string_value(v);
			missing |= m && strstr(m, "for the field 'project'") != NULL;
		}
	}
	json_decref(j);
	return missing;
}

enum connector_status connector_classify(const struct http_response *r, bool unsafe, bool body_ok,
                                         int64_t now_ms, int64_t *ret_retry_after_ms)
{
	enum connector_status st = CONNECTOR_FAILED;
	int64_t wait = CONNECTOR_RETRY_MIN_MS;
	switch (r->outcome) {
	case HTTP_CANCELLED:
		st = CONNECTOR_CANCELLED;
		break;
	case HTTP_FAILED:
		st = CONNECTOR_RETRY;
		break;
	case HTTP_OUTCOME_UNKNOWN:
		st = unsafe ? CONNECTOR_UNKNOWN : CONNECTOR_RETRY;
		break;
	case HTTP_OK:
		if (r->status >= 200 && r->status < 300) {
			if (body_ok)
				st = CONNECTOR_OK;
			else
				st = unsafe ? CONNECTOR_UNKNOWN : CONNECTOR_RETRY;
		} else if (r->status == 429) {
			st = CONNECTOR_RETRY;
			wait = retry_wait_ms(r, now_ms);
		} else if (r->status >= 500 && r->status < 600) {
			st = unsafe ? CONNECTOR_UNKNOWN : CONNECTOR_RETRY;
			wait = retry_wait_ms(r, now_ms);
		} else if (r->status == 401 || r->status == 403) {
			st = CONNECTOR_DENIED;
		} else if (project_missing(r)) {
			st = CONNECTOR_NO_SCOPE;
		}
		break;
	}
	*ret_retry_after_ms = st == CONNECTOR_RETRY ? wait : 0;
	return st;
}

enum connector_status connector_classify_submit(int rc, int64_t *ret_retry_after_ms)
{
	*ret_retry_after_ms = 0;
	if (rc == -ECANCELED)
		return CONNECTOR_CANCELLED;
	if (rc == -ENOBUFS) {
		*ret_retry_after_ms = CONNECTOR_RETRY_MIN_MS;
		return CONNECTOR_RETRY;
	}
	return CONNECTOR_FAILED;
}
