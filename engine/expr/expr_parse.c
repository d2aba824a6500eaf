/* SPDX-License-Identifier: Apache-2.0 */
/* Lexer and recursive-descent parser of the expression language (docs/expressions.md). */
#include "engine/expr/expr.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expr/expr_internal.h"

/* Nodes and decoded strings live in a few chunks, freed together by expr_free:
 * an error anywhere in the parse then needs no partial-tree cleanup. */
struct expr_chunk {
	struct expr_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

#define CHUNK_BYTES 4096

static void *arena_alloc(struct expr *e, size_t n)
{
	struct expr_chunk *c = e->chunks;
	void *p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
		c = ts_malloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = e->chunks;
		e->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

enum tok_kind {
	T_END,
	T_IDENT,
	T_STRING,
	T_INT,
	T_REAL,
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_DOT,
	T_COMMA,
	T_NOT,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_AND,
	T_OR,
};

struct token {
	enum tok_kind kind;
	size_t pos; /* byte offset in the source */
	size_t len; /* bytes of source text, quotes included */
	json_int_t i;
	double r;
};

struct parser {
	const char *src;
	size_t len;
	size_t pos; /* where the lexer continues */
	struct token tok;
	struct expr *e;
	struct ts_err *err;
	int depth;
	int nvars;
	struct token vars[EXPR_MAX_VARS]; /* names bound by enclosing quantifiers */
};

static const char *const root_names[] = {
    [EXPR_ROOT_COMPONENT] = "component", [EXPR_ROOT_FLOW] = "flow",
    [EXPR_ROOT_SOURCE] = "source",       [EXPR_ROOT_DESTINATION] = "destination",
    [EXPR_ROOT_MODEL] = "model",
};

static const unsigned root_uses[] = {
    [EXPR_ROOT_COMPONENT] = EXPR_USES_COMPONENT, [EXPR_ROOT_FLOW] = EXPR_USES_FLOW,
    [EXPR_ROOT_SOURCE] = EXPR_USES_SOURCE,       [EXPR_ROOT_DESTINATION] = EXPR_USES_DESTINATION,
    [EXPR_ROOT_MODEL] = EXPR_USES_MODEL,
};

/* Sets err to "column N: ..." (N 1-based) and returns NULL for the callers' convenience. */
__attribute__((format(printf, 3, 4))) static struct expr_node *fail(struct parser *p, size_t pos,
                                                                    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ts_err_set(p->err, TS_E_INVALID, "column %zu: %s", pos + 1, msg);
	return NULL;
}

/* The current token quoted for a message ("end of input" at the end), into buf. */
static const char *describe(const struct parser *p, char buf[48])
{
	const struct token *t = &p->tok;

	if (t->kind == T_END)
		return "end of input";
	if (t->len > 32)
		snprintf(buf, 48, "'%.32s...'", p->src + t->pos);
	else
		snprintf(buf, 48, "'%.*s'", (int)t->len, p->src + t->pos);
	return buf;
}

static bool tok_is(const struct parser *p, const struct token *t, const char *word)
{
	size_t n = strlen(word);
	return t->kind == T_IDENT && t->len == n && memcmp(p->src + t->pos, word, n) == 0;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool lex_string(struct parser *p)
{
	const char *s = p->src;
	char quote = s[p->pos];
	size_t i = p->pos + 1;

	while (i < p->len && s[i] != quote) {
		if (s[i] == '\\') {
			char c = i + 1 < p->len ? s[i + 1] : '\0';
			if (c != '"' && c != '\'' && c != '\\' && c != 'n' && c != 't') {
				if (c == '\0')
					break;
				fail(p, i,
				     "unknown escape '\\%c' in string (use \\\" \\' \\\\ \\n or "
				     "\\t)",
				     c);
				return false;
			}
			i++;
		}
		i++;
	}
	if (i >= p->len) {
		fail(p, p->pos, "unterminated string");
		return false;
	}
	p->tok.kind = T_STRING;
	p->tok.len = i + 1 - p->pos;
	return true;
}

static bool lex_number(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;
	char *end;
	bool real = false;

	if (s[i] == '-')
		i++;
	while (is_digit(s[i]))
		i++;
	if (s[i] == '.' && is_digit(s[i + 1])) {
		real = true;
		i++;
		while (is_digit(s[i]))
			i++;
	}
	errno = 0;
	if (real) {
		p->tok.kind = T_REAL;
		p->tok.r = strtod(s + p->pos, &end);
	} else {
		p->tok.kind = T_INT;
		p->tok.i = strtoll(s + p->pos, &end, 10);
	}
	if (errno == ERANGE || end != s + i) {
		fail(p, p->pos, "number '%.*s' %s", (int)(i - p->pos), s + p->pos,
		     errno == ERANGE ? "out of range" : "not understood");
		return false;
	}
	p->tok.len = i - p->pos;
	return true;
}

static bool lex_operator(struct parser *p)
{
	static const struct {
		const char *text;
		enum tok_kind kind;
	} ops[] = {
	    /* two-byte operators before their one-byte prefixes */
	    {"==", T_EQ}, {"!=", T_NE},    {"<=", T_LE},    {">=", T_GE},    {"&&", T_AND},
	    {"||", T_OR}, {"(", T_LPAREN}, {")", T_RPAREN}, {"[", T_LBRACK}, {"]", T_RBRACK},
	    {".", T_DOT}, {",", T_COMMA},  {"!", T_NOT},    {"<", T_LT},     {">", T_GT},
	};
	const char *s = p->src + p->pos;
	unsigned char c = (unsigned char)*s;

	for (size_t k = 0; k < TS_ARRAY_SIZE(ops); k++) {
		size_t n = strlen(ops[k].text);
		if (strncmp(s, ops[k].text, n) == 0) {
			p->tok.kind = ops[k].kind;
			p->tok.len = n;
			return true;
		}
	}
	if (c == '=')
		fail(p, p->pos, "unexpected '=' (use '==' to compare)");
	else if (c == '&')
		fail(p, p->pos, "unexpected '&' (use '&&')");
	else if (c == '|')
		fail(p, p->pos, "unexpected '|' (use '||')");
	else if (c > 0x20 && c < 0x7f)
		fail(p, p->pos, "unexpected character '%c'", c);
	else
		fail(p, p->pos, "unexpected byte 0x%02x", c);
	return false;
}

/* Moves to the next token. Returns false with err set on a lexical error. */
static bool next(struct parser *p)
{
	const char *s = p->src;

	while (p->pos < p->len &&
	       (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r'))
		p->pos++;
	p->tok.pos = p->pos;
	p->tok.len = 0;
	if (p->pos >= p->len) {
		p->tok.kind = T_END;
		return true;
	}
	if (s[p->pos] == '"' || s[p->pos] == '\'') {
		if (!lex_string(p))
			return false;
	} else if (is_digit(s[p->pos]) || (s[p->pos] == '-' && is_digit(s[p->pos + 1]))) {
		if (!lex_number(p))
			return false;
	} else if (is_ident_start(s[p->pos])) {
		size_t i = p->pos + 1;
		while (is_ident_start(s[i]) || is_digit(s[i]))
			i++;
		p->tok.kind = T_IDENT;
		p->tok.len = i - p->pos;
	} else if (!lex_operator(p)) {
		return false;
	}
	p->pos += p->tok.len;
	return true;
}

/* The kind of the token after the current one, without consuming anything; T_END
 * when that token does not lex (the error is reported when the parser gets there). */
static enum tok_kind peek(struct parser *p)
{
	struct token saved = p->tok;
	size_t pos = p->pos;
	struct ts_err *err = p->err;
	enum tok_kind k;

	p->err = NULL;
	k = next(p) ? p->tok.kind : T_END;
	p->err = err;
	p->tok = saved;
	p->pos = pos;
	return k;
}

static struct expr_node *new_node(struct parser *p, enum expr_node_kind kind, size_t pos)
{
	struct expr_node *n = arena_alloc(p->e, sizeof(*n));
	n->kind = kind;
	n->col = (int)pos + 1;
	return n;
}

/* Decodes the current string token into a new NUL-terminated arena string. */
static const char *decode_string(struct parser *p, size_t *ret_len)
{
	const char *s = p->src + p->tok.pos + 1;
	size_t raw = p->tok.len - 2, n = 0;
	char *out = arena_alloc(p->e, raw + 1);

	for (size_t i = 0; i < raw; i++) {
		char c = s[i];
		if (c == '\\') {
			c = s[++i];
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
		}
		out[n++] = c;
	}
	out[n] = '\0';
	*ret_len = n;
	return out;
}

/* A literal token (string, number, true, false, null) as a constant node, or NULL
 * (without error) when the current token is none of those. */
static struct expr_node *literal(struct parser *p)
{
	struct expr_node *n;
	struct expr_value *v;

	switch (p->tok.kind) {
	case T_STRING:
	case T_INT:
	case T_REAL:
		break;
	case T_IDENT:
		if (tok_is(p, &p->tok, "true") || tok_is(p, &p->tok, "false") ||
		    tok_is(p, &p->tok, "null"))
			break;
		return NULL;
	default:
		return NULL;
	}
	n = new_node(p, EXPR_N_CONST, p->tok.pos);
	v = &n->u.value;
	if (p->tok.kind == T_STRING) {
		v->kind = EXPR_V_STRING;
		v->u.s.p = decode_string(p, &v->u.s.n);
	} else if (p->tok.kind == T_INT) {
		v->kind = EXPR_V_INT;
		v->u.i = p->tok.i;
	} else if (p->tok.kind == T_REAL) {
		v->kind = EXPR_V_REAL;
		v->u.r = p->tok.r;
	} else if (tok_is(p, &p->tok, "null")) {
		v->kind = EXPR_V_NULL;
	} else {
		v->kind = EXPR_V_BOOL;
		v->u.b = tok_is(p, &p->tok, "true");
	}
	return n;
}

static bool enter(struct parser *p)
{
	if (++p->depth > EXPR_MAX_DEPTH) {
		fail(p, p->tok.pos, "expression nested too deeply (at most %d levels)",
		     EXPR_MAX_DEPTH);
		return false;
	}
	return true;
}

static struct expr_node *parse_or(struct parser *p);

static bool expect_close(struct parser *p, size_t open_pos)
{
	char buf[48];

	if (p->tok.kind != T_RPAREN) {
		fail(p, p->tok.pos, "expected ')' to close '(' at column %zu, found %s",
		     open_pos + 1, describe(p, buf));
		return false;
	}
	return next(p);
}

static struct expr_node *parse_list(struct parser *p)
{
	struct expr_node *n = new_node(p, EXPR_N_LIST, p->tok.pos), *tail = NULL;
	size_t open = p->tok.pos;
	char buf[48];

	n->u.value.kind = EXPR_V_LIST;
	if (!enter(p) || !next(p))
		return NULL;
	if (p->tok.kind != T_RBRACK) {
		for (;;) {
			struct expr_node *el = literal(p);
			if (!el)
				return fail(p, p->tok.pos,
				            "list elements must be literals (strings, numbers, "
				            "true, false or null), found %s",
				            describe(p, buf));
			if (tail)
				tail->next = el;
			else
				n->u.value.u.list = el;
			tail = el;
			if (!next(p))
				return NULL;
			if (p->tok.kind == T_RBRACK)
				break;
			if (p->tok.kind != T_COMMA)
				return fail(p, p->tok.pos,
				            "expected ',' or ']' in the list opened at column %zu, "
				            "found %s",
				            open + 1, describe(p, buf));
			if (!next(p))
				return NULL;
		}
	}
	p->depth--;
	return next(p) ? n : NULL;
}

static struct expr_node *parse_name(struct parser *p)
{
	struct expr_node *n;
	char buf[48];

	for (int slot = p->nvars - 1; slot >= 0; slot--) {
		const struct token *v = &p->vars[slot];
		if (v->len == p->tok.len &&
		    memcmp(p->src + v->pos, p->src + p->tok.pos, v->len) == 0) {
			n = new_node(p, EXPR_N_VAR, p->tok.pos);
			n->u.slot = slot;
			return next(p) ? n : NULL;
		}
	}
	for (size_t r = 0; r < TS_ARRAY_SIZE(root_names); r++) {
		if (tok_is(p, &p->tok, root_names[r])) {
			n = new_node(p, EXPR_N_ROOT, p->tok.pos);
			n->u.root = (enum expr_root)r;
			p->e->uses |= root_uses[r];
			return next(p) ? n : NULL;
		}
	}
	if (tok_is(p, &p->tok, "in"))
		return fail(p, p->tok.pos, "expected a value, found %s", describe(p, buf));
	return fail(p, p->tok.pos,
	            "unknown name '%.*s' (expected component, flow, source, destination, model "
	            "or a bound variable)",
	            (int)p->tok.len, p->src + p->tok.pos);
}

static struct expr_node *parse_primary(struct parser *p)
{
	struct expr_node *n;
	char buf[48];

	n = literal(p);
	if (n)
		return next(p) ? n : NULL;
	switch (p->tok.kind) {
	case T_LBRACK:
		return parse_list(p);
	case T_LPAREN: {
		size_t open = p->tok.pos;
		if (!enter(p) || !next(p))
			return NULL;
		n = parse_or(p);
		if (!n || !expect_close(p, open))
			return NULL;
		p->depth--;
		return n;
	}
	case T_IDENT:
		return parse_name(p);
	default:
		return fail(p, p->tok.pos, "expected a value, found %s", describe(p, buf));
	}
}

/* The quantifier's "NAME ," prefix: binds NAME to the next slot. */
static bool bind_variable(struct parser *p, const struct token *fn)
{
	const struct token *t = &p->tok;
	int len = (int)t->len;
	const char *name = p->src + t->pos;

	if (t->kind != T_IDENT || peek(p) != T_COMMA) {
		fail(p, t->pos, "'%.*s' needs a variable: %.*s(NAME, CONDITION)", (int)fn->len,
		     p->src + fn->pos, (int)fn->len, p->src + fn->pos);
		return false;
	}
	if (tok_is(p, t, "true") || tok_is(p, t, "false") || tok_is(p, t, "null") ||
	    tok_is(p, t, "in")) {
		fail(p, t->pos, "'%.*s' is a reserved word and cannot name a variable", len, name);
		return false;
	}
	for (size_t r = 0; r < TS_ARRAY_SIZE(root_names); r++) {
		if (tok_is(p, t, root_names[r])) {
			fail(p, t->pos, "'%.*s' cannot name a variable", len, name);
			return false;
		}
	}
	for (int slot = 0; slot < p->nvars; slot++) {
		const struct token *v = &p->vars[slot];
		if (v->len == t->len && memcmp(p->src + v->pos, name, t->len) == 0) {
			fail(p, t->pos, "variable '%.*s' is already bound", len, name);
			return false;
		}
	}
	if (p->nvars >= EXPR_MAX_VARS) {
		fail(p, t->pos, "too many nested quantifiers (at most %d variables)",
		     EXPR_MAX_VARS);
		return false;
	}
	p->vars[p->nvars++] = *t;
	return next(p) && next(p); /* the name and the comma */
}

/* Whether n reads no root but the model and no variable bound outside the
 * quantifier of slot (slots are numbered outwards in: an enclosing
 * quantifier's variable has a lower slot). */
static bool closed_below(const struct expr_node *n, int slot)
{
	const struct expr_node *op;
	switch (n->kind) {
	case EXPR_N_ROOT:
		return n->u.root == EXPR_ROOT_MODEL;
	case EXPR_N_VAR:
		return n->u.slot >= slot;
	case EXPR_N_MEMBER:
		return closed_below(n->u.member.base, slot);
	case EXPR_N_NOT:
	case EXPR_N_LOOKUP:
		return closed_below(n->u.operand, slot);
	case EXPR_N_AND:
	case EXPR_N_OR:
		for (op = n->u.first; op; op = op->next)
			if (!closed_below(op, slot))
				return false;
		return true;
	case EXPR_N_CMP:
		return closed_below(n->u.cmp.l, slot) && closed_below(n->u.cmp.r, slot);
	case EXPR_N_QUANT:
		return (!n->u.quant.list || closed_below(n->u.quant.list, slot)) &&
		       closed_below(n->u.quant.cond, slot);
	case EXPR_N_CONST:
	case EXPR_N_LIST:
		return true;
	}
	return false;
}

/* RECV.NAME( ... ): the current token is '('. */
static struct expr_node *parse_call(struct parser *p, struct expr_node *recv,
                                    const struct token *fn)
{
	static const struct {
		const char *name;
		bool model_only;
		enum expr_quant q;
		enum expr_quant_source src;
	} quants[] = {
	    {"any", false, EXPR_Q_ANY, EXPR_QS_COMPONENTS},
	    {"all", false, EXPR_Q_ALL, EXPR_QS_COMPONENTS},
	    {"count", false, EXPR_Q_COUNT, EXPR_QS_COMPONENTS},
	    {"any_flow", true, EXPR_Q_ANY, EXPR_QS_FLOWS},
	    {"all_flow", true, EXPR_Q_ALL, EXPR_QS_FLOWS},
	    {"count_flow", true, EXPR_Q_COUNT, EXPR_QS_FLOWS},
	};
	bool on_model = recv->kind == EXPR_N_ROOT && recv->u.root == EXPR_ROOT_MODEL;
	size_t open = p->tok.pos;
	struct expr_node *n = NULL;

	if (on_model && tok_is(p, fn, "component")) {
		n = new_node(p, EXPR_N_LOOKUP, fn->pos);
		if (!enter(p) || !next(p))
			return NULL;
		n->u.operand = parse_or(p);
		if (!n->u.operand || !expect_close(p, open))
			return NULL;
		p->depth--;
		return n;
	}
	for (size_t k = 0; k < TS_ARRAY_SIZE(quants) && !n; k++) {
		if (tok_is(p, fn, quants[k].name) && (on_model || !quants[k].model_only)) {
			n = new_node(p, EXPR_N_QUANT, fn->pos);
			n->u.quant.q = quants[k].q;
			n->u.quant.src = on_model ? quants[k].src : EXPR_QS_LIST;
			n->u.quant.list = on_model ? NULL : recv;
		}
	}
	if (!n)
		return fail(p, fn->pos, "unknown function '%.*s' (%s)", (int)fn->len,
		            p->src + fn->pos,
		            on_model ? "model has any, all, count, any_flow, all_flow, count_flow "
		                       "and component"
		                     : "lists have any, all and count");
	if (!enter(p) || !next(p) || !bind_variable(p, fn))
		return NULL;
	n->u.quant.slot = p->nvars - 1;
	n->u.quant.cond = parse_or(p);
	if (!n->u.quant.cond)
		return NULL;
	n->u.quant.closed =
	    n->u.quant.src != EXPR_QS_LIST && closed_below(n->u.quant.cond, n->u.quant.slot);
	p->nvars--;
	if (!expect_close(p, open))
		return NULL;
	p->depth--;
	return n;
}

static struct expr_node *parse_postfix(struct parser *p)
{
	struct expr_node *n = parse_primary(p);
	char buf[48];

	while (n && (p->tok.kind == T_DOT || p->tok.kind == T_LBRACK)) {
		struct expr_node *m;
		char *key;

		if (p->tok.kind == T_DOT) {
			struct token name;
			if (!next(p))
				return NULL;
			if (p->tok.kind != T_IDENT)
				return fail(p, p->tok.pos, "expected a name after '.', found %s",
				            describe(p, buf));
			name = p->tok;
			if (!next(p))
				return NULL;
			if (p->tok.kind == T_LPAREN) {
				n = parse_call(p, n, &name);
				continue;
			}
			key = arena_alloc(p->e, name.len + 1);
			memcpy(key, p->src + name.pos, name.len);
			m = new_node(p, EXPR_N_MEMBER, name.pos);
			m->u.member.key = key;
			m->u.member.key_len = name.len;
		} else {
			size_t open = p->tok.pos;
			if (!next(p))
				return NULL;
			if (p->tok.kind != T_STRING)
				return fail(p, p->tok.pos,
				            "expected a string key inside [ ], found %s",
				            describe(p, buf));
			m = new_node(p, EXPR_N_MEMBER, p->tok.pos);
			m->u.member.key = decode_string(p, &m->u.member.key_len);
			if (!next(p))
				return NULL;
			if (p->tok.kind != T_RBRACK)
				return fail(p, p->tok.pos,
				            "expected ']' to close '[' at column %zu, found %s",
				            open + 1, describe(p, buf));
			if (!next(p))
				return NULL;
		}
		m->u.member.base = n;
		n = m;
	}
	return n;
}

static struct expr_node *parse_unary(struct parser *p)
{
	struct expr_node *n;

	if (p->tok.kind != T_NOT)
		return parse_postfix(p);
	n = new_node(p, EXPR_N_NOT, p->tok.pos);
	if (!enter(p) || !next(p))
		return NULL;
	n->u.operand = parse_unary(p);
	if (!n->u.operand)
		return NULL;
	p->depth--;
	return n;
}

static bool comparison(const struct parser *p, enum expr_cmp *ret_op)
{
	switch (p->tok.kind) {
	case T_EQ:
		*ret_op = EXPR_OP_EQ;
		return true;
	case T_NE:
		*ret_op = EXPR_OP_NE;
		return true;
	case T_LT:
		*ret_op = EXPR_OP_LT;
		return true;
	case T_LE:
		*ret_op = EXPR_OP_LE;
		return true;
	case T_GT:
		*ret_op = EXPR_OP_GT;
		return true;
	case T_GE:
		*ret_op = EXPR_OP_GE;
		return true;
	default:
		*ret_op = EXPR_OP_IN;
		return tok_is(p, &p->tok, "in");
	}
}

/* Comparisons do not chain: "a == b == c" is an error rather than a surprise. */
static struct expr_node *parse_cmp(struct parser *p)
{
	struct expr_node *l = parse_unary(p), *n;
	enum expr_cmp op;

	if (!l || !comparison(p, &op))
		return l;
	n = new_node(p, EXPR_N_CMP, p->tok.pos);
	n->u.cmp.op = op;
	n->u.cmp.l = l;
	if (!next(p))
		return NULL;
	n->u.cmp.r = parse_unary(p);
	if (!n->u.cmp.r)
		return NULL;
	if (comparison(p, &op))
		return fail(p, p->tok.pos, "comparisons cannot be chained; use parentheses");
	return n;
}

/* One level of && or ||: an n-ary node, so long chains do not deepen the tree. */
static struct expr_node *parse_chain(struct parser *p, enum tok_kind op, enum expr_node_kind kind,
                                     struct expr_node *(*operand)(struct parser *))
{
	struct expr_node *first = operand(p), *n, *tail;

	if (!first || p->tok.kind != op)
		return first;
	n = new_node(p, kind, p->tok.pos);
	n->u.first = tail = first;
	while (p->tok.kind == op) {
		if (!next(p))
			return NULL;
		tail->next = operand(p);
		if (!tail->next)
			return NULL;
		tail = tail->next;
	}
	return n;
}

static struct expr_node *parse_and(struct parser *p)
{
	return parse_chain(p, T_AND, EXPR_N_AND, parse_cmp);
}

static struct expr_node *parse_or(struct parser *p)
{
	return parse_chain(p, T_OR, EXPR_N_OR, parse_and);
}

int expr_parse(const char *src, struct expr **ret_expr, struct ts_err *err)
{
	struct parser p = {.src = src, .err = err};
	struct expr *e;
	char buf[48];

	assert(src && ret_expr);
	p.len = strlen(src);
	if (p.len > EXPR_MAX_SOURCE)
		return ts_err_set(err, TS_E_INVALID, "column %d: expression longer than %d bytes",
		                  EXPR_MAX_SOURCE + 1, EXPR_MAX_SOURCE);
	e = ts_calloc(1, sizeof(*e));
	p.e = e;
	if (next(&p))
		e->root = parse_or(&p);
	if (e->root && p.tok.kind != T_END) {
		fail(&p, p.tok.pos, "unexpected %s after the end of the expression",
		     describe(&p, buf));
		e->root = NULL;
	}
	if (!e->root) {
		expr_free(e);
		return TS_E_INVALID;
	}
	e->source = ts_strdup(src);
	*ret_expr = e;
	return 0;
}

void expr_free(struct expr *e)
{
	struct expr_chunk *c, *nc;

	if (!e)
		return;
	for (c = e->chunks; c; c = nc) {
		nc = c->next;
		free(c);
	}
	free(e->source);
	free(e);
}

const char *expr_source(const struct expr *e)
{
	return e->source;
}

unsigned expr_uses(const struct expr *e)
{
	return e->uses;
}
