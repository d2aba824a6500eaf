/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration: loaded from a libconfig file into a new struct, validated
 * whole, then swapped in by the caller. A bad file never half-applies. */
#ifndef TS_ENGINE_CONFIG_H
#define TS_ENGINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/util.h"

enum config_connector_type { CONFIG_CONNECTOR_JIRA, CONFIG_CONNECTOR_GITLAB };
enum config_jira_flavor { CONFIG_JIRA_CLOUD, CONFIG_JIRA_DATACENTER };

/* A secret read from a *_file key. Never logged, never stored in the database. */
struct config_secret {
	char *path;  /* resolved path the secret was read from */
	char *value; /* contents, trailing newline stripped; NULL when not configured */
};

struct config_connector {
	char *name; /* unique, [a-z0-9-]+ */
	enum config_connector_type type;
	enum config_jira_flavor flavor; /* Jira only */
	char *base_url;                 /* http(s)://host[:port][/prefix] */
	char *email;                    /* Jira Cloud basic auth user */
	struct config_secret token;     /* API token / PAT / GitLab private token */
	struct config_secret webhook_secret;
	char *ca_bundle; /* NULL: the system default */
	char *proxy;     /* NULL: the standard environment variables */
	int concurrency;        /* requests in flight at once, 1..64 */
	double rate_per_second; /* token bucket refill, > 0 */
	int burst;              /* token bucket size, >= 1 */
	int max_attempts;       /* after that an outbox row is dead, 1..100 */
	int connect_timeout_ms;
	int request_timeout_ms;
	int poll_interval_s; /* 0 disables polling */
	int reconcile_interval_s; /* 0 disables the periodic reconciliation */
	char *issue_type;        /* Jira issue type name, default "Task" */
	char **labels;           /* extra labels, NULL-terminated array */
	char *done_status;       /* status name to transition to when closing */
	char *reopen_status;     /* status name to transition to when reopening */
};

struct config_project {
	char *slug;
	char *name;
	char *connector;     /* name of a connector, or NULL: not synced */
	char *tracker_project; /* Jira project key or GitLab project path/id */
	char **labels;       /* NULL-terminated */
};

struct config_rule {
	char *name;
	char *when;       /* expression over the model (engine/expr) */
	char *risk_class; /* critical | high | medium | low */
	int line;         /* config line, for messages */
};

struct config_policy {
	char *risk_class;     /* critical | high | medium | low */
	char *min_severity;   /* critical | high | medium | low */
	int max_priority;     /* 1..4: countermeasures with priority <= this are in scope */
	char **frameworks;    /* NULL-terminated */
	int sla_days[4];      /* due date per priority 1..4, days; 0: no due date */
};

struct config {
	char *path;          /* the file this was loaded from */
	char *database;      /* SQLite path */
	char **library_paths; /* NULL-terminated; later entries overlay earlier ones */
	int log_level;       /* enum log_level */
	char *http_listen;   /* "127.0.0.1:8750", NULL: HTTP endpoint disabled */
	struct config_secret api_tokens; /* one bearer token per line */
	size_t http_max_body;
	int shutdown_timeout_ms;

	struct config_connector *connectors;
	size_t n_connectors;
	struct config_project *projects;
	size_t n_projects;
	struct config_rule *rules;
	size_t n_rules;
	struct config_policy *policies;
	size_t n_policies;
};

/* Loads and validates path. On success *ret_cfg is a new config (caller frees
 * with config_free). On failure returns a negative errno-style code and err
 * holds every problem found, one per line, each "FILE:LINE: message", with
 * err->code = EX_CONFIG (or EX_NOINPUT when the file cannot be read).
 * Secret values never appear in err. */
int config_load(const char *path, struct config **ret_cfg, struct ts_err *err);

/* A configuration with every default and no file: used when -c is not given and
 * the default file does not exist. */
struct config *config_new_default(void);

void config_free(struct config *cfg); /* NULL is a no-op */

const struct config_connector *config_find_connector(const struct config *cfg,
						     const char *name);
const struct config_project *config_find_project(const struct config *cfg, const char *slug);
const struct config_policy *config_find_policy(const struct config *cfg, const char *risk_class);

#endif
