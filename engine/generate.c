/* SPDX-License-Identifier: Apache-2.0 */
/* Generation: model + library + policy -> threats and tasks, stored as a diff in one transaction. */
#include "engine/generate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/classify.h"
#include "engine/expr.h"
#include "engine/model.h"
#include "engine/project.h"

/* ------------------------------------------------------------ scoring */

double gen_score(int severity_rank, int likelihood_rank, int class_rank, int exposure)
{
	static const double class_factor[] = {0.55, 0.55, 0.70, 0.85, 1.0};
	static const double exposure_factor[] = {0.75, 0.90, 1.0};
	if (severity_rank < 1)
		severity_rank = 1;
	if (severity_rank > 4)
		severity_rank = 4;
	if (likelihood_rank < 1)
		likelihood_rank = 1;
	if (likelihood_rank > 3)
		likelihood_rank = 3;
	if (class_rank < 0 || class_rank > 4)
		class_rank = 0;
	if (exposure < 0)
		exposure = 0;
	if (exposure > 2)
		exposure = 2;
	double base = (double)(severity_rank * likelihood_rank) / 12.0;
	double s = 100.0 * base * class_factor[class_rank] * exposure_factor[exposure];
	return round(s * 10.0) / 10.0;
}

void gen_marker(const char *slug, const char *cm_uid, char out[32])
{
	char *key = ts_asprintf("%s/%s", slug, cm_uid);
	char hex[65];
	ts_sha256_hex(key, strlen(key), hex);
	free(key);
	snprintf(out, 32, "threatsync-%.16s", hex);
}

static int likelihood_rank(const char *s)
{
	if (!s)
		return 2;
	if (strcmp(s, "high") == 0)
		return 3;
	if (strcmp(s, "low") == 0)
		return 1;
	return 2;
}

/* ------------------------------------------------------------ working set */

struct gthreat {
	char *uid;
	const struct lib_threat *lt; /* NULL for a manual threat */
	const char *component_key;   /* borrowed from the model; NULL for flows */
	const char *flow_key;        /* borrowed from the model; NULL for components */
	const char *title;
	const char *description;
	char stride[8];
	json_t *cwe;   /* owned */
	json_t *capec; /* owned */
	const char *severity;
	const char *likelihood;
	double score;
	int in_scope;
	const char *override; /* "not_applicable" | "risk_accepted" | NULL */
	char hash[65];
	int64_t row_id;
	int origin_manual;
};

struct gcm {
	char *uid;
	const struct lib_countermeasure *lc; /* NULL for a manual countermeasure */
	const json_t *manual;                /* the manual entry, borrowed from the model */
	const char *component_key;
	const char *title;
	int priority;
	double score;
	int any_threat_in_scope;
	int in_scope;
	char *satisfied_by; /* owned */
	json_t *threats;    /* owned: array of threat indexes (integers) */
	json_t *body;       /* owned */
	char hash[65];
	int64_t row_id;
};

struct gen {
	struct store *s;
	const struct library *lib;
	const struct config *cfg;
	const char *slug;
	int64_t project_id;
	const char *connector; /* borrowed from cfg, NULL: no tracker */
	json_t *model;         /* owned */
	int version;
	struct classify_result cls;
	int class_rank;
	const struct config_policy *policy;
	json_t *frameworks;   /* owned: object used as a set of required frameworks */
	json_t *exposure;     /* owned: component id -> 0/1/2 */
	json_t *flows_by_end; /* owned: component id -> array of flows (borrowed refs) */
	char now[32];
	char today[11];

	struct gthreat *threats;
	size_t n_threats, cap_threats;
	struct gcm *cms;
	size_t n_cms, cap_cms;
	json_t *cm_index; /* owned: uid -> index into cms */
	json_t *overrides; /* owned: "kind:uid" -> {kind, reason, expires_at} */
	json_t *summary;   /* owned until returned */
	struct ts_err *err;
};

static void gen_release(struct gen *g)
{
	for (size_t i = 0; i < g->n_threats; i++) {
		free(g->threats[i].uid);
		json_decref(g->threats[i].cwe);
		json_decref(g->threats[i].capec);
	}
	free(g->threats);
	for (size_t i = 0; i < g->n_cms; i++) {
		free(g->cms[i].uid);
		free(g->cms[i].satisfied_by);
		json_decref(g->cms[i].threats);
		json_decref(g->cms[i].body);
	}
	free(g->cms);
	json_decref(g->cm_index);
	json_decref(g->overrides);
	json_decref(g->frameworks);
	json_decref(g->exposure);
	json_decref(g->flows_by_end);
	json_decref(g->model);
	json_decref(g->summary);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool jprop_true(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(json_object_get(obj, "properties"), key));
}

/* ------------------------------------------------------------ indexes */

static void build_indexes(struct gen *g)
{
	g->exposure = json_object();
	g->flows_by_end = json_object();
	size_t i;
	json_t *c, *f;
	json_array_foreach(json_object_get(g->model, "components"), i, c)
	{
		const char *id = jstr(c, "id");
		if (!id)
			continue;
		json_object_set_new(g->exposure, id,
				    json_integer(jprop_true(c, "internet_facing") ? 2 : 0));
		json_object_set_new(g->flows_by_end, id, json_array());
	}
	json_array_foreach(json_object_get(g->model, "flows"), i, f)
	{
		const char *ends[2] = {jstr(f, "source"), jstr(f, "destination")};
		bool crosses = jprop_true(f, "crosses_trust_boundary");
		for (int k = 0; k < 2; k++) {
			if (!ends[k] || (k == 1 && ends[0] && strcmp(ends[0], ends[1]) == 0))
				continue;
			json_t *list = json_object_get(g->flows_by_end, ends[k]);
			if (list)
				json_array_append(list, f);
			json_t *e = json_object_get(g->exposure, ends[k]);
			if (crosses && e && json_integer_value(e) < 1)
				json_integer_set(e, 1);
		}
	}
}

static int component_exposure(struct gen *g, const char *id)
{
	return (int)json_integer_value(json_object_get(g->exposure, id));
}

static int flow_exposure(struct gen *g, const json_t *f)
{
	int e = jprop_true(f, "crosses_trust_boundary") ? 1 : 0;
	const char *ends[2] = {jstr(f, "source"), jstr(f, "destination")};
	for (int k = 0; k < 2; k++)
		if (ends[k] && component_exposure(g, ends[k]) == 2)
			e = 2;
	return e;
}

/* ------------------------------------------------------------ overrides */

static const char SQL_OVERRIDES[] =
	"SELECT target_kind, target_uid, kind, reason, expires_at FROM overrides"
	" WHERE project_id = ?1 AND revoked_at IS NULL"
	" AND kind IN ('not_applicable', 'risk_accepted') ORDER BY id";

static int load_overrides(struct gen *g)
{
	g->overrides = json_object();
	sqlite3_stmt *st = store_prepare(g->s, SQL_OVERRIDES);
	if (!st)
		return store_fail(g->s, "load overrides", g->err);
	sqlite3_bind_int64(st, 1, g->project_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		const char *uid = (const char *)sqlite3_column_text(st, 1);
		const char *okind = (const char *)sqlite3_column_text(st, 2);
		const char *reason = (const char *)sqlite3_column_text(st, 3);
		const char *expires = (const char *)sqlite3_column_text(st, 4);
		char *key = ts_asprintf("%s:%s", kind, uid);
		json_object_set_new(g->overrides, key,
				    json_pack("{s:s, s:s, s:s?}", "kind", okind, "reason",
					      reason ? reason : "", "expires_at", expires));
		free(key);
	}
	if (rc != SQLITE_DONE)
		return store_fail(g->s, "load overrides", g->err);
	return 0;
}

/* The override in force for an item: kind name, or NULL. *ret_expired is set
 * when a risk acceptance exists but has expired. */
static const json_t *override_for(struct gen *g, const char *target_kind, const char *uid,
				  bool *ret_expired)
{
	char *key = ts_asprintf("%s:%s", target_kind, uid);
	json_t *o = json_object_get(g->overrides, key);
	free(key);
	if (ret_expired)
		*ret_expired = false;
	if (!o)
		return NULL;
	const char *expires = jstr(o, "expires_at");
	if (strcmp(jstr(o, "kind"), "risk_accepted") == 0 && expires &&
	    strncmp(expires, g->now, strlen(expires)) <= 0) {
		if (ret_expired)
			*ret_expired = true;
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ threats */

static struct gthreat *add_threat(struct gen *g)
{
	if (g->n_threats == g->cap_threats) {
		g->cap_threats = g->cap_threats ? g->cap_threats * 2 : 64;
		g->threats = ts_realloc(g->threats, g->cap_threats * sizeof(*g->threats));
	}
	struct gthreat *t = &g->threats[g->n_threats++];
	memset(t, 0, sizeof(*t));
	return t;
}

static json_t *int_array(const int *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static void threat_finish(struct gen *g, struct gthreat *t, int exposure)
{
	t->score = gen_score(classify_rank(t->severity), likelihood_rank(t->likelihood),
			     g->class_rank, exposure);
	const struct config_policy *p = g->policy;
	t->in_scope = classify_rank(t->severity) >= classify_rank(p->min_severity);
	const json_t *o = override_for(g, "threat", t->uid, NULL);
	if (o) {
		t->override = jstr(o, "kind");
		t->in_scope = 0;
	}
	json_t *h = json_pack("{s:s, s:s, s:s, s:O, s:O, s:s, s:s}", "title", t->title,
			      "description", t->description ? t->description : "", "stride",
			      t->stride, "cwe", t->cwe, "capec", t->capec, "severity",
			      t->severity, "likelihood", t->likelihood);
	char *dump = json_dumps(h, JSON_SORT_KEYS | JSON_COMPACT);
	ts_sha256_hex(dump, strlen(dump), t->hash);
	free(dump);
	json_decref(h);
}

static bool type_listed(const struct lib_threat *lt, const char *type)
{
	for (size_t k = 0; type && k < lt->n_applies_to; k++)
		if (strcmp(lt->applies_to[k], type) == 0)
			return true;
	return false;
}

static int eval_condition(struct gen *g, const struct lib_threat *lt, struct expr_env *env,
			  const char *where, bool *ret)
{
	*ret = true;
	if (!lt->condition)
		return 0;
	struct ts_err e = {0};
	if (expr_eval_bool(lt->condition, env, ret, &e) < 0)
		return ts_err_set(g->err, EX_DATAERR, "%s %s.condition (for %s): %s", lt->file,
				  lt->path, where, e.msg);
	return 0;
}

static int link_countermeasures(struct gen *g, size_t threat_index, const char *component_key);

static int library_threats(struct gen *g)
{
	size_t nt = library_n_threats(g->lib);
	size_t i;
	json_t *c, *f;
	/* Component-scoped threats: one instance per (threat, component). */
	json_array_foreach(json_object_get(g->model, "components"), i, c)
	{
		const char *cid = jstr(c, "id"), *type = jstr(c, "type");
		for (size_t k = 0; k < nt; k++) {
			const struct lib_threat *lt = library_threat_at(g->lib, k);
			if (lt->scope != LIB_SCOPE_COMPONENT || !type_listed(lt, type))
				continue;
			struct expr_env env = {.component = c, .model = g->model};
			bool hit;
			if (eval_condition(g, lt, &env, cid, &hit) < 0)
				return -EINVAL;
			if (!hit)
				continue;
			struct gthreat *t = add_threat(g);
			t->uid = ts_asprintf("%s@%s", lt->id, cid);
			t->lt = lt;
			t->component_key = cid;
			t->title = lt->title;
			t->description = lt->description;
			snprintf(t->stride, sizeof(t->stride), "%s", lt->stride);
			t->cwe = int_array(lt->cwe, lt->n_cwe);
			t->capec = int_array(lt->capec, lt->n_capec);
			t->severity = lt->severity;
			t->likelihood = lt->likelihood;
			threat_finish(g, t, component_exposure(g, cid));
			if (link_countermeasures(g, g->n_threats - 1, cid) < 0)
				return -EINVAL;
		}
	}
	/* Flow-scoped threats: one instance per (threat, flow) where the type of the
	 * destination (or else the source) is listed; its countermeasures go to
	 * that component, the side that has to implement them. */
	json_array_foreach(json_object_get(g->model, "flows"), i, f)
	{
		const char *fid = jstr(f, "id");
		json_t *src = model_component(g->model, jstr(f, "source"));
		json_t *dst = model_component(g->model, jstr(f, "destination"));
		for (size_t k = 0; k < nt; k++) {
			const struct lib_threat *lt = library_threat_at(g->lib, k);
			if (lt->scope != LIB_SCOPE_FLOW)
				continue;
			json_t *owner = NULL;
			if (dst && type_listed(lt, jstr(dst, "type")))
				owner = dst;
			else if (src && type_listed(lt, jstr(src, "type")))
				owner = src;
			if (!owner)
				continue;
			struct expr_env env = {
				.flow = f, .source = src, .destination = dst, .model = g->model};
			bool hit;
			if (eval_condition(g, lt, &env, fid, &hit) < 0)
				return -EINVAL;
			if (!hit)
				continue;
			struct gthreat *t = add_threat(g);
			t->uid = ts_asprintf("%s@%s", lt->id, fid);
			t->lt = lt;
			t->flow_key = fid;
			t->title = lt->title;
			t->description = lt->description;
			snprintf(t->stride, sizeof(t->stride), "%s", lt->stride);
			t->cwe = int_array(lt->cwe, lt->n_cwe);
			t->capec = int_array(lt->capec, lt->n_capec);
			t->severity = lt->severity;
			t->likelihood = lt->likelihood;
			threat_finish(g, t, flow_exposure(g, f));
			if (link_countermeasures(g, g->n_threats - 1, jstr(owner, "id")) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ countermeasures */

static struct gcm *cm_get(struct gen *g, const char *uid, bool *ret_new)
{
	json_t *idx = json_object_get(g->cm_index, uid);
	if (idx) {
		*ret_new = false;
		return &g->cms[json_integer_value(idx)];
	}
	if (g->n_cms == g->cap_cms) {
		g->cap_cms = g->cap_cms ? g->cap_cms * 2 : 64;
		g->cms = ts_realloc(g->cms, g->cap_cms * sizeof(*g->cms));
	}
	struct gcm *c = &g->cms[g->n_cms];
	memset(c, 0, sizeof(*c));
	c->uid = ts_strdup(uid);
	c->threats = json_array();
	json_object_set_new(g->cm_index, uid, json_integer((json_int_t)g->n_cms));
	g->n_cms++;
	*ret_new = true;
	return c;
}

static void cm_link_threat(struct gen *g, struct gcm *c, size_t threat_index)
{
	const struct gthreat *t = &g->threats[threat_index];
	json_array_append_new(c->threats, json_integer((json_int_t)threat_index));
	if (t->score > c->score)
		c->score = t->score;
	if (t->in_scope)
		c->any_threat_in_scope = 1;
}

static int link_countermeasures(struct gen *g, size_t threat_index, const char *component_key)
{
	const struct lib_threat *lt = g->threats[threat_index].lt;
	for (size_t k = 0; k < lt->n_countermeasures; k++) {
		const struct lib_countermeasure *lc = lt->countermeasures[k];
		char *uid = ts_asprintf("%s@%s", lc->id, component_key);
		bool fresh;
		struct gcm *c = cm_get(g, uid, &fresh);
		free(uid);
		if (fresh) {
			c->lc = lc;
			c->component_key = component_key;
			c->title = lc->title;
			c->priority = lc->priority;
			json_t *comp = model_component(g->model, component_key);
			json_t *provider = NULL;
			int rc = library_find_provider(lc, g->model, comp, &provider, g->err);
			if (rc < 0)
				return rc;
			if (rc == 1)
				c->satisfied_by = ts_strdup(jstr(provider, "id"));
		}
		cm_link_threat(g, c, threat_index);
	}
	return 0;
}

/* Manual threats and countermeasures written in the model (for instance by an
 * OTM file): threats apply to the components and flows they name, or to the
 * whole system ("*") when they name none; countermeasures attach to the
 * components of the threats they list. */
static int manual_items(struct gen *g)
{
	size_t i, j;
	json_t *mt, *a;
	json_t *by_id = json_object(); /* manual threat id -> array of threat indexes */
	json_array_foreach(json_object_get(g->model, "threats"), i, mt)
	{
		const char *id = jstr(mt, "id");
		json_t *targets = json_object_get(mt, "applies_to");
		json_t *idx = json_array();
		json_object_set_new(by_id, id, idx);
		size_t n = json_array_size(targets);
		for (j = 0; j < (n ? n : 1); j++) {
			a = n ? json_array_get(targets, j) : NULL;
			const char *comp = a ? jstr(a, "component") : NULL;
			const char *flow = a ? jstr(a, "flow") : NULL;
			struct gthreat *t = add_threat(g);
			t->origin_manual = 1;
			t->component_key = comp ? comp : (flow ? NULL : "*");
			t->flow_key = flow;
			t->uid = ts_asprintf("manual:%s@%s", id, flow ? flow : t->component_key);
			t->title = jstr(mt, "title");
			t->description = jstr(mt, "description");
			snprintf(t->stride, sizeof(t->stride), "%s",
				 jstr(mt, "stride") ? jstr(mt, "stride") : "");
			t->cwe = json_deep_copy(json_object_get(mt, "cwe"));
			if (!t->cwe)
				t->cwe = json_array();
			t->capec = json_array();
			t->severity = jstr(mt, "severity") ? jstr(mt, "severity") : "medium";
			t->likelihood = jstr(mt, "likelihood") ? jstr(mt, "likelihood") : "medium";
			int exposure = 0;
			if (comp)
				exposure = component_exposure(g, comp);
			else if (flow && model_flow(g->model, flow))
				exposure = flow_exposure(g, model_flow(g->model, flow));
			threat_finish(g, t, exposure);
			json_array_append_new(idx, json_integer((json_int_t)(g->n_threats - 1)));
			/* Library countermeasures named by the threat's target entry. */
			size_t k;
			json_t *ref;
			json_array_foreach(a ? json_object_get(a, "countermeasures") : NULL, k, ref)
			{
				const struct lib_countermeasure *lc =
					library_countermeasure(g->lib, jstr(ref, "id"));
				if (!lc || !comp)
					continue;
				char *uid = ts_asprintf("%s@%s", lc->id, comp);
				bool fresh;
				struct gcm *c = cm_get(g, uid, &fresh);
				free(uid);
				if (fresh) {
					c->lc = lc;
					c->component_key = comp;
					c->title = lc->title;
					c->priority = lc->priority;
				}
				cm_link_threat(g, c, g->n_threats - 1);
			}
		}
	}
	json_t *mc;
	json_array_foreach(json_object_get(g->model, "countermeasures"), i, mc)
	{
		const char *id = jstr(mc, "id");
		json_t *tid;
		json_array_foreach(json_object_get(mc, "threats"), j, tid)
		{
			json_t *idx = json_object_get(by_id, json_string_value(tid));
			size_t k;
			json_t *ti;
			json_array_foreach(idx, k, ti)
			{
				size_t t_index = (size_t)json_integer_value(ti);
				const struct gthreat *t = &g->threats[t_index];
				const char *comp = t->component_key;
				if (!comp && t->flow_key) {
					json_t *f = model_flow(g->model, t->flow_key);
					comp = f ? jstr(f, "destination") : "*";
				}
				char *uid = ts_asprintf("manual:%s@%s", id, comp ? comp : "*");
				bool fresh;
				struct gcm *c = cm_get(g, uid, &fresh);
				free(uid);
				if (fresh) {
					c->manual = mc;
					c->component_key = comp ? comp : "*";
					c->title = jstr(mc, "title");
					c->priority = 2;
				}
				cm_link_threat(g, c, t_index);
			}
		}
	}
	json_decref(by_id);
	return 0;
}

static json_t *compliance_json(const struct lib_countermeasure *lc)
{
	json_t *o = json_object();
	for (size_t i = 0; i < lc->n_compliance; i++) {
		json_t *ids = json_array();
		for (size_t k = 0; k < lc->compliance[i].n_ids; k++)
			json_array_append_new(ids, json_string(lc->compliance[i].ids[k]));
		json_object_set_new(o, lc->compliance[i].framework, ids);
	}
	return o;
}

static bool maps_required_framework(struct gen *g, const struct lib_countermeasure *lc)
{
	for (size_t i = 0; lc && i < lc->n_compliance; i++)
		if (json_object_get(g->frameworks, lc->compliance[i].framework))
			return true;
	return false;
}

static int cmp_threat_index(const void *a, const void *b, void *ud);

static void cm_finish(struct gen *g, struct gcm *c)
{
	const struct config_policy *p = g->policy;
	c->in_scope = c->any_threat_in_scope &&
		      (c->priority <= p->max_priority || maps_required_framework(g, c->lc));
	json_t *body = json_object();
	if (c->lc) {
		const struct lib_countermeasure *lc = c->lc;
		json_object_set_new(body, "requirement", json_string(lc->requirement));
		json_t *how = json_array();
		for (size_t i = 0; i < lc->n_how_to; i++)
			json_array_append_new(how, json_pack("{s:s, s:s}", "stack",
							     lc->how_to[i].stack, "text",
							     lc->how_to[i].text));
		json_object_set_new(body, "how_to", how);
		if (lc->acceptance_test)
			json_object_set_new(body, "acceptance_test",
					    json_string(lc->acceptance_test));
		json_t *tr = json_array();
		for (size_t i = 0; i < lc->n_training; i++)
			json_array_append_new(tr, json_pack("{s:s, s:s}", "title",
							    lc->training[i].title, "url",
							    lc->training[i].url));
		json_object_set_new(body, "training", tr);
		json_object_set_new(body, "compliance", compliance_json(lc));
	} else {
		const char *d = jstr(c->manual, "description");
		json_object_set_new(body, "requirement", json_string(d ? d : c->title));
	}
	/* Threats in a stable order, whatever order they were linked in. */
	size_t n = json_array_size(c->threats);
	size_t *idx = ts_calloc(n, sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		idx[i] = (size_t)json_integer_value(json_array_get(c->threats, i));
	for (size_t i = 1; i < n; i++) /* insertion sort: lists are short */
		for (size_t k = i; k > 0 && cmp_threat_index(&idx[k - 1], &idx[k], g) > 0; k--) {
			size_t tmp = idx[k];
			idx[k] = idx[k - 1];
			idx[k - 1] = tmp;
		}
	json_t *threats = json_array();
	json_array_clear(c->threats);
	for (size_t i = 0; i < n; i++) {
		const struct gthreat *t = &g->threats[idx[i]];
		json_array_append_new(c->threats, json_integer((json_int_t)idx[i]));
		json_array_append_new(threats, json_pack("{s:s, s:s, s:O, s:s}", "uid", t->uid,
							 "title", t->title, "cwe", t->cwe,
							 "severity", t->severity));
	}
	free(idx);
	json_object_set_new(body, "threats", threats);
	json_t *comp = model_component(g->model, c->component_key);
	json_object_set_new(body, "component",
			    json_pack("{s:s, s:s?, s:s?}", "id", c->component_key, "name",
				      comp ? jstr(comp, "name") : NULL, "type",
				      comp ? jstr(comp, "type") : NULL));
	json_t *h = json_pack("{s:s, s:i, s:O}", "title", c->title, "priority", c->priority,
			      "body", body);
	char *dump = json_dumps(h, JSON_SORT_KEYS | JSON_COMPACT);
	ts_sha256_hex(dump, strlen(dump), c->hash);
	free(dump);
	json_decref(h);
	c->body = body;
}

static int cmp_threat_index(const void *a, const void *b, void *ud)
{
	const struct gen *g = ud;
	return strcmp(g->threats[*(const size_t *)a].uid, g->threats[*(const size_t *)b].uid);
}

/* ------------------------------------------------------------ store diff */

static const char SQL_THREATS_EXISTING[] =
	"SELECT id, uid, state, content_hash, in_scope FROM threats WHERE project_id = ?1";
static const char SQL_THREAT_INSERT[] =
	"INSERT INTO threats(project_id, uid, library_id, component_key, flow_key, title, stride,"
	" cwe, capec, severity, likelihood, score, in_scope, origin, state, content_hash,"
	" first_version, last_version, created_at, updated_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15,"
	" ?16, ?16, ?17, ?17)";
static const char SQL_THREAT_UPDATE[] =
	"UPDATE threats SET title = ?2, stride = ?3, cwe = ?4, capec = ?5, severity = ?6,"
	" likelihood = ?7, score = ?8, in_scope = ?9, state = 'active', removed_reason = NULL,"
	" content_hash = ?10, last_version = ?11,"
	" updated_at = CASE WHEN content_hash = ?10 AND state = 'active' AND score = ?8"
	" AND in_scope = ?9 THEN updated_at ELSE ?12 END WHERE id = ?1";
static const char SQL_THREAT_REMOVE[] =
	"UPDATE threats SET state = 'removed', removed_reason = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_LINKS_CLEAR[] =
	"DELETE FROM threat_countermeasures WHERE threat_id IN"
	" (SELECT id FROM threats WHERE project_id = ?1)";
static const char SQL_LINK_INSERT[] =
	"INSERT OR IGNORE INTO threat_countermeasures(threat_id, countermeasure_id) VALUES (?1, ?2)";
static const char SQL_CMS_EXISTING[] =
	"SELECT id, uid, state, status, content_hash, in_scope, due_date, ticket_id, satisfied_by,"
	" component_key FROM countermeasures WHERE project_id = ?1";
static const char SQL_CM_INSERT[] =
	"INSERT INTO countermeasures(project_id, uid, library_id, component_key, title, priority,"
	" status, satisfied_by, in_scope, score, due_date, body, content_hash, origin, state,"
	" first_version, last_version, created_at, updated_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15, ?15,"
	" ?16, ?16)";
static const char SQL_CM_UPDATE[] =
	"UPDATE countermeasures SET title = ?2, priority = ?3, status = ?4, satisfied_by = ?5,"
	" in_scope = ?6, score = ?7, due_date = ?8, body = ?9, content_hash = ?10,"
	" state = 'active', removed_reason = NULL, last_version = ?11, updated_at = ?12"
	" WHERE id = ?1";
static const char SQL_CM_TOUCH[] =
	"UPDATE countermeasures SET last_version = ?2 WHERE id = ?1";
static const char SQL_CM_REMOVE[] =
	"UPDATE countermeasures SET state = 'removed', removed_reason = ?2, updated_at = ?3"
	" WHERE id = ?1";
static const char SQL_TRACKED[] =
	"SELECT DISTINCT countermeasure_id FROM outbox WHERE project_id = ?1 AND op = 'create'"
	" AND state <> 'dead' AND countermeasure_id IS NOT NULL";
static const char SQL_HISTORY[] =
	"INSERT INTO status_history(countermeasure_id, from_status, to_status, source, reason,"
	" recorded_at) VALUES (?1, ?2, ?3, 'generate', ?4, ?5)";
static const char SQL_OUTBOX[] =
	"INSERT INTO outbox(project_id, connector, op, countermeasure_id, ticket_id, payload,"
	" state, attempts, next_attempt_at, created_at, updated_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, 0, ?7, ?7)";
static const char SQL_CLASS[] =
	"UPDATE model_versions SET risk_class = ?3, class_rule = ?4"
	" WHERE project_id = ?1 AND version = ?2";

static int step_done(struct gen *g, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(g->s, what, g->err);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_json(sqlite3_stmt *st, int i, const json_t *v)
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	sqlite3_bind_text(st, i, s ? s : "null", -1, SQLITE_TRANSIENT);
	free(s);
}

static void count(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (v)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(obj, key, json_integer(1));
}

static int history(struct gen *g, int64_t cm_id, const char *from, const char *to,
		   const char *reason)
{
	sqlite3_stmt *st = store_prepare(g->s, SQL_HISTORY);
	if (!st)
		return store_fail(g->s, "record status history", g->err);
	sqlite3_bind_int64(st, 1, cm_id);
	bind_text(st, 2, from);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	bind_text(st, 4, reason);
	sqlite3_bind_text(st, 5, g->now, -1, SQLITE_STATIC);
	return step_done(g, st, "record status history");
}

static int outbox(struct gen *g, const char *op, int64_t cm_id, int64_t ticket_id,
		  const char *reason)
{
	if (!g->connector)
		return 0;
	sqlite3_stmt *st = store_prepare(g->s, SQL_OUTBOX);
	if (!st)
		return store_fail(g->s, "queue ticket operation", g->err);
	sqlite3_bind_int64(st, 1, g->project_id);
	sqlite3_bind_text(st, 2, g->connector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, cm_id);
	if (ticket_id > 0)
		sqlite3_bind_int64(st, 5, ticket_id);
	else
		sqlite3_bind_null(st, 5);
	json_t *payload = json_pack("{s:s?}", "reason", reason);
	bind_json(st, 6, payload);
	json_decref(payload);
	sqlite3_bind_text(st, 7, g->now, -1, SQLITE_STATIC);
	int rc = step_done(g, st, "queue ticket operation");
	if (rc == 0)
		count(json_object_get(json_object_get(g->summary, "changes"), "outbox"), op);
	return rc;
}

static int store_threats(struct gen *g, json_t *changes)
{
	json_t *existing = json_object(); /* uid -> [id, state, hash, in_scope] */
	int rc = 0;
	sqlite3_stmt *st = store_prepare(g->s, SQL_THREATS_EXISTING);
	if (!st) {
		rc = store_fail(g->s, "load threats", g->err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, g->project_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(existing, (const char *)sqlite3_column_text(st, 1),
				    json_pack("[I, s, s, i]", (json_int_t)sqlite3_column_int64(st, 0),
					      (const char *)sqlite3_column_text(st, 2),
					      (const char *)sqlite3_column_text(st, 3),
					      sqlite3_column_int(st, 4)));
	if (r != SQLITE_DONE) {
		rc = store_fail(g->s, "load threats", g->err);
		goto out;
	}
	for (size_t i = 0; i < g->n_threats; i++) {
		struct gthreat *t = &g->threats[i];
		json_t *old = json_object_get(existing, t->uid);
		if (!old) {
			st = store_prepare(g->s, SQL_THREAT_INSERT);
			if (!st) {
				rc = store_fail(g->s, "insert threat", g->err);
				goto out;
			}
			sqlite3_bind_int64(st, 1, g->project_id);
			bind_text(st, 2, t->uid);
			bind_text(st, 3, t->lt ? t->lt->id : t->uid);
			bind_text(st, 4, t->component_key);
			bind_text(st, 5, t->flow_key);
			bind_text(st, 6, t->title);
			bind_text(st, 7, t->stride);
			bind_json(st, 8, t->cwe);
			bind_json(st, 9, t->capec);
			bind_text(st, 10, t->severity);
			bind_text(st, 11, t->likelihood);
			sqlite3_bind_double(st, 12, t->score);
			sqlite3_bind_int(st, 13, t->in_scope);
			bind_text(st, 14, t->origin_manual ? "manual" : "library");
			bind_text(st, 15, t->hash);
			sqlite3_bind_int(st, 16, g->version);
			bind_text(st, 17, g->now);
			if ((rc = step_done(g, st, "insert threat")) < 0)
				goto out;
			t->row_id = sqlite3_last_insert_rowid(store_db(g->s));
			count(changes, "threats_created");
			continue;
		}
		t->row_id = json_integer_value(json_array_get(old, 0));
		const char *ostate = json_string_value(json_array_get(old, 1));
		const char *ohash = json_string_value(json_array_get(old, 2));
		if (strcmp(ostate, "removed") == 0)
			count(changes, "threats_reactivated");
		else if (strcmp(ohash, t->hash) != 0)
			count(changes, "threats_updated");
		st = store_prepare(g->s, SQL_THREAT_UPDATE);
		if (!st) {
			rc = store_fail(g->s, "update threat", g->err);
			goto out;
		}
		sqlite3_bind_int64(st, 1, t->row_id);
		bind_text(st, 2, t->title);
		bind_text(st, 3, t->stride);
		bind_json(st, 4, t->cwe);
		bind_json(st, 5, t->capec);
		bind_text(st, 6, t->severity);
		bind_text(st, 7, t->likelihood);
		sqlite3_bind_double(st, 8, t->score);
		sqlite3_bind_int(st, 9, t->in_scope);
		bind_text(st, 10, t->hash);
		sqlite3_bind_int(st, 11, g->version);
		bind_text(st, 12, g->now);
		if ((rc = step_done(g, st, "update threat")) < 0)
			goto out;
		json_object_del(existing, t->uid);
	}
	/* What is left was not generated this time. */
	const char *uid;
	json_t *old;
	json_object_foreach(existing, uid, old)
	{
		if (strcmp(json_string_value(json_array_get(old, 1)), "removed") == 0)
			continue;
		const char *at = strchr(uid, '@');
		const char *key = at ? at + 1 : "";
		char *reason;
		if (!model_component(g->model, key) && !model_flow(g->model, key))
			reason = ts_asprintf("'%s' is no longer in the model (version %d)", key,
					     g->version);
		else
			reason = ts_asprintf("the threat no longer applies to '%s' (version %d)",
					     key, g->version);
		st = store_prepare(g->s, SQL_THREAT_REMOVE);
		if (!st) {
			free(reason);
			rc = store_fail(g->s, "remove threat", g->err);
			goto out;
		}
		sqlite3_bind_int64(st, 1, json_integer_value(json_array_get(old, 0)));
		bind_text(st, 2, reason);
		bind_text(st, 3, g->now);
		free(reason);
		if ((rc = step_done(g, st, "remove threat")) < 0)
			goto out;
		count(changes, "threats_removed");
	}
out:
	json_decref(existing);
	return rc;
}

static bool status_open(const char *status)
{
	return strcmp(status, "todo") == 0 || strcmp(status, "in_progress") == 0 ||
	       strcmp(status, "done") == 0;
}

static void add_days(const char *today, int days, char out[11])
{
	struct tm tm = {0};
	tm.tm_year = atoi(today) - 1900;
	tm.tm_mon = atoi(today + 5) - 1;
	tm.tm_mday = atoi(today + 8) + days;
	tm.tm_hour = 12;
	time_t t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Decides a countermeasure's status from what is stored and what holds now. */
static const char *decide_status(struct gen *g, struct gcm *c, const char *old_status,
				 const char **ret_reason, char **ret_owned_reason)
{
	bool expired = false;
	const json_t *o = override_for(g, "countermeasure", c->uid, &expired);
	*ret_reason = NULL;
	*ret_owned_reason = NULL;
	if (o) {
		*ret_reason = jstr(o, "reason");
		return jstr(o, "kind");
	}
	if (c->satisfied_by) {
		*ret_owned_reason = ts_asprintf("satisfied by component '%s'", c->satisfied_by);
		return "satisfied";
	}
	if (old_status && status_open(old_status))
		return old_status;
	if (expired)
		*ret_reason = "risk acceptance expired";
	else if (old_status && strcmp(old_status, "satisfied") == 0)
		*ret_reason = "no longer satisfied by another component";
	else if (old_status)
		*ret_reason = "override withdrawn";
	return "todo";
}

static int store_cms(struct gen *g, json_t *changes)
{
	json_t *existing = json_object(); /* uid -> [id, state, status, hash, in_scope, due, ticket] */
	json_t *tracked = json_object();
	int rc = 0;
	sqlite3_stmt *st = store_prepare(g->s, SQL_CMS_EXISTING);
	if (!st) {
		rc = store_fail(g->s, "load countermeasures", g->err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, g->project_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(
			existing, (const char *)sqlite3_column_text(st, 1),
			json_pack("[I, s, s, s, i, s?, I, s?]",
				  (json_int_t)sqlite3_column_int64(st, 0),
				  (const char *)sqlite3_column_text(st, 2),
				  (const char *)sqlite3_column_text(st, 3),
				  (const char *)sqlite3_column_text(st, 4), sqlite3_column_int(st, 5),
				  (const char *)sqlite3_column_text(st, 6),
				  (json_int_t)sqlite3_column_int64(st, 7),
				  (const char *)sqlite3_column_text(st, 8)));
	if (r != SQLITE_DONE) {
		rc = store_fail(g->s, "load countermeasures", g->err);
		goto out;
	}
	st = store_prepare(g->s, SQL_TRACKED);
	if (!st) {
		rc = store_fail(g->s, "load outbox", g->err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, g->project_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_object_set_new(tracked, key, json_true());
	}
	if (r != SQLITE_DONE) {
		rc = store_fail(g->s, "load outbox", g->err);
		goto out;
	}

	for (size_t i = 0; i < g->n_cms; i++) {
		struct gcm *c = &g->cms[i];
		json_t *old = json_object_get(existing, c->uid);
		const char *ostate = old ? json_string_value(json_array_get(old, 1)) : NULL;
		const char *ostatus = old ? json_string_value(json_array_get(old, 2)) : NULL;
		const char *ohash = old ? json_string_value(json_array_get(old, 3)) : NULL;
		int oscope = old ? (int)json_integer_value(json_array_get(old, 4)) : 0;
		const char *odue = old ? json_string_value(json_array_get(old, 5)) : NULL;
		int64_t oticket = old ? json_integer_value(json_array_get(old, 6)) : 0;
		const char *reason;
		char *owned_reason;
		const char *status = decide_status(g, c, ostatus, &reason, &owned_reason);
		if (!reason)
			reason = owned_reason;
		char due[11] = "";
		const char *due_date = odue;
		if (!due_date && c->in_scope && strcmp(status, "todo") == 0) {
			int days = g->policy->sla_days[c->priority - 1];
			if (days > 0) {
				add_days(g->today, days, due);
				due_date = due;
			}
		}
		const char *lib_id = c->lc ? c->lc->id : c->uid;
		if (!old) {
			st = store_prepare(g->s, SQL_CM_INSERT);
			if (!st) {
				free(owned_reason);
				rc = store_fail(g->s, "insert countermeasure", g->err);
				goto out;
			}
			sqlite3_bind_int64(st, 1, g->project_id);
			bind_text(st, 2, c->uid);
			bind_text(st, 3, lib_id);
			bind_text(st, 4, c->component_key);
			bind_text(st, 5, c->title);
			sqlite3_bind_int(st, 6, c->priority);
			bind_text(st, 7, status);
			bind_text(st, 8, strcmp(status, "satisfied") == 0 ? c->satisfied_by : NULL);
			sqlite3_bind_int(st, 9, c->in_scope);
			sqlite3_bind_double(st, 10, c->score);
			bind_text(st, 11, due_date);
			bind_json(st, 12, c->body);
			bind_text(st, 13, c->hash);
			bind_text(st, 14, c->lc ? "library" : "manual");
			sqlite3_bind_int(st, 15, g->version);
			bind_text(st, 16, g->now);
			if ((rc = step_done(g, st, "insert countermeasure")) < 0) {
				free(owned_reason);
				goto out;
			}
			c->row_id = sqlite3_last_insert_rowid(store_db(g->s));
			count(changes, "created");
			if (strcmp(status, "todo") != 0)
				rc = history(g, c->row_id, NULL, status, reason);
			if (rc == 0 && c->in_scope && strcmp(status, "todo") == 0)
				rc = outbox(g, "create", c->row_id, 0, NULL);
			free(owned_reason);
			if (rc < 0)
				goto out;
			continue;
		}
		c->row_id = json_integer_value(json_array_get(old, 0));
		bool reactivated = strcmp(ostate, "removed") == 0;
		bool changed_text = strcmp(ohash, c->hash) != 0;
		bool changed_status = strcmp(ostatus, status) != 0;
		bool changed = reactivated || changed_text || changed_status || oscope != c->in_scope ||
			       (due_date != odue);
		if (changed) {
			st = store_prepare(g->s, SQL_CM_UPDATE);
			if (!st) {
				free(owned_reason);
				rc = store_fail(g->s, "update countermeasure", g->err);
				goto out;
			}
			sqlite3_bind_int64(st, 1, c->row_id);
			bind_text(st, 2, c->title);
			sqlite3_bind_int(st, 3, c->priority);
			bind_text(st, 4, status);
			bind_text(st, 5, strcmp(status, "satisfied") == 0 ? c->satisfied_by : NULL);
			sqlite3_bind_int(st, 6, c->in_scope);
			sqlite3_bind_double(st, 7, c->score);
			bind_text(st, 8, due_date);
			bind_json(st, 9, c->body);
			bind_text(st, 10, c->hash);
			sqlite3_bind_int(st, 11, g->version);
			bind_text(st, 12, g->now);
		} else {
			st = store_prepare(g->s, SQL_CM_TOUCH);
			if (!st) {
				free(owned_reason);
				rc = store_fail(g->s, "update countermeasure", g->err);
				goto out;
			}
			sqlite3_bind_int64(st, 1, c->row_id);
			sqlite3_bind_int(st, 2, g->version);
		}
		if ((rc = step_done(g, st, "update countermeasure")) < 0) {
			free(owned_reason);
			goto out;
		}
		if (reactivated)
			count(changes, "reactivated");
		else if (changed_text)
			count(changes, "updated");
		if (changed_status)
			rc = history(g, c->row_id, ostatus, status, reason);
		/* Ticket operations: what threatsync owns on the tracker. */
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)c->row_id);
		bool is_tracked = oticket > 0 || json_object_get(tracked, key);
		bool was_open = !reactivated && oscope && status_open(ostatus);
		bool now_open = c->in_scope && status_open(status);
		if (rc == 0) {
			if (!is_tracked) {
				if (now_open && strcmp(status, "todo") == 0)
					rc = outbox(g, "create", c->row_id, 0, NULL);
			} else if (was_open && !now_open) {
				rc = outbox(g, "close", c->row_id, oticket,
					    reason ? reason : "no longer in scope of the risk policy");
			} else if (!was_open && now_open) {
				rc = outbox(g, "reopen", c->row_id, oticket,
					    reactivated ? "the threat applies again" : reason);
			} else if (now_open && changed_text) {
				rc = outbox(g, "update", c->row_id, oticket, NULL);
			}
		}
		free(owned_reason);
		if (rc < 0)
			goto out;
		json_object_del(existing, c->uid);
	}
	const char *uid;
	json_t *old;
	json_object_foreach(existing, uid, old)
	{
		if (strcmp(json_string_value(json_array_get(old, 1)), "removed") == 0)
			continue;
		int64_t id = json_integer_value(json_array_get(old, 0));
		const char *comp = json_string_value(json_array_get(old, 7));
		(void)comp;
		const char *at = strchr(uid, '@');
		const char *key = at ? at + 1 : "";
		char *reason;
		if (strcmp(key, "*") != 0 && !model_component(g->model, key))
			reason = ts_asprintf("component '%s' is no longer in the model (version %d)",
					     key, g->version);
		else
			reason = ts_asprintf("no threat in model version %d calls for it any more",
					     g->version);
		st = store_prepare(g->s, SQL_CM_REMOVE);
		if (!st) {
			free(reason);
			rc = store_fail(g->s, "remove countermeasure", g->err);
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, reason);
		bind_text(st, 3, g->now);
		rc = step_done(g, st, "remove countermeasure");
		char key2[32];
		snprintf(key2, sizeof(key2), "%lld", (long long)id);
		int64_t ticket = json_integer_value(json_array_get(old, 6));
		bool was_open = json_integer_value(json_array_get(old, 4)) &&
				status_open(json_string_value(json_array_get(old, 2)));
		if (rc == 0 && was_open && (ticket > 0 || json_object_get(tracked, key2)))
			rc = outbox(g, "close", id, ticket, reason);
		free(reason);
		if (rc < 0)
			goto out;
		count(changes, "removed");
	}
	/* Links between threats and countermeasures, rebuilt. */
	st = store_prepare(g->s, SQL_LINKS_CLEAR);
	if (!st) {
		rc = store_fail(g->s, "link threats", g->err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, g->project_id);
	if ((rc = step_done(g, st, "link threats")) < 0)
		goto out;
	for (size_t i = 0; i < g->n_cms; i++) {
		size_t k;
		json_t *ti;
		json_array_foreach(g->cms[i].threats, k, ti)
		{
			st = store_prepare(g->s, SQL_LINK_INSERT);
			if (!st) {
				rc = store_fail(g->s, "link threats", g->err);
				goto out;
			}
			sqlite3_bind_int64(st, 1, g->threats[json_integer_value(ti)].row_id);
			sqlite3_bind_int64(st, 2, g->cms[i].row_id);
			if ((rc = step_done(g, st, "link threats")) < 0)
				goto out;
		}
	}
out:
	json_decref(existing);
	json_decref(tracked);
	return rc;
}

/* ------------------------------------------------------------ summary */

static json_t *summarise(struct gen *g, json_t *changes)
{
	json_t *by_sev = json_pack("{s:i, s:i, s:i, s:i}", "critical", 0, "high", 0, "medium", 0,
				   "low", 0);
	int t_scope = 0, c_scope = 0, c_sat = 0;
	for (size_t i = 0; i < g->n_threats; i++) {
		count(by_sev, g->threats[i].severity);
		t_scope += g->threats[i].in_scope;
	}
	for (size_t i = 0; i < g->n_cms; i++) {
		c_scope += g->cms[i].in_scope;
		c_sat += g->cms[i].satisfied_by != NULL;
	}
	json_t *t = json_pack("{s:i, s:i, s:o}", "total", (int)g->n_threats, "in_scope", t_scope,
			      "by_severity", by_sev);
	json_t *c = json_pack("{s:i, s:i, s:i}", "total", (int)g->n_cms, "in_scope", c_scope,
			      "satisfied", c_sat);
	return json_pack("{s:s, s:i, s:s, s:s?, s:o, s:o, s:O}", "project", g->slug,
			 "model_version", g->version, "risk_class", g->cls.risk_class, "rule",
			 g->cls.rule, "threats", t, "countermeasures", c, "changes", changes);
}

static int cms_by_status(struct gen *g, json_t *summary)
{
	static const char SQL[] = "SELECT status, count(*) FROM countermeasures"
				  " WHERE project_id = ?1 AND state = 'active' GROUP BY status"
				  " ORDER BY status";
	sqlite3_stmt *st = store_prepare(g->s, SQL);
	if (!st)
		return store_fail(g->s, "count countermeasures", g->err);
	sqlite3_bind_int64(st, 1, g->project_id);
	json_t *by = json_object();
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(by, (const char *)sqlite3_column_text(st, 0),
				    json_integer(sqlite3_column_int(st, 1)));
	json_object_set_new(json_object_get(summary, "countermeasures"), "by_status", by);
	if (r != SQLITE_DONE)
		return store_fail(g->s, "count countermeasures", g->err);
	return 0;
}

/* ------------------------------------------------------------ entry */

int gen_run(struct store *s, const struct library *lib, const struct config *cfg,
	    const char *slug, const struct gen_opts *opts, json_t **ret_summary,
	    struct ts_err *err)
{
	struct gen g = {.s = s, .lib = lib, .cfg = cfg, .slug = slug, .err = err};
	int rc;
	if (opts && opts->now)
		snprintf(g.now, sizeof(g.now), "%s", opts->now);
	else
		ts_now_iso(g.now);
	snprintf(g.today, sizeof(g.today), "%.10s", g.now);
	if ((rc = project_find(s, slug, &g.project_id, err)) < 0)
		return rc;
	if ((rc = model_load(s, g.project_id, 0, &g.model, &g.version, err)) < 0)
		return rc;
	const struct config_project *pc = config_find_project(cfg, slug);
	g.connector = pc ? pc->connector : NULL;
	classify_annotate_model(g.model);
	if ((rc = classify_model(cfg, g.model, &g.cls, err)) < 0)
		goto out;
	g.class_rank = classify_rank(g.cls.risk_class);
	g.policy = config_find_policy(cfg, g.cls.risk_class);
	if (!g.policy)
		g.policy = config_default_policy(g.cls.risk_class);
	g.frameworks = json_object();
	for (char **fw = g.policy->frameworks; fw && *fw; fw++)
		json_object_set_new(g.frameworks, *fw, json_true());
	size_t i;
	json_t *fw;
	json_array_foreach(json_object_get(json_object_get(g.model, "project"), "compliance"), i,
			   fw)
	{
		if (json_is_string(fw))
			json_object_set_new(g.frameworks, json_string_value(fw), json_true());
	}
	build_indexes(&g);
	g.cm_index = json_object();
	if ((rc = load_overrides(&g)) < 0)
		goto out;
	if ((rc = library_threats(&g)) < 0 || (rc = manual_items(&g)) < 0)
		goto out;
	for (size_t k = 0; k < g.n_cms; k++)
		cm_finish(&g, &g.cms[k]);

	json_t *changes = json_pack("{s:i, s:i, s:i, s:i, s:{}}", "created", 0, "updated", 0,
				    "removed", 0, "reactivated", 0, "outbox");
	g.summary = summarise(&g, changes);
	json_decref(changes);
	changes = json_object_get(g.summary, "changes");
	if ((rc = store_begin(s)) < 0) {
		rc = store_fail(s, "begin generation", err);
		goto out;
	}
	sqlite3_stmt *st = store_prepare(s, SQL_CLASS);
	if (!st) {
		rc = store_fail(s, "record classification", err);
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, g.project_id);
	sqlite3_bind_int(st, 2, g.version);
	bind_text(st, 3, g.cls.risk_class);
	bind_text(st, 4, g.cls.rule);
	if ((rc = step_done(&g, st, "record classification")) < 0)
		goto rollback;
	if ((rc = store_threats(&g, changes)) < 0 || (rc = store_cms(&g, changes)) < 0 ||
	    (rc = cms_by_status(&g, g.summary)) < 0)
		goto rollback;
	if (opts && opts->dry_run) {
		store_rollback(s);
	} else if ((rc = store_commit(s)) < 0) {
		rc = store_fail(s, "commit generation", err);
		goto rollback;
	}
	*ret_summary = g.summary;
	g.summary = NULL;
	rc = 0;
	goto out;
rollback:
	store_rollback(s);
out:
	gen_release(&g);
	return rc;
}
