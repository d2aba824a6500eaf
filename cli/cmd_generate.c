/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync generate`, `threats`, `countermeasures`, `classify` and `override`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/generate/classify.h"
#include "engine/generate/generate.h"
#include "engine/generate/listing.h"
#include "engine/model/project.h"
#include "engine/tracking/override.h"

/* Options shared by the commands of this file. */
struct gen_args {
	const char *slug;
	const char *id;
	const char *status;
	const char *reason;
	const char *expires;
	const char *author;
	const char *kind;
	bool json, all, dry_run, revoke, full;
};

enum {
	ARG_JSON = 1 << 0,
	ARG_ALL = 1 << 1,
	ARG_DRY_RUN = 1 << 2,
	ARG_STATUS = 1 << 3,
	ARG_OVERRIDE = 1 << 4, /* ID, kind, --reason, --expires, --author, --revoke */
	ARG_FULL = 1 << 5,
};

/* Parses argv (argv[0] is the command word) accepting the options in allowed.
 * Returns 0 or EX_USAGE after printing the usage line. */
static int parse_args(int argc, char **argv, unsigned allowed, const char *usage,
                      struct gen_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has_value = i + 1 < argc;
		if ((allowed & ARG_JSON) && strcmp(o, "--json") == 0) {
			a->json = true;
		} else if ((allowed & ARG_ALL) && strcmp(o, "--all") == 0) {
			a->all = true;
		} else if ((allowed & ARG_DRY_RUN) && strcmp(o, "--dry-run") == 0) {
			a->dry_run = true;
		} else if ((allowed & ARG_FULL) && strcmp(o, "--full") == 0) {
			a->full = true;
		} else if ((allowed & ARG_STATUS) && strcmp(o, "--status") == 0 && has_value) {
			a->status = argv[++i];
		} else if ((allowed & ARG_OVERRIDE) && strcmp(o, "--not-applicable") == 0) {
			if (a->kind && strcmp(a->kind, "not_applicable") != 0)
				goto conflict;
			a->kind = "not_applicable";
		} else if ((allowed & ARG_OVERRIDE) && strcmp(o, "--accept-risk") == 0) {
			if (a->kind && strcmp(a->kind, "risk_accepted") != 0)
				goto conflict;
			a->kind = "risk_accepted";
		} else if ((allowed & ARG_OVERRIDE) && strcmp(o, "--revoke") == 0) {
			a->revoke = true;
		} else if ((allowed & ARG_OVERRIDE) && strcmp(o, "--reason") == 0 && has_value) {
			a->reason = argv[++i];
		} else if ((allowed & ARG_OVERRIDE) && strcmp(o, "--expires") == 0 && has_value) {
			a->expires = argv[++i];
		} else if ((allowed & ARG_OVERRIDE) && strcmp(o, "--author") == 0 && has_value) {
			a->author = argv[++i];
		} else if (o[0] != '-' && !a->slug) {
			a->slug = o;
		} else if (o[0] != '-' && (allowed & ARG_OVERRIDE) && !a->id) {
			a->id = o;
		} else {
			cli_error("%s: unexpected or incomplete argument '%s'", argv[0], o);
			cli_error("usage: threatsync %s %s", argv[0], usage);
			return EX_USAGE;
		}
	}
	if (!a->slug || ((allowed & ARG_OVERRIDE) && !a->id)) {
		cli_error("usage: threatsync %s %s", argv[0], usage);
		return EX_USAGE;
	}
	return 0;
conflict:
	cli_error("%s: --not-applicable and --accept-risk exclude each other", argv[0]);
	return EX_USAGE;
}

static int fail(const struct ts_err *err)
{
	cli_error("%s", err->msg);
	return cli_exit_code(err->code, EX_SOFTWARE);
}

/* ------------------------------------------------------------ generate */

static int cnt(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return (int)json_integer_value(v);
}

static void print_summary(const json_t *sum, const struct config *cfg)
{
	const json_t *t = json_object_get(sum, "threats");
	const json_t *c = json_object_get(sum, "countermeasures");
	const json_t *ch = json_object_get(sum, "changes");
	const char *rule = json_string_value(json_object_get(sum, "rule"));
	printf("%s: model version %d, risk class %s",
	       json_string_value(json_object_get(sum, "project")), cnt(sum, "model_version", NULL),
	       json_string_value(json_object_get(sum, "risk_class")));
	if (rule)
		printf(" (rule '%s', %s:%d)\n", rule, cfg->path ? cfg->path : "built-in",
		       cnt(sum, "rule_line", NULL));
	else
		printf(" (no classification rule matched)\n");
	const json_t *reg = json_object_get(sum, "regenerated");
	const char *scope = json_string_value(json_object_get(reg, "scope"));
	if (scope && strcmp(scope, "changed") == 0)
		printf("regenerated: %d of %d components (those the model change affects)\n",
		       cnt(reg, "components", NULL), cnt(reg, "of", NULL));
	else
		printf("regenerated: all %d components\n", cnt(reg, "of", NULL));
	printf("threats: %d (critical %d, high %d, medium %d, low %d), %d in scope, %d "
	       "overridden\n",
	       cnt(t, "total", NULL), cnt(t, "by_severity", "critical"),
	       cnt(t, "by_severity", "high"), cnt(t, "by_severity", "medium"),
	       cnt(t, "by_severity", "low"), cnt(t, "in_scope", NULL), cnt(t, "overridden", NULL));
	printf("countermeasures: %d, %d in scope, %d satisfied by another component\n",
	       cnt(c, "total", NULL), cnt(c, "in_scope", NULL), cnt(c, "satisfied", NULL));
	const char *key;
	json_t *v;
	printf("  by status:");
	json_object_foreach (json_object_get(c, "by_status"), key, v) {
		printf(" %s %d", key, (int)json_integer_value(v));
	}
	printf("\n");
	printf("changes: threats %d created, %d updated, %d removed, %d reactivated;\n",
	       cnt(ch, "threats", "created"), cnt(ch, "threats", "updated"),
	       cnt(ch, "threats", "removed"), cnt(ch, "threats", "reactivated"));
	printf("         countermeasures %d created, %d updated, %d removed, %d reactivated, %d "
	       "status changes\n",
	       cnt(ch, "countermeasures", "created"), cnt(ch, "countermeasures", "updated"),
	       cnt(ch, "countermeasures", "removed"), cnt(ch, "countermeasures", "reactivated"),
	       cnt(ch, "countermeasures", "status_changed"));
	const struct config_project *pc =
	    config_find_project(cfg, json_string_value(json_object_get(sum, "project")));
	if (pc && pc->connector)
		printf("outbox (%s): %d create, %d update, %d close, %d reopen\n", pc->connector,
		       cnt(ch, "outbox", "create"), cnt(ch, "outbox", "update"),
		       cnt(ch, "outbox", "close"), cnt(ch, "outbox", "reopen"));
	else
		printf("outbox: none (the project is not mapped to a tracker)\n");
	if (json_is_true(json_object_get(sum, "dry_run")))
		printf("dry run: nothing was written\n");
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* What the command no longer needs once generation is done: kept until the
 * process ends (cli_keep_until_exit). */
struct leftovers {
	struct gen_input in;
	struct library *lib; /* owned */
};

static void free_leftovers(void *arg)
{
	struct leftovers *l = arg;
	gen_input_free(&l->in);
	library_free(l->lib);
	free(l);
}

int cmd_generate(struct cli_ctx *ctx, int argc, char **argv)
{
	/* THREATSYNC_TIMING set: the time of each phase on stderr. */
	bool timing = getenv("THREATSYNC_TIMING") != NULL;
	struct timespec t0;
	double t_load = 0, t_lib = 0, t_gen = 0, t_snap = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct gen_args a;
	int code = parse_args(argc, argv, ARG_JSON | ARG_DRY_RUN | ARG_FULL,
	                      "SLUG [--json] [--dry-run] [--full]", &a);
	if (code)
		return code;
	char clock[32];
	struct gen_opts opts = {.dry_run = a.dry_run, .full = a.full, .keep = cli_keep_until_exit};
	if (!cli_clock(clock, &opts.now))
		return EX_USAGE;
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	/* The library loads on another thread while the model, its digests and
	 * the last generation's state are read. */
	cli_library_start(ctx);
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	struct gen_input in;
	int rc = gen_input_load(s, a.slug, &in, &err);
	t_load = ms_since(&t0);
	struct library *lib = cli_library(ctx, &code);
	t_lib = ms_since(&t0);
	if (!lib) {
		gen_input_free(&in);
		return code;
	}
	if (rc < 0) {
		gen_input_free(&in);
		return fail(&err);
	}
	opts.input = &in;
	json_t *sum = NULL;
	double t1 = ms_since(&t0);
	rc = gen_run(s, lib, cfg, a.slug, &opts, &sum, &err);
	if (rc < 0) {
		gen_input_free(&in);
		return fail(&err);
	}
	t_gen = ms_since(&t0) - t1;
	struct leftovers *left = ts_calloc(1, sizeof(*left));
	left->in = in;
	left->lib = ctx->library;
	ctx->library = NULL;
	cli_keep_until_exit(free_leftovers, left);
	if (!a.dry_run) {
		t1 = ms_since(&t0);
		cli_snapshot(s, a.slug, opts.now);
		t_snap = ms_since(&t0) - t1;
	}
	if (timing)
		fprintf(stderr,
		        "timing: model read %.1f ms, configuration and library %.1f ms, "
		        "generation %.1f ms, metrics snapshot %.1f ms, command %.1f ms\n",
		        t_load, t_lib, t_gen, t_snap, ms_since(&t0));
	if (a.json)
		cli_print_json(sum);
	else
		print_summary(sum, cfg);
	json_decref(sum);
	return 0;
}

/* ------------------------------------------------------------ listings */

static const char *str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static int id_width(const json_t *list)
{
	size_t i, w = 2;
	json_t *e;
	json_array_foreach (list, i, e) {
		size_t n = strlen(str(e, "id"));
		if (n > w)
			w = n;
	}
	return w > 60 ? 60 : (int)w;
}

static void print_header(const json_t *doc, const char *what, size_t n)
{
	const char *cls = json_string_value(json_object_get(doc, "risk_class"));
	if (!cls) {
		printf("%s: nothing generated yet (run `threatsync generate %s`)\n",
		       str(doc, "project"), str(doc, "project"));
		return;
	}
	printf("%s: %zu %s (model version %d, risk class %s)\n", str(doc, "project"), n, what,
	       (int)json_integer_value(json_object_get(doc, "model_version")), cls);
}

int cmd_threats(struct cli_ctx *ctx, int argc, char **argv)
{
	struct gen_args a;
	int code = parse_args(argc, argv, ARG_JSON | ARG_ALL, "SLUG [--json] [--all]", &a);
	if (code)
		return code;
	char clock[32];
	const char *now;
	if (!cli_clock(clock, &now))
		return EX_USAGE;
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (gen_list_threats(s, a.slug, a.all, now, &doc, &err) < 0)
		return fail(&err);
	json_t *list = json_object_get(doc, "threats");
	if (a.json) {
		cli_print_json(doc);
	} else {
		print_header(doc, "threats", json_array_size(list));
		if (json_array_size(list)) {
			int w = id_width(list);
			printf("%-*s %5s %-8s %-14s %-20s %s\n", w, "ID", "SCORE", "SEVERITY",
			       "STATUS", "COMPONENT", "TITLE");
			size_t i;
			json_t *e;
			json_array_foreach (list, i, e) {
				const char *where = json_is_string(json_object_get(e, "flow"))
				                        ? str(e, "flow")
				                        : str(e, "component");
				printf("%-*s %5.1f %-8s %-14s %-20s %s\n", w, str(e, "id"),
				       json_real_value(json_object_get(e, "score")),
				       str(e, "severity"), str(e, "status"), where,
				       str(e, "title"));
			}
		}
	}
	json_decref(doc);
	return 0;
}

int cmd_countermeasures(struct cli_ctx *ctx, int argc, char **argv)
{
	struct gen_args a;
	int code = parse_args(argc, argv, ARG_JSON | ARG_ALL | ARG_STATUS,
	                      "SLUG [--json] [--all] [--status S]", &a);
	if (code)
		return code;
	char clock[32];
	const char *now;
	if (!cli_clock(clock, &now))
		return EX_USAGE;
	if (a.status && !gen_status_valid(a.status)) {
		cli_error("countermeasures: unknown status '%s' (todo, in_progress, done, "
		          "not_applicable, risk_accepted or satisfied)",
		          a.status);
		return EX_USAGE;
	}
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (gen_list_countermeasures(s, a.slug, a.all, a.status, now, &doc, &err) < 0)
		return fail(&err);
	json_t *list = json_object_get(doc, "countermeasures");
	if (a.json) {
		cli_print_json(doc);
	} else {
		print_header(doc, "countermeasures", json_array_size(list));
		if (json_array_size(list)) {
			int w = id_width(list);
			printf("%-*s %5s %4s %-14s %-20s %-10s %s\n", w, "ID", "SCORE", "PRIO",
			       "STATUS", "COMPONENT", "DUE", "TITLE");
			size_t i;
			json_t *e;
			json_array_foreach (list, i, e) {
				printf("%-*s %5.1f %4d %-14s %-20s %-10s %s", w, str(e, "id"),
				       json_real_value(json_object_get(e, "score")),
				       (int)json_integer_value(json_object_get(e, "priority")),
				       str(e, "status"), str(e, "component"),
				       json_is_string(json_object_get(e, "due_date"))
				           ? str(e, "due_date")
				           : "-",
				       str(e, "title"));
				if (json_is_string(json_object_get(e, "satisfied_by")))
					printf(" (satisfied by %s)", str(e, "satisfied_by"));
				/* Scanner findings (docs/findings.md): said when known. */
				const char *verif = str(e, "verification");
				if (*verif && strcmp(verif, "untested") != 0)
					printf(" (verification %s)", verif);
				printf("\n");
			}
		}
	}
	json_decref(doc);
	return 0;
}

/* ------------------------------------------------------------ classify */

int cmd_classify(struct cli_ctx *ctx, int argc, char **argv)
{
	struct gen_args a;
	int code = parse_args(argc, argv, ARG_JSON, "SLUG [--json]", &a);
	if (code)
		return code;
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	/* Classification reads the library's type defaults, as generation does. */
	struct library *lib = cli_library(ctx, &code);
	if (!lib)
		return code;
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (classify_project(s, lib, cfg, a.slug, &doc, &err) < 0)
		return fail(&err);
	if (a.json) {
		cli_print_json(doc);
	} else {
		const json_t *rule = json_object_get(doc, "rule");
		printf("%s (model version %d): %s\n", str(doc, "project"),
		       (int)json_integer_value(json_object_get(doc, "model_version")),
		       str(doc, "risk_class"));
		if (json_is_object(rule))
			printf("rule: '%s' (rule %d, %s:%d)\n", str(rule, "name"),
			       (int)json_integer_value(json_object_get(rule, "index")) + 1,
			       json_is_string(json_object_get(rule, "config")) ? str(rule, "config")
			                                                       : "built-in",
			       (int)json_integer_value(json_object_get(rule, "line")));
		else
			printf("rule: none matched; the default class is %s\n",
			       CLASSIFY_DEFAULT_CLASS);
		const json_t *p = json_object_get(doc, "policy");
		printf(
		    "policy: threats of severity %s and above, countermeasures of priority 1..%d",
		    str(p, "min_severity"),
		    (int)json_integer_value(json_object_get(p, "max_priority")));
		size_t i;
		json_t *fw;
		printf("\nframeworks in scope:");
		json_array_foreach (json_object_get(doc, "frameworks"), i, fw) {
			printf(" %s", json_string_value(fw));
		}
		printf("%s\n", json_array_size(json_object_get(doc, "frameworks")) ? "" : " none");
	}
	json_decref(doc);
	return 0;
}

/* ------------------------------------------------------------ override */

int cmd_override(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char usage[] = "SLUG ID --not-applicable|--accept-risk --reason R "
	                            "[--expires YYYY-MM-DD] [--author A] [--revoke] [--json]";
	struct gen_args a;
	int code = parse_args(argc, argv, ARG_JSON | ARG_OVERRIDE, usage, &a);
	if (code)
		return code;
	if (!a.revoke && !a.kind) {
		cli_error("override: say --not-applicable or --accept-risk (or --revoke)");
		return EX_USAGE;
	}
	if (a.revoke && (a.kind || a.expires)) {
		cli_error("override: --revoke takes no --not-applicable, --accept-risk or "
		          "--expires");
		return EX_USAGE;
	}
	char clock[32];
	const char *now;
	if (!cli_clock(clock, &now))
		return EX_USAGE;
	const char *author = a.author ? a.author : getenv("USER");
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	int64_t pid;
	json_t *res = NULL;
	if (project_find(s, a.slug, &pid, &err) < 0)
		return fail(&err);
	int rc = a.revoke ? override_revoke(s, pid, a.id, a.reason, author, now, &res, &err)
	                  : override_add(s, pid, a.id, a.kind, a.reason, author, a.expires, now,
	                                 &res, &err);
	if (rc < 0)
		return fail(&err);
	cli_snapshot(s, a.slug, now);
	if (a.json) {
		cli_print_json(res);
	} else {
		if (a.revoke)
			printf("%s %s: override revoked\n", str(res, "target_kind"), a.id);
		else if (a.expires)
			printf("%s %s: %s until %s\n", str(res, "target_kind"), a.id, a.kind,
			       a.expires);
		else
			printf("%s %s: %s\n", str(res, "target_kind"), a.id, a.kind);
		size_t i;
		json_t *c;
		json_array_foreach (json_object_get(res, "changes"), i, c) {
			printf("  %s: %s -> %s\n", str(c, "uid"), str(c, "from"), str(c, "to"));
		}
		int ops = (int)json_integer_value(json_object_get(res, "outbox"));
		if (ops)
			printf("  %d ticket operation%s queued\n", ops, ops == 1 ? "" : "s");
	}
	json_decref(res);
	return 0;
}
