/* SPDX-License-Identifier: Apache-2.0 */
/* The outbox, the queue of ticket operations and its one writer: rows are
 * enqueued (generation, overrides, link, reconciliation), then move pending →
 * inflight → done | failed(retry at) | dead as the sync pass
 * (connectors/sync.c) drives them. No network. Tickets are in ticket.h, remote
 * state applied to tasks in remote_apply.h, `threatsync status` in
 * status_report.h. */
#ifndef TS_ENGINE_OUTBOX_H
#define TS_ENGINE_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/store/rowbatch.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* Payload key set on a row whose last attempt may or may not have reached
 * the tracker (the process died, the connection broke, the pass was
 * cancelled): a create with it is resolved by a marker lookup first. */
#define OUTBOX_UNKNOWN_KEY "outcome_unknown"

/* One claimed row. Strings and payload owned by the row (outbox_ops_free). */
struct outbox_op {
	int64_t id;
	int64_t project_id;
	char *project_slug;
	char *connector;
	char *op;                  /* create | update | close | reopen | comment | ... */
	int64_t countermeasure_id; /* 0 when none */
	int64_t ticket_id;         /* the task's ticket (or the row's), 0 when none yet */
	char *remote_key;          /* that ticket's key, NULL when none */
	json_t *payload;           /* the row's payload object (reason, text, flags) */
	int attempts;              /* attempts before this one */
	bool outcome_unknown;      /* OUTBOX_UNKNOWN_KEY was set */
};

/* A row to enqueue. All borrowed. */
struct outbox_entry {
	int64_t project_id;
	const char *connector;     /* required */
	const char *op;            /* create | update | close | reopen | comment | ... */
	int64_t countermeasure_id; /* 0 when none */
	int64_t ticket_id;         /* 0 when none yet */
	const char *payload;       /* JSON object text (reason, flags); NULL: {} */
	size_t payload_len;        /* bytes of payload; 0: strlen(payload) */
};

/* Queues e as a pending row due at once, created at now. The one INSERT into
 * the outbox: a cached statement bound without copies and no allocation, as
 * generation enqueues thousands of rows; e's strings need only live for the
 * call. */
int outbox_enqueue(struct store *s, const struct outbox_entry *e, const char *now,
                   struct ts_err *err);

/* The same rows queued (values copied) in a batch of outbox_batch for a
 * writer of many, which writes them with rowbatch_flush once their tasks are
 * written. */
struct rowbatch *outbox_batch(void);
void outbox_queue(struct rowbatch *b, const struct outbox_entry *e, const char *now);

/* Frees n rows and the array. NULL is a no-op. A caller may instead move
 * rows out (struct copy), free each with outbox_op_clear, and free(ops). */
void outbox_ops_free(struct outbox_op *ops, size_t n);
void outbox_op_clear(struct outbox_op *op);

/* Start-up recovery: rows left inflight by a process that died are put back
 * to pending with OUTBOX_UNKNOWN_KEY set, so a create is looked up by its
 * marker before it is sent again. connector NULL: every connector. Only call
 * while holding the sync lock (no other process drains this outbox).
 * *ret_n (may be NULL) receives the number of rows recovered. */
int outbox_recover(struct store *s, const char *connector, const char *now, int *ret_n,
                   struct ts_err *err);

/* Claims, in one transaction, up to limit due rows of connector (pending, or
 * failed with next_attempt_at <= now_ms), oldest due first, and marks them
 * inflight. A row waits while an earlier row of the same task is not finished,
 * so a task's operations reach the tracker in order (an update never overtakes
 * the create it needs). *ret_ops is a new array (NULL when none; free with
 * outbox_ops_free). */
int outbox_claim(struct store *s, const char *connector, int64_t now_ms, size_t limit,
                 const char *now, struct outbox_op **ret_ops, size_t *ret_n, struct ts_err *err);

/* The same, leaving out the rows of the projects named in skip_projects, a
 * JSON array of project slugs (NULL: none); the sync pass skips the projects
 * whose tracker project is paused (engine/tracking/pause.h). skip_projects
 * is borrowed for the call. */
int outbox_claim_except(struct store *s, const char *connector, const char *skip_projects,
                        int64_t now_ms, size_t limit, const char *now, struct outbox_op **ret_ops,
                        size_t *ret_n, struct ts_err *err);

/* What a tracker says about a ticket. All borrowed; any may be NULL. It
 * carries no task status: the state is mapped by task_status_map inside
 * outbox_apply_remote and reconcile_apply, with the connector's fieldmap, so
 * no caller can map it another way. */
struct outbox_remote {
	const char *connector; /* required */
	const char *key;
	const char *id;
	const char *url;
	const char *marker;
	const char *status;
	const char *status_category; /* new | indeterminate | done */
	const char *resolution;
	const char *updated; /* the tracker's timestamp, verbatim */
	const char *actor;
	const char *comment; /* latest comment text, used as a risk acceptance reason */
};

/* A create finished (or its marker was found): in one transaction, the
 * ticket row (connector, marker) is recorded with r (ticket_upsert), the
 * task's countermeasures.ticket_id points at it, and the row becomes done.
 * content_hash (may be NULL) is the text written. *ret_ticket (may be NULL)
 * receives the ticket row id. */
int outbox_link(struct store *s, const struct outbox_op *op, const char *marker,
                const struct outbox_remote *r, const char *content_hash, const char *now,
                int64_t *ret_ticket, struct ts_err *err);

/* The row is done. When op has a ticket: content_hash (may be NULL) is
 * recorded as the text last written, and seen (may be NULL) refreshes the
 * ticket's remote status and timestamp (so the poll does not report
 * threatsync's own write back as a change). note (may be NULL) is kept in
 * last_error for the record ("nothing to close: no ticket"). */
int outbox_complete(struct store *s, const struct outbox_op *op, const char *content_hash,
                    const struct outbox_remote *seen, const char *note, const char *now,
                    struct ts_err *err);

/* An attempt failed: attempts is incremented, message (the tracker's own
 * words; never a secret) kept in last_error, and the row becomes failed with
 * next_attempt_at = now_ms + delay_ms, or dead once attempts reaches
 * max_attempts. unknown sets OUTBOX_UNKNOWN_KEY (it is never cleared here:
 * only a successful lookup or create clears it). *ret_dead (may be NULL) tells
 * which. */
int outbox_fail(struct store *s, const struct outbox_op *op, const char *message, bool unknown,
                int64_t delay_ms, int max_attempts, int64_t now_ms, const char *now, bool *ret_dead,
                struct ts_err *err);

/* Puts an inflight row back to pending without counting an attempt (the pass
 * was cancelled); unknown as for outbox_fail. */
int outbox_release(struct store *s, const struct outbox_op *op, bool unknown, const char *now,
                   struct ts_err *err);

/* Marks a row dead at once with message (an operation that can never run). */
int outbox_kill(struct store *s, const struct outbox_op *op, const char *message, const char *now,
                struct ts_err *err);

/* Re-queues rows on purpose (`threatsync outbox retry`), in one transaction:
 * the failed rows of project slug (NULL: every project) become due now,
 * their attempts kept; with dead, the dead rows become pending again with
 * their attempts reset to 0. Rows keep their last_error and their
 * OUTBOX_UNKNOWN_KEY flag (a create whose outcome was unknown is still
 * looked up by marker first). TS_E_NOTFOUND for an unknown slug.
 * *ret_failed and *ret_dead (may be NULL) receive the numbers re-queued. */
int outbox_retry(struct store *s, const char *slug, bool dead, const char *now,
                 int *ret_failed, int *ret_dead, struct ts_err *err);

/* Whether connector (NULL: any) has a row due at now_ms; the rows of a
 * connector paused as a whole (engine/tracking/pause.h) are not due. */
int outbox_has_due(struct store *s, const char *connector, int64_t now_ms, bool *ret_due,
                   struct ts_err *err);

#endif
