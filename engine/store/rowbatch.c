/* SPDX-License-Identifier: Apache-2.0 */
/* Rows of one INSERT queued and written many to a statement (rowbatch.h). */
#include "engine/store/rowbatch.h"

#include <stdlib.h>
#include <string.h>

enum val_kind { V_NULL, V_INT, V_DOUBLE, V_TEXT };

struct val {
	enum val_kind kind;
	union {
		int64_t i;  /* V_INT */
		double d;   /* V_DOUBLE */
		size_t off; /* V_TEXT: into the arena */
	} u;
	size_t len; /* V_TEXT: bytes */
};

struct rowbatch {
	char *sql_one, *sql_many; /* one row; ROWBATCH_ROWS rows */
	const char *what;         /* for messages: "recording a finding" */
	int ncols;
	struct val *v; /* the queued values, row after row */
	size_t n, cap;
	struct ts_buf arena; /* their texts, back to back */
	sqlite3_stmt *one, *many;
	bool many_failed; /* the multi-row statement could not be prepared */
};

/* "(?, ?, ?)" for ncols columns, n times, comma separated, into b. */
static void values(struct ts_buf *b, int ncols, int n)
{
	for (int r = 0; r < n; r++) {
		ts_buf_puts(b, r ? ", (" : "(");
		for (int c = 0; c < ncols; c++)
			ts_buf_puts(b, c ? ", ?" : "?");
		ts_buf_puts(b, ")");
	}
}

struct rowbatch *rowbatch_new(const char *head, const char *tail, int ncols, const char *what)
{
	struct rowbatch *rb = ts_calloc(1, sizeof(*rb));
	rb->ncols = ncols;
	rb->what = what;
	struct ts_buf b = {0};
	ts_buf_puts(&b, head);
	values(&b, ncols, 1);
	ts_buf_puts(&b, tail);
	rb->sql_one = ts_buf_steal(&b);
	ts_buf_puts(&b, head);
	values(&b, ncols, ROWBATCH_ROWS);
	ts_buf_puts(&b, tail);
	rb->sql_many = ts_buf_steal(&b);
	return rb;
}

void rowbatch_free(struct rowbatch *rb)
{
	if (!rb)
		return;
	sqlite3_finalize(rb->one);
	sqlite3_finalize(rb->many);
	free(rb->sql_one);
	free(rb->sql_many);
	free(rb->v);
	ts_buf_free(&rb->arena);
	free(rb);
}

static struct val *push(struct rowbatch *rb)
{
	if (rb->n == rb->cap) {
		rb->cap = rb->cap ? 2 * rb->cap : (size_t)rb->ncols * ROWBATCH_ROWS;
		rb->v = ts_realloc(rb->v, rb->cap * sizeof(*rb->v));
	}
	return &rb->v[rb->n++];
}

void rowbatch_text(struct rowbatch *rb, const char *s)
{
	if (s)
		rowbatch_textn(rb, s, strlen(s));
	else
		push(rb)->kind = V_NULL;
}

void rowbatch_textn(struct rowbatch *rb, const char *s, size_t n)
{
	struct val *v = push(rb);
	v->kind = V_TEXT;
	v->u.off = rb->arena.len;
	v->len = n;
	ts_buf_append(&rb->arena, s, n);
}

void rowbatch_int(struct rowbatch *rb, int64_t i)
{
	struct val *v = push(rb);
	v->kind = V_INT;
	v->u.i = i;
}

void rowbatch_double(struct rowbatch *rb, double d)
{
	struct val *v = push(rb);
	v->kind = V_DOUBLE;
	v->u.d = d;
}

void rowbatch_null(struct rowbatch *rb)
{
	push(rb)->kind = V_NULL;
}

void rowbatch_id(struct rowbatch *rb, int64_t id)
{
	if (id > 0)
		rowbatch_int(rb, id);
	else
		rowbatch_null(rb);
}

size_t rowbatch_rows(const struct rowbatch *rb)
{
	return rb->n / (size_t)rb->ncols;
}

size_t rowbatch_bytes(const struct rowbatch *rb)
{
	return rb->arena.len + rb->n * sizeof(struct val);
}

static sqlite3_stmt *prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(store_db(s), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Binds rows [first, first + rows) to st (texts static: the arena stays
 * unchanged until the statement is reset) and runs it. */
static int run(struct rowbatch *rb, struct store *s, sqlite3_stmt *st, size_t first, size_t rows,
               struct ts_err *err)
{
	const struct val *v = &rb->v[first * (size_t)rb->ncols];
	int nv = (int)(rows * (size_t)rb->ncols);
	for (int i = 0; i < nv; i++) {
		switch (v[i].kind) {
		case V_NULL:
			sqlite3_bind_null(st, i + 1);
			break;
		case V_INT:
			sqlite3_bind_int64(st, i + 1, v[i].u.i);
			break;
		case V_DOUBLE:
			sqlite3_bind_double(st, i + 1, v[i].u.d);
			break;
		case V_TEXT:
			/* An empty text is "", not a NULL pointer (SQL NULL). */
			sqlite3_bind_text(st, i + 1,
			                  v[i].len ? rb->arena.data + v[i].u.off : "",
			                  (int)v[i].len, SQLITE_STATIC);
			break;
		}
	}
	int rc = store_step_done(s, st, rb->what, err);
	sqlite3_clear_bindings(st);
	return rc;
}

int rowbatch_flush(struct rowbatch *rb, struct store *s, struct ts_err *err)
{
	size_t rows = rowbatch_rows(rb), done = 0;
	int rc = 0;
	if (rows >= ROWBATCH_ROWS && !rb->many && !rb->many_failed) {
		/* an older SQLite with fewer host parameters: one row at a time */
		rb->many = prepare(s, rb->sql_many);
		rb->many_failed = !rb->many;
	}
	while (rc == 0 && rb->many && rows - done >= ROWBATCH_ROWS) {
		rc = run(rb, s, rb->many, done, ROWBATCH_ROWS, err);
		done += ROWBATCH_ROWS;
	}
	if (rc == 0 && done < rows && !rb->one && !(rb->one = prepare(s, rb->sql_one)))
		rc = store_fail(s, rb->what, err);
	while (rc == 0 && done < rows) {
		rc = run(rb, s, rb->one, done, 1, err);
		done++;
	}
	rb->n = 0;
	rb->arena.len = 0;
	return rc;
}

int rowbatch_flush_full(struct rowbatch *rb, struct store *s, struct ts_err *err)
{
	return rowbatch_rows(rb) >= ROWBATCH_ROWS ? rowbatch_flush(rb, s, err) : 0;
}
