/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP endpoint's decisions from a request alone (no sockets). */
#include "daemon/http_route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "daemon/api.h"

#define HOOK_PREFIX "/hooks/"

static void refuse(struct http_route *rt, unsigned status, const char *reason, const char *allow)
{
	rt->kind = HTTP_ROUTE_REFUSE;
	rt->status = status;
	rt->reason = reason;
	rt->allow = allow;
}

/* "/hooks/jira/NAME" or "/hooks/gitlab/NAME" with NAME a connector name. */
static bool parse_hook_path(const char *url, enum webhook_source *ret_source, char *name,
                            size_t size)
{
	if (strncmp(url, HOOK_PREFIX, sizeof(HOOK_PREFIX) - 1) != 0)
		return false;
	const char *p = url + sizeof(HOOK_PREFIX) - 1;
	if (strncmp(p, "jira/", 5) == 0) {
		*ret_source = WEBHOOK_JIRA;
		p += 5;
	} else if (strncmp(p, "gitlab/", 7) == 0) {
		*ret_source = WEBHOOK_GITLAB;
		p += 7;
	} else {
		return false;
	}
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0 || n >= size || n > 64 || p[n] != '\0')
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

void http_route_fill(enum webhook_source source, http_lookup_fn lookup, void *ctx,
                     struct webhook_request *req)
{
	memset(req, 0, sizeof(*req));
	req->source = source;
	if (source == WEBHOOK_JIRA) {
		req->signature = lookup(ctx, HTTP_HEADER, "X-Hub-Signature");
		req->url_secret = lookup(ctx, HTTP_QUERY, "secret");
		req->delivery_id = lookup(ctx, HTTP_HEADER, "X-Atlassian-Webhook-Identifier");
	} else {
		req->token = lookup(ctx, HTTP_HEADER, "X-Gitlab-Token");
		req->delivery_id = lookup(ctx, HTTP_HEADER, "X-Gitlab-Event-UUID");
	}
}

static bool read_only_method(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

void http_route_head(const struct config *cfg, const char *method, const char *url, bool quiesced,
                     http_lookup_fn lookup, void *ctx, struct http_route *rt)
{
	memset(rt, 0, sizeof(*rt));
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
		if (!read_only_method(method)) {
			refuse(rt, 405, "method not allowed", "GET, HEAD");
			return;
		}
		rt->kind = url[1] == 'h' ? HTTP_ROUTE_HEALTHZ : HTTP_ROUTE_METRICS;
		return;
	}
	if (strncmp(url, API_PREFIX, sizeof(API_PREFIX) - 1) == 0) {
		if (quiesced) {
			refuse(rt, 503, "shutting down", NULL);
			return;
		}
		rt->kind = HTTP_ROUTE_API;
		return;
	}
	if (!parse_hook_path(url, &rt->source, rt->connector, sizeof(rt->connector))) {
		refuse(rt, 404, "not found", NULL);
		return;
	}
	if (strcmp(method, "POST") != 0) {
		refuse(rt, 405, "method not allowed", "POST");
		return;
	}
	if (quiesced) {
		refuse(rt, 503, "shutting down", NULL);
		return;
	}

	const struct config_connector *c = config_find_connector(cfg, rt->connector);
	struct webhook_request req;
	http_route_fill(rt->source, lookup, ctx, &req);
	int rc = webhook_check_headers(c, &req, &rt->err);
	if (rc == -ENOENT) {
		refuse(rt, 404, "not found", NULL);
		return;
	}
	if (rc < 0) {
		rt->rejected_webhook = true;
		refuse(rt, 401, rt->err.msg, NULL);
		return;
	}
	const char *cl = lookup(ctx, HTTP_HEADER, "Content-Length");
	if (cl) {
		char *end = NULL;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || end == cl || *end || cl[0] == '-' || n > cfg->http_max_body) {
			rt->rejected_webhook = true;
			refuse(rt, 413, "request body larger than http.max_body_bytes", NULL);
			return;
		}
	}
	rt->kind = HTTP_ROUTE_HOOK;
	rt->max_body = cfg->http_max_body;
}

bool http_route_body_fits(size_t have, size_t more, size_t max)
{
	return have <= max && more <= max - have;
}

int http_route_body(const struct config *cfg, struct http_route *rt, http_lookup_fn lookup,
                    void *ctx, const char *body, size_t body_len, struct webhook_event **ret_ev)
{
	*ret_ev = NULL;
	/* The configuration may have been reloaded while the body arrived. */
	const struct config_connector *c = config_find_connector(cfg, rt->connector);
	struct webhook_request req;
	http_route_fill(rt->source, lookup, ctx, &req);
	req.body = body;
	req.body_len = body_len;
	ts_err_clear(&rt->err);
	int rc = webhook_authenticate(c, &req, &rt->err);
	if (rc == -ENOENT) {
		refuse(rt, 404, "not found", NULL);
		return rc;
	}
	if (rc < 0) {
		rt->rejected_webhook = true;
		refuse(rt, rc == -EACCES ? 401 : 500, rt->err.msg, NULL);
		return rc;
	}
	rc = connector_webhook_event(c, &req, ret_ev, &rt->err);
	if (rc < 0) {
		rt->rejected_webhook = true;
		refuse(rt, 400, rt->err.msg, NULL);
		return rc;
	}
	return 0;
}
