/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of how the library is loaded: the types-only load answers the model
 * importers as the full one does, a library loaded on another thread equals
 * one loaded on the main thread, and documents read on two threads report
 * their problems as one thread did, in order, naming each file. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/library/library.h"
#include "engine/model/model.h"
#include "helpers/testutil.h"

static char *src_path(const char *rel)
{
	return ts_asprintf("%s/%s", tu_env("TS_SOURCE_DIR"), rel);
}

static struct library *load(const char *dir, enum library_parts parts)
{
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load_parts(dirs, 1, parts, &lib, &err) < 0)
		fail_msg("library_load_parts: %s", err.msg);
	return lib;
}

static void same_types(const struct library *a, const struct library *b)
{
	assert_int_equal(library_n_component_types(a), library_n_component_types(b));
	for (size_t i = 0; i < library_n_component_types(a); i++) {
		const struct lib_component_type *x = library_component_type_at(a, i);
		const struct lib_component_type *y = library_component_type_at(b, i);
		assert_string_equal(x->id, y->id);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->description, y->description);
		assert_string_equal(x->kind_name, y->kind_name);
		assert_int_equal(x->kind, y->kind);
		assert_string_equal(x->file, y->file);
		assert_string_equal(x->path, y->path);
		assert_int_equal(x->default_properties == NULL, y->default_properties == NULL);
		if (x->default_properties)
			assert_true(json_equal(x->default_properties, y->default_properties));
	}
	assert_int_equal(library_n_properties(a), library_n_properties(b));
	for (size_t i = 0; i < library_n_properties(a); i++) {
		const struct lib_property *x = library_property_at(a, i);
		const struct lib_property *y = library_property_at(b, i);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->scope_name, y->scope_name);
		assert_string_equal(x->type, y->type);
		assert_int_equal(x->n_values, y->n_values);
		assert_string_equal(x->path, y->path);
	}
	assert_int_equal(library_n_tags(a), library_n_tags(b));
	for (size_t i = 0; i < library_n_tags(a); i++)
		assert_string_equal(library_tag_at(a, i)->tag, library_tag_at(b, i)->tag);
}

/* Every mapping, container and implied property of mappings.json, and some
 * names that are none, answered alike by a and b through the importers'
 * callbacks. Returns how many foreign names were asked. */
static size_t same_mappings(const struct library *a, const struct library *b, const char *file)
{
	json_error_t jerr;
	json_t *doc = json_load_file(file, 0, &jerr);
	assert_non_null(doc);
	struct model_typeinfo ta = {0}, tb = {0};
	library_typeinfo(a, &ta);
	library_typeinfo(b, &tb);
	size_t asked = 0;
	static const char *const parts[] = {"type_mappings", "container_types",
	                                    "implied_properties"};
	for (size_t k = 0; k < TS_ARRAY_SIZE(parts); k++) {
		const char *fmt;
		json_t *m;
		json_object_foreach (json_object_get(doc, parts[k]), fmt, m) {
			const char *foreign;
			json_t *v;
			size_t i;
			/* container_types lists names; the others map them */
			if (json_is_array(m)) {
				json_array_foreach (m, i, v) {
					foreign = json_string_value(v);
					assert_int_equal(ta.container(ta.ud, fmt, foreign),
					                 tb.container(tb.ud, fmt, foreign));
					assert_true(ta.container(ta.ud, fmt, foreign));
					asked++;
				}
				continue;
			}
			json_object_foreach (m, foreign, v) {
				const char *x = ta.map(ta.ud, fmt, foreign);
				const char *y = tb.map(tb.ud, fmt, foreign);
				assert_int_equal(x == NULL, y == NULL);
				if (x)
					assert_string_equal(x, y);
				json_t *ix = ta.implied(ta.ud, fmt, foreign);
				json_t *iy = tb.implied(tb.ud, fmt, foreign);
				assert_int_equal(ix == NULL, iy == NULL);
				if (ix)
					assert_true(json_equal(ix, iy));
				asked++;
			}
		}
	}
	assert_null(tb.map(tb.ud, "otm", "no-such-foreign-type"));
	assert_null(tb.type_id(tb.ud, "no_such_type"));
	for (size_t i = 0; i < library_n_component_types(a); i++) {
		const char *id = library_component_type_at(a, i)->id;
		assert_string_equal(ta.type_id(ta.ud, id), tb.type_id(tb.ud, id));
		assert_string_equal(ta.kind(ta.ud, id), tb.kind(tb.ud, id));
	}
	json_decref(doc);
	return asked;
}

static void test_types_only_same_types(void **state)
{
	(void)state;
	char *dir = src_path("library");
	struct library *full = load(dir, LIBRARY_PARTS_ALL);
	struct library *types = load(dir, LIBRARY_PARTS_TYPES);
	same_types(full, types);
	char *file = ts_asprintf("%s/mappings.json", dir);
	size_t asked = same_mappings(full, types, file);
	/* the shipped mappings.json: every name of its three tables */
	json_error_t jerr;
	json_t *m = json_load_file(file, 0, &jerr);
	size_t want = 0;
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(m, "type_mappings"), k, v)
		want += json_object_size(v);
	json_object_foreach (json_object_get(m, "implied_properties"), k, v)
		want += json_object_size(v);
	json_object_foreach (json_object_get(m, "container_types"), k, v)
		want += json_array_size(v);
	json_decref(m);
	assert_int_equal(asked, want);
	assert_true(library_n_component_types(types) > 40);
	/* nothing else was read */
	assert_int_equal(library_n_threats(types), 0);
	assert_int_equal(library_n_countermeasures(types), 0);
	assert_int_equal(library_n_blueprints(types), 0);
	assert_int_equal(library_n_stacks(types), 1);
	assert_string_equal(library_stack_at(types, 0)->id, "generic");
	assert_string_not_equal(library_digest(full), library_digest(types));
	library_free(full);
	library_free(types);
	free(file);
	free(dir);
}

/* The types-only load refuses what the full load refuses in the two files
 * it reads, with the same message, and does not read the others. */
static void test_types_only_errors(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *sub = ts_asprintf("%s/threats", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(tu_write_file(dir, "component_types.json",
	                   "{\"component_types\": [{\"id\": \"web_app\", \"name\": \"Web\", "
	                   "\"kind\": \"process\", \"description\": \"d\"}]}"));
	free(tu_write_file(dir, "mappings.json",
	                   "{\"type_mappings\": {\"otm\": {\"web\": \"web_app\", "
	                   "\"db\": \"sql_database\"}}}"));
	free(tu_write_file(sub, "a.json", "{\"threats\": [}"));
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_load_parts(dirs, 1, LIBRARY_PARTS_TYPES, &lib, &err), -EINVAL);
	assert_null(lib);
	char *want = ts_asprintf("%s/mappings.json: $.type_mappings.otm.db: unknown component "
	                         "type \"sql_database\"",
	                         dir);
	assert_string_equal(err.msg, want);
	free(want);
	struct ts_err full = {0};
	assert_int_equal(library_load(dirs, 1, &lib, &full), -EINVAL);
	want = ts_asprintf("%s/threats/a.json: line 1, column 14: unexpected token near '}'\n"
	                   "%s/mappings.json: $.type_mappings.otm.db: unknown component type "
	                   "\"sql_database\"",
	                   dir, dir);
	assert_string_equal(full.msg, want);
	free(want);
	/* with the mapping fixed, the types load although a threat file is broken */
	free(tu_write_file(dir, "mappings.json",
	                   "{\"type_mappings\": {\"otm\": {\"web\": \"web_app\"}}}"));
	assert_int_equal(library_load_parts(dirs, 1, LIBRARY_PARTS_TYPES, &lib, &err), 0);
	assert_string_equal(library_map_type(lib, "otm", "WEB"), "web_app");
	library_free(lib);
	tu_rmrf(dir);
	free(dir);
	free(sub);
}

struct thread_load {
	const char *dir;
	struct library *lib;
	int rc;
	struct ts_err err;
};

static void *thread_load_main(void *arg)
{
	struct thread_load *t = arg;
	const char *dirs[1] = {t->dir};
	t->rc = library_load(dirs, 1, &t->lib, &t->err);
	return NULL;
}

static void same_library(const struct library *a, const struct library *b)
{
	assert_string_equal(library_digest(a), library_digest(b));
	same_types(a, b);
	assert_int_equal(library_n_threats(a), library_n_threats(b));
	for (size_t i = 0; i < library_n_threats(a); i++) {
		const struct lib_threat *x = library_threat_at(a, i), *y = library_threat_at(b, i);
		assert_string_equal(x->id, y->id);
		assert_string_equal(x->file, y->file);
		assert_string_equal(x->path, y->path);
		assert_int_equal(x->n_countermeasures, y->n_countermeasures);
		for (size_t k = 0; k < x->n_countermeasures; k++)
			assert_string_equal(x->countermeasures[k]->id, y->countermeasures[k]->id);
		assert_true(json_equal(x->json, y->json));
	}
	assert_int_equal(library_n_countermeasures(a), library_n_countermeasures(b));
	for (size_t i = 0; i < library_n_countermeasures(a); i++) {
		const struct lib_countermeasure *x = library_countermeasure_at(a, i);
		const struct lib_countermeasure *y = library_countermeasure_at(b, i);
		assert_string_equal(x->id, y->id);
		assert_string_equal(x->path, y->path);
		assert_true(json_equal(x->json, y->json));
	}
	assert_int_equal(library_n_stacks(a), library_n_stacks(b));
	assert_int_equal(library_n_blueprints(a), library_n_blueprints(b));
	for (size_t i = 0; i < library_n_blueprints(a); i++)
		assert_true(
		    json_equal(library_blueprint_at(a, i)->json, library_blueprint_at(b, i)->json));
}

/* Two libraries loaded at once on two threads (each reading on a helper
 * thread of its own too) equal one loaded on the main thread. */
static void test_thread_load_same(void **state)
{
	(void)state;
	char *dir = src_path("library");
	struct library *main_lib = load(dir, LIBRARY_PARTS_ALL);
	struct thread_load t[2] = {{.dir = dir}, {.dir = dir}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_load_main, &t[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (t[i].rc < 0)
			fail_msg("thread %d: %s", i, t[i].err.msg);
		same_library(main_lib, t[i].lib);
		library_free(t[i].lib);
	}
	assert_int_equal(library_n_threats(main_lib), 345);
	library_free(main_lib);
	free(dir);
}

/* Broken documents read on two threads are reported as one thread reported
 * them: in reading order (types, stacks, countermeasures, threats, then
 * mappings), each naming its file, with jansson's line, column and text. */
static void test_broken_documents_in_order(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *cms = ts_asprintf("%s/countermeasures", dir);
	char *threats = ts_asprintf("%s/threats", dir);
	assert_int_equal(mkdir(cms, 0700) | mkdir(threats, 0700), 0);
	free(tu_write_file(dir, "component_types.json", "{\"component_types\": []}\nx"));
	free(tu_write_file(cms, "a.json", "{\"countermeasures\": [{\"id\": \"C-A\",, }]}"));
	free(tu_write_file(cms, "b.json", "{\"countermeasures\": []}"));
	free(tu_write_file(threats, "a.json", "{\"threats\": [}"));
	free(tu_write_file(threats, "b.json", "{\"a\": 1, \"a\": 2}"));
	free(tu_write_file(dir, "mappings.json", "[1, 2"));
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_load(dirs, 1, &lib, &err), -EINVAL);
	assert_null(lib);
	assert_int_equal(err.code, TS_E_INVALID);
	char *want = ts_asprintf(
	    "%s/component_types.json: line 2, column 1: end of file expected near 'x'\n"
	    "%s/countermeasures/a.json: line 1, column 35: string or '}' expected near ','\n"
	    "%s/threats/a.json: line 1, column 14: unexpected token near '}'\n"
	    "%s/threats/b.json: line 1, column 12: duplicate object key near '\"a\"'\n"
	    "%s/mappings.json: line 1, column 5: ']' expected near end of file",
	    dir, dir, dir, dir, dir);
	assert_string_equal(err.msg, want);
	free(want);
	tu_rmrf(dir);
	free(dir);
	free(cms);
	free(threats);
}

/* `model import` reads only the library's types and mappings, on a thread
 * while it reads the model: a broken threat file does not stop it; a broken
 * mappings.json or a missing directory is reported alone, with the exit code
 * of before, whatever the model holds, and nothing is stored. */
static void test_cli_import_reads_types(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *lib = ts_asprintf("%s/lib", dir);
	char *threats = ts_asprintf("%s/lib/threats", dir);
	assert_int_equal(mkdir(lib, 0700) | mkdir(threats, 0700), 0);
	free(tu_write_file(lib, "component_types.json",
	                   "{\"component_types\": [{\"id\": \"web_app\", \"name\": \"Web\", "
	                   "\"kind\": \"process\", \"description\": \"d\"}]}"));
	free(tu_write_file(threats, "a.json", "{\"threats\": [}"));
	char *conf_text = ts_asprintf("database = \"%s/ts.db\";\nlibrary_paths = [ \"%s\" ];\n",
	                              dir, lib);
	char *conf = tu_write_file(dir, "ts.conf", conf_text);
	char *good = tu_write_file(
	    dir, "m.json",
	    "{\"format\": \"threatsync-model/1\", \"project\": {\"name\": \"p\"}, "
	    "\"trust_zones\": [{\"id\": \"z\", \"name\": \"z\", \"trust_level\": 0}], "
	    "\"components\": [{\"id\": \"a\", \"type\": \"web_app\", \"name\": \"A\", "
	    "\"trust_zone\": \"z\"}]}");
	char *bad = tu_write_file(dir, "bad.json", "{\"format\": 7}");
	char *out = NULL, *err = NULL;
	assert_int_equal(tu_cli(&out, &err, "-c", conf, "project", "add", "p", NULL), 0);
	free(out);
	free(err);
	assert_int_equal(tu_cli(&out, &err, "-c", conf, "model", "import", "p", good, NULL), 0);
	char *want = ts_asprintf("imported %s as version 1 of p (format native, 1 components, "
	                         "0 flows)\n",
	                         good);
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	free(want);
	free(out);
	free(err);

	/* generate loads the whole library on a thread while it reads the
	 * model: the broken threat file's error alone, for a project that
	 * exists and for one that does not, and nothing written */
	char *db0 = ts_asprintf("%s/ts.db", dir);
	char h0[65], h1[65];
	tu_file_hash(db0, h0);
	want = ts_asprintf("%s/a.json: line 1, column 14: unexpected token near '}'\n", threats);
	const char *slugs[] = {"p", "nope"};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(tu_cli(&out, &err, "-c", conf, "generate", slugs[i], NULL), 65);
		assert_string_equal(out, "");
		assert_string_equal(err, want);
		free(out);
		free(err);
	}
	free(want);
	tu_file_hash(db0, h1);
	assert_string_equal(h0, h1);
	free(db0);

	/* a broken mappings.json: its error alone, for a good and a bad model */
	free(tu_write_file(lib, "mappings.json", "[1, 2"));
	char *db = ts_asprintf("%s/ts.db", dir);
	char before[65], after[65];
	tu_file_hash(db, before);
	want = ts_asprintf("%s/mappings.json: line 1, column 5: ']' expected near end of file\n",
	                   lib);
	const char *models[] = {good, bad};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(
		    tu_cli(&out, &err, "-c", conf, "model", "import", "p", models[i], NULL), 65);
		assert_string_equal(out, "");
		assert_string_equal(err, want);
		free(out);
		free(err);
	}
	free(want);
	tu_file_hash(db, after);
	assert_string_equal(before, after);

	/* a missing library directory: exit 66 (no input) */
	tu_rmrf(lib);
	assert_int_equal(tu_cli(&out, &err, "-c", conf, "model", "import", "p", good, NULL), 66);
	want = ts_asprintf("%s: library directory not found\n", lib);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);

	tu_rmrf(dir);
	free(db);
	free(dir);
	free(lib);
	free(threats);
	free(conf_text);
	free(conf);
	free(good);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_types_only_same_types),
	    cmocka_unit_test(test_types_only_errors),
	    cmocka_unit_test(test_thread_load_same),
	    cmocka_unit_test(test_broken_documents_in_order),
	    cmocka_unit_test(test_cli_import_reads_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
