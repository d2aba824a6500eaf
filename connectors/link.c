/* SPDX-License-Identifier: Apache-2.0 */
/* Reads a ticket on a private loop and adopts it for a task. */
#include "connectors/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "connectors/connector.h"
#include "connectors/http.h"

/* One `get` on a private loop. */
struct fetch {
	const struct connector_ops *ops;
	void *conn;
	struct http_client *http;
	uv_timer_t closer;
	bool done;
	struct connector_result res; /* copied out of the callback's result */
};

static void closer_closed_cb(uv_handle_t *h)
{
	(void)h;
}

/* Closing from a timer, not inside the connector's own callback. */
static void closer_cb(uv_timer_t *t)
{
	struct fetch *f = t->data;
	f->ops->close(f->conn);
	f->conn = NULL;
	http_client_close(f->http, NULL, NULL);
	f->http = NULL;
	uv_close((uv_handle_t *)t, closer_closed_cb);
}

static char *dup_or_null(const char *s)
{
	return s ? ts_strdup(s) : NULL;
}

static void get_cb(void *ud, const struct connector_result *r)
{
	struct fetch *f = ud;
	f->done = true;
	f->res.status = r->status;
	f->res.http_status = r->http_status;
	f->res.found = r->found;
	snprintf(f->res.error, sizeof(f->res.error), "%s", r->error);
	const struct remote_issue *i = &r->issue;
	struct remote_issue *o = &f->res.issue;
	o->key = dup_or_null(i->key);
	o->id = dup_or_null(i->id);
	o->url = dup_or_null(i->url);
	o->marker = dup_or_null(i->marker);
	o->status = dup_or_null(i->status);
	o->status_category = dup_or_null(i->status_category);
	o->resolution = dup_or_null(i->resolution);
	o->updated = dup_or_null(i->updated);
	o->actor = dup_or_null(i->actor);
	uv_timer_start(&f->closer, closer_cb, 0, 0);
}

/* Opens the connector on loop and starts the read. On error every handle
 * started is closing, so running the loop still ends. */
static int start(uv_loop_t *loop, const struct config_connector *cc, const char *key,
                 struct fetch *f, struct ts_err *err)
{
	f->ops = connector_ops_for(cc->type);
	if (!f->ops)
		return ts_err_set(err, TS_E_INTERNAL,
		                  "connector '%s': no implementation for this type", cc->name);
	int r = uv_timer_init(loop, &f->closer);
	if (r < 0)
		return ts_err_set(err, TS_E_SYSTEM, "%s", uv_strerror(r));
	if ((r = http_client_new(loop, &f->http)) < 0) {
		uv_close((uv_handle_t *)&f->closer, closer_closed_cb);
		return ts_err_set(err, TS_E_SYSTEM, "%s", http_client_error(r));
	}
	struct ts_err oerr = {0};
	if (f->ops->open(f->http, cc, &f->conn, &oerr) < 0) {
		http_client_close(f->http, NULL, NULL);
		f->http = NULL;
		uv_close((uv_handle_t *)&f->closer, closer_closed_cb);
		int code = oerr.code >= TS_E_MIN && oerr.code <= TS_E_MAX ? oerr.code : TS_E_CONFIG;
		return ts_err_set(err, code, "connector '%s': %s", cc->name, oerr.msg);
	}
	f->closer.data = f;
	f->ops->get(f->conn, key, get_cb, f);
	return 0;
}

/* What the tracker's answer means for the link: 0 when the ticket is there. */
static int judge(const struct config_connector *cc, const char *key,
                 const struct connector_result *res, struct ts_err *err)
{
	switch (res->status) {
	case CONNECTOR_OK:
		if (res->found && res->issue.key)
			return 0;
		return ts_err_set(err, TS_E_INVALID, "ticket %s not found on connector '%s'%s%s",
		                  key, cc->name, res->error[0] ? ": " : "", res->error);
	case CONNECTOR_FAILED:
	case CONNECTOR_DENIED:
	case CONNECTOR_NO_SCOPE:
		if (res->http_status == 401 || res->http_status == 403)
			return ts_err_set(err, TS_E_CONFIG,
			                  "connector '%s' refused the credentials (HTTP %ld): %s",
			                  cc->name, res->http_status, res->error);
		if (res->http_status == 0)
			return ts_err_set(err, TS_E_INVALID, "connector '%s': %s", cc->name,
			                  res->error);
		return ts_err_set(err, TS_E_INVALID, "ticket %s on connector '%s': HTTP %ld: %s",
		                  key, cc->name, res->http_status,
		                  res->error[0] ? res->error : "refused");
	default:
		return ts_err_set(err, TS_E_UNAVAILABLE, "connector '%s' (%s) is unreachable: %s",
		                  cc->name, cc->base_url, res->error[0] ? res->error : "no answer");
	}
}

/* Reads key from the tracker into f->res, on a loop of its own run until
 * every handle is closed. */
static int fetch_ticket(const struct config_connector *cc, const char *key, struct fetch *f,
                        struct ts_err *err)
{
	uv_loop_t loop;
	int r = uv_loop_init(&loop);
	if (r < 0)
		return ts_err_set(err, TS_E_SYSTEM, "event loop: %s", uv_strerror(r));
	int rc = start(&loop, cc, key, f, err);
	uv_run(&loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&loop);
	if (r < 0)
		return rc < 0 ? rc
		              : ts_err_set(err, TS_E_INTERNAL,
		                           "a handle was left open at exit (%s)", uv_err_name(r));
	if (rc < 0)
		return rc;
	if (!f->done)
		return ts_err_set(err, TS_E_INTERNAL, "the tracker request did not complete");
	return judge(cc, key, &f->res, err);
}

static bool all_digits(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

void link_outcome_clear(struct link_outcome *o)
{
	free(o->key);
	free(o->url);
	free(o->status);
	memset(o, 0, sizeof(*o));
}

int link_ticket(struct store *s, const struct config_connector *cc, const char *tracker_project,
                const char *slug, const char *uid, const char *key, struct link_outcome *ret,
                struct ts_err *err)
{
	memset(ret, 0, sizeof(*ret));
	struct link_task t;
	int rc = link_task_find(s, slug, uid, &t, err);
	if (rc < 0)
		return rc;
	/* A bare GitLab issue number belongs to the project's tracker project. */
	char *full = cc->type == CONFIG_CONNECTOR_GITLAB && all_digits(key) && tracker_project
	                 ? ts_asprintf("%s#%s", tracker_project, key)
	                 : ts_strdup(key);
	struct fetch f = {0};
	if ((rc = link_check(s, &t, cc->name, full, err)) < 0)
		goto out;
	if ((rc = fetch_ticket(cc, full, &f, err)) < 0)
		goto out;
	const struct remote_issue *i = &f.res.issue;
	struct outbox_remote r = remote_issue_view(cc->name, i);
	/* The ticket gets the task's marker (link_adopt): whatever label it
	 * carries now is not looked at. */
	r.marker = NULL;
	char now[32];
	ts_now_iso(now);
	if ((rc = link_adopt(s, cc->fieldmap, &t, &r, now, &ret->result, err)) < 0)
		goto out;
	memcpy(ret->marker, t.marker, sizeof(ret->marker));
	ret->key = dup_or_null(i->key);
	ret->url = dup_or_null(i->url);
	ret->status = dup_or_null(i->status);
out:
	connector_result_clear(&f.res);
	free(full);
	link_task_clear(&t);
	return rc;
}
