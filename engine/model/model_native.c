/* SPDX-License-Identifier: Apache-2.0 */
/* The native model document: its field tables, validation with paths, the
 * canonical (normalised) form and its hash, and lookups by id. */
#include "engine/model/model_native.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonpath.h"

bool model_id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
		if (!ok)
			return false;
	}
	return n >= 1 && n <= MODEL_MAX_ID;
}

/* ------------------------------------------------------------- validation */

enum ftype {
	F_STRING,
	F_ID,       /* string matching the id syntax */
	F_LEVEL,    /* integer 0..100 */
	F_PERCENT,  /* number 0..100 */
	F_STRLIST,  /* array of strings */
	F_IDLIST,   /* array of ids */
	F_INTLIST,  /* array of positive integers */
	F_OBJECT,   /* any object (checked by the caller) */
	F_ARRAY,    /* any array (checked by the caller) */
	F_PROPS,    /* properties object: typed known names, simple extras */
	F_SEVERITY, /* critical|high|medium|low */
	F_LIKELY,   /* high|medium|low */
	F_STRIDE,   /* letters of STRIDE */
};

struct field {
	const char *name;
	enum ftype type;
	bool required;
};

struct vctx {
	struct model_msgs *m;
	const struct model_typeinfo *ti;
	const json_t *srcmap; /* NULL for native documents */
	json_t *ids[6];       /* per kind: id -> element index (borrowed paths via index) */
};

enum kind { K_ZONE, K_COMPONENT, K_FLOW, K_ASSET, K_THREAT, K_COUNTERMEASURE, K_COUNT };

static const char *kind_key(enum kind k)
{
	static const char *const keys[K_COUNT] = {"trust_zones", "components", "flows",
	                                          "data_assets", "threats",    "countermeasures"};
	return keys[k];
}

/* The path of element i of a kind: the source file's path for converted documents. */
static void elem_path(struct vctx *v, struct jsonpath *p, enum kind k, size_t i)
{
	const char *src = NULL;
	if (v->srcmap)
		src = json_string_value(json_array_get(json_object_get(v->srcmap, kind_key(k)), i));
	if (src) {
		jsonpath_init(p, src);
		return;
	}
	jsonpath_init(p, NULL);
	jsonpath_key(p, kind_key(k));
	jsonpath_index(p, i);
}

static const char *const classifications[] = {"public", "internal", "confidential", "restricted",
                                              NULL};
static const char *const severities[] = {"critical", "high", "medium", "low", NULL};
static const char *const likelihoods[] = {"high", "medium", "low", NULL};
static const char *const component_bools[] = {"internet_facing",     "handles_pii",
                                              "handles_payment",     "handles_health",
                                              "authenticates_users", "stores_credentials",
                                              "tls_terminating",     "multi_tenant",
                                              "runs_untrusted_code", NULL};
static const char *const flow_bools[] = {"encrypted", "authenticated", NULL};

static void check_string_list(struct vctx *v, const json_t *val, struct jsonpath *p, bool ids)
{
	if (!json_is_array(val)) {
		model_msg_error(v->m, jsonpath_str(p), "expected an array of strings, got %s",
		                model_json_type_name(val));
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach (val, i, e) {
		size_t old = jsonpath_index(p, i);
		if (!json_is_string(e))
			model_msg_error(v->m, jsonpath_str(p), "expected a string, got %s",
			                model_json_type_name(e));
		else if (ids && !model_id_valid(json_string_value(e)))
			model_msg_error(v->m, jsonpath_str(p),
			                "invalid id '%s': use 1 to 128 of A-Z a-z 0-9 _ . : -",
			                json_string_value(e));
		jsonpath_pop(p, old);
	}
}

/* Properties: the known names of the kind are typed; others may be a string,
 * number, boolean or list of strings, so teams can write their own conditions. */
static void check_props(struct vctx *v, const json_t *props, struct jsonpath *p, enum kind k)
{
	if (!json_is_object(props)) {
		model_msg_error(v->m, jsonpath_str(p), "expected an object, got %s",
		                model_json_type_name(props));
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach ((json_t *)props, key, val) {
		size_t old = jsonpath_key(p, key);
		const char *path = jsonpath_str(p);
		bool is_bool = (k == K_COMPONENT && model_in_list(key, component_bools)) ||
		               (k == K_FLOW && model_in_list(key, flow_bools));
		if (is_bool) {
			if (!json_is_boolean(val))
				model_msg_error(v->m, path, "expected a boolean, got %s",
				                model_json_type_name(val));
		} else if ((k == K_COMPONENT || k == K_ASSET) &&
		           strcmp(key, "data_classification") == 0) {
			if (!json_is_string(val) ||
			    !model_in_list(json_string_value(val), classifications))
				model_msg_error(v->m, path,
				                "expected one of public, internal, confidential, "
				                "restricted");
		} else if (k == K_FLOW && strcmp(key, "data") == 0) {
			check_string_list(v, val, p, false);
		} else if (k == K_FLOW && strcmp(key, "crosses_trust_boundary") == 0) {
			model_msg_error(
			    v->m, path,
			    "computed from the trust zones of the endpoints; remove it");
		} else if (json_is_array(val)) {
			check_string_list(v, val, p, false);
		} else if (!json_is_string(val) && !json_is_number(val) && !json_is_boolean(val)) {
			model_msg_error(v->m, path,
			                "expected a string, number, boolean or list of strings, "
			                "got %s",
			                model_json_type_name(val));
		}
		jsonpath_pop(p, old);
	}
}

/* A string field, with the syntax its type adds (id, severity, likelihood,
 * STRIDE letters; a name must not be empty). */
static void check_string_value(struct vctx *v, const struct field *f, const json_t *val,
                               const char *path)
{
	if (!json_is_string(val)) {
		model_msg_error(v->m, path, "expected a string, got %s", model_json_type_name(val));
		return;
	}
	const char *s = json_string_value(val);
	if (f->type == F_ID && !model_id_valid(s))
		model_msg_error(v->m, path, "invalid id '%s': use 1 to 128 of A-Z a-z 0-9 _ . : -",
		                s);
	else if (f->type == F_SEVERITY && !model_in_list(s, severities))
		model_msg_error(v->m, path, "expected one of critical, high, medium, low, got '%s'",
		                s);
	else if (f->type == F_LIKELY && !model_in_list(s, likelihoods))
		model_msg_error(v->m, path, "expected one of high, medium, low, got '%s'", s);
	else if (f->type == F_STRIDE && strspn(s, "STRIDE") != strlen(s))
		model_msg_error(v->m, path, "expected letters of STRIDE (e.g. \"ST\"), got '%s'",
		                s);
	else if (f->type == F_STRING && strcmp(f->name, "name") == 0 && !*s)
		model_msg_error(v->m, path, "must not be empty");
}

/* An array of positive integers (CWE numbers); p is the array's path. */
static void check_int_list(struct vctx *v, const json_t *val, struct jsonpath *p)
{
	if (!json_is_array(val)) {
		model_msg_error(v->m, jsonpath_str(p), "expected an array of integers, got %s",
		                model_json_type_name(val));
		return;
	}
	size_t j;
	json_t *e;
	json_array_foreach (val, j, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1) {
			size_t o2 = jsonpath_index(p, j);
			model_msg_error(v->m, jsonpath_str(p), "expected a positive integer");
			jsonpath_pop(p, o2);
		}
	}
}

/* The value of field f of an element of kind k; p is the value's path. */
static void check_value(struct vctx *v, const struct field *f, const json_t *val,
                        struct jsonpath *p, enum kind k)
{
	const char *path = jsonpath_str(p);
	switch (f->type) {
	case F_STRING:
	case F_ID:
	case F_SEVERITY:
	case F_LIKELY:
	case F_STRIDE:
		check_string_value(v, f, val, path);
		break;
	case F_LEVEL:
		if (!json_is_integer(val) || json_integer_value(val) < 0 ||
		    json_integer_value(val) > 100)
			model_msg_error(v->m, path, "expected an integer from 0 to 100");
		break;
	case F_PERCENT:
		if (!json_is_number(val) || json_number_value(val) < 0 ||
		    json_number_value(val) > 100)
			model_msg_error(v->m, path, "expected a number from 0 to 100");
		break;
	case F_STRLIST:
	case F_IDLIST:
		check_string_list(v, val, p, f->type == F_IDLIST);
		break;
	case F_INTLIST:
		check_int_list(v, val, p);
		break;
	case F_OBJECT:
		if (!json_is_object(val))
			model_msg_error(v->m, path, "expected an object, got %s",
			                model_json_type_name(val));
		break;
	case F_ARRAY:
		if (!json_is_array(val))
			model_msg_error(v->m, path, "expected an array, got %s",
			                model_json_type_name(val));
		break;
	case F_PROPS:
		check_props(v, val, p, k);
		break;
	}
}

/* Most fields of one kind of object. */
#define FIELDS_MAX 16

/* Checks obj against fields (at most FIELDS_MAX): unknown keys, missing
 * required ones, and types. */
static void check_fields(struct vctx *v, const json_t *obj, struct jsonpath *p,
                         const struct field *fields, size_t n, enum kind k)
{
	if (!json_is_object(obj)) {
		model_msg_error(v->m, jsonpath_str(p), "expected an object, got %s",
		                model_json_type_name(obj));
		return;
	}
	/* One walk over the members: the unknown ones reported in the
	 * object's order, the known ones taken for the checks below. */
	assert(n <= FIELDS_MAX);
	json_t *vals[FIELDS_MAX] = {NULL};
	const char *key;
	json_t *member;
	json_object_foreach ((json_t *)obj, key, member) {
		size_t i = 0;
		while (i < n && strcmp(fields[i].name, key) != 0)
			i++;
		if (i < n) {
			vals[i] = member;
			continue;
		}
		size_t old = jsonpath_key(p, key);
		model_msg_error(v->m, jsonpath_str(p), "unknown field '%s'", key);
		jsonpath_pop(p, old);
	}
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		json_t *val = vals[i];
		if (!val) {
			if (f->required)
				model_msg_error(v->m, jsonpath_str(p),
				                "missing required field '%s'", f->name);
			continue;
		}
		size_t old = jsonpath_key(p, f->name);
		check_value(v, f, val, p, k);
		jsonpath_pop(p, old);
	}
}

static const struct field project_fields[] = {
    {"name", F_STRING, true},
    {"description", F_STRING, false},
    {"owner", F_STRING, false},
    {"compliance", F_IDLIST, false},
};
static const struct field zone_fields[] = {
    {"id", F_ID, true},
    {"name", F_STRING, true},
    {"trust_level", F_LEVEL, true},
    {"description", F_STRING, false},
};
static const struct field component_fields[] = {
    {"id", F_ID, true},         {"type", F_ID, true},           {"name", F_STRING, true},
    {"trust_zone", F_ID, true}, {"parent", F_ID, false},        {"description", F_STRING, false},
    {"tags", F_STRLIST, false}, {"properties", F_PROPS, false}, {"code", F_OBJECT, false},
};
static const struct field code_fields[] = {
    {"paths", F_STRLIST, false},
    {"urls", F_STRLIST, false},
};
static const struct field flow_fields[] = {
    {"id", F_ID, true},          {"source", F_ID, true},
    {"destination", F_ID, true}, {"protocol", F_STRING, false},
    {"name", F_STRING, false},   {"description", F_STRING, false},
    {"tags", F_STRLIST, false},  {"properties", F_PROPS, false},
};
static const struct field asset_fields[] = {
    {"id", F_ID, true},
    {"name", F_STRING, true},
    {"classification", F_STRING, false},
    {"description", F_STRING, false},
    {"properties", F_PROPS, false},
};
static const struct field threat_fields[] = {
    {"id", F_ID, true},
    {"title", F_STRING, true},
    {"description", F_STRING, false},
    {"stride", F_STRIDE, false},
    {"categories", F_STRLIST, false},
    {"cwe", F_INTLIST, false},
    {"severity", F_SEVERITY, false},
    {"likelihood", F_LIKELY, false},
    {"origin", F_STRING, false},
    {"state", F_STRING, false},
    {"mitigation", F_STRING, false},
    {"applies_to", F_ARRAY, false},
    {"properties", F_PROPS, false},
};
static const struct field applies_fields[] = {
    {"component", F_ID, false},
    {"flow", F_ID, false},
    {"state", F_STRING, false},
    {"countermeasures", F_ARRAY, false},
};
static const struct field applies_cm_fields[] = {
    {"id", F_ID, true},
    {"state", F_STRING, false},
};
static const struct field countermeasure_fields[] = {
    {"id", F_ID, true},
    {"title", F_STRING, true},
    {"description", F_STRING, false},
    {"origin", F_STRING, false},
    {"risk_reduction", F_PERCENT, false},
    {"threats", F_IDLIST, false},
    {"properties", F_PROPS, false},
};
static const struct field root_fields[] = {
    {"$schema", F_STRING, false},        {"format", F_STRING, false},
    {"project", F_OBJECT, true},         {"trust_zones", F_ARRAY, false},
    {"components", F_ARRAY, true},       {"flows", F_ARRAY, false},
    {"data_assets", F_ARRAY, false},     {"threats", F_ARRAY, false},
    {"countermeasures", F_ARRAY, false},
};

static const struct field *kind_fields(enum kind k, size_t *ret_n)
{
	switch (k) {
	case K_ZONE:
		*ret_n = TS_ARRAY_SIZE(zone_fields);
		return zone_fields;
	case K_COMPONENT:
		*ret_n = TS_ARRAY_SIZE(component_fields);
		return component_fields;
	case K_FLOW:
		*ret_n = TS_ARRAY_SIZE(flow_fields);
		return flow_fields;
	case K_ASSET:
		*ret_n = TS_ARRAY_SIZE(asset_fields);
		return asset_fields;
	case K_THREAT:
		*ret_n = TS_ARRAY_SIZE(threat_fields);
		return threat_fields;
	case K_COUNTERMEASURE:
	case K_COUNT:
		break;
	}
	*ret_n = TS_ARRAY_SIZE(countermeasure_fields);
	return countermeasure_fields;
}

static const char *str_field(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Checks one reference: a string field of obj naming an id of kind target. */
static void check_ref(struct vctx *v, const json_t *obj, struct jsonpath *p, const char *field,
                      enum kind target, const char *what)
{
	const char *id = str_field(obj, field);
	if (!id || !model_id_valid(id) || json_object_get(v->ids[target], id))
		return;
	size_t old = jsonpath_key(p, field);
	model_msg_error(v->m, jsonpath_str(p), "unknown %s '%s'", what, id);
	jsonpath_pop(p, old);
}

/* Elements of one kind: their own fields and unique ids. */
static void check_elements(struct vctx *v, const json_t *arr, enum kind k)
{
	size_t n;
	const struct field *fields = kind_fields(k, &n);
	size_t i;
	json_t *e;
	json_array_foreach (arr, i, e) {
		struct jsonpath p;
		elem_path(v, &p, k, i);
		check_fields(v, e, &p, fields, n, k);
		const char *id = str_field(e, "id");
		if (!id || !model_id_valid(id))
			continue;
		json_t *prev = json_object_get(v->ids[k], id);
		if (prev) {
			struct jsonpath q;
			elem_path(v, &q, k, (size_t)json_integer_value(prev));
			size_t old = jsonpath_key(&p, "id");
			model_msg_error(v->m, jsonpath_str(&p), "duplicate id '%s' (also at %s)",
			                id, jsonpath_str(&q));
			jsonpath_pop(&p, old);
		} else {
			json_object_set_new(v->ids[k], id, json_integer((json_int_t)i));
		}
	}
}

static void check_component(struct vctx *v, const json_t *comps, const json_t *c, size_t i)
{
	struct jsonpath p;
	elem_path(v, &p, K_COMPONENT, i);
	if (!json_is_object(c))
		return;
	const char *type = str_field(c, "type");
	if (type && v->ti && v->ti->type_id && !v->ti->type_id(v->ti->ud, type)) {
		size_t old = jsonpath_key(&p, "type");
		model_msg_error(v->m, jsonpath_str(&p), "unknown component type '%s'", type);
		jsonpath_pop(&p, old);
	}
	check_ref(v, c, &p, "trust_zone", K_ZONE, "trust zone");
	check_ref(v, c, &p, "parent", K_COMPONENT, "parent component");
	const char *parent = str_field(c, "parent");
	const char *id = str_field(c, "id");
	if (parent && id) {
		/* Walk up at most n steps: a longer walk means a cycle. */
		size_t n = json_array_size(comps), steps = 0;
		const char *cur = parent;
		while (cur && steps <= n) {
			if (strcmp(cur, id) == 0) {
				size_t old = jsonpath_key(&p, "parent");
				model_msg_error(v->m, jsonpath_str(&p),
				                "parent chain of '%s' loops back to itself", id);
				jsonpath_pop(&p, old);
				break;
			}
			json_t *idx = json_object_get(v->ids[K_COMPONENT], cur);
			if (!idx)
				break;
			cur = str_field(json_array_get(comps, (size_t)json_integer_value(idx)),
			                "parent");
			steps++;
		}
	}
	json_t *code = json_object_get(c, "code");
	if (json_is_object(code)) {
		size_t old = jsonpath_key(&p, "code");
		check_fields(v, code, &p, code_fields, TS_ARRAY_SIZE(code_fields), K_COMPONENT);
		jsonpath_pop(&p, old);
	}
}

static void check_threat(struct vctx *v, const json_t *t, size_t i)
{
	struct jsonpath p;
	elem_path(v, &p, K_THREAT, i);
	json_t *applies = json_object_get(t, "applies_to");
	if (!json_is_array(applies))
		return;
	size_t old = jsonpath_key(&p, "applies_to");
	size_t j;
	json_t *a;
	json_array_foreach (applies, j, a) {
		size_t o2 = jsonpath_index(&p, j);
		check_fields(v, a, &p, applies_fields, TS_ARRAY_SIZE(applies_fields), K_THREAT);
		if (json_is_object(a)) {
			bool has_c = json_object_get(a, "component") != NULL;
			bool has_f = json_object_get(a, "flow") != NULL;
			if (has_c == has_f)
				model_msg_error(v->m, jsonpath_str(&p),
				                "expected exactly one of 'component' and 'flow'");
			check_ref(v, a, &p, "component", K_COMPONENT, "component");
			check_ref(v, a, &p, "flow", K_FLOW, "flow");
			json_t *cms = json_object_get(a, "countermeasures");
			size_t o3 = jsonpath_key(&p, "countermeasures");
			size_t k;
			json_t *cm;
			json_array_foreach (cms, k, cm) {
				size_t o4 = jsonpath_index(&p, k);
				check_fields(v, cm, &p, applies_cm_fields,
				             TS_ARRAY_SIZE(applies_cm_fields), K_THREAT);
				check_ref(v, cm, &p, "id", K_COUNTERMEASURE, "countermeasure");
				jsonpath_pop(&p, o4);
			}
			jsonpath_pop(&p, o3);
		}
		jsonpath_pop(&p, o2);
	}
	jsonpath_pop(&p, old);
}

static void check_countermeasure(struct vctx *v, const json_t *c, size_t i)
{
	struct jsonpath p;
	elem_path(v, &p, K_COUNTERMEASURE, i);
	json_t *threats = json_object_get(c, "threats");
	size_t old = jsonpath_key(&p, "threats");
	size_t j;
	json_t *t;
	json_array_foreach (threats, j, t) {
		const char *id = json_string_value(t);
		if (id && model_id_valid(id) && !json_object_get(v->ids[K_THREAT], id)) {
			size_t o2 = jsonpath_index(&p, j);
			model_msg_error(v->m, jsonpath_str(&p), "unknown threat '%s'", id);
			jsonpath_pop(&p, o2);
		}
	}
	jsonpath_pop(&p, old);
}

/* Validates a native document; errors go to v->m. */
static void validate_doc(struct vctx *v, const json_t *doc)
{
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	check_fields(v, doc, &p, root_fields, TS_ARRAY_SIZE(root_fields), K_COUNT);
	if (!json_is_object(doc))
		return;
	const char *format = str_field(doc, "format");
	if (format && strcmp(format, MODEL_FORMAT_ID) != 0) {
		size_t old = jsonpath_key(&p, "format");
		model_msg_error(v->m, jsonpath_str(&p), "unsupported format '%s' (expected %s)",
		                format, MODEL_FORMAT_ID);
		jsonpath_pop(&p, old);
	}
	json_t *project = json_object_get(doc, "project");
	if (json_is_object(project)) {
		size_t old = jsonpath_key(&p, "project");
		check_fields(v, project, &p, project_fields, TS_ARRAY_SIZE(project_fields),
		             K_COUNT);
		jsonpath_pop(&p, old);
	}
	json_t *arr[K_COUNT];
	for (int k = 0; k < K_COUNT; k++) {
		arr[k] = json_object_get(doc, kind_key((enum kind)k));
		if (!json_is_array(arr[k]))
			arr[k] = NULL;
		else
			check_elements(v, arr[k], (enum kind)k);
	}
	size_t i;
	json_t *e;
	json_array_foreach (arr[K_COMPONENT], i, e) {
		check_component(v, arr[K_COMPONENT], e, i);
	}
	json_array_foreach (arr[K_FLOW], i, e) {
		if (!json_is_object(e))
			continue;
		elem_path(v, &p, K_FLOW, i);
		check_ref(v, e, &p, "source", K_COMPONENT, "source component");
		check_ref(v, e, &p, "destination", K_COMPONENT, "destination component");
	}
	json_array_foreach (arr[K_ASSET], i, e) {
		const char *cls = str_field(e, "classification");
		if (cls && *cls && !model_in_list(cls, classifications)) {
			elem_path(v, &p, K_ASSET, i);
			jsonpath_key(&p, "classification");
			model_msg_error(v->m, jsonpath_str(&p),
			                "expected one of public, internal, confidential, "
			                "restricted, got '%s'",
			                cls);
		}
	}
	json_array_foreach (arr[K_THREAT], i, e) {
		if (json_is_object(e))
			check_threat(v, e, i);
	}
	json_array_foreach (arr[K_COUNTERMEASURE], i, e) {
		if (json_is_object(e))
			check_countermeasure(v, e, i);
	}
}

void model_native_validate(struct model_msgs *m, const struct model_typeinfo *ti,
                           const json_t *srcmap, const json_t *doc)
{
	struct vctx v = {.m = m, .ti = ti, .srcmap = srcmap};
	for (int k = 0; k < K_COUNT; k++)
		v.ids[k] = json_object();
	validate_doc(&v, doc);
	for (int k = 0; k < K_COUNT; k++)
		json_decref(v.ids[k]);
}

/* ---------------------------------------------------------- normalisation */

/* An item of an array being sorted: its sort key and place. */
struct sort_item {
	const char *key; /* "" when the item has none */
	json_t *v;
	size_t at;
};

/* By key, then by place: the order a stable sort gives. */
static int sort_item_cmp(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->at < y->at ? -1 : (x->at > y->at);
}

/* Sorts arr in place by the string of each item (by_id: of its "id"
 * member); with unique set, drops the items equal to the one before. The
 * keys are taken once, and an array already in order is left alone. */
static void sort_array(json_t *arr, bool by_id, bool unique)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	struct sort_item *items = ts_malloc(n * sizeof(*items));
	bool in_order = true;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i);
		const char *k = by_id ? str_field(e, "id") : json_string_value(e);
		items[i] = (struct sort_item){k ? k : "", e, i};
		if (i > 0 && in_order) {
			int c = strcmp(items[i - 1].key, items[i].key);
			in_order = unique ? c < 0 : c <= 0;
		}
	}
	if (in_order) {
		free(items);
		return;
	}
	qsort(items, n, sizeof(*items), sort_item_cmp);
	for (size_t i = 0; i < n; i++)
		json_incref(items[i].v);
	json_array_clear(arr);
	/* compared with the last one kept (arr holds it): a dropped one is freed */
	const char *kept = NULL;
	for (size_t i = 0; i < n; i++) {
		if (unique && kept && strcmp(kept, items[i].key) == 0) {
			json_decref(items[i].v);
		} else {
			json_array_append_new(arr, items[i].v);
			kept = items[i].key;
		}
	}
	free(items);
}

static void set_default(json_t *obj, const char *key, json_t *value)
{
	if (!json_object_get(obj, key))
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}

/* Changed in place rather than copied: a deep copy of a large model
 * (jansson checks every copied container for cycles) took a third of its
 * parse. */
json_t *model_native_normalise(json_t *doc)
{
	json_t *out = doc;
	json_object_del(out, "$schema");
	json_object_set_new(out, "format", json_string(MODEL_FORMAT_ID));
	json_t *project = json_object_get(out, "project");
	set_default(project, "description", json_string(""));
	set_default(project, "compliance", json_array());
	sort_array(json_object_get(project, "compliance"), false, true);
	for (int k = 0; k < K_COUNT; k++) {
		set_default(out, kind_key((enum kind)k), json_array());
		json_t *arr = json_object_get(out, kind_key((enum kind)k));
		size_t i;
		json_t *e;
		json_array_foreach (arr, i, e) {
			switch ((enum kind)k) {
			case K_COMPONENT:
				set_default(e, "tags", json_array());
				set_default(e, "properties", json_object());
				set_default(e, "code", json_object());
				json_t *code = json_object_get(e, "code");
				set_default(code, "paths", json_array());
				set_default(code, "urls", json_array());
				sort_array(json_object_get(e, "tags"), false, true);
				break;
			case K_FLOW:
				set_default(e, "protocol", json_string(""));
				set_default(e, "properties", json_object());
				sort_array(json_object_get(e, "tags"), false, true);
				break;
			case K_ASSET:
				set_default(e, "classification", json_string(""));
				set_default(e, "properties", json_object());
				break;
			case K_ZONE:
			case K_THREAT:
			case K_COUNTERMEASURE:
			case K_COUNT:
				break;
			}
		}
		sort_array(arr, true, false);
	}
	return out;
}

/* ---------------------------------------------------------------- lookups */

static json_t *find_by_id(const json_t *model, const char *key, const char *id)
{
	size_t i;
	json_t *e;
	if (!id)
		return NULL;
	json_array_foreach (json_object_get(model, key), i, e) {
		const char *eid = str_field(e, "id");
		if (eid && strcmp(eid, id) == 0)
			return e;
	}
	return NULL;
}

json_t *model_component(const json_t *model, const char *id)
{
	return find_by_id(model, "components", id);
}

json_t *model_flow(const json_t *model, const char *id)
{
	return find_by_id(model, "flows", id);
}

json_t *model_trust_zone(const json_t *model, const char *id)
{
	return find_by_id(model, "trust_zones", id);
}
