/* SPDX-License-Identifier: Apache-2.0 */
/* Structures shared by the HTTP client's files (http.c, http_limit.c); not for connectors. */
#ifndef TS_CONNECTORS_HTTP_INTERNAL_H
#define TS_CONNECTORS_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "connectors/curl_dl.h"
#include "connectors/http.h"
#include "engine/util.h"

/* Longest gate any header may impose: a broken server must not stop a
 * connector for days. */
#define HTTP_GATE_MAX_MS (3600 * 1000LL)
/* Bounds on response headers (count, total bytes). */
#define HTTP_MAX_HEADERS 256
#define HTTP_MAX_HEADER_BYTES (64 * 1024)

/* Intrusive circular doubly linked list. */
struct http_list {
	struct http_list *prev;
	struct http_list *next;
};

#define HTTP_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void http_list_init(struct http_list *l)
{
	l->prev = l;
	l->next = l;
}

static inline bool http_list_empty(const struct http_list *l)
{
	return l->next == l;
}

static inline void http_list_insert_after(struct http_list *pos, struct http_list *n)
{
	n->prev = pos;
	n->next = pos->next;
	pos->next->prev = n;
	pos->next = n;
}

static inline void http_list_add_tail(struct http_list *l, struct http_list *n)
{
	http_list_insert_after(l->prev, n);
}

static inline void http_list_del(struct http_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	http_list_init(n);
}

/* The owner of every uv handle the client and its endpoints opened. */
struct http_client {
	uv_loop_t *loop;
	CURLM *multi;               /* NULL once closing */
	uv_timer_t timer;           /* curl's one timer */
	struct http_list socks;     /* struct http_sock */
	struct http_list endpoints; /* struct http_endpoint, until detached */
	struct http_list active;    /* in-flight struct http_req */
	uint64_t rng;
	bool closing;
	unsigned open_handles; /* initialised uv handles whose close callback has not run */
	long max_connections;  /* sum of the endpoints' concurrency: libcurl's limits */
	void (*on_closed_cb)(void *ud);
	void *on_closed_ud;
	http_observer_cb observer_cb; /* http_client_set_observer, or NULL */
	void *observer_ud;
};

/* Reports ev to the client's observer, if any. */
static inline void http_observe(struct http_client *c, const struct http_event *ev)
{
	if (c->observer_cb)
		c->observer_cb(c->observer_ud, ev);
}

enum http_wake_state { HTTP_WAKE_OPEN, HTTP_WAKE_CLOSING, HTTP_WAKE_CLOSED };

struct http_endpoint {
	struct http_list link; /* in client->endpoints */
	struct http_client *client;
	struct http_endpoint_opts o; /* defaults applied; strings below are owned */
	char *name;
	char *label; /* o.label, defaulting to name */
	char *ca_bundle;
	char *proxy;
	uv_timer_t wake; /* runs only while a queued request waits for a token/gate/backoff */
	enum http_wake_state wake_state;
	bool user_freed;          /* http_endpoint_free was called */
	bool detached;            /* the client closed; only memory is left */
	struct http_list ready;   /* FIFO of struct http_req */
	struct http_list delayed; /* retries waiting for their backoff, by not_before */
	double tokens;
	double rate; /* current refill rate per second, 0 = unlimited */
	uint64_t refill_ns;
	uint64_t gate_ns; /* uv_hrtime() before which nothing is sent */
	struct http_stats stats;
};

/* One request from http_submit until its callback has run. */
struct http_req {
	struct http_list link; /* in ep->ready, ep->delayed or client->active */
	struct http_endpoint *ep;
	uint64_t started_ns; /* hand-off of the current attempt to libcurl */
	void (*cb)(const struct http_response *resp, void *ud);
	void *ud;
	char *method;
	char *url;
	char *body;
	size_t body_len;
	bool idempotent;
	struct curl_slist *headers; /* curl-owned copies of the caller's headers */
	struct curl_slist *headers_tail;
	struct curl_slist auth_node; /* our own node; data wiped and freed by us */
	size_t auth_len;
	const char *auth_value; /* points into auth_node.data: the secret part */
	int attempts;           /* sends */
	int fail_attempts;      /* sends that ended in 5xx / timeout / reset */
	int rl_attempts;        /* 429 responses */
	uint64_t not_before_ns;
	bool limits_applied; /* the answer's rate-limit headers already moved the gate */
	bool gate_refused;   /* the pre-request check found the gate closed: not sent */
	long status_seen;    /* status of the response whose headers are arriving */
	/* State of the current attempt. */
	CURL *easy;
	struct ts_buf in;
	struct http_header *hdrs;
	size_t n_hdrs;
	size_t hdr_bytes;
	bool too_large;
	bool hdr_overflow;
	bool resend_refused; /* curl wanted to resend a non-idempotent request */
	int sends_this_attempt;
	char errbuf[CURL_ERROR_SIZE];
};

/* http.c */
void http_transfer_start(struct http_req *r);
void http_endpoint_cancel_all(struct http_endpoint *ep);
void http_client_handle_closed(struct http_client *c);
uint64_t http_client_random(struct http_client *c);
void http_client_add_capacity(struct http_client *c, int concurrency);
void http_client_remove_capacity(struct http_client *c, int concurrency);

/* http_limit.c */
void http_endpoint_pump(struct http_endpoint *ep);
void http_endpoint_kick(struct http_endpoint *ep);
void http_endpoint_close_wake(struct http_endpoint *ep);
void http_limit_on_response(struct http_endpoint *ep, struct http_req *r, long status,
                            uint64_t now_ns);
uint64_t http_backoff_ms(struct http_endpoint *ep, int n);
void http_endpoint_requeue(struct http_endpoint *ep, struct http_req *r, uint64_t not_before_ns);
bool http_endpoint_gate_closed(const struct http_endpoint *ep, uint64_t now_ns);
void http_endpoint_hold(struct http_endpoint *ep, struct http_req *r);
const char *http_req_header(const struct http_req *r, const char *name);

#endif
