/* SPDX-License-Identifier: Apache-2.0 */
/* The CI gate: its configuration, each rule passing and failing, the delta of
 * a candidate model (and that computing it writes nothing), and compliance
 * coverage with exact arithmetic on the generation fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/config.h"
#include "engine/gate/gate.h"
#include "engine/model/model.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

static const char *NOW = "2026-11-22T10:00:00.000Z";

/* The fixture shop generated as "tracked" (mapped to a connector) or
 * "plain" (not in the configuration, so untracked). */
static void open_shop(struct gu *g, const char *slug)
{
	char *conf = gu_data("gen.conf");
	char *model = gu_data("shop.json");
	gu_open(g, conf);
	gu_import(g, slug, model);
	json_decref(gu_generate(g, slug, NOW));
	free(conf);
	free(model);
}

static void exec_sql(struct gu *g, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(store_db(g->s), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* The reasons of a check at now, one "message" per line (new string). */
static char *reasons(struct gu *g, const char *slug, const char *now, const json_t *model,
                     json_t **ret_doc)
{
	struct gate_opts o = {.now = now, .model = model, .lib = g->lib};
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (gate_check(g->s, g->cfg, slug, &o, &doc, &err) < 0)
		fail_msg("gate_check: %s", err.msg);
	struct ts_buf b = {0};
	size_t i;
	json_t *r;
	json_array_foreach (json_object_get(doc, "reasons"), i, r)
		ts_buf_printf(&b, "%s\n", json_string_value(json_object_get(r, "message")));
	assert_int_equal(json_is_true(json_object_get(doc, "passed")),
	                 json_array_size(json_object_get(doc, "reasons")) == 0);
	if (ret_doc)
		*ret_doc = doc;
	else
		json_decref(doc);
	char *s = ts_buf_steal(&b);
	return s ? s : ts_strdup("");
}

static void expect_reasons(struct gu *g, const char *slug, const char *now, const char *want)
{
	char *got = reasons(g, slug, now, NULL, NULL);
	assert_string_equal(got, want);
	free(got);
}

static void test_config(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct ts_err err = {0};
	struct config *cfg = config_new_default();
	assert_int_equal(cfg->gate.max_priority_failed, 2);
	assert_string_equal(cfg->gate.fail_on_untracked[0], "critical");
	assert_string_equal(cfg->gate.fail_on_untracked[1], "high");
	assert_null(cfg->gate.fail_on_untracked[2]);
	assert_true(cfg->gate.fail_on_overdue);
	assert_true(cfg->gate.fail_on_new_untasked);
	config_free(cfg);

	char *good = tu_write_file(dir, "good.conf",
	                           "database = \":memory:\";\n"
	                           "gate = { max_priority_failed = 0; fail_on_untracked = [ ];\n"
	                           "  fail_on_overdue = false; };\n");
	cfg = NULL;
	if (config_load(good, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg->gate.max_priority_failed, 0);
	assert_null(cfg->gate.fail_on_untracked[0]);
	assert_false(cfg->gate.fail_on_overdue);
	assert_true(cfg->gate.fail_on_new_untasked);
	assert_int_equal(cfg->gate.line, 2);
	config_free(cfg);

	char *bad = tu_write_file(dir, "bad.conf",
	                          "database = \":memory:\";\n"
	                          "gate = {\n"
	                          "  max_priority_failed = 5;\n"
	                          "  fail_on_untracked = [ \"high\", \"severe\" ];\n"
	                          "  fail_on_overdue = 1;\n"
	                          "  fail_on_stale = true;\n"
	                          "};\n");
	cfg = NULL;
	assert_int_not_equal(config_load(bad, &cfg, &err), 0);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	char *want = ts_asprintf(
	    "%s:3: gate: max_priority_failed 5 is out of range 0 or 1..4\n"
	    "%s:4: gate: fail_on_untracked[1]: not a severity (one of critical, high, medium, "
	    "low)\n"
	    "%s:5: gate: fail_on_overdue: expected true or false, got an integer\n"
	    "%s:6: gate: unknown key 'fail_on_stale'",
	    bad, bad, bad, bad);
	assert_string_equal(err.msg, want);
	free(want);
	free(good);
	free(bad);
	tu_rmrf(dir);
	free(dir);
}

static void test_rule_untracked(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked");
	expect_reasons(&g, "tracked", NOW,
	               "untracked high threat T-DATA-LEAK@db: no ticket for C-AUDIT-LOG@db\n"
	               "untracked critical threat T-INJECTION@web: no ticket for "
	               "C-AUDIT-LOG@web, C-INPUT-VALIDATION@web\n");
	/* A ticket for one task of a threat leaves the other named. */
	exec_sql(&g, "INSERT INTO tickets(id, project_id, connector, marker, remote_key,"
	             " created_at, updated_at) SELECT 1, id, 'gl', 'm-1', 'acme/shop#1', 'x', 'x'"
	             " FROM projects WHERE slug = 'tracked';"
	             "UPDATE countermeasures SET ticket_id = 1 WHERE uid IN"
	             " ('C-AUDIT-LOG@db', 'C-INPUT-VALIDATION@web')");
	expect_reasons(&g, "tracked", NOW,
	               "untracked critical threat T-INJECTION@web: no ticket for "
	               "C-AUDIT-LOG@web\n");
	/* Only critical now: the high threat's tasks no longer matter. */
	exec_sql(&g, "UPDATE countermeasures SET ticket_id = NULL");
	free(g.cfg->gate.fail_on_untracked[1]);
	g.cfg->gate.fail_on_untracked[1] = NULL;
	expect_reasons(&g, "tracked", NOW,
	               "untracked critical threat T-INJECTION@web: no ticket for "
	               "C-AUDIT-LOG@web, C-INPUT-VALIDATION@web\n");
	/* A task done needs no ticket. */
	exec_sql(&g, "UPDATE countermeasures SET status = 'done' WHERE uid IN"
	             " ('C-AUDIT-LOG@web', 'C-INPUT-VALIDATION@web')");
	expect_reasons(&g, "tracked", NOW, "");
	gu_close(&g);
}

static void test_untracked_project(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	json_t *doc = NULL;
	char *got = reasons(&g, "plain", NOW, NULL, &doc);
	assert_string_equal(got, "");
	assert_false(json_is_true(json_object_get(doc, "tracked")));
	assert_true(json_is_true(json_object_get(doc, "passed")));
	assert_true(json_is_null(json_object_get(doc, "delta")));
	free(got);
	json_decref(doc);
	struct ts_err err = {0};
	struct gate_opts o = {.now = NOW};
	assert_int_equal(gate_check(g.s, g.cfg, "nope", &o, &doc, &err) < 0, 1);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	gu_close(&g);
}

static void test_rule_failed_verification(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	/* Priority 2 and priority 4 tasks fail verification: the default limit
	 * is 2. */
	exec_sql(&g, "UPDATE countermeasures SET verification = 'failed' WHERE uid IN"
	             " ('C-INPUT-VALIDATION@web', 'C-AUDIT-LOG@db')");
	expect_reasons(&g, "plain", NOW,
	               "verification failed: task C-INPUT-VALIDATION@web (priority 2)\n");
	g.cfg->gate.max_priority_failed = 4;
	expect_reasons(&g, "plain", NOW,
	               "verification failed: task C-AUDIT-LOG@db (priority 4)\n"
	               "verification failed: task C-INPUT-VALIDATION@web (priority 2)\n");
	g.cfg->gate.max_priority_failed = 1;
	expect_reasons(&g, "plain", NOW, "");
	g.cfg->gate.max_priority_failed = 0;
	expect_reasons(&g, "plain", NOW, "");
	gu_close(&g);
}

static void test_rule_overdue(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	/* The high policy gives priority 2 twenty days: due 2026-12-12. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM countermeasures WHERE"
	                            " uid = 'C-INPUT-VALIDATION@web' AND due_date = '2026-12-12'"),
	                 1);
	expect_reasons(&g, "plain", "2026-12-12T23:59:59.000Z", "");
	expect_reasons(&g, "plain", "2026-12-13T00:00:00.000Z",
	               "overdue: task C-INPUT-VALIDATION@web was due 2026-12-12 (todo)\n");
	exec_sql(&g, "UPDATE countermeasures SET status = 'in_progress'");
	expect_reasons(&g, "plain", "2026-12-13T00:00:00.000Z",
	               "overdue: task C-INPUT-VALIDATION@web was due 2026-12-12 (in_progress)\n");
	g.cfg->gate.fail_on_overdue = false;
	expect_reasons(&g, "plain", "2026-12-13T00:00:00.000Z", "");
	g.cfg->gate.fail_on_overdue = true;
	exec_sql(&g, "UPDATE countermeasures SET status = 'done'");
	expect_reasons(&g, "plain", "2026-12-13T00:00:00.000Z", "");
	gu_close(&g);
}

/* shop.json with the database (and its flow) removed and a REST API added. */
static json_t *edited_shop(void)
{
	char *path = gu_data("shop.json");
	json_t *m = json_load_file(path, 0, NULL);
	free(path);
	assert_non_null(m);
	json_t *comps = json_object_get(m, "components");
	json_array_remove(comps, 4); /* db */
	json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:s}", "id", "api", "type",
	                                       "rest_api", "name", "API", "trust_zone", "dmz"));
	json_array_remove(json_object_get(m, "flows"), 3); /* f-web-db */
	return m;
}

static json_t *normalised(const json_t *m)
{
	char *text = json_dumps(m, JSON_COMPACT);
	json_t *out = NULL;
	struct ts_err err = {0};
	if (model_parse("edited.json", text, strlen(text), MODEL_FORMAT_NATIVE, false, NULL, &out,
	                NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	free(text);
	return out;
}

static char *joined(const json_t *d, const char *group, const char *key)
{
	struct ts_buf b = {0};
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(json_object_get(d, group), key), i, v)
		ts_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(v));
	char *s = ts_buf_steal(&b);
	return s ? s : ts_strdup("");
}

static void expect_list(const json_t *d, const char *group, const char *key, const char *want)
{
	char *got = joined(d, group, key);
	if (strcmp(got, want) != 0)
		fail_msg("%s.%s: got '%s', want '%s'", group, key, got, want);
	free(got);
}

static void test_model_delta(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	json_t *raw = edited_shop();
	json_t *model = normalised(raw);
	json_decref(raw);
	long long versions = gu_int(&g, "SELECT count(*) FROM model_versions");
	long long threats = gu_int(&g, "SELECT count(*) FROM threats");
	json_t *doc = NULL;
	char *got = reasons(&g, "plain", NOW, model, &doc);
	assert_string_equal(got, "");
	free(got);
	json_t *d = json_object_get(doc, "delta");
	assert_int_equal(json_integer_value(json_object_get(d, "base_version")), 1);
	expect_list(d, "components", "added", "api");
	expect_list(d, "components", "removed", "db");
	expect_list(d, "flows", "added", "");
	expect_list(d, "flows", "removed", "f-web-db");
	expect_list(d, "threats", "appear", "T-INJECTION@api");
	expect_list(d, "threats", "disappear", "T-DATA-LEAK@db T-SNIFF@f-web-db");
	expect_list(d, "tasks", "appear", "C-AUDIT-LOG@api C-INPUT-VALIDATION@api");
	expect_list(d, "tasks", "disappear", "C-AUDIT-LOG@db");
	assert_int_equal(json_array_size(json_object_get(d, "untasked")), 0);
	json_decref(doc);
	json_decref(model);
	/* Nothing was stored. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM model_versions"), versions);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats"), threats);
	gu_close(&g);
}

static void test_rule_new_untasked(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	/* Without gdpr the audit log (priority 4) and encryption at rest
	 * (priority 3) are out of the high policy's scope (2): a second
	 * personal-data store brings a data-leak threat nothing addresses. The
	 * first store's threat loses its task too, but it is not new. */
	char *path = gu_data("shop.json");
	json_t *raw = json_load_file(path, 0, NULL);
	free(path);
	json_object_set_new(json_object_get(raw, "project"), "compliance", json_array());
	json_array_append_new(json_object_get(raw, "components"),
	                      json_pack("{s:s, s:s, s:s, s:s, s:{s:b}}", "id", "db2", "type",
	                                "sql_database", "name", "Archive", "trust_zone", "core",
	                                "properties", "handles_pii", 1));
	json_t *model = normalised(raw);
	json_decref(raw);
	json_t *doc = NULL;
	char *got = reasons(&g, "plain", NOW, model, &doc);
	assert_string_equal(got, "new threat without a task: T-DATA-LEAK@db2\n");
	free(got);
	expect_list(json_object_get(doc, "delta"), "threats", "appear", "T-DATA-LEAK@db2");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "counts"), "new_untasked")), 1);
	json_decref(doc);
	g.cfg->gate.fail_on_new_untasked = false;
	got = reasons(&g, "plain", NOW, model, NULL);
	assert_string_equal(got, "");
	free(got);
	json_decref(model);
	gu_close(&g);
}

/* Runs the CLI with config conf at day now; returns the exit status and the
 * output in *ret_out (may be NULL). */
static int cli(const char *conf, const char *now, char **ret_out, ...)
{
	char env_now[64];
	snprintf(env_now, sizeof(env_now), "THREATSYNC_NOW=%s", now);
	const char *const env[] = {env_now, NULL};
	const char *argv[16] = {tu_env("TS_THREATSYNC"), "-c", conf};
	size_t n = 3;
	va_list ap;
	va_start(ap, ret_out);
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL && n < 15)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, NULL, env, 60000, ret_out, NULL);
}

/* The CLI on a database file: exit codes, the text output, the file unchanged
 * byte for byte by check --model. */
static void test_cli_file_unchanged(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *db = ts_asprintf("%s/t.db", dir);
	char *lib = gu_data("lib");
	char *tok = gu_data("token");
	char *shop = gu_data("shop.json");
	/* gen.conf with this database and absolute paths; "shop" is not one of
	 * its projects, so it is not tracked. */
	char *gen = gu_data("gen.conf");
	char *text = tu_read_file(gen);
	assert_non_null(text);
	struct ts_buf b = {0};
	ts_buf_printf(&b, "database = \"%s\";\nlibrary_paths = [ \"%s\" ];\n", db, lib);
	const char *p = strstr(text, "connectors");
	assert_non_null(p);
	ts_buf_puts(&b, p);
	char *conf_text = ts_buf_steal(&b);
	char *conf = tu_write_file(dir, "c.conf", conf_text);
	char *tok_text = tu_read_file(tok);
	free(tu_write_file(dir, "token", tok_text));
	json_t *raw = edited_shop();
	char *cand = ts_asprintf("%s/candidate.json", dir);
	assert_int_equal(json_dump_file(raw, cand, 0), 0);
	json_decref(raw);
	const char *day = "2026-11-22";
	assert_int_equal(cli(conf, day, NULL, "project", "add", "shop", NULL), 0);
	assert_int_equal(cli(conf, day, NULL, "model", "import", "shop", shop, NULL), 0);
	assert_int_equal(cli(conf, day, NULL, "generate", "shop", NULL), 0);
	char before[65], after[65];
	tu_file_hash(db, before);
	char *out = NULL;
	assert_int_equal(cli(conf, day, &out, "check", "shop", "--model", cand, NULL), 0);
	assert_string_equal(out, "model delta against version 1:\n"
	                         "  components added: 1 (api)\n"
	                         "  components removed: 1 (db)\n"
	                         "  flows added: 0\n"
	                         "  flows removed: 1 (f-web-db)\n"
	                         "  threats appearing: 1 (T-INJECTION@api)\n"
	                         "  threats disappearing: 2 (T-DATA-LEAK@db, T-SNIFF@f-web-db)\n"
	                         "  tasks appearing: 2 (C-AUDIT-LOG@api, C-INPUT-VALIDATION@api)\n"
	                         "  tasks disappearing: 1 (C-AUDIT-LOG@db)\n"
	                         "  new threats without a task: 0\n"
	                         "shop: gate passed\n");
	free(out);
	tu_file_hash(db, after);
	assert_string_equal(before, after);
	/* A bad model file: 65, an unknown project: 66, a failing gate: 1. */
	char *bad = tu_write_file(dir, "bad.json", "{\"format\": \"threatsync-model/1\", ");
	assert_int_equal(cli(conf, day, NULL, "check", "shop", "--model", bad, NULL), EX_DATAERR);
	assert_int_equal(cli(conf, day, NULL, "check", "nope", NULL), EX_NOINPUT);
	assert_int_equal(cli(conf, "2027-01-01", &out, "check", "shop", NULL), 1);
	assert_string_equal(out,
	                    "shop: gate failed (1 reason)\n"
	                    "overdue: task C-INPUT-VALIDATION@web was due 2026-12-12 (todo)\n");
	free(out);
	tu_file_hash(db, after);
	assert_string_equal(before, after);
	free(bad);
	free(cand);
	free(tok_text);
	free(conf);
	free(conf_text);
	free(text);
	free(gen);
	free(shop);
	free(tok);
	free(lib);
	free(db);
	tu_rmrf(dir);
	free(dir);
}

static const json_t *framework(const json_t *doc, const char *name)
{
	size_t i;
	json_t *f;
	json_array_foreach (json_object_get(doc, "frameworks"), i, f) {
		if (strcmp(json_string_value(json_object_get(f, "framework")), name) == 0)
			return f;
	}
	fail_msg("framework %s not reported", name);
	return NULL;
}

/* "controls covered partly not_covered percent" of a framework. */
static void expect_totals(const json_t *doc, const char *name, const char *want)
{
	const json_t *t = json_object_get(framework(doc, name), "totals");
	char got[128];
	snprintf(got, sizeof(got), "%d %d %d %d %.1f",
	         (int)json_integer_value(json_object_get(t, "controls")),
	         (int)json_integer_value(json_object_get(t, "covered")),
	         (int)json_integer_value(json_object_get(t, "partly")),
	         (int)json_integer_value(json_object_get(t, "not_covered")),
	         json_real_value(json_object_get(t, "percent")));
	assert_string_equal(got, want);
}

static json_t *compliance(struct gu *g, const char *fw)
{
	json_t *doc = NULL;
	struct ts_err err = {0};
	if (gate_compliance(g->s, g->cfg, "plain", fw, &doc, &err) < 0)
		fail_msg("%s", err.msg);
	return doc;
}

static void test_compliance(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "plain");
	/* Required: owasp-asvs by the high policy, gdpr by the model. */
	json_t *doc = compliance(&g, NULL);
	assert_int_equal(json_array_size(json_object_get(doc, "frameworks")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "required"), 0)),
	                    "gdpr");
	/* Art. 30: both audit-log tasks todo. 2.1.1 and 9.1.1 satisfied by the
	 * SSO and the gateway, 5.1.3 (input validation) todo. */
	expect_totals(doc, "gdpr", "1 0 0 1 0.0");
	expect_totals(doc, "owasp-asvs", "3 2 0 1 66.7");
	json_decref(doc);

	exec_sql(&g, "UPDATE countermeasures SET status = 'done' WHERE uid = 'C-AUDIT-LOG@db'");
	doc = compliance(&g, NULL);
	expect_totals(doc, "gdpr", "1 0 1 0 0.0");
	json_decref(doc);
	/* Done but failing verification is not complete. */
	exec_sql(&g, "UPDATE countermeasures SET status = 'done', verification = 'failed'"
	             " WHERE uid = 'C-AUDIT-LOG@web'");
	doc = compliance(&g, NULL);
	expect_totals(doc, "gdpr", "1 0 1 0 0.0");
	json_decref(doc);
	exec_sql(&g, "UPDATE countermeasures SET verification = 'passed'"
	             " WHERE uid = 'C-AUDIT-LOG@web';"
	             "UPDATE countermeasures SET status = 'not_applicable'"
	             " WHERE uid = 'C-INPUT-VALIDATION@web'");
	doc = compliance(&g, NULL);
	expect_totals(doc, "gdpr", "1 1 0 0 100.0");
	expect_totals(doc, "owasp-asvs", "3 3 0 0 100.0");
	json_decref(doc);
	/* A risk accepted is not compliance. */
	exec_sql(&g, "UPDATE countermeasures SET status = 'risk_accepted'"
	             " WHERE uid = 'C-INPUT-VALIDATION@web'");
	doc = compliance(&g, "owasp-asvs");
	assert_int_equal(json_array_size(json_object_get(doc, "frameworks")), 1);
	expect_totals(doc, "owasp-asvs", "3 2 0 1 66.7");
	json_decref(doc);
	/* Not required but mapped: iso-27001's A.8.5 (authentication); A.8.24
	 * belongs to encryption at rest, out of scope. */
	doc = compliance(&g, "iso-27001");
	expect_totals(doc, "iso-27001", "1 1 0 0 100.0");
	assert_false(json_is_true(json_object_get(framework(doc, "iso-27001"), "required")));
	json_decref(doc);
	struct ts_err err = {0};
	assert_int_equal(gate_compliance(g.s, g.cfg, "plain", "pci-dss", &doc, &err) < 0, 1);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	assert_string_equal(err.msg, "project plain: no task maps framework 'pci-dss' (mapped: "
	                             "gdpr, iso-27001, owasp-asvs)");
	gu_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_rule_untracked),
	    cmocka_unit_test(test_untracked_project),
	    cmocka_unit_test(test_rule_failed_verification),
	    cmocka_unit_test(test_rule_overdue),
	    cmocka_unit_test(test_model_delta),
	    cmocka_unit_test(test_rule_new_untasked),
	    cmocka_unit_test(test_cli_file_unchanged),
	    cmocka_unit_test(test_compliance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
