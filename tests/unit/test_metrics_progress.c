/* SPDX-License-Identifier: Apache-2.0 */
/* The progress figures (metrics_compute, metrics_threat_states) on projects
 * written row by row: exact values on a fixture of every case (statuses,
 * failed verifications, overrides in force, expired and revoked, threats
 * without tasks, tasks shared by threats, rows out of scope or removed,
 * another project with the same uids in the same database), and on random
 * projects the same figures as the straightforward SQL join they replace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/report/metrics.h"
#include "engine/tracking/override.h"
#include "helpers/testutil.h"

#define NOW "2026-12-10T12:00:00.000Z"

struct fx {
	char *dir;
	struct store *s;
};

static void fx_open(struct fx *f)
{
	f->dir = tu_tmpdir();
	char *db = ts_asprintf("%s/m.db", f->dir);
	struct ts_err err = {0};
	if (store_open(db, STORE_MIGRATE, &f->s, &err) < 0)
		fail_msg("store: %s", err.msg);
	free(db);
}

static void fx_close(struct fx *f)
{
	store_close(f->s);
	tu_rmrf(f->dir);
	free(f->dir);
}

static void exec(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exec(struct fx *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	char *sql = ts_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(sql, (size_t)n + 1, fmt, ap);
	va_end(ap);
	char *msg = NULL;
	if (sqlite3_exec(store_db(f->s), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	free(sql);
}

static int64_t last_id(struct fx *f)
{
	return sqlite3_last_insert_rowid(store_db(f->s));
}

static int64_t add_project(struct fx *f, const char *slug)
{
	exec(f, "INSERT INTO projects(slug, name, created_at) VALUES ('%s', '%s', '%s')", slug,
	     slug, NOW);
	return last_id(f);
}

/* A threat; id 0: the next rowid. */
static int64_t add_threat(struct fx *f, int64_t pid, int64_t id, const char *uid,
                          const char *severity, double score, int in_scope, const char *state)
{
	char idtext[32] = "NULL";
	if (id)
		snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	exec(f,
	     "INSERT INTO threats(id, project_id, uid, library_id, component_key, title, severity,"
	     " likelihood, score, in_scope, state, content_hash, first_version, last_version,"
	     " created_at, updated_at) VALUES (%s, %lld, '%s', 'L', 'c', 't', '%s', 'high',"
	     " %.17g, %d, '%s', 'h', 1, 1, '%s', '%s')",
	     idtext, (long long)pid, uid, severity, score, in_scope, state, NOW, NOW);
	return last_id(f);
}

/* A task; id 0: the next rowid; due NULL: none. */
static int64_t add_task(struct fx *f, int64_t pid, int64_t id, const char *uid, const char *status,
                        const char *verification, int in_scope, const char *state, const char *due,
                        const char *created_at)
{
	char idtext[32] = "NULL";
	if (id)
		snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	char *duetext = due ? ts_asprintf("'%s'", due) : ts_strdup("NULL");
	exec(f,
	     "INSERT INTO countermeasures(id, project_id, uid, library_id, component_key, title,"
	     " priority, status, satisfied_by, verification, in_scope, due_date, content_hash,"
	     " state, first_version, last_version, created_at, updated_at) VALUES (%s, %lld, '%s',"
	     " 'L', 'c', 't', 2, '%s', %s, '%s', %d, %s, 'h', '%s', 1, 1, '%s', '%s')",
	     idtext, (long long)pid, uid, status, strcmp(status, "satisfied") == 0 ? "'x'" : "NULL",
	     verification, in_scope, duetext, state, created_at, created_at);
	free(duetext);
	return last_id(f);
}

static void link_task(struct fx *f, int64_t threat, int64_t task)
{
	exec(f, "INSERT INTO threat_countermeasures VALUES (%lld, %lld)", (long long)threat,
	     (long long)task);
}

static void history(struct fx *f, int64_t task, const char *to, const char *at)
{
	exec(f,
	     "INSERT INTO status_history(countermeasure_id, to_status, source, recorded_at)"
	     " VALUES (%lld, '%s', 'cli', '%s')",
	     (long long)task, to, at);
}

/* An override row; expires and revoked NULL: none. */
static void add_override(struct fx *f, int64_t pid, const char *target_kind, const char *uid,
                         const char *kind, const char *expires, const char *revoked)
{
	char *e = expires ? ts_asprintf("'%s'", expires) : ts_strdup("NULL");
	char *r = revoked ? ts_asprintf("'%s'", revoked) : ts_strdup("NULL");
	exec(f,
	     "INSERT INTO overrides(project_id, target_kind, target_uid, kind, reason, expires_at,"
	     " created_at, revoked_at) VALUES (%lld, '%s', '%s', '%s', 'why', %s, '%s', %s)",
	     (long long)pid, target_kind, uid, kind, e, NOW, r);
	free(e);
	free(r);
}

static json_t *compute(struct fx *f, int64_t pid)
{
	json_t *m = NULL;
	struct ts_err err = {0};
	if (metrics_compute(f->s, pid, NOW, &m, &err) < 0)
		fail_msg("metrics: %s", err.msg);
	return m;
}

static json_t *states_of(struct fx *f, int64_t pid)
{
	json_t *st = NULL;
	struct ts_err err = {0};
	if (metrics_threat_states(f->s, pid, NOW, &st, &err) < 0)
		fail_msg("states: %s", err.msg);
	return st;
}

/* The metrics as the snapshot writes them. */
static char *dump(const json_t *m)
{
	return json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
}

static void assert_metrics(const json_t *m, const char *want)
{
	char *got = dump(m);
	if (strcmp(got, want) != 0)
		fail_msg("metrics\n got %s\nwant %s", got, want);
	free(got);
}

/* ------------------------------------------------------------ exact figures */

/* Project alpha: every case a threat's state and a task's figures depend on.
 * Project beta shares the database, uids included. */
static void test_exact_figures(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	int64_t a = add_project(&f, "alpha"), b = add_project(&f, "beta");
	const char *c0 = "2026-11-01T00:00:00.000Z";

	/* Tasks of alpha, interleaved with beta's so that neither project's
	 * ids are contiguous. */
	int64_t c1 = add_task(&f, a, 0, "C1", "todo", "untested", 1, "active", "2026-12-01", c0);
	int64_t d1 = add_task(&f, b, 0, "C1", "done", "passed", 1, "active", NULL, c0);
	int64_t c2 =
	    add_task(&f, a, 0, "C2", "in_progress", "untested", 1, "active", "2026-12-10", c0);
	int64_t d2 = add_task(&f, b, 0, "C2", "todo", "untested", 1, "active", "2026-01-01", c0);
	int64_t c3 = add_task(&f, a, 0, "C3", "done", "passed", 1, "active", NULL, c0);
	add_task(&f, b, 0, "C3", "done", "failed", 1, "active", NULL, c0);
	int64_t c4 = add_task(&f, a, 0, "C4", "done", "failed", 1, "active", NULL, c0);
	int64_t c5 = add_task(&f, a, 0, "C5", "satisfied", "untested", 1, "active", NULL, c0);
	int64_t c6 = add_task(&f, a, 0, "C6", "not_applicable", "untested", 1, "active", NULL, c0);
	int64_t c7 = add_task(&f, a, 0, "C7", "risk_accepted", "untested", 1, "active", NULL, c0);
	int64_t c8 = add_task(&f, a, 0, "C8", "todo", "untested", 0, "active", "2026-01-01", c0);
	int64_t c9 = add_task(&f, a, 0, "C9", "done", "passed", 1, "removed", NULL, c0);
	int64_t c10 =
	    add_task(&f, a, 0, "C10", "todo", "untested", 1, "active", "2026-11-30T23:59:59Z", c0);
	int64_t c11 = add_task(&f, a, 0, "C11", "done", "untested", 1, "active", "2026-01-01", c0);
	add_task(&f, a, 0, "C12", "todo", "failed", 0, "active", NULL, c0);
	add_task(&f, a, 0, "C13", "done", "failed", 1, "removed", NULL, c0);

	/* Done after 1 day, reopened, done again after 2 days: the last move
	 * counts. C4 after 4.5 days. C11 done without a history row, C1 moved
	 * to done once but todo now: neither counts. */
	history(&f, c3, "done", "2026-11-02T00:00:00.000Z");
	history(&f, c3, "todo", "2026-11-02T06:00:00.000Z");
	history(&f, c3, "done", "2026-11-03T00:00:00.000Z");
	history(&f, c4, "in_progress", "2026-11-02T00:00:00.000Z");
	history(&f, c4, "done", "2026-11-05T12:00:00.000Z");
	history(&f, c1, "done", "2026-11-04T00:00:00.000Z");
	history(&f, c1, "todo", "2026-11-04T01:00:00.000Z");
	history(&f, d1, "done", "2026-11-02T00:00:00.000Z");

	/* Threats of alpha, interleaved with beta's. */
	int64_t t1 = add_threat(&f, a, 0, "T-1", "critical", 90.5, 1, "active");
	int64_t u1 = add_threat(&f, b, 0, "T-1", "critical", 10, 1, "active");
	int64_t t2 = add_threat(&f, a, 0, "T-2", "high", 40.25, 1, "active");
	int64_t u2 = add_threat(&f, b, 0, "T-7", "high", 20, 1, "active");
	int64_t t3 = add_threat(&f, a, 0, "T-3", "high", 30, 1, "active");
	add_threat(&f, b, 0, "T-4", "low", 3, 1, "active");
	add_threat(&f, a, 0, "T-4", "medium", 20, 1, "active");
	int64_t t5 = add_threat(&f, a, 0, "T-5", "low", 5.5, 1, "active");
	int64_t t6 = add_threat(&f, a, 0, "T-6", "medium", 12, 1, "active");
	int64_t t7 = add_threat(&f, a, 0, "T-7", "critical", 99, 1, "active");
	int64_t t8 = add_threat(&f, a, 0, "T-8", "high", 33.3, 1, "active");
	int64_t t9 = add_threat(&f, a, 0, "T-9", "low", 7, 1, "active");
	int64_t t10 = add_threat(&f, a, 0, "T-10", "medium", 50, 0, "active");
	int64_t t11 = add_threat(&f, a, 0, "T-11", "critical", 60, 1, "removed");
	/* Far from the others: its links are a range of their own. */
	int64_t t12 = add_threat(&f, a, 100000, "T-12", "low", 1.25, 1, "active");
	int64_t t13 = add_threat(&f, a, 0, "T-13", "medium", 8, 1, "active");

	link_task(&f, t1, c1);  /* todo: open */
	link_task(&f, t2, c3);  /* done and satisfied: addressed */
	link_task(&f, t2, c5);  /*   (C5 shared with T-12) */
	link_task(&f, t3, c3);  /* done, and done but failed: open */
	link_task(&f, t3, c4);  /*   (T-4 has no task: open) */
	link_task(&f, t5, c6);  /* not applicable; C8 out of scope: */
	link_task(&f, t5, c8);  /*   addressed */
	link_task(&f, t6, c9);  /* its only task removed: open */
	link_task(&f, t7, c1);  /* open, but risk accepted: accepted */
	link_task(&f, t8, c7);  /* risk accepted task: addressed */
	link_task(&f, t9, c2);  /* in progress, acceptance expired: open */
	link_task(&f, t10, c3); /* out of scope: not counted */
	link_task(&f, t11, c3); /* removed: not counted */
	link_task(&f, t12, c5); /* satisfied and todo: open */
	link_task(&f, t12, c10);
	link_task(&f, t13, c11); /* addressed, but not applicable: accepted */
	link_task(&f, u1, d1);   /* beta: done, accepted too */
	link_task(&f, u2, d2);   /* beta: todo, open */

	add_override(&f, a, "threat", "T-7", "risk_accepted", "2026-12-31", NULL);
	add_override(&f, a, "threat", "T-9", "risk_accepted", "2026-12-05", NULL);
	add_override(&f, a, "threat", "T-13", "not_applicable", NULL, NULL);
	add_override(&f, a, "threat", "T-6", "not_applicable", NULL, "2026-12-01T00:00:00.000Z");
	add_override(&f, a, "countermeasure", "T-1", "not_applicable", NULL, NULL);
	add_override(&f, b, "threat", "T-1", "risk_accepted", "2026-12-31", NULL);
	add_override(&f, b, "threat", "T-3", "not_applicable", NULL, NULL);

	/* Open: T-1 critical 90.5, T-3 high 30, T-4 medium 20, T-6 medium 12,
	 * T-9 low 7, T-12 low 1.25. Tasks active in scope: C1, C10 todo; C2
	 * in progress; C3, C4, C11 done; C5, C6, C7. Overdue on 2026-12-10: C1
	 * and C10 (C2 is due that day). Time to done: C3 2 days, C4 4.5. */
	json_t *m = compute(&f, a);
	assert_metrics(m, "{\"mttr_days\":3.25,\"overdue\":2,\"risk_score\":160.75,\"tasks\":"
	                  "{\"done\":3,\"in_progress\":1,\"not_applicable\":1,\"risk_accepted\":1,"
	                  "\"satisfied\":1,\"todo\":2},\"threats_open\":{\"critical\":1,\"high\":1,"
	                  "\"low\":2,\"medium\":2},\"verification_failed\":1}");
	json_decref(m);
	json_t *st = states_of(&f, a);
	char *got = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(got, "{\"T-1\":\"open\",\"T-12\":\"open\",\"T-13\":\"accepted\","
	                         "\"T-2\":\"addressed\",\"T-3\":\"open\",\"T-4\":\"open\","
	                         "\"T-5\":\"addressed\",\"T-6\":\"open\",\"T-7\":\"accepted\","
	                         "\"T-8\":\"addressed\",\"T-9\":\"open\"}");
	free(got);
	json_decref(st);

	/* Beta: T-1 accepted, T-7 high 20 open (todo, overdue), T-4 low 3 open
	 * (no task); D3 failed. */
	m = compute(&f, b);
	assert_metrics(m, "{\"mttr_days\":1.0,\"overdue\":1,\"risk_score\":23.0,\"tasks\":"
	                  "{\"done\":2,\"in_progress\":0,\"not_applicable\":0,\"risk_accepted\":0,"
	                  "\"satisfied\":0,\"todo\":1},\"threats_open\":{\"critical\":0,\"high\":1,"
	                  "\"low\":1,\"medium\":0},\"verification_failed\":1}");
	json_decref(m);
	st = states_of(&f, b);
	got = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(got, "{\"T-1\":\"accepted\",\"T-4\":\"open\",\"T-7\":\"open\"}");
	free(got);
	json_decref(st);

	/* Many more threats than complete tasks: the links are read from the
	 * complete tasks; the same states. 40 low threats of 0.5 without a task. */
	for (int i = 0; i < 40; i++) {
		char uid[16];
		snprintf(uid, sizeof(uid), "T-X%d", i);
		add_threat(&f, a, 0, uid, "low", 0.5, 1, "active");
	}
	m = compute(&f, a);
	assert_metrics(m, "{\"mttr_days\":3.25,\"overdue\":2,\"risk_score\":180.75,\"tasks\":"
	                  "{\"done\":3,\"in_progress\":1,\"not_applicable\":1,\"risk_accepted\":1,"
	                  "\"satisfied\":1,\"todo\":2},\"threats_open\":{\"critical\":1,\"high\":1,"
	                  "\"low\":42,\"medium\":2},\"verification_failed\":1}");
	json_decref(m);
	fx_close(&f);
}

/* A project without threats or tasks. */
static void test_empty_project(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	int64_t a = add_project(&f, "empty");
	add_project(&f, "other");
	json_t *m = compute(&f, a);
	assert_metrics(m, "{\"mttr_days\":null,\"overdue\":0,\"risk_score\":0.0,\"tasks\":"
	                  "{\"done\":0,\"in_progress\":0,\"not_applicable\":0,\"risk_accepted\":0,"
	                  "\"satisfied\":0,\"todo\":0},\"threats_open\":{\"critical\":0,\"high\":0,"
	                  "\"low\":0,\"medium\":0},\"verification_failed\":0}");
	json_decref(m);
	json_t *st = states_of(&f, a);
	assert_int_equal(json_object_size(st), 0);
	json_decref(st);
	fx_close(&f);
}

/* ------------------------------------------------------------ random projects */

/* The figures as one SQL join computes them, the threat state per threat:
 * the reference the scans must equal. */
static const char REF_THREATS[] =
    "SELECT t.uid, t.severity, t.score, count(c.id),"
    " coalesce(sum(c.status IN " METRICS_COMPLETE_SQL " AND c.verification <> 'failed'), 0)"
    " FROM threats t LEFT JOIN threat_countermeasures l ON l.threat_id = t.id"
    " LEFT JOIN countermeasures c ON c.id = l.countermeasure_id AND c.state = 'active'"
    " AND c.in_scope = 1 WHERE t.project_id = ?1 AND t.state = 'active' AND t.in_scope = 1"
    " GROUP BY t.id ORDER BY t.id";
static const char REF_TASKS[] =
    "SELECT status, count(*), sum(verification = 'failed') FROM countermeasures"
    " WHERE project_id = ?1 AND state = 'active' AND in_scope = 1 GROUP BY status";
static const char REF_OVERDUE[] =
    "SELECT count(*) FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1 AND status IN ('todo', 'in_progress') AND due_date IS NOT NULL"
    " AND substr(due_date, 1, 10) < substr(?2, 1, 10)";
static const char REF_MTTR[] =
    "SELECT count(*), avg(julianday(d.at) - julianday(c.created_at)) FROM countermeasures c"
    " JOIN (SELECT countermeasure_id AS id, max(recorded_at) AS at FROM status_history"
    "  WHERE to_status = 'done' GROUP BY countermeasure_id) d ON d.id = c.id"
    " WHERE c.project_id = ?1 AND c.state = 'active' AND c.in_scope = 1"
    " AND c.status = 'done'";

static sqlite3_stmt *ref_prepare(struct fx *f, const char *sql, int64_t pid)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(store_db(f->s), sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(store_db(f->s)));
	sqlite3_bind_int64(st, 1, pid);
	return st;
}

/* The reference metrics (new) and, into *ret_states, the states (new). */
static json_t *ref_compute(struct fx *f, int64_t pid, json_t **ret_states)
{
	static const char *const sevs[] = {"critical", "high", "medium", "low"};
	json_t *active = NULL;
	assert_int_equal(override_load_active(f->s, pid, NOW, &active, NULL, NULL), 0);
	json_t *states = json_object();
	json_int_t open[4] = {0};
	double score = 0;
	sqlite3_stmt *st = ref_prepare(f, REF_THREATS, pid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *uid = (const char *)sqlite3_column_text(st, 0);
		char *key = ts_asprintf("threat:%s", uid);
		int n = sqlite3_column_int(st, 3), complete = sqlite3_column_int(st, 4);
		const char *state = json_object_get(active, key) ? "accepted"
		                    : n > 0 && complete == n     ? "addressed"
		                                                 : "open";
		free(key);
		json_object_set_new(states, uid, json_string(state));
		if (strcmp(state, "open") != 0)
			continue;
		score += sqlite3_column_double(st, 2);
		for (int i = 0; i < 4; i++)
			if (strcmp((const char *)sqlite3_column_text(st, 1), sevs[i]) == 0)
				open[i]++;
	}
	sqlite3_finalize(st);
	json_decref(active);

	json_t *m = json_object();
	json_t *o = json_object();
	for (int i = 0; i < 4; i++)
		json_object_set_new(o, sevs[i], json_integer(open[i]));
	json_object_set_new(m, "threats_open", o);
	json_object_set_new(m, "risk_score", json_real(round(score * 100.0) / 100.0));
	json_t *tasks =
	    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "todo", 0, "in_progress", 0, "done", 0,
	              "not_applicable", 0, "risk_accepted", 0, "satisfied", 0);
	json_int_t failed = 0;
	st = ref_prepare(f, REF_TASKS, pid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object_set_new(tasks, (const char *)sqlite3_column_text(st, 0),
		                    json_integer(sqlite3_column_int(st, 1)));
		failed += sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	json_object_set_new(m, "tasks", tasks);
	json_object_set_new(m, "verification_failed", json_integer(failed));
	st = ref_prepare(f, REF_OVERDUE, pid);
	sqlite3_bind_text(st, 2, NOW, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	json_object_set_new(m, "overdue", json_integer(sqlite3_column_int(st, 0)));
	sqlite3_finalize(st);
	st = ref_prepare(f, REF_MTTR, pid);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	json_object_set_new(m, "mttr_days",
	                    sqlite3_column_int(st, 0) > 0
	                        ? json_real(round(sqlite3_column_double(st, 1) * 1000.0) / 1000.0)
	                        : json_null());
	sqlite3_finalize(st);
	*ret_states = states;
	return m;
}

/* A small deterministic generator (the seed is the case's). */
static uint64_t rnd_state;
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (unsigned)(rnd_state >> 33) % n;
}

static const char *pick(const char *const *v, size_t n)
{
	return v[rnd((unsigned)n)];
}

#define PICK(v) pick(v, sizeof(v) / sizeof((v)[0]))

/* Three projects of random threats, tasks, links, history and overrides
 * (uids shared between the projects, ids interleaved and at times far
 * apart), then each project's figures against the reference. */
static void random_round(uint64_t seed)
{
	static const char *const sevs[] = {"critical", "high", "medium", "low"};
	static const char *const complete[] = {"done", "satisfied", "not_applicable",
	                                       "risk_accepted"};
	static const char *const open[] = {"todo", "in_progress"};
	static const char *const verifs[] = {"untested", "untested", "passed", "failed"};
	static const char *const dues[] = {"2026-12-09",
	                                   "2026-12-10",
	                                   "2026-12-11",
	                                   "2026-12-10T00:00:00Z",
	                                   "2026-12-1",
	                                   "",
	                                   "2026-12-09\xc3\xa9",
	                                   "\xc3\xa9"
	                                   "026-01-01",
	                                   "2027-01-01",
	                                   "2026-11-30T23:59:59.999Z",
	                                   "2026-12-0",
	                                   "2026-12-10\xe2\x82\xac"};
	static const char *const kinds[] = {"not_applicable", "risk_accepted", "added"};
	static const char *const expiries[] = {"2026-12-01", "2026-12-10", "2026-12-11",
	                                       "2026-12-31"};
	static const char *const to[] = {"done", "done", "todo", "in_progress"};
	rnd_state = seed;
	struct fx f;
	fx_open(&f);
	int64_t pids[3];
	char slug[16];
	for (int p = 0; p < 3; p++) {
		snprintf(slug, sizeof(slug), "p%d", p);
		pids[p] = add_project(&f, slug);
	}
	exec(&f, "BEGIN");
	unsigned pct_complete = 2 + rnd(95);
	int n_threats[3], n_tasks[3];
	int64_t *tids[3], *cids[3];
	for (int p = 0; p < 3; p++) {
		n_threats[p] = (int)rnd(90);
		n_tasks[p] = (int)rnd(90);
		tids[p] = ts_calloc((size_t)n_threats[p] + 1, sizeof(int64_t));
		cids[p] = ts_calloc((size_t)n_tasks[p] + 1, sizeof(int64_t));
	}
	/* Tasks, the projects' in random turns. */
	int64_t next = 1;
	int made[3] = {0};
	for (;;) {
		int p = (int)rnd(3);
		if (made[p] == n_tasks[p] && made[(p + 1) % 3] == n_tasks[(p + 1) % 3] &&
		    made[(p + 2) % 3] == n_tasks[(p + 2) % 3])
			break;
		if (made[p] == n_tasks[p])
			continue;
		next += rnd(10) == 0 ? 1 + rnd(5000) : 1;
		char uid[16], created[40];
		snprintf(uid, sizeof(uid), "C-%d", made[p]);
		if (rnd(20) == 0)
			snprintf(created, sizeof(created), "not a time");
		else
			snprintf(created, sizeof(created), "2026-11-%02uT%02u:%02u:00.000Z",
			         1 + rnd(28), rnd(24), rnd(60));
		const char *status = rnd(100) < pct_complete ? PICK(complete) : PICK(open);
		int64_t id =
		    add_task(&f, pids[p], next, uid, status, PICK(verifs), rnd(8) != 0,
		             rnd(10) ? "active" : "removed", rnd(3) ? PICK(dues) : NULL, created);
		cids[p][made[p]++] = id;
		for (unsigned h = rnd(4); h > 0; h--) {
			char at[40];
			snprintf(at, sizeof(at), "2026-%02u-%02uT%02u:00:00.000Z", 11 + rnd(2),
			         1 + rnd(28), rnd(24));
			history(&f, id, PICK(to), at);
		}
	}
	/* Threats likewise, with links to their project's tasks. */
	memset(made, 0, sizeof(made));
	for (;;) {
		int p = (int)rnd(3);
		if (made[p] == n_threats[p] && made[(p + 1) % 3] == n_threats[(p + 1) % 3] &&
		    made[(p + 2) % 3] == n_threats[(p + 2) % 3])
			break;
		if (made[p] == n_threats[p])
			continue;
		next += rnd(8) == 0 ? 1 + rnd(400) : 1;
		char uid[16];
		snprintf(uid, sizeof(uid), "T-%d", made[p]);
		double score = (double)rnd(1000000) / 997.0;
		int64_t id = add_threat(&f, pids[p], next, uid, PICK(sevs), score, rnd(8) != 0,
		                        rnd(10) ? "active" : "removed");
		tids[p][made[p]++] = id;
		for (unsigned k = n_tasks[p] ? rnd(5) : 0; k > 0; k--)
			exec(&f, "INSERT OR IGNORE INTO threat_countermeasures VALUES (%lld, %lld)",
			     (long long)id, (long long)cids[p][rnd((unsigned)n_tasks[p])]);
	}
	for (int p = 0; p < 3; p++)
		for (unsigned o = rnd(8); o > 0; o--) {
			char uid[16];
			snprintf(uid, sizeof(uid), "T-%u", rnd(90));
			const char *kind = PICK(kinds);
			const char *expires =
			    strcmp(kind, "risk_accepted") == 0 && rnd(4) ? PICK(expiries) : NULL;
			add_override(&f, pids[p], rnd(5) ? "threat" : "countermeasure", uid, kind,
			             expires, rnd(5) ? NULL : "2026-12-02T00:00:00.000Z");
		}

	exec(&f, "COMMIT");
	for (int p = 0; p < 3; p++) {
		json_t *ref_states = NULL;
		json_t *want = ref_compute(&f, pids[p], &ref_states);
		json_t *got = compute(&f, pids[p]);
		char *w = dump(want), *g = dump(got);
		if (strcmp(w, g) != 0)
			fail_msg("seed %llu project %d\n got %s\nwant %s", (unsigned long long)seed,
			         p, g, w);
		json_t *states = states_of(&f, pids[p]);
		if (!json_equal(states, ref_states)) {
			char *a = json_dumps(states, JSON_COMPACT | JSON_SORT_KEYS);
			char *b = json_dumps(ref_states, JSON_COMPACT | JSON_SORT_KEYS);
			fail_msg("seed %llu project %d states\n got %s\nwant %s",
			         (unsigned long long)seed, p, a, b);
		}
		free(w);
		free(g);
		json_decref(want);
		json_decref(got);
		json_decref(states);
		json_decref(ref_states);
		free(tids[p]);
		free(cids[p]);
	}
	fx_close(&f);
}

static void test_random_projects(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 30; seed++)
		random_round(seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_figures),
	    cmocka_unit_test(test_empty_project),
	    cmocka_unit_test(test_random_projects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
