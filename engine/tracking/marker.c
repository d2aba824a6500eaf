/* SPDX-License-Identifier: Apache-2.0 */
/* Making and recognising ticket idempotency markers. */
#include "engine/tracking/marker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

void marker_make(const char *slug, const char *key, char out[MARKER_SIZE])
{
	char *text = ts_asprintf("%s/%s", slug, key);
	char hex[65];
	ts_sha256_hex(text, strlen(text), hex);
	free(text);
	snprintf(out, MARKER_SIZE, MARKER_PREFIX "%.*s", MARKER_HEX_DIGITS, hex);
}

bool marker_valid(const char *s)
{
	const size_t plen = sizeof(MARKER_PREFIX) - 1;
	if (!s || strncmp(s, MARKER_PREFIX, plen) != 0)
		return false;
	const char *hex = s + plen;
	return strspn(hex, "0123456789abcdef") == MARKER_HEX_DIGITS &&
	       hex[MARKER_HEX_DIGITS] == '\0';
}
