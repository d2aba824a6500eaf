/* SPDX-License-Identifier: Apache-2.0 */
/* Component type information for model imports, read from component_types.json
 * of the configured library paths, with the shared vocabulary as a fallback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/model.h"

/* What the callbacks look up: type id -> kind, and format -> {foreign -> type}
 * with lower-case foreign keys. */
struct cli_types {
	json_t *kinds;
	json_t *maps;
};

/* The shared vocabulary (notes/vocab.md), for when no library is installed. */
static const struct {
	const char *id;
	const char *kind;
} builtin_types[] = {
	{"web_app", "process"},          {"spa", "process"},
	{"mobile_client", "process"},    {"desktop_client", "process"},
	{"rest_api", "process"},         {"graphql_api", "process"},
	{"grpc_service", "process"},     {"api_gateway", "process"},
	{"identity_provider", "process"}, {"auth_service", "process"},
	{"session_store", "store"},      {"sql_database", "store"},
	{"nosql_database", "store"},     {"cache", "store"},
	{"message_broker", "store"},     {"object_storage", "store"},
	{"file_upload", "process"},      {"search_engine", "store"},
	{"payment_integration", "process"}, {"messaging_gateway", "process"},
	{"admin_console", "process"},    {"background_worker", "process"},
	{"scheduler", "process"},        {"ci_cd_pipeline", "process"},
	{"source_repository", "store"},  {"container_registry", "store"},
	{"container_orchestrator", "process"}, {"serverless_function", "process"},
	{"secrets_manager", "store"},    {"logging_monitoring", "process"},
	{"cdn", "process"},              {"waf", "process"},
	{"load_balancer", "process"},    {"saas_api", "process"},
	{"webhook_receiver", "process"}, {"ml_endpoint", "process"},
	{"iot_device", "process"},       {"data_warehouse", "store"},
	{"user", "actor"},               {"administrator", "actor"},
	{"external_system", "actor"},    {"generic_process", "process"},
	{"generic_store", "store"},      {"generic_actor", "actor"},
};

static const struct {
	const char *format;
	const char *foreign;
	const char *type;
} builtin_maps[] = {
	{"otm", "web-application", "web_app"},
	{"otm", "web-service", "rest_api"},
	{"otm", "rest-api", "rest_api"},
	{"otm", "graphql", "graphql_api"},
	{"otm", "api-gateway", "api_gateway"},
	{"otm", "identity-provider", "identity_provider"},
	{"otm", "sql-database", "sql_database"},
	{"otm", "postgresql", "sql_database"},
	{"otm", "mysql", "sql_database"},
	{"otm", "ms-sql-server", "sql_database"},
	{"otm", "azure-sql-database", "sql_database"},
	{"otm", "mongodb", "nosql_database"},
	{"otm", "cosmos-db", "nosql_database"},
	{"otm", "redis", "cache"},
	{"otm", "session-store", "session_store"},
	{"otm", "message-queue", "message_broker"},
	{"otm", "kafka", "message_broker"},
	{"otm", "azure-service-bus", "message_broker"},
	{"otm", "s3", "object_storage"},
	{"otm", "azure-blob-storage", "object_storage"},
	{"otm", "cdn", "cdn"},
	{"otm", "azure-front-door", "cdn"},
	{"otm", "waf", "waf"},
	{"otm", "load-balancer", "load_balancer"},
	{"otm", "kubernetes", "container_orchestrator"},
	{"otm", "aks", "container_orchestrator"},
	{"otm", "key-vault", "secrets_manager"},
	{"otm", "azure-key-vault", "secrets_manager"},
	{"otm", "email-gateway", "messaging_gateway"},
	{"otm", "payment-gateway", "payment_integration"},
	{"otm", "saas", "saas_api"},
	{"otm", "background-worker", "background_worker"},
	{"otm", "application-insights", "logging_monitoring"},
	{"otm", "ci-cd-pipeline", "ci_cd_pipeline"},
	{"otm", "browser", "user"},
	{"otm", "mobile-app", "mobile_client"},
	{"otm", "single-page-application", "spa"},
	{"threatdragon", "isWebApplication", "web_app"},
	{"threatdragon", "sql", "sql_database"},
	{"threatdragon", "database", "sql_database"},
	{"threatdragon", "postgres", "sql_database"},
	{"threatdragon", "postgresql", "sql_database"},
	{"threatdragon", "mysql", "sql_database"},
	{"threatdragon", "api", "rest_api"},
	{"threatdragon", "gateway", "api_gateway"},
	{"threatdragon", "cache", "cache"},
	{"threatdragon", "redis", "cache"},
	{"threatdragon", "queue", "message_broker"},
	{"threatdragon", "bucket", "object_storage"},
	{"threatdragon", "user", "user"},
	{"threatdragon", "customer", "user"},
	{"threatdragon", "admin", "administrator"},
	{"threatdragon", "administrator", "administrator"},
};

static char *lower_dup(const char *s)
{
	char *l = ts_strdup(s);
	for (char *c = l; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return l;
}

static void add_map(struct cli_types *t, const char *format, const char *foreign, const char *type)
{
	json_t *m = json_object_get(t->maps, format);
	if (!m) {
		m = json_object();
		json_object_set_new(t->maps, format, m);
	}
	char *l = lower_dup(foreign);
	json_object_set_new(m, l, json_string(type));
	free(l);
}

static bool known_cb(void *ud, const char *type)
{
	struct cli_types *t = ud;
	return type && json_object_get(t->kinds, type) != NULL;
}

static const char *kind_cb(void *ud, const char *type)
{
	struct cli_types *t = ud;
	return type ? json_string_value(json_object_get(t->kinds, type)) : NULL;
}

static const char *map_cb(void *ud, const char *format, const char *foreign)
{
	struct cli_types *t = ud;
	if (!format || !foreign)
		return NULL;
	char *l = lower_dup(foreign);
	const char *r = json_string_value(json_object_get(json_object_get(t->maps, format), l));
	free(l);
	return r;
}

/* Merges one component_types.json into t; later files overlay earlier ones. */
static int load_file(struct cli_types *t, const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		cli_error("%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column, jerr.text);
		return EX_DATAERR;
	}
	int rc = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "component_types"), i, e)
	{
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *kind = json_string_value(json_object_get(e, "kind"));
		if (!id || !kind) {
			cli_error("%s: $.component_types[%zu]: needs string 'id' and 'kind'", path, i);
			rc = EX_DATAERR;
			continue;
		}
		json_object_set_new(t->kinds, id, json_string(kind));
	}
	const char *format;
	json_t *map;
	json_object_foreach(json_object_get(doc, "type_mappings"), format, map)
	{
		const char *foreign;
		json_t *type;
		json_object_foreach(map, foreign, type)
		{
			if (json_is_string(type))
				add_map(t, format, foreign, json_string_value(type));
		}
	}
	json_decref(doc);
	return rc;
}

int cli_typeinfo(struct cli_ctx *ctx, struct model_typeinfo *ret)
{
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	struct cli_types *t = ts_calloc(1, sizeof(*t));
	t->kinds = json_object();
	t->maps = json_object();
	int found = 0;
	for (char **p = cfg->library_paths; p && *p; p++) {
		char *file = ts_asprintf("%s/component_types.json", *p);
		if (access(file, F_OK) == 0) {
			found++;
			int rc = load_file(t, file);
			if (rc) {
				free(file);
				struct model_typeinfo tmp = {.ud = t};
				cli_typeinfo_free(&tmp);
				return rc;
			}
		}
		free(file);
	}
	if (!found) {
		for (size_t i = 0; i < TS_ARRAY_SIZE(builtin_types); i++)
			json_object_set_new(t->kinds, builtin_types[i].id,
					    json_string(builtin_types[i].kind));
		for (size_t i = 0; i < TS_ARRAY_SIZE(builtin_maps); i++)
			add_map(t, builtin_maps[i].format, builtin_maps[i].foreign,
				builtin_maps[i].type);
	}
	*ret = (struct model_typeinfo){.ud = t, .known = known_cb, .kind = kind_cb, .map = map_cb};
	return 0;
}

void cli_typeinfo_free(struct model_typeinfo *ti)
{
	if (!ti || !ti->ud)
		return;
	struct cli_types *t = ti->ud;
	json_decref(t->kinds);
	json_decref(t->maps);
	free(t);
	ti->ud = NULL;
}
