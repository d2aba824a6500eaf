/* SPDX-License-Identifier: Apache-2.0 */
/* Builds JSONPath-like locations ("$.components[3].id") for error messages. */
#ifndef TS_ENGINE_JSONPATH_H
#define TS_ENGINE_JSONPATH_H

#include <stddef.h>

/* A path in a fixed buffer; long paths are truncated with "...". Push
 * functions return the previous length, to pass to jsonpath_pop. */
struct jsonpath {
	char buf[512];
	size_t len;
};

void jsonpath_init(struct jsonpath *p, const char *root); /* root NULL: "$" */
size_t jsonpath_key(struct jsonpath *p, const char *key); /* .key or ["key"] */
size_t jsonpath_index(struct jsonpath *p, size_t index);  /* [index] */
void jsonpath_pop(struct jsonpath *p, size_t len);
/* Borrowed, valid until the next change. */
const char *jsonpath_str(const struct jsonpath *p);

#endif
