/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync model init SLUG --profile FILE [--out FILE] [--force] [--library DIR]`:
 * expands a profile into a starting model, writes it and imports it as version 1. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/library/blueprint.h"
#include "engine/library/library.h"
#include "engine/model/model.h"
#include "engine/model/project.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

struct init_args {
	const char *slug, *profile_path, *out_arg;
	bool force;
	const char **libs; /* owned array, borrowed strings */
	size_t n_libs;
};

static int parse_init_args(int argc, char **argv, struct init_args *a)
{
	a->libs = ts_calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
			a->profile_path = argv[++i];
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			a->out_arg = argv[++i];
		} else if (strcmp(argv[i], "--library") == 0 && i + 1 < argc) {
			a->libs[a->n_libs++] = argv[++i];
		} else if (strcmp(argv[i], "--force") == 0) {
			a->force = true;
		} else if (argv[i][0] != '-' && !a->slug) {
			a->slug = argv[i];
		} else {
			cli_error("model init: unexpected argument '%s'", argv[i]);
			return EX_USAGE;
		}
	}
	if (!a->slug || !a->profile_path) {
		cli_error("usage: threatsync model init SLUG --profile FILE [--out FILE] [--force] "
		          "[--library DIR]");
		return EX_USAGE;
	}
	return 0;
}

/* What model init builds before it touches the database; all owned. */
struct init_model {
	struct library *lib;
	json_t *profile;
	json_t *model;      /* as the blueprint expanded it, written to the file */
	json_t *normalised; /* as it is imported */
	char *text;         /* model, indented */
};

/* Loads the profile and the library, expands the blueprint and validates the
 * result as if read from out_path. 0 or an exit code, with the message shown. */
static int build_model(struct cli_ctx *ctx, const struct init_args *a, const char *out_path,
                       struct init_model *im)
{
	struct ts_err err = {0};
	int rc = 0;
	if (blueprint_profile_load(a->profile_path, &im->profile, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return cli_exit_code(err.code, EX_DATAERR);
	}
	size_t n_dirs = 0;
	const char **dirs = cli_library_dirs(ctx, a->libs, a->n_libs, &n_dirs, &rc);
	if (!dirs)
		return rc;
	int r = library_load(dirs, n_dirs, &im->lib, &err);
	free(dirs);
	if (r < 0 || blueprint_expand(im->lib, im->profile, &im->model, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return cli_exit_code(err.code, EX_DATAERR);
	}
	im->text = json_dumps(im->model, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct model_typeinfo ti = {0};
	library_typeinfo(im->lib, &ti);
	if (model_parse(out_path, im->text, strlen(im->text), MODEL_FORMAT_NATIVE, true, &ti,
	                &im->normalised, NULL, NULL, &err) < 0) {
		/* The blueprint produced an invalid model: a library bug. */
		cli_error("the blueprint \"%s\" produced an invalid model:\n%s",
		          json_string_value(json_object_get(im->profile, "kind")), err.msg);
		return EX_SOFTWARE;
	}
	return 0;
}

/* The project slug, created from the profile when it does not exist
 * (*ret_created); an existing one must not have a model yet. */
static int init_project(struct store *s, const char *slug, const json_t *profile,
                        int64_t *ret_project, bool *ret_created)
{
	struct ts_err err = {0};
	*ret_created = false;
	if (project_find(s, slug, ret_project, &err) < 0) {
		if (err.code != TS_E_NOTFOUND) {
			cli_error("%s", err.msg);
			return cli_exit_code(err.code, EX_SOFTWARE);
		}
		const char *desc = json_string_value(json_object_get(profile, "description"));
		if (project_add(s, slug, json_string_value(json_object_get(profile, "name")),
		                desc ? desc : "", ret_project, &err) < 0) {
			cli_error("%s", err.msg);
			return cli_exit_code(err.code, EX_SOFTWARE);
		}
		*ret_created = true;
		return 0;
	}
	int latest = 0;
	if (model_latest_version(s, *ret_project, &latest, &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	if (latest > 0) {
		cli_error("project %s already has a model (version %d): edit it and use "
		          "'threatsync model import'",
		          slug, latest);
		return EX_DATAERR;
	}
	return 0;
}

int cmd_model_init(struct cli_ctx *ctx, int argc, char **argv)
{
	struct init_args a = {0};
	int rc = parse_init_args(argc, argv, &a);
	if (rc) {
		free(a.libs);
		return rc;
	}
	struct init_model im = {0};
	const char *slug = a.slug;
	char *out_path = a.out_arg ? ts_strdup(a.out_arg) : ts_asprintf("%s.model.json", slug);
	struct ts_err err = {0};

	if (!a.force && access(out_path, F_OK) == 0) {
		cli_error("%s exists already: choose another --out or pass --force", out_path);
		rc = EX_CANTCREAT;
		goto out;
	}
	/* Everything is checked before the database is touched: bad input changes
	 * nothing. */
	if ((rc = build_model(ctx, &a, out_path, &im)) != 0)
		goto out;
	struct store *s = cli_store(ctx, false, &rc);
	if (!s)
		goto out;
	int64_t project_id = 0;
	bool created = false;
	if ((rc = init_project(s, slug, im.profile, &project_id, &created)) != 0)
		goto out;
	char *file_text = ts_asprintf("%s\n", im.text);
	rc = cli_write_atomic(out_path, file_text);
	free(file_text);
	if (rc)
		goto out;
	int version = 0;
	if (model_import(s, project_id, im.normalised, MODEL_FORMAT_NATIVE, base_name(out_path),
	                 &version, NULL, &err) < 0) {
		cli_error("%s", err.msg);
		rc = cli_exit_code(err.code, EX_SOFTWARE);
		goto out;
	}
	if (created)
		printf("project %s created\n", slug);
	printf("model written to %s and imported as version %d of %s (%zu components, %zu "
	       "flows, %zu trust zones)\n",
	       out_path, version, slug, json_array_size(json_object_get(im.model, "components")),
	       json_array_size(json_object_get(im.model, "flows")),
	       json_array_size(json_object_get(im.model, "trust_zones")));
out:
	free(im.text);
	free(out_path);
	free(a.libs);
	json_decref(im.profile);
	json_decref(im.model);
	json_decref(im.normalised);
	library_free(im.lib);
	return rc;
}
