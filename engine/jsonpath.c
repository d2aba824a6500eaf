/* SPDX-License-Identifier: Apache-2.0 */
/* JSONPath-like locations for messages about JSON documents. Validators push
 * a step for every member they visit, so a step costs a copy, not a printf. */
#include "engine/jsonpath.h"

#include <stdbool.h>
#include <string.h>

/* Appends n bytes of s; what does not fit is cut and marked "...". */
static void put(struct jsonpath *p, const char *s, size_t n)
{
	if (p->len >= sizeof(p->buf) - 1)
		return;
	size_t room = sizeof(p->buf) - p->len; /* with the NUL */
	if (n >= room) {
		/* Mark the truncation so a reader does not take it for the real path. */
		memcpy(p->buf + p->len, s, room - 1);
		p->len = sizeof(p->buf) - 1;
		memcpy(p->buf + p->len - 3, "...", 3);
		p->buf[p->len] = '\0';
		return;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

void jsonpath_init(struct jsonpath *p, const char *root)
{
	p->len = 0;
	p->buf[0] = '\0';
	if (!root)
		root = "$";
	put(p, root, strlen(root));
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
		put(p, ".", 1);
		put(p, key, strlen(key));
		return old;
	}
	put(p, "[\"", 2);
	static const char hex[] = "0123456789abcdef";
	for (const char *c = key; *c && p->len < sizeof(p->buf) - 1; c++) {
		unsigned char u = (unsigned char)*c;
		if (*c == '"' || *c == '\\') {
			char esc[2] = {'\\', *c};
			put(p, esc, 2);
		} else if (u < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
			put(p, esc, 6);
		} else {
			put(p, c, 1);
		}
	}
	put(p, "\"]", 2);
	return old;
}

size_t jsonpath_index(struct jsonpath *p, size_t index)
{
	size_t old = p->len;
	char digits[24];
	size_t n = sizeof(digits);
	digits[--n] = ']';
	do {
		digits[--n] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	digits[--n] = '[';
	put(p, digits + n, sizeof(digits) - n);
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
