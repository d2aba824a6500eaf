/* SPDX-License-Identifier: Apache-2.0 */
/* The periodic-job scheduler of the daemon (one timer, many periods). */
#include "daemon/cron.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "engine/log.h"
#include "engine/util.h"

static void arm(struct cron *c);

static void tick_cb(uv_timer_t *timer)
{
	struct cron *c = timer->data;
	uint64_t now = uv_now(timer->loop);
	for (size_t i = 0; i < c->n_jobs && c->running; i++) {
		if (c->due_ms[i] > now)
			continue;
		const struct cron_job *job = &c->jobs[i];
		log_debug("cron job running job=%s", job->name);
		job->fn(c->ctx);
		/* The next run is one period after this one, not after the missed
		 * slot: a loop that was busy (or a suspended machine) does not cause
		 * a burst of catch-up runs. */
		c->due_ms[i] = now + job->period_ms;
	}
	if (c->running)
		arm(c);
}

static void arm(struct cron *c)
{
	if (c->n_jobs == 0)
		return;
	uint64_t next = c->due_ms[0];
	for (size_t i = 1; i < c->n_jobs; i++)
		if (c->due_ms[i] < next)
			next = c->due_ms[i];
	uint64_t now = uv_now(c->timer.loop);
	uint64_t wait = next > now ? next - now : 0;
	uv_timer_start(&c->timer, tick_cb, wait, 0);
}

int cron_init(struct cron *c, uv_loop_t *loop, const struct cron_job *jobs, size_t n_jobs,
              void *ctx)
{
	for (size_t i = 0; i < n_jobs; i++)
		assert(jobs[i].name && jobs[i].fn && jobs[i].period_ms > 0);
	*c = (struct cron){.jobs = jobs, .n_jobs = n_jobs, .ctx = ctx};
	int r = uv_timer_init(loop, &c->timer);
	if (r < 0)
		return r;
	c->timer.data = c;
	c->initialized = true;
	c->due_ms = ts_calloc(n_jobs ? n_jobs : 1, sizeof(*c->due_ms));
	return 0;
}

int cron_start(struct cron *c)
{
	if (!c->initialized)
		return -EINVAL;
	uv_update_time(c->timer.loop);
	uint64_t now = uv_now(c->timer.loop);
	for (size_t i = 0; i < c->n_jobs; i++)
		c->due_ms[i] = now + (c->jobs[i].at_start ? 0 : c->jobs[i].period_ms);
	c->running = true;
	arm(c);
	return 0;
}

void cron_stop(struct cron *c)
{
	c->running = false;
	if (c->initialized)
		uv_timer_stop(&c->timer);
}

void cron_close(struct cron *c)
{
	cron_stop(c);
	if (c->initialized && !uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, NULL);
	c->initialized = false;
	free(c->due_ms);
	c->due_ms = NULL;
}
