/* SPDX-License-Identifier: Apache-2.0 */
/* Pure helpers of the GitLab connector (keys, paths, error texts, the issue
 * reader and status mapping), shared by its files and exposed for its unit
 * tests. */
#ifndef TS_CONNECTORS_GITLAB_INTERNAL_H
#define TS_CONNECTORS_GITLAB_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

/* Labels threatsync puts on its GitLab issues besides the common label and the
 * marker: one scoped status label of the "threatsync" scope. */
#define GITLAB_LABEL_TODO "threatsync::todo"
#define GITLAB_LABEL_DONE "threatsync::done"
#define GITLAB_LABEL_SCOPE "threatsync::"

/* GitLab's limits: title length (characters), description length. */
#define GITLAB_TITLE_MAX 255
#define GITLAB_DESCRIPTION_MAX 1000000

/* Items per page of the issue list (GitLab's maximum). */
#define GITLAB_PER_PAGE 100

/* Overlap subtracted from a poll cursor: an issue whose transaction committed
 * just after the last poll read may carry an updated_at slightly before it. */
#define GITLAB_POLL_OVERLAP_MS 1000

/* The :id path segment of a project: a numeric id as is, a path
 * ("group/sub/project") percent-encoded ("group%2Fsub%2Fproject"). Returns a new
 * string (caller frees), or NULL when project is NULL or empty. */
char *gitlab_project_segment(const char *project);

/* Splits a ticket key "group/project#12" (GitLab's full reference) into the
 * project and the iid. A bare "12" takes fallback_project (may be NULL).
 * *ret_project is a new string (caller frees). Returns 0 or -EINVAL. */
int gitlab_parse_key(const char *key, const char *fallback_project, char **ret_project,
                     long *ret_iid);

/* GitLab's own error text from a response body into out: "message" as a
 * string, or as an object of field → [messages] ("title can't be blank;
 * labels is invalid") or {"error": text}; else "error"; else the body as
 * text with HTML tags dropped and blanks collapsed; "(empty body)" when there
 * is nothing. Always NUL-terminates out. */
void gitlab_error_text(const char *body, size_t len, char *out, size_t cap);

/* The status and GitLab's error text, the status said once: GitLab's own
 * messages often start with it ("401 Unauthorized", "404 Project Not
 * Found"), and those are kept as they are; any other text gets it in front
 * ("429 Retry later"). Always NUL-terminates out. */
void gitlab_status_text(long status, const char *body, size_t len, char *out, size_t cap);

/* The name of a label as GitLab writes it: a string in the REST API, an
 * object {"title": ...} in webhook bodies. Borrowed, or NULL. */
const char *gitlab_label_name(const json_t *label);

/* Status category of an issue, the one mapping for polls, reads and
 * webhooks: "done" when state is "closed"; else "indeterminate" when a label
 * is a scoped label whose value is "in-progress", "in progress",
 * "in_progress", "doing" or "wip" (any scope, case-insensitive; e.g.
 * threatsync::in-progress, workflow::doing); else "new". labels is the
 * issue's array of labels (either shape, gitlab_label_name). Static
 * string. */
const char *gitlab_status_category(const char *state, const json_t *labels);

/* The first label of labels (either shape) that is a marker (marker_valid).
 * Borrowed from labels, or NULL. */
const char *gitlab_labels_marker(const json_t *labels);

/* Fills *ret (which must be zeroed; strings new, freed with
 * remote_issue_clear) from a GitLab issue object. key is references.full, else
 * "<project>#<iid>"; content_hash is the SHA-256 hex of title "\n" description
 * as GitLab returned them. Returns 0, or -EINVAL when o is not an issue (no
 * integer iid); *ret is left zeroed then. */
int gitlab_issue_parse(const json_t *o, const char *project, struct remote_issue *ret);

/* The description threatsync writes: the ticket document (ticket_doc_build)
 * as Markdown, followed by the hidden marker "<!-- threatsync:marker=MARKER -->".
 * New string, caller frees. */
char *gitlab_description(const struct ticket_spec *t);

/* Weight of an issue from a priority: 1 → 4, 2 → 3, 3 → 2, 4 → 1 (GitLab sorts
 * heavier issues as bigger; it is not a priority field, so the most urgent work
 * gets the largest weight); -1 for a priority outside 1..4 (no weight sent). */
int gitlab_weight(int priority);

/* Unix milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out. */
void gitlab_format_iso(int64_t unix_ms, char out[32]);

/* gitlab_connector_ops.parse_webhook (gitlab_webhook.c): issue hooks are
 * relevant; the key is "<project path>#<iid>", the actor the delivery's
 * user name; self_actor is never set (the token's user is not configured:
 * the sync's recorded update time recognises its own writes). */
int gitlab_parse_webhook(const struct config_connector *cfg, const char *body, size_t body_len,
                         struct connector_webhook *ret, struct ts_err *err);

#endif
