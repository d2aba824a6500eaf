/* SPDX-License-Identifier: Apache-2.0 */
/* Task status rules and the one writer of a task's status and history. */
#include "engine/tracking/task_status.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/tracking/override.h"

static const char SQL_TASK_REF[] = "SELECT project_id, uid FROM countermeasures WHERE id = ?1";
static const char SQL_SET_STATUS[] =
    "UPDATE countermeasures SET status = ?2, satisfied_by = NULL, updated_at = ?3 WHERE id = ?1";
#define HISTORY_INSERT                                                                        \
	"INSERT INTO status_history(countermeasure_id, ticket_id, from_status, to_status, source," \
	" actor, remote_time, reason, recorded_at) VALUES "
#define HISTORY_COLS 9
static const char SQL_HISTORY[] = HISTORY_INSERT "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

bool task_status_open(const char *status)
{
	return status && (strcmp(status, "todo") == 0 || strcmp(status, "in_progress") == 0);
}

bool task_status_is_override(const char *status)
{
	return status &&
	       (strcmp(status, "risk_accepted") == 0 || strcmp(status, "not_applicable") == 0);
}

bool task_status_tracker_owned(const char *status, bool tracker_set)
{
	if (!status)
		return false;
	return task_status_open(status) || strcmp(status, "done") == 0 ||
	       (task_status_is_override(status) && tracker_set);
}

static bool wont(const char *resolution)
{
	/* Jira writes the typographic apostrophe in some locales. */
	static const char *const names[] = {"Won't Do", "Won't Fix", "Won\u2019t Do",
	                                    "Won\u2019t Fix"};
	for (size_t i = 0; resolution && i < TS_ARRAY_SIZE(names); i++)
		if (strcasecmp(resolution, names[i]) == 0)
			return true;
	return false;
}

/* A status_map entry's field matches when it is not given or equal (any case). */
static bool same(const char *want, const char *have)
{
	return !want || (have && strcasecmp(want, have) == 0);
}

const char *task_status_map(const struct fieldmap *fm, const char *status, const char *category,
                            const char *resolution)
{
	for (size_t i = 0; fm && i < fm->n_statuses; i++) {
		const struct fieldmap_status *e = &fm->statuses[i];
		if (same(e->status, status) && same(e->resolution, resolution))
			return e->to;
	}
	if (wont(resolution))
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

int task_status_history(struct store *s, const struct task_status_change *c, const char *now,
                        struct ts_err *err)
{
	/* Generation records thousands of rows: a cached statement bound
	 * without copies, the bindings cleared before the strings go. */
	sqlite3_stmt *st = store_prepare(s, SQL_HISTORY);
	if (!st)
		return store_fail(s, "record status history", err);
	sqlite3_bind_int64(st, 1, c->countermeasure_id);
	store_bind_id(st, 2, c->ticket_id);
	store_bind_static(st, 3, c->from);
	store_bind_static(st, 4, c->to);
	store_bind_static(st, 5, c->source);
	store_bind_static(st, 6, c->actor ? c->actor : "");
	store_bind_static(st, 7, c->remote_time);
	store_bind_static(st, 8, c->reason);
	store_bind_static(st, 9, now);
	int rc = store_step_done(s, st, "record status history", err);
	sqlite3_clear_bindings(st);
	return rc;
}

struct rowbatch *task_status_history_batch(void)
{
	return rowbatch_new(HISTORY_INSERT, "", HISTORY_COLS, "record status history");
}

void task_status_history_queue(struct rowbatch *b, const struct task_status_change *c,
                               const char *now)
{
	rowbatch_int(b, c->countermeasure_id);
	rowbatch_id(b, c->ticket_id);
	rowbatch_text(b, c->from);
	rowbatch_text(b, c->to);
	rowbatch_text(b, c->source);
	rowbatch_text(b, c->actor ? c->actor : "");
	rowbatch_text(b, c->remote_time);
	rowbatch_text(b, c->reason);
	rowbatch_text(b, now);
}

/* Why the tracker's state gives a risk acceptance or not applicable: new. */
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

/* The override a tracker's decision stands for: recorded when the task takes
 * an override status, revoked when it leaves one. */
static int tracker_override(struct store *s, const struct task_status_change *c, const char *reason,
                            const char *now, struct ts_err *err)
{
	bool enter = task_status_is_override(c->to);
	bool leave = task_status_is_override(c->from) && strcmp(c->from, c->to) != 0;
	if (!enter && !leave)
		return 0;
	sqlite3_stmt *st = store_prepare(s, SQL_TASK_REF);
	if (!st)
		return store_fail(s, "load task", err);
	sqlite3_bind_int64(st, 1, c->countermeasure_id);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		int rc = r == SQLITE_DONE ? ts_err_set(err, TS_E_NOTFOUND, "no task with id %lld",
		                                       (long long)c->countermeasure_id)
		                          : store_fail(s, "load task", err);
		sqlite3_reset(st);
		return rc;
	}
	int64_t project = sqlite3_column_int64(st, 0);
	char *uid = store_col_dup(st, 1);
	sqlite3_reset(st);
	const struct outbox_remote *t = c->tracker;
	int rc = 0;
	if (enter) {
		json_t *payload = json_pack("{s:s, s:s?, s:s?}", "source", "tracker", "connector",
		                            t->connector, "ticket", t->key);
		char *p = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(payload);
		struct override_row o = {.project_id = project,
		                         .target_kind = "countermeasure",
		                         .target_uid = uid,
		                         .kind = c->to,
		                         .reason = reason,
		                         .author = t->actor,
		                         .payload = p};
		rc = override_insert(s, &o, now, err);
		free(p);
	}
	if (rc == 0 && leave)
		rc = override_revoke_rows(s, project, "countermeasure", uid, c->from, true, now,
		                          NULL, err);
	free(uid);
	return rc;
}

int task_status_set(struct store *s, const struct task_status_change *c, const char *now,
                    struct ts_err *err)
{
	struct task_status_change h = *c;
	char *reason = NULL;
	if (c->tracker) {
		if (!h.reason && task_status_is_override(c->to))
			h.reason = reason = acceptance_reason(c->tracker);
		if (!h.actor)
			h.actor = c->tracker->actor;
		if (!h.remote_time)
			h.remote_time = c->tracker->updated;
	}
	int rc = c->tracker ? tracker_override(s, &h, h.reason, now, err) : 0;
	if (rc < 0)
		goto out;
	sqlite3_stmt *st = store_prepare(s, SQL_SET_STATUS);
	if (!st) {
		rc = store_fail(s, "set task status", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, c->countermeasure_id);
	store_bind_text(st, 2, c->to);
	store_bind_text(st, 3, now);
	if ((rc = store_step_done(s, st, "set task status", err)) < 0)
		goto out;
	if (sqlite3_changes(store_db(s)) == 0) {
		rc = ts_err_set(err, TS_E_NOTFOUND, "no task with id %lld",
		                (long long)c->countermeasure_id);
		goto out;
	}
	rc = task_status_history(s, &h, now, err);
out:
	free(reason);
	return rc;
}
