/* SPDX-License-Identifier: Apache-2.0 */
/* The data-flow diagram: the report's model as a Graphviz graph laid out in
 * process (cgraph + gvc) and rendered as inline SVG. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "report/diagram.h"

/* The three Graphviz plugins the diagram needs (dot and sfdp layouts, SVG), opened from Graphviz's
 * plugin directory and registered by hand instead of through gvContext(): that reads Graphviz's
 * plugin configuration and loses its text on every call (Graphviz 2.43), and it brings in the Pango
 * text layout with the leaks of fontconfig; text widths come from Graphviz's own metrics instead,
 * enough for SVG shown in a browser. */
static const char *const plugins[][2] = {
    {TS_GV_PLUGINDIR "/libgvplugin_dot_layout.so.6", "gvplugin_dot_layout_LTX_library"},
    {TS_GV_PLUGINDIR "/libgvplugin_neato_layout.so.6", "gvplugin_neato_layout_LTX_library"},
    {TS_GV_PLUGINDIR "/libgvplugin_core.so.6", "gvplugin_core_LTX_library"},
};
#define NPLUGINS TS_ARRAY_SIZE(plugins)

/* A context with the plugins; handles[] get what to dlclose after
 * gvFreeContext. */
static GVC_t *context_new(void *handles[NPLUGINS], struct ts_err *err)
{
	GVC_t *gvc = gvContextPlugins(NULL, 0);
	for (size_t i = 0; i < TS_ARRAY_SIZE(plugins); i++) {
		handles[i] = dlopen(plugins[i][0], RTLD_NOW | RTLD_LOCAL);
		void *lib = handles[i] ? dlsym(handles[i], plugins[i][1]) : NULL;
		if (!lib) {
			ts_err_set(err, TS_E_UNAVAILABLE,
			           "Graphviz's plugin %s cannot be loaded: %s", plugins[i][0],
			           dlerror());
			gvFreeContext(gvc);
			for (size_t k = 0; k <= i; k++) {
				if (handles[k])
					dlclose(handles[k]);
				handles[k] = NULL;
			}
			return NULL;
		}
		gvAddLibrary(gvc, lib);
	}
	return gvc;
}

/* Graphviz reports problems through one process-wide callback without a
 * user pointer; they are collected here for the duration of one
 * diagram_svg call and end up in its error, not on the terminal. */
#define CAPTURE_MAX 2048
static char capture[CAPTURE_MAX];
static size_t capture_len;

static int capture_cb(char *msg)
{
	size_t n = strlen(msg);
	if (capture_len + n >= CAPTURE_MAX)
		n = CAPTURE_MAX - 1 - capture_len;
	memcpy(capture + capture_len, msg, n);
	capture_len += n;
	capture[capture_len] = '\0';
	return 0;
}

void diagram_element_id(struct ts_buf *b, const char *prefix, const char *id)
{
	ts_buf_puts(b, prefix);
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_')
			ts_buf_append(b, (const char *)p, 1);
		else
			ts_buf_printf(b, "-%02X", *p);
	}
}

/* Text for a plain Graphviz label: backslashes doubled (Graphviz reads
 * \N, \G, \n and the like in labels), control characters as spaces. */
static void plain_label(struct ts_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			ts_buf_puts(b, "\\\\");
		else if (*p < 0x20 || *p == 0x7F)
			ts_buf_puts(b, " ");
		else
			ts_buf_append(b, (const char *)p, 1);
	}
}

static void set(void *obj, const char *name, const char *value)
{
	agsafeset(obj, (char *)name, (char *)value, "");
}

static const char *severity_colour(const char *sev)
{
	if (!sev)
		return "#607d8b";
	if (strcmp(sev, "critical") == 0)
		return "#b71c1c";
	if (strcmp(sev, "high") == 0)
		return "#d84315";
	if (strcmp(sev, "medium") == 0)
		return "#8d6e00";
	if (strcmp(sev, "low") == 0)
		return "#2e7d32";
	return "#607d8b";
}

/* The kind of a component: the document's "kind" when present, else from
 * its type (the kinds of library/component_types.json). */
static const char *component_kind(const json_t *comp)
{
	static const char *const actors[] = {"user",          "administrator", "external_system",
	                                     "generic_actor", "browser",       "actor"};
	static const char *const stores[] = {
	    "session_store",      "sql_database",    "nosql_database",     "cache",
	    "message_broker",     "object_storage",  "search_engine",      "source_repository",
	    "container_registry", "secrets_manager", "logging_monitoring", "data_warehouse",
	    "message_stream",     "file_storage",    "generic_store",      "database"};
	const char *kind = json_string_value(json_object_get(comp, "kind"));
	const char *type = json_string_value(json_object_get(comp, "type"));
	if (kind && (strcmp(kind, "actor") == 0 || strcmp(kind, "store") == 0 ||
	             strcmp(kind, "process") == 0))
		return kind;
	if (!type)
		return "process";
	for (size_t i = 0; i < TS_ARRAY_SIZE(actors); i++)
		if (strcmp(type, actors[i]) == 0)
			return "actor";
	for (size_t i = 0; i < TS_ARRAY_SIZE(stores); i++)
		if (strcmp(type, stores[i]) == 0)
			return "store";
	return "process";
}

/* Optional string member: absent or null gives NULL, another type fails. */
static int opt_string(const json_t *obj, const char *key, const char *path, size_t i,
                      const char **ret, struct ts_err *err)
{
	const json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return ts_err_set(err, TS_E_INVALID, "model.%s[%zu].%s: not a string", path, i,
		                  key);
	*ret = json_string_value(v);
	return 0;
}

static int optional_array(const json_t *model, const char *key, const json_t **ret,
                          struct ts_err *err)
{
	const json_t *v = json_object_get(model, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return ts_err_set(err, TS_E_INVALID, "model.%s: not an array", key);
	*ret = v;
	return 0;
}

/* Builds the graph of the model into g, the zones as clusters when clusters
 * is set; Graphviz owns everything it creates (agclose frees it). */
static int build_graph(Agraph_t *g, const json_t *zones, const json_t *comps, const json_t *flows,
                       bool clusters, struct ts_err *err)
{
	struct ts_buf name = {0}, label = {0};
	size_t i;
	const json_t *e;
	int rc = 0;

	set(g, "rankdir", "LR");
	set(g, "fontname", "Helvetica");
	set(g, "fontsize", "12");
	set(g, "bgcolor", "transparent");
	set(g, "nodesep", "0.3");
	set(g, "ranksep", "0.6");
	set(g, "forcelabels", "true");
	agattr(g, AGNODE, "fontname", "Helvetica");
	agattr(g, AGNODE, "fontsize", "11");
	agattr(g, AGNODE, "style", "filled");
	agattr(g, AGNODE, "fillcolor", "#ffffff");
	agattr(g, AGEDGE, "fontname", "Helvetica");
	agattr(g, AGEDGE, "fontsize", "9");
	agattr(g, AGEDGE, "color", "#455a64");

	json_array_foreach (zones, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *zname;
		if (!json_is_object(e) || !id || !*id) {
			rc = ts_err_set(err, TS_E_INVALID, "model.zones[%zu].id: not a string", i);
			goto out;
		}
		if ((rc = opt_string(e, "name", "zones", i, &zname, err)) < 0)
			goto out;
		if (!clusters)
			continue;
		name.len = 0;
		diagram_element_id(&name, "cluster_zone-", id);
		if (agsubg(g, name.data, 0)) {
			rc = ts_err_set(err, TS_E_INVALID,
			                "model.zones[%zu].id: '%s' appears twice", i, id);
			goto out;
		}
		Agraph_t *sg = agsubg(g, name.data, 1);
		label.len = 0;
		plain_label(&label, zname ? zname : id);
		const json_t *trust = json_object_get(e, "trust");
		if (json_is_integer(trust))
			ts_buf_printf(&label, " (trust %lld)",
			              (long long)json_integer_value(trust));
		set(sg, "label", label.data);
		set(sg, "labeljust", "l");
		set(sg, "style", "dashed,rounded");
		set(sg, "color", "#78909c");
		set(sg, "fontcolor", "#37474f");
		name.len = 0;
		diagram_element_id(&name, "zone-", id);
		set(sg, "id", name.data);
	}

	json_array_foreach (comps, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *cname, *zone, *sev;
		if (!json_is_object(e) || !id || !*id) {
			rc = ts_err_set(err, TS_E_INVALID, "model.components[%zu].id: not a string",
			                i);
			goto out;
		}
		if ((rc = opt_string(e, "name", "components", i, &cname, err)) < 0 ||
		    (rc = opt_string(e, "zone", "components", i, &zone, err)) < 0 ||
		    (rc = opt_string(e, "max_severity", "components", i, &sev, err)) < 0)
			goto out;
		const json_t *open = json_object_get(e, "threats_open");
		if (open && !json_is_null(open) &&
		    (!json_is_integer(open) || json_integer_value(open) < 0)) {
			rc = ts_err_set(err, TS_E_INVALID,
			                "model.components[%zu].threats_open: not a count", i);
			goto out;
		}
		name.len = 0;
		diagram_element_id(&name, "comp-", id);
		if (agnode(g, name.data, 0)) {
			rc = ts_err_set(err, TS_E_INVALID,
			                "model.components[%zu].id: '%s' appears twice", i, id);
			goto out;
		}
		Agraph_t *parent = g;
		if (clusters && zone) {
			struct ts_buf zn = {0};
			diagram_element_id(&zn, "cluster_zone-", zone);
			Agraph_t *sg = agsubg(g, zn.data, 0);
			ts_buf_free(&zn);
			if (sg)
				parent = sg;
		}
		Agnode_t *n = agnode(parent, name.data, 1);
		set(n, "id", name.data);
		const char *kind = component_kind(e);
		if (strcmp(kind, "actor") == 0) {
			set(n, "shape", "box");
			set(n, "fillcolor", "#eceff1");
		} else if (strcmp(kind, "store") == 0) {
			set(n, "shape", "cylinder");
			set(n, "fillcolor", "#e3f2fd");
		} else {
			set(n, "shape", "box");
			set(n, "style", "rounded,filled");
		}
		label.len = 0;
		plain_label(&label, cname ? cname : id);
		set(n, "label", label.data);
		long long nopen = json_is_integer(open) ? json_integer_value(open) : 0;
		if (nopen > 0) {
			/* the badge: an HTML-like external label of our own text only
			 * (a name in an HTML-like label would still have its \N and
			 * the like replaced by Graphviz) */
			label.len = 0;
			ts_buf_printf(
			    &label,
			    "<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" "
			    "CELLPADDING=\"1\"><TR><TD BGCOLOR=\"%s\"><FONT "
			    "COLOR=\"#ffffff\" POINT-SIZE=\"9\"> %lld open </FONT></TD></TR>"
			    "</TABLE>",
			    severity_colour(sev), nopen);
			char *html = agstrdup_html(g, label.data);
			set(n, "xlabel", html);
			agstrfree(g, html);
		}
	}

	json_array_foreach (flows, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *src, *dst, *proto;
		if (!json_is_object(e) || !id || !*id) {
			rc = ts_err_set(err, TS_E_INVALID, "model.flows[%zu].id: not a string", i);
			goto out;
		}
		if ((rc = opt_string(e, "source", "flows", i, &src, err)) < 0 ||
		    (rc = opt_string(e, "target", "flows", i, &dst, err)) < 0 ||
		    (rc = opt_string(e, "protocol", "flows", i, &proto, err)) < 0)
			goto out;
		Agnode_t *ends[2] = {NULL, NULL};
		const char *which[2] = {"source", "target"};
		const char *ids[2] = {src, dst};
		for (int k = 0; k < 2; k++) {
			if (!ids[k]) {
				rc = ts_err_set(err, TS_E_INVALID, "model.flows[%zu].%s: missing",
				                i, which[k]);
				goto out;
			}
			name.len = 0;
			diagram_element_id(&name, "comp-", ids[k]);
			ends[k] = agnode(g, name.data, 0);
			if (!ends[k]) {
				rc = ts_err_set(err, TS_E_INVALID,
				                "model.flows[%zu].%s: no component '%s'", i,
				                which[k], ids[k]);
				goto out;
			}
		}
		name.len = 0;
		diagram_element_id(&name, "flow-", id);
		Agedge_t *ed = agedge(g, ends[0], ends[1], name.data, 1);
		set(ed, "id", name.data);
		if (proto) {
			label.len = 0;
			plain_label(&label, proto);
			set(ed, "xlabel", label.data);
		}
		if (json_is_true(json_object_get(e, "crosses_boundary"))) {
			set(ed, "color", "#c62828");
			set(ed, "fontcolor", "#c62828");
			set(ed, "style", "bold,dashed");
			set(ed, "penwidth", "2");
			set(ed, "class", "crossing");
		}
	}
out:
	ts_buf_free(&name);
	ts_buf_free(&label);
	return rc;
}

int diagram_svg(const json_t *model, struct ts_buf *svg, struct ts_err *err)
{
	const json_t *zones, *comps, *flows;
	int rc;

	if (!json_is_object(model))
		return ts_err_set(err, TS_E_INVALID, "model: not an object");
	if ((rc = optional_array(model, "zones", &zones, err)) < 0 ||
	    (rc = optional_array(model, "components", &comps, err)) < 0 ||
	    (rc = optional_array(model, "flows", &flows, err)) < 0)
		return rc;
	size_t ncomp = json_array_size(comps), nflow = json_array_size(flows);
	if (ncomp > DIAGRAM_MAX_COMPONENTS || nflow > DIAGRAM_MAX_FLOWS)
		return ts_err_set(err, TS_E_UNAVAILABLE,
		                  "the model has %zu components and %zu flows, more than a "
		                  "diagram shows legibly (at most %d and %d)",
		                  ncomp, nflow, DIAGRAM_MAX_COMPONENTS, DIAGRAM_MAX_FLOWS);

	/* dot's time grows steeply with size and depends on the wiring (1,000
	 * nodes without clusters can take minutes); sfdp's grows steadily:
	 * large models get sfdp's layout, straight edges and no clusters
	 * (sfdp does not draw them) */
	bool dot = ncomp <= DIAGRAM_DOT_MAX_COMPONENTS && nflow <= DIAGRAM_DOT_MAX_FLOWS;

	capture_len = 0;
	capture[0] = '\0';
	agusererrf old_cb = agseterrf(capture_cb);
	agerrlevel_t old_level = agseterr(AGWARN);

	void *handles[NPLUGINS] = {NULL};
	GVC_t *gvc = context_new(handles, err);
	if (!gvc) {
		agseterr(old_level);
		agseterrf(old_cb);
		return TS_E_UNAVAILABLE;
	}
	Agraph_t *g = agopen("dataflow", Agdirected, NULL);
	char *data = NULL;
	unsigned int len = 0;
	bool laid_out = false;

	rc = build_graph(g, zones, comps, flows, dot, err);
	if (rc < 0)
		goto out;
	if (!dot) {
		set(g, "overlap", "prism");
		set(g, "splines", "false");
		set(g, "outputorder", "edgesfirst");
	}
	if (gvLayout(gvc, g, dot ? "dot" : "sfdp") != 0) {
		rc = ts_err_set(err, TS_E_INTERNAL, "Graphviz could not lay out the diagram: %s",
		                capture_len ? capture : "no reason given");
		goto out;
	}
	laid_out = true;
	if (gvRenderData(gvc, g, "svg", &data, &len) != 0 || !data) {
		rc = ts_err_set(err, TS_E_INTERNAL, "Graphviz could not render the diagram: %s",
		                capture_len ? capture : "no reason given");
		goto out;
	}
	/* inline SVG in HTML: from the <svg element on, without the XML prolog,
	 * the DOCTYPE and the comments before it */
	struct ts_buf all = {0};
	ts_buf_append(&all, data, len);
	const char *start = strstr(all.data, "<svg");
	if (!start) {
		ts_buf_free(&all);
		rc = ts_err_set(err, TS_E_INTERNAL, "Graphviz rendered no <svg> element");
		goto out;
	}
	ts_buf_append(svg, start, all.len - (size_t)(start - all.data));
	ts_buf_free(&all);
out:
	if (data)
		gvFreeRenderData(data);
	if (laid_out)
		gvFreeLayout(gvc, g);
	agclose(g);
	gvFreeContext(gvc);
	for (size_t i = 0; i < TS_ARRAY_SIZE(handles); i++)
		dlclose(handles[i]);
	agseterr(old_level);
	agseterrf(old_cb);
	return rc;
}
