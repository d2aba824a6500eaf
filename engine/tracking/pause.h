/* SPDX-License-Identifier: Apache-2.0 */
/* Pauses of a connector after a permanent refusal, in the store: a refused
 * credential or access pauses the whole connector (scope ""), a tracker
 * project that does not exist or is not visible pauses that project (scope)
 * on it. The sync pass (connectors/sync_pause.c) starts, probes and ends
 * them; `threatsync status`, /healthz and the daemon's scheduler read them.
 * No network. */
#ifndef TS_ENGINE_PAUSE_H
#define TS_ENGINE_PAUSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* Why a connector or scope is paused. */
enum pause_kind {
	PAUSE_DENIED,  /* credentials refused or no access (HTTP 401, 403): the connector */
	PAUSE_MISSING, /* the tracker project does not exist or is not visible: one scope */
};

/* "denied" | "missing", the names the store and the documents use. */
const char *pause_kind_name(enum pause_kind k);

/* One pause as stored. Strings owned by the row (pause_rows_free). */
struct pause_row {
	char *connector;
	char *scope; /* "" for the whole connector */
	enum pause_kind kind;
	long http_status;
	char *reason;        /* the tracker's own message, never a secret */
	char *since;         /* ISO 8601 */
	char *last_probe_at; /* ISO 8601, or NULL before the first probe */
	int64_t next_probe_ms;
	int probes;
};

/* Starts a pause of (connector, scope) with reason, or refreshes one already
 * there (its kind, status and reason; since is kept): next_probe_ms is when
 * a probe may be sent; probed says the refusal answered a probe (counted,
 * last_probe_at = now). *ret_new (may be NULL) tells whether it started now. */
int pause_set(struct store *s, const char *connector, const char *scope, enum pause_kind kind,
              long http_status, const char *reason, bool probed, int64_t next_probe_ms,
              const char *now, bool *ret_new, struct ts_err *err);

/* A probe that got no answer worth a verdict (a network error, a 5xx): the
 * pause stays as it is, probed now, next probe at next_probe_ms. */
int pause_probed(struct store *s, const char *connector, const char *scope, int64_t next_probe_ms,
                 const char *now, struct ts_err *err);

/* Ends the pause of (connector, scope); *ret_ended (may be NULL) tells
 * whether there was one. */
int pause_clear(struct store *s, const char *connector, const char *scope, bool *ret_ended,
                struct ts_err *err);

/* Makes every pause of connector (NULL: of every connector) due for a probe
 * at the next pass: a reload of the configuration, `sync --once`. */
int pause_probe_now(struct store *s, const char *connector, struct ts_err *err);

/* The pauses of connector (NULL: all), by connector then scope ("" first).
 * *ret_rows is a new array (NULL when none; pause_rows_free). */
int pause_list(struct store *s, const char *connector, struct pause_row **ret_rows, size_t *ret_n,
               struct ts_err *err);
void pause_rows_free(struct pause_row *rows, size_t n);

/* Whether some pause is due for a probe at now_ms (the daemon's scheduler). */
int pause_probe_due(struct store *s, int64_t now_ms, bool *ret_due, struct ts_err *err);

/* A pause as a new JSON object: {"scope", "kind", "http_status", "reason",
 * "since", "last_probe_at" (null before the first probe), "next_probe_at"
 * (unix ms), "probes"} (schema/status.schema.json, $defs/pause). */
json_t *pause_row_json(const struct pause_row *p);

#endif
