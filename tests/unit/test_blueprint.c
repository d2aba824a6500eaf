/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of profiles and blueprints: every shipped blueprint expands into a valid
 * model for many profiles, deterministically; rules; profile errors; model init. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/blueprint.h"
#include "engine/library.h"
#include "engine/model.h"
#include "helpers/testutil.h"

static struct library *shipped(void)
{
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("library_load: %s", err.msg);
	free(dir);
	return lib;
}

static json_t *profile_of(const char *kind, const char *auth, const char *exposure,
                          const char *hosting, json_t *data, json_t *stack)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:[s]}", "name", "Demo", "kind", kind,
	                      "authentication", auth, "exposure", exposure, "hosting", hosting,
	                      "data", data, "stack", stack, "compliance", "gdpr");
	json_t *norm = NULL;
	struct ts_err err = {0};
	if (blueprint_profile_check(p, "profile.json", &norm, &err) < 0)
		fail_msg("profile: %s", err.msg);
	json_decref(p);
	return norm;
}

static json_t *ids_of(json_t *arr)
{
	json_t *set = json_object();
	size_t i;
	json_t *e;
	json_array_foreach (arr, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		assert_non_null(id);
		if (json_object_get(set, id))
			fail_msg("duplicate id %s", id);
		json_object_set_new(set, id, json_true());
	}
	return set;
}

/* Structural checks plus the model importer's own validation. */
static void check_model(const struct library *lib, json_t *model)
{
	assert_string_equal(json_string_value(json_object_get(model, "format")), MODEL_FORMAT_ID);
	json_t *zones = ids_of(json_object_get(model, "trust_zones"));
	json_t *comps = ids_of(json_object_get(model, "components"));
	json_decref(ids_of(json_object_get(model, "flows")));
	json_decref(ids_of(json_object_get(model, "data_assets")));
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(model, "components"), i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		if (!library_component_type(lib, type))
			fail_msg("unknown type %s", type);
		assert_non_null(
		    json_object_get(zones, json_string_value(json_object_get(e, "trust_zone"))));
		assert_null(strstr(json_string_value(json_object_get(e, "name")), "{name}"));
	}
	json_array_foreach (json_object_get(model, "flows"), i, e) {
		assert_non_null(
		    json_object_get(comps, json_string_value(json_object_get(e, "source"))));
		assert_non_null(
		    json_object_get(comps, json_string_value(json_object_get(e, "destination"))));
	}
	/* Every zone is used. */
	assert_true(json_object_size(zones) <=
	            json_array_size(json_object_get(model, "components")));
	json_decref(zones);
	json_decref(comps);

	char *text = json_dumps(model, JSON_PRESERVE_ORDER);
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	json_t *norm = NULL;
	struct ts_err err = {0};
	if (model_parse("expanded.json", text, strlen(text), MODEL_FORMAT_NATIVE, true, &ti, &norm,
	                NULL, NULL, &err) < 0)
		fail_msg("model_parse: %s\n%s", err.msg, text);
	json_decref(norm);
	free(text);
}

static void test_every_blueprint(void **state)
{
	(void)state;
	struct library *lib = shipped();
	static const char *const auths[] = {"sso", "local", "none", "api_keys"};
	static const char *const exposures[] = {"internet", "internal", "partner"};
	static const char *const hostings[] = {"aws", "on_prem"};
	size_t expanded = 0;
	for (size_t b = 0; b < library_n_blueprints(lib); b++) {
		const struct lib_blueprint *bp = library_blueprint_at(lib, b);
		for (size_t a = 0; a < TS_ARRAY_SIZE(auths); a++)
			for (size_t x = 0; x < TS_ARRAY_SIZE(exposures); x++)
				for (size_t h = 0; h < TS_ARRAY_SIZE(hostings); h++)
					for (int variant = 0; variant < 2; variant++) {
						json_t *data =
						    variant ? json_pack("[s,s,s,s]", "personal",
						                        "payment", "health",
						                        "credentials")
						            : json_array();
						json_t *stack =
						    variant ? json_pack("[s,s]", "mongodb", "grpc")
						            : json_pack("[s]", "postgres");
						json_t *p =
						    profile_of(bp->id, auths[a], exposures[x],
						               hostings[h], data, stack);
						json_t *model = NULL;
						struct ts_err err = {0};
						if (blueprint_expand(lib, p, &model, &err) < 0)
							fail_msg("%s: %s", bp->id, err.msg);
						check_model(lib, model);
						json_decref(model);
						json_decref(p);
						expanded++;
					}
	}
	assert_true(expanded >= 3 * 48);
	library_free(lib);
}

static void test_determinism(void **state)
{
	(void)state;
	struct library *lib = shipped();
	for (size_t b = 0; b < library_n_blueprints(lib); b++) {
		const char *kind = library_blueprint_at(lib, b)->id;
		json_t *p = profile_of(kind, "sso", "internet", "aws",
		                       json_pack("[s,s]", "payment", "personal"),
		                       json_pack("[s]", "redis"));
		json_t *m1 = NULL, *m2 = NULL;
		struct ts_err err = {0};
		assert_int_equal(blueprint_expand(lib, p, &m1, &err), 0);
		assert_int_equal(blueprint_expand(lib, p, &m2, &err), 0);
		char *s1 = json_dumps(m1, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		char *s2 = json_dumps(m2, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		assert_string_equal(s1, s2);
		free(s1);
		free(s2);
		json_decref(m1);
		json_decref(m2);
		json_decref(p);
	}
	library_free(lib);
}

static json_t *comp(json_t *model, const char *id)
{
	return model_component(model, id);
}

static json_t *prop(json_t *c, const char *name)
{
	return json_object_get(json_object_get(c, "properties"), name);
}

static json_t *flow(json_t *model, const char *id)
{
	return model_flow(model, id);
}

static void test_rules(void **state)
{
	(void)state;
	struct library *lib = shipped();
	struct ts_err err = {0};
	json_t *m = NULL;

	/* Internet shop with local login and payments. */
	json_t *p =
	    profile_of("web_app", "local", "internet", "aws",
	               json_pack("[s,s]", "personal", "payment"), json_pack("[s]", "dotnet"));
	assert_int_equal(blueprint_expand(lib, p, &m, &err), 0);
	assert_non_null(comp(m, "cdn"));
	assert_non_null(comp(m, "waf"));
	assert_null(comp(m, "idp"));
	assert_non_null(comp(m, "payments"));
	assert_non_null(comp(m, "secrets"));
	assert_string_equal(json_string_value(json_object_get(comp(m, "db"), "type")),
	                    "sql_database");
	assert_string_equal(json_string_value(json_object_get(comp(m, "web"), "name")),
	                    "Demo web application");
	assert_true(json_is_true(prop(comp(m, "web"), "internet_facing")));
	assert_true(json_is_true(prop(comp(m, "web"), "handles_pii")));
	assert_true(json_is_true(prop(comp(m, "db"), "stores_credentials")));
	assert_string_equal(json_string_value(prop(comp(m, "db"), "data_classification")),
	                    "restricted");
	json_t *data = prop(flow(m, "lb-web"), "data");
	assert_int_equal(json_array_size(data), 2); /* credentials, then pii */
	assert_string_equal(json_string_value(json_array_get(data, 0)), "credentials");
	assert_null(flow(m, "user-lb"));             /* only without a CDN */
	assert_null(model_trust_zone(m, "partner")); /* unused zones are left out */
	assert_non_null(model_trust_zone(m, "edge"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "project"), "name")), "Demo");
	json_decref(m);
	json_decref(p);

	/* Internal tool with SSO, no personal data, document database. */
	p = profile_of("web_app", "sso", "internal", "on_prem", json_array(),
	               json_pack("[s]", "mongodb"));
	assert_int_equal(blueprint_expand(lib, p, &m, &err), 0);
	assert_null(comp(m, "cdn"));
	assert_null(comp(m, "secrets"));
	assert_null(comp(m, "payments"));
	assert_non_null(comp(m, "idp"));
	assert_non_null(flow(m, "web-idp"));
	assert_non_null(flow(m, "user-lb"));
	assert_string_equal(json_string_value(json_object_get(comp(m, "user"), "trust_zone")),
	                    "corporate");
	assert_string_equal(json_string_value(json_object_get(comp(m, "db"), "type")),
	                    "nosql_database");
	assert_null(prop(comp(m, "web"), "internet_facing"));
	assert_null(prop(comp(m, "web"), "handles_pii"));
	assert_null(json_object_get(m, "data_assets")
	                ? json_array_get(json_object_get(m, "data_assets"), 0)
	                : NULL);
	json_decref(m);
	json_decref(p);

	/* Microservices with gRPC: the alternative flows use grpc. */
	p = profile_of("microservices", "api_keys", "partner", "kubernetes",
	               json_pack("[s]", "personal"), json_pack("[s]", "grpc"));
	assert_int_equal(blueprint_expand(lib, p, &m, &err), 0);
	assert_string_equal(json_string_value(json_object_get(comp(m, "orders"), "type")),
	                    "grpc_service");
	assert_string_equal(json_string_value(json_object_get(flow(m, "bff-orders"), "protocol")),
	                    "grpc");
	assert_null(comp(m, "auth"));
	assert_null(comp(m, "idp"));
	json_decref(m);
	json_decref(p);

	/* A kind without a blueprint. */
	p = profile_of("iot_backend", "none", "internet", "aws", json_array(), json_array());
	m = NULL;
	assert_true(blueprint_expand(lib, p, &m, &err) < 0);
	assert_null(m);
	assert_int_equal(err.code, EX_DATAERR);
	assert_non_null(strstr(err.msg, "no blueprint for the profile kind \"iot_backend\""));
	json_decref(p);
	library_free(lib);
}

static void expect_profile_error(const char *doc, const char *want)
{
	json_error_t jerr;
	json_t *p = json_loads(doc, 0, &jerr);
	assert_non_null(p);
	json_t *norm = NULL;
	struct ts_err err = {0};
	assert_true(blueprint_profile_check(p, "my.profile.json", &norm, &err) < 0);
	assert_null(norm);
	assert_int_equal(err.code, EX_DATAERR);
	if (!strstr(err.msg, want) || strncmp(err.msg, "my.profile.json: ", 17) != 0)
		fail_msg("expected 'my.profile.json: ...%s' in:\n%s", want, err.msg);
	json_decref(p);
}

static void test_profile_errors(void **state)
{
	(void)state;
	expect_profile_error("{\"name\": \"x\", \"kind\": \"desktop_app\"}",
	                     "$.kind: unknown value \"desktop_app\" (expected one of: web_app,");
	expect_profile_error("{\"name\": \"x\"}", "$: missing required field \"kind\"");
	expect_profile_error("{\"kind\": \"web_app\"}", "$: missing required field \"name\"");
	expect_profile_error("{\"name\": \"x\", \"kind\": \"web_app\", \"data\": [\"personal\", "
	                     "\"secret\"]}",
	                     "$.data[1]: unknown value \"secret\"");
	expect_profile_error("{\"name\": \"x\", \"kind\": \"web_app\", \"exposure\": \"public\"}",
	                     "$.exposure: unknown value \"public\"");
	expect_profile_error("{\"name\": \"x\", \"kind\": \"web_app\", \"authentication\": 1}",
	                     "$.authentication: must be a non-empty string");
	expect_profile_error("{\"name\": \"x\", \"kind\": \"web_app\", \"compliance\": [\"sox\"]}",
	                     "$.compliance[0]: unknown value \"sox\"");
	expect_profile_error("{\"name\": \"x\", \"kind\": \"web_app\", \"stack\": [\"C#\"]}",
	                     "$.stack[0]: \"C#\" must be a lower-case technology name");
	expect_profile_error(
	    "{\"name\": \"x\", \"kind\": \"web_app\", \"stack\": [\"go\", \"go\"]}",
	    "$.stack[1]: \"go\" is listed twice");
	expect_profile_error("{\"name\": \"x\", \"kind\": \"web_app\", \"hostng\": \"aws\"}",
	                     "$.hostng: unknown field");
	expect_profile_error("[1]", "$: a profile must be a JSON object");

	/* Defaults of a minimal profile. */
	json_t *p = json_pack("{s:s,s:s}", "name", "x", "kind", "spa_api");
	json_t *norm = NULL;
	struct ts_err err = {0};
	assert_int_equal(blueprint_profile_check(p, "p", &norm, &err), 0);
	assert_string_equal(json_string_value(json_object_get(norm, "authentication")), "local");
	assert_string_equal(json_string_value(json_object_get(norm, "exposure")), "internet");
	assert_null(json_object_get(norm, "hosting"));
	assert_int_equal(json_array_size(json_object_get(norm, "data")), 0);
	json_decref(norm);
	json_decref(p);

	/* Files: unreadable, invalid JSON. */
	assert_true(blueprint_profile_load("/nonexistent/p.json", &norm, &err) < 0);
	assert_int_equal(err.code, EX_NOINPUT);
	char *dir = tu_tmpdir();
	char *f = tu_write_file(dir, "bad.json", "{\"name\": \"x\",\n \"kind\": }");
	assert_true(blueprint_profile_load(f, &norm, &err) < 0);
	assert_int_equal(err.code, EX_DATAERR);
	assert_non_null(strstr(err.msg, "bad.json: line 2"));
	free(f);
	tu_rmrf(dir);
	free(dir);
	assert_true(blueprint_kind_valid("ml_inference"));
	assert_false(blueprint_kind_valid("mainframe"));
}

static void test_cli_model_init(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *db = ts_asprintf("%s/db.sqlite", dir);
	char *lib = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	char *prof = ts_asprintf("%s/examples/profiles/shop.json", tu_env("TS_SOURCE_DIR"));
	char *out1 = ts_asprintf("%s/a.model.json", dir);
	char *out2 = ts_asprintf("%s/b.model.json", dir);
	char *o = NULL, *e = NULL;
	int rc = tu_cli(&o, &e, "--db", db, "model", "init", "shop", "--profile", prof, "--out",
	                out1, "--library", lib, NULL);
	if (rc != 0)
		fail_msg("model init: %d %s", rc, e);
	assert_non_null(strstr(o, "imported as version 1 of shop"));
	free(o);
	free(e);
	/* Same profile again: refused while the file exists, and the project has a
	 * model already. */
	assert_int_equal(tu_cli(&o, &e, "--db", db, "model", "init", "shop", "--profile", prof,
	                        "--out", out1, "--library", lib, NULL),
	                 EX_CANTCREAT);
	assert_non_null(strstr(e, "exists already"));
	free(o);
	free(e);
	assert_int_equal(tu_cli(&o, &e, "--db", db, "model", "init", "shop", "--profile", prof,
	                        "--out", out1, "--force", "--library", lib, NULL),
	                 EX_DATAERR);
	assert_non_null(strstr(e, "already has a model"));
	free(o);
	free(e);
	/* Another project from the same profile: byte-identical file. */
	assert_int_equal(tu_cli(&o, &e, "--db", db, "model", "init", "shop2", "--profile", prof,
	                        "--out", out2, "--library", lib, NULL),
	                 0);
	free(o);
	free(e);
	char h1[65], h2[65];
	tu_file_hash(out1, h1);
	tu_file_hash(out2, h2);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, "missing");

	/* A bad profile changes nothing. */
	char *bad = tu_write_file(dir, "bad.json", "{\"name\": \"x\", \"kind\": \"kiosk\"}");
	char *out3 = ts_asprintf("%s/c.model.json", dir);
	assert_int_equal(tu_cli(&o, &e, "--db", db, "model", "init", "kiosk", "--profile", bad,
	                        "--out", out3, "--library", lib, NULL),
	                 EX_DATAERR);
	assert_non_null(strstr(e, "bad.json: $.kind: unknown value \"kiosk\""));
	assert_int_equal(access(out3, F_OK), -1);
	free(o);
	free(e);
	assert_int_equal(tu_cli(&o, &e, "--db", db, "project", "list", "--json", NULL), 0);
	assert_null(strstr(o, "kiosk"));
	assert_non_null(strstr(o, "shop2"));
	free(o);
	free(e);
	assert_int_equal(tu_cli(&o, &e, "model", "init", "x", NULL), EX_USAGE);
	free(o);
	free(e);
	free(bad);
	free(out3);
	free(db);
	free(lib);
	free(prof);
	free(out1);
	free(out2);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_blueprint), cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_rules),           cmocka_unit_test(test_profile_errors),
	    cmocka_unit_test(test_cli_model_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
