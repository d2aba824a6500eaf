/* SPDX-License-Identifier: Apache-2.0 */
/* What threatsync writes on a task's ticket, read from the stored
 * countermeasure: title, body, priority, severity, due date, model version,
 * marker and the hash of that text. */
#ifndef TS_ENGINE_TICKET_CONTENT_H
#define TS_ENGINE_TICKET_CONTENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/store.h"
#include "engine/util.h"

/* Longest summary written, in bytes (Jira's limit). */
#define TICKET_SUMMARY_MAX 255

struct ticket_task {
	int64_t countermeasure_id;
	char *project_slug;
	char *cm_uid;       /* "C-OUTPUT-ENCODING@web" */
	char *summary;      /* the title on one line, at most TICKET_SUMMARY_MAX bytes,
	                     * cut on a UTF-8 boundary */
	json_t *body;       /* countermeasures.body (an object) */
	int priority;       /* 1..4 */
	char *severity;     /* highest severity of its threats, "medium" when none */
	char *due_date;     /* "YYYY-MM-DD" or NULL */
	char *content_hash; /* countermeasures.content_hash */
	char *link_back;    /* "threatsync task UID of project SLUG" */
	int model_version;  /* the last model version that generated it */
	bool active;        /* state = 'active' */
	char marker[32];    /* gen_marker(slug, uid) */
};

/* Loads the task countermeasure_id into a new ticket_task (free with
 * ticket_task_free). EX_NOINPUT when the row does not exist, store errors
 * otherwise. */
int ticket_task_load(struct store *s, int64_t countermeasure_id, struct ticket_task **ret,
                     struct ts_err *err);

void ticket_task_free(struct ticket_task *t); /* NULL is a no-op */

/* Copies s into a new string of at most max bytes on one line (CR, LF and tabs
 * become spaces), cut on a UTF-8 character boundary. */
char *ticket_summary(const char *s, size_t max);

#endif
