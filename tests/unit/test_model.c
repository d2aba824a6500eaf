/* SPDX-License-Identifier: Apache-2.0 */
/* System models: native validation, OTM and Threat Dragon import, versions,
 * no-op re-imports, diffs, and the `model import` / `model diff` commands. */
#include "helpers/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/model/model.h"
#include "engine/model/project.h"
#include "engine/store/store.h"

/* ------------------------------------------------------------- fixtures */

/* A small stand-in for the threat library's type information. */
static const char *const test_types[][2] = {
    {"web_app", "process"},     {"rest_api", "process"},        {"sql_database", "store"},
    {"user", "actor"},          {"generic_process", "process"}, {"generic_store", "store"},
    {"generic_actor", "actor"},
};
static const char *const test_maps[][3] = {
    {"otm", "web-application", "web_app"},           {"otm", "postgresql", "sql_database"},
    {"threatdragon", "sql", "sql_database"},         {"threatdragon", "customer", "user"},
    {"threatdragon", "isWebApplication", "web_app"},
};

static const char *ti_type_id(void *ud, const char *type)
{
	(void)ud;
	for (size_t i = 0; i < TS_ARRAY_SIZE(test_types); i++)
		if (strcmp(test_types[i][0], type) == 0)
			return test_types[i][0];
	return NULL;
}

static const char *ti_kind(void *ud, const char *type)
{
	(void)ud;
	for (size_t i = 0; i < TS_ARRAY_SIZE(test_types); i++)
		if (strcmp(test_types[i][0], type) == 0)
			return test_types[i][1];
	return NULL;
}

static const char *ti_map(void *ud, const char *format, const char *foreign)
{
	(void)ud;
	for (size_t i = 0; i < TS_ARRAY_SIZE(test_maps); i++)
		if (strcmp(test_maps[i][0], format) == 0 &&
		    strcasecmp(test_maps[i][1], foreign) == 0)
			return test_maps[i][2];
	return NULL;
}

static const struct model_typeinfo test_ti = {NULL, ti_type_id, ti_kind, ti_map, NULL, NULL};

static char *fixture(const char *name)
{
	return ts_asprintf("%s/tests/data/models/%s", tu_env("TS_SOURCE_DIR"), name);
}

static int parse_fixture(const char *name, enum model_format fmt, bool strict, json_t **ret_model,
                         json_t **ret_warnings, enum model_format *ret_detected, struct ts_err *err)
{
	char *path = fixture(name);
	int r = model_parse_file(path, fmt, strict, &test_ti, ret_model, ret_warnings, ret_detected,
	                         err);
	free(path);
	return r;
}

/* Parses a document that must be accepted. */
static json_t *must_parse(const char *name, enum model_format fmt, json_t **ret_warnings)
{
	struct ts_err err = {0};
	json_t *model = NULL;
	int r = parse_fixture(name, fmt, false, &model, ret_warnings, NULL, &err);
	if (r < 0)
		fail_msg("%s: %s", name, err.msg);
	return model;
}

/* Asserts that text holds line as one whole line. */
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

static const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

struct db {
	char *dir;
	char *path;
	struct store *s;
	int64_t project;
};

static void db_open(struct db *d)
{
	struct ts_err err = {0};
	d->dir = tu_tmpdir();
	d->path = ts_asprintf("%s/ts.db", d->dir);
	if (store_open(d->path, STORE_MIGRATE, &d->s, &err) < 0)
		fail_msg("store_open: %s", err.msg);
	if (project_add(d->s, "shop", "Shop", "", &d->project, &err) < 0)
		fail_msg("project_add: %s", err.msg);
}

static void db_close(struct db *d)
{
	store_close(d->s);
	tu_rmrf(d->dir);
	free(d->dir);
	free(d->path);
}

static int count_rows(struct db *d, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(d->s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* ------------------------------------------------------------ native */

static void test_native_normalised(void **state)
{
	(void)state;
	json_t *m = must_parse("valid_min.json", MODEL_FORMAT_AUTO, NULL);
	/* sorted by id, defaults filled, tags sorted and unique */
	json_t *comps = json_object_get(m, "components");
	assert_int_equal(json_array_size(comps), 4);
	assert_string_equal(sget(json_array_get(comps, 0), "id"), "api");
	assert_string_equal(sget(json_array_get(comps, 3), "id"), "web");
	json_t *web = model_component(m, "web");
	assert_non_null(web);
	json_t *tags = json_object_get(web, "tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "azure");
	json_t *db = model_component(m, "db");
	assert_non_null(json_object_get(json_object_get(db, "code"), "paths"));
	assert_string_equal(sget(json_array_get(json_object_get(m, "flows"), 0), "id"), "f1");
	assert_null(model_component(m, "nope"));
	assert_non_null(model_flow(m, "f2"));
	assert_non_null(model_trust_zone(m, "dmz"));
	/* The canonical dump is stable: parsing it again gives the same hash. */
	char h1[65], h2[65];
	char *dump = model_canonical_dump(m, h1);
	json_t *again = NULL;
	struct ts_err err = {0};
	assert_int_equal(model_parse("again.json", dump, strlen(dump), MODEL_FORMAT_AUTO, false,
	                             &test_ti, &again, NULL, NULL, &err),
	                 0);
	free(model_canonical_dump(again, h2));
	assert_string_equal(h1, h2);
	free(dump);
	json_decref(again);
	json_decref(m);
}

static void test_versions_and_noop(void **state)
{
	(void)state;
	struct db d;
	db_open(&d);
	struct ts_err err = {0};
	json_t *m = must_parse("valid_min.json", MODEL_FORMAT_AUTO, NULL);
	int version = 0;
	bool unchanged = true;
	assert_int_equal(model_import(d.s, d.project, m, MODEL_FORMAT_NATIVE, "valid_min.json",
	                              &version, &unchanged, &err),
	                 0);
	assert_int_equal(version, 1);
	assert_false(unchanged);
	assert_int_equal(count_rows(&d, "SELECT count(*) FROM components"), 4);
	assert_int_equal(count_rows(&d, "SELECT count(*) FROM data_flows"), 2);
	assert_int_equal(count_rows(&d, "SELECT count(*) FROM trust_zones"), 3);
	assert_int_equal(count_rows(&d, "SELECT count(*) FROM data_assets"), 1);

	/* identical content: nothing written, the same version reported */
	assert_int_equal(model_import(d.s, d.project, m, MODEL_FORMAT_NATIVE, "again.json",
	                              &version, &unchanged, &err),
	                 0);
	assert_int_equal(version, 1);
	assert_true(unchanged);
	assert_int_equal(count_rows(&d, "SELECT count(*) FROM model_versions"), 1);

	/* a change makes version 2 */
	json_t *m2 = json_deep_copy(m);
	json_array_append_new(json_object_get(m2, "components"),
	                      json_pack("{s:s, s:s, s:s, s:s}", "id", "zz", "type", "rest_api",
	                                "name", "New", "trust_zone", "core"));
	assert_int_equal(model_import(d.s, d.project, m2, MODEL_FORMAT_NATIVE, "v2.json", &version,
	                              &unchanged, &err),
	                 0);
	assert_int_equal(version, 2);
	assert_false(unchanged);
	int latest = 0;
	assert_int_equal(model_latest_version(d.s, d.project, &latest, &err), 0);
	assert_int_equal(latest, 2);

	json_t *loaded = NULL;
	int got = 0;
	assert_int_equal(model_load(d.s, d.project, 0, &loaded, &got, &err), 0);
	assert_int_equal(got, 2);
	assert_non_null(model_component(loaded, "zz"));
	json_decref(loaded);
	assert_int_equal(model_load(d.s, d.project, 1, &loaded, &got, &err), 0);
	assert_int_equal(got, 1);
	assert_true(json_equal(loaded, m));
	json_decref(loaded);
	assert_int_not_equal(model_load(d.s, d.project, 7, &loaded, NULL, &err), 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);

	int64_t other = 0;
	assert_int_equal(project_add(d.s, "empty", "Empty", "", &other, &err), 0);
	assert_int_not_equal(model_load(d.s, other, 0, &loaded, NULL, &err), 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	json_decref(m);
	json_decref(m2);
	db_close(&d);
}

/* Each bad input: the exact first message line and EX_DATAERR. */
static void expect_bad(const char *name, enum model_format fmt, const char *line)
{
	struct ts_err err = {0};
	json_t *m = NULL;
	char *path = fixture(name);
	assert_int_not_equal(model_parse_file(path, fmt, false, &test_ti, &m, NULL, NULL, &err), 0);
	assert_null(m);
	assert_int_equal(err.code, TS_E_INVALID);
	char *want = ts_asprintf("%s: %s", path, line);
	assert_line(err.msg, want);
	free(want);
	free(path);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	/* malformed JSON names line and column rather than a path */
	struct ts_err err = {0};
	char *path = fixture("bad_syntax.json");
	char *want = ts_asprintf("%s:3:32: invalid JSON: string or '}' expected near ','", path);
	assert_int_not_equal(
	    model_parse_file(path, MODEL_FORMAT_AUTO, false, &test_ti, NULL, NULL, NULL, &err), 0);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);

	expect_bad("bad_types.json", MODEL_FORMAT_AUTO, "$.project: missing required field 'name'");
	expect_bad("bad_types.json", MODEL_FORMAT_AUTO,
	           "$.trust_zones[0].trust_level: expected an integer from 0 to 100");
	expect_bad("bad_types.json", MODEL_FORMAT_AUTO,
	           "$.components[0].name: expected a string, got a number");
	expect_bad("bad_types.json", MODEL_FORMAT_AUTO,
	           "$.components[0].properties.internet_facing: expected a boolean, got a string");
	expect_bad("bad_types.json", MODEL_FORMAT_AUTO,
	           "$.components[0].properties.data_classification: expected one of public, "
	           "internal, confidential, restricted");
	expect_bad("bad_types.json", MODEL_FORMAT_AUTO,
	           "$.components[0].properties.owner: expected a string, number, boolean or list "
	           "of strings, got an object");
	expect_bad("bad_dangling.json", MODEL_FORMAT_AUTO,
	           "$.components[1].trust_zone: unknown trust zone 'dmz2'");
	expect_bad("bad_dangling.json", MODEL_FORMAT_AUTO,
	           "$.flows[0].destination: unknown destination component 'ghost'");
	expect_bad("bad_duplicate.json", MODEL_FORMAT_AUTO,
	           "$.components[1].id: duplicate id 'web' (also at $.components[0])");
	expect_bad("bad_unknown_type.json", MODEL_FORMAT_AUTO,
	           "$.components[1].type: unknown component type 'mainframe'");
	expect_bad("undetectable.json", MODEL_FORMAT_AUTO,
	           "$: cannot tell the format (expected a native document with \"format\": "
	           "\"threatsync-model/1\", an OTM document with \"otmVersion\" or a Threat "
	           "Dragon v2 document with \"detail.diagrams\"); use --format");
}

static void test_duplicate_key_and_limits(void **state)
{
	(void)state;
	struct ts_err err = {0};
	char *path = fixture("bad_duplicate_key.json");
	assert_int_not_equal(
	    model_parse_file(path, MODEL_FORMAT_AUTO, false, &test_ti, NULL, NULL, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "duplicate object key"));
	free(path);

	/* nesting: 33 levels rejected before jansson builds the tree */
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"project\": {\"name\": \"x\"}, \"components\": [], \"x\": ");
	for (int i = 0; i < 40; i++)
		ts_buf_puts(&b, "[");
	for (int i = 0; i < 40; i++)
		ts_buf_puts(&b, "]");
	ts_buf_puts(&b, "}");
	assert_int_not_equal(model_parse("deep.json", b.data, b.len, MODEL_FORMAT_AUTO, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_string_equal(err.msg, "deep.json:1:82: nesting deeper than 32 levels");
	ts_buf_free(&b);

	/* brackets inside strings do not count */
	const char *ok = "{\"project\": {\"name\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}, "
	                 "\"components\": []}";
	json_t *m = NULL;
	assert_int_equal(model_parse("s.json", ok, strlen(ok), MODEL_FORMAT_AUTO, false, &test_ti,
	                             &m, NULL, NULL, &err),
	                 0);
	json_decref(m);

	/* strings over 4 KiB */
	char *big = ts_malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	char *doc = ts_asprintf("{\"project\": {\"name\": \"%s\"}, \"components\": []}", big);
	assert_int_not_equal(model_parse("big.json", doc, strlen(doc), MODEL_FORMAT_AUTO, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	assert_string_equal(err.msg, "big.json: $.project.name: string of 4999 bytes exceeds 4096 "
	                             "bytes");
	free(doc);
	free(big);

	/* the whole document over 16 MiB */
	size_t n = MODEL_MAX_BYTES + 1;
	char *huge = ts_malloc(n);
	memset(huge, ' ', n);
	huge[0] = '{';
	huge[n - 1] = '}';
	assert_int_not_equal(model_parse("huge.json", huge, n, MODEL_FORMAT_AUTO, false, &test_ti,
	                                 NULL, NULL, NULL, &err),
	                     0);
	assert_string_equal(err.msg, "huge.json: $: document of 16777217 bytes exceeds the limit "
	                             "of 16777216 bytes (16 MiB)");
	free(huge);
}

static void test_error_cap(void **state)
{
	(void)state;
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"project\": {\"name\": \"x\"}, \"components\": [");
	for (int i = 0; i < 30; i++)
		ts_buf_printf(&b,
		              "%s{\"id\": \"c%d\", \"type\": \"web_app\", \"name\": \"n\", "
		              "\"trust_zone\": \"missing\"}",
		              i ? "," : "", i);
	ts_buf_puts(&b, "]}");
	struct ts_err err = {0};
	assert_int_not_equal(model_parse("many.json", b.data, b.len, MODEL_FORMAT_NATIVE, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	int lines = 1;
	for (const char *c = err.msg; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, MODEL_MAX_ERRORS + 1);
	assert_line(err.msg, "many.json: 10 more errors not shown");
	ts_buf_free(&b);
}

/* Messages quote the input, the file name and jansson's error text; none of
 * them need be UTF-8 (jansson cuts its text mid-character, a long message is
 * cut at a byte count), and an error whose message could not be stored was
 * lost: the document was refused with no reason, or even accepted. */
static void test_messages_not_utf8(void **state)
{
	(void)state;
	struct ts_err err = {0};
	/* found by fuzz_model_threatdragon: jansson quotes half of a character */
	const char bad_escape[] = " \"}\\\xd4\x8f\x90\x94ou";
	assert_int_equal(model_parse("t.json", bad_escape, sizeof(bad_escape) - 1,
	                             MODEL_FORMAT_THREATDRAGON, false, &test_ti, NULL, NULL, NULL,
	                             &err),
	                 -EINVAL);
	assert_string_equal(err.msg, "t.json:1:5: invalid JSON: invalid escape near '\"}\\?'");

	/* a file name that is not UTF-8 */
	assert_int_equal(model_parse("caf\xe9.json", "[", 1, MODEL_FORMAT_AUTO, false, &test_ti,
	                             NULL, NULL, NULL, &err),
	                 -EINVAL);
	assert_string_equal(err.msg, "caf?.json:1:1: invalid JSON: ']' expected near end of file");

	/* a message cut inside a character: the error still refuses the model */
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"format\": \"threatsync-model/1\", \"project\": {\"name\": \"x\"}, "
	                "\"components\": [{\"id\": \"c\", \"name\": \"c\", \"type\": \"");
	for (int i = 0; i < 700; i++)
		ts_buf_puts(&b, "\xc3\xa9");
	ts_buf_puts(&b, "\"}]}");
	assert_int_equal(model_parse("cut.json", b.data, b.len, MODEL_FORMAT_NATIVE, false,
	                             &test_ti, NULL, NULL, NULL, &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "cut.json: $.components[0].type: "));
	ts_buf_free(&b);
}

/* Repeated compliance ids and tags are dropped however often they repeat;
 * from the third on they were compared with one already freed and kept (found
 * by fuzz_model_otm: the canonical form read back different). */
static void test_normalise_drops_repeats(void **state)
{
	(void)state;
	const char *doc =
	    "{\"format\": \"threatsync-model/1\", \"project\": {\"name\": \"x\", "
	    "\"compliance\": [\"pci-dss\", \"gdpr\", \"gdpr\", \"gdpr\", \"gdpr\"]}, "
	    "\"trust_zones\": [{\"id\": \"z\", \"name\": \"Z\", \"trust_level\": 50}], "
	    "\"components\": [{\"id\": \"web\", \"type\": \"web_app\", \"name\": \"W\", "
	    "\"trust_zone\": \"z\", \"tags\": [\"b\", \"a\", \"b\", \"b\", \"a\", \"b\"]}]}";
	json_t *m = NULL;
	struct ts_err err = {0};
	assert_int_equal(model_parse("r.json", doc, strlen(doc), MODEL_FORMAT_NATIVE, false,
	                             &test_ti, &m, NULL, NULL, &err),
	                 0);
	char *compliance =
	    json_dumps(json_object_get(json_object_get(m, "project"), "compliance"), 0);
	assert_string_equal(compliance, "[\"gdpr\", \"pci-dss\"]");
	char *tags = json_dumps(json_object_get(model_component(m, "web"), "tags"), 0);
	assert_string_equal(tags, "[\"a\", \"b\"]");
	free(tags);
	free(compliance);
	json_decref(m);
}

/* --------------------------------------------------------------- OTM */

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

static void test_otm(void **state)
{
	(void)state;
	json_t *warnings = NULL;
	enum model_format detected = MODEL_FORMAT_AUTO;
	json_t *m = NULL;
	struct ts_err err = {0};
	assert_int_equal(parse_fixture("basic.otm.json", MODEL_FORMAT_AUTO, false, &m, &warnings,
	                               &detected, &err),
	                 0);
	assert_int_equal(detected, MODEL_FORMAT_OTM);
	/* mapped by type, by tag, and generic by words with warnings */
	assert_string_equal(sget(model_component(m, "portal"), "type"), "web_app");
	assert_string_equal(sget(model_component(m, "pg"), "type"), "sql_database");
	assert_string_equal(sget(model_component(m, "browser"), "type"), "generic_actor");
	assert_string_equal(sget(model_component(m, "ledger"), "type"), "generic_process");
	assert_string_equal(sget(model_component(m, "files"), "type"), "generic_store");
	/* a component inside a component: its parent and the parent's zone */
	assert_string_equal(sget(model_component(m, "pg"), "parent"), "ledger");
	assert_string_equal(sget(model_component(m, "pg"), "trust_zone"), "private");
	assert_int_equal(
	    json_integer_value(json_object_get(model_trust_zone(m, "private"), "trust_level")), 86);
	json_t *props = json_object_get(model_component(m, "portal"), "properties");
	assert_true(json_is_true(json_object_get(props, "internet_facing")));
	assert_string_equal(sget(props, "owner"), "team-a");
	json_t *compliance = json_object_get(json_object_get(m, "project"), "compliance");
	assert_string_equal(json_string_value(json_array_get(compliance, 0)), "gdpr");
	assert_string_equal(json_string_value(json_array_get(compliance, 1)), "pci-dss");
	json_t *d1 = model_flow(m, "d1");
	assert_string_equal(sget(d1, "protocol"), "HTTPS");
	assert_true(json_is_true(json_object_get(json_object_get(d1, "properties"), "encrypted")));
	assert_true(
	    json_is_true(json_object_get(json_object_get(d1, "properties"), "bidirectional")));

	assert_int_equal(json_array_size(warnings), 3);
	char *p = fixture("basic.otm.json");
	char *w = ts_asprintf("%s: $.components[2].type: no mapping for OTM type 'mainframe'; "
	                      "using generic_process",
	                      p);
	assert_string_equal(json_string_value(json_array_get(warnings, 1)), w);
	free(w);

	/* threats and mitigations kept as manual additions, never dropped */
	assert_int_equal(json_array_size(json_object_get(m, "threats")), 3);
	assert_int_equal(json_array_size(json_object_get(m, "countermeasures")), 2);
	json_t *xss = find_id(m, "threats", "t-xss");
	assert_string_equal(sget(xss, "origin"), "otm");
	assert_string_equal(sget(xss, "title"), "Cross-site scripting");
	assert_string_equal(sget(xss, "stride"), "TI");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(xss, "cwe"), 0)), 79);
	json_t *applies = json_array_get(json_object_get(xss, "applies_to"), 0);
	assert_string_equal(sget(applies, "component"), "portal");
	assert_string_equal(sget(applies, "state"), "EXPOSED");
	json_t *cm = json_array_get(json_object_get(applies, "countermeasures"), 0);
	assert_string_equal(sget(cm, "id"), "m-encode");
	assert_string_equal(sget(cm, "state"), "REQUIRED");
	json_t *tamper = find_id(m, "threats", "t-tamper");
	assert_string_equal(sget(json_array_get(json_object_get(tamper, "applies_to"), 0), "flow"),
	                    "d2");
	json_t *encode = find_id(m, "countermeasures", "m-encode");
	assert_string_equal(sget(encode, "origin"), "otm");
	assert_int_equal((int)json_number_value(json_object_get(encode, "risk_reduction")), 80);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(encode, "threats"), 0)), "t-xss");
	assert_non_null(find_id(m, "countermeasures", "m-spare"));
	json_decref(m);
	json_decref(warnings);

	/* --strict: every warning is an error */
	m = NULL;
	assert_int_not_equal(
	    parse_fixture("basic.otm.json", MODEL_FORMAT_AUTO, true, &m, NULL, NULL, &err), 0);
	assert_null(m);
	assert_int_equal(err.code, TS_E_INVALID);
	w = ts_asprintf("%s: $.components[2].type: no mapping for OTM type 'mainframe'; using "
	                "generic_process (--strict)",
	                p);
	assert_line(err.msg, w);
	free(w);

	/* bad OTM: source paths in every message */
	char *bad = fixture("bad.otm.json");
	assert_int_not_equal(
	    model_parse_file(bad, MODEL_FORMAT_AUTO, false, &test_ti, NULL, NULL, NULL, &err), 0);
	w = ts_asprintf("%s: $.trustZones[0].risk.trustRating: expected a number from 0 to 100",
	                bad);
	assert_line(err.msg, w);
	free(w);
	w = ts_asprintf("%s: $.components[1]: expected 'parent' with 'trustZone' or 'component'",
	                bad);
	assert_line(err.msg, w);
	free(w);
	w = ts_asprintf("%s: $.components[0].threats[0].threat: unknown threat 'nope'", bad);
	assert_line(err.msg, w);
	free(w);
	free(bad);
	free(p);
}

/* A valid OTM whose dangling flow is found by the native checks, reported at
 * the OTM path. */
static void test_otm_source_paths(void **state)
{
	(void)state;
	const char *doc =
	    "{\"otmVersion\": \"0.2.0\", \"project\": {\"name\": \"P\", \"id\": \"p\"},"
	    "\"trustZones\": [{\"id\": \"z\", \"name\": \"Z\", \"risk\": {\"trustRating\": 50}}],"
	    "\"components\": [{\"id\": \"a\", \"name\": \"A\", \"type\": \"web-application\","
	    "\"parent\": {\"trustZone\": \"z\"}}],"
	    "\"dataflows\": [{\"id\": \"ok\", \"source\": \"a\", \"destination\": \"a\"},"
	    "{\"id\": \"d\", \"source\": \"a\", \"destination\": \"zz\"}]}";
	struct ts_err err = {0};
	assert_int_not_equal(model_parse("x.otm", doc, strlen(doc), MODEL_FORMAT_AUTO, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	assert_string_equal(
	    err.msg, "x.otm: $.dataflows[1].destination: unknown destination component 'zz'");
}

/* ------------------------------------------------------- Threat Dragon */

static void test_threatdragon(void **state)
{
	(void)state;
	json_t *warnings = NULL;
	enum model_format detected = MODEL_FORMAT_AUTO;
	json_t *m = NULL;
	struct ts_err err = {0};
	if (parse_fixture("basic.threatdragon.json", MODEL_FORMAT_AUTO, false, &m, &warnings,
	                  &detected, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(detected, MODEL_FORMAT_THREATDRAGON);
	assert_string_equal(sget(json_object_get(m, "project"), "name"), "Demo shop");
	assert_string_equal(sget(json_object_get(m, "project"), "owner"), "Team Shop");

	json_t *customer = model_component(m, "a-customer");
	json_t *web = model_component(m, "p-web");
	json_t *orders = model_component(m, "s-orders");
	json_t *worker = model_component(m, "p-worker");
	assert_string_equal(sget(customer, "type"), "user"); /* mapped by name */
	assert_string_equal(sget(web, "type"), "web_app");   /* isWebApplication */
	assert_string_equal(sget(web, "name"), "Shop front end");
	assert_string_equal(sget(orders, "type"), "sql_database"); /* the word "sql" */
	assert_string_equal(sget(worker, "type"), "generic_process");

	/* geometry: innermost box containing the centre; outside -> default zone */
	assert_string_equal(sget(customer, "trust_zone"), "outside");
	assert_string_equal(sget(web, "trust_zone"), "bx-dc");
	assert_string_equal(sget(orders, "trust_zone"), "bx-db");
	assert_string_equal(sget(worker, "trust_zone"), "bx-dc");
	assert_int_equal(
	    json_integer_value(json_object_get(model_trust_zone(m, "bx-dc"), "trust_level")), 50);
	assert_int_equal(
	    json_integer_value(json_object_get(model_trust_zone(m, "bx-db"), "trust_level")), 60);
	assert_int_equal(
	    json_integer_value(json_object_get(model_trust_zone(m, "outside"), "trust_level")), 0);

	json_t *wp = json_object_get(web, "properties");
	assert_true(json_is_true(json_object_get(wp, "authenticates_users")));
	assert_true(json_is_true(json_object_get(wp, "handles_payment")));
	assert_true(json_is_true(json_object_get(wp, "internet_facing"))); /* isPublicNetwork */
	assert_null(json_object_get(json_object_get(customer, "properties"), "internet_facing"));
	assert_true(json_is_true(
	    json_object_get(json_object_get(orders, "properties"), "stores_credentials")));

	json_t *browse = model_flow(m, "f-browse");
	assert_string_equal(sget(browse, "source"), "a-customer");
	assert_string_equal(sget(browse, "protocol"), "HTTPS");
	assert_true(
	    json_is_true(json_object_get(json_object_get(browse, "properties"), "encrypted")));
	assert_null(
	    json_object_get(json_object_get(model_flow(m, "f-orders"), "properties"), "encrypted"));
	assert_null(model_flow(m, "f-dangling"));

	/* element threats become manual additions */
	json_t *threats = json_object_get(m, "threats");
	assert_int_equal(json_array_size(threats), 3);
	json_t *hijack = find_id(m, "threats", "6b1c1f54-2e51-4cbd-9c63-8a8b1f3c2a10");
	assert_non_null(hijack);
	assert_string_equal(sget(hijack, "origin"), "threatdragon");
	assert_string_equal(sget(hijack, "stride"), "S");
	assert_string_equal(sget(hijack, "severity"), "high");
	assert_string_equal(sget(hijack, "mitigation"), "Secure, HttpOnly cookies");
	assert_string_equal(
	    sget(json_array_get(json_object_get(hijack, "applies_to"), 0), "component"), "p-web");
	json_t *audit = find_id(m, "threats", "td-p-web-2");
	assert_non_null(audit);
	assert_string_equal(sget(audit, "state"), "na");
	json_t *mitm = find_id(m, "threats", "td-f-browse-1");
	assert_non_null(mitm);
	assert_string_equal(sget(mitm, "stride"), "I");
	assert_string_equal(sget(json_array_get(json_object_get(mitm, "applies_to"), 0), "flow"),
	                    "f-browse");

	/* the boundary line at x = 250 lies between the customer and the web
	 * application: the flow between them crosses it, the one to the
	 * orders store does not */
	assert_true(json_is_true(
	    json_object_get(json_object_get(find_id(m, "flows", "f-browse"), "properties"),
	                    "crosses_boundary_line")));
	assert_null(json_object_get(json_object_get(find_id(m, "flows", "f-orders"), "properties"),
	                            "crosses_boundary_line"));

	/* the generic fallback and the loose flow are warnings */
	assert_int_equal(json_array_size(warnings), 2);
	assert_non_null(strstr(json_string_value(json_array_get(warnings, 0)),
	                       "$.detail.diagrams[0].cells[5].data.name: no mapping for Threat "
	                       "Dragon process 'Worker'; using generic_process"));
	assert_non_null(strstr(json_string_value(json_array_get(warnings, 1)),
	                       "$.detail.diagrams[0].cells[8]: flow 'Unfinished' is not connected "
	                       "at both ends; skipped"));
	json_decref(warnings);
	json_decref(m);

	char *bad = fixture("bad.threatdragon.json");
	assert_int_not_equal(
	    model_parse_file(bad, MODEL_FORMAT_AUTO, false, &test_ti, NULL, NULL, NULL, &err), 0);
	char *w = ts_asprintf("%s: $.detail.diagrams[0].cells[1].target.cell: flow end 'nowhere' "
	                      "is not an actor, process or store",
	                      bad);
	assert_string_equal(err.msg, w);
	free(w);
	free(bad);
}

static void test_detection(void **state)
{
	(void)state;
	enum model_format f;
	assert_int_equal(model_format_from_name("otm", &f), 0);
	assert_int_equal(f, MODEL_FORMAT_OTM);
	assert_int_equal(model_format_from_name("threatdragon", &f), 0);
	assert_int_equal(f, MODEL_FORMAT_THREATDRAGON);
	assert_int_not_equal(model_format_from_name("xml", &f), 0);
	assert_string_equal(model_format_name(MODEL_FORMAT_NATIVE), "native");

	/* components without "format" is native */
	const char *doc = "{\"project\": {\"name\": \"x\"}, \"components\": []}";
	json_t *m = NULL;
	struct ts_err err = {0};
	assert_int_equal(model_parse("n.json", doc, strlen(doc), MODEL_FORMAT_AUTO, false, &test_ti,
	                             &m, NULL, &f, &err),
	                 0);
	assert_int_equal(f, MODEL_FORMAT_NATIVE);
	assert_string_equal(sget(m, "format"), "threatsync-model/1");
	json_decref(m);

	/* a forced format wins over detection */
	assert_int_not_equal(model_parse("n.json", doc, strlen(doc), MODEL_FORMAT_OTM, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	assert_line(err.msg, "n.json: $.otmVersion: expected a version string such as \"0.2.0\"");

	/* an unknown native format version */
	const char *v2 = "{\"format\": \"threatsync-model/2\", \"project\": {\"name\": \"x\"}, "
	                 "\"components\": []}";
	assert_int_not_equal(model_parse("v2.json", v2, strlen(v2), MODEL_FORMAT_AUTO, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	assert_string_equal(err.msg, "v2.json: $.format: unsupported format 'threatsync-model/2' "
	                             "(expected threatsync-model/1)");

	/* computed flow properties are rejected */
	const char *ctb =
	    "{\"project\": {\"name\": \"x\"}, \"trust_zones\": [{\"id\": \"z\", \"name\": \"Z\", "
	    "\"trust_level\": 1}], \"components\": [{\"id\": \"a\", \"type\": \"web_app\", "
	    "\"name\": \"A\", \"trust_zone\": \"z\"}], \"flows\": [{\"id\": \"f\", \"source\": "
	    "\"a\", \"destination\": \"a\", \"properties\": {\"crosses_trust_boundary\": true}}]}";
	assert_int_not_equal(model_parse("c.json", ctb, strlen(ctb), MODEL_FORMAT_AUTO, false,
	                                 &test_ti, NULL, NULL, NULL, &err),
	                     0);
	assert_string_equal(err.msg, "c.json: $.flows[0].properties.crosses_trust_boundary: "
	                             "computed from the trust zones of the endpoints; remove it");
}

/* -------------------------------------------------------------- diff */

static void test_diff(void **state)
{
	(void)state;
	json_t *a = must_parse("valid_min.json", MODEL_FORMAT_AUTO, NULL);
	json_t *b = json_deep_copy(a);
	json_t *comps = json_object_get(b, "components");
	/* remove "shopper" (index 2 after sorting: api, db, shopper, web) */
	assert_string_equal(sget(json_array_get(comps, 2), "id"), "shopper");
	json_array_remove(comps, 2);
	json_array_append_new(comps,
	                      json_pack("{s:s, s:s, s:s, s:s}", "id", "cache", "type",
	                                "generic_store", "name", "Cache", "trust_zone", "core"));
	json_t *web = model_component(b, "web");
	json_object_set_new(json_object_get(web, "properties"), "internet_facing", json_false());
	json_object_set_new(web, "name", json_string("Shop web 2"));
	json_object_set_new(json_object_get(model_flow(b, "f2"), "properties"), "authenticated",
	                    json_true());
	json_object_set_new(model_trust_zone(b, "dmz"), "trust_level", json_integer(40));

	json_t *diff = NULL;
	assert_int_equal(model_diff(a, b, &diff), 0);
	char *text = json_dumps(json_object_get(diff, "components"), JSON_COMPACT);
	assert_string_equal(text, "{\"added\":[\"cache\"],\"removed\":[\"shopper\"],\"changed\":"
	                          "[{\"id\":\"web\",\"fields\":[\"name\","
	                          "\"properties.internet_facing\"]}]}");
	free(text);
	text = json_dumps(json_object_get(diff, "flows"), JSON_COMPACT);
	assert_string_equal(text, "{\"added\":[],\"removed\":[],\"changed\":[{\"id\":\"f2\","
	                          "\"fields\":[\"properties.authenticated\"]}]}");
	free(text);
	text = json_dumps(json_object_get(diff, "trust_zones"), JSON_COMPACT);
	assert_string_equal(text, "{\"added\":[],\"removed\":[],\"changed\":[{\"id\":\"dmz\","
	                          "\"fields\":[\"trust_level\"]}]}");
	free(text);
	assert_false(model_diff_empty(diff));
	json_decref(diff);

	assert_int_equal(model_diff(a, a, &diff), 0);
	assert_true(model_diff_empty(diff));
	json_decref(diff);
	json_decref(a);
	json_decref(b);
}

/* --------------------------------------------------------------- CLI */

struct cli_env {
	char *dir;
	char *db;
};

static void cli_setup(struct cli_env *e)
{
	e->dir = tu_tmpdir();
	e->db = ts_asprintf("%s/ts.db", e->dir);
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "--db", e->db, "project", "add", "shop", NULL);
	if (rc != 0)
		fail_msg("project add: %d %s", rc, err);
	free(out);
	free(err);
}

static void cli_teardown(struct cli_env *e)
{
	tu_rmrf(e->dir);
	free(e->dir);
	free(e->db);
}

/* A bad file: exit 65, the given message line on stderr, and the database
 * byte-for-byte unchanged. */
static void cli_expect_bad(struct cli_env *e, const char *file, const char *line, const char *extra)
{
	char before[65], after[65];
	tu_file_hash(e->db, before);
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "--db", e->db, "model", "import", "shop", file, extra, NULL);
	tu_file_hash(e->db, after);
	if (rc != 65)
		fail_msg("%s: exit %d, stderr: %s", file, rc, err);
	char *want = ts_asprintf("%s: %s", file, line);
	assert_line(err, want);
	free(want);
	assert_string_equal(out, "");
	assert_string_equal(before, after);
	free(out);
	free(err);
}

static void test_cli_import(void **state)
{
	(void)state;
	struct cli_env e;
	cli_setup(&e);
	char *f = fixture("valid_min.json");
	char *out = NULL, *err = NULL;
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", f, NULL), 0);
	char *want = ts_asprintf("imported %s as version 1 of shop (format native, 4 components, "
	                         "2 flows)\n",
	                         f);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);

	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", f, NULL), 0);
	assert_string_equal(out, "model unchanged: identical to version 1\n");
	free(out);
	free(err);

	/* every class of bad input leaves the database as it was */
	char *p;
	p = fixture("bad_syntax.json");
	{
		char before[65], after[65];
		tu_file_hash(e.db, before);
		assert_int_equal(
		    tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", p, NULL), 65);
		tu_file_hash(e.db, after);
		assert_string_equal(before, after);
		want = ts_asprintf("%s:3:32: invalid JSON: string or '}' expected near ','\n", p);
		assert_string_equal(err, want);
		free(want);
		free(out);
		free(err);
	}
	free(p);
	p = fixture("bad_types.json");
	cli_expect_bad(&e, p, "$.components[0].name: expected a string, got a number", NULL);
	free(p);
	p = fixture("bad_dangling.json");
	cli_expect_bad(&e, p, "$.flows[0].destination: unknown destination component 'ghost'",
	               NULL);
	free(p);
	p = fixture("bad_duplicate.json");
	cli_expect_bad(&e, p, "$.components[1].id: duplicate id 'web' (also at $.components[0])",
	               NULL);
	free(p);
	p = fixture("bad_unknown_type.json");
	cli_expect_bad(&e, p, "$.components[1].type: unknown component type 'mainframe'", NULL);
	free(p);
	p = fixture("basic.otm.json");
	cli_expect_bad(&e, p,
	               "$.components[2].type: no mapping for OTM type 'mainframe'; using "
	               "generic_process (--strict)",
	               "--strict");
	free(p);

	/* generated: nested too deep, and larger than 16 MiB */
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"project\": {\"name\": \"x\"}, \"components\": [], \"x\":\n");
	for (int i = 0; i < 33; i++)
		ts_buf_puts(&b, "{\"a\":");
	ts_buf_puts(&b, "1");
	for (int i = 0; i < 33; i++)
		ts_buf_puts(&b, "}");
	ts_buf_puts(&b, "}\n");
	char *deep = tu_write_file(e.dir, "deep.json", b.data);
	ts_buf_free(&b);
	{
		char before[65], after[65];
		tu_file_hash(e.db, before);
		assert_int_equal(
		    tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", deep, NULL), 65);
		tu_file_hash(e.db, after);
		assert_string_equal(before, after);
		want = ts_asprintf("%s:2:156: nesting deeper than 32 levels\n", deep);
		assert_string_equal(err, want);
		free(want);
		free(out);
		free(err);
	}
	free(deep);

	char *huge = ts_asprintf("%s/huge.json", e.dir);
	FILE *fp = fopen(huge, "w");
	assert_non_null(fp);
	fputs("{\"project\": {\"name\": \"x\"}, \"components\": [], \"pad\": \"", fp);
	for (int i = 0; i < 17 * 1024; i++) {
		char kb[1024];
		memset(kb, 'x', sizeof(kb));
		fwrite(kb, 1, sizeof(kb), fp);
	}
	fputs("\"}", fp);
	fclose(fp);
	cli_expect_bad(&e, huge, "$: document exceeds the limit of 16777216 bytes (16 MiB)", NULL);
	free(huge);

	/* 66: a missing file, an unknown project */
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "import", "shop",
	                        "/nonexistent/model.json", NULL),
	                 66);
	assert_string_equal(err, "/nonexistent/model.json: no such file\n");
	free(out);
	free(err);
	/* opening an up-to-date database with STORE_MIGRATE must not touch it either */
	char h_before[65], h_after[65];
	tu_file_hash(e.db, h_before);
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "import", "nope", f, NULL), 66);
	tu_file_hash(e.db, h_after);
	assert_string_equal(h_before, h_after);
	assert_string_equal(err, "threatsync: no project 'nope' (threatsync project add nope)\n");
	free(out);
	free(err);
	/* 64: usage */
	assert_int_equal(
	    tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", f, "--format", "xml", NULL),
	    64);
	free(out);
	free(err);
	free(f);
	cli_teardown(&e);
}

static void test_cli_examples_and_diff(void **state)
{
	(void)state;
	struct cli_env e;
	cli_setup(&e);
	char *out = NULL, *err = NULL;
	/* before any import */
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "diff", "shop", NULL), 66);
	free(out);
	free(err);

	char *native = ts_asprintf("%s/examples/widgetsrus/model.json", tu_env("TS_SOURCE_DIR"));
	char *otm = ts_asprintf("%s/examples/widgetsrus/model.otm.json", tu_env("TS_SOURCE_DIR"));
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", native,
	                        "--strict", "--json", NULL),
	                 0);
	json_error_t jerr;
	json_t *r = json_loads(out, 0, &jerr);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "version")), 1);
	assert_string_equal(sget(r, "format"), "native");
	assert_true(json_integer_value(json_object_get(r, "components")) >= 15);
	assert_true(json_integer_value(json_object_get(r, "flows")) >= 20);
	json_decref(r);
	free(out);
	free(err);
	assert_int_equal(
	    tu_cli(&out, &err, "--db", e.db, "model", "import", "shop", otm, "--strict", NULL), 0);
	assert_non_null(strstr(out, "as version 2 of shop (format otm, 21 components, 23 flows)"));
	free(out);
	free(err);

	/* default: previous against latest */
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "diff", "shop", "--json", NULL),
	                 0);
	r = json_loads(out, 0, &jerr);
	if (!r)
		fail_msg("not JSON: %s", out);
	assert_int_equal(json_integer_value(json_object_get(r, "from")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "to")), 2);
	json_t *threats = json_object_get(r, "threats");
	assert_int_equal(json_array_size(json_object_get(threats, "added")), 2);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(threats, "removed"), 0)),
	    "manual-tenant-isolation");
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(r, "components"), "added")), 0);
	json_decref(r);
	free(out);
	free(err);

	/* explicit versions, human output; identical versions */
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "diff", "shop", "2", "1", NULL),
	                 0);
	assert_non_null(strstr(out, "shop: version 2 -> version 1\n"));
	assert_non_null(strstr(out, "  + manual-tenant-isolation\n"));
	free(out);
	free(err);
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "diff", "shop", "1", "1", NULL),
	                 0);
	assert_string_equal(out, "shop: no differences between version 1 and version 1\n");
	free(out);
	free(err);
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "diff", "shop", "1", "9", NULL),
	                 66);
	free(out);
	free(err);
	assert_int_equal(tu_cli(&out, &err, "--db", e.db, "model", "diff", "shop", "x", "1", NULL),
	                 64);
	free(out);
	free(err);
	free(native);
	free(otm);
	cli_teardown(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_native_normalised),
	    cmocka_unit_test(test_versions_and_noop),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_duplicate_key_and_limits),
	    cmocka_unit_test(test_error_cap),
	    cmocka_unit_test(test_messages_not_utf8),
	    cmocka_unit_test(test_normalise_drops_repeats),
	    cmocka_unit_test(test_otm),
	    cmocka_unit_test(test_otm_source_paths),
	    cmocka_unit_test(test_threatdragon),
	    cmocka_unit_test(test_detection),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_cli_import),
	    cmocka_unit_test(test_cli_examples_and_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
