/* SPDX-License-Identifier: Apache-2.0 */
/* The ticket document: a ticket's description as one flavour-neutral list of
 * blocks, built once from the stored countermeasure body whatever the tracker,
 * and turned into ADF, Jira wiki markup or Markdown by the renderers (render.h). */
#ifndef TS_CONNECTORS_TICKET_DOC_H
#define TS_CONNECTORS_TICKET_DOC_H

#include <stddef.h>

#include "connectors/connector.h"

/* The order is part of the contract of test_jira's ADF oracle (a table indexed
 * by kind): add new kinds at the end. */
enum ticket_span_kind {
	TICKET_SPAN_TEXT,
	TICKET_SPAN_CODE, /* inline `code` */
	TICKET_SPAN_LINK, /* [text](href), or a bare http(s) URL */
	TICKET_SPAN_BOLD, /* our own emphasis (labels such as "Severity:") */
};

/* A run of inline text. Both strings are owned by the span. */
struct ticket_span {
	enum ticket_span_kind kind;
	char *text; /* never empty in a built document */
	char *href; /* TICKET_SPAN_LINK only */
};

enum ticket_block_kind {
	TICKET_BLOCK_HEADING,   /* level, spans */
	TICKET_BLOCK_PARAGRAPH, /* spans */
	TICKET_BLOCK_BULLET,    /* one list item (spans); consecutive items form one list */
	TICKET_BLOCK_CODE,      /* lang (may be NULL), code */
};

/* One block. lang, code and spans are owned by the block. */
struct ticket_block {
	enum ticket_block_kind kind;
	int level;  /* headings: 3 for sections, 4 for a stack under "How to" */
	char *lang; /* code: [a-z0-9+#._-]{1,32} or NULL */
	char *code; /* code: the text, without the fences */
	struct ticket_span *spans;
	size_t n_spans;
};

/* The document owns its blocks. A zeroed struct is an empty document. */
struct ticket_doc {
	struct ticket_block *blocks;
	size_t n_blocks;
};

/* Appends the blocks of markdown text (library texts, comments): ``` fences
 * (with a language) become code blocks, "- " / "* " / "+ " lines list items,
 * other lines paragraphs (lines joined by a space, a blank line ends one);
 * inline `code`, [text](url) and bare http(s) URLs become spans. Everything
 * else stays literal text, for the renderers to escape. NULL or empty text
 * appends nothing. */
void ticket_doc_markdown(struct ticket_doc *d, const char *text);

/* Appends the whole description of t (sections: requirement, how to per
 * stack, acceptance test, training, threats with CWE names, compliance,
 * component and model version, the threatsync link back). Sections whose data
 * is absent are left out, except the last two. d usually starts empty
 * (zeroed); free with ticket_doc_clear. t is only read. */
void ticket_doc_build(struct ticket_doc *d, const struct ticket_spec *t);

/* Frees what d holds and zeroes it. */
void ticket_doc_clear(struct ticket_doc *d);

#endif
