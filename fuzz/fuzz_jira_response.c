/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the Jira connector's readers of the tracker's
 * answers (connectors/jira_internal.h): the tracker's words in an error
 * answer (errorMessages, errors, message or a short text body), and the
 * issue reader jira_issue_read on the answer itself (an issue read by key)
 * and on each element of its "issues" (a page of a JQL search), with both
 * flavours' connector settings, and the Data Center paging of a search page
 * (jira_next_start). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/jira_internal.h"
#include "engine/tracking/marker.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static void check_issue(const struct config_connector *cfg, const json_t *o)
{
	struct remote_issue ri = {0};
	jira_issue_read(cfg, o, &ri);
	/* The browse URL exists exactly when the key does, under base_url. */
	if (!ri.key != !ri.url)
		fuzz_fail("jira_issue_read: a key without its URL, or a URL without a key", NULL);
	if (ri.url && (strncmp(ri.url, "https://jira.example.com/browse/", 32) != 0 ||
	               strcmp(ri.url + 32, ri.key) != 0))
		fuzz_fail("jira_issue_read: a URL that is not base_url/browse/KEY", ri.url);
	if (ri.marker && !marker_valid(ri.marker))
		fuzz_fail("jira_issue_read: a marker that marker_valid refuses", ri.marker);
	size_t total = touch(ri.key) + touch(ri.id) + touch(ri.url) + touch(ri.status) +
	               touch(ri.status_category) + touch(ri.resolution) + touch(ri.updated) +
	               touch(ri.actor) + touch(ri.content_hash) + touch(ri.marker);
	(void)total;
	/* A second read into the same struct frees the first (remote_issue_clear). */
	jira_issue_read(cfg, o, &ri);
	remote_issue_clear(&ri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* struct http_response: the body is NUL-terminated at body_len. */
	char *body = malloc(size + 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';

	char msg[700];
	memset(msg, 'x', sizeof(msg));
	jira_tracker_message_for_fuzzing(body, size, msg, sizeof(msg));
	if (!memchr(msg, '\0', sizeof(msg)))
		fuzz_fail("the tracker's message is not NUL-terminated", NULL);
	char tiny[8];
	jira_tracker_message_for_fuzzing(body, size, tiny, sizeof(tiny));
	if (!memchr(tiny, '\0', sizeof(tiny)))
		fuzz_fail("the tracker's message is not NUL-terminated in a small buffer", NULL);

	json_error_t jerr;
	json_t *j = json_loadb(body, size, 0, &jerr);
	if (json_is_object(j)) {
		static char base[] = "https://jira.example.com";
		static char email[] = "bot@example.com";
		struct config_connector cloud = {.name = (char *)"jira",
		                                 .type = CONFIG_CONNECTOR_JIRA,
		                                 .flavor = CONFIG_JIRA_CLOUD,
		                                 .base_url = base,
		                                 .email = email};
		struct config_connector dc = cloud;
		dc.flavor = CONFIG_JIRA_DATACENTER;
		dc.email = NULL;
		check_issue(&cloud, j);
		check_issue(&dc, j);
		size_t i;
		json_t *v;
		json_array_foreach (json_object_get(j, "issues"), i, v)
			check_issue(i % 2 ? &dc : &cloud, v);
		/* A Data Center search page: the next page starts past this one
		 * and before the total, or there is none. */
		json_int_t start = json_integer_value(json_object_get(j, "startAt"));
		json_int_t total = json_integer_value(json_object_get(j, "total"));
		size_t n = json_array_size(json_object_get(j, "issues"));
		int64_t next = jira_next_start(start, n, total);
		if (next != -1 && (next <= start || next >= total || next - start != (int64_t)n))
			fuzz_fail("jira_next_start: a next page out of this page's numbers", NULL);
	}
	json_decref(j);
	free(body);
	return 0;
}
