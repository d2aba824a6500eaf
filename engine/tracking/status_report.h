/* SPDX-License-Identifier: Apache-2.0 */
/* The state of tracker sync for `threatsync status`: tasks by status, linked
 * tickets, outbox rows by state, dead and failing rows, poll cursors, paused
 * connectors. */
#ifndef TS_ENGINE_STATUS_REPORT_H
#define TS_ENGINE_STATUS_REPORT_H

#include <jansson.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* The state of sync as a new document (schema/status.schema.json):
 * {"projects": [{"project", "tasks": {status: n}, "tasks_total",
 * "tickets_linked", "outbox": {state: n}, "dead": [{"id", "op", "task",
 * "connector", "attempts", "last_error", "updated_at"}], "failing": [same,
 * for failed rows, with "next_attempt_at"]}], "connectors": [{"connector",
 * "last_poll", "scopes": [{"scope", "cursor", "updated_at"}], "paused":
 * [pause_row_json, engine/tracking/pause.h]}]}. slug NULL:
 * every project; else TS_E_NOTFOUND when it does not exist. */
int status_report_json(struct store *s, const char *slug, json_t **ret_doc, struct ts_err *err);

#endif
