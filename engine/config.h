/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration: loaded from a libconfig file into a new struct, validated
 * whole, then swapped in by the caller. A bad file never half-applies. */
#ifndef TS_ENGINE_CONFIG_H
#define TS_ENGINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/util.h"

enum config_connector_type { CONFIG_CONNECTOR_JIRA, CONFIG_CONNECTOR_GITLAB };
struct fieldmap;
struct api_tokens;
enum config_jira_flavor { CONFIG_JIRA_CLOUD, CONFIG_JIRA_DATACENTER };

/* Largest configuration file and largest secret file accepted, in bytes. */
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_SECRET_MAX (64 * 1024)

/* A secret named by a *_file key. Never logged, never stored in the database.
 * A relative path resolves against $CREDENTIALS_DIRECTORY when set (systemd
 * LoadCredential=), else against the configuration file's directory.
 *
 * config_load only records where the secret is; its value is read by
 * config_load_secrets (the daemon, a sync pass, `config check`), so commands
 * that never talk to a tracker work without access to the secret files. */
struct config_secret {
	char *path;  /* resolved path of the secret file; NULL when not configured */
	char *value; /* contents, trailing newlines stripped, never empty; NULL when not
	              * configured or not read yet. Wiped by config_free. */
	char *file;  /* configuration file naming it, for messages; NULL when not configured */
	char *key;   /* "connector 'jira': token_file", for messages */
	int line;    /* line of the key in file */
	bool hidden; /* the configured name looks like a secret itself: never shown */
};

struct config_connector {
	char *name; /* unique, [a-z0-9-]{1,64} */
	int line;   /* config line of the connector's group, for messages */
	enum config_connector_type type;
	enum config_jira_flavor flavor;      /* Jira only */
	char *base_url;                      /* http(s)://host[:port][/prefix], no trailing '/' */
	char *email;                         /* Jira basic auth user: required for Cloud, else NULL
	                                      * unless configured */
	struct config_secret token;          /* API token / PAT / GitLab private token */
	struct config_secret webhook_secret; /* value NULL: webhooks not accepted */
	char *ca_bundle;                     /* absolute path; NULL: the system default */
	char *proxy;                         /* NULL: the standard environment variables */
	int concurrency;                     /* requests in flight at once, 1..64 */
	double rate_per_second;              /* token bucket refill, 0.1..1000 */
	int burst;                           /* token bucket size, 1..1000 */
	int max_attempts;                    /* after that an outbox row is dead, 1..100 */
	int connect_timeout_ms;              /* 100..600000 */
	int request_timeout_ms;              /* 100..600000, >= connect_timeout_ms */
	int poll_interval_s;                 /* 0 disables polling, else 5..86400 */
	int reconcile_interval_s; /* 0 disables the periodic reconciliation, else 60..604800 */
	int pause_probe_interval_s; /* while paused by a permanent refusal, one probe per
	                             * this many seconds, 1..86400 (docs/sync.md) */
	char *issue_type;         /* Jira issue type name, default "Task"; NULL for GitLab */
	char **labels;            /* extra labels, NULL-terminated array, never NULL */
	char *done_status;        /* Jira status to transition to when closing ("Done");
	                           * NULL for GitLab (issues are closed) */
	char *reopen_status;      /* Jira status to transition to when reopening ("To Do");
	                           * NULL for GitLab (issues are reopened) */
	/* priority_map, custom_fields, transition_fields and status_map
	 * (engine/tracking/fieldmap.h, docs/field-mapping.md); NULL when none is set.
	 * Owned, freed by config_free. */
	struct fieldmap *fieldmap;
};

struct config_project {
	char *slug;            /* unique, [a-z0-9-]{1,64} */
	int line;              /* config line of the project's group */
	char *name;            /* display name, defaults to the slug */
	char *connector;       /* name of a defined connector, or NULL: not synced */
	char *tracker_project; /* Jira project key or GitLab project path/id; set iff connector */
	char **labels;         /* NULL-terminated, never NULL */
	char *group_by;        /* "countermeasure" (one ticket per task, the default) |
	                        * "component" | "threat": docs/grouping.md */
	/* Scanner findings (docs/findings.md): a done task whose weakness a scan
	 * still finds goes back to todo and its ticket is reopened (default on). */
	bool reopen_on_failed_verification;
	/* Wording of the tracker notices, templates with {{tool}} {{rule}}
	 * {{cwe}} {{location}} {{first_seen}} {{date}} {{severity}} {{message}}
	 * {{task}} (engine/findings/notice.h); NULL: the built-in text. */
	char *verification_failed_comment; /* the reason given with the reopen */
	char *verification_passed_comment; /* "Verified by {{tool}} on {{date}} ..." */
	char *finding_comment;             /* a finding on a task not done */
};

struct config_rule {
	char *name;
	char *when;       /* expression over the model (engine/expr) */
	char *risk_class; /* critical | high | medium | low */
	int line;         /* config line, for messages */
};

struct config_policy {
	char *risk_class;   /* critical | high | medium | low */
	int line;           /* config line of the policy's group; 0 for a default */
	char *min_severity; /* critical | high | medium | low */
	int max_priority;   /* 1..4: countermeasures with priority <= this are in scope */
	char **frameworks;  /* NULL-terminated, never NULL */
	int sla_days[4];    /* due date per priority 1..4, days; 0: no due date */
};

/* The CI gate of `threatsync check` (docs/gate.md): which conditions fail it. */
struct config_gate {
	int line;                /* config line of the gate group; 0 for the defaults */
	int max_priority_failed; /* a task of priority <= this whose verification failed
	                          * fails the gate, 1..4; 0 disables the rule */
	char **fail_on_untracked; /* severities (critical|high|medium|low) of in-scope
	                           * threats whose open tasks must have a ticket when the
	                           * project is tracked; NULL-terminated, never NULL,
	                           * empty disables the rule */
	bool fail_on_overdue;      /* an open task past its due date fails the gate */
	bool fail_on_new_untasked; /* with --model: a new threat with no task fails it */
};

struct config {
	char *path;           /* the file this was loaded from, as given; NULL for defaults */
	char *database;       /* SQLite path: absolute, or ":memory:" */
	char **library_paths; /* NULL-terminated, absolute; later entries overlay earlier ones */
	int log_level;        /* enum log_level */
	char *http_listen;    /* "127.0.0.1:8750", NULL: HTTP endpoint disabled */
	struct config_secret api_tokens; /* one bearer token per line; path NULL: API closed */
	struct api_tokens *api_token_list; /* api_tokens parsed (engine/api_tokens.h) by
	                                    * config_load_secrets; owned; NULL when no file
	                                    * is configured or the secrets are not read */
	size_t http_max_body;            /* 1024..64 MiB */
	size_t http_max_upload;          /* scan uploads and spool files: 1024..4 GiB */
	char *spool_dir;                 /* absolute; NULL: no spool directory */
	int shutdown_timeout_ms;         /* 100..60000 */

	struct config_connector *connectors;
	size_t n_connectors;
	struct config_project *projects;
	size_t n_projects;
	struct config_rule *rules;
	size_t n_rules;
	struct config_policy *policies; /* only the classes the file defines */
	size_t n_policies;
	struct config_gate gate; /* defaults: 2, ["critical", "high"], true, true */
};

/* Loads and validates path. On success returns 0 and *ret_cfg is a new config
 * (caller frees with config_free). On failure returns a negative errno-style
 * code, leaves *ret_cfg untouched, and err holds every problem found (sorted by
 * line, as many as fit), one per line, each "FILE:LINE: message" ("FILE:
 * message" when no line applies, e.g. an unreadable file), with err->code =
 * TS_E_CONFIG for every kind of problem, a missing file included. Secret values
 * never appear in err. Every relative path is resolved when loading. */
int config_load(const char *path, struct config **ret_cfg, struct ts_err *err);

/* config_load, then every secret file read (config_load_secrets) with the
 * problems of both in err, sorted by line: for the daemon and `config check`. */
int config_load_with_secrets(const char *path, struct config **ret_cfg, struct ts_err *err);

/* Reads every configured secret not read yet (tokens and webhook secrets of
 * every connector, http.api_tokens_file, whose lines are parsed into
 * api_token_list). Returns 0, or a negative errno-style code with every
 * problem in err, "FILE:LINE: KEY: cannot read the secret file PATH: why" at
 * the line of the key (err->code TS_E_CONFIG). Secret values never appear in
 * err. On failure the secrets that could be read stay read (config_free wipes
 * them); the configuration must not be used to reach a tracker. */
int config_load_secrets(struct config *cfg, struct ts_err *err);

/* A configuration with every default and no file: used when -c is not given and
 * the default file does not exist. The default library_paths (here and for a
 * file that sets none) is $THREATSYNC_LIBRARY when set, else the installed
 * library, else, for a program run from its build directory, the checkout's
 * library/. Caller frees with config_free. */
struct config *config_new_default(void);

void config_free(struct config *cfg); /* NULL is a no-op; wipes secret values */

/* Lookups by name; NULL when absent. The result is borrowed from cfg. */
const struct config_connector *config_find_connector(const struct config *cfg, const char *name);
const struct config_project *config_find_project(const struct config *cfg, const char *slug);
/* NULL when the file defines no policy for risk_class: use config_default_policy. */
const struct config_policy *config_find_policy(const struct config *cfg, const char *risk_class);

/* The built-in policy of a risk class (critical: low/4/[7,30,90,180], high:
 * medium/3/[14,45,120,0], medium: high/2/[30,90,0,0], low: critical/1/[60,0,0,0],
 * no frameworks), or NULL for an unknown class. Static storage: do not free. A
 * policy group in the file starts from these values and overrides keys. */
const struct config_policy *config_default_policy(const char *risk_class);

/* Whether name is a risk class: critical, high, medium or low. */
bool config_risk_class_valid(const char *name);

/* Compares the options that cannot change without a restart (database,
 * http.listen). Returns how many differ, and when err is not NULL lists them in
 * err->msg, one line each "FILE: KEY changed from 'OLD' to 'NEW': not
 * reloadable, keeping 'OLD' until restart" (err->code TS_E_CONFIG when > 0, else
 * err is cleared). */
int config_diff_unreloadable(const struct config *old_cfg, const struct config *new_cfg,
                             struct ts_err *err);

/* Copies the values of the non-reloadable options from old_cfg into new_cfg, so
 * a reload applies everything else and keeps those (call after
 * config_diff_unreloadable has reported them). */
void config_keep_unreloadable(struct config *new_cfg, const struct config *old_cfg);

/* The option tables as a new JSON document (caller frees with json_decref):
 * {"sections": [{"section": "" | "http" | "connectors" | ..., "options": [
 * {"name", "type", "required", "reloadable", "secret", "jira_only",
 * "zero_off", "min", "max" (numbers or null), "choices" (names or null),
 * "default" (the built-in value or null), "doc", "doc_type", "doc_default",
 * "doc_values" (strings or null)}]}]}. Built for tools/gen-config-docs.py
 * (`threatsync config options --json`), which writes docs/configuration.md
 * and threatsync.conf(5). Defaults that depend on the installation prefix are
 * given by doc_default only. */
struct json_t;
struct json_t *config_options_json(void);

#endif
