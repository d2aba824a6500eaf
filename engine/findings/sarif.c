/* SPDX-License-Identifier: Apache-2.0 */
/* SARIF 2.1.0 logs from any producer: the results of every run streamed one at
 * a time and resolved against the run's rules, artifacts, base URIs and
 * taxonomies, which are built in place beside them.
 *
 * Key order is free in JSON, and producers that sort keys write a run's
 * results before its tool and the log's runs before its version. One pass
 * suffices when everything a result needs comes before it; otherwise the
 * first pass stops at the first result that needs what is not read yet, a
 * second pass collects the log without its results, and a third hands over
 * the results from where the first stopped.
 *
 * SARIF-defined members of the wrong type are errors naming their path;
 * property bags (properties) are free-form and what does not fit is ignored. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings.h"
#include "engine/findings/findings_internal.h"
#include "engine/findings/jstream.h"

#define SARIF_PATH_MAX 512     /* document paths in messages */
#define SARIF_BASE_CHAIN_MAX 8 /* uriBaseId -> originalUriBaseIds[..].uriBaseId -> ... */

struct sarif {
	const struct findings_input *in;
	finding_cb cb;
	void *ud;
	struct findings_report *rep;
	struct ts_err *err;
	struct jstream *js; /* the pass under way */
	json_t *log;        /* the third pass: the log as the second pass read it
	                     * (owned); NULL: the document jstream builds */
	bool deferred;      /* the first pass met a result whose context comes later */
	size_t resume_run;  /* results before (resume_run, resume_result) were handed over */
	size_t resume_result;
	bool version_checked;
	/* rules by id of one run (driver first, then extensions), built at the
	 * run's first result */
	json_t *rules_by_id;
	json_t *rules_run; /* the run they are of (a reference: a run replaced by a
	                    * repeated key is not mistaken for it) */
};

/* ---- typed access ------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
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

static const char *want_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	default:
		return "a value";
	}
}

/* o[key] when it has type t (NULL when o is NULL, the key is absent or null);
 * a value of another type is TS_E_INVALID "NAME: PATH.key: expected ...". */
static int member(struct sarif *s, const json_t *o, const char *path, const char *key, json_type t,
                  json_t **ret)
{
	*ret = NULL;
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != t)
		return ts_err_set(s->err, TS_E_INVALID, "%s: %s.%s: expected %s, found %s",
		                  s->in->name, path, key, want_name(t), type_name(v));
	*ret = v;
	return 0;
}

/* A string of a property bag, or NULL. */
static const char *bag_string(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* o.a.b...: objects along the way, a string at the end; NULL otherwise
 * (descriptive text, where a wrong type only loses the text). */
static const char *text_at(const json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void subpath(char *buf, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void subpath(char *buf, const char *path, const char *fmt, ...)
{
	/* buf may be path itself: then only the tail is written */
	size_t n = strlen(path);
	if (n >= SARIF_PATH_MAX)
		n = SARIF_PATH_MAX - 1;
	if (buf != path)
		memcpy(buf, path, n);
	buf[n] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, SARIF_PATH_MAX - n, fmt, ap);
	va_end(ap);
}

/* ---- the run a result belongs to ---------------------------------------- */

static json_t *log_root(struct sarif *s)
{
	return s->log ? s->log : jstream_root(s->js);
}

static json_t *run_of(struct sarif *s, size_t r)
{
	return json_array_get(json_object_get(log_root(s), "runs"), r);
}

/* The log's version: "2.1.0" or TS_E_INVALID. */
static int check_version(struct sarif *s, const json_t *root)
{
	json_t *v = json_object_get(root, "version");
	if (!v)
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: $.version: missing (a SARIF log states its version; "
		                  "2.1.0 is supported)",
		                  s->in->name);
	if (!json_is_string(v))
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: $.version: expected a string, found %s", s->in->name,
		                  type_name(v));
	if (strcmp(json_string_value(v), "2.1.0") != 0)
		return ts_err_set(
		    s->err, TS_E_INVALID,
		    "%s: $.version: SARIF version \"%.64s\" is not supported (2.1.0 is)",
		    s->in->name, json_string_value(v));
	return 0;
}

/* run.tool.driver, checked. */
static int run_driver(struct sarif *s, const json_t *run, size_t r, json_t **ret)
{
	char path[SARIF_PATH_MAX];
	snprintf(path, sizeof(path), "$.runs[%zu]", r);
	json_t *tool, *driver, *name;
	int rc = member(s, run, path, "tool", JSON_OBJECT, &tool);
	if (rc)
		return rc;
	if (!tool)
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: %s.tool: missing (a run names its tool)", s->in->name, path);
	subpath(path, path, ".tool");
	rc = member(s, tool, path, "driver", JSON_OBJECT, &driver);
	if (rc)
		return rc;
	if (!driver)
		return ts_err_set(s->err, TS_E_INVALID, "%s: %s.driver: missing", s->in->name,
		                  path);
	subpath(path, path, ".driver");
	rc = member(s, driver, path, "name", JSON_STRING, &name);
	if (rc)
		return rc;
	if (!name)
		return ts_err_set(s->err, TS_E_INVALID, "%s: %s.name: missing", s->in->name, path);
	*ret = driver;
	return 0;
}

/* The tool components of a run: 0 the driver, i + 1 extensions[i]. */
static json_t *component_at(const json_t *run, size_t i)
{
	json_t *tool = json_object_get(run, "tool");
	if (i == 0)
		return json_object_get(tool, "driver");
	return json_array_get(json_object_get(tool, "extensions"), i - 1);
}

static void add_rules(json_t *map, const json_t *component)
{
	json_t *rules = json_object_get(component, "rules");
	size_t i;
	json_t *rule;
	json_array_foreach (rules, i, rule) {
		const char *id = bag_string(rule, "id");
		if (id && !json_object_get(map, id))
			json_object_set_nocheck(map, id, rule);
	}
}

/* Rules by id of a run, cached for the run. */
static json_t *rules_by_id(struct sarif *s, json_t *run)
{
	if (s->rules_by_id && s->rules_run == run)
		return s->rules_by_id;
	json_decref(s->rules_by_id);
	json_decref(s->rules_run);
	s->rules_by_id = json_object();
	s->rules_run = json_incref(run);
	for (size_t i = 0; component_at(run, i); i++)
		add_rules(s->rules_by_id, component_at(run, i));
	return s->rules_by_id;
}

/* ---- rules -------------------------------------------------------------- */

/* The component a toolComponentReference names (index into extensions, name
 * or guid among the driver and the extensions). *label: how messages name it. */
static int component_ref(struct sarif *s, const json_t *run, const json_t *ref, const char *path,
                         json_t **ret, char *label, size_t label_len)
{
	json_t *index, *name, *guid;
	int rc = member(s, ref, path, "index", JSON_INTEGER, &index);
	if (!rc)
		rc = member(s, ref, path, "name", JSON_STRING, &name);
	if (!rc)
		rc = member(s, ref, path, "guid", JSON_STRING, &guid);
	if (rc)
		return rc;
	json_t *ext = json_object_get(json_object_get(run, "tool"), "extensions");
	if (index) {
		json_int_t i = json_integer_value(index);
		if (i < 0 || (size_t)i >= json_array_size(ext))
			return ts_err_set(s->err, TS_E_INVALID,
			                  "%s: %s.index: tool component index %lld out of range "
			                  "(%zu in tool.extensions)",
			                  s->in->name, path, (long long)i, json_array_size(ext));
		*ret = json_array_get(ext, (size_t)i);
		snprintf(label, label_len, "tool.extensions[%lld]", (long long)i);
		return 0;
	}
	for (size_t i = 0; (name || guid) && component_at(run, i); i++) {
		json_t *c = component_at(run, i);
		const char *want = name ? json_string_value(name) : json_string_value(guid);
		const char *have = bag_string(c, name ? "name" : "guid");
		if (have && (name ? strcmp(have, want) == 0 : strcasecmp(have, want) == 0)) {
			*ret = c;
			if (i == 0)
				snprintf(label, label_len, "tool.driver");
			else
				snprintf(label, label_len, "tool.extensions[%zu]", i - 1);
			return 0;
		}
	}
	if (name || guid)
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: %s: no tool component with %s \"%.128s\" in the run's tool",
		                  s->in->name, path, name ? "name" : "guid",
		                  json_string_value(name ? name : guid));
	*ret = component_at(run, 0);
	snprintf(label, label_len, "tool.driver");
	return 0;
}

/* The rule of a result, or NULL: by ruleIndex / rule.index in the driver or
 * the component rule.toolComponent names, else by ruleId / rule.id (also its
 * hierarchical prefixes: "a/b" finds "a"). *rule_id: the result's rule id. */
static int find_rule(struct sarif *s, const json_t *run, size_t r, const json_t *res,
                     const char *path, json_t **ret, const char **rule_id)
{
	*ret = NULL;
	*rule_id = NULL;
	char p[SARIF_PATH_MAX];
	json_t *id, *index, *ref = NULL, *ref_id = NULL, *ref_index = NULL, *tc = NULL;
	int rc = member(s, res, path, "ruleId", JSON_STRING, &id);
	if (!rc)
		rc = member(s, res, path, "ruleIndex", JSON_INTEGER, &index);
	if (!rc)
		rc = member(s, res, path, "rule", JSON_OBJECT, &ref);
	subpath(p, path, ".rule");
	if (!rc && ref)
		rc = member(s, ref, p, "id", JSON_STRING, &ref_id);
	if (!rc && ref)
		rc = member(s, ref, p, "index", JSON_INTEGER, &ref_index);
	if (!rc && ref)
		rc = member(s, ref, p, "toolComponent", JSON_OBJECT, &tc);
	if (rc)
		return rc;
	if (!id)
		id = ref_id;
	*rule_id = json_string_value(id);

	json_t *component = component_at(run, 0);
	char label[64] = "tool.driver";
	if (tc) {
		subpath(p, path, ".rule.toolComponent");
		rc = component_ref(s, run, tc, p, &component, label, sizeof(label));
		if (rc)
			return rc;
	}
	json_t *rules = json_object_get(component, "rules");
	const char *index_path = index ? "ruleIndex" : "rule.index";
	if (!index)
		index = ref_index;
	if (index && json_integer_value(index) != -1) {
		json_int_t i = json_integer_value(index);
		size_t n = json_array_size(rules);
		if (i < 0 || (size_t)i >= n)
			return ts_err_set(
			    s->err, TS_E_INVALID,
			    "%s: %s.%s: rule index %lld out of range (%zu rule%s in %s)",
			    s->in->name, path, index_path, (long long)i, n, n == 1 ? "" : "s",
			    label);
		json_t *rule = json_array_get(rules, (size_t)i);
		if (!json_is_object(rule)) {
			return ts_err_set(
			    s->err, TS_E_INVALID,
			    "%s: $.runs[%zu].%s.rules[%lld]: expected an object, found %s",
			    s->in->name, r, label, (long long)i, type_name(rule));
		}
		*ret = rule;
		if (!*rule_id)
			*rule_id = bag_string(rule, "id");
		return 0;
	}
	if (!*rule_id)
		return 0;
	if (tc) {
		size_t i;
		json_t *rule;
		json_array_foreach (rules, i, rule) {
			const char *rid = bag_string(rule, "id");
			if (rid && strcmp(rid, *rule_id) == 0) {
				*ret = rule;
				return 0;
			}
		}
		return 0;
	}
	json_t *map = rules_by_id(s, (json_t *)run);
	*ret = json_object_get(map, *rule_id);
	/* hierarchical ids: "CA2000/1" may be reported against the rule "CA2000" */
	char *prefix = *ret ? NULL : ts_strdup(*rule_id);
	for (char *slash; prefix && !*ret && (slash = strrchr(prefix, '/'));) {
		*slash = '\0';
		*ret = json_object_get(map, prefix);
	}
	free(prefix);
	return 0;
}

/* ---- CWE ---------------------------------------------------------------- */

/* Is the taxonomy a reportingDescriptorReference's toolComponent names CWE?
 * *later: it names run.taxonomies, which the run has not shown yet. */
static bool names_cwe(const json_t *run, const json_t *ref, bool *later)
{
	json_t *tc = json_object_get(ref, "toolComponent");
	if (!json_is_object(tc))
		return false;
	const char *name = bag_string(tc, "name");
	if (name)
		return strcasecmp(name, "CWE") == 0;
	json_t *taxonomies = json_object_get(run, "taxonomies");
	if (!taxonomies) {
		*later = true;
		return false;
	}
	json_t *t = NULL;
	json_t *index = json_object_get(tc, "index");
	const char *guid = bag_string(tc, "guid");
	if (json_is_integer(index) && json_integer_value(index) >= 0) {
		t = json_array_get(taxonomies, (size_t)json_integer_value(index));
	} else if (guid) {
		size_t i;
		json_t *e;
		json_array_foreach (taxonomies, i, e) {
			const char *g = bag_string(e, "guid");
			if (g && strcasecmp(g, guid) == 0) {
				t = e;
				break;
			}
		}
	}
	name = bag_string(t, "name");
	return name && strcasecmp(name, "CWE") == 0;
}

/* A reportingDescriptorReference to a taxon (rule relationships[].target,
 * result taxa[]): its CWE id when the taxonomy is CWE or the id says "CWE-". */
static void add_taxon(struct finding *f, const json_t *run, const json_t *ref, bool *later)
{
	if (!json_is_object(ref))
		return;
	bool cwe = names_cwe(run, ref, later);
	const char *id = bag_string(ref, "id");
	if (!id && cwe) {
		/* by index into the taxonomy's taxa */
		json_t *tc = json_object_get(ref, "toolComponent");
		json_t *index = json_object_get(ref, "index");
		json_t *t =
		    json_array_get(json_object_get(run, "taxonomies"),
		                   (size_t)json_integer_value(json_object_get(tc, "index")));
		if (json_is_integer(json_object_get(tc, "index")) && json_is_integer(index) &&
		    json_integer_value(index) >= 0)
			id = bag_string(json_array_get(json_object_get(t, "taxa"),
			                               (size_t)json_integer_value(index)),
			                "id");
	}
	finding_add_cwe(f, finding_cwe_parse(id, cwe));
}

/* CWE ids of a result or a rule: properties.tags, properties.cwe. */
static void add_bag_cwe(struct finding *f, const json_t *o)
{
	json_t *props = json_object_get(o, "properties");
	json_t *tags = json_object_get(props, "tags");
	size_t i;
	json_t *tag;
	json_array_foreach (tags, i, tag)
		finding_add_cwe(f, finding_cwe_parse(json_string_value(tag), false));
	finding_add_cwe_json(f, json_object_get(props, "cwe"), true);
}

static void add_cwe(struct finding *f, const json_t *run, const json_t *res, const json_t *rule,
                    bool *later)
{
	add_bag_cwe(f, res);
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(res, "taxa"), i, e)
		add_taxon(f, run, e, later);
	add_bag_cwe(f, rule);
	json_array_foreach (json_object_get(rule, "relationships"), i, e)
		add_taxon(f, run, json_object_get(e, "target"), later);
}

/* ---- severity ----------------------------------------------------------- */

/* security-severity: a number, a numeric string or a word; NULL: none usable. */
static const char *security_severity(const json_t *o)
{
	json_t *v = json_object_get(json_object_get(o, "properties"), "security-severity");
	if (json_is_number(v))
		return finding_severity_score(json_number_value(v));
	const char *str = json_string_value(v);
	if (!str || !*str)
		return NULL;
	char *end;
	double d = strtod(str, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (end != str && !*end)
		return finding_severity_score(d);
	return finding_severity_word(str);
}

static int severity(struct sarif *s, const json_t *res, const json_t *rule, const char *path,
                    const char **ret)
{
	*ret = security_severity(res);
	if (!*ret)
		*ret = security_severity(rule);
	if (*ret)
		return 0;
	json_t *level;
	int rc = member(s, res, path, "level", JSON_STRING, &level);
	if (rc)
		return rc;
	const char *l = json_string_value(level);
	if (!l)
		l = bag_string(json_object_get(rule, "defaultConfiguration"), "level");
	static const char *const levels[][2] = {
	    {"error", "high"}, {"warning", "medium"}, {"note", "low"}, {"none", "info"}};
	*ret = "medium"; /* the default level is warning */
	for (size_t i = 0; l && i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(l, levels[i][0]) == 0)
			*ret = levels[i][1];
	return 0;
}

/* ---- message ------------------------------------------------------------ */

/* text with {N} replaced by arguments[N] and {{ }} by { }, at most
 * FINDINGS_STRING_MAX bytes. A new string. */
static char *format_message(const char *text, const json_t *args)
{
	struct ts_buf b = {0};
	for (const char *p = text; *p && b.len < FINDINGS_STRING_MAX; p++) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			ts_buf_append(&b, p, 1);
			p++;
			continue;
		}
		if (p[0] == '{' && isdigit((unsigned char)p[1])) {
			char *end;
			long n = strtol(p + 1, &end, 10);
			const char *arg = *end == '}' && n >= 0 && n < 1000
			                      ? json_string_value(json_array_get(args, (size_t)n))
			                      : NULL;
			if (arg) {
				size_t len = strlen(arg);
				size_t room = FINDINGS_STRING_MAX - b.len;
				ts_buf_append(&b, arg, len < room ? len : room);
				p = end;
				continue;
			}
		}
		ts_buf_append(&b, p, 1);
	}
	return ts_buf_steal(&b);
}

/* message.text, message.markdown, or message.id looked up in the rule's
 * messageStrings (then the driver's globalMessageStrings) with its arguments.
 * *ret: borrowed or *owned. */
static int message(struct sarif *s, const json_t *res, const json_t *rule, const json_t *driver,
                   const char *path, const char **ret, char **owned)
{
	*ret = NULL;
	*owned = NULL;
	json_t *msg, *text, *md, *id, *args;
	char p[SARIF_PATH_MAX];
	subpath(p, path, ".message");
	int rc = member(s, res, path, "message", JSON_OBJECT, &msg);
	if (!rc)
		rc = member(s, msg, p, "text", JSON_STRING, &text);
	if (!rc)
		rc = member(s, msg, p, "markdown", JSON_STRING, &md);
	if (!rc)
		rc = member(s, msg, p, "id", JSON_STRING, &id);
	if (!rc)
		rc = member(s, msg, p, "arguments", JSON_ARRAY, &args);
	if (rc)
		return rc;
	const char *tmpl = json_string_value(text);
	if (!tmpl)
		tmpl = json_string_value(md);
	if (!tmpl && id) {
		const char *key = json_string_value(id);
		json_t *ms = json_object_get(json_object_get(rule, "messageStrings"), key);
		if (!ms)
			ms = json_object_get(json_object_get(driver, "globalMessageStrings"), key);
		tmpl = bag_string(ms, "text");
		if (!tmpl)
			tmpl = bag_string(ms, "markdown");
	}
	if (!tmpl)
		return 0;
	if (args && strchr(tmpl, '{')) {
		*owned = format_message(tmpl, args);
		*ret = *owned;
	} else {
		*ret = tmpl;
	}
	return 0;
}

/* ---- location ----------------------------------------------------------- */

static bool is_absolute_uri(const char *u)
{
	if (u[0] == '/' || strncasecmp(u, "file:", 5) == 0)
		return true;
	/* scheme ":" ... (RFC 3986), at least two letters so "C:" is a drive */
	size_t n = 0;
	while (isalnum((unsigned char)u[n]) || u[n] == '+' || u[n] == '-' || u[n] == '.')
		n++;
	return n >= 2 && isalpha((unsigned char)u[0]) && u[n] == ':';
}

/* A copy of u without surrounding white space. */
static char *trimmed(const char *u)
{
	while (isspace((unsigned char)*u))
		u++;
	size_t n = strlen(u);
	while (n && isspace((unsigned char)u[n - 1]))
		n--;
	return ts_strndup(u, n);
}

/* The repository-relative directory a uriBaseId stands for: "" when it is the
 * root (an absolute URI, or SRCROOT / %SRCROOT% or any other id without an
 * entry), else the relative bases of the chain joined. A new string, or NULL
 * with *later set when the run's originalUriBaseIds are not read yet. */
static int base_dir(struct sarif *s, const json_t *run, size_t r, const char *id, int depth,
                    char **ret, bool *later)
{
	*ret = NULL;
	if (depth >= SARIF_BASE_CHAIN_MAX)
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: $.runs[%zu].originalUriBaseIds: the chain of base URIs from "
		                  "\"%.64s\" is longer than %d (a cycle?)",
		                  s->in->name, r, id, SARIF_BASE_CHAIN_MAX);
	char path[SARIF_PATH_MAX];
	snprintf(path, sizeof(path), "$.runs[%zu]", r);
	json_t *bases, *entry = NULL, *uri = NULL, *parent = NULL;
	int rc = member(s, run, path, "originalUriBaseIds", JSON_OBJECT, &bases);
	if (rc)
		return rc;
	bool root_name = strcmp(id, "SRCROOT") == 0 || strcmp(id, "%SRCROOT%") == 0;
	if (!bases && !root_name && !s->log && !json_object_get(run, "originalUriBaseIds")) {
		*later = true;
		return 0;
	}
	subpath(path, path, ".originalUriBaseIds");
	rc = member(s, bases, path, id, JSON_OBJECT, &entry);
	subpath(path, path, "[\"%.64s\"]", id);
	if (!rc)
		rc = member(s, entry, path, "uri", JSON_STRING, &uri);
	if (!rc)
		rc = member(s, entry, path, "uriBaseId", JSON_STRING, &parent);
	if (rc)
		return rc;
	char *u = uri ? trimmed(json_string_value(uri)) : ts_strdup("");
	if (!*u || is_absolute_uri(u)) {
		free(u);
		*ret = ts_strdup("");
		return 0;
	}
	char *up = NULL;
	if (parent) {
		rc = base_dir(s, run, r, json_string_value(parent), depth + 1, &up, later);
		if (rc || !up) {
			free(u);
			return rc;
		}
	}
	char *joined = finding_path_normalise(up && *up ? up : NULL, u);
	free(up);
	free(u);
	*ret = joined ? joined : ts_strdup("");
	return 0;
}

/* The path of an artifactLocation (resolving index into run.artifacts and
 * uriBaseId), or NULL; *later when the run's artifacts are not read yet. */
static int artifact_path(struct sarif *s, const json_t *run, size_t r, const json_t *al,
                         const char *path, char **ret, bool *later)
{
	*ret = NULL;
	json_t *uri, *base, *index;
	int rc = member(s, al, path, "uri", JSON_STRING, &uri);
	if (!rc)
		rc = member(s, al, path, "uriBaseId", JSON_STRING, &base);
	if (!rc)
		rc = member(s, al, path, "index", JSON_INTEGER, &index);
	if (rc)
		return rc;
	if (index && json_integer_value(index) != -1 && (!uri || !base)) {
		json_t *artifacts = json_object_get(run, "artifacts");
		if (!artifacts && !s->log) {
			*later = true;
			return 0;
		}
		json_int_t i = json_integer_value(index);
		size_t n = json_array_size(artifacts);
		if (i < 0 || (size_t)i >= n)
			return ts_err_set(
			    s->err, TS_E_INVALID,
			    "%s: %s.index: artifact index %lld out of range (%zu artifact%s "
			    "in $.runs[%zu].artifacts)",
			    s->in->name, path, (long long)i, n, n == 1 ? "" : "s", r);
		char p[SARIF_PATH_MAX];
		snprintf(p, sizeof(p), "$.runs[%zu].artifacts[%lld]", r, (long long)i);
		json_t *loc;
		rc = member(s, json_array_get(artifacts, (size_t)i), p, "location", JSON_OBJECT,
		            &loc);
		subpath(p, p, ".location");
		if (!rc && loc && !uri)
			rc = member(s, loc, p, "uri", JSON_STRING, &uri);
		if (!rc && loc && !base)
			rc = member(s, loc, p, "uriBaseId", JSON_STRING, &base);
		if (rc)
			return rc;
	}
	if (!uri)
		return 0;
	char *u = trimmed(json_string_value(uri));
	char *dir = NULL;
	if (base && !is_absolute_uri(u)) {
		rc = base_dir(s, run, r, json_string_value(base), 0, &dir, later);
		if (rc || !dir) {
			free(u);
			return rc;
		}
	}
	*ret = finding_path_normalise(dir && *dir ? dir : NULL, u);
	free(dir);
	free(u);
	return 0;
}

static int line_of(const json_t *region, const char *key)
{
	json_t *v = json_object_get(region, key);
	if (!json_is_integer(v))
		return 0;
	json_int_t n = json_integer_value(v);
	return n >= 1 && n <= INT_MAX ? (int)n : 0;
}

/* locations[0].physicalLocation: path, lines, snippet. *path_owned: new. */
static int location(struct sarif *s, const json_t *run, size_t r, const json_t *res,
                    const char *path, struct finding *f, char **path_owned, bool *later)
{
	*path_owned = NULL;
	char p[SARIF_PATH_MAX];
	json_t *locs, *loc0 = NULL, *phys = NULL, *al = NULL, *region = NULL, *ctx = NULL;
	int rc = member(s, res, path, "locations", JSON_ARRAY, &locs);
	if (rc)
		return rc;
	if (json_array_size(locs) > 0) {
		loc0 = json_array_get(locs, 0);
		subpath(p, path, ".locations[0]");
		if (!json_is_object(loc0))
			return ts_err_set(s->err, TS_E_INVALID,
			                  "%s: %s: expected an object, found %s", s->in->name, p,
			                  type_name(loc0));
		rc = member(s, loc0, p, "physicalLocation", JSON_OBJECT, &phys);
		subpath(p, p, ".physicalLocation");
		if (!rc)
			rc = member(s, phys, p, "artifactLocation", JSON_OBJECT, &al);
		if (!rc)
			rc = member(s, phys, p, "region", JSON_OBJECT, &region);
		if (!rc)
			rc = member(s, phys, p, "contextRegion", JSON_OBJECT, &ctx);
		if (rc)
			return rc;
	}
	if (al) {
		subpath(p, path, ".locations[0].physicalLocation.artifactLocation");
		rc = artifact_path(s, run, r, al, p, path_owned, later);
		if (rc || *later)
			return rc;
		f->path = *path_owned;
	}
	f->line = line_of(region, "startLine");
	f->end_line = line_of(region, "endLine");
	if (!f->end_line)
		f->end_line = f->line;
	f->snippet = text_at(region, "snippet", "text");
	if (!f->snippet)
		f->snippet = text_at(ctx, "snippet", "text");
	return 0;
}

/* A web request: result.webRequest (inline or by index into run.webRequests),
 * else properties.url / properties.method. */
static void web_request(const json_t *run, const json_t *res, struct finding *f, char *method,
                        size_t method_len, bool *later)
{
	json_t *wr = json_object_get(res, "webRequest");
	json_t *index = json_object_get(wr, "index");
	if (json_is_object(wr) && !bag_string(wr, "target") && json_is_integer(index)) {
		json_t *all = json_object_get(run, "webRequests");
		if (!all)
			*later = true;
		json_int_t i = json_integer_value(index);
		wr = i >= 0 ? json_array_get(all, (size_t)i) : NULL;
	}
	const json_t *props = json_object_get(res, "properties");
	f->url = bag_string(wr, "target");
	const char *m = bag_string(wr, "method");
	if (!f->url) {
		f->url = bag_string(props, "url");
		m = bag_string(props, "method");
	}
	if (!f->url || !m)
		return;
	snprintf(method, method_len, "%s", m);
	for (char *c = method; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	f->method = method;
}

/* ---- fingerprints and suppressions -------------------------------------- */

/* The string of o's first key in sorted order; *key its name. */
static const char *first_sorted(const json_t *o, const char **key)
{
	const char *best = NULL, *k;
	json_t *v;
	*key = NULL;
	json_object_foreach ((json_t *)o, k, v) {
		if (json_is_string(v) && (!*key || strcmp(k, *key) < 0)) {
			*key = k;
			best = json_string_value(v);
		}
	}
	return best;
}

static void fingerprint(const json_t *res, struct finding *f, char *kind, size_t kind_len)
{
	static const char *const members[] = {"partialFingerprints", "fingerprints"};
	for (size_t i = 0; i < 2; i++) {
		const char *key;
		const char *v = first_sorted(json_object_get(res, members[i]), &key);
		if (v) {
			snprintf(kind, kind_len, "%s/%s", members[i], key);
			f->fingerprint = v;
			f->fingerprint_kind = kind;
			return;
		}
	}
}

/* suppressions[]: accepted (or no status) suppresses; underReview is noted;
 * rejected ones do not count. The draft spelling state ("suppressed") too. */
static int suppression(struct sarif *s, const json_t *res, const char *path, struct finding *f)
{
	json_t *list;
	int rc = member(s, res, path, "suppressions", JSON_ARRAY, &list);
	if (rc)
		return rc;
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		char p[SARIF_PATH_MAX];
		subpath(p, path, ".suppressions[%zu]", i);
		if (!json_is_object(e))
			return ts_err_set(s->err, TS_E_INVALID,
			                  "%s: %s: expected an object, found %s", s->in->name, p,
			                  type_name(e));
		json_t *status, *state;
		rc = member(s, e, p, "status", JSON_STRING, &status);
		if (!rc)
			rc = member(s, e, p, "state", JSON_STRING, &state);
		if (rc)
			return rc;
		const char *st = json_string_value(status ? status : state);
		const char *why = bag_string(e, "justification");
		if (!st || strcmp(st, "accepted") == 0 || strcmp(st, "suppressed") == 0) {
			if (f->suppression != FINDING_SUPPRESSED)
				f->suppression_reason = why;
			f->suppression = FINDING_SUPPRESSED;
		} else if (strcmp(st, "underReview") == 0 &&
		           f->suppression == FINDING_NOT_SUPPRESSED) {
			f->suppression = FINDING_SUPPRESSION_REVIEW;
			f->suppression_reason = why;
		}
	}
	return 0;
}

/* ---- one result --------------------------------------------------------- */

/* A lower-case copy of the confidence the tool states, or NULL. */
static char *confidence(const json_t *res, const json_t *rule)
{
	const json_t *rp = json_object_get(res, "properties");
	const json_t *up = json_object_get(rule, "properties");
	const char *c = bag_string(rp, "confidence");
	if (!c)
		c = bag_string(up, "confidence");
	if (!c)
		c = bag_string(up, "precision");
	return c ? finding_lower(ts_strdup(c)) : NULL;
}

/* Hands over one result; *later: it needs what the run has not shown yet
 * (nothing handed over). */
static int result(struct sarif *s, json_t *run, size_t r, json_t *res, const char *path,
                  bool *later)
{
	if (!json_is_object(res))
		return ts_err_set(s->err, TS_E_INVALID, "%s: %s: expected an object, found %s",
		                  s->in->name, path, type_name(res));
	json_t *driver;
	int rc = run_driver(s, run, r, &driver);
	if (rc)
		return rc;
	json_t *kind;
	rc = member(s, res, path, "kind", JSON_STRING, &kind);
	if (rc)
		return rc;
	const char *k = kind ? json_string_value(kind) : "fail";
	bool handed = strcmp(k, "fail") == 0 || strcmp(k, "open") == 0 || strcmp(k, "review") == 0;

	struct finding f = {0};
	char *path_owned = NULL, *msg_owned = NULL, *conf = NULL;
	char fp_kind[160], method[16];
	json_t *rule, *baseline = NULL;
	rc = find_rule(s, run, r, res, path, &rule, &f.rule_id);
	if (rc)
		return rc;
	if (!handed) {
		s->rep->skipped++;
		return 0;
	}
	f.tool = bag_string(driver, "name");
	f.tool_version = bag_string(driver, "semanticVersion");
	if (!f.tool_version)
		f.tool_version = bag_string(driver, "version");
	f.kind = k;
	f.doc_path = path;
	f.rule_name = bag_string(rule, "name");
	if (!f.rule_name)
		f.rule_name = text_at(rule, "shortDescription", "text");
	/* the last pass has the whole log: what is absent is absent */
	bool absent;
	bool *lp = s->log ? &absent : later;
	add_cwe(&f, run, res, rule, lp);
	if (*later)
		return 0;
	rc = severity(s, res, rule, path, &f.severity);
	if (!rc)
		rc = message(s, res, rule, driver, path, &f.message, &msg_owned);
	if (!rc)
		rc = location(s, run, r, res, path, &f, &path_owned, later);
	if (!rc && !*later && !f.path)
		web_request(run, res, &f, method, sizeof(method), lp);
	if (!rc)
		rc = member(s, res, path, "baselineState", JSON_STRING, &baseline);
	if (!rc)
		rc = suppression(s, res, path, &f);
	if (rc || *later)
		goto out;
	f.baseline_state = json_string_value(baseline);
	fingerprint(res, &f, fp_kind, sizeof(fp_kind));
	conf = confidence(res, rule);
	f.confidence = conf;
	rc = s->cb(s->ud, &f, s->err);
	if (rc == 0)
		s->rep->results++;
out:
	free(path_owned);
	free(msg_owned);
	free(conf);
	return rc;
}

static int on_result(void *ud, json_t *item, const char *doc_path, const size_t *idx, size_t n_idx,
                     struct ts_err *err)
{
	struct sarif *s = ud;
	(void)err;
	if (n_idx != 2)
		return 0;
	size_t r = idx[0], i = idx[1];
	if (s->log && (r < s->resume_run || (r == s->resume_run && i < s->resume_result)))
		return 0; /* handed over by the first pass */
	json_t *root = log_root(s);
	json_t *run = run_of(s, r);
	bool later = false;
	if (!s->log && (!json_object_get(root, "version") || !json_object_get(run, "tool")))
		later = true;
	int rc = 0;
	if (!later && !s->version_checked) {
		rc = check_version(s, root);
		if (rc)
			return rc;
		s->version_checked = true;
	}
	if (!later)
		rc = result(s, run, r, item, doc_path, &later);
	if (rc)
		return rc;
	if (later) {
		if (s->log) /* cannot happen: the log is complete */
			return ts_err_set(s->err, TS_E_INTERNAL, "%s: %s: context missing",
			                  s->in->name, doc_path);
		s->deferred = true;
		s->resume_run = r;
		s->resume_result = i;
		return TS_E_INVALID; /* stops this pass; sarif_parse starts the others */
	}
	return 0;
}

/* ---- the log ------------------------------------------------------------ */

/* What the results do not show: version, runs, each run's tool, results
 * (an array), invocations (executionSuccessful). results_too: check that
 * results is an array (a pass that skips results does not see them). */
static int check_log(struct sarif *s, const json_t *root, bool results_too)
{
	if (!json_is_object(root))
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: $: expected an object (a SARIF log), found %s", s->in->name,
		                  root ? type_name(root) : "nothing");
	int rc = check_version(s, root);
	if (rc)
		return rc;
	json_t *runs;
	rc = member(s, root, "$", "runs", JSON_ARRAY, &runs);
	if (rc)
		return rc;
	if (!runs)
		return ts_err_set(s->err, TS_E_INVALID,
		                  "%s: $.runs: missing (a SARIF log has a runs array)",
		                  s->in->name);
	size_t r;
	json_t *run;
	json_array_foreach (runs, r, run) {
		char path[SARIF_PATH_MAX];
		snprintf(path, sizeof(path), "$.runs[%zu]", r);
		if (!json_is_object(run))
			return ts_err_set(s->err, TS_E_INVALID,
			                  "%s: %s: expected an object, found %s", s->in->name, path,
			                  type_name(run));
		json_t *driver, *results, *invocations;
		rc = run_driver(s, run, r, &driver);
		if (!rc && results_too)
			rc = member(s, run, path, "results", JSON_ARRAY, &results);
		if (!rc)
			rc = member(s, run, path, "invocations", JSON_ARRAY, &invocations);
		if (rc)
			return rc;
		size_t i;
		json_t *inv;
		json_array_foreach (invocations, i, inv) {
			if (json_is_false(json_object_get(inv, "executionSuccessful")))
				s->rep->incomplete = true;
		}
	}
	return 0;
}

/* One pass over the input. emit: results go to on_result; else they are
 * skipped with the bulky parts. *ret_root: the document read (new reference). */
static int pass(struct sarif *s, bool emit, json_t **ret_root)
{
	s->js = jstream_new(s->in->name);
	if (emit)
		jstream_emit(s->js, "$.runs[*].results[*]", on_result, s);
	else
		jstream_skip(s->js, "$.runs[*].results");
	/* parts of a run no finding uses and that can be large (at most 8) */
	jstream_skip(s->js, "$.runs[*].threadFlowLocations");
	jstream_skip(s->js, "$.runs[*].graphs");
	jstream_skip(s->js, "$.runs[*].logicalLocations");
	jstream_skip(s->js, "$.runs[*].addresses");
	jstream_skip(s->js, "$.runs[*].webResponses");
	jstream_skip(s->js, "$.runs[*].artifacts[*].contents");
	jstream_skip(s->js, "$.runs[*].invocations[*].toolExecutionNotifications");
	int rc = findings_jstream_run(s->js, s->in, s->err);
	*ret_root = json_incref(jstream_root(s->js));
	jstream_free(s->js);
	s->js = NULL;
	json_decref(s->rules_by_id);
	json_decref(s->rules_run);
	s->rules_by_id = NULL;
	s->rules_run = NULL;
	return rc;
}

int sarif_parse(const struct findings_input *in, finding_cb cb, void *ud,
                struct findings_report *rep, struct ts_err *err)
{
	struct sarif s = {.in = in, .cb = cb, .ud = ud, .rep = rep, .err = err};
	json_t *root = NULL;
	snprintf(rep->detail, sizeof(rep->detail), "sarif 2.1.0");
	int rc = pass(&s, true, &root);
	if (rc == 0) {
		rc = check_log(&s, root, true);
	} else if (s.deferred) {
		ts_err_clear(err);
		json_decref(root);
		root = NULL;
		json_t *log = NULL;
		rc = pass(&s, false, &log);
		if (rc == 0)
			rc = check_log(&s, log, false);
		if (rc == 0) {
			s.log = log;
			s.version_checked = true;
			rc = pass(&s, true, &root);
			s.log = NULL;
		}
		if (rc == 0)
			rc = check_log(&s, root, true);
		json_decref(log);
	}
	json_decref(root);
	return rc;
}
