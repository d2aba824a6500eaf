/* SPDX-License-Identifier: Apache-2.0 */
/* What the daemon's memory is made of between units of work, and what it
 * gives back when one is over: the page cache of its database connection and
 * the allocator's free pages. */
#ifndef TS_DAEMON_MEMORY_H
#define TS_DAEMON_MEMORY_H

#include <sqlite3.h>

/* Sets up the allocator before any thread starts (from main): one malloc
 * arena for every thread. The daemon's work runs on the loop's thread; the
 * worker threads (an upload's ingestion, a scan upload's record, curl's name
 * resolution) would otherwise each get an arena of their own, whose pages
 * stay resident after the work has ended and which malloc_trim cannot shrink
 * from the top. Their few allocations do not contend on one arena. */
void memory_setup(void);

/* Called on the loop thread when a unit of work is over (a sync pass, an
 * upload's ingestion, a reload, the start-up checks): drops the unused pages
 * of db's page cache (db is the daemon's long-lived connection; NULL skips
 * that step; the next pass reads what it needs from the file, which the
 * kernel's cache keeps) and returns the allocator's free pages to the
 * kernel. Without it the page cache of the one connection grows up to its
 * cache_size (32 MiB, engine/store/store.c) with every page any pass ever
 * read, and the start-up quick_check alone reads the whole database.
 * what names the unit of work for the debug log. */
void memory_release(sqlite3 *db, const char *what);

#endif
