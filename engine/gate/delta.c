/* SPDX-License-Identifier: Apache-2.0 */
/* What a candidate model would change, computed on an in-memory copy of the
 * store so the database itself is only read: the gate of a pipeline must not
 * record a model that has not been merged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gate/gate.h"
#include "engine/generate/generate.h"
#include "engine/model/model.h"
#include "engine/model/project.h"

static const char SQL_THREATS[] =
    "SELECT uid FROM threats WHERE project_id = ?1 AND state = 'active' AND in_scope = 1"
    " ORDER BY uid";
static const char SQL_TASKS[] =
    "SELECT uid FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1 ORDER BY uid";
/* Active, in-scope threats no active, in-scope task addresses. */
static const char SQL_UNTASKED[] =
    "SELECT t.uid FROM threats t WHERE t.project_id = ?1 AND t.state = 'active'"
    " AND t.in_scope = 1 AND NOT EXISTS (SELECT 1 FROM threat_countermeasures l"
    " JOIN countermeasures c ON c.id = l.countermeasure_id WHERE l.threat_id = t.id"
    " AND c.state = 'active' AND c.in_scope = 1) ORDER BY t.uid";

/* The first column of sql's rows for project pid, as a new array. */
static int uid_list(struct store *s, const char *sql, int64_t pid, json_t **ret, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	if (!st)
		return store_fail(s, "model delta", err);
	sqlite3_bind_int64(st, 1, pid);
	json_t *out = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(out, json_string(store_col_text(st, 0)));
	if (rc != SQLITE_DONE) {
		json_decref(out);
		return store_fail(s, "model delta", err);
	}
	sqlite3_reset(st);
	*ret = out;
	return 0;
}

/* The strings of sorted array a missing from sorted array b (new array). */
static json_t *minus(const json_t *a, const json_t *b)
{
	json_t *out = json_array();
	size_t i = 0, k = 0, na = json_array_size(a), nb = json_array_size(b);
	while (i < na) {
		const char *x = json_string_value(json_array_get(a, i));
		int c = k < nb ? strcmp(x, json_string_value(json_array_get(b, k))) : -1;
		if (c < 0) {
			json_array_append_new(out, json_string(x));
			i++;
		} else if (c == 0) {
			i++;
			k++;
		} else {
			k++;
		}
	}
	return out;
}

/* Whether sorted array a holds s (binary search). */
static bool has(const json_t *a, const char *s)
{
	size_t lo = 0, hi = json_array_size(a);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(json_string_value(json_array_get(a, mid)), s);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* An in-memory store holding a copy of s's database. */
static int mem_copy(struct store *s, struct store **ret, struct ts_err *err)
{
	struct store *m = NULL;
	int rc = store_open(":memory:", STORE_MIGRATE, &m, err);
	if (rc < 0)
		return rc;
	sqlite3_backup *b = sqlite3_backup_init(store_db(m), "main", store_db(s), "main");
	if (!b) {
		rc = store_fail(m, "copy the database to memory", err);
		store_close(m);
		return rc;
	}
	int step = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (step != SQLITE_DONE) {
		rc = ts_err_set(
		    err, step == SQLITE_BUSY || step == SQLITE_LOCKED ? TS_E_BUSY : TS_E_INTERNAL,
		    "database %s: copy to memory: %s", store_path(s), sqlite3_errstr(step));
		store_close(m);
		return rc;
	}
	*ret = m;
	return 0;
}

static int snapshot(struct store *m, int64_t pid, json_t **ret_threats, json_t **ret_tasks,
                    struct ts_err *err)
{
	int rc = uid_list(m, SQL_THREATS, pid, ret_threats, err);
	if (rc < 0)
		return rc;
	rc = uid_list(m, SQL_TASKS, pid, ret_tasks, err);
	if (rc < 0) {
		json_decref(*ret_threats);
		*ret_threats = NULL;
	}
	return rc;
}

static json_t *added_removed(const json_t *diff, const char *kind)
{
	json_t *d = json_object_get(diff, kind);
	json_t *a = json_object_get(d, "added"), *r = json_object_get(d, "removed");
	return json_pack("{s:o, s:o}", "added", a ? json_incref(a) : json_array(), "removed",
	                 r ? json_incref(r) : json_array());
}

int gate_model_delta(struct store *s, const struct library *lib, const struct config *cfg,
                     const char *slug, const json_t *model, const char *now, json_t **ret_delta,
                     struct ts_err *err)
{
	*ret_delta = NULL;
	int64_t pid = 0;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	json_t *base = NULL, *diff = NULL;
	json_t *t0 = NULL, *c0 = NULL, *t1 = NULL, *c1 = NULL, *untasked = NULL;
	struct store *m = NULL;
	int version = 0;
	if ((rc = model_latest_version(s, pid, &version, err)) < 0)
		return rc;
	if (version > 0)
		rc = model_load(s, pid, version, &base, NULL, err);
	else
		base = json_object();
	if (rc < 0)
		return rc;
	if ((rc = mem_copy(s, &m, err)) < 0)
		goto out;
	struct gen_opts go = {.now = now};
	json_t *sum = NULL;
	/* The baseline is today's generation of the stored model, so the delta
	 * is the model's alone, not that of a library or policy change since. */
	if (version > 0) {
		if ((rc = gen_run(m, lib, cfg, slug, &go, &sum, err)) < 0)
			goto out;
		json_decref(sum);
	}
	if ((rc = snapshot(m, pid, &t0, &c0, err)) < 0)
		goto out;
	if ((rc = model_import(m, pid, model, MODEL_FORMAT_NATIVE, "candidate", NULL, NULL, err)) <
	    0)
		goto out;
	if ((rc = gen_run(m, lib, cfg, slug, &go, &sum, err)) < 0)
		goto out;
	json_decref(sum);
	if ((rc = snapshot(m, pid, &t1, &c1, err)) < 0)
		goto out;
	json_t *all_untasked = NULL;
	if ((rc = uid_list(m, SQL_UNTASKED, pid, &all_untasked, err)) < 0)
		goto out;
	/* Only the new threats count: one left without a task before is the
	 * stored state's business, not this change's. */
	json_t *appear = minus(t1, t0);
	untasked = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (all_untasked, i, v) {
		if (has(appear, json_string_value(v)))
			json_array_append(untasked, v);
	}
	json_decref(all_untasked);
	model_diff(base, model, &diff);
	*ret_delta =
	    json_pack("{s:o, s:o, s:o, s:{s:o, s:o}, s:{s:o, s:o}, s:O}", "base_version",
	              version > 0 ? json_integer(version) : json_null(), "components",
	              added_removed(diff, "components"), "flows", added_removed(diff, "flows"),
	              "threats", "appear", appear, "disappear", minus(t0, t1), "tasks", "appear",
	              minus(c1, c0), "disappear", minus(c0, c1), "untasked", untasked);
	rc = 0;
out:
	store_close(m);
	json_decref(base);
	json_decref(diff);
	json_decref(t0);
	json_decref(c0);
	json_decref(t1);
	json_decref(c1);
	json_decref(untasked);
	return rc;
}
