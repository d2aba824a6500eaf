/* SPDX-License-Identifier: Apache-2.0 */
/* Correlation of findings with threat instances: on the finding's component,
 * a CWE of the finding equal to one of the threat's (cwe), or descending from
 * it in the CWE catalog's view 1000 (cwe_ancestor, with the path), or else the
 * finding's tool and rule among the scanner rules the library declares for
 * the threat (rule: detected_by). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/findings/ingest_internal.h"
#include "engine/library/library.h"

#define THREAT_CWE_MAX 8

struct ct_threat {
	int64_t id;
	int cwe[THREAT_CWE_MAX];
	size_t n_cwe;
	const struct lib_threat *lt; /* its library entry, NULL: none or no library */
};

struct ct_range {
	size_t start, n;
};

/* (finding CWE, threat CWE) -> distance + 2 (0: not computed, 1: none). */
struct dist_cache {
	uint64_t *keys;
	int *vals;
	size_t cap, n;
};

struct correlator {
	const struct cwe_catalog *cwe;
	struct ct_threat *threats; /* sorted by component, then id */
	size_t n;
	struct strmap *by_component; /* key -> struct ct_range * */
	struct dist_cache dc;
};

static const char SQL_THREATS[] =
    "SELECT id, component_key, cwe, library_id FROM threats WHERE project_id = ?1 AND state = "
    "'active' "
    "AND in_scope = 1 AND component_key IS NOT NULL ORDER BY component_key, id";

int correlator_load(struct store *s, int64_t project_id, const struct cwe_catalog *cwe,
                    const struct library *lib, struct correlator **ret, struct ts_err *err)
{
	struct correlator *c = ts_calloc(1, sizeof(*c));
	c->cwe = cwe;
	c->by_component = strmap_new();
	c->dc.cap = 1024;
	c->dc.keys = ts_calloc(c->dc.cap, sizeof(*c->dc.keys));
	c->dc.vals = ts_calloc(c->dc.cap, sizeof(*c->dc.vals));
	sqlite3_stmt *st = store_prepare(s, SQL_THREATS);
	if (!st) {
		correlator_free(c);
		return store_fail(s, "loading threats", err);
	}
	sqlite3_bind_int64(st, 1, project_id);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->n == cap) {
			cap = cap ? cap * 2 : 64;
			c->threats = ts_realloc(c->threats, cap * sizeof(*c->threats));
		}
		struct ct_threat *t = &c->threats[c->n];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(st, 0);
		t->lt = lib && store_col_text(st, 3) ? library_threat(lib, store_col_text(st, 3))
		                                     : NULL;
		const char *key = store_col_text(st, 1);
		json_t *arr =
		    json_loads(store_col_text(st, 2) ? store_col_text(st, 2) : "[]", 0, NULL);
		size_t i;
		json_t *v;
		json_array_foreach (arr, i, v) {
			if (json_is_integer(v) && t->n_cwe < THREAT_CWE_MAX)
				t->cwe[t->n_cwe++] = (int)json_integer_value(v);
		}
		json_decref(arr);
		bool created = false;
		void **slot = strmap_slot(c->by_component, key, &created);
		if (created) {
			struct ct_range *r = ts_calloc(1, sizeof(*r));
			r->start = c->n;
			*slot = r;
		}
		((struct ct_range *)*slot)->n++;
		c->n++;
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, "loading threats", err);
		sqlite3_reset(st);
		correlator_free(c);
		return rc;
	}
	sqlite3_reset(st);
	*ret = c;
	return 0;
}

void correlator_free(struct correlator *c)
{
	if (!c)
		return;
	free(c->threats);
	strmap_free(c->by_component, free);
	free(c->dc.keys);
	free(c->dc.vals);
	free(c);
}

static size_t dc_find(const struct dist_cache *dc, uint64_t key)
{
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & (dc->cap - 1);
	while (dc->vals[i] && dc->keys[i] != key)
		i = (i + 1) & (dc->cap - 1);
	return i;
}

/* cwe_distance, remembered: the catalog walk is the cost of correlation. */
static int distance(struct correlator *c, int ancestor, int id)
{
	if (ancestor == id)
		return 0;
	uint64_t key = ((uint64_t)(uint32_t)ancestor << 32) | (uint32_t)id;
	size_t i = dc_find(&c->dc, key);
	if (c->dc.vals[i])
		return c->dc.vals[i] - 2;
	int d = c->cwe ? cwe_distance(c->cwe, ancestor, id) : -1;
	if ((c->dc.n + 1) * 2 > c->dc.cap) {
		struct dist_cache old = c->dc;
		c->dc.cap *= 2;
		c->dc.keys = ts_calloc(c->dc.cap, sizeof(*c->dc.keys));
		c->dc.vals = ts_calloc(c->dc.cap, sizeof(*c->dc.vals));
		for (size_t k = 0; k < old.cap; k++) {
			if (old.vals[k]) {
				size_t j = dc_find(&c->dc, old.keys[k]);
				c->dc.keys[j] = old.keys[k];
				c->dc.vals[j] = old.vals[k];
			}
		}
		free(old.keys);
		free(old.vals);
		i = dc_find(&c->dc, key);
	}
	c->dc.keys[i] = key;
	c->dc.vals[i] = d + 2;
	c->dc.n++;
	return d;
}

/* Whether the library declares tool:rule for the threat. */
static bool detected_by(const struct lib_threat *lt, const char *tool, const char *rule)
{
	if (!lt || !tool || !rule)
		return false;
	size_t tl = strlen(tool);
	for (size_t i = 0; i < lt->n_detected_by; i++) {
		const char *d = lt->detected_by[i];
		if (strncasecmp(d, tool, tl) == 0 && d[tl] == ':' && strcmp(d + tl + 1, rule) == 0)
			return true;
	}
	return false;
}

size_t correlate_finding(struct correlator *c, const char *component, const struct finding *f,
                         struct correlation *out)
{
	const int *cwe = f->cwe;
	size_t n_cwe = f->n_cwe;
	if (!component)
		return 0;
	const struct ct_range *r = strmap_get(c->by_component, component);
	if (!r)
		return 0;
	size_t n = 0;
	for (size_t k = 0; k < r->n && n < CORRELATE_MAX; k++) {
		const struct ct_threat *t = &c->threats[r->start + k];
		/* The closest pair wins; ties by the finding's order of CWE ids,
		 * then the threat's. */
		int best = -1, bf = 0, bt = 0;
		for (size_t i = 0; i < n_cwe; i++) {
			for (size_t j = 0; j < t->n_cwe; j++) {
				int d = distance(c, t->cwe[j], cwe[i]);
				if (d >= 0 && (best < 0 || d < best)) {
					best = d;
					bf = cwe[i];
					bt = t->cwe[j];
				}
			}
		}
		if (best < 0) {
			if (!detected_by(t->lt, f->tool, f->rule_id))
				continue;
			out[n].threat_id = t->id;
			out[n].method = "rule";
			out[n].n_path = 0;
			n++;
			continue;
		}
		struct correlation *o = &out[n];
		o->threat_id = t->id;
		o->method = best == 0 ? "cwe" : "cwe_ancestor";
		int got = best == 0 ? 1 : cwe_path(c->cwe, bt, bf, o->path, TS_ARRAY_SIZE(o->path));
		if (got < 0) {
			o->path[0] = bf;
			o->path[1] = bt;
			got = 2;
		} else if (best == 0) {
			o->path[0] = bf;
		}
		o->n_path = (size_t)got;
		n++;
	}
	return n;
}
