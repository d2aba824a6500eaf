/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync link` against the Jira and GitLab emulators: a human-created
 * issue is adopted, the next sync puts the marker on it without creating a
 * duplicate, and every error leaves the database unchanged. Drives the CLI
 * and its exit codes. TS_NO_VALGRIND (child processes, timing). */
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
#include "helpers/gitlab_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

struct lfix {
	char *dir;
	char *conf;     /* the configuration (connector "trk") */
	char *conf_off; /* the same with the tracker on a closed port */
	char *db;
};

static void write_model(const char *path)
{
	json_t *m = json_pack(
	    "{s:s, s:{s:s}, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}],"
	    " s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:{s:b}}],"
	    " s:[{s:s, s:s, s:s, s:s}]}",
	    "format", "threatsync-model/1", "project", "name", "Link", "trust_zones", "id",
	    "internet", "name", "Internet", "trust_level", 0, "id", "dmz", "name", "DMZ",
	    "trust_level", 50, "components", "id", "customer", "type", "user", "name", "Customer",
	    "trust_zone", "internet", "id", "web", "type", "web_app", "name", "Web", "trust_zone",
	    "dmz", "properties", "authenticates_users", 1, "flows", "id", "f", "source", "customer",
	    "destination", "web", "protocol", "HTTPS");
	assert_int_equal(json_dump_file(m, path, JSON_COMPACT), 0);
	json_decref(m);
}

static char *config_text(const struct lfix *f, const char *connector_text)
{
	return ts_asprintf("database = \"%s\";\n"
	                   "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	                   "connectors = ( { name = \"trk\"; %s token_file = \"token\";"
	                   " max_attempts = 3; connect_timeout_ms = 500; request_timeout_ms = 1500;"
	                   " } );\n"
	                   "projects = ( %s, { slug = \"other\"; } );\n"
	                   "classification = ( { name = \"all\"; when = \"true\";"
	                   " class = \"critical\"; } );\n",
	                   f->db, tu_env("TS_SOURCE_DIR"), connector_text,
	                   strstr(connector_text, "gitlab")
	                       ? "{ slug = \"lnk\"; connector = \"trk\"; tracker_project = "
	                         "\"security/widgets\"; }"
	                       : "{ slug = \"lnk\"; connector = \"trk\"; tracker_project = "
	                         "\"WRU\"; }");
}

static int cli(struct lfix *f, const char *conf, char **ret_out, char **ret_err, const char *a1,
               const char *a2, const char *a3, const char *a4, const char *a5)
{
	return tu_cli(ret_out, ret_err, "-c", conf, a1, a2, a3, a4, a5, NULL);
}

static void must(struct lfix *f, const char *a1, const char *a2, const char *a3)
{
	char *out = NULL, *err = NULL;
	int rc = cli(f, f->conf, &out, &err, a1, a2, a3, NULL, NULL);
	if (rc != 0)
		fprintf(stderr, "%s %s %s: %d\n%s%s", a1, a2 ? a2 : "", a3 ? a3 : "", rc, out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
}

static void fix_open(struct lfix *f, const char *connector_on, const char *connector_off)
{
	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	f->db = ts_asprintf("%s/t.db", f->dir);
	free(tu_write_file(f->dir, "token", "emu-token\n"));
	char *on = config_text(f, connector_on), *off = config_text(f, connector_off);
	f->conf = tu_write_file(f->dir, "on.conf", on);
	f->conf_off = tu_write_file(f->dir, "off.conf", off);
	free(on);
	free(off);
	char *model = ts_asprintf("%s/model.json", f->dir);
	write_model(model);
	must(f, "project", "add", "lnk");
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "-c", f->conf, "model", "import", "lnk", model, NULL);
	if (rc)
		fprintf(stderr, "%s%s", out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	must(f, "generate", "lnk", NULL);
	free(model);
}

static void fix_close(struct lfix *f)
{
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->conf);
	free(f->conf_off);
	free(f->db);
}

/* The text of the first column of the first row, or "" (new string). */
static char *q(const struct lfix *f, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	char *v = ts_strdup("");
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		free(v);
		v = ts_strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static long long qi(const struct lfix *f, const char *sql)
{
	char *v = q(f, sql);
	long long n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

/* A digest of everything link may write. */
static char *snapshot(const struct lfix *f)
{
	return q(f, "SELECT (SELECT group_concat(x, '|') FROM (SELECT id || marker ||"
	            " coalesce(remote_key, '') || coalesce(remote_status, '') AS x FROM tickets"
	            " ORDER BY id)) || '#' || (SELECT group_concat(x, '|') FROM (SELECT id || op ||"
	            " state || coalesce(last_error, '') AS x FROM outbox ORDER BY id)) || '#' ||"
	            " (SELECT group_concat(x, '|') FROM (SELECT id || coalesce(ticket_id, '-') ||"
	            " status AS x FROM countermeasures ORDER BY id)) || '#' ||"
	            " (SELECT count(*) FROM status_history)");
}

static void expect_code(struct lfix *f, const char *conf, int want, const char *needle,
                        const char *a2, const char *a3, const char *a4)
{
	char *before = snapshot(f);
	char *out = NULL, *err = NULL;
	int rc = cli(f, conf, &out, &err, "link", a2, a3, a4, NULL);
	if (rc != want || !strstr(err, needle))
		fprintf(stderr, "link %s %s %s: exit %d\n%s%s", a2, a3, a4, rc, out, err);
	assert_int_equal(rc, want);
	assert_non_null(strstr(err, needle));
	char *after = snapshot(f);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(out);
	free(err);
}

/* Emulators still running after a failed assertion are stopped here. */
static struct gu_emu *running_gitlab;

static int teardown(void **state)
{
	(void)state;
	ju_emu_stop_all();
	if (running_gitlab)
		gu_emu_stop(running_gitlab);
	running_gitlab = NULL;
	return 0;
}

static const char TASK[] = "C-INPUT-VALIDATION@web";
static const char TASK2[] = "C-AUTHN@web";

static void test_link_jira(void **state)
{
	(void)state;
	struct ju_emu emu;
	ju_emu_start(&emu, "cloud", NULL);
	struct lfix f;
	char *on = ts_asprintf("type = \"jira\"; flavor = \"cloud\"; base_url = \"%s\";"
	                       " email = \"threatsync@example.com\";",
	                       emu.base);
	fix_open(&f, on,
	         "type = \"jira\"; flavor = \"cloud\"; base_url = \"http://127.0.0.1:9\";"
	         " email = \"threatsync@example.com\";");
	free(on);
	/* A person filed the work already, as WRU-1. */
	json_decref(ju_emu_call(&emu, "POST", "/_emu/seed",
	                        "{\"count\":1,\"project\":\"WRU\",\"labels\":[\"security\"]}",
	                        NULL));
	json_decref(ju_emu_call(&emu, "POST", "/_emu/issues/WRU-1/transition",
	                        "{\"to\":\"In Progress\",\"actor\":\"alice\"}", NULL));
	int tasks = (int)qi(&f, "SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_true(tasks >= 2);

	/* Errors change nothing. */
	expect_code(&f, f.conf, 65, "countermeasures lnk --all", "lnk", "C-NOPE@web", "WRU-1");
	expect_code(&f, f.conf, 65, "not found", "lnk", TASK, "WRU-999");
	expect_code(&f, f.conf, 78, "not mapped to a connector", "other", TASK, "WRU-1");
	expect_code(&f, f.conf, 78, "not mapped to a connector", "nope", TASK, "WRU-1");
	expect_code(&f, f.conf_off, 69, "unreachable", "lnk", TASK, "WRU-1");
	json_t *reqs = ju_requests_for(&emu, "POST", "/rest/api/3/issue");
	assert_int_equal(json_array_size(reqs), 0);
	json_decref(reqs);

	char *out = NULL, *err = NULL;
	int rc = cli(&f, f.conf, &out, &err, "link", "lnk", TASK, "WRU-1", "--json");
	if (rc)
		fprintf(stderr, "%s%s", out, err);
	assert_int_equal(rc, 0);
	json_t *doc = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(doc, "key")), "WRU-1");
	assert_int_equal(json_integer_value(json_object_get(doc, "creates_cancelled")), 1);
	json_decref(doc);
	free(out);
	free(err);
	char marker[MARKER_SIZE];
	marker_make("lnk", TASK, marker);
	char *sql = ts_asprintf("SELECT t.remote_key || ' ' || t.marker || ' ' || c.status"
	                        " FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id"
	                        " WHERE c.uid = '%s'",
	                        TASK);
	char *row = q(&f, sql);
	char *want = ts_asprintf("WRU-1 %s in_progress", marker);
	assert_string_equal(row, want);
	free(row);
	free(want);
	free(sql);
	sql =
	    ts_asprintf("SELECT group_concat(op || ':' || state || ':' || coalesce(last_error, ''),"
	                " ',') FROM (SELECT * FROM outbox WHERE countermeasure_id ="
	                " (SELECT id FROM countermeasures WHERE uid = '%s') ORDER BY id)",
	                TASK);
	row = q(&f, sql);
	assert_string_equal(row, "create:done:cancelled: ticket WRU-1 adopted with threatsync "
	                         "link,update:pending:");
	free(row);
	free(sql);
	assert_int_equal(qi(&f, "SELECT count(*) FROM status_history WHERE source = 'cli'"
	                        " AND to_status = 'in_progress' AND from_status = 'todo'"),
	                 1);

	/* The same ticket for another task is refused. */
	expect_code(&f, f.conf, 65, "already linked to task", "lnk", TASK2, "WRU-1");

	/* The next sync: the marker goes onto WRU-1, no duplicate is created. */
	rc = cli(&f, f.conf, &out, &err, "sync", "--once", NULL, NULL, NULL);
	if (rc)
		fprintf(stderr, "%s%s", out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	json_t *issue = ju_emu_call(&emu, "GET", "/_emu/issues/WRU-1", NULL, NULL);
	json_t *labels = json_object_get(issue, "labels");
	bool has_marker = false, has_human = false;
	size_t i;
	json_t *l;
	json_array_foreach (labels, i, l) {
		has_marker |= strcmp(json_string_value(l), marker) == 0;
		has_human |= strcmp(json_string_value(l), "security") == 0;
	}
	assert_true(has_marker);
	assert_true(has_human);
	json_decref(issue);
	char *path = ts_asprintf("/_emu/issues?label=%s", marker);
	json_t *with = ju_emu_call(&emu, "GET", path, NULL, NULL);
	assert_int_equal(json_array_size(with), 1);
	json_decref(with);
	free(path);
	reqs = ju_requests_for(&emu, "POST", "/rest/api/3/issue");
	/* One create per task but the adopted one (the path prefix also matches
	 * sub-resources: count only the bare create). */
	int creates = 0;
	json_array_foreach (reqs, i, l) {
		if (strcmp(json_string_value(json_object_get(l, "path")), "/rest/api/3/issue") == 0)
			creates++;
	}
	json_decref(reqs);
	assert_int_equal(creates, tasks - 1);
	assert_int_equal(qi(&f, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	fix_close(&f);
	ju_emu_stop(&emu);
}

/* link maps the ticket's state with the connector's status_map, like a poll,
 * a webhook and reconciliation do: here "In Progress" means done. */
static void test_link_status_map(void **state)
{
	(void)state;
	struct ju_emu emu;
	ju_emu_start(&emu, "cloud", NULL);
	struct lfix f;
	char *on = ts_asprintf("type = \"jira\"; flavor = \"cloud\"; base_url = \"%s\";"
	                       " email = \"threatsync@example.com\";"
	                       " status_map = ( { status = \"In Progress\"; to = \"done\"; } );",
	                       emu.base);
	fix_open(&f, on,
	         "type = \"jira\"; flavor = \"cloud\"; base_url = \"http://127.0.0.1:9\";"
	         " email = \"threatsync@example.com\";");
	free(on);
	json_decref(ju_emu_call(&emu, "POST", "/_emu/seed",
	                        "{\"count\":1,\"project\":\"WRU\",\"labels\":[\"security\"]}",
	                        NULL));
	json_decref(ju_emu_call(&emu, "POST", "/_emu/issues/WRU-1/transition",
	                        "{\"to\":\"In Progress\",\"actor\":\"alice\"}", NULL));
	char *out = NULL, *err = NULL;
	int rc = cli(&f, f.conf, &out, &err, "link", "lnk", TASK, "WRU-1", NULL);
	if (rc)
		fprintf(stderr, "%s%s", out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	char *sql = ts_asprintf("SELECT c.status || ' ' || t.remote_status FROM countermeasures c"
	                        " JOIN tickets t ON t.id = c.ticket_id WHERE c.uid = '%s'",
	                        TASK);
	char *row = q(&f, sql);
	assert_string_equal(row, "done In Progress");
	free(row);
	free(sql);
	assert_int_equal(qi(&f, "SELECT count(*) FROM status_history WHERE source = 'cli'"
	                        " AND from_status = 'todo' AND to_status = 'done'"),
	                 1);
	fix_close(&f);
	ju_emu_stop(&emu);
}

static void test_link_gitlab(void **state)
{
	(void)state;
	static struct gu_emu emu;
	const char *const args[] = {"--projects", "1:security/widgets", NULL};
	gu_emu_start(&emu, args);
	running_gitlab = &emu;
	struct lfix f;
	char *on = ts_asprintf("type = \"gitlab\"; base_url = \"%s\";", emu.base);
	fix_open(&f, on, "type = \"gitlab\"; base_url = \"http://127.0.0.1:9\";");
	free(on);
	json_decref(gu_ctl(&emu, "POST", "/_emu/seed",
	                   "{\"count\":1,\"project\":1,\"labels\":[\"security\"]}"));
	expect_code(&f, f.conf, 65, "not found", "lnk", TASK, "77");
	expect_code(&f, f.conf_off, 69, "unreachable", "lnk", TASK, "1");
	char *out = NULL, *err = NULL;
	int rc = cli(&f, f.conf, &out, &err, "link", "lnk", TASK, "1", NULL);
	if (rc)
		fprintf(stderr, "%s%s", out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	rc = cli(&f, f.conf, &out, &err, "sync", "--once", NULL, NULL, NULL);
	if (rc)
		fprintf(stderr, "%s%s", out, err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	char marker[MARKER_SIZE];
	marker_make("lnk", TASK, marker);
	json_t *issue = gu_ctl(&emu, "GET", "/_emu/issues/1/1", NULL);
	bool has_marker = false;
	size_t i;
	json_t *l;
	json_array_foreach (json_object_get(issue, "labels"), i, l) {
		has_marker |= json_is_string(l) && strcmp(json_string_value(l), marker) == 0;
	}
	if (!has_marker) {
		char *d = json_dumps(issue, 0);
		fprintf(stderr, "issue: %s\n", d);
		free(d);
	}
	assert_true(has_marker);
	json_decref(issue);
	json_t *all = gu_ctl(&emu, "GET", "/_emu/issues?project=1", NULL);
	int with = 0;
	json_t *is;
	json_array_foreach (all, i, is) {
		size_t k;
		json_array_foreach (json_object_get(is, "labels"), k, l) {
			with += json_is_string(l) && strcmp(json_string_value(l), marker) == 0;
		}
	}
	json_decref(all);
	assert_int_equal(with, 1);
	assert_int_equal(qi(&f, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	fix_close(&f);
	gu_emu_stop(&emu);
	running_gitlab = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_link_jira, teardown),
	    cmocka_unit_test_teardown(test_link_status_map, teardown),
	    cmocka_unit_test_teardown(test_link_gitlab, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
