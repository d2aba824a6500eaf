/* SPDX-License-Identifier: Apache-2.0 */
/* The task templates of custom fields (engine/tracking/template.c): compiling,
 * every placeholder, verbatim values, the error messages and both limits. */
#include <jansson.h>
#include <string.h>

#include "engine/tracking/template.h"
#include "engine/util.h"
#include "helpers/testutil.h"

/* Compiles src, failing the test on error. New template. */
static struct template *compile_ok(const char *src)
{
	struct template *t = NULL;
	struct ts_err err = {0};
	int rc = template_compile(src, &t, &err);
	if (rc != 0)
		fail_msg("template_compile(\"%s\"): %d %s", src ? src : "(null)", rc, err.msg);
	assert_non_null(t);
	return t;
}

/* Compiles and renders src for task and compares with want. */
static void expect_render(const char *src, const struct template_task *task, const char *want)
{
	struct template *t = compile_ok(src);
	char *got = template_render(t, task);
	assert_string_equal(got, want);
	free(got);
	template_free(t);
}

/* Compiling src fails with TS_E_CONFIG and a message holding every needle
 * (NULL-terminated), and hands out no template. */
static void expect_error(const char *src, const char *const needles[])
{
	struct template *t = NULL;
	struct ts_err err = {0};
	assert_int_equal(template_compile(src, &t, &err), TS_E_CONFIG);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_null(t);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(err.msg, needles[i]))
			fail_msg("message \"%s\" lacks \"%s\"", err.msg, needles[i]);
}

/* A task body with two threats sharing CWE-79, a non-integer CWE that must be
 * ignored, and a component. New reference. */
static json_t *sample_body(void)
{
	json_t *body = json_pack("{s:[{s:[i,i]},{s:[i,s,i]}],s:{s:s,s:s,s:s}}", "threats", "cwe",
	                         79, 89, "cwe", 79, "not-a-number", 352, "component", "id", "web0",
	                         "name", "Web front end", "type", "web_application");
	assert_non_null(body);
	return body;
}

static void test_cwe_list(void **state)
{
	(void)state;
	json_t *body = sample_body();
	struct template_task task = {.body = body};
	/* First occurrence order, each id once, no prefix inside the list. */
	expect_render("CWE-{{cwe}}", &task, "CWE-79,89,352");
	expect_render("{{cwe}}", &task, "79,89,352");
	/* No threats, or threats without CWEs: nothing. */
	json_t *none = json_pack("{s:[{s:[]}]}", "threats", "cwe");
	struct template_task empty = {.body = none};
	expect_render("CWE-{{cwe}}", &empty, "CWE-");
	json_decref(none);
	json_decref(body);
}

static void test_cwe_names(void **state)
{
	(void)state;
	json_t *body = sample_body();
	json_t *names = json_pack("{s:s,s:s}", "79", "Cross-site Scripting", "352", "");
	struct template_task task = {.body = body, .cwe_names = names};
	/* Names where known, "CWE-N" for an unknown or empty name. */
	expect_render("{{cwe_names}}", &task, "Cross-site Scripting; CWE-89; CWE-352");
	task.cwe_names = NULL;
	expect_render("{{cwe_names}}", &task, "CWE-79; CWE-89; CWE-352");
	json_decref(names);
	json_decref(body);
}

static void test_every_placeholder(void **state)
{
	(void)state;
	json_t *body = sample_body();
	struct template_task task = {
	    .severity = "high",
	    .priority = 2,
	    .body = body,
	    .due_date = "2026-03-01",
	    .project = "shop",
	    .task = "C-TLS@web0",
	    .model_version = 7,
	};
	expect_render("{{severity}}", &task, "high");
	expect_render("P{{priority}}", &task, "P2");
	expect_render("{{component}} ({{component_type}})", &task,
	              "Web front end (web_application)");
	expect_render("due {{due_date}}", &task, "due 2026-03-01");
	expect_render("{{project}}/{{task}} v{{model_version}}", &task, "shop/C-TLS@web0 v7");
	/* Spaces and tabs inside the braces are allowed. */
	expect_render("{{ severity }}|{{\tpriority\t}}|{{  cwe}}", &task, "high|2|79,89,352");
	/* Literal text around and between placeholders is kept as written. */
	expect_render("a{{severity}}b{{severity}}c", &task, "ahighbhighc");
	json_decref(body);

	/* A component without a name: its id. */
	json_t *noname = json_pack("{s:{s:s,s:s}}", "component", "id", "api1", "name", "");
	task.body = noname;
	expect_render("{{component}}", &task, "api1");
	json_decref(noname);
}

static void test_missing_values_render_empty(void **state)
{
	(void)state;
	struct template_task task = {0};
	expect_render("[{{severity}}][{{priority}}][{{cwe}}][{{cwe_names}}][{{component}}]"
	              "[{{component_type}}][{{due_date}}][{{project}}][{{task}}]"
	              "[{{model_version}}]",
	              &task, "[][][][][][][][][][]");
	/* An empty or NULL source is an empty template. */
	expect_render("", &task, "");
	expect_render(NULL, &task, "");
	expect_render("plain text", &task, "plain text");
}

static void test_values_are_verbatim(void **state)
{
	(void)state;
	json_t *body = json_pack("{s:{s:s}}", "component", "name", "{{severity}}");
	struct template_task task = {
	    .severity = "{{cwe}}",
	    .project = "a}}b{{",
	    .body = body,
	};
	/* A value that looks like a placeholder is inserted as it is, never
	 * expanded again. */
	expect_render("{{severity}}", &task, "{{cwe}}");
	expect_render("{{component}}", &task, "{{severity}}");
	expect_render("<{{project}}>", &task, "<a}}b{{>");
	/* Braces that do not open a placeholder are literal text. */
	expect_render("{x} } {single} }}", &task, "{x} } {single} }}");
	json_decref(body);
}

static void test_unknown_placeholder(void **state)
{
	(void)state;
	const char *const a[] = {"unknown placeholder '{{cve}}'",
	                         "at offset 4",
	                         "known: ",
	                         "severity",
	                         "model_version",
	                         NULL};
	expect_error("CWE-{{cve}}", a);
	/* Names are exact: case and surrounding text matter. */
	const char *const b[] = {"unknown placeholder '{{Severity}}'", "offset 0", NULL};
	expect_error("{{Severity}}", b);
	const char *const c[] = {"unknown placeholder '{{}}'", NULL};
	expect_error("x{{}}", c);
	/* The first bad one is reported, even after good ones. */
	const char *const d[] = {"'{{ nope }}' at offset 12", NULL};
	expect_error("{{severity}}{{ nope }}{{other}}", d);
	/* A long bad name is shown cut, not whole. */
	char longname[200];
	memset(longname, 'z', sizeof(longname));
	memcpy(longname, "{{", 2);
	memcpy(longname + sizeof(longname) - 3, "}}", 3);
	struct template *t = NULL;
	struct ts_err err = {0};
	assert_int_equal(template_compile(longname, &t, &err), TS_E_CONFIG);
	assert_null(strstr(err.msg, "}}'"));
	assert_non_null(strstr(err.msg, "at offset 0"));
}

static void test_unterminated(void **state)
{
	(void)state;
	const char *const a[] = {"'{{' at offset 4 is not closed by '}}'", NULL};
	expect_error("CWE-{{cwe", a);
	const char *const b[] = {"'{{' at offset 12 is not closed", NULL};
	expect_error("{{severity}}{{", b);
	const char *const c[] = {"offset 0 is not closed", NULL};
	expect_error("{{cwe} }", c);
}

static void test_source_limit(void **state)
{
	(void)state;
	char src[TEMPLATE_SOURCE_MAX + 2];
	memset(src, 'x', TEMPLATE_SOURCE_MAX);
	src[TEMPLATE_SOURCE_MAX] = '\0';
	struct template_task task = {0};
	/* Exactly the limit compiles and renders unchanged. */
	struct template *t = compile_ok(src);
	char *out = template_render(t, &task);
	assert_int_equal(strlen(out), TEMPLATE_SOURCE_MAX);
	free(out);
	template_free(t);
	/* One byte more is refused. */
	src[TEMPLATE_SOURCE_MAX] = 'x';
	src[TEMPLATE_SOURCE_MAX + 1] = '\0';
	char want[64];
	snprintf(want, sizeof(want), "longer than %d bytes", TEMPLATE_SOURCE_MAX);
	const char *const needles[] = {want, NULL};
	expect_error(src, needles);
}

static void test_output_limit(void **state)
{
	(void)state;
	/* A value far longer than the output limit is cut to it. */
	size_t n = TEMPLATE_OUTPUT_MAX * 2;
	char *ascii = ts_malloc(n + 1);
	memset(ascii, 'a', n);
	ascii[n] = '\0';
	struct template_task task = {.project = ascii};
	struct template *t = compile_ok("{{project}}{{project}}");
	char *out = template_render(t, &task);
	assert_int_equal(strlen(out), TEMPLATE_OUTPUT_MAX);
	free(out);
	template_free(t);
	free(ascii);

	/* Two-byte characters after a one-byte prefix: byte TEMPLATE_OUTPUT_MAX
	 * falls inside a character, so the cut moves before that character and
	 * the output stays valid UTF-8. */
	size_t chars = TEMPLATE_OUTPUT_MAX;
	char *wide = ts_malloc(chars * 2 + 1);
	for (size_t i = 0; i < chars; i++)
		memcpy(wide + 2 * i, "\xc3\xa9", 2);
	wide[chars * 2] = '\0';
	task.project = wide;
	t = compile_ok("x{{project}}");
	out = template_render(t, &task);
	size_t len = strlen(out);
	assert_true(len <= TEMPLATE_OUTPUT_MAX);
	assert_int_equal(len, TEMPLATE_OUTPUT_MAX - 1);
	assert_int_equal((unsigned char)out[0], 'x');
	assert_int_equal((unsigned char)out[len - 2], 0xc3);
	assert_int_equal((unsigned char)out[len - 1], 0xa9);
	free(out);
	template_free(t);
	/* Without the prefix the limit falls between characters: no cut back. */
	t = compile_ok("{{project}}");
	out = template_render(t, &task);
	assert_int_equal(strlen(out), TEMPLATE_OUTPUT_MAX);
	free(out);
	template_free(t);
	free(wide);
}

static void test_names_and_free(void **state)
{
	(void)state;
	const char *names = template_names();
	static const char *const all[] = {"severity",  "priority",       "cwe",      "cwe_names",
	                                  "component", "component_type", "due_date", "project",
	                                  "task",      "model_version"};
	/* Every name the message lists compiles, and the list names them all. */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_non_null(strstr(names, all[i]));
		char src[64];
		snprintf(src, sizeof(src), "{{%s}}", all[i]);
		template_free(compile_ok(src));
	}
	template_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cwe_list),
	    cmocka_unit_test(test_cwe_names),
	    cmocka_unit_test(test_every_placeholder),
	    cmocka_unit_test(test_missing_values_render_empty),
	    cmocka_unit_test(test_values_are_verbatim),
	    cmocka_unit_test(test_unknown_placeholder),
	    cmocka_unit_test(test_unterminated),
	    cmocka_unit_test(test_source_limit),
	    cmocka_unit_test(test_output_limit),
	    cmocka_unit_test(test_names_and_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
