/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers for the Jira connector: emulator child, control API calls and
 * connector operations driven on a private uv loop. */
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Emulators started and not yet stopped, for ju_emu_stop_all. */
static pid_t running[16];

void ju_emu_stop_all(void)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(running); i++) {
		if (running[i] > 0) {
			int status;
			kill(running[i], SIGTERM);
			waitpid(running[i], &status, 0);
			running[i] = 0;
		}
	}
}

static void track(pid_t pid, pid_t replace)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(running); i++) {
		if (running[i] == replace) {
			running[i] = pid;
			return;
		}
	}
}

/* Starts python3 with argv (which names port_path as its --port-file) and
 * returns the port it announces there; the child's pid in *ret_pid. */
static int spawn_python(const char *const argv[], const char *port_path, pid_t *ret_pid)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The emulator dies with the test, even when an assertion
		 * longjmps past ju_emu_stop. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	track(pid, 0);
	*ret_pid = pid;
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
	return port;
}

void ju_emu_start(struct ju_emu *e, const char *flavor, const char *const extra[])
{
	memset(e, 0, sizeof(*e));
	e->dir = tu_tmpdir();
	char *port_path = ts_asprintf("%s/port", e->dir);
	char *emu = ts_asprintf("%s/tests/emulators/jira_emulator.py", tu_env("TS_SOURCE_DIR"));
	const char *argv[32] = {"python3",     emu,       "--port",   "0",
	                        "--port-file", port_path, "--flavor", flavor};
	size_t n = 8;
	bool tls = false;
	for (size_t i = 0; extra && extra[i] && n < TS_ARRAY_SIZE(argv) - 1; i++) {
		tls |= strcmp(extra[i], "--tls-cert") == 0;
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	int port = spawn_python(argv, port_path, &e->pid);
	snprintf(e->base, sizeof(e->base), "%s://127.0.0.1:%d", tls ? "https" : "http", port);
	free(port_path);
	free(emu);
}

char *ju_tls_file(const char *name)
{
	return ts_asprintf("%s/tests/data/tls/%s", tu_env("TS_SOURCE_DIR"), name);
}

void ju_proxy_start(struct ju_proxy *p, const char *auth)
{
	memset(p, 0, sizeof(*p));
	p->dir = tu_tmpdir();
	char *port_path = ts_asprintf("%s/port", p->dir);
	p->log = ts_asprintf("%s/proxy.log", p->dir);
	char *proxy = ts_asprintf("%s/tests/emulators/proxy.py", tu_env("TS_SOURCE_DIR"));
	const char *argv[] = {"python3", proxy,         "--port",
	                      "0",       "--port-file", port_path,
	                      "--log",   p->log,        auth ? "--auth" : NULL,
	                      auth,      NULL};
	int port = spawn_python(argv, port_path, &p->pid);
	snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", port);
	free(port_path);
	free(proxy);
}

char *ju_proxy_log(struct ju_proxy *p)
{
	char *txt = tu_read_file(p->log);
	return txt ? txt : ts_strdup("");
}

void ju_proxy_stop(struct ju_proxy *p)
{
	if (p->pid > 0) {
		int status;
		kill(p->pid, SIGTERM);
		waitpid(p->pid, &status, 0);
		track(0, p->pid);
		p->pid = 0;
	}
	if (p->dir) {
		tu_rmrf(p->dir);
		free(p->dir);
		p->dir = NULL;
	}
	free(p->log);
	p->log = NULL;
}

void ju_emu_stop(struct ju_emu *e)
{
	if (e->pid > 0) {
		int status;
		kill(e->pid, SIGTERM);
		waitpid(e->pid, &status, 0);
		track(0, e->pid);
		e->pid = 0;
	}
	if (e->dir) {
		tu_rmrf(e->dir);
		free(e->dir);
		e->dir = NULL;
	}
}

static size_t collect_cb(char *p, size_t size, size_t n, void *ud)
{
	ts_buf_append(ud, p, size * n);
	return size * n;
}

json_t *ju_emu_call(struct ju_emu *e, const char *method, const char *path, const char *body,
                    long *ret_status)
{
	CURL *h = curl_easy_init();
	assert_non_null(h);
	char *url = ts_asprintf("%s%s", e->base, path);
	struct ts_buf out = {0};
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	/* Control calls go straight to the emulator, never through a proxy a
	 * test set in the environment; over HTTPS they trust the test CA. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	char *ca = NULL;
	if (strncmp(e->base, "https:", 6) == 0) {
		ca = ju_tls_file("ca.pem");
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	}
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	CURLcode rc = curl_easy_perform(h);
	assert_int_equal(rc, CURLE_OK);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (ret_status)
		*ret_status = status;
	json_t *j = json_null();
	if (out.len) {
		json_error_t jerr;
		json_decref(j);
		j = json_loadb(out.data, out.len, 0, &jerr);
		if (!j)
			fail_msg("%s %s: not JSON (%s): %.300s", method, path, jerr.text, out.data);
	}
	ts_buf_free(&out);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(ca);
	free(url);
	return j;
}

static json_t *requests_once(struct ju_emu *e)
{
	long st;
	json_t *j = ju_emu_call(e, "GET", "/_emu/requests", NULL, &st);
	assert_int_equal(st, 200);
	assert_true(json_is_array(j));
	return j;
}

json_t *ju_requests(struct ju_emu *e)
{
	/* The emulator records a request once its answer is written, so the
	 * client can see the answer first: wait until the list stops growing. */
	json_t *j = requests_once(e);
	for (int i = 0; i < 100; i++) {
		usleep(25000);
		json_t *again = requests_once(e);
		size_t n = json_array_size(j);
		json_decref(j);
		j = again;
		if (json_array_size(again) == n)
			break;
	}
	return j;
}

json_t *ju_requests_for(struct ju_emu *e, const char *method, const char *prefix)
{
	json_t *all = ju_requests(e);
	json_t *out = json_array();
	size_t i;
	json_t *r;
	json_array_foreach (all, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		if ((!method || strcmp(m, method) == 0) && strncmp(p, prefix, strlen(prefix)) == 0)
			json_array_append(out, r);
	}
	json_decref(all);
	return out;
}

static void open_conn(struct ju_ctx *x, struct ju_emu *e, enum config_jira_flavor flavor,
                      const char *token, const char *ca_bundle, const char *proxy)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(uv_loop_init(&x->loop), 0);
	assert_int_equal(http_client_new(&x->loop, &x->client), 0);
	struct config_connector *c = &x->cfg;
	c->name = ts_strdup("jira-test");
	c->line = 7;
	c->type = CONFIG_CONNECTOR_JIRA;
	c->flavor = flavor;
	c->base_url = ts_strdup(e->base);
	c->email = flavor == CONFIG_JIRA_CLOUD ? ts_strdup("threatsync@example.com") : NULL;
	c->token.value = ts_strdup(token ? token : "emu-token");
	c->concurrency = 4;
	c->rate_per_second = 1000;
	c->burst = 100;
	c->max_attempts = 4;
	c->connect_timeout_ms = 2000;
	c->request_timeout_ms = 10000;
	c->issue_type = ts_strdup("Task");
	c->labels = ts_calloc(3, sizeof(char *));
	c->labels[0] = ts_strdup("team sec");
	c->labels[1] = ts_strdup("appsec");
	c->done_status = ts_strdup("Done");
	c->reopen_status = ts_strdup("To Do");
	c->ca_bundle = ts_strdup(ca_bundle);
	c->proxy = ts_strdup(proxy);
	struct ts_err err = {0};
	int rc = jira_connector_ops.open(x->client, c, &x->conn, &err);
	if (rc != 0)
		fail_msg("open: %s", err.msg);
}

void ju_open(struct ju_ctx *x, struct ju_emu *e, enum config_jira_flavor flavor, const char *token)
{
	open_conn(x, e, flavor, token, NULL, NULL);
}

void ju_open_via(struct ju_ctx *x, struct ju_emu *e, const char *ca_bundle, const char *proxy)
{
	open_conn(x, e, CONFIG_JIRA_CLOUD, NULL, ca_bundle, proxy);
}

static void client_closed_cb(void *ud)
{
	struct ju_ctx *x = ud;
	x->client_closed = true;
}

void ju_close(struct ju_ctx *x)
{
	jira_connector_ops.close(x->conn);
	x->conn = NULL;
	http_client_close(x->client, client_closed_cb, x);
	for (int i = 0; i < 1000 && !x->client_closed; i++)
		uv_run(&x->loop, UV_RUN_ONCE);
	assert_true(x->client_closed);
	uv_run(&x->loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&x->loop), 0);
	struct config_connector *c = &x->cfg;
	free(c->name);
	free(c->base_url);
	free(c->email);
	free(c->token.value);
	free(c->issue_type);
	for (char **l = c->labels; *l; l++)
		free(*l);
	free(c->labels);
	free(c->done_status);
	free(c->reopen_status);
	free(c->ca_bundle);
	free(c->proxy);
}

void ju_cb(void *ud, const struct connector_result *r)
{
	struct ju_result *res = ud;
	assert_false(res->done);
	res->done = true;
	res->r.status = r->status;
	res->r.http_status = r->http_status;
	res->r.retry_after_ms = r->retry_after_ms;
	memcpy(res->r.error, r->error, sizeof(r->error));
	res->r.found = r->found;
	remote_issue_copy(&res->r.issue, &r->issue);
	res->r.n_issues = r->n_issues;
	res->r.issues = ts_calloc(r->n_issues + 1, sizeof(*r->issues));
	for (size_t i = 0; i < r->n_issues; i++)
		remote_issue_copy(&res->r.issues[i], &r->issues[i]);
	res->r.next_page = ts_strdup(r->next_page);
	res->r.cursor = ts_strdup(r->cursor);
}

void ju_wait(struct ju_ctx *x, struct ju_result *res, int timeout_ms)
{
	int64_t end = ts_monotonic_ms() + timeout_ms;
	while (!res->done && ts_monotonic_ms() < end)
		uv_run(&x->loop, UV_RUN_ONCE);
	if (!res->done)
		fail_msg("operation did not finish within %d ms", timeout_ms);
}

void ju_result_clear(struct ju_result *res)
{
	connector_result_clear(&res->r);
	res->done = false;
}
