/* SPDX-License-Identifier: Apache-2.0 */
/* Task (countermeasure) status: which statuses are open and which the tracker
 * owns, the one mapping of a tracker state to a task status, and the one
 * writer of a status change (the status, its status_history row, and the
 * override a tracker's risk acceptance stands for). */
#ifndef TS_ENGINE_TASK_STATUS_H
#define TS_ENGINE_TASK_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/store/rowbatch.h"
#include "engine/store/store.h"
#include "engine/tracking/fieldmap.h"
#include "engine/tracking/outbox.h"
#include "engine/util.h"

/* The open statuses as an SQL list, for `status IN TASK_STATUS_OPEN_SQL`:
 * the same set task_status_open accepts. */
#define TASK_STATUS_OPEN_SQL "('todo', 'in_progress')"

/* Whether a task status means the work is still to be done, so its ticket
 * stays open: todo and in_progress. NULL is not open. */
bool task_status_open(const char *status);

/* Whether status is one a tracker may give and take back through an override
 * (risk_accepted, not_applicable). */
bool task_status_is_override(const char *status);

/* Whether a task status belongs to the tracker: todo, in_progress, done, or a
 * risk acceptance / not applicable that came from the tracker (tracker_set). */
bool task_status_tracker_owned(const char *status, bool tracker_set);

/* The task status a tracker state maps to, for every path a remote state
 * takes (poll, webhook, reconcile, link): the first status_map entry of fm
 * whose status and resolution (when given) equal the remote ones, ignoring
 * case; else resolution "Won't Do" / "Won't Fix" (any case, either
 * apostrophe) → risk_accepted; else category new → todo, indeterminate →
 * in_progress, done → done. fm may be NULL (the built-in rule alone). A static
 * string, or NULL when nothing maps. */
const char *task_status_map(const struct fieldmap *fm, const char *status, const char *category,
                            const char *resolution);

/* One status change of a task. All borrowed. */
struct task_status_change {
	int64_t countermeasure_id;
	int64_t ticket_id;       /* the task's ticket, 0 when none */
	const char *from;        /* the status before (NULL: the task is new) */
	const char *to;          /* required */
	const char *source;      /* generate | cli | override | poll | webhook | reconcile */
	const char *actor;       /* NULL: none ("") */
	const char *remote_time; /* the tracker's time of the change, or NULL */
	const char *reason;      /* NULL: none (for tracker changes, see task_status_set) */
	/* The tracker state that caused the change, or NULL when threatsync or a
	 * person did: see task_status_set. */
	const struct outbox_remote *tracker;
};

/* Records the status_history row of c only; the caller has written the
 * status itself (generation writes it with the rest of the task). Binds
 * without copying: c's strings need only live for the call. */
int task_status_history(struct store *s, const struct task_status_change *c, const char *now,
                        struct ts_err *err);

/* The same rows queued (values copied) in a batch of task_status_history_batch
 * for a writer of many, which writes them with rowbatch_flush once their
 * tasks are written. */
struct rowbatch *task_status_history_batch(void);
void task_status_history_queue(struct rowbatch *b, const struct task_status_change *c,
                               const char *now);

/* Sets task c->countermeasure_id to c->to (satisfied_by cleared) and records
 * the status_history row. When c->tracker is set (the tracker's state caused
 * it): risk_accepted and not_applicable record an override of that kind with
 * payload {"source": "tracker", "connector", "ticket"} and no expiry, so
 * regeneration keeps the status, and leaving such a status revokes that
 * tracker override; a NULL c->reason then becomes the acceptance reason
 * (the resolution or status, the actor and the latest comment), and a NULL
 * c->actor the tracker's actor. Call inside a transaction. TS_E_NOTFOUND when
 * the task does not exist. */
int task_status_set(struct store *s, const struct task_status_change *c, const char *now,
                    struct ts_err *err);

#endif
