/* SPDX-License-Identifier: Apache-2.0 */
/* Model versions in the store: import a normalised model as the next version
 * with its elements as rows, and load a version back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonload.h"
#include "engine/model/model.h"
#include "engine/model/model_native.h"

static const char SQL_LATEST[] = "SELECT version, content_hash FROM model_versions "
                                 "WHERE project_id = ?1 ORDER BY version DESC LIMIT 1";
static const char SQL_INSERT_VERSION[] =
    "INSERT INTO model_versions(project_id, version, content_hash, format, source_name, "
    "document, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_INSERT_ZONE[] =
    "INSERT INTO trust_zones(model_version_id, key, name, trust_level) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_INSERT_COMPONENT[] =
    "INSERT INTO components(model_version_id, key, type, name, trust_zone, parent, tags, "
    "properties, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_INSERT_FLOW[] =
    "INSERT INTO data_flows(model_version_id, key, source, destination, protocol, properties) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_INSERT_ASSET[] =
    "INSERT INTO data_assets(model_version_id, key, name, classification, properties) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_LOAD[] = "SELECT version, document FROM model_versions "
                               "WHERE project_id = ?1 AND version = ?2";
static const char SQL_LOAD_LATEST[] = "SELECT version, document FROM model_versions "
                                      "WHERE project_id = ?1 ORDER BY version DESC LIMIT 1";

/* Latest version and hash (hash may be NULL); version 0 when none. */
static int latest(struct store *s, int64_t project_id, int *ret_version, char hash[65],
                  struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LATEST);
	if (!st)
		return store_fail(s, "read latest model version", err);
	sqlite3_bind_int64(st, 1, project_id);
	int rc = sqlite3_step(st);
	*ret_version = 0;
	if (hash)
		hash[0] = '\0';
	if (rc == SQLITE_ROW) {
		*ret_version = sqlite3_column_int(st, 0);
		if (hash)
			snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
	} else if (rc != SQLITE_DONE) {
		return store_fail(s, "read latest model version", err);
	}
	sqlite3_reset(st);
	return 0;
}

int model_latest_version(struct store *s, int64_t project_id, int *ret_version, struct ts_err *err)
{
	return latest(s, project_id, ret_version, NULL, err);
}

/* Binds a member of element i as its canonical text, the span k of the
 * element's nspan spans in c (spans NULL: none); dflt when absent. The text
 * is c's: bound without a copy, so c outlives the statement's step. */
static void bind_span(sqlite3_stmt *st, int idx, const struct model_canon *c,
                      const struct model_span *spans, size_t i, size_t nspan, size_t k,
                      const char *dflt)
{
	const struct model_span *sp = spans ? &spans[i * nspan + k] : NULL;
	if (!sp || !sp->len) {
		sqlite3_bind_text(st, idx, dflt, -1, SQLITE_STATIC);
		return;
	}
	sqlite3_bind_text(st, idx, c->text + sp->off, (int)sp->len, SQLITE_STATIC);
}

/* Binds a string member; dflt (NULL: SQL NULL) when absent. */
static void bind_str(sqlite3_stmt *st, int idx, const json_t *obj, const char *key,
                     const char *dflt)
{
	const char *v = json_string_value(json_object_get(obj, key));
	if (!v)
		v = dflt;
	if (v)
		sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC); /* the model outlives the step */
	else
		sqlite3_bind_null(st, idx);
}

/* Binds the columns of one row of a kind at parameters base + 1 ...: element
 * i (e) of the model version mv. */
typedef void (*bind_row_fn)(sqlite3_stmt *st, int base, int64_t mv, const json_t *e,
                            const struct model_canon *c, size_t i);

static void bind_zone(sqlite3_stmt *st, int base, int64_t mv, const json_t *e,
                      const struct model_canon *c, size_t i)
{
	(void)c;
	(void)i;
	sqlite3_bind_int64(st, base + 1, mv);
	bind_str(st, base + 2, e, "id", NULL);
	bind_str(st, base + 3, e, "name", NULL);
	sqlite3_bind_int64(st, base + 4, json_integer_value(json_object_get(e, "trust_level")));
}

static void bind_component(sqlite3_stmt *st, int base, int64_t mv, const json_t *e,
                           const struct model_canon *c, size_t i)
{
	sqlite3_bind_int64(st, base + 1, mv);
	bind_str(st, base + 2, e, "id", NULL);
	bind_str(st, base + 3, e, "type", NULL);
	bind_str(st, base + 4, e, "name", NULL);
	bind_str(st, base + 5, e, "trust_zone", NULL);
	bind_str(st, base + 6, e, "parent", NULL);
	bind_span(st, base + 7, c, c->components, i, 3, 0, "[]");
	bind_span(st, base + 8, c, c->components, i, 3, 1, "{}");
	bind_span(st, base + 9, c, c->components, i, 3, 2, "{}");
}

static void bind_flow(sqlite3_stmt *st, int base, int64_t mv, const json_t *e,
                      const struct model_canon *c, size_t i)
{
	sqlite3_bind_int64(st, base + 1, mv);
	bind_str(st, base + 2, e, "id", NULL);
	bind_str(st, base + 3, e, "source", NULL);
	bind_str(st, base + 4, e, "destination", NULL);
	bind_str(st, base + 5, e, "protocol", "");
	bind_span(st, base + 6, c, c->flows, i, 1, 0, "{}");
}

static void bind_asset(sqlite3_stmt *st, int base, int64_t mv, const json_t *e,
                       const struct model_canon *c, size_t i)
{
	sqlite3_bind_int64(st, base + 1, mv);
	bind_str(st, base + 2, e, "id", NULL);
	bind_str(st, base + 3, e, "name", NULL);
	bind_str(st, base + 4, e, "classification", "");
	bind_span(st, base + 5, c, c->assets, i, 1, 0, "{}");
}

/* The rows of one element array: ROWS_MANY to a statement while that many
 * are left (one statement's cursors and constraint checks for all of them),
 * the rest one by one; in the array's order, so the ids are as one by one. */
struct row_kind {
	const char *member; /* of the model: "components" */
	const char *sql_one, *sql_many;
	int ncols;
	bind_row_fn bind;
	const char *what; /* for messages */
};

#define ROWS_MANY 16
#define ROWS4(r) r ", " r ", " r ", " r
#define ROWS16(r) ROWS4(r) ", " ROWS4(r) ", " ROWS4(r) ", " ROWS4(r)

static const char SQL_INSERT_COMPONENTS[] =
    "INSERT INTO components(model_version_id, key, type, name, trust_zone, parent, tags, "
    "properties, code) VALUES " ROWS16("(?, ?, ?, ?, ?, ?, ?, ?, ?)");
static const char SQL_INSERT_FLOWS[] =
    "INSERT INTO data_flows(model_version_id, key, source, destination, protocol, properties) "
    "VALUES " ROWS16("(?, ?, ?, ?, ?, ?)");

static const struct row_kind row_kinds[] = {
    {"trust_zones", SQL_INSERT_ZONE, NULL, 4, bind_zone, "insert trust zone"},
    {"components", SQL_INSERT_COMPONENT, SQL_INSERT_COMPONENTS, 9, bind_component,
     "insert component"},
    {"flows", SQL_INSERT_FLOW, SQL_INSERT_FLOWS, 6, bind_flow, "insert data flow"},
    {"data_assets", SQL_INSERT_ASSET, NULL, 5, bind_asset, "insert data asset"},
};

static int insert_kind(struct store *s, int64_t mv, const json_t *model,
                       const struct model_canon *c, const struct row_kind *k,
                       struct ts_err *err)
{
	json_t *arr = json_object_get(model, k->member);
	size_t n = json_array_size(arr);
	for (size_t i = 0; i < n;) {
		size_t rows = k->sql_many && n - i >= ROWS_MANY ? ROWS_MANY : 1;
		sqlite3_stmt *st = store_prepare(s, rows > 1 ? k->sql_many : k->sql_one);
		if (!st)
			return store_fail(s, k->what, err);
		for (size_t r = 0; r < rows; r++)
			k->bind(st, (int)r * k->ncols, mv, json_array_get(arr, i + r), c, i + r);
		if (sqlite3_step(st) != SQLITE_DONE)
			return store_fail(s, k->what, err);
		i += rows;
	}
	return 0;
}

static int insert_rows(struct store *s, int64_t mv, const json_t *model,
                       const struct model_canon *c, struct ts_err *err)
{
	for (size_t k = 0; k < TS_ARRAY_SIZE(row_kinds); k++) {
		int r = insert_kind(s, mv, model, c, &row_kinds[k], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int model_import(struct store *s, int64_t project_id, const json_t *model,
                 enum model_format detected, const char *source_name, int *ret_version,
                 bool *ret_unchanged, struct ts_err *err)
{
	char prev_hash[65];
	int prev = 0, r;
	if (detected == MODEL_FORMAT_AUTO)
		detected = MODEL_FORMAT_NATIVE;
	/* One canonical text: the document, its hash and every element's
	 * stored members are all cut from it. */
	struct model_canon canon;
	model_canon_build(model, &canon);
	const char *hash = canon.hash;
	/* Checked before the write transaction so an unchanged import writes nothing;
	 * checked again inside it against a concurrent import. */
	for (int pass = 0; pass < 2; pass++) {
		r = latest(s, project_id, &prev, prev_hash, err);
		if (r < 0)
			goto fail;
		if (prev > 0 && strcmp(prev_hash, hash) == 0) {
			if (pass == 1)
				store_rollback(s);
			if (ret_version)
				*ret_version = prev;
			if (ret_unchanged)
				*ret_unchanged = true;
			model_canon_free(&canon);
			return 0;
		}
		if (pass == 0 && store_begin(s) < 0) {
			r = store_fail(s, "begin model import", err);
			model_canon_free(&canon);
			return r;
		}
	}
	sqlite3_stmt *st = store_prepare(s, SQL_INSERT_VERSION);
	if (!st) {
		r = store_fail(s, "insert model version", err);
		goto fail;
	}
	char now[32];
	ts_now_iso(now);
	sqlite3_bind_int64(st, 1, project_id);
	sqlite3_bind_int(st, 2, prev + 1);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, model_format_name(detected), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, source_name ? source_name : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, canon.text, (int)canon.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = store_fail(s, "insert model version", err);
		goto fail;
	}
	sqlite3_reset(st); /* releases the borrowed document buffer */
	int64_t mv = sqlite3_last_insert_rowid(store_db(s));
	r = insert_rows(s, mv, model, &canon, err);
	if (r < 0)
		goto fail;
	if (store_commit(s) < 0) {
		r = store_fail(s, "commit model import", err);
		goto fail;
	}
	model_canon_free(&canon);
	if (ret_version)
		*ret_version = prev + 1;
	if (ret_unchanged)
		*ret_unchanged = false;
	return 0;
fail:
	store_rollback(s);
	model_canon_free(&canon);
	return r;
}

int model_load_text(struct store *s, int64_t project_id, int version, char **ret_text,
                    size_t *ret_len, int *ret_version, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, version > 0 ? SQL_LOAD : SQL_LOAD_LATEST);
	if (!st)
		return store_fail(s, "load model", err);
	sqlite3_bind_int64(st, 1, project_id);
	if (version > 0)
		sqlite3_bind_int(st, 2, version);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		if (version > 0)
			return ts_err_set(err, TS_E_NOTFOUND, "the model has no version %d",
			                  version);
		ts_err_set(err, TS_E_NOTFOUND, "no model imported yet (threatsync model import)");
		return -ENOENT;
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "load model", err);
	*ret_version = sqlite3_column_int(st, 0);
	const char *text = (const char *)sqlite3_column_text(st, 1);
	size_t len = text ? (size_t)sqlite3_column_bytes(st, 1) : 0;
	*ret_text = ts_malloc(len + 1);
	if (len)
		memcpy(*ret_text, text, len);
	(*ret_text)[len] = '\0';
	*ret_len = len;
	sqlite3_reset(st);
	return 0;
}

int model_parse_stored(const char *text, size_t len, int version, json_t **ret_model,
                       struct ts_err *err)
{
	json_error_t jerr;
	/* The stored text is a canonical dump: no duplicate keys to reject. */
	json_t *doc = ts_json_loadb(text, len, &jerr);
	if (!doc)
		return ts_err_set(err, TS_E_INVALID,
		                  "stored model version %d is not valid JSON: %s", version, jerr.text);
	*ret_model = doc;
	return 0;
}

int model_load(struct store *s, int64_t project_id, int version, json_t **ret_model,
               int *ret_version, struct ts_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int got = 0;
	int rc = model_load_text(s, project_id, version, &text, &len, &got, err);
	if (rc == 0)
		rc = model_parse_stored(text, len, got, ret_model, err);
	free(text);
	if (rc == 0 && ret_version)
		*ret_version = got;
	return rc;
}
