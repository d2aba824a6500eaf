/* SPDX-License-Identifier: Apache-2.0 */
/* The sync pass (connectors/sync.c) against the Jira Cloud emulator: push of
 * generated tasks, status back through polling, an idle pass, convergence
 * under faults, Retry-After, and no secret in messages. Timing-bound:
 * TS_NO_VALGRIND. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/jira.h"
#include "connectors/sync.h"
#include "engine/generate/generate.h"
#include "engine/tracking/marker.h"
#include "helpers/gen_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#define TOKEN "emu-token"

struct fixture {
	struct ju_emu emu;
	struct gu g;
	char *dir;
	struct ts_buf events; /* every event message of every pass */
	int tasks;
};

/* Emulator, store, configuration and `components` * 4 generated tasks. */
static void fixture_open(struct fixture *f, const char *const emu_args[], int components)
{
	memset(f, 0, sizeof(*f));
	ju_emu_start(&f->emu, "cloud", emu_args);
	f->dir = tu_tmpdir();
	free(tu_write_file(f->dir, "jira_token", TOKEN "\n"));
	char *conf_text = ts_asprintf(
	    "database = \"unused.db\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"jira_token\";"
	    " concurrency = 4; rate_per_second = 1000.0; burst = 1000; max_attempts = 100;"
	    " connect_timeout_ms = 1000; request_timeout_ms = 1500; poll_interval_s = 5; } );\n"
	    "projects = ( { slug = \"sync\"; connector = \"jira\"; tracker_project = \"WRU\";"
	    " labels = [ \"team-a\" ]; } );\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    tu_env("TS_SOURCE_DIR"), f->emu.base);
	char *conf = tu_write_file(f->dir, "t.conf", conf_text);
	char *model = ts_asprintf("%s/model.json", f->dir);
	gu_write_web_model(model, "Sync", components);
	gu_open(&f->g, conf);
	gu_import(&f->g, "sync", model);
	json_decref(gu_generate(&f->g, "sync", NULL));
	f->tasks = (int)gu_int(&f->g, "SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_int_equal(f->tasks, components * 4);
	free(conf_text);
	free(conf);
	free(model);
}

static void fixture_close(struct fixture *f)
{
	gu_close(&f->g);
	ju_emu_stop(&f->emu);
	tu_rmrf(f->dir);
	free(f->dir);
	ts_buf_free(&f->events);
}

static void event_cb(void *ud, enum sync_event_level level, const char *msg)
{
	(void)level;
	struct fixture *f = ud;
	ts_buf_printf(&f->events, "%s\n", msg);
}

static void opened_cb(void *ud, const struct config_connector *cc, void *conn)
{
	(void)ud;
	(void)cc;
	/* Lookups after an unknown outcome: the emulator has no index lag here. */
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

/* One pass on a private loop with every handle closed at the end. Returns
 * the report of the "jira" connector (new reference). */
static json_t *run_pass(struct fixture *f, const struct sync_pass_opts *o)
{
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct pass p = {0};
	struct sync_opts so = {.backoff_base_ms = 20,
	                       .backoff_max_ms = 200,
	                       .seed = 7,
	                       .event_cb = event_cb,
	                       .event_ud = f,
	                       .opened_cb = opened_cb};
	assert_int_equal(http_client_new(&loop, &p.http), 0);
	assert_int_equal(sync_new(&loop, p.http, f->g.s, f->g.cfg, &so, &p.sync), 0);
	struct ts_err err = {0};
	assert_int_equal(sync_run_pass(p.sync, o, pass_done_cb, &p, &err), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(p.done);
	assert_int_equal(uv_loop_close(&loop), 0);
	json_t *c = json_incref(json_array_get(json_object_get(p.report, "connectors"), 0));
	assert_non_null(c);
	assert_true(json_is_null(json_object_get(p.report, "store_error")));
	json_decref(p.report);
	return c;
}

static int num(const json_t *rep, const char *group, const char *key)
{
	return (int)json_integer_value(json_object_get(json_object_get(rep, group), key));
}

/* Markers of the tasks, and how many emulator issues carry each. Fails the
 * test unless every task has exactly one ticket and nothing else exists. */
static void assert_one_ticket_per_task(struct fixture *f)
{
	json_t *d = ju_emu_call(&f->emu, "GET", "/_emu/issues", NULL, NULL);
	json_t *issues = json_is_array(d) ? d : json_object_get(d, "issues");
	assert_int_equal((int)json_array_size(issues), f->tasks);
	json_t *count = json_object();
	size_t i, k;
	json_t *is, *lab;
	json_array_foreach (issues, i, is) {
		json_array_foreach (json_object_get(is, "labels"), k, lab) {
			const char *l = json_string_value(lab);
			if (strncmp(l, "threatsync-", 11) == 0)
				json_object_set_new(
				    count, l,
				    json_integer(json_integer_value(json_object_get(count, l)) +
				                 1));
		}
	}
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(store_db(f->g.s),
	                       "SELECT c.uid, t.marker FROM countermeasures c LEFT JOIN"
	                       " tickets t ON t.id = c.ticket_id WHERE c.in_scope = 1"
	                       " AND c.state = 'active' AND c.status <> 'satisfied'",
	                       -1, &st, NULL),
	    SQLITE_OK);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char m[32];
		marker_make("sync", (const char *)sqlite3_column_text(st, 0), m);
		assert_non_null(sqlite3_column_text(st, 1));
		assert_string_equal(m, (const char *)sqlite3_column_text(st, 1));
		assert_int_equal(json_integer_value(json_object_get(count, m)), 1);
		n++;
	}
	sqlite3_finalize(st);
	assert_int_equal(n, f->tasks);
	assert_int_equal((int)json_object_size(count), f->tasks);
	json_decref(count);
	json_decref(d);
}

static void test_push_poll_idle(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, NULL, 5);
	json_t *rep = run_pass(&f, NULL);
	assert_int_equal(num(rep, "outbox", "created"), f.tasks);
	assert_int_equal(num(rep, "outbox", "dead"), 0);
	json_decref(rep);
	assert_one_ticket_per_task(&f);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	/* The configured project label is on the ticket. */
	json_t *posts = ju_requests_for(&f.emu, "POST", "/rest/api/3/issue");
	assert_int_equal((int)json_array_size(posts), f.tasks);
	const char *body = json_string_value(json_object_get(json_array_get(posts, 0), "body"));
	assert_non_null(strstr(body, "\"team-a\""));
	json_decref(posts);

	/* A human moves one ticket to Done: it comes back through polling. */
	char *key = NULL;
	{
		sqlite3_stmt *st;
		assert_int_equal(
		    sqlite3_prepare_v2(store_db(f.g.s),
		                       "SELECT remote_key FROM tickets ORDER BY id LIMIT 1", -1,
		                       &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		key = ts_strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	char *path = ts_asprintf("/_emu/issues/%s/transition", key);
	long status = 0;
	json_decref(
	    ju_emu_call(&f.emu, "POST", path, "{\"to\":\"Done\",\"actor\":\"alice\"}", &status));
	assert_int_equal(status, 200);
	rep = run_pass(&f, NULL);
	assert_int_equal(num(rep, "poll", "status_changes"), 1);
	json_decref(rep);
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history h JOIN tickets t ON t.id = h.ticket_id"
	         " JOIN countermeasures c ON c.id = h.countermeasure_id WHERE t.remote_key = '%s'"
	         " AND h.source = 'poll' AND h.from_status = 'todo' AND h.to_status = 'done'"
	         " AND c.status = 'done' AND h.remote_time IS NOT NULL"
	         " AND h.actor = 'alice@example.com'",
	         key);
	assert_int_equal(gu_int(&f.g, sql), 1);

	/* Nothing changed: at most 2 poll requests and no write. */
	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/requests", NULL, NULL));
	rep = run_pass(&f, NULL);
	assert_true(num(rep, "poll", "requests") <= 2);
	assert_int_equal(num(rep, "poll", "status_changes"), 0);
	json_decref(rep);
	json_t *all = ju_requests(&f.emu);
	size_t i;
	json_t *r;
	int searches = 0;
	json_array_foreach (all, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		assert_string_equal(m, "GET");
		searches +=
		    strstr(json_string_value(json_object_get(r, "path")), "/search") != NULL;
	}
	assert_true(searches >= 1 && searches <= 2);
	json_decref(all);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM status_history WHERE source = 'poll'"),
	                 1);
	/* No secret in any message or in the database. */
	assert_null(strstr(f.events.data ? f.events.data : "", TOKEN));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE payload LIKE '%" TOKEN
	                              "%' OR last_error LIKE '%" TOKEN "%'"),
	                 0);
	free(path);
	free(key);
	fixture_close(&f);
}

static void test_faults_converge(void **state)
{
	(void)state;
	struct fixture f;
	const char *const args[] = {
	    "--seed",    "11",       "--fault-rate",
	    "0.2",       "--faults", "429,500,502,503,reset,slow,timeout,malformed",
	    "--slow-ms", "300",      "--timeout-hold-s",
	    "3",         NULL};
	fixture_open(&f, args, 4);
	int passes = 0;
	while (passes < 60 &&
	       gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'") > 0) {
		json_decref(run_pass(&f, &(struct sync_pass_opts){.push_only = true}));
		passes++;
		usleep(100 * 1000);
	}
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	json_decref(ju_emu_call(&f.emu, "POST", "/_emu/faults", "{\"rate\":0}", NULL));
	assert_one_ticket_per_task(&f);
	/* Faults happened, of several kinds. */
	json_t *all = ju_requests(&f.emu);
	size_t i;
	json_t *r;
	int faults = 0;
	json_array_foreach (all, i, r) {
		faults += json_is_string(json_object_get(r, "fault"));
	}
	assert_true(faults > 0);
	json_decref(all);
	assert_null(strstr(f.events.data ? f.events.data : "", TOKEN));
	fixture_close(&f);
}

static void test_retry_after(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, NULL, 1);
	long status = 0;
	json_decref(
	    ju_emu_call(&f.emu, "POST", "/_emu/faults",
	                "{\"script\":[{\"match\":\"POST /rest/api/3/issue\",\"fault\":\"429\","
	                "\"times\":1,\"retry_after\":\"2\"}]}",
	                &status));
	assert_int_equal(status, 200);
	json_t *rep = run_pass(&f, &(struct sync_pass_opts){.push_only = true});
	json_decref(rep);
	/* The first create got a 429 with Retry-After: 2. The other creates were
	 * already on their way; the refused one went again last, not before 2 s
	 * had passed, and was created once. */
	json_t *all = ju_requests(&f.emu);
	int64_t t429 = -1, next = -1;
	size_t i;
	json_t *r;
	json_array_foreach (all, i, r) {
		int64_t ts = json_integer_value(json_object_get(r, "ts_ms"));
		bool create =
		    strcmp(json_string_value(json_object_get(r, "method")), "POST") == 0 &&
		    strcmp(json_string_value(json_object_get(r, "path")), "/rest/api/3/issue") == 0;
		if (t429 < 0 && json_integer_value(json_object_get(r, "status")) == 429)
			t429 = ts;
		else if (create && t429 >= 0)
			next = ts;
	}
	json_decref(all);
	assert_true(t429 > 0);
	assert_true(next > 0);
	assert_true(next - t429 >= 1950);
	assert_one_ticket_per_task(&f);
	fixture_close(&f);
}

/* A pass tries each due row at most once: a row that fails during the pass
 * waits for the next pass even when its backoff runs out before the pass
 * ends (before the fix, `sync --once` against a failing tracker went round
 * and round until the process was killed). */
static void test_pass_tries_each_row_once(void **state)
{
	(void)state;
	struct fixture f;
	const char *const args[] = {"--seed", "3", "--fault-rate", "1.0", "--faults", "500", NULL};
	fixture_open(&f, args, 2);
	json_t *rep = run_pass(&f, &(struct sync_pass_opts){.push_only = true});
	json_decref(rep);
	/* Every create was sent once and failed; none was retried in the pass
	 * although the backoff (20..200 ms) ran out long before it ended. */
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE op = 'create'"
	                              " AND state = 'failed' AND attempts = 1"),
	                 f.tasks);
	json_t *all = ju_requests(&f.emu);
	size_t i;
	json_t *r;
	int creates = 0;
	json_array_foreach (all, i, r) {
		creates +=
		    strcmp(json_string_value(json_object_get(r, "method")), "POST") == 0 &&
		    strcmp(json_string_value(json_object_get(r, "path")), "/rest/api/3/issue") == 0;
	}
	json_decref(all);
	assert_int_equal(creates, f.tasks);
	/* The next pass, with the tracker healthy again, finishes the work:
	 * markers are looked up first (the outcome of a 500 on a create is
	 * unknown), then each task gets exactly one ticket. */
	json_decref(ju_emu_call(&f.emu, "POST", "/_emu/faults", "{\"rate\":0}", NULL));
	usleep(250 * 1000);
	json_decref(run_pass(&f, &(struct sync_pass_opts){.push_only = true}));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	assert_one_ticket_per_task(&f);
	fixture_close(&f);
}

struct two_passes {
	struct fixture *f;
	struct sync *sync;
	struct http_client *http;
	int done;
	json_t *reports[2];
};

static void second_done_cb(void *ud, const struct sync_report *rep)
{
	struct two_passes *t = ud;
	t->reports[t->done++] = sync_report_json(rep);
	sync_close(t->sync, NULL, NULL);
	http_client_close(t->http, NULL, NULL);
}

/* After the first pass of a long-lived sync (the daemon's): a create whose
 * result could not be written (simulated: its row put back in flight and its
 * ticket row dropped, as a failed database write leaves them) is recovered
 * at the next pass of the same process and adopted by marker, not created
 * twice. */
static void first_done_cb(void *ud, const struct sync_report *rep)
{
	struct two_passes *t = ud;
	t->reports[t->done++] = sync_report_json(rep);
	char *err = NULL;
	const char *sql =
	    "CREATE TEMP TABLE lost AS SELECT o.id AS row, c.id AS cm, c.ticket_id AS ticket"
	    " FROM outbox o JOIN countermeasures c ON c.id = o.countermeasure_id"
	    " WHERE o.op = 'create' ORDER BY o.id LIMIT 1;"
	    "UPDATE outbox SET state = 'inflight', ticket_id = NULL"
	    " WHERE id = (SELECT row FROM lost);"
	    "UPDATE countermeasures SET ticket_id = NULL WHERE id = (SELECT cm FROM lost);"
	    "DELETE FROM tickets WHERE id = (SELECT ticket FROM lost);"
	    "DROP TABLE lost;";
	assert_int_equal(sqlite3_exec(store_db(t->f->g.s), sql, NULL, NULL, &err), SQLITE_OK);
	struct ts_err e = {0};
	assert_int_equal(sync_run_pass(t->sync, &(struct sync_pass_opts){.push_only = true},
	                               second_done_cb, t, &e),
	                 0);
}

static void test_recovery_between_passes(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, NULL, 2);
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct two_passes t = {.f = &f};
	struct sync_opts so = {.backoff_base_ms = 20,
	                       .backoff_max_ms = 200,
	                       .seed = 7,
	                       .event_cb = event_cb,
	                       .event_ud = &f,
	                       .opened_cb = opened_cb};
	assert_int_equal(http_client_new(&loop, &t.http), 0);
	assert_int_equal(sync_new(&loop, t.http, f.g.s, f.g.cfg, &so, &t.sync), 0);
	struct ts_err err = {0};
	assert_int_equal(sync_run_pass(t.sync, &(struct sync_pass_opts){.push_only = true},
	                               first_done_cb, &t, &err),
	                 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(t.done, 2);
	assert_int_equal(json_integer_value(json_object_get(t.reports[0], "recovered")), 0);
	assert_int_equal(json_integer_value(json_object_get(t.reports[1], "recovered")), 1);
	json_t *c = json_array_get(json_object_get(t.reports[1], "connectors"), 0);
	assert_int_equal(num(c, "outbox", "adopted"), 1);
	assert_int_equal(num(c, "outbox", "created"), 0);
	assert_non_null(strstr(f.events.data, "left in flight"));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	assert_one_ticket_per_task(&f);
	json_decref(t.reports[0]);
	json_decref(t.reports[1]);
	fixture_close(&f);
}

/* ---- a long-lived sync, as the daemon keeps one ---- */

struct live {
	uv_loop_t loop;
	struct http_client *http;
	struct sync *sync;
	bool done;
	json_t *report;
};

static void live_done_cb(void *ud, const struct sync_report *rep)
{
	struct live *lv = ud;
	lv->report = sync_report_json(rep);
	lv->done = true;
	uv_stop(&lv->loop);
}

static void live_open(struct fixture *f, struct live *lv,
                      void (*opened)(void *, const struct config_connector *, void *))
{
	memset(lv, 0, sizeof(*lv));
	assert_int_equal(uv_loop_init(&lv->loop), 0);
	struct sync_opts so = {.backoff_base_ms = 20,
	                       .backoff_max_ms = 200,
	                       .seed = 7,
	                       .event_cb = event_cb,
	                       .event_ud = f,
	                       .opened_cb = opened};
	assert_int_equal(http_client_new(&lv->loop, &lv->http), 0);
	assert_int_equal(sync_new(&lv->loop, lv->http, f->g.s, f->g.cfg, &so, &lv->sync), 0);
}

/* One pass of the long-lived sync; the "jira" connector's report (new). */
static json_t *live_pass(struct live *lv, const struct sync_pass_opts *o)
{
	struct ts_err err = {0};
	lv->done = false;
	assert_int_equal(sync_run_pass(lv->sync, o, live_done_cb, lv, &err), 0);
	while (!lv->done)
		uv_run(&lv->loop, UV_RUN_DEFAULT);
	json_t *c = json_incref(json_array_get(json_object_get(lv->report, "connectors"), 0));
	assert_non_null(c);
	assert_true(json_is_null(json_object_get(lv->report, "store_error")));
	json_decref(lv->report);
	lv->report = NULL;
	return c;
}

static void live_close(struct live *lv)
{
	sync_close(lv->sync, NULL, NULL);
	http_client_close(lv->http, NULL, NULL);
	uv_run(&lv->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&lv->loop), 0);
}

/* API requests the emulator received since the last call (and forgets them). */
static size_t api_requests(struct fixture *f, const char *prefix)
{
	json_t *reqs = ju_requests_for(&f->emu, NULL, prefix);
	size_t n = json_array_size(reqs);
	json_decref(reqs);
	return n;
}

static void forget_requests(struct fixture *f)
{
	json_decref(ju_emu_call(&f->emu, "DELETE", "/_emu/requests", NULL, NULL));
}

/* Has a human move n tickets to In Progress: the oldest still to do, the
 * farthest from the top of a newest-first search before the change. */
static void human_changes(struct fixture *f, int n)
{
	sqlite3_stmt *st;
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT t.remote_key FROM tickets t JOIN countermeasures c ON c.ticket_id = t.id"
	         " WHERE c.status = 'todo' ORDER BY t.id LIMIT %d",
	         n);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->g.s), sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char *path = ts_asprintf("/_emu/issues/%s/transition", sqlite3_column_text(st, 0));
		long status = 0;
		json_decref(ju_emu_call(&f->emu, "POST", path,
		                        "{\"to\":\"In Progress\",\"actor\":\"alice\"}", &status));
		assert_int_equal(status, 200);
		free(path);
	}
	sqlite3_finalize(st);
}

/* A quiet poll costs one request, a few changes at most two, right after a
 * push of 300 tickets (every one inside the query's two-minute overlap) and
 * 190 s later (emulator clock); the API user's zone is asked for once in the
 * life of the connector, not once a pass. */
static void test_quiet_poll_after_push(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f, NULL, 75);
	assert_int_equal(f.tasks, 300);
	struct live lv;
	live_open(&f, &lv, opened_cb);
	json_t *rep = live_pass(&lv, NULL);
	assert_int_equal(num(rep, "outbox", "created"), 300);
	/* The push's own poll reads the 300 once: three pages. */
	assert_int_equal(num(rep, "poll", "requests"), 3);
	json_decref(rep);
	assert_int_equal(api_requests(&f, "/rest/api/3/myself"), 1);
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			json_decref(ju_emu_call(&f.emu, "POST", "/_emu/clock",
			                        "{\"advance_ms\":190000}", NULL));
		for (int quiet = 0; quiet < 2; quiet++) {
			forget_requests(&f);
			rep = live_pass(&lv, NULL);
			assert_int_equal(num(rep, "poll", "status_changes"), 0);
			json_decref(rep);
			size_t n = api_requests(&f, "/rest/api/");
			if (n > 1)
				fail_msg("round %d: a quiet poll sent %zu requests", round, n);
		}
		human_changes(&f, 3);
		forget_requests(&f);
		rep = live_pass(&lv, NULL);
		assert_int_equal(num(rep, "poll", "status_changes"), 3);
		json_decref(rep);
		size_t n = api_requests(&f, "/rest/api/");
		if (n > 2)
			fail_msg("round %d: a poll with 3 changes sent %zu requests", round, n);
		forget_requests(&f);
		rep = live_pass(&lv, NULL);
		assert_int_equal(num(rep, "poll", "status_changes"), 0);
		json_decref(rep);
		assert_int_equal(api_requests(&f, "/rest/api/"), 1);
	}
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM countermeasures WHERE status = "
	                              "'in_progress'"),
	                 6);
	live_close(&lv);
	fixture_close(&f);
}

static void slow_lookup_cb(void *ud, const struct config_connector *cc, void *conn)
{
	(void)ud;
	(void)cc;
	/* Three lookups 1.5 s apart: they span the emulator's 2 s index lag. */
	jira_set_lookup_retry(conn, 3, 1500);
}

/* After a restart, creates whose outcome is unknown are looked up by marker,
 * and a lookup waits for the search index between attempts: on a timer,
 * without a slot, so the other tasks' creates go on meanwhile (they cannot
 * be duplicates of the rows being resolved: other tasks). Four recovered
 * rows, two of which did reach Jira before the "crash" (not yet in the
 * index), on a connector of concurrency 4: nearly every new ticket is
 * created before the last lookup, and none twice. */
static void test_lookups_do_not_hold_slots(void **state)
{
	(void)state;
	struct fixture f;
	const char *args[] = {"--index-lag-ms", "2000", NULL};
	fixture_open(&f, args, 10);
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(store_db(f.g.s),
	                       "SELECT o.id, c.uid FROM outbox o JOIN countermeasures c"
	                       " ON c.id = o.countermeasure_id WHERE o.op = 'create'"
	                       " ORDER BY o.id LIMIT 4",
	                       -1, &st, NULL),
	    SQLITE_OK);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char sql[128], m[32];
		snprintf(sql, sizeof(sql), "UPDATE outbox SET state = 'inflight' WHERE id = %lld",
		         (long long)sqlite3_column_int64(st, 0));
		assert_int_equal(sqlite3_exec(store_db(f.g.s), sql, NULL, NULL, NULL), SQLITE_OK);
		if (n++ % 2)
			continue;
		marker_make("sync", (const char *)sqlite3_column_text(st, 1), m);
		char *seed = ts_asprintf("{\"count\":1,\"project\":\"WRU\",\"index_lag\":true,"
		                         "\"labels\":[\"threatsync\",\"%s\"]}",
		                         m);
		long status = 0;
		json_decref(ju_emu_call(&f.emu, "POST", "/_emu/seed", seed, &status));
		assert_int_equal(status, 201);
		free(seed);
	}
	sqlite3_finalize(st);
	assert_int_equal(n, 4);
	forget_requests(&f);
	struct live lv;
	live_open(&f, &lv, slow_lookup_cb);
	json_t *rep = live_pass(&lv, &(struct sync_pass_opts){.push_only = true});
	live_close(&lv);
	assert_int_equal(num(rep, "outbox", "adopted"), 2);
	assert_int_equal(num(rep, "outbox", "created"), f.tasks - 2);
	assert_int_equal(num(rep, "outbox", "rescheduled"), 0);
	json_decref(rep);
	/* Request order on the emulator: creates before the last lookup. */
	json_t *all = ju_requests(&f.emu);
	long last_lookup = -1;
	int lookups = 0, creates_before = 0;
	size_t i;
	json_t *r;
	json_array_foreach (all, i, r) {
		const char *q = json_string_value(json_object_get(r, "query"));
		if (q && strstr(q, "jql=labels%20%3D%20%22threatsync-")) {
			last_lookup = (long)i;
			lookups++;
		}
	}
	json_array_foreach (all, i, r) {
		if ((long)i < last_lookup &&
		    strcmp(json_string_value(json_object_get(r, "method")), "POST") == 0 &&
		    strcmp(json_string_value(json_object_get(r, "path")), "/rest/api/3/issue") == 0)
			creates_before++;
	}
	json_decref(all);
	assert_int_equal(lookups, 4 * 3); /* the two that reached Jira show at the third */
	if (creates_before < f.tasks - 4 - 4)
		fail_msg("only %d of %d new tickets were created before the last lookup",
		         creates_before, f.tasks - 4);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	assert_one_ticket_per_task(&f);
	fixture_close(&f);
}

/* ---- a pass cancelled while rows are claimed ahead ---- */

struct cancel_pass {
	struct live *lv;
	uv_timer_t timer;
};

static void cancel_timer_cb(uv_timer_t *t)
{
	struct cancel_pass *cp = t->data;
	sync_cancel(cp->lv->sync);
}

/* The pass claims a batch of rows ahead of the free slots (the reserve);
 * cancelled meanwhile, it gives them back: no row is left in flight, the
 * rows never sent are pending with no attempt and no unknown outcome, and
 * the next pass finishes the work with one ticket per task. */
static void test_cancel_gives_back_claimed_rows(void **state)
{
	(void)state;
	struct fixture f;
	const char *const args[] = {"--latency-ms", "40", NULL};
	fixture_open(&f, args, 10);
	struct live lv;
	live_open(&f, &lv, opened_cb);
	struct cancel_pass cp = {.lv = &lv};
	assert_int_equal(uv_timer_init(&lv.loop, &cp.timer), 0);
	cp.timer.data = &cp;
	/* 4 slots, 40 ms a create: about a dozen creates answered by then. */
	assert_int_equal(uv_timer_start(&cp.timer, cancel_timer_cb, 150, 0), 0);
	json_t *rep = live_pass(&lv, &(struct sync_pass_opts){.push_only = true});
	uv_close((uv_handle_t *)&cp.timer, NULL);
	int created = num(rep, "outbox", "created");
	assert_true(created > 0);
	assert_true(created < f.tasks);
	assert_int_equal(num(rep, "outbox", "released"), 0);
	json_decref(rep);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state = 'inflight'"), 0);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE op = 'create'"
	                              " AND state = 'done'"),
	                 created);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE op = 'create'"
	                              " AND state = 'pending' AND attempts = 0"
	                              " AND json_extract(payload, '$.outcome_unknown') IS NULL"),
	                 f.tasks - created);
	/* Every create sent was answered and recorded: as many as tickets. */
	json_t *posts = ju_requests_for(&f.emu, "POST", "/rest/api/3/issue");
	assert_int_equal((int)json_array_size(posts), created);
	json_decref(posts);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM tickets"), created);
	json_t *rest = live_pass(&lv, &(struct sync_pass_opts){.push_only = true});
	assert_int_equal(num(rest, "outbox", "created"), f.tasks - created);
	json_decref(rest);
	live_close(&lv);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	assert_one_ticket_per_task(&f);
	fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push_poll_idle),
	    cmocka_unit_test(test_pass_tries_each_row_once),
	    cmocka_unit_test(test_recovery_between_passes),
	    cmocka_unit_test(test_faults_converge),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_quiet_poll_after_push),
	    cmocka_unit_test(test_lookups_do_not_hold_slots),
	    cmocka_unit_test(test_cancel_gives_back_claimed_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
