/* SPDX-License-Identifier: Apache-2.0 */
/* Pauses in a sync pass: a permanent refusal (credentials or access refused,
 * a tracker project missing) pauses the connector or that project instead of
 * failing operation after operation; a paused one gets a single probe per
 * pause_probe_interval_s, and the queue resumes when it succeeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sync_internal.h"
#include "engine/tracking/ticket.h"

static int64_t probe_interval_ms(const struct sync_conn *sc)
{
	int s = sc->cfg->pause_probe_interval_s > 0 ? sc->cfg->pause_probe_interval_s : 300;
	return (int64_t)s * 1000;
}

static struct sync_pause *find_pause(const struct sync_conn *sc, const char *scope)
{
	for (size_t i = 0; i < sc->n_pauses; i++)
		if (!sc->pauses[i].ended && strcmp(sc->pauses[i].scope, scope) == 0)
			return &sc->pauses[i];
	return NULL;
}

static bool scope_mapped(const struct sync_conn *sc, const char *scope)
{
	for (size_t i = 0; i < sc->n_scopes; i++)
		if (strcmp(sc->scopes[i], scope) == 0)
			return true;
	return false;
}

static struct sync_pause *add_pause(struct sync_conn *sc, const char *scope, enum pause_kind kind,
                                    long http_status, const char *reason)
{
	sc->pauses = ts_realloc(sc->pauses, (sc->n_pauses + 1) * sizeof(*sc->pauses));
	struct sync_pause *p = &sc->pauses[sc->n_pauses++];
	*p = (struct sync_pause){.scope = ts_strdup(scope),
	                         .kind = kind,
	                         .http_status = http_status,
	                         .reason = ts_strdup(reason)};
	return p;
}

/* The slugs of the projects whose tracker project is paused, for the claim
 * (outbox_claim_except). */
static void rebuild_skip(struct sync_conn *sc)
{
	free(sc->skip_projects);
	sc->skip_projects = NULL;
	const struct config *cfg = sc->y->cfg;
	json_t *slugs = json_array();
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct config_project *p = &cfg->projects[i];
		if (p->connector && strcmp(p->connector, sc->cfg->name) == 0 &&
		    p->tracker_project && find_pause(sc, p->tracker_project))
			json_array_append_new(slugs, json_string(p->slug));
	}
	if (json_array_size(slugs) > 0)
		sc->skip_projects = json_dumps(slugs, JSON_COMPACT);
	json_decref(slugs);
}

static const char *what_paused(const struct sync_pause *p, char *buf, size_t cap)
{
	if (p->scope[0])
		snprintf(buf, cap, "tracker project %s", p->scope);
	else
		snprintf(buf, cap, "the connector");
	return buf;
}

void sync_pause_load(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	struct pause_row *rows = NULL;
	size_t n = 0;
	struct ts_err err = {0};
	int rc = pause_list(y->s, sc->cfg->name, &rows, &n, &err);
	if (rc < 0) {
		sync_store_error(y, rc, &err);
		return;
	}
	int64_t now = ts_now_ms();
	for (size_t i = 0; i < n; i++) {
		struct pause_row *r = &rows[i];
		if (r->scope[0] && !scope_mapped(sc, r->scope)) {
			/* The configuration no longer maps that project here:
			 * nothing waits for it. */
			rc = pause_clear(y->s, sc->cfg->name, r->scope, NULL, &err);
			if (rc < 0)
				sync_store_error(y, rc, &err);
			else
				sync_event(
				    y, SYNC_EVENT_NOTICE,
				    "connector %s: the pause of tracker project %s ended: the "
				    "configuration no longer maps it to this connector",
				    sc->cfg->name, r->scope);
			continue;
		}
		struct sync_pause *p = add_pause(sc, r->scope, r->kind, r->http_status, r->reason);
		p->due = r->next_probe_ms <= now;
		if (!r->scope[0])
			sc->paused_all = true;
	}
	pause_rows_free(rows, n);
	rebuild_skip(sc);
}

bool sync_paused(const struct sync_conn *sc, const char *scope)
{
	if (sc->paused_all)
		return true;
	return scope && *scope && find_pause(sc, scope) != NULL;
}

void sync_pause_begin(struct sync_conn *sc, const char *scope, const struct connector_result *r)
{
	struct sync *y = sc->y;
	bool whole = r->status == CONNECTOR_DENIED || !scope || !*scope;
	const char *target = whole ? "" : scope;
	if (find_pause(sc, target))
		return; /* already paused: this was an answer to a request sent before */
	enum pause_kind kind = whole ? PAUSE_DENIED : PAUSE_MISSING;
	const char *reason = r->error[0] ? r->error : "refused (no message)";
	char now[32];
	struct ts_err err = {0};
	int rc = pause_set(y->s, sc->cfg->name, target, kind, r->http_status, reason, false,
	                   ts_now_ms() + probe_interval_ms(sc), sync_now_iso(now), NULL, &err);
	if (rc < 0)
		sync_store_error(y, rc, &err);
	add_pause(sc, target, kind, r->http_status, reason);
	int every = (int)(probe_interval_ms(sc) / 1000);
	char msg[1400];
	if (whole) {
		sc->paused_all = true;
		snprintf(
		    msg, sizeof(msg),
		    "connector %s paused: the tracker refused its credentials or access (HTTP "
		    "%ld): %s; nothing is sent to it but one probe every %d s (at once after a "
		    "reload or with threatsync sync --once); queued operations wait without "
		    "counting attempts",
		    sc->cfg->name, r->http_status, reason, every);
	} else {
		rebuild_skip(sc);
		snprintf(
		    msg, sizeof(msg),
		    "connector %s: tracker project %s paused: it does not exist or the "
		    "connector's user cannot see it (HTTP %ld): %s; its operations wait without "
		    "counting attempts, one probe every %d s",
		    sc->cfg->name, target, r->http_status, reason, every);
	}
	sync_set_error(sc, msg);
	sync_event(y, SYNC_EVENT_ERROR, "%s", msg);
}

/* The probe of p succeeded (or the connector answered about a project):
 * p ends, in the store and in the pass. */
static void end_pause(struct sync_conn *sc, struct sync_pause *p, const char *why)
{
	struct sync *y = sc->y;
	struct ts_err err = {0};
	int rc = pause_clear(y->s, sc->cfg->name, p->scope, NULL, &err);
	if (rc < 0)
		sync_store_error(y, rc, &err);
	p->ended = true;
	if (!p->scope[0])
		sc->paused_all = false;
	else
		rebuild_skip(sc);
	char what[160];
	sync_event(y, SYNC_EVENT_NOTICE,
	           "connector %s: the pause of %s ended: %s; its queued "
	           "operations resume",
	           sc->cfg->name, what_paused(p, what, sizeof(what)), why);
}

static void probe_cb(void *ud, const struct connector_result *r)
{
	struct sync_conn *sc = ud;
	struct sync *y = sc->y;
	struct sync_pause *p = sc->probe;
	const char *scope = sc->probe_scope;
	sc->probe = NULL;
	sc->probe_scope = NULL;
	if (r->http_status > 0)
		sc->rep->answered++;
	char now[32], what[160];
	struct ts_err err = {0};
	int64_t next = ts_now_ms() + probe_interval_ms(sc);
	int rc = 0;
	what_paused(p, what, sizeof(what));
	switch (r->status) {
	case CONNECTOR_OK:
		end_pause(sc, p, "the probe succeeded");
		break;
	case CONNECTOR_CANCELLED:
		break;
	case CONNECTOR_DENIED:
		if (p->scope[0]) {
			rc = pause_probed(y->s, sc->cfg->name, p->scope, next, sync_now_iso(now),
			                  &err);
			sync_pause_begin(sc, "", r);
			break;
		}
		rc = pause_set(y->s, sc->cfg->name, "", PAUSE_DENIED, r->http_status, r->error,
		               true, next, sync_now_iso(now), NULL, &err);
		sync_set_error(sc, r->error);
		sync_event(y, SYNC_EVENT_WARNING,
		           "connector %s: still paused, the probe was refused (HTTP %ld): %s",
		           sc->cfg->name, r->http_status, r->error);
		break;
	case CONNECTOR_NO_SCOPE:
		if (!p->scope[0]) {
			/* The credentials are accepted again; only the project is amiss. */
			end_pause(sc, p, "the tracker accepts its credentials again");
			sync_pause_begin(sc, scope, r);
			break;
		}
		rc = pause_set(y->s, sc->cfg->name, p->scope, PAUSE_MISSING, r->http_status,
		               r->error, true, next, sync_now_iso(now), NULL, &err);
		sync_set_error(sc, r->error);
		sync_event(y, SYNC_EVENT_WARNING, "connector %s: %s is still paused (HTTP %ld): %s",
		           sc->cfg->name, what, r->http_status, r->error);
		break;
	default:
		/* No verdict (the network, a 5xx, another refusal): the pause
		 * stays, and so does the interval between probes. */
		rc = pause_probed(y->s, sc->cfg->name, p->scope, next, sync_now_iso(now), &err);
		sync_event(y, SYNC_EVENT_WARNING,
		           "connector %s: the probe of %s got no verdict, next in %lld s: %s",
		           sc->cfg->name, what, (long long)(probe_interval_ms(sc) / 1000),
		           r->error[0] ? r->error : "failed");
		break;
	}
	if (rc < 0)
		sync_store_error(y, rc, &err);
	sync_pause_probe(sc);
}

/* The tracker project the probe of p polls: its own, or for the whole
 * connector the first one mapped to it. NULL when there is none. */
static const char *probe_scope_of(const struct sync_conn *sc, const struct sync_pause *p)
{
	if (p->scope[0])
		return p->scope;
	return sc->n_scopes > 0 ? sc->scopes[0] : NULL;
}

static struct sync_pause *next_due(struct sync_conn *sc)
{
	for (size_t i = 0; i < sc->n_pauses; i++) {
		struct sync_pause *p = &sc->pauses[i];
		if (p->ended || !p->due)
			continue;
		/* While the connector is paused only its own probe may go. */
		if (sc->paused_all && p->scope[0])
			continue;
		return p;
	}
	return NULL;
}

void sync_pause_probe(struct sync_conn *sc)
{
	struct sync *y = sc->y;
	if (sc->probe || sc->finished)
		return;
	struct sync_pause *p = y->cancelling ? NULL : next_due(sc);
	while (p) {
		p->due = false;
		const char *scope = probe_scope_of(sc, p);
		if (scope)
			break;
		/* No tracker project is mapped to the connector: no request of
		 * its can be refused, so nothing waits for the pause. */
		end_pause(sc, p, "no tracker project is mapped to it");
		p = next_due(sc);
	}
	if (!p) {
		if (y->cancelling || sc->paused_all)
			sync_conn_finished(sc);
		else
			sync_pump(sc);
		return;
	}
	char *since = NULL;
	struct ts_err err = {0};
	const char *scope = probe_scope_of(sc, p);
	int rc = ticket_cursor_get(y->s, sc->cfg->name, scope, &since, &err);
	if (rc < 0)
		sync_store_error(y, rc, &err);
	sc->probe = p;
	sc->probe_scope = scope;
	sc->rep->operations++;
	sc->rep->probes++;
	/* The probe is the poll of the project's first page: one request (Jira
	 * Cloud asks for the user's time zone first when it does not know it). */
	sc->ops->poll(sc->conn, scope, since, NULL, probe_cb, sc);
	free(since);
}

void sync_pause_finish(struct sync_conn *sc)
{
	struct sync_connector_report *rp = sc->rep;
	const struct sync_pause *shown = NULL;
	for (size_t i = 0; i < sc->n_pauses; i++) {
		const struct sync_pause *p = &sc->pauses[i];
		if (p->ended)
			continue;
		if (!p->scope[0]) {
			rp->paused = true;
			shown = p;
		} else {
			rp->paused_scopes++;
			if (!shown)
				shown = p;
		}
	}
	if (shown) {
		rp->pause_status = shown->http_status;
		snprintf(rp->pause_scope, sizeof(rp->pause_scope), "%s", shown->scope);
		snprintf(rp->pause_reason, sizeof(rp->pause_reason), "%s", shown->reason);
	}
	for (size_t i = 0; i < sc->n_pauses; i++) {
		free(sc->pauses[i].scope);
		free(sc->pauses[i].reason);
	}
	free(sc->pauses);
	sc->pauses = NULL;
	sc->n_pauses = 0;
	free(sc->skip_projects);
	sc->skip_projects = NULL;
}
