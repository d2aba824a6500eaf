/* SPDX-License-Identifier: Apache-2.0 */
/* Fingerprints of findings: the same result in two scans gets the same
 * fingerprint, whatever line it moved to and whatever volatile query values a
 * scanner put in a URL. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "engine/findings/ingest_internal.h"

/* Adds a field to the digest with its length first, so no two different
 * lists of fields give the same bytes. */
static void field(EVP_MD_CTX *md, const char *s)
{
	char len[24];
	size_t n = s ? strlen(s) : 0;
	int k = snprintf(len, sizeof(len), "%zu:", n);
	EVP_DigestUpdate(md, len, (size_t)k);
	if (n)
		EVP_DigestUpdate(md, s, n);
}

/* s with every run of white space folded to one space, trimmed. New. */
static char *fold(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *out = ts_malloc(n + 1);
	size_t k = 0;
	bool space = false;
	for (size_t i = 0; i < n; i++) {
		if (isspace((unsigned char)s[i])) {
			space = k > 0;
			continue;
		}
		if (space)
			out[k++] = ' ';
		space = false;
		out[k++] = s[i];
	}
	out[k] = '\0';
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void append_lower(struct ts_buf *b, const char *s, size_t n)
{
	char chunk[64];
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		for (size_t i = 0; i < k; i++)
			chunk[i] = (char)tolower((unsigned char)s[i]);
		ts_buf_append(b, chunk, k);
		s += k;
		n -= k;
	}
}

char *fingerprint_url(const char *url)
{
	struct ts_buf b = {0};
	const char *p = url ? url : "";
	const char *scheme_end = strstr(p, "://");
	const char *host = p;
	if (scheme_end) {
		append_lower(&b, p, (size_t)(scheme_end - p));
		ts_buf_puts(&b, "://");
		host = scheme_end + 3;
	}
	size_t hl = strcspn(host, "/?#");
	append_lower(&b, host, hl);
	const char *path = host + hl;
	size_t pl = strcspn(path, "?#");
	ts_buf_append(&b, path, pl);
	if (path[pl] == '?') {
		const char *q = path + pl + 1;
		size_t ql = strcspn(q, "#");
		char *query = ts_strndup(q, ql);
		size_t n = 0, cap = 8;
		char **keys = ts_malloc(cap * sizeof(*keys));
		for (char *save = NULL, *t = strtok_r(query, "&;", &save); t;
		     t = strtok_r(NULL, "&;", &save)) {
			t[strcspn(t, "=")] = '\0';
			if (!*t)
				continue;
			if (n == cap)
				keys = ts_realloc(keys, (cap *= 2) * sizeof(*keys));
			keys[n++] = t;
		}
		qsort(keys, n, sizeof(*keys), cmp_str);
		for (size_t i = 0; i < n; i++) {
			if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
				continue;
			ts_buf_puts(&b, i == 0 ? "?" : "&");
			ts_buf_puts(&b, keys[i]);
		}
		free(keys);
		free(query);
	}
	return ts_buf_steal(&b);
}

static bool has(const char *s)
{
	return s && *s;
}

void fingerprint_compute(const struct finding *f, const char *scope, char out[FINGERPRINT_MAX])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		abort(); /* out of memory, as ts_malloc does */
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	field(md, "threatsync-finding/1");
	field(md, f->tool);
	field(md, scope);
	const char *kind;
	if (has(f->fingerprint)) {
		kind = "tool";
		field(md, kind);
		field(md, f->fingerprint_kind);
		field(md, f->fingerprint);
	} else if (has(f->url)) {
		kind = "dast";
		char *u = fingerprint_url(f->url);
		field(md, kind);
		field(md, f->rule_id);
		field(md, f->method);
		field(md, u);
		field(md, f->param);
		free(u);
	} else if (has(f->package) || has(f->image)) {
		kind = "dependency";
		field(md, kind);
		field(md, f->rule_id);
		field(md, f->package);
		field(md, f->image);
	} else {
		/* Static analysis: the path and what the result says or shows,
		 * never the line, so a result that only moved keeps its identity. */
		kind = has(f->path) ? "sast" : "other";
		char *text = fold(has(f->snippet) ? f->snippet : f->message);
		field(md, kind);
		field(md, f->rule_id);
		field(md, f->path);
		field(md, text);
		free(text);
	}
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	static const char hex[] = "0123456789abcdef";
	size_t k = strlen(kind);
	memcpy(out, kind, k);
	out[k++] = ':';
	for (unsigned int i = 0; i < dl && k + 2 < FINGERPRINT_MAX; i++) {
		out[k++] = hex[d[i] >> 4];
		out[k++] = hex[d[i] & 15];
	}
	out[k] = '\0';
}

void fingerprint_kind(const char *fp, char out[16])
{
	size_t n = strcspn(fp, ":");
	snprintf(out, 16, "%.*s", (int)(n < 15 ? n : 15), fp);
}
