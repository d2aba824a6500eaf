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

static void print_json(const json_t *v)
{
	char *out = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", out);
	free(out);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int cmd_model_import(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL, *file = NULL;
	enum model_format fmt = MODEL_FORMAT_AUTO;
	bool strict = false, json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (model_format_from_name(argv[++i], &fmt) < 0) {
				cli_error(
				    "model import: unknown format '%s' (expected auto, native, "
				    "otm or threatdragon)",
				    argv[i]);
				return EX_USAGE;
			}
		} else if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] != '-' && !slug) {
			slug = argv[i];
		} else if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else {
			cli_error("model import: unexpected argument '%s'", argv[i]);
			return EX_USAGE;
		}
	}
	if (!slug || !file) {
		cli_error("usage: threatsync model import SLUG FILE [--format "
		          "auto|native|otm|threatdragon] [--strict] [--json]");
		return EX_USAGE;
	}
	struct model_typeinfo ti = {0};
	int code = cli_typeinfo(ctx, &ti);
	if (code)
		return code;
	/* The file is checked completely before the database is opened: bad
	 * input changes nothing. */
	struct ts_err err = {0};
	json_t *model = NULL, *warnings = NULL;
	enum model_format detected = MODEL_FORMAT_AUTO;
	if (model_parse_file(file, fmt, strict, &ti, &model, &warnings, &detected, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		cli_typeinfo_free(&ti);
		return cli_exit_code(err.code, EX_DATAERR);
	}
	cli_typeinfo_free(&ti);
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
	if (project_find(s, slug, &project_id, &err) < 0 ||
	    model_import(s, project_id, model, detected, base_name(file), &version, &unchanged,
	                 &err) < 0) {
		cli_error("%s", err.msg);
		code = cli_exit_code(err.code, EX_SOFTWARE);
		goto out;
	}
	size_t n_comp = json_array_size(json_object_get(model, "components"));
	size_t n_flows = json_array_size(json_object_get(model, "flows"));
	if (json) {
		char hash[65];
		free(model_canonical_dump(model, hash));
		json_t *o =
		    json_pack("{s:s, s:i, s:b, s:s, s:s, s:I, s:I, s:I, s:s, s:O}", "project", slug,
		              "version", version, "unchanged", unchanged, "format",
		              model_format_name(detected), "source", base_name(file), "components",
		              (json_int_t)n_comp, "flows", (json_int_t)n_flows, "trust_zones",
		              (json_int_t)json_array_size(json_object_get(model, "trust_zones")),
		              "content_hash", hash, "warnings", warnings);
		print_json(o);
		json_decref(o);
	} else if (unchanged) {
		printf("model unchanged: identical to version %d\n", version);
	} else {
		printf("imported %s as version %d of %s (format %s, %zu components, %zu flows)\n",
		       file, version, slug, model_format_name(detected), n_comp, n_flows);
	}
	code = 0;
out:
	json_decref(model);
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
	if (project_find(s, slug, &project_id, &err) < 0)
		goto fail;
	if (nv == 0) {
		/* Previous against latest; the first version against an empty model. */
		if (model_load(s, project_id, 0, &b, &v2, &err) < 0)
			goto fail;
		v1 = v2 - 1;
		if (v1 >= 1 && model_load(s, project_id, v1, &a, NULL, &err) < 0)
			goto fail;
		if (!a)
			a = json_object();
	} else if (model_load(s, project_id, v1, &a, NULL, &err) < 0 ||
	           model_load(s, project_id, v2, &b, NULL, &err) < 0) {
		goto fail;
	}
	model_diff(a, b, &diff);
	if (json) {
		/* The diff's own "project" member lists the changed fields of the
		 * model's project object; in the output "project" is the slug, as in
		 * every other document, and those fields are "project_fields". */
		json_t *o = json_pack("{s:s, s:i, s:i}", "project", slug, "from", v1, "to", v2);
		json_object_set(o, "project_fields", json_object_get(diff, "project"));
		json_object_del(diff, "project");
		json_object_update(o, diff);
		print_json(o);
		json_decref(o);
	} else if (model_diff_empty(diff)) {
		printf("%s: no differences between version %d and version %d\n", slug, v1, v2);
	} else {
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
	json_decref(a);
	json_decref(b);
	json_decref(diff);
	return 0;
fail:
	cli_error("%s", err.msg);
	json_decref(a);
	json_decref(b);
	return cli_exit_code(err.code, EX_SOFTWARE);
}
