/* SPDX-License-Identifier: Apache-2.0 */
/* The data-flow diagram of a report's model, laid out by Graphviz (dot) as SVG. */
#ifndef TS_REPORT_DIAGRAM_H
#define TS_REPORT_DIAGRAM_H

#include <jansson.h>

#include "engine/util.h"

/* Bounds of the diagram (measured in docs/report-html.md). Up to
 * DIAGRAM_DOT_MAX_* the layout is dot's, with the trust zones as clusters;
 * dot's time depends on the wiring and grows steeply (200 components
 * and 500 flows in one zone took 30 s, 1,000 without zones 4 minutes), so larger models are laid out by sfdp,
 * without clusters and with straight edges. Above DIAGRAM_MAX_* there is
 * no diagram (TS_E_UNAVAILABLE with a sentence saying why) rather than a
 * page nobody can read. */
#define DIAGRAM_DOT_MAX_COMPONENTS 150
#define DIAGRAM_DOT_MAX_FLOWS 250
#define DIAGRAM_MAX_COMPONENTS 1000
#define DIAGRAM_MAX_FLOWS 2500

/* The id an element gets in the SVG: prefix ("comp-", "flow-", "zone-")
 * then the id with every byte outside [A-Za-z0-9_] written as -XX (hex), so
 * that distinct ids stay distinct and nothing needs quoting. Appends to b. */
void diagram_element_id(struct ts_buf *b, const char *prefix, const char *id);

/* Appends to svg an <svg> element (no XML prolog, no DOCTYPE) drawing the
 * report document's "model" member (borrowed): trust zones as labelled
 * clusters (dot) , components as nodes shaped by kind (actor, process, store) with
 * the id "comp-ID" and a badge of their open threats coloured by their
 * highest severity, flows as edges labelled with their protocol, those that
 * cross a trust boundary red, bold and dashed. Returns 0, or TS_E_INVALID
 * (err names the path under "model" that is wrong), TS_E_UNAVAILABLE (too
 * large to draw) or TS_E_INTERNAL (Graphviz failed; err has its messages).
 * Graphviz keeps global state: not for use by two threads at once. */
int diagram_svg(const json_t *model, struct ts_buf *svg, struct ts_err *err);

#endif
