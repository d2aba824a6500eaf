/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the API token file (engine/api_tokens.c): the line format, scopes,
 * comments, every refusal with its FILE:LINE and never the token, the check
 * of an Authorization header against every token, and the file's problems
 * reported by config_load_with_secrets with the rest of the configuration. */
#include "helpers/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api_tokens.h"
#include "engine/config.h"

#define TOK_ALL "all-projects-Token-0001"
#define TOK_A "scoped-Token-A-0002"
#define TOK_STAR "star-Token-0003"

static const char FILE_TEXT[] = "# deploy tokens\n"
                                "\n" TOK_ALL "\n"
                                "   # indented comment\n" TOK_A "  project-a,project-b\r\n"
                                "\t" TOK_STAR "\t*\n";

static struct api_tokens *parse_ok(const char *text)
{
	struct api_tokens *t = NULL;
	struct ts_err err = {0};
	int rc = api_tokens_parse(text, "tokens", &t, &err);
	if (rc != 0)
		fail_msg("parse failed: %s", err.msg);
	return t;
}

static void parse_fails(const char *text, const char *want)
{
	struct api_tokens *t = NULL;
	struct ts_err err = {0};
	assert_int_equal(api_tokens_parse(text, "tokens", &t, &err), TS_E_CONFIG);
	assert_null(t);
	assert_int_equal(err.code, TS_E_CONFIG);
	if (strcmp(err.msg, want) != 0)
		fail_msg("message\n  got:  %s\n  want: %s", err.msg, want);
	assert_null(strstr(err.msg, "Secret-Token"));
}

static void test_parse_lines(void **state)
{
	(void)state;
	struct api_tokens *t = parse_ok(FILE_TEXT);
	assert_int_equal(t->n, 3);
	assert_string_equal(t->v[0].token, TOK_ALL);
	assert_null(t->v[0].projects);
	assert_int_equal(t->v[0].line, 3);
	assert_string_equal(t->v[1].token, TOK_A);
	assert_int_equal(t->v[1].n_projects, 2);
	assert_string_equal(t->v[1].projects[0], "project-a");
	assert_string_equal(t->v[1].projects[1], "project-b");
	assert_int_equal(t->v[1].line, 5);
	assert_string_equal(t->v[2].token, TOK_STAR);
	assert_null(t->v[2].projects);
	assert_int_equal(t->v[2].line, 6);
	api_tokens_free(t);
	api_tokens_free(NULL);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	parse_fails("ok-token\nSecret-Token a b\n",
	            "tokens:2: expected TOKEN or TOKEN PROJECTS (\"*\" or project-a,project-b), "
	            "found more fields");
	parse_fails("Secret-Token Project-A\n",
	            "tokens:1: 'Project-A' is not a project slug (lower-case letters, digits, "
	            "'-')");
	parse_fails("Secret-Token a,,b\n",
	            "tokens:1: the projects must be \"*\" or slugs separated by commas");
	parse_fails("Secret-Token1\n# x\nSecret-Token1 a\n",
	            "tokens:3: the same token as line 1 (not shown)");
	parse_fails("# only a comment\n\n",
	            "tokens: no token in the file (only blank and comment lines)");
	parse_fails("Secret-Token\xc3\xa9\n",
	            "tokens:1: a token may hold printable ASCII characters only (not shown)");
	/* Every bad line is reported, in order. */
	parse_fails("Secret-Token x y\ngood\nSecret-Token2 BAD\n",
	            "tokens:1: expected TOKEN or TOKEN PROJECTS (\"*\" or project-a,project-b), "
	            "found more fields\n"
	            "tokens:3: 'BAD' is not a project slug (lower-case letters, digits, '-')");
}

static void test_check_scopes(void **state)
{
	(void)state;
	struct api_tokens *t = parse_ok(FILE_TEXT);
	/* Missing or malformed headers. */
	assert_int_equal(api_tokens_check(t, NULL, "project-a"), API_AUTH_MISSING);
	assert_int_equal(api_tokens_check(t, "Basic abc", "project-a"), API_AUTH_MISSING);
	assert_int_equal(api_tokens_check(t, "Bearer ", "project-a"), API_AUTH_MISSING);
	/* Wrong tokens: a prefix, an extension, another case. */
	assert_int_equal(api_tokens_check(t, "Bearer all-projects-Token-000", "project-a"),
	                 API_AUTH_INVALID);
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_ALL "1", "project-a"), API_AUTH_INVALID);
	assert_int_equal(api_tokens_check(t, "Bearer ALL-PROJECTS-TOKEN-0001", "project-a"),
	                 API_AUTH_INVALID);
	/* The global tokens cover every project. */
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_ALL, "project-z"), API_AUTH_OK);
	assert_int_equal(api_tokens_check(t, "bearer  " TOK_STAR " ", "project-z"), API_AUTH_OK);
	/* The scoped one, its projects only. */
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_A, "project-a"), API_AUTH_OK);
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_A, "project-b"), API_AUTH_OK);
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_A, "project-c"), API_AUTH_FORBIDDEN);
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_A, "project"), API_AUTH_FORBIDDEN);
	assert_int_equal(api_tokens_check(t, "Bearer " TOK_A, NULL), API_AUTH_OK);
	/* No token file: the API is closed. */
	assert_int_equal(api_tokens_check(NULL, "Bearer " TOK_ALL, NULL), API_AUTH_INVALID);
	api_tokens_free(t);
}

static void test_slugs(void **state)
{
	(void)state;
	assert_true(api_slug_valid("a"));
	assert_true(api_slug_valid("web-shop-2"));
	assert_false(api_slug_valid(""));
	assert_false(api_slug_valid(NULL));
	assert_false(api_slug_valid("A"));
	assert_false(api_slug_valid("a/b"));
	assert_false(api_slug_valid(".."));
	char long_slug[70];
	memset(long_slug, 'a', 65);
	long_slug[65] = '\0';
	assert_false(api_slug_valid(long_slug));
	long_slug[64] = '\0';
	assert_true(api_slug_valid(long_slug));
}

/* config_load_with_secrets parses the token file and refuses it with the rest. */
static void test_config_token_file(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(tu_write_file(dir, "tokens", FILE_TEXT));
	free(tu_write_file(dir, "bad_tokens", "# x\nSecret-Token-Value Not_A_Slug\n"));
	char *good = tu_write_file(dir, "good.conf",
	                           "http = { api_tokens_file = \"tokens\";\n"
	                           "  max_upload_bytes = 4096; };\nspool_dir = \"spool\";\n");
	char *bad = tu_write_file(dir, "bad.conf",
	                          "http = { api_tokens_file = \"bad_tokens\"; };\n"
	                          "http_oops = 1;\n");
	struct config *cfg = NULL;
	struct ts_err err = {0};
	if (config_load_with_secrets(good, &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	assert_non_null(cfg->api_token_list);
	assert_int_equal(cfg->api_token_list->n, 3);
	assert_int_equal(cfg->http_max_upload, 4096);
	char *spool = ts_asprintf("%s/spool", dir);
	assert_string_equal(cfg->spool_dir, spool);
	free(spool);
	config_free(cfg);

	cfg = NULL;
	assert_true(config_load_with_secrets(bad, &cfg, &err) < 0);
	assert_null(cfg);
	char *want = ts_asprintf("%s:2: unknown key 'http_oops'\n"
	                         "%s/bad_tokens:2: 'Not_A_Slug' is not a project slug (lower-case "
	                         "letters, digits, '-')",
	                         bad, dir);
	if (strcmp(err.msg, want) != 0)
		fail_msg("message\n  got:  %s\n  want: %s", err.msg, want);
	assert_null(strstr(err.msg, "Secret-Token-Value"));
	free(want);

	/* Defaults: 256 MiB, no spool, no tokens. */
	cfg = config_new_default();
	assert_int_equal(cfg->http_max_upload, (size_t)256 << 20);
	assert_null(cfg->spool_dir);
	assert_null(cfg->api_token_list);
	config_free(cfg);

	/* The bound of max_upload_bytes. */
	char *over =
	    tu_write_file(dir, "over.conf", "http = { max_upload_bytes = 8589934592; };\n");
	assert_true(config_load_with_secrets(over, &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, ":1: http: max_upload_bytes"));
	free(over);
	free(good);
	free(bad);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_lines),       cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_check_scopes),      cmocka_unit_test(test_slugs),
	    cmocka_unit_test(test_config_token_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
