/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP client core: curl multi on the uv loop, request lifecycle, outcome classification. */
#include "connectors/http_internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One uv_poll per socket curl asks us to watch. Freed only in its close
 * callback. */
struct http_sock {
	struct http_list link; /* in client->socks */
	struct http_client *client;
	uv_poll_t poll;
	curl_socket_t fd;
	bool closing;
};

const char *http_outcome_name(enum http_outcome o)
{
	switch (o) {
	case HTTP_OK:
		return "ok";
	case HTTP_FAILED:
		return "failed";
	case HTTP_OUTCOME_UNKNOWN:
		return "unknown";
	case HTTP_CANCELLED:
		return "cancelled";
	}
	return "invalid";
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	if (!r || !name)
		return NULL;
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_hdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* splitmix64: small, seedable, good enough for jitter. */
uint64_t http_client_random(struct http_client *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uv_loop_t *http_client_loop(struct http_client *c)
{
	return c->loop;
}

void http_client_set_observer(struct http_client *c, http_observer_cb cb, void *ud)
{
	c->observer_cb = cb;
	c->observer_ud = ud;
}

void http_client_set_seed(struct http_client *c, uint64_t seed)
{
	if (c)
		c->rng = seed;
}

const char *http_client_error(int r)
{
	return r == -ELIBACC ? curl_dl_error() : uv_strerror(r);
}

/* ---- closing and handle bookkeeping ---- */

static void client_finish(struct http_client *c)
{
	void (*cb)(void *) = c->on_closed_cb;
	void *ud = c->on_closed_ud;
	free(c);
	curl_dl.global_cleanup();
	if (cb)
		cb(ud);
}

void http_client_handle_closed(struct http_client *c)
{
	c->open_handles--;
	if (c->closing && c->open_handles == 0)
		client_finish(c);
}

static void timer_closed_cb(uv_handle_t *h)
{
	http_client_handle_closed(h->data);
}

static void sock_closed_cb(uv_handle_t *h)
{
	struct http_sock *s = h->data;
	struct http_client *c = s->client;
	http_list_del(&s->link);
	free(s);
	http_client_handle_closed(c);
}

static void sock_close(struct http_sock *s)
{
	if (s->closing)
		return;
	s->closing = true;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed_cb);
}

/* ---- curl <-> uv glue ---- */

static void transfer_done(struct http_req *r, CURLcode rc);

/* Completed transfers: copy what we need out of each CURLMsg before touching
 * the handle, since removing it invalidates the message. */
static void drain(struct http_client *c)
{
	for (;;) {
		int left = 0;
		if (c->closing || !c->multi)
			return;
		CURLMsg *m = curl_dl.multi_info_read(c->multi, &left);
		if (!m)
			return;
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		void *priv = NULL;
		curl_dl.easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		transfer_done(priv, rc);
	}
}

static void socket_action(struct http_client *c, curl_socket_t fd, int flags)
{
	int running = 0;
	if (!c->multi)
		return;
	/* An error here means a bad socket or a misuse: the affected transfers
	 * still finish through info_read, so there is nothing else to do. */
	(void)curl_dl.multi_socket_action(c->multi, fd, flags, &running);
	drain(c);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct http_sock *s = h->data;
	int flags = 0;
	if (status < 0) {
		flags = CURL_CSELECT_ERR;
	} else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	socket_action(s->client, s->fd, flags);
}

static void curl_timer_cb(uv_timer_t *t)
{
	/* Drains too: a last transfer that timed out is only seen here. */
	socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	(void)multi;
	if (timeout_ms < 0) {
		uv_timer_stop(&c->timer);
		return 0;
	}
	if (c->closing)
		return 0;
	return uv_timer_start(&c->timer, curl_timer_cb, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

static int socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *s = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(s);
			curl_dl.multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (c->closing)
		return 0;
	if (!s) {
		s = ts_calloc(1, sizeof(*s));
		s->client = c;
		s->fd = fd;
		if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		c->open_handles++;
		http_list_add_tail(&c->socks, &s->link);
		curl_dl.multi_assign(c->multi, fd, s);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&s->poll, events, poll_cb) < 0 ? -1 : 0;
}

int http_client_new(uv_loop_t *loop, struct http_client **ret)
{
	if (!loop || !ret)
		return -EINVAL;
	int lr = curl_dl_load();
	if (lr < 0)
		return lr;
	if (curl_dl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	struct http_client *c = ts_calloc(1, sizeof(*c));
	c->loop = loop;
	http_list_init(&c->socks);
	http_list_init(&c->endpoints);
	http_list_init(&c->active);
	if (RAND_bytes((unsigned char *)&c->rng, sizeof(c->rng)) != 1)
		c->rng = uv_hrtime();
	c->multi = curl_dl.multi_init();
	if (!c->multi) {
		free(c);
		curl_dl.global_cleanup();
		return -ENOMEM;
	}
	int r = uv_timer_init(loop, &c->timer);
	if (r < 0) {
		curl_dl.multi_cleanup(c->multi);
		free(c);
		curl_dl.global_cleanup();
		return r;
	}
	c->timer.data = c;
	c->open_handles = 1;
	curl_dl.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
	curl_dl.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_dl.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
	curl_dl.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*ret = c;
	return 0;
}

/* libcurl's connection limits equal the sum of the endpoints' concurrency,
 * which bounds the transfers handed to it: every transfer gets a connection at
 * once and none waits in libcurl's own queue. A waiting transfer would leave on
 * the first connection freed, the one that just brought a 429 say, before the
 * endpoint's gate could hold it. Endpoints that share a host (or a proxy) add
 * up, so neither limit may be one endpoint's alone. */
static void client_set_limits(struct http_client *c)
{
	curl_dl.multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_connections);
	curl_dl.multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->max_connections);
	curl_dl.multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->max_connections);
}

void http_client_add_capacity(struct http_client *c, int concurrency)
{
	c->max_connections += concurrency;
	client_set_limits(c);
}

/* An endpoint freed before the client: a long-lived client whose connectors
 * are made again and again must not grow its connection cache forever. */
void http_client_remove_capacity(struct http_client *c, int concurrency)
{
	if (c->closing || !c->multi)
		return;
	c->max_connections -= concurrency;
	client_set_limits(c);
}

void http_client_flush(struct http_client *c)
{
	if (!c || c->closing || !c->multi)
		return;
	for (struct http_list *e = c->endpoints.next; e != &c->endpoints; e = e->next) {
		struct http_endpoint *ep = HTTP_CONTAINER(e, struct http_endpoint, link);
		if (!http_list_empty(&ep->ready))
			http_endpoint_pump(ep);
	}
	/* The transfers just added are due at once: curl starts them here.
	 * Transfers that end meanwhile are reported on the next loop turn
	 * (the timer drains), not inside the caller. */
	int running = 0;
	(void)curl_dl.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (!c->closing && c->multi)
		uv_timer_start(&c->timer, curl_timer_cb, 0, 0);
}

/* ---- requests ---- */

static void attempt_reset(struct http_req *r)
{
	for (size_t i = 0; i < r->n_hdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	r->hdrs = NULL;
	r->n_hdrs = 0;
	r->hdr_bytes = 0;
	ts_buf_free(&r->in);
	r->too_large = false;
	r->hdr_overflow = false;
	r->resend_refused = false;
	r->sends_this_attempt = 0;
	r->limits_applied = false;
	r->gate_refused = false;
	r->status_seen = 0;
	r->errbuf[0] = '\0';
}

static void req_free(struct http_req *r)
{
	if (r->auth_node.data) {
		OPENSSL_cleanse(r->auth_node.data, r->auth_len);
		free(r->auth_node.data);
	}
	if (r->headers_tail)
		r->headers_tail->next = NULL; /* unlink our auth node first */
	curl_dl.slist_free_all(r->headers);
	attempt_reset(r);
	free(r->method);
	free(r->url);
	free(r->body);
	free(r);
}

/* Replaces every occurrence of the secret in s (in place) so no error text can
 * carry it, whatever a library put there. */
static void scrub(char *s, size_t cap, const char *secret)
{
	static const char mark[] = "[redacted]";
	size_t n = secret ? strlen(secret) : 0;
	if (n == 0)
		return;
	for (;;) {
		char *hit = strstr(s, secret);
		if (!hit)
			return;
		size_t tail = strlen(hit + n);
		size_t keep = sizeof(mark) - 1;
		if ((size_t)(hit - s) + keep + tail + 1 > cap)
			tail = cap - 1 - (size_t)(hit - s) - keep;
		memmove(hit + keep, hit + n, tail);
		hit[keep + tail] = '\0';
		memcpy(hit, mark, keep);
	}
}

/* Runs the callback once with the final result and releases the request. */
static void deliver(struct http_req *r, enum http_outcome outcome, long status, const char *error)
{
	struct http_endpoint *ep = r->ep;
	struct http_response resp;
	memset(&resp, 0, sizeof(resp));
	resp.outcome = outcome;
	resp.status = outcome == HTTP_OK ? status : 0;
	if (outcome == HTTP_OK) {
		resp.body = r->in.data ? r->in.data : "";
		resp.body_len = r->in.len;
		resp.headers = r->hdrs;
		resp.n_headers = r->n_hdrs;
	} else {
		resp.body = "";
	}
	resp.attempts = r->attempts;
	if (error) {
		snprintf(resp.error, sizeof(resp.error), "%s", error);
		scrub(resp.error, sizeof(resp.error), r->auth_value);
	}
	if (outcome == HTTP_CANCELLED)
		ep->stats.cancelled++;
	/* The secret is not needed any more: wipe it before user code runs. */
	if (r->auth_node.data)
		OPENSSL_cleanse(r->auth_node.data, r->auth_len);
	r->cb(&resp, r->ud);
	req_free(r);
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
	struct http_req *r = ud;
	size_t len = size * n;
	if (r->in.len + len > r->ep->o.max_response_bytes) {
		r->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	ts_buf_append(&r->in, p, len);
	return len;
}

/* "HTTP/1.1 429 Too Many Requests" -> 429; 0 when there is no status. */
static long status_of(const char *p, size_t len)
{
	const char *end = p + len;
	const char *s = memchr(p, ' ', len);
	if (!s || end - s < 4)
		return 0;
	long st = 0;
	for (int i = 1; i <= 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		st = st * 10 + (s[i] - '0');
	}
	return st;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct http_req *r = ud;
	size_t len = size * n;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue, say): keep only its headers. */
		for (size_t i = 0; i < r->n_hdrs; i++) {
			free(r->hdrs[i].name);
			free(r->hdrs[i].value);
		}
		r->n_hdrs = 0;
		r->hdr_bytes = 0;
		r->status_seen = status_of(p, len);
		return len;
	}
	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		/* The end of a final answer's headers: a 429 or an exhausted quota
		 * closes the gate now, not when the transfer is reported done.
		 * Within the same libcurl call another transfer may be about to
		 * leave on a connection freed meanwhile, and prereq_cb must find
		 * the gate already closed. */
		if (r->status_seen >= 200 && !r->limits_applied) {
			r->limits_applied = true;
			http_limit_on_response(r->ep, r, r->status_seen, uv_hrtime());
		}
		return len;
	}
	r->hdr_bytes += len;
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return len; /* an obsolete folded line */
	if (r->n_hdrs >= HTTP_MAX_HEADERS || r->hdr_bytes > HTTP_MAX_HEADER_BYTES) {
		r->hdr_overflow = true;
		return 0;
	}
	size_t name_len = (size_t)(colon - p);
	const char *v = colon + 1;
	const char *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (r->n_hdrs % 16 == 0)
		r->hdrs = ts_realloc(r->hdrs, (r->n_hdrs + 16) * sizeof(*r->hdrs));
	r->hdrs[r->n_hdrs].name = ts_strndup(p, name_len);
	r->hdrs[r->n_hdrs].value = ts_strndup(v, (size_t)(end - v));
	r->n_hdrs++;
	return len;
}

/* Runs right before each send of the request. A second call on the same
 * handle is libcurl resending on its own after a reused connection died,
 * which must not happen to a request that is not idempotent: the first copy
 * may have been processed. The gate is checked here too, when the request
 * leaves, not only when it was handed to libcurl: a 429 read on another
 * connection in between closes it, and the request goes back to the queue
 * unsent (transfer_done). */
static int prereq_cb(void *ud, char *ip, char *local_ip, int remote_port, int local_port)
{
	struct http_req *r = ud;
	(void)ip;
	(void)local_ip;
	(void)remote_port;
	(void)local_port;
	if (++r->sends_this_attempt > 1 && !r->idempotent) {
		r->resend_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	if (http_endpoint_gate_closed(r->ep, uv_hrtime())) {
		r->gate_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

/* The one funnel for curl option errors: the first failure sticks. */
struct setopt_state {
	CURL *easy;
	CURLcode rc;
	CURLoption failed;
};

static void set_long(struct setopt_state *st, CURLoption opt, long v)
{
	if (st->rc == CURLE_OK) {
		st->rc = curl_dl.easy_setopt(st->easy, opt, v);
		st->failed = opt;
	}
}

static void set_ptr(struct setopt_state *st, CURLoption opt, const void *v)
{
	if (st->rc == CURLE_OK) {
		st->rc = curl_dl.easy_setopt(st->easy, opt, v);
		st->failed = opt;
	}
}

static void set_off(struct setopt_state *st, CURLoption opt, curl_off_t v)
{
	if (st->rc == CURLE_OK) {
		st->rc = curl_dl.easy_setopt(st->easy, opt, v);
		st->failed = opt;
	}
}

static void set_fn(struct setopt_state *st, CURLoption opt, void (*fn)(void))
{
	if (st->rc == CURLE_OK) {
		st->rc = curl_dl.easy_setopt(st->easy, opt, fn);
		st->failed = opt;
	}
}

static void configure(struct setopt_state *st, struct http_req *r)
{
	const struct http_endpoint *ep = r->ep;
	const struct http_endpoint_opts *o = &ep->o;

	set_ptr(st, CURLOPT_URL, r->url);
	set_ptr(st, CURLOPT_PROTOCOLS_STR, "http,https");
	set_ptr(st, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	set_long(st, CURLOPT_FOLLOWLOCATION, 0L);
	set_long(st, CURLOPT_NOSIGNAL, 1L);
	set_ptr(st, CURLOPT_PRIVATE, r);
	set_ptr(st, CURLOPT_ERRORBUFFER, r->errbuf);
	set_fn(st, CURLOPT_WRITEFUNCTION, (void (*)(void))write_cb);
	set_ptr(st, CURLOPT_WRITEDATA, r);
	set_fn(st, CURLOPT_HEADERFUNCTION, (void (*)(void))header_cb);
	set_ptr(st, CURLOPT_HEADERDATA, r);
	set_long(st, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	set_long(st, CURLOPT_TIMEOUT_MS, o->request_timeout_ms);
	set_long(st, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit_bps);
	set_long(st, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
	set_long(st, CURLOPT_SSL_VERIFYPEER, 1L);
	set_long(st, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ep->ca_bundle)
		set_ptr(st, CURLOPT_CAINFO, ep->ca_bundle);
	/* Without a configured proxy curl reads http_proxy, https_proxy and
	 * no_proxy from the environment itself. */
	if (ep->proxy)
		set_ptr(st, CURLOPT_PROXY, ep->proxy);
	set_ptr(st, CURLOPT_USERAGENT, "threatsync/" TS_VERSION);
	set_ptr(st, CURLOPT_ACCEPT_ENCODING, "");
	set_long(st, CURLOPT_TCP_KEEPALIVE, 1L);
	set_off(st, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_response_bytes);
	set_ptr(st, CURLOPT_HTTPHEADER, r->headers);
	set_fn(st, CURLOPT_PREREQFUNCTION, (void (*)(void))prereq_cb);
	set_ptr(st, CURLOPT_PREREQDATA, r);

	bool has_body = r->body != NULL || strcmp(r->method, "POST") == 0 ||
	                strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0;
	if (strcmp(r->method, "GET") == 0) {
		set_long(st, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "HEAD") == 0) {
		set_long(st, CURLOPT_NOBODY, 1L);
	} else if (has_body) {
		/* The body is handed over in memory (it lives as long as the
		 * transfer): libcurl then writes a body that fits its buffer
		 * in the same send as the headers, where a read callback
		 * costs a second segment the server waits for. A silent
		 * resend of a request that is not idempotent is still
		 * refused, by prereq_cb, before anything leaves. The size is
		 * set first: POSTFIELDS without it would take strlen. */
		set_long(st, CURLOPT_POST, 1L);
		set_off(st, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		set_ptr(st, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		if (strcmp(r->method, "POST") != 0)
			set_ptr(st, CURLOPT_CUSTOMREQUEST, r->method);
	} else {
		set_ptr(st, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

static void fail_message(struct http_req *r, const char *what, char *out, size_t cap)
{
	snprintf(out, cap, "%.60s: %.16s %.170s", r->ep->name, r->method, what);
}

void http_transfer_start(struct http_req *r)
{
	struct http_endpoint *ep = r->ep;
	struct http_client *c = ep->client;
	char msg[256];

	attempt_reset(r);
	r->easy = curl_dl.easy_init();
	if (!r->easy) {
		fail_message(r, "failed: curl_easy_init: out of memory", msg, sizeof(msg));
		deliver(r, HTTP_FAILED, 0, msg);
		return;
	}
	struct setopt_state st = {.easy = r->easy, .rc = CURLE_OK};
	configure(&st, r);
	CURLMcode mc = CURLM_OK;
	if (st.rc == CURLE_OK)
		mc = curl_dl.multi_add_handle(c->multi, r->easy);
	if (st.rc != CURLE_OK || mc != CURLM_OK) {
		char what[200];
		if (st.rc != CURLE_OK)
			snprintf(what, sizeof(what), "not sent: curl option %d: %s", (int)st.failed,
			         curl_dl.easy_strerror(st.rc));
		else
			snprintf(what, sizeof(what), "not sent: %s", curl_dl.multi_strerror(mc));
		curl_dl.easy_cleanup(r->easy);
		r->easy = NULL;
		fail_message(r, what, msg, sizeof(msg));
		deliver(r, HTTP_FAILED, 0, msg);
		return;
	}
	r->attempts++;
	r->started_ns = uv_hrtime();
	ep->stats.requests++;
	ep->stats.in_flight++;
	http_list_add_tail(&c->active, &r->link);
}

/* Errors that happen before the request can have reached the server. */
static bool error_before_send(CURLcode rc)
{
	switch (rc) {
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_FUNCTION_NOT_FOUND:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_OUT_OF_MEMORY:
		return true;
	default:
		return false;
	}
}

/* Transport errors worth another attempt (timeouts, resets, truncated or
 * malformed answers), as opposed to configuration or local failures. */
static bool error_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL: /* e.g. "HTTP/0.9 not allowed": a garbled reply */
		return true;
	default:
		return false;
	}
}

static void on_transport_error(struct http_req *r, CURLcode rc, bool sent, uint64_t now)
{
	struct http_endpoint *ep = r->ep;
	char what[200];
	char msg[256];
	enum http_outcome outcome = sent ? HTTP_OUTCOME_UNKNOWN : HTTP_FAILED;
	bool retry = false;

	ep->stats.transport_errors++;
	/* An answer refused for its size came from a tracker that processed the
	 * request: a write it made cannot be called "not done". */
	bool refused_unsafe = sent && !r->idempotent;
	if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(what, sizeof(what), "%s: response body exceeds %zu bytes",
		         refused_unsafe ? "outcome unknown" : "failed", ep->o.max_response_bytes);
		outcome = refused_unsafe ? HTTP_OUTCOME_UNKNOWN : HTTP_FAILED;
	} else if (r->hdr_overflow) {
		snprintf(what, sizeof(what), "%s: response headers exceed %d lines or %d bytes",
		         refused_unsafe ? "outcome unknown" : "failed", HTTP_MAX_HEADERS,
		         HTTP_MAX_HEADER_BYTES);
		outcome = refused_unsafe ? HTTP_OUTCOME_UNKNOWN : HTTP_FAILED;
	} else {
		if (r->resend_refused)
			snprintf(what, sizeof(what),
			         "outcome unknown: connection lost after the request was sent");
		else
			snprintf(what, sizeof(what), "%s: %.150s (curl error %d)",
			         sent ? "outcome unknown" : "failed",
			         r->errbuf[0] ? r->errbuf : curl_dl.easy_strerror(rc), (int)rc);
		/* Not sent, or safe to send twice: try again. */
		retry = error_transient(rc) && (r->idempotent || !sent) && !r->resend_refused;
	}
	if (retry) {
		r->fail_attempts++;
		if (r->fail_attempts < ep->o.max_attempts) {
			uint64_t ms = http_backoff_ms(ep, r->fail_attempts - 1);
			http_endpoint_requeue(ep, r, now + ms * 1000000ULL);
			return;
		}
	}
	fail_message(r, what, msg, sizeof(msg));
	if (r->attempts > 1) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, " after %d attempts", r->attempts);
	}
	deliver(r, outcome, 0, msg);
}

static void on_response(struct http_req *r, long status, uint64_t now)
{
	struct http_endpoint *ep = r->ep;
	int cls = status >= 100 && status < 600 ? (int)(status / 100) : 0;
	ep->stats.responses[cls]++;
	if (!r->limits_applied)
		http_limit_on_response(ep, r, status, now);
	if (status == 429) {
		ep->stats.rate_limited++;
		r->rl_attempts++;
		if (r->rl_attempts <= ep->o.max_429_retries) {
			/* The gate holds it back; it goes first once open. */
			http_endpoint_requeue(ep, r, now);
			return;
		}
	} else if (status >= 500 && r->idempotent) {
		r->fail_attempts++;
		if (r->fail_attempts < ep->o.max_attempts) {
			uint64_t ms = http_backoff_ms(ep, r->fail_attempts - 1);
			http_endpoint_requeue(ep, r, now + ms * 1000000ULL);
			return;
		}
	}
	deliver(r, HTTP_OK, status, NULL);
}

static void transfer_done(struct http_req *r, CURLcode rc)
{
	struct http_endpoint *ep = r->ep;
	struct http_client *c = ep->client;
	long status = 0;
	long request_size = 0;
	curl_off_t pretransfer = 0, up = 0, down = 0;

	curl_dl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_dl.easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &request_size);
	curl_dl.easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	curl_dl.easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_dl.easy_getinfo(r->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_dl.multi_remove_handle(c->multi, r->easy);
	curl_dl.easy_cleanup(r->easy);
	r->easy = NULL;
	http_list_del(&r->link);
	ep->stats.in_flight--;
	ep->stats.bytes_sent += (uint64_t)(request_size > 0 ? request_size : 0) + (uint64_t)up;
	ep->stats.bytes_received += (uint64_t)down;

	uint64_t now = uv_hrtime();
	if (rc != CURLE_OK && r->gate_refused) {
		/* Refused by prereq_cb before anything left: only a resend (an
		 * idempotent request) had sent a copy before. */
		if (r->sends_this_attempt <= 1) {
			r->attempts--;
			ep->stats.requests--;
		}
		http_endpoint_hold(ep, r);
	} else {
		struct http_event ev = {.label = ep->label,
		                        .kind = HTTP_EVENT_ATTEMPT,
		                        .seconds = (double)(now - r->started_ns) / 1e9,
		                        .status = rc == CURLE_OK ? status : 0};
		http_observe(c, &ev);
		if (rc == CURLE_OK) {
			on_response(r, status, now);
		} else {
			bool sent = !error_before_send(rc) &&
			            (request_size > 0 || pretransfer > 0 || r->resend_refused);
			on_transport_error(r, rc, sent, now);
		}
	}
	/* The next hand-off waits for the next loop turn: every answer that
	 * arrived in this one (a 429 on another socket, say) has been read by
	 * then, so the gate it closes is seen before anything more goes to
	 * libcurl. */
	http_endpoint_kick(ep);
}

/* ---- submit and cancel ---- */

static bool header_line_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h)
		return false;
	return strpbrk(h, "\r\n") == NULL;
}

static bool method_ok(const char *m)
{
	if (!m || !*m || strlen(m) > 16)
		return false;
	for (const char *p = m; *p; p++)
		if (*p < 'A' || *p > 'Z')
			return false;
	return true;
}

static bool method_idempotent(const char *m)
{
	static const char *const ok[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(ok); i++)
		if (strcmp(m, ok[i]) == 0)
			return true;
	return false;
}

int http_submit(struct http_endpoint *e, const struct http_request *req,
                void (*cb)(const struct http_response *resp, void *ud), void *ud)
{
	if (!e || !req || !cb || !method_ok(req->method) || !req->url)
		return -EINVAL;
	if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)
		return -EINVAL;
	if (strpbrk(req->url, " \r\n"))
		return -EINVAL;
	if (req->body_len && !req->body)
		return -EINVAL;
	for (const char *const *h = req->headers; h && *h; h++)
		if (!header_line_ok(*h))
			return -EINVAL;
	if (req->auth_header && !header_line_ok(req->auth_header))
		return -EINVAL;
	if (e->user_freed || e->detached || e->client->closing)
		return -ECANCELED;
	if (e->stats.queued >= e->o.max_queue)
		return -ENOBUFS;

	struct http_req *r = ts_calloc(1, sizeof(*r));
	http_list_init(&r->link);
	r->ep = e;
	r->cb = cb;
	r->ud = ud;
	r->method = ts_strdup(req->method);
	r->url = ts_strdup(req->url);
	if (req->body) {
		r->body = ts_malloc(req->body_len + 1);
		memcpy(r->body, req->body, req->body_len);
		r->body[req->body_len] = '\0';
		r->body_len = req->body_len;
	}
	r->idempotent = (req->flags & HTTP_IDEMPOTENT) || method_idempotent(req->method);
	/* An empty "Expect:" stops curl from waiting for 100 Continue. */
	r->headers = curl_dl.slist_append(NULL, "Expect:");
	for (const char *const *h = req->headers; r->headers && h && *h; h++) {
		struct curl_slist *n = curl_dl.slist_append(r->headers, *h);
		if (!n) {
			curl_dl.slist_free_all(r->headers);
			r->headers = NULL;
		}
	}
	if (!r->headers) {
		req_free(r);
		return -ENOMEM;
	}
	for (r->headers_tail = r->headers; r->headers_tail->next;)
		r->headers_tail = r->headers_tail->next;
	if (req->auth_header) {
		r->auth_len = strlen(req->auth_header);
		r->auth_node.data = ts_strdup(req->auth_header);
		r->auth_node.next = NULL;
		const char *v = strchr(r->auth_node.data, ':') + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		r->auth_value = v;
		r->headers_tail->next = &r->auth_node;
	}
	http_list_add_tail(&e->ready, &r->link);
	e->stats.queued++;
	http_endpoint_kick(e);
	return 0;
}

/* Removes every request of ep (or of all endpoints when ep is NULL) from the
 * queues and the multi into out. */
static void collect(struct http_client *c, struct http_endpoint *only, struct http_list *out)
{
	struct http_list *it = c->active.next;
	while (it != &c->active) {
		struct http_list *next = it->next;
		struct http_req *r = HTTP_CONTAINER(it, struct http_req, link);
		if (!only || r->ep == only) {
			curl_dl.multi_remove_handle(c->multi, r->easy);
			curl_dl.easy_cleanup(r->easy);
			r->easy = NULL;
			r->ep->stats.in_flight--;
			http_list_del(&r->link);
			http_list_add_tail(out, &r->link);
		}
		it = next;
	}
	for (struct http_list *e = c->endpoints.next; e != &c->endpoints; e = e->next) {
		struct http_endpoint *ep = HTTP_CONTAINER(e, struct http_endpoint, link);
		if (only && ep != only)
			continue;
		struct http_list *queues[2] = {&ep->ready, &ep->delayed};
		for (int q = 0; q < 2; q++) {
			while (!http_list_empty(queues[q])) {
				struct http_list *n = queues[q]->next;
				http_list_del(n);
				http_list_add_tail(out, n);
			}
		}
		ep->stats.queued = 0;
	}
}

static void cancel_list(struct http_list *l)
{
	while (!http_list_empty(l)) {
		struct http_list *n = l->next;
		http_list_del(n);
		struct http_req *r = HTTP_CONTAINER(n, struct http_req, link);
		char msg[256];
		fail_message(r, "cancelled", msg, sizeof(msg));
		deliver(r, HTTP_CANCELLED, 0, msg);
	}
}

void http_endpoint_cancel_all(struct http_endpoint *ep)
{
	struct http_list doomed;
	http_list_init(&doomed);
	collect(ep->client, ep, &doomed);
	cancel_list(&doomed);
}

void http_client_close(struct http_client *c, void (*on_closed_cb)(void *ud), void *ud)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	c->on_closed_cb = on_closed_cb;
	c->on_closed_ud = ud;

	struct http_list doomed;
	http_list_init(&doomed);
	collect(c, NULL, &doomed);

	/* curl first: its cleanup may still call socket_fn/timer_fn, which
	 * need the uv handles open. */
	curl_dl.multi_cleanup(c->multi);
	c->multi = NULL;

	uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
	for (struct http_list *it = c->socks.next; it != &c->socks; it = it->next)
		sock_close(HTTP_CONTAINER(it, struct http_sock, link));
	while (!http_list_empty(&c->endpoints)) {
		struct http_list *n = c->endpoints.next;
		struct http_endpoint *ep = HTTP_CONTAINER(n, struct http_endpoint, link);
		http_list_del(n);
		ep->detached = true;
		http_endpoint_close_wake(ep);
	}
	cancel_list(&doomed);
}
