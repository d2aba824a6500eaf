/* SPDX-License-Identifier: Apache-2.0 */
/* Entry point of the threatsync command: global options and the command table. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/library/library.h"
#include "engine/log.h"
#include "engine/report/metrics.h"
#include "engine/tracking/override.h"

static const struct cli_command commands[] = {
	{"db migrate", "", "apply pending schema migrations", NULL, cmd_db_migrate, NULL},
	{"backup", "FILE", "copy the database to FILE (safe while the daemon runs)", NULL,
	 cmd_backup, NULL},
	{"config check", "", "validate the configuration file", NULL, cmd_config_check, NULL},
	{"config options", "[--json]", "list every configuration option",
	 "The option table the configuration is checked against: section, key, type, bounds,\n"
	 "default, whether a reload may change it and whether it is secret, with its\n"
	 "description. docs/configuration.md and threatsync.conf(5) are written from it.",
	 cmd_config_options, NULL},
	{"project add", "SLUG [--name N] [--description D]", "create a project", NULL,
	 cmd_project_add, NULL},
	{"project list", "[--json]", "list projects", NULL, cmd_project_list, NULL},
	{"model init", "SLUG --profile FILE [--out FILE] [--force] [--library DIR]",
	 "expand a profile into a starting model and import it as version 1",
	 "Writes the model to FILE (default SLUG.model.json) and creates the project when it\n"
	 "does not exist. The profile format is schema/profile.schema.json.",
	 cmd_model_init, NULL},
	{"model import", "SLUG FILE [--format auto|native|otm|threatdragon] [--strict] [--json]",
	 "import a system model as a new version",
	 "The format is detected unless --format names it (docs/models.md). Problems the\n"
	 "importer works around are printed as warnings naming the file and JSON path: an\n"
	 "OTM type or Threat Dragon element with no library mapping gets generic_process,\n"
	 "generic_store or generic_actor. --strict turns every warning into an error\n"
	 "(exit 65, nothing stored).",
	 cmd_model_import, NULL},
	{"model diff", "SLUG [V1 V2] [--json]", "compare two model versions", NULL, cmd_model_diff,
	 NULL},
	{"classify", "SLUG [--json]", "classify the latest model into a risk class", NULL,
	 cmd_classify, NULL},
	{"status", "[SLUG] [--json]", "tasks, tickets and outbox state",
	 "Tasks in scope by status, tickets linked, outbox rows by state (dead and failing\n"
	 "rows with the tracker's own error), the last poll of each connector, and the\n"
	 "connectors and tracker projects paused after a refusal, with the tracker's words.",
	 cmd_status, NULL},
	{"generate", "SLUG [--json] [--dry-run] [--full]", "generate threats and countermeasures",
	 "Regenerates only the components a model change affects when nothing else\n"
	 "changed since the last run; --full regenerates every component.\n"
	 "Set THREATSYNC_NOW=YYYY-MM-DD[THH:MM:SS[.mmm]Z] to fix the clock (due dates,\n"
	 "expiry of risk acceptances, timestamps): docs/generation.md.",
	 cmd_generate, NULL},
	{"threats", "SLUG [--json] [--all]", "list threats (--all: also out of scope and removed)",
	 NULL, cmd_threats, NULL},
	{"countermeasures", "SLUG [--json] [--all] [--status S]",
	 "list countermeasures (tasks); --all: also out of scope and removed", NULL,
	 cmd_countermeasures, NULL},
	{"ingest",
	 "SLUG FILE... [--format auto|sarif|zap|gitlab|semgrep] [--scope S] [--tool-version V]"
	 " [--json]",
	 "ingest scanner reports: findings, correlation with threats, verification of tasks",
	 "Each FILE is stored in one transaction (one scan per tool it holds) or not at all;\n"
	 "the identical file ingested again for the same project and scope changes nothing.\n"
	 "--scope names what the scan covered (a branch, a path, a target URL): findings are\n"
	 "fixed only by a later complete scan of the same tool and scope. A done task whose\n"
	 "weakness a scanner still finds goes back to todo and its ticket is reopened\n"
	 "(project option reopen_on_failed_verification): docs/findings.md.",
	 cmd_ingest, NULL},
	{"findings",
	 "SLUG [--status open|fixed|suppressed] [--tool T] [--unmapped] [--json]"
	 " | SLUG --suppress ID --reason R [--expires YYYY-MM-DD] [--author A]"
	 " | SLUG --unsuppress ID [--author A]",
	 "list findings, or suppress one",
	 "A person's suppression holds until its expiry date (the first ingest or listing on\n"
	 "or after that day ends it) or --unsuppress. Findings no component's code.paths or\n"
	 "code.urls claims are listed as unmapped.",
	 cmd_findings, NULL},
	{"override",
	 "SLUG ID --not-applicable|--accept-risk --reason R [--expires YYYY-MM-DD] [--author A]"
	 " [--revoke] [--json]",
	 "record a human decision on a threat or countermeasure",
	 "ID is a threat or countermeasure id (threatsync threats|countermeasures SLUG --all).\n"
	 "--accept-risk needs --expires, a date after today and at most 366 days ahead.\n"
	 "--revoke withdraws the override in force and returns the tasks to todo.",
	 cmd_override, NULL},
	{"report",
	 "SLUG --format json|md|html|csv [--out FILE] | --portfolio [--format F] [--out FILE]",
	 "write a project's report, or the portfolio of all projects",
	 "The report holds the classification, the model, open threats, tasks with their\n"
	 "tickets, verification, findings, overrides, compliance coverage, metrics, releases\n"
	 "and the trend of the metrics snapshots (docs/reports.md). CSV has one row per task;\n"
	 "--portfolio one row per project (Markdown by default). --out FILE is written\n"
	 "beside and renamed. THREATSYNC_NOW fixes the clock. Exit 66 for an unknown project.",
	 cmd_report, NULL},
	{"compliance", "SLUG [--framework F] [--json]",
	 "compliance coverage per framework and control",
	 "Controls come from the compliance mappings of the library's countermeasures; the\n"
	 "frameworks reported are those the risk policy and the model's project.compliance\n"
	 "require (all mapped ones when none is), or F. A control is covered when every\n"
	 "in-scope task mapped to it is done, satisfied or not applicable and none failed\n"
	 "verification; partly when some are. Exit 66 for an unknown project or a\n"
	 "framework no task maps: docs/gate.md.",
	 cmd_compliance, NULL},
	{"check", "SLUG [--model FILE [--format auto|native|otm|threatdragon]] [--json]",
	 "CI gate: exit 0 pass, 1 fail",
	 "Fails on what the gate group of the configuration asks: a task of high priority\n"
	 "whose verification failed, a critical or high threat of a tracked project with an\n"
	 "open task without a ticket, an open task past its due date. --model FILE reads a\n"
	 "candidate model (any format the importer reads) and prints, without storing it,\n"
	 "the components and flows it adds and removes, the threats and tasks that would\n"
	 "appear and disappear, and fails on a new threat that would have no task. One\n"
	 "line per reason (at most 20, then \"and N more\"); exit 0 pass, 1 fail, 65 for a\n"
	 "bad model file, 66 for an unknown project: docs/gate.md.",
	 cmd_check, NULL},
	{"sync", "--once [--connector NAME] [--reconcile [--recreate]] [--json]",
	 "run one push and poll pass",
	 "Drains the outbox (exactly one ticket per task: an operation whose outcome is\n"
	 "unknown is resolved by its marker first), then polls each tracker project for\n"
	 "changed tickets. --reconcile reads every linked ticket instead of polling and\n"
	 "repairs drift, the most recent change winning (docs/reconciliation.md);\n"
	 "--recreate also queues new tickets for those the tracker lost (404).\n"
	 "A connector whose credentials or access the tracker refused (401, 403) is\n"
	 "paused, and so is a tracker project that does not exist or is not visible: no\n"
	 "attempt is counted and the operations wait; each pass sends it one probe (this\n"
	 "command probes at once), and the queue resumes when the probe succeeds.\n"
	 "Exit 0 when the pass completed (failed operations are rescheduled: see the\n"
	 "counts and `threatsync status`), 77 when a connector is paused for its\n"
	 "credentials or access, 69 when a tracker project is paused, a connector could not\n"
	 "be opened or no request to it got an answer, 75 when the daemon or another sync\n"
	 "holds the lock.",
	 cmd_sync, NULL},
	{"outbox retry", "[SLUG] [--dead] [--json]", "re-queue failed and dead ticket operations",
	 "Makes the failed operations of SLUG's project (default: every project) due now,\n"
	 "their attempts kept; --dead also puts the dead ones back in the queue with their\n"
	 "attempts reset to 0. For use once the cause is fixed (a token, a permission, a\n"
	 "workflow); the daemon or the next `sync --once` sends them. Exit 66 for an\n"
	 "unknown project.",
	 cmd_outbox_retry, NULL},
	{"link", "SLUG TASK KEY [--connector NAME] [--json]", "adopt an existing ticket for a task",
	 "Reads KEY from the project's tracker, links it to the task (TASK is an id from\n"
	 "`threatsync countermeasures SLUG --all`; a bare GitLab issue number is taken in the\n"
	 "project's tracker_project), cancels the task's queued create, and queues an update\n"
	 "so the next sync puts the marker label on it. Exit 65 for an unknown task, a ticket\n"
	 "the tracker does not have or one linked to another task, 78 when the project has\n"
	 "no connector, 69 when the tracker is unreachable.",
	 cmd_link, NULL},
	{"library lint", "[DIR...] [--json] [--catalogs DIR]", "check the threat library",
	 "Without DIR, lints the configured library_paths (later ones overlay earlier ones).\n"
	 "--catalogs (or $TS_CATALOGS_DIR) checks NIST SP 800-53 and ASVS ids against the\n"
	 "catalog files. Exit 0 when there is no error, 65 otherwise.",
	 cmd_library_lint, NULL},
	{"release", "SLUG NAME [--json]", "record a release snapshot",
	 "Records the metrics, the model version and the threats addressed (every task\n"
	 "complete) under NAME (1 to 100 bytes, no control characters), and prints the\n"
	 "threats addressed since the previous release. Exit 65 when the project has a\n"
	 "release of that name (nothing recorded), 66 for an unknown project.",
	 cmd_release, NULL},
};

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("threatsync: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], flag) == 0)
			return true;
	}
	return false;
}

/* The configuration file in use, or NULL for the built-in defaults. */
static const char *config_path(const struct cli_ctx *ctx)
{
	const char *path = ctx->config_path;
	if (!path)
		path = getenv("THREATSYNC_CONFIG");
	if (!path && access(TS_DEFAULT_CONFIG, F_OK) == 0)
		path = TS_DEFAULT_CONFIG;
	return path;
}

struct config *cli_config(struct cli_ctx *ctx)
{
	if (ctx->cfg)
		return ctx->cfg;
	const char *path = config_path(ctx);
	if (!path) {
		ctx->cfg = config_new_default();
		return ctx->cfg;
	}
	struct ts_err err = {0};
	if (config_load(path, &ctx->cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return ctx->cfg;
}

struct config *cli_config_secrets(struct cli_ctx *ctx)
{
	struct ts_err err = {0};
	const char *path = config_path(ctx);
	if (!ctx->cfg && path) {
		/* One load, so a bad key and an unreadable secret are reported together. */
		if (config_load_with_secrets(path, &ctx->cfg, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return NULL;
		}
		return ctx->cfg;
	}
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return NULL;
	if (config_load_secrets(cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return cfg;
}

struct store *cli_store(struct cli_ctx *ctx, bool read_only, int *ret_code)
{
	if (ctx->store)
		return ctx->store;
	const char *path = ctx->db_path;
	if (!path) {
		struct config *cfg = cli_config(ctx);
		if (!cfg) {
			*ret_code = EX_CONFIG;
			return NULL;
		}
		path = cfg->database;
	}
	struct ts_err err = {0};
	int flags = read_only ? STORE_READONLY | STORE_NO_CREATE : STORE_MIGRATE;
	if (store_open(path, flags, &ctx->store, &err) < 0) {
		cli_error("%s", err.msg);
		*ret_code = cli_exit_code(err.code, EX_SOFTWARE);
		return NULL;
	}
	return ctx->store;
}

/* What commands leave to the end of the process (cli_keep_until_exit). */
static struct kept {
	void (*release)(void *);
	void *arg;
} kept[8];
static size_t n_kept;

void cli_keep_until_exit(void (*release)(void *), void *arg)
{
	if (n_kept < sizeof(kept) / sizeof(kept[0])) {
		kept[n_kept].release = release;
		kept[n_kept].arg = arg;
		n_kept++;
		return;
	}
	release(arg);
}

static void json_release(void *v)
{
	json_decref(v);
}

void cli_keep_json_until_exit(json_t *v)
{
	if (v)
		cli_keep_until_exit(json_release, v);
}

struct cli_library_job {
	pthread_t thread;
	const struct config *cfg; /* borrowed */
	enum library_parts parts;
	struct library *lib; /* owned until taken */
	struct ts_err err;
	int rc;
};

int cli_library_load(const struct config *cfg, enum library_parts parts, struct library **ret,
                     struct ts_err *err)
{
	size_t n = 0;
	while (cfg->library_paths[n])
		n++;
	return library_load_parts((const char *const *)cfg->library_paths, n, parts, ret, err);
}

static void *library_job_run(void *arg)
{
	struct cli_library_job *job = arg;
	job->rc = cli_library_load(job->cfg, job->parts, &job->lib, &job->err);
	return NULL;
}

struct cli_library_job *cli_library_job_start(const struct config *cfg, enum library_parts parts)
{
	struct cli_library_job *job = ts_calloc(1, sizeof(*job));
	job->cfg = cfg;
	job->parts = parts;
	/* Jansson seeds its hash function on first use: do it here, not in two
	 * threads at once. */
	json_object_seed(0);
	if (pthread_create(&job->thread, NULL, library_job_run, job) != 0) {
		free(job);
		return NULL;
	}
	return job;
}

struct library *cli_library_job_join(struct cli_library_job *job, struct ts_err *err)
{
	pthread_join(job->thread, NULL);
	struct library *lib = job->lib;
	if (job->rc < 0)
		*err = job->err;
	free(job);
	return lib;
}

void cli_library_start(struct cli_ctx *ctx)
{
	if (ctx->library || ctx->library_job)
		return;
	struct config *cfg = cli_config(ctx);
	if (cfg)
		ctx->library_job = cli_library_job_start(cfg, LIBRARY_PARTS_ALL);
}

/* Waits for cli_library_start's load: the library (also in ctx->library), or
 * NULL with *err set. */
static struct library *library_job_wait(struct cli_ctx *ctx, struct ts_err *err)
{
	ctx->library = cli_library_job_join(ctx->library_job, err);
	ctx->library_job = NULL;
	return ctx->library;
}

struct library *cli_library(struct cli_ctx *ctx, int *ret_code)
{
	struct ts_err err = {0};
	if (ctx->library_job) {
		if (!library_job_wait(ctx, &err))
			goto fail;
		return ctx->library;
	}
	if (ctx->library)
		return ctx->library;
	struct config *cfg = cli_config(ctx);
	if (!cfg) {
		*ret_code = EX_CONFIG;
		return NULL;
	}
	if (cli_library_load(cfg, LIBRARY_PARTS_ALL, &ctx->library, &err) < 0)
		goto fail;
	return ctx->library;
fail:
	fprintf(stderr, "%s\n", err.msg);
	*ret_code = cli_exit_code(err.code, EX_DATAERR);
	return NULL;
}

/* The clock of a command: $THREATSYNC_NOW ("YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z") when set, so runs can be reproduced; NULL (the
 * real clock) otherwise. Returns false after printing an error. */
bool cli_clock(char out[32], const char **ret)
{
	*ret = NULL;
	const char *v = getenv("THREATSYNC_NOW");
	if (!v || !*v)
		return true;
	size_t n = strlen(v);
	char date[11];
	snprintf(date, sizeof(date), "%.10s", v);
	bool ok = override_date_valid(date);
	if (ok && n == 10) {
		snprintf(out, 32, "%sT00:00:00.000Z", date);
	} else if (ok && (n == 20 || n == 24) && v[10] == 'T' && v[n - 1] == 'Z') {
		int h, m, s, ms = 0;
		char tail[8] = "";
		int got = n == 20 ? sscanf(v + 11, "%2d:%2d:%2d%1s", &h, &m, &s, tail)
		                  : sscanf(v + 11, "%2d:%2d:%2d.%3d%1s", &h, &m, &s, &ms, tail);
		ok = got == (n == 20 ? 4 : 5) && h < 24 && m < 60 && s < 60 && ms >= 0 &&
		     isdigit((unsigned char)v[11]) && strcmp(tail, "Z") == 0;
		if (ok)
			snprintf(out, 32, "%sT%02d:%02d:%02d.%03dZ", date, h, m, s, ms);
	} else {
		ok = false;
	}
	if (!ok) {
		cli_error("THREATSYNC_NOW='%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z", v);
		return false;
	}
	*ret = out;
	return true;
}

/* The one writer of output files: beside, then renamed. */
int cli_write_atomic(const char *path, const char *text)
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

void cli_snapshot(struct store *s, const char *slug, const char *now)
{
	struct ts_err err = {0};
	int rc = slug ? metrics_snapshot_slug(s, slug, now, &err)
	              : metrics_snapshot_all(s, now, NULL, &err);
	if (rc < 0)
		cli_error("warning: metrics snapshot: %s", err.msg);
}

char *cli_json_text(const json_t *doc)
{
	char *out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	char *text = ts_asprintf("%s\n", out ? out : "null");
	free(out);
	return text;
}

void cli_print_json(const json_t *doc)
{
	char *out = cli_json_text(doc);
	fputs(out, stdout);
	free(out);
}

static void usage(FILE *f)
{
	fputs("usage: threatsync [-c CONFIG] [--db PATH] COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < TS_ARRAY_SIZE(commands); i++) {
		const struct cli_command *c = &commands[i];
		fprintf(f, "  %s %s\n      %s%s\n", c->words, c->usage, c->summary,
			c->unavailable ? " (not available)" : "");
	}
	fputs("\nglobal options:\n"
	      "  -c, --config FILE  configuration (default $THREATSYNC_CONFIG, then " TS_DEFAULT_CONFIG
	      ")\n"
	      "      --db PATH      database, overriding the configuration\n"
	      "  -h, --help         this text; COMMAND --help for one command\n"
	      "      --version      print the version\n",
	      f);
}

/* Number of words of c matched by argv, or 0. */
static int match_words(const struct cli_command *c, int argc, char **argv)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", c->words);
	int n = 0;
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n >= argc || strcmp(argv[n], w) != 0)
			return 0;
		n++;
	}
	return n;
}

static void command_help(const struct cli_command *c)
{
	printf("usage: threatsync [-c CONFIG] [--db PATH] %s %s\n\n%s\n", c->words, c->usage,
	       c->summary);
	if (c->help)
		printf("\n%s\n", c->help);
	if (c->unavailable)
		printf("\nNot available in this version (%s).\n", c->unavailable);
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = {0};
	int i = 1;
	log_set_prefix_style(false);
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
			ctx.config_path = argv[++i];
		} else if (strcmp(a, "--db") == 0 && i + 1 < argc) {
			ctx.db_path = argv[++i];
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("threatsync %s\n", TS_VERSION);
			return 0;
		} else {
			cli_error("unknown or incomplete option '%s'", a);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	const struct cli_command *cmd = NULL;
	int nwords = 0;
	for (size_t k = 0; k < TS_ARRAY_SIZE(commands) && !cmd; k++) {
		nwords = match_words(&commands[k], argc - i, argv + i);
		if (nwords)
			cmd = &commands[k];
	}
	if (!cmd) {
		cli_error("unknown command '%s' (threatsync --help lists them)", argv[i]);
		return EX_USAGE;
	}
	int sub_argc = argc - i - nwords + 1;
	char **sub_argv = argv + i + nwords - 1;
	if (cli_has_flag(sub_argc, sub_argv, "--help") || cli_has_flag(sub_argc, sub_argv, "-h")) {
		command_help(cmd);
		return 0;
	}
	if (cmd->unavailable || !cmd->run) {
		cli_error("'%s' is not available in this version (%s)", cmd->words,
			  cmd->unavailable ? cmd->unavailable : "no handler");
		return EX_UNAVAILABLE;
	}
	int rc = cmd->run(&ctx, sub_argc, sub_argv);
	if (ctx.library_job) {
		struct ts_err err = {0};
		library_job_wait(&ctx, &err);
	}
	store_close(ctx.store);
	library_free(ctx.library);
	library_free(ctx.type_library);
	config_free(ctx.cfg);
	return rc;
}
