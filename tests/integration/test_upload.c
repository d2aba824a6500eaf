/* SPDX-License-Identifier: Apache-2.0 */
/* threatsyncd's scan upload API and spool directory as a child process:
 * bearer tokens scoped to projects (401 with WWW-Authenticate, 403, 404),
 * bounds and parameters (413, 400), an upload answered 202 and polled to its
 * outcome, another project's upload invisible, the spool (a file renamed in
 * settles in done/ or failed/ with its result or reason, dotfiles left alone,
 * links refused), the loop answering /healthz while a large report is
 * ingested, and uploads left by a crash resumed at start-up. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/daemon_util.h"
#include "helpers/http_util.h"
#include "helpers/testutil.h"

#define TOK_ALL "global-Upload-Token-DO-NOT-LOG"
#define TOK_ALPHA "alpha-Upload-Token-DO-NOT-LOG"
#define TOK_BETA "beta-Upload-Token-DO-NOT-LOG"
#define SMALL_MAX (1024 * 1024)
#define TRUNCATED "$.runs: the file ends inside the document at byte 10 (truncated?)"

struct fx {
	char *dir;
	char *db;
	char *conf;
	char *spool;
	char *uploads;
	int port;
	char base[64];
	struct du_daemon *d;
};

static struct fx *F;

/* ------------------------------------------------------------ helpers */

/* One request; token NULL sends no Authorization. */
static struct hu_reply call(const char *method, const char *path, const char *token,
                            const char *body, size_t body_len)
{
	char *auth = token ? ts_asprintf("Authorization: Bearer %s", token) : NULL;
	const char *headers[] = {auth, NULL};
	struct hu_reply r = hu_request(F->base, method, path, headers, body, body_len, 30000);
	free(auth);
	return r;
}

static struct hu_reply post(const char *query, const char *token, const char *body)
{
	char *path = ts_asprintf("/api/v1/projects/%s", query);
	struct hu_reply r = call("POST", path, token, body, body ? strlen(body) : 0);
	free(path);
	return r;
}

static void expect_refusal(struct hu_reply r, long status, const char *error)
{
	if (r.status != status)
		fail_msg("status %ld, want %ld: %s", r.status, status, r.body ? r.body : "");
	json_t *doc = json_loads(r.body, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "error")), error);
	json_decref(doc);
	if (status == 401)
		assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer\r\n"));
	else
		assert_null(strstr(r.headers, "WWW-Authenticate"));
	hu_reply_free(&r);
}

static void write_conf(size_t max_upload)
{
	char *text =
	    ts_asprintf("database = \"%s\";\n"
	                "library_paths = [ \"%s/library\" ];\n"
	                "log_level = \"debug\";\n"
	                "shutdown_timeout_ms = 5000;\n"
	                "spool_dir = \"%s\";\n"
	                "http = { listen = \"127.0.0.1:%d\"; api_tokens_file = \"tokens\";\n"
	                "  max_upload_bytes = %zu; };\n"
	                "projects = ( { slug = \"alpha\"; }, { slug = \"beta\"; } );\n",
	                F->db, tu_env("TS_SOURCE_DIR"), F->spool, F->port, max_upload);
	free(F->conf);
	F->conf = tu_write_file(F->dir, "threatsync.conf", text);
	free(text);
}

static void start_daemon(void)
{
	const char *args[] = {"-c", F->conf, NULL};
	F->d = du_start(F->dir, args, NULL, 0);
	assert_non_null(du_wait_notify(F->d, "READY=1", 15000));
}

static void stop_daemon(void)
{
	du_signal(F->d, SIGTERM);
	assert_int_equal(du_wait_exit(F->d, 15000), 0);
	char *log = du_stderr(F->d);
	/* No token ever reaches the log. */
	assert_null(strstr(log, TOK_ALL));
	assert_null(strstr(log, TOK_ALPHA));
	assert_null(strstr(log, TOK_BETA));
	free(log);
	du_free(F->d);
	F->d = NULL;
}

static int setup(void **state)
{
	(void)state;
	tu_env("TS_THREATSYNCD");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	F = ts_calloc(1, sizeof(*F));
	F->dir = tu_tmpdir();
	F->db = ts_asprintf("%s/threatsync.db", F->dir);
	F->spool = ts_asprintf("%s/spool", F->dir);
	F->uploads = ts_asprintf("%s/uploads", F->dir);
	F->port = hu_free_port();
	snprintf(F->base, sizeof(F->base), "http://127.0.0.1:%d", F->port);
	free(tu_write_file(F->dir, "tokens",
	                   "# CI tokens\n" TOK_ALL "\n" TOK_ALPHA " alpha\n" TOK_BETA " beta\n"));
	write_conf(SMALL_MAX);
	hu_cli_ok(F->conf, "db", "migrate", NULL);
	hu_cli_ok(F->conf, "project", "add", "alpha", NULL);
	hu_cli_ok(F->conf, "project", "add", "beta", NULL);
	*state = F;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!F)
		return 0;
	if (F->d && du_alive(F->d)) {
		du_signal(F->d, SIGTERM);
		du_wait_exit(F->d, 10000);
	}
	du_free(F->d);
	tu_rmrf(F->dir);
	free(F->dir);
	free(F->db);
	free(F->conf);
	free(F->spool);
	free(F->uploads);
	free(F);
	F = NULL;
	curl_global_cleanup();
	return 0;
}

static long long q_int(const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(F->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	long long v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void exec_sql(const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(F->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* Files in dir (not . and ..). */
static int count_files(const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dh)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dh);
	return n;
}

/* Polls GET /api/v1/scans/ID until it is done or failed; the document. */
static json_t *wait_outcome(long long id, const char *token, int timeout_ms)
{
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/scans/%lld", id);
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		struct hu_reply r = call("GET", path, token, NULL, 0);
		assert_int_equal(r.status, 200);
		json_t *doc = json_loads(r.body, 0, NULL);
		hu_reply_free(&r);
		assert_non_null(doc);
		const char *st = json_string_value(json_object_get(doc, "status"));
		if (strcmp(st, "done") == 0 || strcmp(st, "failed") == 0)
			return doc;
		json_decref(doc);
		usleep(50 * 1000);
	}
	fail_msg("upload %lld not finished within %d ms", id, timeout_ms);
	return NULL;
}

static bool wait_file(const char *path, int timeout_ms)
{
	struct stat st;
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		if (lstat(path, &st) == 0)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static const char SARIF[] =
    "{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": {\"name\": \"demo\"}},"
    " \"results\": [{\"ruleId\": \"R1\", \"message\": {\"text\": \"SQL injection\"},"
    " \"properties\": {\"cwe\": \"CWE-89\"},"
    " \"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"src/a.c\"},"
    " \"region\": {\"startLine\": 7}}}]}]}]}\n";

/* A report of tests/data/findings/sarif (new string). */
static char *sarif_data(const char *name)
{
	char *path = ts_asprintf("%s/tests/data/findings/sarif/%s", tu_env("TS_SOURCE_DIR"), name);
	char *text = tu_read_file(path);
	if (!text)
		fail_msg("cannot read %s", path);
	free(path);
	return text;
}

static json_int_t count_of(const json_t *result, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(result, "counts"), key));
}

/* ------------------------------------------------------------ cases */

static void test_refusals(void **state)
{
	(void)state;
	start_daemon();
	expect_refusal(post("alpha/scans", NULL, SARIF), 401,
	               "a bearer token is required (Authorization: Bearer TOKEN)");
	expect_refusal(post("alpha/scans", "not-" TOK_ALL, SARIF), 401, "the token is not valid");
	expect_refusal(post("beta/scans", TOK_ALPHA, SARIF), 403,
	               "the token does not cover this project");
	/* An unknown project is not told apart from a forbidden one for a
	 * scoped token, but is 404 for a token that covers every project. */
	expect_refusal(post("nosuch/scans", TOK_ALPHA, SARIF), 403,
	               "the token does not cover this project");
	expect_refusal(post("nosuch/scans", TOK_ALL, SARIF), 404, "no such project");
	expect_refusal(post("alpha/scans?format=pdf", TOK_ALPHA, SARIF), 400,
	               "format must be auto, sarif, zap, gitlab or semgrep");
	char *big = ts_malloc(SMALL_MAX + 2);
	memset(big, ' ', SMALL_MAX + 1);
	big[SMALL_MAX + 1] = '\0';
	expect_refusal(post("alpha/scans", TOK_ALPHA, big), 413,
	               "request body larger than http.max_upload_bytes");
	free(big);
	expect_refusal(call("GET", "/api/v1/projects/alpha/scans", TOK_ALPHA, NULL, 0), 405,
	               "method not allowed");
	expect_refusal(call("GET", "/api/v1/scans/1", NULL, NULL, 0), 401,
	               "a bearer token is required (Authorization: Bearer TOKEN)");
	expect_refusal(call("GET", "/api/v1/scans/1", TOK_ALL, NULL, 0), 404, "no such upload");
	expect_refusal(call("GET", "/api/v1/scans/x1", TOK_ALL, NULL, 0), 404, "no such upload");
	/* Nothing was recorded, no file left behind. */
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads"), 0);
	assert_int_equal(count_files(F->uploads), 0);
	/* The queue in /healthz. */
	struct hu_reply h = call("GET", "/healthz", NULL, NULL, 0);
	assert_int_equal(h.status, 200);
	assert_non_null(strstr(h.body, "\"uploads\":{\"queued\":0,\"running\":false}"));
	hu_reply_free(&h);
	stop_daemon();
}

static void test_upload_and_poll(void **state)
{
	(void)state;
	start_daemon();
	char *codeql = sarif_data("codeql-2.5.4.sarif");
	struct hu_reply r =
	    post("alpha/scans?format=sarif&scope=main&tool_version=2.5.4-ci&name=codeql.sarif",
	         TOK_ALPHA, codeql);
	if (r.status != 202)
		fail_msg("status %ld: %s", r.status, r.body);
	json_t *doc = json_loads(r.body, 0, NULL);
	long long id = json_integer_value(json_object_get(doc, "id"));
	assert_int_equal(id, 1);
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "queued");
	assert_string_equal(json_string_value(json_object_get(doc, "url")), "/api/v1/scans/1");
	assert_non_null(strstr(r.headers, "Location: /api/v1/scans/1\r\n"));
	json_decref(doc);
	hu_reply_free(&r);
	char *sql = ts_asprintf("SELECT count(*) FROM scan_uploads WHERE id = 1 AND source = 'api'"
	                        " AND format = 'sarif' AND scope = 'main' AND tool_version ="
	                        " '2.5.4-ci' AND name = 'codeql.sarif' AND size = %zu",
	                        strlen(codeql));
	assert_int_equal(q_int(sql), 1);
	free(sql);

	json_t *out = wait_outcome(id, TOK_ALPHA, 30000);
	assert_int_equal(json_integer_value(json_object_get(out, "id")), 1);
	assert_string_equal(json_string_value(json_object_get(out, "project")), "alpha");
	if (strcmp(json_string_value(json_object_get(out, "status")), "done") != 0)
		fail_msg("upload failed: %s", json_string_value(json_object_get(out, "error")));
	assert_null(json_object_get(out, "error"));
	assert_non_null(json_string_value(json_object_get(out, "received_at")));
	assert_non_null(json_string_value(json_object_get(out, "finished_at")));
	/* The CodeQL log: 72 results, all new, none under a component of the
	 * (empty) model. */
	const json_t *res = json_object_get(out, "result");
	assert_int_equal(count_of(res, "results"), 72);
	assert_int_equal(count_of(res, "new"), 72);
	assert_int_equal(count_of(res, "unmapped"), 72);
	assert_int_equal(count_of(res, "fixed"), 0);
	assert_false(json_is_true(json_object_get(res, "unchanged")));
	assert_string_equal(json_string_value(json_object_get(res, "scope")), "main");
	assert_string_equal(json_string_value(json_object_get(res, "file")), "codeql.sarif");
	const json_t *scan = json_array_get(json_object_get(res, "scans"), 0);
	assert_string_equal(json_string_value(json_object_get(scan, "tool")), "CodeQL");
	assert_string_equal(json_string_value(json_object_get(scan, "tool_version")), "2.5.4-ci");
	json_decref(out);
	assert_int_equal(q_int("SELECT count(*) FROM findings"), 72);
	/* The daily metrics snapshot at start and the ingestion's, a few
	 * seconds apart, coalesce: one row for each of the two projects. */
	assert_int_equal(q_int("SELECT count(*) FROM metric_snapshots"), 2);
	assert_int_equal(q_int("SELECT count(DISTINCT project_id) FROM metric_snapshots"), 2);
	assert_int_equal(q_int("SELECT count(*) FROM scans WHERE source_name = 'codeql.sarif'"
	                       " AND scope = 'main'"),
	                 1);
	/* The global token sees it; another project's token does not. */
	struct hu_reply g = call("GET", "/api/v1/scans/1", TOK_ALL, NULL, 0);
	assert_int_equal(g.status, 200);
	hu_reply_free(&g);
	expect_refusal(call("GET", "/api/v1/scans/1", TOK_BETA, NULL, 0), 404, "no such upload");

	/* The same report again changes nothing. */
	r = post("alpha/scans?scope=main&name=codeql.sarif", TOK_ALL, codeql);
	assert_int_equal(r.status, 202);
	hu_reply_free(&r);
	out = wait_outcome(2, TOK_ALPHA, 30000);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "done");
	assert_true(json_is_true(json_object_get(json_object_get(out, "result"), "unchanged")));
	json_decref(out);
	assert_int_equal(q_int("SELECT count(*) FROM scans"), 1);
	/* The body's file is removed once ingested. */
	assert_int_equal(count_files(F->uploads), 0);
	free(codeql);
	/* Each ingestion is logged with its counts. */
	char *log = du_stderr(F->d);
	assert_non_null(strstr(log, "scan upload ingested id=1 project=alpha source=api "
	                            "name=\"codeql.sarif\""));
	assert_non_null(strstr(log, "results=72 new=72 fixed=0 reopened=0 correlated=0 "
	                            "unchanged=no"));
	free(log);
	stop_daemon();
}

/* A report that cannot be read ends failed with the message. */
static void test_bad_report(void **state)
{
	(void)state;
	start_daemon();
	struct hu_reply r = post("beta/scans?name=broken.json", TOK_BETA, "{\"runs\": [");
	assert_int_equal(r.status, 202);
	hu_reply_free(&r);
	json_t *out = wait_outcome(1, TOK_BETA, 20000);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "failed");
	assert_string_equal(json_string_value(json_object_get(out, "error")),
	                    "broken.json: " TRUNCATED);
	assert_null(json_object_get(out, "result"));
	json_decref(out);
	assert_int_equal(q_int("SELECT count(*) FROM scans"), 0);
	stop_daemon();
}

static void test_spool(void **state)
{
	(void)state;
	start_daemon();
	char *adir = ts_asprintf("%s/alpha", F->spool);
	/* Created at start, with done/ and failed/. */
	assert_int_equal(count_files(adir), 2);
	/* A copy in progress is a dotfile: left alone. */
	char *cppcheck = sarif_data("cppcheck-2.17.1.sarif");
	char *partial = tu_write_file(adir, ".report.sarif.part", cppcheck);
	char *final_path = ts_asprintf("%s/report.sarif", adir);
	char *tmp = tu_write_file(adir, ".report.sarif.tmp", cppcheck);
	assert_int_equal(rename(tmp, final_path), 0);
	free(tmp);
	char *done = ts_asprintf("%s/done/report.sarif", adir);
	char *result = ts_asprintf("%s/done/report.sarif.result.json", adir);
	if (!wait_file(result, 10000))
		fail_msg("%s not written", result);
	assert_true(wait_file(done, 0));
	json_t *doc = json_load_file(result, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(count_of(doc, "results"), 7);
	assert_int_equal(count_of(doc, "new"), 7);
	const json_t *scan = json_array_get(json_object_get(doc, "scans"), 0);
	assert_string_equal(json_string_value(json_object_get(scan, "tool")), "Cppcheck");
	json_decref(doc);
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads WHERE source = 'spool' AND"
	                       " name = 'report.sarif' AND status = 'done'"),
	                 1);
	assert_int_equal(q_int("SELECT count(*) FROM findings"), 7);
	/* A report that does not parse goes to failed/ with the message. */
	tmp = tu_write_file(adir, ".broken", "{\"runs\": [");
	char *broken = ts_asprintf("%s/broken.sarif", adir);
	assert_int_equal(rename(tmp, broken), 0);
	free(tmp);
	char *reason = ts_asprintf("%s/failed/broken.sarif.reason", adir);
	if (!wait_file(reason, 10000))
		fail_msg("%s not written", reason);
	char *text = tu_read_file(reason);
	assert_string_equal(text, "broken.sarif: " TRUNCATED "\n");
	free(text);
	/* A link is refused, never followed. */
	char *link_path = ts_asprintf("%s/link.sarif", adir);
	assert_int_equal(symlink("/etc/passwd", link_path), 0);
	char *link_reason = ts_asprintf("%s/failed/link.sarif.reason", adir);
	if (!wait_file(link_reason, 10000))
		fail_msg("%s not written", link_reason);
	text = tu_read_file(link_reason);
	assert_string_equal(text, "a symbolic link: the spool takes regular files only, links "
	                          "are not followed\n");
	free(text);
	struct stat st;
	char *moved_link = ts_asprintf("%s/failed/link.sarif", adir);
	assert_int_equal(lstat(moved_link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* The same name again gets a suffix in done/. */
	tmp = tu_write_file(adir, ".again", cppcheck);
	assert_int_equal(rename(tmp, final_path), 0);
	free(tmp);
	char *result2 = ts_asprintf("%s/done/report.sarif.1.result.json", adir);
	if (!wait_file(result2, 10000))
		fail_msg("%s not written", result2);
	doc = json_load_file(result2, 0, NULL);
	assert_true(json_is_true(json_object_get(doc, "unchanged")));
	json_decref(doc);
	/* The dotfile is still there, not queued; the link was never a row. */
	assert_int_equal(lstat(partial, &st), 0);
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads"), 3);
	assert_int_equal(count_files(adir), 3); /* done, failed, the dotfile */
	stop_daemon();
	free(adir);
	free(partial);
	free(final_path);
	free(done);
	free(result);
	free(result2);
	free(broken);
	free(reason);
	free(cppcheck);
	free(link_path);
	free(link_reason);
	free(moved_link);
}

/* /healthz answers quickly while a large report is being ingested. */
static void test_loop_responsive(void **state)
{
	(void)state;
	write_conf((size_t)64 << 20);
	start_daemon();
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": {\"name\": "
	                "\"big\"}}, \"results\": [");
	for (int i = 0; i < 60000; i++)
		ts_buf_printf(&b,
		              "%s{\"ruleId\": \"R%d\", \"message\": {\"text\": \"finding %d\"},"
		              " \"locations\": [{\"physicalLocation\": {\"artifactLocation\":"
		              " {\"uri\": \"src/f%d.c\"}, \"region\": {\"startLine\": %d}}}]}",
		              i ? "," : "", i % 50, i, i % 977, i % 500 + 1);
	ts_buf_puts(&b, "]}]}\n");
	struct hu_reply r = call("POST", "/api/v1/projects/alpha/scans", TOK_ALPHA, b.data, b.len);
	assert_int_equal(r.status, 202);
	hu_reply_free(&r);
	ts_buf_free(&b);
	double worst = 0;
	int probes = 0;
	for (int i = 0; i < 400; i++) {
		struct hu_reply h = call("GET", "/healthz", NULL, NULL, 0);
		assert_int_equal(h.status, 200);
		if (h.seconds > worst)
			worst = h.seconds;
		probes++;
		bool idle = strstr(h.body, "\"queued\":0,\"running\":false") != NULL;
		hu_reply_free(&h);
		if (idle)
			break;
		usleep(10 * 1000);
	}
	print_message("healthz probes=%d worst_ms=%.1f\n", probes, worst * 1000);
	if (!du_under_valgrind() && worst > 0.2)
		fail_msg("/healthz took %.0f ms during an ingestion", worst * 1000);
	json_t *out = wait_outcome(1, TOK_ALPHA, 60000);
	/* The loop was probed while the report was really being ingested. */
	assert_string_equal(json_string_value(json_object_get(out, "status")), "done");
	assert_int_equal(count_of(json_object_get(out, "result"), "results"), 60000);
	assert_true(probes > 5);
	json_decref(out);
	stop_daemon();
}

/* Uploads a crash left queued or running are resumed at start-up; one whose
 * file is gone fails with the reason. */
static void test_restart_resumes(void **state)
{
	(void)state;
	mkdir(F->uploads, 0700);
	char *kept = tu_write_file(F->uploads, "upload-crashed", SARIF);
	char *waiting = tu_write_file(F->uploads, "upload-waiting", SARIF);
	/* A body being received when the daemon died: never recorded. */
	char *orphan = tu_write_file(F->uploads, "upload-Xy12ab", "{\"runs\": [");
	char *sql = ts_asprintf(
	    "INSERT INTO scan_uploads (id, project_id, source, name, path, size, status,"
	    " received_at, started_at) VALUES"
	    " (7, (SELECT id FROM projects WHERE slug = 'alpha'), 'api', 'crashed.sarif', '%s',"
	    " %zu, 'running', '2026-12-01T10:00:00.000Z', '2026-12-01T10:00:01.000Z'),"
	    " (8, (SELECT id FROM projects WHERE slug = 'alpha'), 'api', 'queued.sarif', '%s',"
	    " %zu, 'queued', '2026-12-01T10:00:02.000Z', NULL),"
	    " (9, (SELECT id FROM projects WHERE slug = 'alpha'), 'api', 'lost.sarif',"
	    " '%s/upload-gone', 10, 'queued', '2026-12-01T10:00:03.000Z', NULL)",
	    kept, strlen(SARIF), waiting, strlen(SARIF), F->uploads);
	exec_sql(sql);
	free(sql);
	start_daemon();
	json_t *lost = wait_outcome(9, TOK_ALL, 20000);
	assert_string_equal(json_string_value(json_object_get(lost, "error")),
	                    "the report file disappeared before its ingestion (the daemon "
	                    "stopped with the upload waiting)");
	json_decref(lost);
	json_t *a = wait_outcome(7, TOK_ALL, 20000);
	assert_string_equal(json_string_value(json_object_get(a, "status")), "done");
	assert_int_equal(count_of(json_object_get(a, "result"), "new"), 1);
	json_decref(a);
	/* The same content: the store recognises it. */
	json_t *b = wait_outcome(8, TOK_ALPHA, 20000);
	assert_string_equal(json_string_value(json_object_get(b, "status")), "done");
	assert_true(json_is_true(json_object_get(json_object_get(b, "result"), "unchanged")));
	json_decref(b);
	assert_int_equal(q_int("SELECT count(*) FROM findings"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads WHERE status IN ('queued',"
	                       " 'running')"),
	                 0);
	char *log = du_stderr(F->d);
	assert_non_null(strstr(log, "scan uploads resumed=2 failed_file_gone=1"));
	assert_non_null(strstr(log, "unrecorded upload bodies removed count=1"));
	free(log);
	struct stat st;
	assert_int_equal(lstat(orphan, &st), -1);
	/* The resumed bodies are removed once ingested. */
	assert_int_equal(lstat(kept, &st), -1);
	assert_int_equal(count_files(F->uploads), 0);
	stop_daemon();
	free(kept);
	free(waiting);
	free(orphan);
}

/* A stop leaves no upload running: the running one records its outcome,
 * the queued ones wait in the table and are ingested after the restart. */
static void test_stop_keeps_queue(void **state)
{
	(void)state;
	start_daemon();
	for (int i = 0; i < 20; i++) {
		struct hu_reply r = post("alpha/scans", TOK_ALPHA, SARIF);
		assert_int_equal(r.status, 202);
		hu_reply_free(&r);
	}
	stop_daemon();
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads"), 20);
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads WHERE status = 'running'"), 0);
	long long queued = q_int("SELECT count(*) FROM scan_uploads WHERE status = 'queued'");
	print_message("queued at stop: %lld of 20\n", queued);
	start_daemon();
	json_t *last = wait_outcome(20, TOK_ALPHA, 20000);
	json_decref(last);
	assert_int_equal(q_int("SELECT count(*) FROM scan_uploads WHERE status = 'done'"), 20);
	/* One scan: the 19 others were the same report. */
	assert_int_equal(q_int("SELECT count(*) FROM scans"), 1);
	assert_int_equal(count_files(F->uploads), 0);
	stop_daemon();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upload_and_poll, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_report, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop_responsive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_resumes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_keeps_queue, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
