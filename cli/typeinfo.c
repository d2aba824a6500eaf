/* SPDX-License-Identifier: Apache-2.0 */
/* Component type information for the importers, answered by the threat library:
 * at once, or loaded on a thread of its own while the caller reads its model. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "engine/library/library.h"
#include "engine/model/model.h"

/* Loads the types and mappings into ctx->type_library; 0 or the exit code
 * with the error printed. */
static int load_types(struct cli_ctx *ctx)
{
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	struct ts_err err = {0};
	if (cli_library_load(cfg, LIBRARY_PARTS_TYPES, &ctx->type_library, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return cli_exit_code(err.code, EX_DATAERR);
	}
	return 0;
}

int cli_typeinfo(struct cli_ctx *ctx, struct model_typeinfo *ret)
{
	if (ctx->library) {
		library_typeinfo(ctx->library, ret);
		return 0;
	}
	if (!ctx->type_library) {
		int code = load_types(ctx);
		if (code)
			return code;
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

/* ---- loading while the model is read ------------------------------------ */

/* The library being loaded on its thread (cli_library_job_start); what the
 * callbacks answer from once it is there. Used by the calling thread only. */
struct pending_types {
	struct cli_library_job *job; /* owned until joined */
	struct library *lib;         /* after the join; NULL when loading failed */
	struct ts_err err;
	struct model_typeinfo ready; /* library_typeinfo of lib */
};

/* The loaded library's callbacks, waiting for the thread the first time;
 * NULL when loading failed (cli_typeinfo_finish reports it). */
static const struct model_typeinfo *pending_wait(void *ud)
{
	struct pending_types *p = ud;
	if (p->job) {
		p->lib = cli_library_job_join(p->job, &p->err);
		p->job = NULL;
		if (p->lib)
			library_typeinfo(p->lib, &p->ready);
	}
	return p->lib ? &p->ready : NULL;
}

static const char *pending_type_id_cb(void *ud, const char *type)
{
	const struct model_typeinfo *ti = pending_wait(ud);
	return ti ? ti->type_id(ti->ud, type) : NULL;
}

static const char *pending_kind_cb(void *ud, const char *type)
{
	const struct model_typeinfo *ti = pending_wait(ud);
	return ti ? ti->kind(ti->ud, type) : NULL;
}

static const char *pending_map_cb(void *ud, const char *format, const char *foreign)
{
	const struct model_typeinfo *ti = pending_wait(ud);
	return ti ? ti->map(ti->ud, format, foreign) : NULL;
}

static bool pending_container_cb(void *ud, const char *format, const char *foreign)
{
	const struct model_typeinfo *ti = pending_wait(ud);
	return ti ? ti->container(ti->ud, format, foreign) : false;
}

static json_t *pending_implied_cb(void *ud, const char *format, const char *foreign)
{
	const struct model_typeinfo *ti = pending_wait(ud);
	return ti ? ti->implied(ti->ud, format, foreign) : NULL;
}

int cli_typeinfo_start(struct cli_ctx *ctx, struct model_typeinfo *ret)
{
	if (ctx->library || ctx->type_library)
		return cli_typeinfo(ctx, ret);
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	struct cli_library_job *job = cli_library_job_start(cfg, LIBRARY_PARTS_TYPES);
	if (!job)
		return cli_typeinfo(ctx, ret);
	struct pending_types *p = ts_calloc(1, sizeof(*p));
	p->job = job;
	*ret = (struct model_typeinfo){.ud = p,
	                               .type_id = pending_type_id_cb,
	                               .kind = pending_kind_cb,
	                               .map = pending_map_cb,
	                               .container = pending_container_cb,
	                               .implied = pending_implied_cb};
	return 0;
}

int cli_typeinfo_finish(struct cli_ctx *ctx, struct model_typeinfo *ti)
{
	if (ti->type_id != pending_type_id_cb) {
		cli_typeinfo_free(ti);
		return 0;
	}
	struct pending_types *p = ti->ud;
	pending_wait(p);
	int code = 0;
	if (p->lib) {
		ctx->type_library = p->lib;
	} else {
		fprintf(stderr, "%s\n", p->err.msg);
		code = cli_exit_code(p->err.code, EX_DATAERR);
	}
	free(p);
	ti->ud = NULL;
	return code;
}
