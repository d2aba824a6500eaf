/* SPDX-License-Identifier: Apache-2.0 */
/* The listings of a project's generated threats and countermeasures (the
 * `threats` and `countermeasures` commands and their JSON documents). */
#ifndef TS_ENGINE_GENERATE_LISTING_H
#define TS_ENGINE_GENERATE_LISTING_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* The threats of project slug as a new document (schema/threats.schema.json),
 * sorted by score (descending) then id. Without all only active, in-scope
 * threats are listed. now ("YYYY-MM-DDTHH:MM:SS.mmmZ", NULL: the clock) decides
 * which risk acceptances are still in force. */
int gen_list_threats(struct store *s, const char *slug, bool all, const char *now, json_t **ret_doc,
                     struct ts_err *err);

/* The countermeasures (tasks) of project slug as a new document
 * (schema/countermeasures.schema.json), sorted by score (descending) then id.
 * Without all only active, in-scope tasks are listed; status (may be NULL)
 * keeps only that status (TS_E_USAGE for an unknown one). now as above. */
int gen_list_countermeasures(struct store *s, const char *slug, bool all, const char *status,
                             const char *now, json_t **ret_doc, struct ts_err *err);

/* Whether s is a countermeasure status name. */
bool gen_status_valid(const char *s);

#endif
