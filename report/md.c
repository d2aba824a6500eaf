/* SPDX-License-Identifier: Apache-2.0 */
/* Markdown of a project's report and of the portfolio. Every value from the
 * document goes through md_text, so a title cannot break a table, start a
 * raw HTML element or inject a link. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "report/render.h"

/* Rows of the top open threats table. */
#define MD_TOP_THREATS 10

static const char *const severities[] = {"critical", "high", "medium", "low"};
static const char *const statuses[] = {"todo",           "in_progress",   "done",
                                       "not_applicable", "risk_accepted", "satisfied"};

static const json_t *get(const json_t *o, const char *k)
{
	return json_object_get(o, k);
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* s as inline Markdown text, safe in a table cell: '|' and '\' escaped,
 * line breaks as spaces, '<' and '&' as HTML entities, link and emphasis
 * characters escaped ('_' only where it could emphasise). NULL or "" as an em dash. */
static void md_text(struct ts_buf *b, const char *s)
{
	if (!s || !*s) {
		ts_buf_puts(b, "\xe2\x80\x94");
		return;
	}
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '_':
			/* Inside a word (in_progress) it emphasises nothing. */
			if (p > s && isalnum((unsigned char)p[-1]) && isalnum((unsigned char)p[1]))
				ts_buf_puts(b, "_");
			else
				ts_buf_puts(b, "\\_");
			break;
		case '|':
		case '\\':
		case '[':
		case ']':
		case '*':
		case '`':
			ts_buf_printf(b, "\\%c", *p);
			break;
		case '\n':
		case '\r':
		case '\t':
			ts_buf_puts(b, " ");
			break;
		case '<':
			ts_buf_puts(b, "&lt;");
			break;
		case '&':
			ts_buf_puts(b, "&amp;");
			break;
		default:
			ts_buf_append(b, p, 1);
		}
	}
}

/* A URL fit for a Markdown link target: http(s), no space, parenthesis,
 * angle bracket, quote or control character. */
static bool url_ok(const char *u)
{
	if (!u || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || strchr("()<>\"'`\\|", *p) || *p == 0x7f)
			return false;
	return true;
}

static void md_int(struct ts_buf *b, const json_t *v)
{
	if (json_is_integer(v))
		ts_buf_printf(b, "%lld", (long long)json_integer_value(v));
	else
		md_text(b, NULL);
}

static void md_num(struct ts_buf *b, const json_t *v)
{
	if (json_is_number(v))
		ts_buf_printf(b, "%.2f", json_number_value(v));
	else
		md_text(b, NULL);
}

static void md_ticket(struct ts_buf *b, const json_t *ticket)
{
	const char *key = str(ticket, "key"), *url = str(ticket, "url");
	if (key && url_ok(url)) {
		ts_buf_puts(b, "[");
		md_text(b, key);
		ts_buf_printf(b, "](%s)", url);
	} else {
		md_text(b, key);
	}
}

static void summary(struct ts_buf *b, const json_t *doc)
{
	const json_t *sum = get(doc, "summary");
	ts_buf_puts(b, "## Summary\n\n| Open threats | Critical | High | Medium | Low |\n"
	               "|---|---:|---:|---:|---:|\n| by severity |");
	for (size_t i = 0; i < TS_ARRAY_SIZE(severities); i++) {
		ts_buf_puts(b, " ");
		md_int(b, get(get(sum, "threats_open"), severities[i]));
		ts_buf_puts(b, " |");
	}
	ts_buf_puts(b, "\n\n| Task status | Tasks |\n|---|---:|\n");
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++) {
		ts_buf_printf(b, "| %s | ", statuses[i]);
		md_int(b, get(get(sum, "tasks"), statuses[i]));
		ts_buf_puts(b, " |\n");
	}
	const json_t *v = get(sum, "verification");
	ts_buf_puts(b, "\n- Verification: ");
	md_int(b, get(v, "passed"));
	ts_buf_puts(b, " passed, ");
	md_int(b, get(v, "failed"));
	ts_buf_puts(b, " failed, ");
	md_int(b, get(v, "untested"));
	ts_buf_puts(b, " untested\n- Overdue tasks: ");
	md_int(b, get(sum, "overdue"));
	ts_buf_puts(b, "\n- Risk score of the open threats: ");
	md_num(b, get(sum, "risk_score"));
	ts_buf_puts(b, "\n- Mean time to done: ");
	if (json_is_number(get(sum, "mttr_days"))) {
		md_num(b, get(sum, "mttr_days"));
		ts_buf_puts(b, " days\n\n");
	} else {
		ts_buf_puts(b, "no task done yet\n\n");
	}
}

static void classification(struct ts_buf *b, const json_t *doc)
{
	const json_t *c = get(doc, "classification"), *m = get(doc, "model");
	ts_buf_puts(b, "## Classification\n\n- Risk class: ");
	md_text(b, str(c, "risk_class"));
	if (json_is_object(get(c, "rule"))) {
		ts_buf_puts(b, " (rule ");
		md_text(b, str(get(c, "rule"), "name"));
		ts_buf_puts(b, ")");
	}
	ts_buf_puts(b, "\n- Model version: ");
	md_int(b, get(m, "version"));
	ts_buf_puts(b, ", imported ");
	md_text(b, str(m, "imported_at"));
	ts_buf_puts(b, " from ");
	md_text(b, str(m, "source"));
	ts_buf_printf(b, "\n- %zu components, %zu flows, %zu trust zones\n\n",
	              json_array_size(get(m, "components")), json_array_size(get(m, "flows")),
	              json_array_size(get(m, "zones")));
}

/* Per framework its totals and its controls, the gaps first: not covered,
 * then partly covered, then covered. */
static void compliance(struct ts_buf *b, const json_t *doc)
{
	const json_t *fws = get(get(doc, "compliance"), "frameworks");
	ts_buf_puts(b, "## Compliance\n\n");
	if (json_array_size(fws) == 0) {
		ts_buf_puts(b, "No framework is required and no task maps one.\n\n");
		return;
	}
	size_t i;
	const json_t *fw;
	json_array_foreach (fws, i, fw) {
		const json_t *t = get(fw, "totals");
		ts_buf_puts(b, "### ");
		md_text(b, str(fw, "framework"));
		ts_buf_printf(b, "%s\n\n", json_is_true(get(fw, "required")) ? " (required)" : "");
		md_int(b, get(t, "controls"));
		ts_buf_puts(b, " controls: ");
		md_int(b, get(t, "covered"));
		ts_buf_puts(b, " covered, ");
		md_int(b, get(t, "partly"));
		ts_buf_puts(b, " partly, ");
		md_int(b, get(t, "not_covered"));
		ts_buf_puts(b, " not covered.\n\n");
		bool header = false;
		static const char *const order[] = {"not_covered", "partly", "covered"};
		for (size_t g = 0; g < TS_ARRAY_SIZE(order); g++) {
			size_t k;
			const json_t *c;
			json_array_foreach (get(fw, "controls"), k, c) {
				if (strcmp(str(c, "status"), order[g]) != 0)
					continue;
				if (!header)
					ts_buf_puts(
					    b, "| Control | Status | Tasks |\n|---|---|---|\n");
				header = true;
				ts_buf_puts(b, "| ");
				md_text(b, str(c, "id"));
				ts_buf_printf(b, " | %s | ", order[g]);
				size_t j;
				const json_t *task;
				json_array_foreach (get(c, "tasks"), j, task) {
					ts_buf_puts(b, j ? ", " : "");
					md_text(b, str(task, "id"));
					ts_buf_puts(b, " (");
					md_text(b, str(task, "status"));
					ts_buf_puts(b, ")");
				}
				ts_buf_puts(b, " |\n");
			}
		}
		ts_buf_puts(b, header ? "\n" : "No control is mapped.\n\n");
	}
}

static void top_threats(struct ts_buf *b, const json_t *doc)
{
	const json_t *states = get(doc, "threat_states");
	ts_buf_puts(b, "## Top open threats\n\n");
	size_t shown = 0, i;
	const json_t *t;
	json_array_foreach (get(doc, "threats"), i, t) {
		if (shown == MD_TOP_THREATS)
			break;
		const char *st = str(states, str(t, "id"));
		if (!st || strcmp(st, "open") != 0)
			continue;
		if (!shown)
			ts_buf_puts(b, "| Threat | Severity | Score | Where | Title | Tasks |\n"
			               "|---|---|---:|---|---|---|\n");
		shown++;
		ts_buf_puts(b, "| ");
		md_text(b, str(t, "id"));
		ts_buf_puts(b, " | ");
		md_text(b, str(t, "severity"));
		ts_buf_puts(b, " | ");
		md_num(b, get(t, "score"));
		ts_buf_puts(b, " | ");
		md_text(b, str(t, "component") ? str(t, "component") : str(t, "flow"));
		ts_buf_puts(b, " | ");
		md_text(b, str(t, "title"));
		ts_buf_puts(b, " | ");
		size_t k;
		const json_t *c;
		json_array_foreach (get(t, "countermeasures"), k, c) {
			ts_buf_puts(b, k ? ", " : "");
			md_text(b, json_string_value(c));
		}
		ts_buf_puts(b, " |\n");
	}
	ts_buf_puts(b, shown ? "\n" : "No open threat.\n\n");
}

static void tasks(struct ts_buf *b, const json_t *doc)
{
	const json_t *list = get(doc, "countermeasures");
	ts_buf_puts(b, "## Tasks\n\n");
	if (json_array_size(list) == 0) {
		ts_buf_puts(b, "No task.\n\n");
		return;
	}
	ts_buf_puts(b, "| Task | Title | Component | Priority | Status | Verification | Due |"
	               " Ticket |\n|---|---|---|---:|---|---|---|---|\n");
	size_t i;
	const json_t *c;
	json_array_foreach (list, i, c) {
		ts_buf_puts(b, "| ");
		md_text(b, str(c, "id"));
		ts_buf_puts(b, " | ");
		md_text(b, str(c, "title"));
		ts_buf_puts(b, " | ");
		md_text(b, str(c, "component"));
		ts_buf_puts(b, " | ");
		md_int(b, get(c, "priority"));
		ts_buf_puts(b, " | ");
		md_text(b, str(c, "status"));
		ts_buf_puts(b, " | ");
		md_text(b, str(c, "verification"));
		ts_buf_puts(b, " | ");
		const char *due = str(c, "due_date");
		if (due)
			ts_buf_printf(b, "%.10s", due);
		else
			md_text(b, NULL);
		ts_buf_puts(b, " | ");
		md_ticket(b, get(c, "ticket"));
		ts_buf_puts(b, " |\n");
	}
	ts_buf_puts(b, "\n");
}

/* Tasks a scanner verified (failed first), and the open findings. */
static void verification(struct ts_buf *b, const json_t *doc)
{
	ts_buf_puts(b, "## Verification\n\n");
	static const char *const kinds[] = {"failed", "passed"};
	bool any = false;
	for (size_t k = 0; k < TS_ARRAY_SIZE(kinds); k++) {
		size_t i;
		const json_t *c;
		json_array_foreach (get(doc, "countermeasures"), i, c) {
			if (strcmp(str(c, "verification"), kinds[k]) != 0)
				continue;
			if (!any)
				ts_buf_puts(b, "| Task | Verification | Status | Title |\n"
				               "|---|---|---|---|\n");
			any = true;
			ts_buf_puts(b, "| ");
			md_text(b, str(c, "id"));
			ts_buf_printf(b, " | %s | ", kinds[k]);
			md_text(b, str(c, "status"));
			ts_buf_puts(b, " | ");
			md_text(b, str(c, "title"));
			ts_buf_puts(b, " |\n");
		}
	}
	ts_buf_puts(b, any ? "\n" : "No task has been verified by a scanner yet.\n\n");
	size_t open = 0, i;
	const json_t *f;
	json_array_foreach (get(doc, "findings"), i, f) {
		if (strcmp(str(f, "status"), "open") == 0)
			open++;
	}
	ts_buf_printf(b, "Findings: %zu listed, %zu open.\n\n",
	              json_array_size(get(doc, "findings")), open);
}

static void metrics_cells(struct ts_buf *b, const json_t *m)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(severities); i++) {
		ts_buf_puts(b, " ");
		md_int(b, get(get(m, "threats_open"), severities[i]));
		ts_buf_puts(b, " |");
	}
	ts_buf_puts(b, " ");
	md_num(b, get(m, "risk_score"));
	ts_buf_puts(b, " | ");
	md_int(b, get(m, "overdue"));
	ts_buf_puts(b, " |");
}

static void releases(struct ts_buf *b, const json_t *doc)
{
	ts_buf_puts(b, "## Releases\n\n");
	const json_t *list = get(doc, "releases");
	if (json_array_size(list) == 0) {
		ts_buf_puts(b, "No release recorded.\n\n");
	} else {
		ts_buf_puts(b, "| Release | Recorded | Model | Critical | High | Medium | Low |"
		               " Risk score | Overdue | Threats addressed since the previous |\n"
		               "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
		size_t i;
		const json_t *r;
		json_array_foreach (list, i, r) {
			ts_buf_puts(b, "| ");
			md_text(b, str(r, "name"));
			ts_buf_puts(b, " | ");
			md_text(b, str(r, "created_at"));
			ts_buf_puts(b, " | ");
			md_int(b, get(r, "model_version"));
			ts_buf_puts(b, " |");
			metrics_cells(b, get(r, "metrics"));
			ts_buf_puts(b, " ");
			const json_t *ids = get(r, "threats_addressed");
			if (json_array_size(ids) == 0)
				md_text(b, NULL);
			size_t k;
			const json_t *id;
			json_array_foreach (ids, k, id) {
				ts_buf_puts(b, k ? ", " : "");
				md_text(b, json_string_value(id));
			}
			ts_buf_puts(b, " |\n");
		}
		ts_buf_puts(b, "\n");
	}
	ts_buf_puts(b, "## Trend\n\n");
	list = get(doc, "trend");
	if (json_array_size(list) == 0) {
		ts_buf_puts(b, "No snapshot yet.\n");
		return;
	}
	ts_buf_puts(b, "| At | Release | Critical | High | Medium | Low | Risk score | Overdue |\n"
	               "|---|---|---:|---:|---:|---:|---:|---:|\n");
	size_t i;
	const json_t *p;
	json_array_foreach (list, i, p) {
		ts_buf_puts(b, "| ");
		md_text(b, str(p, "at"));
		ts_buf_puts(b, " | ");
		md_text(b, str(p, "release"));
		ts_buf_puts(b, " |");
		metrics_cells(b, get(p, "metrics"));
		ts_buf_puts(b, "\n");
	}
}

int report_render_md(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	if (!json_is_object(doc) || !json_is_object(get(doc, "project")))
		return ts_err_set(err, TS_E_INVALID, "report: not a report document");
	const json_t *p = get(doc, "project");
	ts_buf_puts(out, "# Threat report: ");
	md_text(out, str(p, "name"));
	ts_buf_puts(out, " (");
	md_text(out, str(p, "slug"));
	ts_buf_puts(out, ")\n\nGenerated ");
	md_text(out, str(doc, "generated_at"));
	ts_buf_puts(out, " by threatsync.");
	if (str(p, "description")) {
		ts_buf_puts(out, "\n\n");
		md_text(out, str(p, "description"));
	}
	ts_buf_puts(out, "\n\n");
	summary(out, doc);
	classification(out, doc);
	compliance(out, doc);
	top_threats(out, doc);
	tasks(out, doc);
	verification(out, doc);
	releases(out, doc);
	return 0;
}

int report_render_portfolio_md(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	if (!json_is_object(doc) || !json_is_array(get(doc, "projects")))
		return ts_err_set(err, TS_E_INVALID, "report: not a portfolio document");
	ts_buf_puts(out, "# Portfolio\n\nGenerated ");
	md_text(out, str(doc, "generated_at"));
	ts_buf_puts(out, " by threatsync.\n\n");
	const json_t *list = get(doc, "projects");
	if (json_array_size(list) == 0) {
		ts_buf_puts(out, "No project.\n");
		return 0;
	}
	ts_buf_puts(out, "| Project | Risk class | Critical | High | Medium | Low | Overdue |"
	                 " Failed verification | Risk score | Since release | Change |\n"
	                 "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
	size_t i;
	const json_t *p;
	json_array_foreach (list, i, p) {
		ts_buf_puts(out, "| ");
		md_text(out, str(p, "name"));
		ts_buf_puts(out, " (");
		md_text(out, str(p, "slug"));
		ts_buf_puts(out, ") | ");
		md_text(out, str(p, "risk_class"));
		ts_buf_puts(out, " |");
		for (size_t k = 0; k < TS_ARRAY_SIZE(severities); k++) {
			ts_buf_puts(out, " ");
			md_int(out, get(get(p, "threats_open"), severities[k]));
			ts_buf_puts(out, " |");
		}
		ts_buf_puts(out, " ");
		md_int(out, get(p, "overdue"));
		ts_buf_puts(out, " | ");
		md_int(out, get(p, "verification_failed"));
		ts_buf_puts(out, " | ");
		md_num(out, get(p, "risk_score"));
		ts_buf_puts(out, " | ");
		const json_t *since = get(p, "since_release");
		md_text(out, str(since, "release"));
		ts_buf_puts(out, " | ");
		const json_t *d = get(since, "risk_score_delta");
		if (json_is_number(d))
			ts_buf_printf(out, "%+.2f", json_number_value(d));
		else
			md_text(out, NULL);
		ts_buf_puts(out, " |\n");
	}
	ts_buf_puts(out, "\n## Compliance coverage\n\n");
	bool any = false;
	json_array_foreach (list, i, p) {
		size_t k;
		const json_t *c;
		json_array_foreach (get(p, "coverage"), k, c) {
			if (!any)
				ts_buf_puts(out, "| Project | Framework | Covered | Partly |"
				                 " Not covered |\n|---|---|---:|---:|---:|\n");
			any = true;
			ts_buf_puts(out, "| ");
			md_text(out, str(p, "slug"));
			ts_buf_puts(out, " | ");
			md_text(out, str(c, "framework"));
			ts_buf_puts(out, " | ");
			md_int(out, get(c, "covered"));
			ts_buf_puts(out, " | ");
			md_int(out, get(c, "partly"));
			ts_buf_puts(out, " | ");
			md_int(out, get(c, "not_covered"));
			ts_buf_puts(out, " |\n");
		}
	}
	if (!any)
		ts_buf_puts(out, "No project requires or maps a framework.\n");
	return 0;
}
