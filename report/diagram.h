/* SPDX-License-Identifier: Apache-2.0 */
/* The data-flow diagram of a report's model, laid out by Graphviz (dot) as SVG. */
#ifndef TS_REPORT_DIAGRAM_H
#define TS_REPORT_DIAGRAM_H

#include <jansson.h>

#include "engine/util.h"

/* Bounds of the diagram. Graphviz's dot lays out 1,000 components and
 * 1,500 flows in four zones in about 0.8 s and 2,000 components in about
 * 3 s (2 cores, docs/report-html.md); sfdp is no faster at that size and
 * takes 30 s for 5,000. A larger model gets no diagram (TS_E_UNAVAILABLE
 * with a sentence saying why) rather than a page nobody can read. Above
 * DIAGRAM_FAST_COMPONENTS the crossing minimisation is cut short. */
#define DIAGRAM_MAX_COMPONENTS 1000
#define DIAGRAM_MAX_FLOWS 2500
#define DIAGRAM_FAST_COMPONENTS 300

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
