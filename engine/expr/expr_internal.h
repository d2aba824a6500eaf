/* SPDX-License-Identifier: Apache-2.0 */
/* Tree and value types shared by the expression parser and evaluator (not a public API). */
#ifndef TS_ENGINE_EXPR_INTERNAL_H
#define TS_ENGINE_EXPR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "engine/expr/expr.h"

/* How member access on an object falls back when the key is missing. */
enum expr_fallback {
	EXPR_FB_NONE,
	EXPR_FB_PROPERTIES, /* a component or flow: then look in its "properties" */
	EXPR_FB_PROJECT,    /* the model: then look in its "project" */
	EXPR_FB_ELEMENTS,   /* an array of components or flows: its elements get PROPERTIES */
};

enum expr_kind {
	EXPR_V_NULL,
	EXPR_V_BOOL,
	EXPR_V_INT,
	EXPR_V_REAL,
	EXPR_V_STRING,
	EXPR_V_ARRAY,  /* a JSON array */
	EXPR_V_OBJECT, /* a JSON object */
	EXPR_V_LIST,   /* a list literal of the expression */
};

struct expr_node;

/* A value during evaluation: small, on the C stack, never owning anything. */
struct expr_value {
	enum expr_kind kind;
	enum expr_fallback fallback;
	union {
		bool b;
		json_int_t i;
		double r;
		struct {
			const char *p; /* not necessarily NUL-terminated */
			size_t n;
		} s;
		const json_t *j;              /* ARRAY, OBJECT */
		const struct expr_node *list; /* LIST: the first element, chained by next */
	} u;
};

enum expr_node_kind {
	EXPR_N_CONST,  /* u.value */
	EXPR_N_LIST,   /* u.value (kind LIST) */
	EXPR_N_ROOT,   /* u.root: an EXPR_ROOT_* */
	EXPR_N_VAR,    /* u.slot */
	EXPR_N_MEMBER, /* u.member: base.key */
	EXPR_N_NOT,    /* u.operand */
	EXPR_N_AND,    /* u.first: operands chained by next */
	EXPR_N_OR,     /* u.first */
	EXPR_N_CMP,    /* u.cmp */
	EXPR_N_QUANT,  /* u.quant */
	EXPR_N_LOOKUP, /* u.operand: model.component(operand) */
};

enum expr_root {
	EXPR_ROOT_COMPONENT,
	EXPR_ROOT_FLOW,
	EXPR_ROOT_SOURCE,
	EXPR_ROOT_DESTINATION,
	EXPR_ROOT_MODEL,
};

enum expr_cmp {
	EXPR_OP_EQ,
	EXPR_OP_NE,
	EXPR_OP_LT,
	EXPR_OP_LE,
	EXPR_OP_GT,
	EXPR_OP_GE,
	EXPR_OP_IN,
};

enum expr_quant {
	EXPR_Q_ANY,
	EXPR_Q_ALL,
	EXPR_Q_COUNT,
};

enum expr_quant_source {
	EXPR_QS_COMPONENTS, /* model.components */
	EXPR_QS_FLOWS,      /* model.flows */
	EXPR_QS_LIST,       /* whatever list u.quant.list evaluates to */
};

struct expr_node {
	enum expr_node_kind kind;
	int col;                /* 1-based column of the token that made the node */
	struct expr_node *next; /* next sibling in an operand or list chain */
	union {
		struct expr_value value;
		enum expr_root root;
		int slot;
		struct {
			const struct expr_node *base;
			const char *key; /* NUL-terminated, key_len bytes */
			size_t key_len;
		} member;
		const struct expr_node *operand;
		const struct expr_node *first;
		struct {
			enum expr_cmp op;
			const struct expr_node *l, *r;
		} cmp;
		struct {
			enum expr_quant q;
			enum expr_quant_source src;
			int slot;
			const struct expr_node *list; /* EXPR_QS_LIST only */
			const struct expr_node *cond;
			/* Over the model's components or flows, with a condition that
			 * reads nothing but its own variables and the model: the same
			 * value for every component and flow of one model. */
			bool closed;
		} quant;
	} u;
};

struct expr_chunk;

struct expr {
	char *source;
	const struct expr_node *root;
	unsigned uses;
	struct expr_chunk *chunks; /* every node and string of the tree */
};

#endif
