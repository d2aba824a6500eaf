/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's HTTP endpoint: libmicrohttpd on the libuv loop, webhook routes
 * and batched commits. */
#include "daemon/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "connectors/connector.h"
#include "daemon/api.h"
#include "daemon/daemon.h"
#include "daemon/http_route.h"
#include "daemon/jobs.h"
#include "daemon/metrics.h"
#include "daemon/sync_job.h"
#include "daemon/uploads.h"
#include "engine/log.h"
#include "engine/tracking/webhook.h"

#define PRUNE_PERIOD_MS (3600 * 1000)
/* Metrics snapshots after webhook batches that changed tasks are taken once
 * for all the batches of this long: a snapshot computes every project's
 * metrics, which must not hold up each batch's answers. */
#define SNAPSHOT_DELAY_MS 1000
#define REJECT_LOG_PERIOD_MS 1000

enum hreq_state {
	HREQ_BODY,   /* reading the body */
	HREQ_QUEUED, /* authenticated and parsed, suspended until the batch commits */
	HREQ_DONE,   /* committed (or failed): answer with status */
	HREQ_TOO_LARGE, /* a chunked body outgrew the bound: the rest is discarded */
};

/* One webhook request (libmicrohttpd's per-request pointer). */
struct hreq {
	enum hreq_state state;
	enum webhook_source source;
	char connector[72];
	struct MHD_Connection *conn;
	struct ts_buf body;
	size_t max_body;
	size_t discarded; /* HREQ_TOO_LARGE: bytes thrown away */
	struct webhook_event *ev; /* owned once parsed */
	unsigned status;          /* HREQ_DONE: the answer */
	struct hreq *next;        /* in the pending batch */
	struct api_req *api;      /* an /api/ request: daemon/api.c reads and answers it */
};

struct httpd {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	int quiesced_fd; /* the listening socket after httpd_quiesce, -1 before */
	bool quiesced;
	bool ready; /* every loop handle initialised */
	bool closing;
	uv_poll_t poll;   /* MHD's epoll fd */
	uv_timer_t timer; /* MHD's next timeout */
	uv_check_t check; /* commits the batch after the loop's I/O phase */
	uv_idle_t idle;   /* while a batch waits: the loop's poll does not block */
	uv_timer_t snap;  /* armed: a metrics snapshot is due (SNAPSHOT_DELAY_MS) */
	int handles;      /* initialised and not yet closed */
	struct hreq *pending, **pending_tail;
	size_t n_pending;
	bool work_held; /* daemon_work_begin taken for the pending batch */
	int64_t last_prune_ms;
	int64_t last_reject_log_ms;
	unsigned rejects_unlogged;
	char listen[300]; /* for messages */
};

/* ------------------------------------------------------------ responses */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *body,
                               const char *content_type, const char *allow, bool close)
{
	size_t len = body ? strlen(body) : 0;
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status,
                                     const char *message, const char *allow, bool close)
{
	json_t *doc = json_pack("{s:s}", "error", message);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	enum MHD_Result r = respond(conn, status, text, "application/json", allow, close);
	free(text);
	return r;
}

static void peer_name(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, size, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, (socklen_t)size);
}

/* Refusals are logged at most once a second, with a count of the others, so
 * a flood of bad requests cannot flood the journal. Never a secret: reason is
 * one of webhook.c's fixed messages. */
static void log_reject(struct httpd *h, struct MHD_Connection *conn, const char *path,
                       unsigned status, const char *reason)
{
	int64_t now = ts_monotonic_ms();
	if (h->last_reject_log_ms && now - h->last_reject_log_ms < REJECT_LOG_PERIOD_MS) {
		h->rejects_unlogged++;
		return;
	}
	char peer[INET6_ADDRSTRLEN + 1];
	peer_name(conn, peer, sizeof(peer));
	log_notice("http request refused status=%u path=%.200s peer=%s reason=\"%s\" "
	           "refused_unlogged=%u",
	           status, path, peer, reason, h->rejects_unlogged);
	h->last_reject_log_ms = now;
	h->rejects_unlogged = 0;
}

static enum MHD_Result reject(struct httpd *h, struct MHD_Connection *conn, const char *path,
                              unsigned status, const char *reason, const char *allow)
{
	log_reject(h, conn, path, status, reason);
	/* The body of a refused request is not read: the connection cannot be
	 * reused after it. */
	return respond_error(conn, status, reason, allow, true);
}

static void iso_of_ms(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

/* 200 while the daemon runs, also when a connector is paused (the process is
 * healthy; the tracker refused): "status" is "paused" then, and "paused"
 * lists each pause with the tracker's words, from the sync job's memory.
 * "degraded" (before "paused") while the database refuses writes: "storage"
 * gives the failure, since when and how many in a row; what can be served
 * still is, and the writes are retried. Never reads the database. */
static enum MHD_Result healthz(struct httpd *h, struct MHD_Connection *conn)
{
	const struct daemon *d = h->d;
	const char *state = d->state == DAEMON_RUNNING ? "running" : "stopping";
	const json_t *pauses = sync_job_pauses(d);
	bool degraded = d->storage_failures > 0;
	const char *status = degraded ? "degraded" : pauses ? "paused" : "ok";
	json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "status", status, "state", state, "version",
	                        TS_VERSION, "uptime_s",
	                        (json_int_t)((ts_monotonic_ms() - d->started_ms) / 1000));
	if (degraded) {
		char since[32];
		iso_of_ms(d->storage_failed_ms, since);
		json_object_set_new(doc, "storage",
		                    json_pack("{s:s, s:s, s:I}", "error", d->storage_error, "since",
		                              since, "failures", (json_int_t)d->storage_failures));
	}
	if (pauses)
		json_object_set_new(doc, "paused", json_deep_copy(pauses));
	json_object_set_new(doc, "uploads",
	                    json_pack("{s:I, s:b}", "queued", (json_int_t)uploads_queued(d->uploads),
	                              "running", uploads_running(d->uploads)));
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	enum MHD_Result r = respond(conn, MHD_HTTP_OK, body ? body : "{}", "application/json",
	                            NULL, false);
	free(body);
	return r;
}

/* The Prometheus exposition (daemon/metrics.h); 500 when the database
 * cannot be read, so a scrape never shows half the figures. */
static enum MHD_Result metrics(struct httpd *h, struct MHD_Connection *conn)
{
	struct ts_buf b = {0};
	struct ts_err err = {0};
	enum MHD_Result r;
	if (metrics_render(h->d->metrics, h->d->cfg, h->d->store, &b, &err) < 0) {
		log_err("GET /metrics failed: %s", err.msg);
		r = respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "the database could not be read",
		                  NULL, false);
	} else {
		r = respond(conn, MHD_HTTP_OK, b.data ? b.data : "",
		            "text/plain; version=0.0.4; charset=utf-8", NULL, false);
	}
	ts_buf_free(&b);
	return r;
}

/* ------------------------------------------------------------ batches */

static void hreq_free(struct hreq *r)
{
	if (!r)
		return;
	ts_buf_free(&r->body);
	webhook_event_free(r->ev);
	api_req_free(r->api);
	free(r);
}


static void log_applied(const struct hreq *r, const struct webhook_result *res)
{
	const struct webhook_event *ev = r->ev;
	if (res->outcome == WEBHOOK_APPLIED && res->apply.changed > 0)
		log_info(
		    "webhook applied connector=%s key=%s status=\"%s\" actor=%s tasks_changed=%d "
		    "delivery=%s",
		    ev->connector, ev->remote.key, ev->remote.status ? ev->remote.status : "",
		    ev->remote.actor ? ev->remote.actor : "", res->apply.changed, ev->delivery_id);
	else
		log_debug("webhook connector=%s event=%s key=%s outcome=%s delivery=%s",
		          ev->connector, ev->event, ev->remote.key ? ev->remote.key : "-",
		          webhook_outcome_name(res->outcome), ev->delivery_id);
}

/* Applies deliveries in one transaction; on any error rolls it back and
 * returns the error (the caller then goes one by one). */
static int apply_all(struct httpd *h, struct hreq *list, const char *now, bool prune,
                     bool *ret_applied, struct ts_err *err)
{
	bool applied = false;
	struct store *s = h->d->store;
	int rc = store_begin(s);
	if (rc < 0)
		return store_fail(s, "begin", err);
	for (struct hreq *r = list; r && rc == 0; r = r->next) {
		struct webhook_result res;
		/* The mapping in force now: a reload may have changed it (or
		 * removed the connector: the built-in mapping then) since the
		 * delivery was parsed. */
		const struct config_connector *c =
		    config_find_connector(h->d->cfg, r->ev->connector);
		rc = webhook_apply(s, c ? c->fieldmap : NULL, r->ev, now, &res, err);
		applied = applied ||
		          (rc == 0 && res.outcome == WEBHOOK_APPLIED && res.apply.changed > 0);
		if (rc == 0 && log_enabled(LOG_LEVEL_INFO))
			log_applied(r, &res);
	}
	if (rc == 0 && prune) {
		char before[32];
		int n = 0;
		iso_of_ms(ts_now_ms() - (int64_t)WEBHOOK_DELIVERY_KEEP_DAYS * 86400 * 1000, before);
		rc = webhook_prune(s, before, &n, err);
		if (rc == 0 && n > 0)
			log_debug("webhook deliveries pruned count=%d before=%s", n, before);
	}
	if (rc == 0 && (rc = store_commit(s)) < 0)
		rc = store_fail(s, "commit", err);
	if (rc < 0)
		store_rollback(s);
	else
		*ret_applied = *ret_applied || applied;
	return rc;
}

static void run_mhd(struct httpd *h);

static void snap_cb(uv_timer_t *t)
{
	struct httpd *h = t->data;
	jobs_snapshot(h->d, NULL);
}

/* Commits every pending delivery, then lets their connections answer: a
 * tracker is only told 2xx once its event is in the database. */
static void commit_batch(struct httpd *h)
{
	struct hreq *list = h->pending;
	h->pending = NULL;
	h->pending_tail = &h->pending;
	size_t n = h->n_pending;
	h->n_pending = 0;
	if (!list)
		return;
	char now[32];
	ts_now_iso(now);
	int64_t mono = ts_monotonic_ms();
	bool prune = h->last_prune_ms == 0 || mono - h->last_prune_ms >= PRUNE_PERIOD_MS;
	struct ts_err err = {0};
	bool applied = false;
	if (apply_all(h, list, now, prune, &applied, &err) == 0) {
		daemon_storage_ok(h->d, "webhooks");
		if (prune)
			h->last_prune_ms = mono;
		for (struct hreq *r = list; r; r = r->next)
			r->status = MHD_HTTP_NO_CONTENT;
	} else if (err.code == TS_E_BUSY) {
		/* Another process holds the database: each delivery alone would
		 * wait the busy timeout again, holding up the loop. 500: the
		 * tracker retries, and the poll reads the change meanwhile. */
		log_warning("webhook batch not stored, the database is busy deliveries=%zu "
		            "error=\"%s\"",
		            n, err.msg);
		daemon_storage_failed(h->d, "webhooks", err.msg);
		for (struct hreq *r = list; r; r = r->next)
			r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		/* One delivery the store refuses must not fail the others: retry
		 * each alone; the failing ones get a 500 and the tracker retries. */
		log_warning("webhook batch failed, retrying one by one deliveries=%zu error=\"%s\"",
		            n, err.msg);
		daemon_storage_failed(h->d, "webhooks", err.msg);
		for (struct hreq *r = list; r; r = r->next) {
			struct hreq *next = r->next;
			r->next = NULL;
			ts_err_clear(&err);
			if (apply_all(h, r, now, false, &applied, &err) == 0) {
				r->status = MHD_HTTP_NO_CONTENT;
			} else {
				r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
				log_err("webhook not stored connector=%s delivery=%s error=\"%s\"",
				        r->ev->connector, r->ev->delivery_id, err.msg);
			}
			r->next = next;
		}
	}
	for (struct hreq *r = list; r;) {
		struct hreq *next = r->next;
		r->next = NULL;
		r->state = HREQ_DONE;
		metrics_webhook(h->d->metrics, h->d->cfg, r->connector,
		                r->status == MHD_HTTP_NO_CONTENT ? METRICS_WEBHOOK_ACCEPTED
		                                                 : METRICS_WEBHOOK_FAILED);
		MHD_resume_connection(r->conn);
		r = next;
	}
	/* Task statuses changed: the projects' metrics moved. One snapshot
	 * for the batches of the next moment, off their answers' path. */
	if (applied && h->ready && !uv_is_active((uv_handle_t *)&h->snap))
		uv_timer_start(&h->snap, snap_cb, SNAPSHOT_DELAY_MS, 0);
}

static void check_cb(uv_check_t *c)
{
	struct httpd *h = c->data;
	uv_check_stop(&h->check);
	uv_idle_stop(&h->idle);
	commit_batch(h);
	run_mhd(h);
	if (h->work_held) {
		h->work_held = false;
		/* Last: ending the last unit of work may finish a stop, which
		 * closes this endpoint. */
		daemon_work_end(h->d);
	}
}

static void idle_cb(uv_idle_t *i)
{
	(void)i;
}

static void enqueue(struct httpd *h, struct hreq *r)
{
	r->state = HREQ_QUEUED;
	r->next = NULL;
	*h->pending_tail = r;
	h->pending_tail = &r->next;
	h->n_pending++;
	MHD_suspend_connection(r->conn);
	if (!h->work_held) {
		h->work_held = true;
		daemon_work_begin(h->d);
	}
	uv_check_start(&h->check, check_cb);
	/* A check handle alone does not keep the loop's poll from blocking: a
	 * request read while the batch is committed (the next one on a kept-
	 * alive connection) would wait for the next unrelated event. An active
	 * idle handle makes that poll return at once. */
	uv_idle_start(&h->idle, idle_cb);
}

/* ------------------------------------------------------------ requests */

/* The request's values for daemon/http_route.c. */
static const char *mhd_lookup_cb(void *ctx, enum http_value_kind kind, const char *name)
{
	return MHD_lookup_connection_value(ctx, kind == HTTP_HEADER ? MHD_HEADER_KIND
	                                                            : MHD_GET_ARGUMENT_KIND,
	                                   name);
}

/* First call of a request: route and check everything the headers tell, so
 * a request that cannot succeed is refused before its body is read. */
static enum MHD_Result begin_request(struct httpd *h, struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls)
{
	const struct config *cfg = h->d->cfg;
	struct http_route rt;
	http_route_head(cfg, method, url, h->quiesced, mhd_lookup_cb, conn, &rt);
	switch (rt.kind) {
	case HTTP_ROUTE_HEALTHZ:
		return healthz(h, conn);
	case HTTP_ROUTE_METRICS:
		return metrics(h, conn);
	case HTTP_ROUTE_API: {
		struct api_req *ar = NULL;
		enum MHD_Result q = api_begin(h->d, conn, url, method, &ar);
		if (ar) {
			struct hreq *r = ts_calloc(1, sizeof(*r));
			r->conn = conn;
			r->api = ar;
			*con_cls = r;
		}
		return q;
	}
	case HTTP_ROUTE_REFUSE:
		if (rt.rejected_webhook)
			metrics_webhook(h->d->metrics, cfg, rt.connector, METRICS_WEBHOOK_REJECTED);
		return reject(h, conn, url, rt.status, rt.reason, rt.allow);
	case HTTP_ROUTE_HOOK:
		break;
	}
	struct hreq *r = ts_calloc(1, sizeof(*r));
	r->source = rt.source;
	r->conn = conn;
	r->max_body = rt.max_body;
	snprintf(r->connector, sizeof(r->connector), "%s", rt.connector);
	*con_cls = r;
	return MHD_YES;
}

/* The whole body is there: authenticate it (the engine), have the
 * connector read it, queue it for webhook_apply (the engine). */
static enum MHD_Result finish_body(struct httpd *h, struct hreq *r, const char *url)
{
	if (h->quiesced)
		return reject(h, r->conn, url, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down", NULL);
	struct http_route rt = {.kind = HTTP_ROUTE_HOOK, .source = r->source};
	snprintf(rt.connector, sizeof(rt.connector), "%s", r->connector);
	if (http_route_body(h->d->cfg, &rt, mhd_lookup_cb, r->conn, r->body.data, r->body.len,
	                    &r->ev) < 0) {
		if (rt.rejected_webhook)
			metrics_webhook(h->d->metrics, h->d->cfg, r->connector,
			                METRICS_WEBHOOK_REJECTED);
		if (rt.status != MHD_HTTP_BAD_REQUEST)
			return reject(h, r->conn, url, rt.status, rt.reason, NULL);
		/* The body was read whole: the connection stays usable. */
		log_reject(h, r->conn, url, rt.status, rt.reason);
		return respond_error(r->conn, rt.status, rt.reason, NULL, false);
	}
	ts_buf_free(&r->body);
	enqueue(h, r);
	return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct httpd *h = cls;
	struct hreq *r = *con_cls;
	if (!r)
		return begin_request(h, conn, url, method, con_cls);
	if (r->api)
		return api_continue(r->api, upload_data, upload_data_size);
	switch (r->state) {
	case HREQ_BODY:
		if (*upload_data_size == 0)
			return finish_body(h, r, url);
		if (!http_route_body_fits(r->body.len, *upload_data_size, r->max_body)) {
			/* A chunked body (no Content-Length) that outgrew the bound.
			 * libmicrohttpd answers only once the body has been read:
			 * the rest is discarded, up to another max_body bytes, and
			 * answered 413; a longer one is cut off. */
			ts_buf_free(&r->body);
			r->state = HREQ_TOO_LARGE;
			r->discarded = *upload_data_size;
			*upload_data_size = 0;
			metrics_webhook(h->d->metrics, h->d->cfg, r->connector,
			                METRICS_WEBHOOK_REJECTED);
			return MHD_YES;
		}
		ts_buf_append(&r->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	case HREQ_TOO_LARGE:
		if (*upload_data_size == 0)
			return reject(h, conn, url, MHD_HTTP_CONTENT_TOO_LARGE,
			              "request body larger than http.max_body_bytes", NULL);
		r->discarded += *upload_data_size;
		*upload_data_size = 0;
		if (r->discarded > r->max_body) {
			log_reject(h, conn, url, MHD_HTTP_CONTENT_TOO_LARGE,
			           "request body larger than http.max_body_bytes (connection closed)");
			return MHD_NO;
		}
		return MHD_YES;
	case HREQ_QUEUED:
		/* Not reached: a suspended connection is not processed. */
		return MHD_YES;
	case HREQ_DONE:
		if (r->status == MHD_HTTP_NO_CONTENT)
			return respond(conn, r->status, NULL, NULL, NULL, false);
		return respond_error(conn, r->status, "the delivery could not be stored", NULL,
		                     false);
	}
	return MHD_NO;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	hreq_free(*con_cls);
	*con_cls = NULL;
}

/* ------------------------------------------------------------ loop glue */

static void timer_cb(uv_timer_t *t)
{
	run_mhd(t->data);
}

/* Lets MHD do what is ready, then arms the timer for its next deadline
 * (connection timeouts; 0 when it has buffered work left). */
static void run_mhd(struct httpd *h)
{
	if (!h->mhd || !h->ready || h->closing)
		return;
	MHD_run(h->mhd);
	MHD_UNSIGNED_LONG_LONG timeout = 0;
	if (MHD_get_timeout(h->mhd, &timeout) == MHD_YES)
		uv_timer_start(&h->timer, timer_cb, (uint64_t)timeout, 0);
	else
		uv_timer_stop(&h->timer);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	/* On an error too: MHD_run finds out what is wrong with its sockets. */
	run_mhd(p->data);
}

/* ------------------------------------------------------------ start/stop */

/* Resolves and binds "HOST:PORT" / "[V6]:PORT" into a listening socket. */
static int bind_listen(const char *listen_spec, bool *ret_v6, struct ts_err *err)
{
	char host[256], port[8];
	const char *colon;
	const char *h0 = listen_spec;
	size_t hn;
	if (listen_spec[0] == '[') {
		const char *end = strchr(listen_spec, ']');
		if (!end || end[1] != ':')
			return ts_err_set(err, TS_E_CONFIG, "http.listen '%s': not [ADDRESS]:PORT",
			                  listen_spec);
		h0 = listen_spec + 1;
		hn = (size_t)(end - h0);
		colon = end + 1;
	} else {
		colon = strrchr(listen_spec, ':');
		if (!colon)
			return ts_err_set(err, TS_E_CONFIG, "http.listen '%s': not HOST:PORT",
			                  listen_spec);
		hn = (size_t)(colon - listen_spec);
	}
	if (hn == 0 || hn >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return ts_err_set(err, TS_E_CONFIG, "http.listen '%s': not HOST:PORT", listen_spec);
	memcpy(host, h0, hn);
	host[hn] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);

	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int gr = getaddrinfo(host, port, &hints, &ai);
	if (gr != 0)
		return ts_err_set(err, TS_E_CONFIG, "http.listen '%s': %s", listen_spec,
		                  gai_strerror(gr));
	int fd = -1, saved = 0;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            a->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, HTTPD_LISTEN_BACKLOG) == 0) {
			*ret_v6 = a->ai_family == AF_INET6;
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return ts_err_set(err, TS_E_UNAVAILABLE, "http.listen '%s': cannot listen: %s",
		                  listen_spec, strerror(saved));
	return fd;
}

static void handle_closed_cb(uv_handle_t *hd)
{
	struct httpd *h = hd->data;
	if (--h->handles == 0)
		free(h);
}

static void close_handles(struct httpd *h)
{
	uv_handle_t *hs[] = {(uv_handle_t *)&h->poll, (uv_handle_t *)&h->timer,
	                     (uv_handle_t *)&h->check, (uv_handle_t *)&h->idle,
	                     (uv_handle_t *)&h->snap};
	int n = h->handles;
	/* Handles are initialised in this order; only those are closed. */
	for (int i = 0; i < n && i < (int)TS_ARRAY_SIZE(hs); i++)
		uv_close(hs[i], handle_closed_cb);
}

int httpd_start(struct daemon *d, struct httpd **ret_h, struct ts_err *err)
{
	const char *spec = d->cfg->http_listen;
	bool v6 = false;
	int fd = bind_listen(spec, &v6, err);
	if (fd < 0)
		return fd;

	struct httpd *h = ts_calloc(1, sizeof(*h));
	h->d = d;
	h->quiesced_fd = -1;
	h->pending_tail = &h->pending;
	snprintf(h->listen, sizeof(h->listen), "%s", spec);
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	if (v6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, access_cb, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONNECTION_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTPD_PER_IP_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_CONNECTION_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
	    MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		free(h);
		return ts_err_set(err, TS_E_INTERNAL, "http.listen '%s': libmicrohttpd did not start",
		                  spec);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	int r = info ? uv_poll_init(&d->loop, &h->poll, info->epoll_fd) : UV_EINVAL;
	if (r == 0) {
		h->handles++;
		h->poll.data = h;
		r = uv_timer_init(&d->loop, &h->timer);
	}
	if (r == 0) {
		h->handles++;
		h->timer.data = h;
		r = uv_check_init(&d->loop, &h->check);
	}
	if (r == 0) {
		h->handles++;
		h->check.data = h;
		r = uv_idle_init(&d->loop, &h->idle);
	}
	if (r == 0) {
		h->handles++;
		h->idle.data = h;
		r = uv_timer_init(&d->loop, &h->snap);
	}
	if (r == 0) {
		h->handles++;
		h->snap.data = h;
		r = uv_poll_start(&h->poll, UV_READABLE, poll_cb);
	}
	if (r < 0) {
		ts_err_set(err, TS_E_INTERNAL, "http.listen '%s': event loop: %s", spec,
		           uv_strerror(r));
		httpd_close(h);
		return r;
	}
	h->ready = true;
	run_mhd(h);
	*ret_h = h;
	return 0;
}

void httpd_wake(struct httpd *h)
{
	if (h)
		run_mhd(h);
}

void httpd_quiesce(struct httpd *h)
{
	if (!h || h->quiesced || h->closing)
		return;
	h->quiesced = true;
	MHD_socket fd = MHD_quiesce_daemon(h->mhd);
	if (fd != MHD_INVALID_SOCKET)
		h->quiesced_fd = fd;
	log_info("http endpoint no longer accepting connections listen=%s", h->listen);
}

void httpd_close(struct httpd *h)
{
	if (!h || h->closing)
		return;
	/* Deliveries already accepted are committed and answered before the
	 * connections close (a stop at its deadline included). */
	commit_batch(h);
	run_mhd(h);
	/* A snapshot still due is taken now: the changes stay measured. */
	if (h->ready && uv_is_active((uv_handle_t *)&h->snap)) {
		uv_timer_stop(&h->snap);
		jobs_snapshot(h->d, NULL);
	}
	h->closing = true;
	if (h->handles > 0)
		uv_poll_stop(&h->poll);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
	if (h->quiesced_fd >= 0)
		close(h->quiesced_fd);
	h->quiesced_fd = -1;
	if (h->work_held) {
		h->work_held = false;
		daemon_work_end(h->d);
	}
	if (h->handles == 0) {
		free(h);
		return;
	}
	close_handles(h);
}
