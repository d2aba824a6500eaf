/* SPDX-License-Identifier: Apache-2.0 */
/* Renderers of the report documents (engine/report/report.h): Markdown, CSV
 * and HTML of one project's report and of the portfolio. They read only the
 * document (borrowed) and append to out (the caller's buffer, freed by the
 * caller also on error). 0, or a negative TS_E_* code with err filled.
 * docs/reports.md. */
#ifndef TS_REPORT_RENDER_H
#define TS_REPORT_RENDER_H

#include <jansson.h>

#include "engine/util.h"

int report_render_md(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_csv(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_html(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_portfolio_md(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_portfolio_csv(const json_t *doc, struct ts_buf *out, struct ts_err *err);
int report_render_portfolio_html(const json_t *doc, struct ts_buf *out, struct ts_err *err);

#endif
