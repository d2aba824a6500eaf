/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the OWASP ZAP (XML and JSON), GitLab security report and Semgrep
 * JSON parsers on real reports (tests/data/findings/reports/, see its
 * PROVENANCE.md), on the older ZAP XML layout, and on hostile input: every
 * refusal is TS_E_INVALID with its exact message.
 *
 * The expected figures were computed apart from the parsers:
 *   xmllint --xpath 'count(//instance)' zap-2.9.0.xml                       17
 *   xmllint --xpath 'count(//alertitem[riskcode=N]/instances/instance)'     0: 4, 1: 12, 2: 1, 3: 0
 *   jq '.vulnerabilities | length' gl-*.json
 *   jq '[.vulnerabilities[].severity] | group_by(.) | map([.[0], length])' gl-*.json
 *   jq '[.vulnerabilities[].identifiers[] | select(.type | ascii_downcase == "cwe")]' gl-*.json
 *   jq -c '.version, (.results[] | [.check_id, .path, .start.line, .end.line,
 *          .extra.severity, .extra.metadata.cwe, .extra.fingerprint])' semgrep-*.json
 * and the fields of single results read off the files with jq and xmllint. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/findings/findings.h"
#include "helpers/testutil.h"

/* What a parse handed over: one line per finding, and counts. */
struct seen {
	char **line;
	char **message;
	size_t n, cap;
	size_t sev[6]; /* critical high medium low info NULL */
	int stop_at;
};

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static int on_finding(void *ud, const struct finding *f, struct ts_err *err)
{
	struct seen *s = ud;
	static const char *const sevs[] = {"critical", "high", "medium", "low", "info"};
	size_t k = 5;
	for (size_t i = 0; i < 5; i++)
		if (f->severity && strcmp(f->severity, sevs[i]) == 0)
			k = i;
	s->sev[k]++;
	struct ts_buf b = {0};
	ts_buf_printf(&b, "%s %s %s|%s|%s|%s|%s|cwe", f->tool, or_dash(f->tool_version),
	              or_dash(f->category), or_dash(f->rule_id), or_dash(f->rule_name),
	              or_dash(f->severity), or_dash(f->confidence));
	for (size_t i = 0; i < f->n_cwe; i++)
		ts_buf_printf(&b, "%s%d", i ? "," : " ", f->cwe[i]);
	if (f->path)
		ts_buf_printf(&b, "|%s:%d-%d", f->path, f->line, f->end_line);
	if (f->url)
		ts_buf_printf(&b, "|%s %s %s", or_dash(f->method), f->url, or_dash(f->param));
	if (f->package || f->image)
		ts_buf_printf(&b, "|%s %s", or_dash(f->package), or_dash(f->image));
	if (f->fingerprint)
		ts_buf_printf(&b, "|%s=%s", f->fingerprint_kind, f->fingerprint);
	if (f->suppression)
		ts_buf_printf(&b, "|suppressed %s", or_dash(f->suppression_reason));
	ts_buf_printf(&b, "|%s", f->doc_path);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->line = ts_realloc(s->line, s->cap * sizeof(*s->line));
		s->message = ts_realloc(s->message, s->cap * sizeof(*s->message));
	}
	s->line[s->n] = ts_buf_steal(&b);
	s->message[s->n] = ts_strdup(f->message);
	s->n++;
	if (s->stop_at && (int)s->n == s->stop_at)
		return ts_err_set(err, TS_E_INVALID, "stopped at %zu", s->n);
	return 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->line[i]);
		free(s->message[i]);
	}
	free(s->line);
	free(s->message);
	memset(s, 0, sizeof(*s));
}

static char *data_path(const char *name)
{
	return ts_asprintf("%s/tests/data/findings/reports/%s", tu_env("TS_SOURCE_DIR"), name);
}

/* Parses a file of the data directory with format detection. */
static void parse_file(const char *name, struct seen *s, struct findings_report *rep)
{
	char *path = data_path(name);
	struct ts_err err = {0};
	int rc = findings_parse(path, name, FINDINGS_FORMAT_AUTO, on_finding, s, rep, &err);
	if (rc)
		fail_msg("%s: rc %d: %s", name, rc, err.msg);
	assert_int_equal(rep->results, s->n);
	free(path);
}

static void assert_sev(const struct seen *s, size_t critical, size_t high, size_t medium,
                       size_t low, size_t info, size_t none)
{
	size_t want[6] = {critical, high, medium, low, info, none};
	for (size_t i = 0; i < 6; i++)
		if (s->sev[i] != want[i])
			fail_msg("severity %zu: %zu findings, expected %zu", i, s->sev[i], want[i]);
}

/* ---- real reports --------------------------------------------------------- */

static void test_zap_xml(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("zap-2.9.0.xml", &s, &rep);
	assert_int_equal(rep.format, FINDINGS_FORMAT_ZAP);
	assert_string_equal(rep.detail, "zap xml 2.9.0");
	assert_int_equal(s.n, 17);
	assert_sev(&s, 0, 0, 1, 12, 4, 0);
	assert_string_equal(s.line[0],
	                    "zap 2.9.0 dast|10011|Cookie Without Secure Flag|low|medium|"
	                    "cwe 614|GET https://mainsite.com opvc|"
	                    "/OWASPZAPReport/site[1]/alerts/alertitem[1]/instances/instance[1]");
	assert_string_equal(s.line[5],
	                    "zap 2.9.0 dast|10054|Cookie Without SameSite Attribute|low|"
	                    "medium|cwe 16|GET https://mainsite.com JSESSIONID|"
	                    "/OWASPZAPReport/site[1]/alerts/alertitem[2]/instances/instance[3]");
	assert_string_equal(s.line[7],
	                    "zap 2.9.0 dast|10055|CSP Scanner: Wildcard Directive|medium|"
	                    "medium|cwe 16|GET https://mainsite.com Content-Security-Policy|"
	                    "/OWASPZAPReport/site[1]/alerts/alertitem[3]/instances/instance[1]");
	/* an instance without param; riskcode 0, confidence 1 */
	assert_string_equal(s.line[14],
	                    "zap 2.9.0 dast|10096|Timestamp Disclosure - Unix|info|low|"
	                    "cwe 200|GET https://mainsite.com -|"
	                    "/OWASPZAPReport/site[1]/alerts/alertitem[5]/instances/instance[4]");
	assert_string_equal(s.line[16],
	                    "zap 2.9.0 dast|10015|Incomplete or No Cache-control and "
	                    "Pragma HTTP Header Set|low|medium|cwe 525|"
	                    "GET https://mainsite.com Cache-Control|"
	                    "/OWASPZAPReport/site[1]/alerts/alertitem[7]/instances/instance[1]");
	/* name, then desc as text (entities decoded, markup kept) */
	assert_string_equal(s.message[0],
	                    "Cookie Without Secure Flag\n\n<p>A cookie has been set "
	                    "without the secure flag, which means that the cookie can "
	                    "be accessed via unencrypted connections.</p>");
	seen_free(&s);
}

/* The JSON sample holds alertitems 1, 3 and 5 of the XML report, converted. */
static void test_zap_json_matches_xml(void **state)
{
	(void)state;
	struct seen x = {0}, j = {0};
	struct findings_report rep;
	parse_file("zap-2.9.0.xml", &x, &rep);
	parse_file("zap-2.9.0-subset.json", &j, &rep);
	assert_int_equal(rep.format, FINDINGS_FORMAT_ZAP);
	assert_string_equal(rep.detail, "zap json 2.9.0");
	assert_int_equal(j.n, 8);
	assert_sev(&j, 0, 0, 1, 3, 4, 0);
	/* XML findings 0-2 (alertitem 1), 7 (3), 11-14 (5) */
	static const size_t from_xml[] = {0, 1, 2, 7, 11, 12, 13, 14};
	static const char *const json_paths[] = {
	    "$.site[0].alerts[0].instances[0]", "$.site[0].alerts[0].instances[1]",
	    "$.site[0].alerts[0].instances[2]", "$.site[0].alerts[1].instances[0]",
	    "$.site[0].alerts[2].instances[0]", "$.site[0].alerts[2].instances[1]",
	    "$.site[0].alerts[2].instances[2]", "$.site[0].alerts[2].instances[3]",
	};
	for (size_t i = 0; i < 8; i++) {
		/* the same but for the document path */
		const char *xl = x.line[from_xml[i]];
		const char *jl = j.line[i];
		size_t xn = (size_t)(strrchr(xl, '|') - xl), jn = (size_t)(strrchr(jl, '|') - jl);
		if (xn != jn || memcmp(xl, jl, xn) != 0)
			fail_msg("finding %zu: '%s' in JSON, '%s' in XML", i, jl, xl);
		assert_string_equal(strrchr(jl, '|') + 1, json_paths[i]);
		assert_string_equal(j.message[i], x.message[from_xml[i]]);
	}
	seen_free(&x);
	seen_free(&j);
}

static void test_gitlab_sast_1(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("gl-sast-1-vuln.json", &s, &rep);
	assert_int_equal(rep.format, FINDINGS_FORMAT_GITLAB);
	assert_string_equal(rep.detail, "gitlab 2.3");
	assert_int_equal(s.n, 1);
	assert_sev(&s, 1, 0, 0, 0, 0, 0);
	/* no scan, no scanner: the tool is "gitlab"; the fingerprint is the cve */
	assert_string_equal(
	    s.line[0], "gitlab - -|trufflehog_rule_id:Password in URL|Password in URL|critical|-|"
	               "cwe|docker-compose.override.unit_tests.yml:19-19|gitlab=docker-compose."
	               "override.unit_tests.yml:4dd25cfea7294af80c58a87f764286ce21ec612e78ae7a208"
	               "c0a92887870963b:Password in URL|$.vulnerabilities[0]");
	assert_string_equal(s.message[0], "Password in URL\n\nPassword in URL detected; please "
	                                  "remove and revoke it if this is a leak.");
	seen_free(&s);
}

static void test_gitlab_sast_cwe(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("gl-sast-cwe.json", &s, &rep);
	/* scan comes after the vulnerabilities in this file */
	assert_string_equal(rep.detail, "gitlab sast 3.0.0");
	assert_int_equal(s.n, 3);
	assert_sev(&s, 0, 2, 1, 0, 0, 0);
	assert_string_equal(
	    s.line[0],
	    "Find Security Bugs 4.2.0 sast|find_sec_bugs_type:XSS_REQUEST_PARAMETER_TO_"
	    "SERVLET_WRITER|Servlet reflected cross site scripting vulnerability|high|-|"
	    "cwe 79|src/main/java/servlets/module/lesson/XssLesson.java:96-96|gitlab="
	    "3e7ef723fe684a84eb7f9a94b27d1ea2:XSS_REQUEST_PARAMETER_TO_SERVLET_WRITER:"
	    "src/main/java/servlets/module/lesson/XssLesson.java:96|$.vulnerabilities[0]");
	/* value 89 as a JSON number; location.method is a Java method, not HTTP */
	assert_string_equal(
	    s.line[1], "Find Security Bugs 4.2.0 sast|find_sec_bugs_type:SQL_NONCONSTANT_STRING_"
	               "PASSED_TO_EXECUTE|Nonconstant string passed to execute or addBatch method "
	               "on an SQL statement|medium|-|cwe 89|src/main/java/servlets/module/lesson/"
	               "SqlInjectionLesson.java:136-136|gitlab=10b6dd4f1881b067a00b77b2b910e433:"
	               "SQL_NONCONSTANT_STRING_PASSED_TO_EXECUTE:src/main/java/servlets/module/"
	               "lesson/SqlInjectionLesson.java:136|$.vulnerabilities[1]");
	/* a value that is no number: the CWE from the name "CWE-943" */
	assert_string_equal(
	    s.line[2], "Find Security Bugs 4.2.0 sast|njsscan_rule_type:Untrusted user input in "
	               "findOne() function can result in NoSQL Injection.|node_nosqli_injection|"
	               "high|-|cwe 943|routes/likeProductReviews.js:13-56|gitlab=routes/"
	               "likeProductReviews.js:13:node_nosqli_injection:CWE-943|"
	               "$.vulnerabilities[2]");
	seen_free(&s);
}

static void test_gitlab_sast_many(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("gl-sast-many-vuln.json", &s, &rep);
	assert_int_equal(s.n, 467);
	/* Unknown is no severity */
	assert_sev(&s, 13, 4, 143, 41, 0, 266);
	assert_string_equal(
	    s.line[466],
	    "gitlab - -|eslint_rule_id:security/detect-object-injection|Generic Object "
	    "Injection Sink|-|-|cwe|dojo/unittests/scans/sonarqube/sonar-table-in-table."
	    "html:483-483|gitlab=dojo/unittests/scans/sonarqube/sonar-table-in-table.html"
	    ":e8208d82c08970eea19d4137099f8f71ee21a2cc9f51319dbccf1a2fe0bb2574:security/"
	    "detect-object-injection|$.vulnerabilities[466]");
	size_t with_cwe = 0;
	for (size_t i = 0; i < s.n; i++)
		with_cwe += strstr(s.line[i], "|cwe|") == NULL;
	assert_int_equal(with_cwe, 0);
	seen_free(&s);
}

static void test_gitlab_dast_1(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("gl-dast-1-vuln.json", &s, &rep);
	assert_string_equal(rep.detail, "gitlab");
	assert_int_equal(s.n, 1);
	assert_sev(&s, 0, 1, 0, 0, 0, 0);
	/* type "CWE"; the cve "10062" is the plugin id: the id is the fingerprint;
	 * param "" is none; the rule name from the identifier (no name) */
	assert_string_equal(s.line[0], "gitlab - -|ZAProxy_PluginId:10062|PII Disclosure|high|-|"
	                               "cwe 359|GET http://api-server/v1/trees -|"
	                               "gitlab=5ec00bbc-2e53-44cb-83e9-3d35365277e3|"
	                               "$.vulnerabilities[0]");
	seen_free(&s);
}

static void test_gitlab_dast_many(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	/* detection: the report embeds ZAP's site[] before its vulnerabilities */
	parse_file("gl-dast-many-vuln.json", &s, &rep);
	assert_int_equal(rep.format, FINDINGS_FORMAT_GITLAB);
	assert_string_equal(rep.detail, "gitlab dast 13.1.0");
	assert_int_equal(s.n, 10);
	assert_sev(&s, 0, 1, 1, 8, 0, 0);
	assert_string_equal(s.line[1],
	                    "OWASP Zed Attack Proxy (ZAP) D-2020-08-26 dast|ZAProxy_PluginId:10038|"
	                    "Content Security Policy (CSP) Header Not Set|medium|-|cwe 16|"
	                    "DELETE http://api-server/v1/tree/10 -|"
	                    "gitlab=87e98ddf-7d75-444a-be6d-45400151a0fe|$.vulnerabilities[1]");
	assert_string_equal(s.line[9],
	                    "OWASP Zed Attack Proxy (ZAP) D-2020-08-26 dast|ZAProxy_PluginId:10021|"
	                    "X-Content-Type-Options Header Missing|low|-|cwe 16|"
	                    "POST http://api-server/v1/trees X-Content-Type-Options|"
	                    "gitlab=4c980571-fe02-4f11-aaa8-16aface3339a|$.vulnerabilities[9]");
	size_t cwe200 = 0;
	for (size_t i = 0; i < s.n; i++)
		cwe200 += strstr(s.line[i], "|cwe 200|") != NULL;
	assert_int_equal(cwe200, 6);
	seen_free(&s);
}

static void test_semgrep_cwe_list(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("semgrep-0.96.0-cwe-list.json", &s, &rep);
	assert_int_equal(rep.format, FINDINGS_FORMAT_SEMGREP);
	/* version after results in this file */
	assert_string_equal(rep.detail, "semgrep 0.96.0");
	assert_int_equal(s.n, 1);
	assert_sev(&s, 0, 0, 0, 1, 0, 0);
	assert_string_equal(s.line[0],
	                    "semgrep 0.96.0 sast|javascript.express.security.audit.express-check-"
	                    "csurf-middleware-usage.express-check-csurf-middleware-usage|express-"
	                    "check-csurf-middleware-usage|low|-|cwe 352|index.js:12-12|"
	                    "semgrep=143cb0c62f3740d62180cbde3ffa976e|$.results[0]");
	seen_free(&s);
}

static void test_semgrep_requires_login(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("semgrep-1.100.0.json", &s, &rep);
	assert_string_equal(rep.detail, "semgrep 1.100.0");
	assert_int_equal(s.n, 2);
	assert_sev(&s, 0, 1, 1, 0, 0, 0);
	/* "requires login": no fingerprint */
	assert_string_equal(
	    s.line[0], "semgrep 1.100.0 sast|python.lang.security.audit.dangerous-subprocess-use-"
	               "tainted-env-args.dangerous-subprocess-use-tainted-env-args|dangerous-"
	               "subprocess-use-tainted-env-args|high|medium|cwe 78|sample/brute.py:31-31|"
	               "$.results[0]");
	assert_string_equal(s.line[1],
	                    "semgrep 1.100.0 sast|go.lang.security.audit.database.string-formatted-"
	                    "query.string-formatted-query|string-formatted-query|medium|low|cwe 89|"
	                    "sample/function.go:37-40|$.results[1]");
	seen_free(&s);
}

static void test_semgrep_many(void **state)
{
	(void)state;
	struct seen s = {0};
	struct findings_report rep;
	parse_file("semgrep-many.json", &s, &rep);
	assert_string_equal(rep.detail, "semgrep");
	assert_int_equal(s.n, 3);
	assert_sev(&s, 0, 0, 2, 1, 0, 0);
	assert_string_equal(
	    s.line[2], "semgrep - sast|java.lang.security.audit.cbc-padding-oracle.cbc-padding-"
	               "oracle|cbc-padding-oracle|low|-|cwe 696|src/main/java/org/owasp/benchmark/"
	               "testcode/BenchmarkTest01150.java:66-66|$.results[2]");
	seen_free(&s);
}

static void test_trivy_refused(void **state)
{
	(void)state;
	char *path = data_path("trivy-schema2.json");
	struct seen s = {0};
	struct ts_err err = {0};
	assert_int_equal(
	    findings_parse(path, "trivy.json", FINDINGS_FORMAT_AUTO, on_finding, &s, NULL, &err),
	    TS_E_INVALID);
	assert_string_equal(err.msg,
	                    "trivy.json: $: a JSON object with keys SchemaVersion, "
	                    "ArtifactName, ArtifactType, Metadata, Results: not a SARIF log "
	                    "(runs), ZAP report (site), GitLab report (vulnerabilities) or "
	                    "Semgrep report (results)");
	assert_int_equal(s.n, 0);
	free(path);
}

/* ---- synthetic ------------------------------------------------------------ */

static int parse_text(const char *doc, size_t len, enum findings_format fmt, struct seen *s,
                      struct findings_report *rep, struct ts_err *err)
{
	return findings_parse_buffer(doc, len, "r", fmt, on_finding, s, rep, err);
}

static void expect_invalid_n(const char *doc, size_t len, enum findings_format fmt,
                             const char *message)
{
	struct seen s = {0};
	struct ts_err err = {0};
	int rc = parse_text(doc, len, fmt, &s, NULL, &err);
	if (rc != TS_E_INVALID || strcmp(err.msg, message) != 0)
		fail_msg("rc %d, message '%s', expected '%s'", rc, err.msg, message);
	seen_free(&s);
}

static void expect_invalid(const char *doc, enum findings_format fmt, const char *message)
{
	expect_invalid_n(doc, strlen(doc), fmt, message);
}

static void test_zap_xml_old_layout(void **state)
{
	(void)state;
	/* ZAP before 2.5: the request in the alertitem itself, no instances; an
	 * alert without even a uri is at the site; cweid -1 is none; confidence 0
	 * is a false positive */
	const char *doc =
	    "<?xml version=\"1.0\"?>\n"
	    "<OWASPZAPReport version=\"2.4.3\" generated=\"Mon, 1 Feb 2016\">\n"
	    "<site name=\"http://old.example\" host=\"old.example\" port=\"80\" ssl=\"false\">\n"
	    "<alerts>\n"
	    "<alertitem><pluginid>40012</pluginid><alert>Cross Site Scripting (Reflected)</alert>"
	    "<riskcode>3</riskcode><confidence>2</confidence><riskdesc>High (Medium)</riskdesc>"
	    "<desc><![CDATA[<p>XSS</p>]]></desc><uri>http://old.example/q?x=1</uri>"
	    "<method>post</method><param>x</param><attack>&lt;script&gt;</attack>"
	    "<cweid>79</cweid><wascid>8</wascid></alertitem>\n"
	    "<alertitem><pluginid>10020</pluginid><alertRef>10020-1</alertRef><name>X-Frame</name>"
	    "<riskcode>2</riskcode><confidence>0</confidence><cweid>-1</cweid><param/></"
	    "alertitem>\n"
	    "</alerts></site></OWASPZAPReport>\n";
	struct seen s = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	assert_int_equal(parse_text(doc, strlen(doc), FINDINGS_FORMAT_AUTO, &s, &rep, &err), 0);
	assert_string_equal(rep.detail, "zap xml 2.4.3");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.line[0], "zap 2.4.3 dast|40012|Cross Site Scripting (Reflected)|high|"
	                               "medium|cwe 79|POST http://old.example/q?x=1 x|"
	                               "/OWASPZAPReport/site[1]/alerts/alertitem[1]");
	assert_string_equal(s.message[0], "Cross Site Scripting (Reflected)\n\n<p>XSS</p>");
	assert_string_equal(s.line[1], "zap 2.4.3 dast|10020-1|X-Frame|medium|false positive|cwe|"
	                               "- http://old.example -|suppressed false positive|"
	                               "/OWASPZAPReport/site[1]/alerts/alertitem[2]");
	seen_free(&s);
}

static void test_zap_xml_hostile(void **state)
{
	(void)state;
	const enum findings_format Z = FINDINGS_FORMAT_ZAP;
	/* billion laughs: refused at the DOCTYPE, nothing expanded */
	expect_invalid(
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n"
	    "<OWASPZAPReport>&lol3;</OWASPZAPReport>\n",
	    FINDINGS_FORMAT_AUTO, "r: line 2: a DOCTYPE is not accepted in a report");
	/* an external entity: neither fetched nor read */
	expect_invalid("<?xml version=\"1.0\"?>\n\n<!DOCTYPE r [<!ENTITY x SYSTEM "
	               "\"file:///etc/passwd\">]>\n<OWASPZAPReport>&x;</OWASPZAPReport>\n",
	               Z, "r: line 3: a DOCTYPE is not accepted in a report");
	/* a DOCTYPE past the first 64 KiB: the reader refuses it (the line is
	 * where libxml2 had read to: the end) */
	struct ts_buf c = {0};
	ts_buf_puts(&c, "<?xml version=\"1.0\"?>\n<!--");
	for (int i = 0; i < 70 * 1024 / 64; i++)
		ts_buf_puts(&c, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	ts_buf_puts(&c, "-->\n<!DOCTYPE OWASPZAPReport>\n<OWASPZAPReport/>\n");
	expect_invalid_n(c.data, c.len, Z, "r: line 5: a DOCTYPE is not accepted in a report");
	ts_buf_free(&c);
	/* an entity never declared */
	expect_invalid("<OWASPZAPReport>\n&x;</OWASPZAPReport>", Z,
	               "r: line 2: invalid XML: Entity 'x' not defined");
	expect_invalid("<html><body/></html>", Z,
	               "r: line 1: an XML document with root element <html>: not an OWASP ZAP "
	               "report");
	/* truncated; invalid UTF-8; not well-formed */
	expect_invalid("<OWASPZAPReport version=\"2\">\n<site name=\"a\"><alerts><alertitem>"
	               "<pluginid>1</plu",
	               Z, "r: line 2: the file ends inside the document (truncated?)");
	expect_invalid("<OWASPZAPReport version=\"2\">\n<site name=\"a\"><alerts>\n", Z,
	               "r: line 2: the file ends inside the document (truncated?)");
	expect_invalid("<OWASPZAPReport version=\"\xC3\x28\"/>", Z,
	               "r: line 1: invalid XML: Input is not proper UTF-8, indicate encoding !");
	expect_invalid("<OWASPZAPReport></site></OWASPZAPReport>", Z,
	               "r: line 1: invalid XML: Opening and ending tag mismatch: "
	               "OWASPZAPReport line 1 and site");
	/* nesting thousands deep */
	struct ts_buf b = {0};
	ts_buf_puts(&b, "<OWASPZAPReport>\n");
	for (int i = 0; i < 5000; i++)
		ts_buf_puts(&b, "<a>");
	expect_invalid_n(b.data, b.len, Z, "r: line 2: elements nested deeper than 64 levels");
	/* a text of megabytes */
	b.len = 0;
	ts_buf_puts(&b, "<OWASPZAPReport><site><alerts><alertitem><desc>");
	for (int i = 0; i < 2 * 1024 * 1024 / 64; i++)
		ts_buf_puts(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ts_buf_puts(&b, "</desc></alertitem></alerts></site></OWASPZAPReport>");
	expect_invalid_n(b.data, b.len, Z, "r: line 1: a text longer than 1 MiB");
	/* one alert of more than 8 MiB, in texts under 1 MiB */
	b.len = 0;
	ts_buf_puts(&b, "<OWASPZAPReport><site><alerts><alertitem><instances>\n");
	char *chunk = ts_malloc(900 * 1024 + 1);
	memset(chunk, 'e', 900 * 1024);
	chunk[900 * 1024] = '\0';
	for (int i = 0; i < 10; i++)
		ts_buf_printf(&b, "<instance><evidence>%s</evidence></instance>\n", chunk);
	ts_buf_puts(&b, "</instances></alertitem></alerts></site></OWASPZAPReport>");
	expect_invalid_n(b.data, b.len, Z,
	                 "r: /OWASPZAPReport/site[1]/alerts/alertitem[1]: one alert is larger "
	                 "than 8 MiB");
	free(chunk);
	ts_buf_free(&b);
}

/* Nothing on stderr from libxml2: its messages go into the error. */
static void test_zap_xml_quiet(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *f = tu_write_file(dir, "bad.xml", "<OWASPZAPReport><site></OWASPZAPReport>\n");
	/* stderr goes to a file while parsing */
	char *log = ts_asprintf("%s/stderr.txt", dir);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	struct seen s = {0};
	struct ts_err err = {0};
	int rc = findings_parse(f, "bad.xml", FINDINGS_FORMAT_AUTO, on_finding, &s, NULL, &err);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(rc, TS_E_INVALID);
	assert_string_equal(err.msg, "bad.xml: line 1: invalid XML: Opening and ending tag "
	                             "mismatch: site line 1 and OWASPZAPReport");
	char *text = tu_read_file(log);
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);
	free(log);
	free(f);
	tu_rmrf(dir);
	free(dir);
}

static void test_zap_json_hostile(void **state)
{
	(void)state;
	const enum findings_format Z = FINDINGS_FORMAT_ZAP;
	expect_invalid(
	    "{\"@version\":\"2\",\"site\":[{\"@name\":\"a\",\"alerts\":[{\"pluginid\":", Z,
	    "r: $.site[0].alerts[0].pluginid: the file ends inside the document at "
	    "byte 59 (truncated?)");
	expect_invalid("{\"site\":[{\"alerts\":[{\"alert\":\"\xC3\x28\"}]}]}", Z,
	               "r: $.site[0].alerts[0].alert: invalid JSON at byte 32: invalid bytes in "
	               "UTF8 string.");
	expect_invalid("{\"site\":[{\"alerts\":[7]}]}", Z,
	               "r: $.site[0].alerts[0]: an alert is not a JSON object");
	expect_invalid("{\"@version\":\"2\"}", Z, "r: $: no site array: not an OWASP ZAP report");
	expect_invalid("{\"site\":\"x\"}", Z, "r: $.site: neither an array nor an object");
	expect_invalid("[1]", Z, "r: $: not a JSON object: not an OWASP ZAP report");
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"site\":[{\"alerts\":[{\"x\":");
	for (int i = 0; i < 5000; i++)
		ts_buf_puts(&b, "[");
	expect_invalid_n(
	    b.data, b.len, Z,
	    "r: $.site[0].alerts[0].x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
	    "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
	    "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting deeper "
	    "than 64 levels");
	ts_buf_free(&b);
	/* wrong types everywhere: still one finding each, nothing taken */
	const char *odd =
	    "{\"@version\":7,\"site\":[{\"@name\":[],\"alerts\":[{\"pluginid\":12,"
	    "\"alert\":{},\"riskcode\":3,\"confidence\":\"9\",\"cweid\":\"0\","
	    "\"instances\":[5,{\"uri\":1,\"method\":\"get\"}]},{\"instances\":{}}]}]}";
	struct seen s = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	assert_int_equal(parse_text(odd, strlen(odd), Z, &s, &rep, &err), 0);
	assert_string_equal(rep.detail, "zap json");
	assert_int_equal(s.n, 3);
	assert_string_equal(s.line[0],
	                    "zap - dast|12|-|high|-|cwe|$.site[0].alerts[0].instances[0]");
	assert_string_equal(s.line[1],
	                    "zap - dast|12|-|high|-|cwe|$.site[0].alerts[0].instances[1]");
	assert_string_equal(s.line[2], "zap - dast|-|-|-|-|cwe|$.site[0].alerts[1]");
	seen_free(&s);
}

static void test_gitlab_hostile(void **state)
{
	(void)state;
	const enum findings_format G = FINDINGS_FORMAT_GITLAB;
	expect_invalid("{\"version\":\"15.0.4\",\"vulnerabilities\":[{\"id\":\"a\"},{\"location\":"
	               "{\"file\":\"x",
	               G,
	               "r: $.vulnerabilities[1].location.file: the file ends inside the "
	               "document at byte 72 (truncated?)");
	expect_invalid("{\"vulnerabilities\":[\"x\"]}", G,
	               "r: $.vulnerabilities[0]: a vulnerability is not a JSON object");
	expect_invalid("{\"vulnerabilities\":{}}", G, "r: $.vulnerabilities: not an array");
	expect_invalid("{\"version\":\"15\"}", G,
	               "r: $: no vulnerabilities array: not a GitLab security report");
	expect_invalid("\"x\"", G, "r: $: not a JSON object: not a GitLab security report");
	expect_invalid("{\"vulnerabilities\":[{\"name\":\"\xFF\"}]}", G,
	               "r: $.vulnerabilities[0].name: invalid JSON at byte 30: invalid bytes in "
	               "UTF8 string.");
	/* a string of megabytes */
	size_t big = 3 * 1024 * 1024;
	char *s = ts_malloc(big + 64);
	int k = snprintf(s, 64, "{\"vulnerabilities\":[{\"description\":\"");
	memset(s + k, 'a', big);
	strcpy(s + k + big, "\"}]}");
	expect_invalid(s, G,
	               "r: $.vulnerabilities[0].description: a string or number longer "
	               "than 1 MiB");
	free(s);

	/* wrong types never taken; every location kind */
	const char *doc =
	    "{\"version\":\"15.0.4\",\"scan\":{\"type\":\"dependency_scanning\",\"scanner\":{"
	    "\"name\":"
	    "\"Gemnasium\",\"version\":\"3.1\"}},\"vulnerabilities\":["
	    "{\"id\":\"d1\",\"name\":\"CVE-2021-1\",\"severity\":\"Medium\",\"confidence\":"
	    "\"High\","
	    "\"identifiers\":[{\"type\":\"CWE\",\"value\":\"x\",\"name\":\"y\"},"
	    "{\"type\":\"cve\",\"value\":\"CVE-2021-1\"}],\"location\":{\"file\":\"./app/"
	    "package-lock."
	    "json\",\"dependency\":{\"package\":{\"name\":\"lodash\"},\"version\":\"4.17.4\"}}},"
	    "{\"id\":\"c1\",\"severity\":\"Low\",\"scanner\":{\"name\":\"Trivy\"},\"identifiers\":"
	    "[{\"type\":\"cwe\",\"value\":89},{\"type\":\"cwe\",\"value\":\"89\"}],\"location\":"
	    "{\"image\":\"registry/app:1\",\"operating_system\":\"alpine 3.12\",\"dependency\":"
	    "{\"package\":{\"name\":\"musl\"}}}},"
	    "{\"id\":7,\"name\":[],\"severity\":3,\"identifiers\":\"x\",\"location\":[1],"
	    "\"scanner\":\"x\",\"cve\":{}},"
	    "{\"cve\":\"k\",\"identifiers\":[5,{\"type\":\"cwe\"}],\"location\":{\"start_line\":"
	    "\"9\",\"hostname\":\"https://h\",\"method\":\"get\",\"param\":\"q\"}}]}";
	struct seen r = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	assert_int_equal(parse_text(doc, strlen(doc), FINDINGS_FORMAT_AUTO, &r, &rep, &err), 0);
	assert_string_equal(rep.detail, "gitlab dependency_scanning 15.0.4");
	assert_int_equal(r.n, 4);
	assert_string_equal(r.line[0],
	                    "Gemnasium 3.1 dependency_scanning|cve:CVE-2021-1|CVE-2021-1|"
	                    "medium|high|cwe|app/package-lock.json:0-0|lodash@4.17.4 -|"
	                    "gitlab=d1|$.vulnerabilities[0]");
	assert_string_equal(r.line[1], "Trivy 3.1 dependency_scanning|-|-|low|-|cwe 89|"
	                               "musl registry/app:1|gitlab=c1|$.vulnerabilities[1]");
	assert_string_equal(r.line[2], "Gemnasium 3.1 dependency_scanning|-|-|-|-|cwe|"
	                               "$.vulnerabilities[2]");
	assert_string_equal(r.line[3], "Gemnasium 3.1 dependency_scanning|-|-|-|-|cwe|"
	                               "GET https://h q|gitlab=k|$.vulnerabilities[3]");
	seen_free(&r);
}

static void test_semgrep_hostile(void **state)
{
	(void)state;
	const enum findings_format S = FINDINGS_FORMAT_SEMGREP;
	expect_invalid("{\"results\":[{\"check_id\":\"a\",\"extra\":{\"lines\":\"x\"", S,
	               "r: $.results[0].extra.lines: the file ends inside the document at byte "
	               "48 (truncated?)");
	expect_invalid("{\"results\":[{\"path\":}]}", S,
	               "r: $.results[0].path: invalid JSON at byte 21: unallowed token at this "
	               "point in JSON text");
	expect_invalid("{\"results\":[null]}", S, "r: $.results[0]: a result is not a JSON object");
	expect_invalid("{\"results\":{}}", S, "r: $.results: not an array");
	expect_invalid("{\"errors\":[]}", S, "r: $: no results array: not a Semgrep report");
	expect_invalid("", S, "r: $: the file is empty");
	expect_invalid("{\"results\":[]} x", S, "r: $: invalid JSON at byte 16: trailing garbage");
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"results\":[");
	for (int i = 0; i < 5000; i++)
		ts_buf_puts(&b, "{\"a\":");
	expect_invalid_n(
	    b.data, b.len, S,
	    "r: $.results[0].a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"
	    ".a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nesting "
	    "deeper than 64 levels");
	ts_buf_free(&b);
	/* wrong types; newer severity words; cwe a string or a list */
	const char *doc =
	    "{\"version\":1,\"results\":[{\"check_id\":5,\"path\":\"./a/../b.py\","
	    "\"start\":{\"line\":\"3\"},\"end\":[],\"extra\":{\"severity\":\"CRITICAL\","
	    "\"lines\":\"x = 1\",\"fingerprint\":7,\"metadata\":{\"cwe\":[\"CWE-79: x\","
	    "\"CWE-79\",3,\"CWE-20\"],\"confidence\":\"HIGH\"}}},{\"extra\":\"x\"}],"
	    "\"errors\":[{\"message\":\"not a finding\"}]}";
	struct seen r = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	assert_int_equal(parse_text(doc, strlen(doc), FINDINGS_FORMAT_AUTO, &r, &rep, &err), 0);
	assert_string_equal(rep.detail, "semgrep");
	assert_int_equal(r.n, 2);
	assert_string_equal(r.line[0], "semgrep - sast|-|-|critical|high|cwe 79,20|b.py:0-0|"
	                               "$.results[0]");
	assert_string_equal(r.line[1], "semgrep - sast|-|-|-|-|cwe|$.results[1]");
	seen_free(&r);
}

/* UTF-8 that yajl lets through and Jansson refuses: an overlong form in a key
 * (found by fuzz_zap and fuzz_semgrep: the value being attached under it was
 * freed and then used), a surrogate and a code point past U+10FFFF. */
static void test_strict_utf8(void **state)
{
	(void)state;
	expect_invalid("{\"sit\xC1\x8C\":[{\"a\":[1]}],\"site\":[]}", FINDINGS_FORMAT_ZAP,
	               "r: $: an object key that is not valid UTF-8");
	expect_invalid("{\"results\":[{\"extra\":{\"x\":1,\"\xE0\x80\xAF\":{\"b\":[]}}}]}",
	               FINDINGS_FORMAT_SEMGREP,
	               "r: $.results[0].extra: an object key that is not valid UTF-8");
	expect_invalid("{\"vulnerabilities\":[{\"name\":\"\xED\xA0\x80\"}]}",
	               FINDINGS_FORMAT_GITLAB,
	               "r: $.vulnerabilities[0].name: a string that is not valid UTF-8");
	expect_invalid("{\"results\":[],\"version\":\"\xF4\x90\x80\x80\"}", FINDINGS_FORMAT_SEMGREP,
	               "r: $.version: a string that is not valid UTF-8");
	/* the largest code point and a four-byte form are accepted */
	const char *ok = "{\"results\":[{\"check_id\":\"\xF4\x8F\xBF\xBF\xF0\x9F\x98\x80\"}]}";
	struct seen s = {0};
	struct ts_err err = {0};
	assert_int_equal(parse_text(ok, strlen(ok), FINDINGS_FORMAT_SEMGREP, &s, NULL, &err), 0);
	assert_int_equal(s.n, 1);
	seen_free(&s);
}

/* A callback's error stops the parse and comes back as it is. */
static void test_callback_stops(void **state)
{
	(void)state;
	static const char *const files[] = {"zap-2.9.0.xml", "zap-2.9.0-subset.json",
	                                    "gl-sast-many-vuln.json", "semgrep-many.json"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = data_path(files[i]);
		struct seen s = {.stop_at = 2};
		struct ts_err err = {0};
		struct findings_report rep;
		assert_int_equal(
		    findings_parse(path, NULL, FINDINGS_FORMAT_AUTO, on_finding, &s, &rep, &err),
		    TS_E_INVALID);
		assert_string_equal(err.msg, "stopped at 2");
		assert_int_equal(s.n, 2);
		seen_free(&s);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zap_xml),
	    cmocka_unit_test(test_zap_json_matches_xml),
	    cmocka_unit_test(test_gitlab_sast_1),
	    cmocka_unit_test(test_gitlab_sast_cwe),
	    cmocka_unit_test(test_gitlab_sast_many),
	    cmocka_unit_test(test_gitlab_dast_1),
	    cmocka_unit_test(test_gitlab_dast_many),
	    cmocka_unit_test(test_semgrep_cwe_list),
	    cmocka_unit_test(test_semgrep_requires_login),
	    cmocka_unit_test(test_semgrep_many),
	    cmocka_unit_test(test_trivy_refused),
	    cmocka_unit_test(test_zap_xml_old_layout),
	    cmocka_unit_test(test_zap_xml_hostile),
	    cmocka_unit_test(test_zap_xml_quiet),
	    cmocka_unit_test(test_zap_json_hostile),
	    cmocka_unit_test(test_gitlab_hostile),
	    cmocka_unit_test(test_semgrep_hostile),
	    cmocka_unit_test(test_strict_utf8),
	    cmocka_unit_test(test_callback_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
