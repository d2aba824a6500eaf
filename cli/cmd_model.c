/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync model import` and `model diff`. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/model/model.h"
#include "engine/model/project.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

struct import_args {
	const char *slug, *file;
	enum model_format fmt;
	bool strict, json;
};

static int parse_import_args(int argc, char **argv, struct import_args *a)
{
	a->fmt = MODEL_FORMAT_AUTO;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (model_format_from_name(argv[++i], &a->fmt) < 0) {
				cli_error(
				    "model import: unknown format '%s' (expected auto, native, "
				    "otm or threatdragon)",
				    argv[i]);
				return EX_USAGE;
			}
		} else if (strcmp(argv[i], "--strict") == 0) {
			a->strict = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			a->json = true;
		} else if (argv[i][0] != '-' && !a->slug) {
			a->slug = argv[i];
		} else if (argv[i][0] != '-' && !a->file) {
			a->file = argv[i];
		} else {
			cli_error("model import: unexpected argument '%s'", argv[i]);
			return EX_USAGE;
		}
	}
	if (!a->slug || !a->file) {
		cli_error("usage: threatsync model import SLUG FILE [--format "
		          "auto|native|otm|threatdragon] [--strict] [--json]");
		return EX_USAGE;
	}
	return 0;
}

static void print_import(const struct import_args *a, const json_t *model, json_t *warnings,
                         enum model_format detected, int version, bool unchanged)
{
	size_t n_comp = json_array_size(json_object_get(model, "components"));
	size_t n_flows = json_array_size(json_object_get(model, "flows"));
	if (a->json) {
		char hash[65];
		free(model_canonical_dump(model, hash));
		json_t *o = json_pack(
		    "{s:s, s:i, s:b, s:s, s:s, s:I, s:I, s:I, s:s, s:O}", "project", a->slug,
		    "version", version, "unchanged", unchanged, "format",
		    model_format_name(detected), "source", base_name(a->file), "components",
		    (json_int_t)n_comp, "flows", (json_int_t)n_flows, "trust_zones",
		    (json_int_t)json_array_size(json_object_get(model, "trust_zones")),
		    "content_hash", hash, "warnings", warnings);
		cli_print_json(o);
		json_decref(o);
	} else if (unchanged) {
		printf("model unchanged: identical to version %d\n", version);
	} else {
		printf("imported %s as version %d of %s (format %s, %zu components, %zu flows)\n",
		       a->file, version, a->slug, model_format_name(detected), n_comp, n_flows);
	}
}

int cmd_model_import(struct cli_ctx *ctx, int argc, char **argv)
{
	struct import_args a = {0};
	int code = parse_import_args(argc, argv, &a);
	if (code)
		return code;
	/* The library's types load while the file is read; a library that
	 * cannot be loaded is reported first, as if nothing had been read. */
	struct model_typeinfo ti = {0};
	code = cli_typeinfo_start(ctx, &ti);
	if (code)
		return code;
	/* The file is checked completely before the database is opened: bad
	 * input changes nothing. */
	struct ts_err err = {0};
	json_t *model = NULL, *warnings = NULL;
	enum model_format detected = MODEL_FORMAT_AUTO;
	int rc = model_parse_file(a.file, a.fmt, a.strict, &ti, &model, &warnings, &detected,
	                          &err);
	code = cli_typeinfo_finish(ctx, &ti);
	if (code) {
		json_decref(model);
		json_decref(warnings);
		return code;
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return cli_exit_code(err.code, EX_DATAERR);
	}
	size_t i;
	json_t *w;
	json_array_foreach (warnings, i, w) {
		fprintf(stderr, "warning: %s\n", json_string_value(w));
	}
	int64_t project_id = 0;
	int version = 0;
	bool unchanged = false;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		goto out;
	if (project_find(s, a.slug, &project_id, &err) < 0 ||
	    model_import(s, project_id, model, detected, base_name(a.file), &version, &unchanged,
	                 &err) < 0) {
		cli_error("%s", err.msg);
		code = cli_exit_code(err.code, EX_SOFTWARE);
		goto out;
	}
	print_import(&a, model, warnings, detected, version, unchanged);
	code = 0;
out:
	cli_keep_json_until_exit(model);
	json_decref(warnings);
	return code;
}

static bool parse_version(const char *s, int *ret)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 1000000000)
		return false;
	*ret = (int)v;
	return true;
}

static void print_kind(const json_t *diff, const char *key, const char *label)
{
	json_t *k = json_object_get(diff, key);
	json_t *added = json_object_get(k, "added");
	json_t *removed = json_object_get(k, "removed");
	json_t *changed = json_object_get(k, "changed");
	if (!json_array_size(added) && !json_array_size(removed) && !json_array_size(changed))
		return;
	printf("%s: %zu added, %zu removed, %zu changed\n", label, json_array_size(added),
	       json_array_size(removed), json_array_size(changed));
	size_t i;
	json_t *e;
	json_array_foreach (added, i, e) {
		printf("  + %s\n", json_string_value(e));
	}
	json_array_foreach (removed, i, e) {
		printf("  - %s\n", json_string_value(e));
	}
	json_array_foreach (changed, i, e) {
		printf("  ~ %s (", json_string_value(json_object_get(e, "id")));
		size_t j;
		json_t *f;
		json_array_foreach (json_object_get(e, "fields"), j, f) {
			printf("%s%s", j ? ", " : "", json_string_value(f));
		}
		printf(")\n");
	}
}

/* The two versions to compare: the previous and the latest when nv is 0 (the
 * first version against an empty model), else v1 and v2. New references. */
static int load_pair(struct store *s, int64_t project_id, int nv, int *v1, int *v2, json_t **a,
                     json_t **b, struct ts_err *err)
{
	if (nv == 0) {
		if (model_load(s, project_id, 0, b, v2, err) < 0)
			return -1;
		*v1 = *v2 - 1;
		if (*v1 >= 1 && model_load(s, project_id, *v1, a, NULL, err) < 0)
			return -1;
		if (!*a)
			*a = json_object();
		return 0;
	}
	if (model_load(s, project_id, *v1, a, NULL, err) < 0 ||
	    model_load(s, project_id, *v2, b, NULL, err) < 0)
		return -1;
	return 0;
}

static void print_diff_json(const char *slug, int v1, int v2, json_t *diff)
{
	/* The diff's own "project" member lists the changed fields of the
	 * model's project object; in the output "project" is the slug, as in
	 * every other document, and those fields are "project_fields". */
	json_t *o = json_pack("{s:s, s:i, s:i}", "project", slug, "from", v1, "to", v2);
	json_object_set(o, "project_fields", json_object_get(diff, "project"));
	json_object_del(diff, "project");
	json_object_update(o, diff);
	cli_print_json(o);
	json_decref(o);
}

static void print_diff_text(const char *slug, int v1, int v2, const json_t *diff)
{
	if (model_diff_empty(diff)) {
		printf("%s: no differences between version %d and version %d\n", slug, v1, v2);
		return;
	}
	if (v1 >= 1)
		printf("%s: version %d -> version %d\n", slug, v1, v2);
	else
		printf("%s: version %d (no earlier version)\n", slug, v2);
	json_t *project = json_object_get(diff, "project");
	if (json_array_size(project)) {
		printf("project: changed");
		size_t i;
		json_t *f;
		json_array_foreach (project, i, f) {
			printf("%s%s", i ? ", " : " ", json_string_value(f));
		}
		printf("\n");
	}
	print_kind(diff, "trust_zones", "trust zones");
	print_kind(diff, "components", "components");
	print_kind(diff, "flows", "flows");
	print_kind(diff, "data_assets", "data assets");
	print_kind(diff, "threats", "manual threats");
	print_kind(diff, "countermeasures", "manual countermeasures");
}

int cmd_model_diff(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL;
	const char *vs[2] = {NULL, NULL};
	int nv = 0;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] != '-' && !slug)
			slug = argv[i];
		else if (argv[i][0] != '-' && nv < 2)
			vs[nv++] = argv[i];
		else {
			cli_error("model diff: unexpected argument '%s'", argv[i]);
			return EX_USAGE;
		}
	}
	int v1 = 0, v2 = 0;
	if (!slug || nv == 1 ||
	    (nv == 2 && (!parse_version(vs[0], &v1) || !parse_version(vs[1], &v2)))) {
		cli_error("usage: threatsync model diff SLUG [V1 V2] [--json] (versions are "
		          "positive integers)");
		return EX_USAGE;
	}
	int code = 0;
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	int64_t project_id = 0;
	json_t *a = NULL, *b = NULL, *diff = NULL;
	if (project_find(s, slug, &project_id, &err) < 0 ||
	    load_pair(s, project_id, nv, &v1, &v2, &a, &b, &err) < 0) {
		cli_error("%s", err.msg);
		json_decref(a);
		json_decref(b);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	model_diff(a, b, &diff);
	if (json)
		print_diff_json(slug, v1, v2, diff);
	else
		print_diff_text(slug, v1, v2, diff);
	json_decref(a);
	json_decref(b);
	json_decref(diff);
	return 0;
}
