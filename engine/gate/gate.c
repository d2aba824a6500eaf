/* SPDX-License-Identifier: Apache-2.0 */
/* The CI gate: the configured rules over a project's tasks and threats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gate/gate.h"
#include "engine/model/project.h"
#include "engine/report/metrics.h"
#include "engine/tracking/task_status.h"

static const char SQL_FAILED[] =
    "SELECT uid, priority FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1 AND verification = 'failed' AND priority <= ?2 ORDER BY uid";
/* Threats of the listed severities (a JSON array in ?2) with their open
 * tasks that have no ticket, one row per (threat, task). */
static const char SQL_UNTRACKED[] =
    "SELECT t.uid, t.severity, c.uid FROM threats t"
    " JOIN threat_countermeasures l ON l.threat_id = t.id"
    " JOIN countermeasures c ON c.id = l.countermeasure_id"
    " WHERE t.project_id = ?1 AND t.state = 'active' AND t.in_scope = 1"
    " AND t.severity IN (SELECT value FROM json_each(?2))"
    " AND c.state = 'active' AND c.in_scope = 1 AND c.status IN " TASK_STATUS_OPEN_SQL
    " AND c.ticket_id IS NULL ORDER BY t.uid, c.uid";

static void add_reason(json_t *reasons, const char *rule, const char *id, char *message)
{
	json_array_append_new(
	    reasons, json_pack("{s:s, s:s, s:s}", "rule", rule, "id", id, "message", message));
	free(message);
}

static int rule_failed(struct store *s, int64_t pid, int max_priority, json_t *reasons,
                       struct ts_err *err)
{
	if (max_priority <= 0)
		return 0;
	sqlite3_stmt *st = store_prepare(s, SQL_FAILED);
	if (!st)
		return store_fail(s, "gate: failed verifications", err);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, max_priority);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *uid = store_col_text(st, 0);
		add_reason(reasons, "failed_verification", uid,
		           ts_asprintf("verification failed: task %s (priority %d)", uid,
		                       sqlite3_column_int(st, 1)));
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "gate: failed verifications", err);
	sqlite3_reset(st);
	return 0;
}

static int rule_overdue(struct store *s, int64_t pid, const char *now, json_t *reasons,
                        struct ts_err *err)
{
	json_t *list = NULL;
	int rc = metrics_overdue(s, pid, now, &list, err);
	if (rc < 0)
		return rc;
	size_t i;
	json_t *t;
	json_array_foreach (list, i, t) {
		const char *uid = json_string_value(json_object_get(t, "id"));
		add_reason(reasons, "overdue", uid,
		           ts_asprintf("overdue: task %s was due %.10s (%s)", uid,
		                       json_string_value(json_object_get(t, "due_date")),
		                       json_string_value(json_object_get(t, "status"))));
	}
	json_decref(list);
	return 0;
}

/* One reason per threat, naming its open tasks without a ticket. */
static int rule_untracked(struct store *s, int64_t pid, char **severities, json_t *reasons,
                          struct ts_err *err)
{
	json_t *sev = json_array();
	for (char **p = severities; p && *p; p++)
		json_array_append_new(sev, json_string(*p));
	if (json_array_size(sev) == 0) {
		json_decref(sev);
		return 0;
	}
	char *sev_text = json_dumps(sev, JSON_COMPACT);
	json_decref(sev);
	sqlite3_stmt *st = store_prepare(s, SQL_UNTRACKED);
	if (!st) {
		free(sev_text);
		return store_fail(s, "gate: untracked threats", err);
	}
	sqlite3_bind_int64(st, 1, pid);
	store_bind_text(st, 2, sev_text);
	free(sev_text);
	struct ts_buf tasks = {0};
	char *threat = NULL, *severity = NULL;
	int rc;
	for (;;) {
		rc = sqlite3_step(st);
		const char *t = rc == SQLITE_ROW ? store_col_text(st, 0) : NULL;
		if (threat && (!t || strcmp(t, threat) != 0)) {
			char *list = ts_buf_steal(&tasks);
			add_reason(reasons, "untracked", threat,
			           ts_asprintf("untracked %s threat %s: no ticket for %s", severity,
			                       threat, list));
			free(list);
			free(threat);
			free(severity);
			threat = severity = NULL;
		}
		if (rc != SQLITE_ROW)
			break;
		if (!threat) {
			threat = ts_strdup(t);
			severity = ts_strdup(store_col_text(st, 1));
		} else {
			ts_buf_puts(&tasks, ", ");
		}
		ts_buf_puts(&tasks, store_col_text(st, 2));
	}
	ts_buf_free(&tasks);
	if (rc != SQLITE_DONE)
		return store_fail(s, "gate: untracked threats", err);
	sqlite3_reset(st);
	return 0;
}

static json_t *policy_json(const struct config_gate *g)
{
	json_t *sev = json_array();
	for (char **p = g->fail_on_untracked; p && *p; p++)
		json_array_append_new(sev, json_string(*p));
	return json_pack("{s:i, s:o, s:b, s:b}", "max_priority_failed", g->max_priority_failed,
	                 "fail_on_untracked", sev, "fail_on_overdue", g->fail_on_overdue,
	                 "fail_on_new_untasked", g->fail_on_new_untasked);
}

static int reason_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "rule")),
	               json_string_value(json_object_get(y, "rule")));
	if (c)
		return c;
	return strcmp(json_string_value(json_object_get(x, "id")),
	              json_string_value(json_object_get(y, "id")));
}

/* Sorts reasons by rule, then id, so the output does not depend on the
 * order rules run in. */
static json_t *sorted_reasons(json_t *reasons)
{
	size_t n = json_array_size(reasons);
	json_t **v = ts_calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(reasons, i);
	qsort(v, n, sizeof(*v), reason_cmp);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

int gate_check(struct store *s, const struct config *cfg, const char *slug,
               const struct gate_opts *opts, json_t **ret_doc, struct ts_err *err)
{
	*ret_doc = NULL;
	int64_t pid = 0;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	char clock[32];
	const char *now = opts ? opts->now : NULL;
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	const struct config_gate *g = &cfg->gate;
	const struct config_project *cp = config_find_project(cfg, slug);
	bool tracked = cp && cp->connector;

	json_t *reasons = json_array();
	json_t *delta = NULL;
	if ((rc = rule_failed(s, pid, g->max_priority_failed, reasons, err)) < 0)
		goto out;
	if (tracked && (rc = rule_untracked(s, pid, g->fail_on_untracked, reasons, err)) < 0)
		goto out;
	if (g->fail_on_overdue && (rc = rule_overdue(s, pid, now, reasons, err)) < 0)
		goto out;
	if (opts && opts->model) {
		rc = gate_model_delta(s, opts->lib, cfg, slug, opts->model, opts->now, &delta, err);
		if (rc < 0)
			goto out;
		size_t i;
		json_t *id;
		json_array_foreach (
		    g->fail_on_new_untasked ? json_object_get(delta, "untasked") : NULL, i, id) {
			const char *uid = json_string_value(id);
			add_reason(reasons, "new_untasked", uid,
			           ts_asprintf("new threat without a task: %s", uid));
		}
	}
	json_t *sorted = sorted_reasons(reasons);
	json_t *counts = json_pack("{s:i, s:i, s:i, s:i}", "failed_verification", 0, "untracked", 0,
	                           "overdue", 0, "new_untasked", 0);
	size_t i;
	json_t *r;
	json_array_foreach (sorted, i, r) {
		const char *rule = json_string_value(json_object_get(r, "rule"));
		json_t *c = json_object_get(counts, rule);
		json_integer_set(c, json_integer_value(c) + 1);
	}
	*ret_doc = json_pack("{s:s, s:b, s:b, s:o, s:o, s:o, s:o*}", "project", slug, "passed",
	                     json_array_size(sorted) == 0, "tracked", tracked, "policy",
	                     policy_json(g), "reasons", sorted, "counts", counts, "delta", delta);
	if (!delta)
		json_object_set_new(*ret_doc, "delta", json_null());
	delta = NULL;
	rc = 0;
out:
	json_decref(reasons);
	json_decref(delta);
	return rc;
}
