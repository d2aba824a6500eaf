/* SPDX-License-Identifier: Apache-2.0 */
/* The reconciliation walk: linked tickets read in batches, each reconciled
 * in its own transaction as its answer arrives. */
#include "connectors/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tracking/reconcile.h"

/* Tickets loaded from the store at a time. */
#define RECONCILE_BATCH 64

struct reconcile_walk {
	struct store *s;
	const struct connector_ops *ops;
	void *conn;
	const struct config_connector *cc;
	bool recreate;
	reconcile_done_cb done_cb;
	void *ud;
	struct reconcile_counts counts;
	struct reconcile_ticket *batch;
	size_t n, next; /* batch size and the next ticket to read */
	int64_t after;  /* id of the last ticket loaded */
	unsigned inflight;
	bool exhausted; /* no more tickets in the store */
	bool pumping, repump, finished;
};

/* One read in flight. */
struct reconcile_read {
	struct reconcile_walk *w;
	int64_t ticket;
	char *key;
};

static void store_error(struct reconcile_walk *w, int rc, const struct ts_err *err)
{
	if (w->counts.store_error == 0) {
		w->counts.store_error = rc;
		w->counts.err = *err;
	}
}

static void pump(struct reconcile_walk *w);

static void apply(struct reconcile_walk *w, const struct reconcile_read *rd,
                  const struct connector_result *r)
{
	struct reconcile_counts *c = &w->counts;
	char now[32];
	ts_now_iso(now);
	struct ts_err err = {0};
	int rc = store_begin(w->s);
	if (rc < 0) {
		store_error(w, store_fail(w->s, "reconcile ticket", &err), &err);
		return;
	}
	if (!r->found) {
		int queued = 0;
		c->vanished++;
		snprintf(c->last_error, sizeof(c->last_error),
		         "%s: the tracker answered 404: the ticket vanished%s", rd->key,
		         w->recreate ? ""
		                     : " (sync --once --reconcile --recreate creates it again)");
		rc = reconcile_vanished(w->s, rd->ticket, w->recreate, now, &queued, &err);
		if (rc == 0) {
			c->recreated += (unsigned)queued;
			c->queued += (unsigned)queued;
		}
	} else {
		struct outbox_remote o = remote_issue_view(w->cc->name, &r->issue);
		struct reconcile_outcome out = {0};
		rc = reconcile_apply(w->s, w->cc->fieldmap, rd->ticket, &o, now, &out, &err);
		if (rc == 0) {
			c->remote_won += (unsigned)out.remote_won;
			c->local_won += (unsigned)out.local_won;
			c->queued += (unsigned)out.queued;
		}
	}
	if (rc == 0 && (rc = store_commit(w->s)) < 0)
		rc = store_fail(w->s, "reconcile ticket", &err);
	if (rc < 0) {
		store_rollback(w->s);
		store_error(w, rc, &err);
	}
}

static void read_cb(void *ud, const struct connector_result *r)
{
	struct reconcile_read *rd = ud;
	struct reconcile_walk *w = rd->w;
	w->inflight--;
	if (r->http_status > 0)
		w->counts.answered++;
	if (r->status == CONNECTOR_OK) {
		w->counts.tickets++;
		bool gone = !r->found && r->http_status == 404;
		if (r->found || gone) {
			apply(w, rd, r);
		} else {
			w->counts.errors++;
			snprintf(w->counts.last_error, sizeof(w->counts.last_error),
			         "%s: the tracker did not return the ticket", rd->key);
		}
	} else if (r->status == CONNECTOR_CANCELLED) {
		w->counts.cancelled = true;
	} else if (r->status == CONNECTOR_DENIED) {
		/* Every other read would be refused alike: stop reading. */
		w->counts.cancelled = true;
		if (!w->counts.denied) {
			w->counts.denied = true;
			w->counts.denied_status = r->http_status;
			snprintf(w->counts.denied_reason, sizeof(w->counts.denied_reason), "%s",
			         r->error[0] ? r->error : "refused");
		}
	} else {
		w->counts.errors++;
		snprintf(w->counts.last_error, sizeof(w->counts.last_error),
		         "read %.100s: %s%.380s", rd->key, r->http_status ? "HTTP error: " : "",
		         r->error[0] ? r->error : "failed");
	}
	free(rd->key);
	free(rd);
	pump(w);
}

static void finish(struct reconcile_walk *w)
{
	w->finished = true;
	reconcile_tickets_free(w->batch, w->n);
	w->batch = NULL;
	w->n = 0;
	w->done_cb(w->ud, &w->counts);
	free(w);
}

/* Starts reads while there is room; finishes when nothing is left. */
static void pump(struct reconcile_walk *w)
{
	if (w->pumping) {
		w->repump = true;
		return;
	}
	w->pumping = true;
	unsigned limit = (unsigned)(w->cc->concurrency > 0 ? w->cc->concurrency : 1);
	do {
		w->repump = false;
		while (!w->counts.cancelled && w->inflight < limit && w->counts.store_error == 0) {
			if (w->next == w->n) {
				if (w->exhausted)
					break;
				reconcile_tickets_free(w->batch, w->n);
				w->batch = NULL;
				w->n = w->next = 0;
				struct ts_err err = {0};
				int rc = reconcile_tickets(w->s, w->cc->name, w->after,
				                           RECONCILE_BATCH, &w->batch, &w->n, &err);
				if (rc < 0) {
					store_error(w, rc, &err);
					break;
				}
				if (w->n < RECONCILE_BATCH)
					w->exhausted = true;
				if (w->n == 0)
					break;
				w->after = w->batch[w->n - 1].id;
			}
			const struct reconcile_ticket *t = &w->batch[w->next++];
			struct reconcile_read *rd = ts_calloc(1, sizeof(*rd));
			rd->w = w;
			rd->ticket = t->id;
			rd->key = ts_strdup(t->key);
			w->inflight++;
			w->counts.requests++;
			w->ops->get(w->conn, rd->key, read_cb, rd);
		}
	} while (w->repump);
	w->pumping = false;
	bool more = !w->counts.cancelled && w->counts.store_error == 0 &&
	            !(w->exhausted && w->next == w->n);
	if (w->inflight == 0 && !more && !w->finished)
		finish(w);
}

void reconcile_walk_start(struct store *s, const struct connector_ops *ops, void *conn,
                          const struct config_connector *cc, bool recreate,
                          reconcile_done_cb done_cb, void *ud, struct reconcile_walk **ret)
{
	struct reconcile_walk *w = ts_calloc(1, sizeof(*w));
	w->s = s;
	w->ops = ops;
	w->conn = conn;
	w->cc = cc;
	w->recreate = recreate;
	w->done_cb = done_cb;
	w->ud = ud;
	if (ret)
		*ret = w;
	pump(w);
}

void reconcile_walk_cancel(struct reconcile_walk *w)
{
	if (!w || w->finished)
		return;
	w->counts.cancelled = true;
	pump(w);
}
