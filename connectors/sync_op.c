/* SPDX-License-Identifier: Apache-2.0 */
/* The operations of a sync pass: outbox rows claimed, sent through the
 * connector with exactly-once creation (an unknown outcome is resolved by the
 * marker first), grouped rows acting on their group's ticket, and the group
 * commit of the results of one loop iteration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sync_internal.h"
#include "engine/generate/grouping.h"
#include "engine/tracking/ticket.h"

/* ------------------------------------------------------------ operations */

static void op_free(struct sync_op *op)
{
	free(op->group_key);
	free(op->notice_text);
	free(op->settle_note);
	remote_issue_clear(&op->settled);
	outbox_op_clear(&op->row);
	ticket_source_free(op->task);
	free(op);
}

static struct sync_op *group_release(struct sync_op *op);
static bool group_begin(struct sync_op *op);
static void op_release(struct sync_op *op, bool unknown);

/* A row is finished with (whatever happened): account for it. */
static void op_retire(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	/* Rows of the same group waited for this one: they go on now. */
	struct sync_op *waiting = group_release(op);
	/* A finished row may unblock the task's next row (outbox_claim keeps a
	 * task's rows in order): look again. */
	if (op->row.countermeasure_id > 0)
		sc->drained = false;
	if (op->waiting)
		sc->waiting--;
	op_free(op);
	sc->inflight--;
	while (waiting) {
		struct sync_op *w = waiting;
		waiting = w->group_next;
		w->group_next = NULL;
		if (!group_begin(w))
			op_release(w, false); /* no longer grouped: claimed again as usual */
	}
}

/* Rows at work that hold a slot: all but those their connector holds on a
 * timer (up to SYNC_WAITING_MAX of them). */
static unsigned busy_slots(const struct sync_conn *sc)
{
	unsigned free_waiting = sc->waiting < SYNC_WAITING_MAX ? sc->waiting : 0;
	return sc->inflight - free_waiting;
}

/* Slots limit of sc. */
static unsigned slot_limit(const struct sync_conn *sc)
{
	return (unsigned)(sc->cfg->concurrency > 0 ? sc->cfg->concurrency : 1);
}

/* How many rows sc keeps claimed ahead: one batch, the connector's
 * concurrency. Bounded by it, so a process that dies leaves at most that
 * many more rows in flight (each looked up by marker before it is sent). */
static size_t reserve_target(const struct sync_conn *sc)
{
	return slot_limit(sc);
}

static size_t reserve_len(const struct sync_conn *sc)
{
	return sc->n_reserve - sc->reserve_head;
}

/* Appends rows (taken over; the array is freed) to the reserve. */
static void reserve_add(struct sync_conn *sc, struct outbox_op *rows, size_t n)
{
	if (n == 0) {
		free(rows);
		return;
	}
	size_t left = reserve_len(sc);
	if (sc->reserve_head > 0 && left > 0)
		memmove(sc->reserve, sc->reserve + sc->reserve_head, left * sizeof(*rows));
	sc->reserve_head = 0;
	sc->n_reserve = left;
	sc->reserve = ts_realloc(sc->reserve, (left + n) * sizeof(*rows));
	memcpy(sc->reserve + left, rows, n * sizeof(*rows));
	sc->n_reserve += n;
	free(rows);
}

void sync_reserve_release(struct sync_conn *sc)
{
	char now[32];
	/* One transaction for all of them when it can be had. */
	bool batch = reserve_len(sc) > 1 && store_begin(sc->y->s) == 0;
	for (size_t i = sc->reserve_head; i < sc->n_reserve; i++) {
		struct ts_err err = {0};
		int rc = outbox_release(sc->y->s, &sc->reserve[i], false, sync_now_iso(now), &err);
		if (rc < 0)
			sync_store_error(sc->y, rc, &err);
		outbox_op_clear(&sc->reserve[i]);
	}
	if (batch && store_commit(sc->y->s) < 0) {
		/* The rows stay in flight: the next pass recovers them. */
		struct ts_err err = {0};
		sync_store_error(sc->y, store_fail(sc->y->s, "release claimed rows", &err), &err);
		store_rollback(sc->y->s);
	}
	free(sc->reserve);
	sc->reserve = NULL;
	sc->n_reserve = 0;
	sc->reserve_head = 0;
}

void sync_op_wait_cb(void *ud, bool waiting)
{
	struct sync_op *op = ud;
	struct sync_conn *sc = op->sc;
	if (op->waiting == waiting)
		return;
	op->waiting = waiting;
	if (!waiting) {
		/* It takes its slot back at once, over the limit for a moment
		 * if others took it: the HTTP endpoint still caps requests. */
		sc->waiting--;
		return;
	}
	sc->waiting++;
	/* Its slot is free while it waits: claim a row for it. */
	sync_pump(sc);
}

/* The same, then pump again. */
static void op_end(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	op_retire(op);
	sync_pump(sc);
}

static void settle_cb(uv_check_t *h);
static void op_start(struct sync_conn *sc, struct outbox_op *row);

static void settle_idle_cb(uv_idle_t *h)
{
	(void)h;
}

/* Queues a finished row for the group commit (settle_cb): a ticket to
 * record (link), or the row to complete (with the tracker's answer seen,
 * or a note saying why no request was needed). */
static void settle_later(struct sync_op *op, bool link, const struct remote_issue *issue,
                         const char *hash, const char *note, unsigned *counter)
{
	struct sync *y = op->sc->y;
	op->settle_link = link;
	op->settle_seen = issue && (link || issue->updated);
	if (issue)
		remote_issue_copy(&op->settled, issue);
	op->settle_hash = hash;
	op->settle_note = ts_strdup(note);
	op->settle_counter = counter;
	op->settle_next = NULL;
	*y->settling_tail = op;
	y->settling_tail = &op->settle_next;
	uv_check_start(&y->settle_check, settle_cb);
	/* A check handle alone lets the next poll block until some other event:
	 * an active idle handle makes it return at once. */
	uv_idle_start(&y->settle_idle, settle_idle_cb);
}

/* Records one queued success: a unit of its own, or a savepoint inside
 * the group commit. */
static int settle_write(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	char now[32];
	struct outbox_remote o = {0};
	if (op->settle_seen)
		o = remote_issue_view(sc->cfg->name, &op->settled);
	ts_err_clear(&op->settle_err);
	if (op->settle_link) {
		int64_t ticket = 0;
		int rc = outbox_link(sc->y->s, &op->row, op->task->marker, &o, op->settle_hash,
		                     sync_now_iso(now), &ticket, &op->settle_err);
		/* The other open tasks of the group share the ticket just made. */
		if (rc == 0 && op->group_key)
			rc = grouping_link_members(sc->y->s, op->group_by, op->row.project_id,
			                           op->group_key, ticket, NULL, &op->settle_err);
		return rc;
	}
	return outbox_complete(sc->y->s, &op->row, op->settle_hash, op->settle_seen ? &o : NULL,
	                       op->settle_note, sync_now_iso(now), &op->settle_err);
}

/* Inside the group commit: claims the rows that take the places of the
 * connector's settled operations (those the reserve did not fill), and
 * refills the reserve. */
static void settle_claim(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	unsigned limit = slot_limit(sc);
	unsigned busy = busy_slots(sc) - sc->n_settling;
	size_t ahead =
	    reserve_len(sc) < reserve_target(sc) ? reserve_target(sc) - reserve_len(sc) : 0;
	size_t want = (busy < limit ? limit - busy : 0) + ahead;
	if (y->cancelling || sc->finished || sc->polling || sc->paused_all || want == 0 ||
	    (sc->drained && !sc->settle_cm_row))
		return;
	char now[32];
	struct ts_err err = {0};
	int rc = outbox_claim_except(y->s, sc->cfg->name, sc->skip_projects, y->pass_wall_ms - 1,
	                             want, sync_now_iso(now), &sc->claimed, &sc->n_claimed, &err);
	if (rc < 0)
		sync_store_error(y, rc, &err);
}

/* Before the group commit: rows of the reserve take the slots that sc's
 * settling operations free, and are sent now. Their requests are built and
 * on the wire while the commit runs, instead of after it. */
static bool reserve_start(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	if (y->cancelling || sc->finished || sc->polling || sc->paused_all)
		return false;
	bool started = false;
	unsigned limit = slot_limit(sc);
	while (reserve_len(sc) > 0 && busy_slots(sc) - sc->n_settling < limit) {
		struct outbox_op row = sc->reserve[sc->reserve_head++];
		op_start(sc, &row);
		started = true;
	}
	return started;
}

static void settle_cb(uv_check_t *h)
{
	struct sync *y = h->data;
	uv_check_stop(&y->settle_check);
	uv_idle_stop(&y->settle_idle);
	struct sync_op *list = y->settling;
	y->settling = NULL;
	y->settling_tail = &y->settling;
	if (!list)
		return;
	for (struct sync_op *op = list; op; op = op->settle_next) {
		op->sc->n_settling++;
		op->sc->settle_cm_row |= op->row.countermeasure_id > 0;
	}
	/* A pump meanwhile (a row that ends at once) only asks for another
	 * round: the claims are this function's. */
	bool sent = false;
	for (size_t i = 0; i < y->n_conns; i++) {
		struct sync_conn *sc = &y->conns[i];
		if (sc->n_settling == 0)
			continue;
		sc->pumping = true;
		sent |= reserve_start(sc);
	}
	if (sent)
		http_client_flush(y->http);
	/* Without the enclosing transaction (another writer holds the
	 * database past the busy timeout) each write is its own unit. */
	bool batch = store_begin(y->s) == 0;
	for (struct sync_op *op = list; op; op = op->settle_next)
		op->settle_rc = settle_write(op);
	if (batch) {
		for (size_t i = 0; i < y->n_conns; i++)
			if (y->conns[i].n_settling > 0)
				settle_claim(&y->conns[i]);
		int rc = store_commit(y->s);
		if (rc < 0) {
			/* Nothing of it happened: write each result on its own; the
			 * claimed rows are pending again. */
			struct ts_err err = {0};
			sync_store_error(y, store_fail(y->s, "commit sync results", &err), &err);
			store_rollback(y->s);
			for (size_t i = 0; i < y->n_conns; i++) {
				outbox_ops_free(y->conns[i].claimed, y->conns[i].n_claimed);
				y->conns[i].claimed = NULL;
				y->conns[i].n_claimed = 0;
			}
			for (struct sync_op *op = list; op; op = op->settle_next)
				op->settle_rc = settle_write(op);
		}
	}
	/* Until the claimed rows are started, a pump (a grouped row's waiters
	 * released, a row that ends at once) would claim on top of them: it only
	 * asks for another round. */
	for (size_t i = 0; i < y->n_conns; i++)
		if (y->conns[i].n_settling > 0)
			y->conns[i].pumping = true;
	for (struct sync_op *op = list, *next; op; op = next) {
		next = op->settle_next;
		if (op->settle_rc < 0)
			sync_store_error(y, op->settle_rc, &op->settle_err);
		else if (op->settle_counter)
			(*op->settle_counter)++;
		op_retire(op);
	}
	for (size_t i = 0; i < y->n_conns; i++) {
		struct sync_conn *sc = &y->conns[i];
		if (sc->n_settling == 0)
			continue;
		sc->n_settling = 0;
		sc->settle_cm_row = false;
		/* The claimed rows fill the free slots; the others wait in the
		 * reserve, behind the rows already there. */
		reserve_add(sc, sc->claimed, sc->n_claimed);
		sc->claimed = NULL;
		sc->n_claimed = 0;
		sc->pumping = false;
		sync_pump(sc);
	}
}

static void op_reschedule(struct sync_op *op, const struct connector_result *r, const char *what,
                          bool unknown)
{
	struct sync_conn *sc = op->sc;
	struct sync *y = sc->y;
	char now[32];
	int64_t delay = ts_backoff_ms(op->row.attempts, y->opts.backoff_base_ms,
	                              y->opts.backoff_max_ms, sync_next_rand(y));
	if (r && r->status == CONNECTOR_RETRY && r->retry_after_ms > delay)
		delay = r->retry_after_ms;
	char msg[1200];
	if (r && r->http_status > 0)
		snprintf(msg, sizeof(msg), "%s: HTTP %ld: %s", what, r->http_status,
		         r->error[0] ? r->error : "no message");
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, r && r->error[0] ? r->error : "failed");
	bool dead = false;
	struct ts_err err = {0};
	int rc = outbox_fail(y->s, &op->row, msg, unknown || op->row.outcome_unknown, delay,
	                     sc->cfg->max_attempts, ts_now_ms(), sync_now_iso(now), &dead, &err);
	if (rc < 0) {
		sync_store_error(y, rc, &err);
	} else if (dead) {
		sc->rep->dead++;
		sync_event(y, SYNC_EVENT_WARNING,
		           "connector %s: outbox row %lld (%s %s) is dead after %d attempts: %s",
		           sc->cfg->name, (long long)op->row.id, op->row.op,
		           op->task ? op->task->cm_uid : "-", op->row.attempts + 1, msg);
	} else {
		sc->rep->rescheduled++;
		sync_event(y, SYNC_EVENT_INFO,
		           "connector %s: outbox row %lld (%s %s) failed, retry in %lld ms: %s",
		           sc->cfg->name, (long long)op->row.id, op->row.op,
		           op->task ? op->task->cm_uid : "-", (long long)delay, msg);
	}
	sync_set_error(sc, msg);
	op_end(op);
}

static void op_release(struct sync_op *op, bool unknown)
{
	struct sync_conn *sc = op->sc;
	char now[32];
	struct ts_err err = {0};
	int rc = outbox_release(sc->y->s, &op->row, unknown || op->row.outcome_unknown,
	                        sync_now_iso(now), &err);
	if (rc < 0)
		sync_store_error(sc->y, rc, &err);
	else
		sc->rep->released++;
	op_end(op);
}

static void op_kill(struct sync_op *op, const char *msg)
{
	struct sync_conn *sc = op->sc;
	char now[32];
	struct ts_err err = {0};
	int rc = outbox_kill(sc->y->s, &op->row, msg, sync_now_iso(now), &err);
	if (rc < 0) {
		sync_store_error(sc->y, rc, &err);
	} else {
		sc->rep->dead++;
		sync_event(sc->y, SYNC_EVENT_WARNING,
		           "connector %s: outbox row %lld (%s) is dead: %s", sc->cfg->name,
		           (long long)op->row.id, op->row.op, msg);
	}
	sync_set_error(sc, msg);
	op_end(op);
}

/* A row done: completed with what the tracker answered (seen may be NULL),
 * or with a note when no request was needed. Recorded by the group commit. */
static void op_complete(struct sync_op *op, const char *content_hash,
                        const struct remote_issue *seen, const char *note, unsigned *counter)
{
	settle_later(op, false, seen, content_hash, note, counter);
}

/* A row that made or found the task's ticket: linked by the group commit. */
static void op_link(struct sync_op *op, const struct remote_issue *issue, unsigned *counter)
{
	settle_later(op, true, issue, op->task->content_hash, NULL, counter);
}

static void op_cb(void *ud, const struct connector_result *r);

static void op_send(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	/* A refusal of the connector or of the project arrived meanwhile
	 * (sync_pause.c): the row waits, its attempts untouched. */
	if (sync_paused(sc, op->tracker_project)) {
		op_release(op, false);
		return;
	}
	const char *reason = json_string_value(json_object_get(op->row.payload, "reason"));
	const char *text = json_string_value(json_object_get(op->row.payload, "text"));
	if (op->notice_text)
		reason = text = op->notice_text;
	sc->rep->operations++;
	switch (op->stage) {
	case STAGE_FIND:
		sc->ops->find_marker(sc->conn, op->tracker_project, op->task->marker, op_cb, op);
		break;
	case STAGE_CREATE:
		sc->ops->create(sc->conn, &op->content, op_cb, op);
		break;
	case STAGE_UPDATE:
		sc->ops->update(sc->conn, op->row.remote_key, &op->content, op_cb, op);
		break;
	case STAGE_CLOSE:
		sc->ops->set_state(sc->conn, op->row.remote_key, CONNECTOR_STATE_CLOSED, reason,
		                   op_cb, op);
		break;
	case STAGE_REOPEN:
		sc->ops->set_state(sc->conn, op->row.remote_key, CONNECTOR_STATE_OPEN, reason,
		                   op_cb, op);
		break;
	case STAGE_COMMENT:
		sc->ops->comment(sc->conn, op->row.remote_key, text, op_cb, op);
		break;
	case STAGE_NOTICE:
		sc->ops->find_notice(sc->conn, op->row.remote_key, op->notice, op_cb, op);
		break;
	}
}

/* The lookup of a notice after an attempt whose outcome is not known: the
 * row is done when the comment is there (a reopen too: its comment is
 * posted with or after the transition, and a ticket closed again since was
 * closed by someone else); a reopen whose ticket is open already only
 * posts its comment; otherwise the row goes on as first planned. */
static void notice_found(struct sync_op *op, const struct connector_result *r)
{
	struct sync_conn *sc = op->sc;
	bool done = r->issue.status_category && strcmp(r->issue.status_category, "done") == 0;
	if (r->notice_present) {
		char note[96];
		snprintf(note, sizeof(note), "notice %s already on the ticket", op->notice);
		op_complete(op, NULL, &r->issue, note, NULL);
		return;
	}
	if (sc->y->cancelling) {
		op_release(op, false);
		return;
	}
	op->stage = op->notice_to == STAGE_REOPEN && !done ? STAGE_COMMENT : op->notice_to;
	op_send(op);
}

static const char *stage_name(enum op_stage s)
{
	static const char *const names[] = {"find marker", "create",  "update",       "close",
	                                    "reopen",      "comment", "notice lookup"};
	return names[s];
}

static void op_cb(void *ud, const struct connector_result *r)
{
	struct sync_op *op = ud;
	struct sync_conn *sc = op->sc;
	if (r->http_status > 0)
		sc->rep->answered++;
	bool create_like = op->stage == STAGE_CREATE || op->stage == STAGE_FIND;
	/* A write of a notice may have reached the tracker: its comment is
	 * looked up before it is sent again. */
	bool notice_write = op->notice && (op->stage == STAGE_REOPEN || op->stage == STAGE_COMMENT);
	switch (r->status) {
	case CONNECTOR_OK:
		break;
	case CONNECTOR_CANCELLED:
		/* A create may have been sent: resolve by marker next time. */
		op_release(op, op->stage == STAGE_CREATE || notice_write);
		return;
	case CONNECTOR_UNKNOWN:
		op_reschedule(op, r, stage_name(op->stage), create_like || notice_write);
		return;
	case CONNECTOR_DENIED:
	case CONNECTOR_NO_SCOPE:
		/* Not the row's fault: the connector or its project pauses, and
		 * the row waits without an attempt counted (the request was
		 * refused, so nothing changed on the tracker). */
		sync_pause_begin(sc, op->tracker_project, r);
		op_release(op, false);
		return;
	case CONNECTOR_RETRY:
	case CONNECTOR_FAILED:
	default:
		op_reschedule(op, r, stage_name(op->stage), false);
		return;
	}
	switch (op->stage) {
	case STAGE_FIND:
		if (r->found) {
			op_link(op, &r->issue, &sc->rep->adopted);
			return;
		}
		if (sc->y->cancelling) {
			/* Nothing was sent: the flag stays for the next pass. */
			op_release(op, false);
			return;
		}
		op->stage = STAGE_CREATE;
		op_send(op);
		return;
	case STAGE_CREATE:
		op_link(op, &r->issue, &sc->rep->created);
		return;
	case STAGE_UPDATE:
		if (op->group_join) {
			op_link(op, &r->issue, &sc->rep->updated);
			return;
		}
		op_complete(op, op->task ? op->task->content_hash : NULL, &r->issue, NULL,
		            &sc->rep->updated);
		return;
	case STAGE_CLOSE:
		op_complete(op, NULL, &r->issue, NULL, &sc->rep->closed);
		return;
	case STAGE_REOPEN:
		if (op->group_update_after) {
			sc->rep->reopened++;
			op->stage = STAGE_UPDATE;
			op_send(op);
			return;
		}
		op_complete(op, NULL, &r->issue, NULL, &sc->rep->reopened);
		return;
	case STAGE_COMMENT:
		op_complete(op, NULL, NULL, NULL, &sc->rep->commented);
		return;
	case STAGE_NOTICE:
		notice_found(op, r);
		return;
	}
}

/* ------------------------------------------------------------ grouping */

/* A project with group_by component or threat has one ticket per group
 * (engine/generate/grouping.h, docs/grouping.md). The generator still queues rows per
 * task; each row is turned into an operation on its group's ticket here, and
 * the rows of one group run one at a time (the others are parked), so a group
 * gets its ticket exactly once. */

static bool group_busy(const struct sync_conn *sc, const char *key)
{
	for (const struct sync_op *o = sc->grouped; o; o = o->group_next)
		if (strcmp(o->group_key, key) == 0)
			return true;
	return false;
}

/* Takes op off the working list; returns the parked rows of its group. */
static struct sync_op *group_release(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	bool found = false;
	for (struct sync_op **pp = &sc->grouped; *pp; pp = &(*pp)->group_next) {
		if (*pp == op) {
			*pp = op->group_next;
			found = true;
			break;
		}
	}
	op->group_next = NULL;
	if (!found)
		return NULL;
	struct sync_op *out = NULL, **tail = &out;
	for (struct sync_op **pp = &sc->parked; *pp;) {
		struct sync_op *w = *pp;
		if (strcmp(w->group_key, op->group_key) == 0) {
			*pp = w->group_next;
			w->group_next = NULL;
			*tail = w;
			tail = &w->group_next;
		} else {
			pp = &w->group_next;
		}
	}
	return out;
}

/* A reopen or comment row whose payload has a notice: its text gets the
 * notice's marker, and the row starts with the lookup when an earlier
 * attempt may have reached the tracker (attempts made, or the outcome
 * unknown). A reopen always does: someone may have reopened the ticket
 * since the scan, and then only its comment is wanted (a transition to the
 * state the ticket is in would post nothing). false when the row has ended
 * (a malformed notice). */
static bool notice_begin(struct sync_op *op)
{
	if (op->stage != STAGE_REOPEN && op->stage != STAGE_COMMENT)
		return true;
	const json_t *n = json_object_get(op->row.payload, "notice");
	if (!n)
		return true;
	if (!connector_notice_valid(json_string_value(n))) {
		char msg[128];
		snprintf(msg, sizeof(msg), "payload.notice is not %d lowercase hex digits",
		         CONNECTOR_NOTICE_LEN);
		op_kill(op, msg);
		return false;
	}
	op->notice = json_string_value(n);
	const char *text = json_string_value(
	    json_object_get(op->row.payload, op->stage == STAGE_REOPEN ? "reason" : "text"));
	op->notice_text = op->sc->ops->notice_text(text, op->notice);
	if (op->stage == STAGE_REOPEN || op->row.attempts > 0 || op->row.outcome_unknown) {
		op->notice_to = op->stage;
		op->stage = STAGE_NOTICE;
	}
	return true;
}

/* The first stage of a grouped row, acting on its group's ticket as plan p
 * says. false when the row has ended without a request. */
static bool group_first_stage(struct sync_op *op, const struct grouping_plan *p)
{
	const char *kind = op->row.op;
	char note[300];
	bool ended = false;
	if (strcmp(kind, "create") == 0) {
		if (p->task_linked) {
			snprintf(note, sizeof(note), "already linked to the group's ticket %s",
			         p->ticket_key ? p->ticket_key : "(no key)");
			op_complete(op, NULL, NULL, note, NULL);
			ended = true;
		} else if (!p->ticket_key) {
			op->stage = op->row.outcome_unknown ? STAGE_FIND : STAGE_CREATE;
		} else {
			op->group_join = true;
			op->group_update_after = p->ticket_closed;
			op->stage = p->ticket_closed ? STAGE_REOPEN : STAGE_UPDATE;
		}
	} else if (!p->ticket_key) {
		if (strcmp(kind, "close") == 0)
			op_complete(op, NULL, NULL, "nothing to close: the group has no ticket",
			            NULL);
		else
			op_kill(op, "the task's group has no ticket (its create operation did not "
			            "complete)");
		ended = true;
	} else if (strcmp(kind, "update") == 0) {
		op->stage = STAGE_UPDATE;
	} else if (strcmp(kind, "close") == 0) {
		/* The ticket closes with its last open task; before that it only
		 * stops listing the task. */
		op->stage = p->n_open > 0 ? STAGE_UPDATE : STAGE_CLOSE;
	} else if (strcmp(kind, "reopen") == 0) {
		op->group_update_after = p->ticket_closed;
		op->stage = p->ticket_closed ? STAGE_REOPEN : STAGE_UPDATE;
	} else if (!json_is_string(json_object_get(op->row.payload, "text"))) {
		op_kill(op, "comment without payload.text");
		ended = true;
	} else {
		op->stage = STAGE_COMMENT;
	}
	return !ended && notice_begin(op);
}

/* Plans a row of a grouping project and starts it on the group's ticket.
 * false: the task is not grouped (it keeps a ticket of its own). */
static bool group_begin(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	struct sync *y = sc->y;
	if (y->cancelling) {
		op_release(op, false);
		return true;
	}
	struct grouping_plan p;
	struct ts_err err = {0};
	int rc =
	    grouping_plan(y->s, op->group_by, sc->cfg->name, op->row.countermeasure_id, &p, &err);
	if (rc < 0) {
		sync_store_error(y, rc, &err);
		op_release(op, false);
		return true;
	}
	if (!p.grouped)
		return false;
	free(op->group_key);
	op->group_key = p.group_key;
	p.group_key = NULL;
	if (group_busy(sc, op->group_key)) {
		op->group_next = sc->parked;
		sc->parked = op;
		grouping_plan_clear(&p);
		return true;
	}
	op->group_next = sc->grouped;
	sc->grouped = op;
	ticket_source_free(op->task);
	op->task = p.group;
	p.group = NULL;
	const struct ticket_source *t = op->task;
	op->content.project_slug = t->project_slug;
	op->content.marker = t->marker;
	op->content.summary = t->summary;
	op->content.body = t->body;
	op->content.cm_uid = t->cm_uid;
	op->content.model_version = t->model_version;
	op->content.priority = t->priority;
	op->content.severity = t->severity;
	op->content.due_date = t->due_date;
	op->content.link_back = t->link_back;
	if (p.ticket_key) {
		free(op->row.remote_key);
		op->row.remote_key = ts_strdup(p.ticket_key);
		op->row.ticket_id = p.ticket_id;
	}
	bool ended = !group_first_stage(op, &p);
	grouping_plan_clear(&p);
	if (!ended)
		op_send(op);
	return true;
}

static const struct config_project *project_of(const struct sync_conn *sc, const char *slug)
{
	const struct config_project *p = config_find_project(sc->y->cfg, slug);
	if (!p || !p->connector || strcmp(p->connector, sc->cfg->name) != 0)
		return NULL;
	return p;
}

/* Starts work on a claimed row; takes it over (row is moved into the op). */
/* Loads the row's task and fills its ticket spec. false when the row has
 * ended (killed or released). */
static bool op_load_task(struct sync_op *op, const struct config_project *proj)
{
	struct sync *y = op->sc->y;
	struct ts_err err = {0};
	int rc =
	    ticket_source_load_cached(y->s, y->texts, op->row.countermeasure_id, &op->task, &err);
	if (rc < 0) {
		if (err.code == TS_E_NOTFOUND) {
			op_kill(op, err.msg);
		} else {
			sync_store_error(y, rc, &err);
			op_release(op, false);
		}
		return false;
	}
	struct ticket_source *t = op->task;
	op->content = (struct ticket_spec){
	    .tracker_project = proj->tracker_project,
	    .marker = t->marker,
	    .summary = t->summary,
	    .body = t->body,
	    .cwe_names = NULL,
	    .project_slug = t->project_slug,
	    .cm_uid = t->cm_uid,
	    .model_version = t->model_version,
	    .priority = t->priority,
	    .severity = t->severity,
	    .due_date = t->due_date,
	    .link_back = t->link_back,
	    .labels = (const char *const *)proj->labels,
	};
	return true;
}

/* The first stage of the row, from its kind and whether its task has a
 * ticket. false when the row has ended without a request. */
static bool op_first_stage(struct sync_op *op)
{
	const char *kind = op->row.op;
	bool has_ticket = op->row.remote_key != NULL;
	if (strcmp(kind, "create") == 0) {
		if (has_ticket) {
			char note[300];
			snprintf(note, sizeof(note), "already linked to %s", op->row.remote_key);
			op_complete(op, NULL, NULL, note, NULL);
			return false;
		}
		op->stage = op->row.outcome_unknown ? STAGE_FIND : STAGE_CREATE;
	} else if (!has_ticket) {
		/* Earlier rows of the task are finished (outbox_claim orders
		 * them), so its create is dead or never existed. */
		if (strcmp(kind, "close") == 0)
			op_complete(op, NULL, NULL, "nothing to close: the task has no ticket",
			            NULL);
		else
			op_kill(op, "the task has no ticket (its create operation did not "
			            "complete)");
		return false;
	} else if (strcmp(kind, "update") == 0) {
		op->stage = STAGE_UPDATE;
	} else if (strcmp(kind, "close") == 0) {
		op->stage = STAGE_CLOSE;
	} else if (strcmp(kind, "reopen") == 0) {
		op->stage = STAGE_REOPEN;
	} else {
		if (!json_is_string(json_object_get(op->row.payload, "text"))) {
			op_kill(op, "comment without payload.text");
			return false;
		}
		op->stage = STAGE_COMMENT;
	}
	return notice_begin(op);
}

static void op_start(struct sync_conn *sc, struct outbox_op *row)
{
	struct sync_op *op = ts_calloc(1, sizeof(*op));
	op->sc = sc;
	op->row = *row;
	memset(row, 0, sizeof(*row));
	sc->inflight++;

	const char *kind = op->row.op;
	if (strcmp(kind, "create") && strcmp(kind, "update") && strcmp(kind, "close") &&
	    strcmp(kind, "reopen") && strcmp(kind, "comment")) {
		char msg[256];
		snprintf(msg, sizeof(msg), "operation '%s' is not supported by this version", kind);
		op_kill(op, msg);
		return;
	}
	const struct config_project *proj = project_of(sc, op->row.project_slug);
	if (!proj) {
		struct connector_result r = {.status = CONNECTOR_FAILED};
		snprintf(r.error, sizeof(r.error),
		         "project '%s' is not mapped to connector '%s' in the configuration",
		         op->row.project_slug, sc->cfg->name);
		op_reschedule(op, &r, kind, false);
		return;
	}
	op->tracker_project = proj->tracker_project;
	if (op->row.countermeasure_id > 0) {
		if (!op_load_task(op, proj))
			return;
	} else if (strcmp(kind, "comment") != 0) {
		op_kill(op, "the row names no task");
		return;
	}
	if (op->task && grouping_enabled(proj->group_by)) {
		op->group_by = proj->group_by;
		if (group_begin(op))
			return;
	}
	if (op_first_stage(op))
		op_send(op);
}

/* Starts rows of the reserve, else claims due rows, while there is room,
 * then moves on to polling. */
void sync_pump(struct sync_conn *sc)
{
	if (sc->finished)
		return;
	if (sc->pumping) {
		sc->repump = true;
		return;
	}
	struct sync *y = sc->y;
	sc->pumping = true;
	do {
		sc->repump = false;
		unsigned limit = slot_limit(sc);
		while (!y->cancelling && (!sc->drained || reserve_len(sc) > 0) && !sc->polling &&
		       !sc->paused_all && busy_slots(sc) < limit) {
			if (reserve_len(sc) > 0) {
				struct outbox_op row = sc->reserve[sc->reserve_head++];
				op_start(sc, &row);
				continue;
			}
			struct outbox_op *rows = NULL;
			size_t n = 0;
			char now[32];
			struct ts_err err = {0};
			int rc = outbox_claim_except(y->s, sc->cfg->name, sc->skip_projects,
			                             y->pass_wall_ms - 1, limit - busy_slots(sc),
			                             sync_now_iso(now), &rows, &n, &err);
			if (rc < 0) {
				sync_store_error(y, rc, &err);
				sc->drained = true;
				break;
			}
			if (n == 0) {
				sc->drained = true;
				break;
			}
			for (size_t i = 0; i < n; i++)
				op_start(sc, &rows[i]);
			free(rows);
		}
	} while (sc->repump);
	sc->pumping = false;
	if (sc->inflight > 0 || sc->polling)
		return;
	if (y->cancelling || sc->paused_all) {
		sync_conn_finished(sc);
	} else if (sc->drained && reserve_len(sc) == 0) {
		sync_reserve_release(sc); /* frees the emptied array */
		sync_start_poll(sc);
	}
}
