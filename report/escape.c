/* SPDX-License-Identifier: Apache-2.0 */
/* Escaping of text for HTML and SVG, and the check of URLs before linking. */
#include <string.h>
#include <strings.h>

#include "report/escape.h"

void html_escape(struct ts_buf *b, const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			break;
		}
		if (rep) {
			ts_buf_puts(b, rep);
			i++;
			continue;
		}
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
			ts_buf_puts(b, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		size_t len = ts_utf8_len((const unsigned char *)s + i, n - i);
		if (len == 0) {
			ts_buf_puts(b, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		ts_buf_append(b, s + i, len);
		i += len;
	}
}

bool html_url_linkable(const char *s)
{
	size_t skip;
	if (!s)
		return false;
	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return false;
	/* a host must follow the scheme */
	if (s[skip] == '\0' || s[skip] == '/' || s[skip] == '?' || s[skip] == '#')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* none of these belongs in a URL unencoded; refusing them keeps
		 * a link's text and attribute plain */
		if (*p <= 0x20 || *p >= 0x7F || strchr("\"'<>\\`", *p))
			return false;
	}
	return strlen(s) <= 2048;
}
