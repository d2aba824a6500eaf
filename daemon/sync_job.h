/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's tracker sync job: one http client on the daemon's loop, a sync
 * pass right after start-up and then every min(poll_interval_s) of the
 * connectors, earlier push-only passes when the outbox has due rows, never
 * two passes at once, and a bounded stop. */
#ifndef TS_DAEMON_SYNC_JOB_H
#define TS_DAEMON_SYNC_JOB_H

#include <jansson.h>

/* How often the job looks at the clock and the outbox (one cheap SELECT). The
 * first look, right after start-up, runs the first pass. */
#define SYNC_JOB_TICK_MS 1000

/* The cron function (ctx: the struct daemon). On its first run it sets the job
 * up on the daemon's loop: its own copy of the configuration (re-read after
 * each successful reload, between passes), the http client, the sync lock on
 * the database (a `threatsync sync --once` holding it delays the daemon's
 * passes), and a work unit (daemon_work_begin) held until its handles are
 * closed, so the daemon's stop waits for it. When the daemon starts stopping,
 * the job stops starting work, lets in-flight requests finish for up to 3/4 of
 * shutdown_timeout_ms, then cancels them (their rows return to pending, a
 * create flagged "outcome unknown") and closes the http client. */
void sync_job_tick(void *ctx);

struct daemon;
/* The connectors and tracker projects paused after a permanent refusal, as
 * read at the end of the last sync pass (engine/tracking/pause.h): a JSON
 * array of pause_row_json objects with "connector", borrowed until the next
 * pass ends; NULL when nothing is paused or no pass has ended. */
const json_t *sync_job_pauses(const struct daemon *d);

#endif
