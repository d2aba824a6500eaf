/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the HTTP client against tests/http_server.py: limits, gates, retries, outcomes, closing.
 */
#include "connectors/curl_dl.h"
#include "connectors/http.h"
#include "helpers/gitlab_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the scripted server ---- */

struct srv {
	pid_t pid;
	char *dir;
	char *log_path;
	char base[64];
};

/* Starts tests/http_server.py with script and extra arguments
 * (NULL-terminated, may be NULL). */
static void srv_start_args(struct srv *s, const char *script, const char *const extra[])
{
	s->dir = tu_tmpdir();
	char *script_path = tu_write_file(s->dir, "script.json", script);
	char *port_path = ts_asprintf("%s/port", s->dir);
	char *server_py = ts_asprintf("%s/tests/http_server.py", tu_env("TS_SOURCE_DIR"));
	s->log_path = ts_asprintf("%s/log.jsonl", s->dir);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		const char *argv[24] = {"python3", server_py,  "--port",    "0",     "--port-file",
		                        port_path, "--script", script_path, "--log", s->log_path};
		size_t n = 10;
		for (const char *const *a = extra; a && *a && n < TS_ARRAY_SIZE(argv) - 1; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	int port = 0;
	for (int i = 0; i < 1000 && port == 0; i++) {
		char *txt = tu_read_file(port_path);
		if (txt) {
			port = atoi(txt);
			free(txt);
		} else {
			usleep(10000);
		}
	}
	assert_true(port > 0);
	bool tls = false;
	for (const char *const *a = extra; a && *a; a++)
		tls = tls || strcmp(*a, "--tls-cert") == 0;
	snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%d", tls ? "https" : "http", port);
	free(script_path);
	free(port_path);
	free(server_py);
}

static void srv_start(struct srv *s, const char *script)
{
	srv_start_args(s, script, NULL);
}

static void srv_stop(struct srv *s)
{
	if (s->pid > 0) {
		int status;
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &status, 0);
		s->pid = 0;
	}
	if (s->dir) {
		tu_rmrf(s->dir);
		free(s->dir);
		s->dir = NULL;
	}
	free(s->log_path);
	s->log_path = NULL;
}

/* Every request the server logged, in arrival-log order. New reference. */
static json_t *srv_log(struct srv *s)
{
	json_t *all = json_array();
	char *txt = tu_read_file(s->log_path);
	if (!txt)
		return all;
	char *save = NULL;
	for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		assert_non_null(o);
		json_array_append_new(all, o);
	}
	free(txt);
	return all;
}

/* Waits (up to 5 s) until the server has logged at least n requests: it logs
 * when it answers, which for a slow reply is after the client gave up. */
static json_t *srv_log_wait(struct srv *s, size_t n)
{
	for (int i = 0; i < 500; i++) {
		json_t *log = srv_log(s);
		if (json_array_size(log) >= n)
			return log;
		json_decref(log);
		usleep(10000);
	}
	return srv_log(s);
}

/* Entries for path (exact, with query) and method (NULL = any), in order. New reference. */
static json_t *log_for(json_t *log, const char *method, const char *path)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (log, i, e) {
		const char *p = json_string_value(json_object_get(e, "path"));
		const char *m = json_string_value(json_object_get(e, "method"));
		if (strcmp(p, path) == 0 && (!method || strcmp(m, method) == 0))
			json_array_append(out, e);
	}
	return out;
}

static size_t count_for(json_t *log, const char *method, const char *path)
{
	json_t *l = log_for(log, method, path);
	size_t n = json_array_size(l);
	json_decref(l);
	return n;
}

static double num(json_t *entry, const char *key)
{
	json_t *v = json_object_get(entry, key);
	assert_non_null(v);
	return json_number_value(v);
}

static const char *resp_header(json_t *entry, const char *name)
{
	return json_string_value(json_object_get(json_object_get(entry, "resp_headers"), name));
}

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct http_client *client;
	struct srv srv;
	struct srv srv2;
	struct gu_emu gitlab; /* the tracker emulators of the Retry-After hold cases */
	struct ju_emu jira;
	int closed;
};

static int setup(void **state)
{
	struct fx *fx = ts_calloc(1, sizeof(*fx));
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	assert_int_equal(http_client_new(&fx->loop, &fx->client), 0);
	http_client_set_seed(fx->client, 42);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	srv_stop(&fx->srv);
	srv_stop(&fx->srv2);
	gu_emu_stop(&fx->gitlab);
	ju_emu_stop(&fx->jira);
	free(fx);
	return 0;
}

static void closed_cb(void *ud)
{
	struct fx *fx = ud;
	fx->closed++;
}

static void count_active(uv_handle_t *h, void *arg)
{
	if (uv_is_active(h))
		(*(int *)arg)++;
}

/* Idle means idle: once the work is done no handle (timer, poll) is active.
 * Then close the client and check every handle is gone. */
static void finish(struct fx *fx)
{
	int active = 0;
	uv_walk(&fx->loop, count_active, &active);
	assert_int_equal(active, 0);
	http_client_close(fx->client, closed_cb, fx);
	fx->client = NULL;
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(fx->closed, 1);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
}

static struct http_endpoint *endpoint(struct fx *fx, struct http_endpoint_opts o)
{
	struct http_endpoint *ep = NULL;
	if (!o.name)
		o.name = "test";
	assert_int_equal(http_endpoint_new(fx->client, &o, &ep), 0);
	return ep;
}

/* ---- requests ---- */

struct result {
	int done;
	enum http_outcome outcome;
	long status;
	char *body;
	int attempts;
	char error[256];
	char hdr[128]; /* value of hdr_name in the response */
	const char *hdr_name;
	int64_t t_done; /* ts_monotonic_ms */
	/* When set, the callback submits then_n GETs of then_path to then_ep. */
	struct http_endpoint *then_ep;
	const char *then_url;
	const char *then_method;
	const char *then_body;
	int then_n;
	struct result *then_res;
};

static void submit(struct http_endpoint *ep, const char *method, const char *url, const char *body,
                   struct result *res);

static void capture_cb(const struct http_response *resp, void *ud)
{
	struct result *r = ud;
	r->done++;
	r->outcome = resp->outcome;
	r->status = resp->status;
	free(r->body);
	r->body = ts_strndup(resp->body, resp->body_len);
	r->attempts = resp->attempts;
	snprintf(r->error, sizeof(r->error), "%s", resp->error);
	if (r->hdr_name) {
		const char *v = http_response_header(resp, r->hdr_name);
		snprintf(r->hdr, sizeof(r->hdr), "%s", v ? v : "");
	}
	r->t_done = ts_monotonic_ms();
	for (int i = 0; i < r->then_n; i++)
		submit(r->then_ep, r->then_method ? r->then_method : "GET", r->then_url,
		       r->then_body, &r->then_res[i]);
}

static void submit_full(struct http_endpoint *ep, const struct http_request *req,
                        struct result *res)
{
	assert_int_equal(http_submit(ep, req, capture_cb, res), 0);
}

static void submit(struct http_endpoint *ep, const char *method, const char *url, const char *body,
                   struct result *res)
{
	struct http_request req = {
	    .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
	submit_full(ep, &req, res);
}

static void results_free(struct result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].body);
}

static char *url(struct fx *fx, const char *path)
{
	return ts_asprintf("%s%s", fx->srv.base, path);
}

/* ---- cases ---- */

static void test_get_post_basic(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":[{\"path\":\"/echo\",\"replies\":[{\"action\":\"echo\"}]},"
	          "{\"path\":\"/make\",\"replies\":[{\"status\":201,\"headers\":{\"X-Reply\":"
	          "\"yes\",\"Content-Type\":\"text/plain\"},\"body\":\"created\"}]}]}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	struct result res[4] = {{0}};
	char *u_get = url(fx, "/echo?q=1");
	char *u_post = url(fx, "/make");
	char *u_put = url(fx, "/echo");
	const char *get_hdrs[] = {"X-Test: abc", "Accept: application/json", NULL};
	const char *post_hdrs[] = {"Content-Type: application/json", NULL};
	submit_full(ep, &(struct http_request){.method = "GET", .url = u_get, .headers = get_hdrs},
	            &res[0]);
	res[1].hdr_name = "x-REPLY";
	submit_full(ep,
	            &(struct http_request){.method = "POST",
	                                   .url = u_post,
	                                   .headers = post_hdrs,
	                                   .body = "{\"a\":1}",
	                                   .body_len = 7},
	            &res[1]);
	submit(ep, "PUT", u_put, "put-body", &res[2]);
	submit(ep, "DELETE", u_put, NULL, &res[3]);
	uv_run(&fx->loop, UV_RUN_DEFAULT);

	for (int i = 0; i < 4; i++) {
		assert_int_equal(res[i].done, 1);
		assert_int_equal(res[i].outcome, HTTP_OK);
		assert_int_equal(res[i].attempts, 1);
		assert_string_equal(res[i].error, "");
	}
	assert_int_equal(res[0].status, 200);
	json_error_t jerr;
	json_t *echo = json_loads(res[0].body, 0, &jerr);
	assert_non_null(echo);
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(echo, "path")), "/echo?q=1");
	json_t *h = json_object_get(echo, "headers");
	assert_string_equal(json_string_value(json_object_get(h, "x-test")), "abc");
	assert_string_equal(json_string_value(json_object_get(h, "accept")), "application/json");
	json_decref(echo);

	assert_int_equal(res[1].status, 201);
	assert_string_equal(res[1].body, "created");
	assert_string_equal(res[1].hdr, "yes");
	assert_non_null(strstr(res[2].body, "\"method\": \"PUT\""));
	assert_non_null(strstr(res[2].body, "\"body\": \"put-body\""));
	assert_non_null(strstr(res[3].body, "\"method\": \"DELETE\""));

	json_t *log = srv_log(&fx->srv);
	json_t *posts = log_for(log, "POST", "/make");
	assert_int_equal(json_array_size(posts), 1);
	json_t *p = json_array_get(posts, 0);
	assert_string_equal(json_string_value(json_object_get(p, "body")), "{\"a\":1}");
	json_t *ph = json_object_get(p, "headers");
	assert_string_equal(json_string_value(json_object_get(ph, "content-type")),
	                    "application/json");
	assert_null(json_object_get(ph, "expect"));
	assert_non_null(
	    strstr(json_string_value(json_object_get(ph, "user-agent")), "threatsync/"));
	json_decref(posts);
	json_decref(log);

	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.responses[2], 4);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.queued, 0);
	assert_true(st.bytes_received > 0 && st.bytes_sent > 0);

	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 4);
	free(u_get);
	free(u_post);
	free(u_put);
}

static void test_concurrency_limit(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"default\":{\"delay_ms\":40,\"body\":\"ok\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.concurrency = 4});
	struct result res[50] = {{0}};
	char *u = url(fx, "/c");
	for (int i = 0; i < 50; i++)
		submit(ep, "GET", u, NULL, &res[i]);
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.queued, 50);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(res[i].done, 1);
		assert_int_equal(res[i].status, 200);
	}
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 50);
	int max_active = 0;
	size_t i;
	json_t *e;
	json_array_foreach (log, i, e) {
		int a = (int)json_integer_value(json_object_get(e, "active"));
		if (a > max_active)
			max_active = a;
	}
	/* At most the limit, and the limit is actually reached. */
	assert_int_equal(max_active, 4);
	json_decref(log);
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.requests, 50);
	assert_int_equal(st.in_flight, 0);
	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 50);
	free(u);
}

static void test_token_bucket(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"default\":{\"body\":\"ok\"}}");
	struct http_endpoint *ep = endpoint(
	    fx, (struct http_endpoint_opts){.concurrency = 8, .rate_per_second = 10, .burst = 1});
	struct result res[20] = {{0}};
	char *u = url(fx, "/t");
	int64_t t0 = ts_monotonic_ms();
	for (int i = 0; i < 20; i++)
		submit(ep, "GET", u, NULL, &res[i]);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	int64_t last = 0;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(res[i].status, 200);
		if (res[i].t_done > last)
			last = res[i].t_done;
	}
	/* 1 token at once, then one every 100 ms: 19 waits. */
	assert_true(last - t0 >= 1800);
	assert_true(last - t0 < 3500);
	json_t *log = srv_log(&fx->srv);
	double first = num(json_array_get(log, 0), "t_recv");
	double lastr = num(json_array_get(log, 19), "t_recv");
	assert_true(lastr - first >= 1850);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 20);
	free(u);
}

struct later {
	uv_timer_t timer;
	struct http_endpoint *ep;
	const char *url;
	struct result *res;
};

static void later_closed_cb(uv_handle_t *h)
{
	(void)h;
}

static void later_cb(uv_timer_t *t)
{
	struct later *l = t->data;
	submit(l->ep, "GET", l->url, NULL, l->res);
	uv_close((uv_handle_t *)t, later_closed_cb);
}

static void submit_later(struct fx *fx, struct later *l, uint64_t ms)
{
	uv_update_time(&fx->loop); /* the loop clock is stale after srv_start */
	uv_timer_init(&fx->loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, later_cb, ms, 0);
}

/* The first 429 at t_resp; every later request to the endpoint arrives no
 * sooner than t_resp + min_ms. */
static void assert_gated(json_t *log, size_t first_after, double t_resp, double min_ms,
                         double max_ms)
{
	assert_true(json_array_size(log) > first_after);
	if (getenv("HTTP_TEST_DEBUG")) {
		char *d = json_dumps(log, JSON_INDENT(1));
		fprintf(stderr, "%s\n", d);
		free(d);
	}
	for (size_t i = first_after; i < json_array_size(log); i++) {
		double t = num(json_array_get(log, i), "t_recv");
		assert_true(t - t_resp >= min_ms);
	}
	assert_true(num(json_array_get(log, first_after), "t_recv") - t_resp < max_ms);
}

static void test_retry_after_seconds(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":[{\"path\":\"/rl\",\"replies\":[{\"status\":429,\"headers\":"
	          "{\"Retry-After\":\"1\",\"Content-Type\":\"text/html\"},\"body\":\"<!doctype "
	          "html><html><body>Too Many Requests</body></html>\"},{\"body\":\"ok\"}]}],"
	          "\"default\":{\"body\":\"other\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.concurrency = 4});
	struct result res[2] = {{0}};
	char *u = url(fx, "/rl");
	char *u2 = url(fx, "/other");
	submit(ep, "POST", u, "{}", &res[0]); /* a 429 is retried even for POST */
	struct later l = {.ep = ep, .url = u2, .res = &res[1]};
	submit_later(fx, &l, 200);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(res[0].outcome, HTTP_OK);
	assert_int_equal(res[0].status, 200);
	assert_int_equal(res[0].attempts, 2);
	assert_string_equal(res[0].body, "ok");
	assert_int_equal(res[1].status, 200);

	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 3);
	json_t *first = json_array_get(log, 0);
	assert_int_equal(json_integer_value(json_object_get(first, "status")), 429);
	assert_gated(log, 1, num(first, "t_resp"), 1000, 1400);
	json_decref(log);
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.rate_limited, 1);
	assert_int_equal(st.responses[4], 1);
	assert_int_equal(st.retries, 1);
	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 2);
	free(u);
	free(u2);
}

static void test_retry_after_zero(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":[{\"path\":\"/z\",\"replies\":[{\"status\":429,\"headers\":"
	          "{\"Retry-After\":\"0\"},\"body\":\"slow down\"},{\"body\":\"ok\"}]}]}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	struct result res = {0};
	char *u = url(fx, "/z");
	submit(ep, "GET", u, NULL, &res);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(res.status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 2);
	assert_gated(log, 1, num(json_array_get(log, 0), "t_resp"), 1000, 1400);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(res.body);
	free(u);
}

/* Retry-After as an HTTP-date in each of the three formats. */
static void test_retry_after_date(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":["
	          "{\"path\":\"/imf\",\"replies\":[{\"status\":429,\"headers\":{\"Retry-After\":"
	          "\"${now+2:imf}\"}},{\"body\":\"ok\"}]},"
	          "{\"path\":\"/850\",\"replies\":[{\"status\":429,\"headers\":{\"Retry-After\":"
	          "\"${now+2:rfc850}\"}},{\"body\":\"ok\"}]},"
	          "{\"path\":\"/asc\",\"replies\":[{\"status\":503,\"headers\":{\"Retry-After\":"
	          "\"${now+2:asctime}\"}},{\"body\":\"ok\"}]}]}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	const char *paths[] = {"/imf", "/850", "/asc"};
	for (int k = 0; k < 3; k++) {
		struct result res = {0};
		char *u = url(fx, paths[k]);
		submit(ep, "GET", u, NULL, &res);
		uv_run(&fx->loop, UV_RUN_DEFAULT);
		assert_int_equal(res.status, 200);
		assert_int_equal(res.attempts, 2);
		json_t *log = srv_log(&fx->srv);
		json_t *mine = log_for(log, "GET", paths[k]);
		assert_int_equal(json_array_size(mine), 2);
		json_t *first = json_array_get(mine, 0);
		int64_t when;
		assert_int_equal(
		    http_date_parse(resp_header(first, "Retry-After"), time(NULL), &when), 0);
		double wall = num(json_array_get(mine, 1), "wall_recv");
		assert_true(wall >= (double)when * 1000.0);
		assert_true(wall < (double)when * 1000.0 + 1500.0);
		json_decref(mine);
		json_decref(log);
		free(res.body);
		free(u);
	}
	http_endpoint_free(ep);
	finish(fx);
}

static void test_503_retry_after(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":[{\"path\":\"/g\",\"replies\":[{\"status\":503,\"headers\":"
	          "{\"Retry-After\":\"1\"}},{\"body\":\"ok\"}]},"
	          "{\"path\":\"/p\",\"replies\":[{\"status\":503,\"headers\":"
	          "{\"Retry-After\":\"1\"}},{\"body\":\"ok\"}]}],"
	          "\"default\":{\"body\":\"after\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	char *ug = url(fx, "/g");
	char *up = url(fx, "/p");
	char *ua = url(fx, "/after");
	struct result g = {0}, p = {0}, after = {0};
	submit(ep, "GET", ug, NULL, &g);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.attempts, 2);
	/* A POST gets its 503 (not retried), but the gate still holds the
	 * endpoint: the next request waits for it. */
	p.then_ep = ep;
	p.then_url = ua;
	p.then_n = 1;
	p.then_res = &after;
	submit(ep, "POST", up, "x", &p);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(p.outcome, HTTP_OK);
	assert_int_equal(p.status, 503);
	assert_int_equal(p.attempts, 1);
	assert_int_equal(after.status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 4);
	assert_gated(log, 1, num(json_array_get(log, 0), "t_resp"), 1000, 1400);
	assert_gated(log, 3, num(json_array_get(log, 2), "t_resp"), 1000, 1400);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(g.body);
	free(p.body);
	free(after.body);
	free(ug);
	free(up);
	free(ua);
}

/* A 200 announcing an exhausted quota gates the endpoint until the reset. */
static void check_reset_gate(struct fx *fx, const char *script, const char *hdr, bool iso)
{
	srv_start(&fx->srv, script);
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	char *u = url(fx, "/q");
	char *u2 = url(fx, "/next");
	struct result first = {0}, next = {0};
	first.then_ep = ep;
	first.then_url = u2;
	first.then_n = 1;
	first.then_res = &next;
	submit(ep, "GET", u, NULL, &first);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(first.status, 200);
	assert_int_equal(next.status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 2);
	const char *reset = resp_header(json_array_get(log, 0), hdr);
	assert_non_null(reset);
	int64_t reset_ms;
	if (iso)
		assert_int_equal(http_iso8601_parse(reset, &reset_ms), 0);
	else
		reset_ms = strtoll(reset, NULL, 10) * 1000;
	double wall = num(json_array_get(log, 1), "wall_recv");
	assert_true(wall >= (double)reset_ms);
	assert_true(wall < (double)reset_ms + 1500);
	assert_gated(log, 1, num(json_array_get(log, 0), "t_resp"), 1000, 2600);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(first.body);
	free(next.body);
	free(u);
	free(u2);
}

static void test_jira_cloud_ratelimit(void **state)
{
	check_reset_gate(*state,
	                 "{\"routes\":[{\"path\":\"/q\",\"replies\":[{\"headers\":{"
	                 "\"X-RateLimit-Limit\":\"100\",\"X-RateLimit-Remaining\":\"0\","
	                 "\"X-RateLimit-Reset\":\"${now+1.6:iso}\"},\"body\":\"{}\"}]}],"
	                 "\"default\":{\"body\":\"ok\"}}",
	                 "X-RateLimit-Reset", true);
}

static void test_gitlab_ratelimit(void **state)
{
	check_reset_gate(*state,
	                 "{\"routes\":[{\"path\":\"/q\",\"replies\":[{\"headers\":{"
	                 "\"RateLimit-Limit\":\"600\",\"RateLimit-Remaining\":\"0\","
	                 "\"RateLimit-Reset\":\"${now+2:unix}\"},\"body\":\"{}\"}]}],"
	                 "\"default\":{\"body\":\"ok\"}}",
	                 "RateLimit-Reset", false);
}

/* A GitLab-style 429 without Retry-After still waits for RateLimit-Reset. */
static void test_429_without_retry_after(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/q\",\"replies\":[{\"status\":429,"
	                    "\"headers\":{\"RateLimit-Remaining\":\"595\",\"RateLimit-Reset\":"
	                    "\"${now+2:unix}\"},\"body\":\"Retry later\"},{\"body\":\"ok\"}]}]}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	char *u = url(fx, "/q");
	struct result r = {0};
	submit(ep, "GET", u, NULL, &r);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 2);
	int64_t reset_ms =
	    strtoll(resp_header(json_array_get(log, 0), "RateLimit-Reset"), NULL, 10) * 1000;
	assert_true(num(json_array_get(log, 1), "wall_recv") >= (double)reset_ms);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(r.body);
	free(u);
}

static void test_datacenter_fillrate(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/q\",\"replies\":[{\"headers\":{"
	                    "\"X-RateLimit-FillRate\":\"4\",\"X-RateLimit-Interval-Seconds\":\"1\","
	                    "\"X-RateLimit-Remaining\":\"3\"},\"body\":\"{}\"}]}],"
	                    "\"default\":{\"body\":\"ok\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.concurrency = 8});
	char *u = url(fx, "/q");
	char *u2 = url(fx, "/n");
	struct result first = {0}, next[5] = {{0}};
	first.then_ep = ep;
	first.then_url = u2;
	first.then_n = 5;
	first.then_res = next;
	submit(ep, "GET", u, NULL, &first);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_true(st.rate_per_second > 3.99 && st.rate_per_second < 4.01);
	for (int i = 0; i < 5; i++)
		assert_int_equal(next[i].status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 6);
	/* One token in the bucket, then one every 250 ms. */
	double span = num(json_array_get(log, 5), "t_recv") - num(json_array_get(log, 1), "t_recv");
	assert_true(span >= 980);
	assert_true(span < 2000);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(first.body);
	results_free(next, 5);
	free(u);
	free(u2);
}

static void test_5xx_get_retried(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":[{\"path\":\"/f\",\"replies\":[{\"status\":500},"
	          "{\"status\":502},{\"body\":\"finally\"}]},"
	          "{\"path\":\"/always\",\"replies\":[{\"status\":500,\"body\":\"no\"}]}]}");
	struct http_endpoint *ep =
	    endpoint(fx, (struct http_endpoint_opts){
	                     .backoff_base_ms = 50, .backoff_max_ms = 200, .max_attempts = 3});
	char *u = url(fx, "/f");
	char *u2 = url(fx, "/always");
	struct result r = {0}, r2 = {0};
	submit(ep, "GET", u, NULL, &r);
	submit(ep, "GET", u2, NULL, &r2);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.outcome, HTTP_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "finally");
	assert_int_equal(r.attempts, 3);
	/* Gives up after max_attempts and delivers the last 5xx. */
	assert_int_equal(r2.outcome, HTTP_OK);
	assert_int_equal(r2.status, 500);
	assert_string_equal(r2.body, "no");
	assert_int_equal(r2.attempts, 3);
	json_t *log = srv_log(&fx->srv);
	json_t *f = log_for(log, "GET", "/f");
	assert_int_equal(json_array_size(f), 3);
	/* Full jitter: each wait is within [0, min(max, base * 2^n)] (+ slack). */
	double w1 = num(json_array_get(f, 1), "t_recv") - num(json_array_get(f, 0), "t_resp");
	double w2 = num(json_array_get(f, 2), "t_recv") - num(json_array_get(f, 1), "t_resp");
	assert_true(w1 >= 0 && w1 < 50 + 60);
	assert_true(w2 >= 0 && w2 < 100 + 60);
	json_decref(f);
	json_decref(log);
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.retries, 4);
	assert_int_equal(st.responses[5], 5);
	assert_int_equal(st.responses[2], 1);
	http_endpoint_free(ep);
	finish(fx);
	free(r.body);
	free(r2.body);
	free(u);
	free(u2);
}

static void test_post_500_not_retried(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/p\",\"replies\":[{\"status\":500,\"body\":"
	                    "\"{\\\"errorMessages\\\":[\\\"boom\\\"]}\"},{\"status\":201}]}]}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.backoff_base_ms = 10});
	char *u = url(fx, "/p");
	struct result r = {0};
	submit(ep, "POST", u, "{\"fields\":{}}", &r);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.outcome, HTTP_OK);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.body, "{\"errorMessages\":[\"boom\"]}");
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 1);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(r.body);
	free(u);
}

/* Warms a connection with a GET, then sends a POST that the server reads and
 * answers with a TCP reset, on the reused connection: where libcurl would
 * silently resend it. */
static void check_post_reset(struct fx *fx, struct http_endpoint *ep, const char *post_path,
                             const char *body)
{
	char *uw = url(fx, "/warm");
	char *ur = url(fx, post_path);
	struct result warm = {0}, post = {0};
	warm.then_ep = ep;
	warm.then_url = ur;
	warm.then_method = "POST";
	warm.then_body = body;
	warm.then_n = 1;
	warm.then_res = &post;
	submit(ep, "GET", uw, NULL, &warm);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(warm.status, 200);
	assert_int_equal(post.done, 1);
	assert_int_equal(post.outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(post.status, 0);
	assert_int_equal(post.attempts, 1);
	assert_non_null(strstr(post.error, "outcome unknown"));
	assert_non_null(strstr(post.error, "POST"));
	json_t *log = srv_log(&fx->srv);
	json_t *posts = log_for(log, "POST", post_path);
	assert_int_equal(json_array_size(posts), 1); /* never sent twice */
	json_t *w = log_for(log, "GET", "/warm");
	json_t *last_warm = json_array_get(w, json_array_size(w) - 1);
	assert_int_equal(json_integer_value(json_object_get(last_warm, "conn")),
	                 json_integer_value(json_object_get(json_array_get(posts, 0), "conn")));
	json_decref(w);
	json_decref(posts);
	json_decref(log);
	free(warm.body);
	free(post.body);
	free(uw);
	free(ur);
}

static void test_reset(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv,
	          "{\"routes\":[{\"path\":\"/r\",\"replies\":[{\"action\":\"reset\"}]},"
	          "{\"path\":\"/rb\",\"replies\":[{\"action\":\"reset\"}]},"
	          "{\"path\":\"/r2\",\"replies\":[{\"action\":\"reset\"},{\"body\":\"ok\"}]}"
	          "],\"default\":{\"body\":\"warm\"}}");
	struct http_endpoint *ep =
	    endpoint(fx, (struct http_endpoint_opts){.concurrency = 1, .backoff_base_ms = 10});
	/* A few rounds: whether the reset shows as a poll error or a read
	 * error is a race; neither may lead to a resend. */
	for (int i = 0; i < 5; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/r?i=%d", i);
		check_post_reset(fx, ep, path, NULL);
		snprintf(path, sizeof(path), "/rb?i=%d", i);
		check_post_reset(fx, ep, path, "{\"fields\":{\"summary\":\"x\"}}");
	}

	char *ur2 = url(fx, "/r2");
	struct result get = {0};
	submit(ep, "GET", ur2, NULL, &get);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(get.outcome, HTTP_OK);
	assert_int_equal(get.status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(count_for(log, "GET", "/r2"), 2);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(get.body);
	free(ur2);
}

static void test_timeout(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"default\":{\"delay_ms\":1500,\"body\":\"late\"}}");
	struct http_endpoint *ep =
	    endpoint(fx, (struct http_endpoint_opts){
	                     .request_timeout_ms = 300, .max_attempts = 2, .backoff_base_ms = 10});
	char *u = url(fx, "/slow");
	struct result post = {0}, get = {0};
	int64_t t0 = ts_monotonic_ms();
	submit(ep, "POST", u, "x", &post);
	submit(ep, "GET", u, NULL, &get);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(post.outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(post.attempts, 1);
	assert_non_null(strstr(post.error, "outcome unknown"));
	assert_non_null(strstr(post.error, "(curl error 28)"));
	assert_int_equal(get.outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(get.attempts, 2);
	assert_true(post.t_done - t0 < 1200);
	json_t *log = srv_log_wait(&fx->srv, 3);
	assert_int_equal(count_for(log, "POST", "/slow"), 1);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(post.body);
	free(get.body);
	free(u);
}

static void test_connection_reuse(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"default\":{\"body\":\"ok\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){0});
	char *u = url(fx, "/seq");
	struct result res[20] = {{0}};
	for (int i = 0; i < 19; i++) {
		res[i].then_ep = ep;
		res[i].then_url = u;
		res[i].then_n = 1;
		res[i].then_res = &res[i + 1];
	}
	submit(ep, "GET", u, NULL, &res[0]);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 20; i++)
		assert_int_equal(res[i].status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 20);
	size_t i;
	json_t *e;
	json_int_t conn = json_integer_value(json_object_get(json_array_get(log, 0), "conn"));
	json_array_foreach (log, i, e) {
		assert_int_equal(json_integer_value(json_object_get(e, "conn")), conn);
		assert_int_equal(json_integer_value(json_object_get(e, "active")), 1);
	}
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 20);
	free(u);
}

static void test_malformed_oversized(void **state)
{
	struct fx *fx = *state;
	srv_start(
	    &fx->srv,
	    "{\"routes\":[{\"path\":\"/big\",\"replies\":[{\"body_bytes\":5000}]},"
	    "{\"path\":\"/bignolen\",\"replies\":[{\"action\":\"no_length\","
	    "\"body_bytes\":5000}]},"
	    "{\"path\":\"/exact\",\"replies\":[{\"body_bytes\":1000}]},"
	    "{\"path\":\"/garbage\",\"replies\":[{\"action\":\"garbage\"}]},"
	    "{\"path\":\"/partial\",\"replies\":[{\"action\":\"partial\"}]},"
	    "{\"path\":\"/partial2\",\"replies\":[{\"action\":\"partial\"},{\"body\":\"ok\"}]},"
	    "{\"path\":\"/bigpost\",\"replies\":[{\"body_bytes\":5000}]}"
	    "]}");
	struct http_endpoint *ep = endpoint(
	    fx, (struct http_endpoint_opts){.max_response_bytes = 1000, .backoff_base_ms = 10});
	const char *paths[] = {"/big",     "/bignolen", "/exact",  "/garbage",
	                       "/partial", "/partial2", "/bigpost"};
	const char *methods[] = {"GET", "GET", "GET", "POST", "POST", "GET", "POST"};
	struct result res[7] = {{0}};
	char *urls[7];
	for (int i = 0; i < 7; i++) {
		urls[i] = url(fx, paths[i]);
		submit(ep, methods[i], urls[i], strcmp(methods[i], "POST") ? NULL : "b", &res[i]);
	}
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res[i].outcome, HTTP_FAILED);
		assert_int_equal(res[i].attempts, 1); /* not retried */
		assert_non_null(strstr(res[i].error, "exceeds 1000 bytes"));
		assert_string_equal(res[i].body, "");
	}
	assert_int_equal(res[2].outcome, HTTP_OK);
	assert_int_equal(strlen(res[2].body), 1000);
	assert_int_equal(res[3].outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(res[4].outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(res[4].attempts, 1);
	assert_int_equal(res[5].outcome, HTTP_OK);
	assert_string_equal(res[5].body, "ok");
	/* A create whose answer is too large may have made the ticket: its
	 * outcome is unknown (resolved by the marker), never a plain failure
	 * that would be sent again. */
	assert_int_equal(res[6].outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(res[6].attempts, 1);
	assert_non_null(strstr(res[6].error, "outcome unknown: response body exceeds 1000 bytes"));
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(count_for(log, "POST", "/garbage"), 1);
	assert_int_equal(count_for(log, "POST", "/partial"), 1);
	assert_int_equal(count_for(log, "GET", "/partial2"), 2);
	assert_int_equal(count_for(log, "POST", "/bigpost"), 1);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 7);
	for (int i = 0; i < 7; i++)
		free(urls[i]);
}

#define SECRET "s3cr3t-T0KEN-4f9a"

static void test_secret_never_visible(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/reset\",\"replies\":[{\"action\":"
	                    "\"reset\"}]},{\"path\":\"/slow\",\"replies\":[{\"delay_ms\":1000}]}],"
	                    "\"default\":{\"body\":\"ok\"}}");
	/* Capture our stderr: the client must not print anything, least of all
	 * the secret. */
	char *errpath = ts_asprintf("%s/stderr", fx->srv.dir);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);

	struct http_endpoint *ep =
	    endpoint(fx, (struct http_endpoint_opts){.request_timeout_ms = 200, .max_attempts = 1});
	char *u_ok = url(fx, "/ok");
	char *u_reset = url(fx, "/reset");
	char *u_slow = url(fx, "/slow");
	char *auth = ts_strdup("Authorization: Bearer " SECRET);
	char *gl = ts_strdup("PRIVATE-TOKEN: " SECRET);
	struct result res[4] = {{0}};
	submit_full(ep, &(struct http_request){.method = "GET", .url = u_ok, .auth_header = auth},
	            &res[0]);
	submit_full(
	    ep,
	    &(struct http_request){
	        .method = "POST", .url = u_reset, .auth_header = auth, .body = "x", .body_len = 1},
	    &res[1]);
	submit_full(ep, &(struct http_request){.method = "GET", .url = u_slow, .auth_header = gl},
	            &res[2]);
	/* Nothing listens on port 1: connection refused, a definitive failure. */
	submit_full(ep,
	            &(struct http_request){
	                .method = "GET", .url = "http://127.0.0.1:1/" SECRET, .auth_header = auth},
	            &res[3]);
	/* The request was copied: scribbling over the caller's buffer after
	 * submit changes nothing. */
	memset(auth + 22, 'X', strlen(SECRET));
	memset(gl + 15, 'X', strlen(SECRET));
	uv_run(&fx->loop, UV_RUN_DEFAULT);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	assert_int_equal(res[0].status, 200);
	assert_int_equal(res[1].outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(res[2].outcome, HTTP_OUTCOME_UNKNOWN);
	assert_int_equal(res[3].outcome, HTTP_FAILED);
	assert_int_equal(res[3].attempts, 1);
	for (int i = 0; i < 4; i++) {
		assert_null(strstr(res[i].error, SECRET));
		assert_null(strstr(res[i].body, SECRET));
	}
	for (int i = 1; i < 4; i++)
		assert_true(strlen(res[i].error) > 0);
	char *err = tu_read_file(errpath);
	assert_non_null(err);
	assert_null(strstr(err, SECRET));
	free(err);

	json_t *log = srv_log_wait(&fx->srv, 3);
	assert_int_equal(json_array_size(log), 3);
	json_t *ok = log_for(log, "GET", "/ok");
	json_t *h = json_object_get(json_array_get(ok, 0), "headers");
	assert_string_equal(json_string_value(json_object_get(h, "authorization")),
	                    "Bearer " SECRET);
	json_t *slow = log_for(log, "GET", "/slow");
	h = json_object_get(json_array_get(slow, 0), "headers");
	assert_string_equal(json_string_value(json_object_get(h, "private-token")), SECRET);
	json_decref(ok);
	json_decref(slow);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	results_free(res, 4);
	free(auth);
	free(gl);
	free(u_ok);
	free(u_reset);
	free(u_slow);
	free(errpath);
}

struct closer {
	uv_timer_t timer;
	struct fx *fx;
	struct http_endpoint *ep;
	struct result *res;
	int n;
	int all_cancelled_sync;
	int submit_after;
};

static void closer_cb(uv_timer_t *t)
{
	struct closer *cl = t->data;
	struct http_stats st;
	http_endpoint_stats(cl->ep, &st);
	assert_int_equal(st.in_flight, 2);
	assert_int_equal(st.queued, (size_t)cl->n - 2);
	uv_close((uv_handle_t *)t, later_closed_cb);
	http_client_close(cl->fx->client, closed_cb, cl->fx);
	int all = 1;
	for (int i = 0; i < cl->n; i++)
		all &= cl->res[i].done == 1 && cl->res[i].outcome == HTTP_CANCELLED;
	cl->all_cancelled_sync = all;
	struct result extra = {0};
	cl->submit_after = http_submit(
	    cl->ep, &(struct http_request){.method = "GET", .url = "http://127.0.0.1:1/"},
	    capture_cb, &extra);
}

static void test_close_cancels(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"default\":{\"delay_ms\":3000,\"body\":\"late\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.concurrency = 2});
	char *u = url(fx, "/slow");
	struct result res[10] = {{0}};
	for (int i = 0; i < 10; i++)
		submit(ep, i % 2 ? "POST" : "GET", u, i % 2 ? "b" : NULL, &res[i]);
	struct closer cl = {.fx = fx, .ep = ep, .res = res, .n = 10};
	uv_update_time(&fx->loop);
	uv_timer_init(&fx->loop, &cl.timer);
	cl.timer.data = &cl;
	uv_timer_start(&cl.timer, closer_cb, 300, 0);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_true(cl.all_cancelled_sync);
	assert_int_equal(cl.submit_after, -ECANCELED);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(res[i].done, 1);
		assert_int_equal(res[i].outcome, HTTP_CANCELLED);
	}
	assert_int_equal(fx->closed, 1);
	/* The endpoint outlives the client until freed. */
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.cancelled, 10);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.queued, 0);
	http_endpoint_free(ep);
	assert_false(uv_loop_alive(&fx->loop));
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	fx->client = NULL;
	results_free(res, 10);
	free(u);
}

/* Freeing an endpoint with work pending cancels that work only. */
static void test_endpoint_free_cancels(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"default\":{\"body\":\"ok\"}}");
	struct http_endpoint *a = endpoint(fx, (struct http_endpoint_opts){.name = "a"});
	struct http_endpoint *b = endpoint(fx, (struct http_endpoint_opts){.name = "b"});
	char *u = url(fx, "/x");
	struct result ra[3] = {{0}}, rb = {0};
	for (int i = 0; i < 3; i++)
		submit(a, "GET", u, NULL, &ra[i]);
	submit(b, "GET", u, NULL, &rb);
	http_endpoint_free(a);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ra[i].done, 1);
		assert_int_equal(ra[i].outcome, HTTP_CANCELLED);
	}
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(rb.status, 200);
	http_endpoint_free(b);
	finish(fx);
	results_free(ra, 3);
	free(rb.body);
	free(u);
}

static void test_submit_validation(void **state)
{
	struct fx *fx = *state;
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.max_queue = 2});
	struct result r[2] = {{0}};
	const char *bad_hdr[] = {"X-A: b\r\nX-Injected: 1", NULL};
	const char *no_colon[] = {"NoColon", NULL};
	const char *u = "http://127.0.0.1:1/";
	struct http_request reqs[] = {
	    {.method = "get", .url = u},
	    {.method = "GET", .url = "ftp://127.0.0.1/"},
	    {.method = "GET", .url = "http://127.0.0.1/a b"},
	    {.method = "GET", .url = u, .headers = bad_hdr},
	    {.method = "GET", .url = u, .headers = no_colon},
	    {.method = "GET", .url = u, .auth_header = "Bearer x"},
	    {.method = NULL, .url = u},
	    {.method = "POST", .url = u, .body_len = 3},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(reqs); i++)
		assert_int_equal(http_submit(ep, &reqs[i], capture_cb, &r[0]), -EINVAL);
	struct http_request ok = {.method = "GET", .url = u};
	assert_int_equal(http_submit(ep, &ok, capture_cb, &r[0]), 0);
	assert_int_equal(http_submit(ep, &ok, capture_cb, &r[1]), 0);
	assert_int_equal(http_submit(ep, &ok, capture_cb, &r[1]), -ENOBUFS);
	/* Callbacks never run inside http_submit. */
	assert_int_equal(r[0].done + r[1].done, 0);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(r[0].outcome, HTTP_FAILED);
	assert_int_equal(r[1].outcome, HTTP_FAILED);
	assert_non_null(strstr(r[0].error, "test: GET failed"));
	http_endpoint_free(ep);
	finish(fx);
	results_free(r, 2);
}

static void test_opts_check(void **state)
{
	struct fx *fx = *state;
	struct ts_err err = {0};
	struct http_endpoint *ep = NULL;
	struct {
		struct http_endpoint_opts o;
		const char *msg;
	} bad[] = {
	    {{.name = NULL}, "a name is required"},
	    {{.name = "jira", .concurrency = 5000}, "concurrency 5000"},
	    {{.name = "jira", .rate_per_second = -1}, "rate_per_second"},
	    {{.name = "jira", .burst = -2}, "burst"},
	    {{.name = "jira", .request_timeout_ms = -1}, "timeouts"},
	    {{.name = "jira", .max_attempts = 1000}, "max_attempts"},
	    {{.name = "jira", .backoff_base_ms = 500, .backoff_max_ms = 100}, "backoff_base_ms"},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(http_endpoint_opts_check(&bad[i].o, &err), TS_E_CONFIG);
		assert_int_equal(err.code, TS_E_CONFIG);
		assert_non_null(strstr(err.msg, bad[i].msg));
		assert_int_equal(http_endpoint_new(fx->client, &bad[i].o, &ep), -EINVAL);
	}
	struct http_endpoint_opts good = {.name = "gitlab", .rate_per_second = 5, .burst = 10};
	assert_int_equal(http_endpoint_opts_check(&good, &err), 0);
	finish(fx);
}

static void test_http_date_parser(void **state)
{
	(void)state;
	const int64_t now2025 = 1750000000; /* June 2025 */
	int64_t t = 0;
	assert_int_equal(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", now2025, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", now2025, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_date_parse("Sun Nov  6 08:49:37 1994", now2025, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT", now2025, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(http_date_parse("Thu, 29 Feb 2024 23:59:59 GMT", now2025, &t), 0);
	assert_int_equal(t, 1709251199);
	assert_int_equal(http_date_parse("Wed, 12 Oct 2033 10:00:00 GMT", now2025, &t), 0);
	assert_int_equal(t, 2012724000);
	/* RFC 850 two-digit years: more than 50 years ahead means the past. */
	assert_int_equal(http_date_parse("Friday, 31-Dec-99 23:59:59 GMT", now2025, &t), 0);
	assert_int_equal(t, 946684799);
	assert_int_equal(http_date_parse("Saturday, 01-Jan-50 00:00:00 GMT", now2025, &t), 0);
	assert_int_equal(t, 2524608000);
	assert_int_equal(http_date_parse("Thu Feb 29 12:00:00 2024", now2025, &t), 0);
	assert_int_equal(t, 1709208000);

	const char *bad[] = {
	    "",
	    "Sun, 6 Nov 1994 08:49:37 GMT",
	    "Sun, 06 Nov 1994 08:49:37 UTC",
	    "Sun, 06 Nov 1994 08:49:37 GMT ",
	    "Sun, 06 Nov 94 08:49:37 GMT",
	    "Sun, 31 Feb 1994 08:49:37 GMT",
	    "Wed, 29 Feb 2023 00:00:00 GMT",
	    "Sun, 06 Nov 1994 24:00:00 GMT",
	    "Sun, 06 Nov 1994 08:60:00 GMT",
	    "Sun, 06 Foo 1994 08:49:37 GMT",
	    "Sunday, 06-Nov-1994 08:49:37 GMT",
	    "Sun Nov 6 08:49:37 1994",
	    "Sun Nov  6 08:49:37 94",
	    "Xyz, 06 Nov 1994 08:49:37 GMT",
	    "1994-11-06T08:49:37Z",
	    "120",
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad); i++)
		assert_int_equal(http_date_parse(bad[i], now2025, &t), -EINVAL);
	assert_int_equal(http_date_parse(NULL, now2025, &t), -EINVAL);
}

static void test_iso_and_retry_after(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_int_equal(http_iso8601_parse("1994-11-06T08:49:37Z", &ms), 0);
	assert_int_equal(ms, 784111777000LL);
	assert_int_equal(http_iso8601_parse("1994-11-06T08:49:37.25Z", &ms), 0);
	assert_int_equal(ms, 784111777250LL);
	assert_int_equal(http_iso8601_parse("1994-11-06T10:49:37+02:00", &ms), 0);
	assert_int_equal(ms, 784111777000LL);
	assert_int_equal(http_iso8601_parse("1994-11-06T07:19:37-0130", &ms), 0);
	assert_int_equal(ms, 784111777000LL);
	assert_int_equal(http_iso8601_parse("1994-11-06T08:49Z", &ms), 0);
	assert_int_equal(ms, 784111740000LL);
	assert_int_equal(http_iso8601_parse("1994-11-06T08:49:37", &ms), 0);
	assert_int_equal(ms, 784111777000LL);
	const char *bad_iso[] = {"1994-11-06",           "1994-13-06T00:00Z",
	                         "1994-11-06T08:49:37X", "1994-11-06T08:49:37.Z",
	                         "94-11-06T08:49Z",      ""};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad_iso); i++)
		assert_int_equal(http_iso8601_parse(bad_iso[i], &ms), -EINVAL);

	const int64_t now = 784111767000LL; /* 10 s before 08:49:37 */
	int64_t d = 0;
	assert_int_equal(http_retry_after_ms("120", now, &d), 0);
	assert_int_equal(d, 120000);
	assert_int_equal(http_retry_after_ms(" 5 ", now, &d), 0);
	assert_int_equal(d, 5000);
	assert_int_equal(http_retry_after_ms("0", now, &d), 0);
	assert_int_equal(d, 1000);
	assert_int_equal(http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now, &d), 0);
	assert_int_equal(d, 10000);
	assert_int_equal(http_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now, &d), 0);
	assert_int_equal(d, 1000); /* in the past: at least a second */
	assert_int_equal(http_retry_after_ms("99999999999999999999", now, &d), 0);
	assert_true(d >= 86400LL * 365 * 1000);
	const char *bad_ra[] = {"-1", "abc", "1.5", "", "  ", "5s"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad_ra); i++)
		assert_int_equal(http_retry_after_ms(bad_ra[i], now, &d), -EINVAL);
	assert_int_equal(http_retry_after_ms(NULL, now, &d), -EINVAL);
}

/* ---- Retry-After holds, counted by the tracker emulators ---- */

#define GL_AUTH "PRIVATE-TOKEN: emu-token"
/* Basic base64("threatsync@example.com:emu-token"): the Jira emulator's defaults. */
#define JIRA_AUTH "Authorization: Basic dGhyZWF0c3luY0BleGFtcGxlLmNvbTplbXUtdG9rZW4="

static void submit_auth(struct http_endpoint *ep, const char *u, const char *auth,
                        struct result *res)
{
	struct http_request req = {.method = "GET", .url = u, .auth_header = auth};
	submit_full(ep, &req, res);
}

/* The emulator's count of Retry-After holds and of requests that broke one
 * (GET /_emu/holds); prints it, and the broken ones, for the record. Returns
 * the number of broken holds. */
static long holds_read(json_t *h, const char *who, long *ret_holds)
{
	assert_non_null(h);
	long holds = (long)json_integer_value(json_object_get(h, "holds"));
	json_t *v = json_object_get(h, "violations");
	long per_conn = (long)json_integer_value(json_object_get(v, "connection"));
	long per_client = (long)json_integer_value(json_object_get(v, "client"));
	fprintf(stderr,
	        "%s: %ld Retry-After holds, violations: %ld on the connection, %ld by the "
	        "client\n",
	        who, holds, per_conn, per_client);
	if (per_conn || per_client) {
		char *d = json_dumps(json_object_get(h, "events"), JSON_INDENT(1));
		fprintf(stderr, "%s\n", d);
		free(d);
	}
	*ret_holds = holds;
	return per_conn + per_client;
}

/* Two endpoints on one host: the client never hands libcurl more transfers
 * than it has connections for, so none waits inside libcurl for the
 * connection that just received a 429 (it would leave at once on it). */
static void test_hold_shared_host(void **state)
{
	struct fx *fx = *state;
	const char *args[] = {"--latency-ms", "300", NULL};
	gu_emu_start(&fx->gitlab, args);
	json_decref(gu_ctl(&fx->gitlab, "POST", "/_emu/faults",
	                   "{\"script\":[{\"match\":\"GET /api/v4/projects/1/issues\","
	                   "\"fault\":\"429\",\"retry_after\":\"2\"}]}"));
	struct http_endpoint *other =
	    endpoint(fx, (struct http_endpoint_opts){.name = "other", .concurrency = 1});
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.concurrency = 4});
	char *u1 = ts_asprintf("%s/api/v4/projects/1/issues", fx->gitlab.base);
	char *u2 = ts_asprintf("%s/api/v4/projects/2/issues", fx->gitlab.base);
	struct result res[6] = {{0}};
	submit_auth(other, u2, GL_AUTH, &res[5]);
	for (int i = 0; i < 5; i++)
		submit_auth(ep, u1, GL_AUTH, &res[i]);
	int64_t t0 = ts_monotonic_ms();
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(res[i].outcome, HTTP_OK);
		assert_int_equal(res[i].status, 200);
	}
	/* The 429 came after 300 ms and held the endpoint 2 s. */
	assert_true(ts_monotonic_ms() - t0 >= 2300);
	long holds = 0;
	json_t *h = gu_ctl(&fx->gitlab, "GET", "/_emu/holds", NULL);
	assert_int_equal(holds_read(h, "gitlab, shared host", &holds), 0);
	json_decref(h);
	assert_int_equal(holds, 1);
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.rate_limited, 1);
	gu_emu_stop(&fx->gitlab);
	http_endpoint_free(ep);
	http_endpoint_free(other);
	finish(fx);
	results_free(res, 6);
	free(u1);
	free(u2);
}

/* The gate is checked when a request leaves, not only when it is handed to
 * libcurl: b waits in its TLS handshake (its server holds new connections
 * 400 ms) while a's 429 arrives; b goes back to the queue unsent and leaves
 * once the Retry-After has passed, as its first attempt. */
static void test_hold_at_send(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/rl\",\"replies\":[{\"status\":429,"
	                    "\"delay_ms\":100,\"headers\":{\"Retry-After\":\"2\"}},"
	                    "{\"body\":\"ok\"}]}]}");
	char *cert = ju_tls_file("server.pem");
	char *key = ju_tls_file("server.key");
	char *ca = ju_tls_file("ca.pem");
	const char *tls[] = {"--tls-cert",        cert,  "--tls-key", key,
	                     "--accept-delay-ms", "400", NULL};
	srv_start_args(&fx->srv2, "{\"default\":{\"body\":\"late\"}}", tls);
	struct http_endpoint *ep =
	    endpoint(fx, (struct http_endpoint_opts){.concurrency = 4, .ca_bundle = ca});
	char *ua = url(fx, "/rl");
	char *ub = ts_asprintf("%s/b", fx->srv2.base);
	struct result a = {0}, b = {0};
	submit(ep, "GET", ua, NULL, &a);
	submit(ep, "GET", ub, NULL, &b);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.attempts, 2);
	assert_int_equal(b.status, 200);
	assert_string_equal(b.body, "late");
	assert_int_equal(b.attempts, 1);
	json_t *la = srv_log(&fx->srv);
	json_t *lb = srv_log(&fx->srv2);
	assert_int_equal(json_array_size(la), 2);
	assert_int_equal(json_array_size(lb), 1);
	double t429 = num(json_array_get(la, 0), "t_resp");
	assert_true(num(json_array_get(lb, 0), "t_recv") - t429 >= 2000);
	assert_true(num(json_array_get(la, 1), "t_recv") - t429 >= 2000);
	json_decref(la);
	json_decref(lb);
	struct http_stats st;
	http_endpoint_stats(ep, &st);
	assert_int_equal(st.gate_holds, 1);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.retries, 1);
	http_endpoint_free(ep);
	finish(fx);
	free(a.body);
	free(b.body);
	free(ua);
	free(ub);
	free(cert);
	free(key);
	free(ca);
}

/* A 429 holds the endpoint from the moment its headers arrive, not once its
 * body has been read: b, submitted while a's 429 body is still coming, waits
 * for the Retry-After. */
static void test_hold_from_headers(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/rl\",\"replies\":[{\"status\":429,"
	                    "\"body_delay_ms\":1000,\"headers\":{\"Retry-After\":\"2\"},"
	                    "\"body\":\"Retry later\"},{\"body\":\"ok\"}]}],"
	                    "\"default\":{\"body\":\"other\"}}");
	struct http_endpoint *ep = endpoint(fx, (struct http_endpoint_opts){.concurrency = 4});
	char *ua = url(fx, "/rl");
	char *ub = url(fx, "/other");
	struct result a = {0}, b = {0};
	submit(ep, "GET", ua, NULL, &a);
	struct later l = {.ep = ep, .url = ub, .res = &b};
	submit_later(fx, &l, 300);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(a.status, 200);
	assert_int_equal(b.status, 200);
	json_t *log = srv_log(&fx->srv);
	assert_int_equal(json_array_size(log), 3);
	assert_gated(log, 1, num(json_array_get(log, 0), "t_resp"), 2000, 2600);
	json_decref(log);
	http_endpoint_free(ep);
	finish(fx);
	free(a.body);
	free(b.body);
	free(ua);
	free(ub);
}

/* A steady stream of requests to both trackers at once, as the daemon sends
 * them (one client, one endpoint each). */
struct load {
	uv_timer_t tick;
	struct http_endpoint *ep[2];
	char *url[2];
	const char *auth[2];
	struct result *res[2];
	int n;
	int sent;
};

static void load_closed_cb(uv_handle_t *h)
{
	(void)h;
}

static void load_tick_cb(uv_timer_t *t)
{
	struct load *l = t->data;
	for (int k = 0; k < 2; k++)
		submit_auth(l->ep[k], l->url[k], l->auth[k], &l->res[k][l->sent]);
	if (++l->sent == l->n)
		uv_close((uv_handle_t *)&l->tick, load_closed_cb);
}

/* About 5 requests per second to each tracker for 8 s, answers taking
 * 100-600 ms, one answer in five a 429 with Retry-After (1-2 s, "0" or an
 * HTTP date): every request ends in a 200 and none left before the
 * Retry-After of a 429 had passed, on its connection or for the client. */
static void test_hold_under_load(void **state)
{
	struct fx *fx = *state;
	const char *args[] = {"--latency-ms", "100:600", "--seed", "7", NULL};
	gu_emu_start(&fx->gitlab, args);
	ju_emu_start(&fx->jira, "cloud", args);
	const char *faults = "{\"rate\":0.2,\"kinds\":[\"429\"],\"seed\":7}";
	json_decref(gu_ctl(&fx->gitlab, "POST", "/_emu/faults", faults));
	long st = 0;
	json_decref(ju_emu_call(&fx->jira, "POST", "/_emu/faults", faults, &st));
	assert_int_equal(st, 200);

	struct load l = {.n = 40};
	l.ep[0] = endpoint(fx, (struct http_endpoint_opts){.name = "gitlab", .concurrency = 4});
	l.ep[1] = endpoint(fx, (struct http_endpoint_opts){.name = "jira", .concurrency = 4});
	l.url[0] = ts_asprintf("%s/api/v4/projects/1/issues", fx->gitlab.base);
	l.url[1] = ts_asprintf("%s/rest/api/3/myself", fx->jira.base);
	l.auth[0] = GL_AUTH;
	l.auth[1] = JIRA_AUTH;
	for (int k = 0; k < 2; k++)
		l.res[k] = ts_calloc((size_t)l.n, sizeof(struct result));
	uv_update_time(&fx->loop);
	uv_timer_init(&fx->loop, &l.tick);
	l.tick.data = &l;
	uv_timer_start(&l.tick, load_tick_cb, 0, 200);
	uv_run(&fx->loop, UV_RUN_DEFAULT);

	const char *who[2] = {"gitlab, under load", "jira, under load"};
	long broken = 0;
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < l.n; i++) {
			assert_int_equal(l.res[k][i].outcome, HTTP_OK);
			assert_int_equal(l.res[k][i].status, 200);
		}
		json_t *h = k == 0 ? gu_ctl(&fx->gitlab, "GET", "/_emu/holds", NULL)
		                   : ju_emu_call(&fx->jira, "GET", "/_emu/holds", NULL, &st);
		long holds = 0;
		broken += holds_read(h, who[k], &holds);
		json_decref(h);
		struct http_stats s;
		http_endpoint_stats(l.ep[k], &s);
		fprintf(stderr, "%s: %llu sends, %llu rate limited, %llu held back at send time\n",
		        who[k], (unsigned long long)s.requests, (unsigned long long)s.rate_limited,
		        (unsigned long long)s.gate_holds);
		/* The run did meet 429s that hold (not only "Retry-After: 0"). */
		assert_true(holds >= 2);
		results_free(l.res[k], (size_t)l.n);
		free(l.res[k]);
		free(l.url[k]);
		http_endpoint_free(l.ep[k]);
	}
	assert_int_equal(broken, 0);
	gu_emu_stop(&fx->gitlab);
	ju_emu_stop(&fx->jira);
	finish(fx);
}

/* http_client_flush: requests submitted over a warm pool leave at once,
 * before the loop turns again; their answers are reported by the loop
 * afterwards, not inside the flush. */
static void test_flush_sends_now(void **state)
{
	struct fx *fx = *state;
	srv_start(&fx->srv, "{\"routes\":[{\"path\":\"/warm\",\"replies\":[{\"delay_ms\":100,"
	                    "\"body\":\"w\"}]}],\"default\":{\"status\":201,\"body\":\"made\"}}");
	struct http_endpoint *ep =
	    endpoint(fx, (struct http_endpoint_opts){.concurrency = 3, .name = "flush"});
	char *uw = url(fx, "/warm");
	struct result warm[3] = {{0}}, post[3] = {{0}};
	for (int i = 0; i < 3; i++)
		submit(ep, "GET", uw, NULL, &warm[i]);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 3; i++)
		assert_int_equal(warm[i].status, 200);
	/* Three connections are idle now. */
	char *up[3];
	char body[3][32];
	for (int i = 0; i < 3; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/make?i=%d", i);
		up[i] = url(fx, path);
		snprintf(body[i], sizeof(body[i]), "{\"i\":%d}", i);
		submit(ep, "POST", up[i], body[i], &post[i]);
	}
	http_client_flush(fx->client);
	json_t *log = srv_log_wait(&fx->srv, 6);
	assert_int_equal(json_array_size(log), 6);
	json_t *w = log_for(log, "GET", "/warm");
	assert_int_equal(json_array_size(w), 3);
	for (int i = 0; i < 3; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/make?i=%d", i);
		json_t *e = log_for(log, "POST", path);
		assert_int_equal(json_array_size(e), 1);
		json_t *one = json_array_get(e, 0);
		assert_string_equal(json_string_value(json_object_get(one, "body")), body[i]);
		/* On one of the warm connections. */
		bool warm_conn = false;
		for (size_t k = 0; k < 3; k++)
			warm_conn |=
			    json_integer_value(json_object_get(one, "conn")) ==
			    json_integer_value(json_object_get(json_array_get(w, k), "conn"));
		assert_true(warm_conn);
		assert_int_equal(post[i].done, 0);
		json_decref(e);
	}
	json_decref(w);
	json_decref(log);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(post[i].done, 1);
		assert_int_equal(post[i].status, 201);
		assert_int_equal(post[i].attempts, 1);
		assert_string_equal(post[i].body, "made");
		free(up[i]);
	}
	results_free(warm, 3);
	results_free(post, 3);
	free(uw);
	http_endpoint_free(ep);
	finish(fx);
}

/* libcurl is loaded on first use: every function the client calls is found,
 * a second load is the same, and the load failure has its own message. */
static void test_curl_loaded_on_use(void **state)
{
	(void)state;
	assert_int_equal(curl_dl_load(), 0);
	assert_int_equal(curl_dl_load(), 0);
	assert_non_null(curl_dl.global_init);
	assert_non_null(curl_dl.easy_setopt);
	assert_non_null(curl_dl.multi_socket_action);
	assert_non_null(curl_dl.slist_free_all);
	assert_string_equal(curl_dl.easy_strerror(CURLE_OK), curl_easy_strerror(CURLE_OK));
	assert_string_equal(http_client_error(-ENOMEM), uv_strerror(-ENOMEM));
	assert_ptr_equal(http_client_error(-ELIBACC), curl_dl_error());
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_curl_loaded_on_use),
	    cmocka_unit_test(test_http_date_parser),
	    cmocka_unit_test(test_iso_and_retry_after),
	    cmocka_unit_test_setup_teardown(test_opts_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_submit_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_post_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrency_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_bucket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_seconds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_date, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_503_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jira_cloud_ratelimit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gitlab_ratelimit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_429_without_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_datacenter_fillrate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_5xx_get_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_500_not_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_sends_now, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_oversized, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_never_visible, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_cancels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_endpoint_free_cancels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_shared_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_at_send, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_from_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_under_load, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
