/* SPDX-License-Identifier: Apache-2.0 */
/* The tracker connector interface: a small struct of asynchronous operations that
 * Jira (connectors/jira.c) and GitLab (connectors/gitlab.c) fill in, driven by the
 * sync pass (connectors/sync.c) on a libuv loop through the shared HTTP client. */
#ifndef TS_CONNECTORS_CONNECTOR_H
#define TS_CONNECTORS_CONNECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "connectors/http.h"
#include "engine/config.h"
#include "engine/tracking/outbox.h"

struct webhook_request; /* engine/tracking/webhook.h */
struct webhook_event;

/* The ticket as threatsync wants it on the tracker, handed to create and
 * update: the sync pass fills it from the task's struct ticket_source
 * (engine/tracking/ticket_source.h); the counterpart of struct remote_issue.
 * All pointers borrowed for the duration of the call (the connector copies
 * what it keeps). */
struct ticket_spec {
	const char *tracker_project; /* Jira project key, GitLab project id or path */
	const char *marker;          /* idempotency label "threatsync-<16 hex>" */
	const char *summary;         /* one line, at most 255 bytes */
	/* The countermeasure body as stored (countermeasures.body): requirement,
	 * how_to [{stack, name, text}] (the component's stacks; name is the
	 * stack's display name, older bodies lack it), other_stacks [{stack,
	 * name}] and library_url (the others, when named), acceptance_test,
	 * training [{title, url}],
	 * compliance {framework: [ids]}, threats [{uid, title, cwe [ints],
	 * severity}], component {id, name, type}. The connector builds the
	 * ticket document from it (ticket_doc.h) and renders that (Jira Cloud:
	 * ADF; Data Center: wiki markup; GitLab: Markdown). */
	const json_t *body;
	json_t *cwe_names;           /* {"79": "Improper Neutralization ..."}; may be NULL */
	const char *project_slug;
	const char *cm_uid;          /* "C-OUTPUT-ENCODING@web" */
	int model_version;
	int priority;                /* 1 (most urgent) .. 4 */
	const char *severity;        /* highest severity of its threats */
	const char *due_date;        /* "YYYY-MM-DD" or NULL */
	const char *link_back;       /* text or URL pointing back to threatsync */
	const char *const *labels;   /* configured extra labels, NULL-terminated, may be NULL */
};

/* A ticket as the tracker reports it. Strings owned by the result. */
struct remote_issue {
	char *key;             /* "WRU-12"; GitLab: the iid as text */
	char *id;              /* tracker's internal id */
	char *url;             /* browse URL */
	char *marker;          /* the threatsync-… label found on it, or NULL */
	char *status;          /* status name ("In Progress"; GitLab: "opened"/"closed") */
	char *status_category; /* "new" | "indeterminate" | "done" (GitLab: scoped label or state) */
	char *resolution;      /* Jira resolution name, or NULL */
	char *updated;         /* tracker timestamp, verbatim */
	char *actor;           /* who made the last change, when known */
	char *content_hash;    /* hash threatsync wrote (issue property / hidden marker), or NULL */
};

/* What a tracker's webhook delivery says, as its connector reads it
 * (parse_webhook). Strings owned by the struct (connector_webhook_clear). */
struct connector_webhook {
	char *event;               /* "jira:issue_updated", "issue/update", ... */
	bool relevant;             /* an issue event to apply; false: acknowledged only */
	bool self_actor;           /* caused by the connector's own API user (Jira: its e-mail) */
	struct remote_issue issue; /* relevant events: key, status and updated always set */
	char *comment;             /* the comment the event carries (Jira), or NULL */
};

/* How an operation ended. */
enum connector_status {
	CONNECTOR_OK = 0,
	CONNECTOR_RETRY,     /* transient (429, 5xx on an idempotent request, network):
			      * try again after retry_after_ms; nothing was changed */
	CONNECTOR_UNKNOWN,   /* a write may or may not have happened (timeout, reset,
			      * 5xx on a create): resolve with find_marker first */
	CONNECTOR_FAILED,    /* permanent: the tracker refused (4xx); error has its message */
	CONNECTOR_CANCELLED, /* the client is shutting down */
	CONNECTOR_DENIED,    /* the credentials or their access were refused (401, 403): no
			      * request of the connector can succeed until that is fixed;
			      * nothing was changed */
	CONNECTOR_NO_SCOPE,  /* the tracker project does not exist or is not visible to the
			      * connector's user: no request in it can succeed; nothing was
			      * changed */
};

struct connector_result {
	enum connector_status status;
	long http_status;            /* last HTTP status seen, 0 when none */
	int64_t retry_after_ms;      /* for CONNECTOR_RETRY: at least this long */
	char error[1024];            /* the tracker's own message (Jira errorMessages/errors,
				      * GitLab message/error) or the transport error; no secrets */
	bool found;                  /* find_marker/get: the issue exists */
	bool notice_present;         /* find_notice: a comment carries the notice's marker */
	struct remote_issue issue;   /* create, find_marker, get, update, set_state */
	struct remote_issue *issues; /* poll: one page */
	size_t n_issues;
	char *next_page;             /* poll: token for the next page, NULL when last */
	char *cursor;                /* poll: the cursor to store once every page is done */
};

/* The callback of every operation: runs exactly once, on the loop thread. The
 * result is borrowed for the duration of the callback. */
typedef void (*connector_cb)(void *ud, const struct connector_result *r);

/* The state a closed/open ticket should reach. */
enum connector_state { CONNECTOR_STATE_OPEN, CONNECTOR_STATE_CLOSED };

struct connector_ops {
	const char *type; /* "jira" | "gitlab" */

	/* Creates the connector for cfg (borrowed; it must outlive the connector)
	 * with its own HTTP endpoint on client. */
	int (*open)(struct http_client *client, const struct config_connector *cfg, void **ret_conn,
		    struct ts_err *err);
	/* Frees the connector once every callback it owed has run. NULL ok. */
	void (*close)(void *conn);
	/* Points the open connector at cfg, a reloaded configuration of the same
	 * connector (borrowed; it must outlive the connector; the one it
	 * replaces is still valid during the call). Returns 0 when cfg keeps the
	 * connection (connector_same_connection): what is read per request
	 * (labels, field map, statuses, issue type) applies from the next
	 * operation, and what the connector learned (Jira: the API user's time
	 * zone) stays. -EINVAL otherwise: close it and open a new one. */
	int (*rebind)(void *conn, const struct config_connector *cfg);
	/* Optional (NULL: the connector never waits on a timer). Sets wait_cb,
	 * which the connector calls with an operation's ud when the operation
	 * stops having a request in flight to wait on a timer (waiting true:
	 * Jira's marker lookups between attempts over the search index lag),
	 * and again (false) right before it sends its next request. Never
	 * called after the operation's callback. */
	void (*set_wait_cb)(void *conn, void (*wait_cb)(void *ud, bool waiting));

	/* Creates a ticket. Not retried by the connector after it may have reached
	 * the tracker: CONNECTOR_UNKNOWN means "look the marker up". */
	void (*create)(void *conn, const struct ticket_spec *t, connector_cb cb, void *ud);
	/* Looks a marker up (Jira: JQL on the label, retried over the search index
	 * lag before answering "absent"; GitLab: labels filter). */
	void (*find_marker)(void *conn, const char *tracker_project, const char *marker,
			    connector_cb cb, void *ud);
	/* Updates the fields threatsync owns (summary, description, labels it
	 * added, priority, due date), leaving fields humans edit alone. */
	void (*update)(void *conn, const char *key, const struct ticket_spec *t, connector_cb cb,
	               void *ud);
	/* Closes or reopens (Jira: reads the transitions and takes the one that
	 * leads to the configured status; GitLab: state_event), with a comment
	 * giving the reason when reason is not NULL. A ticket already in the
	 * wanted state is OK without a write. */
	void (*set_state)(void *conn, const char *key, enum connector_state want, const char *reason,
			  connector_cb cb, void *ud);
	/* Adds a comment/note. */
	void (*comment)(void *conn, const char *key, const char *text, connector_cb cb, void *ud);
	/* The text of a comment that carries a notice (connector_notice_valid):
	 * text (may be NULL: the marker alone) with the notice's hidden marker
	 * as its last line. Jira: "threatsync notice ID" in plain text, which
	 * ADF, wiki markup and both API versions keep; GitLab: the HTML comment
	 * "<!-- threatsync-notice:ID -->", which Markdown does not show. New
	 * string. */
	char *(*notice_text)(const char *text, const char *notice);
	/* Reads the ticket key and its newest comments, newest first, at most
	 * CONNECTOR_NOTICE_SCAN of them over as many pages as the tracker
	 * needs, and looks for notice's marker (as notice_text writes it).
	 * OK: issue has the ticket's state and notice_present whether a comment
	 * carries the marker. Only reads, so it is safe to repeat. */
	void (*find_notice)(void *conn, const char *key, const char *notice, connector_cb cb,
	                    void *ud);
	/* One page of the tickets carrying the label "threatsync" in
	 * tracker_project that changed since `since` (the cursor of the last
	 * complete poll, NULL for all), oldest first; page NULL for the first
	 * page. The connector applies the overlap its tracker needs (Jira: minute
	 * precision in the user's time zone). */
	void (*poll)(void *conn, const char *tracker_project, const char *since, const char *page,
		     connector_cb cb, void *ud);
	/* Reads one ticket (for reconciliation and for verifying a state). */
	void (*get)(void *conn, const char *key, connector_cb cb, void *ud);

	/* Reads the body of a webhook delivery (already authenticated by the
	 * engine's webhook_authenticate) for the connector configured as cfg
	 * (borrowed). Needs no open connector: the daemon's endpoint has none.
	 * Returns 0 with *ret filled (zeroed by the caller; free it with
	 * connector_webhook_clear), or TS_E_INVALID naming the JSON path ("webhook
	 * body: $.issue.fields.status.name: missing or not a string") with *ret
	 * left empty. Events that are not about an issue parse with relevant
	 * false. body may be NULL when body_len is 0. */
	int (*parse_webhook)(const struct config_connector *cfg, const char *body, size_t body_len,
	                     struct connector_webhook *ret, struct ts_err *err);
};

/*
 * The one rule for how a tracker request ended, for Jira and GitLab alike:
 * connector_classify maps the HTTP client's answer to a connector_status and
 * the least delay before a retry. "unsafe" is a request that may change state
 * when sent twice (a create or a comment: POST); everything else is safe.
 * "body" is whether a 2xx answer's body read as the operation expected.
 *
 *   transport      status        request  body  -> status     retry_after_ms
 *   cancelled      -             any      -     -> CANCELLED  0
 *   failed         -             any      -     -> RETRY      MIN (1)
 *   unknown        -             safe     -     -> RETRY      MIN
 *   unknown        -             unsafe   -     -> UNKNOWN    0
 *   ok             2xx           any      ok    -> OK         0
 *   ok             2xx           safe     bad   -> RETRY      MIN (2)
 *   ok             2xx           unsafe   bad   -> UNKNOWN    0   (2)
 *   ok             429           any      -     -> RETRY      WAIT (3)
 *   ok             5xx           safe     -     -> RETRY      WAIT
 *   ok             5xx           unsafe   -     -> UNKNOWN    0
 *   ok             401, 403      any      -     -> DENIED     0   (5)
 *   ok             404 project   any      -     -> NO_SCOPE   0   (6)
 *   ok             400 project   any      -     -> NO_SCOPE   0   (6)
 *   ok             other         any      -     -> FAILED     0   (4)
 *
 * MIN is CONNECTOR_RETRY_MIN_MS. WAIT is Retry-After (delta-seconds or an
 * HTTP-date), else for a 429 the rate-limit reset (X-RateLimit-Reset,
 * RateLimit-Reset) from now, else MIN; never less than MIN.
 * (1) The HTTP client's "failed": the request was not processed (DNS,
 *     connection refused, TLS), so a write too is simply sent again. (An
 *     answer refused for its size is "failed" for a safe request only; to an
 *     unsafe one the client says "unknown".)
 * (2) A garbled answer to a read is transient (a proxy's error page, a cut
 *     body); to a write it leaves the write's outcome unknown.
 * (3) A 429 was not processed, so it is retried whatever the method.
 * (4) 1xx, 3xx, 4xx but 429: the tracker refused; sending again changes nothing.
 * (5) A refused token, or a user without access: every request of the
 *     connector would be refused alike, so the sync pass pauses the whole
 *     connector (docs/sync.md) instead of failing one operation.
 * (6) The answer says the tracker project itself is missing or invisible:
 *     GitLab's 404 {"message": "404 Project Not Found"}; Jira's 400 naming the
 *     project, errors.project on a create ("Specify a valid project ID or
 *     key") or an errorMessages entry "... for the field 'project'." on a
 *     search. The sync pass pauses that project on the connector. Any other
 *     404 (an issue) or 400 stays FAILED.
 * UNKNOWN is never RETRY: the caller looks the marker up before sending the
 * write again, which keeps creation exactly-once.
 */
#define CONNECTOR_RETRY_MIN_MS 1000

/* The row of the table above for r (borrowed), with now_ms the wall clock in
 * unix ms (for an HTTP-date or reset time). *ret_retry_after_ms receives the
 * delay (0 unless the status is CONNECTOR_RETRY). */
enum connector_status connector_classify(const struct http_response *r, bool unsafe, bool body_ok,
                                         int64_t now_ms, int64_t *ret_retry_after_ms);

/* The same for a request http_submit refused before sending it (rc < 0):
 * -ECANCELED (the client is closing) is CANCELLED, -ENOBUFS (queue full)
 * RETRY after MIN, anything else (a request the client cannot send) FAILED. */
enum connector_status connector_classify_submit(int rc, int64_t *ret_retry_after_ms);

/* Whether b connects as a does: same type, flavour, base URL, user and
 * token, TLS and proxy settings, and HTTP endpoint options (concurrency,
 * rate, burst, timeouts, attempts). The connectors' rebind uses it. */
bool connector_same_connection(const struct config_connector *a,
                               const struct config_connector *b);

/* A notice is the id of one message threatsync leaves on a ticket (a reopen
 * with its reason, a comment): outbox rows carry it as payload.notice, and
 * the comment carries its marker, so a row whose outcome is unknown is
 * looked up (find_notice) before it is sent again. NOTICE_LEN lowercase hex
 * digits; the lookup reads the newest NOTICE_SCAN comments of the ticket. */
#define CONNECTOR_NOTICE_LEN 16
#define CONNECTOR_NOTICE_SCAN 100

/* Whether s is a notice id: CONNECTOR_NOTICE_LEN lowercase hex digits. */
bool connector_notice_valid(const char *s);

/* The label every threatsync ticket carries besides its marker. */
#define CONNECTOR_COMMON_LABEL "threatsync"

/* The operations of a tracker type, or NULL. */
const struct connector_ops *connector_ops_for(enum config_connector_type type);

/* Connector implementations. */
extern const struct connector_ops jira_connector_ops;
extern const struct connector_ops gitlab_connector_ops;

/* Frees the strings of an issue and zeroes it. */
void remote_issue_clear(struct remote_issue *i);
/* Fills dst (uninitialised) with copies of src's strings: dst owns them. */
void remote_issue_copy(struct remote_issue *dst, const struct remote_issue *src);
/* The engine's view of i (struct outbox_remote, engine/tracking/outbox.h) as
 * connector reports it: every pointer borrowed from i (and connector), so it
 * lives as long as they do; comment is NULL. The one translation of a
 * tracker's answer for the outbox, the reconciliation, link and webhooks. */
struct outbox_remote remote_issue_view(const char *connector, const struct remote_issue *i);
/* Frees what a result owns (issue, issues, next_page, cursor) and zeroes it. */
void connector_result_clear(struct connector_result *r);

/* Frees what w owns and zeroes it. NULL is a no-op. */
void connector_webhook_clear(struct connector_webhook *w);

/* For the parse_webhook implementations: *ret_root (new reference) is the
 * body as a JSON object; else TS_E_INVALID "webhook body: line L column C:
 * ..." or "webhook body: $: not a JSON object". */
int connector_webhook_json(const char *body, size_t body_len, json_t **ret_root,
                           struct ts_err *err);

/* TS_E_INVALID "webhook body: PATH: missing or not WHAT" ("a string", "an
 * object"). Returns the error. */
int connector_webhook_missing(struct ts_err *err, const char *path, const char *what);

/* An authenticated delivery req (webhook_authenticate) for connector c, read
 * by its tracker's parse_webhook and handed to the engine as the event
 * webhook_apply takes (webhook_event_new). Returns 0 and *ret_ev (new; free
 * with webhook_event_free), or parse_webhook's TS_E_INVALID naming the JSON
 * path. */
int connector_webhook_event(const struct config_connector *c, const struct webhook_request *req,
                            struct webhook_event **ret_ev, struct ts_err *err);

#endif
