/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of classification: rule order, first match wins, the default
 * class, rule names and lines, trust-boundary annotation, library type
 * defaults, and `classify` agreeing with `generate`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/classify.h"
#include "engine/generate/generate.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

static const char RULES[] =
    "classification = (\n"
    "  { name = \"payment\"; when = \"model.any(c, c.handles_payment)\"; class = \"critical\"; },\n"
    "  { name = \"exposed\"; when = \"model.any(c, c.internet_facing)\"; class = \"high\"; },\n"
    "  { name = \"pii\"; when = \"model.any(c, c.handles_pii)\"; class = \"critical\"; },\n"
    "  { name = \"gdpr\"; when = \"\\\"gdpr\\\" in model.compliance\"; class = \"medium\"; }\n"
    ");\n";

static struct config *load(const char *dir, const char *text)
{
	char *path = tu_write_file(dir, "c.conf", text);
	struct config *cfg = NULL;
	struct ts_err err = {0};
	if (config_load(path, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	free(path);
	return cfg;
}

static json_t *model(const char *components, const char *compliance)
{
	char *text = ts_asprintf("{\"project\": {\"name\": \"x\", \"compliance\": %s},"
	                         " \"components\": %s, \"flows\": []}",
	                         compliance, components);
	json_error_t e;
	json_t *m = json_loads(text, 0, &e);
	if (!m)
		fail_msg("%s: %s", text, e.text);
	free(text);
	return m;
}

static void test_rule_order(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct config *cfg = load(dir, RULES);
	struct ts_err err = {0};
	struct classify_result r;

	/* Internet facing with personal data: "exposed" comes first and wins,
	 * even though "pii" would give a higher class. */
	json_t *m = model("[{\"id\": \"a\", \"properties\": {\"internet_facing\": true,"
	                  " \"handles_pii\": true}}]",
	                  "[]");
	assert_int_equal(classify_model(cfg, m, &r, &err), 0);
	assert_string_equal(r.risk_class, "high");
	assert_string_equal(r.rule, "exposed");
	assert_int_equal(r.rule_index, 1);
	assert_int_equal(r.rule_line, 3);
	json_decref(m);

	/* Payment is first. */
	m = model("[{\"id\": \"a\", \"properties\": {\"internet_facing\": true,"
	          " \"handles_payment\": true}}]",
	          "[\"gdpr\"]");
	assert_int_equal(classify_model(cfg, m, &r, &err), 0);
	assert_string_equal(r.rule, "payment");
	assert_string_equal(r.risk_class, "critical");
	assert_int_equal(r.rule_line, 2);
	json_decref(m);

	/* Only the compliance list matches. */
	m = model("[{\"id\": \"a\", \"properties\": {}}]", "[\"gdpr\"]");
	assert_int_equal(classify_model(cfg, m, &r, &err), 0);
	assert_string_equal(r.rule, "gdpr");
	assert_string_equal(r.risk_class, "medium");
	json_decref(m);

	/* Nothing matches: the default class, no rule. */
	m = model("[{\"id\": \"a\"}]", "[]");
	assert_int_equal(classify_model(cfg, m, &r, &err), 0);
	assert_string_equal(r.risk_class, CLASSIFY_DEFAULT_CLASS);
	assert_string_equal(r.risk_class, "low");
	assert_null(r.rule);
	assert_int_equal(r.rule_index, -1);
	assert_int_equal(r.rule_line, 0);
	json_decref(m);
	config_free(cfg);

	/* No rules at all (built-in defaults). */
	cfg = config_new_default();
	m = model("[{\"id\": \"a\", \"properties\": {\"handles_payment\": true}}]", "[]");
	assert_int_equal(classify_model(cfg, m, &r, &err), 0);
	assert_string_equal(r.risk_class, "low");
	json_decref(m);
	config_free(cfg);
	tu_rmrf(dir);
	free(dir);
}

static void test_bad_rule_in_handmade_config(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct config *cfg = load(dir, RULES);
	/* config_load refuses such a rule; a hand-built config is checked too. */
	free(cfg->rules[0].when);
	cfg->rules[0].when = ts_strdup("model.any(c, ");
	json_t *m = model("[]", "[]");
	struct classify_result r;
	struct ts_err err = {0};
	assert_true(classify_model(cfg, m, &r, &err) < 0);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_non_null(strstr(err.msg, "c.conf:2: classification rule 'payment'"));
	json_decref(m);
	config_free(cfg);
	tu_rmrf(dir);
	free(dir);
}

static void test_rank_and_annotate(void **state)
{
	(void)state;
	assert_int_equal(classify_rank("critical"), 4);
	assert_int_equal(classify_rank("high"), 3);
	assert_int_equal(classify_rank("medium"), 2);
	assert_int_equal(classify_rank("low"), 1);
	assert_int_equal(classify_rank("severe"), 0);
	assert_int_equal(classify_rank(NULL), 0);

	json_error_t e;
	json_t *m = json_loads(
	    "{\"components\": [{\"id\": \"a\", \"trust_zone\": \"z1\"},"
	    " {\"id\": \"b\", \"trust_zone\": \"z1\"}, {\"id\": \"c\", \"trust_zone\": \"z2\"}],"
	    " \"flows\": [{\"id\": \"ab\", \"source\": \"a\", \"destination\": \"b\"},"
	    " {\"id\": \"ac\", \"source\": \"a\", \"destination\": \"c\", \"properties\": {\"x\": "
	    "1}},"
	    " {\"id\": \"ax\", \"source\": \"a\", \"destination\": \"missing\"}]}",
	    0, &e);
	assert_non_null(m);
	classify_annotate_model(m);
	classify_annotate_model(m); /* idempotent */
	json_t *flows = json_object_get(m, "flows");
	json_t *p0 = json_object_get(json_array_get(flows, 0), "properties");
	json_t *p1 = json_object_get(json_array_get(flows, 1), "properties");
	json_t *p2 = json_object_get(json_array_get(flows, 2), "properties");
	assert_true(json_is_false(json_object_get(p0, "crosses_trust_boundary")));
	assert_true(json_is_true(json_object_get(p1, "crosses_trust_boundary")));
	assert_int_equal(json_integer_value(json_object_get(p1, "x")), 1);
	assert_true(json_is_true(json_object_get(p2, "crosses_trust_boundary")));
	json_decref(m);
}

static void test_classify_project_and_cli(void **state)
{
	(void)state;
	struct gu g;
	char *conf = gu_data("gen.conf");
	char *shop = gu_data("shop.json");
	gu_open(&g, conf);
	gu_import(&g, "shop", shop);
	struct ts_err err = {0};
	json_t *doc = NULL;
	assert_int_equal(classify_project(g.s, g.lib, g.cfg, "shop", &doc, &err), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "risk_class")), "high");
	json_t *rule = json_object_get(doc, "rule");
	assert_string_equal(json_string_value(json_object_get(rule, "name")), "internet-facing");
	assert_int_equal(json_integer_value(json_object_get(rule, "index")), 2);
	json_t *fw = json_object_get(doc, "frameworks");
	assert_int_equal(json_array_size(fw), 2);
	assert_string_equal(json_string_value(json_array_get(fw, 0)), "gdpr");
	assert_string_equal(json_string_value(json_array_get(fw, 1)), "owasp-asvs");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "policy"), "max_priority")), 2);
	json_decref(doc);
	/* Classifying writes nothing. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM model_versions WHERE risk_class IS NULL"),
	                 1);
	assert_true(classify_project(g.s, g.lib, g.cfg, "nope", &doc, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	char *out = NULL;
	assert_int_equal(
	    tu_cli(&out, NULL, "-c", conf, "--db", g.db, "classify", "shop", "--json", NULL), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	rule = json_object_get(doc, "rule");
	assert_int_equal(json_integer_value(json_object_get(rule, "line")), 14);
	assert_string_equal(json_string_value(json_object_get(rule, "config")), conf);
	json_decref(doc);
	free(out);
	assert_int_equal(tu_cli(&out, NULL, "-c", conf, "--db", g.db, "classify", "shop", NULL), 0);
	assert_non_null(strstr(out, "rule: 'internet-facing' (rule 3, "));
	assert_non_null(strstr(out, "gen.conf:14)"));
	free(out);
	assert_int_equal(tu_cli(NULL, NULL, "-c", conf, "--db", g.db, "classify", NULL), EX_USAGE);
	free(conf);
	free(shop);
	gu_close(&g);
}

/* A configuration with the shipped library, whose payment_integration type
 * has the default property handles_payment true, and rules reading it.
 * Returns the new config path. */
static char *shipped_library_conf(const char *dir)
{
	char *text = ts_asprintf(
	    "database = \"%s/unused.db\";\n"
	    "library_paths = [ \"%s/library\" ];\n"
	    "classification = (\n"
	    "  { name = \"payment\"; when = \"model.any(c, c.handles_payment)\"; class = "
	    "\"critical\"; },\n"
	    "  { name = \"exposed\"; when = \"model.any(c, c.internet_facing)\"; class = "
	    "\"high\"; }\n"
	    ");\n",
	    dir, tu_env("TS_SOURCE_DIR"));
	char *path = tu_write_file(dir, "shipped.conf", text);
	free(text);
	return path;
}

static char *payment_model(void)
{
	return ts_asprintf("%s/tests/data/models/payment_defaults.json", tu_env("TS_SOURCE_DIR"));
}

/* The model's only payment fact is its checkout's type: the rules match
 * only once the library's type defaults are applied, and `classify` must
 * apply them exactly as generation does. */
static void test_type_defaults_classify_as_generate(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = shipped_library_conf(dir);
	char *path = payment_model();
	struct gu g;
	gu_open(&g, conf);
	struct ts_err err = {0};
	struct classify_result r;

	/* The model as written matches no rule: the case depends on the default. */
	json_error_t je;
	json_t *m = json_load_file(path, 0, &je);
	assert_non_null(m);
	assert_int_equal(classify_model(g.cfg, m, &r, &err), 0);
	assert_string_equal(r.risk_class, "low");
	classify_prepare_model(g.lib, m);
	classify_prepare_model(g.lib, m); /* idempotent */
	json_t *checkout = json_array_get(json_object_get(m, "components"), 2);
	json_t *props = json_object_get(checkout, "properties");
	assert_true(json_is_true(json_object_get(props, "handles_payment")));
	json_t *flow = json_array_get(json_object_get(m, "flows"), 0);
	assert_true(json_is_true(
	    json_object_get(json_object_get(flow, "properties"), "crosses_trust_boundary")));
	assert_int_equal(classify_model(g.cfg, m, &r, &err), 0);
	assert_string_equal(r.risk_class, "critical");
	assert_string_equal(r.rule, "payment");

	/* A property the model sets wins over the type's default. */
	json_object_set_new(props, "handles_payment", json_false());
	classify_prepare_model(g.lib, m);
	assert_true(json_is_false(json_object_get(props, "handles_payment")));
	assert_int_equal(classify_model(g.cfg, m, &r, &err), 0);
	assert_string_equal(r.risk_class, "low");
	json_decref(m);

	/* Stored: classify_load, classify_project and gen_run agree. */
	gu_import(&g, "pay", path);
	json_t *prepared = NULL;
	int version = 0;
	int64_t pid = gu_int(&g, "SELECT id FROM projects WHERE slug = 'pay'");
	assert_int_equal(classify_load(g.s, g.lib, g.cfg, pid, 0, &prepared, &version, &r, &err),
	                 0);
	assert_int_equal(version, 1);
	assert_string_equal(r.risk_class, "critical");
	json_decref(prepared);
	json_t *doc = NULL;
	assert_int_equal(classify_project(g.s, g.lib, g.cfg, "pay", &doc, &err), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "risk_class")), "critical");
	json_t *rule = json_object_get(doc, "rule");
	assert_string_equal(json_string_value(json_object_get(rule, "name")), "payment");
	assert_int_equal(json_integer_value(json_object_get(rule, "index")), 0);
	json_t *sum = gu_generate(&g, "pay", NULL);
	assert_string_equal(json_string_value(json_object_get(sum, "risk_class")),
	                    json_string_value(json_object_get(doc, "risk_class")));
	assert_string_equal(json_string_value(json_object_get(sum, "rule")),
	                    json_string_value(json_object_get(rule, "name")));
	assert_int_equal(json_integer_value(json_object_get(sum, "rule_line")),
	                 json_integer_value(json_object_get(rule, "line")));
	json_decref(sum);
	json_decref(doc);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM model_versions WHERE"
	                            " risk_class = 'critical' AND class_rule = 'payment'"),
	                 1);
	/* The stored model stays the team's text: the default is not written. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM model_versions"
	                            " WHERE instr(document, '\"handles_payment\"') > 0"),
	                 0);

	/* A model that does not exist is reported as such. */
	assert_true(classify_load(g.s, g.lib, g.cfg, pid + 1000, 0, &prepared, &version, &r, &err) <
	            0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	gu_close(&g);
	free(path);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

/* The same through the CLI: `classify --json` and `generate --json` name the
 * same class and rule, and the text output says it too. */
static void test_type_defaults_cli(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = shipped_library_conf(dir);
	char *path = payment_model();
	char *db = ts_asprintf("%s/t.db", dir);
	char *out = NULL;
	assert_int_equal(tu_cli(NULL, NULL, "-c", conf, "--db", db, "project", "add", "pay", NULL),
	                 0);
	assert_int_equal(
	    tu_cli(&out, NULL, "-c", conf, "--db", db, "model", "import", "pay", path, NULL), 0);
	free(out);
	assert_int_equal(
	    tu_cli(&out, NULL, "-c", conf, "--db", db, "classify", "pay", "--json", NULL), 0);
	json_t *cls = json_loads(out, 0, NULL);
	assert_non_null(cls);
	free(out);
	assert_int_equal(
	    tu_cli(&out, NULL, "-c", conf, "--db", db, "generate", "pay", "--json", NULL), 0);
	json_t *gen = json_loads(out, 0, NULL);
	assert_non_null(gen);
	free(out);
	json_t *rule = json_object_get(cls, "rule");
	assert_string_equal(json_string_value(json_object_get(cls, "risk_class")), "critical");
	assert_string_equal(json_string_value(json_object_get(gen, "risk_class")), "critical");
	assert_string_equal(json_string_value(json_object_get(rule, "name")), "payment");
	assert_string_equal(json_string_value(json_object_get(gen, "rule")), "payment");
	assert_int_equal(json_integer_value(json_object_get(rule, "line")),
	                 json_integer_value(json_object_get(gen, "rule_line")));
	json_decref(cls);
	json_decref(gen);
	assert_int_equal(tu_cli(&out, NULL, "-c", conf, "--db", db, "classify", "pay", NULL), 0);
	assert_non_null(strstr(out, "pay (model version 1): critical\n"));
	assert_non_null(strstr(out, "rule: 'payment' (rule 1, "));
	free(out);
	free(db);
	free(path);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_order),
	    cmocka_unit_test(test_bad_rule_in_handmade_config),
	    cmocka_unit_test(test_rank_and_annotate),
	    cmocka_unit_test(test_classify_project_and_cli),
	    cmocka_unit_test(test_type_defaults_classify_as_generate),
	    cmocka_unit_test(test_type_defaults_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
