/* SPDX-License-Identifier: Apache-2.0 */
/* WAL checkpoints off the loop thread: the daemon's connection reports each
 * commit's WAL size (sqlite3_wal_hook, which also turns SQLite's automatic
 * checkpoint off); past the mark a worker opens its own connection, runs a
 * PASSIVE checkpoint (it waits for no reader or writer) and closes it. */
#include "daemon/checkpoint.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "daemon/daemon.h"
#include "engine/log.h"

struct checkpointer {
	struct daemon *d;
	sqlite3 *db; /* the daemon's connection (borrowed), whose hook is ours */
	char *path;  /* of the database, for the worker's connection */
	uv_work_t work;
	bool working; /* a checkpoint is under way */
	bool closing; /* checkpointer_close ran: the work's end frees c */
	/* The worker's outcome, read on the loop thread after it. */
	int rc;
	int wal_frames, done;
	char msg[256];
};

static void work_cb(uv_work_t *w)
{
	struct checkpointer *c = w->data;
	sqlite3 *db = NULL;
	c->wal_frames = c->done = 0;
	c->msg[0] = '\0';
	c->rc = sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (c->rc == SQLITE_OK)
		c->rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		                                  &c->wal_frames, &c->done);
	if (c->rc != SQLITE_OK)
		snprintf(c->msg, sizeof(c->msg), "%s", db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
}

static void checkpointer_free(struct checkpointer *c)
{
	free(c->path);
	free(c);
}

static void after_cb(uv_work_t *w, int status)
{
	struct checkpointer *c = w->data;
	c->working = false;
	if (c->closing) {
		checkpointer_free(c);
		return;
	}
	if (status == 0 && c->rc == SQLITE_OK) {
		log_debug("wal checkpoint (worker) wal_frames=%d checkpointed=%d", c->wal_frames,
		          c->done);
		return;
	}
	/* SQLITE_BUSY: another process checkpoints or holds the database; the
	 * next commit past the mark tries again. Anything else: the automatic
	 * checkpoint on the daemon's connection takes over. */
	if (status == 0 && c->rc == SQLITE_BUSY)
		return;
	log_warning("wal checkpoint on a worker failed, the daemon's connection checkpoints "
	            "again: %s",
	            status < 0 ? uv_strerror(status) : c->msg);
	sqlite3_wal_autocheckpoint(c->db, CHECKPOINT_WAL_FRAMES);
}

/* After each commit of the daemon's connection, on the loop thread. */
static int wal_hook(void *ud, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = ud;
	(void)db;
	(void)schema;
	if (frames < CHECKPOINT_WAL_FRAMES || c->working || c->closing)
		return SQLITE_OK;
	c->work.data = c;
	if (uv_queue_work(&c->d->loop, &c->work, work_cb, after_cb) == 0)
		c->working = true;
	return SQLITE_OK;
}

struct checkpointer *checkpointer_start(struct daemon *d)
{
	sqlite3 *db = store_db(d->store);
	const char *path = sqlite3_db_filename(db, "main");
	if (!path || !*path)
		return NULL;
	struct checkpointer *c = ts_calloc(1, sizeof(*c));
	c->d = d;
	c->db = db;
	c->path = ts_strdup(path);
	sqlite3_wal_hook(db, wal_hook, c);
	return c;
}

void checkpointer_close(struct checkpointer *c)
{
	if (!c)
		return;
	/* The daemon's connection checkpoints on its own again (its final
	 * checkpoint at the stop is explicit anyway). */
	sqlite3_wal_autocheckpoint(c->db, CHECKPOINT_WAL_FRAMES);
	c->closing = true;
	if (!c->working)
		checkpointer_free(c);
}
