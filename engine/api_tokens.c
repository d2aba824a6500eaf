/* SPDX-License-Identifier: Apache-2.0 */
/* The API's token file and the bearer token check. */
#include "engine/api_tokens.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SLUG_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"

bool api_slug_valid(const char *s)
{
	size_t n = s ? strspn(s, SLUG_CHARS) : 0;
	return n > 0 && n <= 64 && s[n] == '\0';
}

static bool token_char(char c)
{
	return c > ' ' && c < 0x7f;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static void token_clear(struct api_token *tok)
{
	if (tok->token) {
		explicit_bzero(tok->token, strlen(tok->token));
		free(tok->token);
	}
	for (size_t i = 0; i < tok->n_projects; i++)
		free(tok->projects[i]);
	free(tok->projects);
	memset(tok, 0, sizeof(*tok));
}

void api_tokens_free(struct api_tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		token_clear(&t->v[i]);
	free(t->v);
	free(t);
}

/* Adds "FILE:LINE: message" as a line of b. */
static void problem(struct ts_buf *b, const char *file, int line, const char *msg)
{
	if (b->len)
		ts_buf_puts(b, "\n");
	ts_buf_printf(b, "%s:%d: %s", file, line, msg);
}

/* The scope field of a line: "*" or slug[,slug...]. */
static int parse_scope(struct api_token *tok, const char *s, size_t n, struct ts_buf *probs,
                       const char *file, int line)
{
	if (n == 1 && s[0] == '*')
		return 0;
	const char *end = s + n;
	for (const char *p = s; p <= end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		char slug[72];
		size_t len = (size_t)(stop - p);
		if (len == 0 || len >= sizeof(slug)) {
			problem(probs, file, line,
			        "the projects must be \"*\" or slugs separated by commas");
			return -1;
		}
		memcpy(slug, p, len);
		slug[len] = '\0';
		if (!api_slug_valid(slug)) {
			char msg[160];
			snprintf(msg, sizeof(msg),
			         "'%s' is not a project slug (lower-case letters, digits, '-')",
			         slug);
			problem(probs, file, line, msg);
			return -1;
		}
		if (tok->n_projects == API_TOKEN_PROJECTS_MAX) {
			problem(probs, file, line, "more than 256 projects on one line");
			return -1;
		}
		tok->projects = ts_realloc(tok->projects, (tok->n_projects + 1) * sizeof(char *));
		tok->projects[tok->n_projects++] = ts_strdup(slug);
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* One line without its newline; fills tok, or reports. */
static int parse_line(const char *s, size_t n, struct api_token *tok, struct ts_buf *probs,
                      const char *file, int line)
{
	const char *end = s + n;
	const char *p = s;
	while (p < end && blank(*p))
		p++;
	const char *t0 = p;
	while (p < end && !blank(*p)) {
		if (!token_char(*p)) {
			problem(probs, file, line,
			        "a token may hold printable ASCII characters only (not shown)");
			return -1;
		}
		p++;
	}
	size_t tlen = (size_t)(p - t0);
	if (tlen > API_TOKEN_LEN_MAX) {
		problem(probs, file, line, "token longer than 512 bytes (not shown)");
		return -1;
	}
	while (p < end && blank(*p))
		p++;
	const char *s0 = p;
	while (p < end && !blank(*p))
		p++;
	const char *scope_end = p;
	while (p < end && blank(*p))
		p++;
	if (p < end) {
		problem(probs, file, line,
		        "expected TOKEN or TOKEN PROJECTS (\"*\" or project-a,project-b), "
		        "found more fields");
		return -1;
	}
	tok->token = ts_strndup(t0, tlen);
	tok->line = line;
	if (scope_end > s0 &&
	    parse_scope(tok, s0, (size_t)(scope_end - s0), probs, file, line) < 0) {
		token_clear(tok);
		return -1;
	}
	return 0;
}

int api_tokens_parse(const char *text, const char *file, struct api_tokens **ret,
                     struct ts_err *err)
{
	struct api_tokens *t = ts_calloc(1, sizeof(*t));
	struct ts_buf probs = {0};
	int line = 0;
	for (const char *p = text ? text : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		size_t lead = 0;
		while (lead < n && blank(p[lead]))
			lead++;
		if (lead < n && p[lead] != '#') {
			struct api_token tok = {0};
			if (t->n == API_TOKENS_MAX) {
				problem(&probs, file, line, "more than 1024 tokens");
				break;
			}
			if (parse_line(p, n, &tok, &probs, file, line) == 0) {
				bool dup = false;
				for (size_t i = 0; i < t->n && !dup; i++) {
					if (strcmp(t->v[i].token, tok.token) == 0) {
						char msg[96];
						snprintf(msg, sizeof(msg),
						         "the same token as line %d (not shown)",
						         t->v[i].line);
						problem(&probs, file, line, msg);
						dup = true;
					}
				}
				if (dup) {
					token_clear(&tok);
				} else {
					t->v = ts_realloc(t->v, (t->n + 1) * sizeof(*t->v));
					t->v[t->n++] = tok;
				}
			}
		}
		p = nl ? nl + 1 : p + n;
		if (!nl)
			break;
	}
	if (!probs.len && t->n == 0)
		ts_buf_printf(&probs, "%s: no token in the file (only blank and comment lines)",
		              file);
	if (probs.len) {
		ts_err_set(err, TS_E_CONFIG, "%s", probs.data);
		ts_buf_free(&probs);
		api_tokens_free(t);
		return TS_E_CONFIG;
	}
	*ret = t;
	return 0;
}

bool api_token_covers(const struct api_token *tok, const char *project)
{
	if (!tok->projects)
		return true;
	for (size_t i = 0; project && i < tok->n_projects; i++)
		if (strcmp(tok->projects[i], project) == 0)
			return true;
	return false;
}

enum api_auth api_tokens_check(const struct api_tokens *t, const char *authorization,
                               const char *project)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return API_AUTH_MISSING;
	const char *presented = authorization + 7;
	while (blank(*presented))
		presented++;
	size_t plen = strlen(presented);
	while (plen > 0 && blank(presented[plen - 1]))
		plen--;
	if (plen == 0)
		return API_AUTH_MISSING;
	/* Every token is compared, and the match is kept without a branch on
	 * the result, so the time does not tell which token (if any) matched. */
	size_t match = 0; /* index + 1 of the matching token; 0: none */
	for (size_t i = 0; t && i < t->n; i++) {
		size_t eq =
		    (size_t)ts_secret_equal(t->v[i].token, strlen(t->v[i].token), presented, plen);
		size_t mask = (size_t)0 - eq; /* all ones when equal */
		match = (match & ~mask) | ((i + 1) & mask);
	}
	if (match == 0)
		return API_AUTH_INVALID;
	if (project && !api_token_covers(&t->v[match - 1], project))
		return API_AUTH_FORBIDDEN;
	return API_AUTH_OK;
}
