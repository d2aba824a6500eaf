/* SPDX-License-Identifier: Apache-2.0 */
/* The sync pass on a libuv loop: drain the outbox through each connector
 * within its concurrency, then poll each tracker project for changed tickets
 * and apply their status. `threatsync sync --once` and the daemon drive it. */
#ifndef TS_CONNECTORS_SYNC_H
#define TS_CONNECTORS_SYNC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "connectors/http.h"
#include "engine/config.h"
#include "engine/store/store.h"
#include "engine/util.h"

struct sync;

/* NOTICE: a pause ended; ERROR: a pause started (a permanent refusal that
 * needs an operator: docs/sync.md). */
enum sync_event_level {
	SYNC_EVENT_DEBUG,
	SYNC_EVENT_INFO,
	SYNC_EVENT_NOTICE,
	SYNC_EVENT_WARNING,
	SYNC_EVENT_ERROR,
};

struct sync_opts {
	int64_t backoff_base_ms; /* first retry delay cap of a failed operation [1000] */
	int64_t backoff_max_ms;  /* largest retry delay [300000] */
	uint64_t seed;           /* jitter PRNG; 0: from the clock */
	/* Optional: called on notable events (an operation failed or died, a
	 * poll failed) with a one-line message without secrets; the caller
	 * decides whether to log. Borrowed message. */
	void (*event_cb)(void *ud, enum sync_event_level level, const char *msg);
	void *event_ud;
	/* Optional: called right after a connector is opened, for tests and
	 * tuning (e.g. jira_set_lookup_retry). */
	void (*opened_cb)(void *ud, const struct config_connector *cc, void *conn);
	void *opened_ud;
};

struct sync_pass_opts {
	const char *connector; /* only this connector; NULL: every one */
	bool reconcile;        /* instead of polling, walk every linked ticket and reconcile
	                        * it (engine/tracking/reconcile.h: the most recent change wins,
	                        * history rows say source "reconcile"), then drain the
	                        * operations that queued */
	bool recreate;         /* with reconcile: tickets the tracker lost (404) get their
	                        * open tasks' creates queued again */
	bool reconcile_due;    /* reconcile (instead of polling) the connectors whose
	                        * reconcile_interval_s has passed since their last
	                        * reconciliation (the daemon's periodic pass) */
	bool push_only;        /* drain the outbox only, no polling */
	bool skip_unpolled;    /* do not poll connectors whose poll_interval_s is 0 */
};

/* What one connector did in a pass. */
struct sync_connector_report {
	char name[72];
	bool opened;               /* false: open failed (see last_error) */
	unsigned created, adopted; /* tickets created; found by marker and linked */
	unsigned updated, closed, reopened, commented;
	unsigned rescheduled; /* attempts that failed and were scheduled again */
	unsigned dead;        /* rows that became dead */
	unsigned released;    /* rows put back to pending (cancelled) */
	unsigned polled;      /* issues received by polling */
	unsigned changed;     /* task statuses changed by polling */
	unsigned poll_requests, poll_errors;
	unsigned operations; /* connector calls made (ops and polls) */
	unsigned answered;   /* of those, how many got an HTTP answer */
	bool reconciled;     /* a reconciliation walk ran (connectors/reconcile.h) */
	unsigned rec_tickets, rec_remote_won, rec_local_won, rec_queued, rec_vanished,
	    rec_recreated, rec_errors;
	bool unreachable; /* calls were made and none got an answer */
	char last_error[512];
	/* Pauses after a permanent refusal (docs/sync.md), at the end of the pass. */
	bool paused;            /* the whole connector: credentials or access refused */
	unsigned paused_scopes; /* tracker projects paused: missing or not visible */
	unsigned probes;        /* probe requests sent for pauses */
	long pause_status;      /* HTTP status of the pause below */
	char pause_scope[128];  /* "" for the connector's pause, else the first paused project */
	char pause_reason[512]; /* the tracker's words, no secrets */
};

struct sync_report {
	struct sync_connector_report *connectors; /* borrowed during the callback */
	size_t n_connectors;
	bool cancelled;
	int recovered;     /* rows found in flight at the start of the pass (a crash, or a
	                    * result a database error kept from being written) */
	int store_error;   /* 0, or the negative code of the first store error */
	struct ts_err err; /* its message */
	int64_t duration_ms;
	/* CPU time (user + system) of the process during the pass, ms. In the
	 * daemon it includes whatever else the loop served meanwhile. */
	double cpu_ms;
};

/* The pass callback: runs once, on the loop; rep is borrowed. */
typedef void (*sync_done_cb)(void *ud, const struct sync_report *rep);

/* New sync engine on loop, using http (borrowed; it must outlive the sync or
 * be closed first, which cancels in-flight work), store s (borrowed) and cfg
 * (borrowed: replace it with sync_set_config between passes). opts may be
 * NULL. Free with sync_close. Returns 0 or a negative libuv error. */
int sync_new(uv_loop_t *loop, struct http_client *http, struct store *s, const struct config *cfg,
             const struct sync_opts *opts, struct sync **ret);

/* Replaces the configuration; only between passes (-EBUSY during one). The
 * previous configuration must still be valid during the call: connectors
 * kept open whose connection cfg keeps (connector_ops.rebind) stay open and
 * take cfg; the others are closed, to be opened again by the next pass that
 * needs them. */
int sync_set_config(struct sync *y, const struct config *cfg);

/* Starts one pass: for each configured connector (o->connector filters):
 * open it unless an earlier pass left it open (connectors stay open across
 * passes until sync_set_config drops them or sync_close), drain its due
 * outbox rows keeping at most `concurrency` operations in flight (rows whose
 * connector holds them on a timer take no slot), then poll each tracker
 * project mapped to it, page by page, from its cursor, applying the remote
 * statuses; then call done_cb. The first pass first recovers rows a dead process left
 * inflight. Returns 0, -EBUSY (a pass is running), -ENOENT (o->connector is
 * not configured; err says so) or -ECANCELED (closing). done_cb never runs
 * when this fails. The caller must hold the sync lock (sync_lock_acquire). */
int sync_run_pass(struct sync *y, const struct sync_pass_opts *o, sync_done_cb done_cb, void *ud,
                  struct ts_err *err);

bool sync_running(const struct sync *y);

/* Stops starting work: in-flight operations finish (or are cancelled when the
 * http client closes) and the pass completes with cancelled = true. */
void sync_cancel(struct sync *y);

/* Cancels a running pass (its done_cb still runs), closes the connectors it
 * keeps open, then releases y once its handles are closed; closed_cb (may be
 * NULL) runs then. Call it before closing the HTTP client, or the connectors'
 * endpoints outlive it until then. NULL y is a no-op. */
void sync_close(struct sync *y, void (*closed_cb)(void *ud), void *ud);

/* The report as a new JSON document (schema/sync.schema.json). */
json_t *sync_report_json(const struct sync_report *rep);

/* The sync lock: one process drains an outbox at a time (the daemon, or
 * `threatsync sync --once`). An advisory lock (flock) on DATABASE.sync-lock,
 * released when the process dies. Returns 0 with *ret_fd (-1 for an
 * in-memory database), -EWOULDBLOCK when another process holds it, or
 * another negative errno with err naming the file. */
int sync_lock_acquire(const char *database, int *ret_fd, struct ts_err *err);
void sync_lock_release(int fd); /* -1 is a no-op */

/* One pass with po on a private loop, run to completion: takes the sync lock
 * on s's database (TS_E_BUSY while the daemon or another sync holds it), runs
 * the pass with so's options and event callback (so may be NULL), closes every
 * handle and releases the lock. On 0 and on a database error during the pass
 * (its code, err filled) *ret_report is the pass report (sync_report_json,
 * new) and *ret_unavailable whether a connector could not be opened or got no
 * answer; otherwise *ret_report is NULL and err says why (TS_E_USAGE for an
 * unknown po->connector, TS_E_SYSTEM when the loop or client cannot start).
 * Paused connectors (docs/sync.md) are probed at once, whatever their
 * next probe time. A connector still paused at the end is an error with the
 * report too: TS_E_DENIED when its credentials or access were refused,
 * TS_E_UNAVAILABLE when one of its tracker projects is missing; err names
 * the connector and gives the tracker's words. */
int sync_once(struct store *s, const struct config *cfg, const struct sync_pass_opts *po,
              const struct sync_opts *so, json_t **ret_report, bool *ret_unavailable,
              struct ts_err *err);

#endif
