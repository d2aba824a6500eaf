/* SPDX-License-Identifier: Apache-2.0 */
/* Shared HTTP client: libcurl's multi interface on a libuv loop, with per-endpoint limits and
 * retries. */
#ifndef TS_CONNECTORS_HTTP_H
#define TS_CONNECTORS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "engine/util.h"

/*
 * Model: one http_client per uv loop owns the CURLM, its uv_timer and one
 * uv_poll per socket; connections are kept by the multi and reused across
 * requests. One http_endpoint per connector (tracker) holds the limits: at
 * most `concurrency` requests in flight, a token bucket, a gate "no request
 * before T" (Retry-After, rate-limit headers) and the retry policy.
 *
 * The gate holds on every connection: it closes as soon as an answer's
 * headers arrive, a request waits in its endpoint's queue (never inside
 * libcurl, whose connection limits are the sum of the endpoints'
 * concurrency), and the gate is checked again right before the request
 * leaves; one refused there goes back to the head of the queue unsent.
 *
 * Everything runs on the loop thread; nothing blocks. All callbacks run on the
 * loop, never from inside http_submit.
 */

struct http_client;
struct http_endpoint;

/* New client on loop. *ret is owned by the caller and released through
 * http_client_close. The first one loads libcurl (connectors/curl_dl.h).
 * Returns 0, -ENOMEM, -ELIBACC (libcurl cannot be loaded) or a negative
 * libuv error. */
int http_client_new(uv_loop_t *loop, struct http_client **ret);
/* What a negative return of http_client_new means, for messages. */
const char *http_client_error(int r);

/* The loop c runs on (borrowed), for connectors that need their own timers. */
uv_loop_t *http_client_loop(struct http_client *c);

/* Seeds the PRNG used for backoff jitter (tests use it for determinism). */
void http_client_set_seed(struct http_client *c, uint64_t seed);

/* Hands the requests submitted so far to libcurl and lets it send them now,
 * instead of on the next loop turn (a caller about to do long work, such as
 * a database commit, gets its requests on the wire first). Endpoint limits
 * hold as usual. No request callback runs from here, except for a request
 * that fails before anything is sent (out of memory). */
void http_client_flush(struct http_client *c);

/* What the client saw, for the daemon's metrics: each attempt that went out
 * and ended (an answer or a transport error), with its duration; and each time
 * an endpoint held its queue back for its token bucket or for the tracker's
 * rate-limit gate (Retry-After, a 429, rate-limit headers). */
enum http_event_kind {
	HTTP_EVENT_ATTEMPT,   /* seconds: from hand-off to libcurl to the end */
	HTTP_EVENT_RATE_WAIT, /* seconds: the wait planned */
};
struct http_event {
	const char *label; /* the endpoint's label (http_endpoint_opts), borrowed */
	enum http_event_kind kind;
	double seconds;
	long status; /* ATTEMPT: the HTTP status, 0 without an answer */
};
typedef void (*http_observer_cb)(void *ud, const struct http_event *ev);

/* Calls cb (on the loop, synchronously, so it must be cheap) for every event
 * of c's endpoints; NULL stops. */
void http_client_set_observer(struct http_client *c, http_observer_cb cb, void *ud);

/* Starts closing: every queued and in-flight request's callback runs once with
 * HTTP_CANCELLED (before this returns), curl_multi_cleanup runs before the uv
 * handles are closed, and memory is freed in the close callbacks. on_closed_cb
 * (may be NULL) runs on the loop once every handle is released; c is invalid
 * from then on. Endpoints stay allocated until http_endpoint_free (which may
 * be called before or after on_closed_cb). A NULL c is a no-op. */
void http_client_close(struct http_client *c, void (*on_closed_cb)(void *ud), void *ud);

/*
 * Endpoint options. A zero field takes the default in brackets.
 * Retry policy: 5xx, timeouts and resets are retried for idempotent requests
 * with exponential backoff and full jitter, sleep = random(0, min(backoff_max_ms,
 * backoff_base_ms * 2^n)), up to max_attempts sends. A 429 is always safe to
 * retry (the server did not process it): it is retried for every method once
 * the gate opens; 429s are counted in http_response.attempts but not against
 * max_attempts: they have their own limit, max_429_retries, after which the 429
 * is delivered as a response.
 */
struct http_endpoint_opts {
	const char *name;          /* required; used in error messages; copied */
	const char *label;         /* for the client's observer (a connector's name); copied;
	                            * NULL: name */
	int concurrency;           /* max requests in flight [4], 1..1024 */
	double rate_per_second;    /* token bucket refill; 0 = unlimited [0] */
	int burst;                 /* bucket size [1] */
	int connect_timeout_ms;    /* [10000] */
	int request_timeout_ms;    /* whole transfer [60000] */
	int low_speed_limit_bps;   /* abort below this many bytes/s ... [1] */
	int low_speed_time_s;      /* ... for this long [60] */
	const char *ca_bundle;     /* CA file; NULL = system default; copied */
	const char *proxy;         /* NULL = curl's http_proxy/https_proxy/no_proxy; copied */
	int max_attempts;          /* sends for 5xx/timeout/reset [5] */
	int backoff_base_ms;       /* [500] */
	int backoff_max_ms;        /* [30000] */
	size_t max_response_bytes; /* larger bodies fail the request [16 MiB] */
	int max_429_retries;       /* [10] */
	size_t max_queue;          /* queued requests before http_submit fails [100000] */
};

/* Checks o and fills err with a message naming the bad field. Returns 0 or
 * -EINVAL. http_endpoint_new runs the same checks. */
int http_endpoint_opts_check(const struct http_endpoint_opts *o, struct ts_err *err);

/* New endpoint on c (o is copied). *ret is owned by the caller: free it with
 * http_endpoint_free. Returns 0 or -EINVAL (bad options; see
 * http_endpoint_opts_check for a message) or -ECANCELED (c is closing). */
int http_endpoint_new(struct http_client *c, const struct http_endpoint_opts *o,
                      struct http_endpoint **ret);

/* Releases e. Requests still queued or in flight are cancelled first (their
 * callbacks run with HTTP_CANCELLED). Memory is released once e's timer is
 * closed, so the loop must run afterwards. NULL is a no-op. */
void http_endpoint_free(struct http_endpoint *e);

struct http_stats {
	uint64_t requests;         /* sends (every attempt) */
	uint64_t responses[6];     /* by class: [1]..[5] = 1xx..5xx, [0] = other */
	uint64_t transport_errors; /* attempts that ended without a response */
	uint64_t retries;          /* attempts re-queued by the retry policy */
	uint64_t rate_limited;     /* 429 responses */
	uint64_t cancelled;
	uint64_t gate_holds; /* transfers handed back unsent: the gate closed before they left */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	unsigned in_flight;
	size_t queued;
	double rate_per_second; /* current bucket rate (adapted from headers); 0 = unlimited */
	int64_t gate_ms;        /* ms until the gate opens, 0 when open */
};
void http_endpoint_stats(const struct http_endpoint *e, struct http_stats *ret);

enum http_flags {
	/* Safe to send twice. GET, HEAD, PUT, DELETE and OPTIONS are treated as
	 * idempotent without the flag. A request without it (POST, PATCH) is not
	 * retried after it may have reached the server: its first 5xx is
	 * delivered as a response and a timeout/reset as HTTP_OUTCOME_UNKNOWN.
	 * libcurl's own silent resend on a dead reused connection is refused
	 * for such requests too. */
	HTTP_IDEMPOTENT = 1,
};

struct http_request {
	const char *method;         /* "GET", "POST", ...: upper-case token */
	const char *url;            /* http:// or https:// only */
	const char *const *headers; /* "Name: value", NULL-terminated, may be NULL; copied */
	const char *body;           /* may be NULL; copied */
	size_t body_len;
	unsigned flags;          /* enum http_flags */
	const char *auth_header; /* a whole secret header line, e.g. "Authorization:
	                            Bearer x" or "PRIVATE-TOKEN: x"; may be NULL. Copied,
	                            never logged or put in errors, wiped after use. */
};

enum http_outcome {
	HTTP_OK,              /* got a response (any status) */
	HTTP_FAILED,          /* definitive failure; the request was not processed (DNS,
	                         connection refused, TLS) or the response to a safe request
	                         was unacceptable (too large) */
	HTTP_OUTCOME_UNKNOWN, /* sent, no complete answer: timeout, reset, malformed, or an
	                         unacceptable response to an unsafe request */
	HTTP_CANCELLED,       /* client closing or endpoint freed */
};

/* Static name of an outcome ("ok", "failed", "unknown", "cancelled"). */
const char *http_outcome_name(enum http_outcome o);

struct http_header {
	char *name;
	char *value; /* without surrounding whitespace */
};

struct http_response {
	enum http_outcome outcome;
	long status; /* 0 unless outcome == HTTP_OK */
	char *body;  /* never NULL, NUL-terminated, may contain NULs */
	size_t body_len;
	struct http_header *headers; /* of the final response */
	size_t n_headers;
	int attempts;    /* sends, including retries */
	char error[256]; /* empty for HTTP_OK; no secrets */
};

/* Value of the first header called name (case-insensitive), or NULL. Borrowed
 * from r. */
const char *http_response_header(const struct http_response *r, const char *name);

/* Queues a copy of req. cb runs exactly once, on the loop, never from inside
 * http_submit, with a response it does not own (valid during the callback;
 * copy what you keep). Returns 0, -EINVAL (bad request: method, URL, a header
 * with CR/LF), -ENOBUFS (queue full) or -ECANCELED (endpoint freed or client
 * closing); cb never runs when this fails. */
int http_submit(struct http_endpoint *e, const struct http_request *req,
                void (*cb)(const struct http_response *resp, void *ud), void *ud);

/* Parsers (httpdate.c), exposed for the connectors and the tests. */

/* Parses an HTTP-date (IMF-fixdate, obsolete RFC 850 or asctime format, RFC
 * 9110 section 5.6.7) into unix seconds. now_unix resolves RFC 850's two-digit
 * years. Returns 0 or -EINVAL. */
int http_date_parse(const char *s, int64_t now_unix, int64_t *ret_unix);

/* Parses an ISO 8601 timestamp "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM|-HHMM]"
 * (no zone means UTC) into unix milliseconds. Returns 0 or -EINVAL. */
int http_iso8601_parse(const char *s, int64_t *ret_unix_ms);

/* Delay a Retry-After value asks for, relative to now_unix_ms: delta-seconds
 * or an HTTP-date; "0" or a past date gives 1000 ms, the minimum. Returns 0 or
 * -EINVAL. */
int http_retry_after_ms(const char *value, int64_t now_unix_ms, int64_t *ret_delay_ms);

/* The moment a rate-limit reset header names: unix seconds (GitLab's
 * RateLimit-Reset), seconds from now_unix_ms for small numbers (the IETF
 * RateLimit draft), or an ISO 8601 timestamp (Jira Cloud's X-RateLimit-Reset),
 * as unix milliseconds. Returns 0 or -EINVAL. */
int http_ratelimit_reset_ms(const char *value, int64_t now_unix_ms, int64_t *ret_unix_ms);

#endif
