/* SPDX-License-Identifier: Apache-2.0 */
/* The wording of the notices ingestion sends to a tracker (a task reopened
 * because a scanner still finds its weakness, a finding on an open task, a
 * task verified): small templates with a fixed set of placeholders, checked
 * when the configuration is loaded. */
#ifndef TS_ENGINE_NOTICE_H
#define TS_ENGINE_NOTICE_H

#include <stddef.h>

#include "engine/util.h"

#define NOTICE_SOURCE_MAX 2048 /* bytes of a template */
#define NOTICE_OUTPUT_MAX 8192 /* bytes of a rendered notice */

/* The values of the placeholders; any may be NULL (renders empty). */
struct notice_values {
	const char *tool;       /* {{tool}} */
	const char *rule;       /* {{rule}} */
	const char *cwe;        /* {{cwe}}: "CWE-89, CWE-564" */
	const char *location;   /* {{location}}: "src/db.c:42" or "GET https://..." */
	const char *first_seen; /* {{first_seen}} */
	const char *date;       /* {{date}}: the day of the scan, YYYY-MM-DD */
	const char *severity;   /* {{severity}} */
	const char *message;    /* {{message}}: the finding's first line */
	const char *task;       /* {{task}}: the task's title */
};

/* NULL when src is a valid notice template, else why not (static text with
 * the placeholder: "unknown placeholder {{x}}; known: ..."). */
const char *notice_check(const char *src, char *why, size_t why_len);
/* Renders src (checked) with v: a new string of at most NOTICE_OUTPUT_MAX
 * bytes, values inserted verbatim. */
char *notice_render(const char *src, const struct notice_values *v);

#endif
