/* SPDX-License-Identifier: Apache-2.0 */
/* One ticket per component or per threat: group keys, members and the
 * group's ticket content. */
#include "engine/generate/grouping.h"

#include <stdlib.h>
#include <string.h>

#include "engine/generate/generate.h"
#include "engine/tracking/marker.h"
#include "engine/tracking/task_status.h"

/* The group key of countermeasure c, with the mode bound as parameter N. */
#define GROUP_EXPR(N)                                                                              \
	" (CASE " N " WHEN 'component' THEN 'component:' || c.component_key ELSE 'threat:' ||"     \
	" (SELECT t.uid FROM threat_countermeasures tc JOIN threats t ON t.id = tc.threat_id"      \
	" WHERE tc.countermeasure_id = c.id AND t.state = 'active'"                                \
	" ORDER BY t.score DESC, t.uid LIMIT 1) END) "

static const char SQL_KEY[] = "SELECT" GROUP_EXPR("?2") "FROM countermeasures c WHERE c.id = ?1";
static const char SQL_TASK_INFO[] =
    "SELECT c.project_id, p.slug, c.ticket_id, t.marker FROM countermeasures c"
    " JOIN projects p ON p.id = c.project_id LEFT JOIN tickets t ON t.id = c.ticket_id"
    " WHERE c.id = ?1";
static const char SQL_GROUP_TICKET[] = "SELECT id, remote_key, remote_status_category FROM tickets"
                                       " WHERE connector = ?1 AND marker = ?2";
static const char SQL_MEMBERS[] =
    "SELECT c.id, c.status FROM countermeasures c WHERE c.project_id = ?1"
    " AND c.state = 'active' AND c.in_scope = 1 AND (c.ticket_id = ?3"
    " OR (c.ticket_id IS NULL AND c.status IN " TASK_STATUS_OPEN_SQL
    ")) AND" GROUP_EXPR("?4") "= ?2 ORDER BY c.uid";
static const char SQL_LINK_MEMBERS[] =
    "UPDATE countermeasures AS c SET ticket_id = ?3 WHERE c.project_id = ?1"
    " AND c.state = 'active' AND c.in_scope = 1 AND c.ticket_id IS NULL"
    " AND c.status IN " TASK_STATUS_OPEN_SQL " AND" GROUP_EXPR("?4") "= ?2";
static const char SQL_THREAT_TITLE[] =
    "SELECT title FROM threats WHERE project_id = ?1 AND uid = ?2";

bool grouping_enabled(const char *group_by)
{
	return group_by && (strcmp(group_by, "component") == 0 || strcmp(group_by, "threat") == 0);
}

int grouping_key_of(struct store *s, const char *group_by, int64_t countermeasure_id,
                    char **ret_key, struct ts_err *err)
{
	*ret_key = NULL;
	if (!grouping_enabled(group_by))
		return ts_err_set(err, TS_E_USAGE, "group_by '%s' does not group tasks",
		                  group_by ? group_by : "(none)");
	sqlite3_stmt *st = store_prepare(s, SQL_KEY);
	if (!st)
		return store_fail(s, "group of task", err);
	sqlite3_bind_int64(st, 1, countermeasure_id);
	store_bind_text(st, 2, group_by);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*ret_key = store_col_text(st, 0) ? ts_strdup(store_col_text(st, 0)) : NULL;
	sqlite3_reset(st);
	if (r == SQLITE_DONE)
		return ts_err_set(err, TS_E_NOTFOUND, "no task with row id %lld",
		                  (long long)countermeasure_id);
	if (r != SQLITE_ROW)
		return store_fail(s, "group of task", err);
	return 0;
}

void grouping_plan_clear(struct grouping_plan *p)
{
	free(p->group_key);
	ticket_source_free(p->group);
	free(p->ticket_key);
	memset(p, 0, sizeof(*p));
}

static int severity_rank(const char *s)
{
	static const char *const names[] = {"low", "medium", "high", "critical"};
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i + 1;
	return 0;
}

/* Adds the threats of one member to the union (by uid) and its compliance ids. */
static void merge_member(json_t *threats, json_t *compliance, const json_t *body)
{
	size_t i;
	json_t *t;
	json_array_foreach (json_object_get(body, "threats"), i, t) {
		const char *uid = json_string_value(json_object_get(t, "uid"));
		bool seen = false;
		size_t k;
		json_t *u;
		json_array_foreach (threats, k, u) {
			const char *v = json_string_value(json_object_get(u, "uid"));
			seen |= uid && v && strcmp(uid, v) == 0;
		}
		if (!seen)
			json_array_append(threats, t);
	}
	const char *fw;
	json_t *ids;
	json_object_foreach ((json_t *)json_object_get(body, "compliance"), fw, ids) {
		json_t *into = json_object_get(compliance, fw);
		if (!into) {
			into = json_array();
			json_object_set_new(compliance, fw, into);
		}
		json_array_foreach (ids, i, t) {
			bool seen = false;
			size_t k;
			json_t *u;
			json_array_foreach (into, k, u) {
				seen |= json_equal(u, t);
			}
			if (!seen)
				json_array_append(into, t);
		}
	}
}

/* What the members of a group add up to while they are read. */
struct group_acc {
	json_t *threats;    /* owned: union of the members' threats */
	json_t *compliance; /* owned: framework -> union of control ids */
	json_t *tasks;      /* owned: one entry per member */
	struct ts_buf req;  /* the numbered requirements of the members */
	char *component;    /* owned: name of the first member's component */
	char *worst;        /* owned: the most severe member's severity */
};

static void group_acc_free(struct group_acc *a)
{
	json_decref(a->threats);
	json_decref(a->compliance);
	json_decref(a->tasks);
	free(ts_buf_steal(&a->req));
	free(a->component);
	free(a->worst);
}

/* Adds member number i (from 0) t to a and to the group's ticket g: the
 * smallest priority, earliest due date and latest model version win. */
static void add_member(struct ticket_source *g, struct group_acc *a, size_t i,
                       const struct ticket_source *t)
{
	const json_t *b = t->body;
	const char *r = json_string_value(json_object_get(b, "requirement"));
	const char *at = json_string_value(json_object_get(b, "acceptance_test"));
	ts_buf_printf(&a->req, "\n\n%zu. %s: %s\nRequirement: %s\nAcceptance test: %s", i + 1,
	              t->cm_uid, t->summary, r && *r ? r : t->summary,
	              at && *at ? at : "(none given)");
	json_array_append_new(a->tasks, json_pack("{s:s, s:s, s:s?, s:s?, s:i}", "uid", t->cm_uid,
	                                          "title", t->summary, "requirement", r,
	                                          "acceptance_test", at, "priority", t->priority));
	merge_member(a->threats, a->compliance, b);
	if (!a->component) {
		const json_t *c = json_object_get(b, "component");
		if (json_is_object(c))
			a->component = ts_strdup(json_string_value(json_object_get(c, "name")));
		if (json_is_object(c) && !g->body)
			g->body = json_pack("{s:O}", "component", c);
	}
	if (t->priority < g->priority)
		g->priority = t->priority;
	if (severity_rank(t->severity) > severity_rank(a->worst)) {
		free(a->worst);
		a->worst = ts_strdup(t->severity);
	}
	if (t->due_date && (!g->due_date || strcmp(t->due_date, g->due_date) < 0)) {
		free(g->due_date);
		g->due_date = ts_strdup(t->due_date);
	}
	if (t->model_version > g->model_version)
		g->model_version = t->model_version;
}

/* The name people know the group by (new string in *ret): the threat's title,
 * on the component when there is one, for a threat group; else the component
 * or the value of the key. */
static int group_title(struct store *s, int64_t project_id, const char *key, const char *component,
                       char **ret, struct ts_err *err)
{
	char *title = NULL;
	if (strncmp(key, "threat:", 7) == 0) {
		sqlite3_stmt *st = store_prepare(s, SQL_THREAT_TITLE);
		if (!st)
			return store_fail(s, "threat of group", err);
		sqlite3_bind_int64(st, 1, project_id);
		store_bind_text(st, 2, key + 7);
		if (sqlite3_step(st) == SQLITE_ROW && store_col_text(st, 0))
			title = component ? ts_asprintf("threat %s on %s", store_col_text(st, 0),
			                                component)
			                  : ts_asprintf("threat %s", store_col_text(st, 0));
		sqlite3_reset(st);
	}
	if (!title)
		title = ts_strdup(component ? component : strchr(key, ':') + 1);
	*ret = title;
	return 0;
}

/* The hash of what the tracker shows of the group: summary, priority, due
 * date and body. */
static void group_content_hash(struct ticket_source *g)
{
	char *dump = json_dumps(g->body, JSON_COMPACT | JSON_SORT_KEYS);
	struct ts_buf h = {0};
	ts_buf_printf(&h, "%s\n%d\n%s\n%s", g->summary, g->priority, g->due_date ? g->due_date : "",
	              dump ? dump : "");
	free(dump);
	char hex[65];
	ts_sha256_hex(h.data, h.len, hex);
	free(ts_buf_steal(&h));
	g->content_hash = ts_strdup(hex);
}

/* Completes the group's ticket g of n members from a (whose JSON it takes). */
static void group_finish(struct ticket_source *g, struct group_acc *a, const char *slug,
                         const char *key, const char *title, size_t n)
{
	char *summary =
	    ts_asprintf("Security work for %s (%zu task%s)", title, n, n == 1 ? "" : "s");
	g->summary = ticket_summary(summary, TICKET_SUMMARY_MAX);
	free(summary);
	char *intro = ts_asprintf(
	    "This ticket groups %zu security task%s of %s. The ticket's status applies to each of "
	    "them; each task follows with its requirement and acceptance test.%s",
	    n, n == 1 ? "" : "s", title, a->req.data ? a->req.data : "");
	if (!g->body)
		g->body = json_object();
	json_object_set_new(g->body, "requirement", json_string(intro));
	free(intro);
	json_object_set_new(g->body, "threats", a->threats);
	json_object_set_new(g->body, "compliance", a->compliance);
	json_object_set_new(g->body, "tasks", a->tasks);
	a->threats = a->compliance = a->tasks = NULL;
	g->severity = ts_strdup(a->worst ? a->worst : "medium");
	g->link_back = ts_asprintf("threatsync group %s of project %s", key, slug);
	group_content_hash(g);
}

/* The group's ticket from its members (ids, in uid order). */
static int build_group(struct store *s, const char *slug, int64_t project_id, const char *key,
                       const int64_t *ids, size_t n, struct ticket_source **ret, struct ts_err *err)
{
	struct ticket_source *g = ts_calloc(1, sizeof(*g));
	g->project_slug = ts_strdup(slug);
	g->cm_uid = ts_strdup(key);
	g->priority = 4;
	g->active = n > 0;
	marker_make(slug, key, g->marker);
	struct group_acc a = {
	    .threats = json_array(), .compliance = json_object(), .tasks = json_array()};
	char *title = NULL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ticket_source *t = NULL;
		if ((rc = ticket_source_load(s, ids[i], &t, err)) == 0)
			add_member(g, &a, i, t);
		ticket_source_free(t);
	}
	if (rc == 0)
		rc = group_title(s, project_id, key, a.component, &title, err);
	if (rc == 0)
		group_finish(g, &a, slug, key, title, n);
	free(title);
	group_acc_free(&a);
	if (rc < 0) {
		ticket_source_free(g);
		return rc;
	}
	*ret = g;
	return 0;
}

/* The task's project, its project's slug (new), and its own ticket and that
 * ticket's marker (new, NULL when none). */
static int task_info(struct store *s, int64_t countermeasure_id, int64_t *ret_project,
                     char **ret_slug, int64_t *ret_ticket, char **ret_marker, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_TASK_INFO);
	if (!st)
		return store_fail(s, "plan group", err);
	sqlite3_bind_int64(st, 1, countermeasure_id);
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		int rc = r == SQLITE_DONE
		             ? ts_err_set(err, TS_E_NOTFOUND, "no task with row id %lld",
		                          (long long)countermeasure_id)
		             : store_fail(s, "plan group", err);
		sqlite3_reset(st);
		return rc;
	}
	*ret_project = sqlite3_column_int64(st, 0);
	*ret_slug = ts_strdup(store_col_text(st, 1));
	*ret_ticket = sqlite3_column_int64(st, 2);
	*ret_marker = store_col_text(st, 3) ? ts_strdup(store_col_text(st, 3)) : NULL;
	sqlite3_reset(st);
	return 0;
}

/* The group's ticket on connector, if it has one yet, into ret. */
static int find_group_ticket(struct store *s, const char *connector, const char *marker,
                             struct grouping_plan *ret, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_GROUP_TICKET);
	if (!st)
		return store_fail(s, "plan group", err);
	store_bind_text(st, 1, connector);
	store_bind_text(st, 2, marker);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		ret->ticket_id = sqlite3_column_int64(st, 0);
		ret->ticket_key = store_col_text(st, 1) ? ts_strdup(store_col_text(st, 1)) : NULL;
		ret->ticket_closed =
		    store_col_text(st, 2) && strcmp(store_col_text(st, 2), "done") == 0;
	}
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(s, "plan group", err);
	return 0;
}

/* The row ids of the group's members in uid order (*ret_ids new, also on
 * error), counting the open ones into ret. */
static int load_members(struct store *s, const char *group_by, int64_t project_id,
                        struct grouping_plan *ret, int64_t **ret_ids, size_t *ret_n,
                        struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_MEMBERS);
	if (!st)
		return store_fail(s, "members of group", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, ret->group_key);
	if (ret->ticket_id > 0)
		sqlite3_bind_int64(st, 3, ret->ticket_id);
	else
		sqlite3_bind_null(st, 3);
	store_bind_text(st, 4, group_by);
	size_t n = 0, cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			*ret_ids = ts_realloc(*ret_ids, cap * sizeof(**ret_ids));
		}
		(*ret_ids)[n++] = sqlite3_column_int64(st, 0);
		const char *status = store_col_text(st, 1);
		if (task_status_open(status))
			ret->n_open++;
	}
	sqlite3_reset(st);
	*ret_n = n;
	if (r != SQLITE_DONE)
		return store_fail(s, "members of group", err);
	return 0;
}

int grouping_plan(struct store *s, const char *group_by, const char *connector,
                  int64_t countermeasure_id, struct grouping_plan *ret, struct ts_err *err)
{
	memset(ret, 0, sizeof(*ret));
	if (!grouping_enabled(group_by))
		return 0;
	int64_t project_id = 0, own_ticket = 0;
	char *slug = NULL, *own_marker = NULL;
	int rc = task_info(s, countermeasure_id, &project_id, &slug, &own_ticket, &own_marker, err);
	if (rc < 0)
		return rc;
	int64_t *ids = NULL;
	size_t n = 0;
	rc = grouping_key_of(s, group_by, countermeasure_id, &ret->group_key, err);
	if (rc < 0 || !ret->group_key)
		goto out;
	char marker[MARKER_SIZE];
	marker_make(slug, ret->group_key, marker);
	/* A task with a ticket of its own (adopted, or made before grouping was
	 * configured) keeps it. */
	if (own_ticket > 0 && own_marker && strcmp(own_marker, marker) != 0)
		goto out;
	if ((rc = find_group_ticket(s, connector, marker, ret, err)) < 0)
		goto out;
	ret->task_linked = ret->ticket_id > 0 && own_ticket == ret->ticket_id;
	if ((rc = load_members(s, group_by, project_id, ret, &ids, &n, err)) < 0)
		goto out;
	ret->n_members = (int)n;
	rc = build_group(s, slug, project_id, ret->group_key, ids, n, &ret->group, err);
	if (rc == 0)
		ret->grouped = true;
out:
	free(ids);
	free(slug);
	free(own_marker);
	if (rc < 0 || !ret->grouped) {
		grouping_plan_clear(ret);
	}
	return rc;
}

int grouping_link_members(struct store *s, const char *group_by, int64_t project_id,
                          const char *group_key, int64_t ticket_id, int *ret_n, struct ts_err *err)
{
	if (!grouping_enabled(group_by))
		return 0;
	sqlite3_stmt *st = store_prepare(s, SQL_LINK_MEMBERS);
	if (!st)
		return store_fail(s, "link group members", err);
	sqlite3_bind_int64(st, 1, project_id);
	store_bind_text(st, 2, group_key);
	sqlite3_bind_int64(st, 3, ticket_id);
	store_bind_text(st, 4, group_by);
	if (sqlite3_step(st) != SQLITE_DONE) {
		int rc = store_fail(s, "link group members", err);
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	if (ret_n)
		*ret_n = sqlite3_changes(store_db(s));
	return 0;
}
