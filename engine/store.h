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
	STORE_MIGRATE = 1 << 0,  /* apply pending migrations at open */
	STORE_READONLY = 1 << 1, /* open read-only; never migrates */
	STORE_NO_CREATE = 1 << 2, /* fail with EX_NOINPUT when the file does not exist */
	STORE_ANY_VERSION = 1 << 3 /* accept an out-of-date schema (for `db migrate`) */
};

struct store;

/* Opens (creating unless STORE_NO_CREATE) the database at path with WAL,
 * synchronous=NORMAL, foreign_keys=ON, a busy timeout, defensive mode and no
 * double-quoted string literals. Refuses a file that is not a threatsync
 * database or is corrupt (EX_DATAERR), or whose schema is newer than this
 * binary (EX_SOFTWARE, naming both versions). Without STORE_MIGRATE an out-of-date schema is an
 * error (EX_TEMPFAIL) naming `threatsync db migrate`.
 * *ret_store is new; free with store_close. */
int store_open(const char *path, int flags, struct store **ret_store, struct ts_err *err);

/* Finalizes every cached statement, runs PRAGMA optimize, closes. NULL is a no-op. */
void store_close(struct store *s);

/* The handle, borrowed: for code that needs sqlite3_* directly. */
sqlite3 *store_db(struct store *s);
const char *store_path(const struct store *s);

/* Schema versions: what the file has, what this binary knows. */
int store_schema_version(struct store *s);
int store_latest_version(void);

/* Applies migrations up to target (store_latest_version() for all), each in its
 * own BEGIN IMMEDIATE transaction with the user_version bump inside.
 * *ret_applied (may be NULL) receives the number applied. */
int store_migrate(struct store *s, int target, int *ret_applied, struct ts_err *err);

/* Returns a prepared statement for sql, prepared on first use and cached for
 * the life of the store; it is reset and its bindings cleared before it is
 * returned. Borrowed: do not finalize. sql must be a string literal or
 * otherwise outlive the store (the cache keys on the pointer). NULL on a
 * prepare error (message via store_errmsg). */
sqlite3_stmt *store_prepare(struct store *s, const char *sql);

/* Transactions. store_begin uses BEGIN IMMEDIATE. Nesting is not supported.
 * They return 0 or a negative errno-style code. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s); /* safe to call when no transaction is open */

/* The one funnel for SQLite errors: fills err with
 * "database PATH: <what>: <sqlite message>" (EX_SOFTWARE, or EX_TEMPFAIL when
 * busy, EX_IOERR for I/O) and returns a negative errno-style code. */
int store_fail(struct store *s, const char *what, struct ts_err *err);

/* Copies the live database to dest with the SQLite online backup API, in steps,
 * safe while another process writes. dest is replaced atomically (written to a
 * temporary file beside it, then renamed). */
int store_backup(struct store *s, const char *dest, struct ts_err *err);

#endif
