/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's periodic jobs: the table the cron runs, and the jobs themselves.
 * Later work (the sync pass, the reconciliation) adds rows here. */
#ifndef TS_DAEMON_JOBS_H
#define TS_DAEMON_JOBS_H

#include <stddef.h>

#include "daemon/cron.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* How often the WAL is checkpointed into the database file. */
#define JOBS_WAL_CHECKPOINT_PERIOD_MS (5 * 60 * 1000)

/* The job table; each fn takes the struct daemon as ctx. Borrowed, static. */
const struct cron_job *jobs_table(size_t *ret_n);

/* PRAGMA wal_checkpoint(PASSIVE): copies what it can from the WAL into the
 * database without waiting for readers or writers. *ret_log and *ret_done (may
 * be NULL) receive the WAL size and the frames checkpointed, in pages; *ret_busy
 * (may be NULL) whether another connection prevented a full checkpoint.
 * Returns 0 or a negative errno-style code with err filled. */
int jobs_wal_checkpoint(struct store *s, int *ret_log, int *ret_done, int *ret_busy,
                        struct ts_err *err);

#endif
