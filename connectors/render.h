/* SPDX-License-Identifier: Apache-2.0 */
/* The three renderers of the ticket document (ticket_doc.h): Atlassian
 * Document Format for Jira Cloud, wiki markup for Jira Data Center, Markdown
 * for GitLab. Each escapes the document's text for its own format. */
#ifndef TS_CONNECTORS_RENDER_H
#define TS_CONNECTORS_RENDER_H

#include <jansson.h>

#include "connectors/ticket_doc.h"

/* Atlassian Document Format of d: {"type":"doc","version":1,"content":[…]}
 * as compact JSON text, every object's keys in sorted order: the form Jira's
 * content hash is taken over, so these bytes must not change for an unchanged
 * document. A list of consecutive items is one bulletList. New string, caller
 * frees. (render_adf.c) */
char *render_adf(const struct ticket_doc *d);

/* The same document parsed. New reference. (render_adf.c) */
json_t *render_adf_json(const struct ticket_doc *d);

/* Jira wiki markup of d (h3./h4., {code:lang}, * items, {{code}}, *bold*,
 * [text|url]), the characters that would start markup escaped. Blocks are
 * separated by a blank line, items of one list by a line break; no final line
 * break. New string (empty for an empty document), caller frees.
 * (render_wiki.c) */
char *render_wiki(const struct ticket_doc *d);

/* GitLab-flavoured Markdown of d. Headings sit one level above the
 * document's (a section, level 3, is "##"), items are "- ", code blocks are
 * fenced with a fence longer than any backtick run inside. Text is escaped so
 * that library text cannot mention users (@name), reference issues (#12, !12,
 * $12, %milestone, &epic, ~label), inject HTML or start a block of its own;
 * links keep only http(s) targets. Blocks end with a line break and are
 * separated by a blank line, items of one list by a line break. New string
 * (empty for an empty document), caller frees. (render_markdown.c) */
char *render_markdown(const struct ticket_doc *d);

#endif
