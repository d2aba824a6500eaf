/* SPDX-License-Identifier: Apache-2.0 */
/* Evaluator of parsed expressions: values on the C stack, no allocation, bounded steps. */
#include "engine/expr/expr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expr/expr_internal.h"

/* Everything an evaluation needs besides the tree; lives on the caller's stack. */
struct eval_ctx {
	const struct expr_env *env;
	unsigned long steps;
	unsigned long max_steps;
	bool over; /* the step budget ran out: unwind with nulls, report at the top */
	int quiet; /* > 0: inside a memoised quantifier, reads are not reported */
	struct expr_value vars[EXPR_MAX_VARS];
};

/* Walks the elements of a JSON array or a list literal. */
struct iter {
	const struct expr_value *list;
	size_t i;
	const struct expr_node *cur;
};

static const struct expr_value null_value = {.kind = EXPR_V_NULL};

static bool step(struct eval_ctx *c)
{
	if (c->over)
		return false;
	if (++c->steps > c->max_steps) {
		c->over = true;
		return false;
	}
	return true;
}

static void note_read(struct eval_ctx *c, const char *id, size_t len)
{
	const struct expr_deps *d = c->env->deps;
	if (d && !c->quiet)
		d->read(d->arg, id, len);
}

static struct expr_value from_json(const json_t *j, enum expr_fallback fb)
{
	struct expr_value v = {.kind = EXPR_V_NULL};

	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_OBJECT:
		v.kind = EXPR_V_OBJECT;
		v.fallback = fb;
		v.u.j = j;
		break;
	case JSON_ARRAY:
		v.kind = EXPR_V_ARRAY;
		v.fallback = fb == EXPR_FB_ELEMENTS ? fb : EXPR_FB_NONE;
		v.u.j = j;
		break;
	case JSON_STRING:
		v.kind = EXPR_V_STRING;
		v.u.s.p = json_string_value(j);
		v.u.s.n = json_string_length(j);
		break;
	case JSON_INTEGER:
		v.kind = EXPR_V_INT;
		v.u.i = json_integer_value(j);
		break;
	case JSON_REAL:
		v.kind = EXPR_V_REAL;
		v.u.r = json_real_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v.kind = EXPR_V_BOOL;
		v.u.b = json_is_true(j);
		break;
	case JSON_NULL:
		break;
	}
	return v;
}

static bool key_is(const char *key, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(key, word, len) == 0;
}

/* v.key, with the component/flow and model fallbacks. */
static struct expr_value member(const struct expr_value *v, const char *key, size_t len)
{
	const json_t *x, *inner = NULL;
	enum expr_fallback fb = EXPR_FB_NONE;

	if (v->kind != EXPR_V_OBJECT)
		return null_value;
	x = json_object_getn(v->u.j, key, len);
	if (v->fallback == EXPR_FB_PROPERTIES)
		inner = json_object_get(v->u.j, "properties");
	else if (v->fallback == EXPR_FB_PROJECT)
		inner = json_object_get(v->u.j, "project");
	if (!x && json_is_object(inner))
		x = json_object_getn(inner, key, len);
	if (v->fallback == EXPR_FB_PROJECT &&
	    (key_is(key, len, "components") || key_is(key, len, "flows")))
		fb = EXPR_FB_ELEMENTS;
	return from_json(x, fb);
}

static void iter_init(struct iter *it, const struct expr_value *list)
{
	it->list = list;
	it->i = 0;
	it->cur = list->kind == EXPR_V_LIST ? list->u.list : NULL;
}

/* The next element into *ret; false at the end, for a non-list, or when the step
 * budget ran out. */
static bool iter_next(struct eval_ctx *c, struct iter *it, struct expr_value *ret)
{
	if (!step(c))
		return false;
	if (it->list->kind == EXPR_V_ARRAY) {
		if (it->i >= json_array_size(it->list->u.j))
			return false;
		*ret = from_json(json_array_get(it->list->u.j, it->i++),
		                 it->list->fallback == EXPR_FB_ELEMENTS ? EXPR_FB_PROPERTIES
		                                                        : EXPR_FB_NONE);
		return true;
	}
	if (it->list->kind == EXPR_V_LIST && it->cur) {
		*ret = it->cur->u.value;
		it->cur = it->cur->next;
		return true;
	}
	return false;
}

static bool is_number(const struct expr_value *v)
{
	return v->kind == EXPR_V_INT || v->kind == EXPR_V_REAL;
}

static bool is_list(const struct expr_value *v)
{
	return v->kind == EXPR_V_ARRAY || v->kind == EXPR_V_LIST;
}

static double as_double(const struct expr_value *v)
{
	return v->kind == EXPR_V_INT ? (double)v->u.i : v->u.r;
}

static bool truthy(const struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_V_NULL:
		return false;
	case EXPR_V_BOOL:
		return v->u.b;
	case EXPR_V_INT:
		return v->u.i != 0;
	case EXPR_V_REAL:
		return v->u.r != 0.0;
	case EXPR_V_STRING:
		return v->u.s.n > 0;
	case EXPR_V_ARRAY:
		return json_array_size(v->u.j) > 0;
	case EXPR_V_LIST:
		return v->u.list != NULL;
	case EXPR_V_OBJECT:
		return true;
	}
	return false;
}

static bool equal(struct eval_ctx *c, const struct expr_value *a, const struct expr_value *b);

static bool lists_equal(struct eval_ctx *c, const struct expr_value *a, const struct expr_value *b)
{
	struct iter ia, ib;
	struct expr_value x, y;

	iter_init(&ia, a);
	iter_init(&ib, b);
	for (;;) {
		bool more_a = iter_next(c, &ia, &x);
		bool more_b = iter_next(c, &ib, &y);
		if (more_a != more_b)
			return false;
		if (!more_a)
			return !c->over;
		if (!equal(c, &x, &y))
			return false;
	}
}

static bool objects_equal(struct eval_ctx *c, const json_t *a, const json_t *b)
{
	/* The iteration functions take non-const pointers but only read. */
	json_t *oa = (json_t *)a;

	if (json_object_size(a) != json_object_size(b))
		return false;
	for (void *it = json_object_iter(oa); it; it = json_object_iter_next(oa, it)) {
		const json_t *other =
		    json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
		struct expr_value x, y;

		if (!other || !step(c))
			return false;
		x = from_json(json_object_iter_value(it), EXPR_FB_NONE);
		y = from_json(other, EXPR_FB_NONE);
		if (!equal(c, &x, &y))
			return false;
	}
	return true;
}

static bool equal(struct eval_ctx *c, const struct expr_value *a, const struct expr_value *b)
{
	if (is_number(a) && is_number(b)) {
		if (a->kind == EXPR_V_INT && b->kind == EXPR_V_INT)
			return a->u.i == b->u.i;
		return as_double(a) == as_double(b);
	}
	if (is_list(a) && is_list(b))
		return lists_equal(c, a, b);
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case EXPR_V_NULL:
		return true;
	case EXPR_V_BOOL:
		return a->u.b == b->u.b;
	case EXPR_V_STRING:
		return a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
	case EXPR_V_OBJECT:
		return a->u.j == b->u.j || objects_equal(c, a->u.j, b->u.j);
	default:
		return false;
	}
}

/* Ordering: *ret_cmp < 0, 0, > 0; false when a and b are not both numbers or both strings. */
static bool order(const struct expr_value *a, const struct expr_value *b, int *ret_cmp)
{
	if (is_number(a) && is_number(b)) {
		if (a->kind == EXPR_V_INT && b->kind == EXPR_V_INT)
			*ret_cmp = (a->u.i > b->u.i) - (a->u.i < b->u.i);
		else
			*ret_cmp = (as_double(a) > as_double(b)) - (as_double(a) < as_double(b));
		return true;
	}
	if (a->kind == EXPR_V_STRING && b->kind == EXPR_V_STRING) {
		size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
		int r = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
		*ret_cmp = r ? r : (a->u.s.n > b->u.s.n) - (a->u.s.n < b->u.s.n);
		return true;
	}
	return false;
}

static bool contains_bytes(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0)
		return true;
	for (size_t i = 0; i + nn <= hn; i++) {
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
			return true;
	}
	return false;
}

static bool in(struct eval_ctx *c, const struct expr_value *x, const struct expr_value *coll)
{
	struct iter it;
	struct expr_value el;

	switch (coll->kind) {
	case EXPR_V_ARRAY:
	case EXPR_V_LIST:
		iter_init(&it, coll);
		while (iter_next(c, &it, &el)) {
			if (equal(c, x, &el))
				return true;
		}
		return false;
	case EXPR_V_STRING:
		return x->kind == EXPR_V_STRING &&
		       contains_bytes(coll->u.s.p, coll->u.s.n, x->u.s.p, x->u.s.n);
	case EXPR_V_OBJECT:
		return x->kind == EXPR_V_STRING && json_object_getn(coll->u.j, x->u.s.p, x->u.s.n);
	default:
		return false;
	}
}

static struct expr_value eval(struct eval_ctx *c, const struct expr_node *n);

static struct expr_value bool_value(bool b)
{
	struct expr_value v = {.kind = EXPR_V_BOOL, .u.b = b};
	return v;
}

static struct expr_value eval_cmp(struct eval_ctx *c, const struct expr_node *n)
{
	struct expr_value l = eval(c, n->u.cmp.l);
	struct expr_value r = eval(c, n->u.cmp.r);
	int cmp;

	switch (n->u.cmp.op) {
	case EXPR_OP_EQ:
		return bool_value(equal(c, &l, &r));
	case EXPR_OP_NE:
		return bool_value(!equal(c, &l, &r));
	case EXPR_OP_IN:
		return bool_value(in(c, &l, &r));
	case EXPR_OP_LT:
		return bool_value(order(&l, &r, &cmp) && cmp < 0);
	case EXPR_OP_LE:
		return bool_value(order(&l, &r, &cmp) && cmp <= 0);
	case EXPR_OP_GT:
		return bool_value(order(&l, &r, &cmp) && cmp > 0);
	case EXPR_OP_GE:
		return bool_value(order(&l, &r, &cmp) && cmp >= 0);
	}
	return null_value;
}

static struct expr_value model_list(struct eval_ctx *c, const char *key)
{
	if (!c->env->model)
		return null_value;
	return from_json(json_object_get(c->env->model, key), EXPR_FB_ELEMENTS);
}

struct expr_index {
	json_t *by_id;    /* component id -> component */
	json_t *flows_of; /* component id -> [flows touching it] */
};

struct expr_index *expr_index_new(json_t *model)
{
	struct expr_index *ix = ts_calloc(1, sizeof(*ix));
	ix->by_id = json_object();
	ix->flows_of = json_object();
	size_t i;
	json_t *e;
	json_array_foreach (json_object_get(model, "components"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		if (id && !json_object_get(ix->by_id, id))
			json_object_set(ix->by_id, id, e);
	}
	json_array_foreach (json_object_get(model, "flows"), i, e) {
		const char *ends[2] = {json_string_value(json_object_get(e, "source")),
		                       json_string_value(json_object_get(e, "destination"))};
		for (int k = 0; k < 2; k++) {
			if (!ends[k] || (k == 1 && ends[0] && strcmp(ends[0], ends[1]) == 0))
				continue;
			json_t *list = json_object_get(ix->flows_of, ends[k]);
			if (!list) {
				list = json_array();
				json_object_set_new(ix->flows_of, ends[k], list);
			}
			json_array_append(list, e);
		}
	}
	return ix;
}

void expr_index_free(struct expr_index *ix)
{
	if (!ix)
		return;
	json_decref(ix->by_id);
	json_decref(ix->flows_of);
	free(ix);
}

json_t *expr_index_component(const struct expr_index *ix, const char *id)
{
	return ix && id ? json_object_get(ix->by_id, id) : NULL;
}

json_t *expr_index_flows_of(const struct expr_index *ix, const char *id)
{
	return ix && id ? json_object_get(ix->flows_of, id) : NULL;
}

static bool is_member_of(const struct expr_node *n, enum expr_node_kind base_kind, int base_val,
                         const char *key)
{
	if (n->kind != EXPR_N_MEMBER || strcmp(n->u.member.key, key) != 0)
		return false;
	const struct expr_node *b = n->u.member.base;
	if (b->kind != base_kind)
		return false;
	return base_kind == EXPR_N_VAR ? b->u.slot == base_val : (int)b->u.root == base_val;
}

static bool is_endpoint(const struct expr_node *n, int slot)
{
	return is_member_of(n, EXPR_N_VAR, slot, "source") ||
	       is_member_of(n, EXPR_N_VAR, slot, "destination");
}

/* Whether n reads the variable bound to slot anywhere below it. */
static bool reads_slot(const struct expr_node *n, int slot)
{
	const struct expr_node *op;
	switch (n->kind) {
	case EXPR_N_VAR:
		return n->u.slot == slot;
	case EXPR_N_MEMBER:
		return reads_slot(n->u.member.base, slot);
	case EXPR_N_NOT:
	case EXPR_N_LOOKUP:
		return reads_slot(n->u.operand, slot);
	case EXPR_N_AND:
	case EXPR_N_OR:
		for (op = n->u.first; op; op = op->next)
			if (reads_slot(op, slot))
				return true;
		return false;
	case EXPR_N_CMP:
		return reads_slot(n->u.cmp.l, slot) || reads_slot(n->u.cmp.r, slot);
	case EXPR_N_QUANT:
		return (n->u.quant.list && reads_slot(n->u.quant.list, slot)) ||
		       reads_slot(n->u.quant.cond, slot);
	default:
		return false;
	}
}

/* The component id every flow (bound to slot) satisfying cond must start or
 * end at, when cond says so: `f.source == X` or `f.destination == X` with X
 * not reading f (component.id, an outer flow's endpoint, another component's
 * id), a conjunction with one of them, or a disjunction of them naming one
 * id. X is evaluated here, once; *id is set when it is a string. */
static bool anchor_of(struct eval_ctx *c, const struct expr_node *cond, int slot,
                      struct expr_value *id)
{
	const struct expr_node *op;
	switch (cond->kind) {
	case EXPR_N_CMP: {
		const struct expr_node *l = cond->u.cmp.l, *r = cond->u.cmp.r;
		const struct expr_node *x = NULL;
		if (cond->u.cmp.op != EXPR_OP_EQ)
			return false;
		if (is_endpoint(l, slot) && !reads_slot(r, slot))
			x = r;
		else if (is_endpoint(r, slot) && !reads_slot(l, slot))
			x = l;
		if (!x)
			return false;
		*id = eval(c, x);
		return id->kind == EXPR_V_STRING;
	}
	case EXPR_N_AND:
		for (op = cond->u.first; op; op = op->next)
			if (anchor_of(c, op, slot, id))
				return true;
		return false;
	case EXPR_N_OR: {
		struct expr_value first = null_value;
		for (op = cond->u.first; op; op = op->next) {
			struct expr_value v;
			if (!anchor_of(c, op, slot, &v))
				return false;
			if (op == cond->u.first)
				first = v;
			else if (v.u.s.n != first.u.s.n ||
			         memcmp(v.u.s.p, first.u.s.p, v.u.s.n) != 0)
				return false;
		}
		*id = first;
		return cond->u.first != NULL;
	}
	default:
		return false;
	}
}

/* The flows a model.any_flow/count_flow must visit: with an index and a
 * condition that requires the flow to touch one component (anchor_of), only
 * that component's flows (the others cannot satisfy it, so any and count
 * agree with a visit of every flow). */
static struct expr_value flows_to_visit(struct eval_ctx *c, const struct expr_node *n)
{
	const struct expr_env *env = c->env;
	struct expr_value id;
	if (env->index && n->u.quant.q != EXPR_Q_ALL &&
	    anchor_of(c, n->u.quant.cond, n->u.quant.slot, &id)) {
		note_read(c, id.u.s.p, id.u.s.n);
		json_t *list = json_object_getn(env->index->flows_of, id.u.s.p, id.u.s.n);
		return from_json(list, EXPR_FB_ELEMENTS);
	}
	note_read(c, NULL, 0);
	return model_list(c, "flows");
}

/* The memo: open addressing over quantifier nodes. */
struct memo_slot {
	const struct expr_node *node; /* NULL: empty */
	struct expr_value v;
};

struct expr_memo {
	struct memo_slot *slots; /* owned */
	size_t cap, count;
};

struct expr_memo *expr_memo_new(void)
{
	return ts_calloc(1, sizeof(struct expr_memo));
}

void expr_memo_free(struct expr_memo *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static struct memo_slot *memo_slot(struct memo_slot *slots, size_t cap, const struct expr_node *n)
{
	size_t i = ((uintptr_t)n >> 4) * 11400714819323198485ULL >> 7;
	for (i &= cap - 1;; i = (i + 1) & (cap - 1))
		if (slots[i].node == n || !slots[i].node)
			return &slots[i];
}

static const struct expr_value *memo_get(const struct expr_memo *m, const struct expr_node *n)
{
	if (!m->cap)
		return NULL;
	struct memo_slot *sl = memo_slot(m->slots, m->cap, n);
	return sl->node ? &sl->v : NULL;
}

static void memo_put(struct expr_memo *m, const struct expr_node *n, struct expr_value v)
{
	if ((m->count + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct memo_slot *slots = ts_calloc(cap, sizeof(*slots));
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].node)
				*memo_slot(slots, cap, m->slots[i].node) = m->slots[i];
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	struct memo_slot *sl = memo_slot(m->slots, m->cap, n);
	if (!sl->node)
		m->count++;
	sl->node = n;
	sl->v = v;
}

static struct expr_value eval_quant_once(struct eval_ctx *c, const struct expr_node *n);

static struct expr_value eval_quant(struct eval_ctx *c, const struct expr_node *n)
{
	struct expr_memo *m = c->env->memo;
	if (!n->u.quant.closed || !m)
		return eval_quant_once(c, n);
	const struct expr_value *hit = memo_get(m, n);
	if (hit)
		return *hit;
	c->quiet++;
	struct expr_value v = eval_quant_once(c, n);
	c->quiet--;
	/* A value cut short by the step budget is not a value. */
	if (!c->over)
		memo_put(m, n, v);
	return v;
}

static struct expr_value eval_quant_once(struct eval_ctx *c, const struct expr_node *n)
{
	struct expr_value list, el;
	struct iter it;
	json_int_t count = 0;
	bool result = n->u.quant.q == EXPR_Q_ALL;

	switch (n->u.quant.src) {
	case EXPR_QS_COMPONENTS:
		note_read(c, NULL, 0);
		list = model_list(c, "components");
		break;
	case EXPR_QS_FLOWS:
		list = flows_to_visit(c, n);
		break;
	default:
		list = eval(c, n->u.quant.list);
		break;
	}
	iter_init(&it, &list);
	while (iter_next(c, &it, &el)) {
		struct expr_value cond;
		bool t;

		c->vars[n->u.quant.slot] = el;
		cond = eval(c, n->u.quant.cond);
		t = truthy(&cond);
		if (n->u.quant.q == EXPR_Q_COUNT) {
			count += t;
		} else if (n->u.quant.q == EXPR_Q_ANY && t) {
			result = true;
			break;
		} else if (n->u.quant.q == EXPR_Q_ALL && !t) {
			result = false;
			break;
		}
	}
	if (n->u.quant.q == EXPR_Q_COUNT) {
		struct expr_value v = {.kind = EXPR_V_INT, .u.i = count};
		return v;
	}
	return bool_value(result);
}

/* model.component(id): the component whose "id" equals id, or null. */
static struct expr_value eval_lookup(struct eval_ctx *c, const struct expr_node *n)
{
	struct expr_value id = eval(c, n->u.operand), list = model_list(c, "components"), el;
	struct iter it;

	if (id.kind != EXPR_V_STRING)
		return null_value;
	note_read(c, id.u.s.p, id.u.s.n);
	if (c->env->index) {
		json_t *hit = json_object_getn(c->env->index->by_id, id.u.s.p, id.u.s.n);
		return hit ? from_json(hit, EXPR_FB_PROPERTIES) : null_value;
	}
	iter_init(&it, &list);
	while (iter_next(c, &it, &el)) {
		const json_t *other =
		    el.kind == EXPR_V_OBJECT ? json_object_get(el.u.j, "id") : NULL;
		if (json_is_string(other) && json_string_length(other) == id.u.s.n &&
		    memcmp(json_string_value(other), id.u.s.p, id.u.s.n) == 0)
			return el;
	}
	return null_value;
}

static struct expr_value eval_root(struct eval_ctx *c, enum expr_root root)
{
	const struct expr_env *env = c->env;

	switch (root) {
	case EXPR_ROOT_COMPONENT:
		return from_json(env->component, EXPR_FB_PROPERTIES);
	case EXPR_ROOT_FLOW:
		return from_json(env->flow, EXPR_FB_PROPERTIES);
	case EXPR_ROOT_SOURCE:
		return from_json(env->source, EXPR_FB_PROPERTIES);
	case EXPR_ROOT_DESTINATION:
		return from_json(env->destination, EXPR_FB_PROPERTIES);
	case EXPR_ROOT_MODEL:
		return from_json(env->model, EXPR_FB_PROJECT);
	}
	return null_value;
}

static struct expr_value eval(struct eval_ctx *c, const struct expr_node *n)
{
	struct expr_value v;

	if (!step(c))
		return null_value;
	switch (n->kind) {
	case EXPR_N_CONST:
	case EXPR_N_LIST:
		return n->u.value;
	case EXPR_N_ROOT:
		return eval_root(c, n->u.root);
	case EXPR_N_VAR:
		return c->vars[n->u.slot];
	case EXPR_N_MEMBER:
		v = eval(c, n->u.member.base);
		/* model.components, model.flows: a walk of all of them. */
		if (v.fallback == EXPR_FB_PROJECT &&
		    (key_is(n->u.member.key, n->u.member.key_len, "components") ||
		     key_is(n->u.member.key, n->u.member.key_len, "flows")))
			note_read(c, NULL, 0);
		return member(&v, n->u.member.key, n->u.member.key_len);
	case EXPR_N_NOT:
		v = eval(c, n->u.operand);
		return bool_value(!truthy(&v));
	case EXPR_N_AND:
	case EXPR_N_OR:
		/* Short-circuit: the first operand that decides the result ends the chain. */
		for (const struct expr_node *op = n->u.first; op; op = op->next) {
			v = eval(c, op);
			if (truthy(&v) == (n->kind == EXPR_N_OR))
				return bool_value(n->kind == EXPR_N_OR);
		}
		return bool_value(n->kind == EXPR_N_AND);
	case EXPR_N_CMP:
		return eval_cmp(c, n);
	case EXPR_N_QUANT:
		return eval_quant(c, n);
	case EXPR_N_LOOKUP:
		return eval_lookup(c, n);
	}
	return null_value;
}

int expr_eval_bool(const struct expr *e, const struct expr_env *env, bool *ret, struct ts_err *err)
{
	static const struct expr_env no_env;
	struct eval_ctx c = {.env = env ? env : &no_env};
	struct expr_value v;

	c.max_steps = c.env->max_steps ? c.env->max_steps : EXPR_DEFAULT_MAX_STEPS;
	v = eval(&c, e->root);
	if (c.over)
		return ts_err_set(err, TS_E_INVALID,
		                  "evaluation of '%.200s' exceeded its budget of %lu steps",
		                  e->source, c.max_steps);
	*ret = truthy(&v);
	return 0;
}

/* Calls cb for each memoised quantifier under n that is not inside another
 * one (the outer one's value covers it). */
static void closed_walk(struct eval_ctx *c, const struct expr_node *n,
                        void (*cb)(void *arg, long long value), void *arg)
{
	const struct expr_node *op;
	switch (n->kind) {
	case EXPR_N_QUANT:
		if (n->u.quant.closed) {
			struct expr_value v = eval_quant(c, n);
			cb(arg, v.kind == EXPR_V_INT ? (long long)v.u.i : v.kind == EXPR_V_BOOL && v.u.b);
			return;
		}
		if (n->u.quant.list)
			closed_walk(c, n->u.quant.list, cb, arg);
		closed_walk(c, n->u.quant.cond, cb, arg);
		return;
	case EXPR_N_MEMBER:
		closed_walk(c, n->u.member.base, cb, arg);
		return;
	case EXPR_N_NOT:
	case EXPR_N_LOOKUP:
		closed_walk(c, n->u.operand, cb, arg);
		return;
	case EXPR_N_AND:
	case EXPR_N_OR:
		for (op = n->u.first; op; op = op->next)
			closed_walk(c, op, cb, arg);
		return;
	case EXPR_N_CMP:
		closed_walk(c, n->u.cmp.l, cb, arg);
		closed_walk(c, n->u.cmp.r, cb, arg);
		return;
	default:
		return;
	}
}

int expr_closed_values(const struct expr *e, const struct expr_env *env,
                       void (*cb)(void *arg, long long value), void *arg, struct ts_err *err)
{
	struct eval_ctx c = {.env = env};
	c.max_steps = env->max_steps ? env->max_steps : EXPR_DEFAULT_MAX_STEPS;
	closed_walk(&c, e->root, cb, arg);
	if (c.over)
		return ts_err_set(err, TS_E_INVALID,
		                  "evaluation of '%.200s' exceeded its budget of %lu steps",
		                  e->source, c.max_steps);
	return 0;
}
