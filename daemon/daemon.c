/* SPDX-License-Identifier: Apache-2.0 */
/* Life cycle of the daemon: start-up, reload on SIGHUP, graceful stop. */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/checkpoint.h"
#include "daemon/httpd.h"
#include "daemon/jobs.h"
#include "daemon/memory.h"
#include "daemon/metrics.h"
#include "daemon/uploads.h"
#include "engine/log.h"

static void log_lines(enum log_level level, const char *what, const char *msg)
{
	/* Config errors come one per line ("FILE:LINE: ..."); log_write folds
	 * newlines, so each becomes its own event with the same prefix. */
	const char *p = msg;
	do {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		if (len > 0)
			log_write(level, "%s: %.*s", what, len, p);
		p = nl ? nl + 1 : NULL;
	} while (p && *p);
}

static void status_line(const struct daemon *d, char *buf, size_t size)
{
	const struct config *cfg = d->cfg;
	snprintf(buf, size,
	         "running: %zu connector(s), %zu project(s); reloads=%u failed_reloads=%u",
	         cfg->n_connectors, cfg->n_projects, d->reloads, d->reload_failures);
}

static void announce_ready(struct daemon *d)
{
	char status[256];
	status_line(d, status, sizeof(status));
	notify_ready(status);
}

/* --- stop --------------------------------------------------------------- */

static void close_leftover_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (uv_is_closing(h))
		return;
	/* Every module closes its own handles; one still open here is a bug,
	 * but shutting down must not hang on it. */
	log_warning("closing a handle left open at shutdown type=%s",
	            uv_handle_type_name(uv_handle_get_type(h)));
	uv_close(h, NULL);
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void daemon_finish(struct daemon *d)
{
	if (d->state == DAEMON_CLOSING)
		return;
	d->state = DAEMON_CLOSING;
	if (d->inflight > 0)
		log_warning("shutdown deadline reached, abandoning in-flight work inflight=%u",
		            d->inflight);
	/* First: it commits the webhook deliveries it accepted, before the
	 * final checkpoint. */
	httpd_close(d->httpd);
	d->httpd = NULL;
	/* A running ingestion still ends and records its outcome: the loop
	 * runs until its worker returns. */
	uploads_close(d->uploads);
	d->uploads = NULL;

	checkpointer_close(d->checkpointer);
	d->checkpointer = NULL;
	struct ts_err err = {0};
	int wal = 0, done = 0, busy = 0;
	if (store_wal_checkpoint(d->store, &wal, &done, &busy, &err) < 0)
		log_warning("final wal checkpoint failed: %s", err.msg);
	else
		log_debug("final wal checkpoint wal_frames=%d checkpointed=%d busy=%d", wal, done,
		          busy);

	cron_close(&d->cron);
	notify_watchdog_close(&d->watchdog);
	if (d->quiesce_timer_initialized) {
		uv_timer_stop(&d->quiesce_timer);
		close_handle((uv_handle_t *)&d->quiesce_timer);
		d->quiesce_timer_initialized = false;
	}
	close_handle((uv_handle_t *)&d->sig_term);
	close_handle((uv_handle_t *)&d->sig_int);
	close_handle((uv_handle_t *)&d->sig_hup);
	uv_walk(&d->loop, close_leftover_cb, NULL);
}

static void quiesce_deadline_cb(uv_timer_t *t)
{
	daemon_finish(t->data);
}

/* Waits for in-flight work to finish, at most shutdown_timeout_ms; work that
 * ends calls daemon_work_end, which completes the stop when nothing is left. */
static void daemon_quiesce(struct daemon *d)
{
	if (d->inflight == 0) {
		daemon_finish(d);
		return;
	}
	int timeout = d->cfg->shutdown_timeout_ms > 0 ? d->cfg->shutdown_timeout_ms : 0;
	log_info("waiting for in-flight work inflight=%u timeout_ms=%d", d->inflight, timeout);
	if (uv_timer_start(&d->quiesce_timer, quiesce_deadline_cb, (uint64_t)timeout, 0) < 0)
		daemon_finish(d);
}

void daemon_stop(struct daemon *d, const char *reason)
{
	if (d->state == DAEMON_CLOSING)
		return;
	if (d->state == DAEMON_STOPPING) {
		log_notice("second stop request, not waiting for in-flight work reason=%s "
		           "inflight=%u",
		           reason, d->inflight);
		daemon_finish(d);
		return;
	}
	d->state = DAEMON_STOPPING;
	log_info("stopping reason=%s inflight=%u", reason, d->inflight);
	notify_stopping("stopping: finishing in-flight work");
	httpd_quiesce(d->httpd);
	uploads_quiesce(d->uploads);
	cron_stop(&d->cron);
	daemon_quiesce(d);
}

void daemon_work_begin(struct daemon *d)
{
	d->inflight++;
}

void daemon_work_end(struct daemon *d)
{
	if (d->inflight > 0)
		d->inflight--;
	if (d->state == DAEMON_STOPPING && d->inflight == 0)
		daemon_finish(d);
}

/* --- storage health ----------------------------------------------------- */

void daemon_storage_failed(struct daemon *d, const char *what, const char *msg)
{
	d->storage_failures++;
	snprintf(d->storage_error, sizeof(d->storage_error), "%s: %s", what, msg);
	if (d->storage_failures > 1) {
		log_debug("database still failing failures=%u %s", d->storage_failures,
		          d->storage_error);
		return;
	}
	d->storage_failed_ms = ts_now_ms();
	log_err("database degraded, retrying (what it cannot write now waits): %s",
	        d->storage_error);
	notify_status("degraded: the database refuses writes (see the log)");
}

void daemon_storage_ok(struct daemon *d, const char *what)
{
	if (d->storage_failures == 0)
		return;
	log_notice("database writable again what=%s failures=%u degraded_ms=%lld", what,
	           d->storage_failures, (long long)(ts_now_ms() - d->storage_failed_ms));
	d->storage_failures = 0;
	d->storage_failed_ms = 0;
	d->storage_error[0] = '\0';
	if (d->state == DAEMON_RUNNING)
		announce_ready(d);
}

/* --- instance lock ------------------------------------------------------ */

/* One daemon per database: two would each drain the outbox and poll; the
 * sync lock keeps their passes apart, but not their webhooks, uploads and
 * checkpoints. The lock goes with the process, so a killed daemon leaves
 * none behind. */
static int lock_instance(struct daemon *d, const char *database, struct ts_err *err)
{
	if (!database || strcmp(database, ":memory:") == 0)
		return 0;
	char *path = ts_asprintf("%s.lock", database);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		ts_err_set(err, TS_E_CREATE, "instance lock %s: %s", path, strerror(e));
		free(path);
		return -e;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		long pid = fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (long)who.l_pid
		                                                                   : 0;
		close(fd);
		if (e == EAGAIN || e == EACCES)
			ts_err_set(err, TS_E_BUSY,
			           "database %s is in use by another threatsyncd (pid %ld, lock %s)",
			           database, pid, path);
		else
			ts_err_set(err, TS_E_IO, "instance lock %s: %s", path, strerror(e));
		free(path);
		return e == EAGAIN || e == EACCES ? -EBUSY : -e;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	/* For a person looking: the lock itself is what counts. */
	if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) < 0)
		log_debug("instance lock %s: pid not written: %s", path, strerror(errno));
	free(path);
	d->lock_fd = fd;
	return 0;
}

/* --- reload ------------------------------------------------------------- */

/* Keys that only take effect at start-up keep their running values; the
 * operator is told which ones need a restart. */
static void keep_unreloadable(const struct config *old, struct config *next)
{
	struct ts_err err = {0};
	if (config_diff_unreloadable(old, next, &err) > 0)
		log_lines(LOG_LEVEL_WARNING, "reload", err.msg);
	config_keep_unreloadable(next, old);
}

void daemon_reload(struct daemon *d)
{
	if (d->state != DAEMON_RUNNING)
		return;
	notify_reloading("reloading the configuration");
	if (!d->config_path) {
		log_notice("reload requested, but no configuration file is in use");
		announce_ready(d);
		return;
	}
	log_info("reloading config=%s", d->config_path);
	struct config *next = NULL;
	struct ts_err err = {0};
	if (config_load_with_secrets(d->config_path, &next, &err) < 0) {
		d->reload_failures++;
		log_lines(LOG_LEVEL_ERR, "reload failed, keeping the previous configuration",
		          err.msg);
		announce_ready(d);
		return;
	}
	keep_unreloadable(d->cfg, next);
	struct config *old = d->cfg;
	d->cfg = next;
	/* The running ingestion reads the old one until it ends. */
	if (!uploads_retire_config(d->uploads, old))
		config_free(old);
	log_set_level((enum log_level)d->cfg->log_level);
	d->reloads++;
	memory_release(store_db(d->store), "reload");
	log_info("reloaded config=%s log_level=%s connectors=%zu projects=%zu", d->config_path,
	         log_level_name((enum log_level)d->cfg->log_level), d->cfg->n_connectors,
	         d->cfg->n_projects);
	announce_ready(d);
}

/* --- signals and start-up ----------------------------------------------- */

static void signal_cb(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	switch (signum) {
	case SIGHUP:
		daemon_reload(d);
		break;
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		break;
	case SIGINT:
		daemon_stop(d, "SIGINT");
		break;
	default:
		break;
	}
}

static int start_signal(struct daemon *d, uv_signal_t *h, int signum)
{
	int r = uv_signal_init(&d->loop, h);
	if (r < 0)
		return r;
	h->data = d;
	return uv_signal_start(h, signal_cb, signum);
}

static void close_all_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Tears down a loop whose start-up failed halfway. */
static void abandon_loop(uv_loop_t *loop)
{
	uv_walk(loop, close_all_cb, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
}

int daemon_new(const char *config_path, struct config *cfg, struct daemon **ret_d,
               struct ts_err *err)
{
	struct daemon *d = ts_calloc(1, sizeof(*d));
	d->cfg = cfg;
	d->config_path = ts_strdup(config_path);
	d->state = DAEMON_STARTING;
	d->started_ms = ts_monotonic_ms();
	d->metrics = metrics_new();
	d->lock_fd = -1;

	int r = lock_instance(d, cfg->database, err);
	if (r < 0)
		goto fail_free;
	r = store_open(cfg->database, STORE_MIGRATE | STORE_CHECK, &d->store, err);
	if (r < 0)
		goto fail_free;
	/* The loop waits for the database on its own thread: a database another
	 * process holds must cost each attempt a short stall, not the store's
	 * default wait; the work is retried (webhooks by the tracker, the
	 * outbox and the polls at the next tick). */
	sqlite3_busy_timeout(store_db(d->store), DAEMON_BUSY_TIMEOUT_MS);

	r = uv_loop_init(&d->loop);
	if (r < 0) {
		ts_err_set(err, TS_E_SYSTEM, "event loop: %s", uv_strerror(r));
		goto fail_free;
	}
	const char *what = "signal handler";
	if ((r = start_signal(d, &d->sig_term, SIGTERM)) < 0 ||
	    (r = start_signal(d, &d->sig_int, SIGINT)) < 0 ||
	    (r = start_signal(d, &d->sig_hup, SIGHUP)) < 0)
		goto fail_loop;
	what = "timer";
	if ((r = uv_timer_init(&d->loop, &d->quiesce_timer)) < 0)
		goto fail_loop;
	d->quiesce_timer.data = d;
	d->quiesce_timer_initialized = true;

	size_t n_jobs = 0;
	const struct cron_job *jobs = jobs_table(&n_jobs);
	if ((r = cron_init(&d->cron, &d->loop, jobs, n_jobs, d)) < 0)
		goto fail_loop;
	what = "watchdog timer";
	if ((r = notify_watchdog_start(&d->watchdog, &d->loop)) < 0)
		goto fail_loop;
	*ret_d = d;
	return 0;

fail_loop:
	ts_err_set(err, TS_E_SYSTEM, "%s: %s", what, uv_strerror(r));
	cron_close(&d->cron);
	abandon_loop(&d->loop);
fail_free:
	store_close(d->store);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	config_free(d->cfg);
	metrics_free(d->metrics);
	free(d->config_path);
	free(d);
	return r < 0 ? r : -EINVAL;
}

/* The HTTP endpoint is bound once (http.listen is not reloadable). Failing
 * to bind it is logged, not fatal: the trackers are still polled, so no
 * change is lost, only delayed until the next poll. */
static void start_httpd(struct daemon *d)
{
	if (!d->cfg->http_listen)
		return;
	struct ts_err err = {0};
	if (httpd_start(d, &d->httpd, &err) < 0) {
		log_err("http endpoint disabled, webhooks will not be received (polling continues): "
		        "%s",
		        err.msg);
		return;
	}
	log_info("http endpoint listening listen=%s", d->cfg->http_listen);
}

int daemon_run(struct daemon *d)
{
	if (cron_start(&d->cron) < 0) {
		log_err("cannot start the periodic jobs");
		return -EINVAL;
	}
	struct ts_err err = {0};
	if (uploads_start(d, &d->uploads, &err) < 0)
		log_err("scan uploads disabled (the API answers 503, the spool is not read): %s",
		        err.msg);
	d->checkpointer = checkpointer_start(d);
	start_httpd(d);
	/* The quick_check of the start read the whole database into the page
	 * cache; configuration and migrations are done with too. */
	memory_release(store_db(d->store), "start");
	d->state = DAEMON_RUNNING;
	log_info("started version=%s database=%s config=%s log_level=%s watchdog_ms=%llu",
	         TS_VERSION, d->cfg->database, d->config_path ? d->config_path : "(defaults)",
	         log_level_name((enum log_level)d->cfg->log_level),
	         (unsigned long long)d->watchdog.period_ms);
	announce_ready(d);

	uv_run(&d->loop, UV_RUN_DEFAULT);

	int r = uv_loop_close(&d->loop);
	if (r < 0) {
		log_err("event loop still has open handles at exit error=%s", uv_err_name(r));
		return r;
	}
	log_info("stopped uptime_ms=%lld", (long long)(ts_monotonic_ms() - d->started_ms));
	return 0;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	store_close(d->store);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	config_free(d->cfg);
	metrics_free(d->metrics);
	free(d->config_path);
	free(d);
}
