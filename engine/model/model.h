/* SPDX-License-Identifier: Apache-2.0 */
/* System models: the native format, OTM and Threat Dragon importers, versioned
 * storage, load and diff. */
#ifndef TS_ENGINE_MODEL_H
#define TS_ENGINE_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

#define MODEL_FORMAT_ID "threatsync-model/1"
#define MODEL_MAX_BYTES ((size_t)16 * 1024 * 1024) /* whole document */
#define MODEL_MAX_DEPTH 32                         /* nesting of arrays and objects */
#define MODEL_MAX_STRING 4096                      /* bytes of any one string or key */
#define MODEL_MAX_ID 128                           /* bytes of an id */
#define MODEL_MAX_ERRORS 20                        /* error lines collected per document */

enum model_format {
	MODEL_FORMAT_AUTO,
	MODEL_FORMAT_NATIVE,
	MODEL_FORMAT_OTM,
	MODEL_FORMAT_THREATDRAGON
};

/* Component type information, supplied by the caller (the threat library) so
 * the model code does not depend on it. Every callback may be NULL. */
struct model_typeinfo {
	void *ud;
	/* The library's own copy of the component type id equal to type, or
	 * NULL when the library has no such type. Borrowed from ud: valid while
	 * ud lives, never type itself, so a caller may free type and keep it. */
	const char *(*type_id)(void *ud, const char *type);
	/* "process"|"store"|"actor", NULL if unknown */
	const char *(*kind)(void *ud, const char *type);
	/* maps a foreign type or tag (format "otm" or "threatdragon") to a
	 * library type; NULL = no mapping. The result is borrowed from ud. */
	const char *(*map)(void *ud, const char *format, const char *foreign);
	/* is a foreign type or tag a container (a VPC, a subnet, a resource
	 * group) that becomes a trust zone? May be NULL: none is. */
	bool (*container)(void *ud, const char *format, const char *foreign);
	/* the properties a foreign type or tag implies for its component
	 * ("openai" implies llm: true), an object borrowed from ud, or NULL.
	 * May be NULL: none implies any. */
	json_t *(*implied)(void *ud, const char *format, const char *foreign);
};

/* "auto", "native", "otm", "threatdragon" <-> enum. model_format_from_name
 * returns -EINVAL for an unknown name. model_format_name returns a static string. */
int model_format_from_name(const char *name, enum model_format *ret);
const char *model_format_name(enum model_format f);

/* Parses, converts and validates a document of len bytes (data need not be
 * NUL-terminated). file_name prefixes every message. On success *ret_model is a
 * new normalised native document (caller json_decrefs), *ret_warnings a new
 * array of strings ("FILE: $.path: message"), *ret_detected the format found
 * (each out parameter may be NULL). On bad input returns -EINVAL with
 * err->code = TS_E_INVALID and up to MODEL_MAX_ERRORS lines in err->msg.
 * strict turns warnings into errors. ti may be NULL: then every type is
 * accepted and foreign types fall back to the generic types by shape. */
int model_parse(const char *file_name, const char *data, size_t len, enum model_format fmt,
                bool strict, const struct model_typeinfo *ti, json_t **ret_model,
                json_t **ret_warnings, enum model_format *ret_detected, struct ts_err *err);

/* model_parse on the contents of path (at most MODEL_MAX_BYTES); messages name
 * path. A missing or unreadable file is TS_E_NOTFOUND, an oversized one TS_E_INVALID. */
int model_parse_file(const char *path, enum model_format fmt, bool strict,
                     const struct model_typeinfo *ti, json_t **ret_model, json_t **ret_warnings,
                     enum model_format *ret_detected, struct ts_err *err);

/* The canonical serialisation of a normalised model (new string, caller frees)
 * and its SHA-256 hex digest into hash (may be NULL). */
char *model_canonical_dump(const json_t *model, char hash[65]);

/* Stores model (from model_parse) as the next version of the project, with its
 * trust zones, components, flows and data assets, in one transaction. When its
 * content hash equals the latest version's, nothing is written, *ret_unchanged
 * is true and *ret_version is that version. source_name is kept as given (pass
 * the file's base name). ret_version and ret_unchanged may be NULL. */
int model_import(struct store *s, int64_t project_id, const json_t *model,
                 enum model_format detected, const char *source_name, int *ret_version,
                 bool *ret_unchanged, struct ts_err *err);

/* Loads a stored version (0 = latest). *ret_model is new; *ret_version (may be
 * NULL) receives the version loaded. TS_E_NOTFOUND when the project has no model
 * yet or no such version. */
int model_load(struct store *s, int64_t project_id, int version, json_t **ret_model,
               int *ret_version, struct ts_err *err);
/* model_load in two halves, so that the parse can run while the store serves
 * other reads: the stored text of a version (0 = latest; *ret_text new,
 * NUL-terminated, *ret_len its length; the same errors as model_load), then
 * its parse (TS_E_INVALID naming the version when it is not JSON). */
int model_load_text(struct store *s, int64_t project_id, int version, char **ret_text,
                    size_t *ret_len, int *ret_version, struct ts_err *err);
int model_parse_stored(const char *text, size_t len, int version, json_t **ret_model,
                       struct ts_err *err);

/* The latest version number of a project's model, 0 when there is none. */
int model_latest_version(struct store *s, int64_t project_id, int *ret_version, struct ts_err *err);

/* Compares two normalised models. *ret_diff is new:
 * {"components": {"added": [ids], "removed": [ids], "changed": [{"id", "fields": [names]}]},
 *  "flows", "trust_zones", "data_assets", "threats", "countermeasures": the same,
 *  "project": [changed fields]}
 * Field names inside properties and code are reported as "properties.NAME".
 * Every list is sorted. Returns 0. */
int model_diff(const json_t *old_model, const json_t *new_model, json_t **ret_diff);

/* True when a diff from model_diff records no change at all. */
bool model_diff_empty(const json_t *diff);

/* Lookups by id in a loaded model; borrowed references, NULL when absent. */
json_t *model_component(const json_t *model, const char *id);
json_t *model_flow(const json_t *model, const char *id);
json_t *model_trust_zone(const json_t *model, const char *id);

/* Is s a valid id: [A-Za-z0-9_.:-]{1,128}? */
bool model_id_valid(const char *s);

#endif
