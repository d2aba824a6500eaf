/* SPDX-License-Identifier: Apache-2.0 */
/* Renders a report (or, with --portfolio, a portfolio) document from a JSON
 * file as HTML into a file: the page the browser test opens. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "helpers/graphviz_lsan.h"
#include "report/render.h"

int main(int argc, char **argv)
{
	bool portfolio = argc == 4 && strcmp(argv[1], "--portfolio") == 0;
	if (argc != 3 && !portfolio) {
		fprintf(stderr, "usage: %s [--portfolio] DOC.json OUT.html\n", argv[0]);
		return 64;
	}
	const char *in = argv[argc - 2], *outp = argv[argc - 1];
	json_error_t jerr;
	json_t *doc = json_load_file(in, 0, &jerr);
	if (!doc) {
		fprintf(stderr, "%s:%d: %s\n", in, jerr.line, jerr.text);
		return 65;
	}
	struct ts_buf out = {0};
	struct ts_err err = {0};
	int rc = portfolio ? report_render_portfolio_html(doc, &out, &err)
	                   : report_render_html(doc, &out, &err);
	json_decref(doc);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", in, err.msg);
		ts_buf_free(&out);
		return 65;
	}
	FILE *f = fopen(outp, "w");
	if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
		perror(outp);
		ts_buf_free(&out);
		return 73;
	}
	ts_buf_free(&out);
	return 0;
}
