/* SPDX-License-Identifier: Apache-2.0 */
/* One sync pass on a private loop, start to end: what `threatsync sync
 * --once` runs, so the command line only parses arguments and prints. */
#include <stdlib.h>

#include "connectors/http.h"
#include "connectors/sync.h"
#include "engine/tracking/pause.h"

struct once {
	struct sync *sync;
	struct http_client *http;
	json_t *report; /* new, once the pass is done */
	bool unavailable;
	struct ts_err store_err; /* code 0 when the pass had no database error */
	struct ts_err pause_err; /* code 0 when no connector is left paused */
};

/* The pause of c that the command reports: a refused credential first
 * (TS_E_DENIED), then a missing tracker project (TS_E_UNAVAILABLE). */
static void note_pause(struct once *o, const struct sync_connector_report *c)
{
	if (c->paused && o->pause_err.code != TS_E_DENIED)
		ts_err_set(&o->pause_err, TS_E_DENIED,
		           "connector '%s' is paused: the tracker refused its credentials or access "
		           "(HTTP %ld): %s",
		           c->name, c->pause_status, c->pause_reason);
	else if (!c->paused && c->paused_scopes && !o->pause_err.code)
		ts_err_set(&o->pause_err, TS_E_UNAVAILABLE,
		           "connector '%s': tracker project %s is paused (%u in all): it does not "
		           "exist or the connector's user cannot see it (HTTP %ld): %s",
		           c->name, c->pause_scope, c->paused_scopes, c->pause_status,
		           c->pause_reason);
}

static void once_done_cb(void *ud, const struct sync_report *rep)
{
	struct once *o = ud;
	o->report = sync_report_json(rep);
	for (size_t i = 0; i < rep->n_connectors; i++) {
		if (!rep->connectors[i].opened || rep->connectors[i].unreachable)
			o->unavailable = true;
		note_pause(o, &rep->connectors[i]);
	}
	if (rep->store_error) {
		o->store_err = rep->err;
		if (!o->store_err.code)
			o->store_err.code = TS_E_INTERNAL;
	}
	/* Every handle goes: the sync's timer, then the client's. */
	sync_close(o->sync, NULL, NULL);
	o->sync = NULL;
	http_client_close(o->http, NULL, NULL);
	o->http = NULL;
}

int sync_once(struct store *s, const struct config *cfg, const struct sync_pass_opts *po,
              const struct sync_opts *so, json_t **ret_report, bool *ret_unavailable,
              struct ts_err *err)
{
	*ret_report = NULL;
	*ret_unavailable = false;
	int lock = -1;
	int rc = sync_lock_acquire(store_path(s), &lock, err);
	if (rc < 0)
		return rc;
	/* An operator's pass: paused connectors are probed now (one request
	 * each), so a fixed token is seen at once. */
	if ((rc = pause_probe_now(s, po ? po->connector : NULL, err)) < 0) {
		sync_lock_release(lock);
		return rc;
	}
	uv_loop_t loop;
	int r = uv_loop_init(&loop);
	if (r < 0) {
		sync_lock_release(lock);
		return ts_err_set(err, TS_E_SYSTEM, "sync: event loop: %s", uv_strerror(r));
	}
	struct once o = {0};
	if ((r = http_client_new(&loop, &o.http)) < 0 ||
	    (r = sync_new(&loop, o.http, s, cfg, so, &o.sync)) < 0) {
		rc = ts_err_set(err, TS_E_SYSTEM, "sync: %s", http_client_error(r));
	} else if ((r = sync_run_pass(o.sync, po, once_done_cb, &o, err)) < 0) {
		char *msg = ts_strdup(err->msg[0] ? err->msg : uv_strerror(r));
		rc = ts_err_set(err, err->code ? err->code : TS_E_INTERNAL, "sync: %s", msg);
		free(msg);
	}
	if (rc < 0) {
		sync_close(o.sync, NULL, NULL);
		http_client_close(o.http, NULL, NULL);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&loop);
	sync_lock_release(lock);
	if (r < 0) {
		json_decref(o.report);
		return ts_err_set(err, TS_E_INTERNAL, "sync: a handle was left open at exit (%s)",
		                  uv_err_name(r));
	}
	if (rc < 0)
		return rc;
	if (!o.report)
		return ts_err_set(err, TS_E_INTERNAL, "sync: the pass did not complete");
	*ret_report = o.report;
	*ret_unavailable = o.unavailable;
	if (o.store_err.code) {
		*err = o.store_err;
		return o.store_err.code;
	}
	if (o.pause_err.code) {
		*err = o.pause_err;
		return o.pause_err.code;
	}
	return 0;
}
