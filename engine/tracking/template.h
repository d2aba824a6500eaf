/* SPDX-License-Identifier: Apache-2.0 */
/* Small text templates over a task ("CWE-{{cwe}}", "{{severity}}") for the
 * custom fields a connector sets: a fixed set of placeholders, no nesting, no
 * recursion, bounded output. */
#ifndef TS_ENGINE_TEMPLATE_H
#define TS_ENGINE_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "engine/util.h"

/* Longest template source and longest rendered value, in bytes. */
#define TEMPLATE_SOURCE_MAX 1024
#define TEMPLATE_OUTPUT_MAX 4096

/* The task a template is rendered for. Everything borrowed; any may be NULL. */
struct template_task {
	const char *severity;    /* {{severity}} */
	int priority;            /* {{priority}}: 1..4, 0 renders empty */
	const json_t *body;      /* countermeasures.body: threats[].cwe, component */
	const json_t *cwe_names; /* {"79": "Improper ..."}, for {{cwe_names}} */
	const char *due_date;    /* {{due_date}} */
	const char *project;     /* {{project}}: the project slug */
	const char *task;        /* {{task}}: the countermeasure uid */
	int model_version;       /* {{model_version}}: 0 renders empty */
};

struct template;

/* Compiles src. Placeholders are "{{name}}" with optional spaces inside the
 * braces; names: severity, priority, cwe (comma-separated CWE ids, no
 * prefix), cwe_names (comma-separated names, "CWE-N" where no name is
 * known), component (its name, else its id), component_type, due_date,
 * project, task, model_version. An unknown name, an unterminated "{{" or a
 * source longer than TEMPLATE_SOURCE_MAX is TS_E_CONFIG with a message naming
 * the placeholder and its byte offset (no file: the caller adds it). *ret is
 * new (template_free). */
int template_compile(const char *src, struct template **ret, struct ts_err *err);

void template_free(struct template *t); /* NULL is a no-op */

/* Renders t for task: a new string (caller frees) of at most
 * TEMPLATE_OUTPUT_MAX bytes, cut on a UTF-8 character boundary. Placeholder
 * values are inserted verbatim and never expanded again. */
char *template_render(const struct template *t, const struct template_task *task);

/* The placeholder names, comma-separated, for messages. Static. */
const char *template_names(void);

#endif
