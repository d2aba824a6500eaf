/* SPDX-License-Identifier: Apache-2.0 */
/* The threatsync command: shared context and the command table. */
#ifndef TS_CLI_CLI_H
#define TS_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <sysexits.h>

#include "engine/config.h"
#include "engine/library/library.h"
#include "engine/store/store.h"

struct cli_ctx {
	const char *config_path; /* -c, or NULL for the default */
	const char *db_path;     /* --db, overrides the configuration */
	struct config *cfg;      /* loaded lazily by cli_config(); owned here */
	struct store *store;     /* opened lazily by cli_store(); owned here */
	struct library *library; /* loaded lazily by cli_library(); owned here */
	struct cli_library_job *library_job; /* cli_library_start's load, owned here */
	/* the types and mappings only (LIBRARY_PARTS_TYPES), loaded by
	 * cli_typeinfo() when library is not loaded; owned here */
	struct library *type_library;
};

/* A command: words ("db migrate") and a handler taking the arguments after the
 * words (argv[0] is the last word). Handlers return a sysexits code. */
struct cli_command {
	const char *words;   /* "db migrate" */
	const char *usage;   /* arguments after the words, for --help */
	const char *summary; /* one line */
	const char *help;    /* longer text for `threatsync WORDS --help`, may be NULL */
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	const char *unavailable; /* non-NULL: not in this version; what is missing */
};

/* The configuration: -c FILE, else $THREATSYNC_CONFIG, else the installed
 * default when it exists, else built-in defaults. Prints the error and returns
 * NULL when the file is invalid (the caller exits EX_CONFIG). */
struct config *cli_config(struct cli_ctx *ctx);

/* cli_config with every secret file read (config_load_secrets), for the
 * commands that reach a tracker and for `config check`; the other commands
 * never read the secret files. Prints every problem and returns NULL. */
struct config *cli_config_secrets(struct cli_ctx *ctx);

/* The store, migrated (flags: STORE_MIGRATE unless read_only). Prints the error
 * and returns NULL; *ret_code receives the exit code then. */
struct store *cli_store(struct cli_ctx *ctx, bool read_only, int *ret_code);

/* The threat library of the configuration's library_paths (later ones overlay
 * earlier ones), loaded once. Prints the error and returns NULL; *ret_code
 * receives the exit code then. Borrowed: freed when the command ends. */
struct library *cli_library(struct cli_ctx *ctx, int *ret_code);

/* Keeps arg, a large tree a command no longer needs (a model, a library, a
 * generation's working set), until the process ends, which returns its
 * memory at once instead of freeing it node by node: a static table holds
 * it, so it stays reachable and leak checkers do not count it. release(arg)
 * frees it at once when the table is full. */
void cli_keep_until_exit(void (*release)(void *), void *arg);
/* cli_keep_until_exit of a JSON value (json_decref); NULL is a no-op. */
void cli_keep_json_until_exit(json_t *v);

/* library_load_parts over the configuration's library_paths. */
int cli_library_load(const struct config *cfg, enum library_parts parts, struct library **ret,
                     struct ts_err *err);

/* A library loaded on a thread of its own (library_load_parts with parts):
 * started, or NULL when no thread can be started (load it in place then);
 * joined once, giving the library (owned by the caller) or NULL with *err
 * set. The job is freed by the join. */
struct cli_library_job *cli_library_job_start(const struct config *cfg, enum library_parts parts);
struct library *cli_library_job_join(struct cli_library_job *job, struct ts_err *err);

/* Starts loading the library on a thread of its own, so that a command can read
 * the store meanwhile; cli_library() then waits for it and reports as it would
 * have. Does nothing when the library is loaded or loading, or the
 * configuration does not load (cli_library reports that). */
void cli_library_start(struct cli_ctx *ctx);

/* The exit code (sysexits) of an engine error code (enum ts_error in
 * engine/util.h); fallback when code is 0 or not an engine code. */
int cli_exit_code(int code, int fallback);

/* Parses "--json" and "--help"-style flags common to data commands. */
bool cli_has_flag(int argc, char **argv, const char *flag);

/* The one printer of --json documents: 2-space indent, keys sorted (one
 * order for every command, stable across versions), reals with up to 10
 * significant digits, then a newline, on stdout. */
void cli_print_json(const json_t *doc);

/* The text cli_print_json prints, as a new string (caller frees). */
char *cli_json_text(const json_t *doc);

/* The clock of a command: $THREATSYNC_NOW ("YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z") when set, so runs can be reproduced, written
 * to out and *ret pointed at it; *ret NULL (the real clock) otherwise.
 * Returns false after printing an error. */
bool cli_clock(char out[32], const char **ret);

/* Writes text to path through a temporary file beside it (PATH.tmp.PID),
 * fsynced, then renamed over path, so a failed write leaves no half file
 * behind. Returns 0, or the exit code after printing the error. */
int cli_write_atomic(const char *path, const char *text);

/* Takes the metrics snapshot of project slug (NULL: of every project) after
 * a command changed its state (engine/report/metrics.h: coalesced to one row
 * a minute). now as cli_clock gives it. A failure is printed as a warning:
 * the change itself stands. */
void cli_snapshot(struct store *s, const char *slug, const char *now);

/* Prints an error line "threatsync: MESSAGE" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Command handlers, one file each group (cli/cmd_*.c). */
int cmd_db_migrate(struct cli_ctx *ctx, int argc, char **argv);
int cmd_backup(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config_options(struct cli_ctx *ctx, int argc, char **argv);
int cmd_project_add(struct cli_ctx *ctx, int argc, char **argv);
int cmd_project_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_model_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_model_diff(struct cli_ctx *ctx, int argc, char **argv);
int cmd_generate(struct cli_ctx *ctx, int argc, char **argv);
int cmd_threats(struct cli_ctx *ctx, int argc, char **argv);
int cmd_countermeasures(struct cli_ctx *ctx, int argc, char **argv);
int cmd_classify(struct cli_ctx *ctx, int argc, char **argv);
int cmd_override(struct cli_ctx *ctx, int argc, char **argv);
int cmd_model_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_library_lint(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sync(struct cli_ctx *ctx, int argc, char **argv);   /* cli/cmd_sync.c */
int cmd_status(struct cli_ctx *ctx, int argc, char **argv); /* cli/cmd_sync.c */
int cmd_link(struct cli_ctx *ctx, int argc, char **argv);   /* cli/cmd_link.c */
int cmd_outbox_retry(struct cli_ctx *ctx, int argc, char **argv); /* cli/cmd_outbox.c */
int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv);       /* cli/cmd_findings.c */
int cmd_findings(struct cli_ctx *ctx, int argc, char **argv);     /* cli/cmd_findings.c */
int cmd_check(struct cli_ctx *ctx, int argc, char **argv);        /* cli/cmd_check.c */
int cmd_compliance(struct cli_ctx *ctx, int argc, char **argv);   /* cli/cmd_check.c */
int cmd_report(struct cli_ctx *ctx, int argc, char **argv);       /* cli/cmd_report.c */
int cmd_release(struct cli_ctx *ctx, int argc, char **argv);      /* cli/cmd_report.c */

/* Library directories for a command (cli/cmd_library.c): args when n_args > 0,
 * else the configuration's library_paths. New array of borrowed strings (free
 * it); NULL after printing the error, with *ret_code set. */
const char **cli_library_dirs(struct cli_ctx *ctx, const char **args, size_t n_args,
			      size_t *ret_n, int *ret_code);

/* Component type information for model imports (cli/typeinfo.c), answered by
 * the library of cli_library() when it is loaded, else by its types and
 * mappings alone (loaded once into ctx->type_library): an import reads
 * nothing else of the library. Returns 0 or the exit code (the error printed).
 * ret stays valid while ctx lives; cli_typeinfo_free is a no-op kept for
 * symmetry. */
struct model_typeinfo;
int cli_typeinfo(struct cli_ctx *ctx, struct model_typeinfo *ret);
void cli_typeinfo_free(struct model_typeinfo *ti);
/* The same for one model read: the types and mappings are loaded on a thread
 * of their own while the caller reads the file, and ret's callbacks wait for
 * them when first asked (from the calling thread only). Returns 0 or the
 * configuration's exit code. cli_typeinfo_finish waits for the load and
 * returns 0, or the library's exit code with its error printed: then what
 * the callbacks answered is void (they answered nothing). */
int cli_typeinfo_start(struct cli_ctx *ctx, struct model_typeinfo *ret);
int cli_typeinfo_finish(struct cli_ctx *ctx, struct model_typeinfo *ti);

#endif
