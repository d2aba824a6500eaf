/* SPDX-License-Identifier: Apache-2.0 */
/* Renders a Jira description block list as an Atlassian Document Format
 * document, the rich-text format Jira Cloud's REST v3 takes. */
#include "connectors/jira_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The document is written straight to text, compact and with every
 * object's keys in sorted order ("attrs", "content", "marks", "text",
 * "type", "version"): the form the content hash is taken over (jira.c), so a
 * description is serialised once, without a JSON tree in between. Strings
 * are escaped as jansson escapes them (json_dumps without flags): '"', '\\'
 * and control characters, the short forms where JSON has them, else
 * \u00XX; UTF-8 passes through. */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* s as a JSON string. Bytes that are not UTF-8 become U+FFFD. */
static void put_string(struct ts_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	ts_buf_puts(b, "\"");
	size_t run = 0; /* bytes copied as they are, pending */
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? utf8_len(p + i, n - i) : 0;
		if (len > 0) {
			run += len;
			i += len;
			continue;
		}
		ts_buf_append(b, (const char *)p + i - run, run);
		run = 0;
		char esc[8];
		switch (c) {
		case '"':
			ts_buf_puts(b, "\\\"");
			break;
		case '\\':
			ts_buf_puts(b, "\\\\");
			break;
		case '\b':
			ts_buf_puts(b, "\\b");
			break;
		case '\f':
			ts_buf_puts(b, "\\f");
			break;
		case '\n':
			ts_buf_puts(b, "\\n");
			break;
		case '\r':
			ts_buf_puts(b, "\\r");
			break;
		case '\t':
			ts_buf_puts(b, "\\t");
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04X", c);
				ts_buf_puts(b, esc);
			} else {
				ts_buf_puts(b, "\xEF\xBF\xBD"); /* a byte that is not UTF-8 */
			}
			break;
		}
		i++;
	}
	ts_buf_append(b, (const char *)p + n - run, run);
	ts_buf_puts(b, "\"");
}

/* A text node with the marks of its span (ADF text must not be empty). */
static void put_span(struct ts_buf *b, const struct jira_span *s)
{
	ts_buf_puts(b, "{");
	switch (s->kind) {
	case JIRA_SPAN_TEXT:
		break;
	case JIRA_SPAN_CODE:
		ts_buf_puts(b, "\"marks\":[{\"type\":\"code\"}],");
		break;
	case JIRA_SPAN_BOLD:
		ts_buf_puts(b, "\"marks\":[{\"type\":\"strong\"}],");
		break;
	case JIRA_SPAN_LINK:
		ts_buf_puts(b, "\"marks\":[{\"attrs\":{\"href\":");
		put_string(b, s->href ? s->href : "");
		ts_buf_puts(b, "},\"type\":\"link\"}],");
		break;
	}
	ts_buf_puts(b, "\"text\":");
	put_string(b, s->text);
	ts_buf_puts(b, ",\"type\":\"text\"}");
}

/* "content":[spans], */
static void put_inline(struct ts_buf *b, const struct jira_block *k)
{
	ts_buf_puts(b, "\"content\":[");
	bool first = true;
	for (size_t i = 0; i < k->n_spans; i++) {
		if (!k->spans[i].text[0])
			continue;
		if (!first)
			ts_buf_puts(b, ",");
		first = false;
		put_span(b, &k->spans[i]);
	}
	ts_buf_puts(b, "],");
}

static void put_paragraph(struct ts_buf *b, const struct jira_block *k)
{
	ts_buf_puts(b, "{");
	put_inline(b, k);
	ts_buf_puts(b, "\"type\":\"paragraph\"}");
}

static void put_block(struct ts_buf *b, const struct jira_block *k)
{
	switch (k->kind) {
	case JIRA_BLOCK_HEADING:
		ts_buf_printf(b, "{\"attrs\":{\"level\":%d},",
		              k->level < 1 || k->level > 6 ? 3 : k->level);
		put_inline(b, k);
		ts_buf_puts(b, "\"type\":\"heading\"}");
		break;
	case JIRA_BLOCK_PARAGRAPH:
	case JIRA_BLOCK_BULLET:
		put_paragraph(b, k);
		break;
	case JIRA_BLOCK_CODE:
		ts_buf_puts(b, "{");
		if (k->lang) {
			ts_buf_puts(b, "\"attrs\":{\"language\":");
			put_string(b, k->lang);
			ts_buf_puts(b, "},");
		}
		ts_buf_puts(b, "\"content\":[");
		if (k->code && k->code[0]) {
			ts_buf_puts(b, "{\"text\":");
			put_string(b, k->code);
			ts_buf_puts(b, ",\"type\":\"text\"}");
		}
		ts_buf_puts(b, "],\"type\":\"codeBlock\"}");
		break;
	}
}

char *jira_adf_dump(const struct jira_doc *d)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"content\":[");
	bool in_list = false; /* consecutive items share one bulletList */
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct jira_block *k = &d->blocks[i];
		bool item = k->kind == JIRA_BLOCK_BULLET;
		if (in_list && !item) {
			ts_buf_puts(&b, "],\"type\":\"bulletList\"}");
			in_list = false;
		}
		if (i > 0)
			ts_buf_puts(&b, ",");
		if (item) {
			if (!in_list)
				ts_buf_puts(&b, "{\"content\":[");
			in_list = true;
			ts_buf_puts(&b, "{\"content\":[");
			put_paragraph(&b, k);
			ts_buf_puts(&b, "],\"type\":\"listItem\"}");
			continue;
		}
		put_block(&b, k);
	}
	if (in_list)
		ts_buf_puts(&b, "],\"type\":\"bulletList\"}");
	ts_buf_puts(&b, "],\"type\":\"doc\",\"version\":1}");
	return ts_buf_steal(&b);
}

json_t *jira_adf_render(const struct jira_doc *d)
{
	char *text = jira_adf_dump(d);
	json_t *doc = json_loads(text, 0, NULL);
	free(text);
	return doc;
}

json_t *jira_adf_text(const char *text)
{
	struct jira_doc d = {0};
	jira_doc_markdown(&d, text);
	json_t *doc = jira_adf_render(&d);
	jira_doc_clear(&d);
	return doc;
}
