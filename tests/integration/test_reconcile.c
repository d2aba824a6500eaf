/* SPDX-License-Identifier: Apache-2.0 */
/* Reconciliation (engine/tracking/reconcile.c, connectors/reconcile.c) and the field
 * mapping on the wire, against the Jira Cloud emulator: priority_map and
 * custom fields on create, a transition that requires a resolution filled
 * from transition_fields, a deliberately diverged emulator (changes the poll
 * cannot see) repaired by a reconciling pass with the most recent change
 * winning in both directions, and a vanished ticket re-created. Emulator
 * timing: TS_NO_VALGRIND. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/jira.h"
#include "connectors/sync.h"
#include "helpers/gen_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

struct fixture {
	struct ju_emu emu;
	struct gu g;
	char *dir;
	int tasks;
};

static void write_model(const char *path)
{
	json_t *m = json_pack(
	    "{s:s, s:{s:s, s:s, s:[s]}, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}],"
	    " s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:{s:b, s:b, s:b}}],"
	    " s:[{s:s, s:s, s:s, s:s}]}",
	    "format", "threatsync-model/1", "project", "name", "Rec", "description", "test",
	    "compliance", "gdpr", "trust_zones", "id", "internet", "name", "Internet",
	    "trust_level", 0, "id", "dmz", "name", "DMZ", "trust_level", 50, "components", "id",
	    "customer", "type", "user", "name", "Customer", "trust_zone", "internet", "id", "web",
	    "type", "web_app", "name", "Web", "trust_zone", "dmz", "properties", "internet_facing",
	    1, "authenticates_users", 1, "handles_pii", 1, "flows", "id", "f1", "source",
	    "customer", "destination", "web", "protocol", "HTTPS");
	assert_int_equal(json_dump_file(m, path, JSON_COMPACT), 0);
	json_decref(m);
}

static void fixture_open(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	const char *const args[] = {"--transition-requires", "31:resolution", NULL};
	ju_emu_start(&f->emu, "cloud", args);
	f->dir = tu_tmpdir();
	free(tu_write_file(f->dir, "jira_token", "emu-token\n"));
	char *conf_text = ts_asprintf(
	    "database = \"unused.db\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"jira_token\";"
	    " concurrency = 2; rate_per_second = 1000.0; burst = 1000; max_attempts = 3;"
	    " connect_timeout_ms = 1000; request_timeout_ms = 3000; poll_interval_s = 5;\n"
	    " priority_map = [ \"Highest\", \"Highest\", \"Lowest\", \"Lowest\" ];\n"
	    " custom_fields = ( { field = \"customfield_10100\"; value = \"CWE-{{cwe}}\"; },\n"
	    "   { field = \"customfield_10011\"; value = \"{{severity}} on {{component}}\"; } );\n"
	    " transition_fields = ( { to = \"Done\"; field = \"resolution\"; value = \"Done\"; } "
	    ");\n"
	    " } );\n"
	    "projects = ( { slug = \"rec\"; connector = \"jira\"; tracker_project = \"WRU\"; } );\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    tu_env("TS_SOURCE_DIR"), f->emu.base);
	char *conf = tu_write_file(f->dir, "t.conf", conf_text);
	char *model = ts_asprintf("%s/model.json", f->dir);
	write_model(model);
	gu_open(&f->g, conf);
	gu_import(&f->g, "rec", model);
	json_decref(gu_generate(&f->g, "rec", NULL));
	f->tasks = (int)gu_int(&f->g, "SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_true(f->tasks >= 4);
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
}

static void exec(struct fixture *f, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(store_db(f->g.s), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static char *text(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->g.s), sql, -1, &st, NULL), SQLITE_OK);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void opened_cb(void *ud, const struct config_connector *cc, void *conn)
{
	(void)ud;
	(void)cc;
	jira_set_lookup_retry(conn, 2, 50);
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

/* One pass; the "jira" connector's report (new reference). */
static json_t *run_pass(struct fixture *f, bool reconcile, bool recreate)
{
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct pass p = {0};
	struct sync_opts so = {
	    .backoff_base_ms = 20, .backoff_max_ms = 100, .seed = 3, .opened_cb = opened_cb};
	struct sync_pass_opts po = {.reconcile = reconcile, .recreate = recreate};
	assert_int_equal(http_client_new(&loop, &p.http), 0);
	assert_int_equal(sync_new(&loop, p.http, f->g.s, f->g.cfg, &so, &p.sync), 0);
	struct ts_err err = {0};
	assert_int_equal(sync_run_pass(p.sync, &po, pass_done_cb, &p, &err), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(p.done);
	assert_int_equal(uv_loop_close(&loop), 0);
	if (!json_is_null(json_object_get(p.report, "store_error")))
		fail_msg("store error: %s",
		         json_string_value(json_object_get(p.report, "store_error")));
	json_t *c = json_incref(json_array_get(json_object_get(p.report, "connectors"), 0));
	json_decref(p.report);
	return c;
}

static int num(const json_t *rep, const char *group, const char *key)
{
	return (int)json_integer_value(json_object_get(json_object_get(rep, group), key));
}

/* The key of the n-th ticket (by id) and the id of its task. */
static char *ticket(struct fixture *f, int n, long long *ret_cm)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT t.remote_key FROM tickets t ORDER BY t.id LIMIT 1 OFFSET %d", n);
	char *key = text(f, sql);
	assert_non_null(key);
	snprintf(sql, sizeof(sql),
	         "SELECT c.id FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id"
	         " WHERE t.remote_key = '%s'",
	         key);
	*ret_cm = gu_int(&f->g, sql);
	return key;
}

static json_t *emu_issue(struct fixture *f, const char *key)
{
	char *path = ts_asprintf("/_emu/issues/%s", key);
	long st = 0;
	json_t *j = ju_emu_call(&f->emu, "GET", path, NULL, &st);
	assert_int_equal(st, 200);
	free(path);
	return j;
}

static void human(struct fixture *f, const char *key, const char *to)
{
	char *path = ts_asprintf("/_emu/issues/%s/transition", key);
	char *body = ts_asprintf("{\"to\":\"%s\",\"actor\":\"alice\"%s}", to,
	                         strcmp(to, "Done") == 0 ? ",\"resolution\":\"Done\"" : "");
	long st = 0;
	json_decref(ju_emu_call(&f->emu, "POST", path, body, &st));
	assert_int_equal(st, 200);
	free(path);
	free(body);
}

/* A local status change made by a person through the CLI, now. */
static void local_change(struct fixture *f, long long cm, const char *from, const char *to)
{
	char now[32];
	ts_now_iso(now);
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "UPDATE countermeasures SET status = '%s' WHERE id = %lld;"
	         "INSERT INTO status_history(countermeasure_id, from_status, to_status, source,"
	         " recorded_at) VALUES (%lld, '%s', '%s', 'cli', '%s')",
	         to, cm, cm, from, to, now);
	exec(f, sql);
}

static long long count_history(struct fixture *f, long long cm, const char *from, const char *to)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld AND source ="
	         " 'reconcile' AND from_status = '%s' AND to_status = '%s'",
	         cm, from, to);
	return gu_int(&f->g, sql);
}

static const char *status_of(struct fixture *f, long long cm, char buf[32])
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT status FROM countermeasures WHERE id = %lld", cm);
	char *s = text(f, sql);
	snprintf(buf, 32, "%s", s ? s : "");
	free(s);
	return buf;
}

static void test_fields_on_create(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	json_t *rep = run_pass(&f, false, false);
	assert_int_equal(num(rep, "outbox", "created"), f.tasks);
	json_decref(rep);
	json_t *posts = ju_requests_for(&f.emu, "POST", "/rest/api/3/issue");
	assert_int_equal((int)json_array_size(posts), f.tasks);
	size_t i;
	json_t *p;
	json_array_foreach (posts, i, p) {
		json_t *body = json_loads(json_string_value(json_object_get(p, "body")), 0, NULL);
		json_t *fields = json_object_get(body, "fields");
		const char *prio =
		    json_string_value(json_object_get(json_object_get(fields, "priority"), "name"));
		assert_true(strcmp(prio, "Highest") == 0 || strcmp(prio, "Lowest") == 0);
		const char *cwe = json_string_value(json_object_get(fields, "customfield_10100"));
		assert_non_null(cwe);
		assert_memory_equal(cwe, "CWE-", 4);
		const char *sev = json_string_value(json_object_get(fields, "customfield_10011"));
		assert_non_null(sev);
		assert_non_null(strstr(sev, " on Web"));
		json_decref(body);
	}
	json_decref(posts);
	/* The emulator stored them (it validates custom field types). */
	long long cm;
	char *key = ticket(&f, 0, &cm);
	json_t *iss = emu_issue(&f, key);
	assert_non_null(json_object_get(json_object_get(iss, "custom"), "customfield_10100"));
	json_decref(iss);
	free(key);
	fixture_close(&f);
}

static void test_reconcile_diverged(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	json_decref(run_pass(&f, false, false));
	/* The poll cannot see anything from now on. */
	exec(&f, "UPDATE sync_cursors SET cursor = '2099-01-01T00:00:00.000+0000'");
	long long a, b, c, d;
	char *ka = ticket(&f, 0, &a), *kb = ticket(&f, 1, &b), *kc = ticket(&f, 2, &c);
	char *kd = ticket(&f, 3, &d);
	usleep(20000);
	/* A: a person closes it on the tracker (a missed webhook). */
	human(&f, ka, "Done");
	/* B: a person marks the task done locally, later than the ticket's last
	 * change: threatsync must close the ticket (the transition requires a
	 * resolution: transition_fields gives it). */
	usleep(20000);
	local_change(&f, b, "todo", "done");
	/* C: a local change first, then a newer one on the tracker. */
	local_change(&f, c, "todo", "in_progress");
	usleep(20000);
	human(&f, kc, "Done");

	json_t *rep = run_pass(&f, false, false);
	assert_int_equal(num(rep, "poll", "status_changes"), 0);
	json_decref(rep);
	char buf[32];
	assert_string_equal(status_of(&f, a, buf), "todo");

	rep = run_pass(&f, true, false);
	assert_int_equal(num(rep, "reconcile", "tickets"), f.tasks);
	assert_int_equal(num(rep, "reconcile", "remote_won"), 2);
	assert_int_equal(num(rep, "reconcile", "local_won"), 1);
	assert_int_equal(num(rep, "reconcile", "queued"), 1);
	assert_int_equal(num(rep, "outbox", "closed"), 1);
	assert_int_equal(num(rep, "outbox", "dead"), 0);
	json_decref(rep);

	assert_string_equal(status_of(&f, a, buf), "done");
	assert_int_equal(count_history(&f, a, "todo", "done"), 1);
	assert_string_equal(status_of(&f, c, buf), "done");
	assert_int_equal(count_history(&f, c, "in_progress", "done"), 1);
	assert_string_equal(status_of(&f, b, buf), "done");
	assert_int_equal(count_history(&f, b, "todo", "done"), 1);
	assert_string_equal(status_of(&f, d, buf), "todo");
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld AND source = "
	         "'reconcile'",
	         d);
	assert_int_equal(gu_int(&f.g, sql), 0);
	/* B's ticket was closed by threatsync, with the configured resolution. */
	json_t *iss = emu_issue(&f, kb);
	assert_string_equal(json_string_value(json_object_get(iss, "statusCategory")), "done");
	assert_string_equal(json_string_value(json_object_get(iss, "resolution")), "Done");
	json_decref(iss);
	json_t *tr = ju_requests_for(&f.emu, "POST", "/rest/api/3/issue/");
	bool with_fields = false;
	size_t i;
	json_t *r;
	json_array_foreach (tr, i, r) {
		const char *body = json_string_value(json_object_get(r, "body"));
		if (strstr(json_string_value(json_object_get(r, "path")), "/transitions") && body &&
		    strstr(body, "\"resolution\""))
			with_fields = true;
	}
	assert_true(with_fields);
	json_decref(tr);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE countermeasure_id = %lld AND op = 'close' AND"
	         " state = 'done' AND json_extract(payload, '$.source') = 'reconcile'",
	         b);
	assert_int_equal(gu_int(&f.g, sql), 1);

	/* Nothing diverges any more: a second reconciliation changes nothing. */
	rep = run_pass(&f, true, false);
	assert_int_equal(num(rep, "reconcile", "remote_won"), 0);
	assert_int_equal(num(rep, "reconcile", "local_won"), 0);
	json_decref(rep);
	free(ka);
	free(kb);
	free(kc);
	free(kd);
	fixture_close(&f);
}

static void test_reconcile_vanished(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	json_decref(run_pass(&f, false, false));
	long long cm;
	char *key = ticket(&f, 0, &cm);
	/* The ticket is gone: its marker label removed, our link points nowhere. */
	char *mark = text(&f, "SELECT marker FROM tickets ORDER BY id LIMIT 1");
	char *path = ts_asprintf("/_emu/issues/%s/edit", key);
	long st = 0;
	json_decref(
	    ju_emu_call(&f.emu, "POST", path, "{\"fields\":{\"labels\":[\"other\"]}}", &st));
	assert_int_equal(st, 200);
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "UPDATE tickets SET remote_key = 'WRU-999' WHERE remote_key = '%s'", key);
	exec(&f, sql);

	json_t *rep = run_pass(&f, true, false);
	assert_int_equal(num(rep, "reconcile", "vanished"), 1);
	assert_int_equal(num(rep, "reconcile", "recreated"), 0);
	assert_int_equal(num(rep, "outbox", "created"), 0);
	assert_non_null(strstr(json_string_value(json_object_get(rep, "last_error")), "WRU-999"));
	json_decref(rep);

	rep = run_pass(&f, true, true);
	assert_int_equal(num(rep, "reconcile", "vanished"), 1);
	assert_int_equal(num(rep, "reconcile", "recreated"), 1);
	assert_int_equal(num(rep, "outbox", "created"), 1);
	json_decref(rep);
	/* A new ticket carries the marker and the task links to it. */
	char *now_key = text(&f, "SELECT remote_key FROM tickets ORDER BY id LIMIT 1");
	assert_non_null(now_key);
	assert_string_not_equal(now_key, "WRU-999");
	assert_string_not_equal(now_key, key);
	json_t *iss = emu_issue(&f, now_key);
	bool has = false;
	size_t i;
	json_t *l;
	json_array_foreach (json_object_get(iss, "labels"), i, l)
		has |= strcmp(json_string_value(l), mark) == 0;
	assert_true(has);
	json_decref(iss);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id"
	         " WHERE c.id = %lld AND t.remote_key = '%s'",
	         cm, now_key);
	assert_int_equal(gu_int(&f.g, sql), 1);
	free(now_key);
	free(path);
	free(mark);
	free(key);
	fixture_close(&f);
}

static int teardown(void **state)
{
	(void)state;
	ju_emu_stop_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_fields_on_create, teardown),
	    cmocka_unit_test_teardown(test_reconcile_diverged, teardown),
	    cmocka_unit_test_teardown(test_reconcile_vanished, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
