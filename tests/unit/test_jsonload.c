/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of ts_json_loadb: for documents of every kind, valid and broken, the
 * same tree (values, types, member order) or the same error as json_loadb
 * with JSON_REJECT_DUPLICATES. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonload.h"
#include "engine/util.h"
#include "helpers/testutil.h"

/* Checks that both readers agree on data; returns whether it is valid. */
static bool agree(const char *data, size_t len)
{
	json_error_t want_err, got_err;
	memset(&want_err, 0, sizeof(want_err));
	memset(&got_err, 0, sizeof(got_err));
	json_t *want = json_loadb(data, len, JSON_REJECT_DUPLICATES, &want_err);
	json_t *got = ts_json_loadb(data, len, &got_err);
	if (!want) {
		if (got)
			fail_msg("accepted what jansson refuses (%s): %.*s", want_err.text, (int)len,
			         data);
		assert_string_equal(got_err.text, want_err.text);
		assert_string_equal(got_err.source, want_err.source);
		assert_int_equal(got_err.line, want_err.line);
		assert_int_equal(got_err.column, want_err.column);
		assert_int_equal(got_err.position, want_err.position);
		return false;
	}
	if (!got)
		fail_msg("refused what jansson reads (%s): %.*s", got_err.text, (int)len, data);
	assert_true(json_equal(want, got));
	/* the dump keeps member order and tells 1 from 1.0 */
	char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(want);
	json_decref(got);
	return true;
}

static bool agree_str(const char *s)
{
	return agree(s, strlen(s));
}

static void test_valid_documents(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "{}",
	    "[]",
	    " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
	    "{\"a\": 1, \"b\": {\"c\": [true, false, null]}, \"d\": \"\"}",
	    "{\"z\": 1, \"a\": 2, \"m\": 3}",
	    "[0, -0, 7, -7, 123456789012345678, -123456789012345678]",
	    "[1234567890123456789, -9223372036854775808, 9223372036854775807]",
	    "[0.5, -0.0, 1e3, 1E3, 1e+3, 1e-3, 2.5E-300, 1.7976931348623157e308, 1e-400]",
	    "[0.1, 3.141592653589793, 1.0, 100.000000000000000000001]",
	    "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"]",
	    "[\"\\u00e9\\u20ac\\ud83d\\ude00\", \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]",
	    "{\"k\\u0041y\": 1, \"k\\ny\": 2, \"caf\xc3\xa9\": 3}",
	    "{\"\": \"\", \"a\": {\"\": []}}",
	    "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
	    "[\"\x7f\"]",
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(docs); i++)
		if (!agree_str(docs[i]))
			fail_msg("document %zu should be valid", i);
	/* a long key and a long string */
	struct ts_buf b = {0};
	ts_buf_puts(&b, "{\"");
	for (int i = 0; i < 600; i++)
		ts_buf_puts(&b, "k");
	ts_buf_puts(&b, "\": \"");
	for (int i = 0; i < 5000; i++)
		ts_buf_puts(&b, i % 50 ? "x" : "\\n");
	ts_buf_puts(&b, "\"}");
	assert_true(agree(b.data, b.len));
	ts_buf_free(&b);
}

static void test_broken_documents(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "",
	    "   ",
	    "1",
	    "\"a\"",
	    "null",
	    "{",
	    "{\"a\"}",
	    "{\"a\": }",
	    "{\"a\": 1,}",
	    "[1,]",
	    "[1 2]",
	    "{\"a\": 1, \"a\": 2}",
	    "{\"a\": {\"b\": 1, \"b\": 1}}",
	    "[01]",
	    "[-]",
	    "[1.]",
	    "[.5]",
	    "[1e]",
	    "[+1]",
	    "[1x]",
	    "[truex]",
	    "[tru]",
	    "[nul]",
	    "[99999999999999999999]",
	    "[-99999999999999999999]",
	    "[1e400]",
	    "[\"a\nb\"]",
	    "[\"\\x\"]",
	    "[\"\\u00\"]",
	    "[\"\\u0000\"]",
	    "{\"a\\u0000b\": 1}",
	    "[\"\\ud83d\"]",
	    "[\"\\ude00\"]",
	    "[\"\xc3\"]",
	    "[\"\xff\"]",
	    "[\"\xed\xa0\x80\"]",
	    "[\"\xc0\xaf\"]",
	    "\xef\xbb\xbf{}",
	    "{} x",
	    "{}{}",
	    "[\"unterminated",
	    "{\"a\": 1 \"b\": 2}",
	    "[1] \x01",
	    /* white space to yajl, not to JSON or jansson */
	    "{\v\"a\": 1}",
	    "[1,\f2]",
	    "[1]\v",
	    /* comments are not JSON */
	    "[1 /* c */]",
	    "[1] // c",
	    /* an unfinished token after the document */
	    "{\"a\": 1}\n  \"",
	    "[1] \"abc]",
	    "[1] tru",
	    "{} 1",
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(docs); i++)
		if (agree_str(docs[i]))
			fail_msg("document %zu should be refused", i);
	/* an embedded NUL byte */
	assert_false(agree("[1]\0", 4));
	assert_false(agree("[\"a\0b\"]", 7));
	/* deeper than jansson's limit */
	struct ts_buf b = {0};
	for (int i = 0; i < 2100; i++)
		ts_buf_puts(&b, "[");
	for (int i = 0; i < 2100; i++)
		ts_buf_puts(&b, "]");
	assert_false(agree(b.data, b.len));
	ts_buf_free(&b);
}

/* Every JSON file under dir (recursively) agrees; returns how many. */
static size_t agree_tree(const char *dir)
{
	DIR *dh = opendir(dir);
	assert_non_null(dh);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = ts_asprintf("%s/%s", dir, de->d_name);
		size_t len = strlen(de->d_name);
		DIR *sub = opendir(path);
		if (sub) {
			closedir(sub);
			n += agree_tree(path);
		} else if ((len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) ||
		           (len > 4 && strcmp(de->d_name + len - 4, ".otm") == 0)) {
			char *data = NULL;
			size_t dlen = 0;
			assert_int_equal(ts_read_file(path, 64 * 1024 * 1024, &data, &dlen), 0);
			agree(data, dlen);
			free(data);
			n++;
		}
		free(path);
	}
	closedir(dh);
	return n;
}

/* The shipped library and every model fixture. */
static void test_shipped_files(void **state)
{
	(void)state;
	char *lib = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	char *models = ts_asprintf("%s/tests/data/models", tu_env("TS_SOURCE_DIR"));
	assert_int_equal(agree_tree(lib), 74);
	assert_int_equal(agree_tree(models), 33);
	free(lib);
	free(models);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_documents),
	    cmocka_unit_test(test_broken_documents),
	    cmocka_unit_test(test_shipped_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
