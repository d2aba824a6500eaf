/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to engine/model: helpers shared by the model's readers (the native
 * validator, the OTM and Threat Dragon importers) and the importers' entries. */
#ifndef TS_ENGINE_MODEL_IMPORTER_H
#define TS_ENGINE_MODEL_IMPORTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/model/model.h"
#include "engine/util.h"

/* Collects "FILE: PATH: message" lines. */
struct model_msgs {
	const char *file;
	json_t *errors;   /* array of strings, owned */
	json_t *warnings; /* array of strings, owned */
	size_t dropped;   /* errors beyond MODEL_MAX_ERRORS */
};
void model_msg_error(struct model_msgs *m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void model_msg_warning(struct model_msgs *m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Moves the collected errors into err, one per line, with err->code =
 * TS_E_INVALID; m keeps its lists (the caller still frees them). Returns -EINVAL. */
int model_msgs_fail(struct model_msgs *m, struct ts_err *err);

/* "an object", "a string", ... for messages; a static string. */
const char *model_json_type_name(const json_t *v);
/* Is s one of the strings of the NULL-terminated list? */
bool model_in_list(const char *s, const char *const *list);

/* Converts a parsed foreign document into an unvalidated native document (new
 * reference in *ret_model, even when errors were recorded). *ret_srcmap (new)
 * maps native element paths to source paths: {"components": ["$.components[0]", ...],
 * "flows": [...], "trust_zones": [...], "threats": [...], "countermeasures": [...]}
 * so validation messages can name the source file's paths. */
void model_from_otm(const json_t *doc, const struct model_typeinfo *ti, struct model_msgs *m,
                    json_t **ret_model, json_t **ret_srcmap);
void model_from_threatdragon(const json_t *doc, const struct model_typeinfo *ti,
                             struct model_msgs *m, json_t **ret_model, json_t **ret_srcmap);

/* A library type for a component of a foreign format: type_id(foreign), else
 * map(format, foreign); NULL when neither applies. The result is borrowed from
 * ti->ud (the library's own string, valid while the library lives), never
 * foreign or a pointer into it: callers may free foreign right after. */
const char *model_map_type(const struct model_typeinfo *ti, const char *format,
                           const char *foreign);
/* Copies into props (an object) each property the foreign type or tag implies
 * (ti->implied) that props does not already have: what the source file says
 * outright wins over what its type implies. */
void model_imply_properties(const struct model_typeinfo *ti, const char *format,
                            const char *foreign, json_t *props);
/* The kind of a library type via ti, or NULL. */
const char *model_type_kind(const struct model_typeinfo *ti, const char *type);
/* The STRIDE letter of a category name ("Spoofing", "Information disclosure",
 * ...; case-insensitive), or 0. */
char model_stride_letter(const char *category);
/* Lower-case copy of s with runs of non-alphanumerics as single '-' and no
 * leading or trailing '-' (new string). */
char *model_slug(const char *s);
/* The generic type guessed from words of a foreign type or tag: generic_store
 * for database/db/storage/bucket/queue, generic_actor for user/actor/client/
 * browser, else NULL. */
const char *model_guess_generic(const char *foreign);
/* Replaces in place each byte of s that is not part of well-formed UTF-8 with
 * '?' (s may be NULL). Messages quote the input and jansson's error texts,
 * which can hold invalid or cut sequences; jansson refuses such a string, and
 * a message that cannot be stored would lose the error with it. */
void model_msg_utf8_fix(char *s);

#endif
