/* SPDX-License-Identifier: Apache-2.0 */
/* The stored state of the last generation and the components a change affects. */
#include "engine/generate/gen_state.h"

#include "engine/store/rowbatch.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_STATE_LOAD[] =
    "SELECT kind, key, digest, deps FROM generation_state WHERE project_id = ?1";
static const char SQL_STATE_CLEAR[] = "DELETE FROM generation_state WHERE project_id = ?1";
static const char SQL_STATE_PUT[] =
    "INSERT OR REPLACE INTO generation_state(project_id, kind, key, digest, deps) VALUES ";
static const char SQL_STATE_DELETE[] =
    "DELETE FROM generation_state WHERE project_id = ?1 AND kind = ?2 AND key = ?3";

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void gen_state_old_free(struct gen_state_old *old)
{
	json_decref(old->components);
	json_decref(old->flows);
	old->components = old->flows = NULL;
}

int gen_state_load(struct store *s, int64_t project_id, struct gen_state_old *old,
                   struct ts_err *err)
{
	memset(old, 0, sizeof(*old));
	old->components = json_object();
	old->flows = json_object();
	sqlite3_stmt *st = store_prepare(s, SQL_STATE_LOAD);
	if (!st)
		return store_fail(s, "load generation state", err);
	sqlite3_bind_int64(st, 1, project_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = store_col_text(st, 0), *key = store_col_text(st, 1);
		const char *digest = store_col_text(st, 2), *deps = store_col_text(st, 3);
		if (strcmp(kind, "context") == 0) {
			old->present = true;
			snprintf(old->context, sizeof(old->context), "%s", digest);
			old->version = atoi(deps);
			continue;
		}
		json_t *pair = json_array();
		json_array_append_new(pair, json_string(digest));
		json_array_append_new(pair, json_string(deps));
		json_object_set_new(strcmp(kind, "flow") == 0 ? old->flows : old->components, key,
		                    pair);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(s, "load generation state", err);
	return 0;
}

/* tag, n in decimal, ':' into b (by hand: this runs for every value of the
 * model). */
static void put_len(struct ts_buf *b, char tag, size_t n)
{
	char tmp[24];
	size_t k = sizeof(tmp);
	tmp[--k] = ':';
	do {
		tmp[--k] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	tmp[--k] = tag;
	ts_buf_append(b, tmp + k, sizeof(tmp) - k);
}

/* v's content into b, unambiguously: every value tagged, strings and keys
 * with their length, objects in the model's own key order (the same stored
 * model gives the same bytes; an equal one in another order only costs a
 * regeneration). Cheaper than a JSON dump, which formats and escapes. */
static void canon(struct ts_buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		put_len(b, '{', json_object_size(v));
		json_object_foreach ((json_t *)v, k, x) {
			size_t n = strlen(k);
			put_len(b, 'k', n);
			ts_buf_append(b, k, n);
			canon(b, x);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		put_len(b, '[', json_array_size(v));
		json_array_foreach (v, i, x)
			canon(b, x);
		break;
	}
	case JSON_STRING:
		put_len(b, 's', json_string_length(v));
		ts_buf_append(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		ts_buf_printf(b, "i%" JSON_INTEGER_FORMAT ";", json_integer_value(v));
		break;
	case JSON_REAL:
		ts_buf_printf(b, "r%.17g;", json_real_value(v));
		break;
	case JSON_TRUE:
		ts_buf_append(b, "t", 1);
		break;
	case JSON_FALSE:
		ts_buf_append(b, "f", 1);
		break;
	case JSON_NULL:
		ts_buf_append(b, "n", 1);
		break;
	}
}

/* Digests each element of list by id into out; b is a reused buffer. */
static void digest_all(const json_t *list, json_t *out, struct ts_buf *b)
{
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		const char *id = jstr(e, "id");
		if (!id)
			continue;
		b->len = 0;
		canon(b, e);
		char h[65];
		ts_sha256_hex(b->data ? b->data : "", b->len, h);
		json_object_set_new(out, id, json_string(h));
	}
}

json_t *gen_state_digest_list(const json_t *list)
{
	json_t *out = json_object();
	struct ts_buf b = {0};
	digest_all(list, out, &b);
	ts_buf_free(&b);
	return out;
}

static void mark(json_t *set, const char *id)
{
	if (id && *id)
		json_object_set_new(set, id, json_true());
}

/* Marks the ends of a stored flow ("source\ndestination"). */
static void mark_ends(json_t *set, const char *ends)
{
	const char *nl = ends ? strchr(ends, '\n') : NULL;
	if (!nl)
		return;
	json_object_setn_new(set, ends, (size_t)(nl - ends), json_true());
	mark(set, nl + 1);
}

/* Whether the '\n'-separated list deps names "*" or an id in set. */
static bool deps_hit(const char *deps, const json_t *set)
{
	while (deps && *deps) {
		const char *nl = strchr(deps, '\n');
		size_t n = nl ? (size_t)(nl - deps) : strlen(deps);
		if ((n == 1 && deps[0] == '*') || json_object_getn(set, deps, n))
			return true;
		deps = nl ? nl + 1 : NULL;
	}
	return false;
}

json_t *gen_state_dirty(const struct gen_state_old *old, const json_t *model,
                        const json_t *components, const json_t *flows,
                        json_t **ret_removed_flows)
{
	json_t *changed = json_object();
	*ret_removed_flows = json_array();
	const char *id;
	json_t *v;
	/* Components added or changed, then removed. */
	json_object_foreach ((json_t *)components, id, v) {
		json_t *o = json_object_get(old->components, id);
		if (!o || strcmp(json_string_value(json_array_get(o, 0)), json_string_value(v)) != 0)
			mark(changed, id);
	}
	json_object_foreach (old->components, id, v) {
		if (!json_object_get(components, id))
			mark(changed, id);
	}
	/* Flows: the ends before and after of each one added, changed or removed
	 * (a component's exposure and flow conditions read its flows). */
	size_t i;
	json_t *f;
	json_array_foreach (json_object_get(model, "flows"), i, f) {
		const char *fid = jstr(f, "id");
		json_t *o = fid ? json_object_get(old->flows, fid) : NULL;
		const char *now = fid ? json_string_value(json_object_get(flows, fid)) : NULL;
		if (o && now && strcmp(json_string_value(json_array_get(o, 0)), now) == 0)
			continue;
		mark(changed, jstr(f, "source"));
		mark(changed, jstr(f, "destination"));
		if (o)
			mark_ends(changed, json_string_value(json_array_get(o, 1)));
	}
	json_object_foreach (old->flows, id, v) {
		if (json_object_get(flows, id))
			continue;
		mark_ends(changed, json_string_value(json_array_get(v, 1)));
		json_array_append_new(*ret_removed_flows, json_string(id));
	}
	/* Components whose last decision read a changed one. */
	json_t *dirty = json_deep_copy(changed);
	json_object_foreach ((json_t *)components, id, v) {
		json_t *o = json_object_get(old->components, id);
		if (o && !json_object_get(dirty, id) &&
		    deps_hit(json_string_value(json_array_get(o, 1)), changed))
			mark(dirty, id);
	}
	json_decref(changed);
	return dirty;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *gen_state_deps_text(const json_t *set, const char *self)
{
	if (json_object_get(set, "*"))
		return ts_strdup("*");
	size_t n = json_object_size(set), k = 0;
	const char **ids = ts_malloc((n + 1) * sizeof(*ids));
	const char *id;
	json_t *v;
	json_object_foreach ((json_t *)set, id, v) {
		if (!self || strcmp(id, self) != 0)
			ids[k++] = id;
	}
	qsort(ids, k, sizeof(*ids), cmp_str);
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	for (size_t i = 0; i < k; i++) {
		if (i)
			ts_buf_append(&b, "\n", 1);
		ts_buf_puts(&b, ids[i]);
	}
	free(ids);
	return ts_buf_steal(&b);
}

/* Queues one row; written ROWBATCH_ROWS at a time. */
static int put(struct store *s, struct rowbatch *rb, int64_t project_id, const char *kind,
               const char *key, const char *digest, const char *deps, struct ts_err *err)
{
	rowbatch_int(rb, project_id);
	rowbatch_text(rb, kind);
	rowbatch_text(rb, key);
	rowbatch_text(rb, digest);
	rowbatch_text(rb, deps ? deps : "");
	return rowbatch_flush_full(rb, s, err);
}

static int drop(struct store *s, int64_t project_id, const char *kind, const char *key,
                struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_STATE_DELETE);
	if (!st)
		return store_fail(s, "store generation state", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_static(st, 2, kind);
	store_bind_static(st, 3, key);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : store_fail(s, "store generation state", err);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static const char SQL_STATE_CONTEXT[] = "SELECT digest, deps FROM generation_state"
                                        " WHERE project_id = ?1 AND kind = 'context'";

int gen_state_unchanged(struct store *s, int64_t project_id, const struct gen_state_old *old,
                        struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_STATE_CONTEXT);
	if (!st)
		return store_fail(s, "load generation state", err);
	sqlite3_bind_int64(st, 1, project_id);
	int r = sqlite3_step(st), same;
	if (r == SQLITE_ROW)
		same = old->present && strcmp(store_col_text(st, 0), old->context) == 0 &&
		       atoi(store_col_text(st, 1)) == old->version;
	else
		same = !old->present;
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "load generation state", err);
	return same;
}

int gen_state_store_flows(struct store *s, int64_t project_id, const char *context, int version,
                          const json_t *model, const json_t *flows, const json_t *dirty,
                          const struct gen_state_old *old, struct ts_err *err)
{
	int rc = 0;
	if (!dirty) {
		sqlite3_stmt *st = store_prepare(s, SQL_STATE_CLEAR);
		if (!st)
			return store_fail(s, "store generation state", err);
		sqlite3_bind_int64(st, 1, project_id);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : store_fail(s, "store generation state", err);
		sqlite3_reset(st);
		if (rc < 0)
			return rc;
	}
	char ver[24];
	snprintf(ver, sizeof(ver), "%d", version);
	struct rowbatch *rb = rowbatch_new(SQL_STATE_PUT, "", 5, "store generation state");
	if ((rc = put(s, rb, project_id, "context", "", context, ver, err)) < 0)
		goto out;
	size_t i;
	json_t *f;
	json_array_foreach (json_object_get(model, "flows"), i, f) {
		const char *fid = jstr(f, "id");
		const char *digest = fid ? json_string_value(json_object_get(flows, fid)) : NULL;
		if (!digest)
			continue;
		json_t *o = dirty ? json_object_get(old->flows, fid) : NULL;
		if (o && strcmp(json_string_value(json_array_get(o, 0)), digest) == 0)
			continue;
		char *ends = ts_asprintf("%s\n%s", jstr(f, "source") ? jstr(f, "source") : "",
		                         jstr(f, "destination") ? jstr(f, "destination") : "");
		rc = put(s, rb, project_id, "flow", fid, digest, ends, err);
		free(ends);
		if (rc < 0)
			goto out;
	}
	if ((rc = rowbatch_flush(rb, s, err)) < 0 || !dirty)
		goto out;
	const char *id;
	json_t *v;
	json_object_foreach (old->flows, id, v) {
		if (!json_object_get(flows, id) && (rc = drop(s, project_id, "flow", id, err)) < 0)
			goto out;
	}
out:
	rowbatch_free(rb);
	return rc;
}

int gen_state_store_components(struct store *s, int64_t project_id, const json_t *components,
                               const json_t *deps, const json_t *dirty,
                               const struct gen_state_old *old, struct ts_err *err)
{
	int rc = 0;
	struct rowbatch *rb = rowbatch_new(SQL_STATE_PUT, "", 5, "store generation state");
	const char *id;
	json_t *v;
	json_object_foreach ((json_t *)components, id, v) {
		if (dirty && !json_object_get(dirty, id))
			continue;
		char *text = gen_state_deps_text(json_object_get(deps, id), id);
		rc = put(s, rb, project_id, "component", id, json_string_value(v), text, err);
		free(text);
		if (rc < 0)
			goto out;
	}
	if ((rc = rowbatch_flush(rb, s, err)) < 0 || !dirty)
		goto out;
	json_object_foreach (old->components, id, v) {
		if (!json_object_get(components, id) &&
		    (rc = drop(s, project_id, "component", id, err)) < 0)
			goto out;
	}
out:
	rowbatch_free(rb);
	return rc;
}
