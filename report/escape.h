/* SPDX-License-Identifier: Apache-2.0 */
/* Escaping of text for HTML and SVG (element text and quoted attribute values). */
#ifndef TS_REPORT_ESCAPE_H
#define TS_REPORT_ESCAPE_H

#include <stdbool.h>

#include "engine/util.h"

/* Appends s (NULL: nothing) with & < > " ' as character references, so the
 * result is safe both as element text and inside a quoted attribute value.
 * Control characters other than tab and newline, and bytes that are not
 * UTF-8, become U+FFFD. */
void html_escape(struct ts_buf *b, const char *s);

/* Whether s is a URL a report may link to: http:// or https:// (any case),
 * a host part, only printable ASCII and none of " ' < > \ `. Anything else
 * (javascript:, data:, relative paths) is shown as text only. */
bool html_url_linkable(const char *s);

#endif
