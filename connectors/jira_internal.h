/* SPDX-License-Identifier: Apache-2.0 */
/* Private pieces of the Jira connector shared by its files and its tests: the
 * one reader of an issue object (REST answers and webhook bodies), JQL
 * quoting, URL escaping and the API user's time zone. (Its description is the
 * ticket document, ticket_doc.h, rendered by render.h.) */
#ifndef TS_CONNECTORS_JIRA_INTERNAL_H
#define TS_CONNECTORS_JIRA_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

/* ---- issues (jira.c; used by jira_webhook.c) ---- */

/* Fills ri (cleared first; its strings new) from a Jira issue object, the
 * same shape in a REST answer and a webhook body: key, id (string or
 * integer), the browse URL under cfg->base_url (borrowed), fields.status
 * name and statusCategory key, fields.resolution, fields.updated, the
 * marker among fields.labels (marker_valid) and, when the issue carries its
 * changelog, the author of the last status change. Missing parts stay
 * NULL. */
void jira_issue_read(const struct config_connector *cfg, const json_t *issue,
                     struct remote_issue *ri);

/* A Jira user object's name as threatsync records actors: the first
 * non-empty of emailAddress, name, displayName, accountId. New string, or
 * NULL. */
char *jira_user_name(const json_t *user);

/* The startAt of the Data Center search page after one that held n issues
 * from start, of total; -1 when that page was the last, or when the
 * tracker's numbers cannot be paged on (no issues, a negative start, a start
 * at or past the total). Never overflows, whatever the answer says. */
int64_t jira_next_start(int64_t start, size_t n, int64_t total);

/* The tracker's own words in the body of an error answer, as the connector's
 * messages quote them (Cloud's errorMessages and errors, Data Center's
 * message, a short text body): the reader the fuzzing harness reaches without
 * a request. body is NUL-terminated at body_len, as struct http_response
 * promises. Always NUL-terminates out. */
void jira_tracker_message_for_fuzzing(const char *body, size_t body_len, char *out, size_t cap);

/* jira_connector_ops.parse_webhook (jira_webhook.c): jira:issue_created and
 * jira:issue_updated are relevant; the actor is the delivery's user
 * (jira_user_name), self_actor when its e-mail is the connector's (any
 * case), comment the delivery's comment body. */
int jira_parse_webhook(const struct config_connector *cfg, const char *body, size_t body_len,
                       struct connector_webhook *ret, struct ts_err *err);

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
