/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the library loader, its lint and the blueprint validator: the
 * library struct and the list of problems found while loading. Not for users of
 * the library: include engine/library/library.h instead. */
#ifndef TS_ENGINE_LIBRARY_INTERNAL_H
#define TS_ENGINE_LIBRARY_INTERNAL_H

#include <stdbool.h>

#include "engine/library/library.h"

/* One problem: "FILE: PATH: message". */
struct lib_diag_item {
	bool warning;
	char *file; /* may be NULL for problems without a file */
	char *path; /* JSON path, may be NULL */
	char *msg;
};

struct lib_diag {
	struct lib_diag_item *items;
	size_t n, cap;
	size_t n_errors;
	int code; /* sysexits code of the first error, 0 when none */
};

void lib_diag_add(struct lib_diag *d, bool warning, int code, const char *file, const char *path,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void lib_diag_free(struct lib_diag *d);

/* A JSON path one level down: "$.a" + "b" -> "$.a.b" (or "$.a[\"b-c\"]" for keys
 * that are not identifiers); "$.a" + index 3 -> "$.a[3]". New strings. */
char *lib_path_key(const char *base, const char *key);
char *lib_path_index(const char *base, size_t index);

/* Formats the errors of d into err (as many lines as fit), code d->code. */
void lib_diag_format(const struct lib_diag *d, struct ts_err *err);

/* Validation of one JSON object, problems recorded in d at file/path. */
struct lib_vctx {
	struct library *lib; /* may be NULL outside the loader */
	struct lib_diag *d;
	const char *file;
	const char *path;
	json_t *obj;
	size_t errors_before; /* d->n_errors when the object's checks began */
};

/* An error at path.key (key NULL: at path). */
void lib_verr(struct lib_vctx *v, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether no error was recorded since errors_before. */
bool lib_vok(const struct lib_vctx *v);
/* Unknown members ("x-" prefixed ones are always allowed) are errors. */
void lib_v_keys(struct lib_vctx *v, const char *const *allowed, size_t n);
/* A non-empty string member (borrowed), NULL when absent or invalid. */
const char *lib_v_str(struct lib_vctx *v, const char *key, bool required);
/* Index in names of a string member; def when absent and optional; -1 on error. */
int lib_v_enum(struct lib_vctx *v, const char *key, const char *const *names, size_t n,
               bool required, int def);
/* A list of non-empty strings: new array (caller frees) of borrowed strings. */
const char **lib_v_str_list(struct lib_vctx *v, const char *key, bool required, size_t *ret_n);

struct library {
	struct lib_component_type *types;
	size_t n_types;
	struct lib_stack *stacks; /* sorted by id */
	size_t n_stacks;
	json_t *stack_names; /* id or synonym -> index into stacks */
	struct lib_threat *threats;
	size_t n_threats;
	struct lib_countermeasure *cms;
	size_t n_cms;
	struct lib_blueprint *blueprints;
	size_t n_blueprints;
	struct lib_property *props; /* sorted by scope, then name */
	size_t n_props;
	struct lib_tag *tags; /* sorted by tag */
	size_t n_tags;
	json_t *mappings; /* {"otm": {"lower-case foreign": "type id"}, ...} */
	size_t n_mappings;
	json_t *containers; /* {"otm": {"lower-case foreign": true}, ...} */
	json_t *aliases;    /* {"OLD-ID": "NEW-ID"}, threats and countermeasures */
	json_t *implied;    /* {"otm": {"lower-case foreign": {properties}}, ...} */
	json_t *docs;       /* every parsed file: keeps the borrowed strings alive */
	struct ts_buf files; /* "path\tsha-256\n" of every file read, while loading */
	char digest[65];     /* of files: the library's content, set at the end of loading */
	char **strings;     /* file names and paths the entries borrow */
	size_t n_strings, cap_strings;
};

/* Loads into a new library, never failing on data problems: they go to d and
 * the offending entries are left out. Returns a negative code only for a
 * missing directory (also recorded in d, code TS_E_NOTFOUND). */
int lib_load_diag(const char *const *dirs, size_t n_dirs, struct library **ret_lib,
                  struct lib_diag *d);
/* The same, reading only what parts names. */
int lib_load_parts(const char *const *dirs, size_t n_dirs, enum library_parts parts,
                   struct library **ret_lib, struct lib_diag *d);

/* One winning entry of stacks.json after the overlay. */
struct lib_entry_ref {
	json_t *entry; /* borrowed from lib->docs */
	const char *file;
	const char *path;
};

/* Validates and loads the stacks (engine/library/stacks.c), sorted by id, adds
 * the built-in "generic" when no file defines it, resolves belongs_to and
 * indexes ids and synonyms; problems go to d and the entry is left out. */
void lib_stacks_load(struct library *lib, struct lib_diag *d, const struct lib_entry_ref *v,
                     size_t n);
void lib_stacks_free(struct library *lib);
/* Shape of a stack name: [a-z0-9][a-z0-9_.+-]*, at most 64 characters. */
bool lib_stack_shape(const char *s);

/* Blueprint checks (engine/library/blueprint.c), run by the loader once component types
 * are known: structure, conditions over the profile, types and references. */
void lib_blueprint_validate(const struct library *lib, json_t *bp, const char *file,
                            const char *path, struct lib_diag *d);

/* Lint checks of engine/library/lint_duplicates.c: identical titles among
 * threats and among countermeasures (errors), threats sharing a CWE, a
 * component type and their condition (warnings), and threats mapped only to
 * Pillar or Class CWE entries of the catalog in dirs (warnings; skipped when
 * no directory has one). */
void lib_lint_duplicates(const struct library *lib, const char *const *dirs, size_t n_dirs,
                         struct lib_diag *d);

/* Shape of a control id of framework ("nist-800-53", ...): NULL when valid, else
 * a static description of the expected shape. Unknown framework: "unknown". */
const char *lib_compliance_shape_error(const char *framework, const char *id);
bool lib_framework_known(const char *framework);

#endif
