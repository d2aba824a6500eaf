/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite store: hardened connection, schema checks and migrations, the
 * statement cache, transactions, the error funnel and online backup. */
#include "engine/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/store/migrations.h"
#include "engine/store/store_internal.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_CACHE_INITIAL 64 /* slots; a power of two */
#define BACKUP_STEP_PAGES 256
#define BACKUP_MAX_RESTARTS 4 /* then copy the rest in one step */
#define BACKUP_BUSY_SLEEP_MS 10
#define BACKUP_DEADLINE_MS 60000 /* of waiting on busy/locked, in total */

struct stmt_slot {
	const char *sql; /* the key: the caller's pointer; NULL marks a free slot */
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	char *path;
	int flags;
	/* Open-addressing hash of cached statements, linear probing, never
	 * shrinks; entries are only removed by store_close. */
	struct stmt_slot *slots;
	size_t cap;
	size_t count;
	/* An error that did not come from SQLite (a store_prepare misuse), taken
	 * by the next store_fail/store_errmsg instead of sqlite3_errmsg. */
	int own_rc;
	char own_msg[256];
};

/* ---- errors ---- */

static int rc_to_exit(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TS_E_BUSY;
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return TS_E_IO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_CONSTRAINT:
		return TS_E_INVALID;
	default:
		return TS_E_INTERNAL;
	}
}

static int rc_to_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_IOERR:
		return -EIO;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EINVAL;
	}
}

int store_fail(struct store *s, const char *what, struct ts_err *err)
{
	int rc = SQLITE_MISUSE;
	const char *msg = "no database handle";
	if (s && s->own_rc) {
		rc = s->own_rc;
		msg = s->own_msg;
	} else if (s && s->db) {
		rc = sqlite3_extended_errcode(s->db);
		msg = sqlite3_errmsg(s->db);
	}
	ts_err_set(err, rc_to_exit(rc), "database %s: %s%s%s", s && s->path ? s->path : "(none)",
	           what ? what : "", what ? ": " : "", msg);
	if (s)
		s->own_rc = 0;
	int e = rc_to_errno(rc);
	return e ? e : -EINVAL;
}

const char *store_errmsg(struct store *s)
{
	if (!s)
		return "no database handle";
	if (s->own_rc)
		return s->own_msg;
	return s->db ? sqlite3_errmsg(s->db) : "no database handle";
}

/* ---- small helpers ---- */

#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
/* SQLite reads the hexadecimal literal of the pragma's value. */
#define SQL_SET_APPLICATION_ID "PRAGMA application_id = " STORE_STR(STORE_APPLICATION_ID)

/* Runs sql (one or more statements, no rows wanted) on s->db. */
static int exec_sql(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : rc_to_errno(rc) ? rc_to_errno(rc) : -EINVAL;
}

/* Runs a statement returning one integer (a pragma, a count) into *ret. A
 * one-off statement, not cached: these run at open and in migrations. */
static int query_int(struct store *s, const char *sql, long long *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc_to_errno(rc) ? rc_to_errno(rc) : -EINVAL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*ret = 0;
		rc = SQLITE_OK;
	}
	/* finalize keeps the step's error message when the step failed */
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : rc_to_errno(rc) ? rc_to_errno(rc) : -EINVAL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Removes path and the side files SQLite may have left beside it. */
static void unlink_db_files(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(suffixes); i++) {
		char *p = ts_asprintf("%s%s", path, suffixes[i]);
		unlink(p);
		free(p);
	}
}

/* ---- accessors ---- */

sqlite3 *store_db(struct store *s)
{
	return s ? s->db : NULL;
}

const char *store_path(const struct store *s)
{
	return s ? s->path : NULL;
}

int store_latest_version(void)
{
	return migrations_count > 0 ? migrations[migrations_count - 1].version : 0;
}

int store_schema_version(struct store *s)
{
	long long v = 0;
	if (!s || !s->db)
		return -EINVAL;
	int r = query_int(s, "PRAGMA user_version", &v);
	return r < 0 ? r : (int)v;
}

/* ---- statement cache ---- */

static size_t slot_hash(const char *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static struct stmt_slot *slot_find(struct stmt_slot *slots, size_t cap, const char *sql)
{
	size_t i = slot_hash(sql, cap);
	while (slots[i].sql && slots[i].sql != sql)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void cache_grow(struct store *s)
{
	size_t cap = s->cap ? s->cap * 2 : STORE_CACHE_INITIAL;
	struct stmt_slot *slots = ts_calloc(cap, sizeof(*slots));
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i].sql)
			*slot_find(slots, cap, s->slots[i].sql) = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
}

static bool only_space(const char *p)
{
	for (; *p; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != ';')
			return false;
	}
	return true;
}

sqlite3_stmt *store_prepare(struct store *s, const char *sql)
{
	if (!s || !s->db || !sql)
		return NULL;
	s->own_rc = 0;
	if (s->cap) {
		struct stmt_slot *slot = slot_find(s->slots, s->cap, sql);
		if (slot->sql) {
			/* reset's result repeats the last step's error: not ours to report */
			sqlite3_reset(slot->stmt);
			sqlite3_clear_bindings(slot->stmt);
			return slot->stmt;
		}
	}
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
	if (rc != SQLITE_OK)
		return NULL;
	if (!st || (tail && !only_space(tail))) {
		sqlite3_finalize(st);
		s->own_rc = SQLITE_MISUSE;
		snprintf(s->own_msg, sizeof(s->own_msg),
		         "store_prepare needs exactly one statement: %.120s", sql);
		return NULL;
	}
	/* keep the load at or below 3/4 */
	if ((s->count + 1) * 4 > s->cap * 3)
		cache_grow(s);
	struct stmt_slot *slot = slot_find(s->slots, s->cap, sql);
	slot->sql = sql;
	slot->stmt = st;
	s->count++;
	return st;
}

void store_release(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i].sql && sqlite3_stmt_busy(s->slots[i].stmt))
			sqlite3_reset(s->slots[i].stmt);
	}
}

/* ---- transactions ---- */

/* Steps a cached statement that returns no rows. */
static int step_cached(struct store *s, const char *sql)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	if (!st)
		return -EINVAL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	int e = rc_to_errno(rc);
	return e ? e : -EINVAL;
}

int store_begin(struct store *s)
{
	if (!s || !s->db)
		return -EINVAL;
	store_release(s);
	return step_cached(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
	if (!s || !s->db)
		return -EINVAL;
	return step_cached(s, "COMMIT");
}

void store_rollback(struct store *s)
{
	if (!s || !s->db || sqlite3_get_autocommit(s->db))
		return;
	step_cached(s, "ROLLBACK");
}

bool store_in_transaction(struct store *s)
{
	return s && s->db && !sqlite3_get_autocommit(s->db);
}

int store_unit_begin(struct store *s, bool *ret_nested)
{
	*ret_nested = store_in_transaction(s);
	if (*ret_nested)
		return step_cached(s, "SAVEPOINT store_unit");
	return store_begin(s);
}

int store_unit_end(struct store *s, bool nested, int rc)
{
	if (rc == 0)
		return nested ? step_cached(s, "RELEASE store_unit") : store_commit(s);
	if (!nested) {
		store_rollback(s);
		return rc;
	}
	/* ROLLBACK TO leaves the savepoint open: release it too. An enclosing
	 * transaction that SQLite itself rolled back (a full disk) has no
	 * savepoint left; both then fail harmlessly. */
	step_cached(s, "ROLLBACK TO store_unit");
	step_cached(s, "RELEASE store_unit");
	return rc;
}

/* ---- migrations ---- */

static int migration_fail(struct store *s, const struct migration *m, const char *msg, int rc,
                          struct ts_err *err)
{
	ts_err_set(err, rc_to_exit(rc), "database %s: migration %s: %s", s->path, m->name, msg);
	int e = rc_to_errno(rc);
	return e ? e : -EINVAL;
}

static int migration_db_fail(struct store *s, const struct migration *m, struct ts_err *err)
{
	return migration_fail(s, m, sqlite3_errmsg(s->db), sqlite3_extended_errcode(s->db), err);
}

/* Reads the schema version inside the write lock, since another process may
 * have migrated meanwhile: *ret_applied when m is already applied; an error
 * when the database is not at the version m starts from. */
static int migration_ready(struct store *s, const struct migration *m, bool *ret_applied,
                           struct ts_err *err)
{
	long long cur = 0;
	*ret_applied = false;
	if (query_int(s, "PRAGMA user_version", &cur) < 0)
		return migration_db_fail(s, m, err);
	if (cur >= m->version) {
		*ret_applied = true;
		return 0;
	}
	if (cur != m->version - 1) {
		char msg[128];
		snprintf(msg, sizeof(msg), "needs schema version %d, the database has %lld",
		         m->version - 1, cur);
		return migration_fail(s, m, msg, SQLITE_ERROR, err);
	}
	return 0;
}

/* Runs m's SQL inside the open transaction, which it must leave open. */
static int migration_run(struct store *s, const struct migration *m, struct ts_err *err)
{
	char *errmsg = NULL;
	int ret = 0;
	int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &errmsg);
	if (rc != SQLITE_OK)
		ret = migration_fail(s, m, errmsg ? errmsg : sqlite3_errstr(rc), rc, err);
	else if (sqlite3_get_autocommit(s->db))
		ret = migration_fail(s, m,
		                     "ends the transaction itself (no BEGIN/COMMIT in migrations)",
		                     SQLITE_ERROR, err);
	sqlite3_free(errmsg);
	return ret;
}

/* Checks that no foreign key is broken, stamps application_id (once) and
 * user_version, and commits. */
static int migration_commit(struct store *s, const struct migration *m, struct ts_err *err)
{
	long long violations = 0;
	if (query_int(s, "SELECT count(*) FROM pragma_foreign_key_check", &violations) < 0)
		return migration_db_fail(s, m, err);
	if (violations > 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "leaves %lld foreign key violation(s)", violations);
		return migration_fail(s, m, msg, SQLITE_CONSTRAINT, err);
	}
	long long app_id = 0;
	if (query_int(s, "PRAGMA application_id", &app_id) < 0 ||
	    (app_id == 0 && exec_sql(s, SQL_SET_APPLICATION_ID) < 0))
		return migration_db_fail(s, m, err);
	/* A pragma takes no bound value: the one statement built with a
	 * formatter (tests/security/sql_format_check.py allows it here only). */
	char sql[96];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
	if (exec_sql(s, sql) < 0 || exec_sql(s, "COMMIT") < 0)
		return migration_db_fail(s, m, err);
	return 0;
}

int store_apply_migration(struct store *s, const struct migration *m, struct ts_err *err)
{
	/* PRAGMA foreign_keys is a no-op inside a transaction: switch it first. */
	if (exec_sql(s, "PRAGMA foreign_keys = OFF") < 0)
		return migration_db_fail(s, m, err);
	int ret = 0;
	bool applied = false;
	if (exec_sql(s, "BEGIN IMMEDIATE") < 0) {
		ret = migration_db_fail(s, m, err);
		goto out;
	}
	ret = migration_ready(s, m, &applied, err);
	if (ret == 0 && !applied)
		ret = migration_run(s, m, err);
	if (ret == 0 && !applied)
		ret = migration_commit(s, m, err);
	if (ret == 0 && !applied) {
		ret = 1;
		goto out;
	}
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (exec_sql(s, "PRAGMA foreign_keys = ON") < 0 && ret >= 0)
		ret = migration_db_fail(s, m, err);
	return ret;
}

static int newer_error(struct store *s, long long version, struct ts_err *err)
{
	ts_err_set(err, TS_E_INTERNAL,
	           "database %s has schema version %lld, newer than this threatsync (knows up to "
	           "%d): upgrade threatsync",
	           s->path, version, store_latest_version());
	return -EPROTO;
}

int store_migrate(struct store *s, int target, int *ret_applied, struct ts_err *err)
{
	if (ret_applied)
		*ret_applied = 0;
	if (!s || !s->db)
		return ts_err_set(err, TS_E_INTERNAL, "store_migrate: no database");
	if (s->flags & STORE_READONLY)
		return ts_err_set(err, TS_E_INTERNAL, "database %s is open read-only: cannot migrate",
		                  s->path);
	int latest = store_latest_version();
	if (target < 0 || target > latest)
		return ts_err_set(
		    err, TS_E_INTERNAL,
		    "database %s: no schema version %d (this threatsync knows up to %d)", s->path,
		    target, latest);
	for (int i = 0; i < migrations_count; i++) {
		if (migrations[i].version != i + 1)
			return ts_err_set(err, TS_E_INTERNAL,
			                  "built-in migration %s is number %d, expected %d",
			                  migrations[i].name, migrations[i].version, i + 1);
	}
	int cur = store_schema_version(s);
	if (cur < 0)
		return store_fail(s, "reading the schema version", err);
	if (cur > latest)
		return newer_error(s, cur, err);
	for (int i = cur; i < target; i++) {
		int r = store_apply_migration(s, &migrations[i], err);
		if (r < 0)
			return r;
		if (r > 0 && ret_applied)
			(*ret_applied)++;
	}
	return 0;
}

/* ---- open and close ---- */

/* An error while reading what should be a threatsync database. */
static int open_fail(struct store *s, const char *what, struct ts_err *err)
{
	int rc = sqlite3_extended_errcode(s->db);
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		return ts_err_set(err, TS_E_INVALID,
		                  "database %s is not a threatsync database: %s (not an SQLite "
		                  "database, or its header is damaged)",
		                  s->path, sqlite3_errmsg(s->db));
	case SQLITE_CORRUPT:
		return ts_err_set(err, TS_E_INVALID,
		                  "database %s is corrupt: %s (restore it from a backup)", s->path,
		                  sqlite3_errmsg(s->db));
	default:
		return store_fail(s, what, err);
	}
}

/* Reads the header fields, checks the database is ours and sound, and the
 * schema version against this binary and the flags. */
static int open_check(struct store *s, bool *ret_fresh, bool *ret_outdated, struct ts_err *err)
{
	long long app_id = 0, version = 0, objects = 0, pages = 0, page_size = 0;
	*ret_fresh = false;
	*ret_outdated = false;
	/* The first read: a non-database or a damaged header fails here. */
	if (query_int(s, "PRAGMA application_id", &app_id) < 0 ||
	    query_int(s, "PRAGMA user_version", &version) < 0 ||
	    query_int(s, "SELECT count(*) FROM sqlite_schema", &objects) < 0 ||
	    query_int(s, "PRAGMA page_count", &pages) < 0 ||
	    query_int(s, "PRAGMA page_size", &page_size) < 0)
		return open_fail(s, "reading the header", err);
	if (app_id != 0 && app_id != STORE_APPLICATION_ID)
		return ts_err_set(err, TS_E_INVALID,
		                  "database %s belongs to another application (application_id "
		                  "0x%08llx), not threatsync",
		                  s->path, (unsigned long long)(uint32_t)app_id);
	if (app_id == 0 && objects > 0) {
		/* Without our id only a versioned database with our first table
		 * passes; anything else is some other program's file. */
		long long ours = 0;
		if (query_int(s,
		              "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
		              "'projects'",
		              &ours) < 0)
			return open_fail(s, "reading the schema", err);
		if (version == 0 || !ours)
			return ts_err_set(
			    err, TS_E_INVALID,
			    "database %s is an SQLite database of another application "
			    "(no threatsync application_id or tables)",
			    s->path);
	}
	if ((s->flags & STORE_CHECK) && pages * page_size <= STORE_QUICK_CHECK_MAX_BYTES) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK)
			return open_fail(s, "quick_check", err);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_finalize(st);
			return open_fail(s, "quick_check", err);
		}
		const char *res = (const char *)sqlite3_column_text(st, 0);
		if (!res || strcmp(res, "ok") != 0) {
			ts_err_set(err, TS_E_INVALID,
			           "database %s is corrupt: %s (restore it from a backup)", s->path,
			           res ? res : "quick_check gave no result");
			sqlite3_finalize(st);
			return -EBADMSG;
		}
		sqlite3_finalize(st);
	}
	int latest = store_latest_version();
	if (version > latest)
		return newer_error(s, version, err);
	*ret_fresh = app_id == 0 && version == 0 && objects == 0;
	if (version < latest) {
		bool can_migrate = (s->flags & STORE_MIGRATE) && !(s->flags & STORE_READONLY);
		if (!can_migrate && !(s->flags & STORE_ANY_VERSION))
			return ts_err_set(
			    err, TS_E_BUSY,
			    "database %s has schema version %lld, this threatsync needs %d: run "
			    "`threatsync db migrate`",
			    s->path, version, latest);
		*ret_outdated = true;
	}
	return 0;
}

static int open_configure(struct store *s, struct ts_err *err)
{
	int on = 0;
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, &on) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, &on) != SQLITE_OK)
		return store_fail(s, "configuring the connection", err);
	return 0;
}

/* WAL and the other per-connection settings, after the checks. */
static int open_pragmas(struct store *s, bool fresh, struct ts_err *err)
{
	if (!(s->flags & STORE_READONLY)) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) !=
		    SQLITE_OK)
			return open_fail(s, "setting WAL mode", err);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_finalize(st);
			return open_fail(s, "setting WAL mode", err);
		}
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		bool wal = mode && (strcmp(mode, "wal") == 0 || (strcmp(s->path, ":memory:") == 0 &&
		                                                 strcmp(mode, "memory") == 0));
		char got[16];
		snprintf(got, sizeof(got), "%s", mode ? mode : "?");
		sqlite3_finalize(st);
		if (!wal)
			return ts_err_set(err, TS_E_CREATE,
			                  "database %s: cannot switch to WAL mode (journal mode "
			                  "stays '%s')",
			                  s->path, got);
		if (exec_sql(s, "PRAGMA synchronous = NORMAL") < 0)
			return open_fail(s, "PRAGMA synchronous", err);
		if (fresh) {
			if (exec_sql(s, SQL_SET_APPLICATION_ID) < 0)
				return open_fail(s, "setting application_id", err);
		}
	}
	if (exec_sql(s, "PRAGMA foreign_keys = ON") < 0)
		return open_fail(s, "PRAGMA foreign_keys", err);
	/* Generation writes tens of thousands of rows in one transaction: a page
	 * cache of up to 32 MiB keeps it from spilling to the file mid-way (the
	 * memory is only taken as pages are used). */
	if (exec_sql(s, "PRAGMA cache_size = -32768") < 0 ||
	    exec_sql(s, "PRAGMA temp_store = MEMORY") < 0)
		return open_fail(s, "PRAGMA cache_size", err);
	return 0;
}

/* Before the first connection: no memory statistics, which cost a global
 * mutex on every allocation SQLite makes. Fails harmlessly when SQLite was
 * initialised already. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const char *path, int flags, struct store **ret_store, struct ts_err *err)
{
	*ret_store = NULL;
	if (!path || !*path)
		return ts_err_set(err, TS_E_USAGE, "no database path configured");
	bool ro = flags & STORE_READONLY;
	bool memory = strcmp(path, ":memory:") == 0; /* for tests and dry runs */
	bool created = false;
	struct stat st;
	if (memory) {
		if (ro)
			return ts_err_set(err, TS_E_USAGE, "database :memory: cannot be read-only");
	} else if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return ts_err_set(err, TS_E_NOTFOUND, "database %s: %s", path,
			                  strerror(errno));
		if (flags & (STORE_NO_CREATE | STORE_READONLY))
			return ts_err_set(err, TS_E_NOTFOUND, "database %s does not exist", path);
		created = true;
	} else if (!S_ISREG(st.st_mode)) {
		return ts_err_set(err, TS_E_INVALID, "database %s is not a regular file", path);
	}

	struct store *s = ts_calloc(1, sizeof(*s));
	s->path = ts_strdup(path);
	s->flags = flags;
	pthread_once(&sqlite_once, sqlite_setup);
	/* A connection is used by one thread at a time (the daemon's checkpoint
	 * worker opens its own): no mutex per call. */
	int oflags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	             SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
	int r = 0;
	if (rc != SQLITE_OK) {
		if (!s->db) {
			r = ts_err_set(err, TS_E_SYSTEM, "database %s: %s", path, sqlite3_errstr(rc));
		} else if ((rc & 0xff) == SQLITE_CANTOPEN) {
			r = ts_err_set(err, ro ? TS_E_NOTFOUND : TS_E_CREATE,
			               "database %s: cannot open: %s", path, sqlite3_errmsg(s->db));
		} else {
			r = open_fail(s, "opening", err);
		}
		goto fail;
	}
	bool fresh = false, outdated = false;
	if ((r = open_configure(s, err)) < 0 || (r = open_check(s, &fresh, &outdated, err)) < 0 ||
	    (r = open_pragmas(s, fresh, err)) < 0)
		goto fail;
	if (outdated && (flags & STORE_MIGRATE) && !ro) {
		r = store_migrate(s, store_latest_version(), NULL, err);
		if (r < 0)
			goto fail;
	}
	*ret_store = s;
	return 0;
fail:
	/* The close checkpoints nothing we want to keep on a refused file. */
	store_close(s);
	if (created)
		unlink_db_files(path);
	return r < 0 ? r : -EINVAL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i].sql)
			sqlite3_finalize(s->slots[i].stmt);
	}
	free(s->slots);
	if (s->db) {
		/* analysis_limit bounds the ANALYZE that optimize may run to a
		 * sample of each index (SQLite's advice for applications): without
		 * it, an index that is empty most of the time (the outbox's due
		 * rows) has no statistics, so every close re-analysed the whole
		 * outbox, O(outbox) at every exit of the CLI. */
		if (!(s->flags & STORE_READONLY) && sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "PRAGMA analysis_limit = 400; PRAGMA optimize", NULL,
			             NULL, NULL);
		/* v2: a statement a caller prepared outside the cache and leaked
		 * keeps the handle alive instead of failing the close. */
		sqlite3_close_v2(s->db);
	}
	free(s->path);
	free(s);
}

/* ---- backup ---- */

static int fsync_path(const char *path, int oflags)
{
	int fd = open(path, oflags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Copies s into the open, empty dst with the online backup API. */
static int backup_copy(struct store *s, sqlite3 *dst, const char *dest, struct ts_err *err)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", s->db, "main");
	if (!b)
		return ts_err_set(err, TS_E_INTERNAL, "backup of %s to %s: %s", s->path, dest,
		                  sqlite3_errmsg(dst));
	int pages = BACKUP_STEP_PAGES;
	int restarts = 0;
	int prev_remaining = -1;
	int64_t waited_since = -1;
	int rc;
	for (;;) {
		rc = sqlite3_backup_step(b, pages);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_OK) {
			waited_since = -1;
			/* Another connection's write restarts the copy from page 1:
			 * after a few restarts, copy the rest in one step, which holds
			 * one WAL read snapshot and so does not block the writer. */
			int remaining = sqlite3_backup_remaining(b);
			if (prev_remaining >= 0 && remaining >= prev_remaining &&
			    ++restarts >= BACKUP_MAX_RESTARTS)
				pages = -1;
			prev_remaining = remaining;
			continue;
		}
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
			int64_t now = ts_monotonic_ms();
			if (waited_since < 0)
				waited_since = now;
			if (now - waited_since < BACKUP_DEADLINE_MS) {
				sleep_ms(BACKUP_BUSY_SLEEP_MS);
				continue;
			}
		}
		break;
	}
	/* finish reports the step's error, if any, on dst */
	rc = sqlite3_backup_finish(b);
	if (rc != SQLITE_OK)
		return ts_err_set(err, rc_to_exit(rc), "backup of %s to %s: %s", s->path, dest,
		                  sqlite3_errmsg(dst));
	return 0;
}

int store_backup(struct store *s, const char *dest, struct ts_err *err)
{
	if (!s || !s->db || !dest || !*dest)
		return ts_err_set(err, TS_E_USAGE, "backup: no database or destination");
	if (!sqlite3_get_autocommit(s->db))
		return ts_err_set(err, TS_E_INTERNAL, "backup of %s: a transaction is open", s->path);
	struct stat a, b;
	if (stat(s->path, &a) == 0 && stat(dest, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return ts_err_set(err, TS_E_USAGE, "backup destination %s is the database itself",
		                  dest);

	int r = 0;
	sqlite3 *dst = NULL;
	char *tmp = ts_asprintf("%s.tmp-XXXXXX", dest);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		r = ts_err_set(err, TS_E_CREATE, "cannot create backup %s: %s", tmp,
		               strerror(errno));
		free(tmp);
		return r;
	}
	close(fd);
	int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		r = ts_err_set(err, TS_E_CREATE, "cannot open backup %s: %s", tmp,
		               dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto fail;
	}
	if ((r = backup_copy(s, dst, dest, err)) < 0)
		goto fail;
	/* The copied header says WAL; a backup is one self-contained file that
	 * opens even from read-only media. store_open turns WAL back on. */
	rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = ts_err_set(err, rc_to_exit(rc), "backup %s: %s", tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		r = ts_err_set(err, TS_E_IO, "backup %s: closing: %s", tmp, sqlite3_errstr(rc));
		goto fail;
	}
	if ((r = fsync_path(tmp, O_RDONLY)) < 0) {
		ts_err_set(err, TS_E_IO, "backup %s: fsync: %s", tmp, strerror(-r));
		goto fail;
	}
	if (rename(tmp, dest) < 0) {
		r = -errno;
		ts_err_set(err, TS_E_CREATE, "backup: cannot rename %s to %s: %s", tmp, dest,
		           strerror(errno));
		goto fail;
	}
	/* the rename itself is durable once the directory is synced */
	char *dir = ts_strdup(dest);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fsync_path(dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	free(tmp);
	return 0;
fail:
	if (dst)
		sqlite3_close(dst);
	unlink_db_files(tmp);
	free(tmp);
	return r < 0 ? r : -EIO;
}

void store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void store_bind_static(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void store_bind_id(sqlite3_stmt *st, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

const char *store_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

char *store_col_dup(sqlite3_stmt *st, int i)
{
	return ts_strdup(store_col_text(st, i));
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what, struct ts_err *err)
{
	int r = sqlite3_step(st);
	int rc = r == SQLITE_DONE ? 0 : store_fail(s, what, err);
	sqlite3_reset(st);
	return rc;
}

static const char SQL_WAL_CHECKPOINT[] = "PRAGMA wal_checkpoint(PASSIVE)";

int store_wal_checkpoint(struct store *s, int *ret_log, int *ret_done, int *ret_busy,
                         struct ts_err *err)
{
	/* A statement of ours left mid-rows holds a read snapshot that would pin
	 * the WAL: end it first. */
	store_release(s);
	sqlite3_stmt *st = store_prepare(s, SQL_WAL_CHECKPOINT);
	if (!st)
		return store_fail(s, "prepare wal_checkpoint", err);
	if (sqlite3_step(st) != SQLITE_ROW) {
		int r = store_fail(s, "wal_checkpoint", err);
		sqlite3_reset(st);
		return r;
	}
	/* One row: busy flag, WAL size in frames, frames checkpointed. */
	if (ret_busy)
		*ret_busy = sqlite3_column_int(st, 0);
	if (ret_log)
		*ret_log = sqlite3_column_int(st, 1);
	if (ret_done)
		*ret_done = sqlite3_column_int(st, 2);
	sqlite3_reset(st);
	return 0;
}
