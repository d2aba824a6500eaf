/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the streaming JSON reader: items handed over one at a time with
 * their paths and indices, the partial document beside them, skipped values,
 * and every bound (depth, token length, item size) and syntax error named. */
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings.h"
#include "engine/findings/jstream.h"
#include "helpers/testutil.h"

struct seen {
	struct jstream *js;
	struct ts_buf log;
	int stop_at;
	int n;
};

static int on_item(void *ud, json_t *item, const char *doc_path, const size_t *idx, size_t n_idx,
                   struct ts_err *err)
{
	struct seen *s = ud;
	char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	ts_buf_printf(&s->log, "%s=%s", doc_path, text);
	for (size_t i = 0; i < n_idx; i++)
		ts_buf_printf(&s->log, "%s%zu", i ? "," : " @", idx[i]);
	/* what the partial document holds at this moment */
	json_t *root = jstream_root(s->js);
	json_t *run = json_array_get(json_object_get(root, "runs"), n_idx ? idx[0] : 0);
	const char *tool = json_string_value(json_object_get(run, "tool"));
	if (tool)
		ts_buf_printf(&s->log, " tool=%s", tool);
	ts_buf_puts(&s->log, "\n");
	free(text);
	if (++s->n == s->stop_at)
		return ts_err_set(err, TS_E_INVALID, "stopped at %d", s->n);
	return 0;
}

static int run(const char *doc, struct seen *s, struct ts_err *err)
{
	s->js = jstream_new("r.json");
	jstream_emit(s->js, "$.runs[*].results[*]", on_item, s);
	jstream_skip(s->js, "$.runs[*].artifacts");
	int rc = jstream_run_buffer(s->js, doc, strlen(doc), err);
	return rc;
}

static void test_items_and_partial_document(void **state)
{
	(void)state;
	struct seen s = {0};
	struct ts_err err = {0};
	const char *doc = "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":\"a\",\"artifacts\":[{\"x\":1}],"
	                  "\"results\":[{\"id\":1},{\"id\":2,\"n\":[1.5,null,true]}]},"
	                  "{\"results\":[\"s\"],\"tool\":\"b\"}]}";
	assert_int_equal(run(doc, &s, &err), 0);
	assert_string_equal(s.log.data,
	                    "$.runs[0].results[0]={\"id\":1} @0,0 tool=a\n"
	                    "$.runs[0].results[1]={\"id\":2,\"n\":[1.5,null,true]} @0,1 tool=a\n"
	                    "$.runs[1].results[0]=\"s\" @1,0\n");
	/* the emitted values and the skipped ones are not in the document */
	char *rest = json_dumps(jstream_root(s.js), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(rest, "{\"runs\":[{\"results\":[],\"tool\":\"a\"},{\"results\":[],\"tool\":\"b\"}],"
	                          "\"version\":\"2.1.0\"}");
	free(rest);
	jstream_free(s.js);
	ts_buf_free(&s.log);
}

static void test_callback_stops(void **state)
{
	(void)state;
	struct seen s = {.stop_at = 2};
	struct ts_err err = {0};
	const char *doc = "{\"runs\":[{\"results\":[1,2,3]}]}";
	assert_int_equal(run(doc, &s, &err), TS_E_INVALID);
	assert_string_equal(err.msg, "stopped at 2");
	jstream_free(s.js);
	ts_buf_free(&s.log);
}

static void expect_error(const char *doc, size_t len, const char *needle)
{
	struct seen s = {0};
	struct ts_err err = {0};
	s.js = jstream_new("r.json");
	jstream_emit(s.js, "$.runs[*].results[*]", on_item, &s);
	int rc = jstream_run_buffer(s.js, doc, len, &err);
	if (rc != TS_E_INVALID || !strstr(err.msg, needle))
		fail_msg("rc %d, message '%s', expected '%s'", rc, err.msg, needle);
	jstream_free(s.js);
	ts_buf_free(&s.log);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	const char *trunc = "{\"runs\":[{\"results\":[{\"a\":1}";
	expect_error(trunc, strlen(trunc), "r.json: $.runs[0].results[0]: the file ends inside");
	const char *bad = "{\"runs\":[{\"results\":[{\"a\":}]}]}";
	expect_error(bad, strlen(bad), "r.json: $.runs[0].results[0].a: invalid JSON at byte");
	const char *utf8 = "{\"runs\":[\"\xC3\x28\"]}";
	expect_error(utf8, strlen(utf8), "invalid JSON at byte");
	expect_error("", 0, "r.json: $: the file is empty");
	expect_error("{} {}", 5, "invalid JSON");
}

static void test_bounds(void **state)
{
	(void)state;
	/* nesting thousands deep */
	size_t n = 5000;
	char *deep = ts_malloc(2 * n + 1);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	expect_error(deep, 2 * n, "nesting deeper than 64 levels");
	free(deep);
	/* a string of megabytes, inside and outside an item */
	size_t big = 3 * 1024 * 1024;
	char *s = ts_malloc(big + 64);
	int k = snprintf(s, 64, "{\"runs\":[{\"results\":[\"");
	memset(s + k, 'a', big);
	strcpy(s + k + big, "\"]}]}");
	expect_error(s, strlen(s), "longer than 1 MiB");
	k = snprintf(s, 64, "{\"x\":\"");
	memset(s + k, 'a', big);
	strcpy(s + k + big, "\"}");
	expect_error(s, strlen(s), "r.json: $.x: a string or number longer than 1 MiB");
	free(s);
	/* one result larger than 8 MiB, made of strings under 1 MiB */
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"runs\":[{\"results\":[[");
	char *chunk = ts_malloc(512 * 1024 + 1);
	memset(chunk, 'b', 512 * 1024);
	chunk[512 * 1024] = '\0';
	for (int i = 0; i < 20; i++)
		ts_buf_printf(&b, "%s\"%s\"", i ? "," : "", chunk);
	ts_buf_puts(&b, "]]}]}");
	expect_error(b.data, b.len, "one result is larger than 8 MiB");
	free(chunk);
	ts_buf_free(&b);
}

static void test_file(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *f = tu_write_file(dir, "r.json", "\xEF\xBB\xBF{\"runs\":[{\"results\":[7,8]}]}");
	struct seen s = {0};
	struct ts_err err = {0};
	s.js = jstream_new("r.json");
	jstream_emit(s.js, "$.runs[*].results[*]", on_item, &s);
	/* a UTF-8 byte order mark is passed over */
	assert_int_equal(jstream_run(s.js, f, &err), 0);
	assert_string_equal(s.log.data, "$.runs[0].results[0]=7 @0,0\n$.runs[0].results[1]=8 @0,1\n");
	jstream_free(s.js);
	ts_buf_free(&s.log);
	struct jstream *js = jstream_new("missing.json");
	assert_int_equal(jstream_run(js, "/nonexistent/x.json", &err), TS_E_IO);
	assert_string_equal(err.msg, "missing.json: No such file or directory");
	jstream_free(js);
	free(f);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items_and_partial_document),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
