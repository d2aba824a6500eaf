/* SPDX-License-Identifier: Apache-2.0 */
/* Progress figures of a project (METRICS of docs/reports.md): open threats by
 * severity, tasks by status, failed verifications, risk score, overdue tasks
 * and the mean time to done; and their snapshots over time. */
#ifndef TS_ENGINE_REPORT_METRICS_H
#define TS_ENGINE_REPORT_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* Snapshots of one project closer together than this are one row. */
#define METRICS_COALESCE_S 60

/* A task status counts as complete for a threat (and for compliance) when it
 * is one of these and its verification did not fail. */
#define METRICS_COMPLETE_SQL "('done', 'satisfied', 'not_applicable', 'risk_accepted')"

/* The open tasks (todo, in_progress; active, in scope) of project_id whose
 * due date is before the day of now ("YYYY-MM-DD..."), as a new array of
 * {"id", "due_date", "status"} sorted by id. The one rule of "overdue": the
 * gate's rule and the metrics both call it. */
int metrics_overdue(struct store *s, int64_t project_id, const char *now, json_t **ret_list,
                    struct ts_err *err);

/* The state of each active, in-scope threat of project_id at now, as a new
 * object uid -> "open" | "addressed" | "accepted" (a threat override in force:
 * not applicable or risk accepted). Addressed: the threat has at least one
 * active, in-scope task and every one of them is complete (done, satisfied,
 * not_applicable or risk_accepted, verification not failed). */
int metrics_threat_states(struct store *s, int64_t project_id, const char *now, json_t **ret_states,
                          struct ts_err *err);

/* METRICS of project_id at now (NULL: the clock) as a new object:
 * {"threats_open": {"critical", "high", "medium", "low"}, "tasks": {status: n
 * for the six statuses}, "verification_failed", "risk_score", "overdue",
 * "mttr_days": x | null}. Threats and tasks are the active, in-scope ones;
 * an open threat is one metrics_threat_states calls open; risk_score is the
 * sum of their scores (two decimals); mttr_days is the mean, over the tasks
 * now done, of the days from the task's creation to its last move to done
 * (status_history; three decimals), null when no task is done. */
int metrics_compute(struct store *s, int64_t project_id, const char *now, json_t **ret_metrics,
                    struct ts_err *err);

/* Also {"passed", "failed", "untested"} of the active, in-scope tasks
 * (the report's summary), as a new object. */
int metrics_verification(struct store *s, int64_t project_id, json_t **ret_counts,
                         struct ts_err *err);

/* Records the metrics of project_id at now (NULL: the clock) in
 * metric_snapshots, coalesced: when the project's latest row is less than
 * METRICS_COALESCE_S seconds older than now its metrics are replaced; when
 * they equal the latest row's and that row is of the same day nothing is
 * written; otherwise a row is added (so at least one row a day when called
 * daily). Its own unit of work (a savepoint inside a transaction).
 * *ret_written (may be NULL): 0 nothing, 1 added, 2 replaced. */
int metrics_snapshot(struct store *s, int64_t project_id, const char *now, int *ret_written,
                     struct ts_err *err);

/* metrics_snapshot for project slug; TS_E_NOTFOUND for an unknown one. */
int metrics_snapshot_slug(struct store *s, const char *slug, const char *now, struct ts_err *err);

/* metrics_snapshot for every project (the daemon's daily job and its passes).
 * Stops at the first error. *ret_n (may be NULL): rows written. */
int metrics_snapshot_all(struct store *s, const char *now, int *ret_n, struct ts_err *err);

#endif
