/* SPDX-License-Identifier: Apache-2.0 */
/* What the HTTP endpoint decides from a request alone, without sockets or
 * libmicrohttpd: the route of a method and path, the checks of a webhook's
 * headers (connector, credentials, Content-Length against
 * http.max_body_bytes), the body bound, and the authentication and reading
 * of a whole webhook body. daemon/httpd.c answers what this decides; the
 * fuzz harness fuzz/fuzz_http_request.c drives it with raw requests. */
#ifndef TS_DAEMON_HTTP_ROUTE_H
#define TS_DAEMON_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"
#include "engine/tracking/webhook.h"

/* Where a request's values come from: its headers or its query string. */
enum http_value_kind { HTTP_HEADER, HTTP_QUERY };

/* Looks up one value of the request (borrowed, NUL-terminated, valid while
 * the request is), NULL when absent; names of headers match without case. */
typedef const char *(*http_lookup_fn)(void *ctx, enum http_value_kind kind, const char *name);

enum http_route_kind {
	HTTP_ROUTE_REFUSE,  /* answer status with reason (and Allow) */
	HTTP_ROUTE_HEALTHZ, /* GET or HEAD /healthz */
	HTTP_ROUTE_METRICS, /* GET or HEAD /metrics */
	HTTP_ROUTE_API,     /* under /api/: daemon/api.c routes it */
	HTTP_ROUTE_HOOK,    /* a webhook whose headers pass: read its body */
};

struct http_route {
	enum http_route_kind kind;
	unsigned status;       /* HTTP_ROUTE_REFUSE: the answer's status */
	const char *reason;    /* its message: static, or route->err.msg */
	const char *allow;     /* the Allow header of a 405, else NULL */
	bool rejected_webhook; /* counts as a rejected delivery of connector */
	enum webhook_source source;
	char connector[72]; /* HTTP_ROUTE_HOOK and rejected deliveries: the name */
	size_t max_body;    /* HTTP_ROUTE_HOOK: http.max_body_bytes */
	struct ts_err err;  /* where a refusal's message may live */
};

/* Routes a request from its method, URL path and values (lookup/ctx);
 * quiesced: the endpoint is stopping. cfg is borrowed. Fills *ret; never
 * fails. A message never quotes a credential. */
void http_route_head(const struct config *cfg, const char *method, const char *url, bool quiesced,
                     http_lookup_fn lookup, void *ctx, struct http_route *ret);

/* The credentials and delivery id of a webhook request of source. */
void http_route_fill(enum webhook_source source, http_lookup_fn lookup, void *ctx,
                     struct webhook_request *req);

/* Whether more bytes of a body still fit within max with have already read. */
bool http_route_body_fits(size_t have, size_t more, size_t max);

/* The whole body of a HTTP_ROUTE_HOOK request is there: authenticates it
 * against the connector as cfg has it now and has the connector read it.
 * Returns 0 with *ret_ev new (webhook_event_free), or fills rt as a refusal
 * (404 connector gone, 401 credentials, 500 HMAC failure, 400 body) and
 * returns a negative code. */
int http_route_body(const struct config *cfg, struct http_route *rt, http_lookup_fn lookup,
                    void *ctx, const char *body, size_t body_len, struct webhook_event **ret_ev);

#endif
