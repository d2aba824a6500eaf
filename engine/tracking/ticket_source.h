/* SPDX-License-Identifier: Apache-2.0 */
/* The source of a task's ticket, read from the stored countermeasure: title,
 * body, priority, severity, due date, model version, marker and the hash of
 * that text. The sync pass lends its fields to the connectors' struct
 * ticket_spec. */
#ifndef TS_ENGINE_TICKET_SOURCE_H
#define TS_ENGINE_TICKET_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/tracking/marker.h"
#include "engine/util.h"

/* Longest summary written, in bytes (Jira's limit). */
#define TICKET_SUMMARY_MAX 255

/* A task as its ticket is written from it. Every pointer is owned by the
 * struct, except that a body loaded through a ticket_texts cache may share
 * parsed values with it (read-only). */
struct ticket_source {
	int64_t countermeasure_id;
	char *project_slug;
	char *cm_uid;             /* "C-OUTPUT-ENCODING@web" */
	char *summary;            /* the title on one line, at most TICKET_SUMMARY_MAX bytes,
	                           * cut on a UTF-8 boundary */
	json_t *body;             /* countermeasures.body (an object) */
	int priority;             /* 1..4 */
	char *severity;           /* highest severity of its threats, "medium" when none */
	char *due_date;           /* "YYYY-MM-DD" or NULL */
	char *content_hash;       /* countermeasures.content_hash */
	char *link_back;          /* "threatsync task UID of project SLUG" */
	int model_version;        /* the last model version that generated it */
	bool active;              /* state = 'active' */
	char marker[MARKER_SIZE]; /* marker_make(slug, uid) */
};

/* Loads the task countermeasure_id into a new ticket_source (free with
 * ticket_source_free). TS_E_NOTFOUND when the row does not exist, store errors
 * otherwise. Its body is the library text (countermeasure_texts) with the
 * instance's own fields merged over it (RFC 7396, as SQLite's json_patch). */
int ticket_source_load(struct store *s, int64_t countermeasure_id, struct ticket_source **ret,
                       struct ts_err *err);

/* Parsed library texts by content hash, for loading many tasks: the text
 * of a library entry is parsed once, not once per task (a push of 10,000
 * tasks has a few hundred texts). Texts are content-addressed, so entries
 * never go stale; the cache is bounded (TICKET_TEXTS_MAX entries, then
 * emptied). Tasks loaded through it share its parsed values (read-only). */
#define TICKET_TEXTS_MAX 4096
struct ticket_texts;
struct ticket_texts *ticket_texts_new(void);
void ticket_texts_free(struct ticket_texts *c); /* NULL is a no-op */
/* ticket_source_load with a cache (NULL: none). */
int ticket_source_load_cached(struct store *s, struct ticket_texts *texts,
                              int64_t countermeasure_id, struct ticket_source **ret,
                              struct ts_err *err);

void ticket_source_free(struct ticket_source *t); /* NULL is a no-op */

/* Copies s into a new string of at most max bytes on one line (CR, LF and tabs
 * become spaces), cut on a UTF-8 character boundary. */
char *ticket_summary(const char *s, size_t max);

#endif
