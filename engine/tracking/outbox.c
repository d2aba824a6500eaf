/* SPDX-License-Identifier: Apache-2.0 */
/* Outbox state machine, ticket links and remote status changes in the store. */
#include "engine/tracking/outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char SQL_RECOVER[] =
    "UPDATE outbox SET state = 'pending',"
    " payload = json_set(CASE WHEN json_valid(payload) THEN payload ELSE '{}' END,"
    " '$." OUTBOX_UNKNOWN_KEY "', json('true')), updated_at = ?2"
    " WHERE state = 'inflight' AND (?1 IS NULL OR connector = ?1)";
static const char SQL_DUE[] =
    "SELECT o.id, o.project_id, p.slug, o.connector, o.op, o.countermeasure_id,"
    " COALESCE(c.ticket_id, o.ticket_id), t.remote_key, o.payload, o.attempts"
    " FROM outbox o JOIN projects p ON p.id = o.project_id"
    " LEFT JOIN countermeasures c ON c.id = o.countermeasure_id"
    " LEFT JOIN tickets t ON t.id = COALESCE(c.ticket_id, o.ticket_id)"
    " WHERE o.connector = ?1 AND o.state IN ('pending', 'failed') AND o.next_attempt_at <= ?2"
    " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.countermeasure_id = o.countermeasure_id"
    " AND e.id < o.id AND e.state IN ('pending', 'inflight', 'failed'))"
    " ORDER BY o.next_attempt_at, o.id LIMIT ?3";
static const char SQL_SET_INFLIGHT[] =
    "UPDATE outbox SET state = 'inflight', updated_at = ?2 WHERE id = ?1";
static const char SQL_TICKET_UPSERT[] =
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
    " content_hash = COALESCE(excluded.content_hash, content_hash),"
    " updated_at = excluded.updated_at";
static const char SQL_TICKET_ID[] = "SELECT id FROM tickets WHERE connector = ?1 AND marker = ?2";
static const char SQL_CM_LINK[] = "UPDATE countermeasures SET ticket_id = ?2 WHERE id = ?1";
static const char SQL_DONE[] =
    "UPDATE outbox SET state = 'done', last_error = ?2,"
    " payload = json_remove(CASE WHEN json_valid(payload) THEN payload ELSE '{}' END,"
    " '$." OUTBOX_UNKNOWN_KEY "'), ticket_id = COALESCE(?3, ticket_id), updated_at = ?4"
    " WHERE id = ?1";
static const char SQL_TICKET_SEEN[] =
    "UPDATE tickets SET content_hash = COALESCE(?2, content_hash),"
    " remote_status = COALESCE(?3, remote_status),"
    " remote_status_category = COALESCE(?4, remote_status_category),"
    " remote_updated = COALESCE(?5, remote_updated), updated_at = ?6 WHERE id = ?1";
static const char SQL_FAIL[] =
    "UPDATE outbox SET state = CASE WHEN attempts + 1 >= ?2 THEN 'dead' ELSE 'failed' END,"
    " attempts = attempts + 1, next_attempt_at = ?3, last_error = ?4,"
    " payload = CASE WHEN ?5 THEN json_set(CASE WHEN json_valid(payload) THEN payload"
    " ELSE '{}' END, '$." OUTBOX_UNKNOWN_KEY "', json('true')) ELSE payload END,"
    " updated_at = ?6 WHERE id = ?1 RETURNING state";
static const char SQL_RELEASE[] =
    "UPDATE outbox SET state = 'pending',"
    " payload = CASE WHEN ?2 THEN json_set(CASE WHEN json_valid(payload) THEN payload"
    " ELSE '{}' END, '$." OUTBOX_UNKNOWN_KEY "', json('true')) ELSE payload END,"
    " updated_at = ?3 WHERE id = ?1";
static const char SQL_KILL[] =
    "UPDATE outbox SET state = 'dead', last_error = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_FIND_BY_MARKER[] =
    "SELECT id, remote_updated FROM tickets WHERE connector = ?1 AND marker = ?2";
static const char SQL_FIND_BY_KEY[] =
    "SELECT id, remote_updated FROM tickets WHERE connector = ?1 AND remote_key = ?2";
static const char SQL_TICKET_REMOTE[] =
    "UPDATE tickets SET remote_key = COALESCE(remote_key, ?2),"
    " remote_id = COALESCE(remote_id, ?3), remote_url = COALESCE(remote_url, ?4),"
    " remote_status = ?5, remote_status_category = ?6, remote_updated = ?7,"
    " updated_at = ?8 WHERE id = ?1";
static const char SQL_TICKET_TASKS[] =
    "SELECT c.id, c.project_id, c.uid, c.status,"
    " EXISTS (SELECT 1 FROM overrides o WHERE o.project_id = c.project_id"
    " AND o.target_kind = 'countermeasure' AND o.target_uid = c.uid"
    " AND o.kind = c.status AND o.revoked_at IS NULL"
    " AND json_extract(o.payload, '$.source') = 'tracker')"
    " FROM countermeasures c WHERE c.ticket_id = ?1 AND c.state = 'active' ORDER BY c.id";
static const char SQL_TASK_REF[] = "SELECT project_id, uid FROM countermeasures WHERE id = ?1";
static const char SQL_SET_STATUS[] =
    "UPDATE countermeasures SET status = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_HISTORY[] =
    "INSERT INTO status_history(countermeasure_id, ticket_id, from_status, to_status, source,"
    " actor, remote_time, reason, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_OVERRIDE_ADD[] =
    "INSERT INTO overrides(project_id, target_kind, target_uid, kind, reason, author,"
    " expires_at, payload, created_at) VALUES (?1, 'countermeasure', ?2, ?7, ?3,"
    " ?4, NULL, ?5, ?6)";
static const char SQL_OVERRIDE_REVOKE[] =
    "UPDATE overrides SET revoked_at = ?3 WHERE project_id = ?1"
    " AND target_kind = 'countermeasure' AND target_uid = ?2 AND kind = ?4"
    " AND revoked_at IS NULL AND json_extract(payload, '$.source') = 'tracker'";
static const char SQL_CURSOR_GET[] =
    "SELECT cursor FROM sync_cursors WHERE connector = ?1 AND scope = ?2";
static const char SQL_CURSOR_SET[] =
    "INSERT INTO sync_cursors(connector, scope, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT(connector, scope) DO UPDATE SET cursor = excluded.cursor,"
    " updated_at = excluded.updated_at";
static const char SQL_HAS_DUE[] =
    "SELECT 1 FROM outbox WHERE (?1 IS NULL OR connector = ?1)"
    " AND state IN ('pending', 'failed') AND next_attempt_at <= ?2 LIMIT 1";
static const char SQL_PROJECTS[] =
    "SELECT id, slug FROM projects WHERE ?1 IS NULL OR slug = ?1 ORDER BY slug";
static const char SQL_TASKS_BY_STATUS[] =
    "SELECT status, count(*) FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1 GROUP BY status ORDER BY status";
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

static int exec_done(struct store *s, sqlite3_stmt *st, const char *what, struct ts_err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		int rc = store_fail(s, what, err);
		sqlite3_reset(st);
		return rc;
	}
	return 0;
}

/* Runs fn as one atomic unit: its own transaction, or a savepoint inside
 * the caller's (the sync's group commit, connectors/sync.c). */
static int in_tx(struct store *s, const char *what, struct ts_err *err,
                 int (*fn)(struct store *s, void *arg, struct ts_err *err), void *arg)
{
	bool nested;
	int rc = store_unit_begin(s, &nested);
	if (rc < 0)
		return store_fail(s, what, err);
	rc = fn(s, arg, err);
	if (rc == 0 && (rc = store_unit_end(s, nested, 0)) < 0)
		rc = store_fail(s, what, err);
	if (rc < 0)
		store_unit_end(s, nested, rc);
	return rc;
}

void outbox_op_clear(struct outbox_op *op)
{
	free(op->project_slug);
	free(op->connector);
	free(op->op);
	free(op->remote_key);
	json_decref(op->payload);
	memset(op, 0, sizeof(*op));
}

void outbox_ops_free(struct outbox_op *ops, size_t n)
{
	if (!ops)
		return;
	for (size_t i = 0; i < n; i++)
		outbox_op_clear(&ops[i]);
	free(ops);
}

int outbox_recover(struct store *s, const char *connector, const char *now, int *ret_n,
                   struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_RECOVER);
	if (!st)
		return store_fail(s, "recover outbox", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, now);
	int rc = exec_done(s, st, "recover outbox", err);
	if (rc == 0 && ret_n)
		*ret_n = sqlite3_changes(store_db(s));
	return rc;
}

struct claim {
	const char *connector;
	int64_t now_ms;
	size_t limit;
	const char *now;
	struct outbox_op *ops;
	size_t n;
};

static int claim_tx(struct store *s, void *arg, struct ts_err *err)
{
	struct claim *c = arg;
	sqlite3_stmt *st = store_prepare(s, SQL_DUE);
	if (!st)
		return store_fail(s, "claim outbox rows", err);
	store_bind_text(st, 1, c->connector);
	sqlite3_bind_int64(st, 2, c->now_ms);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->limit);
	int r = SQLITE_DONE;
	c->ops = ts_calloc(c->limit, sizeof(*c->ops));
	while (c->n < c->limit && (r = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_op *o = &c->ops[c->n++];
		o->id = sqlite3_column_int64(st, 0);
		o->project_id = sqlite3_column_int64(st, 1);
		o->project_slug = ts_strdup(store_col_text(st, 2));
		o->connector = ts_strdup(store_col_text(st, 3));
		o->op = ts_strdup(store_col_text(st, 4));
		o->countermeasure_id = sqlite3_column_int64(st, 5);
		o->ticket_id = sqlite3_column_int64(st, 6);
		o->remote_key = ts_strdup(store_col_text(st, 7));
		const char *p = store_col_text(st, 8);
		o->payload = p ? json_loads(p, 0, NULL) : NULL;
		if (!json_is_object(o->payload)) {
			json_decref(o->payload);
			o->payload = json_object();
		}
		o->attempts = sqlite3_column_int(st, 9);
		o->outcome_unknown = json_is_true(json_object_get(o->payload, OUTBOX_UNKNOWN_KEY));
	}
	if (c->n < c->limit && r != SQLITE_DONE) {
		int rc = store_fail(s, "claim outbox rows", err);
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < c->n; i++) {
		st = store_prepare(s, SQL_SET_INFLIGHT);
		if (!st)
			return store_fail(s, "claim outbox rows", err);
		sqlite3_bind_int64(st, 1, c->ops[i].id);
		store_bind_text(st, 2, c->now);
		int rc = exec_done(s, st, "claim outbox rows", err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int outbox_claim(struct store *s, const char *connector, int64_t now_ms, size_t limit,
                 const char *now, struct outbox_op **ret_ops, size_t *ret_n, struct ts_err *err)
{
	*ret_ops = NULL;
	*ret_n = 0;
	if (limit == 0)
		return 0;
	struct claim c = {connector, now_ms, limit, now, NULL, 0};
	int rc = in_tx(s, "claim outbox rows", err, claim_tx, &c);
	if (rc < 0 || c.n == 0) {
		outbox_ops_free(c.ops, c.n);
		return rc;
	}
	*ret_ops = c.ops;
	*ret_n = c.n;
	return 0;
}

struct link {
	const struct outbox_op *op;
	const char *marker;
	const struct outbox_remote *r;
	const char *content_hash;
	const char *now;
	int64_t ticket;
};

static int link_tx(struct store *s, void *arg, struct ts_err *err)
{
	struct link *l = arg;
	const struct outbox_remote *r = l->r;
	sqlite3_stmt *st = store_prepare(s, SQL_TICKET_UPSERT);
	if (!st)
		return store_fail(s, "record ticket", err);
	sqlite3_bind_int64(st, 1, l->op->project_id);
	store_bind_text(st, 2, l->op->connector);
	store_bind_text(st, 3, l->marker);
	store_bind_text(st, 4, r->key);
	store_bind_text(st, 5, r->id);
	store_bind_text(st, 6, r->url);
	store_bind_text(st, 7, r->status);
	store_bind_text(st, 8, r->status_category);
	store_bind_text(st, 9, r->updated);
	store_bind_text(st, 10, l->content_hash);
	store_bind_text(st, 11, l->now);
	int rc = exec_done(s, st, "record ticket", err);
	if (rc < 0)
		return rc;
	st = store_prepare(s, SQL_TICKET_ID);
	if (!st)
		return store_fail(s, "record ticket", err);
	store_bind_text(st, 1, l->op->connector);
	store_bind_text(st, 2, l->marker);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = store_fail(s, "record ticket", err);
		sqlite3_reset(st);
		return rc;
	}
	l->ticket = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (l->op->countermeasure_id > 0) {
		st = store_prepare(s, SQL_CM_LINK);
		if (!st)
			return store_fail(s, "link ticket", err);
		sqlite3_bind_int64(st, 1, l->op->countermeasure_id);
		sqlite3_bind_int64(st, 2, l->ticket);
		if ((rc = exec_done(s, st, "link ticket", err)) < 0)
			return rc;
	}
	st = store_prepare(s, SQL_DONE);
	if (!st)
		return store_fail(s, "complete outbox row", err);
	sqlite3_bind_int64(st, 1, l->op->id);
	sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, l->ticket);
	store_bind_text(st, 4, l->now);
	return exec_done(s, st, "complete outbox row", err);
}

int outbox_link(struct store *s, const struct outbox_op *op, const char *marker,
                const struct outbox_remote *r, const char *content_hash, const char *now,
                int64_t *ret_ticket, struct ts_err *err)
{
	if (!marker || !*marker)
		return ts_err_set(err, TS_E_INTERNAL, "outbox row %lld: a ticket needs a marker",
		                  (long long)op->id);
	struct link l = {op, marker, r, content_hash, now, 0};
	int rc = in_tx(s, "link ticket", err, link_tx, &l);
	if (rc == 0 && ret_ticket)
		*ret_ticket = l.ticket;
	return rc;
}

struct complete {
	const struct outbox_op *op;
	const char *content_hash;
	const struct outbox_remote *seen;
	const char *note;
	const char *now;
};

static int complete_tx(struct store *s, void *arg, struct ts_err *err)
{
	struct complete *c = arg;
	int rc;
	if (c->op->ticket_id > 0 && (c->content_hash || c->seen)) {
		sqlite3_stmt *st = store_prepare(s, SQL_TICKET_SEEN);
		if (!st)
			return store_fail(s, "update ticket", err);
		sqlite3_bind_int64(st, 1, c->op->ticket_id);
		store_bind_text(st, 2, c->content_hash);
		store_bind_text(st, 3, c->seen ? c->seen->status : NULL);
		store_bind_text(st, 4, c->seen ? c->seen->status_category : NULL);
		store_bind_text(st, 5, c->seen ? c->seen->updated : NULL);
		store_bind_text(st, 6, c->now);
		if ((rc = exec_done(s, st, "update ticket", err)) < 0)
			return rc;
	}
	sqlite3_stmt *st = store_prepare(s, SQL_DONE);
	if (!st)
		return store_fail(s, "complete outbox row", err);
	sqlite3_bind_int64(st, 1, c->op->id);
	store_bind_text(st, 2, c->note);
	store_bind_id(st, 3, c->op->ticket_id);
	store_bind_text(st, 4, c->now);
	return exec_done(s, st, "complete outbox row", err);
}

int outbox_complete(struct store *s, const struct outbox_op *op, const char *content_hash,
                    const struct outbox_remote *seen, const char *note, const char *now,
                    struct ts_err *err)
{
	struct complete c = {op, content_hash, seen, note, now};
	return in_tx(s, "complete outbox row", err, complete_tx, &c);
}

int64_t outbox_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, uint64_t rnd)
{
	if (base_ms <= 0 || max_ms <= 0)
		return 0;
	int64_t cap = base_ms;
	for (int i = 0; i < attempts && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	return (int64_t)(rnd % (uint64_t)(cap + 1));
}

int outbox_fail(struct store *s, const struct outbox_op *op, const char *message, bool unknown,
                int64_t delay_ms, int max_attempts, int64_t now_ms, const char *now, bool *ret_dead,
                struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_FAIL);
	if (!st)
		return store_fail(s, "reschedule outbox row", err);
	sqlite3_bind_int64(st, 1, op->id);
	sqlite3_bind_int(st, 2, max_attempts > 0 ? max_attempts : 1);
	sqlite3_bind_int64(st, 3, now_ms + (delay_ms > 0 ? delay_ms : 0));
	store_bind_text(st, 4, message && *message ? message : "failed (no message)");
	sqlite3_bind_int(st, 5, unknown);
	store_bind_text(st, 6, now);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		int rc = store_fail(s, "reschedule outbox row", err);
		sqlite3_reset(st);
		return rc;
	}
	if (ret_dead)
		*ret_dead = strcmp(store_col_text(st, 0), "dead") == 0;
	/* Finish the statement so the write is not left pending. */
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "reschedule outbox row", err);
	return 0;
}

int outbox_release(struct store *s, const struct outbox_op *op, bool unknown, const char *now,
                   struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_RELEASE);
	if (!st)
		return store_fail(s, "release outbox row", err);
	sqlite3_bind_int64(st, 1, op->id);
	sqlite3_bind_int(st, 2, unknown);
	store_bind_text(st, 3, now);
	return exec_done(s, st, "release outbox row", err);
}

int outbox_kill(struct store *s, const struct outbox_op *op, const char *message, const char *now,
                struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_KILL);
	if (!st)
		return store_fail(s, "mark outbox row dead", err);
	sqlite3_bind_int64(st, 1, op->id);
	store_bind_text(st, 2, message);
	store_bind_text(st, 3, now);
	return exec_done(s, st, "mark outbox row dead", err);
}

/* ------------------------------------------------------------ remote status */

const char *outbox_status_for(const char *category, const char *resolution)
{
	if (resolution &&
	    (strcasecmp(resolution, "Won't Do") == 0 || strcasecmp(resolution, "Won't Fix") == 0 ||
	     strcasecmp(resolution, "Won’t Do") == 0 || strcasecmp(resolution, "Won’t Fix") == 0))
		return "risk_accepted";
	if (!category)
		return NULL;
	if (strcmp(category, "new") == 0)
		return "todo";
	if (strcmp(category, "indeterminate") == 0)
		return "in_progress";
	if (strcmp(category, "done") == 0)
		return "done";
	return NULL;
}

/* Statuses a tracker can give a task and take back through overrides. */
static bool override_status(const char *status)
{
	return status &&
	       (strcmp(status, "risk_accepted") == 0 || strcmp(status, "not_applicable") == 0);
}

bool outbox_tracker_owned(const char *status, bool tracker_set)
{
	if (!status)
		return false;
	return strcmp(status, "todo") == 0 || strcmp(status, "in_progress") == 0 ||
	       strcmp(status, "done") == 0 || (override_status(status) && tracker_set);
}

struct task_row {
	int64_t id;
	int64_t project_id;
	char *uid;
	char *status;
	bool tracker_acceptance;
};

static int load_tasks(struct store *s, int64_t ticket, struct task_row **ret, size_t *ret_n,
                      struct ts_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, SQL_TICKET_TASKS);
	if (!st)
		return store_fail(s, "load tasks of ticket", err);
	sqlite3_bind_int64(st, 1, ticket);
	size_t n = 0, cap = 0;
	struct task_row *v = NULL;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = ts_realloc(v, cap * sizeof(*v));
		}
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].project_id = sqlite3_column_int64(st, 1);
		v[n].uid = ts_strdup(store_col_text(st, 2));
		v[n].status = ts_strdup(store_col_text(st, 3));
		v[n].tracker_acceptance = sqlite3_column_int(st, 4) != 0;
		n++;
	}
	int rc = 0;
	if (r != SQLITE_DONE) {
		rc = store_fail(s, "load tasks of ticket", err);
		sqlite3_reset(st);
	}
	*ret = v;
	*ret_n = n;
	return rc;
}

static void free_tasks(struct task_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].uid);
		free(v[i].status);
	}
	free(v);
}

static char *acceptance_reason(const struct outbox_remote *r)
{
	struct ts_buf b = {0};
	if (r->resolution)
		ts_buf_printf(&b, "resolution '%s' set on %s", r->resolution,
		              r->key ? r->key : "the ticket");
	else
		ts_buf_printf(&b, "status '%s' set on %s", r->status ? r->status : "?",
		              r->key ? r->key : "the ticket");
	if (r->actor && *r->actor)
		ts_buf_printf(&b, " by %s", r->actor);
	if (r->comment && *r->comment)
		ts_buf_printf(&b, ": %.2000s", r->comment);
	return ts_buf_steal(&b);
}

static int change_task(struct store *s, const struct task_row *t, int64_t ticket, const char *to,
                       const struct outbox_remote *r, const char *source, const char *why,
                       const char *now, struct ts_err *err)
{
	char *reason = why ? ts_strdup(why) : NULL;
	int rc = 0;
	sqlite3_stmt *st;
	if (override_status(to)) {
		if (!reason)
			reason = acceptance_reason(r);
		st = store_prepare(s, SQL_OVERRIDE_ADD);
		if (!st) {
			rc = store_fail(s, "record risk acceptance", err);
			goto out;
		}
		json_t *payload = json_pack("{s:s, s:s, s:s?}", "source", "tracker", "connector",
		                            r->connector, "ticket", r->key);
		char *p = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(payload);
		sqlite3_bind_int64(st, 1, t->project_id);
		store_bind_text(st, 2, t->uid);
		store_bind_text(st, 3, reason);
		store_bind_text(st, 4, r->actor ? r->actor : "");
		store_bind_text(st, 5, p);
		store_bind_text(st, 6, now);
		store_bind_text(st, 7, to);
		free(p);
		if ((rc = exec_done(s, st, "record risk acceptance", err)) < 0)
			goto out;
	}
	if (override_status(t->status) && strcmp(t->status, to) != 0) {
		st = store_prepare(s, SQL_OVERRIDE_REVOKE);
		if (!st) {
			rc = store_fail(s, "revoke risk acceptance", err);
			goto out;
		}
		sqlite3_bind_int64(st, 1, t->project_id);
		store_bind_text(st, 2, t->uid);
		store_bind_text(st, 3, now);
		store_bind_text(st, 4, t->status);
		if ((rc = exec_done(s, st, "revoke risk acceptance", err)) < 0)
			goto out;
	}
	st = store_prepare(s, SQL_SET_STATUS);
	if (!st) {
		rc = store_fail(s, "set task status", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, t->id);
	store_bind_text(st, 2, to);
	store_bind_text(st, 3, now);
	if ((rc = exec_done(s, st, "set task status", err)) < 0)
		goto out;
	st = store_prepare(s, SQL_HISTORY);
	if (!st) {
		rc = store_fail(s, "record status history", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, t->id);
	store_bind_id(st, 2, ticket);
	store_bind_text(st, 3, t->status);
	store_bind_text(st, 4, to);
	store_bind_text(st, 5, source);
	store_bind_text(st, 6, r->actor ? r->actor : "");
	store_bind_text(st, 7, r->updated);
	store_bind_text(st, 8, reason);
	store_bind_text(st, 9, now);
	rc = exec_done(s, st, "record status history", err);
out:
	free(reason);
	return rc;
}

int outbox_task_status_set(struct store *s, int64_t cm_id, int64_t ticket, const char *from,
                           const char *to, const struct outbox_remote *r, const char *source,
                           const char *reason, const char *now, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_TASK_REF);
	if (!st)
		return store_fail(s, "load task", err);
	sqlite3_bind_int64(st, 1, cm_id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE
		         ? ts_err_set(err, TS_E_NOTFOUND, "no task with id %lld", (long long)cm_id)
		         : store_fail(s, "load task", err);
		sqlite3_reset(st);
		return rc;
	}
	struct task_row t = {.id = cm_id,
	                     .project_id = sqlite3_column_int64(st, 0),
	                     .uid = ts_strdup(store_col_text(st, 1)),
	                     .status = ts_strdup(from ? from : "")};
	sqlite3_reset(st);
	rc = change_task(s, &t, ticket, to, r, source, reason, now, err);
	free(t.uid);
	free(t.status);
	return rc;
}

int outbox_find_ticket(struct store *s, const struct outbox_remote *r, int64_t *ret_id,
                       char **ret_updated, struct ts_err *err)
{
	*ret_id = 0;
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
			*ret_updated = ts_strdup(store_col_text(st, 1));
		} else if (rc != SQLITE_DONE) {
			rc = store_fail(s, "find ticket", err);
			sqlite3_reset(st);
			return rc;
		}
		sqlite3_reset(st);
	}
	return 0;
}

int outbox_apply_remote(struct store *s, const struct outbox_remote *r, const char *source,
                        const char *now, struct outbox_apply *ret, struct ts_err *err)
{
	struct outbox_apply res = {0};
	int64_t ticket;
	char *stored_updated = NULL;
	int rc = outbox_find_ticket(s, r, &ticket, &stored_updated, err);
	if (rc < 0 || ticket == 0)
		goto out;
	res.matched = true;
	if (r->updated && stored_updated && strcmp(r->updated, stored_updated) == 0) {
		res.duplicate = true;
		goto out;
	}
	sqlite3_stmt *st = store_prepare(s, SQL_TICKET_REMOTE);
	if (!st) {
		rc = store_fail(s, "update ticket", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, ticket);
	store_bind_text(st, 2, r->key);
	store_bind_text(st, 3, r->id);
	store_bind_text(st, 4, r->url);
	store_bind_text(st, 5, r->status);
	store_bind_text(st, 6, r->status_category);
	store_bind_text(st, 7, r->updated);
	store_bind_text(st, 8, now);
	if ((rc = exec_done(s, st, "update ticket", err)) < 0)
		goto out;
	const char *to =
	    r->task_status ? r->task_status : outbox_status_for(r->status_category, r->resolution);
	if (!to)
		goto out;
	struct task_row *tasks;
	size_t n;
	rc = load_tasks(s, ticket, &tasks, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct task_row *t = &tasks[i];
		if (!outbox_tracker_owned(t->status, t->tracker_acceptance) ||
		    strcmp(t->status, to) == 0)
			continue;
		rc = change_task(s, t, ticket, to, r, source, NULL, now, err);
		if (rc == 0)
			res.changed++;
	}
	free_tasks(tasks, n);
out:
	free(stored_updated);
	if (ret)
		*ret = res;
	return rc;
}

/* ------------------------------------------------------------ cursors */

int outbox_cursor_get(struct store *s, const char *connector, const char *scope, char **ret_cursor,
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
		*ret_cursor = ts_strdup(store_col_text(st, 0));
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "read poll cursor", err);
	return 0;
}

int outbox_cursor_set(struct store *s, const char *connector, const char *scope, const char *cursor,
                      const char *now, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CURSOR_SET);
	if (!st)
		return store_fail(s, "store poll cursor", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, scope);
	store_bind_text(st, 3, cursor ? cursor : "");
	store_bind_text(st, 4, now);
	return exec_done(s, st, "store poll cursor", err);
}

int outbox_has_due(struct store *s, const char *connector, int64_t now_ms, bool *ret_due,
                   struct ts_err *err)
{
	*ret_due = false;
	sqlite3_stmt *st = store_prepare(s, SQL_HAS_DUE);
	if (!st)
		return store_fail(s, "check outbox", err);
	store_bind_text(st, 1, connector);
	sqlite3_bind_int64(st, 2, now_ms);
	int r = sqlite3_step(st);
	*ret_due = r == SQLITE_ROW;
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "check outbox", err);
	return 0;
}

/* ------------------------------------------------------------ status */

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
		json_t *e = json_pack("{s:I, s:s, s:s?, s:s, s:i, s:s?, s:s}", "id",
		                      (json_int_t)sqlite3_column_int64(st, 0), "op", store_col_text(st, 1),
		                      "task", store_col_text(st, 2), "connector", store_col_text(st, 3), "attempts",
		                      sqlite3_column_int(st, 4), "last_error", store_col_text(st, 5),
		                      "updated_at", store_col_text(st, 6));
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
	json_t *tasks = json_object(), *outbox = json_object();
	json_t *dead = json_array(), *failing = json_array();
	json_t *doc = json_pack("{s:s, s:o, s:o, s:o, s:o}", "project", slug, "tasks", tasks,
	                        "outbox", outbox, "dead", dead, "failing", failing);
	json_int_t total = 0, linked = 0;
	int rc = counts(s, SQL_TASKS_BY_STATUS, id, tasks, &total, err);
	if (rc == 0)
		rc = counts(s, SQL_OUTBOX_BY_STATE, id, outbox, NULL, err);
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
			cur =
			    json_pack("{s:s, s:n, s:[]}", "connector", name, "last_poll", "scopes");
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
		                      json_pack("{s:s, s:s, s:s}", "scope", store_col_text(st, 1), "cursor",
		                                store_col_text(st, 2), "updated_at", at));
		const char *last = json_string_value(json_object_get(cur, "last_poll"));
		if (!last || strcmp(at, last) > 0)
			json_object_set_new(cur, "last_poll", json_string(at));
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "read poll cursors", err);
	return 0;
}

int outbox_status_json(struct store *s, const char *slug, json_t **ret_doc, struct ts_err *err)
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
		json_array_append_new(
		    ids, json_pack("[I, s]", (json_int_t)sqlite3_column_int64(st, 0), store_col_text(st, 1)));
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(ids);
		rc = store_fail(s, "list projects", err);
		goto fail;
	}
	if (slug && json_array_size(ids) == 0) {
		json_decref(ids);
		rc = ts_err_set(err, TS_E_NOTFOUND, "no project '%s' (threatsync project list)", slug);
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
	if (rc < 0)
		goto fail;
	*ret_doc = doc;
	return 0;
fail:
	json_decref(doc);
	return rc;
}
