/* SPDX-License-Identifier: Apache-2.0 */
/* A library release that merges duplicate entries (aliases), end to end: a
 * project generated and synced to the Jira emulator with the old library, then
 * regenerated with the merged one, keeps its rows, statuses and tickets (no
 * ticket created or closed, the renamed task updated in place under the
 * marker of its first uid); two old tasks merged into one on a component
 * leave one, the other retired with its ticket closed. Timing-bound:
 * TS_NO_VALGRIND. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/jira.h"
#include "connectors/sync.h"
#include "engine/tracking/marker.h"
#include "helpers/gen_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#define TOKEN "emu-token"

struct fixture {
	struct ju_emu emu;
	struct gu g;
	char *dir;
};

/* The configuration of the project "sync" on the emulator with library lib. */
static char *write_conf(struct fixture *f, const char *name, const char *lib)
{
	char *text = ts_asprintf(
	    "database = \"unused.db\";\n"
	    "library_paths = [ \"%s\" ];\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"jira_token\";"
	    " concurrency = 4; rate_per_second = 1000.0; burst = 1000; max_attempts = 100;"
	    " connect_timeout_ms = 1000; request_timeout_ms = 1500; poll_interval_s = 5; } );\n"
	    "projects = ( { slug = \"sync\"; connector = \"jira\"; tracker_project = \"WRU\"; } "
	    ");\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    lib, f->emu.base);
	char *conf = tu_write_file(f->dir, name, text);
	free(text);
	return conf;
}

/* Replaces every id of from in the string array arr by to, keeping one. */
static void rename_in_list(json_t *arr, const char *from, const char *to)
{
	size_t i;
	json_t *v;
	bool have = false;
	json_array_foreach (arr, i, v) {
		have |= strcmp(json_string_value(v), to) == 0;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		if (strcmp(json_string_value(json_array_get(arr, i)), from) != 0)
			continue;
		if (have) {
			json_array_remove(arr, i--);
		} else {
			json_array_set_new(arr, i, json_string(to));
			have = true;
		}
	}
}

/* The test library (tests/data/generate/lib) after a release that merges
 * the entries olds (n of them, countermeasures) into new_id, and renames
 * T-INJECTION to T-INPUT-INJECTION. Written to dir/name; new path. */
static char *merged_library(struct fixture *f, const char *name, const char *new_id,
                            const char *const *olds, size_t n)
{
	char *lib = ts_asprintf("%s/%s", f->dir, name);
	char *t = ts_asprintf("%s/threats", lib);
	char *c = ts_asprintf("%s/countermeasures", lib);
	assert_int_equal(mkdir(lib, 0700) | mkdir(t, 0700) | mkdir(c, 0700), 0);
	char *src = gu_data("lib/component_types.json");
	char *text = tu_read_file(src);
	free(tu_write_file(lib, "component_types.json", text));
	free(text);
	free(src);

	src = gu_data("lib/countermeasures/cms.json");
	json_t *doc = json_load_file(src, 0, NULL);
	free(src);
	json_t *cms = json_object_get(doc, "countermeasures");
	json_t *aliases = json_array();
	for (size_t i = 0; i < json_array_size(cms); i++) {
		json_t *cm = json_array_get(cms, i);
		const char *id = json_string_value(json_object_get(cm, "id"));
		if (strcmp(id, olds[0]) == 0) {
			json_object_set_new(cm, "id", json_string(new_id));
			json_object_set_new(cm, "title",
			                    json_string("Validate input against a schema"));
			json_object_set(cm, "aliases", aliases);
		} else {
			for (size_t k = 1; k < n; k++)
				if (strcmp(id, olds[k]) == 0) {
					json_array_remove(cms, i--);
					break;
				}
		}
	}
	for (size_t k = 0; k < n; k++)
		json_array_append_new(aliases, json_string(olds[k]));
	json_decref(aliases);
	char *p = ts_asprintf("%s/cms.json", c);
	assert_int_equal(json_dump_file(doc, p, JSON_INDENT(1)), 0);
	free(p);
	json_decref(doc);

	src = gu_data("lib/threats/threats.json");
	doc = json_load_file(src, 0, NULL);
	free(src);
	size_t i;
	json_t *th;
	json_array_foreach (json_object_get(doc, "threats"), i, th) {
		if (strcmp(json_string_value(json_object_get(th, "id")), "T-INJECTION") == 0) {
			json_object_set_new(th, "id", json_string("T-INPUT-INJECTION"));
			json_object_set_new(th, "aliases", json_pack("[s]", "T-INJECTION"));
		}
		for (size_t k = 0; k < n; k++)
			rename_in_list(json_object_get(th, "countermeasures"), olds[k], new_id);
	}
	p = ts_asprintf("%s/threats.json", t);
	assert_int_equal(json_dump_file(doc, p, JSON_INDENT(1)), 0);
	free(p);
	json_decref(doc);
	free(t);
	free(c);
	return lib;
}

static void fixture_open(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	ju_emu_start(&f->emu, "cloud", NULL);
	f->dir = tu_tmpdir();
	free(tu_write_file(f->dir, "jira_token", TOKEN "\n"));
	char *lib = gu_data("lib");
	char *conf = write_conf(f, "old.conf", lib);
	char *model = ts_asprintf("%s/model.json", f->dir);
	gu_write_web_model(model, "Sync", 1);
	gu_open(&f->g, conf);
	gu_import(&f->g, "sync", model);
	json_decref(gu_generate(&f->g, "sync", "2026-01-05T10:00:00Z"));
	free(lib);
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

/* One sync pass on a private loop; the "jira" connector's outbox report. */
static json_t *run_pass(struct fixture *f)
{
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct pass p = {0};
	struct sync_opts so = {
	    .backoff_base_ms = 20, .backoff_max_ms = 200, .seed = 7, .opened_cb = opened_cb};
	assert_int_equal(http_client_new(&loop, &p.http), 0);
	assert_int_equal(sync_new(&loop, p.http, f->g.s, f->g.cfg, &so, &p.sync), 0);
	struct ts_err err = {0};
	assert_int_equal(sync_run_pass(p.sync, NULL, pass_done_cb, &p, &err), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(p.done);
	assert_int_equal(uv_loop_close(&loop), 0);
	json_t *c = json_incref(
	    json_object_get(json_array_get(json_object_get(p.report, "connectors"), 0), "outbox"));
	json_decref(p.report);
	return c;
}

/* The recorded requests that create a ticket or change its workflow state. */
static void count_writes(struct fixture *f, int *ret_creates, int *ret_transitions, int *ret_edits)
{
	json_t *all = ju_requests(&f->emu);
	size_t i;
	json_t *r;
	*ret_creates = *ret_transitions = *ret_edits = 0;
	json_array_foreach (all, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *path = json_string_value(json_object_get(r, "path"));
		if (strcmp(m, "POST") == 0 && strcmp(path, "/rest/api/3/issue") == 0)
			(*ret_creates)++;
		if (strcmp(m, "POST") == 0 && strstr(path, "/transitions"))
			(*ret_transitions)++;
		if (strcmp(m, "PUT") == 0 && strncmp(path, "/rest/api/3/issue/", 18) == 0)
			(*ret_edits)++;
	}
	json_decref(all);
}

static char *text_of(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->g.s), sql, -1, &st, NULL), SQLITE_OK);
	char *s = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		s = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

/* A renamed countermeasure and threat carry their rows and ticket over. */
static void test_rename_keeps_ticket(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	json_t *rep = run_pass(&f);
	assert_int_equal(json_integer_value(json_object_get(rep, "created")), 4);
	json_decref(rep);
	long long cm_id = gu_int(&f.g, "SELECT id FROM countermeasures"
	                               " WHERE uid = 'C-INPUT-VALIDATION@web0'");
	long long th_id = gu_int(&f.g, "SELECT id FROM threats WHERE uid = 'T-INJECTION@web0'");
	long long ticket = gu_int(&f.g, "SELECT ticket_id FROM countermeasures"
	                                " WHERE uid = 'C-INPUT-VALIDATION@web0'");
	char *key = text_of(&f, "SELECT t.remote_key FROM tickets t JOIN countermeasures c"
	                        " ON c.ticket_id = t.id WHERE c.uid = 'C-INPUT-VALIDATION@web0'");
	assert_non_null(key);
	/* A human starts the work: the status must survive the rename. */
	char *path = ts_asprintf("/_emu/issues/%s/transition", key);
	long status = 0;
	json_decref(ju_emu_call(&f.emu, "POST", path,
	                        "{\"to\":\"In Progress\",\"actor\":\"alice\"}", &status));
	assert_int_equal(status, 200);
	json_decref(run_pass(&f));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM countermeasures WHERE uid ="
	                              " 'C-INPUT-VALIDATION@web0' AND status = 'in_progress'"),
	                 1);

	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld", cm_id);
	long long history = gu_int(&f.g, sql);
	assert_true(history >= 1); /* in_progress, from the tracker */

	const char *const olds[] = {"C-INPUT-VALIDATION"};
	char *lib = merged_library(&f, "merged", "C-SCHEMA-VALIDATION", olds, 1);
	char *conf = write_conf(&f, "merged.conf", lib);
	gu_reload(&f.g, conf);
	json_t *sum = gu_generate(&f.g, "sync", "2026-01-06T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	/* The renamed task, and C-AUDIT-LOG whose linked threat was renamed. */
	assert_int_equal(gu_changes(sum, "countermeasures", "updated"), 2);
	assert_int_equal(gu_changes(sum, "threats", "created"), 0);
	assert_int_equal(gu_changes(sum, "threats", "removed"), 0);
	assert_int_equal(gu_changes(sum, "outbox", "create"), 0);
	assert_int_equal(gu_changes(sum, "outbox", "close"), 0);
	assert_int_equal(gu_changes(sum, "outbox", "update"), 2);
	json_decref(sum);
	/* The same rows under the new ids, with status and ticket. */
	assert_int_equal(gu_int(&f.g, "SELECT id FROM countermeasures"
	                              " WHERE uid = 'C-SCHEMA-VALIDATION@web0'"),
	                 cm_id);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM countermeasures WHERE uid ="
	                              " 'C-SCHEMA-VALIDATION@web0' AND status = 'in_progress'"
	                              " AND library_id = 'C-SCHEMA-VALIDATION' AND state = 'active'"
	                              " AND marker_key = 'C-INPUT-VALIDATION@web0'"),
	                 1);
	assert_int_equal(gu_int(&f.g, "SELECT ticket_id FROM countermeasures"
	                              " WHERE uid = 'C-SCHEMA-VALIDATION@web0'"),
	                 ticket);
	assert_int_equal(
	    gu_int(&f.g, "SELECT id FROM threats WHERE uid = 'T-INPUT-INJECTION@web0'"), th_id);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM countermeasures"
	                              " WHERE uid LIKE 'C-INPUT-VALIDATION@%'"),
	                 0);
	assert_int_equal(
	    gu_int(&f.g, "SELECT count(*) FROM threats WHERE uid LIKE 'T-INJECTION@%'"), 0);
	/* Its history is the row's: nothing added by the rename. */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld", cm_id);
	assert_int_equal(gu_int(&f.g, sql), history);

	/* The sync pass edits the ticket in place: nothing created or closed,
	 * and the ticket keeps its marker label. */
	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/requests", NULL, NULL));
	rep = run_pass(&f);
	assert_int_equal(json_integer_value(json_object_get(rep, "created")), 0);
	json_decref(rep);
	int creates, transitions, edits;
	count_writes(&f, &creates, &transitions, &edits);
	assert_int_equal(creates, 0);
	assert_int_equal(transitions, 0);
	assert_int_equal(edits, 2);
	char *edit = ts_asprintf("/rest/api/3/issue/%s", key);
	json_t *puts = ju_requests_for(&f.emu, "PUT", edit);
	assert_int_equal(json_array_size(puts), 1);
	/* The edit labels the ticket with the marker it had, not one of the
	 * new uid. */
	char marker[MARKER_SIZE], renamed[MARKER_SIZE];
	marker_make("sync", "C-INPUT-VALIDATION@web0", marker);
	marker_make("sync", "C-SCHEMA-VALIDATION@web0", renamed);
	const char *body = json_string_value(json_object_get(json_array_get(puts, 0), "body"));
	assert_non_null(strstr(body, marker));
	assert_null(strstr(body, renamed));
	json_decref(puts);
	char *stored =
	    text_of(&f, "SELECT t.marker FROM tickets t JOIN countermeasures c"
	                " ON c.ticket_id = t.id WHERE c.uid = 'C-SCHEMA-VALIDATION@web0'");
	assert_string_equal(stored, marker);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM tickets"), 4);
	json_t *issues = ju_emu_call(&f.emu, "GET", "/_emu/issues", NULL, NULL);
	json_t *list = json_is_array(issues) ? issues : json_object_get(issues, "issues");
	assert_int_equal(json_array_size(list), 4);
	json_decref(issues);

	/* A second generation with the same library changes nothing. */
	sum = gu_generate(&f.g, "sync", "2026-01-07T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "updated"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	json_decref(sum);
	free(stored);
	free(edit);
	free(path);
	free(key);
	free(conf);
	free(lib);
	fixture_close(&f);
}

/* Two old tasks of one component merged into one: the older survives with its
 * ticket, the other is retired "merged into ..." and its ticket closed. */
static void test_merge_two_tasks(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	json_decref(run_pass(&f));
	long long valid = gu_int(&f.g, "SELECT id FROM countermeasures"
	                               " WHERE uid = 'C-INPUT-VALIDATION@web0'");
	long long audit = gu_int(&f.g, "SELECT id FROM countermeasures"
	                               " WHERE uid = 'C-AUDIT-LOG@web0'");
	long long older = valid < audit ? valid : audit;
	long long newer = valid < audit ? audit : valid;
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT t.remote_key FROM tickets t JOIN countermeasures c ON c.ticket_id = t.id"
	         " WHERE c.id = %lld",
	         newer);
	char *closed_key = text_of(&f, sql);
	assert_non_null(closed_key);

	const char *const olds[] = {"C-INPUT-VALIDATION", "C-AUDIT-LOG"};
	char *lib = merged_library(&f, "merged2", "C-SCHEMA-VALIDATION", olds, 2);
	char *conf = write_conf(&f, "merged2.conf", lib);
	gu_reload(&f.g, conf);
	json_t *sum = gu_generate(&f.g, "sync", "2026-01-06T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 1);
	assert_int_equal(gu_changes(sum, "outbox", "create"), 0);
	assert_int_equal(gu_changes(sum, "outbox", "close"), 1);
	json_decref(sum);
	assert_int_equal(gu_int(&f.g,
	                        "SELECT id FROM countermeasures"
	                        " WHERE uid = 'C-SCHEMA-VALIDATION@web0' AND state = 'active'"),
	                 older);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures WHERE id = %lld AND state = 'removed'"
	         " AND removed_reason = 'merged into C-SCHEMA-VALIDATION@web0'",
	         newer);
	assert_int_equal(gu_int(&f.g, sql), 1);

	json_decref(ju_emu_call(&f.emu, "DELETE", "/_emu/requests", NULL, NULL));
	json_decref(run_pass(&f));
	int creates, transitions, edits;
	count_writes(&f, &creates, &transitions, &edits);
	assert_int_equal(creates, 0);
	assert_int_equal(transitions, 1);
	char *tr = ts_asprintf("/rest/api/3/issue/%s/transitions", closed_key);
	json_t *posts = ju_requests_for(&f.emu, "POST", tr);
	assert_int_equal(json_array_size(posts), 1);
	json_decref(posts);

	/* Regenerating again leaves the retired task alone. */
	sum = gu_generate(&f.g, "sync", "2026-01-07T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "reactivated"), 0);
	assert_int_equal(gu_changes(sum, "outbox", "close"), 0);
	json_decref(sum);
	free(tr);
	free(closed_key);
	free(conf);
	free(lib);
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
	    cmocka_unit_test_teardown(test_rename_keeps_ticket, teardown),
	    cmocka_unit_test_teardown(test_merge_two_tasks, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
