/* SPDX-License-Identifier: Apache-2.0 */
/* Renders a ticket's description as GitLab-flavoured markdown, escaping library text so it
 * cannot mention users, reference issues or inject markup. */
#ifndef TS_CONNECTORS_MARKDOWN_H
#define TS_CONNECTORS_MARKDOWN_H

#include "connectors/connector.h"
#include "engine/util.h"

/* Appends s as inline text: markdown punctuation is backslash-escaped, and so
 * are GitLab's reference sigils (@user, #12, !12, $12, %milestone, &epic, ~label)
 * so that library text never notifies anyone or links by accident. Newlines
 * become spaces. */
void md_escape_inline(struct ts_buf *out, const char *s);

/* Appends s as one or more paragraphs: each line escaped like md_escape_inline,
 * blank lines kept as paragraph breaks, single newlines as hard breaks. */
void md_escape_block(struct ts_buf *out, const char *s);

/* Appends a fenced code block holding code verbatim: the fence is one backtick
 * longer than the longest backtick run in code (at least three), and info (may
 * be NULL) keeps only [A-Za-z0-9+#._-]. */
void md_code_block(struct ts_buf *out, const char *info, const char *code);

/* Appends a link [text](url) when url is http(s) (characters that would end the
 * destination are percent-encoded), else the escaped text followed by the
 * escaped url in parentheses. */
void md_link(struct ts_buf *out, const char *text, const char *url);

/* Appends the whole description of t: requirement, how to (a fenced block per
 * stack), acceptance test, threats (severity, CWE ids linked to MITRE with
 * their names when t->cwe_names has them), training links, compliance
 * controls, and a context list (component, model version, project,
 * countermeasure id, priority, severity, due date, link back). Sections whose
 * data is absent are left out; the result ends with a newline. */
void md_render_ticket(struct ts_buf *out, const struct ticket_content *t);

#endif
