/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync project add` and `project list`. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/model/project.h"

int cmd_project_add(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL, *name = NULL, *description = "";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc)
			description = argv[++i];
		else if (argv[i][0] != '-' && !slug)
			slug = argv[i];
		else {
			cli_error("project add: unexpected argument '%s'", argv[i]);
			return EX_USAGE;
		}
	}
	if (!slug) {
		cli_error("usage: threatsync project add SLUG [--name N] [--description D]");
		return EX_USAGE;
	}
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	int64_t id = 0;
	if (project_add(s, slug, name ? name : slug, description, &id, &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	printf("project %s created\n", slug);
	return 0;
}

int cmd_project_list(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = cli_has_flag(argc, argv, "--json");
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *list = NULL;
	if (project_list_json(s, &list, &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	if (json) {
		cli_print_json(list);
	} else {
		size_t i;
		json_t *p;
		printf("%-24s %-32s %s\n", "SLUG", "NAME", "CREATED");
		json_array_foreach(list, i, p)
		{
			printf("%-24s %-32s %s\n", json_string_value(json_object_get(p, "slug")),
			       json_string_value(json_object_get(p, "name")),
			       json_string_value(json_object_get(p, "created_at")));
		}
	}
	json_decref(list);
	return 0;
}
