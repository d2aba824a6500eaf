/* SPDX-License-Identifier: Apache-2.0 */
/* Releases: recording one, and listing them with what each addressed. */
#include "engine/report/release.h"

#include <stdlib.h>
#include <string.h>

#include "engine/model/project.h"
#include "engine/report/metrics.h"

static const char SQL_EXISTS[] = "SELECT 1 FROM releases WHERE project_id = ?1 AND name = ?2";
static const char SQL_MODEL_VERSION[] =
    "SELECT max(version) FROM model_versions WHERE project_id = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO releases(project_id, name, created_at, model_version, metrics)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_INSERT_THREAT[] =
    "INSERT INTO release_threats(release_id, threat_uid) VALUES (?1, ?2)";
static const char SQL_LIST[] =
    "SELECT id, name, created_at, model_version, metrics FROM releases WHERE project_id = ?1"
    " ORDER BY created_at, id";
static const char SQL_LIST_THREATS[] =
    "SELECT threat_uid FROM release_threats WHERE release_id = ?1 ORDER BY threat_uid";

bool release_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > RELEASE_NAME_MAX || !ts_utf8_valid(name, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* The threats addressed at release_id as a new object uid -> true. */
static int release_threats(struct store *s, int64_t release_id, json_t **ret_set,
                           struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LIST_THREATS);
	if (!st)
		return store_fail(s, "release threats", err);
	sqlite3_bind_int64(st, 1, release_id);
	json_t *set = json_object();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(set, store_col_text(st, 0), json_true());
	if (rc != SQLITE_DONE) {
		json_decref(set);
		return store_fail(s, "release threats", err);
	}
	sqlite3_reset(st);
	*ret_set = set;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of now that are not in before (may be NULL), sorted, as a new
 * array. */
static json_t *set_minus(const json_t *now, const json_t *before)
{
	size_t n = json_object_size(now), k = 0;
	const char **keys = ts_calloc(n + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)now, key, v) {
		if (!json_object_get(before, key))
			keys[k++] = key;
	}
	qsort(keys, k, sizeof(*keys), key_cmp);
	json_t *out = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(out, json_string(keys[i]));
	free(keys);
	return out;
}

int release_list(struct store *s, int64_t project_id, json_t **ret_list, struct ts_err *err)
{
	*ret_list = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_LIST);
	if (!st)
		return store_fail(s, "list releases", err);
	sqlite3_bind_int64(st, 1, project_id);
	json_t *list = json_array(), *ids = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *metrics = json_loads(store_col_text(st, 4), 0, NULL);
		json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:o, s:o}", "name", store_col_text(st, 1),
		                    "created_at", store_col_text(st, 2), "model_version",
		                    sqlite3_column_type(st, 3) == SQLITE_NULL
		                        ? json_null()
		                        : json_integer(sqlite3_column_int(st, 3)),
		                    "metrics", metrics ? metrics : json_object()));
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, "list releases", err);
		goto out;
	}
	sqlite3_reset(st);
	json_t *before = NULL;
	rc = 0;
	for (size_t i = 0; i < json_array_size(ids) && rc == 0; i++) {
		json_t *set = NULL;
		rc = release_threats(s, json_integer_value(json_array_get(ids, i)), &set, err);
		if (rc < 0)
			break;
		json_object_set_new(json_array_get(list, i), "threats_addressed",
		                    set_minus(set, before));
		json_decref(before);
		before = set;
	}
	json_decref(before);
out:
	json_decref(ids);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*ret_list = list;
	return 0;
}

/* The writes of release_record, inside its transaction. */
static int record(struct store *s, int64_t pid, const char *slug, const char *name, const char *now,
                  json_t **ret_doc, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_EXISTS);
	if (!st)
		return store_fail(s, "find release", err);
	sqlite3_bind_int64(st, 1, pid);
	store_bind_text(st, 2, name);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return ts_err_set(err, TS_E_INVALID, "project %s: release '%s' exists already",
		                  slug, name);
	if (rc != SQLITE_DONE)
		return store_fail(s, "find release", err);

	st = store_prepare(s, SQL_MODEL_VERSION);
	if (!st)
		return store_fail(s, "latest model version", err);
	sqlite3_bind_int64(st, 1, pid);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_fail(s, "latest model version", err);
	json_t *version = sqlite3_column_type(st, 0) == SQLITE_NULL
	                      ? json_null()
	                      : json_integer(sqlite3_column_int(st, 0));
	sqlite3_reset(st);

	json_t *metrics = NULL, *states = NULL, *list = NULL;
	char *text = NULL;
	if ((rc = metrics_compute(s, pid, now, &metrics, err)) < 0)
		goto out;
	if ((rc = metrics_threat_states(s, pid, now, &states, err)) < 0)
		goto out;
	text = json_dumps(metrics, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	st = store_prepare(s, SQL_INSERT);
	if (!st) {
		rc = store_fail(s, "record release", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, pid);
	store_bind_text(st, 2, name);
	store_bind_text(st, 3, now);
	if (json_is_integer(version))
		sqlite3_bind_int64(st, 4, json_integer_value(version));
	store_bind_text(st, 5, text);
	if ((rc = store_step_done(s, st, "record release", err)) < 0)
		goto out;
	int64_t rid = sqlite3_last_insert_rowid(store_db(s));
	st = store_prepare(s, SQL_INSERT_THREAT);
	if (!st) {
		rc = store_fail(s, "record release threats", err);
		goto out;
	}
	const char *uid;
	json_t *state;
	int addressed = 0;
	json_object_foreach (states, uid, state) {
		if (strcmp(json_string_value(state), "addressed") != 0)
			continue;
		addressed++;
		sqlite3_bind_int64(st, 1, rid);
		store_bind_text(st, 2, uid);
		if ((rc = store_step_done(s, st, "record release threats", err)) < 0)
			goto out;
	}
	if ((rc = release_list(s, pid, &list, err)) < 0)
		goto out;
	size_t n = json_array_size(list);
	json_t *mine = json_array_get(list, n - 1);
	json_t *prev = n >= 2 ? json_object_get(json_array_get(list, n - 2), "name") : NULL;
	*ret_doc =
	    json_pack("{s:s, s:s, s:s, s:O, s:O, s:o, s:i, s:O}", "project", slug, "name", name,
	              "created_at", now, "model_version", version, "metrics", metrics, "previous",
	              prev ? json_incref(prev) : json_null(), "addressed", addressed,
	              "threats_addressed", json_object_get(mine, "threats_addressed"));
	rc = 0;
out:
	json_decref(version);
	json_decref(metrics);
	json_decref(states);
	json_decref(list);
	free(text);
	return rc;
}

int release_record(struct store *s, const char *slug, const char *name, const char *now,
                   json_t **ret_doc, struct ts_err *err)
{
	*ret_doc = NULL;
	if (!release_name_valid(name))
		return ts_err_set(err, TS_E_USAGE,
		                  "release name must be 1 to %d bytes of UTF-8 without control "
		                  "characters",
		                  RELEASE_NAME_MAX);
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	int64_t pid = 0;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	if (store_begin(s) < 0)
		return store_fail(s, "record release", err);
	rc = record(s, pid, slug, name, now, ret_doc, err);
	if (rc == 0 && store_commit(s) < 0)
		rc = store_fail(s, "record release", err);
	if (rc < 0) {
		store_rollback(s);
		json_decref(*ret_doc);
		*ret_doc = NULL;
	}
	return rc;
}
