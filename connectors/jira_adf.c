/* SPDX-License-Identifier: Apache-2.0 */
/* Renders a Jira description block list as an Atlassian Document Format
 * document, the rich-text format Jira Cloud's REST v3 takes. */
#include "connectors/jira_internal.h"

#include <string.h>

/* A text node with the marks of its span (ADF text must not be empty). */
static json_t *adf_span(const struct jira_span *s)
{
	json_t *node = json_pack("{s:s, s:s}", "type", "text", "text", s->text);
	json_t *marks = NULL;
	switch (s->kind) {
	case JIRA_SPAN_TEXT:
		break;
	case JIRA_SPAN_CODE:
		marks = json_pack("[{s:s}]", "type", "code");
		break;
	case JIRA_SPAN_BOLD:
		marks = json_pack("[{s:s}]", "type", "strong");
		break;
	case JIRA_SPAN_LINK:
		marks = json_pack("[{s:s, s:{s:s}}]", "type", "link", "attrs", "href", s->href);
		break;
	}
	if (marks)
		json_object_set_new(node, "marks", marks);
	return node;
}

static json_t *adf_inline(const struct jira_block *b)
{
	json_t *content = json_array();
	for (size_t i = 0; i < b->n_spans; i++)
		if (b->spans[i].text[0])
			json_array_append_new(content, adf_span(&b->spans[i]));
	return content;
}

static json_t *adf_paragraph(const struct jira_block *b)
{
	return json_pack("{s:s, s:o}", "type", "paragraph", "content", adf_inline(b));
}

static json_t *adf_block(const struct jira_block *b)
{
	json_t *node = NULL;
	switch (b->kind) {
	case JIRA_BLOCK_HEADING:
		node = json_pack("{s:s, s:{s:i}, s:o}", "type", "heading", "attrs", "level",
		                 b->level < 1 || b->level > 6 ? 3 : b->level, "content",
		                 adf_inline(b));
		break;
	case JIRA_BLOCK_PARAGRAPH:
	case JIRA_BLOCK_BULLET:
		node = adf_paragraph(b);
		break;
	case JIRA_BLOCK_CODE: {
		json_t *content = json_array();
		if (b->code && b->code[0])
			json_array_append_new(
			    content, json_pack("{s:s, s:s}", "type", "text", "text", b->code));
		node = json_pack("{s:s, s:o}", "type", "codeBlock", "content", content);
		if (b->lang)
			json_object_set_new(node, "attrs", json_pack("{s:s}", "language", b->lang));
		break;
	}
	}
	return node;
}

json_t *jira_adf_render(const struct jira_doc *d)
{
	json_t *content = json_array();
	json_t *list = NULL; /* the bulletList consecutive items go into */
	for (size_t i = 0; i < d->n_blocks; i++) {
		const struct jira_block *b = &d->blocks[i];
		if (b->kind != JIRA_BLOCK_BULLET) {
			list = NULL;
			json_array_append_new(content, adf_block(b));
			continue;
		}
		if (!list) {
			json_t *bl = json_pack("{s:s, s:[]}", "type", "bulletList", "content");
			list = json_object_get(bl, "content");
			json_array_append_new(content, bl);
		}
		json_array_append_new(list, json_pack("{s:s, s:[o]}", "type", "listItem", "content",
		                                      adf_paragraph(b)));
	}
	return json_pack("{s:s, s:i, s:o}", "type", "doc", "version", 1, "content", content);
}

json_t *jira_adf_text(const char *text)
{
	struct jira_doc d = {0};
	jira_doc_markdown(&d, text);
	json_t *doc = jira_adf_render(&d);
	jira_doc_clear(&d);
	return doc;
}
