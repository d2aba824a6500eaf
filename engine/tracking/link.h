/* SPDX-License-Identifier: Apache-2.0 */
/* Adopting an existing tracker ticket for a task (`threatsync link`): the
 * database side, run once the ticket was read from the tracker. */
#ifndef TS_ENGINE_LINK_H
#define TS_ENGINE_LINK_H

#include <stdint.h>

#include "engine/store/store.h"
#include "engine/tracking/fieldmap.h"
#include "engine/tracking/marker.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/remote_apply.h"
#include "engine/util.h"

/* The task a link names. Strings owned by the struct (link_task_clear). */
struct link_task {
	int64_t project_id;
	int64_t countermeasure_id;
	char *slug;
	char *uid;
	char marker[MARKER_SIZE];  /* marker_make(slug, uid): the marker the adopted ticket gets */
	char *ticket_key; /* the key of the ticket the task is linked to now, or NULL */
};

/* Finds task uid of project slug. Errors: TS_E_NOTFOUND (no such project),
 * TS_E_INVALID (no such task; the message says how to list the ids), store
 * errors. */
int link_task_find(struct store *s, const char *slug, const char *uid, struct link_task *ret,
                   struct ts_err *err);
void link_task_clear(struct link_task *t); /* zeroes it; a zeroed task is a no-op */

/* Checks, without writing, that key on connector may be adopted by t: the
 * task has no other ticket and the key is not the ticket of another task.
 * TS_E_INVALID otherwise. */
int link_check(struct store *s, const struct link_task *t, const char *connector, const char *key,
               struct ts_err *err);

/* What link_adopt did. */
struct link_result {
	int creates_cancelled; /* pending create rows of the task marked done */
	int changed;           /* 1 when the ticket's status changed the task's */
	bool already;          /* the task was already linked to this ticket */
};

/* Adopts the ticket r (as read from the tracker; r->connector and r->key
 * required) for task t in one transaction: the ticket row (connector,
 * t->marker) is recorded with r's key, id and url (ticket_upsert: its text
 * hash becomes unknown), the task's
 * countermeasures.ticket_id points at it, its pending or failed create rows
 * become done with a note, an update row is queued so the next sync writes
 * the marker label and the text threatsync owns, and the ticket's status is
 * applied to the task like any remote change (outbox_apply_remote with fm,
 * the connector's fieldmap, so its status_map applies; status_history source
 * "cli"). Same checks as
 * link_check with r->key, plus TS_E_BUSY while a create of the task is in
 * flight (a sync pass is sending it). Nothing is written on error. */
int link_adopt(struct store *s, const struct fieldmap *fm, const struct link_task *t,
               const struct outbox_remote *r, const char *now, struct link_result *ret,
               struct ts_err *err);

#endif
