/* SPDX-License-Identifier: Apache-2.0 */
/* The listings of what generation stored: a project's threats and its
 * countermeasures (tasks), with links, overrides and tickets, as documents. */
#include "engine/generate/listing.h"

#include <stdlib.h>
#include <string.h>

#include "engine/generate/gen_state.h"
#include "engine/model/project.h"
#include "engine/tracking/override.h"

static const char *const cm_statuses[] = {"todo",           "in_progress",   "done",
                                          "not_applicable", "risk_accepted", "satisfied"};

bool gen_status_valid(const char *s)
{
	for (size_t i = 0; s && i < TS_ARRAY_SIZE(cm_statuses); i++)
		if (strcmp(s, cm_statuses[i]) == 0)
			return true;
	return false;
}

static const char SQL_LATEST_CLASS[] =
    "SELECT version, risk_class, class_rule FROM model_versions WHERE project_id = ?1"
    " AND risk_class IS NOT NULL ORDER BY version DESC LIMIT 1";
static const char SQL_LIST_THREATS[] =
    "SELECT uid, library_id, origin, component_key, flow_key, title, stride, cwe, capec,"
    " severity, likelihood, score, in_scope, state, removed_reason, first_version, "
    GEN_LAST_VERSION_SQL("threats") " FROM threats WHERE project_id = ?1"
    " AND (?2 OR (state = 'active' AND in_scope = 1)) ORDER BY score DESC, uid";
static const char SQL_LIST_LINKS[] =
    "SELECT t.uid, c.uid FROM threat_countermeasures l JOIN threats t ON t.id = l.threat_id"
    " JOIN countermeasures c ON c.id = l.countermeasure_id WHERE t.project_id = ?1"
    " ORDER BY t.uid, c.uid";
static const char SQL_LIST_CMS[] =
    "SELECT c.uid, c.library_id, c.origin, c.component_key, c.title, c.priority, c.status,"
    " c.satisfied_by, c.verification, c.in_scope, c.score, c.due_date, c.state,"
    " c.removed_reason, json_patch(coalesce(x.body, '{}'), c.body), t.connector, t.remote_key,"
    " t.remote_url, c.first_version, " GEN_LAST_VERSION_SQL("c") " FROM countermeasures c"
    " LEFT JOIN tickets t ON t.id = c.ticket_id"
    " LEFT JOIN countermeasure_texts x ON x.hash = c.text_hash"
    " WHERE c.project_id = ?1 AND (?2 OR (c.state = 'active' AND c.in_scope = 1))"
    " AND (?3 IS NULL OR c.status = ?3) ORDER BY c.score DESC, c.uid";

static json_t *col_json(sqlite3_stmt *st, int i)
{
	const char *s = store_col_text(st, i);
	json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

/* {"project", "model_version", "risk_class", "rule"} of the last generation. */
static int list_header(struct store *s, const char *slug, int64_t *ret_project, json_t **ret_doc,
                       struct ts_err *err)
{
	int rc = project_find(s, slug, ret_project, err);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = store_prepare(s, SQL_LATEST_CLASS);
	if (!st)
		return store_fail(s, "load classification", err);
	sqlite3_bind_int64(st, 1, *ret_project);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_doc = json_pack("{s:s, s:i, s:s, s:s?}", "project", slug, "model_version",
		                     sqlite3_column_int(st, 0), "risk_class", store_col_text(st, 1),
		                     "rule", store_col_text(st, 2));
	else if (rc == SQLITE_DONE)
		*ret_doc = json_pack("{s:s, s:n, s:n, s:n}", "project", slug, "model_version",
		                     "risk_class", "rule");
	else
		return store_fail(s, "load classification", err);
	sqlite3_reset(st);
	return 0;
}

static json_t *override_json(const json_t *active, const char *kind, const char *uid)
{
	char *key = ts_asprintf("%s:%s", kind, uid);
	json_t *o = json_object_get(active, key);
	free(key);
	return o ? json_deep_copy(o) : json_null();
}

/* The threat-countermeasure links of a project as a new object: with by 0,
 * threat uid -> [countermeasure uids]; with by 1, countermeasure uid -> [threat
 * uids]. */
static int load_links(struct store *s, int64_t pid, int by, json_t **ret_links, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LIST_LINKS);
	if (!st)
		return store_fail(s, "list threat links", err);
	json_t *links = json_object();
	sqlite3_bind_int64(st, 1, pid);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *l = json_object_get(links, store_col_text(st, by));
		if (!l) {
			l = json_array();
			json_object_set_new(links, store_col_text(st, by), l);
		}
		json_array_append_new(l, json_string(store_col_text(st, 1 - by)));
	}
	if (rc != SQLITE_DONE) {
		json_decref(links);
		return store_fail(s, "list threat links", err);
	}
	*ret_links = links;
	return 0;
}

/* What both listings start from: the project's header document, the
 * overrides in force at now and the threat/countermeasure links keyed by
 * threats (by 0) or countermeasures (by 1). On error what was made is
 * returned for the caller's cleanup. */
static int list_begin(struct store *s, const char *slug, const char *now, int by,
                      int64_t *ret_project, json_t **ret_doc, json_t **ret_active,
                      json_t **ret_links, struct ts_err *err)
{
	int rc = list_header(s, slug, ret_project, ret_doc, err);
	if (rc == 0)
		rc = override_load_active(s, *ret_project, now, ret_active, NULL, err);
	if (rc == 0)
		rc = load_links(s, *ret_project, by, ret_links, err);
	return rc;
}

int gen_list_threats(struct store *s, const char *slug, bool all, const char *now, json_t **ret_doc,
                     struct ts_err *err)
{
	int64_t pid;
	json_t *doc = NULL, *active = NULL, *links = NULL;
	int rc = list_begin(s, slug, now, 0, &pid, &doc, &active, &links, err);
	if (rc < 0)
		goto fail;
	sqlite3_stmt *st;
	st = store_prepare(s, SQL_LIST_THREATS);
	if (!st) {
		rc = store_fail(s, "list threats", err);
		goto fail;
	}
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, all);
	json_t *list = json_array();
	json_object_set_new(doc, "threats", list);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *uid = store_col_text(st, 0);
		json_t *ovr = override_json(active, "threat", uid);
		bool removed = strcmp(store_col_text(st, 13), "active") != 0;
		const char *status = removed ? "removed"
		                     : json_is_object(ovr)
		                         ? json_string_value(json_object_get(ovr, "kind"))
		                     : sqlite3_column_int(st, 12) ? "open"
		                                                  : "out_of_scope";
		json_t *cms = json_object_get(links, uid);
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:o, s:o, s:s, s:s, s:f,"
		              " s:b, s:s, s:s, s:s?, s:o, s:o, s:i, s:i}",
		              "id", uid, "library_id", store_col_text(st, 1), "origin",
		              store_col_text(st, 2), "component", store_col_text(st, 3), "flow",
		              store_col_text(st, 4), "title", store_col_text(st, 5), "stride",
		              store_col_text(st, 6), "cwe", col_json(st, 7), "capec",
		              col_json(st, 8), "severity", store_col_text(st, 9), "likelihood",
		              store_col_text(st, 10), "score", sqlite3_column_double(st, 11),
		              "in_scope", sqlite3_column_int(st, 12), "status", status, "state",
		              store_col_text(st, 13), "removed_reason", store_col_text(st, 14),
		              "override", ovr, "countermeasures",
		              cms ? json_incref(cms) : json_array(), "first_version",
		              sqlite3_column_int(st, 15), "last_version",
		              sqlite3_column_int(st, 16)));
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, "list threats", err);
		goto fail;
	}
	json_decref(active);
	json_decref(links);
	*ret_doc = doc;
	return 0;
fail:
	json_decref(doc);
	json_decref(active);
	json_decref(links);
	return rc;
}

int gen_list_countermeasures(struct store *s, const char *slug, bool all, const char *status,
                             const char *now, json_t **ret_doc, struct ts_err *err)
{
	if (status && !gen_status_valid(status))
		return ts_err_set(err, TS_E_USAGE,
		                  "unknown status '%s' (todo, in_progress, done, not_applicable, "
		                  "risk_accepted or satisfied)",
		                  status);
	int64_t pid;
	json_t *doc = NULL, *active = NULL, *links = NULL;
	int rc = list_begin(s, slug, now, 1, &pid, &doc, &active, &links, err);
	if (rc < 0)
		goto fail;
	sqlite3_stmt *st;
	st = store_prepare(s, SQL_LIST_CMS);
	if (!st) {
		rc = store_fail(s, "list countermeasures", err);
		goto fail;
	}
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, all || status);
	if (status)
		sqlite3_bind_text(st, 3, status, -1, SQLITE_TRANSIENT);
	json_t *list = json_array();
	json_object_set_new(doc, "countermeasures", list);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *uid = store_col_text(st, 0);
		json_t *ticket =
		    store_col_text(st, 15)
		        ? json_pack("{s:s, s:s?, s:s?}", "connector", store_col_text(st, 15), "key",
		                    store_col_text(st, 16), "url", store_col_text(st, 17))
		        : json_null();
		json_t *threats = json_object_get(links, uid);
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s?, s:s, s:b, s:f, s:s?,"
		                    " s:s, s:s?, s:o, s:o, s:o, s:o, s:i, s:i}",
		                    "id", uid, "library_id", store_col_text(st, 1), "origin",
		                    store_col_text(st, 2), "component", store_col_text(st, 3),
		                    "title", store_col_text(st, 4), "priority",
		                    sqlite3_column_int(st, 5), "status", store_col_text(st, 6),
		                    "satisfied_by", store_col_text(st, 7), "verification",
		                    store_col_text(st, 8), "in_scope", sqlite3_column_int(st, 9),
		                    "score", sqlite3_column_double(st, 10), "due_date",
		                    store_col_text(st, 11), "state", store_col_text(st, 12),
		                    "removed_reason", store_col_text(st, 13), "override",
		                    override_json(active, "countermeasure", uid), "threats",
		                    threats ? json_incref(threats) : json_array(), "ticket", ticket,
		                    "details", col_json(st, 14), "first_version",
		                    sqlite3_column_int(st, 18), "last_version",
		                    sqlite3_column_int(st, 19)));
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, "list countermeasures", err);
		goto fail;
	}
	json_decref(active);
	json_decref(links);
	*ret_doc = doc;
	return 0;
fail:
	json_decref(doc);
	json_decref(active);
	json_decref(links);
	return rc;
}
