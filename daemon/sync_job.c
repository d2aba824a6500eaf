/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's sync job: schedules sync passes on the daemon's loop. */
#include "daemon/sync_job.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/http.h"
#include "connectors/sync.h"
#include "daemon/daemon.h"
#include "daemon/jobs.h"
#include "daemon/memory.h"
#include "daemon/metrics.h"
#include "engine/log.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/pause.h"

struct sync_job {
	struct daemon *d;
	struct config *cfg;   /* owned copy: the daemon may free its own on reload */
	unsigned cfg_reloads; /* d->reloads when cfg was read */
	struct http_client *http;
	struct sync *sync;
	int lock_fd;
	bool lock_warned;
	uv_check_t check;     /* notices the daemon stopping */
	uv_timer_t hard_stop; /* cancels in-flight work at the deadline */
	int64_t last_poll_ms; /* monotonic start of the last pass that polled; 0: never */
	bool pass_running;
	bool stopping;
	json_t *pauses; /* what /healthz shows: the pauses after the last pass, or NULL */
	int closing;     /* closes started and not finished */
	bool closed_all; /* close_all ran: release once closing is 0 */
};

static void event_cb(void *ud, enum sync_event_level level, const char *msg)
{
	(void)ud;
	if (level == SYNC_EVENT_ERROR)
		log_err("sync: %s", msg);
	else if (level == SYNC_EVENT_WARNING)
		log_warning("sync: %s", msg);
	else if (level == SYNC_EVENT_NOTICE)
		log_notice("sync: %s", msg);
	else if (level == SYNC_EVENT_INFO)
		log_info("sync: %s", msg);
	else
		log_debug("sync: %s", msg);
}

/* Shortest poll interval of a connector with projects; 0 when none polls. */
static int64_t poll_period_ms(const struct config *cfg)
{
	int64_t best = 0;
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct config_connector *c = &cfg->connectors[i];
		bool used = false;
		for (size_t k = 0; k < cfg->n_projects && !used; k++)
			used = cfg->projects[k].connector &&
			       strcmp(cfg->projects[k].connector, c->name) == 0;
		if (!used || c->poll_interval_s <= 0)
			continue;
		int64_t ms = (int64_t)c->poll_interval_s * 1000;
		if (best == 0 || ms < best)
			best = ms;
	}
	return best;
}

/* ------------------------------------------------------------ stop */

static void job_release(struct sync_job *j)
{
	struct daemon *d = j->d;
	sync_lock_release(j->lock_fd);
	config_free(j->cfg);
	json_decref(j->pauses);
	free(j);
	d->sync_job = NULL;
	log_debug("sync job stopped");
	daemon_work_end(d);
}

static void closed_one(struct sync_job *j)
{
	if (--j->closing == 0 && j->closed_all)
		job_release(j);
}

static void handle_closed_cb(uv_handle_t *h)
{
	closed_one(h->data);
}

static void ud_closed_cb(void *ud)
{
	closed_one(ud);
}

static void close_all(struct sync_job *j)
{
	struct sync *y = j->sync;
	struct http_client *http = j->http;
	j->sync = NULL;
	j->http = NULL;
	/* Count every close first: a callback must not see zero early. */
	j->closing += 2 + (http != NULL) + (y != NULL);
	j->closed_all = true;
	uv_timer_stop(&j->hard_stop);
	uv_check_stop(&j->check);
	uv_close((uv_handle_t *)&j->hard_stop, handle_closed_cb);
	uv_close((uv_handle_t *)&j->check, handle_closed_cb);
	if (y)
		sync_close(y, ud_closed_cb, j);
	if (http)
		http_client_close(http, ud_closed_cb, j);
}

static void hard_stop_cb(uv_timer_t *t)
{
	struct sync_job *j = t->data;
	if (!j->pass_running || !j->http)
		return;
	log_notice("sync: shutdown deadline near, cancelling in-flight tracker requests");
	/* Every in-flight request's callback runs now with "cancelled"; the
	 * pass then completes and pass_done_cb closes the rest. */
	struct http_client *http = j->http;
	j->http = NULL;
	j->closing++;
	http_client_close(http, ud_closed_cb, j);
}

static void begin_stop(struct sync_job *j)
{
	j->stopping = true;
	if (!j->pass_running) {
		close_all(j);
		return;
	}
	sync_cancel(j->sync);
	int timeout = j->d->cfg->shutdown_timeout_ms;
	uint64_t grace = timeout > 0 ? (uint64_t)timeout * 3 / 4 : 0;
	log_info("sync: stopping, waiting for in-flight tracker requests grace_ms=%llu",
	         (unsigned long long)grace);
	uv_timer_start(&j->hard_stop, hard_stop_cb, grace, 0);
}

static void check_cb(uv_check_t *h)
{
	struct sync_job *j = h->data;
	if (!j->stopping && j->d->state >= DAEMON_STOPPING)
		begin_stop(j);
}

/* ------------------------------------------------------------ passes */

/* Reads the pauses into j->pauses for /healthz, which does not touch the
 * database itself. */
static void refresh_pauses(struct sync_job *j)
{
	struct pause_row *rows = NULL;
	size_t n = 0;
	struct ts_err err = {0};
	if (pause_list(j->d->store, NULL, &rows, &n, &err) < 0) {
		log_warning("sync: %s", err.msg);
		return;
	}
	json_decref(j->pauses);
	j->pauses = NULL;
	if (n > 0) {
		j->pauses = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *p = pause_row_json(&rows[i]);
			json_object_set_new(p, "connector", json_string(rows[i].connector));
			json_array_append_new(j->pauses, p);
		}
	}
	pause_rows_free(rows, n);
}

const json_t *sync_job_pauses(const struct daemon *d)
{
	return d->sync_job ? d->sync_job->pauses : NULL;
}

static void pass_done_cb(void *ud, const struct sync_report *rep)
{
	struct sync_job *j = ud;
	j->pass_running = false;
	metrics_sync_report(j->d->metrics, rep);
	refresh_pauses(j);
	store_release(j->d->store);
	bool changed = false;
	for (size_t i = 0; i < rep->n_connectors; i++) {
		const struct sync_connector_report *c = &rep->connectors[i];
		changed = changed || c->changed > 0;
		bool busy = c->created || c->adopted || c->updated || c->closed || c->reopened ||
		            c->commented || c->rescheduled || c->dead || c->changed ||
		            c->poll_errors || !c->opened;
		if (c->unreachable || !c->opened)
			log_warning("sync: connector %s unreachable: %s", c->name,
			            c->last_error[0] ? c->last_error : "no answer");
		if (busy)
			log_info(
			    "sync pass connector=%s created=%u adopted=%u updated=%u closed=%u "
			    "reopened=%u commented=%u rescheduled=%u dead=%u polled=%u "
			    "changed=%u poll_requests=%u poll_errors=%u duration_ms=%lld "
			    "cpu_ms=%.1f",
			    c->name, c->created, c->adopted, c->updated, c->closed, c->reopened,
			    c->commented, c->rescheduled, c->dead, c->polled, c->changed,
			    c->poll_requests, c->poll_errors, (long long)rep->duration_ms,
			    rep->cpu_ms);
		else
			log_debug(
			    "sync pass connector=%s polled=%u poll_requests=%u duration_ms=%lld "
			    "cpu_ms=%.1f",
			    c->name, c->polled, c->poll_requests, (long long)rep->duration_ms,
			    rep->cpu_ms);
	}
	if (rep->store_error)
		daemon_storage_failed(j->d, "sync", rep->err.msg);
	else
		daemon_storage_ok(j->d, "sync");
	/* Statuses the pass pulled in: the projects' metrics moved. */
	if (changed)
		jobs_snapshot(j->d, NULL);
	memory_release(store_db(j->d->store), "sync pass");
	if (j->stopping)
		close_all(j);
}

static void free_on_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static int job_start(struct daemon *d)
{
	struct sync_job *j = ts_calloc(1, sizeof(*j));
	j->d = d;
	j->lock_fd = -1;
	struct ts_err err = {0};
	if (d->config_path) {
		if (config_load_with_secrets(d->config_path, &j->cfg, &err) < 0) {
			log_err("sync: cannot read the configuration: %s", err.msg);
			free(j);
			return -EINVAL;
		}
	} else {
		j->cfg = config_new_default();
	}
	j->cfg_reloads = d->reloads;
	int r;
	if ((r = uv_check_init(&d->loop, &j->check)) < 0)
		goto fail;
	if ((r = uv_timer_init(&d->loop, &j->hard_stop)) < 0) {
		log_err("sync: cannot start: %s", uv_strerror(r));
		config_free(j->cfg);
		j->cfg = NULL;
		j->check.data = j;
		uv_close((uv_handle_t *)&j->check, free_on_close_cb);
		return r;
	}
	j->check.data = j;
	j->hard_stop.data = j;
	d->sync_job = j;
	uv_check_start(&j->check, check_cb);
	daemon_work_begin(d);
	log_debug("sync job started poll_period_ms=%lld", (long long)poll_period_ms(j->cfg));
	return 0;
fail:
	log_err("sync: cannot start: %s", uv_strerror(r));
	config_free(j->cfg);
	free(j);
	return r;
}

static void reload_config(struct sync_job *j)
{
	struct daemon *d = j->d;
	j->cfg_reloads = d->reloads;
	if (!d->config_path)
		return;
	struct config *next = NULL;
	struct ts_err err = {0};
	if (config_load_with_secrets(d->config_path, &next, &err) < 0) {
		log_warning("sync: keeping the previous configuration: %s", err.msg);
		return;
	}
	if (j->sync)
		sync_set_config(j->sync, next);
	config_free(j->cfg);
	j->cfg = next;
	/* A reload is how an operator says "fixed": paused connectors are
	 * probed at the next tick instead of at their next probe time. */
	if (pause_probe_now(d->store, NULL, &err) < 0)
		log_warning("sync: %s", err.msg);
	log_debug("sync: configuration reloaded poll_period_ms=%lld",
	          (long long)poll_period_ms(next));
}

/* The http client and the sync engine are made for the first pass that has
 * work: a daemon without synced projects never loads TLS. */
static int ensure_engine(struct sync_job *j)
{
	if (j->sync)
		return 0;
	int r = j->http ? 0 : http_client_new(&j->d->loop, &j->http);
	if (r == 0)
		http_client_set_observer(j->http, metrics_http_event_cb, j->d->metrics);
	if (r == 0)
		r = sync_new(&j->d->loop, j->http, j->d->store, j->cfg,
		             &(struct sync_opts){.event_cb = event_cb}, &j->sync);
	if (r < 0)
		log_err("sync: cannot start: %s", http_client_error(r));
	return r;
}

void sync_job_tick(void *ctx)
{
	struct daemon *d = ctx;
	if (d->state != DAEMON_RUNNING)
		return;
	if (!d->sync_job && job_start(d) < 0)
		return;
	struct sync_job *j = d->sync_job;
	if (j->stopping || j->pass_running)
		return;
	if (j->cfg_reloads != d->reloads)
		reload_config(j);
	if (j->cfg->n_connectors == 0)
		return;
	struct ts_err err = {0};
	int64_t now = ts_monotonic_ms();
	int64_t period = poll_period_ms(j->cfg);
	bool poll_due = period > 0 && (j->last_poll_ms == 0 || now - j->last_poll_ms >= period);
	bool push_due = false;
	if (!poll_due && outbox_has_due(d->store, NULL, ts_now_ms(), &push_due, &err) < 0) {
		daemon_storage_failed(d, "sync", err.msg);
		return;
	}
	/* A paused connector's rows are not due; its probe is. */
	if (!poll_due && !push_due && pause_probe_due(d->store, ts_now_ms(), &push_due, &err) < 0) {
		log_warning("sync: %s", err.msg);
		return;
	}
	store_release(d->store);
	if (!poll_due && !push_due)
		return;
	if (j->lock_fd < 0) {
		int lock_fd = -1;
		if (sync_lock_acquire(store_path(d->store), &lock_fd, &err) < 0) {
			if (!j->lock_warned)
				log_notice("sync: waiting: %s", err.msg);
			j->lock_warned = true;
			return;
		}
		/* An in-memory database has no lock file: fd -1, nothing to hold. */
		j->lock_fd = lock_fd >= 0 ? lock_fd : -2;
		j->lock_warned = false;
	}
	if (ensure_engine(j) < 0)
		return;
	/* A polling pass also reconciles the connectors whose
	 * reconcile_interval_s has passed (connectors/sync.c decides per
	 * connector, from the time of its last reconciliation in the store). */
	struct sync_pass_opts po = {
	    .push_only = !poll_due, .skip_unpolled = true, .reconcile_due = poll_due};
	int r = sync_run_pass(j->sync, &po, pass_done_cb, j, &err);
	if (r < 0) {
		log_warning("sync: cannot start a pass: %s", err.msg[0] ? err.msg : strerror(-r));
		return;
	}
	j->pass_running = true;
	if (poll_due)
		j->last_poll_ms = now;
}
