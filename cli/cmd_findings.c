/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync ingest` (scanner reports in) and `threatsync findings` (the
 * findings of a project, and a person's suppression of one). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/findings/ingest.h"
#include "engine/library/cwe.h"
#include "engine/library/library.h"
#include "engine/tracking/override.h"

#define INGEST_FILES_MAX 256

static int fail(const struct ts_err *err)
{
	cli_error("%s", err->msg);
	return cli_exit_code(err->code, EX_SOFTWARE);
}

static int usage(const char *cmd, const char *text)
{
	cli_error("usage: threatsync %s %s", cmd, text);
	return EX_USAGE;
}

/* ---- ingest ------------------------------------------------------------- */

static const char INGEST_USAGE[] =
    "SLUG FILE... [--format auto|sarif|zap|gitlab|semgrep] [--scope S] [--tool-version V] "
    "[--json]";

static int cnt(const json_t *o, const char *k)
{
	return (int)json_integer_value(json_object_get(json_object_get(o, "counts"), k));
}

static void print_result(const json_t *res)
{
	const char *file = json_string_value(json_object_get(res, "file"));
	const json_t *scans = json_object_get(res, "scans");
	size_t i;
	json_t *sc;
	if (json_is_true(json_object_get(res, "unchanged"))) {
		printf("%s: unchanged (ingested before as scan", file);
		json_array_foreach (scans, i, sc)
			printf("%s %" JSON_INTEGER_FORMAT, i ? "," : "",
			       json_integer_value(json_object_get(sc, "id")));
		printf(")\n");
		return;
	}
	if (json_array_size(scans) == 0)
		printf("%s: no results and no tool named: nothing recorded\n", file);
	json_array_foreach (scans, i, sc) {
		const char *ver = json_string_value(json_object_get(sc, "tool_version"));
		printf("%s: scan %" JSON_INTEGER_FORMAT " by %s%s%s: %d results, %d new, %d still "
		       "open, %d fixed, %d reopened, %d suppressed, %d unmapped, %d correlated\n",
		       file, json_integer_value(json_object_get(sc, "id")),
		       json_string_value(json_object_get(sc, "tool")), ver && *ver ? " " : "",
		       ver ? ver : "", cnt(sc, "results"), cnt(sc, "new"), cnt(sc, "still_open"),
		       cnt(sc, "fixed"), cnt(sc, "reopened"), cnt(sc, "suppressed"),
		       cnt(sc, "unmapped"), cnt(sc, "correlated"));
	}
	if (json_is_true(json_object_get(res, "incomplete")))
		printf("  the report says the scan did not finish: nothing was taken as fixed\n");
	json_t *v;
	json_array_foreach (json_object_get(res, "verification"), i, v)
		printf("  verification of %s: %s -> %s\n",
		       json_string_value(json_object_get(v, "task")),
		       json_string_value(json_object_get(v, "from")),
		       json_string_value(json_object_get(v, "to")));
	json_int_t notices = json_integer_value(json_object_get(res, "notices"));
	if (notices)
		printf("  tracker notices queued: %" JSON_INTEGER_FORMAT "\n", notices);
}

/* The CWE catalog of the library paths; NULL (exact CWE matches only) with a
 * warning when none has one. */
static struct cwe_catalog *load_cwe(const struct config *cfg)
{
	size_t n = 0;
	while (cfg->library_paths[n])
		n++;
	struct cwe_catalog *cat = NULL;
	struct ts_err err = {0};
	if (cwe_catalog_load((const char *const *)cfg->library_paths, n, &cat, &err) < 0) {
		fprintf(stderr,
		        "threatsync: warning: %s: findings correlate by equal CWE ids only\n",
		        err.msg);
		return NULL;
	}
	return cat;
}

int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL, *format = "auto", *scope = NULL, *tool_version = NULL;
	const char *files[INGEST_FILES_MAX];
	size_t n_files = 0;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has = i + 1 < argc;
		if (strcmp(o, "--json") == 0) {
			json = true;
		} else if (strcmp(o, "--format") == 0 && has) {
			format = argv[++i];
		} else if (strcmp(o, "--scope") == 0 && has) {
			scope = argv[++i];
		} else if (strcmp(o, "--tool-version") == 0 && has) {
			tool_version = argv[++i];
		} else if (o[0] != '-' && !slug) {
			slug = o;
		} else if (o[0] != '-' && n_files < INGEST_FILES_MAX) {
			files[n_files++] = o;
		} else {
			cli_error("%s: unexpected or incomplete argument '%s'", argv[0], o);
			return usage(argv[0], INGEST_USAGE);
		}
	}
	if (!slug || n_files == 0)
		return usage(argv[0], INGEST_USAGE);
	struct ts_err err = {0};
	enum findings_format fmt;
	if (findings_format_parse(format, &fmt, &err) < 0)
		return fail(&err);
	char clock[32];
	const char *now = NULL;
	if (!cli_clock(clock, &now))
		return EX_USAGE;
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	/* The library: the scanner rules it declares for threats correlate
	 * findings that carry no CWE. */
	struct library *lib = cli_library(ctx, &code);
	if (!lib)
		return code;
	struct cwe_catalog *cat = load_cwe(cfg);
	json_t *reports = json_array();
	for (size_t i = 0; i < n_files && code == 0; i++) {
		struct ingest_request r = {.project = slug,
		                           .path = files[i],
		                           .format = fmt,
		                           .scope = scope,
		                           .tool_version = tool_version,
		                           .cwe = cat,
		                           .library = lib,
		                           .project_cfg = config_find_project(cfg, slug),
		                           .now = now};
		json_t *res = NULL;
		if (ingest_report(s, &r, &res, &err) < 0) {
			code = fail(&err);
			break;
		}
		if (!json)
			print_result(res);
		json_array_append_new(reports, res);
	}
	if (json_array_size(reports) > 0)
		cli_snapshot(s, slug, now);
	if (code == 0 && json) {
		json_t *doc = json_pack("{s:s, s:O}", "project", slug, "reports", reports);
		cli_print_json(doc);
		json_decref(doc);
	}
	json_decref(reports);
	cwe_catalog_free(cat);
	return code;
}

/* ---- findings ----------------------------------------------------------- */

static const char FINDINGS_USAGE[] =
    "SLUG [--status open|fixed|suppressed] [--tool T] [--unmapped] [--json] | "
    "SLUG --suppress ID --reason R [--expires YYYY-MM-DD] [--author A] | "
    "SLUG --unsuppress ID [--author A]";

static bool parse_id(const char *s, int64_t *ret)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || !end || *end || v <= 0)
		return false;
	*ret = v;
	return true;
}

static void print_list(const json_t *doc)
{
	const json_t *items = json_object_get(doc, "findings");
	if (json_array_size(items) == 0) {
		printf("no findings\n");
		return;
	}
	printf("%-6s %-10s %-8s %-12s %-20s %-10s %-14s %-10s %-10s %s\n", "ID", "STATUS",
	       "SEVERITY", "TOOL", "RULE", "CWE", "COMPONENT", "FIRST", "LAST", "LOCATION");
	size_t i;
	json_t *f;
	json_array_foreach (items, i, f) {
		char cwe[64] = "-";
		size_t k = 0, j;
		json_t *c;
		json_array_foreach (json_object_get(f, "cwe"), j, c) {
			k += (size_t)snprintf(cwe + k, sizeof(cwe) - k, "%s%" JSON_INTEGER_FORMAT,
			                      j ? "," : "", json_integer_value(c));
			if (k >= sizeof(cwe))
				break;
		}
		const char *comp = json_string_value(json_object_get(f, "component"));
		const char *loc = json_string_value(json_object_get(f, "location"));
		printf("%-6" JSON_INTEGER_FORMAT " %-10s %-8s %-12s %-20s %-10s %-14s %-10.10s "
		       "%-10.10s %s\n",
		       json_integer_value(json_object_get(f, "id")),
		       json_string_value(json_object_get(f, "status")),
		       json_string_value(json_object_get(f, "severity")),
		       json_string_value(json_object_get(f, "tool")),
		       json_string_value(json_object_get(f, "rule")), cwe, comp ? comp : "unmapped",
		       json_string_value(json_object_get(f, "first_seen")),
		       json_string_value(json_object_get(f, "last_seen")), loc ? loc : "-");
		json_t *t;
		json_array_foreach (json_object_get(f, "threats"), j, t)
			printf("       correlates with %s (%s)\n",
			       json_string_value(json_object_get(t, "threat")),
			       json_string_value(json_object_get(t, "method")));
		const json_t *sup = json_object_get(f, "suppression");
		if (json_is_object(sup)) {
			const char *until = json_string_value(json_object_get(sup, "until"));
			printf("       suppressed by %s: %s%s%s\n",
			       json_string_value(json_object_get(sup, "by")),
			       json_string_value(json_object_get(sup, "reason"))
			           ? json_string_value(json_object_get(sup, "reason"))
			           : "",
			       until ? ", until " : "", until ? until : "");
		}
	}
	const json_t *c = json_object_get(doc, "counts");
	printf("%" JSON_INTEGER_FORMAT " open, %" JSON_INTEGER_FORMAT
	       " fixed, %" JSON_INTEGER_FORMAT " suppressed, %" JSON_INTEGER_FORMAT " unmapped\n",
	       json_integer_value(json_object_get(c, "open")),
	       json_integer_value(json_object_get(c, "fixed")),
	       json_integer_value(json_object_get(c, "suppressed")),
	       json_integer_value(json_object_get(c, "unmapped")));
}

int cmd_findings(struct cli_ctx *ctx, int argc, char **argv)
{
	struct findings_filter flt = {0};
	const char *suppress = NULL, *unsuppress = NULL, *reason = NULL, *expires = NULL;
	const char *author = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has = i + 1 < argc;
		if (strcmp(o, "--json") == 0) {
			json = true;
		} else if (strcmp(o, "--unmapped") == 0) {
			flt.unmapped = true;
		} else if (strcmp(o, "--status") == 0 && has) {
			flt.status = argv[++i];
		} else if (strcmp(o, "--tool") == 0 && has) {
			flt.tool = argv[++i];
		} else if (strcmp(o, "--suppress") == 0 && has) {
			suppress = argv[++i];
		} else if (strcmp(o, "--unsuppress") == 0 && has) {
			unsuppress = argv[++i];
		} else if (strcmp(o, "--reason") == 0 && has) {
			reason = argv[++i];
		} else if (strcmp(o, "--expires") == 0 && has) {
			expires = argv[++i];
		} else if (strcmp(o, "--author") == 0 && has) {
			author = argv[++i];
		} else if (o[0] != '-' && !flt.project) {
			flt.project = o;
		} else {
			cli_error("%s: unexpected or incomplete argument '%s'", argv[0], o);
			return usage(argv[0], FINDINGS_USAGE);
		}
	}
	bool change = suppress || unsuppress;
	if (!flt.project || (suppress && unsuppress) ||
	    (change && (flt.status || flt.tool || flt.unmapped)) ||
	    (!suppress && (reason || expires)) || (!change && author))
		return usage(argv[0], FINDINGS_USAGE);
	int64_t id = 0;
	if (change && !parse_id(suppress ? suppress : unsuppress, &id)) {
		cli_error("%s: '%s' is not a finding id (threatsync findings %s)", argv[0],
		          suppress ? suppress : unsuppress, flt.project);
		return EX_USAGE;
	}
	if (suppress && !reason) {
		cli_error("%s: --suppress needs --reason", argv[0]);
		return EX_USAGE;
	}
	char clock[32];
	if (!cli_clock(clock, &flt.now))
		return EX_USAGE;
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	if (!author)
		author = getenv("USER") ? getenv("USER") : "";
	struct ts_err err = {0};
	json_t *doc = NULL;
	int rc;
	if (suppress)
		rc = findings_suppress(s, flt.project, id, reason, expires, author, flt.now, &doc,
		                       &err);
	else if (unsuppress)
		rc = findings_unsuppress(s, flt.project, id, author, flt.now, &doc, &err);
	else
		rc = findings_list(s, &flt, &doc, &err);
	if (rc < 0)
		return fail(&err);
	if (json)
		cli_print_json(doc);
	else if (change)
		printf("finding %" JSON_INTEGER_FORMAT ": %s -> %s\n",
		       json_integer_value(json_object_get(doc, "id")),
		       json_string_value(json_object_get(doc, "from")),
		       json_string_value(json_object_get(doc, "status")));
	else
		print_list(doc);
	json_decref(doc);
	return 0;
}
