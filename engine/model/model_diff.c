/* SPDX-License-Identifier: Apache-2.0 */
/* Differences between two model versions, element by element. */
#include <stdlib.h>
#include <string.h>

#include "engine/model/model.h"

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

static void sort_strings(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **items = ts_calloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	qsort(items, n, sizeof(*items), cmp_strings);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
}

/* id -> element (borrowed). */
static json_t *index_by_id(const json_t *model, const char *key)
{
	json_t *idx = json_object();
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(model, key), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		if (id)
			json_object_set(idx, id, e);
	}
	return idx;
}

/* Names of the fields that differ; objects named in nested one level down
 * ("properties.internet_facing"). */
static void changed_fields(const json_t *a, const json_t *b, const char *prefix, json_t *out)
{
	json_t *keys = json_object();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)a, k, v) {
		json_object_set_new(keys, k, json_true());
	}
	json_object_foreach ((json_t *)b, k, v) {
		json_object_set_new(keys, k, json_true());
	}
	json_object_foreach (keys, k, v) {
		json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
		if (x && y && json_equal(x, y))
			continue;
		bool nested = !prefix && (strcmp(k, "properties") == 0 || strcmp(k, "code") == 0) &&
		              (!x || json_is_object(x)) && (!y || json_is_object(y));
		if (nested) {
			json_t *empty = json_object();
			changed_fields(x ? x : empty, y ? y : empty, k, out);
			json_decref(empty);
		} else if (prefix) {
			char *name = ts_asprintf("%s.%s", prefix, k);
			json_array_append_new(out, json_string(name));
			free(name);
		} else {
			json_array_append_new(out, json_string(k));
		}
	}
	json_decref(keys);
}

static json_t *diff_kind(const json_t *old_model, const json_t *new_model, const char *key)
{
	json_t *a = index_by_id(old_model, key);
	json_t *b = index_by_id(new_model, key);
	json_t *added = json_array(), *removed = json_array(), *changed = json_array();
	const char *id;
	json_t *e;
	json_object_foreach (a, id, e) {
		json_t *other = json_object_get(b, id);
		if (!other) {
			json_array_append_new(removed, json_string(id));
			continue;
		}
		if (json_equal(e, other))
			continue;
		json_t *fields = json_array();
		changed_fields(e, other, NULL, fields);
		sort_strings(fields);
		json_array_append_new(changed, json_pack("{s:s, s:o}", "id", id, "fields", fields));
	}
	json_object_foreach (b, id, e) {
		if (!json_object_get(a, id))
			json_array_append_new(added, json_string(id));
	}
	sort_strings(added);
	sort_strings(removed);
	/* changed entries are objects: sort them by id through a keyed copy */
	json_t *by_id = json_object();
	size_t i;
	json_array_foreach (changed, i, e) {
		json_object_set(by_id, json_string_value(json_object_get(e, "id")), e);
	}
	json_t *ids = json_array();
	json_object_foreach (by_id, id, e) {
		json_array_append_new(ids, json_string(id));
	}
	sort_strings(ids);
	json_t *sorted = json_array();
	json_array_foreach (ids, i, e) {
		json_array_append(sorted, json_object_get(by_id, json_string_value(e)));
	}
	json_decref(ids);
	json_decref(by_id);
	json_decref(changed);
	json_decref(a);
	json_decref(b);
	return json_pack("{s:o, s:o, s:o}", "added", added, "removed", removed, "changed", sorted);
}

int model_diff(const json_t *old_model, const json_t *new_model, json_t **ret_diff)
{
	static const char *const kinds[] = {"components",  "flows",   "trust_zones",
	                                    "data_assets", "threats", "countermeasures"};
	json_t *diff = json_object();
	for (size_t i = 0; i < TS_ARRAY_SIZE(kinds); i++)
		json_object_set_new(diff, kinds[i], diff_kind(old_model, new_model, kinds[i]));
	json_t *project = json_array();
	json_t *empty = json_object();
	json_t *pa = json_object_get(old_model, "project");
	json_t *pb = json_object_get(new_model, "project");
	changed_fields(pa ? pa : empty, pb ? pb : empty, NULL, project);
	json_decref(empty);
	sort_strings(project);
	json_object_set_new(diff, "project", project);
	*ret_diff = diff;
	return 0;
}

bool model_diff_empty(const json_t *diff)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)diff, k, v) {
		if (json_is_array(v)) {
			if (json_array_size(v))
				return false;
			continue;
		}
		if (json_array_size(json_object_get(v, "added")) ||
		    json_array_size(json_object_get(v, "removed")) ||
		    json_array_size(json_object_get(v, "changed")))
			return false;
	}
	return true;
}
