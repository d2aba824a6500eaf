/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's state and life cycle: one libuv loop that owns all work, the
 * current configuration, the store; start, reload (SIGHUP) and a graceful stop
 * (SIGTERM, SIGINT) with a bounded quiesce step. */
#ifndef TS_DAEMON_DAEMON_H
#define TS_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/cron.h"
#include "daemon/notify.h"
#include "engine/config.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* How long the loop waits for a database another process is writing. */
#define DAEMON_BUSY_TIMEOUT_MS 1000

enum daemon_state {
	DAEMON_STARTING,
	DAEMON_RUNNING,
	DAEMON_STOPPING, /* no new work; waiting for in-flight work or the deadline */
	DAEMON_CLOSING,  /* handles closing; the loop ends when they are closed */
};

/* Shared by the daemon's modules (cron jobs, later the sync pass and the HTTP
 * endpoint), which read cfg and store on the loop thread only. cfg is replaced
 * as a whole on reload: never keep a pointer into it across loop callbacks. */
struct daemon {
	uv_loop_t loop;
	char *config_path;   /* owned; NULL when running on built-in defaults */
	struct config *cfg;  /* owned, current */
	struct store *store; /* owned */
	struct httpd *httpd; /* owned: the HTTP endpoint (daemon/httpd.h), NULL when off */
	struct uploads *uploads; /* owned: scan uploads and the spool (daemon/uploads.h), NULL
	                          * when off */
	struct sync_job *sync_job; /* owned by daemon/sync_job.c while it runs, else NULL */
	struct metrics *metrics;   /* owned: the counters of GET /metrics (daemon/metrics.h) */
	struct checkpointer *checkpointer; /* owned: WAL checkpoints off the loop, or NULL */
	enum daemon_state state;

	uv_signal_t sig_term, sig_int, sig_hup;
	struct cron cron;
	struct notify_watchdog watchdog;
	uv_timer_t quiesce_timer; /* the shutdown deadline */
	bool quiesce_timer_initialized;

	int lock_fd; /* the instance lock on DATABASE.lock (daemon_new), -1 when none */
	/* The database as the daemon last found it when it wrote (GET /healthz
	 * "degraded"): the failure, since when, and how many in a row. */
	char storage_error[300]; /* "" while writes succeed */
	int64_t storage_failed_ms; /* wall clock of the first failure in a row, 0 when none */
	unsigned storage_failures;

	unsigned inflight; /* units of work started and not finished */
	unsigned reloads;  /* successful reloads, for STATUS= */
	unsigned reload_failures;
	int64_t started_ms; /* monotonic */
};

/* Creates the daemon: the loop, the signal handlers and the cron, and opens
 * (migrating) cfg->database, after taking the instance lock: an fcntl write
 * lock on DATABASE.lock, held until daemon_free, so a second threatsyncd on
 * the same database refuses to start (TS_E_BUSY, exit 75, naming the pid of
 * the one running). Takes ownership of cfg whatever the outcome;
 * config_path is copied (may be NULL: defaults, nothing to reload). On
 * failure returns a negative code with err filled (err.code an enum
 * ts_error such as TS_E_CREATE or TS_E_INVALID from the store) and *ret_d
 * untouched.
 * Free with daemon_free. */
int daemon_new(const char *config_path, struct config *cfg, struct daemon **ret_d,
               struct ts_err *err);

/* Announces readiness, runs the loop until a stop has closed every handle, and
 * returns 0 (a clean stop), or a negative code when the loop could not be
 * closed cleanly (a handle leaked: a bug, logged). */
int daemon_run(struct daemon *d);

/* Re-reads the configuration file into a new config and swaps it in whole, or
 * keeps the current one when the file is invalid. Keys that cannot change
 * while running (database, http.listen) keep their old values, with a warning. */
void daemon_reload(struct daemon *d);

/* Starts a graceful stop (idempotent; a second call while waiting for
 * in-flight work skips the wait). reason names the trigger for the log. */
void daemon_stop(struct daemon *d, const char *reason);

/* In-flight work accounting for the quiesce step: later modules call begin
 * when they accept a unit of work and end when it is finished; when the daemon
 * is stopping and the count drops to zero, the stop completes at once. */
void daemon_work_begin(struct daemon *d);
void daemon_work_end(struct daemon *d);

/* What the daemon's modules report after their writes to the database:
 * daemon_storage_failed with what was being written and the store's message
 * (the first failure in a row is logged at error level and shown by /healthz
 * as "degraded" until a write succeeds again; the work itself is retried by
 * its module), daemon_storage_ok after a write that succeeded (logs the
 * recovery once). */
void daemon_storage_failed(struct daemon *d, const char *what, const char *msg);
void daemon_storage_ok(struct daemon *d, const char *what);

/* Closes the store, frees the configuration and the daemon. Call after
 * daemon_run returned (the loop must have no live handles). NULL is a no-op. */
void daemon_free(struct daemon *d);

#endif
