/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the ticket document: the blocks and spans built from a
 * countermeasure body (every section, and sections missing), and the reading
 * of library markdown into blocks. */
#include "connectors/ticket_doc.h"
#include "helpers/doc_util.h"
#include "helpers/testutil.h"

#include <stdlib.h>
#include <string.h>

/* The document as text, one block a line: "h3 ", "p ", "* " or "code[lang] "
 * and then its spans: text as it is, {c:code}, {b:bold}, {l:text|href}. A
 * code block's line breaks are written "\n". New string. */
static char *dump(const struct ticket_doc *d)
{
	struct ts_buf b = {0};
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct ticket_block *k = &d->blocks[i];
		switch (k->kind) {
		case TICKET_BLOCK_HEADING:
			ts_buf_printf(&b, "h%d ", k->level);
			break;
		case TICKET_BLOCK_PARAGRAPH:
			ts_buf_puts(&b, "p ");
			break;
		case TICKET_BLOCK_BULLET:
			ts_buf_puts(&b, "* ");
			break;
		case TICKET_BLOCK_CODE:
			ts_buf_printf(&b, "code[%s] ", k->lang ? k->lang : "");
			for (const char *p = k->code; *p; p++)
				ts_buf_puts(&b, *p == '\n' ? "\\n" : (char[]){*p, '\0'});
			break;
		}
		for (size_t j = 0; j < k->n_spans; j++) {
			const struct ticket_span *s = &k->spans[j];
			assert_true(s->text[0] != '\0');
			switch (s->kind) {
			case TICKET_SPAN_TEXT:
				ts_buf_puts(&b, s->text);
				break;
			case TICKET_SPAN_CODE:
				ts_buf_printf(&b, "{c:%s}", s->text);
				break;
			case TICKET_SPAN_BOLD:
				ts_buf_printf(&b, "{b:%s}", s->text);
				break;
			case TICKET_SPAN_LINK:
				ts_buf_printf(&b, "{l:%s|%s}", s->text, s->href);
				break;
			}
		}
		ts_buf_puts(&b, "\n");
	}
	return b.data ? ts_buf_steal(&b) : ts_strdup("");
}

static void test_build_sample(void **state)
{
	(void)state;
	struct du_sample s;
	du_sample(&s, "https://threatsync.example/p/widgets/C-OUTPUT-ENCODING@web");
	struct ticket_doc d = {0};
	ticket_doc_build(&d, &s.t);
	char *got = dump(&d);
	assert_string_equal(got,
	                    "h3 Requirement\n"
	                    "p As a developer I *encode* output. Second line with {c:code} and "
	                    "{l:the sheet|https://example.org/a_b} and "
	                    "{l:https://example.org/more|https://example.org/more}.\n"
	                    "* item one @admin #12\n"
	                    "* item two ~bug continued\n"
	                    "code[c#] if (a < b) { x = \"\\n\"; }\n"
	                    "p After {code} [x|y] !img! -strike- h3. <b>html</b> &amp; |pipe| $12 "
	                    "%m &epic\n"
	                    "h3 How to\n"
	                    "h4 node\n"
	                    "p Use {c:escapeHtml}:\n"
	                    "code[js] res.send(escapeHtml(name));\n"
	                    "p 1. not a list\n"
	                    "p # not a heading\n"
	                    "p ---\n"
	                    "* plus\n"
	                    "h4 java\n"
	                    "h3 Acceptance test\n"
	                    "p Submit <svg onload=alert(1)> with \x01\x1f and \x7f.\n"
	                    "h3 Training\n"
	                    "* {l:OWASP [XSS]|https://cheatsheetseries.owasp.org/x.html}\n"
	                    "* local\n"
	                    "* {l:https://only.example/|https://only.example/}\n"
	                    "h3 Threats\n"
	                    "* Cross-site *scripting* ({c:T-XSS@web}) {b:Severity:} high; "
	                    "{l:CWE-79|https://cwe.mitre.org/data/definitions/79.html} Improper "
	                    "<Neutralization> of *Input*, "
	                    "{l:CWE-80|https://cwe.mitre.org/data/definitions/80.html}\n"
	                    "* T-2\n"
	                    "h3 Compliance controls\n"
	                    "* {b:asvs}: 5.3.1, 5.3.3\n"
	                    "* {b:pci|dss}: 6.2.4\n"
	                    "h3 Component\n"
	                    "p Web @front (web_app), component {c:web}, model version 3, project "
	                    "{c:widgets}.\n"
	                    "h3 Managed by threatsync\n"
	                    "p This ticket tracks countermeasure {c:C-OUTPUT-ENCODING@web}. "
	                    "threatsync keeps the summary, this description and its labels up to "
	                    "date; do not remove the label {c:threatsync-0123456789abcdef}.\n"
	                    "p Details: "
	                    "{l:https://threatsync.example/p/widgets/C-OUTPUT-ENCODING@web|https://"
	                    "threatsync.example/p/widgets/C-OUTPUT-ENCODING@web}\n");
	free(got);
	ticket_doc_clear(&d);
	assert_null(d.blocks);
	assert_int_equal(d.n_blocks, 0);
	du_sample_free(&s);
}

/* Sections without data are left out; the component and the link back are
 * always there, whatever is missing. */
static void test_build_missing(void **state)
{
	(void)state;
	struct du_sample s;
	du_sample_body(&s,
	               "{\"requirement\": \"\", \"how_to\": [], \"acceptance_test\": null,"
	               " \"training\": [{}], \"threats\": [{}], \"compliance\": {\"x\": []},"
	               " \"component\": {\"id\": \"db\", \"type\": \"\"}}",
	               NULL);
	s.t.project_slug = NULL;
	s.t.cm_uid = NULL;
	s.t.marker = "";
	struct ticket_doc d = {0};
	ticket_doc_build(&d, &s.t);
	char *got = dump(&d);
	assert_string_equal(
	    got, "h3 Training\n"
	         "h3 Threats\n"
	         "* (untitled threat)\n"
	         "h3 Compliance controls\n"
	         "* {b:x}:\n"
	         "h3 Component\n"
	         "p db, component {c:db}, model version 3.\n"
	         "h3 Managed by threatsync\n"
	         "p This ticket tracks countermeasure . threatsync keeps the summary, "
	         "this description and its labels up to date; do not remove the label .\n");
	free(got);
	ticket_doc_clear(&d);
	du_sample_free(&s);
}

/* Library markdown into blocks: what is read, and what stays text. */
static void test_markdown(void **state)
{
	(void)state;
	struct ticket_doc d = {0};
	ticket_doc_markdown(&d, NULL);
	ticket_doc_markdown(&d, "");
	ticket_doc_markdown(&d, "\n  \n");
	assert_int_equal(d.n_blocks, 0);
	ticket_doc_markdown(&d, "one\r\ntwo `a` `` [t](ftp://x) [](https://e/) [u](https://e/u)\r\n"
	                        "\r\n"
	                        "* star\n"
	                        "   + plus, indented\n"
	                        "  continued\n"
	                        "not continued (https://e.example/p), http://a and http://ab.\n"
	                        "```C{}\n"
	                        "```\n"
	                        "   ``` Py x\n"
	                        "a\r\n"
	                        "\n"
	                        "b\n"
	                        "```\n"
	                        "```aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	                        "unclosed");
	char *got = dump(&d);
	assert_string_equal(got, "p one two {c:a} `` [t](ftp://x) []({l:https://e/|https://e/}) "
	                         "{l:u|https://e/u}\n"
	                         "* star\n"
	                         "* plus, indented continued\n"
	                         "p not continued ({l:https://e.example/p|https://e.example/p}), "
	                         "http://a and {l:http://ab|http://ab}.\n"
	                         "code[] \n"
	                         "code[py] a\\n\\nb\n"
	                         "code[] unclosed\n");
	free(got);
	ticket_doc_clear(&d);
	ticket_doc_clear(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_sample),
	    cmocka_unit_test(test_build_missing),
	    cmocka_unit_test(test_markdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
