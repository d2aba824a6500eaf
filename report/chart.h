/* SPDX-License-Identifier: Apache-2.0 */
/* Small SVG charts of a report's trend, drawn from plain coordinates. */
#ifndef TS_REPORT_CHART_H
#define TS_REPORT_CHART_H

#include <jansson.h>

#include "engine/util.h"

/* Trend points drawn at most (the latest ones when there are more). */
#define CHART_MAX_POINTS 120

/* Appends to out two <svg> charts of the report's "trend" (borrowed; an
 * array of {"at", "release", "metrics"}): the risk score over time as a
 * line, and the open threats by severity as stacked bars, each with axes,
 * labels and a <title>. An empty or absent trend gives a sentence (a <p>)
 * instead. Values that are not numbers count as 0. */
void chart_trend(const json_t *trend, struct ts_buf *out);

#endif
