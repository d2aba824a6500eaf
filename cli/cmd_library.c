/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync library lint [DIR...] [--json] [--catalogs DIR]`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/config.h"
#include "engine/library/library.h"

/* The library directories to use: the arguments, else the configuration's
 * library_paths. Returns a new array of borrowed strings, or NULL after printing
 * the error (*ret_code set). */
const char **cli_library_dirs(struct cli_ctx *ctx, const char **args, size_t n_args, size_t *ret_n,
                              int *ret_code)
{
	if (n_args > 0) {
		const char **dirs = ts_calloc(n_args + 1, sizeof(char *));
		memcpy(dirs, args, n_args * sizeof(char *));
		*ret_n = n_args;
		return dirs;
	}
	struct config *cfg = cli_config(ctx);
	if (!cfg) {
		*ret_code = EX_CONFIG;
		return NULL;
	}
	size_t n = 0;
	while (cfg->library_paths && cfg->library_paths[n])
		n++;
	if (n == 0) {
		cli_error("no threat library configured (library_paths) and no directory given");
		*ret_code = EX_CONFIG;
		return NULL;
	}
	const char **dirs = ts_calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		dirs[i] = cfg->library_paths[i];
	*ret_n = n;
	return dirs;
}

static void print_items(json_t *items, const char *prefix)
{
	size_t i;
	json_t *it;
	json_array_foreach (items, i, it) {
		const char *file = json_string_value(json_object_get(it, "file"));
		const char *path = json_string_value(json_object_get(it, "path"));
		fprintf(stderr, "%s%s%s%s%s%s\n", prefix, file, *file ? ": " : "", path,
		        *path ? ": " : "", json_string_value(json_object_get(it, "message")));
	}
}

static void print_summary(json_t *report)
{
	json_t *counts = json_object_get(report, "counts");
	printf("%lld component types, %lld threats, %lld countermeasures, %lld blueprints, "
	       "%lld type mappings\n",
	       json_integer_value(json_object_get(counts, "component_types")),
	       json_integer_value(json_object_get(counts, "threats")),
	       json_integer_value(json_object_get(counts, "countermeasures")),
	       json_integer_value(json_object_get(counts, "blueprints")),
	       json_integer_value(json_object_get(counts, "type_mappings")));
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(report, "completeness"), k, v) {
		printf("  %-40s %3.0f%% (%lld of %lld)\n", k,
		       100.0 * json_number_value(json_object_get(v, "ratio")),
		       json_integer_value(json_object_get(v, "count")),
		       json_integer_value(json_object_get(v, "total")));
	}
	size_t ne = json_array_size(json_object_get(report, "errors"));
	size_t nw = json_array_size(json_object_get(report, "warnings"));
	printf("%s: %zu error%s, %zu warning%s\n", ne ? "library has errors" : "library OK", ne,
	       ne == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
}

int cmd_library_lint(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const char *catalogs = getenv("TS_CATALOGS_DIR");
	if (catalogs && !*catalogs)
		catalogs = NULL;
	const char **args = ts_calloc((size_t)argc + 1, sizeof(char *));
	size_t n_args = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--catalogs") == 0 && i + 1 < argc) {
			catalogs = argv[++i];
		} else if (argv[i][0] != '-') {
			args[n_args++] = argv[i];
		} else {
			cli_error("library lint: unexpected argument '%s'", argv[i]);
			free(args);
			return EX_USAGE;
		}
	}
	int code = 0;
	size_t n = 0;
	const char **dirs = cli_library_dirs(ctx, args, n_args, &n, &code);
	free(args);
	if (!dirs)
		return code;
	struct library_lint_opts opts = {.catalogs_dir = catalogs};
	/* The configuration's classification rules test the model too: with a
	 * configuration in use (-c, or the one naming the library), they are
	 * checked against the declared vocabulary as well. */
	struct config *cfg = NULL;
	if (n_args == 0 || ctx->config_path) {
		cfg = cli_config(ctx);
		if (!cfg) {
			free(dirs);
			return EX_CONFIG;
		}
	}
	size_t n_rules = cfg ? cfg->n_rules : 0;
	const char **conds = ts_calloc(n_rules + 1, sizeof(char *));
	char **places = ts_calloc(n_rules + 1, sizeof(char *));
	for (size_t i = 0; i < n_rules; i++) {
		conds[i] = cfg->rules[i].when;
		places[i] = ts_asprintf("line %d: classify rule '%s'", cfg->rules[i].line,
		                        cfg->rules[i].name);
	}
	opts.conditions = conds;
	opts.condition_places = (const char *const *)places;
	opts.n_conditions = n_rules;
	opts.conditions_file = cfg ? cfg->path : NULL;
	struct ts_err err = {0};
	json_t *report = NULL;
	int r = library_lint(dirs, n, &opts, &report, &err);
	for (size_t i = 0; i < n_rules; i++)
		free(places[i]);
	free(places);
	free(conds);
	free(dirs);
	if (r < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	bool ok = json_is_true(json_object_get(report, "ok"));
	if (json) {
		cli_print_json(report);
	} else {
		print_items(json_object_get(report, "errors"), "");
		print_items(json_object_get(report, "warnings"), "warning: ");
		print_summary(report);
	}
	json_decref(report);
	return ok ? 0 : EX_DATAERR;
}
