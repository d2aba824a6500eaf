/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for cmocka tests: temporary directories, files, running the binaries. */
#ifndef TS_TESTS_TESTUTIL_H
#define TS_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>
#include <cmocka.h>

/* Environment variable set by ctest (tests/CMakeLists.txt); fails the test when
 * missing. Borrowed. */
const char *tu_env(const char *name);

/* New empty directory under $TMPDIR or /tmp; caller frees the string and
 * removes the tree with tu_rmrf. */
char *tu_tmpdir(void);
void tu_rmrf(const char *path);

/* Writes content to dir/name and returns the new path (caller frees). */
char *tu_write_file(const char *dir, const char *name, const char *content);

/* Reads a file into a new string (caller frees); NULL when unreadable. */
char *tu_read_file(const char *path);

/* SHA-256 hex of a file's bytes into out, or "missing". */
void tu_file_hash(const char *path, char out[65]);

/* Runs argv[0] (a path) with argv, optional stdin text and optional extra
 * environment entries ("K=V", NULL-terminated, may be NULL). Captures stdout
 * and stderr into new strings when ret_out/ret_err are not NULL. Returns the
 * exit status, or 128 + signal number. Kills the child after timeout_ms. */
int tu_run(const char *const argv[], const char *stdin_text, const char *const envp_extra[],
	   int timeout_ms, char **ret_out, char **ret_err);

/* Convenience: runs the threatsync CLI (TS_THREATSYNC) with a NULL-terminated
 * argument list after argv[0]. */
int tu_cli(char **ret_out, char **ret_err, ...);

#endif
