/* SPDX-License-Identifier: Apache-2.0 */
/* GET /metrics of threatsyncd as a child process, synced against the Jira
 * emulator: the exposition read by a strict checker of the text format 0.0.4
 * (and by promtool when installed), the values after known activity
 * (tickets created, webhook deliveries accepted and refused, tasks and
 * threats per project, outbox, last poll, the process), no secret in it.
 * Timing-bound (waits for a sync pass and a poll): TS_NO_VALGRIND. */
#include <curl/curl.h>
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/metrics.h"
#include "helpers/daemon_util.h"
#include "helpers/http_util.h"
#include "helpers/jira_util.h"
#include "helpers/testutil.h"

#define TOKEN "emu-token"
#define HOOK_SECRET "metrics-hook-5ecret-DO-NOT-SHOW"

struct fx {
	char *dir;
	char *db;
	char *conf;
	int port;
	char base[64];
	int64_t started;
	struct ju_emu emu;
	struct du_daemon *d;
	sqlite3 *sq;
};

static struct fx *F;

/* ------------------------------------------------------------ the checker */

/* One sample of a checked exposition: "name{labels}" as written, and its value. */
struct sample {
	char *series;
	double value;
};

struct family {
	char name[128];
	char type[16];
	bool help, closed; /* closed: another family's samples came after its own */
};

struct hist_series {
	char key[512]; /* family + labels without le */
	double last_le;
	double last_count;
	bool has_inf;
	double inf;
};

struct exposition {
	char *line; /* the line being checked, owned */
	struct sample *v;
	size_t n;
	struct family fam[128];
	size_t n_fam;
	struct hist_series hs[64];
	size_t n_hs;
};

/* A refusal of the checker: the message, and the way out of exposition_try. */
static char check_msg[1024];
static jmp_buf check_jmp;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(check_msg, sizeof(check_msg), fmt, ap);
	va_end(ap);
	longjmp(check_jmp, 1);
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

static struct family *fam_find(struct exposition *x, const char *name)
{
	for (size_t i = 0; i < x->n_fam; i++)
		if (strcmp(x->fam[i].name, name) == 0)
			return &x->fam[i];
	return NULL;
}

static bool parse_value(const char *s, double *ret)
{
	if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0) {
		*ret = strcmp(s, "NaN") == 0 ? NAN : s[0] == '+' ? INFINITY : -INFINITY;
		return true;
	}
	char *end = NULL;
	*ret = strtod(s, &end);
	return end != s && *end == '\0' && !isspace((unsigned char)s[0]);
}

/* The family a sample belongs to: its own name, or for _bucket/_sum/_count
 * the histogram declared under the base name. */
static struct family *sample_family(struct exposition *x, const char *name, const char **ret_suffix)
{
	*ret_suffix = "";
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(suffixes[i]);
		if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
			char base[128];
			snprintf(base, sizeof(base), "%.*s", (int)(n - k), name);
			struct family *f = fam_find(x, base);
			if (f && strcmp(f->type, "histogram") == 0) {
				*ret_suffix = suffixes[i];
				return f;
			}
		}
	}
	return fam_find(x, name);
}

static struct hist_series *hist_get(struct exposition *x, const char *key)
{
	for (size_t i = 0; i < x->n_hs; i++)
		if (strcmp(x->hs[i].key, key) == 0)
			return &x->hs[i];
	assert_true(x->n_hs < 64);
	struct hist_series *h = &x->hs[x->n_hs++];
	snprintf(h->key, sizeof(h->key), "%s", key);
	h->last_le = -INFINITY;
	h->last_count = 0;
	return h;
}

/* Parses "{a="x",b="y"}" at p: checks names and escapes; writes the labels
 * without le into key and le's value into le (empty when absent). Returns the
 * position after '}' or NULL. */
static const char *parse_labels(const char *p, char *key, size_t key_size, char *le, size_t le_size)
{
	struct ts_buf k = {0};
	le[0] = '\0';
	p++; /* '{' */
	while (*p != '}') {
		const char *n0 = p;
		while (*p && *p != '=')
			p++;
		if (*p != '=' || !valid_name(n0, (size_t)(p - n0)) || p[1] != '"')
			goto bad;
		size_t nlen = (size_t)(p - n0);
		p += 2;
		struct ts_buf v = {0};
		while (*p && *p != '"') {
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
					ts_buf_free(&v);
					goto bad;
				}
				ts_buf_append(&v, p, 2);
				p += 2;
				continue;
			}
			if (*p == '\n') {
				ts_buf_free(&v);
				goto bad;
			}
			ts_buf_append(&v, p, 1);
			p++;
		}
		if (*p != '"') {
			ts_buf_free(&v);
			goto bad;
		}
		p++;
		if (nlen == 2 && strncmp(n0, "le", 2) == 0)
			snprintf(le, le_size, "%s", v.data ? v.data : "");
		else
			ts_buf_printf(&k, "%.*s=\"%s\",", (int)nlen, n0, v.data ? v.data : "");
		ts_buf_free(&v);
		if (*p == ',')
			p++;
		else if (*p != '}')
			goto bad;
	}
	snprintf(key, key_size, "%s", k.data ? k.data : "");
	ts_buf_free(&k);
	return p + 1;
bad:
	ts_buf_free(&k);
	return NULL;
}

static void check_sample(struct exposition *x, const char *line, int lineno)
{
	const char *p = line;
	while (*p && *p != '{' && *p != ' ')
		p++;
	char name[128];
	if (!valid_name(line, (size_t)(p - line)) || (size_t)(p - line) >= sizeof(name))
		bad("line %d: bad metric name: %s", lineno, line);
	snprintf(name, sizeof(name), "%.*s", (int)(p - line), line);
	if (strncmp(name, "threatsync_", 11) != 0)
		bad("line %d: %s is not named threatsync_...", lineno, name);
	char key[512] = "", le[64] = "";
	if (*p == '{') {
		p = parse_labels(p, key, sizeof(key), le, sizeof(le));
		if (!p)
			bad("line %d: bad labels: %s", lineno, line);
	}
	if (*p != ' ')
		bad("line %d: no value: %s", lineno, line);
	p++;
	char val[64];
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(p, " "), p);
	double v;
	if (!parse_value(val, &v))
		bad("line %d: bad value '%s'", lineno, val);
	if (p[strlen(val)] != '\0')
		bad("line %d: a timestamp or trailing text: %s", lineno, line);

	const char *suffix;
	struct family *f = sample_family(x, name, &suffix);
	if (!f)
		bad("line %d: %s has no # TYPE before it", lineno, name);
	if (f->closed)
		bad("line %d: samples of %s are not together", lineno, f->name);
	for (size_t i = 0; i < x->n_fam; i++)
		if (&x->fam[i] != f && x->fam[i].name[0])
			x->fam[i].closed = true;
	if (strcmp(f->type, "counter") == 0) {
		size_t n = strlen(name);
		if (n < 6 || strcmp(name + n - 6, "_total") != 0)
			bad("line %d: counter %s does not end in _total", lineno, name);
		if (!(v >= 0))
			bad("line %d: counter %s is negative", lineno, name);
	}
	if (strcmp(f->type, "histogram") == 0) {
		char hkey[700];
		snprintf(hkey, sizeof(hkey), "%s|%s", f->name, key);
		struct hist_series *h = hist_get(x, hkey);
		if (strcmp(suffix, "_bucket") == 0) {
			double lev;
			if (!le[0] || !parse_value(le, &lev))
				bad("line %d: bucket without a valid le: %s", lineno, line);
			if (h->has_inf)
				bad("line %d: bucket after le=\"+Inf\"", lineno);
			if (!(lev > h->last_le))
				bad("line %d: le not increasing: %s", lineno, line);
			if (v < h->last_count)
				bad("line %d: buckets not cumulative: %s", lineno, line);
			h->last_le = lev;
			h->last_count = v;
			if (isinf(lev)) {
				h->has_inf = true;
				h->inf = v;
			}
		} else if (strcmp(suffix, "_count") == 0) {
			if (!h->has_inf)
				bad("line %d: %s without a le=\"+Inf\" bucket", lineno, name);
			if (h->inf != v)
				bad("line %d: _count %g differs from le=\"+Inf\" %g", lineno, v,
				    h->inf);
		} else if (strcmp(suffix, "_sum") != 0) {
			bad("line %d: %s: a histogram has only _bucket, _sum, _count", lineno,
			    name);
		}
	} else if (le[0]) {
		bad("line %d: le label outside a histogram", lineno);
	}
	/* The series as written, for lookups (label order as in the output). */
	size_t series_len = (size_t)(p - 1 - line);
	for (size_t i = 0; i < x->n; i++)
		if (strlen(x->v[i].series) == series_len &&
		    strncmp(x->v[i].series, line, series_len) == 0)
			bad("line %d: duplicate series %s", lineno, x->v[i].series);
	x->v = ts_realloc(x->v, (x->n + 1) * sizeof(*x->v));
	x->v[x->n].series = ts_strndup(line, series_len);
	x->v[x->n].value = v;
	x->n++;
}

static void check_comment(struct exposition *x, const char *line, int lineno)
{
	bool help = strncmp(line, "# HELP ", 7) == 0;
	bool type = strncmp(line, "# TYPE ", 7) == 0;
	if (!help && !type)
		bad("line %d: a comment that is neither # HELP nor # TYPE: %s", lineno, line);
	const char *n0 = line + 7;
	size_t n = strcspn(n0, " ");
	if (!valid_name(n0, n) || n0[n] != ' ' || n >= sizeof(x->fam[0].name))
		bad("line %d: bad name: %s", lineno, line);
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)n, n0);
	struct family *f = fam_find(x, name);
	if (!f) {
		assert_true(x->n_fam < 128);
		f = &x->fam[x->n_fam++];
		snprintf(f->name, sizeof(f->name), "%s", name);
	} else if (f->closed) {
		bad("line %d: %s described after its samples", lineno, name);
	}
	const char *rest = n0 + n + 1;
	if (help) {
		if (f->help)
			bad("line %d: second # HELP for %s", lineno, name);
		f->help = true;
		for (const char *q = rest; *q; q++)
			if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
				bad("line %d: bad escape in # HELP", lineno);
		return;
	}
	if (f->type[0])
		bad("line %d: second # TYPE for %s", lineno, name);
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	bool known = false;
	for (int i = 0; i < 5; i++)
		known |= strcmp(rest, types[i]) == 0;
	if (!known)
		bad("line %d: unknown type '%s'", lineno, rest);
	snprintf(f->type, sizeof(f->type), "%s", rest);
	/* A family whose TYPE comes with no sample is fine; one with samples
	 * already seen is not (checked in check_sample: no TYPE, no sample). */
}

static void exposition_free(struct exposition *x);

/* Checks text strictly: its samples (exposition_free), or NULL with the
 * reason in check_msg. */
static struct exposition *exposition_try(const char *text)
{
	struct exposition *volatile xv = ts_calloc(1, sizeof(*xv));
	if (setjmp(check_jmp)) {
		exposition_free(xv);
		return NULL;
	}
	struct exposition *x = xv;
	size_t len = strlen(text);
	if (len == 0 || text[len - 1] != '\n')
		bad("the exposition does not end with a newline");
	int lineno = 0;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		x->line = ts_strndup(p, (size_t)(eol - p));
		const char *line = x->line;
		lineno++;
		if (!line[0])
			bad("line %d: empty line", lineno);
		if (line[0] == '#')
			check_comment(x, line, lineno);
		else
			check_sample(x, line, lineno);
		free(x->line);
		x->line = NULL;
		p = eol + 1;
	}
	for (size_t i = 0; i < x->n_hs; i++)
		if (!x->hs[i].has_inf)
			bad("histogram series %s has no le=\"+Inf\" bucket", x->hs[i].key);
	return x;
}

static void exposition_free(struct exposition *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].series);
	free(x->v);
	free(x->line);
	free(x);
}

/* As exposition_try, failing the test on a refusal. */
static struct exposition *exposition_check(const char *text)
{
	struct exposition *x = exposition_try(text);
	if (!x)
		fail_msg("/metrics: %s", check_msg);
	return x;
}

/* The value of a series; fails when absent. */
static double val(const struct exposition *x, const char *series)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i].series, series) == 0)
			return x->v[i].value;
	fail_msg("no series %s", series);
	return -1;
}

/* ------------------------------------------------------------ helpers */

static long call(const char *method, const char *path, const char *const headers[],
                 const char *body, char **ret_body, char **ret_type)
{
	struct hu_reply r =
	    hu_request(F->base, method, path, headers, body, body ? strlen(body) : 0, 10000);
	if (ret_body) {
		*ret_body = r.body;
		r.body = NULL;
	}
	if (ret_type) {
		*ret_type = r.content_type;
		r.content_type = NULL;
	}
	long status = r.status;
	hu_reply_free(&r);
	return status;
}

/* GET /metrics, checked; the caller frees with exposition_free. */
static struct exposition *scrape(char **ret_text)
{
	char *body = NULL, *type = NULL;
	assert_int_equal(call("GET", "/metrics", NULL, NULL, &body, &type), 200);
	assert_non_null(type);
	assert_string_equal(type, "text/plain; version=0.0.4; charset=utf-8");
	free(type);
	struct exposition *x = exposition_check(body);
	if (ret_text)
		*ret_text = body;
	else
		free(body);
	return x;
}

static long long q_int(const char *sql)
{
	return hu_sql_int(F->sq, sql);
}

static char *q_text(const char *sql)
{
	return hu_sql_text(F->sq, sql);
}

static bool wait_for(const char *sql, long long want, int timeout_ms)
{
	return hu_sql_wait(F->sq, sql, want, timeout_ms);
}

static const char MODEL[] =
    "{\"format\": \"threatsync-model/1\",\n"
    " \"project\": {\"name\": \"shop\", \"description\": \"metrics test\"},\n"
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

	free(tu_write_file(F->dir, "jira_token", TOKEN "\n"));
	free(tu_write_file(F->dir, "jira_hook", HOOK_SECRET "\n"));
	char *conf_text = ts_asprintf(
	    "database = \"%s\";\n"
	    "library_paths = [ \"%s/tests/data/generate/lib\" ];\n"
	    "shutdown_timeout_ms = 2000;\n"
	    "http = { listen = \"127.0.0.1:%d\"; };\n"
	    "connectors = (\n"
	    "  { name = \"jira\"; type = \"jira\"; flavor = \"cloud\"; base_url = \"%s\";\n"
	    "    email = \"threatsync@example.com\"; token_file = \"jira_token\";\n"
	    "    webhook_secret_file = \"jira_hook\"; poll_interval_s = 5;\n"
	    "    rate_per_second = 1000.0; burst = 1000; },\n"
	    "  { name = \"idle\"; type = \"gitlab\"; base_url = \"http://127.0.0.1:9\";\n"
	    "    token_file = \"jira_token\"; poll_interval_s = 0; }\n"
	    ");\n"
	    "projects = ( { slug = \"shop\"; connector = \"jira\"; tracker_project = \"WRU\"; },\n"
	    "             { slug = \"empty\"; } );\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"critical\"; } );\n",
	    F->db, tu_env("TS_SOURCE_DIR"), F->port, F->emu.base);
	F->conf = tu_write_file(F->dir, "threatsync.conf", conf_text);
	free(conf_text);
	char *model = tu_write_file(F->dir, "model.json", MODEL);
	hu_cli_ok(F->conf, "db", "migrate", NULL);
	hu_cli_ok(F->conf, "project", "add", "shop", NULL);
	hu_cli_ok(F->conf, "project", "add", "empty", NULL);
	hu_cli_ok(F->conf, "model", "import", "shop", model, NULL);
	hu_cli_ok(F->conf, "generate", "shop", NULL);
	free(model);

	assert_int_equal(sqlite3_open_v2(F->db, &F->sq, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(F->sq, 5000);
	long long tasks = q_int("SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_true(tasks >= 2);

	F->started = (int64_t)time(NULL);
	const char *args[] = {"-c", F->conf, NULL};
	F->d = du_start(F->dir, args, NULL, 0);
	assert_non_null(du_wait_notify(F->d, "READY=1", 15000));
	/* The first pass creates every ticket; a later poll records its cursor. */
	if (!wait_for("SELECT count(*) FROM tickets WHERE remote_key IS NOT NULL", tasks, 30000))
		fail_msg("tickets not created in time");
	if (!wait_for("SELECT count(*) > 0 FROM sync_cursors WHERE connector = 'jira' AND scope "
	              "NOT LIKE '@%'",
	              1, 30000))
		fail_msg("no poll recorded in time");
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
	free(F->conf);
	free(F);
	F = NULL;
	curl_global_cleanup();
	return 0;
}

/* ------------------------------------------------------------ cases */

/* The checker itself refuses what the format forbids. */
static void test_checker_refuses(void **state)
{
	(void)state;
	struct exposition *x = exposition_check("# HELP threatsync_a_total A.\n"
	                                        "# TYPE threatsync_a_total counter\n"
	                                        "threatsync_a_total{c=\"x\\\"y\"} 3\n");
	assert_int_equal(x->n, 1);
	assert_true(val(x, "threatsync_a_total{c=\"x\\\"y\"}") == 3);
	exposition_free(x);
	static const char *const refused[] = {
	    "threatsync_a 1\n",                                       /* no TYPE */
	    "# TYPE threatsync_a gauge\nthreatsync_a 1",              /* no newline */
	    "# TYPE threatsync_a gauge\nthreatsync_a{b=\"\\q\"} 1\n", /* escape */
	    "# TYPE threatsync_a counter\nthreatsync_a 1\n",          /* _total */
	    "# TYPE threatsync_a gauge\nthreatsync_a one\n",          /* value */
	    "# TYPE threatsync_h histogram\nthreatsync_h_bucket{le=\"1\"} 2\n"
	    "threatsync_h_bucket{le=\"2\"} 1\nthreatsync_h_bucket{le=\"+Inf\"} 2\n"
	    "threatsync_h_count 2\n", /* not cumulative */
	    "# TYPE threatsync_h histogram\nthreatsync_h_bucket{le=\"1\"} 2\n"
	    "threatsync_h_bucket{le=\"+Inf\"} 3\nthreatsync_h_count 4\n", /* count */
	    "# TYPE threatsync_a gauge\n# TYPE threatsync_b gauge\nthreatsync_a 1\n"
	    "threatsync_b 1\nthreatsync_a{x=\"1\"} 1\n",                   /* not together */
	    "# TYPE threatsync_a gauge\nthreatsync_a 1\nthreatsync_a 2\n", /* duplicate */
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct exposition *y = exposition_try(refused[i]);
		if (y)
			fail_msg("the checker accepted case %zu", i);
	}
}

static void test_exposition_format(void **state)
{
	(void)state;
	char *text = NULL;
	struct exposition *x = scrape(&text);
	assert_null(strstr(text, TOKEN));
	assert_null(strstr(text, HOOK_SECRET));
	exposition_free(x);
	assert_int_equal(call("POST", "/metrics", NULL, "{}", NULL, NULL), 405);
	assert_int_equal(call("HEAD", "/metrics", NULL, NULL, NULL, NULL), 200);

	/* promtool, when installed, agrees. */
	char *path = tu_write_file(F->dir, "metrics.txt", text);
	if (access("/usr/bin/promtool", X_OK) == 0) {
		const char *argv[] = {"/usr/bin/promtool", "check", "metrics", NULL};
		char *out = NULL, *err = NULL;
		int rc = tu_run(argv, text, NULL, 30000, &out, &err);
		if (rc != 0)
			fail_msg("promtool check metrics: exit %d: %s%s", rc, out, err);
		free(out);
		free(err);
	}
	free(path);
	free(text);
}

static void test_values_after_sync(void **state)
{
	(void)state;
	struct exposition *x = scrape(NULL);
	long long created =
	    q_int("SELECT count(*) FROM outbox WHERE op = 'create' AND state = 'done'");
	long long posts = 0;
	json_t *reqs = ju_requests_for(&F->emu, "POST", "/rest/api/3/issue");
	posts = (long long)json_array_size(reqs);
	json_decref(reqs);
	assert_true(created >= 2);
	assert_int_equal(posts, created);
	assert_true(
	    val(x, "threatsync_connector_pushes_total{connector=\"jira\",op=\"created\"}") ==
	    (double)created);
	assert_true(val(x, "threatsync_connector_pushes_total{connector=\"jira\",op=\"closed\"}") ==
	            0);
	assert_true(
	    val(x, "threatsync_connector_failures_total{connector=\"jira\",kind=\"dead\"}") == 0);
	assert_true(val(x, "threatsync_connector_retries_total{connector=\"jira\"}") == 0);
	/* The idle connector (no project, no polls) has its series, all zero. */
	assert_true(
	    val(x, "threatsync_connector_pushes_total{connector=\"idle\",op=\"created\"}") == 0);
	assert_true(
	    val(x, "threatsync_connector_request_duration_seconds_count{connector=\"idle\"}") == 0);
	/* Every request the emulator received was timed: at least the creates. */
	json_t *all = ju_requests(&F->emu);
	double n_req =
	    val(x, "threatsync_connector_request_duration_seconds_count{connector=\"jira\"}");
	assert_true(n_req >= (double)created);
	assert_true(n_req <= (double)json_array_size(all));
	json_decref(all);
	assert_true(
	    val(x, "threatsync_connector_request_duration_seconds_sum{connector=\"jira\"}") > 0);
	assert_true(val(x, "threatsync_sync_passes_total") >= 1);

	/* Outbox drained. */
	assert_true(val(x, "threatsync_outbox_depth{connector=\"jira\"}") == 0);
	assert_true(val(x, "threatsync_outbox_oldest_pending_age_seconds{connector=\"jira\"}") ==
	            0);
	/* The last poll, as the database says. */
	long long last = q_int("SELECT CAST(strftime('%s', max(updated_at)) AS INTEGER) FROM "
	                       "sync_cursors WHERE connector = 'jira' AND scope NOT LIKE '@%'");
	double seen =
	    val(x, "threatsync_connector_last_poll_success_timestamp_seconds{connector=\"jira\"}");
	/* A poll may have ended between the scrape and the query. */
	assert_true(seen <= (double)last && seen >= (double)F->started);

	/* Per project, from the database. */
	static const char *const sev[] = {"critical", "high", "medium", "low"};
	for (int i = 0; i < 4; i++) {
		char sql[300], series[200];
		snprintf(
		    sql, sizeof(sql),
		    "SELECT count(*) FROM threats t JOIN projects p ON p.id = t.project_id WHERE "
		    "p.slug = 'shop' AND t.state = 'active' AND t.in_scope = 1 AND t.severity = "
		    "'%s'",
		    sev[i]);
		snprintf(series, sizeof(series),
		         "threatsync_project_open_threats{project=\"shop\",severity=\"%s\"}",
		         sev[i]);
		assert_true(val(x, series) == (double)q_int(sql));
		snprintf(series, sizeof(series),
		         "threatsync_project_open_threats{project=\"empty\",severity=\"%s\"}",
		         sev[i]);
		assert_true(val(x, series) == 0);
	}
	long long todo = q_int("SELECT count(*) FROM countermeasures WHERE state = 'active' AND "
	                       "in_scope = 1 AND status = 'todo'");
	assert_true(todo >= 2);
	assert_true(val(x, "threatsync_project_tasks{project=\"shop\",status=\"todo\"}") ==
	            (double)todo);
	assert_true(val(x, "threatsync_project_tasks{project=\"shop\",status=\"done\"}") == 0);
	assert_true(val(x, "threatsync_project_tasks{project=\"empty\",status=\"todo\"}") == 0);

	/* The process. */
	double rss = val(x, "threatsync_process_resident_memory_bytes");
	long kib = du_rss_kib(F->d->pid);
	assert_true(rss > 1e6);
	assert_true(fabs(rss / 1024.0 - (double)kib) < 0.5 * (double)kib);
	double start = val(x, "threatsync_process_start_time_seconds");
	assert_true(start >= (double)F->started - 1 && start < (double)time(NULL) + 1);
	assert_true(val(x, "threatsync_process_open_fds") >= 5);
	assert_true(val(x, "threatsync_process_cpu_seconds_total") > 0);
	exposition_free(x);
}

static void sign(const char *secret, const char *body, char out[120])
{
	hu_sign("X-Hub-Signature", secret, body, out, 120);
}

/* One refused and one accepted delivery move their counters by one each. */
static void test_webhook_counts(void **state)
{
	(void)state;
	struct exposition *x = scrape(NULL);
	const char *acc =
	    "threatsync_webhook_deliveries_total{connector=\"jira\",result=\"accepted\"}";
	const char *rej =
	    "threatsync_webhook_deliveries_total{connector=\"jira\",result=\"rejected\"}";
	double acc0 = val(x, acc), rej0 = val(x, rej);
	exposition_free(x);

	char *key = q_text("SELECT remote_key FROM tickets ORDER BY id LIMIT 1");
	char *marker = q_text("SELECT marker FROM tickets ORDER BY id LIMIT 1");
	assert_non_null(key);
	char now[32];
	ts_now_iso(now);
	now[23] = '\0';
	json_t *doc = json_pack(
	    "{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:{s:[s, s], s:{s:s, s:{s:s}}, s:n, s:s+}}}",
	    "webhookEvent", "jira:issue_updated", "user", "emailAddress", "dev@example.com", "name",
	    "dev", "issue", "id", "1", "key", key, "fields", "labels", "threatsync", marker,
	    "status", "name", "To Do", "statusCategory", "key", "new", "resolution", "updated", now,
	    "+0000");
	assert_non_null(doc);
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	char good[120], wrong[120];
	sign(HOOK_SECRET, body, good);
	sign("not-the-secret", body, wrong);
	const char *h_wrong[] = {wrong, "X-Atlassian-Webhook-Identifier: metrics-1", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h_wrong, body, NULL, NULL), 401);
	/* An unknown connector adds no series. */
	assert_int_equal(call("POST", "/hooks/jira/nope", h_wrong, body, NULL, NULL), 404);
	const char *h_good[] = {good, "X-Atlassian-Webhook-Identifier: metrics-2", NULL};
	assert_int_equal(call("POST", "/hooks/jira/jira", h_good, body, NULL, NULL), 204);

	x = scrape(NULL);
	assert_true(val(x, acc) == acc0 + 1);
	assert_true(val(x, rej) == rej0 + 1);
	for (size_t i = 0; i < x->n; i++)
		assert_null(strstr(x->v[i].series, "nope"));
	exposition_free(x);
	free(body);
	free(key);
	free(marker);
}

/* Label values are escaped as the format says. */
static void test_label_escape(void **state)
{
	(void)state;
	struct ts_buf b = {0};
	metrics_label_escape(&b, "a\\b\"c\nd");
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
	ts_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checker_refuses),   cmocka_unit_test(test_label_escape),
	    cmocka_unit_test(test_exposition_format), cmocka_unit_test(test_values_after_sync),
	    cmocka_unit_test(test_webhook_counts),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
