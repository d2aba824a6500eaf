/* SPDX-License-Identifier: Apache-2.0 */
/* What the daemon gives back between units of work (daemon/memory.c, linked
 * in by tests/daemon_memory.cmake): the page cache of a store connection is
 * emptied, and worker threads allocate from the one malloc arena. */
#define _GNU_SOURCE /* open_memstream */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "daemon/memory.h"
#include "engine/store/store.h"
#include "helpers/testutil.h"

/* 4,000 rows of 1,000 bytes: about 4 MiB of table pages. */
#define ROWS 4000

static int cache_used(sqlite3 *db)
{
	int cur = 0, hi = 0;
	assert_int_equal(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0),
	                 SQLITE_OK);
	return cur;
}

static void test_page_cache_released(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = NULL;
	assert_true(asprintf(&path, "%s/memory.db", dir) > 0);
	struct store *s = NULL;
	struct ts_err err = {0};
	assert_int_equal(store_open(path, STORE_MIGRATE, &s, &err), 0);
	sqlite3 *db = store_db(s);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TABLE scratch(x BLOB);"
	                              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
	                              " FROM n WHERE i < 4000)"
	                              " INSERT INTO scratch SELECT randomblob(1000) FROM n;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	/* Another connection reading the same rows would not fill ours: read
	 * through it, as a sync pass does. */
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT count(*), sum(length(x)) FROM scratch", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), ROWS);
	assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)ROWS * 1000);
	sqlite3_finalize(st);
	int before = cache_used(db);
	/* The whole table is cached: the store's cache_size (32 MiB) holds it. */
	assert_true(before >= ROWS * 1000);

	memory_release(db, "test");
	int after = cache_used(db);
	/* What stays is pcache1's first bulk allocation and the schema's pages,
	 * not the table. */
	assert_true(after < 256 * 1024);
	assert_true(after * 10 < before);

	/* The connection works on: the next read fetches the pages again. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM scratch", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), ROWS);
	sqlite3_finalize(st);

	store_close(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void test_release_without_connection(void **state)
{
	(void)state;
	void *p = malloc(1 << 20);
	assert_non_null(p);
	memset(p, 1, 1 << 20);
	free(p);
	memory_release(NULL, "test");
}

#ifdef __GLIBC__
/* Returns the block (freed by the caller), so that the compiler cannot
 * leave the allocation out. */
static void *allocate_cb(void *arg)
{
	(void)arg;
	void *p = malloc(4096);
	if (p)
		memset(p, 2, 4096);
	return p;
}

/* The number of arenas malloc_info reports (one <heap nr=...> each). */
static int arenas(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(malloc_info(0, f), 0);
	fclose(f);
	int n = 0;
	for (const char *p = text; (p = strstr(p, "<heap nr=")) != NULL; p++)
		n++;
	free(text);
	return n;
}
#endif

static void test_one_arena(void **state)
{
	(void)state;
#ifdef __GLIBC__
	/* valgrind and the sanitizers bring their own allocator. */
	if (getenv("TS_VALGRIND") || arenas() == 0)
		skip();
	memory_setup();
	/* The main thread holds the main arena (a thread finds an arena no
	 * thread uses on the free list). */
	void *held = malloc(64);
	assert_non_null(held);
	pthread_t t;
	void *block = NULL;
	assert_int_equal(pthread_create(&t, NULL, allocate_cb, NULL), 0);
	assert_int_equal(pthread_join(t, &block), 0);
	assert_non_null(block);
	/* Without M_ARENA_MAX the thread's first allocation makes a second. */
	assert_int_equal(arenas(), 1);
	free(block);
	free(held);
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_cache_released),
	    cmocka_unit_test(test_release_without_connection),
	    cmocka_unit_test(test_one_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
