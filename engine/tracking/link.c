/* SPDX-License-Identifier: Apache-2.0 */
/* Adopts an existing tracker ticket for a task: checks, ticket row, link,
 * cancelled creates and the update that puts the marker on it. */
#include "engine/tracking/link.h"

#include <stdlib.h>
#include <string.h>

#include "engine/generate/generate.h"
#include "engine/tracking/marker.h"
#include "engine/tracking/ticket.h"

static const char SQL_PROJECT[] = "SELECT id FROM projects WHERE slug = ?1";
static const char SQL_TASK[] =
    "SELECT c.id, t.remote_key, coalesce(c.marker_key, c.uid) FROM countermeasures c"
    " LEFT JOIN tickets t ON t.id = c.ticket_id"
    " WHERE c.project_id = ?1 AND c.uid = ?2";
static const char SQL_KEY_OWNER[] =
    "SELECT t.marker, (SELECT group_concat(c.uid, ', ') FROM countermeasures c"
    " WHERE c.ticket_id = t.id) FROM tickets t WHERE t.connector = ?1 AND t.remote_key = ?2";
static const char SQL_MARKER_KEY[] =
    "SELECT remote_key FROM tickets WHERE connector = ?1 AND marker = ?2";
static const char SQL_CREATE_INFLIGHT[] =
    "SELECT count(*) FROM outbox WHERE countermeasure_id = ?1 AND op = 'create'"
    " AND state = 'inflight'";
static const char SQL_CANCEL_CREATES[] =
    "UPDATE outbox SET state = 'done', last_error = ?2, updated_at = ?3"
    " WHERE countermeasure_id = ?1 AND op = 'create' AND state IN ('pending', 'failed', 'dead')";

void link_task_clear(struct link_task *t)
{
	free(t->slug);
	free(t->uid);
	free(t->ticket_key);
	memset(t, 0, sizeof(*t));
}

int link_task_find(struct store *s, const char *slug, const char *uid, struct link_task *ret,
                   struct ts_err *err)
{
	memset(ret, 0, sizeof(*ret));
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECT);
	if (!st)
		return store_fail(s, "find project", err);
	store_bind_text(st, 1, slug);
	int r = sqlite3_step(st);
	int64_t project = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "find project", err);
	if (project == 0)
		return ts_err_set(err, TS_E_NOTFOUND, "no project '%s' (threatsync project list)",
		                  slug);
	st = store_prepare(s, SQL_TASK);
	if (!st)
		return store_fail(s, "find task", err);
	sqlite3_bind_int64(st, 1, project);
	store_bind_text(st, 2, uid);
	r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		int rc =
		    r == SQLITE_DONE
		        ? ts_err_set(err, TS_E_INVALID,
		                     "no task '%s' in project '%s': `threatsync countermeasures "
		                     "%s --all` lists the task ids",
		                     uid, slug, slug)
		        : store_fail(s, "find task", err);
		sqlite3_reset(st);
		return rc;
	}
	ret->project_id = project;
	ret->countermeasure_id = sqlite3_column_int64(st, 0);
	ret->ticket_key = ts_strdup(store_col_text(st, 1));
	/* A task renamed by a library merge keeps the marker of its first uid. */
	marker_make(slug, store_col_text(st, 2), ret->marker);
	sqlite3_reset(st);
	ret->slug = ts_strdup(slug);
	ret->uid = ts_strdup(uid);
	return 0;
}

int link_check(struct store *s, const struct link_task *t, const char *connector, const char *key,
               struct ts_err *err)
{
	if (t->ticket_key && strcmp(t->ticket_key, key) != 0)
		return ts_err_set(err, TS_E_INVALID,
		                  "task '%s' of project '%s' already has ticket %s: a task has one "
		                  "ticket",
		                  t->uid, t->slug, t->ticket_key);
	sqlite3_stmt *st = store_prepare(s, SQL_KEY_OWNER);
	if (!st)
		return store_fail(s, "find ticket", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, key);
	int r = sqlite3_step(st);
	int rc = 0;
	if (r == SQLITE_ROW && strcmp(store_col_text(st, 0), t->marker) != 0) {
		const char *tasks = store_col_text(st, 1);
		rc = tasks ? ts_err_set(err, TS_E_INVALID,
		                        "ticket %s is already linked to task %s (connector %s)",
		                        key, tasks, connector)
		           : ts_err_set(err, TS_E_INVALID,
		                        "ticket %s is already recorded under marker %s "
		                        "(connector %s)",
		                        key, store_col_text(st, 0), connector);
	} else if (r != SQLITE_ROW && r != SQLITE_DONE) {
		rc = store_fail(s, "find ticket", err);
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	st = store_prepare(s, SQL_MARKER_KEY);
	if (!st)
		return store_fail(s, "find ticket", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, t->marker);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && store_col_text(st, 0) && strcmp(store_col_text(st, 0), key) != 0)
		rc = ts_err_set(err, TS_E_INVALID,
		                "the marker %s of task '%s' is already recorded for ticket %s "
		                "(connector %s)",
		                t->marker, t->uid, store_col_text(st, 0), connector);
	else if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = store_fail(s, "find ticket", err);
	sqlite3_reset(st);
	return rc;
}

static int adopt_tx(struct store *s, const struct fieldmap *fm, const struct link_task *t,
                    const struct outbox_remote *r, const char *now, struct link_result *res,
                    struct ts_err *err)
{
	int rc = link_check(s, t, r->connector, r->key, err);
	if (rc < 0)
		return rc;
	res->already = t->ticket_key != NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_CREATE_INFLIGHT);
	if (!st)
		return store_fail(s, "check outbox", err);
	sqlite3_bind_int64(st, 1, t->countermeasure_id);
	int q = sqlite3_step(st);
	int inflight = q == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_reset(st);
	if (q != SQLITE_ROW)
		return store_fail(s, "check outbox", err);
	if (inflight > 0)
		return ts_err_set(err, TS_E_BUSY,
		                  "a sync pass is creating the ticket of task '%s' right now: run "
		                  "`threatsync status %s` and try again once it is done",
		                  t->uid, t->slug);

	/* The ticket's identity only: its status is applied below, as a
	 * change, so it reaches the task. */
	struct outbox_remote ident = {.key = r->key, .id = r->id, .url = r->url};
	int64_t ticket;
	rc = ticket_upsert(s, t->project_id, r->connector, t->marker, &ident, NULL, now, &ticket,
	                   err);
	if (rc < 0)
		return rc;

	if ((rc = ticket_link_task(s, t->countermeasure_id, ticket, err)) < 0)
		return rc;

	st = store_prepare(s, SQL_CANCEL_CREATES);
	if (!st)
		return store_fail(s, "cancel create", err);
	char *note = ts_asprintf("cancelled: ticket %s adopted with threatsync link", r->key);
	sqlite3_bind_int64(st, 1, t->countermeasure_id);
	store_bind_text(st, 2, note);
	store_bind_text(st, 3, now);
	free(note);
	if ((rc = store_step_done(s, st, "cancel create", err)) < 0)
		return rc;
	res->creates_cancelled = sqlite3_changes(store_db(s));

	static const char reason[] = "{\"reason\":\"adopted with threatsync link\"}";
	struct outbox_entry e = {.project_id = t->project_id,
	                         .connector = r->connector,
	                         .op = "update",
	                         .countermeasure_id = t->countermeasure_id,
	                         .ticket_id = ticket,
	                         .payload = reason};
	if ((rc = outbox_enqueue(s, &e, now, err)) < 0)
		return rc;

	/* The ticket's own status now speaks for the task. */
	struct outbox_remote o = *r;
	o.marker = t->marker;
	struct outbox_apply applied;
	rc = outbox_apply_remote(s, fm, &o, "cli", now, &applied, err);
	if (rc == 0)
		res->changed = applied.changed;
	return rc;
}

int link_adopt(struct store *s, const struct fieldmap *fm, const struct link_task *t,
               const struct outbox_remote *r, const char *now, struct link_result *ret,
               struct ts_err *err)
{
	struct link_result res = {0};
	if (!r->connector || !r->key || !*r->key)
		return ts_err_set(err, TS_E_INTERNAL, "link: the tracker returned no ticket key");
	int rc = store_begin(s);
	if (rc < 0)
		return store_fail(s, "link ticket", err);
	rc = adopt_tx(s, fm, t, r, now, &res, err);
	if (rc == 0 && (rc = store_commit(s)) < 0)
		rc = store_fail(s, "link ticket", err);
	if (rc < 0) {
		store_rollback(s);
		return rc;
	}
	if (ret)
		*ret = res;
	return 0;
}
