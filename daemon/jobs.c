/* SPDX-License-Identifier: Apache-2.0 */
/* Periodic jobs of the daemon and their table. */
#include "daemon/jobs.h"

#include <sqlite3.h>

#include "daemon/daemon.h"
#include "daemon/sync_job.h"
#include "engine/log.h"

static const char SQL_WAL_CHECKPOINT[] = "PRAGMA wal_checkpoint(PASSIVE)";

int jobs_wal_checkpoint(struct store *s, int *ret_log, int *ret_done, int *ret_busy,
                        struct ts_err *err)
{
	/* A statement of ours left mid-rows holds a read snapshot that would pin
	 * the WAL: end it first. */
	store_release(s);
	sqlite3_stmt *st = store_prepare(s, SQL_WAL_CHECKPOINT);
	if (!st)
		return store_fail(s, "prepare wal_checkpoint", err);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int r = store_fail(s, "wal_checkpoint", err);
		sqlite3_reset(st);
		return r;
	}
	/* One row: busy flag, WAL size in frames, frames checkpointed. */
	if (ret_busy)
		*ret_busy = sqlite3_column_int(st, 0);
	if (ret_log)
		*ret_log = sqlite3_column_int(st, 1);
	if (ret_done)
		*ret_done = sqlite3_column_int(st, 2);
	sqlite3_reset(st);
	return 0;
}

static void wal_checkpoint_job_cb(void *ctx)
{
	struct daemon *d = ctx;
	struct ts_err err = {0};
	int log_frames = 0, done = 0, busy = 0;
	if (jobs_wal_checkpoint(d->store, &log_frames, &done, &busy, &err) < 0) {
		log_warning("wal checkpoint failed: %s", err.msg);
		return;
	}
	log_debug("wal checkpoint wal_frames=%d checkpointed=%d busy=%d", log_frames, done, busy);
}

static const struct cron_job table[] = {
    {"wal-checkpoint", JOBS_WAL_CHECKPOINT_PERIOD_MS, wal_checkpoint_job_cb},
    {"sync", SYNC_JOB_TICK_MS, sync_job_tick},
};

const struct cron_job *jobs_table(size_t *ret_n)
{
	*ret_n = TS_ARRAY_SIZE(table);
	return table;
}
