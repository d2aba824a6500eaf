/* SPDX-License-Identifier: Apache-2.0 */
/* Reconciliation in the store: one linked ticket's remote state compared with
 * its tasks, the most recent change winning (the task takes the tracker's
 * status, or threatsync's ticket operation is queued again), and tickets that
 * vanished from the tracker. The walk over the tickets is connectors/reconcile.c. */
#ifndef TS_ENGINE_RECONCILE_H
#define TS_ENGINE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/tracking/fieldmap.h"
#include "engine/tracking/outbox.h"
#include "engine/util.h"

/* Scope of the sync_cursors row holding a connector's last complete
 * reconciliation (cursor = its ISO time). */
#define RECONCILE_SCOPE "@reconcile"

/* A ticket of a connector with at least one task linked. Strings owned. */
struct reconcile_ticket {
	int64_t id;
	char *key;
	char *marker;
};

/* Up to limit linked tickets of connector with id > after, by id. *ret is
 * new (reconcile_tickets_free), NULL when none. */
int reconcile_tickets(struct store *s, const char *connector, int64_t after, size_t limit,
                      struct reconcile_ticket **ret, size_t *ret_n, struct ts_err *err);
void reconcile_tickets_free(struct reconcile_ticket *v, size_t n); /* NULL ok */

struct reconcile_outcome {
	int remote_won; /* tasks that took the tracker's status */
	int local_won;  /* tasks whose close/reopen was queued again */
	int queued;     /* of those, operations newly queued (others were pending) */
	int in_sync;    /* tasks already agreeing with the tracker */
};

/* Reconciles ticket ticket_id with r (what the tracker says now, mapped with
 * task_status_map and fm, the connector's fieldmap: borrowed, NULL: none).
 * Call inside a transaction. For each task linked
 * to the ticket, the local side wants the ticket open when the task is
 * active, in scope and todo/in_progress, closed otherwise. When the tracker
 * disagrees, or shows another status the tracker owns, the most recent change
 * wins: the tracker's `updated` against the task's last status change
 * (status_history) and its last queued create/close/reopen (outbox
 * created_at). The tracker's newer state is applied like a poll (source
 * "reconcile"); a newer local state queues the close or reopen again (unless
 * one is pending) with a status_history row (from: the tracker's status
 * mapped, to: the task's, source "reconcile", reason). Decisions threatsync
 * owns (overrides by people, satisfied, removed or out of scope) always win.
 * The ticket's remote fields are refreshed. */
int reconcile_apply(struct store *s, const struct fieldmap *fm, int64_t ticket_id,
                    const struct outbox_remote *r, const char *now, struct reconcile_outcome *ret,
                    struct ts_err *err);

/* The tracker answered 404 for ticket_id. With recreate, each active, in-scope
 * open task linked to it is unlinked and a create queued (looked up by marker
 * first, in case the ticket moved); without, nothing changes. *ret_queued
 * (may be NULL) receives the number of creates queued. Call inside a
 * transaction. */
int reconcile_vanished(struct store *s, int64_t ticket_id, bool recreate, const char *now,
                       int *ret_queued, struct ts_err *err);

#endif
