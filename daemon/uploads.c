/* SPDX-License-Identifier: Apache-2.0 */
/* The ingestion queue of scan reports (API uploads and spool files), its
 * worker and the spool directory. */
#define _GNU_SOURCE /* renameat2 */
#include "daemon/uploads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/daemon.h"
#include "daemon/jobs.h"
#include "daemon/memory.h"
#include "engine/findings/ingest.h"
#include "engine/library/cwe.h"
#include "engine/library/library.h"
#include "engine/log.h"

#define SPOOL_SOON_MS 20      /* a watch fired: read the directory after this */
#define CLASH_SUFFIX_MAX 1000 /* NAME.1 .. NAME.999 in done/ and failed/ */
#define SPOOL_NAME_MAX 200

/* One ingestion handed to the worker. Everything it reads is its own copy:
 * the configuration may be swapped by a reload while it runs. */
struct job {
	uv_work_t req;
	struct uploads *u;
	int64_t id;
	char *project;
	bool spool;
	char *name;
	char *path;
	char *format;
	char *scope;
	char *tool_version;
	char *database;
	char **library_paths; /* NULL-terminated */
	/* The configuration in force when the job started, read-only: a reload
	 * hands it to uploads_retire_config instead of freeing it while the
	 * worker reads it. */
	const struct config *cfg;
	size_t max_size;
	/* Filled by the worker. */
	int rc;
	char *result; /* JSON text when rc == 0 */
	char *error;  /* the message when rc < 0 */
	int64_t ms;
};

struct spool_watch {
	uv_fs_event_t ev;
	struct uploads *u;
	struct spool_watch *next;
};

struct uploads {
	struct daemon *d;
	char *dir;   /* upload directory; NULL: off */
	char *spool; /* copy of the spool directory at start; NULL: none */
	struct job *running;
	size_t queued;
	bool quiesced;
	bool closing;
	bool scan_after;        /* a spool read waits for the running ingestion to end */
	struct config *retired; /* owned: the running job's configuration, replaced by a reload */
	int handles;            /* initialised and not yet closed */
	uv_timer_t rescan;
	uv_timer_t soon;
	struct spool_watch *watches;
};

/* ------------------------------------------------------------ helpers */

static char **strv_dup(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = ts_calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = ts_strdup(v[i]);
	return out;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->project);
	free(j->name);
	free(j->path);
	free(j->format);
	free(j->scope);
	free(j->tool_version);
	free(j->database);
	strv_free(j->library_paths);
	free(j->result);
	free(j->error);
	free(j);
}

static void maybe_free(struct uploads *u)
{
	if (u->closing && u->handles == 0 && !u->running) {
		free(u->dir);
		free(u->spool);
		free(u);
	}
}

static int mkdir_one(const char *path, struct ts_err *err)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST) {
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		return ts_err_set(err, TS_E_CREATE, "%s: exists and is not a directory", path);
	}
	return ts_err_set(err, TS_E_CREATE, "%s: cannot create the directory: %s", path,
	                  strerror(errno));
}

/* ------------------------------------------------------------ worker */

/* Runs on a worker thread: touches nothing but the job. */
static void work_cb(uv_work_t *req)
{
	struct job *j = req->data;
	int64_t t0 = ts_monotonic_ms();
	struct ts_err err = {0};
	struct store *s = NULL;
	struct cwe_catalog *cwe = NULL;
	struct library *lib = NULL;
	json_t *result = NULL;
	int fd = -1;
	size_t n_dirs = 0;
	while (j->library_paths[n_dirs])
		n_dirs++;

	/* Never follow a link: a spool file is checked before it is queued,
	 * and opened here without following one put in its place since. */
	fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		j->rc =
		    ts_err_set(&err, errno == ENOENT ? TS_E_NOTFOUND : TS_E_IO,
		               "%s: cannot open the report: %s", j->name,
		               errno == ELOOP ? "a symbolic link (not followed)" : strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		j->rc = ts_err_set(&err, TS_E_INVALID, "%s: not a regular file", j->name);
		goto out;
	}
	if ((uint64_t)st.st_size > j->max_size) {
		j->rc = ts_err_set(&err, TS_E_INVALID,
		                   "%s: %lld bytes, larger than http.max_upload_bytes (%zu)",
		                   j->name, (long long)st.st_size, j->max_size);
		goto out;
	}
	j->rc = cwe_catalog_load((const char *const *)j->library_paths, n_dirs, &cwe, &err);
	if (j->rc < 0)
		goto out;
	if (library_load((const char *const *)j->library_paths, n_dirs, &lib, &err) < 0) {
		/* Correlation by CWE still works without the library's rules. */
		lib = NULL;
		ts_err_clear(&err);
	}
	j->rc = store_open(j->database, STORE_NO_CREATE, &s, &err);
	if (j->rc < 0)
		goto out;
	enum findings_format fmt = FINDINGS_FORMAT_AUTO;
	j->rc = findings_format_parse(j->format, &fmt, &err);
	if (j->rc < 0)
		goto out;
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	struct ingest_request r = {
	    .project = j->project,
	    .path = fdpath,
	    .name = j->name,
	    .format = fmt,
	    .scope = j->scope,
	    .tool_version = j->tool_version,
	    .cwe = cwe,
	    .library = lib,
	    .project_cfg = config_find_project(j->cfg, j->project),
	};
	j->rc = ingest_report(s, &r, &result, &err);
	if (j->rc == 0)
		j->result = json_dumps(result ? result : json_object(), JSON_COMPACT);
out:
	if (j->rc < 0)
		j->error = ts_strdup(err.msg[0] ? err.msg : "ingestion failed");
	json_decref(result);
	store_close(s);
	library_free(lib);
	cwe_catalog_free(cwe);
	if (fd >= 0)
		close(fd);
	j->ms = ts_monotonic_ms() - t0;
}

/* ------------------------------------------------------------ spool files */

/* Moves path into dir (".../done" or ".../failed") under its own name, or
 * NAME.1, NAME.2, ... when taken; the final path into out. */
static int move_into(const char *path, const char *dir, const char *name, char *out, size_t size)
{
	for (int i = 0; i < CLASH_SUFFIX_MAX; i++) {
		if (i == 0)
			snprintf(out, size, "%s/%s", dir, name);
		else
			snprintf(out, size, "%s/%s.%d", dir, name, i);
		if (renameat2(AT_FDCWD, path, AT_FDCWD, out, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Writes final_path + suffix whole or not at all: into a dotfile beside it
 * first, renamed into place once written, so a CI job that waits for the file
 * never reads half of it. */
static void write_beside(const char *final_path, const char *suffix, const char *text)
{
	char p[4096], tmp[4200];
	snprintf(p, sizeof(p), "%s%s", final_path, suffix);
	const char *slash = strrchr(p, '/');
	if (!slash)
		return;
	snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp", (int)(slash - p), p, slash + 1);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		log_warning("spool: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	bool ok = w >= 0 && (size_t)w == len && write(fd, "\n", 1) == 1;
	if (!ok)
		log_warning("spool: cannot write %s: %s", tmp, strerror(errno));
	close(fd);
	if (ok && rename(tmp, p) != 0) {
		log_warning("spool: cannot rename %s to %s: %s", tmp, p, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(tmp);
}

/* A spool file leaves SPOOL/SLUG/ for done/ (with NAME.result.json) or
 * failed/ (with NAME.reason). */
static void spool_settle(const char *path, bool ok, const char *text)
{
	char dir[4096], final_path[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		return;
	snprintf(dir, sizeof(dir), "%.*s/%s", (int)(slash - path), path, ok ? "done" : "failed");
	int r = move_into(path, dir, slash + 1, final_path, sizeof(final_path));
	if (r < 0) {
		if (r != -ENOENT)
			log_warning("spool: cannot move %s into %s: %s", path, dir, strerror(-r));
		return;
	}
	write_beside(final_path, ok ? ".result.json" : ".reason", text ? text : "");
}

/* ------------------------------------------------------------ the queue */

static const char SQL_NEXT[] =
    "SELECT u.id, p.slug, u.source, u.name, u.path, u.format, u.scope, u.tool_version"
    " FROM scan_uploads u JOIN projects p ON p.id = u.project_id"
    " WHERE u.status = 'queued' ORDER BY u.id LIMIT 1";
static const char SQL_RUNNING[] =
    "UPDATE scan_uploads SET status = 'running', started_at = ?2 WHERE id = ?1";
static const char SQL_FINISH[] =
    "UPDATE scan_uploads SET status = ?2, finished_at = ?3, result = ?4, error = ?5"
    " WHERE id = ?1";

static void start_next(struct uploads *u);
static void spool_scan(struct uploads *u);
static bool waiting_path(struct store *s, const char *path);

static int record_finish(struct uploads *u, int64_t id, bool ok, const char *result,
                         const char *error, struct ts_err *err)
{
	struct store *s = u->d->store;
	char now[32];
	ts_now_iso(now);
	sqlite3_stmt *st = store_prepare(s, SQL_FINISH);
	if (!st)
		return store_fail(s, "scan upload outcome", err);
	sqlite3_bind_int64(st, 1, id);
	store_bind_static(st, 2, ok ? "done" : "failed");
	store_bind_static(st, 3, now);
	store_bind_static(st, 4, result);
	store_bind_static(st, 5, error);
	int rc = store_step_done(s, st, "scan upload outcome", err);
	sqlite3_clear_bindings(st);
	return rc;
}

static void log_outcome(const struct job *j)
{
	if (j->rc < 0) {
		log_warning("scan upload failed id=%lld project=%s source=%s name=\"%s\" ms=%lld "
		            "error=\"%s\"",
		            (long long)j->id, j->project, j->spool ? "spool" : "api", j->name,
		            (long long)j->ms, j->error);
		return;
	}
	json_t *doc = json_loads(j->result, 0, NULL);
	const json_t *c = json_object_get(doc, "counts");
	log_info("scan upload ingested id=%lld project=%s source=%s name=\"%s\" ms=%lld "
	         "results=%lld new=%lld fixed=%lld reopened=%lld correlated=%lld unchanged=%s",
	         (long long)j->id, j->project, j->spool ? "spool" : "api", j->name,
	         (long long)j->ms, (long long)json_integer_value(json_object_get(c, "results")),
	         (long long)json_integer_value(json_object_get(c, "new")),
	         (long long)json_integer_value(json_object_get(c, "fixed")),
	         (long long)json_integer_value(json_object_get(c, "reopened")),
	         (long long)json_integer_value(json_object_get(c, "correlated")),
	         json_is_true(json_object_get(doc, "unchanged")) ? "yes" : "no");
	json_decref(doc);
}

static void after_work_cb(uv_work_t *req, int status)
{
	struct job *j = req->data;
	struct uploads *u = j->u;
	if (status == UV_ECANCELED && j->rc == 0 && !j->result) {
		j->rc = TS_E_UNAVAILABLE;
		j->error = ts_strdup("the ingestion was cancelled");
	}
	log_outcome(j);
	struct ts_err err = {0};
	if (record_finish(u, j->id, j->rc == 0, j->result, j->error, &err) < 0)
		/* The row stays 'running': the next start ingests the file again,
		 * which the store recognises as the same report. */
		log_err("scan upload outcome not stored id=%lld: %s", (long long)j->id, err.msg);
	else if (j->spool)
		spool_settle(j->path, j->rc == 0, j->rc == 0 ? j->result : j->error);
	else if (unlink(j->path) < 0 && errno != ENOENT)
		log_warning("cannot remove the upload file %s: %s", j->path, strerror(errno));
	/* The ingestion changed the project (findings, verification). */
	if (j->rc == 0 && !u->closing)
		jobs_snapshot(u->d, j->project);
	u->running = NULL;
	job_free(j);
	config_free(u->retired);
	u->retired = NULL;
	struct daemon *d = u->d;
	/* The worker's catalog, library and connection are freed: their pages
	 * go back before the next one starts. */
	memory_release(store_db(d->store), "scan upload");
	if (u->closing) {
		maybe_free(u);
	} else {
		if (u->scan_after) {
			u->scan_after = false;
			spool_scan(u);
		}
		start_next(u);
	}
	/* Last: ending the last unit of work may finish a stop. */
	daemon_work_end(d);
}

/* Hands the oldest queued upload to the worker. */
static void start_next(struct uploads *u)
{
	if (u->running || u->quiesced || u->closing)
		return;
	struct daemon *d = u->d;
	struct store *s = d->store;
	struct ts_err err = {0};
	sqlite3_stmt *st = store_prepare(s, SQL_NEXT);
	if (!st) {
		store_fail(s, "next scan upload", &err);
		log_err("%s", err.msg);
		return;
	}
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE) {
			store_fail(s, "next scan upload", &err);
			log_err("%s", err.msg);
		}
		sqlite3_reset(st);
		u->queued = 0;
		return;
	}
	struct job *j = ts_calloc(1, sizeof(*j));
	j->u = u;
	j->id = sqlite3_column_int64(st, 0);
	j->project = store_col_dup(st, 1);
	j->spool = strcmp(store_col_text(st, 2), "spool") == 0;
	j->name = store_col_dup(st, 3);
	j->path = store_col_dup(st, 4);
	j->format = store_col_dup(st, 5);
	j->scope = store_col_dup(st, 6);
	j->tool_version = store_col_dup(st, 7);
	sqlite3_reset(st);
	j->database = ts_strdup(d->cfg->database);
	j->library_paths = strv_dup(d->cfg->library_paths);
	j->max_size = d->cfg->http_max_upload;
	j->cfg = d->cfg;
	j->req.data = j;

	char now[32];
	ts_now_iso(now);
	st = store_prepare(s, SQL_RUNNING);
	rc = st ? 0 : store_fail(s, "scan upload start", &err);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, j->id);
		store_bind_static(st, 2, now);
		rc = store_step_done(s, st, "scan upload start", &err);
		sqlite3_clear_bindings(st);
	}
	if (rc < 0) {
		log_err("scan upload id=%lld not started: %s", (long long)j->id, err.msg);
		job_free(j);
		return;
	}
	if (u->queued > 0)
		u->queued--;
	rc = uv_queue_work(&d->loop, &j->req, work_cb, after_work_cb);
	if (rc < 0) {
		log_err("scan upload id=%lld not started: %s", (long long)j->id, uv_strerror(rc));
		record_finish(u, j->id, false, NULL, "the daemon could not start the ingestion",
		              &err);
		job_free(j);
		return;
	}
	u->running = j;
	daemon_work_begin(d);
	log_debug("scan upload started id=%lld project=%s name=\"%s\" queued=%zu", (long long)j->id,
	          j->project, j->name, u->queued);
}

bool uploads_retire_config(struct uploads *u, struct config *old)
{
	if (!u || !u->running || u->running->cfg != old)
		return false;
	u->retired = old;
	return true;
}

void uploads_kick(struct uploads *u)
{
	if (!u)
		return;
	u->queued++;
	start_next(u);
}

size_t uploads_queued(const struct uploads *u)
{
	return u ? u->queued : 0;
}

bool uploads_running(const struct uploads *u)
{
	return u && u->running;
}

const char *uploads_dir(const struct uploads *u)
{
	return u ? u->dir : NULL;
}

/* ------------------------------------------------------------ recovery */

/* Uploads a previous process left running go back to the queue; those whose
 * file is gone fail with the reason. */
static int recover(struct uploads *u, struct ts_err *err)
{
	struct store *s = u->d->store;
	int rc = store_begin(s);
	if (rc < 0)
		return store_fail(s, "scan upload recovery", err);
	sqlite3_stmt *st = store_prepare(
	    s, "SELECT id, path, status FROM scan_uploads WHERE status IN ('queued', 'running')");
	sqlite3_stmt *fail = store_prepare(
	    s, "UPDATE scan_uploads SET status = 'failed', finished_at = ?2, error = ?3 "
	       "WHERE id = ?1");
	sqlite3_stmt *requeue = store_prepare(
	    s, "UPDATE scan_uploads SET status = 'queued', started_at = NULL WHERE id = ?1");
	if (!st || !fail || !requeue) {
		rc = store_fail(s, "scan upload recovery", err);
		goto out;
	}
	char now[32];
	ts_now_iso(now);
	size_t resumed = 0, lost = 0;
	/* Collect first: the updates must not run under the open SELECT. */
	struct row {
		int64_t id;
		bool gone, running;
	} *rows = NULL;
	size_t n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = ts_realloc(rows, (n + 1) * sizeof(*rows));
		struct stat sb;
		rows[n].id = sqlite3_column_int64(st, 0);
		rows[n].gone = lstat(store_col_text(st, 1), &sb) < 0;
		rows[n].running = strcmp(store_col_text(st, 2), "running") == 0;
		n++;
	}
	sqlite3_reset(st);
	rc = rc == SQLITE_DONE ? 0 : store_fail(s, "scan upload recovery", err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (rows[i].gone) {
			sqlite3_bind_int64(fail, 1, rows[i].id);
			store_bind_static(fail, 2, now);
			store_bind_static(fail, 3,
			                  "the report file disappeared before its ingestion "
			                  "(the daemon stopped with the upload waiting)");
			rc = store_step_done(s, fail, "scan upload recovery", err);
			lost++;
		} else {
			if (rows[i].running) {
				sqlite3_bind_int64(requeue, 1, rows[i].id);
				rc = store_step_done(s, requeue, "scan upload recovery", err);
			}
			resumed++;
		}
	}
	free(rows);
	if (rc == 0 && (rc = store_commit(s)) < 0)
		rc = store_fail(s, "scan upload recovery", err);
	if (rc == 0 && (resumed || lost))
		log_info("scan uploads resumed=%zu failed_file_gone=%zu", resumed, lost);
	u->queued = resumed;
out:
	if (rc < 0)
		store_rollback(s);
	if (fail)
		sqlite3_clear_bindings(fail);
	return rc;
}

/* ------------------------------------------------------------ the spool */

static const char SQL_PROJECT_ID[] = "SELECT id FROM projects WHERE slug = ?1";
static const char SQL_WAITING_PATH[] =
    "SELECT 1 FROM scan_uploads WHERE path = ?1 AND status IN ('queued', 'running')";
static const char SQL_INSERT[] =
    "INSERT INTO scan_uploads (project_id, source, name, path, size, format, scope, "
    "tool_version, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

int64_t uploads_insert(struct store *s, int64_t project_id, const char *source, const char *name,
                       const char *path, int64_t size, const char *format, const char *scope,
                       const char *tool_version, struct ts_err *err)
{
	char now[32];
	ts_now_iso(now);
	sqlite3_stmt *st = store_prepare(s, SQL_INSERT);
	if (!st)
		return store_fail(s, "scan upload", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_static(st, 2, source);
	store_bind_static(st, 3, name);
	store_bind_static(st, 4, path);
	sqlite3_bind_int64(st, 5, size);
	store_bind_static(st, 6, format ? format : "auto");
	store_bind_static(st, 7, scope);
	store_bind_static(st, 8, tool_version);
	store_bind_static(st, 9, now);
	int rc = store_step_done(s, st, "scan upload", err);
	sqlite3_clear_bindings(st);
	if (rc < 0)
		return rc;
	return sqlite3_last_insert_rowid(store_db(s));
}

int64_t uploads_project_id(struct store *s, const char *slug, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECT_ID);
	if (!st)
		return store_fail(s, "project", err);
	store_bind_static(st, 1, slug);
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		id = store_fail(s, "project", err);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return id;
}

static bool waiting_path(struct store *s, const char *path)
{
	sqlite3_stmt *st = store_prepare(s, SQL_WAITING_PATH);
	if (!st)
		return true; /* when in doubt, do not queue it twice */
	store_bind_static(st, 1, path);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

static bool name_acceptable(const char *n)
{
	if (n[0] == '.' || strlen(n) > SPOOL_NAME_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)n; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	return true;
}

/* One spool entry of project slug: queued, refused into failed/, or left. */
static void spool_entry(struct uploads *u, const char *slug, const char *dir, const char *name,
                        int64_t project_id, bool *ret_queued)
{
	if (name[0] == '.')
		return; /* an in-progress copy, or . and .. */
	if (strcmp(name, "done") == 0 || strcmp(name, "failed") == 0)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat st;
	if (lstat(path, &st) < 0)
		return; /* gone meanwhile */
	const char *refuse = NULL;
	char why[200];
	if (!name_acceptable(name))
		refuse = "the file name has control characters or is longer than 200 bytes";
	else if (S_ISLNK(st.st_mode))
		refuse = "a symbolic link: the spool takes regular files only, links are not "
		         "followed";
	else if (!S_ISREG(st.st_mode))
		refuse = "not a regular file";
	else if ((uint64_t)st.st_size > u->d->cfg->http_max_upload) {
		snprintf(why, sizeof(why), "%lld bytes, larger than http.max_upload_bytes (%zu)",
		         (long long)st.st_size, u->d->cfg->http_max_upload);
		refuse = why;
	} else if (project_id == 0) {
		snprintf(why, sizeof(why), "no project '%s' in the database", slug);
		refuse = why;
	}
	if (refuse) {
		log_notice("spool file refused project=%s name=\"%.200s\" reason=\"%s\"", slug,
		           name, refuse);
		spool_settle(path, false, refuse);
		return;
	}
	struct store *s = u->d->store;
	if (waiting_path(s, path))
		return;
	struct ts_err err = {0};
	int64_t id = uploads_insert(s, project_id, "spool", name, path, (int64_t)st.st_size, "auto",
	                            NULL, NULL, &err);
	if (id < 0) {
		log_err("spool file not queued project=%s name=\"%s\": %s", slug, name, err.msg);
		return;
	}
	log_info("spool file queued id=%lld project=%s name=\"%s\" bytes=%lld", (long long)id, slug,
	         name, (long long)st.st_size);
	u->queued++;
	*ret_queued = true;
}

static void spool_scan_project(struct uploads *u, const char *slug)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", u->spool, slug);
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	struct ts_err err = {0};
	int64_t pid = uploads_project_id(u->d->store, slug, &err);
	if (pid < 0) {
		log_err("spool: %s", err.msg);
		closedir(dh);
		return;
	}
	bool queued = false;
	int seen = 0;
	struct dirent *de;
	while ((de = readdir(dh)) && seen < UPLOADS_SPOOL_BATCH) {
		if (de->d_name[0] == '.')
			continue;
		seen++;
		spool_entry(u, slug, dir, de->d_name, pid, &queued);
	}
	closedir(dh);
	if (queued)
		start_next(u);
}

static void spool_scan(struct uploads *u)
{
	if (!u->spool || u->closing || u->quiesced)
		return;
	/* The ingestion holds the database's write lock: queueing now would
	 * make the loop wait for it. */
	if (u->running) {
		u->scan_after = true;
		return;
	}
	const struct config *cfg = u->d->cfg;
	for (size_t i = 0; i < cfg->n_projects; i++)
		spool_scan_project(u, cfg->projects[i].slug);
}

static void rescan_cb(uv_timer_t *t)
{
	spool_scan(t->data);
}

static void soon_cb(uv_timer_t *t)
{
	spool_scan(t->data);
}

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status)
{
	(void)events;
	(void)status;
	struct spool_watch *w = h->data;
	/* Dotfiles are copies in progress: only their rename into a plain
	 * name matters, which is an event of its own. */
	if (filename && filename[0] == '.')
		return;
	/* Several events come for one rename: read the directory once. */
	if (!uv_is_active((uv_handle_t *)&w->u->soon))
		uv_timer_start(&w->u->soon, soon_cb, SPOOL_SOON_MS, 0);
}

static void spool_setup(struct uploads *u)
{
	struct ts_err err = {0};
	if (mkdir_one(u->spool, &err) < 0) {
		log_err("spool disabled: %s", err.msg);
		free(u->spool);
		u->spool = NULL;
		return;
	}
	const struct config *cfg = u->d->cfg;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		char dir[4096], sub[4200];
		snprintf(dir, sizeof(dir), "%s/%s", u->spool, cfg->projects[i].slug);
		int r = mkdir_one(dir, &err);
		snprintf(sub, sizeof(sub), "%s/done", dir);
		r = r < 0 ? r : mkdir_one(sub, &err);
		snprintf(sub, sizeof(sub), "%s/failed", dir);
		r = r < 0 ? r : mkdir_one(sub, &err);
		if (r < 0) {
			log_err("spool: %s", err.msg);
			continue;
		}
		struct spool_watch *w = ts_calloc(1, sizeof(*w));
		w->u = u;
		if (uv_fs_event_init(&u->d->loop, &w->ev) < 0) {
			free(w);
			continue;
		}
		u->handles++;
		w->ev.data = w;
		w->next = u->watches;
		u->watches = w;
		r = uv_fs_event_start(&w->ev, fs_event_cb, dir, 0);
		if (r < 0)
			log_warning("spool: cannot watch %s (read every %d s instead): %s", dir,
			            UPLOADS_SPOOL_RESCAN_MS / 1000, uv_strerror(r));
	}
	log_info("spool directory spool=%s projects=%zu", u->spool, cfg->n_projects);
}

/* ------------------------------------------------------------ life cycle */

static void timer_closed_cb(uv_handle_t *h)
{
	struct uploads *u = h->data;
	u->handles--;
	maybe_free(u);
}

static void watch_closed_cb(uv_handle_t *h)
{
	struct spool_watch *w = h->data;
	struct uploads *u = w->u;
	free(w);
	u->handles--;
	maybe_free(u);
}

/* DBDIR/uploads, or NULL for a database that is not a file. */
static char *upload_dir_of(const char *database)
{
	if (!database || strcmp(database, ":memory:") == 0 || strncmp(database, "file:", 5) == 0)
		return NULL;
	const char *slash = strrchr(database, '/');
	if (!slash)
		return ts_strdup("uploads");
	return ts_asprintf("%.*s/uploads", (int)(slash - database), database);
}

/* Bodies a previous process was receiving when it stopped (never recorded,
 * never acknowledged) are removed. */
static void remove_orphans(struct uploads *u)
{
	DIR *dh = opendir(u->dir);
	if (!dh)
		return;
	size_t removed = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, "upload-", 7) != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", u->dir, de->d_name);
		if (!waiting_path(u->d->store, path) && unlink(path) == 0)
			removed++;
	}
	closedir(dh);
	if (removed)
		log_info("unrecorded upload bodies removed count=%zu dir=%s", removed, u->dir);
}

int uploads_start(struct daemon *d, struct uploads **ret_u, struct ts_err *err)
{
	struct uploads *u = ts_calloc(1, sizeof(*u));
	u->d = d;
	u->dir = upload_dir_of(d->cfg->database);
	if (u->dir) {
		int r = mkdir_one(u->dir, err);
		if (r < 0) {
			free(u->dir);
			free(u);
			return r;
		}
		chmod(u->dir, 0700);
	}
	int r = recover(u, err);
	if (r < 0) {
		free(u->dir);
		free(u);
		return r;
	}
	if (u->dir)
		remove_orphans(u);
	uv_timer_init(&d->loop, &u->rescan);
	u->rescan.data = u;
	uv_timer_init(&d->loop, &u->soon);
	u->soon.data = u;
	u->handles = 2;
	if (d->cfg->spool_dir) {
		u->spool = ts_strdup(d->cfg->spool_dir);
		spool_setup(u);
	}
	if (u->spool) {
		uv_timer_start(&u->rescan, rescan_cb, UPLOADS_SPOOL_RESCAN_MS,
		               UPLOADS_SPOOL_RESCAN_MS);
		/* Files dropped while the daemon was down. */
		uv_timer_start(&u->soon, soon_cb, 0, 0);
	}
	*ret_u = u;
	start_next(u);
	return 0;
}

void uploads_quiesce(struct uploads *u)
{
	if (!u)
		return;
	u->quiesced = true;
	uv_timer_stop(&u->rescan);
	uv_timer_stop(&u->soon);
}

void uploads_close(struct uploads *u)
{
	if (!u || u->closing)
		return;
	uploads_quiesce(u);
	u->closing = true;
	uv_close((uv_handle_t *)&u->rescan, timer_closed_cb);
	uv_close((uv_handle_t *)&u->soon, timer_closed_cb);
	for (struct spool_watch *w = u->watches; w;) {
		struct spool_watch *next = w->next;
		uv_close((uv_handle_t *)&w->ev, watch_closed_cb);
		w = next;
	}
	u->watches = NULL;
}
