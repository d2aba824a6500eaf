/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the expression language: expr_parse, then evaluation of
 * what parses against a small fixed model, with and without its index. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expr/expr.h"
#include "engine/model/model.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Enough for any condition the library holds, small enough that nested
 * quantifiers end in milliseconds instead of tripping libFuzzer's timeout. */
#define FUZZ_EXPR_STEPS 200000UL

/* The model every expression is evaluated against (process lifetime). */
static json_t *fuzz_model;
static struct expr_index *fuzz_index;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ts_err err = {0};
	if (model_parse_file(TS_SOURCE_DIR "/tests/data/models/valid_min.json", MODEL_FORMAT_NATIVE,
	                     false, fuzz_typeinfo(), &fuzz_model, NULL, NULL, &err) < 0)
		fuzz_fail("the evaluation model does not load", err.msg);
	fuzz_index = expr_index_new(fuzz_model);
	return 0;
}

/* Evaluates e in env with and without the index: the header promises the same
 * answer either way (the index only shortens the walk, so only the unindexed
 * walk may run out of steps first). */
static void eval_both(const struct expr *e, struct expr_env env)
{
	struct ts_err err = {0};
	bool plain = false, indexed = false;
	env.max_steps = FUZZ_EXPR_STEPS;
	env.index = NULL;
	int r1 = expr_eval_bool(e, &env, &plain, &err);
	if (r1 < 0 && (r1 != TS_E_INVALID || err.code != TS_E_INVALID || !err.msg[0]))
		fuzz_fail("expr_eval_bool failed without its documented error", err.msg);
	env.index = fuzz_index;
	int r2 = expr_eval_bool(e, &env, &indexed, &err);
	if (r2 < 0 && (r2 != TS_E_INVALID || err.code != TS_E_INVALID || !err.msg[0]))
		fuzz_fail("expr_eval_bool failed without its documented error", err.msg);
	if (r1 == 0 && r2 == 0 && plain != indexed)
		fuzz_fail("the model index changes the result", expr_source(e));
	if (r1 == 0 && r2 < 0)
		fuzz_fail("the indexed evaluation needs more steps than the plain one",
		          expr_source(e));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a little beyond the language's bound, so the bound itself is exercised */
	if (size > EXPR_MAX_SOURCE + 16)
		return -1;
	char *src = ts_malloc(size + 1);
	memcpy(src, data, size);
	src[size] = '\0';
	struct expr *e = NULL;
	struct ts_err err = {0};
	int r = expr_parse(src, &e, &err);
	if (r < 0) {
		if (r != TS_E_INVALID || err.code != TS_E_INVALID ||
		    strncmp(err.msg, "column ", 7) != 0)
			fuzz_fail("expr_parse failed without its documented error", err.msg);
		if (e)
			fuzz_fail("expr_parse failed but returned an expression", NULL);
		free(src);
		return 0;
	}
	if (strcmp(expr_source(e), src) != 0)
		fuzz_fail("expr_source differs from the text parsed", src);
	(void)expr_uses(e);

	json_t *components = json_object_get(fuzz_model, "components");
	json_t *flows = json_object_get(fuzz_model, "flows");
	size_t i;
	json_t *v;
	json_array_foreach (components, i, v) {
		struct expr_env env = {.component = v, .model = fuzz_model};
		eval_both(e, env);
	}
	json_array_foreach (flows, i, v) {
		const char *from = json_string_value(json_object_get(v, "source"));
		const char *to = json_string_value(json_object_get(v, "destination"));
		struct expr_env env = {.flow = v,
		                       .source = model_component(fuzz_model, from),
		                       .destination = model_component(fuzz_model, to),
		                       .model = fuzz_model};
		eval_both(e, env);
	}
	eval_both(e, (struct expr_env){0});
	expr_free(e);
	free(src);
	return 0;
}
