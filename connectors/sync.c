/* SPDX-License-Identifier: Apache-2.0 */
/* One sync pass on the loop, per connector: its life cycle, its start (the
 * recovery of rows left in flight, the connectors opened) and its end (the
 * report). The operations are in sync_op.c, polling in sync_poll.c. */
#include "connectors/sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "connectors/reconcile.h"
#include "connectors/sync_internal.h"

uint64_t sync_next_rand(struct sync *y)
{
	/* xorshift64*: jitter only, not security. */
	y->rng ^= y->rng >> 12;
	y->rng ^= y->rng << 25;
	y->rng ^= y->rng >> 27;
	return y->rng * 2685821657736338717ULL;
}

void sync_event(struct sync *y, enum sync_event_level level, const char *fmt, ...)
{
	if (!y->opts.event_cb)
		return;
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	y->opts.event_cb(y->opts.event_ud, level, msg);
}

void sync_store_error(struct sync *y, int rc, const struct ts_err *err)
{
	if (y->report.store_error == 0) {
		y->report.store_error = rc;
		y->report.err = *err;
	}
	sync_event(y, SYNC_EVENT_WARNING, "%s", err->msg);
}

void sync_set_error(struct sync_conn *sc, const char *msg)
{
	snprintf(sc->rep->last_error, sizeof(sc->rep->last_error), "%s", msg);
}

/* ------------------------------------------------------------ life cycle */

int sync_new(uv_loop_t *loop, struct http_client *http, struct store *s, const struct config *cfg,
             const struct sync_opts *opts, struct sync **ret)
{
	struct sync *y = ts_calloc(1, sizeof(*y));
	y->loop = loop;
	y->http = http;
	y->s = s;
	y->cfg = cfg;
	if (opts)
		y->opts = *opts;
	if (y->opts.backoff_base_ms <= 0)
		y->opts.backoff_base_ms = SYNC_DEFAULT_BACKOFF_BASE_MS;
	if (y->opts.backoff_max_ms <= 0)
		y->opts.backoff_max_ms = SYNC_DEFAULT_BACKOFF_MAX_MS;
	y->rng = y->opts.seed
	             ? y->opts.seed
	             : (uint64_t)ts_now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	if (y->rng == 0)
		y->rng = 1;
	int r = uv_timer_init(loop, &y->finish_timer);
	if (r < 0) {
		free(y);
		return r;
	}
	/* These two only register the handle with the loop: they cannot fail. */
	uv_check_init(loop, &y->settle_check);
	uv_idle_init(loop, &y->settle_idle);
	y->finish_timer.data = y;
	y->settle_check.data = y;
	y->settle_idle.data = y;
	y->open_handles = 3;
	y->settling_tail = &y->settling;
	y->texts = ticket_texts_new();
	*ret = y;
	return 0;
}

/* Closes the kept connector at index i and drops it from the list. */
static void kept_drop(struct sync *y, size_t i)
{
	struct sync_kept *k = &y->kept[i];
	k->ops->close(k->conn);
	y->kept[i] = y->kept[--y->n_kept];
}

static void kept_close_all(struct sync *y)
{
	while (y->n_kept > 0)
		kept_drop(y, y->n_kept - 1);
	free(y->kept);
	y->kept = NULL;
}

int sync_set_config(struct sync *y, const struct config *cfg)
{
	if (y->running)
		return -EBUSY;
	/* A connector the new configuration keeps, with the same connection,
	 * stays open (its time zone known, its connections warm); one that is
	 * gone or connects differently is closed and opened again when a pass
	 * needs it. */
	for (size_t i = y->n_kept; i-- > 0;) {
		struct sync_kept *k = &y->kept[i];
		const struct config_connector *cc = config_find_connector(cfg, k->cfg->name);
		if (cc && cc->type == k->cfg->type && k->ops->rebind(k->conn, cc) == 0)
			k->cfg = cc;
		else
			kept_drop(y, i);
	}
	y->cfg = cfg;
	return 0;
}

bool sync_running(const struct sync *y)
{
	return y->running;
}

static void handle_closed_cb(uv_handle_t *h)
{
	struct sync *y = h->data;
	if (--y->open_handles > 0)
		return;
	ticket_texts_free(y->texts);
	void (*cb)(void *) = y->closed_cb;
	void *ud = y->closed_ud;
	free(y);
	if (cb)
		cb(ud);
}

static void close_handles(struct sync *y)
{
	kept_close_all(y);
	uv_close((uv_handle_t *)&y->finish_timer, handle_closed_cb);
	uv_close((uv_handle_t *)&y->settle_check, handle_closed_cb);
	uv_close((uv_handle_t *)&y->settle_idle, handle_closed_cb);
}

void sync_close(struct sync *y, void (*closed_cb)(void *ud), void *ud)
{
	if (!y || y->closing)
		return;
	y->closing = true;
	y->closed_cb = closed_cb;
	y->closed_ud = ud;
	if (y->running) {
		/* The pass completes (finish_cb), then closes the timer. */
		sync_cancel(y);
		return;
	}
	close_handles(y);
}

void sync_cancel(struct sync *y)
{
	if (!y->running || y->cancelling)
		return;
	y->cancelling = true;
	y->report.cancelled = true;
	/* Connectors idle in no phase finish now; the others finish as their
	 * in-flight work comes back. */
	for (size_t i = 0; i < y->n_conns; i++) {
		reconcile_walk_cancel(y->conns[i].walk);
		sync_pump(&y->conns[i]);
	}
}

/* ------------------------------------------------------------ pass end */

/* CPU time of the process so far (user + system), microseconds. */
static int64_t cpu_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

static void finish_cb(uv_timer_t *t)
{
	struct sync *y = t->data;
	for (size_t i = 0; i < y->n_conns; i++) {
		struct sync_conn *sc = &y->conns[i];
		struct sync_connector_report *rp = sc->rep;
		/* The connector stays open for the next pass (y->kept). */
		sc->conn = NULL;
		rp->unreachable = rp->operations > 0 && rp->answered == 0 &&
		                  (rp->rescheduled + rp->dead + rp->poll_errors) > 0;
		sync_pause_finish(sc);
		free(sc->scopes);
		free(sc->since);
	}
	y->report.connectors = y->reports;
	y->report.n_connectors = y->n_conns;
	y->report.duration_ms = ts_monotonic_ms() - y->started_ms;
	y->report.cpu_ms = (double)(cpu_us() - y->started_cpu_us) / 1000.0;
	struct sync_report rep = y->report;
	struct sync_connector_report *reports = y->reports;
	struct sync_conn *conns = y->conns;
	sync_done_cb cb = y->done_cb;
	void *ud = y->done_ud;
	y->conns = NULL;
	y->reports = NULL;
	y->n_conns = 0;
	free(y->pass_connector);
	y->pass_connector = NULL;
	y->running = false;
	y->cancelling = false;
	bool closing = y->closing;
	cb(ud, &rep);
	free(reports);
	free(conns);
	/* The callback may have closed y (closing was set inside it) or started
	 * another pass; only a close requested earlier is ours to finish. */
	if (closing)
		close_handles(y);
}

void sync_conn_finished(struct sync_conn *sc)
{
	if (sc->finished)
		return;
	sync_reserve_release(sc);
	sc->finished = true;
	struct sync *y = sc->y;
	for (size_t i = 0; i < y->n_conns; i++)
		if (!y->conns[i].finished)
			return;
	uv_timer_start(&y->finish_timer, finish_cb, 0, 0);
}

/* ------------------------------------------------------------ the pass */

static void collect_scopes(struct sync_conn *sc)
{
	const struct config *cfg = sc->y->cfg;
	sc->scopes = ts_calloc(cfg->n_projects + 1, sizeof(*sc->scopes));
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct config_project *p = &cfg->projects[i];
		if (!p->connector || strcmp(p->connector, sc->cfg->name) != 0 ||
		    !p->tracker_project)
			continue;
		bool dup = false;
		for (size_t k = 0; k < sc->n_scopes && !dup; k++)
			dup = strcmp(sc->scopes[k], p->tracker_project) == 0;
		if (!dup)
			sc->scopes[sc->n_scopes++] = p->tracker_project;
	}
}

/* The kept connector for cc, opened now when it is not open yet; NULL when
 * it cannot be opened (e says why). */
static struct sync_kept *kept_get(struct sync *y, const struct config_connector *cc,
                                  struct ts_err *e)
{
	for (size_t i = 0; i < y->n_kept; i++)
		if (y->kept[i].cfg == cc)
			return &y->kept[i];
	const struct connector_ops *ops = connector_ops_for(cc->type);
	if (!ops) {
		ts_err_set(e, TS_E_CONFIG, "no connector implementation for this type");
		return NULL;
	}
	void *conn = NULL;
	if (ops->open(y->http, cc, &conn, e) < 0)
		return NULL;
	if (ops->set_wait_cb)
		ops->set_wait_cb(conn, sync_op_wait_cb);
	if (y->opts.opened_cb)
		y->opts.opened_cb(y->opts.opened_ud, cc, conn);
	y->kept = ts_realloc(y->kept, (y->n_kept + 1) * sizeof(*y->kept));
	y->kept[y->n_kept] = (struct sync_kept){.cfg = cc, .ops = ops, .conn = conn};
	return &y->kept[y->n_kept++];
}

/* Adds cc to the pass with its connector (kept open from an earlier pass,
 * else opened now); a connector that cannot be opened is finished from the
 * start, its error in the report. */
static void open_conn(struct sync *y, const struct config_connector *cc)
{
	struct sync_conn *sc = &y->conns[y->n_conns];
	sc->rep = &y->reports[y->n_conns];
	y->n_conns++;
	sc->y = y;
	sc->cfg = cc;
	snprintf(sc->rep->name, sizeof(sc->rep->name), "%s", cc->name);
	collect_scopes(sc);
	struct ts_err e = {0};
	struct sync_kept *k = kept_get(y, cc, &e);
	if (!k) {
		sync_set_error(sc, e.msg);
		sync_event(y, SYNC_EVENT_WARNING, "connector %s: %s", cc->name, e.msg);
	} else {
		sc->ops = k->ops;
		sc->conn = k->conn;
		sc->rep->opened = true;
		sync_pause_load(sc);
	}
	if (!sc->conn) {
		sc->drained = true;
		sc->polling = true;
		sc->finished = true;
	}
}

int sync_run_pass(struct sync *y, const struct sync_pass_opts *o, sync_done_cb done_cb, void *ud,
                  struct ts_err *err)
{
	if (y->closing)
		return -ECANCELED;
	if (y->running)
		return -EBUSY;
	const struct config *cfg = y->cfg;
	struct sync_pass_opts pass = o ? *o : (struct sync_pass_opts){0};
	if (pass.connector && !config_find_connector(cfg, pass.connector)) {
		ts_err_set(err, TS_E_USAGE, "no connector '%s' in %s", pass.connector,
		           cfg->path ? cfg->path : "the built-in configuration");
		return -ENOENT;
	}
	memset(&y->report, 0, sizeof(y->report));
	/* No pass is under way (the sync lock keeps other processes' passes
	 * out, and this one's last pass has ended): a row still in flight was
	 * left by a process that died, or by a result this process could not
	 * write (a database error). Either way its outcome is unknown; creates
	 * among them are looked up by marker first. Checked before every pass,
	 * so a long-running daemon heals without a restart. */
	char now[32];
	struct ts_err rerr = {0};
	int n = 0;
	int rc = outbox_recover(y->s, NULL, sync_now_iso(now), &n, &rerr);
	if (rc < 0) {
		*err = rerr;
		return rc;
	}
	y->report.recovered = n;
	if (n > 0)
		sync_event(
		    y, SYNC_EVENT_INFO,
		    "%d outbox row(s) were left in flight (a process that stopped, or a result "
		    "that could not be written); creates among them are looked up by marker first",
		    n);
	y->running = true;
	y->cancelling = false;
	y->started_ms = ts_monotonic_ms();
	y->started_cpu_us = cpu_us();
	y->pass_wall_ms = ts_now_ms();
	y->pass = pass;
	y->pass_connector = ts_strdup(pass.connector);
	y->pass.connector = y->pass_connector;
	y->done_cb = done_cb;
	y->done_ud = ud;
	y->conns = ts_calloc(cfg->n_connectors + 1, sizeof(*y->conns));
	y->reports = ts_calloc(cfg->n_connectors + 1, sizeof(*y->reports));
	y->n_conns = 0;
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct config_connector *cc = &cfg->connectors[i];
		if (!pass.connector || strcmp(pass.connector, cc->name) == 0)
			open_conn(y, cc);
	}
	bool any = false;
	for (size_t i = 0; i < y->n_conns; i++)
		any |= !y->conns[i].finished;
	if (!any) {
		uv_timer_start(&y->finish_timer, finish_cb, 0, 0);
		return 0;
	}
	/* Paused connectors and projects are probed first (sync_pause.c);
	 * the outbox is drained after that. */
	for (size_t i = 0; i < y->n_conns; i++)
		sync_pause_probe(&y->conns[i]);
	return 0;
}

/* ------------------------------------------------------------ report */

json_t *sync_report_json(const struct sync_report *rep)
{
	json_t *list = json_array();
	for (size_t i = 0; i < rep->n_connectors; i++) {
		const struct sync_connector_report *c = &rep->connectors[i];
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:b, s:b, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i},"
		              " s:{s:i, s:i, s:i, s:i}, s:i, s:i, s:s?}",
		              "connector", c->name, "opened", c->opened, "unreachable",
		              c->unreachable, "outbox", "created", c->created, "adopted",
		              c->adopted, "updated", c->updated, "closed", c->closed, "reopened",
		              c->reopened, "commented", c->commented, "rescheduled", c->rescheduled,
		              "dead", c->dead, "released", c->released, "poll", "requests",
		              c->poll_requests, "errors", c->poll_errors, "issues", c->polled,
		              "status_changes", c->changed, "operations", c->operations, "answered",
		              c->answered, "last_error", c->last_error[0] ? c->last_error : NULL));
		json_t *entry = json_array_get(list, json_array_size(list) - 1);
		json_object_set_new(entry, "probes", json_integer(c->probes));
		json_object_set_new(
		    entry, "paused",
		    c->paused || c->paused_scopes
		        ? json_pack("{s:s, s:s, s:I, s:s, s:i}", "kind",
		                    c->paused ? "denied" : "missing", "scope", c->pause_scope,
		                    "http_status", (json_int_t)c->pause_status, "reason",
		                    c->pause_reason, "scopes", c->paused_scopes)
		        : json_null());
		if (c->reconciled)
			json_object_set_new(
			    json_array_get(list, json_array_size(list) - 1), "reconcile",
			    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "tickets",
			              c->rec_tickets, "remote_won", c->rec_remote_won, "local_won",
			              c->rec_local_won, "queued", c->rec_queued, "vanished",
			              c->rec_vanished, "recreated", c->rec_recreated, "errors",
			              c->rec_errors));
	}
	/* Rounded to 0.1 ms: the figure is a measurement, not an identity. */
	return json_pack("{s:o, s:b, s:i, s:I, s:f, s:s?}", "connectors", list, "cancelled",
	                 rep->cancelled, "recovered", rep->recovered, "duration_ms",
	                 (json_int_t)rep->duration_ms, "cpu_ms",
	                 (double)(int64_t)(rep->cpu_ms * 10.0 + 0.5) / 10.0, "store_error",
	                 rep->store_error ? rep->err.msg : NULL);
}
