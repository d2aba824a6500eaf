/* SPDX-License-Identifier: Apache-2.0 */
/* group_by = "component" | "threat" against the Jira emulator, through the
 * CLI: one ticket per group exactly once, a human closing a group's ticket
 * marks every task of it done with history rows, and a task joining a group
 * updates its ticket. TS_NO_VALGRIND (child processes, timing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "engine/generate/generate.h"
#include "engine/tracking/marker.h"
#include "engine/util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

struct gfix {
	struct ju_emu emu;
	char *dir, *conf, *db, *model;
};

/* web0 authenticates users only when auth0; web1 always does. */
static void write_model(const char *path, bool auth0)
{
	json_t *m = json_pack(
	    "{s:s, s:{s:s}, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}],"
	    " s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:{s:b}},"
	    " {s:s, s:s, s:s, s:s, s:{s:b}}],"
	    " s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}",
	    "format", "threatsync-model/1", "project", "name", "Groups", "trust_zones", "id",
	    "internet", "name", "Internet", "trust_level", 0, "id", "dmz", "name", "DMZ",
	    "trust_level", 50, "components", "id", "customer", "type", "user", "name", "Customer",
	    "trust_zone", "internet", "id", "web0", "type", "web_app", "name", "Web Zero",
	    "trust_zone", "dmz", "properties", "authenticates_users", auth0, "id", "web1", "type",
	    "web_app", "name", "Web One", "trust_zone", "dmz", "properties", "authenticates_users",
	    1, "flows", "id", "f0", "source", "customer", "destination", "web0", "protocol",
	    "HTTPS", "id", "f1", "source", "customer", "destination", "web1", "protocol", "HTTPS");
	assert_int_equal(json_dump_file(m, path, JSON_COMPACT), 0);
	json_decref(m);
}

/* The model without web0 (its component and flow). */
static void write_model_without_web0(const char *path)
{
	write_model(path, true);
	json_error_t jerr;
	json_t *m = json_load_file(path, 0, &jerr);
	assert_non_null(m);
	assert_int_equal(json_array_remove(json_object_get(m, "components"), 1), 0);
	assert_int_equal(json_array_remove(json_object_get(m, "flows"), 0), 0);
	assert_int_equal(json_dump_file(m, path, JSON_COMPACT), 0);
	json_decref(m);
}

static void run_ok(struct gfix *f, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "-c", f->conf, a1, a2, a3, a4, NULL);
	if (rc != 0)
		fprintf(stderr, "%s %s: exit %d\n%s%s", a1, a2 ? a2 : "", rc, out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
}

static void fix_open(struct gfix *f, const char *group_by)
{
	memset(f, 0, sizeof(*f));
	ju_emu_start(&f->emu, "cloud", NULL);
	f->dir = tu_tmpdir();
	f->db = ts_asprintf("%s/t.db", f->dir);
	free(tu_write_file(f->dir, "token", "emu-token\n"));
	char *text = ts_asprintf(
	    "database = \"%s\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"token\";"
	    " concurrency = 4; max_attempts = 3; } );\n"
	    "projects = ( { slug = \"grp\"; connector = \"jira\"; tracker_project = \"WRU\";"
	    " group_by = \"%s\"; } );\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    f->db, tu_env("TS_SOURCE_DIR"), f->emu.base, group_by);
	f->conf = tu_write_file(f->dir, "t.conf", text);
	free(text);
	f->model = ts_asprintf("%s/model.json", f->dir);
	write_model(f->model, false);
	run_ok(f, "project", "add", "grp", NULL);
	run_ok(f, "model", "import", "grp", f->model);
	run_ok(f, "generate", "grp", NULL, NULL);
}

static void fix_close(struct gfix *f)
{
	ju_emu_stop(&f->emu);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->conf);
	free(f->db);
	free(f->model);
}

static int teardown(void **state)
{
	(void)state;
	ju_emu_stop_all();
	return 0;
}

static long long qi(const struct gfix *f, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The emulator issue carrying marker (new reference), failing unless exactly one. */
static json_t *issue_with(struct gfix *f, const char *marker)
{
	json_t *all = ju_emu_call(&f->emu, "GET", "/_emu/issues?project=WRU", NULL, NULL);
	json_t *found = NULL;
	int n = 0;
	size_t i, k;
	json_t *is, *l;
	json_array_foreach (all, i, is) {
		json_array_foreach (json_object_get(is, "labels"), k, l) {
			if (strcmp(json_string_value(l), marker) == 0) {
				n++;
				found = is;
			}
		}
	}
	assert_int_equal(n, 1);
	json_incref(found);
	json_decref(all);
	return found;
}

static int creates_sent(struct gfix *f)
{
	json_t *reqs = ju_requests_for(&f->emu, "POST", "/rest/api/3/issue");
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach (reqs, i, r) {
		n +=
		    strcmp(json_string_value(json_object_get(r, "path")), "/rest/api/3/issue") == 0;
	}
	json_decref(reqs);
	return n;
}

static void test_component(void **state)
{
	(void)state;
	struct gfix f;
	fix_open(&f, "component");
	long long tasks = qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                         " AND state = 'active' AND status = 'todo'");
	long long web0 = qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                        " AND component_key = 'web0' AND status = 'todo'");
	assert_true(web0 >= 2);
	assert_true(tasks > web0);
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_int_equal(creates_sent(&f), 2);
	assert_int_equal(qi(&f, "SELECT count(*) FROM tickets"), 2);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                        " AND state = 'active' AND ticket_id IS NULL"),
	                 0);
	assert_int_equal(qi(&f, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	char m0[32], m1[32];
	marker_make("grp", "component:web0", m0);
	marker_make("grp", "component:web1", m1);
	json_t *i0 = issue_with(&f, m0);
	char *want = ts_asprintf("Security work for Web Zero (%lld tasks)", web0);
	assert_string_equal(json_string_value(json_object_get(i0, "summary")), want);
	free(want);
	json_decref(i0);
	json_t *i1 = issue_with(&f, m1);
	char *key1 = ts_strdup(json_string_value(json_object_get(i1, "key")));
	json_decref(i1);

	/* Again: nothing new. */
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_int_equal(creates_sent(&f), 2);

	/* A person closes web1's ticket: every task of web1 is done. */
	char *path = ts_asprintf("/_emu/issues/%s/transition", key1);
	json_decref(
	    ju_emu_call(&f.emu, "POST", path, "{\"to\":\"Done\",\"actor\":\"carol\"}", NULL));
	free(path);
	long long web1 = qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                        " AND component_key = 'web1'");
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE component_key = 'web1'"
	                        " AND in_scope = 1 AND status = 'done'"),
	                 web1);
	assert_int_equal(qi(&f, "SELECT count(*) FROM status_history h JOIN countermeasures c"
	                        " ON c.id = h.countermeasure_id WHERE c.component_key = 'web1'"
	                        " AND h.source = 'poll' AND h.from_status = 'todo'"
	                        " AND h.to_status = 'done' AND h.remote_time IS NOT NULL"),
	                 web1);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE component_key = 'web0'"
	                        " AND status = 'done'"),
	                 0);

	/* web0 starts authenticating users: its new task joins the group's ticket. */
	write_model(f.model, true);
	run_ok(&f, "model", "import", "grp", f.model);
	run_ok(&f, "generate", "grp", NULL, NULL);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE component_key = 'web0'"
	                        " AND in_scope = 1 AND state = 'active'"),
	                 web0 + 1);
	json_t *before = issue_with(&f, m0);
	char *key0 = ts_strdup(json_string_value(json_object_get(before, "key")));
	json_decref(before);
	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/requests", NULL, NULL));
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_int_equal(creates_sent(&f), 0);
	path = ts_asprintf("/rest/api/3/issue/%s", key0);
	json_t *puts = ju_requests_for(&f.emu, "PUT", path);
	assert_true(json_array_size(puts) >= 1);
	json_decref(puts);
	free(path);
	json_t *after = issue_with(&f, m0);
	want = ts_asprintf("Security work for Web Zero (%lld tasks)", web0 + 1);
	assert_string_equal(json_string_value(json_object_get(after, "summary")), want);
	free(want);
	json_decref(after);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures c JOIN tickets t"
	                        " ON t.id = c.ticket_id WHERE c.uid = 'C-AUTHN@web0'"
	                        " AND t.remote_key = (SELECT remote_key FROM tickets t2 JOIN"
	                        " countermeasures c2 ON c2.ticket_id = t2.id"
	                        " WHERE c2.uid = 'C-INPUT-VALIDATION@web0')"),
	                 1);
	assert_int_equal(qi(&f, "SELECT count(*) FROM tickets"), 2);
	assert_int_equal(qi(&f, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	free(key0);
	free(key1);
	fix_close(&f);
}

static const char *issue_status(struct gfix *f, const char *marker, char buf[64])
{
	json_t *is = issue_with(f, marker);
	snprintf(buf, 64, "%s", json_string_value(json_object_get(is, "status")));
	json_decref(is);
	return buf;
}

/* Removals: a group's ticket stays open while one of its tasks is, listing
 * one task fewer when a task goes away; it is closed (once) with its last
 * open task, and the other group's ticket is left alone. */
static void test_removals(void **state)
{
	(void)state;
	struct gfix f;
	fix_open(&f, "component");
	write_model(f.model, true); /* web0 authenticates users: one task more */
	run_ok(&f, "model", "import", "grp", f.model);
	run_ok(&f, "generate", "grp", NULL, NULL);
	run_ok(&f, "sync", "--once", NULL, NULL);
	long long web0 = qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                        " AND component_key = 'web0' AND state = 'active'");
	assert_true(web0 >= 3);
	char m0[32], m1[32], st[64];
	marker_make("grp", "component:web0", m0);
	marker_make("grp", "component:web1", m1);

	/* One task of web0 goes away: its ticket is updated, not closed. */
	write_model(f.model, false);
	run_ok(&f, "model", "import", "grp", f.model);
	run_ok(&f, "generate", "grp", NULL, NULL);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE uid = 'C-AUTHN@web0'"
	                        " AND state = 'removed'"),
	                 1);
	run_ok(&f, "sync", "--once", NULL, NULL);
	json_t *i0 = issue_with(&f, m0);
	char *want = ts_asprintf("Security work for Web Zero (%lld tasks)", web0 - 1);
	assert_string_equal(json_string_value(json_object_get(i0, "summary")), want);
	assert_string_equal(json_string_value(json_object_get(i0, "status")), "To Do");
	free(want);
	char *key0 = ts_strdup(json_string_value(json_object_get(i0, "key")));
	json_decref(i0);

	/* web0 leaves the model: every one of its tasks is removed, and the
	 * group's ticket is transitioned to Done exactly once. */
	write_model_without_web0(f.model);
	run_ok(&f, "model", "import", "grp", f.model);
	run_ok(&f, "generate", "grp", NULL, NULL);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE component_key = 'web0'"
	                        " AND state = 'active'"),
	                 0);
	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/requests", NULL, NULL));
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_string_equal(issue_status(&f, m0, st), "Done");
	assert_string_equal(issue_status(&f, m1, st), "To Do");
	char *path = ts_asprintf("/rest/api/3/issue/%s/transitions", key0);
	json_t *reqs = ju_requests_for(&f.emu, "POST", path);
	assert_int_equal(json_array_size(reqs), 1);
	json_decref(reqs);
	free(path);
	assert_int_equal(creates_sent(&f), 0);
	assert_int_equal(qi(&f, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	free(key0);
	fix_close(&f);
}

static void test_threat(void **state)
{
	(void)state;
	struct gfix f;
	fix_open(&f, "threat");
	/* One ticket per threat instance that is the main threat of a task. */
	long long groups = qi(
	    &f, "SELECT count(DISTINCT (SELECT t.uid FROM threat_countermeasures tc JOIN threats t"
	        " ON t.id = tc.threat_id WHERE tc.countermeasure_id = c.id AND t.state = 'active'"
	        " ORDER BY t.score DESC, t.uid LIMIT 1)) FROM countermeasures c"
	        " WHERE c.in_scope = 1 AND c.state = 'active' AND c.status = 'todo'");
	long long tasks = qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                         " AND state = 'active' AND status = 'todo'");
	assert_true(groups >= 2);
	assert_true(tasks > groups);
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_int_equal(creates_sent(&f), groups);
	assert_int_equal(qi(&f, "SELECT count(*) FROM tickets"), groups);
	assert_int_equal(qi(&f, "SELECT count(*) FROM countermeasures WHERE in_scope = 1"
	                        " AND state = 'active' AND ticket_id IS NULL"),
	                 0);
	/* Both tasks of the injection threat on web1 share one ticket. */
	assert_int_equal(qi(&f, "SELECT count(DISTINCT ticket_id) FROM countermeasures WHERE uid IN"
	                        " ('C-INPUT-VALIDATION@web1', 'C-AUDIT-LOG@web1')"),
	                 1);
	run_ok(&f, "sync", "--once", NULL, NULL);
	assert_int_equal(creates_sent(&f), groups);
	fix_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_component, teardown),
	    cmocka_unit_test_teardown(test_threat, teardown),
	    cmocka_unit_test_teardown(test_removals, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
