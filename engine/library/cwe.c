/* SPDX-License-Identifier: Apache-2.0 */
/* Loading of the compact CWE catalog and lookups by id and by ancestry. */
#include "engine/library/cwe.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deeper than any real CWE chain (the longest in view 1000 has under 10 steps);
 * bounds the search even if a broken file had a cycle. */
#define CWE_MAX_DEPTH 32

struct cwe_entry {
	int id;
	char *name;
	char *abstraction;
	int *parents;
	size_t n_parents;
};

struct cwe_catalog {
	char *version;
	struct cwe_entry *entries; /* sorted by id */
	size_t n;
};

void cwe_catalog_free(struct cwe_catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->n; i++) {
		free(cat->entries[i].name);
		free(cat->entries[i].abstraction);
		free(cat->entries[i].parents);
	}
	free(cat->entries);
	free(cat->version);
	free(cat);
}

static int cmp_entry(const void *a, const void *b)
{
	int x = ((const struct cwe_entry *)a)->id, y = ((const struct cwe_entry *)b)->id;
	return (x > y) - (x < y);
}

static int parse_rows(struct cwe_catalog *cat, const char *file, json_t *rows,
		      struct ts_err *err)
{
	if (!json_is_array(rows))
		return ts_err_set(err, TS_E_INVALID, "%s: $.weaknesses: expected an array", file);
	cat->n = json_array_size(rows);
	cat->entries = ts_calloc(cat->n, sizeof(*cat->entries));
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		json_t *id = json_array_get(r, 0), *name = json_array_get(r, 1);
		json_t *abs = json_array_get(r, 2), *parents = json_array_get(r, 3);
		if (!json_is_array(r) || !json_is_integer(id) || json_integer_value(id) < 1 ||
		    json_integer_value(id) > 100000 || !json_is_string(name) ||
		    !(json_is_string(abs) || json_is_null(abs)) || !json_is_array(parents))
			return ts_err_set(err, TS_E_INVALID,
					  "%s: $.weaknesses[%zu]: expected [id, name, abstraction, "
					  "[parent ids]]",
					  file, i);
		struct cwe_entry *e = &cat->entries[i];
		e->id = (int)json_integer_value(id);
		e->name = ts_strdup(json_string_value(name));
		e->abstraction = ts_strdup(json_string_value(abs));
		e->n_parents = json_array_size(parents);
		e->parents = ts_calloc(e->n_parents, sizeof(int));
		for (size_t k = 0; k < e->n_parents; k++) {
			json_t *p = json_array_get(parents, k);
			if (!json_is_integer(p))
				return ts_err_set(err, TS_E_INVALID,
						  "%s: $.weaknesses[%zu][3][%zu]: expected an id", file,
						  i, k);
			e->parents[k] = (int)json_integer_value(p);
		}
	}
	qsort(cat->entries, cat->n, sizeof(*cat->entries), cmp_entry);
	for (i = 1; i < cat->n; i++)
		if (cat->entries[i].id == cat->entries[i - 1].id)
			return ts_err_set(err, TS_E_INVALID, "%s: $.weaknesses: CWE-%d listed twice",
					  file, cat->entries[i].id);
	return 0;
}

int cwe_catalog_load(const char *const *dirs, size_t n_dirs, struct cwe_catalog **ret_cat,
		     struct ts_err *err)
{
	char *file = NULL;
	for (size_t i = n_dirs; i-- > 0 && !file;) {
		char *f = ts_asprintf("%s/%s", dirs[i], CWE_FILE_NAME);
		if (access(f, R_OK) == 0)
			file = f;
		else
			free(f);
	}
	if (!file) {
		ts_err_set(err, TS_E_NOTFOUND, "no %s in the library directories", CWE_FILE_NAME);
		return -ENOENT;
	}
	char *data = NULL;
	size_t len = 0;
	int rc = ts_read_file(file, CWE_FILE_MAX, &data, &len);
	if (rc < 0) {
		ts_err_set(err, rc == -EFBIG ? TS_E_INVALID : TS_E_NOTFOUND, "%s: %s", file,
			   rc == -EFBIG ? "file too large" : strerror(-rc));
		free(file);
		return rc;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!doc) {
		rc = ts_err_set(err, TS_E_INVALID, "%s:%d:%d: invalid JSON: %s", file, jerr.line,
				jerr.column, jerr.text);
		free(file);
		return rc;
	}
	struct cwe_catalog *cat = ts_calloc(1, sizeof(*cat));
	cat->version = ts_strdup(json_string_value(json_object_get(doc, "version")));
	rc = parse_rows(cat, file, json_object_get(doc, "weaknesses"), err);
	json_decref(doc);
	free(file);
	if (rc < 0) {
		cwe_catalog_free(cat);
		return rc;
	}
	*ret_cat = cat;
	return 0;
}

size_t cwe_catalog_size(const struct cwe_catalog *cat)
{
	return cat ? cat->n : 0;
}

const char *cwe_catalog_version(const struct cwe_catalog *cat)
{
	return cat ? cat->version : NULL;
}

static const struct cwe_entry *find(const struct cwe_catalog *cat, int id)
{
	if (!cat)
		return NULL;
	struct cwe_entry key = {.id = id};
	return bsearch(&key, cat->entries, cat->n, sizeof(key), cmp_entry);
}

const char *cwe_name(const struct cwe_catalog *cat, int id)
{
	const struct cwe_entry *e = find(cat, id);
	return e ? e->name : NULL;
}

const char *cwe_abstraction(const struct cwe_catalog *cat, int id)
{
	const struct cwe_entry *e = find(cat, id);
	return e ? e->abstraction : NULL;
}

static int distance(const struct cwe_catalog *cat, int ancestor, int id, int depth)
{
	if (id == ancestor)
		return 0;
	if (depth >= CWE_MAX_DEPTH)
		return -1;
	const struct cwe_entry *e = find(cat, id);
	int best = -1;
	for (size_t i = 0; e && i < e->n_parents; i++) {
		int d = distance(cat, ancestor, e->parents[i], depth + 1);
		if (d >= 0 && (best < 0 || d + 1 < best))
			best = d + 1;
	}
	return best;
}

int cwe_distance(const struct cwe_catalog *cat, int ancestor, int id)
{
	return distance(cat, ancestor, id, 0);
}

bool cwe_is_ancestor(const struct cwe_catalog *cat, int ancestor, int id)
{
	return cwe_distance(cat, ancestor, id) >= 0;
}

int cwe_path(const struct cwe_catalog *cat, int ancestor, int id, int *path, size_t max)
{
	int d = cwe_distance(cat, ancestor, id);
	if (d < 0 || (size_t)d + 1 > max)
		return -1;
	size_t n = 0;
	path[n++] = id;
	while (id != ancestor) {
		const struct cwe_entry *e = find(cat, id);
		int next = -1;
		for (size_t i = 0; e && i < e->n_parents; i++) {
			int p = e->parents[i];
			if (distance(cat, ancestor, p, 0) == d - 1 && (next < 0 || p < next))
				next = p;
		}
		if (next < 0)
			return -1; /* cannot happen: d said there is a way */
		id = next;
		d--;
		path[n++] = id;
	}
	return (int)n;
}
