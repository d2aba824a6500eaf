/* SPDX-License-Identifier: Apache-2.0 */
/* The one expression language of classification rules, threat conditions and satisfied_by rules. */
#ifndef TS_ENGINE_EXPR_H
#define TS_ENGINE_EXPR_H

#include <stdbool.h>
#include <jansson.h>

#include "engine/util.h"

/* Limits of the language (docs/expressions.md). */
#define EXPR_MAX_SOURCE 4096 /* bytes of source text */
#define EXPR_MAX_DEPTH 64    /* nesting of parentheses, '!', calls and list literals */
#define EXPR_MAX_VARS 8      /* quantifier variables bound at the same time */
/* Evaluation steps (nodes evaluated plus list elements visited) one call may take
 * before it stops with an error: quantifiers nested over large models terminate,
 * but could otherwise take practically forever. */
#define EXPR_DEFAULT_MAX_STEPS 100000000UL

/* Root names an expression uses (expr_uses). */
#define EXPR_USES_COMPONENT (1u << 0)
#define EXPR_USES_FLOW (1u << 1)
#define EXPR_USES_SOURCE (1u << 2)
#define EXPR_USES_DESTINATION (1u << 3)
#define EXPR_USES_MODEL (1u << 4)

/* A parsed expression: immutable after parsing, so one tree may be evaluated by
 * several threads at once. Owned by whoever called expr_parse. */
struct expr;

/* Parses src (NUL-terminated, at most EXPR_MAX_SOURCE bytes). On success returns 0
 * and *ret_expr is new (free with expr_free). On a syntax error returns TS_E_INVALID,
 * leaves *ret_expr untouched, and err->msg is "column N: message" (N is the 1-based
 * byte column of the offending token), err->code TS_E_INVALID. Callers prefix the
 * place the text came from (config line, library file and JSON path). */
int expr_parse(const char *src, struct expr **ret_expr, struct ts_err *err);

void expr_free(struct expr *e); /* NULL ok */

/* The text that was parsed. Borrowed: valid as long as e. */
const char *expr_source(const struct expr *e);

/* An optional index of a model for fast evaluation: model.component(id) by
 * hash instead of a scan, and model.any_flow/count_flow whose condition
 * requires `f.source == component.id` or `f.destination == component.id`
 * visit only the flows of that component. Results are identical with or
 * without it. Built once per model (allocates); evaluation with it allocates
 * nothing. The model must outlive the index and not change meanwhile. */
struct expr_index;
struct expr_index *expr_index_new(json_t *model);
void expr_index_free(struct expr_index *ix); /* NULL ok */
/* The component with that id, borrowed from the model; NULL when absent. */
json_t *expr_index_component(const struct expr_index *ix, const char *id);
/* The flows whose source or destination is that component (each once), a
 * borrowed array; NULL when the component has none or is unknown. */
json_t *expr_index_flows_of(const struct expr_index *ix, const char *id);

/* A memo of the quantifiers over the whole model whose condition reads only
 * their own variables and the model (`model.any(c, c.type == "waf")`): their
 * value is the same wherever the expression is evaluated, so with a memo in
 * the environment each is evaluated once per model instead of once per
 * component. Valid for one model: the model must not change while it is in
 * use. Owned by the caller; inserting a value may allocate. */
struct expr_memo;
struct expr_memo *expr_memo_new(void);
void expr_memo_free(struct expr_memo *m); /* NULL ok */

/* What an evaluation read of the model beyond the roots it was given, for
 * callers that re-evaluate only what a change can affect: read(arg, id, len)
 * for each component looked up by id (model.component(id)) or whose flows were
 * visited (an any_flow/count_flow anchored to it), and read(arg, NULL, 0) when
 * it walked all components or flows (then any change may change the result).
 * A quantifier answered from the memo reports nothing: its value is the
 * caller's to track (expr_closed_values). */
struct expr_deps {
	void (*read)(void *arg, const char *id, size_t len);
	void *arg;
};

/* What the root names refer to. All pointers borrowed; any may be NULL, then the
 * root is null. component/flow/source/destination are objects of the native model
 * format; model is the whole model document. */
struct expr_env {
	json_t *component;
	json_t *flow;
	json_t *source;      /* the component a flow starts at */
	json_t *destination; /* the component a flow ends at */
	json_t *model;
	unsigned long max_steps;        /* 0: EXPR_DEFAULT_MAX_STEPS */
	const struct expr_index *index; /* of model, or NULL */
	struct expr_memo *memo;         /* of model, or NULL */
	const struct expr_deps *deps;   /* or NULL */
};

/* Evaluates e against env (NULL: every root is null) and stores its truthiness in
 * *ret. Allocates nothing and does not modify the JSON values. Returns 0, or TS_E_INVALID
 * with err (TS_E_INVALID) set when the evaluation exceeded its step budget
 * (env->max_steps); every other combination of values has a defined result. */
int expr_eval_bool(const struct expr *e, const struct expr_env *env, bool *ret, struct ts_err *err);

/* Evaluates every quantifier of e that the memo answers (see struct
 * expr_memo; env->memo must be set) and calls cb with each value (a count, or
 * 0/1), in source order: together they are what e's results depend on beyond
 * the elements read (struct expr_deps). Returns 0 or TS_E_INVALID as
 * expr_eval_bool. */
int expr_closed_values(const struct expr *e, const struct expr_env *env,
                       void (*cb)(void *arg, long long value), void *arg, struct ts_err *err);

/* Bit set of EXPR_USES_* for the roots e names (directly or through model.any(...)
 * and the other model functions), e.g. to reject `flow` in a component condition. */
unsigned expr_uses(const struct expr *e);

/* What an expression reads of a model, for checking it against a declared
 * vocabulary (library/component_types.json "properties" and "tags"). */
enum expr_ref_kind {
	EXPR_REF_PROPERTY, /* a property: component.llm, f.data, model.compliance */
	EXPR_REF_TAG,      /* a string tested against tags: "saas" in component.tags */
	EXPR_REF_VALUE,    /* a string a property is compared with: f.protocol == "ldap" */
};

/* Where a property lives. */
enum expr_ref_scope {
	EXPR_SCOPE_COMPONENT,
	EXPR_SCOPE_FLOW,
	EXPR_SCOPE_PROJECT, /* model.NAME falling back to model.project.NAME */
	EXPR_SCOPE_ASSET,   /* a data asset's properties.NAME */
};

/* One reference. name (len bytes, not necessarily NUL-terminated) is the
 * property, the tag or the value; for EXPR_REF_VALUE, property names the
 * property compared. Every pointer is borrowed from the expression. */
struct expr_ref {
	enum expr_ref_kind kind;
	enum expr_ref_scope scope; /* of the property (PROPERTY and VALUE) */
	const char *name;
	size_t len;
	const char *property; /* VALUE only, NUL-terminated */
	int col;              /* 1-based column of the token */
};

/* Calls cb for every property, tag and compared value e reads, in source
 * order; the same name may come several times. What a member access reaches
 * is decided from the tree alone: the roots and the variables of model.any
 * and the _flow quantifiers are components and flows, a component's or flow's
 * own fields (id, type, name, tags, protocol, ...) are not properties, any
 * other member of them is one. Allocates nothing. */
void expr_refs(const struct expr *e, void (*cb)(const struct expr_ref *ref, void *arg), void *arg);

#endif
