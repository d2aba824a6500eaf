/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the documents threatsync reads most (models and the library) with
 * yajl's parser building the jansson tree directly, answering exactly as
 * json_loadb(JSON_REJECT_DUPLICATES) does: whatever it is not sure to read
 * as jansson would, it gives up on, and jansson reads the document instead
 * (which also gives jansson's own error for a broken one). */
#include "engine/jsonload.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "engine/util.h"

/* Deeper than this, jansson decides (its own limit is 2048). */
#define FAST_MAX_DEPTH 256
/* Longest number token read here; longer ones are left to jansson. */
#define FAST_MAX_NUMBER 64

struct builder {
	json_t *root;                   /* owned: the document, every value in it */
	json_t *open[FAST_MAX_DEPTH];   /* borrowed: the containers being filled */
	struct ts_buf key[FAST_MAX_DEPTH]; /* the member key pending in open[i] */
	int depth;
	yajl_handle h;
	size_t end; /* the offset just past the document's closing bracket */
};

/* Adds v (a new reference, taken also on failure) where the document is:
 * false gives up (a duplicate key, or a key jansson refuses). */
static bool add(struct builder *b, json_t *v)
{
	if (!v)
		return false;
	if (b->depth == 0) {
		if (b->root) {
			json_decref(v);
			return false;
		}
		b->root = v;
		return true;
	}
	json_t *top = b->open[b->depth - 1];
	if (json_is_array(top))
		return json_array_append_new(top, v) == 0;
	const struct ts_buf *k = &b->key[b->depth - 1];
	const char *key = k->data ? k->data : "";
	if (json_object_getn(top, key, k->len)) {
		json_decref(v);
		return false;
	}
	/* validates the key's UTF-8 as jansson does */
	return json_object_setn_new(top, key, k->len, v) == 0;
}

static bool open_container(struct builder *b, json_t *c)
{
	if (b->depth >= FAST_MAX_DEPTH) {
		json_decref(c);
		return false;
	}
	if (!add(b, c))
		return false;
	b->open[b->depth++] = c;
	return true;
}

static int on_null(void *ud)
{
	return add(ud, json_null());
}

static int on_boolean(void *ud, int v)
{
	return add(ud, json_boolean(v));
}

/* jansson's reading of a number token: an integer unless it has a fraction
 * or an exponent; integers past 18 digits and reals that overflow are left
 * to jansson (it refuses some of them). */
static int on_number(void *ud, const char *s, size_t n)
{
	if (n > FAST_MAX_NUMBER)
		return 0;
	char tok[FAST_MAX_NUMBER + 1];
	memcpy(tok, s, n);
	tok[n] = '\0';
	if (!strpbrk(tok, ".eE")) {
		size_t digits = n - (tok[0] == '-');
		if (digits > 18)
			return 0;
		return add(ud, json_integer(strtoll(tok, NULL, 10)));
	}
	errno = 0;
	double d = strtod(tok, NULL);
	if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
		return 0;
	return add(ud, json_real(d));
}

static int on_string(void *ud, const unsigned char *s, size_t n)
{
	/* json_stringn checks the UTF-8 as jansson's reader does */
	return add(ud, json_stringn((const char *)s, n));
}

static int on_start_map(void *ud)
{
	return open_container(ud, json_object());
}

static int on_map_key(void *ud, const unsigned char *s, size_t n)
{
	struct builder *b = ud;
	struct ts_buf *k = &b->key[b->depth - 1];
	k->len = 0;
	ts_buf_append(k, (const char *)s, n);
	return 1;
}

static int on_end(void *ud)
{
	struct builder *b = ud;
	/* yajl has consumed the bracket when it calls back */
	if (--b->depth == 0)
		b->end = yajl_get_bytes_consumed(b->h);
	return 1;
}

/* Whether data[from..len) is JSON white space alone: yajl takes an
 * unfinished token after the document (a lone quote) for the end of its
 * input, jansson refuses it. */
static bool only_space_after(const char *data, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
			return false;
	return true;
}

static int on_start_array(void *ud)
{
	return open_container(ud, json_array());
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* Whether data holds what yajl and jansson may read differently: a \u
 * escape (surrogates, NUL), or a vertical tab or form feed, which yajl takes
 * for white space and jansson refuses. */
static bool unusual(const char *data, size_t len)
{
	if (memchr(data, '\v', len) || memchr(data, '\f', len))
		return true;
	const char *p = data, *end = data + len;
	while ((p = memchr(p, '\\', (size_t)(end - p))) && p + 1 < end) {
		if (p[1] == 'u')
			return true;
		p += 2;
	}
	return false;
}

/* yajl's reading of data, or NULL to leave it to jansson. */
static json_t *read_with_yajl(const char *data, size_t len)
{
	if (unusual(data, len))
		return NULL;
	struct builder *b = ts_calloc(1, sizeof(*b));
	yajl_handle h = yajl_alloc(&callbacks, NULL, b);
	b->h = h;
	json_t *doc = NULL;
	if (h && yajl_parse(h, (const unsigned char *)data, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok && b->depth == 0 &&
	    (json_is_object(b->root) || json_is_array(b->root)) &&
	    only_space_after(data, len, b->end)) {
		doc = b->root;
		b->root = NULL;
	}
	if (h)
		yajl_free(h);
	json_decref(b->root);
	for (int i = 0; i < FAST_MAX_DEPTH; i++)
		ts_buf_free(&b->key[i]);
	free(b);
	return doc;
}

json_t *ts_json_loadb(const char *data, size_t len, json_error_t *err)
{
	json_t *doc = read_with_yajl(data, len);
	if (doc)
		return doc;
	return json_loadb(data, len, JSON_REJECT_DUPLICATES, err);
}
