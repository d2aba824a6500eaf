/* SPDX-License-Identifier: Apache-2.0 */
/* Ordered classification rules evaluated against a model with the expression language. */
#include "engine/generate/classify.h"

#include <string.h>

#include "engine/expr/expr.h"
#include "engine/model/model.h"
#include "engine/model/project.h"

int classify_rank(const char *name)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	for (int i = 0; name && i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i + 1;
	return 0;
}

void classify_annotate_model(json_t *model)
{
	/* One index of trust zones by component id: looking each flow's ends up
	 * by scanning the components would make this quadratic. */
	json_t *zones = json_object();
	size_t i;
	json_t *c, *f;
	json_array_foreach (json_object_get(model, "components"), i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		json_t *z = json_object_get(c, "trust_zone");
		if (id && json_is_string(z))
			json_object_set(zones, id, z);
	}
	json_array_foreach (json_object_get(model, "flows"), i, f) {
		const char *src = json_string_value(json_object_get(f, "source"));
		const char *dst = json_string_value(json_object_get(f, "destination"));
		const char *zs = src ? json_string_value(json_object_get(zones, src)) : NULL;
		const char *zd = dst ? json_string_value(json_object_get(zones, dst)) : NULL;
		bool crosses = (zs || zd) && !(zs && zd && strcmp(zs, zd) == 0);
		json_t *props = json_object_get(f, "properties");
		if (!json_is_object(props)) {
			props = json_object();
			json_object_set_new(f, "properties", props);
		}
		/* drawn across a boundary line of a diagram (Threat Dragon) */
		if (json_is_true(json_object_get(props, "crosses_boundary_line")))
			crosses = true;
		json_object_set_new(props, "crosses_trust_boundary", json_boolean(crosses));
	}
	json_decref(zones);
}

/* A component type's default properties (library component_types.json) hold
 * for every component of that type that does not say otherwise: a
 * payment_integration handles payments unless its model entry sets
 * handles_payment false. Only the working copy changes; the stored model
 * stays the team's own text. */
static void apply_type_defaults(const struct library *lib, json_t *model)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(model, "components"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const struct lib_component_type *t =
		    type ? library_component_type(lib, type) : NULL;
		if (!t || json_object_size(t->default_properties) == 0)
			continue;
		json_t *props = json_object_get(c, "properties");
		if (!json_is_object(props)) {
			props = json_object();
			json_object_set_new(c, "properties", props);
		}
		const char *key;
		json_t *v;
		json_object_foreach (t->default_properties, key, v) {
			if (!json_object_get(props, key))
				json_object_set(props, key, v);
		}
	}
}

void classify_prepare_model(const struct library *lib, json_t *model)
{
	apply_type_defaults(lib, model);
	classify_annotate_model(model);
}

int classify_model(const struct config *cfg, json_t *model, struct classify_result *ret,
                   struct ts_err *err)
{
	ret->risk_class = CLASSIFY_DEFAULT_CLASS;
	ret->rule = NULL;
	ret->rule_line = 0;
	ret->rule_index = -1;
	struct expr_env env = {.model = model};
	const char *file = cfg->path ? cfg->path : "(built-in configuration)";
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct config_rule *r = &cfg->rules[i];
		struct expr *e = NULL;
		struct ts_err perr = {0};
		if (expr_parse(r->when, &e, &perr) < 0)
			return ts_err_set(err, TS_E_CONFIG,
			                  "%s:%d: classification rule '%s': when: %s", file,
			                  r->line, r->name, perr.msg);
		bool hit = false;
		int rc = expr_eval_bool(e, &env, &hit, &perr);
		expr_free(e);
		if (rc < 0)
			return ts_err_set(err, TS_E_INVALID, "%s:%d: classification rule '%s': %s",
			                  file, r->line, r->name, perr.msg);
		if (hit) {
			ret->risk_class = r->risk_class;
			ret->rule = r->name;
			ret->rule_line = r->line;
			ret->rule_index = (int)i;
			return 0;
		}
	}
	return 0;
}

json_t *classify_policy_json(const struct config_policy *p)
{
	json_t *fw = json_array();
	for (char **f = p->frameworks; f && *f; f++)
		json_array_append_new(fw, json_string(*f));
	json_t *sla = json_array();
	for (int i = 0; i < 4; i++)
		json_array_append_new(sla, json_integer(p->sla_days[i]));
	json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o}", "risk_class", p->risk_class,
	                      "min_severity", p->min_severity, "max_priority", p->max_priority,
	                      "frameworks", fw, "sla_days", sla);
	json_object_set_new(o, "line", p->line > 0 ? json_integer(p->line) : json_null());
	return o;
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

/* The policy's frameworks plus the model's compliance, sorted, once each. */
static json_t *required_frameworks(const struct config_policy *p, const json_t *model)
{
	json_t *set = json_object();
	for (char **f = p->frameworks; f && *f; f++)
		json_object_set_new(set, *f, json_true());
	size_t i;
	json_t *fw;
	json_array_foreach (json_object_get(json_object_get(model, "project"), "compliance"), i,
	                    fw) {
		if (json_is_string(fw))
			json_object_set_new(set, json_string_value(fw), json_true());
	}
	size_t n = json_object_size(set), k = 0;
	json_t **v = ts_calloc(n + 1, sizeof(*v));
	const char *key;
	json_t *val;
	json_object_foreach (set, key, val) {
		v[k++] = json_string(key);
	}
	qsort(v, n, sizeof(*v), cmp_json_str);
	json_t *out = json_array();
	for (k = 0; k < n; k++)
		json_array_append_new(out, v[k]);
	free(v);
	json_decref(set);
	return out;
}

int classify_load(struct store *s, const struct library *lib, const struct config *cfg,
                  int64_t project_id, int version, json_t **ret_model, int *ret_version,
                  struct classify_result *ret, struct ts_err *err)
{
	json_t *model = NULL;
	int got = 0;
	int rc = model_load(s, project_id, version, &model, &got, err);
	if (rc < 0)
		return rc;
	classify_prepare_model(lib, model);
	if ((rc = classify_model(cfg, model, ret, err)) < 0) {
		json_decref(model);
		return rc;
	}
	*ret_model = model;
	*ret_version = got;
	return 0;
}

int classify_project(struct store *s, const struct library *lib, const struct config *cfg,
                     const char *slug, json_t **ret_doc, struct ts_err *err)
{
	int64_t pid;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	json_t *model = NULL;
	int version = 0;
	struct classify_result r;
	if ((rc = classify_load(s, lib, cfg, pid, 0, &model, &version, &r, err)) < 0)
		return rc;
	const struct config_policy *p = config_find_policy(cfg, r.risk_class);
	if (!p)
		p = config_default_policy(r.risk_class);
	json_t *rule = json_null();
	if (r.rule)
		rule = json_pack("{s:s, s:i, s:i, s:s?}", "name", r.rule, "index", r.rule_index,
		                 "line", r.rule_line, "config", cfg->path);
	*ret_doc = json_pack("{s:s, s:i, s:s, s:o, s:o, s:o}", "project", slug, "model_version",
	                     version, "risk_class", r.risk_class, "rule", rule, "policy",
	                     classify_policy_json(p), "frameworks", required_frameworks(p, model));
	json_decref(model);
	return 0;
}
