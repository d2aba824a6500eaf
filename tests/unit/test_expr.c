/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the expression language: syntax errors with columns, every operator,
 * missing-property rules, quantifiers, limits, and allocation-free, linear evaluation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/expr/expr.h"
#include "helpers/testutil.h"

/* ---- jansson allocations are counted, to prove evaluation allocates nothing ---- */

static unsigned long jansson_allocs;

static void *counting_malloc(size_t n)
{
	jansson_allocs++;
	return malloc(n);
}

static void counting_free(void *p)
{
	free(p);
}

/* tests/expr.cmake links this program with --wrap=malloc,calloc,realloc, so every
 * allocation of the statically linked engine code passes through these. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static unsigned long libc_allocs;

void *__wrap_malloc(size_t n)
{
	libc_allocs++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	libc_allocs++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	libc_allocs++;
	return __real_realloc(p, n);
}

/* ---- the model every evaluation test uses ---- */

static const char model_text[] =
    "{\"project\": {\"name\": \"Shop\", \"compliance\": [\"pci-dss\", \"gdpr\"]},"
    " \"trust_zones\": [{\"id\": \"internet\", \"name\": \"Internet\", \"trust_level\": 0},"
    "                   {\"id\": \"dmz\", \"name\": \"DMZ\", \"trust_level\": 50}],"
    " \"components\": ["
    "  {\"id\": \"web\", \"type\": \"web_frontend\", \"name\": \"Web\", \"trust_zone\": \"dmz\","
    "   \"tags\": [\"java\", \"spring\"], \"code\": {\"language\": \"java\"},"
    "   \"properties\": {\"internet_facing\": true, \"handles_pii\": false, \"replicas\": 3,"
    "                  \"weight\": 2.5, \"type\": \"shadowed\", \"note\": \"a\\nb\","
    "                  \"dash-key\": \"yes\"}},"
    "  {\"id\": \"api\", \"type\": \"rest_api\", \"name\": \"API\", \"trust_zone\": \"dmz\","
    "   \"tags\": [\"dotnet\"], \"properties\": {\"internet_facing\": false, \"auth\": "
    "\"oauth2\"}},"
    "  {\"id\": \"db\", \"type\": \"sql_database\", \"name\": \"Orders DB\","
    "   \"trust_zone\": \"internal\", \"tags\": [], \"properties\": {\"encrypted\": true}},"
    "  {\"id\": \"db2\", \"type\": \"sql_database\", \"name\": \"Audit DB\","
    "   \"trust_zone\": \"internal\", \"properties\": {}},"
    "  {\"id\": \"sso\", \"type\": \"identity_provider\", \"name\": \"SSO\", \"trust_zone\": "
    "\"dmz\"}"
    " ],"
    " \"flows\": ["
    "  {\"id\": \"f1\", \"source\": \"web\", \"destination\": \"api\", \"protocol\": \"https\","
    "   \"properties\": {\"encrypted\": true}},"
    "  {\"id\": \"f2\", \"source\": \"api\", \"destination\": \"db\", \"protocol\": \"tcp\","
    "   \"properties\": {\"encrypted\": false}},"
    "  {\"id\": \"f3\", \"source\": \"sso\", \"destination\": \"api\", \"protocol\": \"https\"}"
    " ],"
    " \"data_assets\": []}";

static json_t *model;

static json_t *find(const char *list, const char *id)
{
	size_t i;
	json_t *x;

	json_array_foreach (json_object_get(model, list), i, x) {
		if (strcmp(json_string_value(json_object_get(x, "id")), id) == 0)
			return x;
	}
	fail_msg("no %s with id %s in the test model", list, id);
	return NULL;
}

/* The environment of a component-scoped (comp) or flow-scoped (flow) condition. */
static struct expr_env env_for(const char *comp, const char *flow)
{
	struct expr_env env = {.model = model};

	if (comp)
		env.component = find("components", comp);
	if (flow) {
		env.flow = find("flows", flow);
		env.source =
		    find("components", json_string_value(json_object_get(env.flow, "source")));
		env.destination =
		    find("components", json_string_value(json_object_get(env.flow, "destination")));
	}
	return env;
}

static struct expr *parse_ok(const char *src)
{
	struct expr *e = NULL;
	struct ts_err err = {0};

	if (expr_parse(src, &e, &err) != 0)
		fail_msg("parse of \"%s\" failed: %s", src, err.msg);
	assert_non_null(e);
	assert_string_equal(expr_source(e), src);
	return e;
}

static bool eval_src(const char *src, const struct expr_env *env)
{
	struct expr *e = parse_ok(src);
	struct ts_err err = {0};
	bool r = false;

	if (expr_eval_bool(e, env, &r, &err) != 0)
		fail_msg("eval of \"%s\" failed: %s", src, err.msg);
	expr_free(e);
	return r;
}

struct eval_case {
	const char *src;
	bool want;
};

static void check_cases(const struct eval_case *cases, size_t n, const struct expr_env *env)
{
	for (size_t i = 0; i < n; i++) {
		bool got = eval_src(cases[i].src, env);
		if (got != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].src, got ? "true" : "false",
			         cases[i].want ? "true" : "false");
	}
}

static void check_parse_error(const char *src, const char *want)
{
	struct expr *e = (struct expr *)&jansson_allocs; /* must stay untouched */
	struct ts_err err = {0};

	if (expr_parse(src, &e, &err) != TS_E_INVALID)
		fail_msg("\"%s\" parsed, want error \"%s\"", src, want);
	assert_ptr_equal(e, (struct expr *)&jansson_allocs);
	assert_int_equal(err.code, TS_E_INVALID);
	if (strcmp(err.msg, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", src, err.msg, want);
}

/* ---- parsing ---- */

static void test_parse_valid(void **state)
{
	static const char *const ok[] = {
	    "true",
	    "component.type == \"rest_api\"",
	    "component.type in ['rest_api', 'graphql_api'] && !component.internet_facing",
	    "(flow.protocol != 'https') || source.trust_zone != destination.trust_zone",
	    "model.count(c, c.type == 'sql_database') > 1",
	    ("model.any_flow(f, f.destination == component.id && "
	     "model.component(f.source).type == 'identity_provider')"),
	    "component.tags.any(t, t == 'java')",
	    "[] == [] && [1, -2, 3.5, true, false, null, 'x'] != []",
	    "component['properties']['dash-key'] == 'yes'",
	    "  component.x\t==\n1  ",
	    "component.in == component.true", /* keywords are fine as member names */
	    "-1 < 0 && -0.5 < 0",
	};

	for (size_t i = 0; i < TS_ARRAY_SIZE(ok); i++)
		expr_free(parse_ok(ok[i]));
	expr_free(NULL);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *src;
		const char *msg;
	} cases[] = {
	    /* unknown root identifier */
	    {"componnt.type == 'x'",
	     "column 1: unknown name 'componnt' (expected component, flow, source, destination, "
	     "model or a bound variable)"},
	    {"model.any(c, true) && c.x",
	     "column 23: unknown name 'c' (expected component, flow, source, destination, model or "
	     "a bound variable)"},
	    /* unexpected token */
	    {"component.type == )", "column 19: expected a value, found ')'"},
	    {"", "column 1: expected a value, found end of input"},
	    {"component.x in", "column 15: expected a value, found end of input"},
	    {"in", "column 1: expected a value, found 'in'"},
	    {"component.", "column 11: expected a name after '.', found end of input"},
	    {"component.type = 'x'", "column 16: unexpected '=' (use '==' to compare)"},
	    {"component.x & true", "column 13: unexpected '&' (use '&&')"},
	    {"component.x | true", "column 13: unexpected '|' (use '||')"},
	    {"component.x # 1", "column 13: unexpected character '#'"},
	    {"flow.x == \x01", "column 11: unexpected byte 0x01"},
	    {"1 == 1 == 1", "column 8: comparisons cannot be chained; use parentheses"},
	    {"[component]",
	     "column 2: list elements must be literals (strings, numbers, true, false or null), "
	     "found 'component'"},
	    {"['a' 'b']",
	     "column 6: expected ',' or ']' in the list opened at column 1, found ''b''"},
	    {"component[1]", "column 11: expected a string key inside [ ], found '1'"},
	    {"component['a'",
	     "column 14: expected ']' to close '[' at column 10, found end of input"},
	    {"99999999999999999999 > 1", "column 1: number '99999999999999999999' out of range"},
	    /* unterminated string, bad escape */
	    {"component.name == \"abc", "column 19: unterminated string"},
	    {"'abc\\'", "column 1: unterminated string"},
	    {"component.name == 'a\\qb'",
	     "column 21: unknown escape '\\q' in string (use \\\" \\' \\\\ \\n or \\t)"},
	    /* missing ')' */
	    {"(component.x == 1",
	     "column 18: expected ')' to close '(' at column 1, found end of input"},
	    {"model.component('a', 'b')",
	     "column 20: expected ')' to close '(' at column 16, found ','"},
	    {"model.any(c, true",
	     "column 18: expected ')' to close '(' at column 10, found end of input"},
	    /* trailing input */
	    {"component.x == 1 2", "column 18: unexpected '2' after the end of the expression"},
	    {"true)", "column 5: unexpected ')' after the end of the expression"},
	    /* quantifier without a variable */
	    {"model.any(c.type == 'x')", "column 11: 'any' needs a variable: any(NAME, CONDITION)"},
	    {"model.count()", "column 13: 'count' needs a variable: count(NAME, CONDITION)"},
	    {"component.tags.all('x', true)",
	     "column 20: 'all' needs a variable: all(NAME, CONDITION)"},
	    {"model.any(component, true)", "column 11: 'component' cannot name a variable"},
	    {"model.any(true, true)",
	     "column 11: 'true' is a reserved word and cannot name a variable"},
	    {"model.any(c, model.any_flow(c, true))", "column 29: variable 'c' is already bound"},
	    /* unknown function */
	    {"model.foo(c, true)",
	     "column 7: unknown function 'foo' (model has any, all, count, any_flow, all_flow, "
	     "count_flow and component)"},
	    {"component.tags.any_flow(t, true)",
	     "column 16: unknown function 'any_flow' (lists have any, all and count)"},
	    {"component.component('x')",
	     "column 11: unknown function 'component' (lists have any, all and count)"},
	    {"model.component()", "column 17: expected a value, found ')'"},
	};

	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++)
		check_parse_error(cases[i].src, cases[i].msg);
}

static char *repeat(const char *prefix, int n, const char *middle, const char *suffix)
{
	struct ts_buf b = {0};

	for (int i = 0; i < n; i++)
		ts_buf_puts(&b, prefix);
	ts_buf_puts(&b, middle);
	for (int i = 0; i < n; i++)
		ts_buf_puts(&b, suffix);
	return ts_buf_steal(&b);
}

static void test_limits(void **state)
{
	char *s;
	struct expr_env env = env_for("web", NULL);

	/* nesting depth: 64 levels parse, the 65th opening token is the error column */
	s = repeat("(", EXPR_MAX_DEPTH, "true", ")");
	assert_true(eval_src(s, &env));
	free(s);
	s = repeat("(", EXPR_MAX_DEPTH + 1, "true", ")");
	check_parse_error(s, "column 65: expression nested too deeply (at most 64 levels)");
	free(s);
	s = repeat("!", EXPR_MAX_DEPTH, "true", "");
	assert_true(eval_src(s, &env)); /* an even number of negations */
	free(s);
	s = repeat("!", EXPR_MAX_DEPTH + 1, "true", "");
	check_parse_error(s, "column 65: expression nested too deeply (at most 64 levels)");
	free(s);
	s = repeat("(", EXPR_MAX_DEPTH, "[1]", ")");
	check_parse_error(s, "column 65: expression nested too deeply (at most 64 levels)");
	free(s);

	/* a long && chain is flat, not nested */
	s = repeat("true && ", 400, "component.internet_facing", "");
	assert_true(eval_src(s, &env));
	free(s);

	/* source length: 4096 bytes parse, 4097 do not */
	s = repeat(" ", EXPR_MAX_SOURCE - 4, "true", "");
	assert_int_equal(strlen(s), EXPR_MAX_SOURCE);
	assert_true(eval_src(s, &env));
	free(s);
	s = repeat(" ", EXPR_MAX_SOURCE - 3, "true", "");
	check_parse_error(s, "column 4097: expression longer than 4096 bytes");
	free(s);

	/* eight variables bound at once are fine, a ninth is not */
	s = ts_strdup("model.any(a, model.any(b, model.any(c, model.any(d, model.any(e, "
	              "model.any(f, model.any(g, model.any(h, true))))))))");
	assert_true(eval_src(s, &env));
	free(s);
	check_parse_error("model.any(a, model.any(b, model.any(c, model.any(d, model.any(e, "
	                  "model.any(f, model.any(g, model.any(h, model.any(i, true)))))))))",
	                  "column 115: too many nested quantifiers (at most 8 variables)");
	/* sequential quantifiers reuse slots */
	assert_true(eval_src("model.any(a, true) && model.any(b, true) && component.tags.any(a, "
	                     "a == 'java')",
	                     &env));
}

/* ---- evaluation ---- */

static void test_operators(void **state)
{
	static const struct eval_case cases[] = {
	    {"1 < 2", true},
	    {"2 < 1", false},
	    {"2 <= 2", true},
	    {"3 <= 2", false},
	    {"3 > 2.5", true},
	    {"2 > 2", false},
	    {"2 >= 2", true},
	    {"2 >= 3", false},
	    {"2.0 == 2", true},
	    {"2 == 2.5", false},
	    {"1 != 2", true},
	    {"1 != 1.0", false},
	    {"-1 < 0", true},
	    {"-2.5 < -2", true},
	    {"9007199254740993 == 9007199254740992", false}, /* integers compare exactly */
	    {"'abc' < 'abd'", true},
	    {"'ab' < 'abc'", true},
	    {"'b' > 'abc'", true},
	    {"'abc' >= 'abc'", true},
	    {"'\xc3\xa9' > 'z'", true}, /* bytewise, not by locale */
	    {"'a' == \"a\"", true},
	    {"'a' != 'A'", true},
	    {"'1' == 1", false},
	    {"true == 1", false},
	    {"true == true", true},
	    {"false != true", true},
	    {"!true", false},
	    {"!false", true},
	    {"!!'x'", true},
	    {"true && false", false},
	    {"true && true && true", true},
	    {"false || true", true},
	    {"false || false || false", false},
	    {"true || false && false", true}, /* && binds tighter than || */
	    {"(true || false) && false", false},
	    {"!false == true", true},       /* ! binds tighter than == */
	    {"\"a\\\"b\" == 'a\"b'", true}, /* escapes */
	    {"'it\\'s' == \"it's\"", true},
	    {"'x\\\\y' < 'x]'", true}, /* '\\' (0x5c) < ']' (0x5d) */
	    {"component.note == 'a\\nb'", true},
	    {"component.note == 'a\\tb'", false},
	    {"component.properties.replicas == 3", true},
	    {"component.replicas >= 3 && component.replicas < 4", true},
	    {"component.weight > 2 && component.weight == 2.5", true},
	    {"component.tags == ['java', 'spring']", true},
	    {"component.tags == ['spring', 'java']", false},
	    {"['a'] == ['a', 'b']", false},
	    {"[1, 2.0] == [1.0, 2]", true},
	    {"[] == []", true},
	    {"[] == null", false},
	    {"component == source", true}, /* the same object */
	    {"component == model.component('web')", true},
	    {"component == destination", false},
	    {"component.code == {}", false},
	};
	struct expr_env env = env_for("web", "f1");

	/* "{}" is not a literal of the language: the last case must not parse */
	for (size_t i = 0; i + 1 < TS_ARRAY_SIZE(cases); i++)
		check_cases(&cases[i], 1, &env);
	check_parse_error(cases[TS_ARRAY_SIZE(cases) - 1].src,
	                  "column 19: unexpected character '{'");
}

static void test_object_equality(void **state)
{
	json_t *copy = json_deep_copy(find("components", "web"));
	json_t *changed = json_deep_copy(find("components", "web"));
	struct expr_env env = env_for("web", NULL);

	json_object_set_new(json_object_get(changed, "properties"), "replicas", json_real(3.0));
	env.source = copy;
	env.destination = changed;
	assert_true(eval_src("component == source", &env));
	/* 3 and 3.0 are equal numbers inside objects too */
	assert_true(eval_src("component == destination", &env));
	json_object_set_new(json_object_get(changed, "properties"), "replicas", json_integer(4));
	assert_false(eval_src("component == destination", &env));
	assert_true(eval_src("component.code == source.code", &env));
	json_object_set_new(changed, "extra", json_true());
	assert_false(eval_src("source == destination", &env));
	json_decref(copy);
	json_decref(changed);
}

static void test_missing_properties(void **state)
{
	static const struct eval_case cases[] = {
	    {"component.nope == null", true},
	    {"component.nope.deeper.still == null", true},
	    {"component.nope != null", false},
	    {"component.nope == 0", false},
	    {"component.nope == ''", false},
	    {"component.nope == false", false},
	    {"component.nope == []", false},
	    {"component.nope != 0", true},
	    {"null == null", true},
	    {"component.nope == component.other", true},
	    {"component.nope < 1", false},
	    {"component.nope <= 1", false},
	    {"component.nope > 1", false},
	    {"component.nope >= 1", false},
	    {"component.nope >= null", false},
	    {"!(component.nope < 1)", true}, /* so !(a < b) is not a >= b */
	    {"!component.nope", true},
	    {"component.name.first == null", true}, /* through a string */
	    {"component.tags.first == null", true}, /* through an array */
	    {"component.replicas.x == null", true}, /* through a number */
	    {"1 < '2'", false},
	    {"'a' < true", false},
	    {"[1] < [2]", false},
	    {"true > false", false},
	    {"component.nope in ['a']", false},
	    {"null in [null]", true},
	    {"'a' in component.nope", false},
	    {"component.nope.any(x, true)", false}, /* null is an empty list */
	    {"component.nope.all(x, false)", true},
	    {"component.nope.count(x, true) == 0", true},
	    {"flow == null && flow.protocol == null && source.id == null", true},
	    {"model.component('nope') == null", true},
	    {"model.component(3) == null", true},
	    {"model.component(null).type == null", true},
	};
	struct expr_env env = env_for("web", NULL);
	struct expr *e = parse_ok("component == null && model == null && "
	                          "model.count(c, true) == 0 && model.component('web') == null");
	bool r = false;

	check_cases(cases, TS_ARRAY_SIZE(cases), &env);
	/* a NULL environment makes every root null */
	assert_int_equal(expr_eval_bool(e, NULL, &r, NULL), 0);
	assert_true(r);
	expr_free(e);
}

static void test_property_fallback(void **state)
{
	static const struct eval_case web_cases[] = {
	    {"component.internet_facing == component.properties.internet_facing", true},
	    {"component.internet_facing", true},
	    {"component.replicas == 3", true},
	    {"component.type == 'web_frontend'", true}, /* the object wins over properties */
	    {"component.properties.type == 'shadowed'", true},
	    {"component.language == null", true}, /* no fallback into "code" */
	    {"component.code.language == 'java'", true},
	    {"component['dash-key'] == 'yes'", true},
	    {"component.properties['dash-key'] == 'yes'", true},
	    {"source.internet_facing && !destination.internet_facing", true},
	    {"flow.encrypted == true", true},
	    {"flow.properties.encrypted == true", true},
	    {"model.compliance == ['pci-dss', 'gdpr']", true},
	    {"model.project.compliance == model.compliance", true},
	    {"'gdpr' in model.compliance", true},
	    {"model.name == 'Shop'", true},
	    {"model.trust_zones.any(z, z.trust_level == 0)", true},
	    {"model.trust_zones.any(z, z.properties == null && z.name == 'DMZ')", true},
	    /* components reached through model.components keep the fallback */
	    {"model.components.any(c, c.internet_facing)", true},
	    {"model.components.count(c, c.encrypted) == 1", true},
	    {"model.flows.count(f, f.encrypted) == 1", true},
	    /* a plain list element has no fallback */
	    {"[1].any(x, x.properties == null)", true},
	    /* lookup results are components too */
	    {"model.component('api').auth == 'oauth2'", true},
	    {"model.component('web').properties.handles_pii == false", true},
	    {"model.component('web').handles_pii == false", true},
	};
	struct expr_env env = env_for("web", "f1");

	check_cases(web_cases, TS_ARRAY_SIZE(web_cases), &env);
}

static void test_in(void **state)
{
	static const struct eval_case cases[] = {
	    {"'java' in component.tags", true},
	    {"'dotnet' in component.tags", false},
	    {"component.type in ['rest_api', 'web_frontend']", true},
	    {"component.type in ['rest_api', 'graphql_api']", false},
	    {"2 in [1, 2.0]", true},
	    {"'2' in [1, 2]", false},
	    {"null in [1, null]", true},
	    {"null in []", false},
	    {"'ring' in 'spring'", true},
	    {"'Spring' in 'spring'", false},
	    {"'' in 'x'", true},
	    {"'x' in ''", false},
	    {"1 in '123'", false},
	    {"'end' in component.name", false},
	    {"'We' in component.name", true},
	    {"'internet_facing' in component.properties", true},
	    {"'internet_facing' in component", false}, /* object keys only, no fallback */
	    {"'zzz' in component.properties", false},
	    {"'a' in null", false},
	    {"'a' in component.nope", false},
	    {"1 in 1", false},
	    {"'a' in true", false},
	    {"['java', 'spring'] in [['java', 'spring'], 'x']", false}, /* no nested literals */
	    {"component.tags in [component.tags]", false},
	};
	struct expr_env env = env_for("web", NULL);

	/* the last two use a list literal with non-literal or list elements: parse errors */
	check_cases(cases, TS_ARRAY_SIZE(cases) - 2, &env);
	check_parse_error(cases[TS_ARRAY_SIZE(cases) - 2].src,
	                  "column 24: list elements must be literals (strings, numbers, true, "
	                  "false or null), found '['");
	check_parse_error(cases[TS_ARRAY_SIZE(cases) - 1].src,
	                  "column 20: list elements must be literals (strings, numbers, true, "
	                  "false or null), found 'component'");
}

static void test_quantifiers(void **state)
{
	static const struct eval_case api_cases[] = {
	    {"model.any(c, c.type == 'sql_database')", true},
	    {"model.any(c, c.type == 'graphql_api')", false},
	    {"model.all(c, c.trust_zone != null)", true},
	    {"model.all(c, c.internet_facing)", false},
	    {"model.count(c, c.type == 'sql_database') > 1", true},
	    {"model.count(c, c.type == 'sql_database') == 2", true},
	    {"model.count(c, true) == 5", true},
	    {"model.count(c, false) == 0", true},
	    {"model.any_flow(f, f.protocol == 'tcp')", true},
	    {"model.all_flow(f, f.protocol == 'https')", false},
	    {"model.all_flow(f, f.id != null)", true},
	    {"model.count_flow(f, f.protocol == 'https') == 2", true},
	    {"model.count_flow(f, f.encrypted) == 1", true},
	    /* endpoints through model.component */
	    {"model.any_flow(f, f.destination == component.id && "
	     "model.component(f.source).type == 'identity_provider')",
	     true},
	    {"model.any_flow(f, f.source == component.id && "
	     "model.component(f.destination).type == 'sql_database')",
	     true},
	    /* nested */
	    {"model.any(c, c.type == 'sql_database' && model.any_flow(f, f.destination == c.id "
	     "&& model.component(f.source).type == 'rest_api'))",
	     true},
	    {"model.all(c, c.type != 'sql_database' || model.any_flow(f, f.destination == c.id))",
	     false}, /* db2 has no incoming flow */
	    {"model.count(c, model.count_flow(f, f.destination == c.id) >= 2) == 1", true},
	    {"model.any(c, c.tags.any(t, t == 'java') && model.any(d, d.id != c.id && "
	     "d.tags.any(u, u == 'dotnet')))",
	     true},
	    /* list quantifiers */
	    {"component.tags.any(t, t == 'dotnet')", true},
	    {"component.tags.all(t, t == 'dotnet')", true},
	    {"component.tags.count(t, true) == 1", true},
	    {"['a', 'b', 'c'].count(x, x != 'b') == 2", true},
	    {"['a', 'b'].all(x, x in 'abc')", true},
	    {"[].all(x, false)", true},
	    {"[].any(x, true)", false},
	    {"'abc'.any(x, true)", false}, /* a string is not a list */
	    {"model.count(c, true) > 4.5", true},
	    {"model.count(c, true) == 5.0", true},
	    {"model.count(c, true)", true},
	    {"model.count(c, false)", false},
	};
	static const struct eval_case db_cases[] = {
	    {"model.any_flow(f, f.destination == component.id && "
	     "model.component(f.source).type == 'identity_provider')",
	     false},
	    {"component.tags.all(t, false)", true}, /* empty */
	    {"component.tags.any(t, true)", false},
	};
	static const struct eval_case sso_cases[] = {
	    {"component.tags.all(t, false)", true}, /* missing */
	    {"component.tags.count(t, true) == 0", true},
	};
	struct expr_env api = env_for("api", NULL), db = env_for("db", NULL),
	                sso = env_for("sso", NULL);

	check_cases(api_cases, TS_ARRAY_SIZE(api_cases), &api);
	check_cases(db_cases, TS_ARRAY_SIZE(db_cases), &db);
	check_cases(sso_cases, TS_ARRAY_SIZE(sso_cases), &sso);
}

static void test_truthiness(void **state)
{
	static const struct eval_case cases[] = {
	    {"false", false},
	    {"null", false},
	    {"0", false},
	    {"0.0", false},
	    {"''", false},
	    {"[]", false},
	    {"component.tags", false}, /* [] */
	    {"component.nope", false},
	    {"true", true},
	    {"1", true},
	    {"-1", true},
	    {"0.5", true},
	    {"'x'", true},
	    {"'false'", true},
	    {"[false]", true},
	    {"component", true},
	    {"component.properties", true}, /* {} */
	    {"!0 && !'' && !null && ![] && !!1", true},
	};
	struct expr_env env = env_for("db2", NULL);

	env.component = find("components", "db");
	check_cases(cases, TS_ARRAY_SIZE(cases), &env);
	env.component = find("components", "db2");
	assert_true(eval_src("component.properties", &env));
	assert_false(eval_src("component.tags", &env));
}

/* A right side that would blow the step budget shows whether it ran. */
static void test_short_circuit(void **state)
{
	static const char expensive[] =
	    "model.count(a, model.count(b, model.count(c, c.id != a.id) > 0) > 0) > 0";
	static const struct {
		const char *prefix; /* the expensive side follows */
		bool evaluated;
		bool want;
	} cases[] = {
	    {"false && ", false, false},
	    {"true || ", false, true},
	    {"component.nope != null && ", false, false},
	    {"component.tags == null || ", false, true},
	    {"true && ", true, false},
	    {"false || ", true, false},
	    {"true && true && false && ", false, false},
	    {"false || false || true || ", false, true},
	};
	struct expr_env env = env_for("sso", NULL);

	env.max_steps = 500; /* the expensive side needs about 900 steps */
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		char src[256];
		struct expr *e;
		struct ts_err err = {0};
		bool r = !cases[i].want;
		int rc;

		snprintf(src, sizeof(src), "%s%s", cases[i].prefix, expensive);
		e = parse_ok(src);
		rc = expr_eval_bool(e, &env, &r, &err);
		if (cases[i].evaluated) {
			if (rc != TS_E_INVALID)
				fail_msg("%s: the right side was not evaluated", src);
			assert_int_equal(err.code, TS_E_INVALID);
			assert_non_null(strstr(err.msg, "exceeded its budget of 500 steps"));
		} else {
			if (rc != 0)
				fail_msg("%s: the right side was evaluated: %s", src, err.msg);
			assert_int_equal(r, cases[i].want);
		}
		expr_free(e);
	}
	/* the type oddity on the right of a guard is never looked at */
	assert_false(eval_src("component.tags != null && component.tags.x.y > 3", &env));
	/* with the default budget the expensive side completes */
	env.max_steps = 0;
	assert_true(eval_src(expensive, &env));
}

static void test_uses(void **state)
{
	static const struct {
		const char *src;
		unsigned uses;
	} cases[] = {
	    {"true", 0},
	    {"component.x", EXPR_USES_COMPONENT},
	    {"flow.x && source.y", EXPR_USES_FLOW | EXPR_USES_SOURCE},
	    {"destination.x", EXPR_USES_DESTINATION},
	    {"model.any(c, c.x)", EXPR_USES_MODEL},
	    {"model.compliance", EXPR_USES_MODEL},
	    {"model.any_flow(f, f.destination == component.id)",
	     EXPR_USES_MODEL | EXPR_USES_COMPONENT},
	    {"[1].any(x, x == flow.y)", EXPR_USES_FLOW},
	    {"component.x || flow.x || source.x || destination.x || model.x",
	     EXPR_USES_COMPONENT | EXPR_USES_FLOW | EXPR_USES_SOURCE | EXPR_USES_DESTINATION |
	         EXPR_USES_MODEL},
	};

	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		struct expr *e = parse_ok(cases[i].src);
		if (expr_uses(e) != cases[i].uses)
			fail_msg("%s: uses 0x%x, want 0x%x", cases[i].src, expr_uses(e),
			         cases[i].uses);
		expr_free(e);
	}
}

static const char *const workload[] = {
    "component.type in ['rest_api', 'graphql_api'] && !component.internet_facing",
    "model.count(c, c.type == 'sql_database') > 1",
    ("model.any_flow(f, f.destination == component.id && "
     "model.component(f.source).type == 'identity_provider')"),
    "component.tags.any(t, t == 'dotnet') || 'gdpr' in model.compliance",
    "component == model.component('api') && component.name < 'B' && 'P' in component.name",
    "model.all(c, c.trust_zone != null) && component.auth == 'oauth2' && [1, 2] == [1, 2.0]",
};

static void test_determinism(void **state)
{
	static const char *const comps[] = {"web", "api", "db", "db2", "sso"};

	for (size_t i = 0; i < TS_ARRAY_SIZE(workload); i++) {
		struct expr *a = parse_ok(workload[i]), *b = parse_ok(workload[i]);
		for (size_t k = 0; k < TS_ARRAY_SIZE(comps); k++) {
			struct expr_env env = env_for(comps[k], NULL);
			bool first, again, other;
			assert_int_equal(expr_eval_bool(a, &env, &first, NULL), 0);
			for (int n = 0; n < 50; n++) {
				assert_int_equal(expr_eval_bool(a, &env, &again, NULL), 0);
				assert_int_equal(again, first);
			}
			assert_int_equal(expr_eval_bool(b, &env, &other, NULL), 0);
			assert_int_equal(other, first);
		}
		expr_free(a);
		expr_free(b);
	}
	/* and the workload is not trivially constant */
	{
		struct expr_env api = env_for("api", NULL), web = env_for("web", NULL);
		assert_true(eval_src(workload[0], &api));
		assert_false(eval_src(workload[0], &web));
		assert_true(eval_src(workload[2], &api));
		assert_true(eval_src(workload[4], &api));
		assert_true(eval_src(workload[5], &api));
	}
}

static void test_no_allocation(void **state)
{
	struct expr *e[TS_ARRAY_SIZE(workload)];
	struct expr_env env = env_for("api", NULL);
	unsigned long before, libc_before;
	int trues = 0;

	for (size_t i = 0; i < TS_ARRAY_SIZE(workload); i++)
		e[i] = parse_ok(workload[i]);
	before = jansson_allocs;
	assert_true(before > 0); /* the counter does see jansson's allocations */
	libc_before = libc_allocs;
	free(ts_malloc(16)); /* and the wrappers see the engine's own allocations */
	if (libc_allocs == libc_before)
		fail_msg("malloc is not wrapped: tests/expr.cmake was not applied");
	libc_before = libc_allocs;
	for (int n = 0; n < 100000 / (int)TS_ARRAY_SIZE(workload); n++) {
		for (size_t i = 0; i < TS_ARRAY_SIZE(workload); i++) {
			bool r;
			assert_int_equal(expr_eval_bool(e[i], &env, &r, NULL), 0);
			trues += r;
		}
	}
	assert_int_equal(jansson_allocs, before);
	assert_int_equal(libc_allocs, libc_before);
	assert_true(trues > 0);
	for (size_t i = 0; i < TS_ARRAY_SIZE(workload); i++)
		expr_free(e[i]);
}

/* With a model index, a flow quantifier whose condition pins the flow to one
 * component (component.id, an outer flow's endpoint, another variable's id,
 * a disjunction naming one id) visits only that component's flows: the
 * results are those of a visit of every flow, for every component. */
static void test_index_anchors(void **state)
{
	(void)state;
	static const struct {
		const char *src;
		const char *true_for; /* the components it holds for, "web api ..." */
	} cases[] = {
	    {"model.any_flow(f, f.destination == component.id)", "api db"},
	    {"model.count_flow(f, f.source == component.id || f.destination == component.id) >= 2",
	     "api"},
	    /* two hops: a flow into this component from one that an SSO flow reaches */
	    {"model.any_flow(f, f.destination == component.id && model.any_flow(g, "
	     "g.destination == f.source && model.component(g.source).type == "
	     "\"identity_provider\"))",
	     "db"},
	    /* a component elsewhere with no flow at all */
	    {"model.any(w, w.type == \"sql_database\" && !model.any_flow(g, g.source == w.id || "
	     "g.destination == w.id))",
	     "web api db db2 sso"},
	    /* a disjunction naming two ids is not anchored, and still right */
	    {"model.any_flow(f, f.source == \"sso\" || f.destination == component.id)",
	     "web api db db2 sso"},
	    /* all_flow visits every flow of the model: never anchored */
	    {"model.all_flow(f, f.source == component.id || f.destination == component.id)", "api"},
	};
	static const char *const comps[] = {"web", "api", "db", "db2", "sso"};
	struct expr_index *ix = expr_index_new(model);
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		struct expr *e = parse_ok(cases[i].src);
		for (size_t k = 0; k < TS_ARRAY_SIZE(comps); k++) {
			struct expr_env plain = env_for(comps[k], NULL), indexed = plain;
			indexed.index = ix;
			bool a = false, b = false;
			struct ts_err err = {0};
			assert_int_equal(expr_eval_bool(e, &plain, &a, &err), 0);
			assert_int_equal(expr_eval_bool(e, &indexed, &b, &err), 0);
			char *padded = ts_asprintf(" %s ", cases[i].true_for);
			char *word = ts_asprintf(" %s ", comps[k]);
			bool want = strstr(padded, word) != NULL;
			if (a != want || b != want)
				fail_msg("%s on %s: %d without the index, %d with it, want %d",
				         cases[i].src, comps[k], a, b, want);
			free(padded);
			free(word);
		}
		expr_free(e);
	}
	expr_index_free(ix);
}

/* Records the reads an evaluation reports: ids space-separated, "*" for a
 * walk of the whole model. */
static void record_read(void *arg, const char *id, size_t len)
{
	struct ts_buf *b = arg;
	if (id)
		ts_buf_printf(b, "%.*s ", (int)len, id);
	else
		ts_buf_puts(b, "* ");
}

static void record_value(void *arg, long long v)
{
	ts_buf_printf(arg, "%lld,", v);
}

/* A quantifier over the whole model that reads only its own variable is
 * memoised: same results as without the memo, evaluated once, its value
 * reported by expr_closed_values; one that reads the component is not. */
static void test_memo(void **state)
{
	(void)state;
	static const struct {
		const char *src;
		const char *closed; /* the values expr_closed_values reports */
	} cases[] = {
	    {"model.any(c, c.type == \"identity_provider\")", "1,"},
	    {"model.count(c, c.type == \"sql_database\") >= 2 && component.id == \"api\"", "2,"},
	    {"model.any(c, c.id == component.id)", ""},
	    {"model.any_flow(f, f.destination == component.id && model.any(c, c.type == \"nope\"))",
	     "0,"},
	    {"model.any(c, model.any_flow(f, f.source == c.id))", "1,"},
	};
	static const char *const comps[] = {"web", "api", "db", "db2", "sso"};
	struct expr_index *ix = expr_index_new(model);
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		struct expr *e = parse_ok(cases[i].src);
		struct expr_memo *memo = expr_memo_new();
		for (size_t k = 0; k < TS_ARRAY_SIZE(comps); k++) {
			struct expr_env plain = env_for(comps[k], NULL), memoed = plain;
			memoed.index = ix;
			memoed.memo = memo;
			bool a = false, b = false;
			struct ts_err err = {0};
			assert_int_equal(expr_eval_bool(e, &plain, &a, &err), 0);
			assert_int_equal(expr_eval_bool(e, &memoed, &b, &err), 0);
			if (a != b)
				fail_msg("%s on %s: %d without the memo, %d with it", cases[i].src,
				         comps[k], a, b);
		}
		struct ts_buf got = {0};
		ts_buf_puts(&got, "");
		struct expr_env env = {.model = model, .index = ix, .memo = memo};
		struct ts_err err = {0};
		assert_int_equal(expr_closed_values(e, &env, record_value, &got, &err), 0);
		assert_string_equal(got.data, cases[i].closed);
		ts_buf_free(&got);
		expr_memo_free(memo);
		expr_free(e);
	}
	expr_index_free(ix);
}

/* What an evaluation reports reading: lookups and anchored flow quantifiers
 * name their component, walks of the whole model report "*", and a memoised
 * quantifier reports nothing. */
static void test_deps(void **state)
{
	(void)state;
	static const struct {
		const char *src;
		const char *comp;
		bool memo;
		const char *reads;
	} cases[] = {
	    {"component.internet_facing == true", "api", false, ""},
	    {"model.component(\"db\").type == \"sql_database\"", "api", false, "db "},
	    {"model.component(\"gone\") == null", "api", false, "gone "},
	    {"model.any_flow(f, f.destination == component.id)", "db", false, "db "},
	    {"model.any_flow(f, f.destination == component.id && "
	     "model.component(f.source).type == \"web_app\")",
	     "db", false, "db api "},
	    {"model.all_flow(f, f.source != \"x\")", "db", false, "* "},
	    {"model.any(c, c.type == \"identity_provider\")", "db", false, "* "},
	    {"model.any(c, c.type == \"identity_provider\")", "db", true, ""},
	    {"model.any(c, c.id == component.id)", "db", true, "* "},
	    {"model.components == null", "db", false, "* "},
	};
	struct expr_index *ix = expr_index_new(model);
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		struct expr *e = parse_ok(cases[i].src);
		struct expr_memo *memo = cases[i].memo ? expr_memo_new() : NULL;
		struct ts_buf got = {0};
		ts_buf_puts(&got, "");
		struct expr_deps deps = {record_read, &got};
		struct expr_env env = env_for(cases[i].comp, NULL);
		env.index = ix;
		env.memo = memo;
		env.deps = &deps;
		bool r = false;
		struct ts_err err = {0};
		assert_int_equal(expr_eval_bool(e, &env, &r, &err), 0);
		if (strcmp(got.data, cases[i].reads) != 0)
			fail_msg("%s: read '%s', want '%s'", cases[i].src, got.data, cases[i].reads);
		ts_buf_free(&got);
		expr_memo_free(memo);
		expr_free(e);
	}
	expr_index_free(ix);
}

static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && (strstr(p, "valgrind") || strstr(p, "vgpreload"));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *big_model(int n)
{
	json_t *m = json_object(), *comps = json_array();

	for (int i = 0; i < n; i++) {
		json_t *c =
		    json_pack("{s:s, s:{s:b}}", "type", i % 10 == 0 ? "sql_database" : "rest_api",
		              "properties", "internet_facing", i % 3 == 0);
		char id[32];
		snprintf(id, sizeof(id), "c%d", i);
		json_object_set_new(c, "id", json_string(id));
		json_array_append_new(comps, c);
	}
	json_object_set_new(m, "components", comps);
	return m;
}

/* Steps grow linearly with the number of components, and time stays small. */
static void test_performance(void **state)
{
	struct expr *e = parse_ok("model.count(c, c.type == 'sql_database' && "
	                          "c.internet_facing) > 1");
	struct expr *lookup = parse_ok("model.component('c9999').type == 'rest_api'");
	struct expr *typical = parse_ok(workload[0]);
	json_t *m10 = big_model(10000), *m20 = big_model(20000);
	struct expr_env env = {.model = m10, .max_steps = 10000UL * 12};
	struct ts_err err = {0};
	bool r = false;
	double t0, dt;
	const int loops = 100000;

	/* per component: element, &&, ==, member, variable, constant, member, variable */
	t0 = now_s();
	assert_int_equal(expr_eval_bool(e, &env, &r, &err), 0);
	dt = now_s() - t0;
	assert_true(r);
	env.model = m20;
	env.max_steps = 20000UL * 12;
	assert_int_equal(expr_eval_bool(e, &env, &r, &err), 0);
	env.max_steps = 20000UL * 4;
	assert_int_equal(expr_eval_bool(e, &env, &r, &err), TS_E_INVALID);
	env.model = m10;
	env.max_steps = 0;
	assert_int_equal(expr_eval_bool(lookup, &env, &r, &err), 0);
	assert_true(r);
	print_message("quantifier over 10000 components: %.3f ms\n", dt * 1e3);

	{
		struct expr_env cenv = env_for("api", NULL);
		int trues = 0;
		t0 = now_s();
		for (int i = 0; i < loops; i++) {
			assert_int_equal(expr_eval_bool(typical, &cenv, &r, NULL), 0);
			trues += r;
		}
		assert_int_equal(trues, loops);
	}
	dt = (now_s() - t0) / loops;
	print_message("typical condition: %.0f ns per evaluation\n", dt * 1e9);
	if (!under_valgrind()) {
		/* generous bounds: debug and sanitizer builds run here too */
		assert_true(dt < 20e-6);
	}
	expr_free(e);
	expr_free(lookup);
	expr_free(typical);
	json_decref(m10);
	json_decref(m20);
}

static int setup(void **state)
{
	json_error_t jerr;

	model = json_loads(model_text, 0, &jerr);
	if (!model) {
		fprintf(stderr, "test model: line %d: %s\n", jerr.line, jerr.text);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	json_decref(model);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_index_anchors),
	    cmocka_unit_test(test_memo),
	    cmocka_unit_test(test_deps),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_operators),
	    cmocka_unit_test(test_object_equality),
	    cmocka_unit_test(test_missing_properties),
	    cmocka_unit_test(test_property_fallback),
	    cmocka_unit_test(test_in),
	    cmocka_unit_test(test_quantifiers),
	    cmocka_unit_test(test_truthiness),
	    cmocka_unit_test(test_short_circuit),
	    cmocka_unit_test(test_uses),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_no_allocation),
	    cmocka_unit_test(test_performance),
	};

	/* before any other jansson call, so every jansson allocation is counted */
	json_set_alloc_funcs(counting_malloc, counting_free);
	return cmocka_run_group_tests(tests, setup, teardown);
}
