/* SPDX-License-Identifier: Apache-2.0 */
/* Grouping of tasks into one ticket per component or per threat (a project's
 * group_by, docs/grouping.md): which group a task belongs to, the group's
 * ticket content, and what a task's outbox operation means for the group. */
#ifndef TS_ENGINE_GROUPING_H
#define TS_ENGINE_GROUPING_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/tracking/marker.h"
#include "engine/tracking/ticket_source.h"
#include "engine/util.h"

/* Whether group_by (a project's option; NULL is the default) groups tasks. */
bool grouping_enabled(const char *group_by);

/* The group key of a task: "component:<component key>", or "threat:<uid>" of
 * the highest-scored active threat it mitigates (ties: the smaller uid).
 * *ret_key is new, NULL when the task has no group (threat grouping of a task
 * without an active threat). TS_E_USAGE for an unknown group_by. */
int grouping_key_of(struct store *s, const char *group_by, int64_t countermeasure_id,
                    char **ret_key, struct ts_err *err);

/* What a task's ticket operation means under grouping. */
struct grouping_plan {
	bool grouped;              /* false: the task is handled on its own (no grouping,
	                            * no group, or it has a ticket of its own) */
	char *group_key;           /* "component:web" */
	struct ticket_source *group; /* the group's ticket: marker marker_make(slug, group_key),
	                              * summary, a body listing every member, priority (most
	                              * urgent), severity (highest), due date (earliest) */
	int n_members;             /* tasks listed on the ticket */
	int n_open;                /* of those, with status todo or in_progress */
	int64_t ticket_id;         /* the group's ticket row on the connector, 0 when none */
	char *ticket_key;          /* its key, NULL when none */
	bool ticket_closed;        /* its last known status category is "done" */
	bool task_linked;          /* the task is linked to that ticket already */
};

/* Plans for task countermeasure_id on connector. Members of a group are its
 * active, in-scope tasks linked to the group's ticket, plus those without a
 * ticket whose status is open. Owned by ret (grouping_plan_clear). */
int grouping_plan(struct store *s, const char *group_by, const char *connector,
                  int64_t countermeasure_id, struct grouping_plan *ret, struct ts_err *err);
void grouping_plan_clear(struct grouping_plan *p); /* zeroes it */

/* Links every active, in-scope member of group_key without a ticket whose
 * status is open to ticket_id (the group's ticket was just created). Call
 * inside or outside a transaction. *ret_n (may be NULL) receives the count. */
int grouping_link_members(struct store *s, const char *group_by, int64_t project_id,
                          const char *group_key, int64_t ticket_id, int *ret_n, struct ts_err *err);

#endif
