/* SPDX-License-Identifier: Apache-2.0 */
/* The data-flow diagram (report/diagram.c): the SVG Graphviz draws for the
 * WidgetsRUs model parses as XML and holds exactly its 21 components, 23
 * flows (17 crossing a trust boundary) and 4 zones; hostile names stay
 * text; a model of the wrong shape is refused with its path, and one too
 * large is not drawn.
 *
 * The expected figures were computed apart from the code:
 *   jq '.model.components | length' tests/data/report/widgetsrus.report.json   21
 *   jq '.model.flows | length'                                                 23
 *   jq '[.model.flows[] | select(.crosses_boundary)] | length'                 17
 *   jq '.model.zones | length'                                                  4 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "helpers/testutil.h"
#include "helpers/graphviz_lsan.h"
#include "report/diagram.h"

static json_t *widgetsrus_doc(void)
{
	char *path =
	    ts_asprintf("%s/tests/data/report/widgetsrus.report.json", tu_env("TS_SOURCE_DIR"));
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	free(path);
	return doc;
}

/* What the SVG holds, read with libxml2. */
struct svg_seen {
	size_t nodes, edges, crossing, clusters;
	size_t titled_root; /* <title> children of the root graph */
	char ids[2048][80];
	size_t nids;
	struct ts_buf text; /* every <text>, one a line */
};

static bool has_class(xmlNode *n, const char *cls)
{
	xmlChar *c = xmlGetProp(n, (const xmlChar *)"class");
	bool yes = false;
	if (c) {
		char *tok, *save = NULL, *copy = ts_strdup((const char *)c);
		for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (strcmp(tok, cls) == 0)
				yes = true;
		free(copy);
		xmlFree(c);
	}
	return yes;
}

static void walk(xmlNode *n, struct svg_seen *s)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)n->name;
		if (strcmp(name, "g") == 0) {
			if (has_class(n, "node")) {
				s->nodes++;
				xmlChar *id = xmlGetProp(n, (const xmlChar *)"id");
				assert_non_null(id);
				assert_true(s->nids < 2048);
				snprintf(s->ids[s->nids++], 80, "%s", (const char *)id);
				xmlFree(id);
			}
			if (has_class(n, "edge"))
				s->edges++;
			if (has_class(n, "crossing"))
				s->crossing++;
			if (has_class(n, "cluster"))
				s->clusters++;
			if (has_class(n, "graph")) {
				for (xmlNode *c = n->children; c; c = c->next)
					if (c->type == XML_ELEMENT_NODE &&
					    strcmp((const char *)c->name, "title") == 0)
						s->titled_root++;
			}
		}
		if (strcmp(name, "text") == 0) {
			xmlChar *t = xmlNodeGetContent(n);
			ts_buf_printf(&s->text, "%s\n", (const char *)t);
			xmlFree(t);
		}
		walk(n->children, s);
	}
}

static void parse_svg(const struct ts_buf *svg, struct svg_seen *s)
{
	memset(s, 0, sizeof(*s));
	xmlDoc *doc = xmlReadMemory(svg->data, (int)svg->len, "diagram.svg", NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	assert_non_null(doc);
	xmlNode *root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "svg");
	walk(root, s);
	xmlFreeDoc(doc);
}

static bool has_id(const struct svg_seen *s, const char *id)
{
	for (size_t i = 0; i < s->nids; i++)
		if (strcmp(s->ids[i], id) == 0)
			return true;
	return false;
}

static void test_widgetsrus(void **state)
{
	json_t *doc = widgetsrus_doc();
	const json_t *model = json_object_get(doc, "model");
	struct ts_buf svg = {0};
	struct ts_err err = {0};
	assert_int_equal(diagram_svg(model, &svg, &err), 0);
	/* inline: no prolog, no DOCTYPE */
	assert_memory_equal(svg.data, "<svg", 4);
	assert_null(strstr(svg.data, "<?xml"));
	assert_null(strstr(svg.data, "<!DOCTYPE"));

	struct svg_seen s;
	parse_svg(&svg, &s);
	assert_int_equal(s.nodes, 21);
	assert_int_equal(s.edges, 23);
	assert_int_equal(s.crossing, 17);
	assert_int_equal(s.clusters, 4);
	assert_int_equal(s.titled_root, 1);
	size_t i;
	const json_t *c;
	json_array_foreach (json_object_get(model, "components"), i, c) {
		char id[80];
		snprintf(id, sizeof(id), "comp-%s", json_string_value(json_object_get(c, "id")));
		assert_true(has_id(&s, id));
		/* the label is the component's name */
		assert_non_null(strstr(s.text.data, json_string_value(json_object_get(c, "name"))));
	}
	/* zone labels with their trust level, protocols on the edges, badges */
	assert_non_null(strstr(s.text.data, "Azure data tier (trust 90)\n"));
	assert_non_null(strstr(s.text.data, "AMQP over TLS\n"));
	assert_non_null(strstr(s.text.data, " 3 open \n"));
	/* orders_api has the most open threats (jq: 7), coloured critical */
	assert_non_null(strstr(s.text.data, " 7 open \n"));
	assert_non_null(strstr(svg.data, "#b71c1c"));
	ts_buf_free(&s.text);
	ts_buf_free(&svg);
	json_decref(doc);
}

static void test_hostile_names(void **state)
{
	json_t *model =
	    json_pack("{s:[{s:s,s:s}],s:[{s:s,s:s,s:s,s:i,s:s},{s:s,s:s,s:n}],"
	              "s:[{s:s,s:s,s:s,s:s,s:b}]}",
	              "zones", "id", "z\"1", "name", "Zone & <b>bold</b>", "components", "id",
	              "a<b>", "name", "<script>alert(\"x\")</script> & 'q' \\N", "zone", "z\"1",
	              "threats_open", 2, "max_severity", "high", "id", "plain", "name",
	              "Plain \\G name", "zone", "flows", "id", "f\"1", "source", "a<b>", "target",
	              "plain", "protocol", "HTTP\\n]]><x>", "crosses_boundary", 1);
	assert_non_null(model);
	struct ts_buf svg = {0};
	struct ts_err err = {0};
	assert_int_equal(diagram_svg(model, &svg, &err), 0);
	assert_null(strstr(svg.data, "<script"));
	assert_null(strstr(svg.data, "<b>"));
	struct svg_seen s;
	parse_svg(&svg, &s);
	assert_int_equal(s.nodes, 2);
	assert_int_equal(s.edges, 1);
	assert_int_equal(s.clusters, 1);
	assert_true(has_id(&s, "comp-a-3Cb-3E"));
	assert_true(has_id(&s, "comp-plain"));
	/* the names come back exactly as text: nothing read as markup or as a
	 * Graphviz escape (\N would be the node name, \G the graph name) */
	assert_non_null(strstr(s.text.data, "<script>alert(\"x\")</script> & 'q' \\N\n"));
	assert_non_null(strstr(s.text.data, "Plain \\G name\n"));
	assert_non_null(strstr(s.text.data, "Zone & <b>bold</b>\n"));
	assert_non_null(strstr(s.text.data, "HTTP\\n]]><x>\n"));
	ts_buf_free(&s.text);
	ts_buf_free(&svg);
	json_decref(model);
}

static void expect_refusal(const char *json, int code, const char *msg)
{
	json_error_t jerr;
	json_t *model = json_loads(json, 0, &jerr);
	assert_non_null(model);
	struct ts_buf svg = {0};
	struct ts_err err = {0};
	assert_int_equal(diagram_svg(model, &svg, &err), code);
	assert_string_equal(err.msg, msg);
	assert_int_equal(svg.len, 0);
	ts_buf_free(&svg);
	json_decref(model);
}

static void test_bad_shape(void **state)
{
	expect_refusal("[]", TS_E_INVALID, "model: not an object");
	expect_refusal("{\"components\": {}}", TS_E_INVALID, "model.components: not an array");
	expect_refusal("{\"zones\": 3, \"components\": []}", TS_E_INVALID,
	               "model.zones: not an array");
	expect_refusal("{\"components\": [{\"name\": \"x\"}]}", TS_E_INVALID,
	               "model.components[0].id: not a string");
	expect_refusal("{\"components\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}", TS_E_INVALID,
	               "model.components[1].id: 'a' appears twice");
	expect_refusal("{\"components\": [{\"id\": \"a\", \"name\": 7}]}", TS_E_INVALID,
	               "model.components[0].name: not a string");
	expect_refusal("{\"components\": [{\"id\": \"a\", \"threats_open\": -1}]}", TS_E_INVALID,
	               "model.components[0].threats_open: not a count");
	expect_refusal("{\"zones\": [{\"id\": \"z\"}, {\"id\": \"z\"}], \"components\": []}",
	               TS_E_INVALID, "model.zones[1].id: 'z' appears twice");
	/* refused after Graphviz objects exist: they are released (valgrind) */
	expect_refusal("{\"components\": [{\"id\": \"a\"}], \"flows\": [{\"id\": \"f\", "
	               "\"source\": \"a\", \"target\": \"nope\"}]}",
	               TS_E_INVALID, "model.flows[0].target: no component 'nope'");
	expect_refusal("{\"components\": [{\"id\": \"a\"}], \"flows\": [{\"id\": \"f\", "
	               "\"target\": \"a\"}]}",
	               TS_E_INVALID, "model.flows[0].source: missing");
}

static void test_too_large(void **state)
{
	json_t *comps = json_array();
	for (int i = 0; i <= DIAGRAM_MAX_COMPONENTS; i++)
		json_array_append_new(comps, json_pack("{s:s%}", "id", "c", (size_t)1));
	json_t *model = json_pack("{s:o}", "components", comps);
	struct ts_buf svg = {0};
	struct ts_err err = {0};
	assert_int_equal(diagram_svg(model, &svg, &err), TS_E_UNAVAILABLE);
	assert_string_equal(err.msg, "the model has 1001 components and 0 flows, more than a "
	                             "diagram shows legibly (at most 1000 and 2500)");
	assert_int_equal(svg.len, 0);
	json_decref(model);
}

/* The largest model drawn: 1,000 components in 4 zones with 2,500 flows,
 * laid out by sfdp without clusters (docs/report-html.md: about 3 s; the
 * bound here allows for a loaded machine). Not under valgrind or the
 * sanitizers, many times slower. */
static void test_thousand_components(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	/* every allocation unwound the slow way (tests/helpers/graphviz_lsan.h)
	 * makes sfdp take minutes */
	skip();
#endif
	if (getenv("TS_VALGRIND"))
		skip();
	json_t *zones = json_array(), *comps = json_array(), *flows = json_array();
	for (int z = 0; z < 4; z++)
		json_array_append_new(zones, json_pack("{s:s%,s:s,s:i}", "id", "z0123" + z,
		                                       (size_t)1, "name", "Zone", "trust", z * 30));
	char id[16], id2[16];
	for (int i = 0; i < DIAGRAM_MAX_COMPONENTS; i++) {
		snprintf(id, sizeof(id), "c%04d", i);
		json_array_append_new(comps, json_pack("{s:s,s:s,s:s%,s:i,s:s}", "id", id, "name",
		                                       "A component with a name", "zone",
		                                       "z0123" + i % 4, (size_t)1, "threats_open",
		                                       i % 3, "max_severity", "high"));
	}
	/* a fixed pseudo-random wiring (a linear congruential sequence) */
	unsigned r = 12345;
	for (int i = 0; i < DIAGRAM_MAX_FLOWS; i++) {
		r = r * 1103515245u + 12345u;
		int a = (int)((r >> 8) % DIAGRAM_MAX_COMPONENTS);
		r = r * 1103515245u + 12345u;
		int b = (int)((r >> 8) % DIAGRAM_MAX_COMPONENTS);
		snprintf(id, sizeof(id), "c%04d", a);
		snprintf(id2, sizeof(id2), "c%04d", b);
		char fid[16];
		snprintf(fid, sizeof(fid), "f%05d", i);
		json_array_append_new(flows, json_pack("{s:s,s:s,s:s,s:s,s:b}", "id", fid, "source",
		                                       id, "target", id2, "protocol", "HTTPS",
		                                       "crosses_boundary", a % 4 != b % 4));
	}
	json_t *model =
	    json_pack("{s:o,s:o,s:o}", "zones", zones, "components", comps, "flows", flows);
	struct ts_buf svg = {0};
	struct ts_err err = {0};
	int64_t t0 = ts_monotonic_ms();
	assert_int_equal(diagram_svg(model, &svg, &err), 0);
	int64_t ms = ts_monotonic_ms() - t0;
	print_message("1000 components, 2500 flows: %lld ms\n", (long long)ms);
	assert_true(ms < 30000);
	size_t nodes = 0, edges = 0;
	for (const char *p = strstr(svg.data, "class=\"node\""); p;
	     p = strstr(p + 1, "class=\"node\""))
		nodes++;
	for (const char *p = strstr(svg.data, "class=\"edge"); p; p = strstr(p + 1, "class=\"edge"))
		edges++;
	assert_int_equal(nodes, 1000);
	assert_int_equal(edges, 2500);
	assert_null(strstr(svg.data, "class=\"cluster\""));
	ts_buf_free(&svg);
	json_decref(model);
}

static void test_element_id(void **state)
{
	struct ts_buf b = {0};
	diagram_element_id(&b, "comp-", "web_app-1.x/\xC3\xA9");
	assert_string_equal(b.data, "comp-web_app-2D1-2Ex-2F-C3-A9");
	ts_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_widgetsrus),          cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_bad_shape),           cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_thousand_components), cmocka_unit_test(test_element_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
