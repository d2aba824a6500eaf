/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the satisfied-by rule (library_find_provider): direction,
 * provider types, the condition, and the deterministic choice generation
 * relies on, with and without the expr index generation passes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "engine/expr/expr.h"
#include "engine/library/library.h"
#include "engine/model/model.h"

/* A countermeasure with satisfied_by {provider_types, relation, condition}. */
struct rule {
	struct lib_satisfied_by sb;
	struct lib_countermeasure cm;
	struct expr *cond;
};

static void rule_init(struct rule *r, enum lib_relation rel, const char *condition)
{
	static const char *types[] = {"api_gateway", "waf"};
	memset(r, 0, sizeof(*r));
	r->sb.provider_types = types;
	r->sb.n_provider_types = 2;
	r->sb.relation = rel;
	if (condition) {
		struct ts_err err = {0};
		assert_int_equal(expr_parse(condition, &r->cond, &err), 0);
		r->sb.condition = r->cond;
		r->sb.condition_src = condition;
	}
	r->cm.id = "C-TEST";
	r->cm.satisfied_by = &r->sb;
	r->cm.file = "cms.json";
	r->cm.path = "$.countermeasures[0]";
}

static json_t *flow(const char *id, const char *src, const char *dst, bool encrypted)
{
	return json_pack("{s:s, s:s, s:s, s:{s:b}}", "id", id, "source", src, "destination", dst,
	                 "properties", "encrypted", encrypted);
}

/* web with two gateways in front (gw-b listed first), a WAF behind it, a
 * database, a self-loop and a flow from web out to gw-a. */
static json_t *test_model(void)
{
	json_t *m =
	    json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:[]}",
	              "components", "id", "web", "type", "web_app", "id", "gw-b", "type",
	              "api_gateway", "id", "gw-a", "type", "api_gateway", "id", "waf", "type",
	              "waf", "id", "db", "type", "sql_database", "flows");
	json_t *flows = json_object_get(m, "flows");
	json_array_append_new(flows, flow("f9", "gw-b", "web", true));
	json_array_append_new(flows, flow("f8", "gw-a", "web", false));
	json_array_append_new(flows, flow("f2", "gw-a", "web", true));
	json_array_append_new(flows, flow("f5", "web", "waf", true));
	json_array_append_new(flows, flow("f6", "db", "web", true));
	json_array_append_new(flows, flow("f7", "web", "web", true));
	json_array_append_new(flows, flow("f1", "web", "gw-a", true));
	return m;
}

/* The provider's id for the component "web", with and without an index (both
 * must agree); NULL when there is none. */
static const char *provider_of(struct rule *r, json_t *model)
{
	struct expr_index *ix = expr_index_new(model);
	json_t *web = model_component(model, "web");
	json_t *plain = NULL, *indexed = NULL;
	struct ts_err err = {0};
	int a = library_find_provider(&r->cm, model, NULL, web, &plain, &err);
	int b = library_find_provider(&r->cm, model, ix, web, &indexed, &err);
	expr_index_free(ix);
	assert_int_equal(a, b);
	assert_true(a == 0 || a == 1);
	if (a == 0)
		return NULL;
	assert_ptr_equal(plain, indexed);
	return json_string_value(json_object_get(plain, "id"));
}

/* The smallest provider id wins, whatever the order of the flows. */
static void test_smallest_provider_wins(void **state)
{
	(void)state;
	struct rule r;
	rule_init(&r, LIB_RELATION_IN_FRONT, NULL);
	json_t *m = test_model();
	assert_string_equal(provider_of(&r, m), "gw-a");
	json_decref(m);
	expr_free(r.cond);
}

/* in_front: provider -> component; behind: component -> provider; connected:
 * either way. A flow in the wrong direction does not count. */
static void test_direction(void **state)
{
	(void)state;
	struct rule r;
	json_t *m = test_model();
	rule_init(&r, LIB_RELATION_BEHIND, NULL);
	/* web -> gw-a (f1) is behind and gw-a < waf. */
	assert_string_equal(provider_of(&r, m), "gw-a");
	json_array_remove(json_object_get(m, "flows"), 6); /* f1 */
	assert_string_equal(provider_of(&r, m), "waf");
	rule_init(&r, LIB_RELATION_CONNECTED, NULL);
	assert_string_equal(provider_of(&r, m), "gw-a");
	/* Only flows into web from non-providers and out of it: nothing in front. */
	json_t *flows = json_object_get(m, "flows");
	json_array_remove(flows, 0); /* f9 */
	json_array_remove(flows, 0); /* f8 */
	json_array_remove(flows, 0); /* f2 */
	rule_init(&r, LIB_RELATION_IN_FRONT, NULL);
	assert_null(provider_of(&r, m));
	json_decref(m);
}

/* The condition is evaluated per flow, with flow, source and destination bound:
 * gw-a qualifies through its encrypted flow f2 although f8 is not encrypted. */
static void test_condition_per_flow(void **state)
{
	(void)state;
	struct rule r;
	json_t *m = test_model();
	rule_init(&r, LIB_RELATION_IN_FRONT, "flow.encrypted == true");
	assert_string_equal(provider_of(&r, m), "gw-a");
	/* gw-a's encrypted flow gone: gw-b is next. */
	json_array_remove(json_object_get(m, "flows"), 2); /* f2 */
	assert_string_equal(provider_of(&r, m), "gw-b");
	expr_free(r.cond);
	/* A condition on the provider's properties, none of which are set. */
	rule_init(&r, LIB_RELATION_IN_FRONT, "source.tls_terminating == true");
	assert_null(provider_of(&r, m));
	json_object_set_new(model_component(m, "gw-b"), "properties",
	                    json_pack("{s:b}", "tls_terminating", true));
	assert_string_equal(provider_of(&r, m), "gw-b");
	expr_free(r.cond);
	json_decref(m);
}

/* Neither a component of another type nor a self-loop provides; a
 * countermeasure without satisfied_by or a component without id has none. */
static void test_no_provider(void **state)
{
	(void)state;
	struct rule r;
	json_t *m = test_model();
	rule_init(&r, LIB_RELATION_CONNECTED, NULL);
	static const char *db_only[] = {"sql_database", "web_app"};
	r.sb.provider_types = db_only;
	assert_string_equal(provider_of(&r, m), "db"); /* not web itself (f7) */
	r.sb.n_provider_types = 0;
	assert_null(provider_of(&r, m));
	rule_init(&r, LIB_RELATION_CONNECTED, NULL);
	r.cm.satisfied_by = NULL;
	assert_null(provider_of(&r, m));
	rule_init(&r, LIB_RELATION_CONNECTED, NULL);
	json_t *anon = json_pack("{s:s}", "type", "web_app");
	json_t *p = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_find_provider(&r.cm, m, NULL, anon, &p, &err), 0);
	assert_null(p);
	json_decref(anon);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smallest_provider_wins),
	    cmocka_unit_test(test_direction),
	    cmocka_unit_test(test_condition_per_flow),
	    cmocka_unit_test(test_no_provider),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
