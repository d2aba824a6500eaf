/* SPDX-License-Identifier: Apache-2.0 */
/* The state of a sync pass shared by its files: the pass and its life cycle
 * (sync.c), the operations and their group commit (sync_op.c), and polling
 * with the reconciliation walk (sync_poll.c). Not for other modules. */
#ifndef TS_CONNECTORS_SYNC_INTERNAL_H
#define TS_CONNECTORS_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "connectors/sync.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/pause.h"
#include "engine/tracking/ticket_source.h"
#include "engine/util.h"

#define SYNC_DEFAULT_BACKOFF_BASE_MS 1000
#define SYNC_DEFAULT_BACKOFF_MAX_MS (5 * 60 * 1000)

struct sync_conn;

enum op_stage {
	STAGE_FIND,
	STAGE_CREATE,
	STAGE_UPDATE,
	STAGE_CLOSE,
	STAGE_REOPEN,
	STAGE_COMMENT,
	STAGE_NOTICE, /* a notice's comment looked up before a reopen or comment is sent again */
};

/* One outbox row being worked on. */
struct sync_op {
	struct sync_conn *sc;
	struct outbox_op row;
	struct ticket_source *task; /* NULL for rows without a task */
	struct ticket_spec content;
	const char *tracker_project; /* borrowed from the configuration */
	enum op_stage stage;
	bool waiting; /* its connector holds it on a timer: counted in sc->waiting */
	/* A reopen or comment whose payload carries a notice (connector.h). */
	const char *notice;      /* payload.notice, borrowed from row; NULL: none */
	char *notice_text;       /* the reason or text with the notice's marker; owned */
	enum op_stage notice_to; /* the stage a lookup that finds nothing goes on to */
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

/* A pause of the connector or of one of its tracker projects
 * (engine/tracking/pause.h) as the pass knows it (sync_pause.c). */
struct sync_pause {
	char *scope; /* "" for the whole connector; owned */
	enum pause_kind kind;
	long http_status;
	char *reason; /* owned */
	bool due;     /* a probe may still be sent in this pass */
	bool ended;   /* a probe succeeded: requests flow again */
};

struct sync_conn {
	struct sync *y;
	const struct config_connector *cfg; /* borrowed from y->cfg */
	const struct connector_ops *ops;
	void *conn;
	struct sync_connector_report *rep;
	unsigned inflight;
	/* Of those, rows whose connector holds them on a timer without a request
	 * in flight (Jira's marker lookups waiting for the search index): they
	 * take no slot, so new rows are claimed meanwhile (sync_op_wait_cb). */
	unsigned waiting;
	bool drained; /* nothing more is due */
	bool pumping; /* inside sync_pump(): re-entry only asks for another round */
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
	/* Rows claimed one batch ahead, not started yet (sync_op.c): they take
	 * the slots freed by an iteration's answers before its group commit,
	 * so their requests are on the wire while the commit runs. Claimed
	 * (committed) before they are sent, like every row. */
	struct outbox_op *reserve;
	size_t n_reserve, reserve_head; /* rows reserve[reserve_head..n_reserve) wait */
	/* Pauses after a permanent refusal (sync_pause.c). */
	struct sync_pause *pauses;
	size_t n_pauses;
	bool paused_all;      /* the whole connector is paused: nothing is sent but its probe */
	char *skip_projects;  /* JSON array of the slugs of paused tracker projects, or NULL */
	struct sync_pause *probe; /* the pause being probed, or NULL */
	const char *probe_scope;  /* the tracker project its probe polls (borrowed) */
};

/* A connector kept open across passes, so its connection and what it
 * learned (Jira: the API user's time zone) survive from one pass to the
 * next; closed when the configuration drops or changes it, or by
 * sync_close. */
struct sync_kept {
	const struct config_connector *cfg; /* borrowed from sync->cfg */
	const struct connector_ops *ops;
	void *conn;
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
	struct sync_kept *kept;     /* open connectors, across passes */
	size_t n_kept;
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

/* ---- sync.c ---- */

/* The next value of the pass's jitter PRNG. */
uint64_t sync_next_rand(struct sync *y);
/* Reports an event through opts.event_cb (when set). */
void sync_event(struct sync *y, enum sync_event_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records the pass's first database error in the report and reports it. */
void sync_store_error(struct sync *y, int rc, const struct ts_err *err);
/* The connector's last error in its report (truncated to fit). */
void sync_set_error(struct sync_conn *sc, const char *msg);
/* sc has nothing more to do; the pass ends (finish timer) when every
 * connector has finished. Idempotent. */
void sync_conn_finished(struct sync_conn *sc);

/* ---- sync_op.c ---- */

/* Rows held by their connector on a timer (sc->waiting) beyond which they
 * take slots again: a bound on the rows one connector has at work. */
#define SYNC_WAITING_MAX 256

/* The connector's wait_cb (connector_ops.set_wait_cb): the operation whose
 * ud is a struct sync_op stopped (waiting) or resumed sending requests. */
void sync_op_wait_cb(void *ud, bool waiting);

/* Starts as many due rows of sc as its limits allow; once nothing is due and
 * nothing is in flight, goes on to polling (or finishes when cancelling).
 * Re-entry from a callback only asks for another round. */
void sync_pump(struct sync_conn *sc);
/* Gives back the rows sc claimed ahead and did not start (the pass ends,
 * is cancelled or pauses the connector): pending again, attempts untouched. */
void sync_reserve_release(struct sync_conn *sc);

/* ---- sync_pause.c ---- */

/* Reads the pauses of sc's connector at the start of the pass; those of
 * tracker projects no longer mapped to it end. */
void sync_pause_load(struct sync_conn *sc);
/* Sends the probe of the next pause that is due, one at a time; when none is
 * left, goes on with the pass (sync_pump), or finishes sc while it is
 * paused as a whole. */
void sync_pause_probe(struct sync_conn *sc);
/* Whether a request in scope (a tracker project; NULL: any) must not be sent:
 * the connector or that project is paused. */
bool sync_paused(const struct sync_conn *sc, const char *scope);
/* r (CONNECTOR_DENIED or CONNECTOR_NO_SCOPE) refused a request in scope:
 * pauses the whole connector, or that tracker project on it, in the store
 * and for the rest of the pass, with an error event. Already paused: nothing
 * more. */
void sync_pause_begin(struct sync_conn *sc, const char *scope, const struct connector_result *r);
/* Fills sc's report with its pauses at the end of the pass and frees them. */
void sync_pause_finish(struct sync_conn *sc);

/* ---- sync_poll.c ---- */

/* The poll phase of sc: the reconciliation walk when it is asked for or due,
 * else each tracker project's changes since its cursor, page by page. */
void sync_start_poll(struct sync_conn *sc);

/* Now as an ISO time in buf, which it returns. */
static inline const char *sync_now_iso(char buf[32])
{
	ts_now_iso(buf);
	return buf;
}

#endif
