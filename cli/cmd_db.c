/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync db migrate`, `backup FILE`, `config check` and `config options`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_db_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc > 1) {
		cli_error("db migrate takes no arguments, got '%s'", argv[1]);
		return EX_USAGE;
	}
	const char *path = ctx->db_path;
	if (!path) {
		struct config *cfg = cli_config(ctx);
		if (!cfg)
			return EX_CONFIG;
		path = cfg->database;
	}
	struct ts_err err = {0};
	if (store_open(path, STORE_ANY_VERSION | STORE_CHECK, &ctx->store, &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	int before = store_schema_version(ctx->store);
	int applied = 0;
	if (store_migrate(ctx->store, store_latest_version(), &applied, &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	if (applied == 0)
		printf("database %s: schema version %d is current\n", path, before);
	else
		printf("database %s: migrated from schema version %d to %d\n", path, before,
		       store_schema_version(ctx->store));
	return 0;
}

int cmd_backup(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc != 2) {
		cli_error("usage: threatsync backup FILE");
		return EX_USAGE;
	}
	int code = 0;
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	if (store_backup(s, argv[1], &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_IOERR);
	}
	printf("backup of %s written to %s\n", store_path(s), argv[1]);
	return 0;
}

int cmd_config_check(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc > 2) {
		cli_error("usage: threatsync [-c CONFIG] config check [FILE]");
		return EX_USAGE;
	}
	if (argc == 2)
		ctx->config_path = argv[1];
	if (!cli_config_secrets(ctx))
		return EX_CONFIG;
	printf("%s: configuration OK\n", ctx->cfg->path ? ctx->cfg->path : "(built-in defaults)");
	return 0;
}

int cmd_config_options(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			cli_error("usage: threatsync config options [--json]");
			return EX_USAGE;
		}
	}
	json_t *doc = config_options_json();
	if (json) {
		cli_print_json(doc);
		json_decref(doc);
		return 0;
	}
	size_t i, k;
	json_t *sec, *o;
	json_array_foreach (json_object_get(doc, "sections"), i, sec) {
		const char *name = json_string_value(json_object_get(sec, "section"));
		json_array_foreach (json_object_get(sec, "options"), k, o) {
			printf("%s%s%s\t%s%s%s\n", name, *name ? "." : "",
			       json_string_value(json_object_get(o, "name")),
			       json_string_value(json_object_get(o, "type")),
			       json_is_true(json_object_get(o, "reloadable")) ? "" : ", restart",
			       json_is_true(json_object_get(o, "required")) ? ", required" : "");
		}
	}
	json_decref(doc);
	return 0;
}
