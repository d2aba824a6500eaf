/* SPDX-License-Identifier: Apache-2.0 */
/* The connector_pauses table: start, probe, end and list the pauses of a
 * connector after a permanent refusal. */
#include "engine/tracking/pause.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_SET[] =
    "INSERT INTO connector_pauses(connector, scope, kind, http_status, reason, since,"
    " last_probe_at, next_probe_at, probes)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?7 THEN ?6 END, ?8, ?7)"
    " ON CONFLICT(connector, scope) DO UPDATE SET kind = excluded.kind,"
    " http_status = excluded.http_status, reason = excluded.reason,"
    " last_probe_at = COALESCE(excluded.last_probe_at, last_probe_at),"
    " next_probe_at = excluded.next_probe_at, probes = probes + excluded.probes"
    " RETURNING since = ?6 AND probes = ?7";
static const char SQL_PROBED[] =
    "UPDATE connector_pauses SET last_probe_at = ?3, next_probe_at = ?4, probes = probes + 1"
    " WHERE connector = ?1 AND scope = ?2";
static const char SQL_CLEAR[] = "DELETE FROM connector_pauses WHERE connector = ?1 AND scope = ?2";
static const char SQL_PROBE_NOW[] =
    "UPDATE connector_pauses SET next_probe_at = 0 WHERE ?1 IS NULL OR connector = ?1";
static const char SQL_LIST[] =
    "SELECT connector, scope, kind, http_status, reason, since, last_probe_at, next_probe_at,"
    " probes FROM connector_pauses WHERE ?1 IS NULL OR connector = ?1 ORDER BY connector, scope";
static const char SQL_DUE[] = "SELECT 1 FROM connector_pauses WHERE next_probe_at <= ?1 LIMIT 1";

const char *pause_kind_name(enum pause_kind k)
{
	return k == PAUSE_DENIED ? "denied" : "missing";
}

int pause_set(struct store *s, const char *connector, const char *scope, enum pause_kind kind,
              long http_status, const char *reason, bool probed, int64_t next_probe_ms,
              const char *now, bool *ret_new, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_SET);
	if (!st)
		return store_fail(s, "pause connector", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, scope ? scope : "");
	store_bind_static(st, 3, pause_kind_name(kind));
	sqlite3_bind_int64(st, 4, http_status);
	store_bind_text(st, 5, reason && *reason ? reason : "refused (no message)");
	store_bind_text(st, 6, now);
	sqlite3_bind_int(st, 7, probed ? 1 : 0);
	sqlite3_bind_int64(st, 8, next_probe_ms);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		int rc = store_fail(s, "pause connector", err);
		sqlite3_reset(st);
		return rc;
	}
	/* A row inserted now has since = now and probes = probed; an older
	 * row started earlier (or has been probed more). */
	bool started = sqlite3_column_int(st, 0) != 0;
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "pause connector", err);
	if (ret_new)
		*ret_new = started;
	return 0;
}

int pause_probed(struct store *s, const char *connector, const char *scope, int64_t next_probe_ms,
                 const char *now, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_PROBED);
	if (!st)
		return store_fail(s, "record pause probe", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, scope ? scope : "");
	store_bind_text(st, 3, now);
	sqlite3_bind_int64(st, 4, next_probe_ms);
	return store_step_done(s, st, "record pause probe", err);
}

int pause_clear(struct store *s, const char *connector, const char *scope, bool *ret_ended,
                struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CLEAR);
	if (!st)
		return store_fail(s, "end connector pause", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, scope ? scope : "");
	int rc = store_step_done(s, st, "end connector pause", err);
	if (rc == 0 && ret_ended)
		*ret_ended = sqlite3_changes(store_db(s)) > 0;
	return rc;
}

int pause_probe_now(struct store *s, const char *connector, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_PROBE_NOW);
	if (!st)
		return store_fail(s, "schedule pause probes", err);
	store_bind_text(st, 1, connector);
	return store_step_done(s, st, "schedule pause probes", err);
}

void pause_rows_free(struct pause_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++) {
		free(rows[i].connector);
		free(rows[i].scope);
		free(rows[i].reason);
		free(rows[i].since);
		free(rows[i].last_probe_at);
	}
	free(rows);
}

int pause_list(struct store *s, const char *connector, struct pause_row **ret_rows, size_t *ret_n,
               struct ts_err *err)
{
	*ret_rows = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, SQL_LIST);
	if (!st)
		return store_fail(s, "list connector pauses", err);
	store_bind_text(st, 1, connector);
	struct pause_row *rows = NULL;
	size_t n = 0, cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			rows = ts_realloc(rows, cap * sizeof(*rows));
		}
		struct pause_row *p = &rows[n++];
		p->connector = store_col_dup(st, 0);
		p->scope = store_col_dup(st, 1);
		p->kind =
		    strcmp(store_col_text(st, 2), "denied") == 0 ? PAUSE_DENIED : PAUSE_MISSING;
		p->http_status = (long)sqlite3_column_int64(st, 3);
		p->reason = store_col_dup(st, 4);
		p->since = store_col_dup(st, 5);
		p->last_probe_at = store_col_dup(st, 6);
		p->next_probe_ms = sqlite3_column_int64(st, 7);
		p->probes = sqlite3_column_int(st, 8);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		pause_rows_free(rows, n);
		return store_fail(s, "list connector pauses", err);
	}
	*ret_rows = rows;
	*ret_n = n;
	return 0;
}

int pause_probe_due(struct store *s, int64_t now_ms, bool *ret_due, struct ts_err *err)
{
	*ret_due = false;
	sqlite3_stmt *st = store_prepare(s, SQL_DUE);
	if (!st)
		return store_fail(s, "check connector pauses", err);
	sqlite3_bind_int64(st, 1, now_ms);
	int r = sqlite3_step(st);
	*ret_due = r == SQLITE_ROW;
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "check connector pauses", err);
	return 0;
}

json_t *pause_row_json(const struct pause_row *p)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s?, s:I, s:i}", "scope", p->scope, "kind",
	                 pause_kind_name(p->kind), "http_status", (json_int_t)p->http_status,
	                 "reason", p->reason, "since", p->since, "last_probe_at", p->last_probe_at,
	                 "next_probe_at", (json_int_t)p->next_probe_ms, "probes", p->probes);
}
