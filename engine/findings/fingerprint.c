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

/* The bytes a fingerprint digests, gathered in one buffer and digested at
 * once: each field with its length first ("5:hello"), so no two different
 * lists of fields give the same bytes. */
static void field_n(struct ts_buf *b, const char *s, size_t n)
{
	char len[24];
	char *p = len + sizeof(len);
	*--p = ':';
	size_t v = n;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ts_buf_append(b, p, (size_t)(len + sizeof(len) - p));
	ts_buf_append(b, s, n);
}

static void field(struct ts_buf *b, const char *s)
{
	field_n(b, s, s ? strlen(s) : 0);
}

/* s with every run of white space folded to one space, trimmed, as a field. */
static void field_folded(struct ts_buf *b, const char *s)
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
	field_n(b, out, k);
	free(out);
}

static void append_lower(struct ts_buf *b, const char *s, size_t n)
{
	size_t at = b->len;
	ts_buf_append(b, s, n);
	for (size_t i = at; i < b->len; i++)
		b->data[i] = (char)tolower((unsigned char)b->data[i]);
}

/* A key of a query: where it starts and its length. */
struct qkey {
	const char *s;
	size_t n;
};

/* As strcmp on the keys as strings (none holds a NUL). */
static int cmp_key(const void *a, const void *b)
{
	const struct qkey *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
	if (c)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* fingerprint_url appended to b. */
static void url_into(struct ts_buf *b, const char *url)
{
	const char *p = url ? url : "";
	const char *scheme_end = strstr(p, "://");
	const char *host = p;
	if (scheme_end) {
		append_lower(b, p, (size_t)(scheme_end - p));
		ts_buf_append(b, "://", 3);
		host = scheme_end + 3;
	}
	size_t hl = strcspn(host, "/?#");
	append_lower(b, host, hl);
	const char *path = host + hl;
	size_t pl = strcspn(path, "?#");
	ts_buf_append(b, path, pl);
	if (path[pl] != '?')
		return;
	const char *q = path + pl + 1;
	size_t ql = strcspn(q, "#");
	/* the keys of the non-empty "&" or ";" separated parts, sorted, once */
	struct qkey local[32], *keys = local;
	size_t n = 0, cap = sizeof(local) / sizeof(local[0]);
	for (size_t i = 0; i < ql;) {
		size_t part = strcspn(q + i, "&;");
		if (part > ql - i)
			part = ql - i;
		size_t kn = 0;
		while (kn < part && q[i + kn] != '=')
			kn++;
		if (kn > 0) {
			if (n == cap) {
				cap *= 2;
				if (keys == local) {
					keys = ts_malloc(cap * sizeof(*keys));
					memcpy(keys, local, sizeof(local));
				} else {
					keys = ts_realloc(keys, cap * sizeof(*keys));
				}
			}
			keys[n++] = (struct qkey){q + i, kn};
		}
		i += part + 1;
	}
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && cmp_key(&keys[i], &keys[i - 1]) == 0)
			continue;
		ts_buf_append(b, i == 0 ? "?" : "&", 1);
		ts_buf_append(b, keys[i].s, keys[i].n);
	}
	if (keys != local)
		free(keys);
}

char *fingerprint_url(const char *url)
{
	struct ts_buf b = {0};
	url_into(&b, url);
	return ts_buf_steal(&b);
}

static bool has(const char *s)
{
	return s && *s;
}

void fingerprint_compute(const struct finding *f, const char *scope, char out[FINGERPRINT_MAX])
{
	struct ts_buf b = {0};
	field(&b, "threatsync-finding/1");
	field(&b, f->tool);
	field(&b, scope);
	const char *kind;
	if (has(f->fingerprint)) {
		kind = "tool";
		field(&b, kind);
		field(&b, f->fingerprint_kind);
		field(&b, f->fingerprint);
	} else if (has(f->url)) {
		kind = "dast";
		field(&b, kind);
		field(&b, f->rule_id);
		field(&b, f->method);
		/* the canonical URL as a field: its length goes first */
		struct ts_buf u = {0};
		url_into(&u, f->url);
		field_n(&b, u.data, u.len);
		ts_buf_free(&u);
		field(&b, f->param);
	} else if (has(f->package) || has(f->image)) {
		kind = "dependency";
		field(&b, kind);
		field(&b, f->rule_id);
		field(&b, f->package);
		field(&b, f->image);
	} else {
		/* Static analysis: the path and what the result says or shows,
		 * never the line, so a result that only moved keeps its identity. */
		kind = has(f->path) ? "sast" : "other";
		field(&b, kind);
		field(&b, f->rule_id);
		field(&b, f->path);
		field_folded(&b, has(f->snippet) ? f->snippet : f->message);
	}
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	if (EVP_Digest(b.data, b.len, d, &dl, EVP_sha256(), NULL) != 1)
		abort(); /* out of memory, as ts_malloc does */
	ts_buf_free(&b);
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
