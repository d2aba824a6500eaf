/* SPDX-License-Identifier: Apache-2.0 */
/* The HTML report (report/html.c): the page of the WidgetsRUs document
 * (tests/data/report/widgetsrus.report.json) with every section, the
 * diagram and the charts; hostile names rendered as text; links only for
 * http(s) ticket URLs and nothing loaded from anywhere; empty sections; the
 * portfolio; documents of the wrong shape refused with their path.
 *
 * The expected figures were computed apart from the code:
 *   jq '.threats | length'            tests/data/report/widgetsrus.report.json   27
 *   jq '.countermeasures | length'                                              41
 *   jq '.findings | length'                                                      3
 *   jq '[.countermeasures[] | select(.ticket != null)] | length'                 3
 *   jq '[.countermeasures[] | select((.status == "todo" or .status ==
 *        "in_progress") and .due_date < "2026-01-15")] | length'                 3
 *   jq '.compliance.frameworks | map(.controls | length)'                [0, 2, 17]
 *   jq '.trend | length'                                                         4
 *   jq '[.trend[].metrics.risk_score] | max'                                 857.3 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers/testutil.h"
#include "helpers/graphviz_lsan.h"
#include "report/render.h"

static json_t *widgetsrus_doc(void)
{
	char *path =
	    ts_asprintf("%s/tests/data/report/widgetsrus.report.json", tu_env("TS_SOURCE_DIR"));
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	free(path);
	return doc;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The text between the element with id="ID" and the next "</table>". */
static char *table_of(const char *html, const char *id)
{
	char *key = ts_asprintf("id=\"%s\"", id);
	const char *start = strstr(html, key);
	free(key);
	assert_non_null(start);
	const char *end = strstr(start, "</table>");
	assert_non_null(end);
	return ts_strndup(start, (size_t)(end - start));
}

static size_t body_rows(const char *html, const char *id)
{
	char *t = table_of(html, id);
	const char *body = strstr(t, "<tbody>");
	assert_non_null(body);
	size_t n = count(body, "<tr>");
	free(t);
	return n;
}

static char *render(const json_t *doc)
{
	struct ts_buf out = {0};
	struct ts_err err = {0};
	assert_int_equal(report_render_html(doc, &out, &err), 0);
	return ts_buf_steal(&out);
}

/* Graphviz writes '-' in attribute values as "&#45;": the ids as a browser
 * reads them. */
static char *decode_dashes(const char *html)
{
	struct ts_buf b = {0};
	for (const char *p = html; *p;) {
		if (strncmp(p, "&#45;", 5) == 0) {
			ts_buf_puts(&b, "-");
			p += 5;
		} else {
			ts_buf_append(&b, p, 1);
			p++;
		}
	}
	return ts_buf_steal(&b);
}

static void test_widgetsrus_page(void **state)
{
	json_t *doc = widgetsrus_doc();
	char *html = render(doc);
	assert_memory_equal(html,
	                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	                    "<meta charset=\"utf-8\">\n",
	                    strlen("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	                           "<meta charset=\"utf-8\">\n"));
	assert_non_null(strstr(html, "<title>Threat model report: WidgetsRUs</title>"));
	assert_string_equal(html + strlen(html) - 8, "</html>\n");
	static const char *const sections[] = {"summary",         "diagram",  "threats",
	                                       "countermeasures", "findings", "overrides",
	                                       "compliance",      "releases", "trend"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(sections); i++) {
		char *id = ts_asprintf("<section id=\"%s\"", sections[i]);
		assert_int_equal(count(html, id), 1);
		free(id);
	}
	/* summary */
	assert_non_null(strstr(html, "<span class=\"sev sev-critical\">critical</span> by the "
	                             "rule <code>payment-or-pii</code> (rule 0, line 12)"));
	assert_non_null(strstr(html, "<div class=\"v\">761.8</div><div class=\"muted\">risk "
	                             "score</div>"));
	assert_non_null(strstr(html, "<div class=\"v\">4.5</div><div class=\"muted\">mean days "
	                             "to remediate (MTTR)</div>"));
	/* tables: one row per item, headers with scope */
	assert_int_equal(body_rows(html, "threats-table"), 27);
	assert_int_equal(body_rows(html, "countermeasures-table"), 41);
	assert_int_equal(body_rows(html, "findings-table"), 3);
	assert_int_equal(body_rows(html, "overrides-table"), 2);
	assert_int_equal(body_rows(html, "releases-table"), 2);
	assert_int_equal(body_rows(html, "compliance-gdpr"), 2);
	assert_int_equal(body_rows(html, "compliance-iso-2D27001"), 17);
	assert_null(strstr(html, "id=\"compliance-ccpa\""));
	assert_int_equal(count(html, "<table class=\"sortable\""), 7);
	assert_non_null(strstr(html, "<th scope=\"col\" class=\"num\">Score</th>"));
	/* CWE as text, severity badges sortable by rank */
	assert_non_null(strstr(html, "<td>CWE-639, CWE-668</td><td data-v=\"4\"><span "
	                             "class=\"sev sev-critical\">critical</span></td>"));
	/* overdue: 3 open tasks due before the report's day */
	assert_int_equal(count(html, " (overdue)</td>"), 3);
	assert_non_null(strstr(html, "<td class=\"overdue\">2025-12-14 (overdue)</td>"));
	/* ticket keys linked */
	assert_int_equal(count(html, "<a href=\""), 3 + 9 /* the section links */);
	assert_non_null(strstr(html, "<a href=\"https://acme.atlassian.net/browse/WID-101\" "
	                             "rel=\"noopener noreferrer\">WID-101</a>"));
	/* compliance: gaps first, a bar per framework */
	char *iso = table_of(html, "compliance-iso-2D27001");
	const char *first_gap = strstr(iso, "class=\"st-not_covered\"");
	const char *first_ok = strstr(iso, "class=\"st-covered\"");
	assert_non_null(first_gap);
	assert_true(!first_ok || first_gap < first_ok);
	free(iso);
	assert_int_equal(count(html, "<div class=\"bar\""), 3);
	/* releases: threats addressed */
	assert_non_null(strstr(html, "<details><summary>3</summary><code>T-WEB-XSS@web_portal"));
	/* the trend: two charts, 4 points on the line */
	assert_int_equal(count(html, "<svg class=\"chart\""), 2);
	assert_int_equal(count(html, "<circle "), 4);
	/* round axes (risk 857.3 at most, 33 open threats at most); one bar
	 * part per severity with threats: 3 + 3 + 2 + 1 (jq '.trend[].metrics
	 * .threats_open') */
	assert_non_null(strstr(html, "class=\"ylab\" text-anchor=\"end\">1000</text>"));
	assert_non_null(strstr(html, "class=\"ylab\" text-anchor=\"end\">40</text>"));
	assert_int_equal(count(html, "</title></rect>"), 9);
	assert_non_null(strstr(html, "<title>2025.11: 29 critical</title></rect>"));
	assert_non_null(
	    strstr(html, "<title id=\"chart-risk-title\">Risk score over time</title>"));
	assert_non_null(strstr(html, "<title id=\"chart-open-title\">Open threats by severity"
	                             "</title>"));
	free(html);
	json_decref(doc);
}

static void test_diagram_in_page(void **state)
{
	json_t *doc = widgetsrus_doc();
	char *raw = render(doc);
	char *html = decode_dashes(raw);
	/* one <svg> of Graphviz, no XML prolog or DOCTYPE inside the page */
	assert_int_equal(count(html, "<svg role=\"img\" aria-label=\"Data-flow diagram: "), 1);
	assert_int_equal(count(html, "viewBox=\"0.00 0.00 "), 1);
	assert_null(strstr(html, "<?xml"));
	assert_int_equal(count(html, "<!DOCTYPE"), 1);
	assert_non_null(strstr(html, "<title>dataflow</title>"));
	size_t i;
	const json_t *c;
	json_array_foreach (json_object_get(json_object_get(doc, "model"), "components"), i, c) {
		char *id = ts_asprintf("<g id=\"comp-%s\" class=\"node\">",
		                       json_string_value(json_object_get(c, "id")));
		assert_int_equal(count(html, id), 1);
		free(id);
	}
	assert_int_equal(count(html, "class=\"node\""), 21);
	assert_int_equal(count(html, "class=\"cluster\""), 4);
	assert_non_null(strstr(html, "<g id=\"zone-azure_data\" class=\"cluster\">"));
	assert_int_equal(count(html, "class=\"edge"), 23);
	assert_int_equal(count(html, "class=\"edge crossing\""), 17);
	/* f16 payments_service -> stripe leaves Azure: red and dashed */
	const char *f16 = strstr(html, "<g id=\"flow-f16\" class=\"edge crossing\">");
	assert_non_null(f16);
	const char *path = strstr(f16, "<path ");
	assert_non_null(path);
	assert_memory_equal(path,
	                    "<path fill=\"none\" stroke=\"#c62828\" stroke-width=\"2\" "
	                    "stroke-dasharray=\"5,2\"",
	                    strlen("<path fill=\"none\" stroke=\"#c62828\" stroke-width=\"2\" "
	                           "stroke-dasharray=\"5,2\""));
	/* f09 stays inside the application tier: not highlighted */
	assert_non_null(strstr(html, "<g id=\"flow-f09\" class=\"edge\">"));
	assert_non_null(strstr(html, "flow crossing a trust boundary</span>"));
	free(html);
	free(raw);
	json_decref(doc);
}

/* Every http:// or https:// inside a tag is a ticket link's href or an SVG
 * namespace name (a name, never fetched); elsewhere it is text (a finding's
 * location); nothing has a src attribute, an @import or a url(). */
static void test_no_external_loads(void **state)
{
	json_t *doc = widgetsrus_doc();
	char *html = render(doc);
	static const char *const allowed[] = {
	    "href=\"https://acme.atlassian.net/browse/WID-101\"",
	    "href=\"https://acme.atlassian.net/browse/WID-102\"",
	    "href=\"https://gitlab.example.com/widgets/app/-/issues/7\"",
	    "xmlns=\"http://www.w3.org/2000/svg\"", "xmlns:xlink=\"http://www.w3.org/1999/xlink\""};
	size_t seen = 0, text = 0;
	for (const char *p = html; (p = strstr(p, "http")) != NULL; p++) {
		if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0)
			continue;
		const char *lt = p, *gt = p;
		while (lt > html && *lt != '<')
			lt--;
		while (gt > html && *gt != '>')
			gt--;
		if (gt > lt) {
			text++;
			continue;
		}
		bool ok = false;
		for (size_t i = 0; i < TS_ARRAY_SIZE(allowed); i++) {
			const char *eq = strchr(allowed[i], '"') + 1;
			size_t before = (size_t)(eq - allowed[i]);
			if ((size_t)(p - html) >= before &&
			    strncmp(p - before, allowed[i], strlen(allowed[i])) == 0)
				ok = true;
		}
		if (!ok)
			fail_msg("an external reference: %.60s", p);
		seen++;
	}
	/* the ZAP finding's location */
	assert_int_equal(text, 1);
	assert_int_equal(seen, 5);
	assert_null(strstr(html, " src="));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "url("));
	assert_int_equal(count(html, "<script"), 1);
	assert_non_null(strstr(html, "content=\"default-src 'none';"));
	free(html);
	json_decref(doc);
}

static void test_hostile_names(void **state)
{
	json_t *doc = widgetsrus_doc();
	json_t *project = json_object_get(doc, "project");
	json_object_set_new(project, "name", json_string("<script>alert(1)</script> & Co"));
	json_object_set_new(project, "description", json_string("\" onload=\"alert(2)"));
	json_t *comp =
	    json_array_get(json_object_get(json_object_get(doc, "model"), "components"), 0);
	json_object_set_new(comp, "name", json_string("\"><script>alert(3)</script>"));
	json_t *threat = json_array_get(json_object_get(doc, "threats"), 0);
	json_object_set_new(threat, "title", json_string("<img src=x onerror=alert(4)>"));
	json_t *cm = json_array_get(json_object_get(doc, "countermeasures"), 0);
	json_object_set_new(cm, "ticket",
	                    json_pack("{s:s,s:s,s:s}", "connector", "jira", "key",
	                              "WID-1\" onmouseover=\"alert(5)", "url",
	                              "javascript:alert(6)"));
	json_t *cm2 = json_array_get(json_object_get(doc, "countermeasures"), 1);
	json_object_set_new(cm2, "ticket",
	                    json_pack("{s:s,s:s,s:s}", "connector", "jira", "key", "WID-2", "url",
	                              "https://x.example/a\"onclick=\"alert(7)"));
	json_t *rel = json_array_get(json_object_get(doc, "trend"), 0);
	json_object_set_new(rel, "release", json_string("</text><script>alert(8)</script>"));

	char *html = render(doc);
	/* the page's own script is the only one */
	assert_int_equal(count(html, "<script"), 1);
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "onload=\""));
	assert_null(strstr(html, "onmouseover=\""));
	assert_null(strstr(html, "onclick=\""));
	assert_null(strstr(html, "javascript:alert(6)\""));
	assert_null(strstr(html, "href=\"javascript"));
	assert_non_null(strstr(html, "<title>Threat model report: &lt;script&gt;alert(1)&lt;"
	                             "/script&gt; &amp; Co</title>"));
	assert_non_null(strstr(html, "&quot; onload=&quot;alert(2)"));
	assert_non_null(strstr(html, "&lt;img src=x onerror=alert(4)&gt;"));
	/* the javascript: URL is text, not a link; the quoted one too */
	assert_non_null(strstr(html, "<td>WID-1&quot; onmouseover=&quot;alert(5) <span "
	                             "class=\"muted\">(javascript:alert(6))</span></td>"));
	assert_non_null(strstr(html, "<td>WID-2 <span class=\"muted\">(https://x.example/"
	                             "a&quot;onclick=&quot;alert(7))</span></td>"));
	assert_int_equal(count(html, "<a href=\"http"), 1);
	/* in the diagram (Graphviz's escaping) and in the charts */
	assert_non_null(strstr(html, "&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;/text&gt;&lt;script&gt;alert(8)&lt;/script&gt;"));
	free(html);
	json_decref(doc);
}

static void test_empty_sections(void **state)
{
	json_t *doc =
	    json_pack("{s:i,s:s,s:{s:s,s:s,s:n},s:{s:n,s:n},s:{s:n,s:n,s:n,s:[],s:[],s:[]},"
	              "s:{s:{s:i,s:i,s:i,s:i},s:{},s:{},s:i,s:f,s:n},s:[],s:[],s:[],s:[],"
	              "s:{s:[],s:[]},s:[],s:[]}",
	              "report_version", 1, "generated_at", "2026-01-15T10:00:00.000Z", "project",
	              "slug", "empty", "name", "Empty", "description", "classification",
	              "risk_class", "rule", "model", "version", "imported_at", "source", "zones",
	              "components", "flows", "summary", "threats_open", "critical", 0, "high", 0,
	              "medium", 0, "low", 0, "tasks", "verification", "overdue", 0, "risk_score",
	              0.0, "mttr_days", "threats", "countermeasures", "findings", "overrides",
	              "compliance", "required", "frameworks", "releases", "trend");
	assert_non_null(doc);
	char *html = render(doc);
	static const char *const sentences[] = {
	    "<p class=\"none\">No model with components: nothing to draw.</p>",
	    "<p class=\"none\">No threats.</p>",
	    "<p class=\"none\">No countermeasures.</p>",
	    "<p class=\"none\">No findings from scanners.</p>",
	    "<p class=\"none\">No overrides.</p>",
	    "<p class=\"none\">No compliance framework is mapped by the countermeasures.</p>",
	    "<p class=\"none\">No releases recorded.</p>",
	    "<p class=\"none\">No trend yet: metrics are recorded at each release and "
	    "snapshot.</p>"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(sentences); i++)
		assert_int_equal(count(html, sentences[i]), 1);
	assert_non_null(strstr(html, "<th scope=\"row\">Risk class</th><td>not classified</td>"));
	assert_non_null(strstr(html, "<th scope=\"row\">Model</th><td>no model imported</td>"));
	assert_null(strstr(html, "viewBox=\"0.00 0.00 "));
	assert_null(strstr(html, "<svg class=\"chart\""));
	assert_int_equal(count(html, "<table class=\"sortable\""), 0);
	free(html);
	json_decref(doc);

	/* the members absent altogether: the same sentences */
	doc = json_pack("{s:i,s:{s:s}}", "report_version", 1, "project", "slug", "bare");
	html = render(doc);
	for (size_t i = 0; i < TS_ARRAY_SIZE(sentences); i++)
		assert_int_equal(count(html, sentences[i]), 1);
	assert_non_null(strstr(html, "<title>Threat model report: bare</title>"));
	free(html);
	json_decref(doc);
}

static void test_portfolio(void **state)
{
	json_t *doc = json_pack(
	    "{s:i,s:s,s:[{s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i},s:i,s:i,s:f,"
	    "s:[{s:s,s:i,s:i,s:i},{s:s,s:i,s:i,s:i}],s:{s:s,s:f}},"
	    "{s:s,s:s,s:n,s:{s:i,s:i,s:i,s:i},s:i,s:i,s:f,s:[],s:{s:n,s:n}}]}",
	    "report_version", 1, "generated_at", "2026-01-15T10:00:00.000Z", "projects", "slug",
	    "shop", "name", "Shop <b>&</b>", "risk_class", "critical", "threats_open", "critical",
	    2, "high", 5, "medium", 1, "low", 0, "overdue", 3, "verification_failed", 1,
	    "risk_score", 123.5, "coverage", "framework", "pci-dss", "covered", 10, "partly", 5,
	    "not_covered", 5, "framework", "gdpr", "covered", 1, "partly", 0, "not_covered", 3,
	    "since_release", "release", "2026.01", "risk_score_delta", -20.5, "slug", "wiki",
	    "name", "Wiki", "risk_class", "threats_open", "critical", 0, "high", 0, "medium", 2,
	    "low", 1, "overdue", 0, "verification_failed", 0, "risk_score", 7.0, "coverage",
	    "since_release", "release", "risk_score_delta");
	assert_non_null(doc);
	struct ts_buf out = {0};
	struct ts_err err = {0};
	assert_int_equal(report_render_portfolio_html(doc, &out, &err), 0);
	const char *html = out.data;
	assert_non_null(strstr(html, "<!DOCTYPE html>\n<html lang=\"en\">"));
	assert_non_null(strstr(html, "<title>Threat model portfolio</title>"));
	assert_int_equal(body_rows(html, "portfolio-table"), 2);
	assert_non_null(strstr(html, "<td>Shop &lt;b&gt;&amp;&lt;/b&gt; <code>shop</code></td>"));
	assert_non_null(strstr(html, "-20.5 <span class=\"muted\">since 2026.01</span>"));
	assert_int_equal(count(html, "<div class=\"bar\""), 2);
	assert_non_null(strstr(html, "<span class=\"b-ok\" style=\"width:50.0%\"></span>"
	                             "<span class=\"b-part\" style=\"width:25.0%\"></span>"
	                             "<span class=\"b-gap\" style=\"width:25.0%\"></span>"));
	assert_non_null(strstr(html, "<td class=\"num\">123.5</td>"));
	ts_buf_free(&out);
	json_decref(doc);

	doc = json_pack("{s:i,s:[]}", "report_version", 1, "projects");
	assert_int_equal(report_render_portfolio_html(doc, &out, &err), 0);
	assert_non_null(strstr(out.data, "<p class=\"none\">No projects.</p>"));
	ts_buf_free(&out);
	json_decref(doc);
}

static void expect_refusal(bool portfolio, const char *json, const char *msg)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr);
	assert_non_null(doc);
	struct ts_buf out = {0};
	struct ts_err err = {0};
	int rc = portfolio ? report_render_portfolio_html(doc, &out, &err)
	                   : report_render_html(doc, &out, &err);
	assert_int_equal(rc, TS_E_INVALID);
	assert_string_equal(err.msg, msg);
	assert_int_equal(out.len, 0);
	json_decref(doc);
}

static void test_bad_document(void **state)
{
	expect_refusal(false, "[]", "report: not a JSON object");
	expect_refusal(false, "{\"report_version\": 2}",
	               "report.report_version: not 1 (the version this program renders)");
	expect_refusal(false, "{\"report_version\": 1, \"threats\": {}}",
	               "report.threats: not an array");
	expect_refusal(false, "{\"report_version\": 1, \"threats\": [1]}",
	               "report.threats[0]: not an object");
	expect_refusal(false, "{\"report_version\": 1, \"model\": []}",
	               "report.model: not an object");
	expect_refusal(false, "{\"report_version\": 1, \"model\": {\"flows\": 1}}",
	               "report.model.flows: not an array");
	expect_refusal(false, "{\"report_version\": 1, \"compliance\": {\"frameworks\": {}}}",
	               "report.compliance.frameworks: not an array");
	expect_refusal(true, "{\"report_version\": 1, \"projects\": {}}",
	               "portfolio.projects: not an array");
	expect_refusal(true, "{\"report_version\": 1, \"projects\": [\"x\"]}",
	               "portfolio.projects[0]: not an object");
}

/* A model the diagram refuses still gives a page, saying why. */
static void test_diagram_refused(void **state)
{
	json_t *doc = widgetsrus_doc();
	json_t *flow = json_array_get(json_object_get(json_object_get(doc, "model"), "flows"), 0);
	json_object_set_new(flow, "target", json_string("<gone>"));
	char *html = render(doc);
	assert_non_null(strstr(html,
	                       "<p class=\"none\">The diagram is not drawn: "
	                       "model.flows[0].target: no component &#39;&lt;gone&gt;&#39;</p>"));
	assert_null(strstr(html, "viewBox=\"0.00 0.00 "));
	assert_int_equal(body_rows(html, "threats-table"), 27);
	free(html);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_widgetsrus_page),   cmocka_unit_test(test_diagram_in_page),
	    cmocka_unit_test(test_no_external_loads), cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_empty_sections),    cmocka_unit_test(test_portfolio),
	    cmocka_unit_test(test_bad_document),      cmocka_unit_test(test_diagram_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
