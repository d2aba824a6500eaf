/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP endpoints: concurrency limit, token bucket, Retry-After/rate-limit gate and backoff. */
#include "connectors/http_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ULL

int http_endpoint_opts_check(const struct http_endpoint_opts *o, struct ts_err *err)
{
	if (!o)
		return ts_err_set(err, TS_E_INTERNAL, "http endpoint: no options");
	const char *n = o->name;
	if (!n || !*n)
		return ts_err_set(err, TS_E_CONFIG, "http endpoint: a name is required");
	if (o->concurrency < 0 || o->concurrency > 1024)
		return ts_err_set(err, TS_E_CONFIG,
		                  "http endpoint %s: concurrency %d is not in 1..1024", n,
		                  o->concurrency);
	if (!(o->rate_per_second >= 0 && o->rate_per_second <= 1e6))
		return ts_err_set(err, TS_E_CONFIG,
		                  "http endpoint %s: rate_per_second %g is not in 0..1000000", n,
		                  o->rate_per_second);
	if (o->burst < 0 || o->burst > 100000)
		return ts_err_set(err, TS_E_CONFIG, "http endpoint %s: burst %d is not in 1..100000",
		                  n, o->burst);
	if (o->connect_timeout_ms < 0 || o->request_timeout_ms < 0 || o->low_speed_limit_bps < 0 ||
	    o->low_speed_time_s < 0)
		return ts_err_set(err, TS_E_CONFIG, "http endpoint %s: timeouts must not be negative",
		                  n);
	if (o->max_attempts < 0 || o->max_attempts > 100)
		return ts_err_set(err, TS_E_CONFIG,
		                  "http endpoint %s: max_attempts %d is not in 1..100", n,
		                  o->max_attempts);
	if (o->backoff_base_ms < 0 || o->backoff_max_ms < 0)
		return ts_err_set(err, TS_E_CONFIG, "http endpoint %s: backoff must not be negative",
		                  n);
	if (o->backoff_base_ms && o->backoff_max_ms && o->backoff_base_ms > o->backoff_max_ms)
		return ts_err_set(err, TS_E_CONFIG,
		                  "http endpoint %s: backoff_base_ms %d exceeds backoff_max_ms %d",
		                  n, o->backoff_base_ms, o->backoff_max_ms);
	if (o->max_429_retries < 0 || o->max_429_retries > 1000)
		return ts_err_set(err, TS_E_CONFIG,
		                  "http endpoint %s: max_429_retries %d is not in 0..1000", n,
		                  o->max_429_retries);
	ts_err_clear(err);
	return 0;
}

static int or_default(int v, int dflt)
{
	return v > 0 ? v : dflt;
}

static void wake_cb(uv_timer_t *t)
{
	http_endpoint_pump(t->data);
}

int http_endpoint_new(struct http_client *c, const struct http_endpoint_opts *o,
                      struct http_endpoint **ret)
{
	if (!c || !ret || http_endpoint_opts_check(o, NULL) < 0)
		return -EINVAL;
	if (c->closing)
		return -ECANCELED;
	struct http_endpoint *ep = ts_calloc(1, sizeof(*ep));
	int r = uv_timer_init(c->loop, &ep->wake);
	if (r < 0) {
		free(ep);
		return r;
	}
	ep->wake.data = ep;
	c->open_handles++;
	ep->client = c;
	ep->o = *o;
	ep->name = ts_strdup(o->name);
	ep->label = ts_strdup(o->label ? o->label : o->name);
	ep->ca_bundle = ts_strdup(o->ca_bundle);
	ep->proxy = ts_strdup(o->proxy);
	ep->o.name = ep->name;
	ep->o.label = ep->label;
	ep->o.ca_bundle = ep->ca_bundle;
	ep->o.proxy = ep->proxy;
	ep->o.concurrency = or_default(o->concurrency, 4);
	ep->o.burst = or_default(o->burst, 1);
	ep->o.connect_timeout_ms = or_default(o->connect_timeout_ms, 10000);
	ep->o.request_timeout_ms = or_default(o->request_timeout_ms, 60000);
	ep->o.low_speed_limit_bps = or_default(o->low_speed_limit_bps, 1);
	ep->o.low_speed_time_s = or_default(o->low_speed_time_s, 60);
	ep->o.max_attempts = or_default(o->max_attempts, 5);
	ep->o.backoff_base_ms = or_default(o->backoff_base_ms, 500);
	ep->o.backoff_max_ms = or_default(o->backoff_max_ms, 30000);
	if (ep->o.backoff_max_ms < ep->o.backoff_base_ms)
		ep->o.backoff_max_ms = ep->o.backoff_base_ms;
	ep->o.max_429_retries = or_default(o->max_429_retries, 10);
	if (!ep->o.max_response_bytes)
		ep->o.max_response_bytes = 16u << 20;
	if (!ep->o.max_queue)
		ep->o.max_queue = 100000;
	ep->wake_state = HTTP_WAKE_OPEN;
	http_list_init(&ep->ready);
	http_list_init(&ep->delayed);
	ep->rate = ep->o.rate_per_second;
	ep->tokens = ep->o.burst;
	ep->refill_ns = uv_hrtime();
	http_list_add_tail(&c->endpoints, &ep->link);
	http_client_add_capacity(c, ep->o.concurrency);
	*ret = ep;
	return 0;
}

static void endpoint_destroy(struct http_endpoint *ep)
{
	free(ep->name);
	free(ep->label);
	free(ep->ca_bundle);
	free(ep->proxy);
	free(ep);
}

static void wake_closed_cb(uv_handle_t *h)
{
	struct http_endpoint *ep = h->data;
	struct http_client *c = ep->client;
	ep->wake_state = HTTP_WAKE_CLOSED;
	if (ep->user_freed)
		endpoint_destroy(ep);
	http_client_handle_closed(c);
}

void http_endpoint_close_wake(struct http_endpoint *ep)
{
	if (ep->wake_state != HTTP_WAKE_OPEN)
		return;
	ep->wake_state = HTTP_WAKE_CLOSING;
	uv_close((uv_handle_t *)&ep->wake, wake_closed_cb);
}

void http_endpoint_free(struct http_endpoint *ep)
{
	if (!ep || ep->user_freed)
		return;
	ep->user_freed = true;
	if (!ep->detached) {
		/* Callbacks run here; http_submit refuses ep from now on. */
		http_endpoint_cancel_all(ep);
		http_list_del(&ep->link);
		http_client_remove_capacity(ep->client, ep->o.concurrency);
		ep->detached = true;
		http_endpoint_close_wake(ep);
		return;
	}
	if (ep->wake_state == HTTP_WAKE_CLOSED)
		endpoint_destroy(ep);
	/* else wake_closed_cb frees it */
}

void http_endpoint_stats(const struct http_endpoint *ep, struct http_stats *ret)
{
	if (!ep || !ret)
		return;
	*ret = ep->stats;
	ret->rate_per_second = ep->rate;
	uint64_t now = uv_hrtime();
	ret->gate_ms =
	    ep->gate_ns > now ? (int64_t)((ep->gate_ns - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
}

/* ---- token bucket and gate ---- */

static void bucket_refill(struct http_endpoint *ep, uint64_t now)
{
	if (ep->rate > 0 && now > ep->refill_ns) {
		double t = ep->tokens + (double)(now - ep->refill_ns) / 1e9 * ep->rate;
		ep->tokens = t < ep->o.burst ? t : ep->o.burst;
	}
	ep->refill_ns = now;
}

/* Nanoseconds until a whole token is available; 0 if one is. */
static uint64_t bucket_wait(const struct http_endpoint *ep)
{
	if (ep->rate <= 0 || ep->tokens >= 1.0)
		return 0;
	return (uint64_t)ceil((1.0 - ep->tokens) / ep->rate * 1e9) + 1;
}

static void gate_for(struct http_endpoint *ep, int64_t delay_ms, uint64_t now)
{
	if (delay_ms > HTTP_GATE_MAX_MS)
		delay_ms = HTTP_GATE_MAX_MS;
	if (delay_ms <= 0)
		return;
	uint64_t t = now + (uint64_t)delay_ms * NS_PER_MS;
	if (t > ep->gate_ns)
		ep->gate_ns = t;
}

/* A server-announced rate (Jira Data Center's fill rate) lowers the bucket
 * rate; it never raises it above what the configuration allows. */
static void adapt_rate(struct http_endpoint *ep, double server_rate, uint64_t now)
{
	double cfg = ep->o.rate_per_second;
	double want = cfg > 0 && cfg < server_rate ? cfg : server_rate;
	if (want == ep->rate)
		return;
	bucket_refill(ep, now);
	ep->rate = want;
}

uint64_t http_backoff_ms(struct http_endpoint *ep, int n)
{
	return (uint64_t)ts_backoff_ms(n, ep->o.backoff_base_ms, ep->o.backoff_max_ms,
	                               http_client_random(ep->client));
}

static int parse_long(const char *v, long long *ret)
{
	char *end;
	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end || end == v)
		return -EINVAL;
	*ret = x;
	return 0;
}

static int parse_double(const char *v, double *ret)
{
	char *end;
	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || *end || end == v || !isfinite(x))
		return -EINVAL;
	*ret = x;
	return 0;
}

void http_limit_on_response(struct http_endpoint *ep, struct http_req *r, long status, uint64_t now)
{
	int64_t wall = ts_now_ms();
	double fill, interval;
	long long remaining = -1;

	if (parse_double(http_req_header(r, "X-RateLimit-FillRate"), &fill) == 0 &&
	    parse_double(http_req_header(r, "X-RateLimit-Interval-Seconds"), &interval) == 0 &&
	    fill > 0 && interval > 0)
		adapt_rate(ep, fill / interval, now);

	int64_t reset = -1;
	if (http_ratelimit_reset_ms(http_req_header(r, "X-RateLimit-Reset"), wall, &reset) < 0 &&
	    http_ratelimit_reset_ms(http_req_header(r, "RateLimit-Reset"), wall, &reset) < 0)
		reset = -1;
	if (parse_long(http_req_header(r, "X-RateLimit-Remaining"), &remaining) < 0)
		remaining = -1;
	if (remaining < 0 && parse_long(http_req_header(r, "RateLimit-Remaining"), &remaining) < 0)
		remaining = -1;
	int64_t until_reset = reset >= 0 ? (reset - wall > 1000 ? reset - wall : 1000) : -1;

	if (remaining == 0 && until_reset > 0)
		gate_for(ep, until_reset, now);

	if (status != 429 && status != 503)
		return;
	int64_t delay;
	if (http_retry_after_ms(http_req_header(r, "Retry-After"), wall, &delay) == 0) {
		gate_for(ep, delay, now);
	} else if (status == 429) {
		/* No Retry-After (GitLab sometimes omits it): the reset time,
		 * else at least a second plus backoff. */
		if (until_reset > 0)
			gate_for(ep, until_reset, now);
		else
			gate_for(ep, 1000 + (int64_t)http_backoff_ms(ep, r->rl_attempts), now);
	}
}

/* ---- queue ---- */

void http_endpoint_requeue(struct http_endpoint *ep, struct http_req *r, uint64_t not_before)
{
	ep->stats.retries++;
	ep->stats.queued++;
	r->not_before_ns = not_before;
	if (not_before <= uv_hrtime()) {
		http_list_insert_after(&ep->ready, &r->link); /* retries go first */
		return;
	}
	struct http_list *pos = ep->delayed.prev;
	while (pos != &ep->delayed &&
	       HTTP_CONTAINER(pos, struct http_req, link)->not_before_ns > not_before)
		pos = pos->prev;
	http_list_insert_after(pos, &r->link);
}

bool http_endpoint_gate_closed(const struct http_endpoint *ep, uint64_t now)
{
	return ep->gate_ns > now;
}

/* A transfer refused at send time because the gate had closed meanwhile: it
 * did not leave, so it goes back to the head of the queue as if it had never
 * been handed to libcurl (no retry, no attempt). */
void http_endpoint_hold(struct http_endpoint *ep, struct http_req *r)
{
	ep->stats.gate_holds++;
	ep->stats.queued++;
	r->not_before_ns = 0;
	http_list_insert_after(&ep->ready, &r->link);
}

void http_endpoint_kick(struct http_endpoint *ep)
{
	if (ep->wake_state == HTTP_WAKE_OPEN && !uv_is_active((uv_handle_t *)&ep->wake))
		uv_timer_start(&ep->wake, wake_cb, 0, 0);
}

static void wake_in(struct http_endpoint *ep, uint64_t wait_ns)
{
	uint64_t ms = (wait_ns + NS_PER_MS - 1) / NS_PER_MS;
	uv_timer_start(&ep->wake, wake_cb, ms ? ms : 1, 0);
}

void http_endpoint_pump(struct http_endpoint *ep)
{
	for (;;) {
		if (ep->user_freed || ep->detached || ep->client->closing ||
		    ep->wake_state != HTTP_WAKE_OPEN)
			return;
		bool empty = http_list_empty(&ep->ready) && http_list_empty(&ep->delayed);
		if (empty || ep->stats.in_flight >= (unsigned)ep->o.concurrency) {
			/* Idle, or a completion will pump again: no timer. */
			uv_timer_stop(&ep->wake);
			return;
		}
		uint64_t now = uv_hrtime();
		struct http_list *pos = &ep->ready;
		while (!http_list_empty(&ep->delayed)) {
			struct http_list *n = ep->delayed.next;
			if (HTTP_CONTAINER(n, struct http_req, link)->not_before_ns > now)
				break;
			http_list_del(n);
			http_list_insert_after(pos, n);
			pos = n;
		}
		uint64_t wait = 0;
		bool limited = true; /* by the gate or the bucket, not a backoff */
		if (ep->gate_ns > now) {
			wait = ep->gate_ns - now;
		} else if (http_list_empty(&ep->ready)) {
			struct http_list *n = ep->delayed.next;
			wait = HTTP_CONTAINER(n, struct http_req, link)->not_before_ns - now;
			limited = false;
		} else {
			bucket_refill(ep, now);
			wait = bucket_wait(ep);
		}
		if (wait) {
			if (limited) {
				struct http_event ev = {.label = ep->label,
				                        .kind = HTTP_EVENT_RATE_WAIT,
				                        .seconds = (double)wait / 1e9};
				http_observe(ep->client, &ev);
			}
			wake_in(ep, wait);
			return;
		}
		struct http_list *n = ep->ready.next;
		http_list_del(n);
		ep->stats.queued--;
		if (ep->rate > 0)
			ep->tokens -= 1.0;
		http_transfer_start(HTTP_CONTAINER(n, struct http_req, link));
	}
}
