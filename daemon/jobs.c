/* SPDX-License-Identifier: Apache-2.0 */
/* Periodic jobs of the daemon and their table. */
#include "daemon/jobs.h"

#include "daemon/daemon.h"
#include "daemon/memory.h"
#include "daemon/sync_job.h"
#include "engine/log.h"
#include "engine/report/metrics.h"

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

void jobs_snapshot(struct daemon *d, const char *slug)
{
	struct ts_err err = {0};
	int n = 0;
	int rc = slug ? metrics_snapshot_slug(d->store, slug, NULL, &err)
	              : metrics_snapshot_all(d->store, NULL, &n, &err);
	if (rc < 0)
		log_warning("metrics snapshot%s%s failed: %s", slug ? " of " : "", slug ? slug : "",
		            err.msg);
	else if (!slug)
		log_debug("metrics snapshot rows=%d", n);
	store_release(d->store);
}

static void metrics_snapshot_job_cb(void *ctx)
{
	struct daemon *d = ctx;
	jobs_snapshot(d, NULL);
	/* It read every project's rows. */
	memory_release(store_db(d->store), "metrics snapshot");
}

static const struct cron_job table[] = {
    {"wal-checkpoint", JOBS_WAL_CHECKPOINT_PERIOD_MS, wal_checkpoint_job_cb, false},
    /* At once: a daemon restarted often (a crash loop, a busy deploy) still
     * gets its first pass in before the next stop. */
    {"sync", SYNC_JOB_TICK_MS, sync_job_tick, true},
    /* At once too: a daemon restarted every day still takes the daily one. */
    {"metrics-snapshot", JOBS_METRICS_SNAPSHOT_PERIOD_MS, metrics_snapshot_job_cb, true},
};

const struct cron_job *jobs_table(size_t *ret_n)
{
	*ret_n = TS_ARRAY_SIZE(table);
	return table;
}
