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

/* Writes text to path through a temporary file and rename, so a failed write
 * leaves no half file behind. */
static int write_atomic(const char *path, const char *text)
{
	char *tmp = ts_asprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wx");
	if (!f) {
		cli_error("%s: cannot create: %s", tmp, strerror(errno));
		free(tmp);
		return EX_CANTCREAT;
	}
	size_t len = strlen(text);
	bool ok = fwrite(text, 1, len, f) == len;
	ok = (fflush(f) == 0) && ok;
	ok = (fsync(fileno(f)) == 0) && ok;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) < 0) {
		cli_error("%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return EX_IOERR;
	}
	free(tmp);
	return 0;
}

int cmd_model_init(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL, *profile_path = NULL, *out_arg = NULL;
	bool force = false;
	const char **libs = ts_calloc((size_t)argc + 1, sizeof(char *));
	size_t n_libs = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
			profile_path = argv[++i];
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			out_arg = argv[++i];
		} else if (strcmp(argv[i], "--library") == 0 && i + 1 < argc) {
			libs[n_libs++] = argv[++i];
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (argv[i][0] != '-' && !slug) {
			slug = argv[i];
		} else {
			cli_error("model init: unexpected argument '%s'", argv[i]);
			free(libs);
			return EX_USAGE;
		}
	}
	if (!slug || !profile_path) {
		cli_error("usage: threatsync model init SLUG --profile FILE [--out FILE] [--force] "
		          "[--library DIR]");
		free(libs);
		return EX_USAGE;
	}
	int rc = 0;
	struct library *lib = NULL;
	json_t *profile = NULL, *model = NULL, *normalised = NULL;
	char *out_path = out_arg ? ts_strdup(out_arg) : ts_asprintf("%s.model.json", slug);
	char *text = NULL;
	struct ts_err err = {0};

	if (!force && access(out_path, F_OK) == 0) {
		cli_error("%s exists already: choose another --out or pass --force", out_path);
		rc = EX_CANTCREAT;
		goto out;
	}
	/* Everything is checked before the database is touched: bad input changes
	 * nothing. */
	if (blueprint_profile_load(profile_path, &profile, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = cli_exit_code(err.code, EX_DATAERR);
		goto out;
	}
	size_t n_dirs = 0;
	const char **dirs = cli_library_dirs(ctx, libs, n_libs, &n_dirs, &rc);
	if (!dirs)
		goto out;
	int r = library_load(dirs, n_dirs, &lib, &err);
	free(dirs);
	if (r < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = cli_exit_code(err.code, EX_DATAERR);
		goto out;
	}
	if (blueprint_expand(lib, profile, &model, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = cli_exit_code(err.code, EX_DATAERR);
		goto out;
	}
	text = json_dumps(model, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	if (model_parse(out_path, text, strlen(text), MODEL_FORMAT_NATIVE, true, &ti, &normalised,
	                NULL, NULL, &err) < 0) {
		/* The blueprint produced an invalid model: a library bug. */
		cli_error("the blueprint \"%s\" produced an invalid model:\n%s",
		          json_string_value(json_object_get(profile, "kind")), err.msg);
		rc = EX_SOFTWARE;
		goto out;
	}

	struct store *s = cli_store(ctx, false, &rc);
	if (!s)
		goto out;
	int64_t project_id = 0;
	bool created = false;
	if (project_find(s, slug, &project_id, &err) < 0) {
		if (err.code != TS_E_NOTFOUND) {
			cli_error("%s", err.msg);
			rc = cli_exit_code(err.code, EX_SOFTWARE);
			goto out;
		}
		const char *desc = json_string_value(json_object_get(profile, "description"));
		if (project_add(s, slug, json_string_value(json_object_get(profile, "name")),
		                desc ? desc : "", &project_id, &err) < 0) {
			cli_error("%s", err.msg);
			rc = cli_exit_code(err.code, EX_SOFTWARE);
			goto out;
		}
		created = true;
	} else {
		int latest = 0;
		if (model_latest_version(s, project_id, &latest, &err) < 0) {
			cli_error("%s", err.msg);
			rc = cli_exit_code(err.code, EX_SOFTWARE);
			goto out;
		}
		if (latest > 0) {
			cli_error("project %s already has a model (version %d): edit it and use "
			          "'threatsync model import'",
			          slug, latest);
			rc = EX_DATAERR;
			goto out;
		}
	}
	char *file_text = ts_asprintf("%s\n", text);
	rc = write_atomic(out_path, file_text);
	free(file_text);
	if (rc)
		goto out;
	int version = 0;
	if (model_import(s, project_id, normalised, MODEL_FORMAT_NATIVE, base_name(out_path),
	                 &version, NULL, &err) < 0) {
		cli_error("%s", err.msg);
		rc = cli_exit_code(err.code, EX_SOFTWARE);
		goto out;
	}
	if (created)
		printf("project %s created\n", slug);
	printf("model written to %s and imported as version %d of %s (%zu components, %zu "
	       "flows, %zu trust zones)\n",
	       out_path, version, slug, json_array_size(json_object_get(model, "components")),
	       json_array_size(json_object_get(model, "flows")),
	       json_array_size(json_object_get(model, "trust_zones")));
out:
	free(text);
	free(out_path);
	free(libs);
	json_decref(profile);
	json_decref(model);
	json_decref(normalised);
	library_free(lib);
	return rc;
}
