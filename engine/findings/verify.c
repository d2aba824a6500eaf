/* SPDX-License-Identifier: Apache-2.0 */
/* Verification of tasks from scanner findings, and the tracker notices it
 * calls for. A task is failed while a finding correlated with one of its
 * threats is open, passed once such findings were fixed and none is open,
 * untested otherwise. Every notice is recorded in verification_notices in the
 * same transaction as its outbox row, under a key that makes it happen once. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest_internal.h"
#include "engine/findings/notice.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/task_status.h"

#define COMMENTS_PER_TASK 20 /* finding comments queued per task and ingest */

static const char SQL_TASKS[] =
    "SELECT c.id, c.uid, c.title, c.status, c.verification, coalesce(c.ticket_id, 0),"
    " count(DISTINCT CASE WHEN f.status = 'open' THEN f.id END),"
    " count(DISTINCT CASE WHEN f.status = 'fixed' THEN f.id END),"
    " min(CASE WHEN f.status = 'open' THEN f.id END),"
    " max(CASE WHEN f.status = 'fixed' THEN f.id END)"
    " FROM countermeasures c"
    " LEFT JOIN threat_countermeasures tc ON tc.countermeasure_id = c.id"
    " LEFT JOIN correlations co ON co.threat_id = tc.threat_id"
    " LEFT JOIN findings f ON f.id = co.finding_id"
    " WHERE c.project_id = ?1 AND c.state = 'active'"
    " GROUP BY c.id HAVING c.verification <> 'untested' OR count(f.id) > 0 ORDER BY c.id";
static const char SQL_SET[] = "UPDATE countermeasures SET verification = ?2 WHERE id = ?1";
static const char SQL_HISTORY[] =
    "INSERT INTO verification_history(countermeasure_id, from_status, to_status, scan_id,"
    " finding_id, reason, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_EPISODE[] =
    "SELECT count(*) FROM verification_history WHERE countermeasure_id = ?1"
    " AND to_status = 'failed'";
static const char SQL_HAS_TICKET[] =
    "SELECT EXISTS (SELECT 1 FROM outbox WHERE countermeasure_id = ?1 AND op = 'create'"
    " AND (state = 'pending' OR state = 'inflight' OR state = 'failed'))";
static const char SQL_FINDING[] =
    "SELECT tool, rule_id, cwe, path, line, url, method, first_seen, severity, message,"
    " fingerprint, package, image FROM findings WHERE id = ?1";
/* The open findings of a task not yet told, oldest first, up to ?2. */
static const char SQL_UNTOLD_FINDINGS[] =
    "SELECT DISTINCT f.id FROM threat_countermeasures tc"
    " JOIN correlations co ON co.threat_id = tc.threat_id"
    " JOIN findings f ON f.id = co.finding_id"
    " WHERE tc.countermeasure_id = ?1 AND f.status = 'open' AND NOT EXISTS"
    " (SELECT 1 FROM verification_notices n WHERE n.countermeasure_id = ?1"
    "  AND n.kind = 'finding' AND n.finding_id = f.id AND n.episode = 0)"
    " ORDER BY f.id LIMIT ?2";
/* All of them, recorded as told (a reopen named them), in one statement. */
static const char SQL_TOLD_BY_REOPEN[] =
    "INSERT OR IGNORE INTO verification_notices(notice, countermeasure_id, kind, finding_id,"
    " episode, queued, created_at)"
    " SELECT DISTINCT NULL, ?1, 'finding', f.id, 0, 0, ?2 FROM threat_countermeasures tc"
    " JOIN correlations co ON co.threat_id = tc.threat_id"
    " JOIN findings f ON f.id = co.finding_id"
    " WHERE tc.countermeasure_id = ?1 AND f.status = 'open'";
static const char SQL_NOTICE[] =
    "INSERT OR IGNORE INTO verification_notices(notice, countermeasure_id, kind, finding_id,"
    " episode, queued, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

struct task_row {
	int64_t id, ticket_id, open_id, fixed_id;
	char *uid, *title, *status, *verification;
	int n_open, n_fixed;
};

struct vctx {
	struct store *s;
	int64_t project_id;
	const char *slug;
	const struct config_project *pc;
	int64_t scan_id;
	const char *now;
	struct ts_err *err;
	int notices;
};

static int load_tasks(struct vctx *v, struct task_row **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(v->s, SQL_TASKS);
	if (!st)
		return store_fail(v->s, "reading task verification", v->err);
	sqlite3_bind_int64(st, 1, v->project_id);
	struct task_row *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap)
			rows = ts_realloc(rows, (cap = cap ? cap * 2 : 16) * sizeof(*rows));
		struct task_row *t = &rows[n++];
		t->id = sqlite3_column_int64(st, 0);
		t->uid = store_col_dup(st, 1);
		t->title = store_col_dup(st, 2);
		t->status = store_col_dup(st, 3);
		t->verification = store_col_dup(st, 4);
		t->ticket_id = sqlite3_column_int64(st, 5);
		t->n_open = sqlite3_column_int(st, 6);
		t->n_fixed = sqlite3_column_int(st, 7);
		t->open_id = sqlite3_column_int64(st, 8);
		t->fixed_id = sqlite3_column_int64(st, 9);
	}
	sqlite3_reset(st);
	*ret = rows;
	*ret_n = n;
	if (rc != SQLITE_DONE)
		return store_fail(v->s, "reading task verification", v->err);
	return 0;
}

static void free_tasks(struct task_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].uid);
		free(rows[i].title);
		free(rows[i].status);
		free(rows[i].verification);
	}
	free(rows);
}

static int64_t single_int(struct vctx *v, const char *sql, int64_t arg, int *rc)
{
	sqlite3_stmt *st = store_prepare(v->s, sql);
	if (!st) {
		*rc = store_fail(v->s, "reading the task", v->err);
		return 0;
	}
	sqlite3_bind_int64(st, 1, arg);
	int64_t r = 0;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	*rc =
	    s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_fail(v->s, "reading the task", v->err);
	return r;
}

/* What a notice says of a finding. Strings owned. */
struct finding_text {
	char *tool, *rule, *cwe, *location, *first_seen, *severity, *message, *fingerprint;
};

static void finding_text_free(struct finding_text *t)
{
	free(t->tool);
	free(t->rule);
	free(t->cwe);
	free(t->location);
	free(t->first_seen);
	free(t->severity);
	free(t->message);
	free(t->fingerprint);
}

static int load_finding(struct vctx *v, int64_t id, struct finding_text *t)
{
	memset(t, 0, sizeof(*t));
	sqlite3_stmt *st = store_prepare(v->s, SQL_FINDING);
	if (!st)
		return store_fail(v->s, "reading a finding", v->err);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->tool = store_col_dup(st, 0);
		t->rule = store_col_dup(st, 1);
		struct ts_buf b = {0};
		json_t *arr = json_loads(store_col_text(st, 2), 0, NULL);
		size_t i;
		json_t *x;
		json_array_foreach (arr, i, x)
			ts_buf_printf(&b, "%sCWE-%lld", i ? ", " : "",
			              (long long)json_integer_value(x));
		json_decref(arr);
		ts_buf_puts(&b, "");
		t->cwe = b.len ? ts_buf_steal(&b) : ts_strdup("no CWE");
		ts_buf_free(&b);
		const char *path = store_col_text(st, 3);
		int line = sqlite3_column_int(st, 4);
		const char *url = store_col_text(st, 5);
		const char *method = store_col_text(st, 6);
		if (path)
			t->location = line > 0 ? ts_asprintf("%s:%d", path, line) : ts_strdup(path);
		else if (url)
			t->location = method ? ts_asprintf("%s %s", method, url) : ts_strdup(url);
		else if (store_col_text(st, 11) || store_col_text(st, 12))
			t->location = store_col_dup(st, store_col_text(st, 11) ? 11 : 12);
		else
			t->location = ts_strdup("an unknown location");
		t->first_seen = ts_strndup(store_col_text(st, 7), 10);
		t->severity = store_col_dup(st, 8);
		const char *msg = store_col_text(st, 9);
		t->message = ts_strndup(msg ? msg : "", msg ? strcspn(msg, "\n") : 0);
		t->fingerprint = store_col_dup(st, 10);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? ts_err_set(v->err, TS_E_INTERNAL,
		                                      "finding %lld vanished", (long long)id)
		                         : store_fail(v->s, "reading a finding", v->err);
	return 0;
}

static char *render(const char *tmpl, const char *fallback, const struct finding_text *f,
                    const char *tool, const char *title, const char *now)
{
	char date[11];
	snprintf(date, sizeof(date), "%.10s", now);
	struct notice_values nv = {.tool = tool ? tool : (f ? f->tool : NULL),
	                           .rule = f ? f->rule : NULL,
	                           .cwe = f ? f->cwe : NULL,
	                           .location = f ? f->location : NULL,
	                           .first_seen = f ? f->first_seen : NULL,
	                           .date = date,
	                           .severity = f ? f->severity : NULL,
	                           .message = f ? f->message : NULL,
	                           .task = title};
	return notice_render(tmpl ? tmpl : fallback, &nv);
}

/* Records notice (kind, finding, episode) of task t unless it exists; when
 * it is new and op is not NULL, queues op with payload {key: text, "notice"}.
 * *ret_new tells whether it was new. */
static int notice(struct vctx *v, const struct task_row *t, const char *kind, int64_t finding,
                  const char *fingerprint, int64_t episode, const char *op, const char *key,
                  const char *text, bool *ret_new)
{
	char seed[512], hex[65], id[17];
	snprintf(seed, sizeof(seed), "%s\n%s\n%s\n%s\n%lld", v->slug, t->uid, kind,
	         fingerprint ? fingerprint : "", (long long)episode);
	ts_sha256_hex(seed, strlen(seed), hex);
	snprintf(id, sizeof(id), "%.16s", hex);
	sqlite3_stmt *st = store_prepare(v->s, SQL_NOTICE);
	if (!st)
		return store_fail(v->s, "recording a notice", v->err);
	store_bind_static(st, 1, id);
	sqlite3_bind_int64(st, 2, t->id);
	store_bind_static(st, 3, kind);
	sqlite3_bind_int64(st, 4, finding);
	sqlite3_bind_int64(st, 5, episode);
	sqlite3_bind_int(st, 6, op ? 1 : 0);
	store_bind_static(st, 7, v->now);
	int rc = store_step_done(v->s, st, "recording a notice", v->err);
	if (rc)
		return rc;
	bool fresh = sqlite3_changes(store_db(v->s)) > 0;
	if (ret_new)
		*ret_new = fresh;
	if (!fresh || !op)
		return 0;
	json_t *payload = json_pack("{s:s, s:s}", key, text, "notice", id);
	char *body = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(payload);
	struct outbox_entry e = {.project_id = v->project_id,
	                         .connector = v->pc->connector,
	                         .op = op,
	                         .countermeasure_id = t->id,
	                         .ticket_id = t->ticket_id,
	                         .payload = body};
	rc = outbox_enqueue(v->s, &e, v->now, v->err);
	free(body);
	if (rc == 0)
		v->notices++;
	return rc;
}

/* The open findings of task t not yet told, at most limit, ids ascending.
 * New array. */
static int untold_findings(struct vctx *v, int64_t task, int limit, int64_t **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(v->s, SQL_UNTOLD_FINDINGS);
	if (!st)
		return store_fail(v->s, "reading findings of a task", v->err);
	sqlite3_bind_int64(st, 1, task);
	sqlite3_bind_int(st, 2, limit);
	size_t n = 0, cap = 0;
	int64_t *ids = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap)
			ids = ts_realloc(ids, (cap = cap ? cap * 2 : 8) * sizeof(*ids));
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	*ret = ids;
	*ret_n = n;
	return rc == SQLITE_DONE ? 0 : store_fail(v->s, "reading findings of a task", v->err);
}

/* One comment for each open finding of a task not done that it was not told
 * of, COMMENTS_PER_TASK at a time (the rest at the next ingests). */
static int finding_notices(struct vctx *v, const struct task_row *t)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = untold_findings(v, t->id, COMMENTS_PER_TASK, &ids, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct finding_text f;
		if ((rc = load_finding(v, ids[i], &f)) != 0)
			break;
		char *text = render(v->pc->finding_comment, notice_default_finding, &f, NULL,
		                    t->title, v->now);
		rc = notice(v, t, "finding", ids[i], f.fingerprint, 0, "comment", "text", text,
		            NULL);
		free(text);
		finding_text_free(&f);
	}
	free(ids);
	return rc;
}

/* A reopen names the findings of the task: each counts as told. */
static int told_by_reopen(struct vctx *v, const struct task_row *t)
{
	sqlite3_stmt *st = store_prepare(v->s, SQL_TOLD_BY_REOPEN);
	if (!st)
		return store_fail(v->s, "recording notices", v->err);
	sqlite3_bind_int64(st, 1, t->id);
	store_bind_static(st, 2, v->now);
	return store_step_done(v->s, st, "recording notices", v->err);
}

static int task_notices(struct vctx *v, struct task_row *t, const char *from, const char *to)
{
	int rc = 0;
	if (!v->pc || !v->pc->connector)
		return 0;
	if (t->ticket_id == 0 && !single_int(v, SQL_HAS_TICKET, t->id, &rc))
		return rc; /* no ticket and none coming: nothing to tell */
	int64_t episode = single_int(v, SQL_EPISODE, t->id, &rc);
	if (rc)
		return rc;
	if (strcmp(to, "failed") == 0) {
		if (strcmp(t->status, "done") == 0 && v->pc->reopen_on_failed_verification) {
			struct finding_text f;
			if ((rc = load_finding(v, t->open_id, &f)) != 0)
				return rc;
			char *text = render(v->pc->verification_failed_comment,
			                    notice_default_failed, &f, NULL, t->title, v->now);
			bool fresh = false;
			rc = notice(v, t, "reopen", 0, NULL, episode, "reopen", "reason", text,
			            &fresh);
			if (rc == 0 && fresh) {
				struct task_status_change c = {.countermeasure_id = t->id,
				                               .ticket_id = t->ticket_id,
				                               .from = t->status,
				                               .to = "todo",
				                               .source = "verify",
				                               .actor = f.tool,
				                               .reason = text};
				rc = task_status_set(v->s, &c, v->now, v->err);
				free(t->status);
				t->status = ts_strdup("todo");
				/* The reopen told of these findings: no comment each. */
				if (rc == 0)
					rc = told_by_reopen(v, t);
			}
			free(text);
			finding_text_free(&f);
			return rc;
		}
		if (task_status_open(t->status))
			return finding_notices(v, t);
		return 0;
	}
	if (strcmp(to, "passed") == 0 && from && strcmp(from, "failed") == 0) {
		struct finding_text f;
		if ((rc = load_finding(v, t->fixed_id, &f)) != 0)
			return rc;
		char *text = render(v->pc->verification_passed_comment, notice_default_passed, &f,
		                    NULL, t->title, v->now);
		rc = notice(v, t, "passed", 0, NULL, episode, "comment", "text", text, NULL);
		free(text);
		finding_text_free(&f);
	}
	return rc;
}

int verify_project(struct store *s, int64_t project_id, const char *slug,
                   const struct config_project *pc, int64_t scan_id, const char *now,
                   json_t *changes, int *ret_notices, struct ts_err *err)
{
	struct vctx v = {.s = s,
	                 .project_id = project_id,
	                 .slug = slug,
	                 .pc = pc,
	                 .scan_id = scan_id,
	                 .now = now,
	                 .err = err};
	struct task_row *rows = NULL;
	size_t n = 0;
	int rc = load_tasks(&v, &rows, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct task_row *t = &rows[i];
		const char *to = t->n_open > 0 ? "failed" : t->n_fixed > 0 ? "passed" : "untested";
		const char *from = t->verification;
		if (strcmp(from, to) != 0) {
			int64_t finding = t->n_open > 0 ? t->open_id : t->fixed_id;
			sqlite3_stmt *st = store_prepare(s, SQL_SET);
			if (!st) {
				rc = store_fail(s, "recording verification", err);
				break;
			}
			sqlite3_bind_int64(st, 1, t->id);
			store_bind_static(st, 2, to);
			if ((rc = store_step_done(s, st, "recording verification", err)) != 0)
				break;
			char *reason =
			    t->n_open > 0 ? ts_asprintf("%d open finding(s) correlate, first %lld",
			                                t->n_open, (long long)t->open_id)
			    : t->n_fixed > 0
			        ? ts_asprintf("%d correlated finding(s) fixed, none open",
			                      t->n_fixed)
			        : ts_strdup("no correlated finding");
			if (!(st = store_prepare(s, SQL_HISTORY))) {
				free(reason);
				rc = store_fail(s, "recording verification history", err);
				break;
			}
			sqlite3_bind_int64(st, 1, t->id);
			store_bind_static(st, 2, from);
			store_bind_static(st, 3, to);
			store_bind_id(st, 4, scan_id);
			store_bind_id(st, 5, finding);
			store_bind_static(st, 6, reason);
			store_bind_static(st, 7, now);
			rc = store_step_done(s, st, "recording verification history", err);
			free(reason);
			if (rc)
				break;
			json_array_append_new(
			    changes, json_pack("{s:s, s:s, s:s, s:s, s:o}", "task", t->uid, "title",
			                       t->title, "from", from, "to", to, "finding",
			                       finding > 0 ? json_integer(finding) : json_null()));
		}
		if (strcmp(to, "failed") == 0 || strcmp(from, to) != 0)
			rc = task_notices(&v, t, from, to);
	}
	free_tasks(rows, n);
	if (ret_notices)
		*ret_notices = v.notices;
	return rc;
}
