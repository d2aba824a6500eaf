/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every part: error codes, allocation, strings, time. */
#ifndef TS_ENGINE_UTIL_H
#define TS_ENGINE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What went wrong, as the engine and the connectors say it: negative codes,
 * distinct from errno values (which stay below 4096), so one return value can
 * carry either. Only cli/ and daemon/ turn them into process exit codes
 * (sysexits), each where it decides to exit. */
enum ts_error {
	TS_E_USAGE = -4101,       /* a request that cannot be made as asked (bad argument) */
	TS_E_INVALID = -4102,     /* input data is invalid: a model, a report, a library file */
	TS_E_NOTFOUND = -4103,    /* what was asked for does not exist: file, project, task */
	TS_E_UNAVAILABLE = -4104, /* a service needed is not there (tracker, feature) */
	TS_E_INTERNAL = -4105,    /* a database or program error */
	TS_E_SYSTEM = -4106,      /* the operating system refused (fork, memory) */
	TS_E_CREATE = -4107,      /* an output file cannot be created */
	TS_E_IO = -4108,          /* reading or writing failed */
	TS_E_BUSY = -4109,        /* try again later: locked, or not yet migrated */
	TS_E_DENIED = -4110,      /* not allowed: permissions, read-only, authentication */
	TS_E_CONFIG = -4111,      /* the configuration is invalid */
};
#define TS_E_MIN TS_E_CONFIG
#define TS_E_MAX TS_E_USAGE

/* A user-facing error message, filled by lower layers instead of logging.
 * Messages name the file, the JSON path or the config line. */
struct ts_err {
	int code;       /* an enum ts_error code (negative), or 0 */
	char msg[4096]; /* one or more lines, no trailing newline */
};

/* Fills err (if not NULL) and returns code, so callers can write
 * "return ts_err_set(err, TS_E_INVALID, ...)". */
int ts_err_set(struct ts_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ts_err_clear(struct ts_err *err);

/* Allocation that aborts on out-of-memory: callers do not handle NULL. */
void *ts_malloc(size_t n);
void *ts_calloc(size_t n, size_t size);
void *ts_realloc(void *p, size_t n);
char *ts_strdup(const char *s); /* ts_strdup(NULL) == NULL */
char *ts_strndup(const char *s, size_t n);
char *ts_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable string buffer. ts_buf_free(NULL) is a no-op. */
struct ts_buf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
};
void ts_buf_append(struct ts_buf *b, const char *s, size_t n);
void ts_buf_puts(struct ts_buf *b, const char *s);
void ts_buf_printf(struct ts_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *ts_buf_steal(struct ts_buf *b); /* caller owns the result; b is reset */
/* Appends s as a JSON string, escaped exactly as jansson's json_dumps escapes
 * it without flags ('"', '\\' and control characters: the short forms where
 * JSON has them, else \u00XX; UTF-8 as it is), so text written with it
 * matches a jansson dump byte for byte. Bytes that are not UTF-8 become
 * U+FFFD (jansson refuses such strings). */
/* Strict UTF-8, as Jansson checks it (no overlong forms, no surrogates,
 * nothing past U+10FFFF): the length of the sequence at p (at most n bytes),
 * 0 when there is none; and whether all n bytes of s are such sequences. */
size_t ts_utf8_len(const unsigned char *p, size_t n);
bool ts_utf8_valid(const char *s, size_t n);
void ts_buf_json_string(struct ts_buf *b, const char *s);
void ts_buf_free(struct ts_buf *b);

/* Reads a whole regular file of at most max bytes into a new NUL-terminated
 * buffer (caller frees). Returns 0, -ENOENT, -EFBIG, -EISDIR or -errno. */
int ts_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes). */
void ts_now_iso(char out[32]);
int64_t ts_now_ms(void);       /* wall clock, unix milliseconds */
int64_t ts_monotonic_ms(void); /* monotonic clock, milliseconds */

/* Full-jitter exponential backoff, the one retry delay of threatsync (the
 * outbox and the HTTP client): a delay in [0, min(max_ms, base_ms *
 * 2^attempts)] chosen by rnd (any 64-bit random value). 0 when base_ms or
 * max_ms is not positive. */
int64_t ts_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, uint64_t rnd);

/* Lower-case hex SHA-256 of data into out (65 bytes). */
void ts_sha256_hex(const void *data, size_t len, char out[65]);

/* Constant-time comparison of two byte strings; lengths may differ. */
int ts_secret_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
