/* SPDX-License-Identifier: Apache-2.0 */
/* `library lint`: every problem of a library (not only the first), warnings,
 * control ids checked against the shipped catalogs, and completeness statistics. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expr/expr.h"
#include "engine/library/library.h"
#include "engine/library/library_internal.h"

#define LINT_CATALOG_MAX (4 * 1024 * 1024)

/* The first column of a catalog TSV ("#" comments and the "id" header skipped)
 * as a new set {id: true}; strip_v drops a leading "V" (ASVS). */
static int load_catalog(const char *dir, const char *name, bool strip_v, json_t **ret_set,
                        struct ts_err *err)
{
	char *path = ts_asprintf("%s/%s", dir, name);
	char *data = NULL;
	int r = ts_read_file(path, LINT_CATALOG_MAX, &data, NULL);
	if (r < 0) {
		ts_err_set(err, r == -ENOENT ? TS_E_NOTFOUND : TS_E_INVALID, "%s: cannot read: %s", path,
		           strerror(-r));
		free(path);
		return r;
	}
	json_t *set = json_object();
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		if (tab)
			*tab = '\0';
		char *cr = strchr(line, '\r');
		if (cr)
			*cr = '\0';
		if (!*line || strcmp(line, "id") == 0)
			continue;
		if (strip_v && line[0] == 'V')
			line++;
		json_object_set_new(set, line, json_true());
	}
	free(data);
	if (json_object_size(set) == 0) {
		json_decref(set);
		ts_err_set(err, TS_E_INVALID, "%s: no control ids found", path);
		free(path);
		return -EINVAL;
	}
	free(path);
	*ret_set = set;
	return 0;
}

/* Index of id in the file's array for framework fw of cm (for the JSON path). */
static size_t id_index(const struct lib_countermeasure *cm, const char *fw, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(json_object_get(cm->json, "compliance"), fw), i, e) {
		if (json_is_string(e) && strcmp(json_string_value(e), id) == 0)
			return i;
	}
	return 0;
}

static void check_catalog(const struct library *lib, struct lib_diag *d, const char *fw,
                          json_t *set, bool warning)
{
	for (size_t i = 0; i < library_n_countermeasures(lib); i++) {
		const struct lib_countermeasure *cm = library_countermeasure_at(lib, i);
		for (size_t k = 0; k < cm->n_compliance; k++) {
			const struct lib_compliance *c = &cm->compliance[k];
			if (strcmp(c->framework, fw) != 0)
				continue;
			for (size_t j = 0; j < c->n_ids; j++) {
				if (json_object_get(set, c->ids[j]))
					continue;
				char *p1 = lib_path_key(cm->path, "compliance");
				char *p2 = lib_path_key(p1, fw);
				char *p3 = lib_path_index(p2, id_index(cm, fw, c->ids[j]));
				if (warning)
					lib_diag_add(d, true, 0, cm->file, p3,
					             "\"%s\" is not in the NIST SP 800-53 Rev. 5 "
					             "baselines: check that the control exists",
					             c->ids[j]);
				else
					lib_diag_add(
					    d, false, TS_E_INVALID, cm->file, p3,
					    "\"%s\" is not an OWASP ASVS 4.0.3 requirement",
					    c->ids[j]);
				free(p1);
				free(p2);
				free(p3);
			}
		}
	}
}

static void extra_warnings(const struct library *lib, struct lib_diag *d)
{
	size_t n_cms = library_n_countermeasures(lib);
	bool *used = ts_calloc(n_cms + 1, sizeof(bool));
	for (size_t i = 0; i < library_n_threats(lib); i++) {
		const struct lib_threat *t = library_threat_at(lib, i);
		if (t->n_countermeasures == 0)
			lib_diag_add(d, true, 0, t->file, t->path,
			             "threat \"%s\" lists no countermeasure", t->id);
		for (size_t k = 0; k < t->n_countermeasures; k++)
			used[t->countermeasures[k] - library_countermeasure_at(lib, 0)] = true;
	}
	for (size_t i = 0; i < n_cms; i++) {
		const struct lib_countermeasure *cm = library_countermeasure_at(lib, i);
		if (!used[i])
			lib_diag_add(d, true, 0, cm->file, cm->path,
			             "countermeasure \"%s\" is not used by any threat", cm->id);
	}
	free(used);
}

/* Every threat says when it applies: a condition, or in "unconditional" why
 * it holds for every component of its types. A broad threat without either
 * fires where a reviewer would call it out of place, so this is an error. */
static void condition_audit(const struct library *lib, struct lib_diag *d)
{
	for (size_t i = 0; i < library_n_threats(lib); i++) {
		const struct lib_threat *t = library_threat_at(lib, i);
		if (t->condition || t->unconditional)
			continue;
		lib_diag_add(d, false, TS_E_INVALID, t->file, t->path,
		             "threat \"%s\" has neither a condition nor an \"unconditional\" "
		             "reason: add a condition naming what makes it possible, or say in "
		             "one sentence why it holds for every component of its types",
		             t->id);
	}
}

/* ---- the declared vocabulary ------------------------------------------ */

static const char *const scope_names[] = {"component", "flow", "project", "asset"};

/* Which declared properties and tags something tests, and where problems go. */
struct vocab_check {
	const struct library *lib;
	struct lib_diag *d;
	bool *used_props;
	bool *used_tags;
	const char *file; /* of the condition being checked */
	const char *path;
};

static void vocab_ref_cb(const struct expr_ref *ref, void *arg)
{
	struct vocab_check *vc = arg;
	const struct library *lib = vc->lib;
	enum lib_prop_scope scope = (enum lib_prop_scope)ref->scope;
	int len = ref->len > 200 ? 200 : (int)ref->len;
	if (ref->kind == EXPR_REF_TAG) {
		const struct lib_tag *t = library_tag(lib, ref->name, ref->len);
		if (t)
			vc->used_tags[t - library_tag_at(lib, 0)] = true;
		else
			lib_diag_add(vc->d, false, TS_E_INVALID, vc->file, vc->path,
			             "column %d: tests the tag \"%.*s\", which is not declared "
			             "(component_types.json \"tags\")",
			             ref->col, len, ref->name);
		return;
	}
	if (ref->kind == EXPR_REF_VALUE) {
		const struct lib_property *p =
		    library_property(lib, scope, ref->property, strlen(ref->property));
		if (!p || !p->n_values)
			return;
		for (size_t i = 0; i < p->n_values; i++)
			if (strlen(p->values[i]) == ref->len &&
			    memcmp(p->values[i], ref->name, ref->len) == 0)
				return;
		lib_diag_add(vc->d, false, TS_E_INVALID, vc->file, vc->path,
		             "column %d: compares the %s property \"%s\" with \"%.*s\", which is "
		             "not one of its declared values",
		             ref->col, scope_names[scope], ref->property, len, ref->name);
		return;
	}
	const struct lib_property *p = library_property(lib, scope, ref->name, ref->len);
	if (p)
		vc->used_props[p - library_property_at(lib, 0)] = true;
	else
		lib_diag_add(vc->d, false, TS_E_INVALID, vc->file, vc->path,
		             "column %d: tests the %s property \"%.*s\", which is not declared "
		             "(component_types.json \"properties\")",
		             ref->col, scope_names[scope], len, ref->name);
}

static void vocab_condition(struct vocab_check *vc, const struct expr *e, const char *file,
                            const char *path)
{
	vc->file = file;
	vc->path = path;
	expr_refs(e, vocab_ref_cb, vc);
}

/* The properties an object sets (a type's defaults, a blueprint's components,
 * flows and rules) must be declared in scope. */
static void vocab_sets(struct vocab_check *vc, json_t *props, enum lib_prop_scope scope,
                       const char *file, const char *path)
{
	const char *k;
	json_t *v;
	json_object_foreach (props, k, v) {
		if (library_property(vc->lib, scope, k, strlen(k)))
			continue;
		char *p = lib_path_key(path, k);
		lib_diag_add(vc->d, false, TS_E_INVALID, file, p,
		             "sets the %s property \"%s\", which is not declared "
		             "(component_types.json \"properties\")",
		             scope_names[scope], k);
		free(p);
	}
}

static void vocab_blueprint(struct vocab_check *vc, const struct lib_blueprint *bp)
{
	static const struct {
		const char *key;
		enum lib_prop_scope scope;
	} parts[] = {{"components", LIB_PROP_COMPONENT}, {"flows", LIB_PROP_FLOW}};
	for (size_t k = 0; k < TS_ARRAY_SIZE(parts); k++) {
		char *base = lib_path_key(bp->path, parts[k].key);
		size_t i;
		json_t *e;
		json_array_foreach (json_object_get(bp->json, parts[k].key), i, e) {
			char *p = lib_path_index(base, i);
			char *pp = lib_path_key(p, "properties");
			vocab_sets(vc, json_object_get(e, "properties"), parts[k].scope, bp->file,
			           pp);
			free(pp);
			free(p);
		}
		free(base);
	}
	char *base = lib_path_key(bp->path, "rules");
	size_t i;
	json_t *r;
	json_array_foreach (json_object_get(bp->json, "rules"), i, r) {
		enum lib_prop_scope scope =
		    json_object_get(r, "flows") ? LIB_PROP_FLOW : LIB_PROP_COMPONENT;
		char *p = lib_path_index(base, i);
		static const char *const ops[] = {"set", "append"};
		for (size_t o = 0; o < TS_ARRAY_SIZE(ops); o++) {
			char *pp = lib_path_key(p, ops[o]);
			vocab_sets(vc, json_object_get(r, ops[o]), scope, bp->file, pp);
			free(pp);
		}
		free(p);
	}
	free(base);
}

/* Every property and tag a condition tests (threats, satisfied_by rules and the
 * configuration's classification rules) must be declared, and so must every
 * property the library sets; a declared one that nothing tests is a warning. */
static void vocabulary_check(const struct library *lib, struct lib_diag *d,
                             const struct library_lint_opts *opts)
{
	struct vocab_check vc = {lib, d, ts_calloc(library_n_properties(lib) + 1, sizeof(bool)),
	                         ts_calloc(library_n_tags(lib) + 1, sizeof(bool)), NULL, NULL};
	for (size_t i = 0; i < library_n_threats(lib); i++) {
		const struct lib_threat *t = library_threat_at(lib, i);
		char *p = lib_path_key(t->path, "condition");
		vocab_condition(&vc, t->condition, t->file, p);
		free(p);
	}
	for (size_t i = 0; i < library_n_countermeasures(lib); i++) {
		const struct lib_countermeasure *c = library_countermeasure_at(lib, i);
		if (!c->satisfied_by || !c->satisfied_by->condition)
			continue;
		char *p1 = lib_path_key(c->path, "satisfied_by");
		char *p2 = lib_path_key(p1, "condition");
		vocab_condition(&vc, c->satisfied_by->condition, c->file, p2);
		free(p1);
		free(p2);
	}
	for (size_t i = 0; opts && i < opts->n_conditions; i++) {
		struct expr *e = NULL;
		struct ts_err err = {0};
		if (expr_parse(opts->conditions[i], &e, &err) < 0) {
			lib_diag_add(d, false, TS_E_INVALID, opts->conditions_file,
			             opts->condition_places[i], "%s", err.msg);
			continue;
		}
		vocab_condition(&vc, e, opts->conditions_file, opts->condition_places[i]);
		expr_free(e);
	}
	for (size_t i = 0; i < library_n_component_types(lib); i++) {
		const struct lib_component_type *t = library_component_type_at(lib, i);
		char *p = lib_path_key(t->path, "default_properties");
		vocab_sets(&vc, t->default_properties, LIB_PROP_COMPONENT, t->file, p);
		free(p);
	}
	for (size_t i = 0; i < library_n_blueprints(lib); i++)
		vocab_blueprint(&vc, library_blueprint_at(lib, i));
	/* What importers imply from foreign types (the file is no longer known
	 * after overlaying: named by the member). */
	const char *fmt, *foreign;
	json_t *map, *props;
	json_object_foreach (lib->implied, fmt, map) {
		json_object_foreach (map, foreign, props) {
			char *p1 = lib_path_key("$.implied_properties", fmt);
			char *p2 = lib_path_key(p1, foreign);
			vocab_sets(&vc, props, LIB_PROP_COMPONENT, "mappings.json", p2);
			free(p1);
			free(p2);
		}
	}
	for (size_t i = 0; i < library_n_properties(lib); i++) {
		const struct lib_property *p = library_property_at(lib, i);
		if (!vc.used_props[i])
			lib_diag_add(d, true, 0, p->file, p->path,
			             "the %s property \"%s\" is declared but no condition tests it",
			             p->scope_name, p->name);
	}
	for (size_t i = 0; i < library_n_tags(lib); i++) {
		const struct lib_tag *t = library_tag_at(lib, i);
		if (!vc.used_tags[i])
			lib_diag_add(d, true, 0, t->file, t->path,
			             "the tag \"%s\" is declared but no condition tests it", t->tag);
	}
	free(vc.used_props);
	free(vc.used_tags);
}

static json_t *ratio(size_t count, size_t total)
{
	double r = total ? (double)count / (double)total : 0.0;
	return json_pack("{s:I,s:I,s:f}", "count", (json_int_t)count, "total", (json_int_t)total,
	                 "ratio", floor(r * 10000.0 + 0.5) / 10000.0);
}

static json_t *diag_items(const struct lib_diag *d, bool warnings)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct lib_diag_item *it = &d->items[i];
		if (it->warning != warnings)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(it->file ? it->file : ""));
		json_object_set_new(o, "path", json_string(it->path ? it->path : ""));
		json_object_set_new(o, "message", json_string(it->msg));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void bump(json_t *counts, const char *key)
{
	json_t *v = json_object_get(counts, key);
	json_integer_set(v, json_integer_value(v) + 1);
}

/* The threats' share in completeness and their STRIDE, severity and scope
 * coverage; covered receives every component type a threat applies to. */
static void threat_statistics(const struct library *lib, json_t *completeness, json_t *coverage,
                              json_t *covered)
{
	size_t nt = library_n_threats(lib);
	size_t t_cwe = 0, t_capec = 0, t_cond = 0, t_uncond = 0;
	json_t *stride =
	    json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "S", 0, "T", 0, "R", 0, "I", 0, "D", 0, "E", 0);
	json_t *sev =
	    json_pack("{s:i,s:i,s:i,s:i}", "critical", 0, "high", 0, "medium", 0, "low", 0);
	json_t *scope = json_pack("{s:i,s:i,s:i}", "component", 0, "flow", 0, "system", 0);
	for (size_t i = 0; i < nt; i++) {
		const struct lib_threat *t = library_threat_at(lib, i);
		t_cwe += t->n_cwe > 0;
		t_capec += t->n_capec > 0;
		t_cond += t->condition != NULL;
		t_uncond += t->unconditional != NULL;
		for (const char *s = t->stride; *s; s++) {
			char k[2] = {*s, '\0'};
			bump(stride, k);
		}
		bump(sev, t->severity);
		bump(scope, t->scope == LIB_SCOPE_FLOW     ? "flow"
		            : t->scope == LIB_SCOPE_SYSTEM ? "system"
		                                           : "component");
		for (size_t k = 0; k < t->n_applies_to; k++)
			json_object_set_new(covered, t->applies_to[k], json_true());
	}
	json_object_set_new(completeness, "threats_with_cwe", ratio(t_cwe, nt));
	json_object_set_new(completeness, "threats_with_capec", ratio(t_capec, nt));
	json_object_set_new(completeness, "threats_with_condition", ratio(t_cond, nt));
	json_object_set_new(completeness, "threats_unconditional", ratio(t_uncond, nt));
	json_object_set_new(coverage, "stride", stride);
	json_object_set_new(coverage, "severity", sev);
	json_object_set_new(coverage, "scope", scope);
}

/* The countermeasures' share in completeness and their count per framework. */
static void cm_statistics(const struct library *lib, json_t *completeness, json_t *coverage)
{
	size_t nc = library_n_countermeasures(lib);
	size_t c_acc = 0, c_how = 0, c_comp = 0, c_train = 0, c_sat = 0;
	json_t *fw = json_object();
	for (size_t i = 0; i < nc; i++) {
		const struct lib_countermeasure *c = library_countermeasure_at(lib, i);
		c_acc += c->acceptance_test != NULL;
		c_how += c->n_how_to > 0;
		c_comp += c->n_compliance > 0;
		c_train += c->n_training > 0;
		c_sat += c->satisfied_by != NULL;
		for (size_t k = 0; k < c->n_compliance; k++) {
			json_t *v = json_object_get(fw, c->compliance[k].framework);
			json_object_set_new(fw, c->compliance[k].framework,
			                    json_integer(json_integer_value(v) + 1));
		}
	}
	/* Frameworks in a fixed order whatever the input order. */
	json_t *fw_sorted = json_object();
	static const char *const fws[] = {"ccpa",        "gdpr",       "hipaa",   "iso-27001",
	                                  "nist-800-53", "owasp-asvs", "pci-dss", "soc2"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(fws); i++)
		json_object_set_new(fw_sorted, fws[i],
		                    json_integer(json_integer_value(json_object_get(fw, fws[i]))));
	json_decref(fw);
	json_object_set_new(completeness, "countermeasures_with_acceptance_test", ratio(c_acc, nc));
	json_object_set_new(completeness, "countermeasures_with_how_to", ratio(c_how, nc));
	json_object_set_new(completeness, "countermeasures_with_compliance", ratio(c_comp, nc));
	json_object_set_new(completeness, "countermeasures_with_training", ratio(c_train, nc));
	json_object_set_new(completeness, "countermeasures_with_satisfied_by", ratio(c_sat, nc));
	json_object_set_new(coverage, "countermeasures_per_framework", fw_sorted);
}

/* Component types no threat applies to (covered: those that have one) and
 * profile kinds without a blueprint. */
static void coverage_gaps(const struct library *lib, const json_t *covered, json_t *coverage)
{
	json_t *uncovered = json_array();
	for (size_t i = 0; i < library_n_component_types(lib); i++) {
		const struct lib_component_type *ct = library_component_type_at(lib, i);
		if (!json_object_get(covered, ct->id))
			json_array_append_new(uncovered, json_string(ct->id));
	}
	static const char *const kinds[] = {
	    "web_app",       "spa_api",        "mobile_api",   "microservices", "serverless_api",
	    "data_pipeline", "internal_admin", "b2b_webhooks", "iot_backend",   "ml_inference"};
	json_t *no_bp = json_array();
	for (size_t i = 0; i < TS_ARRAY_SIZE(kinds); i++)
		if (!library_blueprint(lib, kinds[i]))
			json_array_append_new(no_bp, json_string(kinds[i]));
	json_object_set_new(coverage, "component_types_without_threats", uncovered);
	json_object_set_new(coverage, "profile_kinds_without_blueprint", no_bp);
}

static json_t *statistics(const struct library *lib)
{
	json_t *completeness = json_object(), *coverage = json_object(), *covered = json_object();
	threat_statistics(lib, completeness, coverage, covered);
	cm_statistics(lib, completeness, coverage);
	coverage_gaps(lib, covered, coverage);
	json_decref(covered);

	json_t *counts = json_object();
	json_object_set_new(counts, "component_types",
	                    json_integer((json_int_t)library_n_component_types(lib)));
	json_object_set_new(counts, "threats", json_integer((json_int_t)library_n_threats(lib)));
	json_object_set_new(counts, "countermeasures",
	                    json_integer((json_int_t)library_n_countermeasures(lib)));
	json_object_set_new(counts, "blueprints",
	                    json_integer((json_int_t)library_n_blueprints(lib)));
	json_object_set_new(counts, "type_mappings", json_integer((json_int_t)lib->n_mappings));
	json_object_set_new(counts, "properties",
	                    json_integer((json_int_t)library_n_properties(lib)));
	json_object_set_new(counts, "tags", json_integer((json_int_t)library_n_tags(lib)));

	return json_pack("{s:o,s:o,s:o}", "counts", counts, "completeness", completeness,
	                 "coverage", coverage);
}

int library_lint(const char *const *dirs, size_t n_dirs, const struct library_lint_opts *opts,
                 json_t **ret_report, struct ts_err *err)
{
	json_t *nist = NULL, *asvs = NULL;
	const char *cat = opts ? opts->catalogs_dir : NULL;
	if (cat) {
		int r = load_catalog(cat, "nist-800-53r5-baselines.tsv", false, &nist, err);
		if (r < 0)
			return r;
		r = load_catalog(cat, "asvs-4.0.3.tsv", true, &asvs, err);
		if (r < 0) {
			json_decref(nist);
			return r;
		}
	}
	struct lib_diag d = {0};
	struct library *lib = NULL;
	int r = lib_load_diag(dirs, n_dirs, &lib, &d);
	if (r < 0) {
		lib_diag_format(&d, err);
		lib_diag_free(&d);
		library_free(lib);
		json_decref(nist);
		json_decref(asvs);
		return r;
	}
	if (nist)
		check_catalog(lib, &d, "nist-800-53", nist, true);
	if (asvs)
		check_catalog(lib, &d, "owasp-asvs", asvs, false);
	extra_warnings(lib, &d);
	condition_audit(lib, &d);
	lib_lint_duplicates(lib, dirs, n_dirs, &d);
	vocabulary_check(lib, &d, opts);

	json_t *report = json_object();
	json_object_set_new(report, "format", json_string("threatsync-library-lint/1"));
	json_t *dl = json_array();
	for (size_t i = 0; i < n_dirs; i++)
		json_array_append_new(dl, json_string(dirs[i]));
	json_object_set_new(report, "directories", dl);
	json_object_set_new(report, "ok", json_boolean(d.n_errors == 0));
	json_object_set_new(
	    report, "catalogs",
	    json_pack("{s:b,s:b}", "nist-800-53", nist != NULL, "owasp-asvs", asvs != NULL));
	json_object_set_new(report, "errors", diag_items(&d, false));
	json_object_set_new(report, "warnings", diag_items(&d, true));
	json_t *stats = statistics(lib);
	json_object_update(report, stats);
	json_decref(stats);
	lib_diag_free(&d);
	library_free(lib);
	json_decref(nist);
	json_decref(asvs);
	*ret_report = report;
	return 0;
}
