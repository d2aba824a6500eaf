/* SPDX-License-Identifier: Apache-2.0 */
/* JSONPath-like locations for messages about JSON documents. */
#include "engine/jsonpath.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void append(struct jsonpath *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct jsonpath *p, const char *fmt, ...)
{
	if (p->len >= sizeof(p->buf) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(p->buf) - p->len) {
		/* Mark the truncation so a reader does not take it for the real path. */
		p->len = sizeof(p->buf) - 1;
		memcpy(p->buf + p->len - 3, "...", 3);
		return;
	}
	p->len += (size_t)n;
}

void jsonpath_init(struct jsonpath *p, const char *root)
{
	p->len = 0;
	p->buf[0] = '\0';
	append(p, "%s", root ? root : "$");
}

static bool plain_key(const char *key)
{
	if (!*key)
		return false;
	for (const char *c = key; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
		          (c != key && *c >= '0' && *c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

size_t jsonpath_key(struct jsonpath *p, const char *key)
{
	size_t old = p->len;
	if (plain_key(key)) {
		append(p, ".%s", key);
		return old;
	}
	append(p, "[\"");
	for (const char *c = key; *c && p->len < sizeof(p->buf) - 1; c++) {
		if (*c == '"' || *c == '\\')
			append(p, "\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			append(p, "\\u%04x", (unsigned)(unsigned char)*c);
		else
			append(p, "%c", *c);
	}
	append(p, "\"]");
	return old;
}

size_t jsonpath_index(struct jsonpath *p, size_t index)
{
	size_t old = p->len;
	append(p, "[%zu]", index);
	return old;
}

void jsonpath_pop(struct jsonpath *p, size_t len)
{
	if (len < p->len) {
		p->len = len;
		p->buf[len] = '\0';
	}
}

const char *jsonpath_str(const struct jsonpath *p)
{
	return p->buf;
}
