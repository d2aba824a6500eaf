/* SPDX-License-Identifier: Apache-2.0 */
/* Generation: model + library + policy -> threats and tasks, stored as a diff in one transaction.
 */
#include "engine/generate/generate.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/expr/expr.h"
#include "engine/generate/aliases.h"
#include "engine/generate/classify.h"
#include "engine/generate/gen_state.h"
#include "engine/generate/score.h"
#include "engine/model/model.h"
#include "engine/model/project.h"
#include "engine/store/rowbatch.h"
#include "engine/tracking/outbox.h"
#include "engine/tracking/override.h"
#include "engine/tracking/task_status.h"

/* ------------------------------------------------------------ working set */

/* What the instances of one library threat share, computed once per run: the
 * JSON text of its CWE and CAPEC lists, the CWE list's digest fragment and the
 * threat's content digest (which covers library fields only). A manual threat
 * owns one of its own. */
struct gshared {
	char *cwe_json;   /* owned: the list as stored, "[79,80]" */
	char *capec_json; /* owned */
	char *cwe_digest; /* owned: the list's digest fragment (ints_digest) */
	char *capec_digest;
	char hash[65]; /* the threat's content digest */
	bool ready;
};

struct gthreat {
	char *uid;
	const struct lib_threat *lt; /* NULL for a manual threat */
	const char *component_key;   /* borrowed from the model; NULL for flows */
	const char *flow_key;        /* borrowed from the model; NULL for components */
	const char *title;
	const char *description;
	char *own_title; /* owned: a system-scoped instance's title, else NULL */
	char stride[8];
	struct gshared *sh; /* borrowed from g->shared, or owned by a manual threat */
	const char *severity;
	const char *likelihood;
	double score;
	int in_scope;      /* by the risk policy */
	const json_t *ovr; /* override in force (borrowed from g->active), or NULL */
	char hash[65];
	int64_t row_id;
	int origin_manual;
};

/* The library part of a countermeasure's text (countermeasure_texts), shared
 * by all instances of a library entry; a manual countermeasure owns one. */
struct gtext {
	char *json; /* owned: canonical dump, what countermeasure_texts.body holds */
	char hash[65];
	bool written; /* stored by this run already */
};

struct gcm {
	char *uid;
	const struct lib_countermeasure *lc; /* NULL for a manual countermeasure */
	const json_t *manual;                /* the manual entry, borrowed from the model */
	const char *component_key;
	const char *title;
	int priority;
	int priority_floor; /* most urgent priority its threats justify; 0: none yet */
	double score;
	int any_threat_in_scope;
	int in_scope;
	char *satisfied_by; /* owned */
	/* Manual countermeasures: the state the model declares for it here (OTM
	 * mitigation state, or "mitigated" from its threat), borrowed; NULL: none. */
	const char *declared_state;
	size_t *threats; /* owned: indexes into g->threats, sorted by uid at the end */
	size_t n_threats, cap_threats;
	struct gtext *text; /* borrowed from g->texts */
	char hash[65];
	char *body; /* owned: the body column (cm_body), made by cm_finish */
	size_t body_len;
	int64_t row_id;
};

/* Countermeasures by uid: open addressing over (hash, index into g->cms),
 * looked up by the two halves of "left@right" so that the uid of a link
 * already made is never built. */
struct uid_slot {
	uint64_t hash;
	size_t index; /* SIZE_MAX: empty */
};

struct uid_map {
	struct uid_slot *slots; /* owned */
	size_t cap, count;
};

struct gen {
	struct store *s;
	const struct library *lib;
	const struct config *cfg;
	struct expr_index *expr_index; /* of model, owned unless index_borrowed */
	bool index_borrowed;           /* the caller's gen_input holds it */
	const char *slug;
	int64_t project_id;
	const char *connector;     /* borrowed from cfg, NULL: no tracker */
	json_t *model;             /* owned */
	int version;
	struct classify_result cls;
	int class_rank;
	const struct config_policy *policy;
	json_t *frameworks;     /* owned: object used as a set of required frameworks */
	json_t *flows;          /* owned: id -> flow, built when first asked (flow_of) */
	json_t *exposure;       /* owned: component id -> 0/1/2 */
	json_t *by_type;        /* owned: type -> array of component-scoped threat indexes */
	struct gshared *shared; /* owned: one per library threat, by library index */
	json_t *text_index;     /* owned: "C-ID/101" (id, how-tos shown) -> index into texts */
	struct gtext **texts;   /* owned, with every element */
	size_t n_texts, cap_texts;
	struct ts_buf scratch; /* owned: digest input, reused */
	struct ts_buf row;     /* owned: the JSON text of the row being written */
	char now[32];
	char due_by[4][11]; /* the due date of a new task per priority ("": not made yet) */
	char source_name[256]; /* the model version's source file, for history reasons */
	char today[11];

	struct gthreat *threats;
	size_t n_threats, cap_threats;
	struct gcm *cms;
	size_t n_cms, cap_cms;
	struct uid_map cm_index; /* uid -> index into cms */
	json_t *active;          /* owned: overrides in force (override_load_active) */
	json_t *expired;         /* owned: risk acceptances that have expired */
	json_t *merged;          /* owned: uid -> "merged into NEW@key" (gen_apply_aliases) */
	json_t *summary;         /* owned until returned */
	json_t *changes;         /* borrowed from summary */
	struct ts_err *err;
	/* Where the writing reports its errors: err, or the threat writer's own
	 * while it runs beside the evaluation (threats_run). */
	struct ts_err *werr;
	struct threat_writer *writer; /* set while the threat writer runs */
	bool dry_run;

	/* Regeneration of what a change affects (gen_state.h). */
	struct expr_memo *memo;   /* owned: the model-wide quantifiers of this model */
	char context[65];         /* digest of what generation reads beyond the elements */
	struct gen_state_old old; /* owned: the state of the last generation */
	json_t *cdigest, *fdigest; /* owned: id -> digest, components and flows */
	json_t *dirty;       /* owned: the components regenerated, NULL: all (a full run) */
	json_t *dirty_flows; /* owned: flow keys whose stored threats are regenerated */
	json_t *deps;        /* owned: component id -> set of the ids its decisions read */
	json_t *pre_dirty, *pre_removed; /* owned: gen_state_dirty's, from gen_input_load */

	/* New rows, written many to a statement with the ids given here, each
	 * after the rows it refers to (flush_cms): the foreign keys are checked
	 * row by row, and no check finds a parent missing. A parent missing
	 * would also make SQLite look for the children of every parent row
	 * inserted until the end of the transaction. */
	struct rowbatch *b_threats, *b_cms, *b_texts, *b_links; /* owned */
	struct rowbatch *b_history, *b_outbox; /* owned: rows naming tasks */
	int64_t next_threat_id, next_cm_id; /* 0: not read yet */
};

static void shared_release(struct gshared *sh)
{
	free(sh->cwe_json);
	free(sh->capec_json);
	free(sh->cwe_digest);
	free(sh->capec_digest);
}

static void gen_release(struct gen *g)
{
	for (size_t i = 0; i < g->n_threats; i++) {
		free(g->threats[i].uid);
		free(g->threats[i].own_title);
		if (g->threats[i].origin_manual && g->threats[i].sh) {
			shared_release(g->threats[i].sh);
			free(g->threats[i].sh);
		}
	}
	free(g->threats);
	for (size_t i = 0; i < g->n_cms; i++) {
		free(g->cms[i].uid);
		free(g->cms[i].satisfied_by);
		free(g->cms[i].threats);
		free(g->cms[i].body);
	}
	free(g->cms);
	free(g->cm_index.slots);
	if (g->shared) {
		for (size_t i = 0; i < library_n_threats(g->lib); i++)
			shared_release(&g->shared[i]);
		free(g->shared);
	}
	for (size_t i = 0; i < g->n_texts; i++) {
		free(g->texts[i]->json);
		free(g->texts[i]);
	}
	free(g->texts);
	json_decref(g->text_index);
	ts_buf_free(&g->scratch);
	ts_buf_free(&g->row);
	json_decref(g->active);
	json_decref(g->expired);
	json_decref(g->merged);
	json_decref(g->frameworks);
	json_decref(g->flows);
	json_decref(g->exposure);
	json_decref(g->by_type);
	if (!g->index_borrowed)
		expr_index_free(g->expr_index);
	expr_memo_free(g->memo);
	gen_state_old_free(&g->old);
	json_decref(g->cdigest);
	json_decref(g->fdigest);
	json_decref(g->dirty);
	json_decref(g->dirty_flows);
	json_decref(g->pre_dirty);
	json_decref(g->pre_removed);
	json_decref(g->deps);
	json_decref(g->model);
	json_decref(g->summary);
	rowbatch_free(g->b_threats);
	rowbatch_free(g->b_cms);
	rowbatch_free(g->b_texts);
	rowbatch_free(g->b_links);
	rowbatch_free(g->b_history);
	rowbatch_free(g->b_outbox);
}

static void gen_free(void *arg)
{
	gen_release(arg);
	free(arg);
}

/* ------------------------------------------------------------ text helpers */

static void buf_reset(struct ts_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_uint(struct ts_buf *b, unsigned long long v)
{
	char tmp[24];
	size_t n = sizeof(tmp);
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ts_buf_append(b, tmp + n, sizeof(tmp) - n);
}

static void buf_int(struct ts_buf *b, long long v)
{
	if (v < 0) {
		ts_buf_append(b, "-", 1);
		buf_uint(b, 0ULL - (unsigned long long)v);
	} else {
		buf_uint(b, (unsigned long long)v);
	}
}

/* "left@right" as a new string. */
static char *join_at(const char *left, const char *right)
{
	size_t a = strlen(left), b = strlen(right);
	char *s = ts_malloc(a + b + 2);
	memcpy(s, left, a);
	s[a] = '@';
	memcpy(s + a + 1, right, b + 1);
	return s;
}

/* JSON text written straight into a buffer, byte for byte what
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) writes for the same values
 * (callers write object keys in sorted order; strings through
 * ts_buf_json_string): building a jansson tree and dumping it for every row
 * cost a fifth of a large generation. */

/* A string, or null for NULL (json_pack's "s?"). */
static void jw_str_or_null(struct ts_buf *b, const char *s)
{
	if (s)
		ts_buf_json_string(b, s);
	else
		ts_buf_append(b, "null", 4);
}

/* '"key":' for a key that needs no escaping. */
static void jw_key(struct ts_buf *b, const char *key)
{
	ts_buf_append(b, "\"", 1);
	ts_buf_puts(b, key);
	ts_buf_append(b, "\":", 2);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool jprop_true(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(json_object_get(obj, "properties"), key));
}

static json_t *component(struct gen *g, const char *id)
{
	return id ? expr_index_component(g->expr_index, id) : NULL;
}

/* The flow with that id (borrowed from the model), NULL when absent: the
 * index by id is built when first asked (few runs need it). */
static json_t *flow_of(struct gen *g, const char *id)
{
	if (!g->flows) {
		g->flows = json_object();
		size_t i;
		json_t *f;
		json_array_foreach (json_object_get(g->model, "flows"), i, f) {
			const char *fid = jstr(f, "id");
			if (fid)
				json_object_set(g->flows, fid, f);
		}
	}
	return id ? json_object_get(g->flows, id) : NULL;
}

/* ------------------------------------------------------------ indexes */

/* Lookups by id and exposure (the expr index holds the flows per component),
 * all in one pass each, so nothing later scans the model: generation stays
 * linear in its size. */
static void build_indexes(struct gen *g)
{

	g->exposure = json_object();
	g->by_type = json_object();
	size_t i;
	json_t *c, *f;
	json_array_foreach (json_object_get(g->model, "components"), i, c) {
		const char *id = jstr(c, "id");
		if (!id)
			continue;
		json_object_set_new(g->exposure, id,
		                    json_integer(jprop_true(c, "internet_facing") ? 2 : 0));
	}
	json_array_foreach (json_object_get(g->model, "flows"), i, f) {
		const char *ends[2] = {jstr(f, "source"), jstr(f, "destination")};
		bool crosses = jprop_true(f, "crosses_trust_boundary");
		for (int k = 0; k < 2; k++) {
			if (!ends[k] || (k == 1 && ends[0] && strcmp(ends[0], ends[1]) == 0))
				continue;
			json_t *e = json_object_get(g->exposure, ends[k]);
			if (crosses && e && json_integer_value(e) < 1)
				json_integer_set(e, 1);
		}
	}
	size_t nt = library_n_threats(g->lib);
	for (size_t k = 0; k < nt; k++) {
		const struct lib_threat *lt = library_threat_at(g->lib, k);
		if (lt->scope != LIB_SCOPE_COMPONENT)
			continue;
		for (size_t a = 0; a < lt->n_applies_to; a++) {
			json_t *list = json_object_get(g->by_type, lt->applies_to[a]);
			if (!list) {
				list = json_array();
				json_object_set_new(g->by_type, lt->applies_to[a], list);
			}
			json_array_append_new(list, json_integer((json_int_t)k));
		}
	}
}

static int component_exposure(struct gen *g, const char *id)
{
	return (int)json_integer_value(json_object_get(g->exposure, id));
}

static int flow_exposure(struct gen *g, const json_t *f)
{
	int e = jprop_true(f, "crosses_trust_boundary") ? 1 : 0;
	const char *ends[2] = {jstr(f, "source"), jstr(f, "destination")};
	for (int k = 0; k < 2; k++)
		if (ends[k] && component_exposure(g, ends[k]) == 2)
			e = 2;
	return e;
}

static const json_t *override_of(struct gen *g, const char *target_kind, const char *uid,
                                 bool expired)
{
	json_t *map = expired ? g->expired : g->active;
	if (json_object_size(map) == 0)
		return NULL; /* the usual case: no key to build */
	char *key = ts_asprintf("%s:%s", target_kind, uid);
	const json_t *o = json_object_get(map, key);
	free(key);
	return o;
}

/* ------------------------------------------------------------ relays */

/* One thread completes the items of a list in order and publishes how many
 * are complete; another takes them in that order, waking for a batch at a
 * time. */
struct relay {
	pthread_mutex_t lock;
	pthread_cond_t more;
	size_t ready; /* items complete */
	size_t want;  /* the consumer sleeps until this many are (0: it does not) */
	bool done;    /* no item will follow */
};

static void relay_init(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->more, NULL);
}

static void relay_destroy(struct relay *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->more);
}

static void relay_publish(struct relay *r, size_t ready, bool done)
{
	pthread_mutex_lock(&r->lock);
	r->ready = ready;
	r->done = r->done || done;
	if (r->want && (r->ready >= r->want || r->done)) {
		r->want = 0;
		pthread_cond_signal(&r->more);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Waits until item i is complete, for up to batch items, or until no more
 * will come; returns how many are complete. */
static size_t relay_wait(struct relay *r, size_t i, size_t batch)
{
	pthread_mutex_lock(&r->lock);
	while (r->ready <= i && !r->done) {
		r->want = i + batch;
		pthread_cond_wait(&r->more, &r->lock);
	}
	size_t n = r->ready;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* The threats are written on a thread of their own while they are
 * generated (threats_run): it takes each threat once the next one is begun,
 * in order, under grow, which the evaluation takes only to move the array. */
struct threat_writer {
	struct gen *g;
	json_t *existing; /* owned: load_existing_threats' */
	struct relay relay;
	pthread_mutex_t grow;
	pthread_t thread;
	size_t stored; /* threats handled */
	int rc;
	struct ts_err err;
};

/* ------------------------------------------------------------ threats */

static struct gthreat *add_threat(struct gen *g)
{
	struct threat_writer *w = g->writer;
	if (w) /* every threat before this one is complete */
		relay_publish(&w->relay, g->n_threats, false);
	if (g->n_threats == g->cap_threats) {
		if (w)
			pthread_mutex_lock(&w->grow);
		g->cap_threats = g->cap_threats ? g->cap_threats * 2 : 64;
		g->threats = ts_realloc(g->threats, g->cap_threats * sizeof(*g->threats));
		if (w)
			pthread_mutex_unlock(&w->grow);
	}
	struct gthreat *t = &g->threats[g->n_threats++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* Content digests are taken over length-prefixed fields: unambiguous and far
 * cheaper than dumping JSON for every item of a large model. */
static void hash_field(struct ts_buf *b, const char *v)
{
	size_t n = strlen(v);
	buf_uint(b, n);
	ts_buf_append(b, ":", 1);
	ts_buf_append(b, v, n);
}

/* The digest fragment of a list of integers, "[count,v1,v2]"; a JSON list
 * counts its non-integers as 0. */
static char *ints_digest(const int *v, size_t n, const json_t *a)
{
	struct ts_buf b = {0};
	ts_buf_append(&b, "[", 1);
	buf_uint(&b, a ? json_array_size(a) : n);
	if (a) {
		size_t i;
		json_t *e;
		json_array_foreach (a, i, e) {
			ts_buf_append(&b, ",", 1);
			buf_int(&b, (long long)json_integer_value(e));
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			ts_buf_append(&b, ",", 1);
			buf_int(&b, v[i]);
		}
	}
	ts_buf_append(&b, "]", 1);
	return ts_buf_steal(&b);
}

static char *ints_json(const int *v, size_t n)
{
	struct ts_buf b = {0};
	ts_buf_append(&b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			ts_buf_append(&b, ",", 1);
		buf_int(&b, v[i]);
	}
	ts_buf_append(&b, "]", 1);
	return ts_buf_steal(&b);
}

/* The digest of everything a threat's stored text is made of. */
static void threat_digest(struct gen *g, const struct gthreat *t, char out[65])
{
	struct ts_buf *b = &g->scratch;
	buf_reset(b);
	hash_field(b, t->title);
	hash_field(b, t->description ? t->description : "");
	hash_field(b, t->stride);
	ts_buf_puts(b, t->sh->cwe_digest);
	ts_buf_puts(b, t->sh->capec_digest);
	hash_field(b, t->severity);
	hash_field(b, t->likelihood);
	ts_sha256_hex(b->data, b->len, out);
}

/* excluded: the model marks the element out of scope (properties.out_of_scope,
 * Threat Dragon's outOfScope): the threat is kept, out of scope. */
static void threat_finish(struct gen *g, struct gthreat *t, int exposure, bool excluded)
{
	t->score = gen_score_threat(t->severity, t->likelihood, g->class_rank, exposure);
	t->in_scope =
	    !excluded && classify_rank(t->severity) >= classify_rank(g->policy->min_severity);
	t->ovr = override_of(g, "threat", t->uid, false);
	/* A library threat's digest covers library fields only: taken once. */
	if (t->origin_manual)
		threat_digest(g, t, t->hash);
	else
		memcpy(t->hash, t->sh->hash, sizeof(t->hash));
}

static struct gthreat *library_instance(struct gen *g, size_t lib_index, const char *key)
{
	const struct lib_threat *lt = library_threat_at(g->lib, lib_index);
	struct gthreat *t = add_threat(g);
	t->uid = join_at(lt->id, key);
	t->lt = lt;
	t->title = lt->title;
	t->description = lt->description;
	snprintf(t->stride, sizeof(t->stride), "%s", lt->stride);
	t->severity = lt->severity;
	t->likelihood = lt->likelihood;
	t->sh = &g->shared[lib_index];
	if (!t->sh->ready) {
		t->sh->cwe_json = ints_json(lt->cwe, lt->n_cwe);
		t->sh->capec_json = ints_json(lt->capec, lt->n_capec);
		t->sh->cwe_digest = ints_digest(lt->cwe, lt->n_cwe, NULL);
		t->sh->capec_digest = ints_digest(lt->capec, lt->n_capec, NULL);
		threat_digest(g, t, t->sh->hash);
		t->sh->ready = true;
	}
	return t;
}

static bool type_listed(const struct lib_threat *lt, const char *type)
{
	for (size_t k = 0; type && k < lt->n_applies_to; k++)
		if (strcmp(lt->applies_to[k], type) == 0)
			return true;
	return false;
}

/* Records what an evaluation read (struct expr_deps) into a set. */
static void dep_read(void *arg, const char *id, size_t len)
{
	json_t *set = arg;
	if (!id) {
		id = "*";
		len = 1;
	}
	/* Most reads repeat: a look-up, and a key (a model id, valid UTF-8)
	 * added without a second check only when new. */
	if (!json_object_getn(set, id, len))
		json_object_setn_new_nocheck(set, id, len, json_true());
}

/* The set of ids component id's decisions read, created when first asked. */
static json_t *deps_of(struct gen *g, const char *id)
{
	json_t *set = json_object_get(g->deps, id);
	if (!set) {
		set = json_object();
		json_object_set_new(g->deps, id, set);
	}
	return set;
}

/* Whether the run regenerates component id's threats and tasks. */
static bool is_dirty(const struct gen *g, const char *id)
{
	return !g->dirty || (id && json_object_get(g->dirty, id));
}

static int eval_condition(struct gen *g, const struct lib_threat *lt, struct expr_env *env,
                          const char *where, bool *ret)
{
	*ret = true;
	if (!lt->condition)
		return 0;
	struct ts_err e = {0};
	if (expr_eval_bool(lt->condition, env, ret, &e) < 0)
		return ts_err_set(g->err, TS_E_INVALID, "%s: %s.condition (for '%s'): %s", lt->file,
		                  lt->path, where, e.msg);
	return 0;
}

/* ------------------------------------------------------------ countermeasures */

static uint64_t fnv_add(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The hash of "left@right": the same for any split of the same uid. */
static uint64_t uid_hash(const char *left, const char *right)
{
	uint64_t h = fnv_add(14695981039346656037ULL, left);
	h ^= '@';
	h *= 1099511628211ULL;
	return fnv_add(h, right);
}

static struct uid_slot *uid_slot(struct gen *g, uint64_t h, const char *left, const char *right)
{
	struct uid_map *m = &g->cm_index;
	size_t la = strlen(left);
	for (size_t i = (size_t)h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct uid_slot *sl = &m->slots[i];
		if (sl->index == SIZE_MAX)
			return sl;
		const char *u = g->cms[sl->index].uid;
		if (sl->hash == h && strncmp(u, left, la) == 0 && u[la] == '@' &&
		    strcmp(u + la + 1, right) == 0)
			return sl;
	}
}

static void uid_grow(struct uid_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct uid_slot *slots = ts_malloc(cap * sizeof(*slots));
	for (size_t i = 0; i < cap; i++)
		slots[i].index = SIZE_MAX;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].index == SIZE_MAX)
			continue;
		size_t k = (size_t)m->slots[i].hash & (cap - 1);
		while (slots[k].index != SIZE_MAX)
			k = (k + 1) & (cap - 1);
		slots[k] = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
}

/* The countermeasure of uid "left@right", added when new (*ret_new). */
static struct gcm *cm_get(struct gen *g, const char *left, const char *right, bool *ret_new)
{
	struct uid_map *m = &g->cm_index;
	if ((m->count + 1) * 4 > m->cap * 3)
		uid_grow(m);
	uint64_t h = uid_hash(left, right);
	struct uid_slot *sl = uid_slot(g, h, left, right);
	if (sl->index != SIZE_MAX) {
		*ret_new = false;
		return &g->cms[sl->index];
	}
	if (g->n_cms == g->cap_cms) {
		g->cap_cms = g->cap_cms ? g->cap_cms * 2 : 64;
		g->cms = ts_realloc(g->cms, g->cap_cms * sizeof(*g->cms));
	}
	struct gcm *c = &g->cms[g->n_cms];
	memset(c, 0, sizeof(*c));
	c->uid = join_at(left, right);
	sl->hash = h;
	sl->index = g->n_cms;
	m->count++;
	g->n_cms++;
	*ret_new = true;
	return c;
}

static void cm_link_threat(struct gen *g, struct gcm *c, size_t threat_index)
{
	for (size_t i = 0; i < c->n_threats; i++)
		if (c->threats[i] == threat_index)
			return;
	if (c->n_threats == c->cap_threats) {
		c->cap_threats = c->cap_threats ? c->cap_threats * 2 : 4;
		c->threats = ts_realloc(c->threats, c->cap_threats * sizeof(*c->threats));
	}
	c->threats[c->n_threats++] = threat_index;
	const struct gthreat *t = &g->threats[threat_index];
	if (t->score > c->score)
		c->score = t->score;
	int floor = gen_priority_floor(t->severity, t->likelihood);
	if (!c->priority_floor || floor < c->priority_floor)
		c->priority_floor = floor;
	if (t->in_scope)
		c->any_threat_in_scope = 1;
}

static int link_countermeasures(struct gen *g, size_t threat_index, const char *component_key)
{
	const struct lib_threat *lt = g->threats[threat_index].lt;
	for (size_t k = 0; k < lt->n_countermeasures; k++) {
		const struct lib_countermeasure *lc = lt->countermeasures[k];
		bool fresh;
		struct gcm *c = cm_get(g, lc->id, component_key, &fresh);
		if (fresh) {
			c->lc = lc;
			c->component_key = component_key;
			c->title = lc->title;
			c->priority = lc->priority;
			json_t *provider = NULL;
			struct expr_deps dp = {dep_read, deps_of(g, component_key)};
			int rc = library_find_provider_tracked(lc, g->model, g->expr_index, g->memo,
			                                       &dp, component(g, component_key),
			                                       &provider, g->err);
			if (rc < 0)
				return rc;
			if (rc == 1)
				c->satisfied_by = ts_strdup(jstr(provider, "id"));
		}
		cm_link_threat(g, c, threat_index);
	}
	return 0;
}

static int library_threats(struct gen *g)
{
	size_t i;
	json_t *c, *f;
	/* Component-scoped threats: one instance per (threat, component), in
	 * library order for each component in model order. */
	json_array_foreach (json_object_get(g->model, "components"), i, c) {
		const char *cid = jstr(c, "id");
		if (!is_dirty(g, cid))
			continue;
		size_t k;
		json_t *ti;
		struct expr_deps dp = {dep_read, deps_of(g, cid)};
		json_array_foreach (json_object_get(g->by_type, jstr(c, "type")), k, ti) {
			size_t lib_index = (size_t)json_integer_value(ti);
			const struct lib_threat *lt = library_threat_at(g->lib, lib_index);
			struct expr_env env = {.component = c,
			                       .model = g->model,
			                       .index = g->expr_index,
			                       .memo = g->memo,
			                       .deps = &dp};
			bool hit;
			if (eval_condition(g, lt, &env, cid, &hit) < 0)
				return -EINVAL;
			if (!hit)
				continue;
			struct gthreat *t = library_instance(g, lib_index, cid);
			t->component_key = cid;
			threat_finish(g, t, component_exposure(g, cid),
			              jprop_true(c, "out_of_scope"));
			if (link_countermeasures(g, g->n_threats - 1, cid) < 0)
				return -EINVAL;
		}
	}
	/* Flow-scoped threats: one instance per (threat, flow) where the type of
	 * the destination (or else the source) is listed; its countermeasures go
	 * to that component, the side that has to implement them. A run that
	 * regenerates some components visits the flows touching them; what such
	 * a flow's evaluation reads counts for both its ends (either may own
	 * its threats). */
	size_t nt = library_n_threats(g->lib);
	json_t *fset = json_object();
	struct expr_deps dp = {dep_read, fset};
	int rc = 0;
	json_array_foreach (json_object_get(g->model, "flows"), i, f) {
		const char *fid = jstr(f, "id");
		const char *ends[2] = {jstr(f, "source"), jstr(f, "destination")};
		if (!is_dirty(g, ends[0]) && !is_dirty(g, ends[1]))
			continue;
		json_t *src = component(g, ends[0]);
		json_t *dst = component(g, ends[1]);
		json_object_clear(fset);
		for (size_t k = 0; rc == 0 && k < nt; k++) {
			const struct lib_threat *lt = library_threat_at(g->lib, k);
			if (lt->scope != LIB_SCOPE_FLOW)
				continue;
			json_t *owner = NULL;
			if (dst && type_listed(lt, jstr(dst, "type")))
				owner = dst;
			else if (src && type_listed(lt, jstr(src, "type")))
				owner = src;
			if (!owner)
				continue;
			struct expr_env env = {.flow = f,
			                       .source = src,
			                       .destination = dst,
			                       .model = g->model,
			                       .index = g->expr_index,
			                       .memo = g->memo,
			                       .deps = &dp};
			bool hit;
			if (eval_condition(g, lt, &env, fid, &hit) < 0) {
				rc = -EINVAL;
				break;
			}
			if (!hit)
				continue;
			struct gthreat *t = library_instance(g, k, fid);
			t->flow_key = fid;
			threat_finish(g, t, flow_exposure(g, f),
			              jprop_true(f, "out_of_scope") ||
			                  jprop_true(owner, "out_of_scope"));
			/* An owner this run does not regenerate keeps its tasks as
			 * stored: the instance is unchanged (gen_state.h). */
			if (is_dirty(g, jstr(owner, "id")) &&
			    link_countermeasures(g, g->n_threats - 1, jstr(owner, "id")) < 0)
				rc = -EINVAL;
		}
		for (int e = 0; rc == 0 && e < 2; e++) {
			if (!ends[e] || !component(g, ends[e]) || !is_dirty(g, ends[e]))
				continue;
			json_t *set = deps_of(g, ends[e]);
			json_object_update(set, fset);
			for (int o = 0; o < 2; o++)
				if (ends[o])
					json_object_set_new(set, ends[o], json_true());
		}
		if (rc < 0)
			break;
	}
	json_decref(fset);
	return rc;
}

/* System-scoped threats: one instance for the whole model ("*") when some
 * components are of the types the threat lists and its condition (over the
 * model) holds. Its title is the library's followed by the names of those
 * components (the stored and ticketed text, so the list shows wherever the
 * threat does), at most SYSTEM_TITLE_MAX bytes and cut between names. Its
 * digest is taken over this instance's own title: the stored threat changes
 * when the list does. */
enum { SYSTEM_TITLE_MAX = 240 };

static int system_threats(struct gen *g)
{
	size_t nt = library_n_threats(g->lib);
	for (size_t k = 0; k < nt; k++) {
		const struct lib_threat *lt = library_threat_at(g->lib, k);
		if (lt->scope != LIB_SCOPE_SYSTEM)
			continue;
		struct ts_buf title = {0};
		ts_buf_puts(&title, lt->title);
		size_t n = 0, shown = 0;
		size_t i;
		json_t *c;
		json_array_foreach (json_object_get(g->model, "components"), i, c) {
			if (!type_listed(lt, jstr(c, "type")))
				continue;
			const char *name = jstr(c, "name");
			/* Room is kept for " and N more". */
			if (shown == n && title.len + strlen(name) + 2 + 24 <= SYSTEM_TITLE_MAX) {
				ts_buf_printf(&title, "%s%s", n ? ", " : ": ", name);
				shown++;
			}
			n++;
		}
		if (n > shown)
			ts_buf_printf(&title, "%s%zu more", shown ? " and " : ": ", n - shown);
		bool hit = n > 0;
		struct expr_env env = {.model = g->model, .index = g->expr_index, .memo = g->memo};
		if (hit && eval_condition(g, lt, &env, "*", &hit) < 0) {
			ts_buf_free(&title);
			return -EINVAL;
		}
		if (!hit) {
			ts_buf_free(&title);
			continue;
		}
		struct gthreat *t = library_instance(g, k, "*");
		t->component_key = "*";
		t->own_title = ts_buf_steal(&title);
		t->title = t->own_title;
		threat_finish(g, t, 0, false);
		threat_digest(g, t, t->hash);
		if (link_countermeasures(g, g->n_threats - 1, "*") < 0)
			return -EINVAL;
	}
	return 0;
}

/* Priority of a manual countermeasure: properties.priority when it is 1..4,
 * else 2. */
static int manual_priority(const json_t *mc)
{
	json_t *p = json_object_get(json_object_get(mc, "properties"), "priority");
	if (json_is_integer(p) && json_integer_value(p) >= 1 && json_integer_value(p) <= 4)
		return (int)json_integer_value(p);
	return 2;
}

static const json_t *manual_cm(struct gen *g, const char *id)
{
	size_t i;
	json_t *mc;
	json_array_foreach (json_object_get(g->model, "countermeasures"), i, mc) {
		const char *mid = jstr(mc, "id");
		if (mid && id && strcmp(mid, id) == 0)
			return mc;
	}
	return NULL;
}

/* Links manual countermeasure mc to the threat instance at t_index, on the
 * component that implements it (the threat's component, a flow's destination,
 * or "*" for the whole system). */
static void manual_link(struct gen *g, const json_t *mc, size_t t_index, const char *state)
{
	const struct gthreat *t = &g->threats[t_index];
	const char *comp = t->component_key;
	if (t->flow_key) {
		json_t *f = flow_of(g, t->flow_key);
		comp = f ? jstr(f, "destination") : NULL;
	}
	if (!comp)
		comp = "*";
	char *left = ts_asprintf("manual:%s", jstr(mc, "id"));
	bool fresh;
	struct gcm *c = cm_get(g, left, comp, &fresh);
	free(left);
	if (fresh) {
		c->manual = mc;
		c->component_key = comp;
		c->title = jstr(mc, "title");
		c->priority = manual_priority(mc);
	}
	if (state && !c->declared_state)
		c->declared_state = state;
	cm_link_threat(g, c, t_index);
}

/* Manual threats and countermeasures written in the model (for instance by an
 * OTM file): a threat applies to the components and flows it names, or to the
 * whole system ("*") when it names none; a countermeasure attaches to the
 * components of the threats that list it or that it lists. */
static int manual_items(struct gen *g)
{
	size_t i, j, k;
	json_t *mt, *a, *ref;
	json_t *by_id = json_object(); /* manual threat id -> array of threat indexes */
	json_array_foreach (json_object_get(g->model, "threats"), i, mt) {
		const char *id = jstr(mt, "id");
		if (!id)
			continue;
		json_t *targets = json_object_get(mt, "applies_to");
		json_t *idx = json_array();
		json_object_set_new(by_id, id, idx);
		size_t n = json_array_size(targets);
		for (j = 0; j < (n ? n : 1); j++) {
			a = n ? json_array_get(targets, j) : NULL;
			const char *comp = a ? jstr(a, "component") : NULL;
			const char *flow = a ? jstr(a, "flow") : NULL;
			struct gthreat *t = add_threat(g);
			t->origin_manual = 1;
			t->component_key = comp ? comp : (flow ? NULL : "*");
			t->flow_key = flow;
			t->uid = ts_asprintf("manual:%s@%s", id, flow ? flow : t->component_key);
			t->title = jstr(mt, "title");
			t->description = jstr(mt, "description");
			snprintf(t->stride, sizeof(t->stride), "%s",
			         jstr(mt, "stride") ? jstr(mt, "stride") : "");
			json_t *cwe = json_object_get(mt, "cwe");
			if (!json_is_array(cwe))
				cwe = NULL;
			t->sh = ts_calloc(1, sizeof(*t->sh));
			t->sh->cwe_json =
			    cwe ? json_dumps(cwe, JSON_SORT_KEYS | JSON_COMPACT) : ts_strdup("[]");
			t->sh->capec_json = ts_strdup("[]");
			t->sh->cwe_digest = ints_digest(NULL, 0, cwe);
			t->sh->capec_digest = ts_strdup("[0]");
			t->severity = jstr(mt, "severity") ? jstr(mt, "severity") : "medium";
			t->likelihood = jstr(mt, "likelihood") ? jstr(mt, "likelihood") : "medium";
			int exposure = 0;
			bool excluded = false;
			if (comp) {
				exposure = component_exposure(g, comp);
				excluded = jprop_true(component(g, comp), "out_of_scope");
			} else if (flow && flow_of(g, flow)) {
				exposure = flow_exposure(g, flow_of(g, flow));
				excluded =
				    jprop_true(flow_of(g, flow), "out_of_scope");
			}
			threat_finish(g, t, exposure, excluded);
			size_t t_index = g->n_threats - 1;
			json_array_append_new(idx, json_integer((json_int_t)t_index));
			/* A mitigation's own state, else the threat instance's
			 * ("mitigated" means its mitigations are in place). */
			const char *tstate = a ? jstr(a, "state") : NULL;
			json_array_foreach (a ? json_object_get(a, "countermeasures") : NULL, k,
			                    ref) {
				const json_t *mc = manual_cm(g, jstr(ref, "id"));
				const char *mstate = jstr(ref, "state");
				if (mc)
					manual_link(g, mc, t_index, mstate ? mstate : tstate);
			}
		}
	}
	json_t *mc, *tid;
	json_array_foreach (json_object_get(g->model, "countermeasures"), i, mc) {
		if (!jstr(mc, "id"))
			continue;
		json_array_foreach (json_object_get(mc, "threats"), j, tid) {
			json_t *ti;
			json_array_foreach (json_object_get(by_id, json_string_value(tid)), k, ti) {
				manual_link(g, mc, (size_t)json_integer_value(ti), NULL);
			}
		}
	}
	json_decref(by_id);
	return 0;
}

static json_t *compliance_json(const struct lib_countermeasure *lc)
{
	json_t *o = json_object();
	for (size_t i = 0; i < lc->n_compliance; i++) {
		json_t *ids = json_array();
		for (size_t k = 0; k < lc->compliance[i].n_ids; k++)
			json_array_append_new(ids, json_string(lc->compliance[i].ids[k]));
		json_object_set_new(o, lc->compliance[i].framework, ids);
	}
	return o;
}

static bool maps_required_framework(struct gen *g, const struct lib_countermeasure *lc)
{
	for (size_t i = 0; lc && i < lc->n_compliance; i++)
		if (json_object_get(g->frameworks, lc->compliance[i].framework))
			return true;
	return false;
}

/* Sorts a countermeasure's threat indexes by threat uid: insertion sort, the
 * lists are a handful of entries. */
static void sort_threats(const struct gen *g, size_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t x = v[i], k = i;
		for (; k > 0 && strcmp(g->threats[v[k - 1]].uid, g->threats[x].uid) > 0; k--)
			v[k] = v[k - 1];
		v[k] = x;
	}
}

/* The generation options: the configuration's, or the defaults without one. */
static const struct config_generation *gen_options(const struct gen *g)
{
	static const struct config_generation defaults = {CONFIG_OTHER_STACKS_LINKS, NULL};
	return g->cfg ? &g->cfg->generation : &defaults;
}

/* Which how-tos of lc the task on component shows (own[i]), by
 * generation.other_stacks: all of them, or the component's own
 * (library_how_to_select). */
static void how_to_choice(const struct gen *g, const struct lib_countermeasure *lc,
                          const json_t *component, bool *own)
{
	if (gen_options(g)->other_stacks == CONFIG_OTHER_STACKS_ALL) {
		for (size_t i = 0; i < lc->n_how_to; i++)
			own[i] = true;
		return;
	}
	library_how_to_select(g->lib, lc, component, own);
}

/* The how-tos of the body: the shown blocks in library order ({stack, name,
 * text}: the name is the stack's display name, the ticket's heading), and with
 * other_stacks = links the names of the others' stacks (other_stacks) and the
 * library's page (library_url). */
static void how_to_json(const struct gen *g, const struct lib_countermeasure *lc, const bool *own,
                        json_t *body)
{
	json_t *how = json_array(), *others = json_array();
	for (size_t i = 0; i < lc->n_how_to; i++) {
		const char *stack = lc->how_to[i].stack;
		const struct lib_stack *st = library_stack(g->lib, stack);
		const char *name = st ? st->name : stack;
		if (own[i])
			json_array_append_new(how,
			                      json_pack("{s:s, s:s, s:s}", "stack", stack, "name",
			                                name, "text", lc->how_to[i].text));
		else
			json_array_append_new(
			    others, json_pack("{s:s, s:s}", "stack", stack, "name", name));
	}
	json_object_set_new(body, "how_to", how);
	const struct config_generation *o = gen_options(g);
	if (o->other_stacks != CONFIG_OTHER_STACKS_LINKS || json_array_size(others) == 0) {
		json_decref(others);
		return;
	}
	json_object_set_new(body, "other_stacks", others);
	if (o->library_url)
		json_object_set_new(body, "library_url", json_string(o->library_url));
}

/* The parts of a countermeasure's text that come from its library entry,
 * built once per entry and choice of how-tos and shared by all the instances
 * that show the same ones, with the digest of their canonical dump: hashing
 * every instance's full text would dominate generation time on large models.
 * A manual countermeasure gets its own. */
static struct gtext *text_of(struct gen *g, const struct gcm *c)
{
	bool own[LIBRARY_HOW_TO_MAX];
	char *key = NULL;
	if (c->lc) {
		/* "C-ID/10110": the entry and which of its blocks are shown. */
		how_to_choice(g, c->lc, component(g, c->component_key), own);
		size_t n = strlen(c->lc->id);
		key = ts_malloc(n + c->lc->n_how_to + 2);
		memcpy(key, c->lc->id, n);
		key[n] = '/';
		for (size_t i = 0; i < c->lc->n_how_to; i++)
			key[n + 1 + i] = own[i] ? '1' : '0';
		key[n + 1 + c->lc->n_how_to] = '\0';
	}
	json_t *idx = key ? json_object_get(g->text_index, key) : NULL;
	if (idx) {
		free(key);
		return g->texts[json_integer_value(idx)];
	}
	json_t *body = json_object();
	if (c->lc) {
		const struct lib_countermeasure *lc = c->lc;
		json_object_set_new(body, "requirement", json_string(lc->requirement));
		how_to_json(g, lc, own, body);
		if (lc->acceptance_test)
			json_object_set_new(body, "acceptance_test",
			                    json_string(lc->acceptance_test));
		json_t *tr = json_array();
		for (size_t i = 0; i < lc->n_training; i++)
			json_array_append_new(tr, json_pack("{s:s, s:s}", "title",
			                                    lc->training[i].title, "url",
			                                    lc->training[i].url));
		json_object_set_new(body, "training", tr);
		json_object_set_new(body, "compliance", compliance_json(lc));
	} else {
		const char *d = jstr(c->manual, "description");
		json_object_set_new(body, "requirement", json_string(d ? d : c->title));
		json_object_set_new(body, "how_to", json_array());
		json_object_set_new(body, "training", json_array());
		json_object_set_new(body, "compliance", json_object());
	}
	struct gtext *x = ts_calloc(1, sizeof(*x));
	x->json = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!x->json)
		x->json = ts_strdup("null");
	ts_sha256_hex(x->json, strlen(x->json), x->hash);
	if (g->n_texts == g->cap_texts) {
		g->cap_texts = g->cap_texts ? g->cap_texts * 2 : 64;
		g->texts = ts_realloc(g->texts, g->cap_texts * sizeof(*g->texts));
	}
	if (key)
		json_object_set_new(g->text_index, key, json_integer((json_int_t)g->n_texts));
	free(key);
	g->texts[g->n_texts++] = x;
	return x;
}

/* The instance part of a task's text (the body column) into b; the library
 * part is stored once in countermeasure_texts (store_text) and joined with
 * json_patch by readers. The JSON is what
 * json_dumps(JSON_SORT_KEYS | JSON_COMPACT) wrote for {"threats": [{uid,
 * title, cwe, severity}...], "component": {id, name, type}}. */
static void cm_body(struct gen *g, const struct gcm *c, struct ts_buf *b)
{
	json_t *comp = component(g, c->component_key);
	buf_reset(b);
	ts_buf_puts(b, "{\"component\":{");
	jw_key(b, "id");
	ts_buf_json_string(b, c->component_key);
	ts_buf_append(b, ",", 1);
	jw_key(b, "name");
	jw_str_or_null(b, comp ? jstr(comp, "name") : NULL);
	ts_buf_append(b, ",", 1);
	jw_key(b, "type");
	jw_str_or_null(b, comp ? jstr(comp, "type") : NULL);
	ts_buf_puts(b, "},\"threats\":[");
	for (size_t i = 0; i < c->n_threats; i++) {
		const struct gthreat *t = &g->threats[c->threats[i]];
		ts_buf_puts(b, i ? ",{" : "{");
		jw_key(b, "cwe");
		ts_buf_puts(b, t->sh->cwe_json);
		ts_buf_append(b, ",", 1);
		jw_key(b, "severity");
		ts_buf_json_string(b, t->severity);
		ts_buf_append(b, ",", 1);
		jw_key(b, "title");
		ts_buf_json_string(b, t->title);
		ts_buf_append(b, ",", 1);
		jw_key(b, "uid");
		ts_buf_json_string(b, t->uid);
		ts_buf_append(b, "}", 1);
	}
	ts_buf_puts(b, "]}");
}

static void cm_finish(struct gen *g, struct gcm *c)
{
	const struct config_policy *p = g->policy;
	/* A library countermeasure is never more urgent than the most serious
	 * threat it answers (gen_priority_floor); a manual one keeps its own. */
	if (c->lc && c->priority_floor > c->priority)
		c->priority = c->priority_floor;
	c->in_scope = c->any_threat_in_scope &&
	              (c->priority <= p->max_priority || maps_required_framework(g, c->lc));
	/* Threats in a stable order, whatever order they were linked in. */
	sort_threats(g, c->threats, c->n_threats);
	/* The digest covers everything the task's text is made of (cm_body). */
	c->text = text_of(g, c);
	struct ts_buf *b = &g->scratch;
	buf_reset(b);
	hash_field(b, c->text->hash);
	hash_field(b, c->title);
	buf_int(b, c->priority);
	ts_buf_append(b, ";", 1);
	for (size_t i = 0; i < c->n_threats; i++) {
		const struct gthreat *t = &g->threats[c->threats[i]];
		hash_field(b, t->uid);
		hash_field(b, t->title);
		ts_buf_puts(b, t->sh->cwe_digest);
		hash_field(b, t->severity);
	}
	json_t *comp = component(g, c->component_key);
	const char *name = comp ? jstr(comp, "name") : NULL;
	const char *type = comp ? jstr(comp, "type") : NULL;
	hash_field(b, c->component_key);
	hash_field(b, name ? name : "");
	hash_field(b, type ? type : "");
	ts_sha256_hex(b->data, b->len, c->hash);
	cm_body(g, c, b);
	c->body_len = b->len;
	c->body = ts_malloc(b->len + 1);
	memcpy(c->body, b->data, b->len);
	c->body[b->len] = '\0';
}

/* ------------------------------------------------------------ store diff */

#define SQL_THREAT_COLS "SELECT id, uid, state, content_hash, score, in_scope FROM threats"
static const char SQL_THREATS_EXISTING[] = SQL_THREAT_COLS " WHERE project_id = ?1";
static const char SQL_THREATS_BY_COMPONENT[] =
    SQL_THREAT_COLS " WHERE project_id = ?1 AND component_key = ?2";
static const char SQL_THREATS_BY_FLOW[] = SQL_THREAT_COLS " WHERE project_id = ?1 AND flow_key = ?2";
/* Manual items' uids begin with "manual:" (';' follows ':'). */
static const char SQL_THREATS_MANUAL[] =
    SQL_THREAT_COLS " WHERE project_id = ?1 AND uid >= 'manual:' AND uid < 'manual;'";
static const char SQL_THREAT_INSERT[] =
    "INSERT INTO threats(id, project_id, uid, library_id, component_key, flow_key, title,"
    " stride, cwe, capec, severity, likelihood, score, in_scope, origin, state, content_hash,"
    " first_version, last_version, created_at, updated_at) VALUES ";
#define THREAT_INSERT_COLS 21
static const char SQL_THREAT_UPDATE[] =
    "UPDATE threats SET title = ?2, stride = ?3, cwe = ?4, capec = ?5, severity = ?6,"
    " likelihood = ?7, score = ?8, in_scope = ?9, state = 'active', removed_reason = NULL,"
    " content_hash = ?10, last_version = ?11,"
    " updated_at = CASE WHEN content_hash = ?10 AND state = 'active' AND score = ?8"
    " AND in_scope = ?9 THEN updated_at ELSE ?12 END WHERE id = ?1";
static const char SQL_THREAT_REMOVE[] =
    "UPDATE threats SET state = 'removed', removed_reason = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_LINKS_EXISTING[] =
    "SELECT l.threat_id, l.countermeasure_id FROM threat_countermeasures l"
    " JOIN threats t ON t.id = l.threat_id WHERE t.project_id = ?1";
static const char SQL_LINK_DELETE[] =
    "DELETE FROM threat_countermeasures WHERE threat_id = ?1 AND countermeasure_id = ?2";
static const char SQL_LINK_INSERT[] =
    "INSERT OR IGNORE INTO threat_countermeasures(threat_id, countermeasure_id) VALUES ";
#define SQL_CM_COLS                                                                           \
	"SELECT id, uid, state, status, content_hash, in_scope, due_date, ticket_id, score,"  \
	" satisfied_by FROM countermeasures"
static const char SQL_CMS_EXISTING[] = SQL_CM_COLS " WHERE project_id = ?1";
static const char SQL_CMS_BY_COMPONENT[] =
    SQL_CM_COLS " WHERE project_id = ?1 AND component_key = ?2";
static const char SQL_CMS_MANUAL[] =
    SQL_CM_COLS " WHERE project_id = ?1 AND uid >= 'manual:' AND uid < 'manual;'";
static const char SQL_LINKS_OF_CM[] =
    "SELECT threat_id, countermeasure_id FROM threat_countermeasures WHERE countermeasure_id = ?1";
static const char SQL_CM_INSERT[] =
    "INSERT INTO countermeasures(id, project_id, uid, library_id, component_key, title,"
    " priority, status, satisfied_by, in_scope, score, due_date, body, content_hash, origin,"
    " state, first_version, last_version, created_at, updated_at, text_hash) VALUES ";
#define CM_INSERT_COLS 21
static const char SQL_TEXT_INSERT[] =
    "INSERT OR IGNORE INTO countermeasure_texts(hash, body) VALUES ";
static const char SQL_MAX_THREAT_ID[] = "SELECT coalesce(max(id), 0) FROM threats";
static const char SQL_MAX_CM_ID[] = "SELECT coalesce(max(id), 0) FROM countermeasures";
static const char SQL_CM_UPDATE[] =
    "UPDATE countermeasures SET title = ?2, priority = ?3, status = ?4, satisfied_by = ?5,"
    " in_scope = ?6, score = ?7, due_date = ?8, body = ?9, content_hash = ?10,"
    " state = 'active', removed_reason = NULL, last_version = ?11, updated_at = ?12,"
    " text_hash = ?13 WHERE id = ?1";
static const char SQL_CM_SCORE[] = "UPDATE countermeasures SET score = ?2 WHERE id = ?1";
static const char SQL_CM_REMOVE[] =
    "UPDATE countermeasures SET state = 'removed', removed_reason = ?2, updated_at = ?3"
    " WHERE id = ?1";
static const char SQL_TRACKED[] =
    "SELECT DISTINCT countermeasure_id FROM outbox WHERE project_id = ?1 AND op = 'create'"
    " AND state <> 'dead' AND countermeasure_id IS NOT NULL";
/* Written only when it changes: the row holds the model's text, which an
 * update rewrites whole. */
static const char SQL_CLASS[] = "UPDATE model_versions SET risk_class = ?3, class_rule = ?4"
                                " WHERE project_id = ?1 AND version = ?2"
                                " AND (risk_class IS NOT ?3 OR class_rule IS NOT ?4)";
/* Steps a write, then drops its bindings: bind_text leaves pointers to the
 * caller's strings in the statement, which must not outlive the step. */
static int step_done(struct gen *g, sqlite3_stmt *st, const char *what)
{
	int rc = 0;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(g->s, what, g->werr);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Stores the library part of c's text once (content-addressed) and returns
 * its hash, borrowed from the working set. */
static int store_text(struct gen *g, const struct gcm *c, const char **ret_hash)
{
	struct gtext *x = c->text;
	*ret_hash = x->hash;
	/* One row per library entry and run, not per instance. */
	if (x->written)
		return 0;
	x->written = true;
	rowbatch_text(g->b_texts, x->hash);
	rowbatch_text(g->b_texts, x->json);
	return 0; /* written by flush_cms, or by update_cm before its row */
}

/* The id the next row of table gets: one more than the largest, as SQLite
 * would give it, read once per run inside its transaction. */
static int next_id(struct gen *g, const char *sql, int64_t *next)
{
	if (*next > 0)
		return 0;
	sqlite3_stmt *st = store_prepare(g->s, sql);
	if (!st)
		return store_fail(g->s, "allocate row ids", g->werr);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*next = sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	return r == SQLITE_ROW ? 0 : store_fail(g->s, "allocate row ids", g->werr);
}

/* Writes the queued tasks, then the rows naming them: texts first, history
 * and outbox rows after. Each queue keeps the order rows were queued in. */
static int flush_cms(struct gen *g)
{
	int rc;
	if ((rc = rowbatch_flush(g->b_texts, g->s, g->werr)) < 0 ||
	    (rc = rowbatch_flush(g->b_cms, g->s, g->werr)) < 0 ||
	    (rc = rowbatch_flush(g->b_history, g->s, g->werr)) < 0)
		return rc;
	return rowbatch_flush(g->b_outbox, g->s, g->werr);
}

static void count(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (v)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(obj, key, json_integer(1));
}

static int history(struct gen *g, int64_t cm_id, int64_t ticket_id, const char *from,
                   const char *to, const char *reason)
{
	struct task_status_change c = {.countermeasure_id = cm_id,
	                               .ticket_id = ticket_id,
	                               .from = from,
	                               .to = to,
	                               .source = "generate",
	                               .reason = reason};
	task_status_history_queue(g->b_history, &c, g->now);
	if (from)
		count(json_object_get(g->changes, "countermeasures"), "status_changed");
	return 0;
}

static int outbox(struct gen *g, const char *op, int64_t cm_id, int64_t ticket_id,
                  const char *reason)
{
	if (!g->connector)
		return 0;
	/* The payload is built in the run's reusable buffer: no allocation per row. */
	struct ts_buf *b = &g->row;
	buf_reset(b);
	ts_buf_append(b, "{", 1);
	jw_key(b, "reason");
	jw_str_or_null(b, reason);
	ts_buf_append(b, "}", 1);
	struct outbox_entry e = {.project_id = g->project_id,
	                         .connector = g->connector,
	                         .op = op,
	                         .countermeasure_id = cm_id,
	                         .ticket_id = ticket_id,
	                         .payload = b->data,
	                         .payload_len = b->len};
	outbox_queue(g->b_outbox, &e, g->now);
	count(json_object_get(g->changes, "outbox"), op);
	return 0;
}

/* Why an item keyed "...@key" is no longer generated. */
static char *removal_reason(struct gen *g, const char *uid, bool threat)
{
	const char *merged = json_string_value(json_object_get(g->merged, uid));
	if (merged)
		return ts_strdup(merged);
	const char *at = strrchr(uid, '@');
	const char *key = at ? at + 1 : "";
	bool gone = strcmp(key, "*") != 0 && !component(g, key) &&
	            !(threat && flow_of(g, key));
	if (gone)
		return ts_asprintf("'%s' is no longer in the model (version %d)", key, g->version);
	if (threat)
		return ts_asprintf("the threat no longer applies to '%s' (model version %d)", key,
		                   g->version);
	return ts_asprintf("no threat of model version %d calls for it any more", g->version);
}

/* The stored threats of the project that this run regenerates (all of them
 * in a full run): uid -> [id, state, hash, score, in_scope] in *existing (a
 * new object, also on error). */
/* Reads the rows of a query of SQL_THREAT_COLS into existing. */
static int read_threats(struct gen *g, sqlite3_stmt *st, json_t *existing)
{
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(
		    existing, (const char *)sqlite3_column_text(st, 1),
		    json_pack("[I, s, s, f, i]", (json_int_t)sqlite3_column_int64(st, 0),
		              (const char *)sqlite3_column_text(st, 2),
		              (const char *)sqlite3_column_text(st, 3),
		              sqlite3_column_double(st, 4), sqlite3_column_int(st, 5)));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r == SQLITE_DONE ? 0 : store_fail(g->s, "load threats", g->werr);
}

/* Runs sql (?1 the project, ?2 key when not NULL) and reads its rows with
 * reader into existing. */
static int load_rows(struct gen *g, const char *sql, const char *key,
                     int (*reader)(struct gen *, sqlite3_stmt *, json_t *), json_t *existing)
{
	sqlite3_stmt *st = store_prepare(g->s, sql);
	if (!st)
		return store_fail(g->s, "load generated items", g->werr);
	sqlite3_bind_int64(st, 1, g->project_id);
	if (key)
		store_bind_static(st, 2, key);
	return reader(g, st, existing);
}

/* The stored threats this run regenerates, all of the project's in a full
 * run; in a partial one those of the components it redoes, of the flows
 * touching them, the whole model's and the manual ones: uid -> [id, state,
 * hash, score, in_scope] in *existing (a new object, also on error). */
static int load_existing_threats(struct gen *g, json_t **existing)
{
	*existing = json_object();
	if (!g->dirty)
		return load_rows(g, SQL_THREATS_EXISTING, NULL, read_threats, *existing);
	int rc = load_rows(g, SQL_THREATS_BY_COMPONENT, "*", read_threats, *existing);
	if (rc == 0)
		rc = load_rows(g, SQL_THREATS_MANUAL, NULL, read_threats, *existing);
	const char *key;
	json_t *v;
	json_object_foreach (g->dirty, key, v) {
		if (rc == 0)
			rc = load_rows(g, SQL_THREATS_BY_COMPONENT, key, read_threats, *existing);
	}
	json_object_foreach (g->dirty_flows, key, v) {
		if (rc == 0)
			rc = load_rows(g, SQL_THREATS_BY_FLOW, key, read_threats, *existing);
	}
	return rc;
}

static int insert_threat(struct gen *g, struct gthreat *t)
{
	int rc = next_id(g, SQL_MAX_THREAT_ID, &g->next_threat_id);
	if (rc < 0)
		return rc;
	struct rowbatch *b = g->b_threats;
	t->row_id = g->next_threat_id++;
	rowbatch_int(b, t->row_id);
	rowbatch_int(b, g->project_id);
	rowbatch_text(b, t->uid);
	rowbatch_text(b, t->lt ? t->lt->id : t->uid);
	rowbatch_text(b, t->component_key);
	rowbatch_text(b, t->flow_key);
	rowbatch_text(b, t->title);
	rowbatch_text(b, t->stride);
	rowbatch_text(b, t->sh->cwe_json);
	rowbatch_text(b, t->sh->capec_json);
	rowbatch_text(b, t->severity);
	rowbatch_text(b, t->likelihood);
	rowbatch_double(b, t->score);
	rowbatch_int(b, t->in_scope);
	rowbatch_text(b, t->origin_manual ? "manual" : "library");
	rowbatch_text(b, "active");
	rowbatch_text(b, t->hash);
	rowbatch_int(b, g->version);
	rowbatch_int(b, g->version);
	rowbatch_text(b, g->now);
	rowbatch_text(b, g->now);
	return rowbatch_flush_full(b, g->s, g->werr);
}

static int update_threat(struct gen *g, const struct gthreat *t)
{
	sqlite3_stmt *st = store_prepare(g->s, SQL_THREAT_UPDATE);
	if (!st)
		return store_fail(g->s, "update threat", g->werr);
	sqlite3_bind_int64(st, 1, t->row_id);
	store_bind_static(st, 2, t->title);
	store_bind_static(st, 3, t->stride);
	store_bind_static(st, 4, t->sh->cwe_json);
	store_bind_static(st, 5, t->sh->capec_json);
	store_bind_static(st, 6, t->severity);
	store_bind_static(st, 7, t->likelihood);
	sqlite3_bind_double(st, 8, t->score);
	sqlite3_bind_int(st, 9, t->in_scope);
	store_bind_static(st, 10, t->hash);
	sqlite3_bind_int(st, 11, g->version);
	store_bind_static(st, 12, g->now);
	return step_done(g, st, "update threat");
}

/* Stores generated threat t against its stored row old (NULL: none yet),
 * counting the change; a row that is handled leaves existing. */
static int store_threat(struct gen *g, struct gthreat *t, json_t *old, json_t *existing)
{
	json_t *changes = json_object_get(g->changes, "threats");
	if (!old) {
		int rc = insert_threat(g, t);
		if (rc == 0)
			count(changes, "created");
		return rc;
	}
	t->row_id = json_integer_value(json_array_get(old, 0));
	const char *ostate = json_string_value(json_array_get(old, 1));
	const char *ohash = json_string_value(json_array_get(old, 2));
	bool same = strcmp(ostate, "active") == 0 && strcmp(ohash, t->hash) == 0 &&
	            json_real_value(json_array_get(old, 3)) == t->score &&
	            json_integer_value(json_array_get(old, 4)) == t->in_scope;
	if (strcmp(ostate, "removed") == 0)
		count(changes, "reactivated");
	else if (strcmp(ohash, t->hash) != 0)
		count(changes, "updated");
	if (!same) {
		/* Unchanged rows are not written: readers take an active row's
		 * last_version from the generation state (GEN_LAST_VERSION_SQL). */
		int rc = update_threat(g, t);
		if (rc < 0)
			return rc;
	}
	json_object_del(existing, t->uid);
	return 0;
}

/* Marks removed, with the reason, every stored threat left in existing (they
 * were not generated this time). */
static int remove_threats(struct gen *g, json_t *existing)
{
	const char *uid;
	json_t *old;
	json_object_foreach (existing, uid, old) {
		if (strcmp(json_string_value(json_array_get(old, 1)), "removed") == 0)
			continue;
		char *reason = removal_reason(g, uid, true);
		sqlite3_stmt *st = store_prepare(g->s, SQL_THREAT_REMOVE);
		if (!st) {
			free(reason);
			return store_fail(g->s, "remove threat", g->werr);
		}
		sqlite3_bind_int64(st, 1, json_integer_value(json_array_get(old, 0)));
		store_bind_static(st, 2, reason);
		store_bind_static(st, 3, g->now);
		int rc = step_done(g, st, "remove threat");
		free(reason);
		if (rc < 0)
			return rc;
		count(json_object_get(g->changes, "threats"), "removed");
	}
	return 0;
}

/* Stores threats [w->stored, n). */
static int store_some(struct threat_writer *w, size_t n)
{
	struct gen *g = w->g;
	int rc = 0;
	for (; rc == 0 && w->stored < n; w->stored++) {
		struct gthreat *t = &g->threats[w->stored];
		rc = store_threat(g, t, json_object_get(w->existing, t->uid), w->existing);
	}
	return rc;
}

static int check_state(struct gen *g);

/* What the threat writer writes before the threats: nothing the evaluation
 * reads. */
static int write_first(struct threat_writer *w)
{
	struct gen *g = w->g;
	sqlite3_stmt *st = store_prepare(g->s, SQL_CLASS);
	if (!st)
		return store_fail(g->s, "record classification", g->werr);
	sqlite3_bind_int64(st, 1, g->project_id);
	sqlite3_bind_int(st, 2, g->version);
	store_bind_static(st, 3, g->cls.risk_class);
	store_bind_static(st, 4, g->cls.rule);
	int rc = step_done(g, st, "record classification");
	/* The stored state must be the one the scope was chosen from: another
	 * generation may have committed since. */
	if (rc == 0)
		rc = check_state(g);
	/* Aliases are carried over when the library changed, which makes a
	 * full run. */
	if (rc == 0 && !g->dirty)
		rc = gen_apply_aliases(g->s, g->lib, g->project_id, g->merged, g->werr);
	if (rc == 0)
		rc = load_existing_threats(g, &w->existing);
	if (rc == 0 && !g->dry_run)
		rc = gen_state_store_flows(g->s, g->project_id, g->context, g->version, g->model,
		                           g->fdigest, g->dirty, &g->old, g->werr);
	return rc;
}

static void *write_threats(void *arg)
{
	struct threat_writer *w = arg;
	if ((w->rc = write_first(w)) < 0)
		return NULL;
	for (;;) {
		size_t n = relay_wait(&w->relay, w->stored, ROWBATCH_ROWS);
		if (n <= w->stored)
			break;
		pthread_mutex_lock(&w->grow);
		w->rc = store_some(w, n);
		pthread_mutex_unlock(&w->grow);
		if (w->rc < 0)
			break;
	}
	return NULL;
}

static int evaluate(struct gen *g)
{
	int rc;
	if ((rc = library_threats(g)) < 0 || (rc = system_threats(g)) < 0 ||
	    (rc = manual_items(g)) < 0)
		return rc;
	return 0;
}

/* Generates the threats and stores them: a thread writes them while the
 * evaluation goes on, with errors of its own (g->werr) so that neither
 * overwrites the other's. */
static int threats_run(struct gen *g)
{
	struct threat_writer w = {.g = g};
	int rc;
	relay_init(&w.relay);
	pthread_mutex_init(&w.grow, NULL);
	g->writer = &w;
	g->werr = &w.err;
	bool started = pthread_create(&w.thread, NULL, write_threats, &w) == 0;
	if (!started) {
		g->writer = NULL;
		g->werr = g->err;
		if ((rc = write_first(&w)) < 0)
			goto out;
	}
	rc = evaluate(g);
	if (started) {
		relay_publish(&w.relay, g->n_threats, true);
		pthread_join(w.thread, NULL);
		g->writer = NULL;
		g->werr = g->err;
		if (rc == 0 && w.rc < 0) {
			*g->err = w.err;
			rc = w.rc;
		}
	}
	if (rc == 0)
		rc = store_some(&w, g->n_threats);
	if (rc == 0)
		rc = rowbatch_flush(g->b_threats, g->s, g->err);
	if (rc == 0)
		rc = remove_threats(g, w.existing);
out:
	relay_destroy(&w.relay);
	pthread_mutex_destroy(&w.grow);
	json_decref(w.existing);
	return rc;
}

static void add_days(const char *today, int days, char out[11])
{
	struct tm tm = {0};
	tm.tm_year = atoi(today) - 1900;
	tm.tm_mon = atoi(today + 5) - 1;
	tm.tm_mday = atoi(today + 8) + days;
	tm.tm_hour = 12;
	time_t t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The override a countermeasure takes from its threats: when every linked
 * threat the policy puts in scope has one (and at least one has), the first
 * by uid (engine/tracking/override.c applies the same rule). */
static const json_t *inherited_override(struct gen *g, const struct gcm *c)
{
	const json_t *first = NULL;
	for (size_t i = 0; i < c->n_threats; i++) {
		const struct gthreat *t = &g->threats[c->threats[i]];
		if (t->ovr && !first)
			first = t->ovr;
		if (!t->ovr && t->in_scope)
			return NULL;
	}
	return first;
}

static bool acceptance_expired(struct gen *g, const struct gcm *c, const char **ret_date)
{
	const json_t *o = override_of(g, "countermeasure", c->uid, true);
	for (size_t i = 0; !o && i < c->n_threats; i++)
		o = override_of(g, "threat", g->threats[c->threats[i]].uid, true);
	if (o)
		*ret_date = jstr(o, "expires_at");
	return o != NULL;
}

/* Decides a countermeasure's status from what is stored and what holds now:
 * overrides, then satisfied_by, then the status the tracker owns. *ret_reason
 * is new (may be NULL). */
/* Whether a state written in an imported model (OTM mitigation states, OTM and
 * Threat Dragon threat states) says the countermeasure is in place. */
static bool declared_implemented(const char *state)
{
	static const char *const done[] = {"implemented", "mitigated"};
	for (size_t i = 0; state && i < TS_ARRAY_SIZE(done); i++)
		if (strcasecmp(state, done[i]) == 0)
			return true;
	return false;
}

static const char *decide_status(struct gen *g, struct gcm *c, const char *old_status,
                                 char **ret_reason)
{
	*ret_reason = NULL;
	const json_t *o = override_of(g, "countermeasure", c->uid, false);
	if (!o)
		o = inherited_override(g, c);
	if (o) {
		*ret_reason = ts_strdup(jstr(o, "reason"));
		return jstr(o, "kind");
	}
	if (c->satisfied_by) {
		*ret_reason = ts_asprintf("satisfied by component '%s'", c->satisfied_by);
		return "satisfied";
	}
	/* A new task the model says is in place starts done; from then on the
	 * tracker owns its status, as for any task. */
	if (!old_status && declared_implemented(c->declared_state)) {
		*ret_reason = ts_asprintf("implemented according to %s (state '%s')",
		                          g->source_name[0] ? g->source_name : "the model",
		                          c->declared_state);
		return "done";
	}
	/* Statuses the tracker owns are kept as stored. */
	if (task_status_tracker_owned(old_status, false))
		return old_status;
	const char *date = NULL;
	if (old_status && strcmp(old_status, "risk_accepted") == 0 &&
	    acceptance_expired(g, c, &date))
		*ret_reason = ts_asprintf("risk acceptance expired on %s", date ? date : "?");
	else if (old_status && strcmp(old_status, "satisfied") == 0)
		*ret_reason = ts_strdup("no longer satisfied by another component");
	else if (old_status)
		*ret_reason = ts_strdup("override no longer in force");
	return "todo";
}

/* Reads the rows of a query of SQL_CM_COLS into existing. */
static int read_cms(struct gen *g, sqlite3_stmt *st, json_t *existing)
{
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(
		    existing, (const char *)sqlite3_column_text(st, 1),
		    json_pack("[I, s, s, s, i, s?, I, f, s?]", (json_int_t)sqlite3_column_int64(st, 0),
		              (const char *)sqlite3_column_text(st, 2),
		              (const char *)sqlite3_column_text(st, 3),
		              (const char *)sqlite3_column_text(st, 4), sqlite3_column_int(st, 5),
		              (const char *)sqlite3_column_text(st, 6),
		              (json_int_t)sqlite3_column_int64(st, 7), sqlite3_column_double(st, 8),
		              (const char *)sqlite3_column_text(st, 9)));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r == SQLITE_DONE ? 0 : store_fail(g->s, "load countermeasures", g->werr);
}

/* The stored tasks this run regenerates (as load_existing_threats) into
 * existing, and the ids of the tasks with a create queued into tracked. */
static int load_existing_cms(struct gen *g, json_t *existing, json_t *tracked)
{
	int rc;
	if (!g->dirty) {
		rc = load_rows(g, SQL_CMS_EXISTING, NULL, read_cms, existing);
	} else {
		rc = load_rows(g, SQL_CMS_BY_COMPONENT, "*", read_cms, existing);
		if (rc == 0)
			rc = load_rows(g, SQL_CMS_MANUAL, NULL, read_cms, existing);
		const char *key;
		json_t *v;
		json_object_foreach (g->dirty, key, v) {
			if (rc == 0)
				rc = load_rows(g, SQL_CMS_BY_COMPONENT, key, read_cms, existing);
		}
	}
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = store_prepare(g->s, SQL_TRACKED);
	if (!st)
		return store_fail(g->s, "load outbox", g->werr);
	sqlite3_bind_int64(st, 1, g->project_id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_object_set_new(tracked, key, json_true());
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(g->s, "load outbox", g->werr);
	return 0;
}

static bool is_tracked(json_t *tracked, int64_t id, int64_t ticket)
{
	char key[32];
	snprintf(key, sizeof(key), "%lld", (long long)id);
	return ticket > 0 || json_object_get(tracked, key);
}

static int insert_cm(struct gen *g, struct gcm *c, const char *status, const char *reason,
                     const char *due)
{
	json_t *changes = json_object_get(g->changes, "countermeasures");
	const char *text_hash = NULL;
	int rc;
	if ((rc = next_id(g, SQL_MAX_CM_ID, &g->next_cm_id)) < 0 ||
	    (rc = store_text(g, c, &text_hash)) < 0)
		return rc;
	struct rowbatch *b = g->b_cms;
	c->row_id = g->next_cm_id++;
	rowbatch_int(b, c->row_id);
	rowbatch_int(b, g->project_id);
	rowbatch_text(b, c->uid);
	rowbatch_text(b, c->lc ? c->lc->id : jstr(c->manual, "id"));
	rowbatch_text(b, c->component_key);
	rowbatch_text(b, c->title);
	rowbatch_int(b, c->priority);
	rowbatch_text(b, status);
	rowbatch_text(b, strcmp(status, "satisfied") == 0 ? c->satisfied_by : NULL);
	rowbatch_int(b, c->in_scope);
	rowbatch_double(b, c->score);
	rowbatch_text(b, due);
	rowbatch_textn(b, c->body, c->body_len);
	rowbatch_text(b, c->hash);
	rowbatch_text(b, c->lc ? "library" : "manual");
	rowbatch_text(b, "active");
	rowbatch_int(b, g->version);
	rowbatch_int(b, g->version);
	rowbatch_text(b, g->now);
	rowbatch_text(b, g->now);
	rowbatch_text(b, text_hash);
	if (rowbatch_rows(b) >= ROWBATCH_ROWS && (rc = flush_cms(g)) < 0)
		return rc;
	count(changes, "created");
	/* A task born todo needs no history row; any other start is a decision
	 * worth recording. */
	if (strcmp(status, "todo") != 0 &&
	    (rc = history(g, c->row_id, 0, NULL, status, reason)) < 0)
		return rc;
	if (c->in_scope && task_status_open(status))
		rc = outbox(g, "create", c->row_id, 0, NULL);
	return rc;
}

static int update_cm(struct gen *g, struct gcm *c, json_t *old, json_t *tracked, const char *status,
                     const char *reason, const char *due)
{
	json_t *changes = json_object_get(g->changes, "countermeasures");
	c->row_id = json_integer_value(json_array_get(old, 0));
	const char *ostate = json_string_value(json_array_get(old, 1));
	const char *ostatus = json_string_value(json_array_get(old, 2));
	const char *ohash = json_string_value(json_array_get(old, 3));
	int oscope = (int)json_integer_value(json_array_get(old, 4));
	const char *odue = json_string_value(json_array_get(old, 5));
	int64_t oticket = json_integer_value(json_array_get(old, 6));
	bool reactivated = strcmp(ostate, "removed") == 0;
	bool changed_text = strcmp(ohash, c->hash) != 0;
	bool changed_status = strcmp(ostatus, status) != 0;
	bool changed_due = (due == NULL) != (odue == NULL) || (due && strcmp(due, odue) != 0);
	/* The provider of a satisfied task, which another one may replace. */
	const char *oprov = json_string_value(json_array_get(old, 8));
	const char *prov = strcmp(status, "satisfied") == 0 ? c->satisfied_by : NULL;
	bool changed_provider =
	    (prov == NULL) != (oprov == NULL) || (prov && strcmp(prov, oprov) != 0);
	bool changed = reactivated || changed_text || changed_status || oscope != c->in_scope ||
	               changed_due || changed_provider;
	sqlite3_stmt *st;
	if (changed) {
		st = store_prepare(g->s, SQL_CM_UPDATE);
		if (!st)
			return store_fail(g->s, "update countermeasure", g->werr);
		sqlite3_bind_int64(st, 1, c->row_id);
		store_bind_static(st, 2, c->title);
		sqlite3_bind_int(st, 3, c->priority);
		store_bind_static(st, 4, status);
		store_bind_static(st, 5, strcmp(status, "satisfied") == 0 ? c->satisfied_by : NULL);
		sqlite3_bind_int(st, 6, c->in_scope);
		sqlite3_bind_double(st, 7, c->score);
		store_bind_static(st, 8, due);
		sqlite3_bind_text(st, 9, c->body, (int)c->body_len, SQLITE_STATIC);
		store_bind_static(st, 10, c->hash);
		sqlite3_bind_int(st, 11, g->version);
		store_bind_static(st, 12, g->now);
		const char *text_hash = NULL;
		int trc = store_text(g, c, &text_hash);
		/* The row names its text: written first. */
		if (trc == 0)
			trc = rowbatch_flush(g->b_texts, g->s, g->werr);
		if (trc < 0) {
			sqlite3_clear_bindings(st);
			return trc;
		}
		store_bind_static(st, 13, text_hash);
	} else if (json_real_value(json_array_get(old, 7)) != c->score) {
		st = store_prepare(g->s, SQL_CM_SCORE);
		if (!st)
			return store_fail(g->s, "update countermeasure", g->werr);
		sqlite3_bind_int64(st, 1, c->row_id);
		sqlite3_bind_double(st, 2, c->score);
	} else {
		st = NULL; /* unchanged: not written (GEN_LAST_VERSION_SQL) */
	}
	int rc = st ? step_done(g, st, "update countermeasure") : 0;
	if (rc < 0)
		return rc;
	if (reactivated)
		count(changes, "reactivated");
	else if (changed_text)
		count(changes, "updated");
	if (changed_status && (rc = history(g, c->row_id, oticket, ostatus, status, reason)) < 0)
		return rc;
	/* Ticket operations: what threatsync owns on the tracker. */
	bool was_open = !reactivated && oscope && task_status_open(ostatus);
	bool now_open = c->in_scope && task_status_open(status);
	if (!is_tracked(tracked, c->row_id, oticket))
		return now_open ? outbox(g, "create", c->row_id, 0, NULL) : 0;
	if (was_open && !now_open)
		return outbox(g, "close", c->row_id, oticket,
		              reason ? reason : "no longer in scope of the risk policy");
	if (!was_open && now_open)
		return outbox(g, "reopen", c->row_id, oticket,
		              reactivated ? "the threat applies again" : reason);
	if (now_open && changed_text)
		return outbox(g, "update", c->row_id, oticket, NULL);
	return 0;
}

static int remove_cms(struct gen *g, json_t *existing, json_t *tracked)
{
	json_t *changes = json_object_get(g->changes, "countermeasures");
	const char *uid;
	json_t *old;
	json_object_foreach (existing, uid, old) {
		if (strcmp(json_string_value(json_array_get(old, 1)), "removed") == 0)
			continue;
		int64_t id = json_integer_value(json_array_get(old, 0));
		char *reason = removal_reason(g, uid, false);
		sqlite3_stmt *st = store_prepare(g->s, SQL_CM_REMOVE);
		if (!st) {
			free(reason);
			return store_fail(g->s, "remove countermeasure", g->werr);
		}
		sqlite3_bind_int64(st, 1, id);
		store_bind_static(st, 2, reason);
		store_bind_static(st, 3, g->now);
		int rc = step_done(g, st, "remove countermeasure");
		int64_t ticket = json_integer_value(json_array_get(old, 6));
		bool was_open = json_integer_value(json_array_get(old, 4)) &&
		                task_status_open(json_string_value(json_array_get(old, 2)));
		if (rc == 0 && was_open && is_tracked(tracked, id, ticket))
			rc = outbox(g, "close", id, ticket, reason);
		free(reason);
		if (rc < 0)
			return rc;
		count(changes, "removed");
	}
	return 0;
}

/* Reads the links of st's query into stale: "threat_id:cm_id" -> [threat_id,
 * cm_id]. */
static int read_links(struct gen *g, sqlite3_stmt *st, json_t *stale)
{
	int r;
	char key[48];
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld:%lld", (long long)sqlite3_column_int64(st, 0),
		         (long long)sqlite3_column_int64(st, 1));
		json_object_set_new(stale, key,
		                    json_pack("[I, I]", (json_int_t)sqlite3_column_int64(st, 0),
		                              (json_int_t)sqlite3_column_int64(st, 1)));
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : store_fail(g->s, "link threats", g->werr);
}

/* Links between threats and countermeasures: inserts the new pairs and
 * deletes the stale ones, so an unchanged model writes nothing. The stored
 * links considered are the project's, or in a run that regenerates some
 * components those of the countermeasures it loaded (cm_ids). */
static int store_links(struct gen *g, const json_t *cm_ids)
{
	json_t *stale = json_object(); /* "threat_id:cm_id" -> [threat_id, cm_id] */
	int rc = 0;
	sqlite3_stmt *st;
	char key[48];
	if (!cm_ids) {
		st = store_prepare(g->s, SQL_LINKS_EXISTING);
		if (!st) {
			rc = store_fail(g->s, "link threats", g->werr);
			goto out;
		}
		sqlite3_bind_int64(st, 1, g->project_id);
		if ((rc = read_links(g, st, stale)) < 0)
			goto out;
	}
	size_t n;
	json_t *id;
	json_array_foreach (cm_ids, n, id) {
		st = store_prepare(g->s, SQL_LINKS_OF_CM);
		if (!st) {
			rc = store_fail(g->s, "link threats", g->werr);
			goto out;
		}
		sqlite3_bind_int64(st, 1, json_integer_value(id));
		if ((rc = read_links(g, st, stale)) < 0)
			goto out;
	}
	for (size_t i = 0; rc == 0 && i < g->n_cms; i++) {
		for (size_t k = 0; rc == 0 && k < g->cms[i].n_threats; k++) {
			int64_t tid = g->threats[g->cms[i].threats[k]].row_id;
			if (json_object_size(stale) > 0) {
				snprintf(key, sizeof(key), "%lld:%lld", (long long)tid,
				         (long long)g->cms[i].row_id);
				if (json_object_get(stale, key)) {
					json_object_del(stale, key);
					continue;
				}
			}
			rowbatch_int(g->b_links, tid);
			rowbatch_int(g->b_links, g->cms[i].row_id);
			rc = rowbatch_flush_full(g->b_links, g->s, g->werr);
		}
	}
	const char *k;
	json_t *pair;
	json_object_foreach (stale, k, pair) {
		if (rc < 0)
			break;
		st = store_prepare(g->s, SQL_LINK_DELETE);
		if (!st) {
			rc = store_fail(g->s, "unlink threats", g->werr);
			goto out;
		}
		sqlite3_bind_int64(st, 1, json_integer_value(json_array_get(pair, 0)));
		sqlite3_bind_int64(st, 2, json_integer_value(json_array_get(pair, 1)));
		rc = step_done(g, st, "unlink threats");
	}
out:
	json_decref(stale);
	return rc;
}

/* Finishing the tasks (cm_finish) on a thread of its own, in order, while
 * store_cms writes those finished: it reads the model, the library and the
 * threats and writes only the tasks, their texts and g->scratch; store_cms
 * reads a task once it is finished and a text once its task is. */
struct finish_job {
	struct gen *g;
	struct relay relay;
	pthread_t thread;
	bool started;
};

static int store_cms(struct gen *g, struct finish_job *fin)
{
	size_t finished = 0;
	json_t *existing =
	    json_object(); /* uid -> [id, state, status, hash, in_scope, due, ticket] */
	json_t *tracked = json_object(); /* countermeasure id -> true: a create is queued */
	int rc = load_existing_cms(g, existing, tracked);
	/* A partial run diffs the links of the tasks it loaded. */
	json_t *cm_ids = g->dirty ? json_array() : NULL;
	const char *uid;
	json_t *row;
	json_object_foreach (cm_ids ? existing : NULL, uid, row)
		json_array_append(cm_ids, json_array_get(row, 0));
	for (size_t i = 0; rc == 0 && i < g->n_cms; i++) {
		if (i >= finished)
			finished = relay_wait(&fin->relay, i, ROWBATCH_ROWS);
		struct gcm *c = &g->cms[i];
		json_t *old = json_object_get(existing, c->uid);
		const char *ostatus = old ? json_string_value(json_array_get(old, 2)) : NULL;
		const char *odue = old ? json_string_value(json_array_get(old, 5)) : NULL;
		char *reason = NULL;
		const char *status = decide_status(g, c, ostatus, &reason);
		/* A due date is set once, when the task first needs doing, and
		 * kept: the SLA runs from then. */
		char due[11] = "";
		const char *due_date = odue;
		if (!due_date && c->in_scope && task_status_open(status)) {
			int p = c->priority - 1;
			int days = g->policy->sla_days[p];
			if (days > 0) {
				/* one date per priority and run */
				if (!g->due_by[p][0])
					add_days(g->today, days, g->due_by[p]);
				memcpy(due, g->due_by[p], sizeof(due));
				due_date = due;
			}
		}
		if (!old) {
			rc = insert_cm(g, c, status, reason, due_date);
		} else {
			rc = update_cm(g, c, old, tracked, status, reason, due_date);
			json_object_del(existing, c->uid);
		}
		free(reason);
	}
	if (rc == 0)
		rc = remove_cms(g, existing, tracked);
	if (rc == 0)
		rc = flush_cms(g);
	if (rc == 0)
		rc = store_links(g, cm_ids);
	if (rc == 0)
		rc = rowbatch_flush(g->b_links, g->s, g->werr);
	json_decref(cm_ids);
	json_decref(existing);
	json_decref(tracked);
	return rc;
}

/* ------------------------------------------------------------ summary */

static json_t *zero_counts(const char *const *keys, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, keys[i], json_integer(0));
	return o;
}

/* The summary with every count at zero: totals() fills the totals from what
 * is stored, the writers count the changes. */
static void summarise(struct gen *g, bool dry_run)
{
	static const char *const sev[] = {"critical", "high", "medium", "low"};
	static const char *const diff[] = {"created", "updated", "removed", "reactivated"};
	static const char *const cdiff[] = {"created", "updated", "removed", "reactivated",
	                                    "status_changed"};
	static const char *const ops[] = {"create", "update", "close", "reopen"};
	json_t *t = json_pack("{s:i, s:i, s:i, s:o}", "total", 0, "in_scope", 0, "overridden", 0,
	                      "by_severity", zero_counts(sev, 4));
	json_t *c = json_pack("{s:i, s:i, s:i, s:o}", "total", 0, "in_scope", 0, "satisfied", 0,
	                      "by_status", json_object());
	json_t *changes =
	    json_pack("{s:o, s:o, s:o}", "threats", zero_counts(diff, 4), "countermeasures",
	              zero_counts(cdiff, 5), "outbox", zero_counts(ops, 4));
	g->summary = json_pack("{s:s, s:i, s:s, s:s?, s:i, s:b, s:o, s:o, s:o}", "project", g->slug,
	                       "model_version", g->version, "risk_class", g->cls.risk_class, "rule",
	                       g->cls.rule, "rule_line", g->cls.rule_line, "dry_run", dry_run,
	                       "threats", t, "countermeasures", c, "changes", changes);
	g->changes = changes;
}

static void *finish_all(void *arg)
{
	struct finish_job *j = arg;
	struct gen *g = j->g;
	for (size_t k = 0; k < g->n_cms; k++) {
		cm_finish(g, &g->cms[k]);
		relay_publish(&j->relay, k + 1, k + 1 == g->n_cms);
	}
	relay_publish(&j->relay, g->n_cms, true);
	return NULL;
}

static void finish_start(struct finish_job *j, struct gen *g)
{
	j->g = g;
	relay_init(&j->relay);
	j->started = pthread_create(&j->thread, NULL, finish_all, j) == 0;
	if (!j->started)
		finish_all(j);
}

static void finish_wait(struct finish_job *j)
{
	if (j->started)
		pthread_join(j->thread, NULL);
	j->started = false;
	relay_destroy(&j->relay);
}

/* ------------------------------------------------------------ entry */

static int check_state(struct gen *g)
{
	int r = gen_state_unchanged(g->s, g->project_id, &g->old, g->werr);
	if (r == 0)
		return ts_err_set(g->werr, TS_E_BUSY,
		                  "project '%s' was generated by another run meanwhile; run generate "
		                  "again",
		                  g->slug);
	return r < 0 ? r : 0;
}

/* In the order of the covering indexes threats_progress and
 * countermeasures_by_status (migration 0014): no sorting. */
static const char SQL_THREAT_TOTALS[] =
    "SELECT in_scope, severity, count(*) FROM threats"
    " WHERE project_id = ?1 AND state = 'active' GROUP BY in_scope, severity";
static const char SQL_THREAT_ACTIVE[] =
    "SELECT 1 FROM threats WHERE project_id = ?1 AND uid = ?2 AND state = 'active'";
static const char SQL_CM_TOTALS[] =
    "SELECT status, in_scope, count(*) FROM countermeasures"
    " WHERE project_id = ?1 AND state = 'active' GROUP BY status, in_scope";

/* Adds n to obj[key] (an integer, created when missing). */
static void add_count(json_t *obj, const char *key, json_int_t n)
{
	json_t *v = json_object_get(obj, key);
	if (v)
		json_integer_set(v, json_integer_value(v) + n);
	else
		json_object_set_new(obj, key, json_integer(n));
}

/* The summary's totals from what is stored after the run (a run that
 * regenerates some components holds only those): threats by severity, in
 * scope and overridden; tasks by status, in scope and satisfied by another
 * component (status satisfied: a provider whose task an override decides is
 * not counted). */
static int totals(struct gen *g)
{
	json_t *t = json_object_get(g->summary, "threats");
	json_t *c = json_object_get(g->summary, "countermeasures");
	json_t *by = json_object_get(t, "by_severity");
	sqlite3_stmt *st = store_prepare(g->s, SQL_THREAT_TOTALS);
	if (!st)
		return store_fail(g->s, "count threats", g->err);
	sqlite3_bind_int64(st, 1, g->project_id);
	json_int_t total = 0, in_scope = 0, over = 0;
	const char *key;
	json_t *v;
	json_object_foreach (by, key, v)
		json_integer_set(v, 0);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_int_t n = sqlite3_column_int64(st, 2);
		add_count(by, store_col_text(st, 1), n);
		total += n;
		if (sqlite3_column_int(st, 0))
			in_scope += n;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(g->s, "count threats", g->err);
	json_object_foreach (g->active, key, v) {
		if (strncmp(key, "threat:", 7) != 0)
			continue;
		st = store_prepare(g->s, SQL_THREAT_ACTIVE);
		if (!st)
			return store_fail(g->s, "count threats", g->err);
		sqlite3_bind_int64(st, 1, g->project_id);
		store_bind_static(st, 2, key + 7);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return store_fail(g->s, "count threats", g->err);
		over += r == SQLITE_ROW;
	}
	json_object_set_new(t, "total", json_integer(total));
	json_object_set_new(t, "in_scope", json_integer(in_scope));
	json_object_set_new(t, "overridden", json_integer(over));
	st = store_prepare(g->s, SQL_CM_TOTALS);
	if (!st)
		return store_fail(g->s, "count countermeasures", g->err);
	sqlite3_bind_int64(st, 1, g->project_id);
	/* by_status in status order, as the rows come. */
	json_t *by_status = json_object_get(c, "by_status");
	json_int_t c_total = 0, c_scope = 0, c_sat = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = store_col_text(st, 0);
		json_int_t n = sqlite3_column_int64(st, 2);
		add_count(by_status, status, n);
		c_total += n;
		if (sqlite3_column_int(st, 1))
			c_scope += n;
		if (strcmp(status, "satisfied") == 0)
			c_sat += n;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return store_fail(g->s, "count countermeasures", g->err);
	json_object_set_new(c, "total", json_integer(c_total));
	json_object_set_new(c, "in_scope", json_integer(c_scope));
	json_object_set_new(c, "satisfied", json_integer(c_sat));
	return 0;
}

static const char SQL_SOURCE_NAME[] =
    "SELECT source_name FROM model_versions WHERE project_id = ?1 AND version = ?2";

/* The file the current model version came from ("" when unknown). */
static int load_source_name(struct gen *g)
{
	sqlite3_stmt *st = store_prepare(g->s, SQL_SOURCE_NAME);
	if (!st)
		return store_fail(g->s, "load model version", g->err);
	sqlite3_bind_int64(st, 1, g->project_id);
	sqlite3_bind_int(st, 2, g->version);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		snprintf(g->source_name, sizeof(g->source_name), "%s", store_col_text(st, 0));
	else if (r != SQLITE_DONE)
		return store_fail(g->s, "load model version", g->err);
	return 0;
}

static void ctx_value(void *arg, long long v)
{
	ts_buf_printf(arg, "%lld,", v);
}

static void ctx_json(struct ts_buf *b, const json_t *v)
{
	char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	ts_buf_printf(b, "%s\n", text ? text : "null");
	free(text);
}

/* The digest of everything generation reads besides the model's components
 * and flows: the library, the classification and its policy, the options,
 * the overrides, the rest of the model, and the value of every model-wide
 * quantifier of the library's conditions (the memo's, struct expr_memo). When
 * it is unchanged, a component's threats and tasks depend only on the
 * components its last evaluation read (gen_state.h). */
static int gen_context(struct gen *g)
{
	struct ts_buf b = {0};
	const struct config_policy *p = g->policy;
	const struct config_generation *o = gen_options(g);
	ts_buf_printf(&b, "threatsync generation 1\n%s\n%s|%s|%d\n", library_digest(g->lib),
	              g->cls.risk_class, g->cls.rule ? g->cls.rule : "", g->cls.rule_line);
	ts_buf_printf(&b, "%s|%d|%d,%d,%d,%d|%d|%s|%s\n", p->min_severity, p->max_priority,
	              p->sla_days[0], p->sla_days[1], p->sla_days[2], p->sla_days[3],
	              o->other_stacks, o->library_url ? o->library_url : "",
	              g->connector ? g->connector : "");
	ctx_json(&b, g->frameworks);
	ctx_json(&b, g->active);
	ctx_json(&b, g->expired);
	json_t *rest = json_copy(g->model);
	json_object_del(rest, "components");
	json_object_del(rest, "flows");
	ctx_json(&b, rest);
	json_decref(rest);
	struct expr_env env = {.model = g->model, .index = g->expr_index, .memo = g->memo};
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < library_n_threats(g->lib); k++) {
		const struct lib_threat *lt = library_threat_at(g->lib, k);
		if (!lt->condition)
			continue;
		ts_buf_printf(&b, "t%zu:", k);
		struct ts_err e = {0};
		if (expr_closed_values(lt->condition, &env, ctx_value, &b, &e) < 0)
			rc = ts_err_set(g->err, TS_E_INVALID, "%s: %s.condition: %s", lt->file,
			                lt->path, e.msg);
	}
	for (size_t k = 0; rc == 0 && k < library_n_countermeasures(g->lib); k++) {
		const struct lib_countermeasure *lc = library_countermeasure_at(g->lib, k);
		if (!lc->satisfied_by || !lc->satisfied_by->condition)
			continue;
		ts_buf_printf(&b, "c%zu:", k);
		struct ts_err e = {0};
		if (expr_closed_values(lc->satisfied_by->condition, &env, ctx_value, &b, &e) < 0)
			rc = ts_err_set(g->err, TS_E_INVALID, "%s: %s.satisfied_by.condition: %s",
			                lc->file, lc->path, e.msg);
	}
	ts_sha256_hex(b.data ? b.data : "", b.len, g->context);
	ts_buf_free(&b);
	return rc;
}

/* Decides between a full run and one over the components a change affects:
 * the latter when the stored state was made under the same context. */
static int choose_scope(struct gen *g, bool full)
{
	int rc;
	g->memo = expr_memo_new();
	g->deps = json_object();
	if ((rc = gen_context(g)) < 0)
		return rc;
	if (full || !g->old.present || strcmp(g->old.context, g->context) != 0)
		return 0;
	/* gen_input_load computed the set from the same state and model. */
	json_t *removed = g->pre_removed;
	g->dirty = g->pre_dirty;
	g->pre_dirty = g->pre_removed = NULL;
	g->dirty_flows = json_object();
	size_t i;
	json_t *v;
	json_array_foreach (removed, i, v)
		json_object_set(g->dirty_flows, json_string_value(v), json_true());
	json_decref(removed);
	const char *id;
	json_object_foreach (g->dirty, id, v) {
		json_t *f;
		json_array_foreach (expr_index_flows_of(g->expr_index, id), i, f) {
			const char *fid = jstr(f, "id");
			if (fid)
				json_object_set(g->dirty_flows, fid, json_true());
		}
	}
	return 0;
}

void gen_input_free(struct gen_input *in)
{
	json_decref(in->model);
	json_decref(in->cdigest);
	json_decref(in->fdigest);
	gen_state_old_free(&in->old);
	expr_index_free(in->index);
	json_decref(in->dirty);
	json_decref(in->removed_flows);
	memset(in, 0, sizeof(*in));
}

/* gen_input_load's second thread: the last generation's state, read while
 * the calling thread parses the model (the store is this thread's alone
 * meanwhile). */
struct state_job {
	struct store *s;
	int64_t project_id;
	struct gen_state_old *old;
	struct ts_err err;
	int rc;
};

static void *load_state(void *arg)
{
	struct state_job *j = arg;
	j->rc = gen_state_load(j->s, j->project_id, j->old, &j->err);
	return NULL;
}

/* And its third: the flows' digests, while the calling thread digests the
 * components. */
struct digest_job {
	const json_t *list;
	json_t *out;
};

static void *digest_list(void *arg)
{
	struct digest_job *j = arg;
	j->out = gen_state_digest_list(j->list);
	return NULL;
}

int gen_input_load(struct store *s, const char *slug, struct gen_input *in, struct ts_err *err)
{
	memset(in, 0, sizeof(*in));
	int rc;
	char *text = NULL;
	size_t len = 0;
	if ((rc = project_find(s, slug, &in->project_id, err)) < 0 ||
	    (rc = model_load_text(s, in->project_id, 0, &text, &len, &in->version, err)) < 0)
		return rc;
	/* Both other threads build JSON objects: the hash seed is chosen first. */
	json_object_seed(0);
	struct state_job sj = {.s = s, .project_id = in->project_id, .old = &in->old};
	pthread_t st;
	bool st_started = pthread_create(&st, NULL, load_state, &sj) == 0;
	if (!st_started)
		load_state(&sj);
	rc = model_parse_stored(text, len, in->version, &in->model, err);
	free(text);
	if (rc == 0) {
		/* Digests of the model as stored: what the library adds to it is in
		 * the context digest. */
		struct digest_job dj = {.list = json_object_get(in->model, "flows")};
		pthread_t dt;
		bool dt_started = pthread_create(&dt, NULL, digest_list, &dj) == 0;
		if (!dt_started)
			digest_list(&dj);
		in->cdigest = gen_state_digest_list(json_object_get(in->model, "components"));
		/* The index holds the model's own objects, which the library's type
		 * defaults later extend in place. */
		in->index = expr_index_new(in->model);
		if (dt_started)
			pthread_join(dt, NULL);
		in->fdigest = dj.out;
	}
	if (st_started)
		pthread_join(st, NULL);
	if (rc < 0)
		return rc;
	if (sj.rc < 0) {
		if (err)
			*err = sj.err;
		return sj.rc;
	}
	if (in->old.present)
		in->dirty = gen_state_dirty(&in->old, in->model, in->cdigest, in->fdigest,
		                            &in->removed_flows);
	return 0;
}

/* In's contents into g: shared (in keeps its references and the index, and
 * frees them when the caller frees it) or moved (all but the model, which g
 * shares). */
static void take_input(struct gen *g, struct gen_input *in, bool share)
{
	g->project_id = in->project_id;
	g->model = json_incref(in->model);
	g->version = in->version;
	g->cdigest = json_incref(in->cdigest);
	g->fdigest = json_incref(in->fdigest);
	g->old = in->old;
	json_incref(g->old.components);
	json_incref(g->old.flows);
	g->expr_index = in->index;
	g->index_borrowed = share;
	g->pre_dirty = json_incref(in->dirty);
	g->pre_removed = json_incref(in->removed_flows);
	if (!share)
		in->index = NULL;
}

static int prepare(struct gen *g, bool full)
{
	int rc;
	/* The same preparation and classification as `classify` (classify_load),
	 * so the two agree. */
	classify_prepare_model(g->lib, g->model);
	if ((rc = classify_model(g->cfg, g->model, &g->cls, g->err)) < 0)
		return rc;
	if ((rc = load_source_name(g)) < 0)
		return rc;
	const struct config_project *pc = config_find_project(g->cfg, g->slug);
	g->connector = pc ? pc->connector : NULL;
	if (!g->expr_index)
		g->expr_index = expr_index_new(g->model);
	g->class_rank = classify_rank(g->cls.risk_class);
	g->policy = config_find_policy(g->cfg, g->cls.risk_class);
	if (!g->policy)
		g->policy = config_default_policy(g->cls.risk_class);
	g->frameworks = json_object();
	for (char **fw = g->policy->frameworks; fw && *fw; fw++)
		json_object_set_new(g->frameworks, *fw, json_true());
	size_t i;
	json_t *fw;
	json_array_foreach (json_object_get(json_object_get(g->model, "project"), "compliance"), i,
	                    fw) {
		if (json_is_string(fw))
			json_object_set_new(g->frameworks, json_string_value(fw), json_true());
	}
	build_indexes(g);
	g->text_index = json_object();
	g->shared = ts_calloc(library_n_threats(g->lib) + 1, sizeof(*g->shared));
	if ((rc = override_load_active(g->s, g->project_id, g->now, &g->active, &g->expired,
	                               g->err)) < 0)
		return rc;
	/* Overrides set on a merged entry's former id hold for the survivor. */
	gen_alias_override_keys(g->lib, g->active);
	gen_alias_override_keys(g->lib, g->expired);
	return choose_scope(g, full);
}

int gen_run(struct store *s, const struct library *lib, const struct config *cfg, const char *slug,
            const struct gen_opts *opts, json_t **ret_summary, struct ts_err *err)
{
	struct gen g = {.s = s, .lib = lib, .cfg = cfg, .slug = slug, .err = err, .werr = err};
	bool dry_run = opts && opts->dry_run;
	if (opts && opts->now)
		strncpy(g.now, opts->now, sizeof(g.now) - 1);
	else
		ts_now_iso(g.now);
	memcpy(g.today, g.now, sizeof(g.today) - 1); /* YYYY-MM-DD */
	int rc;
	if (opts && opts->input) {
		take_input(&g, opts->input, true);
	} else {
		struct gen_input in;
		rc = gen_input_load(s, slug, &in, err);
		take_input(&g, &in, false);
		gen_input_free(&in);
		if (rc < 0)
			goto out;
	}
	if ((rc = prepare(&g, opts && opts->full)) < 0)
		goto out;
	summarise(&g, dry_run);
	if ((rc = store_begin(s)) < 0) {
		rc = store_fail(s, "begin generation", err);
		goto out;
	}
	g.b_threats = rowbatch_new(SQL_THREAT_INSERT, "", THREAT_INSERT_COLS, "insert threat");
	g.b_cms = rowbatch_new(SQL_CM_INSERT, "", CM_INSERT_COLS, "insert countermeasure");
	g.b_texts = rowbatch_new(SQL_TEXT_INSERT, "", 2, "store countermeasure text");
	g.b_links = rowbatch_new(SQL_LINK_INSERT, "", 2, "link threats");
	g.b_history = task_status_history_batch();
	g.b_outbox = outbox_batch();
	g.merged = json_object();
	g.dry_run = dry_run;
	if ((rc = threats_run(&g)) < 0)
		goto rollback;
	struct finish_job fin;
	finish_start(&fin, &g);
	rc = store_cms(&g, &fin);
	finish_wait(&fin);
	if (rc < 0 || (rc = totals(&g)) < 0)
		goto rollback;
	if (!dry_run && (rc = gen_state_store_components(s, g.project_id, g.cdigest, g.deps,
	                                                  g.dirty, &g.old, err)) < 0)
		goto rollback;
	json_object_set_new(g.summary, "regenerated",
	                    json_pack("{s:s, s:i, s:i}", "scope", g.dirty ? "changed" : "all",
	                              "components",
	                              g.dirty ? (int)json_object_size(g.dirty)
	                                      : (int)json_object_size(g.cdigest),
	                              "of", (int)json_object_size(g.cdigest)));
	if (dry_run) {
		store_rollback(s);
	} else if ((rc = store_commit(s)) < 0) {
		rc = store_fail(s, "commit generation", err);
		goto rollback;
	}
	*ret_summary = g.summary;
	g.summary = NULL;
	rc = 0;
	goto out;
rollback:
	store_rollback(s);
out:
	if (opts && opts->keep) {
		struct gen *kept = ts_malloc(sizeof(*kept));
		*kept = g;
		opts->keep(gen_free, kept);
	} else {
		gen_release(&g);
	}
	return rc;
}
