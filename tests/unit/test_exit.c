/* SPDX-License-Identifier: Apache-2.0 */
/* The threatsync command's exit codes (cli/exit.c, linked in by tests/exit.cmake):
 * every engine error code maps to its sysexits value, anything else to the
 * caller's fallback. */
#include <sysexits.h>

#include "cli/cli.h"
#include "engine/util.h"
#include "helpers/testutil.h"

static void test_every_code(void **state)
{
	(void)state;
	static const struct {
		int code;
		int want;
	} table[] = {
	    {TS_E_USAGE, EX_USAGE},       {TS_E_INVALID, EX_DATAERR},
	    {TS_E_NOTFOUND, EX_NOINPUT},  {TS_E_UNAVAILABLE, EX_UNAVAILABLE},
	    {TS_E_INTERNAL, EX_SOFTWARE}, {TS_E_SYSTEM, EX_OSERR},
	    {TS_E_CREATE, EX_CANTCREAT},  {TS_E_IO, EX_IOERR},
	    {TS_E_BUSY, EX_TEMPFAIL},     {TS_E_DENIED, EX_NOPERM},
	    {TS_E_CONFIG, EX_CONFIG},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(table); i++) {
		int got = cli_exit_code(table[i].code, 1);
		if (got != table[i].want)
			fail_msg("code %d: exit %d, want %d", table[i].code, got, table[i].want);
		/* The fallback plays no part for an engine code. */
		assert_int_equal(cli_exit_code(table[i].code, 0), table[i].want);
	}
	/* The table covers the whole enum: a new code needs a row here and a
	 * case in cli_exit_code. */
	assert_int_equal(TS_ARRAY_SIZE(table), (size_t)(TS_E_MAX - TS_E_MIN + 1));
}

static void test_range_has_no_gap(void **state)
{
	(void)state;
	/* Every value between TS_E_MIN and TS_E_MAX is an engine code with an
	 * exit code of its own in the sysexits range. */
	for (int code = TS_E_MIN; code <= TS_E_MAX; code++) {
		int got = cli_exit_code(code, -1);
		if (got < EX__BASE || got > EX__MAX)
			fail_msg("code %d: exit %d is not a sysexits value", code, got);
	}
}

static void test_fallback(void **state)
{
	(void)state;
	/* Success and anything that is not an engine code: the fallback. */
	static const int others[] = {0, -1, -12, 1, 64, TS_E_MIN - 1, TS_E_MAX + 1, -100000};
	for (size_t i = 0; i < TS_ARRAY_SIZE(others); i++) {
		assert_int_equal(cli_exit_code(others[i], 1), 1);
		assert_int_equal(cli_exit_code(others[i], EX_SOFTWARE), EX_SOFTWARE);
		assert_int_equal(cli_exit_code(others[i], 0), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code),
	    cmocka_unit_test(test_range_has_no_gap),
	    cmocka_unit_test(test_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
