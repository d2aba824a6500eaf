/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the library's duplicate checks: identical titles (errors), threats
 * sharing a CWE, a type and their condition (warnings), threats mapped only to
 * Pillar or Class CWE entries (warnings), aliases (loader), and the shipped
 * library's counts. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/library/library.h"
#include "helpers/testutil.h"

/* A threat entry: id, title, cwe list ("[79]"), applies_to list, condition
 * (NULL: none, and an "unconditional" reason instead), extra members (may be
 * ""). New string. */
static char *threat(const char *id, const char *title, const char *cwe, const char *types,
                    const char *cond, const char *extra)
{
	char *c = cond ? ts_asprintf(", \"condition\": \"%s\"", cond)
	               : ts_strdup(", \"unconditional\": \"Holds for every component.\"");
	char *s = ts_asprintf("{\"id\": \"%s\", \"title\": \"%s\", \"description\": \"d\", "
	                      "\"stride\": [\"T\"], \"applies_to\": %s, \"scope\": \"component\", "
	                      "\"severity\": \"high\", \"likelihood\": \"low\", \"cwe\": %s, "
	                      "\"countermeasures\": [\"C-A\"]%s%s}",
	                      id, title, types, cwe, c, extra);
	free(c);
	return s;
}

/* A library in a new temporary directory: two component types, the
 * countermeasures cms (a JSON array body) and threats (array body), and a
 * small cwe.json when with_cwe. */
static char *make_library(const char *cms, const char *threats, bool with_cwe)
{
	char *dir = tu_tmpdir();
	char *t = ts_asprintf("%s/threats", dir);
	char *c = ts_asprintf("%s/countermeasures", dir);
	assert_int_equal(mkdir(t, 0700) | mkdir(c, 0700), 0);
	free(tu_write_file(dir, "component_types.json",
	                   "{\"component_types\": ["
	                   "{\"id\": \"web_app\", \"name\": \"Web\", \"kind\": \"process\", "
	                   "\"description\": \"d\"},"
	                   "{\"id\": \"rest_api\", \"name\": \"API\", \"kind\": \"process\", "
	                   "\"description\": \"d\"}],"
	                   " \"properties\": [{\"name\": \"internet_facing\", \"scope\": "
	                   "\"component\", \"type\": \"boolean\", \"description\": \"d\"}]}"));
	char *doc = ts_asprintf("{\"countermeasures\": [%s]}", cms);
	free(tu_write_file(c, "a.json", doc));
	free(doc);
	doc = ts_asprintf("{\"threats\": [%s]}", threats);
	free(tu_write_file(t, "a.json", doc));
	free(doc);
	if (with_cwe)
		free(tu_write_file(dir, "cwe.json",
		                   "{\"version\": \"4.15\", \"columns\": [\"id\", \"name\", "
		                   "\"abstraction\", \"parents_view_1000\"], \"weaknesses\": ["
		                   "[74, \"Injection\", \"Class\", [707]],"
		                   "[79, \"XSS\", \"Base\", [74]],"
		                   "[284, \"Improper Access Control\", \"Pillar\", []],"
		                   "[707, \"Improper Neutralization\", \"Pillar\", []],"
		                   "[862, \"Missing Authorization\", \"Class\", [284]]]}"));
	free(t);
	free(c);
	return dir;
}

static const char CM_A[] = "{\"id\": \"C-A\", \"title\": \"Encode output\", \"priority\": 1, "
                           "\"requirement\": \"As a developer, I encode.\"}";

static json_t *lint(const char *dir)
{
	const char *dirs[1] = {dir};
	json_t *rep = NULL;
	struct ts_err err = {0};
	if (library_lint(dirs, 1, NULL, &rep, &err) < 0)
		fail_msg("library_lint: %s", err.msg);
	return rep;
}

/* The messages of the report's errors or warnings containing word. */
static size_t count_with(json_t *rep, const char *kind, const char *word)
{
	size_t n = 0, i;
	json_t *e;
	json_array_foreach (json_object_get(rep, kind), i, e) {
		n += strstr(json_string_value(json_object_get(e, "message")), word) != NULL;
	}
	return n;
}

static void test_same_threat_titles(void **state)
{
	(void)state;
	char *a = threat("T-A", "Cross-site scripting", "[79]", "[\"web_app\"]", NULL, "");
	char *b = threat("T-B", "Cross-Site Scripting", "[79]", "[\"rest_api\"]", NULL, "");
	char *both = ts_asprintf("%s, %s", a, b);
	char *dir = make_library(CM_A, both, false);
	json_t *rep = lint(dir);
	assert_false(json_is_true(json_object_get(rep, "ok")));
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 1);
	json_t *e = json_array_get(errs, 0);
	assert_string_equal(json_string_value(json_object_get(e, "path")), "$.threats[1].title");
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")),
	                       "threat \"T-B\" has the title of threat \"T-A\""));
	assert_non_null(strstr(json_string_value(json_object_get(e, "file")), "threats/a.json"));
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
	free(both);
	free(a);
	free(b);
}

static void test_same_cm_titles(void **state)
{
	(void)state;
	char *cms = ts_asprintf("%s, {\"id\": \"C-B\", \"title\": \"Encode output\", "
	                        "\"priority\": 2, \"requirement\": \"As a developer, I encode.\"}",
	                        CM_A);
	char *t = threat("T-A", "XSS", "[79]", "[\"web_app\"]", NULL, "");
	char *dir = make_library(cms, t, false);
	json_t *rep = lint(dir);
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 1);
	json_t *e = json_array_get(errs, 0);
	assert_string_equal(json_string_value(json_object_get(e, "path")),
	                    "$.countermeasures[1].title");
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")),
	                       "countermeasure \"C-B\" has the title of countermeasure \"C-A\""));
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
	free(cms);
	free(t);
}

/* A common CWE on a common type warns when the conditions are the same (two
 * absent ones included) and not when they differ or the types do not meet. */
static void test_overlapping_threats(void **state)
{
	(void)state;
	char *v[] = {
	    threat("T-A", "Reflected XSS", "[79, 74]", "[\"web_app\", \"rest_api\"]", NULL, ""),
	    threat("T-B", "Stored XSS", "[79]", "[\"rest_api\"]", NULL, ""),
	    threat("T-C", "DOM XSS", "[79]", "[\"web_app\"]", "component.internet_facing", ""),
	    threat("T-D", "Mutation XSS", "[79]", "[\"web_app\"]", "component.internet_facing", ""),
	    threat("T-E", "Other", "[862]", "[\"web_app\"]", NULL, ""),
	};
	char *all = ts_asprintf("%s, %s, %s, %s, %s", v[0], v[1], v[2], v[3], v[4]);
	char *dir = make_library(CM_A, all, false);
	json_t *rep = lint(dir);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	assert_int_equal(count_with(rep, "warnings", "share CWE"), 2);
	assert_int_equal(count_with(rep, "warnings",
	                            "threats \"T-A\" and \"T-B\" share CWE-79, the component type "
	                            "\"rest_api\" and the absence of a condition"),
	                 1);
	assert_int_equal(count_with(rep, "warnings",
	                            "threats \"T-C\" and \"T-D\" share CWE-79, the component type "
	                            "\"web_app\" and their condition"),
	                 1);
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
	free(all);
	for (size_t i = 0; i < TS_ARRAY_SIZE(v); i++)
		free(v[i]);
}

/* With a CWE catalog, a threat whose CWE ids are all Pillar or Class warns;
 * one Base entry is enough; without a catalog nothing is checked. */
static void test_abstract_cwe(void **state)
{
	(void)state;
	char *a = threat("T-A", "Injection", "[74, 284]", "[\"web_app\"]", NULL, "");
	char *b = threat("T-B", "XSS", "[74, 79]", "[\"rest_api\"]", NULL, "");
	char *c =
	    threat("T-C", "Authz", "[862]", "[\"rest_api\"]", "component.internet_facing", "");
	char *all = ts_asprintf("%s, %s, %s", a, b, c);
	char *dir = make_library(CM_A, all, true);
	json_t *rep = lint(dir);
	assert_int_equal(count_with(rep, "warnings", "Pillar or Class"), 2);
	size_t i;
	json_t *w;
	size_t seen = 0;
	json_array_foreach (json_object_get(rep, "warnings"), i, w) {
		const char *msg = json_string_value(json_object_get(w, "message"));
		const char *path = json_string_value(json_object_get(w, "path"));
		if (strstr(msg,
		           "\"T-A\" is mapped only to Pillar or Class CWE entries (CWE-74 is a "
		           "Class)")) {
			assert_string_equal(path, "$.threats[0].cwe");
			seen++;
		}
		if (strstr(msg,
		           "\"T-C\" is mapped only to Pillar or Class CWE entries (CWE-862 is a "
		           "Class)")) {
			assert_string_equal(path, "$.threats[2].cwe");
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
	dir = make_library(CM_A, all, false);
	rep = lint(dir);
	assert_int_equal(count_with(rep, "warnings", "Pillar or Class"), 0);
	json_decref(rep);
	tu_rmrf(dir);
	free(dir);
	free(all);
	free(a);
	free(b);
	free(c);
}

/* Aliases resolve to the surviving id; an alias that is an id, or another
 * entry's alias, does not load. */
static void test_aliases(void **state)
{
	(void)state;
	char *cms = ts_asprintf("%s, {\"id\": \"C-B\", \"title\": \"Sanitise\", \"aliases\": "
	                        "[\"C-OLD-B\"], \"priority\": 2, \"requirement\": \"As a dev.\"}",
	                        CM_A);
	char *a = threat("T-A", "XSS", "[79]", "[\"web_app\"]", NULL,
	                 ", \"aliases\": [\"T-OLD-1\", \"T-OLD-2\"]");
	char *dir = make_library(cms, a, false);
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("library_load: %s", err.msg);
	assert_string_equal(library_alias_target(lib, "T-OLD-1"), "T-A");
	assert_string_equal(library_alias_target(lib, "T-OLD-2"), "T-A");
	assert_string_equal(library_alias_target(lib, "C-OLD-B"), "C-B");
	assert_null(library_alias_target(lib, "T-A"));
	assert_null(library_alias_target(lib, "T-OLD-3"));
	assert_int_equal(library_threat(lib, "T-A")->n_aliases, 2);
	library_free(lib);
	tu_rmrf(dir);
	free(dir);
	free(a);

	/* An alias naming an existing entry. */
	a = threat("T-A", "XSS", "[79]", "[\"web_app\"]", NULL, ", \"aliases\": [\"T-B\"]");
	char *b = threat("T-B", "SQLi", "[79]", "[\"rest_api\"]", NULL, "");
	char *both = ts_asprintf("%s, %s", a, b);
	dir = make_library(cms, both, false);
	dirs[0] = dir;
	assert_true(library_load(dirs, 1, &lib, &err) < 0);
	assert_non_null(strstr(err.msg, "threats/a.json: $.threats[0].aliases: alias \"T-B\" of "
	                                "\"T-A\" is the id of an entry"));
	tu_rmrf(dir);
	free(dir);
	free(both);
	free(a);
	free(b);

	/* The same alias on two entries; a malformed alias. */
	a = threat("T-A", "XSS", "[79]", "[\"web_app\"]", NULL, ", \"aliases\": [\"T-OLD\"]");
	b = threat("T-B", "SQLi", "[79]", "[\"rest_api\"]", NULL,
	           ", \"aliases\": [\"T-OLD\", \"C-WRONG\"]");
	both = ts_asprintf("%s, %s", a, b);
	dir = make_library(cms, both, false);
	dirs[0] = dir;
	json_t *rep = lint(dir);
	/* The entry with the malformed alias is left out, so its other alias
	 * meets no other. */
	json_t *errs = json_object_get(rep, "errors");
	assert_int_equal(json_array_size(errs), 1);
	assert_int_equal(count_with(rep, "errors", "\"C-WRONG\" must look like T-WORD[-WORD...]"),
	                 1);
	json_decref(rep);
	/* With the malformed alias gone, the duplicate alias is the one error. */
	free(b);
	b = threat("T-B", "SQLi", "[79]", "[\"rest_api\"]", NULL, ", \"aliases\": [\"T-OLD\"]");
	free(both);
	both = ts_asprintf("%s, %s", a, b);
	tu_rmrf(dir);
	free(dir);
	dir = make_library(cms, both, false);
	dirs[0] = dir;
	assert_true(library_load(dirs, 1, &lib, &err) < 0);
	assert_non_null(strstr(err.msg, "$.threats[1].aliases: alias \"T-OLD\" of \"T-B\" is "
	                                "already an alias of \"T-A\""));
	tu_rmrf(dir);
	free(dir);
	free(both);
	free(a);
	free(b);
	free(cms);
}

/* The shipped library: no error, no threat mapped only to abstract CWE
 * entries, and the threats that share a CWE, a type and a condition counted
 * (docs/library.md: each pair is a different weakness, listed for review). */
static void test_shipped_library(void **state)
{
	(void)state;
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	json_t *rep = lint(dir);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	assert_int_equal(json_array_size(json_object_get(rep, "errors")), 0);
	/* One threat is a missing protection layer, for which CWE has no Base
	 * entry: CWE-693 (Protection Mechanism Failure) is the honest mapping. */
	assert_int_equal(count_with(rep, "warnings", "Pillar or Class"), 1);
	assert_int_equal(count_with(rep, "warnings", "\"T-EDGE-NO-WAF\" is mapped only to Pillar"), 1);
	assert_int_equal(count_with(rep, "warnings", "share CWE"), 54);
	assert_int_equal(json_array_size(json_object_get(rep, "warnings")), 55);
	/* The merged entries: their former ids resolve, and are no ids. */
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("library_load: %s", err.msg);
	static const char *const merged[][2] = {
	    {"C-DATA-NOSQL-QUERY-SAFETY", "C-NOSQL-SAFE-QUERIES"},
	    {"C-DEAD-LETTER-QUEUE", "C-DATA-DEAD-LETTER-QUEUES"},
	    {"C-DATA-LOG-REDACTION", "C-LOG-REDACTION"},
	    {"C-DATA-CSV-FORMULA-ESCAPING", "C-CSV-FORMULA-ESCAPING"},
	    {"C-DATA-RESTORE-TESTING", "C-RESTORE-DRILLS"},
	    {"C-LOG-SANITIZATION", "C-LOG-INJECTION-SAFE"},
	    {"C-HTTP-SMUGGLING-DEFENSE", "C-HTTP-DESYNC-PROTECTION"},
	    {"C-DATA-IMMUTABLE-BACKUPS", "C-IMMUTABLE-BACKUPS"},
	    {"T-DATA-NOSQL-INJECTION", "T-INJ-NOSQL"},
	    {"T-WEB-CSV-INJECTION", "T-DATA-EXPORT-FORMULA-INJECTION"},
	    {"T-SPA-BUNDLE-SECRETS", "T-CLIENT-EMBEDDED-SECRETS"},
	    {"T-AUTH-WEAK-LOGIN", "T-IDN-CREDENTIAL-STUFFING"},
	    {"T-GW-REQUEST-SMUGGLING", "T-LB-REQUEST-SMUGGLING"},
	    {"T-INJ-LOG", "T-LOG-INJECTION"},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(merged); i++) {
		const char *to = library_alias_target(lib, merged[i][0]);
		if (!to || strcmp(to, merged[i][1]) != 0)
			fail_msg("%s resolves to %s, expected %s", merged[i][0],
			         to ? to : "nothing", merged[i][1]);
		assert_null(library_threat(lib, merged[i][0]));
		assert_null(library_countermeasure(lib, merged[i][0]));
	}
	assert_int_equal(library_n_threats(lib), 345);
	assert_int_equal(library_n_countermeasures(lib), 368);
	library_free(lib);
	json_decref(rep);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_threat_titles),
	    cmocka_unit_test(test_same_cm_titles),
	    cmocka_unit_test(test_overlapping_threats),
	    cmocka_unit_test(test_abstract_cwe),
	    cmocka_unit_test(test_aliases),
	    cmocka_unit_test(test_shipped_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
