/* SPDX-License-Identifier: Apache-2.0 */
/* The poll phase of a sync pass: each tracker project's changed tickets since
 * its cursor, applied page by page, or the reconciliation walk when it is
 * asked for or due. */
#include <stdio.h>
#include <stdlib.h>

#include "connectors/reconcile.h"
#include "connectors/sync_internal.h"
#include "engine/tracking/reconcile.h"
#include "engine/tracking/remote_apply.h"
#include "engine/tracking/ticket.h"

/* ------------------------------------------------------------ polling */

static void poll_scope(struct sync_conn *sc, const char *page);

static void poll_next(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	free(sc->since);
	sc->since = NULL;
	/* A paused project is not polled: its probe (sync_pause.c) is the one
	 * request it gets. */
	while (sc->scope < sc->n_scopes && sync_paused(sc, sc->scopes[sc->scope]))
		sc->scope++;
	if (y->cancelling || sc->paused_all || sc->scope >= sc->n_scopes) {
		sync_conn_finished(sc);
		return;
	}
	if (!y->pass.reconcile) {
		struct ts_err err = {0};
		int rc =
		    ticket_cursor_get(y->s, sc->cfg->name, sc->scopes[sc->scope], &sc->since, &err);
		if (rc < 0) {
			sync_store_error(y, rc, &err);
			sync_conn_finished(sc);
			return;
		}
	}
	poll_scope(sc, NULL);
}

static void poll_cb(void *ud, const struct connector_result *r)
{
	struct sync_conn *sc = ud;
	struct sync *y = sc->y;
	const char *scope = sc->scopes[sc->scope];
	if (r->http_status > 0)
		sc->rep->answered++;
	if (r->status == CONNECTOR_CANCELLED) {
		sync_conn_finished(sc);
		return;
	}
	if (r->status == CONNECTOR_DENIED || r->status == CONNECTOR_NO_SCOPE) {
		/* The cursor stays; poll_next skips what is now paused. */
		sync_pause_begin(sc, scope, r);
		sc->scope++;
		poll_next(sc);
		return;
	}
	if (r->status != CONNECTOR_OK) {
		sc->rep->poll_errors++;
		char msg[1200];
		snprintf(msg, sizeof(msg), "poll %s: %s%s", scope,
		         r->http_status ? "HTTP error: " : "", r->error[0] ? r->error : "failed");
		sync_set_error(sc, msg);
		sync_event(y, SYNC_EVENT_WARNING,
		           "connector %s: %s (the cursor stays; next pass retries)", sc->cfg->name,
		           msg);
		sc->scope++;
		poll_next(sc);
		return;
	}
	char now[32];
	sync_now_iso(now);
	const char *source = y->pass.reconcile ? "reconcile" : "poll";
	struct ts_err err = {0};
	int rc = store_begin(y->s);
	if (rc < 0)
		rc = store_fail(y->s, "apply polled changes", &err);
	for (size_t i = 0; rc == 0 && i < r->n_issues; i++) {
		struct outbox_remote o = remote_issue_view(sc->cfg->name, &r->issues[i]);
		struct outbox_apply res;
		rc = outbox_apply_remote(y->s, sc->cfg->fieldmap, &o, source, now, &res, &err);
		sc->rep->polled++;
		if (rc == 0)
			sc->rep->changed += (unsigned)res.changed;
	}
	if (rc == 0 && !r->next_page && r->cursor)
		rc = ticket_cursor_set(y->s, sc->cfg->name, scope, r->cursor, now, &err);
	if (rc == 0 && (rc = store_commit(y->s)) < 0)
		rc = store_fail(y->s, "apply polled changes", &err);
	if (rc < 0) {
		store_rollback(y->s);
		sync_store_error(y, rc, &err);
		sc->scope++;
		poll_next(sc);
		return;
	}
	if (r->next_page && !y->cancelling) {
		poll_scope(sc, r->next_page);
		return;
	}
	sc->scope++;
	poll_next(sc);
}

static void poll_scope(struct sync_conn *sc, const char *page)
{
	sc->rep->operations++;
	sc->rep->poll_requests++;
	sc->ops->poll(sc->conn, sc->scopes[sc->scope], sc->since, page, poll_cb, sc);
}

static void walk_done_cb(void *ud, const struct reconcile_counts *c)
{
	struct sync_conn *sc = ud;
	struct sync *y = sc->y;
	struct sync_connector_report *rp = sc->rep;
	sc->walk = NULL;
	sc->reconciled = true;
	rp->reconciled = true;
	rp->rec_tickets += c->tickets;
	rp->rec_remote_won += c->remote_won;
	rp->rec_local_won += c->local_won;
	rp->rec_queued += c->queued;
	rp->rec_vanished += c->vanished;
	rp->rec_recreated += c->recreated;
	rp->rec_errors += c->errors;
	rp->operations += c->requests;
	rp->answered += c->answered;
	rp->changed += c->remote_won;
	if (c->last_error[0]) {
		sync_set_error(sc, c->last_error);
		sync_event(y, SYNC_EVENT_WARNING, "connector %s: reconcile: %s", sc->cfg->name,
		           c->last_error);
	}
	if (c->store_error)
		sync_store_error(y, c->store_error, &c->err);
	if (c->denied) {
		struct connector_result r = {.status = CONNECTOR_DENIED,
		                             .http_status = c->denied_status};
		snprintf(r.error, sizeof(r.error), "%s", c->denied_reason);
		sync_pause_begin(sc, "", &r);
	}
	if (!c->cancelled && !c->store_error) {
		char now[32];
		struct ts_err err = {0};
		sync_now_iso(now);
		int rc = ticket_cursor_set(y->s, sc->cfg->name, RECONCILE_SCOPE, now, now, &err);
		if (rc < 0)
			sync_store_error(y, rc, &err);
		sync_event(y, SYNC_EVENT_INFO,
		           "connector %s: reconciled %u ticket(s): %u task(s) took the tracker's "
		           "status, %u kept threatsync's (%u operation(s) queued), %u ticket(s) "
		           "vanished, %u re-created, %u read error(s)",
		           sc->cfg->name, c->tickets, c->remote_won, c->local_won, c->queued,
		           c->vanished, c->recreated, c->errors);
	}
	/* Drain what the walk queued, then finish (start_poll sees reconciled). */
	sc->polling = false;
	sc->drained = false;
	sync_pump(sc);
}

/* Whether the daemon's periodic reconciliation is due for sc: its last one
 * is older than reconcile_interval_s. Without a record the interval starts
 * now (a fresh start does not walk every ticket at once). */
static bool reconcile_due(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	if (sc->cfg->reconcile_interval_s <= 0)
		return false;
	char *last = NULL;
	char now[32];
	struct ts_err err = {0};
	sync_now_iso(now);
	int rc = ticket_cursor_get(y->s, sc->cfg->name, RECONCILE_SCOPE, &last, &err);
	if (rc < 0) {
		sync_store_error(y, rc, &err);
		return false;
	}
	int64_t last_ms;
	bool due = false;
	if (!last || http_iso8601_parse(last, &last_ms) < 0) {
		rc = ticket_cursor_set(y->s, sc->cfg->name, RECONCILE_SCOPE, now, now, &err);
		if (rc < 0)
			sync_store_error(y, rc, &err);
	} else {
		due = ts_now_ms() - last_ms >= (int64_t)sc->cfg->reconcile_interval_s * 1000;
	}
	free(last);
	return due;
}

void sync_start_poll(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	sc->polling = true;
	if (sc->reconciled || sc->paused_all) {
		sync_conn_finished(sc);
		return;
	}
	bool reconcile = sc->conn && !y->cancelling && !y->pass.push_only &&
	                 (y->pass.reconcile || (y->pass.reconcile_due && reconcile_due(sc)));
	if (reconcile) {
		reconcile_walk_start(y->s, sc->ops, sc->conn, sc->cfg, y->pass.recreate,
		                     walk_done_cb, sc, &sc->walk);
		return;
	}
	bool skip = y->pass.push_only || !sc->conn ||
	            (y->pass.skip_unpolled && sc->cfg->poll_interval_s == 0 && !y->pass.reconcile);
	if (skip) {
		sync_conn_finished(sc);
		return;
	}
	sc->scope = 0;
	poll_next(sc);
}
