/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the SARIF 2.1.0 reader: real logs of CodeQL, cppcheck, Grype,
 * njsscan, Semgrep and the specification's sample with exact figures, every
 * way producers name rules, CWE ids and files, the passes taken when a run's
 * tool follows its results, and hostile input refused with its path. */
#include "helpers/testutil.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings.h"
#include "engine/findings/findings_internal.h"

/* What the callback saw: one object per finding with its fields copied. */
struct got {
	json_t *items;
	int stop_at; /* > 0: the callback fails at this finding */
};

static void put(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static int on_finding(void *ud, const struct finding *f, struct ts_err *err)
{
	struct got *g = ud;
	json_t *o = json_object();
	put(o, "tool", f->tool);
	put(o, "tool_version", f->tool_version);
	put(o, "rule_id", f->rule_id);
	put(o, "rule_name", f->rule_name);
	put(o, "message", f->message);
	put(o, "severity", f->severity);
	put(o, "confidence", f->confidence);
	put(o, "kind", f->kind);
	put(o, "baseline_state", f->baseline_state);
	put(o, "path", f->path);
	put(o, "snippet", f->snippet);
	put(o, "url", f->url);
	put(o, "method", f->method);
	put(o, "fingerprint", f->fingerprint);
	put(o, "fingerprint_kind", f->fingerprint_kind);
	put(o, "suppression_reason", f->suppression_reason);
	put(o, "doc_path", f->doc_path);
	static const char *const supp[] = {"no", "yes", "review"};
	put(o, "suppressed", supp[f->suppression]);
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	for (size_t i = 0; i < f->n_cwe; i++)
		ts_buf_printf(&b, "%s%d", i ? "," : "", f->cwe[i]);
	put(o, "cwe", b.data);
	ts_buf_free(&b);
	char lines[64];
	snprintf(lines, sizeof(lines), "%d-%d", f->line, f->end_line);
	put(o, "lines", lines);
	json_array_append_new(g->items, o);
	if (g->stop_at && (int)json_array_size(g->items) == g->stop_at)
		return ts_err_set(err, TS_E_CONFIG, "stopped at %d", g->stop_at);
	return 0;
}

/* Field key of finding i ("" when the finding did not say). */
static const char *field(const struct got *g, size_t i, const char *key)
{
	json_t *o = json_array_get(g->items, i);
	if (!o)
		fail_msg("no finding %zu (%zu seen)", i, json_array_size(g->items));
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* How many findings have key == value. */
static size_t count(const struct got *g, const char *key, const char *value)
{
	size_t n = 0, i;
	json_t *o;
	json_array_foreach (g->items, i, o) {
		const char *v = json_string_value(json_object_get(o, key));
		if (v && strcmp(v, value) == 0)
			n++;
	}
	return n;
}

/* The JSON text with ' for " (readable documents in C). A new string. */
static char *dq(const char *s)
{
	char *d = ts_strdup(s);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static int parse_text(const char *text, size_t len, struct got *g, struct findings_report *rep,
                      struct ts_err *err)
{
	g->items = json_array();
	return findings_parse_buffer(text, len, "t.sarif", FINDINGS_FORMAT_SARIF, on_finding, g,
	                             rep, err);
}

/* Parses a document written with ' for "; fails the test on an error. */
static void parse_ok(const char *doc, struct got *g, struct findings_report *rep)
{
	char *text = dq(doc);
	struct ts_err err = {0};
	int rc = parse_text(text, strlen(text), g, rep, &err);
	free(text);
	if (rc)
		fail_msg("refused (%d): %s", rc, err.msg);
}

/* Parses a document expected to be refused with TS_E_INVALID and msg. */
static void parse_bad(const char *doc, const char *msg)
{
	char *text = dq(doc);
	struct got g = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	int rc = parse_text(text, strlen(text), &g, &rep, &err);
	free(text);
	json_decref(g.items);
	if (rc != TS_E_INVALID || strcmp(err.msg, msg) != 0)
		fail_msg("document: %s\nexpected: %s\ngot (%d): %s", doc, msg, rc, err.msg);
}

static void parse_real(const char *name, struct got *g, struct findings_report *rep)
{
	char *path = ts_asprintf("%s/tests/data/findings/sarif/%s", tu_env("TS_SOURCE_DIR"), name);
	struct ts_err err = {0};
	g->items = json_array();
	/* AUTO: detection must name these logs SARIF, whatever their key order */
	int rc = findings_parse(path, name, FINDINGS_FORMAT_AUTO, on_finding, g, rep, &err);
	free(path);
	if (rc)
		fail_msg("%s refused (%d): %s", name, rc, err.msg);
	assert_int_equal(rep->format, FINDINGS_FORMAT_SARIF);
	assert_string_equal(rep->detail, "sarif 2.1.0");
	assert_int_equal(rep->results, json_array_size(g->items));
}

/* ---- real logs (tests/data/findings/sarif/PROVENANCE.md) -----------------
 * The expected figures come from jq over each file, not from the parser:
 *   results:   jq '[.runs[].results[]] | length'
 *   kinds:     jq '[.runs[].results[].kind]'  (null everywhere but appendix K's "fail")
 *   severity:  security-severity of the result, else of its rule (number or
 *              numeric string as a CVSS score, else the word), else level
 *              (result, then rule.defaultConfiguration) error/warning/note/none;
 *              the jq program that does it is in PROVENANCE.md
 *   CWE:       jq '.runs[0].tool.driver.rules[] | [.id, (.properties.tags[]? |
 * select(test("cwe";"i")))]' fingerprints: jq '[.runs[].results[] | select(.partialFingerprints or
 * .fingerprints)] | length'
 */

static void test_codeql(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_real("codeql-2.5.4.sarif", &g, &rep);
	assert_int_equal(rep.results, 72);
	assert_int_equal(rep.skipped, 0);
	assert_false(rep.incomplete);
	assert_int_equal(count(&g, "severity", "critical"), 0);
	assert_int_equal(count(&g, "severity", "high"), 11);
	assert_int_equal(count(&g, "severity", "medium"), 4);
	assert_int_equal(count(&g, "severity", "low"), 57);
	assert_int_equal(count(&g, "tool", "CodeQL"), 72);
	assert_int_equal(count(&g, "tool_version", "2.5.4"), 72);
	assert_int_equal(
	    count(&g, "fingerprint_kind", "partialFingerprints/primaryLocationLineHash"), 72);
	/* rules without a CWE tag: commented-out-code 3, import-own-module 1,
	 * mixed-returns 3, unused-import 40 */
	assert_int_equal(count(&g, "cwe", ""), 47);
	assert_int_equal(count(&g, "cwe", "390"), 7);
	assert_int_equal(count(&g, "cwe", "215,489"), 4);
	assert_int_equal(count(&g, "cwe", "79,116"), 2);
	assert_int_equal(count(&g, "cwe", "89"), 2);
	/* zero-padded tags external/cwe/cwe-022 ... */
	assert_string_equal(field(&g, 56, "rule_id"), "py/path-injection");
	assert_string_equal(field(&g, 56, "cwe"), "22,23,36,73,99");
	assert_string_equal(field(&g, 56, "severity"), "high");
	/* %SRCROOT% with no originalUriBaseIds: the repository root */
	assert_string_equal(field(&g, 59, "rule_id"), "py/sql-injection");
	assert_string_equal(field(&g, 59, "path"), "bad/libuser.py");
	assert_string_equal(field(&g, 59, "lines"), "12-12");
	assert_string_equal(field(&g, 59, "fingerprint"), "87f19d40ee7aefaf:1");
	assert_string_equal(field(&g, 59, "doc_path"), "$.runs[0].results[59]");
	/* jq -r '.runs[0].results[59].message.text': twelve lines, one per source */
	const char *m = field(&g, 59, "message");
	assert_int_equal(strncmp(m, "This SQL query depends on [a user-provided value](1).\n", 54),
	                 0);
	assert_non_null(strstr(m, "\nThis SQL query depends on [a user-provided value](12)."));
	assert_string_equal(field(&g, 59, "suppressed"), "no");
	assert_string_equal(field(&g, 0, "path"), "good/db_init.py");
	assert_string_equal(field(&g, 0, "cwe"), "390");
	assert_string_equal(field(&g, 0, "severity"), "low");
	json_decref(g.items);
}

static void test_cppcheck(void **state)
{
	(void)state;
	/* results come before tool and runs before version: the passes that
	 * collect the runs first */
	struct got g = {0};
	struct findings_report rep;
	parse_real("cppcheck-2.17.1.sarif", &g, &rep);
	assert_int_equal(rep.results, 7);
	assert_int_equal(rep.skipped, 0);
	assert_int_equal(count(&g, "severity", "critical"), 4);
	assert_int_equal(count(&g, "severity", "medium"), 3);
	assert_int_equal(count(&g, "cwe", ""), 7);
	assert_int_equal(count(&g, "tool", "Cppcheck"), 7);
	assert_int_equal(count(&g, "tool_version", "2.17.1"), 7);
	assert_int_equal(count(&g, "fingerprint", ""), 0); /* absent keys are not stored */
	assert_null(json_object_get(json_array_get(g.items, 0), "fingerprint"));
	for (size_t i = 0; i < 7; i++) {
		char want[32];
		snprintf(want, sizeof(want), "$.runs[0].results[%zu]", i);
		assert_string_equal(field(&g, i, "doc_path"), want);
		assert_string_equal(field(&g, i, "path"), "cc_many.c");
	}
	assert_string_equal(field(&g, 0, "rule_id"), "arrayIndexOutOfBounds");
	assert_string_equal(field(&g, 0, "lines"), "12-12");
	assert_string_equal(field(&g, 1, "rule_id"), "memleak");
	assert_string_equal(field(&g, 1, "severity"), "critical");
	assert_string_equal(field(&g, 2, "rule_id"), "nullPointerOutOfMemory");
	assert_string_equal(field(&g, 2, "severity"), "medium");
	assert_string_equal(field(&g, 2, "confidence"), "high");
	json_decref(g.items);
}

static void test_grype(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_real("grype-0.34.7.sarif", &g, &rep);
	assert_int_equal(rep.results, 22);
	assert_int_equal(rep.skipped, 0);
	assert_int_equal(count(&g, "severity", "critical"), 1);
	assert_int_equal(count(&g, "severity", "high"), 11);
	assert_int_equal(count(&g, "severity", "medium"), 4);
	assert_int_equal(count(&g, "severity", "low"), 6);
	assert_int_equal(count(&g, "cwe", ""), 22);
	assert_int_equal(count(&g, "tool", "Grype"), 22);
	assert_int_equal(count(&g, "tool_version", "0.34.7"), 22); /* driver.version */
	/* the numeric string "9.8" */
	assert_string_equal(field(&g, 13, "rule_id"), "CVE-2019-12419-cxf-xjc-runtime");
	assert_string_equal(field(&g, 13, "severity"), "critical");
	assert_string_equal(field(&g, 13, "path"), "lib/cxf-xjc-runtime-3.3.1.jar");
	assert_string_equal(field(&g, 0, "rule_id"),
	                    "CVE-2008-0732-geronimo-j2ee-management_1.1_spec");
	assert_string_equal(field(&g, 0, "path"),
	                    "lib/geronimo-j2ee-management_1.1_spec-1.0.1.jar");
	assert_string_equal(field(&g, 0, "lines"), "1-1");
	assert_string_equal(field(&g, 0, "fingerprint"), "");
	json_decref(g.items);
}

static void test_njsscan(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_real("njsscan-0.2.3.sarif", &g, &rep);
	assert_int_equal(rep.results, 2);
	assert_false(rep.incomplete);
	/* properties.cwe "CWE-327: Use of a Broken ..." */
	assert_string_equal(field(&g, 0, "rule_id"), "node_insecure_random_generator");
	assert_string_equal(field(&g, 0, "cwe"), "327");
	assert_string_equal(field(&g, 0, "severity"), "medium");
	assert_string_equal(field(&g, 0, "rule_name"), "NodeInsecureRandomGenerator");
	/* file:///src/index.js: an absolute file, no base to be relative to */
	assert_string_equal(field(&g, 0, "path"), "/src/index.js");
	assert_string_equal(field(&g, 0, "lines"), "321-321");
	assert_string_equal(field(&g, 1, "rule_id"), "node_password");
	assert_string_equal(field(&g, 1, "cwe"), "798");
	assert_string_equal(field(&g, 1, "severity"), "high");
	assert_string_equal(field(&g, 1, "tool"), "nodejsscan");
	assert_string_equal(field(&g, 1, "tool_version"), "0.2.3");
	json_decref(g.items);
}

static void test_spec_appendix_k(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_real("sarif-spec-appendix-k.sarif", &g, &rep);
	assert_int_equal(rep.results, 1);
	assert_int_equal(rep.skipped, 0);
	assert_string_equal(field(&g, 0, "tool"), "CodeScanner");
	assert_string_equal(field(&g, 0, "tool_version"), "2.1.0"); /* semanticVersion first */
	assert_string_equal(field(&g, 0, "rule_id"), "C2001");
	assert_string_equal(field(&g, 0, "rule_name"),
	                    "A variable was used without being initialized.");
	assert_string_equal(field(&g, 0, "severity"), "high");
	/* message.id "default" with arguments ["ptr", "0"] */
	assert_string_equal(field(&g, 0, "message"),
	                    "Variable \"ptr\" was used without being initialized. It was declared "
	                    "[here](0).");
	/* SRCROOT is " src/" under PROJECTROOT file://build.example.com/work/ */
	assert_string_equal(field(&g, 0, "path"), "src/collections/list.h");
	assert_string_equal(field(&g, 0, "lines"), "15-15");
	assert_string_equal(field(&g, 0, "snippet"), "add_core(ptr, offset, val);\n    return;");
	/* the draft spelling suppressions[].state "accepted" */
	assert_string_equal(field(&g, 0, "suppressed"), "yes");
	assert_string_equal(field(&g, 0, "baseline_state"), "existing");
	assert_string_equal(field(&g, 0, "kind"), "fail");
	assert_string_equal(field(&g, 0, "cwe"), "");
	json_decref(g.items);
}

static void test_semgrep(void **state)
{
	(void)state;
	/* invocations and results before tool, version last */
	struct got g = {0};
	struct findings_report rep;
	parse_real("semgrep-1.69.0-gitlab-rules.sarif", &g, &rep);
	assert_int_equal(rep.results, 77);
	assert_int_equal(rep.skipped, 0);
	assert_false(rep.incomplete);
	/* security-severity words CRITICAL / HIGH / MEDIUM on the rules */
	assert_int_equal(count(&g, "severity", "critical"), 34);
	assert_int_equal(count(&g, "severity", "high"), 1);
	assert_int_equal(count(&g, "severity", "medium"), 42);
	assert_int_equal(count(&g, "tool", "Semgrep OSS"), 77);
	assert_int_equal(count(&g, "tool_version", "1.69.0"), 77);
	assert_int_equal(count(&g, "fingerprint_kind", "fingerprints/matchBasedId/v1"), 77);
	/* rule tags "CWE-943: Improper ..." */
	assert_int_equal(count(&g, "cwe", "943"), 27);
	assert_int_equal(count(&g, "cwe", "22"), 15);
	assert_int_equal(count(&g, "cwe", "338"), 11);
	assert_int_equal(count(&g, "cwe", "346"), 1);
	assert_int_equal(count(&g, "cwe", ""), 0);
	assert_string_equal(field(&g, 0, "cwe"), "22");
	assert_string_equal(field(&g, 0, "path"), "Gruntfile.js");
	assert_string_equal(field(&g, 0, "lines"), "75-75");
	assert_string_equal(field(&g, 0, "snippet"),
	                    "      const buffer = fs.readFileSync('dist/' + file)");
	assert_string_equal(field(&g, 1, "path"), "cypress.config.ts");
	assert_string_equal(field(&g, 1, "lines"), "49-51");
	assert_string_equal(field(&g, 1, "cwe"), "95");
	json_decref(g.items);
}

static void test_suppression_files(void **state)
{
	(void)state;
	/* jq '.runs[0].results[] | .suppressions': three with {kind} and no
	 * status (accepted), then null, then [] */
	struct got g = {0};
	struct findings_report rep;
	parse_real("suppression-test.sarif", &g, &rep);
	assert_int_equal(rep.results, 5);
	const char *want[] = {"yes", "yes", "yes", "no", "no"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(field(&g, i, "suppressed"), want[i]);
	assert_string_equal(field(&g, 0, "rule_id"), "TST0001");
	assert_string_equal(field(&g, 4, "message"), "Not suppressed");
	assert_string_equal(field(&g, 0, "severity"), "medium"); /* no level: warning */
	json_decref(g.items);

	struct got h = {0};
	parse_real("suppression-test-current.sarif", &h, &rep);
	assert_int_equal(rep.results, 4);
	assert_int_equal(count(&h, "suppressed", "yes"), 3);
	assert_string_equal(field(&h, 3, "suppressed"), "no");
	assert_string_equal(field(&h, 3, "message"), "Existing, originally suppressed result.");
	json_decref(h.items);
}

/* ---- synthetic logs ------------------------------------------------------ */

#define HEAD "{'version':'2.1.0','runs':[{"

static void test_rule_lookup(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(HEAD
	         "'tool':{'driver':{'name':'T','rules':[{'id':'A','name':'a-rule'},"
	         "{'id':'B','name':'b-rule'},{'id':'C','shortDescription':{'text':'c text'}}]},"
	         "'extensions':[{'name':'sec','guid':'G-1','rules':[{'id':'S0','name':'s0'},"
	         "{'id':'S1','name':'s1'}]}]},"
	         "'results':["
	         "{'ruleId':'B','message':{'text':'0'}},"
	         "{'ruleIndex':2,'message':{'text':'1'}},"
	         "{'rule':{'id':'S1','toolComponent':{'index':0}},'message':{'text':'2'}},"
	         "{'rule':{'index':0,'toolComponent':{'name':'sec'}},'message':{'text':'3'}},"
	         "{'rule':{'index':1,'toolComponent':{'guid':'g-1'}},'message':{'text':'4'}},"
	         "{'ruleId':'A/sub/x','message':{'text':'5'}},"
	         "{'ruleId':'S0','message':{'text':'6'}},"
	         "{'ruleId':'zzz','message':{'text':'7'}},"
	         "{'ruleId':'B','ruleIndex':0,'message':{'text':'8'}}"
	         "]}]}",
	         &g, &rep);
	assert_int_equal(rep.results, 9);
	const char *ids[] = {"B", "C", "S1", "S0", "S1", "A/sub/x", "S0", "zzz", "B"};
	const char *names[] = {"b-rule", "c text", "s1", "s0", "s1", "a-rule", "s0", "", "a-rule"};
	for (size_t i = 0; i < 9; i++) {
		assert_string_equal(field(&g, i, "rule_id"), ids[i]);
		assert_string_equal(field(&g, i, "rule_name"), names[i]);
	}
	json_decref(g.items);
}

static void test_rule_index_errors(void **state)
{
	(void)state;
	parse_bad(HEAD "'tool':{'driver':{'name':'T','rules':[{'id':'A'},{'id':'B'},{'id':'C'}]}},"
	               "'results':[{},{},{},{},{},{'ruleIndex':7}]}]}",
	          "t.sarif: $.runs[0].results[5].ruleIndex: rule index 7 out of range (3 rules "
	          "in tool.driver)");
	parse_bad(HEAD
	          "'tool':{'driver':{'name':'T'},'extensions':[{'name':'e','rules':[{'id':'A'}]}]},"
	          "'results':[{'rule':{'index':1,'toolComponent':{'index':0}}}]}]}",
	          "t.sarif: $.runs[0].results[0].rule.index: rule index 1 out of range (1 rule in "
	          "tool.extensions[0])");
	parse_bad(HEAD "'tool':{'driver':{'name':'T'}},"
	               "'results':[{'rule':{'index':0,'toolComponent':{'index':2}}}]}]}",
	          "t.sarif: $.runs[0].results[0].rule.toolComponent.index: tool component index 2 "
	          "out of range (0 in tool.extensions)");
	parse_bad(HEAD "'tool':{'driver':{'name':'T'}},"
	               "'results':[{'rule':{'id':'x','toolComponent':{'name':'nope'}}}]}]}",
	          "t.sarif: $.runs[0].results[0].rule.toolComponent: no tool component with name "
	          "\"nope\" in the run's tool");
	parse_bad(HEAD "'tool':{'driver':{'name':'T','rules':[{'id':'A'}]}},"
	               "'results':[{'ruleIndex':-3}]}]}",
	          "t.sarif: $.runs[0].results[0].ruleIndex: rule index -3 out of range (1 rule in "
	          "tool.driver)");
}

static void test_cwe_encodings(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(
	    HEAD
	    "'taxonomies':[{'name':'CWE','guid':'CWE-GUID','taxa':[{'id':'20'},{'id':'502'}]},"
	    "{'name':'OWASP','taxa':[{'id':'A1'}]}],"
	    "'tool':{'driver':{'name':'T','rules':["
	    "{'id':'tags','properties':{'tags':['security','external/cwe/cwe-079','CWE-89',"
	    "'cwe-22: Path Traversal','79x','352']}},"
	    "{'id':'rel','relationships':[{'target':{'id':'352','toolComponent':{'name':'CWE'}}},"
	    "{'target':{'id':'601','toolComponent':{'index':0}}},"
	    "{'target':{'id':'77','toolComponent':{'index':1}}},"
	    "{'target':{'id':'CWE-918','toolComponent':{'name':'other'}}},"
	    "{'target':{'id':'78','toolComponent':{'guid':'cwe-guid'}}}]},"
	    "{'id':'prop','properties':{'cwe':['CWE-327: Broken crypto',90,'CWE-89']}}]}},"
	    "'results':["
	    "{'ruleId':'tags'},"
	    "{'ruleId':'rel'},"
	    "{'ruleId':'prop','properties':{'cwe':'CWE-1004'}},"
	    "{'ruleId':'none','taxa':[{'id':'611','toolComponent':{'name':'CWE'}},"
	    "{'index':1,'toolComponent':{'index':0}},{'id':'A1','toolComponent':{'index':1}}]},"
	    "{'ruleId':'none','properties':{'tags':['CWE-1','CWE-2','CWE-3','CWE-4','CWE-5',"
	    "'CWE-6','CWE-7','CWE-8','CWE-9','CWE-1'],'cwe':5}}"
	    "]}]}",
	    &g, &rep);
	assert_int_equal(rep.results, 5);
	assert_string_equal(field(&g, 0, "cwe"), "79,89,22");
	assert_string_equal(field(&g, 1, "cwe"), "352,601,918,78");
	/* the result's own ids first, then its rule's */
	assert_string_equal(field(&g, 2, "cwe"), "1004,327,90,89");
	assert_string_equal(field(&g, 3, "cwe"), "611,502");
	/* at most FINDINGS_CWE_MAX, no duplicates */
	assert_string_equal(field(&g, 4, "cwe"), "1,2,3,4,5,6,7,8");
	json_decref(g.items);
}

static void test_severity(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(HEAD "'tool':{'driver':{'name':'T','rules':["
	              "{'id':'s','properties':{'security-severity':'7.5'}},"
	              "{'id':'e','defaultConfiguration':{'level':'error'}},"
	              "{'id':'w','properties':{'security-severity':'MEDIUM'}},"
	              "{'id':'x','properties':{'security-severity':'bogus'},"
	              "'defaultConfiguration':{'level':'note'}}]}},"
	              "'results':["
	              "{'ruleId':'s'},"
	              "{'ruleId':'s','properties':{'security-severity':9.1}},"
	              "{'ruleId':'e'},"
	              "{'ruleId':'e','level':'none'},"
	              "{'ruleId':'w','level':'error'},"
	              "{'ruleId':'x'},"
	              "{'ruleId':'none'},"
	              "{'ruleId':'none','level':'note'},"
	              "{'ruleId':'none','properties':{'security-severity':0}},"
	              "{'ruleId':'none','properties':{'security-severity':'3.9'}},"
	              "{'ruleId':'none','properties':{'security-severity':'Critical'}}"
	              "]}]}",
	         &g, &rep);
	const char *want[] = {"high",   "critical", "high", "info", "medium",  "low",
	                      "medium", "low",      "info", "low",  "critical"};
	assert_int_equal(rep.results, TS_ARRAY_SIZE(want));
	for (size_t i = 0; i < TS_ARRAY_SIZE(want); i++)
		assert_string_equal(field(&g, i, "severity"), want[i]);
	json_decref(g.items);
}

static void test_kinds_skipped(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(HEAD
	         "'tool':{'driver':{'name':'T'}},'results':["
	         "{'kind':'pass'},{'message':{'text':'a'}},{'kind':'notApplicable'},"
	         "{'kind':'open','message':{'text':'b'}},{'kind':'informational'},"
	         "{'kind':'review','message':{'text':'c'}},{'kind':'fail','message':{'text':'d'}}"
	         "]}]}",
	         &g, &rep);
	assert_int_equal(rep.results, 4);
	assert_int_equal(rep.skipped, 3);
	const char *kinds[] = {"fail", "open", "review", "fail"};
	const char *docs[] = {"$.runs[0].results[1]", "$.runs[0].results[3]",
	                      "$.runs[0].results[5]", "$.runs[0].results[6]"};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(field(&g, i, "kind"), kinds[i]);
		assert_string_equal(field(&g, i, "doc_path"), docs[i]);
	}
	json_decref(g.items);
}

static void test_uri_base_ids(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(
	    HEAD
	    "'tool':{'driver':{'name':'T'}},"
	    "'originalUriBaseIds':{'ROOT':{'uri':'file:///home/runner/work/x/x/'},"
	    "'SRC':{'uri':'src/','uriBaseId':'ROOT'},'LIB':{'uri':'lib/','uriBaseId':'SRC'},"
	    "'DESC':{'description':{'text':'no uri: the root'}}},"
	    "'artifacts':[{'location':{'uri':'zero.c'}},{'location':{'uri':'g.c','uriBaseId':'LIB'}"
	    "}],"
	    "'results':["
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'a.c','uriBaseId':'SRC'},"
	    "'region':{'startLine':3,'endLine':9}}}]},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'b/../"
	    "c.c','uriBaseId':'LIB'}}}]},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'./"
	    "d.c','uriBaseId':'%SRCROOT%'},"
	    "'contextRegion':{'snippet':{'text':'ctx'}},'region':{'startLine':4}}}]},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'e%20f.c','uriBaseId':'"
	    "ROOT'}}}]},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'index':1}}}]},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'file:///abs/"
	    "h.c','uriBaseId':'SRC'}}}]},"
	    "{'message':{'text':'no location'}},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'i.c','uriBaseId':'DESC'}"
	    "}}]},"
	    "{'locations':[{'physicalLocation':{'artifactLocation':{'uri':'j.c','uriBaseId':'"
	    "UNDECLARED'}}}]},"
	    "{'locations':[]}"
	    "]}]}",
	    &g, &rep);
	const char *paths[] = {"src/a.c", "src/lib/c.c", "d.c", "e f.c", "src/lib/g.c", "/abs/h.c",
	                       "",        "i.c",         "j.c", ""};
	assert_int_equal(rep.results, TS_ARRAY_SIZE(paths));
	for (size_t i = 0; i < TS_ARRAY_SIZE(paths); i++)
		assert_string_equal(field(&g, i, "path"), paths[i]);
	assert_string_equal(field(&g, 0, "lines"), "3-9");
	assert_string_equal(field(&g, 2, "lines"), "4-4");
	assert_string_equal(field(&g, 2, "snippet"), "ctx");
	assert_string_equal(field(&g, 6, "lines"), "0-0");
	json_decref(g.items);

	parse_bad(HEAD "'tool':{'driver':{'name':'T'}},"
	               "'originalUriBaseIds':{'A':{'uri':'a/','uriBaseId':'B'},"
	               "'B':{'uri':'b/','uriBaseId':'A'}},"
	               "'results':[{'locations':[{'physicalLocation':{'artifactLocation':"
	               "{'uri':'x.c','uriBaseId':'A'}}}]}]}]}",
	          "t.sarif: $.runs[0].originalUriBaseIds: the chain of base URIs from \"A\" is "
	          "longer than 8 (a cycle?)");
	parse_bad(
	    HEAD "'tool':{'driver':{'name':'T'}},'artifacts':[{'location':{'uri':'a'}}],"
	         "'results':[{'locations':[{'physicalLocation':{'artifactLocation':"
	         "{'index':3}}}]}]}]}",
	    "t.sarif: $.runs[0].results[0].locations[0].physicalLocation.artifactLocation.index: "
	    "artifact index 3 out of range (1 artifact in $.runs[0].artifacts)");
}

/* Results before what they need: the first pass hands over what it can, the
 * others resume after it, without handing anything over twice. */
static const char two_pass_doc[] =
    "{'runs':["
    "{'tool':{'driver':{'name':'First','version':'1'}},"
    "'results':[{'ruleId':'r','message':{'text':'run0 a'}},"
    "{'ruleId':'r','message':{'text':'run0 b'}}]},"
    "{'results':[{'ruleIndex':1,'message':{'text':'run1 a'}},{'kind':'pass'},"
    "{'ruleId':'x/y','message':{'text':'run1 c'}}],"
    "'tool':{'driver':{'name':'Second','semanticVersion':'2.0.0',"
    "'rules':[{'id':'x','name':'x-rule'},{'id':'y','name':'y-rule'}]}}},"
    "{'tool':{'driver':{'name':'Third'}},"
    "'results':[{'message':{'text':'run2 a'}},"
    "{'locations':[{'physicalLocation':{'artifactLocation':{'index':0}}}],"
    "'message':{'text':'run2 b'}},"
    "{'taxa':[{'index':0,'toolComponent':{'index':0}}],'message':{'text':'run2 c'}}],"
    "'artifacts':[{'location':{'uri':'late.c','uriBaseId':'B'}}],"
    "'originalUriBaseIds':{'B':{'uri':'base/'}},"
    "'taxonomies':[{'name':'CWE','taxa':[{'id':'434'}]}],"
    "'invocations':[{'executionSuccessful':false}]}"
    "],'version':'2.1.0'}";

static void check_two_pass(const struct got *g, const struct findings_report *rep)
{
	assert_int_equal(rep->results, 7);
	assert_int_equal(rep->skipped, 1);
	assert_true(rep->incomplete);
	const char *msgs[] = {"run0 a", "run0 b", "run1 a", "run1 c", "run2 a", "run2 b", "run2 c"};
	const char *tools[] = {"First", "First", "Second", "Second", "Third", "Third", "Third"};
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(field(g, i, "message"), msgs[i]);
		assert_string_equal(field(g, i, "tool"), tools[i]);
	}
	assert_string_equal(field(g, 0, "tool_version"), "1");
	assert_string_equal(field(g, 2, "tool_version"), "2.0.0");
	assert_string_equal(field(g, 2, "rule_id"), "y");
	assert_string_equal(field(g, 2, "rule_name"), "y-rule");
	assert_string_equal(field(g, 3, "rule_name"), "x-rule");
	assert_string_equal(field(g, 3, "doc_path"), "$.runs[1].results[2]");
	assert_string_equal(field(g, 5, "path"), "base/late.c");
	assert_string_equal(field(g, 6, "cwe"), "434");
}

static void test_tool_after_results(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(two_pass_doc, &g, &rep);
	check_two_pass(&g, &rep);
	json_decref(g.items);

	/* the same from a file, read again by each pass */
	char *dir = tu_tmpdir();
	char *text = dq(two_pass_doc);
	char *path = tu_write_file(dir, "late.sarif", text);
	struct got h = {.items = json_array()};
	struct ts_err err = {0};
	assert_int_equal(
	    findings_parse(path, "late.sarif", FINDINGS_FORMAT_AUTO, on_finding, &h, &rep, &err),
	    0);
	check_two_pass(&h, &rep);
	json_decref(h.items);
	free(path);
	free(text);
	tu_rmrf(dir);
	free(dir);

	/* version first, tool first: one pass, the version checked before any result */
	parse_bad("{'version':'2.0.0','runs':[{'tool':{'driver':{'name':'T'}},'results':[{}]}]}",
	          "t.sarif: $.version: SARIF version \"2.0.0\" is not supported (2.1.0 is)");
	/* version last: refused before any result is handed over */
	struct got k = {0};
	char *late = dq("{'runs':[{'tool':{'driver':{'name':'T'}},'results':[{},{}]}],"
	                "'version':'2.0.0'}");
	assert_int_equal(parse_text(late, strlen(late), &k, &rep, &err), TS_E_INVALID);
	assert_string_equal(
	    err.msg, "t.sarif: $.version: SARIF version \"2.0.0\" is not supported (2.1.0 is)");
	assert_int_equal(json_array_size(k.items), 0);
	free(late);
	json_decref(k.items);
}

static void test_message_strings(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(
	    HEAD
	    "'tool':{'driver':{'name':'T','globalMessageStrings':{'g':{'text':'global {0}'}},"
	    "'rules':[{'id':'R','messageStrings':{'default':{'text':'Use {0} not {1}; {{literal}} "
	    "{2}'},"
	    "'md':{'markdown':'**{0}**'}}}]}},"
	    "'results':["
	    "{'ruleId':'R','message':{'id':'default','arguments':['a','b']}},"
	    "{'ruleId':'R','message':{'id':'md','arguments':['m']}},"
	    "{'ruleId':'R','message':{'id':'g','arguments':['x']}},"
	    "{'ruleId':'R','message':{'text':'text {0} wins','markdown':'no','arguments':['t']}},"
	    "{'ruleId':'R','message':{'markdown':'*md*'}},"
	    "{'ruleId':'R','message':{'id':'missing'}},"
	    "{'ruleId':'R','message':{'text':'plain {0}'}}"
	    "]}]}",
	    &g, &rep);
	const char *want[] = {"Use a not b; {literal} {2}",
	                      "**m**",
	                      "global x",
	                      "text t wins",
	                      "*md*",
	                      "",
	                      "plain {0}"};
	assert_int_equal(rep.results, TS_ARRAY_SIZE(want));
	for (size_t i = 0; i < TS_ARRAY_SIZE(want); i++)
		assert_string_equal(field(&g, i, "message"), want[i]);
	json_decref(g.items);

	/* a template repeating a long argument stays within FINDINGS_STRING_MAX */
	struct ts_buf b = {0};
	ts_buf_puts(&b, HEAD "'tool':{'driver':{'name':'T'}},'results':[{'message':{'text':'");
	for (int i = 0; i < 300; i++)
		ts_buf_puts(&b, "{0}");
	ts_buf_puts(&b, "','arguments':['");
	for (int i = 0; i < 4096; i++)
		ts_buf_puts(&b, "x");
	ts_buf_puts(&b, "']}}]}]}");
	struct got h = {0};
	parse_ok(b.data, &h, &rep);
	assert_int_equal(strlen(field(&h, 0, "message")), FINDINGS_STRING_MAX);
	ts_buf_free(&b);
	json_decref(h.items);
}

static void test_fingerprints_suppressions_web(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(HEAD "'tool':{'driver':{'name':'T'}},"
	              "'webRequests':[{'target':'https://x.test/r','method':'put'}],"
	              "'invocations':[{'executionSuccessful':true}],"
	              "'results':["
	              "{'partialFingerprints':{'b':'2','a':'1','0':5},'fingerprints':{'f':'9'},"
	              "'suppressions':[{'status':'accepted','justification':'false positive'}],"
	              "'baselineState':'new'},"
	              "{'fingerprints':{'z/v1':'9','zz':'8'},'suppressions':[{'kind':'inSource'}]},"
	              "{'suppressions':[{'status':'underReview','justification':'checking'}]},"
	              "{'suppressions':[{'status':'rejected'}]},"
	              "{'suppressions':[{'status':'rejected'},{'status':'underReview'},"
	              "{'state':'suppressed','justification':'old'}]},"
	              "{'suppressions':[]},"
	              "{'webRequest':{'target':'https://x.test/a','method':'post'}},"
	              "{'webRequest':{'index':0}},"
	              "{'properties':{'url':'https://x.test/p','method':'get'}}"
	              "]}]}",
	         &g, &rep);
	assert_int_equal(rep.results, 9);
	assert_false(rep.incomplete);
	assert_string_equal(field(&g, 0, "fingerprint"), "1");
	assert_string_equal(field(&g, 0, "fingerprint_kind"), "partialFingerprints/a");
	assert_string_equal(field(&g, 1, "fingerprint"), "9");
	assert_string_equal(field(&g, 1, "fingerprint_kind"), "fingerprints/z/v1");
	assert_string_equal(field(&g, 2, "fingerprint"), "");
	const char *supp[] = {"yes", "yes", "review", "no", "yes", "no"};
	const char *why[] = {"false positive", "", "checking", "", "old", ""};
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(field(&g, i, "suppressed"), supp[i]);
		assert_string_equal(field(&g, i, "suppression_reason"), why[i]);
	}
	assert_string_equal(field(&g, 0, "baseline_state"), "new");
	assert_string_equal(field(&g, 1, "baseline_state"), "");
	assert_string_equal(field(&g, 6, "url"), "https://x.test/a");
	assert_string_equal(field(&g, 6, "method"), "POST");
	assert_string_equal(field(&g, 7, "url"), "https://x.test/r");
	assert_string_equal(field(&g, 7, "method"), "PUT");
	assert_string_equal(field(&g, 8, "url"), "https://x.test/p");
	assert_string_equal(field(&g, 8, "method"), "GET");
	json_decref(g.items);
}

static void test_callback_error(void **state)
{
	(void)state;
	struct got g = {.stop_at = 2};
	struct findings_report rep;
	struct ts_err err = {0};
	char *text = dq(HEAD "'tool':{'driver':{'name':'T'}},'results':[{},{},{}]}]}");
	g.items = json_array();
	assert_int_equal(findings_parse_buffer(text, strlen(text), "t.sarif", FINDINGS_FORMAT_SARIF,
	                                       on_finding, &g, &rep, &err),
	                 TS_E_CONFIG);
	assert_string_equal(err.msg, "stopped at 2");
	assert_int_equal(json_array_size(g.items), 2);
	assert_int_equal(rep.results, 1);
	free(text);
	json_decref(g.items);
}

/* ---- hostile input ------------------------------------------------------- */

static void test_wrong_structure(void **state)
{
	(void)state;
	parse_bad("{'version':'2.1.0'}", "t.sarif: $.runs: missing (a SARIF log has a runs array)");
	parse_bad("{'version':'2.1.0','runs':5}",
	          "t.sarif: $.runs: expected an array, found an integer");
	parse_bad("{'version':'2.1.0','runs':{'results':[{}]}}",
	          "t.sarif: $.runs: expected an array, found an object");
	parse_bad("{'version':'2.1.0','runs':[5]}",
	          "t.sarif: $.runs[0]: expected an object, found an integer");
	parse_bad(
	    "{'runs':[]}",
	    "t.sarif: $.version: missing (a SARIF log states its version; 2.1.0 is supported)");
	parse_bad("{'version':2.1,'runs':[]}",
	          "t.sarif: $.version: expected a string, found a number");
	parse_bad("{'version':'1.0.0','runs':[]}",
	          "t.sarif: $.version: SARIF version \"1.0.0\" is not supported (2.1.0 is)");
	parse_bad("[]", "t.sarif: $: expected an object (a SARIF log), found an array");
	parse_bad(HEAD "'results':[]}]}",
	          "t.sarif: $.runs[0].tool: missing (a run names its tool)");
	parse_bad(HEAD "'tool':{'driver':{}},'results':[]}]}",
	          "t.sarif: $.runs[0].tool.driver.name: missing");
	parse_bad(HEAD "'tool':{'driver':{'name':5}},'results':[{}]}]}",
	          "t.sarif: $.runs[0].tool.driver.name: expected a string, found an integer");
	parse_bad(HEAD "'tool':'x','results':[{}]}]}",
	          "t.sarif: $.runs[0].tool: expected an object, found a string");
#define T "'tool':{'driver':{'name':'T'}},"
	parse_bad(HEAD T "'results':{}}]}",
	          "t.sarif: $.runs[0].results: expected an array, found an object");
	parse_bad(HEAD T "'results':[5]}]}",
	          "t.sarif: $.runs[0].results[0]: expected an object, found an integer");
	parse_bad(HEAD T "'results':[{'locations':'x'}]}]}",
	          "t.sarif: $.runs[0].results[0].locations: expected an array, found a string");
	parse_bad(
	    HEAD T "'results':[{},{'locations':[5]}]}]}",
	    "t.sarif: $.runs[0].results[1].locations[0]: expected an object, found an integer");
	parse_bad(
	    HEAD T
	    "'results':[{'locations':[{'physicalLocation':{'artifactLocation':{'uri':7}}}]}]}]}",
	    "t.sarif: $.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri: "
	    "expected a string, found an integer");
	parse_bad(HEAD T "'results':[{'message':'text'}]}]}",
	          "t.sarif: $.runs[0].results[0].message: expected an object, found a string");
	parse_bad(HEAD T "'results':[{'ruleIndex':'1'}]}]}",
	          "t.sarif: $.runs[0].results[0].ruleIndex: expected an integer, found a string");
	parse_bad(HEAD T "'results':[{'suppressions':{}}]}]}",
	          "t.sarif: $.runs[0].results[0].suppressions: expected an array, found an object");
	parse_bad(
	    HEAD T "'results':[{'suppressions':[true]}]}]}",
	    "t.sarif: $.runs[0].results[0].suppressions[0]: expected an object, found a boolean");
	parse_bad(HEAD T "'results':[{'kind':1}]}]}",
	          "t.sarif: $.runs[0].results[0].kind: expected a string, found an integer");
	parse_bad(HEAD T "'invocations':{},'results':[]}]}",
	          "t.sarif: $.runs[0].invocations: expected an array, found an object");
#undef T
}

static void test_hostile_bytes(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	/* invalid JSON, empty input, a lone number */
	parse_bad(
	    "{'version':'2.1.0','runs':[}",
	    "t.sarif: $.runs: invalid JSON at byte 28: unallowed token at this point in JSON text");
	parse_bad("", "t.sarif: $: the file is empty");
	parse_bad("5", "t.sarif: $: expected an object (a SARIF log), found an integer");
	/* invalid UTF-8 in a string */
	parse_bad(HEAD "'tool':{'driver':{'name':'T\xC3\x28'}}}]}",
	          "t.sarif: $.runs[0].tool.driver.name: invalid JSON at byte 57: invalid bytes in "
	          "UTF8 string.");
	/* nesting deeper than FINDINGS_DEPTH_MAX inside a result */
	struct ts_buf b = {0};
	ts_buf_puts(&b, HEAD "'tool':{'driver':{'name':'T'}},'results':[{'properties':{'x':");
	for (int i = 0; i < 70; i++)
		ts_buf_puts(&b, "[");
	for (int i = 0; i < 70; i++)
		ts_buf_puts(&b, "]");
	ts_buf_puts(&b, "}}]}]}");
	/* six containers above x (the log, runs, the run, results, the result,
	 * properties): the 59th array of x is the 65th level */
	struct ts_buf deep = {0};
	ts_buf_puts(&deep, "t.sarif: $.runs[0].results[0].properties.x");
	for (int i = 0; i < 58; i++)
		ts_buf_puts(&deep, "[0]");
	ts_buf_puts(&deep, ": nesting deeper than 64 levels");
	parse_bad(b.data, deep.data);
	ts_buf_free(&deep);
	ts_buf_free(&b);
	/* a string of more than 1 MiB */
	ts_buf_puts(&b, HEAD "'tool':{'driver':{'name':'T'}},'results':[{'message':{'text':'");
	for (int i = 0; i < FINDINGS_STRING_MAX / 8 + 1; i++)
		ts_buf_puts(&b, "xxxxxxxx");
	ts_buf_puts(&b, "'}}]}]}");
	parse_bad(b.data, "t.sarif: $.runs[0].results[0].message.text: a string longer than 1 MiB");
	ts_buf_free(&b);
	/* a real log cut in the middle of its results */
	char *path =
	    ts_asprintf("%s/tests/data/findings/sarif/codeql-2.5.4.sarif", tu_env("TS_SOURCE_DIR"));
	char *whole = tu_read_file(path);
	assert_non_null(whole);
	size_t cut = strlen(whole) / 2;
	assert_int_equal(parse_text(whole, cut, &g, &rep, &err), TS_E_INVALID);
	/* the cut falls in result 58's code flows, in an object before its
	 * first key; 58 results end before it (python3: json raw_decode of the
	 * results one after the other up to the cut) */
	assert_string_equal(err.msg, "t.sarif: $.runs[0].results[58].codeFlows[4].threadFlows[0]."
	                             "locations[5].location[\"\"]: the file ends inside the "
	                             "document at byte 288195 (truncated?)");
	assert_int_equal(cut, 288195);
	assert_int_equal(json_array_size(g.items), 58);
	assert_int_equal(rep.results, 58);
	json_decref(g.items);
	free(whole);
	free(path);
}

/* Found by fuzz_sarif (fuzz/regressions/sarif/): yajl lets an overlong UTF-8
 * form through in a key ("\xC0\x9B"); jansson's checked set refused the key
 * and freed the new container, which the reader went on filling
 * (heap-use-after-free in jstream's value_begin). And a number jansson
 * cannot hold (infinity) came back as no value at all. */
static void test_jstream_keys_and_numbers(void **state)
{
	(void)state;
	struct got g = {0};
	struct findings_report rep;
	parse_ok(
	    HEAD
	    "'tool':{'driver':{'name':'T'}},'originalUriBase\xC0\x9Bs':{'R':{'uri':'x/'}},"
	    "'artifacts':[{'location':{'uri':'g.c'}}],"
	    "'results':[{'locations':[{'physicalLocation':{'artifactLocation':{'index':0}}}]}]}]}",
	    &g, &rep);
	assert_int_equal(rep.results, 1);
	assert_string_equal(field(&g, 0, "path"), "g.c");
	json_decref(g.items);
	parse_bad(HEAD "'tool':{'driver':{'name':'T'}},'results':[{'properties':{'n':1e999}}]}]}",
	          "t.sarif: $.runs[0].results[0].properties.n: a number out of range");
	parse_bad("{'version':'2.1.0','runs':[],'x':-1e999}",
	          "t.sarif: $.x: a number out of range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codeql),
	    cmocka_unit_test(test_cppcheck),
	    cmocka_unit_test(test_grype),
	    cmocka_unit_test(test_njsscan),
	    cmocka_unit_test(test_spec_appendix_k),
	    cmocka_unit_test(test_semgrep),
	    cmocka_unit_test(test_suppression_files),
	    cmocka_unit_test(test_rule_lookup),
	    cmocka_unit_test(test_rule_index_errors),
	    cmocka_unit_test(test_cwe_encodings),
	    cmocka_unit_test(test_severity),
	    cmocka_unit_test(test_kinds_skipped),
	    cmocka_unit_test(test_uri_base_ids),
	    cmocka_unit_test(test_tool_after_results),
	    cmocka_unit_test(test_message_strings),
	    cmocka_unit_test(test_fingerprints_suppressions_web),
	    cmocka_unit_test(test_callback_error),
	    cmocka_unit_test(test_wrong_structure),
	    cmocka_unit_test(test_hostile_bytes),
	    cmocka_unit_test(test_jstream_keys_and_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
