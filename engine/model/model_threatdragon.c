/* SPDX-License-Identifier: Apache-2.0 */
/* OWASP Threat Dragon v2 diagrams to the native model: actors, processes and
 * stores become components, flows become flows, boundary boxes become trust
 * zones by geometry, and element threats become manual additions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonpath.h"
#include "engine/model/importer.h"

#define TD_DEFAULT_ZONE "outside"

enum td_kind { TD_NONE, TD_ACTOR, TD_PROCESS, TD_STORE, TD_FLOW, TD_BOX, TD_CURVE, TD_TEXT };

struct td_box {
	const char *id;
	double x, y, w, h;
	size_t diagram;
};

struct td {
	const struct model_typeinfo *ti;
	struct model_msgs *m;
	json_t *out;
	json_t *srcmap;
	json_t *comp_index; /* cell id -> index in out.components */
	json_t *threat_ids; /* threat ids used */
	struct td_box *boxes;
	size_t n_boxes;
	bool default_zone_used;
	uint64_t crossing_budget; /* segment pairs still to test against boundary lines */
	bool crossing_cut;        /* the budget ran out (reported once) */
};

/* Segment pairs tested for boundary crossings in one file: ample for drawn
 * diagrams (thousands of flows and lines), a bound for made-up ones. */
#define TD_CROSSING_BUDGET ((uint64_t)5 * 1000 * 1000)

static const char *sget(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool bget(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static void map_src(struct td *t, const char *kind, const char *path)
{
	json_t *arr = json_object_get(t->srcmap, kind);
	if (!arr) {
		arr = json_array();
		json_object_set_new(t->srcmap, kind, arr);
	}
	json_array_append_new(arr, json_string(path));
}

static enum td_kind cell_kind(const json_t *cell)
{
	const char *type = sget(json_object_get(cell, "data"), "type");
	const char *shape = sget(cell, "shape");
	if (type) {
		if (strcmp(type, "tm.Actor") == 0)
			return TD_ACTOR;
		if (strcmp(type, "tm.Process") == 0)
			return TD_PROCESS;
		if (strcmp(type, "tm.Store") == 0)
			return TD_STORE;
		if (strcmp(type, "tm.Flow") == 0)
			return TD_FLOW;
		if (strcmp(type, "tm.BoundaryBox") == 0)
			return TD_BOX;
		if (strcmp(type, "tm.Text") == 0)
			return TD_TEXT;
	}
	if (shape) {
		if (strcmp(shape, "actor") == 0)
			return TD_ACTOR;
		if (strcmp(shape, "process") == 0)
			return TD_PROCESS;
		if (strcmp(shape, "store") == 0)
			return TD_STORE;
		if (strcmp(shape, "flow") == 0)
			return TD_FLOW;
		if (strcmp(shape, "trust-boundary-box") == 0)
			return TD_BOX;
		if (strstr(shape, "text"))
			return TD_TEXT;
		/* "trust-boundary-curve" and the misspelt "trust broundary" of early
		 * versions are lines, not areas. */
		if (strstr(shape, "boundary") || strstr(shape, "broundary"))
			return TD_CURVE;
	}
	if (type && strcmp(type, "tm.Boundary") == 0)
		return TD_CURVE;
	return TD_NONE;
}

static bool geometry(const json_t *cell, double *x, double *y, double *w, double *h)
{
	json_t *pos = json_object_get(cell, "position");
	json_t *size = json_object_get(cell, "size");
	if (!json_is_number(json_object_get(pos, "x")) ||
	    !json_is_number(json_object_get(pos, "y")))
		return false;
	*x = json_number_value(json_object_get(pos, "x"));
	*y = json_number_value(json_object_get(pos, "y"));
	*w = json_number_value(json_object_get(size, "width"));
	*h = json_number_value(json_object_get(size, "height"));
	return true;
}

/* The innermost box of the diagram containing the centre of the cell, and how
 * many boxes contain it (for the trust level). */
static const struct td_box *zone_box(struct td *t, const json_t *cell, size_t diagram,
                                     int *ret_depth)
{
	double x, y, w, h;
	*ret_depth = 0;
	if (!geometry(cell, &x, &y, &w, &h))
		return NULL;
	double cx = x + w / 2, cy = y + h / 2;
	const struct td_box *best = NULL;
	for (size_t i = 0; i < t->n_boxes; i++) {
		const struct td_box *b = &t->boxes[i];
		if (b->diagram != diagram || cx < b->x || cy < b->y || cx > b->x + b->w ||
		    cy > b->y + b->h)
			continue;
		(*ret_depth)++;
		if (!best || b->w * b->h < best->w * best->h)
			best = b;
	}
	return best;
}

/* How many other boxes of the diagram contain the whole of this box. */
static int box_depth(struct td *t, const json_t *cell, size_t diagram)
{
	double x, y, w, h;
	int depth = 0;
	if (!geometry(cell, &x, &y, &w, &h))
		return 0;
	const char *id = sget(cell, "id");
	for (size_t i = 0; i < t->n_boxes; i++) {
		const struct td_box *b = &t->boxes[i];
		if (b->diagram != diagram || (id && strcmp(b->id, id) == 0))
			continue;
		if (x >= b->x && y >= b->y && x + w <= b->x + b->w && y + h <= b->y + b->h)
			depth++;
	}
	return depth;
}

/* A mapped type of the right kind for one foreign word, or NULL. Borrowed
 * from the library (model_map_type), so word may be freed afterwards. */
static const char *try_map(struct td *t, const char *foreign, const char *want_kind)
{
	const char *type = model_map_type(t->ti, "threatdragon", foreign);
	if (!type)
		return NULL;
	const char *k = model_type_kind(t->ti, type);
	if (k && strcmp(k, want_kind) != 0)
		return NULL;
	return type;
}

static bool is_generic(const char *type)
{
	static const char *const generic[] = {"generic_actor", "generic_store", "generic_process",
	                                      NULL};
	return model_in_list(type, generic);
}

/* The element's name, then each pair of adjacent words and each word of it,
 * then its flags and data type;
 * else the generic type of its shape. Falling back to a generic type (the
 * shape's own mapping, "tm.Process" and the like, included) is a warning
 * at the element's name, as for OTM types, so --strict refuses it. The
 * result is a static string or borrowed from the library. */
static const char *element_type(struct td *t, enum td_kind kind, const json_t *data,
                                const char *name, struct jsonpath *p)
{
	const char *want = kind == TD_ACTOR ? "actor" : kind == TD_STORE ? "store" : "process";
	enum { MAX_WORDS = 32 };
	char *slug = model_slug(name);
	const char *type = try_map(t, slug, want);
	char *words[MAX_WORDS];
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(slug, "-", &save); w && n < MAX_WORDS;
	     w = strtok_r(NULL, "-", &save))
		words[n++] = w;
	/* Adjacent pairs before single words: "Merchant Web Server" is a
	 * web server ("web-server"), not any server. */
	for (size_t i = 0; !type && i + 1 < n; i++) {
		char *pair = ts_asprintf("%s-%s", words[i], words[i + 1]);
		type = try_map(t, pair, want);
		free(pair);
	}
	for (size_t i = 0; !type && i < n; i++)
		type = try_map(t, words[i], want);
	free(slug);
	if (type)
		return type;
	if (kind == TD_PROCESS && bget(data, "isWebApplication")) {
		type = try_map(t, "isWebApplication", want);
		return type ? type : "web_app";
	}
	if (sget(data, "type"))
		type = try_map(t, sget(data, "type"), want);
	if (type && !is_generic(type))
		return type;
	if (!type)
		type = kind == TD_ACTOR   ? "generic_actor"
		       : kind == TD_STORE ? "generic_store"
		                          : "generic_process";
	size_t old = jsonpath_key(p, "data");
	if (sget(data, "name"))
		jsonpath_key(p, "name");
	model_msg_warning(t->m, jsonpath_str(p), "no mapping for Threat Dragon %s '%s'; using %s",
	                  want, name, type);
	jsonpath_pop(p, old);
	return type;
}

/* The properties the element's name implies (mappings.json
 * implied_properties: "OpenAI API" calls a language model), by the same
 * words element_type maps: the whole name, adjacent pairs, single words.
 * The element's own flags, already in props, win. */
static void imply_from_name(struct td *t, const char *name, json_t *props)
{
	enum { MAX_WORDS = 32 };
	char *slug = model_slug(name);
	model_imply_properties(t->ti, "threatdragon", slug, props);
	char *words[MAX_WORDS];
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(slug, "-", &save); w && n < MAX_WORDS;
	     w = strtok_r(NULL, "-", &save))
		words[n++] = w;
	for (size_t i = 0; i + 1 < n; i++) {
		char *pair = ts_asprintf("%s-%s", words[i], words[i + 1]);
		model_imply_properties(t->ti, "threatdragon", pair, props);
		free(pair);
	}
	for (size_t i = 0; i < n; i++)
		model_imply_properties(t->ti, "threatdragon", words[i], props);
	free(slug);
}

/* Threat Dragon names may hold line breaks from the diagram labels. */
static char *clean_name(const char *name)
{
	char *s = ts_strdup(name);
	for (char *c = s; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	return s;
}

static void set_true_if(json_t *props, const json_t *data, const char *td_key, const char *key)
{
	if (bget(data, td_key))
		json_object_set_new(props, key, json_true());
}

static json_t *element_props(enum td_kind kind, const json_t *data)
{
	json_t *props = json_object();
	set_true_if(props, data, "providesAuthentication", "authenticates_users");
	set_true_if(props, data, "storesCredentials", "stores_credentials");
	set_true_if(props, data, "handlesCardPayment", "handles_payment");
	set_true_if(props, data, "outOfScope", "out_of_scope");
	set_true_if(props, data, "isALog", "is_log");
	set_true_if(props, data, "isSigned", "is_signed");
	set_true_if(props, data, "handlesGoodsOrServices", "handles_goods_or_services");
	set_true_if(props, data, "isWebApplication", "web_application");
	if (kind == TD_STORE)
		set_true_if(props, data, "isEncrypted", "encrypted_at_rest");
	const char *priv = sget(data, "privilegeLevel");
	if (!priv)
		priv = sget(data, "privilege");
	if (priv && *priv)
		json_object_set_new(props, "privilege_level", json_string(priv));
	return props;
}

/* A threat's mitigation (its free text, or only its "Mitigated" status)
 * becomes a countermeasure of the model linked to the threat on this element:
 * the work the modeller planned, born done when the threat is mitigated. */
static void add_mitigation(struct td *t, const struct jsonpath *p, json_t *applies, const char *tid,
                           const char *title, const char *mit, bool mitigated)
{
	char *cid = ts_asprintf("%s.m", tid);
	if (!model_id_valid(cid)) {
		free(cid);
		cid = ts_asprintf("td-m-%zu",
		                  json_array_size(json_object_get(t->out, "countermeasures")) + 1);
	}
	/* The title: the text's first line, cut on a character boundary. */
	char line[161];
	if (mit && *mit) {
		size_t n = strcspn(mit, "\r\n");
		if (n > sizeof(line) - 1) {
			n = sizeof(line) - 1;
			while (n > 0 && ((unsigned char)mit[n] & 0xC0) == 0x80)
				n--;
		}
		snprintf(line, sizeof(line), "%.*s", (int)n, mit);
	}
	char *ctitle =
	    mit && *mit && line[0]
	        ? ts_asprintf("Mitigation: %s", line)
	        : ts_asprintf("Mitigate: %s", title && *title ? title : "untitled threat");
	json_t *cm =
	    json_pack("{s:s, s:s, s:s}", "id", cid, "title", ctitle, "origin", "threatdragon");
	if (mit && *mit) {
		size_t n = strlen(mit);
		if (n > MODEL_MAX_STRING) {
			n = MODEL_MAX_STRING;
			while (n > 0 && ((unsigned char)mit[n] & 0xC0) == 0x80)
				n--;
		}
		json_object_set_new(cm, "description", json_stringn(mit, n));
	}
	json_array_append_new(json_object_get(t->out, "countermeasures"), cm);
	map_src(t, "countermeasures", jsonpath_str(p));
	json_object_set_new(
	    applies, "countermeasures",
	    json_pack("[{s:s, s:s}]", "id", cid, "state", mitigated ? "implemented" : "required"));
	free(ctitle);
	free(cid);
}

static void add_threats(struct td *t, const json_t *data, struct jsonpath *p, const char *key,
                        const char *id)
{
	json_t *list = json_object_get(data, "threats");
	if (!list)
		return;
	size_t old = jsonpath_key(p, "data");
	jsonpath_key(p, "threats");
	if (!json_is_array(list)) {
		model_msg_error(t->m, jsonpath_str(p), "expected an array");
		jsonpath_pop(p, old);
		return;
	}
	json_t *threats = json_object_get(t->out, "threats");
	size_t i;
	json_t *src;
	json_array_foreach (list, i, src) {
		size_t o2 = jsonpath_index(p, i);
		if (!json_is_object(src)) {
			model_msg_error(t->m, jsonpath_str(p), "expected an object");
			jsonpath_pop(p, o2);
			continue;
		}
		/* Threat Dragon's own id when usable, else one derived from the element. */
		const char *tid = sget(src, "id");
		char *gen = NULL;
		if (!tid || !model_id_valid(tid) || json_object_get(t->threat_ids, tid)) {
			for (size_t n = i + 1; !gen || json_object_get(t->threat_ids, gen); n++) {
				free(gen);
				gen = ts_asprintf("td-%.100s-%zu", id, n);
			}
			tid = gen;
		}
		json_object_set_new(t->threat_ids, tid, json_true());
		const char *title = sget(src, "title");
		json_t *th = json_pack("{s:s, s:s, s:s}", "id", tid, "title",
		                       title && *title ? title : "Untitled threat", "origin",
		                       "threatdragon");
		const char *desc = sget(src, "description");
		if (desc && *desc)
			json_object_set_new(th, "description", json_string(desc));
		const char *mit = sget(src, "mitigation");
		if (mit && *mit)
			json_object_set_new(th, "mitigation", json_string(mit));
		const char *cat = sget(src, "type");
		if (cat && *cat) {
			json_object_set_new(th, "categories", json_pack("[s]", cat));
			char l = model_stride_letter(cat);
			if (l) {
				char st[2] = {l, 0};
				json_object_set_new(th, "stride", json_string(st));
			}
		}
		const char *sev = sget(src, "severity");
		char *sev_l = sev ? model_slug(sev) : NULL;
		if (sev_l && (strcmp(sev_l, "critical") == 0 || strcmp(sev_l, "high") == 0 ||
		              strcmp(sev_l, "medium") == 0 || strcmp(sev_l, "low") == 0))
			json_object_set_new(th, "severity", json_string(sev_l));
		free(sev_l);
		json_t *applies = json_pack("{s:s}", key, id);
		const char *status = sget(src, "status");
		bool mitigated = false;
		if (status && *status) {
			char *st = model_slug(status);
			mitigated = strcmp(st, "mitigated") == 0;
			json_object_set_new(th, "state", json_string(st));
			json_object_set_new(applies, "state", json_string(st));
			free(st);
		}
		if ((mit && *mit) || mitigated)
			add_mitigation(t, p, applies, tid, title, mit, mitigated);
		json_object_set_new(th, "applies_to", json_pack("[o]", applies));
		json_array_append_new(threats, th);
		map_src(t, "threats", jsonpath_str(p));
		free(gen);
		jsonpath_pop(p, o2);
	}
	jsonpath_pop(p, old);
}

static void collect_boxes(struct td *t, const json_t *diagrams)
{
	size_t d, i;
	json_t *diagram, *cell;
	json_array_foreach (diagrams, d, diagram) {
		json_array_foreach (json_object_get(diagram, "cells"), i, cell) {
			if (cell_kind(cell) != TD_BOX || !sget(cell, "id"))
				continue;
			struct td_box b = {.id = sget(cell, "id"), .diagram = d};
			if (!geometry(cell, &b.x, &b.y, &b.w, &b.h))
				continue;
			t->boxes = ts_realloc(t->boxes, (t->n_boxes + 1) * sizeof(*t->boxes));
			t->boxes[t->n_boxes++] = b;
		}
	}
}

static void convert_nodes(struct td *t, const json_t *diagrams)
{
	json_t *zones = json_object_get(t->out, "trust_zones");
	json_t *comps = json_object_get(t->out, "components");
	struct jsonpath p;
	size_t d, i;
	json_t *diagram, *cell;
	json_array_foreach (diagrams, d, diagram) {
		json_array_foreach (json_object_get(diagram, "cells"), i, cell) {
			jsonpath_init(&p, "$.detail.diagrams");
			jsonpath_index(&p, d);
			jsonpath_key(&p, "cells");
			jsonpath_index(&p, i);
			enum td_kind kind = cell_kind(cell);
			const char *id = sget(cell, "id");
			json_t *data = json_object_get(cell, "data");
			const char *name = sget(data, "name");
			if (kind == TD_NONE) {
				model_msg_warning(t->m, jsonpath_str(&p),
				                  "unknown cell shape '%s'; skipped",
				                  sget(cell, "shape") ? sget(cell, "shape") : "");
				continue;
			}
			if (kind == TD_TEXT || kind == TD_FLOW)
				continue;
			if (!id) {
				model_msg_error(t->m, jsonpath_str(&p),
				                "missing required field 'id'");
				continue;
			}
			if (kind == TD_CURVE)
				continue; /* boundary lines: read with the flows */
			char *cname = clean_name(name && *name ? name : id);
			if (kind == TD_BOX) {
				/* Boxes nest by containment of the whole rectangle; each
				 * level inwards is trusted a little more. */
				int depth = box_depth(t, cell, d);
				int level = 50 + 10 * depth;
				json_array_append_new(zones, json_pack("{s:s, s:s, s:i}", "id", id,
				                                       "name", cname, "trust_level",
				                                       level > 100 ? 100 : level));
				map_src(t, "trust_zones", jsonpath_str(&p));
				free(cname);
				continue;
			}
			int depth = 0;
			const struct td_box *box = zone_box(t, cell, d, &depth);
			const char *zone = box ? box->id : TD_DEFAULT_ZONE;
			t->default_zone_used = t->default_zone_used || !box;
			const char *type = element_type(t, kind, data, cname, &p);
			json_t *comp = json_pack("{s:s, s:s, s:s, s:s, s:[], s:o}", "id", id,
			                         "type", type, "name", cname, "trust_zone", zone,
			                         "tags", "properties", element_props(kind, data));
			imply_from_name(t, cname, json_object_get(comp, "properties"));
			const char *desc = sget(data, "description");
			if (desc && *desc)
				json_object_set_new(comp, "description", json_string(desc));
			json_object_set_new(t->comp_index, id,
			                    json_integer((json_int_t)json_array_size(comps)));
			json_array_append_new(comps, comp);
			map_src(t, "components", jsonpath_str(&p));
			add_threats(t, data, &p, "component", id);
			free(cname);
		}
	}
}

static const char *endpoint(struct td *t, const json_t *cell, const char *key, struct jsonpath *p,
                            bool *ret_error)
{
	json_t *end = json_object_get(cell, key);
	const char *id = sget(end, "cell");
	if (!id)
		return NULL;
	if (!json_object_get(t->comp_index, id)) {
		size_t old = jsonpath_key(p, key);
		jsonpath_key(p, "cell");
		model_msg_error(t->m, jsonpath_str(p),
		                "flow end '%s' is not an actor, process or store", id);
		jsonpath_pop(p, old);
		*ret_error = true;
	}
	return id;
}

static void mark_internet_facing(struct td *t, const char *id)
{
	json_t *comps = json_object_get(t->out, "components");
	json_t *c =
	    json_array_get(comps, (size_t)json_integer_value(json_object_get(t->comp_index, id)));
	json_object_set_new(json_object_get(c, "properties"), "internet_facing", json_true());
}

static bool is_actor(struct td *t, const char *id)
{
	json_t *comps = json_object_get(t->out, "components");
	json_t *c =
	    json_array_get(comps, (size_t)json_integer_value(json_object_get(t->comp_index, id)));
	const char *type = sget(c, "type");
	const char *k = model_type_kind(t->ti, type);
	if (k)
		return strcmp(k, "actor") == 0;
	return type && (strcmp(type, "generic_actor") == 0 || strcmp(type, "user") == 0 ||
	                strcmp(type, "administrator") == 0 || strcmp(type, "external_system") == 0);
}

/* ---- boundary lines: which flows cross them ---- */

#define TD_MAX_POINTS 256 /* points of one polyline kept; the rest is ignored */

struct td_point {
	double x, y;
};

struct td_line {
	struct td_point pts[TD_MAX_POINTS];
	size_t n;
};

static bool point_of(const json_t *o, struct td_point *pt)
{
	json_t *x = json_object_get(o, "x"), *y = json_object_get(o, "y");
	if (!json_is_number(x) || !json_is_number(y))
		return false;
	pt->x = json_number_value(x);
	pt->y = json_number_value(y);
	return true;
}

static void line_add(struct td_line *l, struct td_point pt)
{
	if (l->n < TD_MAX_POINTS)
		l->pts[l->n++] = pt;
}

/* An end of an edge: a free point {x, y}, or a cell {cell: id}: the centre of
 * that cell of the diagram (by_id: cell id -> cell). */
static bool edge_end(const json_t *by_id, const json_t *end, struct td_point *pt)
{
	const char *id = sget(end, "cell");
	if (!id)
		return point_of(end, pt);
	double x, y, w, h;
	if (!geometry(json_object_get(by_id, id), &x, &y, &w, &h))
		return false;
	pt->x = x + w / 2;
	pt->y = y + h / 2;
	return true;
}

/* The polyline of an edge cell: source, vertices, target. false when an end
 * has no position. */
static bool edge_line(const json_t *by_id, const json_t *cell, struct td_line *l)
{
	struct td_point pt;
	l->n = 0;
	if (!edge_end(by_id, json_object_get(cell, "source"), &pt))
		return false;
	line_add(l, pt);
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(cell, "vertices"), i, v)
		if (point_of(v, &pt))
			line_add(l, pt);
	if (!edge_end(by_id, json_object_get(cell, "target"), &pt))
		return false;
	line_add(l, pt);
	return l->n >= 2;
}

/* The sign of the turn a -> b -> c: 1 left, -1 right, 0 collinear. */
static int turn(struct td_point a, struct td_point b, struct td_point c)
{
	double v = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
	return v > 1e-9 ? 1 : v < -1e-9 ? -1 : 0;
}

/* Whether segments ab and cd cross: each one's ends on strictly opposite
 * sides of the other (touching and overlapping do not count). */
static bool segments_cross(struct td_point a, struct td_point b, struct td_point c,
                           struct td_point d)
{
	int t1 = turn(a, b, c), t2 = turn(a, b, d), t3 = turn(c, d, a), t4 = turn(c, d, b);
	return t1 * t2 < 0 && t3 * t4 < 0;
}

/* Whether polylines p and q cross; *budget counts the segment pairs tested
 * down, and false is returned once it is spent. */
static bool lines_cross(const struct td_line *p, const struct td_line *q, uint64_t *budget)
{
	for (size_t i = 0; i + 1 < p->n; i++) {
		for (size_t k = 0; k + 1 < q->n; k++) {
			if (*budget == 0)
				return false;
			(*budget)--;
			if (segments_cross(p->pts[i], p->pts[i + 1], q->pts[k], q->pts[k + 1]))
				return true;
		}
	}
	return false;
}

/* The boundary lines of a diagram; a line without a usable position is
 * reported and left out. *ret_n receives their number; the result is new. */
static struct td_line *boundary_lines(struct td *t, const json_t *cells, const json_t *by_id,
                                      size_t d, size_t *ret_n)
{
	struct td_line *lines = NULL;
	size_t n = 0;
	size_t i;
	json_t *cell;
	json_array_foreach (cells, i, cell) {
		if (cell_kind(cell) != TD_CURVE)
			continue;
		lines = ts_realloc(lines, (n + 1) * sizeof(*lines));
		if (edge_line(by_id, cell, &lines[n])) {
			n++;
			continue;
		}
		struct jsonpath p;
		jsonpath_init(&p, "$.detail.diagrams");
		jsonpath_index(&p, d);
		jsonpath_key(&p, "cells");
		jsonpath_index(&p, i);
		const char *name = sget(json_object_get(cell, "data"), "name");
		const char *id = sget(cell, "id");
		model_msg_warning(t->m, jsonpath_str(&p),
		                  "trust boundary line '%s' has no position; ignored",
		                  name && *name ? name
		                  : id          ? id
		                                : "");
	}
	*ret_n = n;
	return lines;
}

static void convert_flows(struct td *t, const json_t *diagrams)
{
	json_t *flows = json_object_get(t->out, "flows");
	struct jsonpath p;
	size_t d, i;
	json_t *diagram, *cell;
	json_array_foreach (diagrams, d, diagram) {
		const json_t *cells = json_object_get(diagram, "cells");
		json_t *by_id = json_object();
		json_array_foreach (cells, i, cell)
			if (sget(cell, "id"))
				json_object_set(by_id, sget(cell, "id"), cell);
		size_t n_lines = 0;
		struct td_line *lines = boundary_lines(t, cells, by_id, d, &n_lines);
		struct td_line *path = ts_malloc(sizeof(*path));
		json_array_foreach (cells, i, cell) {
			if (cell_kind(cell) != TD_FLOW)
				continue;
			jsonpath_init(&p, "$.detail.diagrams");
			jsonpath_index(&p, d);
			jsonpath_key(&p, "cells");
			jsonpath_index(&p, i);
			const char *id = sget(cell, "id");
			json_t *data = json_object_get(cell, "data");
			if (!id) {
				model_msg_error(t->m, jsonpath_str(&p),
				                "missing required field 'id'");
				continue;
			}
			bool bad = false;
			const char *src = endpoint(t, cell, "source", &p, &bad);
			const char *dst = endpoint(t, cell, "target", &p, &bad);
			if (bad)
				continue;
			if (!src || !dst) {
				model_msg_warning(
				    t->m, jsonpath_str(&p),
				    "flow '%s' is not connected at both ends; skipped",
				    sget(data, "name") ? sget(data, "name") : id);
				continue;
			}
			json_t *props = json_object();
			if (bget(data, "isEncrypted"))
				json_object_set_new(props, "encrypted", json_true());
			if (bget(data, "isPublicNetwork")) {
				json_object_set_new(props, "public_network", json_true());
				/* The element reached over the public network is the
				 * internet-facing one: the non-actor end, the target when
				 * both ends are systems. */
				if (is_actor(t, src) && !is_actor(t, dst))
					mark_internet_facing(t, dst);
				else if (is_actor(t, dst) && !is_actor(t, src))
					mark_internet_facing(t, src);
				else if (!is_actor(t, dst))
					mark_internet_facing(t, dst);
			}
			if (bget(data, "isBidirectional"))
				json_object_set_new(props, "bidirectional", json_true());
			if (bget(data, "outOfScope"))
				json_object_set_new(props, "out_of_scope", json_true());
			/* A flow drawn across a boundary line crosses a trust
			 * boundary, whatever the zones of its ends. */
			bool crosses = false;
			if (n_lines > 0 && edge_line(by_id, cell, path))
				for (size_t k = 0; !crosses && k < n_lines; k++)
					crosses = lines_cross(path, &lines[k], &t->crossing_budget);
			if (t->crossing_budget == 0 && n_lines > 0 && !t->crossing_cut) {
				t->crossing_cut = true;
				model_msg_warning(t->m, jsonpath_str(&p),
				                  "too many boundary line segments: this flow and "
				                  "those after it are not checked for crossings");
			}
			if (crosses)
				json_object_set_new(props, "crosses_boundary_line", json_true());
			const char *proto = sget(data, "protocol");
			json_t *flow = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "source",
			                         src, "destination", dst, "protocol",
			                         proto ? proto : "", "properties", props);
			const char *name = sget(data, "name");
			if (name && *name) {
				char *cname = clean_name(name);
				json_object_set_new(flow, "name", json_string(cname));
				free(cname);
			}
			const char *desc = sget(data, "description");
			if (desc && *desc)
				json_object_set_new(flow, "description", json_string(desc));
			json_array_append_new(flows, flow);
			map_src(t, "flows", jsonpath_str(&p));
			add_threats(t, data, &p, "flow", id);
		}
		free(path);
		free(lines);
		json_decref(by_id);
	}
}

void model_from_threatdragon(const json_t *doc, const struct model_typeinfo *ti,
                             struct model_msgs *m, json_t **ret_model, json_t **ret_srcmap)
{
	struct td t = {
	    .ti = ti,
	    .m = m,
	    .out = json_pack("{s:s, s:[], s:[], s:[], s:[], s:[]}", "format", MODEL_FORMAT_ID,
	                     "trust_zones", "components", "flows", "threats", "countermeasures"),
	    .srcmap = json_object(),
	    .comp_index = json_object(),
	    .threat_ids = json_object(),
	    .crossing_budget = TD_CROSSING_BUDGET,
	};
	const char *version = sget(doc, "version");
	if (!version)
		model_msg_error(m, "$.version", "expected a version string such as \"2.2.0\"");
	else if (version[0] != '2')
		model_msg_error(m, "$.version",
		                "Threat Dragon version '%s' is not supported (expected 2.x)",
		                version);
	json_t *summary = json_object_get(doc, "summary");
	const char *title = sget(summary, "title");
	if (!title || !*title)
		model_msg_error(m, "$.summary.title", "missing the model title");
	json_t *project = json_pack("{s:s}", "name", title ? title : "");
	if (sget(summary, "description"))
		json_object_set_new(project, "description",
		                    json_string(sget(summary, "description")));
	if (sget(summary, "owner") && *sget(summary, "owner"))
		json_object_set_new(project, "owner", json_string(sget(summary, "owner")));
	json_object_set_new(t.out, "project", project);

	json_t *diagrams = json_object_get(json_object_get(doc, "detail"), "diagrams");
	if (!json_is_array(diagrams)) {
		model_msg_error(m, "$.detail.diagrams", "expected an array");
		diagrams = NULL;
	}
	size_t d;
	json_t *diagram;
	json_array_foreach (diagrams, d, diagram) {
		struct jsonpath p;
		jsonpath_init(&p, "$.detail.diagrams");
		jsonpath_index(&p, d);
		if (json_object_get(diagram, "diagramJson") && !json_object_get(diagram, "cells"))
			model_msg_error(m, jsonpath_str(&p),
			                "a Threat Dragon v1 diagram; open and save it with Threat "
			                "Dragon 2 first");
		else if (!json_is_array(json_object_get(diagram, "cells")))
			model_msg_error(m, jsonpath_str(&p), "expected a 'cells' array");
	}
	collect_boxes(&t, diagrams);
	convert_nodes(&t, diagrams);
	convert_flows(&t, diagrams);
	if (t.default_zone_used) {
		json_array_append_new(json_object_get(t.out, "trust_zones"),
		                      json_pack("{s:s, s:s, s:i}", "id", TD_DEFAULT_ZONE, "name",
		                                "Outside any trust boundary", "trust_level", 0));
		map_src(&t, "trust_zones", "$.detail.diagrams");
	}
	free(t.boxes);
	json_decref(t.comp_index);
	json_decref(t.threat_ids);
	*ret_model = t.out;
	*ret_srcmap = t.srcmap;
}
