/* SPDX-License-Identifier: Apache-2.0 */
/* What a person does to findings and what they read: suppression with an
 * optional expiry, its end, and the listing of `threatsync findings`. The
 * lifecycle a scan drives is in ingest.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest_internal.h"
#include "engine/model/project.h"
#include "engine/tracking/override.h"

#define EXPIRED_WHERE                                                                              \
	" FROM findings WHERE project_id = ?1 AND suppressed_by = 'person'"                        \
	" AND suppressed_until IS NOT NULL AND suppressed_until <= substr(?2, 1, 10)"
static const char SQL_EXPIRE_HISTORY[] =
    "INSERT INTO finding_history(finding_id, from_status, to_status, scan_id, reason, actor,"
    " recorded_at) SELECT id, status, 'open', NULL, 'suppression expired on ' ||"
    " suppressed_until, '', ?2" EXPIRED_WHERE;
static const char SQL_EXPIRE[] =
    "UPDATE findings SET status = 'open', suppressed_by = NULL, suppressed_reason = NULL,"
    " suppressed_actor = NULL, suppressed_until = NULL WHERE id IN (SELECT id" EXPIRED_WHERE ")";

int findings_expire(struct store *s, int64_t project_id, const char *now, int *ret_n,
                    struct ts_err *err)
{
	const char *sql[] = {SQL_EXPIRE_HISTORY, SQL_EXPIRE};
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st = store_prepare(s, sql[i]);
		if (!st)
			return store_fail(s, "ending expired suppressions", err);
		sqlite3_bind_int64(st, 1, project_id);
		store_bind_static(st, 2, now);
		int rc = store_step_done(s, st, "ending expired suppressions", err);
		if (rc)
			return rc;
	}
	if (ret_n)
		*ret_n = sqlite3_changes(store_db(s));
	return 0;
}

/* ---- suppression -------------------------------------------------------- */

static const char SQL_STATE[] =
    "SELECT status, suppressed_by FROM findings WHERE id = ?1 AND project_id = ?2";
static const char SQL_SUPPRESS[] =
    "UPDATE findings SET status = 'suppressed', suppressed_by = 'person', suppressed_reason = ?2,"
    " suppressed_actor = ?3, suppressed_until = ?4 WHERE id = ?1";
static const char SQL_UNSUPPRESS[] =
    "UPDATE findings SET status = 'open', suppressed_by = NULL, suppressed_reason = NULL,"
    " suppressed_actor = NULL, suppressed_until = NULL WHERE id = ?1";
static const char SQL_HISTORY[] =
    "INSERT INTO finding_history(finding_id, from_status, to_status, scan_id, reason, actor,"
    " recorded_at) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)";

static int change(struct store *s, const char *project, int64_t id, bool suppress,
                  const char *reason, const char *expires, const char *actor, const char *now,
                  json_t **ret, struct ts_err *err)
{
	if (ret)
		*ret = NULL;
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	if (suppress && (!reason || !*reason))
		return ts_err_set(err, TS_E_USAGE, "a suppression needs a reason (--reason)");
	if (suppress && expires && !override_date_valid(expires))
		return ts_err_set(err, TS_E_USAGE, "--expires '%s' is not a date (YYYY-MM-DD)",
		                  expires);
	if (suppress && expires && strncmp(expires, now, 10) <= 0)
		return ts_err_set(err, TS_E_USAGE, "--expires %s is not in the future", expires);
	int64_t pid = 0;
	int rc = project_find(s, project, &pid, err);
	if (rc)
		return rc;
	if ((rc = store_begin(s)) != 0)
		return store_fail(s, "starting a suppression", err);
	if ((rc = findings_expire(s, pid, now, NULL, err)) != 0)
		goto fail;
	sqlite3_stmt *st = store_prepare(s, SQL_STATE);
	if (!st) {
		rc = store_fail(s, "reading a finding", err);
		goto fail;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, pid);
	rc = sqlite3_step(st);
	char *from = rc == SQLITE_ROW ? store_col_dup(st, 0) : NULL;
	char *by = rc == SQLITE_ROW ? store_col_dup(st, 1) : NULL;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_fail(s, "reading a finding", err);
		goto fail;
	}
	if (!from) {
		rc = ts_err_set(err, TS_E_NOTFOUND, "project %s has no finding %lld", project,
		                (long long)id);
		goto fail;
	}
	bool person = by && strcmp(by, "person") == 0;
	free(by);
	if (!suppress && !person) {
		rc = ts_err_set(err, TS_E_USAGE, "finding %lld is not suppressed by a person (%s)",
		                (long long)id, from);
		free(from);
		goto fail;
	}
	const char *to = suppress ? "suppressed" : "open";
	st = store_prepare(s, suppress ? SQL_SUPPRESS : SQL_UNSUPPRESS);
	if (!st) {
		free(from);
		rc = store_fail(s, "changing a finding", err);
		goto fail;
	}
	sqlite3_bind_int64(st, 1, id);
	if (suppress) {
		store_bind_static(st, 2, reason);
		store_bind_static(st, 3, actor ? actor : "");
		store_bind_static(st, 4, expires);
	}
	rc = store_step_done(s, st, "changing a finding", err);
	char *why = suppress ? ts_asprintf("suppressed: %s%s%s", reason, expires ? " until " : "",
	                                   expires ? expires : "")
	                     : ts_strdup("suppression ended");
	if (rc == 0 && (st = store_prepare(s, SQL_HISTORY)) == NULL)
		rc = store_fail(s, "recording finding history", err);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, id);
		store_bind_static(st, 2, from);
		store_bind_static(st, 3, to);
		store_bind_static(st, 4, why);
		store_bind_static(st, 5, actor ? actor : "");
		store_bind_static(st, 6, now);
		rc = store_step_done(s, st, "recording finding history", err);
	}
	free(why);
	if (rc == 0 && (rc = store_commit(s)) != 0)
		rc = store_fail(s, "committing a suppression", err);
	if (rc) {
		free(from);
		goto fail;
	}
	if (ret)
		*ret =
		    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "status", to, "from", from);
	free(from);
	return 0;
fail:
	store_rollback(s);
	return rc;
}

int findings_suppress(struct store *s, const char *project, int64_t id, const char *reason,
                      const char *expires, const char *actor, const char *now, json_t **ret,
                      struct ts_err *err)
{
	return change(s, project, id, true, reason, expires, actor, now, ret, err);
}

int findings_unsuppress(struct store *s, const char *project, int64_t id, const char *actor,
                        const char *now, json_t **ret, struct ts_err *err)
{
	return change(s, project, id, false, NULL, NULL, actor, now, ret, err);
}

/* ---- listing ------------------------------------------------------------ */

static const char SQL_LIST[] =
    "SELECT f.id, f.status, f.severity, f.tool, f.scope, f.rule_id, f.rule_name, f.cwe,"
    " f.component_key, f.path, f.line, f.url, f.method, f.first_seen, f.last_seen,"
    " f.fingerprint, f.suppressed_by, f.suppressed_reason, f.suppressed_actor,"
    " f.suppressed_until, f.message, f.package, f.image,"
    " (SELECT json_group_array(json_object('threat', t.uid, 'title', t.title, 'method',"
    "   c.method, 'cwe_path', json(c.cwe_path))) FROM (SELECT * FROM correlations"
    "   WHERE finding_id = f.id ORDER BY threat_id) c JOIN threats t ON t.id = c.threat_id)"
    " FROM findings f WHERE f.project_id = ?1 AND (?2 IS NULL OR f.status = ?2)"
    " AND (?3 IS NULL OR f.tool = ?3) AND (?4 = 0 OR f.component_key IS NULL) ORDER BY f.id";

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int findings_list(struct store *s, const struct findings_filter *f, json_t **ret,
                  struct ts_err *err)
{
	*ret = NULL;
	if (f->status && strcmp(f->status, "open") && strcmp(f->status, "fixed") &&
	    strcmp(f->status, "suppressed"))
		return ts_err_set(err, TS_E_USAGE,
		                  "unknown finding status '%s' (accepted: open, fixed, suppressed)",
		                  f->status);
	char clock[32];
	const char *now = f->now;
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	int64_t pid = 0;
	int rc = project_find(s, f->project, &pid, err);
	if (rc)
		return rc;
	if ((rc = store_begin(s)) != 0)
		return store_fail(s, "ending expired suppressions", err);
	if ((rc = findings_expire(s, pid, now, NULL, err)) != 0) {
		store_rollback(s);
		return rc;
	}
	if ((rc = store_commit(s)) != 0) {
		rc = store_fail(s, "ending expired suppressions", err);
		store_rollback(s);
		return rc;
	}
	sqlite3_stmt *st = store_prepare(s, SQL_LIST);
	if (!st)
		return store_fail(s, "listing findings", err);
	sqlite3_bind_int64(st, 1, pid);
	store_bind_static(st, 2, f->status);
	store_bind_static(st, 3, f->tool);
	sqlite3_bind_int(st, 4, f->unmapped ? 1 : 0);
	json_t *list = json_array();
	json_t *counts = json_pack("{s:i, s:i, s:i, s:i}", "open", 0, "fixed", 0, "suppressed", 0,
	                           "unmapped", 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = store_col_text(st, 1);
		const char *path = store_col_text(st, 9);
		const char *url = store_col_text(st, 11);
		int line = sqlite3_column_int(st, 10);
		char *loc;
		if (path)
			loc = line > 0 ? ts_asprintf("%s:%d", path, line) : ts_strdup(path);
		else if (url)
			loc = store_col_text(st, 12)
			          ? ts_asprintf("%s %s", store_col_text(st, 12), url)
			          : ts_strdup(url);
		else if (store_col_text(st, 21) || store_col_text(st, 22))
			loc = ts_strdup(store_col_text(st, 21) ? store_col_text(st, 21)
			                                       : store_col_text(st, 22));
		else
			loc = NULL;
		json_t *supp = json_null();
		if (store_col_text(st, 16))
			supp = json_pack("{s:s, s:o, s:o, s:o}", "by", store_col_text(st, 16),
			                 "reason", str_or_null(store_col_text(st, 17)), "actor",
			                 str_or_null(store_col_text(st, 18)), "until",
			                 str_or_null(store_col_text(st, 19)));
		json_t *cwe = json_loads(store_col_text(st, 7), 0, NULL);
		json_t *threats = json_loads(store_col_text(st, 23), 0, NULL);
		json_t *item = json_pack(
		    "{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, "
		    "s:o,"
		    " s:o, s:s}",
		    "id", (json_int_t)sqlite3_column_int64(st, 0), "status", status, "severity",
		    store_col_text(st, 2), "tool", store_col_text(st, 3), "scope",
		    store_col_text(st, 4), "rule", store_col_text(st, 5), "rule_name",
		    str_or_null(store_col_text(st, 6)), "cwe", cwe ? cwe : json_array(),
		    "component", str_or_null(store_col_text(st, 8)), "location", str_or_null(loc),
		    "line", line > 0 ? json_integer(line) : json_null(), "url", str_or_null(url),
		    "first_seen", store_col_text(st, 13), "last_seen", store_col_text(st, 14),
		    "fingerprint", store_col_text(st, 15), "suppression", supp, "threats",
		    threats ? threats : json_array(), "message", store_col_text(st, 20));
		json_object_set_new(item, "path", str_or_null(path));
		free(loc);
		json_object_set_new(
		    counts, status,
		    json_integer(json_integer_value(json_object_get(counts, status)) + 1));
		if (!store_col_text(st, 8))
			json_object_set_new(
			    counts, "unmapped",
			    json_integer(json_integer_value(json_object_get(counts, "unmapped")) +
			                 1));
		json_array_append_new(list, item);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		json_decref(counts);
		return store_fail(s, "listing findings", err);
	}
	*ret =
	    json_pack("{s:s, s:o, s:o}", "project", f->project, "findings", list, "counts", counts);
	return 0;
}
