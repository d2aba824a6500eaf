/* SPDX-License-Identifier: Apache-2.0 */
/* Ingestion of findings (engine/findings/ingest.c and its parts): fingerprints,
 * the lifecycle over scans, mapping to components, correlation through the
 * CWE catalog, verification of tasks and the tracker notices, on a database
 * filled by the real generator and fed synthetic findings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest_internal.h"
#include "engine/library/cwe.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

static const char *NOW = "2026-11-22T10:00:00.000Z";

/* A report made of synthetic findings. */
struct fake {
	const struct finding *f;
	size_t n;
	bool incomplete;
	int fail_after; /* > 0: fail with TS_E_INVALID after this many results */
};

static int produce(void *ud, finding_cb cb, void *cb_ud, struct findings_report *rep,
                   struct ts_err *err)
{
	const struct fake *k = ud;
	rep->format = FINDINGS_FORMAT_SARIF;
	snprintf(rep->detail, sizeof(rep->detail), "sarif 2.1.0");
	rep->incomplete = k->incomplete;
	for (size_t i = 0; i < k->n; i++) {
		if (k->fail_after > 0 && (int)i == k->fail_after)
			return ts_err_set(err, TS_E_INVALID,
			                  "fake.sarif: $.runs[0].results[%zu]: "
			                  "truncated",
			                  i);
		int rc = cb(cb_ud, &k->f[i], err);
		if (rc)
			return rc;
		rep->results++;
	}
	return 0;
}

struct fx {
	struct gu g;
	struct cwe_catalog *cwe;
};

static void fx_open(struct fx *x)
{
	char *conf = ts_asprintf("%s/tests/data/ingest/ingest.conf", tu_env("TS_SOURCE_DIR"));
	char *model = ts_asprintf("%s/tests/data/ingest/shop.json", tu_env("TS_SOURCE_DIR"));
	gu_open(&x->g, conf);
	gu_import(&x->g, "shop", model);
	json_decref(gu_generate(&x->g, "shop", "2026-11-01T00:00:00.000Z"));
	free(conf);
	free(model);
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[] = {dir};
	struct ts_err err = {0};
	assert_int_equal(cwe_catalog_load(dirs, 1, &x->cwe, &err), 0);
	free(dir);
}

static void fx_close(struct fx *x)
{
	cwe_catalog_free(x->cwe);
	gu_close(&x->g);
}

/* Ingests findings as report hash at now; returns the result (new). */
static json_t *ingest(struct fx *x, const char *hash, const char *now, const struct finding *f,
                      size_t n, bool tracked)
{
	struct fake k = {.f = f, .n = n};
	struct ingest_request r = {.project = "shop",
	                           .path = "fake.sarif",
	                           .cwe = x->cwe,
	                           .project_cfg =
	                               tracked ? config_find_project(x->g.cfg, "shop") : NULL,
	                           .now = now};
	json_t *res = NULL;
	struct ts_err err = {0};
	int rc = ingest_run(x->g.s, &r, hash, produce, &k, &res, &err);
	if (rc)
		fail_msg("ingest: %s", err.msg);
	assert_non_null(res);
	return res;
}

static int count(const json_t *res, const char *name)
{
	return (int)json_integer_value(json_object_get(json_object_get(res, "counts"), name));
}

static long long q(struct fx *x, const char *sql)
{
	return gu_int(&x->g, sql);
}

static char *qs(struct fx *x, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(x->g.s), sql, -1, &st, NULL), SQLITE_OK);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void expect_text(struct fx *x, const char *sql, const char *want)
{
	char *got = qs(x, sql);
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", sql, got ? got : "(null)", want);
	free(got);
}

#define SAST(rule_, path_, line_, cwe_, msg_)                                                      \
	{                                                                                          \
		.tool = "scanx", .rule_id = rule_, .path = path_, .line = line_, .cwe = {cwe_},    \
		.n_cwe = (cwe_) ? 1 : 0, .message = msg_, .severity = "high"                       \
	}

/* ---- mapping and fingerprints, no database ------------------------------ */

static void test_globs_and_urls(void **state)
{
	(void)state;
	assert_true(mapping_glob_match("src/web/", "src/web/a/b.c"));
	assert_false(mapping_glob_match("src/web/", "src/webx/a.c"));
	assert_true(mapping_glob_match("src/*.c", "src/a.c"));
	assert_false(mapping_glob_match("src/*.c", "src/a/b.c"));
	assert_true(mapping_glob_match("src/**/*.c", "src/b.c"));
	assert_true(mapping_glob_match("src/**/*.c", "src/a/b/c.c"));
	assert_true(mapping_glob_match("**/views.py", "app/x/views.py"));
	assert_true(mapping_glob_match("a?c.h", "abc.h"));
	assert_false(mapping_glob_match("a?c.h", "a/c.h"));
	assert_true(mapping_glob_match("src/web/api/**", "src/web/api/v1/x.go"));
	assert_true(
	    mapping_url_match("https://SHOP.example/api", "https://shop.example/api/users"));
	assert_true(mapping_url_match("https://shop.example/api/", "https://shop.example/api"));
	assert_false(mapping_url_match("https://shop.example/api", "https://shop.example/apix"));
	assert_false(mapping_url_match("https://shop.example/", "http://shop.example/"));
	assert_true(mapping_url_match("https://shop.example", "https://shop.example/a?b#c"));
	char *u = fingerprint_url("HTTPS://Shop.Example/p/q?z=1&a=2&z=3#frag");
	assert_string_equal(u, "https://shop.example/p/q?a&z");
	free(u);
	/* The same result on another line is the same finding; another path,
	 * rule or scope is not. */
	struct finding a = SAST("r1", "src/a.c", 10, 89, "SQL   built\nfrom input");
	struct finding b = SAST("r1", "src/a.c", 99, 89, "SQL built from input");
	char fa[FINGERPRINT_MAX], fb[FINGERPRINT_MAX];
	fingerprint_compute(&a, "", fa);
	fingerprint_compute(&b, "", fb);
	assert_string_equal(fa, fb);
	assert_int_equal(strncmp(fa, "sast:", 5), 0);
	assert_int_equal(strlen(fa), 5 + 64);
	fingerprint_compute(&b, "main", fb);
	assert_string_not_equal(fa, fb);
	b.path = "src/b.c";
	fingerprint_compute(&b, "", fb);
	assert_string_not_equal(fa, fb);
	struct finding d1 = {.tool = "zap",
	                     .rule_id = "40018",
	                     .method = "GET",
	                     .url = "https://shop.example/s?q=1&sid=abc",
	                     .param = "q"};
	struct finding d2 = d1;
	d2.url = "https://shop.example/s?sid=xyz&q=2#top";
	fingerprint_compute(&d1, "", fa);
	fingerprint_compute(&d2, "", fb);
	assert_string_equal(fa, fb);
	assert_int_equal(strncmp(fa, "dast:", 5), 0);
}

/* The fingerprints stored by earlier versions stay what they were: the exact
 * digests of a dynamic, a static, a dependency and a tool-given result. */
static void test_fingerprints_pinned(void **state)
{
	(void)state;
	char fp[FINGERPRINT_MAX];
	struct finding d = {.tool = "zap",
	                    .rule_id = "40012",
	                    .method = "POST",
	                    .url = "HTTPS://App.Example.com/c057/page0?t=907796&id=0#x",
	                    .param = "q0"};
	fingerprint_compute(&d, "", fp);
	assert_string_equal(
	    fp, "dast:fab08aa09bfd681062e31ed63bd02f7e4a6c3db81f4a79b4d9d0e09db2790057");
	fingerprint_compute(&d, "staging", fp);
	assert_string_equal(
	    fp, "dast:4f373eb5b937ec4dacf002448b1744f48913c4bd1195e6aa099e09004eb06486");
	struct finding s = SAST("r1", "src/a.c", 10, 89, "  SQL   built\n from input ");
	fingerprint_compute(&s, "main", fp);
	assert_string_equal(
	    fp, "sast:82e392e19b84332d03e27b5afdb71c7e5fdb60f6b33f4e29af7591004fa0a9ec");
	s.snippet = "cursor.execute(q)";
	fingerprint_compute(&s, "", fp);
	assert_string_equal(
	    fp, "sast:563bfc608628e5b17fded2270306ff1d127b3f458506ec294f1502e15b2ba26a");
	struct finding p = {.tool = "trivy", .rule_id = "CVE-2024-1", .package = "openssl@3.0.1"};
	fingerprint_compute(&p, "", fp);
	assert_string_equal(
	    fp, "dependency:d774325537e1ddf65e1538f0b30436d2dffbfed67b141bc325d22802bbf0685d");
	struct finding t = {.tool = "CodeQL",
	                    .rule_id = "py/sqli",
	                    .path = "a.py",
	                    .fingerprint = "abc:1",
	                    .fingerprint_kind = "partialFingerprints/primaryLocationLineHash"};
	fingerprint_compute(&t, "", fp);
	assert_string_equal(
	    fp, "tool:d97ff2163f78f661831c28f128d3acb7425cc27fe22b6f8c81103974f304af90");
	struct finding o = {.tool = "x", .message = "no path"};
	fingerprint_compute(&o, "", fp);
	assert_string_equal(
	    fp, "other:fba471b262a9dbfe9a32bc376e03acf22768dc9db8f143276f4d13b878b840cb");
}

/* ---- correlation and mapping ------------------------------------------- */

static void test_correlation_and_mapping(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {
	    SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input"), /* web, ancestor */
	    SAST("xss", "src/web/api/views.c", 5, 79, "Reflected input"), /* api, exact */
	    SAST("xss", "lib/util.c", 7, 79, "Reflected input"),          /* unmapped */
	    SAST("todo", "src/web/x.c", 1, 0, "A note without CWE"),      /* mapped, no CWE */
	    {.tool = "dastx",
	     .rule_id = "40012",
	     .url = "https://shop.example/api/users?id=3",
	     .method = "GET",
	     .param = "id",
	     .cwe = {79},
	     .n_cwe = 1}, /* api by URL */
	    {.tool = "dastx",
	     .rule_id = "40012",
	     .url = "https://shop.example/apix",
	     .method = "GET",
	     .cwe = {79},
	     .n_cwe = 1}, /* web by URL */
	};
	json_t *res = ingest(&x, "h1", NOW, f, 6, false);
	assert_int_equal(json_array_size(json_object_get(res, "scans")), 2);
	assert_int_equal(count(res, "results"), 6);
	assert_int_equal(count(res, "new"), 6);
	assert_int_equal(count(res, "unmapped"), 1);
	assert_int_equal(count(res, "correlated"), 4);
	/* CWE-79 is itself a kind of injection (CWE-74): XSS findings correlate
	 * with both threats of their component. */
	assert_false(json_is_true(json_object_get(res, "unchanged")));
	json_decref(res);
	expect_text(&x, "SELECT component_key FROM findings WHERE path = 'src/web/db.c'", "web");
	expect_text(&x, "SELECT component_key FROM findings WHERE path = 'src/web/api/views.c'",
	            "api");
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE path = 'lib/util.c'"
	                       " AND component_key IS NULL"),
	                 1);
	expect_text(&x, "SELECT component_key FROM findings WHERE url LIKE '%/api/users%'", "api");
	expect_text(&x, "SELECT component_key FROM findings WHERE url LIKE '%/apix'", "web");
	/* CWE-89 against the CWE-74 threat: through the catalog, with the path. */
	expect_text(&x,
	            "SELECT t.uid || ' ' || c.method || ' ' || c.cwe_path FROM correlations c"
	            " JOIN threats t ON t.id = c.threat_id JOIN findings f ON f.id = c.finding_id"
	            " WHERE f.rule_id = 'sqli'",
	            "T-INJECTION@web cwe_ancestor [89, 943, 74]");
	expect_text(&x,
	            "SELECT group_concat(x, '|') FROM (SELECT t.uid || ' ' || c.method || ' ' ||"
	            " c.cwe_path AS x FROM correlations c JOIN threats t ON t.id = c.threat_id"
	            " JOIN findings f ON f.id = c.finding_id WHERE f.path = 'src/web/api/views.c'"
	            " ORDER BY t.uid)",
	            "T-INJECTION@api cwe_ancestor [79, 74]|T-XSS@api cwe [79]");
	assert_int_equal(q(&x, "SELECT count(*) FROM correlations"), 7);
	/* Listed: the unmapped one and the one without CWE are there. */
	struct findings_filter flt = {.project = "shop", .unmapped = true, .now = NOW};
	json_t *list = NULL;
	struct ts_err err = {0};
	assert_int_equal(findings_list(x.g.s, &flt, &list, &err), 0);
	json_t *items = json_object_get(list, "findings");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(items, 0), "location")),
	    "lib/util.c:7");
	assert_true(json_is_null(json_object_get(json_array_get(items, 0), "component")));
	json_decref(list);
	flt.unmapped = false;
	flt.tool = "scanx";
	assert_int_equal(findings_list(x.g.s, &flt, &list, &err), 0);
	items = json_object_get(list, "findings");
	assert_int_equal(json_array_size(items), 4);
	json_t *first = json_array_get(items, 0);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(first, "threats"), 0), "threat")),
	                    "T-INJECTION@web");
	assert_int_equal(json_array_size(json_object_get(json_array_get(items, 3), "cwe")), 0);
	json_decref(list);
	fx_close(&x);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* A finding without CWE correlates through the scanner rules the library
 * declares for a threat (detected_by "bandit:B608", the tool's name in any
 * case), and only when the library is given. */
static void test_rule_correlation(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {
	    {.tool = "Bandit",
	     .rule_id = "B608",
	     .path = "src/web/db.py",
	     .line = 3,
	     .message = "Possible SQL injection vector through string-based query construction.",
	     .severity = "medium"},
	    {.tool = "Bandit",
	     .rule_id = "B101",
	     .path = "src/web/db.py",
	     .line = 9,
	     .message = "Use of assert detected.",
	     .severity = "low"},
	};
	struct fake k = {.f = f, .n = 2};
	struct ingest_request r = {
	    .project = "shop", .path = "bandit.sarif", .cwe = x.cwe, .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	/* without the library: nothing to go by */
	assert_int_equal(ingest_run(x.g.s, &r, "b1", produce, &k, &res, &err), 0);
	assert_int_equal(count(res, "correlated"), 0);
	json_decref(res);
	r.library = x.g.lib;
	r.now = "2026-11-23T10:00:00.000Z";
	assert_int_equal(ingest_run(x.g.s, &r, "b2", produce, &k, &res, &err), 0);
	assert_int_equal(count(res, "correlated"), 1);
	json_decref(res);
	expect_text(&x,
	            "SELECT t.uid || ' ' || c.method || ' ' || c.cwe_path FROM correlations c"
	            " JOIN threats t ON t.id = c.threat_id JOIN findings f ON f.id = c.finding_id",
	            "T-INJECTION@web rule []");
	expect_text(&x,
	            "SELECT verification FROM countermeasures WHERE uid = 'C-INPUT-VALIDATION@web'",
	            "failed");
	fx_close(&x);
}

static void test_line_shift_keeps_fingerprint(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding a = SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input");
	a.snippet = "q = \"SELECT \" + id;";
	json_decref(ingest(&x, "h1", NOW, &a, 1, false));
	long long id = q(&x, "SELECT id FROM findings");
	a.line = 42; /* lines were added above it */
	a.snippet = "q  =  \"SELECT \" +\n id;";
	json_t *res = ingest(&x, "h2", "2026-11-23T10:00:00.000Z", &a, 1, false);
	assert_int_equal(count(res, "new"), 0);
	assert_int_equal(count(res, "still_open"), 1);
	assert_int_equal(count(res, "fixed"), 0);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings"), 1);
	assert_int_equal(q(&x, "SELECT id FROM findings"), id);
	assert_int_equal(q(&x, "SELECT line FROM findings"), 42);
	/* Two identical results in one scan: two findings, the second with its
	 * occurrence number, both again the next time. */
	struct finding two[] = {a, a};
	res = ingest(&x, "h3", "2026-11-24T10:00:00.000Z", two, 2, false);
	assert_int_equal(count(res, "new"), 1);
	assert_int_equal(count(res, "still_open"), 1);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE fingerprint LIKE '%#2'"), 1);
	res = ingest(&x, "h4", "2026-11-25T10:00:00.000Z", two, 2, false);
	assert_int_equal(count(res, "new"), 0);
	assert_int_equal(count(res, "still_open"), 2);
	json_decref(res);
	fx_close(&x);
}

static void test_lifecycle_three_scans(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding ab[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input"),
	                       SAST("xss", "src/web/page.c", 20, 79, "Reflected input")};
	json_t *res = ingest(&x, "s1", "2026-11-22T10:00:00.000Z", ab, 2, false);
	assert_int_equal(count(res, "new"), 2);
	json_decref(res);
	res = ingest(&x, "s2", "2026-11-23T10:00:00.000Z", ab, 1, false);
	assert_int_equal(count(res, "new"), 0);
	assert_int_equal(count(res, "still_open"), 1);
	assert_int_equal(count(res, "fixed"), 1);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE status = 'fixed'"
	                       " AND rule_id = 'xss'"),
	                 1);
	/* An incomplete scan fixes nothing. */
	struct fake k = {.f = ab, .n = 0, .incomplete = true};
	struct ingest_request r = {
	    .project = "shop", .path = "p.sarif", .cwe = x.cwe, .now = "2026-11-23T12:00:00.000Z"};
	struct ts_err err = {0};
	json_t *inc = NULL;
	assert_int_equal(ingest_run(x.g.s, &r, "s2b", produce, &k, &inc, &err), 0);
	assert_int_equal(json_array_size(json_object_get(inc, "scans")), 0);
	json_decref(inc);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE status = 'open'"), 1);
	res = ingest(&x, "s3", "2026-11-24T10:00:00.000Z", ab, 2, false);
	assert_int_equal(count(res, "new"), 0);
	assert_int_equal(count(res, "still_open"), 1);
	assert_int_equal(count(res, "reopened"), 1);
	assert_int_equal(count(res, "fixed"), 0);
	json_decref(res);
	expect_text(&x,
	            "SELECT group_concat(coalesce(h.from_status, '-') || '>' || h.to_status, ' ')"
	            " FROM (SELECT * FROM finding_history ORDER BY id) h JOIN findings f"
	            " ON f.id = h.finding_id WHERE f.rule_id = 'xss'",
	            "->open open>fixed fixed>open");
	expect_text(
	    &x,
	    "SELECT group_concat(h.reason, '|') FROM (SELECT * FROM finding_history"
	    " ORDER BY id) h JOIN findings f ON f.id = h.finding_id WHERE f.rule_id = 'xss'",
	    "first seen|absent from scan 2|found again");
	assert_int_equal(q(&x, "SELECT count(*) FROM finding_history h JOIN findings f"
	                       " ON f.id = h.finding_id WHERE f.rule_id = 'sqli'"),
	                 1);
	assert_int_equal(q(&x, "SELECT count(*) FROM scans"), 3);
	assert_int_equal(q(&x, "SELECT count(*) FROM scan_findings"), 5);
	fx_close(&x);
}

static void test_suppression(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input"),
	                      SAST("xss", "src/web/page.c", 20, 79, "Reflected input")};
	f[1].suppression = FINDING_SUPPRESSED;
	f[1].suppression_reason = "false positive, escaped by the template";
	json_t *res = ingest(&x, "s1", NOW, f, 2, false);
	assert_int_equal(count(res, "new"), 2);
	assert_int_equal(count(res, "suppressed"), 1);
	json_decref(res);
	expect_text(&x, "SELECT status || ' ' || suppressed_by FROM findings WHERE rule_id = 'xss'",
	            "suppressed tool");
	/* A person suppresses the other one until 2026-12-01. */
	long long id = q(&x, "SELECT id FROM findings WHERE rule_id = 'sqli'");
	struct ts_err err = {0};
	json_t *out = NULL;
	assert_int_equal(findings_suppress(x.g.s, "shop", id, "", NULL, "ann", NOW, NULL, &err),
	                 TS_E_USAGE);
	assert_int_equal(
	    findings_suppress(x.g.s, "shop", id, "accepted", "2026-11-01", "ann", NOW, NULL, &err),
	    TS_E_USAGE);
	assert_int_equal(
	    findings_suppress(x.g.s, "shop", 9999, "accepted", NULL, "ann", NOW, NULL, &err),
	    TS_E_NOTFOUND);
	assert_int_equal(findings_suppress(x.g.s, "shop", id, "behind the WAF", "2026-12-01", "ann",
	                                   NOW, &out, &err),
	                 0);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "suppressed");
	json_decref(out);
	/* Still reported: the person's decision stands; the tool's lifts. */
	f[1].suppression = FINDING_NOT_SUPPRESSED;
	res = ingest(&x, "s2", "2026-11-25T10:00:00.000Z", f, 2, false);
	assert_int_equal(count(res, "suppressed"), 1);
	assert_int_equal(count(res, "still_open"), 1);
	json_decref(res);
	expect_text(&x,
	            "SELECT status || ' ' || suppressed_by FROM findings WHERE rule_id = 'sqli'",
	            "suppressed person");
	expect_text(&x, "SELECT status FROM findings WHERE rule_id = 'xss'", "open");
	/* The listing on 2026-12-01 ends it. */
	struct findings_filter flt = {
	    .project = "shop", .status = "suppressed", .now = "2026-11-30T23:00:00.000Z"};
	json_t *list = NULL;
	assert_int_equal(findings_list(x.g.s, &flt, &list, &err), 0);
	assert_int_equal(json_array_size(json_object_get(list, "findings")), 1);
	json_decref(list);
	flt.now = "2026-12-01T08:00:00.000Z";
	assert_int_equal(findings_list(x.g.s, &flt, &list, &err), 0);
	assert_int_equal(json_array_size(json_object_get(list, "findings")), 0);
	json_decref(list);
	expect_text(
	    &x,
	    "SELECT group_concat(h.from_status || '>' || h.to_status || ':' || h.reason, '|')"
	    " FROM (SELECT * FROM finding_history WHERE from_status IS NOT NULL ORDER BY id) h"
	    " JOIN findings f ON f.id = h.finding_id WHERE f.rule_id = 'sqli'",
	    "open>suppressed:suppressed: behind the WAF until 2026-12-01|"
	    "suppressed>open:suppression expired on 2026-12-01");
	/* Unsuppressing needs a person's suppression. */
	assert_int_equal(findings_unsuppress(x.g.s, "shop", id, "ann", NOW, NULL, &err),
	                 TS_E_USAGE);
	assert_int_equal(findings_suppress(x.g.s, "shop", id, "again", NULL, "ann",
	                                   "2026-12-02T00:00:00.000Z", NULL, &err),
	                 0);
	assert_int_equal(
	    findings_unsuppress(x.g.s, "shop", id, "bob", "2026-12-03T00:00:00.000Z", NULL, &err),
	    0);
	expect_text(&x, "SELECT status FROM findings WHERE rule_id = 'sqli'", "open");
	fx_close(&x);
}

/* ---- atomicity ---------------------------------------------------------- */

static void test_identical_reingest_is_noop(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input")};
	json_t *res = ingest(&x, "same", NOW, f, 1, true);
	long long scan = json_integer_value(
	    json_object_get(json_array_get(json_object_get(res, "scans"), 0), "id"));
	json_decref(res);
	long long hist = q(&x, "SELECT count(*) FROM finding_history");
	long long outbox = q(&x, "SELECT count(*) FROM outbox");
	res = ingest(&x, "same", "2026-11-30T10:00:00.000Z", f, 0, true);
	assert_true(json_is_true(json_object_get(res, "unchanged")));
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(res, "scans"), 0), "id")),
	                 scan);
	assert_int_equal(count(res, "results"), 1);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM scans"), 1);
	assert_int_equal(q(&x, "SELECT count(*) FROM finding_history"), hist);
	assert_int_equal(q(&x, "SELECT count(*) FROM outbox"), outbox);
	expect_text(&x, "SELECT last_seen FROM findings", NOW);
	fx_close(&x);
}

static void test_failed_ingest_changes_nothing(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input"),
	                      SAST("xss", "src/web/page.c", 20, 79, "Reflected input"),
	                      SAST("xss", "src/web/other.c", 2, 79, "Reflected input")};
	json_decref(ingest(&x, "first", NOW, f, 1, true));
	/* Closed, so the file holds everything, then hashed. */
	store_close(x.g.s);
	char before[65], after[65];
	tu_file_hash(x.g.db, before);
	struct ts_err err = {0};
	assert_int_equal(store_open(x.g.db, STORE_MIGRATE, &x.g.s, &err), 0);
	struct fake k = {.f = f, .n = 3, .fail_after = 2};
	struct ingest_request r = {.project = "shop",
	                           .path = "fake.sarif",
	                           .cwe = x.cwe,
	                           .project_cfg = config_find_project(x.g.cfg, "shop"),
	                           .now = "2026-11-23T10:00:00.000Z"};
	json_t *res = NULL;
	assert_int_equal(ingest_run(x.g.s, &r, "second", produce, &k, &res, &err), TS_E_INVALID);
	assert_null(res);
	assert_string_equal(err.msg, "fake.sarif: $.runs[0].results[2]: truncated");
	/* An unknown project is refused before anything. */
	r.project = "nope";
	assert_true(ingest_run(x.g.s, &r, "third", produce, &k, &res, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	store_close(x.g.s);
	tu_file_hash(x.g.db, after);
	assert_string_equal(before, after);
	assert_int_equal(store_open(x.g.db, STORE_MIGRATE, &x.g.s, &err), 0);
	assert_int_equal(q(&x, "SELECT count(*) FROM scans"), 1);
	fx_close(&x);
}

/* ---- verification and notices ------------------------------------------ */

static void test_verification_failed_then_passed(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 20, 89, "SQL built from input\nmore")};
	long long before = q(&x, "SELECT count(*) FROM outbox");
	json_t *res = ingest(&x, "v1", NOW, f, 1, true);
	json_t *ch = json_object_get(res, "verification");
	assert_int_equal(json_array_size(ch), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "task")),
	                    "C-INPUT-VALIDATION@web");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "to")),
	                    "failed");
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 1);
	json_decref(res);
	expect_text(&x,
	            "SELECT group_concat(x, '|') FROM (SELECT uid || ' ' || verification AS x"
	            " FROM countermeasures ORDER BY uid)",
	            "C-INPUT-VALIDATION@api untested|C-INPUT-VALIDATION@web failed|"
	            "C-OUTPUT-ENCODING@api untested|C-OUTPUT-ENCODING@web untested");
	/* The task is not done: the finding as one comment. */
	assert_int_equal(q(&x, "SELECT count(*) FROM outbox") - before, 1);
	expect_text(&x, "SELECT json_extract(payload, '$.text') FROM outbox WHERE op = 'comment'",
	            "scanx finds sqli (CWE-89, high) at src/web/db.c:20, first seen 2026-11-22: "
	            "SQL built from input");
	/* Still there: no second comment. */
	res = ingest(&x, "v2", "2026-11-23T10:00:00.000Z", f, 1, true);
	assert_int_equal(json_array_size(json_object_get(res, "verification")), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 0);
	json_decref(res);
	/* Gone from a complete scan: passed, and said once. */
	res = ingest(&x, "v3", "2026-11-24T10:00:00.000Z", f, 0, true);
	json_decref(res);
	/* An empty SARIF names no tool: the scan of that tool comes with a
	 * result of another rule. */
	struct finding other[] = {SAST("info", "src/web/readme.c", 1, 0, "Note")};
	res = ingest(&x, "v4", "2026-11-25T10:00:00.000Z", other, 1, true);
	ch = json_object_get(res, "verification");
	assert_int_equal(json_array_size(ch), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "from")),
	                    "failed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "to")),
	                    "passed");
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 1);
	json_decref(res);
	expect_text(&x,
	            "SELECT json_extract(payload, '$.text') FROM outbox WHERE op = 'comment'"
	            " ORDER BY id DESC LIMIT 1",
	            "Verified by scanx on 2026-11-25: no finding correlated with this task is open "
	            "any more.");
	expect_text(&x,
	            "SELECT group_concat(from_status || '>' || to_status, ' ') FROM"
	            " (SELECT * FROM verification_history ORDER BY id)",
	            "untested>failed failed>passed");
	res = ingest(&x, "v5", "2026-11-26T10:00:00.000Z", other, 1, true);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 0);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM outbox WHERE op = 'comment'"), 2);
	fx_close(&x);
}

static void test_done_task_reopened_once(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	assert_int_equal(sqlite3_exec(store_db(x.g.s),
	                              "UPDATE countermeasures SET status = 'done'"
	                              " WHERE uid = 'C-INPUT-VALIDATION@web'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input")};
	json_t *res = ingest(&x, "r1", NOW, f, 1, true);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 1);
	json_decref(res);
	expect_text(&x, "SELECT status FROM countermeasures WHERE uid = 'C-INPUT-VALIDATION@web'",
	            "todo");
	const char *reason = "Reopened by threatsync: scanx still finds sqli (CWE-89) at "
	                     "src/web/db.c:10, first seen 2026-11-22.";
	expect_text(&x, "SELECT json_extract(payload, '$.reason') FROM outbox WHERE op = 'reopen'",
	            reason);
	expect_text(
	    &x,
	    "SELECT h.from_status || '>' || h.to_status || ' ' || h.source || ' ' || h.reason"
	    " FROM status_history h JOIN countermeasures c ON c.id = h.countermeasure_id"
	    " WHERE c.uid = 'C-INPUT-VALIDATION@web' AND h.source = 'verify'",
	    "done>todo verify Reopened by threatsync: scanx still finds sqli (CWE-89) at "
	    "src/web/db.c:10, first seen 2026-11-22.");
	/* The same file again, and a rescan that still has the finding. */
	res = ingest(&x, "r1", "2026-11-22T11:00:00.000Z", f, 1, true);
	assert_true(json_is_true(json_object_get(res, "unchanged")));
	json_decref(res);
	f[0].line = 12;
	res = ingest(&x, "r2", "2026-11-23T10:00:00.000Z", f, 1, true);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 0);
	json_decref(res);
	assert_int_equal(q(&x,
	                   "SELECT count(*) FROM outbox o JOIN countermeasures c"
	                   " ON c.id = o.countermeasure_id WHERE c.uid = 'C-INPUT-VALIDATION@web'"
	                   " AND o.op IN ('reopen', 'comment')"),
	                 1);
	assert_int_equal(q(&x, "SELECT count(*) FROM status_history WHERE source = 'verify'"), 1);
	/* Marked done again while the finding is still open: the same failure,
	 * no second reopen. */
	assert_int_equal(sqlite3_exec(store_db(x.g.s),
	                              "UPDATE countermeasures SET status = 'done'"
	                              " WHERE uid = 'C-INPUT-VALIDATION@web'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	res = ingest(&x, "r3", "2026-11-24T10:00:00.000Z", f, 1, true);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 0);
	json_decref(res);
	/* Fixed (passed, one comment), then back: a new failure, a new reopen. */
	res = ingest(&x, "r4", "2026-11-25T10:00:00.000Z", f, 0, true);
	json_decref(res);
	struct finding other[] = {SAST("info", "src/web/readme.c", 1, 0, "Note")};
	res = ingest(&x, "r5", "2026-11-26T10:00:00.000Z", other, 1, true);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 1);
	json_decref(res);
	res = ingest(&x, "r6", "2026-11-27T10:00:00.000Z", f, 1, true);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 1);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM outbox WHERE op = 'reopen'"), 2);
	assert_int_equal(q(&x, "SELECT count(*) FROM outbox WHERE op = 'comment'"), 1);
	/* Every notice has its own id, 16 hex digits. */
	assert_int_equal(q(&x,
	                   "SELECT count(DISTINCT json_extract(payload, '$.notice')) FROM outbox"
	                   " WHERE op IN ('reopen', 'comment')"),
	                 3);
	assert_int_equal(q(&x, "SELECT count(*) FROM outbox WHERE op IN ('reopen', 'comment')"
	                       " AND length(json_extract(payload, '$.notice')) = 16"
	                       " AND json_extract(payload, '$.notice') NOT GLOB '*[^0-9a-f]*'"),
	                 3);
	/* The reopen stood for the finding's own comment, recorded unsent. */
	assert_int_equal(q(&x, "SELECT count(*) FROM verification_notices WHERE queued = 1"), 3);
	assert_int_equal(q(&x, "SELECT count(*) FROM verification_notices WHERE queued = 0"
	                       " AND kind = 'finding'"),
	                 1);
	fx_close(&x);
}

static void test_no_reopen_when_configured(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	assert_int_equal(sqlite3_exec(store_db(x.g.s),
	                              "UPDATE countermeasures SET status = 'done'"
	                              " WHERE uid = 'C-INPUT-VALIDATION@web'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	const struct config_project *quiet = config_find_project(x.g.cfg, "quiet");
	assert_non_null(quiet);
	assert_false(quiet->reopen_on_failed_verification);
	assert_true(config_find_project(x.g.cfg, "shop")->reopen_on_failed_verification);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input")};
	struct fake k = {.f = f, .n = 1};
	struct ingest_request r = {.project = "shop",
	                           .path = "fake.sarif",
	                           .cwe = x.cwe,
	                           .project_cfg = quiet,
	                           .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	assert_int_equal(ingest_run(x.g.s, &r, "q1", produce, &k, &res, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "notices")), 0);
	json_decref(res);
	expect_text(&x,
	            "SELECT status || ' ' || verification FROM countermeasures"
	            " WHERE uid = 'C-INPUT-VALIDATION@web'",
	            "done failed");
	fx_close(&x);
}

/* Many results: generated on the fly, a third on each component, a third
 * unmapped; each file holds four results. */
struct many {
	int n;
};

static int produce_many(void *ud, finding_cb cb, void *cb_ud, struct findings_report *rep,
                        struct ts_err *err)
{
	const struct many *m = ud;
	rep->format = FINDINGS_FORMAT_SARIF;
	for (int i = 0; i < m->n; i++) {
		char path[64], msg[64];
		static const char *const dirs[] = {"src/web/app", "src/web/api/v1", "vendor/lib"};
		snprintf(path, sizeof(path), "%s/f%d.c", dirs[i % 3], i / 4);
		snprintf(msg, sizeof(msg), "result %d", i);
		int cwe = i % 2 ? 79 : 89;
		struct finding f = SAST(i % 2 ? "xss" : "sqli", path, i % 97 + 1, cwe, msg);
		int rc = cb(cb_ud, &f, err);
		if (rc)
			return rc;
		rep->results++;
	}
	return 0;
}

/* Findings "result N" (a path and message of their own) in the order of
 * idx; tools[i] (when set) names the tool of the i-th. */
struct listed {
	const int *idx;
	int n;
	int handed; /* results the callback took */
	bool many_tools;
};

static int produce_listed(void *ud, finding_cb cb, void *cb_ud, struct findings_report *rep,
                          struct ts_err *err)
{
	struct listed *l = ud;
	rep->format = FINDINGS_FORMAT_SARIF;
	for (int i = 0; i < l->n; i++) {
		char path[64], msg[64], tool[32];
		snprintf(path, sizeof(path), "src/web/r%d.c", l->idx[i]);
		snprintf(msg, sizeof(msg), "result %d", l->idx[i]);
		snprintf(tool, sizeof(tool), "tool%d", i);
		struct finding f = SAST("sqli", path, 1, 89, msg);
		if (l->many_tools)
			f.tool = tool;
		int rc = cb(cb_ud, &f, err);
		if (rc)
			return rc;
		l->handed++;
		rep->results++;
	}
	return 0;
}

static json_t *ingest_listed(struct fx *x, const char *hash, const int *idx, int n)
{
	struct listed l = {.idx = idx, .n = n};
	struct ingest_request r = {
	    .project = "shop", .path = "fake.sarif", .cwe = x->cwe, .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	if (ingest_run(x->g.s, &r, hash, produce_listed, &l, &res, &err))
		fail_msg("ingest: %s", err.msg);
	return res;
}

/* The finding ids of scan's history rows, in the order recorded. */
static void expect_history(struct fx *x, int scan, const char *want)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT group_concat(finding_id, ',') FROM (SELECT finding_id FROM"
	         " finding_history WHERE scan_id = %d ORDER BY id)",
	         scan);
	expect_text(x, sql, want);
}

/* Rows are written many to a statement: ids and history rows still come
 * out in document order, as row-by-row writing gave them, across the
 * statement boundaries and with known and new findings interleaved. */
static void test_rows_in_document_order(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	int idx[200];
	for (int i = 0; i < 200; i++)
		idx[i] = i;
	/* scan 1: results 0..99 get ids 1..100 */
	json_t *res = ingest_listed(&x, "a", idx, 100);
	assert_int_equal(count(res, "new"), 100);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings"
	                       " WHERE id = CAST(substr(message, 8) AS INTEGER) + 1"),
	                 100);
	/* scan 2: 50..99 known, 100..199 new (ids 101..200), 0..49 fixed */
	res = ingest_listed(&x, "b", idx + 50, 150);
	assert_int_equal(count(res, "new"), 100);
	assert_int_equal(count(res, "still_open"), 50);
	assert_int_equal(count(res, "fixed"), 50);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings"
	                       " WHERE id = CAST(substr(message, 8) AS INTEGER) + 1"),
	                 200);
	struct ts_buf want = {0};
	for (int i = 101; i <= 200; i++)
		ts_buf_printf(&want, "%s%d", want.len ? "," : "", i);
	for (int i = 1; i <= 50; i++)
		ts_buf_printf(&want, ",%d", i);
	expect_history(&x, 2, want.data);
	/* scan 3: fixed 0..49 and new 200..249 in turns, then 50..99 still
	 * open; 100..199 fixed */
	int mix[150];
	for (int k = 0; k < 100; k++)
		mix[k] = k % 2 ? 200 + k / 2 : k / 2;
	for (int k = 100; k < 150; k++)
		mix[k] = k - 50;
	res = ingest_listed(&x, "c", mix, 150);
	assert_int_equal(count(res, "reopened"), 50);
	assert_int_equal(count(res, "new"), 50);
	assert_int_equal(count(res, "still_open"), 50);
	assert_int_equal(count(res, "fixed"), 100);
	json_decref(res);
	want.len = 0;
	for (int k = 0; k < 100; k++)
		ts_buf_printf(&want, "%s%d", k ? "," : "", k % 2 ? 201 + k / 2 : 1 + k / 2);
	for (int i = 101; i <= 200; i++)
		ts_buf_printf(&want, ",%d", i);
	expect_history(&x, 3, want.data);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings"
	                       " WHERE id = CAST(substr(message, 8) AS INTEGER) + 1"),
	                 250);
	assert_int_equal(q(&x, "SELECT count(*) FROM scan_findings WHERE scan_id = 3"), 150);
	/* the page cache grown for the ingests is the store's again */
	assert_int_equal(q(&x, "PRAGMA cache_size"), -32768);
	ts_buf_free(&want);
	fx_close(&x);
}

/* A rescan takes back the correlations the scan no longer confirms, keeps a
 * person's, and adds new ones to a finding that had none. */
static void test_rescan_takes_back_correlations(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	struct finding f[] = {SAST("sqli", "src/web/db.c", 10, 89, "SQL built from input"),
	                      SAST("todo", "src/web/x.c", 1, 0, "A note")};
	static const char by_rule[] =
	    "SELECT group_concat(x, '|') FROM (SELECT t.uid || ' ' || c.method AS x FROM"
	    " correlations c JOIN threats t ON t.id = c.threat_id JOIN findings f ON"
	    " f.id = c.finding_id WHERE f.rule_id = '%s' ORDER BY t.uid)";
	char sql[400];
	json_decref(ingest(&x, "h1", NOW, f, 2, false));
	snprintf(sql, sizeof(sql), by_rule, "sqli");
	expect_text(&x, sql, "T-INJECTION@web cwe_ancestor");
	assert_int_equal(q(&x, "SELECT count(*) FROM correlations c JOIN findings f ON"
	                       " f.id = c.finding_id WHERE f.rule_id = 'todo'"),
	                 0);
	assert_int_equal(sqlite3_exec(store_db(x.g.s),
	                              "INSERT INTO correlations(finding_id, threat_id, method,"
	                              " cwe_path, created_at) SELECT f.id, t.id, 'manual', '[]',"
	                              " 'now' FROM findings f, threats t WHERE f.rule_id = 'todo'"
	                              " AND t.uid = 'T-XSS@api'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	/* the CWE moves from one finding to the other */
	f[0].n_cwe = 0;
	f[1].cwe[0] = 89;
	f[1].n_cwe = 1;
	json_t *res = ingest(&x, "h2", "2026-11-23T10:00:00.000Z", f, 2, false);
	assert_int_equal(count(res, "still_open"), 2);
	assert_int_equal(count(res, "correlated"), 1);
	json_decref(res);
	snprintf(sql, sizeof(sql), by_rule, "sqli");
	assert_int_equal(q(&x, "SELECT count(*) FROM correlations c JOIN findings f ON"
	                       " f.id = c.finding_id WHERE f.rule_id = 'sqli'"),
	                 0);
	snprintf(sql, sizeof(sql), by_rule, "todo");
	expect_text(&x, sql, "T-INJECTION@web cwe_ancestor|T-XSS@api manual");
	/* and away again: the person's stays */
	f[1].n_cwe = 0;
	json_decref(ingest(&x, "h3", "2026-11-24T10:00:00.000Z", f, 2, false));
	expect_text(&x, sql, "T-XSS@api manual");
	fx_close(&x);
}

/* An error while storing (the 65th tool of a report) stops the parse, which
 * runs on its own thread: it hands over at most a queue's worth more, and
 * nothing is written. */
static void test_store_error_stops_parse(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	enum { N = 100000 };
	int *idx = ts_malloc(N * sizeof(*idx));
	for (int i = 0; i < N; i++)
		idx[i] = i;
	struct listed l = {.idx = idx, .n = N, .many_tools = true};
	struct ingest_request r = {
	    .project = "shop", .path = "fake.sarif", .cwe = x.cwe, .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	assert_int_equal(ingest_run(x.g.s, &r, "tools", produce_listed, &l, &res, &err),
	                 TS_E_INVALID);
	assert_null(res);
	assert_string_equal(err.msg, "fake.sarif: $: more than 64 tools in one report");
	assert_true(l.handed >= 64);
	assert_true(l.handed <= 64 + 256 + 1);
	assert_int_equal(q(&x, "SELECT count(*) FROM scans"), 0);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings"), 0);
	free(idx);
	fx_close(&x);
}

static void test_many_findings(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	/* 250,000 results; fewer under valgrind, which is a hundred times slower. */
	struct many m = {.n = getenv("TS_VALGRIND") ? 3000 : 250000};
	struct ingest_request r = {.project = "shop",
	                           .path = "big.sarif",
	                           .cwe = x.cwe,
	                           .project_cfg = config_find_project(x.g.cfg, "shop"),
	                           .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	int64_t t0 = ts_monotonic_ms();
	assert_int_equal(ingest_run(x.g.s, &r, "big", produce_many, &m, &res, &err), 0);
	int64_t t1 = ts_monotonic_ms();
	assert_int_equal(count(res, "results"), m.n);
	assert_int_equal(count(res, "new"), m.n);
	assert_int_equal(count(res, "unmapped"), m.n / 3);
	assert_int_equal(count(res, "correlated"), m.n - m.n / 3);
	json_decref(res);
	/* Again, as the next scan: every finding still open. */
	r.now = "2026-11-23T10:00:00.000Z";
	assert_int_equal(ingest_run(x.g.s, &r, "big2", produce_many, &m, &res, &err), 0);
	int64_t t2 = ts_monotonic_ms();
	assert_int_equal(count(res, "still_open"), m.n);
	json_decref(res);
	print_message("%d results: first ingest %lld ms, second %lld ms\n", m.n,
	              (long long)(t1 - t0), (long long)(t2 - t1));
	fx_close(&x);
}

/* A real CodeQL log (tests/data/findings/sarif, PROVENANCE.md there): 72
 * results on bad/, good/ and utils/; the expected figures come from jq over
 * the log and the ChildOf links of library/cwe.json (docs/findings.md). */
static void test_real_codeql_log(void **state)
{
	(void)state;
	struct fx x;
	char *conf = ts_asprintf("%s/tests/data/ingest/ingest.conf", tu_env("TS_SOURCE_DIR"));
	char *model = ts_asprintf("%s/tests/data/ingest/vulpy.json", tu_env("TS_SOURCE_DIR"));
	char *log =
	    ts_asprintf("%s/tests/data/findings/sarif/codeql-2.5.4.sarif", tu_env("TS_SOURCE_DIR"));
	gu_open(&x.g, conf);
	gu_import(&x.g, "vulpy", model);
	json_decref(gu_generate(&x.g, "vulpy", "2026-11-01T00:00:00.000Z"));
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[] = {dir};
	struct ts_err err = {0};
	assert_int_equal(cwe_catalog_load(dirs, 1, &x.cwe, &err), 0);
	free(dir);

	struct ingest_request r = {
	    .project = "vulpy", .path = log, .name = "codeql.sarif", .cwe = x.cwe, .now = NOW};
	json_t *res = NULL;
	if (ingest_report(x.g.s, &r, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_false(json_is_true(json_object_get(res, "unchanged")));
	/* sha256sum of the file */
	assert_string_equal(json_string_value(json_object_get(res, "content_hash")),
	                    "280da22fe8722af988ab9f7782f247b19f546a0f10a2843f1664706166e1f2eb");
	assert_string_equal(json_string_value(json_object_get(res, "format")), "sarif");
	json_t *scans = json_object_get(res, "scans");
	assert_int_equal(json_array_size(scans), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(scans, 0), "tool")),
	                    "CodeQL");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(scans, 0), "tool_version")), "2.5.4");
	assert_int_equal(count(res, "results"), 72);
	assert_int_equal(count(res, "new"), 72);
	assert_int_equal(count(res, "unmapped"), 12);
	assert_int_equal(count(res, "correlated"), 5);
	assert_int_equal(json_array_size(json_object_get(res, "verification")), 4);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE fingerprint LIKE 'tool:%'"),
	                 72);
	assert_int_equal(q(&x, "SELECT count(*) FROM correlations"), 7);
	expect_text(&x,
	            "SELECT group_concat(x, '|') FROM (SELECT t.uid || ' ' || c.method || ' ' ||"
	            " c.cwe_path AS x FROM correlations c JOIN threats t ON t.id = c.threat_id"
	            " JOIN findings f ON f.id = c.finding_id WHERE f.rule_id = 'py/path-injection'"
	            " ORDER BY t.uid)",
	            "T-INJECTION@bad cwe_ancestor [99, 74]");
	expect_text(&x,
	            "SELECT group_concat(x, '|') FROM (SELECT uid || ' ' || verification AS x"
	            " FROM countermeasures ORDER BY uid)",
	            "C-INPUT-VALIDATION@bad failed|C-INPUT-VALIDATION@good failed|"
	            "C-OUTPUT-ENCODING@bad failed|C-OUTPUT-ENCODING@good failed");

	/* The same file: nothing new. */
	r.now = "2026-11-23T10:00:00.000Z";
	assert_int_equal(ingest_report(x.g.s, &r, &res, &err), 0);
	assert_true(json_is_true(json_object_get(res, "unchanged")));
	json_decref(res);

	/* A rescan where the two SQL injections are gone. */
	json_t *doc = json_load_file(log, 0, NULL);
	assert_non_null(doc);
	json_t *results =
	    json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "results");
	for (size_t i = json_array_size(results); i-- > 0;) {
		const char *rule =
		    json_string_value(json_object_get(json_array_get(results, i), "ruleId"));
		if (strcmp(rule, "py/sql-injection") == 0)
			json_array_remove(results, i);
	}
	char *rescan = ts_asprintf("%s/rescan.sarif", x.g.dir);
	assert_int_equal(json_dump_file(doc, rescan, JSON_COMPACT), 0);
	json_decref(doc);
	r.path = rescan;
	r.name = "rescan.sarif";
	assert_int_equal(ingest_report(x.g.s, &r, &res, &err), 0);
	assert_int_equal(count(res, "results"), 70);
	assert_int_equal(count(res, "new"), 0);
	assert_int_equal(count(res, "still_open"), 70);
	assert_int_equal(count(res, "fixed"), 2);
	/* The path injection and the XSS keep bad's tasks failed. */
	assert_int_equal(json_array_size(json_object_get(res, "verification")), 0);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE status = 'fixed'"
	                       " AND rule_id = 'py/sql-injection'"),
	                 2);

	/* A clean scan: the run of CodeQL without results is still its complete
	 * scan, so everything it found is fixed and the failed tasks pass. */
	doc = json_load_file(log, 0, NULL);
	json_object_set_new(json_array_get(json_object_get(doc, "runs"), 0), "results",
	                    json_array());
	char *clean = ts_asprintf("%s/clean.sarif", x.g.dir);
	assert_int_equal(json_dump_file(doc, clean, JSON_COMPACT), 0);
	json_decref(doc);
	r.path = clean;
	r.name = "clean.sarif";
	r.now = "2026-11-24T10:00:00.000Z";
	assert_int_equal(ingest_report(x.g.s, &r, &res, &err), 0);
	scans = json_object_get(res, "scans");
	assert_int_equal(json_array_size(scans), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(scans, 0), "tool")),
	                    "CodeQL");
	assert_int_equal(count(res, "results"), 0);
	assert_int_equal(count(res, "fixed"), 70);
	assert_int_equal(json_array_size(json_object_get(res, "verification")), 4);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE status = 'open'"), 0);
	expect_text(&x,
	            "SELECT group_concat(x, '|') FROM (SELECT uid || ' ' || verification AS x"
	            " FROM countermeasures ORDER BY uid)",
	            "C-INPUT-VALIDATION@bad passed|C-INPUT-VALIDATION@good passed|"
	            "C-OUTPUT-ENCODING@bad passed|C-OUTPUT-ENCODING@good passed");
	free(clean);
	free(rescan);
	free(conf);
	free(model);
	free(log);
	fx_close(&x);
}

/* The tool's suppressions in a real log (tests/data/findings/sarif): three
 * of four results carry suppressions without a status (accepted). */
/* A GitLab report without vulnerabilities is a complete scan by its scanner:
 * what that scanner found before is fixed. */
static void test_real_gitlab_clean_report(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	char *gl =
	    ts_asprintf("%s/tests/data/findings/reports/gl-sast-cwe.json", tu_env("TS_SOURCE_DIR"));
	struct ingest_request r = {.project = "shop", .path = gl, .cwe = x.cwe, .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	if (ingest_report(x.g.s, &r, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(count(res, "new"), 3);
	json_decref(res);
	json_t *doc = json_load_file(gl, 0, NULL);
	json_object_set_new(doc, "vulnerabilities", json_array());
	char *clean = ts_asprintf("%s/clean.json", x.g.dir);
	assert_int_equal(json_dump_file(doc, clean, 0), 0);
	json_decref(doc);
	r.path = clean;
	r.now = "2026-11-23T10:00:00.000Z";
	if (ingest_report(x.g.s, &r, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(count(res, "results"), 0);
	assert_int_equal(count(res, "fixed"), 3);
	json_decref(res);
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE status = 'fixed'"), 3);
	free(clean);
	free(gl);
	fx_close(&x);
}

static void test_real_suppressions(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x);
	char *log = ts_asprintf("%s/tests/data/findings/sarif/suppression-test-current.sarif",
	                        tu_env("TS_SOURCE_DIR"));
	struct ingest_request r = {.project = "shop", .path = log, .cwe = x.cwe, .now = NOW};
	json_t *res = NULL;
	struct ts_err err = {0};
	if (ingest_report(x.g.s, &r, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(count(res, "results"), 4);
	assert_int_equal(count(res, "new"), 4);
	assert_int_equal(count(res, "suppressed"), 3);
	assert_int_equal(count(res, "unmapped"), 4);
	json_decref(res);
	expect_text(&x,
	            "SELECT group_concat(rule_id || ' ' || status, '|') FROM"
	            " (SELECT * FROM findings ORDER BY rule_id)",
	            "TST0001 suppressed|TST0002 suppressed|TST0003 suppressed|TST0004 open");
	assert_int_equal(q(&x, "SELECT count(*) FROM findings WHERE suppressed_by = 'tool'"), 3);
	free(log);
	fx_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_globs_and_urls),
	    cmocka_unit_test(test_fingerprints_pinned),
	    cmocka_unit_test(test_correlation_and_mapping),
	    cmocka_unit_test(test_line_shift_keeps_fingerprint),
	    cmocka_unit_test(test_lifecycle_three_scans),
	    cmocka_unit_test(test_suppression),
	    cmocka_unit_test(test_identical_reingest_is_noop),
	    cmocka_unit_test(test_failed_ingest_changes_nothing),
	    cmocka_unit_test(test_verification_failed_then_passed),
	    cmocka_unit_test(test_done_task_reopened_once),
	    cmocka_unit_test(test_no_reopen_when_configured),
	    cmocka_unit_test(test_many_findings),
	    cmocka_unit_test(test_rows_in_document_order),
	    cmocka_unit_test(test_store_error_stops_parse),
	    cmocka_unit_test(test_rescan_takes_back_correlations),
	    cmocka_unit_test(test_rule_correlation),
	    cmocka_unit_test(test_real_codeql_log),
	    cmocka_unit_test(test_real_gitlab_clean_report),
	    cmocka_unit_test(test_real_suppressions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
