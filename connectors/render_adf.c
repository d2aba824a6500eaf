/* SPDX-License-Identifier: Apache-2.0 */
/* Renders the ticket document as Atlassian Document Format, the rich-text
 * format Jira Cloud's REST v3 takes. */
#include "connectors/render.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

/* The document is written straight to text, compact and with every
 * object's keys in sorted order ("attrs", "content", "marks", "text",
 * "type", "version"): the form the content hash is taken over (jira.c), so a
 * description is serialised once, without a JSON tree in between. Strings
 * are escaped as jansson escapes them (ts_buf_json_string). */

/* A text node with the marks of its span (ADF text must not be empty). */
static void put_span(struct ts_buf *b, const struct ticket_span *s)
{
	ts_buf_puts(b, "{");
	switch (s->kind) {
	case TICKET_SPAN_TEXT:
		break;
	case TICKET_SPAN_CODE:
		ts_buf_puts(b, "\"marks\":[{\"type\":\"code\"}],");
		break;
	case TICKET_SPAN_BOLD:
		ts_buf_puts(b, "\"marks\":[{\"type\":\"strong\"}],");
		break;
	case TICKET_SPAN_LINK:
		ts_buf_puts(b, "\"marks\":[{\"attrs\":{\"href\":");
		ts_buf_json_string(b, s->href ? s->href : "");
		ts_buf_puts(b, "},\"type\":\"link\"}],");
		break;
	}
	ts_buf_puts(b, "\"text\":");
	ts_buf_json_string(b, s->text);
	ts_buf_puts(b, ",\"type\":\"text\"}");
}

/* "content":[spans], */
static void put_inline(struct ts_buf *b, const struct ticket_block *k)
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

static void put_paragraph(struct ts_buf *b, const struct ticket_block *k)
{
	ts_buf_puts(b, "{");
	put_inline(b, k);
	ts_buf_puts(b, "\"type\":\"paragraph\"}");
}

static void put_block(struct ts_buf *b, const struct ticket_block *k)
{
	switch (k->kind) {
	case TICKET_BLOCK_HEADING:
		ts_buf_printf(b, "{\"attrs\":{\"level\":%d},",
		              k->level < 1 || k->level > 6 ? 3 : k->level);
		put_inline(b, k);
		ts_buf_puts(b, "\"type\":\"heading\"}");
		break;
	case TICKET_BLOCK_PARAGRAPH:
	case TICKET_BLOCK_BULLET:
		put_paragraph(b, k);
		break;
	case TICKET_BLOCK_CODE:
		ts_buf_puts(b, "{");
		if (k->lang) {
			ts_buf_puts(b, "\"attrs\":{\"language\":");
			ts_buf_json_string(b, k->lang);
			ts_buf_puts(b, "},");
		}
		ts_buf_puts(b, "\"content\":[");
		if (k->code && k->code[0]) {
			ts_buf_puts(b, "{\"text\":");
			ts_buf_json_string(b, k->code);
			ts_buf_puts(b, ",\"type\":\"text\"}");
		}
		ts_buf_puts(b, "],\"type\":\"codeBlock\"}");
		break;
	}
}

char *render_adf(const struct ticket_doc *d)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"content\":[");
	bool in_list = false; /* consecutive items share one bulletList */
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct ticket_block *k = &d->blocks[i];
		bool item = k->kind == TICKET_BLOCK_BULLET;
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

json_t *render_adf_json(const struct ticket_doc *d)
{
	char *text = render_adf(d);
	json_t *doc = json_loads(text, 0, NULL);
	free(text);
	return doc;
}
