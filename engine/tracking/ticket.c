/* SPDX-License-Identifier: Apache-2.0 */
/* Ticket rows and poll cursors in the store. */
#include "engine/tracking/ticket.h"

#include <stdlib.h>

static const char SQL_UPSERT[] =
    "INSERT INTO tickets(project_id, connector, marker, remote_key, remote_id, remote_url,"
    " remote_status, remote_status_category, remote_updated, content_hash, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
    " ON CONFLICT(connector, marker) DO UPDATE SET"
    " remote_key = COALESCE(excluded.remote_key, remote_key),"
    " remote_id = COALESCE(excluded.remote_id, remote_id),"
    " remote_url = COALESCE(excluded.remote_url, remote_url),"
    " remote_status = COALESCE(excluded.remote_status, remote_status),"
    " remote_status_category = COALESCE(excluded.remote_status_category,"
    " remote_status_category),"
    " remote_updated = COALESCE(excluded.remote_updated, remote_updated),"
    " content_hash = excluded.content_hash, updated_at = excluded.updated_at"
    " RETURNING id";
static const char SQL_FIND_BY_MARKER[] =
    "SELECT id, remote_updated FROM tickets WHERE connector = ?1 AND marker = ?2";
static const char SQL_FIND_BY_KEY[] =
    "SELECT id, remote_updated FROM tickets WHERE connector = ?1 AND remote_key = ?2";
static const char SQL_REMOTE[] =
    "UPDATE tickets SET remote_key = COALESCE(remote_key, ?2),"
    " remote_id = COALESCE(remote_id, ?3), remote_url = COALESCE(remote_url, ?4),"
    " remote_status = ?5, remote_status_category = ?6,"
    " remote_updated = COALESCE(?7, remote_updated), updated_at = ?8 WHERE id = ?1";
static const char SQL_SEEN[] =
    "UPDATE tickets SET content_hash = COALESCE(?2, content_hash),"
    " remote_status = COALESCE(?3, remote_status),"
    " remote_status_category = COALESCE(?4, remote_status_category),"
    " remote_updated = COALESCE(?5, remote_updated), updated_at = ?6 WHERE id = ?1";
static const char SQL_CURSOR_GET[] =
    "SELECT cursor FROM sync_cursors WHERE connector = ?1 AND scope = ?2";
static const char SQL_CURSOR_SET[] =
    "INSERT INTO sync_cursors(connector, scope, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT(connector, scope) DO UPDATE SET cursor = excluded.cursor,"
    " updated_at = excluded.updated_at";

static const char SQL_LINK_TASK[] = "UPDATE countermeasures SET ticket_id = ?2 WHERE id = ?1";

int ticket_link_task(struct store *s, int64_t countermeasure_id, int64_t ticket_id,
                     struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LINK_TASK);
	if (!st)
		return store_fail(s, "link task to ticket", err);
	sqlite3_bind_int64(st, 1, countermeasure_id);
	store_bind_id(st, 2, ticket_id);
	return store_step_done(s, st, "link task to ticket", err);
}

/* Binds what the tracker says of a ticket (key, id, url, status, status
 * category, update time) to the six parameters from first on, in that order,
 * as the statements that store it list them. */
static void bind_remote(sqlite3_stmt *st, int first, const struct outbox_remote *r)
{
	const char *v[] = {r->key, r->id, r->url, r->status, r->status_category, r->updated};
	for (int k = 0; k < (int)TS_ARRAY_SIZE(v); k++)
		store_bind_text(st, first + k, v[k]);
}

int ticket_upsert(struct store *s, int64_t project_id, const char *connector, const char *marker,
                  const struct outbox_remote *r, const char *content_hash, const char *now,
                  int64_t *ret_id, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_UPSERT);
	if (!st)
		return store_fail(s, "record ticket", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, connector);
	store_bind_text(st, 3, marker);
	bind_remote(st, 4, r);
	store_bind_text(st, 10, content_hash);
	store_bind_text(st, 11, now);
	if (sqlite3_step(st) != SQLITE_ROW) {
		int rc = store_fail(s, "record ticket", err);
		sqlite3_reset(st);
		return rc;
	}
	int64_t id = sqlite3_column_int64(st, 0);
	/* Finish the statement so the write is not left pending. */
	int q = sqlite3_step(st);
	sqlite3_reset(st);
	if (q != SQLITE_DONE)
		return store_fail(s, "record ticket", err);
	if (ret_id)
		*ret_id = id;
	return 0;
}

int ticket_find(struct store *s, const struct outbox_remote *r, int64_t *ret_id, char **ret_updated,
                struct ts_err *err)
{
	*ret_id = 0;
	if (ret_updated)
		*ret_updated = NULL;
	for (int pass = 0; pass < 2 && *ret_id == 0; pass++) {
		const char *v = pass == 0 ? r->marker : r->key;
		if (!v)
			continue;
		sqlite3_stmt *st =
		    store_prepare(s, pass == 0 ? SQL_FIND_BY_MARKER : SQL_FIND_BY_KEY);
		if (!st)
			return store_fail(s, "find ticket", err);
		store_bind_text(st, 1, r->connector);
		store_bind_text(st, 2, v);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret_id = sqlite3_column_int64(st, 0);
			if (ret_updated)
				*ret_updated = store_col_dup(st, 1);
		} else if (rc != SQLITE_DONE) {
			rc = store_fail(s, "find ticket", err);
			sqlite3_reset(st);
			return rc;
		}
		sqlite3_reset(st);
	}
	return 0;
}

int ticket_remote_store(struct store *s, int64_t id, const struct outbox_remote *r, const char *now,
                        struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_REMOTE);
	if (!st)
		return store_fail(s, "update ticket", err);
	sqlite3_bind_int64(st, 1, id);
	bind_remote(st, 2, r);
	store_bind_text(st, 8, now);
	return store_step_done(s, st, "update ticket", err);
}

int ticket_seen(struct store *s, int64_t id, const char *content_hash,
                const struct outbox_remote *seen, const char *now, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_SEEN);
	if (!st)
		return store_fail(s, "update ticket", err);
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, content_hash);
	store_bind_text(st, 3, seen ? seen->status : NULL);
	store_bind_text(st, 4, seen ? seen->status_category : NULL);
	store_bind_text(st, 5, seen ? seen->updated : NULL);
	store_bind_text(st, 6, now);
	return store_step_done(s, st, "update ticket", err);
}

int ticket_cursor_get(struct store *s, const char *connector, const char *scope, char **ret_cursor,
                      struct ts_err *err)
{
	*ret_cursor = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_CURSOR_GET);
	if (!st)
		return store_fail(s, "read poll cursor", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, scope);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*ret_cursor = store_col_dup(st, 0);
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "read poll cursor", err);
	return 0;
}

int ticket_cursor_set(struct store *s, const char *connector, const char *scope, const char *cursor,
                      const char *now, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CURSOR_SET);
	if (!st)
		return store_fail(s, "store poll cursor", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, scope);
	store_bind_text(st, 3, cursor ? cursor : "");
	store_bind_text(st, 4, now);
	return store_step_done(s, st, "store poll cursor", err);
}
