/* SPDX-License-Identifier: Apache-2.0 */
/* The data-flow diagram of a report's model, laid out by Graphviz as SVG. */
#ifndef TS_REPORT_DIAGRAM_H
#define TS_REPORT_DIAGRAM_H

#include <jansson.h>

#include "engine/util.h"

/* Above this many components the diagram is laid out by a layout engine
 * that scales (no clusters); above DIAGRAM_MAX_COMPONENTS or
 * DIAGRAM_MAX_FLOWS it is not drawn at all (TS_E_UNAVAILABLE, with a
 * sentence saying why). Measured in docs/report-html.md. */
#define DIAGRAM_DOT_MAX_COMPONENTS 400
#define DIAGRAM_MAX_COMPONENTS 5000
#define DIAGRAM_MAX_FLOWS 10000

/* The id an element gets in the SVG: prefix ("comp-", "flow-", "zone-")
 * then the id with every byte outside [A-Za-z0-9_] written as -XX (hex), so
 * that distinct ids stay distinct and nothing needs quoting. Appends to b. */
void diagram_element_id(struct ts_buf *b, const char *prefix, const char *id);

/* Appends to svg an <svg> element (no XML prolog, no DOCTYPE) drawing the
 * report document's "model" member (borrowed): trust zones as labelled
 * clusters, components as nodes shaped by kind (actor, process, store) with
 * the id "comp-ID" and a badge of their open threats coloured by their
 * highest severity, flows as edges labelled with their protocol, those that
 * cross a trust boundary red, bold and dashed. Returns 0, or TS_E_INVALID
 * (err names the path under "model" that is wrong), TS_E_UNAVAILABLE (too
 * large to draw) or TS_E_INTERNAL (Graphviz failed; err has its messages).
 * Graphviz keeps global state: not for use by two threads at once. */
int diagram_svg(const json_t *model, struct ts_buf *svg, struct ts_err *err);

#endif
