/* SPDX-License-Identifier: Apache-2.0 */
/* Webhook deliveries: authentication, de-duplication, self-caused and
 * out-of-order events in the engine (engine/tracking/webhook.c), and the
 * reading of Jira and GitLab bodies by their connectors (parse_webhook, the
 * project's own fixtures and the real recorded ones) handed to the engine. */
#include <errno.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/connector.h"
#include "connectors/gitlab_internal.h"
#include "connectors/jira_internal.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/ticket_source.h"
#include "engine/tracking/webhook.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

#define SECRET "whsec-Q2x9-never-logged"
static const char *NOW = "2026-11-22T10:00:00.000Z";

static struct config_connector jira_conn(char *secret)
{
	struct config_connector c = {.name = "jira",
	                             .type = CONFIG_CONNECTOR_JIRA,
	                             .flavor = CONFIG_JIRA_CLOUD,
	                             .base_url = "https://x.example",
	                             .email = "threatsync@example.com"};
	c.webhook_secret.value = secret;
	return c;
}

static struct config_connector gitlab_conn(char *secret)
{
	struct config_connector c = {
	    .name = "gl", .type = CONFIG_CONNECTOR_GITLAB, .base_url = "https://gitlab.example"};
	c.webhook_secret.value = secret;
	return c;
}

static void sign(const char *secret, const char *body, char out[80])
{
	unsigned char md[32];
	unsigned int n = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body),
	     md, &n);
	strcpy(out, "sha256=");
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static struct webhook_request jira_req(const char *body, const char *sig, const char *url_secret)
{
	struct webhook_request r = {.source = WEBHOOK_JIRA,
	                            .signature = sig,
	                            .url_secret = url_secret,
	                            .body = body,
	                            .body_len = body ? strlen(body) : 0};
	return r;
}

static void test_jira_signature(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector c = jira_conn(secret);
	const char *body = "{\"webhookEvent\":\"jira:issue_updated\"}";
	char good[80], other[80];
	sign(SECRET, body, good);
	sign("another-secret", body, other);
	struct ts_err err = {0};

	struct webhook_request r = jira_req(body, NULL, NULL);
	assert_int_equal(webhook_authenticate(&c, &r, &err), -EACCES);
	assert_int_equal(err.code, TS_E_DENIED);
	assert_non_null(strstr(err.msg, "missing X-Hub-Signature"));

	r = jira_req(body, other, NULL);
	assert_int_equal(webhook_check_headers(&c, &r, &err), 0); /* needs the body */
	assert_int_equal(webhook_authenticate(&c, &r, &err), -EACCES);
	assert_non_null(strstr(err.msg, "does not match"));

	r = jira_req(body, good, NULL);
	assert_int_equal(webhook_authenticate(&c, &r, &err), 0);
	/* Upper-case hex is the same signature; a changed body is not. */
	char upper[80];
	strcpy(upper, good);
	for (char *p = upper + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	r = jira_req(body, upper, NULL);
	assert_int_equal(webhook_authenticate(&c, &r, &err), 0);
	r = jira_req("{\"webhookEvent\":\"jira:issue_created\"}", good, NULL);
	assert_int_equal(webhook_authenticate(&c, &r, &err), -EACCES);

	const char *bad[] = {"sha1=abcdef", "sha256=", "sha256=zz", good + 7};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad); i++) {
		r = jira_req(body, bad[i], NULL);
		assert_int_equal(webhook_check_headers(&c, &r, &err), -EACCES);
		assert_non_null(strstr(err.msg, "malformed"));
	}
	/* No message ever carries the secret or the signature. */
	assert_null(strstr(err.msg, SECRET));
	assert_null(strstr(err.msg, good + 7));
}

static void test_jira_url_secret(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector c = jira_conn(secret);
	const char *body = "{}";
	char good[80];
	sign(SECRET, body, good);
	struct ts_err err = {0};
	struct webhook_request r = jira_req(body, NULL, SECRET);
	assert_int_equal(webhook_check_headers(&c, &r, &err), 0);
	assert_int_equal(webhook_authenticate(&c, &r, &err), 0);
	r = jira_req(body, NULL, "whsec-Q2x9-never-logge");
	assert_int_equal(webhook_check_headers(&c, &r, &err), -EACCES);
	assert_non_null(strstr(err.msg, "secret URL parameter"));
	/* A wrong URL secret is not excused by a right signature. */
	r = jira_req(body, good, "wrong");
	assert_int_equal(webhook_authenticate(&c, &r, &err), -EACCES);
	r = jira_req(body, good, SECRET);
	assert_int_equal(webhook_authenticate(&c, &r, &err), 0);
}

static void test_gitlab_token_and_routing(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector gl = gitlab_conn(secret);
	struct config_connector jira = jira_conn(secret);
	struct config_connector nosecret = gitlab_conn(NULL);
	struct ts_err err = {0};
	struct webhook_request r = {.source = WEBHOOK_GITLAB, .body = "{}", .body_len = 2};
	assert_int_equal(webhook_authenticate(&gl, &r, &err), -EACCES);
	assert_non_null(strstr(err.msg, "missing X-Gitlab-Token"));
	r.token = "whsec-Q2x9-never-loggedX";
	assert_int_equal(webhook_authenticate(&gl, &r, &err), -EACCES);
	r.token = SECRET;
	assert_int_equal(webhook_authenticate(&gl, &r, &err), 0);
	/* A GitLab hook on a Jira connector, or a connector without a secret,
	 * is not an endpoint at all. */
	assert_int_equal(webhook_authenticate(&jira, &r, &err), -ENOENT);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	assert_int_equal(webhook_authenticate(&nosecret, &r, &err), -ENOENT);
	assert_int_equal(webhook_authenticate(NULL, &r, &err), -ENOENT);
	assert_false(webhook_accepts(&gl, WEBHOOK_JIRA));
	assert_true(webhook_accepts(&gl, WEBHOOK_GITLAB));
}

/* ------------------------------------------------------------ parsing */

static char *jira_body(const char *event, const char *user_email, const char *key,
                       const char *marker, const char *status, const char *category,
                       const char *resolution, const char *updated)
{
	json_t *labels = json_pack("[s]", "threatsync");
	if (marker)
		json_array_append_new(labels, json_string(marker));
	json_t *doc = json_pack(
	    "{s:I, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:{s:o, s:{s:s, s:{s:s}}, s:o, "
	    "s:s}}, s:{s:s}}",
	    "timestamp", (json_int_t)1700000000000, "webhookEvent", event, "issue_event_type_name",
	    "issue_generic", "user", "emailAddress", user_email, "name", "alice", "displayName",
	    "Alice", "issue", "id", "10001", "key", key, "fields", "labels", labels, "status",
	    "name", status, "statusCategory", "key", category, "resolution",
	    resolution ? json_pack("{s:s}", "name", resolution) : json_null(), "updated", updated,
	    "comment", "body", "accepted: compensating control in place");
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

static char *gitlab_body(const char *path, int iid, const char *state, const char *marker,
                         const char *scoped, const char *updated, const char *username)
{
	json_t *labels = json_array();
	json_array_append_new(labels, json_pack("{s:i, s:s}", "id", 1, "title", "threatsync"));
	if (marker)
		json_array_append_new(labels, json_pack("{s:i, s:s}", "id", 2, "title", marker));
	if (scoped)
		json_array_append_new(labels, json_pack("{s:i, s:s}", "id", 3, "title", scoped));
	json_t *doc = json_pack(
	    "{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:i, s:i, s:s, s:s, s:s, s:s}, "
	    "s:o}",
	    "object_kind", "issue", "event_type", "issue", "user", "username", username, "project",
	    "path_with_namespace", path, "object_attributes", "id", 9000 + iid, "iid", iid, "state",
	    state, "action", strcmp(state, "closed") == 0 ? "close" : "update", "updated_at",
	    updated, "url", "https://gitlab.example/x", "labels", labels);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

static struct webhook_event *parse(const struct config_connector *c, enum webhook_source src,
                                   const char *body, const char *delivery)
{
	struct webhook_request r = {
	    .source = src, .delivery_id = delivery, .body = body, .body_len = strlen(body)};
	struct webhook_event *ev = NULL;
	struct ts_err err = {0};
	int rc = connector_webhook_event(c, &r, &ev, &err);
	if (rc < 0)
		fail_msg("connector_webhook_event: %s", err.msg);
	return ev;
}

static void test_parse_jira(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector c = jira_conn(secret);
	char *body = jira_body("jira:issue_updated", "bob@example.com", "SEC-7",
	                       "threatsync-0123456789abcdef", "Won't Do", "done", "Won't Do",
	                       "2026-11-22T11:00:00.000+0100");
	struct webhook_event *ev = parse(&c, WEBHOOK_JIRA, body, "d-1");
	assert_true(ev->relevant);
	assert_false(ev->self_actor);
	assert_string_equal(ev->delivery_id, "d-1");
	assert_string_equal(ev->event, "jira:issue_updated");
	assert_string_equal(ev->remote.connector, "jira");
	assert_string_equal(ev->remote.key, "SEC-7");
	assert_string_equal(ev->remote.id, "10001");
	assert_string_equal(ev->remote.url, "https://x.example/browse/SEC-7");
	assert_string_equal(ev->remote.marker, "threatsync-0123456789abcdef");
	assert_string_equal(ev->remote.status, "Won't Do");
	assert_string_equal(ev->remote.status_category, "done");
	assert_string_equal(ev->remote.resolution, "Won't Do");
	assert_string_equal(ev->remote.updated, "2026-11-22T11:00:00.000+0100");
	assert_string_equal(ev->remote.actor, "bob@example.com");
	assert_string_equal(ev->remote.comment, "accepted: compensating control in place");
	webhook_event_free(ev);
	free(body);

	/* The API user (any case of the e-mail) is threatsync itself. */
	body = jira_body("jira:issue_created", "ThreatSync@Example.com", "SEC-8", NULL, "To Do",
	                 "new", NULL, "2026-11-22T10:00:00.000+0000");
	ev = parse(&c, WEBHOOK_JIRA, body, NULL);
	assert_true(ev->relevant);
	assert_true(ev->self_actor);
	assert_null(ev->remote.marker);
	assert_null(ev->remote.resolution);
	/* No delivery id: the body's hash stands in. */
	char hex[65], want[80];
	ts_sha256_hex(body, strlen(body), hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	assert_string_equal(ev->delivery_id, want);
	webhook_event_free(ev);
	free(body);

	/* Other events are acknowledged without effect. */
	ev = parse(&c, WEBHOOK_JIRA, "{\"webhookEvent\":\"comment_created\"}", "x y");
	assert_false(ev->relevant);
	/* An id with a space is not used as sent. */
	assert_int_equal(strncmp(ev->delivery_id, "sha256:", 7), 0);
	webhook_event_free(ev);
}

static void expect_parse_error(const struct config_connector *c, enum webhook_source src,
                               const char *body, const char *needle)
{
	struct webhook_request r = {.source = src, .body = body, .body_len = strlen(body)};
	struct webhook_event *ev = NULL;
	struct ts_err err = {0};
	assert_true(connector_webhook_event(c, &r, &ev, &err) < 0);
	assert_null(ev);
	assert_int_equal(err.code, TS_E_INVALID);
	if (!strstr(err.msg, needle))
		fail_msg("expected '%s' in '%s'", needle, err.msg);
}

static void test_parse_errors(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector j = jira_conn(secret);
	struct config_connector g = gitlab_conn(secret);
	expect_parse_error(&j, WEBHOOK_JIRA, "{\"webhookEvent\":", "webhook body: line 1");
	expect_parse_error(&j, WEBHOOK_JIRA, "[1]", "webhook body: $: not a JSON object");
	expect_parse_error(&j, WEBHOOK_JIRA, "{}", "$.webhookEvent: missing");
	expect_parse_error(&j, WEBHOOK_JIRA, "{\"webhookEvent\":\"jira:issue_updated\"}",
	                   "$.issue: missing or not an object");
	expect_parse_error(&j, WEBHOOK_JIRA,
	                   "{\"webhookEvent\":\"jira:issue_updated\",\"issue\":{\"key\":\"A-1\","
	                   "\"fields\":{\"updated\":\"2026-01-01T00:00:00.000+0000\"}}}",
	                   "$.issue.fields.status.name: missing or not a string");
	expect_parse_error(&j, WEBHOOK_JIRA,
	                   "{\"webhookEvent\":\"jira:issue_created\",\"issue\":{\"fields\":{}}}",
	                   "$.issue.key: missing or not a string");
	expect_parse_error(&j, WEBHOOK_JIRA,
	                   "{\"webhookEvent\":\"jira:issue_created\",\"issue\":{\"key\":\"A-1\"}}",
	                   "$.issue.fields: missing or not an object");
	expect_parse_error(&j, WEBHOOK_JIRA,
	                   "{\"webhookEvent\":\"jira:issue_updated\",\"issue\":{\"key\":\"A-1\","
	                   "\"fields\":{\"status\":{\"name\":\"Done\"}}}}",
	                   "$.issue.fields.updated: missing or not a string");
	expect_parse_error(&g, WEBHOOK_GITLAB, "{\"object_kind\":\"issue\"}",
	                   "$.object_attributes: missing");
	expect_parse_error(&g, WEBHOOK_GITLAB,
	                   "{\"object_kind\":\"issue\",\"object_attributes\":{\"iid\":\"3\"}}",
	                   "$.object_attributes.iid: missing or not an integer");
	expect_parse_error(&g, WEBHOOK_GITLAB,
	                   "{\"object_kind\":\"issue\",\"project\":{\"path_with_namespace\":"
	                   "\"a/b\"},\"object_attributes\":{\"iid\":3,\"updated_at\":\"x\"}}",
	                   "$.object_attributes.state: missing or not a string");
	expect_parse_error(&g, WEBHOOK_GITLAB,
	                   "{\"object_kind\":\"issue\",\"project\":{\"path_with_namespace\":"
	                   "\"a/b\"},\"object_attributes\":{\"iid\":3,\"state\":\"opened\"}}",
	                   "$.object_attributes.updated_at: missing or not a string");
	expect_parse_error(&g, WEBHOOK_GITLAB,
	                   "{\"object_kind\":\"issue\",\"object_attributes\":{\"iid\":3,"
	                   "\"state\":\"opened\",\"updated_at\":\"x\"}}",
	                   "$.project.path_with_namespace");
}

static void test_parse_gitlab(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector c = gitlab_conn(secret);
	char *body = gitlab_body("acme/shop", 4, "opened", "threatsync-00ff00ff00ff00ff",
	                         "workflow::In Progress", "2026-11-22 10:00:05 UTC", "alice");
	struct webhook_event *ev = parse(&c, WEBHOOK_GITLAB, body, "uuid-1");
	assert_true(ev->relevant);
	assert_false(ev->self_actor);
	assert_string_equal(ev->event, "issue/update");
	assert_string_equal(ev->remote.key, "acme/shop#4");
	assert_string_equal(ev->remote.id, "9004");
	assert_string_equal(ev->remote.marker, "threatsync-00ff00ff00ff00ff");
	assert_string_equal(ev->remote.status, "opened");
	assert_string_equal(ev->remote.status_category, "indeterminate");
	assert_string_equal(ev->remote.actor, "alice");
	webhook_event_free(ev);
	free(body);
	body = gitlab_body("acme/shop", 4, "closed", NULL, "workflow::in-progress",
	                   "2026-11-22 10:00:05 UTC", "alice");
	ev = parse(&c, WEBHOOK_GITLAB, body, "uuid-2");
	assert_string_equal(ev->remote.status_category, "done");
	assert_null(ev->remote.marker);
	webhook_event_free(ev);
	free(body);
	ev = parse(&c, WEBHOOK_GITLAB, "{\"object_kind\":\"note\"}", "uuid-3");
	assert_false(ev->relevant);
	assert_string_equal(ev->event, "note/-");
	webhook_event_free(ev);
}

/* Only marker_valid's markers are markers: a short, long or upper-case
 * "threatsync-" label on a delivery is not one. */
static void test_parse_markers_strict(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector j = jira_conn(secret);
	struct config_connector g = gitlab_conn(secret);
	const char *not_markers[] = {"threatsync-00ff", "threatsync-0123456789ABCDEF",
	                             "threatsync-0123456789abcdef0", "threatsync-bot"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(not_markers); i++) {
		char *body = jira_body("jira:issue_updated", "bob@example.com", "SEC-7",
		                       not_markers[i], "To Do", "new", NULL,
		                       "2026-11-22T11:00:00.000+0100");
		struct webhook_event *ev = parse(&j, WEBHOOK_JIRA, body, NULL);
		assert_null(ev->remote.marker);
		webhook_event_free(ev);
		free(body);
		body = gitlab_body("acme/shop", 4, "opened", not_markers[i], NULL,
		                   "2026-11-22 10:00:05 UTC", "alice");
		ev = parse(&g, WEBHOOK_GITLAB, body, NULL);
		assert_null(ev->remote.marker);
		webhook_event_free(ev);
		free(body);
	}
}

/* A webhook's issue and a REST answer's issue are read by the same code:
 * the connector's parse_webhook and its REST reader agree on the same
 * issue. */
static void test_parse_same_reader(void **state)
{
	(void)state;
	char secret[] = SECRET;
	struct config_connector j = jira_conn(secret);
	char *body = jira_body("jira:issue_updated", "bob@example.com", "SEC-7",
	                       "threatsync-0123456789abcdef", "In Review", "indeterminate", NULL,
	                       "2026-11-22T11:00:00.000+0100");
	struct connector_webhook w = {0};
	struct ts_err err = {0};
	assert_int_equal(jira_connector_ops.parse_webhook(&j, body, strlen(body), &w, &err), 0);
	json_t *root = json_loads(body, 0, NULL);
	struct remote_issue rest = {0};
	jira_issue_read(&j, json_object_get(root, "issue"), &rest);
	assert_string_equal(w.issue.key, rest.key);
	assert_string_equal(w.issue.id, rest.id);
	assert_string_equal(w.issue.url, rest.url);
	assert_string_equal(w.issue.marker, rest.marker);
	assert_string_equal(w.issue.status, rest.status);
	assert_string_equal(w.issue.status_category, rest.status_category);
	assert_string_equal(w.issue.updated, rest.updated);
	assert_string_equal(w.event, "jira:issue_updated");
	assert_true(w.relevant);
	assert_false(w.self_actor);
	assert_string_equal(w.issue.actor, "bob@example.com");
	remote_issue_clear(&rest);
	connector_webhook_clear(&w);
	json_decref(root);
	free(body);

	/* GitLab: the hook's object_attributes is read by gitlab_issue_parse;
	 * its labels come as objects, mapped by the one status mapping. */
	struct config_connector g = gitlab_conn(secret);
	body = gitlab_body("acme/shop", 4, "opened", "threatsync-0123456789abcdef",
	                   "workflow::doing", "2026-11-22 10:00:05 UTC", "alice");
	assert_int_equal(gitlab_connector_ops.parse_webhook(&g, body, strlen(body), &w, &err), 0);
	root = json_loads(body, 0, NULL);
	const json_t *labels = json_object_get(root, "labels");
	assert_string_equal(w.issue.status_category, gitlab_status_category("opened", labels));
	assert_string_equal(w.issue.status_category, "indeterminate");
	assert_string_equal(w.issue.marker, gitlab_labels_marker(labels));
	assert_string_equal(w.issue.key, "acme/shop#4");
	assert_false(w.self_actor);
	assert_null(w.comment);
	connector_webhook_clear(&w);
	json_decref(root);
	free(body);

	/* A failed reading leaves nothing behind. */
	assert_true(gitlab_connector_ops.parse_webhook(&g, "{\"object_kind\":\"issue\"}", 23, &w,
	                                               &err) < 0);
	assert_null(w.event);
	assert_null(w.issue.key);
}

/* A real recorded body from tests/data/contract (see PROVENANCE.md there);
 * a missing recording fails the test rather than skipping it. */
static char *contract(const char *rel)
{
	char *path = ts_asprintf("%s/tests/data/contract/%s", tu_env("TS_SOURCE_DIR"), rel);
	char *text = tu_read_file(path);
	if (!text)
		print_message("cannot read the recorded body %s\n", path);
	free(path);
	if (!text)
		fail();
	return text;
}

static void test_contract_jira(void **state)
{
	(void)state;
	char *body = contract("jira/webhook_jira_issue_updated_server_defectdojo.json");
	if (!body)
		skip();
	char secret[] = SECRET;
	struct config_connector c = jira_conn(secret);
	struct webhook_event *ev = parse(&c, WEBHOOK_JIRA, body, "real-1");
	assert_true(ev->relevant);
	assert_false(ev->self_actor);
	assert_string_equal(ev->event, "jira:issue_updated");
	assert_string_equal(ev->remote.key, "ISEC-277");
	assert_string_equal(ev->remote.id, "2");
	assert_string_equal(ev->remote.status, "Closed");
	assert_string_equal(ev->remote.status_category, "new");
	assert_string_equal(ev->remote.resolution, "Cancelled");
	assert_string_equal(ev->remote.updated, "2020-11-11T18:54:32.155+0100");
	/* The recorded user's "emailAddress " key has a stray space: the
	 * user name is the actor. */
	assert_string_equal(ev->remote.actor, "valentijn");
	assert_null(ev->remote.marker);
	webhook_event_free(ev);
	free(body);
}

static void test_contract_gitlab(void **state)
{
	(void)state;
	char *body = contract("gitlab/go-gitlab_webhooks_issue.json");
	if (!body)
		skip();
	char secret[] = SECRET;
	struct config_connector c = gitlab_conn(secret);
	struct webhook_event *ev = parse(&c, WEBHOOK_GITLAB, body, "real-2");
	assert_true(ev->relevant);
	assert_string_equal(ev->event, "issue/open");
	assert_string_equal(ev->remote.key, "gitlabhq/gitlab-test#23");
	assert_string_equal(ev->remote.id, "301");
	assert_string_equal(ev->remote.url, "http://example.com/diaspora/issues/23");
	assert_string_equal(ev->remote.status, "opened");
	assert_string_equal(ev->remote.status_category, "new");
	assert_string_equal(ev->remote.updated, "2013-12-03T17:15:43Z");
	assert_string_equal(ev->remote.actor, "root");
	assert_null(ev->remote.marker);
	webhook_event_free(ev);
	free(body);
	body = contract("gitlab/go-gitlab_webhooks_note_issue.json");
	if (!body)
		skip();
	ev = parse(&c, WEBHOOK_GITLAB, body, "real-3");
	assert_false(ev->relevant);
	webhook_event_free(ev);
	free(body);
}

static void test_time_cmp(void **state)
{
	(void)state;
	int cmp = 99;
	assert_int_equal(
	    webhook_time_cmp("2026-11-22T11:00:00.000+0100", "2026-11-22T10:00:00Z", &cmp), 0);
	assert_int_equal(cmp, 0);
	assert_int_equal(
	    webhook_time_cmp("2026-11-22 10:00:05 UTC", "2026-11-22T10:00:05.900Z", &cmp), 0);
	assert_int_equal(cmp, 0); /* whole seconds against milliseconds */
	assert_int_equal(
	    webhook_time_cmp("2026-11-22T10:00:05.100Z", "2026-11-22T10:00:05.900Z", &cmp), 0);
	assert_true(cmp < 0);
	assert_int_equal(
	    webhook_time_cmp("2026-11-22T10:00:06-05:30", "2026-11-22T10:00:05Z", &cmp), 0);
	assert_true(cmp > 0);
	assert_int_equal(webhook_time_cmp("yesterday", "2026-11-22T10:00:05Z", &cmp), -EINVAL);
	assert_int_equal(webhook_time_cmp("2026-13-22T10:00:05Z", "2026-11-22T10:00:05Z", &cmp),
	                 -EINVAL);
}

/* ------------------------------------------------------------ apply */

struct linked {
	struct gu g;
	char marker[80];
	int64_t cm;
};

/* A generated project whose first task is linked to acme/shop#1 (opened,
 * updated 2026-11-22T10:00:00.000Z). */
static void open_linked(struct linked *l)
{
	char *conf = ts_asprintf("%s/tests/data/generate/gen.conf", tu_env("TS_SOURCE_DIR"));
	char *model = ts_asprintf("%s/tests/data/generate/shop.json", tu_env("TS_SOURCE_DIR"));
	gu_open(&l->g, conf);
	gu_import(&l->g, "tracked", model);
	json_decref(gu_generate(&l->g, "tracked", "2026-11-01T00:00:00.000Z"));
	free(conf);
	free(model);
	struct outbox_op *ops = NULL;
	size_t n = 0;
	struct ts_err err = {0};
	assert_int_equal(outbox_claim(l->g.s, "gl", 1000, 1, NOW, &ops, &n, &err), 0);
	assert_int_equal(n, 1);
	struct ticket_source *t = NULL;
	assert_int_equal(ticket_source_load(l->g.s, ops[0].countermeasure_id, &t, &err), 0);
	snprintf(l->marker, sizeof(l->marker), "%s", t->marker);
	l->cm = ops[0].countermeasure_id;
	struct outbox_remote r = {.connector = "gl",
	                          .key = "acme/shop#1",
	                          .id = "1",
	                          .url = "http://x/1",
	                          .marker = t->marker,
	                          .status = "opened",
	                          .status_category = "new",
	                          .updated = "2026-11-22T10:00:00.000Z"};
	assert_int_equal(
	    outbox_link(l->g.s, &ops[0], t->marker, &r, t->content_hash, NOW, NULL, &err), 0);
	ticket_source_free(t);
	outbox_ops_free(ops, n);
}

static enum webhook_outcome apply(struct linked *l, const struct config_connector *c,
                                  const char *body, const char *delivery, int *ret_changed)
{
	struct webhook_event *ev = parse(
	    c, c->type == CONFIG_CONNECTOR_JIRA ? WEBHOOK_JIRA : WEBHOOK_GITLAB, body, delivery);
	struct ts_err err = {0};
	struct webhook_result res;
	assert_int_equal(store_begin(l->g.s), 0);
	int rc = webhook_apply(l->g.s, c->fieldmap, ev, "2026-11-22T12:00:00.000Z", &res, &err);
	if (rc < 0)
		fail_msg("webhook_apply: %s", err.msg);
	assert_int_equal(store_commit(l->g.s), 0);
	webhook_event_free(ev);
	if (ret_changed)
		*ret_changed = res.apply.changed;
	return res.outcome;
}

static long long history(struct linked *l)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld AND "
	         "source = 'webhook'",
	         (long long)l->cm);
	return gu_int(&l->g, sql);
}

static void test_apply_dedup_and_order(void **state)
{
	(void)state;
	struct linked l;
	open_linked(&l);
	char secret[] = SECRET;
	struct config_connector c = gitlab_conn(secret);
	char *closed = gitlab_body("acme/shop", 1, "closed", l.marker, NULL,
	                           "2026-11-22 10:05:00 UTC", "alice");
	int changed = -1;
	assert_int_equal(apply(&l, &c, closed, "u-1", &changed), WEBHOOK_APPLIED);
	assert_int_equal(changed, 1);
	assert_int_equal(history(&l), 1);
	char sql[300];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld AND "
	         "from_status = 'todo' AND to_status = 'done' AND actor = 'alice' AND "
	         "remote_time = '2026-11-22 10:05:00 UTC'",
	         (long long)l.cm);
	assert_int_equal(gu_int(&l.g, sql), 1);

	/* The same delivery again: recorded once, nothing applied. */
	assert_int_equal(apply(&l, &c, closed, "u-1", NULL), WEBHOOK_REPLAYED);
	assert_int_equal(gu_int(&l.g, "SELECT count(*) FROM webhook_deliveries"), 1);
	/* The same change under another id (a re-sent hook, or a poll that saw
	 * it first): not applied twice. */
	assert_int_equal(apply(&l, &c, closed, "u-2", NULL), WEBHOOK_SEEN);
	/* An older event arriving late must not undo the newer one. */
	char *older = gitlab_body("acme/shop", 1, "opened", l.marker, "x::doing",
	                          "2026-11-22 10:03:00 UTC", "bob");
	assert_int_equal(apply(&l, &c, older, "u-0", NULL), WEBHOOK_STALE);
	assert_int_equal(history(&l), 1);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures WHERE id = %lld AND "
	         "status = 'done'",
	         (long long)l.cm);
	assert_int_equal(gu_int(&l.g, sql), 1);
	/* A newer reopen is applied. */
	char *reopened =
	    gitlab_body("acme/shop", 1, "opened", l.marker, NULL, "2026-11-22 10:09:00 UTC", "bob");
	assert_int_equal(apply(&l, &c, reopened, "u-3", &changed), WEBHOOK_APPLIED);
	assert_int_equal(changed, 1);
	assert_int_equal(history(&l), 2);
	/* Unknown tickets and other events change nothing but are recorded. */
	char *stranger =
	    gitlab_body("acme/other", 77, "closed", NULL, NULL, "2026-11-22 10:10:00 UTC", "bob");
	assert_int_equal(apply(&l, &c, stranger, "u-4", NULL), WEBHOOK_UNMATCHED);
	assert_int_equal(apply(&l, &c, "{\"object_kind\":\"note\"}", "u-5", NULL), WEBHOOK_IGNORED);
	assert_int_equal(gu_int(&l.g, "SELECT count(*) FROM webhook_deliveries"), 6);
	assert_int_equal(history(&l), 2);

	/* Pruning forgets old deliveries only. */
	int n = -1;
	struct ts_err err = {0};
	assert_int_equal(webhook_prune(l.g.s, "2026-11-22T12:00:00.000Z", &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(webhook_prune(l.g.s, "2026-11-22T12:00:00.001Z", &n, &err), 0);
	assert_int_equal(n, 6);
	free(closed);
	free(older);
	free(reopened);
	free(stranger);
	gu_close(&l.g);
}

static void test_apply_self_caused(void **state)
{
	(void)state;
	struct linked l;
	open_linked(&l);
	char secret[] = SECRET;
	struct config_connector c = gitlab_conn(secret);
	/* GitLab: the token's user is not configured; the update time the sync
	 * stored after its own write (10:00:00.000Z) identifies the echo even
	 * at the hook's whole-second precision. */
	char *echo = gitlab_body("acme/shop", 1, "closed", l.marker, NULL,
	                         "2026-11-22 10:00:00 UTC", "threatsync-bot");
	assert_int_equal(apply(&l, &c, echo, "e-1", NULL), WEBHOOK_SEEN);
	assert_int_equal(history(&l), 0);
	free(echo);

	/* Jira: the actor is the API user. */
	struct config_connector j = jira_conn(secret);
	j.name = "gl"; /* the linked ticket belongs to connector "gl" */
	char *mine = jira_body("jira:issue_updated", "threatsync@example.com", "acme/shop#1",
	                       l.marker, "Done", "done", "Done", "2026-11-22T10:30:00.000+0000");
	assert_int_equal(apply(&l, &j, mine, "e-2", NULL), WEBHOOK_SELF);
	assert_int_equal(history(&l), 0);
	char *human = jira_body("jira:issue_updated", "carol@example.com", "acme/shop#1", l.marker,
	                        "Done", "done", "Done", "2026-11-22T10:31:00.000+0000");
	assert_int_equal(apply(&l, &j, human, "e-3", NULL), WEBHOOK_APPLIED);
	assert_int_equal(history(&l), 1);
	free(mine);
	free(human);
	gu_close(&l.g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jira_signature),
	    cmocka_unit_test(test_jira_url_secret),
	    cmocka_unit_test(test_gitlab_token_and_routing),
	    cmocka_unit_test(test_parse_jira),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_gitlab),
	    cmocka_unit_test(test_parse_markers_strict),
	    cmocka_unit_test(test_parse_same_reader),
	    cmocka_unit_test(test_contract_jira),
	    cmocka_unit_test(test_contract_gitlab),
	    cmocka_unit_test(test_time_cmp),
	    cmocka_unit_test(test_apply_dedup_and_order),
	    cmocka_unit_test(test_apply_self_caused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
