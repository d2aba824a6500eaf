/* SPDX-License-Identifier: Apache-2.0 */
/* The reconciliation walk of one connector on the loop: every linked ticket
 * is read from the tracker (within the connector's concurrency) and
 * reconciled in the store (engine/tracking/reconcile.h). The sync pass runs it for
 * `sync --reconcile` and the daemon's periodic reconciliation. */
#ifndef TS_CONNECTORS_RECONCILE_H
#define TS_CONNECTORS_RECONCILE_H

#include <stdbool.h>

#include "connectors/connector.h"
#include "engine/store/store.h"

struct reconcile_counts {
	unsigned tickets;    /* tickets read */
	unsigned remote_won; /* tasks that took the tracker's status */
	unsigned local_won;  /* tasks whose close/reopen was queued again (or pending) */
	unsigned queued;     /* ticket operations queued (local wins and re-creates) */
	unsigned vanished;   /* tickets the tracker answered 404 for */
	unsigned recreated;  /* creates queued for vanished tickets (--recreate) */
	unsigned errors;     /* reads that failed */
	unsigned requests;   /* connector calls made */
	unsigned answered;   /* of those, how many got an HTTP answer */
	bool cancelled;
	/* A read was refused for the credentials or access (CONNECTOR_DENIED):
	 * the walk stopped there (cancelled is set too) and the sync pass pauses
	 * the connector. denied_status and denied_reason are that answer's. */
	bool denied;
	long denied_status;
	char denied_reason[512];
	int store_error;      /* 0 or the first store error's code */
	struct ts_err err;    /* its message */
	char last_error[512]; /* the last failed read or vanished ticket, no secrets */
};

/* Runs once, on the loop, when the walk is over; c is borrowed. The walk is
 * freed right after the callback returns. */
typedef void (*reconcile_done_cb)(void *ud, const struct reconcile_counts *c);

struct reconcile_walk;

/* Starts the walk over the tickets of connector cc (borrowed, as are s, ops
 * and conn: they must outlive the walk). recreate: tickets that vanished get
 * their tasks' creates queued. done_cb may run before this returns (no
 * tickets). *ret (may be NULL) receives the walk, valid until done_cb. */
void reconcile_walk_start(struct store *s, const struct connector_ops *ops, void *conn,
                          const struct config_connector *cc, bool recreate,
                          reconcile_done_cb done_cb, void *ud, struct reconcile_walk **ret);

/* Starts no more reads; done_cb runs once those in flight are back. */
void reconcile_walk_cancel(struct reconcile_walk *w);

#endif
