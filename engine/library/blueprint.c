/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles, blueprint validation and the expansion of a profile into a starting
 * native model by the blueprint of its kind. */
#include "engine/library/blueprint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/library/library_internal.h"
#include "engine/model/model.h"

static const char *const profile_kinds[] = {
    "web_app",       "spa_api",        "mobile_api",   "microservices", "serverless_api",
    "data_pipeline", "internal_admin", "b2b_webhooks", "iot_backend",   "ml_inference"};
static const char *const hostings[] = {"aws",        "azure",  "gcp", "on_prem",
                                       "kubernetes", "hybrid", "paas"};
static const char *const authentications[] = {"sso", "local", "none", "api_keys"};
static const char *const data_kinds[] = {"personal", "payment", "health", "credentials"};
static const char *const exposures[] = {"internet", "internal", "partner"};
static const char *const framework_ids[] = {"ccpa",        "gdpr",       "hipaa",   "iso-27001",
                                            "nist-800-53", "owasp-asvs", "pci-dss", "soc2"};
static const char *const classifications[] = {"public", "internal", "confidential", "restricted"};

bool blueprint_kind_valid(const char *kind)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(profile_kinds); i++)
		if (strcmp(profile_kinds[i], kind) == 0)
			return true;
	return false;
}

static bool in_names(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

static char *names_list(const char *const *names, size_t n)
{
	struct ts_buf b = {0};
	for (size_t i = 0; i < n; i++)
		ts_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
	return ts_buf_steal(&b);
}

/* Stack entries: [a-z0-9][a-z0-9_.+-]{0,63}. */
static bool stack_shape(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		      strchr("_.+-", *s)))
			return false;
	return true;
}

/* A list of distinct strings from names (or of stack entries when names is
 * NULL). Returns a new array of the valid entries, in the given order. */
static json_t *check_list(struct lib_vctx *v, const char *key, const char *const *names, size_t n)
{
	json_t *out = json_array();
	json_t *j = json_object_get(v->obj, key);
	if (!j)
		return out;
	if (!json_is_array(j)) {
		lib_verr(v, key, "must be an array of strings");
		return out;
	}
	char *base = lib_path_key(v->path, key);
	size_t i;
	json_t *e;
	json_array_foreach (j, i, e) {
		char *p = lib_path_index(base, i);
		const char *s = json_string_value(e);
		if (!s) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p, "must be a string");
		} else if (names && !in_names(s, names, n)) {
			char *all = names_list(names, n);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "unknown value \"%s\" (expected one of: %s)", s, all);
			free(all);
		} else if (!names && !stack_shape(s)) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "\"%s\" must be a lower-case technology name "
			             "([a-z0-9][a-z0-9_.+-]*, at most 64 characters)",
			             s);
		} else {
			bool dup = false;
			size_t k;
			json_t *o;
			json_array_foreach (out, k, o)
				dup = dup || strcmp(json_string_value(o), s) == 0;
			if (dup)
				lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
				             "\"%s\" is listed twice", s);
			else
				json_array_append_new(out, json_string(s));
		}
		free(p);
	}
	free(base);
	return out;
}

/* ---- profiles ---------------------------------------------------------- */

int blueprint_profile_check(json_t *profile, const char *file, json_t **ret_profile,
                            struct ts_err *err)
{
	struct lib_diag d = {0};
	struct lib_vctx v = {NULL, &d, file, "$", profile, 0};
	json_t *out = NULL;
	if (!json_is_object(profile)) {
		lib_verr(&v, NULL, "a profile must be a JSON object");
		goto done;
	}
	static const char *const keys[] = {"$schema",  "name",      "description",    "kind",
	                                   "hosting",  "stack",     "authentication", "data",
	                                   "exposure", "compliance"};
	lib_v_keys(&v, keys, TS_ARRAY_SIZE(keys));
	const char *name = lib_v_str(&v, "name", true);
	if (name && strlen(name) > 200)
		lib_verr(&v, "name", "must be at most 200 characters");
	json_t *desc = json_object_get(profile, "description");
	if (desc && !json_is_string(desc))
		lib_verr(&v, "description", "must be a string");
	int kind = lib_v_enum(&v, "kind", profile_kinds, TS_ARRAY_SIZE(profile_kinds), true, 0);
	int hosting = lib_v_enum(&v, "hosting", hostings, TS_ARRAY_SIZE(hostings), false, -2);
	int auth = lib_v_enum(&v, "authentication", authentications, TS_ARRAY_SIZE(authentications),
	                      false, 1);
	int exposure = lib_v_enum(&v, "exposure", exposures, TS_ARRAY_SIZE(exposures), false, 0);
	json_t *stack = check_list(&v, "stack", NULL, 0);
	json_t *data = check_list(&v, "data", data_kinds, TS_ARRAY_SIZE(data_kinds));
	json_t *compliance =
	    check_list(&v, "compliance", framework_ids, TS_ARRAY_SIZE(framework_ids));
	if (d.n_errors == 0) {
		out = json_object();
		json_object_set_new(out, "name", json_string(name));
		json_object_set_new(out, "description",
		                    json_string(desc ? json_string_value(desc) : ""));
		json_object_set_new(out, "kind", json_string(profile_kinds[kind]));
		if (hosting >= 0)
			json_object_set_new(out, "hosting", json_string(hostings[hosting]));
		json_object_set(out, "stack", stack);
		json_object_set_new(out, "authentication", json_string(authentications[auth]));
		json_object_set(out, "data", data);
		json_object_set_new(out, "exposure", json_string(exposures[exposure]));
		json_object_set(out, "compliance", compliance);
	}
	json_decref(stack);
	json_decref(data);
	json_decref(compliance);
done:
	if (d.n_errors) {
		lib_diag_format(&d, err);
		lib_diag_free(&d);
		return -EINVAL;
	}
	lib_diag_free(&d);
	*ret_profile = out;
	return 0;
}

int blueprint_profile_load(const char *path, json_t **ret_profile, struct ts_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = ts_read_file(path, BLUEPRINT_PROFILE_MAX, &data, &len);
	if (r == -EFBIG)
		return ts_err_set(err, TS_E_INVALID, "%s: larger than %d bytes", path,
		                  BLUEPRINT_PROFILE_MAX);
	if (r < 0)
		return ts_err_set(err, TS_E_NOTFOUND, "%s: cannot read: %s", path, strerror(-r));
	json_error_t jerr;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!doc)
		return ts_err_set(err, TS_E_INVALID, "%s: line %d, column %d: %s", path, jerr.line,
		                  jerr.column, jerr.text);
	r = blueprint_profile_check(doc, path, ret_profile, err);
	json_decref(doc);
	return r;
}

int blueprint_profile_stacks(const struct library *lib, const json_t *profile, const char *file,
                             struct ts_err *err)
{
	struct lib_diag d = {0};
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(profile, "stack"), i, e) {
		if (library_stack(lib, json_string_value(e)))
			continue;
		char *p = lib_path_index("$.stack", i);
		lib_diag_add(&d, false, TS_E_INVALID, file, p,
		             "unknown stack \"%s\" (the library's stacks.json lists the "
		             "known ones and their synonyms)",
		             json_string_value(e));
		free(p);
	}
	int rc = d.n_errors ? -EINVAL : 0;
	if (rc)
		lib_diag_format(&d, err);
	lib_diag_free(&d);
	return rc;
}

/* ---- "when": conditions over the profile ------------------------------- */

/* Members of a "when" object: which profile field, and whether it is a list
 * tested for any common element (data_contains) or a value tested for being one
 * of the given ones (authentication). */
static const struct when_key {
	const char *key;
	const char *field;
	bool list;
	const char *const *names; /* NULL: stack names */
	size_t n;
} when_keys[] = {
    {"kind", "kind", false, profile_kinds, TS_ARRAY_SIZE(profile_kinds)},
    {"hosting", "hosting", false, hostings, TS_ARRAY_SIZE(hostings)},
    {"authentication", "authentication", false, authentications, TS_ARRAY_SIZE(authentications)},
    {"exposure", "exposure", false, exposures, TS_ARRAY_SIZE(exposures)},
    {"data_contains", "data", true, data_kinds, TS_ARRAY_SIZE(data_kinds)},
    {"stack_contains", "stack", true, NULL, 0},
    {"compliance_contains", "compliance", true, framework_ids, TS_ARRAY_SIZE(framework_ids)},
};

static void check_when(struct lib_vctx *v, json_t *when, const char *path)
{
	if (!json_is_object(when)) {
		lib_diag_add(v->d, false, TS_E_INVALID, v->file, path,
		             "must be an object of profile tests");
		return;
	}
	const char *k;
	json_t *val;
	json_object_foreach (when, k, val) {
		char *p = lib_path_key(path, k);
		if (strcmp(k, "not") == 0) {
			check_when(v, val, p);
			free(p);
			continue;
		}
		if (strcmp(k, "any") == 0) {
			if (!json_is_array(val) || json_array_size(val) == 0) {
				lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
				             "must be a non-empty array of conditions");
			} else {
				size_t i;
				json_t *e;
				json_array_foreach (val, i, e) {
					char *p2 = lib_path_index(p, i);
					check_when(v, e, p2);
					free(p2);
				}
			}
			free(p);
			continue;
		}
		const struct when_key *wk = NULL;
		for (size_t i = 0; i < TS_ARRAY_SIZE(when_keys) && !wk; i++)
			if (strcmp(when_keys[i].key, k) == 0)
				wk = &when_keys[i];
		if (!wk) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "unknown test (expected kind, hosting, authentication, "
			             "exposure, data_contains, stack_contains, "
			             "compliance_contains, not or any)");
			free(p);
			continue;
		}
		json_t *one = json_is_string(val) ? json_pack("[O]", val) : json_incref(val);
		if (!json_is_array(one) || json_array_size(one) == 0) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "must be a string or a non-empty array of strings");
		} else {
			size_t i;
			json_t *e;
			json_array_foreach (one, i, e) {
				const char *s = json_string_value(e);
				bool ok = s && (wk->names ? in_names(s, wk->names, wk->n)
				                          : stack_shape(s));
				if (ok && !wk->names && v->lib && !library_stack(v->lib, s)) {
					char *p2 = json_is_string(val) ? ts_strdup(p)
					                               : lib_path_index(p, i);
					lib_diag_add(v->d, false, TS_E_INVALID, v->file, p2,
					             "unknown stack \"%s\" (not in the library's "
					             "stacks.json)",
					             s);
					free(p2);
				} else if (!ok) {
					char *all = wk->names ? names_list(wk->names, wk->n)
					                      : ts_strdup("lower-case names");
					char *p2 = json_is_string(val) ? ts_strdup(p)
					                               : lib_path_index(p, i);
					lib_diag_add(v->d, false, TS_E_INVALID, v->file, p2,
					             "unknown value%s%s%s (expected %s)",
					             s ? " \"" : "", s ? s : "", s ? "\"" : "",
					             all);
					free(p2);
					free(all);
				}
			}
		}
		json_decref(one);
		free(p);
	}
}

static bool value_in(json_t *spec, const char *s)
{
	if (!s)
		return false;
	if (json_is_string(spec))
		return strcmp(json_string_value(spec), s) == 0;
	size_t i;
	json_t *e;
	json_array_foreach (spec, i, e) {
		if (strcmp(json_string_value(e), s) == 0)
			return true;
	}
	return false;
}

static bool when_matches(json_t *when, json_t *profile)
{
	if (!when)
		return true;
	const char *k;
	json_t *val;
	json_object_foreach (when, k, val) {
		if (strcmp(k, "not") == 0) {
			if (when_matches(val, profile))
				return false;
			continue;
		}
		if (strcmp(k, "any") == 0) {
			bool any = false;
			size_t i;
			json_t *e;
			json_array_foreach (val, i, e)
				any = any || when_matches(e, profile);
			if (!any)
				return false;
			continue;
		}
		for (size_t i = 0; i < TS_ARRAY_SIZE(when_keys); i++) {
			const struct when_key *wk = &when_keys[i];
			if (strcmp(wk->key, k) != 0)
				continue;
			json_t *field = json_object_get(profile, wk->field);
			bool hit = false;
			if (wk->list) {
				size_t j;
				json_t *e;
				json_array_foreach (field, j, e)
					hit = hit || value_in(val, json_string_value(e));
			} else {
				hit = value_in(val, json_string_value(field));
			}
			if (!hit)
				return false;
		}
	}
	return true;
}

/* ---- blueprint validation ---------------------------------------------- */

/* Values of properties: string, number, boolean or list of strings. */
static void check_props(struct lib_vctx *v, const char *key, bool lists_only)
{
	json_t *props = json_object_get(v->obj, key);
	if (!props)
		return;
	if (!json_is_object(props)) {
		lib_verr(v, key, "must be an object");
		return;
	}
	char *base = lib_path_key(v->path, key);
	const char *k;
	json_t *val;
	json_object_foreach (props, k, val) {
		bool ok = json_is_array(val) ||
		          (!lists_only &&
		           (json_is_string(val) || json_is_number(val) || json_is_boolean(val)));
		size_t i;
		json_t *e;
		if (json_is_array(val))
			json_array_foreach (val, i, e)
				ok = ok && json_is_string(e);
		if (!ok) {
			char *p = lib_path_key(base, k);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             lists_only ? "must be a list of strings"
			                        : "must be a string, number, boolean or list of "
			                          "strings");
			free(p);
		}
	}
	free(base);
}

/* Records id in set (id -> has a "when"); ids may repeat only among
 * alternatives that all have a "when". */
static void note_id(struct lib_vctx *v, json_t *set, const char *id)
{
	bool has_when = json_object_get(v->obj, "when") != NULL;
	json_t *prev = json_object_get(set, id);
	if (prev && (!has_when || json_is_false(prev)))
		lib_verr(v, "id",
		         "duplicate id \"%s\" (an id may repeat only among alternatives that "
		         "all have a \"when\")",
		         id);
	if (!prev || !has_when)
		json_object_set_new(set, id, json_boolean(has_when));
}

static void check_ref(struct lib_vctx *v, const char *key, json_t *set, const char *what)
{
	const char *id = json_string_value(json_object_get(v->obj, key));
	if (id && !json_object_get(set, id))
		lib_verr(v, key, "unknown %s \"%s\" (not declared in this blueprint)", what, id);
}

static void check_ref_list(struct lib_vctx *v, const char *key, json_t *set, const char *what)
{
	size_t n = 0;
	const char **ids = lib_v_str_list(v, key, false, &n);
	char *base = lib_path_key(v->path, key);
	for (size_t i = 0; i < n; i++) {
		if (!json_object_get(set, ids[i])) {
			char *p = lib_path_index(base, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "unknown %s \"%s\" (not declared in this blueprint)", what,
			             ids[i]);
			free(p);
		}
	}
	free(base);
	free(ids);
}

/* Starts the checks of element i of section key: *ev describes it. Returns
 * false (after recording it) when the element is not an object. */
static bool elem_begin(struct lib_vctx *bv, const char *key, size_t i, json_t *e,
                       struct lib_vctx *ev)
{
	char *base = lib_path_key(bv->path, key);
	*ev = *bv;
	ev->path = lib_path_index(base, i);
	ev->obj = e;
	free(base);
	if (!json_is_object(e)) {
		lib_verr(ev, NULL, "must be an object");
		return false;
	}
	json_t *when = json_object_get(e, "when");
	if (when) {
		char *p = lib_path_key(ev->path, "when");
		check_when(ev, when, p);
		free(p);
	}
	return true;
}

static void elem_end(struct lib_vctx *ev)
{
	free((char *)ev->path);
	ev->path = NULL;
}

static const char *elem_id(struct lib_vctx *ev, json_t *set)
{
	const char *id = lib_v_str(ev, "id", true);
	if (id && !model_id_valid(id)) {
		lib_verr(ev, "id", "must be 1 to 128 of A-Z a-z 0-9 _ . : -");
		id = NULL;
	}
	if (id)
		note_id(ev, set, id);
	return id;
}

static json_t *section(struct lib_vctx *bv, const char *key, bool required)
{
	json_t *arr = json_object_get(bv->obj, key);
	if (!arr) {
		if (required)
			lib_verr(bv, NULL, "missing required field \"%s\"", key);
		return NULL;
	}
	if (!json_is_array(arr) || (required && json_array_size(arr) == 0)) {
		lib_verr(bv, key, required ? "must be a non-empty array" : "must be an array");
		return NULL;
	}
	return arr;
}

static void validate_zones(struct lib_vctx *bv, json_t *zones)
{
	size_t i;
	json_t *e;
	struct lib_vctx ev;
	json_array_foreach (section(bv, "trust_zones", true), i, e) {
		if (elem_begin(bv, "trust_zones", i, e, &ev)) {
			static const char *const zk[] = {"id", "name", "trust_level", "when"};
			lib_v_keys(&ev, zk, TS_ARRAY_SIZE(zk));
			elem_id(&ev, zones);
			lib_v_str(&ev, "name", true);
			json_t *lvl = json_object_get(e, "trust_level");
			if (!lvl)
				lib_verr(&ev, NULL, "missing required field \"trust_level\"");
			else if (!json_is_integer(lvl) || json_integer_value(lvl) < 0 ||
			         json_integer_value(lvl) > 100)
				lib_verr(&ev, "trust_level", "must be an integer from 0 to 100");
		}
		elem_end(&ev);
	}
}

/* The components, then their parents (which may come later in the list). */
static void validate_components(struct lib_vctx *bv, json_t *zones, json_t *comps)
{
	size_t i;
	json_t *e;
	struct lib_vctx ev;
	json_t *carr = section(bv, "components", true);
	json_array_foreach (carr, i, e) {
		if (elem_begin(bv, "components", i, e, &ev)) {
			static const char *const ck[] = {"id",          "type",       "name",
			                                 "description", "trust_zone", "parent",
			                                 "tags",        "properties", "when"};
			lib_v_keys(&ev, ck, TS_ARRAY_SIZE(ck));
			elem_id(&ev, comps);
			const char *type = lib_v_str(&ev, "type", true);
			if (type && !library_component_type(bv->lib, type))
				lib_verr(&ev, "type", "unknown component type \"%s\"", type);
			lib_v_str(&ev, "name", true);
			lib_v_str(&ev, "description", false);
			lib_v_str(&ev, "trust_zone", true);
			check_ref(&ev, "trust_zone", zones, "trust zone");
			lib_v_str(&ev, "parent", false);
			size_t n = 0;
			free(lib_v_str_list(&ev, "tags", false, &n));
			check_props(&ev, "properties", false);
		}
		elem_end(&ev);
	}
	json_array_foreach (carr, i, e) {
		if (json_is_object(e) && json_object_get(e, "parent")) {
			struct lib_vctx pv = *bv;
			char *base = lib_path_key(bv->path, "components");
			pv.path = lib_path_index(base, i);
			pv.obj = e;
			check_ref(&pv, "parent", comps, "component");
			free((char *)pv.path);
			free(base);
		}
	}
}

static void validate_flows(struct lib_vctx *bv, json_t *comps, json_t *flows)
{
	size_t i;
	json_t *e;
	struct lib_vctx ev;
	json_array_foreach (section(bv, "flows", false), i, e) {
		if (elem_begin(bv, "flows", i, e, &ev)) {
			static const char *const fk[] = {"id",         "name",        "description",
			                                 "source",     "destination", "protocol",
			                                 "properties", "when"};
			lib_v_keys(&ev, fk, TS_ARRAY_SIZE(fk));
			elem_id(&ev, flows);
			lib_v_str(&ev, "name", false);
			lib_v_str(&ev, "description", false);
			lib_v_str(&ev, "source", true);
			lib_v_str(&ev, "destination", true);
			lib_v_str(&ev, "protocol", false);
			check_ref(&ev, "source", comps, "component");
			check_ref(&ev, "destination", comps, "component");
			check_props(&ev, "properties", false);
		}
		elem_end(&ev);
	}
}

static void validate_assets(struct lib_vctx *bv, json_t *assets)
{
	size_t i;
	json_t *e;
	struct lib_vctx ev;
	json_array_foreach (section(bv, "data_assets", false), i, e) {
		if (elem_begin(bv, "data_assets", i, e, &ev)) {
			static const char *const ak[] = {
			    "id", "name", "description", "classification", "properties", "when"};
			lib_v_keys(&ev, ak, TS_ARRAY_SIZE(ak));
			elem_id(&ev, assets);
			lib_v_str(&ev, "name", true);
			lib_v_str(&ev, "description", false);
			lib_v_enum(&ev, "classification", classifications,
			           TS_ARRAY_SIZE(classifications), true, 0);
			check_props(&ev, "properties", false);
		}
		elem_end(&ev);
	}
}

static void validate_rules(struct lib_vctx *bv, json_t *comps, json_t *flows)
{
	size_t i;
	json_t *e;
	struct lib_vctx ev;
	json_array_foreach (section(bv, "rules", false), i, e) {
		if (elem_begin(bv, "rules", i, e, &ev)) {
			static const char *const rk[] = {"when", "components", "flows", "set",
			                                 "append"};
			lib_v_keys(&ev, rk, TS_ARRAY_SIZE(rk));
			if (!json_object_get(e, "when"))
				lib_verr(&ev, NULL, "missing required field \"when\"");
			if (!json_object_get(e, "components") && !json_object_get(e, "flows"))
				lib_verr(&ev, NULL, "needs \"components\" or \"flows\" to act on");
			if (!json_object_get(e, "set") && !json_object_get(e, "append"))
				lib_verr(&ev, NULL, "needs \"set\" or \"append\"");
			check_ref_list(&ev, "components", comps, "component");
			check_ref_list(&ev, "flows", flows, "flow");
			check_props(&ev, "set", false);
			check_props(&ev, "append", true);
		}
		elem_end(&ev);
	}
}

void lib_blueprint_validate(const struct library *lib, json_t *bp, const char *file,
                            const char *path, struct lib_diag *d)
{
	struct lib_vctx bv = {(struct library *)lib, d, file, path, bp, d->n_errors};
	static const char *const keys[] = {"id",         "name",  "description", "trust_zones",
	                                   "components", "flows", "data_assets", "rules"};
	lib_v_keys(&bv, keys, TS_ARRAY_SIZE(keys));
	lib_v_enum(&bv, "id", profile_kinds, TS_ARRAY_SIZE(profile_kinds), true, 0);
	lib_v_str(&bv, "name", true);
	lib_v_str(&bv, "description", true);
	/* The ids declared per section, for the references between them. */
	json_t *zones = json_object(), *comps = json_object(), *flows = json_object(),
	       *assets = json_object();
	validate_zones(&bv, zones);
	validate_components(&bv, zones, comps);
	validate_flows(&bv, comps, flows);
	validate_assets(&bv, assets);
	validate_rules(&bv, comps, flows);
	json_decref(zones);
	json_decref(comps);
	json_decref(flows);
	json_decref(assets);
}

/* ---- expansion --------------------------------------------------------- */

/* name with every "{name}" replaced by the profile's name (new string). */
static char *template_name(const char *name, const char *profile_name)
{
	struct ts_buf b = {0};
	for (const char *s = name; *s;) {
		if (strncmp(s, "{name}", 6) == 0) {
			ts_buf_puts(&b, profile_name);
			s += 6;
		} else {
			ts_buf_append(&b, s, 1);
			s++;
		}
	}
	return b.data ? ts_buf_steal(&b) : ts_strdup("");
}

static void copy_str(json_t *out, json_t *in, const char *key, const char *profile_name)
{
	const char *s = json_string_value(json_object_get(in, key));
	if (!s)
		return;
	char *t = template_name(s, profile_name);
	json_object_set_new(out, key, json_string(t));
	free(t);
}

static void copy_member(json_t *out, json_t *in, const char *key)
{
	json_t *v = json_object_get(in, key);
	if (v)
		json_object_set_new(out, key, json_deep_copy(v));
}

/* Applies a rule's set/append to one element's properties. */
static void apply_rule(json_t *elem, json_t *rule)
{
	json_t *props = json_object_get(elem, "properties");
	if (!props) {
		props = json_object();
		json_object_set_new(elem, "properties", props);
	}
	const char *k;
	json_t *val;
	json_object_foreach (json_object_get(rule, "set"), k, val)
		json_object_set_new(props, k, json_deep_copy(val));
	json_object_foreach (json_object_get(rule, "append"), k, val) {
		json_t *cur = json_object_get(props, k);
		if (!json_is_array(cur)) {
			cur = json_array();
			json_object_set_new(props, k, cur);
		}
		size_t i;
		json_t *e;
		json_array_foreach (val, i, e) {
			bool have = false;
			size_t j;
			json_t *c;
			json_array_foreach (cur, j, c)
				have = have || json_equal(c, e);
			if (!have)
				json_array_append(cur, e);
		}
	}
}

/* Adds the elements of one blueprint section whose "when" holds; by_id maps
 * each produced id to its element. */
static int expand_section(const struct lib_blueprint *bp, const char *key, json_t *profile,
                          json_t *out, json_t *by_id, struct ts_err *err)
{
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(bp->json, key), i, e) {
		if (!when_matches(json_object_get(e, "when"), profile))
			continue;
		const char *id = json_string_value(json_object_get(e, "id"));
		if (json_object_get(by_id, id))
			return ts_err_set(err, TS_E_INVALID,
			                  "%s: %s.%s[%zu]: the blueprint produces the id \"%s\" "
			                  "twice for this profile (its alternatives' \"when\" "
			                  "overlap)",
			                  bp->file, bp->path, key, i, id);
		json_array_append(out, e);
		json_object_set(by_id, id, e);
	}
	return 0;
}

/* The elements of a blueprint this profile selects, section by section, and
 * what expansion builds from them. */
struct expansion {
	const struct lib_blueprint *bp;
	json_t *profile;
	const char *pname;
	json_t *sel_zones, *sel_comps, *sel_flows, *sel_assets; /* owned, borrowed elements */
	json_t *zone_ids, *comp_ids, *flow_ids, *asset_ids;     /* owned: id -> element */
	json_t *used_zones;                                     /* owned: zones with a component */
	json_t *comp_by_id, *flow_by_id;                        /* owned: id -> produced element */
};

static void expansion_free(struct expansion *x)
{
	json_decref(x->sel_zones);
	json_decref(x->sel_comps);
	json_decref(x->sel_flows);
	json_decref(x->sel_assets);
	json_decref(x->zone_ids);
	json_decref(x->comp_ids);
	json_decref(x->flow_ids);
	json_decref(x->asset_ids);
	json_decref(x->used_zones);
	json_decref(x->comp_by_id);
	json_decref(x->flow_by_id);
}

/* The selected components (new array), noting the zones they use. A component
 * in a zone the profile leaves out is an error of the blueprint. */
static int expand_components(struct expansion *x, json_t **ret, struct ts_err *err)
{
	json_t *components = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (x->sel_comps, i, e) {
		const char *zone = json_string_value(json_object_get(e, "trust_zone"));
		if (!json_object_get(x->zone_ids, zone)) {
			json_decref(components);
			return ts_err_set(
			    err, TS_E_INVALID,
			    "%s: %s: component \"%s\" is placed in trust zone \"%s\", "
			    "which this profile leaves out",
			    x->bp->file, x->bp->path, json_string_value(json_object_get(e, "id")),
			    zone);
		}
		json_object_set_new(x->used_zones, zone, json_true());
		json_t *c = json_object();
		copy_member(c, e, "id");
		copy_member(c, e, "type");
		copy_str(c, e, "name", x->pname);
		copy_str(c, e, "description", x->pname);
		copy_member(c, e, "trust_zone");
		const char *parent = json_string_value(json_object_get(e, "parent"));
		if (parent && json_object_get(x->comp_ids, parent))
			copy_member(c, e, "parent");
		json_t *tags = json_object_get(e, "tags");
		json_object_set_new(c, "tags", tags ? json_deep_copy(tags) : json_array());
		json_t *props = json_object_get(e, "properties");
		json_object_set_new(c, "properties", props ? json_deep_copy(props) : json_object());
		json_array_append_new(components, c);
		json_object_set(x->comp_by_id, json_string_value(json_object_get(e, "id")), c);
	}
	*ret = components;
	return 0;
}

/* The selected zones that hold a component (new array). */
static json_t *expand_zones(struct expansion *x)
{
	json_t *zones = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (x->sel_zones, i, e) {
		if (!json_object_get(x->used_zones, json_string_value(json_object_get(e, "id"))))
			continue;
		json_t *z = json_object();
		copy_member(z, e, "id");
		copy_str(z, e, "name", x->pname);
		copy_member(z, e, "trust_level");
		json_array_append_new(zones, z);
	}
	return zones;
}

/* The selected flows between produced components (new array). */
static json_t *expand_flows(struct expansion *x)
{
	json_t *flows = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (x->sel_flows, i, e) {
		const char *src = json_string_value(json_object_get(e, "source"));
		const char *dst = json_string_value(json_object_get(e, "destination"));
		if (!json_object_get(x->comp_by_id, src) || !json_object_get(x->comp_by_id, dst))
			continue; /* an endpoint this profile does not have */
		json_t *f = json_object();
		copy_member(f, e, "id");
		copy_str(f, e, "name", x->pname);
		copy_str(f, e, "description", x->pname);
		copy_member(f, e, "source");
		copy_member(f, e, "destination");
		copy_member(f, e, "protocol");
		json_t *props = json_object_get(e, "properties");
		json_object_set_new(f, "properties", props ? json_deep_copy(props) : json_object());
		json_array_append_new(flows, f);
		json_object_set(x->flow_by_id, json_string_value(json_object_get(e, "id")), f);
	}
	return flows;
}

static json_t *expand_assets(struct expansion *x)
{
	json_t *assets = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (x->sel_assets, i, e) {
		json_t *a = json_object();
		copy_member(a, e, "id");
		copy_str(a, e, "name", x->pname);
		copy_str(a, e, "description", x->pname);
		copy_member(a, e, "classification");
		copy_member(a, e, "properties");
		json_array_append_new(assets, a);
	}
	return assets;
}

/* Applies every rule whose "when" holds to the produced elements it names. */
static void expand_rules(struct expansion *x)
{
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(x->bp->json, "rules"), i, e) {
		if (!when_matches(json_object_get(e, "when"), x->profile))
			continue;
		size_t j;
		json_t *id;
		json_array_foreach (json_object_get(e, "components"), j, id) {
			json_t *c = json_object_get(x->comp_by_id, json_string_value(id));
			if (c)
				apply_rule(c, e);
		}
		json_array_foreach (json_object_get(e, "flows"), j, id) {
			json_t *f = json_object_get(x->flow_by_id, json_string_value(id));
			if (f)
				apply_rule(f, e);
		}
	}
}

/* Puts the profile's stacks on the components they fit (library_stack_fits):
 * their ids, in the profile's order, as the component's "stack" property, so
 * that its tasks show those stacks' how-tos. A component whose blueprint entry
 * or rules already set "stack" keeps it. */
static void expand_stacks(const struct library *lib, struct expansion *x)
{
	const char *id;
	json_t *c;
	json_object_foreach (x->comp_by_id, id, c) {
		json_t *props = json_object_get(c, "properties");
		if (json_object_get(props, "stack"))
			continue;
		const char *type = json_string_value(json_object_get(c, "type"));
		json_t *stack = json_array();
		size_t i;
		json_t *e;
		json_array_foreach (json_object_get(x->profile, "stack"), i, e) {
			const struct lib_stack *s = library_stack(lib, json_string_value(e));
			if (!s || !type || !library_stack_fits(lib, s, type))
				continue;
			bool have = false;
			size_t j;
			json_t *h;
			json_array_foreach (stack, j, h)
				have = have || strcmp(json_string_value(h), s->id) == 0;
			if (!have)
				json_array_append_new(stack, json_string(s->id));
		}
		if (json_array_size(stack) > 0)
			json_object_set_new(props, "stack", stack);
		else
			json_decref(stack);
	}
}

/* The model's project from the profile (new object). */
static json_t *expand_project(const json_t *profile, const char *pname)
{
	json_t *project = json_object();
	json_object_set_new(project, "name", json_string(pname));
	json_t *desc = json_object_get(profile, "description");
	if (json_string_length(desc) > 0)
		json_object_set(project, "description", desc);
	json_t *comp = json_object_get(profile, "compliance");
	json_object_set_new(project, "compliance", comp ? json_deep_copy(comp) : json_array());
	return project;
}

int blueprint_expand(const struct library *lib, json_t *profile, json_t **ret_model,
                     struct ts_err *err)
{
	const char *kind = json_string_value(json_object_get(profile, "kind"));
	const char *pname = json_string_value(json_object_get(profile, "name"));
	const struct lib_blueprint *bp = kind ? library_blueprint(lib, kind) : NULL;
	if (!bp || !pname)
		return ts_err_set(err, TS_E_INVALID,
		                  "the threat library has no blueprint for the profile kind "
		                  "\"%s\"",
		                  kind ? kind : "(none)");
	struct expansion x = {.bp = bp,
	                      .profile = profile,
	                      .pname = pname,
	                      .sel_zones = json_array(),
	                      .sel_comps = json_array(),
	                      .sel_flows = json_array(),
	                      .sel_assets = json_array(),
	                      .zone_ids = json_object(),
	                      .comp_ids = json_object(),
	                      .flow_ids = json_object(),
	                      .asset_ids = json_object(),
	                      .used_zones = json_object(),
	                      .comp_by_id = json_object(),
	                      .flow_by_id = json_object()};
	json_t *components = NULL;
	int rc;
	if ((rc = expand_section(bp, "trust_zones", profile, x.sel_zones, x.zone_ids, err)) < 0 ||
	    (rc = expand_section(bp, "components", profile, x.sel_comps, x.comp_ids, err)) < 0 ||
	    (rc = expand_section(bp, "flows", profile, x.sel_flows, x.flow_ids, err)) < 0 ||
	    (rc = expand_section(bp, "data_assets", profile, x.sel_assets, x.asset_ids, err)) < 0 ||
	    (rc = expand_components(&x, &components, err)) < 0) {
		expansion_free(&x);
		return rc;
	}
	json_t *zones = expand_zones(&x);
	json_t *flows = expand_flows(&x);
	json_t *assets = expand_assets(&x);
	expand_rules(&x);
	expand_stacks(lib, &x);
	json_t *model = json_object();
	json_object_set_new(model, "format", json_string(MODEL_FORMAT_ID));
	json_object_set_new(model, "project", expand_project(profile, pname));
	json_object_set_new(model, "trust_zones", zones);
	json_object_set_new(model, "components", components);
	json_object_set_new(model, "flows", flows);
	json_object_set_new(model, "data_assets", assets);
	*ret_model = model;
	expansion_free(&x);
	return 0;
}
