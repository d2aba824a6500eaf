/* SPDX-License-Identifier: Apache-2.0 */
/* Periodic jobs on one libuv timer: each job runs at its own period; the timer
 * is armed for the earliest due job, so an idle daemon wakes only when a job
 * is due. */
#ifndef TS_DAEMON_CRON_H
#define TS_DAEMON_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* One row of a job table. fn runs on the loop thread with the ctx given to
 * cron_init; it must not block (hand long work to the loop) and reports its
 * own errors: the scheduler only keeps time. */
struct cron_job {
	const char *name;
	uint64_t period_ms; /* > 0 */
	void (*fn)(void *ctx);
	bool at_start; /* also run on the loop's first turn after cron_start */
};

struct cron {
	uv_timer_t timer;
	const struct cron_job *jobs; /* borrowed: a table that outlives the cron */
	size_t n_jobs;
	uint64_t *due_ms; /* owned: loop time each job is next due */
	void *ctx;
	bool initialized; /* the timer handle must be closed */
	bool running;
};

/* Prepares c to run jobs[0..n_jobs) (borrowed) on loop. Returns 0 or a
 * negative errno-style code. c is embedded in its owner, which keeps it alive
 * until the loop has run the timer's close. */
int cron_init(struct cron *c, uv_loop_t *loop, const struct cron_job *jobs, size_t n_jobs,
              void *ctx);
/* Starts the schedule: each job first runs one period from now, or on the
 * loop's next turn when it says at_start. */
int cron_start(struct cron *c);
/* No job runs after this; a running job finishes (jobs do not span callbacks). */
void cron_stop(struct cron *c);
/* Stops, closes the timer handle and frees the schedule. Safe when never
 * initialised, and twice. */
void cron_close(struct cron *c);

#endif
