/* SPDX-License-Identifier: Apache-2.0 */
/* Generation with a library whose entries carry aliases (engine/generate/
 * aliases.c): stored rows renamed in place with their overrides, the row that
 * survives when both the former and the new id are stored, a dry run that
 * renames nothing, and override keys of a former id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/generate/aliases.h"
#include "engine/generate/generate.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

struct fx {
	struct gu g;
	char *dir;
};

/* The test library after a release that merges countermeasure from into to:
 * when to is an entry already, from is removed, else from is renamed to; to
 * lists from in its aliases and the threats' references follow. Threat
 * T-INJECTION is renamed T-INPUT-INJECTION. Written to dir/name; new path. */
static char *write_library(struct fx *f, const char *name, const char *from, const char *to)
{
	char *lib = ts_asprintf("%s/%s", f->dir, name);
	char *t = ts_asprintf("%s/threats", lib);
	char *c = ts_asprintf("%s/countermeasures", lib);
	assert_int_equal(mkdir(lib, 0700) | mkdir(t, 0700) | mkdir(c, 0700), 0);
	char *src = gu_data("lib/component_types.json");
	char *text = tu_read_file(src);
	free(tu_write_file(lib, "component_types.json", text));
	free(text);
	free(src);

	src = gu_data("lib/countermeasures/cms.json");
	json_t *doc = json_load_file(src, 0, NULL);
	free(src);
	json_t *cms = json_object_get(doc, "countermeasures");
	json_t *old = NULL, *surv = NULL;
	size_t i;
	json_t *cm;
	json_array_foreach (cms, i, cm) {
		const char *id = json_string_value(json_object_get(cm, "id"));
		if (strcmp(id, from) == 0)
			old = cm;
		if (strcmp(id, to) == 0)
			surv = cm;
	}
	assert_non_null(old);
	if (surv) {
		for (i = 0; i < json_array_size(cms); i++)
			if (json_array_get(cms, i) == old)
				json_array_remove(cms, i);
	} else {
		surv = old;
		json_object_set_new(surv, "id", json_string(to));
	}
	json_object_set_new(surv, "aliases", json_pack("[s]", from));
	char *p = ts_asprintf("%s/cms.json", c);
	assert_int_equal(json_dump_file(doc, p, 0), 0);
	free(p);
	json_decref(doc);

	src = gu_data("lib/threats/threats.json");
	doc = json_load_file(src, 0, NULL);
	free(src);
	json_t *th;
	json_array_foreach (json_object_get(doc, "threats"), i, th) {
		if (strcmp(json_string_value(json_object_get(th, "id")), "T-INJECTION") == 0) {
			json_object_set_new(th, "id", json_string("T-INPUT-INJECTION"));
			json_object_set_new(th, "aliases", json_pack("[s]", "T-INJECTION"));
		}
		json_t *out = json_array();
		size_t k, m;
		json_t *v, *w;
		json_array_foreach (json_object_get(th, "countermeasures"), k, v) {
			const char *id = json_string_value(v);
			const char *now = strcmp(id, from) == 0 ? to : id;
			bool dup = false;
			json_array_foreach (out, m, w) {
				dup |= strcmp(json_string_value(w), now) == 0;
			}
			if (!dup)
				json_array_append_new(out, json_string(now));
		}
		json_object_set_new(th, "countermeasures", out);
	}
	p = ts_asprintf("%s/threats.json", t);
	assert_int_equal(json_dump_file(doc, p, 0), 0);
	free(p);
	json_decref(doc);
	free(t);
	free(c);
	return lib;
}

static char *write_conf(struct fx *f, const char *name, const char *lib)
{
	char *text = ts_asprintf("database = \"unused.db\";\nlibrary_paths = [ \"%s\" ];\n", lib);
	char *conf = tu_write_file(f->dir, name, text);
	free(text);
	return conf;
}

static void fx_open(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	char *lib = gu_data("lib");
	char *conf = write_conf(f, "old.conf", lib);
	char *model = ts_asprintf("%s/model.json", f->dir);
	gu_write_web_model(model, "Aliases", 1);
	gu_open(&f->g, conf);
	gu_import(&f->g, "al", model);
	json_decref(gu_generate(&f->g, "al", "2026-01-05T10:00:00Z"));
	free(lib);
	free(conf);
	free(model);
}

static void fx_reload(struct fx *f, const char *name, const char *from, const char *to)
{
	char *lib = write_library(f, name, from, to);
	char *cname = ts_asprintf("%s.conf", name);
	char *conf = write_conf(f, cname, lib);
	gu_reload(&f->g, conf);
	free(conf);
	free(cname);
	free(lib);
}

static void fx_close(struct fx *f)
{
	gu_close(&f->g);
	tu_rmrf(f->dir);
	free(f->dir);
}

static long long id_of(struct fx *f, const char *table, const char *uid)
{
	char *sql =
	    ts_asprintf("SELECT coalesce((SELECT id FROM %s WHERE uid = '%s'), 0)", table, uid);
	long long v = gu_int(&f->g, sql);
	free(sql);
	return v;
}

static void exec_sql(struct fx *f, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(store_db(f->g.s), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static char *text_of(struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->g.s), sql, -1, &st, NULL), SQLITE_OK);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* A rename keeps the row, its status and its override (moved to the new
 * uid); a dry run renames nothing. */
static void test_rename_with_override(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	long long cm = id_of(&f, "countermeasures", "C-INPUT-VALIDATION@web0");
	long long th = id_of(&f, "threats", "T-INJECTION@web0");
	assert_true(cm > 0 && th > 0);
	exec_sql(&f, "INSERT INTO overrides(project_id, target_kind, target_uid, kind, reason,"
	             " author, created_at) SELECT id, 'countermeasure', 'C-INPUT-VALIDATION@web0',"
	             " 'not_applicable', 'a schema gateway validates', 'bob',"
	             " '2026-01-05T11:00:00Z' FROM projects WHERE slug = 'al'");
	json_decref(gu_generate(&f.g, "al", "2026-01-05T12:00:00Z"));
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM countermeasures WHERE uid ="
	                              " 'C-INPUT-VALIDATION@web0' AND status = 'not_applicable'"),
	                 1);
	fx_reload(&f, "renamed", "C-INPUT-VALIDATION", "C-SCHEMA-VALIDATION");

	struct gen_opts dry = {.now = "2026-01-06T10:00:00Z", .dry_run = true};
	json_t *sum = NULL;
	struct ts_err err = {0};
	assert_int_equal(gen_run(f.g.s, f.g.lib, f.g.cfg, "al", &dry, &sum, &err), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	json_decref(sum);
	assert_int_equal(id_of(&f, "countermeasures", "C-INPUT-VALIDATION@web0"), cm);
	assert_int_equal(id_of(&f, "countermeasures", "C-SCHEMA-VALIDATION@web0"), 0);

	sum = gu_generate(&f.g, "al", "2026-01-06T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	assert_int_equal(gu_changes(sum, "threats", "created"), 0);
	assert_int_equal(gu_changes(sum, "threats", "removed"), 0);
	json_decref(sum);
	assert_int_equal(id_of(&f, "countermeasures", "C-SCHEMA-VALIDATION@web0"), cm);
	assert_int_equal(id_of(&f, "threats", "T-INPUT-INJECTION@web0"), th);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM countermeasures WHERE uid ="
	                              " 'C-SCHEMA-VALIDATION@web0' AND status = 'not_applicable'"
	                              " AND library_id = 'C-SCHEMA-VALIDATION'"
	                              " AND marker_key = 'C-INPUT-VALIDATION@web0'"),
	                 1);
	assert_int_equal(gu_int(&f.g,
	                        "SELECT count(*) FROM threats WHERE uid ="
	                        " 'T-INPUT-INJECTION@web0' AND library_id = 'T-INPUT-INJECTION'"),
	                 1);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM overrides WHERE target_uid ="
	                              " 'C-SCHEMA-VALIDATION@web0' AND kind = 'not_applicable'"),
	                 1);
	assert_int_equal(gu_int(&f.g, "SELECT count(*) FROM overrides WHERE target_uid ="
	                              " 'C-INPUT-VALIDATION@web0'"),
	                 0);
	fx_close(&f);
}

/* Former and new id both stored on one component: the row with a ticket
 * survives under the new id (taking it from the other), keeps the marker of
 * its first uid, and the other row is retired under the former id. A second
 * run changes nothing. */
static void test_alias_row_wins(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	long long audit = id_of(&f, "countermeasures", "C-AUDIT-LOG@web0");
	long long valid = id_of(&f, "countermeasures", "C-INPUT-VALIDATION@web0");
	assert_true(audit > 0 && valid > 0);
	exec_sql(&f, "INSERT INTO tickets(project_id, connector, marker, remote_key, created_at,"
	             " updated_at) SELECT id, 'jira', 'threatsync-0123456789abcdef', 'WRU-7',"
	             " '2026-01-05T11:00:00Z', '2026-01-05T11:00:00Z' FROM projects");
	exec_sql(&f, "UPDATE countermeasures SET ticket_id = (SELECT id FROM tickets)"
	             " WHERE uid = 'C-AUDIT-LOG@web0'");
	fx_reload(&f, "merged", "C-AUDIT-LOG", "C-INPUT-VALIDATION");
	json_t *sum = gu_generate(&f.g, "al", "2026-01-06T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 1);
	json_decref(sum);
	assert_int_equal(id_of(&f, "countermeasures", "C-INPUT-VALIDATION@web0"), audit);
	assert_int_equal(id_of(&f, "countermeasures", "C-AUDIT-LOG@web0"), valid);
	char *v = text_of(&f, "SELECT state || '|' || removed_reason || '|' || marker_key"
	                      " FROM countermeasures WHERE uid = 'C-AUDIT-LOG@web0'");
	assert_string_equal(v, "removed|merged into C-INPUT-VALIDATION@web0|"
	                       "C-INPUT-VALIDATION@web0");
	free(v);
	v = text_of(&f, "SELECT state || '|' || marker_key || '|' || ticket_id"
	                " FROM countermeasures WHERE uid = 'C-INPUT-VALIDATION@web0'");
	char want[96];
	snprintf(want, sizeof(want), "active|C-AUDIT-LOG@web0|%lld",
	         gu_int(&f.g, "SELECT id FROM tickets"));
	assert_string_equal(v, want);
	free(v);

	sum = gu_generate(&f.g, "al", "2026-01-07T10:00:00Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "reactivated"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "updated"), 0);
	json_decref(sum);
	assert_int_equal(id_of(&f, "countermeasures", "C-INPUT-VALIDATION@web0"), audit);
	assert_int_equal(id_of(&f, "countermeasures", "C-AUDIT-LOG@web0"), valid);
	fx_close(&f);
}

/* Override keys and uids of a former id map to the survivor's. */
static void test_alias_keys(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	fx_reload(&f, "keys", "C-AUDIT-LOG", "C-INPUT-VALIDATION");
	char *u = gen_alias_uid(f.g.lib, "C-AUDIT-LOG@web0");
	assert_string_equal(u, "C-INPUT-VALIDATION@web0");
	free(u);
	u = gen_alias_uid(f.g.lib, "T-INJECTION@f0");
	assert_string_equal(u, "T-INPUT-INJECTION@f0");
	free(u);
	assert_null(gen_alias_uid(f.g.lib, "C-INPUT-VALIDATION@web0"));
	assert_null(gen_alias_uid(f.g.lib, "manual:C-AUDIT-LOG"));
	assert_null(gen_alias_uid(f.g.lib, "@web0"));
	json_t *map = json_pack("{s:i, s:i, s:i, s:i}", "countermeasure:C-AUDIT-LOG@web0", 1,
	                        "threat:T-INJECTION@web1", 2, "countermeasure:C-TLS@web0", 3,
	                        "threat:T-INPUT-INJECTION@web2", 4);
	json_object_set_new(map, "threat:T-INJECTION@web2", json_integer(5));
	gen_alias_override_keys(f.g.lib, map);
	assert_int_equal(json_object_size(map), 5);
	assert_int_equal(
	    json_integer_value(json_object_get(map, "countermeasure:C-INPUT-VALIDATION@web0")), 1);
	assert_int_equal(json_integer_value(json_object_get(map, "threat:T-INPUT-INJECTION@web1")),
	                 2);
	assert_int_equal(json_integer_value(json_object_get(map, "countermeasure:C-TLS@web0")), 3);
	/* The survivor's own override wins over the former id's. */
	assert_int_equal(json_integer_value(json_object_get(map, "threat:T-INPUT-INJECTION@web2")),
	                 4);
	assert_int_equal(json_integer_value(json_object_get(map, "threat:T-INJECTION@web2")), 5);
	json_decref(map);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rename_with_override),
	    cmocka_unit_test(test_alias_row_wins),
	    cmocka_unit_test(test_alias_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
