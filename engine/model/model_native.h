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

#endif
