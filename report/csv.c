/* SPDX-License-Identifier: Apache-2.0 */
/* CSV of a project's tasks and of the portfolio: RFC 4180 (quoted where
 * needed, CRLF line ends), and safe to open in a spreadsheet: a cell that
 * would start a formula gets a leading apostrophe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/render.h"

static const char *const severities[] = {"critical", "high", "medium", "low"};

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* One cell (NULL: empty), preceded by a comma unless first. A text cell
 * (guard) that would start a formula gets a leading apostrophe; numbers
 * written here (a negative delta) are left as they are. */
static void cell_text(struct ts_buf *b, bool first, const char *s, bool guard)
{
	if (!first)
		ts_buf_puts(b, ",");
	if (!s)
		s = "";
	/* =, +, -, @ start a formula in the common spreadsheets; a TAB or CR
	 * may hide one after it. */
	bool formula = guard && s[0] != '\0' && strchr("=+-@\t\r", s[0]);
	bool quote = formula || strpbrk(s, "\",\r\n") != NULL;
	if (quote)
		ts_buf_puts(b, "\"");
	if (formula)
		ts_buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			ts_buf_puts(b, "\"\"");
		else
			ts_buf_append(b, p, 1);
	}
	if (quote)
		ts_buf_puts(b, "\"");
}

static void cell(struct ts_buf *b, bool first, const char *s)
{
	cell_text(b, first, s, true);
}

static void cell_int(struct ts_buf *b, bool first, const json_t *v)
{
	char n[32] = "";
	if (json_is_integer(v))
		snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(v));
	cell_text(b, first, n, false);
}

static void cell_num(struct ts_buf *b, bool first, const json_t *v)
{
	char n[32] = "";
	if (json_is_number(v))
		snprintf(n, sizeof(n), "%.2f", json_number_value(v));
	cell_text(b, first, n, false);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
	json_int_t x = *(const json_int_t *)a, y = *(const json_int_t *)b;
	return x < y ? -1 : x > y;
}

/* The CWE ids of the threats of task c (those listed in the document),
 * "CWE-79;CWE-89", each once, ascending. New string. */
static char *task_cwes(const json_t *c, const json_t *threat_by_id)
{
	size_t cap = 8, n = 0;
	json_int_t *ids = ts_malloc(cap * sizeof(*ids));
	size_t i;
	const json_t *tid;
	json_array_foreach (json_object_get(c, "threats"), i, tid) {
		const json_t *t = json_object_get(threat_by_id, json_string_value(tid));
		size_t k;
		const json_t *cwe;
		json_array_foreach (json_object_get(t, "cwe"), k, cwe) {
			if (!json_is_integer(cwe))
				continue;
			if (n == cap) {
				cap *= 2;
				ids = ts_realloc(ids, cap * sizeof(*ids));
			}
			ids[n++] = json_integer_value(cwe);
		}
	}
	qsort(ids, n, sizeof(*ids), cmp_int);
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	for (i = 0; i < n; i++) {
		if (i && ids[i] == ids[i - 1])
			continue;
		ts_buf_printf(&b, "%sCWE-%lld", b.len ? ";" : "", (long long)ids[i]);
	}
	free(ids);
	return ts_buf_steal(&b);
}

/* "framework:control;..." of task c's compliance mapping, sorted. New string. */
static char *task_frameworks(const json_t *c)
{
	const json_t *map = json_object_get(json_object_get(c, "details"), "compliance");
	json_t *all = json_array();
	const char *fw;
	json_t *controls;
	json_object_foreach ((json_t *)map, fw, controls) {
		size_t k;
		const json_t *ctl;
		json_array_foreach (controls, k, ctl) {
			if (json_is_string(ctl))
				json_array_append_new(
				    all, json_sprintf("%s:%s", fw, json_string_value(ctl)));
		}
	}
	size_t n = json_array_size(all);
	const char **v = ts_calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(all, i));
	qsort(v, n, sizeof(*v), cmp_str);
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	for (size_t i = 0; i < n; i++)
		ts_buf_printf(&b, "%s%s", i ? ";" : "", v[i]);
	free(v);
	json_decref(all);
	return ts_buf_steal(&b);
}

static bool contains(const json_t *array, const char *s)
{
	size_t i;
	const json_t *e;
	json_array_foreach (array, i, e) {
		if (s && json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	}
	return false;
}

int report_render_csv(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	const json_t *list = json_object_get(doc, "countermeasures");
	if (!json_is_object(doc) || !json_is_array(list))
		return ts_err_set(err, TS_E_INVALID, "report: not a report document");
	json_t *threat_by_id = json_object();
	size_t i;
	const json_t *t;
	json_array_foreach (json_object_get(doc, "threats"), i, t) {
		if (str(t, "id"))
			json_object_set(threat_by_id, str(t, "id"), (json_t *)t);
	}
	const json_t *overdue = json_object_get(doc, "overdue_tasks");
	ts_buf_puts(out, "task_id,title,component,priority,status,verification,due_date,overdue,"
	                 "ticket_key,ticket_url,threats,cwe,frameworks\r\n");
	const json_t *c;
	json_array_foreach (list, i, c) {
		const json_t *ticket = json_object_get(c, "ticket");
		char due[11] = "";
		if (str(c, "due_date"))
			snprintf(due, sizeof(due), "%.10s", str(c, "due_date"));
		cell(out, true, str(c, "id"));
		cell(out, false, str(c, "title"));
		cell(out, false, str(c, "component"));
		cell_int(out, false, json_object_get(c, "priority"));
		cell(out, false, str(c, "status"));
		cell(out, false, str(c, "verification"));
		cell(out, false, due);
		cell(out, false, contains(overdue, str(c, "id")) ? "yes" : "no");
		cell(out, false, str(ticket, "key"));
		cell(out, false, str(ticket, "url"));
		struct ts_buf ids = {0};
		ts_buf_puts(&ids, "");
		size_t k;
		const json_t *id;
		json_array_foreach (json_object_get(c, "threats"), k, id) {
			ts_buf_printf(&ids, "%s%s", k ? ";" : "", json_string_value(id));
		}
		cell(out, false, ids.data);
		ts_buf_free(&ids);
		char *cwes = task_cwes(c, threat_by_id);
		cell(out, false, cwes);
		free(cwes);
		char *fws = task_frameworks(c);
		cell(out, false, fws);
		free(fws);
		ts_buf_puts(out, "\r\n");
	}
	json_decref(threat_by_id);
	return 0;
}

int report_render_portfolio_csv(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	const json_t *list = json_object_get(doc, "projects");
	if (!json_is_object(doc) || !json_is_array(list))
		return ts_err_set(err, TS_E_INVALID, "report: not a portfolio document");
	ts_buf_puts(out, "slug,name,risk_class,critical,high,medium,low,overdue,"
	                 "verification_failed,risk_score,since_release,risk_score_delta,"
	                 "coverage\r\n");
	size_t i;
	const json_t *p;
	json_array_foreach (list, i, p) {
		cell(out, true, str(p, "slug"));
		cell(out, false, str(p, "name"));
		cell(out, false, str(p, "risk_class"));
		for (size_t k = 0; k < TS_ARRAY_SIZE(severities); k++)
			cell_int(
			    out, false,
			    json_object_get(json_object_get(p, "threats_open"), severities[k]));
		cell_int(out, false, json_object_get(p, "overdue"));
		cell_int(out, false, json_object_get(p, "verification_failed"));
		cell_num(out, false, json_object_get(p, "risk_score"));
		const json_t *since = json_object_get(p, "since_release");
		cell(out, false, str(since, "release"));
		cell_num(out, false, json_object_get(since, "risk_score_delta"));
		struct ts_buf cov = {0};
		ts_buf_puts(&cov, "");
		size_t k;
		const json_t *c;
		json_array_foreach (json_object_get(p, "coverage"), k, c) {
			ts_buf_printf(
			    &cov, "%s%s:%lld/%lld/%lld", k ? ";" : "", str(c, "framework"),
			    (long long)json_integer_value(json_object_get(c, "covered")),
			    (long long)json_integer_value(json_object_get(c, "partly")),
			    (long long)json_integer_value(json_object_get(c, "not_covered")));
		}
		cell(out, false, cov.data);
		ts_buf_free(&cov);
		ts_buf_puts(out, "\r\n");
	}
	return 0;
}
