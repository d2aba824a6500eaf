/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the threat library: the shipped library, overlays, every load error
 * class with its file and JSON path, lint statistics and catalogs, the lint CLI. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/library/blueprint.h"
#include "engine/library/library.h"
#include "engine/model/model.h"
#include "helpers/testutil.h"

static char *src_path(const char *rel)
{
	return ts_asprintf("%s/%s", tu_env("TS_SOURCE_DIR"), rel);
}

static struct library *load_dirs(const char *a, const char *b)
{
	const char *dirs[2] = {a, b};
	struct library *lib = NULL;
	struct ts_err err = {0};
	int r = library_load(dirs, b ? 2 : 1, &lib, &err);
	if (r < 0)
		fail_msg("library_load: %s", err.msg);
	return lib;
}

static void test_shipped_library(void **state)
{
	(void)state;
	char *dir = src_path("library");
	struct library *lib = load_dirs(dir, NULL);
	static const char *const vocab[] = {"web_app",
	                                    "spa",
	                                    "mobile_client",
	                                    "desktop_client",
	                                    "rest_api",
	                                    "graphql_api",
	                                    "grpc_service",
	                                    "api_gateway",
	                                    "identity_provider",
	                                    "auth_service",
	                                    "session_store",
	                                    "sql_database",
	                                    "nosql_database",
	                                    "cache",
	                                    "message_broker",
	                                    "object_storage",
	                                    "file_upload",
	                                    "search_engine",
	                                    "payment_integration",
	                                    "messaging_gateway",
	                                    "admin_console",
	                                    "background_worker",
	                                    "scheduler",
	                                    "ci_cd_pipeline",
	                                    "source_repository",
	                                    "container_registry",
	                                    "container_orchestrator",
	                                    "serverless_function",
	                                    "secrets_manager",
	                                    "logging_monitoring",
	                                    "cdn",
	                                    "waf",
	                                    "load_balancer",
	                                    "saas_api",
	                                    "webhook_receiver",
	                                    "ml_endpoint",
	                                    "iot_device",
	                                    "data_warehouse",
	                                    "virtual_machine",
	                                    "message_stream",
	                                    "network_gateway",
	                                    "dns_service",
	                                    "file_storage",
	                                    "cloud_control_plane",
	                                    "user",
	                                    "administrator",
	                                    "external_system",
	                                    "generic_process",
	                                    "generic_store",
	                                    "generic_actor",
	                                    "native_service",
	                                    "service_registry",
	                                    "mcp_server",
	                                    "ai_agent",
	                                    "vector_store"};
	assert_int_equal(library_n_component_types(lib), TS_ARRAY_SIZE(vocab));
	for (size_t i = 0; i < TS_ARRAY_SIZE(vocab); i++)
		assert_non_null(library_component_type(lib, vocab[i]));
	assert_string_equal(library_component_type(lib, "user")->kind_name, "actor");
	assert_int_equal(library_component_type(lib, "cache")->kind, LIB_KIND_STORE);

	/* Sorted, and every branch the generator needs is present. */
	assert_true(library_n_threats(lib) >= 15);
	assert_true(library_n_countermeasures(lib) >= 20);
	bool sev[5] = {false}, scope_flow = false, scope_comp = false, cond = false, nocond = false;
	for (size_t i = 0; i < library_n_threats(lib); i++) {
		const struct lib_threat *t = library_threat_at(lib, i);
		if (i > 0)
			assert_true(strcmp(library_threat_at(lib, i - 1)->id, t->id) < 0);
		sev[t->severity_rank] = true;
		scope_flow |= t->scope == LIB_SCOPE_FLOW;
		scope_comp |= t->scope == LIB_SCOPE_COMPONENT;
		cond |= t->condition != NULL;
		nocond |= t->condition == NULL;
		assert_true(t->n_countermeasures > 0);
		assert_true(strlen(t->stride) > 0);
	}
	assert_true(sev[1] && sev[2] && sev[3] && sev[4]);
	assert_true(scope_flow && scope_comp && cond && nocond);

	const struct lib_threat *csrf = library_threat(lib, "T-WEB-CSRF");
	assert_non_null(csrf);
	assert_string_equal(csrf->stride, "ST"); /* written as names */
	assert_string_equal(csrf->severity, "medium");
	assert_int_equal(csrf->cwe[0], 352);
	assert_non_null(csrf->condition);
	assert_string_equal(
	    csrf->condition_src,
	    "component.authenticates_users == true || component.cookie_sessions == true");

	const struct lib_countermeasure *tls = library_countermeasure(lib, "C-TLS-EVERYWHERE");
	assert_non_null(tls);
	assert_non_null(tls->satisfied_by);
	assert_int_equal(tls->satisfied_by->relation, LIB_RELATION_IN_FRONT);
	assert_non_null(tls->satisfied_by->condition);
	assert_true(tls->n_compliance >= 4);
	for (size_t k = 1; k < tls->n_compliance; k++)
		assert_true(strcmp(tls->compliance[k - 1].framework, tls->compliance[k].framework) <
		            0);
	const struct lib_countermeasure *auth =
	    library_countermeasure(lib, "C-CENTRAL-AUTHENTICATION");
	assert_int_equal(auth->satisfied_by->relation, LIB_RELATION_CONNECTED);
	assert_string_equal(auth->satisfied_by->provider_types[0], "identity_provider");
	assert_null(library_threat(lib, "T-NOPE"));

	assert_string_equal(library_map_type(lib, "otm", "AWS-S3"), "object_storage");
	assert_string_equal(library_map_type(lib, "otm", "okta"), "identity_provider");
	assert_string_equal(library_map_type(lib, "threatdragon", "tm.Store"), "generic_store");
	assert_null(library_map_type(lib, "otm", "no-such-thing"));
	assert_null(library_map_type(lib, "nope", "okta"));

	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	char waf[] = "waf";
	assert_string_equal(ti.type_id(ti.ud, waf), "waf");
	assert_ptr_not_equal(ti.type_id(ti.ud, waf), waf);
	assert_null(ti.type_id(ti.ud, "mainframe"));
	assert_string_equal(ti.kind(ti.ud, "sql_database"), "store");
	assert_string_equal(ti.map(ti.ud, "otm", "kubernetes"), "container_orchestrator");

	assert_non_null(library_blueprint(lib, "web_app"));
	assert_non_null(library_blueprint(lib, "spa_api"));
	assert_non_null(library_blueprint(lib, "microservices"));
	library_free(lib);
	library_free(NULL);
	free(dir);
}

static void test_overlay(void **state)
{
	(void)state;
	char *base = src_path("library");
	char *over = src_path("tests/data/library/overlay");
	struct library *plain = load_dirs(base, NULL);
	struct library *lib = load_dirs(base, over);
	/* Replaced by id. */
	const struct lib_threat *xss = library_threat(lib, "T-WEB-XSS");
	assert_string_equal(xss->severity, "critical");
	assert_string_equal(xss->stride, "TI");
	assert_string_equal(xss->title, "Cross-site scripting (team policy)");
	assert_int_equal(xss->n_countermeasures, 2);
	assert_string_equal(xss->countermeasures[1]->id, "C-LOCAL-REVIEW");
	assert_true(strstr(xss->file, "overlay") != NULL);
	/* Added. */
	assert_non_null(library_component_type(lib, "mainframe"));
	assert_non_null(library_countermeasure(lib, "C-LOCAL-REVIEW"));
	assert_int_equal(library_n_countermeasures(lib), library_n_countermeasures(plain) + 2);
	assert_int_equal(library_n_threats(lib), library_n_threats(plain));
	/* Mappings overlay case-insensitively. */
	assert_string_equal(library_map_type(lib, "otm", "aws-s3"), "generic_store");
	assert_string_equal(library_map_type(lib, "otm", "Z-OS"), "mainframe");
	assert_string_equal(library_map_type(lib, "otm", "okta"), "identity_provider");
	library_free(plain);
	library_free(lib);
	free(base);
	free(over);
}

/* The importers' mappings cover the foreign types teams commonly draw: cloud
 * services of the three big providers, databases, queues, identity providers,
 * CI systems, Kubernetes, CDNs/WAFs, monitoring, payment, e-mail and SMS. */
static void test_common_mappings(void **state)
{
	(void)state;
	char *base = src_path("library");
	struct library *lib = load_dirs(base, NULL);
	static const struct {
		const char *format, *foreign, *type;
	} want[] = {
	    {"otm", "aws-lambda", "serverless_function"},
	    {"otm", "AWS-S3", "object_storage"},
	    {"otm", "aws-dynamodb", "nosql_database"},
	    {"otm", "aws-kinesis", "message_stream"},
	    {"otm", "aws-cognito", "identity_provider"},
	    {"otm", "aws-cloudtrail", "logging_monitoring"},
	    {"otm", "aws-iot-core", "message_broker"},
	    {"otm", "azure-app-service", "web_app"},
	    {"otm", "azure-event-hubs", "message_stream"},
	    {"otm", "azure-cache-for-redis", "cache"},
	    {"otm", "azure-ad-b2c", "identity_provider"},
	    {"otm", "azure-openai", "ml_endpoint"},
	    {"otm", "google-cloud-run", "serverless_function"},
	    {"otm", "google-cloud-sql", "sql_database"},
	    {"otm", "google-cloud-armor", "waf"},
	    {"otm", "gcp-pubsub", "message_broker"},
	    {"otm", "sql-server", "sql_database"},
	    {"otm", "neo4j", "nosql_database"},
	    {"otm", "activemq", "message_broker"},
	    {"otm", "ping-identity", "identity_provider"},
	    {"otm", "active-directory", "identity_provider"},
	    {"otm", "circleci", "ci_cd_pipeline"},
	    {"otm", "argocd", "ci_cd_pipeline"},
	    {"otm", "github", "source_repository"},
	    {"otm", "harbor", "container_registry"},
	    {"otm", "openshift", "container_orchestrator"},
	    {"otm", "envoy", "load_balancer"},
	    {"otm", "akamai", "cdn"},
	    {"otm", "imperva", "waf"},
	    {"otm", "prometheus", "logging_monitoring"},
	    {"otm", "sentry", "logging_monitoring"},
	    {"otm", "paypal", "payment_integration"},
	    {"otm", "mailgun", "messaging_gateway"},
	    {"otm", "vonage", "messaging_gateway"},
	    {"otm", "pinecone", "vector_store"},
	    {"otm", "databricks", "data_warehouse"},
	    {"threatdragon", "api-gateway", "api_gateway"},
	    {"threatdragon", "load-balancer", "load_balancer"},
	    {"threatdragon", "identity-provider", "identity_provider"},
	    {"threatdragon", "service-bus", "message_broker"},
	    {"threatdragon", "key-vault", "secrets_manager"},
	    {"threatdragon", "github-actions", "ci_cd_pipeline"},
	    {"threatdragon", "k8s", "container_orchestrator"},
	    {"threatdragon", "cloudfront", "cdn"},
	    {"threatdragon", "datadog", "logging_monitoring"},
	    {"threatdragon", "Stripe", "payment_integration"},
	    {"threatdragon", "twilio", "messaging_gateway"},
	    {"threatdragon", "cosmosdb", "nosql_database"},
	    {"threatdragon", "snowflake", "data_warehouse"},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(want); i++) {
		const char *got = library_map_type(lib, want[i].format, want[i].foreign);
		if (!got || strcmp(got, want[i].type) != 0)
			fail_msg("%s mapping of %s: %s, expected %s", want[i].format,
			         want[i].foreign, got ? got : "(none)", want[i].type);
	}
	/* Every vocabulary type but the generic fallbacks is reachable from
	 * both importers through the shipped mappings file. */
	char *mpath = src_path("library/mappings.json");
	char *text = tu_read_file(mpath);
	assert_non_null(text);
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	json_t *otm_maps = json_object_get(json_object_get(doc, "type_mappings"), "otm");
	json_t *td_maps = json_object_get(json_object_get(doc, "type_mappings"), "threatdragon");
	for (size_t i = 0; i < library_n_component_types(lib); i++) {
		const char *id = library_component_type_at(lib, i)->id;
		if (strncmp(id, "generic_", 8) == 0)
			continue;
		bool otm = false, td = false;
		const char *k;
		json_t *v;
		json_object_foreach (otm_maps, k, v)
			otm = otm || strcmp(json_string_value(v), id) == 0;
		json_object_foreach (td_maps, k, v)
			td = td || strcmp(json_string_value(v), id) == 0;
		if (!otm || !td)
			fail_msg("no %s mapping reaches the type %s", otm ? "Threat Dragon" : "OTM",
			         id);
	}
	json_decref(doc);
	free(text);
	free(mpath);
	library_free(lib);
	free(base);
}

/* A small valid library in a new temporary directory. */
static char *mini_library(void)
{
	char *dir = tu_tmpdir();
	char *p = ts_asprintf("%s/threats", dir);
	char *q = ts_asprintf("%s/countermeasures", dir);
	char *r = ts_asprintf("%s/blueprints", dir);
	assert_int_equal(mkdir(p, 0700) | mkdir(q, 0700) | mkdir(r, 0700), 0);
	free(tu_write_file(dir, "component_types.json",
	                   "{\"component_types\": ["
	                   "{\"id\": \"web_app\", \"name\": \"Web\", \"kind\": \"process\", "
	                   "\"description\": \"d\"},"
	                   "{\"id\": \"sql_database\", \"name\": \"DB\", \"kind\": \"store\", "
	                   "\"description\": \"d\"},"
	                   "{\"id\": \"user\", \"name\": \"User\", \"kind\": \"actor\", "
	                   "\"description\": \"d\"}],"
	                   "\"properties\": [{\"name\": \"internet_facing\", \"scope\": "
	                   "\"component\", \"type\": \"boolean\", \"description\": \"d\"}]}"));
	free(tu_write_file(q, "a.json",
	                   "{\"countermeasures\": ["
	                   "{\"id\": \"C-A\", \"title\": \"A\", \"priority\": 1, "
	                   "\"requirement\": \"As a developer, I do A.\", "
	                   "\"acceptance_test\": \"run it\", "
	                   "\"how_to\": [{\"stack\": \"generic\", \"text\": \"do it\"}], "
	                   "\"compliance\": {\"nist-800-53\": [\"AC-3\"]}},"
	                   "{\"id\": \"C-B\", \"title\": \"B\", \"priority\": 4, "
	                   "\"requirement\": \"As a developer, I do B.\"}]}"));
	free(tu_write_file(p, "a.json",
	                   "{\"threats\": ["
	                   "{\"id\": \"T-A\", \"title\": \"A\", \"description\": \"d\", "
	                   "\"stride\": [\"S\"], \"applies_to\": [\"web_app\"], "
	                   "\"scope\": \"component\", \"severity\": \"high\", "
	                   "\"likelihood\": \"low\", \"cwe\": [79], \"capec\": [63], "
	                   "\"condition\": \"component.internet_facing\", "
	                   "\"countermeasures\": [\"C-A\"]},"
	                   "{\"id\": \"T-B\", \"title\": \"B\", \"description\": \"d\", "
	                   "\"stride\": [\"D\"], \"applies_to\": [\"sql_database\"], "
	                   "\"scope\": \"flow\", \"severity\": \"low\", \"likelihood\": \"low\", "
	                   "\"unconditional\": \"Every flow to a database carries queries.\", "
	                   "\"countermeasures\": [\"C-A\", \"C-B\"]}]}"));
	free(p);
	free(q);
	free(r);
	return dir;
}

/* Writes name (relative to dir) with content, loads dir, and checks the error
 * names the file and contains want. */
static void expect_error(const char *name, const char *content, const char *want)
{
	char *dir = mini_library();
	free(tu_write_file(dir, name, content));
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	int r = library_load(dirs, 1, &lib, &err);
	if (r >= 0)
		fail_msg("%s: loaded although it should fail with '%s'", name, want);
	assert_null(lib);
	assert_int_equal(err.code, TS_E_INVALID);
	char *file = ts_asprintf("%s/%s: ", dir, name);
	if (!strstr(err.msg, file) || !strstr(err.msg, want))
		fail_msg("expected '%s%s' in:\n%s", file, want, err.msg);
	free(file);
	tu_rmrf(dir);
	free(dir);
}

#define THREAT(fields)                                                                             \
	"{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", \"description\": \"d\", "              \
	"\"stride\": [\"S\"], \"applies_to\": [\"web_app\"], \"scope\": \"component\", "           \
	"\"severity\": \"low\", \"likelihood\": \"low\", \"countermeasures\": [\"C-A\"]" fields    \
	"}]}"

static void test_load_errors(void **state)
{
	(void)state;
	/* The mini library itself is valid. */
	char *dir = mini_library();
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_load(dirs, 1, &lib, &err), 0);
	assert_int_equal(library_n_threats(lib), 2);
	library_free(lib);
	tu_rmrf(dir);
	free(dir);

	expect_error(
	    "threats/b.json",
	    "{\"threats\": [{\"id\": \"T-X\", \"description\": \"d\", \"stride\": [\"S\"], "
	    "\"applies_to\": [\"web_app\"], \"scope\": \"component\", \"severity\": "
	    "\"low\", \"likelihood\": \"low\", \"countermeasures\": []}]}",
	    "$.threats[0]: missing required field \"title\"");
	expect_error("threats/b.json", THREAT(", \"cwe\": [79, \"x\"]"),
	             "$.threats[0].cwe[1]: must be an integer");
	expect_error("threats/b.json", THREAT(", \"condition\": \"component.x && && 1\""),
	             "$.threats[0].condition: column 16: expected a value");
	expect_error("threats/b.json", THREAT(", \"condition\": \"flow.encrypted\""),
	             "$.threats[0].condition: uses the root \"flow\"");
	expect_error("threats/b.json",
	             "{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", \"description\": \"d\", "
	             "\"stride\": [\"S\"], \"applies_to\": [\"web_app\"], \"scope\": \"flow\", "
	             "\"severity\": \"low\", \"likelihood\": \"low\", \"countermeasures\": [], "
	             "\"condition\": \"component.internet_facing\"}]}",
	             "$.threats[0].condition: uses the root \"component\"");
	expect_error("threats/b.json",
	             "{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", \"description\": \"d\", "
	             "\"stride\": [\"S\"], \"applies_to\": [\"web_app\"], \"scope\": "
	             "\"component\", \"severity\": \"low\", \"likelihood\": \"low\", "
	             "\"countermeasures\": [\"C-A\", \"C-NOPE\"]}]}",
	             "$.threats[0].countermeasures[1]: unknown countermeasure \"C-NOPE\"");
	expect_error("threats/b.json",
	             "{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", \"description\": \"d\", "
	             "\"stride\": [\"S\"], \"applies_to\": [\"web_app\", \"mainframe\"], "
	             "\"scope\": \"component\", \"severity\": \"low\", \"likelihood\": \"low\", "
	             "\"countermeasures\": []}]}",
	             "$.threats[0].applies_to[1]: unknown component type \"mainframe\"");
	expect_error("threats/b.json", THREAT(", \"severty\": \"high\""),
	             "$.threats[0].severty: unknown field");
	expect_error("threats/b.json",
	             "{\"threats\": [{\"id\": \"T-A\", \"title\": \"X\", \"description\": \"d\", "
	             "\"stride\": [\"S\"], \"applies_to\": [\"web_app\"], \"scope\": "
	             "\"component\", \"severity\": \"low\", \"likelihood\": \"low\", "
	             "\"countermeasures\": []}]}",
	             "$.threats[0].id: duplicate id \"T-A\"");
	expect_error("threats/b.json", THREAT(", \"stride\": [\"Sneaking\"]"), "line 1, column");
	expect_error("threats/b.json",
	             "{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", \"description\": \"d\", "
	             "\"stride\": [\"Sneaking\"], \"applies_to\": [\"web_app\"], \"scope\": "
	             "\"component\", \"severity\": \"low\", \"likelihood\": \"low\", "
	             "\"countermeasures\": []}]}",
	             "$.threats[0].stride[0]: \"Sneaking\" is not a STRIDE category");
	expect_error("threats/b.json", "{\"threat\": []}", "$.threat: unknown field");
	expect_error("countermeasures/b.json",
	             "{\"countermeasures\": [{\"id\": \"C-X\", \"title\": \"X\", \"priority\": 2, "
	             "\"requirement\": \"r\", \"compliance\": {\"iso-27001\": [\"A.8.35\"]}}]}",
	             "$.countermeasures[0].compliance[\"iso-27001\"][0]: \"A.8.35\" is not");
	expect_error("countermeasures/b.json",
	             "{\"countermeasures\": [{\"id\": \"C-X\", \"title\": \"X\", \"priority\": 2, "
	             "\"requirement\": \"r\", \"compliance\": {\"nist-800-53\": [\"AC2\"], "
	             "\"gdpr\": [\"Article 32\"], \"owasp-asvs\": [\"V2.1\"], \"pci-dss\": "
	             "[\"13.1\"]}}]}",
	             "$.countermeasures[0].compliance[\"nist-800-53\"][0]: \"AC2\" is not");
	expect_error("countermeasures/b.json",
	             "{\"countermeasures\": [{\"id\": \"C-X\", \"title\": \"X\", \"priority\": 2, "
	             "\"requirement\": \"r\", \"satisfied_by\": {\"provider_types\": [\"idp\"], "
	             "\"relation\": \"connected\"}}]}",
	             "$.countermeasures[0].satisfied_by.provider_types[0]: unknown component "
	             "type \"idp\"");
	expect_error("countermeasures/b.json",
	             "{\"countermeasures\": [{\"id\": \"C-X\", \"title\": \"X\", \"priority\": 2, "
	             "\"requirement\": \"r\", \"satisfied_by\": {\"provider_types\": "
	             "[\"web_app\"], \"relation\": \"near\", \"condition\": \"source.(\"}}]}",
	             "$.countermeasures[0].satisfied_by.relation: unknown value \"near\"");
	expect_error("countermeasures/b.json",
	             "{\"countermeasures\": [{\"id\": \"X-1\", \"title\": \"X\", \"priority\": 2, "
	             "\"requirement\": \"r\"}]}",
	             "$.countermeasures[0].id: must look like C-");
	expect_error("mappings.json", "{\"type_mappings\": {\"otm\": {\"db\": \"database\"}}}",
	             "$.type_mappings.otm.db: unknown component type \"database\"");
	expect_error(
	    "blueprints/b.json",
	    "{\"blueprints\": [{\"id\": \"web_app\", \"name\": \"n\", \"description\": "
	    "\"d\", \"trust_zones\": [{\"id\": \"z\", \"name\": \"Z\", \"trust_level\": 1}], "
	    "\"components\": [{\"id\": \"w\", \"type\": \"web_app\", \"name\": \"W\", "
	    "\"trust_zone\": \"z\"}], \"flows\": [{\"id\": \"f\", \"source\": \"w\", "
	    "\"destination\": \"db\"}]}]}",
	    "$.blueprints[0].flows[0].destination: unknown component \"db\"");
	expect_error(
	    "blueprints/b.json",
	    "{\"blueprints\": [{\"id\": \"web_app\", \"name\": \"n\", \"description\": "
	    "\"d\", \"trust_zones\": [{\"id\": \"z\", \"name\": \"Z\", \"trust_level\": 1}], "
	    "\"components\": [{\"id\": \"w\", \"type\": \"web_app\", \"name\": \"W\", "
	    "\"trust_zone\": \"z\", \"when\": {\"authentication\": \"ldap\"}}]}]}",
	    "$.blueprints[0].components[0].when.authentication: unknown value \"ldap\"");
	expect_error(
	    "blueprints/b.json",
	    "{\"blueprints\": [{\"id\": \"desktop\", \"name\": \"n\", \"description\": "
	    "\"d\", \"trust_zones\": [{\"id\": \"z\", \"name\": \"Z\", \"trust_level\": 1}], "
	    "\"components\": [{\"id\": \"w\", \"type\": \"web_app\", \"name\": \"W\", "
	    "\"trust_zone\": \"z\"}, {\"id\": \"w\", \"type\": \"user\", \"name\": \"U\", "
	    "\"trust_zone\": \"z\"}]}]}",
	    "$.blueprints[0].id: unknown value \"desktop\"");

	/* A missing directory is EX_NOINPUT. */
	const char *missing[1] = {"/nonexistent/threatsync-library"};
	ts_err_clear(&err);
	lib = NULL;
	assert_true(library_load(missing, 1, &lib, &err) < 0);
	assert_null(lib);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/threatsync-library"));
}

static json_t *get_path(json_t *root, const char *a, const char *b)
{
	return json_object_get(json_object_get(root, a), b);
}

static void test_lint_stats(void **state)
{
	(void)state;
	char *dir = mini_library();
	const char *dirs[1] = {dir};
	json_t *rep = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_lint(dirs, 1, NULL, &rep, &err), 0);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	assert_string_equal(json_string_value(json_object_get(rep, "format")),
	                    "threatsync-library-lint/1");
	assert_int_equal(json_integer_value(get_path(rep, "counts", "component_types")), 3);
	assert_int_equal(json_integer_value(get_path(rep, "counts", "threats")), 2);
	assert_int_equal(json_integer_value(get_path(rep, "counts", "countermeasures")), 2);
	assert_int_equal(json_integer_value(get_path(rep, "counts", "blueprints")), 0);
	json_t *c = json_object_get(rep, "completeness");
	assert_int_equal(json_integer_value(get_path(c, "threats_with_cwe", "count")), 1);
	assert_int_equal(json_integer_value(get_path(c, "threats_with_cwe", "total")), 2);
	assert_true(json_real_value(get_path(c, "threats_with_cwe", "ratio")) == 0.5);
	assert_true(json_real_value(get_path(c, "threats_with_condition", "ratio")) == 0.5);
	assert_int_equal(json_integer_value(get_path(c, "threats_unconditional", "count")), 1);
	assert_true(json_real_value(get_path(c, "countermeasures_with_acceptance_test", "ratio")) ==
	            0.5);
	assert_true(json_real_value(get_path(c, "countermeasures_with_satisfied_by", "ratio")) ==
	            0.0);
	json_t *cov = json_object_get(rep, "coverage");
	assert_int_equal(json_integer_value(get_path(cov, "severity", "high")), 1);
	assert_int_equal(json_integer_value(get_path(cov, "scope", "flow")), 1);
	assert_int_equal(json_integer_value(get_path(cov, "stride", "D")), 1);
	assert_int_equal(json_array_size(json_object_get(cov, "component_types_without_threats")),
	                 1);
	assert_int_equal(json_array_size(json_object_get(cov, "profile_kinds_without_blueprint")),
	                 10);
	json_decref(rep);

	/* Errors are collected, not only the first; the report still has stats. */
	char *q = ts_asprintf("%s/threats", dir);
	free(tu_write_file(q, "c.json", THREAT(", \"cwe\": [-1], \"capec\": [\"x\"]")));
	assert_int_equal(library_lint(dirs, 1, NULL, &rep, &err), 0);
	assert_false(json_is_true(json_object_get(rep, "ok")));
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "path")),
	                    "$.threats[0].cwe[0]");
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_array_get(errs, 1), "file")), "c.json"));
	/* T-B uses C-B; nothing unused, and T-X failed so the count stays. */
	assert_int_equal(json_integer_value(get_path(rep, "counts", "threats")), 2);
	json_decref(rep);
	free(q);
	tu_rmrf(dir);
	free(dir);
}

/* Every threat has a condition or says why it is unconditional: neither is
 * an error of the lint (not of loading, so that a team's overlay still
 * loads); both, or a reason longer than one sentence, an error of loading. */
static void test_lint_condition_audit(void **state)
{
	(void)state;
	char *dir = mini_library();
	char *q = ts_asprintf("%s/threats", dir);
	free(tu_write_file(q, "c.json", THREAT("")));
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("%s", err.msg);
	library_free(lib);
	json_t *rep = NULL;
	assert_int_equal(library_lint(dirs, 1, NULL, &rep, &err), 0);
	assert_false(json_is_true(json_object_get(rep, "ok")));
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 1);
	json_t *e0 = json_array_get(errs, 0);
	assert_string_equal(json_string_value(json_object_get(e0, "path")), "$.threats[0]");
	assert_non_null(strstr(json_string_value(json_object_get(e0, "file")), "threats/c.json"));
	assert_string_equal(json_string_value(json_object_get(e0, "message")),
	                    "threat \"T-X\" has neither a condition nor an \"unconditional\" "
	                    "reason: add a condition naming what makes it possible, or say in one "
	                    "sentence why it holds for every component of its types");
	json_t *c = json_object_get(rep, "completeness");
	assert_int_equal(json_integer_value(get_path(c, "threats_unconditional", "count")), 1);
	assert_int_equal(json_integer_value(get_path(c, "threats_unconditional", "total")), 3);
	json_decref(rep);
	free(q);
	tu_rmrf(dir);
	free(dir);

	expect_error("threats/c.json",
	             THREAT(", \"condition\": \"component.internet_facing\", "
	                    "\"unconditional\": \"Always.\""),
	             "$.threats[0].unconditional: a threat with a condition does not say why it "
	             "is unconditional: drop one of the two");
	expect_error("threats/c.json", THREAT(", \"unconditional\": \"\""),
	             "$.threats[0].unconditional: must be a non-empty string");
	char long_reason[LIBRARY_UNCONDITIONAL_MAX + 2];
	memset(long_reason, 'a', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	char *doc = ts_asprintf("{\"threats\": [{\"id\": \"T-X\", \"title\": \"X\", "
	                        "\"description\": \"d\", \"stride\": [\"S\"], \"applies_to\": "
	                        "[\"web_app\"], \"scope\": \"component\", \"severity\": \"low\", "
	                        "\"likelihood\": \"low\", \"countermeasures\": [\"C-A\"], "
	                        "\"unconditional\": \"%s\"}]}",
	                        long_reason);
	expect_error("threats/c.json", doc,
	             "$.threats[0].unconditional: must be one sentence of at most 400 bytes");
	free(doc);
}

static void test_lint_catalogs(void **state)
{
	(void)state;
	char *cat = ts_asprintf("%s/tests/data/catalogs", tu_env("TS_SOURCE_DIR"));
	char *nist = ts_asprintf("%s/nist-800-53r5-baselines.tsv", cat);
	if (access(nist, R_OK) != 0) {
		free(nist);
		free(cat);
		fail_msg("the control catalogs in tests/data/catalogs are missing");
	}
	free(nist);
	char *dir = mini_library();
	char *q = ts_asprintf("%s/countermeasures", dir);
	free(tu_write_file(q, "b.json",
	                   "{\"countermeasures\": [{\"id\": \"C-C\", \"title\": \"C\", "
	                   "\"priority\": 3, \"requirement\": \"r\", \"compliance\": "
	                   "{\"nist-800-53\": [\"AC-3\", \"AC-99\"], \"owasp-asvs\": "
	                   "[\"2.1.1\", \"19.9.9\"]}}]}"));
	const char *dirs[1] = {dir};
	struct library_lint_opts opts = {.catalogs_dir = cat};
	json_t *rep = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_lint(dirs, 1, &opts, &rep, &err), 0);
	assert_false(json_is_true(json_object_get(rep, "ok")));
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 1);
	json_t *e0 = json_array_get(errs, 0);
	assert_string_equal(json_string_value(json_object_get(e0, "path")),
	                    "$.countermeasures[0].compliance[\"owasp-asvs\"][1]");
	json_t *warns = json_object_get(rep, "warnings");
	bool nist_warned = false;
	size_t i;
	json_t *w;
	json_array_foreach (warns, i, w) {
		nist_warned |= strcmp(json_string_value(json_object_get(w, "path")),
		                      "$.countermeasures[0].compliance[\"nist-800-53\"][1]") == 0;
	}
	assert_true(nist_warned);
	assert_true(json_is_true(get_path(rep, "catalogs", "owasp-asvs")));
	json_decref(rep);

	/* The shipped library passes the catalog checks without errors. */
	char *lib = src_path("library");
	dirs[0] = lib;
	assert_int_equal(library_lint(dirs, 1, &opts, &rep, &err), 0);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	/* The only warnings are the threats sharing a CWE, a type and a
	 * condition, and the missing-WAF threat's Pillar CWE
	 * (tests/unit/test_lint_duplicates.c counts them). */
	json_array_foreach (json_object_get(rep, "warnings"), i, w) {
		const char *msg = json_string_value(json_object_get(w, "message"));
		if (!strstr(msg, "share CWE") &&
		    !strstr(msg, "\"T-EDGE-NO-WAF\" is mapped only to Pillar or Class"))
			fail_msg("unexpected warning: %s", msg);
	}
	json_decref(rep);

	/* A catalog directory without the files is EX_NOINPUT. */
	opts.catalogs_dir = dir;
	assert_true(library_lint(dirs, 1, &opts, &rep, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	free(lib);
	free(q);
	tu_rmrf(dir);
	free(dir);
	free(cat);
}

static void test_compliance_shapes(void **state)
{
	(void)state;
	/* Shapes are checked through loading a countermeasure per id. */
	static const struct {
		const char *fw, *id;
		bool ok;
	} cases[] = {
	    {"nist-800-53", "AC-2", true},    {"nist-800-53", "AC-2(1)", true},
	    {"nist-800-53", "ac-2", false},   {"nist-800-53", "AC-2(", false},
	    {"iso-27001", "A.5.37", true},    {"iso-27001", "A.5.38", false},
	    {"iso-27001", "A.6.8", true},     {"iso-27001", "A.7.15", false},
	    {"iso-27001", "A.8.34", true},    {"iso-27001", "A.9.1", false},
	    {"owasp-asvs", "14.2.1", true},   {"owasp-asvs", "V14.2.1", false},
	    {"pci-dss", "6.2.4", true},       {"pci-dss", "8", true},
	    {"pci-dss", "13.1", false},       {"gdpr", "Art. 32", true},
	    {"gdpr", "Art. 32(1)", true},     {"gdpr", "Article 32", false},
	    {"hipaa", "164.312(e)(1)", true}, {"soc2", "CC6.1", true},
	    {"soc2", "XX1.1", false},         {"ccpa", "1798.100", true},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		char *dir = mini_library();
		char *q = ts_asprintf("%s/countermeasures", dir);
		char *doc =
		    ts_asprintf("{\"countermeasures\": [{\"id\": \"C-Z\", \"title\": \"Z\", "
		                "\"priority\": 1, \"requirement\": \"r\", \"compliance\": "
		                "{\"%s\": [\"%s\"]}}]}",
		                cases[i].fw, cases[i].id);
		free(tu_write_file(q, "z.json", doc));
		const char *dirs[1] = {dir};
		struct library *lib = NULL;
		struct ts_err err = {0};
		int r = library_load(dirs, 1, &lib, &err);
		if ((r == 0) != cases[i].ok)
			fail_msg("%s %s: expected %s, got: %s", cases[i].fw, cases[i].id,
			         cases[i].ok ? "valid" : "invalid", r == 0 ? "valid" : err.msg);
		library_free(lib);
		free(doc);
		free(q);
		tu_rmrf(dir);
		free(dir);
	}
}

static void test_find_provider(void **state)
{
	(void)state;
	char *dir = src_path("library");
	struct library *lib = load_dirs(dir, NULL);
	json_t *profile = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:s,s:[s]}", "name", "Shop", "kind",
	                            "web_app", "hosting", "aws", "authentication", "sso", "data",
	                            "personal", "exposure", "internet", "stack", "dotnet");
	json_t *norm = NULL, *model = NULL;
	struct ts_err err = {0};
	assert_int_equal(blueprint_profile_check(profile, "p.json", &norm, &err), 0);
	assert_int_equal(blueprint_expand(lib, norm, &model, &err), 0);
	json_t *web = model_component(model, "web");
	json_t *provider = NULL;
	assert_non_null(web);
	/* TLS terminated by the load balancer in front. */
	const struct lib_countermeasure *tls = library_countermeasure(lib, "C-TLS-EVERYWHERE");
	assert_int_equal(library_find_provider(tls, model, NULL, web, &provider, &err), 1);
	assert_string_equal(json_string_value(json_object_get(provider, "id")), "lb");
	/* Authentication by the IdP the app talks to. */
	const struct lib_countermeasure *au =
	    library_countermeasure(lib, "C-CENTRAL-AUTHENTICATION");
	assert_int_equal(library_find_provider(au, model, NULL, web, &provider, &err), 1);
	assert_string_equal(json_string_value(json_object_get(provider, "id")), "idp");
	/* Secrets read from the secrets manager behind it. */
	const struct lib_countermeasure *sm = library_countermeasure(lib, "C-SECRETS-MANAGEMENT");
	assert_int_equal(library_find_provider(sm, model, NULL, web, &provider, &err), 1);
	assert_string_equal(json_string_value(json_object_get(provider, "id")), "secrets");
	/* No provider: the lb has no rate limiting, nothing else is in front. */
	const struct lib_countermeasure *rl = library_countermeasure(lib, "C-RATE-LIMITING");
	provider = NULL;
	assert_int_equal(library_find_provider(rl, model, NULL, web, &provider, &err), 0);
	assert_null(provider);
	/* The condition matters: a load balancer that does not terminate TLS. */
	json_object_set_new(json_object_get(model_component(model, "lb"), "properties"),
	                    "tls_terminating", json_false());
	assert_int_equal(library_find_provider(tls, model, NULL, web, &provider, &err), 0);
	/* No satisfied_by at all. */
	const struct lib_countermeasure *enc = library_countermeasure(lib, "C-OUTPUT-ENCODING");
	assert_int_equal(library_find_provider(enc, model, NULL, web, &provider, &err), 0);
	json_decref(model);
	json_decref(norm);
	json_decref(profile);
	library_free(lib);
	free(dir);
}

/* Every component type StartLeft's shipped mapping files emit (the list in
 * tests/data/library/startleft-component-types.txt) maps to a library type
 * or is a container, but for the two that name no technology. */
static void test_startleft_vocabulary(void **state)
{
	(void)state;
	char *base = src_path("library");
	struct library *lib = load_dirs(base, NULL);
	char *path = src_path("tests/data/library/startleft-component-types.txt");
	char *text = tu_read_file(path);
	assert_non_null(text);
	/* "empty-component" is StartLeft's placeholder for a shape it has no
	 * type for; "generic-service" is drawn for "Host" and "Web Server"
	 * alike. Both stay generic_process (with a warning) unless a tag or the
	 * element's name says more. */
	static const char *const no_meaning[] = {"empty-component", "generic-service", NULL};
	size_t n = 0, mapped = 0, containers = 0, generic = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (*line == '#')
			continue;
		n++;
		const char *t = library_map_type(lib, "otm", line);
		bool c = library_is_container(lib, "otm", line);
		bool none = false;
		for (size_t k = 0; no_meaning[k]; k++)
			none = none || strcmp(no_meaning[k], line) == 0;
		if (none) {
			if (t || c)
				fail_msg("'%s' names no technology but maps to %s", line,
				         t ? t : "a container");
			generic++;
		} else if (c) {
			containers++;
		} else if (!t || strncmp(t, "generic_", 8) == 0) {
			fail_msg("StartLeft type '%s' has no mapping", line);
		} else {
			mapped++;
		}
	}
	assert_int_equal(n, 222);
	assert_int_equal(mapped, 219);
	assert_int_equal(containers, 1); /* vpc */
	assert_int_equal(generic, 2);
	/* Tags StartLeft writes next to "empty-component". */
	assert_true(library_is_container(lib, "otm", "AWS::EC2::Subnet"));
	assert_true(library_is_container(lib, "otm", "aws::ec2::vpc"));
	assert_true(library_is_container(lib, "otm", "azurerm_resource_group"));
	assert_false(library_is_container(lib, "otm", "s3"));
	assert_false(library_is_container(lib, "threatdragon", "vpc"));
	assert_string_equal(library_map_type(lib, "otm", "AWS::EC2::VPCEndpoint"),
	                    "network_gateway");
	free(text);
	free(path);
	library_free(lib);
	free(base);
}

/* container_types: its shape, and no foreign type both a container and mapped. */
static void test_container_types(void **state)
{
	(void)state;
	expect_error("mappings.json",
	             "{\"type_mappings\": {\"otm\": {\"vpc\": \"web_app\"}}, "
	             "\"container_types\": {\"otm\": [\"VPC\"]}}",
	             "$.container_types.otm[0]: \"VPC\" is also mapped to a component type in "
	             "type_mappings.otm");
	expect_error("mappings.json",
	             "{\"type_mappings\": {}, \"container_types\": {\"visio\": []}}",
	             "$.container_types.visio: unknown format (expected otm or threatdragon)");
	expect_error("mappings.json",
	             "{\"type_mappings\": {}, \"container_types\": {\"otm\": [\"a\", \"A\"]}}",
	             "$.container_types.otm[1]: duplicate container type");
	expect_error("mappings.json",
	             "{\"type_mappings\": {}, \"container_types\": {\"otm\": [\"\"]}}",
	             "$.container_types.otm[0]: must be a non-empty foreign type");
	expect_error("mappings.json", "{\"type_mappings\": {}, \"container_types\": []}",
	             "$.container_types: must be an object");
	/* A system-scoped threat's condition sees only the model. */
	expect_error("threats/a.json",
	             "{\"threats\": [{\"id\": \"T-S\", \"title\": \"S\", \"description\": "
	             "\"d\", \"stride\": [\"S\"], \"applies_to\": [\"web_app\"], "
	             "\"scope\": \"system\", \"condition\": \"component.internet_facing\", "
	             "\"severity\": \"low\", \"likelihood\": \"low\", "
	             "\"countermeasures\": [\"C-A\"]}]}",
	             "a system-scoped threat does not have");
}

static void test_cli_lint(void **state)
{
	(void)state;
	char *lib = src_path("library");
	char *broken = src_path("tests/data/library/broken");
	char *over = src_path("tests/data/library/overlay");
	char *out = NULL, *err = NULL;
	assert_int_equal(tu_cli(&out, &err, "library", "lint", lib, "--json", NULL), 0);
	json_error_t jerr;
	json_t *rep = json_loads(out, 0, &jerr);
	assert_non_null(rep);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	assert_int_equal(json_integer_value(get_path(rep, "counts", "component_types")), 55);
	json_decref(rep);
	free(out);
	free(err);

	assert_int_equal(tu_cli(&out, &err, "library", "lint", broken, "--json", NULL), 65);
	rep = json_loads(out, 0, &jerr);
	assert_non_null(rep);
	assert_false(json_is_true(json_object_get(rep, "ok")));
	json_t *errs = json_object_get(rep, "errors");
	assert_true(json_array_size(errs) >= 8);
	bool found = false;
	size_t i;
	json_t *e;
	json_array_foreach (errs, i, e) {
		found |=
		    strstr(json_string_value(json_object_get(e, "file")),
		           "broken/threats/threats.json") != NULL &&
		    strcmp(json_string_value(json_object_get(e, "path")),
		           "$.threats[0].condition") == 0 &&
		    strstr(json_string_value(json_object_get(e, "message")), "column 19") != NULL;
	}
	assert_true(found);
	json_decref(rep);
	free(out);
	free(err);

	/* Text output: errors on stderr, summary on stdout. */
	assert_int_equal(tu_cli(&out, &err, "library", "lint", broken, NULL), 65);
	assert_non_null(strstr(err, "$.countermeasures[0].priority: must be an integer"));
	assert_non_null(strstr(out, "library has errors"));
	free(out);
	free(err);

	/* Overlay on the command line: later directories win; the overlay's
	 * countermeasure that no threat references is reported as unused, the
	 * one its threat names is not. */
	assert_int_equal(tu_cli(&out, &err, "library", "lint", lib, over, NULL), 0);
	assert_non_null(strstr(err, "C-LOCAL-THREAT-MODEL-WORKSHOP\" is not used"));
	assert_null(strstr(err, "C-LOCAL-REVIEW\" is not used"));
	free(out);
	free(err);

	assert_int_equal(tu_cli(&out, &err, "library", "lint", "/nonexistent/lib", NULL),
	                 EX_NOINPUT);
	free(out);
	free(err);
	free(lib);
	free(broken);
	free(over);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_library),   cmocka_unit_test(test_overlay),
	    cmocka_unit_test(test_common_mappings),   cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_lint_stats),        cmocka_unit_test(test_lint_catalogs),
	    cmocka_unit_test(test_compliance_shapes), cmocka_unit_test(test_find_provider),
	    cmocka_unit_test(test_cli_lint),          cmocka_unit_test(test_startleft_vocabulary),
	    cmocka_unit_test(test_container_types),   cmocka_unit_test(test_lint_condition_audit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
