/* SPDX-License-Identifier: Apache-2.0 */
/* The database side of tracker sync: the outbox state machine (pending →
 * inflight → done | failed(retry at) | dead), ticket links, remote status
 * changes flowing back into tasks, poll cursors, and the counts of
 * `threatsync status`. No network: the sync pass (connectors/sync.c) drives it. */
#ifndef TS_ENGINE_OUTBOX_H
#define TS_ENGINE_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* What a tracker says about a ticket. All borrowed; any may be NULL. */
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
	/* The task status the connector's status_map gives for this state
	 * (fieldmap_task_status: a static string); NULL: the built-in
	 * outbox_status_for(status_category, resolution). */
	const char *task_status;
};

/* A create finished (or its marker was found): in one transaction, the
 * ticket row (connector, marker) is inserted or updated with r's key, id, url
 * and status, the task's countermeasures.ticket_id points at it, and the row
 * becomes done. content_hash (may be NULL) is the text written. *ret_ticket
 * (may be NULL) receives the ticket row id. */
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

/* Full-jitter exponential backoff: a delay in [0, min(max_ms, base_ms *
 * 2^attempts)] chosen by rnd (any 64-bit random value). */
int64_t outbox_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, uint64_t rnd);

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

/* The task status a tracker state maps to: resolution "Won't Do" / "Won't
 * Fix" (any case) → risk_accepted; else category new → todo, indeterminate →
 * in_progress, done → done; NULL when nothing maps. Static strings. */
const char *outbox_status_for(const char *category, const char *resolution);

/* Outcome of outbox_apply_remote. */
struct outbox_apply {
	bool matched;   /* a ticket of ours (by marker, else key) */
	bool duplicate; /* its remote_updated was already this: nothing done */
	int changed;    /* tasks whose status changed */
};

/* Sets the status of task cm_id (linked to ticket, 0 when none) to `to` as
 * the tracker's state r says, with a status_history row (source, actor,
 * remote_time, reason; reason NULL: the acceptance reason for risk_accepted
 * and not_applicable). risk_accepted and not_applicable record an override
 * with payload {"source": "tracker"} so regeneration keeps it; leaving such a
 * status revokes that override. from is the task's current status. Call
 * inside a transaction. */
int outbox_task_status_set(struct store *s, int64_t cm_id, int64_t ticket, const char *from,
                           const char *to, const struct outbox_remote *r, const char *source,
                           const char *reason, const char *now, struct ts_err *err);

/* Whether a task status belongs to the tracker (todo, in_progress, done, or a
 * risk acceptance / not applicable that came from the tracker, tracker_set). */
bool outbox_tracker_owned(const char *status, bool tracker_set);

/* Finds our ticket for a remote state, by marker, else by key: *ret_id (0 when
 * the ticket is not ours) and *ret_updated, the stored remote_updated (new;
 * NULL when none). */
int outbox_find_ticket(struct store *s, const struct outbox_remote *r, int64_t *ret_id,
                       char **ret_updated, struct ts_err *err);

/* Applies a remote ticket state (source: poll | webhook | reconcile). Call
 * inside a transaction (store_begin): a page of a poll is one transaction.
 * The ticket is found by marker, else by key; unknown tickets are ignored.
 * When r->updated equals the stored remote_updated nothing is written
 * (polls overlap). Otherwise the ticket's remote fields are stored and each
 * active task linked to it whose status the tracker owns (todo, in_progress,
 * done, or a risk acceptance / not applicable that came from the tracker)
 * takes the mapped status (r->task_status, else outbox_status_for), with a
 * status_history row (from, to, source, actor, remote_time).
 * risk_accepted and not_applicable record an override (reason: the
 * resolution or status and the comment, no expiry, payload {"source":
 * "tracker"}) so regeneration keeps it; leaving it revokes that override.
 * Statuses threatsync set itself (not applicable or risk accepted by a human,
 * satisfied) are never changed. */
int outbox_apply_remote(struct store *s, const struct outbox_remote *r, const char *source,
                        const char *now, struct outbox_apply *ret, struct ts_err *err);

/* Poll cursors per (connector, scope = tracker project). get: *ret_cursor is
 * new (NULL when none). */
int outbox_cursor_get(struct store *s, const char *connector, const char *scope, char **ret_cursor,
                      struct ts_err *err);
int outbox_cursor_set(struct store *s, const char *connector, const char *scope, const char *cursor,
                      const char *now, struct ts_err *err);

/* Whether connector (NULL: any) has a row due at now_ms. */
int outbox_has_due(struct store *s, const char *connector, int64_t now_ms, bool *ret_due,
                   struct ts_err *err);

/* The state of sync for `threatsync status` as a new document
 * (schema/status.schema.json): {"projects": [{"project", "tasks": {status: n},
 * "tasks_total", "tickets_linked", "outbox": {state: n}, "dead": [{"id", "op",
 * "task", "connector", "attempts", "last_error", "updated_at"}], "failing":
 * [same, for failed rows, with "next_attempt_at"]}], "connectors":
 * [{"connector", "last_poll", "scopes": [{"scope", "cursor", "updated_at"}]}]}.
 * slug NULL: every project; else TS_E_NOTFOUND when it does not exist. */
int outbox_status_json(struct store *s, const char *slug, json_t **ret_doc, struct ts_err *err);

#endif
