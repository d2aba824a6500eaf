/* SPDX-License-Identifier: Apache-2.0 */
/* Reconciliation decisions for one ticket, in the store. */
#include "engine/tracking/reconcile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tracking/task_status.h"
#include "engine/tracking/ticket.h"
#include "engine/tracking/webhook.h"

static const char SQL_TICKETS[] =
    "SELECT t.id, t.remote_key, t.marker FROM tickets t WHERE t.connector = ?1 AND t.id > ?2"
    " AND t.remote_key IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM countermeasures c WHERE c.ticket_id = t.id)"
    " ORDER BY t.id LIMIT ?3";
/* Local changes only: what the tracker caused (poll, webhook, reconcile) is
 * not a local change time. */
static const char SQL_TASKS[] =
    "SELECT c.id, c.project_id, c.status, c.state, c.in_scope,"
    " EXISTS (SELECT 1 FROM overrides o WHERE o.project_id = c.project_id"
    " AND o.target_kind = 'countermeasure' AND o.target_uid = c.uid AND o.kind = c.status"
    " AND o.revoked_at IS NULL AND json_extract(o.payload, '$.source') = 'tracker'),"
    " (SELECT max(h.recorded_at) FROM status_history h WHERE h.countermeasure_id = c.id"
    " AND h.source NOT IN ('poll', 'webhook', 'reconcile')),"
    " (SELECT max(o.created_at) FROM outbox o WHERE o.countermeasure_id = c.id"
    " AND o.op IN ('create', 'close', 'reopen')),"
    " (SELECT o.op FROM outbox o WHERE o.countermeasure_id = c.id"
    " AND o.op IN ('close', 'reopen') AND o.state IN ('pending', 'inflight', 'failed')"
    " ORDER BY o.id DESC LIMIT 1),"
    " t.connector"
    " FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id WHERE c.ticket_id = ?1"
    " ORDER BY c.id";

void reconcile_tickets_free(struct reconcile_ticket *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].marker);
	}
	free(v);
}

int reconcile_tickets(struct store *s, const char *connector, int64_t after, size_t limit,
                      struct reconcile_ticket **ret, size_t *ret_n, struct ts_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	if (limit == 0)
		return 0;
	sqlite3_stmt *st = store_prepare(s, SQL_TICKETS);
	if (!st)
		return store_fail(s, "list linked tickets", err);
	store_bind_text(st, 1, connector);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	struct reconcile_ticket *v = ts_calloc(limit, sizeof(*v));
	size_t n = 0;
	int r;
	while (n < limit && (r = sqlite3_step(st)) == SQLITE_ROW) {
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].key = ts_strdup(store_col_text(st, 1));
		v[n].marker = ts_strdup(store_col_text(st, 2));
		n++;
	}
	if (n < limit && r != SQLITE_DONE) {
		int rc = store_fail(s, "list linked tickets", err);
		sqlite3_reset(st);
		reconcile_tickets_free(v, n);
		return rc;
	}
	sqlite3_reset(st);
	if (n == 0) {
		free(v);
		return 0;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

struct rtask {
	int64_t id, project_id;
	char *status, *state;
	bool in_scope, tracker_set;
	char *hist_at, *op_at, *pending_op, *connector;
};

static void rtasks_free(struct rtask *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].status);
		free(v[i].state);
		free(v[i].hist_at);
		free(v[i].op_at);
		free(v[i].pending_op);
		free(v[i].connector);
	}
	free(v);
}

static int load(struct store *s, int64_t ticket, struct rtask **ret, size_t *ret_n,
                struct ts_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, SQL_TASKS);
	if (!st)
		return store_fail(s, "load tasks of ticket", err);
	sqlite3_bind_int64(st, 1, ticket);
	struct rtask *v = NULL;
	size_t n = 0, cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			v = ts_realloc(v, cap * sizeof(*v));
		}
		v[n] = (struct rtask){
		    .id = sqlite3_column_int64(st, 0),
		    .project_id = sqlite3_column_int64(st, 1),
		    .status = ts_strdup(store_col_text(st, 2)),
		    .state = ts_strdup(store_col_text(st, 3)),
		    .in_scope = sqlite3_column_int(st, 4) != 0,
		    .tracker_set = sqlite3_column_int(st, 5) != 0,
		    .hist_at = ts_strdup(store_col_text(st, 6)),
		    .op_at = ts_strdup(store_col_text(st, 7)),
		    .pending_op = ts_strdup(store_col_text(st, 8)),
		    .connector = ts_strdup(store_col_text(st, 9)),
		};
		n++;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		rtasks_free(v, n);
		return store_fail(s, "load tasks of ticket", err);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The later of two ISO times (either may be NULL). Borrowed. */
static const char *later(const char *a, const char *b)
{
	int cmp;
	if (!a)
		return b;
	if (!b)
		return a;
	if (webhook_time_cmp(a, b, &cmp) < 0)
		return strcmp(a, b) >= 0 ? a : b;
	return cmp >= 0 ? a : b;
}

static int queue(struct store *s, const struct rtask *t, int64_t ticket, const char *op,
                 const char *reason, const char *now, struct ts_err *err)
{
	json_t *payload = json_pack("{s:s, s:s}", "reason", reason, "source", "reconcile");
	if (strcmp(op, "create") == 0)
		json_object_set_new(payload, OUTBOX_UNKNOWN_KEY, json_true());
	char *p = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(payload);
	struct outbox_entry e = {.project_id = t->project_id,
	                         .connector = t->connector,
	                         .op = op,
	                         .countermeasure_id = t->id,
	                         .ticket_id = ticket,
	                         .payload = p};
	int rc = outbox_enqueue(s, &e, now, err);
	free(p);
	return rc;
}

/* The local side of t is newer (or threatsync's to decide): queue the
 * operation that makes the ticket agree, unless one is pending. */
static int local_wins(struct store *s, const struct rtask *t, int64_t ticket,
                      const struct outbox_remote *r, const char *remote_to, bool want_open,
                      const char *local_at, const char *now, struct reconcile_outcome *o,
                      struct ts_err *err)
{
	const char *op = want_open ? "reopen" : "close";
	o->local_won++;
	if (t->pending_op && strcmp(t->pending_op, op) == 0)
		return 0;
	char reason[600];
	snprintf(reason, sizeof(reason),
	         "reconcile: %s is '%s' on the tracker (updated %s) but the task is %s%s (changed "
	         "%s): %s queued again",
	         r->key ? r->key : "the ticket", r->status ? r->status : "?",
	         r->updated ? r->updated : "?", t->status,
	         strcmp(t->state, "active") != 0 ? ", removed"
	         : !t->in_scope                  ? ", out of scope"
	                                         : "",
	         local_at ? local_at : "by threatsync", op);
	int rc = queue(s, t, ticket, op, reason, now, err);
	/* The task keeps its status: the row records the decision. */
	struct task_status_change h = {.countermeasure_id = t->id,
	                               .ticket_id = ticket,
	                               .from = remote_to,
	                               .to = t->status,
	                               .source = "reconcile",
	                               .remote_time = r->updated,
	                               .reason = reason};
	if (rc == 0)
		rc = task_status_history(s, &h, now, err);
	if (rc == 0)
		o->queued++;
	return rc;
}

/* The tracker's newer state wins: the task takes its mapped status. */
static int take_remote(struct store *s, const struct rtask *t, int64_t ticket, const char *to,
                       const struct outbox_remote *r, const char *why, const char *now,
                       struct ts_err *err)
{
	struct task_status_change c = {.countermeasure_id = t->id,
	                               .ticket_id = ticket,
	                               .from = t->status,
	                               .to = to,
	                               .source = "reconcile",
	                               .reason = why,
	                               .tracker = r};
	return task_status_set(s, &c, now, err);
}

int reconcile_apply(struct store *s, const struct fieldmap *fm, int64_t ticket_id,
                    const struct outbox_remote *r, const char *now, struct reconcile_outcome *ret,
                    struct ts_err *err)
{
	struct reconcile_outcome o = {0};
	int rc = ticket_remote_store(s, ticket_id, r, now, err);
	if (rc < 0)
		return rc;
	const char *remote_to = task_status_map(fm, r->status, r->status_category, r->resolution);
	bool remote_open = r->status_category ? strcmp(r->status_category, "done") != 0
	                                      : task_status_open(remote_to);
	struct rtask *tasks;
	size_t n;
	if ((rc = load(s, ticket_id, &tasks, &n, err)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct rtask *t = &tasks[i];
		bool live = strcmp(t->state, "active") == 0 && t->in_scope;
		bool local_open = live && task_status_open(t->status);
		bool owned = live && task_status_tracker_owned(t->status, t->tracker_set);
		const char *local_at = later(t->hist_at, t->op_at);
		/* Whether the tracker's state is the more recent one. */
		int cmp = 0;
		bool remote_newer;
		if (!local_at)
			remote_newer = true;
		else if (!r->updated)
			remote_newer = false;
		else
			remote_newer = webhook_time_cmp(r->updated, local_at, &cmp) == 0 && cmp > 0;
		if (remote_open == local_open) {
			/* Same side: only a status the tracker owns can differ
			 * (todo/in_progress, done/risk accepted there). */
			if (owned && remote_to && strcmp(t->status, remote_to) != 0 &&
			    remote_newer) {
				rc = take_remote(s, t, ticket_id, remote_to, r, NULL, now, err);
				o.remote_won++;
			} else {
				o.in_sync++;
			}
			continue;
		}
		if (owned && remote_newer && remote_to) {
			char *why = NULL;
			if (strcmp(remote_to, "risk_accepted") != 0 &&
			    strcmp(remote_to, "not_applicable") != 0)
				why = ts_asprintf(
				    "reconcile: %s is '%s' on the tracker (updated %s), "
				    "newer than the task's last change (%s)",
				    r->key ? r->key : "the ticket", r->status ? r->status : "?",
				    r->updated, local_at ? local_at : "none");
			rc = take_remote(s, t, ticket_id, remote_to, r, why, now, err);
			free(why);
			o.remote_won++;
			continue;
		}
		rc = local_wins(s, t, ticket_id, r, remote_to, local_open, local_at, now, &o, err);
	}
	rtasks_free(tasks, n);
	if (rc == 0 && ret)
		*ret = o;
	return rc;
}

int reconcile_vanished(struct store *s, int64_t ticket_id, bool recreate, const char *now,
                       int *ret_queued, struct ts_err *err)
{
	if (ret_queued)
		*ret_queued = 0;
	if (!recreate)
		return 0;
	struct rtask *tasks;
	size_t n;
	int rc = load(s, ticket_id, &tasks, &n, err);
	if (rc < 0)
		return rc;
	int queued = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct rtask *t = &tasks[i];
		if (strcmp(t->state, "active") != 0 || !t->in_scope || !task_status_open(t->status))
			continue;
		if ((rc = ticket_link_task(s, t->id, 0, err)) < 0)
			break;
		rc = queue(s, t, 0, "create",
		           "reconcile --recreate: the ticket vanished from the tracker (404)", now,
		           err);
		if (rc == 0)
			queued++;
	}
	rtasks_free(tasks, n);
	if (rc == 0 && ret_queued)
		*ret_queued = queued;
	return rc;
}
