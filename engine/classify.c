/* SPDX-License-Identifier: Apache-2.0 */
/* Ordered classification rules evaluated against a model with the expression language. */
#include "engine/classify.h"

#include <string.h>

#include "engine/expr.h"
#include "engine/model.h"

int classify_rank(const char *name)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	for (int i = 0; name && i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i + 1;
	return 0;
}

static const char *zone_of(const json_t *model, const char *component_id)
{
	json_t *c = model_component(model, component_id);
	return c ? json_string_value(json_object_get(c, "trust_zone")) : NULL;
}

void classify_annotate_model(json_t *model)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(model, "flows"), i, f)
	{
		const char *zs = zone_of(model, json_string_value(json_object_get(f, "source")));
		const char *zd =
			zone_of(model, json_string_value(json_object_get(f, "destination")));
		bool crosses = (zs || zd) && !(zs && zd && strcmp(zs, zd) == 0);
		json_t *props = json_object_get(f, "properties");
		if (!json_is_object(props)) {
			props = json_object();
			json_object_set_new(f, "properties", props);
		}
		json_object_set_new(props, "crosses_trust_boundary", json_boolean(crosses));
	}
}

int classify_model(const struct config *cfg, json_t *model, struct classify_result *ret,
		   struct ts_err *err)
{
	ret->risk_class = CLASSIFY_DEFAULT_CLASS;
	ret->rule = NULL;
	ret->rule_line = 0;
	ret->rule_index = -1;
	struct expr_env env = {.model = model};
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct config_rule *r = &cfg->rules[i];
		struct expr *e = NULL;
		struct ts_err perr = {0};
		if (expr_parse(r->when, &e, &perr) < 0)
			return ts_err_set(err, EX_CONFIG, "%s:%d: classification rule '%s': when: %s",
					  cfg->path ? cfg->path : "(config)", r->line, r->name,
					  perr.msg);
		bool hit = false;
		int rc = expr_eval_bool(e, &env, &hit, &perr);
		expr_free(e);
		if (rc < 0)
			return ts_err_set(err, EX_DATAERR, "%s:%d: classification rule '%s': %s",
					  cfg->path ? cfg->path : "(config)", r->line, r->name,
					  perr.msg);
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
