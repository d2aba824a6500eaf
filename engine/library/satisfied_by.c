/* SPDX-License-Identifier: Apache-2.0 */
/* The satisfied-by rule: which component makes a countermeasure unnecessary
 * for another one (struct lib_satisfied_by), the one place generation asks. */
#include <stdbool.h>
#include <string.h>

#include "engine/expr/expr.h"
#include "engine/library/library.h"
#include "engine/model/model.h"

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *component_by_id(json_t *model, const struct expr_index *index, const char *id)
{
	return index ? expr_index_component(index, id) : model_component(model, id);
}

static bool is_provider_type(const struct lib_satisfied_by *sb, const char *type)
{
	for (size_t k = 0; type && k < sb->n_provider_types; k++)
		if (strcmp(type, sb->provider_types[k]) == 0)
			return true;
	return false;
}

/* The other end of flow f when it runs in the direction sb asks for, seen from
 * self; NULL when it does not (or loops back to self). */
static const char *other_end(const struct lib_satisfied_by *sb, const json_t *f, const char *self)
{
	const char *src = jstr(f, "source"), *dst = jstr(f, "destination");
	if (!src || !dst)
		return NULL;
	const char *other = NULL;
	if (strcmp(dst, self) == 0 && sb->relation != LIB_RELATION_BEHIND)
		other = src;
	else if (strcmp(src, self) == 0 && sb->relation != LIB_RELATION_IN_FRONT)
		other = dst;
	if (other && strcmp(other, self) == 0)
		return NULL;
	return other;
}

int library_find_provider(const struct lib_countermeasure *cm, json_t *model,
                          const struct expr_index *index, json_t *component, json_t **ret_provider,
                          struct ts_err *err)
{
	return library_find_provider_tracked(cm, model, index, NULL, NULL, component, ret_provider,
	                                     err);
}

int library_find_provider_tracked(const struct lib_countermeasure *cm, json_t *model,
                                  const struct expr_index *index, struct expr_memo *memo,
                                  const struct expr_deps *deps, json_t *component,
                                  json_t **ret_provider, struct ts_err *err)
{
	const struct lib_satisfied_by *sb = cm->satisfied_by;
	const char *self = jstr(component, "id");
	if (!sb || !self)
		return 0;
	/* With an index only the flows touching the component are visited, so a
	 * generation stays linear in the size of the model. */
	json_t *flows = index ? expr_index_flows_of(index, self) : json_object_get(model, "flows");
	json_t *best = NULL;
	const char *best_id = NULL, *best_flow = NULL;
	size_t i;
	json_t *f;
	json_array_foreach (flows, i, f) {
		const char *other = other_end(sb, f, self);
		if (!other)
			continue;
		if (deps)
			deps->read(deps->arg, other, strlen(other));
		json_t *p = component_by_id(model, index, other);
		if (!is_provider_type(sb, jstr(p, "type")))
			continue;
		const char *fid = jstr(f, "id");
		if (!fid)
			fid = "";
		/* Only a candidate that would win is evaluated: the smallest provider
		 * id, then flow id, whatever order the flows come in. */
		if (best_id) {
			int c = strcmp(other, best_id);
			if (c > 0 || (c == 0 && strcmp(fid, best_flow) >= 0))
				continue;
		}
		if (sb->condition) {
			struct expr_env env = {
			    .component = component,
			    .flow = f,
			    .source = component_by_id(model, index, jstr(f, "source")),
			    .destination = component_by_id(model, index, jstr(f, "destination")),
			    .model = model,
			    .index = index,
			    .memo = memo,
			    .deps = deps};
			bool ok = false;
			struct ts_err e = {0};
			if (expr_eval_bool(sb->condition, &env, &ok, &e) < 0)
				return ts_err_set(err, TS_E_INVALID,
				                  "%s: %s.satisfied_by.condition (for '%s'): %s",
				                  cm->file, cm->path, self, e.msg);
			if (!ok)
				continue;
		}
		best = p;
		best_id = other;
		best_flow = fid;
	}
	if (!best)
		return 0;
	*ret_provider = best;
	return 1;
}
