/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync report` (a project's report, or the portfolio, as JSON,
 * Markdown, HTML or CSV) and `threatsync release` (record a release). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/report/release.h"
#include "engine/report/report.h"
#include "report/render.h"

static const char REPORT_USAGE[] =
    "SLUG --format json|md|html|csv [--out FILE] | --portfolio [--format F] [--out FILE]";
static const char RELEASE_USAGE[] = "SLUG NAME [--json]";

static int fail(const struct ts_err *err)
{
	cli_error("%s", err->msg);
	return cli_exit_code(err->code, EX_SOFTWARE);
}

typedef int (*render_fn)(const json_t *doc, struct ts_buf *out, struct ts_err *err);

/* The renderer of format for a report (portfolio false) or the portfolio;
 * NULL for json. false for an unknown format. */
static bool renderer(const char *format, bool portfolio, render_fn *ret)
{
	static const struct {
		const char *name;
		render_fn report, portfolio;
	} table[] = {
	    {"json", NULL, NULL},
	    {"md", report_render_md, report_render_portfolio_md},
	    {"html", report_render_html, report_render_portfolio_html},
	    {"csv", report_render_csv, report_render_portfolio_csv},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(table); i++) {
		if (strcmp(format, table[i].name) == 0) {
			*ret = portfolio ? table[i].portfolio : table[i].report;
			return true;
		}
	}
	return false;
}

int cmd_report(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL, *format = NULL, *out = NULL;
	bool portfolio = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(o, "--format") == 0 && has_value && !format) {
			format = argv[++i];
		} else if (strcmp(o, "--out") == 0 && has_value && !out) {
			out = argv[++i];
		} else if (strcmp(o, "--portfolio") == 0) {
			portfolio = true;
		} else if (o[0] != '-' && !slug) {
			slug = o;
		} else {
			cli_error("report: unexpected or incomplete argument '%s'", o);
			cli_error("usage: threatsync report %s", REPORT_USAGE);
			return EX_USAGE;
		}
	}
	/* A project report names its format; the portfolio defaults to md. */
	if (portfolio == (slug != NULL) || (!portfolio && !format)) {
		cli_error("usage: threatsync report %s", REPORT_USAGE);
		return EX_USAGE;
	}
	if (!format)
		format = "md";
	render_fn render = NULL;
	if (!renderer(format, portfolio, &render)) {
		cli_error("report: unknown format '%s' (json, md, html or csv)", format);
		return EX_USAGE;
	}
	char clock[32];
	const char *now = NULL;
	if (!cli_clock(clock, &now))
		return EX_USAGE;
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	int code = 0;
	/* Not read only: listing the findings ends expired suppressions. */
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	int rc = portfolio ? report_portfolio(s, cfg, now, &doc, &err)
	                   : report_build(s, cfg, NULL, slug, now, &doc, &err);
	if (rc < 0)
		return fail(&err);
	struct ts_buf text = {0};
	if (render) {
		rc = render(doc, &text, &err);
	} else {
		char *j = cli_json_text(doc);
		ts_buf_puts(&text, j);
		free(j);
	}
	json_decref(doc);
	if (rc < 0) {
		ts_buf_free(&text);
		return fail(&err);
	}
	char *body = ts_buf_steal(&text);
	if (out)
		code = cli_write_atomic(out, body);
	else if (fputs(body, stdout) == EOF || fflush(stdout) != 0)
		code = EX_IOERR;
	free(body);
	return code;
}

int cmd_release(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL, *name = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--json") == 0) {
			json = true;
		} else if (o[0] != '-' && !slug) {
			slug = o;
		} else if (!name && slug) {
			name = o;
		} else {
			cli_error("release: unexpected argument '%s'", o);
			cli_error("usage: threatsync release %s", RELEASE_USAGE);
			return EX_USAGE;
		}
	}
	if (!slug || !name) {
		cli_error("usage: threatsync release %s", RELEASE_USAGE);
		return EX_USAGE;
	}
	char clock[32];
	const char *now = NULL;
	if (!cli_clock(clock, &now))
		return EX_USAGE;
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (release_record(s, slug, name, now, &doc, &err) < 0)
		return fail(&err);
	if (json) {
		cli_print_json(doc);
	} else {
		const json_t *ids = json_object_get(doc, "threats_addressed");
		const char *prev = json_string_value(json_object_get(doc, "previous"));
		printf("%s: release %s recorded: %lld threats addressed, %zu since %s\n", slug,
		       name, (long long)json_integer_value(json_object_get(doc, "addressed")),
		       json_array_size(ids), prev ? prev : "the start");
		size_t i;
		json_t *id;
		json_array_foreach (ids, i, id)
			printf("  %s\n", json_string_value(id));
	}
	json_decref(doc);
	return 0;
}
