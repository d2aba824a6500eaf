/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the libFuzzer harnesses: the project's library, loaded once per process. */
#include "fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>

static struct library *fuzz_lib;
static struct model_typeinfo fuzz_ti;

const struct library *fuzz_library(void)
{
	if (fuzz_lib)
		return fuzz_lib;
	const char *dirs[] = {TS_SOURCE_DIR "/library"};
	struct ts_err err = {0};
	if (library_load(dirs, 1, &fuzz_lib, &err) < 0)
		fuzz_fail("the library does not load", err.msg);
	library_typeinfo(fuzz_lib, &fuzz_ti);
	return fuzz_lib;
}

const struct model_typeinfo *fuzz_typeinfo(void)
{
	fuzz_library();
	return &fuzz_ti;
}

void fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}
