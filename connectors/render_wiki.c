/* SPDX-License-Identifier: Apache-2.0 */
/* Renders the ticket document as Jira wiki markup, the text format of Jira
 * Server / Data Center's REST v2. */
#include "connectors/render.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "engine/util.h"

/* The text of a {code} block, which wiki markup shows as it is up to the
 * next "{code" (any case): there a zero-width space (U+200B) goes after the
 * brace, so library text cannot close the block early and escape into
 * markup. Text without one is written unchanged. */
static void wiki_code_text(struct ts_buf *out, const char *code)
{
	const char *p = code;
	for (const char *q = code; *q; q++) {
		if (*q == '{' && strncasecmp(q + 1, "code", 4) == 0) {
			ts_buf_append(out, p, (size_t)(q - p + 1));
			ts_buf_puts(out, "\xe2\x80\x8b");
			p = q + 1;
		}
	}
	ts_buf_puts(out, p);
}

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

static void wiki_spans(struct ts_buf *out, const struct ticket_block *b)
{
	for (size_t i = 0; i < b->n_spans; i++) {
		const struct ticket_span *s = &b->spans[i];
		switch (s->kind) {
		case TICKET_SPAN_TEXT:
			wiki_escaped(out, s->text);
			break;
		case TICKET_SPAN_CODE:
			ts_buf_puts(out, "{{");
			wiki_escaped(out, s->text);
			ts_buf_puts(out, "}}");
			break;
		case TICKET_SPAN_BOLD:
			ts_buf_puts(out, "*");
			wiki_escaped(out, s->text);
			ts_buf_puts(out, "*");
			break;
		case TICKET_SPAN_LINK:
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

char *render_wiki(const struct ticket_doc *d)
{
	struct ts_buf out = {0};
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct ticket_block *b = &d->blocks[i];
		bool item_follows = b->kind == TICKET_BLOCK_BULLET && i + 1 < d->n_blocks &&
		                    d->blocks[i + 1].kind == TICKET_BLOCK_BULLET;
		switch (b->kind) {
		case TICKET_BLOCK_HEADING:
			ts_buf_printf(&out, "h%d. ", b->level < 1 || b->level > 6 ? 3 : b->level);
			wiki_spans(&out, b);
			break;
		case TICKET_BLOCK_PARAGRAPH:
			wiki_spans(&out, b);
			break;
		case TICKET_BLOCK_BULLET:
			ts_buf_puts(&out, "* ");
			wiki_spans(&out, b);
			break;
		case TICKET_BLOCK_CODE:
			if (b->lang)
				ts_buf_printf(&out, "{code:%s}\n", b->lang);
			else
				ts_buf_puts(&out, "{code}\n");
			wiki_code_text(&out, b->code ? b->code : "");
			ts_buf_puts(&out, "\n{code}");
			break;
		}
		if (i + 1 < d->n_blocks)
			ts_buf_puts(&out, item_follows ? "\n" : "\n\n");
	}
	return out.data ? ts_buf_steal(&out) : ts_strdup("");
}
