/* SPDX-License-Identifier: Apache-2.0 */
/* The HTML renderers, not in this build: each answers TS_E_UNAVAILABLE. */
#include "report/render.h"

int report_render_html(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	(void)doc;
	(void)out;
	return ts_err_set(err, TS_E_UNAVAILABLE, "the HTML report is not available in this build");
}

int report_render_portfolio_html(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	(void)doc;
	(void)out;
	return ts_err_set(err, TS_E_UNAVAILABLE,
	                  "the HTML portfolio is not available in this build");
}
