/* SPDX-License-Identifier: Apache-2.0 */
/* Field mapping: the task templates (engine/tracking/template.c), the connector keys
 * priority_map, custom_fields, transition_fields and status_map through the
 * configuration loader (errors with their line), and the status mapping. */
#include "helpers/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/config.h"
#include "engine/tracking/fieldmap.h"
#include "engine/tracking/task_status.h"
#include "engine/tracking/template.h"

static char *render(const char *src, const struct template_task *t)
{
	struct template *tpl = NULL;
	struct ts_err err = {0};
	assert_int_equal(template_compile(src, &tpl, &err), 0);
	char *out = template_render(tpl, t);
	template_free(tpl);
	return out;
}

static void test_template_render(void **state)
{
	(void)state;
	json_t *body = json_pack("{s:[{s:s, s:[i, i]}, {s:s, s:[i]}], s:{s:s, s:s, s:s}}",
	                         "threats", "uid", "T1", "cwe", 79, 352, "uid", "T2", "cwe", 79,
	                         "component", "id", "web", "name", "Web shop", "type", "web_app");
	json_t *names = json_pack("{s:s}", "79", "Cross-site Scripting");
	struct template_task t = {.severity = "high",
	                          .priority = 2,
	                          .body = body,
	                          .cwe_names = names,
	                          .due_date = "2026-03-01",
	                          .project = "shop",
	                          .task = "C-OUTPUT-ENCODING@web",
	                          .model_version = 7};
	char *s = render("{{severity}}/P{{ priority }}: CWE-{{cwe}} ({{cwe_names}}) on "
	                 "{{component}} [{{component_type}}] due {{due_date}} {{project}} "
	                 "{{task}} v{{model_version}}",
	                 &t);
	assert_string_equal(s, "high/P2: CWE-79,352 (Cross-site Scripting; CWE-352) on Web shop "
	                       "[web_app] due 2026-03-01 shop C-OUTPUT-ENCODING@web v7");
	free(s);
	/* A value is never expanded again, and missing values render empty. */
	struct template_task t2 = {.severity = "{{task}}", .task = "X"};
	s = render("{{severity}}|{{due_date}}|{{cwe}}|{{model_version}}", &t2);
	assert_string_equal(s, "{{task}}|||");
	free(s);
	/* Output is bounded, cut on a character boundary. */
	char *big = ts_malloc(TEMPLATE_OUTPUT_MAX + 10);
	memset(big, 'a', TEMPLATE_OUTPUT_MAX - 1);
	strcpy(big + TEMPLATE_OUTPUT_MAX - 1, "\xc3\xa9\xc3\xa9");
	struct template_task t3 = {.severity = big};
	s = render("{{severity}}{{severity}}", &t3);
	assert_int_equal(strlen(s), TEMPLATE_OUTPUT_MAX - 1);
	free(s);
	free(big);
	json_decref(body);
	json_decref(names);
}

static void test_template_errors(void **state)
{
	(void)state;
	struct template *t = NULL;
	struct ts_err err = {0};
	assert_true(template_compile("CWE-{{cwes}}", &t, &err) < 0);
	assert_int_equal(err.code, TS_E_CONFIG);
	assert_non_null(strstr(err.msg, "unknown placeholder '{{cwes}}' at offset 4"));
	assert_true(template_compile("{{severity", &t, &err) < 0);
	assert_non_null(strstr(err.msg, "not closed"));
	assert_null(t);
}

static char *write_conf(const char *dir, const char *connector_extra, const char *type)
{
	char *text =
	    ts_asprintf("database = \":memory:\";\n"
	                "connectors = (\n"
	                "  { name = \"t\"; type = \"%s\"; base_url = \"https://example.com\";\n"
	                "    email = \"a@example.com\"; token_file = \"tok\";\n"
	                "%s"
	                "  }\n"
	                ");\n",
	                type, connector_extra);
	char *p = tu_write_file(dir, "t.conf", text);
	free(text);
	return p;
}

/* The one mapping of a tracker state to a task status, every rule once:
 * status_map entries (by status, by resolution, by both, first match wins,
 * any case), then the built-in resolution and category rules. */
static void test_status_mapping(void **state)
{
	(void)state;
	struct fieldmap_status entries[] = {
	    {.status = "Ready for QA", .to = "in_progress"},
	    {.status = "Closed", .resolution = "Obsolete", .to = "not_applicable"},
	    {.resolution = "Duplicate", .to = "not_applicable"},
	    {.status = "Parked", .to = "todo"},
	    {.status = "Parked", .to = "done"}, /* never reached: the first match wins */
	};
	struct fieldmap fm = {.statuses = entries, .n_statuses = TS_ARRAY_SIZE(entries)};
	static const struct {
		bool mapped; /* with fm, else the built-in rule alone */
		const char *status, *category, *resolution, *want;
	} cases[] = {
	    /* built in: the category */
	    {false, "To Do", "new", NULL, "todo"},
	    {false, "In Progress", "indeterminate", NULL, "in_progress"},
	    {false, "Done", "done", "Done", "done"},
	    {false, "Done", "done", NULL, "done"},
	    /* built in: Won't Do / Won't Fix, any case, either apostrophe */
	    {false, "Closed", "done", "Won't Do", "risk_accepted"},
	    {false, "Closed", "done", "won't fix", "risk_accepted"},
	    {false, "Closed", "done", "Won\u2019t Do", "risk_accepted"},
	    {false, "Closed", NULL, "WON'T FIX", "risk_accepted"},
	    /* built in: nothing maps */
	    {false, "Weird", "weird", NULL, NULL},
	    {false, NULL, NULL, NULL, NULL},
	    /* status_map first */
	    {true, "ready for qa", "done", NULL, "in_progress"},
	    {true, "Closed", "done", "obsolete", "not_applicable"},
	    {true, "Closed", "done", "Done", "done"}, /* both must match */
	    {true, "Done", "done", "Duplicate", "not_applicable"},
	    {true, "Parked", "indeterminate", NULL, "todo"},
	    /* no entry matches: the built-in rule still applies */
	    {true, "In Progress", "indeterminate", NULL, "in_progress"},
	    {true, "Closed", "done", "Won't Do", "risk_accepted"},
	    {true, "Weird", NULL, NULL, NULL},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		const char *got = task_status_map(cases[i].mapped ? &fm : NULL, cases[i].status,
		                                  cases[i].category, cases[i].resolution);
		if (cases[i].want ? !got || strcmp(got, cases[i].want) != 0 : got != NULL)
			fail_msg("case %zu (%s/%s/%s): got %s, want %s", i,
			         cases[i].status ? cases[i].status : "-",
			         cases[i].category ? cases[i].category : "-",
			         cases[i].resolution ? cases[i].resolution : "-",
			         got ? got : "NULL", cases[i].want ? cases[i].want : "NULL");
	}
}

static void test_config_ok(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(tu_write_file(dir, "tok", "x\n"));
	char *conf = write_conf(
	    dir,
	    "    priority_map = [\"P0\", \"P1\", \"P2\", \"P3\"];\n"
	    "    custom_fields = ( { field = \"customfield_10042\"; value = \"{{severity}}\"; },\n"
	    "      { field = \"customfield_10050\"; value = \"CWE-{{cwe}}\"; owned = true;\n"
	    "        type = \"array\"; } );\n"
	    "    transition_fields = ( { to = \"Done\"; field = \"resolution\"; value = \"Done\"; "
	    "} "
	    ");\n"
	    "    status_map = ( { status = \"Ready for QA\"; to = \"in_progress\"; },\n"
	    "      { status = \"Won't Do\"; to = \"risk_accepted\"; },\n"
	    "      { resolution = \"Duplicate\"; to = \"not_applicable\"; } );\n",
	    "jira");
	struct config *cfg = NULL;
	struct ts_err err = {0};
	int rc = config_load(conf, &cfg, &err);
	if (rc < 0)
		fail_msg("%s", err.msg);
	const struct fieldmap *fm = cfg->connectors[0].fieldmap;
	assert_non_null(fm);
	assert_string_equal(fieldmap_priority(fm, 1), "P0");
	assert_string_equal(fieldmap_priority(fm, 4), "P3");
	assert_null(fieldmap_priority(fm, 5));
	assert_string_equal(fieldmap_priority(NULL, 2), "High");
	assert_int_equal(fm->n_custom, 2);
	assert_false(fm->custom[0].owned);
	assert_true(fm->custom[1].owned);
	assert_int_equal(fm->custom[1].kind, FIELDMAP_ARRAY);
	assert_int_equal(fm->n_transitions, 1);
	assert_string_equal(fm->transitions[0].value, "Done");
	/* Explicit mappings before the category; the rest as built in. */
	assert_string_equal(task_status_map(fm, "ready for qa", "done", NULL), "in_progress");
	assert_string_equal(task_status_map(fm, "Won't Do", "done", "Done"), "risk_accepted");
	assert_string_equal(task_status_map(fm, "Done", "done", "Duplicate"), "not_applicable");
	assert_string_equal(task_status_map(fm, "Done", "done", "Done"), "done");
	assert_string_equal(task_status_map(fm, "In Review", "indeterminate", NULL), "in_progress");
	assert_string_equal(task_status_map(NULL, "Closed", "done", "Won't Fix"), "risk_accepted");
	config_free(cfg);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

static void expect_error(const char *dir, const char *extra, const char *type, const char *want)
{
	char *conf = write_conf(dir, extra, type);
	struct config *cfg = NULL;
	struct ts_err err = {0};
	assert_true(config_load(conf, &cfg, &err) < 0);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	if (!strstr(err.msg, want))
		fail_msg("expected '%s' in:\n%s", want, err.msg);
	free(conf);
}

static void test_config_errors(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(tu_write_file(dir, "tok", "x\n"));
	/* The connector group starts at line 3; extra lines start at 5. */
	expect_error(
	    dir, "    custom_fields = ( { field = \"customfield_1\"; value = \"{{sev}}\"; } );\n",
	    "jira",
	    "t.conf:5: connector 't': custom_fields[0].value: template: unknown placeholder "
	    "'{{sev}}'");
	expect_error(dir, "    priority_map = [\"A\", \"B\"];\n", "jira",
	             "t.conf:5: connector 't': priority_map: expected exactly 4");
	expect_error(dir, "    priority_map = [\"A\", \"B\", \"C\", \"D\"];\n", "gitlab",
	             "t.conf:5: connector 't': priority_map is only valid for Jira connectors");
	expect_error(dir, "    custom_fields = ( { field = \"summary\"; value = \"x\"; } );\n",
	             "jira", "custom_fields[0].field: 'summary' is written by threatsync itself");
	expect_error(dir, "    status_map = (\n      { status = \"QA\"; to = \"closed\"; } );\n",
	             "jira", "t.conf:6: connector 't': status_map[0].to: 'closed' is not one of");
	expect_error(dir, "    status_map = ( { to = \"done\"; } );\n", "gitlab",
	             "status_map[0]: needs status or resolution");
	expect_error(dir,
	             "    transition_fields = ( { to = \"Done\"; field = \"resolution\"; } );\n",
	             "jira", "transition_fields[0]: value is required");
	expect_error(
	    dir,
	    "    custom_fields = ( { field = \"customfield_1\"; value = \"x\"; color = 1; } "
	    ");\n",
	    "jira", "custom_fields[0]: unknown key 'color'");
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_render),
	    cmocka_unit_test(test_template_errors),
	    cmocka_unit_test(test_status_mapping),
	    cmocka_unit_test(test_config_ok),
	    cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
