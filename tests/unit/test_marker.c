/* SPDX-License-Identifier: Apache-2.0 */
/* The ticket marker: how it is made and which labels count as one. */
#include <string.h>

#include "engine/tracking/marker.h"
#include "engine/util.h"
#include "helpers/testutil.h"

static void test_make(void **state)
{
	(void)state;
	char m1[MARKER_SIZE], m2[MARKER_SIZE], m3[MARKER_SIZE], m4[MARKER_SIZE];
	marker_make("shop", "C-TLS@web", m1);
	marker_make("shop", "C-TLS@web", m2);
	marker_make("shop", "C-TLS@api", m3);
	marker_make("shop2", "C-TLS@web", m4);
	/* SHA-256("shop/C-TLS@web"), first 16 hex digits: existing tickets are
	 * found by this value, so it must never change. */
	assert_string_equal(m1, "threatsync-27c233040f1da513");
	assert_string_equal(m1, m2);
	assert_string_not_equal(m1, m3);
	assert_string_not_equal(m1, m4);
	assert_int_equal(strlen(m1), strlen(MARKER_PREFIX) + MARKER_HEX_DIGITS);
	assert_true(marker_valid(m1));
	assert_true(marker_valid(m3));
}

static void test_valid(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool want;
	} cases[] = {
	    {"threatsync-0123456789abcdef", true},
	    {"threatsync-", false},                  /* no digits */
	    {"threatsync-00ff", false},              /* too short */
	    {"threatsync-0123456789abcdef0", false}, /* too long */
	    {"threatsync-0123456789ABCDEF", false},  /* upper case */
	    {"threatsync-0123456789abcdeg", false},  /* not hex */
	    {"threatsync-0123456789abcde ", false},  /* trailing space */
	    {"threatsync", false},                   /* the common label */
	    {"Threatsync-0123456789abcdef", false},  /* prefix case */
	    {"xthreatsync-0123456789abcdef", false},
	    {"", false},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		if (marker_valid(cases[i].s) != cases[i].want)
			fail_msg("marker_valid(\"%s\") != %d", cases[i].s, cases[i].want);
	}
	assert_false(marker_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make),
	    cmocka_unit_test(test_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
