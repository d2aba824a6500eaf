/* SPDX-License-Identifier: Apache-2.0 */
/* The declared vocabulary of properties and tags: what an expression reads
 * (expr_refs), the lint of undeclared and unused entries, the importers and
 * blueprints that set llm, and prompt injection on an application that calls
 * a hosted language model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/expr/expr.h"
#include "engine/generate/generate.h"
#include "engine/generate/listing.h"
#include "engine/library/blueprint.h"
#include "engine/library/library.h"
#include "engine/model/model.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

#define NOW "2026-01-10T09:00:00.000Z"

/* ---- expr_refs ----------------------------------------------------------- */

static const char *const kind_names[] = {"property", "tag", "value"};
static const char *const scope_names[] = {"component", "flow", "project", "asset"};

static void collect_cb(const struct expr_ref *ref, void *arg)
{
	struct ts_buf *b = arg;
	if (ref->kind == EXPR_REF_TAG)
		ts_buf_printf(b, "tag %.*s@%d\n", (int)ref->len, ref->name, ref->col);
	else if (ref->kind == EXPR_REF_VALUE)
		ts_buf_printf(b, "value %s.%s=%.*s@%d\n", scope_names[ref->scope], ref->property,
		              (int)ref->len, ref->name, ref->col);
	else
		ts_buf_printf(b, "%s %s.%.*s@%d\n", kind_names[ref->kind], scope_names[ref->scope],
		              (int)ref->len, ref->name, ref->col);
}

static char *refs_of(const char *src)
{
	struct expr *e = NULL;
	struct ts_err err = {0};
	if (expr_parse(src, &e, &err) < 0)
		fail_msg("expr_parse(%s): %s", src, err.msg);
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	expr_refs(e, collect_cb, &b);
	expr_free(e);
	return ts_buf_steal(&b);
}

static void test_refs_component_flow_project(void **state)
{
	(void)state;
	char *r = refs_of("component.type == \"web_app\" && component.llm == true && "
	                  "\"saas\" in component.tags && model.compliance != null");
	assert_string_equal(r, "property component.llm@42\n"
	                       "tag saas@57\n"
	                       "property project.compliance@91\n");
	free(r);
	/* Quantifier variables, model.component(), list properties and their
	 * compared values, tags through any(), fields that are not properties. */
	r = refs_of("model.any_flow(f, f.source == component.id && f.protocol == \"ldap\" && "
	            "f.data.any(d, d in [\"pii\", \"health\"]) && "
	            "model.component(f.destination).tags.any(t, t == \"llm\") && "
	            "model.component(f.destination).properties.data_classification == "
	            "\"restricted\")");
	assert_string_equal(r, "property flow.data@73\n"
	                       "value flow.data=pii@91\n"
	                       "value flow.data=health@98\n"
	                       "tag llm@160\n"
	                       "property component.data_classification@212\n"
	                       "value component.data_classification=restricted@235\n");
	free(r);
	r = refs_of("model.data_assets.any(a, a.properties.retention == \"long\" && a.name == "
	            "\"x\") || model.components.all(c, c.internet_facing) || model.project.owner "
	            "== \"x\"");
	assert_string_equal(r, "property asset.retention@39\n"
	                       "value asset.retention=long@52\n"
	                       "property component.internet_facing@106\n");
	free(r);
}

/* ---- lint ---------------------------------------------------------------- */

/* A library directory with one type, one threat testing cond, and the
 * vocabulary vocab (the members after "component_types"). */
static char *write_library(const char *cond, const char *vocab)
{
	char *dir = tu_tmpdir();
	char *ct = ts_asprintf(
	    "{\"component_types\": [{\"id\": \"web_app\", \"name\": \"Web app\", \"kind\": "
	    "\"process\", \"description\": \"A web application.\", \"default_properties\": "
	    "{\"handles_pii\": true}}]%s}",
	    vocab);
	free(tu_write_file(dir, "component_types.json", ct));
	char *sub = ts_asprintf("%s/threats", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	char *th = ts_asprintf(
	    "{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", \"description\": \"X.\", "
	    "\"stride\": [\"T\"], \"applies_to\": [\"web_app\"], \"scope\": \"component\", "
	    "\"condition\": \"%s\", \"severity\": \"low\", \"likelihood\": \"low\", \"cwe\": [79], "
	    "\"countermeasures\": []}]}",
	    cond);
	free(tu_write_file(sub, "t.json", th));
	free(th);
	free(sub);
	free(ct);
	return dir;
}

static json_t *lint_dir(const char *dir)
{
	const char *dirs[] = {dir};
	json_t *rep = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_lint(dirs, 1, NULL, &rep, &err), 0);
	return rep;
}

static const char *item(json_t *rep, const char *which, size_t i, const char *key)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(rep, which), i), key));
}

static void test_lint_undeclared_and_unused(void **state)
{
	(void)state;
	char *dir = write_library(
	    "component.llm == true || \\\"llm\\\" in component.tags || "
	    "component.data_classification == \\\"secret\\\"",
	    ", \"properties\": ["
	    "{\"name\": \"handles_pii\", \"scope\": \"component\", \"type\": \"boolean\", "
	    "\"description\": \"Personal data.\"},"
	    "{\"name\": \"data_classification\", \"scope\": \"component\", \"type\": \"string\", "
	    "\"values\": [\"public\", \"restricted\"], \"description\": \"Sensitivity.\"},"
	    "{\"name\": \"unused\", \"scope\": \"flow\", \"type\": \"boolean\", "
	    "\"description\": \"Nothing tests it.\"}],"
	    "\"tags\": [{\"tag\": \"saas\", \"description\": \"Third party.\"}]");
	json_t *rep = lint_dir(dir);
	assert_false(json_is_true(json_object_get(rep, "ok")));
	assert_int_equal(json_array_size(json_object_get(rep, "errors")), 3);
	assert_string_equal(item(rep, "errors", 0, "path"), "$.threats[0].condition");
	assert_string_equal(item(rep, "errors", 0, "message"),
	                    "column 11: tests the component property \"llm\", which is not "
	                    "declared (component_types.json \"properties\")");
	assert_string_equal(item(rep, "errors", 1, "message"),
	                    "column 26: tests the tag \"llm\", which is not declared "
	                    "(component_types.json \"tags\")");
	assert_string_equal(item(rep, "errors", 2, "message"),
	                    "column 86: compares the component property \"data_classification\" "
	                    "with \"secret\", which is not one of its declared values");
	/* handles_pii is set by the type but tested by nothing: a warning, as
	 * are the unused flow property and tag. */
	json_t *w = json_object_get(rep, "warnings");
	assert_int_equal(json_array_size(w), 4);
	assert_string_equal(item(rep, "warnings", 0, "message"),
	                    "threat \"T-X\" lists no countermeasure");
	assert_string_equal(item(rep, "warnings", 1, "path"), "$.properties[0]");
	assert_string_equal(item(rep, "warnings", 1, "message"),
	                    "the component property \"handles_pii\" is declared but no condition "
	                    "tests it");
	assert_string_equal(item(rep, "warnings", 2, "message"),
	                    "the flow property \"unused\" is declared but no condition tests it");
	assert_string_equal(item(rep, "warnings", 3, "message"),
	                    "the tag \"saas\" is declared but no condition tests it");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(rep, "counts"), "properties")), 3);
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);

	/* The type's default property undeclared: an error at its path; an
	 * entry of the wrong shape is refused by the loader too. */
	dir = write_library("component.handles_pii",
	                    ", \"properties\": [{\"name\": \"Bad-Name\", \"scope\": \"node\", "
	                    "\"type\": \"boolean\", \"description\": \"x\"}], \"tags\": []");
	rep = lint_dir(dir);
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 4);
	assert_string_equal(item(rep, "errors", 0, "path"), "$.properties[0].name");
	assert_string_equal(item(rep, "errors", 1, "path"), "$.properties[0].scope");
	assert_string_equal(item(rep, "errors", 2, "message"),
	                    "column 11: tests the component property \"handles_pii\", which is not "
	                    "declared (component_types.json \"properties\")");
	assert_string_equal(item(rep, "errors", 3, "path"),
	                    "$.component_types[0].default_properties.handles_pii");
	const char *dirs[] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_load(dirs, 1, &lib, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "$.properties[0].name: must match [a-z][a-z0-9_]*"));
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
}

/* The classification rules a configuration passes are checked too. */
static void test_lint_configuration_rules(void **state)
{
	(void)state;
	char *dir = write_library("component.handles_pii",
	                          ", \"properties\": [{\"name\": \"handles_pii\", \"scope\": "
	                          "\"component\", \"type\": \"boolean\", \"description\": \"x\"}]");
	const char *conds[] = {"model.any(c, c.handles_pii)", "model.any(c, c.handles_cash)"};
	const char *places[] = {"line 3: classify rule 'pii'", "line 7: classify rule 'cash'"};
	struct library_lint_opts opts = {.conditions = conds,
	                                 .condition_places = places,
	                                 .n_conditions = 2,
	                                 .conditions_file = "threatsync.conf"};
	const char *dirs[] = {dir};
	json_t *rep = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_lint(dirs, 1, &opts, &rep, &err), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "errors")), 1);
	assert_string_equal(item(rep, "errors", 0, "file"), "threatsync.conf");
	assert_string_equal(item(rep, "errors", 0, "path"), "line 7: classify rule 'cash'");
	assert_string_equal(item(rep, "errors", 0, "message"),
	                    "column 16: tests the component property \"handles_cash\", which is "
	                    "not declared (component_types.json \"properties\")");
	/* Only the threat without countermeasures: handles_pii is tested. */
	assert_int_equal(json_array_size(json_object_get(rep, "warnings")), 1);
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
}

/* `threatsync -c CONF library lint DIR` checks the configuration's rules:
 * exit 65 naming the configuration file and the rule's line. */
static void test_cli_lint_configuration(void **state)
{
	(void)state;
	char *dir = write_library("component.handles_pii",
	                          ", \"properties\": [{\"name\": \"handles_pii\", \"scope\": "
	                          "\"component\", \"type\": \"boolean\", \"description\": \"x\"}]");
	char *conf = tu_write_file(dir, "t.conf",
	                           "library_paths = [ \".\" ];\n"
	                           "classification = (\n"
	                           "\t{ name = \"pii\"; when = \"model.any(c, c.handles_pii)\"; "
	                           "class = \"high\"; },\n"
	                           "\t{ name = \"cash\"; when = \"model.any(c, c.handles_cash)\"; "
	                           "class = \"critical\"; }\n"
	                           ");\n");
	char *out = NULL, *err = NULL;
	assert_int_equal(tu_cli(&out, &err, "-c", conf, "library", "lint", dir, NULL), EX_DATAERR);
	char *want = ts_asprintf("%s: line 4: classify rule 'cash': column 16: tests the component "
	                         "property \"handles_cash\", which is not declared",
	                         conf);
	if (!strstr(err, want) && !strstr(out, want))
		fail_msg("expected '%s' in:\n%s%s", want, out, err);
	free(want);
	free(out);
	free(err);
	/* Without the configuration the rules are not read: the library is OK. */
	assert_int_equal(tu_cli(&out, &err, "library", "lint", dir, NULL), 0);
	free(out);
	free(err);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

/* ---- the shipped library ------------------------------------------------- */

static struct library *shipped_library(void)
{
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("library_load: %s", err.msg);
	free(dir);
	return lib;
}

static json_t *parse_with(struct library *lib, const char *name, const char *text)
{
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	json_t *model = NULL;
	struct ts_err err = {0};
	if (model_parse(name, text, strlen(text), MODEL_FORMAT_AUTO, false, &ti, &model, NULL, NULL,
	                &err) < 0)
		fail_msg("model_parse: %s", err.msg);
	return model;
}

static json_t *component_of(json_t *model, const char *id)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(model, "components"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
			return c;
	}
	fail_msg("no component %s", id);
	return NULL;
}

static json_t *prop(json_t *model, const char *id, const char *name)
{
	return json_object_get(json_object_get(component_of(model, id), "properties"), name);
}

/* An OTM component whose type or tag is a hosted language model calls one
 * (mappings.json implied_properties); its own attributes win. */
static void test_otm_implies_llm(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	json_t *m = parse_with(
	    lib, "llm.otm.json",
	    "{\"otmVersion\": \"0.2.0\", \"project\": {\"name\": \"Bot\", \"id\": \"bot\"},"
	    " \"trustZones\": [{\"id\": \"z\", \"name\": \"Z\", \"risk\": {\"trustRating\": 50}}],"
	    " \"components\": ["
	    "  {\"id\": \"gpt\", \"name\": \"Model\", \"type\": \"azure-openai\", \"parent\": "
	    "{\"trustZone\": \"z\"}},"
	    "  {\"id\": \"claude\", \"name\": \"Assistant API\", \"type\": \"saas\", \"tags\": "
	    "[\"anthropic\"], \"parent\": {\"trustZone\": \"z\"}},"
	    "  {\"id\": \"off\", \"name\": \"Classifier\", \"type\": \"llm-api\", \"parent\": "
	    "{\"trustZone\": \"z\"}, \"attributes\": {\"llm\": false}},"
	    "  {\"id\": \"web\", \"name\": \"Web\", \"type\": \"web-application\", \"parent\": "
	    "{\"trustZone\": \"z\"}}],"
	    " \"dataflows\": []}");
	assert_true(json_is_true(prop(m, "gpt", "llm")));
	assert_string_equal(json_string_value(json_object_get(component_of(m, "claude"), "type")),
	                    "saas_api");
	assert_true(json_is_true(prop(m, "claude", "llm")));
	assert_true(json_is_false(prop(m, "off", "llm")));
	assert_null(prop(m, "web", "llm"));
	json_decref(m);
	library_free(lib);
}

/* A Threat Dragon element named after a hosted model calls one. */
static void test_threatdragon_implies_llm(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	json_t *m = parse_with(
	    lib, "llm.threatdragon.json",
	    "{\"version\": \"2.2.0\", \"summary\": {\"title\": \"Bot\"}, \"detail\": "
	    "{\"diagrams\": [{\"id\": 0, \"title\": \"Main\", \"diagramType\": \"STRIDE\", "
	    "\"cells\": ["
	    "{\"id\": \"a\", \"shape\": \"process\", \"position\": {\"x\": 10, \"y\": 10}, "
	    "\"size\": {\"width\": 50, \"height\": 50}, \"data\": {\"type\": \"tm.Process\", "
	    "\"name\": \"OpenAI chat API\"}},"
	    "{\"id\": \"b\", \"shape\": \"process\", \"position\": {\"x\": 100, \"y\": 10}, "
	    "\"size\": {\"width\": 50, \"height\": 50}, \"data\": {\"type\": \"tm.Process\", "
	    "\"name\": \"Orders service\"}}]}]}}");
	size_t i;
	json_t *c;
	int with_llm = 0;
	json_array_foreach (json_object_get(m, "components"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		bool llm = json_is_true(json_object_get(json_object_get(c, "properties"), "llm"));
		assert_int_equal(llm, strcmp(name, "OpenAI chat API") == 0);
		with_llm += llm;
	}
	assert_int_equal(with_llm, 1);
	json_decref(m);
	library_free(lib);
}

/* A web_app profile whose stack calls a hosted model gets the provider,
 * marked llm, and the flow to it; without it, neither. */
static void test_blueprint_llm_provider(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	static const char *const stacks[] = {"[\"python\", \"openai\"]", "[\"python\"]"};
	for (size_t k = 0; k < 2; k++) {
		char *text = ts_asprintf("{\"name\": \"Helpdesk\", \"kind\": \"web_app\", "
		                         "\"stack\": %s}",
		                         stacks[k]);
		json_t *raw = json_loads(text, 0, NULL);
		json_t *profile = NULL, *model = NULL;
		struct ts_err err = {0};
		assert_int_equal(blueprint_profile_check(raw, "p.json", &profile, &err), 0);
		assert_int_equal(blueprint_expand(lib, profile, &model, &err), 0);
		json_t *provider = NULL;
		size_t i;
		json_t *c;
		json_array_foreach (json_object_get(model, "components"), i, c) {
			if (strcmp(json_string_value(json_object_get(c, "id")), "llm-provider") ==
			    0)
				provider = c;
		}
		bool flow = false;
		json_array_foreach (json_object_get(model, "flows"), i, c) {
			flow = flow ||
			       strcmp(json_string_value(json_object_get(c, "id")), "web-llm") == 0;
		}
		if (k == 0) {
			assert_non_null(provider);
			assert_string_equal(json_string_value(json_object_get(provider, "type")),
			                    "saas_api");
			assert_true(json_is_true(
			    json_object_get(json_object_get(provider, "properties"), "llm")));
			assert_true(flow);
		} else {
			assert_null(provider);
			assert_false(flow);
		}
		json_decref(model);
		json_decref(profile);
		json_decref(raw);
		free(text);
	}
	library_free(lib);
}

/* ---- prompt injection end to end ----------------------------------------- */

static const char *model_json(const char *web_props, const char *llm_props, const char *llm_tags)
{
	static char buf[4096];
	snprintf(
	    buf, sizeof(buf),
	    "{\"project\": {\"name\": \"Helpdesk\"},"
	    " \"trust_zones\": [{\"id\": \"internet\", \"name\": \"Internet\", "
	    "\"trust_level\": 0}, {\"id\": \"app\", \"name\": \"App\", \"trust_level\": 60},"
	    " {\"id\": \"vendor\", \"name\": \"Vendor\", \"trust_level\": 10}],"
	    " \"components\": ["
	    "  {\"id\": \"user\", \"type\": \"user\", \"name\": \"User\", \"trust_zone\": "
	    "\"internet\"},"
	    "  {\"id\": \"web\", \"type\": \"web_app\", \"name\": \"Helpdesk\", \"trust_zone\": "
	    "\"app\", \"properties\": %s},"
	    "  {\"id\": \"llm\", \"type\": \"saas_api\", \"name\": \"Hosted model\", "
	    "\"trust_zone\": \"vendor\", \"tags\": %s, \"properties\": %s}],"
	    " \"flows\": [{\"id\": \"f1\", \"source\": \"user\", \"destination\": \"web\", "
	    "\"protocol\": \"https\"},"
	    "  {\"id\": \"f2\", \"source\": \"web\", \"destination\": \"llm\", \"protocol\": "
	    "\"https\"}]}",
	    web_props, llm_tags, llm_props);
	return buf;
}

/* The threat instance uids of slug's generated threats, one per line. */
static char *threat_uids(struct gu *g, const char *slug)
{
	json_t *doc = NULL;
	struct ts_err err = {0};
	assert_int_equal(gen_list_threats(g->s, slug, true, NOW, &doc, &err), 0);
	struct ts_buf b = {0};
	ts_buf_puts(&b, "\n");
	size_t i;
	json_t *t;
	json_array_foreach (json_object_get(doc, "threats"), i, t) {
		const char *uid = json_string_value(json_object_get(t, "id"));
		if (strstr(uid, "T-DATA-ML-"))
			ts_buf_printf(&b, "%s\n", uid);
	}
	json_decref(doc);
	return ts_buf_steal(&b);
}

static void test_prompt_injection_hosted_llm(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf_text = ts_asprintf("database = \"%s/unused.db\";\nlibrary_paths = [ "
	                              "\"%s/library\" ];\n",
	                              dir, tu_env("TS_SOURCE_DIR"));
	char *conf = tu_write_file(dir, "threatsync.conf", conf_text);
	struct gu g;
	gu_open(&g, conf);
	static const struct {
		const char *slug, *web, *llm, *tags;
		const char *expected; /* the T-DATA-ML-* instances */
	} cases[] = {
	    /* A flow to a hosted model marked llm: the web app builds the
	     * prompts, so it gets prompt injection and insecure output. */
	    {"flow-to-llm", "{}", "{\"llm\": true}", "[\"saas\"]",
	     "\nT-DATA-ML-PROMPT-INJECTION@web\nT-DATA-ML-INSECURE-OUTPUT@web\n"},
	    /* The same, said with the tag. */
	    {"tagged", "{}", "{}", "[\"llm\"]",
	     "\nT-DATA-ML-PROMPT-INJECTION@web\nT-DATA-ML-INSECURE-OUTPUT@web\n"},
	    /* The web app itself says it calls a model. */
	    {"self", "{\"llm\": true}", "{}", "[\"saas\"]",
	     "\nT-DATA-ML-PROMPT-INJECTION@web\nT-DATA-ML-INSECURE-OUTPUT@web\n"},
	    /* A SaaS API that is not a language model: nothing. */
	    {"plain-saas", "{}", "{}", "[\"saas\"]", "\n"},
	};
	for (size_t k = 0; k < TS_ARRAY_SIZE(cases); k++) {
		char *path = tu_write_file(g.dir, "m.json",
		                           model_json(cases[k].web, cases[k].llm, cases[k].tags));
		gu_import(&g, cases[k].slug, path);
		json_decref(gu_generate(&g, cases[k].slug, NOW));
		char *uids = threat_uids(&g, cases[k].slug);
		if (strcmp(uids, cases[k].expected) != 0)
			fail_msg("%s: got %s", cases[k].slug, uids);
		free(uids);
		free(path);
	}
	gu_close(&g);
	free(conf);
	free(conf_text);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs_component_flow_project),
	    cmocka_unit_test(test_lint_undeclared_and_unused),
	    cmocka_unit_test(test_lint_configuration_rules),
	    cmocka_unit_test(test_cli_lint_configuration),
	    cmocka_unit_test(test_otm_implies_llm),
	    cmocka_unit_test(test_threatdragon_implies_llm),
	    cmocka_unit_test(test_blueprint_llm_provider),
	    cmocka_unit_test(test_prompt_injection_hosted_llm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
