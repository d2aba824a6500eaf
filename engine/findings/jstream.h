/* SPDX-License-Identifier: Apache-2.0 */
/* A JSON report read in bounded memory: yajl tokenizes the file in chunks; the
 * values at the paths registered with jstream_emit are built one at a time as
 * Jansson values, handed to a callback and freed; every other value is built
 * in place into a partial document (jstream_root), so a callback sees what
 * came before it (a SARIF run's tool before its results), except the values
 * under a path registered with jstream_skip, which are never built. Limits:
 * FINDINGS_STRING_MAX per token, FINDINGS_DEPTH_MAX nesting,
 * FINDINGS_ITEM_MAX per emitted value, FINDINGS_FILE_MAX per file. */
#ifndef TS_ENGINE_JSTREAM_H
#define TS_ENGINE_JSTREAM_H

#include <jansson.h>
#include <stddef.h>

#include "engine/util.h"

struct jstream;

/* item: the complete value, borrowed (incref to keep it). doc_path: where it
 * is ("$.runs[0].results[12]"), borrowed. idx: the array indices along the
 * path, outermost first (n_idx of them: for "$.runs[*].results[*]" idx[0] is
 * the run, idx[1] the result). Return 0 to go on, or a negative ts_error with
 * err set to stop the parse. */
typedef int (*jstream_cb)(void *ud, json_t *item, const char *doc_path, const size_t *idx,
                          size_t n_idx, struct ts_err *err);

/* name: how messages name the file ("NAME: $.a[3]: message"); copied. */
struct jstream *jstream_new(const char *name);
void jstream_free(struct jstream *js); /* NULL is a no-op */

/* pattern: "$" followed by ".key" and "[*]" segments ("$.runs[*].results[*]").
 * At most 8 patterns of each kind; a value matching both is emitted. cb NULL:
 * each value is read (with every bound and exact error paths, unlike a
 * skipped one) and dropped, as a pass that only wants what is around them
 * does. */
void jstream_emit(struct jstream *js, const char *pattern, jstream_cb cb, void *ud);
void jstream_skip(struct jstream *js, const char *pattern);

/* Parses the file at path. 0, or TS_E_IO ("NAME: message"), TS_E_INVALID
 * ("NAME: $.path: message", with the byte offset for syntax errors), or what
 * a callback returned. May be called once per jstream. */
int jstream_run(struct jstream *js, const char *path, struct ts_err *err);

/* The same over a buffer in memory (tests, the fuzzing harnesses). */
int jstream_run_buffer(struct jstream *js, const char *data, size_t len, struct ts_err *err);

/* The document built so far, without the emitted and skipped values: an
 * object or array, or NULL before the first token. Borrowed; valid until
 * jstream_free. */
json_t *jstream_root(const struct jstream *js);

/* The current document path ("$.runs[0].tool"), for messages. Borrowed until
 * the next token. */
const char *jstream_path(struct jstream *js);

#endif
