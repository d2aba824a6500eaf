/* SPDX-License-Identifier: Apache-2.0 */
/* A one-pass JSON reader for the documents threatsync reads most (models and
 * the library), answering exactly as json_loadb(JSON_REJECT_DUPLICATES)
 * does: whatever it is not sure to read as jansson would, it gives up on,
 * and jansson reads the document instead. */
#include "engine/jsonload.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

/* Deeper than this, jansson decides (its own limit is 2048). */
#define FAST_MAX_DEPTH 256
/* Longest number token read here; longer ones are left to jansson. */
#define FAST_MAX_NUMBER 64

struct reader {
	const char *p, *end;
	struct ts_buf scratch; /* a string being unescaped */
	int depth;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end &&
	       (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

/* A string at r->p (the opening quote): its bytes unescaped into *ret and
 * *ret_len, pointing into data when it has no escapes, else into scratch
 * (NUL-terminated either way only in scratch). False for what jansson
 * refuses (control characters, bad escapes or UTF-8) and for \u escapes. */
static bool read_string(struct reader *r, const char **ret, size_t *ret_len, bool *ret_copied)
{
	const char *s = ++r->p;
	bool ascii = true;
	const char *q = s;
	while (q < r->end) {
		unsigned char c = (unsigned char)*q;
		if (c == '"' || c == '\\' || c < 0x20)
			break;
		ascii = ascii && c < 0x80;
		q++;
	}
	if (q >= r->end || (unsigned char)*q < 0x20)
		return false;
	if (!ascii && !ts_utf8_valid(s, (size_t)(q - s)))
		return false;
	if (*q == '"') {
		*ret = s;
		*ret_len = (size_t)(q - s);
		*ret_copied = false;
		r->p = q + 1;
		return true;
	}
	/* escapes: copied piece by piece into scratch */
	r->scratch.len = 0;
	ts_buf_append(&r->scratch, s, (size_t)(q - s));
	for (;;) {
		if (q >= r->end)
			return false;
		unsigned char c = (unsigned char)*q;
		if (c == '"')
			break;
		if (c < 0x20)
			return false;
		if (c != '\\') {
			const char *run = q;
			bool plain = true;
			while (q < r->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) {
				plain = plain && (unsigned char)*q < 0x80;
				q++;
			}
			if (!plain && !ts_utf8_valid(run, (size_t)(q - run)))
				return false;
			ts_buf_append(&r->scratch, run, (size_t)(q - run));
			continue;
		}
		if (q + 1 >= r->end)
			return false;
		char e;
		switch (q[1]) {
		case '"':
		case '\\':
		case '/':
			e = q[1];
			break;
		case 'b':
			e = '\b';
			break;
		case 'f':
			e = '\f';
			break;
		case 'n':
			e = '\n';
			break;
		case 'r':
			e = '\r';
			break;
		case 't':
			e = '\t';
			break;
		default:
			return false; /* \u and anything invalid: jansson's */
		}
		ts_buf_append(&r->scratch, &e, 1);
		q += 2;
	}
	*ret = r->scratch.data;
	*ret_len = r->scratch.len;
	*ret_copied = true;
	r->p = q + 1;
	return true;
}

/* A number at r->p: JSON's grammar exactly; an integer of up to 18 digits
 * (jansson's strtoll cannot overflow there), or a real read with strtod as
 * jansson reads it (an overflow is jansson's error, so it is left to it). */
static json_t *read_number(struct reader *r)
{
	const char *s = r->p, *q = s;
	if (q < r->end && *q == '-')
		q++;
	const char *digits = q;
	if (q < r->end && *q == '0') {
		q++;
	} else {
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	size_t n_int = (size_t)(q - digits);
	if (n_int == 0 || (q < r->end && *q >= '0' && *q <= '9'))
		return NULL;
	bool real = false;
	if (q < r->end && *q == '.') {
		real = true;
		const char *f = ++q;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
		if (q == f)
			return NULL;
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		real = true;
		q++;
		if (q < r->end && (*q == '+' || *q == '-'))
			q++;
		const char *x = q;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
		if (q == x)
			return NULL;
	}
	if ((size_t)(q - s) > FAST_MAX_NUMBER)
		return NULL;
	r->p = q;
	if (!real) {
		if (n_int > 18)
			return NULL;
		json_int_t v = 0;
		for (const char *d = digits; d < q; d++)
			v = v * 10 + (*d - '0');
		return json_integer(*s == '-' ? -v : v);
	}
	char tok[FAST_MAX_NUMBER + 1];
	memcpy(tok, s, (size_t)(q - s));
	tok[q - s] = '\0';
	errno = 0;
	double d = strtod(tok, NULL);
	if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
		return NULL;
	return json_real(d);
}

static bool literal(struct reader *r, const char *word, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

static json_t *read_value(struct reader *r);

static json_t *read_object(struct reader *r)
{
	r->p++; /* '{' */
	json_t *obj = json_object();
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return obj;
	}
	for (;;) {
		skip_ws(r);
		if (r->p >= r->end || *r->p != '"')
			goto fail;
		const char *k;
		size_t klen;
		bool copied;
		if (!read_string(r, &k, &klen, &copied))
			goto fail;
		/* the key NUL-terminated, out of the way of the value's strings */
		char key[256];
		char *heap = NULL;
		const char *kcopy = key;
		if (klen < sizeof(key)) {
			memcpy(key, k, klen);
			key[klen] = '\0';
		} else {
			heap = ts_strndup(k, klen);
			kcopy = heap;
		}
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':') {
			free(heap);
			goto fail;
		}
		r->p++;
		json_t *v = read_value(r);
		if (!v) {
			free(heap);
			goto fail;
		}
		size_t before = json_object_size(obj);
		int rc = json_object_set_new_nocheck(obj, kcopy, v);
		free(heap);
		/* a key seen before replaced its value: jansson refuses it */
		if (rc < 0 || json_object_size(obj) == before)
			goto fail;
		skip_ws(r);
		if (r->p >= r->end)
			goto fail;
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p != '}')
			goto fail;
		r->p++;
		return obj;
	}
fail:
	json_decref(obj);
	return NULL;
}

static json_t *read_array(struct reader *r)
{
	r->p++; /* '[' */
	json_t *arr = json_array();
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return arr;
	}
	for (;;) {
		json_t *v = read_value(r);
		if (!v || json_array_append_new(arr, v) < 0)
			goto fail;
		skip_ws(r);
		if (r->p >= r->end)
			goto fail;
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p != ']')
			goto fail;
		r->p++;
		return arr;
	}
fail:
	json_decref(arr);
	return NULL;
}

static json_t *read_value(struct reader *r)
{
	skip_ws(r);
	if (r->p >= r->end)
		return NULL;
	switch (*r->p) {
	case '{':
	case '[': {
		if (++r->depth > FAST_MAX_DEPTH)
			return NULL;
		json_t *v = *r->p == '{' ? read_object(r) : read_array(r);
		r->depth--;
		return v;
	}
	case '"': {
		const char *s;
		size_t n;
		bool copied;
		if (!read_string(r, &s, &n, &copied))
			return NULL;
		return json_stringn_nocheck(s, n);
	}
	case 't':
		return literal(r, "true", 4) ? json_true() : NULL;
	case 'f':
		return literal(r, "false", 5) ? json_false() : NULL;
	case 'n':
		return literal(r, "null", 4) ? json_null() : NULL;
	default:
		return read_number(r);
	}
}

json_t *ts_json_loadb(const char *data, size_t len, json_error_t *err)
{
	struct reader r = {.p = data, .end = data + len};
	json_t *doc = NULL;
	skip_ws(&r);
	/* jansson reads an object or an array, then nothing but white space */
	if (r.p < r.end && (*r.p == '{' || *r.p == '[')) {
		doc = read_value(&r);
		skip_ws(&r);
		if (doc && r.p != r.end) {
			json_decref(doc);
			doc = NULL;
		}
	}
	ts_buf_free(&r.scratch);
	if (doc)
		return doc;
	return json_loadb(data, len, JSON_REJECT_DUPLICATES, err);
}
