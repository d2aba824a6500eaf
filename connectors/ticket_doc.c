/* SPDX-License-Identifier: Apache-2.0 */
/* Builds the ticket document, the one description of every ticket, from a
 * countermeasure body and the markdown of its library texts. */
#include "connectors/ticket_doc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

/* ---- building blocks ---- */

static struct ticket_block *doc_add(struct ticket_doc *d, enum ticket_block_kind kind)
{
	d->blocks = ts_realloc(d->blocks, (d->n_blocks + 1) * sizeof(*d->blocks));
	struct ticket_block *b = &d->blocks[d->n_blocks++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	return b;
}

static void span_add(struct ticket_block *b, enum ticket_span_kind kind, const char *text, size_t n,
                     const char *href)
{
	if (n == 0)
		return;
	/* Adjacent plain text merges, so renderers never see empty or split runs. */
	if (kind == TICKET_SPAN_TEXT && b->n_spans > 0 &&
	    b->spans[b->n_spans - 1].kind == TICKET_SPAN_TEXT) {
		struct ticket_span *last = &b->spans[b->n_spans - 1];
		size_t old = strlen(last->text);
		last->text = ts_realloc(last->text, old + n + 1);
		memcpy(last->text + old, text, n);
		last->text[old + n] = '\0';
		return;
	}
	b->spans = ts_realloc(b->spans, (b->n_spans + 1) * sizeof(*b->spans));
	struct ticket_span *s = &b->spans[b->n_spans++];
	s->kind = kind;
	s->text = ts_strndup(text, n);
	s->href = href ? ts_strdup(href) : NULL;
}

static void span_text(struct ticket_block *b, const char *text)
{
	if (text)
		span_add(b, TICKET_SPAN_TEXT, text, strlen(text), NULL);
}

static bool url_start(const char *s)
{
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* Length of a bare URL at s: up to whitespace, without trailing punctuation. */
static size_t url_len(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n] && !isspace((unsigned char)s[n]) && s[n] != '<' && s[n] != '>' &&
	       s[n] != '"')
		n++;
	while (n > 0 && strchr(".,;:!?)'", s[n - 1]))
		n--;
	return n;
}

/* Inline markdown of text[0..n) into spans of b. */
static void inline_spans(struct ticket_block *b, const char *text, size_t n)
{
	size_t i = 0, plain = 0;
	while (i < n) {
		char ch = text[i];
		if (ch == '`') {
			const char *end = memchr(text + i + 1, '`', n - i - 1);
			if (end && end > text + i + 1) {
				span_add(b, TICKET_SPAN_TEXT, text + plain, i - plain, NULL);
				span_add(b, TICKET_SPAN_CODE, text + i + 1,
				         (size_t)(end - text) - i - 1, NULL);
				i = (size_t)(end - text) + 1;
				plain = i;
				continue;
			}
		} else if (ch == '[') {
			const char *close = memchr(text + i + 1, ']', n - i - 1);
			if (close && close > text + i + 1 && (size_t)(close - text) + 1 < n &&
			    close[1] == '(' && url_start(close + 2)) {
				size_t hstart = (size_t)(close - text) + 2;
				const char *rp = memchr(text + hstart, ')', n - hstart);
				if (rp) {
					char *href =
					    ts_strndup(text + hstart, (size_t)(rp - text) - hstart);
					span_add(b, TICKET_SPAN_TEXT, text + plain, i - plain,
					         NULL);
					span_add(b, TICKET_SPAN_LINK, text + i + 1,
					         (size_t)(close - text) - i - 1, href);
					free(href);
					i = (size_t)(rp - text) + 1;
					plain = i;
					continue;
				}
			}
		} else if ((ch == 'h') && url_start(text + i) &&
		           (i == 0 || isspace((unsigned char)text[i - 1]) || text[i - 1] == '(')) {
			size_t len = url_len(text + i, n - i);
			if (len > 8) {
				char *href = ts_strndup(text + i, len);
				span_add(b, TICKET_SPAN_TEXT, text + plain, i - plain, NULL);
				span_add(b, TICKET_SPAN_LINK, href, len, href);
				free(href);
				i += len;
				plain = i;
				continue;
			}
		}
		i++;
	}
	span_add(b, TICKET_SPAN_TEXT, text + plain, n - plain, NULL);
}

/* ---- markdown blocks ---- */

static const char *skip_spaces(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static bool blank(const char *s, const char *end)
{
	return skip_spaces(s, end) == end;
}

static bool fence(const char *s, const char *end)
{
	s = skip_spaces(s, end);
	return end - s >= 3 && strncmp(s, "```", 3) == 0;
}

/* A list item marker ("- ", "* ", "+ ") after at most three spaces. */
static const char *bullet_text(const char *s, const char *end)
{
	const char *p = s;
	while (p < end && *p == ' ' && p - s < 3)
		p++;
	if (end - p >= 2 && (*p == '-' || *p == '*' || *p == '+') && (p[1] == ' ' || p[1] == '\t'))
		return skip_spaces(p + 2, end);
	return NULL;
}

/* Language of a fence line: its first word, kept only when it is a plain token. */
static char *fence_lang(const char *s, const char *end)
{
	s = skip_spaces(s, end) + 3;
	s = skip_spaces(s, end);
	size_t n = 0;
	while (s + n < end && !isspace((unsigned char)s[n]))
		n++;
	if (n == 0 || n > 32)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && !strchr("+#._-", ch))
			return NULL;
	}
	char *lang = ts_strndup(s, n);
	for (char *p = lang; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return lang;
}

static void flush_text(struct ticket_doc *d, enum ticket_block_kind kind, struct ts_buf *acc)
{
	if (acc->len == 0)
		return;
	struct ticket_block *b = doc_add(d, kind);
	inline_spans(b, acc->data, acc->len);
	acc->len = 0;
	acc->data[0] = '\0';
}

void ticket_doc_markdown(struct ticket_doc *d, const char *text)
{
	if (!text)
		return;
	struct ts_buf acc = {0};
	enum ticket_block_kind kind = TICKET_BLOCK_PARAGRAPH;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *next = nl ? nl + 1 : end;
		if (end > p && end[-1] == '\r')
			end--;
		if (fence(p, end)) {
			flush_text(d, kind, &acc);
			char *lang = fence_lang(p, end);
			struct ts_buf code = {0};
			bool first = true;
			p = next;
			while (*p) {
				nl = strchr(p, '\n');
				end = nl ? nl : p + strlen(p);
				next = nl ? nl + 1 : end;
				if (end > p && end[-1] == '\r')
					end--;
				if (fence(p, end)) {
					p = next;
					break;
				}
				if (!first)
					ts_buf_puts(&code, "\n");
				first = false;
				ts_buf_append(&code, p, (size_t)(end - p));
				p = next;
			}
			struct ticket_block *b = doc_add(d, TICKET_BLOCK_CODE);
			b->lang = lang;
			b->code = code.data ? ts_buf_steal(&code) : ts_strdup("");
			kind = TICKET_BLOCK_PARAGRAPH;
			continue;
		}
		if (blank(p, end)) {
			flush_text(d, kind, &acc);
			kind = TICKET_BLOCK_PARAGRAPH;
			p = next;
			continue;
		}
		const char *item = bullet_text(p, end);
		if (item) {
			flush_text(d, kind, &acc);
			kind = TICKET_BLOCK_BULLET;
			ts_buf_append(&acc, item, (size_t)(end - item));
		} else {
			/* A continuation line (of a paragraph or an indented list item). */
			if (kind == TICKET_BLOCK_BULLET && *p != ' ' && *p != '\t') {
				flush_text(d, kind, &acc);
				kind = TICKET_BLOCK_PARAGRAPH;
			}
			const char *s = skip_spaces(p, end);
			if (acc.len)
				ts_buf_puts(&acc, " ");
			ts_buf_append(&acc, s, (size_t)(end - s));
		}
		p = next;
	}
	flush_text(d, kind, &acc);
	ts_buf_free(&acc);
}

/* ---- the description ---- */

static void heading(struct ticket_doc *d, int level, const char *text)
{
	struct ticket_block *b = doc_add(d, TICKET_BLOCK_HEADING);
	b->level = level;
	span_text(b, text);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool nonempty(const char *s)
{
	return s && *s;
}

/* "Also for: Go, Java (threat library)." naming the stacks whose how-tos
 * the task leaves out (generation.other_stacks = links). */
static void other_stacks(struct ticket_doc *d, const json_t *others, const char *url)
{
	struct ticket_block *b = doc_add(d, TICKET_BLOCK_PARAGRAPH);
	span_text(b, "Also for: ");
	for (size_t i = 0; i < json_array_size(others); i++) {
		const json_t *o = json_array_get(others, i);
		const char *name = jstr(o, "name");
		span_text(b, i ? ", " : "");
		span_text(b, nonempty(name) ? name : jstr(o, "stack"));
	}
	if (nonempty(url) && url_start(url)) {
		span_text(b, " (");
		span_add(b, TICKET_SPAN_LINK, "threat library", 14, url);
		span_text(b, ")");
	}
	span_text(b, ".");
}

static void section_how_to(struct ticket_doc *d, const json_t *body)
{
	const json_t *how = json_object_get(body, "how_to");
	const json_t *others = json_object_get(body, "other_stacks");
	if (json_array_size(how) == 0 && json_array_size(others) == 0)
		return;
	heading(d, 3, "How to");
	for (size_t i = 0; i < json_array_size(how); i++) {
		const json_t *h = json_array_get(how, i);
		const char *stack = jstr(h, "stack"), *name = jstr(h, "name");
		if (nonempty(name) || nonempty(stack))
			heading(d, 4, nonempty(name) ? name : stack);
		ticket_doc_markdown(d, jstr(h, "text"));
	}
	if (json_array_size(others) > 0)
		other_stacks(d, others, jstr(body, "library_url"));
}

static void section_training(struct ticket_doc *d, const json_t *training)
{
	if (json_array_size(training) == 0)
		return;
	heading(d, 3, "Training");
	for (size_t i = 0; i < json_array_size(training); i++) {
		const json_t *tr = json_array_get(training, i);
		const char *title = jstr(tr, "title"), *url = jstr(tr, "url");
		if (!nonempty(title) && !nonempty(url))
			continue;
		struct ticket_block *b = doc_add(d, TICKET_BLOCK_BULLET);
		if (nonempty(url) && url_start(url))
			span_add(b, TICKET_SPAN_LINK, nonempty(title) ? title : url,
			         strlen(nonempty(title) ? title : url), url);
		else
			span_text(b, nonempty(title) ? title : url);
	}
}

static void section_threats(struct ticket_doc *d, const json_t *threats, json_t *cwe_names)
{
	if (json_array_size(threats) == 0)
		return;
	heading(d, 3, "Threats");
	for (size_t i = 0; i < json_array_size(threats); i++) {
		const json_t *th = json_array_get(threats, i);
		struct ticket_block *b = doc_add(d, TICKET_BLOCK_BULLET);
		const char *title = jstr(th, "title"), *uid = jstr(th, "uid");
		span_text(b, nonempty(title) ? title : (uid ? uid : "(untitled threat)"));
		if (nonempty(uid) && nonempty(title)) {
			span_text(b, " (");
			span_add(b, TICKET_SPAN_CODE, uid, strlen(uid), NULL);
			span_text(b, ")");
		}
		const char *sev = jstr(th, "severity");
		if (nonempty(sev)) {
			span_text(b, " ");
			span_add(b, TICKET_SPAN_BOLD, "Severity:", 9, NULL);
			span_text(b, " ");
			span_text(b, sev);
		}
		const json_t *cwes = json_object_get(th, "cwe");
		for (size_t k = 0; k < json_array_size(cwes); k++) {
			json_int_t id = json_integer_value(json_array_get(cwes, k));
			if (id <= 0)
				continue;
			char num[32];
			snprintf(num, sizeof(num), "%lld", (long long)id);
			char *text = ts_asprintf("CWE-%s", num);
			char *href =
			    ts_asprintf("https://cwe.mitre.org/data/definitions/%s.html", num);
			span_text(b, k == 0 ? "; " : ", ");
			span_add(b, TICKET_SPAN_LINK, text, strlen(text), href);
			const char *name = jstr(cwe_names, num);
			if (nonempty(name)) {
				span_text(b, " ");
				span_text(b, name);
			}
			free(text);
			free(href);
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void section_compliance(struct ticket_doc *d, const json_t *compliance)
{
	size_t n = json_object_size(compliance);
	if (n == 0)
		return;
	const char **keys = ts_calloc(n, sizeof(*keys));
	size_t k = 0;
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)compliance, key, v)
		keys[k++] = key;
	qsort(keys, k, sizeof(*keys), cmp_str);
	heading(d, 3, "Compliance controls");
	for (size_t i = 0; i < k; i++) {
		const json_t *ids = json_object_get(compliance, keys[i]);
		struct ticket_block *b = doc_add(d, TICKET_BLOCK_BULLET);
		span_add(b, TICKET_SPAN_BOLD, keys[i], strlen(keys[i]), NULL);
		span_text(b, ":");
		for (size_t j = 0; j < json_array_size(ids); j++) {
			const char *id = json_string_value(json_array_get(ids, j));
			if (!nonempty(id))
				continue;
			span_text(b, j == 0 ? " " : ", ");
			span_text(b, id);
		}
	}
	free(keys);
}

static void section_component(struct ticket_doc *d, const struct ticket_spec *t)
{
	const json_t *comp = json_object_get(t->body, "component");
	const char *id = jstr(comp, "id"), *name = jstr(comp, "name"), *type = jstr(comp, "type");
	heading(d, 3, "Component");
	struct ticket_block *b = doc_add(d, TICKET_BLOCK_PARAGRAPH);
	span_text(b, nonempty(name) ? name : (nonempty(id) ? id : "(whole system)"));
	if (nonempty(type)) {
		span_text(b, " (");
		span_text(b, type);
		span_text(b, ")");
	}
	if (nonempty(id)) {
		span_text(b, ", component ");
		span_add(b, TICKET_SPAN_CODE, id, strlen(id), NULL);
	}
	char *ver = ts_asprintf(", model version %d", t->model_version);
	span_text(b, ver);
	free(ver);
	if (nonempty(t->project_slug)) {
		span_text(b, ", project ");
		span_add(b, TICKET_SPAN_CODE, t->project_slug, strlen(t->project_slug), NULL);
	}
	span_text(b, ".");
}

static void section_link_back(struct ticket_doc *d, const struct ticket_spec *t)
{
	heading(d, 3, "Managed by threatsync");
	struct ticket_block *b = doc_add(d, TICKET_BLOCK_PARAGRAPH);
	span_text(b, "This ticket tracks countermeasure ");
	if (nonempty(t->cm_uid))
		span_add(b, TICKET_SPAN_CODE, t->cm_uid, strlen(t->cm_uid), NULL);
	span_text(b, ". threatsync keeps the summary, this description and its labels up to date; "
	             "do not remove the label ");
	if (nonempty(t->marker))
		span_add(b, TICKET_SPAN_CODE, t->marker, strlen(t->marker), NULL);
	span_text(b, ".");
	if (nonempty(t->link_back)) {
		b = doc_add(d, TICKET_BLOCK_PARAGRAPH);
		if (url_start(t->link_back)) {
			span_text(b, "Details: ");
			span_add(b, TICKET_SPAN_LINK, t->link_back, strlen(t->link_back),
			         t->link_back);
		} else {
			inline_spans(b, t->link_back, strlen(t->link_back));
		}
	}
}

void ticket_doc_build(struct ticket_doc *d, const struct ticket_spec *t)
{
	const json_t *body = t->body;
	const char *req = jstr(body, "requirement");
	if (nonempty(req)) {
		heading(d, 3, "Requirement");
		ticket_doc_markdown(d, req);
	}
	section_how_to(d, body);
	const char *acc = jstr(body, "acceptance_test");
	if (nonempty(acc)) {
		heading(d, 3, "Acceptance test");
		ticket_doc_markdown(d, acc);
	}
	section_training(d, json_object_get(body, "training"));
	section_threats(d, json_object_get(body, "threats"), t->cwe_names);
	section_compliance(d, json_object_get(body, "compliance"));
	section_component(d, t);
	section_link_back(d, t);
}

void ticket_doc_clear(struct ticket_doc *d)
{
	for (size_t i = 0; i < d->n_blocks; i++) {
		struct ticket_block *b = &d->blocks[i];
		for (size_t k = 0; k < b->n_spans; k++) {
			free(b->spans[k].text);
			free(b->spans[k].href);
		}
		free(b->spans);
		free(b->lang);
		free(b->code);
	}
	free(d->blocks);
	d->blocks = NULL;
	d->n_blocks = 0;
}
