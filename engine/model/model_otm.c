/* SPDX-License-Identifier: Apache-2.0 */
/* Open Threat Model (OTM 0.1/0.2) to the native model: trust zones, components,
 * data flows, data assets, and the file's threats and mitigations as manual
 * additions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonpath.h"
#include "engine/model/importer.h"

struct otm {
	const json_t *doc;
	const struct model_typeinfo *ti;
	struct model_msgs *m;
	json_t *out;           /* native document */
	json_t *srcmap;        /* kind -> [source paths] */
	json_t *threats;       /* id -> native threat (borrowed from out) */
	json_t *cms;           /* id -> native countermeasure (borrowed from out) */
	json_t *zone_ids;      /* trust zone id -> its trust level */
	json_t *zone_of;       /* component id -> trust zone id; a container's own id */
	json_t *parent_of;     /* component id -> parent component id */
	json_t *containers;    /* container component id -> the trust zone made of it */
	json_t *container_up;  /* container id -> {"zone"|"component": its parent} */
	json_t *dropped_flows; /* id -> true: flows left out for joining a container */
	json_t *asset_class;   /* asset id -> its classification (a string) */
};

static const char *sget(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The OTM 0.2.0 schema types many properties as, say, ["string", "null"]:
 * there a null says no more than the property's absence, and is read as such.
 * Properties the schema does not let be null go through need_string and
 * opt_array(..., false), which refuse a null with its path. */
static json_t *get_nullable(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static void type_error(struct otm *o, struct jsonpath *p, const char *key, const char *want,
                       const json_t *got)
{
	size_t old = jsonpath_key(p, key);
	model_msg_error(o->m, jsonpath_str(p), "expected %s, got %s", want,
	                model_json_type_name(got));
	jsonpath_pop(p, old);
}

/* A required string field (never null in the schema): NULL, with an error,
 * when absent, not a string or empty. */
static const char *need_string(struct otm *o, const json_t *obj, struct jsonpath *p,
                               const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		model_msg_error(o->m, jsonpath_str(p), "missing required field '%s'", key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		type_error(o, p, key, "a non-empty string", v);
		return NULL;
	}
	return json_string_value(v);
}

/* An optional string field the schema lets be null: NULL when absent or null,
 * with an error when it is something else. */
static const char *opt_string(struct otm *o, const json_t *obj, struct jsonpath *p, const char *key)
{
	json_t *v = get_nullable(obj, key);
	if (v && !json_is_string(v)) {
		type_error(o, p, key, "a string or null", v);
		return NULL;
	}
	return json_string_value(v);
}

/* An optional array field: NULL when absent, or null where the schema allows
 * it (nullable); an error for anything else that is not an array. */
static json_t *opt_array(struct otm *o, const json_t *obj, struct jsonpath *p, const char *key,
                         bool nullable)
{
	json_t *v = nullable ? get_nullable(obj, key) : json_object_get(obj, key);
	if (v && !json_is_array(v)) {
		type_error(o, p, key, nullable ? "an array or null" : "an array", v);
		return NULL;
	}
	return v;
}

static void map_src(struct otm *o, const char *kind, const struct jsonpath *p)
{
	json_t *arr = json_object_get(o->srcmap, kind);
	if (!arr) {
		arr = json_array();
		json_object_set_new(o->srcmap, kind, arr);
	}
	json_array_append_new(arr, json_string(jsonpath_str(p)));
}

/* Tags: an array (or null) of strings (or nulls, which are skipped), copied. */
static json_t *copy_tags(struct otm *o, const json_t *obj, struct jsonpath *p)
{
	json_t *tags = json_array();
	json_t *src = opt_array(o, obj, p, "tags", true);
	size_t i;
	json_t *t;
	json_array_foreach (src, i, t) {
		if (json_is_string(t)) {
			json_array_append(tags, t);
		} else if (!json_is_null(t)) {
			size_t old = jsonpath_key(p, "tags");
			jsonpath_index(p, i);
			model_msg_error(o->m, jsonpath_str(p), "expected a string or null, got %s",
			                model_json_type_name(t));
			jsonpath_pop(p, old);
		}
	}
	return tags;
}

/* OTM attributes (an object or null) become properties; "protocol" on a flow
 * is its own field. An attribute whose value is null is left out like an
 * absent one. */
static json_t *copy_attributes(struct otm *o, const json_t *obj, struct jsonpath *p, json_t *flow)
{
	json_t *props = json_object();
	json_t *attrs = get_nullable(obj, "attributes");
	if (!attrs)
		return props;
	if (!json_is_object(attrs)) {
		type_error(o, p, "attributes", "an object or null", attrs);
		return props;
	}
	size_t old = jsonpath_key(p, "attributes");
	const char *k;
	json_t *v;
	json_object_foreach (attrs, k, v) {
		if (json_is_null(v))
			continue;
		if (flow && strcmp(k, "protocol") == 0 && json_is_string(v)) {
			json_object_set(flow, "protocol", v);
			continue;
		}
		if (json_is_object(v)) {
			size_t o2 = jsonpath_key(p, k);
			model_msg_warning(o->m, jsonpath_str(p),
			                  "attribute not kept: properties hold strings, numbers, "
			                  "booleans or lists of strings");
			jsonpath_pop(p, o2);
			continue;
		}
		json_object_set(props, k, v);
	}
	jsonpath_pop(p, old);
	return props;
}

static void convert_project(struct otm *o)
{
	struct jsonpath p;
	jsonpath_init(&p, "$.project");
	json_t *src = json_object_get(o->doc, "project");
	json_t *project = json_object();
	json_object_set_new(o->out, "project", project);
	if (!json_is_object(src)) {
		model_msg_error(o->m, "$", "missing required object 'project'");
		return;
	}
	const char *name = need_string(o, src, &p, "name");
	if (name)
		json_object_set_new(project, "name", json_string(name));
	const char *desc = opt_string(o, src, &p, "description");
	if (desc)
		json_object_set_new(project, "description", json_string(desc));
	const char *owner = opt_string(o, src, &p, "owner");
	if (owner)
		json_object_set_new(project, "owner", json_string(owner));
	/* OTM has no compliance field; a "compliance" attribute (a list or a
	 * comma-separated string) carries it. */
	json_t *attrs = get_nullable(src, "attributes");
	if (attrs && !json_is_object(attrs))
		type_error(o, &p, "attributes", "an object or null", attrs);
	json_t *c = json_object_get(attrs, "compliance");
	json_t *list = json_array();
	if (json_is_array(c)) {
		json_array_extend(list, c);
	} else if (json_is_string(c)) {
		char *copy = ts_strdup(json_string_value(c));
		char *save = NULL;
		for (char *w = strtok_r(copy, ", ", &save); w; w = strtok_r(NULL, ", ", &save))
			json_array_append_new(list, json_string(w));
		free(copy);
	}
	json_object_set_new(project, "compliance", list);
}

static void convert_zones(struct otm *o)
{
	json_t *zones = json_array();
	json_object_set_new(o->out, "trust_zones", zones);
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	json_t *src = opt_array(o, o->doc, &p, "trustZones", false);
	size_t i;
	json_t *z;
	json_array_foreach (src, i, z) {
		jsonpath_init(&p, "$.trustZones");
		jsonpath_index(&p, i);
		if (!json_is_object(z)) {
			model_msg_error(o->m, jsonpath_str(&p), "expected an object, got %s",
			                model_json_type_name(z));
			continue;
		}
		const char *id = need_string(o, z, &p, "id");
		const char *name = need_string(o, z, &p, "name");
		const char *desc = opt_string(o, z, &p, "description");
		json_t *rating = json_object_get(json_object_get(z, "risk"), "trustRating");
		json_int_t level = 0;
		if (!rating) {
			model_msg_error(o->m, jsonpath_str(&p),
			                "missing required field 'risk.trustRating'");
		} else if (!json_is_number(rating) || json_number_value(rating) < 0 ||
		           json_number_value(rating) > 100) {
			jsonpath_key(&p, "risk");
			jsonpath_key(&p, "trustRating");
			model_msg_error(o->m, jsonpath_str(&p), "expected a number from 0 to 100");
		} else {
			level = (json_int_t)(json_number_value(rating) + 0.5);
		}
		if (!id || !name)
			continue;
		json_t *zone =
		    json_pack("{s:s, s:s, s:I}", "id", id, "name", name, "trust_level", level);
		if (desc)
			json_object_set_new(zone, "description", json_string(desc));
		json_array_append_new(zones, zone);
		json_object_set_new(o->zone_ids, id, json_integer(level));
		jsonpath_init(&p, "$.trustZones");
		jsonpath_index(&p, i);
		map_src(o, "trust_zones", &p);
	}
}

/* The keys a component's name is looked up by, in order: the whole name, each
 * pair of adjacent words ("Public Web App" -> "web-app"), then each word, as
 * slugs (new array). Tools that leave the type empty (Microsoft TMT through
 * StartLeft) or write "empty-component" still name elements "Web API",
 * "PostgreSQL" or "Custom VPC". */
static json_t *name_keys(const char *name)
{
	enum { MAX_WORDS = 32 };
	json_t *keys = json_array();
	char *slug = model_slug(name);
	json_array_append_new(keys, json_string(slug));
	char *words[MAX_WORDS];
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(slug, "-", &save); w && n < MAX_WORDS;
	     w = strtok_r(NULL, "-", &save))
		words[n++] = w;
	for (size_t i = 0; i + 1 < n; i++)
		json_array_append_new(keys, json_sprintf("%s-%s", words[i], words[i + 1]));
	for (size_t i = 0; n > 1 && i < n; i++)
		json_array_append_new(keys, json_string(words[i]));
	free(slug);
	return keys;
}

/* The library type the name maps to (name_keys order), or NULL. */
static const char *type_by_name(struct otm *o, const char *name)
{
	json_t *keys = name_keys(name);
	const char *t = NULL;
	size_t i;
	json_t *k;
	json_array_foreach (keys, i, k) {
		t = model_map_type(o->ti, "otm", json_string_value(k));
		if (t)
			break;
	}
	json_decref(keys);
	return t;
}

static bool container_type(struct otm *o, const char *foreign)
{
	return foreign && *foreign && o->ti->container(o->ti->ud, "otm", foreign);
}

/* Is the component a container (a VPC, a subnet, a resource group) by the
 * library's container_types? Its type says so; or, when its type maps to no
 * library type, a tag does (StartLeft writes "empty-component" tagged with the
 * resource type "AWS::EC2::Subnet"); or, when no tag maps either, a key of its
 * name ("Custom VPC") does, unless the name maps to a type ("VPC endpoint"). */
static bool is_container(struct otm *o, const char *type, const json_t *tags, const char *name)
{
	if (!o->ti || !o->ti->container)
		return false;
	if (container_type(o, type))
		return true;
	if (model_map_type(o->ti, "otm", type))
		return false;
	size_t i;
	json_t *tag;
	json_array_foreach (tags, i, tag) {
		if (container_type(o, json_string_value(tag)))
			return true;
	}
	json_array_foreach (tags, i, tag) {
		if (model_map_type(o->ti, "otm", json_string_value(tag)))
			return false;
	}
	if (type_by_name(o, name))
		return false;
	json_t *keys = name_keys(name);
	bool r = false;
	json_t *k;
	json_array_foreach (keys, i, k) {
		r = r || container_type(o, json_string_value(k));
	}
	json_decref(keys);
	return r;
}

/* The library type of an OTM component: its type, then each tag, then its
 * name; else a generic type by the words of type and tags, with a warning. */
static const char *component_type(struct otm *o, const char *type, const json_t *tags,
                                  const char *name, struct jsonpath *p)
{
	const char *t = model_map_type(o->ti, "otm", type);
	size_t i;
	json_t *tag;
	json_array_foreach (tags, i, tag) {
		if (t)
			break;
		t = model_map_type(o->ti, "otm", json_string_value(tag));
	}
	if (!t)
		t = type_by_name(o, name);
	if (t)
		return t;
	const char *g = model_guess_generic(type);
	json_array_foreach (tags, i, tag) {
		if (g)
			break;
		g = model_guess_generic(json_string_value(tag));
	}
	if (!g)
		g = "generic_process";
	size_t old = jsonpath_key(p, "type");
	if (*type)
		model_msg_warning(o->m, jsonpath_str(p), "no mapping for OTM type '%s'; using %s",
		                  type, g);
	else
		model_msg_warning(o->m, jsonpath_str(p), "empty OTM type; using %s", g);
	jsonpath_pop(p, old);
	return g;
}

/* Component- or flow-level threat instances: {threat, state, mitigations}. */
static void convert_instances(struct otm *o, const json_t *src, struct jsonpath *p,
                              const char *target_key, const char *target_id)
{
	json_t *list = opt_array(o, src, p, "threats", true);
	size_t old = jsonpath_key(p, "threats");
	size_t i;
	json_t *inst;
	json_array_foreach (list, i, inst) {
		size_t o2 = jsonpath_index(p, i);
		const char *tid = json_is_object(inst) ? need_string(o, inst, p, "threat") : NULL;
		if (!json_is_object(inst))
			model_msg_error(o->m, jsonpath_str(p), "expected an object, got %s",
			                model_json_type_name(inst));
		json_t *threat = tid ? json_object_get(o->threats, tid) : NULL;
		if (tid && !threat) {
			jsonpath_key(p, "threat");
			model_msg_error(o->m, jsonpath_str(p), "unknown threat '%s'", tid);
		}
		if (!threat) {
			jsonpath_pop(p, o2);
			continue;
		}
		json_t *applies = json_object_get(threat, "applies_to");
		if (!applies) {
			applies = json_array();
			json_object_set_new(threat, "applies_to", applies);
		}
		json_t *a = json_pack("{s:s}", target_key, target_id);
		const char *state = sget(inst, "state");
		if (state)
			json_object_set_new(a, "state", json_string(state));
		json_t *cms = json_array();
		/* Unlike the other lists, the schema does not let this one be null;
		 * its entries may be, and so may an entry's mitigation: both name
		 * no mitigation and are skipped. */
		json_t *mits = opt_array(o, inst, p, "mitigations", false);
		size_t j;
		json_t *mi;
		json_array_foreach (mits, j, mi) {
			if (json_is_null(mi) || json_is_null(json_object_get(mi, "mitigation")))
				continue;
			size_t o3 = jsonpath_key(p, "mitigations");
			jsonpath_index(p, j);
			const char *mid =
			    json_is_object(mi) ? need_string(o, mi, p, "mitigation") : NULL;
			json_t *cm = mid ? json_object_get(o->cms, mid) : NULL;
			if (!json_is_object(mi)) {
				model_msg_error(o->m, jsonpath_str(p),
				                "expected an object or null, got %s",
				                model_json_type_name(mi));
			} else if (mid && !cm) {
				jsonpath_key(p, "mitigation");
				model_msg_error(o->m, jsonpath_str(p), "unknown mitigation '%s'",
				                mid);
			} else if (cm) {
				json_t *ref = json_pack("{s:s}", "id", mid);
				const char *mstate = opt_string(o, mi, p, "state");
				if (mstate)
					json_object_set_new(ref, "state", json_string(mstate));
				json_array_append_new(cms, ref);
				/* The countermeasure lists the threats it mitigates, once each. */
				json_t *ts = json_object_get(cm, "threats");
				bool seen = false;
				size_t k;
				json_t *x;
				json_array_foreach (ts, k, x) {
					seen = seen || strcmp(json_string_value(x), tid) == 0;
				}
				if (!seen)
					json_array_append_new(ts, json_string(tid));
			}
			jsonpath_pop(p, o3);
		}
		if (json_array_size(cms))
			json_object_set_new(a, "countermeasures", cms);
		else
			json_decref(cms);
		json_array_append_new(applies, a);
		jsonpath_pop(p, o2);
	}
	jsonpath_pop(p, old);
}

/* A component's type: required, and a string, which the schema lets be empty. */
static const char *component_type_field(struct otm *o, const json_t *c, struct jsonpath *p)
{
	json_t *v = json_object_get(c, "type");
	if (!v) {
		model_msg_error(o->m, jsonpath_str(p), "missing required field 'type'");
		return NULL;
	}
	if (!json_is_string(v)) {
		type_error(o, p, "type", "a string", v);
		return NULL;
	}
	return json_string_value(v);
}

/* Its parent: a trust zone of the file (checked here, so that a dangling one
 * is named by its OTM path), or a component (checked once all are read).
 * False when there is none to follow. */
static bool component_parent(struct otm *o, const json_t *c, struct jsonpath *p,
                             const char **ret_zone, const char **ret_comp)
{
	json_t *parent = json_object_get(c, "parent");
	*ret_zone = sget(parent, "trustZone");
	*ret_comp = sget(parent, "component");
	if (!json_is_object(parent) || (!*ret_zone && !*ret_comp)) {
		model_msg_error(o->m, jsonpath_str(p),
		                "expected 'parent' with 'trustZone' or 'component'");
		return false;
	}
	if (*ret_zone && !json_object_get(o->zone_ids, *ret_zone)) {
		size_t old = jsonpath_key(p, "parent");
		jsonpath_key(p, "trustZone");
		model_msg_error(o->m, jsonpath_str(p), "unknown trust zone '%s'", *ret_zone);
		jsonpath_pop(p, old);
	}
	return true;
}

/* A component inside another component is in that one's trust zone. Only the
 * component naming an unknown one is reported: those inside it would repeat
 * the same fault. */
static void inherit_zones(struct otm *o, json_t *comps)
{
	size_t n = json_array_size(comps);
	size_t i;
	json_t *c;
	json_array_foreach (comps, i, c) {
		const char *pcomp = sget(c, "parent");
		if (json_object_get(c, "trust_zone") || !pcomp)
			continue;
		struct jsonpath p;
		jsonpath_init(&p, json_string_value(
		                      json_array_get(json_object_get(o->srcmap, "components"), i)));
		jsonpath_key(&p, "parent");
		jsonpath_key(&p, "component");
		if (!json_object_get(o->zone_of, pcomp) && !json_object_get(o->parent_of, pcomp)) {
			model_msg_error(o->m, jsonpath_str(&p), "unknown component '%s'", pcomp);
			continue;
		}
		const char *cur = pcomp;
		const char *zone = NULL;
		for (size_t steps = 0; cur && !zone && steps <= n; steps++) {
			zone = json_string_value(json_object_get(o->zone_of, cur));
			cur = json_string_value(json_object_get(o->parent_of, cur));
		}
		if (zone)
			json_object_set_new(c, "trust_zone", json_string(zone));
		else if (cur)
			model_msg_error(o->m, jsonpath_str(&p),
			                "the parent chain loops without reaching a trust zone");
	}
}

/* The sensitivity of an asset from OTM's risk.confidentiality (0-100). */
static const char *asset_classification(const json_t *risk)
{
	json_t *c = json_object_get(risk, "confidentiality");
	if (!json_is_number(c))
		return "";
	double v = json_number_value(c);
	if (v <= 0)
		return "public";
	if (v < 50)
		return "internal";
	if (v < 90)
		return "confidential";
	return "restricted";
}

/* OTM assets become the model's data assets: id, name, description, a
 * classification from risk.confidentiality, the three risk figures and the
 * attributes as properties. */
static void convert_assets(struct otm *o)
{
	json_t *assets = json_array();
	json_object_set_new(o->out, "data_assets", assets);
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	json_t *src = opt_array(o, o->doc, &p, "assets", true);
	size_t i;
	json_t *a;
	json_array_foreach (src, i, a) {
		jsonpath_init(&p, "$.assets");
		jsonpath_index(&p, i);
		if (!json_is_object(a)) {
			model_msg_error(o->m, jsonpath_str(&p), "expected an object, got %s",
			                model_json_type_name(a));
			continue;
		}
		const char *id = need_string(o, a, &p, "id");
		const char *name = need_string(o, a, &p, "name");
		const char *desc = opt_string(o, a, &p, "description");
		json_t *props = copy_attributes(o, a, &p, NULL);
		json_t *risk = get_nullable(a, "risk");
		if (risk && !json_is_object(risk)) {
			type_error(o, &p, "risk", "an object or null", risk);
			risk = NULL;
		}
		if (!id || !name) {
			json_decref(props);
			continue;
		}
		static const char *const dims[] = {"confidentiality", "integrity", "availability"};
		for (size_t k = 0; k < TS_ARRAY_SIZE(dims); k++) {
			json_t *v = json_object_get(risk, dims[k]);
			if (json_is_number(v))
				json_object_set(props, dims[k], v);
		}
		const char *cls = asset_classification(risk);
		if (json_object_get(o->asset_class, id)) {
			size_t old = jsonpath_key(&p, "id");
			model_msg_error(o->m, jsonpath_str(&p), "duplicate id '%s'", id);
			jsonpath_pop(&p, old);
			json_decref(props);
			continue;
		}
		json_object_set_new(o->asset_class, id, json_string(cls));
		json_t *da = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "name", name,
		                       "classification", cls, "properties", props);
		if (desc)
			json_object_set_new(da, "description", json_string(desc));
		json_array_append_new(assets, da);
		map_src(o, "data_assets", &p);
	}
}

/* A component's assets ({processed: [ids], stored: [ids]}): the ids as the
 * properties assets_processed and assets_stored, and the most sensitive
 * classification among the file's assets they name as data_classification,
 * unless the component's attributes set one. */
static void component_assets(struct otm *o, const json_t *c, struct jsonpath *p, json_t *props)
{
	json_t *assets = get_nullable(c, "assets");
	if (!assets)
		return;
	if (!json_is_object(assets)) {
		type_error(o, p, "assets", "an object or null", assets);
		return;
	}
	static const char *const ranks[] = {"public", "internal", "confidential", "restricted"};
	int best = -1;
	size_t old = jsonpath_key(p, "assets");
	static const char *const kinds[][2] = {{"processed", "assets_processed"},
	                                       {"stored", "assets_stored"}};
	for (size_t k = 0; k < TS_ARRAY_SIZE(kinds); k++) {
		json_t *ids = opt_array(o, assets, p, kinds[k][0], true);
		if (!ids)
			continue;
		json_t *list = json_array();
		size_t i;
		json_t *v;
		json_array_foreach (ids, i, v) {
			if (json_is_null(v))
				continue;
			size_t o2 = jsonpath_key(p, kinds[k][0]);
			jsonpath_index(p, i);
			const char *id = json_string_value(v);
			const char *cls =
			    id ? json_string_value(json_object_get(o->asset_class, id)) : NULL;
			/* An id no asset of the file has is kept as written: OTM
			 * does not require the reference to resolve. */
			if (!id)
				model_msg_error(o->m, jsonpath_str(p),
				                "expected an asset id, got %s",
				                model_json_type_name(v));
			else
				json_array_append_new(list, json_string(id));
			for (int r = 0; cls && r < (int)TS_ARRAY_SIZE(ranks); r++)
				if (strcmp(cls, ranks[r]) == 0 && r > best)
					best = r;
			jsonpath_pop(p, o2);
		}
		if (json_array_size(list) > 0)
			json_object_set_new(props, kinds[k][1], list);
		else
			json_decref(list);
	}
	jsonpath_pop(p, old);
	if (best >= 0 && !json_object_get(props, "data_classification"))
		json_object_set_new(props, "data_classification", json_string(ranks[best]));
}

/* A container component becomes a trust zone of the same id and name, which
 * holds what the file puts inside it; its trust level, that of the zone that
 * holds the container, is set by container_levels once all are read. */
static void add_container(struct otm *o, struct jsonpath *p, const char *id, const char *name,
                          const char *type, const char *desc, const char *pzone, const char *pcomp)
{
	if (json_object_get(o->zone_ids, id) || json_object_get(o->containers, id)) {
		size_t old = jsonpath_key(p, "id");
		model_msg_error(o->m, jsonpath_str(p),
		                "duplicate id '%s' (a container becomes a trust zone of that id)",
		                id);
		jsonpath_pop(p, old);
		return;
	}
	json_t *zone = json_pack("{s:s, s:s, s:i}", "id", id, "name", name, "trust_level", 0);
	if (desc)
		json_object_set_new(zone, "description", json_string(desc));
	else
		json_object_set_new(
		    zone, "description",
		    json_sprintf("Network or account container (OTM type '%s').", type));
	json_array_append_new(json_object_get(o->out, "trust_zones"), zone);
	map_src(o, "trust_zones", p);
	json_object_set(o->containers, id, zone);
	json_object_set_new(o->zone_of, id, json_string(id));
	json_object_set_new(
	    o->container_up, id,
	    json_pack("{s:s}", pzone ? "zone" : "component", pzone ? pzone : pcomp));
}

/* The trust level of the file's zone that (through components and other
 * containers) holds element id; -1 when the chain reaches none. */
static json_int_t enclosing_level(struct otm *o, const char *id)
{
	size_t steps = json_object_size(o->zone_of) + json_object_size(o->parent_of) + 1;
	for (; id && steps > 0; steps--) {
		json_t *up = json_object_get(o->container_up, id);
		const char *z =
		    up ? sget(up, "zone") : json_string_value(json_object_get(o->zone_of, id));
		const char *c = up ? sget(up, "component")
		                   : json_string_value(json_object_get(o->parent_of, id));
		if (z && !json_object_get(o->containers, z)) {
			json_t *lv = json_object_get(o->zone_ids, z);
			return json_is_integer(lv) ? json_integer_value(lv) : -1;
		}
		id = z ? z : c;
	}
	return -1;
}

/* Components directly inside a container are in its zone; each container's
 * zone takes the trust level of the zone around it. */
static void resolve_containers(struct otm *o, json_t *comps)
{
	size_t i;
	json_t *c;
	json_array_foreach (comps, i, c) {
		const char *pcomp = sget(c, "parent");
		if (pcomp && json_object_get(o->containers, pcomp)) {
			json_object_set_new(c, "trust_zone", json_string(pcomp));
			json_object_del(c, "parent");
		}
	}
	const char *id;
	json_t *zone;
	json_object_foreach (o->containers, id, zone) {
		const char *pcomp = sget(json_object_get(o->container_up, id), "component");
		if (pcomp && !json_object_get(o->zone_of, pcomp) &&
		    !json_object_get(o->parent_of, pcomp)) {
			model_msg_error(o->m, "$.components",
			                "container '%s': unknown parent component '%s'", id, pcomp);
			continue;
		}
		json_int_t level = enclosing_level(o, id);
		if (level >= 0)
			json_object_set_new(zone, "trust_level", json_integer(level));
	}
}

static void convert_components(struct otm *o)
{
	json_t *comps = json_array();
	json_object_set_new(o->out, "components", comps);
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	json_t *src = opt_array(o, o->doc, &p, "components", true);
	size_t i;
	json_t *c;
	json_array_foreach (src, i, c) {
		jsonpath_init(&p, "$.components");
		jsonpath_index(&p, i);
		if (!json_is_object(c)) {
			model_msg_error(o->m, jsonpath_str(&p), "expected an object, got %s",
			                model_json_type_name(c));
			continue;
		}
		const char *id = need_string(o, c, &p, "id");
		const char *name = need_string(o, c, &p, "name");
		const char *type = component_type_field(o, c, &p);
		const char *desc = opt_string(o, c, &p, "description");
		const char *pzone, *pcomp;
		bool parent_ok = component_parent(o, c, &p, &pzone, &pcomp);
		json_t *tags = copy_tags(o, c, &p);
		json_t *props = copy_attributes(o, c, &p, NULL);
		component_assets(o, c, &p, props);
		/* Recorded even for a component refused below, so that those inside
		 * it are not also reported as naming an unknown one. */
		bool container =
		    id && name && type && parent_ok && is_container(o, type, tags, name);
		if (id && parent_ok && !container)
			json_object_set_new(pzone ? o->zone_of : o->parent_of, id,
			                    json_string(pzone ? pzone : pcomp));
		if (!id || !name || !type || !parent_ok) {
			json_decref(tags);
			json_decref(props);
			continue;
		}
		if (container) {
			add_container(o, &p, id, name, type, desc, pzone, pcomp);
			json_decref(tags);
			json_decref(props);
			continue;
		}
		const char *t = component_type(o, type, tags, name, &p);
		/* What the OTM type or a tag says outright ("openai": it calls a
		 * language model); the attributes, already in props, win. */
		model_imply_properties(o->ti, "otm", type, props);
		size_t ti;
		json_t *tag;
		json_array_foreach (tags, ti, tag)
			model_imply_properties(o->ti, "otm", json_string_value(tag), props);
		json_t *comp = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id, "type", t, "name",
		                         name, "tags", tags, "properties", props);
		if (desc)
			json_object_set_new(comp, "description", json_string(desc));
		if (pzone)
			json_object_set_new(comp, "trust_zone", json_string(pzone));
		else
			json_object_set_new(comp, "parent", json_string(pcomp));
		json_array_append_new(comps, comp);
		map_src(o, "components", &p);
	}
	resolve_containers(o, comps);
	inherit_zones(o, comps);
}

static void convert_flows(struct otm *o)
{
	json_t *flows = json_array();
	json_object_set_new(o->out, "flows", flows);
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	json_t *src = opt_array(o, o->doc, &p, "dataflows", false);
	size_t i;
	json_t *f;
	json_array_foreach (src, i, f) {
		jsonpath_init(&p, "$.dataflows");
		jsonpath_index(&p, i);
		if (!json_is_object(f)) {
			model_msg_error(o->m, jsonpath_str(&p), "expected an object, got %s",
			                model_json_type_name(f));
			continue;
		}
		const char *id = need_string(o, f, &p, "id");
		const char *source = need_string(o, f, &p, "source");
		const char *dest = need_string(o, f, &p, "destination");
		const char *desc = opt_string(o, f, &p, "description");
		json_t *flow = json_object();
		json_t *tags = copy_tags(o, f, &p);
		json_t *props = copy_attributes(o, f, &p, flow);
		json_t *bidi = get_nullable(f, "bidirectional");
		if (bidi && !json_is_boolean(bidi))
			type_error(o, &p, "bidirectional", "a boolean or null", bidi);
		else if (json_is_true(bidi))
			json_object_set(props, "bidirectional", bidi);
		if (!id || !source || !dest) {
			json_decref(flow);
			json_decref(tags);
			json_decref(props);
			continue;
		}
		const char *end = json_object_get(o->containers, source) ? source
		                  : json_object_get(o->containers, dest) ? dest
		                                                         : NULL;
		if (end) {
			/* StartLeft draws flows from a VPC's address range; a flow
			 * joins two components, and a zone is none. */
			model_msg_warning(o->m, jsonpath_str(&p),
			                  "flow not kept: '%s' is a container, now a trust zone",
			                  end);
			json_object_set_new(o->dropped_flows, id, json_true());
			json_decref(flow);
			json_decref(tags);
			json_decref(props);
			continue;
		}
		json_object_set_new(flow, "id", json_string(id));
		json_object_set_new(flow, "source", json_string(source));
		json_object_set_new(flow, "destination", json_string(dest));
		const char *name = sget(f, "name");
		if (name)
			json_object_set_new(flow, "name", json_string(name));
		if (desc)
			json_object_set_new(flow, "description", json_string(desc));
		if (json_array_size(tags))
			json_object_set_new(flow, "tags", tags);
		else
			json_decref(tags);
		json_object_set_new(flow, "properties", props);
		json_array_append_new(flows, flow);
		map_src(o, "flows", &p);
	}
}

/* "CWE-79", "79" or 79 -> 79; 0 when not a CWE. */
static json_int_t cwe_number(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return 0;
	if (strncasecmp(s, "CWE-", 4) == 0)
		s += 4;
	char *end = NULL;
	long n = strtol(s, &end, 10);
	if (end == s || *end || n < 1)
		return 0;
	return n;
}

static void convert_threats(struct otm *o)
{
	json_t *threats = json_array();
	json_object_set_new(o->out, "threats", threats);
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	json_t *src = opt_array(o, o->doc, &p, "threats", true);
	size_t i;
	json_t *t;
	json_array_foreach (src, i, t) {
		jsonpath_init(&p, "$.threats");
		jsonpath_index(&p, i);
		if (!json_is_object(t)) {
			model_msg_error(o->m, jsonpath_str(&p), "expected an object, got %s",
			                model_json_type_name(t));
			continue;
		}
		const char *id = need_string(o, t, &p, "id");
		const char *name = need_string(o, t, &p, "name");
		const char *desc = opt_string(o, t, &p, "description");
		if (!id || !name)
			continue;
		json_t *th = json_pack("{s:s, s:s, s:s}", "id", id, "title", name, "origin", "otm");
		if (desc)
			json_object_set_new(th, "description", json_string(desc));
		json_t *cats = json_array();
		char stride[8] = "";
		size_t j;
		json_t *c;
		json_array_foreach (opt_array(o, t, &p, "categories", true), j, c) {
			if (!json_is_string(c))
				continue;
			json_array_append(cats, c);
			char l = model_stride_letter(json_string_value(c));
			if (l && !strchr(stride, l) && strlen(stride) < 6)
				stride[strlen(stride)] = l;
		}
		json_object_set_new(th, "categories", cats);
		if (*stride)
			json_object_set_new(th, "stride", json_string(stride));
		json_t *cwes = json_array();
		json_array_foreach (opt_array(o, t, &p, "cwes", true), j, c) {
			json_int_t n = cwe_number(c);
			if (json_is_null(c)) {
				continue;
			} else if (n) {
				json_array_append_new(cwes, json_integer(n));
			} else {
				size_t old = jsonpath_key(&p, "cwes");
				jsonpath_index(&p, j);
				model_msg_error(o->m, jsonpath_str(&p),
				                "expected a CWE id such as \"CWE-79\"");
				jsonpath_pop(&p, old);
			}
		}
		json_object_set_new(th, "cwe", cwes);
		json_t *risk = json_object_get(t, "risk");
		json_t *props = json_object();
		json_t *lk = json_object_get(risk, "likelihood");
		json_t *im = json_object_get(risk, "impact");
		if (json_is_number(lk))
			json_object_set(props, "otm_likelihood", lk);
		if (json_is_number(im))
			json_object_set(props, "otm_impact", im);
		json_object_set_new(th, "properties", props);
		if (json_object_get(o->threats, id)) {
			size_t old = jsonpath_key(&p, "id");
			model_msg_error(o->m, jsonpath_str(&p), "duplicate id '%s'", id);
			jsonpath_pop(&p, old);
			json_decref(th);
			continue;
		}
		json_object_set(o->threats, id, th);
		json_array_append_new(threats, th);
		map_src(o, "threats", &p);
	}
}

static void convert_mitigations(struct otm *o)
{
	json_t *cms = json_array();
	json_object_set_new(o->out, "countermeasures", cms);
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	json_t *src = opt_array(o, o->doc, &p, "mitigations", true);
	size_t i;
	json_t *mi;
	json_array_foreach (src, i, mi) {
		jsonpath_init(&p, "$.mitigations");
		jsonpath_index(&p, i);
		if (!json_is_object(mi)) {
			model_msg_error(o->m, jsonpath_str(&p), "expected an object, got %s",
			                model_json_type_name(mi));
			continue;
		}
		const char *id = need_string(o, mi, &p, "id");
		const char *name = need_string(o, mi, &p, "name");
		const char *desc = opt_string(o, mi, &p, "description");
		if (!id || !name)
			continue;
		json_t *cm = json_pack("{s:s, s:s, s:s, s:[]}", "id", id, "title", name, "origin",
		                       "otm", "threats");
		if (desc)
			json_object_set_new(cm, "description", json_string(desc));
		json_t *rr = json_object_get(mi, "riskReduction");
		if (json_is_number(rr))
			json_object_set(cm, "risk_reduction", rr);
		if (json_object_get(o->cms, id)) {
			size_t old = jsonpath_key(&p, "id");
			model_msg_error(o->m, jsonpath_str(&p), "duplicate id '%s'", id);
			jsonpath_pop(&p, old);
			json_decref(cm);
			continue;
		}
		json_object_set(o->cms, id, cm);
		json_array_append_new(cms, cm);
		map_src(o, "countermeasures", &p);
	}
}

void model_from_otm(const json_t *doc, const struct model_typeinfo *ti, struct model_msgs *m,
                    json_t **ret_model, json_t **ret_srcmap)
{
	struct otm o = {
	    .doc = doc,
	    .ti = ti,
	    .m = m,
	    .out = json_pack("{s:s}", "format", MODEL_FORMAT_ID),
	    .srcmap = json_object(),
	    .threats = json_object(),
	    .cms = json_object(),
	    .zone_ids = json_object(),
	    .zone_of = json_object(),
	    .parent_of = json_object(),
	    .asset_class = json_object(),
	    .containers = json_object(),
	    .container_up = json_object(),
	    .dropped_flows = json_object(),
	};
	if (!json_is_string(json_object_get(doc, "otmVersion")))
		model_msg_error(m, "$.otmVersion", "expected a version string such as \"0.2.0\"");
	convert_project(&o);
	convert_zones(&o);
	convert_threats(&o);
	convert_mitigations(&o);
	convert_assets(&o);
	convert_components(&o);
	convert_flows(&o);
	/* Threat instances after every element exists, so references resolve. */
	struct jsonpath p;
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(doc, "components"), i, e) {
		const char *id = sget(e, "id");
		if (!id || !json_is_object(e))
			continue;
		jsonpath_init(&p, "$.components");
		jsonpath_index(&p, i);
		if (json_object_get(o.containers, id)) {
			if (json_array_size(json_object_get(e, "threats")) > 0) {
				jsonpath_key(&p, "threats");
				model_msg_warning(m, jsonpath_str(&p),
				                  "threats of a container (now a trust zone) "
				                  "are not kept");
			}
			continue;
		}
		convert_instances(&o, e, &p, "component", id);
	}
	json_array_foreach (json_object_get(doc, "dataflows"), i, e) {
		const char *id = sget(e, "id");
		if (!id || !json_is_object(e))
			continue;
		if (json_object_get(o.dropped_flows, id))
			continue;
		jsonpath_init(&p, "$.dataflows");
		jsonpath_index(&p, i);
		convert_instances(&o, e, &p, "flow", id);
	}
	/* A mitigation no component uses keeps an empty threat list out of the doc. */
	json_array_foreach (json_object_get(o.out, "countermeasures"), i, e) {
		if (json_array_size(json_object_get(e, "threats")) == 0)
			json_object_del(e, "threats");
	}
	json_decref(o.threats);
	json_decref(o.cms);
	json_decref(o.zone_ids);
	json_decref(o.zone_of);
	json_decref(o.parent_of);
	json_decref(o.asset_class);
	json_decref(o.containers);
	json_decref(o.container_up);
	json_decref(o.dropped_flows);
	*ret_model = o.out;
	*ret_srcmap = o.srcmap;
}
