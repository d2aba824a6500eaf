/* SPDX-License-Identifier: Apache-2.0 */
/* The HTML report: one self-contained page (inline CSS and SVG, no request
 * of any kind) of a report document or of a portfolio document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/chart.h"
#include "report/diagram.h"
#include "report/escape.h"
#include "report/render.h"

static const char *const severities[] = {"critical", "high", "medium", "low"};

/* The page's only script: a click on a column header sorts the table's
 * body by that column (numbers as numbers, data-v before the text). The
 * page reads completely without it. */
static const char sort_script[] =
    "(function(){\n"
    "function key(c){if(!c)return '';var v=c.getAttribute('data-v');"
    "if(v===null)v=c.textContent.trim();var n=Number(v);"
    "return (v!==''&&isFinite(n))?n:v.toLowerCase();}\n"
    "Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){\n"
    " var hs=t.tHead?t.tHead.rows[0].cells:[];\n"
    " Array.prototype.forEach.call(hs,function(th,i){\n"
    "  th.tabIndex=0;th.title='Sort by this column';\n"
    "  function sort(){var b=t.tBodies[0];if(!b)return;\n"
    "   var asc=th.getAttribute('aria-sort')!=='ascending';\n"
    "   Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort');});\n"
    "   th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
    "   var rows=Array.prototype.slice.call(b.rows);\n"
    "   rows.sort(function(x,y){var a=key(x.cells[i]),c=key(y.cells[i]);\n"
    "    var r=(typeof a==='number'&&typeof c==='number')?a-c:(a<c?-1:a>c?1:0);\n"
    "    return asc?r:-r;});\n"
    "   rows.forEach(function(r){b.appendChild(r);});}\n"
    "  th.addEventListener('click',sort);\n"
    "  th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){"
    "e.preventDefault();sort();}});\n"
    " });\n"
    "});\n"
    "})();\n";

static const char style[] =
    ":root{--fg:#1f2933;--muted:#5f6b76;--line:#d5dbe1;--bg:#ffffff;--head:#f1f4f7;"
    "--crit:#b71c1c;--high:#d84315;--med:#8d6e00;--low:#2e7d32;--ok:#2e7d32;--part:#f9a825;"
    "--gap:#b71c1c}\n"
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
    "sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1320px;"
    "padding:1.5rem;line-height:1.45;font-size:15px}\n"
    "h1{font-size:1.7rem;margin:.2rem 0}h2{font-size:1.3rem;border-bottom:2px solid "
    "var(--line);padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem}\n"
    "nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}\n"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}\n"
    "th,td{border:1px solid var(--line);padding:.3rem .45rem;text-align:left;"
    "vertical-align:top}\n"
    "th{background:var(--head);font-weight:600}table.sortable th{cursor:pointer}\n"
    "th[aria-sort=ascending]::after{content:\" \\25B2\"}"
    "th[aria-sort=descending]::after{content:\" \\25BC\"}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".sev{display:inline-block;padding:0 .4rem;border-radius:.6rem;color:#fff;"
    "font-size:.8rem;font-weight:600}\n"
    ".sev-critical{background:var(--crit)}.sev-high{background:var(--high)}"
    ".sev-medium{background:var(--med)}.sev-low{background:var(--low)}"
    ".sev-info{background:#607d8b}\n"
    ".overdue{color:var(--crit);font-weight:600}.muted,.none{color:var(--muted)}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid var(--line);"
    "border-radius:.4rem;padding:.5rem .8rem;min-width:9rem}.card .v{font-size:1.4rem;"
    "font-weight:700}\n"
    ".bar{display:flex;height:.9rem;width:100%;max-width:28rem;border:1px solid var(--line);"
    "border-radius:.2rem;overflow:hidden;background:#eceff1}\n"
    ".bar span{display:block;height:100%}.b-ok{background:var(--ok)}"
    ".b-part{background:var(--part)}.b-gap{background:var(--gap)}\n"
    ".diagram{overflow:auto;border:1px solid var(--line);border-radius:.4rem;padding:.5rem}\n"
    ".diagram svg{max-width:100%;height:auto}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;font-size:.85rem;"
    "color:var(--muted);align-items:center}\n"
    "svg.chart{max-width:100%;height:auto;margin:.5rem 0}svg.chart .grid{stroke:#e3e8ec}"
    "svg.chart .axis{stroke:#5f6b76}svg.chart text{font-size:11px;fill:#3e4c59}"
    "svg.chart .chart-title{font-size:13px;font-weight:600}\n"
    ".st-not_covered{color:var(--gap);font-weight:600}.st-partly{color:#8d6e00}"
    ".st-covered{color:var(--ok)}\n"
    "code{font-size:.85em}\n"
    "@media print{body{max-width:none;padding:0;font-size:11px}nav{display:none}"
    "h2{break-after:avoid}tr,svg,.card{break-inside:avoid}"
    "table.sortable th{cursor:auto}th[aria-sort]::after{content:\"\"}"
    ".diagram{overflow:visible;border:none}"
    ".sev,.bar span{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "a{color:inherit}a[href]::after{content:\" (\" attr(href) \")\";font-size:.8em}}\n";

static void esc(struct ts_buf *b, const char *s)
{
	html_escape(b, s);
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Element text of a string member, or an em dash when it is absent. */
static void text_or_dash(struct ts_buf *b, const char *s)
{
	if (s && *s)
		esc(b, s);
	else
		ts_buf_puts(b, "\xE2\x80\x94");
}

static void number(struct ts_buf *b, const json_t *v)
{
	if (json_is_integer(v))
		ts_buf_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		ts_buf_printf(b, "%.10g", json_real_value(v));
	else
		ts_buf_puts(b, "\xE2\x80\x94");
}

static int severity_rank(const char *sev)
{
	for (int i = 0; i < 4; i++)
		if (sev && strcmp(sev, severities[i]) == 0)
			return 4 - i;
	return 0;
}

/* A severity as a coloured badge cell, sorting by rank. */
static void severity_cell(struct ts_buf *b, const char *sev)
{
	if (!sev) {
		ts_buf_puts(b, "<td data-v=\"0\">\xE2\x80\x94</td>");
		return;
	}
	const char *cls = severity_rank(sev) ? sev : "info";
	ts_buf_printf(b, "<td data-v=\"%d\"><span class=\"sev sev-%s\">", severity_rank(sev), cls);
	esc(b, sev);
	ts_buf_puts(b, "</span></td>");
}

static void td(struct ts_buf *b, const char *s)
{
	ts_buf_puts(b, "<td>");
	text_or_dash(b, s);
	ts_buf_puts(b, "</td>");
}

static void td_num(struct ts_buf *b, const json_t *v)
{
	ts_buf_puts(b, "<td class=\"num\">");
	number(b, v);
	ts_buf_puts(b, "</td>");
}

/* A table's start: the sortable class, a caption for screen readers and
 * the header row (a "#" prefix marks a numeric column). */
static void table_start(struct ts_buf *b, const char *id, const char *caption,
                        const char *const *cols, size_t n)
{
	ts_buf_printf(b, "<table class=\"sortable\" id=\"%s\"><caption class=\"muted\">", id);
	esc(b, caption);
	ts_buf_puts(b, "</caption>\n<thead><tr>");
	for (size_t i = 0; i < n; i++) {
		bool numeric = cols[i][0] == '#';
		ts_buf_printf(b, "<th scope=\"col\"%s>", numeric ? " class=\"num\"" : "");
		esc(b, cols[i] + (numeric ? 1 : 0));
		ts_buf_puts(b, "</th>");
	}
	ts_buf_puts(b, "</tr></thead>\n<tbody>\n");
}

static void table_end(struct ts_buf *b)
{
	ts_buf_puts(b, "</tbody></table>\n");
}

static void none(struct ts_buf *b, const char *what)
{
	ts_buf_puts(b, "<p class=\"none\">");
	esc(b, what);
	ts_buf_puts(b, "</p>\n");
}

/* Member key of doc (whose path is path): an array, or NULL when absent or
 * null; another type is an error naming the path. */
static int member_array(const json_t *doc, const char *path, const char *key, const json_t **ret,
                        struct ts_err *err)
{
	const json_t *v = json_object_get(doc, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return ts_err_set(err, TS_E_INVALID, "%s.%s: not an array", path, key);
	*ret = v;
	return 0;
}

static int member_object(const json_t *doc, const char *path, const char *key, const json_t **ret,
                         struct ts_err *err)
{
	const json_t *v = json_object_get(doc, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return ts_err_set(err, TS_E_INVALID, "%s.%s: not an object", path, key);
	*ret = v;
	return 0;
}

/* Every element of the arrays the page lists is an object. */
static int objects_only(const json_t *arr, const char *path, struct ts_err *err)
{
	size_t i;
	const json_t *e;
	json_array_foreach (arr, i, e) {
		if (!json_is_object(e))
			return ts_err_set(err, TS_E_INVALID, "%s[%zu]: not an object", path, i);
	}
	return 0;
}

static int check_version(const json_t *doc, const char *what, struct ts_err *err)
{
	if (!json_is_object(doc))
		return ts_err_set(err, TS_E_INVALID, "%s: not a JSON object", what);
	const json_t *v = json_object_get(doc, "report_version");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return ts_err_set(err, TS_E_INVALID,
		                  "%s.report_version: not 1 (the version this program renders)",
		                  what);
	return 0;
}

static void page_start(struct ts_buf *b, const char *title)
{
	ts_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	               /* nothing may be loaded: the browser itself refuses any request */
	               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	               "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
	               "img-src data:\">\n"
	               "<meta name=\"generator\" content=\"threatsync\">\n<title>");
	esc(b, title);
	ts_buf_puts(b, "</title>\n<style>\n");
	ts_buf_puts(b, style);
	ts_buf_puts(b, "</style>\n</head>\n<body>\n");
}

static void page_end(struct ts_buf *b, const char *generated)
{
	ts_buf_puts(b, "<footer class=\"muted\"><p>Generated by threatsync");
	if (generated) {
		ts_buf_puts(b, " at ");
		esc(b, generated);
	}
	ts_buf_puts(b, ".</p></footer>\n<script>\n");
	ts_buf_puts(b, sort_script);
	ts_buf_puts(b, "</script>\n</body>\n</html>\n");
}

static void card(struct ts_buf *b, const char *label, const json_t *v, const char *cls)
{
	ts_buf_printf(b, "<div class=\"card%s%s\"><div class=\"v\">", cls ? " " : "",
	              cls ? cls : "");
	number(b, v);
	ts_buf_puts(b, "</div><div class=\"muted\">");
	esc(b, label);
	ts_buf_puts(b, "</div></div>\n");
}

static void section_summary(struct ts_buf *b, const json_t *doc)
{
	const json_t *project = json_object_get(doc, "project");
	const json_t *cls = json_object_get(doc, "classification");
	const json_t *model = json_object_get(doc, "model");
	const json_t *sum = json_object_get(doc, "summary");

	ts_buf_puts(b, "<section id=\"summary\" aria-labelledby=\"h-summary\">"
	               "<h2 id=\"h-summary\">Summary</h2>\n<table class=\"facts\"><tbody>\n");
	ts_buf_puts(b, "<tr><th scope=\"row\">Project</th><td>");
	text_or_dash(b, str(project, "name"));
	ts_buf_puts(b, " <code>");
	esc(b, str(project, "slug"));
	ts_buf_puts(b, "</code>");
	if (str(project, "description")) {
		ts_buf_puts(b, "<br><span class=\"muted\">");
		esc(b, str(project, "description"));
		ts_buf_puts(b, "</span>");
	}
	ts_buf_puts(b, "</td></tr>\n<tr><th scope=\"row\">Risk class</th><td>");
	const char *rc = str(cls, "risk_class");
	if (rc) {
		ts_buf_printf(b, "<span class=\"sev sev-%s\">", severity_rank(rc) ? rc : "info");
		esc(b, rc);
		ts_buf_puts(b, "</span>");
		const json_t *rule = json_object_get(cls, "rule");
		if (json_is_object(rule)) {
			ts_buf_puts(b, " by the rule <code>");
			esc(b, str(rule, "name"));
			ts_buf_puts(b, "</code>");
			if (json_is_integer(json_object_get(rule, "index"))) {
				ts_buf_puts(b, " (rule ");
				number(b, json_object_get(rule, "index"));
				if (json_is_integer(json_object_get(rule, "line"))) {
					ts_buf_puts(b, ", line ");
					number(b, json_object_get(rule, "line"));
				}
				ts_buf_puts(b, ")");
			}
		}
	} else {
		ts_buf_puts(b, "not classified");
	}
	ts_buf_puts(b, "</td></tr>\n<tr><th scope=\"row\">Model</th><td>");
	const json_t *ver = json_object_get(model, "version");
	if (json_is_integer(ver)) {
		ts_buf_puts(b, "version ");
		number(b, ver);
		if (str(model, "imported_at")) {
			ts_buf_puts(b, ", imported ");
			esc(b, str(model, "imported_at"));
		}
		if (str(model, "source")) {
			ts_buf_puts(b, " from <code>");
			esc(b, str(model, "source"));
			ts_buf_puts(b, "</code>");
		}
	} else {
		ts_buf_puts(b, "no model imported");
	}
	ts_buf_puts(b, "</td></tr>\n</tbody></table>\n");

	const json_t *open = json_object_get(sum, "threats_open");
	ts_buf_puts(b, "<h3>Open threats</h3>\n<div class=\"cards\">\n");
	for (int i = 0; i < 4; i++)
		card(b, severities[i], json_object_get(open, severities[i]), NULL);
	card(b, "risk score", json_object_get(sum, "risk_score"), NULL);
	card(b, "overdue tasks", json_object_get(sum, "overdue"),
	     json_integer_value(json_object_get(sum, "overdue")) > 0 ? "overdue" : NULL);
	card(b, "mean days to remediate (MTTR)", json_object_get(sum, "mttr_days"), NULL);
	ts_buf_puts(b, "</div>\n<h3>Countermeasures and verification</h3>\n<table><thead><tr>");
	static const char *const statuses[] = {"todo",           "in_progress",   "done",
	                                       "not_applicable", "risk_accepted", "satisfied"};
	static const char *const verif[] = {"passed", "failed", "untested"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++)
		ts_buf_printf(b, "<th scope=\"col\" class=\"num\">%s</th>", statuses[i]);
	for (size_t i = 0; i < TS_ARRAY_SIZE(verif); i++)
		ts_buf_printf(b, "<th scope=\"col\" class=\"num\">verification %s</th>", verif[i]);
	ts_buf_puts(b, "</tr></thead><tbody><tr>");
	const json_t *tasks = json_object_get(sum, "tasks");
	const json_t *ver_counts = json_object_get(sum, "verification");
	for (size_t i = 0; i < TS_ARRAY_SIZE(statuses); i++)
		td_num(b, json_object_get(tasks, statuses[i]));
	for (size_t i = 0; i < TS_ARRAY_SIZE(verif); i++)
		td_num(b, json_object_get(ver_counts, verif[i]));
	ts_buf_puts(b, "</tr></tbody></table>\n</section>\n");
}

static const char legend[] =
    "<div class=\"legend\" aria-label=\"Legend\">"
    "<span><svg width=\"34\" height=\"18\" aria-hidden=\"true\"><rect x=\"1\" y=\"2\" "
    "width=\"32\" height=\"14\" fill=\"#eceff1\" stroke=\"#000\"/></svg> actor or external "
    "system</span>"
    "<span><svg width=\"34\" height=\"18\" aria-hidden=\"true\"><rect x=\"1\" y=\"2\" "
    "width=\"32\" height=\"14\" rx=\"4\" fill=\"#fff\" stroke=\"#000\"/></svg> process</span>"
    "<span><svg width=\"34\" height=\"18\" aria-hidden=\"true\"><ellipse cx=\"17\" cy=\"4\" "
    "rx=\"15\" ry=\"3\" fill=\"#e3f2fd\" stroke=\"#000\"/><path d=\"M2 4v10a15 3 0 0 0 30 "
    "0V4\" fill=\"#e3f2fd\" stroke=\"#000\"/></svg> data store</span>"
    "<span><svg width=\"40\" height=\"10\" aria-hidden=\"true\"><line x1=\"0\" y1=\"5\" "
    "x2=\"40\" y2=\"5\" stroke=\"#455a64\"/></svg> flow (protocol)</span>"
    "<span><svg width=\"40\" height=\"10\" aria-hidden=\"true\"><line x1=\"0\" y1=\"5\" "
    "x2=\"40\" y2=\"5\" stroke=\"#c62828\" stroke-width=\"2.5\" stroke-dasharray=\"6 3\"/>"
    "</svg> flow crossing a trust boundary</span>"
    "<span><span class=\"sev sev-critical\">n open</span> open threats, coloured by the "
    "highest severity</span>"
    "<span><svg width=\"34\" height=\"18\" aria-hidden=\"true\"><rect x=\"1\" y=\"2\" "
    "width=\"32\" height=\"14\" rx=\"4\" fill=\"none\" stroke=\"#78909c\" "
    "stroke-dasharray=\"4 2\"/></svg> trust zone</span></div>\n";

static void section_diagram(struct ts_buf *b, const json_t *doc)
{
	const json_t *model = json_object_get(doc, "model");
	ts_buf_puts(b, "<section id=\"diagram\" aria-labelledby=\"h-diagram\">"
	               "<h2 id=\"h-diagram\">Data-flow diagram</h2>\n");
	if (!json_is_object(model) || json_array_size(json_object_get(model, "components")) == 0) {
		none(b, "No model with components: nothing to draw.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	struct ts_buf svg = {0};
	struct ts_err err = {0};
	if (diagram_svg(model, &svg, &err) < 0) {
		ts_buf_puts(b, "<p class=\"none\">The diagram is not drawn: ");
		esc(b, err.msg);
		ts_buf_puts(b, "</p>\n");
	} else {
		ts_buf_puts(b, legend);
		ts_buf_puts(b, "<figure class=\"diagram\">\n");
		/* Graphviz's <svg> (it starts with "<svg"), named for screen readers */
		ts_buf_puts(b, "<svg role=\"img\" aria-label=\"Data-flow diagram: components by "
		               "trust zone and the data flows between them\"");
		ts_buf_append(b, svg.data + 4, svg.len - 4);
		ts_buf_puts(b, "<figcaption class=\"muted\">Components by trust zone and the data "
		               "flows between them.</figcaption></figure>\n");
	}
	ts_buf_free(&svg);
	ts_buf_puts(b, "</section>\n");
}

static void section_start(struct ts_buf *b, const char *id, const char *title)
{
	ts_buf_printf(b, "<section id=\"%s\" aria-labelledby=\"h-%s\"><h2 id=\"h-%s\">", id, id,
	              id);
	esc(b, title);
	ts_buf_puts(b, "</h2>\n");
}

static void section_threats(struct ts_buf *b, const json_t *threats)
{
	static const char *const cols[] = {"ID",  "Title",    "Component / flow", "STRIDE",
	                                   "CWE", "Severity", "#Score",           "Status"};
	size_t i;
	const json_t *t;
	section_start(b, "threats", "Threats");
	if (json_array_size(threats) == 0) {
		none(b, "No threats.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	table_start(b, "threats-table", "Threats, by score", cols, TS_ARRAY_SIZE(cols));
	json_array_foreach (threats, i, t) {
		ts_buf_puts(b, "<tr><td><code>");
		esc(b, str(t, "id"));
		ts_buf_puts(b, "</code></td>");
		td(b, str(t, "title"));
		ts_buf_puts(b, "<td>");
		if (str(t, "component")) {
			esc(b, str(t, "component"));
		} else if (str(t, "flow")) {
			ts_buf_puts(b, "flow ");
			esc(b, str(t, "flow"));
		} else {
			ts_buf_puts(b, "whole system");
		}
		ts_buf_puts(b, "</td>");
		td(b, str(t, "stride"));
		ts_buf_puts(b, "<td>");
		size_t k;
		const json_t *c;
		json_array_foreach (json_object_get(t, "cwe"), k, c) {
			if (json_is_integer(c))
				ts_buf_printf(b, "%sCWE-%lld", k ? ", " : "",
				              (long long)json_integer_value(c));
		}
		ts_buf_puts(b, "</td>");
		severity_cell(b, str(t, "severity"));
		td_num(b, json_object_get(t, "score"));
		td(b, str(t, "status"));
		ts_buf_puts(b, "</tr>\n");
	}
	table_end(b);
	ts_buf_puts(b, "</section>\n");
}

/* The ticket: its key linked to its URL when that is an http(s) URL. */
static void ticket_cell(struct ts_buf *b, const json_t *ticket)
{
	const char *key = str(ticket, "key"), *url = str(ticket, "url");
	const char *shown = key ? key : str(ticket, "connector");
	ts_buf_puts(b, "<td>");
	if (!json_is_object(ticket) || !shown) {
		ts_buf_puts(b, "\xE2\x80\x94</td>");
		return;
	}
	if (html_url_linkable(url)) {
		ts_buf_puts(b, "<a href=\"");
		esc(b, url);
		ts_buf_puts(b, "\" rel=\"noopener noreferrer\">");
		esc(b, shown);
		ts_buf_puts(b, "</a>");
	} else {
		esc(b, shown);
		if (url) {
			ts_buf_puts(b, " <span class=\"muted\">(");
			esc(b, url);
			ts_buf_puts(b, ")</span>");
		}
	}
	ts_buf_puts(b, "</td>");
}

static void section_countermeasures(struct ts_buf *b, const json_t *cms, const char *today)
{
	static const char *const cols[] = {"#Priority",    "Title",    "Component", "Status",
	                                   "Verification", "Due date", "Ticket"};
	size_t i;
	const json_t *c;
	section_start(b, "countermeasures", "Countermeasures");
	if (json_array_size(cms) == 0) {
		none(b, "No countermeasures.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	table_start(b, "countermeasures-table", "Countermeasures (tasks), by score", cols,
	            TS_ARRAY_SIZE(cols));
	json_array_foreach (cms, i, c) {
		ts_buf_puts(b, "<tr>");
		td_num(b, json_object_get(c, "priority"));
		td(b, str(c, "title"));
		td(b, str(c, "component"));
		td(b, str(c, "status"));
		td(b, str(c, "verification"));
		const char *due = str(c, "due_date"), *st = str(c, "status");
		bool open = st && (strcmp(st, "todo") == 0 || strcmp(st, "in_progress") == 0);
		if (due && today && open && strcmp(due, today) < 0) {
			ts_buf_puts(b, "<td class=\"overdue\">");
			esc(b, due);
			ts_buf_puts(b, " (overdue)</td>");
		} else {
			td(b, due);
		}
		ticket_cell(b, json_object_get(c, "ticket"));
		ts_buf_puts(b, "</tr>\n");
	}
	table_end(b);
	ts_buf_puts(b, "</section>\n");
}

static void section_findings(struct ts_buf *b, const json_t *findings)
{
	static const char *const cols[] = {"#ID",  "Status",    "Severity", "Tool",
	                                   "Rule", "Component", "Location", "CWE"};
	size_t i;
	const json_t *f;
	section_start(b, "findings", "Findings");
	if (json_array_size(findings) == 0) {
		none(b, "No findings from scanners.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	table_start(b, "findings-table", "Scanner findings", cols, TS_ARRAY_SIZE(cols));
	json_array_foreach (findings, i, f) {
		ts_buf_puts(b, "<tr>");
		td_num(b, json_object_get(f, "id"));
		td(b, str(f, "status"));
		severity_cell(b, str(f, "severity"));
		td(b, str(f, "tool"));
		ts_buf_puts(b, "<td><code>");
		esc(b, str(f, "rule"));
		ts_buf_puts(b, "</code>");
		if (str(f, "rule_name")) {
			ts_buf_puts(b, " ");
			esc(b, str(f, "rule_name"));
		}
		ts_buf_puts(b, "</td>");
		td(b, str(f, "component"));
		td(b, str(f, "location"));
		ts_buf_puts(b, "<td>");
		size_t k;
		const json_t *cw;
		json_array_foreach (json_object_get(f, "cwe"), k, cw) {
			if (json_is_integer(cw))
				ts_buf_printf(b, "%sCWE-%lld", k ? ", " : "",
				              (long long)json_integer_value(cw));
		}
		ts_buf_puts(b, "</td></tr>\n");
	}
	table_end(b);
	ts_buf_puts(b, "</section>\n");
}

static void section_overrides(struct ts_buf *b, const json_t *ovs)
{
	static const char *const cols[] = {"Target",  "Decision", "Reason", "Author",
	                                   "Expires", "Recorded", "Active"};
	size_t i;
	const json_t *o;
	section_start(b, "overrides", "Overrides");
	if (json_array_size(ovs) == 0) {
		none(b, "No overrides.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	table_start(b, "overrides-table", "Human decisions on threats and countermeasures", cols,
	            TS_ARRAY_SIZE(cols));
	json_array_foreach (ovs, i, o) {
		ts_buf_puts(b, "<tr><td>");
		esc(b, str(o, "target_kind"));
		ts_buf_puts(b, " <code>");
		esc(b, str(o, "target"));
		ts_buf_puts(b, "</code></td>");
		td(b, str(o, "kind"));
		td(b, str(o, "reason"));
		td(b, str(o, "author"));
		td(b, str(o, "expires_at"));
		td(b, str(o, "created_at"));
		td(b, json_is_true(json_object_get(o, "active")) ? "yes" : "no");
		ts_buf_puts(b, "</tr>\n");
	}
	table_end(b);
	ts_buf_puts(b, "</section>\n");
}

static int control_rank(const json_t *c)
{
	const char *st = str(c, "status");
	if (st && strcmp(st, "not_covered") == 0)
		return 0;
	if (st && strcmp(st, "partly") == 0)
		return 1;
	return 2;
}

/* Gaps first: not covered, then partly, then covered; by id within. */
static int control_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int d = control_rank(x) - control_rank(y);
	if (d)
		return d;
	const char *ix = str(x, "id"), *iy = str(y, "id");
	return strcmp(ix ? ix : "", iy ? iy : "");
}

/* A bar of covered, partly and not covered parts, with its numbers as text. */
static void coverage_bar(struct ts_buf *b, double covered, double partly, double gaps)
{
	double total = covered + partly + gaps;
	ts_buf_printf(b,
	              "<div class=\"bar\" role=\"img\" aria-label=\"%g covered, %g partly, %g "
	              "not covered\">",
	              covered, partly, gaps);
	if (total > 0) {
		ts_buf_printf(b, "<span class=\"b-ok\" style=\"width:%.1f%%\"></span>",
		              100 * covered / total);
		ts_buf_printf(b, "<span class=\"b-part\" style=\"width:%.1f%%\"></span>",
		              100 * partly / total);
		ts_buf_printf(b, "<span class=\"b-gap\" style=\"width:%.1f%%\"></span>",
		              100 * gaps / total);
	}
	ts_buf_puts(b, "</div>");
}

static void section_compliance(struct ts_buf *b, const json_t *comp)
{
	const json_t *fws = json_object_get(comp, "frameworks");
	size_t i;
	const json_t *fw;
	section_start(b, "compliance", "Compliance coverage");
	const json_t *req = json_object_get(comp, "required");
	if (json_array_size(req) > 0) {
		ts_buf_puts(b, "<p>Required: ");
		size_t k;
		const json_t *r;
		json_array_foreach (req, k, r) {
			if (k)
				ts_buf_puts(b, ", ");
			esc(b, json_string_value(r));
		}
		ts_buf_puts(b, ".</p>\n");
	}
	if (json_array_size(fws) == 0) {
		none(b, "No compliance framework is mapped by the countermeasures.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	json_array_foreach (fws, i, fw) {
		const char *name = str(fw, "framework");
		const json_t *tot = json_object_get(fw, "totals");
		ts_buf_puts(b, "<h3>");
		text_or_dash(b, name);
		if (json_is_true(json_object_get(fw, "required")))
			ts_buf_puts(b, " <span class=\"muted\">(required)</span>");
		ts_buf_puts(b, "</h3>\n<p>");
		coverage_bar(b, json_number_value(json_object_get(tot, "covered")),
		             json_number_value(json_object_get(tot, "partly")),
		             json_number_value(json_object_get(tot, "not_covered")));
		number(b, json_object_get(tot, "covered"));
		ts_buf_puts(b, " of ");
		number(b, json_object_get(tot, "controls"));
		ts_buf_puts(b, " controls covered (");
		number(b, json_object_get(tot, "percent"));
		ts_buf_puts(b, "%), ");
		number(b, json_object_get(tot, "partly"));
		ts_buf_puts(b, " partly, ");
		number(b, json_object_get(tot, "not_covered"));
		ts_buf_puts(b, " not covered.</p>\n");

		const json_t *controls = json_object_get(fw, "controls");
		size_t n = json_array_size(controls);
		if (n == 0)
			continue;
		const json_t **sorted = ts_calloc(n, sizeof(*sorted));
		for (size_t k = 0; k < n; k++)
			sorted[k] = json_array_get(controls, k);
		qsort(sorted, n, sizeof(*sorted), control_cmp);
		static const char *const cols[] = {"Control", "Status", "Tasks"};
		struct ts_buf id = {0}, cap = {0};
		diagram_element_id(&id, "compliance-", name ? name : "");
		ts_buf_printf(&cap, "Controls of %s, gaps first", name ? name : "");
		table_start(b, id.data, cap.data, cols, TS_ARRAY_SIZE(cols));
		for (size_t k = 0; k < n; k++) {
			const json_t *c = sorted[k];
			const char *st = str(c, "status");
			ts_buf_puts(b, "<tr>");
			td(b, str(c, "id"));
			ts_buf_printf(b, "<td data-v=\"%d\" class=\"st-%s\">", control_rank(c),
			              control_rank(c) == 0   ? "not_covered"
			              : control_rank(c) == 1 ? "partly"
			                                     : "covered");
			text_or_dash(b, st);
			ts_buf_puts(b, "</td><td>");
			size_t j;
			const json_t *t;
			json_array_foreach (json_object_get(c, "tasks"), j, t) {
				if (j)
					ts_buf_puts(b, "<br>");
				ts_buf_puts(b, "<code>");
				esc(b, str(t, "id"));
				ts_buf_puts(b, "</code> ");
				esc(b, str(t, "status"));
			}
			ts_buf_puts(b, "</td></tr>\n");
		}
		table_end(b);
		ts_buf_free(&id);
		ts_buf_free(&cap);
		free(sorted);
	}
	ts_buf_puts(b, "</section>\n");
}

static void section_releases(struct ts_buf *b, const json_t *rels)
{
	static const char *const cols[] = {"Release",     "Created",       "#Model version",
	                                   "#Risk score", "#Open threats", "Threats addressed"};
	size_t i;
	const json_t *r;
	section_start(b, "releases", "Releases");
	if (json_array_size(rels) == 0) {
		none(b, "No releases recorded.");
		ts_buf_puts(b, "</section>\n");
		return;
	}
	table_start(b, "releases-table", "Releases, oldest first", cols, TS_ARRAY_SIZE(cols));
	json_array_foreach (rels, i, r) {
		const json_t *m = json_object_get(r, "metrics");
		const json_t *open = json_object_get(m, "threats_open");
		long long total = 0;
		for (int s = 0; s < 4; s++)
			total += json_integer_value(json_object_get(open, severities[s]));
		ts_buf_puts(b, "<tr>");
		td(b, str(r, "name"));
		td(b, str(r, "created_at"));
		td_num(b, json_object_get(r, "model_version"));
		td_num(b, json_object_get(m, "risk_score"));
		ts_buf_printf(b, "<td class=\"num\">%lld</td>", total);
		const json_t *addr = json_object_get(r, "threats_addressed");
		size_t na = json_array_size(addr);
		ts_buf_printf(b, "<td data-v=\"%zu\">", na);
		if (na == 0) {
			ts_buf_puts(b, "none");
		} else {
			ts_buf_printf(b, "<details><summary>%zu</summary>", na);
			size_t k;
			const json_t *a;
			json_array_foreach (addr, k, a) {
				ts_buf_puts(b, k ? "<br><code>" : "<code>");
				esc(b, json_string_value(a));
				ts_buf_puts(b, "</code>");
			}
			ts_buf_puts(b, "</details>");
		}
		ts_buf_puts(b, "</td></tr>\n");
	}
	table_end(b);
	ts_buf_puts(b, "</section>\n");
}

int report_render_html(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	const json_t *project, *model, *threats, *cms, *findings, *ovs, *comp, *rels, *trend;
	const json_t *cls, *sum;
	int rc;

	if ((rc = check_version(doc, "report", err)) < 0)
		return rc;
	if ((rc = member_object(doc, "report", "project", &project, err)) < 0 ||
	    (rc = member_object(doc, "report", "classification", &cls, err)) < 0 ||
	    (rc = member_object(doc, "report", "model", &model, err)) < 0 ||
	    (rc = member_object(doc, "report", "summary", &sum, err)) < 0 ||
	    (rc = member_array(doc, "report", "threats", &threats, err)) < 0 ||
	    (rc = member_array(doc, "report", "countermeasures", &cms, err)) < 0 ||
	    (rc = member_array(doc, "report", "findings", &findings, err)) < 0 ||
	    (rc = member_array(doc, "report", "overrides", &ovs, err)) < 0 ||
	    (rc = member_object(doc, "report", "compliance", &comp, err)) < 0 ||
	    (rc = member_array(doc, "report", "releases", &rels, err)) < 0 ||
	    (rc = member_array(doc, "report", "trend", &trend, err)) < 0)
		return rc;
	if ((rc = objects_only(threats, "report.threats", err)) < 0 ||
	    (rc = objects_only(cms, "report.countermeasures", err)) < 0 ||
	    (rc = objects_only(findings, "report.findings", err)) < 0 ||
	    (rc = objects_only(ovs, "report.overrides", err)) < 0 ||
	    (rc = objects_only(rels, "report.releases", err)) < 0 ||
	    (rc = objects_only(trend, "report.trend", err)) < 0)
		return rc;
	if (comp) {
		const json_t *fws;
		if ((rc = member_array(comp, "report.compliance", "frameworks", &fws, err)) < 0 ||
		    (rc = objects_only(fws, "report.compliance.frameworks", err)) < 0)
			return rc;
	}
	if (model) {
		const json_t *tmp;
		static const char *const lists[] = {"zones", "components", "flows"};
		for (size_t i = 0; i < TS_ARRAY_SIZE(lists); i++) {
			if ((rc = member_array(model, "report.model", lists[i], &tmp, err)) < 0)
				return rc;
		}
	}

	/* the date overdue is measured against: the day the report is of */
	const char *generated = str(doc, "generated_at");
	char today[11] = "";
	if (generated && strlen(generated) >= 10)
		snprintf(today, sizeof(today), "%s", generated);

	const char *pname = str(project, "name") ? str(project, "name") : str(project, "slug");
	struct ts_buf title = {0};
	ts_buf_printf(&title, "Threat model report: %s", pname ? pname : "project");
	page_start(out, title.data);
	ts_buf_free(&title);
	ts_buf_puts(out, "<header><p class=\"muted\">threatsync threat model report</p><h1>");
	text_or_dash(out, pname);
	ts_buf_puts(out, "</h1></header>\n<nav aria-label=\"Sections\"><ul>"
	                 "<li><a href=\"#summary\">Summary</a></li>"
	                 "<li><a href=\"#diagram\">Diagram</a></li>"
	                 "<li><a href=\"#threats\">Threats</a></li>"
	                 "<li><a href=\"#countermeasures\">Countermeasures</a></li>"
	                 "<li><a href=\"#findings\">Findings</a></li>"
	                 "<li><a href=\"#overrides\">Overrides</a></li>"
	                 "<li><a href=\"#compliance\">Compliance</a></li>"
	                 "<li><a href=\"#releases\">Releases</a></li>"
	                 "<li><a href=\"#trend\">Trend</a></li></ul></nav>\n<main>\n");
	section_summary(out, doc);
	section_diagram(out, doc);
	section_threats(out, threats);
	section_countermeasures(out, cms, today[0] ? today : NULL);
	section_findings(out, findings);
	section_overrides(out, ovs);
	section_compliance(out, comp);
	section_releases(out, rels);
	section_start(out, "trend", "Trend");
	chart_trend(trend, out);
	ts_buf_puts(out, "</section>\n</main>\n");
	page_end(out, generated);
	return 0;
}

int report_render_portfolio_html(const json_t *doc, struct ts_buf *out, struct ts_err *err)
{
	const json_t *projects;
	int rc;
	size_t i;
	const json_t *p;

	if ((rc = check_version(doc, "portfolio", err)) < 0)
		return rc;
	if ((rc = member_array(doc, "portfolio", "projects", &projects, err)) < 0 ||
	    (rc = objects_only(projects, "portfolio.projects", err)) < 0)
		return rc;
	const char *generated = str(doc, "generated_at");
	page_start(out, "Threat model portfolio");
	ts_buf_puts(out, "<header><p class=\"muted\">threatsync portfolio report</p>"
	                 "<h1>Portfolio</h1></header>\n<main>\n");
	section_start(out, "projects", "Projects");
	if (json_array_size(projects) == 0) {
		none(out, "No projects.");
	} else {
		static const char *const cols[] = {
		    "Project",     "Risk class",     "#Critical", "#High",
		    "#Medium",     "#Low",           "#Overdue",  "#Verification failed",
		    "#Risk score", "#Since release", "Coverage"};
		table_start(out, "portfolio-table", "Projects by risk class, then risk score", cols,
		            TS_ARRAY_SIZE(cols));
		json_array_foreach (projects, i, p) {
			ts_buf_puts(out, "<tr><td>");
			text_or_dash(out, str(p, "name"));
			ts_buf_puts(out, " <code>");
			esc(out, str(p, "slug"));
			ts_buf_puts(out, "</code></td>");
			severity_cell(out, str(p, "risk_class"));
			const json_t *open = json_object_get(p, "threats_open");
			for (int s = 0; s < 4; s++)
				td_num(out, json_object_get(open, severities[s]));
			td_num(out, json_object_get(p, "overdue"));
			td_num(out, json_object_get(p, "verification_failed"));
			td_num(out, json_object_get(p, "risk_score"));
			const json_t *since = json_object_get(p, "since_release");
			const json_t *delta = json_object_get(since, "risk_score_delta");
			ts_buf_puts(out, "<td class=\"num\">");
			if (json_is_number(delta)) {
				double d = json_number_value(delta);
				ts_buf_printf(out, "%s%.10g", d > 0 ? "+" : "", d);
				if (str(since, "release")) {
					ts_buf_puts(out, " <span class=\"muted\">since ");
					esc(out, str(since, "release"));
					ts_buf_puts(out, "</span>");
				}
			} else {
				ts_buf_puts(out, "\xE2\x80\x94");
			}
			ts_buf_puts(out, "</td><td>");
			size_t k;
			const json_t *c;
			json_array_foreach (json_object_get(p, "coverage"), k, c) {
				double cov = json_number_value(json_object_get(c, "covered"));
				double part = json_number_value(json_object_get(c, "partly"));
				double gap = json_number_value(json_object_get(c, "not_covered"));
				ts_buf_puts(out, "<div>");
				text_or_dash(out, str(c, "framework"));
				coverage_bar(out, cov, part, gap);
				ts_buf_puts(out, "</div>");
			}
			if (json_array_size(json_object_get(p, "coverage")) == 0)
				ts_buf_puts(out, "\xE2\x80\x94");
			ts_buf_puts(out, "</td></tr>\n");
		}
		table_end(out);
	}
	ts_buf_puts(out, "</section>\n</main>\n");
	page_end(out, generated);
	return 0;
}
