/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing and lookups of a connector's field mapping and workflow. */
#include "engine/tracking/fieldmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const builtin_priority[] = {"Highest", "High", "Medium", "Low"};

static const char *const task_statuses[] = {"todo", "in_progress", "done", "risk_accepted",
                                            "not_applicable"};

/* Jira fields threatsync writes itself: a custom field entry may not name them. */
static const char *const reserved_fields[] = {"summary",   "description", "labels",  "project",
                                              "issuetype", "priority",    "duedate", NULL};

static const char *const kind_names[] = {[FIELDMAP_STRING] = "string",
                                         [FIELDMAP_NUMBER] = "number",
                                         [FIELDMAP_OPTION] = "option",
                                         [FIELDMAP_ARRAY] = "array"};

struct parse {
	fieldmap_problem_cb cb;
	void *ud;
	int problems;
};

static void problem(struct parse *p, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct parse *p, const config_setting_t *s, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->cb(p->ud, s, msg);
	p->problems++;
}

bool fieldmap_key(const char *name)
{
	return name && (strcmp(name, "priority_map") == 0 || strcmp(name, "custom_fields") == 0 ||
	                strcmp(name, "transition_fields") == 0 || strcmp(name, "status_map") == 0);
}

static bool has_control(const char *v)
{
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return true;
	return false;
}

/* A non-empty string of at most max bytes without control characters, or
 * NULL after reporting why not. Borrowed from libconfig. */
static const char *get_str(struct parse *p, const config_setting_t *s, const char *what, size_t max)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		problem(p, s, "%s: expected a string", what);
		return NULL;
	}
	const char *v = config_setting_get_string(s);
	if (!*v) {
		problem(p, s, "%s: must not be empty", what);
		return NULL;
	}
	if (strlen(v) > max) {
		problem(p, s, "%s: longer than %zu bytes", what, max);
		return NULL;
	}
	if (has_control(v)) {
		problem(p, s, "%s: must not contain control characters or newlines", what);
		return NULL;
	}
	return v;
}

/* Reports the members of group g not among known (NULL-terminated). */
static void unknown_keys(struct parse *p, const config_setting_t *g, const char *what,
                         const char *const *known)
{
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		bool ok = false;
		for (size_t k = 0; name && known[k] && !ok; k++)
			ok = strcmp(known[k], name) == 0;
		if (!ok)
			problem(p, m, "%s: unknown key '%s'", what, name ? name : "?");
	}
}

static void parse_priority(struct fieldmap *fm, struct parse *p, const config_setting_t *s)
{
	int t = config_setting_type(s);
	if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || config_setting_length(s) != 4) {
		problem(p, s,
		        "priority_map: expected exactly 4 priority names [P1, P2, P3, P4], "
		        "e.g. [\"Highest\", \"High\", \"Medium\", \"Low\"]");
		return;
	}
	char *names[4] = {0};
	bool ok = true;
	for (int i = 0; i < 4; i++) {
		char what[32];
		snprintf(what, sizeof(what), "priority_map[%d]", i);
		const char *v = get_str(p, config_setting_get_elem(s, (unsigned)i), what, 255);
		if (!v)
			ok = false;
		else
			names[i] = ts_strdup(v);
	}
	for (int i = 0; i < 4; i++) {
		free(fm->priority[i]);
		fm->priority[i] = ok ? names[i] : NULL;
		if (!ok)
			free(names[i]);
	}
}

static bool valid_field_id(const char *v)
{
	size_t n = strlen(v);
	return n <= 64 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/* custom_fields[i].field: a field id that threatsync does not write itself
 * and that no earlier entry maps. NULL after reporting the problem. */
static const char *custom_field_id(const struct fieldmap *fm, struct parse *p,
                                   const config_setting_t *fs, const char *what)
{
	char w[96];
	snprintf(w, sizeof(w), "%s.field", what);
	const char *field = get_str(p, fs, w, 64);
	if (field && !valid_field_id(field)) {
		problem(p, fs, "%s: '%s' is not a field id (letters, digits, '_')", w, field);
		return NULL;
	}
	for (size_t k = 0; field && reserved_fields[k]; k++) {
		if (strcmp(field, reserved_fields[k]) == 0) {
			problem(p, fs,
			        "%s: '%s' is written by threatsync itself and cannot be a custom "
			        "field",
			        w, field);
			return NULL;
		}
	}
	for (size_t k = 0; field && k < fm->n_custom; k++) {
		if (strcmp(fm->custom[k].field, field) == 0) {
			problem(p, fs, "%s: field '%s' is already mapped at line %d", w, field,
			        fm->custom[k].line);
			return NULL;
		}
	}
	return field;
}

/* custom_fields[i].type (absent: string): the kind, or -1 after reporting
 * the problem. */
static int custom_field_kind(struct parse *p, const config_setting_t *ts, const char *what)
{
	if (!ts)
		return FIELDMAP_STRING;
	char w[96];
	snprintf(w, sizeof(w), "%s.type", what);
	const char *tv = get_str(p, ts, w, 16);
	int kind = -1;
	for (size_t k = 0; tv && k < TS_ARRAY_SIZE(kind_names); k++)
		if (strcmp(kind_names[k], tv) == 0)
			kind = (int)k;
	if (tv && kind < 0)
		problem(p, ts, "%s: '%s' is not one of string, number, option, array", w, tv);
	return kind;
}

/* One entry of custom_fields, added to fm when every part of it is valid. */
static void parse_custom_one(struct fieldmap *fm, struct parse *p, const config_setting_t *g,
                             const char *what)
{
	static const char *const known[] = {"field", "value", "type", "owned", NULL};
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		problem(p, g, "%s: expected a group { field = ...; value = ...; }", what);
		return;
	}
	unknown_keys(p, g, what, known);
	const config_setting_t *fs = config_setting_get_member(g, "field");
	const config_setting_t *vs = config_setting_get_member(g, "value");
	const config_setting_t *os = config_setting_get_member(g, "owned");
	const char *field = NULL, *value = NULL;
	if (!fs)
		problem(p, g, "%s: field is required (e.g. \"customfield_10042\")", what);
	else
		field = custom_field_id(fm, p, fs, what);
	char w[96];
	snprintf(w, sizeof(w), "%s.value", what);
	if (!vs)
		problem(p, g, "%s: value is required (a template such as \"{{severity}}\")", what);
	else
		value = get_str(p, vs, w, TEMPLATE_SOURCE_MAX);
	struct template *tpl = NULL;
	if (value) {
		struct ts_err err = {0};
		if (template_compile(value, &tpl, &err) < 0) {
			problem(p, vs, "%s: %s", w, err.msg);
			value = NULL;
		}
	}
	int kind = custom_field_kind(p, config_setting_get_member(g, "type"), what);
	bool owned = false;
	if (os) {
		if (config_setting_type(os) != CONFIG_TYPE_BOOL) {
			problem(p, os, "%s.owned: expected true or false", what);
			kind = -1;
		} else {
			owned = config_setting_get_bool(os) != 0;
		}
	}
	if (!field || !value || kind < 0) {
		template_free(tpl);
		return;
	}
	fm->custom = ts_realloc(fm->custom, (fm->n_custom + 1) * sizeof(*fm->custom));
	fm->custom[fm->n_custom++] = (struct fieldmap_custom){
	    .field = ts_strdup(field),
	    .source = ts_strdup(value),
	    .value = tpl,
	    .kind = (enum fieldmap_kind)kind,
	    .owned = owned,
	    .line = config_setting_source_line(g),
	};
}

static void parse_custom(struct fieldmap *fm, struct parse *p, const config_setting_t *s)
{
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		char what[48];
		snprintf(what, sizeof(what), "custom_fields[%d]", i);
		parse_custom_one(fm, p, config_setting_get_elem(s, (unsigned)i), what);
	}
}

static void parse_transitions(struct fieldmap *fm, struct parse *p, const config_setting_t *s)
{
	static const char *const known[] = {"to", "field", "value", NULL};
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		char what[48];
		snprintf(what, sizeof(what), "transition_fields[%d]", i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			problem(p, g,
			        "%s: expected a group { to = ...; field = ...; value = ...; }",
			        what);
			continue;
		}
		unknown_keys(p, g, what, known);
		const char *v[3] = {0};
		bool ok = true;
		for (int k = 0; k < 3; k++) {
			const config_setting_t *m = config_setting_get_member(g, known[k]);
			char w[96];
			snprintf(w, sizeof(w), "%s.%s", what, known[k]);
			if (!m) {
				problem(p, g, "%s: %s is required", what, known[k]);
				ok = false;
				continue;
			}
			v[k] = get_str(p, m, w, 255);
			ok = ok && v[k];
		}
		if (ok && !valid_field_id(v[1])) {
			problem(p, config_setting_get_member(g, "field"),
			        "%s.field: '%s' is not a field id (letters, digits, '_')", what,
			        v[1]);
			ok = false;
		}
		if (!ok)
			continue;
		fm->transitions =
		    ts_realloc(fm->transitions, (fm->n_transitions + 1) * sizeof(*fm->transitions));
		fm->transitions[fm->n_transitions++] = (struct fieldmap_transition){
		    .to = ts_strdup(v[0]),
		    .field = ts_strdup(v[1]),
		    .value = ts_strdup(v[2]),
		    .line = config_setting_source_line(g),
		};
	}
}

static void parse_statuses(struct fieldmap *fm, struct parse *p, const config_setting_t *s)
{
	static const char *const known[] = {"status", "resolution", "to", NULL};
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		char what[48], w[96];
		snprintf(what, sizeof(what), "status_map[%d]", i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			problem(p, g, "%s: expected a group { status = ...; to = ...; }", what);
			continue;
		}
		unknown_keys(p, g, what, known);
		const config_setting_t *ss = config_setting_get_member(g, "status");
		const config_setting_t *rs = config_setting_get_member(g, "resolution");
		const config_setting_t *tos = config_setting_get_member(g, "to");
		bool ok = true;
		const char *status = NULL, *resolution = NULL, *to = NULL;
		if (!ss && !rs) {
			problem(p, g, "%s: needs status or resolution (or both)", what);
			ok = false;
		}
		if (ss) {
			snprintf(w, sizeof(w), "%s.status", what);
			ok = (status = get_str(p, ss, w, 255)) != NULL && ok;
		}
		if (rs) {
			snprintf(w, sizeof(w), "%s.resolution", what);
			ok = (resolution = get_str(p, rs, w, 255)) != NULL && ok;
		}
		if (!tos) {
			problem(p, g, "%s: to is required (a task status)", what);
			ok = false;
		} else {
			snprintf(w, sizeof(w), "%s.to", what);
			const char *tv = get_str(p, tos, w, 32);
			for (size_t k = 0; tv && k < TS_ARRAY_SIZE(task_statuses); k++)
				if (strcmp(task_statuses[k], tv) == 0)
					to = task_statuses[k];
			if (tv && !to)
				problem(p, tos,
				        "%s: '%s' is not one of todo, in_progress, done, "
				        "risk_accepted, not_applicable",
				        w, tv);
			ok = ok && to;
		}
		if (!ok)
			continue;
		fm->statuses =
		    ts_realloc(fm->statuses, (fm->n_statuses + 1) * sizeof(*fm->statuses));
		fm->statuses[fm->n_statuses++] = (struct fieldmap_status){
		    .status = ts_strdup(status),
		    .resolution = ts_strdup(resolution),
		    .to = to,
		    .line = config_setting_source_line(g),
		};
	}
}

int fieldmap_parse(struct fieldmap **fm, const config_setting_t *s, fieldmap_problem_cb problem_cb,
                   void *ud)
{
	struct parse p = {problem_cb, ud, 0};
	const char *name = config_setting_name(s);
	if (!*fm)
		*fm = ts_calloc(1, sizeof(**fm));
	if (name && strcmp(name, "priority_map") == 0) {
		parse_priority(*fm, &p, s);
		return p.problems;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		problem(&p, s, "%s: expected a list ( { ... }, ... )", name ? name : "?");
		return p.problems;
	}
	if (name && strcmp(name, "custom_fields") == 0)
		parse_custom(*fm, &p, s);
	else if (name && strcmp(name, "transition_fields") == 0)
		parse_transitions(*fm, &p, s);
	else if (name && strcmp(name, "status_map") == 0)
		parse_statuses(*fm, &p, s);
	else
		problem(&p, s, "unknown key '%s'", name ? name : "?");
	return p.problems;
}

void fieldmap_free(struct fieldmap *fm)
{
	if (!fm)
		return;
	for (int i = 0; i < 4; i++)
		free(fm->priority[i]);
	for (size_t i = 0; i < fm->n_custom; i++) {
		free(fm->custom[i].field);
		free(fm->custom[i].source);
		template_free(fm->custom[i].value);
	}
	free(fm->custom);
	for (size_t i = 0; i < fm->n_transitions; i++) {
		free(fm->transitions[i].to);
		free(fm->transitions[i].field);
		free(fm->transitions[i].value);
	}
	free(fm->transitions);
	for (size_t i = 0; i < fm->n_statuses; i++) {
		free(fm->statuses[i].status);
		free(fm->statuses[i].resolution);
	}
	free(fm->statuses);
	free(fm);
}

const char *fieldmap_priority(const struct fieldmap *fm, int priority)
{
	if (priority < 1 || priority > 4)
		return NULL;
	if (fm && fm->priority[priority - 1])
		return fm->priority[priority - 1];
	return builtin_priority[priority - 1];
}
