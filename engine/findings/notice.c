/* SPDX-License-Identifier: Apache-2.0 */
/* Notice templates: checking at configuration load, rendering at ingest. */
#include "engine/findings/notice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest_internal.h"

const char notice_default_failed[] =
    "Reopened by threatsync: {{tool}} still finds {{rule}} ({{cwe}}) at {{location}}, "
    "first seen {{first_seen}}.";
const char notice_default_passed[] =
    "Verified by {{tool}} on {{date}}: no finding correlated with this task is open any more.";
const char notice_default_finding[] =
    "{{tool}} finds {{rule}} ({{cwe}}, {{severity}}) at {{location}}, first seen "
    "{{first_seen}}: {{message}}";

static const char *const names[] = {"tool", "rule",     "cwe",     "location", "first_seen",
                                    "date", "severity", "message", "task"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static const char *value_of(const struct notice_values *v, size_t i)
{
	const char *vals[N_NAMES] = {v->tool, v->rule,     v->cwe,     v->location, v->first_seen,
	                             v->date, v->severity, v->message, v->task};
	return vals[i];
}

/* The placeholder starting at s ("{{ name }}"): its index and length, or -1. */
static int placeholder(const char *s, size_t *ret_len, char *name, size_t name_len)
{
	const char *end = strstr(s + 2, "}}");
	if (!end)
		return -2;
	const char *a = s + 2, *b = end;
	while (a < b && *a == ' ')
		a++;
	while (b > a && b[-1] == ' ')
		b--;
	snprintf(name, name_len, "%.*s", (int)(b - a), a);
	*ret_len = (size_t)(end + 2 - s);
	for (size_t i = 0; i < N_NAMES; i++)
		if (strlen(names[i]) == (size_t)(b - a) &&
		    memcmp(names[i], a, (size_t)(b - a)) == 0)
			return (int)i;
	return -1;
}

const char *notice_check(const char *src, char *why, size_t why_len)
{
	if (strlen(src) > NOTICE_SOURCE_MAX) {
		snprintf(why, why_len, "longer than %d bytes", NOTICE_SOURCE_MAX);
		return why;
	}
	for (const char *p = strstr(src, "{{"); p; p = strstr(p, "{{")) {
		size_t len = 0;
		char name[64];
		int i = placeholder(p, &len, name, sizeof(name));
		if (i == -2) {
			snprintf(why, why_len, "unterminated \"{{\" at byte %zu",
			         (size_t)(p - src));
			return why;
		}
		if (i < 0) {
			snprintf(why, why_len,
			         "unknown placeholder {{%s}} at byte %zu; known: tool, rule, cwe, "
			         "location, first_seen, date, severity, message, task",
			         name, (size_t)(p - src));
			return why;
		}
		p += len;
	}
	return NULL;
}

char *notice_render(const char *src, const struct notice_values *v)
{
	struct ts_buf b = {0};
	const char *p = src;
	while (*p) {
		const char *q = strstr(p, "{{");
		if (!q) {
			ts_buf_puts(&b, p);
			break;
		}
		ts_buf_append(&b, p, (size_t)(q - p));
		size_t len = 0;
		char name[64];
		int i = placeholder(q, &len, name, sizeof(name));
		if (i == -2) {
			ts_buf_puts(&b, q);
			break;
		}
		if (i >= 0) {
			const char *val = value_of(v, (size_t)i);
			ts_buf_puts(&b, val ? val : "");
		} else {
			ts_buf_append(&b, q, len);
		}
		p = q + len;
	}
	ts_buf_puts(&b, "");
	if (b.len > NOTICE_OUTPUT_MAX) {
		size_t n = NOTICE_OUTPUT_MAX;
		while (n > 0 && ((unsigned char)b.data[n] & 0xC0) == 0x80)
			n--; /* cut on a character boundary */
		b.data[n] = '\0';
		b.len = n;
	}
	return ts_buf_steal(&b);
}
