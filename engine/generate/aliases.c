/* SPDX-License-Identifier: Apache-2.0 */
/* Carrying stored threats and tasks over from a merged entry's former id to the
 * surviving one (aliases.h). */
#include "engine/generate/aliases.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Longest library id considered; longer ones are no alias. */
#define ALIAS_ID_MAX 128

static const char SQL_THREAT_ROWS[] = "SELECT id, uid, state, NULL FROM threats"
                                      " WHERE project_id = ?1 AND origin = 'library'";
static const char SQL_CM_ROWS[] = "SELECT id, uid, state, ticket_id FROM countermeasures"
                                  " WHERE project_id = ?1 AND origin = 'library'";
static const char SQL_THREAT_BY_UID[] =
    "SELECT id, uid, state, NULL FROM threats WHERE project_id = ?1 AND uid = ?2";
static const char SQL_CM_BY_UID[] = "SELECT id, uid, state, ticket_id FROM countermeasures"
                                    " WHERE project_id = ?1 AND uid = ?2";
static const char SQL_THREAT_RENAME[] =
    "UPDATE threats SET uid = ?2, library_id = ?3 WHERE id = ?1";
/* The marker key is the uid the task had first: set on its first rename. */
static const char SQL_CM_RENAME[] = "UPDATE countermeasures SET uid = ?2, library_id = ?3,"
                                    " marker_key = coalesce(marker_key, uid) WHERE id = ?1";
static const char SQL_OVERRIDE_RENAME[] =
    "UPDATE overrides SET target_uid = ?4 WHERE project_id = ?1 AND target_kind = ?2"
    " AND target_uid = ?3";

/* One stored row: id, uid, active, has a ticket. */
struct arow {
	int64_t id;
	char *uid;
	bool active;
	bool ticket;
};

/* Statements of one table. */
struct atable {
	const char *kind; /* override target kind: "threat" or "countermeasure" */
	const char *rows, *by_uid, *rename;
};

static const struct atable tables[] = {
    {"threat", SQL_THREAT_ROWS, SQL_THREAT_BY_UID, SQL_THREAT_RENAME},
    {"countermeasure", SQL_CM_ROWS, SQL_CM_BY_UID, SQL_CM_RENAME},
};

char *gen_alias_uid(const struct library *lib, const char *uid)
{
	const char *at = strrchr(uid, '@');
	if (!at || at == uid || (size_t)(at - uid) >= ALIAS_ID_MAX)
		return NULL;
	char id[ALIAS_ID_MAX];
	memcpy(id, uid, (size_t)(at - uid));
	id[at - uid] = '\0';
	const char *now = library_alias_target(lib, id);
	return now ? ts_asprintf("%s%s", now, at) : NULL;
}

static void row_read(sqlite3_stmt *st, struct arow *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->uid = store_col_dup(st, 1);
	const char *state = store_col_text(st, 2);
	r->active = state && strcmp(state, "active") == 0;
	r->ticket = sqlite3_column_type(st, 3) != SQLITE_NULL;
}

/* The rows of the table whose uid starts with an alias, into *ret (new). */
static int alias_rows(struct store *s, const struct library *lib, const struct atable *t,
                      int64_t project_id, struct arow **ret, size_t *ret_n, struct ts_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, t->rows);
	if (!st)
		return store_fail(s, "find renamed library entries", err);
	sqlite3_bind_int64(st, 1, project_id);
	size_t cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		char *now = gen_alias_uid(lib, store_col_text(st, 1));
		if (!now)
			continue;
		free(now);
		if (*ret_n == cap) {
			cap = cap ? cap * 2 : 8;
			*ret = ts_realloc(*ret, cap * sizeof(**ret));
		}
		row_read(st, &(*ret)[(*ret_n)++]);
	}
	if (r != SQLITE_DONE) {
		int rc = store_fail(s, "find renamed library entries", err);
		sqlite3_reset(st);
		return rc;
	}
	return 0;
}

/* The row holding uid: 1 and *ret filled (uid new), 0 when none. */
static int row_by_uid(struct store *s, const struct atable *t, int64_t project_id, const char *uid,
                      struct arow *ret, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, t->by_uid);
	if (!st)
		return store_fail(s, "find renamed library entries", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_static(st, 2, uid);
	int r = sqlite3_step(st);
	int rc = 0;
	if (r == SQLITE_ROW) {
		row_read(st, ret);
		rc = 1;
	} else if (r != SQLITE_DONE) {
		rc = store_fail(s, "find renamed library entries", err);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int rename_row(struct store *s, const struct atable *t, int64_t id, const char *uid,
                      struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, t->rename);
	if (!st)
		return store_fail(s, "rename library entry", err);
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, uid);
	const char *at = strrchr(uid, '@');
	char *lib_id = at ? ts_strndup(uid, (size_t)(at - uid)) : ts_strdup(uid);
	store_bind_text(st, 3, lib_id);
	free(lib_id);
	int rc = store_step_done(s, st, "rename library entry", err);
	sqlite3_clear_bindings(st);
	return rc;
}

static int rename_overrides(struct store *s, const struct atable *t, int64_t project_id,
                            const char *from, const char *to, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_OVERRIDE_RENAME);
	if (!st)
		return store_fail(s, "rename overrides", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_static(st, 2, t->kind);
	store_bind_static(st, 3, from);
	store_bind_static(st, 4, to);
	int rc = store_step_done(s, st, "rename overrides", err);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Which of the alias row a and the row b already under the new uid survives:
 * the active one, then the one with a ticket, then the older. */
static bool alias_row_wins(const struct arow *a, const struct arow *b)
{
	if (a->active != b->active)
		return a->active;
	if (a->ticket != b->ticket)
		return a->ticket;
	return a->id < b->id;
}

/* Carries alias row a over to uid now. */
static int carry(struct store *s, const struct atable *t, int64_t project_id, const struct arow *a,
                 const char *now, json_t *merged, struct ts_err *err)
{
	struct arow b = {0};
	int rc = row_by_uid(s, t, project_id, now, &b, err);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if ((rc = rename_row(s, t, a->id, now, err)) == 0)
			rc = rename_overrides(s, t, project_id, a->uid, now, err);
		return rc;
	}
	char *reason = ts_asprintf("merged into %s", now);
	if (!a->active) {
		/* Retired under the alias already (an earlier run): nothing to do. */
		rc = 0;
	} else if (!alias_row_wins(a, &b)) {
		json_object_set_new(merged, a->uid, json_string(reason));
		rc = 0;
	} else {
		/* The alias row takes the new uid, the other row the alias uid
		 * (through a uid no library entry has, for the UNIQUE index). */
		char *tmp = ts_asprintf("merging:%lld", (long long)b.id);
		if ((rc = rename_row(s, t, b.id, tmp, err)) == 0 &&
		    (rc = rename_row(s, t, a->id, now, err)) == 0 &&
		    (rc = rename_row(s, t, b.id, a->uid, err)) == 0)
			json_object_set_new(merged, a->uid, json_string(reason));
		free(tmp);
	}
	free(reason);
	free(b.uid);
	return rc;
}

int gen_apply_aliases(struct store *s, const struct library *lib, int64_t project_id,
                      json_t *merged, struct ts_err *err)
{
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < TS_ARRAY_SIZE(tables); k++) {
		struct arow *rows = NULL;
		size_t n = 0;
		rc = alias_rows(s, lib, &tables[k], project_id, &rows, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char *now = gen_alias_uid(lib, rows[i].uid);
			rc = carry(s, &tables[k], project_id, &rows[i], now, merged, err);
			free(now);
		}
		for (size_t i = 0; i < n; i++)
			free(rows[i].uid);
		free(rows);
	}
	return rc;
}

void gen_alias_override_keys(const struct library *lib, json_t *map)
{
	json_t *renamed = json_object();
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe (map, tmp, key, v) {
		const char *colon = strchr(key, ':');
		char *now = colon ? gen_alias_uid(lib, colon + 1) : NULL;
		if (!now)
			continue;
		char *nkey = ts_asprintf("%.*s:%s", (int)(colon - key), key, now);
		free(now);
		if (!json_object_get(map, nkey) && !json_object_get(renamed, nkey)) {
			json_object_set(renamed, nkey, v);
			json_object_del(map, key);
		}
		free(nkey);
	}
	json_object_update(map, renamed);
	json_decref(renamed);
}
