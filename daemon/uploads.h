/* SPDX-License-Identifier: Apache-2.0 */
/* Scan reports waiting for ingestion: the scan_uploads table (queued,
 * running, done, failed), one ingestion at a time on a libuv worker thread
 * with its own database connection, so the loop only hands work over and
 * records the outcome; the spool directory (SPOOL/SLUG/), watched with
 * uv_fs_event and rescanned periodically. Uploads of the HTTP API
 * (daemon/api.c) enter the same queue. */
#ifndef TS_DAEMON_UPLOADS_H
#define TS_DAEMON_UPLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

struct config;
struct daemon;
struct uploads;

/* How often the spool is read again whatever the watches say, ms. */
#define UPLOADS_SPOOL_RESCAN_MS (30 * 1000)
/* Spool files handled per directory read (the rest wait for the next). */
#define UPLOADS_SPOOL_BATCH 256

/* Prepares the upload directory (beside the database: DBDIR/uploads), turns
 * uploads left queued or running by a previous process into queued ones
 * (failed, with the reason, when their file is gone), creates SPOOL/SLUG/
 * with done/ and failed/ for every configured project and watches them, and
 * starts the first queued ingestion. d (borrowed) outlives the uploads.
 * *ret_u is new; stop with uploads_close. */
int uploads_start(struct daemon *d, struct uploads **ret_u, struct ts_err *err);

/* The directory where the API writes the bodies it receives; NULL when
 * uploads are off (an in-memory database). Borrowed. */
const char *uploads_dir(const struct uploads *u);

/* A row was queued (committed): starts it unless an ingestion runs. */
void uploads_kick(struct uploads *u);

/* A reload replaced old: when the running ingestion reads it, the uploads
 * take it and free it once the ingestion ends (true); otherwise the caller
 * frees it (false). */
bool uploads_retire_config(struct uploads *u, struct config *old);

/* Uploads queued and not yet started, and whether one is running. */
size_t uploads_queued(const struct uploads *u);
bool uploads_running(const struct uploads *u);

/* Records an upload as queued (committed at once: the caller holds no
 * transaction on s); source "api" or "spool", format a findings format name
 * or NULL (auto), scope and tool_version may be NULL. Returns the new id or a
 * negative code with err filled. Call uploads_kick after it. */
int64_t uploads_insert(struct store *s, int64_t project_id, const char *source, const char *name,
                       const char *path, int64_t size, const char *format, const char *scope,
                       const char *tool_version, struct ts_err *err);

/* The row id of project slug, 0 when the database has no such project, or a
 * negative code with err filled. */
int64_t uploads_project_id(struct store *s, const char *slug, struct ts_err *err);

/* No ingestion starts after this (the running one finishes and records its
 * outcome; queued ones wait in the table for the next start). NULL is a no-op. */
void uploads_quiesce(struct uploads *u);

/* Closes the watches and timers; the uploads free themselves once they are
 * closed and the running ingestion, if any, has ended. NULL is a no-op. */
void uploads_close(struct uploads *u);

#endif
