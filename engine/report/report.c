/* SPDX-License-Identifier: Apache-2.0 */
/* The report documents: one project's, and the portfolio of all. Assembled
 * from the listings, the compliance coverage, the metrics, the releases and
 * the snapshots, each from its one home. */
#include "engine/report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest.h"
#include "engine/gate/gate.h"
#include "engine/generate/listing.h"
#include "engine/model/project.h"
#include "engine/report/metrics.h"
#include "engine/report/release.h"

static const char SQL_PROJECT[] =
    "SELECT id, slug, name, description FROM projects WHERE slug = ?1";
static const char SQL_PROJECTS[] = "SELECT slug FROM projects ORDER BY slug";
static const char SQL_CLASS[] =
    "SELECT risk_class, class_rule FROM model_versions WHERE project_id = ?1"
    " AND risk_class IS NOT NULL ORDER BY version DESC LIMIT 1";
static const char SQL_MODEL[] =
    "SELECT version, imported_at, source_name, document FROM model_versions"
    " WHERE project_id = ?1 ORDER BY version DESC LIMIT 1";
static const char SQL_OVERRIDES[] =
    "SELECT target_kind, target_uid, kind, reason, author, expires_at, created_at"
    " FROM overrides WHERE project_id = ?1 AND revoked_at IS NULL"
    " AND kind IN ('not_applicable', 'risk_accepted') ORDER BY created_at, id";
static const char SQL_SNAPSHOTS[] =
    "SELECT taken_at, metrics FROM metric_snapshots WHERE project_id = ?1"
    " ORDER BY taken_at, id";

static const char *const severities[] = {"critical", "high", "medium", "low"};

static int severity_rank(const char *sev)
{
	for (size_t i = 0; sev && i < TS_ARRAY_SIZE(severities); i++)
		if (strcmp(sev, severities[i]) == 0)
			return (int)i;
	return (int)TS_ARRAY_SIZE(severities);
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* {"slug", "name", "description"} of project slug and its id. */
static int load_project(struct store *s, const char *slug, int64_t *ret_id, json_t **ret,
                        struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECT);
	if (!st)
		return store_fail(s, "load project", err);
	store_bind_text(st, 1, slug);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return ts_err_set(err, TS_E_NOTFOUND, "no project '%s'", slug);
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "load project", err);
	*ret_id = sqlite3_column_int64(st, 0);
	*ret = json_pack("{s:s, s:s, s:o}", "slug", store_col_text(st, 1), "name",
	                 store_col_text(st, 2), "description", str_or_null(store_col_text(st, 3)));
	sqlite3_reset(st);
	return 0;
}

/* {"risk_class", "rule": {"name", "index", "line"} | null} of the latest
 * classified model version; the rule's place is looked up in cfg. */
static int load_class(struct store *s, const struct config *cfg, int64_t pid, json_t **ret,
                      struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CLASS);
	if (!st)
		return store_fail(s, "load classification", err);
	sqlite3_bind_int64(st, 1, pid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*ret = json_pack("{s:n, s:n}", "risk_class", "rule");
		return 0;
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "load classification", err);
	const char *name = store_col_text(st, 1);
	json_t *rule = json_null();
	if (name) {
		int index = -1, line = 0;
		for (size_t i = 0; cfg && i < cfg->n_rules; i++) {
			if (strcmp(cfg->rules[i].name, name) == 0) {
				index = (int)i;
				line = cfg->rules[i].line;
				break;
			}
		}
		json_decref(rule);
		rule = json_pack("{s:s, s:o, s:o}", "name", name, "index",
		                 index >= 0 ? json_integer(index) : json_null(), "line",
		                 index >= 0 ? json_integer(line) : json_null());
	}
	*ret = json_pack("{s:s, s:o}", "risk_class", store_col_text(st, 0), "rule", rule);
	sqlite3_reset(st);
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	return strcmp(json_string_value(json_object_get(x, "id")),
	              json_string_value(json_object_get(y, "id")));
}

/* Sorts an array of objects by their "id" in place. */
static void sort_by_id(json_t *list)
{
	size_t n = json_array_size(list);
	json_t **v = ts_calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, n, sizeof(*v), by_id);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	free(v);
}

/* Open threats per component and flow key: {"c:KEY": {"n", "max"}}. */
static json_t *open_by_element(const json_t *threats, const json_t *states)
{
	json_t *acc = json_object();
	size_t i;
	json_t *t;
	json_array_foreach (threats, i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *state = json_string_value(json_object_get(states, id));
		if (!state || strcmp(state, "open") != 0)
			continue;
		const char *sev = json_string_value(json_object_get(t, "severity"));
		const char *keys[2] = {json_string_value(json_object_get(t, "component")),
		                       json_string_value(json_object_get(t, "flow"))};
		for (int k = 0; k < 2; k++) {
			if (!keys[k])
				continue;
			char *key = ts_asprintf("%c:%s", k ? 'f' : 'c', keys[k]);
			json_t *e = json_object_get(acc, key);
			if (!e) {
				e = json_pack("{s:i, s:s}", "n", 0, "max", sev);
				json_object_set_new(acc, key, e);
			}
			json_object_set_new(
			    e, "n", json_integer(json_integer_value(json_object_get(e, "n")) + 1));
			if (severity_rank(sev) <
			    severity_rank(json_string_value(json_object_get(e, "max"))))
				json_object_set_new(e, "max", json_string(sev));
			free(key);
		}
	}
	return acc;
}

static json_int_t open_count(const json_t *acc, char kind, const char *id)
{
	char *key = ts_asprintf("%c:%s", kind, id);
	json_int_t n = json_integer_value(json_object_get(json_object_get(acc, key), "n"));
	free(key);
	return n;
}

/* The "model" member from the latest model version's document. */
static int load_model(struct store *s, int64_t pid, const json_t *threats, const json_t *states,
                      json_t **ret, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_MODEL);
	if (!st)
		return store_fail(s, "load model", err);
	sqlite3_bind_int64(st, 1, pid);
	int rc = sqlite3_step(st);
	json_t *zones = json_array(), *comps = json_array(), *flows = json_array();
	if (rc == SQLITE_DONE) {
		*ret = json_pack("{s:n, s:n, s:n, s:o, s:o, s:o}", "version", "imported_at",
		                 "source", "zones", zones, "components", comps, "flows", flows);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		json_decref(zones);
		json_decref(comps);
		json_decref(flows);
		return store_fail(s, "load model", err);
	}
	json_t *doc = json_loads(store_col_text(st, 3), 0, NULL);
	json_t *acc = open_by_element(threats, states);
	json_t *zone_of = json_object();
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(doc, "trust_zones"), i, e) {
		json_t *trust = json_object_get(e, "trust_level");
		json_array_append_new(zones,
		                      json_pack("{s:O, s:O, s:O}", "id", json_object_get(e, "id"),
		                                "name", json_object_get(e, "name"), "trust",
		                                json_is_integer(trust) ? trust : json_null()));
	}
	json_array_foreach (json_object_get(doc, "components"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *zone = json_string_value(json_object_get(e, "trust_zone"));
		char *key = ts_asprintf("c:%s", id);
		const char *max =
		    json_string_value(json_object_get(json_object_get(acc, key), "max"));
		free(key);
		if (zone)
			json_object_set_new(zone_of, id, json_string(zone));
		json_array_append_new(
		    comps, json_pack("{s:s, s:O, s:O, s:o, s:I, s:o}", "id", id, "name",
		                     json_object_get(e, "name"), "type", json_object_get(e, "type"),
		                     "zone", str_or_null(zone), "threats_open",
		                     open_count(acc, 'c', id), "max_severity", str_or_null(max)));
	}
	json_array_foreach (json_object_get(doc, "flows"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *src = json_string_value(json_object_get(e, "source"));
		const char *dst = json_string_value(json_object_get(e, "destination"));
		const char *zs = json_string_value(json_object_get(zone_of, src ? src : ""));
		const char *zd = json_string_value(json_object_get(zone_of, dst ? dst : ""));
		bool crosses = (zs || zd) && (!zs || !zd || strcmp(zs, zd) != 0);
		json_array_append_new(
		    flows, json_pack("{s:s, s:o, s:s?, s:s?, s:o, s:b, s:I}", "id", id, "name",
		                     str_or_null(json_string_value(json_object_get(e, "name"))),
		                     "source", src, "target", dst, "protocol",
		                     str_or_null(json_string_value(json_object_get(e, "protocol"))),
		                     "crosses_boundary", crosses, "threats_open",
		                     open_count(acc, 'f', id)));
	}
	sort_by_id(zones);
	sort_by_id(comps);
	sort_by_id(flows);
	*ret = json_pack("{s:i, s:s, s:o, s:o, s:o, s:o}", "version", sqlite3_column_int(st, 0),
	                 "imported_at", store_col_text(st, 1), "source",
	                 str_or_null(store_col_text(st, 2)), "zones", zones, "components", comps,
	                 "flows", flows);
	sqlite3_reset(st);
	json_decref(doc);
	json_decref(acc);
	json_decref(zone_of);
	return 0;
}

static int load_overrides(struct store *s, int64_t pid, const char *now, json_t **ret,
                          struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_OVERRIDES);
	if (!st)
		return store_fail(s, "load overrides", err);
	sqlite3_bind_int64(st, 1, pid);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *expires = store_col_text(st, 5);
		/* The rule of override_load_active: a date against the day of now. */
		bool active = !expires || strncmp(expires, now, 10) > 0;
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "target_kind",
		              store_col_text(st, 0), "target", store_col_text(st, 1), "kind",
		              store_col_text(st, 2), "reason", store_col_text(st, 3), "author",
		              store_col_text(st, 4), "expires_at", str_or_null(expires),
		              "created_at", store_col_text(st, 6), "active", active));
	}
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return store_fail(s, "load overrides", err);
	}
	sqlite3_reset(st);
	*ret = list;
	return 0;
}

static int trend_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "at")),
	               json_string_value(json_object_get(y, "at")));
	if (c)
		return c;
	/* A release after the snapshot of the same moment; releases keep their
	 * order (seq). */
	bool rx = json_is_string(json_object_get(x, "release"));
	bool ry = json_is_string(json_object_get(y, "release"));
	if (rx != ry)
		return rx ? 1 : -1;
	json_int_t sx = json_integer_value(json_object_get(x, "seq"));
	json_int_t sy = json_integer_value(json_object_get(y, "seq"));
	return sx < sy ? -1 : sx > sy;
}

/* The snapshots and the releases as one series, oldest first. */
static int load_trend(struct store *s, int64_t pid, const json_t *releases, json_t **ret,
                      struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_SNAPSHOTS);
	if (!st)
		return store_fail(s, "load metrics snapshots", err);
	sqlite3_bind_int64(st, 1, pid);
	json_t *all = json_array();
	json_int_t seq = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *m = json_loads(store_col_text(st, 1), 0, NULL);
		json_array_append_new(all, json_pack("{s:s, s:n, s:o, s:I}", "at",
		                                     store_col_text(st, 0), "release", "metrics",
		                                     m ? m : json_object(), "seq", seq++));
	}
	if (rc != SQLITE_DONE) {
		json_decref(all);
		return store_fail(s, "load metrics snapshots", err);
	}
	sqlite3_reset(st);
	size_t i;
	json_t *r;
	json_array_foreach (releases, i, r) {
		json_array_append_new(all, json_pack("{s:O, s:O, s:O, s:I}", "at",
		                                     json_object_get(r, "created_at"), "release",
		                                     json_object_get(r, "name"), "metrics",
		                                     json_object_get(r, "metrics"), "seq", seq++));
	}
	size_t n = json_array_size(all);
	json_t **v = ts_calloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	qsort(v, n, sizeof(*v), trend_cmp);
	json_t *out = json_array();
	for (i = 0; i < n; i++) {
		json_t *e = json_copy(v[i]);
		json_object_del(e, "seq");
		json_array_append_new(out, e);
	}
	free(v);
	json_decref(all);
	*ret = out;
	return 0;
}

/* Moves member name of the new document src into dst (src released). */
static void take(json_t *dst, const char *name, json_t *src)
{
	json_t *v = json_object_get(src, name);
	json_object_set_new(dst, name, v ? json_incref(v) : json_array());
	json_decref(src);
}

int report_build(struct store *s, const struct config *cfg, const struct library *lib,
                 const char *slug, const char *now, json_t **ret_doc, struct ts_err *err)
{
	(void)lib;
	*ret_doc = NULL;
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	int64_t pid = 0;
	json_t *project = NULL, *part = NULL, *states = NULL, *metrics = NULL, *verif = NULL;
	int rc = load_project(s, slug, &pid, &project, err);
	if (rc < 0)
		return rc;
	json_t *doc = json_pack("{s:i, s:s, s:o}", "report_version", REPORT_VERSION, "generated_at",
	                        now, "project", project);
	if ((rc = load_class(s, cfg, pid, &part, err)) < 0)
		goto fail;
	json_object_set_new(doc, "classification", part);
	if ((rc = gen_list_threats(s, slug, false, now, &part, err)) < 0)
		goto fail;
	take(doc, "threats", part);
	if ((rc = gen_list_countermeasures(s, slug, false, NULL, now, &part, err)) < 0)
		goto fail;
	take(doc, "countermeasures", part);
	struct findings_filter ff = {.project = slug, .now = now};
	if ((rc = findings_list(s, &ff, &part, err)) < 0)
		goto fail;
	take(doc, "findings", part);
	if ((rc = load_overrides(s, pid, now, &part, err)) < 0)
		goto fail;
	json_object_set_new(doc, "overrides", part);
	if ((rc = gate_compliance(s, cfg, slug, NULL, &part, err)) < 0)
		goto fail;
	json_object_set_new(doc, "compliance",
	                    json_pack("{s:O, s:O}", "required", json_object_get(part, "required"),
	                              "frameworks", json_object_get(part, "frameworks")));
	json_decref(part);
	if ((rc = metrics_threat_states(s, pid, now, &states, err)) < 0)
		goto fail;
	if ((rc = load_model(s, pid, json_object_get(doc, "threats"), states, &part, err)) < 0)
		goto fail;
	json_object_set_new(doc, "model", part);
	if ((rc = metrics_compute(s, pid, now, &metrics, err)) < 0)
		goto fail;
	if ((rc = metrics_verification(s, pid, &verif, err)) < 0)
		goto fail;
	json_object_set_new(doc, "summary",
	                    json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "threats_open",
	                              json_object_get(metrics, "threats_open"), "tasks",
	                              json_object_get(metrics, "tasks"), "verification", verif,
	                              "overdue", json_object_get(metrics, "overdue"), "risk_score",
	                              json_object_get(metrics, "risk_score"), "mttr_days",
	                              json_object_get(metrics, "mttr_days")));
	json_object_set_new(doc, "metrics", metrics);
	metrics = NULL;
	json_object_set_new(doc, "threat_states", states);
	states = NULL;
	if ((rc = metrics_overdue(s, pid, now, &part, err)) < 0)
		goto fail;
	json_t *overdue = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (part, i, t) {
		json_array_append(overdue, json_object_get(t, "id"));
	}
	json_decref(part);
	json_object_set_new(doc, "overdue_tasks", overdue);
	if ((rc = release_list(s, pid, &part, err)) < 0)
		goto fail;
	json_object_set_new(doc, "releases", part);
	if ((rc = load_trend(s, pid, part, &part, err)) < 0)
		goto fail;
	json_object_set_new(doc, "trend", part);
	json_decref(verif);
	*ret_doc = doc;
	return 0;
fail:
	json_decref(doc);
	json_decref(states);
	json_decref(metrics);
	json_decref(verif);
	return rc;
}

/* ------------------------------------------------------------ portfolio */

static double round2(double x)
{
	return round(x * 100.0) / 100.0;
}

static int portfolio_project(struct store *s, const struct config *cfg, const char *slug,
                             const char *now, json_t **ret, struct ts_err *err)
{
	int64_t pid = 0;
	json_t *project = NULL, *cls = NULL, *metrics = NULL, *compliance = NULL, *releases = NULL;
	int rc = load_project(s, slug, &pid, &project, err);
	if (rc < 0)
		return rc;
	if ((rc = load_class(s, cfg, pid, &cls, err)) < 0 ||
	    (rc = metrics_compute(s, pid, now, &metrics, err)) < 0 ||
	    (rc = gate_compliance(s, cfg, slug, NULL, &compliance, err)) < 0 ||
	    (rc = release_list(s, pid, &releases, err)) < 0)
		goto out;
	json_t *coverage = json_array();
	size_t i;
	json_t *fw;
	json_array_foreach (json_object_get(compliance, "frameworks"), i, fw) {
		const json_t *t = json_object_get(fw, "totals");
		json_array_append_new(coverage,
		                      json_pack("{s:O, s:O, s:O, s:O}", "framework",
		                                json_object_get(fw, "framework"), "covered",
		                                json_object_get(t, "covered"), "partly",
		                                json_object_get(t, "partly"), "not_covered",
		                                json_object_get(t, "not_covered")));
	}
	double score = json_real_value(json_object_get(metrics, "risk_score"));
	size_t n = json_array_size(releases);
	json_t *last = n ? json_array_get(releases, n - 1) : NULL;
	json_t *since =
	    last ? json_pack("{s:O, s:f}", "release", json_object_get(last, "name"),
	                     "risk_score_delta",
	                     round2(score - json_number_value(json_object_get(
	                                        json_object_get(last, "metrics"), "risk_score"))))
	         : json_pack("{s:n, s:n}", "release", "risk_score_delta");
	*ret = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:o}", "slug",
	                 json_object_get(project, "slug"), "name", json_object_get(project, "name"),
	                 "risk_class", json_object_get(cls, "risk_class"), "threats_open",
	                 json_object_get(metrics, "threats_open"), "overdue",
	                 json_object_get(metrics, "overdue"), "verification_failed",
	                 json_object_get(metrics, "verification_failed"), "risk_score",
	                 json_object_get(metrics, "risk_score"), "coverage", coverage,
	                 "since_release", since);
out:
	json_decref(project);
	json_decref(cls);
	json_decref(metrics);
	json_decref(compliance);
	json_decref(releases);
	return rc;
}

static int portfolio_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int rx = severity_rank(json_string_value(json_object_get(x, "risk_class")));
	int ry = severity_rank(json_string_value(json_object_get(y, "risk_class")));
	if (rx != ry)
		return rx < ry ? -1 : 1;
	double sx = json_number_value(json_object_get(x, "risk_score"));
	double sy = json_number_value(json_object_get(y, "risk_score"));
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "slug")),
	              json_string_value(json_object_get(y, "slug")));
}

int report_portfolio(struct store *s, const struct config *cfg, const char *now, json_t **ret_doc,
                     struct ts_err *err)
{
	*ret_doc = NULL;
	char clock[32];
	if (!now) {
		ts_now_iso(clock);
		now = clock;
	}
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECTS);
	if (!st)
		return store_fail(s, "list projects", err);
	json_t *slugs = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(slugs, json_string(store_col_text(st, 0)));
	if (rc != SQLITE_DONE) {
		json_decref(slugs);
		return store_fail(s, "list projects", err);
	}
	sqlite3_reset(st);
	size_t n = json_array_size(slugs);
	json_t **v = ts_calloc(n + 1, sizeof(*v));
	rc = 0;
	size_t k = 0;
	for (; k < n && rc == 0; k++)
		rc = portfolio_project(s, cfg, json_string_value(json_array_get(slugs, k)), now,
		                       &v[k], err);
	json_decref(slugs);
	if (rc < 0) {
		for (size_t i = 0; i < k; i++)
			json_decref(v[i]);
		free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), portfolio_cmp);
	json_t *projects = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(projects, v[i]);
	free(v);
	*ret_doc = json_pack("{s:i, s:s, s:o}", "report_version", REPORT_VERSION, "generated_at",
	                     now, "projects", projects);
	return 0;
}
