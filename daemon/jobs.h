/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's periodic jobs: the table the cron runs, and the jobs themselves. */
#ifndef TS_DAEMON_JOBS_H
#define TS_DAEMON_JOBS_H

#include <stddef.h>

#include "daemon/cron.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* How often the WAL is checkpointed into the database file. */
#define JOBS_WAL_CHECKPOINT_PERIOD_MS (5 * 60 * 1000)

/* How often every project's metrics are snapshot (docs/reports.md): at start,
 * then daily; the snapshots coalesce, so an unchanged project adds one row a
 * day at most. */
#define JOBS_METRICS_SNAPSHOT_PERIOD_MS (24 * 60 * 60 * 1000)

struct daemon;

/* A metrics snapshot of project slug (NULL: every project) after a change the
 * daemon applied (a sync pass, a webhook batch, an upload's ingestion), on the
 * loop thread with the daemon's store. A failure is logged: the change
 * itself stands. */
void jobs_snapshot(struct daemon *d, const char *slug);

/* The job table; each fn takes the struct daemon as ctx. Borrowed, static. */
const struct cron_job *jobs_table(size_t *ret_n);

#endif
