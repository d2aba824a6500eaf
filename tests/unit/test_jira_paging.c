/* SPDX-License-Identifier: Apache-2.0 */
/* The Data Center search paging of the Jira connector (jira_next_start):
 * the next startAt from an answer's startAt, its issues and total, whatever
 * numbers the tracker sends. */
#include <stdint.h>

#include "connectors/jira_internal.h"
#include "helpers/testutil.h"

static void test_next_start_pages(void **state)
{
	(void)state;
	assert_int_equal(jira_next_start(0, 100, 250), 100);
	assert_int_equal(jira_next_start(100, 100, 250), 200);
	assert_int_equal(jira_next_start(200, 50, 250), -1); /* the last page */
	assert_int_equal(jira_next_start(0, 100, 100), -1);
	assert_int_equal(jira_next_start(0, 0, 250), -1); /* an empty page ends */
}

/* Numbers no tracker should send: a negative start, a start past the total,
 * and values that overflowed the sum before (start + n past INT64_MAX). */
static void test_next_start_nonsense(void **state)
{
	(void)state;
	assert_int_equal(jira_next_start(-5, 3, 10), -1);
	assert_int_equal(jira_next_start(300, 100, 250), -1);
	assert_int_equal(jira_next_start(INT64_MAX, 1, INT64_MAX), -1);
	assert_int_equal(jira_next_start(INT64_MAX - 1, 2, INT64_MAX), -1);
	assert_int_equal(jira_next_start(INT64_MAX - 10, 5, INT64_MAX), INT64_MAX - 5);
	assert_int_equal(jira_next_start(0, SIZE_MAX, INT64_MAX), -1);
	assert_int_equal(jira_next_start(INT64_MIN, 1, INT64_MAX), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next_start_pages),
	    cmocka_unit_test(test_next_start_nonsense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
