/* SPDX-License-Identifier: Apache-2.0 */
/* The sample ticket of the document and renderer tests. */
#include "helpers/doc_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static const char rich_body[] =
    "{\"requirement\": \"As a developer I *encode* output.\\nSecond line with `code` and "
    "[the sheet](https://example.org/a_b) and https://example.org/more.\\n\\n"
    "- item one @admin #12\\n- item two ~bug\\n  continued\\n\\n"
    "```C#\\nif (a < b) { x = \\\"\\\\n\\\"; }\\n```\\n"
    "After {code} [x|y] !img! -strike- h3. <b>html</b> &amp; |pipe| $12 %m &epic\","
    " \"how_to\": [{\"stack\": \"node\", \"text\": \"Use `escapeHtml`:\\n\\n```js\\n"
    "res.send(escapeHtml(name));\\n```\"},"
    " {\"stack\": \"\", \"text\": \"1. not a list\\n\\n# not a heading\\n\\n---\\n\\n+ plus\"},"
    " {\"stack\": \"java\"}],"
    " \"acceptance_test\": \"Submit <svg onload=alert(1)> with \\u0001\\u001f and \\u007f.\","
    " \"training\": [{\"title\": \"OWASP [XSS]\", \"url\": "
    "\"https://cheatsheetseries.owasp.org/x.html\"},"
    " {\"title\": \"local\", \"url\": \"javascript:alert(1)\"}, {\"title\": \"\", \"url\": \"\"},"
    " {\"url\": \"https://only.example/\"}],"
    " \"threats\": [{\"uid\": \"T-XSS@web\", \"title\": \"Cross-site *scripting*\","
    " \"cwe\": [79, 80, -1], \"severity\": \"high\"}, {\"uid\": \"T-2\"}],"
    " \"compliance\": {\"pci|dss\": [\"6.2.4\"], \"asvs\": [\"5.3.1\", \"\", \"5.3.3\"]},"
    " \"component\": {\"id\": \"web\", \"name\": \"Web @front\", \"type\": \"web_app\"}}";

void du_sample_body(struct du_sample *s, const char *body, const char *link_back)
{
	json_error_t jerr;
	memset(s, 0, sizeof(*s));
	s->body = json_loads(body, 0, &jerr);
	assert_non_null(s->body);
	s->cwe_names = json_pack("{s:s}", "79", "Improper <Neutralization> of *Input*");
	s->t = (struct ticket_spec){
	    .tracker_project = "SEC",
	    .marker = DU_MARKER,
	    .summary = "Encode output",
	    .body = s->body,
	    .cwe_names = s->cwe_names,
	    .project_slug = "widgets",
	    .cm_uid = "C-OUTPUT-ENCODING@web",
	    .model_version = 3,
	    .priority = 1,
	    .severity = "high",
	    .due_date = "2026-12-31",
	    .link_back = link_back,
	};
}

void du_sample(struct du_sample *s, const char *link_back)
{
	du_sample_body(s, rich_body, link_back);
}

void du_sample_free(struct du_sample *s)
{
	json_decref(s->body);
	json_decref(s->cwe_names);
	memset(s, 0, sizeof(*s));
}
