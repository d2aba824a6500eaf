/* SPDX-License-Identifier: Apache-2.0 */
/* Overrides on their own: recording checks, revocation, expiry, surviving
 * regeneration, and the override a tracker's risk acceptance stands for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/model/project.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/override.h"
#include "engine/tracking/remote_apply.h"
#include "engine/tracking/ticket_source.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

static const char *NOW = "2026-11-22T10:00:00.000Z";
static const char TASK[] = "C-INPUT-VALIDATION@web";

static int64_t open_generated(struct gu *g)
{
	char *conf = gu_data("gen.conf");
	char *model = gu_data("shop.json");
	gu_open(g, conf);
	gu_import(g, "tracked", model);
	json_decref(gu_generate(g, "tracked", NOW));
	free(conf);
	free(model);
	int64_t id = 0;
	assert_int_equal(project_find(g->s, "tracked", &id, NULL), 0);
	return id;
}

static long long count(struct gu *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long count(struct gu *g, const char *fmt, ...)
{
	char sql[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return gu_int(g, sql);
}

static long long has_status(struct gu *g, const char *uid, const char *status)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM countermeasures WHERE uid = '%s' AND status = '%s'", uid,
	         status);
	return gu_int(g, sql);
}

static void test_record_checks(void **state)
{
	(void)state;
	struct gu g;
	int64_t p = open_generated(&g);
	struct ts_err err = {0};
	static const struct {
		const char *kind, *reason, *expires;
	} bad[] = {
	    {"done", "why", NULL},                   /* not a kind a person records */
	    {"not_applicable", "", NULL},            /* a reason is required */
	    {"not_applicable", "why", "2026-12-01"}, /* expiry for risk acceptance only */
	    {"risk_accepted", "why", NULL},          /* risk acceptance needs an expiry */
	    {"risk_accepted", "why", "2026-02-30"},  /* not a date */
	    {"risk_accepted", "why", "2026-11-22"},  /* not after today */
	    {"risk_accepted", "why", "2028-01-01"},  /* too far ahead */
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(bad); i++) {
		int rc = override_add(g.s, p, TASK, bad[i].kind, bad[i].reason, "alice",
		                      bad[i].expires, NOW, NULL, &err);
		if (rc != TS_E_USAGE)
			fail_msg("case %zu: %d (%s)", i, rc, err.msg);
	}
	assert_int_equal(override_add(g.s, p, "C-NOPE@web", "not_applicable", "why", "alice", NULL,
	                              NOW, NULL, &err),
	                 TS_E_INVALID);
	assert_non_null(strstr(err.msg, "threatsync countermeasures SLUG --all"));
	/* Nothing was written by any of them. */
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM overrides"), 0);

	json_t *res = NULL;
	assert_int_equal(override_add(g.s, p, TASK, "risk_accepted", "compensated by the WAF",
	                              "alice", "2027-01-31", NOW, &res, &err),
	                 0);
	assert_string_equal(json_string_value(json_object_get(res, "kind")), "risk_accepted");
	assert_string_equal(json_string_value(json_object_get(res, "expires_at")), "2027-01-31");
	json_decref(res);
	assert_int_equal(has_status(&g, TASK, "risk_accepted"), 1);
	assert_int_equal(count(&g,
	                       "SELECT count(*) FROM overrides WHERE target_uid = '%s' AND"
	                       " kind = 'risk_accepted' AND author = 'alice' AND payload = '{}'"
	                       " AND revoked_at IS NULL",
	                       TASK),
	                 1);
	/* A second one replaces the first. */
	assert_int_equal(override_add(g.s, p, TASK, "not_applicable", "static pages only", "bob",
	                              NULL, NOW, NULL, &err),
	                 0);
	assert_int_equal(count(&g,
	                       "SELECT count(*) FROM overrides WHERE target_uid = '%s' AND"
	                       " revoked_at IS NULL",
	                       TASK),
	                 1);
	assert_int_equal(has_status(&g, TASK, "not_applicable"), 1);
	gu_close(&g);
}

static void test_revoke(void **state)
{
	(void)state;
	struct gu g;
	int64_t p = open_generated(&g);
	struct ts_err err = {0};
	assert_int_equal(override_revoke(g.s, p, TASK, NULL, "bob", NOW, NULL, &err), TS_E_INVALID);
	assert_int_equal(override_add(g.s, p, TASK, "not_applicable", "static pages only", "alice",
	                              NULL, NOW, NULL, &err),
	                 0);
	json_t *res = NULL;
	assert_int_equal(override_revoke(g.s, p, TASK, "forms were added", "bob", NOW, &res, &err),
	                 0);
	assert_string_equal(json_string_value(json_object_get(res, "kind")), "revoked");
	json_decref(res);
	assert_int_equal(has_status(&g, TASK, "todo"), 1);
	assert_int_equal(count(&g,
	                       "SELECT count(*) FROM status_history h JOIN countermeasures c"
	                       " ON c.id = h.countermeasure_id WHERE c.uid = '%s' AND"
	                       " h.source = 'override' AND h.to_status = 'todo' AND"
	                       " h.reason = 'forms were added' AND h.actor = 'bob'",
	                       TASK),
	                 1);
	gu_close(&g);
}

static void test_expiry(void **state)
{
	(void)state;
	struct gu g;
	int64_t p = open_generated(&g);
	struct ts_err err = {0};
	assert_int_equal(override_add(g.s, p, TASK, "risk_accepted", "until the rewrite", "alice",
	                              "2026-12-01", NOW, NULL, &err),
	                 0);
	json_t *active = NULL, *expired = NULL;
	char key[128];
	snprintf(key, sizeof(key), "countermeasure:%s", TASK);
	assert_int_equal(override_load_active(g.s, p, NOW, &active, &expired, &err), 0);
	assert_non_null(json_object_get(active, key));
	assert_null(json_object_get(expired, key));
	json_decref(active);
	json_decref(expired);
	/* On the day it expires it is no longer in force. */
	assert_int_equal(
	    override_load_active(g.s, p, "2026-12-01T00:00:00.000Z", &active, &expired, &err), 0);
	assert_null(json_object_get(active, key));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(expired, key), "reason")),
	    "until the rewrite");
	json_decref(active);
	json_decref(expired);
	gu_close(&g);
}

static void test_survives_regeneration(void **state)
{
	(void)state;
	struct gu g;
	int64_t p = open_generated(&g);
	struct ts_err err = {0};
	assert_int_equal(override_add(g.s, p, TASK, "not_applicable", "static pages only", "alice",
	                              NULL, NOW, NULL, &err),
	                 0);
	json_t *sum = gu_generate(&g, "tracked", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "status_changed"), 0);
	json_decref(sum);
	assert_int_equal(has_status(&g, TASK, "not_applicable"), 1);
	gu_close(&g);
}

/* A "Won't Do" on the tracker is a risk acceptance recorded as an override
 * from the tracker: regeneration keeps it, and the tracker can take it back. */
static void test_tracker_override(void **state)
{
	(void)state;
	struct gu g;
	open_generated(&g);
	struct ts_err err = {0};
	struct outbox_op *ops = NULL;
	size_t n = 0;
	assert_int_equal(outbox_claim(g.s, "gl", 1000, 1, NOW, &ops, &n, &err), 0);
	assert_int_equal(n, 1);
	struct ticket_source *t = NULL;
	assert_int_equal(ticket_source_load(g.s, ops[0].countermeasure_id, &t, &err), 0);
	char *uid = ts_strdup(t->cm_uid);
	struct outbox_remote r = {.connector = "gl",
	                          .key = "acme/shop#5",
	                          .marker = t->marker,
	                          .status = "opened",
	                          .status_category = "new",
	                          .updated = "2026-11-22T10:00:00Z"};
	assert_int_equal(outbox_link(g.s, &ops[0], t->marker, &r, NULL, NOW, NULL, &err), 0);
	outbox_ops_free(ops, n);

	r.status = "closed";
	r.status_category = "done";
	r.resolution = "Won't Do";
	r.actor = "carol";
	r.comment = "accepted by the risk board";
	r.updated = "2026-11-22T11:00:00Z";
	struct outbox_apply res;
	assert_int_equal(store_begin(g.s), 0);
	assert_int_equal(outbox_apply_remote(g.s, NULL, &r, "poll", NOW, &res, &err), 0);
	assert_int_equal(store_commit(g.s), 0);
	assert_int_equal(res.changed, 1);
	assert_int_equal(has_status(&g, uid, "risk_accepted"), 1);
	assert_int_equal(count(&g,
	                       "SELECT count(*) FROM overrides WHERE target_uid = '%s' AND"
	                       " kind = 'risk_accepted' AND author = 'carol' AND revoked_at IS NULL"
	                       " AND json_extract(payload, '$.source') = 'tracker'"
	                       " AND json_extract(payload, '$.ticket') = 'acme/shop#5'"
	                       " AND reason LIKE '%%accepted by the risk board'",
	                       uid),
	                 1);
	json_t *sum = gu_generate(&g, "tracked", NOW);
	json_decref(sum);
	assert_int_equal(has_status(&g, uid, "risk_accepted"), 1);

	/* Reopened on the tracker: the tracker's override is revoked. */
	r.status = "opened";
	r.status_category = "new";
	r.resolution = NULL;
	r.comment = NULL;
	r.updated = "2026-11-22T12:00:00Z";
	assert_int_equal(store_begin(g.s), 0);
	assert_int_equal(outbox_apply_remote(g.s, NULL, &r, "poll", NOW, &res, &err), 0);
	assert_int_equal(store_commit(g.s), 0);
	assert_int_equal(has_status(&g, uid, "todo"), 1);
	assert_int_equal(count(&g,
	                       "SELECT count(*) FROM overrides WHERE target_uid = '%s' AND"
	                       " revoked_at IS NULL",
	                       uid),
	                 0);
	free(uid);
	ticket_source_free(t);
	gu_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_checks),    cmocka_unit_test(test_revoke),
	    cmocka_unit_test(test_expiry),           cmocka_unit_test(test_survives_regeneration),
	    cmocka_unit_test(test_tracker_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
