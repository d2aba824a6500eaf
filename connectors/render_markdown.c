/* SPDX-License-Identifier: Apache-2.0 */
/* Renders the ticket document as GitLab-flavoured Markdown, escaping its text
 * so that library text cannot mention anyone, reference issues or inject markup. */
#include "connectors/render.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/util.h"

/* Characters CommonMark or GitLab give a meaning wherever they appear. */
static bool md_always_special(char c)
{
	switch (c) {
	case '\\':
	case '`':
	case '*':
	case '_':
	case '[':
	case ']':
	case '<':
	case '>':
	case '|':
	case '~':
	case '@':
		return true;
	default:
		return false;
	}
}

/* GitLab reference sigils (#12, !12, $12, %milestone, &epic) and entities
 * (&amp;) only count when a word character follows. */
static bool md_sigil(char c)
{
	return c == '#' || c == '!' || c == '$' || c == '%' || c == '&';
}

/* The n bytes of s on one line: specials escaped, line breaks and tabs as
 * spaces. Runs of plain characters are copied whole (the text of a ticket
 * is mostly plain). */
static void md_escape_line(struct ts_buf *out, const char *s, size_t n)
{
	size_t plain = 0; /* the first byte not yet copied */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool blank = c == '\r' || c == '\n' || c == '\t';
		bool next_word = i + 1 < n && (isalnum((unsigned char)s[i + 1]) || s[i + 1] == '_');
		bool escape = !blank && (md_always_special(c) || (md_sigil(c) && next_word) ||
		                         (c == '#' && i == 0));
		if (!blank && !escape)
			continue;
		if (i > plain)
			ts_buf_append(out, s + plain, i - plain);
		ts_buf_puts(out, blank ? " " : "\\");
		plain = blank ? i + 1 : i;
	}
	if (n > plain)
		ts_buf_append(out, s + plain, n - plain);
}

/* s as inline text: markdown punctuation is backslash-escaped, and so are
 * GitLab's reference sigils, so that library text never notifies anyone or
 * links by accident. Line breaks become spaces. */
static void md_escape_inline(struct ts_buf *out, const char *s)
{
	if (s)
		md_escape_line(out, s, strlen(s));
}

/* A fenced code block holding code verbatim: the fence is one backtick longer
 * than the longest backtick run in code (at least three), so nothing inside
 * can close it; info (may be NULL) keeps only [A-Za-z0-9+#._-]. */
static void md_code_block(struct ts_buf *out, const char *info, const char *code)
{
	size_t longest = 0, run = 0;
	for (const char *p = code ? code : ""; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	size_t fence = longest + 1 > 3 ? longest + 1 : 3;
	for (size_t i = 0; i < fence; i++)
		ts_buf_puts(out, "`");
	for (const char *p = info ? info : ""; *p; p++)
		if (isalnum((unsigned char)*p) || strchr("+#._-", *p))
			ts_buf_append(out, p, 1);
	ts_buf_puts(out, "\n");
	if (code && *code) {
		ts_buf_puts(out, code);
		if (code[strlen(code) - 1] != '\n')
			ts_buf_puts(out, "\n");
	}
	for (size_t i = 0; i < fence; i++)
		ts_buf_puts(out, "`");
	ts_buf_puts(out, "\n");
}

static bool md_is_http_url(const char *url)
{
	const char *host = NULL;
	if (url && strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (url && strncmp(url, "http://", 7) == 0)
		host = url + 7;
	return host && *host != '\0' && *host != '/';
}

/* [text](url) when url is http(s) with a host (characters that would end the
 * destination percent-encoded), else the escaped text followed by the escaped
 * url in parentheses: no other scheme becomes clickable. */
static void md_link(struct ts_buf *out, const char *text, const char *url)
{
	if (!md_is_http_url(url)) {
		md_escape_inline(out, text);
		if (url && *url) {
			ts_buf_puts(out, " (");
			md_escape_inline(out, url);
			ts_buf_puts(out, ")");
		}
		return;
	}
	ts_buf_puts(out, "[");
	md_escape_inline(out, text && *text ? text : url);
	ts_buf_puts(out, "](");
	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("()<>\"'\\`", *p))
			ts_buf_printf(out, "%%%02X", *p);
		else
			ts_buf_append(out, (const char *)p, 1);
	}
	ts_buf_puts(out, ")");
}

/* A code span holding s verbatim: delimited by one backtick more than its
 * longest backtick run, padded with a space when s starts or ends with a
 * backtick, or with a space at both ends (CommonMark strips one of each). */
static void md_code_span(struct ts_buf *out, const char *s)
{
	size_t longest = 0, run = 0, n = strlen(s);
	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	bool pad = s[0] == '`' || s[n - 1] == '`' || (s[0] == ' ' && s[n - 1] == ' ');
	for (size_t i = 0; i <= longest; i++)
		ts_buf_puts(out, "`");
	if (pad)
		ts_buf_puts(out, " ");
	for (const char *p = s; *p; p++)
		ts_buf_append(out, *p == '\n' || *p == '\r' ? " " : p, 1);
	if (pad)
		ts_buf_puts(out, " ");
	for (size_t i = 0; i <= longest; i++)
		ts_buf_puts(out, "`");
}

/* The start of a block's text, where CommonMark and GitLab read more than
 * anywhere else: leading blanks (an indented code block) are dropped, and a
 * leading '-', '+' or '=' (list, thematic break, setext underline), '/' (a
 * GitLab quick action) or the '.' or ')' after a number (ordered list) is
 * escaped. Returns the rest of s, for md_escape_inline. */
static const char *md_block_start(struct ts_buf *out, const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s && strchr("-+=/", *s)) {
		ts_buf_puts(out, "\\");
		ts_buf_append(out, s, 1);
		return s + 1;
	}
	size_t digits = strspn(s, "0123456789");
	if (digits > 0 && (s[digits] == '.' || s[digits] == ')')) {
		ts_buf_append(out, s, digits);
		ts_buf_puts(out, "\\");
		ts_buf_append(out, s + digits, 1);
		return s + digits + 1;
	}
	return s;
}

/* The spans of b on one line; at_start when they open a paragraph or an item. */
static void md_spans(struct ts_buf *out, const struct ticket_block *b, bool at_start)
{
	bool first = at_start;
	for (size_t i = 0; i < b->n_spans; i++) {
		const struct ticket_span *s = &b->spans[i];
		/* As in ADF, an empty span is nothing (an empty code span would
		 * print its backticks). */
		if (!s->text || !s->text[0])
			continue;
		const char *text = s->text;
		if (first && s->kind == TICKET_SPAN_TEXT)
			text = md_block_start(out, text);
		first = false;
		switch (s->kind) {
		case TICKET_SPAN_TEXT:
			md_escape_inline(out, text);
			break;
		case TICKET_SPAN_CODE:
			md_code_span(out, s->text);
			break;
		case TICKET_SPAN_BOLD:
			ts_buf_puts(out, "**");
			md_escape_inline(out, s->text);
			ts_buf_puts(out, "**");
			break;
		case TICKET_SPAN_LINK:
			md_link(out, s->text, s->href);
			break;
		}
	}
}

char *render_markdown(const struct ticket_doc *d)
{
	struct ts_buf out = {0};
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct ticket_block *b = &d->blocks[i];
		bool same_list = b->kind == TICKET_BLOCK_BULLET && i > 0 &&
		                 d->blocks[i - 1].kind == TICKET_BLOCK_BULLET;
		if (i > 0 && !same_list)
			ts_buf_puts(&out, "\n");
		switch (b->kind) {
		case TICKET_BLOCK_HEADING: {
			/* The issue title is the top heading: a section (level 3,
			 * Jira's h3) is "##", as GitLab descriptions always had. */
			int level = b->level < 1 || b->level > 6 ? 3 : b->level;
			for (int k = 0; k < (level > 1 ? level - 1 : 1); k++)
				ts_buf_puts(&out, "#");
			ts_buf_puts(&out, " ");
			md_spans(&out, b, false);
			ts_buf_puts(&out, "\n");
			break;
		}
		case TICKET_BLOCK_PARAGRAPH:
			md_spans(&out, b, true);
			ts_buf_puts(&out, "\n");
			break;
		case TICKET_BLOCK_BULLET:
			ts_buf_puts(&out, "- ");
			md_spans(&out, b, true);
			ts_buf_puts(&out, "\n");
			break;
		case TICKET_BLOCK_CODE:
			md_code_block(&out, b->lang, b->code);
			break;
		}
	}
	return out.data ? ts_buf_steal(&out) : ts_strdup("");
}
