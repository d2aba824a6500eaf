/* SPDX-License-Identifier: Apache-2.0 */
/* Reports: the metrics (each figure with its exact value on the fixture
 * shop), the coalescing of snapshots, releases (what each addressed, a
 * duplicate name refused), the portfolio's order, the Markdown and CSV
 * escaping of hostile text, the WidgetsRUs report against its golden files
 * (tests/data/report/; scripts/regen-report-goldens.sh rewrites them) and the
 * command's exit codes.
 *
 * The fixture shop (tests/data/generate/shop.json, gen.conf) generated at
 * NOW has, active and in scope:
 *   threats  T-INJECTION@web critical 76.5 <- C-INPUT-VALIDATION@web (todo, due
 *            2026-12-12), C-AUDIT-LOG@web (todo)
 *            T-SPOOF-LOGIN@web high 38.3 <- C-AUTHN@web (satisfied)
 *            T-DATA-LEAK@db high 19.1 <- C-AUDIT-LOG@db (todo)
 *            T-SNIFF@f-gw-web medium 28.3, T-SNIFF@f-web-db and @f-web-sso
 *            medium 25.5 <- C-TLS@web (satisfied)
 * so T-INJECTION and T-DATA-LEAK are open (95.6) and the others addressed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest.h"
#include "engine/library/cwe.h"
#include "engine/model/project.h"
#include "engine/report/metrics.h"
#include "engine/report/release.h"
#include "engine/report/report.h"
#include "engine/tracking/override.h"
#include "engine/tracking/task_status.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"
#include "report/render.h"

#define NOW "2026-11-22T10:00:00.000Z"

static void exec_sql(struct gu *g, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(store_db(g->s), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int64_t pid_of(struct gu *g, const char *slug)
{
	int64_t pid = 0;
	assert_int_equal(project_find(g->s, slug, &pid, NULL), 0);
	return pid;
}

/* The fixture shop generated as project slug at NOW. */
static void add_shop(struct gu *g, const char *slug)
{
	char *model = gu_data("shop.json");
	gu_import(g, slug, model);
	json_decref(gu_generate(g, slug, NOW));
	free(model);
}

static void open_shop(struct gu *g, const char *slug)
{
	char *conf = gu_data("gen.conf");
	gu_open(g, conf);
	free(conf);
	add_shop(g, slug);
}

/* Task uid of project slug to status to at now, as a person would
 * (source cli). */
static void set_status(struct gu *g, const char *slug, const char *uid, const char *to,
                       const char *now)
{
	char *sql = ts_asprintf("SELECT c.id FROM countermeasures c JOIN projects p ON"
	                        " p.id = c.project_id WHERE p.slug = '%s' AND c.uid = '%s'",
	                        slug, uid);
	int64_t id = gu_int(g, sql);
	free(sql);
	sql = ts_asprintf("SELECT status FROM countermeasures WHERE id = %lld", (long long)id);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(g->s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *from = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	free(sql);
	struct task_status_change c = {
	    .countermeasure_id = id, .from = from, .to = to, .source = "cli", .actor = "tester"};
	struct ts_err err = {0};
	assert_int_equal(store_begin(g->s), 0);
	if (task_status_set(g->s, &c, now, &err) < 0)
		fail_msg("set %s to %s: %s", uid, to, err.msg);
	assert_int_equal(store_commit(g->s), 0);
	free(from);
}

static json_t *metrics_at(struct gu *g, const char *slug, const char *now)
{
	json_t *m = NULL;
	struct ts_err err = {0};
	if (metrics_compute(g->s, pid_of(g, slug), now, &m, &err) < 0)
		fail_msg("metrics: %s", err.msg);
	return m;
}

static json_int_t mi(const json_t *m, const char *group, const char *key)
{
	const json_t *o = group ? json_object_get(m, group) : m;
	const json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static double mreal(const json_t *m, const char *key)
{
	const json_t *v = json_object_get(m, key);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void assert_open(const json_t *m, int critical, int high, int medium, int low)
{
	assert_int_equal(mi(m, "threats_open", "critical"), critical);
	assert_int_equal(mi(m, "threats_open", "high"), high);
	assert_int_equal(mi(m, "threats_open", "medium"), medium);
	assert_int_equal(mi(m, "threats_open", "low"), low);
}

static void assert_near(double got, double want)
{
	if (got < want - 1e-9 || got > want + 1e-9)
		fail_msg("got %.10f, want %.10f", got, want);
}

/* ------------------------------------------------------------ metrics */

static void test_metrics_figures(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	json_t *m = metrics_at(&g, "plain", NOW);
	assert_open(m, 1, 1, 0, 0);
	assert_near(mreal(m, "risk_score"), 95.6);
	assert_int_equal(mi(m, "tasks", "todo"), 3);
	assert_int_equal(mi(m, "tasks", "satisfied"), 2);
	assert_int_equal(mi(m, "tasks", "done"), 0);
	assert_int_equal(mi(m, "tasks", "in_progress"), 0);
	assert_int_equal(mi(m, "tasks", "not_applicable"), 0);
	assert_int_equal(mi(m, "tasks", "risk_accepted"), 0);
	assert_int_equal(mi(m, NULL, "verification_failed"), 0);
	assert_int_equal(mi(m, NULL, "overdue"), 0);
	assert_true(json_is_null(json_object_get(m, "mttr_days")));
	json_decref(m);

	/* Done after 2 days: T-DATA-LEAK addressed. */
	set_status(&g, "plain", "C-AUDIT-LOG@db", "done", "2026-11-24T10:00:00.000Z");
	/* Done after 18 hours, reopened, done again after 1 day: the last move
	 * to done counts. */
	set_status(&g, "plain", "C-AUDIT-LOG@web", "done", "2026-11-23T04:00:00.000Z");
	set_status(&g, "plain", "C-AUDIT-LOG@web", "todo", "2026-11-23T05:00:00.000Z");
	set_status(&g, "plain", "C-AUDIT-LOG@web", "done", "2026-11-23T10:00:00.000Z");
	set_status(&g, "plain", "C-INPUT-VALIDATION@web", "in_progress",
	           "2026-11-25T10:00:00.000Z");
	/* A scanner still finds what C-TLS@web should prevent: the three
	 * T-SNIFF threats are open again. */
	exec_sql(&g, "UPDATE countermeasures SET verification = 'failed'"
	             " WHERE uid = 'C-TLS@web'");
	m = metrics_at(&g, "plain", "2026-12-12T23:00:00.000Z");
	assert_open(m, 1, 0, 3, 0);
	assert_near(mreal(m, "risk_score"), 76.5 + 28.3 + 25.5 + 25.5);
	assert_int_equal(mi(m, "tasks", "todo"), 0);
	assert_int_equal(mi(m, "tasks", "in_progress"), 1);
	assert_int_equal(mi(m, "tasks", "done"), 2);
	assert_int_equal(mi(m, "tasks", "satisfied"), 2);
	assert_int_equal(mi(m, NULL, "verification_failed"), 1);
	/* Due 2026-12-12: not overdue on that day, overdue the next. */
	assert_int_equal(mi(m, NULL, "overdue"), 0);
	assert_near(mreal(m, "mttr_days"), (2.0 + 1.0) / 2);
	json_decref(m);
	m = metrics_at(&g, "plain", "2026-12-13T00:00:00.000Z");
	assert_int_equal(mi(m, NULL, "overdue"), 1);
	json_decref(m);

	/* A risk acceptance of the threat in force: not open; expired: open. */
	struct ts_err err = {0};
	assert_int_equal(override_add(g.s, pid_of(&g, "plain"), "T-INJECTION@web", "risk_accepted",
	                              "compensating control", "tester", "2026-12-20",
	                              "2026-12-13T00:00:00.000Z", NULL, &err),
	                 0);
	m = metrics_at(&g, "plain", "2026-12-13T00:00:00.000Z");
	assert_open(m, 0, 0, 3, 0);
	assert_near(mreal(m, "risk_score"), 79.3);
	json_decref(m);
	json_t *states = NULL;
	assert_int_equal(metrics_threat_states(g.s, pid_of(&g, "plain"), "2026-12-13T00:00:00.000Z",
	                                       &states, &err),
	                 0);
	assert_string_equal(json_string_value(json_object_get(states, "T-INJECTION@web")),
	                    "accepted");
	assert_string_equal(json_string_value(json_object_get(states, "T-SNIFF@f-web-db")), "open");
	assert_string_equal(json_string_value(json_object_get(states, "T-DATA-LEAK@db")),
	                    "addressed");
	assert_int_equal(json_object_size(states), 6);
	json_decref(states);
	gu_close(&g);
}

static long long snapshots(struct gu *g)
{
	return gu_int(g, "SELECT count(*) FROM metric_snapshots");
}

static void test_snapshot_coalescing(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	int64_t pid = pid_of(&g, "plain");
	struct ts_err err = {0};
	int w = -1;
	assert_int_equal(metrics_snapshot(g.s, pid, "2026-11-22T10:00:00.000Z", &w, &err), 0);
	assert_int_equal(w, 1);
	/* Two changes within a minute: one row, holding the later metrics. */
	set_status(&g, "plain", "C-AUDIT-LOG@db", "done", "2026-11-22T10:00:30.000Z");
	assert_int_equal(metrics_snapshot(g.s, pid, "2026-11-22T10:00:30.000Z", &w, &err), 0);
	assert_int_equal(w, 2);
	assert_int_equal(snapshots(&g), 1);
	assert_int_equal(gu_int(&g, "SELECT json_extract(metrics, '$.tasks.done')"
	                            " FROM metric_snapshots"),
	                 1);
	/* A change 61 s after the row: a second row. */
	set_status(&g, "plain", "C-AUDIT-LOG@web", "done", "2026-11-22T10:01:01.000Z");
	assert_int_equal(metrics_snapshot(g.s, pid, "2026-11-22T10:01:01.000Z", &w, &err), 0);
	assert_int_equal(w, 1);
	assert_int_equal(snapshots(&g), 2);
	/* Nothing changed, later the same day: no row; the next day: the daily
	 * row. */
	assert_int_equal(metrics_snapshot(g.s, pid, "2026-11-22T18:00:00.000Z", &w, &err), 0);
	assert_int_equal(w, 0);
	assert_int_equal(snapshots(&g), 2);
	int n = -1;
	assert_int_equal(metrics_snapshot_all(g.s, "2026-11-23T00:00:05.000Z", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(snapshots(&g), 3);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM metric_snapshots WHERE taken_at ="
	                            " '2026-11-23T00:00:05.000Z'"),
	                 1);
	gu_close(&g);
}

/* ------------------------------------------------------------ releases */

static char *ids_text(const json_t *list)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		ts_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(e));
	}
	return ts_buf_steal(&b);
}

static void expect_addressed(const json_t *doc, const char *want)
{
	char *got = ids_text(json_object_get(doc, "threats_addressed"));
	assert_string_equal(got, want);
	free(got);
}

static void test_release_addressed(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	struct ts_err err = {0};
	json_t *doc = NULL;
	set_status(&g, "plain", "C-AUDIT-LOG@db", "done", "2026-11-24T10:00:00.000Z");
	assert_int_equal(
	    release_record(g.s, "plain", "1.0", "2026-11-25T10:00:00.000Z", &doc, &err), 0);
	expect_addressed(doc, "T-DATA-LEAK@db T-SNIFF@f-gw-web T-SNIFF@f-web-db"
	                      " T-SNIFF@f-web-sso T-SPOOF-LOGIN@web");
	assert_true(json_is_null(json_object_get(doc, "previous")));
	assert_int_equal(json_integer_value(json_object_get(doc, "addressed")), 5);
	assert_int_equal(json_integer_value(json_object_get(doc, "model_version")), 1);
	json_decref(doc);

	set_status(&g, "plain", "C-INPUT-VALIDATION@web", "done", "2026-11-26T10:00:00.000Z");
	set_status(&g, "plain", "C-AUDIT-LOG@web", "done", "2026-11-26T11:00:00.000Z");
	exec_sql(&g, "UPDATE countermeasures SET verification = 'failed'"
	             " WHERE uid = 'C-TLS@web'");
	assert_int_equal(
	    release_record(g.s, "plain", "1.1", "2026-11-27T10:00:00.000Z", &doc, &err), 0);
	expect_addressed(doc, "T-INJECTION@web");
	assert_string_equal(json_string_value(json_object_get(doc, "previous")), "1.0");
	assert_int_equal(json_integer_value(json_object_get(doc, "addressed")), 3);
	json_decref(doc);

	/* The list: each release with what it addressed since the one before. */
	json_t *list = NULL;
	assert_int_equal(release_list(g.s, pid_of(&g, "plain"), &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	expect_addressed(json_array_get(list, 1), "T-INJECTION@web");
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(json_object_get(json_array_get(list, 0), "metrics"),
	                                     "threats_open"),
	                     "critical")),
	                 1);
	json_decref(list);
	gu_close(&g);
}

static void test_release_duplicate(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	struct ts_err err = {0};
	json_t *doc = NULL;
	assert_int_equal(release_record(g.s, "plain", "r1", NOW, &doc, &err), 0);
	json_decref(doc);
	const char *count = "SELECT (SELECT count(*) FROM releases) * 10000"
	                    " + (SELECT count(*) FROM release_threats) * 100"
	                    " + (SELECT count(*) FROM metric_snapshots)";
	long long before = gu_int(&g, count);
	assert_int_equal(before, 10000 + 4 * 100 + 0);
	set_status(&g, "plain", "C-AUDIT-LOG@db", "done", "2026-11-24T10:00:00.000Z");
	assert_int_equal(release_record(g.s, "plain", "r1", "2026-11-24T10:00:00.000Z", &doc, &err),
	                 TS_E_INVALID);
	assert_null(doc);
	assert_string_equal(err.msg, "project plain: release 'r1' exists already");
	assert_int_equal(gu_int(&g, count), before);
	/* Bad names. */
	assert_int_equal(release_record(g.s, "plain", "", NOW, &doc, &err), TS_E_USAGE);
	assert_int_equal(release_record(g.s, "plain", "a\nb", NOW, &doc, &err), TS_E_USAGE);
	char name[RELEASE_NAME_MAX + 2];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(release_record(g.s, "plain", name, NOW, &doc, &err), TS_E_USAGE);
	name[RELEASE_NAME_MAX] = '\0';
	assert_int_equal(release_record(g.s, "plain", name, NOW, &doc, &err), 0);
	json_decref(doc);
	assert_true(release_record(g.s, "nope", "r9", NOW, &doc, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	gu_close(&g);
}

/* ------------------------------------------------------------ portfolio */

static void test_portfolio_order(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "alpha");
	add_shop(&g, "delta");
	add_shop(&g, "beta");
	struct ts_err err = {0};
	assert_int_equal(project_add(g.s, "gamma", "Gamma", "", NULL, &err), 0);
	/* alpha: T-DATA-LEAK addressed (76.5 left); beta and delta: T-INJECTION
	 * addressed (19.1 left, equal: by slug). */
	set_status(&g, "alpha", "C-AUDIT-LOG@db", "done", "2026-11-23T10:00:00.000Z");
	json_t *doc = NULL;
	assert_int_equal(release_record(g.s, "beta", "b1", NOW, &doc, &err), 0);
	json_decref(doc);
	set_status(&g, "beta", "C-INPUT-VALIDATION@web", "done", "2026-11-23T10:00:00.000Z");
	set_status(&g, "beta", "C-AUDIT-LOG@web", "done", "2026-11-23T10:00:00.000Z");
	set_status(&g, "delta", "C-INPUT-VALIDATION@web", "done", "2026-11-23T10:00:00.000Z");
	set_status(&g, "delta", "C-AUDIT-LOG@web", "done", "2026-11-23T10:00:00.000Z");
	assert_int_equal(report_portfolio(g.s, g.cfg, "2026-11-24T10:00:00.000Z", &doc, &err), 0);
	const json_t *list = json_object_get(doc, "projects");
	assert_int_equal(json_array_size(list), 4);
	static const char *const order[] = {"alpha", "beta", "delta", "gamma"};
	static const double scores[] = {76.5, 19.1, 19.1, 0};
	for (size_t i = 0; i < 4; i++) {
		const json_t *p = json_array_get(list, i);
		assert_string_equal(json_string_value(json_object_get(p, "slug")), order[i]);
		assert_near(json_number_value(json_object_get(p, "risk_score")), scores[i]);
	}
	/* The shop's class is the same for the three; gamma has none. */
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "risk_class")),
	    json_string_value(json_object_get(json_array_get(list, 2), "risk_class")));
	assert_true(json_is_null(json_object_get(json_array_get(list, 3), "risk_class")));
	const json_t *since = json_object_get(json_array_get(list, 1), "since_release");
	assert_string_equal(json_string_value(json_object_get(since, "release")), "b1");
	assert_near(json_number_value(json_object_get(since, "risk_score_delta")), -76.5);
	since = json_object_get(json_array_get(list, 2), "since_release");
	assert_true(json_is_null(json_object_get(since, "release")));
	assert_true(json_is_null(json_object_get(since, "risk_score_delta")));
	struct ts_buf b = {0};
	assert_int_equal(report_render_portfolio_csv(doc, &b, &err), 0);
	assert_string_equal(
	    b.data, "slug,name,risk_class,critical,high,medium,low,overdue,"
	            "verification_failed,risk_score,since_release,risk_score_delta,"
	            "coverage\r\n"
	            "alpha,alpha,high,1,0,0,0,0,0,76.50,,,gdpr:0/1/0;owasp-asvs:2/0/1\r\n"
	            "beta,beta,high,0,1,0,0,0,0,19.10,b1,-76.50,gdpr:0/1/0;owasp-asvs:3/0/0\r\n"
	            "delta,delta,high,0,1,0,0,0,0,19.10,,,gdpr:0/1/0;owasp-asvs:3/0/0\r\n"
	            "gamma,Gamma,,0,0,0,0,0,0,0.00,,,\r\n");
	ts_buf_free(&b);
	json_decref(doc);
	gu_close(&g);
}

/* ------------------------------------------------------------ escaping */

/* A report document holding only what the CSV and Markdown renderers read
 * of the tasks, with hostile text. */
static json_t *hostile_doc(void)
{
	json_error_t jerr;
	json_t *doc = json_loads(
	    "{\"report_version\": 1, \"generated_at\": \"2026-01-01T00:00:00.000Z\","
	    " \"project\": {\"slug\": \"p\", \"name\": \"P | <b>\", \"description\": null},"
	    " \"overdue_tasks\": [\"T2\"],"
	    " \"threats\": [{\"id\": \"TH1\", \"cwe\": [89, 79, 89]}, {\"id\": \"TH2\", \"cwe\": "
	    "[]}],"
	    " \"countermeasures\": ["
	    "  {\"id\": \"T1\", \"title\": \"=HYPERLINK(\\\"http://x\\\")\", \"component\": "
	    "\"@evil\","
	    "   \"priority\": 1, \"status\": \"todo\", \"verification\": \"untested\","
	    "   \"due_date\": null, \"threats\": [\"TH1\", \"TH2\"],"
	    "   \"ticket\": {\"connector\": \"j\", \"key\": \"K-1\", \"url\": \"https://j/K-1\"},"
	    "   \"details\": {\"compliance\": {\"gdpr\": [\"Art. 32\"], \"asvs\": [\"1.2\"]}}},"
	    "  {\"id\": \"T2\", \"title\": \"a \\\"quoted\\\", two\\nlines | <script>\","
	    "   \"component\": \"-1+1\", \"priority\": 2, \"status\": \"in_progress\","
	    "   \"verification\": \"failed\", \"due_date\": \"2025-12-01\", \"threats\": [],"
	    "   \"ticket\": {\"connector\": \"j\", \"key\": \"K-2\", \"url\": "
	    "\"javascript:alert(1)\"},"
	    "   \"details\": {}},"
	    "  {\"id\": \"T3\", \"title\": \"\\tTAB\", \"component\": \"+x\", \"priority\": 3,"
	    "   \"status\": \"done\", \"verification\": \"passed\", \"due_date\": null,"
	    "   \"threats\": [], \"ticket\": null, \"details\": {}}]}",
	    0, &jerr);
	if (!doc)
		fail_msg("hostile document: %s", jerr.text);
	return doc;
}

static void test_csv_escaping(void **state)
{
	(void)state;
	json_t *doc = hostile_doc();
	struct ts_buf b = {0};
	struct ts_err err = {0};
	assert_int_equal(report_render_csv(doc, &b, &err), 0);
	assert_string_equal(
	    b.data,
	    "task_id,title,component,priority,status,verification,due_date,overdue,ticket_key,"
	    "ticket_url,threats,cwe,frameworks\r\n"
	    "T1,\"'=HYPERLINK(\"\"http://x\"\")\",\"'@evil\",1,todo,untested,,no,K-1,https://j/K-1,"
	    "TH1;TH2,CWE-79;CWE-89,asvs:1.2;gdpr:Art. 32\r\n"
	    "T2,\"a \"\"quoted\"\", two\nlines | <script>\",\"'-1+1\",2,in_progress,failed,"
	    "2025-12-01,yes,K-2,javascript:alert(1),,,\r\n"
	    "T3,\"'\tTAB\",\"'+x\",3,done,passed,,no,,,,,\r\n");
	ts_buf_free(&b);
	json_decref(doc);
}

static void test_md_escaping(void **state)
{
	(void)state;
	json_t *doc = hostile_doc();
	struct ts_buf b = {0};
	struct ts_err err = {0};
	assert_int_equal(report_render_md(doc, &b, &err), 0);
	assert_non_null(strstr(b.data, "# Threat report: P \\| &lt;b> (p)\n"));
	assert_non_null(strstr(b.data, "| T1 | =HYPERLINK(\"http://x\") | @evil | 1 | todo |"
	                               " untested | \xe2\x80\x94 | [K-1](https://j/K-1) |\n"));
	/* One table row: the line break is a space, '|' escaped, no raw tag,
	 * and the javascript: URL is not a link. */
	assert_non_null(strstr(b.data, "| T2 | a \"quoted\", two lines \\| &lt;script> | -1+1 |"
	                               " 2 | in_progress | failed | 2025-12-01 | K-2 |\n"));
	assert_null(strstr(b.data, "<script>"));
	assert_null(strstr(b.data, "javascript:"));
	ts_buf_free(&b);
	json_decref(doc);
}

/* ------------------------------------------------------------ golden */

static void ingest(struct gu *g, const char *slug, const char *path, const char *now)
{
	struct ts_err err = {0};
	struct ingest_request r = {.project = slug,
	                           .path = path,
	                           .name = strrchr(path, '/') + 1,
	                           .format = FINDINGS_FORMAT_AUTO,
	                           .library = g->lib,
	                           .now = now};
	json_t *res = NULL;
	if (ingest_report(g->s, &r, &res, &err) < 0)
		fail_msg("ingest %s: %s", path, err.msg);
	json_decref(res);
}

static void release(struct gu *g, const char *slug, const char *name, const char *now)
{
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (release_record(g->s, slug, name, now, &doc, &err) < 0)
		fail_msg("release %s: %s", name, err.msg);
	json_decref(doc);
}

static void snapshot(struct gu *g, const char *slug, const char *now)
{
	struct ts_err err = {0};
	if (metrics_snapshot_slug(g->s, slug, now, &err) < 0)
		fail_msg("snapshot: %s", err.msg);
}

/* Compares text with tests/data/report/NAME, or rewrites that file when
 * $TS_REPORT_REGENERATE is set (scripts/regen-report-goldens.sh). */
static void golden(const char *name, const char *text)
{
	char *path = ts_asprintf("%s/tests/data/report/%s", tu_env("TS_SOURCE_DIR"), name);
	if (getenv("TS_REPORT_REGENERATE")) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
		assert_int_equal(fclose(f), 0);
		printf("wrote %s\n", path);
	} else {
		char *want = tu_read_file(path);
		if (!want)
			fail_msg("%s is missing (scripts/regen-report-goldens.sh)", path);
		if (strcmp(want, text) != 0) {
			size_t i = 0;
			while (want[i] && want[i] == text[i])
				i++;
			fail_msg("%s differs at byte %zu: got \"%.60s\", want \"%.60s\"", path, i,
			         text + i, want + i);
		}
		free(want);
	}
	free(path);
}

/* WidgetsRUs with the shipped configuration: imported and generated, a few
 * tasks worked on, two scans ingested (a real njsscan report, unmapped, and
 * an SQL injection in the orders API), a release, more work and an
 * override, a second release. */
static void test_golden_widgetsrus(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = gu_shipped_config(dir);
	struct gu g;
	gu_open(&g, conf);
	const char *src = tu_env("TS_SOURCE_DIR");
	char *model = ts_asprintf("%s/examples/widgetsrus/model.json", src);
	gu_import(&g, "widgetsrus", model);
	/* The import takes the clock: pinned so the output is the same every run. */
	exec_sql(&g, "UPDATE model_versions SET imported_at = '2026-01-10T08:00:00.000Z'");
	exec_sql(&g, "UPDATE projects SET name = 'WidgetsRUs',"
	             " description = 'Online shop for widgets | gadgets'");
	const char *t0 = "2026-01-10T09:00:00.000Z";
	json_decref(gu_generate(&g, "widgetsrus", t0));
	snapshot(&g, "widgetsrus", t0);

	const char *t1 = "2026-01-14T10:00:00.000Z";
	set_status(&g, "widgetsrus", "C-PARAMETERIZED-QUERIES@orders_api", "done", t1);
	set_status(&g, "widgetsrus", "C-DATA-PAN-MASKING@payments_service", "done", t1);
	set_status(&g, "widgetsrus", "C-K8S-RBAC-LEAST-PRIVILEGE@aks", "in_progress", t1);
	snapshot(&g, "widgetsrus", t1);

	const char *t2 = "2026-01-15T09:30:00.000Z";
	char *njs = ts_asprintf("%s/tests/data/findings/sarif/njsscan-0.2.3.sarif", src);
	char *orders = ts_asprintf("%s/tests/data/report/orders-scan.sarif", src);
	ingest(&g, "widgetsrus", njs, t2);
	ingest(&g, "widgetsrus", orders, t2);
	snapshot(&g, "widgetsrus", t2);
	release(&g, "widgetsrus", "2026.01", "2026-01-16T12:00:00.000Z");

	const char *t3 = "2026-01-28T15:00:00.000Z";
	set_status(&g, "widgetsrus", "C-K8S-RBAC-LEAST-PRIVILEGE@aks", "done", t3);
	set_status(&g, "widgetsrus", "C-DATA-PAN-MASKING@payments_service", "todo", t3);
	struct ts_err err = {0};
	int64_t pid = pid_of(&g, "widgetsrus");
	assert_int_equal(override_add(g.s, pid, "C-DATA-NO-DEFAULT-CREDENTIALS@session_cache",
	                              "not_applicable", "Redis runs with Entra ID auth only",
	                              "alice", NULL, t3, NULL, &err),
	                 0);
	snapshot(&g, "widgetsrus", t3);
	release(&g, "widgetsrus", "2026.02", "2026-02-02T12:00:00.000Z");

	const char *now = "2026-02-10T12:00:00.000Z";
	json_t *doc = NULL;
	if (report_build(g.s, g.cfg, g.lib, "widgetsrus", now, &doc, &err) < 0)
		fail_msg("report: %s", err.msg);
	char *json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	char *json_nl = ts_asprintf("%s\n", json);
	golden("widgetsrus.json", json_nl);
	struct ts_buf md = {0}, csv = {0};
	assert_int_equal(report_render_md(doc, &md, &err), 0);
	golden("widgetsrus.md", md.data);
	assert_int_equal(report_render_csv(doc, &csv, &err), 0);
	golden("widgetsrus.csv", csv.data);
	json_t *pf = NULL;
	assert_int_equal(report_portfolio(g.s, g.cfg, now, &pf, &err), 0);
	struct ts_buf pmd = {0};
	assert_int_equal(report_render_portfolio_md(pf, &pmd, &err), 0);
	golden("portfolio.md", pmd.data);

	ts_buf_free(&md);
	ts_buf_free(&csv);
	ts_buf_free(&pmd);
	json_decref(pf);
	free(json);
	free(json_nl);
	json_decref(doc);
	free(njs);
	free(orders);
	free(model);
	gu_close(&g);
	free(conf);
	tu_rmrf(dir);
	free(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* ------------------------------------------------------------ the command */

static int cli(const char *conf, char **ret_out, char **ret_err, ...)
{
	const char *const env[] = {"THREATSYNC_NOW=2026-11-22T10:00:00Z", NULL};
	const char *argv[16] = {tu_env("TS_THREATSYNC"), "-c", conf};
	size_t n = 3;
	va_list ap;
	va_start(ap, ret_err);
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL && n < 15)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, NULL, env, 60000, ret_out, ret_err);
}

static void test_cli_report(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *lib = gu_data("lib");
	char *shop = gu_data("shop.json");
	/* gen.conf with this database and absolute paths ("shop" is not tracked). */
	char *gen = gu_data("gen.conf");
	char *gen_text = tu_read_file(gen);
	assert_non_null(gen_text);
	const char *rest = strstr(gen_text, "connectors");
	assert_non_null(rest);
	char *text =
	    ts_asprintf("database = \"%s/t.db\";\nlibrary_paths = [ \"%s\" ];\n%s", dir, lib, rest);
	char *conf = tu_write_file(dir, "c.conf", text);
	char *tok = gu_data("token");
	char *tok_text = tu_read_file(tok);
	free(tu_write_file(dir, "token", tok_text));
	free(tok_text);
	free(tok);
	free(gen_text);
	free(gen);
	assert_int_equal(cli(conf, NULL, NULL, "project", "add", "shop", NULL), 0);
	assert_int_equal(cli(conf, NULL, NULL, "model", "import", "shop", shop, NULL), 0);
	assert_int_equal(cli(conf, NULL, NULL, "generate", "shop", NULL), 0);
	char *out = NULL, *err = NULL;
	/* The report written beside and renamed: the same bytes as stdout. */
	char *file = ts_asprintf("%s/r.csv", dir);
	assert_int_equal(cli(conf, &out, NULL, "report", "shop", "--format", "csv", NULL), 0);
	assert_int_equal(
	    cli(conf, NULL, NULL, "report", "shop", "--format", "csv", "--out", file, NULL), 0);
	char *written = tu_read_file(file);
	assert_non_null(written);
	assert_string_equal(written, out);
	assert_int_equal(strncmp(out, "task_id,title,", 14), 0);
	free(out);
	free(written);
	assert_int_equal(cli(conf, &out, NULL, "release", "shop", "v1", NULL), 0);
	assert_string_equal(out, "shop: release v1 recorded: 4 threats addressed, 4 since the "
	                         "start\n  T-SNIFF@f-gw-web\n  T-SNIFF@f-web-db\n"
	                         "  T-SNIFF@f-web-sso\n  T-SPOOF-LOGIN@web\n");
	free(out);
	assert_int_equal(cli(conf, NULL, &err, "release", "shop", "v1", NULL), EX_DATAERR);
	assert_string_equal(err, "threatsync: project shop: release 'v1' exists already\n");
	free(err);
	assert_int_equal(cli(conf, NULL, NULL, "report", "nope", "--format", "md", NULL),
	                 EX_NOINPUT);
	char *nodir = ts_asprintf("%s/no/such/dir/r.md", dir);
	assert_int_equal(
	    cli(conf, NULL, NULL, "report", "shop", "--format", "md", "--out", nodir, NULL),
	    EX_CANTCREAT);
	free(nodir);
	assert_int_equal(cli(conf, NULL, NULL, "report", "shop", NULL), EX_USAGE);
	assert_int_equal(cli(conf, NULL, NULL, "report", "shop", "--format", "pdf", NULL),
	                 EX_USAGE);
	assert_int_equal(cli(conf, NULL, NULL, "report", "shop", "--portfolio", NULL), EX_USAGE);
	assert_int_equal(cli(conf, &out, NULL, "report", "--portfolio", NULL), 0);
	assert_int_equal(strncmp(out, "# Portfolio\n", 12), 0);
	free(out);
	char *db = ts_asprintf("%s/t.db", dir);
	struct store *s = NULL;
	struct ts_err e = {0};
	assert_int_equal(store_open(db, 0, &s, &e), 0);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(s),
	                                    "SELECT (SELECT count(*) FROM metric_snapshots),"
	                                    " (SELECT count(*) FROM releases)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	/* One snapshot, by generate; the release is a row of its own. */
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	sqlite3_finalize(st);
	store_close(s);
	free(db);
	free(file);
	free(conf);
	free(text);
	free(shop);
	free(lib);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics_figures),   cmocka_unit_test(test_snapshot_coalescing),
	    cmocka_unit_test(test_release_addressed), cmocka_unit_test(test_release_duplicate),
	    cmocka_unit_test(test_portfolio_order),   cmocka_unit_test(test_csv_escaping),
	    cmocka_unit_test(test_md_escaping),       cmocka_unit_test(test_golden_widgetsrus),
	    cmocka_unit_test(test_cli_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
