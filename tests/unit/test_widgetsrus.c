/* SPDX-License-Identifier: Apache-2.0 */
/* The WidgetsRUs example against the shipped configuration and library:
 * classified critical, authentication satisfied by the SSO component, the
 * compliance frameworks in scope; the OTM version generates the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/classify.h"
#include "engine/generate/generate.h"
#include "engine/generate/listing.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

#define NOW "2026-01-10T09:00:00.000Z"

static bool has(const json_t *array, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach (array, i, e) {
		if (strcmp(json_string_value(e), s) == 0)
			return true;
	}
	return false;
}

static bool idp_satisfiable(const struct lib_countermeasure *lc)
{
	for (size_t i = 0; lc->satisfied_by && i < lc->satisfied_by->n_provider_types; i++)
		if (strcmp(lc->satisfied_by->provider_types[i], "identity_provider") == 0)
			return true;
	return false;
}

static void check_project(struct gu *g, const char *slug)
{
	struct ts_err err = {0};
	json_t *doc = NULL;
	assert_int_equal(classify_project(g->s, g->lib, g->cfg, slug, &doc, &err), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "risk_class")), "critical");
	assert_true(json_is_object(json_object_get(doc, "rule")));
	json_t *fw = json_object_get(doc, "frameworks");
	assert_true(has(fw, "gdpr"));
	assert_true(has(fw, "ccpa"));
	assert_true(has(fw, "iso-27001"));
	json_decref(doc);

	json_t *sum = gu_generate(g, slug, NOW);
	assert_string_equal(json_string_value(json_object_get(sum, "risk_class")), "critical");
	assert_true(json_integer_value(json_object_get(json_object_get(sum, "threats"), "total")) >
	            10);
	json_decref(sum);

	assert_int_equal(gen_list_countermeasures(g->s, slug, true, NULL, NOW, &doc, &err), 0);
	size_t i, authn = 0, by_sso = 0, iso = 0, gdpr = 0;
	json_t *c;
	json_array_foreach (json_object_get(doc, "countermeasures"), i, c) {
		const char *lib = json_string_value(json_object_get(c, "library_id"));
		const char *comp = json_string_value(json_object_get(c, "component"));
		const char *sat = json_string_value(json_object_get(c, "satisfied_by"));
		if (sat && strcmp(sat, "entra_id") == 0)
			by_sso++;
		/* Authentication countermeasures (those the library lets an
		 * identity provider satisfy) of the portal, which signs users in
		 * through Entra ID (flow f06), are satisfied by it. */
		const struct lib_countermeasure *lc = library_countermeasure(g->lib, lib);
		if (lc && idp_satisfiable(lc) && strcmp(comp, "web_portal") == 0) {
			authn++;
			assert_string_equal(json_string_value(json_object_get(c, "status")),
			                    "satisfied");
			assert_non_null(sat);
			assert_string_equal(sat, "entra_id");
		}
		json_t *comp_map = json_object_get(json_object_get(c, "details"), "compliance");
		bool in_scope = json_is_true(json_object_get(c, "in_scope"));
		if (in_scope && json_object_get(comp_map, "iso-27001"))
			iso++;
		if (in_scope && json_object_get(comp_map, "gdpr"))
			gdpr++;
	}
	assert_true(authn >= 1);
	assert_true(by_sso >= 1);
	assert_true(iso > 0);
	assert_true(gdpr > 0);
	json_decref(doc);
}

static void test_widgetsrus(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = gu_shipped_config(dir);
	struct gu g;
	gu_open(&g, conf);
	char *native = ts_asprintf("%s/examples/widgetsrus/model.json", tu_env("TS_SOURCE_DIR"));
	gu_import(&g, "widgetsrus", native);
	check_project(&g, "widgetsrus");
	/* The project is mapped to the jira connector: tasks are queued. */
	assert_true(gu_int(&g, "SELECT count(*) FROM outbox WHERE connector = 'jira'"
	                       " AND op = 'create'") > 0);
	char *otm = ts_asprintf("%s/examples/widgetsrus/model.otm.json", tu_env("TS_SOURCE_DIR"));
	gu_import(&g, "widgetsrus-otm", otm);
	check_project(&g, "widgetsrus-otm");
	free(native);
	free(otm);
	gu_close(&g);
	free(conf);
	tu_rmrf(dir);
	free(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_widgetsrus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
