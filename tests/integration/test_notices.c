/* SPDX-License-Identifier: Apache-2.0 */
/* Notices on the tracker exactly once: reopen and comment rows carrying
 * payload.notice, queued as findings ingestion queues them, against Jira
 * Cloud, Jira Data Center and GitLab emulators; with "reset after commit"
 * on the comment and on the transition, and with a row left inflight by a
 * process killed after its request reached the tracker; and end to end,
 * from a SARIF log through ingestion to the reopened ticket. Counts are the
 * emulator's own (api_counts). Timing-bound: TS_NO_VALGRIND. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/jira.h"
#include "connectors/sync.h"
#include "engine/findings/ingest.h"
#include "engine/library/cwe.h"
#include "engine/tracking/outbox.h"
#include "helpers/gen_util.h"
#include "helpers/gitlab_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

enum tracker { CLOUD, DC, GITLAB };

struct fixture {
	enum tracker tr;
	struct ju_emu jira;
	struct gu_emu gitlab;
	struct gu g;
	char *dir;
	char *key; /* the ticket the rows act on */
	int64_t project_id, cm_id, ticket_id;
};

static struct gu_emu *running_gitlab;

/* The emulator's control API, whichever it is. New reference. */
static json_t *emu(struct fixture *f, const char *method, const char *path, const char *body)
{
	long status = 0;
	json_t *j = f->tr == GITLAB ? gu_call(&f->gitlab, method, path, body, NULL, &status)
	                            : ju_emu_call(&f->jira, method, path, body, &status);
	if (status < 200 || status > 299) {
		char *d = json_dumps(j, JSON_ENCODE_ANY);
		fprintf(stderr, "%s %s: %ld %s\n", method, path, status, d ? d : "");
		free(d);
	}
	assert_true(status >= 200 && status <= 299);
	return j;
}

/* The emulator's path of the ticket under /_emu/issues/. New string. */
static char *issue_path(const struct fixture *f, const char *suffix)
{
	if (f->tr == GITLAB)
		return ts_asprintf("/_emu/issues/1/%s%s", strchr(f->key, '#') + 1, suffix);
	return ts_asprintf("/_emu/issues/%s%s", f->key, suffix);
}

static void opened_cb(void *ud, const struct config_connector *cc, void *conn)
{
	(void)ud;
	if (cc->type == CONFIG_CONNECTOR_JIRA)
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

/* One sync pass on a private loop (a new sync: it starts with the outbox
 * recovery a restarted process does). */
static void run_pass(struct fixture *f)
{
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct pass p = {0};
	struct sync_opts so = {
	    .backoff_base_ms = 20, .backoff_max_ms = 100, .seed = 7, .opened_cb = opened_cb};
	assert_int_equal(http_client_new(&loop, &p.http), 0);
	assert_int_equal(sync_new(&loop, p.http, f->g.s, f->g.cfg, &so, &p.sync), 0);
	struct ts_err err = {0};
	assert_int_equal(sync_run_pass(p.sync, NULL, pass_done_cb, &p, &err), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(p.done);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_true(json_is_null(json_object_get(p.report, "store_error")));
	json_decref(p.report);
}

/* Passes until the outbox is empty (rows that failed wait out their short
 * backoff between passes). */
static void converge(struct fixture *f)
{
	for (int i = 0; i < 20; i++) {
		run_pass(f);
		if (gu_int(&f->g, "SELECT count(*) FROM outbox WHERE state <> 'done'") == 0)
			return;
		usleep(150 * 1000);
	}
	fail_msg("the outbox did not drain");
}

/* Emulator, store, one generated task with its ticket. done: a human closed
 * the ticket and the poll brought the task to done. */
static void fixture_open(struct fixture *f, enum tracker tr, bool done)
{
	memset(f, 0, sizeof(*f));
	f->tr = tr;
	const char *connector;
	char *conn_text;
	if (tr == GITLAB) {
		const char *const args[] = {"--projects", "1:security/widgets", "--note-page-max",
		                            "3", NULL};
		gu_emu_start(&f->gitlab, args);
		running_gitlab = &f->gitlab;
		conn_text = ts_asprintf("type = \"gitlab\"; base_url = \"%s\";", f->gitlab.base);
		connector = "security/widgets";
	} else {
		/* Comments come two to a page, so the lookup pages. */
		const char *const args[] = {"--comment-page-max", "2", NULL};
		ju_emu_start(&f->jira, tr == CLOUD ? "cloud" : "datacenter", args);
		conn_text = ts_asprintf("type = \"jira\"; flavor = \"%s\"; base_url = \"%s\";%s",
		                        tr == CLOUD ? "cloud" : "datacenter", f->jira.base,
		                        tr == CLOUD ? " email = \"threatsync@example.com\";" : "");
		connector = "WRU";
	}
	f->dir = tu_tmpdir();
	free(tu_write_file(f->dir, "token", "emu-token\n"));
	char *conf_text = ts_asprintf(
	    "database = \"unused.db\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "connectors = ( { name = \"trk\"; %s token_file = \"token\"; concurrency = 2;"
	    " max_attempts = 10; connect_timeout_ms = 1000; request_timeout_ms = 2000; } );\n"
	    "projects = ( { slug = \"ntc\"; connector = \"trk\"; tracker_project = \"%s\"; } );\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    tu_env("TS_SOURCE_DIR"), conn_text, connector);
	char *conf = tu_write_file(f->dir, "t.conf", conf_text);
	char *model = ts_asprintf("%s/model.json", f->dir);
	gu_write_web_model(model, "Notices", 1);
	gu_open(&f->g, conf);
	gu_import(&f->g, "ntc", model);
	json_decref(gu_generate(&f->g, "ntc", NULL));
	free(conf_text);
	free(conf);
	free(model);
	free(conn_text);
	converge(f);

	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->g.s),
	                                    "SELECT c.project_id, c.id, t.id, t.remote_key FROM "
	                                    "countermeasures c JOIN tickets t ON t.id = c.ticket_id"
	                                    " ORDER BY c.id LIMIT 1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	f->project_id = sqlite3_column_int64(st, 0);
	f->cm_id = sqlite3_column_int64(st, 1);
	f->ticket_id = sqlite3_column_int64(st, 2);
	f->key = ts_strdup((const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	if (!done)
		return;
	char *path = issue_path(f, "/transition");
	json_decref(
	    emu(f, "POST", path,
	        tr == GITLAB ? "{\"to\":\"closed\"}" : "{\"to\":\"Done\",\"actor\":\"alice\"}"));
	free(path);
	run_pass(f);
	char sql[128];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures WHERE id = %lld"
	         " AND status = 'done'",
	         (long long)f->cm_id);
	assert_int_equal(gu_int(&f->g, sql), 1);
}

static void fixture_close(struct fixture *f)
{
	gu_close(&f->g);
	if (f->tr == GITLAB) {
		gu_emu_stop(&f->gitlab);
		running_gitlab = NULL;
	} else {
		ju_emu_stop(&f->jira);
	}
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->key);
}

static int teardown(void **state)
{
	(void)state;
	ju_emu_stop_all();
	if (running_gitlab)
		gu_emu_stop(running_gitlab);
	running_gitlab = NULL;
	return 0;
}

/* Queues a row the way findings ingestion does: op "reopen" (payload.reason)
 * or "comment" (payload.text), with payload.notice. Returns the row id. */
static int64_t enqueue_notice(struct fixture *f, const char *op, const char *text,
                              const char *notice)
{
	json_t *p = json_pack("{s:s, s:s}", strcmp(op, "reopen") == 0 ? "reason" : "text", text,
	                      "notice", notice);
	char *payload = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	struct outbox_entry e = {.project_id = f->project_id,
	                         .connector = "trk",
	                         .op = op,
	                         .countermeasure_id = f->cm_id,
	                         .ticket_id = f->ticket_id,
	                         .payload = payload};
	char now[32];
	ts_now_iso(now);
	struct ts_err err = {0};
	int rc = outbox_enqueue(f->g.s, &e, now, &err);
	if (rc < 0)
		fprintf(stderr, "outbox_enqueue: %s\n", err.msg);
	assert_int_equal(rc, 0);
	free(payload);
	return gu_int(&f->g, "SELECT max(id) FROM outbox");
}

/* The emulator's counts of the API user's comments and transitions on the
 * ticket, and how many of its comments carry the notice's marker. */
static void counts(struct fixture *f, const char *notice, int *ret_comments, int *ret_transitions,
                   int *ret_marked)
{
	char *path = issue_path(f, "");
	json_t *iss = emu(f, "GET", path, NULL);
	free(path);
	json_t *c = json_object_get(iss, "api_counts");
	*ret_comments = (int)json_integer_value(json_object_get(c, "comments"));
	*ret_transitions = (int)json_integer_value(json_object_get(c, "transitions"));
	char marker[64];
	if (f->tr == GITLAB)
		snprintf(marker, sizeof(marker), "<!-- threatsync-notice:%s -->", notice);
	else
		snprintf(marker, sizeof(marker), "threatsync notice %s", notice);
	*ret_marked = 0;
	size_t i;
	json_t *n;
	json_array_foreach (json_object_get(iss, f->tr == GITLAB ? "notes" : "comments"), i, n) {
		json_t *b = json_object_get(n, "body");
		char *text = json_is_string(b) ? ts_strdup(json_string_value(b))
		                               : json_dumps(b, JSON_COMPACT);
		*ret_marked += text && strstr(text, marker) != NULL;
		free(text);
	}
	json_decref(iss);
}

static const char *state_of(struct fixture *f)
{
	static char out[32];
	char *path = issue_path(f, "");
	json_t *iss = emu(f, "GET", path, NULL);
	free(path);
	const char *s =
	    json_string_value(json_object_get(iss, f->tr == GITLAB ? "state" : "statusCategory"));
	snprintf(out, sizeof(out), "%s", s ? s : "?");
	json_decref(iss);
	return out;
}

static void assert_row(struct fixture *f, int64_t id, const char *state, int attempts)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE id = %lld AND state = '%s'"
	         " AND attempts = %d",
	         (long long)id, state, attempts);
	if (gu_int(&f->g, sql) != 1) {
		snprintf(sql, sizeof(sql),
		         "SELECT attempts * 100 + (state = '%s') FROM outbox"
		         " WHERE id = %lld",
		         state, (long long)id);
		fprintf(stderr, "row %lld: attempts*100+state_ok = %lld\n", (long long)id,
		        gu_int(&f->g, sql));
	}
	assert_int_equal(gu_int(&f->g, sql), 1);
}

static void fault(struct fixture *f, const char *match)
{
	char *body = ts_asprintf(
	    "{\"script\":[{\"match\":\"%s\",\"fault\":\"reset_after_commit\",\"times\":1}]}",
	    match);
	json_decref(emu(f, "POST", "/_emu/faults", body));
	free(body);
}

static const char *comment_post(const struct fixture *f)
{
	return f->tr == GITLAB  ? "POST /api/v4/projects/*/issues/*/notes"
	       : f->tr == CLOUD ? "POST /rest/api/3/issue/*/comment"
	                        : "POST /rest/api/2/issue/*/comment";
}

static const char *transition_post(const struct fixture *f)
{
	return f->tr == GITLAB  ? "PUT /api/v4/projects/*/issues/*"
	       : f->tr == CLOUD ? "POST /rest/api/3/issue/*/transitions"
	                        : "POST /rest/api/2/issue/*/transitions";
}

#define REASON                                                                                     \
	"Verification failed: semgrep rule `python.flask.xss` (CWE-79) found "                     \
	"app/views.py:42, first seen 2026-12-01."
#define NOTICE_A "0123456789abcdef"
#define NOTICE_B "fedcba9876543210"

/* A done ticket reopened once with its comment, and a comment posted once;
 * another pass changes nothing. */
static void reopen_and_comment(enum tracker tr)
{
	struct fixture f;
	fixture_open(&f, tr, true);
	int64_t r1 = enqueue_notice(&f, "reopen", REASON, NOTICE_A);
	int64_t r2 =
	    enqueue_notice(&f, "comment", "Still found by semgrep on 2026-12-02.", NOTICE_B);
	converge(&f);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 2);
	assert_int_equal(t, 1);
	assert_int_equal(m, 1);
	counts(&f, NOTICE_B, &c, &t, &m);
	assert_int_equal(m, 1);
	assert_string_equal(state_of(&f), tr == GITLAB ? "opened" : "new");
	assert_row(&f, r1, "done", 0);
	assert_row(&f, r2, "done", 0);
	run_pass(&f);
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 2);
	assert_int_equal(t, 1);
	fixture_close(&f);
}

/* Someone reopened the ticket after the scan, before the poll saw it (the
 * task is still done): the reopen posts only its comment. */
static void reopened_meanwhile(enum tracker tr)
{
	struct fixture f;
	fixture_open(&f, tr, true);
	char *path = issue_path(&f, "/transition");
	json_decref(
	    emu(&f, "POST", path,
	        tr == GITLAB ? "{\"to\":\"opened\"}" : "{\"to\":\"To Do\",\"actor\":\"alice\"}"));
	free(path);
	int64_t r = enqueue_notice(&f, "reopen", REASON, NOTICE_A);
	converge(&f);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 1);
	assert_int_equal(t, 0);
	assert_int_equal(m, 1);
	assert_row(&f, r, "done", 0);
	fixture_close(&f);
}

/* The comment POST is reset after the tracker committed it: the retry finds
 * the notice and sends nothing. */
static void comment_reset(enum tracker tr)
{
	struct fixture f;
	fixture_open(&f, tr, false);
	int64_t r = enqueue_notice(&f, "comment", "Verified by semgrep on 2026-12-03.", NOTICE_A);
	fault(&f, comment_post(&f));
	run_pass(&f);
	assert_row(&f, r, "failed", 1);
	usleep(150 * 1000);
	converge(&f);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 1);
	assert_int_equal(t, 0);
	assert_int_equal(m, 1);
	assert_row(&f, r, "done", 1);
	fixture_close(&f);
}

/* The transition is reset after the tracker committed it (Jira: with its
 * comment; GitLab: the state change, before its note): one transition and
 * one comment in the end. */
static void transition_reset(enum tracker tr)
{
	struct fixture f;
	fixture_open(&f, tr, true);
	int64_t r = enqueue_notice(&f, "reopen", REASON, NOTICE_A);
	fault(&f, transition_post(&f));
	run_pass(&f);
	/* GitLab's state change is a PUT, which the HTTP client sends again
	 * itself: the row ends in the first pass. Jira's is a POST: the row
	 * fails with its outcome unknown and is looked up in the next pass. */
	int attempts = tr == GITLAB ? 0 : 1;
	assert_row(&f, r, tr == GITLAB ? "done" : "failed", attempts);
	usleep(150 * 1000);
	converge(&f);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 1);
	assert_int_equal(t, 1);
	assert_int_equal(m, 1);
	assert_string_equal(state_of(&f), tr == GITLAB ? "opened" : "new");
	assert_row(&f, r, "done", attempts);
	fixture_close(&f);
}

/* GitLab posts the reopen's note after the state change: the note POST is
 * reset after commit; the retry finds the ticket open with its note. */
static void reopen_note_reset(void)
{
	struct fixture f;
	fixture_open(&f, GITLAB, true);
	int64_t r = enqueue_notice(&f, "reopen", REASON, NOTICE_A);
	fault(&f, comment_post(&f));
	run_pass(&f);
	assert_row(&f, r, "failed", 1);
	usleep(150 * 1000);
	converge(&f);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 1);
	assert_int_equal(t, 1);
	assert_int_equal(m, 1);
	assert_row(&f, r, "done", 1);
	fixture_close(&f);
}

/* A process killed right after its requests reached the tracker: the rows
 * are left inflight (their results never recorded); the next process
 * recovers them with their outcome unknown, finds the notices and sends
 * nothing. A row left inflight before anything was sent is sent once. */
static void killed(enum tracker tr)
{
	struct fixture f;
	fixture_open(&f, tr, true);
	int64_t r1 = enqueue_notice(&f, "reopen", REASON, NOTICE_A);
	int64_t r2 = enqueue_notice(&f, "comment", "Still found on 2026-12-02.", NOTICE_B);
	converge(&f);
	char sql[160];
	snprintf(sql, sizeof(sql), "UPDATE outbox SET state = 'inflight' WHERE id IN (%lld, %lld)",
	         (long long)r1, (long long)r2);
	assert_int_equal(sqlite3_exec(store_db(f.g.s), sql, NULL, NULL, NULL), SQLITE_OK);
	int64_t r3 =
	    enqueue_notice(&f, "comment", "Verified by semgrep on 2026-12-04.", "00000000000000aa");
	snprintf(sql, sizeof(sql), "UPDATE outbox SET state = 'inflight' WHERE id = %lld",
	         (long long)r3);
	assert_int_equal(sqlite3_exec(store_db(f.g.s), sql, NULL, NULL, NULL), SQLITE_OK);
	converge(&f);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 3);
	assert_int_equal(t, 1);
	assert_int_equal(m, 1);
	counts(&f, NOTICE_B, &c, &t, &m);
	assert_int_equal(m, 1);
	counts(&f, "00000000000000aa", &c, &t, &m);
	assert_int_equal(m, 1);
	fixture_close(&f);
}

/* The lookup reads the newest CONNECTOR_NOTICE_SCAN comments, page by page
 * (the emulators serve 2 comments a page on Jira, 3 on GitLab): a marker
 * buried under 100 newer comments is not seen, and the comment is posted
 * again (the documented bound). */
static void bounded(enum tracker tr)
{
	struct fixture f;
	fixture_open(&f, tr, false);
	int64_t r = enqueue_notice(&f, "comment", "Verified by semgrep on 2026-12-03.", NOTICE_A);
	fault(&f, comment_post(&f));
	run_pass(&f);
	assert_row(&f, r, "failed", 1);
	char *path = issue_path(&f, tr == GITLAB ? "/note" : "/comment");
	for (int i = 0; i < CONNECTOR_NOTICE_SCAN; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"body\":\"human %d\",\"actor\":\"bob\"}", i);
		json_decref(emu(&f, "POST", path, body));
	}
	free(path);
	json_decref(emu(&f, "DELETE", "/_emu/requests", NULL));
	usleep(150 * 1000);
	converge(&f);
	int c, t, m;
	counts(&f, NOTICE_A, &c, &t, &m);
	assert_int_equal(c, 2);
	assert_int_equal(m, 2);
	/* Pages of the lookup: 50 of 2 comments on Jira; on GitLab 33 of 3
	 * notes and a last one of 1. */
	json_t *all = emu(&f, "GET", "/_emu/requests", NULL);
	size_t i;
	json_t *q;
	int pages = 0;
	json_array_foreach (all, i, q) {
		const char *p = json_string_value(json_object_get(q, "path"));
		pages += strcmp(json_string_value(json_object_get(q, "method")), "GET") == 0 &&
		         (strstr(p, "/comment") || strstr(p, "/notes"));
	}
	json_decref(all);
	assert_int_equal(pages, tr == GITLAB ? 34 : 50);
	fixture_close(&f);
}

/* Writes a SARIF log of semgrep in dir/name with one result of rule at
 * file:line, the rule tagged with CWE cwe (0: none). New path. */
static char *write_sarif(const char *dir, const char *name, const char *rule, int cwe,
                         const char *file, int line)
{
	json_t *tags = json_array();
	if (cwe > 0)
		json_array_append_new(tags, json_sprintf("CWE-%d", cwe));
	json_t *log =
	    json_pack("{s:s, s:[{s:{s:{s:s, s:s, s:[{s:s, s:{s:o}}]}},"
	              " s:[{s:s, s:i, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i}}}]}]}]}",
	              "version", "2.1.0", "runs", "tool", "driver", "name", "semgrep", "version",
	              "1.69.0", "rules", "id", rule, "properties", "tags", tags, "results",
	              "ruleId", rule, "ruleIndex", 0, "level", "error", "message", "text",
	              "Untrusted input written to the page", "locations", "physicalLocation",
	              "artifactLocation", "uri", file, "region", "startLine", line);
	assert_non_null(log);
	char *path = ts_asprintf("%s/%s", dir, name);
	assert_int_equal(json_dump_file(log, path, JSON_INDENT(1)), 0);
	json_decref(log);
	return path;
}

static void ingest_file(struct fixture *f, const struct cwe_catalog *cat, const char *path)
{
	struct ingest_request r = {.project = "ntc",
	                           .path = path,
	                           .cwe = cat,
	                           .library = f->g.lib,
	                           .project_cfg = config_find_project(f->g.cfg, "ntc")};
	json_t *res = NULL;
	struct ts_err err = {0};
	int rc = ingest_report(f->g.s, &r, &res, &err);
	if (rc)
		fail_msg("ingest %s: %s", path, err.msg);
	json_decref(res);
}

/* End to end on Jira Cloud: the WidgetsRUs model with the shipped library,
 * generated and pushed; a ticket of the portal marked done by a person;
 * semgrep finds the weakness of its threat in the portal's code: the
 * ticket is reopened once with the comment naming tool, rule, CWE and
 * file:line; a rescan without it: one "Verified by" comment. */
static void test_end_to_end_widgetsrus(void **state)
{
	(void)state;
	struct fixture f;
	memset(&f, 0, sizeof(f));
	f.tr = CLOUD;
	ju_emu_start(&f.jira, "cloud", NULL);
	f.dir = tu_tmpdir();
	free(tu_write_file(f.dir, "token", "emu-token\n"));
	const char *src = tu_env("TS_SOURCE_DIR");
	char *conf_text = ts_asprintf(
	    "database = \"unused.db\";\n"
	    "library_paths = [ \"%s/library\" ];\n"
	    "connectors = ( { name = \"trk\"; type = \"jira\"; flavor = \"cloud\";"
	    " base_url = \"%s\"; email = \"threatsync@example.com\"; token_file = \"token\";"
	    " concurrency = 4; rate_per_second = 1000.0; burst = 1000; max_attempts = 10;"
	    " connect_timeout_ms = 1000; request_timeout_ms = 3000; } );\n"
	    "projects = ( { slug = \"ntc\"; connector = \"trk\"; tracker_project = \"WRU\"; } );\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    src, f.jira.base);
	char *conf = tu_write_file(f.dir, "t.conf", conf_text);
	char *model = ts_asprintf("%s/examples/widgetsrus/model.json", src);
	gu_open(&f.g, conf);
	gu_import(&f.g, "ntc", model);
	json_decref(gu_generate(&f.g, "ntc", NULL));
	free(conf_text);
	free(conf);
	free(model);
	converge(&f);

	/* A task of the portal whose threat names a CWE. */
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(
	        store_db(f.g.s),
	        "SELECT c.id, t.remote_key, json_extract(c.body, '$.threats[0].cwe[0]')"
	        " FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id"
	        " WHERE json_extract(c.body, '$.component.id') = 'web_portal'"
	        " AND json_extract(c.body, '$.threats[0].cwe[0]') IS NOT NULL"
	        " ORDER BY c.id LIMIT 1",
	        -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	f.cm_id = sqlite3_column_int64(st, 0);
	f.key = ts_strdup((const char *)sqlite3_column_text(st, 1));
	int cwe = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	char *path = issue_path(&f, "/transition");
	json_decref(emu(&f, "POST", path, "{\"to\":\"Done\",\"actor\":\"alice\"}"));
	free(path);
	run_pass(&f);
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures WHERE id = %lld"
	         " AND status = 'done'",
	         (long long)f.cm_id);
	assert_int_equal(gu_int(&f.g, sql), 1);

	char *lib = ts_asprintf("%s/library", src);
	const char *dirs[] = {lib};
	struct cwe_catalog *cat = NULL;
	struct ts_err err = {0};
	assert_int_equal(cwe_catalog_load(dirs, 1, &cat, &err), 0);
	free(lib);
	char *scan = write_sarif(f.dir, "scan1.sarif", "csharp.xss", cwe,
	                         "src/WidgetsRUs.Portal/Views/Home/Index.cshtml", 42);
	ingest_file(&f, cat, scan);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE countermeasure_id = %lld"
	         " AND op = 'reopen' AND state = 'pending'",
	         (long long)f.cm_id);
	assert_int_equal(gu_int(&f.g, sql), 1);
	converge(&f);
	int c, t;
	char *ipath = issue_path(&f, "");
	json_t *iss = emu(&f, "GET", ipath, NULL);
	json_t *cs = json_object_get(iss, "comments");
	c = (int)json_integer_value(
	    json_object_get(json_object_get(iss, "api_counts"), "comments"));
	t = (int)json_integer_value(
	    json_object_get(json_object_get(iss, "api_counts"), "transitions"));
	assert_int_equal(c, 1);
	assert_int_equal(t, 1);
	assert_string_equal(json_string_value(json_object_get(iss, "statusCategory")), "new");
	char *body = json_dumps(json_object_get(json_array_get(cs, 0), "body"), JSON_ENCODE_ANY);
	char want[64];
	snprintf(want, sizeof(want), "CWE-%d", cwe);
	assert_non_null(strstr(body, "semgrep"));
	assert_non_null(strstr(body, "csharp.xss"));
	assert_non_null(strstr(body, want));
	assert_non_null(strstr(body, "src/WidgetsRUs.Portal/Views/Home/Index.cshtml:42"));
	assert_non_null(strstr(body, "threatsync notice "));
	free(body);
	json_decref(iss);

	/* The rescan has only an unrelated result (a SARIF log without any
	 * result names no tool, so it would not be a rescan). */
	char *rescan = write_sarif(f.dir, "scan2.sarif", "generic.todo", 0, "README.md", 1);
	ingest_file(&f, cat, rescan);
	converge(&f);
	iss = emu(&f, "GET", ipath, NULL);
	cs = json_object_get(iss, "comments");
	c = (int)json_integer_value(
	    json_object_get(json_object_get(iss, "api_counts"), "comments"));
	t = (int)json_integer_value(
	    json_object_get(json_object_get(iss, "api_counts"), "transitions"));
	assert_int_equal(c, 2);
	assert_int_equal(t, 1);
	body = json_dumps(json_object_get(json_array_get(cs, 1), "body"), JSON_ENCODE_ANY);
	assert_non_null(strstr(body, "Verified by semgrep"));
	free(body);
	json_decref(iss);
	free(ipath);
	free(scan);
	free(rescan);
	cwe_catalog_free(cat);
	fixture_close(&f);
}

static void test_reopen_and_comment_cloud(void **s)
{
	(void)s;
	reopen_and_comment(CLOUD);
}
static void test_reopen_and_comment_dc(void **s)
{
	(void)s;
	reopen_and_comment(DC);
}
static void test_reopen_and_comment_gitlab(void **s)
{
	(void)s;
	reopen_and_comment(GITLAB);
}
static void test_comment_reset_cloud(void **s)
{
	(void)s;
	comment_reset(CLOUD);
}
static void test_comment_reset_dc(void **s)
{
	(void)s;
	comment_reset(DC);
}
static void test_comment_reset_gitlab(void **s)
{
	(void)s;
	comment_reset(GITLAB);
}
static void test_transition_reset_cloud(void **s)
{
	(void)s;
	transition_reset(CLOUD);
}
static void test_transition_reset_dc(void **s)
{
	(void)s;
	transition_reset(DC);
}
static void test_transition_reset_gitlab(void **s)
{
	(void)s;
	transition_reset(GITLAB);
}
static void test_reopen_note_reset_gitlab(void **s)
{
	(void)s;
	reopen_note_reset();
}
static void test_killed_cloud(void **s)
{
	(void)s;
	killed(CLOUD);
}
static void test_killed_dc(void **s)
{
	(void)s;
	killed(DC);
}
static void test_killed_gitlab(void **s)
{
	(void)s;
	killed(GITLAB);
}
static void test_reopened_meanwhile_cloud(void **s)
{
	(void)s;
	reopened_meanwhile(CLOUD);
}
static void test_reopened_meanwhile_dc(void **s)
{
	(void)s;
	reopened_meanwhile(DC);
}
static void test_reopened_meanwhile_gitlab(void **s)
{
	(void)s;
	reopened_meanwhile(GITLAB);
}
static void test_bounded_cloud(void **s)
{
	(void)s;
	bounded(CLOUD);
}
static void test_bounded_gitlab(void **s)
{
	(void)s;
	bounded(GITLAB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_reopen_and_comment_cloud, teardown),
	    cmocka_unit_test_teardown(test_reopen_and_comment_dc, teardown),
	    cmocka_unit_test_teardown(test_reopen_and_comment_gitlab, teardown),
	    cmocka_unit_test_teardown(test_comment_reset_cloud, teardown),
	    cmocka_unit_test_teardown(test_comment_reset_dc, teardown),
	    cmocka_unit_test_teardown(test_comment_reset_gitlab, teardown),
	    cmocka_unit_test_teardown(test_transition_reset_cloud, teardown),
	    cmocka_unit_test_teardown(test_transition_reset_dc, teardown),
	    cmocka_unit_test_teardown(test_transition_reset_gitlab, teardown),
	    cmocka_unit_test_teardown(test_reopen_note_reset_gitlab, teardown),
	    cmocka_unit_test_teardown(test_killed_cloud, teardown),
	    cmocka_unit_test_teardown(test_killed_dc, teardown),
	    cmocka_unit_test_teardown(test_killed_gitlab, teardown),
	    cmocka_unit_test_teardown(test_reopened_meanwhile_cloud, teardown),
	    cmocka_unit_test_teardown(test_reopened_meanwhile_dc, teardown),
	    cmocka_unit_test_teardown(test_reopened_meanwhile_gitlab, teardown),
	    cmocka_unit_test_teardown(test_bounded_cloud, teardown),
	    cmocka_unit_test_teardown(test_end_to_end_widgetsrus, teardown),
	    cmocka_unit_test_teardown(test_bounded_gitlab, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
