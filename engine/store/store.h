/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite store: connection set-up, migrations, transactions, cached
 * prepared statements, online backup. */
#ifndef TS_ENGINE_STORE_H
#define TS_ENGINE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "engine/util.h"

/* PRAGMA application_id of a threatsync database ("TSYN"). */
#define STORE_APPLICATION_ID 0x5453594e

enum store_flags {
	STORE_MIGRATE = 1 << 0,    /* apply pending migrations at open */
	STORE_READONLY = 1 << 1,   /* open read-only; never migrates */
	STORE_NO_CREATE = 1 << 2,  /* fail with TS_E_NOTFOUND when the file does not exist */
	STORE_ANY_VERSION = 1 << 3, /* accept an out-of-date schema (for `db migrate`) */
	/* Run PRAGMA quick_check at open (files up to STORE_QUICK_CHECK_MAX_BYTES):
	 * `db migrate`, `backup` and the daemon's start-up do; other opens rely
	 * on SQLite reporting SQLITE_CORRUPT (TS_E_INVALID through store_fail) when
	 * a damaged page is read, so a command does not pay a full read of the
	 * database every time it starts. The header checks always run. */
	STORE_CHECK = 1 << 4
};

struct store;

/* Opens (creating unless STORE_NO_CREATE or STORE_READONLY) the database at
 * path with WAL, synchronous=NORMAL, foreign_keys=ON, a 5 s busy timeout,
 * defensive mode and no double-quoted string literals; a new file gets
 * PRAGMA application_id = STORE_APPLICATION_ID. Errors, all naming path:
 * - missing file with STORE_NO_CREATE or STORE_READONLY: TS_E_NOTFOUND;
 * - not an SQLite database, corrupt (header checks always, PRAGMA quick_check
 *   when the file is small), a foreign application_id, or a non-empty database
 *   without our application_id and tables: TS_E_INVALID;
 * - a schema newer than this binary: TS_E_INTERNAL, naming both versions (the
 *   binary is what needs fixing, by an upgrade);
 * - an older schema without STORE_MIGRATE or STORE_ANY_VERSION (and always
 *   with STORE_READONLY unless STORE_ANY_VERSION): TS_E_BUSY naming
 *   `threatsync db migrate`.
 * With STORE_MIGRATE pending migrations are applied (see store_migrate).
 * *ret_store is new (NULL on error); free with store_close. */
int store_open(const char *path, int flags, struct store **ret_store, struct ts_err *err);

/* Finalizes every cached statement, runs PRAGMA optimize, closes. NULL is a no-op. */
void store_close(struct store *s);

/* The handle, borrowed: for code that needs sqlite3_* directly. */
sqlite3 *store_db(struct store *s);
const char *store_path(const struct store *s);

/* Schema versions: what the file has (negative errno-style code on a read
 * error), what this binary knows. */
int store_schema_version(struct store *s);
int store_latest_version(void);

/* Applies migrations up to target (store_latest_version() for all), each in its
 * own BEGIN IMMEDIATE transaction with the user_version bump inside.
 * Foreign-key enforcement is off during a migration and checked before its
 * commit. A failing migration is rolled back, leaving the previous version,
 * and err reads "database PATH: migration NNNN_name.sql: <sqlite message>".
 * target below the current version applies nothing (no downgrades).
 * *ret_applied (may be NULL) receives the number applied. */
int store_migrate(struct store *s, int target, int *ret_applied, struct ts_err *err);

/* Returns a prepared statement for sql, prepared on first use and cached for
 * the life of the store; it is reset and its bindings cleared before it is
 * returned, so a caller must not ask for the same sql while still stepping it.
 * Borrowed: do not finalize. sql must be a string literal or otherwise
 * outlive the store (the cache keys on the pointer) and hold one statement.
 * NULL on a prepare error (message via store_errmsg or store_fail). */
sqlite3_stmt *store_prepare(struct store *s, const char *sql);

/* The message of the last error on s, borrowed until the next call on s. */
const char *store_errmsg(struct store *s);

/* Resets every cached statement still in the middle of its rows, ending the
 * read transaction such a statement keeps open (and with it the old WAL
 * snapshot). store_begin does this first; long-lived users (the daemon) call
 * it between units of work. */
void store_release(struct store *s);

/* Transactions. store_begin uses BEGIN IMMEDIATE (waiting up to the busy
 * timeout for another writer). Nesting is not supported. They return 0 or a
 * negative errno-style code; call store_fail for the message before
 * store_rollback, which replaces SQLite's last error. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s); /* safe to call when no transaction is open */

/* A unit of work that is atomic whether or not the caller holds a
 * transaction (a group commit): alone it is BEGIN IMMEDIATE ... COMMIT;
 * inside an open transaction it is a savepoint, so its failure undoes its
 * own writes only and the enclosing transaction goes on. store_unit_end
 * with rc 0 commits (or releases the savepoint) and returns 0 or the error,
 * the unit then still open; with rc < 0 it rolls the unit back and returns
 * rc. Call store_fail for a message before rolling back. */
bool store_in_transaction(struct store *s);
int store_unit_begin(struct store *s, bool *ret_nested);
int store_unit_end(struct store *s, bool nested, int rc);

/* The one funnel for SQLite errors: fills err (may be NULL) with
 * "database PATH: <what>: <sqlite message>" from the last error on s, with
 * code TS_E_BUSY (busy, locked), TS_E_IO (I/O, disk full), TS_E_INVALID
 * (corrupt, not a database, constraint violated) or TS_E_INTERNAL, and returns
 * -EBUSY, -EIO, -ENOSPC, -EBADMSG, -EEXIST (constraint) or -EINVAL. */
int store_fail(struct store *s, const char *what, struct ts_err *err);

/* Statement helpers, so no module keeps its own copy.
 * store_bind_text binds v (NULL: SQL NULL) as a copy (SQLITE_TRANSIENT);
 * store_bind_static binds it without a copy (SQLITE_STATIC): v must stay
 * unchanged until the statement is reset or its bindings cleared.
 * store_bind_id binds v, or NULL when v <= 0 (an absent row id).
 * store_col_text is the column's text, borrowed until the next step, reset or
 * finalize (copy what outlives it); NULL for SQL NULL.
 * store_col_dup is a new copy of it (NULL for SQL NULL).
 * store_step_done steps a statement that returns no row, resets it (bindings
 * kept), and on an error returns store_fail(s, what, err). */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_bind_static(sqlite3_stmt *st, int i, const char *v);
void store_bind_id(sqlite3_stmt *st, int i, int64_t v);
const char *store_col_text(sqlite3_stmt *st, int i);
char *store_col_dup(sqlite3_stmt *st, int i);
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what, struct ts_err *err);

/* PRAGMA wal_checkpoint(PASSIVE): copies what it can from the WAL into the
 * database without waiting for readers or writers, after ending the read
 * snapshots of s's own statements (store_release). *ret_log and *ret_done (may
 * be NULL) receive the WAL size and the frames checkpointed, in pages;
 * *ret_busy (may be NULL) whether another connection prevented a full
 * checkpoint. Returns 0 or store_fail's code with err filled. */
int store_wal_checkpoint(struct store *s, int *ret_log, int *ret_done, int *ret_busy,
                         struct ts_err *err);

/* Copies the live database to dest with the SQLite online backup API, in steps,
 * safe while another process writes (a copy restarted too often by concurrent
 * writes finishes in one step under a WAL read snapshot). dest is replaced
 * atomically: written to DEST.tmp-XXXXXX beside it (mode 0600), fsynced, then
 * renamed; the temporary file is removed on error. Must not be called inside a
 * transaction on s; dest must not be the database itself (TS_E_USAGE). */
int store_backup(struct store *s, const char *dest, struct ts_err *err);

#endif
