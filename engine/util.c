/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation, string buffers, file reading, clocks and hashing shared by all parts. */
#include "engine/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ts_err_set(struct ts_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

void ts_err_clear(struct ts_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

static void *oom(void)
{
	fputs("threatsync: out of memory\n", stderr);
	abort();
}

void *ts_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom();
}

void *ts_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom();
}

void *ts_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom();
}

char *ts_strdup(const char *s)
{
	if (!s)
		return NULL;
	return ts_strndup(s, strlen(s));
}

char *ts_strndup(const char *s, size_t n)
{
	char *p = ts_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ts_asprintf(const char *fmt, ...)
{
	struct ts_buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ts_strdup("");
	b.data = ts_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.data;
}

static void buf_reserve(struct ts_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = ts_realloc(b->data, cap);
	b->cap = cap;
}

void ts_buf_append(struct ts_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void ts_buf_puts(struct ts_buf *b, const char *s)
{
	ts_buf_append(b, s, strlen(s));
}

size_t ts_utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

bool ts_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = ts_utf8_len(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

void ts_buf_json_string(struct ts_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	ts_buf_puts(b, "\"");
	size_t run = 0; /* bytes copied as they are, pending */
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? ts_utf8_len(p + i, n - i) : 0;
		if (len > 0) {
			run += len;
			i += len;
			continue;
		}
		ts_buf_append(b, (const char *)p + i - run, run);
		run = 0;
		char esc[8];
		switch (c) {
		case '"':
			ts_buf_puts(b, "\\\"");
			break;
		case '\\':
			ts_buf_puts(b, "\\\\");
			break;
		case '\b':
			ts_buf_puts(b, "\\b");
			break;
		case '\f':
			ts_buf_puts(b, "\\f");
			break;
		case '\n':
			ts_buf_puts(b, "\\n");
			break;
		case '\r':
			ts_buf_puts(b, "\\r");
			break;
		case '\t':
			ts_buf_puts(b, "\\t");
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04X", c);
				ts_buf_puts(b, esc);
			} else {
				ts_buf_puts(b, "\xEF\xBF\xBD"); /* a byte that is not UTF-8 */
			}
			break;
		}
		i++;
	}
	ts_buf_append(b, (const char *)p + n - run, run);
	ts_buf_puts(b, "\"");
}

void ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *ts_buf_steal(struct ts_buf *b)
{
	char *p = b->data ? b->data : ts_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void ts_buf_free(struct ts_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int ts_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	struct ts_buf b = {0};
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			ts_buf_free(&b);
			return -e;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			close(fd);
			ts_buf_free(&b);
			return -EFBIG;
		}
		ts_buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (ret_len)
		*ret_len = b.len;
	*ret_data = ts_buf_steal(&b);
	return 0;
}

void ts_now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char buf[96];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         ts.tv_nsec / 1000000L);
	snprintf(out, 32, "%.31s", buf);
}

int64_t ts_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ts_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ts_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, uint64_t rnd)
{
	if (base_ms <= 0 || max_ms <= 0)
		return 0;
	int64_t cap = base_ms;
	/* Doubling stops at the cap, so a large attempt count cannot overflow. */
	for (int i = 0; i < attempts && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	return (int64_t)(rnd % (uint64_t)(cap + 1));
}

/* SHA-256 fetched once: an implicit fetch per call costs more than hashing
 * a short string. Kept for the life of the process. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void ts_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, len, md, &mdlen, sha256_md ? sha256_md : EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

int ts_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	/* Compare digests so the time does not depend on where or whether the
	 * lengths differ. */
	unsigned char da[32], db[32];
	unsigned int n = 0;
	EVP_Digest(a, alen, da, &n, EVP_sha256(), NULL);
	EVP_Digest(b, blen, db, &n, EVP_sha256(), NULL);
	return CRYPTO_memcmp(da, db, sizeof(da)) == 0 && alen == blen;
}
