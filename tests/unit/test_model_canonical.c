/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the canonical text of a model: byte for byte jansson's
 * json_dumps(JSON_SORT_KEYS | JSON_COMPACT), and the spans of the members
 * stored in columns of their own equal to those members' own dumps. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/model.h"
#include "engine/model/model_native.h"
#include "helpers/testutil.h"

static void same_as_jansson(const json_t *doc)
{
	char *want = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(want);
	char hash[65], want_hash[65];
	char *got = model_canonical_dump(doc, hash);
	assert_string_equal(got, want);
	ts_sha256_hex(want, strlen(want), want_hash);
	assert_string_equal(hash, want_hash);
	free(want);
	free(got);
}

static void test_values_as_jansson(void **state)
{
	(void)state;
	/* every control character, the characters escaped, DEL and UTF-8 */
	struct ts_buf s = {0};
	for (int c = 1; c < 0x20; c++) {
		char ch = (char)c;
		ts_buf_append(&s, &ch, 1);
	}
	ts_buf_puts(&s, "\"\\/\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end");
	json_t *doc = json_object();
	json_object_set_new(doc, "text", json_string(s.data));
	json_object_set_new(doc, s.data, json_string("key with every escape"));
	json_object_set_new(doc, "nul", json_stringn("a\0b", 3));
	json_t *nums = json_array();
	static const json_int_t ints[] = {0, 1, -1, 42, 1000000, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < TS_ARRAY_SIZE(ints); i++)
		json_array_append_new(nums, json_integer(ints[i]));
	static const double reals[] = {0.0, -0.0, 1.0, 0.1, 1e300, 1e-7, 123456789.125, -2.5};
	for (size_t i = 0; i < TS_ARRAY_SIZE(reals); i++)
		json_array_append_new(nums, json_real(reals[i]));
	json_object_set_new(doc, "numbers", nums);
	json_object_set_new(doc, "literals", json_pack("[b,b,n]", 1, 0));
	json_object_set_new(doc, "empty", json_pack("{s:{},s:[],s:s}", "o", "a", "s", ""));
	/* keys that sort by prefix and by byte value */
	json_t *keys = json_object();
	static const char *const names[] = {"b", "a", "ab", "a_", "A", "aa", "\xc3\xa9", "_"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(names); i++)
		json_object_set_new(keys, names[i], json_integer((json_int_t)i));
	json_object_set_new(doc, "keys", keys);
	/* objects large enough for the other sort, in reverse order */
	json_t *big = json_object();
	for (int i = 99; i >= 0; i--) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(big, k, json_pack("{s:i,s:i}", "z", i, "y", -i));
	}
	json_object_set_new(doc, "big", big);
	same_as_jansson(doc);
	same_as_jansson(json_object_get(doc, "big"));
	json_decref(doc);
	ts_buf_free(&s);
}

/* The text of span sp of c equals the canonical dump of v; an absent member
 * has an empty span. */
static void span_is(const struct model_canon *c, const struct model_span *sp, const json_t *v)
{
	if (!v) {
		assert_int_equal(sp->len, 0);
		return;
	}
	char *want = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	assert_int_equal(sp->len, strlen(want));
	assert_memory_equal(c->text + sp->off, want, sp->len);
	free(want);
}

static void check_spans(const json_t *model)
{
	struct model_canon c;
	model_canon_build(model, &c);
	char *want = json_dumps(model, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(c.text, want);
	assert_int_equal(c.len, strlen(want));
	free(want);
	json_t *comps = json_object_get(model, "components");
	json_t *flows = json_object_get(model, "flows");
	json_t *assets = json_object_get(model, "data_assets");
	assert_int_equal(c.n_components, json_array_size(comps));
	assert_int_equal(c.n_flows, json_array_size(flows));
	assert_int_equal(c.n_assets, json_array_size(assets));
	static const char *const cols[] = {"tags", "properties", "code"};
	for (size_t i = 0; i < c.n_components; i++)
		for (size_t k = 0; k < 3; k++)
			span_is(&c, &c.components[i * 3 + k],
			        json_object_get(json_array_get(comps, i), cols[k]));
	for (size_t i = 0; i < c.n_flows; i++)
		span_is(&c, &c.flows[i], json_object_get(json_array_get(flows, i), "properties"));
	for (size_t i = 0; i < c.n_assets; i++)
		span_is(&c, &c.assets[i], json_object_get(json_array_get(assets, i), "properties"));
	model_canon_free(&c);
}

static void test_spans(void **state)
{
	(void)state;
	json_error_t jerr;
	json_t *m = json_loads(
	    "{\"format\": \"threatsync-model/1\", \"project\": {\"name\": \"p\"},"
	    " \"components\": ["
	    "  {\"id\": \"b\", \"type\": \"web_app\", \"tags\": [\"x\", \"a\"],"
	    "   \"properties\": {\"z\": 1, \"handles_pii\": true, \"a\": [\"q\"]},"
	    "   \"code\": {\"urls\": [], \"paths\": [\"src/\"]}},"
	    "  {\"id\": \"a\", \"type\": \"sql_database\"}],"
	    " \"flows\": [{\"id\": \"f\", \"properties\": {\"encrypted\": false, \"data\": []}},"
	    "            {\"id\": \"g\"}],"
	    " \"data_assets\": [{\"id\": \"d\", \"properties\": {\"k\": \"v\"}}],"
	    " \"trust_zones\": [{\"id\": \"z\", \"properties\": {\"not\": \"a column\"}}]}",
	    0, &jerr);
	assert_non_null(m);
	check_spans(m);
	json_decref(m);
}

/* Every model fixture, parsed and normalised as an import does. */
static void test_fixtures(void **state)
{
	(void)state;
	static const char *const files[] = {
	    "valid_min.json",
	    "payment_defaults.json",
	    "basic.otm.json",
	    "basic.threatdragon.json",
	    "otm/startleft-mtmt-example.otm",
	    "threatdragon/v2-threat-model.json",
	    "library-families/web-edge.json",
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(files); i++) {
		char *path = ts_asprintf("%s/tests/data/models/%s", tu_env("TS_SOURCE_DIR"),
		                         files[i]);
		json_t *model = NULL;
		struct ts_err err = {0};
		if (model_parse_file(path, MODEL_FORMAT_AUTO, false, NULL, &model, NULL, NULL,
		                     &err) < 0)
			fail_msg("%s: %s", files[i], err.msg);
		check_spans(model);
		assert_true(json_array_size(json_object_get(model, "components")) > 0);
		json_decref(model);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values_as_jansson),
	    cmocka_unit_test(test_spans),
	    cmocka_unit_test(test_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
