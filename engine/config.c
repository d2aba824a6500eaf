/* SPDX-License-Identifier: Apache-2.0 */
/* Loading and validation of the libconfig configuration file, driven by one option table per
 * section, reporting every problem with its file and line. */
#include "engine/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/api_tokens.h"
#include "engine/findings/notice.h"
#include "engine/log.h"
#include "engine/tracking/fieldmap.h"

/* The expression language is another module; when its header is present every
 * classification rule's `when` is parsed at load time (config_check_expression). */
#if defined(__has_include)
#if __has_include("engine/expr/expr.h")
#include "engine/expr/expr.h"
#define TS_CONFIG_HAVE_EXPR 1
#endif
#endif
#ifndef TS_CONFIG_HAVE_EXPR
#define TS_CONFIG_HAVE_EXPR 0
#endif

#define DEFAULT_DATABASE "/var/lib/threatsync/threatsync.db"
#define DEFAULT_LISTEN "127.0.0.1:8750"

_Static_assert(sizeof(enum config_connector_type) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum config_jira_flavor) == sizeof(int), "enum stored as int");

struct loader;

enum opt_type {
	OPT_STRING,      /* char *; "" is refused unless OPT_EMPTY_NULL */
	OPT_PATH,        /* char *, relative resolved against the config file's directory
	                  * (or $STATE_DIRECTORY with OPT_STATE_DIR) */
	OPT_INT,         /* int within min..max */
	OPT_BOOL,        /* bool: true or false */
	OPT_SIZE,        /* size_t within min..max */
	OPT_DOUBLE,      /* double within dmin..dmax; integers accepted */
	OPT_ENUM,        /* int: the value of one of choices */
	OPT_CHOICE,      /* char *: the name of one of choices */
	OPT_STRLIST,     /* char **, NULL-terminated, never NULL */
	OPT_PATHLIST,    /* as OPT_STRLIST, each entry resolved as OPT_PATH */
	OPT_INTS4,       /* int[4], each within min..max */
	OPT_SECRET_FILE, /* struct config_secret: the value names the file holding it */
	OPT_SECTION,     /* a nested group or list, parsed by its handler */
};

enum opt_flag {
	OPT_REQUIRED = 1 << 0,
	OPT_RELOADABLE = 1 << 1, /* a SIGHUP may change it; otherwise kept until restart */
	OPT_SECRET = 1 << 2,     /* its value is never shown (OPT_SECRET_FILE implies it) */
	OPT_JIRA_ONLY = 1 << 3,  /* refused on other connector types; default only for Jira */
	OPT_ZERO_OFF = 1 << 4,   /* 0 is accepted besides min..max and disables the feature */
	OPT_EMPTY_NULL = 1 << 5, /* "" is accepted and means unset (NULL) */
	OPT_STATE_DIR = 1 << 6,  /* relative path against $STATE_DIRECTORY when set */
	OPT_READABLE = 1 << 7,   /* the path must name a readable file */
};

struct choice {
	const char *name;
	int value;
};

struct opt {
	const char *name;
	enum opt_type type;
	unsigned flags;
	size_t offset;
	long long min, max;                      /* OPT_INT, OPT_SIZE, OPT_INTS4 */
	double dmin, dmax;                       /* OPT_DOUBLE */
	const struct choice *choices;            /* OPT_ENUM, OPT_CHOICE; ends with a NULL name */
	const char *def_str;                     /* strings; the single default entry of a list */
	long long def_int;                       /* OPT_INT, OPT_SIZE, OPT_ENUM */
	double def_double;                       /* OPT_DOUBLE */
	const char *(*check)(const char *value); /* strings: NULL or why it is refused */
	void (*section)(struct loader *l, const config_setting_t *s); /* OPT_SECTION */
	/* Documentation (docs/configuration.md and threatsync.conf(5) are
	 * generated from it by tools/gen-config-docs.py): what the option does,
	 * and text replacing the type, default or values the table implies, or
	 * added to the values, where those say too little. */
	const char *doc;
	const char *doc_type;
	const char *doc_default;
	const char *doc_values;
};

#define R OPT_RELOADABLE
/* Each macro ends with the option's documentation as designated
 * initializers: .doc = "...", and .doc_type, .doc_default, .doc_values where
 * needed. */
#define O_STR(n, st, f, fl, def, chk, ...)                                                         \
	{                                                                                          \
		.name = n, .type = OPT_STRING, .flags = fl, .offset = offsetof(st, f),             \
		.def_str = def, .check = chk, __VA_ARGS__                                          \
	}
#define O_PATH(n, st, f, fl, def, ...)                                                             \
	{                                                                                          \
		.name = n, .type = OPT_PATH, .flags = fl, .offset = offsetof(st, f),               \
		.def_str = def, __VA_ARGS__                                                        \
	}
#define O_SECRET(n, st, f, fl, ...)                                                                \
	{                                                                                          \
		.name = n, .type = OPT_SECRET_FILE, .flags = (fl) | OPT_SECRET,                    \
		.offset = offsetof(st, f), __VA_ARGS__                                             \
	}
#define O_INT(n, st, f, fl, lo, hi, def, ...)                                                      \
	{                                                                                          \
		.name = n, .type = OPT_INT, .flags = fl, .offset = offsetof(st, f), .min = lo,     \
		.max = hi, .def_int = def, __VA_ARGS__                                             \
	}
#define O_BOOL(n, st, f, fl, def, ...)                                                             \
	{                                                                                          \
		.name = n, .type = OPT_BOOL, .flags = fl, .offset = offsetof(st, f),               \
		.def_int = def, __VA_ARGS__                                                        \
	}
#define O_SIZE(n, st, f, fl, lo, hi, def, ...)                                                     \
	{                                                                                          \
		.name = n, .type = OPT_SIZE, .flags = fl, .offset = offsetof(st, f), .min = lo,    \
		.max = hi, .def_int = def, __VA_ARGS__                                             \
	}
#define O_DBL(n, st, f, fl, lo, hi, def, ...)                                                      \
	{                                                                                          \
		.name = n, .type = OPT_DOUBLE, .flags = fl, .offset = offsetof(st, f),             \
		.dmin = lo, .dmax = hi, .def_double = def, __VA_ARGS__                             \
	}
#define O_ENUM(n, st, f, fl, ch, def, ...)                                                         \
	{                                                                                          \
		.name = n, .type = OPT_ENUM, .flags = fl, .offset = offsetof(st, f),               \
		.choices = ch, .def_int = def, __VA_ARGS__                                         \
	}
#define O_CHOICE(n, st, f, fl, ch, def, ...)                                                       \
	{                                                                                          \
		.name = n, .type = OPT_CHOICE, .flags = fl, .offset = offsetof(st, f),             \
		.choices = ch, .def_str = def, __VA_ARGS__                                         \
	}
#define O_LIST(n, st, f, fl, def, chk, ...)                                                        \
	{                                                                                          \
		.name = n, .type = OPT_STRLIST, .flags = fl, .offset = offsetof(st, f),            \
		.def_str = def, .check = chk, __VA_ARGS__                                          \
	}
#define O_PATHLIST(n, st, f, fl, def, ...)                                                         \
	{                                                                                          \
		.name = n, .type = OPT_PATHLIST, .flags = fl, .offset = offsetof(st, f),           \
		.def_str = def, __VA_ARGS__                                                        \
	}
#define O_INTS4(n, st, f, fl, lo, hi, ...)                                                         \
	{                                                                                          \
		.name = n, .type = OPT_INTS4, .flags = fl, .offset = offsetof(st, f),              \
		.min = lo, .max = hi, __VA_ARGS__                                                  \
	}
#define O_SECTION(n, fl, fn, ...)                                                                  \
	{                                                                                          \
		.name = n, .type = OPT_SECTION, .flags = fl, .section = fn, __VA_ARGS__            \
	}

static const struct choice log_levels[] = {
    {"error", LOG_LEVEL_ERR}, {"warning", LOG_LEVEL_WARNING}, {"notice", LOG_LEVEL_NOTICE},
    {"info", LOG_LEVEL_INFO}, {"debug", LOG_LEVEL_DEBUG},     {NULL, 0},
};
static const struct choice connector_types[] = {
    {"jira", CONFIG_CONNECTOR_JIRA}, {"gitlab", CONFIG_CONNECTOR_GITLAB}, {NULL, 0}};
static const struct choice jira_flavors[] = {
    {"cloud", CONFIG_JIRA_CLOUD}, {"datacenter", CONFIG_JIRA_DATACENTER}, {NULL, 0}};
static const struct choice risk_classes[] = {
    {"critical", 0}, {"high", 1}, {"medium", 2}, {"low", 3}, {NULL, 0}};
/* Project group_by (docs/grouping.md). */
static const struct choice group_modes[] = {
    {"countermeasure", 0}, {"component", 1}, {"threat", 2}, {NULL, 0}};

static const char *check_listen(const char *v);
static const char *check_name(const char *v);
static const char *check_url(const char *v);
static const char *check_email(const char *v);
static const char *check_proxy(const char *v);
static const char *check_label(const char *v);
static const char *check_word(const char *v);
static const char *check_notice(const char *v);
static void section_http(struct loader *l, const config_setting_t *s);
static void section_connectors(struct loader *l, const config_setting_t *s);
static void section_projects(struct loader *l, const config_setting_t *s);
static void section_classification(struct loader *l, const config_setting_t *s);
static void section_policies(struct loader *l, const config_setting_t *s);
static void section_fieldmap(struct loader *l, const config_setting_t *s);
static void section_gate(struct loader *l, const config_setting_t *s);
static const char *check_severity(const char *v);

/* Top level. Sections are parsed in this order whatever their order in the file,
 * so projects can refer to connectors defined further down. */
static const struct opt top_opts[] = {
    O_PATH("database", struct config, database, OPT_STATE_DIR, DEFAULT_DATABASE,
           .doc = "the SQLite database; give an absolute path, since the daemon (under systemd)"
                  " and the CLI (in a shell) see different environments; `\":memory:\"` or a"
                  " `file:` URI is passed to SQLite unchanged",
           .doc_values = "see Paths"),
    O_ENUM("log_level", struct config, log_level, R, log_levels, LOG_LEVEL_INFO,
           .doc = "the least important level logged"),
    O_PATHLIST("library_paths", struct config, library_paths, R, TS_DEFAULT_DATADIR "/library",
               .doc = "the threat library directories; later directories overlay earlier ones",
               .doc_default = "`$THREATSYNC_LIBRARY` when set, else"
                              " `[ \"DATADIR/threatsync/library\" ]` of the installation"
                              " (`/usr/share/threatsync/library` from the package); a program"
                              " run from its build directory uses the checkout's `library/`"
                              " when that is not installed",
               .doc_values = "`[]` allowed"),
    O_INT("shutdown_timeout_ms", struct config, shutdown_timeout_ms, R, 100, 60000, 5000,
          .doc = "how long the daemon waits for work in flight when asked to stop"),
    O_PATH("spool_dir", struct config, spool_dir, OPT_STATE_DIR, NULL,
           .doc = "the directory scan reports are dropped into; the daemon creates `SLUG/`,"
                  " `SLUG/done/` and `SLUG/failed/` for every configured project"
                  " (docs/findings.md, \"Upload API and spool\")",
           .doc_default = "none (no spool)",
           .doc_values = "relative paths resolve like `database`"),
    O_SECTION("http", R, section_http, .doc = "the daemon's HTTP endpoint (below)",
              .doc_type = "group", .doc_default = "see below"),
    O_SECTION("connectors", R, section_connectors, .doc = "tracker connections (below)",
              .doc_type = "list of groups", .doc_default = "none"),
    O_SECTION("projects", R, section_projects, .doc = "the tracker project of each project (below)",
              .doc_type = "list of groups", .doc_default = "none"),
    O_SECTION("classification", R, section_classification,
              .doc = "rules giving a project its risk class (below)", .doc_type = "list of groups",
              .doc_default = "none"),
    O_SECTION("policies", R, section_policies, .doc = "what each risk class gets (below)",
              .doc_type = "group of groups", .doc_default = "built-in per class"),
    O_SECTION("gate", R, section_gate, .doc = "what fails the CI gate (below)",
              .doc_type = "group", .doc_default = "see below"),
    {0},
};

static const struct opt http_opts[] = {
    O_STR("listen", struct config, http_listen, OPT_EMPTY_NULL, DEFAULT_LISTEN, check_listen,
          .doc = "the address of the endpoint for webhooks, uploads, `/metrics` and `/healthz`;"
                 " `\"\"` disables the endpoint",
          .doc_values = "`HOST:PORT` (IPv4 address or host name) or `[IPV6]:PORT`, port 1..65535"),
    O_SECRET("api_tokens_file", struct config, api_tokens, R,
             .doc = "bearer tokens accepted by the API, one per line, each alone (every project)"
                    " or followed by `*` or the projects it covers (`TOKEN shop,billing`); `#`"
                    " starts a comment line; without it the API refuses every request"),
    O_SIZE("max_body_bytes", struct config, http_max_body, R, 1024, 64 * 1024 * 1024, 1024 * 1024,
           .doc = "the largest request body (webhooks, API requests)"),
    O_SIZE("max_upload_bytes", struct config, http_max_upload, R, 1024, 4LL << 30, 256LL << 20,
           .doc = "the largest scan report uploaded to the API or dropped into the spool"),
    {0},
};

#define CC struct config_connector
static const struct opt connector_opts[] = {
    O_STR("name", CC, name, OPT_REQUIRED | R, NULL, check_name,
          .doc = "projects refer to it; unique", .doc_values = "1..64 of `a-z`, `0-9`, `-`"),
    O_ENUM("type", CC, type, OPT_REQUIRED | R, connector_types, CONFIG_CONNECTOR_JIRA,
           .doc = "the tracker"),
    O_ENUM("flavor", CC, flavor, OPT_JIRA_ONLY | R, jira_flavors, CONFIG_JIRA_CLOUD,
           .doc = "Jira Cloud or Jira Data Center"),
    O_STR("base_url", CC, base_url, OPT_REQUIRED | R, NULL, check_url,
          .doc = "the tracker's address; a trailing `/` is removed, a path prefix"
                 " (`https://host/jira`) is kept",
          .doc_values = "`http://` or `https://` URL, no credentials, query or fragment"),
    O_STR("email", CC, email, OPT_JIRA_ONLY | R, NULL, check_email,
          .doc = "the account of the API token; **required** for `flavor = \"cloud\"`",
          .doc_values = "an e-mail address"),
    O_SECRET("token_file", CC, token, OPT_REQUIRED | R,
             .doc = "Jira Cloud: API token; Jira Data Center: personal access token; GitLab:"
                    " access token with `api` scope"),
    O_SECRET("webhook_secret_file", CC, webhook_secret, R,
             .doc = "shared secret of the tracker's webhook; without it webhooks for this"
                    " connector are refused"),
    O_PATH("ca_bundle", CC, ca_bundle, OPT_READABLE | R, NULL,
           .doc = "PEM bundle for a private CA", .doc_default = "system default",
           .doc_values = "must be readable"),
    O_STR("proxy", CC, proxy, R, NULL, check_proxy, .doc = "the proxy of the tracker's requests",
          .doc_default = "standard proxy environment variables",
          .doc_values = "`http`, `https`, `socks4`, `socks4a`, `socks5`, `socks5h`"
                        " `://HOST[:PORT]`, no credentials"),
    O_INT("concurrency", CC, concurrency, R, 1, 64, 4, .doc = "requests in flight at once"),
    O_DBL("rate_per_second", CC, rate_per_second, R, 0.1, 100000.0, 10.0,
          .doc = "token bucket refill rate"),
    O_INT("burst", CC, burst, R, 1, 100000, 20, .doc = "token bucket size"),
    O_INT("max_attempts", CC, max_attempts, R, 1, 100, 10,
          .doc = "attempts of a ticket operation; then it is marked dead"),
    O_INT("connect_timeout_ms", CC, connect_timeout_ms, R, 100, 600000, 10000,
          .doc = "time allowed to connect to the tracker"),
    O_INT("request_timeout_ms", CC, request_timeout_ms, R, 100, 600000, 30000,
          .doc = "time allowed for a whole request; at least `connect_timeout_ms`"),
    O_INT("poll_interval_s", CC, poll_interval_s, OPT_ZERO_OFF | R, 5, 86400, 60,
          .doc = "seconds between polls of the tracker; 0: no polling (webhooks only)"),
    O_INT("reconcile_interval_s", CC, reconcile_interval_s, OPT_ZERO_OFF | R, 60, 604800, 86400,
          .doc = "seconds between reconciliations; 0: no periodic reconciliation"
                 " (docs/reconciliation.md)"),
    O_INT("pause_probe_interval_s", CC, pause_probe_interval_s, R, 1, 86400, 300,
          .doc = "while the connector (or one of its projects) is paused after a refused token"
                 " or a missing project, one probe per this many seconds; a reload probes at"
                 " once (docs/sync.md)"),
    O_STR("issue_type", CC, issue_type, OPT_JIRA_ONLY | R, "Task", NULL,
          .doc = "the issue type of the tickets created"),
    O_LIST("labels", CC, labels, R, NULL, check_label, .doc = "added to every ticket",
           .doc_values = "no `,`, at most 255 characters; for Jira no spaces"),
    O_STR("done_status", CC, done_status, OPT_JIRA_ONLY | R, "Done", NULL,
          .doc = "workflow status to close a ticket"),
    O_STR("reopen_status", CC, reopen_status, OPT_JIRA_ONLY | R, "To Do", NULL,
          .doc = "workflow status to reopen a ticket"),
    /* engine/tracking/fieldmap.c parses these four into c->fieldmap. */
    O_SECTION("priority_map", OPT_JIRA_ONLY | R, section_fieldmap,
              .doc = "priority names for 1..4 (docs/field-mapping.md)",
              .doc_type = "list of 4 strings",
              .doc_default = "`[\"Highest\", \"High\", \"Medium\", \"Low\"]`"),
    O_SECTION("custom_fields", OPT_JIRA_ONLY | R, section_fieldmap,
              .doc = "fields set on the tickets (docs/field-mapping.md)",
              .doc_type = "list of groups", .doc_default = "none",
              .doc_values = "`field`, `value` (template), `type`, `owned`"),
    O_SECTION("transition_fields", OPT_JIRA_ONLY | R, section_fieldmap,
              .doc = "fields a transition requires", .doc_type = "list of groups",
              .doc_default = "none", .doc_values = "`to`, `field`, `value`"),
    O_SECTION("status_map", R, section_fieldmap,
              .doc = "remote status → task status (docs/field-mapping.md)",
              .doc_type = "list of groups", .doc_default = "none",
              .doc_values = "`status` and/or `resolution`, `to`"),
    {0},
};
#undef CC

static const struct opt project_opts[] = {
    O_STR("slug", struct config_project, slug, OPT_REQUIRED | R, NULL, check_name,
          .doc = "the project, as on the command line; unique",
          .doc_values = "1..64 of `a-z`, `0-9`, `-`"),
    O_STR("name", struct config_project, name, R, NULL, NULL, .doc = "display name",
          .doc_default = "the slug"),
    O_STR("connector", struct config_project, connector, R, NULL, check_name,
          .doc = "where its tickets go; may be defined anywhere in the file",
          .doc_default = "none (not synced)",
          .doc_values = "the `name` of a connector in `connectors`"),
    O_STR("tracker_project", struct config_project, tracker_project, R, NULL, check_word,
          .doc = "Jira project key or GitLab project path/id; **required** with `connector`, an"
                 " error without it",
          .doc_values = "no spaces"),
    O_LIST("labels", struct config_project, labels, R, NULL, check_label,
           .doc = "added to this project's tickets", .doc_values = "as connector labels"),
    O_CHOICE("group_by", struct config_project, group_by, R, group_modes, "countermeasure",
             .doc = "one ticket per task, per component or per threat instance; the group's"
                    " status applies to each of its tasks (docs/grouping.md)"),
    O_BOOL("reopen_on_failed_verification", struct config_project, reopen_on_failed_verification, R,
           true,
           .doc = "a done task whose weakness a scanner still finds (verification turns failed)"
                  " goes back to todo and its ticket is reopened, once per failure"
                  " (docs/findings.md)"),
    O_STR("verification_failed_comment", struct config_project, verification_failed_comment, R,
          NULL, check_notice,
          .doc = "the reason given with that reopen; an unknown placeholder or an unterminated"
                 " `{{` is an error naming the line",
          .doc_default = "built-in",
          .doc_values = "at most 2048 bytes; placeholders `{{tool}}` `{{rule}}` `{{cwe}}`"
                        " `{{location}}` `{{first_seen}}` `{{date}}` `{{severity}}`"
                        " `{{message}}` `{{task}}`"),
    O_STR("verification_passed_comment", struct config_project, verification_passed_comment, R,
          NULL, check_notice,
          .doc = "the comment when a task that had failed verification passes (\"Verified by"
                 " {{tool}} on {{date}} ...\")",
          .doc_default = "built-in", .doc_values = "as `verification_failed_comment`"),
    O_STR("finding_comment", struct config_project, finding_comment, R, NULL, check_notice,
          .doc = "the comment telling a task not done of a finding correlated with it, once per"
                 " finding",
          .doc_default = "built-in", .doc_values = "as `verification_failed_comment`"),
    {0},
};

static const struct opt rule_opts[] = {
    O_STR("name", struct config_rule, name, OPT_REQUIRED | R, NULL, check_name,
          .doc = "the rule, in messages and `classify`; unique",
          .doc_values = "1..64 of `a-z`, `0-9`, `-`"),
    O_STR("when", struct config_rule, when, OPT_REQUIRED | R, NULL, NULL,
          .doc = "the condition on the model (docs/expressions.md)",
          .doc_values = "an expression, not empty"),
    O_CHOICE("class", struct config_rule, risk_class, OPT_REQUIRED | R, risk_classes, NULL,
             .doc = "the risk class the project gets when `when` holds"),
    {0},
};

/* Defaults come from config_default_policy of the group's class, not from here. */
static const struct opt policy_opts[] = {
    O_CHOICE("min_severity", struct config_policy, min_severity, R, risk_classes, NULL,
             .doc = "threats at least this severe get countermeasures",
             .doc_default = "built-in per class"),
    O_INT("max_priority", struct config_policy, max_priority, R, 1, 4, 0,
          .doc = "countermeasures of priority 1..`max_priority` become tasks",
          .doc_default = "built-in per class"),
    O_LIST("frameworks", struct config_policy, frameworks, R, NULL, check_word,
           .doc = "compliance frameworks reported for this class (`iso-27001`, `owasp-asvs`,"
                  " `nist-800-53`, `pci-dss`, `gdpr`, `hipaa`, `soc2`, `ccpa`)",
           .doc_default = "built-in per class", .doc_values = "no spaces"),
    O_INTS4("sla_days", struct config_policy, sla_days, R, 0, 3650,
            .doc = "days until due for priority 1, 2, 3, 4; 0: no due date",
            .doc_default = "built-in per class"),
    {0},
};

/* The list's default (critical, high) is set by gate_defaults. */
static const struct opt gate_opts[] = {
    O_INT("max_priority_failed", struct config_gate, max_priority_failed, OPT_ZERO_OFF | R, 1, 4,
          2,
          .doc = "an active, in-scope task of priority 1..N whose verification failed (a scanner"
                 " still finds its weakness) fails the gate; 0 turns the rule off"),
    O_LIST("fail_on_untracked", struct config_gate, fail_on_untracked, R, NULL, check_severity,
           .doc = "for a project with a connector: an in-scope threat of one of these severities"
                  " with an open task (todo, in progress) that has no ticket fails the gate; `[]`"
                  " turns the rule off",
           .doc_default = "`[ \"critical\", \"high\" ]`",
           .doc_values = "`critical`, `high`, `medium`, `low`"),
    O_BOOL("fail_on_overdue", struct config_gate, fail_on_overdue, R, true,
           .doc = "an open task whose due date is before today fails the gate"),
    O_BOOL("fail_on_new_untasked", struct config_gate, fail_on_new_untasked, R, true,
           .doc = "with `check --model`: a threat the candidate model brings that would have no"
                  " in-scope task fails the gate"),
    {0},
};

#undef R

/* Sections whose options config_diff_unreloadable compares. */
static const struct {
	const char *prefix;
	const struct opt *opts;
} diff_tables[] = {{"", top_opts}, {"http.", http_opts}};

static char *no_frameworks[] = {NULL};
static const struct config_policy default_policies[] = {
    {"critical", 0, "low", 4, no_frameworks, {7, 30, 90, 180}},
    {"high", 0, "medium", 3, no_frameworks, {14, 45, 120, 0}},
    {"medium", 0, "high", 2, no_frameworks, {30, 90, 0, 0}},
    {"low", 0, "critical", 1, no_frameworks, {60, 0, 0, 0}},
};

/* One problem found while loading. */
struct problem {
	int rank; /* 0 for the main file, 1 for included files: main file first */
	char *file;
	int line;
	size_t seq; /* keeps the order of discovery among equal lines */
	char *text; /* the whole message line */
};

struct loader {
	const char *path;     /* as given, for messages */
	char *dir;            /* absolute directory of the file */
	char *state_dir;      /* first entry of $STATE_DIRECTORY, or NULL */
	const char *cred_dir; /* $CREDENTIALS_DIRECTORY, or NULL */
	struct config *cfg;   /* being filled */
	char prefix[192];     /* "connector 'jira': " and the like */
	int conn_type;        /* type of the connector being parsed, -1 when unknown */
	struct config_connector *conn; /* the connector being parsed, or NULL */
	struct problem *probs;
	size_t n_probs, cap_probs;
};

static void *field_at(void *base, const struct opt *o)
{
	return (char *)base + o->offset;
}

static const void *cfield_at(const void *base, const struct opt *o)
{
	return (const char *)base + o->offset;
}

static const struct opt *find_opt(const struct opt *table, const char *name)
{
	for (const struct opt *o = table; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static char **strv_copy(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **r = ts_calloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = ts_strdup(v[i]);
	return r;
}

static void secret_clear(struct config_secret *sec)
{
	if (sec->value) {
		explicit_bzero(sec->value, strlen(sec->value));
		free(sec->value);
	}
	free(sec->path);
	free(sec->file);
	free(sec->key);
	*sec = (struct config_secret){0};
}

/* --- problems ---------------------------------------------------------------------- */

static const char *setting_file(const struct loader *l, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	return f ? f : l->path;
}

static void problem_add(struct loader *l, const char *file, int line, const char *msg)
{
	if (l->n_probs == l->cap_probs) {
		l->cap_probs = l->cap_probs ? 2 * l->cap_probs : 16;
		l->probs = ts_realloc(l->probs, l->cap_probs * sizeof(*l->probs));
	}
	struct problem *p = &l->probs[l->n_probs];
	p->rank = strcmp(file, l->path) == 0 ? 0 : 1;
	p->file = ts_strdup(file);
	p->line = line;
	p->seq = l->n_probs;
	if (line > 0)
		p->text = ts_asprintf("%s:%d: %s", file, line, msg);
	else
		p->text = ts_asprintf("%s: %s", file, msg);
	l->n_probs++;
}

/* Records "FILE:LINE: PREFIX MESSAGE" at the setting's line. Messages never
 * contain the value of a secret. */
static void lerr(struct loader *l, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lerr(struct loader *l, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *msg = ts_malloc((size_t)(n > 0 ? n : 0) + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	va_end(ap);
	char *full = ts_asprintf("%s%s", l->prefix, msg);
	problem_add(l, setting_file(l, s), s ? (int)config_setting_source_line(s) : 0, full);
	free(full);
	free(msg);
}

static int problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	int c = strcmp(x->file, y->file);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Sorts the problems by file and line and copies as many as fit into err. */
static void problems_report(struct loader *l, struct ts_err *err)
{
	qsort(l->probs, l->n_probs, sizeof(*l->probs), problem_cmp);
	if (!err)
		return;
	struct ts_buf b = {0};
	size_t shown = 0;
	const size_t room = sizeof(err->msg) - 64; /* keeps space for the tail line */
	for (; shown < l->n_probs; shown++) {
		size_t need = strlen(l->probs[shown].text) + (shown ? 1 : 0);
		if (b.len + need > room)
			break;
		if (shown)
			ts_buf_puts(&b, "\n");
		ts_buf_puts(&b, l->probs[shown].text);
	}
	if (shown < l->n_probs)
		ts_buf_printf(&b, "%s%s: and %zu more problems", shown ? "\n" : "", l->path,
		              l->n_probs - shown);
	ts_err_set(err, TS_E_CONFIG, "%s", b.data ? b.data : "");
	ts_buf_free(&b);
}

static void problems_free(struct loader *l)
{
	for (size_t i = 0; i < l->n_probs; i++) {
		free(l->probs[i].file);
		free(l->probs[i].text);
	}
	free(l->probs);
	l->probs = NULL;
	l->n_probs = l->cap_probs = 0;
}

/* --- value checks: NULL when fine, else why (never quoting the value) --------------- */

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool valid_port(const char *s, size_t n)
{
	if (!all_digits(s, n) || n > 5)
		return false;
	long v = strtol(s, NULL, 10);
	return v >= 1 && v <= 65535;
}

static bool valid_hostname(const char *s, size_t n)
{
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '.';
		if (!ok)
			return false;
	}
	return true;
}

/* host:port with host an IPv4 address or a name, or [IPv6]:port. */
static const char *check_listen(const char *v)
{
	char host[256];
	const char *port;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		if (!end || end[1] != ':')
			return "expected [IPV6-ADDRESS]:PORT";
		size_t n = (size_t)(end - v - 1);
		if (n == 0 || n >= sizeof(host))
			return "expected [IPV6-ADDRESS]:PORT";
		memcpy(host, v + 1, n);
		host[n] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return "the address in brackets is not an IPv6 address";
		port = end + 2;
	} else {
		const char *colon = strrchr(v, ':');
		if (!colon)
			return "expected HOST:PORT or [IPV6-ADDRESS]:PORT";
		size_t n = (size_t)(colon - v);
		if (n == 0 || n >= sizeof(host))
			return "expected HOST:PORT or [IPV6-ADDRESS]:PORT";
		memcpy(host, v, n);
		host[n] = '\0';
		if (strchr(host, ':'))
			return "an IPv6 address must be in brackets: [ADDRESS]:PORT";
		struct in_addr a4;
		bool numeric = strspn(host, "0123456789.") == n;
		if (numeric && inet_pton(AF_INET, host, &a4) != 1)
			return "the host is not a valid IPv4 address";
		if (!numeric && !valid_hostname(host, n))
			return "the host is neither an IP address nor a host name";
		port = colon + 1;
	}
	if (!valid_port(port, strlen(port)))
		return "the port must be a number from 1 to 65535";
	return NULL;
}

static const char *check_name(const char *v)
{
	size_t n = strlen(v);
	if (n > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return "must be 1 to 64 characters among a-z, 0-9 and '-'";
	return NULL;
}

/* scheme://host[:port][/path] with no credentials, spaces, query or fragment. */
static const char *check_scheme_url(const char *v, const char *const *schemes, const char *what)
{
	const char *rest = NULL;
	for (size_t i = 0; schemes[i] && !rest; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(v, schemes[i], n) == 0 && strncmp(v + n, "://", 3) == 0)
			rest = v + n + 3;
	}
	if (!rest)
		return what;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "must not contain spaces";
	size_t alen = strcspn(rest, "/?#");
	if (memchr(rest, '@', alen))
		return "must not contain credentials (user:password@): secrets are read only from "
		       "*_file keys";
	if (strpbrk(rest, "?#"))
		return "must not contain a query (?) or a fragment (#)";
	const char *hend = rest + alen;
	const char *pcolon = NULL;
	if (rest[0] == '[') {
		const char *rb = memchr(rest, ']', alen);
		if (!rb)
			return "has an unterminated [IPv6] host";
		if (rb + 1 < hend && rb[1] != ':')
			return "has garbage after the [IPv6] host";
		if (rb + 1 < hend)
			pcolon = rb + 1;
	} else {
		pcolon = memchr(rest, ':', alen);
		size_t hlen = pcolon ? (size_t)(pcolon - rest) : alen;
		if (!valid_hostname(rest, hlen))
			return "has no valid host name";
	}
	if (pcolon && !valid_port(pcolon + 1, (size_t)(hend - pcolon - 1)))
		return "has a port that is not a number from 1 to 65535";
	return NULL;
}

static const char *check_url(const char *v)
{
	static const char *const schemes[] = {"https", "http", NULL};
	return check_scheme_url(v, schemes, "must start with http:// or https://");
}

static const char *check_proxy(const char *v)
{
	static const char *const schemes[] = {"http",   "https",   "socks4", "socks4a",
	                                      "socks5", "socks5h", NULL};
	return check_scheme_url(v, schemes,
	                        "must be SCHEME://HOST[:PORT] with SCHEME http, https, socks4, "
	                        "socks4a, socks5 or socks5h");
}

static const char *check_email(const char *v)
{
	const char *at = strchr(v, '@');
	if (!at || at == v || !at[1] || strchr(at + 1, '@') || strpbrk(v, " \t"))
		return "is not an e-mail address";
	return NULL;
}

static const char *check_label(const char *v)
{
	if (strlen(v) > 255)
		return "labels are at most 255 characters";
	if (strchr(v, ','))
		return "labels must not contain ','";
	return NULL;
}

/* A notice template (engine/findings/notice.h): known placeholders only. */
static const char *check_notice(const char *v)
{
	static _Thread_local char why[256];
	return notice_check(v, why, sizeof(why));
}

static const char *check_severity(const char *v)
{
	return config_risk_class_valid(v) ? NULL
	                                  : "not a severity (one of critical, high, medium, low)";
}

static const char *check_word(const char *v)
{
	if (strpbrk(v, " \t"))
		return "must not contain spaces";
	return NULL;
}

static bool has_control_char(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* Keys that hold a secret inline, refused so secrets only come from files. */
static bool looks_like_inline_secret(const char *name)
{
	static const char *const exact[] = {
	    "token",   "password",       "passwd",        "secret",     "api_token",
	    "api_key", "webhook_secret", "private_token", "api_tokens", NULL};
	static const char *const suffixes[] = {"_token", "_password", "_passwd", "_secret", NULL};
	for (size_t i = 0; exact[i]; i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	size_t n = strlen(name);
	for (size_t i = 0; suffixes[i]; i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* The *_file key of table that should hold what an inline secret key held. */
static const char *secret_file_key(const struct opt *table, const char *name)
{
	char want[128];
	snprintf(want, sizeof(want), "%s_file", name);
	const struct opt *o = find_opt(table, want);
	if (o && o->type == OPT_SECRET_FILE)
		return o->name;
	if (strstr(name, "webhook") || strcmp(name, "secret") == 0) {
		o = find_opt(table, "webhook_secret_file");
		if (o)
			return o->name;
	}
	for (o = table; o->name; o++)
		if (o->type == OPT_SECRET_FILE)
			return o->name;
	return NULL;
}

/* A value given to a *_file key that is more likely the secret itself than a file
 * name: long, with letters and digits and no path punctuation. Not echoed. */
static bool looks_like_token(const char *v)
{
	if (strlen(v) < 20 || strpbrk(v, "/."))
		return false;
	bool alpha = false, digit = false;
	for (const char *p = v; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			alpha = true;
		else if (*p >= '0' && *p <= '9')
			digit = true;
	}
	return alpha && digit;
}

/* Whether the key name of s, from a file the configuration includes, looks
 * like a secret: a secret file included by mistake reads as a key named
 * after the secret, so messages do not quote it. */
static bool secret_named_key(const struct loader *l, const config_setting_t *s, const char *name)
{
	return strcmp(setting_file(l, s), l->path) != 0 && looks_like_token(name);
}

/* --- values ------------------------------------------------------------------------- */

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "nothing";
	}
}

static char *resolve_path(const char *base, const char *p)
{
	if (p[0] == '/' || !base)
		return ts_strdup(p);
	return ts_asprintf("%s/%s", base, p);
}

/* Fetches a string value, refusing the wrong type, empty strings (unless allowed),
 * control characters and values the option's check refuses. */
static bool get_string(struct loader *l, const config_setting_t *s, const struct opt *o,
                       const char *what, const char **ret)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		lerr(l, s, "%s: expected a string, got %s", what,
		     type_name(config_setting_type(s)));
		return false;
	}
	const char *v = config_setting_get_string(s);
	if (!*v) {
		if (o->flags & OPT_EMPTY_NULL) {
			*ret = v;
			return true;
		}
		lerr(l, s, "%s: must not be empty", what);
		return false;
	}
	if (has_control_char(v)) {
		lerr(l, s, "%s: must not contain control characters or newlines", what);
		return false;
	}
	const char *why = o->check ? o->check(v) : NULL;
	if (why) {
		lerr(l, s, "%s: %s", what, why);
		return false;
	}
	*ret = v;
	return true;
}

static bool get_integer(struct loader *l, const config_setting_t *s, const struct opt *o,
                        const char *what, long long *ret)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		lerr(l, s, "%s: expected an integer, got %s", what, type_name(t));
		return false;
	}
	long long v = config_setting_get_int64(s);
	if ((o->flags & OPT_ZERO_OFF) && v == 0) {
		*ret = v;
		return true;
	}
	if (v < o->min || v > o->max) {
		lerr(l, s, "%s %lld is out of range %s%lld..%lld", what, v,
		     (o->flags & OPT_ZERO_OFF) ? "0 or " : "", o->min, o->max);
		return false;
	}
	*ret = v;
	return true;
}

static const struct choice *find_choice(const struct choice *ch, const char *name)
{
	for (; ch->name; ch++)
		if (strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

static bool get_choice(struct loader *l, const config_setting_t *s, const struct opt *o,
                       const struct choice **ret)
{
	const char *v;
	if (!get_string(l, s, o, o->name, &v))
		return false;
	const struct choice *c = find_choice(o->choices, v);
	if (!c) {
		struct ts_buf b = {0};
		for (const struct choice *ch = o->choices; ch->name; ch++)
			ts_buf_printf(&b, "%s%s", ch == o->choices ? "" : ", ", ch->name);
		lerr(l, s, "%s '%s' is not one of: %s", o->name, v, b.data);
		ts_buf_free(&b);
		return false;
	}
	*ret = c;
	return true;
}

/* Records where the secret named by v is; config_load_secrets reads it. */
static void note_secret(struct loader *l, const config_setting_t *s, const struct opt *o,
                        const char *v, struct config_secret *sec)
{
	secret_clear(sec);
	sec->path = resolve_path(l->cred_dir ? l->cred_dir : l->dir, v);
	sec->file = ts_strdup(setting_file(l, s));
	sec->line = (int)config_setting_source_line(s);
	sec->key = ts_asprintf("%s%s", l->prefix, o->name);
	sec->hidden = looks_like_token(v);
}

/* Reads a recorded secret file (at most CONFIG_SECRET_MAX bytes, trailing
 * newlines stripped) unless already read. Messages name the key and the path,
 * never the contents. */
static void secret_read(struct loader *l, struct config_secret *sec)
{
	if (!sec->path || sec->value)
		return;
	char *data = NULL;
	size_t len = 0;
	char *msg = NULL;
	int r = ts_read_file(sec->path, CONFIG_SECRET_MAX, &data, &len);
	if (r < 0) {
		const char *why = r == -EFBIG ? "larger than 64 KiB" : strerror(-r);
		if (sec->hidden)
			msg = ts_asprintf("%s: cannot read the secret file: %s (the value is not "
			                  "shown: it looks like a secret itself; put the secret in "
			                  "a file and name the file here)",
			                  sec->key, why);
		else
			msg = ts_asprintf("%s: cannot read the secret file %s: %s", sec->key,
			                  sec->path, why);
		problem_add(l, sec->file, sec->line, msg);
		free(msg);
		return;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	const char *problem = NULL;
	if (len == 0)
		problem = "is empty";
	else if (strlen(data) != len)
		problem = "contains a NUL byte";
	if (problem) {
		msg = ts_asprintf("%s: the secret file %s %s", sec->key, sec->path, problem);
		problem_add(l, sec->file, sec->line, msg);
		free(msg);
		explicit_bzero(data, len);
		free(data);
		return;
	}
	sec->value = data;
}

/* Builds a NULL-terminated list from an array or list of strings; NULL on error. */
static char **get_strlist(struct loader *l, const config_setting_t *s, const struct opt *o,
                          bool paths)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		lerr(l, s, "%s: expected a list of strings [ \"...\", ... ], got %s", o->name,
		     type_name(t));
		return NULL;
	}
	int n = config_setting_length(s);
	char **v = ts_calloc((size_t)n + 1, sizeof(*v));
	bool ok = true;
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char what[160];
		snprintf(what, sizeof(what), "%s[%d]", o->name, i);
		const char *str;
		if (!get_string(l, e, o, what, &str)) {
			ok = false;
			continue;
		}
		v[k++] = paths ? resolve_path(l->dir, str) : ts_strdup(str);
	}
	if (!ok) {
		strv_free(v);
		return NULL;
	}
	return v;
}

static void get_ints4(struct loader *l, const config_setting_t *s, const struct opt *o, int *out)
{
	int t = config_setting_type(s);
	if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || config_setting_length(s) != 4) {
		lerr(l, s, "%s: expected exactly 4 integers [P1, P2, P3, P4]", o->name);
		return;
	}
	int tmp[4];
	bool ok = true;
	for (int i = 0; i < 4; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char what[160];
		snprintf(what, sizeof(what), "%s[%d]", o->name, i);
		long long v;
		if (!get_integer(l, e, o, what, &v))
			ok = false;
		else
			tmp[i] = (int)v;
	}
	if (ok)
		memcpy(out, tmp, sizeof(tmp));
}

static void replace_string(char **field, char *v)
{
	free(*field);
	*field = v;
}

/* A path option: relative to the configuration file's directory, or to the
 * state directory for OPT_STATE_DIR (where SQLite URIs and ":memory:" stay as
 * written); OPT_READABLE paths must be readable now. */
static void parse_path(struct loader *l, const config_setting_t *s, const struct opt *o, void *f)
{
	const char *str;
	if (!get_string(l, s, o, o->name, &str))
		return;
	if ((o->flags & OPT_STATE_DIR) &&
	    (strcmp(str, ":memory:") == 0 || strncmp(str, "file:", 5) == 0)) {
		replace_string(f, ts_strdup(str));
		return;
	}
	const char *base_dir = (o->flags & OPT_STATE_DIR) && l->state_dir ? l->state_dir : l->dir;
	char *p = resolve_path(base_dir, str);
	if ((o->flags & OPT_READABLE) && access(p, R_OK) != 0) {
		lerr(l, s, "%s: cannot read %s: %s", o->name, p, strerror(errno));
		free(p);
		return;
	}
	replace_string(f, p);
}

/* A number option (integer or float in the file) within [dmin, dmax]. */
static void parse_double(struct loader *l, const config_setting_t *s, const struct opt *o,
                         void *f)
{
	int t = config_setting_type(s);
	double d;
	if (t == CONFIG_TYPE_FLOAT) {
		d = config_setting_get_float(s);
	} else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		d = (double)config_setting_get_int64(s);
	} else {
		lerr(l, s, "%s: expected a number, got %s", o->name, type_name(t));
		return;
	}
	if (!(d >= o->dmin && d <= o->dmax)) {
		lerr(l, s, "%s %g is out of range %g..%g", o->name, d, o->dmin, o->dmax);
		return;
	}
	*(double *)f = d;
}

static void parse_value(struct loader *l, const config_setting_t *s, const struct opt *o,
                        void *base)
{
	void *f = field_at(base, o);
	const char *str;
	long long n;
	const struct choice *ch;
	switch (o->type) {
	case OPT_STRING:
		if (get_string(l, s, o, o->name, &str))
			replace_string(f, *str ? ts_strdup(str) : NULL);
		break;
	case OPT_PATH:
		parse_path(l, s, o, f);
		break;
	case OPT_SECRET_FILE:
		if (get_string(l, s, o, o->name, &str))
			note_secret(l, s, o, str, f);
		break;
	case OPT_INT:
		if (get_integer(l, s, o, o->name, &n))
			*(int *)f = (int)n;
		break;
	case OPT_SIZE:
		if (get_integer(l, s, o, o->name, &n))
			*(size_t *)f = (size_t)n;
		break;
	case OPT_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			lerr(l, s, "%s: expected true or false, got %s", o->name,
			     type_name(config_setting_type(s)));
		else
			*(bool *)f = config_setting_get_bool(s) != 0;
		break;
	case OPT_DOUBLE:
		parse_double(l, s, o, f);
		break;
	case OPT_ENUM:
		if (get_choice(l, s, o, &ch))
			*(int *)f = ch->value;
		break;
	case OPT_CHOICE:
		if (get_choice(l, s, o, &ch))
			replace_string(f, ts_strdup(ch->name));
		break;
	case OPT_STRLIST:
	case OPT_PATHLIST: {
		char **v = get_strlist(l, s, o, o->type == OPT_PATHLIST);
		if (v) {
			strv_free(*(char ***)f);
			*(char ***)f = v;
		}
		break;
	}
	case OPT_INTS4:
		get_ints4(l, s, o, f);
		break;
	case OPT_SECTION:
		o->section(l, s);
		break;
	}
}

static void apply_defaults(const struct opt *table, void *base, bool jira)
{
	for (const struct opt *o = table; o->name; o++) {
		void *f = field_at(base, o);
		bool skip = (o->flags & OPT_JIRA_ONLY) && !jira;
		switch (o->type) {
		case OPT_STRING:
		case OPT_PATH:
		case OPT_CHOICE:
			replace_string(f, skip ? NULL : ts_strdup(o->def_str));
			break;
		case OPT_INT:
			*(int *)f = (int)o->def_int;
			break;
		case OPT_SIZE:
			*(size_t *)f = (size_t)o->def_int;
			break;
		case OPT_BOOL:
			*(bool *)f = o->def_int != 0;
			break;
		case OPT_DOUBLE:
			*(double *)f = o->def_double;
			break;
		case OPT_ENUM:
			*(int *)f = (int)o->def_int;
			break;
		case OPT_STRLIST:
		case OPT_PATHLIST: {
			char **v = ts_calloc(2, sizeof(*v));
			v[0] = skip ? NULL : ts_strdup(o->def_str);
			strv_free(*(char ***)f);
			*(char ***)f = v;
			break;
		}
		case OPT_INTS4:
		case OPT_SECRET_FILE:
		case OPT_SECTION:
			break;
		}
	}
}

static void free_fields(const struct opt *table, void *base)
{
	for (const struct opt *o = table; o->name; o++) {
		void *f = field_at(base, o);
		switch (o->type) {
		case OPT_STRING:
		case OPT_PATH:
		case OPT_CHOICE:
			replace_string(f, NULL);
			break;
		case OPT_STRLIST:
		case OPT_PATHLIST:
			strv_free(*(char ***)f);
			*(char ***)f = NULL;
			break;
		case OPT_SECRET_FILE:
			secret_clear(f);
			break;
		default:
			break;
		}
	}
}

/* Parses the members of group g that table knows (in table order), reports the
 * required ones missing, then every key table does not know. */
static void parse_group(struct loader *l, const config_setting_t *g, const struct opt *table,
                        void *base)
{
	for (const struct opt *o = table; o->name; o++) {
		const config_setting_t *s = config_setting_get_member(g, o->name);
		if (!s) {
			if (o->flags & OPT_REQUIRED)
				lerr(l, g, "%s is required", o->name);
			continue;
		}
		if ((o->flags & OPT_JIRA_ONLY) && l->conn_type == CONFIG_CONNECTOR_GITLAB) {
			lerr(l, s, "%s is only valid for Jira connectors (type = \"jira\")",
			     o->name);
			continue;
		}
		parse_value(l, s, o, base);
	}
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		if (!name || find_opt(table, name))
			continue;
		if (looks_like_inline_secret(name)) {
			const char *fk = secret_file_key(table, name);
			lerr(l, s,
			     "'%s' looks like an inline secret (value not shown): secrets are read "
			     "only from files; put it in a file and name that file with '%s'",
			     name, fk ? fk : "a *_file key");
		} else if (secret_named_key(l, s, name)) {
			lerr(l, s, "unknown key (not shown: it looks like a secret; is a secret "
			           "file included?)");
		} else {
			lerr(l, s, "unknown key '%s'", name);
		}
	}
}

static bool expect_type(struct loader *l, const config_setting_t *s, const char *name, int type)
{
	if (config_setting_type(s) == type)
		return true;
	lerr(l, s, "%s: expected %s, got %s", name, type_name(type),
	     type_name(config_setting_type(s)));
	return false;
}

/* Sets the message prefix from a group's identifying key, or its position. */
static void set_prefix(struct loader *l, const char *kind, const char *list,
                       const config_setting_t *g, const char *key, int index)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v =
	    s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
	if (v && *v && !has_control_char(v) && strlen(v) <= 64)
		snprintf(l->prefix, sizeof(l->prefix), "%s '%s': ", kind, v);
	else
		snprintf(l->prefix, sizeof(l->prefix), "%s[%d]: ", list, index);
}

/* --- sections ------------------------------------------------------------------------ */

static void section_http(struct loader *l, const config_setting_t *s)
{
	if (!expect_type(l, s, "http", CONFIG_TYPE_GROUP))
		return;
	snprintf(l->prefix, sizeof(l->prefix), "http: ");
	parse_group(l, s, http_opts, l->cfg);
	l->prefix[0] = '\0';
}

/* Reports labels with spaces, which Jira refuses. */
static void check_jira_labels(struct loader *l, const config_setting_t *g, char **labels)
{
	const config_setting_t *s = config_setting_get_member(g, "labels");
	for (size_t i = 0; labels && labels[i]; i++) {
		if (strpbrk(labels[i], " \t")) {
			lerr(l, s ? s : g, "labels: '%s' contains a space, which Jira refuses",
			     labels[i]);
			return;
		}
	}
}

static void config_fieldmap_problem_cb(void *ud, const config_setting_t *s, const char *msg)
{
	lerr(ud, s, "%s", msg);
}

/* priority_map, custom_fields, transition_fields, status_map of l->conn. */
static void section_fieldmap(struct loader *l, const config_setting_t *s)
{
	if (l->conn)
		fieldmap_parse(&l->conn->fieldmap, s, config_fieldmap_problem_cb, l);
}

static void section_connectors(struct loader *l, const config_setting_t *s)
{
	struct config *cfg = l->cfg;
	if (!expect_type(l, s, "connectors", CONFIG_TYPE_LIST))
		return;
	int n = config_setting_length(s);
	cfg->connectors = ts_calloc((size_t)n, sizeof(*cfg->connectors));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		char what[32];
		snprintf(what, sizeof(what), "connectors[%d]", i);
		if (!expect_type(l, g, what, CONFIG_TYPE_GROUP))
			continue;
		struct config_connector *c = &cfg->connectors[cfg->n_connectors++];
		c->line = config_setting_source_line(g);
		set_prefix(l, "connector", "connectors", g, "name", i);

		const config_setting_t *ts = config_setting_get_member(g, "type");
		const char *tv = ts && config_setting_type(ts) == CONFIG_TYPE_STRING
		                     ? config_setting_get_string(ts)
		                     : NULL;
		const struct choice *tc = tv ? find_choice(connector_types, tv) : NULL;
		l->conn_type = tc ? tc->value : -1;
		apply_defaults(connector_opts, c, l->conn_type != CONFIG_CONNECTOR_GITLAB);
		l->conn = c;
		parse_group(l, g, connector_opts, c);
		l->conn = NULL;

		if (l->conn_type == CONFIG_CONNECTOR_JIRA) {
			if (c->flavor == CONFIG_JIRA_CLOUD && !c->email &&
			    !config_setting_get_member(g, "email"))
				lerr(l, g,
				     "email is required for a Jira Cloud connector (flavor = "
				     "\"cloud\"): it is the account the API token belongs to");
			check_jira_labels(l, g, c->labels);
		}
		if (c->request_timeout_ms < c->connect_timeout_ms)
			lerr(l, g,
			     "request_timeout_ms (%d) must not be less than "
			     "connect_timeout_ms (%d)",
			     c->request_timeout_ms, c->connect_timeout_ms);
		if (c->base_url) {
			size_t len = strlen(c->base_url);
			while (len > 0 && c->base_url[len - 1] == '/')
				c->base_url[--len] = '\0';
		}
		for (size_t k = 0; c->name && k + 1 < cfg->n_connectors; k++) {
			if (cfg->connectors[k].name &&
			    strcmp(cfg->connectors[k].name, c->name) == 0) {
				lerr(l, config_setting_get_member(g, "name"),
				     "duplicate connector name '%s' (first defined at line %d)",
				     c->name, cfg->connectors[k].line);
				break;
			}
		}
	}
	l->conn_type = -1;
	l->prefix[0] = '\0';
}

static void section_projects(struct loader *l, const config_setting_t *s)
{
	struct config *cfg = l->cfg;
	if (!expect_type(l, s, "projects", CONFIG_TYPE_LIST))
		return;
	int n = config_setting_length(s);
	cfg->projects = ts_calloc((size_t)n, sizeof(*cfg->projects));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		char what[32];
		snprintf(what, sizeof(what), "projects[%d]", i);
		if (!expect_type(l, g, what, CONFIG_TYPE_GROUP))
			continue;
		struct config_project *p = &cfg->projects[cfg->n_projects++];
		p->line = config_setting_source_line(g);
		set_prefix(l, "project", "projects", g, "slug", i);
		apply_defaults(project_opts, p, true);
		parse_group(l, g, project_opts, p);
		if (!p->name && p->slug)
			p->name = ts_strdup(p->slug);

		const config_setting_t *cs = config_setting_get_member(g, "connector");
		const struct config_connector *c =
		    p->connector ? config_find_connector(cfg, p->connector) : NULL;
		if (p->connector && !c)
			lerr(l, cs, "connector '%s' is not defined in connectors", p->connector);
		if (p->connector && !p->tracker_project &&
		    !config_setting_get_member(g, "tracker_project"))
			lerr(l, g,
			     "tracker_project is required with connector (the %s project "
			     "the tickets go to)",
			     c && c->type == CONFIG_CONNECTOR_GITLAB ? "GitLab" : "tracker");
		if (!cs && config_setting_get_member(g, "tracker_project"))
			lerr(l, config_setting_get_member(g, "tracker_project"),
			     "tracker_project needs connector: the tracker it belongs to");
		if (c && c->type == CONFIG_CONNECTOR_JIRA)
			check_jira_labels(l, g, p->labels);
		for (size_t k = 0; p->slug && k + 1 < cfg->n_projects; k++) {
			if (cfg->projects[k].slug && strcmp(cfg->projects[k].slug, p->slug) == 0) {
				lerr(l, config_setting_get_member(g, "slug"),
				     "duplicate project slug '%s' (first defined at line %d)",
				     p->slug, cfg->projects[k].line);
				break;
			}
		}
	}
	l->prefix[0] = '\0';
}

/* The one place a rule's `when` expression is checked. With engine/expr/expr.h it is
 * parsed (and the message carries expr's "column N: ..."); without it only
 * non-emptiness, which parse_group already enforced, can be checked. */
static void config_check_expression(struct loader *l, const config_setting_t *s, const char *src)
{
#if TS_CONFIG_HAVE_EXPR
	struct expr *e = NULL;
	struct ts_err eerr = {0};
	if (expr_parse(src, &e, &eerr) < 0) {
		lerr(l, s, "when: %s", eerr.msg);
		return;
	}
	expr_free(e);
#else
	(void)l;
	(void)s;
	(void)src;
#endif
}

static void section_classification(struct loader *l, const config_setting_t *s)
{
	struct config *cfg = l->cfg;
	if (!expect_type(l, s, "classification", CONFIG_TYPE_LIST))
		return;
	int n = config_setting_length(s);
	cfg->rules = ts_calloc((size_t)n, sizeof(*cfg->rules));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		char what[32];
		snprintf(what, sizeof(what), "classification[%d]", i);
		if (!expect_type(l, g, what, CONFIG_TYPE_GROUP))
			continue;
		struct config_rule *r = &cfg->rules[cfg->n_rules++];
		r->line = config_setting_source_line(g);
		set_prefix(l, "classification rule", "classification", g, "name", i);
		apply_defaults(rule_opts, r, true);
		parse_group(l, g, rule_opts, r);
		if (r->when)
			config_check_expression(l, config_setting_get_member(g, "when"), r->when);
		for (size_t k = 0; r->name && k + 1 < cfg->n_rules; k++) {
			if (cfg->rules[k].name && strcmp(cfg->rules[k].name, r->name) == 0) {
				lerr(l, config_setting_get_member(g, "name"),
				     "duplicate rule name '%s' (first defined at line %d)", r->name,
				     cfg->rules[k].line);
				break;
			}
		}
	}
	l->prefix[0] = '\0';
}

static void policy_copy(struct config_policy *dst, const struct config_policy *src)
{
	dst->risk_class = ts_strdup(src->risk_class);
	dst->line = src->line;
	dst->min_severity = ts_strdup(src->min_severity);
	dst->max_priority = src->max_priority;
	dst->frameworks = strv_copy(src->frameworks);
	memcpy(dst->sla_days, src->sla_days, sizeof(dst->sla_days));
}

static void section_policies(struct loader *l, const config_setting_t *s)
{
	struct config *cfg = l->cfg;
	if (!expect_type(l, s, "policies", CONFIG_TYPE_GROUP))
		return;
	int n = config_setting_length(s);
	cfg->policies = ts_calloc((size_t)n, sizeof(*cfg->policies));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(g);
		const struct config_policy *def = config_default_policy(name);
		if (!def) {
			lerr(l, g,
			     "policies: '%s' is not a risk class (one of critical, high, medium, "
			     "low)",
			     secret_named_key(l, g, name) ? "(not shown: it looks like a secret)"
			                                  : name);
			continue;
		}
		char what[64];
		snprintf(what, sizeof(what), "policies.%s", name);
		if (!expect_type(l, g, what, CONFIG_TYPE_GROUP))
			continue;
		struct config_policy *p = &cfg->policies[cfg->n_policies++];
		policy_copy(p, def);
		p->line = config_setting_source_line(g);
		snprintf(l->prefix, sizeof(l->prefix), "policy '%s': ", name);
		parse_group(l, g, policy_opts, p);
		l->prefix[0] = '\0';
	}
}

/* The gate's built-in values; a gate group in the file overrides keys. */
static void gate_defaults(struct config_gate *g)
{
	apply_defaults(gate_opts, g, true);
	strv_free(g->fail_on_untracked);
	g->fail_on_untracked = ts_calloc(3, sizeof(char *));
	g->fail_on_untracked[0] = ts_strdup("critical");
	g->fail_on_untracked[1] = ts_strdup("high");
	g->line = 0;
}

static void section_gate(struct loader *l, const config_setting_t *s)
{
	if (!expect_type(l, s, "gate", CONFIG_TYPE_GROUP))
		return;
	l->cfg->gate.line = config_setting_source_line(s);
	snprintf(l->prefix, sizeof(l->prefix), "gate: ");
	parse_group(l, s, gate_opts, &l->cfg->gate);
	l->prefix[0] = '\0';
}

/* --- loading ------------------------------------------------------------------------- */

static char *file_directory(const char *path)
{
	char *abs = realpath(path, NULL);
	char *p = abs ? abs : ts_strdup(path);
	char *slash = strrchr(p, '/');
	char *dir;
	if (!slash)
		dir = ts_strdup(".");
	else if (slash == p)
		dir = ts_strdup("/");
	else
		dir = ts_strndup(p, (size_t)(slash - p));
	free(p);
	return dir;
}

static void config_free_sections(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		free_fields(connector_opts, &cfg->connectors[i]);
		fieldmap_free(cfg->connectors[i].fieldmap);
	}
	free(cfg->connectors);
	for (size_t i = 0; i < cfg->n_projects; i++)
		free_fields(project_opts, &cfg->projects[i]);
	free(cfg->projects);
	for (size_t i = 0; i < cfg->n_rules; i++)
		free_fields(rule_opts, &cfg->rules[i]);
	free(cfg->rules);
	for (size_t i = 0; i < cfg->n_policies; i++) {
		free_fields(policy_opts, &cfg->policies[i]);
		free(cfg->policies[i].risk_class);
	}
	free(cfg->policies);
}

#ifdef TS_BUILD_DIR
/* Whether this program's executable lies directly in dir (the build directory
 * it was compiled in), not in an installed location. */
static bool running_from_dir(const char *dir)
{
	char exe[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash || !realpath(dir, real))
		return false;
	*slash = '\0';
	return strcmp(exe, real) == 0;
}
#endif

/* Sets library_paths to the library used when the configuration names none:
 * $THREATSYNC_LIBRARY when set; else the installed library
 * (TS_DEFAULT_DATADIR/library) when it exists; else, for a binary run from the
 * build directory it was compiled in (TS_BUILD_DIR, defined only by builds
 * with TS_BUILD_TREE_LIBRARY), the checkout's library/; else the installed
 * path, which loading the library then reports as missing. */
static void default_library_paths(struct config *cfg)
{
	const char *installed = TS_DEFAULT_DATADIR "/library";
	const char *path = getenv("THREATSYNC_LIBRARY");
	if (!path || !*path) {
		path = installed;
#ifdef TS_BUILD_DIR
		if (access(installed, F_OK) != 0 && running_from_dir(TS_BUILD_DIR))
			path = TS_SOURCE_DIR "/library";
#endif
	}
	strv_free(cfg->library_paths);
	cfg->library_paths = ts_calloc(2, sizeof(char *));
	cfg->library_paths[0] = ts_strdup(path);
}

/* libconfig exits the process ("input in flex scanner failed") when an
 * @include names something it can open but not read, such as a directory,
 * and waits forever on a FIFO. So every "@include" line of text (from file;
 * the same include directory for nested ones, libconfig's depth of 10) must
 * name a regular file, or nothing at all (libconfig then says it cannot
 * open it), with the name plain and on the line (libconfig reads a name
 * over lines and up to a NUL). Returns false when a problem was recorded. */
static bool includes_check(struct loader *l, const char *file, const char *text, size_t len,
                           int depth)
{
	bool ok = true;
	int line = 1;
	const char *stop = text + len;
	for (const char *p = text; p < stop && depth < 10; line++) {
		const char *eol = memchr(p, '\n', (size_t)(stop - p));
		eol = eol ? eol : stop;
		const char *q = p;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (eol - q >= 9 && memcmp(q, "@include", 8) == 0 && (q[8] == ' ' || q[8] == '\t')) {
			for (q += 8; q < eol && (*q == ' ' || *q == '\t');)
				q++;
			const char *end = q < eol && *q == '"' ? memchr(q + 1, '"', (size_t)(eol - q - 1))
			                                       : NULL;
			bool plain = end != NULL;
			for (const char *c = q + 1; plain && c < end; c++)
				plain = *c != '\\' && (unsigned char)*c >= 0x20 && *c != 0x7f;
			char *name = plain ? ts_strndup(q + 1, (size_t)(end - q - 1)) : NULL;
			char *full = name ? ts_asprintf("%s/%s", l->dir, name) : NULL;
			struct stat st;
			char *data = NULL;
			size_t n = 0;
			if (!plain && q < eol && *q == '"') {
				problem_add(l, file, line,
				            "@include: the file name has a backslash or a control "
				            "character, or no closing quote on its line");
				ok = false;
			} else if (full && stat(full, &st) == 0 && !S_ISREG(st.st_mode)) {
				char *msg = ts_asprintf("@include \"%s\": not a regular file", name);
				problem_add(l, file, line, msg);
				free(msg);
				ok = false;
			} else if (full && ts_read_file(full, CONFIG_FILE_MAX, &data, &n) == 0) {
				ok = includes_check(l, name, data, n, depth + 1) && ok;
				free(data);
			}
			free(full);
			free(name);
		}
		p = eol + 1;
	}
	return ok;
}

/* Reads every recorded secret of l->cfg and parses the API token file, whose
 * own lines are reported as "TOKENFILE:LINE: ...". */
static void secrets_read_all(struct loader *l)
{
	struct config *cfg = l->cfg;
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		secret_read(l, &cfg->connectors[i].token);
		secret_read(l, &cfg->connectors[i].webhook_secret);
	}
	struct config_secret *sec = &cfg->api_tokens;
	secret_read(l, sec);
	if (!sec->value || cfg->api_token_list)
		return;
	struct ts_err terr = {0};
	if (api_tokens_parse(sec->value, sec->path, &cfg->api_token_list, &terr) == 0)
		return;
	const char *p = terr.msg;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		char *one = ts_strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		/* "PATH:LINE: message" back into its parts. */
		size_t plen = strlen(sec->path);
		const char *msg = one;
		long line = 0;
		if (strncmp(one, sec->path, plen) == 0 && one[plen] == ':') {
			char *e = NULL;
			line = strtol(one + plen + 1, &e, 10);
			msg = e && e[0] == ':' && e[1] == ' ' ? e + 2 : one + plen + 2;
		}
		problem_add(l, sec->path, (int)line, msg);
		free(one);
		p = nl ? nl + 1 : NULL;
	}
}

static int load(const char *path, bool secrets, struct config **ret_cfg, struct ts_err *err)
{
	struct loader l = {.path = path, .conn_type = -1};
	char *data = NULL;
	size_t len = 0;
	int r = ts_read_file(path, CONFIG_FILE_MAX, &data, &len);
	if (r < 0)
		return ts_err_set(err, TS_E_CONFIG, "%s: cannot read the configuration: %s", path,
		                  r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	l.dir = file_directory(path);
	bool includes_ok = includes_check(&l, path, data, len, 0);
	free(data); /* readable and bounded: libconfig reads it again by name, so
	             * messages and @include carry the file name */

	const char *sd = getenv("STATE_DIRECTORY");
	if (sd && *sd)
		l.state_dir = ts_strndup(sd, strcspn(sd, ":"));
	const char *cd = getenv("CREDENTIALS_DIRECTORY");
	l.cred_dir = cd && *cd ? cd : NULL;

	config_t lc;
	config_init(&lc);
	config_set_include_dir(&lc, l.dir);
	l.cfg = ts_calloc(1, sizeof(*l.cfg));
	l.cfg->path = ts_strdup(path);
	apply_defaults(top_opts, l.cfg, true);
	apply_defaults(http_opts, l.cfg, true);
	gate_defaults(&l.cfg->gate);
	default_library_paths(l.cfg);

	if (!includes_ok) {
		/* the problems are recorded; libconfig would not survive the file */
	} else if (config_read_file(&lc, path) != CONFIG_TRUE) {
		const char *f = config_error_file(&lc);
		const char *text = config_error_text(&lc);
		problem_add(&l, f ? f : path, config_error_line(&lc),
		            text ? text : "cannot parse the file");
	} else {
		parse_group(&l, config_root_setting(&lc), top_opts, l.cfg);
		if (secrets)
			secrets_read_all(&l);
	}
	config_destroy(&lc);

	int ret = 0;
	if (l.n_probs > 0) {
		problems_report(&l, err);
		config_free(l.cfg);
		ret = -EINVAL;
	} else {
		ts_err_clear(err);
		*ret_cfg = l.cfg;
	}
	problems_free(&l);
	free(l.dir);
	free(l.state_dir);
	return ret;
}

int config_load(const char *path, struct config **ret_cfg, struct ts_err *err)
{
	return load(path, false, ret_cfg, err);
}

int config_load_with_secrets(const char *path, struct config **ret_cfg, struct ts_err *err)
{
	return load(path, true, ret_cfg, err);
}

int config_load_secrets(struct config *cfg, struct ts_err *err)
{
	if (!cfg->path) { /* the built-in defaults name no secret */
		ts_err_clear(err);
		return 0;
	}
	struct loader l = {.path = cfg->path, .cfg = cfg, .conn_type = -1};
	secrets_read_all(&l);
	int ret = 0;
	if (l.n_probs > 0) {
		problems_report(&l, err);
		ret = -EINVAL;
	} else {
		ts_err_clear(err);
	}
	problems_free(&l);
	return ret;
}

struct config *config_new_default(void)
{
	struct config *cfg = ts_calloc(1, sizeof(*cfg));
	apply_defaults(top_opts, cfg, true);
	apply_defaults(http_opts, cfg, true);
	gate_defaults(&cfg->gate);
	default_library_paths(cfg);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free_fields(top_opts, cfg);
	free_fields(http_opts, cfg);
	free_fields(gate_opts, &cfg->gate);
	api_tokens_free(cfg->api_token_list);
	config_free_sections(cfg);
	free(cfg->path);
	free(cfg);
}

const struct config_connector *config_find_connector(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_connectors; i++)
		if (cfg->connectors[i].name && strcmp(cfg->connectors[i].name, name) == 0)
			return &cfg->connectors[i];
	return NULL;
}

const struct config_project *config_find_project(const struct config *cfg, const char *slug)
{
	for (size_t i = 0; cfg && slug && i < cfg->n_projects; i++)
		if (cfg->projects[i].slug && strcmp(cfg->projects[i].slug, slug) == 0)
			return &cfg->projects[i];
	return NULL;
}

const struct config_policy *config_find_policy(const struct config *cfg, const char *risk_class)
{
	for (size_t i = 0; cfg && risk_class && i < cfg->n_policies; i++)
		if (strcmp(cfg->policies[i].risk_class, risk_class) == 0)
			return &cfg->policies[i];
	return NULL;
}

const struct config_policy *config_default_policy(const char *risk_class)
{
	for (size_t i = 0; risk_class && i < TS_ARRAY_SIZE(default_policies); i++)
		if (strcmp(default_policies[i].risk_class, risk_class) == 0)
			return &default_policies[i];
	return NULL;
}

bool config_risk_class_valid(const char *name)
{
	return name && find_choice(risk_classes, name) != NULL;
}

/* --- reload -------------------------------------------------------------------------- */

static bool value_equal(const struct opt *o, const void *a, const void *b)
{
	const void *fa = cfield_at(a, o), *fb = cfield_at(b, o);
	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH:
	case OPT_CHOICE: {
		const char *x = *(char *const *)fa, *y = *(char *const *)fb;
		return (!x && !y) || (x && y && strcmp(x, y) == 0);
	}
	case OPT_INT:
	case OPT_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case OPT_SIZE:
		return *(const size_t *)fa == *(const size_t *)fb;
	case OPT_DOUBLE:
		return *(const double *)fa == *(const double *)fb;
	default:
		/* Lists, secrets and sections are all reloadable: never compared. */
		return true;
	}
}

static char *value_show(const struct opt *o, const void *base)
{
	const void *f = cfield_at(base, o);
	if (o->flags & OPT_SECRET)
		return ts_strdup("(secret)");
	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH:
	case OPT_CHOICE: {
		const char *v = *(char *const *)f;
		return v ? ts_asprintf("'%s'", v) : ts_strdup("(unset)");
	}
	case OPT_INT:
	case OPT_ENUM:
		return ts_asprintf("%d", *(const int *)f);
	case OPT_SIZE:
		return ts_asprintf("%zu", *(const size_t *)f);
	case OPT_DOUBLE:
		return ts_asprintf("%g", *(const double *)f);
	default:
		return ts_strdup("(value)");
	}
}

int config_diff_unreloadable(const struct config *old_cfg, const struct config *new_cfg,
                             struct ts_err *err)
{
	int count = 0;
	struct ts_buf b = {0};
	const char *file = new_cfg->path ? new_cfg->path : "(built-in defaults)";
	for (size_t t = 0; t < TS_ARRAY_SIZE(diff_tables); t++) {
		for (const struct opt *o = diff_tables[t].opts; o->name; o++) {
			if ((o->flags & OPT_RELOADABLE) || o->type == OPT_SECTION)
				continue;
			if (value_equal(o, old_cfg, new_cfg))
				continue;
			char *ov = value_show(o, old_cfg), *nv = value_show(o, new_cfg);
			ts_buf_printf(
			    &b,
			    "%s%s: %s%s changed from %s to %s: not reloadable, keeping %s "
			    "until restart",
			    count ? "\n" : "", file, diff_tables[t].prefix, o->name, ov, nv, ov);
			free(ov);
			free(nv);
			count++;
		}
	}
	if (count)
		ts_err_set(err, TS_E_CONFIG, "%s", b.data);
	else
		ts_err_clear(err);
	ts_buf_free(&b);
	return count;
}

void config_keep_unreloadable(struct config *new_cfg, const struct config *old_cfg)
{
	for (size_t t = 0; t < TS_ARRAY_SIZE(diff_tables); t++) {
		for (const struct opt *o = diff_tables[t].opts; o->name; o++) {
			if ((o->flags & OPT_RELOADABLE) || o->type == OPT_SECTION)
				continue;
			void *nf = field_at(new_cfg, o);
			const void *of = cfield_at(old_cfg, o);
			switch (o->type) {
			case OPT_STRING:
			case OPT_PATH:
			case OPT_CHOICE:
				replace_string(nf, ts_strdup(*(char *const *)of));
				break;
			case OPT_INT:
			case OPT_ENUM:
				*(int *)nf = *(const int *)of;
				break;
			case OPT_SIZE:
				*(size_t *)nf = *(const size_t *)of;
				break;
			case OPT_DOUBLE:
				*(double *)nf = *(const double *)of;
				break;
			default:
				/* Lists and secrets are reloadable by design (see the tables). */
				break;
			}
		}
	}
}

/* The sections of the documentation, in its order. */
static const struct {
	const char *name;
	const struct opt *opts;
} doc_sections[] = {
    {"", top_opts},           {"http", http_opts},
    {"connectors", connector_opts}, {"projects", project_opts},
    {"classification", rule_opts},  {"policies", policy_opts},
    {"gate", gate_opts},
};

static const char *const type_names[] = {
    [OPT_STRING] = "string",       [OPT_PATH] = "path",         [OPT_INT] = "integer",
    [OPT_BOOL] = "boolean",        [OPT_SIZE] = "size",         [OPT_DOUBLE] = "number",
    [OPT_ENUM] = "enum",           [OPT_CHOICE] = "choice",     [OPT_STRLIST] = "string_list",
    [OPT_PATHLIST] = "path_list",  [OPT_INTS4] = "integers4",   [OPT_SECRET_FILE] = "secret_file",
    [OPT_SECTION] = "section",
};

static json_t *opt_default_json(const struct opt *o)
{
	if (o->flags & OPT_REQUIRED || o->doc_default)
		return json_null();
	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH:
	case OPT_CHOICE:
		return o->def_str ? json_string(o->def_str) : json_null();
	case OPT_INT:
	case OPT_SIZE:
		return json_integer(o->def_int);
	case OPT_BOOL:
		return json_boolean(o->def_int);
	case OPT_DOUBLE:
		return json_real(o->def_double);
	case OPT_ENUM:
		for (const struct choice *c = o->choices; c && c->name; c++)
			if (c->value == o->def_int)
				return json_string(c->name);
		return json_null();
	case OPT_STRLIST:
	case OPT_PATHLIST:
		return o->def_str ? json_pack("[s]", o->def_str) : json_array();
	default:
		return json_null();
	}
}

static json_t *opt_json(const struct opt *o)
{
	json_t *min = json_null(), *max = json_null(), *choices = json_null();
	if (o->type == OPT_INT || o->type == OPT_SIZE || o->type == OPT_INTS4) {
		min = json_integer(o->min);
		max = json_integer(o->max);
	} else if (o->type == OPT_DOUBLE) {
		min = json_real(o->dmin);
		max = json_real(o->dmax);
	}
	if (o->choices) {
		choices = json_array();
		for (const struct choice *c = o->choices; c->name; c++)
			json_array_append_new(choices, json_string(c->name));
	}
	return json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:s?, s:s?, s:s?,"
	                 " s:s?}",
	                 "name", o->name, "type", type_names[o->type], "required",
	                 (o->flags & OPT_REQUIRED) != 0, "reloadable",
	                 (o->flags & OPT_RELOADABLE) != 0, "secret", (o->flags & OPT_SECRET) != 0,
	                 "jira_only", (o->flags & OPT_JIRA_ONLY) != 0, "zero_off",
	                 (o->flags & OPT_ZERO_OFF) != 0, "min", min, "max", max, "choices", choices,
	                 "default", opt_default_json(o), "doc", o->doc, "doc_type", o->doc_type,
	                 "doc_default", o->doc_default, "doc_values", o->doc_values);
}

json_t *config_options_json(void)
{
	json_t *sections = json_array();
	for (size_t i = 0; i < TS_ARRAY_SIZE(doc_sections); i++) {
		json_t *opts = json_array();
		for (const struct opt *o = doc_sections[i].opts; o->name; o++)
			json_array_append_new(opts, opt_json(o));
		json_array_append_new(sections, json_pack("{s:s, s:o}", "section", doc_sections[i].name,
		                                          "options", opts));
	}
	return json_pack("{s:o}", "sections", sections);
}
