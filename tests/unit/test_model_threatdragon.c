/* SPDX-License-Identifier: Apache-2.0 */
/* OWASP Threat Dragon's own demo models imported with the shipped library:
 * the exact components, types, zones, flows and warnings of each, and the
 * warnings of generic fallbacks that `model import --strict` refuses. */
#include "helpers/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/library/library.h"
#include "engine/model/model.h"
#include "helpers/gen_util.h"

/* One demo model as the importer must see it. */
struct td_expect {
	const char *file;              /* under tests/data/models/threatdragon/ */
	size_t flows;                  /* flows connected at both ends */
	size_t threats;                /* element threats brought in */
	const char *const *zones;      /* "name (trust level)", in model order */
	const char *const *components; /* "name: type in zone name", in model order */
	const char *const *warnings;   /* "$.path: message", in order */
};

static struct library *shipped_library(void)
{
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[1] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("library_load: %s", err.msg);
	free(dir);
	return lib;
}

static char *demo_path(const char *file)
{
	return ts_asprintf("%s/tests/data/models/threatdragon/%s", tu_env("TS_SOURCE_DIR"), file);
}

static const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Compares the strings of got with the NULL-terminated want, naming what
 * differs first. */
static void assert_strings(const char *what, const json_t *got, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	for (size_t i = 0; i < json_array_size(got) && i < n; i++) {
		const char *g = json_string_value(json_array_get(got, i));
		if (strcmp(g, want[i]) != 0)
			fail_msg("%s[%zu]: got\n  %s\nwant\n  %s", what, i, g, want[i]);
	}
	if (json_array_size(got) != n)
		fail_msg("%s: got %zu, want %zu (first extra or missing: %s)", what,
		         json_array_size(got), n,
		         json_array_size(got) > n ? json_string_value(json_array_get(got, n))
		                                  : want[json_array_size(got)]);
}

static void check_demo(const struct td_expect *x)
{
	struct library *lib = shipped_library();
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	char *path = demo_path(x->file);
	json_t *m = NULL, *warnings = NULL;
	enum model_format detected = MODEL_FORMAT_AUTO;
	struct ts_err err = {0};
	int r =
	    model_parse_file(path, MODEL_FORMAT_AUTO, false, &ti, &m, &warnings, &detected, &err);
	if (r != 0)
		fail_msg("%s: %d: %s", x->file, r, err.msg);
	assert_int_equal(detected, MODEL_FORMAT_THREATDRAGON);

	json_t *zones = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(m, "trust_zones"), i, v)
		json_array_append_new(zones, json_sprintf("%s (%d)", sget(v, "name"),
		                                          (int)json_integer_value(
		                                              json_object_get(v, "trust_level"))));
	assert_strings("zones", zones, x->zones);
	json_t *comps = json_array();
	json_array_foreach (json_object_get(m, "components"), i, v) {
		const json_t *zone = model_trust_zone(m, sget(v, "trust_zone"));
		json_array_append_new(comps, json_sprintf("%s: %s in %s", sget(v, "name"),
		                                          sget(v, "type"), sget(zone, "name")));
	}
	assert_strings("components", comps, x->components);
	assert_int_equal(json_array_size(json_object_get(m, "flows")), x->flows);
	assert_int_equal(json_array_size(json_object_get(m, "threats")), x->threats);

	/* Warnings without the file name, which depends on the source tree. */
	json_t *ws = json_array();
	size_t prefix = strlen(path) + 2;
	json_array_foreach (warnings, i, v) {
		const char *w = json_string_value(v);
		assert_true(strncmp(w, path, prefix - 2) == 0 &&
		            strncmp(w + prefix - 2, ": ", 2) == 0);
		json_array_append_new(ws, json_string(w + prefix));
	}
	assert_strings("warnings", ws, x->warnings);

	json_decref(ws);
	json_decref(comps);
	json_decref(zones);
	json_decref(warnings);
	json_decref(m);
	free(path);
	library_free(lib);
}

#define OUTSIDE "Outside any trust boundary"
#define CELL "$.detail.diagrams[0].cells"

/* "CDN network" and "Generic / Privilege user": words that are library type
 * ids themselves ("cdn", "user"), the case that read a freed name. */
static void test_generic_cms(void **state)
{
	(void)state;
	static const char *const zones[] = {"Internet (50)", OUTSIDE " (0)", NULL};
	static const char *const comps[] = {
	    "CDN network: cdn in " OUTSIDE,
	    "Web server: web_app in Internet",
	    "Generic / Privilege user: user in " OUTSIDE,
	    "Databse: generic_store in Internet",
	    "Admin: generic_actor in " OUTSIDE,
	    NULL,
	};
	static const char *const warnings[] = {
	    CELL "[2].data.name: no mapping for Threat Dragon actor 'Admin'; using generic_actor",
	    CELL "[3].data.name: no mapping for Threat Dragon store 'Databse'; using generic_store",
	    NULL,
	};
	check_demo(&(struct td_expect){"generic-cms.json", 5, 0, zones, comps, warnings});
}

/* "User" is the library type id "user" as it stands. */
static void test_iot_device(void **state)
{
	(void)state;
	static const char *const zones[] = {OUTSIDE " (0)", NULL};
	static const char *const comps[] = {
	    "My script: background_worker in " OUTSIDE,
	    "Mobile App: mobile_client in " OUTSIDE,
	    "Local API: rest_api in " OUTSIDE,
	    "Social networks, Weather data, etc: saas_api in " OUTSIDE,
	    "User: user in " OUTSIDE,
	    "Cloud API: rest_api in " OUTSIDE,
	    "Cloud integration: generic_process in " OUTSIDE,
	    "IoT Device: iot_device in " OUTSIDE,
	    "Web site: web_app in " OUTSIDE,
	    "Browser: generic_process in " OUTSIDE,
	    "MySQL database: sql_database in " OUTSIDE,
	    NULL,
	};
	static const char *const warnings[] = {
	    CELL "[2].data.name: no mapping for Threat Dragon process 'Browser'; using "
	         "generic_process",
	    CELL "[26].data.name: no mapping for Threat Dragon process 'Cloud integration'; using "
	         "generic_process",
	    NULL,
	};
	check_demo(&(struct td_expect){"iot-device.json", 14, 4, zones, comps, warnings});
}

/* "Anonymous WWW user-agent": the word "user" again. */
static void test_online_game(void **state)
{
	(void)state;
	static const char *const zones[] = {"Corp network (50)", "Player's local machine (50)",
	                                    "Production network (50)", NULL};
	static const char *const comps[] = {
	    "Browser: generic_process in Player's local machine",
	    "API REST: rest_api in Production network",
	    "Customer Support: generic_process in Corp network",
	    "Anonymous WWW user-agent: user in Player's local machine",
	    "Moderation Website: web_app in Production network",
	    "Game client: desktop_client in Player's local machine",
	    "Website Stats: web_app in Production network",
	    "Player: user in Player's local machine",
	    "Stats Database: sql_database in Production network",
	    "Player Database: sql_database in Production network",
	    "Game Servers: virtual_machine in Production network",
	    "Lobby: generic_process in Production network",
	    NULL,
	};
	static const char *const warnings[] = {
	    CELL "[6].data.name: no mapping for Threat Dragon process 'Browser'; using "
	         "generic_process",
	    CELL "[26].data.name: no mapping for Threat Dragon process 'Lobby'; using "
	         "generic_process",
	    CELL "[30].data.name: no mapping for Threat Dragon process 'Customer Support'; using "
	         "generic_process",
	    NULL,
	};
	check_demo(&(struct td_expect){"online-game.json", 17, 0, zones, comps, warnings});
}

/* The "Demo Threat Model" of Threat Dragon v2: boundary lines only, and one
 * flow left loose (its threat goes with it). */
static void test_v2_demo(void **state)
{
	(void)state;
	static const char *const zones[] = {OUTSIDE " (0)", NULL};
	static const char *const comps[] = {
	    "Web Application: web_app in " OUTSIDE,
	    "Background Worker Process: background_worker in " OUTSIDE,
	    "Database: sql_database in " OUTSIDE,
	    "Worker Config: file_storage in " OUTSIDE,
	    "Browser: user in " OUTSIDE,
	    "Web Application Config: file_storage in " OUTSIDE,
	    "Message Queue: message_broker in " OUTSIDE,
	    NULL,
	};
	static const char *const warnings[] = {
	    CELL "[19]: flow 'Web Request' is not connected at both ends; skipped",
	    NULL,
	};
	check_demo(&(struct td_expect){"v2-threat-model.json", 9, 13, zones, comps, warnings});
}

/* Boundary lines: a flow drawn across one crosses a trust boundary. In the
 * demo, three lines separate the browser, the web application, the queue
 * and the database; 7 of its 9 connected flows cross one (the two reads of
 * configuration files sit beside their readers). */
static void test_boundary_lines(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	char *path = demo_path("v2-threat-model.json");
	json_t *m = NULL, *warnings = NULL;
	struct ts_err err = {0};
	assert_int_equal(
	    model_parse_file(path, MODEL_FORMAT_AUTO, false, &ti, &m, &warnings, NULL, &err), 0);
	size_t i, crossing = 0;
	json_t *f;
	json_array_foreach (json_object_get(m, "flows"), i, f) {
		json_t *p = json_object_get(f, "properties");
		if (json_is_true(json_object_get(p, "crosses_boundary_line"))) {
			crossing++;
			assert_string_not_equal(sget(f, "name"), "Read web app config");
			assert_string_not_equal(sget(f, "name"), "Read worker config");
		}
	}
	assert_int_equal(crossing, 7);
	json_decref(m);
	json_decref(warnings);
	free(path);

	/* Two processes side by side, one flow from left to right, a line
	 * across it, one beside it, and one with no position. */
	static const char doc[] =
	    "{\"version\": \"2.3.0\", \"summary\": {\"title\": \"Lines\"},"
	    " \"detail\": {\"diagrams\": [{\"cells\": ["
	    "  {\"id\": \"a\", \"shape\": \"process\", \"position\": {\"x\": 0, \"y\": 0},"
	    "   \"size\": {\"width\": 100, \"height\": 100}, \"data\": {\"name\": \"Web "
	    "Application\"}},"
	    "  {\"id\": \"b\", \"shape\": \"process\", \"position\": {\"x\": 400, \"y\": 0},"
	    "   \"size\": {\"width\": 100, \"height\": 100}, \"data\": {\"name\": \"REST API\"}},"
	    "  {\"id\": \"f\", \"shape\": \"flow\", \"source\": {\"cell\": \"a\"},"
	    "   \"target\": {\"cell\": \"b\"}, \"vertices\": [{\"x\": 250, \"y\": 350}],"
	    "   \"data\": {\"name\": \"call\"}},"
	    "  {\"id\": \"g\", \"shape\": \"flow\", \"source\": {\"cell\": \"b\"},"
	    "   \"target\": {\"cell\": \"a\"}, \"data\": {\"name\": \"reply\"}},"
	    "  {\"id\": \"l1\", \"shape\": \"trust-boundary-curve\", \"source\": {\"x\": 300,"
	    "   \"y\": 200}, \"target\": {\"x\": 200, \"y\": 400}},"
	    "  {\"id\": \"l2\", \"shape\": \"trust-boundary-curve\", \"source\": {\"x\": 0,"
	    "   \"y\": 500}, \"target\": {\"x\": 500, \"y\": 500}},"
	    "  {\"id\": \"l3\", \"shape\": \"trust-boundary-curve\", \"source\": {},"
	    "   \"data\": {\"name\": \"lost\"}}"
	    "]}]}}";
	m = warnings = NULL;
	assert_int_equal(model_parse("lines.json", doc, strlen(doc), MODEL_FORMAT_AUTO, false, &ti,
	                             &m, &warnings, NULL, &err),
	                 0);
	/* "call" bends down through (250, 350), across l1; "reply" goes
	 * straight back above it; l2 lies below both. */
	json_t *flows = json_object_get(m, "flows");
	assert_int_equal(json_array_size(flows), 2);
	json_array_foreach (flows, i, f) {
		bool crosses = json_is_true(
		    json_object_get(json_object_get(f, "properties"), "crosses_boundary_line"));
		assert_int_equal(crosses, strcmp(sget(f, "id"), "f") == 0);
	}
	assert_int_equal(json_array_size(warnings), 1);
	assert_string_equal(json_string_value(json_array_get(warnings, 0)),
	                    "lines.json: " CELL "[6]: trust boundary line 'lost' has no position; "
	                    "ignored");
	json_decref(m);
	json_decref(warnings);

	/* Made-up geometry cannot make the import slow: a flow of 200 points
	 * against 150 lines of 200 points is 5.9 million segment pairs, over
	 * the bound of 5 million: reported, and the file imported. */
	json_t *big = json_loads(doc, 0, NULL);
	json_t *cells = json_object_get(
	    json_array_get(json_object_get(json_object_get(big, "detail"), "diagrams"), 0),
	    "cells");
	json_t *vertices = json_array();
	for (int k = 0; k < 198; k++)
		json_array_append_new(vertices,
		                      json_pack("{s:i, s:i}", "x", 100 + k, "y", 600 + k % 2));
	json_object_set_new(json_array_get(cells, 2), "vertices", vertices);
	for (int n = 0; n < 150; n++) {
		json_t *pts = json_array();
		for (int k = 0; k < 198; k++)
			json_array_append_new(pts, json_pack("{s:i, s:i}", "x", 2000 + k, "y", n));
		json_array_append_new(
		    cells, json_pack("{s:s#, s:s, s:{s:i, s:i}, s:{s:i, s:i}, s:o}", "id", "x", 1,
		                     "shape", "trust-boundary-curve", "source", "x", 1990, "y", n,
		                     "target", "x", 2300, "y", n, "vertices", pts));
	}
	/* without the small example's lines (l2 would be crossed at once) */
	for (size_t k = 6; k >= 4; k--)
		json_array_remove(cells, k);
	char *text = json_dumps(big, JSON_COMPACT);
	json_decref(big);
	m = warnings = NULL;
	assert_int_equal(model_parse("big.json", text, strlen(text), MODEL_FORMAT_AUTO, false, &ti,
	                             &m, &warnings, NULL, &err),
	                 0);
	free(text);
	assert_int_equal(json_array_size(warnings), 1);
	assert_non_null(strstr(json_string_value(json_array_get(warnings, 0)),
	                       "too many boundary line segments"));
	json_decref(m);
	json_decref(warnings);
	library_free(lib);
}

static void test_payment_online(void **state)
{
	(void)state;
	static const char *const zones[] = {"Customer / Internet (50)", "Stripe / Web (50)",
	                                    "Merchant / Web (50)", OUTSIDE " (0)", NULL};
	static const char *const comps[] = {
	    "Customer Client: generic_process in Customer / Internet",
	    "Stripe API service: payment_integration in Stripe / Web",
	    "Stripe Payment Service: payment_integration in Stripe / Web",
	    "Merchant Web Server: web_app in Merchant / Web",
	    "Customer: user in " OUTSIDE,
	    NULL,
	};
	static const char *const warnings[] = {
	    CELL "[5].data.name: no mapping for Threat Dragon process 'Customer Client'; using "
	         "generic_process",
	    NULL,
	};
	check_demo(&(struct td_expect){"payment-online.json", 10, 0, zones, comps, warnings});
}

/* A small document: an element named by a type id, one mapped by a word, one
 * by Threat Dragon's own shape type only, and one without a name. */
static const char fallback_doc[] =
    "{\"version\": \"2.3.0\", \"summary\": {\"title\": \"Fallbacks\"},"
    " \"detail\": {\"diagrams\": [{\"cells\": ["
    "  {\"id\": \"a\", \"shape\": \"actor\", \"data\": {\"type\": \"tm.Actor\", \"name\": "
    "\"User\"}},"
    "  {\"id\": \"p\", \"shape\": \"process\", \"data\": {\"type\": \"tm.Process\", \"name\": "
    "\"Edge CDN\"}},"
    "  {\"id\": \"q\", \"shape\": \"process\", \"data\": {\"type\": \"tm.Process\", \"name\": "
    "\"Scoreboard\"}},"
    "  {\"id\": \"s\", \"shape\": \"store\", \"data\": {\"type\": \"tm.Store\"}}"
    "]}]}}";

static void test_fallback_warnings(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	struct model_typeinfo ti = {0};
	library_typeinfo(lib, &ti);
	json_t *m = NULL, *warnings = NULL;
	struct ts_err err = {0};
	assert_int_equal(model_parse("f.json", fallback_doc, strlen(fallback_doc),
	                             MODEL_FORMAT_THREATDRAGON, false, &ti, &m, &warnings, NULL,
	                             &err),
	                 0);
	assert_string_equal(sget(model_component(m, "a"), "type"), "user");
	assert_string_equal(sget(model_component(m, "p"), "type"), "cdn");
	assert_string_equal(sget(model_component(m, "q"), "type"), "generic_process");
	assert_string_equal(sget(model_component(m, "s"), "type"), "generic_store");
	assert_int_equal(json_array_size(warnings), 2);
	assert_string_equal(json_string_value(json_array_get(warnings, 0)),
	                    "f.json: " CELL "[2].data.name: no mapping for Threat Dragon process "
	                    "'Scoreboard'; using generic_process");
	/* no name: the element is named by its id, the path is its data */
	assert_string_equal(json_string_value(json_array_get(warnings, 1)),
	                    "f.json: " CELL "[3].data: no mapping for Threat Dragon store 's'; "
	                    "using generic_store");
	json_decref(warnings);
	json_decref(m);

	/* --strict: the same lines are the errors, and nothing is returned */
	m = NULL;
	assert_int_equal(model_parse("f.json", fallback_doc, strlen(fallback_doc),
	                             MODEL_FORMAT_AUTO, true, &ti, &m, NULL, NULL, &err),
	                 -EINVAL);
	assert_null(m);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_string_equal(err.msg,
	                    "f.json: " CELL "[2].data.name: no mapping for Threat Dragon process "
	                    "'Scoreboard'; using generic_process (--strict)\n"
	                    "f.json: " CELL "[3].data: no mapping for Threat Dragon store 's'; "
	                    "using generic_store (--strict)");

	/* without a library every element falls back by its shape, and says so */
	assert_int_equal(model_parse("f.json", fallback_doc, strlen(fallback_doc),
	                             MODEL_FORMAT_AUTO, false, NULL, &m, &warnings, NULL, &err),
	                 0);
	assert_string_equal(sget(model_component(m, "a"), "type"), "generic_actor");
	assert_int_equal(json_array_size(warnings), 4);
	assert_string_equal(json_string_value(json_array_get(warnings, 0)),
	                    "f.json: " CELL "[0].data.name: no mapping for Threat Dragon actor "
	                    "'User'; using generic_actor");
	json_decref(warnings);
	json_decref(m);
	library_free(lib);
}

/* The command: warnings on stderr and exit 0; with --strict exit 65 (data
 * error), the fallbacks as errors and nothing stored. */
/* Each demo generated with the shipped library: threat instances, tasks, and
 * the one system-level "incomplete model" threat naming the elements left
 * generic. Those are names with no technology in them: "Databse" (a typo),
 * "Admin" drawn as an actor (the word is the admin console's, a process),
 * "Browser" and "Customer Client" drawn as processes ("browser" is the user
 * actor), "Cloud integration", "Customer Support" and "Lobby". */
static void test_demos_generate(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		long long threats, tasks;
		const char *incomplete; /* its title, or NULL when it does not hold */
	} want[] = {
	    {"generic-cms.json", 54, 68,
	     "Threat model has elements of unknown technology: Databse, Admin"},
	    {"iot-device.json", 120, 144,
	     "Threat model has elements of unknown technology: Cloud integration, Browser"},
	    {"online-game.json", 130, 171,
	     "Threat model has elements of unknown technology: Browser, Customer Support, Lobby"},
	    {"v2-threat-model.json", 80, 100, NULL},
	    {"payment-online.json", 76, 87,
	     "Threat model has elements of unknown technology: Customer Client"},
	};
	char *cdir = tu_tmpdir();
	char *text = ts_asprintf("library_paths = [ \"%s/library\" ];\n", tu_env("TS_SOURCE_DIR"));
	char *conf = tu_write_file(cdir, "shipped.conf", text);
	free(text);
	struct gu g;
	gu_open(&g, conf);
	for (size_t i = 0; i < TS_ARRAY_SIZE(want); i++) {
		char *slug = ts_asprintf("d%zu", i);
		char *path = demo_path(want[i].file);
		gu_import(&g, slug, path);
		json_decref(gu_generate(&g, slug, "2026-01-05T10:00:00Z"));
		char *q = ts_asprintf("SELECT count(*) FROM threats t JOIN projects p ON p.id ="
		                      " t.project_id WHERE p.slug = '%s'",
		                      slug);
		char *q2 = ts_asprintf("SELECT count(*) FROM countermeasures c JOIN projects p"
		                       " ON p.id = c.project_id WHERE p.slug = '%s'",
		                       slug);
		if (gu_int(&g, q) != want[i].threats || gu_int(&g, q2) != want[i].tasks)
			fail_msg("%s: %lld threats, %lld tasks; expected %lld, %lld", want[i].file,
			         gu_int(&g, q), gu_int(&g, q2), want[i].threats, want[i].tasks);
		json_t *t = gu_threat(&g, slug, "T-MODEL-INCOMPLETE@*");
		if (want[i].incomplete) {
			assert_non_null(t);
			assert_string_equal(sget(t, "title"), want[i].incomplete);
		} else {
			assert_null(t);
		}
		json_decref(t);
		free(q);
		free(q2);
		free(path);
		free(slug);
	}
	gu_close(&g);
	free(conf);
	tu_rmrf(cdir);
	free(cdir);
}

static void test_cli_strict(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *db = ts_asprintf("%s/ts.db", dir);
	char *file = demo_path("generic-cms.json");
	char *out = NULL, *err = NULL;
	assert_int_equal(tu_cli(&out, &err, "--db", db, "project", "add", "cms", NULL), 0);
	free(out);
	free(err);

	assert_int_equal(
	    tu_cli(&out, &err, "--db", db, "model", "import", "cms", file, "--strict", NULL), 65);
	assert_string_equal(out, "");
	char *want = ts_asprintf("%s: " CELL "[2].data.name: no mapping for Threat Dragon actor "
	                         "'Admin'; using generic_actor (--strict)\n"
	                         "%s: " CELL "[3].data.name: no mapping for Threat Dragon store "
	                         "'Databse'; using generic_store (--strict)\n",
	                         file, file);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);

	assert_int_equal(tu_cli(&out, &err, "--db", db, "model", "import", "cms", file, NULL), 0);
	want = ts_asprintf("imported %s as version 1 of cms (format threatdragon, 5 components, "
	                   "5 flows)\n",
	                   file);
	assert_string_equal(out, want);
	free(want);
	want = ts_asprintf("warning: %s: " CELL "[2].data.name: no mapping for Threat Dragon actor "
	                   "'Admin'; using generic_actor\n"
	                   "warning: %s: " CELL "[3].data.name: no mapping for Threat Dragon store "
	                   "'Databse'; using generic_store\n",
	                   file, file);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);
	free(file);
	free(db);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generic_cms),       cmocka_unit_test(test_iot_device),
	    cmocka_unit_test(test_online_game),       cmocka_unit_test(test_v2_demo),
	    cmocka_unit_test(test_boundary_lines),    cmocka_unit_test(test_payment_online),
	    cmocka_unit_test(test_fallback_warnings), cmocka_unit_test(test_cli_strict),
	    cmocka_unit_test(test_demos_generate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
