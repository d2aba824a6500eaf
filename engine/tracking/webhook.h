/* SPDX-License-Identifier: Apache-2.0 */
/* Tracker webhooks without the network: authenticating a delivery (Jira HMAC
 * signature or URL secret, GitLab token), de-duplicating deliveries, and
 * applying them through the same code as polling (outbox_apply_remote). What
 * a body means is the connectors' business (connector_ops.parse_webhook);
 * the engine takes their reading as a webhook_event. */
#ifndef TS_ENGINE_WEBHOOK_H
#define TS_ENGINE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"
#include "engine/store/store.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/remote_apply.h"
#include "engine/util.h"

enum webhook_source { WEBHOOK_JIRA, WEBHOOK_GITLAB };

/* Longest delivery id kept as sent; a longer, empty or unprintable one (or
 * none) is replaced by "sha256:<hex of the body>". */
#define WEBHOOK_DELIVERY_ID_MAX 128

/* Deliveries are remembered this long for de-duplication (Jira retries for a
 * few hours at most). */
#define WEBHOOK_DELIVERY_KEEP_DAYS 7

/* What the HTTP layer read from a request. All borrowed; absent headers and
 * parameters are NULL. */
struct webhook_request {
	enum webhook_source source;
	const char *signature;   /* Jira: X-Hub-Signature ("sha256=<hex>") */
	const char *url_secret;  /* Jira: the `secret` query parameter (setups without signing) */
	const char *token;       /* GitLab: X-Gitlab-Token */
	const char *delivery_id; /* X-Atlassian-Webhook-Identifier / X-Gitlab-Event-UUID */
	const char *body;        /* the raw body; may be NULL when body_len is 0 */
	size_t body_len;
};

/* Whether connector c takes webhooks from source: its type matches and it has
 * a webhook secret. */
bool webhook_accepts(const struct config_connector *c, enum webhook_source source);

/* The checks that need no body, so a request that cannot succeed is refused
 * before it is read: returns 0 when the request may go on (a Jira signature
 * is verified by webhook_authenticate once the body is there), -ENOENT
 * (TS_E_NOTFOUND) when c does not take webhooks from req->source, -EACCES
 * (TS_E_DENIED) when the credential is missing, malformed or (token, URL
 * secret) wrong. Messages never contain a secret or a signature. */
int webhook_check_headers(const struct config_connector *c, const struct webhook_request *req,
                          struct ts_err *err);

/* The whole check: webhook_check_headers, then for Jira with a signature
 * header the HMAC-SHA256 of the raw body with the secret, compared in
 * constant time (a signature, when present, must be right even if the URL
 * secret is too). Same returns. */
int webhook_authenticate(const struct config_connector *c, const struct webhook_request *req,
                         struct ts_err *err);

/* A delivery ready to apply. All strings owned by the event
 * (webhook_event_free); remote's pointers point into them. */
struct webhook_event {
	char *connector;
	char *delivery_id; /* the header's id, or "sha256:<hex of the body>" */
	char *event;       /* "jira:issue_updated", "issue/update", ... */
	bool relevant;     /* an issue event to apply; false: acknowledged, nothing done */
	bool self_actor;   /* the actor is the connector's API user (Jira: cfg email) */
	struct outbox_remote remote;
	char *strings[10]; /* storage behind remote */
};

/* What the tracker's connector read from a delivery body (its
 * parse_webhook), in the engine's terms. All borrowed. */
struct webhook_facts {
	const char *event;
	bool relevant;
	bool self_actor;
	/* Relevant events: the ticket's state. connector and task_status are
	 * ignored: webhook_event_new sets them. */
	struct outbox_remote remote;
};

/* The event of an authenticated delivery req for connector c (borrowed; its
 * name is copied) as facts tell it: strings copied, the delivery id taken
 * from req (or "sha256:<hex of the body>" when it is missing, empty,
 * unprintable or longer than WEBHOOK_DELIVERY_ID_MAX), the task status from
 * c's status_map. New; never NULL. */
struct webhook_event *webhook_event_new(const struct config_connector *c,
                                        const struct webhook_request *req,
                                        const struct webhook_facts *facts);

void webhook_event_free(struct webhook_event *ev); /* NULL is a no-op */

/* What webhook_apply did. */
enum webhook_outcome {
	WEBHOOK_APPLIED,   /* given to outbox_apply_remote (see apply for the effect) */
	WEBHOOK_REPLAYED,  /* the delivery id was seen before: nothing done */
	WEBHOOK_IGNORED,   /* not an issue event threatsync applies */
	WEBHOOK_SELF,      /* caused by threatsync's own write (the actor is the API user) */
	WEBHOOK_SEEN,      /* the ticket already has this change (same update time: our own
	                    * write recorded by the sync, or a poll saw it first) */
	WEBHOOK_STALE,     /* older than the ticket's stored update time (out of order) */
	WEBHOOK_UNMATCHED, /* not a ticket of ours */
};

struct webhook_result {
	enum webhook_outcome outcome;
	struct outbox_apply apply; /* for WEBHOOK_APPLIED */
};

/* Records the delivery in webhook_deliveries and, unless it was recorded
 * before, applies it: self-caused, already seen and stale events are not
 * applied; the others go through outbox_apply_remote with source "webhook"
 * and fm, the fieldmap of ev's connector in the configuration in force now
 * (borrowed; NULL: none). Call inside a transaction (store_begin). now is an ISO time. */
int webhook_apply(struct store *s, const struct fieldmap *fm, const struct webhook_event *ev,
                  const char *now, struct webhook_result *ret, struct ts_err *err);

/* A short name of an outcome for logs ("applied", "replayed", ...). Static. */
const char *webhook_outcome_name(enum webhook_outcome outcome);

/* Forgets deliveries received before `before` (an ISO time). *ret_n (may be
 * NULL) receives how many. */
int webhook_prune(struct store *s, const char *before, int *ret_n, struct ts_err *err);

/* Compares two tracker timestamps (ISO 8601 with 'T' or ' ', optional
 * fraction, zone Z, +HHMM, +HH:MM or " UTC") as instants, at the coarser of
 * their precisions (GitLab hooks carry whole seconds, its API milliseconds).
 * Returns 0 and *ret_cmp < 0, 0 or > 0; -EINVAL when either does not parse. */
int webhook_time_cmp(const char *a, const char *b, int *ret_cmp);

#endif
