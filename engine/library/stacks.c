/* SPDX-License-Identifier: Apache-2.0 */
/* The technology stacks of the library (stacks.json): their validation, the
 * lookup by id or synonym, and which how-to blocks a component is shown. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine/library/library.h"
#include "engine/library/library_internal.h"

/* Longest belongs_to chain followed; stacks.json refuses cycles, this only
 * bounds the walk. */
#define STACK_DEPTH_MAX 16
/* Stacks of one component considered (its "stack" property and tags). */
#define COMPONENT_STACKS_MAX 64

static const char *const kind_names[] = {"language", "framework", "platform", "iac", "generic"};

bool lib_stack_shape(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		      strchr("_.+-", *s)))
			return false;
	return true;
}

/* Shape of one entry; fills s (borrowed strings) and returns whether it is valid.
 * belongs_to is resolved later, once every stack is known. */
static bool validate_stack(struct lib_vctx *v, struct lib_stack *s)
{
	static const char *const keys[] = {"id",         "name",     "kind",
	                                   "belongs_to", "synonyms", "component_types"};
	lib_v_keys(v, keys, TS_ARRAY_SIZE(keys));
	s->id = lib_v_str(v, "id", true);
	if (s->id && !lib_stack_shape(s->id))
		lib_verr(v, "id",
		         "must be a lower-case name ([a-z0-9][a-z0-9_.+-]*, at most 64 "
		         "characters)");
	s->name = lib_v_str(v, "name", true);
	if (s->name && strlen(s->name) > 80)
		lib_verr(v, "name", "must be at most 80 characters");
	int kind = lib_v_enum(v, "kind", kind_names, TS_ARRAY_SIZE(kind_names), true, 0);
	if (kind >= 0) {
		s->kind = (enum lib_stack_kind)kind;
		s->kind_name = kind_names[kind];
		bool is_generic = s->id && strcmp(s->id, "generic") == 0;
		if (is_generic != (s->kind == LIB_STACK_GENERIC))
			lib_verr(v, "kind",
			         is_generic ? "the stack \"generic\" must be of kind generic"
			                    : "only the stack \"generic\" is of kind generic");
	}
	json_t *b = json_object_get(v->obj, "belongs_to");
	if (b && (!json_is_string(b) || !lib_stack_shape(json_string_value(b))))
		lib_verr(v, "belongs_to", "must be the id of another stack");
	s->synonyms = lib_v_str_list(v, "synonyms", false, &s->n_synonyms);
	for (size_t i = 0; i < s->n_synonyms; i++)
		if (!lib_stack_shape(s->synonyms[i])) {
			char *p = lib_path_key(v->path, "synonyms");
			char *p2 = lib_path_index(p, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p2,
			             "\"%s\" must be a lower-case name ([a-z0-9][a-z0-9_.+-]*, at "
			             "most 64 characters)",
			             s->synonyms[i]);
			free(p2);
			free(p);
		}
	s->component_types = lib_v_str_list(v, "component_types", false, &s->n_component_types);
	for (size_t i = 0; i < s->n_component_types; i++)
		if (!library_component_type(v->lib, s->component_types[i])) {
			char *p = lib_path_key(v->path, "component_types");
			char *p2 = lib_path_index(p, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p2,
			             "unknown component type \"%s\"", s->component_types[i]);
			free(p2);
			free(p);
		}
	return lib_vok(v);
}

/* Adds name -> index to the index, or reports the clash. */
static void index_name(struct library *lib, struct lib_diag *d, size_t i, const char *name,
                       const char *what)
{
	json_t *prev = json_object_get(lib->stack_names, name);
	if (prev) {
		const struct lib_stack *o = &lib->stacks[json_integer_value(prev)];
		char *p = lib_path_key(lib->stacks[i].path, what);
		lib_diag_add(d, false, TS_E_INVALID, lib->stacks[i].file, p,
		             "\"%s\" already names the stack \"%s\" (%s at %s)", name, o->id,
		             o->file ? o->file : "built in", o->path ? o->path : "$");
		free(p);
		return;
	}
	json_object_set_new(lib->stack_names, name, json_integer((json_int_t)i));
}

/* Resolves belongs_to of stack i and refuses a chain that comes back to it. */
static void resolve_belongs_to(struct library *lib, struct lib_diag *d, size_t i,
                               const struct lib_entry_ref *ref)
{
	struct lib_stack *s = &lib->stacks[i];
	const char *b = json_string_value(json_object_get(ref->entry, "belongs_to"));
	if (!b)
		return;
	char *p = lib_path_key(s->path, "belongs_to");
	const struct lib_stack *t = library_stack(lib, b);
	if (!t)
		lib_diag_add(d, false, TS_E_INVALID, s->file, p, "unknown stack \"%s\"", b);
	else if (t == s || t->kind == LIB_STACK_GENERIC)
		lib_diag_add(d, false, TS_E_INVALID, s->file, p,
		             "must name another stack than itself and generic");
	else
		s->belongs_to = t;
	free(p);
}

static bool has_cycle(const struct lib_stack *s)
{
	const struct lib_stack *x = s->belongs_to;
	for (size_t k = 0; x && k < STACK_DEPTH_MAX; k++, x = x->belongs_to)
		if (x == s)
			return true;
	return x != NULL; /* deeper than any sensible chain: treated as a cycle */
}

void lib_stacks_load(struct library *lib, struct lib_diag *d, const struct lib_entry_ref *v,
                     size_t n)
{
	lib->stacks = ts_calloc(n + 2, sizeof(*lib->stacks));
	lib->stack_names = json_object();
	const struct lib_entry_ref **refs = ts_calloc(n + 2, sizeof(*refs));
	bool have_generic = false;
	for (size_t i = 0; i < n; i++) {
		struct lib_vctx vc = {lib, d, v[i].file, v[i].path, v[i].entry, d->n_errors};
		struct lib_stack *s = &lib->stacks[lib->n_stacks];
		memset(s, 0, sizeof(*s));
		if (!validate_stack(&vc, s)) {
			free((void *)s->synonyms);
			free((void *)s->component_types);
			continue;
		}
		s->file = v[i].file;
		s->path = v[i].path;
		refs[lib->n_stacks++] = &v[i];
		have_generic = have_generic || s->kind == LIB_STACK_GENERIC;
	}
	if (!have_generic) {
		/* Advice for any stack is always a valid label, even in a library
		 * without stacks.json; kept in id order. */
		size_t at = 0;
		while (at < lib->n_stacks && strcmp(lib->stacks[at].id, "generic") < 0)
			at++;
		memmove(&lib->stacks[at + 1], &lib->stacks[at],
		        (lib->n_stacks - at) * sizeof(*lib->stacks));
		memmove(&refs[at + 1], &refs[at], (lib->n_stacks - at) * sizeof(*refs));
		lib->stacks[at] = (struct lib_stack){.id = "generic",
		                                     .name = "Any stack",
		                                     .kind = LIB_STACK_GENERIC,
		                                     .kind_name = "generic",
		                                     .synonyms = ts_calloc(1, sizeof(char *))};
		refs[at] = NULL;
		lib->n_stacks++;
	}
	for (size_t i = 0; i < lib->n_stacks; i++)
		index_name(lib, d, i, lib->stacks[i].id, "id");
	for (size_t i = 0; i < lib->n_stacks; i++)
		for (size_t k = 0; k < lib->stacks[i].n_synonyms; k++)
			index_name(lib, d, i, lib->stacks[i].synonyms[k], "synonyms");
	for (size_t i = 0; i < lib->n_stacks; i++)
		if (refs[i])
			resolve_belongs_to(lib, d, i, refs[i]);
	for (size_t i = 0; i < lib->n_stacks; i++) {
		if (!has_cycle(&lib->stacks[i]))
			continue;
		char *p = lib_path_key(lib->stacks[i].path, "belongs_to");
		lib_diag_add(d, false, TS_E_INVALID, lib->stacks[i].file, p,
		             "the chain of broader stacks comes back to \"%s\"", lib->stacks[i].id);
		free(p);
	}
	/* Cut every cycle only after all are reported, so walks always end. */
	for (size_t i = 0; i < lib->n_stacks; i++)
		if (has_cycle(&lib->stacks[i]))
			lib->stacks[i].belongs_to = NULL;
	free(refs);
}

void lib_stacks_free(struct library *lib)
{
	for (size_t i = 0; i < lib->n_stacks; i++) {
		free((void *)lib->stacks[i].synonyms);
		free((void *)lib->stacks[i].component_types);
	}
	free(lib->stacks);
	json_decref(lib->stack_names);
}

size_t library_n_stacks(const struct library *lib)
{
	return lib->n_stacks;
}

const struct lib_stack *library_stack_at(const struct library *lib, size_t i)
{
	return i < lib->n_stacks ? &lib->stacks[i] : NULL;
}

const struct lib_stack *library_stack(const struct library *lib, const char *name)
{
	json_t *i = name ? json_object_get(lib->stack_names, name) : NULL;
	return i ? &lib->stacks[json_integer_value(i)] : NULL;
}

bool library_stack_fits(const struct library *lib, const struct lib_stack *s, const char *type_id)
{
	const struct lib_component_type *t = library_component_type(lib, type_id);
	if (!s || !t || s->kind == LIB_STACK_GENERIC)
		return false;
	const struct lib_stack *x = s;
	for (size_t k = 0; x && k < STACK_DEPTH_MAX; k++, x = x->belongs_to) {
		if (x->n_component_types == 0)
			continue;
		for (size_t i = 0; i < x->n_component_types; i++)
			if (strcmp(x->component_types[i], type_id) == 0)
				return true;
		return false;
	}
	return t->kind != LIB_KIND_ACTOR;
}

/* Adds the stack name names, compared without regard to case (tags are
 * free-form: "PostgreSQL" is postgres), to the component's stacks (at most
 * COMPONENT_STACKS_MAX, each once). */
static void add_named(const struct library *lib, const json_t *name, const struct lib_stack **v,
                      size_t *n)
{
	const char *str = json_string_value(name);
	char lower[65];
	size_t len = str ? strlen(str) : 0;
	if (len == 0 || len >= sizeof(lower))
		return;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)str[i]);
	const struct lib_stack *s = library_stack(lib, lower);
	if (!s || s->kind == LIB_STACK_GENERIC || *n == COMPONENT_STACKS_MAX)
		return;
	for (size_t i = 0; i < *n; i++)
		if (v[i] == s)
			return;
	v[(*n)++] = s;
}

/* Whether s is one of the component's stacks or a broader stack of one. */
static bool on_stack(const struct lib_stack *s, const struct lib_stack *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct lib_stack *x = v[i];
		for (size_t k = 0; x && k < STACK_DEPTH_MAX; k++, x = x->belongs_to)
			if (x == s)
				return true;
	}
	return false;
}

static bool block_is_own(const struct lib_stack *b, const struct lib_stack *const *v, size_t n)
{
	if (b->kind == LIB_STACK_GENERIC || on_stack(b, v, n))
		return true;
	if ((b->kind != LIB_STACK_FRAMEWORK && b->kind != LIB_STACK_IAC) || !b->belongs_to ||
	    !on_stack(b->belongs_to, v, n))
		return false;
	/* A component on dotnet that names no .NET framework is shown the
	 * ASP.NET Core advice; one that names Xamarin is not. */
	for (size_t i = 0; i < n; i++)
		if (v[i] != b && v[i]->kind == b->kind && v[i]->belongs_to == b->belongs_to)
			return false;
	return true;
}

size_t library_how_to_select(const struct library *lib, const struct lib_countermeasure *cm,
                             const json_t *component, bool *ret_own)
{
	const struct lib_stack *v[COMPONENT_STACKS_MAX];
	size_t n = 0;
	const json_t *prop = json_object_get(json_object_get(component, "properties"), "stack");
	size_t i;
	json_t *e;
	if (json_is_string(prop))
		add_named(lib, prop, v, &n);
	json_array_foreach ((json_t *)prop, i, e)
		add_named(lib, e, v, &n);
	json_array_foreach (json_object_get(component, "tags"), i, e)
		add_named(lib, e, v, &n);
	size_t own = 0;
	for (size_t k = 0; k < cm->n_how_to; k++) {
		const struct lib_stack *b = library_stack(lib, cm->how_to[k].stack);
		ret_own[k] = b && block_is_own(b, v, n);
		own += ret_own[k];
	}
	if (own == 0) {
		for (size_t k = 0; k < cm->n_how_to; k++)
			ret_own[k] = true;
		own = cm->n_how_to;
	}
	return own;
}
