/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync link SLUG TASK KEY`: adopt an existing tracker ticket for a task
 * instead of creating one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/cli.h"
#include "connectors/connector.h"
#include "connectors/http.h"
#include "engine/tracking/link.h"

/* One `get` on a private loop. */
struct fetch {
	const struct connector_ops *ops;
	void *conn;
	struct http_client *http;
	uv_timer_t closer;
	bool done;
	struct connector_result res; /* moved out of the callback's result */
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

/* Reads key from the tracker. Returns 0 with f->res filled, or an exit code
 * (the error printed). */
static int fetch_ticket(const struct config_connector *cc, const char *key, struct fetch *f)
{
	uv_loop_t loop;
	int r = uv_loop_init(&loop);
	if (r < 0) {
		cli_error("link: event loop: %s", uv_strerror(r));
		return EX_OSERR;
	}
	int code = 0;
	struct ts_err err = {0};
	f->ops = connector_ops_for(cc->type);
	if (!f->ops) {
		cli_error("link: connector '%s': no implementation for this type", cc->name);
		code = EX_SOFTWARE;
	} else if ((r = uv_timer_init(&loop, &f->closer)) < 0 ||
	           (r = http_client_new(&loop, &f->http)) < 0) {
		cli_error("link: %s", uv_strerror(r));
		code = EX_OSERR;
		if (f->closer.loop)
			uv_close((uv_handle_t *)&f->closer, closer_closed_cb);
	} else if (f->ops->open(f->http, cc, &f->conn, &err) < 0) {
		cli_error("link: connector '%s': %s", cc->name, err.msg);
		code = cli_exit_code(err.code, EX_CONFIG);
		http_client_close(f->http, NULL, NULL);
		f->http = NULL;
		uv_close((uv_handle_t *)&f->closer, closer_closed_cb);
	} else {
		f->closer.data = f;
		f->ops->get(f->conn, key, get_cb, f);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&loop);
	if (r < 0) {
		cli_error("link: a handle was left open at exit (%s)", uv_err_name(r));
		return code ? code : EX_SOFTWARE;
	}
	if (code)
		return code;
	if (!f->done) {
		cli_error("link: the tracker request did not complete");
		return EX_SOFTWARE;
	}
	const struct connector_result *res = &f->res;
	switch (res->status) {
	case CONNECTOR_OK:
		if (res->found && res->issue.key)
			return 0;
		cli_error("link: ticket %s not found on connector '%s'%s%s", key, cc->name,
		          res->error[0] ? ": " : "", res->error);
		return EX_DATAERR;
	case CONNECTOR_FAILED:
		if (res->http_status == 401 || res->http_status == 403) {
			cli_error("link: connector '%s' refused the credentials (HTTP %ld): %s",
			          cc->name, res->http_status, res->error);
			return EX_CONFIG;
		}
		if (res->http_status == 0) {
			cli_error("link: connector '%s': %s", cc->name, res->error);
			return EX_DATAERR;
		}
		cli_error("link: ticket %s on connector '%s': HTTP %ld: %s", key, cc->name,
		          res->http_status, res->error[0] ? res->error : "refused");
		return EX_DATAERR;
	default:
		cli_error("link: connector '%s' (%s) is unreachable: %s", cc->name, cc->base_url,
		          res->error[0] ? res->error : "no answer");
		return EX_UNAVAILABLE;
	}
}

static bool all_digits(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

int cmd_link(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char usage[] =
	    "usage: threatsync link SLUG TASK KEY [--connector NAME] [--json]";
	const char *pos[3] = {NULL, NULL, NULL};
	const char *connector = NULL;
	bool json = false;
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--connector") == 0 && i + 1 < argc) {
			connector = argv[++i];
		} else if (argv[i][0] != '-' && npos < 3) {
			pos[npos++] = argv[i];
		} else {
			cli_error("link: unexpected or incomplete argument '%s'", argv[i]);
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (npos != 3) {
		cli_error("link: SLUG, TASK and KEY are required");
		cli_error("%s", usage);
		return EX_USAGE;
	}
	const char *slug = pos[0], *uid = pos[1], *key = pos[2];
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	const char *where = cfg->path ? cfg->path : "the built-in configuration";
	const struct config_project *proj = config_find_project(cfg, slug);
	if (!proj || !proj->connector) {
		cli_error(
		    "link: project '%s' is not mapped to a connector in %s (set connector and "
		    "tracker_project in its projects entry)",
		    slug, where);
		return EX_CONFIG;
	}
	if (connector && strcmp(connector, proj->connector) != 0) {
		cli_error("link: project '%s' syncs with connector '%s' (line %d of %s), not '%s'",
		          slug, proj->connector, proj->line, where, connector);
		return EX_CONFIG;
	}
	const struct config_connector *cc = config_find_connector(cfg, proj->connector);
	if (!cc) {
		cli_error("link: no connector '%s' in %s", proj->connector, where);
		return EX_CONFIG;
	}
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	struct link_task t;
	if (link_task_find(s, slug, uid, &t, &err) < 0) {
		cli_error("link: %s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	/* A bare GitLab issue number belongs to the project's tracker project. */
	char *full = cc->type == CONFIG_CONNECTOR_GITLAB && all_digits(key)
	                 ? ts_asprintf("%s#%s", proj->tracker_project, key)
	                 : ts_strdup(key);
	struct fetch f = {0};
	if (link_check(s, &t, cc->name, full, &err) < 0) {
		cli_error("link: %s", err.msg);
		code = cli_exit_code(err.code, EX_SOFTWARE);
		goto out;
	}
	if ((code = fetch_ticket(cc, full, &f)) != 0)
		goto out;
	const struct remote_issue *i = &f.res.issue;
	struct outbox_remote r = {
	    .connector = cc->name,
	    .key = i->key,
	    .id = i->id,
	    .url = i->url,
	    .status = i->status,
	    .status_category = i->status_category,
	    .resolution = i->resolution,
	    .updated = i->updated,
	    .actor = i->actor,
	};
	char now[32];
	ts_now_iso(now);
	struct link_result res;
	if (link_adopt(s, &t, &r, now, &res, &err) < 0) {
		cli_error("link: %s", err.msg);
		code = cli_exit_code(err.code, EX_SOFTWARE);
		goto out;
	}
	if (json) {
		json_t *doc = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:i, s:b, s:b}", "project", slug, "task",
		    uid, "connector", cc->name, "key", i->key, "url", i->url, "marker", t.marker,
		    "status", i->status, "creates_cancelled", res.creates_cancelled,
		    "status_changed", res.changed > 0, "already_linked", res.already);
		char *out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", out);
		free(out);
		json_decref(doc);
	} else {
		printf("linked task %s of %s to %s%s%s%s\n", uid, slug, i->key, i->url ? " (" : "",
		       i->url ? i->url : "", i->url ? ")" : "");
		if (res.creates_cancelled > 0)
			printf("  %d queued create(s) cancelled\n", res.creates_cancelled);
		if (res.changed > 0)
			printf("  task status set from the ticket's status '%s'\n",
			       i->status ? i->status : "?");
		printf("  the next sync adds the marker label %s and the text threatsync owns\n",
		       t.marker);
	}
out:
	connector_result_clear(&f.res);
	free(full);
	link_task_clear(&t);
	return code;
}
