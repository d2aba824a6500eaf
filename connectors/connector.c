/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connectors: the table of tracker types, freeing what a result owns. */
#include "connectors/connector.h"

#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

void remote_issue_clear(struct remote_issue *i)
{
	if (!i)
		return;
	free(i->key);
	free(i->id);
	free(i->url);
	free(i->marker);
	free(i->status);
	free(i->status_category);
	free(i->resolution);
	free(i->updated);
	free(i->actor);
	free(i->content_hash);
	memset(i, 0, sizeof(*i));
}

void remote_issue_copy(struct remote_issue *dst, const struct remote_issue *src)
{
	dst->key = ts_strdup(src->key);
	dst->id = ts_strdup(src->id);
	dst->url = ts_strdup(src->url);
	dst->marker = ts_strdup(src->marker);
	dst->status = ts_strdup(src->status);
	dst->status_category = ts_strdup(src->status_category);
	dst->resolution = ts_strdup(src->resolution);
	dst->updated = ts_strdup(src->updated);
	dst->actor = ts_strdup(src->actor);
	dst->content_hash = ts_strdup(src->content_hash);
}

void connector_result_clear(struct connector_result *r)
{
	if (!r)
		return;
	remote_issue_clear(&r->issue);
	for (size_t k = 0; k < r->n_issues; k++)
		remote_issue_clear(&r->issues[k]);
	free(r->issues);
	free(r->next_page);
	free(r->cursor);
	memset(r, 0, sizeof(*r));
}

const struct connector_ops *connector_ops_for(enum config_connector_type type)
{
	switch (type) {
	case CONFIG_CONNECTOR_JIRA:
		return &jira_connector_ops;
	case CONFIG_CONNECTOR_GITLAB:
		return &gitlab_connector_ops;
	}
	return NULL;
}
