/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the SQLite store: open checks, migrations, statement cache,
 * transactions, the error funnel, backup, and the `db migrate`/`backup` CLI. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/store/migrations.h"
#include "engine/store/store.h"
#include "engine/store/store_internal.h"
#include "helpers/testutil.h"

/* ---- raw SQLite helpers: build databases behind the store's back ---- */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static long long raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row: %s", sql, sqlite3_errmsg(db));
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row of sql as a new string. */
static char *raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row: %s", sql, sqlite3_errmsg(db));
	char *v = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static const char SQL_INSERT_PROJECT[] =
    "INSERT INTO projects (slug, name, created_at) VALUES ('survivor', 'Survivor', "
    "'2026-01-01T00:00:00.000Z')";

/* A database at schema version k, built with migrations[0..k-1] and no store;
 * with k >= 1 it holds the project 'survivor'. */
static void make_db_at(const char *path, int k)
{
	sqlite3 *db = raw_open(path);
	for (int i = 0; i < k; i++)
		raw_exec(db, migrations[i].sql);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", k);
	raw_exec(db, sql);
	if (k > 0) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
		raw_exec(db, sql);
		raw_exec(db, SQL_INSERT_PROJECT);
	}
	sqlite3_close(db);
}

/* A current database created through the store, with n projects whose
 * descriptions take about desc_len bytes each. */
static void make_store_db(const char *path, int n, int desc_len)
{
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	static const char SQL[] =
	    "INSERT INTO projects (slug, name, description, created_at) "
	    "VALUES (?1, ?1, printf('%.*c', ?2, 'x'), '2026-01-01T00:00:00Z')";
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < n; i++) {
		sqlite3_stmt *st = store_prepare(s, SQL);
		assert_non_null(st);
		char slug[32];
		snprintf(slug, sizeof(slug), "p-%d", i);
		sqlite3_bind_text(st, 1, slug, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, desc_len);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	}
	assert_int_equal(store_commit(s), 0);
	store_close(s);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void write_bytes(const char *path, long off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

static long file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

/* Opening must fail with code, a message holding path and needle, and leave
 * the file's bytes as they were. */
static void expect_open_fails(const char *path, int flags, int code, const char *needle)
{
	char before[65], after[65];
	tu_file_hash(path, before);
	struct store *s = (struct store *)0x1;
	struct ts_err err = {0};
	assert_true(store_open(path, flags, &s, &err) < 0);
	assert_null(s);
	if (err.code != code || !strstr(err.msg, path) || !strstr(err.msg, needle))
		fail_msg("expected code %d with '%s' and the path, got %d: %s", code, needle,
		         err.code, err.msg);
	tu_file_hash(path, after);
	assert_string_equal(before, after);
}

static const char *const schema_tables[] = {
    "projects",       "model_versions",   "trust_zones",
    "components",     "data_flows",       "data_assets",
    "threats",        "countermeasures",  "threat_countermeasures",
    "overrides",      "tickets",          "outbox",
    "status_history", "sync_cursors",     "webhook_deliveries",
    "scans",          "findings",         "scan_findings",
    "correlations",   "metric_snapshots",
};

/* ---- open ---- */

static void test_fresh_database(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/new.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	sqlite3 *db = store_db(s);
	assert_string_equal(store_path(s), path);
	assert_true(store_latest_version() >= 3);
	assert_int_equal(store_schema_version(s), store_latest_version());
	assert_int_equal(raw_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
	char *mode = raw_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(raw_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
	assert_int_equal(raw_int(db, "PRAGMA busy_timeout"), 5000);
	int on = -1;
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1, &on);
	assert_int_equal(on, 1);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, -1, &on);
	assert_int_equal(on, 0);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, -1, &on);
	assert_int_equal(on, 0);
	for (size_t i = 0; i < TS_ARRAY_SIZE(schema_tables); i++) {
		sqlite3_stmt *st = store_prepare(
		    s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1");
		assert_non_null(st);
		sqlite3_bind_text(st, 1, schema_tables[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (sqlite3_column_int(st, 0) != 1)
			fail_msg("table %s missing", schema_tables[i]);
	}
	/* double-quoted strings are identifiers only */
	assert_null(store_prepare(s, "SELECT \"no such column\" FROM projects"));
	store_close(s);

	/* reopening a current database applies nothing and needs no flag */
	assert_int_equal(store_open(path, 0, &s, &err), 0);
	assert_int_equal(store_schema_version(s), store_latest_version());
	int applied = -1;
	assert_int_equal(store_migrate(s, store_latest_version(), &applied, &err), 0);
	assert_int_equal(applied, 0);
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_memory_database(void **state)
{
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(":memory:", STORE_MIGRATE, &s, &err), 0);
	assert_int_equal(store_schema_version(s), store_latest_version());
	assert_int_equal(raw_int(store_db(s), "SELECT count(*) FROM sqlite_schema WHERE name = "
	                                      "'metric_snapshots'"),
	                 1);
	store_close(s);
	assert_true(store_open(":memory:", STORE_READONLY, &s, &err) < 0);
	assert_int_equal(err.code, TS_E_USAGE);
}

static void test_upgrade_from_every_version(void **state)
{
	char *dir = tu_tmpdir();
	for (int k = 0; k < store_latest_version(); k++) {
		char *path = ts_asprintf("%s/v%d.db", dir, k);
		make_db_at(path, k);
		struct store *s = NULL;
		struct ts_err err = {0};
		if (store_open(path, STORE_MIGRATE, &s, &err) < 0)
			fail_msg("upgrade from %d: %s", k, err.msg);
		assert_int_equal(store_schema_version(s), store_latest_version());
		sqlite3 *db = store_db(s);
		assert_int_equal(raw_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
		assert_int_equal(
		    raw_int(db, "SELECT count(*) FROM projects WHERE slug = 'survivor'"),
		    k > 0 ? 1 : 0);
		assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);
		assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
		store_close(s);

		/* and one step at a time through store_migrate */
		char *path2 = ts_asprintf("%s/v%d-steps.db", dir, k);
		make_db_at(path2, k);
		assert_int_equal(store_open(path2, STORE_ANY_VERSION, &s, &err), 0);
		assert_int_equal(store_schema_version(s), k);
		for (int v = k + 1; v <= store_latest_version(); v++) {
			int applied = 0;
			if (store_migrate(s, v, &applied, &err) < 0)
				fail_msg("migrate %d to %d: %s", k, v, err.msg);
			assert_int_equal(applied, 1);
			assert_int_equal(store_schema_version(s), v);
		}
		store_close(s);
		free(path2);
		free(path);
	}
	tu_rmrf(dir);
	free(dir);
}

static void test_newer_version_refused(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/newer.db", dir);
	make_store_db(path, 1, 10);
	sqlite3 *db = raw_open(path);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_latest_version() + 1);
	raw_exec(db, sql);
	sqlite3_close(db);

	char msg[256];
	snprintf(msg, sizeof(msg),
	         "has schema version %d, newer than this threatsync (knows up to %d): upgrade "
	         "threatsync",
	         store_latest_version() + 1, store_latest_version());
	expect_open_fails(path, STORE_MIGRATE, TS_E_INTERNAL, msg);
	expect_open_fails(path, STORE_ANY_VERSION, TS_E_INTERNAL, msg);
	expect_open_fails(path, STORE_READONLY, TS_E_INTERNAL, msg);
	expect_open_fails(path, 0, TS_E_INTERNAL, msg);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_older_version_needs_migrate(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/older.db", dir);
	int old = store_latest_version() - 1;
	make_db_at(path, old);
	expect_open_fails(path, 0, TS_E_BUSY, "`threatsync db migrate`");
	expect_open_fails(path, STORE_READONLY, TS_E_BUSY, "`threatsync db migrate`");
	/* read-only never migrates, even when asked */
	expect_open_fails(path, STORE_READONLY | STORE_MIGRATE, TS_E_BUSY, "db migrate");

	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_ANY_VERSION, &s, &err), 0);
	assert_int_equal(store_schema_version(s), old);
	store_close(s);
	assert_int_equal(store_open(path, STORE_READONLY | STORE_ANY_VERSION, &s, &err), 0);
	assert_int_equal(store_schema_version(s), old);
	assert_true(store_migrate(s, store_latest_version(), NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "read-only"));
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_new_file_refused_is_removed(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/never.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_true(store_open(path, 0, &s, &err) < 0);
	assert_int_equal(err.code, TS_E_BUSY);
	assert_false(file_exists(path));
	char *wal = ts_asprintf("%s-wal", path);
	assert_false(file_exists(wal));
	free(wal);
	/* STORE_ANY_VERSION creates an empty database at version 0 */
	assert_int_equal(store_open(path, STORE_ANY_VERSION, &s, &err), 0);
	assert_int_equal(store_schema_version(s), 0);
	assert_int_equal(raw_int(store_db(s), "PRAGMA application_id"), STORE_APPLICATION_ID);
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_not_a_database(void **state)
{
	char *dir = tu_tmpdir();
	char *text = tu_write_file(dir, "notes.db", "just some text, not a database\n");
	expect_open_fails(text, STORE_MIGRATE, TS_E_INVALID, "not a threatsync database");
	expect_open_fails(text, STORE_READONLY, TS_E_INVALID, "not a threatsync database");

	char *rnd = ts_asprintf("%s/random.db", dir);
	FILE *f = fopen(rnd, "wb");
	assert_non_null(f);
	srand(42);
	for (int i = 0; i < 16384; i++)
		fputc(rand() & 0xff, f);
	fclose(f);
	expect_open_fails(rnd, STORE_MIGRATE, TS_E_INVALID, "not a threatsync database");
	expect_open_fails(rnd, 0, TS_E_INVALID, "not a threatsync database");

	/* a directory where the file should be */
	expect_open_fails(dir, STORE_MIGRATE, TS_E_INVALID, "not a regular file");
	tu_rmrf(dir);
	free(text);
	free(rnd);
	free(dir);
}

static void test_corrupt_header(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/corrupt.db", dir);
	make_store_db(path, 50, 100);
	char junk[100];
	memset(junk, 0xa5, sizeof(junk));
	write_bytes(path, 0, junk, sizeof(junk));
	expect_open_fails(path, STORE_MIGRATE, TS_E_INVALID, "not a threatsync database");
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_corrupt_header_fields(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/fields.db", dir);
	make_store_db(path, 50, 100);
	/* magic intact, the rest of the header (page size, counters) garbage */
	char junk[84];
	memset(junk, 0xff, sizeof(junk));
	write_bytes(path, 16, junk, sizeof(junk));
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_true(store_open(path, STORE_MIGRATE, &s, &err) < 0);
	assert_null(s);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_non_null(strstr(err.msg, path));
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_corrupt_middle(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/middle.db", dir);
	make_store_db(path, 400, 200);
	long size = file_size(path);
	assert_true(size >= 16 * 4096);
	/* a whole page in the middle: its b-tree page header becomes invalid */
	char junk[4096];
	memset(junk, 0x5a, sizeof(junk));
	write_bytes(path, (size / 2 / 4096) * 4096, junk, sizeof(junk));
	expect_open_fails(path, STORE_MIGRATE | STORE_CHECK, TS_E_INVALID, "corrupt");
	expect_open_fails(path, STORE_READONLY | STORE_CHECK, TS_E_INVALID, "corrupt");
	/* Without the deep check the open succeeds, and the damage is reported
	 * as a data error when the page is read. */
	struct store *s = NULL;
	struct ts_err err = {0};
	if (store_open(path, STORE_READONLY, &s, &err) == 0) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(
		    store_db(s), "SELECT count(*), sum(length(name)) FROM projects", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				;
			sqlite3_finalize(st);
		}
		if (rc != SQLITE_DONE) {
			assert_true(store_fail(s, "read projects", &err) < 0);
			assert_int_equal(err.code, TS_E_INVALID);
		}
		store_close(s);
	} else {
		assert_int_equal(err.code, TS_E_INVALID);
	}
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_truncated(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/short.db", dir);
	make_store_db(path, 400, 200);
	long size = file_size(path);
	assert_int_equal(truncate(path, size / 2), 0);
	expect_open_fails(path, STORE_MIGRATE | STORE_CHECK, TS_E_INVALID, "corrupt");
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_foreign_database(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/foreign.db", dir);
	sqlite3 *db = raw_open(path);
	raw_exec(db, "PRAGMA application_id = 305419896; CREATE TABLE t (a);");
	sqlite3_close(db);
	expect_open_fails(path, STORE_MIGRATE, TS_E_INVALID,
	                  "belongs to another application (application_id 0x12345678)");

	/* no application_id, but tables that are not ours */
	char *other = ts_asprintf("%s/other.db", dir);
	db = raw_open(other);
	raw_exec(db, "CREATE TABLE bookmarks (url TEXT); PRAGMA user_version = 7;");
	sqlite3_close(db);
	expect_open_fails(other, STORE_MIGRATE, TS_E_INVALID, "another application");
	char *other0 = ts_asprintf("%s/other0.db", dir);
	db = raw_open(other0);
	raw_exec(db, "CREATE TABLE projects (x);");
	sqlite3_close(db);
	expect_open_fails(other0, STORE_MIGRATE, TS_E_INVALID, "another application");
	tu_rmrf(dir);
	free(other0);
	free(other);
	free(path);
	free(dir);
}

static void test_no_create(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/missing.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_true(store_open(path, STORE_NO_CREATE | STORE_MIGRATE, &s, &err) < 0);
	assert_null(s);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	char *want = ts_asprintf("database %s does not exist", path);
	assert_string_equal(err.msg, want);
	assert_false(file_exists(path));
	ts_err_clear(&err);
	assert_true(store_open(path, STORE_READONLY, &s, &err) < 0);
	assert_int_equal(err.code, TS_E_NOTFOUND);
	assert_false(file_exists(path));

	/* a directory that does not exist cannot hold a new database */
	char *deep = ts_asprintf("%s/no/such/dir.db", dir);
	assert_true(store_open(deep, STORE_MIGRATE, &s, &err) < 0);
	assert_int_equal(err.code, TS_E_CREATE);
	assert_non_null(strstr(err.msg, deep));
	tu_rmrf(dir);
	free(deep);
	free(want);
	free(path);
	free(dir);
}

/* ---- migrations ---- */

static void test_failing_migration_rolls_back(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/m.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	int latest = store_latest_version();
	sqlite3 *db = store_db(s);

	const struct migration bad = {latest + 1, "9999_bad.sql",
	                              "CREATE TABLE half_done (a);\n"
	                              "INSERT INTO no_such_table VALUES (1);\n"};
	assert_true(store_apply_migration(s, &bad, &err) < 0);
	char *want =
	    ts_asprintf("database %s: migration 9999_bad.sql: no such table: no_such_table", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, TS_E_INTERNAL);
	assert_int_equal(store_schema_version(s), latest);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'"),
	                 0);
	assert_true(sqlite3_get_autocommit(db));
	assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);

	/* a migration that leaves a dangling reference is refused at commit */
	const struct migration dangling = {
	    latest + 1, "9998_dangling.sql",
	    "INSERT INTO metric_snapshots (project_id, taken_at, metrics) VALUES (4242, 'x', "
	    "'{}');\n"};
	ts_err_clear(&err);
	assert_true(store_apply_migration(s, &dangling, &err) < 0);
	assert_non_null(strstr(err.msg, "migration 9998_dangling.sql: leaves 1 foreign key"));
	assert_int_equal(raw_int(db, "SELECT count(*) FROM metric_snapshots"), 0);
	assert_int_equal(store_schema_version(s), latest);
	assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);

	/* a gap in the numbering */
	const struct migration gap = {latest + 2, "9997_gap.sql", "CREATE TABLE gap (a);"};
	assert_true(store_apply_migration(s, &gap, &err) < 0);
	assert_non_null(strstr(err.msg, "needs schema version"));
	assert_int_equal(store_schema_version(s), latest);

	/* one that works, to prove the function applies and bumps */
	const struct migration good = {latest + 1, "9996_good.sql",
	                               "CREATE TABLE extra (a INTEGER);"};
	assert_int_equal(store_apply_migration(s, &good, &err), 1);
	assert_int_equal(store_schema_version(s), latest + 1);
	/* already there (as if another process migrated first): skipped */
	assert_int_equal(store_apply_migration(s, &good, &err), 0);
	store_close(s);
	tu_rmrf(dir);
	free(want);
	free(path);
	free(dir);
}

static void test_migrate_target_bounds(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/t.db", dir);
	make_db_at(path, 1);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_ANY_VERSION, &s, &err), 0);
	assert_true(store_migrate(s, store_latest_version() + 1, NULL, &err) < 0);
	assert_int_equal(err.code, TS_E_INTERNAL);
	int applied = -1;
	/* no downgrade */
	assert_int_equal(store_migrate(s, 0, &applied, &err), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(store_schema_version(s), 1);
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

/* ---- statements, transactions, errors ---- */

static void test_prepare_cache(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/p.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);

	static const char SQL_A[] = "SELECT ?1";
	sqlite3_stmt *a = store_prepare(s, SQL_A);
	assert_non_null(a);
	assert_ptr_equal(store_prepare(s, SQL_A), a);
	/* keyed on the pointer: the same text elsewhere is another entry */
	char *copy = ts_strdup(SQL_A);
	sqlite3_stmt *b = store_prepare(s, copy);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);

	/* bindings are cleared and the statement reset before it is returned */
	sqlite3_bind_int(a, 1, 7);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 7);
	a = store_prepare(s, SQL_A);
	assert_false(sqlite3_stmt_busy(a));
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(a, 0), SQLITE_NULL);

	/* many distinct statements: the cache grows and finds them all */
	enum { N = 300 };
	char *sqls[N];
	sqlite3_stmt *stmts[N];
	for (int i = 0; i < N; i++) {
		sqls[i] = ts_asprintf("SELECT %d", i);
		stmts[i] = store_prepare(s, sqls[i]);
		assert_non_null(stmts[i]);
	}
	for (int i = 0; i < N; i++) {
		sqlite3_stmt *st = store_prepare(s, sqls[i]);
		assert_ptr_equal(st, stmts[i]);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), i);
	}
	assert_ptr_equal(store_prepare(s, SQL_A), a);

	/* errors */
	assert_null(store_prepare(s, "SELECT FROM nowhere"));
	assert_non_null(strstr(store_errmsg(s), "syntax error"));
	assert_true(store_fail(s, "listing", &err) < 0);
	assert_int_equal(err.code, TS_E_INTERNAL);
	char *want = ts_asprintf("database %s: listing: ", path);
	assert_memory_equal(err.msg, want, strlen(want));
	assert_null(store_prepare(s, "SELECT 1; SELECT 2"));
	assert_non_null(strstr(store_errmsg(s), "exactly one statement"));
	assert_null(store_prepare(s, "  -- nothing"));
	assert_true(store_fail(s, "empty", &err) < 0);
	assert_non_null(strstr(err.msg, "exactly one statement"));
	/* a trailing semicolon is one statement */
	assert_non_null(store_prepare(s, "SELECT 3;  "));

	/* a half-read statement is reset by store_release */
	sqlite3_stmt *half = store_prepare(s, "SELECT name FROM sqlite_schema");
	assert_int_equal(sqlite3_step(half), SQLITE_ROW);
	assert_true(sqlite3_stmt_busy(half));
	store_release(s);
	assert_false(sqlite3_stmt_busy(half));

	store_close(s);
	/* the keys outlive the store, as store_prepare requires */
	for (int i = 0; i < N; i++)
		free(sqls[i]);
	free(copy);
	tu_rmrf(dir);
	free(want);
	free(path);
	free(dir);
}

static void test_transactions(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/tx.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	sqlite3 *db = store_db(s);

	store_rollback(s); /* no transaction: no-op */
	assert_int_equal(store_begin(s), 0);
	assert_false(sqlite3_get_autocommit(db));
	raw_exec(db, SQL_INSERT_PROJECT);
	store_rollback(s);
	assert_true(sqlite3_get_autocommit(db));
	assert_int_equal(raw_int(db, "SELECT count(*) FROM projects"), 0);

	assert_int_equal(store_begin(s), 0);
	raw_exec(db, SQL_INSERT_PROJECT);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM projects"), 1);

	/* a constraint violation goes through the funnel as EX_DATAERR */
	sqlite3_stmt *st = store_prepare(s, SQL_INSERT_PROJECT);
	assert_int_equal(sqlite3_step(st), SQLITE_CONSTRAINT);
	assert_int_equal(store_fail(s, "insert project", &err), -EEXIST);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_non_null(strstr(err.msg, "insert project: UNIQUE constraint failed: projects.slug"));

	/* foreign keys are enforced */
	st = store_prepare(s, "INSERT INTO metric_snapshots (project_id, taken_at, metrics) "
	                      "VALUES (999, 'x', '{}')");
	assert_int_equal(sqlite3_step(st), SQLITE_CONSTRAINT);
	assert_int_equal(store_fail(s, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "FOREIGN KEY constraint failed"));

	/* another writer holds the lock: begin gives up after the busy timeout */
	sqlite3_busy_timeout(db, 100);
	sqlite3 *other = raw_open(path);
	raw_exec(other, "BEGIN IMMEDIATE");
	assert_int_equal(store_begin(s), -EBUSY);
	assert_int_equal(store_fail(s, "begin", &err), -EBUSY);
	assert_int_equal(err.code, TS_E_BUSY);
	raw_exec(other, "ROLLBACK");
	sqlite3_close(other);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_commit(s), 0);

	/* a commit without a transaction is an error, not a crash */
	assert_true(store_commit(s) < 0);
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

/* Units of work: alone a transaction; inside one, a savepoint whose failure
 * undoes its own writes only (the sync's group commit relies on it). */
static void test_units(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/unit.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	sqlite3 *db = store_db(s);
	const char *count = "SELECT count(*) FROM projects";

	/* alone: committed, or rolled back */
	bool nested = true;
	assert_false(store_in_transaction(s));
	assert_int_equal(store_unit_begin(s, &nested), 0);
	assert_false(nested);
	assert_true(store_in_transaction(s));
	raw_exec(db, "INSERT INTO projects (slug, name, created_at) VALUES ('a', 'A', 'x')");
	assert_int_equal(store_unit_end(s, nested, 0), 0);
	assert_false(store_in_transaction(s));
	assert_int_equal(store_unit_begin(s, &nested), 0);
	raw_exec(db, "INSERT INTO projects (slug, name, created_at) VALUES ('b', 'B', 'x')");
	assert_int_equal(store_unit_end(s, nested, -EIO), -EIO);
	assert_false(store_in_transaction(s));
	assert_int_equal(raw_int(db, count), 1);

	/* nested: the failed unit is undone, the one before it and the
	 * enclosing transaction's own writes stay, and nothing is visible to
	 * another connection before the enclosing commit */
	assert_int_equal(store_begin(s), 0);
	raw_exec(db, "INSERT INTO projects (slug, name, created_at) VALUES ('c', 'C', 'x')");
	assert_int_equal(store_unit_begin(s, &nested), 0);
	assert_true(nested);
	raw_exec(db, "INSERT INTO projects (slug, name, created_at) VALUES ('d', 'D', 'x')");
	assert_int_equal(store_unit_end(s, nested, 0), 0);
	assert_true(store_in_transaction(s));
	assert_int_equal(store_unit_begin(s, &nested), 0);
	raw_exec(db, "INSERT INTO projects (slug, name, created_at) VALUES ('e', 'E', 'x')");
	assert_int_equal(store_unit_end(s, nested, -EEXIST), -EEXIST);
	assert_true(store_in_transaction(s));
	sqlite3 *other = raw_open(path);
	assert_int_equal(raw_int(other, count), 1);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(raw_int(other, count), 3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM projects WHERE slug = 'e'"), 0);
	sqlite3_close(other);

	/* a rolled-back enclosing transaction takes its units with it */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_unit_begin(s, &nested), 0);
	raw_exec(db, "INSERT INTO projects (slug, name, created_at) VALUES ('f', 'F', 'x')");
	assert_int_equal(store_unit_end(s, nested, 0), 0);
	store_rollback(s);
	assert_int_equal(raw_int(db, count), 3);
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

/* The closed value lists of the rebuilt tables (migrations 0006, 0007: the
 * CHECKs written as equalities) still accept every listed value and refuse
 * anything else. */
static void test_value_checks(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/checks.db", dir);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	sqlite3 *db = store_db(s);
	raw_exec(db, SQL_INSERT_PROJECT);
	raw_exec(db, "INSERT INTO countermeasures (id, project_id, uid, library_id, component_key,"
	             " title, priority, content_hash, first_version, last_version, created_at,"
	             " updated_at) VALUES (1, 1, 'c', 'l', 'k', 't', 1, 'h', 1, 1, 'x', 'x')");
	static const struct {
		const char *sql; /* ?1: the value */
		const char *ok[8];
	} cases[] = {
	    {"INSERT INTO outbox (project_id, connector, op, state, created_at, updated_at)"
	     " VALUES (1, 'j', ?1, 'pending', 'x', 'x')",
	     {"create", "update", "close", "reopen", "comment", "transition", "link", NULL}},
	    {"INSERT INTO outbox (project_id, connector, op, state, created_at, updated_at)"
	     " VALUES (1, 'j', 'create', ?1, 'x', 'x')",
	     {"pending", "inflight", "done", "failed", "dead", NULL}},
	    {"INSERT INTO status_history (countermeasure_id, to_status, source, recorded_at)"
	     " VALUES (1, 'done', ?1, 'x')",
	     {"generate", "cli", "override", "poll", "webhook", "reconcile", "verify", NULL}},
	    {"INSERT INTO threats (project_id, uid, library_id, component_key, title, severity,"
	     " likelihood, content_hash, first_version, last_version, created_at, updated_at)"
	     " VALUES (1, lower(hex(randomblob(8))), 'l', 'k', 't', ?1, 'low', 'h', 1, 1, 'x',"
	     " 'x')",
	     {"critical", "high", "medium", "low", NULL}},
	    {"UPDATE countermeasures SET status = ?1, satisfied_by = 'k' WHERE id = 1",
	     {"todo", "in_progress", "done", "not_applicable", "risk_accepted", "satisfied", NULL}},
	};
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(db, cases[i].sql, -1, &st, NULL), SQLITE_OK);
		for (const char *const *v = cases[i].ok; *v; v++) {
			sqlite3_bind_text(st, 1, *v, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				fail_msg("refused '%s': %s: %s", *v, cases[i].sql,
				         sqlite3_errmsg(db));
			sqlite3_reset(st);
		}
		const char *bad[] = {"bogus", "", "TODO", "Done"};
		for (size_t k = 0; k < TS_ARRAY_SIZE(bad); k++) {
			sqlite3_bind_text(st, 1, bad[k], -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_CONSTRAINT)
				fail_msg("accepted '%s': %s", bad[k], cases[i].sql);
			assert_non_null(strstr(sqlite3_errmsg(db), "CHECK constraint failed"));
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_readonly(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/ro.db", dir);
	make_store_db(path, 3, 10);
	char before[65], after[65];
	tu_file_hash(path, before);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_READONLY, &s, &err), 0);
	sqlite3_stmt *st = store_prepare(s, "SELECT count(*) FROM projects");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 3);
	st = store_prepare(s, SQL_INSERT_PROJECT);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_READONLY);
	assert_true(store_fail(s, "insert", &err) < 0);
	assert_non_null(strstr(err.msg, "readonly"));
	store_close(s);
	tu_file_hash(path, after);
	assert_string_equal(before, after);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_null_safety(void **state)
{
	struct ts_err err = {0};
	store_close(NULL);
	store_rollback(NULL);
	store_release(NULL);
	assert_null(store_prepare(NULL, "SELECT 1"));
	assert_null(store_db(NULL));
	assert_null(store_path(NULL));
	assert_true(store_begin(NULL) < 0);
	assert_true(store_commit(NULL) < 0);
	assert_true(store_schema_version(NULL) < 0);
	assert_true(store_fail(NULL, "x", &err) < 0);
	assert_int_equal(err.code, TS_E_INTERNAL);
	assert_true(store_fail(NULL, "x", NULL) < 0);
	assert_true(store_migrate(NULL, 1, NULL, &err) < 0);
	assert_true(store_backup(NULL, "/tmp/x", &err) < 0);
	struct store *s = NULL;
	assert_true(store_open("", 0, &s, &err) < 0);
	assert_int_equal(err.code, TS_E_USAGE);
}

/* ---- backup ---- */

static void check_backup(const char *path, long long min_projects)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	char *ok = raw_text(db, "PRAGMA integrity_check");
	assert_string_equal(ok, "ok");
	free(ok);
	/* a self-contained file, not a WAL database that needs its -wal */
	char *mode = raw_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "delete");
	free(mode);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), store_latest_version());
	assert_int_equal(raw_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
	assert_true(raw_int(db, "SELECT count(*) FROM projects") >= min_projects);
	sqlite3_close(db);
}

/* No DEST.tmp-* files are left in dir. */
static void assert_no_temp_files(const char *dir)
{
	char *cmd = ts_asprintf("ls -a '%s' | grep -c tmp- || true", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int n = -1;
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	free(cmd);
	assert_int_equal(n, 0);
}

/* The child: inserts rows through its own connection until the parent
 * closes stop_fd, reporting its first insert and its total on report_fd. */
static void writer_child(const char *path, int stop_fd, int report_fd)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		_exit(2);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO projects (slug, name, description, created_at) "
	                       "VALUES (?1, ?1, printf('%.*c', 3000, 'w'), 'now')",
	                       -1, &st, NULL) != SQLITE_OK)
		_exit(3);
	int n = 0;
	int64_t deadline = ts_monotonic_ms() + 20000;
	for (;;) {
		char slug[32];
		snprintf(slug, sizeof(slug), "w-%d", n);
		sqlite3_bind_text(st, 1, slug, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			_exit(4);
		sqlite3_reset(st);
		if (n++ == 0 && write(report_fd, "s", 1) != 1)
			_exit(5);
		struct pollfd p = {stop_fd, POLLIN, 0};
		if (poll(&p, 1, 0) > 0 || ts_monotonic_ms() > deadline)
			break;
	}
	sqlite3_finalize(st);
	if (sqlite3_close(db) != SQLITE_OK)
		_exit(6);
	if (write(report_fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		_exit(7);
	_exit(0);
}

static void test_backup_while_writing(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/live.db", dir);
	char *dest = ts_asprintf("%s/backup.db", dir);
	enum { BASE = 3000 };
	/* ~9 MB: a few dozen backup steps, each a chance for the writer to
	 * restart the copy */
	make_store_db(path, BASE, 3000);

	int stop[2], report[2];
	assert_int_equal(pipe(stop), 0);
	assert_int_equal(pipe(report), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(stop[1]);
		close(report[0]);
		/* The child ends with _exit: release the parent's allocations
		 * first so a leak checker following the fork sees none. */
		char child_path[4096];
		snprintf(child_path, sizeof(child_path), "%s", path);
		free(path);
		free(dest);
		free(dir);
		writer_child(child_path, stop[0], report[1]);
	}
	close(stop[0]);
	close(report[1]);
	char c = 0;
	assert_int_equal(read(report[0], &c, 1), 1);

	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_READONLY, &s, &err), 0);
	for (int i = 0; i < 3; i++) {
		if (store_backup(s, dest, &err) < 0)
			fail_msg("backup %d: %s", i, err.msg);
		check_backup(dest, BASE);
	}
	store_close(s);

	close(stop[1]);
	int n = 0;
	assert_int_equal(read(report[0], &n, sizeof(n)), (ssize_t)sizeof(n));
	close(report[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(n > 1);

	/* and a backup of the quiet database has every row */
	assert_int_equal(store_open(path, 0, &s, &err), 0);
	assert_int_equal(store_backup(s, dest, &err), 0);
	store_close(s);
	assert_no_temp_files(dir);
	char *wal = ts_asprintf("%s-wal", dest);
	assert_false(file_exists(wal));
	free(wal);
	check_backup(dest, BASE + n);
	tu_rmrf(dir);
	free(dest);
	free(path);
	free(dir);
}

static void test_backup_errors(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/b.db", dir);
	make_store_db(path, 2, 10);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, 0, &s, &err), 0);

	char *nodir = ts_asprintf("%s/no/such/dir/b.db", dir);
	assert_true(store_backup(s, nodir, &err) < 0);
	assert_int_equal(err.code, TS_E_CREATE);
	assert_non_null(strstr(err.msg, nodir));

	assert_true(store_backup(s, path, &err) < 0);
	assert_int_equal(err.code, TS_E_USAGE);
	assert_non_null(strstr(err.msg, "is the database itself"));

	char *dest = ts_asprintf("%s/c.db", dir);
	assert_int_equal(store_begin(s), 0);
	assert_true(store_backup(s, dest, &err) < 0);
	assert_non_null(strstr(err.msg, "transaction"));
	store_rollback(s);

	/* an existing file is replaced whole */
	char *old = tu_write_file(dir, "c.db", "old contents");
	assert_int_equal(store_backup(s, dest, &err), 0);
	check_backup(dest, 2);
	assert_no_temp_files(dir);
	store_close(s);
	tu_rmrf(dir);
	free(old);
	free(dest);
	free(nodir);
	free(path);
	free(dir);
}

/* ---- the CLI ---- */

static void test_cli_db_migrate(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/cli.db", dir);
	make_db_at(path, 1);
	char *out = NULL, *errs = NULL;
	int rc = tu_cli(&out, &errs, "--db", path, "db", "migrate", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, errs);
	char *want = ts_asprintf("database %s: migrated from schema version 1 to %d\n", path,
	                         store_latest_version());
	assert_string_equal(out, want);
	free(out);
	free(errs);
	free(want);

	rc = tu_cli(&out, &errs, "--db", path, "db", "migrate", NULL);
	assert_int_equal(rc, 0);
	want = ts_asprintf("database %s: schema version %d is current\n", path,
	                   store_latest_version());
	assert_string_equal(out, want);
	free(out);
	free(errs);
	free(want);

	/* a new file is created and migrated from 0 */
	char *fresh = ts_asprintf("%s/fresh.db", dir);
	rc = tu_cli(&out, &errs, "--db", fresh, "db", "migrate", NULL);
	assert_int_equal(rc, 0);
	want = ts_asprintf("database %s: migrated from schema version 0 to %d\n", fresh,
	                   store_latest_version());
	assert_string_equal(out, want);
	free(out);
	free(errs);
	free(want);

	/* a file that is not a database: EX_DATAERR and the path on stderr */
	char *junk = tu_write_file(dir, "junk.db", "not a database at all, just text\n");
	rc = tu_cli(&out, &errs, "--db", junk, "db", "migrate", NULL);
	assert_int_equal(rc, EX_DATAERR);
	assert_non_null(strstr(errs, junk));
	free(out);
	free(errs);
	tu_rmrf(dir);
	free(junk);
	free(fresh);
	free(path);
	free(dir);
}

static void test_cli_backup(void **state)
{
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/cli.db", dir);
	char *dest = ts_asprintf("%s/copy.db", dir);
	make_store_db(path, 5, 10);
	char *out = NULL, *errs = NULL;
	int rc = tu_cli(&out, &errs, "--db", path, "backup", dest, NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, errs);
	char *want = ts_asprintf("backup of %s written to %s\n", path, dest);
	assert_string_equal(out, want);
	check_backup(dest, 5);
	free(out);
	free(errs);
	free(want);

	char *missing = ts_asprintf("%s/missing.db", dir);
	rc = tu_cli(&out, &errs, "--db", missing, "backup", dest, NULL);
	assert_int_equal(rc, EX_NOINPUT);
	assert_non_null(strstr(errs, "does not exist"));
	assert_false(file_exists(missing));
	free(out);
	free(errs);
	tu_rmrf(dir);
	free(missing);
	free(dest);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fresh_database),
	    cmocka_unit_test(test_memory_database),
	    cmocka_unit_test(test_upgrade_from_every_version),
	    cmocka_unit_test(test_newer_version_refused),
	    cmocka_unit_test(test_older_version_needs_migrate),
	    cmocka_unit_test(test_new_file_refused_is_removed),
	    cmocka_unit_test(test_not_a_database),
	    cmocka_unit_test(test_corrupt_header),
	    cmocka_unit_test(test_corrupt_header_fields),
	    cmocka_unit_test(test_corrupt_middle),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_foreign_database),
	    cmocka_unit_test(test_no_create),
	    cmocka_unit_test(test_failing_migration_rolls_back),
	    cmocka_unit_test(test_migrate_target_bounds),
	    cmocka_unit_test(test_prepare_cache),
	    cmocka_unit_test(test_transactions),
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_value_checks),
	    cmocka_unit_test(test_readonly),
	    cmocka_unit_test(test_null_safety),
	    cmocka_unit_test(test_backup_while_writing),
	    cmocka_unit_test(test_backup_errors),
	    cmocka_unit_test(test_cli_db_migrate),
	    cmocka_unit_test(test_cli_backup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
