/* SPDX-License-Identifier: Apache-2.0 */
/* Overrides: record, revoke and apply human decisions on threats and tasks. */
#include "engine/tracking/override.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/tracking/outbox.h"
#include "engine/tracking/task_status.h"

static const char SQL_FIND_CM[] =
    "SELECT id, status, in_scope, state, ticket_id FROM countermeasures"
    " WHERE project_id = ?1 AND uid = ?2";
static const char SQL_FIND_THREAT[] = "SELECT id FROM threats WHERE project_id = ?1 AND uid = ?2";
static const char SQL_REVOKE[] =
    "UPDATE overrides SET revoked_at = ?4 WHERE project_id = ?1 AND target_kind = ?2"
    " AND target_uid = ?3 AND revoked_at IS NULL"
    " AND kind IN ('not_applicable', 'risk_accepted') AND (?5 IS NULL OR kind = ?5)"
    " AND (NOT ?6 OR json_extract(payload, '$.source') = 'tracker')";
static const char SQL_INSERT[] =
    "INSERT INTO overrides(project_id, target_kind, target_uid, kind, reason, author,"
    " expires_at, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_ACTIVE[] =
    "SELECT target_kind, target_uid, kind, reason, author, expires_at FROM overrides"
    " WHERE project_id = ?1 AND revoked_at IS NULL"
    " AND kind IN ('not_applicable', 'risk_accepted') ORDER BY id";
static const char SQL_LINKED_CMS[] =
    "SELECT c.id, c.uid, c.status, c.in_scope, c.state, c.ticket_id"
    " FROM threat_countermeasures l JOIN countermeasures c ON c.id = l.countermeasure_id"
    " WHERE l.threat_id = ?1 ORDER BY c.uid";
static const char SQL_CM_THREATS[] =
    "SELECT t.uid, t.in_scope, t.state FROM threat_countermeasures l"
    " JOIN threats t ON t.id = l.threat_id WHERE l.countermeasure_id = ?1 ORDER BY t.uid";
static const char SQL_TICKET_CONNECTOR[] = "SELECT connector FROM tickets WHERE id = ?1";
static const char SQL_CREATE_CONNECTOR[] =
    "SELECT connector FROM outbox WHERE countermeasure_id = ?1 AND op = 'create'"
    " AND state <> 'dead' ORDER BY id LIMIT 1";

int override_insert(struct store *s, const struct override_row *o, const char *now,
                    struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_INSERT);
	if (!st)
		return store_fail(s, "record override", err);
	sqlite3_bind_int64(st, 1, o->project_id);
	store_bind_text(st, 2, o->target_kind);
	store_bind_text(st, 3, o->target_uid);
	store_bind_text(st, 4, o->kind);
	store_bind_text(st, 5, o->reason);
	store_bind_text(st, 6, o->author ? o->author : "");
	store_bind_text(st, 7, o->expires);
	store_bind_text(st, 8, o->payload ? o->payload : "{}");
	store_bind_text(st, 9, now);
	return store_step_done(s, st, "record override", err);
}

int override_revoke_rows(struct store *s, int64_t project_id, const char *target_kind,
                         const char *target_uid, const char *kind, bool tracker_only,
                         const char *now, int *ret_n, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_REVOKE);
	if (!st)
		return store_fail(s, "revoke override", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, target_kind);
	store_bind_text(st, 3, target_uid);
	store_bind_text(st, 4, now);
	store_bind_text(st, 5, kind);
	sqlite3_bind_int(st, 6, tracker_only);
	int rc = store_step_done(s, st, "revoke override", err);
	if (rc == 0 && ret_n)
		*ret_n = sqlite3_changes(store_db(s));
	return rc;
}

bool override_kind_valid(const char *kind)
{
	return kind && (strcmp(kind, "not_applicable") == 0 || strcmp(kind, "risk_accepted") == 0);
}

/* Days since 1970-01-01 of a valid "YYYY-MM-DD". */
static long date_days(const char *date)
{
	struct tm tm = {0};
	tm.tm_year = atoi(date) - 1900;
	tm.tm_mon = atoi(date + 5) - 1;
	tm.tm_mday = atoi(date + 8);
	tm.tm_hour = 12;
	return (long)(timegm(&tm) / 86400);
}

bool override_date_valid(const char *date)
{
	if (!date || strlen(date) != 10 || date[4] != '-' || date[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)date[i]))
			return false;
	int y = atoi(date), m = atoi(date + 5), d = atoi(date + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	/* Reject 2026-02-30 and the like: normalising must not move the day. */
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	return back.tm_mday == d && back.tm_mon == m - 1;
}

int override_load_active(struct store *s, int64_t project_id, const char *now, json_t **ret_active,
                         json_t **ret_expired, struct ts_err *err)
{
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	sqlite3_stmt *st = store_prepare(s, SQL_ACTIVE);
	if (!st)
		return store_fail(s, "load overrides", err);
	sqlite3_bind_int64(st, 1, project_id);
	json_t *active = json_object(), *expired = json_object();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *expires = store_col_text(st, 5);
		char *key = ts_asprintf("%s:%s", store_col_text(st, 0), store_col_text(st, 1));
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:s?}", "kind", store_col_text(st, 2), "reason",
		              store_col_text(st, 3), "author", store_col_text(st, 4), "expires_at", expires);
		/* A date compares with the first ten characters of a timestamp. */
		bool gone = expires && strncmp(expires, now, 10) <= 0;
		json_object_del(active, key);
		json_object_del(expired, key);
		json_object_set_new(gone ? expired : active, key, o);
		free(key);
	}
	if (rc != SQLITE_DONE) {
		json_decref(active);
		json_decref(expired);
		return store_fail(s, "load overrides", err);
	}
	*ret_active = active;
	if (ret_expired)
		*ret_expired = expired;
	else
		json_decref(expired);
	return 0;
}

/* ------------------------------------------------------------ applying */

struct ov_ctx {
	struct store *s;
	int64_t project_id;
	const char *now;
	const char *author;
	json_t *active;  /* overrides in force, after the change */
	json_t *changes; /* array of {uid, from, to} */
	int outbox;
	struct ts_err *err;
};

/* The connector a task's ticket lives in: its ticket's, else that of its queued
 * create; NULL (*ret) when the task is not tracked. */
static int tracked_connector(struct ov_ctx *c, int64_t cm_id, int64_t ticket_id, char **ret)
{
	*ret = NULL;
	sqlite3_stmt *st;
	if (ticket_id > 0) {
		st = store_prepare(c->s, SQL_TICKET_CONNECTOR);
		if (!st)
			return store_fail(c->s, "find ticket", c->err);
		sqlite3_bind_int64(st, 1, ticket_id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = ts_strdup(store_col_text(st, 0));
			sqlite3_reset(st);
			return 0;
		}
		if (rc != SQLITE_DONE)
			return store_fail(c->s, "find ticket", c->err);
	}
	st = store_prepare(c->s, SQL_CREATE_CONNECTOR);
	if (!st)
		return store_fail(c->s, "find queued ticket", c->err);
	sqlite3_bind_int64(st, 1, cm_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = ts_strdup(store_col_text(st, 0));
	else if (rc != SQLITE_DONE)
		return store_fail(c->s, "find queued ticket", c->err);
	sqlite3_reset(st);
	return 0;
}

/* The override kind a countermeasure takes from its threats: when every active
 * threat of it that the policy puts in scope has an override (and at least one
 * of its threats has one), the kind of the first such threat by uid. */
static int inherited_kind(struct ov_ctx *c, int64_t cm_id, const char **ret_kind,
                          const char **ret_reason)
{
	*ret_kind = NULL;
	*ret_reason = NULL;
	sqlite3_stmt *st = store_prepare(c->s, SQL_CM_THREATS);
	if (!st)
		return store_fail(c->s, "load threats of a task", c->err);
	sqlite3_bind_int64(st, 1, cm_id);
	const json_t *first = NULL;
	bool needed = false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strcmp(store_col_text(st, 2), "active") != 0)
			continue;
		char *key = ts_asprintf("threat:%s", store_col_text(st, 0));
		const json_t *o = json_object_get(c->active, key);
		free(key);
		if (o && !first)
			first = o;
		if (!o && sqlite3_column_int(st, 1))
			needed = true;
	}
	if (rc != SQLITE_DONE)
		return store_fail(c->s, "load threats of a task", c->err);
	if (first && !needed) {
		/* Borrowed from c->active, which outlives the caller's use. */
		*ret_kind = json_string_value(json_object_get(first, "kind"));
		*ret_reason = json_string_value(json_object_get(first, "reason"));
	}
	return 0;
}

struct ov_cm {
	int64_t id;
	char *uid;
	char *status;
	int in_scope;
	bool active;
	int64_t ticket_id;
};

static void ov_cm_clear(struct ov_cm *m)
{
	free(m->uid);
	free(m->status);
}

/* Moves a task to status to (when it is not there already) with its history row
 * and ticket operation. */
static int set_status(struct ov_ctx *c, const struct ov_cm *m, const char *to, const char *reason)
{
	if (strcmp(m->status, to) == 0)
		return 0;
	struct task_status_change ch = {.countermeasure_id = m->id,
	                                .ticket_id = m->ticket_id,
	                                .from = m->status,
	                                .to = to,
	                                .source = "override",
	                                .actor = c->author,
	                                .reason = reason};
	int rc = task_status_set(c->s, &ch, c->now, c->err);
	if (rc < 0)
		return rc;
	json_array_append_new(
	    c->changes, json_pack("{s:s, s:s, s:s}", "uid", m->uid, "from", m->status, "to", to));

	const char *op = NULL;
	bool live = m->active && m->in_scope;
	if (live && task_status_open(m->status) && !task_status_open(to))
		op = "close";
	else if (live && !task_status_open(m->status) && task_status_open(to))
		op = "reopen";
	if (!op)
		return 0;
	char *connector = NULL;
	rc = tracked_connector(c, m->id, m->ticket_id, &connector);
	if (rc < 0 || !connector)
		return rc;
	json_t *payload = json_pack("{s:s?}", "reason", reason);
	char *p = json_dumps(payload, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(payload);
	struct outbox_entry e = {.project_id = c->project_id,
	                         .connector = connector,
	                         .op = op,
	                         .countermeasure_id = m->id,
	                         .ticket_id = m->ticket_id,
	                         .payload = p};
	rc = outbox_enqueue(c->s, &e, c->now, c->err);
	free(p);
	free(connector);
	if (rc == 0)
		c->outbox++;
	return rc;
}

/* The status a task should have now from the overrides alone: its own, else
 * the one it inherits from its threats; NULL when none applies. */
static int wanted_status(struct ov_ctx *c, const struct ov_cm *m, const char **ret_kind,
                         const char **ret_reason)
{
	char *key = ts_asprintf("countermeasure:%s", m->uid);
	const json_t *own = json_object_get(c->active, key);
	free(key);
	if (own) {
		*ret_kind = json_string_value(json_object_get(own, "kind"));
		*ret_reason = json_string_value(json_object_get(own, "reason"));
		return 0;
	}
	return inherited_kind(c, m->id, ret_kind, ret_reason);
}

/* Re-derives the status of the tasks in list from the overrides in force. */
static int apply(struct ov_ctx *c, struct ov_cm *list, size_t n, const char *revoke_reason)
{
	for (size_t i = 0; i < n; i++) {
		struct ov_cm *m = &list[i];
		const char *kind = NULL, *reason = NULL;
		int rc = wanted_status(c, m, &kind, &reason);
		if (rc < 0)
			return rc;
		if (kind)
			rc = set_status(c, m, kind, reason);
		else if (override_kind_valid(m->status))
			rc = set_status(c, m, "todo",
			                revoke_reason ? revoke_reason : "override revoked");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void read_cm_row(sqlite3_stmt *st, struct ov_cm *m, int first_col)
{
	m->id = sqlite3_column_int64(st, first_col);
	m->status = ts_strdup(store_col_text(st, first_col + 1));
	m->in_scope = sqlite3_column_int(st, first_col + 2);
	m->active = strcmp(store_col_text(st, first_col + 3), "active") == 0;
	m->ticket_id = sqlite3_column_int64(st, first_col + 4);
}

/* The tasks an override of target can change: the countermeasure itself, or
 * every countermeasure of the threat. *ret_kind is "threat" or "countermeasure". */
static int affected(struct ov_ctx *c, const char *target, const char **ret_kind,
                    struct ov_cm **ret_list, size_t *ret_n)
{
	*ret_list = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(c->s, SQL_FIND_CM);
	if (!st)
		return store_fail(c->s, "find countermeasure", c->err);
	sqlite3_bind_int64(st, 1, c->project_id);
	store_bind_text(st, 2, target);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct ov_cm *m = ts_calloc(1, sizeof(*m));
		read_cm_row(st, m, 0);
		m->uid = ts_strdup(target);
		sqlite3_reset(st);
		*ret_kind = "countermeasure";
		*ret_list = m;
		*ret_n = 1;
		return 0;
	}
	if (rc != SQLITE_DONE)
		return store_fail(c->s, "find countermeasure", c->err);
	st = store_prepare(c->s, SQL_FIND_THREAT);
	if (!st)
		return store_fail(c->s, "find threat", c->err);
	sqlite3_bind_int64(st, 1, c->project_id);
	store_bind_text(st, 2, target);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return ts_err_set(c->err, TS_E_INVALID,
		                  "'%s' is neither a threat nor a countermeasure of this project "
		                  "(list the ids with `threatsync threats SLUG --all` and "
		                  "`threatsync countermeasures SLUG --all`)",
		                  target);
	if (rc != SQLITE_ROW)
		return store_fail(c->s, "find threat", c->err);
	int64_t threat_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	*ret_kind = "threat";
	st = store_prepare(c->s, SQL_LINKED_CMS);
	if (!st)
		return store_fail(c->s, "find countermeasures of a threat", c->err);
	sqlite3_bind_int64(st, 1, threat_id);
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*ret_n == cap) {
			cap = cap ? cap * 2 : 8;
			*ret_list = ts_realloc(*ret_list, cap * sizeof(**ret_list));
		}
		struct ov_cm *m = &(*ret_list)[(*ret_n)++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(st, 0);
		m->uid = ts_strdup(store_col_text(st, 1));
		m->status = ts_strdup(store_col_text(st, 2));
		m->in_scope = sqlite3_column_int(st, 3);
		m->active = strcmp(store_col_text(st, 4), "active") == 0;
		m->ticket_id = sqlite3_column_int64(st, 5);
	}
	if (rc != SQLITE_DONE)
		return store_fail(c->s, "find countermeasures of a threat", c->err);
	return 0;
}

static void free_list(struct ov_cm *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ov_cm_clear(&list[i]);
	free(list);
}

/* Everything after the argument checks, inside the transaction. */
static int run(struct ov_ctx *c, const char *target, const char *kind, const char *reason,
               const char *expires, bool revoke, json_t **ret_changes)
{
	const char *target_kind = NULL;
	struct ov_cm *list = NULL;
	size_t n = 0;
	int rc = affected(c, target, &target_kind, &list, &n);
	if (rc < 0)
		goto out;
	int revoked = 0;
	rc = override_revoke_rows(c->s, c->project_id, target_kind, target, NULL, false, c->now,
	                          &revoked, c->err);
	if (rc < 0)
		goto out;
	if (revoke && revoked == 0) {
		rc = ts_err_set(c->err, TS_E_INVALID, "%s '%s' has no active override to revoke",
		                target_kind, target);
		goto out;
	}
	if (!revoke) {
		struct override_row o = {.project_id = c->project_id,
		                         .target_kind = target_kind,
		                         .target_uid = target,
		                         .kind = kind,
		                         .reason = reason,
		                         .author = c->author,
		                         .expires = expires,
		                         .payload = "{}"};
		if ((rc = override_insert(c->s, &o, c->now, c->err)) < 0)
			goto out;
	}
	if ((rc = override_load_active(c->s, c->project_id, c->now, &c->active, NULL, c->err)) < 0)
		goto out;
	if ((rc = apply(c, list, n, revoke ? reason : NULL)) < 0)
		goto out;
	if (ret_changes)
		*ret_changes =
		    json_pack("{s:s, s:s, s:s?, s:s?, s:O, s:i}", "target", target, "target_kind",
		              target_kind, "kind", revoke ? "revoked" : kind, "expires_at", expires,
		              "changes", c->changes, "outbox", c->outbox);
out:
	free_list(list, n);
	return rc;
}

static int begin_run(struct store *s, int64_t project_id, const char *target, const char *kind,
                     const char *reason, const char *author, const char *expires, const char *now,
                     bool revoke, json_t **ret_changes, struct ts_err *err)
{
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	struct ov_ctx c = {.s = s,
	                   .project_id = project_id,
	                   .now = now,
	                   .author = author,
	                   .changes = json_array(),
	                   .err = err};
	int rc = store_begin(s);
	if (rc < 0) {
		rc = store_fail(s, "begin override", err);
		goto out;
	}
	rc = run(&c, target, kind, reason, expires, revoke, ret_changes);
	if (rc == 0 && (rc = store_commit(s)) < 0)
		rc = store_fail(s, "commit override", err);
	if (rc < 0) {
		store_rollback(s);
		if (ret_changes && *ret_changes) {
			json_decref(*ret_changes);
			*ret_changes = NULL;
		}
	}
out:
	json_decref(c.active);
	json_decref(c.changes);
	return rc;
}

int override_add(struct store *s, int64_t project_id, const char *target_uid, const char *kind,
                 const char *reason, const char *author, const char *expires, const char *now,
                 json_t **ret_changes, struct ts_err *err)
{
	if (ret_changes)
		*ret_changes = NULL;
	if (!target_uid || !*target_uid)
		return ts_err_set(err, TS_E_USAGE, "override: an id is required");
	if (!override_kind_valid(kind))
		return ts_err_set(err, TS_E_USAGE,
		                  "override: kind must be not_applicable or risk_accepted");
	if (!reason || !*reason)
		return ts_err_set(err, TS_E_USAGE, "override: a reason is required (--reason)");
	if (strlen(reason) > OVERRIDE_MAX_REASON)
		return ts_err_set(err, TS_E_USAGE, "override: the reason is longer than %d bytes",
		                  OVERRIDE_MAX_REASON);
	if (author && strlen(author) > OVERRIDE_MAX_AUTHOR)
		return ts_err_set(err, TS_E_USAGE, "override: the author is longer than %d bytes",
		                  OVERRIDE_MAX_AUTHOR);
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	if (strcmp(kind, "risk_accepted") == 0) {
		if (!expires)
			return ts_err_set(err, TS_E_USAGE,
			                  "override: accepting a risk needs --expires YYYY-MM-DD "
			                  "(at most %d days ahead)",
			                  OVERRIDE_MAX_ACCEPT_DAYS);
		if (!override_date_valid(expires))
			return ts_err_set(err, TS_E_USAGE,
			                  "override: --expires '%s' is not a date YYYY-MM-DD",
			                  expires);
		char today[11];
		snprintf(today, sizeof(today), "%.10s", now);
		long days = date_days(expires) - date_days(today);
		if (days <= 0)
			return ts_err_set(err, TS_E_USAGE,
			                  "override: --expires %s is not after today (%s)", expires,
			                  today);
		if (days > OVERRIDE_MAX_ACCEPT_DAYS)
			return ts_err_set(
			    err, TS_E_USAGE,
			    "override: --expires %s is more than %d days ahead; accept "
			    "the risk again when it expires",
			    expires, OVERRIDE_MAX_ACCEPT_DAYS);
	} else if (expires) {
		return ts_err_set(err, TS_E_USAGE,
		                  "override: --expires applies to --accept-risk only");
	}
	return begin_run(s, project_id, target_uid, kind, reason, author, expires, now, false,
	                 ret_changes, err);
}

int override_revoke(struct store *s, int64_t project_id, const char *target_uid, const char *reason,
                    const char *author, const char *now, json_t **ret_changes, struct ts_err *err)
{
	if (ret_changes)
		*ret_changes = NULL;
	if (!target_uid || !*target_uid)
		return ts_err_set(err, TS_E_USAGE, "override: an id is required");
	if (reason && strlen(reason) > OVERRIDE_MAX_REASON)
		return ts_err_set(err, TS_E_USAGE, "override: the reason is longer than %d bytes",
		                  OVERRIDE_MAX_REASON);
	return begin_run(s, project_id, target_uid, NULL, reason, author, NULL, now, true,
	                 ret_changes, err);
}
