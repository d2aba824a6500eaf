/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync ingest` and `threatsync findings` as a user runs them: exit
 * codes, messages, and a database left as it was by a refused report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/gen_util.h"
#include "helpers/testutil.h"

struct cx {
	struct gu g;
	char *conf;
};

static void cx_open_model(struct cx *c, const char *slug, const char *name)
{
	c->conf = ts_asprintf("%s/tests/data/ingest/ingest.conf", tu_env("TS_SOURCE_DIR"));
	char *model = ts_asprintf("%s/tests/data/ingest/%s", tu_env("TS_SOURCE_DIR"), name);
	gu_open(&c->g, c->conf);
	gu_import(&c->g, slug, model);
	json_decref(gu_generate(&c->g, slug, "2026-11-01T00:00:00.000Z"));
	free(model);
	store_close(c->g.s); /* the CLI alone writes from here */
	c->g.s = NULL;
}

static void cx_open(struct cx *c)
{
	cx_open_model(c, "shop", "shop.json");
}

static void cx_close(struct cx *c)
{
	free(c->conf);
	gu_close(&c->g);
}

static int cli(struct cx *c, char **out, char **err, const char *a1, const char *a2, const char *a3,
               const char *a4, const char *a5)
{
	return tu_cli(out, err, "-c", c->conf, "--db", c->g.db, a1, a2, a3, a4, a5, NULL);
}

static void test_ingest_refusals(void **state)
{
	(void)state;
	struct cx c;
	cx_open(&c);
	char *bad = tu_write_file(c.g.dir, "bad.sarif", "{\"runs\": [ {\"results\": [ ");
	char *garbage = tu_write_file(c.g.dir, "notes.txt", "hello");
	char *missing = ts_asprintf("%s/none.sarif", c.g.dir);
	char before[65], after[65];
	char *out = NULL, *err = NULL;
	/* The first connection that reads the tables of findings may refresh
	 * SQLite's query statistics when it closes (PRAGMA optimize in
	 * store_close): a refusal run once before the hash settles them, so the
	 * hash compares what ingestion writes, which must be nothing. */
	assert_int_equal(cli(&c, NULL, &err, "ingest", "shop", garbage, NULL, NULL), EX_DATAERR);
	free(err);
	tu_file_hash(c.g.db, before);
	assert_int_equal(cli(&c, NULL, &err, "ingest", "shop", NULL, NULL, NULL), EX_USAGE);
	assert_non_null(strstr(err, "usage: threatsync ingest SLUG FILE..."));
	free(err);
	assert_int_equal(cli(&c, NULL, &err, "ingest", "shop", bad, "--format", "trivy"), EX_USAGE);
	assert_non_null(strstr(err, "unknown report format 'trivy'"));
	free(err);
	assert_int_equal(cli(&c, NULL, &err, "ingest", "nope", bad, NULL, NULL), EX_NOINPUT);
	free(err);
	assert_int_equal(cli(&c, NULL, &err, "ingest", "shop", missing, NULL, NULL), EX_NOINPUT);
	assert_non_null(strstr(err, "none.sarif: No such file or directory"));
	free(err);
	/* Not a report: exit 65, the file named. */
	assert_int_equal(cli(&c, &out, &err, "ingest", "shop", garbage, NULL, NULL), EX_DATAERR);
	assert_non_null(strstr(err, "notes.txt"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	/* A truncated report: exit 65, the file and the place in the document
	 * named, nothing written. */
	assert_int_equal(cli(&c, &out, &err, "ingest", "shop", bad, NULL, NULL), EX_DATAERR);
	assert_non_null(strstr(err, "bad.sarif: $.runs[0].results: the file ends inside the "
	                            "document at byte 25"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	tu_file_hash(c.g.db, after);
	assert_string_equal(before, after);
	free(bad);
	free(garbage);
	free(missing);
	cx_close(&c);
}

static void test_findings_command(void **state)
{
	(void)state;
	struct cx c;
	cx_open(&c);
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(&c, &out, NULL, "findings", "shop", NULL, NULL, NULL), 0);
	assert_string_equal(out, "no findings\n");
	free(out);
	assert_int_equal(cli(&c, &out, NULL, "findings", "shop", "--json", NULL, NULL), 0);
	json_t *doc = json_loads(out, 0, NULL);
	free(out);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "project")), "shop");
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "counts"), "open")), 0);
	json_decref(doc);
	assert_int_equal(cli(&c, NULL, &err, "findings", "nope", NULL, NULL, NULL), EX_NOINPUT);
	free(err);
	assert_int_equal(cli(&c, NULL, &err, "findings", "shop", "--status", "closed", NULL),
	                 EX_USAGE);
	assert_non_null(strstr(err, "unknown finding status 'closed'"));
	free(err);
	assert_int_equal(cli(&c, NULL, &err, "findings", "shop", "--suppress", "3", NULL),
	                 EX_USAGE);
	assert_non_null(strstr(err, "--suppress needs --reason"));
	free(err);
	assert_int_equal(cli(&c, NULL, &err, "findings", "shop", "--suppress", "x1", "--reason"),
	                 EX_USAGE);
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "-c", c.conf, "--db", c.g.db, "findings", "shop",
	                        "--suppress", "7", "--reason", "fp", NULL),
	                 EX_NOINPUT);
	assert_non_null(strstr(err, "project shop has no finding 7"));
	free(err);
	cx_close(&c);
}

/* The CodeQL log of tests/data/findings/sarif: what a person reads. The test
 * library has no CWE catalog, so correlation is by equal CWE ids only (the
 * two reflected XSS results), and the command says so. */
static void test_ingest_real_log(void **state)
{
	(void)state;
	struct cx c;
	cx_open_model(&c, "vulpy", "vulpy.json");
	char *log =
	    ts_asprintf("%s/tests/data/findings/sarif/codeql-2.5.4.sarif", tu_env("TS_SOURCE_DIR"));
	char *out = NULL, *err = NULL;
	assert_int_equal(cli(&c, &out, &err, "ingest", "vulpy", log, NULL, NULL), 0);
	char *want = ts_asprintf("%s: scan 1 by CodeQL 2.5.4: 72 results, 72 new, 0 still open, 0 "
	                         "fixed, 0 reopened, 0 suppressed, 12 unmapped, 2 correlated\n"
	                         "  verification of C-OUTPUT-ENCODING@bad: untested -> failed\n"
	                         "  verification of C-OUTPUT-ENCODING@good: untested -> failed\n",
	                         log);
	assert_string_equal(out, want);
	assert_non_null(strstr(err, "findings correlate by equal CWE ids only"));
	free(want);
	free(out);
	free(err);
	assert_int_equal(cli(&c, &out, NULL, "ingest", "vulpy", log, "--json", NULL), 0);
	json_t *doc = json_loads(out, 0, NULL);
	free(out);
	json_t *rep = json_array_get(json_object_get(doc, "reports"), 0);
	assert_true(json_is_true(json_object_get(rep, "unchanged")));
	json_decref(doc);
	assert_int_equal(cli(&c, &out, NULL, "findings", "vulpy", "--unmapped", NULL, NULL), 0);
	assert_non_null(strstr(out, "\n12 open, 0 fixed, 0 suppressed, 12 unmapped\n"));
	assert_non_null(strstr(out, " unmapped "));
	free(out);
	assert_int_equal(cli(&c, &out, NULL, "findings", "vulpy", "--unmapped", "--json", NULL), 0);
	doc = json_loads(out, 0, NULL);
	free(out);
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), 12);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "counts"), "open")), 12);
	json_decref(doc);
	free(log);
	cx_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ingest_refusals),
	    cmocka_unit_test(test_findings_command),
	    cmocka_unit_test(test_ingest_real_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
