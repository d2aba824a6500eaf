/* SPDX-License-Identifier: Apache-2.0 */
/* The report renderers: Markdown, CSV and HTML of a report document and of a
 * portfolio document (the documents of `threatsync report --format json`). */
#ifndef TS_REPORT_RENDER_H
#define TS_REPORT_RENDER_H

#include <jansson.h>

#include "engine/util.h"

/* Each appends the rendering of doc (borrowed) to out and returns 0, or
 * returns a negative TS_E_* code with err naming the path in the document
 * that is not as the report document describes it. */
int report_render_md(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_csv(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_html(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_portfolio_md(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_portfolio_csv(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_portfolio_html(const json_t *doc, struct ts_buf *out, struct ts_err *err);

#endif
