/* SPDX-License-Identifier: Apache-2.0 */
/* GitLab-flavoured markdown rendering of a ticket description, with escaping of library text. */
#include "connectors/markdown.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Characters CommonMark or GitLab give a meaning wherever they appear. */
static bool md_always_special(char c)
{
	return strchr("\\`*_[]<>|~@", c) != NULL;
}

/* GitLab reference sigils (#12, !12, $12, %milestone, &epic) and entities
 * (&amp;) only count when a word character follows. */
static bool md_sigil(char c)
{
	return strchr("#!$%&", c) != NULL;
}

static void md_escape_line(struct ts_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n' || c == '\t') {
			ts_buf_puts(out, " ");
			continue;
		}
		bool next_word = i + 1 < n && (isalnum((unsigned char)s[i + 1]) || s[i + 1] == '_');
		if (md_always_special(c) || (md_sigil(c) && next_word) || (c == '#' && i == 0))
			ts_buf_puts(out, "\\");
		ts_buf_append(out, &c, 1);
	}
}

void md_escape_inline(struct ts_buf *out, const char *s)
{
	if (s)
		md_escape_line(out, s, strlen(s));
}

void md_escape_block(struct ts_buf *out, const char *s)
{
	if (!s)
		return;
	bool pending_break = false, pending_para = false, any = false;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, "\n");
		size_t len = n;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
			len--;
		size_t lead = 0;
		while (lead < len && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead == len) {
			pending_para = any;
		} else {
			if (pending_para)
				ts_buf_puts(out, "\n\n");
			else if (pending_break)
				ts_buf_puts(out, "\\\n");
			/* Leading blanks would make an indented code block: drop them. */
			md_escape_line(out, p + lead, len - lead);
			any = true;
			pending_para = false;
			pending_break = true;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	ts_buf_puts(out, "\n");
}

void md_code_block(struct ts_buf *out, const char *info, const char *code)
{
	size_t longest = 0, run = 0;
	for (const char *p = code ? code : ""; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	size_t fence = longest + 1 > 3 ? longest + 1 : 3;
	for (size_t i = 0; i < fence; i++)
		ts_buf_puts(out, "`");
	for (const char *p = info ? info : ""; *p; p++)
		if (isalnum((unsigned char)*p) || strchr("+#._-", *p))
			ts_buf_append(out, p, 1);
	ts_buf_puts(out, "\n");
	if (code && *code) {
		ts_buf_puts(out, code);
		if (code[strlen(code) - 1] != '\n')
			ts_buf_puts(out, "\n");
	}
	for (size_t i = 0; i < fence; i++)
		ts_buf_puts(out, "`");
	ts_buf_puts(out, "\n");
}

static bool md_is_http_url(const char *url)
{
	const char *host = NULL;
	if (url && strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (url && strncmp(url, "http://", 7) == 0)
		host = url + 7;
	return host && *host != '\0' && *host != '/';
}

void md_link(struct ts_buf *out, const char *text, const char *url)
{
	if (!md_is_http_url(url)) {
		md_escape_inline(out, text);
		if (url && *url) {
			ts_buf_puts(out, " (");
			md_escape_inline(out, url);
			ts_buf_puts(out, ")");
		}
		return;
	}
	ts_buf_puts(out, "[");
	md_escape_inline(out, text && *text ? text : url);
	ts_buf_puts(out, "](");
	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("()<>\"'\\`", *p))
			ts_buf_printf(out, "%%%02X", *p);
		else
			ts_buf_append(out, (const char *)p, 1);
	}
	ts_buf_puts(out, ")");
}

static const char *md_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void md_cwe(struct ts_buf *out, const json_t *cwe, const json_t *names)
{
	char id[32];
	if (json_is_integer(cwe))
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(cwe));
	else if (json_is_string(cwe))
		snprintf(id, sizeof(id), "%s", json_string_value(cwe));
	else
		return;
	/* Accept "79" and "CWE-79" alike; only digits make a link. */
	const char *digits = strncmp(id, "CWE-", 4) == 0 ? id + 4 : id;
	if (*digits == '\0' || digits[strspn(digits, "0123456789")] != '\0') {
		md_escape_inline(out, id);
		return;
	}
	char text[40], url[96];
	snprintf(text, sizeof(text), "CWE-%s", digits);
	snprintf(url, sizeof(url), "https://cwe.mitre.org/data/definitions/%s.html", digits);
	md_link(out, text, url);
	const char *name = names ? json_string_value(json_object_get(names, digits)) : NULL;
	if (name) {
		ts_buf_puts(out, " ");
		md_escape_inline(out, name);
	}
}

static void md_threats(struct ts_buf *out, const json_t *threats, const json_t *names)
{
	if (json_array_size(threats) == 0)
		return;
	ts_buf_puts(out, "\n## Threats\n\n");
	size_t i;
	const json_t *t;
	json_array_foreach (threats, i, t) {
		ts_buf_puts(out, "- **");
		md_escape_inline(out, md_str(t, "title") ? md_str(t, "title") : md_str(t, "uid"));
		ts_buf_puts(out, "**");
		if (md_str(t, "uid")) {
			ts_buf_puts(out, " (`");
			/* uids are [A-Za-z0-9@._-]: safe inside a code span */
			for (const char *p = md_str(t, "uid"); *p; p++)
				if (*p != '`')
					ts_buf_append(out, p, 1);
			ts_buf_puts(out, "`)");
		}
		if (md_str(t, "severity")) {
			ts_buf_puts(out, ", severity ");
			md_escape_inline(out, md_str(t, "severity"));
		}
		const json_t *cwes = json_object_get(t, "cwe");
		if (json_array_size(cwes) > 0) {
			ts_buf_puts(out, "\n  - ");
			size_t k;
			const json_t *c;
			json_array_foreach (cwes, k, c) {
				if (k > 0)
					ts_buf_puts(out, "\n  - ");
				md_cwe(out, c, names);
			}
		}
		ts_buf_puts(out, "\n");
	}
}

static void md_how_to(struct ts_buf *out, const json_t *how)
{
	if (json_array_size(how) == 0)
		return;
	ts_buf_puts(out, "\n## How to\n");
	size_t i;
	const json_t *h;
	json_array_foreach (how, i, h) {
		const char *stack = md_str(h, "stack");
		const char *text = md_str(h, "text");
		if (!text)
			continue;
		ts_buf_puts(out, "\n");
		if (stack) {
			ts_buf_puts(out, "**");
			md_escape_inline(out, stack);
			ts_buf_puts(out, "**\n\n");
		}
		md_code_block(out, stack, text);
	}
}

static void md_training(struct ts_buf *out, const json_t *training)
{
	if (json_array_size(training) == 0)
		return;
	ts_buf_puts(out, "\n## Training\n\n");
	size_t i;
	const json_t *t;
	json_array_foreach (training, i, t) {
		ts_buf_puts(out, "- ");
		md_link(out, md_str(t, "title"), md_str(t, "url"));
		ts_buf_puts(out, "\n");
	}
}

static void md_compliance(struct ts_buf *out, const json_t *compliance)
{
	if (json_object_size(compliance) == 0)
		return;
	ts_buf_puts(out, "\n## Compliance\n\n");
	/* Frameworks in name order, whatever order the object holds them in. */
	const char **keys = ts_calloc(json_object_size(compliance), sizeof(*keys));
	size_t n = 0;
	const char *k;
	const json_t *v;
	json_object_foreach ((json_t *)compliance, k, v) {
		size_t at = n++;
		while (at > 0 && strcmp(keys[at - 1], k) > 0) {
			keys[at] = keys[at - 1];
			at--;
		}
		keys[at] = k;
	}
	for (size_t i = 0; i < n; i++) {
		ts_buf_puts(out, "- **");
		md_escape_inline(out, keys[i]);
		ts_buf_puts(out, "**: ");
		const json_t *ids = json_object_get(compliance, keys[i]);
		size_t j;
		const json_t *id;
		json_array_foreach (ids, j, id) {
			if (j > 0)
				ts_buf_puts(out, ", ");
			md_escape_inline(out, json_string_value(id));
		}
		ts_buf_puts(out, "\n");
	}
	free(keys);
}

static void md_context(struct ts_buf *out, const struct ticket_content *t)
{
	const json_t *comp = json_object_get(t->body, "component");
	ts_buf_puts(out, "\n## Context\n\n");
	if (comp) {
		const char *name = md_str(comp, "name"), *id = md_str(comp, "id");
		ts_buf_puts(out, "- Component: ");
		md_escape_inline(out, name ? name : id);
		if (name && id) {
			ts_buf_puts(out, " (");
			md_escape_inline(out, id);
			ts_buf_puts(out, ")");
		}
		if (md_str(comp, "type")) {
			ts_buf_puts(out, ", type ");
			md_escape_inline(out, md_str(comp, "type"));
		}
		ts_buf_puts(out, "\n");
	}
	if (t->project_slug) {
		ts_buf_puts(out, "- Project: ");
		md_escape_inline(out, t->project_slug);
		ts_buf_printf(out, ", model version %d\n", t->model_version);
	}
	if (t->cm_uid) {
		ts_buf_puts(out, "- Countermeasure: ");
		md_escape_inline(out, t->cm_uid);
		ts_buf_puts(out, "\n");
	}
	if (t->priority >= 1 && t->priority <= 4)
		ts_buf_printf(out, "- Priority: P%d\n", t->priority);
	if (t->severity) {
		ts_buf_puts(out, "- Severity: ");
		md_escape_inline(out, t->severity);
		ts_buf_puts(out, "\n");
	}
	if (t->due_date) {
		ts_buf_puts(out, "- Due: ");
		md_escape_inline(out, t->due_date);
		ts_buf_puts(out, "\n");
	}
	if (t->link_back) {
		ts_buf_puts(out, "- Tracked by threatsync: ");
		if (md_is_http_url(t->link_back))
			md_link(out, t->link_back, t->link_back);
		else
			md_escape_inline(out, t->link_back);
		ts_buf_puts(out, "\n");
	}
}

void md_render_ticket(struct ts_buf *out, const struct ticket_content *t)
{
	const json_t *b = t->body;
	const char *req = md_str(b, "requirement");
	ts_buf_puts(out, "## Requirement\n\n");
	md_escape_block(out, req && *req ? req : t->summary);
	md_how_to(out, json_object_get(b, "how_to"));
	const char *acc = md_str(b, "acceptance_test");
	if (acc && *acc) {
		ts_buf_puts(out, "\n## Acceptance test\n\n");
		md_escape_block(out, acc);
	}
	md_threats(out, json_object_get(b, "threats"), t->cwe_names);
	md_training(out, json_object_get(b, "training"));
	md_compliance(out, json_object_get(b, "compliance"));
	md_context(out, t);
}
