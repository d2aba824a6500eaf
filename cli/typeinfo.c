/* SPDX-License-Identifier: Apache-2.0 */
/* Component type information for the importers, answered by the threat library. */
#include <stdio.h>

#include "cli/cli.h"
#include "engine/library/library.h"
#include "engine/model/model.h"

int cli_typeinfo(struct cli_ctx *ctx, struct model_typeinfo *ret)
{
	if (ctx->library) {
		library_typeinfo(ctx->library, ret);
		return 0;
	}
	if (!ctx->type_library) {
		struct config *cfg = cli_config(ctx);
		if (!cfg)
			return EX_CONFIG;
		size_t n = 0;
		while (cfg->library_paths[n])
			n++;
		struct ts_err err = {0};
		if (library_load_parts((const char *const *)cfg->library_paths, n,
		                       LIBRARY_PARTS_TYPES, &ctx->type_library, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return cli_exit_code(err.code, EX_DATAERR);
		}
	}
	library_typeinfo(ctx->type_library, ret);
	return 0;
}

void cli_typeinfo_free(struct model_typeinfo *ti)
{
	/* ctx owns the library the callbacks use and frees it. */
	if (ti)
		ti->ud = NULL;
}
