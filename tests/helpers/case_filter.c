/* SPDX-License-Identifier: Apache-2.0 */
/* One ctest per cmocka case: every test program is linked with
 * --wrap=_cmocka_run_group_tests, and this wrapper runs only the cases named
 * in TS_TEST_CASE (set per ctest by tests/CMakeLists.txt: the case, after the
 * earlier cases it needs where a case checks what they left behind). A name
 * the program does not have fails the run, so a stale registration cannot
 * pass silently. Without the variable every case runs, as cmocka would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int __real__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);
int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);

/* Whether name is one of the comma-separated names in list. */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

/* Whether every comma-separated name in list is a case of tests, exactly
 * once; names the first one that is not. */
static int all_known(const char *list, const struct CMUnitTest *tests, size_t num_tests,
                     const char *group_name)
{
	for (const char *p = list;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t found = 0;
		for (size_t i = 0; i < num_tests; i++)
			if (tests[i].name && strlen(tests[i].name) == len &&
			    memcmp(tests[i].name, p, len) == 0)
				found++;
		if (found != 1) {
			fprintf(stderr,
			        "TS_TEST_CASE: %s case named '%.*s' in group %s (re-run cmake?)\n",
			        found == 0 ? "no" : "more than one", (int)len, p, group_name);
			return 0;
		}
		if (!end)
			return 1;
		p = end + 1;
	}
}

int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown)
{
	const char *want = getenv("TS_TEST_CASE");
	if (want == NULL || *want == '\0')
		return __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup,
		                                      group_teardown);
	if (!all_known(want, tests, num_tests, group_name))
		return 1;

	/* The chosen cases in the program's own order. cmocka's filter is not
	 * used: it takes one glob and runs nothing, successfully, for a name
	 * that matches no case. */
	struct CMUnitTest *chosen = calloc(num_tests, sizeof(*chosen));
	if (!chosen) {
		fprintf(stderr, "TS_TEST_CASE: out of memory\n");
		return 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < num_tests; i++)
		if (tests[i].name && listed(want, tests[i].name))
			chosen[n++] = tests[i];
	int rc = __real__cmocka_run_group_tests(group_name, chosen, n, group_setup, group_teardown);
	free(chosen);
	return rc;
}
