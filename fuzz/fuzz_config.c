/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the configuration loader and of the API tokens file.
 *
 * An input whose first byte is 'T' is the text of an API tokens file for
 * api_tokens_parse; any other input is a configuration file for config_load,
 * written into a directory of its own ($TMPDIR/tsfuzz-config-*, removed at
 * exit) beside secret files that relative *_file keys name: "token" and
 * "webhook.secret" (one marker secret each), "api_tokens" (a tokens file
 * with a marker token), "empty" and "nul" (refused). A configuration either
 * loads and frees cleanly or is refused with TS_E_CONFIG and a message whose
 * every line starts with a file name; no message ever holds a marker (unless
 * the input itself spells it). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/api_tokens.h"
#include "engine/config.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *__lsan_default_suppressions(void);

/* libconfig 1.5 (Debian's libconfig9) does not free the text of a string
 * token found where its grammar has none (a file holding only `""`, or
 * `o={""`): the scanner's buffer of a string (strbuf_append), or the one
 * byte of an empty string (libconfig_yylex). Leaks inside the library, on
 * the path of every configuration refused that way, which threatsync cannot
 * free. Only leaks allocated inside the library are let through: by the
 * scanner's function names where the stack is symbolized, by the library's
 * module name where it is not (a machine without llvm-symbolizer on the PATH
 * gives bare addresses in libconfig.so). Everything threatsync allocates
 * still fails the run (fuzz/regressions/config/). */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\nleak:libconfig.so\n";
}

/* Every marker starts with this; no message may contain it. */
#define MARKER "tsfuzzSECRET"

static char dir[256];
static char conf_path[300];

static void remove_dir(void)
{
	static const char *const names[] = {
	    "threatsync.conf", "token", "webhook.secret", "api_tokens", "empty", "nul", NULL};
	char p[320];
	for (size_t i = 0; names[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void write_file(const char *name, const char *data, size_t len)
{
	char p[320];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		fuzz_fail("cannot write a file of the harness", p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Secrets resolve against the file's directory, and nothing read through
	 * a path in the input may wait for a terminal. */
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	if (!freopen("/dev/null", "r", stdin))
		fuzz_fail("cannot reopen stdin", NULL);
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/tsfuzz-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		fuzz_fail("cannot create a temporary directory", dir);
	atexit(remove_dir);
	snprintf(conf_path, sizeof(conf_path), "%s/threatsync.conf", dir);
	write_file("token", MARKER "tokenA1b2C3d4e5\n", strlen(MARKER "tokenA1b2C3d4e5\n"));
	write_file("webhook.secret", MARKER "hookF6g7H8\r\n", strlen(MARKER "hookF6g7H8\r\n"));
	static const char tokens[] =
	    "# API tokens\n" MARKER "apiI9j0K1 web-app,billing\n" MARKER "apiAll *\n";
	write_file("api_tokens", tokens, strlen(tokens));
	write_file("empty", "\n", 1);
	write_file("nul", MARKER "x\0y", strlen(MARKER) + 3);
	return 0;
}

/* Each line of msg starts with the file its problem is in: the
 * configuration (its path as given), or a file it includes ("NAME:LINE: ",
 * the name as the include names it). */
static void check_lines(const char *msg, const char *file)
{
	size_t fl = strlen(file);
	for (const char *l = msg; *l;) {
		const char *nl = strchr(l, '\n');
		if (strncmp(l, file, fl) != 0 || (l[fl] != ':' || l[fl + 1] == '\0')) {
			const char *c = strchr(l, ':');
			const char *d = c ? c + 1 : NULL;
			while (d && *d >= '0' && *d <= '9')
				d++;
			if (!c || c == l || (nl && c > nl) || d == c + 1 || d[0] != ':' ||
			    d[1] != ' ')
				fuzz_fail("a problem line that does not start with a file name",
				          msg);
		}
		if (!nl)
			break;
		l = nl + 1;
	}
}

/* Whether the input spells needle somewhere. */
static bool input_has(const uint8_t *data, size_t size, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= size; i++)
		if (memcmp(data + i, needle, n) == 0)
			return true;
	return false;
}

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static void tokens_check(const struct api_tokens *t)
{
	if (!t || t->n == 0 || t->n > API_TOKENS_MAX)
		fuzz_fail("a tokens file that parsed into no tokens or too many", NULL);
	for (size_t i = 0; i < t->n; i++) {
		const struct api_token *tok = &t->v[i];
		size_t n = touch(tok->token);
		if (n == 0 || n > API_TOKEN_LEN_MAX)
			fuzz_fail("a token that is empty or too long", NULL);
		for (const char *p = tok->token; *p; p++)
			if (*p <= ' ' || *p > '~')
				fuzz_fail("a token that is not printable ASCII without blanks",
				          NULL);
		if (tok->projects &&
		    (tok->n_projects == 0 || tok->n_projects > API_TOKEN_PROJECTS_MAX))
			fuzz_fail("a project list that is empty or too long", NULL);
		for (size_t k = 0; tok->projects && k < tok->n_projects; k++)
			if (!api_slug_valid(tok->projects[k]))
				fuzz_fail("a project that is not a slug", tok->projects[k]);
		/* The token itself is accepted for what it covers. */
		char *auth = malloc(n + 8);
		if (!auth)
			fuzz_fail("out of memory", NULL);
		snprintf(auth, n + 8, "Bearer %s", tok->token);
		const char *project = tok->projects ? tok->projects[0] : "any-project";
		if (api_tokens_check(t, auth, project) != API_AUTH_OK)
			fuzz_fail("a parsed token is not accepted for its own project", NULL);
		free(auth);
	}
}

static void fuzz_tokens(const char *text)
{
	struct api_tokens *t = NULL;
	struct ts_err err = {0};
	int rc = api_tokens_parse(text, "tokens", &t, &err);
	if (rc < 0) {
		if (err.code != TS_E_CONFIG || strncmp(err.msg, "tokens:", 7) != 0)
			fuzz_fail("a refused tokens file without its documented error", err.msg);
		if (t)
			fuzz_fail("a refused tokens file with a result", NULL);
		/* "never quoting a token": the first word of each line. */
		for (const char *l = text; *l;) {
			while (*l == ' ' || *l == '\t')
				l++;
			size_t n = strcspn(l, " \t\r\n");
			if (n >= 16 && *l != '#') {
				char *w = strndup(l, n);
				if (!w)
					fuzz_fail("out of memory", NULL);
				/* Only a word the input holds nowhere else (not inside
				 * a project list that a message may quote). */
				size_t seen = 0;
				for (const char *q = text; (q = strstr(q, w)); q++)
					seen++;
				if (seen == 1 && strstr(err.msg, w))
					fuzz_fail("a refused tokens file's message quotes a token",
					          err.msg);
				free(w);
			}
			const char *nl = strchr(l, '\n');
			if (!nl)
				break;
			l = nl + 1;
		}
		return;
	}
	tokens_check(t);
	api_tokens_free(t);
}

static void check_config(const struct config *cfg)
{
	size_t total = touch(cfg->path) + touch(cfg->database) + touch(cfg->http_listen) +
	               touch(cfg->spool_dir) + touch(cfg->api_tokens.value);
	for (char **p = cfg->library_paths; p && *p; p++)
		total += touch(*p);
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const struct config_connector *c = &cfg->connectors[i];
		total += touch(c->name) + touch(c->base_url) + touch(c->email) +
		         touch(c->token.value) + touch(c->token.path) +
		         touch(c->webhook_secret.value) + touch(c->issue_type) +
		         touch(c->done_status) + touch(c->reopen_status);
		if (!c->name || !c->base_url || !c->labels)
			fuzz_fail("a connector without its name, URL or labels", NULL);
		if (config_find_connector(cfg, c->name) == NULL)
			fuzz_fail("a connector config_find_connector does not find", c->name);
		for (char **p = c->labels; *p; p++)
			total += touch(*p);
	}
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct config_project *p = &cfg->projects[i];
		if (!p->slug || !p->labels)
			fuzz_fail("a project without its slug or labels", NULL);
		if (p->connector && !config_find_connector(cfg, p->connector))
			fuzz_fail("a project synced by a connector that is not defined",
			          p->connector);
		total += touch(p->name) + touch(p->tracker_project) + touch(p->group_by);
	}
	for (size_t i = 0; i < cfg->n_rules; i++)
		total += touch(cfg->rules[i].name) + touch(cfg->rules[i].when);
	(void)total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'T') {
		char *text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		fuzz_tokens(text);
		free(text);
		return 0;
	}
	write_file("threatsync.conf", (const char *)data, size);
	struct config *cfg = NULL;
	struct ts_err err = {0};
	int rc = config_load(conf_path, &cfg, &err);
	if (rc < 0) {
		if (err.code != TS_E_CONFIG || !err.msg[0] || cfg)
			fuzz_fail("a refused configuration without its documented error", err.msg);
		check_lines(err.msg, conf_path);
		if (strstr(err.msg, MARKER) && !input_has(data, size, MARKER))
			fuzz_fail("a message holds a secret", err.msg);
		return 0;
	}
	if (rc != 0 || !cfg)
		fuzz_fail("config_load returned success without a configuration", NULL);
	check_config(cfg);
	config_free(cfg);
	return 0;
}
