/* SPDX-License-Identifier: Apache-2.0 */
/* The trend charts: a line of the risk score and stacked bars of the open
 * threats by severity, as inline SVG with plain coordinates. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/chart.h"
#include "report/escape.h"

#define W 720
#define H 260
#define ML 56 /* margins: room for the axis labels */
#define MR 16
#define MT 28
#define MB 48

static const char *const sev_names[] = {"critical", "high", "medium", "low"};
static const char *const sev_colours[] = {"#b71c1c", "#d84315", "#f9a825", "#2e7d32"};

static double num(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* A round axis maximum at or above v: 1, 2, 4 or 8 times a power of ten,
 * so that its quarters (the grid lines) are round too. */
static double nice_max(double v)
{
	static const double steps[] = {1, 2, 4, 8};
	if (!(v > 0))
		return 1;
	double p = pow(10, floor(log10(v)));
	for (size_t i = 0; i < TS_ARRAY_SIZE(steps); i++) {
		if (steps[i] * p >= v)
			return steps[i] * p;
	}
	return 10 * p;
}

/* The x label of point i: the release name, else the date part of "at". */
static void x_label(struct ts_buf *b, const json_t *pt)
{
	const char *rel = json_string_value(json_object_get(pt, "release"));
	const char *at = json_string_value(json_object_get(pt, "at"));
	if (rel) {
		html_escape(b, rel);
	} else if (at) {
		char day[11];
		snprintf(day, sizeof(day), "%s", at);
		html_escape(b, day);
	}
}

static double x_at(size_t i, size_t n, bool bars)
{
	double plot = W - ML - MR;
	if (bars)
		return ML + plot * ((double)i + 0.5) / (double)n;
	/* points of a line keep clear of the ends, so their labels fit */
	if (n == 1)
		return ML + plot / 2;
	return ML + 40 + (plot - 80) * (double)i / (double)(n - 1);
}

static double y_at(double v, double max)
{
	return MT + (H - MT - MB) * (1 - v / max);
}

/* The frame both charts share: the <svg> start, title, y grid with values
 * and the x labels (every step-th point). */
static void axes(struct ts_buf *out, const char *id, const char *title, const json_t *pts,
                 size_t first, size_t n, double max, bool bars)
{
	ts_buf_printf(out,
	              "<svg class=\"chart\" id=\"%s\" role=\"img\" viewBox=\"0 0 %d %d\" "
	              "width=\"%d\" height=\"%d\" "
	              "aria-labelledby=\"%s-title\"><title id=\"%s-title\">",
	              id, W, H, W, H, id, id);
	html_escape(out, title);
	ts_buf_puts(out, "</title>");
	ts_buf_printf(out, "<text x=\"%d\" y=\"18\" class=\"chart-title\">", ML);
	html_escape(out, title);
	ts_buf_puts(out, "</text>");
	for (int t = 0; t <= 4; t++) {
		double v = max * t / 4;
		double y = y_at(v, max);
		ts_buf_printf(
		    out,
		    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
		    "<text x=\"%d\" y=\"%.1f\" class=\"ylab\" text-anchor=\"end\">%g</text>",
		    ML, y, W - MR, y, ML - 6, y + 4, v);
	}
	ts_buf_printf(out,
	              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
	              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>",
	              ML, MT, ML, H - MB, ML, H - MB, W - MR, H - MB);
	size_t step = n > 8 ? (n + 7) / 8 : 1;
	for (size_t i = 0; i < n; i += step) {
		ts_buf_printf(out,
		              "<text x=\"%.1f\" y=\"%d\" class=\"xlab\" text-anchor=\"middle\">",
		              x_at(i, n, bars), H - MB + 16);
		x_label(out, json_array_get(pts, first + i));
		ts_buf_puts(out, "</text>");
	}
}

static void risk_line(const json_t *pts, size_t first, size_t n, struct ts_buf *out)
{
	double max = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_object_get(json_array_get(pts, first + i), "metrics");
		double v = num(json_object_get(m, "risk_score"));
		if (v > max)
			max = v;
	}
	max = nice_max(max);
	axes(out, "chart-risk", "Risk score over time", pts, first, n, max, false);
	ts_buf_puts(out, "<polyline class=\"line\" fill=\"none\" stroke=\"#1565c0\" "
	                 "stroke-width=\"2\" points=\"");
	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_object_get(json_array_get(pts, first + i), "metrics");
		double v = num(json_object_get(m, "risk_score"));
		if (v < 0)
			v = 0;
		ts_buf_printf(out, "%s%.1f,%.1f", i ? " " : "", x_at(i, n, false), y_at(v, max));
	}
	ts_buf_puts(out, "\"/>");
	for (size_t i = 0; i < n; i++) {
		const json_t *pt = json_array_get(pts, first + i);
		double v = num(json_object_get(json_object_get(pt, "metrics"), "risk_score"));
		if (v < 0)
			v = 0;
		ts_buf_printf(out,
		              "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#1565c0\"><title>",
		              x_at(i, n, false), y_at(v, max));
		x_label(out, pt);
		ts_buf_printf(out, ": %g</title></circle>", v);
	}
	ts_buf_puts(out, "</svg>");
}

static void severity_bars(const json_t *pts, size_t first, size_t n, struct ts_buf *out)
{
	double max = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_object_get(json_array_get(pts, first + i), "metrics");
		const json_t *open = json_object_get(m, "threats_open");
		double sum = 0;
		for (size_t s = 0; s < 4; s++)
			sum += fmax(0, num(json_object_get(open, sev_names[s])));
		if (sum > max)
			max = sum;
	}
	/* counts: at least 4, so the grid lines fall on whole numbers */
	max = fmax(nice_max(max), 4);
	axes(out, "chart-open", "Open threats by severity", pts, first, n, max, true);
	double bw = (W - ML - MR) / (double)n * 0.6;
	for (size_t i = 0; i < n; i++) {
		const json_t *pt = json_array_get(pts, first + i);
		const json_t *open =
		    json_object_get(json_object_get(pt, "metrics"), "threats_open");
		double base = 0;
		for (size_t s = 0; s < 4; s++) {
			double v = fmax(0, num(json_object_get(open, sev_names[s])));
			if (v <= 0)
				continue;
			double y1 = y_at(base + v, max), y0 = y_at(base, max);
			ts_buf_printf(out,
			              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			              "fill=\"%s\"><title>",
			              x_at(i, n, true) - bw / 2, y1, bw, y0 - y1, sev_colours[s]);
			x_label(out, pt);
			ts_buf_printf(out, ": %g %s</title></rect>", v, sev_names[s]);
			base += v;
		}
	}
	/* the legend, top right */
	for (size_t s = 0; s < 4; s++) {
		int x = W - MR - 4 * 82 + (int)s * 82;
		ts_buf_printf(out,
		              "<rect x=\"%d\" y=\"8\" width=\"10\" height=\"10\" fill=\"%s\"/>"
		              "<text x=\"%d\" y=\"17\" class=\"legend\">%s</text>",
		              x, sev_colours[s], x + 14, sev_names[s]);
	}
	ts_buf_puts(out, "</svg>");
}

void chart_trend(const json_t *trend, struct ts_buf *out)
{
	size_t n = json_is_array(trend) ? json_array_size(trend) : 0;
	if (n == 0) {
		ts_buf_puts(out, "<p class=\"none\">No trend yet: metrics are recorded at each "
		                 "release and snapshot.</p>\n");
		return;
	}
	size_t first = n > CHART_MAX_POINTS ? n - CHART_MAX_POINTS : 0;
	n -= first;
	ts_buf_puts(out, "<div class=\"charts\">\n");
	risk_line(trend, first, n, out);
	ts_buf_puts(out, "\n");
	severity_bars(trend, first, n, out);
	ts_buf_puts(out, "\n</div>\n");
}
