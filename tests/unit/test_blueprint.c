/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of profiles and blueprints: every shipped blueprint expands into a valid
 * model for many profiles, deterministically; rules; profile errors; model init. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/library/blueprint.h"
#include "engine/library/library.h"
#include "engine/model/model.h"
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

static const char *const all_kinds[] = {
    "web_app",       "spa_api",        "mobile_api",   "microservices", "serverless_api",
    "data_pipeline", "internal_admin", "b2b_webhooks", "iot_backend",   "ml_inference"};

/* A normalised profile; hosting may be NULL (absent). Takes data and stack. */
static json_t *profile_of(const char *kind, const char *auth, const char *exposure,
                          const char *hosting, json_t *data, json_t *stack)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:[s]}", "name", "Demo", "kind", kind,
	                      "authentication", auth, "exposure", exposure, "data", data, "stack",
	                      stack, "compliance", "gdpr");
	if (hosting)
		json_object_set_new(p, "hosting", json_string(hosting));
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

/* Structural checks plus the model importer's own (strict) validation; what
 * (the blueprint and profile) names the case in failure messages. */
static void check_model(const struct library *lib, json_t *model, const char *what)
{
	assert_string_equal(json_string_value(json_object_get(model, "format")), MODEL_FORMAT_ID);
	json_t *zones = ids_of(json_object_get(model, "trust_zones"));
	json_t *comps = ids_of(json_object_get(model, "components"));
	json_decref(ids_of(json_object_get(model, "flows")));
	json_decref(ids_of(json_object_get(model, "data_assets")));
	json_t *in_flows = json_object();
	json_t *used_zones = json_object();
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(model, "flows"), i, e) {
		const char *src = json_string_value(json_object_get(e, "source"));
		const char *dst = json_string_value(json_object_get(e, "destination"));
		if (!json_object_get(comps, src) || !json_object_get(comps, dst))
			fail_msg("%s: flow %s joins a missing component", what,
			         json_string_value(json_object_get(e, "id")));
		json_object_set_new(in_flows, src, json_true());
		json_object_set_new(in_flows, dst, json_true());
		/* Every flow says whether it is encrypted when it leaves a
		 * process boundary over the network, and its data is a list. */
		json_t *props = json_object_get(e, "properties");
		json_t *data = json_object_get(props, "data");
		if (data && !json_is_array(data))
			fail_msg("%s: flow %s: data must be a list", what,
			         json_string_value(json_object_get(e, "id")));
	}
	json_array_foreach (json_object_get(model, "components"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const struct lib_component_type *ct = library_component_type(lib, type);
		if (!ct)
			fail_msg("%s: unknown type %s", what, type);
		const char *zone = json_string_value(json_object_get(e, "trust_zone"));
		assert_non_null(json_object_get(zones, zone));
		json_object_set_new(used_zones, zone, json_true());
		assert_null(strstr(json_string_value(json_object_get(e, "name")), "{name}"));
		/* No island: every component of the starting model takes part in
		 * at least one flow, or it is the parent of one that does. */
		if (!json_object_get(in_flows, id) && !json_object_get(e, "parent")) {
			bool is_parent = false;
			size_t k;
			json_t *o;
			json_array_foreach (json_object_get(model, "components"), k, o) {
				const char *parent =
				    json_string_value(json_object_get(o, "parent"));
				is_parent = is_parent || (parent && strcmp(parent, id) == 0);
			}
			if (!is_parent)
				fail_msg("%s: component %s (%s) has no flow", what, id, type);
		}
	}
	/* Every zone is used. */
	if (json_object_size(used_zones) != json_object_size(zones))
		fail_msg("%s: %zu trust zones, %zu used", what, json_object_size(zones),
		         json_object_size(used_zones));
	json_decref(zones);
	json_decref(comps);
	json_decref(in_flows);
	json_decref(used_zones);

	char *text = json_dumps(model, JSON_PRESERVE_ORDER);
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	json_t *norm = NULL;
	struct ts_err err = {0};
	if (model_parse("expanded.json", text, strlen(text), MODEL_FORMAT_NATIVE, true, &ti, &norm,
	                NULL, NULL, &err) < 0)
		fail_msg("%s: model_parse: %s\n%s", what, err.msg, text);
	json_decref(norm);
	free(text);
}

/* Records in seen[section] every id of the model's section. */
static void note_seen(json_t *seen, json_t *model, const char *section)
{
	json_t *set = json_object_get(seen, section);
	if (!set) {
		set = json_object();
		json_object_set_new(seen, section, set);
	}
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(model, section), i, e)
		json_object_set_new(set, json_string_value(json_object_get(e, "id")), json_true());
}

/* Fails when an element of the blueprint's section was never produced. */
static void check_all_seen(const struct lib_blueprint *bp, json_t *seen, const char *section)
{
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(bp->json, section), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		if (!json_object_get(json_object_get(seen, section), id))
			fail_msg("blueprint %s: %s \"%s\" is produced by no profile variant",
			         bp->id, section, id);
	}
}

static void test_every_blueprint(void **state)
{
	(void)state;
	struct library *lib = shipped();
	/* The ten architecture kinds of the issue all have a blueprint. */
	for (size_t k = 0; k < TS_ARRAY_SIZE(all_kinds); k++)
		if (!library_blueprint(lib, all_kinds[k]))
			fail_msg("no blueprint for %s", all_kinds[k]);
	assert_int_equal(library_n_blueprints(lib), TS_ARRAY_SIZE(all_kinds));

	static const char *const auths[] = {"sso", "local", "none", "api_keys"};
	static const char *const exposures[] = {"internet", "internal", "partner"};
	static const char *const hostings[] = {"aws", "on_prem", "paas", NULL};
	size_t expanded = 0;
	for (size_t b = 0; b < library_n_blueprints(lib); b++) {
		const struct lib_blueprint *bp = library_blueprint_at(lib, b);
		json_t *seen = json_object();
		for (size_t a = 0; a < TS_ARRAY_SIZE(auths); a++)
			for (size_t x = 0; x < TS_ARRAY_SIZE(exposures); x++)
				for (size_t h = 0; h < TS_ARRAY_SIZE(hostings); h++)
					for (int variant = 0; variant < 3; variant++) {
						json_t *data =
						    variant == 0 ? json_array()
						    : variant == 1
						        ? json_pack("[s,s,s,s]", "personal",
						                    "payment", "health",
						                    "credentials")
						        : json_pack("[s]", "personal");
						json_t *stack =
						    variant == 0 ? json_pack("[s]", "postgres")
						    : variant == 1
						        ? json_pack("[s,s]", "mongodb", "grpc")
						        : json_pack("[s,s,s,s,s,s,s]",
						                    "react-native", "graphql",
						                    "redis", "openai", "vault",
						                    "timescaledb", "mcp");
						json_t *p =
						    profile_of(bp->id, auths[a], exposures[x],
						               hostings[h], data, stack);
						char *what = ts_asprintf(
						    "%s (%s, %s, %s, variant %d)", bp->id, auths[a],
						    exposures[x], hostings[h] ? hostings[h] : "-",
						    variant);
						json_t *model = NULL;
						struct ts_err err = {0};
						if (blueprint_expand(lib, p, &model, &err) < 0)
							fail_msg("%s: %s", what, err.msg);
						check_model(lib, model, what);
						note_seen(seen, model, "components");
						note_seen(seen, model, "flows");
						note_seen(seen, model, "data_assets");
						json_decref(model);
						json_decref(p);
						free(what);
						expanded++;
					}
		/* No dead element: each component, flow and data asset of the
		 * blueprint appears for some profile. */
		check_all_seen(bp, seen, "components");
		check_all_seen(bp, seen, "flows");
		check_all_seen(bp, seen, "data_assets");
		json_decref(seen);
	}
	assert_int_equal(expanded, TS_ARRAY_SIZE(all_kinds) * 4 * 3 * 4 * 3);
	library_free(lib);
}

static void test_determinism(void **state)
{
	(void)state;
	/* Two separately loaded libraries, two expansions each: same bytes. */
	struct library *lib = shipped(), *lib2 = shipped();
	for (size_t b = 0; b < library_n_blueprints(lib); b++) {
		const char *kind = library_blueprint_at(lib, b)->id;
		for (int v = 0; v < 2; v++) {
			json_t *p = v ? profile_of(kind, "local", "partner", "kubernetes",
			                           json_pack("[s,s]", "health", "credentials"),
			                           json_pack("[s,s]", "mongodb", "graphql"))
			              : profile_of(kind, "sso", "internet", "aws",
			                           json_pack("[s,s]", "payment", "personal"),
			                           json_pack("[s]", "redis"));
			json_t *m1 = NULL, *m2 = NULL, *m3 = NULL;
			struct ts_err err = {0};
			assert_int_equal(blueprint_expand(lib, p, &m1, &err), 0);
			assert_int_equal(blueprint_expand(lib, p, &m2, &err), 0);
			assert_int_equal(blueprint_expand(lib2, p, &m3, &err), 0);
			char *s1 = json_dumps(m1, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			char *s2 = json_dumps(m2, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			char *s3 = json_dumps(m3, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			assert_string_equal(s1, s2);
			assert_string_equal(s1, s3);
			free(s1);
			free(s2);
			free(s3);
			json_decref(m1);
			json_decref(m2);
			json_decref(m3);
			json_decref(p);
		}
	}
	library_free(lib);
	library_free(lib2);
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
	library_free(lib);

	/* A kind without a blueprint: a library of component types only. */
	char *dir = tu_tmpdir();
	char *types_path = ts_asprintf("%s/library/component_types.json", tu_env("TS_SOURCE_DIR"));
	char *types = tu_read_file(types_path);
	assert_non_null(types);
	free(tu_write_file(dir, "component_types.json", types));
	const char *dirs[1] = {dir};
	struct library *bare = NULL;
	if (library_load(dirs, 1, &bare, &err) < 0)
		fail_msg("library_load: %s", err.msg);
	p = profile_of("iot_backend", "none", "internet", "aws", json_array(), json_array());
	m = NULL;
	assert_true(blueprint_expand(bare, p, &m, &err) < 0);
	assert_null(m);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_non_null(strstr(err.msg, "no blueprint for the profile kind \"iot_backend\""));
	json_decref(p);
	library_free(bare);
	free(types);
	free(types_path);
	tu_rmrf(dir);
	free(dir);
}

static const char *type_of(json_t *model, const char *id)
{
	json_t *c = comp(model, id);
	if (!c)
		fail_msg("no component %s", id);
	return json_string_value(json_object_get(c, "type"));
}

static bool has_string(json_t *list, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		if (strcmp(json_string_value(e), s) == 0)
			return true;
	}
	return false;
}

static json_t *expand(const struct library *lib, json_t *profile)
{
	json_t *m = NULL;
	struct ts_err err = {0};
	if (blueprint_expand(lib, profile, &m, &err) < 0)
		fail_msg("expand: %s", err.msg);
	json_decref(profile);
	return m;
}

/* The profile's answers select the components and properties a reviewer
 * expects in each of the newer architectures. */
static void test_rules_other_kinds(void **state)
{
	(void)state;
	struct library *lib = shipped();
	json_t *m;

	/* Mobile: cross-platform stack and GraphQL change the app and API. */
	m = expand(lib, profile_of("mobile_api", "local", "internet", "gcp",
	                           json_pack("[s,s]", "personal", "health"),
	                           json_pack("[s,s]", "flutter", "graphql")));
	assert_string_equal(type_of(m, "app"), "mobile_client");
	assert_true(has_string(json_object_get(comp(m, "app"), "tags"), "hybrid"));
	assert_string_equal(type_of(m, "api"), "graphql_api");
	assert_string_equal(type_of(m, "auth"), "auth_service");
	assert_null(comp(m, "idp"));
	assert_non_null(comp(m, "waf"));
	assert_non_null(comp(m, "media"));
	assert_true(json_is_true(prop(comp(m, "app"), "handles_health")));
	assert_true(json_is_true(prop(comp(m, "db"), "stores_credentials")));
	assert_string_equal(json_string_value(prop(comp(m, "db"), "data_classification")),
	                    "restricted");
	assert_true(has_string(prop(flow(m, "app-waf"), "data"), "credentials"));
	assert_true(has_string(prop(flow(m, "app-telemetry"), "data"), "pii"));
	assert_null(flow(m, "app-gateway"));
	json_decref(m);
	m = expand(lib, profile_of("mobile_api", "sso", "internal", "on_prem", json_array(),
	                           json_pack("[s]", "swift")));
	assert_false(has_string(json_object_get(comp(m, "app"), "tags"), "hybrid"));
	assert_string_equal(type_of(m, "api"), "rest_api");
	assert_non_null(flow(m, "app-idp"));
	assert_non_null(flow(m, "app-gateway"));
	assert_null(comp(m, "waf"));
	assert_null(comp(m, "secrets"));
	assert_null(comp(m, "media"));
	assert_null(prop(comp(m, "api"), "internet_facing"));
	json_decref(m);

	/* Serverless: document store unless the stack names a relational one;
	 * API keys add an authorizer and make the key table a credential store. */
	m = expand(lib, profile_of("serverless_api", "api_keys", "internet", "aws",
	                           json_pack("[s]", "personal"), json_pack("[s]", "python")));
	assert_string_equal(type_of(m, "db"), "nosql_database");
	assert_string_equal(type_of(m, "authorizer"), "serverless_function");
	assert_true(json_is_true(prop(comp(m, "db"), "stores_credentials")));
	assert_true(json_is_true(prop(comp(m, "handlers"), "internet_facing")));
	assert_true(json_is_true(prop(comp(m, "handlers"), "handles_pii")));
	assert_non_null(comp(m, "secrets"));
	assert_non_null(flow(m, "queue-consumers"));
	json_decref(m);
	m = expand(lib, profile_of("serverless_api", "none", "internal", "azure", json_array(),
	                           json_pack("[s]", "postgres")));
	assert_string_equal(type_of(m, "db"), "sql_database");
	assert_null(comp(m, "authorizer"));
	assert_true(json_is_false(prop(flow(m, "user-gateway"), "authenticated")));
	assert_null(prop(comp(m, "handlers"), "authenticates_users"));
	json_decref(m);

	/* Data pipeline: only internet or partner exposure adds an ingestion
	 * endpoint; sensitive data reaches the warehouse. */
	m = expand(lib, profile_of("data_pipeline", "sso", "partner", "azure",
	                           json_pack("[s,s]", "personal", "payment"), json_array()));
	assert_string_equal(type_of(m, "producers"), "external_system");
	assert_string_equal(type_of(m, "ingest"), "rest_api");
	assert_true(json_is_true(prop(comp(m, "ingest"), "internet_facing")));
	assert_true(json_is_true(prop(comp(m, "warehouse"), "handles_payment")));
	assert_string_equal(json_string_value(prop(comp(m, "warehouse"), "data_classification")),
	                    "restricted");
	assert_true(has_string(prop(flow(m, "etl-warehouse"), "data"), "pii"));
	assert_non_null(flow(m, "bi-idp"));
	json_decref(m);
	m = expand(lib, profile_of("data_pipeline", "local", "internal", "on_prem", json_array(),
	                           json_array()));
	assert_null(comp(m, "producers"));
	assert_null(comp(m, "ingest"));
	assert_null(comp(m, "gateway"));
	assert_null(model_trust_zone(m, "edge"));
	assert_true(json_is_true(prop(comp(m, "bi"), "stores_credentials")));
	json_decref(m);

	/* Internal admin: internet exposure puts an identity-aware proxy in
	 * front; without authentication the console says so. */
	m = expand(lib,
	           profile_of("internal_admin", "sso", "internet", "kubernetes",
	                      json_pack("[s,s]", "personal", "payment"), json_pack("[s]", "java")));
	assert_string_equal(type_of(m, "console"), "admin_console");
	assert_string_equal(json_string_value(json_object_get(comp(m, "proxy"), "name")),
	                    "Identity-aware access proxy");
	assert_true(json_is_true(prop(comp(m, "console"), "internet_facing")));
	assert_true(json_is_true(prop(comp(m, "console"), "authenticates_users")));
	assert_true(json_is_true(prop(comp(m, "console"), "handles_payment")));
	assert_non_null(comp(m, "payments"));
	assert_non_null(flow(m, "console-idp"));
	json_decref(m);
	m = expand(lib, profile_of("internal_admin", "none", "internal", NULL, json_array(),
	                           json_array()));
	assert_string_equal(json_string_value(json_object_get(comp(m, "proxy"), "name")),
	                    "Internal load balancer");
	assert_true(json_is_false(prop(comp(m, "console"), "authenticates_users")));
	assert_true(json_is_false(prop(flow(m, "proxy-console"), "authenticated")));
	assert_null(comp(m, "secrets"));
	json_decref(m);

	/* B2B webhooks: inbound endpoint, signed outbound deliveries. */
	m = expand(lib, profile_of("b2b_webhooks", "api_keys", "internet", "aws",
	                           json_pack("[s]", "personal"), json_pack("[s]", "go")));
	assert_string_equal(type_of(m, "receiver"), "webhook_receiver");
	assert_true(json_is_true(prop(comp(m, "receiver"), "internet_facing")));
	assert_non_null(flow(m, "dispatcher-partner"));
	assert_true(has_string(prop(flow(m, "gateway-api"), "data"), "credentials"));
	json_decref(m);
	m = expand(lib, profile_of("b2b_webhooks", "none", "internal", "on_prem", json_array(),
	                           json_pack("[s]", "mongodb")));
	assert_true(json_is_false(prop(comp(m, "receiver"), "internet_facing")));
	assert_true(json_is_false(prop(flow(m, "gateway-receiver"), "authenticated")));
	assert_string_equal(type_of(m, "db"), "nosql_database");
	assert_null(comp(m, "waf"));
	json_decref(m);

	/* IoT: devices always present and authenticated by certificate. */
	m = expand(lib, profile_of("iot_backend", "none", "internet", "azure",
	                           json_pack("[s]", "health"), json_pack("[s]", "c")));
	assert_string_equal(type_of(m, "devices"), "iot_device");
	assert_true(json_is_true(prop(flow(m, "devices-gateway"), "authenticated")));
	assert_true(json_is_true(prop(flow(m, "devices-gateway"), "encrypted")));
	assert_true(has_string(prop(flow(m, "devices-gateway"), "data"), "health"));
	assert_string_equal(type_of(m, "telemetry"), "nosql_database");
	assert_string_equal(json_string_value(prop(comp(m, "telemetry"), "data_classification")),
	                    "restricted");
	assert_non_null(flow(m, "ci-signing"));
	json_decref(m);

	/* ML inference: an LLM stack adds retrieval, a hosted provider only
	 * when one is named. */
	m = expand(lib, profile_of("ml_inference", "sso", "internet", "azure",
	                           json_pack("[s]", "personal"),
	                           json_pack("[s,s]", "azure-openai", "rag")));
	assert_true(has_string(json_object_get(comp(m, "model"), "tags"), "llm"));
	assert_string_equal(type_of(m, "vector"), "vector_store");
	assert_string_equal(type_of(m, "provider"), "saas_api");
	assert_true(has_string(prop(flow(m, "model-provider"), "data"), "pii"));
	assert_null(comp(m, "agent"));
	json_decref(m);
	/* An agent stack adds the agent orchestrator, MCP its tool server. */
	m = expand(lib, profile_of("ml_inference", "sso", "internet", "aws", json_array(),
	                           json_pack("[s,s,s]", "bedrock", "langgraph", "mcp")));
	assert_string_equal(type_of(m, "agent"), "ai_agent");
	assert_string_equal(type_of(m, "tools"), "mcp_server");
	assert_non_null(flow(m, "agent-tools"));
	assert_non_null(flow(m, "agent-model"));
	json_decref(m);
	m = expand(lib, profile_of("ml_inference", "api_keys", "partner", "aws", json_array(),
	                           json_pack("[s]", "vllm")));
	assert_true(has_string(json_object_get(comp(m, "model"), "tags"), "llm"));
	assert_null(comp(m, "provider"));
	assert_non_null(comp(m, "vector"));
	json_decref(m);
	m = expand(lib, profile_of("ml_inference", "local", "internal", "on_prem", json_array(),
	                           json_pack("[s]", "pytorch")));
	assert_int_equal(json_array_size(json_object_get(comp(m, "model"), "tags")), 0);
	assert_true(json_is_true(prop(comp(m, "model"), "retrained")));
	assert_null(comp(m, "vector"));
	assert_true(json_is_true(prop(comp(m, "usage-db"), "stores_credentials")));
	json_decref(m);
	library_free(lib);
}

/* Every shipped example profile is valid, names a kind with a blueprint and
 * expands (twice, identically) into a model the strict importer accepts; the
 * examples cover every kind. */
static void test_example_profiles(void **state)
{
	(void)state;
	struct library *lib = shipped();
	static const char *const files[] = {"shop.json",
	                                    "intranet.json",
	                                    "portal.json",
	                                    "orders-platform.json",
	                                    "fitness-app.json",
	                                    "invoicing-api.json",
	                                    "customer-analytics.json",
	                                    "support-backoffice.json",
	                                    "logistics-hub.json",
	                                    "smart-thermostat.json",
	                                    "support-assistant.json"};
	json_t *kinds = json_object();
	for (size_t i = 0; i < TS_ARRAY_SIZE(files); i++) {
		char *path =
		    ts_asprintf("%s/examples/profiles/%s", tu_env("TS_SOURCE_DIR"), files[i]);
		json_t *p = NULL;
		struct ts_err err = {0};
		if (blueprint_profile_load(path, &p, &err) < 0)
			fail_msg("%s", err.msg);
		const char *kind = json_string_value(json_object_get(p, "kind"));
		json_object_set_new(kinds, kind, json_true());
		json_t *m1 = NULL, *m2 = NULL;
		if (blueprint_expand(lib, p, &m1, &err) < 0 ||
		    blueprint_expand(lib, p, &m2, &err) < 0)
			fail_msg("%s: %s", files[i], err.msg);
		check_model(lib, m1, files[i]);
		char *s1 = json_dumps(m1, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		char *s2 = json_dumps(m2, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		assert_string_equal(s1, s2);
		/* The profile's compliance list is the model's. */
		assert_true(
		    json_equal(json_object_get(p, "compliance"),
		               json_object_get(json_object_get(m1, "project"), "compliance")));
		free(s1);
		free(s2);
		json_decref(m1);
		json_decref(m2);
		json_decref(p);
		free(path);
	}
	for (size_t k = 0; k < TS_ARRAY_SIZE(all_kinds); k++)
		if (!json_object_get(kinds, all_kinds[k]))
			fail_msg("no example profile of kind %s", all_kinds[k]);
	json_decref(kinds);
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
	assert_int_equal(err.code, TS_E_INVALID);
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
	assert_int_equal(err.code, TS_E_NOTFOUND);
	char *dir = tu_tmpdir();
	char *f = tu_write_file(dir, "bad.json", "{\"name\": \"x\",\n \"kind\": }");
	assert_true(blueprint_profile_load(f, &norm, &err) < 0);
	assert_int_equal(err.code, TS_E_INVALID);
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
	    cmocka_unit_test(test_every_blueprint),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_rules_other_kinds),
	    cmocka_unit_test(test_example_profiles),
	    cmocka_unit_test(test_profile_errors),
	    cmocka_unit_test(test_cli_model_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
