/* SPDX-License-Identifier: Apache-2.0 */
/* The canonical text of a model: compact JSON with every object's keys sorted,
 * byte for byte what jansson's json_dumps(JSON_SORT_KEYS | JSON_COMPACT)
 * writes, in one pass that also notes where the members stored in their own
 * columns lie in it (so they are neither sorted nor written a second time). */
#include <stdlib.h>
#include <string.h>

#include "engine/model/model_native.h"

/* Appends n bytes: in place while they fit (ts_buf_append grows the buffer
 * and ends it with a NUL, done once at the end). */
static inline void put(struct ts_buf *b, const char *s, size_t n)
{
	if (b->len + n < b->cap) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		ts_buf_append(b, s, n);
	}
}

static inline void put_char(struct ts_buf *b, char c)
{
	if (b->len + 1 < b->cap)
		b->data[b->len++] = c;
	else
		ts_buf_append(b, &c, 1);
}

/* Appends the string s of n bytes, quoted and escaped as jansson escapes it
 * without flags: '"' and '\\', the control characters (the short forms JSON
 * has, else \u00XX with upper case digits); every other byte as it is (a
 * jansson string is valid UTF-8). */
static void put_string(struct ts_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	put_char(b, '"');
	size_t run = 0; /* start of the bytes not yet written */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', 0};
		size_t len = 2;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			len = 6;
			break;
		}
		put(b, esc, len);
	}
	put(b, s + run, n - run);
	put_char(b, '"');
}

static void put_integer(struct ts_buf *b, json_int_t v)
{
	char digits[24];
	size_t n = sizeof(digits);
	/* in unsigned arithmetic, so the most negative value has a magnitude too */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		digits[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--n] = '-';
	put(b, digits + n, sizeof(digits) - n);
}

/* One member of an object, for sorting. */
struct member {
	const char *key;
	json_t *value;
};

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->key, ((const struct member *)b)->key);
}

/* The members of obj sorted by key (as jansson compares keys: bytes, then
 * length; keys hold no NUL, so strcmp). m has room for small objects; a
 * larger one gets a new array, returned (free it when it is not m). */
static struct member *sorted_members(const json_t *obj, struct member *m, size_t room,
                                     size_t *ret_n)
{
	size_t n = json_object_size(obj);
	if (n > room)
		m = ts_malloc(n * sizeof(*m));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)obj, k, v) {
		m[i++] = (struct member){k, v};
	}
	if (n > 16) {
		qsort(m, n, sizeof(*m), member_cmp);
	} else {
		/* insertion sort: most objects of a model have a few keys */
		for (i = 1; i < n; i++) {
			struct member x = m[i];
			size_t j = i;
			for (; j > 0 && strcmp(m[j - 1].key, x.key) > 0; j--)
				m[j] = m[j - 1];
			m[j] = x;
		}
	}
	*ret_n = n;
	return m;
}

static void put_value(struct ts_buf *b, const json_t *v, const struct model_capture *cap);

/* An object; with cap, the spans of the members cap names are noted. */
static void put_object(struct ts_buf *b, const json_t *obj, const struct model_capture *cap)
{
	struct member small[32];
	size_t n = 0;
	struct member *m = sorted_members(obj, small, TS_ARRAY_SIZE(small), &n);
	put_char(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			put_char(b, ',');
		put_string(b, m[i].key, strlen(m[i].key));
		put_char(b, ':');
		size_t start = b->len;
		put_value(b, m[i].value, NULL);
		for (size_t k = 0; cap && k < cap->n; k++)
			if (strcmp(cap->names[k], m[i].key) == 0)
				cap->out[k] = (struct model_span){start, b->len - start};
	}
	put_char(b, '}');
	if (m != small)
		free(m);
}

static void put_value(struct ts_buf *b, const json_t *v, const struct model_capture *cap)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		put_object(b, v, cap);
		break;
	case JSON_ARRAY: {
		put_char(b, '[');
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e) {
			if (i)
				put_char(b, ',');
			put_value(b, e, NULL);
		}
		put_char(b, ']');
		break;
	}
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_integer(b, json_integer_value(v));
		break;
	case JSON_REAL: {
		/* jansson's own formatting of a double (precision, exponent and
		 * the ".0" it adds): rare in a model, so asked of it */
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!s)
			abort(); /* only on out-of-memory */
		ts_buf_puts(b, s);
		free(s);
		break;
	}
	case JSON_TRUE:
		put(b, "true", 4);
		break;
	case JSON_FALSE:
		put(b, "false", 5);
		break;
	case JSON_NULL:
		put(b, "null", 4);
		break;
	}
}

/* The members of each element stored in a column of their own
 * (model_store.c), by element array of the document. */
static const char *const component_cols[] = {"tags", "properties", "code"};
static const char *const props_col[] = {"properties"};

void model_canon_build(const json_t *model, struct model_canon *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct ts_buf b = {0};
	ts_buf_append(&b, "", 0);
	struct member small[32];
	size_t n = 0;
	if (!json_is_object(model)) {
		put_value(&b, model, NULL);
		goto done;
	}
	struct member *m = sorted_members(model, small, TS_ARRAY_SIZE(small), &n);
	put_char(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			put_char(&b, ',');
		put_string(&b, m[i].key, strlen(m[i].key));
		put_char(&b, ':');
		const char *const *names = NULL;
		size_t n_names = 0;
		struct model_span **spans = NULL;
		size_t *n_elems = NULL;
		if (strcmp(m[i].key, "components") == 0) {
			names = component_cols;
			n_names = TS_ARRAY_SIZE(component_cols);
			spans = &ret->components;
			n_elems = &ret->n_components;
		} else if (strcmp(m[i].key, "flows") == 0) {
			names = props_col;
			n_names = 1;
			spans = &ret->flows;
			n_elems = &ret->n_flows;
		} else if (strcmp(m[i].key, "data_assets") == 0) {
			names = props_col;
			n_names = 1;
			spans = &ret->assets;
			n_elems = &ret->n_assets;
		}
		if (!names || !json_is_array(m[i].value)) {
			put_value(&b, m[i].value, NULL);
			continue;
		}
		size_t ne = json_array_size(m[i].value);
		*spans = ts_calloc(ne * n_names + 1, sizeof(**spans));
		*n_elems = ne;
		put_char(&b, '[');
		size_t k;
		json_t *e;
		json_array_foreach (m[i].value, k, e) {
			if (k)
				put_char(&b, ',');
			struct model_capture cap = {names, n_names, *spans + k * n_names};
			put_value(&b, e, json_is_object(e) ? &cap : NULL);
		}
		put_char(&b, ']');
	}
	put_char(&b, '}');
	if (m != small)
		free(m);
done:
	ts_buf_append(&b, "", 0); /* the NUL */
	ret->len = b.len;
	ret->text = ts_buf_steal(&b);
	ts_sha256_hex(ret->text, ret->len, ret->hash);
}

void model_canon_free(struct model_canon *c)
{
	if (!c)
		return;
	free(c->text);
	free(c->components);
	free(c->flows);
	free(c->assets);
	memset(c, 0, sizeof(*c));
}

char *model_canonical_dump(const json_t *model, char hash[65])
{
	struct model_canon c;
	model_canon_build(model, &c);
	char *text = c.text;
	if (hash)
		memcpy(hash, c.hash, 65);
	c.text = NULL;
	model_canon_free(&c);
	return text;
}
