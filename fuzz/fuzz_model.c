/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of one model importer: model_parse with the format forced
 * (FUZZ_MODEL_FORMAT, set per target), so the importer itself is reached and
 * not only format detection, then checks of what a successful import gives. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/model.h"
#include "fuzz/fuzz_common.h"

#ifndef FUZZ_MODEL_FORMAT
#error "FUZZ_MODEL_FORMAT must name an enum model_format value"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_library();
	return 0;
}

/* A normalised model is valid native input and reads back unchanged: the
 * canonical form is what gets stored and compared, so a model that does not
 * survive it would be stored as something else than what was checked. */
static void check_round_trip(const json_t *model)
{
	char hash[65];
	char *dump = model_canonical_dump(model, hash);
	if (!dump)
		fuzz_fail("model_canonical_dump failed on a parsed model", NULL);
	json_t *again = NULL;
	struct ts_err err = {0};
	int r = model_parse("canonical.json", dump, strlen(dump), MODEL_FORMAT_NATIVE, false,
	                    fuzz_typeinfo(), &again, NULL, NULL, &err);
	if (r < 0)
		fuzz_fail("the canonical form of a parsed model is refused", err.msg);
	char hash2[65];
	char *dump2 = model_canonical_dump(again, hash2);
	json_t *diff = NULL;
	model_diff(model, again, &diff);
	bool same =
	    dump2 && strcmp(dump, dump2) == 0 && strcmp(hash, hash2) == 0 && model_diff_empty(diff);
	json_decref(diff);
	free(dump2);
	json_decref(again);
	free(dump);
	if (!same)
		fuzz_fail("the canonical form of a parsed model reads back different", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* model_parse_file reads at most this much; larger is refused before parsing */
	if (size > MODEL_MAX_BYTES)
		return -1;
	json_t *model = NULL, *warnings = NULL;
	enum model_format detected = MODEL_FORMAT_AUTO;
	struct ts_err err = {0};
	int r = model_parse("fuzz.json", (const char *)data, size, FUZZ_MODEL_FORMAT, false,
	                    fuzz_typeinfo(), &model, &warnings, &detected, &err);
	if (r < 0) {
		/* the header's contract: -EINVAL with a message naming the problem */
		if (r != -EINVAL || err.code != TS_E_INVALID || !err.msg[0])
			fuzz_fail("model_parse failed without its documented error", err.msg);
		return 0;
	}
	if (!json_is_object(model) || !json_is_array(warnings))
		fuzz_fail("model_parse succeeded without a model or a warning list", NULL);
	if (detected != FUZZ_MODEL_FORMAT)
		fuzz_fail("model_parse reports another format than the one forced", NULL);
	check_round_trip(model);
	json_decref(model);
	json_decref(warnings);
	return 0;
}
