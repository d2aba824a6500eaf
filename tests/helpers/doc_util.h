/* SPDX-License-Identifier: Apache-2.0 */
/* A countermeasure body with every kind of block and hostile library text,
 * shared by the tests of the ticket document and of its renderers. */
#ifndef TS_TESTS_DOC_UTIL_H
#define TS_TESTS_DOC_UTIL_H

#include <jansson.h>

#include "connectors/connector.h"

#define DU_MARKER "threatsync-0123456789abcdef"

/* A ticket spec and the JSON it borrows; fill with du_sample, free with
 * du_sample_free. */
struct du_sample {
	json_t *body;
	json_t *cwe_names;
	struct ticket_spec t;
};

/* The rich body: a requirement with paragraphs, a list, a fence, code spans,
 * links and markup of every flavour; how-to texts with and without a stack;
 * training links (one not http); threats with CWE ids and names; compliance;
 * a component. link_back: a URL, other text, or NULL. */
void du_sample(struct du_sample *s, const char *link_back);

/* The same ticket with body (JSON text) instead, e.g. "{}". */
void du_sample_body(struct du_sample *s, const char *body, const char *link_back);

void du_sample_free(struct du_sample *s);

#endif
