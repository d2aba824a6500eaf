/* SPDX-License-Identifier: Apache-2.0 */
/* Progress figures of a project and their coalesced snapshots.
 *
 * A threat's state joins it with its tasks. Joined in SQL (for each threat a
 * seek into its links, then one into each task's row) that cost as much as a
 * regeneration on a project of 14,000 threats. Here the rows come from
 * ranges of covering indexes and are joined in C, and no index is read
 * twice (SQLite visiting a row costs about as much whether it hands it over
 * or counts it): the threats, sorted by id (their scores add up in that
 * order, as they always have); then, while complete tasks are few (a
 * project's start), those tasks, the counts by status made by SQLite, and
 * the links of the threats linked to a complete task (no other threat can be
 * addressed); else one pass over every active task in scope (counts, overdue,
 * complete or not, into a hash set) and every link of the project's threats,
 * by ranges of threat ids. The few failed verifications come from a partial
 * index. */
#include "engine/report/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/project.h"
#include "engine/tracking/override.h"
#include "engine/tracking/task_status.h"

static const char SQL_OVERDUE[] =
    "SELECT uid, due_date, status FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1 AND status IN " TASK_STATUS_OPEN_SQL
    " AND due_date IS NOT NULL AND substr(due_date, 1, 10) < ?2 ORDER BY uid";
/* The active tasks in scope of project ?1: one pass over the covering index
 * countermeasures_by_status gives their counts by status, the overdue ones
 * and the complete ones (each pass SQLite makes over them costs as much as
 * this one, however little it returns). */
static const char SQL_TASK_ROWS[] =
    "SELECT id, status, due_date FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1";
/* Those whose verification failed, from the partial index
 * countermeasures_failed alone. */
static const char SQL_TASKS_FAILED[] =
    "SELECT id FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1 AND verification = 'failed'";
/* Those of a complete status; the number of one status (?2), counted by
 * SQLite (a row it counts costs less than half one it hands over); and the
 * overdue ones (SQL_OVERDUE's rule: for a day of ASCII characters,
 * `substr(due_date, 1, 10) < ?2` holds exactly when `due_date < ?2`, a range
 * of the index). All ranges of countermeasures_by_status. */
static const char SQL_TASKS_COMPLETE[] =
    "SELECT id FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND status IN " METRICS_COMPLETE_SQL " AND in_scope = 1";
static const char SQL_TASK_COUNT[] =
    "SELECT count(*) FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND status = ?2 AND in_scope = 1";
static const char SQL_OVERDUE_COUNT[] =
    "SELECT count(*) FROM countermeasures WHERE project_id = ?1 AND state = 'active'"
    " AND status IN " TASK_STATUS_OPEN_SQL " AND in_scope = 1 AND due_date < ?2";
/* Whether task ?1 is active and in scope (a row look-up). */
static const char SQL_TASK_LIVE[] =
    "SELECT state = 'active' AND in_scope = 1 FROM countermeasures WHERE id = ?1";
/* The active threats in scope, from the covering index threats_progress
 * alone; and the uids of the project's threats, from the covering index of
 * UNIQUE (project_id, uid) (a row look-up for each uid costs thrice as much). */
static const char SQL_THREAT_ROWS[] =
    "SELECT id, severity, score FROM threats WHERE project_id = ?1 AND state = 'active'"
    " AND in_scope = 1";
static const char SQL_THREAT_UIDS[] = "SELECT id, uid FROM threats WHERE project_id = ?1";
static const char SQL_THREAT_ID[] = "SELECT id FROM threats WHERE project_id = ?1 AND uid = ?2";
/* The links of the threats with ids in [?1, ?2], in threat id order (a range
 * of the primary key); of one threat; of one task (threat_countermeasures_by_cm). */
static const char SQL_LINKS[] = "SELECT threat_id, countermeasure_id FROM threat_countermeasures"
                                " WHERE threat_id BETWEEN ?1 AND ?2";
static const char SQL_THREAT_LINKS[] =
    "SELECT countermeasure_id FROM threat_countermeasures WHERE threat_id = ?1";
/* The threats linked to the project's tasks of a complete status (failed
 * verification or not): countermeasures_by_status, then
 * threat_countermeasures_by_cm, both covering. */
static const char SQL_COMPLETE_LINKS[] =
    "SELECT l.threat_id FROM countermeasures c JOIN threat_countermeasures l"
    " ON l.countermeasure_id = c.id WHERE c.project_id = ?1 AND c.state = 'active'"
    " AND c.status IN " METRICS_COMPLETE_SQL " AND c.in_scope = 1";
static const char SQL_VERIFICATION[] =
    "SELECT verification, count(*) FROM countermeasures WHERE project_id = ?1"
    " AND state = 'active' AND in_scope = 1 GROUP BY verification";
/* Days from creation to the last move to done, of each task now done that has
 * moved to done, in id order: the project's done tasks (covering
 * countermeasures_by_status), the last move of each (status_history_by_cm,
 * not the history of every project), then the creation of those that moved
 * (a row look-up). Materialized, so that each last move is looked up once. */
static const char SQL_MTTR[] =
    "WITH d AS MATERIALIZED (SELECT c.id, (SELECT max(h.recorded_at) FROM status_history h"
    "  WHERE h.countermeasure_id = c.id AND h.to_status = 'done') AS at"
    "  FROM countermeasures c WHERE c.project_id = ?1 AND c.state = 'active'"
    "  AND c.in_scope = 1 AND c.status = 'done')"
    " SELECT julianday(d.at) - julianday(c.created_at) FROM d"
    " JOIN countermeasures c ON c.id = d.id WHERE d.at IS NOT NULL ORDER BY d.id";
static const char SQL_LATEST_SNAPSHOT[] =
    "SELECT id, taken_at, metrics, (julianday(?2) - julianday(taken_at)) * 86400.0"
    " FROM metric_snapshots WHERE project_id = ?1 ORDER BY taken_at DESC LIMIT 1";
static const char SQL_SNAPSHOT_INSERT[] =
    "INSERT INTO metric_snapshots(project_id, taken_at, metrics) VALUES (?1, ?2, ?3)";
static const char SQL_SNAPSHOT_REPLACE[] = "UPDATE metric_snapshots SET metrics = ?2 WHERE id = ?1";
static const char SQL_PROJECT_IDS[] = "SELECT id FROM projects ORDER BY id";

/* Threats of the project further apart than this in id have their links read
 * by separate ranges, so that the links of other projects' threats between
 * them are not read. */
#define LINK_GAP 64

static const char *const severities[] = {"critical", "high", "medium", "low"};
/* The six task statuses (the schema's CHECK allows no other), and which of
 * them are complete (METRICS_COMPLETE_SQL). */
static const char *const statuses[] = {"todo",           "in_progress",   "done",
                                       "not_applicable", "risk_accepted", "satisfied"};
static const bool status_complete[] = {false, false, true, true, true, true};
_Static_assert(TS_ARRAY_SIZE(status_complete) == TS_ARRAY_SIZE(statuses), "one flag a status");

/* What a task_set knows of a task: TASK_IN marks a used slot; TASK_LIVE an
 * active task in scope; TASK_COMPLETE a complete one. */
enum { TASK_IN = 1 << 0, TASK_LIVE = 1 << 1, TASK_COMPLETE = 1 << 2 };

/* Tasks by id: open addressing, linear probing, at most half full. */
struct task_set {
	int64_t *ids;   /* owned */
	uint8_t *flags; /* owned */
	size_t mask;    /* slots - 1, slots a power of two */
	size_t n;
};

/* An active threat in scope of the project. */
struct mthreat {
	int64_t id;
	double score;
	int severity;  /* index into severities, -1 for none of them */
	int tasks;     /* its active tasks in scope */
	int complete;  /* of those, the complete ones */
	bool accepted; /* a threat override in force */
	bool linked;   /* linked to a complete task */
	char *uid;     /* owned; NULL unless asked for */
};

/* What the figures of a project are made from. */
struct progress {
	struct mthreat *threats; /* owned, n_threats, sorted by id */
	size_t n_threats;
	json_int_t by_status[TS_ARRAY_SIZE(statuses)];
	json_int_t failed;  /* tasks whose verification failed */
	json_int_t overdue; /* open tasks due before the day */
};

static double round_to(double x, double scale)
{
	return round(x * scale) / scale;
}

static const char *clock_or(const char *now, char clock[32])
{
	if (now)
		return now;
	ts_now_iso(clock);
	return clock;
}

int metrics_overdue(struct store *s, int64_t project_id, const char *now, json_t **ret_list,
                    struct ts_err *err)
{
	char clock[32], today[11];
	snprintf(today, sizeof(today), "%.10s", clock_or(now, clock));
	*ret_list = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_OVERDUE);
	if (!st)
		return store_fail(s, "overdue tasks", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, today);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s}", "id", store_col_text(st, 0), "due_date",
		                    store_col_text(st, 1), "status", store_col_text(st, 2)));
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return store_fail(s, "overdue tasks", err);
	}
	sqlite3_reset(st);
	*ret_list = list;
	return 0;
}

/* The slot of id in t: where it is, or the free slot where it goes. */
static size_t task_slot(const struct task_set *t, int64_t id)
{
	uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);
	size_t i = (size_t)(h ^ (h >> 32)) & t->mask;
	while ((t->flags[i] & TASK_IN) && t->ids[i] != id)
		i = (i + 1) & t->mask;
	return i;
}

/* The flags of task id, 0 when it is not in the set. */
static uint8_t task_flags(const struct task_set *t, int64_t id)
{
	return t->ids ? t->flags[task_slot(t, id)] : 0;
}

/* Adds flags to task id, growing the set when half full. */
static void task_set_add(struct task_set *t, int64_t id, uint8_t flags)
{
	if (2 * (t->n + 1) > t->mask + 1) {
		struct task_set old = *t;
		size_t slots = old.ids ? 2 * (old.mask + 1) : 1024;
		t->ids = ts_malloc(slots * sizeof(*t->ids));
		t->flags = ts_calloc(slots, sizeof(*t->flags));
		t->mask = slots - 1;
		for (size_t i = 0; old.ids && i <= old.mask; i++)
			if (old.flags[i]) {
				size_t j = task_slot(t, old.ids[i]);
				t->ids[j] = old.ids[i];
				t->flags[j] = old.flags[i];
			}
		free(old.ids);
		free(old.flags);
	}
	size_t i = task_slot(t, id);
	if (!t->flags[i]) {
		t->ids[i] = id;
		t->n++;
	}
	t->flags[i] |= TASK_IN | flags;
}

static void task_set_free(struct task_set *t)
{
	free(t->ids);
	free(t->flags);
}

static void progress_free(struct progress *p)
{
	for (size_t i = 0; i < p->n_threats; i++)
		free(p->threats[i].uid);
	free(p->threats);
}

/* Prepares sql and binds the project (?1), and the day (?2) when not NULL. */
static sqlite3_stmt *prepare_project(struct store *s, const char *sql, int64_t project_id,
                                     const char *today)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	if (st) {
		sqlite3_bind_int64(st, 1, project_id);
		if (today)
			store_bind_text(st, 2, today);
	}
	return st;
}

/* Whether SQL's `substr(due, 1, 10) < today` holds for the text due: its
 * first ten characters (UTF-8, as SQLite counts them) compared byte by byte,
 * a prefix before the longer text. */
static bool due_before(const unsigned char *due, const char *today)
{
	const unsigned char *end = due;
	for (int n = 0; n < 10 && *end; n++)
		if (*end++ >= 0xc0)
			while ((*end & 0xc0) == 0x80)
				end++;
	size_t len = (size_t)(end - due), today_len = strlen(today);
	int c = memcmp(due, today, len < today_len ? len : today_len);
	return c < 0 || (c == 0 && len < today_len);
}

/* The task figures into p and every active task in scope of the project into
 * t: one pass. */
static int load_all_tasks(struct store *s, int64_t project_id, const char *today,
                          struct progress *p, struct task_set *t, struct ts_err *err)
{
	sqlite3_stmt *st = prepare_project(s, SQL_TASK_ROWS, project_id, NULL);
	if (!st)
		return store_fail(s, "task counts", err);
	bool open[TS_ARRAY_SIZE(statuses)];
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++)
		open[i] = task_status_open(statuses[i]);
	/* The rows come by status: the last one's is the first guess. */
	size_t k = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = store_col_text(st, 1);
		if (strcmp(status, statuses[k]) != 0)
			for (k = 0; k < TS_ARRAY_SIZE(statuses); k++)
				if (strcmp(status, statuses[k]) == 0)
					break;
		bool complete = false;
		if (k < TS_ARRAY_SIZE(statuses)) {
			complete = status_complete[k];
			p->by_status[k]++;
			/* SQL_OVERDUE's rule; a due date is text (or NULL). */
			if (open[k] && sqlite3_column_type(st, 2) == SQLITE_TEXT &&
			    due_before(sqlite3_column_text(st, 2), today))
				p->overdue++;
		} else {
			k = 0; /* none the schema allows: an incomplete task */
		}
		task_set_add(t, sqlite3_column_int64(st, 0),
		             TASK_LIVE | (complete ? TASK_COMPLETE : 0));
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "task counts", err);
	sqlite3_reset(st);
	return 0;
}

/* The task figures into p, counted by SQLite. */
static int count_tasks(struct store *s, int64_t project_id, const char *today, struct progress *p,
                       struct ts_err *err)
{
	sqlite3_stmt *st = prepare_project(s, SQL_TASK_COUNT, project_id, NULL);
	if (!st)
		return store_fail(s, "task counts", err);
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++) {
		store_bind_text(st, 2, statuses[i]);
		if (sqlite3_step(st) != SQLITE_ROW)
			return store_fail(s, "task counts", err);
		p->by_status[i] = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	if (!(st = prepare_project(s, SQL_OVERDUE_COUNT, project_id, today)))
		return store_fail(s, "overdue tasks", err);
	if (sqlite3_step(st) != SQLITE_ROW)
		return store_fail(s, "overdue tasks", err);
	p->overdue = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Adds to t the project's active tasks in scope of a complete status while
 * they are at most limit; *ret_over: there are more. */
static int load_complete(struct store *s, int64_t project_id, size_t limit, struct task_set *t,
                         bool *ret_over, struct ts_err *err)
{
	*ret_over = false;
	sqlite3_stmt *st = prepare_project(s, SQL_TASKS_COMPLETE, project_id, NULL);
	if (!st)
		return store_fail(s, "complete tasks", err);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (t->n == limit) {
			*ret_over = true;
			break;
		}
		task_set_add(t, sqlite3_column_int64(st, 0), TASK_LIVE | TASK_COMPLETE);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "complete tasks", err);
	sqlite3_reset(st);
	return 0;
}

/* Counts the failed verifications into p; each makes its task incomplete
 * whatever its status. */
static int apply_failed(struct store *s, int64_t project_id, struct task_set *t, struct progress *p,
                        struct ts_err *err)
{
	sqlite3_stmt *st = prepare_project(s, SQL_TASKS_FAILED, project_id, NULL);
	if (!st)
		return store_fail(s, "failed verifications", err);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (task_flags(t, id) & TASK_COMPLETE) /* in the set: task_slot finds it */
			t->flags[task_slot(t, id)] &= (uint8_t)~TASK_COMPLETE;
		p->failed++;
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "failed verifications", err);
	sqlite3_reset(st);
	return 0;
}

static int threat_id_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct mthreat *)a)->id, y = ((const struct mthreat *)b)->id;
	return (x > y) - (x < y);
}

/* Sorts the threats by id: by placing each at its offset from the least id
 * when the ids are dense (a project's usually are), else qsort. */
static void sort_threats(struct progress *p)
{
	size_t n = p->n_threats;
	if (n < 2)
		return;
	int64_t lo = p->threats[0].id, hi = lo;
	for (size_t i = 1; i < n; i++) {
		lo = p->threats[i].id < lo ? p->threats[i].id : lo;
		hi = p->threats[i].id > hi ? p->threats[i].id : hi;
	}
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
	if (span > 4 * (uint64_t)n) {
		qsort(p->threats, n, sizeof(*p->threats), threat_id_cmp);
		return;
	}
	/* Ids are distinct (a primary key): one threat per offset. */
	size_t *at = ts_malloc((size_t)span * sizeof(*at));
	for (size_t k = 0; k < span; k++)
		at[k] = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		at[(uint64_t)p->threats[i].id - (uint64_t)lo] = i;
	struct mthreat *sorted = ts_malloc(n * sizeof(*sorted));
	size_t j = 0;
	for (size_t k = 0; k < span; k++)
		if (at[k] != SIZE_MAX)
			sorted[j++] = p->threats[at[k]];
	free(at);
	free(p->threats);
	p->threats = sorted;
}

static struct mthreat *find_threat(struct progress *p, int64_t id)
{
	struct mthreat key = {.id = id};
	if (p->n_threats == 0)
		return NULL;
	return bsearch(&key, p->threats, p->n_threats, sizeof(*p->threats), threat_id_cmp);
}

/* The project's threats into p, sorted by id, with their uids when with_uid. */
static int load_threats(struct store *s, int64_t project_id, bool with_uid, struct progress *p,
                        struct ts_err *err)
{
	sqlite3_stmt *st = prepare_project(s, SQL_THREAT_ROWS, project_id, NULL);
	if (!st)
		return store_fail(s, "threat states", err);
	size_t cap = 0, last_sev = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (p->n_threats == cap) {
			cap = cap ? 2 * cap : 1024;
			p->threats = ts_realloc(p->threats, cap * sizeof(*p->threats));
		}
		struct mthreat *t = &p->threats[p->n_threats++];
		*t = (struct mthreat){.id = sqlite3_column_int64(st, 0),
		                      .score = sqlite3_column_double(st, 2),
		                      .severity = -1};
		/* The rows come by severity: the last one's is the first guess. */
		const char *sev = store_col_text(st, 1);
		if (sev && strcmp(sev, severities[last_sev]) == 0) {
			t->severity = (int)last_sev;
			continue;
		}
		for (size_t i = 0; sev && i < TS_ARRAY_SIZE(severities); i++)
			if (strcmp(sev, severities[i]) == 0) {
				t->severity = (int)i;
				last_sev = i;
			}
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "threat states", err);
	sqlite3_reset(st);
	sort_threats(p);
	if (!with_uid)
		return 0;
	if (!(st = prepare_project(s, SQL_THREAT_UIDS, project_id, NULL)))
		return store_fail(s, "threat states", err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mthreat *t = find_threat(p, sqlite3_column_int64(st, 0));
		if (t && !t->uid)
			t->uid = store_col_dup(st, 1);
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "threat states", err);
	sqlite3_reset(st);
	return 0;
}

/* Marks the threats with an override in force at now (the keys "threat:UID"
 * of override_load_active): a look-up by uid for each override rather than
 * the uid of every threat. */
static int mark_accepted(struct store *s, int64_t project_id, const char *now, struct progress *p,
                         struct ts_err *err)
{
	json_t *active = NULL;
	int rc = override_load_active(s, project_id, now, &active, NULL, err);
	if (rc < 0)
		return rc;
	static const char prefix[] = "threat:";
	const char *key;
	json_t *v;
	json_object_foreach (active, key, v) {
		if (strncmp(key, prefix, sizeof(prefix) - 1) != 0)
			continue;
		sqlite3_stmt *st = prepare_project(s, SQL_THREAT_ID, project_id, NULL);
		if (!st) {
			rc = store_fail(s, "threat overrides", err);
			break;
		}
		store_bind_text(st, 2, key + sizeof(prefix) - 1);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			struct mthreat *t = find_threat(p, sqlite3_column_int64(st, 0));
			if (t)
				t->accepted = true;
		} else if (rc != SQLITE_DONE) {
			rc = store_fail(s, "threat overrides", err);
			break;
		}
		sqlite3_reset(st);
		rc = 0;
	}
	json_decref(active);
	return rc < 0 ? rc : 0;
}

/* Counts one link of threat t to task_id. A task tasks does not know is not
 * an active task in scope, or with look_up is looked up (and then known). */
static int count_link(struct store *s, struct mthreat *t, struct task_set *tasks, int64_t task_id,
                      bool look_up, struct ts_err *err)
{
	uint8_t f = task_flags(tasks, task_id);
	if (!f && look_up) {
		sqlite3_stmt *st = store_prepare(s, SQL_TASK_LIVE);
		if (!st)
			return store_fail(s, "threat tasks", err);
		sqlite3_bind_int64(st, 1, task_id);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_fail(s, "threat tasks", err);
		f = TASK_IN | (rc == SQLITE_ROW && sqlite3_column_int(st, 0) ? TASK_LIVE : 0);
		sqlite3_reset(st);
		task_set_add(tasks, task_id, f);
	}
	if (!(f & TASK_LIVE))
		return 0;
	t->tasks++;
	if (f & TASK_COMPLETE)
		t->complete++;
	return 0;
}

/* Counts the tasks of every threat: the links of runs of threat ids at most
 * LINK_GAP apart, one range each, merged with the threats (both in id
 * order). */
static int count_all_links(struct store *s, struct task_set *tasks, struct progress *p,
                           struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_LINKS);
	if (!st)
		return store_fail(s, "threat tasks", err);
	struct mthreat *t = p->threats;
	size_t i = 0;
	while (i < p->n_threats) {
		size_t j = i;
		while (j + 1 < p->n_threats &&
		       (uint64_t)t[j + 1].id - (uint64_t)t[j].id <= LINK_GAP)
			j++;
		sqlite3_bind_int64(st, 1, t[i].id);
		sqlite3_bind_int64(st, 2, t[j].id);
		size_t k = i;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t threat_id = sqlite3_column_int64(st, 0);
			while (k < j && t[k].id < threat_id)
				k++;
			if (t[k].id == threat_id) /* else another project's threat */
				count_link(s, &t[k], tasks, sqlite3_column_int64(st, 1), false,
				           err);
		}
		if (rc != SQLITE_DONE)
			return store_fail(s, "threat tasks", err);
		sqlite3_reset(st);
		i = j + 1;
	}
	return 0;
}

/* Counts the tasks of the threats linked to a complete task, the only ones
 * that can be addressed (the others keep no complete task: open): the links
 * of the complete tasks, then those of each such threat. */
static int count_candidate_links(struct store *s, int64_t project_id, struct task_set *tasks,
                                 struct progress *p, struct ts_err *err)
{
	sqlite3_stmt *st = prepare_project(s, SQL_COMPLETE_LINKS, project_id, NULL);
	if (!st)
		return store_fail(s, "threat tasks", err);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mthreat *t = find_threat(p, sqlite3_column_int64(st, 0));
		if (t)
			t->linked = true;
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "threat tasks", err);
	sqlite3_reset(st);
	if (!(st = store_prepare(s, SQL_THREAT_LINKS)))
		return store_fail(s, "threat tasks", err);
	for (size_t i = 0; i < p->n_threats; i++) {
		struct mthreat *t = &p->threats[i];
		if (!t->linked)
			continue;
		sqlite3_bind_int64(st, 1, t->id);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int r = count_link(s, t, tasks, sqlite3_column_int64(st, 0), true, err);
			if (r < 0) {
				sqlite3_reset(st);
				return r;
			}
		}
		if (rc != SQLITE_DONE)
			return store_fail(s, "threat tasks", err);
		sqlite3_reset(st);
	}
	return 0;
}

/* The progress of project_id at now: its threats (with their uids when
 * with_uid), their tasks, the task figures. *p is filled (zeroed first);
 * progress_free it, also on error. */
static int progress_load(struct store *s, int64_t project_id, const char *now, bool with_uid,
                         struct progress *p, struct ts_err *err)
{
	*p = (struct progress){0};
	char today[11];
	snprintf(today, sizeof(today), "%.10s", now);
	int rc = load_threats(s, project_id, with_uid, p, err);
	if (rc == 0)
		rc = mark_accepted(s, project_id, now, p, err);
	if (rc < 0)
		return rc;
	/* Few complete tasks (a project's start): only the threats linked to one
	 * can be addressed, and theirs are the only links read; else every link
	 * is, against every active task in scope. Whichever reads fewer rows. */
	struct task_set tasks = {0};
	bool over = false;
	rc = load_complete(s, project_id, p->n_threats / 4, &tasks, &over, err);
	if (rc == 0 && !over) {
		if ((rc = count_tasks(s, project_id, today, p, err)) == 0 &&
		    (rc = apply_failed(s, project_id, &tasks, p, err)) == 0)
			rc = count_candidate_links(s, project_id, &tasks, p, err);
	} else if (rc == 0) {
		task_set_free(&tasks);
		tasks = (struct task_set){0};
		if ((rc = load_all_tasks(s, project_id, today, p, &tasks, err)) == 0 &&
		    (rc = apply_failed(s, project_id, &tasks, p, err)) == 0)
			rc = count_all_links(s, &tasks, p, err);
	}
	task_set_free(&tasks);
	return rc;
}

/* "open", "addressed" or "accepted" (see metrics_threat_states). */
static const char *threat_state(const struct mthreat *t)
{
	if (t->accepted)
		return "accepted";
	return t->tasks > 0 && t->complete == t->tasks ? "addressed" : "open";
}

int metrics_threat_states(struct store *s, int64_t project_id, const char *now, json_t **ret_states,
                          struct ts_err *err)
{
	char clock[32];
	now = clock_or(now, clock);
	*ret_states = NULL;
	struct progress p;
	int rc = progress_load(s, project_id, now, true, &p, err);
	if (rc == 0) {
		json_t *states = json_object();
		/* (A threat without a uid was deleted since it was read.) */
		for (size_t i = 0; i < p.n_threats; i++)
			if (p.threats[i].uid)
				json_object_set_new(states, p.threats[i].uid,
				                    json_string(threat_state(&p.threats[i])));
		*ret_states = states;
	}
	progress_free(&p);
	return rc;
}

int metrics_verification(struct store *s, int64_t project_id, json_t **ret_counts,
                         struct ts_err *err)
{
	*ret_counts = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_VERIFICATION);
	if (!st)
		return store_fail(s, "verification counts", err);
	sqlite3_bind_int64(st, 1, project_id);
	json_t *counts = json_pack("{s:i, s:i, s:i}", "passed", 0, "failed", 0, "untested", 0);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(counts, store_col_text(st, 0),
		                    json_integer(sqlite3_column_int(st, 1)));
	if (rc != SQLITE_DONE) {
		json_decref(counts);
		return store_fail(s, "verification counts", err);
	}
	sqlite3_reset(st);
	*ret_counts = counts;
	return 0;
}

/* The mean time to done into m: the mean of the days of the tasks whose
 * difference is a number, over the tasks that moved to done (as SQL's avg
 * beside count(*)), summed in id order. */
static int mttr(struct store *s, int64_t project_id, json_t *m, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_MTTR);
	if (!st)
		return store_fail(s, "time to done", err);
	sqlite3_bind_int64(st, 1, project_id);
	size_t n = 0, n_days = 0;
	double sum = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			sum += sqlite3_column_double(st, 0);
			n_days++;
		}
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "time to done", err);
	sqlite3_reset(st);
	double mean = n_days > 0 ? sum / (double)n_days : 0.0;
	json_object_set_new(m, "mttr_days",
	                    n > 0 ? json_real(round_to(mean, 1000.0)) : json_null());
	return 0;
}

int metrics_compute(struct store *s, int64_t project_id, const char *now, json_t **ret_metrics,
                    struct ts_err *err)
{
	char clock[32];
	now = clock_or(now, clock);
	*ret_metrics = NULL;
	struct progress p;
	int rc = progress_load(s, project_id, now, false, &p, err);
	if (rc < 0) {
		progress_free(&p);
		return rc;
	}
	/* The open threats' scores summed in id order. */
	json_int_t sev[TS_ARRAY_SIZE(severities)] = {0};
	double score = 0;
	for (size_t i = 0; i < p.n_threats; i++) {
		const struct mthreat *t = &p.threats[i];
		if (strcmp(threat_state(t), "open") != 0)
			continue;
		score += t->score;
		if (t->severity >= 0)
			sev[t->severity]++;
	}
	json_t *m = json_object();
	json_t *open = json_object();
	for (size_t i = 0; i < TS_ARRAY_SIZE(severities); i++)
		json_object_set_new(open, severities[i], json_integer(sev[i]));
	json_object_set_new(m, "threats_open", open);
	json_object_set_new(m, "risk_score", json_real(round_to(score, 100.0)));
	json_t *tasks = json_object();
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++)
		json_object_set_new(tasks, statuses[i], json_integer(p.by_status[i]));
	json_object_set_new(m, "tasks", tasks);
	json_object_set_new(m, "verification_failed", json_integer(p.failed));
	json_object_set_new(m, "overdue", json_integer(p.overdue));
	progress_free(&p);
	if ((rc = mttr(s, project_id, m, err)) < 0) {
		json_decref(m);
		return rc;
	}
	*ret_metrics = m;
	return 0;
}

/* Writes the snapshot; the caller holds the unit of work. */
static int snapshot_write(struct store *s, int64_t project_id, const char *now, int *ret_written,
                          struct ts_err *err)
{
	json_t *m = NULL;
	int rc = metrics_compute(s, project_id, now, &m, err);
	if (rc < 0)
		return rc;
	char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	json_decref(m);
	sqlite3_stmt *st = store_prepare(s, SQL_LATEST_SNAPSHOT);
	if (!st) {
		free(text);
		return store_fail(s, "latest metrics snapshot", err);
	}
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, now);
	int64_t last_id = 0;
	int action = 1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		last_id = sqlite3_column_int64(st, 0);
		bool same_day = strncmp(store_col_text(st, 1), now, 10) == 0;
		bool same = strcmp(store_col_text(st, 2), text) == 0;
		if (sqlite3_column_double(st, 3) < METRICS_COALESCE_S)
			action = same ? 0 : 2;
		else if (same && same_day)
			action = 0;
	} else if (rc != SQLITE_DONE) {
		free(text);
		return store_fail(s, "latest metrics snapshot", err);
	}
	sqlite3_reset(st);
	rc = 0;
	if (action == 1) {
		st = store_prepare(s, SQL_SNAPSHOT_INSERT);
		if (!st) {
			rc = store_fail(s, "metrics snapshot", err);
		} else {
			sqlite3_bind_int64(st, 1, project_id);
			store_bind_text(st, 2, now);
			store_bind_text(st, 3, text);
			rc = store_step_done(s, st, "metrics snapshot", err);
		}
	} else if (action == 2) {
		st = store_prepare(s, SQL_SNAPSHOT_REPLACE);
		if (!st) {
			rc = store_fail(s, "metrics snapshot", err);
		} else {
			sqlite3_bind_int64(st, 1, last_id);
			store_bind_text(st, 2, text);
			rc = store_step_done(s, st, "metrics snapshot", err);
		}
	}
	free(text);
	if (rc == 0 && ret_written)
		*ret_written = action;
	return rc;
}

int metrics_snapshot(struct store *s, int64_t project_id, const char *now, int *ret_written,
                     struct ts_err *err)
{
	char clock[32];
	now = clock_or(now, clock);
	if (ret_written)
		*ret_written = 0;
	bool nested = false;
	int rc = store_unit_begin(s, &nested);
	if (rc < 0)
		return store_fail(s, "metrics snapshot", err);
	rc = snapshot_write(s, project_id, now, ret_written, err);
	return store_unit_end(s, nested, rc);
}

int metrics_snapshot_slug(struct store *s, const char *slug, const char *now, struct ts_err *err)
{
	int64_t pid = 0;
	int rc = project_find(s, slug, &pid, err);
	if (rc < 0)
		return rc;
	return metrics_snapshot(s, pid, now, NULL, err);
}

int metrics_snapshot_all(struct store *s, const char *now, int *ret_n, struct ts_err *err)
{
	if (ret_n)
		*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, SQL_PROJECT_IDS);
	if (!st)
		return store_fail(s, "list projects", err);
	size_t n = 0, cap = 16;
	int64_t *ids = ts_malloc(cap * sizeof(*ids));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap *= 2;
			ids = ts_realloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		free(ids);
		return store_fail(s, "list projects", err);
	}
	sqlite3_reset(st);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int written = 0;
		rc = metrics_snapshot(s, ids[i], now, &written, err);
		if (rc == 0 && written && ret_n)
			(*ret_n)++;
	}
	free(ids);
	return rc;
}
