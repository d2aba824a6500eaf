/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the CWE catalog: the shipped data, lookups, ancestry and bad files. */
#include <stdlib.h>
#include <string.h>

#include "engine/library/cwe.h"
#include "helpers/testutil.h"

static struct cwe_catalog *shipped(void)
{
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[] = {dir};
	struct cwe_catalog *cat = NULL;
	struct ts_err err = {0};
	int rc = cwe_catalog_load(dirs, 1, &cat, &err);
	free(dir);
	if (rc < 0)
		fail_msg("%s", err.msg);
	return cat;
}

static void test_shipped_catalog(void **state)
{
	(void)state;
	struct cwe_catalog *cat = shipped();
	assert_true(cwe_catalog_size(cat) > 900);
	assert_string_equal(cwe_catalog_version(cat), "4.15");
	assert_non_null(strstr(cwe_name(cat, 89), "SQL Injection"));
	assert_non_null(strstr(cwe_name(cat, 79), "Cross-site Scripting"));
	assert_string_equal(cwe_abstraction(cat, 89), "Base");
	assert_null(cwe_name(cat, 99999));
	cwe_catalog_free(cat);
}

static void test_ancestry(void **state)
{
	(void)state;
	struct cwe_catalog *cat = shipped();
	/* The issue's own example: a finding on CWE-89 correlates with a threat
	 * on CWE-943 or CWE-74. */
	assert_true(cwe_is_ancestor(cat, 89, 89));
	assert_int_equal(cwe_distance(cat, 89, 89), 0);
	assert_true(cwe_is_ancestor(cat, 943, 89));
	assert_int_equal(cwe_distance(cat, 943, 89), 1);
	assert_true(cwe_is_ancestor(cat, 74, 89));
	assert_int_equal(cwe_distance(cat, 74, 89), 2);
	assert_true(cwe_is_ancestor(cat, 707, 89));
	/* Not the other way round, and not across branches. */
	assert_false(cwe_is_ancestor(cat, 89, 943));
	assert_false(cwe_is_ancestor(cat, 79, 89));
	assert_false(cwe_is_ancestor(cat, 89, 99999));
	/* The path itself, from the finding's CWE up to the threat's. */
	int path[8];
	assert_int_equal(cwe_path(cat, 74, 89, path, 8), 3);
	assert_int_equal(path[0], 89);
	assert_int_equal(path[1], 943);
	assert_int_equal(path[2], 74);
	assert_int_equal(cwe_path(cat, 89, 89, path, 8), 1);
	assert_int_equal(path[0], 89);
	assert_int_equal(cwe_path(cat, 74, 89, path, 2), -1);
	assert_int_equal(cwe_path(cat, 79, 89, path, 8), -1);
	cwe_catalog_free(cat);
}

static void expect_bad(const char *content, const char *needle)
{
	char *dir = tu_tmpdir();
	char *f = tu_write_file(dir, CWE_FILE_NAME, content);
	const char *dirs[] = {dir};
	struct cwe_catalog *cat = NULL;
	struct ts_err err = {0};
	assert_true(cwe_catalog_load(dirs, 1, &cat, &err) < 0);
	assert_null(cat);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_non_null(strstr(err.msg, f));
	if (!strstr(err.msg, needle))
		fail_msg("expected '%s' in: %s", needle, err.msg);
	free(f);
	tu_rmrf(dir);
	free(dir);
}

static void test_bad_files(void **state)
{
	(void)state;
	expect_bad("{\"weaknesses\": [", "invalid JSON");
	expect_bad("{\"weaknesses\": 3}", "$.weaknesses: expected an array");
	expect_bad("{\"weaknesses\": [[1, \"a\", \"Base\", []], [\"x\"]]}", "$.weaknesses[1]");
	expect_bad("{\"weaknesses\": [[1, \"a\", \"Base\", [\"p\"]]]}", "$.weaknesses[0][3][0]");
	expect_bad("{\"weaknesses\": [[1, \"a\", \"Base\", []], [1, \"b\", \"Base\", []]]}",
		   "CWE-1 listed twice");
}

static void test_overlay_and_missing(void **state)
{
	(void)state;
	char *a = tu_tmpdir(), *b = tu_tmpdir();
	char *f = tu_write_file(b, CWE_FILE_NAME,
				"{\"version\": \"9.9\", \"weaknesses\": [[5, \"Five\", null, [4]],"
				" [4, \"Four\", \"Class\", [5]]]}");
	const char *dirs[] = {a, b};
	struct cwe_catalog *cat = NULL;
	struct ts_err err = {0};
	assert_int_equal(cwe_catalog_load(dirs, 2, &cat, &err), 0);
	assert_string_equal(cwe_catalog_version(cat), "9.9");
	assert_string_equal(cwe_name(cat, 4), "Four");
	assert_null(cwe_abstraction(cat, 5));
	/* A cycle in a broken file ends the search instead of looping. */
	assert_true(cwe_is_ancestor(cat, 4, 5));
	assert_false(cwe_is_ancestor(cat, 3, 5));
	cwe_catalog_free(cat);
	const char *none[] = {a};
	assert_true(cwe_catalog_load(none, 1, &cat, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	cwe_catalog_free(NULL);
	free(f);
	tu_rmrf(a);
	tu_rmrf(b);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_catalog),
		cmocka_unit_test(test_ancestry),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_overlay_and_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
