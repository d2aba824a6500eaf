/* SPDX-License-Identifier: Apache-2.0 */
/* A connector's field mapping and workflow: priority names, custom fields
 * whose values are task templates, fields that transitions require, and
 * remote statuses/resolutions mapped to task statuses. Parsed from the
 * connector's configuration group (engine/config.c calls fieldmap_parse). */
#ifndef TS_ENGINE_FIELDMAP_H
#define TS_ENGINE_FIELDMAP_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/tracking/template.h"

/* How a custom field's rendered text is sent (Jira field shapes). */
enum fieldmap_kind {
	FIELDMAP_STRING, /* "text" */
	FIELDMAP_NUMBER, /* 42 (text that is not a number is sent as a string, and the
	                  * tracker's refusal is kept as the operation's error) */
	FIELDMAP_OPTION, /* {"value": "text"} (select lists) */
	FIELDMAP_ARRAY,  /* ["a", "b"]: the text split on commas, items trimmed */
};

struct fieldmap_custom {
	char *field;            /* "customfield_10042" */
	char *source;           /* the template as configured */
	struct template *value; /* compiled */
	enum fieldmap_kind kind;
	bool owned; /* true: threatsync owns it and also sets it on update; false:
	             * set on create only, then left to humans */
	int line;
};

struct fieldmap_transition {
	char *to;    /* the status the transition leads to (case-insensitive) */
	char *field; /* "resolution" */
	char *value; /* "Done" */
	int line;
};

struct fieldmap_status {
	char *status;     /* remote status name, or NULL (any) */
	char *resolution; /* remote resolution name, or NULL (any) */
	const char *to;   /* task status: todo | in_progress | done | risk_accepted |
	                   * not_applicable (static string) */
	int line;
};

struct fieldmap {
	char *priority[4]; /* names for priority 1..4; all NULL: the built-in table */
	struct fieldmap_custom *custom;
	size_t n_custom;
	struct fieldmap_transition *transitions;
	size_t n_transitions;
	struct fieldmap_status *statuses; /* tried in order, first match wins
	                                   * (task_status_map applies them) */
	size_t n_statuses;
};

/* Called for each problem found: s is the setting it is about (for its
 * line), msg the text without file or line. */
typedef void (*fieldmap_problem_cb)(void *ud, const config_setting_t *s, const char *msg);

/* The configuration keys fieldmap_parse handles. */
bool fieldmap_key(const char *name);

/* Parses setting s (named priority_map, custom_fields, transition_fields or
 * status_map) into *fm, creating it when NULL. Every problem goes to
 * problem_cb; returns the number of problems (0: fine). */
int fieldmap_parse(struct fieldmap **fm, const config_setting_t *s, fieldmap_problem_cb problem_cb,
                   void *ud);

void fieldmap_free(struct fieldmap *fm); /* NULL is a no-op */

/* The tracker's name of priority 1..4: the configured priority_map, else
 * Highest, High, Medium, Low. NULL for another number. Borrowed/static. */
const char *fieldmap_priority(const struct fieldmap *fm, int priority);

#endif
