/* SPDX-License-Identifier: Apache-2.0 */
/* Rows of one INSERT queued and written many to a statement: one multi-row
 * INSERT runs its cursors, constraint checks and statement journal once for
 * ROWBATCH_ROWS rows instead of once per row. Used by ingestion and
 * generation, the two writers of many rows. */
#ifndef TS_ENGINE_STORE_ROWBATCH_H
#define TS_ENGINE_STORE_ROWBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

#define ROWBATCH_ROWS 64 /* rows per multi-row statement */

/* The rows of one INSERT, queued (values copied) and written by
 * rowbatch_flush: ROWBATCH_ROWS to a statement, the rest one by one, in the
 * order queued, so rowids come out as row-by-row inserts give them. head is
 * "INSERT INTO t(a, b) VALUES ", tail what follows the values ("" or an ON
 * CONFLICT clause), what names the writing in messages; all three static.
 * *ret new (rowbatch_free, which finalizes its statements: free it before
 * the store is closed). */
struct rowbatch;
struct rowbatch *rowbatch_new(const char *head, const char *tail, int ncols, const char *what);
void rowbatch_free(struct rowbatch *rb); /* NULL ok; queued rows are dropped */
/* The next value of the row being queued (ncols make a row); s NULL: NULL. */
void rowbatch_text(struct rowbatch *rb, const char *s);
/* A text of n bytes (not NUL-terminated). */
void rowbatch_textn(struct rowbatch *rb, const char *s, size_t n);
void rowbatch_int(struct rowbatch *rb, int64_t i);
void rowbatch_double(struct rowbatch *rb, double d);
void rowbatch_null(struct rowbatch *rb);
/* A row id, NULL when 0 or less (as store_bind_id binds one). */
void rowbatch_id(struct rowbatch *rb, int64_t id);
size_t rowbatch_rows(const struct rowbatch *rb);
size_t rowbatch_bytes(const struct rowbatch *rb); /* memory the queue holds */
/* Writes the queued rows and empties the queue (also on an error, which is
 * store_fail's). */
int rowbatch_flush(struct rowbatch *rb, struct store *s, struct ts_err *err);
/* Writes ROWBATCH_ROWS rows when that many are queued: call after each row
 * to keep the queue short. */
int rowbatch_flush_full(struct rowbatch *rb, struct store *s, struct ts_err *err);

#endif
