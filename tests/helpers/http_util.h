/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers for tests that talk to threatsyncd over HTTP and read its
 * database from beside it: a free loopback port, one request with libcurl
 * easy, a webhook signature header, SQLite one-value queries and a waiting
 * query, and running the CLI expecting success. */
#ifndef TS_TESTS_HTTP_UTIL_H
#define TS_TESTS_HTTP_UTIL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct hu_reply {
	long status;        /* 0 when the connection failed */
	char *body;         /* new, never NULL */
	char *headers;      /* new, never NULL: the response's header lines */
	char *content_type; /* new, or NULL when the response had none */
	double seconds;     /* total time of the transfer */
};

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int hu_free_port(void);

/* One request to base (e.g. "http://127.0.0.1:8080") + path, with
 * "Content-Type: application/json", no "Expect: 100-continue", the extra
 * header lines of headers (NULL-terminated, may be NULL) and body (body_len
 * bytes; NULL: none). HEAD sends no body and reads none. Release with
 * hu_reply_free. */
struct hu_reply hu_request(const char *base, const char *method, const char *path,
                           const char *const headers[], const char *body, size_t body_len,
                           long timeout_ms);
void hu_reply_free(struct hu_reply *r);

/* Writes "NAME: sha256=HEX" (HMAC-SHA256 of body under secret) into out. */
void hu_sign(const char *name, const char *secret, const char *body, char *out, size_t size);

/* The first column of the first row of sql on db as an integer (-1 when no
 * row) or as a new string (NULL when no row or NULL); fail the test when sql
 * does not prepare. */
long long hu_sql_int(sqlite3 *db, const char *sql);
char *hu_sql_text(sqlite3 *db, const char *sql);
/* Polls sql every 100 ms until it yields want or timeout_ms pass. */
bool hu_sql_wait(sqlite3 *db, const char *sql, long long want, int timeout_ms);

/* Runs TS_THREATSYNC -c conf ARGS... (NULL-terminated, at most 12) and fails
 * the test, with its stderr, unless it exits 0. */
void hu_cli_ok(const char *conf, ...);

#endif
