/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's metrics in the Prometheus text exposition format 0.0.4. */
#include "daemon/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const double duration_bounds[] = METRICS_DURATION_BUCKETS;
#define N_BUCKETS (sizeof(duration_bounds) / sizeof(duration_bounds[0]))

/* Ticket operations a pass pushes, in the order of the "op" label. */
enum push_op {
	PUSH_CREATED,
	PUSH_ADOPTED,
	PUSH_UPDATED,
	PUSH_CLOSED,
	PUSH_REOPENED,
	PUSH_COMMENTED,
	N_PUSH
};
static const char *const push_names[N_PUSH] = {"created", "adopted",  "updated",
                                               "closed",  "reopened", "commented"};

/* Failures, in the order of the "kind" label: a row that became dead, a
 * poll request that failed, a call that got no HTTP answer, a connector that
 * could not be opened. */
enum fail_kind { FAIL_DEAD, FAIL_POLL, FAIL_UNANSWERED, FAIL_OPEN, N_FAIL };
static const char *const fail_names[N_FAIL] = {"dead", "poll", "unanswered", "open"};

static const char *const webhook_names[] = {"accepted", "rejected", "failed"};

struct conn_metrics {
	char name[72];
	uint64_t pushes[N_PUSH];
	uint64_t failures[N_FAIL];
	uint64_t retries;
	uint64_t rate_waits;
	double rate_wait_s;
	uint64_t buckets[N_BUCKETS]; /* not cumulative: each attempt counted once */
	uint64_t duration_count;
	double duration_sum;
	uint64_t webhooks[3];
};

struct metrics {
	struct conn_metrics *conns;
	size_t n_conns, cap_conns;
	uint64_t passes;
	int64_t start_unix_ms;
	/* The per-project families, read at most once a minute: on 10k tasks
	 * their queries take tens of milliseconds of the loop. */
	struct ts_buf projects;
	int64_t projects_at_ms; /* monotonic; 0: never read */
};

struct metrics *metrics_new(void)
{
	struct metrics *m = ts_calloc(1, sizeof(*m));
	m->start_unix_ms = ts_now_ms();
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->conns);
	ts_buf_free(&m->projects);
	free(m);
}

/* The counters of connector name, added when new; NULL past the bound. */
static struct conn_metrics *conn_get(struct metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n_conns; i++)
		if (strcmp(m->conns[i].name, name) == 0)
			return &m->conns[i];
	if (m->n_conns >= METRICS_MAX_CONNECTORS || strlen(name) >= sizeof(m->conns[0].name))
		return NULL;
	if (m->n_conns == m->cap_conns) {
		m->cap_conns = m->cap_conns ? 2 * m->cap_conns : 8;
		m->conns = ts_realloc(m->conns, m->cap_conns * sizeof(*m->conns));
	}
	struct conn_metrics *c = &m->conns[m->n_conns++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

void metrics_http_event_cb(void *ud, const struct http_event *ev)
{
	struct metrics *m = ud;
	struct conn_metrics *c = ev->label ? conn_get(m, ev->label) : NULL;
	if (!c)
		return;
	if (ev->kind == HTTP_EVENT_RATE_WAIT) {
		c->rate_waits++;
		c->rate_wait_s += ev->seconds;
		return;
	}
	size_t b = 0;
	while (b < N_BUCKETS && ev->seconds > duration_bounds[b])
		b++;
	if (b < N_BUCKETS)
		c->buckets[b]++;
	c->duration_count++;
	c->duration_sum += ev->seconds;
}

void metrics_sync_report(struct metrics *m, const struct sync_report *rep)
{
	m->passes++;
	for (size_t i = 0; i < rep->n_connectors; i++) {
		const struct sync_connector_report *r = &rep->connectors[i];
		struct conn_metrics *c = conn_get(m, r->name);
		if (!c)
			continue;
		c->pushes[PUSH_CREATED] += r->created;
		c->pushes[PUSH_ADOPTED] += r->adopted;
		c->pushes[PUSH_UPDATED] += r->updated;
		c->pushes[PUSH_CLOSED] += r->closed;
		c->pushes[PUSH_REOPENED] += r->reopened;
		c->pushes[PUSH_COMMENTED] += r->commented;
		c->failures[FAIL_DEAD] += r->dead;
		c->failures[FAIL_POLL] += r->poll_errors;
		if (r->operations > r->answered)
			c->failures[FAIL_UNANSWERED] += r->operations - r->answered;
		if (!r->opened)
			c->failures[FAIL_OPEN]++;
		c->retries += r->rescheduled;
	}
}

void metrics_webhook(struct metrics *m, const struct config *cfg, const char *connector,
                     enum metrics_webhook_result result)
{
	if (!connector || !config_find_connector(cfg, connector))
		return;
	struct conn_metrics *c = conn_get(m, connector);
	if (c)
		c->webhooks[result]++;
}

/* ------------------------------------------------------------ exposition */

void metrics_label_escape(struct ts_buf *out, const char *value)
{
	const char *p = value;
	while (*p) {
		size_t n = strcspn(p, "\\\"\n");
		ts_buf_append(out, p, n);
		p += n;
		if (!*p)
			break;
		ts_buf_puts(out, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\");
		p++;
	}
}

static void family(struct ts_buf *out, const char *name, const char *type, const char *help)
{
	ts_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "NAME{connector="C"" without the closing brace, for more labels. */
static void sample_open(struct ts_buf *out, const char *name, const char *conn)
{
	ts_buf_printf(out, "%s{connector=\"", name);
	metrics_label_escape(out, conn);
	ts_buf_puts(out, "\"");
}

/* A double as the format wants it: integers without a fraction, else the
 * shortest round trip. */
static void put_double(struct ts_buf *out, double v)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		ts_buf_printf(out, "%" PRId64, (int64_t)v);
	else
		ts_buf_printf(out, "%.17g", v);
}

static void render_counters(struct metrics *m, struct ts_buf *out)
{
	family(out, "threatsync_sync_passes_total", "counter", "Sync passes finished.");
	ts_buf_printf(out, "threatsync_sync_passes_total %" PRIu64 "\n", m->passes);

	family(out, "threatsync_connector_pushes_total", "counter",
	       "Ticket operations a connector carried out, by operation.");
	for (size_t i = 0; i < m->n_conns; i++)
		for (int k = 0; k < N_PUSH; k++) {
			sample_open(out, "threatsync_connector_pushes_total", m->conns[i].name);
			ts_buf_printf(out, ",op=\"%s\"} %" PRIu64 "\n", push_names[k],
			              m->conns[i].pushes[k]);
		}
	family(out, "threatsync_connector_failures_total", "counter",
	       "Failures by kind: dead outbox rows, failed polls, calls without an answer, "
	       "connectors that could not be opened.");
	for (size_t i = 0; i < m->n_conns; i++)
		for (int k = 0; k < N_FAIL; k++) {
			sample_open(out, "threatsync_connector_failures_total", m->conns[i].name);
			ts_buf_printf(out, ",kind=\"%s\"} %" PRIu64 "\n", fail_names[k],
			              m->conns[i].failures[k]);
		}
	family(out, "threatsync_connector_retries_total", "counter",
	       "Ticket operations that failed and were scheduled again.");
	for (size_t i = 0; i < m->n_conns; i++) {
		sample_open(out, "threatsync_connector_retries_total", m->conns[i].name);
		ts_buf_printf(out, "} %" PRIu64 "\n", m->conns[i].retries);
	}
	family(out, "threatsync_connector_rate_limit_waits_total", "counter",
	       "Times requests waited for the token bucket or the tracker's rate limit.");
	for (size_t i = 0; i < m->n_conns; i++) {
		sample_open(out, "threatsync_connector_rate_limit_waits_total", m->conns[i].name);
		ts_buf_printf(out, "} %" PRIu64 "\n", m->conns[i].rate_waits);
	}
	family(out, "threatsync_connector_rate_limit_wait_seconds_total", "counter",
	       "Time requests were planned to wait for the rate limits.");
	for (size_t i = 0; i < m->n_conns; i++) {
		sample_open(out, "threatsync_connector_rate_limit_wait_seconds_total",
		            m->conns[i].name);
		ts_buf_puts(out, "} ");
		put_double(out, m->conns[i].rate_wait_s);
		ts_buf_puts(out, "\n");
	}
	family(out, "threatsync_connector_request_duration_seconds", "histogram",
	       "Duration of each HTTP request sent to a tracker, answered or not.");
	for (size_t i = 0; i < m->n_conns; i++) {
		const struct conn_metrics *c = &m->conns[i];
		uint64_t cum = 0;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += c->buckets[b];
			sample_open(out, "threatsync_connector_request_duration_seconds_bucket",
			            c->name);
			ts_buf_puts(out, ",le=\"");
			put_double(out, duration_bounds[b]);
			ts_buf_printf(out, "\"} %" PRIu64 "\n", cum);
		}
		sample_open(out, "threatsync_connector_request_duration_seconds_bucket", c->name);
		ts_buf_printf(out, ",le=\"+Inf\"} %" PRIu64 "\n", c->duration_count);
		sample_open(out, "threatsync_connector_request_duration_seconds_sum", c->name);
		ts_buf_puts(out, "} ");
		put_double(out, c->duration_sum);
		ts_buf_puts(out, "\n");
		sample_open(out, "threatsync_connector_request_duration_seconds_count", c->name);
		ts_buf_printf(out, "} %" PRIu64 "\n", c->duration_count);
	}
	family(out, "threatsync_webhook_deliveries_total", "counter",
	       "Webhook deliveries by result: accepted (stored), rejected (refused), failed "
	       "(not stored).");
	for (size_t i = 0; i < m->n_conns; i++)
		for (int k = 0; k < 3; k++) {
			sample_open(out, "threatsync_webhook_deliveries_total", m->conns[i].name);
			ts_buf_printf(out, ",result=\"%s\"} %" PRIu64 "\n", webhook_names[k],
			              m->conns[i].webhooks[k]);
		}
}

/* ------------------------------------------------------------ database */

static const char SQL_OUTBOX[] =
    "SELECT connector, sum(state IN ('pending', 'inflight', 'failed')), sum(state = 'dead'),"
    " CAST(strftime('%s', min(CASE WHEN state IN ('pending', 'inflight', 'failed')"
    " THEN created_at END)) AS INTEGER)"
    " FROM outbox WHERE state <> 'done' GROUP BY connector ORDER BY connector";

static const char SQL_LAST_POLL[] =
    "SELECT connector, CAST(strftime('%s', max(updated_at)) AS INTEGER) FROM sync_cursors"
    " WHERE scope NOT LIKE '@%' GROUP BY connector ORDER BY connector";

static const char SQL_THREATS[] =
    "SELECT p.slug, sum(t.severity = 'critical'), sum(t.severity = 'high'),"
    " sum(t.severity = 'medium'), sum(t.severity = 'low')"
    " FROM projects p LEFT JOIN threats t ON t.project_id = p.id AND t.state = 'active'"
    " AND t.in_scope = 1 GROUP BY p.id ORDER BY p.slug";

static const char SQL_TASKS[] =
    "SELECT p.slug, sum(c.status = 'todo'), sum(c.status = 'in_progress'),"
    " sum(c.status = 'done'), sum(c.status = 'not_applicable'),"
    " sum(c.status = 'risk_accepted'), sum(c.status = 'satisfied')"
    " FROM projects p LEFT JOIN countermeasures c ON c.project_id = p.id"
    " AND c.state = 'active' AND c.in_scope = 1 GROUP BY p.id ORDER BY p.slug";

static const char *const severities[] = {"critical", "high", "medium", "low"};
static const char *const statuses[] = {"todo",           "in_progress",   "done",
                                       "not_applicable", "risk_accepted", "satisfied"};

/* Appends the three outbox samples of a connector. */
static void outbox_samples(struct ts_buf *depth, struct ts_buf *dead, struct ts_buf *age,
                           const char *conn, long long n_depth, long long n_dead, long long age_s)
{
	sample_open(depth, "threatsync_outbox_depth", conn);
	ts_buf_printf(depth, "} %lld\n", n_depth);
	sample_open(dead, "threatsync_outbox_dead", conn);
	ts_buf_printf(dead, "} %lld\n", n_dead);
	sample_open(age, "threatsync_outbox_oldest_pending_age_seconds", conn);
	ts_buf_printf(age, "} %lld\n", age_s);
}

/* The outbox per connector: the rows of the database, and zeros for each
 * configured connector without any. */
static int render_outbox(const struct config *cfg, struct store *s, struct ts_buf *out,
                         struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_OUTBOX);
	if (!st)
		return store_fail(s, "read the outbox for /metrics", err);
	struct ts_buf depth = {0}, dead = {0}, age = {0};
	bool *seen = ts_calloc(cfg->n_connectors + 1, sizeof(*seen));
	int64_t now = ts_now_ms() / 1000;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *conn = store_col_text(st, 0);
		for (size_t i = 0; i < cfg->n_connectors; i++)
			seen[i] |= strcmp(cfg->connectors[i].name, conn) == 0;
		long long oldest = sqlite3_column_int64(st, 3);
		bool none = sqlite3_column_type(st, 3) == SQLITE_NULL || oldest > now;
		outbox_samples(&depth, &dead, &age, conn, sqlite3_column_int64(st, 1),
		               sqlite3_column_int64(st, 2), none ? 0LL : (long long)(now - oldest));
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < cfg->n_connectors; i++)
		if (!seen[i])
			outbox_samples(&depth, &dead, &age, cfg->connectors[i].name, 0, 0, 0);
	free(seen);
	if (r == SQLITE_DONE) {
		family(out, "threatsync_outbox_depth", "gauge",
		       "Ticket operations waiting in the outbox (pending, in flight or failed).");
		ts_buf_puts(out, depth.data ? depth.data : "");
		family(out, "threatsync_outbox_dead", "gauge",
		       "Ticket operations given up on (dead) and not retried yet.");
		ts_buf_puts(out, dead.data ? dead.data : "");
		family(out, "threatsync_outbox_oldest_pending_age_seconds", "gauge",
		       "Age of the oldest operation waiting in the outbox; 0 when none waits.");
		ts_buf_puts(out, age.data ? age.data : "");
	}
	ts_buf_free(&depth);
	ts_buf_free(&dead);
	ts_buf_free(&age);
	return r == SQLITE_DONE ? 0 : store_fail(s, "read the outbox for /metrics", err);
}

static int render_last_poll(struct store *s, struct ts_buf *out, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LAST_POLL);
	if (!st)
		return store_fail(s, "read the poll cursors for /metrics", err);
	family(out, "threatsync_connector_last_poll_success_timestamp_seconds", "gauge",
	       "When a poll of the connector last succeeded, unix seconds.");
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;
		sample_open(out, "threatsync_connector_last_poll_success_timestamp_seconds",
		            store_col_text(st, 0));
		ts_buf_printf(out, "} %lld\n", sqlite3_column_int64(st, 1));
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : store_fail(s, "read the poll cursors for /metrics", err);
}

/* One family from a query whose rows are a project slug and one count per
 * label value. */
static int render_per_project(struct store *s, const char *sql, const char *name, const char *help,
                              const char *label, const char *const *values, int n_values,
                              struct ts_buf *out, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	if (!st)
		return store_fail(s, "read the projects for /metrics", err);
	family(out, name, "gauge", help);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		for (int k = 0; k < n_values; k++) {
			ts_buf_printf(out, "%s{project=\"", name);
			metrics_label_escape(out, store_col_text(st, 0));
			ts_buf_printf(out, "\",%s=\"%s\"} %lld\n", label, values[k],
			              sqlite3_column_int64(st, k + 1));
		}
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : store_fail(s, "read the projects for /metrics", err);
}

/* ------------------------------------------------------------ process */

static void render_process(const struct metrics *m, struct ts_buf *out)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	family(out, "threatsync_process_resident_memory_bytes", "gauge",
	       "Resident memory of the daemon.");
	ts_buf_printf(out, "threatsync_process_resident_memory_bytes %llu\n",
	              (unsigned long long)resident * (unsigned long long)(page > 0 ? page : 4096));

	struct rusage ru;
	double cpu = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	family(out, "threatsync_process_cpu_seconds_total", "counter",
	       "User and system CPU time of the daemon.");
	ts_buf_printf(out, "threatsync_process_cpu_seconds_total %.6f\n", cpu);

	long fds = 0;
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		struct dirent *e;
		while ((e = readdir(dir)))
			fds += e->d_name[0] != '.';
		closedir(dir);
		fds--; /* the directory's own descriptor */
	}
	family(out, "threatsync_process_open_fds", "gauge", "Open file descriptors of the daemon.");
	ts_buf_printf(out, "threatsync_process_open_fds %ld\n", fds > 0 ? fds : 0);

	family(out, "threatsync_process_start_time_seconds", "gauge",
	       "When the daemon started, unix seconds.");
	ts_buf_printf(out, "threatsync_process_start_time_seconds %.3f\n",
	              (double)m->start_unix_ms / 1000.0);
}

int metrics_render(struct metrics *m, const struct config *cfg, struct store *s, struct ts_buf *out,
                   struct ts_err *err)
{
	/* Every configured connector has its series from the start. */
	for (size_t i = 0; i < cfg->n_connectors; i++)
		conn_get(m, cfg->connectors[i].name);
	struct ts_buf b = {0};
	render_counters(m, &b);
	int rc = render_outbox(cfg, s, &b, err);
	if (rc == 0)
		rc = render_last_poll(s, &b, err);
	int64_t now = ts_monotonic_ms();
	if (rc == 0 &&
	    (m->projects_at_ms == 0 || now - m->projects_at_ms >= METRICS_PROJECTS_TTL_MS)) {
		struct ts_buf p = {0};
		rc = render_per_project(s, SQL_THREATS, "threatsync_project_open_threats",
		                        "Active in-scope threats of each project, by severity.",
		                        "severity", severities, 4, &p, err);
		if (rc == 0)
			rc = render_per_project(s, SQL_TASKS, "threatsync_project_tasks",
			                        "Active in-scope tasks of each project, by status.",
			                        "status", statuses, 6, &p, err);
		if (rc == 0) {
			ts_buf_free(&m->projects);
			m->projects = p;
			m->projects_at_ms = now;
		} else {
			ts_buf_free(&p);
		}
	}
	if (rc == 0 && m->projects.data)
		ts_buf_append(&b, m->projects.data, m->projects.len);
	store_release(s);
	if (rc < 0) {
		ts_buf_free(&b);
		return rc;
	}
	render_process(m, &b);
	ts_buf_append(out, b.data, b.len);
	ts_buf_free(&b);
	return 0;
}
