/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the model's readers (native, OTM, Threat Dragon): message
 * collection with paths, component type mapping, STRIDE letters and slugs. */
#include "engine/model/importer.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void msg_add(json_t *list, const char *file, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void msg_add(json_t *list, const char *file, const char *path, const char *fmt, va_list ap)
{
	struct ts_buf b = {0};
	char text[1024];
	vsnprintf(text, sizeof(text), fmt, ap);
	ts_buf_printf(&b, "%s: %s: %s", file, path ? path : "$", text);
	model_msg_utf8_fix(b.data);
	json_array_append_new(list, json_string(b.data));
	ts_buf_free(&b);
}

void model_msg_error(struct model_msgs *m, const char *path, const char *fmt, ...)
{
	if (json_array_size(m->errors) >= MODEL_MAX_ERRORS) {
		m->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	msg_add(m->errors, m->file, path, fmt, ap);
	va_end(ap);
}

void model_msg_warning(struct model_msgs *m, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_add(m->warnings, m->file, path, fmt, ap);
	va_end(ap);
}

/* Moves the collected errors into err, one per line. */
int model_msgs_fail(struct model_msgs *m, struct ts_err *err)
{
	struct ts_buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach (m->errors, i, e) {
		if (i)
			ts_buf_puts(&b, "\n");
		ts_buf_puts(&b, json_string_value(e));
	}
	if (m->dropped)
		ts_buf_printf(&b, "\n%s: %zu more errors not shown", m->file, m->dropped);
	ts_err_set(err, TS_E_INVALID, "%s", b.data ? b.data : "");
	ts_buf_free(&b);
	return -EINVAL;
}

const char *model_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

bool model_in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

const char *model_map_type(const struct model_typeinfo *ti, const char *format, const char *foreign)
{
	if (!ti || !foreign || !*foreign)
		return NULL;
	const char *type = ti->type_id ? ti->type_id(ti->ud, foreign) : NULL;
	if (!type && ti->map)
		type = ti->map(ti->ud, format, foreign);
	/* Handing back the caller's string would tie the result to its
	 * temporaries (a name slug freed before use). */
	assert(type != foreign);
	return type;
}

void model_imply_properties(const struct model_typeinfo *ti, const char *format,
                            const char *foreign, json_t *props)
{
	if (!ti || !ti->implied || !foreign || !*foreign || !json_is_object(props))
		return;
	json_t *implied = ti->implied(ti->ud, format, foreign);
	const char *k;
	json_t *v;
	json_object_foreach (implied, k, v) {
		if (!json_object_get(props, k))
			json_object_set(props, k, v);
	}
}

const char *model_type_kind(const struct model_typeinfo *ti, const char *type)
{
	if (ti && ti->kind)
		return ti->kind(ti->ud, type);
	return NULL;
}

char model_stride_letter(const char *category)
{
	static const struct {
		const char *name;
		char letter;
	} stride[] = {
	    {"spoofing", 'S'},
	    {"tampering", 'T'},
	    {"repudiation", 'R'},
	    {"information disclosure", 'I'},
	    {"information-disclosure", 'I'},
	    {"denial of service", 'D'},
	    {"denial-of-service", 'D'},
	    {"elevation of privilege", 'E'},
	    {"elevation-of-privilege", 'E'},
	};
	if (!category)
		return 0;
	for (size_t i = 0; i < TS_ARRAY_SIZE(stride); i++)
		if (strcasecmp(category, stride[i].name) == 0)
			return stride[i].letter;
	return 0;
}

char *model_slug(const char *s)
{
	size_t n = strlen(s);
	char *out = ts_malloc(n + 1);
	size_t j = 0;
	bool dash = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && j > 0)
				out[j++] = '-';
			dash = false;
			out[j++] = c;
		} else {
			dash = true;
		}
	}
	out[j] = '\0';
	return out;
}

const char *model_guess_generic(const char *foreign)
{
	static const char *const stores[] = {"database", "db",    "storage",   "bucket",
	                                     "queue",    "store", "datastore", NULL};
	static const char *const actors[] = {"user",    "users",  "actor",    "client",
	                                     "browser", "person", "customer", NULL};
	if (!foreign)
		return NULL;
	char *slug = model_slug(foreign);
	const char *r = NULL;
	char *save = NULL;
	for (char *w = strtok_r(slug, "-", &save); w && !r; w = strtok_r(NULL, "-", &save)) {
		size_t n = strlen(w);
		if (model_in_list(w, stores) || (n > 2 && strcmp(w + n - 2, "db") == 0))
			r = "generic_store";
		else if (model_in_list(w, actors))
			r = "generic_actor";
	}
	free(slug);
	return r;
}

void model_msg_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t left = s ? strlen(s) : 0;
	while (p && *p) {
		size_t n = ts_utf8_len(p, left);
		if (n == 0) {
			*p++ = '?';
			left--;
			continue;
		}
		p += n;
		left -= n;
	}
}
