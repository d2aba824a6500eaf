/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of generation: scoring, satisfied-by, policy scope, regeneration
 * diffs and the outbox, overrides and their expiry, manual threats, and the
 * determinism of the CLI's --json output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/gen_state.h"
#include "engine/generate/generate.h"
#include "engine/generate/listing.h"
#include "engine/generate/score.h"
#include "engine/model/project.h"
#include "engine/tracking/marker.h"
#include "engine/tracking/override.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

#define NOW "2026-01-10T09:00:00.000Z"

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The status of a countermeasure, as a static copy. */
static const char *cm_status(struct gu *g, const char *slug, const char *uid)
{
	static char buf[64];
	json_t *c = gu_cm(g, slug, uid);
	if (!c)
		fail_msg("no countermeasure %s", uid);
	snprintf(buf, sizeof(buf), "%s", jstr(c, "status"));
	json_decref(c);
	return buf;
}

static void open_shop(struct gu *g, const char *slug, const char *model)
{
	char *conf = gu_data("gen.conf");
	char *path = gu_data(model);
	gu_open(g, conf);
	gu_import(g, slug, path);
	free(conf);
	free(path);
}

static void import(struct gu *g, const char *slug, const char *model)
{
	char *path = gu_data(model);
	gu_import(g, slug, path);
	free(path);
}

/* ------------------------------------------------------------ scoring */

static void test_score_formula(void **state)
{
	(void)state;
	/* 100 * (4*3/12) * 1.0 * 1.0 */
	assert_true(gen_score(4, 3, 4, 2) == 100.0);
	/* 100 * (3*2/12) * .85 * .90 = 38.25 -> 38.3 (half up) */
	assert_true(gen_score(3, 2, 3, 1) == 38.3);
	/* 100 * (1*1/12) * .55 * .75 = 3.4375 -> 3.4 */
	assert_true(gen_score(1, 1, 1, 0) == 3.4);
	/* 100 * (2*2/12) * .70 * 1.0 = 23.33 -> 23.3 */
	assert_true(gen_score(2, 2, 2, 2) == 23.3);
	/* Out of range values are clamped; an unknown class counts as low. */
	assert_true(gen_score(9, 9, 4, 9) == 100.0);
	assert_true(gen_score(0, 0, 0, -1) == gen_score(1, 1, 1, 0));
	/* Monotonic in each factor. */
	assert_true(gen_score(4, 3, 4, 1) < gen_score(4, 3, 4, 2));
	assert_true(gen_score(4, 3, 3, 2) < gen_score(4, 3, 4, 2));
}

static void test_scores_stored(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop.json");
	json_t *sum = gu_generate(&g, "shop", NOW);
	assert_string_equal(jstr(sum, "risk_class"), "high");
	assert_string_equal(jstr(sum, "rule"), "internet-facing");
	json_decref(sum);
	/* web: not internet facing, but its flow to sso crosses into core. */
	json_t *t = gu_threat(&g, "shop", "T-INJECTION@web");
	assert_non_null(t);
	assert_true(json_real_value(json_object_get(t, "score")) == gen_score(4, 3, 3, 1));
	json_decref(t);
	/* A flow from the internet-facing gateway. */
	t = gu_threat(&g, "shop", "T-SNIFF@f-gw-web");
	assert_non_null(t);
	assert_true(json_real_value(json_object_get(t, "score")) == gen_score(2, 2, 3, 2));
	assert_string_equal(jstr(t, "flow"), "f-gw-web");
	json_decref(t);
	/* Listing order: score descending, then id. */
	struct ts_err err = {0};
	json_t *doc = NULL;
	assert_int_equal(gen_list_threats(g.s, "shop", true, NOW, &doc, &err), 0);
	json_t *list = json_object_get(doc, "threats");
	assert_true(json_array_size(list) >= 5);
	for (size_t i = 1; i < json_array_size(list); i++) {
		json_t *a = json_array_get(list, i - 1), *b = json_array_get(list, i);
		double sa = json_real_value(json_object_get(a, "score"));
		double sb = json_real_value(json_object_get(b, "score"));
		assert_true(sa > sb || (sa == sb && strcmp(jstr(a, "id"), jstr(b, "id")) < 0));
	}
	json_decref(doc);
	gu_close(&g);
}

/* ------------------------------------------------------------ satisfied-by */

static void test_satisfied_by(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop.json");
	json_decref(gu_generate(&g, "shop", NOW));
	/* Authentication by the identity provider the app talks to. */
	json_t *c = gu_cm(&g, "shop", "C-AUTHN@web");
	assert_non_null(c);
	assert_string_equal(jstr(c, "status"), "satisfied");
	assert_string_equal(jstr(c, "satisfied_by"), "sso");
	json_decref(c);
	/* TLS by the TLS-terminating gateway in front. */
	c = gu_cm(&g, "shop", "C-TLS@web");
	assert_string_equal(jstr(c, "status"), "satisfied");
	assert_string_equal(jstr(c, "satisfied_by"), "gw");
	json_decref(c);
	/* No provider for the database. */
	c = gu_cm(&g, "shop", "C-ENCRYPT-AT-REST@db");
	assert_string_equal(jstr(c, "status"), "todo");
	assert_true(json_is_null(json_object_get(c, "satisfied_by")));
	json_decref(c);
	gu_close(&g);

	/* Without the flow to the identity provider: a task again. */
	open_shop(&g, "shop", "shop_no_sso_flow.json");
	json_decref(gu_generate(&g, "shop", NOW));
	assert_string_equal(cm_status(&g, "shop", "C-AUTHN@web"), "todo");
	assert_string_equal(cm_status(&g, "shop", "C-TLS@web"), "satisfied");
	gu_close(&g);

	/* A gateway that does not terminate TLS fails the condition. */
	open_shop(&g, "shop", "shop_gw_no_tls.json");
	json_decref(gu_generate(&g, "shop", NOW));
	assert_string_equal(cm_status(&g, "shop", "C-TLS@web"), "todo");
	assert_string_equal(cm_status(&g, "shop", "C-AUTHN@web"), "satisfied");
	gu_close(&g);
}

static void test_satisfied_changes_on_regeneration(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop.json");
	json_decref(gu_generate(&g, "shop", NOW));
	import(&g, "shop", "shop_no_sso_flow.json");
	json_t *sum = gu_generate(&g, "shop", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 1);
	json_decref(sum);
	assert_string_equal(cm_status(&g, "shop", "C-AUTHN@web"), "todo");
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM status_history h JOIN countermeasures c"
	                            " ON c.id = h.countermeasure_id WHERE c.uid = 'C-AUTHN@web'"
	                            " AND h.from_status = 'satisfied' AND h.to_status = 'todo'"
	                            " AND h.source = 'generate'"),
	                 1);
	gu_close(&g);
}

/* ------------------------------------------------------------ scope */

static void test_scope_per_policy(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop.json");
	json_decref(gu_generate(&g, "shop", NOW));
	/* high: min_severity medium, max_priority 2, frameworks owasp-asvs, and
	 * the model requires gdpr. */
	json_t *t = gu_threat(&g, "shop", "T-VERBOSE-ERRORS@web");
	assert_false(json_is_true(json_object_get(t, "in_scope")));
	assert_string_equal(jstr(t, "status"), "out_of_scope");
	json_decref(t);
	t = gu_threat(&g, "shop", "T-SNIFF@f-web-db");
	assert_true(json_is_true(json_object_get(t, "in_scope")));
	json_decref(t);
	json_t *c = gu_cm(&g, "shop", "C-INPUT-VALIDATION@web"); /* priority 2 */
	assert_true(json_is_true(json_object_get(c, "in_scope")));
	assert_string_equal(jstr(c, "due_date"), "2026-01-30"); /* sla 20 days */
	json_decref(c);
	c = gu_cm(&g, "shop", "C-ENCRYPT-AT-REST@db"); /* priority 3, iso-27001 only */
	assert_false(json_is_true(json_object_get(c, "in_scope")));
	assert_true(json_is_null(json_object_get(c, "due_date")));
	json_decref(c);
	c = gu_cm(&g, "shop", "C-AUDIT-LOG@db"); /* priority 4 but maps to gdpr */
	assert_true(json_is_true(json_object_get(c, "in_scope")));
	json_decref(c);

	/* The default listing shows only what is in scope. */
	struct ts_err err = {0};
	json_t *doc = NULL;
	assert_int_equal(gen_list_countermeasures(g.s, "shop", false, NULL, NOW, &doc, &err), 0);
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(doc, "countermeasures"), i, e) {
		assert_true(json_is_true(json_object_get(e, "in_scope")));
		assert_string_not_equal(jstr(e, "id"), "C-ENCRYPT-AT-REST@db");
	}
	json_decref(doc);
	assert_int_equal(gen_list_countermeasures(g.s, "shop", false, "satisfied", NOW, &doc, &err),
	                 0);
	assert_int_equal(json_array_size(json_object_get(doc, "countermeasures")), 2);
	json_decref(doc);
	assert_int_equal(gen_list_countermeasures(g.s, "shop", false, "bogus", NOW, &doc, &err),
	                 TS_E_USAGE);
	assert_int_equal(err.code, TS_E_USAGE);

	/* Another configuration: everything is medium (min_severity high,
	 * max_priority 1, no frameworks). */
	char *lib = gu_data("lib");
	char *text = ts_asprintf(
	    "library_paths = [ \"%s\" ];\n"
	    "classification = ( { name = \"all\"; when = \"true\"; class = \"medium\"; } );\n"
	    "policies = { medium = { min_severity = \"high\"; max_priority = 1; }; };\n",
	    lib);
	char *conf = tu_write_file(g.dir, "medium.conf", text);
	gu_reload(&g, conf);
	json_t *sum = gu_generate(&g, "shop", NOW);
	assert_string_equal(jstr(sum, "risk_class"), "medium");
	json_decref(sum);
	t = gu_threat(&g, "shop", "T-SNIFF@f-web-db"); /* medium < high */
	assert_false(json_is_true(json_object_get(t, "in_scope")));
	json_decref(t);
	c = gu_cm(&g, "shop", "C-INPUT-VALIDATION@web"); /* priority 2 > 1 */
	assert_false(json_is_true(json_object_get(c, "in_scope")));
	json_decref(c);
	c = gu_cm(&g, "shop", "C-AUDIT-LOG@web"); /* gdpr, required by the model */
	assert_true(json_is_true(json_object_get(c, "in_scope")));
	json_decref(c);
	free(text);
	free(lib);
	free(conf);
	gu_close(&g);
}

/* An element the model marks out of scope (properties.out_of_scope, what
 * Threat Dragon's outOfScope becomes) keeps its threats, all out of scope,
 * and its countermeasures become no tasks; the rest of the model is as
 * before. */
static void test_out_of_scope_elements(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop.json");
	json_decref(gu_generate(&g, "shop", NOW));
	long long in_before = gu_int(&g, "SELECT count(*) FROM threats WHERE in_scope = 1");
	json_t *t = gu_threat(&g, "shop", "T-SNIFF@f-web-db");
	assert_true(json_is_true(json_object_get(t, "in_scope")));
	json_decref(t);
	json_t *c = gu_cm(&g, "shop", "C-AUDIT-LOG@db");
	assert_true(json_is_true(json_object_get(c, "in_scope")));
	json_decref(c);
	long long db_in = gu_int(&g, "SELECT count(*) FROM threats WHERE in_scope = 1 AND"
	                             " component_key = 'db'");
	long long flow_in = gu_int(&g, "SELECT count(*) FROM threats WHERE in_scope = 1 AND"
	                               " flow_key = 'f-web-db'");
	assert_true(db_in > 0);

	/* The same model with the database and its flow out of scope. */
	char *path = gu_data("shop.json");
	json_t *m = json_load_file(path, 0, NULL);
	free(path);
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(m, "components"), i, e) {
		if (strcmp(jstr(e, "id"), "db") != 0)
			continue;
		if (!json_object_get(e, "properties"))
			json_object_set_new(e, "properties", json_object());
		json_object_set_new(json_object_get(e, "properties"), "out_of_scope", json_true());
	}
	json_array_foreach (json_object_get(m, "flows"), i, e) {
		if (strcmp(jstr(e, "id"), "f-web-db") != 0)
			continue;
		if (!json_object_get(e, "properties"))
			json_object_set_new(e, "properties", json_object());
		json_object_set_new(json_object_get(e, "properties"), "out_of_scope", json_true());
	}
	char *out = ts_asprintf("%s/shop-oos.json", g.dir);
	assert_int_equal(json_dump_file(m, out, JSON_INDENT(1)), 0);
	json_decref(m);
	gu_import(&g, "shop", out);
	free(out);
	json_decref(gu_generate(&g, "shop", NOW));

	/* Every threat of the two elements is kept, out of scope; nothing else
	 * changed scope. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats WHERE in_scope = 1 AND"
	                            " (component_key = 'db' OR flow_key = 'f-web-db')"),
	                 0);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats WHERE state = 'active' AND"
	                            " (component_key = 'db' OR flow_key = 'f-web-db')"),
	                 gu_int(&g, "SELECT count(*) FROM threats WHERE"
	                            " (component_key = 'db' OR flow_key = 'f-web-db')"));
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats WHERE in_scope = 1"),
	                 in_before - db_in - flow_in);
	t = gu_threat(&g, "shop", "T-SNIFF@f-web-db");
	assert_false(json_is_true(json_object_get(t, "in_scope")));
	assert_string_equal(jstr(t, "status"), "out_of_scope");
	json_decref(t);
	c = gu_cm(&g, "shop", "C-AUDIT-LOG@db");
	assert_false(json_is_true(json_object_get(c, "in_scope")));
	json_decref(c);
	gu_close(&g);
}

/* States written in imported models: an OTM mitigation "implemented" and a
 * Threat Dragon threat "Mitigated" make their tasks start done, with a
 * history row naming the source file; "required" and "Open" start todo; the
 * tracker owns the status from then on. Threat Dragon's free-text
 * mitigations become the model's countermeasures. */
static void test_declared_states(void **state)
{
	(void)state;
	char *cdir = tu_tmpdir();
	char *text = ts_asprintf("library_paths = [ \"%s/library\" ];\n", tu_env("TS_SOURCE_DIR"));
	char *conf = tu_write_file(cdir, "shipped.conf", text);
	free(text);
	struct gu g;
	gu_open(&g, conf);
	char *otm = ts_asprintf("%s/tests/data/models/otm/EXAMPLE.json", tu_env("TS_SOURCE_DIR"));
	gu_import(&g, "ex", otm);
	free(otm);
	json_decref(gu_generate(&g, "ex", NOW));
	assert_string_equal(
	    cm_status(&g, "ex", "manual:fd6136f4-e2ff-11eb-ba80-0242ac130004@web-service"), "done");
	assert_string_equal(
	    cm_status(&g, "ex", "manual:fd6136f4-e2ff-11eb-ba80-0242ac130004@customer-database"),
	    "todo");
	const char *rows = "SELECT count(*) FROM status_history h JOIN countermeasures c ON"
	                   " c.id = h.countermeasure_id WHERE c.uid ="
	                   " 'manual:fd6136f4-e2ff-11eb-ba80-0242ac130004@web-service' AND"
	                   " h.to_status = 'done' AND h.source = 'generate' AND h.reason ="
	                   " 'implemented according to model.json (state ''implemented'')'";
	assert_int_equal(gu_int(&g, rows), 1);
	/* Regeneration keeps it, without a second row. */
	json_decref(gu_generate(&g, "ex", NOW));
	assert_int_equal(gu_int(&g, rows), 1);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM status_history"), 1);

	char *td = ts_asprintf("%s/tests/data/models/threatdragon/v2-threat-model.json",
	                       tu_env("TS_SOURCE_DIR"));
	gu_import(&g, "td", td);
	free(td);
	json_decref(gu_generate(&g, "td", NOW));
	const char *td_cms = "SELECT count(*) FROM countermeasures c JOIN projects p ON"
	                     " p.id = c.project_id WHERE p.slug = 'td' AND c.origin = 'manual'"
	                     " AND c.title LIKE 'Mitigation: %'";
	/* The demo has 14 threats with a mitigation text, 4 of them Mitigated
	 * (jq '[.. | objects | select(.status? == "Mitigated")] | length');
	 * one of those is on the flow that is not connected at both ends, which
	 * is skipped with a warning: 13 tasks, 3 done. */
	assert_int_equal(gu_int(&g, td_cms), 13);
	char *done = ts_asprintf("%s AND c.status = 'done'", td_cms);
	assert_int_equal(gu_int(&g, done), 3);
	free(done);
	/* Its flows drawn across boundary lines cross trust boundaries: the four
	 * unencrypted ones get the clear-text threat. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats t JOIN projects p ON"
	                            " p.id = t.project_id WHERE p.slug = 'td' AND"
	                            " t.library_id = 'T-NET-CLEARTEXT'"),
	                 4);
	assert_string_equal(cm_status(&g, "td",
	                              "manual:21fc4b20-ca29-4891-9691-d8f0331b2a11.m@936557f9-22e2-"
	                              "4bac-bb70-0089c5c2fbe1"),
	                    "done");
	gu_close(&g);
	free(conf);
	tu_rmrf(cdir);
	free(cdir);
}

/* ------------------------------------------------------------ regeneration */

static long long outbox_ops(struct gu *g, const char *op, const char *uid)
{
	char *sql = ts_asprintf("SELECT count(*) FROM outbox o JOIN countermeasures c ON"
	                        " c.id = o.countermeasure_id WHERE o.op = '%s' AND c.uid = '%s'",
	                        op, uid);
	long long n = gu_int(g, sql);
	free(sql);
	return n;
}

static void test_regeneration_is_stable(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_t *sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "threats", "created"), 7);
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 6);
	/* In scope and todo: C-INPUT-VALIDATION, C-AUDIT-LOG x2. */
	assert_int_equal(gu_changes(sum, "outbox", "create"), 3);
	json_decref(sum);
	sum = gu_generate(&g, "tracked", "2026-01-11T09:00:00.000Z");
	const char *groups[] = {"threats", "countermeasures", "outbox"};
	const char *keys[] = {"created", "updated", "removed", "reactivated", "status_changed",
	                      "create",  "update",  "close",   "reopen"};
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < 9; k++)
			assert_int_equal(gu_changes(sum, groups[i], keys[k]), 0);
	json_decref(sum);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox"), 3);
	gu_close(&g);
}

static void test_untracked_project_has_no_outbox(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop.json");
	json_t *sum = gu_generate(&g, "shop", NOW);
	assert_int_equal(gu_changes(sum, "outbox", "create"), 0);
	json_decref(sum);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox"), 0);
	gu_close(&g);
}

static void test_regeneration_add_and_remove(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	import(&g, "tracked", "shop_api.json");
	json_t *sum = gu_generate(&g, "tracked", NOW);
	/* T-INJECTION@api, T-SNIFF@f-gw-api; C-INPUT-VALIDATION@api,
	 * C-AUDIT-LOG@api, C-TLS@api (satisfied by gw). */
	assert_int_equal(gu_changes(sum, "threats", "created"), 2);
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 3);
	assert_int_equal(gu_changes(sum, "outbox", "create"), 2);
	json_decref(sum);
	assert_int_equal(outbox_ops(&g, "create", "C-INPUT-VALIDATION@api"), 1);
	assert_string_equal(cm_status(&g, "tracked", "C-TLS@api"), "satisfied");

	/* Remove the component again. */
	import(&g, "tracked", "shop.json");
	sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "threats", "removed"), 2);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 3);
	assert_int_equal(gu_changes(sum, "outbox", "close"), 2);
	json_decref(sum);
	json_t *c = gu_cm(&g, "tracked", "C-INPUT-VALIDATION@api");
	assert_string_equal(jstr(c, "state"), "removed");
	assert_non_null(strstr(jstr(c, "removed_reason"), "'api' is no longer in the model"));
	json_decref(c);
	assert_int_equal(outbox_ops(&g, "close", "C-INPUT-VALIDATION@api"), 1);
	assert_int_equal(outbox_ops(&g, "close", "C-TLS@api"), 0); /* never tracked */
	json_t *t = gu_threat(&g, "tracked", "T-SNIFF@f-gw-api");
	assert_string_equal(jstr(t, "status"), "removed");
	json_decref(t);
	gu_close(&g);
}

static void test_regeneration_condition_flip(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	import(&g, "tracked", "shop_db_no_pii.json");
	json_t *sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "threats", "removed"), 1);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 2);
	assert_int_equal(gu_changes(sum, "outbox", "close"), 1); /* C-AUDIT-LOG@db */
	json_decref(sum);
	json_t *t = gu_threat(&g, "tracked", "T-DATA-LEAK@db");
	assert_string_equal(jstr(t, "state"), "removed");
	assert_non_null(strstr(jstr(t, "removed_reason"), "no longer applies to 'db'"));
	json_decref(t);

	import(&g, "tracked", "shop.json");
	sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "threats", "reactivated"), 1);
	assert_int_equal(gu_changes(sum, "countermeasures", "reactivated"), 2);
	assert_int_equal(gu_changes(sum, "outbox", "reopen"), 1);
	json_decref(sum);
	assert_int_equal(outbox_ops(&g, "reopen", "C-AUDIT-LOG@db"), 1);
	t = gu_threat(&g, "tracked", "T-DATA-LEAK@db");
	assert_string_equal(jstr(t, "state"), "active");
	assert_int_equal(json_integer_value(json_object_get(t, "first_version")), 1);
	assert_int_equal(json_integer_value(json_object_get(t, "last_version")), 3);
	json_decref(t);
	gu_close(&g);
}

static void test_regeneration_text_update(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	char *overlay = gu_data("gen_overlay.conf");
	gu_reload(&g, overlay);
	free(overlay);
	json_t *sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "threats", "updated"), 1);
	/* Both tasks of the threat carry its title in their text. */
	assert_int_equal(gu_changes(sum, "countermeasures", "updated"), 2);
	assert_int_equal(gu_changes(sum, "outbox", "update"), 2);
	json_decref(sum);
	json_t *t = gu_threat(&g, "tracked", "T-INJECTION@web");
	assert_non_null(strstr(jstr(t, "title"), "SQL, OS commands"));
	json_decref(t);
	assert_int_equal(outbox_ops(&g, "update", "C-INPUT-VALIDATION@web"), 1);
	gu_close(&g);
}

static void test_dry_run_writes_nothing(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	struct gen_opts opts = {.now = NOW, .dry_run = true};
	struct ts_err err = {0};
	json_t *sum = NULL;
	assert_int_equal(gen_run(g.s, g.lib, g.cfg, "tracked", &opts, &sum, &err), 0);
	assert_true(json_is_true(json_object_get(sum, "dry_run")));
	assert_int_equal(gu_changes(sum, "countermeasures", "created"), 6);
	json_decref(sum);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM threats"), 0);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox"), 0);
	/* Errors: unknown project, project without a model. */
	assert_true(gen_run(g.s, g.lib, g.cfg, "nope", &opts, &sum, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	assert_int_equal(project_add(g.s, "empty", "Empty", "", NULL, &err), 0);
	assert_true(gen_run(g.s, g.lib, g.cfg, "empty", &opts, &sum, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	gu_close(&g);
}

/* ------------------------------------------------------------ overrides */

static int64_t pid_of(struct gu *g, const char *slug)
{
	int64_t id = 0;
	assert_int_equal(project_find(g->s, slug, &id, NULL), 0);
	return id;
}

/* The stored generation state a run chose its scope from is still the one
 * in the database when nothing else generated; after another generation
 * commits, it is not (gen_run then stops with TS_E_BUSY and writes nothing). */
static void test_state_changed_meanwhile(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	struct gen_state_old old;
	struct ts_err err = {0};
	assert_int_equal(gen_state_load(g.s, pid_of(&g, "tracked"), &old, &err), 0);
	assert_true(old.present);
	assert_int_equal(gen_state_unchanged(g.s, pid_of(&g, "tracked"), &old, &err), 1);
	/* Another run generates a new model version of the project. */
	import(&g, "tracked", "shop_api.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	assert_int_equal(gen_state_unchanged(g.s, pid_of(&g, "tracked"), &old, &err), 0);
	gen_state_old_free(&old);
	/* A project never generated: unchanged while it stays so. */
	assert_int_equal(gen_state_load(g.s, pid_of(&g, "tracked") + 1000, &old, &err), 0);
	assert_false(old.present);
	assert_int_equal(gen_state_unchanged(g.s, pid_of(&g, "tracked") + 1000, &old, &err), 1);
	gen_state_old_free(&old);
	gu_close(&g);
}

static void test_override_survives_regeneration(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	struct ts_err err = {0};
	json_t *res = NULL;
	assert_int_equal(override_add(g.s, pid_of(&g, "tracked"), "C-INPUT-VALIDATION@web",
	                              "not_applicable", "the web tier only renders static pages",
	                              "alice", NULL, NOW, &res, &err),
	                 0);
	assert_string_equal(jstr(res, "target_kind"), "countermeasure");
	assert_int_equal(json_array_size(json_object_get(res, "changes")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "outbox")), 1);
	json_decref(res);
	assert_string_equal(cm_status(&g, "tracked", "C-INPUT-VALIDATION@web"), "not_applicable");
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM status_history WHERE source = 'override'"
	                            " AND to_status = 'not_applicable' AND actor = 'alice'"),
	                 1);
	assert_int_equal(outbox_ops(&g, "close", "C-INPUT-VALIDATION@web"), 1);

	/* Regeneration re-applies it and changes nothing. */
	json_t *sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	assert_int_equal(gu_changes(sum, "outbox", "close"), 0);
	json_decref(sum);
	assert_string_equal(cm_status(&g, "tracked", "C-INPUT-VALIDATION@web"), "not_applicable");
	json_t *c = gu_cm(&g, "tracked", "C-INPUT-VALIDATION@web");
	assert_string_equal(jstr(json_object_get(c, "override"), "reason"),
	                    "the web tier only renders static pages");
	json_decref(c);

	/* Revoked: back to todo, ticket reopened, and it stays so. */
	assert_int_equal(override_revoke(g.s, pid_of(&g, "tracked"), "C-INPUT-VALIDATION@web",
	                                 "pages got forms", "bob", NOW, NULL, &err),
	                 0);
	assert_string_equal(cm_status(&g, "tracked", "C-INPUT-VALIDATION@web"), "todo");
	assert_int_equal(outbox_ops(&g, "reopen", "C-INPUT-VALIDATION@web"), 1);
	sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	json_decref(sum);
	/* Nothing left to revoke. */
	assert_true(override_revoke(g.s, pid_of(&g, "tracked"), "C-INPUT-VALIDATION@web", NULL,
	                            "bob", NOW, NULL, &err) < 0);
	assert_int_equal(err.code, TS_E_INVALID);
	gu_close(&g);
}

static void test_override_expiry(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	struct ts_err err = {0};
	assert_int_equal(override_add(g.s, pid_of(&g, "tracked"), "C-AUDIT-LOG@db", "risk_accepted",
	                              "logging project starts in Q1", "alice", "2026-02-01", NOW,
	                              NULL, &err),
	                 0);
	assert_string_equal(cm_status(&g, "tracked", "C-AUDIT-LOG@db"), "risk_accepted");
	json_t *sum = gu_generate(&g, "tracked", "2026-01-31T23:59:59.999Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	json_decref(sum);
	assert_string_equal(cm_status(&g, "tracked", "C-AUDIT-LOG@db"), "risk_accepted");
	/* On the expiry date the acceptance is over. */
	sum = gu_generate(&g, "tracked", "2026-02-01T00:00:00.000Z");
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 1);
	assert_int_equal(gu_changes(sum, "outbox", "reopen"), 1);
	json_decref(sum);
	assert_string_equal(cm_status(&g, "tracked", "C-AUDIT-LOG@db"), "todo");
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM status_history WHERE source = 'generate'"
	                            " AND from_status = 'risk_accepted' AND to_status = 'todo'"
	                            " AND reason = 'risk acceptance expired on 2026-02-01'"),
	                 1);
	gu_close(&g);
}

static void test_override_on_threat(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	struct ts_err err = {0};
	json_t *res = NULL;
	assert_int_equal(override_add(g.s, pid_of(&g, "tracked"), "T-INJECTION@web",
	                              "not_applicable", "no interpreter behind this app", NULL,
	                              NULL, NOW, &res, &err),
	                 0);
	assert_string_equal(jstr(res, "target_kind"), "threat");
	/* Both its tasks: C-AUDIT-LOG@web's other threat is out of scope. */
	assert_int_equal(json_array_size(json_object_get(res, "changes")), 2);
	json_decref(res);
	assert_string_equal(cm_status(&g, "tracked", "C-INPUT-VALIDATION@web"), "not_applicable");
	assert_string_equal(cm_status(&g, "tracked", "C-AUDIT-LOG@web"), "not_applicable");
	json_t *t = gu_threat(&g, "tracked", "T-INJECTION@web");
	assert_string_equal(jstr(t, "status"), "not_applicable");
	json_decref(t);
	/* Generation agrees with what the override did. */
	json_t *sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(sum, "threats"), "overridden")), 1);
	json_decref(sum);
	assert_int_equal(override_revoke(g.s, pid_of(&g, "tracked"), "T-INJECTION@web", NULL, NULL,
	                                 NOW, NULL, &err),
	                 0);
	assert_string_equal(cm_status(&g, "tracked", "C-INPUT-VALIDATION@web"), "todo");
	assert_string_equal(cm_status(&g, "tracked", "C-AUDIT-LOG@web"), "todo");
	gu_close(&g);
}

static void test_override_errors(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	int64_t pid = pid_of(&g, "tracked");
	struct ts_err err = {0};
	assert_true(override_add(g.s, pid, "C-NOPE@web", "not_applicable", "r", NULL, NULL, NOW,
	                         NULL, &err) < 0);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_non_null(strstr(err.msg, "threatsync countermeasures SLUG --all"));
	assert_true(override_add(g.s, pid, "C-AUTHN@web", "not_applicable", "", NULL, NULL, NOW,
	                         NULL, &err) < 0);
	assert_int_equal(err.code, TS_E_USAGE);
	assert_true(override_add(g.s, pid, "C-AUTHN@web", "risk_accepted", "r", NULL, NULL, NOW,
	                         NULL, &err) < 0);
	assert_int_equal(err.code, TS_E_USAGE);
	assert_non_null(strstr(err.msg, "--expires"));
	assert_true(override_add(g.s, pid, "C-AUTHN@web", "risk_accepted", "r", NULL, "2026-01-10",
	                         NOW, NULL, &err) < 0); /* not after today */
	assert_true(override_add(g.s, pid, "C-AUTHN@web", "risk_accepted", "r", NULL, "2027-02-01",
	                         NOW, NULL, &err) < 0); /* > 366 days */
	assert_true(override_add(g.s, pid, "C-AUTHN@web", "risk_accepted", "r", NULL, "2026-02-30",
	                         NOW, NULL, &err) < 0);
	assert_true(override_add(g.s, pid, "C-AUTHN@web", "not_applicable", "r", NULL, "2026-02-01",
	                         NOW, NULL, &err) < 0);
	assert_true(
	    override_add(g.s, pid, "C-AUTHN@web", "ignored", "r", NULL, NULL, NOW, NULL, &err) < 0);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM overrides"), 0);
	/* A second override replaces the first. */
	assert_int_equal(override_add(g.s, pid, "C-AUTHN@web", "not_applicable", "one", NULL, NULL,
	                              NOW, NULL, &err),
	                 0);
	assert_int_equal(override_add(g.s, pid, "C-AUTHN@web", "risk_accepted", "two", NULL,
	                              "2026-03-01", NOW, NULL, &err),
	                 0);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM overrides WHERE revoked_at IS NULL"), 1);
	assert_string_equal(cm_status(&g, "tracked", "C-AUTHN@web"), "risk_accepted");
	assert_true(override_date_valid("2028-02-29"));
	assert_false(override_date_valid("2027-02-29"));
	assert_false(override_date_valid("2027-1-01"));
	gu_close(&g);
}

/* ------------------------------------------------------------ manual items */

static void test_manual_threats_preserved(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "shop", "shop_manual.json");
	json_decref(gu_generate(&g, "shop", NOW));
	json_t *t = gu_threat(&g, "shop", "manual:mt1@db");
	assert_non_null(t);
	assert_string_equal(jstr(t, "origin"), "manual");
	assert_string_equal(jstr(t, "severity"), "high");
	json_decref(t);
	t = gu_threat(&g, "shop", "manual:mt2@*");
	assert_non_null(t);
	assert_string_equal(jstr(t, "severity"), "medium");
	json_decref(t);
	json_t *c = gu_cm(&g, "shop", "manual:mc1@db");
	assert_non_null(c);
	assert_string_equal(jstr(c, "origin"), "manual");
	assert_string_equal(jstr(c, "title"), "Restrict and log bulk exports");
	assert_int_equal(json_array_size(json_object_get(c, "threats")), 1);
	json_decref(c);
	/* Regenerating keeps them untouched, overrides included. */
	struct ts_err err = {0};
	assert_int_equal(override_add(g.s, pid_of(&g, "shop"), "manual:mc1@db", "not_applicable",
	                              "exports are disabled", NULL, NULL, NOW, NULL, &err),
	                 0);
	json_t *sum = gu_generate(&g, "shop", NOW);
	assert_int_equal(gu_changes(sum, "threats", "removed"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "removed"), 0);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	json_decref(sum);
	assert_string_equal(cm_status(&g, "shop", "manual:mc1@db"), "not_applicable");
	gu_close(&g);
}

/* ------------------------------------------------------------ CLI */

/* Runs the CLI with THREATSYNC_NOW set; returns its status. */
static int cli_at(const char *now, char **ret_out, char **ret_err, const char *const *args)
{
	const char *argv[24];
	size_t n = 0;
	argv[n++] = tu_env("TS_THREATSYNC");
	for (; args[n - 1] && n < 23; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	char *env = ts_asprintf("THREATSYNC_NOW=%s", now);
	const char *envp[] = {env, NULL};
	int rc = tu_run(argv, NULL, envp, 60000, ret_out, ret_err);
	free(env);
	return rc;
}

static char *cli_ok(const char *conf, const char *db, const char *const *cmd)
{
	const char *args[20] = {"-c", conf, "--db", db};
	size_t n = 4;
	for (size_t i = 0; cmd[i]; i++)
		args[n++] = cmd[i];
	args[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = cli_at("2026-01-10", &out, &err, args);
	if (rc != 0)
		fail_msg("threatsync %s: exit %d: %s", cmd[0], rc, err);
	free(err);
	return out;
}

static void test_cli_determinism(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = gu_data("gen.conf");
	char *model = gu_data("shop_manual.json");
	char *outs[2][3];
	for (int k = 0; k < 2; k++) {
		char *db = ts_asprintf("%s/db%d.sqlite", dir, k);
		free(cli_ok(conf, db, (const char *const[]){"project", "add", "tracked", NULL}));
		free(cli_ok(conf, db,
		            (const char *const[]){"model", "import", "tracked", model, NULL}));
		free(cli_ok(conf, db, (const char *const[]){"generate", "tracked", NULL}));
		outs[k][0] = cli_ok(
		    conf, db, (const char *const[]){"threats", "tracked", "--json", "--all", NULL});
		outs[k][1] = cli_ok(
		    conf, db,
		    (const char *const[]){"countermeasures", "tracked", "--json", "--all", NULL});
		outs[k][2] =
		    cli_ok(conf, db, (const char *const[]){"generate", "tracked", "--json", NULL});
		free(db);
	}
	for (int i = 0; i < 3; i++) {
		assert_true(strlen(outs[0][i]) > 100);
		assert_string_equal(outs[0][i], outs[1][i]);
	}
	/* The documents parse and hold what the engine listed. */
	json_t *doc = json_loads(outs[0][1], 0, NULL);
	assert_non_null(doc);
	assert_string_equal(jstr(doc, "risk_class"), "high");
	assert_true(json_array_size(json_object_get(doc, "countermeasures")) >= 7);
	json_decref(doc);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 3; i++)
			free(outs[k][i]);

	/* Human tables and errors. */
	char *db = ts_asprintf("%s/db0.sqlite", dir);
	char *out = cli_ok(conf, db, (const char *const[]){"countermeasures", "tracked", NULL});
	assert_non_null(strstr(out, "C-INPUT-VALIDATION@web"));
	assert_non_null(strstr(out, "satisfied by sso"));
	free(out);
	out = cli_ok(conf, db, (const char *const[]){"classify", "tracked", NULL});
	assert_non_null(strstr(out, "internet-facing"));
	assert_non_null(strstr(out, "gen.conf:"));
	free(out);
	out = cli_ok(conf, db,
	             (const char *const[]){"override", "tracked", "C-AUDIT-LOG@db", "--accept-risk",
	                                   "--reason", "budget", "--expires", "2026-03-01",
	                                   "--author", "carol", NULL});
	assert_non_null(strstr(out, "risk_accepted until 2026-03-01"));
	free(out);
	char *err = NULL;
	const char *bad[] = {"-c",       conf,      "--db",      db,
	                     "override", "tracked", "C-NOPE@db", "--not-applicable",
	                     "--reason", "x",       NULL};
	assert_int_equal(cli_at("2026-01-10", NULL, &err, bad), EX_DATAERR);
	assert_non_null(strstr(err, "--all"));
	free(err);
	const char *noreason[] = {"-c",       conf,      "--db",           db,
	                          "override", "tracked", "C-AUDIT-LOG@db", "--not-applicable",
	                          NULL};
	assert_int_equal(cli_at("2026-01-10", NULL, NULL, noreason), EX_USAGE);
	const char *badnow[] = {"-c", conf, "--db", db, "threats", "tracked", NULL};
	assert_int_equal(cli_at("yesterday", NULL, NULL, badnow), EX_USAGE);
	const char *unknown[] = {"-c", conf, "--db", db, "generate", "nope", NULL};
	assert_int_equal(cli_at("2026-01-10", NULL, NULL, unknown), EX_NOINPUT);
	const char *status[] = {"-c",      conf,       "--db",          db,       "countermeasures",
	                        "tracked", "--status", "risk_accepted", "--json", NULL};
	out = NULL;
	assert_int_equal(cli_at("2026-01-10", &out, NULL, status), 0);
	doc = json_loads(out, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(doc, "countermeasures")), 1);
	json_decref(doc);
	free(out);
	free(db);
	free(conf);
	free(model);
	tu_rmrf(dir);
	free(dir);
}

/* ------------------------------------------------------------ failures */

/* What a generation writes, for comparing before and after a failed run. */
static void written(struct gu *g, long long out[7])
{
	static const char *const sql[] = {
	    "SELECT count(*) FROM threats",
	    "SELECT count(*) FROM countermeasures",
	    "SELECT count(*) FROM threat_countermeasures",
	    "SELECT count(*) FROM status_history",
	    "SELECT count(*) FROM outbox",
	    "SELECT count(*) FROM generation_state",
	    "SELECT count(*) FROM model_versions WHERE risk_class IS NOT NULL",
	};
	for (size_t i = 0; i < 7; i++)
		out[i] = gu_int(g, sql[i]);
}

/* A row the store refuses, whichever thread writes it (the threats and the
 * flows' state are written beside the evaluation, the rest after it): the
 * run fails with the store's message naming what was written and leaves the
 * database as it was, for a first generation and for a regeneration. */
static void test_write_failure_leaves_store_unchanged(void **state)
{
	(void)state;
	static const struct {
		const char *table, *when, *what;
	} cases[] = {
	    {"model_versions", "1", "record classification"},
	    {"threats", "NEW.id > 5", "insert threat"},
	    {"generation_state", "NEW.kind = 'flow'", "store generation state"},
	    {"countermeasures", "NEW.id > 3", "insert countermeasure"},
	    {"countermeasure_texts", "1", "store countermeasure text"},
	    {"status_history", "1", "record status history"},
	    {"outbox", "1", "queue ticket operation"},
	    {"threat_countermeasures", "1", "link threats"},
	    {"generation_state", "NEW.kind = 'component'", "store generation state"},
	};
	for (int regen = 0; regen < 2; regen++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct gu g;
			open_shop(&g, "tracked", "shop.json");
			if (regen) {
				json_decref(gu_generate(&g, "tracked", NOW));
				import(&g, "tracked", "shop_api.json");
			}
			long long before[7], after[7];
			written(&g, before);
			const char *op = strcmp(cases[i].table, "model_versions") == 0 ? "UPDATE"
			                                                                : "INSERT";
			char *sql = ts_asprintf("CREATE TEMP TRIGGER inject BEFORE %s ON %s WHEN %s"
			                        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
			                        op, cases[i].table, cases[i].when);
			assert_int_equal(sqlite3_exec(store_db(g.s), sql, NULL, NULL, NULL), SQLITE_OK);
			free(sql);
			struct gen_opts opts = {.now = NOW};
			struct ts_err err = {0};
			json_t *sum = NULL;
			int rc = gen_run(g.s, g.lib, g.cfg, "tracked", &opts, &sum, &err);
			if (rc >= 0)
				fail_msg("%s %s (%s): the run succeeded", regen ? "regeneration" : "generation",
				         cases[i].what, cases[i].table);
			assert_null(sum);
			if (!strstr(err.msg, cases[i].what) || !strstr(err.msg, "injected failure"))
				fail_msg("%s (%s): %s", cases[i].what, cases[i].table, err.msg);
			written(&g, after);
			assert_memory_equal(before, after, sizeof(before));
			/* The store is usable: the same run without the fault succeeds. */
			assert_int_equal(sqlite3_exec(store_db(g.s), "DROP TRIGGER inject", NULL, NULL,
			                              NULL),
			                 SQLITE_OK);
			json_decref(gu_generate(&g, "tracked", NOW));
			gu_close(&g);
		}
	}
}

/* A run whose input was read before another generation committed stops on
 * the writer thread's check and writes nothing. */
static void test_stale_input_refused(void **state)
{
	(void)state;
	struct gu g;
	open_shop(&g, "tracked", "shop.json");
	json_decref(gu_generate(&g, "tracked", NOW));
	import(&g, "tracked", "shop_api.json");
	struct gen_input in;
	struct ts_err err = {0};
	assert_int_equal(gen_input_load(g.s, "tracked", &in, &err), 0);
	json_decref(gu_generate(&g, "tracked", NOW));
	long long before[7], after[7];
	written(&g, before);
	struct gen_opts opts = {.now = NOW, .input = &in};
	json_t *sum = NULL;
	assert_int_equal(gen_run(g.s, g.lib, g.cfg, "tracked", &opts, &sum, &err), TS_E_BUSY);
	assert_null(sum);
	assert_non_null(strstr(err.msg, "generated by another run meanwhile"));
	written(&g, after);
	assert_memory_equal(before, after, sizeof(before));
	gen_input_free(&in);
	gu_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_score_formula),
	    cmocka_unit_test(test_scores_stored),
	    cmocka_unit_test(test_satisfied_by),
	    cmocka_unit_test(test_satisfied_changes_on_regeneration),
	    cmocka_unit_test(test_scope_per_policy),
	    cmocka_unit_test(test_out_of_scope_elements),
	    cmocka_unit_test(test_declared_states),
	    cmocka_unit_test(test_regeneration_is_stable),
	    cmocka_unit_test(test_untracked_project_has_no_outbox),
	    cmocka_unit_test(test_regeneration_add_and_remove),
	    cmocka_unit_test(test_regeneration_condition_flip),
	    cmocka_unit_test(test_regeneration_text_update),
	    cmocka_unit_test(test_dry_run_writes_nothing),
	    cmocka_unit_test(test_override_survives_regeneration),
	    cmocka_unit_test(test_override_expiry),
	    cmocka_unit_test(test_override_on_threat),
	    cmocka_unit_test(test_override_errors),
	    cmocka_unit_test(test_manual_threats_preserved),
	    cmocka_unit_test(test_cli_determinism),
	    cmocka_unit_test(test_state_changed_meanwhile),
	    cmocka_unit_test(test_write_failure_leaves_store_unchanged),
	    cmocka_unit_test(test_stale_input_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
