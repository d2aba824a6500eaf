/* SPDX-License-Identifier: Apache-2.0 */
/* Findings to components: a component's code.paths globs and code.urls
 * prefixes (model version in force), the most specific match winning. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/findings/ingest_internal.h"

/* A URL's parts: scheme and host (with port) as they are, the path without
 * query and fragment. */
struct url_parts {
	const char *scheme, *host, *path;
	size_t scheme_len, host_len, path_len;
};

struct map_rule {
	char *pattern;        /* a glob, or a URL prefix */
	struct url_parts url; /* of a URL prefix: its parts, pointing into pattern */
	size_t weight;        /* literal characters before the first wildcard / prefix length */
	size_t comp;          /* index into keys */
};

struct mapping {
	char **keys; /* component keys, sorted */
	size_t n_keys;
	struct map_rule *paths, *urls;
	size_t n_paths, n_urls;
	struct strmap *cache;    /* path -> component index + 1, 0: none */
	struct strmap *prefixes; /* url_key of a URL prefix -> component index + 1 */
	struct ts_buf key;       /* scratch for url_key */
};

static const char SQL_COMPONENTS[] =
    "SELECT c.key, c.code FROM components c WHERE c.model_version_id = "
    "(SELECT id FROM model_versions WHERE project_id = ?1 ORDER BY version DESC LIMIT 1) "
    "ORDER BY c.key";

static size_t literal_len(const char *glob)
{
	return strcspn(glob, "*?");
}

static struct map_rule *add_rule(struct map_rule **v, size_t *n, char *pattern, size_t weight,
                                 size_t comp)
{
	*v = ts_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct map_rule){.pattern = pattern, .weight = weight, .comp = comp};
	return &(*v)[(*n)++];
}

static void url_split(const char *u, struct url_parts *p)
{
	memset(p, 0, sizeof(*p));
	const char *sep = strstr(u, "://");
	if (sep && (size_t)(sep - u) < strcspn(u, "/?#")) {
		p->scheme = u;
		p->scheme_len = (size_t)(sep - u);
		u = sep + 3;
		p->host = u;
		p->host_len = strcspn(u, "/?#");
		u += p->host_len;
	}
	p->path = u;
	p->path_len = strcspn(u, "?#");
}

/* The key of a URL's scheme and host (lower case, each with its length, so
 * no two splits give the same bytes) followed by its path, into b. Returns
 * the length of the part before the path. */
static size_t url_key(struct ts_buf *b, const struct url_parts *p)
{
	b->len = 0;
	ts_buf_printf(b, "%zu:%zu:", p->scheme_len, p->host_len);
	ts_buf_append(b, p->scheme, p->scheme_len);
	ts_buf_append(b, p->host, p->host_len);
	for (size_t i = 0; i < b->len; i++)
		b->data[i] = (char)tolower((unsigned char)b->data[i]);
	size_t head = b->len;
	ts_buf_append(b, p->path, p->path_len);
	return head;
}

int mapping_load(struct store *s, int64_t project_id, struct mapping **ret, struct ts_err *err)
{
	struct mapping *m = ts_calloc(1, sizeof(*m));
	m->cache = strmap_new();
	m->prefixes = strmap_new();
	sqlite3_stmt *st = store_prepare(s, SQL_COMPONENTS);
	if (!st) {
		mapping_free(m);
		return store_fail(s, "loading components", err);
	}
	sqlite3_bind_int64(st, 1, project_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t comp = m->n_keys;
		m->keys = ts_realloc(m->keys, (comp + 1) * sizeof(*m->keys));
		m->keys[m->n_keys++] = store_col_dup(st, 0);
		const char *code = store_col_text(st, 1);
		json_t *doc = code ? json_loads(code, 0, NULL) : NULL;
		size_t i;
		json_t *v;
		json_array_foreach (json_object_get(doc, "paths"), i, v) {
			const char *g = json_string_value(v);
			if (!g)
				continue;
			while (g[0] == '.' && g[1] == '/')
				g += 2;
			while (g[0] == '/')
				g++;
			if (!*g)
				continue;
			size_t len = strlen(g);
			/* A trailing '/' is the subtree; its literal part is all of it. */
			char *pat = g[len - 1] == '/' ? ts_asprintf("%s**", g) : ts_strdup(g);
			add_rule(&m->paths, &m->n_paths, pat, literal_len(g), comp);
		}
		json_array_foreach (json_object_get(doc, "urls"), i, v) {
			const char *u = json_string_value(v);
			if (!u || !*u)
				continue;
			char *pat = ts_strdup(u);
			struct url_parts p;
			url_split(pat, &p);
			while (p.path_len > 0 && p.path[p.path_len - 1] == '/')
				p.path_len--;
			add_rule(&m->urls, &m->n_urls, pat, p.host_len + p.path_len, comp)->url = p;
			/* Equal prefixes have equal weights: the first component
			 * (the lower key) keeps it. */
			url_key(&m->key, &p);
			bool created = false;
			void **slot = strmap_slot(m->prefixes, m->key.data, &created);
			if (created)
				*slot = (void *)(uintptr_t)(comp + 1);
		}
		json_decref(doc);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, "loading components", err);
		sqlite3_reset(st);
		mapping_free(m);
		return rc;
	}
	sqlite3_reset(st);
	*ret = m;
	return 0;
}

void mapping_free(struct mapping *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_keys; i++)
		free(m->keys[i]);
	for (size_t i = 0; i < m->n_paths; i++)
		free(m->paths[i].pattern);
	for (size_t i = 0; i < m->n_urls; i++)
		free(m->urls[i].pattern);
	free(m->keys);
	free(m->paths);
	free(m->urls);
	strmap_free(m->cache, NULL);
	strmap_free(m->prefixes, NULL);
	ts_buf_free(&m->key);
	free(m);
}

/* depth bounds the backtracking of a hostile pattern with many stars. */
static bool glob_at(const char *p, const char *s, int depth)
{
	if (depth > 32)
		return false;
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			if (*p == '\0')
				return true;
			if (*p == '/') {
				/* "**" then '/': zero or more whole directories. */
				p++;
				for (const char *t = s;; t++) {
					if ((t == s || t[-1] == '/') && glob_at(p, t, depth + 1))
						return true;
					if (!*t)
						return false;
				}
			}
			for (const char *t = s;; t++) {
				if (glob_at(p, t, depth + 1))
					return true;
				if (!*t)
					return false;
			}
		}
		if (*p == '*') {
			p++;
			for (const char *t = s;; t++) {
				if (glob_at(p, t, depth + 1))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		}
		if (*p == '?') {
			if (!*s || *s == '/')
				return false;
		} else if (*p != *s) {
			return false;
		}
		p++;
		s++;
	}
	return *s == '\0';
}

bool mapping_glob_match(const char *glob, const char *path)
{
	size_t n = strlen(glob);
	if (n > 0 && glob[n - 1] == '/') {
		char *g = ts_asprintf("%s**", glob);
		bool r = glob_at(g, path, 0);
		free(g);
		return r;
	}
	return glob_at(glob, path, 0);
}

/* Whether url (split) lies under the prefix a (split, its path without
 * trailing '/'). */
static bool url_under(const struct url_parts *a, const struct url_parts *b)
{
	if (a->scheme_len != b->scheme_len || a->host_len != b->host_len)
		return false;
	if (a->scheme_len && strncasecmp(a->scheme, b->scheme, a->scheme_len) != 0)
		return false;
	if (a->host_len && strncasecmp(a->host, b->host, a->host_len) != 0)
		return false;
	size_t pl = a->path_len;
	if (pl == 0)
		return true;
	if (b->path_len < pl || memcmp(a->path, b->path, pl) != 0)
		return false;
	/* On a segment boundary: /api covers /api and /api/x, not /apix. */
	return b->path_len == pl || b->path[pl] == '/';
}

bool mapping_url_match(const char *prefix, const char *url)
{
	struct url_parts a, b;
	url_split(prefix, &a);
	while (a.path_len > 0 && a.path[a.path_len - 1] == '/')
		a.path_len--;
	url_split(url, &b);
	return url_under(&a, &b);
}

static const char *best_path(struct mapping *m, const char *path)
{
	bool created = false;
	void **slot = strmap_slot(m->cache, path, &created);
	if (created) {
		const struct map_rule *win = NULL;
		for (size_t i = 0; i < m->n_paths; i++) {
			const struct map_rule *r = &m->paths[i];
			if (win && (r->weight < win->weight ||
			            (r->weight == win->weight && r->comp >= win->comp)))
				continue; /* keys are sorted: the lower index is the lower key */
			if (glob_at(r->pattern, path, 0))
				win = r;
		}
		*slot = (void *)(uintptr_t)(win ? win->comp + 1 : 0);
	}
	uintptr_t v = (uintptr_t)*slot;
	return v ? m->keys[v - 1] : NULL;
}

/* The prefixes that can cover a URL share its scheme and host and have as
 * path the URL's path cut at a segment boundary (all of it, before each
 * '/', or nothing); with the same host a longer path weighs more, so the
 * first one found from the longest down is the most specific. A few hash
 * look-ups per URL, whatever the number of prefixes, and nothing kept per
 * URL (a scan's URLs are mostly distinct). */
static const char *best_url(struct mapping *m, const char *url)
{
	if (m->n_urls == 0)
		return NULL;
	struct url_parts p;
	url_split(url, &p);
	size_t head = url_key(&m->key, &p);
	char *k = m->key.data;
	for (size_t len = p.path_len;; len--) {
		if (len == p.path_len || p.path[len] == '/') {
			k[head + len] = '\0';
			uintptr_t v = (uintptr_t)strmap_get(m->prefixes, k);
			if (v)
				return m->keys[v - 1];
		}
		if (len == 0)
			return NULL;
	}
}

const char *mapping_find(struct mapping *m, const char *path, const char *url)
{
	if (path && *path)
		return best_path(m, path);
	if (url && *url)
		return best_url(m, url);
	return NULL;
}
