/* SPDX-License-Identifier: Apache-2.0 */
/* A string-keyed hash map (open addressing, linear probing) for the caches of
 * ingestion: fingerprints seen in a report, mapped paths and URLs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest_internal.h"

struct strmap_entry {
	char *key;
	void *value;
	uint64_t hash;
};

struct strmap {
	struct strmap_entry *e;
	size_t cap; /* a power of two */
	size_t n;
};

static uint64_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = ts_calloc(1, sizeof(*m));
	m->cap = 64;
	m->e = ts_calloc(m->cap, sizeof(*m->e));
	return m;
}

void strmap_free(struct strmap *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		free(m->e[i].key);
		if (m->e[i].key && free_value)
			free_value(m->e[i].value);
	}
	free(m->e);
	free(m);
}

static struct strmap_entry *find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	while (m->e[i].key && (m->e[i].hash != h || strcmp(m->e[i].key, key) != 0))
		i = (i + 1) & (m->cap - 1);
	return &m->e[i];
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap *= 2;
	m->e = ts_calloc(m->cap, sizeof(*m->e));
	for (size_t i = 0; i < old.cap; i++)
		if (old.e[i].key)
			*find(m, old.e[i].key, old.e[i].hash) = old.e[i];
	free(old.e);
}

void **strmap_slot(struct strmap *m, const char *key, bool *ret_created)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	uint64_t h = hash_of(key);
	struct strmap_entry *e = find(m, key, h);
	*ret_created = e->key == NULL;
	if (!e->key) {
		e->key = ts_strdup(key);
		e->hash = h;
		e->value = NULL;
		m->n++;
	}
	return &e->value;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = find(m, key, hash_of(key));
	return e->key ? e->value : NULL;
}

size_t strmap_size(const struct strmap *m)
{
	return m->n;
}
