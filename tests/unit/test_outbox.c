/* SPDX-License-Identifier: Apache-2.0 */
/* The outbox state machine, ticket links and remote status application in the
 * store (engine/tracking/outbox.c), on a database filled by the real generator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tracking/outbox.h"
#include "engine/tracking/remote_apply.h"
#include "engine/tracking/status_report.h"
#include "engine/tracking/ticket.h"
#include "engine/tracking/ticket_source.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

static const char *NOW = "2026-11-22T10:00:00.000Z";

static void open_generated(struct gu *g)
{
	char *conf = ts_asprintf("%s/tests/data/generate/gen.conf", tu_env("TS_SOURCE_DIR"));
	char *model = ts_asprintf("%s/tests/data/generate/shop.json", tu_env("TS_SOURCE_DIR"));
	gu_open(g, conf);
	gu_import(g, "tracked", model);
	json_t *sum = gu_generate(g, "tracked", "2026-11-01T00:00:00.000Z");
	json_decref(sum);
	free(conf);
	free(model);
	assert_true(gu_int(g, "SELECT count(*) FROM outbox WHERE op = 'create'") >= 2);
}

static struct outbox_op *claim(struct gu *g, int64_t now_ms, size_t limit, size_t *ret_n)
{
	struct outbox_op *ops = NULL;
	struct ts_err err = {0};
	assert_int_equal(outbox_claim(g->s, "gl", now_ms, limit, NOW, &ops, ret_n, &err), 0);
	return ops;
}

static void link_op(struct gu *g, const struct outbox_op *op, const char *key)
{
	struct ticket_source *t = NULL;
	struct ts_err err = {0};
	assert_int_equal(ticket_source_load(g->s, op->countermeasure_id, &t, &err), 0);
	struct outbox_remote r = {.connector = "gl",
	                          .key = key,
	                          .id = "1",
	                          .url = "http://x/1",
	                          .marker = t->marker,
	                          .status = "opened",
	                          .status_category = "new",
	                          .updated = "2026-11-22T10:00:00Z"};
	int64_t ticket = 0;
	assert_int_equal(outbox_link(g->s, op, t->marker, &r, t->content_hash, NOW, &ticket, &err),
	                 0);
	assert_true(ticket > 0);
	ticket_source_free(t);
}

/* SQLite's own json_patch of the task's library text and its body: what
 * ticket_source_load reproduced before it merged in C (the oracle). */
static char *sql_patched(struct gu *g, int64_t id)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(store_db(g->s),
	                       "SELECT json_patch(coalesce(x.body, '{}'), c.body) FROM countermeasures c"
	                       " LEFT JOIN countermeasure_texts x ON x.hash = c.text_hash"
	                       " WHERE c.id = ?1",
	                       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	json_t *v = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_finalize(st);
	assert_non_null(v);
	char *out = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return out;
}

static void check_bodies(struct gu *g, struct ticket_texts *texts)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(store_db(g->s), "SELECT id FROM countermeasures", -1, &st,
	                                    NULL),
	                 SQLITE_OK);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct ticket_source *t = NULL;
		struct ts_err err = {0};
		assert_int_equal(ticket_source_load_cached(g->s, texts, id, &t, &err), 0);
		char *got = json_dumps(t->body, JSON_COMPACT);
		char *want = sql_patched(g, id);
		assert_string_equal(got, want);
		free(got);
		free(want);
		ticket_source_free(t);
		n++;
	}
	sqlite3_finalize(st);
	assert_true(n > 2);
}

/* A task's body is its library text with its own fields merged over it,
 * exactly as SQLite's json_patch merges (same members, same order), with or
 * without the parsed-text cache, and with the RFC 7396 cases the generator
 * does not produce (null removes, objects merge, arrays replace). */
static void test_task_body_merge(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	check_bodies(&g, NULL);
	struct ticket_texts *texts = ticket_texts_new();
	check_bodies(&g, texts);
	check_bodies(&g, texts); /* now from the cache: the texts were not changed */
	char *err = NULL;
	assert_int_equal(
	    sqlite3_exec(store_db(g.s),
	                 "UPDATE countermeasures SET body = json_set(body, '$.requirement', json('null'),"
	                 " '$.how_to', json('{\"zz\": \"added\", \"java\": null}'),"
	                 " '$.training', json('[1, {\"a\": null}]'), '$.new', json('{\"x\": null}'))"
	                 " WHERE text_hash IS NOT NULL",
	                 NULL, NULL, &err),
	    SQLITE_OK);
	check_bodies(&g, texts);
	check_bodies(&g, NULL);
	ticket_texts_free(texts);
	ticket_texts_free(NULL);
	gu_close(&g);
}

static void test_claim_and_link(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	long long total = gu_int(&g, "SELECT count(*) FROM outbox WHERE state = 'pending'");
	size_t n = 0;
	struct outbox_op *ops = claim(&g, 1000, 2, &n);
	assert_int_equal(n, 2);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE state = 'inflight'"), 2);
	assert_string_equal(ops[0].op, "create");
	assert_string_equal(ops[0].project_slug, "tracked");
	assert_true(ops[0].countermeasure_id > 0);
	assert_null(ops[0].remote_key);
	assert_false(ops[0].outcome_unknown);
	/* Claimed rows are not claimed again. */
	size_t n2 = 0;
	struct outbox_op *more = claim(&g, 1000, 100, &n2);
	assert_int_equal((long long)n2, total - 2);
	outbox_ops_free(more, n2);

	link_op(&g, &ops[0], "acme/shop#1");
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE state = 'done'"), 1);
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures c JOIN tickets t ON t.id = c.ticket_id"
	         " WHERE c.id = %lld AND t.remote_key = 'acme/shop#1' AND t.marker LIKE "
	         "'threatsync-%%' AND t.content_hash = c.content_hash",
	         (long long)ops[0].countermeasure_id);
	assert_int_equal(gu_int(&g, sql), 1);
	outbox_ops_free(ops, n);
	gu_close(&g);
}

static void test_fail_backoff_and_dead(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	size_t n = 0;
	struct outbox_op *ops = claim(&g, 1000, 1, &n);
	assert_int_equal(n, 1);
	int64_t id = ops[0].id;
	struct ts_err err = {0};
	bool dead = true;
	assert_int_equal(
	    outbox_fail(g.s, &ops[0], "HTTP 500: boom", false, 5000, 3, 1000, NOW, &dead, &err), 0);
	assert_false(dead);
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE id = %lld AND state = 'failed' AND attempts = 1"
	         " AND next_attempt_at = 6000 AND last_error = 'HTTP 500: boom'",
	         (long long)id);
	assert_int_equal(gu_int(&g, sql), 1);
	outbox_ops_free(ops, n);

	/* Not due before its time; due at it (and before newer pending rows). */
	for (int attempt = 2; attempt <= 3; attempt++) {
		struct outbox_op *all = claim(&g, 5999, 100, &n);
		for (size_t i = 0; i < n; i++)
			assert_true(all[i].id != id);
		/* Finish them so only the failed row matters below. */
		for (size_t i = 0; i < n; i++)
			assert_int_equal(outbox_complete(g.s, &all[i], NULL, NULL, NULL, NOW, &err),
			                 0);
		outbox_ops_free(all, n);
		ops = claim(&g, attempt == 2 ? 6000 : 100000, 1, &n);
		assert_int_equal(n, 1);
		assert_int_equal(ops[0].id, id);
		assert_int_equal(ops[0].attempts, attempt - 1);
		assert_int_equal(outbox_fail(g.s, &ops[0], "HTTP 400: Field 'x' cannot be set.",
		                             false, 90000, 3, 10000, NOW, &dead, &err),
		                 0);
		assert_int_equal(dead, attempt == 3);
		outbox_ops_free(ops, n);
	}
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE id = %lld AND state = 'dead' AND attempts = 3",
	         (long long)id);
	assert_int_equal(gu_int(&g, sql), 1);
	/* A dead row is never claimed. */
	ops = claim(&g, INT64_MAX / 2, 1000, &n);
	for (size_t i = 0; i < n; i++)
		assert_true(ops[i].id != id);
	outbox_ops_free(ops, n);

	json_t *doc = NULL;
	assert_int_equal(status_report_json(g.s, "tracked", &doc, &err), 0);
	json_t *p = json_array_get(json_object_get(doc, "projects"), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "outbox"), "dead")),
	                 1);
	json_t *d = json_array_get(json_object_get(p, "dead"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "last_error")),
	                    "HTTP 400: Field 'x' cannot be set.");
	json_decref(doc);
	assert_int_equal(status_report_json(g.s, "nope", &doc, &err), TS_E_NOTFOUND);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	gu_close(&g);
}

static void test_recover_inflight(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	size_t n = 0;
	struct outbox_op *ops = claim(&g, 1000, 3, &n);
	assert_int_equal(n, 3);
	outbox_ops_free(ops, n);
	/* The process dies here; the next one recovers. */
	int recovered = 0;
	struct ts_err err = {0};
	assert_int_equal(outbox_recover(g.s, NULL, NOW, &recovered, &err), 0);
	assert_int_equal(recovered, 3);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE state = 'inflight'"), 0);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE"
	                            " json_extract(payload, '$.outcome_unknown') = 1"),
	                 3);
	ops = claim(&g, 1000, 100, &n);
	size_t unknown = 0;
	for (size_t i = 0; i < n; i++)
		unknown += ops[i].outcome_unknown;
	assert_int_equal(unknown, 3);
	/* Linking clears the flag. */
	for (size_t i = 0; i < n; i++)
		if (ops[i].outcome_unknown) {
			link_op(&g, &ops[i], "acme/shop#7");
			break;
		}
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE state = 'done' AND"
	                            " json_extract(payload, '$.outcome_unknown') IS NULL"),
	                 1);
	outbox_ops_free(ops, n);
	gu_close(&g);
}

static void test_task_rows_in_order(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	/* An update queued behind the task's pending create waits for it. */
	long long cm = gu_int(&g, "SELECT min(countermeasure_id) FROM outbox");
	char sql[512];
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO outbox(project_id, connector, op, countermeasure_id, payload, state,"
	    " created_at, updated_at) SELECT project_id, 'gl', 'update', %lld, '{}', 'pending',"
	    " 'x', 'x' FROM countermeasures WHERE id = %lld",
	    cm, cm);
	assert_int_equal(sqlite3_exec(store_db(g.s), sql, NULL, NULL, NULL), SQLITE_OK);
	size_t n = 0;
	struct outbox_op *ops = claim(&g, 1000, 100, &n);
	struct outbox_op *create = NULL;
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ops[i].op, "create");
		if (ops[i].countermeasure_id == cm)
			create = &ops[i];
	}
	assert_non_null(create);
	link_op(&g, create, "acme/shop#3");
	size_t n2 = 0;
	struct outbox_op *next = claim(&g, 1000, 100, &n2);
	assert_int_equal(n2, 1);
	assert_string_equal(next[0].op, "update");
	assert_string_equal(next[0].remote_key, "acme/shop#3");
	assert_true(next[0].ticket_id > 0);
	outbox_ops_free(next, n2);
	outbox_ops_free(ops, n);
	gu_close(&g);
}

static int apply(struct gu *g, struct outbox_remote *r, struct outbox_apply *res)
{
	struct ts_err err = {0};
	assert_int_equal(store_begin(g->s), 0);
	int rc = outbox_apply_remote(g->s, NULL, r, "poll", NOW, res, &err);
	assert_int_equal(store_commit(g->s), 0);
	return rc;
}

static void test_apply_remote_status(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	size_t n = 0;
	struct outbox_op *ops = claim(&g, 1000, 1, &n);
	link_op(&g, &ops[0], "acme/shop#9");
	long long cm = ops[0].countermeasure_id;
	outbox_ops_free(ops, n);
	char sql[512];

	/* Unknown ticket: ignored. */
	struct outbox_apply res;
	struct outbox_remote r = {.connector = "gl",
	                          .key = "acme/shop#404",
	                          .status_category = "done",
	                          .updated = "2026-11-22T11:00:00Z"};
	assert_int_equal(apply(&g, &r, &res), 0);
	assert_false(res.matched);

	/* By key: in progress, with a history row. */
	r = (struct outbox_remote){.connector = "gl",
	                           .key = "acme/shop#9",
	                           .status = "Doing",
	                           .status_category = "indeterminate",
	                           .actor = "alice",
	                           .updated = "2026-11-22T11:00:00Z"};
	assert_int_equal(apply(&g, &r, &res), 0);
	assert_true(res.matched);
	assert_int_equal(res.changed, 1);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM status_history WHERE countermeasure_id = %lld AND"
	         " source = 'poll' AND from_status = 'todo' AND to_status = 'in_progress' AND"
	         " actor = 'alice' AND remote_time = '2026-11-22T11:00:00Z'",
	         cm);
	assert_int_equal(gu_int(&g, sql), 1);

	/* The same fields.updated again (an overlapping poll): nothing. */
	r.status_category = "done";
	assert_int_equal(apply(&g, &r, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.changed, 0);
	snprintf(sql, sizeof(sql),
	         "SELECT status = 'in_progress' FROM countermeasures WHERE id = %lld", cm);
	assert_int_equal(gu_int(&g, sql), 1);

	/* Won't Do: a risk acceptance from the tracker, with its reason. */
	r.updated = "2026-11-22T12:00:00Z";
	r.resolution = "Won't Do";
	r.comment = "handled by the WAF";
	assert_int_equal(apply(&g, &r, &res), 0);
	assert_int_equal(res.changed, 1);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures c JOIN overrides o ON o.target_uid = c.uid"
	         " WHERE c.id = %lld AND c.status = 'risk_accepted' AND o.revoked_at IS NULL AND"
	         " o.reason LIKE '%%Won''t Do%%handled by the WAF%%'",
	         cm);
	assert_int_equal(gu_int(&g, sql), 1);
	/* Regeneration keeps it (the override is in force). */
	json_decref(gu_generate(&g, "tracked", "2026-11-23T00:00:00.000Z"));
	snprintf(sql, sizeof(sql),
	         "SELECT status = 'risk_accepted' FROM countermeasures WHERE id = %lld", cm);
	assert_int_equal(gu_int(&g, sql), 1);

	/* Reopened by a human: back to todo, the acceptance revoked. */
	r = (struct outbox_remote){.connector = "gl",
	                           .key = "acme/shop#9",
	                           .status_category = "new",
	                           .updated = "2026-11-22T13:00:00Z"};
	assert_int_equal(apply(&g, &r, &res), 0);
	assert_int_equal(res.changed, 1);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures c JOIN overrides o ON o.target_uid = c.uid"
	         " WHERE c.id = %lld AND c.status = 'todo' AND o.revoked_at IS NOT NULL",
	         cm);
	assert_int_equal(gu_int(&g, sql), 1);

	/* A status threatsync set itself is not touched by the tracker. */
	snprintf(sql, sizeof(sql),
	         "UPDATE countermeasures SET status = 'not_applicable' WHERE id = %lld", cm);
	assert_int_equal(sqlite3_exec(store_db(g.s), sql, NULL, NULL, NULL), SQLITE_OK);
	r.status_category = "done";
	r.updated = "2026-11-22T14:00:00Z";
	assert_int_equal(apply(&g, &r, &res), 0);
	assert_true(res.matched);
	assert_int_equal(res.changed, 0);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM tickets WHERE remote_key = 'acme/shop#9' AND"
	         " remote_updated = '2026-11-22T14:00:00Z' AND remote_status_category = 'done'");
	assert_int_equal(gu_int(&g, sql), 1);
	gu_close(&g);
}

static void test_backoff_and_summary(void **state)
{
	(void)state;
	for (uint64_t rnd = 0; rnd < 5000; rnd += 7) {
		assert_true(ts_backoff_ms(0, 1000, 60000, rnd * 2654435761u) <= 1000);
		assert_true(ts_backoff_ms(3, 1000, 60000, rnd * 2654435761u) <= 8000);
		assert_true(ts_backoff_ms(30, 1000, 60000, rnd * 2654435761u) <= 60000);
	}
	assert_int_equal(ts_backoff_ms(3, 1000, 60000, 8000), 8000);
	char *s = ticket_summary("line one\nline two", 255);
	assert_string_equal(s, "line one line two");
	free(s);
	s = ticket_summary("ab\xc3\xa9", 3); /* é is two bytes: not cut in half */
	assert_string_equal(s, "ab");
	free(s);
}

static void test_cursors(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	char *c = NULL;
	struct ts_err err = {0};
	assert_int_equal(ticket_cursor_get(g.s, "gl", "acme/shop", &c, &err), 0);
	assert_null(c);
	assert_int_equal(
	    ticket_cursor_set(g.s, "gl", "acme/shop", "2026-11-22T10:00:00Z", NOW, &err), 0);
	assert_int_equal(
	    ticket_cursor_set(g.s, "gl", "acme/shop", "2026-11-22T11:00:00Z", NOW, &err), 0);
	assert_int_equal(ticket_cursor_get(g.s, "gl", "acme/shop", &c, &err), 0);
	assert_string_equal(c, "2026-11-22T11:00:00Z");
	free(c);
	bool due = false;
	assert_int_equal(outbox_has_due(g.s, "gl", 0, &due, &err), 0);
	assert_true(due);
	assert_int_equal(outbox_has_due(g.s, "other", 0, &due, &err), 0);
	assert_false(due);
	gu_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_claim_and_link),
	    cmocka_unit_test(test_fail_backoff_and_dead),
	    cmocka_unit_test(test_recover_inflight),
	    cmocka_unit_test(test_task_rows_in_order),
	    cmocka_unit_test(test_apply_remote_status),
	    cmocka_unit_test(test_backoff_and_summary),
	    cmocka_unit_test(test_cursors),
	    cmocka_unit_test(test_task_body_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
