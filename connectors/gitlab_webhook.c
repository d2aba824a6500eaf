/* SPDX-License-Identifier: Apache-2.0 */
/* What a GitLab webhook delivery means: issue hooks read into the connector's
 * remote_issue by the same issue reader and status mapping as its REST
 * answers (gitlab_issue_parse, gitlab_status_category). */
#include "connectors/gitlab_internal.h"

#include <stdlib.h>
#include <string.h>

/* The issue hook's object_attributes is an issue object in nearly the REST
 * shape; the differences are filled in here: the key from the project's
 * path, the URL under "url", the labels (as objects) beside it at the top
 * level, the actor the delivery's user. */
static int gitlab_webhook_issue(const json_t *root, const json_t *oa, struct remote_issue *ri,
                                struct ts_err *err)
{
	if (!json_is_integer(json_object_get(oa, "iid")))
		return connector_webhook_missing(err, "$.object_attributes.iid", "an integer");
	const char *path = json_string_value(
	    json_object_get(json_object_get(root, "project"), "path_with_namespace"));
	if (!path)
		return connector_webhook_missing(err, "$.project.path_with_namespace", "a string");
	if (gitlab_issue_parse(oa, path, ri) < 0)
		return connector_webhook_missing(err, "$.object_attributes", "an object");
	if (!ri->status)
		return connector_webhook_missing(err, "$.object_attributes.state", "a string");
	if (!ri->updated)
		return connector_webhook_missing(err, "$.object_attributes.updated_at", "a string");
	const char *url = json_string_value(json_object_get(oa, "url"));
	if (url) {
		free(ri->url);
		ri->url = ts_strdup(url);
	}
	const json_t *labels = json_object_get(root, "labels");
	if (json_is_array(labels)) {
		free(ri->marker);
		ri->marker = ts_strdup(gitlab_labels_marker(labels));
		free(ri->status_category);
		ri->status_category = ts_strdup(gitlab_status_category(ri->status, labels));
	}
	free(ri->actor);
	ri->actor = ts_strdup(
	    json_string_value(json_object_get(json_object_get(root, "user"), "username")));
	return 0;
}

static int gitlab_webhook_read(const json_t *root, struct connector_webhook *w, struct ts_err *err)
{
	const char *kind = json_string_value(json_object_get(root, "object_kind"));
	if (!kind)
		return connector_webhook_missing(err, "$.object_kind", "a string");
	const json_t *oa = json_object_get(root, "object_attributes");
	const char *action = json_string_value(json_object_get(oa, "action"));
	w->event = ts_asprintf("%s/%s", kind, action ? action : "-");
	w->relevant = strcmp(kind, "issue") == 0;
	if (!w->relevant)
		return 0;
	if (!json_is_object(oa))
		return connector_webhook_missing(err, "$.object_attributes", "an object");
	return gitlab_webhook_issue(root, oa, &w->issue, err);
}

int gitlab_parse_webhook(const struct config_connector *cfg, const char *body, size_t body_len,
                         struct connector_webhook *ret, struct ts_err *err)
{
	(void)cfg;
	json_t *root = NULL;
	int rc = connector_webhook_json(body, body_len, &root, err);
	if (rc < 0)
		return rc;
	rc = gitlab_webhook_read(root, ret, err);
	json_decref(root);
	if (rc < 0)
		connector_webhook_clear(ret);
	return rc;
}
