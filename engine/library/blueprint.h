/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles and blueprints: a short description of a system (kind, hosting, stack,
 * authentication, data, exposure, compliance) expanded by the library's blueprint
 * of that kind into a starting native model, deterministically. */
#ifndef TS_ENGINE_BLUEPRINT_H
#define TS_ENGINE_BLUEPRINT_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/library/library.h"
#include "engine/util.h"

/* Largest profile file accepted, in bytes. */
#define BLUEPRINT_PROFILE_MAX (256 * 1024)

/* Whether kind is one of the profile kinds (web_app, spa_api, mobile_api,
 * microservices, serverless_api, data_pipeline, internal_admin, b2b_webhooks,
 * iot_backend, ml_inference). */
bool blueprint_kind_valid(const char *kind);

/* Validates a profile document (schema/profile.schema.json); file names it in
 * messages. On success *ret_profile is a new normalised profile with every
 * optional member filled with its default (description "", authentication
 * "local", exposure "internet", stack/data/compliance []; hosting stays absent
 * when not given). On failure err lists every problem, one per line, "FILE:
 * $.PATH: message", with code TS_E_INVALID, and *ret_profile is untouched. */
int blueprint_profile_check(json_t *profile, const char *file, json_t **ret_profile,
                            struct ts_err *err);

/* Reads path (at most BLUEPRINT_PROFILE_MAX bytes) and checks it as above.
 * TS_E_NOTFOUND when it cannot be read, TS_E_INVALID when it is not valid JSON. */
int blueprint_profile_load(const char *path, json_t **ret_profile, struct ts_err *err);

/* Checks that every entry of a normalised profile's stack is a stack of lib
 * (an id or a synonym of stacks.json). On failure err lists each unknown one,
 * "FILE: $.stack[N]: message", with code TS_E_INVALID. */
int blueprint_profile_stacks(const struct library *lib, const json_t *profile, const char *file,
                             struct ts_err *err);

/* Expands a normalised profile with the library's blueprint of its kind into a
 * new native model document ("format": "threatsync-model/1"; caller decrefs):
 * same library and profile, same document, member order included. TS_E_INVALID
 * when the library has no blueprint for the kind, or when the blueprint
 * produces the same id twice or places a component in a zone it left out. */
int blueprint_expand(const struct library *lib, json_t *profile, json_t **ret_model,
                     struct ts_err *err);

#endif
