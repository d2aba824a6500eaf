/* SPDX-License-Identifier: Apache-2.0 */
/* What a Jira webhook delivery means: jira:issue_created / jira:issue_updated
 * bodies read into the connector's remote_issue by the same reader as a REST
 * answer's issue (jira_issue_read). */
#include "connectors/jira_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The parts apply cannot do without, checked in the order a reader of the
 * body meets them, each failure naming its JSON path. */
static int jira_issue_required(const json_t *issue, const struct remote_issue *ri,
                               struct ts_err *err)
{
	if (!ri->key)
		return connector_webhook_missing(err, "$.issue.key", "a string");
	if (!json_is_object(json_object_get(issue, "fields")))
		return connector_webhook_missing(err, "$.issue.fields", "an object");
	if (!ri->status)
		return connector_webhook_missing(err, "$.issue.fields.status.name", "a string");
	if (!ri->updated)
		return connector_webhook_missing(err, "$.issue.fields.updated", "a string");
	return 0;
}

static int jira_webhook_read(const struct config_connector *cfg, const json_t *root,
                             struct connector_webhook *w, struct ts_err *err)
{
	const char *event = json_string_value(json_object_get(root, "webhookEvent"));
	if (!event)
		return connector_webhook_missing(err, "$.webhookEvent", "a string");
	w->event = ts_strdup(event);
	w->relevant =
	    strcmp(event, "jira:issue_updated") == 0 || strcmp(event, "jira:issue_created") == 0;
	if (!w->relevant)
		return 0;
	const json_t *issue = json_object_get(root, "issue");
	if (!json_is_object(issue))
		return connector_webhook_missing(err, "$.issue", "an object");
	jira_issue_read(cfg, issue, &w->issue);
	int rc = jira_issue_required(issue, &w->issue, err);
	if (rc < 0)
		return rc;
	/* The delivery names who caused it; the issue's changelog is not in it. */
	const json_t *user = json_object_get(root, "user");
	free(w->issue.actor);
	w->issue.actor = jira_user_name(user);
	const char *email = json_string_value(json_object_get(user, "emailAddress"));
	w->self_actor = email && cfg->email && strcasecmp(email, cfg->email) == 0;
	const char *comment =
	    json_string_value(json_object_get(json_object_get(root, "comment"), "body"));
	w->comment = ts_strdup(comment);
	return 0;
}

int jira_parse_webhook(const struct config_connector *cfg, const char *body, size_t body_len,
                       struct connector_webhook *ret, struct ts_err *err)
{
	json_t *root = NULL;
	int rc = connector_webhook_json(body, body_len, &root, err);
	if (rc < 0)
		return rc;
	rc = jira_webhook_read(cfg, root, ret, err);
	json_decref(root);
	if (rc < 0)
		connector_webhook_clear(ret);
	return rc;
}
