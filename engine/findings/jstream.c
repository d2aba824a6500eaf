/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming JSON over yajl 2, building Jansson values: see jstream.h. */
#include "engine/findings/jstream.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "engine/findings/findings.h"
#include "engine/jsonpath.h"

#define JS_MAX_PATTERNS 8
#define JS_MAX_SEGS 16
#define JS_CHUNK (64 * 1024)
#define JS_VALUE_COST 16 /* bytes counted per value towards FINDINGS_ITEM_MAX */

struct js_pattern {
	char *segs[JS_MAX_SEGS]; /* NULL: "[*]", else a key */
	size_t n;
	jstream_cb cb;
	void *ud;
};

/* One open container. */
struct js_level {
	json_t
	    *container; /* borrowed from its parent (or the root / the item); NULL when skipping */
	bool is_array;
	size_t count; /* values started in it so far */
	char *key;    /* objects: the key of the value being read (owned) */
	size_t key_cap;
	uint32_t emit_mask; /* patterns whose segments match the path to this container */
	uint32_t skip_mask;
};

enum js_mode { JS_NORMAL, JS_ITEM, JS_SKIP };

struct jstream {
	char *name;
	struct js_pattern emit[JS_MAX_PATTERNS];
	size_t n_emit;
	struct js_pattern skip[JS_MAX_PATTERNS];
	size_t n_skip;

	struct js_level levels[FINDINGS_DEPTH_MAX];
	size_t depth;
	json_t *root;

	enum js_mode mode;
	size_t mode_depth; /* depth of the container that began the item or the skip */
	json_t *item;      /* the value being emitted (owned) */
	struct js_pattern *item_pattern;
	size_t item_bytes;

	uint64_t chunk_no;
	uint64_t last_token_chunk;
	int rc;
	struct ts_err *err;
	struct jsonpath path;
};

static void pattern_parse(struct js_pattern *p, const char *pattern)
{
	const char *s = pattern;
	if (*s == '$')
		s++;
	while (*s && p->n < JS_MAX_SEGS) {
		if (s[0] == '[' && s[1] == '*' && s[2] == ']') {
			p->segs[p->n++] = NULL;
			s += 3;
		} else if (*s == '.') {
			s++;
			size_t len = strcspn(s, ".[");
			p->segs[p->n++] = ts_strndup(s, len);
			s += len;
		} else {
			break; /* malformed patterns are programming errors; stop here */
		}
	}
}

struct jstream *jstream_new(const char *name)
{
	struct jstream *js = ts_calloc(1, sizeof(*js));
	js->name = ts_strdup(name ? name : "-");
	return js;
}

static void pattern_clear(struct js_pattern *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->segs[i]);
}

void jstream_free(struct jstream *js)
{
	if (!js)
		return;
	for (size_t i = 0; i < js->n_emit; i++)
		pattern_clear(&js->emit[i]);
	for (size_t i = 0; i < js->n_skip; i++)
		pattern_clear(&js->skip[i]);
	for (size_t i = 0; i < FINDINGS_DEPTH_MAX; i++)
		free(js->levels[i].key);
	json_decref(js->item);
	json_decref(js->root);
	free(js->name);
	free(js);
}

void jstream_emit(struct jstream *js, const char *pattern, jstream_cb cb, void *ud)
{
	if (js->n_emit >= JS_MAX_PATTERNS)
		abort();
	struct js_pattern *p = &js->emit[js->n_emit++];
	pattern_parse(p, pattern);
	p->cb = cb;
	p->ud = ud;
}

void jstream_skip(struct jstream *js, const char *pattern)
{
	if (js->n_skip >= JS_MAX_PATTERNS)
		abort();
	pattern_parse(&js->skip[js->n_skip++], pattern);
}

json_t *jstream_root(const struct jstream *js)
{
	return js->root;
}

const char *jstream_path(struct jstream *js)
{
	jsonpath_init(&js->path, NULL);
	for (size_t i = 0; i < js->depth; i++) {
		const struct js_level *l = &js->levels[i];
		if (l->is_array) {
			if (l->count > 0)
				jsonpath_index(&js->path, l->count - 1);
		} else if (l->key) {
			jsonpath_key(&js->path, l->key);
		}
	}
	return jsonpath_str(&js->path);
}

static int fail(struct jstream *js, int code, const char *msg)
{
	if (js->rc == 0) {
		js->rc = code;
		ts_err_set(js->err, code, "%s: %s: %s", js->name, jstream_path(js), msg);
	}
	return 0; /* cancels the yajl parse */
}

/* Does segment i of p accept the value being started in container l? */
static bool seg_matches(const struct js_pattern *p, size_t i, const struct js_level *l)
{
	if (i >= p->n)
		return false;
	if (!p->segs[i])
		return l->is_array;
	return !l->is_array && l->key && strcmp(p->segs[i], l->key) == 0;
}

/* The patterns (bit masks) that a value starting at the current depth keeps
 * matching (*emit, *skip) or matches completely (*full_emit, *full_skip). */
static void match_child(const struct jstream *js, uint32_t *emit, uint32_t *skip,
                        uint32_t *full_emit, uint32_t *full_skip)
{
	*emit = *skip = *full_emit = *full_skip = 0;
	size_t d = js->depth; /* segments in the value's path */
	const struct js_level *l = d ? &js->levels[d - 1] : NULL;
	for (size_t i = 0; i < js->n_emit; i++) {
		const struct js_pattern *p = &js->emit[i];
		if (l && (!(l->emit_mask & (1u << i)) || !seg_matches(p, d - 1, l)))
			continue;
		if (p->n == d)
			*full_emit |= 1u << i;
		else if (p->n > d)
			*emit |= 1u << i;
	}
	for (size_t i = 0; i < js->n_skip; i++) {
		const struct js_pattern *p = &js->skip[i];
		if (l && (!(l->skip_mask & (1u << i)) || !seg_matches(p, d - 1, l)))
			continue;
		if (p->n == d)
			*full_skip |= 1u << i;
		else if (p->n > d)
			*skip |= 1u << i;
	}
}

static int call_item(struct jstream *js, const struct js_pattern *p, json_t *item)
{
	if (!p->cb)
		return 1; /* read and dropped (jstream_emit with no callback) */
	size_t idx[FINDINGS_DEPTH_MAX];
	size_t n_idx = 0;
	/* The item's path: the levels above it. */
	size_t top = js->mode == JS_ITEM ? js->mode_depth : js->depth;
	for (size_t i = 0; i < top; i++)
		if (js->levels[i].is_array && js->levels[i].count > 0)
			idx[n_idx++] = js->levels[i].count - 1;
	size_t saved = js->depth;
	js->depth = top;
	const char *path = jstream_path(js);
	js->depth = saved;
	int rc = p->cb(p->ud, item, path, idx, n_idx, js->err);
	if (rc < 0) {
		js->rc = rc;
		return 0;
	}
	return 1;
}

/* Attaches a value started at the current depth to its container. Steals v
 * (Jansson frees it when it cannot be attached: then false, and v is gone). */
static bool attach(struct jstream *js, json_t *v)
{
	struct js_level *l = &js->levels[js->depth - 1];
	if (l->is_array)
		return json_array_append_new(l->container, v) == 0;
	return json_object_set_new(l->container, l->key ? l->key : "", v) == 0;
}

/* A value begins (v: a new scalar, or a new empty container when is_container).
 * Returns 1 to go on, 0 to stop (js->rc set). Steals v. */
static int value_begin(struct jstream *js, json_t *v, bool is_container, size_t cost)
{
	js->last_token_chunk = js->chunk_no;
	if (js->depth > 0) {
		struct js_level *l = &js->levels[js->depth - 1];
		if (l->is_array)
			l->count++;
	}
	if (js->mode == JS_SKIP) {
		json_decref(v);
		if (is_container) {
			if (js->depth >= FINDINGS_DEPTH_MAX)
				return fail(js, TS_E_INVALID, "nesting deeper than 64 levels");
			struct js_level *n = &js->levels[js->depth++];
			n->container = NULL;
			n->is_array = false;
			n->count = 0;
		}
		return 1;
	}
	if (js->mode == JS_ITEM) {
		js->item_bytes += cost + JS_VALUE_COST;
		if (js->item_bytes > FINDINGS_ITEM_MAX) {
			json_decref(v);
			return fail(js, TS_E_INVALID, "one result is larger than 8 MiB");
		}
		if (!attach(js, v))
			return fail(js, TS_E_INVALID, "a value that cannot be stored");
	} else {
		uint32_t emit, skip, full_emit, full_skip;
		match_child(js, &emit, &skip, &full_emit, &full_skip);
		if (full_emit) {
			const struct js_pattern *p = &js->emit[__builtin_ctz(full_emit)];
			if (!is_container) {
				int rc = call_item(js, p, v);
				json_decref(v);
				return rc;
			}
			js->mode = JS_ITEM;
			js->mode_depth = js->depth;
			js->item = v;
			js->item_pattern = (struct js_pattern *)p;
			js->item_bytes = cost + JS_VALUE_COST;
		} else if (full_skip) {
			json_decref(v);
			if (!is_container)
				return 1;
			js->mode = JS_SKIP;
			js->mode_depth = js->depth;
			v = NULL;
		} else if (js->depth == 0) {
			json_decref(js->root);
			js->root = v;
		} else if (!attach(js, v)) {
			return fail(js, TS_E_INVALID, "a value that cannot be stored");
		}
		if (is_container) {
			if (js->depth >= FINDINGS_DEPTH_MAX)
				return fail(js, TS_E_INVALID, "nesting deeper than 64 levels");
			struct js_level *n = &js->levels[js->depth++];
			n->container = v;
			n->is_array = json_is_array(v);
			n->count = 0;
			n->emit_mask = emit;
			n->skip_mask = skip;
			if (n->key)
				n->key[0] = '\0';
			return 1;
		}
		return 1;
	}
	if (is_container) {
		if (js->depth >= FINDINGS_DEPTH_MAX)
			return fail(js, TS_E_INVALID, "nesting deeper than 64 levels");
		struct js_level *n = &js->levels[js->depth++];
		n->container = v;
		n->is_array = json_is_array(v);
		n->count = 0;
		n->emit_mask = n->skip_mask = 0;
		if (n->key)
			n->key[0] = '\0';
	}
	return 1;
}

static int container_end(struct jstream *js)
{
	js->last_token_chunk = js->chunk_no;
	if (js->depth == 0)
		return fail(js, TS_E_INVALID, "unbalanced document");
	js->depth--;
	if (js->mode != JS_NORMAL && js->depth == js->mode_depth) {
		enum js_mode m = js->mode;
		js->mode = JS_NORMAL;
		if (m == JS_ITEM) {
			json_t *item = js->item;
			js->item = NULL;
			js->mode = JS_ITEM; /* call_item computes the path of the item */
			int rc = call_item(js, js->item_pattern, item);
			js->mode = JS_NORMAL;
			json_decref(item);
			return rc;
		}
	}
	return 1;
}

static int cb_null(void *ctx)
{
	return value_begin(ctx, json_null(), false, 0);
}

static int cb_boolean(void *ctx, int b)
{
	return value_begin(ctx, json_boolean(b), false, 0);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	struct jstream *js = ctx;
	char buf[128];
	if (len >= sizeof(buf))
		return fail(js, TS_E_INVALID, "a number longer than 127 characters");
	memcpy(buf, s, len);
	buf[len] = '\0';
	json_t *v;
	if (strpbrk(buf, ".eE")) {
		v = json_real(strtod(buf, NULL));
	} else {
		errno = 0;
		long long n = strtoll(buf, NULL, 10);
		v = errno == ERANGE ? json_real(strtod(buf, NULL)) : json_integer(n);
	}
	if (!v) /* json_real refuses infinity ("1e999") */
		return fail(js, TS_E_INVALID, "a number out of range");
	return value_begin(js, v, false, len);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jstream *js = ctx;
	if (len > FINDINGS_STRING_MAX)
		return fail(js, TS_E_INVALID, "a string longer than 1 MiB");
	if (!ts_utf8_valid((const char *)s, len))
		return fail(js, TS_E_INVALID, "a string that is not valid UTF-8");
	if (js->mode == JS_SKIP)
		return value_begin(js, NULL, false, 0);
	return value_begin(js, json_stringn_nocheck((const char *)s, len), false, len);
}

static int cb_start_map(void *ctx)
{
	struct jstream *js = ctx;
	return value_begin(js, js->mode == JS_SKIP ? NULL : json_object(), true, 0);
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jstream *js = ctx;
	js->last_token_chunk = js->chunk_no;
	if (len > FINDINGS_STRING_MAX)
		return fail(js, TS_E_INVALID, "an object key longer than 1 MiB");
	if (!ts_utf8_valid((const char *)s, len)) {
		/* the message names the object, not the key before this one */
		struct js_level *l = &js->levels[js->depth - 1];
		free(l->key);
		l->key = NULL;
		l->key_cap = 0;
		return fail(js, TS_E_INVALID, "an object key that is not valid UTF-8");
	}
	struct js_level *l = &js->levels[js->depth - 1];
	if (len + 1 > l->key_cap) {
		l->key_cap = len + 1 < 64 ? 64 : len + 1;
		l->key = ts_realloc(l->key, l->key_cap);
	}
	memcpy(l->key, s, len);
	l->key[len] = '\0';
	if (js->mode == JS_ITEM) {
		js->item_bytes += len;
		if (js->item_bytes > FINDINGS_ITEM_MAX)
			return fail(js, TS_E_INVALID, "one result is larger than 8 MiB");
	}
	return 1;
}

static int cb_end(void *ctx)
{
	return container_end(ctx);
}

static int cb_start_array(void *ctx)
{
	struct jstream *js = ctx;
	return value_begin(js, js->mode == JS_SKIP ? NULL : json_array(), true, 0);
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

/* Turns a yajl status into js->rc and err. offset: bytes before the chunk. */
static int parse_status(struct jstream *js, yajl_handle h, yajl_status st,
                        const unsigned char *chunk, size_t len, uint64_t offset, bool final)
{
	if (st == yajl_status_ok)
		return 0;
	if (st == yajl_status_client_canceled || js->rc)
		return js->rc ? js->rc : TS_E_INVALID;
	char msg[256];
	if (final && js->depth > 0) {
		snprintf(msg, sizeof(msg),
		         "the file ends inside the document at byte %llu "
		         "(truncated?)",
		         (unsigned long long)offset);
	} else {
		unsigned char *e = yajl_get_error(h, 0, chunk, len);
		const char *text = (const char *)e;
		/* yajl says "parse error: WHAT\n"; keep WHAT */
		if (text && strncmp(text, "parse error: ", 13) == 0)
			text += 13;
		if (text && strncmp(text, "lexical error: ", 15) == 0)
			text += 15;
		size_t n = text ? strcspn(text, "\n") : 0;
		snprintf(msg, sizeof(msg), "invalid JSON at byte %llu: %.*s",
		         (unsigned long long)(offset + (final ? 0 : yajl_get_bytes_consumed(h))),
		         (int)n, text ? text : "");
		if (e)
			yajl_free_error(h, e);
	}
	fail(js, TS_E_INVALID, msg);
	return js->rc;
}

static yajl_handle open_parser(struct jstream *js, struct ts_err *err)
{
	js->err = err;
	js->rc = 0;
	yajl_handle h = yajl_alloc(&callbacks, NULL, js);
	if (!h)
		abort();
	return h;
}

static int finish(struct jstream *js, yajl_handle h, uint64_t total)
{
	int rc;
	/* yajl hands over a number at the top level ("5") only when the input
	 * ends, so whether the input held a value is known after this */
	yajl_status st = total ? yajl_complete_parse(h) : yajl_status_ok;
	if (js->last_token_chunk == 0 && js->rc == 0) {
		fail(js, TS_E_INVALID, total ? "no JSON value in the file" : "the file is empty");
		rc = js->rc;
	} else {
		rc = parse_status(js, h, st, NULL, 0, total, true);
	}
	yajl_free(h);
	return rc;
}

int jstream_run_buffer(struct jstream *js, const char *data, size_t len, struct ts_err *err)
{
	yajl_handle h = open_parser(js, err);
	uint64_t off = 0;
	int rc = 0;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		off = 3; /* a UTF-8 byte order mark */
	while (off < len && rc == 0) {
		size_t n = len - off < JS_CHUNK ? len - off : JS_CHUNK;
		js->chunk_no++;
		rc = parse_status(js, h, yajl_parse(h, (const unsigned char *)data + off, n),
		                  (const unsigned char *)data + off, n, off, false);
		off += n;
		if (rc == 0 && (js->chunk_no - js->last_token_chunk) * JS_CHUNK >
		                   FINDINGS_STRING_MAX + JS_CHUNK) {
			fail(js, TS_E_INVALID, "a string or number longer than 1 MiB");
			rc = js->rc;
		}
	}
	if (rc) {
		yajl_free(h);
		return rc;
	}
	return finish(js, h, len);
}

int jstream_run(struct jstream *js, const char *path, struct ts_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ts_err_set(err, TS_E_IO, "%s: %s", js->name, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > FINDINGS_FILE_MAX) {
		close(fd);
		return ts_err_set(err, TS_E_INVALID, "%s: the file is larger than 4 GiB", js->name);
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return ts_err_set(err, TS_E_IO, "%s: is a directory", js->name);
	}
	yajl_handle h = open_parser(js, err);
	unsigned char *buf = ts_malloc(JS_CHUNK);
	uint64_t off = 0;
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, JS_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ts_err_set(err, TS_E_IO, "%s: %s", js->name, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		js->chunk_no++;
		size_t skip = 0;
		if (off == 0 && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
			skip = 3; /* a UTF-8 byte order mark */
		rc = parse_status(js, h, yajl_parse(h, buf + skip, (size_t)n - skip), buf + skip,
		                  (size_t)n - skip, off + skip, false);
		off += (uint64_t)n;
		if (rc)
			break;
		if ((js->chunk_no - js->last_token_chunk) * JS_CHUNK >
		    FINDINGS_STRING_MAX + JS_CHUNK) {
			fail(js, TS_E_INVALID, "a string or number longer than 1 MiB");
			rc = js->rc;
			break;
		}
	}
	free(buf);
	close(fd);
	if (rc) {
		yajl_free(h);
		return rc;
	}
	return finish(js, h, off);
}
