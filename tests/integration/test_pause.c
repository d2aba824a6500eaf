/* SPDX-License-Identifier: Apache-2.0 */
/* Permanent refusals against the Jira Cloud emulator: a wrong token pauses
 * the connector (no attempt counted, one probe per interval, everything
 * created once the token is fixed), a deleted tracker project pauses that
 * project only, `sync --once` exits 77 or 69 and says why, `status --json`
 * shows the pause, `outbox retry` re-queues failed and dead rows, and the
 * daemon shows the pause on /healthz and probes at once after SIGHUP.
 * Timing-bound: TS_NO_VALGRIND. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/jira.h"
#include "connectors/sync.h"
#include "engine/tracking/pause.h"
#include "helpers/daemon_util.h"
#include "helpers/gen_util.h"
#include "helpers/http_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#define TOKEN "emu-token"
#define WRONG "wrong-token-0123"

struct fixture {
	struct ju_emu emu;
	struct gu g;
	char *dir;
	char *conf;
	struct ts_buf events; /* "LEVEL message" lines of every pass */
	int tasks;
};

/* Writes the configuration: project "sync" on WRU and, with two, "other" on
 * SEC; the token file holds token. */
static void write_conf(struct fixture *f, const char *token, bool two)
{
	free(tu_write_file(f->dir, "jira_token", token));
	char *text = ts_asprintf(
	    "database = \"%s\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"jira_token\";"
	    " concurrency = 4; rate_per_second = 1000.0; burst = 1000; max_attempts = 3;"
	    " connect_timeout_ms = 1000; request_timeout_ms = 5000; poll_interval_s = 5;"
	    " pause_probe_interval_s = 2; } );\n"
	    "projects = ( { slug = \"sync\"; connector = \"jira\"; tracker_project = \"WRU\"; }%s "
	    ");\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    f->g.db ? f->g.db : "unused.db", tu_env("TS_SOURCE_DIR"), f->emu.base,
	    two ? ", { slug = \"other\"; connector = \"jira\"; tracker_project = \"SEC\"; }" : "");
	free(f->conf);
	f->conf = tu_write_file(f->dir, "t.conf", text);
	free(text);
}

static void fixture_open(struct fixture *f, const char *token, int components, bool two)
{
	memset(f, 0, sizeof(*f));
	ju_emu_start(&f->emu, "cloud", NULL);
	f->dir = tu_tmpdir();
	write_conf(f, token, two);
	char *model = ts_asprintf("%s/model.json", f->dir);
	gu_write_web_model(model, "Pause", components);
	gu_open(&f->g, f->conf);
	/* Now the database path is known: the CLI cases use the same one. */
	write_conf(f, token, two);
	gu_reload(&f->g, f->conf);
	gu_import(&f->g, "sync", model);
	json_decref(gu_generate(&f->g, "sync", NULL));
	if (two) {
		gu_import(&f->g, "other", model);
		json_decref(gu_generate(&f->g, "other", NULL));
	}
	f->tasks = (int)gu_int(&f->g, "SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_int_equal(f->tasks, components * 4 * (two ? 2 : 1));
	free(model);
}

static void fixture_close(struct fixture *f)
{
	gu_close(&f->g);
	ju_emu_stop(&f->emu);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->conf);
	ts_buf_free(&f->events);
}

static void event_cb(void *ud, enum sync_event_level level, const char *msg)
{
	struct fixture *f = ud;
	static const char *const names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"};
	ts_buf_printf(&f->events, "%s %s\n", names[level], msg);
}

static void opened_cb(void *ud, const struct config_connector *cc, void *conn)
{
	(void)ud;
	(void)cc;
	jira_set_lookup_retry(conn, 2, 100);
}

struct pass {
	bool done;
	json_t *report;
	struct sync *sync;
	struct http_client *http;
};

static void pass_done_cb(void *ud, const struct sync_report *rep)
{
	struct pass *p = ud;
	p->report = sync_report_json(rep);
	p->done = true;
	sync_close(p->sync, NULL, NULL);
	http_client_close(p->http, NULL, NULL);
}

/* One pass as the daemon runs it; the "jira" connector's report (new). */
static json_t *run_pass(struct fixture *f)
{
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct pass p = {0};
	struct sync_opts so = {
	    .seed = 7, .event_cb = event_cb, .event_ud = f, .opened_cb = opened_cb};
	assert_int_equal(http_client_new(&loop, &p.http), 0);
	assert_int_equal(sync_new(&loop, p.http, f->g.s, f->g.cfg, &so, &p.sync), 0);
	struct ts_err err = {0};
	assert_int_equal(sync_run_pass(p.sync, NULL, pass_done_cb, &p, &err), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(p.done);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_true(json_is_null(json_object_get(p.report, "store_error")));
	json_t *c = json_incref(json_array_get(json_object_get(p.report, "connectors"), 0));
	json_decref(p.report);
	return c;
}

static int num(const json_t *rep, const char *group, const char *key)
{
	return (int)json_integer_value(json_object_get(json_object_get(rep, group), key));
}

/* API requests the emulator received since the last call, then forgets them. */
static int requests(struct fixture *f)
{
	json_t *all = ju_requests(&f->emu);
	int n = (int)json_array_size(all);
	json_decref(all);
	json_decref(ju_emu_call(&f->emu, "DELETE", "/_emu/requests", NULL, NULL));
	return n;
}

static int count_lines(const struct ts_buf *b, const char *needle)
{
	int n = 0;
	for (const char *p = b->data ? b->data : ""; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_wrong_token_pauses(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, WRONG, 100, false);
	assert_int_equal(f.tasks, 400);

	/* The first refusal pauses the connector: what was in flight comes
	 * back refused, nothing else is sent, no attempt is counted. */
	json_t *rep = run_pass(&f);
	int sent = requests(&f);
	assert_true(sent >= 1 && sent <= 4);
	json_t *pz = json_object_get(rep, "paused");
	assert_true(json_is_object(pz));
	assert_string_equal(json_string_value(json_object_get(pz, "kind")), "denied");
	assert_int_equal(json_integer_value(json_object_get(pz, "http_status")), 401);
	assert_non_null(strstr(json_string_value(json_object_get(pz, "reason")),
	                       "Client must be authenticated"));
	assert_int_equal(num(rep, "outbox", "dead"), 0);
	assert_int_equal(num(rep, "outbox", "rescheduled"), 0);
	json_decref(rep);
	assert_int_equal(count_lines(&f.events, "ERROR connector jira paused"), 1);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state = 'dead'"), 0);
	assert_int_equal(gu_int(&f.g, "SELECT coalesce(sum(attempts), 0) FROM outbox"), 0);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 400);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses WHERE connector ="
	                              " 'jira' AND scope = '' AND kind = 'denied'"),
	                 1);

	/* Passes before the probe interval (2 s) send nothing at all. */
	for (int i = 0; i < 3; i++) {
		rep = run_pass(&f);
		assert_int_equal(json_integer_value(json_object_get(rep, "probes")), 0);
		json_decref(rep);
	}
	assert_int_equal(requests(&f), 0);

	/* Then one probe, refused: still paused, still no attempt. */
	usleep(2100 * 1000);
	rep = run_pass(&f);
	assert_int_equal(json_integer_value(json_object_get(rep, "probes")), 1);
	assert_true(json_is_object(json_object_get(rep, "paused")));
	json_decref(rep);
	assert_int_equal(requests(&f), 1);
	rep = run_pass(&f);
	json_decref(rep);
	assert_int_equal(requests(&f), 0);
	assert_int_equal(gu_int(&f.g, "SELECT probes FROM connector_pauses"), 1);
	assert_int_equal(gu_int(&f.g, "SELECT coalesce(sum(attempts), 0) FROM outbox"), 0);
	assert_int_equal(count_lines(&f.events, "ERROR "), 1);
	/* The token is never in a message or in the database. */
	assert_null(strstr(f.events.data, WRONG));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses WHERE reason LIKE"
	                              " '%" WRONG "%'"),
	                 0);

	/* The token is fixed and the configuration reloaded (as on SIGHUP):
	 * the next pass probes at once and creates everything. */
	write_conf(&f, TOKEN, false);
	gu_reload(&f.g, f.conf);
	struct ts_err err = {0};
	assert_int_equal(pause_probe_now(f.g.s, NULL, &err), 0);
	rep = run_pass(&f);
	assert_int_equal(json_integer_value(json_object_get(rep, "probes")), 1);
	assert_true(json_is_null(json_object_get(rep, "paused")));
	assert_int_equal(num(rep, "outbox", "created"), 400);
	assert_int_equal(num(rep, "outbox", "dead"), 0);
	json_decref(rep);
	assert_int_equal(count_lines(&f.events, "NOTICE connector jira: the pause of the "
	                                        "connector ended"),
	                 1);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses"), 0);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	json_t *issues = ju_emu_call(&f.emu, "GET", "/_emu/issues", NULL, NULL);
	assert_int_equal((int)json_array_size(issues), 400);
	json_decref(issues);
	fixture_close(&f);
}

static void test_missing_project_pauses_scope(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, TOKEN, 3, true);
	long st = 0;
	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/projects/SEC", NULL, &st));
	assert_int_equal(st, 204);

	/* WRU's tickets are all created; SEC pauses, its rows wait. */
	json_t *rep = run_pass(&f);
	assert_int_equal(num(rep, "outbox", "created"), 12);
	assert_int_equal(num(rep, "outbox", "dead"), 0);
	json_t *pz = json_object_get(rep, "paused");
	assert_string_equal(json_string_value(json_object_get(pz, "kind")), "missing");
	assert_string_equal(json_string_value(json_object_get(pz, "scope")), "SEC");
	assert_non_null(strstr(json_string_value(json_object_get(pz, "reason")),
	                       "Specify a valid project ID or key"));
	json_decref(rep);
	json_t *posts = ju_requests_for(&f.emu, "POST", "/rest/api/3/issue");
	int refused = 0;
	size_t i;
	json_t *r;
	json_array_foreach (posts, i, r) {
		refused += json_integer_value(json_object_get(r, "status")) == 400;
	}
	json_decref(posts);
	assert_true(refused >= 1 && refused <= 4);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox o JOIN projects p ON"
	                              " p.id = o.project_id WHERE p.slug = 'other' AND"
	                              " o.state = 'pending' AND o.attempts = 0"),
	                 12);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses WHERE scope = 'SEC'"
	                              " AND kind = 'missing'"),
	                 1);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses WHERE scope = ''"), 0);

	/* A later pass polls WRU but sends nothing to SEC. */
	requests(&f);
	rep = run_pass(&f);
	json_decref(rep);
	json_t *all = ju_requests(&f.emu);
	json_array_foreach (all, i, r) {
		const char *q = json_string_value(json_object_get(r, "query"));
		const char *b = json_string_value(json_object_get(r, "body"));
		assert_null(strstr(q ? q : "", "SEC"));
		assert_null(strstr(b ? b : "", "SEC"));
	}
	json_decref(all);

	/* The project is back: the probe succeeds and its tickets are made. */
	json_decref(ju_emu_call(&f.emu, "POST", "/_emu/projects", "{\"key\":\"SEC\"}", &st));
	assert_int_equal(st, 201);
	usleep(2100 * 1000);
	rep = run_pass(&f);
	assert_int_equal(num(rep, "outbox", "created"), 12);
	assert_true(json_is_null(json_object_get(rep, "paused")));
	json_decref(rep);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses"), 0);
	fixture_close(&f);
}

/* `threatsync sync --once`: 77 for refused credentials, 69 for a missing
 * project, the reason on stderr; `status --json` shows the pause. */
static void test_sync_once_exit_codes(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, WRONG, 1, true);
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "-c", f.conf, "sync", "--once", NULL);
	assert_int_equal(rc, EX_NOPERM);
	assert_non_null(strstr(err, "connector 'jira' is paused: the tracker refused its "
	                            "credentials or access (HTTP 401)"));
	assert_non_null(strstr(err, "Client must be authenticated"));
	assert_non_null(strstr(out, "paused: the tracker refused"));
	free(out);
	free(err);
	rc = tu_cli(&out, &err, "-c", f.conf, "status", "--json", NULL);
	assert_int_equal(rc, 0);
	json_t *doc = json_loads(out, 0, NULL);
	json_t *p = json_array_get(
	    json_object_get(json_array_get(json_object_get(doc, "connectors"), 0), "paused"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "kind")), "denied");
	assert_string_equal(json_string_value(json_object_get(p, "scope")), "");
	assert_int_equal(json_integer_value(json_object_get(p, "http_status")), 401);
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(gu_int(&f.g, "SELECT coalesce(sum(attempts), 0) FROM outbox"), 0);

	/* The token fixed, SEC gone: the probe ends the connector's pause at
	 * once, SEC pauses and the command says so with 69. */
	write_conf(&f, TOKEN, true);
	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/projects/SEC", NULL, NULL));
	rc = tu_cli(&out, &err, "-c", f.conf, "sync", "--once", "--json", NULL);
	assert_int_equal(rc, EX_UNAVAILABLE);
	assert_non_null(strstr(err, "connector 'jira': tracker project SEC is paused"));
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	json_t *c = json_array_get(json_object_get(doc, "connectors"), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(c, "outbox"), "created")), 4);
	json_decref(doc);
	free(out);
	free(err);
	rc = tu_cli(&out, &err, "-c", f.conf, "status", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "PAUSED tracker project SEC"));
	free(out);
	free(err);
	json_decref(ju_emu_call(&f.emu, "POST", "/_emu/projects", "{\"key\":\"SEC\"}", NULL));
	rc = tu_cli(&out, &err, "-c", f.conf, "sync", "--once", NULL);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	fixture_close(&f);
}

static void test_outbox_retry(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, TOKEN, 2, false);
	/* Rows a refusal killed before pauses existed, and rows waiting long. */
	gu_int(&f.g, "UPDATE outbox SET state = 'dead', attempts = 3, last_error = 'HTTP 401'"
	             " WHERE id % 2 = 0 RETURNING 0");
	gu_int(&f.g, "UPDATE outbox SET state = 'failed', attempts = 1,"
	             " next_attempt_at = 9999999999999 WHERE state = 'pending' RETURNING 0");
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "-c", f.conf, "outbox", "retry", "nope", NULL);
	assert_int_equal(rc, EX_NOINPUT);
	assert_non_null(strstr(err, "no project 'nope'"));
	free(out);
	free(err);
	rc = tu_cli(&out, &err, "-c", f.conf, "outbox", "retry", "sync", "--json", NULL);
	assert_int_equal(rc, 0);
	json_t *doc = json_loads(out, 0, NULL);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "requeued"), "failed")), 4);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "requeued"), "dead")), 0);
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state = 'failed' AND"
	                              " next_attempt_at = 0 AND attempts = 1"),
	                 4);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state = 'dead'"), 4);
	rc = tu_cli(&out, &err, "-c", f.conf, "outbox", "retry", "--dead", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "4 dead row(s) pending again"));
	free(out);
	free(err);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state = 'pending' AND"
	                              " attempts = 0"),
	                 4);
	json_t *rep = run_pass(&f);
	assert_int_equal(num(rep, "outbox", "created"), 8);
	json_decref(rep);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	fixture_close(&f);
}

/* GET base/healthz; the status (0 when the connection failed) and the body (new). */
static long http_get(const char *base, char **ret_body)
{
	struct hu_reply r = hu_request(base, "GET", "/healthz", NULL, NULL, 0, 10000);
	*ret_body = r.body;
	r.body = NULL;
	long status = r.status;
	hu_reply_free(&r);
	return status;
}

static bool wait_int(struct fixture *f, const char *sql, long long want, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		if (gu_int(&f->g, sql) == want)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* The daemon: a refused token pauses the connector (error in the journal,
 * "paused" on /healthz with 200), and after the token is fixed a SIGHUP
 * probes at once although the probe interval is an hour. */
static void test_daemon_healthz_and_sighup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct fixture f;
	fixture_open(&f, WRONG, 2, false);
	int port = hu_free_port();
	char *text = ts_asprintf(
	    "database = \"%s\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "log_level = \"info\";\n"
	    "shutdown_timeout_ms = 2000;\n"
	    "http = { listen = \"127.0.0.1:%d\"; };\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"jira_token\";"
	    " rate_per_second = 1000.0; burst = 1000; poll_interval_s = 5;"
	    " pause_probe_interval_s = 3600; } );\n"
	    "projects = ( { slug = \"sync\"; connector = \"jira\"; tracker_project = \"WRU\"; } "
	    ");\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    f.g.db, tu_env("TS_SOURCE_DIR"), port, f.emu.base);
	char *conf = tu_write_file(f.dir, "daemon.conf", text);
	free(text);
	const char *args[] = {"-c", conf, NULL};
	struct du_daemon *d = du_start(f.dir, args, NULL, 0);
	assert_non_null(du_wait_notify(d, "READY=1", 15000));
	assert_true(
	    wait_int(&f, "SELECT count(*) FROM connector_pauses WHERE scope = ''", 1, 15000));
	char *url = ts_asprintf("http://127.0.0.1:%d", port);
	char *body = NULL;
	bool shown = false;
	for (int i = 0; i < 50 && !shown; i++) {
		free(body);
		assert_int_equal(http_get(url, &body), 200);
		shown = strstr(body, "\"status\":\"paused\"") != NULL;
		if (!shown)
			usleep(100 * 1000);
	}
	assert_true(shown);
	assert_non_null(strstr(body, "Client must be authenticated"));
	assert_non_null(strstr(body, "\"connector\":\"jira\""));
	free(body);
	/* Ticks and poll periods go by: nothing more is sent. */
	int before = requests(&f);
	assert_true(before >= 1 && before <= 4);
	sleep(6);
	assert_int_equal(requests(&f), 0);
	assert_int_equal(gu_int(&f.g, "SELECT coalesce(sum(attempts), 0) FROM outbox"), 0);

	free(tu_write_file(f.dir, "jira_token", TOKEN));
	du_signal(d, SIGHUP);
	assert_true(wait_int(&f, "SELECT count(*) FROM outbox WHERE state <> 'done'", 0, 15000));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM connector_pauses"), 0);
	bool ok = false;
	for (int i = 0; i < 50 && !ok; i++) {
		assert_int_equal(http_get(url, &body), 200);
		ok = strstr(body, "\"status\":\"ok\"") != NULL && !strstr(body, "paused");
		free(body);
		if (!ok)
			usleep(100 * 1000);
	}
	assert_true(ok);
	du_signal(d, SIGTERM);
	assert_int_equal(du_wait_exit(d, 10000), 0);
	char *log = du_stderr(d);
	assert_non_null(strstr(log, "sync: connector jira paused: the tracker refused"));
	assert_non_null(strstr(log, "the pause of the connector ended"));
	assert_null(strstr(log, WRONG));
	free(log);
	du_free(d);
	free(url);
	free(conf);
	fixture_close(&f);
	curl_global_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wrong_token_pauses),
	    cmocka_unit_test(test_missing_project_pauses_scope),
	    cmocka_unit_test(test_sync_once_exit_codes),
	    cmocka_unit_test(test_outbox_retry),
	    cmocka_unit_test(test_daemon_healthz_and_sighup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
