/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to engine/model: validation and normalisation of a native model
 * document, used by model_parse after any conversion. */
#ifndef TS_ENGINE_MODEL_NATIVE_H
#define TS_ENGINE_MODEL_NATIVE_H

#include <jansson.h>

#include "engine/model/importer.h"
#include "engine/model/model.h"

/* Validates doc against the native format; errors and warnings go to m. srcmap
 * (borrowed, may be NULL) maps element indexes to the source file's paths for
 * documents converted from a foreign format. ti may be NULL. */
void model_native_validate(struct model_msgs *m, const struct model_typeinfo *ti,
                           const json_t *srcmap, const json_t *doc);

/* The canonical native form of a valid doc: every optional container present,
 * defaults filled, element arrays sorted by id, tag-like lists sorted and
 * unique. Steals doc and returns it, changed in place. */
json_t *model_native_normalise(json_t *doc);

/* Where a member's value lies in a canonical text: bytes [off, off + len);
 * len 0 when the element has no such member. */
struct model_span {
	size_t off, len;
};

/* Spans to note while writing one object: out[k] for the member names[k]. */
struct model_capture {
	const char *const *names;
	size_t n;
	struct model_span *out;
};

/* The canonical text of a model (model_canonical_dump) with its hash and the
 * spans of the members model_import stores in columns of their own, which
 * are the canonical texts of those values: per component, 3 spans (tags,
 * properties, code); per flow and per data asset, 1 (properties). */
struct model_canon {
	char *text; /* new, NUL-terminated */
	size_t len;
	char hash[65];
	struct model_span *components, *flows, *assets; /* NULL when absent */
	size_t n_components, n_flows, n_assets;
};
void model_canon_build(const json_t *model, struct model_canon *ret);
void model_canon_free(struct model_canon *c); /* NULL is a no-op */

#endif
