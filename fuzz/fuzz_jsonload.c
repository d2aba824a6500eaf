/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of ts_json_loadb against json_loadb itself: for every
 * input, the same tree (values, types and member order) or the same error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonload.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	json_error_t want_err, got_err;
	memset(&want_err, 0, sizeof(want_err));
	memset(&got_err, 0, sizeof(got_err));
	json_t *want = json_loadb(s, size, JSON_REJECT_DUPLICATES, &want_err);
	json_t *got = ts_json_loadb(s, size, &got_err);
	if (!want) {
		if (got)
			fuzz_fail("ts_json_loadb accepts what json_loadb refuses", want_err.text);
		if (strcmp(want_err.text, got_err.text) != 0 || want_err.line != got_err.line ||
		    want_err.column != got_err.column || want_err.position != got_err.position)
			fuzz_fail("ts_json_loadb reports another error", got_err.text);
		return 0;
	}
	if (!got)
		fuzz_fail("ts_json_loadb refuses what json_loadb reads", got_err.text);
	/* the dumps keep member order and tell 1 from 1.0 */
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
	char *a = json_dumps(want, flags);
	char *b = json_dumps(got, flags);
	if (!json_equal(want, got) || !a || !b || strcmp(a, b) != 0)
		fuzz_fail("ts_json_loadb reads another tree", b);
	free(a);
	free(b);
	json_decref(want);
	json_decref(got);
	return 0;
}
