/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the GitLab connector's readers of the tracker's
 * answers (connectors/gitlab_internal.h): the error text of a refused
 * request (gitlab_status_text, gitlab_error_text) and the issue reader of
 * the REST answers (gitlab_issue_parse, with the status mapping and marker
 * search it uses), on one object or on each element of an array (a page of
 * the issue list). The first two bytes pick the HTTP status and the size of
 * the output buffer; the rest is the body. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/gitlab_internal.h"
#include "engine/tracking/marker.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte of s, so a string that is not alive shows up under
 * AddressSanitizer. */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

/* An error text: NUL-terminated within cap, never empty (the readers say
 * "(empty body)" when there is nothing) when there is room for a byte. */
static void check_text(const char *what, const char *out, size_t cap)
{
	if (memchr(out, '\0', cap) == NULL)
		fuzz_fail(what, "not NUL-terminated within its buffer");
	if (cap > 1 && !out[0])
		fuzz_fail(what, "empty");
}

static void check_issue(const json_t *o)
{
	struct remote_issue ri = {0};
	int rc = gitlab_issue_parse(o, "group/project", &ri);
	if (rc < 0) {
		if (rc != -EINVAL)
			fuzz_fail("gitlab_issue_parse: a refusal other than -EINVAL", NULL);
		if (ri.key || ri.id || ri.url || ri.status || ri.status_category || ri.marker ||
		    ri.updated || ri.actor || ri.content_hash)
			fuzz_fail("gitlab_issue_parse: a refused issue left filled", NULL);
		return;
	}
	/* gitlab_internal.h: the key is references.full or "<project>#<iid>";
	 * the content hash is SHA-256 hex; the category one of three words. */
	if (!ri.key || !strchr(ri.key, '#'))
		fuzz_fail("gitlab_issue_parse: a key without '#'", ri.key);
	if (!ri.content_hash || strlen(ri.content_hash) != 64)
		fuzz_fail("gitlab_issue_parse: a content hash that is not SHA-256 hex", NULL);
	if (!ri.status_category || (strcmp(ri.status_category, "new") != 0 &&
	                            strcmp(ri.status_category, "indeterminate") != 0 &&
	                            strcmp(ri.status_category, "done") != 0))
		fuzz_fail("gitlab_issue_parse: a status category of another word",
		          ri.status_category);
	if (ri.marker && !marker_valid(ri.marker))
		fuzz_fail("gitlab_issue_parse: a marker that marker_valid refuses", ri.marker);
	if (ri.actor && (!ri.status || strcmp(ri.status, "closed") != 0))
		fuzz_fail("gitlab_issue_parse: an actor on an issue that is not closed", NULL);
	size_t total = touch(ri.key) + touch(ri.id) + touch(ri.url) + touch(ri.status) +
	               touch(ri.status_category) + touch(ri.resolution) + touch(ri.updated) +
	               touch(ri.actor) + touch(ri.content_hash);
	(void)total;
	remote_issue_clear(&ri);
	if (ri.key || ri.content_hash)
		fuzz_fail("remote_issue_clear left a string", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	long status = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500);
	size_t cap = 1 + data[0] % 96;
	const char *body = (const char *)data + 2;
	size_t len = size - 2;

	/* The http layer hands bodies NUL-terminated (struct http_response);
	 * these readers take a length, so the copy is exactly len bytes and
	 * any read past it is reported. */
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, body, len);
	char big[1024], *small = malloc(cap);
	if (!small)
		fuzz_fail("out of memory", NULL);
	gitlab_error_text(copy, len, big, sizeof(big));
	check_text("gitlab_error_text", big, sizeof(big));
	gitlab_status_text(status, copy, len, big, sizeof(big));
	check_text("gitlab_status_text", big, sizeof(big));
	gitlab_status_text(status, copy, len, small, cap);
	check_text("gitlab_status_text (small buffer)", small, cap);
	free(small);

	json_error_t jerr;
	json_t *j = json_loadb(copy, len, 0, &jerr);
	if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach (j, i, v)
			check_issue(v);
	} else if (j) {
		check_issue(j);
		const json_t *labels = json_object_get(j, "labels");
		const char *m = gitlab_labels_marker(labels);
		if (m && !marker_valid(m))
			fuzz_fail("gitlab_labels_marker: a label marker_valid refuses", m);
		(void)touch(
		    gitlab_status_category(json_string_value(json_object_get(j, "state")), labels));
	}
	json_decref(j);
	free(copy);
	return 0;
}
