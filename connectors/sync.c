/* SPDX-License-Identifier: Apache-2.0 */
/* One sync pass on the loop: outbox drain with exactly-once creation, then
 * incremental polling, per connector. */
#include "connectors/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "connectors/reconcile.h"
#include "engine/generate/grouping.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/reconcile.h"
#include "engine/tracking/remote_apply.h"
#include "engine/tracking/ticket.h"
#include "engine/tracking/ticket_source.h"

#define SYNC_DEFAULT_BACKOFF_BASE_MS 1000
#define SYNC_DEFAULT_BACKOFF_MAX_MS (5 * 60 * 1000)

struct sync_conn;

enum op_stage { STAGE_FIND, STAGE_CREATE, STAGE_UPDATE, STAGE_CLOSE, STAGE_REOPEN, STAGE_COMMENT };

/* One outbox row being worked on. */
struct sync_op {
	struct sync_conn *sc;
	struct outbox_op row;
	struct ticket_source *task; /* NULL for rows without a task */
	struct ticket_spec content;
	const char *tracker_project; /* borrowed from the configuration */
	enum op_stage stage;
	/* Grouping (engine/generate/grouping.h): the row acts on its group's ticket. */
	const char *group_by;       /* borrowed from the configuration; NULL: not grouped */
	char *group_key;            /* the group, once planned */
	bool group_join;            /* on success, link the row's task to the ticket */
	bool group_update_after;    /* after a reopen, write the group's text */
	struct sync_op *group_next; /* in sc->grouped or sc->parked */
	/* A success waiting for the group commit (settle_cb). */
	struct sync_op *settle_next;
	bool settle_link;            /* record the ticket (else complete the row) */
	bool settle_seen;            /* settled carries a state worth recording */
	struct remote_issue settled; /* the tracker's answer, copied */
	const char *settle_hash;     /* borrowed from task */
	char *settle_note;           /* why the row completed without a request, or NULL */
	unsigned *settle_counter;
	int settle_rc;
	struct ts_err settle_err;
};

struct sync_conn {
	struct sync *y;
	const struct config_connector *cfg; /* borrowed from y->cfg */
	const struct connector_ops *ops;
	void *conn;
	struct sync_connector_report *rep;
	unsigned inflight;
	bool drained; /* nothing more is due */
	bool pumping; /* inside pump(): re-entry only asks for another round */
	bool repump;
	bool polling; /* the poll phase started */
	bool finished;
	struct sync_op *grouped; /* grouped rows at work: one per group at a time */
	struct sync_op *parked;  /* grouped rows waiting for their group's row */
	const char **scopes;     /* tracker projects mapped to this connector (borrowed strings) */
	size_t n_scopes, scope;
	char *since;                 /* cursor of the scope being polled */
	struct reconcile_walk *walk; /* the reconciliation walk running, or NULL */
	bool reconciled;             /* it ran: drain what it queued, then finish */
	/* The group commit under way (settle_cb). */
	unsigned n_settling;       /* of its operations */
	bool settle_cm_row;        /* one of them belongs to a task */
	struct outbox_op *claimed; /* rows claimed in the same transaction, to start */
	size_t n_claimed;
};

struct sync {
	uv_loop_t *loop;
	struct http_client *http;
	struct store *s;
	const struct config *cfg;
	struct sync_opts opts;
	uint64_t rng;
	uv_timer_t finish_timer;
	/* Group commit: operations that succeeded during one loop iteration are
	 * recorded, and the rows that take their places claimed, in one
	 * transaction after the iteration's I/O (settle_cb), instead of a
	 * transaction per operation for the result and one per claim. */
	uv_check_t settle_check;
	uv_idle_t settle_idle; /* while successes wait: the loop's poll does not block */
	struct sync_op *settling, **settling_tail;
	int open_handles;           /* closed one by one when y is closed */
	struct ticket_texts *texts; /* parsed library texts, across passes */
	bool running;
	bool cancelling;
	bool closing;
	void (*closed_cb)(void *ud);
	void *closed_ud;

	/* The pass. */
	struct sync_pass_opts pass;
	char *pass_connector;
	sync_done_cb done_cb;
	void *done_ud;
	struct sync_conn *conns;
	struct sync_connector_report *reports;
	size_t n_conns;
	struct sync_report report;
	int64_t started_ms;
	int64_t started_cpu_us;
	/* Wall clock at the start of the pass: rows are due when their
	 * next_attempt_at is before it, so a row that fails during the pass waits
	 * for the next pass instead of being retried over and over in this one. */
	int64_t pass_wall_ms;
};

static uint64_t next_rand(struct sync *y)
{
	/* xorshift64*: jitter only, not security. */
	y->rng ^= y->rng >> 12;
	y->rng ^= y->rng << 25;
	y->rng ^= y->rng >> 27;
	return y->rng * 2685821657736338717ULL;
}

static void event(struct sync *y, enum sync_event_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void event(struct sync *y, enum sync_event_level level, const char *fmt, ...)
{
	if (!y->opts.event_cb)
		return;
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	y->opts.event_cb(y->opts.event_ud, level, msg);
}

static void store_error(struct sync *y, int rc, const struct ts_err *err)
{
	if (y->report.store_error == 0) {
		y->report.store_error = rc;
		y->report.err = *err;
	}
	event(y, SYNC_EVENT_WARNING, "%s", err->msg);
}

static void set_error(struct sync_conn *sc, const char *msg)
{
	snprintf(sc->rep->last_error, sizeof(sc->rep->last_error), "%s", msg);
}

/* ------------------------------------------------------------ life cycle */

int sync_new(uv_loop_t *loop, struct http_client *http, struct store *s, const struct config *cfg,
             const struct sync_opts *opts, struct sync **ret)
{
	struct sync *y = ts_calloc(1, sizeof(*y));
	y->loop = loop;
	y->http = http;
	y->s = s;
	y->cfg = cfg;
	if (opts)
		y->opts = *opts;
	if (y->opts.backoff_base_ms <= 0)
		y->opts.backoff_base_ms = SYNC_DEFAULT_BACKOFF_BASE_MS;
	if (y->opts.backoff_max_ms <= 0)
		y->opts.backoff_max_ms = SYNC_DEFAULT_BACKOFF_MAX_MS;
	y->rng = y->opts.seed
	             ? y->opts.seed
	             : (uint64_t)ts_now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	if (y->rng == 0)
		y->rng = 1;
	int r = uv_timer_init(loop, &y->finish_timer);
	if (r < 0) {
		free(y);
		return r;
	}
	/* These two only register the handle with the loop: they cannot fail. */
	uv_check_init(loop, &y->settle_check);
	uv_idle_init(loop, &y->settle_idle);
	y->finish_timer.data = y;
	y->settle_check.data = y;
	y->settle_idle.data = y;
	y->open_handles = 3;
	y->settling_tail = &y->settling;
	y->texts = ticket_texts_new();
	*ret = y;
	return 0;
}

int sync_set_config(struct sync *y, const struct config *cfg)
{
	if (y->running)
		return -EBUSY;
	y->cfg = cfg;
	return 0;
}

bool sync_running(const struct sync *y)
{
	return y->running;
}

static void handle_closed_cb(uv_handle_t *h)
{
	struct sync *y = h->data;
	if (--y->open_handles > 0)
		return;
	ticket_texts_free(y->texts);
	void (*cb)(void *) = y->closed_cb;
	void *ud = y->closed_ud;
	free(y);
	if (cb)
		cb(ud);
}

static void close_handles(struct sync *y)
{
	uv_close((uv_handle_t *)&y->finish_timer, handle_closed_cb);
	uv_close((uv_handle_t *)&y->settle_check, handle_closed_cb);
	uv_close((uv_handle_t *)&y->settle_idle, handle_closed_cb);
}

void sync_close(struct sync *y, void (*closed_cb)(void *ud), void *ud)
{
	if (!y || y->closing)
		return;
	y->closing = true;
	y->closed_cb = closed_cb;
	y->closed_ud = ud;
	if (y->running) {
		/* The pass completes (finish_cb), then closes the timer. */
		sync_cancel(y);
		return;
	}
	close_handles(y);
}

static void pump(struct sync_conn *sc);
static void start_poll(struct sync_conn *sc);

void sync_cancel(struct sync *y)
{
	if (!y->running || y->cancelling)
		return;
	y->cancelling = true;
	y->report.cancelled = true;
	/* Connectors idle in no phase finish now; the others finish as their
	 * in-flight work comes back. */
	for (size_t i = 0; i < y->n_conns; i++) {
		reconcile_walk_cancel(y->conns[i].walk);
		pump(&y->conns[i]);
	}
}

/* ------------------------------------------------------------ pass end */

/* CPU time of the process so far (user + system), microseconds. */
static int64_t cpu_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

static void finish_cb(uv_timer_t *t)
{
	struct sync *y = t->data;
	for (size_t i = 0; i < y->n_conns; i++) {
		struct sync_conn *sc = &y->conns[i];
		struct sync_connector_report *rp = sc->rep;
		if (sc->ops && sc->conn)
			sc->ops->close(sc->conn);
		sc->conn = NULL;
		rp->unreachable = rp->operations > 0 && rp->answered == 0 &&
		                  (rp->rescheduled + rp->dead + rp->poll_errors) > 0;
		free(sc->scopes);
		free(sc->since);
	}
	y->report.connectors = y->reports;
	y->report.n_connectors = y->n_conns;
	y->report.duration_ms = ts_monotonic_ms() - y->started_ms;
	y->report.cpu_ms = (double)(cpu_us() - y->started_cpu_us) / 1000.0;
	struct sync_report rep = y->report;
	struct sync_connector_report *reports = y->reports;
	struct sync_conn *conns = y->conns;
	sync_done_cb cb = y->done_cb;
	void *ud = y->done_ud;
	y->conns = NULL;
	y->reports = NULL;
	y->n_conns = 0;
	free(y->pass_connector);
	y->pass_connector = NULL;
	y->running = false;
	y->cancelling = false;
	bool closing = y->closing;
	cb(ud, &rep);
	free(reports);
	free(conns);
	/* The callback may have closed y (closing was set inside it) or started
	 * another pass; only a close requested earlier is ours to finish. */
	if (closing)
		close_handles(y);
}

static void conn_finished(struct sync_conn *sc)
{
	if (sc->finished)
		return;
	sc->finished = true;
	struct sync *y = sc->y;
	for (size_t i = 0; i < y->n_conns; i++)
		if (!y->conns[i].finished)
			return;
	uv_timer_start(&y->finish_timer, finish_cb, 0, 0);
}

/* ------------------------------------------------------------ operations */

static const char *now_iso(char buf[32])
{
	ts_now_iso(buf);
	return buf;
}

static void op_free(struct sync_op *op)
{
	free(op->group_key);
	free(op->settle_note);
	remote_issue_clear(&op->settled);
	outbox_op_clear(&op->row);
	ticket_source_free(op->task);
	free(op);
}

static void fill_remote(struct outbox_remote *o, const struct config_connector *cc,
                        const struct remote_issue *i)
{
	memset(o, 0, sizeof(*o));
	o->connector = cc->name;
	o->key = i->key;
	o->id = i->id;
	o->url = i->url;
	o->marker = i->marker;
	o->status = i->status;
	o->status_category = i->status_category;
	o->resolution = i->resolution;
	o->updated = i->updated;
	o->actor = i->actor;
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

/* The same, then pump again. */
static void op_end(struct sync_op *op)
{
	struct sync_conn *sc = op->sc;
	op_retire(op);
	pump(sc);
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
	struct outbox_remote o;
	if (op->settle_seen)
		fill_remote(&o, sc->cfg, &op->settled);
	ts_err_clear(&op->settle_err);
	if (op->settle_link) {
		int64_t ticket = 0;
		int rc = outbox_link(sc->y->s, &op->row, op->task->marker, &o, op->settle_hash,
		                     now_iso(now), &ticket, &op->settle_err);
		/* The other open tasks of the group share the ticket just made. */
		if (rc == 0 && op->group_key)
			rc = grouping_link_members(sc->y->s, op->group_by, op->row.project_id,
			                           op->group_key, ticket, NULL, &op->settle_err);
		return rc;
	}
	return outbox_complete(sc->y->s, &op->row, op->settle_hash, op->settle_seen ? &o : NULL,
	                       op->settle_note, now_iso(now), &op->settle_err);
}

/* Inside the group commit: claims the rows that take the places of the
 * connector's settled operations. */
static void settle_claim(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	unsigned limit = (unsigned)(sc->cfg->concurrency > 0 ? sc->cfg->concurrency : 1);
	unsigned busy = sc->inflight - sc->n_settling;
	if (y->cancelling || sc->finished || sc->polling || busy >= limit ||
	    (sc->drained && !sc->settle_cm_row))
		return;
	char now[32];
	struct ts_err err = {0};
	int rc = outbox_claim(y->s, sc->cfg->name, y->pass_wall_ms - 1, limit - busy, now_iso(now),
	                      &sc->claimed, &sc->n_claimed, &err);
	if (rc < 0)
		store_error(y, rc, &err);
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
			store_error(y, store_fail(y->s, "commit sync results", &err), &err);
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
			store_error(y, op->settle_rc, &op->settle_err);
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
		struct outbox_op *rows = sc->claimed;
		size_t n = sc->n_claimed;
		sc->claimed = NULL;
		sc->n_claimed = 0;
		for (size_t k = 0; k < n; k++)
			op_start(sc, &rows[k]);
		free(rows);
		sc->pumping = false;
		pump(sc);
	}
}

static void op_reschedule(struct sync_op *op, const struct connector_result *r, const char *what,
                          bool unknown)
{
	struct sync_conn *sc = op->sc;
	struct sync *y = sc->y;
	char now[32];
	int64_t delay = ts_backoff_ms(op->row.attempts, y->opts.backoff_base_ms,
	                              y->opts.backoff_max_ms, next_rand(y));
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
	                     sc->cfg->max_attempts, ts_now_ms(), now_iso(now), &dead, &err);
	if (rc < 0) {
		store_error(y, rc, &err);
	} else if (dead) {
		sc->rep->dead++;
		event(y, SYNC_EVENT_WARNING,
		      "connector %s: outbox row %lld (%s %s) is dead after %d attempts: %s",
		      sc->cfg->name, (long long)op->row.id, op->row.op,
		      op->task ? op->task->cm_uid : "-", op->row.attempts + 1, msg);
	} else {
		sc->rep->rescheduled++;
		event(y, SYNC_EVENT_INFO,
		      "connector %s: outbox row %lld (%s %s) failed, retry in %lld ms: %s",
		      sc->cfg->name, (long long)op->row.id, op->row.op,
		      op->task ? op->task->cm_uid : "-", (long long)delay, msg);
	}
	set_error(sc, msg);
	op_end(op);
}

static void op_release(struct sync_op *op, bool unknown)
{
	struct sync_conn *sc = op->sc;
	char now[32];
	struct ts_err err = {0};
	int rc = outbox_release(sc->y->s, &op->row, unknown || op->row.outcome_unknown,
	                        now_iso(now), &err);
	if (rc < 0)
		store_error(sc->y, rc, &err);
	else
		sc->rep->released++;
	op_end(op);
}

static void op_kill(struct sync_op *op, const char *msg)
{
	struct sync_conn *sc = op->sc;
	char now[32];
	struct ts_err err = {0};
	int rc = outbox_kill(sc->y->s, &op->row, msg, now_iso(now), &err);
	if (rc < 0) {
		store_error(sc->y, rc, &err);
	} else {
		sc->rep->dead++;
		event(sc->y, SYNC_EVENT_WARNING, "connector %s: outbox row %lld (%s) is dead: %s",
		      sc->cfg->name, (long long)op->row.id, op->row.op, msg);
	}
	set_error(sc, msg);
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
	const char *reason = json_string_value(json_object_get(op->row.payload, "reason"));
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
		sc->ops->comment(sc->conn, op->row.remote_key,
		                 json_string_value(json_object_get(op->row.payload, "text")), op_cb,
		                 op);
		break;
	}
}

static const char *stage_name(enum op_stage s)
{
	static const char *const names[] = {"find marker", "create", "update",
	                                    "close",       "reopen", "comment"};
	return names[s];
}

static void op_cb(void *ud, const struct connector_result *r)
{
	struct sync_op *op = ud;
	struct sync_conn *sc = op->sc;
	if (r->http_status > 0)
		sc->rep->answered++;
	bool create_like = op->stage == STAGE_CREATE || op->stage == STAGE_FIND;
	switch (r->status) {
	case CONNECTOR_OK:
		break;
	case CONNECTOR_CANCELLED:
		/* A create may have been sent: resolve by marker next time. */
		op_release(op, op->stage == STAGE_CREATE);
		return;
	case CONNECTOR_UNKNOWN:
		op_reschedule(op, r, stage_name(op->stage), create_like);
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
		store_error(y, rc, &err);
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
	const char *kind = op->row.op;
	char note[300];
	bool ended = false;
	if (strcmp(kind, "create") == 0) {
		if (p.task_linked) {
			snprintf(note, sizeof(note), "already linked to the group's ticket %s",
			         p.ticket_key ? p.ticket_key : "(no key)");
			op_complete(op, NULL, NULL, note, NULL);
			ended = true;
		} else if (!p.ticket_key) {
			op->stage = op->row.outcome_unknown ? STAGE_FIND : STAGE_CREATE;
		} else {
			op->group_join = true;
			op->group_update_after = p.ticket_closed;
			op->stage = p.ticket_closed ? STAGE_REOPEN : STAGE_UPDATE;
		}
	} else if (!p.ticket_key) {
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
		op->stage = p.n_open > 0 ? STAGE_UPDATE : STAGE_CLOSE;
	} else if (strcmp(kind, "reopen") == 0) {
		op->group_update_after = p.ticket_closed;
		op->stage = p.ticket_closed ? STAGE_REOPEN : STAGE_UPDATE;
	} else if (!json_is_string(json_object_get(op->row.payload, "text"))) {
		op_kill(op, "comment without payload.text");
		ended = true;
	} else {
		op->stage = STAGE_COMMENT;
	}
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
static void op_start(struct sync_conn *sc, struct outbox_op *row)
{
	struct sync *y = sc->y;
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
		struct ts_err err = {0};
		int rc = ticket_source_load_cached(y->s, y->texts, op->row.countermeasure_id,
		                                   &op->task, &err);
		if (rc < 0) {
			if (err.code == TS_E_NOTFOUND) {
				op_kill(op, err.msg);
			} else {
				store_error(y, rc, &err);
				op_release(op, false);
			}
			return;
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
	} else if (strcmp(kind, "comment") != 0) {
		op_kill(op, "the row names no task");
		return;
	}
	if (op->task && grouping_enabled(proj->group_by)) {
		op->group_by = proj->group_by;
		if (group_begin(op))
			return;
	}

	bool has_ticket = op->row.remote_key != NULL;
	if (strcmp(kind, "create") == 0) {
		if (has_ticket) {
			char note[300];
			snprintf(note, sizeof(note), "already linked to %s", op->row.remote_key);
			op_complete(op, NULL, NULL, note, NULL);
			return;
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
		return;
	} else if (strcmp(kind, "update") == 0) {
		op->stage = STAGE_UPDATE;
	} else if (strcmp(kind, "close") == 0) {
		op->stage = STAGE_CLOSE;
	} else if (strcmp(kind, "reopen") == 0) {
		op->stage = STAGE_REOPEN;
	} else {
		if (!json_is_string(json_object_get(op->row.payload, "text"))) {
			op_kill(op, "comment without payload.text");
			return;
		}
		op->stage = STAGE_COMMENT;
	}
	op_send(op);
}

/* Claims due rows while there is room, then moves on to polling. */
static void pump(struct sync_conn *sc)
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
		unsigned limit = (unsigned)(sc->cfg->concurrency > 0 ? sc->cfg->concurrency : 1);
		while (!y->cancelling && !sc->drained && !sc->polling && sc->inflight < limit) {
			struct outbox_op *rows = NULL;
			size_t n = 0;
			char now[32];
			struct ts_err err = {0};
			int rc = outbox_claim(y->s, sc->cfg->name, y->pass_wall_ms - 1,
			                      limit - sc->inflight, now_iso(now), &rows, &n, &err);
			if (rc < 0) {
				store_error(y, rc, &err);
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
	if (y->cancelling)
		conn_finished(sc);
	else if (sc->drained)
		start_poll(sc);
}

/* ------------------------------------------------------------ polling */

static void poll_scope(struct sync_conn *sc, const char *page);

static void poll_next(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	free(sc->since);
	sc->since = NULL;
	if (y->cancelling || sc->scope >= sc->n_scopes) {
		conn_finished(sc);
		return;
	}
	if (!y->pass.reconcile) {
		struct ts_err err = {0};
		int rc =
		    ticket_cursor_get(y->s, sc->cfg->name, sc->scopes[sc->scope], &sc->since, &err);
		if (rc < 0) {
			store_error(y, rc, &err);
			conn_finished(sc);
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
		conn_finished(sc);
		return;
	}
	if (r->status != CONNECTOR_OK) {
		sc->rep->poll_errors++;
		char msg[1200];
		snprintf(msg, sizeof(msg), "poll %s: %s%s", scope,
		         r->http_status ? "HTTP error: " : "", r->error[0] ? r->error : "failed");
		set_error(sc, msg);
		event(y, SYNC_EVENT_WARNING,
		      "connector %s: %s (the cursor stays; next pass retries)", sc->cfg->name, msg);
		sc->scope++;
		poll_next(sc);
		return;
	}
	char now[32];
	now_iso(now);
	const char *source = y->pass.reconcile ? "reconcile" : "poll";
	struct ts_err err = {0};
	int rc = store_begin(y->s);
	if (rc < 0)
		rc = store_fail(y->s, "apply polled changes", &err);
	for (size_t i = 0; rc == 0 && i < r->n_issues; i++) {
		struct outbox_remote o;
		fill_remote(&o, sc->cfg, &r->issues[i]);
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
		store_error(y, rc, &err);
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
		set_error(sc, c->last_error);
		event(y, SYNC_EVENT_WARNING, "connector %s: reconcile: %s", sc->cfg->name,
		      c->last_error);
	}
	if (c->store_error)
		store_error(y, c->store_error, &c->err);
	if (!c->cancelled && !c->store_error) {
		char now[32];
		struct ts_err err = {0};
		now_iso(now);
		int rc = ticket_cursor_set(y->s, sc->cfg->name, RECONCILE_SCOPE, now, now, &err);
		if (rc < 0)
			store_error(y, rc, &err);
		event(y, SYNC_EVENT_INFO,
		      "connector %s: reconciled %u ticket(s): %u task(s) took the tracker's "
		      "status, %u kept threatsync's (%u operation(s) queued), %u ticket(s) "
		      "vanished, %u re-created, %u read error(s)",
		      sc->cfg->name, c->tickets, c->remote_won, c->local_won, c->queued,
		      c->vanished, c->recreated, c->errors);
	}
	/* Drain what the walk queued, then finish (start_poll sees reconciled). */
	sc->polling = false;
	sc->drained = false;
	pump(sc);
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
	now_iso(now);
	int rc = ticket_cursor_get(y->s, sc->cfg->name, RECONCILE_SCOPE, &last, &err);
	if (rc < 0) {
		store_error(y, rc, &err);
		return false;
	}
	int64_t last_ms;
	bool due = false;
	if (!last || http_iso8601_parse(last, &last_ms) < 0) {
		rc = ticket_cursor_set(y->s, sc->cfg->name, RECONCILE_SCOPE, now, now, &err);
		if (rc < 0)
			store_error(y, rc, &err);
	} else {
		due = ts_now_ms() - last_ms >= (int64_t)sc->cfg->reconcile_interval_s * 1000;
	}
	free(last);
	return due;
}

static void start_poll(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	sc->polling = true;
	if (sc->reconciled) {
		conn_finished(sc);
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
		conn_finished(sc);
		return;
	}
	sc->scope = 0;
	poll_next(sc);
}

/* ------------------------------------------------------------ the pass */

static void collect_scopes(struct sync_conn *sc)
{
	const struct config *cfg = sc->y->cfg;
	sc->scopes = ts_calloc(cfg->n_projects + 1, sizeof(*sc->scopes));
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct config_project *p = &cfg->projects[i];
		if (!p->connector || strcmp(p->connector, sc->cfg->name) != 0 ||
		    !p->tracker_project)
			continue;
		bool dup = false;
		for (size_t k = 0; k < sc->n_scopes && !dup; k++)
			dup = strcmp(sc->scopes[k], p->tracker_project) == 0;
		if (!dup)
			sc->scopes[sc->n_scopes++] = p->tracker_project;
	}
}

int sync_run_pass(struct sync *y, const struct sync_pass_opts *o, sync_done_cb done_cb, void *ud,
                  struct ts_err *err)
{
	if (y->closing)
		return -ECANCELED;
	if (y->running)
		return -EBUSY;
	const struct config *cfg = y->cfg;
	struct sync_pass_opts pass = o ? *o : (struct sync_pass_opts){0};
	if (pass.connector && !config_find_connector(cfg, pass.connector)) {
		ts_err_set(err, TS_E_USAGE, "no connector '%s' in %s", pass.connector,
		           cfg->path ? cfg->path : "the built-in configuration");
		return -ENOENT;
	}
	memset(&y->report, 0, sizeof(y->report));
	/* No pass is under way (the sync lock keeps other processes' passes
	 * out, and this one's last pass has ended): a row still in flight was
	 * left by a process that died, or by a result this process could not
	 * write (a database error). Either way its outcome is unknown; creates
	 * among them are looked up by marker first. Checked before every pass,
	 * so a long-running daemon heals without a restart. */
	char now[32];
	struct ts_err rerr = {0};
	int n = 0;
	int rc = outbox_recover(y->s, NULL, now_iso(now), &n, &rerr);
	if (rc < 0) {
		*err = rerr;
		return rc;
	}
	y->report.recovered = n;
	if (n > 0)
		event(
		    y, SYNC_EVENT_INFO,
		    "%d outbox row(s) were left in flight (a process that stopped, or a result "
		    "that could not be written); creates among them are looked up by marker first",
		    n);
	y->running = true;
	y->cancelling = false;
	y->started_ms = ts_monotonic_ms();
	y->started_cpu_us = cpu_us();
	y->pass_wall_ms = ts_now_ms();
	y->pass = pass;
	y->pass_connector = ts_strdup(pass.connector);
	y->pass.connector = y->pass_connector;
	y->done_cb = done_cb;
	y->done_ud = ud;
	y->conns = ts_calloc(cfg->n_connectors + 1, sizeof(*y->conns));
	y->reports = ts_calloc(cfg->n_connectors + 1, sizeof(*y->reports));
	y->n_conns = 0;
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct config_connector *cc = &cfg->connectors[i];
		if (pass.connector && strcmp(pass.connector, cc->name) != 0)
			continue;
		struct sync_conn *sc = &y->conns[y->n_conns];
		sc->rep = &y->reports[y->n_conns];
		y->n_conns++;
		sc->y = y;
		sc->cfg = cc;
		snprintf(sc->rep->name, sizeof(sc->rep->name), "%s", cc->name);
		collect_scopes(sc);
		sc->ops = connector_ops_for(cc->type);
		struct ts_err e = {0};
		if (!sc->ops) {
			set_error(sc, "no connector implementation for this type");
		} else if (sc->ops->open(y->http, cc, &sc->conn, &e) < 0) {
			sc->conn = NULL;
			set_error(sc, e.msg);
			event(y, SYNC_EVENT_WARNING, "connector %s: %s", cc->name, e.msg);
		} else {
			sc->rep->opened = true;
			if (y->opts.opened_cb)
				y->opts.opened_cb(y->opts.opened_ud, cc, sc->conn);
		}
		if (!sc->conn) {
			sc->drained = true;
			sc->polling = true;
			sc->finished = true;
		}
	}
	bool any = false;
	for (size_t i = 0; i < y->n_conns; i++)
		any |= !y->conns[i].finished;
	if (!any) {
		uv_timer_start(&y->finish_timer, finish_cb, 0, 0);
		return 0;
	}
	for (size_t i = 0; i < y->n_conns; i++)
		pump(&y->conns[i]);
	return 0;
}

/* ------------------------------------------------------------ report */

json_t *sync_report_json(const struct sync_report *rep)
{
	json_t *list = json_array();
	for (size_t i = 0; i < rep->n_connectors; i++) {
		const struct sync_connector_report *c = &rep->connectors[i];
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:b, s:b, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i},"
		              " s:{s:i, s:i, s:i, s:i}, s:i, s:i, s:s?}",
		              "connector", c->name, "opened", c->opened, "unreachable",
		              c->unreachable, "outbox", "created", c->created, "adopted",
		              c->adopted, "updated", c->updated, "closed", c->closed, "reopened",
		              c->reopened, "commented", c->commented, "rescheduled", c->rescheduled,
		              "dead", c->dead, "released", c->released, "poll", "requests",
		              c->poll_requests, "errors", c->poll_errors, "issues", c->polled,
		              "status_changes", c->changed, "operations", c->operations, "answered",
		              c->answered, "last_error", c->last_error[0] ? c->last_error : NULL));
		if (c->reconciled)
			json_object_set_new(
			    json_array_get(list, json_array_size(list) - 1), "reconcile",
			    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "tickets",
			              c->rec_tickets, "remote_won", c->rec_remote_won, "local_won",
			              c->rec_local_won, "queued", c->rec_queued, "vanished",
			              c->rec_vanished, "recreated", c->rec_recreated, "errors",
			              c->rec_errors));
	}
	/* Rounded to 0.1 ms: the figure is a measurement, not an identity. */
	return json_pack("{s:o, s:b, s:i, s:I, s:f, s:s?}", "connectors", list, "cancelled",
	                 rep->cancelled, "recovered", rep->recovered, "duration_ms",
	                 (json_int_t)rep->duration_ms, "cpu_ms",
	                 (double)(int64_t)(rep->cpu_ms * 10.0 + 0.5) / 10.0, "store_error",
	                 rep->store_error ? rep->err.msg : NULL);
}

/* ------------------------------------------------------------ lock */

int sync_lock_acquire(const char *database, int *ret_fd, struct ts_err *err)
{
	*ret_fd = -1;
	if (!database || strcmp(database, ":memory:") == 0)
		return 0;
	char *path = ts_asprintf("%s.sync-lock", database);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		ts_err_set(err, TS_E_CREATE, "sync lock %s: %s", path, strerror(e));
		free(path);
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			ts_err_set(
			    err, TS_E_BUSY,
			    "sync lock %s: another process (the daemon or another `threatsync "
			    "sync`) is syncing this database",
			    path);
		else
			ts_err_set(err, TS_E_IO, "sync lock %s: %s", path, strerror(e));
		free(path);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	free(path);
	*ret_fd = fd;
	return 0;
}

void sync_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
