/* SPDX-License-Identifier: Apache-2.0 */
/* What an expression reads of a model: the properties, tags and compared values,
 * found by walking the parsed tree with the kind of object each node reaches. */
#include <string.h>

#include "engine/expr/expr.h"
#include "engine/expr/expr_internal.h"

/* What a node of the tree reaches, as far as the tree alone tells. */
enum reach {
	R_OTHER,
	R_COMPONENT,
	R_FLOW,
	R_MODEL,
	R_PROJECT,
	R_COMPONENTS, /* model.components */
	R_FLOWS,      /* model.flows */
	R_ASSETS,     /* model.data_assets */
	R_ASSET,
	R_PROPS,    /* a properties object (scope set) */
	R_PROPERTY, /* a property's value, or an element of a list property */
	R_TAGS,     /* a tags list */
	R_TAG,      /* an element of a tags list */
};

struct reached {
	enum reach r;
	enum expr_ref_scope scope; /* R_PROPS, R_PROPERTY */
	const char *property;      /* R_PROPERTY: its name */
};

struct walk {
	void (*cb)(const struct expr_ref *ref, void *arg);
	void *arg;
	struct reached vars[EXPR_MAX_VARS];
};

/* Fields of the model's objects that are structure, not properties
 * (schema/model.schema.json). NULL-terminated. */
static const char *const component_fields[] = {"id",     "type",        "name", "trust_zone",
                                               "parent", "description", "tags", "properties",
                                               "code",   NULL};
static const char *const flow_fields[] = {
    "id", "source", "destination", "protocol", "name", "description", "tags", "properties", NULL};
static const char *const model_fields[] = {"format", "trust_zones", "threats", "countermeasures",
                                           NULL};
static const char *const project_fields[] = {"name", "description", "owner", NULL};

static bool one_of(const char *key, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(key, *names) == 0)
			return true;
	return false;
}

static const struct reached other = {R_OTHER, EXPR_SCOPE_COMPONENT, NULL};

static void emit(struct walk *w, enum expr_ref_kind kind, enum expr_ref_scope scope,
                 const char *name, size_t len, const char *property, int col)
{
	struct expr_ref ref = {kind, scope, name, len, property, col};
	w->cb(&ref, w->arg);
}

/* A property reference: reported, and its value reached. */
static struct reached property(struct walk *w, enum expr_ref_scope scope, const struct expr_node *n)
{
	emit(w, EXPR_REF_PROPERTY, scope, n->u.member.key, n->u.member.key_len, NULL, n->col);
	return (struct reached){R_PROPERTY, scope, n->u.member.key};
}

/* base.key for a component (scope COMPONENT) or a flow (scope FLOW). */
static struct reached element_member(struct walk *w, enum expr_ref_scope scope,
                                     const struct expr_node *n)
{
	const char *key = n->u.member.key;
	if (strcmp(key, "tags") == 0)
		return (struct reached){R_TAGS, scope, NULL};
	if (strcmp(key, "properties") == 0)
		return (struct reached){R_PROPS, scope, NULL};
	if (one_of(key, scope == EXPR_SCOPE_FLOW ? flow_fields : component_fields))
		return other;
	return property(w, scope, n);
}

static struct reached member(struct walk *w, struct reached base, const struct expr_node *n)
{
	const char *key = n->u.member.key;
	switch (base.r) {
	case R_COMPONENT:
		return element_member(w, EXPR_SCOPE_COMPONENT, n);
	case R_FLOW:
		return element_member(w, EXPR_SCOPE_FLOW, n);
	case R_PROPS:
		return property(w, base.scope, n);
	case R_MODEL:
		if (strcmp(key, "components") == 0)
			return (struct reached){R_COMPONENTS, EXPR_SCOPE_COMPONENT, NULL};
		if (strcmp(key, "flows") == 0)
			return (struct reached){R_FLOWS, EXPR_SCOPE_FLOW, NULL};
		if (strcmp(key, "data_assets") == 0)
			return (struct reached){R_ASSETS, EXPR_SCOPE_ASSET, NULL};
		if (strcmp(key, "project") == 0)
			return (struct reached){R_PROJECT, EXPR_SCOPE_PROJECT, NULL};
		if (one_of(key, model_fields))
			return other;
		/* model.NAME falls back to model.project.NAME */
		/* fall through */
	case R_PROJECT:
		if (one_of(key, project_fields))
			return other;
		return property(w, EXPR_SCOPE_PROJECT, n);
	case R_ASSET:
		if (strcmp(key, "properties") == 0)
			return (struct reached){R_PROPS, EXPR_SCOPE_ASSET, NULL};
		return other; /* a data asset has no fallback: other members are fields */
	default:
		return other;
	}
}

/* A string constant tested against what r reaches: a tag or a property value. */
static void tested(struct walk *w, struct reached r, const struct expr_node *c)
{
	if (c->kind != EXPR_N_CONST || c->u.value.kind != EXPR_V_STRING)
		return;
	if (r.r == R_TAGS || r.r == R_TAG)
		emit(w, EXPR_REF_TAG, r.scope, c->u.value.u.s.p, c->u.value.u.s.n, NULL, c->col);
	else if (r.r == R_PROPERTY)
		emit(w, EXPR_REF_VALUE, r.scope, c->u.value.u.s.p, c->u.value.u.s.n, r.property,
		     c->col);
}

static void tested_list(struct walk *w, struct reached r, const struct expr_node *list)
{
	if (list->kind != EXPR_N_LIST)
		return;
	for (const struct expr_node *el = list->u.value.u.list; el; el = el->next)
		tested(w, r, el);
}

static struct reached walk_node(struct walk *w, const struct expr_node *n);

static void walk_cmp(struct walk *w, const struct expr_node *n)
{
	const struct expr_node *l = n->u.cmp.l, *r = n->u.cmp.r;
	struct reached rl = walk_node(w, l), rr = walk_node(w, r);
	if (n->u.cmp.op == EXPR_OP_IN) {
		/* "x" in c.tags, "x" in c.list_property; t in ["a", "b"] */
		if (rr.r == R_TAGS || rr.r == R_PROPERTY)
			tested(w, rr, l);
		if (rl.r == R_TAG || rl.r == R_PROPERTY)
			tested_list(w, rl, r);
		return;
	}
	tested(w, rl, r);
	tested(w, rr, l);
}

static struct reached walk_quant(struct walk *w, const struct expr_node *n)
{
	struct reached var = other;
	switch (n->u.quant.src) {
	case EXPR_QS_COMPONENTS:
		var.r = R_COMPONENT;
		break;
	case EXPR_QS_FLOWS:
		var.r = R_FLOW;
		var.scope = EXPR_SCOPE_FLOW;
		break;
	case EXPR_QS_LIST: {
		struct reached list = walk_node(w, n->u.quant.list);
		if (list.r == R_COMPONENTS)
			var.r = R_COMPONENT;
		else if (list.r == R_FLOWS)
			var = (struct reached){R_FLOW, EXPR_SCOPE_FLOW, NULL};
		else if (list.r == R_ASSETS)
			var = (struct reached){R_ASSET, EXPR_SCOPE_ASSET, NULL};
		else if (list.r == R_TAGS)
			var = (struct reached){R_TAG, list.scope, NULL};
		else if (list.r == R_PROPERTY)
			var = list; /* an element of a list property */
		break;
	}
	}
	if (n->u.quant.slot >= 0 && n->u.quant.slot < EXPR_MAX_VARS)
		w->vars[n->u.quant.slot] = var;
	walk_node(w, n->u.quant.cond);
	return other;
}

static struct reached walk_node(struct walk *w, const struct expr_node *n)
{
	if (!n)
		return other;
	switch (n->kind) {
	case EXPR_N_ROOT:
		switch (n->u.root) {
		case EXPR_ROOT_FLOW:
			return (struct reached){R_FLOW, EXPR_SCOPE_FLOW, NULL};
		case EXPR_ROOT_MODEL:
			return (struct reached){R_MODEL, EXPR_SCOPE_PROJECT, NULL};
		default:
			return (struct reached){R_COMPONENT, EXPR_SCOPE_COMPONENT, NULL};
		}
	case EXPR_N_VAR:
		if (n->u.slot >= 0 && n->u.slot < EXPR_MAX_VARS)
			return w->vars[n->u.slot];
		return other;
	case EXPR_N_MEMBER:
		return member(w, walk_node(w, n->u.member.base), n);
	case EXPR_N_NOT:
		walk_node(w, n->u.operand);
		return other;
	case EXPR_N_AND:
	case EXPR_N_OR:
		for (const struct expr_node *o = n->u.first; o; o = o->next)
			walk_node(w, o);
		return other;
	case EXPR_N_CMP:
		walk_cmp(w, n);
		return other;
	case EXPR_N_QUANT:
		return walk_quant(w, n);
	case EXPR_N_LOOKUP:
		walk_node(w, n->u.operand);
		return (struct reached){R_COMPONENT, EXPR_SCOPE_COMPONENT, NULL};
	default: /* constants and list literals */
		return other;
	}
}

void expr_refs(const struct expr *e, void (*cb)(const struct expr_ref *ref, void *arg), void *arg)
{
	if (!e)
		return;
	struct walk w = {.cb = cb, .arg = arg};
	for (size_t i = 0; i < EXPR_MAX_VARS; i++)
		w.vars[i] = other;
	walk_node(&w, e->root);
}
