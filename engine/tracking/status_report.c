/* SPDX-License-Identifier: Apache-2.0 */
/* Builds the `threatsync status` document from the store. */
#include "engine/tracking/status_report.h"

#include <stdlib.h>
#include <string.h>

#include "engine/tracking/pause.h"

static const char SQL_PROJECTS[] =
    "SELECT id, slug FROM projects WHERE ?1 IS NULL OR slug = ?1 ORDER BY slug";
static const char SQL_TASKS_BY_STATUS[] =
    "SELECT status, count(*) FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1 GROUP BY status ORDER BY status";
static const char SQL_VERIFICATION[] =
    "SELECT verification, count(*) FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1 GROUP BY verification ORDER BY verification";
static const char SQL_LINKED[] =
    "SELECT count(*) FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND ticket_id IS NOT NULL";
static const char SQL_OUTBOX_BY_STATE[] =
    "SELECT state, count(*) FROM outbox WHERE project_id = ?1 GROUP BY state ORDER BY state";
static const char SQL_OUTBOX_TROUBLE[] =
    "SELECT o.id, o.op, c.uid, o.connector, o.attempts, o.last_error, o.updated_at,"
    " o.next_attempt_at FROM outbox o LEFT JOIN countermeasures c ON c.id = o.countermeasure_id"
    " WHERE o.project_id = ?1 AND o.state = ?2 ORDER BY o.id LIMIT 100";
static const char SQL_CURSORS[] =
    "SELECT connector, scope, cursor, updated_at FROM sync_cursors ORDER BY connector, scope";

static int counts(struct store *s, const char *sql, int64_t project, json_t *obj,
                  json_int_t *ret_total, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	if (!st)
		return store_fail(s, "count", err);
	sqlite3_bind_int64(st, 1, project);
	json_int_t total = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_int_t n = sqlite3_column_int64(st, 1);
		json_object_set_new(obj, store_col_text(st, 0), json_integer(n));
		total += n;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "count", err);
	if (ret_total)
		*ret_total = total;
	return 0;
}

static int trouble(struct store *s, int64_t project, const char *state, json_t *list,
                   struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_OUTBOX_TROUBLE);
	if (!st)
		return store_fail(s, "list outbox rows", err);
	sqlite3_bind_int64(st, 1, project);
	store_bind_text(st, 2, state);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *e =
		    json_pack("{s:I, s:s, s:s?, s:s, s:i, s:s?, s:s}", "id",
		              (json_int_t)sqlite3_column_int64(st, 0), "op", store_col_text(st, 1),
		              "task", store_col_text(st, 2), "connector", store_col_text(st, 3),
		              "attempts", sqlite3_column_int(st, 4), "last_error",
		              store_col_text(st, 5), "updated_at", store_col_text(st, 6));
		if (strcmp(state, "failed") == 0)
			json_object_set_new(e, "next_attempt_at",
			                    json_integer(sqlite3_column_int64(st, 7)));
		json_array_append_new(list, e);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "list outbox rows", err);
	return 0;
}

static int project_status(struct store *s, int64_t id, const char *slug, json_t **ret,
                          struct ts_err *err)
{
	json_t *tasks = json_object(), *outbox = json_object(), *verif = json_object();
	json_t *dead = json_array(), *failing = json_array();
	json_t *doc =
	    json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "project", slug, "tasks", tasks, "outbox",
	              outbox, "dead", dead, "failing", failing, "verification", verif);
	json_int_t total = 0, linked = 0;
	int rc = counts(s, SQL_TASKS_BY_STATUS, id, tasks, &total, err);
	if (rc == 0)
		rc = counts(s, SQL_OUTBOX_BY_STATE, id, outbox, NULL, err);
	if (rc == 0)
		rc = counts(s, SQL_VERIFICATION, id, verif, NULL, err);
	if (rc == 0)
		rc = trouble(s, id, "dead", dead, err);
	if (rc == 0)
		rc = trouble(s, id, "failed", failing, err);
	if (rc == 0) {
		sqlite3_stmt *st = store_prepare(s, SQL_LINKED);
		if (!st) {
			rc = store_fail(s, "count linked tickets", err);
		} else {
			sqlite3_bind_int64(st, 1, id);
			if (sqlite3_step(st) == SQLITE_ROW)
				linked = sqlite3_column_int64(st, 0);
			else
				rc = store_fail(s, "count linked tickets", err);
			sqlite3_reset(st);
		}
	}
	static const char *const verdicts[] = {"untested", "passed", "failed"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(verdicts); i++)
		if (!json_object_get(verif, verdicts[i]))
			json_object_set_new(verif, verdicts[i], json_integer(0));
	static const char *const states[] = {"pending", "inflight", "failed", "dead", "done"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(states); i++)
		if (!json_object_get(outbox, states[i]))
			json_object_set_new(outbox, states[i], json_integer(0));
	json_object_set_new(doc, "tasks_total", json_integer(total));
	json_object_set_new(doc, "tickets_linked", json_integer(linked));
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*ret = doc;
	return 0;
}

static int cursors_json(struct store *s, json_t *list, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CURSORS);
	if (!st)
		return store_fail(s, "read poll cursors", err);
	json_t *cur = NULL;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = store_col_text(st, 0);
		if (!cur ||
		    strcmp(json_string_value(json_object_get(cur, "connector")), name) != 0) {
			cur = json_pack("{s:s, s:n, s:[], s:[]}", "connector", name, "last_poll",
			                "scopes", "paused");
			json_array_append_new(list, cur);
		}
		const char *at = store_col_text(st, 3);
		if (store_col_text(st, 1)[0] == '@') {
			/* Bookkeeping of the daemon ("@reconcile": when the last
			 * reconciliation ran), not a poll cursor. */
			char *key = ts_asprintf("last_%s", store_col_text(st, 1) + 1);
			json_object_set_new(cur, key, json_string(at));
			free(key);
			continue;
		}
		json_array_append_new(json_object_get(cur, "scopes"),
		                      json_pack("{s:s, s:s, s:s}", "scope", store_col_text(st, 1),
		                                "cursor", store_col_text(st, 2), "updated_at", at));
		const char *last = json_string_value(json_object_get(cur, "last_poll"));
		if (!last || strcmp(at, last) > 0)
			json_object_set_new(cur, "last_poll", json_string(at));
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "read poll cursors", err);
	return 0;
}

/* Each pause (engine/tracking/pause.h) in its connector's entry, which is
 * added when the connector was never polled. */
static int pauses_json(struct store *s, json_t *list, struct ts_err *err)
{
	struct pause_row *rows = NULL;
	size_t n = 0;
	int rc = pause_list(s, NULL, &rows, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		json_t *cur = NULL, *e;
		size_t k;
		json_array_foreach (list, k, e) {
			if (strcmp(json_string_value(json_object_get(e, "connector")),
			           rows[i].connector) == 0)
				cur = e;
		}
		if (!cur) {
			cur = json_pack("{s:s, s:n, s:[], s:[]}", "connector", rows[i].connector,
			                "last_poll", "scopes", "paused");
			json_array_append_new(list, cur);
		}
		json_array_append_new(json_object_get(cur, "paused"), pause_row_json(&rows[i]));
	}
	pause_rows_free(rows, n);
	return 0;
}

int status_report_json(struct store *s, const char *slug, json_t **ret_doc, struct ts_err *err)
{
	json_t *projects = json_array(), *connectors = json_array();
	json_t *doc = json_pack("{s:o, s:o}", "projects", projects, "connectors", connectors);
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECTS);
	int rc = 0;
	if (!st) {
		rc = store_fail(s, "list projects", err);
		goto fail;
	}
	store_bind_text(st, 1, slug);
	/* Collect first: the per-project queries reuse the statement cache. */
	json_t *ids = json_array();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(ids,
		                      json_pack("[I, s]", (json_int_t)sqlite3_column_int64(st, 0),
		                                store_col_text(st, 1)));
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(ids);
		rc = store_fail(s, "list projects", err);
		goto fail;
	}
	if (slug && json_array_size(ids) == 0) {
		json_decref(ids);
		rc = ts_err_set(err, TS_E_NOTFOUND, "no project '%s' (threatsync project list)",
		                slug);
		goto fail;
	}
	size_t i;
	json_t *e;
	json_array_foreach (ids, i, e) {
		json_t *p = NULL;
		rc = project_status(s, json_integer_value(json_array_get(e, 0)),
		                    json_string_value(json_array_get(e, 1)), &p, err);
		if (rc < 0)
			break;
		json_array_append_new(projects, p);
	}
	json_decref(ids);
	if (rc == 0)
		rc = cursors_json(s, connectors, err);
	if (rc == 0)
		rc = pauses_json(s, connectors, err);
	if (rc < 0)
		goto fail;
	*ret_doc = doc;
	return 0;
fail:
	json_decref(doc);
	return rc;
}
