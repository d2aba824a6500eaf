/* SPDX-License-Identifier: Apache-2.0 */
/* Periodic jobs of the daemon and their table. */
#include "daemon/jobs.h"

#include "daemon/daemon.h"
#include "daemon/sync_job.h"
#include "engine/log.h"

static void wal_checkpoint_job_cb(void *ctx)
{
	struct daemon *d = ctx;
	struct ts_err err = {0};
	int log_frames = 0, done = 0, busy = 0;
	if (store_wal_checkpoint(d->store, &log_frames, &done, &busy, &err) < 0) {
		daemon_storage_failed(d, "wal checkpoint", err.msg);
		return;
	}
	daemon_storage_ok(d, "wal checkpoint");
	log_debug("wal checkpoint wal_frames=%d checkpointed=%d busy=%d", log_frames, done, busy);
}

static const struct cron_job table[] = {
    {"wal-checkpoint", JOBS_WAL_CHECKPOINT_PERIOD_MS, wal_checkpoint_job_cb, false},
    /* At once: a daemon restarted often (a crash loop, a busy deploy) still
     * gets its first pass in before the next stop. */
    {"sync", SYNC_JOB_TICK_MS, sync_job_tick, true},
};

const struct cron_job *jobs_table(size_t *ret_n)
{
	*ret_n = TS_ARRAY_SIZE(table);
	return table;
}
