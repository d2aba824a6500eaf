/* SPDX-License-Identifier: Apache-2.0 */
/* threatsyncd's HTTP endpoint as a child process: webhook authentication
 * (missing, wrong and right signatures, URL secret, GitLab token) with the
 * database unchanged on every refusal, replayed deliveries recorded once,
 * routing and bounds (404, 405, 413), /healthz, and the end-to-end path: a
 * human transition in the Jira emulator delivered by the emulator's own
 * webhook, applied once even when the next poll reports it too; threatsync's
 * own writes not echoed; no secret in the log.
 * Timing-bound (waits for deliveries and a poll cycle): TS_NO_VALGRIND. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helpers/daemon_util.h"
#include "helpers/http_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#define HOOK_SECRET "jira-hook-5ecret-DO-NOT-LOG"
#define GITLAB_SECRET "gitlab-hook-5ecret-DO-NOT-LOG"
#define API_TOKEN "emu-token"
#define MAX_BODY 65536

struct fx {
	char *dir;
	char *db;
	int port;
	char base[64];
	struct ju_emu emu;
	struct du_daemon *d;
	sqlite3 *sq;
};

static struct fx *F;

/* ------------------------------------------------------------ helpers */

/* One request to the daemon; returns the status (0 when the connection
 * failed) and the body in *ret_body when not NULL. */
static long call(const char *method, const char *path, const char *const headers[],
                 const char *body, char **ret_body)
{
	struct hu_reply r =
	    hu_request(F->base, method, path, headers, body, body ? strlen(body) : 0, 10000);
	if (ret_body) {
		*ret_body = r.body;
		r.body = NULL;
	}
	long status = r.status;
	hu_reply_free(&r);
	return status;
}

static void sign(const char *secret, const char *body, char out[120])
{
	hu_sign("X-Hub-Signature", secret, body, out, 120);
}

static long long q_int(const char *sql)
{
	return hu_sql_int(F->sq, sql);
}

static char *q_text(const char *sql)
{
	return hu_sql_text(F->sq, sql);
}

/* Everything a webhook could change, as one string. */
static char *fingerprint(void)
{
	return q_text(
	    "SELECT (SELECT count(*) FROM webhook_deliveries) || '|' ||"
	    " (SELECT count(*) FROM status_history) || '|' ||"
	    " (SELECT group_concat(id || ':' || status, ',') FROM countermeasures) || '|' ||"
	    " (SELECT group_concat(id || ':' || ifnull(remote_status, '') || ':' ||"
	    " ifnull(remote_updated, ''), ',') FROM tickets)");
}

static bool wait_for(const char *sql, long long want, int timeout_ms)
{
	return hu_sql_wait(F->sq, sql, want, timeout_ms);
}

static const char MODEL[] =
    "{\"format\": \"threatsync-model/1\",\n"
    " \"project\": {\"name\": \"hooks\", \"description\": \"webhook test\"},\n"
    " \"trust_zones\": [{\"id\": \"internet\", \"name\": \"Internet\", \"trust_level\": 0},\n"
    "                 {\"id\": \"dmz\", \"name\": \"DMZ\", \"trust_level\": 50}],\n"
    " \"components\": [\n"
    "  {\"id\": \"customer\", \"type\": \"user\", \"name\": \"Customer\", \"trust_zone\": "
    "\"internet\"},\n"
    "  {\"id\": \"web\", \"type\": \"web_app\", \"name\": \"Web\", \"trust_zone\": \"dmz\",\n"
    "   \"properties\": {\"internet_facing\": true, \"authenticates_users\": true,"
    " \"handles_pii\": true}}],\n"
    " \"flows\": [{\"id\": \"f1\", \"source\": \"customer\", \"destination\": \"web\", "
    "\"protocol\": \"HTTPS\"}]}\n";

/* ------------------------------------------------------------ setup */

static int group_setup(void **state)
{
	(void)state;
	tu_env("TS_THREATSYNCD");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	F = ts_calloc(1, sizeof(*F));
	F->dir = tu_tmpdir();
	F->db = ts_asprintf("%s/threatsync.db", F->dir);
	F->port = hu_free_port();
	snprintf(F->base, sizeof(F->base), "http://127.0.0.1:%d", F->port);
	ju_emu_start(&F->emu, "cloud", NULL);

	/* The emulator delivers every change to the daemon, signed, each one
	 * twice (the second a retry with the same identifier). */
	char *reg = ts_asprintf("{\"url\": \"%s/hooks/jira/jira\", \"secret\": \"%s\", "
	                        "\"sign\": true, \"duplicate_rate\": 1.0}",
	                        F->base, HOOK_SECRET);
	long st = 0;
	json_decref(ju_emu_call(&F->emu, "POST", "/_emu/webhooks", reg, &st));
	assert_true(st == 200 || st == 201);
	free(reg);

	free(tu_write_file(F->dir, "jira_token", API_TOKEN "\n"));
	free(tu_write_file(F->dir, "jira_hook", HOOK_SECRET "\n"));
	free(tu_write_file(F->dir, "gitlab_hook", GITLAB_SECRET "\n"));
	char *conf_text = ts_asprintf(
	    "database = \"%s\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "log_level = \"debug\";\n"
	    "shutdown_timeout_ms = 2000;\n"
	    "http = { listen = \"127.0.0.1:%d\"; max_body_bytes = %d; };\n"
	    "connectors = (\n"
	    "  { name = \"jira\"; type = \"jira\"; flavor = \"cloud\"; base_url = \"%s\";\n"
	    "    email = \"threatsync@example.com\"; token_file = \"jira_token\";\n"
	    "    webhook_secret_file = \"jira_hook\"; poll_interval_s = 5;\n"
	    "    rate_per_second = 1000.0; burst = 1000; },\n"
	    "  { name = \"nohook\"; type = \"jira\"; flavor = \"cloud\"; base_url = \"%s\";\n"
	    "    email = \"threatsync@example.com\"; token_file = \"jira_token\"; },\n"
	    "  { name = \"gl\"; type = \"gitlab\"; base_url = \"http://127.0.0.1:9\";\n"
	    "    token_file = \"jira_token\"; webhook_secret_file = \"gitlab_hook\"; }\n"
	    ");\n"
	    "projects = ( { slug = \"hooks\"; connector = \"jira\"; tracker_project = \"WRU\"; } "
	    ");\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    F->db, tu_env("TS_SOURCE_DIR"), F->port, MAX_BODY, F->emu.base, F->emu.base);
	char *conf = tu_write_file(F->dir, "threatsync.conf", conf_text);
	free(conf_text);
	char *model = tu_write_file(F->dir, "model.json", MODEL);
	hu_cli_ok(conf, "db", "migrate", NULL);
	hu_cli_ok(conf, "project", "add", "hooks", NULL);
	hu_cli_ok(conf, "model", "import", "hooks", model, NULL);
	hu_cli_ok(conf, "generate", "hooks", NULL);
	free(model);

	assert_int_equal(sqlite3_open_v2(F->db, &F->sq, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(F->sq, 5000);
	long long tasks = q_int("SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_true(tasks >= 2);

	const char *args[] = {"-c", conf, NULL};
	F->d = du_start(F->dir, args, NULL, 0);
	free(conf);
	assert_non_null(du_wait_notify(F->d, "READY=1", 15000));
	/* The daemon's first sync pass creates every ticket. */
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM tickets WHERE remote_key IS NOT NULL AND remote_updated IS "
	         "NOT NULL");
	if (!wait_for(sql, tasks, 30000))
		fail_msg("tickets not linked in time: %lld of %lld", q_int(sql), tasks);
	*state = F;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!F)
		return 0;
	if (F->d && du_alive(F->d)) {
		du_signal(F->d, SIGTERM);
		du_wait_exit(F->d, 10000);
	}
	du_free(F->d);
	ju_emu_stop(&F->emu);
	ju_emu_stop_all();
	sqlite3_close(F->sq);
	tu_rmrf(F->dir);
	free(F->dir);
	free(F->db);
	free(F);
	F = NULL;
	curl_global_cleanup();
	return 0;
}

/* A linked ticket: its key and marker (new strings); nth from the end. */
static void ticket(int nth_last, char **ret_key, char **ret_marker)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT remote_key FROM tickets ORDER BY id DESC LIMIT 1 OFFSET %d", nth_last);
	*ret_key = q_text(sql);
	snprintf(sql, sizeof(sql), "SELECT marker FROM tickets ORDER BY id DESC LIMIT 1 OFFSET %d",
	         nth_last);
	*ret_marker = q_text(sql);
	assert_non_null(*ret_key);
	assert_non_null(*ret_marker);
}

static char *jira_body(const char *key, const char *marker, const char *status,
                       const char *category, const char *actor)
{
	char now[32];
	ts_now_iso(now);
	/* The emulator's zone form: 2026-11-22T10:00:00.000+0000. */
	now[23] = '\0';
	json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:{s:[s, s], s:{s:s, s:{s:s}}, "
	                        "s:n, s:s}}}",
	                        "webhookEvent", "jira:issue_updated", "user", "emailAddress", actor,
	                        "name", "human", "issue", "id", "1", "key", key, "fields", "labels",
	                        "threatsync", marker, "status", "name", status, "statusCategory",
	                        "key", category, "resolution", "updated", "");
	char *upd = ts_asprintf("%s+0000", now);
	json_object_set_new(json_object_get(json_object_get(doc, "issue"), "fields"), "updated",
	                    json_string(upd));
	free(upd);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* ------------------------------------------------------------ cases */

static void test_healthz(void **state)
{
	(void)state;
	char *body = NULL;
	assert_int_equal(call("GET", "/healthz", NULL, NULL, &body), 200);
	json_t *doc = json_loads(body, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(doc, "state")), "running");
	json_decref(doc);
	free(body);
	assert_int_equal(call("HEAD", "/healthz", NULL, NULL, NULL), 200);
	assert_int_equal(call("POST", "/healthz", NULL, "{}", NULL), 405);
	assert_int_equal(call("GET", "/", NULL, NULL, NULL), 404);
	assert_int_equal(call("GET", "/hooks/jira/../../etc/passwd", NULL, NULL, NULL), 404);
}

/* Sends the headers of a POST announcing a huge body, and a little of it:
 * the answer must come without the rest being sent. Returns the status
 * line's code. */
static int huge_post(const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)F->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char *req = ts_asprintf("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
	                        "application/json\r\nContent-Length: 1073741824\r\n\r\n{\"a\":",
	                        path);
	assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	free(req);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int code = 0;
	if (poll(&p, 1, 5000) == 1) {
		char buf[256] = {0};
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n > 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0)
			code = atoi(buf + 9);
	}
	close(fd);
	return code;
}

static void test_refusals_change_nothing(void **state)
{
	(void)state;
	char *key, *marker;
	ticket(0, &key, &marker);
	char *body = jira_body(key, marker, "Done", "done", "mallory@example.com");
	char good[120], wrong[120];
	sign(HOOK_SECRET, body, good);
	sign("not-the-secret", body, wrong);
	char *before = fingerprint();

	const char *id[] = {"X-Atlassian-Webhook-Identifier: refused-1", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", id, body, NULL), 401);
	const char *h_wrong[] = {wrong, id[0], NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h_wrong, body, NULL), 401);
	const char *h_bad[] = {"X-Hub-Signature: sha256=nothex", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h_bad, body, NULL), 401);
	/* The right signature of another body. */
	char *other = jira_body(key, marker, "To Do", "new", "mallory@example.com");
	const char *h_good[] = {good, NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h_good, other, NULL), 401);
	free(other);
	assert_int_equal(call("POST", "/hooks/jira/jira?secret=guess", NULL, body, NULL), 401);
	/* Right signature, wrong URL secret: refused as well. */
	assert_int_equal(call("POST", "/hooks/jira/jira?secret=guess", h_good, body, NULL), 401);
	/* GitLab: token missing or wrong; a GitLab hook on a Jira connector. */
	assert_int_equal(call("POST", "/hooks/gitlab/gl", NULL, "{}", NULL), 401);
	const char *t_wrong[] = {"X-Gitlab-Token: " GITLAB_SECRET "x", NULL};
	assert_int_equal(call("POST", "/hooks/gitlab/gl", t_wrong, "{}", NULL), 401);
	const char *t_jira[] = {"X-Gitlab-Token: " HOOK_SECRET, NULL};
	assert_int_equal(call("POST", "/hooks/gitlab/jira", t_jira, "{}", NULL), 404);
	/* Unknown connector, connector without a webhook secret, bad names. */
	assert_int_equal(call("POST", "/hooks/jira/nope", h_good, body, NULL), 404);
	assert_int_equal(call("POST", "/hooks/jira/nohook", h_good, body, NULL), 404);
	assert_int_equal(call("POST", "/hooks/jira/JIRA", h_good, body, NULL), 404);
	assert_int_equal(call("POST", "/hooks/trello/jira", h_good, body, NULL), 404);
	/* Methods. */
	assert_int_equal(call("GET", "/hooks/jira/jira", h_good, NULL, NULL), 405);
	assert_int_equal(call("PUT", "/hooks/jira/jira", h_good, body, NULL), 405);
	/* Bodies over http.max_body_bytes: refused from the headers alone. */
	assert_int_equal(huge_post("/hooks/jira/jira?secret=" HOOK_SECRET), 413);
	char *big = ts_malloc(MAX_BODY + 2);
	memset(big, ' ', MAX_BODY + 1);
	big[MAX_BODY + 1] = '\0';
	char big_sig[120];
	sign(HOOK_SECRET, big, big_sig);
	const char *h_big[] = {big_sig, NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h_big, big, NULL), 413);
	/* Without Content-Length (chunked): cut off once over the bound. */
	const char *h_chunked[] = {big_sig, "Transfer-Encoding: chunked", NULL};
	long chunked = call("POST", "/hooks/jira/jira", h_chunked, big, NULL);
	assert_true(chunked == 413 || chunked == 0);
	free(big);
	/* Authenticated but not JSON: 400, nothing stored. */
	char bad_sig[120];
	sign(HOOK_SECRET, "{not json", bad_sig);
	const char *h_json[] = {bad_sig, NULL};
	char *answer = NULL;
	assert_int_equal(call("POST", "/hooks/jira/jira", h_json, "{not json", &answer), 400);
	assert_non_null(strstr(answer, "webhook body"));
	free(answer);

	char *after = fingerprint();
	assert_string_equal(before, after);
	/* And the daemon still answers. */
	assert_int_equal(call("GET", "/healthz", NULL, NULL, NULL), 200);
	free(before);
	free(after);
	free(body);
	free(key);
	free(marker);
}

static void test_accept_and_replay(void **state)
{
	(void)state;
	char *key, *marker;
	ticket(0, &key, &marker);
	char sql[300];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history h JOIN countermeasures c ON c.id ="
	         " h.countermeasure_id JOIN tickets t ON t.id = c.ticket_id WHERE t.remote_key ="
	         " '%s' AND h.source = 'webhook' AND h.to_status = 'in_progress'",
	         key);
	long long tasks_on_ticket = 0;
	{
		char q[200];
		snprintf(q, sizeof(q),
		         "SELECT count(*) FROM countermeasures c JOIN tickets t ON t.id = "
		         "c.ticket_id WHERE t.remote_key = '%s'",
		         key);
		tasks_on_ticket = q_int(q);
	}
	assert_true(tasks_on_ticket >= 1);
	long long deliveries = q_int("SELECT count(*) FROM webhook_deliveries");
	char *body = jira_body(key, marker, "In Progress", "indeterminate", "bob@example.com");
	char sig[120];
	sign(HOOK_SECRET, body, sig);
	const char *h[] = {sig, "X-Atlassian-Webhook-Identifier: replay-1", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h, body, NULL), 204);
	/* Acknowledged only after the commit: visible at once. */
	assert_int_equal(q_int(sql), tasks_on_ticket);
	for (int i = 0; i < 3; i++)
		assert_int_equal(call("POST", "/hooks/jira/jira", h, body, NULL), 204);
	assert_int_equal(q_int(sql), tasks_on_ticket);
	assert_int_equal(q_int("SELECT count(*) FROM webhook_deliveries WHERE delivery_id = "
	                       "'replay-1'"),
	                 1);
	assert_int_equal(q_int("SELECT count(*) FROM webhook_deliveries"), deliveries + 1);
	free(body);

	/* The URL secret, for Jira setups without signing. */
	usleep(5 * 1000); /* a later update time than the first event */
	char *done = jira_body(key, marker, "Done", "done", "bob@example.com");
	const char *h2[] = {"X-Atlassian-Webhook-Identifier: url-secret-1", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira?secret=" HOOK_SECRET, h2, done, NULL), 204);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history h JOIN countermeasures c ON c.id ="
	         " h.countermeasure_id JOIN tickets t ON t.id = c.ticket_id WHERE t.remote_key ="
	         " '%s' AND h.source = 'webhook' AND h.to_status = 'done' AND h.actor = "
	         "'bob@example.com'",
	         key);
	assert_int_equal(q_int(sql), tasks_on_ticket);
	free(done);

	/* GitLab: the right token is accepted (a ticket unknown here changes
	 * nothing but is recorded). */
	const char *gl = "{\"object_kind\":\"issue\",\"user\":{\"username\":\"alice\"},"
	                 "\"project\":{\"path_with_namespace\":\"acme/shop\"},"
	                 "\"object_attributes\":{\"id\":5,\"iid\":5,\"state\":\"closed\","
	                 "\"updated_at\":\"2026-11-22 10:00:00 UTC\"},\"labels\":[]}";
	const char *t_ok[] = {"X-Gitlab-Token: " GITLAB_SECRET, "X-Gitlab-Event: Issue Hook",
	                      "X-Gitlab-Event-UUID: gl-uuid-1", NULL};
	assert_int_equal(call("POST", "/hooks/gitlab/gl", t_ok, gl, NULL), 204);
	assert_int_equal(call("POST", "/hooks/gitlab/gl", t_ok, gl, NULL), 204);
	assert_int_equal(q_int("SELECT count(*) FROM webhook_deliveries WHERE connector = 'gl' AND "
	                       "delivery_id = 'gl-uuid-1'"),
	                 1);
	free(key);
	free(marker);
}

static void test_emulator_delivers(void **state)
{
	(void)state;
	/* Threatsync's own writes (the creates of the first pass) came back as
	 * webhooks and were recorded, not echoed into the history. */
	assert_true(q_int("SELECT count(*) FROM webhook_deliveries WHERE connector = 'jira'") > 0);
	char *key, *marker;
	ticket(1, &key, &marker); /* not the one the cases above moved */
	char hist[400];
	snprintf(hist, sizeof(hist),
	         "SELECT count(*) FROM status_history h JOIN countermeasures c ON c.id ="
	         " h.countermeasure_id JOIN tickets t ON t.id = c.ticket_id WHERE t.remote_key ="
	         " '%s' AND h.to_status = 'in_progress'",
	         key);
	assert_int_equal(q_int(hist), 0);
	long long searches = 0;
	json_t *reqs = ju_requests_for(&F->emu, "POST", "/rest/api/3/search/jql");
	json_t *greqs = ju_requests_for(&F->emu, "GET", "/rest/api/3/search/jql");
	searches = (long long)(json_array_size(reqs) + json_array_size(greqs));
	json_decref(reqs);
	json_decref(greqs);

	/* Right after a poll, so the webhook is first by seconds. */
	bool polled = false;
	for (int i = 0; i < 150 && !polled; i++) {
		reqs = ju_requests_for(&F->emu, "POST", "/rest/api/3/search/jql");
		greqs = ju_requests_for(&F->emu, "GET", "/rest/api/3/search/jql");
		long long now_searches =
		    (long long)(json_array_size(reqs) + json_array_size(greqs));
		polled = now_searches > searches;
		json_decref(reqs);
		json_decref(greqs);
		if (polled)
			searches = now_searches;
		else
			usleep(100 * 1000);
	}
	assert_true(polled);

	/* A human moves the ticket in Jira: the emulator's webhook (sent twice
	 * with one identifier) reaches the daemon. */
	char *path = ts_asprintf("/_emu/issues/%s/transition", key);
	long st = 0;
	json_decref(ju_emu_call(&F->emu, "POST", path,
	                        "{\"to\": \"In Progress\", \"actor\": \"alice\"}", &st));
	assert_int_equal(st, 200);
	free(path);
	char one_webhook[500];
	snprintf(one_webhook, sizeof(one_webhook),
	         "%s AND h.source = 'webhook' AND h.actor = "
	         "'alice@example.com'",
	         hist);
	char q[200];
	snprintf(q, sizeof(q),
	         "SELECT count(*) FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id "
	         "WHERE t.remote_key = '%s'",
	         key);
	long long tasks_on_ticket = q_int(q);
	if (!wait_for(one_webhook, tasks_on_ticket, 10000))
		fail_msg("the webhook was not applied: %lld history rows", q_int(hist));

	/* The next poll reports the same change: still recorded once. */
	polled = false;
	for (int i = 0; i < 150 && !polled; i++) {
		reqs = ju_requests_for(&F->emu, "POST", "/rest/api/3/search/jql");
		greqs = ju_requests_for(&F->emu, "GET", "/rest/api/3/search/jql");
		polled = (long long)(json_array_size(reqs) + json_array_size(greqs)) > searches;
		json_decref(reqs);
		json_decref(greqs);
		if (!polled)
			usleep(100 * 1000);
	}
	assert_true(polled);
	usleep(1000 * 1000); /* the page is applied after the answer */
	assert_int_equal(q_int(hist), tasks_on_ticket);
	assert_int_equal(q_int(one_webhook), tasks_on_ticket);

	/* Every delivery the emulator made was acknowledged. */
	json_t *dl = ju_emu_call(&F->emu, "GET", "/_emu/webhooks/deliveries", NULL, &st);
	const json_t *list = json_is_array(dl) ? dl : json_object_get(dl, "deliveries");
	assert_true(json_array_size(list) > 0);
	size_t i;
	const json_t *e;
	json_array_foreach (list, i, e) {
		json_int_t code = json_integer_value(json_object_get(e, "status"));
		if (code != 204)
			fail_msg("delivery %zu answered %lld", i, (long long)code);
	}
	json_decref(dl);
	free(key);
	free(marker);
}

/* The metrics follow the webhooks: a batch that changed tasks is snapshot
 * shortly after (once for the batches of that second, off their answers'
 * path). */
static void test_snapshot_follows_webhooks(void **state)
{
	(void)state;
	const char *pick = "FROM tickets t JOIN countermeasures c ON c.ticket_id = t.id"
	                   " WHERE c.status = 'todo' ORDER BY t.id DESC LIMIT 1";
	char sql[400];
	snprintf(sql, sizeof(sql), "SELECT t.remote_key %s", pick);
	char *key = q_text(sql);
	snprintf(sql, sizeof(sql), "SELECT t.marker %s", pick);
	char *marker = q_text(sql);
	assert_non_null(key);
	assert_non_null(marker);
	const char *in_progress =
	    "SELECT count(*) FROM countermeasures WHERE status = 'in_progress'";
	long long before = q_int(in_progress);
	char *body = jira_body(key, marker, "In Progress", "indeterminate", "carol@example.com");
	char sig[120];
	sign(HOOK_SECRET, body, sig);
	const char *h[] = {sig, "X-Atlassian-Webhook-Identifier: snapshot-1", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h, body, NULL), 204);
	long long after = q_int(in_progress);
	assert_true(after > before);
	/* The latest snapshot of every project counts what the tasks say. */
	assert_true(wait_for("SELECT count(*) FROM projects p WHERE"
	                     " (SELECT json_extract(s.metrics, '$.tasks.in_progress')"
	                     " FROM metric_snapshots s WHERE s.project_id = p.id"
	                     " ORDER BY s.taken_at DESC, s.id DESC LIMIT 1) ="
	                     " (SELECT count(*) FROM countermeasures c WHERE c.project_id = p.id"
	                     " AND c.state = 'active' AND c.in_scope = 1"
	                     " AND c.status = 'in_progress')",
	                     q_int("SELECT count(*) FROM projects"), 5000));
	assert_true(q_int("SELECT count(*) FROM metric_snapshots s JOIN countermeasures c ON"
	                  " c.project_id = s.project_id WHERE c.status = 'in_progress' AND"
	                  " json_extract(s.metrics, '$.tasks.in_progress') > 0") > 0);
	free(body);
	free(key);
	free(marker);
}

static void test_stop_and_log(void **state)
{
	(void)state;
	du_signal(F->d, SIGTERM);
	assert_int_equal(du_wait_exit(F->d, 10000), 0);
	/* Not listening any more. */
	assert_int_equal(call("GET", "/healthz", NULL, NULL, NULL), 0);
	char *log = du_stderr(F->d);
	assert_non_null(log);
	assert_non_null(strstr(log, "http endpoint listening"));
	assert_non_null(strstr(log, "http request refused status="));
	/* The emulator's echoes of threatsync's own creates, and its re-sent
	 * deliveries, were recognised. */
	assert_non_null(strstr(log, "outcome=self"));
	assert_non_null(strstr(log, "outcome=replayed"));
	assert_null(strstr(log, HOOK_SECRET));
	assert_null(strstr(log, GITLAB_SECRET));
	assert_null(strstr(log, "secret=guess"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_healthz),
	    cmocka_unit_test(test_refusals_change_nothing),
	    cmocka_unit_test(test_accept_and_replay),
	    cmocka_unit_test(test_emulator_delivers),
	    cmocka_unit_test(test_snapshot_follows_webhooks),
	    cmocka_unit_test(test_stop_and_log),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
