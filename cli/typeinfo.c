/* SPDX-License-Identifier: Apache-2.0 */
/* Component type information for the importers, answered by the threat library. */
#include "cli/cli.h"
#include "engine/library/library.h"
#include "engine/model/model.h"

int cli_typeinfo(struct cli_ctx *ctx, struct model_typeinfo *ret)
{
	int code = 0;
	struct library *lib = cli_library(ctx, &code);
	if (!lib)
		return code;
	library_typeinfo(lib, ret);
	return 0;
}

void cli_typeinfo_free(struct model_typeinfo *ti)
{
	/* The library owns everything the callbacks use; cli_ctx frees it. */
	if (ti)
		ti->ud = NULL;
}
