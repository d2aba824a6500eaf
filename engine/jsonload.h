/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing a JSON document faster than jansson's own reader, with jansson's
 * answer in every case: the same tree, or the same error. */
#ifndef TS_ENGINE_JSONLOAD_H
#define TS_ENGINE_JSONLOAD_H

#include <jansson.h>
#include <stddef.h>

/* json_loadb(data, len, JSON_REJECT_DUPLICATES, err), exactly: a new
 * reference to the same tree (same values, members in the same order), or
 * NULL with the same error in err (may be NULL; untouched on success). A
 * document of the common shape (an object or array; strings without \u
 * escapes; no duplicate keys; integers of at most 18 digits; depth at most
 * 256) is read by yajl's parser building the tree directly; anything else,
 * and anything yajl or jansson would refuse, is read by json_loadb itself.
 * Safe on any thread once json_object_seed has run. */
json_t *ts_json_loadb(const char *data, size_t len, json_error_t *err);

#endif
