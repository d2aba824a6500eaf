/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the JSONPath-like locations of messages: keys, quoted keys,
 * indexes, popping back, and the mark of a path cut at its limit. */
#include <string.h>

#include "engine/jsonpath.h"
#include "helpers/testutil.h"

static void test_steps(void **state)
{
	(void)state;
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	assert_string_equal(jsonpath_str(&p), "$");
	size_t a = jsonpath_key(&p, "components");
	assert_int_equal(a, 1);
	jsonpath_index(&p, 0);
	size_t b = jsonpath_index(&p, 12345);
	jsonpath_key(&p, "a_1");
	assert_string_equal(jsonpath_str(&p), "$.components[0][12345].a_1");
	jsonpath_pop(&p, b);
	jsonpath_key(&p, "a-b");
	assert_string_equal(jsonpath_str(&p), "$.components[0][\"a-b\"]");
	jsonpath_pop(&p, a);
	jsonpath_key(&p, "1a");
	jsonpath_key(&p, "");
	jsonpath_key(&p, "q\"b\\s\x01\x1f\xc3\xa9");
	assert_string_equal(jsonpath_str(&p), "$[\"1a\"][\"\"][\"q\\\"b\\\\s\\u0001\\u001f\xc3\xa9\"]");
	jsonpath_init(&p, "$.components[7]");
	jsonpath_key(&p, "type");
	assert_string_equal(jsonpath_str(&p), "$.components[7].type");
}

static void test_cut_at_limit(void **state)
{
	(void)state;
	char key[601];
	memset(key, 'a', 600);
	key[600] = '\0';
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	jsonpath_key(&p, key);
	assert_int_equal(strlen(jsonpath_str(&p)), 511);
	assert_memory_equal(jsonpath_str(&p), "$.aaa", 5);
	assert_string_equal(jsonpath_str(&p) + 505, "aaa...");
	/* nothing more is added to a cut path; popping still works */
	jsonpath_index(&p, 3);
	assert_int_equal(strlen(jsonpath_str(&p)), 511);
	jsonpath_pop(&p, 1);
	assert_string_equal(jsonpath_str(&p), "$");
	/* a quoted key is copied up to the limit */
	key[200] = '-';
	jsonpath_key(&p, key);
	assert_int_equal(strlen(jsonpath_str(&p)), 511);
	assert_memory_equal(jsonpath_str(&p), "$[\"aaa", 6);
	assert_int_equal(jsonpath_str(&p)[203], '-');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_steps),
	    cmocka_unit_test(test_cut_at_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
