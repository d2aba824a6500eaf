/* SPDX-License-Identifier: Apache-2.0 */
/* Applies a tracker's ticket state to the tasks linked to the ticket. */
#include "engine/tracking/remote_apply.h"

#include <stdlib.h>
#include <string.h>

#include "engine/tracking/task_status.h"
#include "engine/tracking/ticket.h"

static const char SQL_TICKET_TASKS[] =
    "SELECT c.id, c.status,"
    " EXISTS (SELECT 1 FROM overrides o WHERE o.project_id = c.project_id"
    " AND o.target_kind = 'countermeasure' AND o.target_uid = c.uid"
    " AND o.kind = c.status AND o.revoked_at IS NULL"
    " AND json_extract(o.payload, '$.source') = 'tracker')"
    " FROM countermeasures c WHERE c.ticket_id = ?1 AND c.state = 'active' ORDER BY c.id";

struct task_row {
	int64_t id;
	char *status;
	bool tracker_set; /* its risk acceptance / not applicable came from the tracker */
};

static void free_tasks(struct task_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].status);
	free(v);
}

/* The active tasks of ticket, read in full before any is changed. */
static int load_tasks(struct store *s, int64_t ticket, struct task_row **ret, size_t *ret_n,
                      struct ts_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	sqlite3_stmt *st = store_prepare(s, SQL_TICKET_TASKS);
	if (!st)
		return store_fail(s, "load tasks of ticket", err);
	sqlite3_bind_int64(st, 1, ticket);
	size_t n = 0, cap = 0;
	struct task_row *v = NULL;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = ts_realloc(v, cap * sizeof(*v));
		}
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].status = store_col_dup(st, 1);
		v[n].tracker_set = sqlite3_column_int(st, 2) != 0;
		n++;
	}
	if (r != SQLITE_DONE) {
		int rc = store_fail(s, "load tasks of ticket", err);
		sqlite3_reset(st);
		free_tasks(v, n);
		return rc;
	}
	sqlite3_reset(st);
	*ret = v;
	*ret_n = n;
	return 0;
}

int outbox_apply_remote(struct store *s, const struct fieldmap *fm, const struct outbox_remote *r,
                        const char *source, const char *now, struct outbox_apply *ret,
                        struct ts_err *err)
{
	struct outbox_apply res = {0};
	int64_t ticket;
	char *stored_updated = NULL;
	int rc = ticket_find(s, r, &ticket, &stored_updated, err);
	if (rc < 0 || ticket == 0)
		goto out;
	res.matched = true;
	if (r->updated && stored_updated && strcmp(r->updated, stored_updated) == 0) {
		res.duplicate = true;
		goto out;
	}
	if ((rc = ticket_remote_store(s, ticket, r, now, err)) < 0)
		goto out;
	const char *to = task_status_map(fm, r->status, r->status_category, r->resolution);
	if (!to)
		goto out;
	struct task_row *tasks;
	size_t n;
	if ((rc = load_tasks(s, ticket, &tasks, &n, err)) < 0)
		goto out;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct task_row *t = &tasks[i];
		if (!task_status_tracker_owned(t->status, t->tracker_set) ||
		    strcmp(t->status, to) == 0)
			continue;
		struct task_status_change c = {.countermeasure_id = t->id,
		                               .ticket_id = ticket,
		                               .from = t->status,
		                               .to = to,
		                               .source = source,
		                               .tracker = r};
		rc = task_status_set(s, &c, now, err);
		if (rc == 0)
			res.changed++;
	}
	free_tasks(tasks, n);
out:
	free(stored_updated);
	if (ret)
		*ret = res;
	return rc;
}
