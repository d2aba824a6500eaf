/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the three renderers of the ticket document: the exact ADF, wiki
 * markup and Markdown of a document with every kind of block, of one with
 * sections missing, and the escaping of hostile text in each format. */
#include "connectors/render.h"
#include "connectors/ticket_doc.h"
#include "helpers/doc_util.h"
#include "helpers/testutil.h"

#include <stdlib.h>
#include <string.h>

#define LINK_BACK "https://threatsync.example/p/widgets/C-OUTPUT-ENCODING@web"

/* ---- the sample document, as each renderer writes it ----
 * The ADF and wiki texts are the bytes Jira tickets were written with before
 * the document was shared with GitLab: Jira's content hash is taken over them,
 * so they must never change for the same body. Each is kept as pieces (a
 * line, or a run of ADF) joined by expect(), for the compiler's limit on
 * string literals. */

static const char *const rich_adf[] = {
    "{\"content\":[{\"attrs\":{\"level\":3},",
    "\"content\":[{\"text\":\"Requirement\",\"type\":\"text\"}],",
    "\"type\":\"heading\"},{\"content\":[{\"text\":\"As a developer I *encode* ou",
    "tput. Second line with \",\"type\":\"text\"},",
    "{\"marks\":[{\"type\":\"code\"}],\"text\":\"code\",\"type\":\"text\"},",
    "{\"text\":\" and \",\"type\":\"text\"},",
    "{\"marks\":[{\"attrs\":{\"href\":\"https://example.org/a_b\"},",
    "\"type\":\"link\"}],\"text\":\"the sheet\",\"type\":\"text\"},",
    "{\"text\":\" and \",\"type\":\"text\"},",
    "{\"marks\":[{\"attrs\":{\"href\":\"https://example.org/more\"},",
    "\"type\":\"link\"}],\"text\":\"https://example.org/more\",",
    "\"type\":\"text\"},{\"text\":\".\",\"type\":\"text\"}],",
    "\"type\":\"paragraph\"},{\"content\":[{\"content\":[{\"content\":[{\"text\":",
    "\"item one @admin #12\",\"type\":\"text\"}],\"type\":\"paragraph\"}],",
    "\"type\":\"listItem\"},{\"content\":[{\"content\":[{\"text\":\"item two ~bug",
    " continued\",\"type\":\"text\"}],\"type\":\"paragraph\"}],",
    "\"type\":\"listItem\"}],\"type\":\"bulletList\"},",
    "{\"attrs\":{\"language\":\"c#\"},",
    "\"content\":[{\"text\":\"if (a < b) { x = \\\"\\\\n\\\"; }\",",
    "\"type\":\"text\"}],\"type\":\"codeBlock\"},",
    "{\"content\":[{\"text\":\"After {code} [x|y] !img! -strike- h3. <b>html</b> ",
    "&amp; |pipe| $12 %m &epic\",\"type\":\"text\"}],\"type\":\"paragraph\"},",
    "{\"attrs\":{\"level\":3},\"content\":[{\"text\":\"How to\",",
    "\"type\":\"text\"}],\"type\":\"heading\"},{\"attrs\":{\"level\":4},",
    "\"content\":[{\"text\":\"node\",\"type\":\"text\"}],\"type\":\"heading\"},",
    "{\"content\":[{\"text\":\"Use \",\"type\":\"text\"},",
    "{\"marks\":[{\"type\":\"code\"}],\"text\":\"escapeHtml\",\"type\":\"text\"},",
    "{\"text\":\":\",\"type\":\"text\"}],\"type\":\"paragraph\"},",
    "{\"attrs\":{\"language\":\"js\"},",
    "\"content\":[{\"text\":\"res.send(escapeHtml(name));\",\"type\":\"text\"}],",
    "\"type\":\"codeBlock\"},{\"content\":[{\"text\":\"1. not a list\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"},",
    "{\"content\":[{\"text\":\"# not a heading\",\"type\":\"text\"}],",
    "\"type\":\"paragraph\"},{\"content\":[{\"text\":\"---\",\"type\":\"text\"}],",
    "\"type\":\"paragraph\"},{\"content\":[{\"content\":[{\"content\":[{\"text\":",
    "\"plus\",\"type\":\"text\"}],\"type\":\"paragraph\"}],",
    "\"type\":\"listItem\"}],\"type\":\"bulletList\"},{\"attrs\":{\"level\":4},",
    "\"content\":[{\"text\":\"java\",\"type\":\"text\"}],\"type\":\"heading\"},",
    "{\"attrs\":{\"level\":3},\"content\":[{\"text\":\"Acceptance test\",",
    "\"type\":\"text\"}],\"type\":\"heading\"},",
    "{\"content\":[{\"text\":\"Submit <svg onload=alert(1)> with \\u0001\\u001F a",
    "nd \x7f.\",\"type\":\"text\"}],\"type\":\"paragraph\"},",
    "{\"attrs\":{\"level\":3},\"content\":[{\"text\":\"Training\",",
    "\"type\":\"text\"}],\"type\":\"heading\"},",
    "{\"content\":[{\"content\":[{\"content\":[{\"marks\":[{\"attrs\":{\"href\":\"",
    "https://cheatsheetseries.owasp.org/x.html\"},\"type\":\"link\"}],",
    "\"text\":\"OWASP [XSS]\",\"type\":\"text\"}],\"type\":\"paragraph\"}],",
    "\"type\":\"listItem\"},{\"content\":[{\"content\":[{\"text\":\"local\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"listItem\"},",
    "{\"content\":[{\"content\":[{\"marks\":[{\"attrs\":{\"href\":\"https://only.",
    "example/\"},\"type\":\"link\"}],\"text\":\"https://only.example/\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"listItem\"}],",
    "\"type\":\"bulletList\"},{\"attrs\":{\"level\":3},",
    "\"content\":[{\"text\":\"Threats\",\"type\":\"text\"}],",
    "\"type\":\"heading\"},{\"content\":[{\"content\":[{\"content\":[{\"text\":\"",
    "Cross-site *scripting* (\",\"type\":\"text\"},",
    "{\"marks\":[{\"type\":\"code\"}],\"text\":\"T-XSS@web\",\"type\":\"text\"},",
    "{\"text\":\") \",\"type\":\"text\"},{\"marks\":[{\"type\":\"strong\"}],",
    "\"text\":\"Severity:\",\"type\":\"text\"},{\"text\":\" high; \",",
    "\"type\":\"text\"},{\"marks\":[{\"attrs\":{\"href\":\"https://cwe.mitre.org/",
    "data/definitions/79.html\"},\"type\":\"link\"}],\"text\":\"CWE-79\",",
    "\"type\":\"text\"},{\"text\":\" Improper <Neutralization> of *Input*, \",",
    "\"type\":\"text\"},{\"marks\":[{\"attrs\":{\"href\":\"https://cwe.mitre.org/",
    "data/definitions/80.html\"},\"type\":\"link\"}],\"text\":\"CWE-80\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"listItem\"},",
    "{\"content\":[{\"content\":[{\"text\":\"T-2\",\"type\":\"text\"}],",
    "\"type\":\"paragraph\"}],\"type\":\"listItem\"}],\"type\":\"bulletList\"},",
    "{\"attrs\":{\"level\":3},\"content\":[{\"text\":\"Compliance controls\",",
    "\"type\":\"text\"}],\"type\":\"heading\"},",
    "{\"content\":[{\"content\":[{\"content\":[{\"marks\":[{\"type\":\"strong\"}]",
    ",\"text\":\"asvs\",\"type\":\"text\"},{\"text\":\": 5.3.1, 5.3.3\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"listItem\"},",
    "{\"content\":[{\"content\":[{\"marks\":[{\"type\":\"strong\"}],",
    "\"text\":\"pci|dss\",\"type\":\"text\"},{\"text\":\": 6.2.4\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"listItem\"}],",
    "\"type\":\"bulletList\"},{\"attrs\":{\"level\":3},",
    "\"content\":[{\"text\":\"Component\",\"type\":\"text\"}],",
    "\"type\":\"heading\"},{\"content\":[{\"text\":\"Web @front (web_app),",
    " component \",\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],",
    "\"text\":\"web\",\"type\":\"text\"},{\"text\":\", model version 3,",
    " project \",\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],",
    "\"text\":\"widgets\",\"type\":\"text\"},{\"text\":\".\",\"type\":\"text\"}],",
    "\"type\":\"paragraph\"},{\"attrs\":{\"level\":3},",
    "\"content\":[{\"text\":\"Managed by threatsync\",\"type\":\"text\"}],",
    "\"type\":\"heading\"},{\"content\":[{\"text\":\"This ticket tracks counterme",
    "asure \",\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],",
    "\"text\":\"C-OUTPUT-ENCODING@web\",\"type\":\"text\"},",
    "{\"text\":\". threatsync keeps the summary,",
    " this description and its labels up to date; do not remove the label \",",
    "\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],",
    "\"text\":\"threatsync-0123456789abcdef\",\"type\":\"text\"},{\"text\":\".\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"},",
    "{\"content\":[{\"text\":\"Details: \",\"type\":\"text\"},",
    "{\"marks\":[{\"attrs\":{\"href\":\"https://threatsync.example/p/widgets/C-OU",
    "TPUT-ENCODING@web\"},\"type\":\"link\"}],",
    "\"text\":\"https://threatsync.example/p/widgets/C-OUTPUT-ENCODING@web\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"doc\",",
    "\"version\":1}",
    NULL,
};

static const char *const rich_wiki[] = {
    "h3. Requirement\n",
    "\n",
    "As a developer I \\*encode\\* output. Second line with {{code}} ",
    "and [the sheet|https://example.org/a_b] and [https://example.org/more].\n",
    "\n",
    "* item one @admin \\#12\n",
    "* item two \\~bug continued\n",
    "\n",
    "{code:c#}\n",
    "if (a < b) { x = \"\\n\"; }\n",
    "{code}\n",
    "\n",
    "After \\{code\\} \\[x\\|y\\] \\!img! \\-strike\\- h3. <b>html</b> &amp; ",
    "\\|pipe\\| $12 %m &epic\n",
    "\n",
    "h3. How to\n",
    "\n",
    "h4. node\n",
    "\n",
    "Use {{escapeHtml}}:\n",
    "\n",
    "{code:js}\n",
    "res.send(escapeHtml(name));\n",
    "{code}\n",
    "\n",
    "1. not a list\n",
    "\n",
    "\\# not a heading\n",
    "\n",
    "\\-\\-\\-\n",
    "\n",
    "* plus\n",
    "\n",
    "h4. java\n",
    "\n",
    "h3. Acceptance test\n",
    "\n",
    "Submit <svg onload=alert(1)> with \x01\x1f and \x7f.\n",
    "\n",
    "h3. Training\n",
    "\n",
    "* [OWASP \\[XSS\\]|https://cheatsheetseries.owasp.org/x.html]\n",
    "* local\n",
    "* [https://only.example/]\n",
    "\n",
    "h3. Threats\n",
    "\n",
    "* Cross-site \\*scripting\\* ({{T-XSS@web}}) *Severity:* high; ",
    "[CWE-79|https://cwe.mitre.org/data/definitions/79.html] ",
    "Improper <Neutralization> of \\*Input\\*, ",
    "[CWE-80|https://cwe.mitre.org/data/definitions/80.html]\n",
    "* T-2\n",
    "\n",
    "h3. Compliance controls\n",
    "\n",
    "* *asvs*: 5.3.1, 5.3.3\n",
    "* *pci\\|dss*: 6.2.4\n",
    "\n",
    "h3. Component\n",
    "\n",
    "Web @front (web\\_app), component {{web}}, model version 3, project {{widgets}}.\n",
    "\n",
    "h3. Managed by threatsync\n",
    "\n",
    "This ticket tracks countermeasure {{C-OUTPUT-ENCODING@web}}. ",
    "threatsync keeps the summary, this description and its labels ",
    "up to date; do not remove the label {{threatsync-0123456789abcdef}}.\n",
    "\n",
    "Details: [https://threatsync.example/p/widgets/C-OUTPUT-ENCODING@web]",
    NULL,
};

static const char *const rich_md[] = {
    "## Requirement\n",
    "\n",
    "As a developer I \\*encode\\* output. Second line with `code` and ",
    "[the sheet](https://example.org/a_b) and ",
    "[https://example.org/more](https://example.org/more).\n",
    "\n",
    "- item one \\@admin \\#12\n",
    "- item two \\~bug continued\n",
    "\n",
    "```c#\n",
    "if (a < b) { x = \"\\n\"; }\n",
    "```\n",
    "\n",
    "After {code} \\[x\\|y\\] \\!img! -strike- h3. \\<b\\>html\\</b\\> ",
    "\\&amp; \\|pipe\\| \\$12 \\%m \\&epic\n",
    "\n",
    "## How to\n",
    "\n",
    "### node\n",
    "\n",
    "Use `escapeHtml`:\n",
    "\n",
    "```js\n",
    "res.send(escapeHtml(name));\n",
    "```\n",
    "\n",
    "1\\. not a list\n",
    "\n",
    "\\# not a heading\n",
    "\n",
    "\\---\n",
    "\n",
    "- plus\n",
    "\n",
    "### java\n",
    "\n",
    "## Acceptance test\n",
    "\n",
    "Submit \\<svg onload=alert(1)\\> with \x01\x1f and \x7f.\n",
    "\n",
    "## Training\n",
    "\n",
    "- [OWASP \\[XSS\\]](https://cheatsheetseries.owasp.org/x.html)\n",
    "- local\n",
    "- [https://only.example/](https://only.example/)\n",
    "\n",
    "## Threats\n",
    "\n",
    "- Cross-site \\*scripting\\* (`T-XSS@web`) **Severity:** high; ",
    "[CWE-79](https://cwe.mitre.org/data/definitions/79.html) ",
    "Improper \\<Neutralization\\> of \\*Input\\*, ",
    "[CWE-80](https://cwe.mitre.org/data/definitions/80.html)\n",
    "- T-2\n",
    "\n",
    "## Compliance controls\n",
    "\n",
    "- **asvs**: 5.3.1, 5.3.3\n",
    "- **pci\\|dss**: 6.2.4\n",
    "\n",
    "## Component\n",
    "\n",
    "Web \\@front (web\\_app), component `web`, model version 3, project `widgets`.\n",
    "\n",
    "## Managed by threatsync\n",
    "\n",
    "This ticket tracks countermeasure `C-OUTPUT-ENCODING@web`. ",
    "threatsync keeps the summary, this description and its labels ",
    "up to date; do not remove the label `threatsync-0123456789abcdef`.\n",
    "\n",
    "Details: ",
    "[https://threatsync.example/p/widgets/C-OUTPUT-ENCODING\\@web]"
    "(https://threatsync.example/p/widgets/C-OUTPUT-ENCODING@web)\n",
    NULL,
};

static const char *const empty_adf[] = {
    "{\"content\":[{\"attrs\":{\"level\":3},\"content\":[{\"text\":\"Component\",",
    "\"type\":\"text\"}],\"type\":\"heading\"},",
    "{\"content\":[{\"text\":\"(whole system), model version 3, project \",",
    "\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],\"text\":\"widgets\",",
    "\"type\":\"text\"},{\"text\":\".\",\"type\":\"text\"}],",
    "\"type\":\"paragraph\"},{\"attrs\":{\"level\":3},",
    "\"content\":[{\"text\":\"Managed by threatsync\",\"type\":\"text\"}],",
    "\"type\":\"heading\"},{\"content\":[{\"text\":\"This ticket tracks counterme",
    "asure \",\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],",
    "\"text\":\"C-OUTPUT-ENCODING@web\",\"type\":\"text\"},",
    "{\"text\":\". threatsync keeps the summary,",
    " this description and its labels up to date; do not remove the label \",",
    "\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],",
    "\"text\":\"threatsync-0123456789abcdef\",\"type\":\"text\"},{\"text\":\".\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"},",
    "{\"content\":[{\"text\":\"threatsync task C-X@web of project [w] *x*\",",
    "\"type\":\"text\"}],\"type\":\"paragraph\"}],\"type\":\"doc\",",
    "\"version\":1}",
    NULL,
};

static const char *const empty_wiki[] = {
    "h3. Component\n",
    "\n",
    "(whole system), model version 3, project {{widgets}}.\n",
    "\n",
    "h3. Managed by threatsync\n",
    "\n",
    "This ticket tracks countermeasure {{C-OUTPUT-ENCODING@web}}. ",
    "threatsync keeps the summary, this description and its labels ",
    "up to date; do not remove the label {{threatsync-0123456789abcdef}}.\n",
    "\n",
    "threatsync task C-X@web of project \\[w\\] \\*x\\*",
    NULL,
};

static const char *const empty_md[] = {
    "## Component\n",
    "\n",
    "(whole system), model version 3, project `widgets`.\n",
    "\n",
    "## Managed by threatsync\n",
    "\n",
    "This ticket tracks countermeasure `C-OUTPUT-ENCODING@web`. ",
    "threatsync keeps the summary, this description and its labels ",
    "up to date; do not remove the label `threatsync-0123456789abcdef`.\n",
    "\n",
    "threatsync task C-X\\@web of project \\[w\\] \\*x\\*\n",
    NULL,
};

/* Asserts that got is the concatenation of want's pieces. */
static void expect(const char *got, const char *const *want)
{
	struct ts_buf b = {0};
	for (size_t i = 0; want[i]; i++)
		ts_buf_puts(&b, want[i]);
	assert_string_equal(got, b.data ? b.data : "");
	ts_buf_free(&b);
}

#define EMPTY_LINK_BACK "threatsync task C-X@web of project [w] *x*"

/* The sample ticket's document, rendered by render (a new string). */
static char *rendered(const char *body, const char *link_back,
                      char *(*render)(const struct ticket_doc *))
{
	struct du_sample s;
	if (body)
		du_sample_body(&s, body, link_back);
	else
		du_sample(&s, link_back);
	struct ticket_doc d = {0};
	ticket_doc_build(&d, &s.t);
	char *out = render(&d);
	ticket_doc_clear(&d);
	du_sample_free(&s);
	return out;
}

static void test_adf_sample(void **state)
{
	(void)state;
	char *got = rendered(NULL, LINK_BACK, render_adf);
	expect(got, rich_adf);
	/* The text is already jansson's sorted compact dump of itself. */
	json_error_t jerr;
	json_t *parsed = json_loads(got, 0, &jerr);
	assert_non_null(parsed);
	char *again = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(again, got);
	free(again);
	json_decref(parsed);
	free(got);
}

static void test_wiki_sample(void **state)
{
	(void)state;
	char *got = rendered(NULL, LINK_BACK, render_wiki);
	expect(got, rich_wiki);
	free(got);
}

static void test_markdown_sample(void **state)
{
	(void)state;
	char *got = rendered(NULL, LINK_BACK, render_markdown);
	expect(got, rich_md);
	free(got);
}

/* A body without any section: only the component and the link back, in every
 * format; and a document without blocks. */
static void test_sections_missing(void **state)
{
	(void)state;
	char *got = rendered("{}", EMPTY_LINK_BACK, render_adf);
	expect(got, empty_adf);
	free(got);
	got = rendered("{}", EMPTY_LINK_BACK, render_wiki);
	expect(got, empty_wiki);
	free(got);
	got = rendered("{}", EMPTY_LINK_BACK, render_markdown);
	expect(got, empty_md);
	free(got);

	struct ticket_doc none = {0};
	got = render_adf(&none);
	assert_string_equal(got, "{\"content\":[],\"type\":\"doc\",\"version\":1}");
	free(got);
	got = render_wiki(&none);
	assert_string_equal(got, "");
	free(got);
	got = render_markdown(&none);
	assert_string_equal(got, "");
	free(got);
	json_t *j = render_adf_json(&none);
	assert_int_equal(json_array_size(json_object_get(j, "content")), 0);
	json_decref(j);
}

/* ---- hostile text, block by block ---- */

#define SPAN(k, t)                                                                                 \
	{                                                                                          \
		TICKET_SPAN_##k, (char *)(t), NULL                                                 \
	}
#define LINK(t, h)                                                                                 \
	{                                                                                          \
		TICKET_SPAN_LINK, (char *)(t), (char *)(h)                                         \
	}
#define BLOCK(k, spans)                                                                            \
	{                                                                                          \
		TICKET_BLOCK_##k, 0, NULL, NULL, spans, TS_ARRAY_SIZE(spans)                       \
	}

static struct ticket_span s_refs[] = {
    SPAN(TEXT, "a_b *c* @bob #12 ~bug x#y & &amp; 100% !3 $4 %m &e")};
static struct ticket_span s_html[] = {SPAN(TEXT, "<img src=x onerror=alert(1)> [r]: /u | t |")};
static struct ticket_span s_dash[] = {SPAN(TEXT, "- not an item")};
static struct ticket_span s_plus[] = {SPAN(TEXT, "+ not an item")};
static struct ticket_span s_rule[] = {SPAN(TEXT, "===")};
static struct ticket_span s_num[] = {SPAN(TEXT, "1. not a list")};
static struct ticket_span s_paren[] = {SPAN(TEXT, "12) not a list")};
static struct ticket_span s_indent[] = {SPAN(TEXT, "    not code")};
static struct ticket_span s_quick[] = {SPAN(TEXT, "/close")};
static struct ticket_span s_hash[] = {SPAN(TEXT, "# not a heading")};
static struct ticket_span s_quote[] = {SPAN(TEXT, "> not a quote\nsecond line")};
static struct ticket_span s_code[] = {
    SPAN(TEXT, ""),  SPAN(CODE, "a``b"), SPAN(TEXT, " "), SPAN(CODE, "`x"),
    SPAN(TEXT, " "), SPAN(CODE, " y "),  SPAN(TEXT, " "), SPAN(CODE, "@bob\n#1"),
};
static struct ticket_span s_bold[] = {SPAN(BOLD, "**x** @y"), SPAN(TEXT, ": z")};
static struct ticket_span s_links[] = {
    LINK("doc [1]", "https://e.example/a (b)"),
    SPAN(TEXT, " "),
    LINK("local", "javascript:alert(1)"),
    SPAN(TEXT, " "),
    LINK("x", "https:///no-host"),
    SPAN(TEXT, " "),
    LINK("q", "https://e.example/\"'<>`\\"),
};

static void test_markdown_hostile(void **state)
{
	(void)state;
	struct ticket_block blocks[] = {
	    BLOCK(PARAGRAPH, s_refs),
	    BLOCK(PARAGRAPH, s_html),
	    BLOCK(PARAGRAPH, s_dash),
	    BLOCK(BULLET, s_plus),
	    BLOCK(BULLET, s_rule),
	    BLOCK(PARAGRAPH, s_num),
	    BLOCK(PARAGRAPH, s_paren),
	    BLOCK(PARAGRAPH, s_indent),
	    BLOCK(PARAGRAPH, s_quick),
	    BLOCK(HEADING, s_hash),
	    BLOCK(PARAGRAPH, s_quote),
	    BLOCK(PARAGRAPH, s_code),
	    BLOCK(BULLET, s_bold),
	    BLOCK(PARAGRAPH, s_links),
	    {TICKET_BLOCK_CODE, 0, "C++ (gcc)", "x = `a`;\nfence: ````\n", NULL, 0},
	    {TICKET_BLOCK_CODE, 0, NULL, "", NULL, 0},
	};
	blocks[9].level = 4;
	struct ticket_doc d = {blocks, TS_ARRAY_SIZE(blocks)};
	char *got = render_markdown(&d);
	assert_string_equal(
	    got, "a\\_b \\*c\\* \\@bob \\#12 \\~bug x\\#y & \\&amp; 100% \\!3 \\$4 \\%m \\&e\n"
	         "\n"
	         "\\<img src=x onerror=alert(1)\\> \\[r\\]: /u \\| t \\|\n"
	         "\n"
	         "\\- not an item\n"
	         "\n"
	         "- \\+ not an item\n"
	         "- \\===\n"
	         "\n"
	         "1\\. not a list\n"
	         "\n"
	         "12\\) not a list\n"
	         "\n"
	         "not code\n"
	         "\n"
	         "\\/close\n"
	         "\n"
	         "### \\# not a heading\n"
	         "\n"
	         "\\> not a quote second line\n"
	         "\n"
	         "```a``b``` `` `x `` `  y  ` `@bob #1`\n"
	         "\n"
	         "- **\\*\\*x\\*\\* \\@y**: z\n"
	         "\n"
	         "[doc \\[1\\]](https://e.example/a%20%28b%29) local (javascript:alert(1)) "
	         "x (https:///no-host) [q](https://e.example/%22%27%3C%3E%60%5C)\n"
	         "\n"
	         "`````C++gcc\n"
	         "x = `a`;\n"
	         "fence: ````\n"
	         "`````\n"
	         "\n"
	         "```\n"
	         "```\n");
	free(got);
}

static void test_wiki_hostile(void **state)
{
	(void)state;
	static struct ticket_span text[] = {
	    SPAN(TEXT, "{code} [x|y] *b* _i_ ^s^ ~t~ -strike- +under+ a-b a+b !img.png! ! #1 "
	               "## ?? \\ line\r\nbreak"),
	};
	static struct ticket_span spans[] = {
	    SPAN(CODE, "{{x}}"),
	    SPAN(TEXT, " "),
	    SPAN(BOLD, "*b*"),
	    SPAN(TEXT, " "),
	    LINK("t|x]", "https://e.example/a]b|c\nd"),
	    SPAN(TEXT, " "),
	    LINK("https://e.example/", "https://e.example/"),
	};
	struct ticket_block blocks[] = {
	    BLOCK(HEADING, text),
	    BLOCK(PARAGRAPH, text),
	    BLOCK(BULLET, spans),
	    {TICKET_BLOCK_CODE, 0, "c", "x = {{y}};\n*z* [a|b]", NULL, 0},
	    /* Library text that would close the block and inject markup. */
	    {TICKET_BLOCK_CODE, 0, NULL, "a\n{code}\nh1. pwned {CODE:x}", NULL, 0},
	};
	blocks[0].level = 9; /* out of range: a section heading */
	struct ticket_doc d = {blocks, TS_ARRAY_SIZE(blocks)};
	char *got = render_wiki(&d);
	const char *line = "\\{code\\} \\[x\\|y\\] \\*b\\* \\_i\\_ \\^s\\^ \\~t\\~ \\-strike\\- "
	                   "\\+under\\+ a-b a+b \\!img.png! ! \\#1 \\## \\?? \\\\ line  break";
	char *want =
	    ts_asprintf("h3. %s\n\n%s\n\n"
	                "* {{\\{\\{x\\}\\}}} *\\*b\\** "
	                "[t\\|x\\]|https://e.example/a%%5Db%%7Ccd] [https://e.example/]\n\n"
	                "{code:c}\nx = {{y}};\n*z* [a|b]\n{code}\n\n"
	                "{code}\na\n{\xe2\x80\x8b" "code}\nh1. pwned {\xe2\x80\x8b" "CODE:x}\n{code}",
	                line, line);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

/* Control characters, quotes and a byte that is not UTF-8 stay inside the
 * JSON strings of ADF. */
static void test_adf_hostile(void **state)
{
	(void)state;
	static struct ticket_span spans[] = {
	    SPAN(TEXT, "\x01\x1f\"\\</script>\x7f"),
	    LINK("l", "https://e.example/?a=\"1\"&b=\x02"),
	    SPAN(CODE, "a\xff"
	               "b"),
	};
	struct ticket_block blocks[] = {
	    BLOCK(PARAGRAPH, spans),
	    {TICKET_BLOCK_CODE, 0, "c\"", "\t\"x\"\n", NULL, 0},
	};
	struct ticket_doc d = {blocks, TS_ARRAY_SIZE(blocks)};
	char *got = render_adf(&d);
	assert_string_equal(
	    got, "{\"content\":[{\"content\":[{\"text\":\"\\u0001\\u001F\\\"\\\\</script>\x7f\","
	         "\"type\":\"text\"},{\"marks\":[{\"attrs\":{\"href\":"
	         "\"https://e.example/?a=\\\"1\\\"&b=\\u0002\"},\"type\":\"link\"}],"
	         "\"text\":\"l\",\"type\":\"text\"},{\"marks\":[{\"type\":\"code\"}],"
	         "\"text\":\"a\xef\xbf\xbd"
	         "b\",\"type\":\"text\"}],\"type\":\"paragraph\"},"
	         "{\"attrs\":{\"language\":\"c\\\"\"},\"content\":[{\"text\":"
	         "\"\\t\\\"x\\\"\\n\",\"type\":\"text\"}],\"type\":\"codeBlock\"}],"
	         "\"type\":\"doc\",\"version\":1}");
	json_t *j = render_adf_json(&d);
	assert_non_null(j);
	json_decref(j);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_adf_sample),       cmocka_unit_test(test_wiki_sample),
	    cmocka_unit_test(test_markdown_sample),  cmocka_unit_test(test_sections_missing),
	    cmocka_unit_test(test_markdown_hostile), cmocka_unit_test(test_wiki_hostile),
	    cmocka_unit_test(test_adf_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
