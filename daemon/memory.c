/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's memory between units of work (daemon/memory.h). */
#include "daemon/memory.h"

#include <stdint.h>
#include <stdlib.h> /* defines __GLIBC__ on glibc */
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "engine/log.h"

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void memory_setup(void)
{
#ifdef __GLIBC__
	/* Before any thread exists: glibc picks a thread's arena at its first
	 * allocation. */
	mallopt(M_ARENA_MAX, 1);
#endif
}

void memory_release(sqlite3 *db, const char *what)
{
	int64_t t0 = now_us();
	int cache_before = 0, cache_after = 0, hi = 0;
	if (db) {
		sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_USED, &cache_before, &hi, 0);
		/* Frees the pages no statement holds: a transaction that is open
		 * keeps its own. */
		sqlite3_db_release_memory(db);
		sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_USED, &cache_after, &hi, 0);
	}
#ifdef __GLIBC__
	/* free() gives back only the top of the heap, and only past
	 * M_TRIM_THRESHOLD, which glibc raises after large blocks are freed
	 * (an ingestion's); malloc_trim also returns the whole free pages inside
	 * the heap. */
	malloc_trim(0);
#endif
	log_debug("memory released after=%s page_cache_kib=%d->%d us=%lld", what,
	          cache_before / 1024, cache_after / 1024, (long long)(now_us() - t0));
}
