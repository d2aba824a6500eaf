/* SPDX-License-Identifier: Apache-2.0 */
/* The outbox queue in the store: enqueue, claim, and each row's outcome. */
#include "engine/tracking/outbox.h"

#include <stdlib.h>
#include <string.h>

#include "engine/tracking/ticket.h"

#define ENQUEUE_INSERT                                                                       \
	"INSERT INTO outbox(project_id, connector, op, countermeasure_id, ticket_id, payload,"   \
	" state, attempts, next_attempt_at, created_at, updated_at) VALUES "
#define ENQUEUE_COLS 11
static const char SQL_ENQUEUE[] = ENQUEUE_INSERT "(?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, 0, ?7, ?7)";
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
    " AND (?4 IS NULL OR p.slug NOT IN (SELECT value FROM json_each(?4)))"
    " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.countermeasure_id = o.countermeasure_id"
    " AND e.id < o.id AND e.state IN ('pending', 'inflight', 'failed'))"
    " ORDER BY o.next_attempt_at, o.id LIMIT ?3";
static const char SQL_SET_INFLIGHT[] =
    "UPDATE outbox SET state = 'inflight', updated_at = ?2 WHERE id = ?1";
static const char SQL_DONE[] =
    "UPDATE outbox SET state = 'done', last_error = ?2,"
    " payload = json_remove(CASE WHEN json_valid(payload) THEN payload ELSE '{}' END,"
    " '$." OUTBOX_UNKNOWN_KEY "'), ticket_id = COALESCE(?3, ticket_id), updated_at = ?4"
    " WHERE id = ?1";
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
/* A connector paused as a whole (engine/tracking/pause.h) has nothing due:
 * its rows wait for the probe, which pause_probe_due schedules. */
static const char SQL_HAS_DUE[] =
    "SELECT 1 FROM outbox WHERE (?1 IS NULL OR connector = ?1)"
    " AND state IN ('pending', 'failed') AND next_attempt_at <= ?2"
    " AND connector NOT IN (SELECT connector FROM connector_pauses WHERE scope = '') LIMIT 1";
/* outbox retry: failed rows due now; with dead rows (?3), those pending
 * again with their attempts reset. */
static const char SQL_RETRY_FAILED[] =
    "UPDATE outbox SET next_attempt_at = 0, updated_at = ?2 WHERE state = 'failed'"
    " AND (?1 IS NULL OR project_id = ?1)";
static const char SQL_RETRY_DEAD[] =
    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = 0, updated_at = ?2"
    " WHERE state = 'dead' AND (?1 IS NULL OR project_id = ?1)";
static const char SQL_PROJECT_ID[] = "SELECT id FROM projects WHERE slug = ?1";

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

int outbox_enqueue(struct store *s, const struct outbox_entry *e, const char *now,
                   struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_ENQUEUE);
	if (!st)
		return store_fail(s, "queue ticket operation", err);
	const char *payload = e->payload ? e->payload : "{}";
	size_t len = e->payload ? e->payload_len : 2;
	sqlite3_bind_int64(st, 1, e->project_id);
	store_bind_static(st, 2, e->connector);
	store_bind_static(st, 3, e->op);
	store_bind_id(st, 4, e->countermeasure_id);
	store_bind_id(st, 5, e->ticket_id);
	sqlite3_bind_text(st, 6, payload, len ? (int)len : -1, SQLITE_STATIC);
	store_bind_static(st, 7, now);
	int rc = store_step_done(s, st, "queue ticket operation", err);
	/* The bindings point at the caller's strings: drop them before it
	 * frees or reuses them. */
	sqlite3_clear_bindings(st);
	return rc;
}

struct rowbatch *outbox_batch(void)
{
	return rowbatch_new(ENQUEUE_INSERT, "", ENQUEUE_COLS, "queue ticket operation");
}

void outbox_queue(struct rowbatch *b, const struct outbox_entry *e, const char *now)
{
	rowbatch_int(b, e->project_id);
	rowbatch_text(b, e->connector);
	rowbatch_text(b, e->op);
	rowbatch_id(b, e->countermeasure_id);
	rowbatch_id(b, e->ticket_id);
	if (e->payload)
		rowbatch_textn(b, e->payload, e->payload_len ? e->payload_len : strlen(e->payload));
	else
		rowbatch_text(b, "{}");
	rowbatch_text(b, "pending");
	rowbatch_int(b, 0);
	rowbatch_int(b, 0);
	rowbatch_text(b, now);
	rowbatch_text(b, now);
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
	int rc = store_step_done(s, st, "recover outbox", err);
	if (rc == 0 && ret_n)
		*ret_n = sqlite3_changes(store_db(s));
	return rc;
}

struct claim {
	const char *connector;
	const char *skip;
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
	store_bind_text(st, 4, c->skip);
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
		sqlite3_clear_bindings(st);
		return rc;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (size_t i = 0; i < c->n; i++) {
		st = store_prepare(s, SQL_SET_INFLIGHT);
		if (!st)
			return store_fail(s, "claim outbox rows", err);
		sqlite3_bind_int64(st, 1, c->ops[i].id);
		store_bind_text(st, 2, c->now);
		int rc = store_step_done(s, st, "claim outbox rows", err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int outbox_claim(struct store *s, const char *connector, int64_t now_ms, size_t limit,
                 const char *now, struct outbox_op **ret_ops, size_t *ret_n, struct ts_err *err)
{
	return outbox_claim_except(s, connector, NULL, now_ms, limit, now, ret_ops, ret_n, err);
}

int outbox_claim_except(struct store *s, const char *connector, const char *skip_projects,
                        int64_t now_ms, size_t limit, const char *now, struct outbox_op **ret_ops,
                        size_t *ret_n, struct ts_err *err)
{
	*ret_ops = NULL;
	*ret_n = 0;
	if (limit == 0)
		return 0;
	struct claim c = {connector, skip_projects, now_ms, limit, now, NULL, 0};
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
	int rc = ticket_upsert(s, l->op->project_id, l->op->connector, l->marker, l->r,
	                       l->content_hash, l->now, &l->ticket, err);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st;
	if (l->op->countermeasure_id > 0) {
		if ((rc = ticket_link_task(s, l->op->countermeasure_id, l->ticket, err)) < 0)
			return rc;
	}
	st = store_prepare(s, SQL_DONE);
	if (!st)
		return store_fail(s, "complete outbox row", err);
	sqlite3_bind_int64(st, 1, l->op->id);
	sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, l->ticket);
	store_bind_text(st, 4, l->now);
	return store_step_done(s, st, "complete outbox row", err);
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
	if (c->op->ticket_id > 0 && (c->content_hash || c->seen) &&
	    (rc = ticket_seen(s, c->op->ticket_id, c->content_hash, c->seen, c->now, err)) < 0)
		return rc;
	sqlite3_stmt *st = store_prepare(s, SQL_DONE);
	if (!st)
		return store_fail(s, "complete outbox row", err);
	sqlite3_bind_int64(st, 1, c->op->id);
	store_bind_text(st, 2, c->note);
	store_bind_id(st, 3, c->op->ticket_id);
	store_bind_text(st, 4, c->now);
	return store_step_done(s, st, "complete outbox row", err);
}

int outbox_complete(struct store *s, const struct outbox_op *op, const char *content_hash,
                    const struct outbox_remote *seen, const char *note, const char *now,
                    struct ts_err *err)
{
	struct complete c = {op, content_hash, seen, note, now};
	return in_tx(s, "complete outbox row", err, complete_tx, &c);
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
	return store_step_done(s, st, "release outbox row", err);
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
	return store_step_done(s, st, "mark outbox row dead", err);
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


struct retry {
	const char *slug;
	bool dead;
	const char *now;
	int n_failed, n_dead;
};

static int retry_step(struct store *s, const char *sql, int64_t project, const char *now,
                      int *ret_n, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	if (!st)
		return store_fail(s, "re-queue outbox rows", err);
	store_bind_id(st, 1, project);
	store_bind_text(st, 2, now);
	int rc = store_step_done(s, st, "re-queue outbox rows", err);
	if (rc == 0)
		*ret_n = sqlite3_changes(store_db(s));
	return rc;
}

static int retry_tx(struct store *s, void *arg, struct ts_err *err)
{
	struct retry *r = arg;
	int64_t project = 0;
	if (r->slug) {
		sqlite3_stmt *st = store_prepare(s, SQL_PROJECT_ID);
		if (!st)
			return store_fail(s, "re-queue outbox rows", err);
		store_bind_text(st, 1, r->slug);
		int q = sqlite3_step(st);
		if (q == SQLITE_ROW)
			project = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (q != SQLITE_ROW && q != SQLITE_DONE)
			return store_fail(s, "re-queue outbox rows", err);
		if (project == 0)
			return ts_err_set(err, TS_E_NOTFOUND,
			                  "no project '%s' (threatsync project list)", r->slug);
	}
	int rc = retry_step(s, SQL_RETRY_FAILED, project, r->now, &r->n_failed, err);
	if (rc == 0 && r->dead)
		rc = retry_step(s, SQL_RETRY_DEAD, project, r->now, &r->n_dead, err);
	return rc;
}

int outbox_retry(struct store *s, const char *slug, bool dead, const char *now,
                 int *ret_failed, int *ret_dead, struct ts_err *err)
{
	struct retry r = {slug, dead, now, 0, 0};
	int rc = in_tx(s, "re-queue outbox rows", err, retry_tx, &r);
	if (rc < 0)
		return rc;
	if (ret_failed)
		*ret_failed = r.n_failed;
	if (ret_dead)
		*ret_dead = r.n_dead;
	return 0;
}
