/* SPDX-License-Identifier: Apache-2.0 */
/* Compliance coverage: the library's mappings of countermeasures to framework
 * controls, read from the tasks' text, against the tasks' status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gate/gate.h"
#include "engine/model/model.h"
#include "engine/model/project.h"

static const char SQL_CLASS[] =
    "SELECT version, risk_class FROM model_versions WHERE project_id = ?1"
    " AND risk_class IS NOT NULL ORDER BY version DESC LIMIT 1";
static const char SQL_TASKS[] =
    "SELECT c.uid, c.status, c.verification,"
    " json_extract(json_patch(coalesce(x.body, '{}'), c.body), '$.compliance')"
    " FROM countermeasures c LEFT JOIN countermeasure_texts x ON x.hash = c.text_hash"
    " WHERE c.project_id = ?1 AND c.state = 'active' AND c.in_scope = 1 ORDER BY c.uid";

static bool task_complete(const char *status, const char *verification)
{
	if (strcmp(verification, "failed") == 0)
		return false;
	return strcmp(status, "done") == 0 || strcmp(status, "satisfied") == 0 ||
	       strcmp(status, "not_applicable") == 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of object o, sorted (new array of borrowed strings). */
static const char **sorted_keys(const json_t *o, size_t *ret_n)
{
	size_t n = json_object_size(o), k = 0;
	const char **v = ts_calloc(n + 1, sizeof(*v));
	const char *key;
	json_t *val;
	json_object_foreach ((json_t *)o, key, val)
		v[k++] = key;
	qsort(v, k, sizeof(*v), key_cmp);
	*ret_n = k;
	return v;
}

/* {framework: {control: [task, ...]}} of the in-scope tasks. */
static int load_mappings(struct store *s, int64_t pid, json_t **ret, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_TASKS);
	if (!st)
		return store_fail(s, "compliance: tasks", err);
	sqlite3_bind_int64(st, 1, pid);
	json_t *map = json_object();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *uid = store_col_text(st, 0);
		const char *status = store_col_text(st, 1);
		const char *verification = store_col_text(st, 2);
		const char *text = store_col_text(st, 3);
		json_t *comp = text ? json_loads(text, 0, NULL) : NULL;
		const char *fw;
		json_t *ids;
		json_object_foreach (comp, fw, ids) {
			json_t *controls = json_object_get(map, fw);
			if (!controls) {
				controls = json_object();
				json_object_set_new(map, fw, controls);
			}
			size_t i;
			json_t *id;
			json_array_foreach (ids, i, id) {
				if (!json_is_string(id))
					continue;
				json_t *tasks = json_object_get(controls, json_string_value(id));
				if (!tasks) {
					tasks = json_array();
					json_object_set_new(controls, json_string_value(id), tasks);
				}
				json_array_append_new(
				    tasks,
				    json_pack("{s:s, s:s, s:s, s:b}", "id", uid, "status", status,
				              "verification", verification, "complete",
				              task_complete(status, verification)));
			}
		}
		json_decref(comp);
	}
	if (rc != SQLITE_DONE) {
		json_decref(map);
		return store_fail(s, "compliance: tasks", err);
	}
	sqlite3_reset(st);
	*ret = map;
	return 0;
}

/* The frameworks the latest class's policy and the latest model require, as
 * an object used as a set; *ret_version and *ret_class describe the model. */
static int load_required(struct store *s, const struct config *cfg, int64_t pid, json_t **ret_set,
                         int *ret_version, char **ret_class, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CLASS);
	if (!st)
		return store_fail(s, "compliance: classification", err);
	sqlite3_bind_int64(st, 1, pid);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "compliance: classification", err);
	json_t *set = json_object();
	*ret_version = 0;
	*ret_class = NULL;
	if (rc == SQLITE_ROW) {
		*ret_version = sqlite3_column_int(st, 0);
		*ret_class = store_col_dup(st, 1);
	}
	sqlite3_reset(st);
	if (*ret_class) {
		const struct config_policy *p = config_find_policy(cfg, *ret_class);
		if (!p)
			p = config_default_policy(*ret_class);
		for (char **fw = p ? p->frameworks : NULL; fw && *fw; fw++)
			json_object_set_new(set, *fw, json_true());
	}
	json_t *model = NULL;
	if (*ret_version > 0 && (rc = model_load(s, pid, *ret_version, &model, NULL, err)) < 0) {
		json_decref(set);
		free(*ret_class);
		*ret_class = NULL;
		return rc;
	}
	size_t i;
	json_t *fw;
	json_array_foreach (json_object_get(json_object_get(model, "project"), "compliance"), i,
	                    fw) {
		if (json_is_string(fw))
			json_object_set_new(set, json_string_value(fw), json_true());
	}
	json_decref(model);
	*ret_set = set;
	return 0;
}

static json_t *framework_json(const char *name, bool required, const json_t *controls)
{
	size_t n = 0, covered = 0, partly = 0;
	const char **ids = sorted_keys(controls, &n);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *tasks = json_object_get(controls, ids[i]);
		size_t done = 0, k;
		json_t *t;
		json_array_foreach (tasks, k, t)
			done += json_is_true(json_object_get(t, "complete"));
		const char *status = "not_covered";
		if (done == json_array_size(tasks)) {
			status = "covered";
			covered++;
		} else if (done > 0) {
			status = "partly";
			partly++;
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:O}", "id", ids[i], "status",
		                                      status, "tasks", tasks));
	}
	free(ids);
	/* Tenths of a percent, rounded half up, without floating-point drift. */
	double percent = n ? (double)((covered * 1000 + n / 2) / n) / 10.0 : 0.0;
	return json_pack("{s:s, s:b, s:o, s:{s:I, s:I, s:I, s:I, s:f}}", "framework", name,
	                 "required", required, "controls", list, "totals", "controls",
	                 (json_int_t)n, "covered", (json_int_t)covered, "partly",
	                 (json_int_t)partly, "not_covered", (json_int_t)(n - covered - partly),
	                 "percent", percent);
}

int gate_compliance(struct store *s, const struct config *cfg, const char *slug,
                    const char *framework, json_t **ret_doc, struct ts_err *err)
{
	*ret_doc = NULL;
	int64_t pid = 0;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	json_t *map = NULL, *required = NULL;
	char *risk_class = NULL;
	int version = 0;
	if ((rc = load_mappings(s, pid, &map, err)) < 0)
		return rc;
	if ((rc = load_required(s, cfg, pid, &required, &version, &risk_class, err)) < 0) {
		json_decref(map);
		return rc;
	}
	/* The frameworks to report, as a set. */
	json_t *report = json_object();
	if (framework) {
		if (!json_object_get(map, framework) && !json_object_get(required, framework)) {
			size_t n = 0;
			const char **known = sorted_keys(map, &n);
			struct ts_buf b = {0};
			for (size_t i = 0; i < n; i++)
				ts_buf_printf(&b, "%s%s", i ? ", " : "", known[i]);
			free(known);
			char *list = ts_buf_steal(&b);
			rc = ts_err_set(err, TS_E_NOTFOUND,
			                "project %s: no task maps framework '%s' (mapped: %s)",
			                slug, framework, list && *list ? list : "none");
			free(list);
			goto out;
		}
		json_object_set_new(report, framework, json_true());
	} else {
		json_object_update(report, json_object_size(required) ? required : map);
	}
	size_t n = 0;
	const char **names = sorted_keys(report, &n);
	json_t *fws = json_array();
	json_t *req = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *controls = json_object_get(map, names[i]);
		json_t *empty = json_object();
		json_array_append_new(
		    fws, framework_json(names[i], json_object_get(required, names[i]) != NULL,
		                        controls ? controls : empty));
		json_decref(empty);
	}
	free(names);
	names = sorted_keys(required, &n);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(req, json_string(names[i]));
	free(names);
	*ret_doc = json_pack("{s:s, s:o, s:o, s:o, s:o}", "project", slug, "model_version",
	                     version > 0 ? json_integer(version) : json_null(), "risk_class",
	                     risk_class ? json_string(risk_class) : json_null(), "required", req,
	                     "frameworks", fws);
	rc = 0;
out:
	json_decref(report);
	json_decref(map);
	json_decref(required);
	free(risk_class);
	return rc;
}
