/* SPDX-License-Identifier: Apache-2.0 */
/* Loads the source of a task's ticket from the stored countermeasure. */
#include "engine/tracking/ticket_source.h"

#include <stdlib.h>
#include <string.h>

#include "engine/generate/gen_state.h"
#include "engine/generate/generate.h"
#include "engine/tracking/marker.h"

static const char SQL_TASK[] =
    "SELECT c.uid, c.title, c.priority, c.due_date, c.body, c.content_hash, "
    GEN_LAST_VERSION_SQL("c") ","
    " c.state, p.slug, x.hash, x.body, coalesce(c.marker_key, c.uid) FROM countermeasures c"
    " JOIN projects p ON p.id = c.project_id"
    " LEFT JOIN countermeasure_texts x ON x.hash = c.text_hash WHERE c.id = ?1";

struct ticket_texts {
	json_t *by_hash; /* hash -> parsed text (an object) */
};

struct ticket_texts *ticket_texts_new(void)
{
	struct ticket_texts *c = ts_calloc(1, sizeof(*c));
	c->by_hash = json_object();
	return c;
}

void ticket_texts_free(struct ticket_texts *c)
{
	if (!c)
		return;
	json_decref(c->by_hash);
	free(c);
}

static json_t *parse_object(const char *text)
{
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(v)) {
		json_decref(v);
		v = json_object();
	}
	return v;
}

/* The library text hash (NULL: none) as an object, new reference: from the
 * cache, or parsed from text and remembered there. */
static json_t *library_text(struct ticket_texts *c, const char *hash, const char *text)
{
	if (!hash)
		return json_object();
	json_t *v = c ? json_object_get(c->by_hash, hash) : NULL;
	if (v)
		return json_incref(v);
	v = parse_object(text);
	if (c) {
		if (json_object_size(c->by_hash) >= TICKET_TEXTS_MAX)
			json_object_clear(c->by_hash);
		json_object_set(c->by_hash, hash, v);
	}
	return v;
}

/* RFC 7396 merge of patch over base, as SQLite's json_patch: a null member
 * removes, an object merges recursively, anything else replaces; members of
 * base keep their order, new ones follow. New reference; base's values are
 * shared, never changed. */
static json_t *merge_patch(const json_t *base, json_t *patch)
{
	if (!json_is_object(patch))
		return json_incref(patch);
	json_t *out = json_object();
	if (json_is_object(base))
		json_object_update(out, (json_t *)base);
	const char *k;
	json_t *v;
	json_object_foreach (patch, k, v) {
		if (json_is_null(v))
			json_object_del(out, k);
		else
			json_object_set_new(out, k, merge_patch(json_object_get(out, k), v));
	}
	return out;
}

char *ticket_summary(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		/* Back up over continuation bytes to the start of a character. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	char *out = ts_strndup(s, n);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return out;
}

static int severity_rank(const char *s)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i + 1;
	return 0;
}

/* The highest severity among body.threats[].severity. */
static const char *highest_severity(const json_t *body)
{
	const char *best = NULL;
	size_t i;
	json_t *t;
	json_array_foreach (json_object_get(body, "threats"), i, t) {
		const char *sev = json_string_value(json_object_get(t, "severity"));
		if (severity_rank(sev) > severity_rank(best))
			best = sev;
	}
	return best ? best : "medium";
}

int ticket_source_load(struct store *s, int64_t countermeasure_id, struct ticket_source **ret,
                       struct ts_err *err)
{
	return ticket_source_load_cached(s, NULL, countermeasure_id, ret, err);
}

int ticket_source_load_cached(struct store *s, struct ticket_texts *texts,
                              int64_t countermeasure_id, struct ticket_source **ret,
                              struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_TASK);
	if (!st)
		return store_fail(s, "load task", err);
	sqlite3_bind_int64(st, 1, countermeasure_id);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		int rc = r == SQLITE_DONE
		             ? ts_err_set(err, TS_E_NOTFOUND, "no task with row id %lld",
		                          (long long)countermeasure_id)
		             : store_fail(s, "load task", err);
		sqlite3_reset(st);
		return rc;
	}
	struct ticket_source *t = ts_calloc(1, sizeof(*t));
	t->countermeasure_id = countermeasure_id;
	t->cm_uid = ts_strdup((const char *)sqlite3_column_text(st, 0));
	t->summary = ticket_summary((const char *)sqlite3_column_text(st, 1), TICKET_SUMMARY_MAX);
	t->priority = sqlite3_column_int(st, 2);
	t->due_date = ts_strdup((const char *)sqlite3_column_text(st, 3));
	json_t *text = library_text(texts, (const char *)sqlite3_column_text(st, 9),
	                            (const char *)sqlite3_column_text(st, 10));
	json_t *own = parse_object((const char *)sqlite3_column_text(st, 4));
	t->body = merge_patch(text, own);
	json_decref(own);
	json_decref(text);
	t->content_hash = ts_strdup((const char *)sqlite3_column_text(st, 5));
	t->model_version = sqlite3_column_int(st, 6);
	const char *state = (const char *)sqlite3_column_text(st, 7);
	t->active = state && strcmp(state, "active") == 0;
	t->project_slug = ts_strdup((const char *)sqlite3_column_text(st, 8));
	/* A task renamed by a library merge keeps the marker of its first uid. */
	marker_make(t->project_slug, (const char *)sqlite3_column_text(st, 11), t->marker);
	sqlite3_reset(st);
	t->severity = ts_strdup(highest_severity(t->body));
	t->link_back = ts_asprintf("threatsync task %s of project %s", t->cm_uid, t->project_slug);

	*ret = t;
	return 0;
}

void ticket_source_free(struct ticket_source *t)
{
	if (!t)
		return;
	free(t->project_slug);
	free(t->cm_uid);
	free(t->summary);
	json_decref(t->body);
	free(t->severity);
	free(t->due_date);
	free(t->content_hash);
	free(t->link_back);
	free(t);
}
