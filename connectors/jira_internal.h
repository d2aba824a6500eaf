/* SPDX-License-Identifier: Apache-2.0 */
/* Private pieces of the Jira connector shared by its files and its tests: JQL
 * quoting, URL escaping and the API user's time zone. (Its description is the
 * ticket document, ticket_doc.h, rendered by render.h.) */
#ifndef TS_CONNECTORS_JIRA_INTERNAL_H
#define TS_CONNECTORS_JIRA_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

/* ---- JQL, URLs and time (jira_jql.c) ---- */

/* A JQL string literal: s in double quotes, '"' and '\' escaped. New string. */
char *jira_jql_quote(const char *s);

/* s percent-encoded for a URL query value or path segment (everything but
 * RFC 3986 unreserved characters). New string. */
char *jira_url_escape(const char *s);

/* A time zone: UTC offsets by instant, from the system's TZif files. */
struct jira_tz;

/* Loads the zone called name: an IANA name ("Europe/Berlin", "Etc/GMT-1",
 * "UTC") read from $TZDIR or /usr/share/zoneinfo, or a fixed offset written
 * "GMT+01:30", "UTC-05:00" or "+0100". Returns 0 (*ret new, free with
 * jira_tz_free), -EINVAL (bad name or file) or -ENOENT. */
int jira_tz_load(const char *name, struct jira_tz **ret);
void jira_tz_free(struct jira_tz *tz); /* NULL is a no-op */

/* Offset east of UTC, in seconds, in force at unix_s (0 for a NULL tz). Zones
 * whose rules change after the last transition in the file keep its offset. */
int32_t jira_tz_offset(const struct jira_tz *tz, int64_t unix_s);

/* unix_ms as a JQL date "yyyy-MM-dd HH:mm" in the zone (NULL = UTC),
 * truncated to the minute. */
void jira_jql_time(const struct jira_tz *tz, int64_t unix_ms, char out[32]);

#endif
