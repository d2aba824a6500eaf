/* SPDX-License-Identifier: Apache-2.0 */
/* Project rows: create, look up, list. */
#include "engine/model/project.h"

#include <errno.h>
#include <string.h>

static const char SQL_INSERT[] =
	"INSERT INTO projects(slug, name, description, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_FIND[] = "SELECT id FROM projects WHERE slug = ?1";
static const char SQL_LIST[] =
	"SELECT slug, name, description, created_at FROM projects ORDER BY slug";

static int slug_valid(const char *slug)
{
	size_t n = strlen(slug);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = slug[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

int project_add(struct store *s, const char *slug, const char *name, const char *description,
		int64_t *ret_id, struct ts_err *err)
{
	if (!slug_valid(slug))
		return ts_err_set(err, TS_E_INVALID,
				  "invalid project slug '%s': use 1 to 64 of a-z, 0-9 and '-'",
				  slug);
	int64_t existing;
	if (project_find(s, slug, &existing, NULL) == 0)
		return ts_err_set(err, TS_E_INVALID, "project '%s' exists already", slug);
	sqlite3_stmt *st = store_prepare(s, SQL_INSERT);
	if (!st)
		return store_fail(s, "insert project", err);
	char now[32];
	ts_now_iso(now);
	sqlite3_bind_text(st, 1, slug, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, description ? description : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(s, "insert project", err);
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(store_db(s));
	return 0;
}

int project_find(struct store *s, const char *slug, int64_t *ret_id, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_FIND);
	if (!st)
		return store_fail(s, "find project", err);
	sqlite3_bind_text(st, 1, slug, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "find project", err);
	ts_err_set(err, TS_E_NOTFOUND, "no project '%s' (threatsync project add %s)", slug, slug);
	return -ENOENT;
}

int project_list_json(struct store *s, json_t **ret_list, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LIST);
	if (!st)
		return store_fail(s, "list projects", err);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *p = json_object();
		json_object_set_new(p, "slug", json_string((const char *)sqlite3_column_text(st, 0)));
		json_object_set_new(p, "name", json_string((const char *)sqlite3_column_text(st, 1)));
		json_object_set_new(p, "description",
				    json_string((const char *)sqlite3_column_text(st, 2)));
		json_object_set_new(p, "created_at",
				    json_string((const char *)sqlite3_column_text(st, 3)));
		json_array_append_new(list, p);
	}
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return store_fail(s, "list projects", err);
	}
	*ret_list = list;
	return 0;
}
