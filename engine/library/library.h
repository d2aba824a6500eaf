/* SPDX-License-Identifier: Apache-2.0 */
/* The threat library: component types, technology stacks, threats, countermeasures,
 * type mappings and blueprints loaded from one or more directories of JSON (later ones overlay earlier
 * ones), validated whole and then immutable. docs/library.md describes the format. */
#ifndef TS_ENGINE_LIBRARY_H
#define TS_ENGINE_LIBRARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/util.h"

struct expr;
struct expr_index;
struct expr_memo;
struct expr_deps;
struct model_typeinfo;

/* Largest library file accepted, in bytes. */
#define LIBRARY_FILE_MAX (4 * 1024 * 1024)
/* Longest "unconditional" reason of a threat, in bytes (one sentence). */
#define LIBRARY_UNCONDITIONAL_MAX 400

enum lib_kind { LIB_KIND_PROCESS, LIB_KIND_STORE, LIB_KIND_ACTOR };
/* A system-scoped threat holds once for the whole model ("*") when a component
 * of a type it applies to exists; its instance names those components. */
enum lib_scope { LIB_SCOPE_COMPONENT, LIB_SCOPE_FLOW, LIB_SCOPE_SYSTEM };

/* How a satisfying component ("provider") must be connected to the component
 * that needs the countermeasure, through one data flow of the model. */
enum lib_relation {
	LIB_RELATION_IN_FRONT,  /* flow provider -> component (gateway, load balancer) */
	LIB_RELATION_BEHIND,    /* flow component -> provider (IdP, secrets manager) */
	LIB_RELATION_CONNECTED, /* a flow in either direction */
};

/* Every pointer inside the structs below (strings included) is borrowed from
 * the library and valid until library_free. Arrays are never NULL when their
 * count is 0 unless stated. */

struct lib_component_type {
	const char *id;   /* vocabulary id, [a-z][a-z0-9_]* */
	const char *name; /* display name */
	const char *description;
	enum lib_kind kind;
	const char *kind_name;      /* "process", "store" or "actor" */
	json_t *default_properties; /* object (possibly empty) */
	const char *file;           /* file the entry came from */
	const char *path;           /* JSON path of the entry in file */
};

struct lib_threat {
	const char *id; /* "T-WEB-XSS" */
	const char *title;
	/* Former ids of the entry (merged duplicates): generation renames stored
	 * threats "ALIAS@key" to "ID@key". Never an id or another entry's alias. */
	const char **aliases;
	size_t n_aliases;
	const char *description;
	char stride[7];          /* letters in STRIDE order, e.g. "TI" */
	const char **applies_to; /* component type ids */
	size_t n_applies_to;
	enum lib_scope scope;
	const char *condition_src;    /* NULL when the threat has no condition */
	const struct expr *condition; /* parsed condition; NULL when none */
	/* Why a threat without a condition holds for every component (flow) of
	 * its types, one sentence; NULL when not given (lint: an error when
	 * the condition is missing too). */
	const char *unconditional;
	const char *severity;   /* "critical" | "high" | "medium" | "low" */
	int severity_rank;      /* critical 4 .. low 1 */
	const char *likelihood; /* "high" | "medium" | "low" */
	int likelihood_rank;    /* high 3 .. low 1 */
	const int *cwe;
	size_t n_cwe;
	const int *capec;
	size_t n_capec;
	/* Scanner rules whose results prove the threat present, "tool:rule"
	 * ("codeql:py/sql-injection", "zap:40018"); the tool is compared without
	 * regard to case, the rule exactly. For correlation of findings. */
	const char **detected_by;
	size_t n_detected_by;
	const struct lib_countermeasure **countermeasures; /* resolved, in file order */
	size_t n_countermeasures;
	const char *file;
	const char *path; /* JSON path of the entry in file, "$.threats[3]" */
	json_t *json;     /* the entry as written (borrowed) */
};

/* A technology stack of stacks.json: what a how-to block is written for, and
 * what a component's "stack" property and tags and a profile's stack name. */
enum lib_stack_kind {
	LIB_STACK_LANGUAGE,
	LIB_STACK_FRAMEWORK,
	LIB_STACK_PLATFORM,
	LIB_STACK_IAC,
	LIB_STACK_GENERIC, /* advice for any stack: only the id "generic" */
};

struct lib_stack {
	const char *id;   /* "aspnetcore": [a-z0-9][a-z0-9_.+-]*, at most 64 */
	const char *name; /* display name, "ASP.NET Core" */
	enum lib_stack_kind kind;
	const char *kind_name;              /* "language", "framework", ... */
	const struct lib_stack *belongs_to; /* the broader stack (dotnet), or NULL */
	const char **synonyms;              /* other names resolved to id */
	size_t n_synonyms;
	/* The component types a profile's stack is put on at model init
	 * (library_stack_fits); none: those of the broader stack. */
	const char **component_types;
	size_t n_component_types;
	const char *file; /* NULL for the built-in "generic" */
	const char *path;
};

struct lib_how_to {
	const char *stack; /* a stack id ("aspnetcore", "generic"; synonyms resolved) */
	const char *text;  /* markdown */
};

struct lib_link {
	const char *title;
	const char *url;
};

struct lib_compliance {
	const char *framework; /* vocabulary framework id ("nist-800-53", "gdpr", ...) */
	const char **ids;      /* control ids, in file order */
	size_t n_ids;
};

/* A component that makes the countermeasure unnecessary for another one. The
 * generator looks, for a component C needing the countermeasure, for a flow F
 * between C and a component P of one of provider_types, in the direction given
 * by relation, such that condition (if any) holds with the roots component = C,
 * flow = F, source = F's source, destination = F's destination, model. P is the
 * provider to name (library_find_provider does exactly this). */
struct lib_satisfied_by {
	const char **provider_types;
	size_t n_provider_types;
	enum lib_relation relation;
	const char *relation_name;    /* "in_front" | "behind" | "connected" */
	const char *condition_src;    /* NULL when none */
	const struct expr *condition; /* NULL when none */
};

struct lib_countermeasure {
	const char *id; /* "C-OUTPUT-ENCODING" */
	const char *title;
	const char **aliases; /* former ids, as for threats */
	size_t n_aliases;
	int priority;            /* 1 (most urgent) .. 4 */
	const char *requirement; /* user story */
	const struct lib_how_to *how_to;
	size_t n_how_to;
	const char *acceptance_test; /* NULL when absent */
	const struct lib_link *training;
	size_t n_training;
	const struct lib_compliance *compliance; /* sorted by framework */
	size_t n_compliance;
	const struct lib_satisfied_by *satisfied_by; /* NULL when none */
	const char *file;
	const char *path; /* JSON path of the entry in file, "$.threats[3]" */
	json_t *json;     /* the entry as written (borrowed) */
};

/* A blueprint expands a profile of its kind into a starting model
 * (engine/library/blueprint.h). Its id is the profile kind it serves. */
struct lib_blueprint {
	const char *id; /* profile kind: "web_app", "spa_api", ... */
	const char *name;
	const char *description;
	const char *file;
	const char *path;
	json_t *json; /* the validated blueprint (borrowed) */
};

/* Where a declared property lives in the model. */
enum lib_prop_scope { LIB_PROP_COMPONENT, LIB_PROP_FLOW, LIB_PROP_PROJECT, LIB_PROP_ASSET };

/* A property of the model that conditions may test, declared in
 * component_types.json "properties". (scope, name) is unique. */
struct lib_property {
	const char *name; /* [a-z][a-z0-9_]* */
	enum lib_prop_scope scope;
	const char *scope_name; /* "component" | "flow" | "project" | "asset" */
	const char *type;       /* "boolean" | "string" | "integer" | "number" | "string_list" */
	const char **values;    /* allowed strings (string, string_list); NULL when any */
	size_t n_values;
	const char *description;
	const char *file;
	const char *path;
};

/* A tag conditions may test, declared in component_types.json "tags". */
struct lib_tag {
	const char *tag;
	const char *description;
	const char *file;
	const char *path;
};

struct library;

/* Loads each directory in order; later directories overlay earlier ones: an entry
 * with the same id replaces the earlier one, new ids are added, and a type mapping
 * for the same (format, foreign type) replaces the earlier target. Every file is
 * optional in every directory. On success *ret_lib is a new library (free with
 * library_free). On failure returns a negative code, *ret_lib is untouched, err
 * holds the problems found (as many as fit, one per line, "FILE: $.PATH:
 * message") with code TS_E_INVALID, or TS_E_NOTFOUND when a directory is missing.
 * Keeps no state outside the library: any thread may load one. The files are
 * read and parsed on a second thread of the call's own, after Jansson's hash
 * seed is set (json_object_seed); a caller parsing JSON on another thread
 * meanwhile sets it before starting the load. */
int library_load(const char *const *dirs, size_t n_dirs, struct library **ret_lib,
                 struct ts_err *err);
void library_free(struct library *lib); /* NULL is a no-op */

/* What library_load_parts reads. */
enum library_parts {
	LIBRARY_PARTS_ALL, /* everything: library_load */
	/* component_types.json (the types and the declared vocabulary) and
	 * mappings.json only: all that library_typeinfo answers from, for the
	 * model importers. The other entries (stacks apart from the built-in
	 * "generic", countermeasures, threats, blueprints) are absent, and the
	 * digest is that of the two files. */
	LIBRARY_PARTS_TYPES,
};

/* library_load of parts: the same entries, checks and problems for what it
 * reads (a problem of a file it does not read goes unnoticed). */
int library_load_parts(const char *const *dirs, size_t n_dirs, enum library_parts parts,
                       struct library **ret_lib, struct ts_err *err);

/* The SHA-256 (hex) of the library's content: the names and digests of every
 * file it was loaded from, in order. Borrowed, valid as long as lib. */
const char *library_digest(const struct library *lib);

/* Entries sorted by id; i < the count. */
size_t library_n_component_types(const struct library *lib);
const struct lib_component_type *library_component_type_at(const struct library *lib, size_t i);
size_t library_n_threats(const struct library *lib);
const struct lib_threat *library_threat_at(const struct library *lib, size_t i);
size_t library_n_countermeasures(const struct library *lib);
const struct lib_countermeasure *library_countermeasure_at(const struct library *lib, size_t i);
size_t library_n_stacks(const struct library *lib);
const struct lib_stack *library_stack_at(const struct library *lib, size_t i);
/* Whether a profile's stack s belongs on a component of type type_id at model
 * init: a type its component_types list, or else the nearest broader stack's
 * (belongs_to); a stack with none along its chain (a cloud such as aws) fits
 * every type that is not an actor, and generic fits none. */
bool library_stack_fits(const struct library *lib, const struct lib_stack *s, const char *type_id);
size_t library_n_blueprints(const struct library *lib);
const struct lib_blueprint *library_blueprint_at(const struct library *lib, size_t i);

/* The declared vocabulary, sorted by scope, then name (properties) and by tag. */
size_t library_n_properties(const struct library *lib);
const struct lib_property *library_property_at(const struct library *lib, size_t i);
size_t library_n_tags(const struct library *lib);
const struct lib_tag *library_tag_at(const struct library *lib, size_t i);
/* NULL when not declared. name is len bytes (need not be NUL-terminated). */
const struct lib_property *library_property(const struct library *lib, enum lib_prop_scope scope,
                                            const char *name, size_t len);
const struct lib_tag *library_tag(const struct library *lib, const char *tag, size_t len);

/* Lookups by id; NULL when absent. */
const struct lib_component_type *library_component_type(const struct library *lib, const char *id);
const struct lib_threat *library_threat(const struct library *lib, const char *id);
const struct lib_countermeasure *library_countermeasure(const struct library *lib, const char *id);
const struct lib_blueprint *library_blueprint(const struct library *lib, const char *kind);
/* The stack named name, by id or synonym (exact, lower case); NULL when the
 * library does not list it. "generic" is always listed. */
const struct lib_stack *library_stack(const struct library *lib, const char *name);

/* Largest number of how-to blocks of one countermeasure. */
#define LIBRARY_HOW_TO_MAX 64

/* Which of cm's how-to blocks a component is shown (docs/generation.md), one
 * flag per block in ret_own (cm->n_how_to entries). The component's stack is
 * the stacks its "stack" property (a string or a list of strings) and its tags
 * name, compared without regard to case; names the library does not list are
 * ignored. A block is the
 * component's own when its stack is "generic"; or is on the component's stack
 * or a broader stack of it (a dotnet block for an aspnetcore component); or is
 * a framework or IaC stack whose broader stack the component is on, unless the
 * component names another framework (IaC tool) of that broader stack (an
 * aspnetcore block for a component that says only dotnet). When no block is
 * the component's own, every block is: a task is never without its how-tos.
 * Returns the number of own blocks. component may be NULL (no stack). */
size_t library_how_to_select(const struct library *lib, const struct lib_countermeasure *cm,
                             const json_t *component, bool *ret_own);

/* The id an entry's former id (an alias of a threat or countermeasure) now
 * has, borrowed; NULL when old_id is no alias. */
const char *library_alias_target(const struct library *lib, const char *old_id);

/* The library type a foreign type or tag maps to for format ("otm",
 * "threatdragon"), compared case-insensitively; NULL when unmapped. Borrowed. */
const char *library_map_type(const struct library *lib, const char *format, const char *foreign);

/* Is foreign (compared case-insensitively) one of the format's container
 * types (mappings.json container_types): a network or account container
 * that an importer makes a trust zone rather than a component? */
bool library_is_container(const struct library *lib, const char *format, const char *foreign);

/* The properties a foreign type or tag of format implies for the component
 * it names (mappings.json implied_properties: "openai" implies llm), compared
 * case-insensitively: an object borrowed from lib, or NULL when none. */
json_t *library_implied_properties(const struct library *lib, const char *format,
                                   const char *foreign);

/* Fills ret (engine/model/model.h) with callbacks answering from lib: the type's own id,
 * kind name of a type, type mapping. lib must outlive every use of ret. */
void library_typeinfo(const struct library *lib, struct model_typeinfo *ret);

/* Finds the component satisfying cm for component in model (a native model
 * document, see struct lib_satisfied_by). index (may be NULL) is an expr index
 * of model: with it only the flows touching component are visited. The
 * smallest provider id wins, then the smallest flow id, so the answer does not
 * depend on the order of the flows. Returns 1 and *ret_provider (borrowed from
 * model) when found, 0 when cm has no satisfied_by or nothing satisfies it, or
 * TS_E_INVALID with err naming the library file, the countermeasure's path and
 * the component when the condition cannot be evaluated. */
int library_find_provider(const struct lib_countermeasure *cm, json_t *model,
                          const struct expr_index *index, json_t *component,
                          json_t **ret_provider, struct ts_err *err);
/* The same, evaluating with memo and reporting what it read to deps (both may
 * be NULL; see engine/expr/expr.h). */
int library_find_provider_tracked(const struct lib_countermeasure *cm, json_t *model,
                                  const struct expr_index *index, struct expr_memo *memo,
                                  const struct expr_deps *deps, json_t *component,
                                  json_t **ret_provider, struct ts_err *err);

/* Options of library_lint. */
struct library_lint_opts {
	const char *catalogs_dir; /* directory holding nist-800-53r5-baselines.tsv and
	                           * asvs-4.0.3.tsv, or NULL: check shapes only */
	/* Further conditions checked against the vocabulary (the configuration's
	 * classification rules): sources, and for messages the file and each
	 * one's place in it ("line 195"). Any may be NULL when n_conditions is 0. */
	const char *const *conditions;
	const char *const *condition_places;
	size_t n_conditions;
	const char *conditions_file;
};

/* Loads the directories like library_load but keeps going to report every
 * problem, and adds warnings and statistics. *ret_report is a new JSON document
 * following schema/library-lint.schema.json (caller decrefs); its "ok" member is
 * false when there is an error. Returns a negative code only when the report
 * itself cannot be produced (TS_E_NOTFOUND for a missing directory or catalog,
 * TS_E_INVALID for an unreadable catalog). */
int library_lint(const char *const *dirs, size_t n_dirs, const struct library_lint_opts *opts,
                 json_t **ret_report, struct ts_err *err);

#endif
