/* SPDX-License-Identifier: Apache-2.0 */
/* What threatsync knows of the tracker's side: ticket rows (recorded, found,
 * refreshed) and the poll cursors of each tracker project. */
#ifndef TS_ENGINE_TICKET_H
#define TS_ENGINE_TICKET_H

#include <stdint.h>

#include "engine/store/store.h"
#include "engine/tracking/outbox.h"
#include "engine/util.h"

/* Records the ticket (connector, marker) of project_id: the one ticket upsert.
 * Inserted when new; otherwise each remote field r gives (key, id, url,
 * status, status_category, updated) replaces the stored one and each field r
 * leaves NULL is kept, so a partial answer never erases what is known.
 * content_hash is the hash of the text the ticket is known to carry now and
 * is always replaced: NULL means unknown (an adopted ticket, whose text the
 * next update rewrites). *ret_id (may be NULL) receives the ticket row id. */
int ticket_upsert(struct store *s, int64_t project_id, const char *connector, const char *marker,
                  const struct outbox_remote *r, const char *content_hash, const char *now,
                  int64_t *ret_id, struct ts_err *err);

/* Points task countermeasure_id at ticket row ticket_id, or at none when
 * ticket_id is 0 (the ticket vanished). The one writer of a single task's
 * ticket link; a group's members are linked by grouping_link_members. */
int ticket_link_task(struct store *s, int64_t countermeasure_id, int64_t ticket_id,
                     struct ts_err *err);

/* Finds our ticket for a remote state, by marker, else by key: *ret_id (0 when
 * the ticket is not ours) and *ret_updated (may be NULL), the stored
 * remote_updated (new; NULL when none). */
int ticket_find(struct store *s, const struct outbox_remote *r, int64_t *ret_id, char **ret_updated,
                struct ts_err *err);

/* Stores the tracker's current state of ticket id: status and category as r
 * says (NULL clears them: the tracker reported none), remote_updated when r
 * gives one, and key, id and url where none was known. */
int ticket_remote_store(struct store *s, int64_t id, const struct outbox_remote *r, const char *now,
                        struct ts_err *err);

/* After threatsync's own write to ticket id: content_hash and seen's status,
 * category and update time, each when given (NULL keeps the stored one), so
 * the next poll does not take the write for a change. */
int ticket_seen(struct store *s, int64_t id, const char *content_hash,
                const struct outbox_remote *seen, const char *now, struct ts_err *err);

/* Poll cursors per (connector, scope = tracker project). get: *ret_cursor is
 * new (NULL when none). */
int ticket_cursor_get(struct store *s, const char *connector, const char *scope, char **ret_cursor,
                      struct ts_err *err);
int ticket_cursor_set(struct store *s, const char *connector, const char *scope, const char *cursor,
                      const char *now, struct ts_err *err);

#endif
