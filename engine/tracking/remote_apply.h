/* SPDX-License-Identifier: Apache-2.0 */
/* A tracker's state of a ticket applied to the tasks linked to it: the path
 * every remote change takes (poll, webhook, link; reconciliation decides with
 * reconcile.h), mapping the state with the connector's fieldmap. */
#ifndef TS_ENGINE_REMOTE_APPLY_H
#define TS_ENGINE_REMOTE_APPLY_H

#include <stdbool.h>

#include "engine/store/store.h"
#include "engine/tracking/fieldmap.h"
#include "engine/tracking/outbox.h"
#include "engine/util.h"

/* Outcome of outbox_apply_remote. */
struct outbox_apply {
	bool matched;   /* a ticket of ours (by marker, else key) */
	bool duplicate; /* its remote_updated was already this: nothing done */
	int changed;    /* tasks whose status changed */
};

/* Applies a remote ticket state (source: poll | webhook | cli | reconcile).
 * fm is the connector's fieldmap (borrowed; NULL: none configured). Call
 * inside a transaction (store_begin): a page of a poll is one transaction.
 * The ticket is found by marker, else by key; unknown tickets are ignored.
 * When r->updated equals the stored remote_updated nothing is written
 * (polls overlap). Otherwise the ticket's remote fields are stored
 * (ticket_remote_store) and each active task linked to it whose status the
 * tracker owns (task_status_tracker_owned) takes task_status_map(fm, r) with
 * task_status_set (tracker r: status_history from, to, source, actor,
 * remote_time, and the tracker override of a risk acceptance / not
 * applicable). Statuses threatsync set itself (not applicable or risk
 * accepted by a person, satisfied) are never changed. */
int outbox_apply_remote(struct store *s, const struct fieldmap *fm, const struct outbox_remote *r,
                        const char *source, const char *now, struct outbox_apply *ret,
                        struct ts_err *err);

#endif
