/* SPDX-License-Identifier: Apache-2.0 */
/* Jira connector extras beyond struct connector_ops (jira_connector_ops in connector.h). */
#ifndef TS_CONNECTORS_JIRA_H
#define TS_CONNECTORS_JIRA_H

/* How often find_marker looks a marker up before answering "absent", and the
 * delay between two lookups (Jira's search index lags behind writes). attempts
 * counts every lookup including the first (1..20), delay_ms 0..600000; out of
 * range values are clamped. Defaults: JIRA_LOOKUP_ATTEMPTS lookups
 * JIRA_LOOKUP_DELAY_MS apart. conn is what jira_connector_ops.open returned. */
void jira_set_lookup_retry(void *conn, int attempts, int delay_ms);

#define JIRA_LOOKUP_ATTEMPTS 3
#define JIRA_LOOKUP_DELAY_MS 5000

/* Issues per search page (Jira Cloud caps maxResults at 100 when fields are
 * asked for). */
#define JIRA_PAGE_SIZE 100

/* Overlap subtracted from the poll cursor: JQL dates have minute precision. */
#define JIRA_POLL_OVERLAP_MS (2 * 60 * 1000)

#endif
