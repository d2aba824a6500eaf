/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's metrics, served by GET /metrics in the Prometheus text
 * exposition format 0.0.4: counters the daemon keeps per connector (pushes,
 * failures, retries, rate-limit waits, request durations, webhook
 * deliveries), figures read from the database when scraped (outbox depth,
 * last successful poll; threats and tasks per project at most once a
 * minute) and the process's own (memory, CPU, open files, start time). docs/operations.md lists
 * them. */
#ifndef TS_DAEMON_METRICS_H
#define TS_DAEMON_METRICS_H

#include <stdbool.h>

#include "connectors/http.h"
#include "connectors/sync.h"
#include "engine/config.h"
#include "engine/store/store.h"
#include "engine/util.h"

struct metrics;

/* Most connectors counted; the counters of any further name are dropped. */
#define METRICS_MAX_CONNECTORS 256

/* How long the per-project figures are served from memory before the
 * database is read again, ms. */
#define METRICS_PROJECTS_TTL_MS 60000

/* Upper bounds (seconds) of the request duration histogram's buckets. */
#define METRICS_DURATION_BUCKETS                                                                   \
	{                                                                                          \
		0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60                    \
	}

/* New, all counters at zero; the start time is now. Free with metrics_free. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* NULL is a no-op */

/* An http_observer_cb (connectors/http.h): ud is the struct metrics. */
void metrics_http_event_cb(void *ud, const struct http_event *ev);

/* Adds what a sync pass did to the per-connector counters. */
void metrics_sync_report(struct metrics *m, const struct sync_report *rep);

enum metrics_webhook_result {
	METRICS_WEBHOOK_ACCEPTED, /* stored, answered 204 */
	METRICS_WEBHOOK_REJECTED, /* refused: signature, headers, size, body */
	METRICS_WEBHOOK_FAILED,   /* authenticated but not stored (500) */
};
/* Counts a delivery to the connector named; names not in cfg are not
 * counted (a path anyone can send must not add series). */
void metrics_webhook(struct metrics *m, const struct config *cfg, const char *connector,
                     enum metrics_webhook_result result);

/* Appends the exposition of every metric to out: the counters, the figures
 * of s and of the process. Every connector of cfg has its series, idle or
 * not. Returns 0, or a negative code with err set when the database
 * could not be read (out then holds nothing new). Never a secret. */
int metrics_render(struct metrics *m, const struct config *cfg, struct store *s, struct ts_buf *out,
                   struct ts_err *err);

/* Appends value as a label value: backslash, double quote and newline
 * escaped as the format requires. */
void metrics_label_escape(struct ts_buf *out, const char *value);

#endif
