/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connectors: the table of tracker types, freeing what a result owns. */
#include "connectors/connector.h"

#include <stdlib.h>
#include <string.h>

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
