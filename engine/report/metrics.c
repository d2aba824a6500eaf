/* SPDX-License-Identifier: Apache-2.0 */
/* Progress figures of a project and their coalesced snapshots. */
#include "engine/report/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/project.h"
#include "engine/tracking/override.h"
#include "engine/tracking/task_status.h"

static const char SQL_OVERDUE[] =
    "SELECT uid, due_date, status FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1 AND status IN " TASK_STATUS_OPEN_SQL
    " AND due_date IS NOT NULL AND substr(due_date, 1, 10) < ?2 ORDER BY uid";
/* The number of overdue tasks (as SQL_OVERDUE), from the covering index
 * countermeasures_by_status alone. */
static const char SQL_OVERDUE_COUNT[] =
    "SELECT count(*) FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1 AND status IN " TASK_STATUS_OPEN_SQL
    " AND due_date IS NOT NULL AND substr(due_date, 1, 10) < ?2";
/* Each open threat in scope with the number of its active tasks in scope and
 * of those complete (one pass over the links, not a lookup per threat). */
static const char SQL_THREAT_TASKS[] =
    "SELECT t.uid, t.severity, t.score, count(c.id),"
    " coalesce(sum(c.status IN " METRICS_COMPLETE_SQL " AND c.verification <> 'failed'), 0)"
    " FROM threats t LEFT JOIN threat_countermeasures l ON l.threat_id = t.id"
    " LEFT JOIN countermeasures c ON c.id = l.countermeasure_id AND c.state = 'active'"
    " AND c.in_scope = 1"
    " WHERE t.project_id = ?1 AND t.state = 'active' AND t.in_scope = 1"
    " GROUP BY t.id";
static const char SQL_TASKS[] =
    "SELECT status, count(*), sum(verification = 'failed') FROM countermeasures"
    " WHERE project_id = ?1 AND state = 'active' AND in_scope = 1 GROUP BY status";
static const char SQL_VERIFICATION[] =
    "SELECT verification, count(*) FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1 GROUP BY verification";
/* Days from creation to the last move to done, per task now done. */
static const char SQL_MTTR[] =
    "SELECT count(*), avg(julianday(d.at) - julianday(c.created_at)) FROM countermeasures c"
    " JOIN (SELECT countermeasure_id AS id, max(recorded_at) AS at FROM status_history"
    "  WHERE to_status = 'done' GROUP BY countermeasure_id) d ON d.id = c.id"
    " WHERE c.project_id = ?1 AND c.state = 'active' AND c.in_scope = 1"
    " AND c.status = 'done'";
static const char SQL_LATEST_SNAPSHOT[] =
    "SELECT id, taken_at, metrics, (julianday(?2) - julianday(taken_at)) * 86400.0"
    " FROM metric_snapshots WHERE project_id = ?1 ORDER BY taken_at DESC LIMIT 1";
static const char SQL_SNAPSHOT_INSERT[] =
    "INSERT INTO metric_snapshots(project_id, taken_at, metrics) VALUES (?1, ?2, ?3)";
static const char SQL_SNAPSHOT_REPLACE[] = "UPDATE metric_snapshots SET metrics = ?2 WHERE id = ?1";
static const char SQL_PROJECT_IDS[] = "SELECT id FROM projects ORDER BY id";

static const char *const severities[] = {"critical", "high", "medium", "low"};
static const char *const statuses[] = {"todo",           "in_progress",   "done",
                                       "not_applicable", "risk_accepted", "satisfied"};

static double round_to(double x, double scale)
{
	return round(x * scale) / scale;
}

static const char *clock_or(const char *now, char clock[32])
{
	if (now)
		return now;
	ts_now_iso(clock);
	return clock;
}

int metrics_overdue(struct store *s, int64_t project_id, const char *now, json_t **ret_list,
                    struct ts_err *err)
{
	char clock[32], today[11];
	snprintf(today, sizeof(today), "%.10s", clock_or(now, clock));
	*ret_list = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_OVERDUE);
	if (!st)
		return store_fail(s, "overdue tasks", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, today);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s}", "id", store_col_text(st, 0), "due_date",
		                    store_col_text(st, 1), "status", store_col_text(st, 2)));
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return store_fail(s, "overdue tasks", err);
	}
	sqlite3_reset(st);
	*ret_list = list;
	return 0;
}

/* The threat states, and with sums non-NULL the open threats' counts by
 * severity (four) and score. */
static int threat_states(struct store *s, int64_t project_id, const char *now, json_t **ret_states,
                         int sev_counts[4], double *ret_score, struct ts_err *err)
{
	if (ret_states)
		*ret_states = NULL;
	json_t *active = NULL;
	int rc = override_load_active(s, project_id, now, &active, NULL, err);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = store_prepare(s, SQL_THREAT_TASKS);
	if (!st) {
		json_decref(active);
		return store_fail(s, "threat states", err);
	}
	sqlite3_bind_int64(st, 1, project_id);
	json_t *states = ret_states ? json_object() : NULL;
	double score = 0;
	struct ts_buf key = {0};
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *uid = store_col_text(st, 0);
		bool accepted = false;
		if (json_object_size(active) > 0) {
			key.len = 0;
			ts_buf_printf(&key, "threat:%s", uid);
			accepted = json_object_get(active, key.data) != NULL;
		}
		int n = sqlite3_column_int(st, 3), complete = sqlite3_column_int(st, 4);
		const char *state = accepted                 ? "accepted"
		                    : n > 0 && complete == n ? "addressed"
		                                             : "open";
		if (states)
			json_object_set_new(states, uid, json_string(state));
		if (strcmp(state, "open") != 0)
			continue;
		score += sqlite3_column_double(st, 2);
		const char *sev = store_col_text(st, 1);
		for (size_t i = 0; sev_counts && i < TS_ARRAY_SIZE(severities); i++)
			if (strcmp(sev, severities[i]) == 0)
				sev_counts[i]++;
	}
	json_decref(active);
	ts_buf_free(&key);
	if (rc != SQLITE_DONE) {
		json_decref(states);
		return store_fail(s, "threat states", err);
	}
	sqlite3_reset(st);
	if (ret_score)
		*ret_score = score;
	if (ret_states)
		*ret_states = states;
	return 0;
}

int metrics_threat_states(struct store *s, int64_t project_id, const char *now, json_t **ret_states,
                          struct ts_err *err)
{
	return threat_states(s, project_id, now, ret_states, NULL, NULL, err);
}

int metrics_verification(struct store *s, int64_t project_id, json_t **ret_counts,
                         struct ts_err *err)
{
	*ret_counts = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_VERIFICATION);
	if (!st)
		return store_fail(s, "verification counts", err);
	sqlite3_bind_int64(st, 1, project_id);
	json_t *counts = json_pack("{s:i, s:i, s:i}", "passed", 0, "failed", 0, "untested", 0);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(counts, store_col_text(st, 0),
		                    json_integer(sqlite3_column_int(st, 1)));
	if (rc != SQLITE_DONE) {
		json_decref(counts);
		return store_fail(s, "verification counts", err);
	}
	sqlite3_reset(st);
	*ret_counts = counts;
	return 0;
}

/* Tasks by status and the failed verifications into m. */
static int task_counts(struct store *s, int64_t project_id, json_t *m, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_TASKS);
	if (!st)
		return store_fail(s, "task counts", err);
	sqlite3_bind_int64(st, 1, project_id);
	json_t *tasks = json_object();
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++)
		json_object_set_new(tasks, statuses[i], json_integer(0));
	json_object_set_new(m, "tasks", tasks);
	json_int_t failed = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object_set_new(tasks, store_col_text(st, 0),
		                    json_integer(sqlite3_column_int(st, 1)));
		failed += sqlite3_column_int(st, 2);
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "task counts", err);
	sqlite3_reset(st);
	json_object_set_new(m, "verification_failed", json_integer(failed));
	return 0;
}

static int mttr(struct store *s, int64_t project_id, json_t *m, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_MTTR);
	if (!st)
		return store_fail(s, "time to done", err);
	sqlite3_bind_int64(st, 1, project_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_fail(s, "time to done", err);
	json_t *v = sqlite3_column_int(st, 0) > 0
	                ? json_real(round_to(sqlite3_column_double(st, 1), 1000.0))
	                : json_null();
	sqlite3_reset(st);
	json_object_set_new(m, "mttr_days", v);
	return 0;
}

int metrics_compute(struct store *s, int64_t project_id, const char *now, json_t **ret_metrics,
                    struct ts_err *err)
{
	char clock[32];
	now = clock_or(now, clock);
	*ret_metrics = NULL;
	int sev[4] = {0};
	double score = 0;
	int rc = threat_states(s, project_id, now, NULL, sev, &score, err);
	if (rc < 0)
		return rc;
	json_t *m = json_object();
	json_t *open = json_object();
	for (size_t i = 0; i < TS_ARRAY_SIZE(severities); i++)
		json_object_set_new(open, severities[i], json_integer(sev[i]));
	json_object_set_new(m, "threats_open", open);
	json_object_set_new(m, "risk_score", json_real(round_to(score, 100.0)));
	if ((rc = task_counts(s, project_id, m, err)) < 0)
		goto fail;
	char today[11];
	snprintf(today, sizeof(today), "%.10s", now);
	sqlite3_stmt *st = store_prepare(s, SQL_OVERDUE_COUNT);
	if (!st) {
		rc = store_fail(s, "overdue tasks", err);
		goto fail;
	}
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, today);
	rc = sqlite3_step(st);
	json_int_t n_overdue = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		rc = store_fail(s, "overdue tasks", err);
		goto fail;
	}
	json_object_set_new(m, "overdue", json_integer(n_overdue));
	if ((rc = mttr(s, project_id, m, err)) < 0)
		goto fail;
	*ret_metrics = m;
	return 0;
fail:
	json_decref(m);
	return rc;
}

/* Writes the snapshot; the caller holds the unit of work. */
static int snapshot_write(struct store *s, int64_t project_id, const char *now, int *ret_written,
                          struct ts_err *err)
{
	json_t *m = NULL;
	int rc = metrics_compute(s, project_id, now, &m, err);
	if (rc < 0)
		return rc;
	char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	json_decref(m);
	sqlite3_stmt *st = store_prepare(s, SQL_LATEST_SNAPSHOT);
	if (!st) {
		free(text);
		return store_fail(s, "latest metrics snapshot", err);
	}
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, now);
	int64_t last_id = 0;
	int action = 1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		last_id = sqlite3_column_int64(st, 0);
		bool same_day = strncmp(store_col_text(st, 1), now, 10) == 0;
		bool same = strcmp(store_col_text(st, 2), text) == 0;
		if (sqlite3_column_double(st, 3) < METRICS_COALESCE_S)
			action = same ? 0 : 2;
		else if (same && same_day)
			action = 0;
	} else if (rc != SQLITE_DONE) {
		free(text);
		return store_fail(s, "latest metrics snapshot", err);
	}
	sqlite3_reset(st);
	rc = 0;
	if (action == 1) {
		st = store_prepare(s, SQL_SNAPSHOT_INSERT);
		if (!st) {
			rc = store_fail(s, "metrics snapshot", err);
		} else {
			sqlite3_bind_int64(st, 1, project_id);
			store_bind_text(st, 2, now);
			store_bind_text(st, 3, text);
			rc = store_step_done(s, st, "metrics snapshot", err);
		}
	} else if (action == 2) {
		st = store_prepare(s, SQL_SNAPSHOT_REPLACE);
		if (!st) {
			rc = store_fail(s, "metrics snapshot", err);
		} else {
			sqlite3_bind_int64(st, 1, last_id);
			store_bind_text(st, 2, text);
			rc = store_step_done(s, st, "metrics snapshot", err);
		}
	}
	free(text);
	if (rc == 0 && ret_written)
		*ret_written = action;
	return rc;
}

int metrics_snapshot(struct store *s, int64_t project_id, const char *now, int *ret_written,
                     struct ts_err *err)
{
	char clock[32];
	now = clock_or(now, clock);
	if (ret_written)
		*ret_written = 0;
	bool nested = false;
	int rc = store_unit_begin(s, &nested);
	if (rc < 0)
		return store_fail(s, "metrics snapshot", err);
	rc = snapshot_write(s, project_id, now, ret_written, err);
	return store_unit_end(s, nested, rc);
}

int metrics_snapshot_slug(struct store *s, const char *slug, const char *now, struct ts_err *err)
{
	int64_t pid = 0;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	return metrics_snapshot(s, pid, now, NULL, err);
}

int metrics_snapshot_all(struct store *s, const char *now, int *ret_n, struct ts_err *err)
{
	if (ret_n)
		*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECT_IDS);
	if (!st)
		return store_fail(s, "list projects", err);
	size_t n = 0, cap = 16;
	int64_t *ids = ts_malloc(cap * sizeof(*ids));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap *= 2;
			ids = ts_realloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		free(ids);
		return store_fail(s, "list projects", err);
	}
	sqlite3_reset(st);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int written = 0;
		rc = metrics_snapshot(s, ids[i], now, &written, err);
		if (rc == 0 && written && ret_n)
			(*ret_n)++;
	}
	free(ids);
	return rc;
}
