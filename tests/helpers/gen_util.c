/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the generation tests (see gen_util.h). */
#include "helpers/gen_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/generate/generate.h"
#include "engine/generate/listing.h"
#include "engine/model/model.h"
#include "engine/model/project.h"
#include "helpers/testutil.h"

static void load_conf(struct gu *g, const char *conf)
{
	struct ts_err err = {0};
	if (config_load_with_secrets(conf, &g->cfg, &err) < 0)
		fail_msg("config %s: %s", conf, err.msg);
	size_t n = 0;
	while (g->cfg->library_paths[n])
		n++;
	if (library_load((const char *const *)g->cfg->library_paths, n, &g->lib, &err) < 0)
		fail_msg("library of %s: %s", conf, err.msg);
}

void gu_open(struct gu *g, const char *conf)
{
	memset(g, 0, sizeof(*g));
	g->dir = tu_tmpdir();
	g->db = ts_asprintf("%s/t.db", g->dir);
	struct ts_err err = {0};
	if (store_open(g->db, STORE_MIGRATE, &g->s, &err) < 0)
		fail_msg("store: %s", err.msg);
	load_conf(g, conf);
}

void gu_reload(struct gu *g, const char *conf)
{
	library_free(g->lib);
	config_free(g->cfg);
	g->lib = NULL;
	g->cfg = NULL;
	load_conf(g, conf);
}

void gu_close(struct gu *g)
{
	store_close(g->s);
	library_free(g->lib);
	config_free(g->cfg);
	tu_rmrf(g->dir);
	free(g->dir);
	free(g->db);
	memset(g, 0, sizeof(*g));
}

char *gu_data(const char *name)
{
	return ts_asprintf("%s/tests/data/generate/%s", tu_env("TS_SOURCE_DIR"), name);
}

void gu_import(struct gu *g, const char *slug, const char *model_path)
{
	struct ts_err err = {0};
	int64_t pid;
	if (project_find(g->s, slug, &pid, NULL) < 0 &&
	    project_add(g->s, slug, slug, "", &pid, &err) < 0)
		fail_msg("project %s: %s", slug, err.msg);
	struct model_typeinfo ti;
	library_typeinfo(g->lib, &ti);
	json_t *model = NULL, *warnings = NULL;
	enum model_format fmt = MODEL_FORMAT_AUTO;
	if (model_parse_file(model_path, MODEL_FORMAT_AUTO, false, &ti, &model, &warnings, &fmt,
	                     &err) < 0)
		fail_msg("model %s: %s", model_path, err.msg);
	if (model_import(g->s, pid, model, fmt, "model.json", NULL, NULL, &err) < 0)
		fail_msg("import %s: %s", model_path, err.msg);
	json_decref(model);
	json_decref(warnings);
}

json_t *gu_generate(struct gu *g, const char *slug, const char *now)
{
	struct gen_opts opts = {.now = now};
	struct ts_err err = {0};
	json_t *sum = NULL;
	if (gen_run(g->s, g->lib, g->cfg, slug, &opts, &sum, &err) < 0)
		fail_msg("generate %s: %s", slug, err.msg);
	return sum;
}

int gu_changes(const json_t *summary, const char *group, const char *key)
{
	return (int)json_integer_value(
	    json_object_get(json_object_get(json_object_get(summary, "changes"), group), key));
}

static json_t *find(json_t *doc, const char *list, const char *uid)
{
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(doc, list), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "id")), uid) == 0)
			return json_incref(e);
	}
	return NULL;
}

json_t *gu_cm(struct gu *g, const char *slug, const char *uid)
{
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (gen_list_countermeasures(g->s, slug, true, NULL, NULL, &doc, &err) < 0)
		fail_msg("list countermeasures: %s", err.msg);
	json_t *e = find(doc, "countermeasures", uid);
	json_decref(doc);
	return e;
}

json_t *gu_threat(struct gu *g, const char *slug, const char *uid)
{
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (gen_list_threats(g->s, slug, true, NULL, &doc, &err) < 0)
		fail_msg("list threats: %s", err.msg);
	json_t *e = find(doc, "threats", uid);
	json_decref(doc);
	return e;
}

long long gu_int(struct gu *g, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(store_db(g->s), sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(store_db(g->s)));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row", sql);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void gu_write_web_model(const char *path, const char *name, int components)
{
	json_t *comps = json_pack("[{s:s, s:s, s:s, s:s}]", "id", "customer", "type", "user",
	                          "name", "Customer", "trust_zone", "internet");
	json_t *flows = json_array();
	for (int i = 0; i < components; i++) {
		char id[32], title[32], fid[32];
		snprintf(id, sizeof(id), "web%d", i);
		snprintf(title, sizeof(title), "Web %d", i);
		snprintf(fid, sizeof(fid), "f%d", i);
		json_array_append_new(comps,
		                      json_pack("{s:s, s:s, s:s, s:s, s:{s:b, s:b, s:b}}", "id", id,
		                                "type", "web_app", "name", title, "trust_zone",
		                                "dmz", "properties", "internet_facing", 1,
		                                "authenticates_users", 1, "handles_pii", 1));
		json_array_append_new(flows, json_pack("{s:s, s:s, s:s, s:s}", "id", fid, "source",
		                                       "customer", "destination", id, "protocol",
		                                       "HTTPS"));
	}
	json_t *m = json_pack(
	    "{s:s, s:{s:s, s:s, s:[s]}, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}], s:o, s:o}", "format",
	    "threatsync-model/1", "project", "name", name, "description", "test", "compliance",
	    "gdpr", "trust_zones", "id", "internet", "name", "Internet", "trust_level", 0, "id",
	    "dmz", "name", "DMZ", "trust_level", 50, "components", comps, "flows", flows);
	assert_int_equal(json_dump_file(m, path, JSON_COMPACT), 0);
	json_decref(m);
}

char *gu_shipped_config(const char *dir)
{
	const char *src = tu_env("TS_SOURCE_DIR");
	char *orig_path = ts_asprintf("%s/etc/threatsync.conf", src);
	char *text = tu_read_file(orig_path);
	assert_non_null(text);
	struct ts_buf out = {0};
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "database = ", 11) == 0)
			ts_buf_printf(&out, "database = \"%s/unused.db\";\n", dir);
		else if (strncmp(line, "library_paths = ", 16) == 0)
			ts_buf_printf(&out, "library_paths = [ \"%s/library\" ];\n", src);
		else
			ts_buf_printf(&out, "%s\n", line);
	}
	static const char *const secrets[] = {"api_tokens", "jira_token", "jira_webhook_secret",
	                                      "gitlab_token", "gitlab_webhook_secret"};
	char *creds = ts_asprintf("%s/credentials", dir);
	assert_int_equal(mkdir(creds, 0700), 0);
	for (size_t i = 0; i < TS_ARRAY_SIZE(secrets); i++)
		free(tu_write_file(creds, secrets[i], "not-a-real-secret\n"));
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	char *path = tu_write_file(dir, "threatsync.conf", out.data);
	ts_buf_free(&out);
	free(creds);
	free(text);
	free(orig_path);
	return path;
}
