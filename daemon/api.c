/* SPDX-License-Identifier: Apache-2.0 */
/* The /api/v1 routes: scan uploads and their outcome. */
#include "daemon/api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/daemon.h"
#include "daemon/httpd.h"
#include "daemon/uploads.h"
#include "engine/api_tokens.h"
#include "engine/findings/findings.h"
#include "engine/log.h"

#define SCANS_PREFIX "/api/v1/scans/"
#define PROJECTS_PREFIX "/api/v1/projects/"
#define REFUSAL_LOG_PERIOD_MS 1000

enum api_state {
	API_BODY,    /* writing the body to the file */
	API_SYNCING, /* the file is being synced (connection suspended) */
	API_DONE,    /* answer with status */
};

struct api_req {
	struct daemon *d;
	struct MHD_Connection *conn;
	enum api_state state;
	int fd;
	char *path; /* the body's file; owned until the upload is recorded */
	size_t len, max;
	int64_t project_id;
	char slug[72];
	char format[16];
	char *scope, *tool_version, *name;
	/* Recording, on a worker thread: the file synced, the row inserted
	 * through a connection of its own, so neither the disk nor a lock held
	 * by another writer (an ingestion) holds up the loop. */
	uv_work_t work;
	char *database;
	int rec_rc;
	char rec_err[512];
	bool fs_busy; /* work in flight: freeing waits for it */
	bool orphan;  /* freed while fs was in flight */
	unsigned status;
	int64_t id;
	char *error;
};

static int64_t last_refusal_log_ms;
static unsigned refusals_unlogged;

bool api_path(const char *url)
{
	return strncmp(url, API_PREFIX, sizeof(API_PREFIX) - 1) == 0;
}

/* ------------------------------------------------------------ answers */

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, json_t *doc,
                              const char *location, const char *allow, bool close)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		text = ts_strdup("{}");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* A refusal, logged at most once a second (never a token: reason is one of
 * this file's fixed messages). The body of a refused request is not read, so
 * the connection closes after the answer. */
static enum MHD_Result refuse(struct MHD_Connection *conn, const char *url, unsigned status,
                              const char *reason, const char *allow)
{
	int64_t now = ts_monotonic_ms();
	if (last_refusal_log_ms && now - last_refusal_log_ms < REFUSAL_LOG_PERIOD_MS) {
		refusals_unlogged++;
	} else {
		log_notice("api request refused status=%u path=%.200s reason=\"%s\" "
		           "refused_unlogged=%u",
		           status, url, reason, refusals_unlogged);
		last_refusal_log_ms = now;
		refusals_unlogged = 0;
	}
	return answer(conn, status, json_pack("{s:s}", "error", reason), NULL, allow, true);
}

/* 401 or 403 for an authentication outcome other than OK. */
static enum MHD_Result refuse_auth(struct MHD_Connection *conn, const char *url, enum api_auth a)
{
	switch (a) {
	case API_AUTH_MISSING:
		return refuse(conn, url, MHD_HTTP_UNAUTHORIZED,
		              "a bearer token is required (Authorization: Bearer TOKEN)", NULL);
	case API_AUTH_INVALID:
		return refuse(conn, url, MHD_HTTP_UNAUTHORIZED, "the token is not valid", NULL);
	case API_AUTH_FORBIDDEN:
		return refuse(conn, url, MHD_HTTP_FORBIDDEN,
		              "the token does not cover this project", NULL);
	case API_AUTH_OK:
		break;
	}
	return MHD_NO;
}

/* ------------------------------------------------------------ GET /api/v1/scans/ID */

static enum MHD_Result get_scan(struct daemon *d, struct MHD_Connection *conn, const char *url,
                                const char *id_text)
{
	const char *authz =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	enum api_auth a = api_tokens_check(d->cfg->api_token_list, authz, NULL);
	if (a != API_AUTH_OK)
		return refuse_auth(conn, url, a);
	size_t n = strspn(id_text, "0123456789");
	if (n == 0 || n > 18 || id_text[n] != '\0')
		return refuse(conn, url, MHD_HTTP_NOT_FOUND, "no such upload", NULL);
	int64_t id = strtoll(id_text, NULL, 10);

	struct store *s = d->store;
	sqlite3_stmt *st = store_prepare(
	    s, "SELECT p.slug, u.status, u.received_at, u.finished_at, u.result, u.error,"
	       " u.source, u.name FROM scan_uploads u JOIN projects p ON p.id = u.project_id"
	       " WHERE u.id = ?1");
	if (!st) {
		struct ts_err err = {0};
		store_fail(s, "scan upload", &err);
		log_err("%s", err.msg);
		return refuse(conn, url, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error", NULL);
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return refuse(conn, url, MHD_HTTP_NOT_FOUND, "no such upload", NULL);
	}
	const char *slug = store_col_text(st, 0);
	/* A token sees its own projects' uploads only; the others do not
	 * exist for it. */
	if (api_tokens_check(d->cfg->api_token_list, authz, slug) != API_AUTH_OK) {
		sqlite3_reset(st);
		return refuse(conn, url, MHD_HTTP_NOT_FOUND, "no such upload", NULL);
	}
	json_t *doc =
	    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)id, "project", slug,
	              "status", store_col_text(st, 1), "source", store_col_text(st, 6), "name",
	              store_col_text(st, 7), "received_at", store_col_text(st, 2));
	const char *fin = store_col_text(st, 3);
	json_object_set_new(doc, "finished_at", fin ? json_string(fin) : json_null());
	const char *result = store_col_text(st, 4);
	if (result) {
		json_t *r = json_loads(result, 0, NULL);
		json_object_set_new(doc, "result", r ? r : json_string(result));
	}
	const char *error = store_col_text(st, 5);
	if (error)
		json_object_set_new(doc, "error", json_string(error));
	sqlite3_reset(st);
	return answer(conn, MHD_HTTP_OK, doc, NULL, NULL, false);
}

/* ------------------------------------------------------------ POST .../scans */

/* A query parameter as given, or NULL; refused (why set) when too long or
 * holding control characters. */
static const char *param(struct MHD_Connection *conn, const char *key, const char **why)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
	if (!v)
		return NULL;
	if (strlen(v) > API_PARAM_MAX) {
		*why = "a query parameter is longer than 256 bytes";
		return NULL;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*why = "a query parameter holds control characters";
			return NULL;
		}
	}
	return v;
}

/* "SLUG/scans" after the prefix; the slug into out. */
static bool parse_scans_path(const char *rest, char *out, size_t size)
{
	const char *slash = strchr(rest, '/');
	if (!slash || strcmp(slash, "/scans") != 0)
		return false;
	size_t n = (size_t)(slash - rest);
	if (n == 0 || n >= size)
		return false;
	memcpy(out, rest, n);
	out[n] = '\0';
	return api_slug_valid(out);
}

static enum MHD_Result post_scan(struct daemon *d, struct MHD_Connection *conn, const char *url,
                                 const char *slug, struct api_req **ret_req)
{
	const struct config *cfg = d->cfg;
	const char *authz =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	enum api_auth a = api_tokens_check(cfg->api_token_list, authz, slug);
	if (a != API_AUTH_OK)
		return refuse_auth(conn, url, a);
	struct ts_err err = {0};
	int64_t pid = uploads_project_id(d->store, slug, &err);
	if (pid < 0) {
		log_err("%s", err.msg);
		return refuse(conn, url, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error", NULL);
	}
	if (pid == 0)
		return refuse(conn, url, MHD_HTTP_NOT_FOUND, "no such project", NULL);

	const char *why = NULL;
	const char *format = param(conn, "format", &why);
	const char *scope = param(conn, "scope", &why);
	const char *tool_version = param(conn, "tool_version", &why);
	const char *name = param(conn, "name", &why);
	if (why)
		return refuse(conn, url, MHD_HTTP_BAD_REQUEST, why, NULL);
	enum findings_format fmt = FINDINGS_FORMAT_AUTO;
	if (format && findings_format_parse(format, &fmt, &err) < 0)
		return refuse(conn, url, MHD_HTTP_BAD_REQUEST,
		              "format must be auto, sarif, zap, gitlab or semgrep", NULL);

	const char *cl =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end = NULL;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || end == cl || *end || n > cfg->http_max_upload)
			return refuse(conn, url, MHD_HTTP_CONTENT_TOO_LARGE,
			              "request body larger than http.max_upload_bytes", NULL);
	}
	const char *dir = uploads_dir(d->uploads);
	if (!dir)
		return refuse(conn, url, MHD_HTTP_SERVICE_UNAVAILABLE,
		              "uploads are not available (the database is not a file)", NULL);
	if (d->state != DAEMON_RUNNING)
		return refuse(conn, url, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down", NULL);

	char *path = ts_asprintf("%s/upload-XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fd < 0) {
		log_err("cannot create an upload file in %s: %s", dir, strerror(errno));
		free(path);
		return refuse(conn, url, MHD_HTTP_INTERNAL_SERVER_ERROR,
		              "the upload cannot be stored", NULL);
	}
	struct api_req *r = ts_calloc(1, sizeof(*r));
	r->d = d;
	r->conn = conn;
	r->fd = fd;
	r->path = path;
	r->max = cfg->http_max_upload;
	r->project_id = pid;
	r->database = ts_strdup(cfg->database);
	snprintf(r->slug, sizeof(r->slug), "%s", slug);
	snprintf(r->format, sizeof(r->format), "%s", findings_format_name(fmt));
	r->scope = ts_strdup(scope);
	r->tool_version = ts_strdup(tool_version);
	r->name = ts_strdup(name && *name ? name : "upload");
	*ret_req = r;
	return MHD_YES;
}

enum MHD_Result api_begin(struct daemon *d, struct MHD_Connection *conn, const char *url,
                          const char *method, struct api_req **ret_req)
{
	*ret_req = NULL;
	if (strncmp(url, SCANS_PREFIX, sizeof(SCANS_PREFIX) - 1) == 0) {
		if (strcmp(method, "GET") != 0)
			return refuse(conn, url, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
			              "GET");
		return get_scan(d, conn, url, url + sizeof(SCANS_PREFIX) - 1);
	}
	char slug[72];
	if (strncmp(url, PROJECTS_PREFIX, sizeof(PROJECTS_PREFIX) - 1) == 0 &&
	    parse_scans_path(url + sizeof(PROJECTS_PREFIX) - 1, slug, sizeof(slug))) {
		if (strcmp(method, "POST") != 0)
			return refuse(conn, url, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
			              "POST");
		return post_scan(d, conn, url, slug, ret_req);
	}
	return refuse(conn, url, MHD_HTTP_NOT_FOUND, "not found", NULL);
}

/* ------------------------------------------------------------ the body */

static void discard_file(struct api_req *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->path)
		unlink(r->path);
	free(r->path);
	r->path = NULL;
}

static void req_release(struct api_req *r)
{
	discard_file(r);
	free(r->scope);
	free(r->tool_version);
	free(r->name);
	free(r->error);
	free(r->database);
	free(r);
}

void api_req_free(struct api_req *r)
{
	if (!r)
		return;
	if (r->fs_busy) {
		r->orphan = true;
		return;
	}
	req_release(r);
}

/* Worker thread: touches r's own fields only (the loop leaves r alone while
 * fs_busy, but for setting orphan). */
static void record_work_cb(uv_work_t *req)
{
	struct api_req *r = req->data;
	struct ts_err err = {0};
	struct store *s = NULL;
	if (fdatasync(r->fd) < 0) {
		r->rec_rc = TS_E_IO;
		snprintf(r->rec_err, sizeof(r->rec_err), "%s: cannot sync: %s", r->path,
		         strerror(errno));
		return;
	}
	r->rec_rc = store_open(r->database, STORE_NO_CREATE, &s, &err);
	if (r->rec_rc == 0) {
		int64_t id =
		    uploads_insert(s, r->project_id, "api", r->name, r->path, (int64_t)r->len,
		                   r->format, r->scope, r->tool_version, &err);
		if (id < 0)
			r->rec_rc = (int)id;
		else
			r->id = id;
	}
	store_close(s);
	if (r->rec_rc < 0)
		snprintf(r->rec_err, sizeof(r->rec_err), "%s", err.msg);
}

static void record_after_cb(uv_work_t *req, int status)
{
	struct api_req *r = req->data;
	struct daemon *d = r->d;
	r->fs_busy = false;
	if (status < 0 && r->rec_rc == 0) {
		r->rec_rc = TS_E_INTERNAL;
		snprintf(r->rec_err, sizeof(r->rec_err), "cancelled");
	}
	if (r->orphan) {
		/* The connection went away meanwhile; a recorded upload is still
		 * ingested, it is only not acknowledged. */
		if (r->rec_rc == 0) {
			free(r->path);
			r->path = NULL;
			uploads_kick(d->uploads);
		}
		req_release(r);
		daemon_work_end(d);
		return;
	}
	close(r->fd);
	r->fd = -1;
	r->state = API_DONE;
	if (r->rec_rc < 0) {
		log_err("scan upload not recorded project=%s: %s", r->slug, r->rec_err);
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		discard_file(r);
	} else {
		/* The row owns the file now. */
		free(r->path);
		r->path = NULL;
		r->status = MHD_HTTP_ACCEPTED;
		log_info("scan upload queued id=%lld project=%s bytes=%zu format=%s",
		         (long long)r->id, r->slug, r->len, r->format);
		uploads_kick(d->uploads);
	}
	MHD_resume_connection(r->conn);
	httpd_wake(d->httpd);
	/* Last: ending the last unit of work may finish a stop. */
	daemon_work_end(d);
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

enum MHD_Result api_continue(struct api_req *r, const char *upload_data, size_t *upload_data_size)
{
	struct MHD_Connection *conn = r->conn;
	switch (r->state) {
	case API_BODY:
		if (*upload_data_size > 0) {
			size_t n = *upload_data_size;
			*upload_data_size = 0;
			if (r->fd < 0)
				return MHD_YES; /* refused already: the rest is dropped */
			if (n > r->max - r->len) {
				/* A chunked body that outgrew the bound. */
				discard_file(r);
				return refuse(
				    conn, "/api/v1/projects/.../scans", MHD_HTTP_CONTENT_TOO_LARGE,
				    "request body larger than http.max_upload_bytes", NULL);
			}
			if (!write_all(r->fd, upload_data, n)) {
				log_err("upload file %s: write failed: %s", r->path,
				        strerror(errno));
				discard_file(r);
				return refuse(conn, "/api/v1/projects/.../scans",
				              MHD_HTTP_INTERNAL_SERVER_ERROR,
				              "the upload cannot be stored", NULL);
			}
			r->len += n;
			return MHD_YES;
		}
		if (r->fd < 0)
			return MHD_YES;
		/* The whole body is there: sync and record it off the loop (an
		 * upload is acknowledged only once it is on the disk and in the
		 * table). */
		r->state = API_SYNCING;
		r->work.data = r;
		MHD_suspend_connection(conn);
		if (uv_queue_work(&r->d->loop, &r->work, record_work_cb, record_after_cb) < 0) {
			MHD_resume_connection(conn);
			discard_file(r);
			r->state = API_DONE;
			r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			return MHD_YES;
		}
		r->fs_busy = true;
		daemon_work_begin(r->d);
		return MHD_YES;
	case API_SYNCING:
		return MHD_YES;
	case API_DONE:
		if (r->status == MHD_HTTP_ACCEPTED) {
			char loc[64];
			snprintf(loc, sizeof(loc), "/api/v1/scans/%lld", (long long)r->id);
			json_t *doc = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->id,
			                        "status", "queued", "url", loc);
			return answer(conn, MHD_HTTP_ACCEPTED, doc, loc, NULL, false);
		}
		return answer(conn, r->status,
		              json_pack("{s:s}", "error", "the upload could not be stored"), NULL,
		              NULL, false);
	}
	return MHD_NO;
}
