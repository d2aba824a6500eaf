/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the configuration loader: one case per class of error, each checking the
 * exact FILE:LINE, the shipped example, secrets never in messages, and reloads. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/config.h"
#include "engine/log.h"

/* The contents of every secret file the tests write: no message may contain it. */
#define SECRET "s3cr3t-Value-0123456789"
#define SECRET2 "second-s3cr3t-9876543210"

struct fx {
	char *dir;  /* holds threatsync.conf and the secret files */
	char *conf; /* dir/threatsync.conf once written */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_tmpdir();
	free(tu_write_file(f->dir, "jira_token", SECRET "\n"));
	free(tu_write_file(f->dir, "hook", SECRET2 "\r\n\n"));
	free(tu_write_file(f->dir, "empty", "\n"));
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->conf);
	free(f);
	return 0;
}

static int load_text(struct fx *f, const char *text, struct config **ret, struct ts_err *err)
{
	free(f->conf);
	f->conf = tu_write_file(f->dir, "threatsync.conf", text);
	return config_load_with_secrets(f->conf, ret, err);
}

static void assert_no_secret(const char *msg)
{
	if (strstr(msg, SECRET) || strstr(msg, SECRET2))
		fail_msg("a secret value appears in the message:\n%s", msg);
}

static int count_lines(const char *s)
{
	int n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Loads text, which must fail with EX_CONFIG, and checks that the message has a
 * line "CONF:LINE: ...WANT...". Returns the message (static, overwritten). */
static const char *expect_error(struct fx *f, const char *text, int line, const char *want)
{
	static struct ts_err err;
	struct config *cfg = NULL;
	memset(&err, 0, sizeof(err));
	int r = load_text(f, text, &cfg, &err);
	if (r >= 0)
		fail_msg("expected an error at line %d (%s), the file loaded", line, want);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_no_secret(err.msg);
	char head[512];
	snprintf(head, sizeof(head), "%s:%d: ", f->conf, line);
	bool found = false;
	for (const char *p = err.msg; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *one = strndup(p, len);
		if (strncmp(one, head, strlen(head)) == 0 && strstr(one, want))
			found = true;
		free(one);
		p = eol ? eol + 1 : NULL;
	}
	if (!found)
		fail_msg("no line '%s...%s' in:\n%s", head, want, err.msg);
	return err.msg;
}

static struct config *expect_ok(struct fx *f, const char *text)
{
	struct ts_err err = {0};
	struct config *cfg = NULL;
	if (load_text(f, text, &cfg, &err) < 0)
		fail_msg("expected the file to load:\n%s", err.msg);
	assert_non_null(cfg);
	assert_int_equal(err.code, 0);
	return cfg;
}

/* A valid Jira Cloud connector taking lines 1..8. */
#define JIRA_CONNECTOR                                                                             \
	"connectors = (\n"                                  /* 1 */                                \
	"  {\n"                                             /* 2 */                                \
	"    name = \"jira\"; type = \"jira\";\n"           /* 3 */                                \
	"    base_url = \"https://acme.atlassian.net/\";\n" /* 4 */                                \
	"    email = \"bot@acme.example\";\n"               /* 5 */                                \
	"    token_file = \"jira_token\";\n"                /* 6 */                                \
	"  }\n"                                             /* 7 */                                \
	");\n"                                              /* 8 */

static void test_defaults(void **state)
{
	(void)state;
	config_free(NULL);
	unsetenv("THREATSYNC_LIBRARY");
	struct config *cfg = config_new_default();
	assert_null(cfg->path);
	assert_string_equal(cfg->database, "/var/lib/threatsync/threatsync.db");
	assert_string_equal(cfg->library_paths[0], TS_DEFAULT_DATADIR "/library");
	assert_null(cfg->library_paths[1]);
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg->http_listen, "127.0.0.1:8750");
	assert_null(cfg->api_tokens.value);
	assert_int_equal(cfg->http_max_body, 1048576);
	assert_int_equal(cfg->shutdown_timeout_ms, 5000);
	assert_int_equal(cfg->n_connectors, 0);
	assert_null(config_find_policy(cfg, "critical"));
	assert_null(config_find_connector(cfg, "jira"));
	assert_null(config_find_project(cfg, "x"));
	config_free(cfg);

	static const struct {
		const char *cls, *min;
		int prio, sla[4];
	} want[] = {{"critical", "low", 4, {7, 30, 90, 180}},
	            {"high", "medium", 3, {14, 45, 120, 0}},
	            {"medium", "high", 2, {30, 90, 0, 0}},
	            {"low", "critical", 1, {60, 0, 0, 0}}};
	for (size_t i = 0; i < 4; i++) {
		const struct config_policy *p = config_default_policy(want[i].cls);
		assert_non_null(p);
		assert_string_equal(p->risk_class, want[i].cls);
		assert_string_equal(p->min_severity, want[i].min);
		assert_int_equal(p->max_priority, want[i].prio);
		assert_memory_equal(p->sla_days, want[i].sla, sizeof(want[i].sla));
		assert_null(p->frameworks[0]);
		assert_true(config_risk_class_valid(want[i].cls));
	}
	assert_null(config_default_policy("urgent"));
	assert_false(config_risk_class_valid("urgent"));
}

static void test_defaults_library_env(void **state)
{
	(void)state;
	setenv("THREATSYNC_LIBRARY", "/opt/lib-under-test", 1);
	struct config *cfg = config_new_default();
	assert_string_equal(cfg->library_paths[0], "/opt/lib-under-test");
	assert_null(cfg->library_paths[1]);
	config_free(cfg);
	unsetenv("THREATSYNC_LIBRARY");
}

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	struct ts_err err = {0};
	struct config *cfg = NULL;
	char *path = ts_asprintf("%s/absent.conf", f->dir);
	assert_true(config_load_with_secrets(path, &cfg, &err) < 0);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file"));
	free(path);
}

static void test_syntax_error(void **state)
{
	expect_error(*state,
	             "log_level = \"info\";\n" /* 1 */
	             "http = {\n"              /* 2 */
	             "  listen = \"x:1\";\n"   /* 3 */
	             "  max_body_bytes = ;\n"  /* 4: no value */
	             "};\n",
	             4, "syntax error");
}

static void test_syntax_error_fixture(void **state)
{
	(void)state;
	struct ts_err err = {0};
	struct config *cfg = NULL;
	char *path = ts_asprintf("%s/tests/data/config/syntax.conf", tu_env("TS_SOURCE_DIR"));
	char *want = ts_asprintf("%s:5: syntax error", path);
	assert_true(config_load_with_secrets(path, &cfg, &err) < 0);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);
}

static void test_unknown_top_level_key(void **state)
{
	expect_error(*state,
	             "log_level = \"info\";\n" /* 1 */
	             "\n"                      /* 2 */
	             "databse = \"x.db\";\n",  /* 3 */
	             3, "unknown key 'databse'");
}

static void test_unknown_connector_key(void **state)
{
	expect_error(*state,
	             "connectors = (\n"                             /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n"      /* 2 */
	             "    base_url = \"https://gitlab.example\";\n" /* 3 */
	             "    token_file = \"jira_token\";\n"           /* 4 */
	             "    concurency = 3;\n"                        /* 5 */
	             "  }\n"
	             ");\n",
	             5, "connector 'gl': unknown key 'concurency'");
}

static void test_wrong_type(void **state)
{
	struct fx *f = *state;
	expect_error(f,
	             "log_level = \"info\";\n"            /* 1 */
	             "shutdown_timeout_ms = \"5000\";\n", /* 2 */
	             2, "shutdown_timeout_ms: expected an integer, got a string");
	expect_error(f, "http = ( 1, 2 );\n", 1, "http: expected a group");
	expect_error(f, "library_paths = \"/x\";\n", 1,
	             "library_paths: expected a list of strings");
	expect_error(f, "connectors = { a = 1; };\n", 1, "connectors: expected a list");
}

static void test_out_of_bounds(void **state)
{
	struct fx *f = *state;
	expect_error(f,
	             "connectors = (\n"                             /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n"      /* 2 */
	             "    base_url = \"https://gitlab.example\";\n" /* 3 */
	             "    token_file = \"jira_token\";\n"           /* 4 */
	             "    concurrency = 65;\n"                      /* 5 */
	             "    rate_per_second = 0.01;\n"                /* 6 */
	             "    poll_interval_s = 4;\n"                   /* 7 */
	             "  }\n"
	             ");\n",
	             5, "concurrency 65 is out of range 1..64");
	expect_error(f, JIRA_CONNECTOR "shutdown_timeout_ms = 60001;\n", 9,
	             "shutdown_timeout_ms 60001 is out of range 100..60000");
	expect_error(f, "http = { max_body_bytes = 100; };\n", 1,
	             "http: max_body_bytes 100 is out of range 1024..67108864");
	const char *msg = expect_error(f,
	                               "connectors = (\n"
	                               "  { name = \"gl\"; type = \"gitlab\";\n"
	                               "    base_url = \"https://gitlab.example\";\n"
	                               "    token_file = \"jira_token\";\n"
	                               "    rate_per_second = 0.01;\n" /* 5 */
	                               "    poll_interval_s = 4;\n"    /* 6 */
	                               "  }\n"
	                               ");\n",
	                               5, "rate_per_second 0.01 is out of range 0.1..100000");
	assert_non_null(strstr(msg, ":6: connector 'gl': poll_interval_s 4 is out of range 0 or "
	                            "5..86400"));
	expect_error(f,
	             "connectors = (\n"                             /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n"      /* 2 */
	             "    base_url = \"https://gitlab.example\";\n" /* 3 */
	             "    token_file = \"jira_token\";\n"           /* 4 */
	             "    pause_probe_interval_s = 0;\n"           /* 5 */
	             "  }\n"
	             ");\n",
	             5, "pause_probe_interval_s 0 is out of range 1..86400");
}

static void test_bad_enum(void **state)
{
	struct fx *f = *state;
	expect_error(f, "log_level = \"verbose\";\n", 1,
	             "log_level 'verbose' is not one of: error, warning, notice, info, debug");
	expect_error(f,
	             "connectors = (\n"                        /* 1 */
	             "  { name = \"x\"; type = \"redmine\";\n" /* 2 */
	             "    base_url = \"https://r.example\";\n" /* 3 */
	             "    token_file = \"jira_token\"; }\n"    /* 4 */
	             ");\n",
	             2, "type 'redmine' is not one of: jira, gitlab");
}

static void test_duplicate_connector(void **state)
{
	expect_error(*state,
	             "connectors = (\n"                        /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n" /* 2 */
	             "    base_url = \"https://a.example\";\n" /* 3 */
	             "    token_file = \"jira_token\"; },\n"   /* 4 */
	             "  { name = \"gl\"; type = \"gitlab\";\n" /* 5 */
	             "    base_url = \"https://b.example\";\n" /* 6 */
	             "    token_file = \"jira_token\"; }\n"    /* 7 */
	             ");\n",
	             5, "duplicate connector name 'gl' (first defined at line 2)");
}

static void test_project_undefined_connector(void **state)
{
	struct fx *f = *state;
	expect_error(f,
	             "projects = (\n"                      /* 1 */
	             "  { slug = \"shop\";\n"              /* 2 */
	             "    connector = \"jria\";\n"         /* 3 */
	             "    tracker_project = \"SHOP\"; }\n" /* 4 */
	             ");\n" JIRA_CONNECTOR,                /* 5, 6..13 */
	             3, "project 'shop': connector 'jria' is not defined");
	/* The connector may be defined after the project that names it. */
	struct config *cfg = expect_ok(f, "projects = (\n"
	                                  "  { slug = \"shop\"; connector = \"jira\";\n"
	                                  "    tracker_project = \"SHOP\"; }\n"
	                                  ");\n" JIRA_CONNECTOR);
	const struct config_project *p = config_find_project(cfg, "shop");
	assert_non_null(p);
	assert_string_equal(p->name, "shop");
	assert_string_equal(p->connector, "jira");
	assert_int_equal(p->line, 2);
	assert_null(p->labels[0]);
	config_free(cfg);
	expect_error(f,
	             "projects = (\n"                                 /* 1 */
	             "  { slug = \"shop\"; connector = \"jira\"; }\n" /* 2 */
	             ");\n" JIRA_CONNECTOR,
	             2, "tracker_project is required with connector");
	expect_error(f,
	             "projects = (\n"         /* 1 */
	             "  { slug = \"a\"; },\n" /* 2 */
	             "  { slug = \"a\"; }\n"  /* 3 */
	             ");\n",
	             3, "duplicate project slug 'a' (first defined at line 2)");
	expect_error(f, "projects = ( { slug = \"Shop\"; } );\n", 1,
	             "slug: must be 1 to 64 characters among a-z, 0-9 and '-'");
}

/* The findings options of a project: the reopen rule and the notice wording. */
static void test_project_findings_options(void **state)
{
	struct fx *f = *state;
	struct config *cfg =
	    expect_ok(f, "projects = (\n"
	                 "  { slug = \"a\"; },\n"
	                 "  { slug = \"b\"; reopen_on_failed_verification = false;\n"
	                 "    finding_comment = \"{{tool}}: {{ rule }} at "
	                 "{{location}}\"; }\n"
	                 ");\n");
	const struct config_project *a = config_find_project(cfg, "a");
	const struct config_project *b = config_find_project(cfg, "b");
	assert_true(a->reopen_on_failed_verification);
	assert_null(a->finding_comment);
	assert_null(a->verification_failed_comment);
	assert_false(b->reopen_on_failed_verification);
	assert_string_equal(b->finding_comment, "{{tool}}: {{ rule }} at {{location}}");
	config_free(cfg);
	expect_error(f,
	             "projects = (\n"                                                /* 1 */
	             "  { slug = \"a\"; reopen_on_failed_verification = \"no\"; }\n" /* 2 */
	             ");\n",
	             2, "reopen_on_failed_verification: expected true or false, got a string");
	expect_error(f,
	             "projects = (\n"                                                 /* 1 */
	             "  { slug = \"a\";\n"                                            /* 2 */
	             "    verification_passed_comment = \"Verified on {{day}}\"; }\n" /* 3 */
	             ");\n",
	             3,
	             "verification_passed_comment: unknown placeholder {{day}} at byte 12; known: "
	             "tool, rule, cwe, location, first_seen, date, severity, message, task");
	expect_error(f,
	             "projects = (\n"                                                  /* 1 */
	             "  { slug = \"a\"; verification_failed_comment = \"{{tool\"; }\n" /* 2 */
	             ");\n",
	             2, "verification_failed_comment: unterminated \"{{\" at byte 0");
}

static void test_inline_secret_rejected(void **state)
{
	struct fx *f = *state;
	const char *msg = expect_error(f,
	                               "connectors = (\n"                        /* 1 */
	                               "  { name = \"gl\"; type = \"gitlab\";\n" /* 2 */
	                               "    base_url = \"https://g.example\";\n" /* 3 */
	                               "    token = \"" SECRET "\";\n"           /* 4 */
	                               "    webhook_secret = \"" SECRET2 "\";\n" /* 5 */
	                               "  }\n"
	                               ");\n"
	                               "http = { api_token = \"" SECRET "\"; };\n", /* 8 */
	                               4, "'token' looks like an inline secret");
	assert_non_null(strstr(msg, "'token_file'"));
	assert_non_null(strstr(msg,
	                       ":5: connector 'gl': 'webhook_secret' looks like an inline "
	                       "secret (value not shown): secrets are read only from files; put "
	                       "it in a file and name that file with 'webhook_secret_file'"));
	assert_non_null(strstr(msg, ":8: http: 'api_token' looks like an inline secret"));
	assert_non_null(strstr(msg, "'api_tokens_file'"));
	/* token_file is required and absent: reported at the connector's line. */
	assert_non_null(strstr(msg, ":2: connector 'gl': token_file is required"));

	expect_error(f, "jira_password = \"" SECRET "\";\n", 1,
	             "'jira_password' looks like an inline secret");
	/* The secret itself given as the file name is not echoed either. */
	msg = expect_error(f,
	                   "http = {\n"                                          /* 1 */
	                   "  api_tokens_file = \"glpatAbCdEf0123456789xyz\";\n" /* 2 */
	                   "};\n",
	                   2, "api_tokens_file: cannot read the secret file");
	assert_null(strstr(msg, "glpatAbCdEf0123456789xyz"));
	/* Nor credentials inside a URL. */
	msg = expect_error(f,
	                   "connectors = (\n"                                       /* 1 */
	                   "  { name = \"gl\"; type = \"gitlab\";\n"                /* 2 */
	                   "    base_url = \"https://bot:" SECRET "@g.example\";\n" /* 3 */
	                   "    token_file = \"jira_token\"; }\n"
	                   ");\n",
	                   3, "base_url: must not contain credentials");
}

static void test_secret_file_missing(void **state)
{
	struct fx *f = *state;
	char *want =
	    ts_asprintf("token_file: cannot read the secret file %s/nope: No such file", f->dir);
	expect_error(f,
	             "connectors = (\n"                        /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n" /* 2 */
	             "    base_url = \"https://g.example\";\n" /* 3 */
	             "    token_file = \"nope\";\n"            /* 4 */
	             "    webhook_secret_file = \"hook\"; }\n" /* 5 */
	             ");\n",
	             4, want);
	free(want);
}

static void test_secret_file_empty(void **state)
{
	struct fx *f = *state;
	char *want = ts_asprintf("webhook_secret_file: the secret file %s/empty is empty", f->dir);
	expect_error(f,
	             "connectors = (\n"                         /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n"  /* 2 */
	             "    base_url = \"https://g.example\";\n"  /* 3 */
	             "    token_file = \"jira_token\";\n"       /* 4 */
	             "    webhook_secret_file = \"empty\"; }\n" /* 5 */
	             ");\n",
	             5, want);
	free(want);
}

/* A secret file included by mistake reads as a key named after the secret:
 * the message names the file and line, never the key. */
static void test_included_secret_not_quoted(void **state)
{
	struct fx *f = *state;
	struct config *cfg = NULL;
	struct ts_err err = {0};
	assert_true(load_text(f,
	                      "@include \"jira_token\"\n"     /* 1 */
	                      " = 1;\n"                         /* 2 */
	                      "policies = {\n"                  /* 3 */
	                      "@include \"hook\"\n"           /* 4 */
	                      " = { max_priority = 2; }; };\n", /* 5 */
	                      &cfg, &err) < 0);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_no_secret(err.msg);
	assert_int_equal(count_lines(err.msg), 2);
	assert_non_null(strstr(err.msg, "jira_token:1: unknown key (not shown: it looks like a "
	                                "secret; is a secret file included?)"));
	assert_non_null(strstr(err.msg, "hook:1: policies: '(not shown: it looks like a secret)' "
	                                "is not a risk class"));
}

/* libconfig ends the process when an @include names a directory: the
 * loader refuses it first, in the file itself and in an included file, and
 * names with a control character. A missing file is libconfig's to report. */
static void test_include_not_a_file(void **state)
{
	struct fx *f = *state;
	char *sub = ts_asprintf("%s/conf.d", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(tu_write_file(f->dir, "nested.conf", "log_level = \"info\";\n@include \"conf.d\"\n"));
	struct config *cfg = NULL;
	struct ts_err err = {0};
	assert_true(load_text(f,
	                      "@include \"conf.d\"\n"      /* 1 */
	                      "  @include \"nested.conf\"\n" /* 2 */
	                      "@include \"a\tb\"\n"       /* 3 */
	                      "@include \"\"\n"            /* 4: the directory itself */
	                      "@include \"open\n"           /* 5 */
	                      "\"\n",
	                      &cfg, &err) < 0);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_int_equal(count_lines(err.msg), 5);
	char *want = ts_asprintf("%s:1: @include \"conf.d\": not a regular file\n"
	                         "%s:3: @include: the file name has a backslash or a control "
	                         "character, or no closing quote on its line\n"
	                         "%s:4: @include \"\": not a regular file\n"
	                         "%s:5: @include: the file name has a backslash or a control "
	                         "character, or no closing quote on its line\n"
	                         "nested.conf:2: @include \"conf.d\": not a regular file",
	                         f->conf, f->conf, f->conf, f->conf);
	assert_string_equal(err.msg, want);
	free(want);
	/* A missing file is still libconfig's "cannot open include file". */
	assert_true(load_text(f, "@include \"missing.conf\"\n", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, ":1: cannot open include file"));
	free(sub); /* teardown removes the directory */
}

static void test_secret_read_and_stripped(void **state)
{
	struct fx *f = *state;
	struct config *cfg = expect_ok(f, "connectors = (\n"
	                                  "  { name = \"gl\"; type = \"gitlab\";\n"
	                                  "    base_url = \"https://g.example/\";\n"
	                                  "    token_file = \"jira_token\";\n"
	                                  "    webhook_secret_file = \"hook\"; }\n"
	                                  ");\n");
	const struct config_connector *c = config_find_connector(cfg, "gl");
	assert_non_null(c);
	assert_string_equal(c->token.value, SECRET);
	assert_string_equal(c->webhook_secret.value, SECRET2);
	char *want = ts_asprintf("%s/jira_token", f->dir);
	assert_string_equal(c->token.path, want);
	free(want);
	assert_string_equal(c->base_url, "https://g.example");
	assert_int_equal(c->type, CONFIG_CONNECTOR_GITLAB);
	/* Jira-only defaults stay unset for GitLab. */
	assert_null(c->issue_type);
	assert_null(c->done_status);
	assert_null(c->email);
	assert_int_equal(c->concurrency, 4);
	assert_true(c->rate_per_second == 10.0);
	assert_int_equal(c->burst, 20);
	assert_int_equal(c->max_attempts, 10);
	assert_int_equal(c->poll_interval_s, 60);
	assert_int_equal(c->reconcile_interval_s, 86400);
	assert_int_equal(c->pause_probe_interval_s, 300);
	assert_int_equal(c->line, 2);
	config_free(cfg);
}

/* config_load only records where each secret is: a configuration whose secret
 * files are missing loads, and config_load_secrets then names every one at the
 * line of its key, without any secret value. */
static void test_secrets_read_lazily(void **state)
{
	struct fx *f = *state;
	const char *text = "http = { api_tokens_file = \"no-tokens\"; };\n"      /* 1 */
	                   "connectors = (\n"                                   /* 2 */
	                   "  { name = \"gl\"; type = \"gitlab\";\n"            /* 3 */
	                   "    base_url = \"https://g.example\";\n"            /* 4 */
	                   "    token_file = \"jira_token\";\n"                 /* 5 */
	                   "    webhook_secret_file = \"no-hook\"; },\n"        /* 6 */
	                   "  { name = \"jira\"; type = \"jira\";\n"            /* 7 */
	                   "    base_url = \"https://j.example\"; email = \"a@b.c\";\n" /* 8 */
	                   "    token_file = \"no-token\"; }\n"                 /* 9 */
	                   ");\n";
	struct config *cfg = NULL;
	struct ts_err err = {0};
	f->conf = tu_write_file(f->dir, "threatsync.conf", text);
	if (config_load(f->conf, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	const struct config_connector *gl = config_find_connector(cfg, "gl");
	assert_non_null(gl);
	assert_null(gl->token.value);
	char *want = ts_asprintf("%s/jira_token", f->dir);
	assert_string_equal(gl->token.path, want);
	free(want);
	assert_int_equal(gl->token.line, 5);
	assert_null(cfg->api_tokens.value);
	assert_null(cfg->api_token_list);

	assert_int_equal(config_load_secrets(cfg, &err), -EINVAL);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_no_secret(err.msg);
	const char *c = f->conf, *d = f->dir;
	char *exp = ts_asprintf(
	    "%s:1: http: api_tokens_file: cannot read the secret file %s/no-tokens: No such "
	    "file or directory\n"
	    "%s:6: connector 'gl': webhook_secret_file: cannot read the secret file "
	    "%s/no-hook: No such file or directory\n"
	    "%s:9: connector 'jira': token_file: cannot read the secret file %s/no-token: No "
	    "such file or directory",
	    c, d, c, d, c, d);
	assert_string_equal(err.msg, exp);
	free(exp);
	/* What could be read is read; config_free wipes it. */
	assert_string_equal(gl->token.value, SECRET);
	config_free(cfg);

	/* The same file through config_load_with_secrets: the same three problems. */
	cfg = NULL;
	assert_true(config_load_with_secrets(f->conf, &cfg, &err) < 0);
	assert_null(cfg);
	size_t lines = 1;
	for (const char *p = err.msg; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
}

/* config_load_secrets reads every secret once and parses the API token file;
 * a second call changes nothing; the built-in defaults have none. */
static void test_secrets_loaded_once(void **state)
{
	struct fx *f = *state;
	free(tu_write_file(f->dir, "tokens", SECRET " *\n"));
	struct config *cfg = NULL;
	struct ts_err err = {0};
	f->conf = tu_write_file(f->dir, "threatsync.conf",
	                        "http = { api_tokens_file = \"tokens\"; };\n"
	                        "connectors = ( { name = \"gl\"; type = \"gitlab\";\n"
	                        "    base_url = \"https://g.example\";\n"
	                        "    token_file = \"jira_token\";\n"
	                        "    webhook_secret_file = \"hook\"; } );\n");
	assert_int_equal(config_load(f->conf, &cfg, &err), 0);
	assert_null(cfg->connectors[0].token.value);
	assert_int_equal(config_load_secrets(cfg, &err), 0);
	assert_string_equal(cfg->connectors[0].token.value, SECRET);
	assert_string_equal(cfg->connectors[0].webhook_secret.value, SECRET2);
	assert_non_null(cfg->api_token_list);
	const char *tok = cfg->connectors[0].token.value;
	const struct api_tokens *list = cfg->api_token_list;
	assert_int_equal(config_load_secrets(cfg, &err), 0);
	assert_ptr_equal(cfg->connectors[0].token.value, tok);
	assert_ptr_equal(cfg->api_token_list, list);
	config_free(cfg);

	struct config *def = config_new_default();
	assert_int_equal(config_load_secrets(def, &err), 0);
	config_free(def);
}

/* The commands that never reach a tracker work with a configuration whose
 * secret files are missing; `config check`, `threatsyncd --check-config` and
 * `sync --once` name each of them and exit 78. */
static void test_cli_without_secret_files(void **state)
{
	struct fx *f = *state;
	const char *src = tu_env("TS_SOURCE_DIR");
	char *text = ts_asprintf(
	    "database = \"t.db\";\n"                                                /* 1 */
	    "library_paths = [ \"%s/tests/data/ingest/lib\" ];\n"                    /* 2 */
	    "connectors = ( { name = \"gl\"; type = \"gitlab\";\n"                   /* 3 */
	    "    base_url = \"http://127.0.0.1:9\"; token_file = \"no-token\";\n"    /* 4 */
	    "    webhook_secret_file = \"no-hook\"; } );\n"                          /* 5 */
	    "projects = ( { slug = \"shop\"; connector = \"gl\";\n"                  /* 6 */
	    "    tracker_project = \"acme/shop\"; } );\n",                           /* 7 */
	    src);
	f->conf = tu_write_file(f->dir, "threatsync.conf", text);
	free(text);
	char *model = ts_asprintf("%s/tests/data/ingest/shop.json", src);
	char *sarif = tu_write_file(f->dir, "empty.sarif",
	                            "{\"version\": \"2.1.0\", \"runs\": [ {\"tool\": "
	                            "{\"driver\": {\"name\": \"x\"}}, \"results\": []} ]}\n");
	const char *c = f->conf;
	char *out = NULL, *err = NULL;
	assert_int_equal(tu_cli(NULL, NULL, "-c", c, "project", "add", "shop", NULL), 0);
	assert_int_equal(tu_cli(NULL, NULL, "-c", c, "model", "import", "shop", model, NULL), 0);
	assert_int_equal(tu_cli(&out, NULL, "-c", c, "generate", "shop", NULL), 0);
	assert_non_null(strstr(out, "countermeasures: 4, 2 in scope"));
	free(out);
	assert_int_equal(tu_cli(&out, NULL, "-c", c, "status", "shop", NULL), 0);
	assert_non_null(strstr(out, "tasks in scope: 2 (todo 2)"));
	free(out);
	assert_int_equal(tu_cli(&out, NULL, "-c", c, "ingest", "shop", sarif, NULL), 0);
	assert_non_null(strstr(out, "scan 1 by x: 0 results"));
	free(out);

	char *want = ts_asprintf("%s:4: connector 'gl': token_file: cannot read the secret file "
	                         "%s/no-token: No such file or directory\n"
	                         "%s:5: connector 'gl': webhook_secret_file: cannot read the "
	                         "secret file %s/no-hook: No such file or directory\n",
	                         c, f->dir, c, f->dir);
	assert_int_equal(tu_cli(&out, &err, "-c", c, "config", "check", NULL), EX_CONFIG);
	assert_string_equal(out, "");
	assert_string_equal(err, want);
	free(out);
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "-c", c, "sync", "--once", NULL), EX_CONFIG);
	assert_string_equal(err, want);
	free(err);
	const char *argv[] = {tu_env("TS_THREATSYNCD"), "--check-config", c, NULL};
	assert_int_equal(tu_run(argv, NULL, NULL, 30000, NULL, &err), EX_CONFIG);
	assert_non_null(strstr(err, "4: connector 'gl': token_file: cannot read the secret file"));
	assert_non_null(strstr(err, "5: connector 'gl': webhook_secret_file: cannot read"));
	free(err);
	free(want);
	free(sarif);
	free(model);
}

static void test_credentials_directory(void **state)
{
	struct fx *f = *state;
	char *cred = ts_asprintf("%s/creds", f->dir);
	assert_int_equal(mkdir(cred, 0700), 0);
	free(tu_write_file(cred, "gl_token", SECRET2 "\n"));
	char *conf = ts_asprintf("connectors = (\n"                           /* 1 */
	                         "  { name = \"gl\"; type = \"gitlab\";\n"    /* 2 */
	                         "    base_url = \"https://g.example\";\n"    /* 3 */
	                         "    token_file = \"gl_token\";\n"           /* 4 */
	                         "    webhook_secret_file = \"%s/hook\"; }\n" /* 5: absolute */
	                         ");\n",
	                         f->dir);
	/* Without $CREDENTIALS_DIRECTORY the file is looked for next to the config. */
	char *want = ts_asprintf("cannot read the secret file %s/gl_token", f->dir);
	expect_error(f, conf, 4, want);
	free(want);

	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	struct config *cfg = expect_ok(f, conf);
	const struct config_connector *c = config_find_connector(cfg, "gl");
	want = ts_asprintf("%s/gl_token", cred);
	assert_string_equal(c->token.path, want);
	assert_string_equal(c->token.value, SECRET2);
	free(want);
	/* An absolute path ignores $CREDENTIALS_DIRECTORY. */
	want = ts_asprintf("%s/hook", f->dir);
	assert_string_equal(c->webhook_secret.path, want);
	free(want);
	config_free(cfg);
	free(conf);
	free(cred);
}

static void test_relative_paths(void **state)
{
	struct fx *f = *state;
	struct config *cfg = expect_ok(f, "database = \"ts.db\";\n"
	                                  "library_paths = [ \"lib\", \"/abs/lib\" ];\n");
	char *want = ts_asprintf("%s/ts.db", f->dir);
	assert_string_equal(cfg->database, want);
	free(want);
	want = ts_asprintf("%s/lib", f->dir);
	assert_string_equal(cfg->library_paths[0], want);
	free(want);
	assert_string_equal(cfg->library_paths[1], "/abs/lib");
	assert_null(cfg->library_paths[2]);
	config_free(cfg);

	setenv("STATE_DIRECTORY", "/var/lib/ts-state:/var/lib/other", 1);
	cfg = expect_ok(f, "database = \"ts.db\";\nlibrary_paths = [];\n");
	assert_string_equal(cfg->database, "/var/lib/ts-state/ts.db");
	assert_null(cfg->library_paths[0]);
	config_free(cfg);
	cfg = expect_ok(f, "database = \":memory:\";\n");
	assert_string_equal(cfg->database, ":memory:");
	config_free(cfg);
}

static void test_invalid_listen(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {"127.0.0.1",    "::1:8750",   "[::1]:0",
	                                  "1.2.3.999:80", "host:65536", "[zz::1]:80",
	                                  "host name:80", ":80",        "127.0.0.1:8x"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad); i++) {
		char *text = ts_asprintf(
		    "log_level = \"info\";\nhttp = {\n  listen = \"%s\";\n};\n", bad[i]);
		expect_error(f, text, 3, "http: listen: ");
		free(text);
	}
	static const char *const good[] = {"[::1]:8750", "localhost:80", "0.0.0.0:65535",
	                                   "[fe80::1]:1", ""};
	for (size_t i = 0; i < TS_ARRAY_SIZE(good); i++) {
		char *text = ts_asprintf("http = { listen = \"%s\"; };\n", good[i]);
		struct config *cfg = expect_ok(f, text);
		if (*good[i])
			assert_string_equal(cfg->http_listen, good[i]);
		else
			assert_null(cfg->http_listen);
		config_free(cfg);
		free(text);
	}
}

static void test_invalid_classification_class(void **state)
{
	struct fx *f = *state;
	expect_error(f,
	             "classification = (\n"                                      /* 1 */
	             "  { name = \"a\"; when = \"true\"; class = \"high\"; },\n" /* 2 */
	             "  {\n"                                                     /* 3 */
	             "    name = \"b\";\n"                                       /* 4 */
	             "    when = \"true\";\n"                                    /* 5 */
	             "    class = \"severe\";\n"                                 /* 6 */
	             "  }\n"
	             ");\n",
	             6,
	             "classification rule 'b': class 'severe' is not one of: critical, high, "
	             "medium, low");
	expect_error(f,
	             "classification = (\n"                                      /* 1 */
	             "  { name = \"a\"; when = \"true\"; class = \"high\"; },\n" /* 2 */
	             "  { name = \"a\"; when = \"true\"; class = \"low\"; }\n"   /* 3 */
	             ");\n",
	             3, "duplicate rule name 'a' (first defined at line 2)");
	expect_error(f,
	             "classification = (\n"                                 /* 1 */
	             "  { name = \"a\"; when = \"\"; class = \"high\"; }\n" /* 2 */
	             ");\n",
	             2, "when: must not be empty");
	expect_error(f,
	             "classification = (\n"                    /* 1 */
	             "  { name = \"a\"; class = \"high\"; }\n" /* 2 */
	             ");\n",
	             2, "classification rule 'a': when is required");

	struct config *cfg =
	    expect_ok(f, "classification = (\n"
	                 "  { name = \"x\"; when = \"true\"; class = \"high\"; },\n"
	                 "  {\n"
	                 "    name = \"y\"; when = \"false\"; class = \"low\"; }\n"
	                 ");\n");
	assert_int_equal(cfg->n_rules, 2);
	assert_string_equal(cfg->rules[0].name, "x");
	assert_string_equal(cfg->rules[0].risk_class, "high");
	assert_int_equal(cfg->rules[0].line, 2);
	assert_string_equal(cfg->rules[1].when, "false");
	assert_int_equal(cfg->rules[1].line, 3);
	config_free(cfg);
}

static void test_classification_expression(void **state)
{
#if defined(__has_include)
#if __has_include("engine/expr/expr.h")
	expect_error(
	    *state,
	    "classification = (\n" /* 1 */
	    "  { name = \"ok\"; when = \"model.any(c, c.handles_pii)\"; class = \"high\"; },\n"
	    "  { name = \"broken\";\n"                             /* 3 */
	    "    when = \"model.any(c, c.internet_facing &&)\";\n" /* 4 */
	    "    class = \"high\"; }\n"
	    ");\n",
	    4, "classification rule 'broken': when: column ");
	return;
#endif
#endif
	skip();
}

static void test_bad_policy_group(void **state)
{
	struct fx *f = *state;
	expect_error(f,
	             "policies = {\n"                      /* 1 */
	             "  high = { max_priority = 3; };\n"   /* 2 */
	             "  urgent = { max_priority = 1; };\n" /* 3 */
	             "};\n",
	             3, "policies: 'urgent' is not a risk class");
	expect_error(f,
	             "policies = {\n"                /* 1 */
	             "  high = {\n"                  /* 2 */
	             "    sla_days = [ 1, 2, 3 ];\n" /* 3 */
	             "  };\n"
	             "};\n",
	             3, "policy 'high': sla_days: expected exactly 4 integers");
	expect_error(f,
	             "policies = {\n"                    /* 1 */
	             "  high = {\n"                      /* 2 */
	             "    min_severity = \"info\";\n"    /* 3 */
	             "    max_priority = 5;\n"           /* 4 */
	             "    sla_days = [ 1, -2, 3, 4 ];\n" /* 5 */
	             "  };\n"
	             "};\n",
	             4, "policy 'high': max_priority 5 is out of range 1..4");
	const char *msg =
	    expect_error(f, "policies = { low = { sla_days = [ 1, -2, 3, 4 ]; }; };\n", 1,
	                 "sla_days[1] -2 is out of range 0..3650");
	assert_int_equal(count_lines(msg), 1);

	/* Keys left out keep the class's built-in default. */
	struct config *cfg =
	    expect_ok(f, "policies = {\n"
	                 "  high = { max_priority = 2; frameworks = [ \"gdpr\" ]; };\n"
	                 "};\n");
	const struct config_policy *p = config_find_policy(cfg, "high");
	assert_non_null(p);
	assert_int_equal(p->max_priority, 2);
	assert_string_equal(p->min_severity, "medium");
	assert_int_equal(p->sla_days[0], 14);
	assert_int_equal(p->sla_days[2], 120);
	assert_string_equal(p->frameworks[0], "gdpr");
	assert_null(p->frameworks[1]);
	assert_int_equal(p->line, 2);
	assert_null(config_find_policy(cfg, "critical"));
	config_free(cfg);
}

static void test_jira_specific_keys(void **state)
{
	struct fx *f = *state;
	expect_error(f,
	             "connectors = (\n"                        /* 1 */
	             "  { name = \"gl\"; type = \"gitlab\";\n" /* 2 */
	             "    base_url = \"https://g.example\";\n" /* 3 */
	             "    token_file = \"jira_token\";\n"      /* 4 */
	             "    email = \"a@b.example\";\n"          /* 5 */
	             "    issue_type = \"Bug\"; }\n"           /* 6 */
	             ");\n",
	             5, "email is only valid for Jira connectors");
	expect_error(f,
	             "connectors = (\n"                        /* 1 */
	             "  { name = \"j\"; type = \"jira\";\n"    /* 2 */
	             "    base_url = \"https://j.example\";\n" /* 3 */
	             "    token_file = \"jira_token\"; }\n"    /* 4 */
	             ");\n",
	             2, "email is required for a Jira Cloud connector");
	expect_error(f,
	             "connectors = (\n"                                              /* 1 */
	             "  { name = \"j\"; type = \"jira\"; flavor = \"datacenter\";\n" /* 2 */
	             "    base_url = \"ftp://j.example\";\n"                         /* 3 */
	             "    token_file = \"jira_token\";\n"                            /* 4 */
	             "    labels = [ \"has space\" ];\n"                             /* 5 */
	             "    connect_timeout_ms = 5000; request_timeout_ms = 1000; }\n" /* 6 */
	             ");\n",
	             3, "base_url: must start with http:// or https://");
	const char *msg =
	    expect_error(f,
	                 "connectors = (\n"
	                 "  { name = \"j\"; type = \"jira\"; flavor = \"datacenter\";\n"
	                 "    base_url = \"https://j.example\";\n"
	                 "    token_file = \"jira_token\";\n"
	                 "    labels = [ \"has space\" ];\n" /* 5 */
	                 "    connect_timeout_ms = 5000; request_timeout_ms = 1000; }\n"
	                 ");\n",
	                 5, "labels: 'has space' contains a space, which Jira refuses");
	assert_non_null(strstr(msg, ":2: connector 'j': request_timeout_ms (1000) must not be less "
	                            "than connect_timeout_ms (5000)"));

	struct config *cfg = expect_ok(f, JIRA_CONNECTOR);
	const struct config_connector *c = config_find_connector(cfg, "jira");
	assert_int_equal(c->type, CONFIG_CONNECTOR_JIRA);
	assert_int_equal(c->flavor, CONFIG_JIRA_CLOUD);
	assert_string_equal(c->base_url, "https://acme.atlassian.net");
	assert_string_equal(c->email, "bot@acme.example");
	assert_string_equal(c->issue_type, "Task");
	assert_string_equal(c->done_status, "Done");
	assert_string_equal(c->reopen_status, "To Do");
	assert_null(c->webhook_secret.value);
	assert_null(c->ca_bundle);
	assert_null(c->proxy);
	config_free(cfg);
}

static void test_several_errors(void **state)
{
	struct fx *f = *state;
	const char *msg = expect_error(f,
	                               "policies = { urgent = { }; };\n" /* 1 */
	                               "log_level = \"loud\";\n"         /* 2 */
	                               "http = {\n"                      /* 3 */
	                               "  listen = \"nowhere\";\n"       /* 4 */
	                               "  max_body_bytes = 1;\n"         /* 5 */
	                               "};\n"                            /* 6 */
	                               "bogus = 1;\n",                   /* 7 */
	                               1, "'urgent' is not a risk class");
	assert_int_equal(count_lines(msg), 5);
	/* Sorted by line, whatever order they were found in. */
	const char *l2 = strstr(msg, ":2: "), *l4 = strstr(msg, ":4: "), *l5 = strstr(msg, ":5: "),
	           *l7 = strstr(msg, ":7: ");
	assert_true(l2 && l4 && l5 && l7 && l2 < l4 && l4 < l5 && l5 < l7);

	/* The fixture: three problems. */
	struct ts_err err = {0};
	struct config *cfg = NULL;
	char *path = ts_asprintf("%s/tests/data/config/bad.conf", tu_env("TS_SOURCE_DIR"));
	assert_true(config_load_with_secrets(path, &cfg, &err) < 0);
	assert_int_equal(count_lines(err.msg), 3);
	char *want = ts_asprintf("%s:4: shutdown_timeout_ms 5 is out of range 100..60000\n"
	                         "%s:6: http: listen: expected HOST:PORT or [IPV6-ADDRESS]:PORT\n"
	                         "%s:9: policies: 'urgent' is not a risk class (one of critical, "
	                         "high, medium, low)",
	                         path, path, path);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);
}

static void test_many_errors_truncated(void **state)
{
	struct fx *f = *state;
	struct ts_buf b = {0};
	for (int i = 0; i < 400; i++)
		ts_buf_printf(&b, "unknown_key_number_%d = %d;\n", i, i);
	struct ts_err err = {0};
	struct config *cfg = NULL;
	assert_true(load_text(f, b.data, &cfg, &err) < 0);
	assert_true(strlen(err.msg) < sizeof(err.msg));
	assert_non_null(strstr(err.msg, ":1: unknown key 'unknown_key_number_0'"));
	assert_non_null(strstr(err.msg, "more problems"));
	ts_buf_free(&b);
}

static void write_shipped_secrets(const char *dir)
{
	static const char *const names[] = {"jira_token", "jira_webhook_secret", "gitlab_token",
	                                    "gitlab_webhook_secret", "api_tokens"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(names); i++)
		free(tu_write_file(dir, names[i], SECRET "\n"));
}

static void test_shipped_example(void **state)
{
	struct fx *f = *state;
	char *cred = ts_asprintf("%s/credentials", f->dir);
	assert_int_equal(mkdir(cred, 0700), 0);
	char *path = ts_asprintf("%s/etc/threatsync.conf", tu_env("TS_SOURCE_DIR"));
	struct ts_err err = {0};
	struct config *cfg = NULL;

	/* Without its secret files it is refused, naming each, never echoing. */
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	assert_true(config_load_with_secrets(path, &cfg, &err) < 0);
	assert_int_equal(count_lines(err.msg), 5);
	assert_non_null(strstr(err.msg, "connector 'jira': token_file: cannot read the secret"));

	write_shipped_secrets(cred);
	if (config_load_with_secrets(path, &cfg, &err) < 0)
		fail_msg("the shipped configuration is invalid:\n%s", err.msg);
	assert_string_equal(cfg->database, "/var/lib/threatsync/threatsync.db");
	assert_string_equal(cfg->http_listen, "127.0.0.1:8750");
	assert_string_equal(cfg->api_tokens.value, SECRET);
	assert_int_equal(cfg->n_connectors, 2);
	const struct config_connector *jira = config_find_connector(cfg, "jira");
	assert_non_null(jira);
	assert_int_equal(jira->flavor, CONFIG_JIRA_CLOUD);
	assert_non_null(jira->webhook_secret.value);
	assert_non_null(config_find_connector(cfg, "gitlab"));
	assert_int_equal(cfg->n_projects, 2);
	assert_string_equal(config_find_project(cfg, "billing-api")->connector, "gitlab");
	assert_true(cfg->n_rules >= 8);
	assert_string_equal(cfg->rules[cfg->n_rules - 1].when, "true");
	assert_string_equal(cfg->rules[cfg->n_rules - 1].risk_class, "low");
	assert_int_equal(cfg->n_policies, 4);
	for (size_t i = 0; i < cfg->n_policies; i++) {
		const struct config_policy *def =
		    config_default_policy(cfg->policies[i].risk_class);
		assert_string_equal(cfg->policies[i].min_severity, def->min_severity);
		assert_int_equal(cfg->policies[i].max_priority, def->max_priority);
		assert_memory_equal(cfg->policies[i].sla_days, def->sla_days,
		                    sizeof(def->sla_days));
	}
	config_free(cfg);
	tu_rmrf(cred);
	free(cred);
	free(path);
}

static void test_good_fixture(void **state)
{
	(void)state;
	char *dir = ts_asprintf("%s/tests/data/config", tu_env("TS_SOURCE_DIR"));
	char *path = ts_asprintf("%s/good.conf", dir);
	struct ts_err err = {0};
	struct config *cfg = NULL;
	if (config_load_with_secrets(path, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->http_max_body, 2048);
	assert_string_equal(cfg->http_listen, "[::1]:18750");
	const struct config_connector *c = config_find_connector(cfg, "jira-dc");
	assert_int_equal(c->flavor, CONFIG_JIRA_DATACENTER);
	assert_null(c->email);
	assert_string_equal(c->base_url, "https://jira.example.test/jira");
	assert_string_equal(c->token.value, "fixture-token-0123456789");
	assert_string_equal(c->webhook_secret.value, "fixture-webhook-secret-42");
	assert_string_equal(c->ca_bundle, path);
	assert_string_equal(c->proxy, "socks5h://proxy.example.test:1080");
	assert_true(c->rate_per_second == 2.0);
	assert_int_equal(c->poll_interval_s, 0);
	assert_string_equal(c->labels[0], "security");
	assert_null(c->labels[1]);
	assert_string_equal(c->done_status, "Closed");
	const struct config_project *p = config_find_project(cfg, "offline");
	assert_null(p->connector);
	assert_null(p->tracker_project);
	assert_string_equal(config_find_project(cfg, "widgetsrus")->labels[0], "wru");
	char *lib = ts_asprintf("%s/library", dir);
	assert_string_equal(cfg->library_paths[0], lib);
	free(lib);
	config_free(cfg);
	free(path);
	free(dir);
}

static void test_diff_unreloadable(void **state)
{
	struct fx *f = *state;
	struct config *old = expect_ok(f, "database = \"/a/old.db\";\nlog_level = \"info\";\n"
	                                  "http = { listen = \"127.0.0.1:1000\"; };\n");
	struct config *same = expect_ok(f, "database = \"/a/old.db\";\nlog_level = \"debug\";\n"
	                                   "http = { listen = \"127.0.0.1:1000\"; "
	                                   "max_body_bytes = 4096; };\n");
	struct ts_err err = {0};
	assert_int_equal(config_diff_unreloadable(old, same, &err), 0);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");

	struct config *changed = expect_ok(f, "database = \"/b/new.db\";\nlog_level = \"debug\";\n"
	                                      "http = { listen = \"\"; };\n");
	assert_int_equal(config_diff_unreloadable(old, changed, &err), 2);
	assert_int_equal(count_lines(err.msg), 2);
	char *want = ts_asprintf("%s: database changed from '/a/old.db' to '/b/new.db': not "
	                         "reloadable, keeping '/a/old.db' until restart\n"
	                         "%s: http.listen changed from '127.0.0.1:1000' to (unset): not "
	                         "reloadable, keeping '127.0.0.1:1000' until restart",
	                         f->conf, f->conf);
	assert_string_equal(err.msg, want);
	free(want);
	assert_null(strstr(err.msg, "log_level"));

	config_keep_unreloadable(changed, old);
	assert_string_equal(changed->database, "/a/old.db");
	assert_string_equal(changed->http_listen, "127.0.0.1:1000");
	assert_int_equal(changed->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(config_diff_unreloadable(old, changed, NULL), 0);
	config_free(old);
	config_free(same);
	config_free(changed);
}

static void test_cli_config_check(void **state)
{
	struct fx *f = *state;
	char *good = ts_asprintf("%s/tests/data/config/good.conf", tu_env("TS_SOURCE_DIR"));
	char *bad = ts_asprintf("%s/tests/data/config/bad.conf", tu_env("TS_SOURCE_DIR"));
	char *out = NULL, *err = NULL;
	int rc = tu_cli(&out, &err, "-c", good, "config", "check", NULL);
	if (rc != 0)
		fail_msg("exit %d, stderr:\n%s", rc, err);
	assert_non_null(strstr(out, "configuration OK"));
	assert_null(strstr(out, "fixture-token"));
	assert_null(strstr(err, "fixture-token"));
	free(out);
	free(err);

	rc = tu_cli(&out, &err, "-c", bad, "config", "check", NULL);
	assert_int_equal(rc, 78);
	char *want = ts_asprintf("%s:4: ", bad);
	assert_non_null(strstr(err, want));
	assert_null(strstr(out, "configuration OK"));
	free(want);
	free(out);
	free(err);

	/* A file that leaks nothing even when its secret file is missing. */
	char *conf =
	    tu_write_file(f->dir, "cli.conf", "http = {\n  api_tokens_file = \"absent\";\n};\n");
	rc = tu_cli(&out, &err, "-c", conf, "config", "check", NULL);
	assert_int_equal(rc, 78);
	want = ts_asprintf("%s:2: http: api_tokens_file: cannot read the secret file", conf);
	assert_non_null(strstr(err, want));
	free(want);
	free(out);
	free(err);
	free(conf);
	free(good);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_defaults_library_env),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_error_fixture, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_top_level_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_connector_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_enum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_connector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_project_undefined_connector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inline_secret_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_included_secret_not_quoted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_include_not_a_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_read_and_stripped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secrets_read_lazily, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secrets_loaded_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_without_secret_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credentials_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_listen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_classification_class, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_classification_expression, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_policy_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jira_specific_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_errors_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_example, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_good_fixture, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_diff_unreloadable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_config_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_project_findings_options, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
