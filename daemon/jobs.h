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

/* The job table; each fn takes the struct daemon as ctx. Borrowed, static. */
const struct cron_job *jobs_table(size_t *ret_n);

#endif
