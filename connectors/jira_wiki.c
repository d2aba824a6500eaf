/* SPDX-License-Identifier: Apache-2.0 */
/* Renders a Jira description block list as Jira wiki markup, the text format
 * of Jira Server / Data Center's REST v2. */
#include "connectors/jira_internal.h"

#include <stdbool.h>
#include <string.h>

/* Text with the characters that start wiki markup backslash-escaped, and line
 * breaks flattened (a wiki paragraph is one line here). '-' and '+' only
 * format at a word boundary (-strike-, +under+), '!' only before a name
 * (!image.png!), so inside words ("CWE-79") they stay as they are. */
static void wiki_escaped(struct ts_buf *out, const char *s)
{
	const char *start = s;
	for (; *s; s++) {
		char prev = s == start ? ' ' : s[-1];
		char next = s[1] ? s[1] : ' ';
		if (*s == '\n' || *s == '\r') {
			ts_buf_puts(out, " ");
			continue;
		}
		bool esc = strchr("{}[]*_|^~\\", *s) != NULL;
		if ((*s == '-' || *s == '+') && (prev == ' ' || next == ' ' || next == *s))
			esc = true;
		if (*s == '!' && next != ' ')
			esc = true;
		if ((*s == '#' || *s == '?') && (prev == ' ' || next == *s))
			esc = true;
		if (esc)
			ts_buf_puts(out, "\\");
		ts_buf_append(out, s, 1);
	}
}

/* A link target must not close the [text|url] group early. */
static void wiki_url(struct ts_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == ']')
			ts_buf_puts(out, "%5D");
		else if (*s == '|')
			ts_buf_puts(out, "%7C");
		else if (*s != '\n' && *s != '\r')
			ts_buf_append(out, s, 1);
	}
}

static void wiki_spans(struct ts_buf *out, const struct jira_block *b)
{
	for (size_t i = 0; i < b->n_spans; i++) {
		const struct jira_span *s = &b->spans[i];
		switch (s->kind) {
		case JIRA_SPAN_TEXT:
			wiki_escaped(out, s->text);
			break;
		case JIRA_SPAN_CODE:
			ts_buf_puts(out, "{{");
			wiki_escaped(out, s->text);
			ts_buf_puts(out, "}}");
			break;
		case JIRA_SPAN_BOLD:
			ts_buf_puts(out, "*");
			wiki_escaped(out, s->text);
			ts_buf_puts(out, "*");
			break;
		case JIRA_SPAN_LINK:
			ts_buf_puts(out, "[");
			if (strcmp(s->text, s->href) != 0) {
				wiki_escaped(out, s->text);
				ts_buf_puts(out, "|");
			}
			wiki_url(out, s->href);
			ts_buf_puts(out, "]");
			break;
		}
	}
}

char *jira_wiki_render(const struct jira_doc *d)
{
	struct ts_buf out = {0};
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct jira_block *b = &d->blocks[i];
		bool item_follows = b->kind == JIRA_BLOCK_BULLET && i + 1 < d->n_blocks &&
		                    d->blocks[i + 1].kind == JIRA_BLOCK_BULLET;
		switch (b->kind) {
		case JIRA_BLOCK_HEADING:
			ts_buf_printf(&out, "h%d. ", b->level < 1 || b->level > 6 ? 3 : b->level);
			wiki_spans(&out, b);
			break;
		case JIRA_BLOCK_PARAGRAPH:
			wiki_spans(&out, b);
			break;
		case JIRA_BLOCK_BULLET:
			ts_buf_puts(&out, "* ");
			wiki_spans(&out, b);
			break;
		case JIRA_BLOCK_CODE:
			if (b->lang)
				ts_buf_printf(&out, "{code:%s}\n", b->lang);
			else
				ts_buf_puts(&out, "{code}\n");
			ts_buf_puts(&out, b->code ? b->code : "");
			ts_buf_puts(&out, "\n{code}");
			break;
		}
		if (i + 1 < d->n_blocks)
			ts_buf_puts(&out, item_follows ? "\n" : "\n\n");
	}
	return out.data ? ts_buf_steal(&out) : ts_strdup("");
}

char *jira_wiki_text(const char *text)
{
	struct jira_doc d = {0};
	jira_doc_markdown(&d, text);
	char *s = jira_wiki_render(&d);
	jira_doc_clear(&d);
	return s;
}
