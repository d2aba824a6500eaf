/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync link` as one connectors call: reads an existing ticket from the
 * tracker on a private loop and adopts it for a task (engine/tracking/link.h),
 * so the command line only parses arguments and prints the outcome. */
#ifndef TS_CONNECTORS_LINK_H
#define TS_CONNECTORS_LINK_H

#include "engine/config.h"
#include "engine/store/store.h"
#include "engine/tracking/link.h"
#include "engine/util.h"

/* What link_ticket did. Strings owned (link_outcome_clear). */
struct link_outcome {
	struct link_result result;
	char marker[MARKER_SIZE]; /* the marker the ticket gets on the next sync */
	char *key;                /* the ticket's key as the tracker gave it */
	char *url;                /* its browse URL, or NULL */
	char *status;             /* its status name, or NULL */
};

void link_outcome_clear(struct link_outcome *o); /* zeroes it; a zeroed one is a no-op */

/* Adopts ticket key of connector cc (borrowed) for task uid of project slug,
 * whose tracker project is tracker_project (a bare GitLab issue number is
 * taken as one of it). Checks without writing first (link_task_find,
 * link_check), reads the ticket with cc's `get` on a private libuv loop run
 * to completion, then link_adopt with cc's fieldmap. Errors (err says which,
 * nothing written): those of link_task_find, link_check and link_adopt;
 * TS_E_INVALID for a ticket the tracker does not have or refuses to show;
 * TS_E_CONFIG for refused credentials or a connector that does not open;
 * TS_E_UNAVAILABLE for a tracker that does not answer; TS_E_SYSTEM when the
 * loop cannot start; TS_E_INTERNAL when the read never completed. */
int link_ticket(struct store *s, const struct config_connector *cc, const char *tracker_project,
                const char *slug, const char *uid, const char *key, struct link_outcome *ret,
                struct ts_err *err);

#endif
