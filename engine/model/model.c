/* SPDX-License-Identifier: Apache-2.0 */
/* The native model: parse with bounds, detect the format, validate, normalise,
 * hash, store as a version and load back. */
#include "engine/model/model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/jsonpath.h"

/* ---------------------------------------------------------------- formats */

static const char *const format_names[] = {
    [MODEL_FORMAT_AUTO] = "auto",
    [MODEL_FORMAT_NATIVE] = "native",
    [MODEL_FORMAT_OTM] = "otm",
    [MODEL_FORMAT_THREATDRAGON] = "threatdragon",
};

int model_format_from_name(const char *name, enum model_format *ret)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(format_names); i++) {
		if (name && strcmp(name, format_names[i]) == 0) {
			*ret = (enum model_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *model_format_name(enum model_format f)
{
	if ((size_t)f < TS_ARRAY_SIZE(format_names))
		return format_names[f];
	return "unknown";
}

/* --------------------------------------------------------------- messages */

static void msg_add(json_t *list, const char *file, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void msg_add(json_t *list, const char *file, const char *path, const char *fmt, va_list ap)
{
	struct ts_buf b = {0};
	char text[1024];
	vsnprintf(text, sizeof(text), fmt, ap);
	ts_buf_printf(&b, "%s: %s: %s", file, path ? path : "$", text);
	json_array_append_new(list, json_string(b.data));
	ts_buf_free(&b);
}

void model_msg_error(struct model_msgs *m, const char *path, const char *fmt, ...)
{
	if (json_array_size(m->errors) >= MODEL_MAX_ERRORS) {
		m->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	msg_add(m->errors, m->file, path, fmt, ap);
	va_end(ap);
}

void model_msg_warning(struct model_msgs *m, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_add(m->warnings, m->file, path, fmt, ap);
	va_end(ap);
}

/* Moves the collected errors into err, one per line. */
static int msgs_fail(struct model_msgs *m, struct ts_err *err)
{
	struct ts_buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach (m->errors, i, e) {
		if (i)
			ts_buf_puts(&b, "\n");
		ts_buf_puts(&b, json_string_value(e));
	}
	if (m->dropped)
		ts_buf_printf(&b, "\n%s: %zu more errors not shown", m->file, m->dropped);
	ts_err_set(err, TS_E_INVALID, "%s", b.data ? b.data : "");
	ts_buf_free(&b);
	return -EINVAL;
}

/* ------------------------------------------------------------ small tools */

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

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

const char *model_map_type(const struct model_typeinfo *ti, const char *format, const char *foreign)
{
	if (!ti || !foreign || !*foreign)
		return NULL;
	if (ti->known && ti->known(ti->ud, foreign))
		return foreign;
	if (ti->map)
		return ti->map(ti->ud, format, foreign);
	return NULL;
}

const char *model_type_kind(const struct model_typeinfo *ti, const char *type)
{
	if (ti && ti->kind)
		return ti->kind(ti->ud, type);
	return NULL;
}

/* ------------------------------------------------------- bounded parsing */

/* Finds nesting deeper than MODEL_MAX_DEPTH before jansson builds the tree.
 * Only brackets outside strings count; malformed input is left to jansson. */
static bool depth_exceeded(const char *data, size_t len, int *ret_line, int *ret_col)
{
	int depth = 0, line = 1, col = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		col++;
		if (c == '\n') {
			line++;
			col = 0;
		}
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > MODEL_MAX_DEPTH) {
				*ret_line = line;
				*ret_col = col;
				return true;
			}
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return false;
}

/* Every string and key at most MODEL_MAX_STRING bytes. */
static void check_strings(struct model_msgs *m, const json_t *v, struct jsonpath *p)
{
	if (json_is_string(v)) {
		if (json_string_length(v) > MODEL_MAX_STRING)
			model_msg_error(m, jsonpath_str(p), "string of %zu bytes exceeds %d bytes",
			                json_string_length(v), MODEL_MAX_STRING);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach ((json_t *)v, k, c) {
			size_t old = jsonpath_key(p, k);
			if (strlen(k) > MODEL_MAX_STRING)
				model_msg_error(m, jsonpath_str(p),
				                "key of %zu bytes exceeds %d bytes", strlen(k),
				                MODEL_MAX_STRING);
			else
				check_strings(m, c, p);
			jsonpath_pop(p, old);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach (v, i, c) {
			size_t old = jsonpath_index(p, i);
			check_strings(m, c, p);
			jsonpath_pop(p, old);
		}
	}
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
		                json_type_name(val));
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach (val, i, e) {
		size_t old = jsonpath_index(p, i);
		if (!json_is_string(e))
			model_msg_error(v->m, jsonpath_str(p), "expected a string, got %s",
			                json_type_name(e));
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
		                json_type_name(props));
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach ((json_t *)props, key, val) {
		size_t old = jsonpath_key(p, key);
		const char *path = jsonpath_str(p);
		bool is_bool = (k == K_COMPONENT && in_list(key, component_bools)) ||
		               (k == K_FLOW && in_list(key, flow_bools));
		if (is_bool) {
			if (!json_is_boolean(val))
				model_msg_error(v->m, path, "expected a boolean, got %s",
				                json_type_name(val));
		} else if ((k == K_COMPONENT || k == K_ASSET) &&
		           strcmp(key, "data_classification") == 0) {
			if (!json_is_string(val) ||
			    !in_list(json_string_value(val), classifications))
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
			                json_type_name(val));
		}
		jsonpath_pop(p, old);
	}
}

/* Checks obj against fields: unknown keys, missing required ones, and types. */
static void check_fields(struct vctx *v, const json_t *obj, struct jsonpath *p,
                         const struct field *fields, size_t n, enum kind k)
{
	if (!json_is_object(obj)) {
		model_msg_error(v->m, jsonpath_str(p), "expected an object, got %s",
		                json_type_name(obj));
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach ((json_t *)obj, key, val) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(fields[i].name, key) == 0;
		if (!found) {
			size_t old = jsonpath_key(p, key);
			model_msg_error(v->m, jsonpath_str(p), "unknown field '%s'", key);
			jsonpath_pop(p, old);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		val = json_object_get(obj, f->name);
		if (!val) {
			if (f->required)
				model_msg_error(v->m, jsonpath_str(p),
				                "missing required field '%s'", f->name);
			continue;
		}
		size_t old = jsonpath_key(p, f->name);
		const char *path = jsonpath_str(p);
		switch (f->type) {
		case F_STRING:
		case F_ID:
		case F_SEVERITY:
		case F_LIKELY:
		case F_STRIDE: {
			if (!json_is_string(val)) {
				model_msg_error(v->m, path, "expected a string, got %s",
				                json_type_name(val));
				break;
			}
			const char *s = json_string_value(val);
			if (f->type == F_ID && !model_id_valid(s))
				model_msg_error(
				    v->m, path,
				    "invalid id '%s': use 1 to 128 of A-Z a-z 0-9 _ . : -", s);
			else if (f->type == F_SEVERITY && !in_list(s, severities))
				model_msg_error(
				    v->m, path,
				    "expected one of critical, high, medium, low, got '%s'", s);
			else if (f->type == F_LIKELY && !in_list(s, likelihoods))
				model_msg_error(v->m, path,
				                "expected one of high, medium, low, got '%s'", s);
			else if (f->type == F_STRIDE && strspn(s, "STRIDE") != strlen(s))
				model_msg_error(
				    v->m, path,
				    "expected letters of STRIDE (e.g. \"ST\"), got '%s'", s);
			else if (f->type == F_STRING && strcmp(f->name, "name") == 0 && !*s)
				model_msg_error(v->m, path, "must not be empty");
			break;
		}
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
		case F_INTLIST: {
			if (!json_is_array(val)) {
				model_msg_error(v->m, path, "expected an array of integers, got %s",
				                json_type_name(val));
				break;
			}
			size_t j;
			json_t *e;
			json_array_foreach (val, j, e) {
				if (!json_is_integer(e) || json_integer_value(e) < 1) {
					size_t o2 = jsonpath_index(p, j);
					model_msg_error(v->m, jsonpath_str(p),
					                "expected a positive integer");
					jsonpath_pop(p, o2);
				}
			}
			break;
		}
		case F_OBJECT:
			if (!json_is_object(val))
				model_msg_error(v->m, path, "expected an object, got %s",
				                json_type_name(val));
			break;
		case F_ARRAY:
			if (!json_is_array(val))
				model_msg_error(v->m, path, "expected an array, got %s",
				                json_type_name(val));
			break;
		case F_PROPS:
			check_props(v, val, p, k);
			break;
		}
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
	if (type && v->ti && v->ti->known && !v->ti->known(v->ti->ud, type)) {
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
static void validate(struct vctx *v, const json_t *doc)
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
		if (cls && *cls && !in_list(cls, classifications)) {
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

/* ---------------------------------------------------------- normalisation */

static int cmp_str_values(const void *a, const void *b)
{
	const char *x = json_string_value(*(json_t *const *)a);
	const char *y = json_string_value(*(json_t *const *)b);
	return strcmp(x ? x : "", y ? y : "");
}

static int cmp_ids(const void *a, const void *b)
{
	const char *x = str_field(*(json_t *const *)a, "id");
	const char *y = str_field(*(json_t *const *)b, "id");
	return strcmp(x ? x : "", y ? y : "");
}

/* Sorts arr in place with cmp; with unique set, drops equal neighbours. */
static void sort_array(json_t *arr, int (*cmp)(const void *, const void *), bool unique)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **items = ts_calloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	qsort(items, n, sizeof(*items), cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++) {
		if (unique && i > 0 && cmp(&items[i - 1], &items[i]) == 0)
			json_decref(items[i]);
		else
			json_array_append_new(arr, items[i]);
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

/* The canonical native form: every optional container present, defaults
 * filled, arrays of elements sorted by id, tag-like lists sorted and unique.
 * Steals doc and returns it, changed in place: a deep copy of a large model
 * (jansson checks every copied container for cycles) took a third of its
 * parse. */
static json_t *normalise(json_t *doc)
{
	json_t *out = doc;
	json_object_del(out, "$schema");
	json_object_set_new(out, "format", json_string(MODEL_FORMAT_ID));
	json_t *project = json_object_get(out, "project");
	set_default(project, "description", json_string(""));
	set_default(project, "compliance", json_array());
	sort_array(json_object_get(project, "compliance"), cmp_str_values, true);
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
				sort_array(json_object_get(e, "tags"), cmp_str_values, true);
				break;
			case K_FLOW:
				set_default(e, "protocol", json_string(""));
				set_default(e, "properties", json_object());
				sort_array(json_object_get(e, "tags"), cmp_str_values, true);
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
		sort_array(arr, cmp_ids, false);
	}
	return out;
}

char *model_canonical_dump(const json_t *model, char hash[65])
{
	char *s = json_dumps(model, JSON_SORT_KEYS | JSON_COMPACT);
	if (!s)
		abort(); /* only on out-of-memory for a valid tree */
	if (hash)
		ts_sha256_hex(s, strlen(s), hash);
	return s;
}

/* ---------------------------------------------------------------- parsing */

static enum model_format detect(const json_t *doc)
{
	if (!json_is_object(doc))
		return MODEL_FORMAT_AUTO;
	if (json_object_get(doc, "otmVersion"))
		return MODEL_FORMAT_OTM;
	if (json_object_get(json_object_get(doc, "detail"), "diagrams"))
		return MODEL_FORMAT_THREATDRAGON;
	if (json_object_get(doc, "format") || json_is_array(json_object_get(doc, "components")))
		return MODEL_FORMAT_NATIVE;
	return MODEL_FORMAT_AUTO;
}

int model_parse(const char *file_name, const char *data, size_t len, enum model_format fmt,
                bool strict, const struct model_typeinfo *ti, json_t **ret_model,
                json_t **ret_warnings, enum model_format *ret_detected, struct ts_err *err)
{
	struct model_msgs m = {.file = file_name, .errors = json_array(), .warnings = json_array()};
	json_t *doc = NULL, *native = NULL, *srcmap = NULL;
	int r = -EINVAL;
	if (len > MODEL_MAX_BYTES) {
		model_msg_error(&m, "$",
		                "document of %zu bytes exceeds the limit of %zu bytes (16 MiB)",
		                len, MODEL_MAX_BYTES);
		goto out;
	}
	int line = 0, col = 0;
	if (depth_exceeded(data, len, &line, &col)) {
		json_array_append_new(m.errors,
		                      json_sprintf("%s:%d:%d: nesting deeper than %d levels",
		                                   file_name, line, col, MODEL_MAX_DEPTH));
		goto out;
	}
	json_error_t jerr;
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		json_array_append_new(m.errors,
		                      json_sprintf("%s:%d:%d: invalid JSON: %s", file_name,
		                                   jerr.line, jerr.column, jerr.text));
		goto out;
	}
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	check_strings(&m, doc, &p);
	if (json_array_size(m.errors))
		goto out;
	enum model_format found = detect(doc);
	if (fmt == MODEL_FORMAT_AUTO) {
		if (found == MODEL_FORMAT_AUTO) {
			model_msg_error(
			    &m, "$",
			    "cannot tell the format (expected a native document with "
			    "\"format\": \"%s\", an OTM document with \"otmVersion\" or "
			    "a Threat Dragon v2 document with \"detail.diagrams\"); use "
			    "--format",
			    MODEL_FORMAT_ID);
			goto out;
		}
		fmt = found;
	}
	if (!json_is_object(doc)) {
		model_msg_error(&m, "$", "expected an object, got %s", json_type_name(doc));
		goto out;
	}
	switch (fmt) {
	case MODEL_FORMAT_OTM:
		model_from_otm(doc, ti, &m, &native, &srcmap);
		break;
	case MODEL_FORMAT_THREATDRAGON:
		model_from_threatdragon(doc, ti, &m, &native, &srcmap);
		break;
	case MODEL_FORMAT_NATIVE:
	case MODEL_FORMAT_AUTO:
		native = json_incref(doc);
		break;
	}
	/* Converter errors name source paths already; validating the converted
	 * result on top would repeat them in native terms. */
	if (json_array_size(m.errors))
		goto out;
	struct vctx v = {.m = &m, .ti = ti, .srcmap = srcmap};
	for (int k = 0; k < K_COUNT; k++)
		v.ids[k] = json_object();
	validate(&v, native);
	for (int k = 0; k < K_COUNT; k++)
		json_decref(v.ids[k]);
	if (strict) {
		size_t i;
		json_t *w;
		json_array_foreach (m.warnings, i, w) {
			if (json_array_size(m.errors) >= MODEL_MAX_ERRORS)
				m.dropped++;
			else
				json_array_append_new(
				    m.errors, json_sprintf("%s (--strict)", json_string_value(w)));
		}
	}
	if (json_array_size(m.errors))
		goto out;
	if (ret_model) {
		*ret_model = normalise(native);
		native = NULL;
	}
	if (ret_warnings) {
		*ret_warnings = m.warnings;
		m.warnings = NULL;
	}
	if (ret_detected)
		*ret_detected = fmt;
	r = 0;
out:
	if (r < 0)
		msgs_fail(&m, err);
	json_decref(m.errors);
	json_decref(m.warnings);
	json_decref(doc);
	json_decref(native);
	json_decref(srcmap);
	return r;
}

int model_parse_file(const char *path, enum model_format fmt, bool strict,
                     const struct model_typeinfo *ti, json_t **ret_model, json_t **ret_warnings,
                     enum model_format *ret_detected, struct ts_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = ts_read_file(path, MODEL_MAX_BYTES, &data, &len);
	if (r == -EFBIG)
		return ts_err_set(err, TS_E_INVALID,
		                  "%s: $: document exceeds the limit of %zu bytes (16 MiB)", path,
		                  MODEL_MAX_BYTES);
	if (r == -ENOENT)
		return ts_err_set(err, TS_E_NOTFOUND, "%s: no such file", path);
	if (r < 0)
		return ts_err_set(err, TS_E_NOTFOUND, "%s: cannot read: %s", path, strerror(-r));
	r = model_parse(path, data, len, fmt, strict, ti, ret_model, ret_warnings, ret_detected,
	                err);
	free(data);
	return r;
}

/* ------------------------------------------------------------------ store */

static const char SQL_LATEST[] = "SELECT version, content_hash FROM model_versions "
                                 "WHERE project_id = ?1 ORDER BY version DESC LIMIT 1";
static const char SQL_INSERT_VERSION[] =
    "INSERT INTO model_versions(project_id, version, content_hash, format, source_name, "
    "document, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_INSERT_ZONE[] =
    "INSERT INTO trust_zones(model_version_id, key, name, trust_level) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_INSERT_COMPONENT[] =
    "INSERT INTO components(model_version_id, key, type, name, trust_zone, parent, tags, "
    "properties, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_INSERT_FLOW[] =
    "INSERT INTO data_flows(model_version_id, key, source, destination, protocol, properties) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_INSERT_ASSET[] =
    "INSERT INTO data_assets(model_version_id, key, name, classification, properties) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_LOAD[] = "SELECT version, document FROM model_versions "
                               "WHERE project_id = ?1 AND version = ?2";
static const char SQL_LOAD_LATEST[] = "SELECT version, document FROM model_versions "
                                      "WHERE project_id = ?1 ORDER BY version DESC LIMIT 1";

/* Latest version and hash (hash may be NULL); version 0 when none. */
static int latest(struct store *s, int64_t project_id, int *ret_version, char hash[65],
                  struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LATEST);
	if (!st)
		return store_fail(s, "read latest model version", err);
	sqlite3_bind_int64(st, 1, project_id);
	int rc = sqlite3_step(st);
	*ret_version = 0;
	if (hash)
		hash[0] = '\0';
	if (rc == SQLITE_ROW) {
		*ret_version = sqlite3_column_int(st, 0);
		if (hash)
			snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
	} else if (rc != SQLITE_DONE) {
		return store_fail(s, "read latest model version", err);
	}
	sqlite3_reset(st);
	return 0;
}

int model_latest_version(struct store *s, int64_t project_id, int *ret_version, struct ts_err *err)
{
	return latest(s, project_id, ret_version, NULL, err);
}

/* Binds a JSON value as its compact text with sorted keys; dflt when absent. */
static void bind_json(sqlite3_stmt *st, int idx, const json_t *v, const char *dflt)
{
	if (!v) {
		sqlite3_bind_text(st, idx, dflt, -1, SQLITE_STATIC);
		return;
	}
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	sqlite3_bind_text(st, idx, s, -1, free);
}

/* Binds a string member; dflt (NULL: SQL NULL) when absent. */
static void bind_str(sqlite3_stmt *st, int idx, const json_t *obj, const char *key,
                     const char *dflt)
{
	const char *v = str_field(obj, key);
	if (!v)
		v = dflt;
	if (v)
		sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

static int insert_rows(struct store *s, int64_t mv, const json_t *model, struct ts_err *err)
{
	size_t i;
	json_t *e;
	sqlite3_stmt *st;
	json_array_foreach (json_object_get(model, "trust_zones"), i, e) {
		if (!(st = store_prepare(s, SQL_INSERT_ZONE)))
			return store_fail(s, "insert trust zone", err);
		sqlite3_bind_int64(st, 1, mv);
		bind_str(st, 2, e, "id", NULL);
		bind_str(st, 3, e, "name", NULL);
		sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(e, "trust_level")));
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_fail(s, "insert trust zone", err);
	}
	json_array_foreach (json_object_get(model, "components"), i, e) {
		if (!(st = store_prepare(s, SQL_INSERT_COMPONENT)))
			return store_fail(s, "insert component", err);
		sqlite3_bind_int64(st, 1, mv);
		bind_str(st, 2, e, "id", NULL);
		bind_str(st, 3, e, "type", NULL);
		bind_str(st, 4, e, "name", NULL);
		bind_str(st, 5, e, "trust_zone", NULL);
		bind_str(st, 6, e, "parent", NULL);
		bind_json(st, 7, json_object_get(e, "tags"), "[]");
		bind_json(st, 8, json_object_get(e, "properties"), "{}");
		bind_json(st, 9, json_object_get(e, "code"), "{}");
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_fail(s, "insert component", err);
	}
	json_array_foreach (json_object_get(model, "flows"), i, e) {
		if (!(st = store_prepare(s, SQL_INSERT_FLOW)))
			return store_fail(s, "insert data flow", err);
		sqlite3_bind_int64(st, 1, mv);
		bind_str(st, 2, e, "id", NULL);
		bind_str(st, 3, e, "source", NULL);
		bind_str(st, 4, e, "destination", NULL);
		bind_str(st, 5, e, "protocol", "");
		bind_json(st, 6, json_object_get(e, "properties"), "{}");
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_fail(s, "insert data flow", err);
	}
	json_array_foreach (json_object_get(model, "data_assets"), i, e) {
		if (!(st = store_prepare(s, SQL_INSERT_ASSET)))
			return store_fail(s, "insert data asset", err);
		sqlite3_bind_int64(st, 1, mv);
		bind_str(st, 2, e, "id", NULL);
		bind_str(st, 3, e, "name", NULL);
		bind_str(st, 4, e, "classification", "");
		bind_json(st, 5, json_object_get(e, "properties"), "{}");
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_fail(s, "insert data asset", err);
	}
	return 0;
}

int model_import(struct store *s, int64_t project_id, const json_t *model,
                 enum model_format detected, const char *source_name, int *ret_version,
                 bool *ret_unchanged, struct ts_err *err)
{
	char hash[65], prev_hash[65];
	int prev = 0, r;
	if (detected == MODEL_FORMAT_AUTO)
		detected = MODEL_FORMAT_NATIVE;
	char *doc = model_canonical_dump(model, hash);
	/* Checked before the write transaction so an unchanged import writes nothing;
	 * checked again inside it against a concurrent import. */
	for (int pass = 0; pass < 2; pass++) {
		r = latest(s, project_id, &prev, prev_hash, err);
		if (r < 0)
			goto fail;
		if (prev > 0 && strcmp(prev_hash, hash) == 0) {
			if (pass == 1)
				store_rollback(s);
			if (ret_version)
				*ret_version = prev;
			if (ret_unchanged)
				*ret_unchanged = true;
			free(doc);
			return 0;
		}
		if (pass == 0 && store_begin(s) < 0) {
			r = store_fail(s, "begin model import", err);
			free(doc);
			return r;
		}
	}
	sqlite3_stmt *st = store_prepare(s, SQL_INSERT_VERSION);
	if (!st) {
		r = store_fail(s, "insert model version", err);
		goto fail;
	}
	char now[32];
	ts_now_iso(now);
	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_int(st, 2, prev + 1);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, model_format_name(detected), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, source_name ? source_name : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, doc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = store_fail(s, "insert model version", err);
		goto fail;
	}
	sqlite3_reset(st); /* releases the borrowed document buffer */
	int64_t mv = sqlite3_last_insert_rowid(store_db(s));
	r = insert_rows(s, mv, model, err);
	if (r < 0)
		goto fail;
	if (store_commit(s) < 0) {
		r = store_fail(s, "commit model import", err);
		goto fail;
	}
	free(doc);
	if (ret_version)
		*ret_version = prev + 1;
	if (ret_unchanged)
		*ret_unchanged = false;
	return 0;
fail:
	store_rollback(s);
	free(doc);
	return r;
}

int model_load(struct store *s, int64_t project_id, int version, json_t **ret_model,
               int *ret_version, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, version > 0 ? SQL_LOAD : SQL_LOAD_LATEST);
	if (!st)
		return store_fail(s, "load model", err);
	sqlite3_bind_int64(st, 1, project_id);
	if (version > 0)
		sqlite3_bind_int(st, 2, version);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		if (version > 0)
			return ts_err_set(err, TS_E_NOTFOUND, "the model has no version %d", version);
		ts_err_set(err, TS_E_NOTFOUND, "no model imported yet (threatsync model import)");
		return -ENOENT;
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "load model", err);
	int got = sqlite3_column_int(st, 0);
	const char *text = (const char *)sqlite3_column_text(st, 1);
	json_error_t jerr;
	json_t *doc = json_loads(text ? text : "", 0, &jerr);
	sqlite3_reset(st);
	if (!doc)
		return ts_err_set(err, TS_E_INVALID, "stored model version %d is not valid JSON: %s",
		                  got, jerr.text);
	*ret_model = doc;
	if (ret_version)
		*ret_version = got;
	return 0;
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

/* ------------------------------------------------------- importer helpers */

char model_stride_letter(const char *category)
{
	static const struct {
		const char *name;
		char letter;
	} stride[] = {
	    {"spoofing", 'S'},
	    {"tampering", 'T'},
	    {"repudiation", 'R'},
	    {"information disclosure", 'I'},
	    {"information-disclosure", 'I'},
	    {"denial of service", 'D'},
	    {"denial-of-service", 'D'},
	    {"elevation of privilege", 'E'},
	    {"elevation-of-privilege", 'E'},
	};
	if (!category)
		return 0;
	for (size_t i = 0; i < TS_ARRAY_SIZE(stride); i++)
		if (strcasecmp(category, stride[i].name) == 0)
			return stride[i].letter;
	return 0;
}

char *model_slug(const char *s)
{
	size_t n = strlen(s);
	char *out = ts_malloc(n + 1);
	size_t j = 0;
	bool dash = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && j > 0)
				out[j++] = '-';
			dash = false;
			out[j++] = c;
		} else {
			dash = true;
		}
	}
	out[j] = '\0';
	return out;
}

const char *model_guess_generic(const char *foreign)
{
	static const char *const stores[] = {"database", "db",    "storage",   "bucket",
	                                     "queue",    "store", "datastore", NULL};
	static const char *const actors[] = {"user",    "users",  "actor",    "client",
	                                     "browser", "person", "customer", NULL};
	if (!foreign)
		return NULL;
	char *slug = model_slug(foreign);
	const char *r = NULL;
	char *save = NULL;
	for (char *w = strtok_r(slug, "-", &save); w && !r; w = strtok_r(NULL, "-", &save)) {
		size_t n = strlen(w);
		if (in_list(w, stores) || (n > 2 && strcmp(w + n - 2, "db") == 0))
			r = "generic_store";
		else if (in_list(w, actors))
			r = "generic_actor";
	}
	free(slug);
	return r;
}
