/* SPDX-License-Identifier: Apache-2.0 */
/* The report documents (`threatsync report`): everything a renderer shows of
 * one project, or of every project (the portfolio), assembled from the store.
 * Renderers (report/) read only these documents. docs/reports.md. */
#ifndef TS_ENGINE_REPORT_REPORT_H
#define TS_ENGINE_REPORT_REPORT_H

#include <jansson.h>

#include "engine/config.h"
#include "engine/library/library.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* The version of both documents' layout ("report_version"). */
#define REPORT_VERSION 1

/* The report of project slug at now ("YYYY-MM-DDTHH:MM:SS.mmmZ"; NULL: the
 * clock) as a new document (schema/report.schema.json). cfg gives the
 * compliance policy; lib is not needed (may be NULL). Listing findings ends
 * the suppressions that have expired (a write, as `threatsync findings`
 * does). TS_E_NOTFOUND for an unknown project. */
int report_build(struct store *s, const struct config *cfg, const struct library *lib,
                 const char *slug, const char *now, json_t **ret_doc, struct ts_err *err);

/* The portfolio of every project at now as a new document
 * (schema/portfolio.schema.json), projects sorted by risk class (critical
 * first, unclassified last), then risk score (descending), then slug. */
int report_portfolio(struct store *s, const struct config *cfg, const char *now, json_t **ret_doc,
                     struct ts_err *err);

#endif
