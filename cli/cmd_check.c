/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync check` (the CI gate) and `threatsync compliance`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/gate/gate.h"
#include "engine/model/model.h"

/* Exit code of a gate that fails: distinct from every sysexits code. */
#define CHECK_FAILED 1

struct check_args {
	const char *slug;
	const char *model;     /* --model FILE */
	const char *format;    /* --format NAME */
	const char *framework; /* --framework F */
	bool json;
};

static int parse(int argc, char **argv, bool check, const char *usage, struct check_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(o, "--json") == 0) {
			a->json = true;
		} else if (check && strcmp(o, "--model") == 0 && has_value) {
			a->model = argv[++i];
		} else if (check && strcmp(o, "--format") == 0 && has_value) {
			a->format = argv[++i];
		} else if (!check && strcmp(o, "--framework") == 0 && has_value) {
			a->framework = argv[++i];
		} else if (o[0] != '-' && !a->slug) {
			a->slug = o;
		} else {
			cli_error("%s: unexpected or incomplete argument '%s'", argv[0], o);
			cli_error("usage: threatsync %s %s", argv[0], usage);
			return EX_USAGE;
		}
	}
	if (!a->slug || (a->format && !a->model)) {
		cli_error("usage: threatsync %s %s", argv[0], usage);
		return EX_USAGE;
	}
	return 0;
}

static int fail(const struct ts_err *err)
{
	cli_error("%s", err->msg);
	return cli_exit_code(err->code, EX_SOFTWARE);
}

/* ------------------------------------------------------------ check */

static void print_ids(const char *what, const json_t *list)
{
	size_t n = json_array_size(list);
	printf("  %s: %zu", what, n);
	for (size_t i = 0; i < n && i < 10; i++)
		printf("%s%s", i ? ", " : " (", json_string_value(json_array_get(list, i)));
	if (n > 10)
		printf(", ...");
	printf("%s\n", n ? ")" : "");
}

static void print_delta(const json_t *d)
{
	json_t *bv = json_object_get(d, "base_version");
	if (json_is_integer(bv))
		printf("model delta against version %d:\n", (int)json_integer_value(bv));
	else
		printf("model delta (no model stored yet):\n");
	const json_t *c = json_object_get(d, "components"), *f = json_object_get(d, "flows");
	const json_t *t = json_object_get(d, "threats"), *k = json_object_get(d, "tasks");
	print_ids("components added", json_object_get(c, "added"));
	print_ids("components removed", json_object_get(c, "removed"));
	print_ids("flows added", json_object_get(f, "added"));
	print_ids("flows removed", json_object_get(f, "removed"));
	print_ids("threats appearing", json_object_get(t, "appear"));
	print_ids("threats disappearing", json_object_get(t, "disappear"));
	print_ids("tasks appearing", json_object_get(k, "appear"));
	print_ids("tasks disappearing", json_object_get(k, "disappear"));
	print_ids("new threats without a task", json_object_get(d, "untasked"));
}

static void print_check(const json_t *doc)
{
	const json_t *delta = json_object_get(doc, "delta");
	if (json_is_object(delta))
		print_delta(delta);
	const json_t *reasons = json_object_get(doc, "reasons");
	size_t n = json_array_size(reasons);
	const char *slug = json_string_value(json_object_get(doc, "project"));
	if (n == 0) {
		printf("%s: gate passed\n", slug);
		return;
	}
	printf("%s: gate failed (%zu reason%s)\n", slug, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n && i < GATE_MAX_LINES; i++)
		printf("%s\n",
		       json_string_value(json_object_get(json_array_get(reasons, i), "message")));
	if (n > GATE_MAX_LINES)
		printf("and %zu more\n", n - GATE_MAX_LINES);
}

int cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
	struct check_args a;
	const char *usage = "SLUG [--model FILE [--format F]] [--json]";
	int code = parse(argc, argv, true, usage, &a);
	if (code)
		return code;
	char clock[32];
	struct gate_opts opts = {0};
	if (!cli_clock(clock, &opts.now))
		return EX_USAGE;
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	struct ts_err err = {0};
	json_t *model = NULL, *doc = NULL;
	if (a.model) {
		enum model_format fmt = MODEL_FORMAT_AUTO;
		if (a.format && model_format_from_name(a.format, &fmt) < 0) {
			cli_error("check: unknown format '%s' (auto, native, otm or threatdragon)",
			          a.format);
			return EX_USAGE;
		}
		struct library *lib = cli_library(ctx, &code);
		if (!lib)
			return code;
		struct model_typeinfo ti = {0};
		if ((code = cli_typeinfo(ctx, &ti)) != 0)
			return code;
		json_t *warnings = NULL;
		int rc = model_parse_file(a.model, fmt, false, &ti, &model, &warnings, NULL, &err);
		cli_typeinfo_free(&ti);
		if (rc < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return cli_exit_code(err.code, EX_DATAERR);
		}
		size_t i;
		json_t *w;
		json_array_foreach (warnings, i, w) {
			fprintf(stderr, "warning: %s\n", json_string_value(w));
		}
		json_decref(warnings);
		opts.model = model;
		opts.lib = lib;
	}
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		goto out;
	if (gate_check(s, cfg, a.slug, &opts, &doc, &err) < 0) {
		code = fail(&err);
		goto out;
	}
	if (a.json)
		cli_print_json(doc);
	else
		print_check(doc);
	code = json_is_true(json_object_get(doc, "passed")) ? 0 : CHECK_FAILED;
out:
	json_decref(model);
	json_decref(doc);
	return code;
}

/* ------------------------------------------------------------ compliance */

static void print_compliance(const json_t *doc)
{
	const char *slug = json_string_value(json_object_get(doc, "project"));
	const json_t *fws = json_object_get(doc, "frameworks");
	if (json_array_size(fws) == 0) {
		printf("%s: no framework is required and no task maps one\n", slug);
		return;
	}
	size_t i;
	json_t *fw;
	json_array_foreach (fws, i, fw) {
		const json_t *t = json_object_get(fw, "totals");
		printf("%s%s%s: %d controls, %d covered, %d partly, %d not covered (%.1f%%)\n",
		       i ? "\n" : "", json_string_value(json_object_get(fw, "framework")),
		       json_is_true(json_object_get(fw, "required")) ? " (required)" : "",
		       (int)json_integer_value(json_object_get(t, "controls")),
		       (int)json_integer_value(json_object_get(t, "covered")),
		       (int)json_integer_value(json_object_get(t, "partly")),
		       (int)json_integer_value(json_object_get(t, "not_covered")),
		       json_real_value(json_object_get(t, "percent")));
		size_t k;
		json_t *c;
		json_array_foreach (json_object_get(fw, "controls"), k, c) {
			printf("  %-16s %-12s", json_string_value(json_object_get(c, "id")),
			       json_string_value(json_object_get(c, "status")));
			size_t j;
			json_t *task;
			json_array_foreach (json_object_get(c, "tasks"), j, task) {
				printf("%s%s (%s, %s)", j ? ", " : " ",
				       json_string_value(json_object_get(task, "id")),
				       json_string_value(json_object_get(task, "status")),
				       json_string_value(json_object_get(task, "verification")));
			}
			printf("\n");
		}
	}
}

int cmd_compliance(struct cli_ctx *ctx, int argc, char **argv)
{
	struct check_args a;
	int code = parse(argc, argv, false, "SLUG [--framework F] [--json]", &a);
	if (code)
		return code;
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (gate_compliance(s, cfg, a.slug, a.framework, &doc, &err) < 0)
		return fail(&err);
	if (a.json)
		cli_print_json(doc);
	else
		print_compliance(doc);
	json_decref(doc);
	return 0;
}
