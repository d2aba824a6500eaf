/* SPDX-License-Identifier: Apache-2.0 */
/* The OTM importer against the OTM 0.2.0 schema and real files: the OTM
 * project's EXAMPLE.json and StartLeft's output, nulls where the schema allows
 * them, nulls where it does not, and dangling references named by OTM path. */
#include "helpers/testutil.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/library/library.h"
#include "engine/model/model.h"
#include "helpers/gen_util.h"

static struct library *lib;
static struct model_typeinfo ti;

/* The shipped library, so type mappings and warnings are those users get. */
static int setup(void **state)
{
	(void)state;
	const char *dir = tu_env("THREATSYNC_LIBRARY");
	struct ts_err err = {0};
	if (library_load(&dir, 1, &lib, &err) < 0) {
		fprintf(stderr, "library: %s\n", err.msg);
		return -1;
	}
	library_typeinfo(lib, &ti);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	library_free(lib);
	return 0;
}

static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, line, n) == 0)
			return;
		p = end ? end + 1 : NULL;
	}
	fail_msg("line not found:\n  %s\nin:\n%s", line, text);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n++;
	return n;
}

static const char *sget(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *find_id(const json_t *model, const char *kind, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(model, kind), i, e) {
		if (strcmp(sget(e, "id"), id) == 0)
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------- real files */

struct real_file {
	const char *name;
	size_t components, flows, zones, threats, countermeasures, warnings;
	/* Components left generic_process/store/actor. Only names with no
	 * meaning may fall back: EXAMPLE.json's "code-class" named "Class
	 * CustomerDatabase" (a class diagram element, no technology). */
	size_t generic;
	/* Generation with the shipped library: threat instances (library,
	 * system and manual), tasks, and of them T-MODEL-INCOMPLETE. */
	size_t gen_threats, gen_cms, incomplete;
};

/* tests/data/models/otm/PROVENANCE.md says where each comes from. Before
 * the StartLeft vocabulary and containers, the CloudFormation, Terraform plan
 * and empty-type TMT files gave 18, 3 and 6 fallback warnings (18 generic
 * components of 22, 3 of 8, 6 of 6). Now the CloudFormation file's VPC and
 * four subnets are trust zones (2 + 5 zones, 17 components); its 6 flows from
 * the VPC's address range are left out with a warning each. */
static const struct real_file real_files[] = {
    {"EXAMPLE.json", 4, 2, 2, 1, 2, 1, 1, 40, 49, 1},
    {"startleft-cloudformation.otm", 17, 16, 7, 0, 0, 6, 0, 113, 136, 0},
    {"startleft-tfplan-official.otm", 8, 8, 1, 0, 0, 0, 0, 42, 56, 0},
    {"startleft-mtmt-empty-types.otm", 6, 0, 2, 0, 0, 0, 0, 85, 111, 0},
    {"startleft-lucid-aws-vpc.otm", 9, 8, 4, 0, 0, 0, 0, 51, 70, 0},
    {"startleft-mtmt-example.otm", 4, 6, 2, 43, 43, 24, 0, 75, 85, 0},
};

static json_t *import_file(const char *name, json_t **ret_warnings, char **ret_path)
{
	char *path = ts_asprintf("%s/tests/data/models/otm/%s", tu_env("TS_SOURCE_DIR"), name);
	json_t *m = NULL;
	enum model_format fmt = MODEL_FORMAT_NATIVE;
	struct ts_err err = {0};
	if (model_parse_file(path, MODEL_FORMAT_AUTO, false, &ti, &m, ret_warnings, &fmt, &err) < 0)
		fail_msg("%s refused:\n%s", name, err.msg);
	assert_int_equal(fmt, MODEL_FORMAT_OTM);
	*ret_path = path;
	return m;
}

static void test_real_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < TS_ARRAY_SIZE(real_files); i++) {
		const struct real_file *f = &real_files[i];
		json_t *w = NULL;
		char *path = NULL;
		json_t *m = import_file(f->name, &w, &path);
		size_t generic = 0;
		size_t k;
		json_t *c;
		json_array_foreach (json_object_get(m, "components"), k, c) {
			generic += strncmp(sget(c, "type"), "generic_", 8) == 0;
		}
		size_t got[] = {
		    json_array_size(json_object_get(m, "components")),
		    json_array_size(json_object_get(m, "flows")),
		    json_array_size(json_object_get(m, "trust_zones")),
		    json_array_size(json_object_get(m, "threats")),
		    json_array_size(json_object_get(m, "countermeasures")),
		    json_array_size(w),
		    generic,
		};
		size_t want[] = {f->components,      f->flows,    f->zones,  f->threats,
		                 f->countermeasures, f->warnings, f->generic};
		for (k = 0; k < TS_ARRAY_SIZE(got); k++)
			if (got[k] != want[k])
				fail_msg("%s: count %zu (components, flows, zones, threats, "
				         "countermeasures, warnings, generic) is %zu, expected %zu",
				         f->name, k, got[k], want[k]);
		json_decref(m);
		json_decref(w);
		free(path);
	}
}

/* Each real file, imported and generated with the shipped library. */
static void test_real_files_generate(void **state)
{
	(void)state;
	char *cdir = tu_tmpdir();
	char *text = ts_asprintf("library_paths = [ \"%s/library\" ];\n", tu_env("TS_SOURCE_DIR"));
	char *conf = tu_write_file(cdir, "shipped.conf", text);
	free(text);
	struct gu g;
	gu_open(&g, conf);
	for (size_t i = 0; i < TS_ARRAY_SIZE(real_files); i++) {
		const struct real_file *f = &real_files[i];
		char *slug = ts_asprintf("f%zu", i);
		char *path =
		    ts_asprintf("%s/tests/data/models/otm/%s", tu_env("TS_SOURCE_DIR"), f->name);
		gu_import(&g, slug, path);
		json_decref(gu_generate(&g, slug, "2026-01-05T10:00:00Z"));
		char *q = ts_asprintf("SELECT count(*) FROM threats t JOIN projects p ON p.id ="
		                      " t.project_id WHERE p.slug = '%s'",
		                      slug);
		char *q2 = ts_asprintf("SELECT count(*) FROM countermeasures c JOIN projects p"
		                       " ON p.id = c.project_id WHERE p.slug = '%s'",
		                       slug);
		char *q3 = ts_asprintf("%s AND t.uid = 'T-MODEL-INCOMPLETE@*'", q);
		size_t got[] = {(size_t)gu_int(&g, q), (size_t)gu_int(&g, q2),
		                (size_t)gu_int(&g, q3)};
		size_t want[] = {f->gen_threats, f->gen_cms, f->incomplete};
		for (size_t k = 0; k < TS_ARRAY_SIZE(got); k++)
			if (got[k] != want[k])
				fail_msg("%s: generated count %zu (threats, tasks, incomplete) is "
				         "%zu, expected %zu",
				         f->name, k, got[k], want[k]);
		free(q);
		free(q2);
		free(q3);
		free(path);
		free(slug);
	}
	json_t *t = gu_threat(&g, "f0", "T-MODEL-INCOMPLETE@*");
	assert_non_null(t);
	assert_string_equal(
	    sget(t, "title"),
	    "Threat model has elements of unknown technology: Class CustomerDatabase");
	assert_string_equal(sget(t, "component"), "*");
	json_decref(t);

	/* Thirty unknown elements: the title names as many as fit in 240 bytes
	 * and counts the rest, in model order (components sorted by id). */
	struct ts_buf doc = {0};
	ts_buf_puts(&doc,
	            "{\"otmVersion\": \"0.2.0\", \"project\": {\"name\": \"Many\", "
	            "\"id\": \"many\"}, \"trustZones\": [{\"id\": \"z\", \"name\": \"Z\", "
	            "\"risk\": {\"trustRating\": 50}}], \"dataflows\": [], \"components\": [");
	for (int i = 0; i < 30; i++)
		ts_buf_printf(&doc,
		              "%s{\"id\": \"c%d\", \"name\": \"Unknown element %02d\", \"type\": "
		              "\"flux-capacitor\", \"parent\": {\"trustZone\": \"z\"}}",
		              i ? ", " : "", i, i);
	ts_buf_puts(&doc, "]}");
	char *many = tu_write_file(cdir, "many.otm", doc.data);
	ts_buf_free(&doc);
	gu_import(&g, "many", many);
	json_decref(gu_generate(&g, "many", "2026-01-05T10:00:00Z"));
	t = gu_threat(&g, "many", "T-MODEL-INCOMPLETE@*");
	assert_non_null(t);
	const char *title = sget(t, "title");
	assert_true(strlen(title) <= 240);
	assert_non_null(
	    strstr(title, ": Unknown element 00, Unknown element 01, Unknown element 10, "));
	if (!strstr(title, ", Unknown element 15 and 22 more"))
		fail_msg("title: %s (%zu bytes)", title, strlen(title));
	json_decref(t);
	/* Every one of them has the baseline of a process of unknown
	 * technology; with no flows into them, none has the input threat. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats t JOIN projects p ON p.id ="
	                            " t.project_id WHERE p.slug = 'many' AND t.library_id ="
	                            " 'T-GENERIC-UNKNOWN-COMPONENT'"),
	                 30);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats t JOIN projects p ON p.id ="
	                            " t.project_id WHERE p.slug = 'many' AND t.library_id ="
	                            " 'T-GENERIC-INPUT-UNVALIDATED'"),
	                 0);
	free(many);
	gu_close(&g);
	free(conf);
	tu_rmrf(cdir);
	free(cdir);
}

/* StartLeft's CloudFormation output: the VPC (type "vpc") and its subnets
 * ("empty-component" tagged "AWS::EC2::Subnet") are trust zones at the trust
 * level of the zone that holds them, and what is inside them is in them;
 * Lucid's "empty-component" named "Custom VPC" is one by its name. */
static void test_containers(void **state)
{
	(void)state;
	json_t *w = NULL;
	char *path = NULL;
	json_t *m = import_file("startleft-cloudformation.otm", &w, &path);
	const char *vpc = "b61d6911-338d-46a8-9f39-8dcd24abfe91.customvpc";
	const char *sub = "b61d6911-338d-46a8-9f39-8dcd24abfe91.customvpc.privatesubnet1";
	json_t *z = find_id(m, "trust_zones", vpc);
	assert_non_null(z);
	assert_string_equal(sget(z, "name"), "CustomVPC");
	json_t *pc = find_id(m, "trust_zones", "b61d6911-338d-46a8-9f39-8dcd24abfe91");
	assert_int_equal(json_integer_value(json_object_get(z, "trust_level")),
	                 json_integer_value(json_object_get(pc, "trust_level")));
	assert_non_null(find_id(m, "trust_zones", sub));
	assert_null(find_id(m, "components", vpc));
	assert_null(find_id(m, "components", sub));
	/* The ECS service sat in the subnet; its task definition inside it. */
	json_t *svc = find_id(m, "components",
	                      "b61d6911-338d-46a8-9f39-8dcd24abfe91.customvpc."
	                      "privatesubnet1.service");
	assert_non_null(svc);
	assert_string_equal(sget(svc, "type"), "container_orchestrator");
	assert_string_equal(sget(svc, "trust_zone"), sub);
	assert_null(json_object_get(svc, "parent"));
	json_t *task = find_id(m, "components",
	                       "b61d6911-338d-46a8-9f39-8dcd24abfe91.customvpc."
	                       "privatesubnet1.service.servicetaskdefinition");
	assert_non_null(task);
	assert_string_equal(sget(task, "trust_zone"), sub);
	assert_string_equal(sget(task, "parent"), sget(svc, "id"));
	char *want = ts_asprintf("%s: $.dataflows[0]: flow not kept: '%s' is a container, now a "
	                         "trust zone",
	                         path, vpc);
	assert_string_equal(json_string_value(json_array_get(w, 0)), want);
	free(want);
	json_decref(m);
	json_decref(w);
	free(path);

	m = import_file("startleft-lucid-aws-vpc.otm", &w, &path);
	assert_string_equal(sget(find_id(m, "trust_zones", "7"), "name"), "Custom VPC");
	assert_string_equal(sget(find_id(m, "components", "9"), "trust_zone"), "7");
	assert_string_equal(sget(find_id(m, "components", "9"), "type"), "virtual_machine");
	json_decref(m);
	json_decref(w);
	free(path);

	/* TMT elements with an empty type are typed by their names. */
	m = import_file("startleft-mtmt-empty-types.otm", &w, &path);
	static const char *const names[][2] = {
	    {"Public Web App", "web_app"},  {"Browser", "user"},
	    {"Web API", "rest_api"},        {"Intranet Web App", "web_app"},
	    {"PostgreSQL", "sql_database"}, {"DynamoDB", "nosql_database"},
	};
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(m, "components"), i, c) {
		bool seen = false;
		for (size_t k = 0; k < TS_ARRAY_SIZE(names); k++) {
			if (strcmp(sget(c, "name"), names[k][0]) != 0)
				continue;
			assert_string_equal(sget(c, "type"), names[k][1]);
			seen = true;
		}
		assert_true(seen);
	}
	json_decref(m);
	json_decref(w);
	free(path);
}

/* The OTM project's own example: nulls in 21 places, all read as absent. */
static void test_example(void **state)
{
	(void)state;
	json_t *w = NULL;
	char *path = NULL;
	json_t *m = import_file("EXAMPLE.json", &w, &path);
	char *want = ts_asprintf("%s: $.components[3].type: no mapping for OTM type "
	                         "'code-class'; using generic_process",
	                         path);
	assert_string_equal(json_string_value(json_array_get(w, 0)), want);
	free(want);
	assert_string_equal(sget(model_component(m, "web-client"), "type"), "spa");
	assert_string_equal(sget(model_component(m, "web-service"), "type"), "rest_api");
	assert_string_equal(sget(model_component(m, "customer-database"), "type"), "sql_database");
	assert_string_equal(sget(model_component(m, "web-service"), "trust_zone"),
	                    "2ab4effa-40b7-4cd2-ba81-8247d29a6f2d");
	/* attributes: null gives no properties; tags: null no tags */
	json_t *props = json_object_get(model_component(m, "web-client"), "properties");
	assert_int_equal(json_object_size(props), 0);
	json_t *d1 = model_flow(m, "webclient-to-webservice");
	assert_null(json_object_get(d1, "tags"));
	assert_true(
	    json_is_true(json_object_get(json_object_get(d1, "properties"), "bidirectional")));
	/* threats: null on one element, an instance on two others */
	json_t *t = find_id(m, "threats", "22724267-be7e-44c0-8b1f-d7d33e9a34ec");
	json_t *applies = json_object_get(t, "applies_to");
	assert_int_equal(json_array_size(applies), 2);
	assert_string_equal(sget(json_array_get(applies, 0), "component"), "web-service");
	assert_string_equal(sget(json_array_get(applies, 1), "flow"), "cc-store-in-db");
	json_t *ref =
	    json_array_get(json_object_get(json_array_get(applies, 1), "countermeasures"), 0);
	assert_string_equal(sget(ref, "state"), "required");
	json_decref(m);
	json_decref(w);
	free(path);
}

/* ------------------------------------------------------- nulls */

/* Every property of the OTM 0.2.0 schema, filled, with mapped types so that a
 * clean import gives no warning. */
static const char base_doc[] =
    "{\"otmVersion\": \"0.2.0\","
    " \"project\": {\"name\": \"P\", \"id\": \"p\", \"description\": \"d\","
    "  \"owner\": \"o\", \"ownerContact\": \"o@example.com\", \"tags\": [\"t\"],"
    "  \"attributes\": {\"compliance\": \"gdpr\"}},"
    " \"representations\": [{\"name\": \"R\", \"id\": \"r\", \"type\": \"diagram\","
    "  \"description\": \"d\", \"size\": {\"width\": 1, \"height\": 1},"
    "  \"repository\": {\"url\": \"https://example.com\"}, \"attributes\": {\"a\": 1}}],"
    " \"assets\": [{\"name\": \"A\", \"id\": \"a\", \"description\": \"d\","
    "  \"risk\": {\"confidentiality\": 1, \"integrity\": 1, \"availability\": 1,"
    "  \"comment\": \"c\"}, \"attributes\": {\"a\": 1}}],"
    " \"trustZones\": [{\"id\": \"z\", \"name\": \"Z\", \"type\": \"internet\","
    "  \"description\": \"d\", \"risk\": {\"trustRating\": 10},"
    "  \"representations\": [{\"representation\": \"r\", \"id\": \"zr\", \"name\": \"n\","
    "   \"position\": {\"x\": 1, \"y\": 1}, \"size\": {\"width\": 1, \"height\": 1},"
    "   \"file\": \"f\", \"line\": 1, \"codeSnippet\": \"c\", \"attributes\": {}}],"
    "  \"attributes\": {\"a\": 1}}],"
    " \"components\": [{\"id\": \"c\", \"name\": \"C\", \"type\": \"web-application\","
    "  \"description\": \"d\", \"parent\": {\"trustZone\": \"z\"},"
    "  \"representations\": [{\"representation\": \"r\", \"id\": \"cr\"}],"
    "  \"assets\": {\"processed\": [\"a\", \"a\"], \"stored\": [\"a\", \"a\"]},"
    "  \"threats\": [{\"threat\": \"t\", \"state\": \"exposed\", \"mitigations\":"
    "   [{\"mitigation\": \"m\", \"state\": \"required\"},"
    "    {\"mitigation\": \"m\", \"state\": \"required\"}]}],"
    "  \"tags\": [\"x\", \"y\"], \"attributes\": {\"a\": 1, \"b\": 2}},"
    "  {\"id\": \"db\", \"name\": \"DB\", \"type\": \"postgresql\","
    "   \"parent\": {\"component\": \"c\"}}],"
    " \"dataflows\": [{\"id\": \"f\", \"name\": \"F\", \"description\": \"d\","
    "  \"bidirectional\": true, \"source\": \"c\", \"destination\": \"db\","
    "  \"assets\": [\"a\", \"a\"], \"threats\": [{\"threat\": \"t\", \"state\": \"exposed\","
    "   \"mitigations\": []}], \"tags\": [\"x\", \"y\"], \"attributes\": {\"a\": 1}}],"
    " \"threats\": [{\"id\": \"t\", \"name\": \"T\", \"description\": \"d\","
    "  \"categories\": [\"Spoofing\", \"Tampering\"], \"cwes\": [\"CWE-79\", \"CWE-89\"],"
    "  \"risk\": {\"likelihood\": 50, \"likelihoodComment\": \"l\", \"impact\": 50,"
    "   \"impactComment\": \"i\"}, \"tags\": [\"x\", \"y\"], \"attributes\": {\"a\": 1}}],"
    " \"mitigations\": [{\"id\": \"m\", \"name\": \"M\", \"description\": \"d\","
    "  \"riskReduction\": 50, \"attributes\": {\"a\": 1}}]}";

/* Each property whose schema type includes "null", and each list item whose
 * items' type does, as a slash-separated path. */
static const char *const nullable[] = {
    "project/description",
    "project/owner",
    "project/ownerContact",
    "project/tags",
    "project/attributes",
    "representations",
    "representations/0/description",
    "representations/0/size",
    "representations/0/repository",
    "representations/0/repository/url",
    "representations/0/attributes",
    "assets",
    "assets/0/description",
    "assets/0/risk/comment",
    "assets/0/attributes",
    "trustZones/0/description",
    "trustZones/0/representations",
    "trustZones/0/representations/0/name",
    "trustZones/0/representations/0/position",
    "trustZones/0/representations/0/size",
    "trustZones/0/representations/0/file",
    "trustZones/0/representations/0/line",
    "trustZones/0/representations/0/codeSnippet",
    "trustZones/0/representations/0/attributes",
    "trustZones/0/attributes",
    "components/0/description",
    "components/0/representations",
    "components/0/assets",
    "components/0/assets/processed",
    "components/0/assets/processed/0",
    "components/0/assets/stored",
    "components/0/assets/stored/0",
    "components/0/threats",
    "components/0/threats/0/mitigations/0",
    "components/0/threats/0/mitigations/1/mitigation",
    "components/0/threats/0/mitigations/0/state",
    "components/0/tags",
    "components/0/tags/0",
    "components/0/attributes",
    "components/0/attributes/a",
    "dataflows/0/description",
    "dataflows/0/bidirectional",
    "dataflows/0/assets",
    "dataflows/0/assets/0",
    "dataflows/0/threats",
    "dataflows/0/tags",
    "dataflows/0/tags/0",
    "dataflows/0/attributes",
    "threats/0/description",
    "threats/0/categories",
    "threats/0/categories/0",
    "threats/0/cwes",
    "threats/0/cwes/0",
    "threats/0/risk/likelihood",
    "threats/0/risk/likelihoodComment",
    "threats/0/tags",
    "threats/0/tags/0",
    "threats/0/attributes",
    "mitigations/0/description",
    "mitigations/0/attributes",
};

/* Sets the value at a slash-separated path of doc to null. */
static void set_null(json_t *doc, const char *path)
{
	char *copy = ts_strdup(path);
	char *save = NULL;
	json_t *cur = doc;
	char *key = strtok_r(copy, "/", &save);
	for (char *next; key; key = next) {
		next = strtok_r(NULL, "/", &save);
		bool index = json_is_array(cur);
		if (!next) {
			int r = index ? json_array_set_new(cur, strtoul(key, NULL, 10), json_null())
			              : json_object_set_new(cur, key, json_null());
			if (r != 0)
				fail_msg("%s: cannot set", path);
			break;
		}
		cur =
		    index ? json_array_get(cur, strtoul(key, NULL, 10)) : json_object_get(cur, key);
		if (!cur)
			fail_msg("%s: no such path in the base document", path);
	}
	free(copy);
}

/* Parses doc; returns the error text (new string) or NULL when accepted,
 * failing when it is accepted with a warning. */
static char *parse_doc(const json_t *doc, json_t **ret_model)
{
	char *text = json_dumps(doc, 0);
	json_t *w = NULL;
	struct ts_err err = {0};
	char *msg = NULL;
	if (model_parse("n.otm", text, strlen(text), MODEL_FORMAT_AUTO, false, &ti, ret_model, &w,
	                NULL, &err) < 0)
		msg = ts_strdup(err.msg);
	else if (json_array_size(w))
		fail_msg("warning for %s:\n%s", text, json_string_value(json_array_get(w, 0)));
	json_decref(w);
	free(text);
	return msg;
}

static void test_nullable_nulls(void **state)
{
	(void)state;
	json_t *base = json_loads(base_doc, 0, NULL);
	assert_non_null(base);
	json_t *all = json_deep_copy(base);
	json_t *m = NULL;
	assert_null(parse_doc(base, &m));
	json_decref(m);
	for (size_t i = 0; i < TS_ARRAY_SIZE(nullable); i++) {
		json_t *doc = json_deep_copy(base);
		set_null(doc, nullable[i]);
		m = NULL;
		char *msg = parse_doc(doc, &m);
		if (msg)
			fail_msg("%s: null refused:\n%s", nullable[i], msg);
		json_decref(m);
		json_decref(doc);
	}
	/* All at once, deepest first so every path still exists when reached. */
	for (size_t i = TS_ARRAY_SIZE(nullable); i-- > 0;)
		set_null(all, nullable[i]);
	m = NULL;
	char *msg = parse_doc(all, &m);
	if (msg)
		fail_msg("all nulls refused:\n%s", msg);
	/* a null reads as absent */
	json_t *c = model_component(m, "c");
	assert_null(json_object_get(c, "description"));
	assert_int_equal(json_array_size(json_object_get(c, "tags")), 0);
	assert_int_equal(json_object_size(json_object_get(c, "properties")), 0);
	json_t *t = find_id(m, "threats", "t");
	assert_int_equal(json_array_size(json_object_get(t, "cwe")), 0);
	assert_null(json_object_get(t, "applies_to"));
	json_decref(m);
	json_decref(all);

	/* The top-level lists the schema lets be null, with nothing referring to
	 * their elements. */
	const char *bare = "{\"otmVersion\": \"0.2.0\", \"project\": {\"name\": \"P\", \"id\": "
	                   "\"p\"}, \"trustZones\": [], \"components\": null, \"dataflows\": [],"
	                   " \"threats\": null, \"mitigations\": null, \"assets\": null,"
	                   " \"representations\": null}";
	json_t *doc = json_loads(bare, 0, NULL);
	m = NULL;
	assert_null(parse_doc(doc, &m));
	assert_int_equal(json_array_size(json_object_get(m, "components")), 0);
	json_decref(m);
	json_decref(doc);

	/* A mitigation reference with a null mitigation names none. */
	doc = json_deep_copy(base);
	set_null(doc, "components/0/threats/0/mitigations/0/mitigation");
	set_null(doc, "components/0/threats/0/mitigations/1");
	m = NULL;
	assert_null(parse_doc(doc, &m));
	json_t *a = json_array_get(json_object_get(find_id(m, "threats", "t"), "applies_to"), 0);
	assert_null(json_object_get(a, "countermeasures"));
	json_decref(m);
	json_decref(doc);
	json_decref(base);
}

/* A null where the schema does not allow one is still refused, at its OTM path. */
static void test_non_nullable_nulls(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"project/name", "n.otm: $.project.name: expected a non-empty string, got null"},
	    {"trustZones", "n.otm: $.trustZones: expected an array, got null"},
	    {"trustZones/0/id", "n.otm: $.trustZones[0].id: expected a non-empty string, got null"},
	    {"trustZones/0/risk/trustRating",
	     "n.otm: $.trustZones[0].risk.trustRating: expected a number from 0 to 100"},
	    {"components/0", "n.otm: $.components[0]: expected an object, got null"},
	    {"components/1/type", "n.otm: $.components[1].type: expected a string, got null"},
	    {"components/0/name",
	     "n.otm: $.components[0].name: expected a non-empty string, got null"},
	    {"components/0/parent",
	     "n.otm: $.components[0]: expected 'parent' with 'trustZone' or 'component'"},
	    {"components/0/threats/0/threat",
	     "n.otm: $.components[0].threats[0].threat: expected a non-empty string, got null"},
	    {"components/0/threats/0/mitigations",
	     "n.otm: $.components[0].threats[0].mitigations: expected an array, got null"},
	    {"dataflows", "n.otm: $.dataflows: expected an array, got null"},
	    {"dataflows/0/source",
	     "n.otm: $.dataflows[0].source: expected a non-empty string, got null"},
	    {"threats/0/id", "n.otm: $.threats[0].id: expected a non-empty string, got null"},
	    {"mitigations/0/name",
	     "n.otm: $.mitigations[0].name: expected a non-empty string, got null"},
	};
	json_t *base = json_loads(base_doc, 0, NULL);
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		json_t *doc = json_deep_copy(base);
		set_null(doc, cases[i][0]);
		json_t *m = NULL;
		char *msg = parse_doc(doc, &m);
		if (!msg)
			fail_msg("%s: null accepted", cases[i][0]);
		assert_null(m);
		assert_line(msg, cases[i][1]);
		free(msg);
		json_decref(doc);
	}
	json_decref(base);
}

/* ------------------------------------------------------- references */

static void test_dangling_zone(void **state)
{
	(void)state;
	json_t *doc = json_loads(base_doc, 0, NULL);
	json_t *c = json_array_get(json_object_get(doc, "components"), 0);
	json_object_set_new(json_object_get(c, "parent"), "trustZone", json_string("nowhere"));
	json_t *m = NULL;
	char *msg = parse_doc(doc, &m);
	assert_non_null(msg);
	/* One message, in the file's terms; not the native "trust_zone" one, and
	 * none for the component inside it. */
	assert_string_equal(
	    msg, "n.otm: $.components[0].parent.trustZone: unknown trust zone 'nowhere'");
	free(msg);
	json_decref(doc);
}

/* OTM assets become data assets, classified by their confidentiality, and
 * the assets a component processes or stores become its properties. */
static void test_assets(void **state)
{
	(void)state;
	json_t *w = NULL;
	char *path = NULL;
	json_t *m = import_file("EXAMPLE.json", &w, &path);
	assert_int_equal(json_array_size(json_object_get(m, "data_assets")), 2);
	json_t *a = find_id(m, "data_assets", "cc-data");
	assert_string_equal(sget(a, "name"), "Credit Card Data");
	assert_string_equal(sget(a, "classification"), "restricted");
	assert_string_equal(sget(a, "description"),
	                    "Credit card numbers used for payments in the platform");
	char *props = json_dumps(json_object_get(a, "properties"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(props,
	                    "{\"availability\":100,\"confidentiality\":100,\"integrity\":100}");
	free(props);
	assert_string_equal(sget(find_id(m, "data_assets", "public-info"), "classification"),
	                    "public");
	json_t *c = find_id(m, "components", "web-service");
	props = json_dumps(json_object_get(c, "properties"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(props, "{\"assets_processed\":[\"cc-data\",\"public-info\"],"
	                           "\"assets_stored\":[\"public-info\"],"
	                           "\"data_classification\":\"restricted\"}");
	free(props);
	json_decref(m);
	json_decref(w);
	free(path);

	/* Assets of the wrong shape: errors in the file's terms. */
	json_t *doc = json_loads(base_doc, 0, NULL);
	json_object_set_new(doc, "assets",
	                    json_pack("[{s:s, s:s, s:{s:i}}, {s:s}]", "id", "pii", "name", "PII",
	                              "risk", "confidentiality", 60, "name", "no id"));
	json_t *comp = json_array_get(json_object_get(doc, "components"), 0);
	json_object_set_new(comp, "assets", json_pack("{s:[s, i]}", "stored", "pii", 7));
	m = NULL;
	char *msg = parse_doc(doc, &m);
	assert_non_null(msg);
	assert_line(msg, "n.otm: $.assets[1]: missing required field 'id'");
	assert_line(msg, "n.otm: $.components[0].assets.stored[1]: expected an asset id, got a "
	                 "number");
	assert_int_equal(count_lines(msg), 2);
	free(msg);
	json_decref(doc);
}

static void test_dangling_parent(void **state)
{
	(void)state;
	const char *text =
	    "{\"otmVersion\": \"0.2.0\", \"project\": {\"name\": \"P\", \"id\": \"p\"},"
	    " \"trustZones\": [{\"id\": \"z\", \"name\": \"Z\", \"risk\": {\"trustRating\": 5}}],"
	    " \"dataflows\": [], \"components\": ["
	    "  {\"id\": \"a\", \"name\": \"A\", \"type\": \"web-application\","
	    "   \"parent\": {\"component\": \"ghost\"}},"
	    "  {\"id\": \"b\", \"name\": \"B\", \"type\": \"web-application\","
	    "   \"parent\": {\"component\": \"a\"}},"
	    "  {\"id\": \"c\", \"name\": \"C\", \"type\": \"web-application\","
	    "   \"parent\": {\"component\": \"d\"}},"
	    "  {\"id\": \"d\", \"name\": \"D\", \"type\": \"web-application\","
	    "   \"parent\": {\"component\": \"c\"}}]}";
	json_t *doc = json_loads(text, 0, NULL);
	json_t *m = NULL;
	char *msg = parse_doc(doc, &m);
	assert_non_null(msg);
	assert_line(msg, "n.otm: $.components[0].parent.component: unknown component 'ghost'");
	assert_line(msg, "n.otm: $.components[2].parent.component: the parent chain loops "
	                 "without reaching a trust zone");
	assert_line(msg, "n.otm: $.components[3].parent.component: the parent chain loops "
	                 "without reaching a trust zone");
	/* b, inside a, repeats nothing */
	assert_int_equal(count_lines(msg), 3);
	free(msg);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_files),
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_real_files_generate),
	    cmocka_unit_test(test_containers),
	    cmocka_unit_test(test_nullable_nulls),
	    cmocka_unit_test(test_non_nullable_nulls),
	    cmocka_unit_test(test_dangling_zone),
	    cmocka_unit_test(test_dangling_parent),
	    cmocka_unit_test(test_assets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
